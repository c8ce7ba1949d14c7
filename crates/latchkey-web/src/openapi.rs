//! The OpenAPI 3.1 document of the admin API (and the OAuth endpoints),
//! generated from the handlers' `#[utoipa::path]` annotations and the
//! request/response types' `ToSchema` derives. Served at
//! `/api/v1/openapi.json`; a self-contained reference page renders it at
//! `/api/docs`. `docs/openapi.json` is a snapshot a test compares.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use utoipa::openapi::security::{
    AuthorizationCode, ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, SecurityScheme,
};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{InfoBuilder, LicenseBuilder};
use utoipa::{Modify, OpenApi};

use crate::admin_api::responses::{
    BadGateway, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed, ServiceUnavailable,
    TooManyRequests, Unauthorized, UnsupportedMediaType, ValidationFailed,
};
use crate::error::Problem;
use crate::{ApiDocument, AppState};

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::admin_api::clients::list_clients,
        crate::admin_api::clients::create_client,
        crate::admin_api::clients::create_clients,
        crate::admin_api::clients::get_client,
        crate::admin_api::clients::update_client,
        crate::admin_api::clients::delete_client,
        crate::admin_api::clients::disable_client,
        crate::admin_api::clients::enable_client,
        crate::admin_api::clients::test_redirect,
        crate::admin_api::secrets::list_secrets,
        crate::admin_api::secrets::add_secret,
        crate::admin_api::secrets::rotate_secret,
        crate::admin_api::secrets::revoke_secret,
        crate::admin_api::scopes::list_scopes,
        crate::admin_api::scopes::create_scope,
        crate::admin_api::scopes::get_scope,
        crate::admin_api::scopes::update_scope,
        crate::admin_api::scopes::delete_scope,
        crate::admin_api::classes::list_classes,
        crate::admin_api::classes::create_class,
        crate::admin_api::classes::get_class,
        crate::admin_api::classes::update_class,
        crate::admin_api::classes::delete_class,
        crate::admin_api::audit::list_audit,
        crate::admin_api::keys::list_keys,
        crate::admin_api::keys::rotate_keys,
        crate::admin_api::users::list_users,
        crate::admin_api::users::create_user,
        crate::admin_api::users::get_user,
        crate::admin_api::users::update_user,
        crate::admin_api::users::reset_password,
        crate::admin_api::users::disable_user,
        crate::admin_api::users::enable_user,
        crate::admin_api::tenants::list_tenants,
        crate::admin_api::tenants::create_tenant,
        crate::admin_api::tenants::get_tenant,
        crate::admin_api::tenants::update_tenant,
        crate::admin_api::tenants::delete_tenant,
        crate::admin_api::tenants::disable_tenant,
        crate::admin_api::tenants::enable_tenant,
        crate::admin_api::users::list_consents,
        crate::admin_api::users::revoke_consent,
        crate::admin_api::providers::list_providers,
        crate::admin_api::providers::create_provider,
        crate::admin_api::providers::get_provider,
        crate::admin_api::providers::update_provider,
        crate::admin_api::providers::delete_provider,
        crate::admin_api::remote_clients::list_remote_clients,
        crate::admin_api::remote_clients::create_remote_client,
        crate::admin_api::remote_clients::get_rc,
        crate::admin_api::remote_clients::update_rc,
        crate::admin_api::remote_clients::delete_rc,
        crate::admin_api::remote_clients::set_remote_secret,
        crate::admin_api::authorizations::list_authorizations,
        crate::admin_api::authorizations::create_authorization,
        crate::admin_api::authorizations::get_authorization,
        crate::admin_api::authorizations::delete_authorization,
        crate::admin_api::authorizations::authorization_token,
        crate::admin_api::authorizations::authorize_authorization,
        crate::admin_api::authorizations::refresh_authorization,
        crate::admin_api::users::list_federated_links,
        crate::admin_api::users::unlink_federated,
        crate::admin_api::meta::openapi_json,
        crate::admin_api::meta::me,
        crate::oauth::token::token,
        crate::oauth::device::device_authorization,
        crate::oauth::introspect::introspect,
        crate::oauth::revoke::revoke,
        crate::oauth::userinfo::userinfo,
        crate::oauth::userinfo::userinfo_post,
        crate::oauth::discovery::metadata,
        crate::oauth::discovery::oauth_metadata,
        crate::oauth::discovery::tenant_metadata,
        crate::oauth::discovery::tenant_oauth_metadata,
        crate::oauth::discovery::jwks,
    ),
    components(
        schemas(Problem, latchkey_core::FieldError, latchkey_app::admin::client_search::ClientSortOrder),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PreconditionFailed,
            PayloadTooLarge,
            UnsupportedMediaType,
            ValidationFailed,
            BadGateway,
            TooManyRequests,
            ServiceUnavailable,
        )
    ),
    tags(
        (name = "clients", description = "OAuth clients: create, read, search, update, enable, disable, delete."),
        (name = "secrets", description = "Client secrets: generated or imported, shown once, stored as an HMAC; rotation with a grace period."),
        (name = "scopes", description = "The tenant's scope catalogue. A scope in use cannot be deleted."),
        (name = "security-classes", description = "Named bundles of scopes a client can belong to."),
        (name = "audit", description = "The audit log: every mutation, with its before/after diff."),
        (name = "keys", description = "The tenant's signing keys (public parts) and their rotation."),
        (name = "users", description = "People who sign in: argon2id passwords, roles (owner, tenant-admin, viewer) and groups."),
        (name = "tenants", description = "Tenants, each with its own issuer, keys, clients, users and audit log: managed by the owners of the default tenant."),
        (name = "providers", description = "Upstream authorization servers Latchkey is a client of (discovery behind an SSRF guard, or explicit endpoints)."),
        (name = "remote-clients", description = "Credentials registered at a provider, by namespace and name; secrets are write-only and stored encrypted."),
        (name = "authorizations", description = "Grants obtained with a remote client; internal callers fetch a current access token (a writing role with scope `admin`, or `authorizations:token`, or `authorizations:token:<namespace>` for one namespace)."),
        (name = "meta", description = "This document, and who the caller is."),
        (name = "oauth", description = "The OAuth 2.0 protocol endpoints (RFC 6749, RFC 7662, RFC 7009) and discovery (RFC 8414, OIDC Discovery, RFC 7517). Errors follow RFC 6749 §5.2."),
    ),
    modifiers(&Meta)
)]
struct ApiDoc;

