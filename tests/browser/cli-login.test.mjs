// `latchkey login` as a person uses it: the CLI runs the device flow with
// `latchkey-cli`, prints the address, a person allows it on /device in real
// Chromium, and every admin command then acts with that person's role
// without any credential in the environment. Tokens are kept 0600, refreshed
// silently, and revoked by `latchkey logout`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, launchBrowser, BIN, ADMIN_PASSWORD } from './harness.mjs';

let server;
let browser;
let config;
/** No credentials in the environment: the sign-in must carry the CLI. */
let signedIn;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  config = join(server.dir, 'config');
  signedIn = { XDG_CONFIG_HOME: config, LATCHKEY_CLIENT_ID: '', LATCHKEY_CLIENT_SECRET: '' };
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const credentialsFile = () => join(config, 'latchkey', 'credentials.json');
const stored = async () => JSON.parse(await readFile(credentialsFile(), 'utf8')).logins[server.base];

/**
 * Runs `latchkey login --no-browser`, hands the address it prints to
 * `approve` (a Chromium page), and resolves with its exit code and output.
 */
function login(approve, args = []) {
  const child = spawn(BIN, ['login', '--no-browser', ...args], {
    cwd: server.dir,
    env: { PATH: process.env.PATH, HOME: server.dir, LATCHKEY_SERVER: server.base, ...signedIn },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let approving = null;
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => {
    stdout += d;
    const m = stdout.match(/(http\S+\/device\?user_code=\S+)/);
    if (m && !approving) approving = approve(m[1]);
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', async (code) => {
      try {
        await approving;
        resolve({ code, stdout, stderr });
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** In a fresh browser, signs `username` in on the device page and presses `button`. */
function decide(username, password, button) {
  return async (url) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Allow this device?' }).waitFor();
    assert.match(await page.locator('main').textContent(), /Command Line/);
    await page.getByRole('button', { name: button }).click();
    await page.getByRole('heading', { name: button === 'Allow' ? 'Device connected' : 'Request denied' }).waitFor();
    await context.close();
  };
}

test('latchkey login, allowed in Chromium, signs the CLI in as the person until latchkey logout', async () => {
  const before = await server.cli(['client', 'list'], signedIn);
  assert.notEqual(before.code, 0);
  assert.match(before.stderr, /not signed in to .* run `latchkey login`/);

  const r = await login(decide('admin', ADMIN_PASSWORD, 'Allow'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /enter the code [B-Z]{4}-[B-Z]{4}/);
  assert.match(r.stdout, /Signed in to .* as admin \(owner\)\./);

  // The tokens are the user's own business: 0600 in a 0700 directory.
  assert.equal((await stat(credentialsFile())).mode & 0o777, 0o600);
  assert.equal((await stat(join(config, 'latchkey'))).mode & 0o777, 0o700);
  const first = await stored();
  assert.ok(first.refresh_token, 'latchkey-cli keeps a refresh token');

  // Admin commands act as the signed-in person, with no environment credentials.
  const me = await server.cliJson(['whoami'], signedIn);
  assert.deepEqual([me.kind, me.name, me.role, me.can_write], ['user', 'admin', 'owner', true]);
  const created = await server.cliJson(['client', 'create', '--type', 'm2m', '--name', 'Made by a person'], signedIn);
  const clients = await server.cliJson(['client', 'list'], signedIn);
  assert.ok((clients.items ?? clients).some((c) => c.client_id === created.client_id));
  const audit = await server.cliJson(['audit', 'list', '--action', 'client.create', '--target-id', created.client_id], signedIn);
  const events = audit.items ?? audit;
  assert.deepEqual(events.map((e) => [e.actor_type, e.actor]), [['user', me.id]], 'the audit log names the person');

  // Environment credentials still win (CI).
  const env = await server.cliJson(['whoami'], { XDG_CONFIG_HOME: config });
  assert.deepEqual([env.kind, env.id], ['client', 'latchkey-admin']);

  // An expired access token is refreshed silently, and the rotated refresh token kept.
  await writeFile(credentialsFile(), JSON.stringify({ logins: { [server.base]: { ...first, expires_at: 0 } } }), { mode: 0o600 });
  assert.equal((await server.cli(['client', 'list'], signedIn)).code, 0);
  const refreshed = await stored();
  assert.notEqual(refreshed.access_token, first.access_token);
  assert.ok(refreshed.expires_at > Date.now() / 1000);

  // Logout revokes at the server and forgets here.
  const out = await server.cli(['logout'], signedIn);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /revoked and forgotten/);
  assert.equal(await stored(), undefined);
  const after = await server.cli(['client', 'list'], signedIn);
  assert.match(after.stderr, /not signed in/);
  const reuse = await fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshed.refresh_token, client_id: 'latchkey-cli' }),
  });
  assert.equal(reuse.status, 400, 'the refresh token is revoked');
  assert.equal((await reuse.json()).error, 'invalid_grant');
  const api = await fetch(`${server.base}/api/v1/clients`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
  assert.equal(api.status, 401, 'the access token is revoked');
});

test('a viewer signed in with latchkey login may look but not change anything', async () => {
  const pw = 'viewer-password-123456';
  const u = await server.cli(['user', 'create', 'vera', '--role', 'viewer', '--password-env', 'VERA_PW'], { VERA_PW: pw });
  assert.equal(u.code, 0, u.stderr);
  const r = await login(decide('vera', pw, 'Allow'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /as vera \(viewer, read-only\)/);
  assert.equal((await server.cli(['client', 'list'], signedIn)).code, 0);
  const create = await server.cli(['client', 'create', '--type', 'm2m', '--name', 'Viewer made'], signedIn);
  assert.notEqual(create.code, 0);
  assert.match(create.stderr, /403 .*viewers may read but not change anything/);
  assert.equal((await server.cli(['logout'], signedIn)).code, 0);
});

test('a sign-in denied in the browser leaves the CLI signed out', async () => {
  const r = await login(decide('admin', ADMIN_PASSWORD, 'Deny'));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /the sign-in was denied in the browser/);
  assert.equal(await stored(), undefined);
});
