#!/usr/bin/env bash
# The Debian package, tried as an operator would on this machine (needs root):
# builds it (scripts/package.sh), checks what is in it, verifies the unit
# with systemd-analyze, installs it with `dpkg -i` (twice: the maintainer
# scripts are idempotent), checks the user, the modes and owners, starts the
# unit's own ExecStart line by hand as the unit would (no systemd runs here:
# setpriv as the latchkey user, no new privileges, no capabilities, umask
# 0077, the data directory as working directory), waits for /readyz, reads
# the bootstrap credentials the first start wrote, gets a token with the
# installed CLI, runs `latchkey doctor`, sends the unit's reload signal and
# stops it; then `dpkg -r` (configuration, data and user stay) and `dpkg -P`
# (all gone). Refuses to run where latchkey is already installed or a
# `latchkey` user exists: that installation is not the test's to remove.
#
# Measured on the shared two-core machine: the release build from cold took
# 73 minutes (under heavy load from other builds); with the release binary
# fresh, package.sh took 194 s (cargo-deb stripping and xz-compressing the
# binary) and the whole test 3 min 45 s; the install-run-purge part alone,
# with LATCHKEY_DEB set, 28 s. On a quiet machine (2026-12-04) the cold
# release build took 4 min 29 s and the whole test, release binary fresh,
# 1 min 16 s. Still scripts/test.sh runs it only with LATCHKEY_PACKAGE_TEST=1:
# no other suite builds the release binary, and the minutes it adds would
# take a CI run past its 30-minute budget.
# Environment: LATCHKEY_DEB=path to reuse an already built .deb.
# Last line: "package-test: N passed, M failed".
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
log() { printf 'package-test: %s\n' "$*" >&2; }

PASS=0
FAIL=0
check() { # check NAME CMD...: one named check, counted
  local name="$1"; shift
  if "$@"; then
    PASS=$((PASS + 1)); echo "ok   - $name"
  else
    FAIL=$((FAIL + 1)); echo "FAIL - $name"
    return 1
  fi
}
finish() {
  echo "package-test: $PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
  exit $?
}

[ "$(id -u)" -eq 0 ] || { log "needs root (dpkg -i)"; exit 2; }
if dpkg-query -W -f='${Status}' latchkey 2>/dev/null | grep -qv 'not-installed'; then
  log "a latchkey package is already installed here; not touching it"; exit 2
fi
if getent passwd latchkey >/dev/null || [ -e /var/lib/latchkey ] || [ -e /etc/latchkey ]; then
  log "a latchkey user, /var/lib/latchkey or /etc/latchkey exists already; not touching it"; exit 2
fi

WORK="$(mktemp -d -t latchkey-package-test.XXXXXX)"
SERVER_PID=""
INSTALLED=0
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
  fi
  if [ "$INSTALLED" = 1 ] && dpkg-query -W latchkey >/dev/null 2>&1; then
    log "cleanup: purging the package"
    dpkg -P latchkey >/dev/null 2>&1
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build ------------------------------------------------------------------
if [ -n "${LATCHKEY_DEB:-}" ]; then
  DEB="$LATCHKEY_DEB"
else
  start=$SECONDS
  DEB="$("$REPO/scripts/package.sh" | tail -1)"
  log "package.sh took $((SECONDS - start)) s"
fi
check "the package was built" test -f "$DEB"
[ -f "$DEB" ] || finish

dpkg-deb --contents "$DEB" | awk '{print $NF}' | sed 's|^\./|/|' >"$WORK/contents"
has() { grep -qx "$1" "$WORK/contents"; }
check "the binary is /usr/bin/latchkey" has /usr/bin/latchkey
check "the configuration is /etc/latchkey/latchkey.toml" has /etc/latchkey/latchkey.toml
UNIT_IN_DEB="$(grep -E '^/(usr/)?lib/systemd/system/latchkey\.service$' "$WORK/contents" || true)"
check "the unit is in the package ($UNIT_IN_DEB)" test -n "$UNIT_IN_DEB"
check "the man page and completions are in the package" \
  bash -c "grep -qx /usr/share/man/man1/latchkey.1.gz '$WORK/contents' && grep -qx /usr/share/bash-completion/completions/latchkey '$WORK/contents'"
dpkg-deb --info "$DEB" conffiles >"$WORK/conffiles" 2>/dev/null || true
check "the configuration is a conffile" grep -qx /etc/latchkey/latchkey.toml "$WORK/conffiles"

# --- install ----------------------------------------------------------------
INSTALLED=1
check "dpkg -i installs it" dpkg -i "$DEB"
check "dpkg -i again (maintainer scripts are idempotent)" dpkg -i "$DEB"
UNIT="$UNIT_IN_DEB"

if command -v systemd-analyze >/dev/null; then
  # verify: syntax, directives, the ExecStart binary exists. Its only
  # complaint on a machine without a running systemd is about the bus.
  systemd-analyze verify "$UNIT" >"$WORK/verify" 2>&1
  check "systemd-analyze verify finds nothing wrong with the unit" \
    bash -c "! grep -v -i -e 'bus' -e '^\$' '$WORK/verify'" || cat "$WORK/verify"
  # The exposure score systemd gives the sandbox (0 best, 10 worst).
  if systemd-analyze security --offline=true "$UNIT" >"$WORK/security" 2>&1; then
    SCORE="$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p' "$WORK/security")"
    log "systemd-analyze security: exposure $SCORE"
    check "systemd-analyze security rates the unit's exposure below 2.5 (it is $SCORE)" \
      python3 -c "import sys; sys.exit(not float('${SCORE:-10}') < 2.5)"
  fi
else
  log "systemd-analyze not available: the unit is not verified"
fi

