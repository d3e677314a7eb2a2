package clickhouse

import (
	"errors"
	"net/http"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// PermanentError is a write that will fail the same way however often it is
// retried: a schema, type or syntax error, an unknown database, table or
// column, a refused login, or any other 4xx answer. Check for it with
// errors.As. Every other error from this package is retryable (the network,
// timeouts, 5xx answers, a server that is starting or overloaded), and
// retrying with the same deduplication token is safe.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports true, so that callers can recognise the error through
// errors.As with interface{ Permanent() bool } without importing this
// package.
func (e *PermanentError) Permanent() bool { return true }

// IsPermanent reports whether err is, or wraps, a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// permanentCodes are ClickHouse error codes that no retry cures: the
// request or its data does not fit the schema, or the user may not run it.
var permanentCodes = map[int32]bool{
	6:   true, // CANNOT_PARSE_TEXT
	8:   true, // THERE_IS_NO_COLUMN
	10:  true, // NOT_FOUND_COLUMN_IN_BLOCK
	16:  true, // NO_SUCH_COLUMN_IN_TABLE
	20:  true, // NUMBER_OF_COLUMNS_DOESNT_MATCH
	26:  true, // CANNOT_PARSE_QUOTED_STRING
	27:  true, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	36:  true, // BAD_ARGUMENTS
	38:  true, // CANNOT_PARSE_DATE
	41:  true, // CANNOT_PARSE_DATETIME
	43:  true, // ILLEGAL_TYPE_OF_ARGUMENT
	44:  true, // ILLEGAL_COLUMN
	46:  true, // UNKNOWN_FUNCTION
	47:  true, // UNKNOWN_IDENTIFIER
	48:  true, // NOT_IMPLEMENTED
	50:  true, // UNKNOWN_TYPE
	53:  true, // TYPE_MISMATCH
	60:  true, // UNKNOWN_TABLE
	62:  true, // SYNTAX_ERROR
	69:  true, // ARGUMENT_OUT_OF_BOUND
	70:  true, // CANNOT_CONVERT_TYPE
	72:  true, // CANNOT_PARSE_NUMBER
	81:  true, // UNKNOWN_DATABASE
	115: true, // UNKNOWN_SETTING
	117: true, // INCORRECT_DATA
	164: true, // READONLY
	192: true, // UNKNOWN_USER
	193: true, // WRONG_PASSWORD
	194: true, // REQUIRED_PASSWORD
	195: true, // IP_ADDRESS_NOT_ALLOWED
	352: true, // AMBIGUOUS_COLUMN_NAME
	386: true, // NO_COMMON_TYPE
	497: true, // ACCESS_DENIED
	516: true, // AUTHENTICATION_FAILED
}

// classify wraps err in a *PermanentError when retrying cannot help and
// returns it unchanged otherwise. Over HTTP the status decides (4xx other
// than 408 and 429 is permanent; 5xx is retryable unless the server's error
// code is a schema or type error); over the native protocol the error code
// does; client-side conversion errors (a value that does not fit its column)
// are permanent. When unsure it answers retryable: a stuck retry is visible
// and loses nothing, a dropped batch loses data.
func classify(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	var httpErr *ch.HTTPError
	if errors.As(err, &httpErr) {
		switch s := httpErr.StatusCode; {
		case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests:
			return err
		case s >= 400 && s < 500:
			return &PermanentError{Err: err}
		}
	}
	var exc *ch.Exception
	if errors.As(err, &exc) && permanentCodes[exc.Code] {
		return &PermanentError{Err: err}
	}
	if isClientSideDataError(err) {
		return &PermanentError{Err: err}
	}
	return err
}

// isClientSideDataError reports whether err is clickhouse-go refusing data
// before sending it: a value that does not convert to its column's type, an
// unsupported column type, a bad column index. *ch.OpError, which carries
// most of them, does not unwrap, so it is opened here.
func isClientSideDataError(err error) bool {
	var opErr *ch.OpError
	if errors.As(err, &opErr) {
		if opErr.Op == "batch.Column" {
			return true
		}
		err = opErr.Err
	}
	var (
		convErr   *column.ColumnConverterError
		typeErr   *column.UnsupportedColumnTypeError
		columnErr *column.Error
	)
	return errors.As(err, &convErr) || errors.As(err, &typeErr) || errors.As(err, &columnErr) ||
		errors.Is(err, ch.ErrBatchInvalid)
}
