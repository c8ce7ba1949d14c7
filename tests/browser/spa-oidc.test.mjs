// Issue 4's "done when", automated: a single-page app registered from the
// CLI signs a user in through Latchkey in real Chromium with oauth4webapi,
// gets tokens and user info, and signs out cleanly back to the app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer, launchBrowser, freePort, asset, REPO, REQUIRED_PAGE_HEADERS } from './harness.mjs';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';

let server;
let browser;
let app;
let appOrigin;
let clientId;

/** Serves the example SPA and its copy of oauth4webapi from node_modules. */
async function serveSpa(port, config) {
  const lib = await readFile(join(REPO, 'tests', 'browser', 'node_modules', 'oauth4webapi', 'build', 'index.js'));
  const files = {
    '/': ['text/html', await asset('spa/index.html')],
    '/callback': ['text/html', await asset('spa/index.html')],
    '/app.js': ['text/javascript', await asset('spa/app.js')],
    '/oauth4webapi.js': ['text/javascript', lib],
    '/config.json': ['application/json', JSON.stringify(config)],
  };
  const http = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
  });
  await new Promise((r) => http.listen(port, '127.0.0.1', r));
  return { http, origin: `http://127.0.0.1:${port}` };
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const port = await freePort();
  appOrigin = `http://127.0.0.1:${port}`;
  const created = await server.cliJson([
    'client', 'create', '--type', 'spa', '--name', 'Example SPA',
    '--redirect-uri', `${appOrigin}/callback`,
    '--post-logout-redirect-uri', `${appOrigin}/`,
    '--cors-origin', appOrigin,
    '--scope', 'openid', '--scope', 'profile', '--scope', 'email', '--require-consent',
  ]);
  clientId = created.client_id ?? created.client.client_id;
  assert.ok(clientId, 'the CLI printed the new client id');
  assert.equal(created.client_secret ?? created.secret, undefined, 'a SPA is public: no secret');
  await server.cli(['user', 'create', 'ada', '--email', 'ada@example.com', '--display-name', 'Ada Lovelace',
    '--password-env', 'ADA_PASSWORD'], { ADA_PASSWORD: 'correct horse battery staple' }).then((r) => {
    assert.equal(r.code, 0, r.stderr);
  });
  app = await serveSpa(port, { issuer: server.base, client_id: clientId });
});

after(async () => {
  await browser?.close();
  if (app) await new Promise((r) => app.http.close(r));
  await server?.stop();
});

test('a SPA registered from the CLI signs in, reads userinfo and signs out in Chromium', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageHeaders = [];
  page.on('response', (r) => {
    if (r.url().startsWith(server.base) && (r.headers()['content-type'] ?? '').startsWith('text/html')) {
      pageHeaders.push([r.url(), r.headers()]);
    }
  });

  await page.goto(appOrigin);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // Latchkey's login page.
  await page.getByLabel('Username').fill('ada');
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // Consent names the scopes with their descriptions.
  await page.getByText('See your email address').waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();

  await page.getByText('Signed in', { exact: true }).waitFor();
  assert.equal(await page.locator('#who').textContent(), 'ada');
  assert.equal(await page.locator('#email').textContent(), 'ada@example.com');
  assert.match(await page.locator('#scope').textContent(), /\bopenid\b/);
  assert.equal(new URL(page.url()).origin, appOrigin, 'back at the app');

  // Every Latchkey page on the way sent the security headers.
  assert.ok(pageHeaders.length >= 1, 'saw Latchkey pages');
  for (const [url, h] of pageHeaders) {
    for (const name of REQUIRED_PAGE_HEADERS) assert.ok(h[name], `${name} on ${url}`);
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/, url);
  }

  // RP-initiated logout: Latchkey confirms, then returns to the app with its state.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.origin === server.base && u.pathname === '/oauth2/logout');
  await page.getByRole('heading', { name: 'Sign out?' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('Signed out', { exact: true }).waitFor();
  assert.equal(new URL(page.url()).origin, appOrigin);

  // The Latchkey session is gone: signing in again asks for the password.
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Password').waitFor();
  assert.equal(new URL(page.url()).origin, server.base);
  await context.close();
});
