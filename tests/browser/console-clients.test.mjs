// The admin console's client management in real Chromium: signing in with
// the bootstrap admin through the login page, every client type created
// through the dialog, the one-time secret, search, edit, secret rotation
// with a grace period, revocation, deletion, and inline validation. Every
// effect is checked where it matters: at the token and introspection
// endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, REQUIRED_PAGE_HEADERS } from './harness.mjs';
import { signIn, tokenFor, introspect, createClient } from './console-lib.mjs';

let server;
let browser;
let context;
let page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
  page = await context.newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

test('one client of every type is created through the dialog', async () => {
  const types = [
    { type: 'Machine to machine', confidential: true },
    { type: 'Web application', confidential: true, redirectUri: 'https://web.example.com/callback' },
    { type: 'Single-page or native app', confidential: false, redirectUri: 'http://127.0.0.1:3000/callback' },
    { type: 'Hybrid', confidential: true, redirectUri: 'https://hybrid.example.com/callback' },
    { type: 'Device or CLI', confidential: false },
    { type: 'Provisioning connector', confidential: true },
    { type: 'Custom', confidential: true, grants: ['Client Credentials'] },
  ];
  for (const t of types) {
    const { clientId, secret } = await createClient(page, server, { ...t, name: `Every type: ${t.type}` });
    assert.match(clientId, /^[A-Za-z0-9]{24}$/, t.type);
    if (t.confidential) assert.match(secret, /^lks_/, `${t.type} shows its secret once`);
    else assert.equal(secret, null, `${t.type} is public: no secret`);
    const listed = await server.cliJson(['client', 'show', clientId]);
    assert.equal(listed.name, `Every type: ${t.type}`);
  }
});

test('the secret is shown once, copied as client_id:client_secret, and works', async () => {
  const { clientId, secret } = await createClient(page, server, { type: 'Machine to machine', name: 'Copy me' });
  // Opening the address again (a GET) shows an empty form, never the secret.
  const again1 = await page.goto(page.url());
  assert.equal(again1.status(), 200);
  assert.equal((await again1.text()).includes(secret), false, 'the secret is shown only once');
  const details = await page.request.get(`${server.base}/console/clients/${clientId}`);
  assert.equal((await details.text()).includes(secret), false, 'the details page shows only the hint');
  assert.match(await details.text(), new RegExp(`…${secret.slice(-4)}`));

  const created = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/console/clients/new/m2m'));
  const again = await createClient(page, server, { type: 'Machine to machine', name: 'Copy me too' });
  const answer = await created;
  assert.equal(answer.status(), 201);
  assert.equal(answer.headers()['cache-control'], 'no-store', 'the page with the secret is never cached');
  await page.getByText('it will not be shown again').waitFor();
  await page.getByRole('button', { name: 'Copy Client Credentials' }).click();
  await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, `${again.clientId}:${again.secret}`);
  await page.getByRole('button', { name: 'Copy Client Secret' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), again.secret);
  assert.ok(!page.url().includes(again.secret), 'the secret is never in a URL');

  const r = await tokenFor(server, again.clientId, again.secret);
  assert.equal(r.status, 200);
  assert.ok((await r.json()).access_token);
});

