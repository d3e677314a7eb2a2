package chdb

import (
	"errors"
	"runtime"
	"sync"
	"unsafe"
)

// ErrClosed is returned by calls on a connection, stream or insert that was
// already closed.
var ErrClosed = errors.New("chdb: connection closed")

// Conn is one chDB connection (one ClickHouse session). It runs one statement
// at a time: its methods serialise on a mutex, and a Stream or Insert holds
// the connection until it is closed. Close may be called from any goroutine.
type Conn struct {
	mu      sync.Mutex
	handle  unsafe.Pointer // chdb_connection *
	busy    bool
	closing bool // Close was called while busy: close when the Stream or Insert ends
}

// Open connects to the engine with the given storage path (":memory:" or a
// directory). Extra arguments are passed as command-line options, e.g.
// "--max_threads=4" for a per-connection setting. The first Open in a process
// boots the engine on that path; a later Open with another path fails until
// every connection is closed.
func Open(path string, args ...string) (*Conn, error) {
	if err := Load(""); err != nil {
		return nil, err
	}
	argv := append([]string{"touchstream", "--path=" + path}, args...)
	cargs := make([][]byte, len(argv))
	ptrs := make([]unsafe.Pointer, len(argv)+1)
	for i, a := range argv {
		cargs[i] = append([]byte(a), 0)
		ptrs[i] = unsafe.Pointer(&cargs[i][0])
	}
	h := lib.connect(int32(len(argv)), unsafe.Pointer(&ptrs[0]))
	runtime.KeepAlive(cargs)
	runtime.KeepAlive(ptrs)
	if h == nil {
		return nil, Errorf(1000, "STD_EXCEPTION", "cannot open chDB at %q (is another process using it?)", path)
	}
	return &Conn{handle: h}, nil
}

// Close closes the connection. It waits for a statement in progress; while a
// Stream or Insert is open, the connection refuses new statements at once and
// closes when that Stream or Insert ends.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle == nil {
		return nil
	}
	if c.busy {
		c.closing = true
		return nil
	}
	lib.closeConn(c.handle)
	c.handle = nil
	return nil
}

// release ends a Stream's or Insert's hold on the connection, and finishes a
// Close that was called meanwhile.
func (c *Conn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = false
	if c.closing && c.handle != nil {
		lib.closeConn(c.handle)
		c.handle = nil
	}
}

// conn returns the chdb_connection value (the pointer chdb_connect returned points to it).
func (c *Conn) conn() unsafe.Pointer { return *(*unsafe.Pointer)(c.handle) }

func (c *Conn) acquire() error {
	c.mu.Lock()
	if c.handle == nil || c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.busy {
		c.mu.Unlock()
		return Errorf(373, "SESSION_IS_LOCKED", "connection is busy with a streaming statement")
	}
	return nil
}

// Stats describes what a statement read and wrote.
type Stats struct {
	Elapsed          float64 // seconds
	RowsRead         uint64  // rows in the result
	BytesRead        uint64
	StorageRowsRead  uint64 // rows read from tables
	StorageBytesRead uint64
	RowsWritten      uint64 // includes rows written by materialized views
	BytesWritten     uint64
}

func statsOf(res unsafe.Pointer) Stats {
	return Stats{
		Elapsed:          lib.resultElapsed(res),
		RowsRead:         lib.resultRowsRead(res),
		BytesRead:        lib.resultBytesRead(res),
		StorageRowsRead:  lib.resultStorageRowsRead(res),
		StorageBytesRead: lib.resultStorageBytesRead(res),
		RowsWritten:      lib.resultRowsWritten(res),
		BytesWritten:     lib.resultBytesWritten(res),
	}
}

// Result is the whole output of a statement, held in engine memory until Free.
type Result struct {
	res   unsafe.Pointer
	Stats Stats
}

