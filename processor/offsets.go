package processor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	kafkago "github.com/segmentio/kafka-go"
)

// A partition commits, with its offset, the watermark before that offset
// (the partition's newest event time over the messages before it) in the
// commit's metadata, and a partition that starts from a committed offset
// starts with that watermark. Lateness and expiry are decided against the
// watermark, so a replay from a committed offset inside the topic must
// start with the watermark the first run had there, or it would take as
// on time events the first run held late, and keep visitors it dropped.

// watermarkPrefix starts the metadata of a commit holding a watermark.
const watermarkPrefix = "watermark="

func encodeWatermark(w time.Time) string {
	if w.IsZero() {
		return ""
	}
	return watermarkPrefix + strconv.FormatInt(w.UnixNano(), 10)
}

// decodeWatermark reads a commit's metadata: the zero time when it holds
// no watermark (a commit by an older version, or before any event).
func decodeWatermark(meta string) (time.Time, error) {
	v, ok := strings.CutPrefix(meta, watermarkPrefix)
	if !ok {
		return time.Time{}, nil
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("commit metadata %q: %w", meta, err)
	}
	return time.Unix(0, ns).UTC(), nil
}

// commitTimeout bounds one commit or fetch of offsets.
const commitTimeout = 10 * time.Second

// commit commits offset c of the partition, with the watermark before it,
// in the partition's generation.
func (pt *partition) commit(c int64, w time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	topic := pt.p.cfg.Topic
	res, err := pt.p.client.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{
		GroupID:      pt.gen.GroupID,
		GenerationID: int(pt.gen.ID),
		MemberID:     pt.gen.MemberID,
		Topics:       map[string][]kafkago.OffsetCommit{topic: {{Partition: pt.id, Offset: c, Metadata: encodeWatermark(w)}}},
	})
	if err != nil {
		return err
	}
	for _, p := range res.Topics[topic] {
		if p.Partition == pt.id && p.Error != nil {
			return p.Error
		}
	}
	return nil
}

// restoreWatermark reads the watermark committed with the partition's
// offset, retrying until it is read or ctx ends.
func (pt *partition) restoreWatermark(ctx context.Context) error {
	if pt.offset < 0 { // nothing committed: from the start of the topic
		return nil
	}
	topic := pt.p.cfg.Topic
	fetch := func() error {
		fctx, cancel := context.WithTimeout(ctx, commitTimeout)
		defer cancel()
		res, err := pt.p.client.OffsetFetch(fctx, &kafkago.OffsetFetchRequest{
			GroupID: pt.gen.GroupID,
			Topics:  map[string][]int{topic: {pt.id}},
		})
		if err == nil {
			err = res.Error
		}
		if err != nil {
			if ctx.Err() != nil {
				return backoff.Permanent(ctx.Err())
			}
			pt.p.log.Warn("fetch committed watermark", "partition", pt.id, "err", err)
			return err
		}
		for _, p := range res.Topics[topic] {
			if p.Partition != pt.id {
				continue
			}
			if p.Error != nil {
				return p.Error
			}
			if p.CommittedOffset != pt.offset {
				return backoff.Permanent(fmt.Errorf("committed offset %d, assigned %d", p.CommittedOffset, pt.offset))
			}
			w, err := decodeWatermark(p.Metadata)
			if err != nil {
				return backoff.Permanent(err)
			}
			pt.newest, pt.committedW = w, w
			return nil
		}
		return fmt.Errorf("partition %d missing from the offset fetch", pt.id)
	}
	bo := backoff.WithContext(backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(0), backoff.WithMaxInterval(10*time.Second)), ctx)
	return backoff.Retry(fetch, bo)
}
