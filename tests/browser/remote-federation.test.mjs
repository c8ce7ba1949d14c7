// Federated sign-in (issue 6 item 5) in real Chromium: Latchkey's login page
// offers "Sign in with Corp SSO"; the provider is panva's oidc-provider (an
// independent, certified OpenID provider, tests/peers/oidc-provider) on
// Node 22. Covers linking by verified email, refusing an unverified email,
// group mapping, and just-in-time provisioning once the provider allows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { startServer, launchBrowser, freePort } from './harness.mjs';
import { startPeer } from './peer.mjs';
import * as oauth from 'oauth4webapi';

const PEER_SECRET = `peer-secret-${randomBytes(16).toString('hex')}`;

let server;
let peer;
let browser;
let rp;
let webClient;
let token;

async function api(method, path, body) {
  const r = await fetch(`${server.base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  server = await startServer({ env: { LATCHKEY_REMOTE_ALLOW_PRIVATE: '["127.0.0.1"]' } });
  peer = await startPeer({
    clientId: 'latchkey', clientSecret: PEER_SECRET, redirectUri: `${server.base}/remote/callback/corp`,
  });
  browser = await launchBrowser();
  const basic = Buffer.from(`latchkey-admin:${server.adminSecret}`).toString('base64');
  const t = await fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=admin',
  });
  token = (await t.json()).access_token;
  for (const [username, groups] of [['alice', ['ops', 'staff']], ['bob', []]]) {
    const u = await api('POST', '/users', {
      username, password: 'correct horse battery staple', email: `${username}@example.com`,
      display_name: username, groups,
    });
    assert.equal(u.status, 201, JSON.stringify(u.body));
  }
  const p = await api('POST', '/providers', {
    name: 'corp',
    discovery_url: `${peer.issuer}/.well-known/openid-configuration`,
    sign_in: {
      display_name: 'Corp SSO', namespace: 'login', name: 'corp', link_by_email: true,
      groups_claim: 'groups', group_map: { engineering: 'eng', admins: 'ops' },
    },
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  assert.equal(p.body.authorization_response_iss_parameter_supported, true, 'RFC 9207 from discovery');
  const rc = await api('POST', '/remote-clients', {
    namespace: 'login', name: 'corp', provider: 'corp', client_id: 'latchkey', client_secret: PEER_SECRET,
    params: { scope: 'openid email profile groups' },
  });
  assert.equal(rc.status, 201, JSON.stringify(rc.body));
  // The application people sign in to, and its redirect URI.
  const port = await freePort();
  rp = { origin: `http://127.0.0.1:${port}` };
  rp.http = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('app callback'));
  await new Promise((r) => rp.http.listen(port, '127.0.0.1', r));
  const c = await api('POST', '/clients', {
    name: 'Web app', type: 'web', redirect_uris: [`${rp.origin}/cb`], scopes: ['openid', 'profile', 'email'],
  });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  webClient = { id: c.body.client_id ?? c.body.client.client_id, secret: c.body.client_secret };
});

after(async () => {
  await browser?.close();
  if (rp?.http) await new Promise((r) => rp.http.close(r));
  await peer?.stop();
  await server?.stop();
});

/**
 * Opens the web app's authorization request in a fresh browser, picks
 * "Sign in with Corp SSO" and signs in at the provider as `login`.
 * Returns the page where the browser ends up.
 */
async function signInWithCorp(login) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    client_id: webClient.id, redirect_uri: `${rp.origin}/cb`, response_type: 'code', scope: 'openid profile email',
    state: 'st-1', nonce: 'n-1', code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  await page.goto(`${server.base}/oauth2/authorize?${q}`);
  const button = page.getByRole('button', { name: 'Sign in with Corp SSO' });
  await button.click();
  await page.waitForURL((u) => u.href.startsWith(peer.issuer));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('anything');
  await page.locator('button[type="submit"]').click();
  await page.waitForURL((u) => u.href.startsWith(`${rp.origin}/cb`) || u.href.startsWith(`${server.base}/remote/callback/corp`));
  return { page, context, verifier };
}