// Bytes returns the output. It is valid until Free.
func (r *Result) Bytes() []byte {
	if r.res == nil {
		return nil
	}
	n := lib.resultLength(r.res)
	p := lib.resultBuffer(r.res)
	if n == 0 || p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

// Free releases the result's memory. Safe to call twice.
func (r *Result) Free() {
	if r.res != nil {
		lib.destroyQueryResult(r.res)
		r.res = nil
	}
}

// Query runs one statement and returns its whole output in the given format
// (e.g. "TabSeparated", "Native", "JSONEachRow"), with params bound to its
// {name:Type} placeholders.
func (c *Conn) Query(sql, format string, params ...Param) (*Result, error) {
	if err := c.acquire(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	q, ql := cstring(sql)
	f, fl := cstring(format)
	var res unsafe.Pointer
	if len(params) == 0 {
		res = lib.queryN(c.conn(), q, ql, f, fl)
	} else {
		n, nl, v, vl, keep := cparams(params)
		res = lib.queryWithParamsN(c.conn(), q, ql, f, fl, n, nl, v, vl, uintptr(len(params)))
		runtime.KeepAlive(keep)
	}
	runtime.KeepAlive(sql)
	runtime.KeepAlive(format)
	if res == nil {
		return nil, Errorf(1000, "STD_EXCEPTION", "chdb_query_n returned no result")
	}
	if msg := lib.resultError(res); msg != nil {
		err := parseError(goString(msg))
		lib.destroyQueryResult(res)
		return nil, err
	}
	return &Result{res: res, Stats: statsOf(res)}, nil
}

// Exec runs one statement and discards its output.
func (c *Conn) Exec(sql string) error {
	r, err := c.Query(sql, "TabSeparated")
	if err != nil {
		return err
	}
	r.Free()
	return nil
}

// QueryClass says what a statement does to state that outlives it.
type QueryClass uint32

// Classes reported by Classify, in ascending order of restriction.
const (
	ReadOnly       QueryClass = 0 // SELECT, SHOW, DESCRIBE, EXPLAIN, EXISTS, CHECK
	Mutating       QueryClass = 1 // INSERT, CREATE, ALTER, DROP, ...
	MutatingGlobal QueryClass = 2 // UDFs, users, named collections, writes to system
	Control        QueryClass = 3 // USE, SET, SYSTEM, KILL, INTO OUTFILE, INSERT INTO FUNCTION, ...
	Unknown        QueryClass = 4 // did not parse
)

// Analysis is what Classify found in a piece of SQL.
type Analysis struct {
	Statements int        // executable statements; 0 when it did not parse
	Class      QueryClass // the most restricted class over all statements
	HasSecrets bool       // the text carries a credential
}

type analysisV1 struct {
	structSize     uint32
	statementCount uint32
	flags          uint32
	queryClass     uint32
}

// Classify parses sql with the engine's parser, without running it.
func (c *Conn) Classify(sql string) (Analysis, error) {
	if err := c.acquire(); err != nil {
		return Analysis{}, err
	}
	defer c.mu.Unlock()
	out := &analysisV1{structSize: uint32(unsafe.Sizeof(analysisV1{}))}
	q, ql := cstring(sql)
	rc := lib.classifyQueryN(c.conn(), q, ql, nil, 0, unsafe.Pointer(out))
	runtime.KeepAlive(sql)
	if rc != 0 {
		return Analysis{}, Errorf(1000, "STD_EXCEPTION", "chdb_classify_query_n failed")
	}
	return Analysis{Statements: int(out.statementCount), Class: QueryClass(out.queryClass), HasSecrets: out.flags&1 != 0}, nil
}

// Shutdown stops the engine's threads after every connection is closed. The
// engine cannot be used again in this process.
func Shutdown() error {
	if err := Load(""); err != nil {
		return err
	}
	if lib.shutdown() != 0 {
		return Errorf(1000, "STD_EXCEPTION", "chdb_shutdown failed: a connection is still open or an engine thread could not be stopped")
	}
	return nil
}
