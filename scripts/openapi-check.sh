#!/usr/bin/env bash
# The OpenAPI document (docs/openapi.json, which a cargo test keeps equal to
# what the server serves) as tools we did not write see it; a fast step of
# scripts/test-extra.sh, runnable alone. Five checks:
# 1. Spectral (`spectral:oas`, ruleset .spectral.yaml): no result at all.
# 2. Redocly CLI `lint` (recommended rules, redocly.yaml): no error, no warning.
# 3. openapi-typescript: the generated types compile with `tsc --strict`,
#    together with a file that names both userinfo operations.
# 4. openapi-python-client: generates without a warning, with a module for
#    each userinfo operation (GET and POST), and the client imports.
# 5. Every operationId is distinct (what both generators need).
# Tools are pinned: npm packages in tests/openapi/package-lock.json (installed
# there with `npm ci`), openapi-python-client in target/venv-openapi-client.
# Last line: "openapi-check: N passed, M failed". About 15 s when installed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
log() { printf 'openapi-check: %s\n' "$*" >&2; }

OPENAPI_PYTHON_CLIENT_VERSION="0.29.1"
DOC="${OPENAPI_DOC:-$REPO/docs/openapi.json}"  # another document: to see what the checks catch
TOOLS="$REPO/tests/openapi"
VENV="$REPO/target/venv-openapi-client"
# No telemetry or update checks from the tools (the machine has no network
# beyond the package registries anyway).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true SCARF_ANALYTICS=false
export DO_NOT_TRACK=1 NO_UPDATE_NOTIFIER=1

# --- tools ----------------------------------------------------------------------
command -v node >/dev/null || { log "node not found"; exit 2; }
STAMP="$TOOLS/node_modules/.lock-stamp"
if [ ! -f "$STAMP" ] || ! cmp -s "$TOOLS/package-lock.json" "$STAMP"; then
  log "npm ci in tests/openapi"
  (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$TOOLS/package-lock.json" "$STAMP"
fi
if ! "$VENV/bin/python" -c "import sys; from importlib.metadata import version as v; sys.exit(v('openapi-python-client') != '$OPENAPI_PYTHON_CLIENT_VERSION')" 2>/dev/null; then
  log "installing openapi-python-client $OPENAPI_PYTHON_CLIENT_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || { log "python3 -m venv failed (on Debian: apt-get install python3-venv)"; exit 2; }
  "$VENV/bin/pip" install -q --disable-pip-version-check "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION"
fi
BIN="$TOOLS/node_modules/.bin"
WORK="$(mktemp -d -t latchkey-openapi.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
check() { # NAME COMMAND...: runs one check, its output indented
  local name="$1"
  shift
  if "$@" >"$WORK/out" 2>&1; then
    passed=$((passed + 1))
    log "ok: $name"
  else
    failed=$((failed + 1))
    log "FAILED: $name"
    sed 's/^/    /' "$WORK/out" >&2
  fi
}

# --- 1. Spectral: any result fails, hints included --------------------------------
check "spectral (spectral:oas, .spectral.yaml)" \
  "$BIN/spectral" lint --quiet --ruleset "$REPO/.spectral.yaml" --fail-severity=hint "$DOC"

# --- 2. Redocly: errors fail by themselves; warnings fail here -------------------
redocly() {
  "$BIN/redocly" lint --config "$REPO/redocly.yaml" --format=stylish "$DOC" >"$WORK/redocly.txt" 2>&1 || {
    cat "$WORK/redocly.txt"
    return 1
  }
  if grep -Eq '^ +[0-9]+:[0-9]+ +(error|warning)' "$WORK/redocly.txt" \
    || ! grep -q 'Your API description is valid' "$WORK/redocly.txt"; then
    cat "$WORK/redocly.txt"
    return 1
  fi
}
check "redocly lint (recommended, redocly.yaml)" redocly

# --- 3. openapi-typescript + tsc --strict --------------------------------------------
typescript() {
  "$BIN/openapi-typescript" "$DOC" --output "$WORK/ts/api.d.ts" || return 1
  cat >"$WORK/ts/use.ts" <<'TS'
// Both userinfo operations, and a few types a client of the admin API reads.
import type { components, operations, paths } from "./api";
type Get = operations["userinfo"];
type Post = operations["userinfo_post"];
export type Userinfo = [Get, Post, paths["/oauth2/userinfo"]["get"], paths["/oauth2/userinfo"]["post"]];
export const change: components["schemas"]["FieldChange"] = { before: null, after: "x" };
export const jwk: components["schemas"]["PublicJwk"]["kty"] = "EC";
export const limit: NonNullable<operations["list_clients"]["parameters"]["query"]>["limit"] = 50;
TS
  "$BIN/tsc" --strict --noEmit --target es2022 --module es2022 --moduleResolution bundler \
    "$WORK/ts/api.d.ts" "$WORK/ts/use.ts"
}
mkdir -p "$WORK/ts"
check "openapi-typescript, tsc --strict" typescript

# --- 4. openapi-python-client ----------------------------------------------------------
python_client() {
  (cd "$WORK" && PATH="$VENV/bin:$PATH" "$VENV/bin/openapi-python-client" generate \
    --path "$DOC" --meta none --output-path "$WORK/py/latchkey_api") >"$WORK/py.txt" 2>&1 || {
    cat "$WORK/py.txt"
    return 1
  }
  # It reports problems (skipped operations, unknown schemas) as text and still
  # exits 0: anything but the one progress line is a failure.
  if grep -v '^Generating ' "$WORK/py.txt" | grep -q '[^[:space:]]'; then
    cat "$WORK/py.txt"
    return 1
  fi
  (cd "$WORK/py" && "$VENV/bin/python" - <<'PY')
import importlib
for name in ("userinfo", "userinfo_post", "list_clients", "tenant_oauth_metadata"):
    pkg = "oauth" if name.startswith(("userinfo", "tenant_")) else "clients"
    module = importlib.import_module(f"latchkey_api.api.{pkg}.{name}")
    assert callable(module.sync_detailed), name
from latchkey_api.models import AuditView, PublicJwk  # noqa: F401
print("generated client imports")
PY
}
mkdir -p "$WORK/py"
check "openapi-python-client generate" python_client

# --- 5. operationIds ------------------------------------------------------------------
operation_ids() {
  node -e '
    const doc = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const seen = new Map();
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item)) {
        const id = op.operationId;
        if (seen.has(id)) { console.error(`${id}: ${seen.get(id)} and ${method} ${path}`); process.exitCode = 1; }
        seen.set(id, `${method} ${path}`);
      }
  ' "$DOC"
}
check "distinct operationIds" operation_ids

echo "openapi-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
