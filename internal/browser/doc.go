// Package browser drives a real headless Chromium over the DevTools protocol
// (chromedp), for the tests that need a browser: t.js on a page in front of
// a real collector, and out/report.html as people open it.
//
// Start runs one browser process (headless, no sandbox, no GPU, no
// background networking, a temporary profile) and Close ends it and waits
// for it. Each Page is a tab that records what the page said on its console
// at error level, uncaught exceptions, browser log entries of level error
// (a failed load, a blocked request) and every request the page made, so a
// test can assert there were none it did not expect.
//
// The binary is $TOUCHSTREAM_CHROMIUM, else the first of chromium,
// chromium-browser, google-chrome-stable, google-chrome and headless_shell
// on PATH; scripts/install-chromium.sh (run by make install) puts one there.
// New is the test helper: it fails the test, saying how to install the
// browser, when there is none.
package browser
