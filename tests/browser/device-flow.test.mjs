// RFC 8628 end to end: oauth4webapi (a library we did not write) is the
// device, with the protected `latchkey-cli` client; a person approves or
// denies on Latchkey's /device page in real Chromium. The tokens the device
// gets carry the approving user's role at the admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { startServer, launchBrowser, ADMIN_PASSWORD, REQUIRED_PAGE_HEADERS } from './harness.mjs';
import { signIn } from './console-lib.mjs';

let server;
let browser;
let as;
const client = { client_id: 'latchkey-cli' };
const insecure = { [oauth.allowInsecureRequests]: true };

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const issuer = new URL(server.base);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
  );
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function startDevice(scope = 'openid admin') {
  const response = await oauth.deviceAuthorizationRequest(as, client, oauth.None(), new URLSearchParams({ scope }), insecure);
  return oauth.processDeviceAuthorizationResponse(as, client, response);
}

/** One poll: the token response, or the RFC 8628 error code it answered. */
async function poll(deviceCode) {
  const response = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), deviceCode, insecure);
  try {
    return await oauth.processDeviceCodeResponse(as, client, response);
  } catch (e) {
    if (e instanceof oauth.ResponseBodyError) return e.error;
    throw e;
  }
}

test('discovery advertises the device authorization endpoint and grant', () => {
  assert.equal(as.device_authorization_endpoint, `${server.base}/oauth2/device_authorization`);
  assert.ok(as.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'));
});

test('a device signs in with latchkey-cli once its user allows it on /device in Chromium', async () => {
  const device = await startDevice();
  assert.match(device.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(device.verification_uri, `${server.base}/device`);
  assert.equal(await poll(device.device_code), 'authorization_pending');
  assert.equal(await poll(device.device_code), 'slow_down', 'polling inside the interval');

  const context = await browser.newContext();
  const page = await context.newPage();
  const headers = [];
  page.on('response', (r) => {
    if (r.url().startsWith(`${server.base}/device`)) headers.push(r.headers());
  });
  await page.goto(device.verification_uri_complete);
  await page.getByRole('heading', { name: 'Connect a device' }).waitFor();
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Allow this device?' }).waitFor();
  assert.match(await page.locator('main').textContent(), /Command Line/);
  assert.match(await page.locator('.device-facts').textContent(), new RegExp(device.user_code));
  await page.getByRole('listitem').filter({ hasText: 'Manage this Latchkey tenant' }).waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('heading', { name: 'Device connected' }).waitFor();
  for (const h of headers) for (const name of REQUIRED_PAGE_HEADERS) assert.ok(h[name], `${name} on /device`);

  const tokens = await poll(device.device_code);
  assert.equal(typeof tokens.access_token, 'string', JSON.stringify(tokens));
  assert.ok(tokens.refresh_token, 'latchkey-cli may refresh');
  const clients = await fetch(`${server.base}/api/v1/clients`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(clients.status, 200, 'the admin user signed in on a device may use the admin API');
  assert.equal(await poll(device.device_code), 'invalid_grant', 'a device code is redeemed once');
  await context.close();
});

test('a signed-in person types a code in any case, denies, and the device hears access_denied', async () => {
  const device = await startDevice('openid admin:read');
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/device`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // A wrong code is explained, and the code field stays.
  await page.getByLabel('Code').fill('bcdf-ghjk');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();

  await page.getByLabel('Code').fill(device.user_code.replace('-', '').toLowerCase());
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Allow this device?' }).waitFor();
  await page.getByRole('button', { name: 'Deny' }).click();
  await page.getByRole('heading', { name: 'Request denied' }).waitFor();
  assert.equal(await poll(device.device_code), 'access_denied');

  // The decided code cannot be decided again.
  await page.goto(`${server.base}/device?user_code=${encodeURIComponent(device.user_code)}`);
  await page.getByRole('alert').filter({ hasText: 'already used' }).waitFor();
  await context.close();
});

test('the client page lists waiting device sign-ins and revoking one tells the device access_denied', async () => {
  const device = await startDevice('openid admin:read');
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, server, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.base}/console/clients/latchkey-cli`);
  const panel = page.getByRole('region', { name: 'Device Sign-ins', exact: true });
  const row = panel.getByRole('row').filter({ hasText: 'admin:read' });
  await row.filter({ hasText: 'waiting' }).waitFor();
  assert.doesNotMatch(await panel.textContent(), new RegExp(device.user_code), 'the user code is never shown');
  await row.getByRole('button', { name: /Revoke device sign-in/ }).click();
  await page.getByRole('button', { name: 'Revoke Sign-in' }).click();
  await page.getByText('The device sign-in was revoked').waitFor();
  assert.equal(await panel.getByRole('row').filter({ hasText: 'admin:read' }).count(), 0);
  assert.equal(await poll(device.device_code), 'access_denied');
  await context.close();
});

test("a user's page lists their signed-in devices and ending one stops its tokens at once", async () => {
  const device = await startDevice('openid admin:read');
  const context = await browser.newContext();
  const devicePage = await context.newPage();
  await devicePage.goto(device.verification_uri_complete);
  await devicePage.getByLabel('Username').fill('admin');
  await devicePage.getByLabel('Password').fill(ADMIN_PASSWORD);
  await devicePage.getByRole('button', { name: 'Sign in' }).click();
  await devicePage.getByRole('button', { name: 'Allow' }).click();
  await devicePage.getByRole('heading', { name: 'Device connected' }).waitFor();
  const tokens = await poll(device.device_code);
  assert.ok(tokens.refresh_token, JSON.stringify(tokens));
  const me = () => fetch(`${server.base}/api/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal((await me()).status, 200);

  await context.close();

  // An administrator, in a browser of their own, opens the user's page.
  const consoleContext = await browser.newContext();
  const page = await consoleContext.newPage();
  await signIn(page, server, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.base}/console/users`);
  await page.getByRole('link', { name: 'admin', exact: true }).click();
  await page.getByRole('heading', { name: /^admin/ }).waitFor();
  const panel = page.getByRole('region', { name: 'Device Sign-ins', exact: true });
  // Newest first: the device just signed in heads the list, still signed in
  // after collecting its tokens, with the client named and linked.
  const row = panel.getByRole('row').filter({ hasText: 'signed in' }).first();
  assert.match(await row.textContent(), /admin:read/);
  await row.getByRole('link', { name: 'Command Line' }).waitFor();
  assert.doesNotMatch(await panel.textContent(), new RegExp(device.user_code), 'the user code is never shown');
  const before = await panel.getByRole('row').filter({ hasText: 'signed in' }).count();

  await row.getByRole('button', { name: /End sign-in/ }).click();
  await page.getByRole('heading', { name: /End this device sign-in/ }).waitFor();
  await page.getByRole('button', { name: 'End Sign-in' }).click();
  await page.getByText('The device sign-in was ended').waitFor();
  assert.equal(await panel.getByRole('row').filter({ hasText: 'signed in' }).count(), before - 1);

  assert.equal((await me()).status, 401, 'the access token stops at once');
  const refreshed = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, insecure);
  await assert.rejects(oauth.processRefreshTokenResponse(as, client, refreshed), (e) => e.error === 'invalid_grant');
  await consoleContext.close();
});
