// The outbound side in the console, in Chromium: a provider (Latchkey
// itself, reached over loopback), a remote client whose secret is
// write-only, and an authorization obtained with it; then a provider made
// with the "+" inside the remote-client form: the independent
// oidc-provider peer, authenticated with private_key_jwt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser } from './harness.mjs';
import { signIn } from './console-lib.mjs';
import { startPeer } from './peer.mjs';

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
  await page.getByRole('button', { name: 'Delete Authorization' }).click();
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

test('"+ New provider" in the remote-client form; private_key_jwt at an independent provider', async () => {
  // The peer trusts this tenant's JWKS for the client latchkey-pkjwt and
  // accepts only assertions whose single audience is its issuer.
  const peer = await startPeer({
    clientId: 'peer-basic', clientSecret: 'peer-basic-secret-0123456789', redirectUri: `${server.base}/remote/callback/x`,
    jwtClientId: 'latchkey-pkjwt', jwtClientJwksUri: `${server.base}/oauth2/jwks`,
  });
  try {
    const decoy = await server.cli(['provider', 'create', 'decoy', '--token-endpoint', 'https://decoy.example/token']);
    assert.equal(decoy.code, 0, decoy.stderr);
    const page = await (await browser.newContext()).newPage();
    await signIn(page, server, server.adminUser, server.adminPassword);
    await page.goto(`${server.base}/console/remote-clients`);
    await page.getByLabel('Namespace').fill('partner');
    await page.getByLabel('Name', { exact: true }).fill('peer-api');
    await page.getByLabel('Identifier (client ID at the provider)').fill('latchkey-pkjwt');
    await page.getByLabel('Scope', { exact: true }).fill('api:read');

    // A mistake inside the sub-form: the page comes back with everything typed.
    // With a provider to choose from, the sub-form starts closed; "+" opens it.
    assert.equal(await page.getByLabel('Provider name').isVisible(), false);
    await page.locator('summary', { hasText: 'New provider' }).click();
    await page.getByLabel('Provider name').fill('peer');
    await page.getByLabel('Discovery URL').fill(`${peer.issuer}/nowhere`);
    await page.getByRole('button', { name: 'Add Remote Client' }).click();
    await page.getByRole('alert').filter({ hasText: /^New provider: discovery_url/ }).waitFor();
    assert.equal(await page.getByLabel('Namespace').inputValue(), 'partner');
    assert.equal(await page.getByLabel('Provider name').inputValue(), 'peer');
    assert.equal(await page.getByLabel('Provider', { exact: true }).isDisabled(), true, 'the open sub-form wins');

    await page.getByLabel('Discovery URL').fill(`${peer.issuer}/.well-known/openid-configuration`);
    await page.getByLabel('Client authentication').selectOption('private_key_jwt');
    await page.getByRole('button', { name: 'Add Remote Client' }).click();
    const row = page.getByRole('row').filter({ hasText: 'partner/peer-api' });
    await row.getByRole('cell', { name: 'peer', exact: true }).waitFor();
    assert.match(await row.textContent(), /none/, 'no secret stored');

    // The provider was discovered and shows the JWKS URL to register.
    await page.goto(`${server.base}/console/providers`);
    const prow = page.getByRole('row').filter({ hasText: peer.issuer });
    await prow.getByText('private_key_jwt').waitFor();
    await prow.getByText(`${server.base}/oauth2/jwks`).waitFor();

    // The peer accepts the signed assertion: an authorization, and its token is live there.
    await page.goto(`${server.base}/console/authorizations`);
    await page.getByLabel('Remote client').selectOption('partner/peer-api');
    await page.getByRole('button', { name: 'Obtain Authorization' }).click();
    const arow = page.getByRole('row').filter({ hasText: 'partner/peer-api' });
    await arow.getByText('active').waitFor().catch(async (e) => {
      throw new Error(`${e.message}\n${await page.locator('main').innerText()}\nthe provider said:\n${peer.log()}`);
    });
    const out = await server.cli(['authorization', 'token', 'partner', 'peer-api', '-o', 'table']);
    assert.equal(out.code, 0, out.stderr);
    const token = out.stdout.trim();
    const r = await fetch(`${peer.issuer}/token/introspection`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('peer-basic:peer-basic-secret-0123456789').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }).toString(),
    });
    const i = await r.json();
    assert.equal(i.active, true, JSON.stringify(i));
    assert.equal(i.client_id, 'latchkey-pkjwt');
    assert.equal(i.scope, 'api:read');
  } finally {
    await peer.stop();
  }
});
