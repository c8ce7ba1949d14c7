//! The console's client form over plain HTTP: shaped by the client type
//! (only the fields, grants and authentication methods that type can use,
//! the rest under "Advanced"), the type changed without script, keys for
//! `private_key_jwt`, lifetimes as durations, and every bad input answered
//! with the form again (422, what was typed kept, the summary linking to
//! the field), never a 5xx.

use serde_json::Value;

use super::console::{Browser, field as hidden, sign_in};
use crate::harness::*;

async fn page(b: &mut Browser, s: &Server, path: &str) -> String {
    let r = b.get(&s.url(path)).await;
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.text().await.unwrap()
}

/// The value of the input with id `id` (HTML-escaped as on the page).
fn field(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no input {id}"));
    let tag = &html[start..start + html[start..].find('>').unwrap()];
    let value = tag.split(" value=\"").nth(1).unwrap_or_else(|| panic!("no value in {tag}"));
    value.split('"').next().unwrap().to_owned()
}

/// `name="x"` (or `id="x"`) appears in the form.
fn has(html: &str, attr: &str) -> bool {
    html.contains(&format!("name=\"{attr}\"")) || html.contains(&format!("id=\"{attr}\""))
}

/// The part of the form before "Advanced".
fn main_part(html: &str) -> &str {
    html.split("<details class=\"advanced\"").next().unwrap()
}

async fn api_client(s: &Server, id: &str) -> Value {
    let token = admin_token(s, "admin").await;
    let r = http().get(s.url(&format!("/api/v1/clients/{id}"))).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn each_client_type_gets_its_own_form() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let mut b = Browser::new();
    sign_in(&s, &mut b, "admin", ADMIN_PASSWORD).await;
    for t in ["m2m", "web", "spa", "hybrid", "device", "connector", "custom"] {
        let html = page(&mut b, &s, &format!("/console/clients/new/{t}")).await;
        // Never offered: what the server does not serve.
        assert!(!html.contains("Client secret JWT"), "{t}");
        assert!(!html.contains("client_secret_jwt"), "{t}");
        assert!(!html.contains("token-exchange"), "{t}");
        assert!(!html.contains("value=\"password\""), "{t}: legacy grants are off in this tenant");
        assert!(html.contains("<details class=\"advanced\""), "{t}");
        assert!(html.contains("Client Name</label> <span class=\"req\" aria-hidden=\"true\">(required)</span>"), "{t}");
        assert!(has(&html, "access_token_lifetime") && html.contains("such as 15m, 1h or 30d"), "{t}");
        assert!(html.contains("name=\"switch_type\""), "{t}: the type can change");
    }
    let m2m = page(&mut b, &s, "/console/clients/new/m2m").await;
    for absent in [
        "redirect_uris_new",
        "post_logout_redirect_uris_new",
        "allowed_cors_origins_new",
        "response_types",
        "require_pkce",
        "require_consent",
        "allowed_groups_new",
        "refresh_token_lifetime",
        "id_token_lifetime",
        "refresh_reuse_grace",
    ] {
        assert!(!has(&m2m, absent), "m2m has no {absent}");
    }
    for present in ["token_endpoint_auth_method", "jwks_uri", "jwks", "scopes_new", "audiences_new", "admin_role"] {
        assert!(has(&m2m, present), "m2m has {present}");
    }
    assert!(m2m.contains("value=\"client_credentials\" checked"));
    assert!(!m2m.contains("value=\"authorization_code\""), "m2m is offered no code grant");
    assert!(has(main_part(&m2m), "jwks_uri") && !has(main_part(&m2m), "grant_types"), "grants under Advanced");

    let web = page(&mut b, &s, "/console/clients/new/web").await;
    assert!(web.contains("Redirect URIs</label> <span class=\"req\" aria-hidden=\"true\">(required)</span>"));
    assert!(has(main_part(&web), "redirect_uris_new") && has(main_part(&web), "require_consent"));
    assert!(web.contains("aria-required=\"true\" data-pending"), "the empty required list says so");
    for present in ["post_logout_redirect_uris_new", "allowed_groups_new", "refresh_token_lifetime", "require_pkce"] {
        assert!(has(&web, present) && !has(main_part(&web), present), "web has {present} under Advanced");
    }
    assert!(!web.contains("device_code"), "a web app is offered no device grant");

    let spa = page(&mut b, &s, "/console/clients/new/spa").await;
    assert!(!has(&spa, "token_endpoint_auth_method") && !has(&spa, "jwks_uri"), "public: no choice, no keys");
    assert!(spa.contains("None — public client with PKCE") && has(&spa, "redirect_uris_new"));
    assert!(!has(&spa, "require_pkce"), "PKCE is always on for public clients");

    let device = page(&mut b, &s, "/console/clients/new/device").await;
    assert!(device.contains("value=\"urn:ietf:params:oauth:grant-type:device_code\" checked"));
    assert!(!has(&device, "redirect_uris_new") && has(&device, "refresh_token_lifetime"));

    let connector = page(&mut b, &s, "/console/clients/new/connector").await;
    assert!(connector.contains("value=\"users:read\"") && !has(&connector, "redirect_uris_new"));

    let custom = page(&mut b, &s, "/console/clients/new/custom").await;
    for present in ["redirect_uris_new", "jwks_uri", "token_endpoint_auth_method", "refresh_reuse_grace"] {
        assert!(has(&custom, present), "custom has {present}");
    }
    assert!(custom.contains("device_code") && custom.contains("value=\"none\""));
    s.stop().await;
}

