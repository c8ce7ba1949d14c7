#!/usr/bin/env python3
"""HTTP-level fuzzing and the secret-hygiene scan (issue 15), stdlib only.

Starts `latchkey serve` on a fresh SQLite data directory or a fresh
PostgreSQL database, runs a scripted flow that creates and receives
credentials of every kind (client secrets and rotations, tokens, a
password user, a console sign-in with its authorization code, session and
CSRF token, a SCIM user with a password, a tenant's admin secret, a device
code), then sends N malformed or hostile requests from C concurrent
keep-alive connections across every endpoint (protocol, discovery, admin
API, console forms with and without a valid session and CSRF token, SCIM,
device, remote/federation), built on raw sockets so anything can be sent:
bad JSON, huge headers and bodies within the limits, wrong content types,
invalid UTF-8, path traversal, repeated parameters, wrong methods, absurd
numbers.

Fails (exit 1) on any response >= 500, a panic in the server log, a request
that takes longer than the per-request timeout, a server that dies, an RSS
that does not come back near its value before the run, or any credential of
the run found in the server log, the audit events (every page), the
`latchkey export` output, /metrics or an error body the run received (whole,
or its first or last 12 characters).

Prints one line `http-fuzz: {json}` with the figures. Usage:
  scripts/http-fuzz.py --bin target/debug/latchkey [--backend sqlite|postgres]
      [--requests 60000] [--concurrency 8] [--seed 1] [--timeout 10]
PostgreSQL: LATCHKEY_TEST_PG_URL (scripts/pg-cluster.sh) names the cluster;
a database is created for the run.
"""

import argparse
import base64
import collections
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ADMIN_ID = "latchkey-admin"
ADMIN_SECRET = "lks_httpfuzz_admin_secret_0123456789abcdefghijklmn"
ADMIN_PASSWORD = "httpfuzz-admin-password-Zq81"


def log(*a):
    print("http-fuzz:", *a, file=sys.stderr, flush=True)


# --- a raw HTTP/1.1 client ------------------------------------------------------

