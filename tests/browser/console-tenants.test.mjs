// Tenants in the console, in Chromium: an owner of the default tenant adds
// a tenant (its first administrator's credentials shown once), switches to
// its console, signs in there as that administrator, and the two tenants'
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

  await page.getByLabel('Tenant', { exact: true }).selectOption('acme');
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByLabel('Username').waitFor();
  assert.match(page.url(), /\/t\/acme\//, 'the tenant\'s own login page');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/t/acme/console/');
  assert.equal(await page.locator('.sidebar .tenant').textContent(), 'Tenant acme');
  assert.equal(await page.getByRole('link', { name: 'Tenants' }).count(), 0, 'a tenant admin manages no tenants');

  await page.getByRole('link', { name: 'OAuth Clients' }).click();
  await page.getByRole('link', { name: '+ Create Client' }).click();
  await page.getByRole('link', { name: /^Machine to machine/ }).click();
  await page.getByLabel('Client Name', { exact: true }).fill('Acme only');
  await page.getByRole('button', { name: 'Create Client' }).click();
  await page.getByRole('heading', { name: 'Client Successfully Created' }).waitFor();
  assert.match(page.url(), /\/t\/acme\/console\//);
  const r = await page.request.get(`${server.base}/console/clients?q=Acme%20only`);
  assert.match(await r.text(), /No clients match\./, 'not in the default tenant');

  // Back in the default tenant (its session is still there), disable acme.
  await page.goto(`${server.base}/console/tenants`);
  await page.getByRole('button', { name: 'Disable tenant acme' }).click();
  await page.getByRole('heading', { name: 'Disable tenant acme?' }).waitFor();
  await page.getByRole('button', { name: 'Disable Tenant' }).click();
  await page.getByText('The tenant is disabled').waitFor();
  const gone = await page.request.get(`${server.base}/t/acme/console/`, { maxRedirects: 0 });
  assert.equal(gone.status(), 404);
});
