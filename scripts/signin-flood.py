#!/usr/bin/env python3
"""A flood of concurrent password sign-ins against a fresh Latchkey, with
the server's memory measured from /proc (issue 15, "Overload").

Starts the given `latchkey` binary on SQLite in a temporary directory,
opens `--concurrency` sign-in forms (the console's authorization request),
then posts them all at the same instant (a barrier), `--rounds` times. It
samples the server's resident memory every 20 ms, and reports:

  idle RSS     before the flood (after one sign-in, so the first hash is paid)
  peak RSS     the highest VmRSS sampled during the flood, and VmHWM
  after RSS    2 s and 15 s after the flood
  answers      the sign-ins' statuses (303 signed in, 503 busy, other)

Run by hand (docs/benchmarks.md quotes it):

  cargo build --release -p latchkey
  python3 scripts/signin-flood.py target/release/latchkey
  python3 scripts/signin-flood.py target/release/latchkey --env LATCHKEY_PASSWORD_HASH_CONCURRENCY=64

Standard library only. Traffic goes to 127.0.0.1 only; every loop is bounded.
"""

import argparse
import http.client
import re
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import bench_server

PASSWORD = "flood-password-0123456789"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636's example


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def open_form(port, public):
    """GET the authorization request: the login page's tx, csrf and cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    redirect = urllib.parse.quote(f"{public}/console/callback", safe="")
    path = (
        f"/oauth2/authorize?client_id=latchkey-console&response_type=code&scope=openid&redirect_uri={redirect}"
        f"&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"
    )
    conn.request("GET", path)
    r = conn.getresponse()
    page = r.read().decode()
    if r.status != 200:
        raise SystemExit(f"authorize answered {r.status}: {page[:300]}")
    cookies = "; ".join(v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie")
    tx = re.search(r'name="tx" value="([^"]+)"', page).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return conn, cookies, tx, csrf


def sign_in(port, public, barrier):
    conn, cookies, tx, csrf = open_form(port, public)
    body = f"tx={tx}&csrf={csrf}&username=admin&password={PASSWORD}"
    if barrier is not None:
        barrier.wait(timeout=120)
    started = time.monotonic()
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies},
    )
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status, time.monotonic() - started, r.getheader("Retry-After")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=3950)
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server (repeatable)")
    args = ap.parse_args()

    public = f"http://127.0.0.1:{args.port}"
    env = {
        "LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD": PASSWORD,
        "LATCHKEY_LOG_LEVEL": "warn",
        "LATCHKEY_MAX_IN_FLIGHT_REQUESTS": "4096",
    }
    for kv in args.env:
        k, v = kv.split("=", 1)
        env[k] = v
    with bench_server.serving(args.binary, args.port, env, "latchkey-flood.", ready="/healthz") as server:
        first = sign_in(args.port, public, None)
        if first[0] != 303:
            raise SystemExit(f"a single sign-in answered {first[0]}")
        time.sleep(1)
        idle = status_kib(server.pid, "VmRSS")

        peak = [idle]
        flooding = threading.Event()
        flooding.set()

        def sample():
            while flooding.is_set():
                peak[0] = max(peak[0], status_kib(server.pid, "VmRSS"))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        answers = {}
        waits = []
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            for _ in range(args.rounds):
                barrier = threading.Barrier(args.concurrency)
                results = list(pool.map(lambda _: sign_in(args.port, public, barrier), range(args.concurrency)))
                for status, took, retry in results:
                    key = {303: "signed in", 503: "busy"}.get(status, str(status))
                    answers[key] = answers.get(key, 0) + 1
                    waits.append(took)
                    if status == 503 and retry is None:
                        raise SystemExit("a 503 without Retry-After")
        flood_s = time.monotonic() - started
        flooding.clear()
        sampler.join()
        hwm = status_kib(server.pid, "VmHWM")
        time.sleep(2)
        after2 = status_kib(server.pid, "VmRSS")
        time.sleep(13)
        after15 = status_kib(server.pid, "VmRSS")
        waits.sort()
        mib = lambda kib: f"{kib / 1024:.1f} MiB"
        print(f"binary:      {args.binary} {' '.join(args.env)}")
        print(f"flood:       {args.rounds} rounds x {args.concurrency} concurrent sign-ins in {flood_s:.1f} s")
        print(f"answers:     {', '.join(f'{v} {k}' for k, v in sorted(answers.items()))}")
        print(f"latency:     p50 {waits[len(waits) // 2] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms")
        print(f"idle RSS:    {mib(idle)}")
        print(f"peak RSS:    {mib(peak[0])} sampled, VmHWM {mib(hwm)}")
        print(f"after RSS:   {mib(after2)} after 2 s, {mib(after15)} after 15 s")
        print(
            f"RESULT idle_mib={idle / 1024:.1f} peak_mib={peak[0] / 1024:.1f} hwm_mib={hwm / 1024:.1f} "
            f"after2_mib={after2 / 1024:.1f} after15_mib={after15 / 1024:.1f} "
            + " ".join(f"{k.replace(' ', '_')}={v}" for k, v in sorted(answers.items()))
        )

if __name__ == "__main__":
    sys.exit(main())