/** Redeems the code the app received; returns the ID token's claims. */
async function redeem(page, verifier) {
  const url = new URL(page.url());
  assert.equal(url.origin + url.pathname, `${rp.origin}/cb`, `expected the app's callback, got ${page.url()}`);
  assert.equal(url.searchParams.get('iss'), server.base);
  const basic = Buffer.from(`${webClient.id}:${webClient.secret}`).toString('base64');
  const r = await fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: url.searchParams.get('code'), redirect_uri: `${rp.origin}/cb`,
      code_verifier: verifier,
    }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
}

async function userNamed(username) {
  const r = await api('GET', `/users?q=${username}`);
  return r.body.items.find((u) => u.username === username);
}

test('a verified email links the upstream account to the user; groups are mapped', async () => {
  const { page, context, verifier } = await signInWithCorp('alice');
  const claims = await redeem(page, verifier);
  const alice = await userNamed('alice');
  assert.equal(claims.sub, alice.id, 'signed in as the existing Latchkey user alice');
  assert.deepEqual(alice.groups, ['eng', 'staff'],
    'engineering mapped to eng; unmapped sales ignored; ops (mapped from admins, which alice is not in upstream) removed; staff kept');
  const links = await api('GET', '/audit-events?action=federation.link');
  assert.equal(links.body.items.length, 1);
  assert.equal(links.body.items[0].target_id, alice.id);
  const linked = await api('GET', `/users/${alice.id}/federated-links`);
  assert.deepEqual(linked.body.map((l) => [l.provider, l.subject]), [['corp', 'alice']]);
  await context.close();
});

test('an unverified email is not linked, even when it matches a user', async () => {
  const { page, context } = await signInWithCorp('mallory');
  assert.ok(page.url().startsWith(`${server.base}/remote/callback/corp`), page.url());
  await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'There is no account here' }).waitFor());
  const links = await api('GET', '/audit-events?action=federation.link');
  const bob = await userNamed('bob');
  assert.ok(links.body.items.every((e) => e.target_id !== bob.id), 'bob was not linked');
  await context.close();
});

test('just-in-time provisioning creates the user only when the provider allows it', async () => {
  let { page, context } = await signInWithCorp('carol');
  assert.ok(page.url().startsWith(`${server.base}/remote/callback/corp`), page.url());
  assert.equal(await userNamed('carol'), undefined);
  await context.close();

  const p = await api('PATCH', '/providers/corp', {
    sign_in: {
      display_name: 'Corp SSO', namespace: 'login', name: 'corp', link_by_email: true,
      groups_claim: 'groups', group_map: { engineering: 'eng' }, provision: true,
    },
  });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  let verifier;
  ({ page, context, verifier } = await signInWithCorp('carol'));
  const claims = await redeem(page, verifier);
  const carol = await userNamed('carol');
  assert.equal(claims.sub, carol.id);
  assert.equal(carol.email, 'carol@example.com');
  assert.deepEqual(carol.groups, ['eng']);
  await context.close();
});

test('the device page offers the provider too: a person signs in there with it and allows the device', async () => {
  const c = await api('POST', '/clients', {
    name: 'Living-room TV', type: 'device', scopes: ['openid', 'profile'],
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
  });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const tv = { client_id: c.body.client_id ?? c.body.client.client_id };
  const insecure = { [oauth.allowInsecureRequests]: true };
  const issuer = new URL(server.base);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
  const started = await oauth.deviceAuthorizationRequest(as, tv, oauth.None(), new URLSearchParams({ scope: 'openid profile' }), insecure);
  const device = await oauth.processDeviceAuthorizationResponse(as, tv, started);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(device.verification_uri_complete);
  await page.getByRole('heading', { name: 'Connect a device' }).waitFor();
  await page.getByRole('button', { name: 'Sign in with Corp SSO' }).click();
  await page.waitForURL((u) => u.href.startsWith(peer.issuer));
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('anything');
  await page.locator('button[type="submit"]').click();
  // Back on the device page, signed in, with the code the link carried.
  await page.getByRole('heading', { name: 'Allow this device?' }).waitFor();
  assert.match(await page.locator('.device-facts').textContent(), new RegExp(device.user_code));
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('heading', { name: 'Device connected' }).waitFor();
  await context.close();

  const polled = await oauth.deviceCodeGrantRequest(as, tv, oauth.None(), device.device_code, insecure);
  const tokens = await oauth.processDeviceCodeResponse(as, tv, polled);
  const alice = await userNamed('alice');
  assert.equal(oauth.getValidatedIdTokenClaims(tokens).sub, alice.id, 'the device is signed in as alice');
});
