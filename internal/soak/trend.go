package main

import (
	"fmt"
	"math"
)

// fit returns the least-squares slope (per second) and the mean of ys
// over xs (seconds).
func fit(xs, ys []float64) (slope, mean float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	mean = sy / n
	den := n*sxx - sx*sx
	if den == 0 {
		return 0, mean
	}
	return (n*sxy - sx*sy) / den, mean
}

// judged are the processes whose series must not grow.
var judged = map[string]bool{"collector": true, "processor": true}

// perEvent are the series judged by their growth per accepted event
// instead: the processor keeps a summary of every event of the lateness
// allowance (24 h) to restate sessions, so its memory grows with the
// traffic for a day by design (about 80 bytes an event, measured).
var perEvent = map[[2]string]bool{{"processor", "heap_inuse_bytes"}: true, {"processor", "rss_bytes"}: true}

// perEventBound is the most a perEvent series may grow per accepted event.
const perEventBound = 300.0

// judge fits each series over the second half of the run and fails when a
// judged one grows by more than max(bound x its mean, floor) over that
// half. It prints a table either way.
func judge(samples []sample, cfg config) error {
	var end float64
	for _, s := range samples {
		end = max(end, s.at.Seconds())
	}
	half := end / 2
	type key struct{ proc, series string }
	xs, ys := map[key][]float64{}, map[key][]float64{}
	var ex, ey []float64 // accepted events over time, for perEvent
	var order []key
	add := func(k key, x, y float64) {
		if y < 0 {
			return
		}
		if _, ok := xs[k]; !ok {
			order = append(order, k)
		}
		xs[k] = append(xs[k], x)
		ys[k] = append(ys[k], y)
	}
	for _, s := range samples {
		if s.at.Seconds() < half {
			continue
		}
		if s.proc == "collector" {
			ex, ey = append(ex, s.at.Seconds()), append(ey, float64(s.accepted))
		}
		add(key{s.proc, "rss_bytes"}, s.at.Seconds(), s.rss)
		add(key{s.proc, "heap_inuse_bytes"}, s.at.Seconds(), s.heap)
		add(key{s.proc, "goroutines"}, s.at.Seconds(), s.goroutines)
	}
	var eventRate float64
	if len(ex) >= 2 {
		eventRate, _ = fit(ex, ey)
	}
	floors := map[string]float64{"rss_bytes": 32 << 20, "heap_inuse_bytes": 16 << 20, "goroutines": 20}
	fmt.Printf("\nsoak: trend over the second half (%.0fs to %.0fs), bound max(%.0f%% of the mean, floor)\n", half, end, cfg.bound*100)
	fmt.Printf("%-11s %-17s %14s %16s %14s %s\n", "process", "series", "mean", "growth/half", "bound", "verdict")
	var failed []string
	for _, k := range order {
		if len(xs[k]) < 3 {
			fmt.Printf("%-11s %-17s too few samples (%d)\n", k.proc, k.series, len(xs[k]))
			if judged[k.proc] {
				failed = append(failed, k.proc+" "+k.series+": too few samples")
			}
			continue
		}
		slope, mean := fit(xs[k], ys[k])
		growth := slope * (end - half)
		bound := math.Max(cfg.bound*mean, floors[k.series])
		verdict := "ok"
		switch {
		case !judged[k.proc]:
			verdict = "reported only"
		case perEvent[[2]string{k.proc, k.series}]:
			per := 0.0
			if eventRate > 0 {
				per = slope / eventRate
			}
			verdict = fmt.Sprintf("%.0f B/event (bound %.0f)", per, perEventBound)
			if per > perEventBound {
				verdict = "GROWS " + verdict
				failed = append(failed, fmt.Sprintf("%s %s grows by %.0f bytes per event (bound %.0f)", k.proc, k.series, per, perEventBound))
			}
		case growth > bound:
			verdict = "GROWS"
			failed = append(failed, fmt.Sprintf("%s %s grows by %.0f over the second half (bound %.0f)", k.proc, k.series, growth, bound))
		}
		fmt.Printf("%-11s %-17s %14.0f %16.0f %14.0f %s\n", k.proc, k.series, mean, growth, bound, verdict)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d series grow beyond their bound: %v", len(failed), failed)
	}
	fmt.Println("soak: no judged series grows beyond its bound")
	return nil
}
