package pipeline

import (
	"net/url"
	"testing"
)

func TestClickIDRank(t *testing.T) {
	for _, tt := range []struct {
		name string
		want int
	}{
		{"gclid", 0},
		{"GCLID", 0},   // case ignored
		{"GClid", 0},   // mixed case
		{"gbraid", 1},  // Google's app-to-web id
		{"msclkid", 4}, // Microsoft
		{"fbclid", 6},
		{"li_fat_id", 8},
		{"rdt_cid", 12},
		{"gclsrc", -1}, // a Google parameter, not a click id
		{"utm_source", -1},
		{"", -1},
		{"gclid ", -1},
		{"epi\u212a", -1}, // KELVIN SIGN is not k here
	} {
		if got := ClickIDRank(tt.name); got != tt.want {
			t.Errorf("ClickIDRank(%q) = %d, want %d", tt.name, got, tt.want)
		}
	}
	params := ClickIDParams()
	for i, p := range params {
		if got := ClickIDRank(p); got != i {
			t.Errorf("ClickIDRank(%q) = %d, want its position %d", p, got, i)
		}
	}
	params[0] = "changed"
	if ClickIDParams()[0] != "gclid" {
		t.Error("ClickIDParams returned its own array, not a copy")
	}
}

func TestClickIDOf(t *testing.T) {
	for _, tt := range []struct {
		name, query      string
		wantType, wantID string
	}{
		{"none", "a=1&utm_source=x", "", ""},
		{"gclid", "utm_source=x&gclid=Cj0KCQ", "gclid", "Cj0KCQ"},
		{"precedence, not query order", "fbclid=F&gclid=G", "gclid", "G"},
		{"upper-case name, canonical type", "GCLID=G", "gclid", "G"},
		{"lower-case spelling wins", "GCLID=A&gclid=B&Gclid=C", "gclid", "B"},
		{"else the first in byte order", "gCLID=A&GCLID=B", "gclid", "B"},
		{"empty value ignored", "gclid=&fbclid=F", "fbclid", "F"},
		{"blank value ignored", "gclid=%20%20&msclkid=M", "msclkid", "M"},
		{"first value counts", "gclid=&gclid=X&wbraid=W", "wbraid", "W"},
		{"value trimmed, case kept", "gclid=%20AbC%20", "gclid", "AbC"},
		{"unknown parameter", "gclsrc=aw.ds&xclid=1", "", ""},
		{"only empty", "gclid=&fbclid=", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			typ, id := ClickIDOf(q)
			if typ != tt.wantType || id != tt.wantID {
				t.Errorf("ClickIDOf(%q) = %q, %q; want %q, %q", tt.query, typ, id, tt.wantType, tt.wantID)
			}
		})
	}
	if typ, id := ClickIDOf(nil); typ != "" || id != "" {
		t.Errorf("ClickIDOf(nil) = %q, %q", typ, id)
	}
}
