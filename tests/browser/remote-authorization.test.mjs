// An administrator obtains an authorization-code authorization (SPEC §8) in
// real Chromium: `latchkey authorization authorize billing/crm` prints a
// link; opened in the browser it leads through the provider's login (a
// second Latchkey server) back to Latchkey's result page. Internal callers
// then fetch a live upstream token. The same against an independent
// provider (panva's oidc-provider), whose refresh tokens rotate: two
// renewals in a row work only if the rotated token was stored each time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, launchBrowser, REQUIRED_PAGE_HEADERS } from './harness.mjs';
import { startPeer } from './peer.mjs';

let upstream;
let here;
let browser;
let upstreamClient;
let peer;
const PEER_SECRET = `peer-secret-${randomBytes(16).toString('hex')}`;

async function adminToken(server) {
  const basic = Buffer.from(`latchkey-admin:${server.adminSecret}`).toString('base64');
  const r = await fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=admin',
  });
  return (await r.json()).access_token;
}

async function api(server, method, path, body) {
  const r = await fetch(`${server.base}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await adminToken(server)}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  upstream = await startServer();
  here = await startServer({ env: { LATCHKEY_REMOTE_ALLOW_PRIVATE: '["127.0.0.1"]' } });
  browser = await launchBrowser();
  const u = await api(upstream, 'POST', '/users', {
    username: 'alice', password: 'correct horse battery staple', email: 'alice@example.com', display_name: 'Alice',
  });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  const c = await api(upstream, 'POST', '/clients', {
    name: 'Latchkey downstream', type: 'web', redirect_uris: [`${here.base}/remote/callback/up`],
    scopes: ['openid', 'profile', 'offline_access'],
  });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  upstreamClient = { id: c.body.client_id ?? c.body.client.client_id, secret: c.body.client_secret };
  const p = await api(here, 'POST', '/providers', {
    name: 'up', discovery_url: `${upstream.base}/.well-known/openid-configuration`,
  });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const rc = await api(here, 'POST', '/remote-clients', {
    namespace: 'billing', name: 'crm', provider: 'up', client_id: upstreamClient.id,
    client_secret: upstreamClient.secret, params: { scope: 'openid offline_access' },
  });
  assert.equal(rc.status, 201, JSON.stringify(rc.body));
  peer = await startPeer({
    clientId: 'latchkey', clientSecret: PEER_SECRET, redirectUri: `${here.base}/remote/callback/corp`,
  });
  const p2 = await api(here, 'POST', '/providers', {
    name: 'corp', discovery_url: `${peer.issuer}/.well-known/openid-configuration`,
  });
  assert.equal(p2.status, 201, JSON.stringify(p2.body));
  const rc2 = await api(here, 'POST', '/remote-clients', {
    namespace: 'reports', name: 'corp', provider: 'corp', client_id: 'latchkey', client_secret: PEER_SECRET,
    params: { scope: 'openid email offline_access' },
  });
  assert.equal(rc2.status, 201, JSON.stringify(rc2.body));
});

after(async () => {
  await browser?.close();
  await peer?.stop();
  await here?.stop();
  await upstream?.stop();
});

test('an administrator authorizes a remote client through the provider in Chromium', async () => {
  const r = await here.cli(['authorization', 'authorize', 'billing/crm', '--output', 'table']);
  assert.equal(r.code, 0, r.stderr);
  const link = r.stdout.trim();
  assert.ok(link.startsWith(`${here.base}/remote/start?ticket=`), link);
  assert.match(r.stderr, /register .*\/remote\/callback\/up/);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link);
  assert.ok(page.url().startsWith(`${upstream.base}/oauth2/authorize?`), page.url());
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Offline access is asked for with prompt=consent: the provider asks alice.
  const [response] = await Promise.all([
    page.waitForResponse((res) => res.url().startsWith(`${here.base}/remote/callback/up?`)),
    page.getByRole('button', { name: 'Allow' }).click(),
  ]);
  assert.equal(response.status(), 200);
  for (const h of REQUIRED_PAGE_HEADERS) assert.ok(response.headers()[h], `missing ${h}`);
  await page.getByRole('heading', { name: 'Authorization complete' }).waitFor();
  assert.match(await page.getByRole('status').textContent(), /billing\/crm is now authorized/);
  // The link was used up: opening the callback again is refused, readably.
  const again = await page.goto(response.url());
  assert.equal(again.status(), 400);
  await page.getByRole('alert').waitFor();
  await context.close();

  const a = await api(here, 'GET', '/authorizations/billing/crm');
  assert.equal(a.body.grant_type, 'authorization_code');
  assert.equal(a.body.has_refresh_token, true);
  const t = await api(here, 'POST', '/authorizations/billing/crm/token');
  assert.equal(t.status, 200, JSON.stringify(t.body));
  const basic = Buffer.from(`${upstreamClient.id}:${upstreamClient.secret}`).toString('base64');
  const i = await fetch(`${upstream.base}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: t.body.access_token }),
  });
  assert.equal((await i.json()).active, true, 'a live token of the provider');
});

test('an independent provider: authorized in Chromium, rotated refresh tokens stored', async () => {
  const start = await api(here, 'POST', '/authorizations/reports/corp/authorize');
  assert.equal(start.status, 201, JSON.stringify(start.body));
  assert.equal(start.body.redirect_uri, `${here.base}/remote/callback/corp`);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(start.body.authorization_url);
  assert.ok(page.url().startsWith(peer.issuer), page.url());
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('anything');
  await page.locator('button[type="submit"]').click();
  // prompt=consent (offline access): the provider's consent page.
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Authorization complete' }).waitFor();
  await context.close();

  const a = await api(here, 'GET', '/authorizations/reports/corp');
  assert.equal(a.body.grant_type, 'authorization_code');
  assert.equal(a.body.has_refresh_token, true, JSON.stringify(a.body));
  const first = await api(here, 'POST', '/authorizations/reports/corp/token');
  assert.equal(first.status, 200, JSON.stringify(first.body));
  // The provider rotates refresh tokens and refuses a reused one.
  for (let i = 0; i < 2; i += 1) {
    const r = await api(here, 'POST', '/authorizations/reports/corp/refresh');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'active');
  }
  const latest = await api(here, 'POST', '/authorizations/reports/corp/token');
  assert.notEqual(latest.body.access_token, first.body.access_token, 'renewed');
});
