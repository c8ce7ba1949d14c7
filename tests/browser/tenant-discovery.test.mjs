// RFC 8414 discovery of a tenant by a library we did not write: oauth4webapi
// builds the metadata URL from the issuer itself (`algorithm: 'oauth2'`
// inserts `/.well-known/oauth-authorization-server` before the issuer's path,
// `/t/acme`; `'oidc'` appends `/.well-known/openid-configuration`) and checks
// that the document's `issuer` is the one it asked for. No browser needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { startServer } from './harness.mjs';

let server;
let acme; // the tenant's admin client: { client_id, client_secret }
const insecure = { [oauth.allowInsecureRequests]: true };

before(async () => {
  server = await startServer();
  const issuer = new URL(server.base);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  const client = { client_id: 'latchkey-admin' };
  const token = await oauth.processClientCredentialsResponse(
    as,
    client,
    await oauth.clientCredentialsGrantRequest(
      as, client, oauth.ClientSecretBasic(server.adminSecret), new URLSearchParams({ scope: 'admin' }), insecure,
    ),
  );
  const r = await fetch(`${server.base}/api/v1/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant_id: 'acme' }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  assert.equal(r.headers.get('location'), `${server.base}/api/v1/tenants/acme`);
  const created = await r.json();
  acme = { client_id: created.admin_client_id, client_secret: created.admin_client_secret };
});

after(async () => {
  await server?.stop();
});

test('RFC 8414: the tenant is discovered at /.well-known/oauth-authorization-server/t/acme', async () => {
  const issuer = new URL(`${server.base}/t/acme`);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  assert.equal(new URL(response.url).pathname, '/.well-known/oauth-authorization-server/t/acme');
  const as = await oauth.processDiscoveryResponse(issuer, response);
  assert.equal(as.issuer, `${server.base}/t/acme`);
  assert.equal(as.token_endpoint, `${server.base}/t/acme/oauth2/token`);
  // The metadata works: the tenant's admin client gets a token where it says.
  const client = { client_id: acme.client_id };
  const token = await oauth.processClientCredentialsResponse(
    as,
    client,
    await oauth.clientCredentialsGrantRequest(
      as, client, oauth.ClientSecretBasic(acme.client_secret), new URLSearchParams({ scope: 'admin' }), insecure,
    ),
  );
  assert.equal(token.token_type.toLowerCase(), 'bearer');
});

test('OIDC discovery of the tenant: appended, and in the RFC 8414 §5 form', async () => {
  const issuer = new URL(`${server.base}/t/acme`);
  const appended = await oauth.processDiscoveryResponse(
    issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
  );
  assert.equal(appended.issuer, issuer.href);
  const inserted = await oauth.processDiscoveryResponse(
    issuer, await fetch(`${server.base}/.well-known/openid-configuration/t/acme`),
  );
  assert.deepEqual(inserted, appended);
});

test('an unknown tenant is a 404 problem, and the library refuses it', async () => {
  const issuer = new URL(`${server.base}/t/nobody`);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
  assert.equal(response.status, 404);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  const problem = await response.clone().json();
  assert.equal(problem.status, 404);
  await assert.rejects(oauth.processDiscoveryResponse(issuer, response));
});
