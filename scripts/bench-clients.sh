#!/usr/bin/env bash
# Client-management scale benchmark (issue 3), run by hand, not by CI:
#   1. import 100,000 clients with `latchkey apply` (SQLite budget: <= 60 s);
#   2. first page and a ?q= search at 100,000 clients (budget: <= 20 ms p50);
#   3. bulk-load to 1,000,000 clients straight into the database, and measure
#      again; on SQLite and on PostgreSQL (a throwaway cluster).
# Prints a markdown table and writes it to target/bench/clients.md.
# env: N_IMPORT [100000], N_TOTAL [1000000], SAMPLES [200], BACKENDS ["sqlite postgres"], LATCHKEY_BIN
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
N_IMPORT="${N_IMPORT:-100000}"
N_TOTAL="${N_TOTAL:-1000000}"
SAMPLES="${SAMPLES:-200}"
BACKENDS="${BACKENDS:-sqlite postgres}"
SECRET=bench-admin-secret-0123456789abcdefghijklmnop
OUT="$REPO/target/bench/clients.md"
mkdir -p "$REPO/target/bench"
if [ -n "${LATCHKEY_BIN:-}" ]; then
  BIN="$LATCHKEY_BIN"   # a binary built earlier (keeps a long run off the build)
else
  cargo build --release -p latchkey >/dev/null
  BIN="$REPO/target/release/latchkey"
fi
WORK="$(mktemp -d -t latchkey-bench-clients.XXXXXX)"
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  [ -n "${LATCHKEY_TEST_PG_DIR:-}" ] && pg_stop || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {  # $1 database url
  PORT=$(free_port)
  rm -rf "$WORK/data"
  LATCHKEY_LISTEN=127.0.0.1:$PORT LATCHKEY_DATA_DIR="$WORK/data" LATCHKEY_DATABASE_URL="$1" \
    LATCHKEY_BOOTSTRAP_ADMIN_SECRET=$SECRET LATCHKEY_LOG_LEVEL=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0; sleep 0.1; done
  cat "$WORK/server.log"; exit 1
}
stop_server() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
start_server_keep() {  # restart on the same data
  PORT=$(free_port)
  LATCHKEY_LISTEN=127.0.0.1:$PORT LATCHKEY_DATA_DIR="$WORK/data" LATCHKEY_DATABASE_URL="$1" \
    LATCHKEY_LOG_LEVEL=warn "$BIN" serve >>"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0; sleep 0.1; done
  cat "$WORK/server.log"; exit 1
}

gen_file() {  # the declarative file with N m2m clients
  python3 - "$1" "$2" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("version: 1\nscopes:\n  - name: api:read\n    description: Read the API\nclients:\n")
    for i in range(n):
        f.write(f"  - client_id: bench-{i:07d}\n    name: Bench service {i:07d}\n    type: m2m\n"
                f"    description: Imported client number {i} of team {i % 97}\n    scopes: [api:read]\n"
                f"    labels: {{team: t{i % 97}}}\n")
PY
}

measure() {  # $1 label, $2 path -> "p50 p99" in ms over SAMPLES keep-alive requests
  python3 - "$PORT" "$2" "$SAMPLES" "$TOKEN" <<'PY'
import http.client, statistics, sys, time
port, path, n, token = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "Bearer " + token}
times = []
for i in range(n + 10):
    t = time.perf_counter(); c.request("GET", path, headers=h); r = c.getresponse(); body = r.read()
    if r.status != 200: sys.exit(f"{path}: {r.status} {body[:200]}")
    if i >= 10: times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"{statistics.median(times):.2f} {times[int(len(times)*0.99)-1]:.2f} {body.count(b'client_id')}")
PY
}

