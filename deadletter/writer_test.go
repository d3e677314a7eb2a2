package deadletter

import (
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

func TestToken(t *testing.T) {
	t.Parallel()
	msg := func(p int, o int64) kafkago.Message { return kafkago.Message{Partition: p, Offset: o} }
	for _, tc := range []struct {
		msgs []kafkago.Message
		want string
	}{
		{[]kafkago.Message{msg(0, 10), msg(0, 11), msg(0, 12)}, "t-0-10-13"},
		{[]kafkago.Message{msg(3, 5), msg(0, 10), msg(3, 6), msg(0, 11)}, "t-0-10-12_3-5-7"},
		{[]kafkago.Message{msg(0, 11), msg(3, 6), msg(0, 10), msg(3, 5)}, "t-0-10-12_3-5-7"}, // order does not matter
	} {
		if got := token("t", tc.msgs); got != tc.want {
			t.Errorf("token(%v) = %q, want %q", tc.msgs, got, tc.want)
		}
	}
	var many []kafkago.Message
	for p := range 40 {
		many = append(many, msg(p, 1000000))
	}
	long := token("clickstream.rejected", many)
	if len(long) > 200 || !strings.HasPrefix(long, "clickstream.rejected-") || long != token("clickstream.rejected", many) {
		t.Errorf("long token %q", long)
	}
	if long == token("clickstream.rejected", many[1:]) {
		t.Error("different batches, same hashed token")
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.UTC)
	good := kafkago.Message{Partition: 2, Offset: 7, Time: at.Add(time.Second),
		Value: []byte(`{"received_at":"2026-11-20T10:00:00.123456789Z","source":"/v1/batch","write_key":"dev","index":3,"error":"bad","payload":{"a":1}}`)}
	r, ok := decode(good)
	want := row{receivedAt: at.Truncate(time.Millisecond), source: "/v1/batch", writeKey: "dev", index: 3, err: "bad", payload: `{"a":1}`, partition: 2, offset: 7}
	if !ok || r != want {
		t.Errorf("decode = %+v, %v; want %+v", r, ok, want)
	}
	for _, value := range []string{`nope`, `{"received_at":"3000-01-01T00:00:00Z","error":"x"}`, `{"error":"no time"}`} {
		r, ok := decode(kafkago.Message{Partition: 1, Offset: 4, Time: at, Value: []byte(value)})
		if ok || !strings.HasPrefix(r.err, undecodablePrefix) || r.payload != value || r.index != -1 ||
			!r.receivedAt.Equal(at.Truncate(time.Millisecond)) || r.partition != 1 || r.offset != 4 {
			t.Errorf("decode(%s) = %+v, %v; want an undecodable row at the message time", value, r, ok)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for field, mutate := range map[string]func(*Config){
		"Brokers":          func(c *Config) { c.Brokers = nil },
		"GroupID":          func(c *Config) { c.GroupID = "" },
		"Topic":            func(c *Config) { c.Topic = "" },
		"Conn or DSN":      func(c *Config) { c.DSN = "" },
		"BatchSize":        func(c *Config) { c.BatchSize = 0 },
		"FlushInterval":    func(c *Config) { c.FlushInterval = 0 },
		"StopTimeout":      func(c *Config) { c.StopTimeout = -1 },
		"MaxRetryInterval": func(c *Config) { c.MaxRetryInterval = 0 },
	} {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("%s: %v, want an error naming the field", field, err)
		}
	}
}
