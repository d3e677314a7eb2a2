package sessionize

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/touchstream/touchstream/pipeline"
)

// BenchmarkAdd feeds a clickstream of short web visits (about 12 events per
// visitor, new visitors arriving all the time) to Add and SessionOf, 100,000
// events per iteration into one growing Sessionizer, and reports ns/event
// and the heap retained per retained event (runtime.MemStats before and
// after, everything included: per-visitor and per-session state too).
func BenchmarkAdd(b *testing.B) {
	const perOp, batch = 100_000, 4096
	for _, bc := range []struct {
		name     string
		disorder time.Duration // arrival delayed by up to this
	}{
		{"inorder", 0},
		{"disorder2m", 2 * time.Minute},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := newStream(bc.disorder)
			g.next(batch) // allocate the generator's buffers before measuring
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s := New(DefaultConfig())
			now := time.Unix(1e9, 0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for n := 0; n < perOp; {
					b.StopTimer()
					events := g.next(min(batch, perOp-n))
					b.StartTimer()
					for i := range events {
						s.Add(events[i], now)
						s.SessionOf(events[i].VisitorID, events[i].MessageID)
					}
					n += len(events)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			st := s.Stats()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perOp), "ns/event")
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(st.Events), "B/retained-event")
			b.ReportMetric(float64(st.Events)/float64(st.Visitors), "events/visitor")
			runtime.KeepAlive(s)
			runtime.KeepAlive(g)
		})
	}
}

// stream generates visits: 1000 concurrent visitors, each making 6-18
// events about 10 s apart, a third of them page views over 40 paths, one in
// 30 an order; a third of the visits carry a UTM source. Event times advance
// 10 ms per event overall. It allocates little per event so that the
// benchmark's GC time is the Sessionizer's: the Sessionizer copies every
// string it keeps, so sharing strings here does not flatter its memory.
type stream struct {
	r        *rand.Rand
	clock    time.Time
	disorder time.Duration
	active   []*visit
	seq      int
	pages    []string
	events   []pipeline.Event
	arrivals []arrival
}

type visit struct {
	id   string
	left int
	utm  string
}

type arrival struct {
	at time.Time
	i  int
}

func newStream(disorder time.Duration) *stream {
	g := &stream{r: rand.New(rand.NewPCG(1, 2)), clock: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), disorder: disorder}
	for i := range 40 {
		g.pages = append(g.pages, fmt.Sprintf("/page/%d", i))
	}
	for range 1000 {
		g.active = append(g.active, g.newVisit())
	}
	return g
}

func (g *stream) newVisit() *visit {
	g.seq++
	v := &visit{id: fmt.Sprintf("anon-%08x-%012d", g.r.Uint32(), g.seq), left: 6 + g.r.IntN(13)}
	if g.r.IntN(3) == 0 {
		v.utm = []string{"google", "newsletter", "facebook"}[g.r.IntN(3)]
	}
	return v
}

// next returns the next n events in arrival order. The slice is reused.
func (g *stream) next(n int) []pipeline.Event {
	const idLen = 32
	buf := make([]byte, 0, n*idLen)
	for range n {
		buf = fmt.Appendf(buf, "%016x%016x", g.r.Uint64(), g.r.Uint64())
	}
	ids := string(buf)
	if cap(g.events) < n {
		g.events = make([]pipeline.Event, n)
		g.arrivals = make([]arrival, n)
	}
	events, arrivals := g.events[:n], g.arrivals[:n]
	for i := range events {
		g.clock = g.clock.Add(10 * time.Millisecond)
		k := g.r.IntN(len(g.active))
		v := g.active[k]
		e := pipeline.Event{
			MessageID:    ids[i*idLen : (i+1)*idLen],
			EventTime:    g.clock,
			VisitorID:    v.id,
			Type:         pipeline.TypeTrack,
			EventName:    "Scrolled",
			Touchpoint:   pipeline.TouchpointWeb,
			Channel:      "Organic Search",
			DeviceType:   "desktop",
			UTMSource:    v.utm,
			EngagementMS: g.r.Int64N(60000),
		}
		switch g.r.IntN(30) {
		case 0:
			e.EventName, e.Revenue = pipeline.EventOrderCompleted, 49.5
		case 1, 2, 3, 4, 5, 6, 7, 8, 9, 10:
			e.Type, e.EventName, e.PagePath = pipeline.TypePage, "", g.pages[g.r.IntN(len(g.pages))]
		}
		events[i] = e
		arrivals[i] = arrival{g.clock.Add(time.Duration(g.r.Int64N(int64(g.disorder) + 1))), i}
		v.left--
		if v.left == 0 {
			g.active[k] = g.newVisit()
		}
	}
	if g.disorder > 0 {
		slices.SortStableFunc(arrivals, func(a, b arrival) int { return a.at.Compare(b.at) })
		sorted := make([]pipeline.Event, n)
		for i, a := range arrivals {
			sorted[i] = events[a.i]
		}
		copy(events, sorted)
	}
	return events
}
