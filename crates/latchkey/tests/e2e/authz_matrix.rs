//! The authorization matrix (SPEC §5, issue "trust"): every operation of
//! the admin API's OpenAPI document, for user and client actors of every
//! role, in their own tenant and from another tenant. One rule decides
//! every cell:
//!
//! - reading needs any administrative role;
//! - writing needs a writing role (`tenant-admin`, `owner`) and a token
//!   with the `admin` scope, and a role at least as high as the authority
//!   of the thing written (a client's `admin_role`, a user's roles): no
//!   one creates, changes or takes credentials of an actor above them;
//! - tenants are managed by owners of the default tenant only;
//! - a token of another tenant opens nothing (401).
//!
//! Every allowed mutation writes exactly one audit event. The rows come
//! from the served OpenAPI document: an operation without a row fails the
//! test, so a new operation cannot be added without deciding its cell.

use std::sync::atomic::{AtomicUsize, Ordering};

use oauth2::PkceCodeChallenge;
use serde_json::{Value, json};

use crate::harness::{ADMIN_SECRET, Install, Opts, Server, admin_token, http, post_basic};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Viewer,
    TenantAdmin,
    Owner,
}

impl Role {
    const ALL: [Self; 3] = [Self::Viewer, Self::TenantAdmin, Self::Owner];

    fn name(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::TenantAdmin => "tenant-admin",
            Self::Owner => "owner",
        }
    }
}

/// Who calls: a user or a client, with a role, and whether the token may write.
struct Actor {
    label: String,
    role: Role,
    writes: bool,
    token: String,
}

/// What an operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// Served to anyone (the OpenAPI document itself).
    Public,
    Read,
    Write,
    /// Owners of the default tenant only.
    PlatformRead,
    PlatformWrite,
}

/// The authority of the object an operation writes (`None`: none).
type Authority = Option<Role>;

struct Row {
    op: &'static str,
    need: Need,
    /// Variants of the target's authority (one cell each).
    targets: &'static [Authority],
    /// Allowed cells must answer 2xx (otherwise: anything but 401/403).
    must_succeed: bool,
}

const NONE: &[Authority] = &[None];
const CLIENT_TARGETS: &[Authority] = &[None, Some(Role::Viewer), Some(Role::TenantAdmin), Some(Role::Owner)];
const USER_TARGETS: &[Authority] = &[Some(Role::Viewer), Some(Role::TenantAdmin), Some(Role::Owner)];

const fn row(op: &'static str, need: Need, targets: &'static [Authority], must_succeed: bool) -> Row {
    Row { op, need, targets, must_succeed }
}

