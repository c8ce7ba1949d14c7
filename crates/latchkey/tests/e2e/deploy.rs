//! The several-node recipe of docs/deploy.md, exercised: three nodes on one
//! PostgreSQL behind a small reverse proxy (written here: forwards every
//! request to the node it is told to, or round robin, adding
//! `X-Forwarded-For`). A user signs in through the proxy with the
//! `openidconnect` crate while each page and form goes to the next node, the
//! code is redeemed on one node, refreshed through a second and revoked
//! through a third, and every node then agrees the tokens are dead.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, Scope,
};
use serde_json::json;

use crate::harness::*;

const CALLBACK: &str = "https://app.example/callback";
const PASSWORD: &str = "correct horse battery staple";
/// The address the proxy reports for every caller (TEST-NET-3).
const BROWSER_IP: &str = "203.0.113.7";

/// Which node the proxy sends the next request to.
#[derive(Default)]
struct Routing {
    /// `Some(i)`: every request to node `i`; `None`: round robin.
    pinned: Mutex<Option<usize>>,
    next: AtomicUsize,
    /// (node, path) of every forwarded request.
    seen: Mutex<Vec<(usize, String)>>,
}

struct Proxy {
    base: String,
    routing: Arc<Routing>,
}

#[derive(Clone)]
struct Upstreams {
    /// Stripped from the path before forwarding (`""`: none).
    prefix: String,
    nodes: Arc<Vec<String>>,
    routing: Arc<Routing>,
    client: reqwest::Client,
}

async fn forward(State(u): State<Upstreams>, req: Request) -> Response {
    let node = u
        .routing
        .pinned
        .lock()
        .unwrap()
        .unwrap_or_else(|| u.routing.next.fetch_add(1, Ordering::SeqCst) % u.nodes.len());
    let full = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let Some(path) = full.strip_prefix(u.prefix.as_str()).map(str::to_owned) else {
        return Response::builder().status(404).body(Body::from("not behind this proxy")).unwrap();
    };
    let path = if path.starts_with('/') { path } else { format!("/{path}") };
    u.routing.seen.lock().unwrap().push((node, req.uri().path().to_owned()));
    let mut out = u.client.request(req.method().clone(), format!("{}{path}", u.nodes[node]));
    for (name, value) in req.headers() {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    // Where the (simulated) browser really is, as a load balancer says it.
    out = out.header("x-forwarded-for", BROWSER_IP);
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
    let answer = out.body(body).send().await.unwrap();
    let mut resp = Response::builder().status(StatusCode::from_u16(answer.status().as_u16()).unwrap());
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            resp = resp.header(name.as_str(), HeaderValue::from_bytes(value.as_bytes()).unwrap());
        }
    }
    resp.body(Body::from(answer.bytes().await.unwrap())).unwrap()
}

impl Proxy {
    async fn start(listener: tokio::net::TcpListener, nodes: &[&Server]) -> Self {
        Self::start_under(listener, "", nodes).await
    }

