package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

func TestClassify(t *testing.T) {
	exc := func(code int32) *ch.Exception { return &ch.Exception{Code: code, Message: "m"} }
	httpErr := func(status int, err error) error { return &ch.HTTPError{StatusCode: status, Err: err} }
	tests := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"syntax error 400", httpErr(400, exc(62)), true},
		{"unknown database 404", httpErr(404, exc(81)), true},
		{"auth 403", httpErr(403, exc(516)), true},
		{"too large 413", httpErr(413, exc(0)), true},
		{"timeout 408", httpErr(408, exc(159)), false},
		{"too many requests 429", httpErr(429, exc(202)), false},
		{"type mismatch 500", httpErr(500, exc(53)), true},
		{"memory limit 500", httpErr(500, exc(241)), false},
		{"proxy 502 without exception", httpErr(502, errors.New("bad gateway")), false},
		{"native unknown table", exc(60), true},
		{"native too many parts", exc(252), false},
		{"native socket timeout", exc(209), false},
		{"wrapped", fmt.Errorf("send insert: %w", httpErr(404, exc(60))), true},
		{"conversion", &ch.OpError{Op: "AppendRow", ColumnName: "x", Err: &column.ColumnConverterError{Op: "Append", From: "int", To: "String"}}, true},
		{"column index", &ch.OpError{Op: "batch.Column", Err: errors.New("invalid column index 99")}, true},
		{"eof", io.ErrUnexpectedEOF, false},
		{"deadline", context.DeadlineExceeded, false},
		{"already permanent", &PermanentError{Err: errors.New("x")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if IsPermanent(got) != tt.permanent {
				t.Errorf("classify(%v) permanent = %v, want %v", tt.err, IsPermanent(got), tt.permanent)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) lost the cause", tt.err)
			}
		})
	}
	var perm interface{ Permanent() bool }
	if err := fmt.Errorf("flush: %w", classify(httpErr(404, exc(81)))); !errors.As(err, &perm) || !perm.Permanent() {
		t.Error("a wrapped PermanentError is not found as interface{ Permanent() bool }")
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}
