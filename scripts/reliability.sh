#!/usr/bin/env bash
# Reliability figures (issue 15), written to docs/reliability.md. Parts:
# - tests: the reliability tests of crates/latchkey/tests/e2e at full size
#   (LATCHKEY_RELIABILITY=full) on SQLite and on a throwaway PostgreSQL
#   cluster (races, kill -9, outage); scripts/test.sh runs them short;
# - fuzz: every cargo-fuzz target of fuzz/ for FUZZ_SECONDS (default 60)
#   each, on nightly, from the committed corpus (new inputs go to a temp
#   dir; a crash's input stays in fuzz/artifacts/<target>/);
# - http: scripts/http-fuzz.py, HTTP_FUZZ_REQUESTS (default 60000) hostile
#   requests per backend against a debug build, then the secret-hygiene scan;
# - overload: scripts/noisy-neighbour.py against a release build (a client
#   at ten times its rate limit beside one within its own).
# Each part prints `reliability: {json}` lines; the page is written from them.
# A part not run keeps its section of the current page.
# Run by hand: scripts/reliability.sh [--no-write]; RELIABILITY_PARTS="tests fuzz http
# overload" (the default) picks parts.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
WRITE=1
[ "${1:-}" = "--no-write" ] && WRITE=0
PARTS=" ${RELIABILITY_PARTS:-tests fuzz http overload} "
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
HTTP_FUZZ_REQUESTS="${HTTP_FUZZ_REQUESTS:-60000}"

# shellcheck source=scripts/pg-cluster.sh
. "$REPO/scripts/pg-cluster.sh"
trap 'pg_stop || true' EXIT
if [[ "$PARTS" == *" tests "* || "$PARTS" == *" http "* ]]; then
  pg_start
  export LATCHKEY_TEST_PG_URL LATCHKEY_TEST_PG_DIR
fi

OUT="$(mktemp -t latchkey-reliability.XXXXXX)"
if [[ "$PARTS" == *" tests "* ]]; then
  for backend in sqlite postgres; do
    filter='(test(/oidc::reliability::/) | test(/outage/)) & not test(/sqlite_only/)'
    [ "$backend" = sqlite ] && filter='(test(/oidc::reliability::/) | test(/outage/)) & not test(/pg_only/)'
    echo "reliability.sh: $backend" >&2
    LATCHKEY_RELIABILITY=full LATCHKEY_TEST_BACKEND="$backend" \
      cargo nextest run -p latchkey --test e2e --no-fail-fast --no-capture -E "$filter" 2>&1 | tee -a "$OUT" >&2
  done
fi

if [[ "$PARTS" == *" fuzz "* ]]; then
  command -v cargo-fuzz >/dev/null || { echo "reliability.sh: cargo install cargo-fuzz first" >&2; exit 2; }
  echo "reliability.sh: building the fuzz targets (nightly)" >&2
  build_start=$(date +%s)
  (cd fuzz && cargo +nightly fuzz build -O) >&2
  build_secs=$(( $(date +%s) - build_start ))
  for t in $(cd fuzz && cargo +nightly fuzz list); do
    echo "reliability.sh: fuzzing $t for ${FUZZ_SECONDS}s" >&2
    new="$(mktemp -d -t "latchkey-fuzz-$t.XXXXXX")"
    log="$new.log"
    rc=0
    (cd fuzz && cargo +nightly fuzz run -O "$t" "$new" "corpus/$t" -- \
      -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -max_len=65536) >"$log" 2>&1 || rc=$?
    python3 - "$log" "$t" "$rc" "$FUZZ_SECONDS" "$build_secs" "$(ls "fuzz/corpus/$t" | wc -l)" "$(ls "$new" | wc -l)" <<'PY' | tee -a "$OUT" >&2
import json, re, sys
text = open(sys.argv[1], errors="replace").read()
def stat(name):
    m = re.search(r"stat::" + name + r":\s+(\d+)", text)
    return int(m.group(1)) if m else None
