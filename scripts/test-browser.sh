#!/usr/bin/env bash
# Browser tests in real headless Chromium (scripts/test.sh runs this): Debian's
# chromium driven by playwright-core from npm, against the debug server binary.
# Installs what it needs on a fresh machine: the Debian `chromium` package and
# the npm packages pinned in tests/browser/package-lock.json (never a browser
# download). Runs every tests/browser/*.test.mjs once on SQLite and, when
# scripts/test.sh provides LATCHKEY_TEST_PG_URL, once more on PostgreSQL, the
# two at the same time.
# Last lines: "browser-sqlite: N passed, M failed" (and browser-postgres).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
log() { printf 'test-browser: %s\n' "$*" >&2; }

# --- Chromium (and openssl, for the https test's certificate) from Debian ------
if [ ! -x /usr/bin/chromium ] || ! command -v openssl >/dev/null; then
  log "installing Debian chromium and openssl"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q chromium openssl >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q chromium openssl >/dev/null
  }
fi
[ -x /usr/bin/chromium ] || { log "chromium is not installed"; exit 2; }
command -v openssl >/dev/null || { log "openssl is not installed"; exit 2; }

# --- npm packages ---------------------------------------------------------------
command -v node >/dev/null || { log "node not found"; exit 2; }
DIR="$REPO/tests/browser"
STAMP="$DIR/node_modules/.lock-stamp"
if [ ! -f "$STAMP" ] || ! cmp -s "$DIR/package-lock.json" "$STAMP"; then
  log "npm ci in tests/browser"
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$DIR/package-lock.json" "$STAMP"
fi
# The independent OpenID provider of the federation tests (with its own Node 22).
PEER="$REPO/tests/peers/oidc-provider"
PEER_STAMP="$PEER/node_modules/.lock-stamp"
if [ ! -f "$PEER_STAMP" ] || ! cmp -s "$PEER/package-lock.json" "$PEER_STAMP"; then
  log "npm ci in tests/peers/oidc-provider"
  (cd "$PEER" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$PEER/package-lock.json" "$PEER_STAMP"
fi

# --- the server binary ------------------------------------------------------------
cargo build -q -p latchkey

BACKENDS=(sqlite)
[ -n "${LATCHKEY_TEST_PG_URL:-}" ] && BACKENDS+=(postgres)
WORK="$(mktemp -d -t latchkey-browser.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# The backends run side by side (each test file starts its own server, and
# the runs wait on servers and Chromium more than they compute), each
# printing its report when it is done.
pids=()
for backend in "${BACKENDS[@]}"; do
  log "backend: $backend"
  LATCHKEY_BROWSER_BACKEND="$backend" node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination="$WORK/$backend.spec" \
    --test-reporter=tap --test-reporter-destination="$WORK/$backend.tap" \
    "$DIR"/*.test.mjs >"$WORK/$backend.out" 2>&1 &
  pids+=($!)
done
rc=0
for i in "${!BACKENDS[@]}"; do
  backend="${BACKENDS[$i]}"
  wait "${pids[$i]}" || rc=$?
  log "backend: $backend"
  cat "$WORK/$backend.spec" "$WORK/$backend.out" 2>/dev/null || true
  pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$WORK/$backend.tap" | tail -1)"
  fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$WORK/$backend.tap" | tail -1)"
  echo "browser-$backend: ${pass:-0} passed, ${fail:-1} failed"
  # The failures' reasons, for the end of scripts/test.sh's output (a CI
  # log shows its tail; the extra suite's report comes after this one).
  if [ "${fail:-1}" != 0 ]; then
    mkdir -p "$REPO/target/test-failures"
    sed -n '/failing tests:/,$p' "$WORK/$backend.spec" | head -120 >"$REPO/target/test-failures/browser-$backend.txt"
  fi
  [ "${pass:-0}" -gt 0 ] || rc=1
done
exit "$rc"
