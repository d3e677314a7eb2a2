package clickhouse

import (
	"errors"
	"net/http"

	"github.com/touchstream/touchstream/embedded/chdb"
)

// ClickHouse error codes this package raises itself.
const (
	codeBadArguments      = 36
	codeNotImplemented    = 48
	codeSyntaxError       = 62
	codeUnknownCompress   = 89
	codeReadonly          = 164
	codeUnknownUser       = 192
	codeWrongPassword     = 193
	codeRequiredPassword  = 194
	codeQueryTooLarge     = 229
	codeCannotDecompress  = 271
	codeSessionNotFound   = 372
	codeSessionIsLocked   = 373
	codeInvalidSessionTTL = 374
	codeTimeoutExceeded   = 159
	codeAuthFailed        = 516
)

// statusByName is ClickHouse's exceptionCodeToHTTPStatus, keyed by error name.
var statusByName = map[string]int{
	"REQUIRED_PASSWORD": http.StatusUnauthorized,

	"UNKNOWN_USER": http.StatusForbidden, "WRONG_PASSWORD": http.StatusForbidden,
	"AUTHENTICATION_FAILED": http.StatusForbidden, "SET_NON_GRANTED_ROLE": http.StatusForbidden,
	"ACCESS_DENIED": http.StatusForbidden,

	"BAD_ARGUMENTS": http.StatusBadRequest, "CANNOT_COMPILE_REGEXP": http.StatusBadRequest,
	"CANNOT_PARSE_TEXT": http.StatusBadRequest, "CANNOT_PARSE_ESCAPE_SEQUENCE": http.StatusBadRequest,
	"CANNOT_PARSE_QUOTED_STRING": http.StatusBadRequest, "CANNOT_PARSE_DATE": http.StatusBadRequest,
	"CANNOT_PARSE_DATETIME": http.StatusBadRequest, "CANNOT_PARSE_NUMBER": http.StatusBadRequest,
	"CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING": http.StatusBadRequest, "CANNOT_PARSE_IPV4": http.StatusBadRequest,
	"CANNOT_PARSE_IPV6": http.StatusBadRequest, "CANNOT_PARSE_INPUT_ASSERTION_FAILED": http.StatusBadRequest,
	"CANNOT_PARSE_UUID": http.StatusBadRequest, "DUPLICATE_COLUMN": http.StatusBadRequest,
	"ILLEGAL_COLUMN": http.StatusBadRequest, "UNKNOWN_ELEMENT_IN_AST": http.StatusBadRequest,
	"UNKNOWN_TYPE_OF_AST_NODE": http.StatusBadRequest, "THERE_IS_NO_COLUMN": http.StatusBadRequest,
	"TOO_DEEP_AST": http.StatusBadRequest, "TOO_BIG_AST": http.StatusBadRequest,
	"UNEXPECTED_AST_STRUCTURE": http.StatusBadRequest, "SYNTAX_ERROR": http.StatusBadRequest,
	"INCORRECT_DATA": http.StatusBadRequest, "TYPE_MISMATCH": http.StatusBadRequest,
	"VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE": http.StatusBadRequest,

	"UNKNOWN_TABLE": http.StatusNotFound, "UNKNOWN_FUNCTION": http.StatusNotFound,
	"UNKNOWN_IDENTIFIER": http.StatusNotFound, "UNKNOWN_TYPE": http.StatusNotFound,
	"UNKNOWN_STORAGE": http.StatusNotFound, "UNKNOWN_DATABASE": http.StatusNotFound,
	"UNKNOWN_SETTING": http.StatusNotFound, "UNKNOWN_DIRECTION_OF_SORTING": http.StatusNotFound,
	"UNKNOWN_AGGREGATE_FUNCTION": http.StatusNotFound, "UNKNOWN_FORMAT": http.StatusNotFound,
	"UNKNOWN_DATABASE_ENGINE": http.StatusNotFound, "UNKNOWN_TYPE_OF_QUERY": http.StatusNotFound,
	"UNKNOWN_ROLE": http.StatusNotFound,

	"QUERY_IS_TOO_LARGE":     http.StatusRequestEntityTooLarge,
	"NOT_IMPLEMENTED":        http.StatusNotImplemented,
	"SOCKET_TIMEOUT":         http.StatusServiceUnavailable,
	"CANNOT_OPEN_FILE":       http.StatusServiceUnavailable,
	"CANNOT_SCHEDULE_TASK":   http.StatusServiceUnavailable,
	"UNSUPPORTED_MEDIA_TYPE": http.StatusUnsupportedMediaType,
	"HTTP_LENGTH_REQUIRED":   http.StatusLengthRequired,
	"TIMEOUT_EXCEEDED":       http.StatusRequestTimeout,
}

// httpStatus maps an engine error to the status ClickHouse would answer with.
func httpStatus(e *chdb.Error) int {
	if s, ok := statusByName[e.Name]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// asCHError converts any error into a ClickHouse-style *chdb.Error.
func asCHError(err error) *chdb.Error {
	var e *chdb.Error
	if errors.As(err, &e) {
		return e
	}
	return chdb.Errorf(1000, "STD_EXCEPTION", "%s", err.Error())
}