class Conn:
    """One keep-alive connection; reconnects after the server closes it."""

    def __init__(self, host, port, timeout):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = b""

    def _recv(self):
        d = self.sock.recv(65536)
        if not d:
            raise ConnectionError("closed")
        self.buf += d

    def _line_block(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("response head too large")
            self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head

    def _exact(self, n):
        while len(self.buf) < n:
            self._recv()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def request(self, raw, head_only=False):
        """Sends raw request bytes; returns (status, headers, body, closed)."""
        for attempt in (0, 1):
            if self.sock is None:
                self.sock = socket.create_connection(self.addr, timeout=self.timeout)
                self.sock.settimeout(self.timeout)
            try:
                self.sock.sendall(raw)
                return self._response(head_only)
            except (ConnectionError, BrokenPipeError, ConnectionResetError) as e:
                self.close()
                if attempt == 1:
                    raise ConnectionError(str(e)) from e
            except socket.timeout:
                self.close()
                raise

    def _response(self, head_only):
        head = self._line_block()
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        while status == 100:  # Expect: 100-continue: the real answer follows
            head = self._line_block()
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ")[1])
        headers = {}
        multi = collections.defaultdict(list)
        for l in lines[1:]:
            k, _, v = l.partition(b":")
            k = k.strip().lower().decode("latin-1")
            v = v.strip().decode("latin-1")
            headers[k] = v
            multi[k].append(v)
        headers["__multi__"] = multi
        if head_only or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._recv()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    self._line_trailer()
                    break
                body += self._exact(size)
                self._exact(2)
        elif "content-length" in headers:
            body = self._exact(int(headers["content-length"]))
        else:
            while True:
                try:
                    self._recv()
                except ConnectionError:
                    break
            body, self.buf = self.buf, b""
            self.close()
            return status, headers, body, True
        closed = headers.get("connection", "").lower() == "close"
        if closed:
            self.close()
        return status, headers, body, closed

    def _line_trailer(self):
        while b"\r\n" not in self.buf:
            self._recv()
        while not self.buf.startswith(b"\r\n"):
            _, self.buf = self.buf.split(b"\r\n", 1)
            while b"\r\n" not in self.buf:
                self._recv()
        self.buf = self.buf[2:]


def build(method, target, headers=(), body=b"", host=None, close=False):
    if isinstance(target, str):
        target = target.encode("utf-8", "surrogateescape")
    if isinstance(method, str):
        method = method.encode()
    out = [method + b" " + target + b" HTTP/1.1", b"Host: " + (host or b"127.0.0.1")]
    has_len = False
    for k, v in headers:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v
        if k.lower() in (b"content-length", b"transfer-encoding"):
            has_len = True
        out.append(k + b": " + v)
    if not has_len and (body or method not in (b"GET", b"HEAD", b"DELETE", b"OPTIONS")):
        out.append(b"Content-Length: " + str(len(body)).encode())
    if close:
        out.append(b"Connection: close")
    return b"\r\n".join(out) + b"\r\n\r\n" + body


# --- the server -----------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Server:
    def __init__(self, bin_path, backend, work, log_level):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.work = work
        self.log_path = os.path.join(work, "server.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LATCHKEY_")}
        env.update({
            "HOME": work,
            "LATCHKEY_LISTEN": f"127.0.0.1:{self.port}",
            "LATCHKEY_DATA_DIR": os.path.join(work, "data"),
            "LATCHKEY_BOOTSTRAP_ADMIN_SECRET": ADMIN_SECRET,
            "LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "LATCHKEY_PASSWORD_HASH_MEMORY_KIB": "1024",
            "LATCHKEY_PASSWORD_HASH_ITERATIONS": "1",
            "LATCHKEY_LOG_LEVEL": log_level,
        })
        if backend == "postgres":
            admin = os.environ.get("LATCHKEY_TEST_PG_URL")
            if not admin:
                sys.exit("http-fuzz: --backend postgres needs LATCHKEY_TEST_PG_URL (scripts/pg-cluster.sh)")
            db = f"httpfuzz_{os.getpid()}_{random.randrange(1 << 30)}"
            subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {db}"], check=True,
                           stdout=subprocess.DEVNULL)
            u = urllib.parse.urlsplit(admin)
            env["LATCHKEY_DATABASE_URL"] = urllib.parse.urlunsplit(u._replace(path="/" + db))
        self.env = env
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([bin_path, "serve"], env=env, cwd=work, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                c = Conn("127.0.0.1", self.port, 2)
                st, _, _, _ = c.request(build("GET", "/healthz", close=True))
                c.close()
                if st == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None:
                sys.exit("http-fuzz: the server exited during startup:\n" + open(self.log_path).read()[-3000:])
            if time.monotonic() > deadline:
                sys.exit("http-fuzz: no /healthz within 90 s")
            time.sleep(0.2)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


# --- the scripted flow: credentials of every kind, recorded -----------------------

SECRET_KEYS = re.compile(r"secret|token|password|^code$|device_code|assertion|csrf|session", re.I)


class Recorder:
    """Every credential the run created or received."""

    def __init__(self):
        self.values = {}  # value -> where it came from
        self.control = []  # bodies of the flow's successful responses
        self.in_pages = set()
        self.lock = threading.Lock()

    def add(self, value, origin, in_pages=False):
        """`in_pages`: the value is meant to appear in the pages its owner
        is served (a CSRF token), so error bodies are not scanned for it."""
        if isinstance(value, str) and len(value) >= 12:
            with self.lock:
                self.values.setdefault(value, origin)
                if in_pages:
                    self.in_pages.add(value)

    def walk(self, doc, origin):
        if isinstance(doc, dict):
            for k, v in doc.items():
                # A credential: under a credential's name, and random-looking
                # (not an enum value such as client_secret_basic).
                if (isinstance(v, str) and SECRET_KEYS.search(k) and not k.endswith(("_at", "_id", "hint", "_type",
                                                                                     "_in", "_method", "_storage"))
                        and not re.search(r"\s", v) and re.search(r"[0-9A-Z]", v)):
                    self.add(v, f"{origin}.{k}")
                else:
                    self.walk(v, origin)
        elif isinstance(doc, list):
            for v in doc:
                self.walk(v, origin)

    def needles(self, pages=False):
        """(needle, origin): each value, and its first and last 12
        characters; for a JWT, its signature instead of the whole token
        (the header is the same in every token of a key and not secret).
        `pages`: for scanning pages served to the credential's owner."""
        out = {}
        for v, origin in self.values.items():
            if pages and v in self.in_pages:
                continue
            parts = v.split(".")
            if len(parts) == 3 and v.startswith("eyJ"):
                v = parts[2]
                if len(v) < 12:
                    continue
            out.setdefault(v, origin)
            out.setdefault(v[:12], origin + " (first 12 chars)")
            out.setdefault(v[-12:], origin + " (last 12 chars)")
        return out


class Session:
    """Requests on one connection with a cookie jar (for the flow)."""

    def __init__(self, port, timeout, rec):
        self.conn = Conn("127.0.0.1", port, timeout)
        self.cookies = {}
        self.rec = rec

    def req(self, method, path, headers=(), body=b"", form=None, js=None):
        headers = list(headers)
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        if js is not None:
            body = json.dumps(js).encode()
            headers.append(("Content-Type", "application/json"))
        if self.cookies:
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        st, h, b, _ = self.conn.request(build(method, path, headers, body), head_only=(method == "HEAD"))
        if st < 300:
            self.rec.control.append(b)
        for c in h["__multi__"].get("set-cookie", []):
            name, _, rest = c.partition("=")
            val = rest.split(";")[0]
            if "max-age=0" in c.lower() or not val:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = val
                self.rec.add(val, f"cookie {name}")
        return st, h, b


def basic(cid, secret):
    return "Basic " + base64.b64encode(
        f"{urllib.parse.quote(cid, safe='')}:{urllib.parse.quote(secret, safe='')}".encode()).decode()


def jbody(b):
    try:
        return json.loads(b)
    except ValueError:
        return None


def scripted_flow(port, timeout, rec, prefix=""):
    """Creates and receives credentials of every kind; returns what the
    generator needs (ids, the admin token, a console session)."""
    s = Session(port, timeout, rec)
    # Never the admin client in generated requests: a valid admin token may
    # disable it or rotate its secret (force=true is valid input), locking
    # the run out.
    ctx = {"client_ids": ["no-such-client"], "user_ids": [], "cookies": {}, "csrf": None}
    rec.add(ADMIN_SECRET, "bootstrap admin secret")
    rec.add(ADMIN_PASSWORD, "bootstrap admin password")
    st, _, b = s.req("POST", "/oauth2/token", [("Authorization", basic(ADMIN_ID, ADMIN_SECRET))],
                     form={"grant_type": "client_credentials", "scope": "admin"})
    assert st == 200, (st, b)
    token = json.loads(b)["access_token"]
    rec.walk(json.loads(b), "admin token")
    ctx["admin_token"] = token
    auth = [("Authorization", "Bearer " + token)]
    steps = collections.Counter()

    def api(method, path, js=None, what=""):
        st, h, b = s.req(method, path, auth, js=js)
        doc = jbody(b)
        if st < 300:
            steps[what or path] += 1
            rec.walk(doc, what or path)
        else:
            log(f"flow: {method} {path} -> {st} {b[:200]!r}")
        return st, doc

    # Clients of each kind, secrets rotated.
    made = {}
    for kind, extra in [("m2m", {}), ("web", {"redirect_uris": ["https://app.example.com/cb"], "scopes": ["openid", "offline_access"],
                                  "grant_types": ["authorization_code", "refresh_token"]}),
                        ("connector", {}),
                        ("native", {"redirect_uris": ["http://127.0.0.1/cb"],
                                    "grant_types": ["authorization_code", "refresh_token",
                                                    "urn:ietf:params:oauth:grant-type:device_code"]})]:
        st, doc = api("POST", "/api/v1/clients", {"name": f"fuzz {kind}", "type": kind, **extra}, f"create {kind} client")
        if st < 300 and doc:
            made[kind] = doc
            ctx["client_ids"].append(doc["client_id"])
    if "m2m" in made:
        cid = made["m2m"]["client_id"]
        st, doc = api("POST", f"/api/v1/clients/{cid}/secrets/rotate", {"grace_seconds": 0}, "rotate secret")
        secret = None
        if doc:
            secret = next((v for k, v in _flat(doc) if "secret" in k and isinstance(v, str) and v.startswith("lks_")), None)
        if secret:
            st, h, b = s.req("POST", "/oauth2/token", [("Authorization", basic(cid, secret))],
                             form={"grant_type": "client_credentials"})
            if st == 200:
                steps["m2m token"] += 1
                tok = json.loads(b)
                rec.walk(tok, "m2m token")
                at = tok["access_token"]
                for ep in ("/oauth2/introspect", "/oauth2/revoke"):
                    st, h, b = s.req("POST", ep, [("Authorization", basic(ADMIN_ID, ADMIN_SECRET))], form={"token": at})
                    steps[ep] += st < 300
            ctx["m2m"] = (cid, secret)
    # Users with passwords, one generated by the server.
    pw = "pw-" + hashlib.sha256(os.urandom(16)).hexdigest()[:24]
    rec.add(pw, "user password (set)")
    st, doc = api("POST", "/api/v1/users", {"username": "fuzz-user", "password": pw, "email": "fu@example.com"}, "create user")
    if doc and st < 300:
        uid = doc.get("user_id") or doc.get("id") or (doc.get("user") or {}).get("user_id")
        if uid:
            ctx["user_ids"].append(uid)
            api("POST", f"/api/v1/users/{uid}/password", {}, "reset password (generated)")
    api("POST", "/api/v1/users", {"username": "fuzz-user-2"}, "create user (generated password)")
    # SCIM user with a password, through a provisioning connector's token.
    spw = "scim-" + hashlib.sha256(os.urandom(16)).hexdigest()[:24]
    rec.add(spw, "SCIM user password")
    ctx["scim_token"] = token
    if "connector" in made:
        c = made["connector"]
        st, h, b = s.req("POST", "/oauth2/token", [("Authorization", basic(c["client_id"], c.get("client_secret", "")))],
                         form={"grant_type": "client_credentials", "scope": "users:read users:write"})
        if st == 200:
            rec.walk(jbody(b), "connector token")
            ctx["scim_token"] = jbody(b)["access_token"]
    st, h, b = s.req("POST", "/scim/v2/Users", [("Authorization", "Bearer " + ctx["scim_token"]),
                                                ("Content-Type", "application/scim+json")],
                     body=json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                      "userName": "scim-fuzz", "password": spw, "active": True}).encode())
    steps["scim user"] += st < 300
    if st < 300 and jbody(b):
        ctx["scim_id"] = jbody(b).get("id")
    else:
        log(f"flow: SCIM user -> {st} {b[:200]!r}")
    # A tenant and its admin secret.
    st, doc = api("POST", "/api/v1/tenants", {"tenant_id": "fuzzt"}, "create tenant")
    # A device authorization.
    if "native" in made:
        st, h, b = s.req("POST", "/oauth2/device_authorization", form={"client_id": made["native"]["client_id"]})
        if st == 200:
            steps["device authorization"] += 1
            rec.walk(jbody(b), "device authorization")
            ctx["user_code"] = jbody(b).get("user_code")
    # The console: sign in through the login page (an authorization code flow).
    console_sign_in(s, ctx, rec, steps)
    # A code flow for the web client with the browser session: code, refresh and ID tokens.
    if "web" in made:
        code_flow(s, made["web"], rec, steps, port)
    ctx["cookies"] = dict(s.cookies)
    ctx["steps"] = dict(steps)
    s.conn.close()
    return ctx


