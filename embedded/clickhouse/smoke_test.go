package clickhouse

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestPingAndSelect(t *testing.T) {
	base := startServer(t, nil)
	for _, tc := range []struct{ path, want string }{
		{"/ping", "Ok.\n"},
		{"/?query=" + url.QueryEscape("SELECT 1 + 1"), "2\n"},
	} {
		res, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(b) != tc.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tc.path, res.StatusCode, b, tc.want)
		}
	}
	res, err := http.Post(base+"/", "text/plain", strings.NewReader("SELECT * FROM no_such_table"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 || res.Header.Get("X-ClickHouse-Exception-Code") != "60" {
		t.Errorf("unknown table: status %d code %q, want 404 60", res.StatusCode, res.Header.Get("X-ClickHouse-Exception-Code"))
	}
}
