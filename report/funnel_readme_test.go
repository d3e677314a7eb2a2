package report

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeFunnelExpansion checks that the two-step per_visitor CTE that
// sql/README.md shows ("per_visitor reads as follows") is the one funnel.sql
// renders, comments and layout aside, so that the page cannot fall behind
// the query again.
func TestReadmeFunnelExpansion(t *testing.T) {
	readme, err := os.ReadFile("../sql/README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	at := strings.Index(text, "`per_visitor` reads as\nfollows.")
	if at < 0 {
		t.Fatal(`sql/README.md has no "per_visitor reads as follows"`)
	}
	start := strings.Index(text[at:], "```sql\n")
	if start < 0 {
		t.Fatal("sql/README.md: no sql block after the funnel's expansion")
	}
	block := text[at+start+len("```sql\n"):]
	end := strings.Index(block, "```")
	if end < 0 {
		t.Fatal("sql/README.md: the funnel's sql block is not closed")
	}
	shown := normalizeSQL(block[:end])

	rendered, err := funnelSQLBy(2, ByVisitor)
	if err != nil {
		t.Fatal(err)
	}
	from := strings.Index(rendered, "WITH\n")
	to := strings.Index(rendered, "chain_key_1 AS") // the CTE after per_visitor
	if from < 0 || to < from {
		t.Fatal("funnel.sql: no WITH ... chain_key_1")
	}
	want := normalizeSQL(rendered[from:to])
	if shown != want {
		t.Errorf("sql/README.md's per_visitor is not funnel.sql's for two steps:\nREADME:   %s\nrendered: %s", shown, want)
	}
}

var (
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	sqlSpace   = regexp.MustCompile(`\s+`)
)

// normalizeSQL drops comments and collapses white space, also next to
// parentheses.
func normalizeSQL(s string) string {
	s = sqlComment.ReplaceAllString(s, "")
	s = sqlSpace.ReplaceAllString(s, " ")
	s = strings.NewReplacer("( ", "(", " )", ")").Replace(s)
	return strings.TrimSpace(s)
}
