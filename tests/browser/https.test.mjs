// Issue 16: HTTPS served by Latchkey itself (tls_cert_file / tls_key_file),
// in real Chromium. The certificate is made at test time with the openssl
// CLI, and Chromium trusts exactly that certificate, by the hash of its
// public key (--ignore-certificate-errors-spki-list), not every certificate
// error. An administrator signs in to the console (HSTS, Secure cookies,
// HTTP/2), and a single-page app served over https signs a user in with
// oauth4webapi: authorization code + PKCE, tokens, ID token and userinfo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, freePort, asset, REPO, REQUIRED_PAGE_HEADERS } from './harness.mjs';
import { signIn } from './console-lib.mjs';

const HSTS = 'max-age=31536000';

let server;
let browser;
let app;
let tls;
let clientId;

/** A self-signed P-256 certificate for 127.0.0.1 and localhost, valid a day. */
async function makeCertificate() {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-cert-'));
  try {
    await new Promise((resolve, reject) => {
      execFile('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ], (err, _out, stderr) => (err ? reject(new Error(`openssl: ${stderr}`)) : resolve()));
    });
    return { cert: await readFile(join(dir, 'cert.pem'), 'utf8'), key: await readFile(join(dir, 'key.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** base64(SHA-256(SubjectPublicKeyInfo)), the form Chromium's SPKI list takes. */
function spkiHash(certPem) {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Serves the example SPA and its copy of oauth4webapi over https. */
async function serveSpa(port, config) {
  const lib = await readFile(join(REPO, 'tests', 'browser', 'node_modules', 'oauth4webapi', 'build', 'index.js'));
  const files = {
    '/': ['text/html', await asset('spa/index.html')],
    '/callback': ['text/html', await asset('spa/index.html')],
    '/app.js': ['text/javascript', await asset('spa/app.js')],
    '/oauth4webapi.js': ['text/javascript', lib],
    '/config.json': ['application/json', JSON.stringify(config)],
  };
  const https = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const f = files[new URL(req.url, 'https://x').pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[0] }).end(f[1]);
  });
  await new Promise((r) => https.listen(port, '127.0.0.1', r));
  return { https, origin: `https://127.0.0.1:${port}` };
}

/** JSON from the admin API over https, with a bearer token. */
async function api(method, path, token, body) {
  const r = await server.fetch(`${server.base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

before(async () => {
  tls = await makeCertificate();
  server = await startServer({ tls });
  assert.match(server.base, /^https:/);
  browser = await launchBrowser({ args: [`--ignore-certificate-errors-spki-list=${spkiHash(tls.cert)}`] });

  const basic = Buffer.from(`latchkey-admin:${server.adminSecret}`).toString('base64');
  const r = await server.fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=admin',
  });
  assert.equal(r.status, 200, await r.text());
  assert.equal(r.headers['strict-transport-security'], HSTS, 'HSTS on the token endpoint too');
  const admin = (await r.json()).access_token;

  const port = await freePort();
  const appOrigin = `https://127.0.0.1:${port}`;
  const created = await api('POST', '/clients', admin, {
    name: 'Example SPA over HTTPS',
    type: 'spa',
    redirect_uris: [`${appOrigin}/callback`],
    post_logout_redirect_uris: [`${appOrigin}/`],
    allowed_cors_origins: [appOrigin],
    scopes: ['openid', 'profile', 'email'],
    require_consent: true,
  });
  clientId = created.client_id ?? created.client?.client_id;
  assert.ok(clientId, `the API returned the client id: ${JSON.stringify(created)}`);
  await api('POST', '/users', admin, {
    username: 'ada', email: 'ada@example.com', display_name: 'Ada Lovelace', roles: [], groups: [],
    password: 'correct horse battery staple',
  });
  app = await serveSpa(port, { issuer: server.base, client_id: clientId });
});

/**
 * A page whose every response comes from the server: Chromium stores no
 * security headers in its cache, so a response it serves again from there
 * (the favicon, cached discovery) shows no HSTS.
 */
async function uncachedPage(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  return page;
}

after(async () => {
  await browser?.close();
  if (app) await new Promise((r) => app.https.close(r));
  await server?.stop();
});

test('the console over https: HSTS, Secure cookies, HTTP/2', async () => {
  const context = await browser.newContext();
  const page = await uncachedPage(context);
  const responses = [];
  page.on('response', (r) => {
    if (r.url().startsWith(server.base)) responses.push(r);
  });

  await signIn(page, server, server.adminUser, server.adminPassword);
  assert.ok(page.url().startsWith(`${server.base}/console/`), page.url());
  // The page really came over TLS, by ALPN as HTTP/2.
  const protocol = await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
  assert.equal(protocol, 'h2');

  assert.ok(responses.length >= 3, 'saw the console, the login page and the sign-in');
  for (const r of responses) {
    // allHeaders(): headers() leaves some out (Playwright's documentation).
    const h = await r.allHeaders();
    assert.equal(h['strict-transport-security'], HSTS, `HSTS on ${r.url()} (${r.status()}, ${JSON.stringify(h)})`);
    if ((h['content-type'] ?? '').startsWith('text/html')) {
      for (const name of REQUIRED_PAGE_HEADERS) assert.ok(h[name], `${name} on ${r.url()}`);
    }
  }

  const cookies = await context.cookies(server.base);
  assert.ok(cookies.length >= 1, 'the console session is a cookie');
  for (const c of cookies) {
    assert.equal(c.secure, true, `${c.name} is Secure`);
    assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
  }
  await context.close();
});

test('an SPA signs a user in over https with oauth4webapi', async () => {
  const context = await browser.newContext();
  const page = await uncachedPage(context);
  const seen = [];
  page.on('response', (r) => {
    if (r.url().startsWith(server.base)) seen.push(r);
  });

  await page.goto(app.origin);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Username').fill('ada');
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('See your email address').waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();

  // Discovery, token (code + PKCE), ID token against the JWKS and userinfo,
  // all over https, validated by oauth4webapi.
  await page.getByText('Signed in', { exact: true }).waitFor();
  assert.equal(await page.locator('#who').textContent(), 'ada');
  assert.equal(await page.locator('#email').textContent(), 'ada@example.com');
  assert.match(await page.locator('#scope').textContent(), /\bopenid\b/);
  assert.equal(new URL(page.url()).origin, app.origin, 'back at the app');

  const paths = seen.map((r) => new URL(r.url()).pathname);
  for (const p of ['/.well-known/openid-configuration', '/oauth2/authorize', '/oauth2/token', '/oauth2/jwks', '/oauth2/userinfo']) {
    assert.ok(paths.includes(p), `the flow went through ${p} (saw ${paths.join(', ')})`);
  }
  for (const r of seen) {
    const h = await r.allHeaders();
    assert.equal(h['strict-transport-security'], HSTS, `HSTS on ${r.url()} (${r.status()}, ${JSON.stringify(h)})`);
  }
  const session = await context.cookies(server.base);
  assert.ok(session.length >= 1 && session.every((c) => c.secure), JSON.stringify(session));
  await context.close();
});
