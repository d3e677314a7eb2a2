package hostile

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/touchstream/touchstream/clickhouse"
	"github.com/touchstream/touchstream/internal/testenv"
	"github.com/touchstream/touchstream/report"
)

// chCase is one hostile request to the embedded ClickHouse's HTTP front,
// which answers as ClickHouse does: a status, the exception code in
// X-ClickHouse-Exception-Code and "Code: N. DB::Exception: ..." as text.
type chCase struct {
	name   string
	method string
	query  url.Values
	header map[string]string
	body   []byte
	status int
	code   string // X-ClickHouse-Exception-Code
}

func TestClickHouseCorpus(t *testing.T) {
	base := testenv.ClickHouse(t)
	db := testenv.Database(t, "hostile")
	tbl := db + ".victim"
	exec := func(sql string) {
		t.Helper()
		res := chDo(t, base, "POST", url.Values{}, nil, []byte(sql))
		if res.status != 200 {
			t.Fatalf("%s: %d %s", sql, res.status, res.body)
		}
	}
	exec("CREATE DATABASE " + db)
	exec("CREATE TABLE " + tbl + " (s String) ENGINE = MergeTree ORDER BY s")
	exec("INSERT INTO " + tbl + " VALUES ('kept')")

	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	cases := []chCase{
		{name: "multi-statement body", method: "POST", body: []byte("SELECT 1; DROP TABLE " + tbl), status: 400, code: "62"},
		{name: "multi-statement split across query and body", method: "POST", query: q("query", "INSERT INTO "+tbl+" SELECT 'x';"), body: []byte("DROP TABLE " + tbl), status: 400, code: "62"},
		{name: "unknown setting name with SQL characters", method: "POST", query: q("x';DROP TABLE victim;--", "1"), body: []byte("SELECT 1"), status: 404, code: "115"},
		{name: "known setting with a SQL-looking value", method: "POST", query: q("max_threads", "1; DROP TABLE "+tbl), body: []byte("SELECT 1"), status: 400, code: "27"},
		{name: "query larger than max_query_size", method: "POST", body: []byte("SELECT 1 /*" + strings.Repeat("x", 300<<10) + "*/"), status: 413, code: "229"},
		{name: "invalid UTF-8 in a param_ value", method: "POST", query: q("param_s", "\xff\xfe' OR 1=1 --"), body: []byte("SELECT count() FROM " + tbl + " WHERE s = {s:String}"), status: 200},
		{name: "unknown path", method: "GET", status: 404},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%02d %s", i+1, tc.name), func(t *testing.T) {
			path := ""
			if tc.name == "unknown path" {
				path = "nope"
			}
			res := chDo(t, base+"/"+path, tc.method, tc.query, tc.header, tc.body)
			if res.status >= 500 {
				t.Fatalf("server error %d: %s", res.status, short(string(res.body)))
			}
			if tc.status != 0 && res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, short(string(res.body)))
			}
			if tc.code != "" {
				if got := res.header.Get("X-ClickHouse-Exception-Code"); got != tc.code {
					t.Errorf("exception code %q, want %s", got, tc.code)
				}
				if !strings.HasPrefix(string(res.body), "Code: "+tc.code+". DB::Exception:") {
					t.Errorf("body %q, want a ClickHouse exception", short(string(res.body)))
				}
			}
		})
	}
	// The server is up and the victim table untouched.
	res := chDo(t, base, "POST", url.Values{}, nil, []byte("SELECT groupArray(s) FROM "+tbl))
	if res.status != 200 || strings.TrimSpace(string(res.body)) != "['kept']" {
		t.Fatalf("victim table after the corpus: %d %s", res.status, res.body)
	}
	if res := chDo(t, base+"/ping", "GET", nil, nil, nil); res.status != 200 {
		t.Fatalf("/ping: %d", res.status)
	}
}

func chDo(t *testing.T, base, method string, q url.Values, header map[string]string, body []byte) result {
	t.Helper()
	u := base
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v (the server must stay up)", method, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, b}
}

// TestReportFilterInjection runs a funnel whose step and site look like SQL:
// they are bound as parameters, so they match nothing and drop nothing.
func TestReportFilterInjection(t *testing.T) {
	dsn := testenv.ClickHouse(t) + "/" + testenv.Database(t, "hostile_report")
	if err := clickhouse.Migrate(t.Context(), dsn, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	conn, err := clickhouse.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	now := time.Now().UTC()
	r, err := report.Funnel(t.Context(), conn, report.Options{
		From: now.Add(-24 * time.Hour), To: now.Add(time.Hour),
		Steps: []string{"x' OR 1=1 --", "View"}, Site: "'; DROP TABLE events; --",
	})
	if err != nil {
		t.Fatalf("funnel: %v", err)
	}
	for _, s := range r.Steps {
		if s.Count != 0 {
			t.Errorf("step %q counted %d, want 0", s.Step, s.Count)
		}
	}
	var n uint64
	if err := conn.QueryRow(t.Context(), "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'events'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("events table after the funnel: %d tables, err %v", n, err)
	}
}
