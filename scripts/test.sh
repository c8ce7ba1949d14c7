#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run). Runs the whole workspace test
# suite twice, once per storage backend, against one throwaway PostgreSQL
# cluster, then any extra suites. Every pass runs even if an earlier one failed;
# the exit status is non-zero if any failed. Last line of output counts the
# tests of every pass (and suites that report no count as one each):
#   test.sh: N passed, M failed
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
rm -rf "$REPO/target/test-failures"

banner() { printf '\n==== %s ====\n' "$*"; }

PASSED=0
FAILED=0
FAILED_NAMES=()
# Test counts, summed over the passes from the runners' own summaries.
TESTS_PASSED=0
TESTS_FAILED=0

summary() { echo "test.sh: $TESTS_PASSED passed, $TESTS_FAILED failed"; }

# add_counts LOGFILE: add nextest's "N tests run: X passed, Y failed" (or
# cargo test's "test result: ... X passed; Y failed") from a pass's output.
add_counts() {
  local p f
  read -r p f < <(python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
p = f = 0
m = re.findall(r"tests run: (\d+) passed(?:, (\d+) failed)?", text)
if m:
    for a, b in m:
        p += int(a); f += int(b or 0)
else:
    for a, b in re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed", text):
        p += int(a); f += int(b)
if not m and not p and not f:
    # Extra suites print "name: N passed, M failed" (one line per tool).
    for a, b in re.findall(r"(?m)^[a-z-]+: (\d+) passed, (\d+) failed$", text):
        p += int(a); f += int(b)
print(p, f)
PY
)
  TESTS_PASSED=$((TESTS_PASSED + p))
  TESTS_FAILED=$((TESTS_FAILED + f))
}

# Cheap pre-steps (fmt, build) fail fast: no point running suites after them.
fail_fast() {
  echo "test.sh: $1 failed; not running the test suites" >&2
  FAILED=$((FAILED + 1))
  TESTS_FAILED=$((TESTS_FAILED + 1))
  summary
  exit 1
}