    /// A proxy that serves the nodes under `prefix` and strips it.
    async fn start_under(listener: tokio::net::TcpListener, prefix: &str, nodes: &[&Server]) -> Self {
        let routing = Arc::new(Routing::default());
        let upstreams = Upstreams {
            prefix: prefix.to_owned(),
            nodes: Arc::new(nodes.iter().map(|s| s.base.clone()).collect()),
            routing: routing.clone(),
            client: http(),
        };
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(forward).with_state(upstreams);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, routing }
    }

    fn pin(&self, node: Option<usize>) {
        *self.routing.pinned.lock().unwrap() = node;
    }

    /// The nodes that served requests to `path`.
    fn nodes_for(&self, path: &str) -> Vec<usize> {
        self.routing.seen.lock().unwrap().iter().filter(|(_, p)| p == path).map(|(n, _)| *n).collect()
    }
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in\n{html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn pg_only_three_nodes_behind_a_proxy_sign_in_refresh_and_revoke_on_different_nodes() {
    let install = Install::postgres().await;
    // The proxy's address is the issuer every node announces.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let opts = Opts {
        public_url: Some(issuer.clone()),
        env: vec![("LATCHKEY_TRUSTED_PROXIES".into(), "[\"127.0.0.1\"]".into())],
        ..Opts::default()
    };
    let (a, b, c) = tokio::join!(
        Server::start_with(&install, &opts),
        Server::start_with(&install, &opts),
        Server::start_with(&install, &opts)
    );
    let proxy = Proxy::start(listener, &[&a, &b, &c]).await;
    assert_eq!(proxy.base, issuer);

    // Set-up through the proxy, like an administrator would.
    let admin = {
        let (status, body) = post_basic(
            &format!("{issuer}/oauth2/token"),
            "latchkey-admin",
            ADMIN_SECRET,
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    };
    let r = http()
        .post(format!("{issuer}/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http()
        .post(format!("{issuer}/api/v1/clients"))
        .bearer_auth(&admin)
        .json(&json!({"name": "App", "type": "web", "redirect_uris": [CALLBACK],
                      "scopes": ["openid", "offline_access"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let client: serde_json::Value = r.json().await.unwrap();
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());

    // The relying party discovers the issuer through the proxy.
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http()).await.unwrap();
    let rp = CoreClient::from_provider_metadata(meta, ClientId::new(id.into()), Some(ClientSecret::new(secret.into())))
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, ..) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: round robin, so the authorization request, the login
    // page's form and the answer are served by different nodes.
    proxy.pin(None);
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(url.as_str()).send().await.unwrap().text().await.unwrap();
    let form = [
        ("tx", field(&page, "tx")),
        ("csrf", field(&page, "csrf")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let r = browser.post(format!("{issuer}/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let back = location(&r);
    assert!(back.starts_with(CALLBACK), "{back}");
    let code = form_urlencoded::parse(back.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (authorize, login) = (proxy.nodes_for("/oauth2/authorize"), proxy.nodes_for("/login"));
    assert_ne!(authorize, login, "the sign-in crossed nodes");

    // Code on node A, refresh through node B, revoke through node C.
    proxy.pin(Some(0));
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("code redeemed");
    proxy.pin(Some(1));
    let refresh = tokens.refresh_token().unwrap().clone();
    let refreshed = rp.exchange_refresh_token(&refresh).unwrap().request_async(&http()).await.expect("refreshed");
    let live_refresh = refreshed.refresh_token().unwrap().secret().clone();
    let access = refreshed.access_token().secret().clone();
    assert!(proxy.nodes_for("/oauth2/token").ends_with(&[0, 1]), "code on A, refresh on B");
    proxy.pin(Some(2));
    let r = http()
        .post(format!("{issuer}/oauth2/revoke"))
        .basic_auth(id, Some(secret))
        .form(&[("token", live_refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(proxy.nodes_for("/oauth2/revoke"), [2]);

    // Every node agrees: the family and its access token are dead.
    for node in [&a, &b, &c] {
        assert_eq!(introspect(node, id, secret, &live_refresh).await, json!({"active": false}));
        assert_eq!(introspect(node, id, secret, &access).await, json!({"active": false}));
    }
    proxy.pin(Some(0));
    let r = rp
        .exchange_refresh_token(&openidconnect::RefreshToken::new(live_refresh))
        .unwrap()
        .request_async(&http())
        .await;
    assert!(r.is_err(), "a revoked refresh token is refused on another node");

    // The audit log names the caller's address from X-Forwarded-For (the
    // nodes trust the proxy), not the proxy's.
    let r = http()
        .get(format!("{issuer}/api/v1/audit-events?action=user.create"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let events: serde_json::Value = r.json().await.unwrap();
    assert_eq!(events["items"][0]["source_ip"], BROWSER_IP, "{events}");
}

/// Behind a proxy that serves Latchkey under `/auth` and strips the prefix:
/// the console signs in and every page links, posts and loads its assets
/// under the prefix; a relying party discovers and signs in through it;
/// and a node asked directly with the prefix answers too.
#[tokio::test]
async fn under_a_path_prefix_every_link_form_and_asset_stays_under_it() {
    let install = Install::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/auth", listener.local_addr().unwrap());
    let opts = Opts { public_url: Some(issuer.clone()), ..Opts::default() };
    let node = Server::start_with(&install, &opts).await;
    let _proxy = Proxy::start_under(listener, "/auth", &[&node]).await;
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let origin = issuer.trim_end_matches("/auth").to_owned();
    // A redirect's target, absolute; it must stay under the prefix.
    let target = |loc: String| -> String {
        let url = if loc.starts_with('/') { format!("{origin}{loc}") } else { loc };
        assert!(url.starts_with(&issuer), "a redirect outside the prefix: {url}");
        url
    };
    let follow = async |url: String| -> reqwest::Response {
        let mut url = url;
        for _ in 0..6 {
            let r = browser.get(&url).header("accept", "text/html").send().await.unwrap();
            if r.status() != 303 && r.status() != 302 {
                return r;
            }
            url = target(location(&r));
        }
        panic!("too many redirects");
    };

    // The front door leads to the console's sign-in page.
    let r = follow(format!("{issuer}/")).await;
    let login = r.text().await.unwrap();
    assert!(login.contains("action=\"/auth/login\""), "{login}");
    assert!(login.contains("href=\"/auth/assets/latchkey.css\""), "{login}");
    let css = browser.get(format!("{origin}/auth/assets/latchkey.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));

    // Signing in: the form posts under the prefix and the console follows.
    let form = [
        ("tx", field(&login, "tx")),
        ("csrf", field(&login, "csrf")),
        ("username", "admin".to_owned()),
        ("password", ADMIN_PASSWORD.to_owned()),
    ];
    let r = browser.post(format!("{origin}/auth/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let dashboard = follow(target(location(&r))).await;
    assert_eq!(dashboard.status(), 200);
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("href=\"/auth/console/clients\""), "console links keep the prefix");
    assert!(html.contains("src=\"/auth/assets/console.js\""), "{html}");
    assert!(!html.contains("href=\"/console/"), "no link escapes the prefix");

    // A relying party: discovery and endpoints under the prefix.
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http()).await.unwrap();
    assert_eq!(meta.token_endpoint().unwrap().as_str(), format!("{issuer}/oauth2/token"));
    let (status, _) = post_basic(
        meta.token_endpoint().unwrap().as_str(),
        "latchkey-admin",
        ADMIN_SECRET,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200);

    // Without a stripping proxy the node answers under the prefix too.
    let direct = http().get(node.url("/auth/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(direct.status(), 200);
}
