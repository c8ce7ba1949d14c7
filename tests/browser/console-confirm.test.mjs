// Every console action that destroys or ends something asks first, on a
// page naming what stops working (console/confirm.rs), in Chromium: Cancel
// changes nothing, the confirming button does it. Revoking a secret,
// rotating keys, resetting a password, deleting a client, deleting a tenant
// and ending device sign-ins or consents are tested where their pages are
// (console-clients, console-pages, console-viewer, device-flow); these are
// the rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser } from './harness.mjs';
import { signIn, tokenFor } from './console-lib.mjs';

let server;
let browser;
let page;

before(async () => {
  server = await startServer({ env: { LATCHKEY_REMOTE_ALLOW_PRIVATE: '["127.0.0.1"]' } });
  browser = await launchBrowser();
  page = await (await browser.newContext()).newPage();
  await signIn(page, server, server.adminUser, server.adminPassword);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const client = async (name) => {
  const r = await server.cliJson(['client', 'create', '--type', 'm2m', '--name', name]);
  return { id: r.client_id ?? r.client.client_id, secret: r.client_secret };
};

/**
 * Opens the confirmation with `open`, checks its heading and consequence,
 * cancels (and checks nothing happened with `unchanged`), then confirms
 * with `button`.
 */
async function confirmFlow({ open, heading, says, button, unchanged }) {
  await open();
  await page.getByRole('heading', { name: heading, exact: true }).waitFor();
  await page.getByRole('alertdialog').getByText(says).waitFor();
  await page.getByRole('link', { name: 'Cancel' }).click();
  await page.waitForURL((u) => !u.pathname.endsWith('/delete') && !u.pathname.endsWith('/disable'));
  await unchanged();
  await open();
  await page.getByRole('heading', { name: heading, exact: true }).waitFor();
  await page.getByRole('button', { name: button, exact: true }).click();
}

test('deleting an unused scope asks first', async () => {
  await server.cliJson(['scope', 'create', 'spare:read', '--description', 'Nobody uses this']);
  const listed = async () => {
    const r = await server.cliJson(['scope', 'list']);
    return (r.items ?? r).map((s) => s.name);
  };
  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/scopes`);
      await page.getByRole('button', { name: 'Delete scope spare:read' }).click();
    },
    heading: 'Delete scope spare:read?',
    says: 'requests for it get invalid_scope',
    button: 'Delete Scope',
    unchanged: async () => assert.ok((await listed()).includes('spare:read')),
  });
  await page.getByText('Deleted.', { exact: true }).waitFor();
  assert.ok(!(await listed()).includes('spare:read'));
});

test('deleting a security class asks first', async () => {
  await server.cliJson(['class', 'create', 'spare', '--description', 'No client in it']);
  const names = async () => {
    const r = await server.cliJson(['class', 'list']);
    return (r.items ?? r).map((c) => c.name);
  };
  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/classes`);
      await page.getByRole('button', { name: 'Delete class spare' }).click();
    },
    heading: 'Delete security class spare?',
    says: 'no client loses a scope',
    button: 'Delete Class',
    unchanged: async () => assert.ok((await names()).includes('spare')),
  });
  await page.getByText('Deleted.', { exact: true }).waitFor();
  assert.ok(!(await names()).includes('spare'));
});

test('disabling a client asks first, naming what stops working', async () => {
  const c = await client('Disable me');
  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/clients/${c.id}`);
      await page.getByRole('button', { name: 'Disable', exact: true }).click();
    },
    heading: 'Disable Disable me?',
    says: 'gets invalid_client at the token endpoint at once',
    button: 'Disable Client',
    unchanged: async () => assert.equal((await tokenFor(server, c.id, c.secret)).status, 200),
  });
  await page.getByText('The client is disabled').waitFor();
  assert.equal((await tokenFor(server, c.id, c.secret)).status, 401);
});

test('disabling selected clients asks first, listing them', async () => {
  const a = await client('Bulk off one');
  const b = await client('Bulk off two');
  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/clients?q=Bulk%20off`);
      await page.getByRole('checkbox', { name: 'Select Bulk off one' }).check();
      await page.getByRole('checkbox', { name: 'Select Bulk off two' }).check();
      await page.getByRole('button', { name: 'Disable selected' }).click();
    },
    heading: 'Disable 2 clients?',
    says: 'get invalid_client at the token endpoint at once',
    button: 'Disable Clients',
    unchanged: async () => assert.equal((await tokenFor(server, a.id, a.secret)).status, 200),
  });
  await page.getByText('The selected clients were disabled.').waitFor();
  assert.equal((await tokenFor(server, a.id, a.secret)).status, 401);
  assert.equal((await tokenFor(server, b.id, b.secret)).status, 401);
});

