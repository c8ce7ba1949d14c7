"""A second, independent relying party: Python Authlib against a running
Latchkey (scripts/test-extra.sh starts the server and passes its URL and an
admin token).

Creates a user and two clients through the admin API, then for a
confidential web client and a public client with PKCE: authorization code
flow (a requests session fills in the login and consent forms), token
exchange by Authlib's OAuth2Session, ID-token validation with Authlib's JOSE
(signature against the JWKS, iss, aud, exp, nonce, at_hash), userinfo,
refresh with rotation and reuse detection, a hybrid `code id_token`
response validated with c_hash, and client_credentials with Authlib's
private_key_jwt (RFC 7523) client authentication. Prints one line per check and, last,
"authlib: N passed, M failed".
"""

import json
import re
import secrets
import sys
import traceback
import urllib.parse
import warnings

warnings.filterwarnings("ignore", message=".*authlib.jose module is deprecated.*")

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt  # noqa: E402
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign  # noqa: E402
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # noqa: E402
from authlib.oidc.core import CodeIDToken, HybridIDToken  # noqa: E402

BASE, ADMIN_TOKEN = sys.argv[1], sys.argv[2]
PASSWORD = "correct horse battery staple"
WEB_CB = "https://web.example/callback"
SPA_CB = "http://127.0.0.1/spa/callback"

results = []
shared = {}


def check(name):
    def wrap(fn):
        try:
            fn()
            results.append((name, None))
            print(f"authlib: ok   {name}")
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            results.append((name, e))
            print(f"authlib: FAIL {name}: {e!r}")
            traceback.print_exc()
        return fn

    return wrap


def admin(method, path, body):
    r = requests.request(method, BASE + "/api/v1" + path, json=body, headers={"Authorization": "Bearer " + ADMIN_TOKEN})
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()


suffix = secrets.token_hex(4)
username = "authlib-" + suffix
admin("POST", "/users", {"username": username, "password": PASSWORD, "email": f"{username}@example.com"})
web = admin("POST", "/clients", {
    "name": "authlib web " + suffix, "type": "web", "redirect_uris": [WEB_CB],
    "scopes": ["openid", "profile", "email", "offline_access"], "require_consent": True,
})
spa = admin("POST", "/clients", {
    "name": "authlib spa " + suffix, "type": "spa", "redirect_uris": [SPA_CB], "scopes": ["openid", "profile"],
})
hybrid = admin("POST", "/clients", {
    "name": "authlib hybrid " + suffix, "type": "hybrid", "redirect_uris": [WEB_CB], "scopes": ["openid"],
})
signing_key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "authlib-" + suffix})
signed = admin("POST", "/clients", {
    "name": "authlib signed " + suffix, "type": "m2m", "token_endpoint_auth_method": "private_key_jwt",
    "jwks": json.dumps({"keys": [signing_key.as_dict(is_private=False)]}),
})
meta = requests.get(BASE + "/.well-known/openid-configuration").json()
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"]).json())


def field(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, html)
    assert m, f"no {name} field in page"
    return m.group(1)


def browse(url):
    """Follows login and consent pages to the response at the client."""
    browser = browse.session
    r = browser.get(url, allow_redirects=False)
    for _ in range(3):
        if r.status_code == 303:
            return r.headers["Location"]
        assert r.status_code == 200, r.status_code
        html = r.text
        if 'action="/login"' in html:
            r = browser.post(BASE + "/login", allow_redirects=False, data={
                "tx": field(html, "tx"), "csrf": field(html, "csrf"), "username": username, "password": PASSWORD})
        elif 'action="/consent"' in html:
            r = browser.post(BASE + "/consent", allow_redirects=False, data={
                "tx": field(html, "tx"), "csrf": field(html, "csrf"), "decision": "allow"})
        else:
            raise AssertionError("unexpected page")
    raise AssertionError("no response at the client")


browse.session = requests.Session()


def validate_id_token(token, client_id, nonce, access_token=None, code=None, cls=CodeIDToken):
    params = {"nonce": nonce, "client_id": client_id}
    if access_token:
        params["access_token"] = access_token
    if code:
        params["code"] = code
    claims = jwt.decode(token, jwks, claims_cls=cls, claims_options={
        "iss": {"essential": True, "value": meta["issuer"]}}, claims_params=params)
    claims.validate()
    assert claims["aud"] == client_id
    return claims


def code_flow(client, redirect_uri, scope):
    session = OAuth2Session(client["client_id"], client.get("client_secret"), scope=scope,
                            redirect_uri=redirect_uri, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic" if client.get("client_secret") else "none")
    verifier = generate_token(48)
    nonce = generate_token(16)
    url, state = session.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    back = browse(url)
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))
    assert params["iss"] == meta["issuer"], "RFC 9207 iss"
    assert params["state"] == state
    token = session.fetch_token(meta["token_endpoint"], authorization_response=back, code_verifier=verifier)
    return session, token, nonce


