// An administrator obtains an authorization-code authorization (SPEC §8) in
// real Chromium: `latchkey authorization authorize billing/crm` prints a
// link; opened in the browser it leads through the provider's login (a
// second Latchkey server) back to Latchkey's result page. Internal callers
// then fetch a live upstream token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, REQUIRED_PAGE_HEADERS } from './harness.mjs';

let upstream;
let here;
let browser;
let upstreamClient;

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
});

after(async () => {
  await browser?.close();
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
  const [response] = await Promise.all([
    page.waitForResponse((res) => res.url().startsWith(`${here.base}/remote/callback/up?`)),
    page.getByRole('button', { name: 'Sign in' }).click(),
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