def _flat(doc, prefix=""):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _flat(v, k)
    elif isinstance(doc, list):
        for v in doc:
            yield from _flat(v, prefix)
    else:
        yield prefix, doc


def _hidden(html, name):
    m = re.search(rb'name="' + name.encode() + rb'" value="([^"]*)"', html)
    return m and m.group(1).decode().replace("&amp;", "&")


def _follow(s, path, steps, rec, limit=10):
    """GET with redirects followed inside the server; returns the last
    (status, headers, body, path) and records codes seen in Location."""
    for _ in range(limit):
        st, h, b = s.req("GET", path)
        loc = h.get("location")
        if st in (301, 302, 303, 307) and loc:
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
            for k in ("code", "state"):
                if k in q:
                    rec.add(q[k][0], f"redirect {k}")
            u = urllib.parse.urlsplit(loc)
            if u.netloc and not u.netloc.startswith("127.0.0.1"):
                return st, h, b, loc
            path = u.path + ("?" + u.query if u.query else "")
            continue
        return st, h, b, path
    return st, h, b, path


def _post_page_form(s, path, html, fields, rec):
    """Submits the first form of a page with its hidden fields and ours."""
    action = re.search(rb'<form[^>]*action="([^"]*)"', html)
    action = action.group(1).decode().replace("&amp;", "&") if action else path
    form = {k.decode(): v.decode().replace("&amp;", "&")
            for k, v in re.findall(rb'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    form.update(fields)
    if form.get("csrf"):
        rec.add(form["csrf"], "csrf token", in_pages=True)
    return s.req("POST", action, form=form), action


def console_sign_in(s, ctx, rec, steps):
    st, h, b, path = _follow(s, "/console/", steps, rec)
    if b"password" not in b:
        log(f"flow: no login page at {path} ({st})")
        return
    (st, h, b), _ = _post_page_form(s, path, b, {"username": "admin", "password": ADMIN_PASSWORD}, rec)
    loc = h.get("location")
    if loc:
        u = urllib.parse.urlsplit(loc)
        st, h, b, path = _follow(s, u.path + ("?" + u.query if u.query else ""), steps, rec)
    st, h, b = s.req("GET", "/console/clients")
    csrf = _hidden(b, "csrf")
    if st == 200 and csrf:
        steps["console sign-in"] += 1
        ctx["csrf"] = csrf
        rec.add(csrf, "console csrf", in_pages=True)
    else:
        log(f"flow: console sign-in failed ({st})")


def code_flow(s, client, rec, steps, port):
    verifier = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    rec.add(verifier, "PKCE verifier")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    q = urllib.parse.urlencode({"client_id": client["client_id"], "response_type": "code",
                                "redirect_uri": "https://app.example.com/cb", "scope": "openid offline_access",
                                "state": "st-" + os.urandom(8).hex(), "nonce": "n-" + os.urandom(8).hex(),
                                "code_challenge": challenge, "code_challenge_method": "S256"})
    st, h, b, last = _follow(s, "/oauth2/authorize?" + q, steps, rec)
    if not last.startswith("https://app.example.com") and b"<form" in b:
        (st, h, b), _ = _post_page_form(s, last, b, {"decision": "allow", "approve": "1"}, rec)
        last = h.get("location", "")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(last).query).get("code", [None])[0]
    if not code:
        log(f"flow: the code flow gave no code ({st}, {last[:120]})")
        return
    secret = next((v for k, v in _flat(client) if "secret" in k and isinstance(v, str) and v.startswith("lks_")), None)
    hdr = [("Authorization", basic(client["client_id"], secret))] if secret else []
    st, h, b = s.req("POST", "/oauth2/token", hdr, form={"grant_type": "authorization_code", "code": code,
                                                         "redirect_uri": "https://app.example.com/cb",
                                                         "code_verifier": verifier})
    if st == 200:
        steps["code flow"] += 1
        tok = jbody(b)
        rec.walk(tok, "code flow tokens")
        if tok.get("refresh_token"):
            st, h, b = s.req("POST", "/oauth2/token", hdr, form={"grant_type": "refresh_token",
                                                                 "refresh_token": tok["refresh_token"]})
            if st == 200:
                steps["refresh"] += 1
                rec.walk(jbody(b), "refreshed tokens")
            st, h, b = s.req("GET", "/oauth2/userinfo", [("Authorization", "Bearer " + tok["access_token"])])
            steps["userinfo"] += st == 200
    else:
        log(f"flow: code redemption -> {st} {b[:200]!r}")


# --- the generator ----------------------------------------------------------------

# (methods, path, body kind). {c} a client id, {u} a user id, {x} anything.
ENDPOINTS = [
    ("POST", "/oauth2/token", "form"), ("GET POST", "/oauth2/authorize", "query"),
    ("POST", "/oauth2/introspect", "form"), ("POST", "/oauth2/revoke", "form"),
    ("GET POST", "/oauth2/userinfo", "form"), ("POST", "/oauth2/device_authorization", "form"),
    ("GET", "/oauth2/jwks", "none"), ("GET POST", "/oauth2/logout", "query"),
    ("GET POST", "/device", "page"), ("GET POST", "/login", "page"), ("GET POST", "/consent", "page"),
    ("GET POST", "/logout", "page"), ("GET", "/remote/start", "query"), ("GET", "/remote/callback/{x}", "query"),
    ("GET", "/federation/start", "query"),
    ("GET", "/.well-known/openid-configuration", "none"), ("GET", "/.well-known/oauth-authorization-server", "none"),
    ("GET", "/.well-known/openid-configuration/t/{x}", "none"),
    ("GET", "/healthz", "none"), ("GET", "/readyz", "none"), ("GET", "/metrics", "none"),
    ("GET", "/", "none"), ("GET", "/assets/{x}", "none"), ("GET", "/api/docs", "none"),
    ("GET", "/api/v1/openapi.json", "none"),
    ("GET POST", "/api/v1/clients", "json"), ("GET PATCH PUT DELETE", "/api/v1/clients/{c}", "json"),
    ("POST", "/api/v1/clients/{c}/disable", "json"), ("POST", "/api/v1/clients/{c}/enable", "json"),
    ("GET POST", "/api/v1/clients/{c}/secrets", "json"), ("POST", "/api/v1/clients/{c}/secrets/rotate", "json"),
    ("DELETE", "/api/v1/clients/{c}/secrets/{x}", "json"), ("POST", "/api/v1/clients/{c}/test-redirect", "json"),
    ("POST", "/api/v1/clients:batch", "json"), ("GET POST", "/api/v1/scopes", "json"),
    ("GET PATCH PUT DELETE", "/api/v1/scopes/{x}", "json"), ("GET POST", "/api/v1/security-classes", "json"),
    ("GET PATCH PUT DELETE", "/api/v1/security-classes/{x}", "json"), ("GET POST", "/api/v1/users", "json"),
    ("GET PATCH DELETE", "/api/v1/users/{u}", "json"), ("POST", "/api/v1/users/{u}/password", "json"),
    ("POST", "/api/v1/users/{u}/disable", "json"), ("GET", "/api/v1/users/{u}/consents", "json"),
    ("DELETE", "/api/v1/users/{u}/consents/{c}", "json"), ("GET", "/api/v1/users/{u}/federated-links", "json"),
    ("GET POST", "/api/v1/tenants", "json"), ("GET PATCH DELETE", "/api/v1/tenants/{x}", "json"),
    ("GET", "/api/v1/audit-events", "query"), ("GET POST", "/api/v1/keys", "json"),
    ("POST", "/api/v1/keys/rotate", "json"), ("GET", "/api/v1/me", "json"), ("GET POST", "/api/v1/providers", "json"),
    ("GET PUT DELETE", "/api/v1/providers/{x}", "json"), ("GET POST", "/api/v1/remote-clients", "json"),
    ("GET PUT DELETE", "/api/v1/remote-clients/{x}/{x}", "json"), ("GET POST", "/api/v1/authorizations", "json"),
    ("GET POST", "/api/v1/authorizations/{x}/{x}/token", "json"),
    ("GET POST", "/scim/v2/Users", "scim"), ("GET PUT PATCH DELETE", "/scim/v2/Users/{x}", "scim"),
    ("GET POST", "/scim/v2/Groups", "scim"), ("GET PUT PATCH DELETE", "/scim/v2/Groups/{x}", "scim"),
    ("POST", "/scim/v2/.search", "scim"), ("POST", "/scim/v2/Users/.search", "scim"),
    ("GET", "/scim/v2/ServiceProviderConfig", "none"), ("GET", "/scim/v2/ResourceTypes", "none"),
    ("GET", "/scim/v2/Schemas", "none"),
    ("GET", "/console/", "console"), ("GET POST", "/console/clients/new/{x}", "console"),
    ("GET POST", "/console/clients/{c}/edit", "console"), ("POST", "/console/clients/{c}/disable", "console"),
    ("POST", "/console/clients/{c}/enable", "console"), ("POST", "/console/clients/{c}/secrets/rotate", "console"),
    ("POST", "/console/clients/{c}/secrets/{x}/revoke", "console"), ("POST", "/console/clients/bulk", "console"),
    ("GET", "/console/clients", "console"), ("GET", "/console/clients/results", "console"),
    ("GET POST", "/console/scopes", "console"), ("POST", "/console/scopes/{x}/delete", "console"),
    ("GET POST", "/console/classes", "console"), ("GET POST", "/console/users", "console"),
    ("GET", "/console/users/{u}", "console"), ("POST", "/console/users/{u}/role", "console"),
    ("POST", "/console/users/{u}/password", "console"), ("GET POST", "/console/settings", "console"),
    ("GET POST", "/console/keys", "console"), ("POST", "/console/keys/rotate", "console"),
    ("GET POST", "/console/tenants", "console"), ("POST", "/console/switch", "console"),
    ("GET", "/console/audit", "console"), ("GET POST", "/console/providers", "console"),
    ("GET POST", "/console/remote-clients", "console"), ("GET", "/console/authorizations", "console"),
    ("GET", "/console/{x}", "console"),
]

METHODS_ODD = ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "HEAD", "get", "FOO", "PROPFIND", "M" * 100]
ABSURD_NUMBERS = ["0", "-1", "1e999", "-1e999", "18446744073709551616", "-9223372036854775809", "9223372036854775807",
                  "1e-400", "0.5", "NaN", "Infinity", "0x10", "1_000", "00000000000000000001", "1" * 400, "-0"]
