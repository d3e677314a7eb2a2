#!/bin/sh
# chaos.sh: the long fault suite (make chaos). Runs the process-level fault
# tests of e2e/ with TOUCHSTREAM_CHAOS=1, which lengthens them:
#   TestCollectorSIGTERM            collector SIGTERMed 3 times under load, restarted on the same spool
#   TestCollectorKilledWithSpool    Kafka process SIGSTOPped 30 s under load, collector SIGKILLed with a full spool
#   TestKafkaOutageUnderLoad        Kafka process SIGSTOPped 45 s under load, the spool drains when it resumes
#   TestClickHouseStopKillUnderLoad ClickHouse process SIGSTOPped 20 s, SIGKILLed, down 5 s, restarted
#   TestCollectorSpoolLocked        a second collector on the same spool directory fails fast
# then, once more, the processor fault tests (TestProcessorCrashes,
# TestRebalance, TestClickHouseOutage) and the spool's in-process
# TestKafkaOutage. Each test checks that every acknowledged event is in
# ClickHouse exactly once and that the reports equal the generator's
# answers. Takes about 7-9 minutes on a 2-core machine (322 s measured without the TestProcessor tests, which add about 2 minutes); bounded by go test
# -timeout 25m.
set -eu
cd "$(dirname "$0")/.."
mkdir -p out
export TOUCHSTREAM_CHAOS=1
echo "chaos: long fault suite, about 8 minutes; log in out/chaos.log" >&2
start=$(date +%s)
set +e
go test -count=1 -timeout 25m -v -run 'TestCollector|TestKafkaOutageUnderLoad|TestClickHouseStopKillUnderLoad|TestProcessorCrashes|TestRebalance|TestClickHouseOutage|TestProcessor' ./e2e/ > out/chaos.log 2>&1
rc=$?
go test -count=1 -timeout 5m -v -run 'TestKafkaOutage' ./spool/ >> out/chaos.log 2>&1
rc2=$?
set -e
[ "$rc" -eq 0 ] && rc=$rc2
grep -E '^(=== RUN|--- (PASS|FAIL|SKIP)|(ok|FAIL)[[:space:]])|lost [0-9]+, duplicated' out/chaos.log | grep -v '=== RUN' >&2 || true
echo "chaos: exit $rc after $(( $(date +%s) - start ))s" >&2
exit $rc
