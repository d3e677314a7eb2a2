#!/bin/sh
# bench.sh: run the benchmark suite (`make bench`), print a table of the
# figures of DESIGN.md section 7, write out/bench.json and append a dated
# section with the figures to BENCHMARKS.md.
#
# Every figure is a ratio or a distribution measured in one run against a
# baseline run beside it (see BENCHMARKS.md); bare times on a shared machine
# mean little. The whole suite took 4-9 minutes on the shared 2-core machine
# (2026-11-22); it must stay within 15 minutes.
#
# Environment:
#   BENCHTIME            -benchtime of the embedded ClickHouse benchmarks (5x)
#   BENCHTIME_SESSIONIZE -benchtime of the sessionizer benchmarks (1x; each
#                        BenchmarkOpenSessions iteration fits 10 points already)
#   BENCHTIME_PROCESSOR  -benchtime of BenchmarkProcessor (3x; ~20-60 s an iteration)
#   BENCHTIME_E2E        -benchtime of the ./bench benchmarks (1x)
#   BENCH_EVENTS         events of BenchmarkQuery (10000000)
#   BENCH_SECONDS, BENCH_CLIENTS, BENCH_QUERY_REPS, BENCH_FRESH_SECONDS,
#   BENCH_FRESH_PEAK_SECONDS: see bench/doc.go
#   BENCH_ONLY           a -bench regexp to run instead of everything, only
#                        in ./bench (a quick run); nothing is appended to
#                        BENCHMARKS.md then
#   BENCH_RECORD=0       do not append to BENCHMARKS.md
set -eu
cd "$(dirname "$0")/.."
mkdir -p out
BENCHTIME=${BENCHTIME:-5x}
BENCHTIME_SESSIONIZE=${BENCHTIME_SESSIONIZE:-1x}
BENCHTIME_PROCESSOR=${BENCHTIME_PROCESSOR:-3x}
BENCHTIME_E2E=${BENCHTIME_E2E:-1x}
BENCH_ONLY=${BENCH_ONLY:-}
BENCH_RECORD=${BENCH_RECORD:-1}
start=$(date +%s)
: > out/bench.txt
failed=""

# step N TITLE BENCHTIME REGEXP PACKAGES...: one go test -bench run, its
# output shown and kept in out/bench.txt. -p 1: the packages' benchmark
# binaries run one after the other, not side by side on the 2 cores.
step() {
	n=$1 title=$2 benchtime=$3 regexp=$4
	shift 4
	echo "bench: [$n] $title (benchtime $benchtime; $(($(date +%s) - start)) s so far)" >&2
	{ go test -p 1 -run '^$' -bench "$regexp" -benchtime "$benchtime" -timeout 30m "$@" 2>&1; echo $? > out/bench.rc; } |
		grep --line-buffered -v '^\(goos\|goarch\|cpu\|PASS\|ok \)' | tee -a out/bench.txt
	if [ "$(cat out/bench.rc)" != 0 ]; then
		failed="$failed $title"
		echo "bench: [$n] $title FAILED" >&2
	fi
	rm -f out/bench.rc
}

if [ -n "$BENCH_ONLY" ]; then
	BENCH_RECORD=0
	step 1/1 "./bench $BENCH_ONLY" "$BENCHTIME_E2E" "$BENCH_ONLY" ./bench
else
	step 1/4 "embedded ClickHouse and Kafka, publishing, the processor's sink, user agents" "$BENCHTIME" . ./embedded/... ./kafka ./clickhouse ./device
	step 2/4 "sessionizer" "$BENCHTIME_SESSIONIZE" . ./sessionize
	step 3/4 "processor" "$BENCHTIME_PROCESSOR" . ./processor
	step 4/4 "collector, query, freshness" "$BENCHTIME_E2E" . ./bench
fi
elapsed=$(($(date +%s) - start))

# out/bench.raw: benchmark metric value, one a line.
awk '/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i + 1 <= NF; i += 2) print name, $(i + 1), $i
}' out/bench.txt > out/bench.raw

