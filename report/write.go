package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
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
		return writeTables(w, r.display())
	case FormatHTML:
		return writeHTML(w, r)
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

var htmlPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Touchstream {{.Kind}} report</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin-bottom:1.5rem}th,td{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}</style>
</head>
<body>
<h1>{{.Kind}}</h1>
{{range .Tables}}<table>
<thead><tr>{{range index . 0}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range slice . 1}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}</body>
</html>
`))

// writeHTML prints r as a small HTML page (the same tables as FormatTable).
func writeHTML(w io.Writer, r Result) error {
	err := htmlPage.Execute(w, struct {
		Kind   string
		Tables []table
	}{r.Kind(), r.display()})
	if err != nil {
		return fmt.Errorf("write %s report: %w", r.Kind(), err)
	}
	return nil
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