#[tokio::test]
async fn the_type_changes_without_script_and_keeps_what_was_typed() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let mut b = Browser::new();
    let csrf = sign_in(&s, &mut b, "admin", ADMIN_PASSWORD).await;
    let r = b
        .post(
            &s.url("/console/clients/new/web"),
            &[
                ("csrf", &csrf),
                ("type", "m2m"),
                ("switch_type", "1"),
                ("name", "Billing job"),
                ("description", "Nightly"),
                ("redirect_uris", "https://app.example/cb"),
                ("grant_types", "authorization_code"),
                ("token_endpoint_auth_method", "client_secret_basic"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Create Client — Machine to machine"));
    assert!(html.contains("action=\"/console/clients/new/m2m\""));
    assert_eq!(field(&html, "name"), "Billing job");
    assert!(html.contains(">Nightly</textarea>"));
    assert!(!has(&html, "redirect_uris_new"), "an m2m client has no redirect URIs");
    assert!(html.contains("value=\"client_credentials\" checked"), "the new type's grants");
    s.stop().await;
}

#[tokio::test]
async fn private_key_jwt_needs_keys_and_lifetimes_are_durations() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let mut b = Browser::new();
    let csrf = sign_in(&s, &mut b, "admin", ADMIN_PASSWORD).await;
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = vec![
            ("name", "Signer"),
            ("grant_types", "client_credentials"),
            ("token_endpoint_auth_method", "private_key_jwt"),
            ("access_token_format", "jwt"),
        ];
        f.extend_from_slice(extra);
        f
    };
    for (extra, anchor, message) in [
        (vec![], "jwks_uri", "needs the client&#39;s public keys"),
        (vec![("jwks", "{not json")], "jwks", "is not JSON"),
        (vec![("jwks", "[1, 2]")], "jwks", "must be a JWK Set"),
        (vec![("jwks_uri", "ftp://keys.example")], "jwks_uri", "absolute http(s) URL"),
        (
            vec![("jwks_uri", "https://k.example/jwks"), ("access_token_lifetime", "soon")],
            "access_token_lifetime",
            "enter a duration",
        ),
        (
            vec![("jwks_uri", "https://k.example/jwks"), ("access_token_lifetime", "2d")],
            "access_token_lifetime",
            "between 1",
        ),
        (
            vec![("jwks_uri", "https://k.example/jwks"), ("access_token_lifetime", "1h30")],
            "access_token_lifetime",
            "enter a duration",
        ),
    ] {
        let mut form = base(&extra);
        form.push(("csrf", &csrf));
        let r = b.post(&s.url("/console/clients/new/m2m"), &form).await;
        assert_eq!(r.status().as_u16(), 422, "{extra:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("<a href=\"#{anchor}\">")), "{extra:?}: summary links to {anchor}");
        assert!(html.contains(message), "{extra:?}: {message}");
        assert!(html.contains(&format!("id=\"{anchor}\"")), "{extra:?}: the field is on the page");
        assert_eq!(field(&html, "name"), "Signer", "what was typed is kept");
        if let Some((_, v)) = extra.iter().find(|(k, _)| *k == "access_token_lifetime") {
            assert_eq!(field(&html, "access_token_lifetime"), *v);
        }
    }
    let mut form = base(&[("jwks_uri", "https://keys.example/jwks.json"), ("access_token_lifetime", " 15 Min ")]);
    form.push(("csrf", &csrf));
    let r = b.post(&s.url("/console/clients/new/m2m"), &form).await;
    assert_eq!(r.status().as_u16(), 201);
    let html = r.text().await.unwrap();
    let id = html.split("/console/clients/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let v = api_client(&s, &id).await;
    assert_eq!(v["token_endpoint_auth_method"], "private_key_jwt", "{v}");
    assert_eq!(v["jwks_uri"], "https://keys.example/jwks.json");
    assert_eq!(v["access_token_lifetime"], 900);
    assert_eq!(v["redirect_uris"], serde_json::json!([]));

    let detail = page(&mut b, &s, &format!("/console/clients/{id}")).await;
    assert!(detail.contains("15\u{a0}min"), "lifetimes shown as durations");
    assert!(detail.contains("https://keys.example/jwks.json"));

    // Edit changes audiences, lifetimes and the keys; it shows them as durations.
    let edit = page(&mut b, &s, &format!("/console/clients/{id}/edit")).await;
    assert_eq!(field(&edit, "access_token_lifetime"), "15m");
    assert_eq!(field(&edit, "jwks_uri"), "https://keys.example/jwks.json");
    let revision = hidden(&edit, "revision");
    let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}]}"#;
    let r = b
        .post(
            &s.url(&format!("/console/clients/{id}/edit")),
            &[
                ("csrf", &csrf),
                ("revision", &revision),
                ("name", "Signer"),
                ("grant_types", "client_credentials"),
                ("token_endpoint_auth_method", "private_key_jwt"),
                ("jwks", jwks),
                ("access_token_lifetime", "1H"),
                ("audiences", "https://api.example"),
                ("access_token_format", "opaque"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let v = api_client(&s, &id).await;
    assert_eq!(v["access_token_lifetime"], 3600, "{v}");
    assert_eq!(v["audiences"], serde_json::json!(["https://api.example"]));
    assert_eq!(v["jwks_uri"], Value::Null);
    assert!(v["jwks"].as_str().is_some_and(|j| j.contains("\"k1\"")), "{v}");
    assert_eq!(v["access_token_format"], "opaque");
    s.stop().await;
}

#[tokio::test]
async fn edit_changes_every_field_the_details_show() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let mut b = Browser::new();
    let csrf = sign_in(&s, &mut b, "admin", ADMIN_PASSWORD).await;
    let r = b
        .post(
            &s.url("/console/clients/new/web"),
            &[
                ("csrf", &csrf),
                ("name", "Portal"),
                ("redirect_uris_new", "https://portal.example/cb"),
                ("grant_types", "authorization_code"),
                ("grant_types", "refresh_token"),
                ("token_endpoint_auth_method", "client_secret_basic"),
                ("access_token_format", "jwt"),
                ("require_pkce", "on"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    let token = admin_token(&s, "admin").await;
    let list: Value = get_json(s.url("/api/v1/clients?q=Portal"), token).await;
    let id = list["items"][0]["client_id"].as_str().unwrap().to_owned();
    let edit = page(&mut b, &s, &format!("/console/clients/{id}/edit")).await;
    assert!(edit.contains("Type: Web application"));
    assert!(!has(&edit, "switch_type"), "edit keeps the type");
    let revision = hidden(&edit, "revision");
    let post = |extra: Vec<(&'static str, &'static str)>| {
        let mut f: Vec<(&str, String)> = vec![
            ("csrf", csrf.clone()),
            ("revision", revision.clone()),
            ("name", "Portal".into()),
            ("redirect_uris", "https://portal.example/cb".into()),
            ("grant_types", "authorization_code".into()),
            ("grant_types", "refresh_token".into()),
            ("response_types", "code".into()),
            ("token_endpoint_auth_method", "client_secret_basic".into()),
            ("access_token_format", "jwt".into()),
            ("require_pkce", "on".into()),
        ];
        f.extend(extra.into_iter().map(|(k, v)| (k, v.to_owned())));
        f
    };
    // Bad durations: the form again, the message at the field, nothing saved.
    for (name, value) in
        [("refresh_token_lifetime", "forever"), ("id_token_lifetime", "5s"), ("refresh_reuse_grace", "10 years")]
    {
        let form = post(vec![(name, value)]);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b.post(&s.url(&format!("/console/clients/{id}/edit")), &form).await;
        assert_eq!(r.status().as_u16(), 422, "{name}={value}");
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("<a href=\"#{name}\">")), "{name}");
        assert!(html.contains("<details class=\"advanced\" open>"), "{name}: Advanced opens on its error");
        assert_eq!(field(&html, name), value);
    }
    let form = post(vec![
        ("refresh_token_lifetime", "7d"),
        ("id_token_lifetime", "30m"),
        ("refresh_rotate", "on"),
        ("refresh_reuse_grace", "1m30s"),
        ("allowed_groups_new", "staff"),
        ("audiences", "https://api.example"),
        ("post_logout_redirect_uris", "https://portal.example/bye"),
        ("require_consent", "on"),
    ]);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post(&s.url(&format!("/console/clients/{id}/edit")), &form).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let v = api_client(&s, &id).await;
    let c = &v;
    assert_eq!(c["refresh_token_lifetime"], 604_800, "{v}");
    assert_eq!(c["id_token_lifetime"], 1800);
    assert_eq!(c["refresh_token_policy"], serde_json::json!({"rotate": true, "reuse_grace_seconds": 90}));
    assert_eq!(c["allowed_groups"], serde_json::json!(["staff"]));
    assert_eq!(c["audiences"], serde_json::json!(["https://api.example"]));
    assert_eq!(c["require_consent"], true);
    let detail = page(&mut b, &s, &format!("/console/clients/{id}")).await;
    for shown in ["7\u{a0}d", "30\u{a0}min", "1\u{a0}min 30\u{a0}s", ">staff<", "https://api.example"] {
        assert!(detail.contains(shown), "details show {shown}");
    }
    s.stop().await;
}

#[tokio::test]
async fn search_finds_clients_by_redirect_uri_in_the_api_and_the_console() {
    let install = Install::new().await;
    let s = Server::start(&install).await;
    let token = admin_token(&s, "admin").await;
    for (name, uri) in [("Shop", "https://shop.example.com/Auth/Return"), ("Blog", "https://blog.example.org/cb")] {
        let r = http()
            .post(s.url("/api/v1/clients"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": name, "type": "web", "redirect_uris": [uri]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let names = |v: Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
    };
    for (q, want) in [
        ("shop.example.com%2Fauth", vec!["Shop"]),
        ("AUTH%2FRETURN", vec!["Shop"]),
        ("example.org", vec!["Blog"]),
        ("nowhere.example", vec![]),
    ] {
        let v: Value = get_json(s.url(&format!("/api/v1/clients?q={q}")), &token).await;
        assert_eq!(names(v), want, "q={q}");
    }
    let mut b = Browser::new();
    sign_in(&s, &mut b, "admin", ADMIN_PASSWORD).await;
    let html = page(&mut b, &s, "/console/clients?q=shop.example.com%2Fauth").await;
    assert!(html.contains(">Shop<") && !html.contains(">Blog<"), "the console list searches the same way");
    s.stop().await;
}
