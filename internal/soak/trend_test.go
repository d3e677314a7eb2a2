package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFit(t *testing.T) {
	slope, mean := fit([]float64{0, 1, 2, 3}, []float64{10, 12, 14, 16})
	if math.Abs(slope-2) > 1e-9 || math.Abs(mean-13) > 1e-9 {
		t.Errorf("fit: slope %v mean %v, want 2 and 13", slope, mean)
	}
}

// series returns samples of the collector and the processor every 5 s
// for 100 s, the collector's heap from heap(t) and the events accepted at
// 1000 a second; the processor's heap grows by perEvent bytes an event.
func series(heap func(t float64) float64, perEvent float64) []sample {
	var out []sample
	for i := 0; i <= 20; i++ {
		at := float64(i * 5)
		acc := int64(at * 1000)
		out = append(out,
			sample{at: time.Duration(at * float64(time.Second)), proc: "collector", rss: 20 << 20, heap: heap(at), goroutines: 30, accepted: acc},
			sample{at: time.Duration(at * float64(time.Second)), proc: "processor", rss: 200 << 20, heap: 100<<20 + perEvent*float64(acc), goroutines: 40, accepted: acc},
		)
	}
	return out
}

func TestJudge(t *testing.T) {
	cfg := config{bound: 0.25}
	flat := func(float64) float64 { return 4 << 20 }
	if err := judge(series(flat, 80), cfg); err != nil {
		t.Errorf("flat collector, processor at 80 B/event: %v", err)
	}
	leak := func(t float64) float64 { return 4<<20 + t*(1<<20) } // +1 MiB/s
	if err := judge(series(leak, 80), cfg); err == nil || !strings.Contains(err.Error(), "collector heap_inuse_bytes") {
		t.Errorf("collector leaking 1 MiB/s: %v, want a failure naming it", err)
	}
	if err := judge(series(flat, 1000), cfg); err == nil || !strings.Contains(err.Error(), "processor heap_inuse_bytes") {
		t.Errorf("processor at 1000 B/event: %v, want a failure naming it", err)
	}
}
