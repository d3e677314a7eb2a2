#!/bin/sh
# soak.sh: run the services as separate processes (embedded Kafka and
# ClickHouse, collector, processor), measure the collector's peak rate for
# 20 s, then send at half that rate for SOAK_DURATION (default 10m) while
# sampling each process's RSS, heap in use and goroutines every 5 s into
# out/soak.csv. Fails when a line fitted over the second half shows the
# collector's memory or goroutines, or the processor's goroutines, growing
# by more than max(25% of the mean, 16 MiB heap / 32 MiB RSS / 20
# goroutines) over that half, or the processor's heap or RSS by more than
# 300 bytes per accepted event (it keeps 24 h of event summaries by design;
# see internal/soak). Takes SOAK_DURATION plus about a minute (build,
# peak measurement, waiting for the processor to catch up). Logs of the
# processes go to out/soak-logs/.
set -eu
cd "$(dirname "$0")/.."
SOAK_DURATION=${SOAK_DURATION:-10m}
export SOAK_DURATION
mkdir -p out bin
echo "soak: building bin/touchstream, bin/collector, bin/processor" >&2
go build -o bin/ ./cmd/touchstream ./cmd/collector ./cmd/processor
exec go run ./internal/soak -bin bin -out out/soak.csv -logs out/soak-logs "$@"
