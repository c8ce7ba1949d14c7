// Every console page state the other tests reach, checked by axe-core (WCAG
// 2.2 A/AA and best practices: 0 violations) and for fit: no page is wider
// than a 390 px phone or a 1366 px laptop, and at 1366 px no table has to be
// scrolled sideways. Two passes share one server: light at 1366×768 and dark
// at 390×844 (with the menu opened, so the sidebar is checked in dark too).
// A second test folds and opens the small-screen menu without script.
// LATCHKEY_SHOTS=/tmp/ui-shots saves a screenshot of every state. What is
// checked is the rendering, not the storage: the file runs on SQLite only
// (LATCHKEY_A11Y_POSTGRES=1 runs it on PostgreSQL too), to keep CI's time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, BACKEND } from './harness.mjs';
import { axeViolations, overflow, shot } from './a11y-lib.mjs';

const skip = BACKEND === 'postgres' && !process.env.LATCHKEY_A11Y_POSTGRES
  ? 'rendering only: checked on SQLite' : false;

let server;
let browser;
const ids = {};

before(async () => {
  if (skip) return;
  server = await startServer({ env: { LATCHKEY_REMOTE_ALLOW_PRIVATE: '["127.0.0.1"]' } });
  browser = await launchBrowser();
  const make = async (args) => {
    const r = await server.cliJson(['client', 'create', ...args]);
    return { id: r.client_id ?? r.client.client_id, secret: r.client_secret };
  };
  await server.cliJson(['scope', 'create', 'invoices:read', '--description', 'Read your invoices']);
  await server.cliJson(['scope', 'create', 'spare:read', '--description', 'Used by nobody']);
  await server.cliJson(['class', 'create', 'billing', '--description', 'Billing services', '--scope', 'invoices:read']);
  ids.web = (await make(['--type', 'web', '--name', 'Customer portal with a rather long name',
    '--description', 'The portal customers sign in to', '--redirect-uri', 'https://portal.example.com/callback',
    '--scope', 'invoices:read', '--label', 'team=payments'])).id;
  const m2m = await make(['--type', 'm2m', '--name', 'Billing service', '--class', 'billing']);
  ids.m2m = m2m.id;
  ids.connector = (await make(['--type', 'connector', '--name', 'Directory sync'])).id;
  for (let i = 0; i < 2; i += 1) {
    await fetch(`${server.base}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${m2m.id}:${m2m.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
  }
  const vera = await server.cliJson(['user', 'create', 'vera', '--display-name', 'Vera Lindqvist',
    '--email', 'vera.lindqvist@example.com', '--role', 'viewer']);
  ids.vera = vera.id ?? vera.user?.id;
  await server.cliJson(['provider', 'create', 'self', '--token-endpoint', `${server.base}/oauth2/token`]);
  await server.cliJson(['remote-client', 'create', 'ops', 'upstream', '--provider', 'self', '--client-id', m2m.id],
    { LATCHKEY_REMOTE_CLIENT_SECRET: m2m.secret });
  await server.cliJson(['authorization', 'create', 'ops', 'upstream']);
  await server.cliJson(['tenant', 'create', 'acme', '--display-name', 'Acme Corporation']);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every page state: a name and how to get there from a signed-in page. */
function states() {
  const go = (path) => async (page) => { await page.goto(`${server.base}${path}`); };
  /** A confirmation page: the button that asks for it, on the page at `path`. */
  const confirmation = (path, button) => async (page) => {
    await page.goto(`${server.base}${path}`);
    await page.getByRole('button', { name: button }).first().click();
    await page.getByRole('alertdialog').waitFor();
  };
  return [
    ['dashboard', go('/console/')],
    ['clients', go('/console/clients')],
    ['clients-none-match', go('/console/clients?q=nothing-matches-this')],
    ['clients-none-selected', go('/console/clients?e=none_selected')],
    ['new-type', go('/console/clients/new')],
    ['new-web', go('/console/clients/new/web')],
    ['new-errors', async (page) => {
      await page.goto(`${server.base}/console/clients/new/web`);
      await page.getByLabel('Access Token Lifetime').fill('10 fortnights');
      await page.getByRole('button', { name: 'Create Client' }).click();
      await page.getByRole('alert').waitFor();
    }],
    ['new-m2m-advanced', async (page) => {
      await page.goto(`${server.base}/console/clients/new/m2m`);
      await page.getByText('Advanced', { exact: true }).click();
      await page.getByLabel('Audiences', { exact: true }).waitFor();
    }],
    ['new-m2m-keys-error', async (page) => {
      await page.goto(`${server.base}/console/clients/new/m2m`);
      await page.getByLabel('Client Name', { exact: true }).fill('Signer without keys');
      await page.getByLabel('Client Authentication').selectOption('private_key_jwt');
      await page.getByLabel('JWK Set (JSON)').fill('{not json');
      await page.getByRole('button', { name: 'Create Client' }).click();
      await page.getByRole('alert').waitFor();
    }],
    ['new-spa', go('/console/clients/new/spa')],
    ['new-device', go('/console/clients/new/device')],
    ['new-custom-advanced-errors', async (page) => {
      await page.goto(`${server.base}/console/clients/new/custom`);
      await page.getByText('Advanced', { exact: true }).click();
      await page.getByLabel('Refresh Token Lifetime').fill('forever');
      await page.getByRole('button', { name: 'Create Client' }).click();
      await page.getByRole('alert').waitFor();
    }],
    ['new-type-changed', async (page) => {
      await page.goto(`${server.base}/console/clients/new/web`);
      await page.getByLabel('Client Name', { exact: true }).fill('Changed my mind');
      await page.getByLabel('Client Type').selectOption('device');
      await page.getByRole('button', { name: 'Change Type' }).click();
      await page.getByRole('heading', { name: 'Create Client — Device or CLI' }).waitFor();
    }],
    ['secret-shown', async (page) => {
      await page.goto(`${server.base}/console/clients/new/m2m`);
      await page.getByLabel('Client Name', { exact: true }).fill(`Shown once ${Math.random().toString(36).slice(2, 8)}`);
      await page.getByRole('button', { name: 'Create Client' }).click();
      await page.getByRole('heading', { name: 'Client Successfully Created' }).waitFor();
    }],
    ['client-web', go(`/console/clients/${ids.web}?test_uri=${encodeURIComponent('https://portal.example.com/other')}`)],
    ['client-m2m', go(`/console/clients/${ids.m2m}?e=last_secret`)],
    ['client-connector', go(`/console/clients/${ids.connector}`)],
    ['client-cli', go('/console/clients/latchkey-cli')],
    ['client-edit', go(`/console/clients/${ids.web}/edit`)],
    ['client-edit-m2m', go(`/console/clients/${ids.m2m}/edit`)],
    ['client-delete', go(`/console/clients/${ids.web}/delete`)],
    ['bulk-delete', async (page) => {
      await page.goto(`${server.base}/console/clients?q=Billing`);
      await page.getByRole('checkbox', { name: 'Select Billing service' }).check();
      await page.getByRole('button', { name: 'Delete selected' }).click();
      await page.getByRole('heading', { name: 'Delete 1 client?' }).waitFor();
    }],
    ['scopes', go('/console/scopes')],
    ['scopes-error', async (page) => {
      await page.goto(`${server.base}/console/scopes`);
      await page.getByLabel('Scope name').fill('invoices:read');
      await page.getByRole('button', { name: 'Add Scope' }).click();
      await page.getByRole('alert').waitFor();
    }],
    ['scope-delete', confirmation('/console/scopes', 'Delete scope spare:read')],
    ['scope-blocked', async (page) => {
      await page.goto(`${server.base}/console/scopes`);
      await page.locator('button[aria-label="Delete scope invoices:read"]').evaluate((b) => { b.disabled = false; b.click(); });
      await page.getByRole('alert').waitFor();
    }],
    ['classes', go('/console/classes')],
    ['users', go('/console/users')],
    ['user-created', async (page) => {
      await page.goto(`${server.base}/console/users`);
      await page.getByLabel('Username').fill(`walter${Math.random().toString(36).slice(2, 8)}`);
      await page.getByRole('button', { name: 'Add User' }).click();
      await page.getByLabel('Generated password').waitFor();
    }],
    ['user', go(`/console/users/${ids.vera}`)],
    ['user-reset', confirmation(`/console/users/${ids.vera}`, 'Reset Password')],
    ['keys', go('/console/keys')],
    ['keys-rotate', confirmation('/console/keys', 'Rotate Keys')],
    ['audit', go('/console/audit')],
    ['settings', go('/console/settings')],
    ['settings-errors', async (page) => {
      await page.goto(`${server.base}/console/settings`);
      await page.getByLabel('Default access token lifetime (seconds)').fill('10');
      await page.getByRole('button', { name: 'Save Settings' }).click();
      await page.getByRole('alert').waitFor();
    }],
    ['providers', go('/console/providers')],
    ['remote-clients', go('/console/remote-clients')],
    ['authorizations', go('/console/authorizations')],
    ['tenants', go('/console/tenants')],
    ['console-404', go('/console/no-such-page')],
    ['client-404', go('/console/clients/no-such-client')],
    ['outside-404', go('/no-such-page')],
    ['device', go('/device')],
  ];
}

/** Walks every state in a fresh context; returns { state: [problems] }. */
async function walk({ colorScheme, width, height }) {
  const context = await browser.newContext({ colorScheme, viewport: { width, height } });
  const page = await context.newPage();
  const tag = `${width}-${colorScheme}`;
  const found = {};
  const check = async (name) => {
    const small = width < 800;
    const fit = await overflow(page, { regions: !small });
    await shot(page, `${tag}-${name}`);
    if (small) {
      const menu = page.locator('details.menu');
      if (await menu.count()) await menu.evaluate((d) => { d.open = true; });
    }
    const problems = [...await axeViolations(page), ...fit];
    if (problems.length) found[name] = problems;
  };
  // Signed out: the sign-in page.
  await page.goto(`${server.base}/console/`);
  await page.getByLabel('Username').waitFor();
  await check('sign-in');
  await page.getByLabel('Username').fill(server.adminUser);
  await page.getByLabel('Password').fill(server.adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const only = process.env.LATCHKEY_A11Y_ONLY?.split(',');
  for (const [name, visit] of states().filter(([n]) => !only || only.includes(n))) {
    await visit(page);
    await check(name);
  }
  await context.close();
  return found;
}

const report = (found) => Object.entries(found).map(([s, ps]) => `${s}:\n  ${ps.join('\n  ')}`).join('\n');

// The two passes run side by side (each in its own browser context): the
// walk waits mostly on the server and on axe, so this saves time. With
// LATCHKEY_SHOTS set (to look at the pages), the other two combinations
// are walked too.
test('every console page: 0 axe violations and no overflow, light at 1366×768 and dark at 390×844', { skip }, async () => {
  const passes = [
    { colorScheme: 'light', width: 1366, height: 768 },
    { colorScheme: 'dark', width: 390, height: 844 },
    ...(process.env.LATCHKEY_SHOTS ? [
      { colorScheme: 'dark', width: 1366, height: 768 },
      { colorScheme: 'light', width: 390, height: 844 },
    ] : []),
  ];
  const found = await Promise.all(passes.map(walk));
  const problems = Object.fromEntries(passes.map((p, i) => [`${p.width} ${p.colorScheme}`, found[i]])
    .filter(([, f]) => Object.keys(f).length));
  assert.deepEqual(problems, {}, Object.entries(problems).map(([k, f]) => `\n${k}:\n${report(f)}`).join(''));
});

test('below 800 px the sidebar folds into a Menu that works without script; wide, it is open', { skip }, async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.base}/console/clients`);
  await page.getByLabel('Username').fill(server.adminUser);
  await page.getByLabel('Password').fill(server.adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const heading = page.getByRole('heading', { name: 'OAuth Clients', level: 1 });
  await heading.waitFor();
  assert.ok((await heading.boundingBox()).y < 200, 'the page, not the menu, fills the first screen');
  const scopes = page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Scopes' });
  assert.equal(await scopes.count(), 0, 'folded');
  await page.getByText('Menu', { exact: true }).click();
  await scopes.click();
  await page.getByRole('heading', { name: 'Scopes', level: 1 }).waitFor();
  await context.close();

  const wide = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  await wide.goto(`${server.base}/console/`);
  await wide.getByLabel('Username').fill(server.adminUser);
  await wide.getByLabel('Password').fill(server.adminPassword);
  await wide.getByRole('button', { name: 'Sign in' }).click();
  await wide.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Scopes' }).waitFor();
  assert.equal(await wide.getByText('Menu', { exact: true }).isVisible(), false, 'no Menu button on a wide screen');
  await wide.context().close();
});
