// Shared by the browser tests: a real Latchkey server (the debug binary, on a
// fresh SQLite file or a fresh database in the throwaway PostgreSQL cluster of
// scripts/test.sh), the CLI against it, and Debian's headless Chromium through
// playwright-core. Nothing here is mocked.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.LATCHKEY_BIN || join(REPO, 'target', 'debug', 'latchkey');
/** `sqlite` (default) or `postgres` (needs LATCHKEY_TEST_PG_URL). */
export const BACKEND = process.env.LATCHKEY_BROWSER_BACKEND || 'sqlite';

export const ADMIN_PASSWORD = 'browser-admin-password-1';
export const ADMIN_SECRET = 'lks_browser_admin_secret_0123456789abcdefghijklmn';

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(file, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { ...opts, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function freshDatabaseUrl() {
  if (BACKEND === 'sqlite') return null;
  const admin = process.env.LATCHKEY_TEST_PG_URL;
  if (!admin) throw new Error('LATCHKEY_BROWSER_BACKEND=postgres needs LATCHKEY_TEST_PG_URL');
  const name = `lk_browser_${randomBytes(6).toString('hex')}`;
  const r = await run('psql', [admin, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`]);
  if (r.code !== 0) throw new Error(`CREATE DATABASE failed: ${r.stderr}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A small `fetch` over node:https that trusts exactly the PEM certificate
 * `ca` (node's own fetch takes no CA): `{ status, ok, headers, text(), json() }`.
 */
export function fetchTrusting(ca) {
  return (url, { method = 'GET', headers = {}, body } = {}) => new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: res.statusCode,
          ok: res.statusCode >= 200 && res.statusCode < 300,
          headers: res.headers,
          text: async () => text,
          json: async () => JSON.parse(text),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitHealthy(base, child, log, get = fetch) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited during startup:\n${log()}`);
    try {
      const r = await get(`${base}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no /healthz within 60 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a Latchkey server in a fresh data directory. Returns its base URL,
 * the bootstrap credentials, a CLI runner bound to it and `stop()`. With
 * `tls: { cert, key }` (PEM) it serves HTTPS itself, and `fetch` is a
 * fetch that trusts that certificate (the CLI trusts only public roots).
 */
export async function startServer({ env = {}, tls = null } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-browser-'));
  const port = await freePort();
  const base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const get = tls ? fetchTrusting(tls.cert) : fetch;
  if (tls) {
    await writeFile(join(dir, 'cert.pem'), tls.cert);
    await writeFile(join(dir, 'key.pem'), tls.key, { mode: 0o600 });
    env = { LATCHKEY_TLS_CERT_FILE: join(dir, 'cert.pem'), LATCHKEY_TLS_KEY_FILE: join(dir, 'key.pem'), ...env };
  }
  const databaseUrl = await freshDatabaseUrl();
  const serverEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || dir,
    LATCHKEY_LISTEN: `127.0.0.1:${port}`,
    LATCHKEY_DATA_DIR: join(dir, 'data'),
    LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LATCHKEY_BOOTSTRAP_ADMIN_SECRET: ADMIN_SECRET,
    LATCHKEY_PASSWORD_HASH_MEMORY_KIB: '1024',
    LATCHKEY_PASSWORD_HASH_ITERATIONS: '1',
    LATCHKEY_LOG_LEVEL: 'warn',
    ...(databaseUrl ? { LATCHKEY_DATABASE_URL: databaseUrl } : {}),
    ...env,
  };
  let output = '';
  const child = spawn(BIN, ['serve'], { cwd: dir, env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const log = () => output;
  try {
    await waitHealthy(base, child, log, get);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const cliEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || dir,
    LATCHKEY_SERVER: base,
    LATCHKEY_CLIENT_ID: 'latchkey-admin',
    LATCHKEY_CLIENT_SECRET: ADMIN_SECRET,
  };
  return {
    base,
    port,
    dir,
    log,
    fetch: get,
    adminUser: 'admin',
    adminPassword: ADMIN_PASSWORD,
    adminSecret: ADMIN_SECRET,
    /** Runs the CLI against this server; `--output json` is the caller's choice. */
    cli: (args, extraEnv = {}) => run(BIN, args, { cwd: dir, env: { ...cliEnv, ...extraEnv } }),
    /** The CLI's JSON output, or an error carrying its stderr. */
    async cliJson(args, extraEnv = {}) {
      const r = await this.cli([...args, '--output', 'json'], extraEnv);
      if (r.code !== 0) throw new Error(`latchkey ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, with the flags this machine needs (and `args`).
 * A Chromium that crashes while starting (seen once in a CI run: SIGSEGV at
 * launch with two test runs and their servers sharing two cores) is started
 * again, at most twice; a failure after the start is never retried. */
export async function launchBrowser({ args = [] } = {}) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...args],
      });
    } catch (e) {
      if (attempt >= 3) throw e;
      console.error(`chromium did not start (attempt ${attempt}): ${String(e.message).split('\n')[0]}`);
    }
  }
}

/** Reads a file of this directory (assets served to the browser by tests). */
export const asset = (path) => readFile(join(REPO, 'tests', 'browser', path));

/** The security headers of SPEC §11 that every HTML page must send. */
export const REQUIRED_PAGE_HEADERS = [
  'content-security-policy',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
];
