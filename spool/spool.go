package spool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/touchstream/touchstream/collector"
	"github.com/touchstream/touchstream/pipeline"
)

var _ collector.Publisher = (*Spool)(nil)

// ErrFull happens when Publish would take the spool past Options.MaxBytes
// (or a single batch is larger than that), and from Ready while the spool
// is that full. The collector answers 503 with Retry-After.
var ErrFull = errors.New("spool full")

// ErrLocked happens in New when another Spool, in this process or another
// one, holds the directory (a second collector started on the same
// --spool-dir). It is released by Close or when that process exits.
var ErrLocked = errors.New("spool directory in use by another process")

const (
	segExt = ".seg"
	tmpExt = ".tmp"
	badExt = ".corrupt"

	// lockName is the file New locks (flock, exclusive) for as long as the
	// Spool is open.
	lockName = "spool.lock"
	// deadName is where the drain appends, as JSON lines, the events Kafka
	// refused for good.
	deadName = "dead-letters.jsonl"
)

// Options configures a Spool; zero values take the defaults.
type Options struct {
	// MaxBytes bounds the bytes of segment files on disk, default 1 GiB.
	MaxBytes int64
	// DirectTimeout bounds a direct attempt to the next publisher while
	// the spool is empty, default 2 s; past it the batch is spooled.
	DirectTimeout time.Duration
	// DrainTimeout bounds one publish of the drain, default 10 s.
	DrainTimeout time.Duration
	// DrainBatch is the most events the drain publishes at once, default
	// 1000 (whole segments are taken, at least one).
	DrainBatch int
	// MaxBackoff caps the wait between failed drain attempts, default 5 s.
	MaxBackoff time.Duration
	// Logger may be nil.
	Logger *slog.Logger
	// Registerer, if not nil, receives the spool's gauges.
	Registerer prometheus.Registerer
}

func (o *Options) defaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.DirectTimeout <= 0 {
		o.DirectTimeout = 2 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	if o.DrainBatch <= 0 {
		o.DrainBatch = 1000
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// segment is one spooled batch: file <seq>-<events>.seg in the directory.
type segment struct {
	seq    uint64
	events int
	bytes  int64
}

func (g segment) name() string {
	return fmt.Sprintf("%020d-%d%s", g.seq, g.events, segExt)
}

// Spool is a collector.Publisher that spools to disk what the next
// publisher cannot take. Publish, Reject, Ready and Stats are safe to call
// concurrently, also with Run; call Run once (it is what empties the spool).
type Spool struct {
	dir  string
	next collector.Publisher
	opts Options
	log  *slog.Logger
	wake chan struct{}
	lock *os.File // holds the directory's flock until Close

	deadLetters prometheus.Counter // events moved to deadName

	mu      sync.Mutex
	queue   []segment // oldest first, the segments on disk
	bytes   int64
	events  int
	nextSeq uint64
	diskErr error // the last append's failure, cleared by a success
}

// New opens (creating it if need be) the spool in dir, picking up the
// segments a previous process left, and returns a Spool in front of next.
// It locks the directory: while this Spool is open, New on the same
// directory fails with ErrLocked. Call Close to release it.
func New(dir string, next collector.Publisher, opts Options) (*Spool, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{
		dir:  dir,
		next: next,
		opts: opts,
		log:  opts.Logger.With("component", "spool"),
		wake: make(chan struct{}, 1),
		lock: lock,
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstream_collector_spool_dead_letters_total",
			Help: "Events Kafka refused for good while the spool drained, moved to " + deadName + " in the spool directory.",
		}),
	}
	if err := s.load(); err != nil {
		lock.Close()
		return nil, err
	}
	if len(s.queue) > 0 {
		s.log.Info("spool resumed", "dir", dir, "segments", len(s.queue), "events", s.events, "bytes", s.bytes)
	}
	if opts.Registerer != nil {
		if err := s.register(opts.Registerer); err != nil {
			lock.Close()
			return nil, err
		}
	}
	return s, nil
}

// lockDir takes an exclusive flock on the directory's lock file without
// waiting; the lock lasts as long as the returned file is open (or the
// process lives).
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked (is another collector running with this --spool-dir?)", ErrLocked, path)
		}
		return nil, fmt.Errorf("spool lock %s: %w", path, err)
	}
	// Say who holds it, for a human looking at the directory.
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// Close releases the directory's lock. Call it once Run has returned and
// nothing publishes any more; what waits on disk stays there for the next
// Spool on the directory. It is safe to call more than once.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close() // closing the descriptor drops the flock
	s.lock = nil
	return err
}

func (s *Spool) load() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("read spool dir: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpExt):
			// An append that did not finish: never acknowledged to a client.
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
				return fmt.Errorf("remove unfinished segment: %w", err)
			}
		case strings.HasSuffix(name, segExt):
			g, ok := parseName(name)
			if !ok {
				s.log.Warn("ignoring unknown file in spool dir", "file", name)
				continue
			}
			info, err := e.Info()
			if err != nil {
				return fmt.Errorf("stat segment: %w", err)
			}
			g.bytes = info.Size()
			s.queue = append(s.queue, g)
			s.bytes += g.bytes
			s.events += g.events
			s.nextSeq = max(s.nextSeq, g.seq+1)
		}
	}
	slices.SortFunc(s.queue, func(a, b segment) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return nil
}

