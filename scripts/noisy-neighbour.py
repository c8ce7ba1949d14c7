#!/usr/bin/env python3
"""One noisy client at ten times its rate limit beside a calm one within
its own (issue 15, "Overload"): does the calm client notice?

Starts the given `latchkey` binary on SQLite in a temporary directory with a
per-client limit (`--limit` requests per second, burst `--limit`), creates
two machine-to-machine clients through the admin API, then for `--seconds`
seconds sends client_credentials requests, paced:

  noisy  at 10 x the limit, from `--noisy-threads` connections
  calm   at half the limit, from one connection

and reports, per client, the requests sent, their statuses and latencies
(p50, p99, max). The calm client should see only 200s; the noisy one 200s
up to its limit and fast 429s beyond it.

Run by hand (docs/reliability.md quotes it):

  cargo build --release -p latchkey
  python3 scripts/noisy-neighbour.py target/release/latchkey

Standard library only. Traffic goes to 127.0.0.1 only; every loop is bounded.
"""

import argparse
import base64
import http.client
import json
import sys
import threading
import time

import bench_server

ADMIN_SECRET = "lks_noisy_neighbour_admin_secret_0123456789abcdef"


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r.status, r.read()


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token(conn, client_id, secret, scope=None):
    body = "grant_type=client_credentials" + (f"&scope={scope}" if scope else "")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic(client_id, secret)}
    return request(conn, "POST", "/oauth2/token", body, headers)


def paced(port, client_id, secret, rate, seconds, out):
    """Sends `rate` requests per second for `seconds` on one connection,
    each at its planned moment (never faster); records (status, latency)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    start = time.monotonic()
    n = int(rate * seconds)
    for i in range(n):
        due = start + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        t0 = time.monotonic()
        try:
            status, _ = token(conn, client_id, secret)
        except (OSError, http.client.HTTPException):
            status = "error"
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out.append((status, time.monotonic() - t0))
    conn.close()


def summary(name, rate, results):
    statuses = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    waits = sorted(t for _, t in results)
    pct = lambda p: waits[min(len(waits) - 1, int(len(waits) * p))] * 1000
    print(
        f"{name:6} {rate:7.0f}/s  sent {len(results):5}  "
        + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        + f"  p50 {pct(0.5):.1f} ms  p99 {pct(0.99):.1f} ms  max {waits[-1] * 1000:.1f} ms"
    )
    return {
        "rate": rate,
        "sent": len(results),
        "statuses": dict(sorted(statuses.items())),
        "p50_ms": round(pct(0.5), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(waits[-1] * 1000, 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--limit", type=float, default=20.0, help="per-client requests per second (and burst)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--noisy-threads", type=int, default=4)
    ap.add_argument("--port", type=int, default=3951)
    args = ap.parse_args()
    env = {
        "LATCHKEY_BOOTSTRAP_ADMIN_SECRET": ADMIN_SECRET,
        "LATCHKEY_LOG_LEVEL": "warn",
        "LATCHKEY_RATE_LIMIT_PER_CLIENT": str(args.limit),
        "LATCHKEY_RATE_LIMIT_PER_CLIENT_BURST": str(int(args.limit)),
    }
    with bench_server.serving(args.binary, args.port, env, "latchkey-noisy."):
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        status, body = token(conn, "latchkey-admin", ADMIN_SECRET, "admin")
        if status != 200:
            raise SystemExit(f"admin token: {status} {body[:200]!r}")
        admin = json.loads(body)["access_token"]
        clients = {}
        for name in ("noisy", "calm"):
            status, body = request(
                conn,
                "POST",
                "/api/v1/clients",
                json.dumps({"name": name, "type": "m2m"}),
                {"Content-Type": "application/json", "Authorization": f"Bearer {admin}"},
            )
            if status != 201:
                raise SystemExit(f"creating {name}: {status} {body[:200]!r}")
            c = json.loads(body)
            clients[name] = (c["client_id"], c["client_secret"])
        conn.close()

        noisy_rate = 10 * args.limit
        calm_rate = args.limit / 2
        noisy, calm = [], []
        threads = [
            threading.Thread(
                target=paced,
                args=(args.port, *clients["noisy"], noisy_rate / args.noisy_threads, args.seconds, noisy),
            )
            for _ in range(args.noisy_threads)
        ]
        threads.append(threading.Thread(target=paced, args=(args.port, *clients["calm"], calm_rate, args.seconds, calm)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"binary: {args.binary}, limit {args.limit:g}/s (burst {int(args.limit)}), {args.seconds:g} s")
        n = summary("noisy", noisy_rate, noisy)
        c = summary("calm", calm_rate, calm)
        ok = set(c["statuses"]) == {"200"}
        figures = {"limit": args.limit, "seconds": args.seconds, "noisy": n, "calm": c, "ok": ok}
        print("noisy-neighbour: " + json.dumps(figures))
        return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