bulk_load() {  # $1 backend, $2 url: add clients until N_TOTAL, straight into the database
  local from=$N_IMPORT to=$N_TOTAL
  if [ "$1" = sqlite ]; then
    python3 - "$WORK/data/latchkey.db" "$from" "$to" <<'PY'
import sqlite3, sys, json
db, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = sqlite3.connect(db); con.execute("PRAGMA journal_mode=WAL")
cfg = json.dumps({"grant_types": ["client_credentials"], "scopes": ["api:read"], "token_endpoint_auth_method": "client_secret_basic"})
sql = "INSERT INTO clients (tenant_id, client_id, name, name_lower, description, client_type, status, protected, managed_by, created_at, updated_at, created_by, last_used_at, revision, config, grant_types, labels) VALUES ('default', ?, ?, ?, ?, 'm2m', 'active', 0, 'bulk', ?, 0, 'bench', NULL, 1, ?, ' client_credentials ', ?)"
# Commit every 20,000 rows: one huge transaction makes the WAL (and its index) huge and slow.
for start in range(a, b, 20_000):
    rows = ((f"bench-{i:07d}", f"Bench service {i:07d}", f"bench service {i:07d}", f"Imported client number {i} of team {i % 97}", 1_800_000_000 + i, cfg, f" t={i % 97} ") for i in range(start, min(b, start + 20_000)))
    con.executemany(sql, rows)
    con.commit()
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
PY
  else
    psql -q "$2" <<SQL
INSERT INTO clients (tenant_id, client_id, name, name_lower, description, client_type, status, protected, managed_by,
  created_at, updated_at, created_by, last_used_at, revision, config, grant_types, labels)
SELECT 'default', 'bench-' || lpad(i::text, 7, '0'), 'Bench service ' || lpad(i::text, 7, '0'),
  'bench service ' || lpad(i::text, 7, '0'), 'Imported client number ' || i || ' of team ' || (i % 97),
  'm2m', 'active', false, 'bulk', 1800000000 + i, 0, 'bench', NULL, 1,
  '{"grant_types":["client_credentials"],"scopes":["api:read"]}', ' client_credentials ', ' t=' || (i % 97) || ' '
FROM generate_series($from, $to - 1) AS i;
ANALYZE clients;
SQL
  fi
}

ROWS=()
for backend in $BACKENDS; do
  if [ "$backend" = sqlite ]; then
    URL="sqlite://$WORK/data/latchkey.db"
  else
    . "$REPO/scripts/pg-cluster.sh"; pg_start
    URL="${LATCHKEY_TEST_PG_URL%/*}/postgres"
  fi
  start_server "$URL"
  TOKEN=$(curl -s -u latchkey-admin:$SECRET -d grant_type=client_credentials -d scope=admin "http://127.0.0.1:$PORT/oauth2/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  gen_file "$N_IMPORT" "$WORK/clients.yaml"
  t0=$(date +%s.%N)
  LATCHKEY_SERVER="http://127.0.0.1:$PORT" LATCHKEY_CLIENT_ID=latchkey-admin LATCHKEY_CLIENT_SECRET=$SECRET \
    "$BIN" apply "$WORK/clients.yaml" --yes >"$WORK/apply.log" 2>&1 || { tail -5 "$WORK/apply.log"; exit 1; }
  t1=$(date +%s.%N)
  import_s=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
  ROWS+=("| $backend | import $N_IMPORT clients with \`latchkey apply\` | ${import_s} s | | |")
  for n in "$N_IMPORT" "$N_TOTAL"; do
    if [ "$n" = "$N_TOTAL" ]; then
      bulk_load "$backend" "$URL"
      # A restart (or the periodic maintenance) refreshes planner statistics.
      stop_server; start_server_keep "$URL"
      TOKEN=$(curl -s -u latchkey-admin:$SECRET -d grant_type=client_credentials -d scope=admin "http://127.0.0.1:$PORT/oauth2/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    fi
    read -r p50 p99 cnt < <(measure first "/api/v1/clients?limit=50")
    ROWS+=("| $backend | first page (50) at $n clients | | $p50 | $p99 |")
    read -r p50 p99 cnt < <(measure search "/api/v1/clients?q=service%20004217&limit=50")
    ROWS+=("| $backend | \`?q=service 004217\` at $n clients ($cnt hits) | | $p50 | $p99 |")
    read -r p50 p99 cnt < <(measure search "/api/v1/clients?q=team%2042&limit=50")
    ROWS+=("| $backend | \`?q=team 42\` at $n clients (first 50 of many) | | $p50 | $p99 |")
  done
  stop_server
  [ "$backend" = postgres ] && { pg_stop; unset LATCHKEY_TEST_PG_DIR; }
done
{
  echo "| backend | scenario | time | p50 ms | p99 ms |"
  echo "|---|---|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT"
