// The outbound side in the console, in Chromium: a provider (Latchkey
// itself, reached over loopback), a remote client whose secret is
// write-only, and an authorization obtained with it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser } from './harness.mjs';
import { signIn } from './console-lib.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ env: { LATCHKEY_REMOTE_ALLOW_PRIVATE: '["127.0.0.1"]' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a provider, a remote client with a write-only secret, and an authorization', async () => {
  const upstream = await server.cliJson(['client', 'create', '--type', 'm2m', '--name', 'Upstream service']);
  const upstreamId = upstream.client_id ?? upstream.client.client_id;
  const upstreamSecret = upstream.client_secret;
  assert.match(upstreamSecret, /^lks_/);

  const page = await (await browser.newContext()).newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
  await page.getByRole('link', { name: 'Providers' }).click();
  await page.getByLabel('Provider name').fill('self');
  await page.getByLabel('Token endpoint').fill(`${server.base}/oauth2/token`);
  await page.getByRole('button', { name: 'Add Provider' }).click();
  await page.getByRole('cell', { name: 'self', exact: true }).waitFor();

  await page.getByRole('link', { name: 'Remote Clients' }).click();
  await page.getByLabel('Namespace').fill('ops');
  await page.getByLabel('Name', { exact: true }).fill('upstream');
  await page.getByLabel('Provider', { exact: true }).selectOption('self');
  await page.getByLabel('Identifier (client ID at the provider)').fill(upstreamId);
  await page.getByLabel('Secret', { exact: true }).fill(upstreamSecret);
  await page.getByRole('button', { name: 'Add Remote Client' }).click();
  await page.getByRole('cell', { name: 'ops/upstream', exact: true }).waitFor();
  await page.getByText(`…${upstreamSecret.slice(-4)}`).waitFor();
  assert.equal((await page.content()).includes(upstreamSecret), false, 'the secret is never shown again');

  await page.getByRole('link', { name: 'Authorizations' }).click();
  await page.getByLabel('Remote client').selectOption('ops/upstream');
  await page.getByRole('button', { name: 'Obtain Authorization' }).click();
  const row = page.getByRole('row').filter({ hasText: 'ops/upstream' });
  await row.getByText('active').waitFor();
  assert.match(await row.textContent(), /client_credentials/);
  assert.equal((await page.content()).includes('eyJ'), false, 'no token on the page');

  await row.getByRole('button', { name: 'Delete authorization ops/upstream' }).click();
  await page.getByText('No authorizations yet.').waitFor();
});

test('an authorization-code authorization is obtained by signing in at the provider', async () => {
  const web = await server.cliJson(['client', 'create', '--type', 'web', '--name', 'Upstream web',
    '--redirect-uri', `${server.base}/remote/callback/self-web`, '--scope', 'openid']);
  const webId = web.client_id ?? web.client.client_id;
  const page = await (await browser.newContext()).newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
  await page.goto(`${server.base}/console/providers`);
  await page.getByLabel('Provider name').fill('self-web');
  await page.getByLabel('Discovery URL').fill(`${server.base}/.well-known/openid-configuration`);
  await page.getByRole('button', { name: 'Add Provider' }).click();
  await page.getByRole('cell', { name: /^self-web/ }).waitFor();
  await page.getByRole('row').filter({ hasText: 'self-web' }).getByText(`${server.base}/oauth2/token`).waitFor(); // discovered

  await page.goto(`${server.base}/console/remote-clients`);
  await page.getByLabel('Namespace').fill('ops');
  await page.getByLabel('Name', { exact: true }).fill('web');
  await page.getByLabel('Provider', { exact: true }).selectOption('self-web');
  await page.getByLabel('Identifier (client ID at the provider)').fill(webId);
  await page.getByLabel('Secret', { exact: true }).fill(web.client_secret);
  await page.getByLabel('Scope', { exact: true }).fill('openid');
  await page.getByRole('button', { name: 'Add Remote Client' }).click();
  await page.getByRole('cell', { name: 'ops/web', exact: true }).waitFor();

  await page.goto(`${server.base}/console/authorizations`);
  await page.getByLabel('Remote client').selectOption('ops/web');
  await page.getByLabel('Grant type').selectOption('authorization_code');
  await page.getByRole('button', { name: 'Obtain Authorization' }).click();
  // Signed in at the provider already (it is this server): straight back.
  await page.waitForURL((u) => u.pathname.startsWith('/remote/callback/self-web'));
  await page.goto(`${server.base}/console/authorizations`);
  const row = page.getByRole('row').filter({ hasText: 'ops/web' });
  await row.getByText('authorization_code').waitFor();
  await row.getByText('active').waitFor();
});
