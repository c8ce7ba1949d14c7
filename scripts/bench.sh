#!/usr/bin/env bash
# Side-by-side benchmark: the node oidc-provider peer (via the shared
# peers/run-bench.sh) and Latchkey (release build), in the same run, on the same
# machine, with the same wrk Lua scripts. Run by hand, not by CI.
#
# usage: scripts/bench.sh
#        scripts/bench.sh --render PEER_OUTPUT LATCHKEY_OUTPUT   (re-print the table
#                                                                from saved outputs)
# env knobs (defaults in brackets):
#   DURATION [10s]  wrk run length per measured scenario
#   WARMUP   [3s]   discarded warm-up run
#   CONNS    [32]   wrk connections (keep-alive); THREADS [1] wrk threads
#   PORT     [3901] Latchkey port; PEER_PORT [3900] peer port (both 127.0.0.1)
#   SKIP_PEER  [0]  1 = Latchkey only
#   SKIP_BUILD [0]  1 = do not run cargo build (use LATCHKEY_BIN as is)
#   LATCHKEY_BIN [target/release/latchkey]
#   SHARED_DIR [<repo>/../shared]  folder holding peers/ (may be read-only)
#   QUIET_WAIT_S [120] max wait for other processes to stop using the CPU, per run
#   STARTUP_TIMEOUT_S [30] max wait for the first token
#   SERVER_ENV [] extra KEY=VALUE settings for the Latchkey server, space-separated
#              (e.g. "LATCHKEY_RATE_LIMIT_PER_CLIENT=1000000" to measure the rate check)
# Output: progress on stdout, then a markdown table; raw RESULT lines + table
# are also written to target/bench/latest.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
CONNS="${CONNS:-32}"
THREADS="${THREADS:-1}"
PORT="${PORT:-3901}"
PEER_PORT="${PEER_PORT:-3900}"
SKIP_PEER="${SKIP_PEER:-0}"
SHARED_DIR="${SHARED_DIR:-$REPO/../shared}"
LATCHKEY_BIN="${LATCHKEY_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/latchkey}"
OUT_DIR="$REPO/target/bench"
HOST=127.0.0.1
BASE="http://${HOST}:${PORT}"
ADMIN_ID=latchkey-admin
ADMIN_SECRET=lks_bench_admin_secret_0123456789abcdefghijklmnop
ADMIN_PASSWORD=bench-password-123456
BENCH_SECRET=lks_bench_client_secret_0123456789abcdefghijklmnop
TOKEN_PATH=/oauth2/token
INTROSPECT_PATH=/oauth2/introspect
SCENARIOS=(token-opaque token-jwt-es256 introspect-opaque)

# ---------------------------------------------------------------- table -----
# Both outputs use run-bench.sh's line formats:
#   RESULT <label> rps=.. p50_ms=.. p99_ms=.. ... server_cpu_ms_per_req=..
#   idle RSS (after one token request): N MiB  (K KiB, 1 process(es))
#   start-up to first issued token: N ms ...
result_field() {  # FILE LABEL KEY -> value, or nothing
  [ -f "$1" ] || return 0
  awk -v l="$2" -v k="$3" '$1 == "RESULT" && $2 == l {
    for (i = 3; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) { print substr($i, n + 1); exit } } }' "$1"
}
idle_rss_mib() {  # FILE -> MiB with one decimal, from the KiB figure
  [ -f "$1" ] || return 0
  sed -nE 's/^ *idle RSS .*\(([0-9]+) KiB.*/\1/p' "$1" | head -1 | awk '{printf "%.1f", $1 / 1024}'
}
startup_ms() {  # FILE -> ms
  [ -f "$1" ] || return 0
  sed -nE 's/^ *start-up to first issued token: ([0-9]+) ms.*/\1/p' "$1" | head -1
}
ratio() {  # A B -> A/B with two decimals, n/a when either is missing
  awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'
}
na() { echo "${1:-n/a}"; }

render_table() {  # PEER_FILE LATCHKEY_FILE
  local peer="$1" lk="$2" s lr pr
  echo "| scenario | Latchkey rps | p50 ms | p99 ms | peer rps | p50 ms | p99 ms | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for s in "${SCENARIOS[@]}"; do
    lr=$(result_field "$lk" "$s" rps); pr=$(result_field "$peer" "$s" rps)
    echo "| $s | $(na "$lr") | $(na "$(result_field "$lk" "$s" p50_ms)") | $(na "$(result_field "$lk" "$s" p99_ms)") |" \
         "$(na "$pr") | $(na "$(result_field "$peer" "$s" p50_ms)") | $(na "$(result_field "$peer" "$s" p99_ms)") | $(ratio "$lr" "$pr") |"
  done
  lr=$(idle_rss_mib "$lk"); pr=$(idle_rss_mib "$peer")
  echo "| idle RSS, MiB (lower is better) | $(na "$lr") | | | $(na "$pr") | | | $(ratio "$lr" "$pr") |"
  lr=$(startup_ms "$lk"); pr=$(startup_ms "$peer")
  echo "| start-up to first token, ms (lower is better) | $(na "$lr") | | | $(na "$pr") | | | $(ratio "$lr" "$pr") |"
}

