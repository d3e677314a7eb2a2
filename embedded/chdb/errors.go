package chdb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Error is an exception raised by the engine, or by this binding on its behalf.
type Error struct {
	Code    int    // ClickHouse error code, e.g. 60
	Name    string // ClickHouse error name, e.g. UNKNOWN_TABLE ("" if unknown)
	Message string // the whole message as ClickHouse prints it: "Code: 60. DB::Exception: ... (UNKNOWN_TABLE)"
}

func (e *Error) Error() string { return e.Message }

var (
	codeRE = regexp.MustCompile(`^Code: (\d+)\.`)
	nameRE = regexp.MustCompile(`\(([A-Z][A-Z0-9_]+)\)(?:\s*\(version [^)]*\))?\s*$`)
)

// parseError turns an engine message into an *Error. Messages without a
// "Code: N." prefix (binding-level failures) get code 1000 (STD_EXCEPTION)
// unless they name a code themselves.
func parseError(msg string) *Error {
	msg = strings.TrimRight(msg, "\n")
	e := &Error{Code: 1000, Name: "STD_EXCEPTION", Message: msg}
	if m := codeRE.FindStringSubmatch(msg); m != nil {
		e.Code, _ = strconv.Atoi(m[1])
		e.Name = ""
	} else {
		e.Message = fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", e.Code, msg, e.Name)
	}
	if m := nameRE.FindStringSubmatch(msg); m != nil {
		e.Name = m[1]
	}
	return e
}

// Errorf makes an *Error with the given code and name, formatted the way
// ClickHouse formats its own exceptions.
func Errorf(code int, name, format string, args ...any) *Error {
	return &Error{
		Code:    code,
		Name:    name,
		Message: fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", code, fmt.Sprintf(format, args...), name),
	}
}