NASTY = ["", " ", "\u0000", "%00", "%ff", "%", "%zz", "../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%2e%2e",
         "\u202e", "é" * 50, "😀", "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:ldap://x}",
         "{{7*7}}", "a" * 5000, "admin", "null", "true", "[]", "{}", "\r\nX-Injected: 1",
         "https://evil.example/cb", "javascript:alert(1)", "*", "default", "fuzzt"] + ABSURD_NUMBERS
PARAMS = ["grant_type", "code", "redirect_uri", "client_id", "client_secret", "refresh_token", "scope", "token",
          "token_type_hint", "code_verifier", "device_code", "client_assertion", "client_assertion_type",
          "response_type", "response_mode", "state", "nonce", "prompt", "max_age", "code_challenge",
          "code_challenge_method", "login_hint", "id_token_hint", "post_logout_redirect_uri", "user_code", "username",
          "password", "csrf", "limit", "cursor", "filter", "startIndex", "count", "attributes", "sortBy", "q",
          "type", "status", "since", "until", "request", "request_uri", "audience", "resource", "decision", "tenant"]
GRANTS = ["authorization_code", "client_credentials", "refresh_token", "password", "implicit",
          "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer", "x"]


# Where the run's own credentials are sent back (the server knows these
# carry credentials and must not log or echo them); anywhere else (a query
# filter, a name) an echo to the sender would be no leak.
CRED_PARAMS = {"code", "client_secret", "refresh_token", "token", "code_verifier", "device_code",
               "client_assertion", "password", "id_token_hint"}


