package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/touchstream/touchstream/embedded/clickhouse"
	"github.com/touchstream/touchstream/embedded/kafka"
)

var (
	chOnce sync.Once
	chURL  string
	chErr  error
)

// ClickHouse returns the base URL (http://127.0.0.1:PORT) of the process's
// embedded ClickHouse, starting it on first use. It lives until the process
// ends, its data in a temporary directory; tests keep apart by using their
// own database (see Database).
func ClickHouse(t testing.TB) string {
	t.Helper()
	chOnce.Do(func() {
		sweepClickHouseDirs()
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", chDirPrefix, os.Getpid()))
		if err != nil {
			chErr = err
			return
		}
		cfg := clickhouse.DefaultConfig()
		cfg.Path = dir
		cfg.Listen = "127.0.0.1:0"
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		srv, err := clickhouse.New(cfg)
		if err != nil {
			chErr = err
			return
		}
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			chErr = err
			return
		}
		ready := make(chan string, 1)
		go srv.Serve(context.Background(), ln, ready)
		chURL = "http://" + <-ready
	})
	if chErr != nil {
		t.Fatalf("embedded clickhouse: %v", chErr)
	}
	return chURL
}

// chDirPrefix starts the name of each test process's ClickHouse data
// directory (in os.TempDir), followed by the process id.
const chDirPrefix = "touchstream-testenv-ch-"

// sweepClickHouseDirs removes the data directories of test processes that
// have ended. A process cannot remove its own (the embedded engine runs
// until the process exits, and a test binary has no hook after its last
// test), so each new one removes those whose process is gone; without
// this, every test run left its engine's data behind (gigabytes after a
// day of runs). Directories of the older naming, without a process id,
// are removed once they are six hours old.
func sweepClickHouseDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), chDirPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), chDirPrefix)
		pidText, _, withPID := strings.Cut(rest, "-")
		if withPID {
			pid, err := strconv.Atoi(pidText)
			if err != nil || pid <= 0 || pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
				continue // not ours to judge, or its process still runs
			}
		} else if fi, err := os.Stat(d); err != nil || time.Since(fi.ModTime()) < 6*time.Hour {
			continue
		}
		os.RemoveAll(d)
	}
}

var dbSeq struct {
	sync.Mutex
	n int
}

// Database returns a fresh database name for a test (it is not created).
func Database(t testing.TB, prefix string) string {
	dbSeq.Lock()
	defer dbSeq.Unlock()
	dbSeq.n++
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), dbSeq.n)
}

// Kafka starts an embedded Kafka broker with the pipeline's topics
// (partitions each) for the test and returns its address.
func Kafka(t testing.TB, partitions int) string {
	t.Helper()
	b, err := kafka.Start(kafka.Config{Listen: "127.0.0.1:0", Partitions: partitions})
	if err != nil {
		t.Fatalf("embedded kafka: %v", err)
	}
	t.Cleanup(b.Close)
	return b.Addr()
}
