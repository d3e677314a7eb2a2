package clickhouse

import (
	"testing"

	"github.com/ClickHouse/ch-go/compress"
)

func TestDbgValues(t *testing.T) {
	base := startServer(t, nil)
	exec(t, base, "CREATE TABLE dbgv (x UInt8) ENGINE = Memory")
	for _, b := range []string{"INSERT INTO dbgv VALUES (1); DROP TABLE dbgv", "INSERT INTO dbgv VALUES (2) garbage", "INSERT INTO dbgv VALUES (3);", "INSERT INTO dbgv VALUES (4) (5)"} {
		r := doReq(t, base, hreq{body: b})
		t.Logf("%q: %s", b, r)
	}
	t.Logf("%q", query(t, base, "SELECT groupArray(x) FROM dbgv"))
	r := doReq(t, base, hreq{params: []string{"decompress", "1"}, body: chCompress(t, []byte("INSERT INTO dbgv FORMAT CSV\n7\n"), compress.LZ4)})
	t.Logf("%s", r)
	t.Logf("%q", query(t, base, "SELECT groupArray(x) FROM dbgv"))
}
