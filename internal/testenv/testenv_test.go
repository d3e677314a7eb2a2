package testenv

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestServicesStart(t *testing.T) {
	base := ClickHouse(t)
	res, err := http.Get(base + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "Ok.\n" {
		t.Fatalf("ping: %q", b)
	}
	if ClickHouse(t) != base {
		t.Error("a second call started another server")
	}
	if a, b := Kafka(t, 2), Kafka(t, 2); a == b || a == "" {
		t.Errorf("kafka addresses %q %q", a, b)
	}
}

// TestSweepClickHouseDirs checks that a test process removes the
// ClickHouse directories of test processes that have ended, and only
// those (and legacy ones older than six hours).
func TestSweepClickHouseDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	// A process that has ended: this test binary, run again to do nothing.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run a process to end: %v", err)
	}
	dead := cmd.Process.Pid
	mk := func(name string, age time.Duration) string {
		d := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(d, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(d, at, at); err != nil {
			t.Fatal(err)
		}
		return d
	}
	gone := []string{
		mk(fmt.Sprintf("%s%d-1", chDirPrefix, dead), 0),
		mk(chDirPrefix+"123456789", 7*time.Hour),
	}
	kept := []string{
		mk(fmt.Sprintf("%s%d-2", chDirPrefix, os.Getpid()), time.Hour),
		mk(fmt.Sprintf("%s%d-3", chDirPrefix, os.Getppid()), 7*time.Hour),
		mk(chDirPrefix+"987654321", time.Hour),
		mk("other-dir", 7*time.Hour),
	}
	sweepClickHouseDirs()
	for _, d := range gone {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s: still there (err %v), want removed", filepath.Base(d), err)
		}
	}
	for _, d := range kept {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s: %v, want kept", filepath.Base(d), err)
		}
	}
}