/// One row per admin operation of the OpenAPI document.
const ROWS: &[Row] = &[
    row("openapi_json", Need::Public, NONE, true),
    row("me", Need::Read, NONE, true),
    row("list_audit", Need::Read, NONE, true),
    // Clients.
    row("list_clients", Need::Read, NONE, true),
    row("get_client", Need::Read, NONE, true),
    row("list_secrets", Need::Read, NONE, true),
    row("test_redirect", Need::Read, NONE, true),
    row("create_client", Need::Write, CLIENT_TARGETS, true),
    row("create_clients", Need::Write, CLIENT_TARGETS, true),
    row("update_client", Need::Write, CLIENT_TARGETS, true),
    row("delete_client", Need::Write, CLIENT_TARGETS, true),
    row("disable_client", Need::Write, CLIENT_TARGETS, true),
    row("enable_client", Need::Write, CLIENT_TARGETS, true),
    row("add_secret", Need::Write, CLIENT_TARGETS, true),
    row("rotate_secret", Need::Write, CLIENT_TARGETS, true),
    row("revoke_secret", Need::Write, CLIENT_TARGETS, true),
    // Catalogue and keys.
    row("list_scopes", Need::Read, NONE, true),
    row("get_scope", Need::Read, NONE, true),
    row("create_scope", Need::Write, NONE, true),
    row("update_scope", Need::Write, NONE, true),
    row("delete_scope", Need::Write, NONE, true),
    row("list_classes", Need::Read, NONE, true),
    row("get_class", Need::Read, NONE, true),
    row("create_class", Need::Write, NONE, true),
    row("update_class", Need::Write, NONE, true),
    row("delete_class", Need::Write, NONE, true),
    row("list_keys", Need::Read, NONE, true),
    row("rotate_keys", Need::Write, NONE, true),
    // Users.
    row("list_users", Need::Read, NONE, true),
    row("get_user", Need::Read, NONE, true),
    row("list_consents", Need::Read, NONE, true),
    row("list_federated_links", Need::Read, NONE, true),
    row("create_user", Need::Write, USER_TARGETS, true),
    row("update_user", Need::Write, USER_TARGETS, true),
    row("disable_user", Need::Write, USER_TARGETS, true),
    row("enable_user", Need::Write, USER_TARGETS, true),
    row("reset_password", Need::Write, USER_TARGETS, true),
    // No consent or link exists: an allowed caller learns 404.
    row("revoke_consent", Need::Write, USER_TARGETS, false),
    row("unlink_federated", Need::Write, USER_TARGETS, false),
    // Tenants.
    row("list_tenants", Need::PlatformRead, NONE, true),
    row("get_tenant", Need::PlatformRead, NONE, true),
    row("create_tenant", Need::PlatformWrite, NONE, true),
    row("update_tenant", Need::PlatformWrite, NONE, true),
    row("disable_tenant", Need::PlatformWrite, NONE, true),
    row("enable_tenant", Need::PlatformWrite, NONE, true),
    row("delete_tenant", Need::PlatformWrite, NONE, true),
    // Outbound: providers, remote clients, authorizations.
    row("list_providers", Need::Read, NONE, true),
    row("get_provider", Need::Read, NONE, true),
    row("create_provider", Need::Write, NONE, true),
    row("update_provider", Need::Write, NONE, true),
    row("delete_provider", Need::Write, NONE, true),
    row("list_remote_clients", Need::Read, NONE, true),
    row("get_remote_client", Need::Read, NONE, true),
    row("create_remote_client", Need::Write, NONE, true),
    row("update_remote_client", Need::Write, NONE, true),
    row("delete_remote_client", Need::Write, NONE, true),
    row("set_remote_secret", Need::Write, NONE, true),
    row("list_authorizations", Need::Read, NONE, true),
    row("get_authorization", Need::Read, NONE, true),
    row("create_authorization", Need::Write, NONE, true),
    row("delete_authorization", Need::Write, NONE, true),
    row("refresh_authorization", Need::Write, NONE, true),
    // A live upstream token: a writing role (users) or authorizations:token.
    row("authorization_token", Need::Write, NONE, true),
    // A client_credentials authorization has no browser step: 409.
    row("authorize_authorization", Need::Write, NONE, false),
];

fn allowed(need: Need, actor: &Actor, target: Authority) -> bool {
    match need {
        Need::Public | Need::Read => true,
        Need::Write => actor.writes && target.is_none_or(|t| actor.role >= t),
        Need::PlatformRead => actor.role == Role::Owner,
        Need::PlatformWrite => actor.role == Role::Owner && actor.writes,
    }
}

/// The installation every cell runs against, and what the fixtures need.
struct World {
    s: Server,
    owner: String,
    seq: AtomicUsize,
    /// A client of this server the remote clients use upstream (itself).
    upstream_id: String,
    upstream_secret: String,
    web_id: String,
    user_id: String,
}

