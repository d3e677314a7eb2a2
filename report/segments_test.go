package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSegmentsGolden(t *testing.T) {
	conn := migratedConn(t)
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	cat := func(c string) string { return `{"category":"` + c + `"}` }
	added := "Product Added"
	insertRich(t, conn,
		// u1: visitors va and vb, linked to user u1 (identities below).
		rich{id: "1", visitor: "va", at: at(5, 0), revenue: 100, properties: cat("shoes")},
		rich{id: "2", visitor: "vb", at: at(28, 12), revenue: 50, properties: cat("shoes")},
		rich{id: "3", visitor: "vb", at: at(20, 0), revenue: 30, properties: cat("bags")},
		rich{id: "4", visitor: "vb", typ: "identify", at: at(20, 0), properties: `{"email":"u1@example.com"}`},
		// vc: one order; books (2 adds) beat toys (1 order).
		rich{id: "5", visitor: "vc", at: at(25, 0), revenue: 20, properties: cat("toys")},
		rich{id: "6", visitor: "vc", name: added, at: at(25, 0), properties: cat("books")},
		rich{id: "7", visitor: "vc", name: added, at: at(24, 0), properties: cat("books")},
		// Not counted for vc's top category: views, and adds before the range.
		rich{id: "7b", visitor: "vc", name: "Product Viewed", at: at(23, 0), properties: cat("toys")},
		rich{id: "7c", visitor: "vc", name: "Product Viewed", at: at(23, 1), properties: cat("toys")},
		rich{id: "7d", visitor: "vc", name: added, at: time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), properties: cat("toys")},
		rich{id: "7e", visitor: "vc", name: added, at: time.Date(2026, 10, 21, 0, 0, 0, 0, time.UTC), properties: cat("toys")},
		// vd: a user id on its events but no identity link: its own customer.
		rich{id: "8", visitor: "vd", user: "u4", at: at(2, 0), revenue: 300},
		rich{id: "9", visitor: "vd", user: "u4", at: at(3, 12), revenue: 200},
		// vd's traits name email with a JSON escape: "\u0065mail" is "email".
		rich{id: "9b", visitor: "vd", typ: "identify", at: at(3, 0), properties: `{"\u0065mail":"vd@example.com"}`},
		// ve: a tie between two categories: the first by name.
		rich{id: "10", visitor: "ve", at: at(29, 18), revenue: 10, properties: `{"category":"b-cat"}`},
		rich{id: "11", visitor: "ve", name: added, at: at(29, 17), properties: `{"category":"a-cat"}`},
		// vf: an order before the range (not counted); the newest email wins.
		rich{id: "12", visitor: "vf", at: time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), revenue: 999, properties: `{"email":"old@example.com"}`},
		rich{id: "13", visitor: "vf", at: at(10, 0), revenue: 60, properties: `{"email":"new@example.com"}`},
		// Not customers: vg only added to a cart, vh ordered after the range.
		rich{id: "14", visitor: "vg", name: added, at: at(10, 0), properties: cat("shoes")},
		rich{id: "15", visitor: "vh", at: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), revenue: 5},
	)
	exec(t, conn, `INSERT INTO identities (visitor_id, user_id, first_seen, last_seen, source, message_id) VALUES
		('va', 'u1', '2026-11-05 00:00:00', '2026-11-05 00:00:00', 'identify', 'x1'),
		('vb', 'u1', '2026-11-20 00:00:00', '2026-11-20 00:00:00', 'identify', '4')`)

	got, err := Segments(t.Context(), conn, Options{From: date(2026, 11, 1), To: date(2026, 12, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// R by last order (vd Nov 3, vf Nov 10, vc Nov 25, u1 Nov 28, ve Nov 29):
	// 1..5. F by orders: vc, ve, vf have 1 (tied, rank 1: F 1), vd 2 (rank
	// 4), u1 3 (rank 5). M by revenue: ve 10, vc 20, vf 60, u1 180, vd 500.
	want := []string{
		"vd [vd] u4 vd@example.com 2 500 250 2026-11-03T12:00 27.5  1 4 5 At risk",
		"u1 [va vb] u1 u1@example.com 3 180 60 2026-11-28T12:00 2.5 shoes 4 5 4 Champions",
		"vf [vf]  new@example.com 1 60 60 2026-11-10T00:00 21  2 1 3 Hibernating",
		"vc [vc]   1 20 20 2026-11-25T00:00 6 books 3 1 2 Promising",
		"ve [ve]   1 10 10 2026-11-29T18:00 1.25 a-cat 5 1 1 New",
	}
	var lines []string
	for _, c := range got.List {
		lines = append(lines, fmt.Sprintf("%s %v %s %s %d %v %v %s %v %s %d %d %d %s", c.CustomerID, c.VisitorIDs, c.UserID, c.Email,
			c.Orders, c.Revenue, c.AOV, c.LastOrder.UTC().Format("2006-01-02T15:04"), c.RecencyDays, c.TopCategory, c.R, c.F, c.M, c.Segment))
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("customers =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	var b bytes.Buffer
	if err := Write(&b, got, FormatJSON); err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"customers":5,"orders":8,"revenue":770,"segments":[` +
		`{"segment":"Champions","customers":1,"share":0.2,"orders":3,"revenue":180,"aov":60},` +
		`{"segment":"Loyal","customers":0,"share":0,"orders":0,"revenue":0,"aov":0},` +
		`{"segment":"New","customers":1,"share":0.2,"orders":1,"revenue":10,"aov":10},` +
		`{"segment":"Promising","customers":1,"share":0.2,"orders":1,"revenue":20,"aov":20},` +
		`{"segment":"At risk","customers":1,"share":0.2,"orders":2,"revenue":500,"aov":250},` +
		`{"segment":"Hibernating","customers":1,"share":0.2,"orders":1,"revenue":60,"aov":60}]}` + "\n"
	if b.String() != wantJSON {
		t.Errorf("json:\n got %s\nwant %s", b.String(), wantJSON)
	}
	b.Reset()
	if err := Write(&b, got, FormatCSV); err != nil {
		t.Fatal(err)
	}
	csvLines := strings.Split(b.String(), "\n")
	if csvLines[0] != "customer_id,visitor_ids,user_id,email,orders,revenue,aov,last_order,recency_days,top_category,r,f,m,segment" ||
		csvLines[2] != "u1,va vb,u1,u1@example.com,3,180,60,2026-11-28T12:00:00.000Z,2.5,shoes,4,5,4,Champions" {
		t.Errorf("csv:\n%s", b.String())
	}

	// Nobody ordered in January: every segment empty.
	got, err = Segments(t.Context(), conn, Options{From: date(2027, 1, 1), To: date(2027, 2, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Customers != 0 || len(got.Segments) != len(SegmentNames) || len(got.List) != 0 {
		t.Errorf("January: %+v", got)
	}
}
