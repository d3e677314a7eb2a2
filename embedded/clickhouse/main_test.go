package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"
)

// testPath is the one engine storage path of this test process: the engine
// allows one path per process, so every server in these tests shares it.
// Tests keep apart by using their own database or table names.
var testPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "touchstream-clickhouse-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPath = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startServer serves the embedded ClickHouse on a free loopback port until
// the test ends and returns its base URL (http://127.0.0.1:PORT).
func startServer(t testing.TB, configure func(*Config)) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Path = testPath
	cfg.Listen = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if configure != nil {
		configure(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, ready) }()
	addr := <-ready
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("server did not stop within 15s")
		}
	})
	return "http://" + addr
}
