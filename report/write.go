package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Format is an output format of Write.
type Format string

// The formats Write prints.
const (
	FormatTable Format = "table" // aligned columns for people
	FormatJSON  Format = "json"  // one JSON object, DESIGN.md section 3
	FormatCSV   Format = "csv"   // a header row, then plain numbers
	FormatHTML  Format = "html"  // a small standalone HTML page
)

// Formats lists the formats, the default first.
var Formats = []Format{FormatTable, FormatJSON, FormatCSV, FormatHTML}

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("format %q: want one of table, json, csv, html", s)
}

// table is rows of cells, the header first.
type table [][]string

// Write prints r to w in the format f.
func Write(w io.Writer, r Result, f Format) error {
	return WriteFiltered(w, r, f, Filter{})
}

// WriteFiltered prints r, a report run with filter, to w in the format f:
// the table and HTML formats, which people read, name the filter (a first
// line; the page's title), JSON and CSV keep their shapes.
func WriteFiltered(w io.Writer, r Result, f Format, filter Filter) error {
	note := filter.String()
	switch f {
	case FormatJSON:
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("write %s report: %w", r.Kind(), err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.WriteAll(r.records()); err != nil {
			return fmt.Errorf("write %s report: %w", r.Kind(), err)
		}
		return nil
	case FormatTable:
		if note != "" {
			if _, err := fmt.Fprintf(w, "filter: %s\n\n", note); err != nil {
				return err
			}
		}
		return writeTables(w, r.display())
	case FormatHTML:
		return writeHTML(w, r, note)
	}
	return fmt.Errorf("write %s report: format %q: want one of table, json, csv, html", r.Kind(), f)
}

// writeTables prints tables as aligned columns, a blank line between them.
func writeTables(w io.Writer, tables []table) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		for _, row := range t {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	}
	return tw.Flush()
}

// writeHTML prints r as a small standalone HTML page: WritePage with one
// report (the same tables as FormatTable), its title naming the filter
// note when there is one.
func writeHTML(w io.Writer, r Result, note string) error {
	title := "Touchstream " + r.Kind() + " report"
	if note != "" {
		title += ", " + note
	}
	return WritePage(w, title, r)
}

func formatUint(n uint64) string { return strconv.FormatUint(n, 10) }

// formatFloat is the shortest text that reads back as x.
func formatFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// formatPercent prints a ratio as a percentage with one decimal.
func formatPercent(x float64) string { return strconv.FormatFloat(x*100, 'f', 1, 64) + "%" }

// formatSeconds prints seconds for people: "42.5s", "3m20s", "26h0m0s".
func formatSeconds(s float64) string {
	switch {
	case math.IsNaN(s) || math.IsInf(s, 0):
		return "-"
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	}
	return (time.Duration(math.Round(s)) * time.Second).String()
}
