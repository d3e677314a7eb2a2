package collector

// MaxJSONDepth is the deepest nesting of objects and arrays the collector
// reads; a body nested deeper is refused with 400 (reason too_deep) before
// it is decoded, so a hostile body cannot make the decoder recurse deeply.
const MaxJSONDepth = 64

// tooDeep reports whether the JSON text b nests objects and arrays more than
// max levels deep. It only counts brackets outside strings, which it skips
// with stringEnd (segment.go) as decodeSegment's readers do; it does not
// validate (decodeSegment does that afterwards).
func tooDeep(b []byte, max int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			end := stringEnd(b, i) // see segment.go
			if end < 0 {
				return false
			}
			i = end - 1
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
