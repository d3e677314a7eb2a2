package processor

import (
	"testing"
	"time"
)

func TestWatermarkMetadata(t *testing.T) {
	for _, w := range []time.Time{{}, time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.UTC)} {
		got, err := decodeWatermark(encodeWatermark(w))
		if err != nil || !got.Equal(w) {
			t.Errorf("%v: decoded %v, %v", w, got, err)
		}
	}
	// A commit without a watermark (an older version's) replays without one.
	if got, err := decodeWatermark("something else"); err != nil || !got.IsZero() {
		t.Errorf("foreign metadata: %v, %v", got, err)
	}
	if _, err := decodeWatermark(watermarkPrefix + "x"); err == nil {
		t.Error("a malformed watermark was read")
	}
}
