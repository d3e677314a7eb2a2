package report

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
)

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:62rem;padding:0 1rem;color:#222}
h2{margin-top:2.5rem;border-bottom:2px solid #4a7dd8;padding-bottom:.2rem}
table{border-collapse:collapse;margin-bottom:1rem}
th,td{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:right}
td{white-space:nowrap}
th:first-child,td:first-child{text-align:left}
figure{margin:1rem 0 1.5rem}figcaption{font-weight:600;margin-bottom:.4rem;color:#444}
svg.chart{display:block;max-width:100%;height:auto;font-family:system-ui,sans-serif}
.bar{background:#4a7dd8;height:.8rem;display:inline-block}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Reports}}<section class="report" id="{{.ID}}">
<h2>{{.Kind}}</h2>
{{range .Charts}}<figure><figcaption>{{.Title}}</figcaption>{{.SVG}}</figure>
{{end}}{{range .Tables}}<table>
<thead><tr>{{range index . 0}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range slice . 1}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}</section>
{{end}}</body>
</html>
`))

// WritePage prints several reports as one standalone HTML page, e.g.
// out/report.html of `make demo`: per report its charts (inline SVG, see
// charts.go; no script, nothing fetched) and the same tables as
// FormatTable. Each report is a section whose id is its kind (funnel,
// then funnel-2 for a second funnel).
func WritePage(w io.Writer, title string, results ...Result) error {
	type section struct {
		Kind, ID string // ID is the kind, numbered from the second report of a kind on
		Charts   []chart
		Tables   []table
	}
	data := struct {
		Title   string
		Reports []section
	}{Title: title}
	seen := map[string]int{}
	for _, r := range results {
		id := r.Kind()
		if seen[id]++; seen[id] > 1 {
			id += "-" + strconv.Itoa(seen[id])
		}
		data.Reports = append(data.Reports, section{r.Kind(), id, charts(r), r.display()})
	}
	if err := pageTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("write report page: %w", err)
	}
	return nil
}