check "the latchkey user is a system user with no login shell" \
  bash -c '[ "$(getent passwd latchkey | cut -d: -f3)" -lt 1000 ] && getent passwd latchkey | grep -q ":/usr/sbin/nologin$"'
stat_is() { [ "$(stat -c '%a %U %G' "$1")" = "$2" ] || { echo "  $1 is $(stat -c '%a %U %G' "$1"), want $2"; return 1; }; }
check "/var/lib/latchkey is 700 latchkey:latchkey" stat_is /var/lib/latchkey "700 latchkey latchkey"
check "the configuration is 640 root:latchkey" stat_is /etc/latchkey/latchkey.toml "640 root latchkey"
check "the unit runs as latchkey with the packaged configuration" \
  bash -c "grep -qx 'User=latchkey' '$UNIT' && grep -qx 'ExecStart=/usr/bin/latchkey serve --config /etc/latchkey/latchkey.toml' '$UNIT'"
for d in ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes CapabilityBoundingSet= \
         AmbientCapabilities= ReadWritePaths=/var/lib/latchkey Restart=on-failure SystemCallFilter=@system-service; do
  grep -qx "$d" "$UNIT" || { echo "  missing: $d"; MISSING=1; }
done
check "the unit is hardened (ProtectSystem=strict, no capabilities, …)" test -z "${MISSING:-}"

# --- start the unit's ExecStart by hand, as the unit would ----------------------
read -r -a EXEC <<<"$(sed -n 's/^ExecStart=//p' "$UNIT")"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
# The one change to the packaged configuration: a free port instead of 8080,
# as an environment override (a drop-in's Environment= would do the same).
RUN_ENV=(env -i PATH=/usr/bin:/bin HOME=/var/lib/latchkey LANG=C.UTF-8 LATCHKEY_LISTEN="127.0.0.1:$PORT")
AS_LATCHKEY=(setpriv --reuid=latchkey --regid=latchkey --init-groups --no-new-privs --inh-caps=-all --bounding-set=-all)
(cd /var/lib/latchkey && umask 0077 && exec "${RUN_ENV[@]}" "${AS_LATCHKEY[@]}" -- "${EXEC[@]}") \
  >"$WORK/stdout" 2>"$WORK/stderr" &
SERVER_PID=$!

ready() {
  python3 - "$BASE" "$SERVER_PID" <<'PY'
import os, sys, time, urllib.request
base, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("the server exited")
    time.sleep(0.2)
sys.exit("no /readyz within 60 s")
PY
}
check "the server answers /readyz" ready || { cat "$WORK/stderr" >&2; finish; }
check "it runs as the latchkey user" bash -c "[ \"\$(ps -o user= -p $SERVER_PID)\" = latchkey ]"
check "the first start printed the bootstrap credentials" grep -q "Latchkey bootstrap" "$WORK/stdout"
CREDS=/var/lib/latchkey/initial-credentials
check "initial-credentials is 600 latchkey:latchkey" stat_is "$CREDS" "600 latchkey latchkey"
check "the master key is 600 latchkey:latchkey" stat_is /var/lib/latchkey/master.key "600 latchkey latchkey"
check "the database is 600 latchkey:latchkey" stat_is /var/lib/latchkey/latchkey.db "600 latchkey latchkey"
check "/var/lib/latchkey is still 700 latchkey:latchkey" stat_is /var/lib/latchkey "700 latchkey latchkey"
SECRET="$(sed -n 's/^admin_client_secret = //p' "$CREDS")"
ID="$(sed -n 's/^admin_client_id = //p' "$CREDS")"
TOKEN="$(LATCHKEY_CLIENT_SECRET="$SECRET" /usr/bin/latchkey --server "$BASE" token --client-id "$ID" --scope admin --raw 2>"$WORK/token.err")"
check "the installed CLI gets a token with the bootstrap credentials" \
  bash -c "[ \"\$(printf %s '$TOKEN' | tr -cd . | wc -c)\" = 2 ]" || cat "$WORK/token.err"
check "the token works on the admin API" \
  bash -c "LATCHKEY_CLIENT_ID='$ID' LATCHKEY_CLIENT_SECRET='$SECRET' /usr/bin/latchkey --server '$BASE' client list >/dev/null"
"${RUN_ENV[@]}" "${AS_LATCHKEY[@]}" -- /usr/bin/latchkey doctor --config /etc/latchkey/latchkey.toml >"$WORK/doctor" 2>&1
check "latchkey doctor passes the packaged configuration" test "$?" -eq 0 || cat "$WORK/doctor"
# ExecReload.
kill -HUP "$SERVER_PID"
check "the reload signal (SIGHUP) leaves it serving" ready
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "SIGTERM stops it cleanly (exit 0)" test "$?" -eq 0
SERVER_PID=""

# --- remove, then purge -----------------------------------------------------------
check "dpkg -r removes it" dpkg -r latchkey
check "remove: the binary and the unit are gone" bash -c "[ ! -e /usr/bin/latchkey ] && [ ! -e '$UNIT' ]"
check "remove: the configuration, the data and the user stay" \
  bash -c '[ -f /etc/latchkey/latchkey.toml ] && [ -f /var/lib/latchkey/master.key ] && getent passwd latchkey >/dev/null'
check "dpkg -P purges it" dpkg -P latchkey
check "purge: the configuration, the data, the user and the group are gone" \
  bash -c '[ ! -e /etc/latchkey ] && [ ! -e /var/lib/latchkey ] && ! getent passwd latchkey && ! getent group latchkey'
check "purge: no statoverride is left" bash -c '! dpkg-statoverride --list /etc/latchkey/latchkey.toml'
check "purge: dpkg knows nothing of it" bash -c "! dpkg-query -W latchkey >/dev/null 2>&1"
INSTALLED=0
finish