def nasty(rng, ctx, cred=False):
    r = rng.random()
    if cred and r < 0.5 and ctx["secrets"]:
        return rng.choice(ctx["secrets"])
    if r < 0.4:
        return rng.choice(GRANTS)
    if r < 0.5:
        return str(rng.choice([rng.randrange(-2**70, 2**70), rng.random() * 10 ** rng.randrange(-300, 300)]))
    return rng.choice(NASTY)


def json_value(rng, ctx, depth=0):
    r = rng.random()
    if depth > 3 or r < 0.4:
        return rng.choice([nasty(rng, ctx), None, True, False, rng.randrange(-2**64, 2**64), 1e308, -0.0, []])
    if r < 0.7:
        keys = ["name", "type", "redirect_uris", "grant_types", "scopes", "client_id", "username", "password",
                "email", "roles", "description", "tenant_id", "settings", "access_token_lifetime", "jwks",
                "jwks_uri", "labels", "metadata", "grace_seconds", "label", "schemas", "Operations", "op", "path",
                "value", "userName", "active", "emails", "members", "displayName", "filter", "startIndex",
                "count", "items", "force", "purpose", "activate_in_seconds", "allowed_cors_origins", "audiences"]
        return {rng.choice(keys): json_value(rng, ctx, depth + 1) for _ in range(rng.randrange(0, 6))}
    return [json_value(rng, ctx, depth + 1) for _ in range(rng.randrange(0, 5))]


