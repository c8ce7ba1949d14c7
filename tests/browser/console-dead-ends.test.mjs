// No dead ends, in Chromium: what cannot be done is switched off with the
// reason beside it, a refused post keeps the user on the page with the
// reason inline, unknown addresses answer a page a person can go on from
// (and problem+json to programs), and the redirect tester's answer is in
// view after "Test".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser } from './harness.mjs';
import { signIn } from './console-lib.mjs';

let server;
let browser;
let page;
let web;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await (await browser.newContext()).newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
  await server.cliJson(['scope', 'create', 'reports:read', '--description', 'Read reports']);
  await server.cliJson(['class', 'create', 'reporting', '--scope', 'reports:read']);
  const r = await server.cliJson(['client', 'create', '--type', 'web', '--name', 'Report viewer',
    '--redirect-uri', 'https://reports.example.com/callback', '--scope', 'reports:read', '--class', 'reporting']);
  web = { id: r.client_id ?? r.client.client_id, secret: r.client_secret };
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Whether the element is inside the window (scrolled to), give or take
 * the fraction of a pixel a scroll to a fragment can leave. */
const inView = (locator) => locator.evaluate((el) => {
  const r = el.getBoundingClientRect();
  return r.top >= -1 && r.bottom <= window.innerHeight + 1;
});

test('bulk buttons are off until a client is selected; without script the list says why', async () => {
  await page.goto(`${server.base}/console/clients?q=Report`);
  const disable = page.getByRole('button', { name: 'Disable selected' });
  assert.equal(await disable.isDisabled(), true);
  await page.getByText('Select clients to act on them.').waitFor();
  await page.getByRole('checkbox', { name: 'Select Report viewer' }).check();
  assert.equal(await disable.isEnabled(), true);
  await page.getByText('With the 1 selected:').waitFor();
  await page.getByRole('checkbox', { name: 'Select Report viewer' }).uncheck();
  assert.equal(await disable.isDisabled(), true);

  // Without script the buttons work, and nothing selected leads back to the same list.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const bare = await context.newPage();
  await signIn(bare, server, server.adminUser, server.adminPassword);
  await bare.goto(`${server.base}/console/clients?q=Report&sort=name`);
  await bare.getByRole('button', { name: 'Delete selected' }).click();
  const alert = bare.getByRole('alert').filter({ hasText: 'Nothing was done: select one or more clients' });
  await alert.waitFor();
  const url = new URL(bare.url());
  assert.equal(url.pathname, '/console/clients');
  assert.equal(url.searchParams.get('q'), 'Report', 'the search is kept');
  assert.equal(url.searchParams.get('sort'), 'name', 'the order is kept');
  assert.ok(await inView(alert), 'the reason is in view');
  await bare.getByRole('link', { name: 'Report viewer', exact: true }).waitFor();
  await context.close();
});

test('a scope or class in use cannot be deleted: the rows name their users as links', async () => {
  await page.goto(`${server.base}/console/scopes`);
  const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'reports:read', exact: true }) });
  const del = row.getByRole('button', { name: 'Delete scope reports:read' });
  assert.equal(await del.isDisabled(), true);
  await row.getByText('In use: cannot be deleted.').waitFor();
  await row.getByRole('link', { name: 'reporting' }).waitFor();
  await row.getByRole('link', { name: 'Report viewer' }).click();
  await page.getByRole('heading', { name: /^Report viewer/ }).waitFor();
  assert.equal(new URL(page.url()).pathname, `/console/clients/${web.id}`);

  // A delete posted from a page shown before the scope was taken into use:
  // the list again, with the reason and the links.
  await page.goto(`${server.base}/console/scopes`);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.locator('button[aria-label="Delete scope reports:read"]').evaluate((b) => { b.disabled = false; b.click(); }),
  ]);
  assert.equal(answer.status(), 409);
  const alert = page.getByRole('alert').filter({ hasText: 'was not deleted' });
  await alert.getByRole('link', { name: 'Report viewer' }).waitFor();
  await alert.getByRole('link', { name: 'reporting' }).waitFor();
  assert.ok((await server.cliJson(['scope', 'show', 'reports:read'])).name, 'still there');

  await page.goto(`${server.base}/console/classes`);
  const classRow = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'reporting', exact: true }) });
  assert.equal(await classRow.getByRole('button', { name: 'Delete class reporting' }).isDisabled(), true);
  await classRow.getByRole('link', { name: 'Report viewer' }).waitFor();
});

test("a client's only secret cannot be revoked: the reason is beside it, and a stale post returns to it", async () => {
  await page.goto(`${server.base}/console/clients/${web.id}`);
  const hint = `…${web.secret.slice(-4)}`;
  const revoke = page.getByRole('button', { name: `Revoke secret ${hint}` });
  assert.equal(await revoke.isDisabled(), true);
  await page.getByText('The only valid secret: generate a new one first.').waitFor();
  assert.equal(await revoke.getAttribute('aria-describedby') !== null, true, 'the reason describes the button');

  // Posted anyway (from a page shown while it had a second secret): back
  // to the client with the reason, nothing to confirm.
  await Promise.all([
    page.waitForURL(/e=last_secret/),
    revoke.evaluate((b) => { b.disabled = false; b.click(); }),
  ]);
  const alert = page.getByRole('alert').filter({ hasText: "it is this client's only valid secret" });
  await alert.waitFor();
  assert.equal(new URL(page.url()).pathname, `/console/clients/${web.id}`, 'back on the client page');
  assert.ok(await inView(page.getByRole('heading', { name: 'Client Secrets' })), 'at the secrets');
});

test('after "Test" the redirect tester\'s answer is in view', async () => {
  await page.goto(`${server.base}/console/clients/${web.id}`);
  await page.getByLabel('Redirect URI to test').fill('https://reports.example.com/other');
  await page.getByRole('button', { name: 'Test', exact: true }).click();
  const answer = page.getByRole('status').filter({ hasText: 'Does not match' });
  await answer.waitFor();
  assert.equal(new URL(page.url()).hash, '#redirect-test');
  assert.ok(await inView(answer), 'the answer is on the screen');
});

test('unknown addresses: a page for browsers, problem+json for programs, the console inside the console', async () => {
  for (const path of ['/no-such-page', '/t/no-such-tenant/whatever', '/oauth2/nothing', '/api/v1/nothing']) {
    const html = await fetch(`${server.base}${path}`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(html.status, 404, path);
    assert.match(html.headers.get('content-type'), /^text\/html/, `${path} for a browser`);
    assert.match(await html.text(), /<h1>Not found<\/h1>/, path);
    for (const accept of ['application/json', '*/*', null]) {
      const api = await fetch(`${server.base}${path}`, { headers: accept ? { accept } : {} });
      assert.equal(api.status, 404, path);
      assert.equal(api.headers.get('content-type'), 'application/problem+json', `${path} for ${accept}`);
      assert.equal((await api.json()).status, 404);
    }
  }
  // In Chromium, outside the console: a page.
  const r = await page.goto(`${server.base}/no-such-page`);
  assert.equal(r.status(), 404);
  await page.getByRole('heading', { name: 'Not found' }).waitFor();

  // Inside the console: the console's own page, with the menu to go on.
  const c = await page.goto(`${server.base}/console/no-such-page`);
  assert.equal(c.status(), 404);
  await page.getByRole('heading', { name: 'Not found', level: 1 }).waitFor();
  await page.getByRole('alert').filter({ hasText: 'There is no such console page' }).waitFor();
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Scopes' }).click();
  await page.getByRole('heading', { name: 'Scopes', level: 1 }).waitFor();
});
