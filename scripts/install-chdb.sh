#!/bin/sh
# install-chdb.sh: fetch libchdb.so (the ClickHouse engine as a shared library)
# from the npm registry into a cache outside the repository.
#
# Idempotent: when the library is already in place it prints nothing and exits 0.
# TOUCHSTREAM_CHDB_LIB names a library to use instead (then nothing is fetched).
# TOUCHSTREAM_CACHE_DIR overrides the cache root (default ~/.cache/touchstream).
# Keep the version, integrity and cache layout in step with embedded/chdb/locate.go.
set -eu

PKG="@chdb/lib-linux-x64-gnu"
VERSION="26.7.3-stable.1"
SHORT="26.7.3"
INTEGRITY="sha512-XP97mMqnc5tZpKQywR8N7cLTsHNiTmHr30pC5mzo3jWmukjKn2IBa60c2B/gWUNcuFjOMjWoorQICCqBVj5wpw=="

fail() { echo "install-chdb: error: $*" >&2; exit 1; }

if [ -n "${TOUCHSTREAM_CHDB_LIB:-}" ]; then
	[ -f "$TOUCHSTREAM_CHDB_LIB" ] || fail "TOUCHSTREAM_CHDB_LIB=$TOUCHSTREAM_CHDB_LIB does not exist"
	exit 0
fi

cache="${TOUCHSTREAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/touchstream}"
dir="$cache/chdb/$SHORT"
lib="$dir/libchdb.so"
[ -f "$dir/.verified" ] && [ -f "$lib" ] && exit 0

case "$(uname -s)-$(uname -m)" in
	Linux-x86_64) ;;
	*) fail "libchdb from $PKG is built for Linux x86_64 only, this is $(uname -s)-$(uname -m); set TOUCHSTREAM_CHDB_LIB to a libchdb.so for this platform" ;;
esac
command -v npm >/dev/null 2>&1 || fail "npm is not installed; it is needed once to fetch $PKG@$VERSION from the npm registry (install Node.js + npm, e.g. apt-get install npm)"
command -v node >/dev/null 2>&1 || fail "node is not installed (needed to verify the download)"

mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.download.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "install-chdb: fetching $PKG@$VERSION (about 178 MB) from the npm registry into $dir" >&2
npm pack --silent --pack-destination "$tmp" "$PKG@$VERSION" >/dev/null 2>"$tmp/npm.err" ||
	fail "npm pack $PKG@$VERSION failed: $(tail -n 5 "$tmp/npm.err")"
tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)
[ -n "$tgz" ] || fail "npm pack produced no tarball"

got=$(node -e '
const c = require("crypto"), fs = require("fs");
const h = c.createHash("sha512");
const fd = fs.openSync(process.argv[1], "r"), buf = Buffer.alloc(1 << 20);
let n;
while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
process.stdout.write("sha512-" + h.digest("base64"));
' "$tgz")
[ "$got" = "$INTEGRITY" ] || fail "integrity mismatch for $tgz: got $got, want $INTEGRITY"

echo "install-chdb: integrity verified, unpacking libchdb.so" >&2
tar -xzf "$tgz" -C "$tmp" package/libchdb.so || fail "cannot unpack libchdb.so from $tgz"
mv -f "$tmp/package/libchdb.so" "$lib"
echo "$PKG@$VERSION $INTEGRITY" > "$dir/.verified"
echo "install-chdb: installed $lib" >&2
