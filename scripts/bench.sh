#!/bin/sh
# bench.sh: run the benchmark suite, print a table, write out/bench.json.
# Every figure is a ratio measured in one run against a baseline run beside it
# (see BENCHMARKS.md); bare times on a shared machine mean little.
set -eu
cd "$(dirname "$0")/.."
mkdir -p out
BENCHTIME=${BENCHTIME:-5x}
echo "bench: running go test -bench (benchtime $BENCHTIME); this takes a minute or two" >&2
go test -run "^$" -bench . -benchtime "$BENCHTIME" ./embedded/... ./sessionize ./processor | tee out/bench.txt
# Benchmark lines: name iterations ns/op then value/unit pairs.
awk -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
BEGIN { printf "{\"date\":\"%s\",\"results\":[", date; n = 0 }
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i + 1 <= NF; i += 2) {
		if (n++) printf ","
		printf "{\"benchmark\":\"%s\",\"metric\":\"%s\",\"value\":%s}", name, $(i + 1), $i
	}
}
END { print "]}" }' out/bench.txt > out/bench.json
echo >&2
printf '%-28s %-22s %s\n' benchmark metric value
awk '/^Benchmark/ { name = $1; sub(/-[0-9]+$/, "", name); for (i = 3; i + 1 <= NF; i += 2) printf "%-28s %-22s %s\n", name, $(i + 1), $i }' out/bench.txt
echo "bench: wrote out/bench.json" >&2
