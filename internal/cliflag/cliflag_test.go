package cliflag

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSecretNeverInUsage(t *testing.T) {
	t.Setenv("TS_TEST_SECRET", "s3cret-from-env-value")
	t.Setenv("TS_TEST_DSN", "clickhouse://writer:pa55word@db:9000/touchstream")
	s := New("test")
	var secret, dsn string
	s.Secret(&secret, "secret", "TS_TEST_SECRET", "signing key")
	s.String(&dsn, "dsn", "TS_TEST_DSN", "where to write")
	var out bytes.Buffer
	s.SetOutput(&out)
	s.PrintDefaults()
	for _, leaked := range []string{"s3cret-from-env-value", "pa55word"} {
		if strings.Contains(out.String(), leaked) {
			t.Errorf("usage shows %q:\n%s", leaked, out.String())
		}
	}
	if !strings.Contains(out.String(), "writer:xxxxx@db:9000") {
		t.Errorf("usage should show the DSN with its password redacted:\n%s", out.String())
	}
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if secret != "s3cret-from-env-value" || dsn != "clickhouse://writer:pa55word@db:9000/touchstream" {
		t.Errorf("values from env: secret %q dsn %q", secret, dsn)
	}
	if err := s.Parse([]string{"--secret", "from-flag"}); err != nil || secret != "from-flag" {
		t.Errorf("--secret: %v, %q", err, secret)
	}
}

func TestBadEnvironmentValueIsAnError(t *testing.T) {
	for _, tc := range []struct {
		env  string
		bind func(*Set)
	}{
		{"TS_TEST_INT", func(s *Set) { var n int; s.Int(&n, "n", "TS_TEST_INT", "") }},
		{"TS_TEST_DUR", func(s *Set) { var d time.Duration; s.Duration(&d, "d", "TS_TEST_DUR", "") }},
		{"TS_TEST_BOOL", func(s *Set) { var b bool; s.Bool(&b, "b", "TS_TEST_BOOL", "") }},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, "not-a-value")
			s := New("test")
			tc.bind(s)
			err := s.Parse(nil)
			if err == nil || !strings.Contains(err.Error(), tc.env) {
				t.Fatalf("Parse with %s=not-a-value: %v, want an error naming the variable", tc.env, err)
			}
		})
	}
}

func TestGoodEnvironmentValues(t *testing.T) {
	t.Setenv("TS_TEST_INT", "42")
	t.Setenv("TS_TEST_DUR", "1500ms")
	s := New("test")
	var n int
	var d time.Duration
	s.Int(&n, "n", "TS_TEST_INT", "")
	s.Duration(&d, "d", "TS_TEST_DUR", "")
	if err := s.Parse([]string{"--n", "7"}); err != nil {
		t.Fatal(err)
	}
	if n != 7 || d != 1500*time.Millisecond {
		t.Errorf("n=%d (flag wins), d=%v", n, d)
	}
}
