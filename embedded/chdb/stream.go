package chdb

import (
	"io"
	"runtime"
	"unsafe"
)

// Stream reads a SELECT-family statement's output chunk by chunk. It holds
// its connection until Close. Not safe for concurrent use.
type Stream struct {
	c       *Conn
	res     unsafe.Pointer // the streaming handle
	chunk   unsafe.Pointer // the last fetched chunk, freed on the next Next or Close
	first   []byte         // the chunk StreamQuery fetched, not yet returned by Next
	pending bool           // Next has not returned what StreamQuery fetched yet
	done    bool
	Stats   Stats // totals so far, summed over fetched chunks
}

// StreamQuery starts a streaming query. Errors the engine finds before the
// first row (syntax, unknown table) are returned here.
func (c *Conn) StreamQuery(sql, format string, params ...Param) (*Stream, error) {
	if err := c.acquire(); err != nil {
		return nil, err
	}
	q, ql := cstring(sql)
	f, fl := cstring(format)
	var res unsafe.Pointer
	if len(params) == 0 {
		res = lib.streamQueryN(c.conn(), q, ql, f, fl)
	} else {
		n, nl, v, vl, keep := cparams(params)
		res = lib.streamQueryWithParamsN(c.conn(), q, ql, f, fl, n, nl, v, vl, uintptr(len(params)))
		runtime.KeepAlive(keep)
	}
	runtime.KeepAlive(sql)
	runtime.KeepAlive(format)
	if res == nil {
		c.mu.Unlock()
		return nil, Errorf(1000, "STD_EXCEPTION", "chdb_stream_query_n returned no result")
	}
	if msg := lib.resultError(res); msg != nil {
		err := parseError(goString(msg))
		lib.destroyQueryResult(res)
		c.mu.Unlock()
		return nil, err
	}
	c.busy = true
	c.mu.Unlock()
	// The engine reports some errors (unknown table, unknown function) only
	// with the first chunk: fetch it now so that they are returned here.
	s := &Stream{c: c, res: res}
	first, err := s.fetch()
	if err != nil && err != io.EOF {
		s.Close()
		return nil, err
	}
	s.first, s.pending = first, true
	return s, nil
}

// Next returns the next chunk of output, valid until the next call to Next
// or Close, and io.EOF after the last one.
func (s *Stream) Next() ([]byte, error) {
	if s.res == nil {
		return nil, ErrClosed
	}
	if s.pending {
		s.pending = false
		if s.first != nil {
			b := s.first
			s.first = nil
			return b, nil
		}
	}
	s.freeChunk()
	if s.done {
		return nil, io.EOF
	}
	return s.fetch()
}

// fetch reads the next non-empty chunk, keeping it in s.chunk.
func (s *Stream) fetch() ([]byte, error) {
	for {
		r := lib.streamFetchResult(s.c.conn(), s.res)
		if r == nil {
			s.done = true
			return nil, Errorf(1000, "STD_EXCEPTION", "chdb_stream_fetch_result returned no result")
		}
		if msg := lib.resultError(r); msg != nil {
			err := parseError(goString(msg))
			lib.destroyQueryResult(r)
			s.done = true
			return nil, err
		}
		st := statsOf(r)
		s.Stats.Elapsed += st.Elapsed
		s.Stats.RowsRead += st.RowsRead
		s.Stats.BytesRead += st.BytesRead
		s.Stats.StorageRowsRead += st.StorageRowsRead
		s.Stats.StorageBytesRead += st.StorageBytesRead
		n := lib.resultLength(r)
		if n == 0 {
			lib.destroyQueryResult(r)
			if st.RowsRead == 0 {
				s.done = true
				return nil, io.EOF
			}
			continue
		}
		s.chunk = r
		return unsafe.Slice((*byte)(lib.resultBuffer(r)), n), nil
	}
}

func (s *Stream) freeChunk() {
	if s.chunk != nil {
		lib.destroyQueryResult(s.chunk)
		s.chunk = nil
	}
}

// Close cancels the query if it is still running and releases the connection.
func (s *Stream) Close() error {
	if s.res == nil {
		return nil
	}
	s.freeChunk()
	s.first, s.pending = nil, false
	if !s.done {
		lib.streamCancelQuery(s.c.conn(), s.res)
	}
	lib.destroyQueryResult(s.res)
	s.res = nil
	s.c.release()
	return nil
}

// Insert streams data into an INSERT statement. It holds its connection until
// Done or Cancel. Not safe for concurrent use.
type Insert struct {
	c      *Conn
	handle unsafe.Pointer
}

// StreamInsert begins an INSERT. sql is the statement without FORMAT clause
// or data, e.g. "INSERT INTO t (a, b)"; format names the data's format.
func (c *Conn) StreamInsert(sql, format string, params ...Param) (*Insert, error) {
	if err := c.acquire(); err != nil {
		return nil, err
	}
	q, ql := cstring(sql)
	f, fl := cstring(format)
	var h unsafe.Pointer
	if len(params) == 0 {
		h = lib.streamInsertN(c.conn(), q, ql, f, fl)
	} else {
		n, nl, v, vl, keep := cparams(params)
		h = lib.streamInsertWithParamsN(c.conn(), q, ql, f, fl, n, nl, v, vl, uintptr(len(params)))
		runtime.KeepAlive(keep)
	}
	runtime.KeepAlive(sql)
	runtime.KeepAlive(format)
	if h == nil {
		c.mu.Unlock()
		return nil, Errorf(1000, "STD_EXCEPTION", "chdb_stream_insert_n returned no handle")
	}
	if msg := lib.streamInsertError(h); msg != nil {
		err := parseError(goString(msg))
		lib.destroyInsertStream(h)
		c.mu.Unlock()
		return nil, err
	}
	c.busy = true
	c.mu.Unlock()
	return &Insert{c: c, handle: h}, nil
}

// Append pushes one chunk of data; the engine copies it.
func (in *Insert) Append(data []byte) error {
	if in.handle == nil {
		return ErrClosed
	}
	p, n := cbytes(data)
	rc := lib.streamAppend(in.handle, p, n)
	runtime.KeepAlive(data)
	if rc != 0 {
		return in.err("chdb_stream_append failed")
	}
	return nil
}

func (in *Insert) err(fallback string) error {
	if msg := lib.streamInsertError(in.handle); msg != nil {
		return parseError(goString(msg))
	}
	return Errorf(1000, "STD_EXCEPTION", "%s", fallback)
}

// Done commits the insert and returns what it wrote.
func (in *Insert) Done() (Stats, error) {
	if in.handle == nil {
		return Stats{}, ErrClosed
	}
	defer in.release()
	r := lib.streamDone(in.handle)
	if r == nil {
		return Stats{}, in.err("chdb_stream_done returned no result")
	}
	defer lib.destroyQueryResult(r)
	if msg := lib.resultError(r); msg != nil {
		return Stats{}, parseError(goString(msg))
	}
	return statsOf(r), nil
}

// Cancel aborts the insert without committing. Safe after Done.
func (in *Insert) Cancel() {
	if in.handle == nil {
		return
	}
	lib.streamCancelInsert(in.handle)
	in.release()
}

func (in *Insert) release() {
	lib.destroyInsertStream(in.handle)
	in.handle = nil
	in.c.release()
}