# The figures: name|benchmark|value metric|baseline metric|ratio metric|goal|unit.
# The goal applies to the ratio when there is one, else to the value.
cat > out/bench.figures <<'EOF'
collector batched events/s|BenchmarkCollector/batched|collector-events/s|bare-events/s|ratio|>= 0.5|events/s
collector single events/s|BenchmarkCollector/single|collector-events/s|bare-events/s|ratio|>= 0.4|events/s
collector batched p50 at half peak|BenchmarkCollector/batched|p50-ms|-|-|-|ms
collector batched p99 at half peak|BenchmarkCollector/batched|p99-ms|-|-|<= 10|ms
collector single p50 at half peak|BenchmarkCollector/single|p50-ms|-|-|-|ms
collector single p99 at half peak|BenchmarkCollector/single|p99-ms|-|-|<= 10|ms
funnel query (4 steps), unmerged parts|BenchmarkQuery|funnel-s|baseline-s|funnel-ratio|<= 2|s
abandonment query, unmerged|BenchmarkQuery|abandonment-s|baseline-s|abandonment-ratio|-|s
time-on-site query, unmerged|BenchmarkQuery|time-on-site-s|baseline-s|time-on-site-ratio|-|s
retention query, unmerged|BenchmarkQuery|retention-s|others-baseline-s|retention-ratio|-|s
attribution query, unmerged|BenchmarkQuery|attribution-s|others-baseline-s|attribution-ratio|-|s
segments query, unmerged|BenchmarkQuery|segments-s|others-baseline-s|segments-ratio|-|s
stages query, unmerged|BenchmarkQuery|stages-s|others-baseline-s|stages-ratio|-|s
paths query, unmerged|BenchmarkQuery|paths-s|others-baseline-s|paths-ratio|-|s
funnel query, mode strict, unmerged|BenchmarkQuery|funnel-strict-s|others-baseline-s|funnel-strict-ratio|-|s
funnel query, mode any, unmerged|BenchmarkQuery|funnel-any-s|others-baseline-s|funnel-any-ratio|-|s
funnel query (4 steps), merged table|BenchmarkQuery|merged-funnel-s|merged-baseline-s|merged-funnel-ratio|<= 2|s
funnel floor: per-visitor sort, merged|BenchmarkQuery|floor-sort-s|merged-baseline-s|floor-sort-ratio|-|s
funnel floor: windowFunnel, merged|BenchmarkQuery|floor-windowfunnel-s|merged-baseline-s|floor-windowfunnel-ratio|-|s
abandonment query, merged|BenchmarkQuery|merged-abandonment-s|merged-baseline-s|merged-abandonment-ratio|-|s
time-on-site query, merged|BenchmarkQuery|merged-time-on-site-s|merged-baseline-s|merged-time-on-site-ratio|-|s
retention query, merged|BenchmarkQuery|merged-retention-s|merged-others-baseline-s|merged-retention-ratio|-|s
attribution query, merged|BenchmarkQuery|merged-attribution-s|merged-others-baseline-s|merged-attribution-ratio|-|s
segments query, merged|BenchmarkQuery|merged-segments-s|merged-others-baseline-s|merged-segments-ratio|-|s
stages query, merged|BenchmarkQuery|merged-stages-s|merged-others-baseline-s|merged-stages-ratio|-|s
paths query, merged|BenchmarkQuery|merged-paths-s|merged-others-baseline-s|merged-paths-ratio|-|s
funnel query, mode strict, merged|BenchmarkQuery|merged-funnel-strict-s|merged-others-baseline-s|merged-funnel-strict-ratio|-|s
funnel query, mode any, merged|BenchmarkQuery|merged-funnel-any-s|merged-others-baseline-s|merged-funnel-any-ratio|-|s
funnel query (4 steps), live: merged + one fresh batch|BenchmarkQuery|live-funnel-s|live-baseline-s|live-funnel-ratio|<= 2|s
freshness p50, light load|BenchmarkFreshness|light-p50-ms|-|-|-|ms
freshness p99, light load|BenchmarkFreshness|light-p99-ms|-|-|<= 2000|ms
freshness p50, half peak|BenchmarkFreshness|peak-p50-ms|-|-|-|ms
freshness p99, half peak|BenchmarkFreshness|peak-p99-ms|-|-|<= 2000|ms
freshness sessions p99, light load|BenchmarkFreshness|light-session-p99-ms|-|-|<= 5000|ms
freshness sessions p99, half peak|BenchmarkFreshness|peak-session-p99-ms|-|-|<= 5000|ms
processor events/s|BenchmarkProcessor|processor-events/s|kafkago-events/s|ratio|>= 0.5|events/s
processor floor: read, decode, insert events|BenchmarkProcessor|floor-events/s|kafkago-events/s|floor-ratio|-|events/s
processor engine CPU per event|BenchmarkProcessorEngine|engine-us/event|-|-|-|us
processor engine CPU: background merges|BenchmarkProcessorEngine|engine-merges-us/event|-|-|-|us
open-session memory|BenchmarkOpenSessions|B/open-session|-|-|<= 1024|B
kafka-go publish CPU per event, no encoding|BenchmarkPublish/kafka-go|cpu-us/event|-|-|-|us
collector publish CPU per event|BenchmarkPublish/publisher|cpu-us/event|-|-|-|us
processor sink rows/s|BenchmarkSink|sink-rows/s|plain-rows/s|ratio|-|rows/s
clickhouse-go insert rows/s (no compression)|BenchmarkInsert/none|http-rows/s|direct-rows/s|ratio|>= 0.7|rows/s
clickhouse-go insert rows/s (lz4)|BenchmarkInsert/lz4|http-rows/s|direct-rows/s|ratio|>= 0.7|rows/s
embedded HTTP select MB/s|BenchmarkSelect|http-MB/s|direct-MB/s|ratio|-|MB/s
EOF

