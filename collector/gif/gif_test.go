package gif_test

import (
	"bytes"
	stdgif "image/gif"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/touchstream/touchstream/collector/gif"
)

func TestPixel(t *testing.T) {
	if len(gif.Pixel) != 43 {
		t.Errorf("%d bytes, want 43", len(gif.Pixel))
	}
	img, err := stdgif.Decode(bytes.NewReader(gif.Pixel))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Errorf("bounds %v, want 1x1", b)
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("alpha %d, want transparent", a)
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Kept", "yes")
	gif.Write(rec, http.StatusServiceUnavailable)
	if rec.Code != http.StatusServiceUnavailable || !bytes.Equal(rec.Body.Bytes(), gif.Pixel) {
		t.Errorf("%d %x", rec.Code, rec.Body.Bytes())
	}
	for k, v := range map[string]string{
		"Content-Type":   "image/gif",
		"Content-Length": "43",
		"Cache-Control":  "no-cache, no-store, must-revalidate, private, max-age=0",
		"Pragma":         "no-cache",
		"Expires":        "0",
		"X-Kept":         "yes",
	} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}