/// Info, servers and security schemes: what the derive cannot say.
struct Meta;

/// The token endpoint, relative to the server (every tenant has its own).
const TOKEN_URL: &str = "/oauth2/token";

const DESCRIPTION: &str = "The admin REST API of Latchkey, an OAuth 2.0 / OpenID Connect authorization server.\n\n\
Authenticate with a bearer access token of this tenant (security scheme `oauth2`), e.g. obtained with \
client_credentials at `/oauth2/token`: scope `admin` may change things, `admin:read` may only look. Errors are RFC 9457 problem details (`application/problem+json`); \
validation errors list every offending field in `errors`. Clients carry an `ETag` (their revision); updates \
honour `If-Match` and answer 412 when it is stale.\n\n\
Every path is also served under `/t/{tenant}` for the other tenants of a multi-tenant installation. List operations take `limit` (1-500, default 50; other values are refused with 400) and \
return `next_cursor`; creations answer 201 with the new resource's address in `Location`.";

impl Modify for Meta {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.info = InfoBuilder::new()
            .title("Latchkey admin API")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(DESCRIPTION))
            .license(Some(
                LicenseBuilder::new()
                    .name(env!("CARGO_PKG_LICENSE"))
                    .identifier(Some(env!("CARGO_PKG_LICENSE")))
                    .build(),
            ))
            .build();
        doc.servers = Some(vec![
            ServerBuilder::new()
                .url("/")
                .description(Some("The default tenant, on the server this document was read from"))
                .build(),
        ]);
        let components = doc.components.get_or_insert_with(Default::default);
        let admin_scopes = [
            ("admin", "Read and change everything the caller's role allows"),
            ("admin:read", "Read only"),
            (
                "authorizations:token",
                "Take tokens of the authorizations (`authorizations:token:<namespace>`: of one namespace)",
            ),
        ];
        let person_scopes = [
            ("openid", "OpenID Connect: the user's `sub`, and the userinfo endpoint"),
            ("profile", "The user's name and username"),
            ("email", "The user's email address"),
            ("admin", "Administer with the user's role"),
            ("admin:read", "Look, with the user's role, without changing anything"),
        ];
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [
                    Flow::ClientCredentials(ClientCredentials::new(TOKEN_URL, admin_scopes.into_iter().collect())),
                    Flow::AuthorizationCode(AuthorizationCode::new(
                        "/oauth2/authorize",
                        TOKEN_URL,
                        person_scopes.into_iter().collect(),
                    )),
                ],
                "An access token issued by this tenant, sent as `Authorization: Bearer`. Services obtain one with \
                 client_credentials (a client with an `admin_role`); people with the authorization code flow or the \
                 device flow (`latchkey login`). Scope `admin` may change things, `admin:read` may only look; what \
                 either may touch is bounded by the caller's role.",
            )),
        );
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some(
            "client_secret_basic (RFC 6749 §2.3.1); client_secret_post puts the same credentials in the form.".into(),
        );
        components.add_security_scheme("client_basic", SecurityScheme::Http(basic));
        // Every authenticated admin operation may be rate limited or find the server busy.
        for (path, item) in &mut doc.paths.paths {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten().filter(|op| op.security.as_ref().is_some_and(|s| !s.is_empty())) {
                for (status, name) in [("429", "TooManyRequests"), ("503", "ServiceUnavailable")] {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| utoipa::openapi::RefOr::Ref(utoipa::openapi::Ref::from_response_name(name)));
                }
            }
        }
    }
}

