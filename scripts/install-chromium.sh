#!/bin/sh
# install-chromium.sh: make sure a headless-capable Chromium is installed, for
# the real-browser tests of t.js and out/report.html (internal/browser).
#
# Idempotent: when a browser is already there it prints nothing and exits 0.
# TOUCHSTREAM_CHROMIUM names a browser binary to use instead (then nothing is
# installed). Otherwise the Debian package `chromium` is installed with apt-get
# (root only; apt-get update is run once, before the install).
# Keep the list of names in step with internal/browser/browser.go.
set -eu

fail() { echo "install-chromium: error: $*" >&2; exit 1; }

if [ -n "${TOUCHSTREAM_CHROMIUM:-}" ]; then
	[ -x "$TOUCHSTREAM_CHROMIUM" ] || fail "TOUCHSTREAM_CHROMIUM=$TOUCHSTREAM_CHROMIUM is not an executable file"
	exit 0
fi

for name in chromium chromium-browser google-chrome-stable google-chrome headless_shell; do
	command -v "$name" >/dev/null 2>&1 && exit 0
done

[ "$(id -u)" = 0 ] || fail "Chromium is not installed and this is not root: run 'apt-get install chromium' as root (or install Chrome/Chromium another way), or set TOUCHSTREAM_CHROMIUM to a Chromium or Chrome binary"
command -v apt-get >/dev/null 2>&1 || fail "Chromium is not installed and there is no apt-get: install Chromium or Chrome, or set TOUCHSTREAM_CHROMIUM to its binary"

log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

echo "install-chromium: installing the Debian package chromium with apt-get" >&2
DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 ||
	fail "apt-get update failed: $(tail -n 5 "$log")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >"$log" 2>&1 ||
	fail "apt-get install chromium failed: $(tail -n 5 "$log")"
command -v chromium >/dev/null 2>&1 || fail "apt-get installed chromium but there is no chromium command on PATH"
echo "install-chromium: installed $(chromium --version 2>/dev/null || command -v chromium)" >&2
