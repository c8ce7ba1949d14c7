// Tenants in the console, in Chromium: an owner of the default tenant adds
// a tenant (its first administrator's credentials shown once), switches to
// its console in the same session and creates a client there; that
// administrator signs in to the tenant and finds it; the two tenants'
// clients stay apart; a disabled tenant's console is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser } from './harness.mjs';
import { signIn } from './console-lib.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('an owner adds a tenant and opens its console with the switcher', async () => {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.getByLabel('Tenant ID').fill('acme');
  await page.getByLabel('Display name').fill('Acme Corporation');
  await page.getByRole('button', { name: 'Add Tenant' }).click();
  await page.getByRole('heading', { name: 'Tenant acme created' }).waitFor();
  const username = await page.getByLabel('Administrator', { exact: true }).inputValue();
  const password = await page.getByLabel('Administrator password', { exact: true }).inputValue();
  assert.ok(password.length >= 12);

  // The switcher opens acme's console in the same session: an owner of
  // the default tenant manages every tenant without signing in again.
  await page.getByLabel('Tenant', { exact: true }).selectOption('acme');
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/t/acme/console/');
  assert.match(await page.title(), / · acme · Latchkey$/);
  assert.equal(await page.locator('.who .badge').textContent(), 'owner of the default tenant');
  assert.equal(await page.getByLabel('Tenant', { exact: true }).inputValue(), 'acme');

  await page.getByRole('link', { name: 'OAuth Clients' }).click();
  await page.getByRole('link', { name: '+ Create Client' }).click();
  await page.getByRole('link', { name: /^Machine to machine/ }).click();
  await page.getByLabel('Client Name', { exact: true }).fill('Acme only');
  await page.getByRole('button', { name: 'Create Client' }).click();
  await page.getByRole('heading', { name: 'Client Successfully Created' }).waitFor();
  assert.match(page.url(), /\/t\/acme\/console\//);
  const r = await page.request.get(`${server.base}/console/clients?q=Acme%20only`);
  assert.match(await r.text(), /No clients match\./, 'not in the default tenant');
  await page.getByRole('link', { name: 'Audit Log' }).click();
  await page.getByRole('link', { name: `${server.adminUser} of the default tenant` }).first().waitFor();

  // acme's own administrator signs in to acme (their credentials are
  // acme's) and finds the client; they manage no tenants.
  const theirs = await (await browser.newContext()).newPage();
  await theirs.goto(`${server.base}/t/acme/console/clients`);
  await theirs.getByLabel('Username').waitFor();
  assert.match(theirs.url(), /\/t\/acme\//, 'the tenant\'s own login page');
  await theirs.getByLabel('Username').fill(username);
  await theirs.getByLabel('Password').fill(password);
  await theirs.getByRole('button', { name: 'Sign in' }).click();
  await theirs.getByRole('link', { name: 'Acme only' }).waitFor();
  assert.equal(await theirs.locator('.sidebar .tenant').textContent(), 'Tenant acme');
  assert.equal(await theirs.getByRole('link', { name: 'Tenants' }).count(), 0, 'a tenant admin manages no tenants');

  // Back in the default tenant by the sidebar's Tenants link, disable acme.
  await page.getByRole('link', { name: 'Tenants' }).click();
  assert.equal(new URL(page.url()).pathname, '/console/tenants');
  await page.getByRole('button', { name: 'Disable tenant acme' }).click();
  await page.getByRole('heading', { name: 'Disable tenant acme?' }).waitFor();
  await page.getByRole('button', { name: 'Disable Tenant' }).click();
  await page.getByText('The tenant is disabled').waitFor();
  const gone = await page.request.get(`${server.base}/t/acme/console/`, { maxRedirects: 0 });
  assert.equal(gone.status(), 404);
});