/// The OpenAPI document, as an object.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document as pretty-printed JSON (what `docs/openapi.json` holds).
#[must_use]
pub fn document() -> String {
    let mut s = openapi().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

static API: LazyLock<ApiDocument> = LazyLock::new(|| {
    let json = document();
    let value = serde_json::from_str(&json).unwrap_or(Value::Null);
    ApiDocument { json, value }
});
static DOCS_HTML: LazyLock<String> = LazyLock::new(|| render_html(&API.value));

/// The document as the handlers serve it and check requests against it, built once.
pub(crate) fn served() -> &'static ApiDocument {
    &API
}

/// The reference page and its stylesheet (unauthenticated, like the document).
pub(crate) fn routes() -> Router<AppState> {
    // Built now rather than on the first request.
    LazyLock::force(&DOCS_HTML);
    Router::new().route("/api/docs", get(docs_page)).route("/api/docs.css", get(docs_css))
}

async fn docs_page() -> Response {
    let mut r = DOCS_HTML.as_str().into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}

async fn docs_css() -> Response {
    let mut r = DOCS_CSS.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}

const DOCS_CSS: &str = "\
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg-alt: #f5f7fa; --accent: #2456c7; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: var(--fg); display: flex; }
nav { position: sticky; top: 0; height: 100vh; overflow-y: auto; width: 19rem; flex: none; padding: 1rem; border-right: 1px solid var(--line); background: var(--bg-alt); font-size: 13px; }
nav ul { list-style: none; padding-left: 0.6rem; margin: 0.2rem 0 0.6rem; }
nav > ul { padding-left: 0; }
nav a { color: var(--fg); text-decoration: none; }
nav a:hover { color: var(--accent); }
main { flex: 1; min-width: 0; padding: 1rem 2rem 4rem; max-width: 70rem; }
h1 { margin-top: 0.3rem; } h2 { border-bottom: 2px solid var(--line); padding-bottom: 0.2rem; margin-top: 2.5rem; }
h3 { margin: 0 0 0.4rem; font-size: 1.05rem; } h4 { margin: 0.9rem 0 0.3rem; font-size: 0.95rem; }
.version { color: var(--muted); font-size: 1rem; font-weight: normal; }
article { border: 1px solid var(--line); border-radius: 6px; padding: 0.8rem 1rem; margin: 1rem 0; }
pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--bg-alt); padding: 0.5rem 0.7rem; border-radius: 4px; overflow-x: auto; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--bg-alt); padding: 0 0.2rem; border-radius: 3px; }
.method { display: inline-block; min-width: 4.2rem; text-align: center; font: bold 12px/1.6 ui-monospace, monospace; color: #fff; border-radius: 4px; padding: 0 0.3rem; margin-right: 0.4rem; }
.get { background: #2f7d46; } .post { background: #2456c7; } .patch { background: #a3661a; } .delete { background: #b3312d; } .put { background: #6b3fb0; }
nav .method { min-width: 3.4rem; font-size: 10px; }
.summary { font-weight: 600; margin: 0.2rem 0; } .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 0.3rem 0; font-size: 14px; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); padding: 0.25rem 0.5rem; }
th { background: var(--bg-alt); font-weight: 600; }
td:first-child { white-space: nowrap; }
.req { color: #b3312d; font-size: 12px; }
";

// ---- the reference page -------------------------------------------------

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text and renders `code` spans.
fn inline(s: &str) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { format!("<code>{}</code>", esc(part)) } else { esc(part) })
        .collect()
}

