// A single-page app that signs people in with oauth4webapi (a certified
// OpenID Connect client library we did not write): discovery, authorization
// code + PKCE, ID-token validation against the JWKS, userinfo and
// RP-initiated logout — every request cross-origin, as a real SPA makes them.
import * as oauth from '/oauth4webapi.js';

const $ = (id) => document.getElementById(id);
const show = (text) => { $('status').textContent = text; };
const insecure = { [oauth.allowInsecureRequests]: true };

async function main() {
  const cfg = await (await fetch('/config.json')).json();
  const issuer = new URL(cfg.issuer);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
  );
  const client = { client_id: cfg.client_id };
  const redirectUri = `${location.origin}/callback`;
  const here = new URL(location.href);

  if (here.pathname === '/callback') {
    const params = oauth.validateAuthResponse(as, client, here, sessionStorage.getItem('state'));
    const response = await oauth.authorizationCodeGrantRequest(
      as, client, oauth.None(), params, redirectUri, sessionStorage.getItem('verifier'), insecure,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: sessionStorage.getItem('nonce'),
      requireIdToken: true,
    });
    await oauth.validateApplicationLevelSignature(as, response, insecure);
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    const info = await oauth.processUserInfoResponse(
      as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, insecure),
    );
    sessionStorage.setItem('id_token', tokens.id_token);
    history.replaceState(null, '', '/');
    $('who').textContent = info.preferred_username ?? info.sub;
    $('email').textContent = info.email ?? '';
    $('scope').textContent = tokens.scope ?? '';
    $('sign-out').hidden = false;
    show('Signed in');
    return;
  }

  if (here.searchParams.get('state') && here.searchParams.get('state') === sessionStorage.getItem('logout_state')) {
    sessionStorage.clear();
    show('Signed out');
  } else {
    show('Not signed in');
  }
  $('sign-in').hidden = false;
  $('sign-in').addEventListener('click', async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    sessionStorage.setItem('verifier', verifier);
    sessionStorage.setItem('state', state);
    sessionStorage.setItem('nonce', nonce);
    const url = new URL(as.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid profile email',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    location.assign(url.href);
  });
}

// Sign-out is wired before anything else can fail, so the button always works.
$('sign-out').addEventListener('click', async () => {
  const cfg = await (await fetch('/config.json')).json();
  const meta = await (await fetch(`${cfg.issuer}/.well-known/openid-configuration`)).json();
  const state = oauth.generateRandomState();
  sessionStorage.setItem('logout_state', state);
  const url = new URL(meta.end_session_endpoint);
  url.search = new URLSearchParams({
    id_token_hint: sessionStorage.getItem('id_token'),
    post_logout_redirect_uri: `${location.origin}/`,
    state,
  });
  location.assign(url.href);
});

main().catch((e) => show(`Error: ${e.code ?? ''} ${e.message}`));
