package collector

// MaxJSONDepth is the deepest nesting of objects and arrays the collector
// reads; a body nested deeper is refused with 400 (reason too_deep) before
// it is decoded, so a hostile body cannot make the decoder recurse deeply.
const MaxJSONDepth = 64

// tooDeep reports whether the JSON text b nests objects and arrays more than
// max levels deep. It only counts brackets outside strings; it does not
// validate (the decoder does that afterwards).
func tooDeep(b []byte, max int) bool {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}