/// Paragraphs of a description.
fn paragraphs(s: &str) -> String {
    s.split("\n\n").filter(|p| !p.trim().is_empty()).map(|p| format!("<p>{}</p>\n", inline(p.trim()))).collect()
}

fn anchor(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
}

fn ref_name(r: &str) -> &str {
    r.rsplit('/').next().unwrap_or(r)
}

/// A one-line, linked rendering of a schema's type.
fn type_html(schema: &Value) -> String {
    let Some(obj) = schema.as_object() else { return "any".into() };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let n = ref_name(r);
        return format!("<a href=\"#schema-{}\">{}</a>", anchor(n), esc(n));
    }
    for (key, sep) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " &amp; ")] {
        if let Some(list) = obj.get(key).and_then(Value::as_array) {
            return list.iter().map(type_html).collect::<Vec<_>>().join(sep);
        }
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        return values.iter().map(|v| format!("<code>{}</code>", esc(&v.to_string()))).collect::<Vec<_>>().join(" | ");
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.is_empty() {
        return if obj.contains_key("properties") { "object".into() } else { "any".into() };
    }
    types
        .iter()
        .map(|t| match *t {
            "array" => {
                let items = obj.get("items").map_or_else(|| "any".into(), type_html);
                let unique =
                    if obj.get("uniqueItems").and_then(Value::as_bool) == Some(true) { "set" } else { "array" };
                format!("{unique} of {items}")
            }
            "object" => match obj.get("additionalProperties") {
                Some(Value::Object(a)) if !a.is_empty() => format!("map of {}", type_html(&Value::Object(a.clone()))),
                _ => "object".into(),
            },
            other => {
                let format =
                    obj.get("format").and_then(Value::as_str).map(|f| format!(" ({})", esc(f))).unwrap_or_default();
                format!("{}{format}", esc(other))
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Constraints worth showing beside a type.
fn constraints(schema: &Value) -> String {
    let mut out = Vec::new();
    for (key, label) in [
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("pattern", "pattern"),
        ("default", "default"),
    ] {
        if let Some(v) = schema.get(key) {
            out.push(format!("{label} <code>{}</code>", esc(&v.to_string())));
        }
    }
    if out.is_empty() { String::new() } else { format!("<br><span class=\"muted\">{}</span>", out.join(", ")) }
}

fn properties_table(obj: &serde_json::Map<String, Value>) -> String {
    let Some(props) = obj.get("properties").and_then(Value::as_object) else { return String::new() };
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = String::from("<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>\n");
    for (name, p) in props {
        let req = if required.contains(&name.as_str()) { " <span class=\"req\">required</span>" } else { "" };
        let desc = p.get("description").and_then(Value::as_str).map(inline).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code>{req}</td><td>{}{}</td><td>{desc}</td></tr>",
            esc(name),
            type_html(p),
            constraints(p)
        );
    }
    out.push_str("</table>\n");
    out
}

/// A schema in full: its fields, or what it is composed of.
fn schema_detail(schema: &Value) -> String {
    let Some(obj) = schema.as_object() else { return String::new() };
    let mut out = String::new();
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        for part in all {
            match part.get("$ref") {
                Some(_) => {
                    let _ = writeln!(out, "<p>All the fields of {}, and:</p>", type_html(part));
                }
                None => out.push_str(&schema_detail(part)),
            }
        }
        return out;
    }
    if obj.contains_key("properties") {
        out.push_str(&properties_table(obj));
    } else {
        let _ = writeln!(out, "<p>{}{}</p>", type_html(schema), constraints(schema));
    }
    out
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with("#/components/responses/") => {
            doc.pointer(&format!("/components/responses/{}", ref_name(r))).unwrap_or(v)
        }
        _ => v,
    }
}

fn content_html(content: Option<&Value>) -> String {
    let Some(content) = content.and_then(Value::as_object) else { return "<span class=\"muted\">none</span>".into() };
    content
        .iter()
        .map(|(ctype, media)| {
            let schema = media.get("schema").map(type_html).unwrap_or_default();
            format!("<code>{}</code> {schema}", esc(ctype))
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn security_html(op: &Value) -> String {
    let Some(reqs) = op.get("security").and_then(Value::as_array) else {
        return "<p class=\"muted\">No authentication.</p>\n".into();
    };
    let alternatives: Vec<String> = reqs
        .iter()
        .filter_map(Value::as_object)
        .map(|req| {
            if req.is_empty() {
                return "none (credentials in the form)".into();
            }
            req.iter()
                .map(|(scheme, scopes)| {
                    let scopes: Vec<String> = scopes
                        .as_array()
                        .map(|s| {
                            s.iter().filter_map(Value::as_str).map(|s| format!("<code>{}</code>", esc(s))).collect()
                        })
                        .unwrap_or_default();
                    if scopes.is_empty() {
                        esc(scheme)
                    } else {
                        format!("{} with scope {}", esc(scheme), scopes.join(" or "))
                    }
                })
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .collect();
    format!("<p><strong>Authentication:</strong> {}</p>\n", alternatives.join("; or "))
}

fn operation_html(doc: &Value, method: &str, path: &str, op: &Value) -> String {
    let id = op.get("operationId").and_then(Value::as_str).unwrap_or(path);
    let mut out = format!(
        "<article id=\"op-{}\">\n<h3><span class=\"method {method}\">{}</span><code>{}</code></h3>\n",
        anchor(id),
        method.to_uppercase(),
        esc(path)
    );
    if let Some(s) = op.get("summary").and_then(Value::as_str) {
        let _ = writeln!(out, "<p class=\"summary\">{}</p>", inline(s));
    }
    if let Some(d) = op.get("description").and_then(Value::as_str) {
        out.push_str(&paragraphs(d));
    }
    out.push_str(&security_html(op));
    if let Some(params) = op.get("parameters").and_then(Value::as_array).filter(|p| !p.is_empty()) {
        out.push_str(
            "<h4>Parameters</h4>\n<table><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr>\n",
        );
        for p in params {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            let req = if p.get("required").and_then(Value::as_bool) == Some(true) {
                " <span class=\"req\">required</span>"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code>{req}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(name),
                esc(p.get("in").and_then(Value::as_str).unwrap_or("")),
                p.get("schema").map(type_html).unwrap_or_default(),
                p.get("description").and_then(Value::as_str).map(inline).unwrap_or_default()
            );
        }
        out.push_str("</table>\n");
    }
    if let Some(body) = op.get("requestBody") {
        let _ = writeln!(out, "<h4>Request body</h4>\n<p>{}</p>", content_html(body.get("content")));
        for (ctype, media) in body.get("content").and_then(Value::as_object).into_iter().flatten() {
            if let Some(example) = media.get("example") {
                let pretty = serde_json::to_string_pretty(example).unwrap_or_default();
                let _ = writeln!(out, "<p class=\"muted\">Example ({}):</p>\n<pre>{}</pre>", esc(ctype), esc(&pretty));
            }
        }
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<h4>Responses</h4>\n<table><tr><th>Status</th><th>Description</th><th>Body</th></tr>\n");
        for (status, r) in responses {
            let r = resolve(doc, r);
            let desc = r.get("description").and_then(Value::as_str).map(inline).unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{desc}</td><td>{}</td></tr>",
                esc(status),
                content_html(r.get("content"))
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</article>\n");
    out
}

/// The reference page: operations grouped by tag, then every schema.
fn render_html(doc: &Value) -> String {
    let title = doc.pointer("/info/title").and_then(Value::as_str).unwrap_or("API");
    let version = doc.pointer("/info/version").and_then(Value::as_str).unwrap_or("");
    let empty = serde_json::Map::new();
    let paths = doc.get("paths").and_then(Value::as_object).unwrap_or(&empty);
    let schemas = doc.pointer("/components/schemas").and_then(Value::as_object).unwrap_or(&empty);
    let tags: Vec<(&str, &str)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|t| {
                    Some((t.get("name")?.as_str()?, t.get("description").and_then(Value::as_str).unwrap_or("")))
                })
                .collect()
        })
        .unwrap_or_default();
    // (tag, method, path, operation), in document order.
    let mut ops: Vec<(&str, &str, &str, &Value)> = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                let tag = op.pointer("/tags/0").and_then(Value::as_str).unwrap_or("other");
                ops.push((tag, method, path, op));
            }
        }
    }

    let mut nav = String::from("<nav>\n<ul>\n");
    let mut main = String::new();
    let _ = writeln!(
        main,
        "<h1>{} <span class=\"version\">{}</span></h1>\n{}<p>The machine-readable document: <a href=\"/api/v1/openapi.json\"><code>/api/v1/openapi.json</code></a> (OpenAPI {}).</p>",
        esc(title),
        esc(version),
        paragraphs(doc.pointer("/info/description").and_then(Value::as_str).unwrap_or("")),
        esc(doc.get("openapi").and_then(Value::as_str).unwrap_or(""))
    );
    for (tag, desc) in &tags {
        let tagged: Vec<_> = ops.iter().filter(|(t, ..)| t == tag).collect();
        if tagged.is_empty() {
            continue;
        }
        let _ = writeln!(nav, "<li><a href=\"#tag-{}\">{}</a>\n<ul>", anchor(tag), esc(tag));
        let _ = writeln!(main, "<section id=\"tag-{}\">\n<h2>{}</h2>\n{}", anchor(tag), esc(tag), paragraphs(desc));
        for (_, method, path, op) in tagged {
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or(path);
            let _ = writeln!(
                nav,
                "<li><a href=\"#op-{}\"><span class=\"method {method}\">{}</span>{}</a></li>",
                anchor(id),
                method.to_uppercase(),
                esc(path)
            );
            main.push_str(&operation_html(doc, method, path, op));
        }
        nav.push_str("</ul></li>\n");
        main.push_str("</section>\n");
    }
    nav.push_str("<li><a href=\"#schemas\">Schemas</a>\n<ul>\n");
    main.push_str("<section id=\"schemas\">\n<h2>Schemas</h2>\n");
    for (name, schema) in schemas {
        let _ = writeln!(nav, "<li><a href=\"#schema-{}\">{}</a></li>", anchor(name), esc(name));
        let _ = writeln!(main, "<article id=\"schema-{}\">\n<h3>{}</h3>", anchor(name), esc(name));
        if let Some(d) = schema.get("description").and_then(Value::as_str) {
            main.push_str(&paragraphs(d));
        }
        main.push_str(&schema_detail(schema));
        main.push_str("</article>\n");
    }
    nav.push_str("</ul></li>\n</ul>\n</nav>\n");
    main.push_str("</section>\n");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} {}</title>\n<link rel=\"stylesheet\" href=\"/api/docs.css\">\n</head>\n<body>\n{nav}<main>\n{main}</main>\n</body>\n</html>\n",
        esc(title),
        esc(version)
    )
}

#[cfg(test)]
mod tests;