# run_suite NAME CMD...: run one suite, record the outcome, never abort the script.
run_suite() {
  local name="$1"; shift
  local rc=0 log
  log="$(mktemp -t latchkey-suite.XXXXXX)"
  banner "suite: $name"
  "$@" 2>&1 | tee "$log" || rc=$?
  local before=$((TESTS_PASSED + TESTS_FAILED))
  add_counts "$log"
  rm -f "$log"
  # A suite that reports no count of its own counts as one test.
  if [ $((TESTS_PASSED + TESTS_FAILED)) -eq "$before" ]; then
    if [ "$rc" -eq 0 ]; then TESTS_PASSED=$((TESTS_PASSED + 1)); else TESTS_FAILED=$((TESTS_FAILED + 1)); fi
  elif [ "$rc" -ne 0 ] && [ "$TESTS_FAILED" -eq 0 ]; then
    TESTS_FAILED=$((TESTS_FAILED + 1))
  fi
  if [ "$rc" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    echo "---- suite $name: ok"
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name")
    echo "---- suite $name: FAILED (exit $rc)"
  fi
}

# --- tools -------------------------------------------------------------------
command -v cargo >/dev/null || { echo "test.sh: cargo not found" >&2; exit 2; }
command -v python3 >/dev/null || { echo "test.sh: python3 not found (pg-cluster.sh needs it)" >&2; exit 2; }
# nextest is preferred (parallel per test, filter expressions); plain cargo test
# is the fallback on machines without it.
if cargo nextest --version >/dev/null 2>&1; then
  USE_NEXTEST=1
else
  USE_NEXTEST=0
  echo "test.sh: cargo-nextest not found; falling back to cargo test" >&2
fi

# test_pass BACKEND: one full run of the workspace tests with that backend.
# Tests named *pg_only* only make sense against PostgreSQL: skip them for
# sqlite; tests named *sqlite_only* set up SQLite themselves whatever the
# backend: run them once, in the sqlite pass.
test_pass() {
  local backend="$1"
  if [ "$USE_NEXTEST" = 1 ]; then
    local filter=(-E 'not test(/sqlite_only/)')
    [ "$backend" = sqlite ] && filter=(-E 'not test(/pg_only/)')
    LATCHKEY_TEST_BACKEND="$backend" cargo nextest run --workspace --no-fail-fast "${filter[@]}"
  else
    local skip=(--skip sqlite_only)
    [ "$backend" = sqlite ] && skip=(--skip pg_only)
    LATCHKEY_TEST_BACKEND="$backend" cargo test --workspace --no-fail-fast -- "${skip[@]}"
  fi
}

# --- PostgreSQL --------------------------------------------------------------
# One cluster for both passes (tests create their own databases/schemas in it).
# shellcheck source=scripts/pg-cluster.sh
. "$REPO/scripts/pg-cluster.sh"
# EXIT covers normal exit, `exit 1` and set -e failures; INT/TERM are turned
# into an exit so that the EXIT trap runs exactly once.
trap 'pg_stop || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
banner "starting throwaway PostgreSQL"
pg_start || { echo "test.sh: could not start PostgreSQL" >&2; exit 2; }
export LATCHKEY_TEST_PG_URL LATCHKEY_TEST_PG_DIR
echo "LATCHKEY_TEST_PG_URL=$LATCHKEY_TEST_PG_URL"

# --- fmt + build (once, shared by both passes) -------------------------------
banner "cargo fmt --check"
cargo fmt --all -- --check || fail_fast "cargo fmt --check"

banner "cargo clippy --workspace --all-targets -- -D warnings"
# Lints are part of the rules (clippy.toml: the injected clock and RNG).
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy || fail_fast "installing clippy"
cargo clippy --workspace --all-targets -- -D warnings || fail_fast "cargo clippy"

banner "cargo build --workspace --all-targets"
cargo build --workspace --all-targets || fail_fast "cargo build"

# --- test passes -------------------------------------------------------------
run_suite "tests (sqlite backend)" test_pass sqlite
run_suite "tests (postgres backend)" test_pass postgres

# Suites that need more than cargo: Authlib, SCIM checkers and schemathesis
# (test-extra.sh), and the browser tests in headless Chromium; each installs
# what it needs. They wait on servers more than they compute, so the extra
# suite runs beside the browser suite; its report is printed after.
EXTRA_LOG="$(mktemp -t latchkey-extra.XXXXXX)"
EXTRA_PID=""
if [ -x "$REPO/scripts/test-extra.sh" ]; then
  cargo build -q -p latchkey || fail_fast "cargo build -p latchkey"
  ( rc=0; "$REPO/scripts/test-extra.sh" >"$EXTRA_LOG" 2>&1 || rc=$?; echo "$rc" >"$EXTRA_LOG.rc" ) &
  EXTRA_PID=$!
fi
run_suite "browser (scripts/test-browser.sh)" "$REPO/scripts/test-browser.sh"
if [ -n "$EXTRA_PID" ]; then
  wait "$EXTRA_PID" || true
  # shellcheck disable=SC2016 # expanded by the inner shell
  run_suite "extra (scripts/test-extra.sh)" bash -c 'cat "$1"; exit "$(cat "$1.rc" 2>/dev/null || echo 1)"' _ "$EXTRA_LOG"
  rm -f "$EXTRA_LOG" "$EXTRA_LOG.rc"
fi

# The Debian package (scripts/package-test.sh): needs the release binary,
# which no other suite builds (minutes from cold on two cores), and installs
# and purges the .deb on this machine as root. Off unless asked for.
if [ "${LATCHKEY_PACKAGE_TEST:-0}" = 1 ]; then
  run_suite "package (scripts/package-test.sh)" "$REPO/scripts/package-test.sh"
fi

banner "summary"
# Why the browser tests failed, where a CI log's tail shows it.
for f in "$REPO"/target/test-failures/*.txt; do
  [ -f "$f" ] || continue
  echo "---- $(basename "$f" .txt): failing tests"
  head -60 "$f"
done
for n in "${FAILED_NAMES[@]+"${FAILED_NAMES[@]}"}"; do echo "failed: $n"; done
echo "suites: $PASSED passed, $FAILED failed"
summary
[ "$FAILED" -eq 0 ]
