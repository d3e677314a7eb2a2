package clickhouse

import (
	"encoding/binary"
	"regexp"
)

// helloRE matches clickhouse-go's HTTP handshake query.
var helloRE = regexp.MustCompile(`(?i)^\s*SELECT\s+displayName\(\)\s*,\s*version\(\)\s*,\s*revision\(\)\s*,\s*timezone\(\)\s*;?\s*$`)

// Native protocol revisions that change the block encoding.
const (
	revisionWithBlockInfo           = 51903
	revisionWithCustomSerialization = 54454
)

// encodeHello encodes the handshake answer as one Native block at the
// client's revision, with revision() = 0 so that the client decodes every
// later block as revision 0, which is what the engine writes.
func encodeHello(clientRevision int, displayName, version, timezone string) []byte {
	var b []byte
	if clientRevision >= revisionWithBlockInfo {
		// BlockInfo: field 1 is_overflows=false, field 2 bucket_num=-1, end.
		b = append(b, 1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0)
	}
	b = binary.AppendUvarint(b, 4) // columns
	b = binary.AppendUvarint(b, 1) // rows
	column := func(name, typ string, data []byte) {
		b = appendString(b, name)
		b = appendString(b, typ)
		if clientRevision >= revisionWithCustomSerialization {
			b = append(b, 0) // no custom serialization
		}
		b = append(b, data...)
	}
	column("displayName()", "String", appendString(nil, displayName))
	column("version()", "String", appendString(nil, version))
	column("revision()", "UInt32", []byte{0, 0, 0, 0})
	column("timezone()", "String", appendString(nil, timezone))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
