//! The admin console over plain HTTP: signing in through the server's own
//! authorization endpoint, the session cookie, CSRF and role checks on
//! every form post, and malformed requests answered with a readable 4xx
//! page, never a 5xx. (The pages themselves are tested in Chromium, in
//! `tests/browser/console-*.test.mjs`.)

use std::collections::BTreeMap;

use serde_json::json;

use crate::harness::*;

/// A browser: cookies kept by name, redirects not followed.
pub(super) struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    set_cookie: Vec<String>,
}

impl Browser {
    pub(super) fn new() -> Self {
        Self { http: http(), cookies: BTreeMap::new(), set_cookie: Vec::new() }
    }

    /// Another browser holding copies of this one's cookies.
    pub(super) fn from_cookies(other: &Self) -> Self {
        Self { http: http(), cookies: other.cookies.clone(), set_cookie: Vec::new() }
    }

    fn keep(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap().to_owned();
            let (pair, _) = v.split_once(';').unwrap_or((&v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            self.set_cookie.push(v);
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub(super) async fn get(&mut self, url: &str) -> reqwest::Response {
        let r = self.http.get(url).header("cookie", self.cookie_header()).send().await.unwrap();
        self.keep(&r);
        r
    }

    pub(super) async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let r = self.http.post(url).header("cookie", self.cookie_header()).form(form).send().await.unwrap();
        self.keep(&r);
        r
    }

    async fn post_raw(&mut self, url: &str, ctype: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        let r = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep(&r);
        r
    }
}

pub(super) fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

pub(super) fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in\n{html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn absolute(s: &Server, location: &str) -> String {
    if location.starts_with("http") { location.to_owned() } else { s.url(location) }
}

/// Signs in to the console as `username`; returns the CSRF token of the session.
pub(super) async fn sign_in(s: &Server, b: &mut Browser, username: &str, password: &str) -> String {
    let r = b.get(&s.url("/console/clients")).await;
    assert_eq!(r.status().as_u16(), 303);
    let authorize = location(&r);
    assert!(authorize.starts_with(&format!("{}/oauth2/authorize?", s.issuer)), "{authorize}");
    for needle in ["client_id=latchkey-console", "code_challenge_method=S256", "state=", "nonce="] {
        assert!(authorize.contains(needle), "{needle} in {authorize}");
    }
    let r = b.get(&authorize).await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    let form = [
        ("tx", field(&html, "tx")),
        ("csrf", field(&html, "csrf")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post(&s.url("/login"), &form).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap_or_default());
    let callback = location(&r);
    assert!(callback.starts_with(&format!("{}/console/callback?", s.issuer)), "{callback}");
    let r = b.get(&callback).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(location(&r), "/console/clients", "back where the sign-in started");
    let r = b.get(&s.url("/console/clients")).await;
    assert_eq!(r.status().as_u16(), 200);
    field(&r.text().await.unwrap(), "csrf")
}

async fn create_user(s: &Server, username: &str, role: &str) -> String {
    let token = admin_token(s, "admin").await;
    let r = http()
        .post(s.url("/api/v1/users"))
        .bearer_auth(token)
        .json(&json!({"username": username, "password": "console-user-password-1",
                      "roles": if role.is_empty() { vec![] } else { vec![role] }}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// A readable page: 4xx, HTML, with the security headers.
async fn assert_page(r: reqwest::Response, status: u16, what: &str) {
    assert_eq!(r.status().as_u16(), status, "{what}");
    let h = r.headers().clone();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"), "{what}");
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{what}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
    let body = r.text().await.unwrap();
    assert!(body.contains("<h1>"), "{what}: a page with a title");
}

#[tokio::test]
async fn console_sign_in_sets_a_protected_session_and_checks_every_post() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let mut b = Browser::new();
    let csrf = sign_in(&s, &mut b, "admin", ADMIN_PASSWORD).await;
    let session = b.set_cookie.iter().find(|c| c.starts_with("lk_console_default=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "plain http issuer: no Secure flag");

    // Every page names the tenant in its title (several tenants in several tabs).
    let page = b.get(&s.url("/console/scopes")).await.text().await.unwrap();
    assert!(page.contains("<title>Scopes · default · Latchkey</title>"), "{}", &page[..page.len().min(600)]);

    // A write with the session's token works; without it, or with another, 403.
    let r = b.post(&s.url("/console/scopes"), &[("csrf", &csrf), ("name", "invoices:read")]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_page(b.post(&s.url("/console/scopes"), &[("name", "x")]).await, 403, "no CSRF token").await;
    assert_page(b.post(&s.url("/console/scopes"), &[("csrf", "AAAA"), ("name", "x")]).await, 403, "forged").await;

    // Another session's token is refused.
    let mut other = Browser::new();
    let other_csrf = sign_in(&s, &mut other, "admin", ADMIN_PASSWORD).await;
    assert_ne!(other_csrf, csrf);
    let r = b.post(&s.url("/console/scopes"), &[("csrf", &other_csrf), ("name", "y")]).await;
    assert_page(r, 403, "a token of another session").await;

    // Without a session: 401 for a post, a sign-in redirect for a page.
    let mut anonymous = Browser::new();
    assert_page(anonymous.post(&s.url("/console/scopes"), &[("csrf", &csrf)]).await, 401, "anonymous post").await;

    // Signing out revokes the session: the same cookie no longer works.
    let stolen = b.cookie_header();
    let r = b.post(&s.url("/console/signout"), &[("csrf", &csrf)]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(location(&r).starts_with(&format!("{}/oauth2/logout?", s.issuer)), "RP-initiated logout");
    let r = http().get(s.url("/console/scopes")).header("cookie", stolen).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "a signed-out session is dead");
    s.stop().await;
}

#[tokio::test]
async fn console_rights_are_derived_on_every_request() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let carol = create_user(&s, "carol", "tenant-admin").await;
    create_user(&s, "dave", "viewer").await;
    create_user(&s, "erin", "").await;

    let mut viewer = Browser::new();
    let csrf = sign_in(&s, &mut viewer, "dave", "console-user-password-1").await;
    for (path, form) in [
        ("/console/scopes", vec![("name", "nope")]),
        ("/console/clients/latchkey-admin/disable", vec![("force", "on")]),
        ("/console/clients/new/m2m", vec![("name", "nope")]),
        ("/console/keys/rotate", vec![]),
    ] {
        let mut f = vec![("csrf", csrf.as_str())];
        f.extend(form);
        assert_page(viewer.post(&s.url(path), &f).await, 403, path).await;
    }
    assert_eq!(viewer.get(&s.url("/console/clients/latchkey-admin")).await.status().as_u16(), 200, "viewers read");

    // A tenant admin demoted to viewer loses write access at once.
    let mut admin = Browser::new();
    let csrf = sign_in(&s, &mut admin, "carol", "console-user-password-1").await;
    let r = admin.post(&s.url("/console/scopes"), &[("csrf", &csrf), ("name", "carol:scope")]).await;
    assert_eq!(r.status().as_u16(), 303);
    let token = admin_token(&s, "admin").await;
    let r = http()
        .patch(s.url(&format!("/api/v1/users/{carol}")))
        .bearer_auth(token)
        .json(&json!({"roles": ["viewer"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = admin.post(&s.url("/console/scopes"), &[("csrf", &csrf), ("name", "carol:again")]).await;
    assert_page(r, 403, "demoted").await;

    // A user without an administrative role cannot open the console.
    let mut user = Browser::new();
    let r = user.get(&s.url("/console/")).await;
    let authorize = location(&r);
    let html = user.get(&authorize).await.text().await.unwrap();
    let form = [("tx", field(&html, "tx")), ("csrf", field(&html, "csrf"))];
    let r = user
        .post(
            &s.url("/login"),
            &[("tx", &form[0].1), ("csrf", &form[1].1), ("username", "erin"), ("password", "console-user-password-1")],
        )
        .await;
    let r = user.get(&absolute(&s, &location(&r))).await;
    assert_page(r, 403, "no admin role").await;
    s.stop().await;
}

#[tokio::test]
async fn malformed_console_requests_get_a_readable_4xx_page() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let mut anonymous = Browser::new();
    for (path, status) in [
        ("/console/callback", 400),
        ("/console/callback?code=x&state=y", 400),
        ("/console/callback?error=access_denied&state=y", 400),
        ("/t/no-such-tenant/console/", 404),
        ("/console/clients/%FF", 400),
    ] {
        assert_page(anonymous.get(&s.url(path)).await, status, path).await;
    }
    let r = http().put(s.url("/console/clients")).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "GET,HEAD");
    assert_page(r, 405, "PUT").await;

    let mut b = Browser::new();
    let csrf = sign_in(&s, &mut b, "admin", ADMIN_PASSWORD).await;
    for (path, status) in [
        ("/console/clients?unused_days=soon", 400),
        ("/console/clients?cursor=not-a-cursor", 400),
        ("/console/clients?secret_expires_within_days=-1", 400),
        ("/console/audit?cursor=zz", 400),
        ("/console/clients/no-such-client", 404),
        ("/console/no-such-page", 404),
        ("/console/clients/new/rocket", 404),
        ("/console/clients/%20%20/edit", 404),
    ] {
        assert_page(b.get(&s.url(path)).await, status, path).await;
    }
    let csrf_form = format!("csrf={csrf}");
    for (path, ctype, body, status) in [
        ("/console/scopes", "application/json", "{}".to_owned(), 415),
        ("/console/scopes", "application/x-www-form-urlencoded", format!("{csrf_form}&name=%FF"), 400),
        ("/console/scopes", "application/x-www-form-urlencoded", "x".repeat(70 * 1024), 413),
        (
            "/console/clients/latchkey-admin/secrets/rotate",
            "application/x-www-form-urlencoded",
            format!("{csrf_form}&grace_seconds=forever"),
            400,
        ),
        (
            "/console/clients/latchkey-admin/secrets/rotate",
            "application/x-www-form-urlencoded",
            format!("{csrf_form}&grace_seconds=-5"),
            422,
        ),
        ("/console/clients/no-such-client/delete", "application/x-www-form-urlencoded", csrf_form.clone(), 404),
        ("/console/clients/latchkey-admin/delete", "application/x-www-form-urlencoded", csrf_form.clone(), 403),
        (
            "/console/clients/new/m2m",
            "application/x-www-form-urlencoded",
            format!("{csrf_form}&name=x&grant_types=client_credentials&token_endpoint_auth_method=magic"),
            422,
        ),
    ] {
        let r = b.post_raw(&s.url(path), ctype, body).await;
        assert_page(r, status, path).await;
    }
    // A bulk action with nothing selected goes back to the list, which says why.
    let r = b.post_raw(&s.url("/console/clients/bulk"), "application/x-www-form-urlencoded", csrf_form.clone()).await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(location(&r).ends_with("/console/clients?e=none_selected#bulk-problem"), "{}", location(&r));
    // The protected client survived the attempt to delete it without force.
    assert_eq!(b.get(&s.url("/console/clients/latchkey-admin")).await.status().as_u16(), 200);
    s.stop().await;
}

#[tokio::test]
async fn console_cookies_are_secure_behind_an_https_issuer() {
    let install = Install::new().await;
    let opts = Opts { public_url: Some("https://login.example.com".into()), ..Opts::default() };
    let s = Server::start_with(&install, &opts).await;
    let mut b = Browser::new();
    let r = b.get(&s.url("/console/clients")).await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(location(&r).starts_with("https://login.example.com/oauth2/authorize?"), "{}", location(&r));
    assert!(location(&r).contains("redirect_uri=https%3A%2F%2Flogin.example.com%2Fconsole%2Fcallback"));
    let flow = b.set_cookie.iter().find(|c| c.starts_with("lk_console_flow_default=")).unwrap();
    assert!(flow.contains("; Secure") && flow.contains("HttpOnly") && flow.contains("SameSite=Lax"), "{flow}");
    s.stop().await;
}

#[tokio::test]
async fn console_client_list_pages_by_cursor() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let token = admin_token(&s, "admin").await;
    let items: Vec<_> = (0..30).map(|i| json!({"name": format!("Paged {i:02}"), "type": "m2m"})).collect();
    let r = http().post(s.url("/api/v1/clients:batch")).bearer_auth(token).json(&json!({"items": items})).send().await;
    assert_eq!(r.unwrap().status().as_u16(), 201);
    let mut b = Browser::new();
    sign_in(&s, &mut b, "admin", ADMIN_PASSWORD).await;
    let rows = |html: &str| html.matches("name=\"ids\"").count();
    let html = b.get(&s.url("/console/clients?q=Paged&sort=name")).await.text().await.unwrap();
    assert_eq!(rows(&html), 25, "a page holds 25 clients");
    assert!(html.contains("Paged 00") && html.contains("Paged 24") && !html.contains("Paged 25"));
    let next = html.split("rel=\"next\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap();
    let next = next.replace("&#38;", "&").replace("&amp;", "&");
    assert!(next.contains("cursor="), "{next}");
    let html = b.get(&s.url(&next)).await.text().await.unwrap();
    assert_eq!(rows(&html), 5);
    assert!(html.contains("Paged 25") && html.contains("Paged 29") && !html.contains("Paged 24"));
    assert!(!html.contains("rel=\"next\""), "the last page");
    assert!(html.contains(">First page<"));
    s.stop().await;
}