@check("confidential client: code flow, ID token, userinfo")
def confidential():
    session, token, nonce = code_flow(web, WEB_CB, "openid profile email offline_access")
    claims = validate_id_token(token["id_token"], web["client_id"], nonce, access_token=token["access_token"])
    assert "auth_time" in claims and "at_hash" in claims
    info = session.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["email"] == f"{username}@example.com", info
    shared["session"], shared["token"] = session, token


@check("refresh: rotation, then reuse revokes the family")
def refresh():
    session, token = shared["session"], shared["token"]
    old = token["refresh_token"]
    new = session.refresh_token(meta["token_endpoint"], refresh_token=old)
    assert new["refresh_token"] != old and new["access_token"] != token["access_token"]
    r = requests.post(meta["token_endpoint"], auth=(web["client_id"], web["client_secret"]),
                      data={"grant_type": "refresh_token", "refresh_token": old})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = requests.post(meta["token_endpoint"], auth=(web["client_id"], web["client_secret"]),
                      data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]})
    assert r.status_code == 400, "the rotated token died with its family"


@check("public client with PKCE")
def public():
    session, token, nonce = code_flow(spa, SPA_CB, "openid profile")
    validate_id_token(token["id_token"], spa["client_id"], nonce, access_token=token["access_token"])
    r = requests.post(meta["token_endpoint"], data={
        "grant_type": "authorization_code", "client_id": spa["client_id"], "code": "lkac_x", "code_verifier": "x" * 43})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@check("code reuse is refused")
def reuse():
    verifier = generate_token(48)
    url = meta["authorization_endpoint"] + "?" + urllib.parse.urlencode({
        "client_id": spa["client_id"], "response_type": "code", "scope": "openid", "redirect_uri": SPA_CB,
        "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"})
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browse(url)).query))["code"]
    form = {"grant_type": "authorization_code", "client_id": spa["client_id"], "code": code,
            "redirect_uri": SPA_CB, "code_verifier": verifier}
    first = requests.post(meta["token_endpoint"], data=form)
    assert first.status_code == 200, first.text
    second = requests.post(meta["token_endpoint"], data=form)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"


@check("hybrid code id_token: c_hash")
def hybrid_flow():
    session = OAuth2Session(hybrid["client_id"], hybrid["client_secret"], scope="openid", redirect_uri=WEB_CB)
    verifier, nonce = generate_token(48), generate_token(16)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], response_type="code id_token", nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
    back = browse(url)
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).fragment))
    assert params["state"] == state and params["iss"] == meta["issuer"]
    validate_id_token(params["id_token"], hybrid["client_id"], nonce, code=params["code"], cls=HybridIDToken)


@check("userinfo: RFC 6750 error for a bad token")
def userinfo_error():
    r = requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]


@check("client_credentials with private_key_jwt (RFC 7523)")
def private_key_jwt():
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert "RS256" in meta["token_endpoint_auth_signing_alg_values_supported"]
    assert not signed.get("client_secret"), "no secret for a private_key_jwt client"
    session = OAuth2Session(signed["client_id"], signing_key.as_dict(is_private=True),
                            token_endpoint_auth_method=PrivateKeyJWT(meta["token_endpoint"]))
    token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    claims = jwt.decode(token["access_token"], jwks)
    assert claims["client_id"] == signed["client_id"] and claims["iss"] == meta["issuer"]
    # One assertion made by Authlib, sent twice: the second use is refused.
    assertion = private_key_jwt_sign(signing_key.as_dict(is_private=True), signed["client_id"], meta["issuer"])
    if isinstance(assertion, bytes):
        assertion = assertion.decode()
    form = {"grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    first = requests.post(meta["token_endpoint"], data=form)
    assert first.status_code == 200, first.text
    second = requests.post(meta["token_endpoint"], data=form)
    assert second.status_code == 401 and second.json()["error"] == "invalid_client", second.text
    # An assertion for another server is refused.
    other = OAuth2Session(signed["client_id"], signing_key.as_dict(is_private=True),
                          token_endpoint_auth_method=PrivateKeyJWT("https://other.example/token"))
    try:
        other.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        raise AssertionError("an assertion for another audience was accepted")
    except Exception as e:  # noqa: BLE001 - Authlib raises OAuthError
        assert "invalid_client" in str(e), e


failed = sum(1 for _, e in results if e is not None)
print(f"authlib: {len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
