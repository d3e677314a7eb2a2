package report

import (
	"reflect"
	"testing"
)

func TestParseWhere(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Property
		err  bool
	}{
		{in: "", want: nil},
		{in: "plan=pro", want: []Property{{"plan", "pro"}}},
		{in: " plan = pro ,country=DE", want: []Property{{"plan", " pro "}, {"country", "DE"}}},
		{in: "a=b=c", want: []Property{{"a", "b=c"}}},
		{in: "empty=", want: []Property{{"empty", ""}}},
		{in: "plan", err: true},
		{in: "=pro", err: true},
		{in: "a=1,", err: true},
	} {
		got, err := ParseWhere(c.in)
		if (err != nil) != c.err {
			t.Errorf("ParseWhere(%q) error %v, want error %v", c.in, err, c.err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseWhere(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
