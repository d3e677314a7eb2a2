package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/touchstream/touchstream/report"
)

// TestMain lets the test binary stand in for the touchstream binary: with
// TOUCHSTREAM_TEST_MAIN=1 it runs main() with the given arguments. Each
// engine needs its own process (one storage path per process), so process
// tests start the command this way.
func TestMain(m *testing.M) {
	if os.Getenv("TOUCHSTREAM_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startCommand runs `touchstream args...` as a child process and returns it
// once its log says it is listening.
func startCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TOUCHSTREAM_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			t.Logf("child: %s", sc.Text())
			if !signalled && strings.Contains(sc.Text(), "listening") {
				signalled = true
				close(up)
			}
		}
	}()
	select {
	case <-up:
	case <-time.After(60 * time.Second):
		t.Fatal("child did not start listening within 60s")
	}
	return cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func post(t *testing.T, base, sql string) string {
	t.Helper()
	res, err := http.Post(base+"/", "text/plain", strings.NewReader(sql))
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s: %d %s", sql, res.StatusCode, b)
	}
	return string(b)
}

// stop sends SIGTERM and expects a clean exit.
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
}

// TestClickHouseCommandPersistsAcrossRestart starts `touchstream clickhouse`,
// writes rows, stops it with SIGTERM, starts it again on the same path and
// reads the rows back.
func TestClickHouseCommandPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	cmd := startCommand(t, "clickhouse", "--listen", addr, "--path", dir)
	post(t, base, "CREATE TABLE persisted (id UInt64, s String) ENGINE = MergeTree ORDER BY id")
	post(t, base, "INSERT INTO persisted SELECT number, toString(number) FROM numbers(12345)")
	stop(t, cmd)

	cmd = startCommand(t, "clickhouse", "--listen", addr, "--path", dir)
	got := post(t, base, "SELECT count(), sum(id) FROM persisted")
	if want := fmt.Sprintf("12345\t%d\n", 12344*12345/2); got != want {
		t.Errorf("after restart: %q, want %q", got, want)
	}
	stop(t, cmd)
}

// TestClickHouseCommandPasswordEnv checks the password from the environment
// and the refusal to open a non-loopback port without one.
func TestClickHouseCommandPasswordEnv(t *testing.T) {
	cmd := exec.Command(os.Args[0], "clickhouse", "--listen", "0.0.0.0:0", "--path", t.TempDir())
	cmd.Env = append(os.Environ(), "TOUCHSTREAM_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "without a password") {
		t.Fatalf("want refusal naming the password, got err=%v out=%s", err, out)
	}

	dir := t.TempDir()
	addr := freeAddr(t)
	t.Setenv("TOUCHSTREAM_CLICKHOUSE_PASSWORD", "from-env")
	child := startCommand(t, "clickhouse", "--listen", addr, "--path", dir)
	q := "http://" + addr + "/?query=" + url.QueryEscape("SELECT 42")
	res, err := http.Get(q)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("no credentials: status %d, want 403", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, q, nil)
	req.SetBasicAuth("default", "from-env")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "42\n" {
		t.Errorf("with password: %d %q", res.StatusCode, b)
	}
	stop(t, child)
}

// TestDemoCommand runs `touchstream demo` as `make demo` does, smaller, and
// checks it exits 0 having checked its reports and written report.html.
func TestDemoCommand(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(os.Args[0], "demo", "--visitors", "200", "--days", "5", "--out", out)
	cmd.Env = append(os.Environ(), "TOUCHSTREAM_TEST_MAIN=1")
	done := make(chan struct{})
	var combined []byte
	var err error
	go func() {
		combined, err = cmd.CombinedOutput()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("demo did not finish within 3 minutes: %s", combined)
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, combined)
	}
	wantOut := []string{"equal the generator's own answers", "Every attribution model credits exactly"}
	for _, kind := range report.Kinds {
		wantOut = append(wantOut, "== "+kind+" ==")
	}
	for _, want := range wantOut {
		if !strings.Contains(string(combined), want) {
			t.Errorf("demo output lacks %q:\n%s", want, combined)
		}
	}
	page, err := os.ReadFile(out + "/report.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range report.Kinds {
		if !strings.Contains(string(page), "<h2>"+kind+"</h2>") {
			t.Errorf("report.html lacks the %s report", kind)
		}
	}
}