last = re.findall(r"^#\d+\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+) ft: (\d+)", text, re.M)
crash = re.findall(r"^(?:==\d+== ERROR: libFuzzer: .*|.*panicked at .*)$", text, re.M)
art = re.findall(r"Test unit written to (\S+)", text)
print("reliability: " + json.dumps({"part": "fuzz", "backend": "-", "target": sys.argv[2], "figures": {
    "seconds": int(sys.argv[4]), "executions": stat("number_of_executed_units"),
    "execs_per_sec": stat("average_exec_per_sec"), "peak_rss_mb": stat("peak_rss_mb"),
    "coverage": int(last[-1][0]) if last else None, "features": int(last[-1][1]) if last else None,
    "seed_corpus": int(sys.argv[6]), "new_inputs": int(sys.argv[7]),
    "crashes": len(art) if art else (1 if int(sys.argv[3]) else 0), "crash_lines": crash[:3], "artifacts": art,
    "build_seconds": int(sys.argv[5])}}))
PY
    rm -rf "$new" "$log"
  done
fi

if [[ "$PARTS" == *" http "* ]]; then
  cargo build -q -p latchkey
  for backend in sqlite postgres; do
    echo "reliability.sh: http-fuzz, $HTTP_FUZZ_REQUESTS requests on $backend" >&2
    hf="$(mktemp -t latchkey-http-fuzz.XXXXXX)"
    python3 scripts/http-fuzz.py --bin target/debug/latchkey --backend "$backend" \
      --requests "$HTTP_FUZZ_REQUESTS" >"$hf" 2>&1 || true
    cat "$hf" >&2
    sed -n 's/^http-fuzz: \({.*}\)$/reliability: {"part": "http-fuzz", "figures": \1}/p' "$hf" >>"$OUT"
    grep -q '^http-fuzz: {' "$hf" || echo "reliability: {\"part\": \"http-fuzz\", \"figures\": {\"backend\": \"$backend\", \"ok\": false, \"crashed\": true}}" >>"$OUT"
    rm -f "$hf"
  done
fi

if [[ "$PARTS" == *" overload "* ]]; then
  cargo build -q --release -p latchkey
  echo "reliability.sh: noisy-neighbour" >&2
  nf="$(mktemp -t latchkey-noisy.XXXXXX)"
  python3 scripts/noisy-neighbour.py target/release/latchkey >"$nf" 2>&1 || true
  cat "$nf" >&2
  sed -n 's/^noisy-neighbour: \({.*}\)$/reliability: {"part": "overload", "figures": \1}/p' "$nf" >>"$OUT"
  grep -q '^noisy-neighbour: {' "$nf" || echo 'reliability: {"part": "overload", "figures": {"ok": false}}' >>"$OUT"
  rm -f "$nf"
fi

python3 - "$OUT" "$WRITE" "$PARTS" <<'PY'
import json, os, re, subprocess, sys
raw = open(sys.argv[1]).read()
parts = sys.argv[3].split()
lines = [json.loads(m.group(1)) for m in re.finditer(r"^reliability: (\{.*\})$", raw, re.M)]
passed = re.findall(r"PASS \[.*?\] .*?(oidc::reliability::\S+|outage::\S+)", raw)
failed = re.findall(r"FAIL \[.*?\] .*?(oidc::reliability::\S+|outage::\S+)", raw)
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()

# Sections of the current page, by heading: a part not run keeps its own.
old = {}
if os.path.exists("docs/reliability.md"):
    for chunk in re.split(r"^(?=## )", open("docs/reliability.md").read(), flags=re.M)[1:]:
        old[chunk.split("\n", 1)[0][3:].strip()] = chunk.rstrip("\n").split("\n")
sections = {}