/// A request: method, path under the tenant's base, JSON body.
struct Req {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

fn req(method: &'static str, path: impl Into<String>, body: Option<Value>) -> Req {
    Req { method, path: path.into(), body }
}

async fn call(s: &Server, token: Option<&str>, r: &Req) -> (u16, Value) {
    let url = s.url(&r.path);
    let mut b = match r.method {
        "GET" => http().get(url),
        "POST" => http().post(url),
        "PATCH" => http().patch(url),
        "DELETE" => http().delete(url),
        m => panic!("method {m}"),
    };
    if let Some(t) = token {
        b = b.bearer_auth(t);
    }
    if let Some(body) = &r.body {
        b = b.json(body);
    }
    let resp = b.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

impl World {
    fn name(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.seq.fetch_add(1, Ordering::Relaxed))
    }

    /// A call as the default tenant's owner client that must succeed.
    async fn owner(&self, method: &'static str, path: &str, body: Value) -> Value {
        let body = (method != "GET" && method != "DELETE").then_some(body);
        let (status, v) = call(&self.s, Some(&self.owner), &req(method, path, body)).await;
        assert!((200..300).contains(&status), "fixture {method} {path}: {status} {v}");
        v
    }

    /// A client holding `authority`: an m2m client with that admin role, or
    /// (no authority) a plain m2m client.
    async fn client(&self, authority: Authority) -> String {
        let mut body = json!({"name": self.name("target "), "type": "m2m"});
        if let Some(r) = authority {
            body["scopes"] = json!(["admin", "admin:read"]);
            body["admin_role"] = json!(r.name());
        }
        self.owner("POST", "/api/v1/clients", body).await["client_id"].as_str().unwrap().to_owned()
    }

    async fn user(&self, role: Authority) -> String {
        let roles: Vec<&str> = role.iter().map(|r| r.name()).collect();
        let body = json!({"username": self.name("user"), "password": "a-long-password-1", "roles": roles});
        self.owner("POST", "/api/v1/users", body).await["id"].as_str().unwrap().to_owned()
    }

    async fn remote_client(&self) -> (String, String) {
        let name = self.name("rc");
        let body = json!({"namespace": "ns", "name": name, "provider": "self", "client_id": self.upstream_id,
                          "client_secret": self.upstream_secret});
        self.owner("POST", "/api/v1/remote-clients", body).await;
        ("ns".into(), name)
    }

    async fn authorization(&self) -> String {
        let (ns, name) = self.remote_client().await;
        self.owner("POST", "/api/v1/authorizations", json!({"namespace": ns, "name": name})).await;
        format!("/api/v1/authorizations/{ns}/{name}")
    }

    async fn tenant(&self) -> String {
        let id = self.name("tn");
        self.owner("POST", "/api/v1/tenants", json!({"tenant_id": id})).await;
        id
    }

    /// Builds the request of one cell, creating what it acts on.
    #[allow(clippy::too_many_lines)] // one arm per operation
    async fn prepare(&self, op: &str, target: Authority) -> Req {
        let role_body = |name: String| {
            let mut b = json!({"name": name, "type": "m2m"});
            if let Some(r) = target {
                b["scopes"] = json!(["admin", "admin:read"]);
                b["admin_role"] = json!(r.name());
            }
            b
        };
        let client = |id: &str| format!("/api/v1/clients/{id}");
        match op {
            "openapi_json" => req("GET", "/api/v1/openapi.json", None),
            "me" => req("GET", "/api/v1/me", None),
            "list_audit" => req("GET", "/api/v1/audit-events", None),
            "list_clients" => req("GET", "/api/v1/clients", None),
            "get_client" => req("GET", client(&self.web_id), None),
            "list_secrets" => req("GET", format!("{}/secrets", client(&self.web_id)), None),
            "test_redirect" => req(
                "POST",
                format!("{}/test-redirect", client(&self.web_id)),
                Some(json!({"uri": "https://rp.example/cb"})),
            ),
            "create_client" => req("POST", "/api/v1/clients", Some(role_body(self.name("new ")))),
            "create_clients" => {
                req("POST", "/api/v1/clients:batch", Some(json!({"items": [role_body(self.name("b "))]})))
            }
            "update_client" => {
                let id = self.client(target).await;
                req("PATCH", format!("{}?force=true", client(&id)), Some(json!({"description": "changed"})))
            }
            "delete_client" => req("DELETE", format!("{}?force=true", client(&self.client(target).await)), None),
            "disable_client" => {
                req("POST", format!("{}/disable?force=true", client(&self.client(target).await)), Some(json!({})))
            }
            "enable_client" => {
                let id = self.client(target).await;
                self.owner("POST", &format!("{}/disable", client(&id)), json!({})).await;
                req("POST", format!("{}/enable?force=true", client(&id)), Some(json!({})))
            }
            "add_secret" => req("POST", format!("{}/secrets", client(&self.client(target).await)), Some(json!({}))),
            "rotate_secret" => req(
                "POST",
                format!("{}/secrets/rotate", client(&self.client(target).await)),
                Some(json!({"grace_seconds": 3600})),
            ),
            "revoke_secret" => {
                let id = self.client(target).await;
                let added = self.owner("POST", &format!("{}/secrets", client(&id)), json!({})).await;
                let secret = added["secret"]["id"].as_str().unwrap().to_owned();
                req("DELETE", format!("{}/secrets/{secret}", client(&id)), None)
            }
            "list_scopes" => req("GET", "/api/v1/scopes", None),
            "get_scope" => req("GET", "/api/v1/scopes/openid", None),
            "create_scope" => req("POST", "/api/v1/scopes", Some(json!({"name": self.name("s:")}))),
            "update_scope" | "delete_scope" => {
                let name = self.name("s:");
                self.owner("POST", "/api/v1/scopes", json!({"name": name})).await;
                if op == "update_scope" {
                    req("PATCH", format!("/api/v1/scopes/{name}"), Some(json!({"description": "changed"})))
                } else {
                    req("DELETE", format!("/api/v1/scopes/{name}"), None)
                }
            }
            "list_classes" => req("GET", "/api/v1/security-classes", None),
            "get_class" | "update_class" | "delete_class" => {
                let name = self.name("class-");
                self.owner("POST", "/api/v1/security-classes", json!({"name": name, "scopes": ["openid"]})).await;
                let path = format!("/api/v1/security-classes/{name}");
                match op {
                    "get_class" => req("GET", path, None),
                    "update_class" => req("PATCH", path, Some(json!({"description": "changed"}))),
                    _ => req("DELETE", path, None),
                }
            }
            "create_class" => req("POST", "/api/v1/security-classes", Some(json!({"name": self.name("class-")}))),
            "list_keys" => req("GET", "/api/v1/keys", None),
            "rotate_keys" => {
                req("POST", "/api/v1/keys/rotate", Some(json!({"purpose": "access_token", "activate_in_seconds": 0})))
            }
            "list_users" => req("GET", "/api/v1/users", None),
            "get_user" => req("GET", format!("/api/v1/users/{}", self.user_id), None),
            "list_consents" => req("GET", format!("/api/v1/users/{}/consents", self.user_id), None),
            "list_federated_links" => req("GET", format!("/api/v1/users/{}/federated-links", self.user_id), None),
            "create_user" => {
                let roles: Vec<&str> = target.iter().map(|r| r.name()).collect();
                let body = json!({"username": self.name("new"), "password": "a-long-password-1", "roles": roles});
                req("POST", "/api/v1/users", Some(body))
            }
            "update_user" | "disable_user" | "enable_user" | "reset_password" | "revoke_consent"
            | "unlink_federated" => {
                let id = self.user(target).await;
                let path = format!("/api/v1/users/{id}");
                match op {
                    "update_user" => req("PATCH", path, Some(json!({"display_name": "Changed"}))),
                    "disable_user" => req("POST", format!("{path}/disable"), Some(json!({}))),
                    "enable_user" => {
                        self.owner("POST", &format!("{path}/disable"), json!({})).await;
                        req("POST", format!("{path}/enable"), Some(json!({})))
                    }
                    "reset_password" => {
                        req("POST", format!("{path}/password"), Some(json!({"password": "another-password-2"})))
                    }
                    "revoke_consent" => req("DELETE", format!("{path}/consents/{}", self.web_id), None),
                    _ => req("DELETE", format!("{path}/federated-links/self/someone"), None),
                }
            }
            "list_tenants" => req("GET", "/api/v1/tenants", None),
            "create_tenant" => req("POST", "/api/v1/tenants", Some(json!({"tenant_id": self.name("tn")}))),
            "get_tenant" | "update_tenant" | "disable_tenant" | "enable_tenant" | "delete_tenant" => {
                let id = self.tenant().await;
                let path = format!("/api/v1/tenants/{id}");
                match op {
                    "get_tenant" => req("GET", path, None),
                    "update_tenant" => req("PATCH", path, Some(json!({"display_name": "Changed"}))),
                    "disable_tenant" => req("POST", format!("{path}/disable"), Some(json!({}))),
                    "enable_tenant" => {
                        self.owner("POST", &format!("{path}/disable"), json!({})).await;
                        req("POST", format!("{path}/enable"), Some(json!({})))
                    }
                    _ => {
                        self.owner("POST", &format!("{path}/disable"), json!({})).await;
                        req("DELETE", path, None)
                    }
                }
            }
            "list_providers" => req("GET", "/api/v1/providers", None),
            "get_provider" => req("GET", "/api/v1/providers/self", None),
            "create_provider" => req(
                "POST",
                "/api/v1/providers",
                Some(json!({"name": self.name("p"), "token_endpoint": self.s.url("/oauth2/token")})),
            ),
            "update_provider" | "delete_provider" => {
                let name = self.name("p");
                self.owner(
                    "POST",
                    "/api/v1/providers",
                    json!({"name": name, "token_endpoint": self.s.url("/oauth2/token")}),
                )
                .await;
                if op == "update_provider" {
                    req("PATCH", format!("/api/v1/providers/{name}"), Some(json!({"pkce": false})))
                } else {
                    req("DELETE", format!("/api/v1/providers/{name}"), None)
                }
            }
            "list_remote_clients" => req("GET", "/api/v1/remote-clients", None),
            "create_remote_client" => req(
                "POST",
                "/api/v1/remote-clients",
                Some(json!({"namespace": "ns", "name": self.name("rc"), "provider": "self", "client_id": "x"})),
            ),
            "get_remote_client" | "update_remote_client" | "delete_remote_client" | "set_remote_secret" => {
                let (ns, name) = self.remote_client().await;
                let path = format!("/api/v1/remote-clients/{ns}/{name}");
                match op {
                    "get_remote_client" => req("GET", path, None),
                    "update_remote_client" => req("PATCH", path, Some(json!({"params": {"audience": "x"}}))),
                    "delete_remote_client" => req("DELETE", path, None),
                    _ => req("POST", format!("{path}/secret"), Some(json!({"client_secret": self.upstream_secret}))),
                }
            }
            "list_authorizations" => req("GET", "/api/v1/authorizations", None),
            "create_authorization" => {
                let (ns, name) = self.remote_client().await;
                req("POST", "/api/v1/authorizations", Some(json!({"namespace": ns, "name": name})))
            }
            "get_authorization" => req("GET", self.authorization().await, None),
            "delete_authorization" => req("DELETE", self.authorization().await, None),
            "refresh_authorization" => req("POST", format!("{}/refresh", self.authorization().await), Some(json!({}))),
            "authorization_token" => req("POST", format!("{}/token", self.authorization().await), Some(json!({}))),
            "authorize_authorization" => {
                req("POST", format!("{}/authorize", self.authorization().await), Some(json!({})))
            }
            other => panic!("no request for operation {other}"),
        }
    }

    /// The id of the newest audit event (ids sort by time, then creation).
    async fn newest_audit(&self) -> String {
        let v = self.owner("GET", "/api/v1/audit-events?limit=1", Value::Null).await;
        v["items"][0]["id"].as_str().unwrap_or_default().to_owned()
    }

    async fn audit_since(&self, id: &str) -> Vec<Value> {
        let v = self.owner("GET", "/api/v1/audit-events?limit=20", Value::Null).await;
        v["items"].as_array().unwrap().iter().filter(|e| e["id"].as_str().unwrap() > id).cloned().collect()
    }
}

/// Signs `username` in through the authorization-code flow of `client_id`
/// (PKCE) and returns the access token, with scope `admin admin:read`.
async fn user_token(s: &Server, client_id: &str, secret: &str, username: &str) -> String {
    let body = sign_in(s, client_id, secret, (username, "a-long-password-1"), "openid admin admin:read").await;
    assert!(body["scope"].as_str().unwrap().contains("admin"), "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Signs a user in through the authorization-code flow of a client whose
/// redirect URI is `https://rp.example/cb` (PKCE, no consent) and returns
/// the token response.
pub(crate) async fn sign_in(
    s: &Server,
    client_id: &str,
    secret: &str,
    (username, password): (&str, &str),
    scope: &str,
) -> Value {
    let b = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let url = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope={}&state=s1&code_challenge={}&code_challenge_method=S256",
        s.url("/oauth2/authorize"),
        scope.replace(' ', "%20").replace(':', "%3A"),
        challenge.as_str()
    );
    let html = b.get(url).send().await.unwrap().text().await.unwrap();
    let field = |html: &str, name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
        html[start..].split('"').next().unwrap().to_owned()
    };
    let form = [
        ("tx", field(&html, "tx")),
        ("csrf", field(&html, "csrf")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ];
    let r = b.post(s.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "signed in");
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    let code = back.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let (status, body) = post_basic(
        &s.url("/oauth2/token"),
        client_id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://rp.example/cb"),
            ("code_verifier", verifier.secret()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn client_token(s: &Server, id: &str, secret: &str, scope: &str) -> String {
    let (status, body) =
        post_basic(&s.url("/oauth2/token"), id, secret, &[("grant_type", "client_credentials"), ("scope", scope)])
            .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn setup() -> (World, Vec<Actor>, Install) {
    let install = Install::new().await;
    let opts =
        Opts { env: vec![("LATCHKEY_REMOTE_ALLOW_PRIVATE".into(), "[\"127.0.0.1\"]".into())], ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    let owner = admin_token(&s, "admin").await;
    let mut w = World {
        s,
        owner,
        seq: AtomicUsize::new(0),
        upstream_id: String::new(),
        upstream_secret: String::new(),
        web_id: String::new(),
        user_id: String::new(),
    };
    w.owner("POST", "/api/v1/scopes", json!({"name": "api:read"})).await;
    let up =
        w.owner("POST", "/api/v1/clients", json!({"name": "upstream", "type": "m2m", "scopes": ["api:read"]})).await;
    w.upstream_id = up["client"]["client_id"].as_str().unwrap_or_else(|| up["client_id"].as_str().unwrap()).to_owned();
    w.upstream_secret = up["client_secret"].as_str().unwrap().to_owned();
    w.owner("POST", "/api/v1/providers", json!({"name": "self", "token_endpoint": w.s.url("/oauth2/token")})).await;
    // The relying party users sign in through: it carries the admin scope,
    // so only an owner may create or change it.
    let web = w
        .owner(
            "POST",
            "/api/v1/clients",
            json!({"name": "matrix rp", "type": "web", "redirect_uris": ["https://rp.example/cb"],
                   "scopes": ["openid", "admin", "admin:read"]}),
        )
        .await;
    w.web_id = web["client_id"].as_str().unwrap().to_owned();
    let web_secret = web["client_secret"].as_str().unwrap().to_owned();
    w.user_id = w.user(None).await;

    let mut actors = Vec::new();
    for role in Role::ALL {
        let username = w.name(&format!("actor-{}-", role.name()));
        let body = json!({"username": username, "password": "a-long-password-1", "roles": [role.name()]});
        w.owner("POST", "/api/v1/users", body).await;
        let token = user_token(&w.s, &w.web_id, &web_secret, &username).await;
        actors.push(Actor { label: format!("user {}", role.name()), role, writes: role != Role::Viewer, token });
        let (id, secret) = if role == Role::Owner {
            ("latchkey-admin".to_owned(), ADMIN_SECRET.to_owned())
        } else {
            let body = json!({"name": w.name("actor "), "type": "m2m", "scopes": ["admin", "admin:read"],
                              "admin_role": role.name()});
            let c = w.owner("POST", "/api/v1/clients", body).await;
            (c["client_id"].as_str().unwrap().to_owned(), c["client_secret"].as_str().unwrap().to_owned())
        };
        let token = client_token(&w.s, &id, &secret, "admin").await;
        actors.push(Actor { label: format!("client {}", role.name()), role, writes: role != Role::Viewer, token });
        // The same client with a read-only token.
        let token = client_token(&w.s, &id, &secret, "admin:read").await;
        actors.push(Actor { label: format!("client {} (admin:read)", role.name()), role, writes: false, token });
    }
    (w, actors, install)
}

/// The admin operations of the served OpenAPI document, by operationId.
async fn admin_operations(s: &Server) -> Vec<String> {
    let doc: Value = http().get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                ops.push(id.to_owned());
            }
        }
    }
    ops.sort();
    ops
}

#[tokio::test]
async fn authority_never_grows_through_delegation_matrix() {
    let (w, actors, _install) = setup().await;
    let ops = admin_operations(&w.s).await;
    let missing: Vec<&String> = ops.iter().filter(|o| !ROWS.iter().any(|r| r.op == o.as_str())).collect();
    assert!(missing.is_empty(), "admin operations without a row in the matrix: {missing:?}");
    let stale: Vec<&str> = ROWS.iter().map(|r| r.op).filter(|r| !ops.iter().any(|o| o == r)).collect();
    assert!(stale.is_empty(), "rows for operations the API no longer has: {stale:?}");

    let mut failures = Vec::new();
    let mut cells = 0;
    for row in ROWS {
        for &target in row.targets {
            for actor in &actors {
                cells += 1;
                let r = w.prepare(row.op, target).await;
                let before = w.newest_audit().await;
                let (status, body) = call(&w.s, Some(&actor.token), &r).await;
                let expect = allowed(row.need, actor, target);
                let cell =
                    format!("{} by {} on {:?}: {} {} -> {status}", row.op, actor.label, target, r.method, r.path);
                let ok = if expect {
                    if row.must_succeed { (200..300).contains(&status) } else { status != 401 && status != 403 }
                } else {
                    status == 403 && body["type"].is_string()
                };
                if !ok {
                    let detail = body["detail"].as_str().unwrap_or("(no problem detail)");
                    failures.push(format!("{cell} (expected {}) {detail}", if expect { "allowed" } else { "403" }));
                    continue;
                }
                let mutation = r.method != "GET" && row.op != "test_redirect";
                let events = w.audit_since(&before).await;
                let want = usize::from(expect && mutation && (200..300).contains(&status));
                if events.len() != want {
                    let actions: Vec<&Value> = events.iter().map(|e| &e["action"]).collect();
                    failures.push(format!("{cell}: {} audit events {actions:?}, expected {want}", events.len()));
                } else if want == 1 {
                    let actor_id = events[0]["actor"].as_str().unwrap();
                    assert!(!actor_id.is_empty(), "{cell}: the event names its actor");
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cells} cells wrong:\n{}", failures.len(), failures.join("\n"));
}

/// Tokens of another tenant open nothing here, and this tenant's tokens
/// open nothing there: every admin operation answers 401, in both directions.
#[tokio::test]
async fn no_admin_operation_accepts_another_tenants_token() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let owner = admin_token(&s, "admin").await;
    let created = http()
        .post(s.url("/api/v1/tenants"))
        .bearer_auth(&owner)
        .json(&json!({"tenant_id": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    let acme_secret = created["admin_client_secret"].as_str().unwrap();
    let (status, body) = post_basic(
        &s.url("/t/acme/oauth2/token"),
        "latchkey-admin",
        acme_secret,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let acme = body["access_token"].as_str().unwrap().to_owned();
    let doc: Value = http().get(s.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") || path.ends_with("openapi.json") {
            continue;
        }
        let concrete = path.replace(['{', '}'], "");
        for method in item.as_object().unwrap().keys() {
            let m = match method.as_str() {
                "get" => "GET",
                "post" => "POST",
                "patch" => "PATCH",
                "delete" => "DELETE",
                _ => continue,
            };
            for (prefix, token, who) in
                [("", &acme, "acme's admin at default"), ("/t/acme", &owner, "default's owner at acme")]
            {
                let body = (m == "POST" || m == "PATCH").then(|| json!({}));
                let (status, v) = call(&s, Some(token), &req(m, format!("{prefix}{concrete}"), body)).await;
                assert_eq!(status, 401, "{who}: {m} {prefix}{concrete}: {v}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "every operation in both directions ({checked})");
}
