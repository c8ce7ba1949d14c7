// Shared by the console tests (not a test file itself): signing in through
// Latchkey's own login page, and plain-HTTP helpers for checking what the
// console did at the protocol endpoints.
import assert from 'node:assert/strict';

/** Opens the console and signs in through the login page. */
export async function signIn(page, server, username, password) {
  await page.goto(`${server.base}/console/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  assert.equal(new URL(page.url()).pathname.startsWith('/console/'), true, page.url());
}

/** A client_credentials token request; returns the fetch response. */
export function tokenFor(server, clientId, secret) {
  return fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
}

/** Introspects a token with the admin client. */
export async function introspect(server, token) {
  const r = await fetch(`${server.base}/oauth2/introspect`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`latchkey-admin:${server.adminSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  assert.equal(r.status, 200);
  return r.json();
}

/** Creates a client through the dialog; returns { clientId, secret }. */
export async function createClient(page, server, { type, name, redirectUri, grants = [] }) {
  await page.goto(`${server.base}/console/clients`);
  await page.getByRole('link', { name: '+ Create Client' }).click();
  await page.getByRole('link', { name: new RegExp(`^${type}`) }).click();
  await page.getByLabel('Client Name', { exact: true }).fill(name);
  if (redirectUri) {
    await page.getByLabel('Redirect URIs', { exact: true }).fill(redirectUri);
    await page.getByRole('button', { name: 'Add Redirect URIs' }).click();
    await page.getByText(redirectUri, { exact: true }).waitFor();
  }
  if (grants.length) await page.getByText('Advanced', { exact: true }).click();
  for (const g of grants) await page.getByLabel(g, { exact: true }).check();
  await page.getByRole('button', { name: 'Create Client' }).click();
  await page.getByRole('heading', { name: 'Client Successfully Created' }).waitFor();
  const clientId = await page.getByLabel('Client ID', { exact: true }).inputValue();
  const secretBox = page.getByLabel('Client Secret', { exact: true });
  const secret = (await secretBox.count()) ? await secretBox.inputValue() : null;
  return { clientId, secret };
}
