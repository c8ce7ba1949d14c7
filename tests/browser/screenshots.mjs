// Regenerates docs/screenshots/*.png: every console page on a real server
// with a few realistic clients (run by scripts/screenshots.sh).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, launchBrowser, REPO } from './harness.mjs';
import { signIn, createClient } from './console-lib.mjs';

const OUT = join(REPO, 'docs', 'screenshots');
await mkdir(OUT, { recursive: true });
const server = await startServer();
const browser = await launchBrowser();
try {
  const seed = [
    ['--type', 'm2m', '--name', 'Billing service', '--description', 'Nightly invoicing job'],
    ['--type', 'web', '--name', 'Customer portal', '--redirect-uri', 'https://portal.example.com/callback'],
    ['--type', 'spa', '--name', 'Dashboard SPA', '--redirect-uri', 'https://app.example.com/callback'],
    ['--type', 'connector', '--name', 'Directory sync'],
  ];
  for (const args of seed) {
    const r = await server.cli(['client', 'create', ...args]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  await server.cli(['scope', 'create', 'invoices:read', '--description', 'Read your invoices']);
  // Some traffic for the usage chart.
  const billing = await server.cliJson(['client', 'create', '--type', 'm2m', '--name', 'Invoice mailer']);
  const secret = billing.client_secret;
  billing.client_id ??= billing.client.client_id;
  for (let i = 0; i < 12; i += 1) {
    await fetch(`${server.base}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${billing.client_id}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
  }
  await fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${billing.client_id}:wrong-secret`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  await server.cli(['provider', 'create', 'partner-idp', '--token-endpoint', 'https://idp.partner.example/oauth2/token']);
  await server.cli(['provider', 'create', 'corp-sso', '--issuer', 'https://sso.corp.example',
    '--token-endpoint', 'https://sso.corp.example/oauth2/token', '--auth-method', 'private_key_jwt']);
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, colorScheme: 'light' });
  const page = await context.newPage();
  const shot = (name, fullPage = false) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage });

  await page.goto(`${server.base}/console/`);
  await page.getByLabel('Username').waitFor();
  await shot('login');
  await page.getByLabel('Username').fill(server.adminUser);
  await page.getByLabel('Password').fill(server.adminPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();

  await page.goto(`${server.base}/console/clients/new`);
  await shot('create-type');
  await page.getByRole('link', { name: /^Web application/ }).click();
  await page.getByLabel('Client Name', { exact: true }).fill('Partner dashboard');
  await page.getByLabel('Description').fill('Reporting for partners');
  await page.getByLabel('Redirect URIs', { exact: true }).fill('https://partners.example.com/callback');
  await page.getByRole('button', { name: 'Add Redirect URIs' }).click();
  await shot('create-form', true);
  await createClient(page, server, {
    type: 'Machine to machine', name: 'Reporting exporter',
  });
  await shot('client-created');
  await page.goto(`${server.base}/console/clients`);
  await shot('clients');
  await page.goto(`${server.base}/console/clients/${billing.client_id}?test_uri=https%3A%2F%2Fevil.example%2Fcb`);
  await shot('client-details', true);
  for (const [name, path] of [['dashboard', ''], ['scopes', 'scopes'], ['classes', 'classes'], ['users', 'users'],
    ['keys', 'keys'], ['audit', 'audit'], ['settings', 'settings'], ['providers', 'providers'],
    ['tenants', 'tenants']]) {
    await page.goto(`${server.base}/console/${path}`);
    await shot(name, ['audit', 'settings', 'dashboard'].includes(name));
  }
  await page.goto(`${server.base}/console/remote-clients`);
  await page.locator('summary', { hasText: 'New provider' }).click();
  await page.getByLabel('Provider name').fill('payments');
  await shot('remote-clients', true);
  await context.close();
  console.log(`screenshots written to ${OUT}`);
} finally {
  await browser.close();
  await server.stop();
}
