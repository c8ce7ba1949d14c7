#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite (trust auth, 127.0.0.1 only,
# random free port, everything inside one temp dir that pg_stop deletes).
#
# Executed:  scripts/pg-cluster.sh start      -> prints two `export ...` lines
#            eval "$(scripts/pg-cluster.sh start)"
#            scripts/pg-cluster.sh stop DIR   -> stops that cluster, removes DIR
# Sourced:   . scripts/pg-cluster.sh; pg_start; ...; pg_stop
#            (pg_start exports LATCHKEY_TEST_PG_URL and LATCHKEY_TEST_PG_DIR)
#
# Works as root (PostgreSQL refuses to run as root, so initdb/pg_ctl run as the
# `postgres` system user, or a dedicated one) and as an ordinary user.
# Installs Debian's `postgresql` with apt-get when no initdb is found.
# Knob: LATCHKEY_PG_TMPDIR [/tmp] parent of the temp dir (must be traversable
# by the unprivileged user, which is why $TMPDIR is not used blindly).

# Marker file that makes pg_stop refuse to rm -rf anything it did not create.
_PG_MARKER=".latchkey-pg-cluster"

_pg_log() { echo "pg-cluster: $*" >&2; }

# Directory holding initdb/pg_ctl/postgres: Debian's versioned dirs first
# (highest version), then PATH. Prints nothing when there is none.
_pg_bindir() {
  local d
  # (an unmatched glob stays literal and fails the -x test)
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  d="$(command -v initdb 2>/dev/null || true)"
  [ -n "$d" ] && dirname "$(readlink -f "$d")"
  return 0
}

_pg_install() {
  _pg_log "no initdb found; installing Debian postgresql with apt-get"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"   # CI without a tty: never prompt
  # noninteractive + no stdin: must not hang on debconf questions in CI
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 || return 1
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    postgresql </dev/null >&2 || return 1
}

# Unprivileged user that owns the cluster when we are root. The Debian package
# creates `postgres`; otherwise create a system user without home or shell.
_pg_user() {
  if [ "$(id -u)" != 0 ]; then id -un; return 0; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return 0; fi
  id latchkey-pg >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin latchkey-pg >&2 || return 1
  echo latchkey-pg
}

# Run a command as the cluster owner, from a directory it can read (runuser
# keeps our cwd, and initdb/pg_ctl complain when it is e.g. /root).
_pg_as() {
  local user="$1" dir="$2"; shift 2
  if [ "$(id -u)" = 0 ]; then
    (cd "$dir" && runuser -u "$user" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

_pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_start() {
  local bindir user dir port attempt
  bindir="$(_pg_bindir)"
  if [ -z "$bindir" ]; then
    _pg_install || { _pg_log "apt-get install postgresql failed"; return 1; }
    bindir="$(_pg_bindir)"
    [ -n "$bindir" ] || { _pg_log "initdb still not found after install"; return 1; }
  fi
  user="$(_pg_user)" || { _pg_log "cannot find or create an unprivileged user"; return 1; }

  dir="$(mktemp -d "${LATCHKEY_PG_TMPDIR:-/tmp}/latchkey-pg.XXXXXX")" || return 1
  touch "$dir/$_PG_MARKER"
  [ "$(id -u)" = 0 ] && chown -R "$user" "$dir"

  # --no-sync: durability is pointless for a throwaway cluster and slow in CI
  if ! _pg_as "$user" "$dir" "$bindir/initdb" -D "$dir/data" --auth=trust --username=postgres \
         --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
    _pg_log "initdb failed:"; cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1
  fi

  # The port is picked by binding port 0 and releasing it, so another process
  # can grab it before postgres does: retry a few times with a new port.
  for attempt in 1 2 3; do
    port="$(_pg_free_port)" || { rm -rf "$dir"; return 1; }
    cat >"$dir/data/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    if _pg_as "$user" "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
         -w -t 60 start >/dev/null 2>&1; then
      export LATCHKEY_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
      export LATCHKEY_TEST_PG_DIR="$dir"
      _pg_log "started on 127.0.0.1:$port (dir $dir)"
      return 0
    fi
    _pg_log "start attempt $attempt on port $port failed"
    tail -n 5 "$dir/postgres.log" >&2 2>/dev/null || true
  done
  rm -rf "$dir"
  return 1
}

# pg_stop [DIR]: DIR defaults to $LATCHKEY_TEST_PG_DIR. Safe to call twice.
pg_stop() {
  local dir="${1:-${LATCHKEY_TEST_PG_DIR:-}}" bindir user
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  [ -f "$dir/$_PG_MARKER" ] || { _pg_log "refusing to remove $dir: not a pg-cluster.sh dir"; return 1; }
  if [ -f "$dir/data/postmaster.pid" ]; then
    bindir="$(_pg_bindir)"
    user="$(stat -c %U "$dir/data")"
    # immediate: no checkpoint, the data is thrown away anyway
    _pg_as "$user" "$dir" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
      _pg_log "pg_ctl stop failed (see $dir/postgres.log)"
  fi
  rm -rf "$dir"
  if [ "${LATCHKEY_TEST_PG_DIR:-}" = "$dir" ]; then
    unset LATCHKEY_TEST_PG_URL LATCHKEY_TEST_PG_DIR
  fi
  return 0
}

# pg_pause DIR / pg_resume DIR: stop and start the server of a cluster,
# keeping its data (database-outage tests).
pg_pause() {
  local dir="$1" bindir user
  [ -f "$dir/$_PG_MARKER" ] || { _pg_log "not a pg-cluster.sh dir: $dir"; return 1; }
  bindir="$(_pg_bindir)"; user="$(stat -c %U "$dir/data")"
  # fast, not immediate: the throwaway cluster runs with synchronous_commit
  # off, so an immediate stop would lose the last commits (a restart that
  # loses acknowledged data is not the outage being tested).
  _pg_as "$user" "$dir" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
}

pg_resume() {
  local dir="$1" bindir user
  [ -f "$dir/$_PG_MARKER" ] || { _pg_log "not a pg-cluster.sh dir: $dir"; return 1; }
  bindir="$(_pg_bindir)"; user="$(stat -c %U "$dir/data")"
  _pg_as "$user" "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null
}

# Executed (not sourced): a tiny CLI around the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      pg_start
      echo "export LATCHKEY_TEST_PG_URL=$LATCHKEY_TEST_PG_URL"
      echo "export LATCHKEY_TEST_PG_DIR=$LATCHKEY_TEST_PG_DIR"
      ;;
    stop)
      [ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
      pg_stop "$2"
      ;;
    pause|resume)
      [ -n "${2:-}" ] || { echo "usage: $0 $1 DIR" >&2; exit 2; }
      "pg_$1" "$2"
      ;;
    *) echo "usage: $0 start | stop DIR | pause DIR | resume DIR   (or source it and call pg_start / pg_stop)" >&2; exit 2 ;;
  esac
fi
