// The node `oidc-provider` peer for scripts/bench-flows.sh: the same flow
// Latchkey serves, so one load driver measures both.
//
// * one public client `bench-spa` (PKCE S256, authorization_code +
//   refresh_token with rotation), RS256 ID tokens (Latchkey's default);
// * a sign-in form (fields `username`, `password`) whose password check is
//   scrypt N=2^14, r=8, p=1: 16 MiB written and read back once, the closest
//   scrypt cost to Latchkey's argon2id default (19 MiB, two passes), so both
//   servers pay for a real password hash;
// * consent remembered: the sign-in grants the requested scopes, as a
//   stored consent does on Latchkey;
// * in-memory storage (the library's default adapter), no TLS, 127.0.0.1.
import * as crypto from 'node:crypto';
import { createServer } from 'node:http';
import { promisify } from 'node:util';

import Provider from 'oidc-provider';

const HOST = '127.0.0.1';
const PORT = Number.parseInt(process.env.PORT || '3902', 10);
const ISSUER = `http://${HOST}:${PORT}`;
const USERNAME = process.env.BENCH_USERNAME || 'ada';
const PASSWORD = process.env.BENCH_PASSWORD || 'bench-password-123456';
const REDIRECT_URI = process.env.BENCH_REDIRECT_URI || 'http://127.0.0.1:9/cb';

const scrypt = promisify(crypto.scrypt);
const SCRYPT = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const salt = crypto.randomBytes(16);
const stored = await scrypt(PASSWORD, salt, 32, SCRYPT);

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: 'bench-spa',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [REDIRECT_URI],
  }],
  jwks: { keys: [{ ...rsa.privateKey.export({ format: 'jwk' }), kid: 'rs256', alg: 'RS256', use: 'sig' }] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: `${sub}@example.com`, email_verified: true, name: sub }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 3600, IdToken: 3600, RefreshToken: 14 * 86400, Session: 14 * 86400, Grant: 14 * 86400 },
});

const page = (uid, error = '') => `<!doctype html><title>Sign in</title>${error}
<form method="post" action="/interaction/${uid}/login">
<input type="hidden" name="uid" value="${uid}">
<label>Username <input name="username"></label>
<label>Password <input type="password" name="password"></label>
<button>Sign in</button></form>`;

async function body(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return new URLSearchParams(data);
}

const callback = provider.callback();
createServer(async (req, res) => {
  try {
    const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url);
    if (!m) return callback(req, res);
    const details = await provider.interactionDetails(req, res);
    if (!m[2]) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page(details.uid));
      return undefined;
    }
    const form = await body(req);
    const given = await scrypt(form.get('password') ?? '', salt, 32, SCRYPT);
    if (form.get('username') !== USERNAME || !crypto.timingSafeEqual(given, stored)) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page(details.uid, '<p>Wrong username or password</p>'));
      return undefined;
    }
    const grant = new provider.Grant({ accountId: USERNAME, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { login: { accountId: USERNAME }, consent: { grantId } });
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(String(e.message));
    return undefined;
  }
}).listen(PORT, HOST, () => {
  console.log(`bench peer listening on ${ISSUER} (pid ${process.pid})`);
});