func parseName(name string) (segment, bool) {
	seqStr, nStr, ok := strings.Cut(strings.TrimSuffix(name, segExt), "-")
	if !ok {
		return segment{}, false
	}
	seq, err1 := strconv.ParseUint(seqStr, 10, 64)
	n, err2 := strconv.Atoi(nStr)
	if err1 != nil || err2 != nil || n < 0 {
		return segment{}, false
	}
	return segment{seq: seq, events: n}, true
}

// Publish hands events to the next publisher while the spool is empty and
// that answers within Options.DirectTimeout; otherwise it appends them to
// the spool durably. It returns nil once the events are acknowledged by one
// or the other, ErrFull when the spool has no room, or the disk's error.
func (s *Spool) Publish(ctx context.Context, events []pipeline.Event) error {
	if len(events) == 0 {
		return nil
	}
	s.mu.Lock()
	empty := len(s.queue) == 0
	s.mu.Unlock()
	if empty {
		dctx, cancel := context.WithTimeout(ctx, s.opts.DirectTimeout)
		err := s.next.Publish(dctx, events)
		cancel()
		if err == nil {
			return nil
		}
		s.log.Debug("direct publish failed, spooling", "events", len(events), "err", err)
	}
	return s.append(events)
}

// append writes events as one segment: a temporary file, fsynced, renamed
// into place, the directory fsynced. The lock is held throughout so that
// segment order is the order of appends.
func (s *Spool) append(events []pipeline.Event) error {
	// One JSON line an event: AppendJSON writes json.Marshal's bytes, what
	// json.Encoder wrote here before (segments stay readable both ways).
	var buf []byte
	for i := range events {
		var err error
		if buf, err = events[i].AppendJSON(buf); err != nil {
			return fmt.Errorf("spool: encode event %d: %w", i, err)
		}
		buf = append(buf, '\n')
	}
	size := int64(len(buf))

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+size > s.opts.MaxBytes {
		return fmt.Errorf("%w: %d bytes spooled, batch of %d bytes, limit %d", ErrFull, s.bytes, size, s.opts.MaxBytes)
	}
	g := segment{seq: s.nextSeq, events: len(events), bytes: size}
	if err := s.writeSegment(g, buf); err != nil {
		s.diskErr = err
		s.log.Error("spool append failed", "err", err)
		return err
	}
	s.diskErr = nil
	s.nextSeq++
	s.queue = append(s.queue, g)
	s.bytes += size
	s.events += len(events)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *Spool) writeSegment(g segment, data []byte) error {
	final := filepath.Join(s.dir, g.name())
	tmp := final + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("spool: create segment: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: write segment: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Reject passes dead letters straight to the next publisher: they are not
// spooled.
func (s *Spool) Reject(ctx context.Context, rejected []pipeline.Rejected) error {
	return s.next.Reject(ctx, rejected)
}

// Ready returns nil while the spool can take a batch, whether or not the
// next publisher is reachable; ErrFull when it is full; the disk's error
// when the last append failed.
func (s *Spool) Ready(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.diskErr != nil {
		return s.diskErr
	}
	if s.bytes >= s.opts.MaxBytes {
		return fmt.Errorf("%w: %d of %d bytes", ErrFull, s.bytes, s.opts.MaxBytes)
	}
	return nil
}

// Stats says what waits on disk.
type Stats struct {
	Segments int
	Events   int
	Bytes    int64
}

// Stats returns what waits on disk now.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Segments: len(s.queue), Events: s.events, Bytes: s.bytes}
}

// readSegment decodes one segment file.
func (s *Spool) readSegment(g segment) ([]pipeline.Event, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, g.name()))
	if err != nil {
		return nil, err
	}
	events := make([]pipeline.Event, 0, g.events)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e pipeline.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("decode event %d: %w", len(events), err)
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(events) != g.events {
		return nil, fmt.Errorf("%d events, name says %d", len(events), g.events)
	}
	return events, nil
}

func (s *Spool) register(reg prometheus.Registerer) error {
	gauges := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "touchstream_collector_spool_bytes",
			Help: "Bytes of events waiting in the collector's disk spool.",
		}, func() float64 { return float64(s.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "touchstream_collector_spool_events",
			Help: "Events waiting in the collector's disk spool.",
		}, func() float64 { return float64(s.Stats().Events) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "touchstream_collector_spool_segments",
			Help: "Segment files waiting in the collector's disk spool.",
		}, func() float64 { return float64(s.Stats().Segments) }),
	}
	gauges = append(gauges, s.deadLetters)
	for _, g := range gauges {
		if err := reg.Register(g); err != nil {
			return fmt.Errorf("register spool metrics: %w", err)
		}
	}
	return nil
}