def json_body(rng, ctx, kind):
    r = rng.random()
    if r < 0.45:
        doc = json_value(rng, ctx)
        if kind == "scim" and isinstance(doc, dict) and rng.random() < 0.6:
            doc["schemas"] = [rng.choice(["urn:ietf:params:scim:api:messages:2.0:PatchOp",
                                          "urn:ietf:params:scim:schemas:core:2.0:User",
                                          "urn:ietf:params:scim:schemas:core:2.0:Group",
                                          "urn:ietf:params:scim:api:messages:2.0:SearchRequest"])]
            if rng.random() < 0.5:
                doc["Operations"] = [{"op": rng.choice(["add", "remove", "replace", "Replace", "x"]),
                                      "path": rng.choice(["userName", "emails[type eq \"work\"].value", "members",
                                                          "name.givenName", "active", nasty(rng, ctx)]),
                                      "value": json_value(rng, ctx, 2)}]
        return json.dumps(doc).encode()
    if r < 0.55:
        good = json.dumps(json_value(rng, ctx)).encode()
        return good[:rng.randrange(0, max(1, len(good)))]
    if r < 0.6:
        d = rng.randrange(100, 20000)
        return b"[" * d + b"]" * d
    if r < 0.65:
        return b'{"name": "' + b"x" * rng.randrange(1000, 900_000) + b'"}'
    if r < 0.7:
        return b'{"name": "\xff\xfe", "type": "m2m"}'
    if r < 0.75:
        return b'{"name": "a", "name": "b", "type": "m2m", "type": "web"}'
    if r < 0.8:
        return ('{"access_token_lifetime": %s, "grace_seconds": %s, "count": %s}' % (
            rng.choice(ABSURD_NUMBERS), rng.choice(ABSURD_NUMBERS), rng.choice(ABSURD_NUMBERS))).encode()
    if r < 0.85:
        return b"\xef\xbb\xbf" + json.dumps(json_value(rng, ctx)).encode()
    if r < 0.9:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
    return b""


def form_body(rng, ctx):
    pairs = []
    if rng.random() < 0.6:
        pairs.append(("grant_type", rng.choice(GRANTS)))
    for _ in range(rng.randrange(0, 8)):
        k = rng.choice(PARAMS)
        pairs.append((k, nasty(rng, ctx, cred=k in CRED_PARAMS)))
    r = rng.random()
    if r < 0.1 and pairs:
        pairs.append(pairs[0])  # a repeated parameter
    body = urllib.parse.urlencode(pairs).encode()
    if r > 0.9:
        body += rng.choice([b"&a=%", b"&%ff=1", b"&a=%c3%28", b"&=&&=", b"&" + b"x=1&" * 3000,
                            b"&big=" + b"A" * 70_000, b"\xff\xfe", b"&a=\x00"])
    return body


def pick_path(rng, ctx, template):
    def sub(m):
        k = m.group(1)
        r = rng.random()
        if k == "c" and r < 0.6:
            return urllib.parse.quote(rng.choice(ctx["client_ids"]), safe="")
        if k == "u" and r < 0.6 and ctx["user_ids"]:
            return rng.choice(ctx["user_ids"])
        v = nasty(rng, ctx)
        return v if rng.random() < 0.2 else urllib.parse.quote(v, safe="")
    return re.sub(r"\{(\w)\}", sub, template)


def query(rng, ctx):
    n = rng.choice([0, 1, 2, 3, 5, 10, 1000])
    pairs = [(rng.choice(PARAMS), nasty(rng, ctx)) for _ in range(n)]
    q = urllib.parse.urlencode(pairs)
    if rng.random() < 0.1:
        q += rng.choice(["&limit=-1", "&limit=99999999999999999999", "&cursor=%ff", "&a=%", "&&&", "&a=1&a=2",
                         "&filter=" + urllib.parse.quote('userName eq "x" and (' * 40)])
    return q


