// The console's other pages in real Chromium: scopes and security classes
// used by a client, users, signing-key rotation, the audit log with its
// before/after diffs, the tenant policy, and the dashboard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser } from './harness.mjs';
import { signIn, createClient, tokenFor } from './console-lib.mjs';

let server;
let browser;
let page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await (await browser.newContext()).newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a scope and a security class made in the console are assignable to a client', async () => {
  await page.getByRole('link', { name: 'Scopes' }).click();
  await page.getByLabel('Scope name').fill('invoices:read');
  await page.getByLabel('Description', { exact: true }).fill('Read your invoices');
  await page.getByRole('button', { name: 'Add Scope' }).click();
  await page.getByRole('cell', { name: 'Read your invoices' }).waitFor();
  await page.getByText('Edit', { exact: true }).and(page.getByLabel('Edit scope invoices:read')).click();
  await page.getByLabel('Description of invoices:read').fill('Read your invoices and receipts');
  await page.getByRole('button', { name: 'Save scope invoices:read' }).click();
  await page.getByText('Saved.').waitFor();
  await page.getByRole('cell', { name: 'Read your invoices and receipts' }).waitFor();

  await page.getByRole('link', { name: 'Security Classes' }).click();
  await page.getByLabel('Class name').fill('billing');
  await page.getByLabel('invoices:read').check();
  await page.getByRole('button', { name: 'Add Security Class' }).click();
  await page.getByRole('cell', { name: 'billing', exact: true }).waitFor();
  await page.getByLabel('Edit class billing').click();
  const edit = page.locator('details[open] form');
  await edit.getByLabel('openid').check();
  await edit.getByRole('button', { name: 'Save class billing' }).click();
  await page.getByText('Saved.').waitFor();
  const billing = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'billing', exact: true }) });
  await billing.locator('td .badge', { hasText: 'openid' }).waitFor();

  await page.goto(`${server.base}/console/clients/new/m2m`);
  await page.getByLabel('Client Name', { exact: true }).fill('Invoice reader');
  await page.getByLabel('Scopes', { exact: true }).fill('invoices:read');
  await page.getByRole('button', { name: 'Add Scopes' }).click();
  await page.getByLabel('billing', { exact: true }).check();
  await page.getByRole('button', { name: 'Create Client' }).click();
  const clientId = await page.getByLabel('Client ID', { exact: true }).inputValue();
  const shown = await server.cliJson(['client', 'show', clientId]);
  assert.deepEqual(shown.scopes, ['invoices:read']);
  assert.deepEqual(shown.security_classes, ['billing']);

  // A scope in use cannot be deleted: its row names the users (see console-dead-ends).
  await page.goto(`${server.base}/console/scopes`);
  assert.equal(await page.getByRole('button', { name: 'Delete scope invoices:read' }).isDisabled(), true);
  await page.getByRole('row').filter({ hasText: 'invoices:read' }).getByRole('link', { name: 'Invoice reader' }).waitFor();
});