test('search finds a client as you type, and an edit shows on its page', async () => {
  const { clientId } = await createClient(page, server, { type: 'Machine to machine', name: 'Needle in a haystack' });
  await page.goto(`${server.base}/console/clients`);
  await page.getByRole('searchbox', { name: 'Search clients' }).fill('Needle in');
  await page.getByRole('link', { name: 'View Needle in a haystack' }).waitFor();
  await page.getByRole('link', { name: 'View Copy me', exact: true }).waitFor({ state: 'detached' });
  const rows = page.locator('#client-results tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), new RegExp(clientId));

  // Without script the same search is a plain GET.
  const plain = await page.request.get(`${server.base}/console/clients?q=haystack`);
  assert.equal(plain.status(), 200);
  assert.match(await plain.text(), new RegExp(clientId));

  await page.getByRole('link', { name: 'Edit Needle in a haystack' }).click();
  await page.getByLabel('Description').fill('Found it: nightly invoicing');
  await page.getByLabel('Access Token Lifetime').fill('15 min');
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await page.getByText('The client was saved.').waitFor();
  await page.getByText('Found it: nightly invoicing').first().waitFor();
  await page.locator('dd').filter({ hasText: /^15\s+min \(set on this client\)$/ }).waitFor();
  const shown = await server.cliJson(['client', 'show', clientId]);
  assert.equal(shown.description, 'Found it: nightly invoicing');
  assert.equal(shown.access_token_lifetime, 900);
});

test('a new secret with a grace period keeps both working, and Revoke ends the old one', async () => {
  const first = await createClient(page, server, { type: 'Machine to machine', name: 'Rotating service' });
  await page.getByRole('link', { name: 'View client' }).click();
  await page.getByLabel('Keep the current secrets valid for').selectOption({ label: '1 hour' });
  await page.getByRole('button', { name: 'Generate New Secret' }).click();
  await page.getByRole('heading', { name: 'New Client Secret' }).waitFor();
  const second = await page.getByLabel('Client Secret', { exact: true }).inputValue();
  assert.notEqual(second, first.secret);
  assert.equal((await tokenFor(server, first.clientId, first.secret)).status, 200, 'old secret in its grace period');
  assert.equal((await tokenFor(server, first.clientId, second)).status, 200, 'new secret');

  await page.getByRole('link', { name: 'View client' }).click();
  await page.getByRole('button', { name: `Revoke secret …${first.secret.slice(-4)}` }).click();
  // A confirmation first, naming the secret and what stops working.
  await page.getByRole('heading', { name: `Revoke secret …${first.secret.slice(-4)} of` }).waitFor();
  await page.getByText('get invalid_client at the token endpoint at once').waitFor();
  assert.equal((await tokenFor(server, first.clientId, first.secret)).status, 200, 'nothing revoked before confirming');
  await page.getByRole('button', { name: 'Revoke Secret' }).click();
  await page.getByText('The secret was revoked').waitFor();
  assert.equal((await tokenFor(server, first.clientId, first.secret)).status, 401, 'revoked secret');
  assert.equal((await tokenFor(server, first.clientId, second)).status, 200, 'the other secret still works');
});

test('delete asks for confirmation and then the client\'s tokens are dead', async () => {
  const { clientId, secret } = await createClient(page, server, { type: 'Machine to machine', name: 'Doomed' });
  const token = (await (await tokenFor(server, clientId, secret)).json()).access_token;
  assert.equal((await introspect(server, token)).active, true);

  await page.getByRole('link', { name: 'View client' }).click();
  await page.getByRole('link', { name: 'Delete', exact: true }).click();
  await page.getByText('Deleting a client will revoke access for every application and user that uses it.').waitFor();
  await page.getByRole('button', { name: 'Delete Client' }).click();
  await page.getByText('The client was deleted').waitFor();
  assert.equal((await introspect(server, token)).active, false, 'its token is inactive');
  assert.equal((await tokenFor(server, clientId, secret)).status, 401);
  assert.equal(await page.getByRole('link', { name: 'View Doomed' }).count(), 0);
});

test('validation errors are shown inline, beside their fields', async () => {
  await page.goto(`${server.base}/console/clients/new`);
  await page.getByRole('link', { name: /^Web application/ }).click();
  await page.getByLabel('Redirect URIs', { exact: true }).fill('http://example.com/callback');
  await page.getByLabel('Access Token Lifetime').fill('10s');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Create Client' }).click(),
  ]);
  assert.equal(response.status(), 422);
  await page.getByRole('alert').filter({ hasText: 'The client was not saved' }).waitFor();
  const name = page.getByLabel('Client Name', { exact: true });
  assert.equal(await name.getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#name-error').textContent(), /1-200 characters/);
  assert.match(await page.locator('#redirect_uris-error').textContent(), /http is only allowed for the loopback/);
  assert.match(await page.locator('#access_token_lifetime-error').textContent(), /between 1\s+min and 1\s+h/);
  await page.getByRole('link', { name: /^Access Token Lifetime:/ }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'access_token_lifetime', 'the summary links to the field');
  assert.equal(await page.getByLabel('Access Token Lifetime').inputValue(), '10s', 'what was typed is kept');
  // What was typed is kept.
  await page.getByText('http://example.com/callback', { exact: true }).waitFor();
});

