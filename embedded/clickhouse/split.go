package clickhouse

import (
	"bytes"
	"io"

	"github.com/touchstream/touchstream/embedded/chdb"
)

// insertSplit describes an INSERT whose data follows the statement text.
type insertSplit struct {
	Statement string // the INSERT without FORMAT clause or data, e.g. "INSERT INTO t (a, b)"
	Format    string // the data's input format ("Values" for VALUES)
	DataStart int    // offset in the scanned text where the data begins
}

// splitInsert reports whether sql starts an INSERT that carries inline data
// (INSERT ... FORMAT name <data> or INSERT ... VALUES <data>) and, if so,
// where the statement ends and the data begins. INSERT ... SELECT is not
// such an insert. complete is false when the text ends before the statement
// does (more bytes are needed to decide).
//
// Data begins after the format name, after spaces and tabs and at most one
// line break, as in ClickHouse's parser; for VALUES it begins right after the
// keyword.
func splitInsert(sql []byte) (s insertSplit, isInsert, complete bool) {
	sc := scanner{b: sql}
	sc.skipSpace()
	if sc.i == len(sc.b) {
		return s, false, !sc.cut // only space and comments
	}
	if !sc.keyword("INSERT") {
		rest := sc.b[sc.i:]
		prefix := len(rest) < len("INSERT") && bytes.EqualFold(rest, []byte("INSERT")[:len(rest)])
		return s, false, !prefix
	}
	sc.skipSpace()
	if sc.keyword("INTO") {
		sc.skipSpace()
	}
	if sc.keyword("TABLE") {
		sc.skipSpace()
	}
	if sc.keyword("FUNCTION") {
		sc.skipSpace()
		if !sc.skipName() {
			return s, true, sc.i < len(sc.b)
		}
		sc.skipSpace()
		if !sc.skipGroup() {
			return s, true, false
		}
	} else if !sc.skipName() {
		return s, true, sc.i < len(sc.b)
	}
	for {
		sc.skipSpace()
		if sc.i >= len(sc.b) {
			if sc.cut {
				return s, true, false
			}
			// INSERT INTO t [(cols)] with no FORMAT or VALUES: data in Values format.
			return insertSplit{Statement: string(bytes.TrimSpace(sql)), Format: "Values", DataStart: len(sql)}, true, true
		}
		start := sc.i
		switch {
		case sc.b[sc.i] == '(':
			if !sc.skipGroup() {
				return s, true, false
			}
		case sc.keyword("FORMAT"):
			sc.skipSpace()
			fs := sc.i
			if !sc.skipIdent() {
				return s, true, sc.i < len(sc.b)
			}
			format := string(sc.b[fs:sc.i])
			if sc.i == len(sc.b) {
				return s, true, false // the name may go on
			}
			for sc.i < len(sc.b) && (sc.b[sc.i] == ' ' || sc.b[sc.i] == '\t') {
				sc.i++
			}
			if sc.i < len(sc.b) && sc.b[sc.i] == '\r' {
				sc.i++
			}
			if sc.i < len(sc.b) && sc.b[sc.i] == '\n' {
				sc.i++
			}
			return insertSplit{Statement: string(bytes.TrimSpace(sql[:start])), Format: format, DataStart: sc.i}, true, true
		case sc.keyword("VALUES"):
			return insertSplit{Statement: string(bytes.TrimSpace(sql[:start])), Format: "Values", DataStart: sc.i}, true, true
		case sc.keyword("SELECT"), sc.keyword("WITH"), sc.keyword("FROM"):
			return s, false, true // INSERT ... SELECT: an ordinary statement
		default:
			if !sc.skipToken() {
				return s, true, false
			}
		}
	}
}