test('users are added with a role, keys rotate, and the audit log shows diffs', async () => {
  await page.goto(`${server.base}/console/users`);
  await page.getByLabel('Username').fill('vera');
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByLabel('Initial password').fill('vera-password-12345');
  await page.getByRole('button', { name: 'Add User' }).click();
  await page.getByRole('cell', { name: 'vera', exact: true }).waitFor();
  await page.getByLabel('Role of vera', { exact: true }).selectOption('tenant-admin');
  await page.getByRole('button', { name: 'Change role of vera' }).click();
  await page.getByText('The user was updated.').waitFor();
  const vera = page.getByRole('row').filter({ hasText: 'vera' });
  assert.equal(await vera.locator('.badge', { hasText: 'tenant-admin' }).count(), 1);
  await page.getByRole('button', { name: 'Disable vera' }).click();
  await page.getByRole('heading', { name: 'Disable vera?' }).waitFor();
  await page.getByRole('button', { name: 'Disable User' }).click();
  await page.getByText('The user was updated.').waitFor();
  await vera.getByText('disabled').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Disable admin' }).count(), 0, 'no way to lock yourself out');
  await page.getByRole('button', { name: 'Reset password of vera' }).click();
  await page.getByRole('heading', { name: 'Reset the password of vera?' }).waitFor();
  await page.getByText('vera is signed out everywhere').waitFor();
  await page.getByRole('button', { name: 'Reset Password' }).click();
  assert.ok((await page.getByLabel('Generated password').inputValue()).length >= 12, 'the new password, shown once');

  await page.goto(`${server.base}/console/keys`);
  const before = await page.locator('main tbody tr').count();
  await page.getByRole('button', { name: 'Rotate Keys' }).click();
  await page.getByRole('heading', { name: 'Rotate the signing keys?' }).waitFor();
  await page.getByRole('button', { name: 'Rotate Keys' }).click();
  await page.getByText('New signing keys were created').waitFor();
  assert.ok(await page.locator('main tbody tr').count() > before);

  const { clientId } = await createClient(page, server, { type: 'Machine to machine', name: 'Audited' });
  await page.goto(`${server.base}/console/clients/${clientId}/edit`);
  await page.getByLabel('Description').fill('after the edit');
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await page.getByText('The client was saved.').waitFor();
  await page.getByRole('link', { name: 'Audit Log' }).click();
  await page.getByLabel('Action').selectOption('client.update');
  await page.getByLabel('Target ID').fill(clientId);
  await page.getByRole('button', { name: 'Filter' }).click();
  const rows = page.locator('main table.audit > tbody > tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /admin \(user\)/, 'users are shown by username');
  await rows.first().getByText(/field/).click();
  await page.getByRole('cell', { name: 'after the edit' }).waitFor();
  assert.equal(await page.getByText('lks_').count(), 0, 'no secret in the audit log');
  // The target by name, linked to its page, the id beside it.
  await rows.first().getByRole('link', { name: 'Audited' }).waitFor();
  assert.match(await rows.first().textContent(), new RegExp(clientId));
  // The client's page names its creator, not an id.
  await page.goto(`${server.base}/console/clients/${clientId}`);
  assert.match(await page.locator('dl.details').textContent(), /by admin\b/);
  assert.doesNotMatch(await page.locator('dl.details').textContent(), /by usr_/);
});

test('the audit log hides sign-ins unless asked and filters by a date range', async () => {
  await page.goto(`${server.base}/console/audit`);
  const rows = page.locator('main table.audit > tbody > tr');
  await rows.first().waitFor();
  assert.equal(await rows.filter({ hasText: 'user.login' }).count(), 0, 'sign-in noise hidden by default');
  await page.getByLabel(/Include sign-ins/).check();
  await page.getByRole('button', { name: 'Filter' }).click();
  await rows.filter({ hasText: 'user.login' }).first().waitFor();

  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await page.goto(`${server.base}/console/audit?from=${today}&to=${today}`);
  assert.ok(await rows.count() > 0, 'today has events');
  await page.goto(`${server.base}/console/audit?from=${tomorrow}`);
  await page.getByText('No events.').waitFor();
  const bad = await page.goto(`${server.base}/console/audit?from=yesterday`);
  assert.equal(bad.status(), 400);
  await page.getByRole('alert').filter({ hasText: 'not a date' }).waitFor();
});

test('the tenant policy is edited with inline validation, and the dashboard flags unused clients', async () => {
  await page.goto(`${server.base}/console/settings`);
  await page.getByLabel('Default access token lifetime (seconds)').fill('10');
  await page.getByRole('button', { name: 'Save Settings' }).click();
  await page.getByRole('alert').filter({ hasText: 'not saved' }).waitFor();
  assert.equal(await page.getByLabel('Default access token lifetime (seconds)').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Default access token lifetime (seconds)').fill('1800');
  await page.getByLabel('Secret maximum age (days)').fill('90');
  await page.getByLabel(/Allow legacy grants/).check();
  await page.getByRole('button', { name: 'Save Settings' }).click();
  await page.getByText('The tenant policy was saved.').waitFor();
  assert.equal(await page.getByLabel('Secret maximum age (days)').inputValue(), '90');

  // New secrets now expire within the maximum age: flagged nowhere yet (90 > 14 days).
  const { clientId } = await createClient(page, server, { type: 'Machine to machine', name: 'Policy bound' });
  await page.goto(`${server.base}/console/clients/${clientId}`);
  await page.getByRole('cell', { name: /^20\d\d-/ }).nth(1).waitFor();

  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('heading', { name: 'Clients unused for 90 days' }).waitFor();
  await page.getByRole('heading', { name: 'Secrets expiring within 14 days' }).waitFor();
});

test('the dashboard and the client panel show tokens issued and failed authentications', async () => {
  const { clientId, secret } = await createClient(page, server, { type: 'Machine to machine', name: 'Busy worker' });
  for (let i = 0; i < 3; i += 1) assert.equal((await tokenFor(server, clientId, secret)).status, 200);
  assert.equal((await tokenFor(server, clientId, "not-the-secret")).status, 401);

  await page.goto(`${server.base}/console/clients/${clientId}`);
  const usage = page.getByRole('region', { name: 'Usage' });
  assert.equal(await usage.locator('[data-usage-issued]').textContent(), '3');
  assert.equal(await usage.locator('[data-usage-failed]').textContent(), '1');
  await usage.getByRole('img', { name: /Busy worker: 3 access tokens issued and 1 failed/ }).waitFor();
  assert.notEqual(await usage.locator('.stat-value').nth(2).textContent(), 'Never', 'last use seen before the flush');

  await page.getByRole('link', { name: 'Dashboard' }).click();
  const row = page.getByRole('table', { name: /Most active clients/ }).getByRole('row').filter({ hasText: 'Busy worker' });
  assert.deepEqual(await row.getByRole('cell').allTextContents().then((c) => c.slice(1)), ['3', '1']);
  await page.getByRole('img', { name: /All clients: \d+ access tokens issued/ }).waitFor();
  // One client's issuance over time, over a week.
  // Choosing does not navigate (WCAG 3.2.2): "Show" does.
  await page.getByLabel('Client', { exact: true }).selectOption({ label: 'Busy worker' });
  await page.getByLabel('Period').selectOption({ label: 'Last 24 hours' });
  assert.equal(new URL(page.url()).search, '', 'nothing happens on change');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('img', { name: /^Busy worker: 3 access tokens issued and 1 failed/ }).waitFor();
  await page.getByLabel('Period').selectOption({ label: 'Last 7 days' });
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('img', { name: /^Busy worker: 3 access tokens issued .* last 168 hours/ }).waitFor();
  await page.getByText('last 7 days, per hour (UTC)').waitFor();
});

// WCAG 2.1 AA contrast (4.5:1 for small text) of the two places an axe-core
// audit found below it: the sidebar's group labels and, in dark mode, the
// text of a danger button.
function contrast(fg, bg) {
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}

test('sidebar group labels and dark-mode danger buttons are readable (4.5:1)', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const context = await browser.newContext({ colorScheme });
    const p = await context.newPage();
    await signIn(p, server, server.adminUser, server.adminPassword);
    await p.goto(`${server.base}/console/keys`);
    const label = await p.locator('.sidebar .nav-group').first().evaluate((el) => {
      const sidebar = el.closest('.sidebar');
      return [getComputedStyle(el).color, getComputedStyle(sidebar).backgroundColor];
    });
    assert.ok(contrast(...label) >= 4.5, `${colorScheme} sidebar label ${label}: ${contrast(...label).toFixed(2)}`);
    await p.getByRole('button', { name: 'Rotate Keys' }).click();
    const button = await p.getByRole('button', { name: 'Rotate Keys' }).evaluate((el) =>
      [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]);
    assert.ok(contrast(...button) >= 4.5, `${colorScheme} danger button ${button}: ${contrast(...button).toFixed(2)}`);
    await context.close();
  }
});