test('bulk export, disable and delete apply to a filtered, sorted selection', async () => {
  const two = await createClient(page, server, { type: 'Machine to machine', name: 'Bulk two' });
  const one = await createClient(page, server, { type: 'Machine to machine', name: 'Bulk one' });
  await page.goto(`${server.base}/console/clients`);
  await page.getByText('Filters', { exact: true }).click();
  await page.getByLabel('Sort by').selectOption({ label: 'Name A–Z' });
  await page.getByRole('searchbox', { name: 'Search clients' }).fill('Bulk');
  await page.getByRole('button', { name: 'Search' }).click();
  // Typing searches as you type too: wait until both navigations are over.
  await page.waitForURL(/sort=name/, { waitUntil: 'networkidle' });
  const names = await page.locator('#client-results tbody tr td:nth-child(2) a').allTextContents();
  assert.deepEqual(names, ['Bulk one', 'Bulk two']);

  await page.getByLabel('Select every client on this page').check();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export selected' }).click(),
  ]);
  const exported = JSON.parse(await (await download.createReadStream()).toArray().then((c) => Buffer.concat(c).toString()));
  assert.deepEqual(exported.items.map((c) => c.client_id).sort(), [one.clientId, two.clientId].sort());
  assert.ok(!JSON.stringify(exported).includes('lks_'), 'no secret in an export');

  await page.getByLabel('Select every client on this page').check();
  await page.getByRole('button', { name: 'Disable selected' }).click();
  await page.getByRole('heading', { name: 'Disable 2 clients?' }).waitFor();
  await page.getByRole('button', { name: 'Disable Clients' }).click();
  await page.getByText('The selected clients were disabled.').waitFor();
  assert.equal((await tokenFor(server, one.clientId, one.secret)).status, 401, 'disabled');

  await page.goto(`${server.base}/console/clients?q=Bulk`);
  await page.getByLabel('Select every client on this page').check();
  await page.getByRole('button', { name: 'Delete selected' }).click();
  await page.getByRole('heading', { name: 'Delete 2 clients?' }).waitFor();
  await page.getByText('Deleting a client will revoke access for every application and user that uses it.').waitFor();
  await page.getByRole('button', { name: 'Delete Clients' }).click();
  await page.getByText('The selected clients were deleted').waitFor();
  const after = await page.request.get(`${server.base}/console/clients?q=Bulk`);
  assert.match(await after.text(), /No clients match\./);
});

test('every console page sends the security headers', async () => {
  const { clientId } = await createClient(page, server, { type: 'Machine to machine', name: 'Header check' });
  const paths = ['', 'clients', 'clients/new', 'clients/new/web', `clients/${clientId}`, `clients/${clientId}/edit`,
    `clients/${clientId}/delete`, 'scopes', 'classes', 'users', 'keys', 'audit', 'settings', 'providers',
    'remote-clients', 'authorizations', 'tenants', `?client=${clientId}&range=7d`, 'no-such-page'];
  for (const p of paths) {
    const r = await page.request.get(`${server.base}/console/${p}`, { maxRedirects: 0 });
    const h = r.headers();
    assert.match(h['content-type'], /^text\/html/, p);
    for (const name of REQUIRED_PAGE_HEADERS) assert.ok(h[name], `${name} on /console/${p}`);
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
    assert.doesNotMatch(h['content-security-policy'], /unsafe-inline/);
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.equal(h['cache-control'], 'no-store');
  }
});

test('a provisioning connector\'s page shows its SCIM endpoint and the changes it made', async () => {
  const c = await server.cliJson(['client', 'create', '--type', 'm2m', '--name', 'Directory connector',
    '--scope', 'users:read', '--scope', 'users:write']);
  const token = await tokenFor(server, c.client_id, c.client_secret).then((r) => r.json());
  const created = await fetch(`${server.base}/scim/v2/Users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'synced.sam' }),
  });
  const body = await created.text();
  assert.equal(created.status, 201, body);
  const user = JSON.parse(body);
  await page.goto(`${server.base}/console/clients/${c.client_id}`);
  const panel = page.getByRole('region', { name: 'Directory Sync (SCIM)' });
  await panel.getByText('No refused requests.').waitFor();

  // Two requests the server refuses: a taken userName and a broken filter
  // (whose query names a person: the page keeps only the path).
  const scim = (path, init = {}) => fetch(`${server.base}/scim/v2/${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/scim+json' },
  });
  const again = await scim('Users', {
    method: 'POST',
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'synced.sam' }),
  });
  assert.equal(again.status, 409);
  const badFilter = await scim(`Users?filter=${encodeURIComponent('userName eq "private.person" and')}`);
  assert.equal(badFilter.status, 400);

  await page.goto(`${server.base}/console/clients/${c.client_id}`);
  await panel.getByText(`${server.base}/scim/v2`).waitFor();
  const row = panel.getByRole('row').filter({ hasText: 'user.create' });
  assert.match(await row.textContent(), new RegExp(user.id));
  assert.doesNotMatch(await panel.textContent(), /Never/);
  const refused = panel.getByRole('table', { name: 'Refused requests' });
  const conflict = refused.getByRole('row').filter({ hasText: '409' });
  assert.match(await conflict.textContent(), /POST \/scim\/v2\/Users/);
  assert.match(await conflict.textContent(), /uniqueness/);
  const invalid = refused.getByRole('row').filter({ hasText: 'invalidFilter' });
  assert.match(await invalid.textContent(), /GET \/scim\/v2\/Users/);
  assert.doesNotMatch(await panel.textContent(), /private\.person/, 'the query is not kept');

  // A client without users:* scopes has no such panel.
  await page.goto(`${server.base}/console/clients/latchkey-admin`);
  await page.getByRole('heading', { name: 'History' }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Directory Sync (SCIM)' }).count(), 0);
});

