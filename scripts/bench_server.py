"""A Latchkey binary serving on SQLite in a temporary directory, for the
measuring scripts (signin-flood.py, noisy-neighbour.py): started, waited
for (bounded), then stopped with SIGTERM and removed with its directory.

    with bench_server.serving(binary, port, {"LATCHKEY_...": "..."}, "latchkey-x.") as server:
        ...  # server is the subprocess.Popen

Standard library only; every wait is bounded.
"""

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import tempfile
import time


@contextlib.contextmanager
def serving(binary, port, env, prefix, ready="/readyz"):
    work = tempfile.mkdtemp(prefix=prefix)
    full = dict(os.environ)
    full.update(LATCHKEY_LISTEN=f"127.0.0.1:{port}", LATCHKEY_DATA_DIR=os.path.join(work, "data"))
    full.update(env)
    log = open(os.path.join(work, "server.log"), "w")
    try:
        server = subprocess.Popen([os.path.abspath(binary), "serve"], cwd=work, env=full, stdout=log, stderr=log)
    except OSError:
        log.close()
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        for _ in range(300):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", ready)
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start; see " + log.name)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)
