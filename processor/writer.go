package processor

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/touchstream/touchstream/pipeline"
)

// batch is the rows one partition writes at a flush, named by the
// partition's token (topic, partition, offset range and run; see
// partition.flush).
type batch struct {
	partition   int
	token       string
	events      []pipeline.Event
	transitions []pipeline.StageTransition
	identities  []pipeline.Identity
	sessions    []pipeline.Session
	triggers    []pipeline.Trigger
}

// writer writes the batches of all partitions of a process (group commit):
// a partition that flushes while no write is under way writes its batch at
// once; the batches of partitions that flush meanwhile wait and are then
// written together, one insert per table for all of them. Each partition
// is told only when the write holding its rows succeeded, and commits its
// own offsets only then.
//
// A write is retried until it succeeds or fails permanently, whatever the
// partitions' contexts: a partition that is revoked meanwhile would write
// the same rows again at its final flush anyway. Only the end of the
// processor's hard context (Config.ShutdownTimeout after Run's context)
// stops the retries: the write then fails, its partitions do not commit,
// and Run reports ErrShutdownUnwritten. A merged write carries a
// token made of its batches' tokens, so a retried merged write lands once;
// a replay after a crash or rebalance writes with other tokens (they name
// the run) and its rows replace their earlier copies on the tables' keys.
type writer struct {
	p *Processor

	mu    sync.Mutex
	cond  *sync.Cond
	queue []*request // batches waiting for the next write
	busy  bool       // a write is under way
}

// request is a batch waiting in the writer's queue.
type request struct {
	b    *batch
	done bool
	err  error
}

func newWriter(p *Processor) *writer {
	w := &writer{p: p}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// write writes b, together with the batches of other partitions flushing
// at the same time, and returns when the write holding b has succeeded or
// failed permanently.
func (w *writer) write(ctx context.Context, b *batch) error {
	ctx = context.WithoutCancel(ctx)
	if w.p.hard != nil {
		ctx = w.p.hard
	}
	r := &request{b: b}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = append(w.queue, r)
	for !r.done {
		if w.busy {
			w.cond.Wait()
			continue
		}
		w.busy = true
		rs := w.queue
		w.queue = nil
		w.mu.Unlock()
		errs := w.writeRequests(ctx, rs)
		w.mu.Lock()
		for i, q := range rs {
			q.done, q.err = true, errs[i]
		}
		w.busy = false
		w.cond.Broadcast()
	}
	return r.err
}

// writeRequests writes the batches of rs together and returns each one's
// outcome. When the merged write fails permanently, each batch is written
// again on its own, so that one partition's bad rows do not stop the
// others (their rows may land twice, under two tokens; the tables' keys
// fold the copies).
func (w *writer) writeRequests(ctx context.Context, rs []*request) []error {
	bs := make([]*batch, len(rs))
	for i, q := range rs {
		bs[i] = q.b
	}
	errs := make([]error, len(rs))
	err := w.writeBatches(ctx, bs)
	if err != nil && ctx.Err() != nil {
		w.p.abandoned.Store(true)
		w.p.log.Error("write given up at shutdown", "batches", len(bs), "err", err)
	}
	for i := range rs {
		if err != nil && len(rs) > 1 && ctx.Err() == nil {
			errs[i] = w.writeBatches(ctx, bs[i:i+1])
		} else {
			errs[i] = err
		}
	}
	return errs
}

// writeBatches writes bs as one batch per table, retrying transient
// errors with backoff. Sessions go last: a reader that sees a batch's
// sessions sees its events, transitions and identities too.
func (w *writer) writeBatches(ctx context.Context, bs []*batch) error {
	m, token := merge(bs)
	sink, trig := w.p.sink, w.p.cfg.Triggers
	write := func() error {
		if len(m.events) > 0 {
			if err := sink.WriteEvents(ctx, m.events, token+"-e"); err != nil {
				return w.retryable(token, err)
			}
		}
		if len(m.transitions) > 0 {
			if err := sink.WriteStageTransitions(ctx, m.transitions, token+"-t"); err != nil {
				return w.retryable(token, err)
			}
		}
		if len(m.identities) > 0 {
			if err := sink.WriteIdentities(ctx, m.identities, token+"-i"); err != nil {
				return w.retryable(token, err)
			}
		}
		if len(m.sessions) > 0 {
			if err := sink.WriteSessions(ctx, m.sessions, token+"-s"); err != nil {
				return w.retryable(token, err)
			}
		}
		if trig != nil && len(m.triggers) > 0 {
			if err := trig.PublishTriggers(ctx, m.triggers); err != nil {
				return w.retryable(token, err)
			}
		}
		return nil
	}
	start := time.Now()
	bo := backoff.WithContext(backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(0), backoff.WithMaxInterval(10*time.Second)), ctx)
	err := backoff.Retry(write, bo)
	w.p.m.writes.Observe(time.Since(start).Seconds())
	w.p.m.writeBatches.Observe(float64(len(bs)))
	return err
}

// merge returns the rows of bs as one batch, in partition order, and its
// token: a single batch's own token, else a hash of the batches' tokens.
// The same batches give the same token, whatever their order.
func merge(bs []*batch) (*batch, string) {
	if len(bs) == 1 {
		return bs[0], bs[0].token
	}
	bs = slices.Clone(bs)
	slices.SortFunc(bs, func(a, b *batch) int {
		return cmp.Or(cmp.Compare(a.partition, b.partition), strings.Compare(a.token, b.token))
	})
	m := &batch{}
	tokens := make([]string, len(bs))
	var ne, nt, ni, ns, ntr int
	for _, b := range bs {
		ne, nt, ni, ns, ntr = ne+len(b.events), nt+len(b.transitions), ni+len(b.identities), ns+len(b.sessions), ntr+len(b.triggers)
	}
	m.events = make([]pipeline.Event, 0, ne)
	m.transitions = make([]pipeline.StageTransition, 0, nt)
	m.identities = make([]pipeline.Identity, 0, ni)
	m.sessions = make([]pipeline.Session, 0, ns)
	m.triggers = make([]pipeline.Trigger, 0, ntr)
	for i, b := range bs {
		tokens[i] = b.token
		m.events = append(m.events, b.events...)
		m.transitions = append(m.transitions, b.transitions...)
		m.identities = append(m.identities, b.identities...)
		m.sessions = append(m.sessions, b.sessions...)
		m.triggers = append(m.triggers, b.triggers...)
	}
	sum := sha256.Sum256([]byte(strings.Join(tokens, ",")))
	return m, "merged-" + hex.EncodeToString(sum[:16])
}

// retryable counts a failed write and decides whether to try again.
func (w *writer) retryable(token string, err error) error {
	if errors.Is(err, context.Canceled) {
		return backoff.Permanent(err)
	}
	w.p.m.flushErrors.Inc()
	var perm interface{ Permanent() bool }
	if errors.As(err, &perm) && perm.Permanent() {
		return backoff.Permanent(err)
	}
	w.p.log.Warn("write failed, retrying", "token", token, "err", err)
	return err
}
