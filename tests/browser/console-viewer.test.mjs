// A viewer signs in to the console: sees every page but no control that
// changes anything, and a replayed form post with the viewer's own session
// and a valid CSRF token is refused with 403. Without the CSRF token even
// the owner is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser } from './harness.mjs';
import { signIn } from './console-lib.mjs';

let server;
let browser;
const BOB_PASSWORD = 'viewer-password-bob-1';

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const r = await server.cli(['user', 'create', 'bob', '--role', 'viewer', '--password-env', 'BOB_PASSWORD'],
    { BOB_PASSWORD });
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The CSRF token of the signed-in page (every console page carries one). */
const csrfOf = (page) => page.locator('input[name=csrf]').first().inputValue();

test('a viewer sees no mutation controls and cannot post them', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, server, 'bob', BOB_PASSWORD);
  await page.goto(`${server.base}/console/clients`);
  await page.getByRole('link', { name: 'View Admin API' }).waitFor();
  for (const name of ['+ Create Client', 'Edit Admin API', 'Delete Admin API']) {
    assert.equal(await page.getByRole('link', { name }).count(), 0, name);
  }
  assert.equal(await page.getByRole('button', { name: 'Delete selected' }).count(), 0);
  assert.equal(await page.getByRole('checkbox').count(), 0);

  await page.getByRole('link', { name: 'View Admin API' }).click();
  await page.getByRole('heading', { name: /Admin API/ }).waitFor();
  for (const name of ['Generate New Secret', 'Disable', 'Revoke']) {
    assert.equal(await page.getByRole('button', { name }).count(), 0, name);
  }
  assert.equal(await page.getByRole('link', { name: 'Edit Client' }).count(), 0);
  for (const path of ['scopes', 'classes', 'users', 'keys', 'providers', 'remote-clients', 'authorizations']) {
    await page.goto(`${server.base}/console/${path}`);
    assert.equal(await page.locator('main form[method=post]').count(), 0, `no forms on ${path}`);
  }

  // Replay the owner's forms with the viewer's session and a valid token.
  const csrf = await csrfOf(page);
  const posts = [
    ['clients/latchkey-admin/disable', { force: 'on' }],
    ['clients/latchkey-admin/secrets/rotate', { grace_seconds: '0' }],
    ['clients/latchkey-admin/delete', { force: 'on' }],
    ['clients/new/m2m', { name: 'Sneaky', grant_types: 'client_credentials', token_endpoint_auth_method: 'client_secret_basic', access_token_format: 'jwt' }],
    ['clients/bulk', { action: 'delete', confirm: 'yes', ids: 'latchkey-cli' }],
    ['scopes', { name: 'sneaky', description: 'x' }],
    ['users', { username: 'mallory', role: 'owner' }],
    ['keys/rotate', {}],
    ['providers', { name: 'sneaky', token_endpoint: 'https://idp.example.com/token' }],
    ['settings', { default_access_token_lifetime: '60' }],
  ];
  for (const [path, form] of posts) {
    const r = await page.request.post(`${server.base}/console/${path}`, { form: { csrf, ...form }, maxRedirects: 0 });
    assert.equal(r.status(), 403, path);
    assert.match(await r.text(), /may read but not change/);
  }
  const clients = await server.cliJson(['client', 'list']);
  const items = clients.items ?? clients;
  assert.ok(items.some((c) => c.client_id === 'latchkey-cli'), 'nothing was deleted');
  assert.ok(items.every((c) => c.status === 'active'), 'nothing was disabled');
  await context.close();
});

test('a form post without the session\'s CSRF token is refused, even for the owner', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
  const r = await page.request.post(`${server.base}/console/scopes`, {
    form: { csrf: 'forged', name: 'forged-scope' }, maxRedirects: 0,
  });
  assert.equal(r.status(), 403);
  const anonymous = await fetch(`${server.base}/console/scopes`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x', redirect: 'manual',
  });
  assert.equal(anonymous.status, 401);
  const scopes = await server.cliJson(['scope', 'list']);
  assert.ok(!JSON.stringify(scopes).includes('forged-scope'));

  // Signing out ends the console session and the server session.
  await page.goto(`${server.base}/console/`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  const confirm = page.getByRole('button', { name: 'Sign out' });
  await confirm.click();
  await page.getByLabel('Password').waitFor();
  await context.close();
});

test('an administrator resets a password: only the new one signs in, and the old session is over', async () => {
  const r = await server.cli(['user', 'create', 'carol', '--role', 'viewer', '--password-env', 'P'],
    { P: 'carol-old-password-1' });
  assert.equal(r.code, 0, r.stderr);
  const carol = await browser.newContext();
  const carolPage = await carol.newPage();
  await signIn(carolPage, server, 'carol', 'carol-old-password-1');

  const admin = await browser.newContext();
  const page = await admin.newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
  await page.goto(`${server.base}/console/users?q=carol`);
  await page.getByRole('button', { name: 'Reset password of carol' }).click();
  // Confirmed first: until then carol's password and session are untouched.
  await page.getByRole('heading', { name: 'Reset the password of carol?' }).waitFor();
  await carolPage.goto(`${server.base}/console/clients`);
  await carolPage.getByRole('heading', { name: 'OAuth Clients' }).waitFor();
  await page.getByRole('button', { name: 'Reset Password' }).click();
  await page.getByText('The new password of carol is shown once').waitFor();
  const password = await page.getByLabel('Generated password').inputValue();
  assert.ok(password.length >= 12);

  // Carol's console session ended with the old password: back to the login page.
  await carolPage.goto(`${server.base}/console/clients`);
  await carolPage.getByLabel('Password').waitFor();
  await carolPage.getByLabel('Username').fill('carol');
  await carolPage.getByLabel('Password').fill('carol-old-password-1');
  await carolPage.getByRole('button', { name: 'Sign in' }).click();
  await carolPage.getByRole('alert').waitFor();
  assert.equal(new URL(carolPage.url()).pathname.startsWith('/console/'), false, 'the old password is refused');
  await carol.close();

  const fresh = await browser.newContext();
  await signIn(await fresh.newPage(), server, 'carol', password);
  await fresh.close();
  await admin.close();
});
