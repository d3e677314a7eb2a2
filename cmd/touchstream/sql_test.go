package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrintSQL(t *testing.T) {
	var plain, filtered bytes.Buffer
	if err := printSQL(&plain, []string{"abandonment"}); err != nil {
		t.Fatal(err)
	}
	if err := printSQL(&filtered, []string{"abandonment", "--filtered"}); err != nil {
		t.Fatal(err)
	}
	// Plain SQL: no template action left, no filter parameter read.
	if !strings.Contains(plain.String(), "-- outcomes end") || strings.Contains(plain.String(), "{{") ||
		strings.Contains(plain.String(), "only_channels") {
		t.Errorf("abandonment:\n%s", plain.String())
	}
	if !strings.Contains(filtered.String(), "{only_channels:Array(String)}") || strings.Contains(filtered.String(), "{{") {
		t.Errorf("abandonment --filtered:\n%s", filtered.String())
	}
	for _, args := range [][]string{{}, {"no_such_query"}, {"abandonment", "extra"}, {"funnel"}, {"stages"}} {
		if err := printSQL(&bytes.Buffer{}, args); err == nil {
			t.Errorf("sql %q: no error", args)
		}
	}
}