// scanner walks SQL text token by token, skipping comments and literals.
type scanner struct {
	b   []byte
	i   int
	cut bool // the text ended inside a comment or quoted token
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			s.i++
		case c == '-' && s.i+1 < len(s.b) && s.b[s.i+1] == '-', c == '#' && s.i+1 < len(s.b) && (s.b[s.i+1] == ' ' || s.b[s.i+1] == '!'):
			for s.i < len(s.b) && s.b[s.i] != '\n' {
				s.i++
			}
		case c == '/' && s.i+1 < len(s.b) && s.b[s.i+1] == '*':
			end := bytes.Index(s.b[s.i+2:], []byte("*/"))
			if end < 0 {
				s.i = len(s.b)
				s.cut = true
				return
			}
			s.i += 2 + end + 2
		default:
			return
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// keyword consumes kw (case-insensitive) if it is the next whole word.
func (s *scanner) keyword(kw string) bool {
	end := s.i + len(kw)
	if end > len(s.b) || !bytes.EqualFold(s.b[s.i:end], []byte(kw)) {
		return false
	}
	if end < len(s.b) && isIdentChar(s.b[end]) {
		return false
	}
	s.i = end
	return true
}

// skipIdent consumes a bare or quoted identifier.
func (s *scanner) skipIdent() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '`' || c == '"':
		return s.skipQuoted(c)
	case isIdentStart(c):
		for s.i < len(s.b) && isIdentChar(s.b[s.i]) {
			s.i++
		}
		return true
	}
	return false
}

// skipName consumes a possibly qualified name: db.table, `db`.`t`.
func (s *scanner) skipName() bool {
	if !s.skipIdent() {
		return false
	}
	for s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.skipIdent() {
			return false
		}
	}
	return true
}

// skipQuoted consumes a literal or quoted identifier opened by q, honouring
// backslash escapes and doubled quotes.
func (s *scanner) skipQuoted(q byte) bool {
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '\\':
			s.i += 2
		case c == q && s.i+1 < len(s.b) && s.b[s.i+1] == q:
			s.i += 2
		case c == q:
			s.i++
			return true
		default:
			s.i++
		}
	}
	s.i = len(s.b)
	s.cut = true
	return false
}

// skipGroup consumes a parenthesised group with everything nested in it.
func (s *scanner) skipGroup() bool {
	if s.i >= len(s.b) || s.b[s.i] != '(' {
		return false
	}
	depth := 0
	for s.i < len(s.b) {
		s.skipSpace()
		if s.i >= len(s.b) {
			break
		}
		switch c := s.b[s.i]; c {
		case '(':
			depth++
			s.i++
		case ')':
			depth--
			s.i++
			if depth == 0 {
				return true
			}
		case '\'', '"', '`':
			if !s.skipQuoted(c) {
				return false
			}
		default:
			s.i++
		}
	}
	return false
}

// skipToken consumes one token of any kind.
func (s *scanner) skipToken() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '\'' || c == '"' || c == '`':
		return s.skipQuoted(c)
	case isIdentChar(c):
		for s.i < len(s.b) && isIdentChar(s.b[s.i]) {
			s.i++
		}
	default:
		s.i++
	}
	return true
}

// valuesGuard passes VALUES data through and fails when a statement follows
// it: "INSERT INTO t VALUES (1); DROP TABLE t" is refused as a
// multi-statement request instead of being cut at the semicolon.
type valuesGuard struct {
	r       io.Reader
	quote   byte // the open quote, 0 outside quotes
	escaped bool
	semi    bool // a top-level ';' was seen
	err     error
}

func (v *valuesGuard) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	for i, c := range p[:n] {
		switch {
		case v.escaped:
			v.escaped = false
		case v.quote != 0:
			if c == '\\' {
				v.escaped = true
			} else if c == v.quote {
				v.quote = 0
			}
		case v.semi:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				v.err = chdb.Errorf(codeSyntaxError, "SYNTAX_ERROR", "Syntax error (Multi-statements are not allowed): data follows ';' after VALUES")
				return i, v.err
			}
		case c == '\'' || c == '"' || c == '`':
			v.quote = c
		case c == ';':
			v.semi = true
		}
	}
	return n, err
}