test('a new secret without a grace period asks first: the current ones stop at once', async () => {
  const c = await client('Compromised');
  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/clients/${c.id}`);
      await page.getByLabel('Keep the current secrets valid for').selectOption('0');
      await page.getByRole('button', { name: 'Generate New Secret' }).click();
    },
    heading: 'Revoke every current secret of Compromised now?',
    says: 'every current secret stops working at once',
    button: 'Generate and Revoke Now',
    unchanged: async () => assert.equal((await tokenFor(server, c.id, c.secret)).status, 200),
  });
  const fresh = await page.getByLabel('Client Secret', { exact: true }).inputValue();
  assert.equal((await tokenFor(server, c.id, c.secret)).status, 401, 'the old secret is revoked');
  assert.equal((await tokenFor(server, c.id, fresh)).status, 200);
});

test('disabling a user asks first, from the list and from their page', async () => {
  await server.cliJson(['user', 'create', 'ursula', '--role', 'viewer']);
  await server.cliJson(['user', 'create', 'umar', '--role', 'viewer']);
  const status = async (name) => {
    const r = await server.cliJson(['user', 'list']);
    return (r.items ?? r).find((u) => u.username === name).status;
  };
  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/users?q=ursula`);
      await page.getByRole('button', { name: 'Disable ursula' }).click();
    },
    heading: 'Disable ursula?',
    says: 'every token issued to ursula stops working at once',
    button: 'Disable User',
    unchanged: async () => assert.equal(await status('ursula'), 'active'),
  });
  await page.getByText('The user was updated.').waitFor();
  assert.equal(await status('ursula'), 'disabled');

  await page.goto(`${server.base}/console/users?q=umar`);
  await page.getByRole('link', { name: 'umar' }).click();
  const detail = page.url();
  await page.getByRole('button', { name: 'Disable', exact: true }).click();
  await page.getByRole('heading', { name: 'Disable umar?' }).waitFor();
  await page.getByRole('link', { name: 'Cancel' }).click();
  assert.equal(page.url(), detail, 'Cancel goes back to their page');
  await page.getByRole('button', { name: 'Disable', exact: true }).click();
  await page.getByRole('button', { name: 'Disable User' }).click();
  await page.waitForURL((u) => u.pathname.startsWith(new URL(detail).pathname));
  assert.equal(await status('umar'), 'disabled');
});

test('deleting a provider, a remote client and an authorization each asks first', async () => {
  const upstream = await client('Upstream for remote');
  await server.cliJson(['provider', 'create', 'self', '--token-endpoint', `${server.base}/oauth2/token`]);
  await server.cliJson(['provider', 'create', 'unused', '--token-endpoint', `${server.base}/oauth2/token`]);
  await server.cliJson(['remote-client', 'create', 'ops', 'upstream', '--provider', 'self', '--client-id', upstream.id],
    { LATCHKEY_REMOTE_CLIENT_SECRET: upstream.secret });
  await server.cliJson(['authorization', 'create', 'ops', 'upstream']);
  const cli = async (what) => { const r = await server.cliJson([what, 'list']); return r.items ?? r; };

  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/authorizations`);
      await page.getByRole('button', { name: 'Delete authorization ops/upstream' }).click();
    },
    heading: 'Delete authorization ops/upstream?',
    says: 'Services fetching its access token from Latchkey get 404',
    button: 'Delete Authorization',
    unchanged: async () => assert.equal((await cli('authorization')).length, 1),
  });
  await page.getByText('No authorizations yet.').waitFor();
  assert.equal((await cli('authorization')).length, 0);

  // A provider in use is kept, and the page says why.
  await page.goto(`${server.base}/console/providers`);
  await page.getByRole('button', { name: 'Delete provider self' }).click();
  await page.getByRole('button', { name: 'Delete Provider' }).click();
  await page.getByRole('alert').filter({ hasText: 'still used by remote clients' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/console/providers/self/delete');
  await page.getByRole('heading', { name: 'Providers', level: 1 }).waitFor();

  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/remote-clients`);
      await page.getByRole('button', { name: 'Delete remote client ops/upstream' }).click();
    },
    heading: 'Delete remote client ops/upstream?',
    says: 'its authorization are deleted with it',
    button: 'Delete Remote Client',
    unchanged: async () => assert.equal((await cli('remote-client')).length, 1),
  });
  await page.getByText('No remote clients yet.').waitFor();

  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/providers`);
      await page.getByRole('button', { name: 'Delete provider unused' }).click();
    },
    heading: 'Delete provider unused?',
    says: "Latchkey forgets unused's endpoints",
    button: 'Delete Provider',
    unchanged: async () => assert.equal((await cli('provider')).length, 2),
  });
  await page.getByRole('row').filter({ hasText: 'self' }).waitFor();
  assert.deepEqual((await cli('provider')).map((p) => p.name), ['self']);
});

test('disabling a tenant asks first', async () => {
  await server.cliJson(['tenant', 'create', 'initech']);
  const discovery = () => fetch(`${server.base}/t/initech/.well-known/openid-configuration`).then((r) => r.status);
  await confirmFlow({
    open: async () => {
      await page.goto(`${server.base}/console/tenants`);
      await page.getByRole('button', { name: 'Disable tenant initech' }).click();
    },
    heading: 'Disable tenant initech?',
    says: 'answers 404 at once',
    button: 'Disable Tenant',
    unchanged: async () => assert.equal(await discovery(), 200),
  });
  await page.getByText('The tenant is disabled').waitFor();
  assert.equal(await discovery(), 404);
});
