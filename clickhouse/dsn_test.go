package clickhouse

import (
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/touchstream/touchstream/internal/testenv"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn      string
		protocol ch.Protocol
		addr     string
		database string
		user     string
		password string
	}{
		{DefaultDSN, ch.HTTP, "127.0.0.1:8123", "touchstream", "", ""},
		{"http://alice:s3cret@127.0.0.1:8123/analytics", ch.HTTP, "127.0.0.1:8123", "analytics", "alice", "s3cret"},
		{"http://127.0.0.1:8123", ch.HTTP, "127.0.0.1:8123", "default", "", ""},
		{"https://ch.example.com:8443/touchstream?secure=true", ch.HTTP, "ch.example.com:8443", "touchstream", "", ""},
		{"clickhouse://ch.example.com:9000/touchstream", ch.Native, "ch.example.com:9000", "touchstream", "", ""},
		{"clickhouse://bob:p%40ss@ch.example.com:9000/touchstream?dial_timeout=5s", ch.Native, "ch.example.com:9000", "touchstream", "bob", "p@ss"},
		{"tcp://ch.example.com:9000/touchstream", ch.Native, "ch.example.com:9000", "touchstream", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			opts, err := ParseDSN(tt.dsn)
			if err != nil {
				t.Fatalf("ParseDSN: %v", err)
			}
			if opts.Protocol != tt.protocol {
				t.Errorf("protocol = %v, want %v", opts.Protocol, tt.protocol)
			}
			if len(opts.Addr) != 1 || opts.Addr[0] != tt.addr {
				t.Errorf("addr = %v, want [%s]", opts.Addr, tt.addr)
			}
			if opts.Auth.Database != tt.database {
				t.Errorf("database = %q, want %q", opts.Auth.Database, tt.database)
			}
			if opts.Auth.Username != tt.user || opts.Auth.Password != tt.password {
				t.Errorf("auth = %q/%q, want %q/%q", opts.Auth.Username, opts.Auth.Password, tt.user, tt.password)
			}
		})
	}
}

func TestParseDSNRefuses(t *testing.T) {
	for _, dsn := range []string{
		"",
		"127.0.0.1:8123",
		"postgres://127.0.0.1:5432/touchstream",
		"http:///touchstream",
		"https://127.0.0.1:8443/touchstream", // https without secure=true
	} {
		t.Run(dsn, func(t *testing.T) {
			if _, err := ParseDSN(dsn); err == nil {
				t.Errorf("ParseDSN(%q) succeeded, want an error", dsn)
			}
		})
	}
}

func TestOpenHTTP(t *testing.T) {
	t.Parallel()
	conn, err := Open(t.Context(), testenv.ClickHouse(t)+"/default")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer conn.Close()
	var one uint8
	if err := conn.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func TestOpenUnreachableIsRetryable(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), "http://127.0.0.1:1/touchstream?dial_timeout=1s")
	if err == nil {
		t.Fatal("open succeeded against a closed port")
	}
	if IsPermanent(err) {
		t.Errorf("unreachable server is permanent: %v", err)
	}
}
