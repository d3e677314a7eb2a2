package report

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFunnelFiltersAndExclusions(t *testing.T) {
	conn := migratedConn(t)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	s := time.Second
	shoes := `{"category":"shoes"}`
	insertFull(t, conn,
		// a: all three steps, nothing excluded.
		fev{id: "a1", visitor: "a", name: "View", at: t0},
		fev{id: "a2", visitor: "a", name: "Product Added", at: t0.Add(10 * s), props: shoes},
		fev{id: "a3", visitor: "a", name: "Buy", at: t0.Add(20 * s)},
		// b adds hats: not step 2, so not step 3 either.
		fev{id: "b1", visitor: "b", name: "View", at: t0},
		fev{id: "b2", visitor: "b", name: "Product Added", at: t0.Add(10 * s), props: `{"category":"hats"}`},
		fev{id: "b3", visitor: "b", name: "Buy", at: t0.Add(20 * s)},
		// c: Cart Removed between steps 2 and 3; price is a JSON number.
		fev{id: "c1", visitor: "c", name: "View", at: t0},
		fev{id: "c2", visitor: "c", name: "Product Added", at: t0.Add(12 * s), props: `{"category":"shoes","price":10}`},
		fev{id: "c3", visitor: "c", name: "Cart Removed", at: t0.Add(15 * s)},
		fev{id: "c4", visitor: "c", name: "Buy", at: t0.Add(20 * s)},
		// d: Cart Removed between the first View and step 2; a second
		// View starts a clean chain that reaches step 2 in 15 s.
		fev{id: "d1", visitor: "d", name: "View", at: t0},
		fev{id: "d2", visitor: "d", name: "Cart Removed", at: t0.Add(5 * s)},
		fev{id: "d3", visitor: "d", name: "Product Added", at: t0.Add(10 * s), props: shoes},
		fev{id: "d4", visitor: "d", name: "View", at: t0.Add(30 * s)},
		fev{id: "d5", visitor: "d", name: "Product Added", at: t0.Add(45 * s), props: shoes},
		// e: Cart Removed at the same millisecond as step 2: not between
		// steps 1 and 2, but between steps 1 and 3.
		fev{id: "e1", visitor: "e", name: "View", at: t0},
		fev{id: "e2", visitor: "e", name: "Product Added", at: t0.Add(10 * s), props: shoes},
		fev{id: "e3", visitor: "e", name: "Cart Removed", at: t0.Add(10 * s)},
		fev{id: "e4", visitor: "e", name: "Buy", at: t0.Add(20 * s)},
		// g adds a category with a quote and a comma.
		fev{id: "g1", visitor: "g", name: "Product Added", at: t0, props: `{"category":"it's, new"}`},
	)
	from, to := date(2026, 11, 1), date(2026, 11, 15)
	steps := []string{"View", "Product Added[category=shoes]", "Buy"}

	// Without exclusions: View a b c d e = 5; shoes a c d e = 4 (10 12 10 10 s:
	// median [2] 10, p90 [3] 12); Buy a c e = 3 (20 s each).
	got, err := Funnel(t.Context(), conn, Options{From: from, To: to, Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "no exclusion", got.Steps, []FunnelStep{
		step("View", 5, 1, 1, 0, 0),
		step("Product Added[category=shoes]", 4, 0.8, 0.8, 10, 12),
		step("Buy", 3, 0.6, 0.75, 20, 20),
	})

	// Excluding Cart Removed: c stops at 2, d reaches 2 by its second chain
	// (15 s), e stops at 2. Step 2: 10 10 12 15: median [2] 12, p90 [3] 15.
	got, err = Funnel(t.Context(), conn, Options{From: from, To: to, Steps: steps, Exclude: []string{"Cart Removed"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSteps(t, "exclusion", got.Steps, []FunnelStep{
		step("View", 5, 1, 1, 0, 0),
		step("Product Added[category=shoes]", 4, 0.8, 0.8, 12, 15),
		step("Buy", 1, 0.2, 0.25, 20, 20),
	})

	// Exclusions apply to drop-off lists too: c and e dropped at step 2.
	got, err = Funnel(t.Context(), conn, Options{From: from, To: to, Steps: steps, Exclude: []string{"Cart Removed"}, Dropoff: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range got.Dropoff.Visitors {
		ids = append(ids, v.VisitorID)
	}
	if slices.Sort(ids); strings.Join(ids, " ") != "c d e" {
		t.Errorf("dropped at 2 = %v, want c d e", ids)
	}

	for _, tc := range []struct {
		step string
		want uint64
	}{
		{"Product Added[price=10]", 1},                                        // c: a JSON number compares as its text
		{"Product Added[category=shoes][price=10]", 1},                        // every filter must hold
		{"Product Added[ category =shoes]", 4},                                // the key is trimmed
		{"Product Added[category= shoes]", 0},                                 // the value is not
		{"Product Added[category=it's, new]", 1},                              // g: a quote and a comma
		{"Product Added[category=hats]|Product Added[category=it's, new]", 2}, // b g
		{"Product Added[colour=]", 6},                                         // a missing property is ''
		{"Product Added[category=shoes]|View", 5},                             // a b c d e; g's category is not shoes
	} {
		got, err := Funnel(t.Context(), conn, Options{From: from, To: to, Steps: SplitSteps(tc.step)})
		if err != nil {
			t.Fatalf("%s: %v", tc.step, err)
		}
		if len(got.Steps) != 1 || got.Steps[0].Count != tc.want {
			t.Errorf("%s: %+v, want count %d", tc.step, got.Steps, tc.want)
		}
	}
}

func TestParseStepFilters(t *testing.T) {
	steps, err := parseSteps(SplitSteps("View,Product Added[category=shoes][size=4, 5]|Wish[k=v]|page:/p/*,Buy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 {
		t.Fatalf("steps = %+v", steps)
	}
	s := steps[1]
	if len(s.events) != 0 || len(s.pages) != 1 || len(s.filters) != 2 ||
		s.filters[0].name != "Product Added" || strings.Join(s.filters[0].keys, ";") != "category;size" ||
		strings.Join(s.filters[0].values, ";") != "shoes;4, 5" || s.filters[1].name != "Wish" {
		t.Errorf("step 2 = %+v", s)
	}
	for _, bad := range []string{"A[", "A]", "[k=v]", "A[k]", "A[=v]", "A[k=v]x", "A[k=[v]]", "page:/x[k=v]", "A|"} {
		if _, err := parseSteps([]string{bad}); err == nil {
			t.Errorf("%q: no error", bad)
		} else if !strings.Contains(err.Error(), "step 1") {
			t.Errorf("%q: error %v does not name the step", bad, err)
		}
	}
}
