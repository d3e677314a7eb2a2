package sessionize

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// BenchmarkOpenSessions measures the heap a Sessionizer retains per open
// session (DESIGN.md section 7: <= 1 KB per open session plus a fixed base).
// It opens one session for each of 1,000,000 visitors (two events each,
// 5 minutes apart, well within the gap; nothing expires) and reads
// runtime.MemStats.HeapAlloc after a GC when empty and after every 100,000
// visitors. It reports:
//
//	B/open-session       (heap at 1M - heap when empty) / 1M: everything, base included
//	B/open-session-slope least-squares slope of heap over the 10 points: the marginal cost
//	base-B               its intercept minus the heap when empty: the fixed base
//	                     (a few MB either way is noise from map growth and GC;
//	                     a negative value means no measurable base)
//
// Events are built one at a time (no event slice is held), so the heap
// growth measured is the Sessionizer's own: what it keeps of each event.
// The fields are those of a typical first page view plus a track event:
// channel, UTM source, device, a page path, a 32-character message id.
func BenchmarkOpenSessions(b *testing.B) {
	const step, large = 100_000, 1_000_000
	channels := []string{"Organic Search", "Direct", "Paid Social", "Email", "Referral"}
	utm := []string{"", "", "google", "newsletter", "facebook"}
	devices := []string{"desktop", "mobile", "tablet"}
	pages := make([]string, 40)
	for i := range pages {
		pages[i] = fmt.Sprintf("/page/%d", i)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := time.Unix(1e9, 0)
	var idBuf, msgBuf []byte
	event := func(v, k int) pipeline.Event {
		idBuf = fmt.Appendf(idBuf[:0], "anon-%08x-%012d", uint32(v)*2654435761, v)
		msgBuf = fmt.Appendf(msgBuf[:0], "%016x%016x", uint64(v)*0x9E3779B97F4A7C15, uint64(k))
		e := pipeline.Event{
			VisitorID:    string(idBuf), // fresh strings, garbage once Add returns
			MessageID:    string(msgBuf),
			EventTime:    t0.Add(time.Duration(v%3600)*time.Second + time.Duration(k)*5*time.Minute),
			Touchpoint:   pipeline.TouchpointWeb,
			Channel:      channels[v%len(channels)],
			UTMSource:    utm[v%len(utm)],
			DeviceType:   devices[v%len(devices)],
			EngagementMS: int64(1000 + v%50000),
		}
		if k == 0 {
			e.Type, e.PagePath = pipeline.TypePage, pages[v%len(pages)]
		} else {
			e.Type, e.EventName = pipeline.TypeTrack, "Product Viewed"
		}
		return e
	}
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	b.ReportAllocs()
	var perSession, slope, base float64
	for range b.N {
		b.StopTimer()
		idBuf, msgBuf = make([]byte, 0, 64), make([]byte, 0, 64)
		h0 := heap()
		s := New(DefaultConfig())
		b.StartTimer()
		var xs, ys []float64
		for v := range large {
			for k := range 2 {
				e := event(v, k)
				s.Add(e, now)
			}
			if (v+1)%step == 0 {
				b.StopTimer()
				xs, ys = append(xs, float64(v+1)), append(ys, float64(heap()-h0))
				b.StartTimer()
			}
		}
		b.StopTimer()
		if st := s.Stats(); st.Visitors != large || st.Sessions != large || st.Events != 2*large {
			b.Fatalf("stats %+v: want %d visitors with one open session of 2 events each", st, large)
		}
		runtime.KeepAlive(s)
		perSession = ys[len(ys)-1] / large
		slope, base = fitLine(xs, ys)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(perSession, "B/open-session")
	b.ReportMetric(slope, "B/open-session-slope")
	b.ReportMetric(base, "base-B")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2*large), "ns/event")
}

// fitLine returns the least-squares slope and intercept of y over x.
func fitLine(xs, ys []float64) (slope, intercept float64) {
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy = sx+xs[i], sy+ys[i]
		sxx, sxy = sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	n := float64(len(xs))
	slope = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return slope, (sy - slope*sx) / n
}
