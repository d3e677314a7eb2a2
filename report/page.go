package report

import (
	"fmt"
	"html/template"
	"io"
)

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}h2{margin-top:2rem}table{border-collapse:collapse;margin-bottom:1rem}th,td{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}.bar{background:#4a7dd8;height:.8rem;display:inline-block}</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Reports}}<h2>{{.Kind}}</h2>
{{range .Tables}}<table>
<thead><tr>{{range index . 0}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range slice . 1}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}{{end}}</body>
</html>
`))

// WritePage prints several reports as one standalone HTML page (the same
// tables as FormatTable), e.g. out/report.html of `make demo`.
func WritePage(w io.Writer, title string, results ...Result) error {
	type section struct {
		Kind   string
		Tables []table
	}
	data := struct {
		Title   string
		Reports []section
	}{Title: title}
	for _, r := range results {
		data.Reports = append(data.Reports, section{r.Kind(), r.display()})
	}
	if err := pageTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("write report page: %w", err)
	}
	return nil
}
