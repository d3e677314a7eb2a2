#!/bin/sh
# fuzz.sh: run every fuzz target for FUZZTIME each (default 30s).
# `make test` already runs the seed corpora; this explores beyond them.
set -eu
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target for $FUZZTIME" >&2
		go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
