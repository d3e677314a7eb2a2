package chdb

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The C functions used, bound once per process by load. Handles are opaque
// pointers owned by libchdb.
var lib struct {
	setSignalHandlersEnabled func(enabled int32)
	connect                  func(argc int32, argv unsafe.Pointer) unsafe.Pointer
	closeConn                func(conn unsafe.Pointer)
	queryN                   func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr) unsafe.Pointer
	streamQueryN             func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr) unsafe.Pointer
	streamFetchResult        func(conn unsafe.Pointer, res unsafe.Pointer) unsafe.Pointer
	streamCancelQuery        func(conn unsafe.Pointer, res unsafe.Pointer)
	destroyQueryResult       func(res unsafe.Pointer)
	resultBuffer             func(res unsafe.Pointer) unsafe.Pointer
	resultLength             func(res unsafe.Pointer) uintptr
	resultElapsed            func(res unsafe.Pointer) float64
	resultRowsRead           func(res unsafe.Pointer) uint64
	resultBytesRead          func(res unsafe.Pointer) uint64
	resultStorageRowsRead    func(res unsafe.Pointer) uint64
	resultStorageBytesRead   func(res unsafe.Pointer) uint64
	resultRowsWritten        func(res unsafe.Pointer) uint64
	resultBytesWritten       func(res unsafe.Pointer) uint64
	resultError              func(res unsafe.Pointer) *byte
	streamInsertN            func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr) unsafe.Pointer
	queryWithParamsN         func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr, names, nameLens, values, valueLens unsafe.Pointer, n uintptr) unsafe.Pointer
	streamQueryWithParamsN   func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr, names, nameLens, values, valueLens unsafe.Pointer, n uintptr) unsafe.Pointer
	streamInsertWithParamsN  func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr, names, nameLens, values, valueLens unsafe.Pointer, n uintptr) unsafe.Pointer
	streamAppend             func(s unsafe.Pointer, data unsafe.Pointer, n uintptr) int32
	streamDone               func(s unsafe.Pointer) unsafe.Pointer
	streamCancelInsert       func(s unsafe.Pointer)
	streamInsertError        func(s unsafe.Pointer) *byte
	destroyInsertStream      func(s unsafe.Pointer)
	classifyQueryN           func(conn unsafe.Pointer, sql unsafe.Pointer, n uintptr, db unsafe.Pointer, dblen uintptr, out unsafe.Pointer) int32
	shutdown                 func() int32
	version                  func() *byte
}

var (
	loadOnce sync.Once
	loadErr  error
	loadPath string
)

// Load opens libchdb.so from path ("" means LibraryPath()) and binds its
// functions. It runs once per process; later calls return the first result.
// Signal handlers are disabled before anything else, so that ClickHouse never
// replaces Go's own crash handlers.
func Load(path string) error {
	loadOnce.Do(func() {
		if path == "" {
			path, loadErr = LibraryPath()
			if loadErr != nil {
				return
			}
		}
		loadPath = path
		loadErr = bind(path)
	})
	return loadErr
}

func bind(path string) (err error) {
	defer func() {
		// purego panics when a symbol is missing; report it as an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("bind libchdb %s: %v", path, r)
		}
	}()
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return fmt.Errorf("load libchdb %s: %w", path, err)
	}
	for name, fn := range map[string]any{
		"chdb_set_signal_handlers_enabled": &lib.setSignalHandlersEnabled,
		"chdb_connect":                     &lib.connect,
		"chdb_close_conn":                  &lib.closeConn,
		"chdb_query_n":                     &lib.queryN,
		"chdb_stream_query_n":              &lib.streamQueryN,
		"chdb_stream_fetch_result":         &lib.streamFetchResult,
		"chdb_stream_cancel_query":         &lib.streamCancelQuery,
		"chdb_destroy_query_result":        &lib.destroyQueryResult,
		"chdb_result_buffer":               &lib.resultBuffer,
		"chdb_result_length":               &lib.resultLength,
		"chdb_result_elapsed":              &lib.resultElapsed,
		"chdb_result_rows_read":            &lib.resultRowsRead,
		"chdb_result_bytes_read":           &lib.resultBytesRead,
		"chdb_result_storage_rows_read":    &lib.resultStorageRowsRead,
		"chdb_result_storage_bytes_read":   &lib.resultStorageBytesRead,
		"chdb_result_rows_written":         &lib.resultRowsWritten,
		"chdb_result_bytes_written":        &lib.resultBytesWritten,
		"chdb_result_error":                &lib.resultError,
		"chdb_stream_insert_n":             &lib.streamInsertN,
		"chdb_query_with_params_n":         &lib.queryWithParamsN,
		"chdb_stream_query_with_params_n":  &lib.streamQueryWithParamsN,
		"chdb_stream_insert_with_params_n": &lib.streamInsertWithParamsN,
		"chdb_stream_append":               &lib.streamAppend,
		"chdb_stream_done":                 &lib.streamDone,
		"chdb_stream_cancel_insert":        &lib.streamCancelInsert,
		"chdb_stream_insert_error":         &lib.streamInsertError,
		"chdb_destroy_insert_stream":       &lib.destroyInsertStream,
		"chdb_classify_query_n":            &lib.classifyQueryN,
		"chdb_shutdown":                    &lib.shutdown,
		"chdb_version":                     &lib.version,
	} {
		purego.RegisterLibFunc(fn, h, name)
	}
	lib.setSignalHandlersEnabled(0)
	return nil
}

// LibraryVersion returns the loaded engine's version string.
func LibraryVersion() (string, error) {
	if err := Load(""); err != nil {
		return "", err
	}
	return goString(lib.version()), nil
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}

// cbytes returns a pointer to b's data and its length, for a call that only
// reads it during the call.
func cbytes(b []byte) (unsafe.Pointer, uintptr) {
	if len(b) == 0 {
		return unsafe.Pointer(&zero), 0
	}
	return unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b))
}

func cstring(s string) (unsafe.Pointer, uintptr) {
	if len(s) == 0 {
		return unsafe.Pointer(&zero), 0
	}
	return unsafe.Pointer(unsafe.StringData(s)), uintptr(len(s))
}

var zero byte

// Param is a query parameter bound to a {name:Type} placeholder by the
// engine; values are never spliced into the SQL text.
type Param struct {
	Name, Value string
}

// cparams lays out params as the four parallel arrays the *_with_params_n
// functions take. The returned keep value must stay alive during the call.
func cparams(params []Param) (names, nameLens, values, valueLens unsafe.Pointer, keep any) {
	np := make([]unsafe.Pointer, len(params))
	nl := make([]uintptr, len(params))
	vp := make([]unsafe.Pointer, len(params))
	vl := make([]uintptr, len(params))
	for i, p := range params {
		np[i], nl[i] = cstring(p.Name)
		vp[i], vl[i] = cstring(p.Value)
	}
	return unsafe.Pointer(&np[0]), unsafe.Pointer(&nl[0]), unsafe.Pointer(&vp[0]), unsafe.Pointer(&vl[0]), []any{np, nl, vp, vl, params}
}