# out/bench.rows: figure|value|baseline|ratio|goal|unit|verdict for the
# figures whose benchmark ran.
awk -F'|' '
FILENAME == ARGV[1] { split($0, f, " "); raw[f[1] "|" f[2]] = f[3]; next }
{
	key = $2 "|" $3
	if (!(key in raw)) next
	value = raw[key]
	base = ($4 != "-" && ($2 "|" $4) in raw) ? raw[$2 "|" $4] : "-"
	ratio = ($5 != "-" && ($2 "|" $5) in raw) ? raw[$2 "|" $5] : "-"
	verdict = "-"
	if ($6 != "-") {
		split($6, g, " "); x = (ratio != "-") ? ratio : value
		ok = (g[1] == ">=") ? (x + 0 >= g[2] + 0) : (x + 0 <= g[2] + 0)
		verdict = ok ? "met" : "missed"
	}
	print $1 "|" value "|" base "|" ratio "|" $6 "|" $7 "|" verdict
}' out/bench.raw out/bench.figures > out/bench.rows

date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
machine="$(nproc)-core $(uname -m), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
awk -F'|' -v date="$date" -v machine="$machine" -v elapsed="$elapsed" '
function num(s) { return (s == "-") ? "null" : s + 0 }
function str(s) { return (s == "-") ? "null" : "\"" s "\"" }
FILENAME == ARGV[1] {
	fig[++nf] = sprintf("{\"figure\":\"%s\",\"value\":%s,\"baseline\":%s,\"ratio\":%s,\"goal\":%s,\"unit\":\"%s\",\"verdict\":%s}",
		$1, num($2), num($3), num($4), str($5), $6, str($7))
	next
}
{ split($0, f, " "); raw[++nr] = sprintf("{\"benchmark\":\"%s\",\"metric\":\"%s\",\"value\":%s}", f[1], f[2], f[3] + 0) }
END {
	printf "{\"date\":\"%s\",\"machine\":\"%s\",\"seconds\":%d,\"figures\":[", date, machine, elapsed
	for (i = 1; i <= nf; i++) printf "%s%s", (i > 1 ? "," : ""), fig[i]
	printf "],\"metrics\":["
	for (i = 1; i <= nr; i++) printf "%s%s", (i > 1 ? "," : ""), raw[i]
	print "]}"
}' out/bench.rows out/bench.raw > out/bench.json

echo >&2
awk -F'|' 'BEGIN { printf "%-44s %14s %14s %8s %9s %-8s %s\n", "figure", "value", "baseline", "ratio", "goal", "unit", "" }
{ printf "%-44s %14s %14s %8s %9s %-8s %s\n", $1, $2, $3, $4, $5, $6, $7 }' out/bench.rows

# The run's table goes at the end of BENCHMARKS.md's section "make bench
# runs" (before the next section, if any), the section being added when
# missing.
if [ "$BENCH_RECORD" != 0 ] && [ -s out/bench.rows ]; then
	{
		echo
		echo "### make bench, $date"
		echo
		echo "$machine, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) at the end; ${elapsed} s in all; BENCHTIME $BENCHTIME, sessionizer $BENCHTIME_SESSIONIZE, processor $BENCHTIME_PROCESSOR, ./bench $BENCHTIME_E2E; BENCH_EVENTS ${BENCH_EVENTS:-10000000}."
		echo
		echo "| figure | value | baseline | ratio | goal | unit | |"
		echo "|---|---|---|---|---|---|---|"
		awk -F'|' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' out/bench.rows
	} > out/bench.md
	awk -v run=out/bench.md '
	function emit(  line) { while ((getline line < run) > 0) print line; close(run); done = 1 }
	/^## / && in_runs && !done { emit(); print "" }
	/^## / { in_runs = ($0 == "## make bench runs") }
	{ print }
	END {
		if (!done && !in_runs) { print ""; print "## make bench runs" }
		if (!done) emit()
	}' BENCHMARKS.md > out/BENCHMARKS.md.new
	mv out/BENCHMARKS.md.new BENCHMARKS.md
	echo "bench: added the figures to BENCHMARKS.md (section \"make bench runs\")" >&2
fi
rm -f out/bench.figures out/bench.raw out/bench.rows out/bench.md
echo "bench: wrote out/bench.json and out/bench.txt in ${elapsed} s" >&2
if [ -n "$failed" ]; then
	echo "bench: FAILED:$failed" >&2
	exit 1
fi