if [ "${1:-}" = --render ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --render PEER_OUTPUT LATCHKEY_OUTPUT" >&2; exit 2; }
  render_table "$2" "$3"
  exit 0
fi

# ---------------------------------------------------------------- setup -----
mkdir -p "$OUT_DIR"
WORK="$(mktemp -d -t latchkey-bench.XXXXXX)"
PEER_OUT="$WORK/peer.out"
LK_OUT="$WORK/latchkey.out"
LK_LOG="$OUT_DIR/latchkey-server.log"
LK_DATA=""
LK_PID=""
PEER_RUNNER=""

tree_pids() {  # PID and its descendants, by parent PID only
  local p="$1" c
  echo "$p"
  for c in $(pgrep -P "$p" 2>/dev/null || true); do tree_pids "$c"; done
}
stop_tree() {  # TERM a process tree started by this script, bounded wait, then KILL
  local root="$1" pids
  [ -n "$root" ] && kill -0 "$root" 2>/dev/null || return 0
  pids=$(tree_pids "$root")
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$root" 2>/dev/null || break; sleep 0.1; done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  wait "$root" 2>/dev/null || true
}
# The peer runner is started as a session leader (setsid), so every process it
# spawns keeps its session id even when orphaned (wrk runs under `timeout`, which
# makes its own process group). run-bench.sh traps TERM to stop its peer but then
# carries on with its next wrk run, so the whole session is frozen first, the
# runner killed outright, and the rest (node, wrk, subshells) terminated by PID.
session_pids() { ps -e -o pid=,sid= | awk -v s="$1" '$2 == s && $1 != s {print $1}'; }
stop_peer_runner() {
  local root="$PEER_RUNNER" rest
  [ -n "$root" ] || return 0
  rest=$(session_pids "$root")
  # shellcheck disable=SC2086
  kill -STOP "$root" $rest 2>/dev/null || true
  rest=$(session_pids "$root")  # frozen: the session cannot grow any more
  kill -KILL "$root" 2>/dev/null || true
  wait "$root" 2>/dev/null || true
  [ -n "$rest" ] || return 0
  # shellcheck disable=SC2086
  { kill -TERM $rest; kill -CONT $rest; } 2>/dev/null || true
  for _ in $(seq 1 50); do
    # shellcheck disable=SC2086
    kill -0 $rest 2>/dev/null || break  # kill -0 succeeds while any of them is alive
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $rest 2>/dev/null || true
}
cleanup() {
  local peer_log
  # Finish cleaning up even if the terminal or the pipe reading our output is gone
  # (a write would raise SIGPIPE) or the user presses Ctrl-C again.
  trap '' PIPE INT TERM HUP
  stop_peer_runner
  stop_tree "$LK_PID"
  [ -n "$LK_DATA" ] && rm -rf "$LK_DATA"
  # run-bench.sh leaves its server log in /tmp; it is only useful on failure
  peer_log=$(sed -nE 's/^== peer: .*\(log: (.*)\)$/\1/p' "$PEER_OUT" 2>/dev/null | head -1)
  [ -n "$peer_log" ] && [ "${PEER_RC:-0}" = 0 ] && rm -f "$peer_log"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

command -v curl >/dev/null || { echo "curl not found" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 2; }
if ! command -v wrk >/dev/null; then
  echo "== installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk </dev/null >/dev/null ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk </dev/null >/dev/null; }
fi

# Build first: a compile error should not cost a full peer run.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release -p latchkey"
  (cd "$REPO" && cargo build --release -p latchkey)
fi
[ -x "$LATCHKEY_BIN" ] || { echo "no Latchkey binary at $LATCHKEY_BIN" >&2; exit 2; }

# shared/ may be read-only and run-bench.sh runs `npm install` inside the peer
# folder: work on a private, writable copy (the Lua scripts come from it too).
[ -f "$SHARED_DIR/peers/run-bench.sh" ] || { echo "no $SHARED_DIR/peers/run-bench.sh (set SHARED_DIR)" >&2; exit 2; }
cp -r "$SHARED_DIR/peers" "$WORK/peers"
chmod -R u+w "$WORK/peers"
LUA_DIR="$WORK/peers"

# ------------------------------------------------------------------ peer -----
if [ "$SKIP_PEER" != 1 ]; then
  echo "== peer: node-oidc-provider on port $PEER_PORT (shared run-bench.sh)"
  # Run in the background and `wait` for it, so that INT/TERM reach our trap at
  # once and cleanup can stop the peer's process tree. Our client variables must
  # not leak into it: run-bench.sh uses its own bench client.
  : >"$PEER_OUT"  # exists before tail opens it
  (cd "$WORK/peers" && exec setsid env -u CLIENT_ID -u CLIENT_SECRET -u TOKEN -u RESOURCE -u LABEL \
     PORT="$PEER_PORT" DURATION="$DURATION" WARMUP="$WARMUP" CONNS="$CONNS" THREADS="$THREADS" \
     bash ./run-bench.sh node-oidc-provider) >"$PEER_OUT" 2>&1 &
  PEER_RUNNER=$!
  tail -n +1 -f --pid="$PEER_RUNNER" "$PEER_OUT" &
  TAIL_PID=$!
  PEER_RC=0
  wait "$PEER_RUNNER" || PEER_RC=$?
  wait "$TAIL_PID" 2>/dev/null || true
  PEER_RUNNER=""
  [ "$PEER_RC" = 0 ] || echo "   WARNING: peer bench exited with $PEER_RC; its columns may be n/a"
else
  echo "== peer skipped (SKIP_PEER=1)"
  : >"$PEER_OUT"
fi

# -------------------------------------------------------------- latchkey -----
# Helpers copied from run-bench.sh, measuring the Latchkey process ($LK_PID).
CLK_TCK=$(getconf CLK_TCK)
rss_kib() {
  local total=0 p v
  for p in $(tree_pids "$LK_PID"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
cpu_ticks() {
  local total=0 p v
  for p in $(tree_pids "$LK_PID"); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
wait_quiet() {  # other processes skew the figures: wait (bounded) until they stop
  local i b0 b1 p0 p1 foreign
  for i in $(seq 1 "${QUIET_WAIT_S:-120}"); do
    b0=$(busy_ticks); p0=$(cpu_ticks); sleep 1; b1=$(busy_ticks); p1=$(cpu_ticks)
    foreign=$(( (b1 - b0) - (p1 - p0) ))
    if [ "$foreign" -le $(( CLK_TCK / 10 )) ]; then return 0; fi
    [ "$i" = 1 ] && echo "   waiting for the machine to be quiet (foreign CPU ${foreign} ticks/s)..."
  done
  echo "   WARNING: machine still busy with other processes; figures below are suspect"
}
json_field() {  # prints "" (not a traceback) when the body is not the expected JSON
  python3 -c '
import json, sys
try:
    print(json.load(sys.stdin).get(sys.argv[1], ""))
except Exception:
    print("")' "$1"
}
token_req() {  # CLIENT_ID CLIENT_SECRET [extra curl args...] -> JSON body
  local id="$1" secret="$2"; shift 2
  curl -s --max-time 5 -u "${id}:${secret}" --data-urlencode grant_type=client_credentials "$@" "${BASE}${TOKEN_PATH}"
}
api_post() {  # PATH JSON -> body on stdout; exits unless 200/201
  local path="$1" json="$2" body code
  body="$WORK/api-body"
  code=$(curl -s --max-time 10 -o "$body" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" \
         -H 'Content-Type: application/json' --data "$json" "${BASE}${path}") || code=000
  case "$code" in
    200|201) cat "$body" ;;
    *) echo "POST $path -> HTTP $code: $(head -c 500 "$body")" >&2; exit 1 ;;
  esac
}
# run_wrk LABEL SCRIPT [VAR=value...]: one measured wrk run, one RESULT line
# (run-bench.sh's, plus server CPU per request, wrk CPU and foreign CPU).
run_wrk() {
  local label="$1" script="$2"; shift 2
  local t0 t1 b0 b1 out wrk_cpu tf line reqs cpu_s per_req foreign
  wait_quiet >&2
  tf=$(mktemp)
  t0=$(cpu_ticks); b0=$(busy_ticks)
  local TIMEFORMAT='%U %S'
  { time out=$(env LABEL="$label" "$@" timeout 120 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 5s \
        -s "$LUA_DIR/$script" "$BASE" || true); } 2>"$tf"
  t1=$(cpu_ticks); b1=$(busy_ticks)
  wrk_cpu=$(awk '{printf "%.2f", $1 + $2}' "$tf"); rm -f "$tf"
  line=$(grep '^RESULT' <<<"$out" || echo "RESULT $label rps=0 requests=0 wrk_failed=1")
  reqs=$(sed -nE 's/.* requests=([0-9]+).*/\1/p' <<<"$line"); reqs=${reqs:-0}
  cpu_s=$(awk -v a="$t0" -v b="$t1" -v t="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / t}')
  per_req=$(awk -v c="$cpu_s" -v r="$reqs" 'BEGIN { if (r > 0) printf "%.3f", c * 1000 / r; else print "nan" }')
  foreign=$(awk -v a="$b0" -v b="$b1" -v t="$CLK_TCK" -v p="$cpu_s" -v w="$wrk_cpu" \
            'BEGIN {f = (b - a) / t - p - w; if (f < 0) f = 0; printf "%.2f", f}')
  echo "$line server_cpu_s=$cpu_s server_cpu_ms_per_req=$per_req wrk_cpu_s=$wrk_cpu foreign_cpu_s=$foreign"
}

bench_latchkey() {
  local unset_env=() v i t_start t_ready idle_rss admin_json opaque_id jwt_id t hdr tok results=()
  # A fresh data dir (SQLite) per run; drop any LATCHKEY_* from the caller's
  # shell so that only the settings below apply.
  for v in $(compgen -e); do [[ "$v" == LATCHKEY_* ]] && unset_env+=(-u "$v"); done
  LK_DATA="$(mktemp -d -t latchkey-bench-data.XXXXXX)"
  echo "== Latchkey: $LATCHKEY_BIN serve on port $PORT   (log: $LK_LOG)"
  t_start=$(date +%s%N)
  env "${unset_env[@]}" LATCHKEY_DATA_DIR="$LK_DATA" LATCHKEY_LISTEN="${HOST}:${PORT}" \
    LATCHKEY_PUBLIC_URL="$BASE" LATCHKEY_BOOTSTRAP_ADMIN_SECRET="$ADMIN_SECRET" \
    LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD="$ADMIN_PASSWORD" LATCHKEY_LOG_LEVEL=warn ${SERVER_ENV:-} \
    "$LATCHKEY_BIN" serve >"$LK_LOG" 2>&1 3>&- 4>&- &
  LK_PID=$!
  # readiness = the first client_credentials request that returns 200 (as run-bench.sh)
  local tries=$(( ${STARTUP_TIMEOUT_S:-30} * 50 ))
  for i in $(seq 1 "$tries"); do
    if curl -s --max-time 1 -o /dev/null -w '%{http_code}' -u "${ADMIN_ID}:${ADMIN_SECRET}" \
         -d grant_type=client_credentials "${BASE}${TOKEN_PATH}" 2>/dev/null | grep -q '^200$'; then break; fi
    kill -0 "$LK_PID" 2>/dev/null || { echo "latchkey exited:"; cat "$LK_LOG"; exit 1; }
    [ "$i" = "$tries" ] && { echo "latchkey not ready after ${STARTUP_TIMEOUT_S:-30} s"; tail -n 50 "$LK_LOG"; exit 1; }
    sleep 0.02
  done
  t_ready=$(date +%s%N)
  echo "   start-up to first issued token: $(( (t_ready - t_start) / 1000000 )) ms (fresh data dir)"
  sleep 2  # same settling time as run-bench.sh before reading RSS
  idle_rss=$(rss_kib)
  echo "   idle RSS (after one token request): $((idle_rss / 1024)) MiB  (${idle_rss} KiB, $(tree_pids "$LK_PID" | wc -l) process(es))"

  # --- setup through the admin API
  admin_json=$(token_req "$ADMIN_ID" "$ADMIN_SECRET" --data-urlencode scope=admin)
  ADMIN_TOKEN=$(json_field access_token <<<"$admin_json")
  [ -n "$ADMIN_TOKEN" ] || { echo "no admin token: $(head -c 300 <<<"$admin_json")"; exit 1; }
  api_post /api/v1/scopes '{"name":"api:read","description":"Benchmark scope"}' >/dev/null
  opaque_id=$(api_post /api/v1/clients "{\"name\":\"bench-opaque\",\"type\":\"m2m\",\"scopes\":[\"api:read\"],\"access_token_format\":\"opaque\",\"secret\":\"$BENCH_SECRET\"}" | json_field client_id)
  jwt_id=$(api_post /api/v1/clients "{\"name\":\"bench-jwt\",\"type\":\"m2m\",\"scopes\":[\"api:read\"],\"access_token_format\":\"jwt\",\"secret\":\"$BENCH_SECRET\"}" | json_field client_id)
  if [ -z "$opaque_id" ] || [ -z "$jwt_id" ]; then echo "client creation returned no client_id"; exit 1; fi
  echo "   clients: opaque=$opaque_id jwt=$jwt_id"

  # --- sanity: both clients get a token of the expected shape
  echo "   opaque token: $(token_req "$opaque_id" "$BENCH_SECRET" --data-urlencode scope=api:read | head -c 160)"
  t=$(token_req "$jwt_id" "$BENCH_SECRET" --data-urlencode scope=api:read | json_field access_token)
  [ -n "$t" ] || { echo "   jwt client: no access token"; exit 1; }
  hdr=$(cut -d. -f1 <<<"$t" | tr '_-' '/+' | base64 -d 2>/dev/null || true)
  echo "   jwt token header: $hdr"
  grep -q '"ES256"' <<<"$hdr" || echo "   WARNING: JWT is not ES256; the token-jwt-es256 row compares different algorithms"

  local common=(TOKEN_PATH="$TOKEN_PATH" INTROSPECT_PATH="$INTROSPECT_PATH" SCOPE=api:read RESOURCE= CLIENT_SECRET="$BENCH_SECRET")
  echo "== warm-up ($WARMUP, discarded)"
  env LABEL=warmup "${common[@]}" CLIENT_ID="$opaque_id" timeout 60 wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$LUA_DIR/wrk-token.lua" "$BASE" >/dev/null
  env LABEL=warmup "${common[@]}" CLIENT_ID="$jwt_id" timeout 60 wrk -t"$THREADS" -c"$CONNS" -d1s -s "$LUA_DIR/wrk-token.lua" "$BASE" >/dev/null

  echo "== measured: wrk -t$THREADS -c$CONNS -d$DURATION (keep-alive, 127.0.0.1)"
  results+=("$(run_wrk token-opaque wrk-token.lua "${common[@]}" CLIENT_ID="$opaque_id")")
  results+=("$(run_wrk token-jwt-es256 wrk-token.lua "${common[@]}" CLIENT_ID="$jwt_id")")
  tok=$(token_req "$opaque_id" "$BENCH_SECRET" --data-urlencode scope=api:read | json_field access_token)
  local introspect=(curl -s --max-time 5 -u "${opaque_id}:${BENCH_SECRET}" --data-urlencode "token=$tok" "${BASE}${INTROSPECT_PATH}")
  local before after
  before=$("${introspect[@]}")
  results+=("$(run_wrk introspect-opaque wrk-introspect.lua "${common[@]}" CLIENT_ID="$opaque_id" TOKEN="$tok")")
  after=$("${introspect[@]}")

  echo
  printf '%s\n' "${results[@]}"
  echo "introspection response before load: $before"
  echo "introspection response after load:  $after"
  echo "RSS idle: $((idle_rss / 1024)) MiB; RSS after load: $(( $(rss_kib) / 1024 )) MiB; start-up to first token: $(( (t_ready - t_start) / 1000000 )) ms"
}

# Output goes to the terminal and to $LK_OUT (parsed for the table). Not a
# pipeline into tee: the function must run in this shell so that exit/LK_PID work.
exec 3>&1 4> >(tee "$LK_OUT" >&3)
TEE_PID=$!
bench_latchkey >&4
stop_tree "$LK_PID"; LK_PID=""
exec 4>&-
wait "$TEE_PID" 2>/dev/null || true  # $LK_OUT is complete once tee has exited

# ----------------------------------------------------------------- report -----
TABLE="$(render_table "$PEER_OUT" "$LK_OUT")"
{
  echo "# Latchkey vs node oidc-provider — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "wrk -t$THREADS -c$CONNS -d$DURATION (warm-up $WARMUP); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); Latchkey $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo 'uncommitted')"
  echo
  echo "ratio = Latchkey / peer (rps: higher is better; RSS and start-up: lower is better)"
  echo
  echo "$TABLE"
  echo
  echo '## raw'
  echo
  echo '```'
  echo "# Latchkey"
  grep -E '^(RESULT|RSS idle|introspection response)' "$LK_OUT" || true
  echo "# peer: node-oidc-provider"
  grep -E '^(RESULT|RSS idle|introspection response|machine)' "$PEER_OUT" || echo "(skipped)"
  echo '```'
} >"$OUT_DIR/latest.md"

echo
echo "$TABLE"
echo
echo "written: $OUT_DIR/latest.md"