if "tests" in parts:
    out = []
    races = [l for l in lines if l["part"].startswith("races")]
    if races:
        out += ["## Races on one-time credentials", "",
                "Each trial redeems one credential with two requests at once (on two nodes of one",
                "PostgreSQL database for \"two nodes\"). Target: exactly one success in every trial.", "",
                "| where | backend | credential | trials | one success | none | two |", "|---|---|---|---|---|---|---|"]
        for l in races:
            for kind, f in sorted(l["figures"].items()):
                out.append(f"| {l['part'].split(', ')[1]} | {l['backend']} | {kind} | {f['trials']} | {f['one_success']} | {f['no_success']} | {f['two_successes']} |")
        sections["Races on one-time credentials"] = out
    kills = [l for l in lines if l["part"] == "kill -9 under load"]
    if kills:
        out = ["## kill -9 under a mixed write load", "",
                "Three workers create clients, rotate their secrets (grace 0), issue and revoke tokens and",
                "rotate a refresh token; the server is killed with SIGKILL after a varying number of",
                "acknowledged writes, restarted, and every acknowledged write is checked (a created client's",
                "newest acknowledged secret works, a revoked token is inactive, the newest acknowledged",
                "refresh token refreshes). A write in flight at the kill may land or not, never half.", "",
                "| backend | kills | acknowledged writes | lost | restart to serving (debug build), median | max |", "|---|---|---|---|---|---|"]
        for l in kills:
            f = l["figures"]
            out.append(f"| {l['backend']} | {f['kills']} | {f['acknowledged_writes']} | {f['lost']} | {f['start_ms_median']} ms | {f['start_ms_max']} ms |")
        sections["kill -9 under a mixed write load"] = out
    outages = [l for l in lines if l["part"] == "database outage"]
    out = ["## Database outage", "",
           "`outage.rs` (PostgreSQL): the cluster is stopped (`pg_ctl stop -m fast`) and started again, over and",
           "over, under a load of token requests and admin API reads. While it is down every answer is a `503`",
           "with `Retry-After` (`temporarily_unavailable` on protocol endpoints, problem+json on the admin API),",
           "`/readyz` says not ready and `/healthz` still answers; each time it returns the same node serves",
           "again without a restart. A request waits at most the pool's acquire bound (3 s) for a connection.", ""]
    if outages:
        out += ["| backend | outages | requests | 200 | 503 | other | no answer | slowest | ready again, median | max |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for l in outages:
            f = l["figures"]
            out.append(f"| {l['backend']} | {f['outages']} | {f['requests']} | {f['ok']} | {f['unavailable']} | {f['other']} | {f['no_answer']} | {f['slowest_ms']} ms | {f['ready_again_ms_median']} ms | {f['ready_again_ms_max']} ms |")
        out.append("")
    out += ["SQLite (`sqlite_only_a_full_disk_and_a_read_only_data_directory_give_503s_and_lose_nothing`, a",
            "24 MiB tmpfs as the data directory): with the disk full, writes get `503` with `Retry-After`",
            "and reads and tokens go on; when space returns the same process writes again; after a restart",
            "every acknowledged write is there. On a read-only file system the server does not start and",
            "says why (`Read-only file system`).",
            f"Result in this run: {'passed' if any('full_disk' in p for p in passed) and not any('full_disk' in f for f in failed) else 'not run or FAILED'}.",
            "", f"Tests passed: {len(passed)}, failed: {len(failed)} (commit `{rev}`)."]
    sections["Database outage"] = out

fuzz = [l for l in lines if l["part"] == "fuzz"]
if "fuzz" in parts:
    out = ["## Fuzzing the parsers", "",
           "`cargo +nightly fuzz run TARGET` for each target of `fuzz/` (libFuzzer, `-O`), starting from the",
           "committed corpus `fuzz/corpus/TARGET/`. Each target checks invariants, not only \"no panic\"",
           "(`fuzz/checks.rs`): redirect URIs (a match is always a registered URI, the candidate itself",
           "valid, equal to it but for the loopback port or the wildcard label), form bodies and Basic",
           "credentials (parse, render, parse round trips), JWS and client assertions (only this key's",
           "signature verifies, sign then verify gives the payload back), SCIM filters (round trip) and",
           "PATCH bodies, and the declarative YAML of `plan`/`apply` (round trip).",
           f"Command: `RELIABILITY_PARTS=fuzz FUZZ_SECONDS={fuzz[0]['figures']['seconds'] if fuzz else 60} scripts/reliability.sh`; commit `{rev}`;",
           f"nightly build of the fuzz crate: {fuzz[0]['figures']['build_seconds'] if fuzz else '?'} s.",
           "`scripts/test.sh` does not build the fuzz crate (nightly): `latchkey-web/tests/fuzz_corpus.rs`",
           "(and `fuzz_corpus_replays` in the CLI's `declarative_tests.rs` for `yaml`) replays the corpus",
           "through the same checks on stable, with fixed-seed mutations (about 2 s).", "",
           "| target | seconds | executions | exec/s | coverage (edges) | features | seed corpus | new inputs | crashes |",
           "|---|---|---|---|---|---|---|---|---|"]
    for l in fuzz:
        f = l["figures"]
        out.append(f"| {l['target']} | {f['seconds']} | {f['executions']} | {f['execs_per_sec']} | {f['coverage']} | {f['features']} | {f['seed_corpus']} | {f['new_inputs']} | {f['crashes']} |")
    sections["Fuzzing the parsers"] = out

http = [l["figures"] for l in lines if l["part"] == "http-fuzz"]
if "http" in parts:
    out = ["## Hostile HTTP requests and secret hygiene", "",
           "`scripts/http-fuzz.py` starts a debug build on a fresh database, runs a scripted flow that",
           "creates and receives credentials of every kind (client secrets and a rotation, tokens, a code",
           "flow with refresh and ID tokens, passwords set and generated, a console sign-in with its code,",
           "session and CSRF token, a SCIM user's password, a tenant's admin secret, a device code), then",
           "sends malformed and hostile requests from 8 keep-alive connections to every endpoint: protocol,",
           "discovery, admin API, console forms (with and without a valid session and CSRF token), SCIM,",
           "device, remote; bad JSON, deep nesting, bodies up to 900 KB, wrong and repeated content types,",
           "invalid UTF-8, path traversal, repeated parameters, wrong methods, absurd numbers, big headers.",
           "Then it scans the server log (level `debug`), every page of the audit events, `latchkey export`",
           "(YAML and JSON), `/metrics` and every error body received for each credential (whole, first and",
           "last 12 characters; a JWT by its signature). `scripts/test-extra.sh` runs 3,000 requests on",
           "SQLite with the same scan on every run (about 15 s).",
           f"Command: `RELIABILITY_PARTS=http HTTP_FUZZ_REQUESTS={http[0].get('requests', 60000) if http else 60000} scripts/reliability.sh`; commit `{rev}`.", "",
           "| backend | requests | time | req/s | statuses | >= 500 | timeouts | panics | RSS before / peak / after | credentials scanned for | leaks |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in http:
        if f.get("crashed"):
            out.append(f"| {f['backend']} | the generator failed to run | | | | | | | | | |")
            continue
        st = ", ".join(f"{k}: {v}" for k, v in f["statuses"].items())
        mb = lambda k: f"{(f[k] or 0) / 1024:.0f}"
        out.append(f"| {f['backend']} | {f['requests']} | {f['seconds']} s | {f['requests_per_second']} | {st} | {f['server_errors']} | {f['timeouts']} | {f['panics']} | {mb('rss_before_kib')} / {mb('rss_peak_kib')} / {mb('rss_after_kib')} MiB | {f['credentials']} | {f['leaks']} |")
    sections["Hostile HTTP requests and secret hygiene"] = out

over = [l["figures"] for l in lines if l["part"] == "overload"]
if "overload" in parts:
    out = ["## Overload", "",
           "`scripts/noisy-neighbour.py` starts a release build on SQLite with a per-client rate limit",
           "(`rate_limit_per_client` = burst = the limit), creates two machine-to-machine clients, and for",
           "10 s sends paced client_credentials requests: the noisy client at ten times its limit from 4",
           "keep-alive connections, the calm one at half its own from one. Target: the calm client sees",
           "only 200s. The in-flight bound (`max_in_flight_requests`, a fast 503) is checked by",
           "`bad_input.rs` on every run; a flood of 64 concurrent sign-ins (bounded argon2id) is measured",
           "in docs/benchmarks.md (\"A flood of sign-ins\").",
           f"Command: `RELIABILITY_PARTS=overload scripts/reliability.sh`; commit `{rev}`.", "",
           "| client | rate | limit | sent | statuses | p50 | p99 | max |", "|---|---|---|---|---|---|---|---|"]
    for f in over:
        if "noisy" not in f:
            out.append("| the script failed to run | | | | | | | |")
            continue
        for who in ("noisy", "calm"):
            c = f[who]
            st = ", ".join(f"{k}: {v}" for k, v in c["statuses"].items())
            out.append(f"| {who} | {c['rate']:g}/s | {f['limit']:g}/s | {c['sent']} | {st} | {c['p50_ms']} ms | {c['p99_ms']} ms | {c['max_ms']} ms |")
    sections["Overload"] = out

head = ["# Reliability", "",
        "Measured by `scripts/reliability.sh` on the 2-core development machine: the tests in",
        "`crates/latchkey/tests/e2e/oidc/reliability.rs` and `outage.rs` at full size",
        "(`LATCHKEY_RELIABILITY=full`), the fuzz targets of `fuzz/`, and `scripts/http-fuzz.py`.",
        "`scripts/test.sh` runs the tests at their short size, replays the fuzz corpus",
        "(`latchkey-web/tests/fuzz_corpus.rs`) and runs a short HTTP generator with the secret scan",
        "(`scripts/test-extra.sh`) on every run. Each section names its command and commit.", ""]
order = ["Races on one-time credentials", "kill -9 under a mixed write load", "Database outage",
         "Fuzzing the parsers", "Hostile HTTP requests and secret hygiene", "Overload"]
body = []
for name in order:
    sec = sections.get(name) or old.get(name)
    if sec:
        body += sec + [""]
# Written by hand (their figures come from tests of every run): kept as the
# page has them, or the text below on a page without them.
static = ["## Concurrent apply", "",
         "`cli_plan.rs` (`concurrent_apply_of_one_file_from_two_clis_converges`, in every `scripts/test.sh`",
         "run on both backends): two CLIs apply one file (4 scopes, 6 clients) at the same moment, three",
         "rounds from an empty and a partly applied state; both exit 0 and a plan afterwards shows no",
         "change, each object once. Steps that met the other CLI's create are planned again.", "",
         "## Graceful shutdown", "",
         "`durability.rs` (`sigterm_finishes_requests_in_flight_and_writes_usage_before_exiting`, every run,",
         "both backends): on SIGTERM a node stops accepting connections, answers the request in flight",
         "(its body sent after the signal), writes the usage counters and last-used times it held, and",
         "exits 0 within `shutdown_grace_seconds`; a rolling restart of two nodes is `rolling.rs`.", ""]
for chunk in "\n".join(static).split("\n## ")[0:]:
    name = chunk.split("\n", 1)[0].lstrip("# ").strip()
    body += (old.get(name) or ("## " + chunk.lstrip("# ")).rstrip("\n").split("\n")) + [""]
text = "\n".join(head + body).rstrip("\n") + "\n"
print(text, end="")
if sys.argv[2] == "1":
    open("docs/reliability.md", "w").write(text)
bad = (failed or any(l["figures"].get("crashes") for l in fuzz) or any(not f.get("ok") for f in http)
       or any(not f.get("ok") for f in over))
sys.exit(1 if bad else 0)
PY
