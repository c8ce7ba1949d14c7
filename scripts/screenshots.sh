#!/usr/bin/env bash
# Regenerates the console screenshots in docs/screenshots/ (shown in the
# README): a real server from the debug binary with a few clients, Debian's
# headless Chromium through playwright-core, the browser tests' harness.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
[ -x /usr/bin/chromium ] || { echo "screenshots: needs /usr/bin/chromium (apt-get install chromium)" >&2; exit 2; }
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo build -q -p latchkey
node tests/browser/screenshots.mjs