test('an m2m client with private_key_jwt and a JWK Set URL, then lifetimes edited as durations', async () => {
  await page.goto(`${server.base}/console/clients/new/m2m`);
  // Only what an m2m client uses; nothing the server does not serve.
  assert.equal(await page.getByLabel('Redirect URIs', { exact: true }).count(), 0);
  const methods = await page.getByLabel('Client Authentication').locator('option').allTextContents();
  assert.ok(!methods.some((m) => /Client secret JWT/.test(m)), methods.join());
  // The key fields show only while Private key JWT is chosen.
  assert.equal(await page.getByLabel('JWK Set URL').isVisible(), false);
  await page.getByLabel('Client Name', { exact: true }).fill('Key signer');
  await page.getByLabel('Client Authentication').selectOption('private_key_jwt');
  await page.getByLabel('JWK Set URL').waitFor();
  await page.getByRole('button', { name: 'Create Client' }).click();
  // One of the two is required: the summary links to the field.
  await page.getByRole('alert').filter({ hasText: 'The client was not saved' }).waitFor();
  await page.getByRole('link', { name: /^JWK Set URL:/ }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'jwks_uri');
  assert.equal(await page.getByLabel('Client Name', { exact: true }).inputValue(), 'Key signer', 'input kept');
  await page.getByLabel('JWK Set URL').fill('https://signer.example/jwks.json');
  await page.getByLabel('Access Token Lifetime').fill('30m');
  await page.getByRole('button', { name: 'Create Client' }).click();
  await page.getByRole('heading', { name: 'Client Successfully Created' }).waitFor();
  const clientId = await page.getByLabel('Client ID', { exact: true }).inputValue();
  assert.equal(await page.getByLabel('Client Secret', { exact: true }).count(), 0, 'no secret for private_key_jwt');
  let shown = await server.cliJson(['client', 'show', clientId]);
  assert.equal(shown.token_endpoint_auth_method, 'private_key_jwt');
  assert.equal(shown.jwks_uri, 'https://signer.example/jwks.json');
  assert.equal(shown.access_token_lifetime, 1800);

  await page.goto(`${server.base}/console/clients/${clientId}/edit`);
  assert.equal(await page.getByLabel('Access Token Lifetime').inputValue(), '30m');
  await page.getByLabel('Access Token Lifetime').fill('1 H');
  await page.getByText('Advanced', { exact: true }).click();
  await page.getByLabel('Audiences', { exact: true }).fill('https://api.example.com');
  await page.getByRole('button', { name: 'Add Audiences' }).click();
  await page.getByText('https://api.example.com', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await page.getByText('The client was saved.').waitFor();
  await page.locator('dd').filter({ hasText: /^1\s+h \(set on this client\)$/ }).waitFor();
  await page.locator('dd').filter({ hasText: 'https://signer.example/jwks.json' }).waitFor();
  shown = await server.cliJson(['client', 'show', clientId]);
  assert.equal(shown.access_token_lifetime, 3600);
  assert.deepEqual(shown.audiences, ['https://api.example.com']);

  // A duration the form cannot read: the form again, never a 5xx.
  await page.goto(`${server.base}/console/clients/${clientId}/edit`);
  await page.getByLabel('Access Token Lifetime').fill('an hour or so');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Save Changes' }).click(),
  ]);
  assert.equal(response.status(), 422);
  assert.match(await page.locator('#access_token_lifetime-error').textContent(), /enter a duration such as/);
});

test('the client list search matches redirect URIs', async () => {
  const { clientId } = await createClient(page, server, {
    type: 'Web application', name: 'Found by its callback', redirectUri: 'https://rare-callback.example.com/oauth/done',
  });
  await page.goto(`${server.base}/console/clients`);
  await page.getByRole('searchbox', { name: 'Search clients' }).fill('rare-callback.example.com/oauth');
  await page.waitForFunction(() => document.querySelectorAll('#client-results tbody tr').length === 1);
  await page.getByRole('link', { name: 'View Found by its callback' }).waitFor();
  const rows = page.locator('#client-results tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), new RegExp(clientId));
});

test('without script, Enter in a field of the create form saves it, not "Change Type"', async () => {
  // Browsers submit a form on Enter with its first submit button; without
  // script the type switch's "Change Type" comes before "Create Client".
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const p = await plain.newPage();
  await signIn(p, server, server.adminUser, server.adminPassword);
  await p.goto(`${server.base}/console/clients/new/web`);
  await p.getByLabel('Client Type').selectOption('m2m');
  await p.getByRole('button', { name: 'Change Type' }).click();
  await p.getByLabel('Client Name', { exact: true }).fill('Saved by Enter');
  await p.getByLabel('Client Name', { exact: true }).press('Enter');
  await p.getByRole('heading', { name: 'Client Successfully Created' }).waitFor({ timeout: 10_000 });
  await plain.close();
});