def generate(rng, ctx):
    """One hostile request: (raw bytes, label, destructive-safe)."""
    methods, template, kind = rng.choice(ENDPOINTS)
    method = rng.choice(methods.split())
    if rng.random() < 0.07:
        method = rng.choice(METHODS_ODD)
    path = pick_path(rng, ctx, template)
    r = rng.random()
    if r < 0.1:
        prefix = rng.choice(["/t/fuzzt", "/t/default", "/t/nobody", "/t/%ff", "/t/" + "x" * 300, "/t/..", "/t/"])
        path = prefix + path
    elif r < 0.15:
        path = rng.choice(["/..", "/%2e%2e", "//", "/./", "/%2f", "/;x=1/", "/\\..\\"]) + path
    q = query(rng, ctx) if rng.random() < (0.8 if kind == "query" else 0.3) else ""
    target = path + ("?" + q if q else "")
    if rng.random() < 0.02:
        target = target.encode() + rng.choice([b"\xff\xfe", b"%", b"\x01", b" x", b"#frag"])
    headers = []
    auth = rng.random()
    if kind in ("json", "scim") and auth < 0.6:
        headers.append(("Authorization", "Bearer " + ctx["scim_token" if kind == "scim" and auth < 0.4 else "admin_token"]))
    elif auth < 0.75 and kind in ("form",):
        headers.append(("Authorization", basic(ADMIN_ID, ADMIN_SECRET) if rng.random() < 0.5 else basic(nasty(rng, ctx) or "x", nasty(rng, ctx, cred=True))))
    elif auth < 0.85:
        headers.append(("Authorization", rng.choice(["Bearer", "Bearer " + nasty(rng, ctx, cred=True), "Basic !!!", "Basic",
                                                     "Digest x", "Bearer " + "A" * 5000, "Basic " + "A" * 6000,
                                                     basic("", "x"), "bearer " + ctx["admin_token"]])))
    console_ok = kind == "console" and rng.random() < 0.6 and ctx["cookies"]
    if console_ok or (kind == "page" and rng.random() < 0.3 and ctx["cookies"]):
        headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in ctx["cookies"].items())))
    elif rng.random() < 0.1:
        headers.append(("Cookie", rng.choice(["lk_session=" + nasty(rng, ctx, cred=True), "a=b; " * 200, "=;=;", "\x7f"])))
    body = b""
    if method not in ("GET", "HEAD"):
        if kind in ("json", "scim"):
            body = json_body(rng, ctx, kind)
            ctype = "application/scim+json" if kind == "scim" else "application/json"
        else:
            pairs = []
            if kind in ("console", "page") and ctx["csrf"] and rng.random() < 0.6:
                pairs.append(("csrf", ctx["csrf"]))
            body = form_body(rng, ctx) if kind in ("form", "query") else urllib.parse.urlencode(
                pairs + [(rng.choice(PARAMS + ["name", "description", "redirect_uris", "role", "scopes",
                                               "display_name", "confirm", "user_code", "decision"]), nasty(rng, ctx))
                         for _ in range(rng.randrange(0, 8))]).encode()
            ctype = "application/x-www-form-urlencoded"
        c = rng.random()
        if c < 0.1:
            ctype = rng.choice(["text/plain", "application/json; charset=utf-16", "multipart/form-data; boundary=x",
                                "application/x-www-form-urlencoded; charset=latin1", "*/*", ";;;", "application/xml",
                                "application/json", "application/x-www-form-urlencoded", "x" * 3000])
        if c > 0.05:
            headers.append(("Content-Type", ctype))
    h = rng.random()
    if h < 0.03:
        headers.append(("X-Fuzz", "v" * rng.randrange(1000, 30000)))
    elif h < 0.05:
        headers += [(f"X-Many-{i}", "1") for i in range(rng.randrange(10, 90))]
    elif h < 0.07:
        headers.append((rng.choice(["Origin", "Referer", "X-Forwarded-For", "X-Forwarded-Host", "Accept",
                                    "Accept-Language", "If-None-Match", "If-Match", "Range", "Forwarded"]),
                        nasty(rng, ctx).replace("\r", "").replace("\n", "")))
    elif h < 0.08:
        headers.append(("X-Bytes", b"\xff\xfe\x80"))
    elif h < 0.09:
        headers.append(("Content-Type", "application/json"))  # a repeated header
    close = False
    if body and rng.random() < 0.05:
        # A chunked body.
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000]) for i in range(0, len(body), 1000))
        headers.append(("Transfer-Encoding", "chunked"))
        body = chunks + b"0\r\n\r\n"
    elif rng.random() < 0.01:
        headers.append(("Expect", "100-continue"))
        close = True
    label = f"{method} {template}"
    return build(method, target, headers, body, close=close), label, method


def worker(n, seed, port, timeout, ctx, results, deadline_box, stop):
    rng = random.Random(seed)
    conn = Conn("127.0.0.1", port, timeout)
    for _ in range(n):
        if stop.is_set():
            break
        raw, label, method = generate(rng, ctx)
        t0 = time.monotonic()
        try:
            st, h, body, _ = conn.request(raw, head_only=(method == "HEAD"))
        except socket.timeout:
            results.add(label, "timeout", b"", time.monotonic() - t0, raw)
            conn.close()
            continue
        except (ConnectionError, OSError, ValueError, IndexError) as e:
            # The server may answer garbage with a 400 and close: that is fine.
            results.add(label, "closed", str(e).encode(), time.monotonic() - t0, raw)
            conn.close()
            continue
        results.add(label, st, body, time.monotonic() - t0, raw)
    conn.close()


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = collections.Counter()
        self.fivexx = []
        self.timeouts = []
        self.error_bodies = []
        self.error_bytes = 0
        self.count = 0
        self.slowest = 0.0

    def add(self, label, st, body, secs, raw):
        with self.lock:
            self.count += 1
            self.statuses[str(st)] += 1
            self.slowest = max(self.slowest, secs)
            if st == "timeout":
                self.timeouts.append((label, raw[:300]))
            elif isinstance(st, int) and st >= 500:
                self.fivexx.append((label, st, raw[:500], body[:500]))
            if isinstance(st, int) and st >= 400 and self.error_bytes < 64 << 20:
                self.error_bodies.append(body[:65536])
                self.error_bytes += len(body[:65536])

    def progress(self):
        with self.lock:
            return self.count


# --- the secret scan ----------------------------------------------------------------

def fetch_all_audit(port, timeout, token):
    s = Session(port, timeout, Recorder())
    pages, out, cursor = 0, [], None
    while True:
        path = "/api/v1/audit-events?limit=500" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        st, h, b = s.req("GET", path, [("Authorization", "Bearer " + token)])
        if st != 200:
            raise RuntimeError(f"audit list: {st} {b[:200]!r}")
        out.append(b)
        pages += 1
        cursor = jbody(b).get("next_cursor")
        if not cursor or pages > 10000:
            break
    s.conn.close()
    return b"\n".join(out), pages


def scan(sources, rec):
    """sources: name -> bytes. Returns [(source, origin, context)]."""
    found = []
    for name, data in sources.items():
        needles = rec.needles(pages=name == "error bodies")
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        for needle, origin in needles.items():
            i = text.find(needle)
            if i >= 0:
                found.append((name, origin, text[max(0, i - 80):i + len(needle) + 40]))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--requests", type=int, default=60000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    ap.add_argument("--log-level", default="debug")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (server log)")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)

    work = tempfile.mkdtemp(prefix="latchkey-http-fuzz.")
    srv = Server(a.bin, a.backend, work, a.log_level)
    rc = 0
    problems = []
    try:
        rec = Recorder()
        t0 = time.monotonic()
        ctx = scripted_flow(srv.port, a.timeout, rec)
        ctx["secrets"] = sorted(rec.values)
        log(f"flow: {ctx['steps']}; {len(rec.values)} credentials recorded")
        # Warm-up (allocator pools, caches) before the RSS baseline.
        warm = Results()
        stop = threading.Event()
        ths = [threading.Thread(target=worker, args=(100, a.seed * 7919 + 10_000 + i, srv.port, a.timeout, ctx,
                                                     warm, None, stop)) for i in range(a.concurrency)]
        [t.start() for t in ths]
        [t.join() for t in ths]
        rss_before = rss_kib(srv.proc.pid)
        res = Results()
        per = [a.requests // a.concurrency + (1 if i < a.requests % a.concurrency else 0) for i in range(a.concurrency)]
        start = time.monotonic()
        ths = [threading.Thread(target=worker, args=(per[i], a.seed * 7919 + i, srv.port, a.timeout, ctx, res, None,
                                                     stop)) for i in range(a.concurrency)]
        [t.start() for t in ths]
        rss_peak = rss_before or 0
        while any(t.is_alive() for t in ths):
            time.sleep(0.5)
            rss_peak = max(rss_peak, rss_kib(srv.proc.pid) or 0)
            if not srv.alive():
                stop.set()
        [t.join() for t in ths]
        secs = time.monotonic() - start
        # Memory back near where it was: sampled for up to 10 s.
        rss_after = None
        for _ in range(20):
            rss_after = rss_kib(srv.proc.pid)
            if rss_after is None or rss_before is None or rss_after <= rss_before + max(16 << 10, rss_before // 4):
                break
            time.sleep(0.5)
        alive = srv.alive()
        # A fresh admin token for the scan (recorded too), then the sources.
        sources = {}
        needles_extra = {}
        if alive:
            s = Session(srv.port, a.timeout, rec)
            st, h, b = s.req("POST", "/oauth2/token", [("Authorization", basic(ADMIN_ID, ADMIN_SECRET))],
                             form={"grant_type": "client_credentials", "scope": "admin"})
            if st != 200:
                raise SystemExit(f"http-fuzz: the admin client is locked out after the run: {st} {b[:300]!r}")
            token = json.loads(b)["access_token"]
            rec.add(token, "scan admin token")
            audit, audit_pages = fetch_all_audit(srv.port, a.timeout, token)
            sources["audit events"] = audit
            st, h, b = s.req("GET", "/metrics")
            sources["/metrics"] = b
            s.conn.close()
            env = dict(srv.env, LATCHKEY_CLIENT_ID=ADMIN_ID, LATCHKEY_CLIENT_SECRET=ADMIN_SECRET)
            for fmt in ([], ["-o", "json"]):
                p = subprocess.run([a.bin, "--server", srv.base, *fmt, "export"], env=env, cwd=work,
                                   capture_output=True, timeout=120)
                if p.returncode != 0:
                    problems.append(f"latchkey export failed: {p.stderr[-500:]!r}")
                sources["latchkey export " + " ".join(fmt)] = p.stdout + p.stderr
        else:
            audit_pages = 0
        srv.stop()
        log_bytes = open(srv.log_path, "rb").read()
        sources["server log"] = log_bytes
        sources["error bodies"] = b"\n".join(res.error_bodies + warm.error_bodies)
        needles = rec.needles()
        leaks = scan(sources, rec)
        # A positive control: the flow's own responses carry its credentials,
        # so a scan that finds none of them there is broken.
        control = {o for _, o, _ in scan({"control": b"\n".join(rec.control)}, rec)}
        if len(control) < 10:
            problems.append(f"the scan finds only {len(control)} credentials in the responses that carry them")
        panics = len(re.findall(rb"panicked|\bpanic\b", log_bytes))
        summary = {
            "backend": a.backend, "requests": res.count, "seconds": round(secs, 1),
            "requests_per_second": round(res.count / secs) if secs else None,
            "statuses": dict(sorted(res.statuses.items())), "server_errors": len(res.fivexx),
            "timeouts": len(res.timeouts), "slowest_ms": round(res.slowest * 1000), "panics": panics,
            "rss_before_kib": rss_before, "rss_peak_kib": rss_peak, "rss_after_kib": rss_after,
            "server_alive": alive, "credentials": len(rec.values), "needles": len(needles),
            "scanned": {k: len(v) for k, v in sources.items()}, "audit_pages": audit_pages,
            "leaks": len(leaks), "control_hits": len(control), "flow": ctx["steps"], "log_level": a.log_level,
        }
        for label, st, raw, body in res.fivexx[:20]:
            problems.append(f"{st} for {label}: {raw[:200]!r} -> {body[:200]!r}")
        for label, raw in res.timeouts[:10]:
            problems.append(f"no answer within {a.timeout} s: {label}: {raw[:200]!r}")
        for src, origin, context in leaks[:30]:
            problems.append(f"secret ({origin}) found in {src}: ...{context!r}...")
        if panics:
            problems.append(f"{panics} panic lines in the server log")
        if not alive:
            problems.append("the server died")
        if rss_before and rss_after and rss_after > rss_before + max(32 << 10, rss_before // 2):
            problems.append(f"RSS {rss_before} KiB before, {rss_after} KiB after: not back near its value")
        if res.count < a.requests:
            problems.append(f"only {res.count} of {a.requests} requests sent")
        for p in problems:
            log("FAIL:", p)
        rc = 1 if problems else 0
        summary["ok"] = rc == 0
        print("http-fuzz: " + json.dumps(summary), flush=True)
    finally:
        srv.stop()
        if a.keep or rc:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
