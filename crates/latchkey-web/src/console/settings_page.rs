//! Settings: the tenant's own policy (lifetime bounds, legacy grants,
//! approved wildcard parents, secret maximum age), edited through
//! `TenantAdmin::update_own_settings` with the same checks as everywhere.

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use latchkey_app::AppError;
use serde_json::Value;

use super::view::Chrome;
use super::{Cx, enter, enter_post, field};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/console/settings", get(settings).post(save_settings))
}

// ---- settings -------------------------------------------------------------------

/// One number of the policy form.
struct NumberField {
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    c: Chrome,
    issuer: String,
    alg: String,
    numbers: Vec<NumberField>,
    legacy: bool,
    parents: String,
    parents_error: Option<String>,
    max_age: String,
    max_age_error: Option<String>,
    /// The error summary: the id of the field each message is about
    /// (empty when none has one) and the message with the field's label.
    errors: Vec<(String, String)>,
}

const LIFETIMES: [(&str, &str); 6] = [
    ("default_access_token_lifetime", "Default access token lifetime (seconds)"),
    ("max_access_token_lifetime", "Maximum access token lifetime (seconds)"),
    ("default_refresh_token_lifetime", "Default refresh token lifetime (seconds)"),
    ("max_refresh_token_lifetime", "Maximum refresh token lifetime (seconds)"),
    ("default_id_token_lifetime", "Default ID token lifetime (seconds)"),
    ("max_id_token_lifetime", "Maximum ID token lifetime (seconds)"),
];

fn settings_page(
    cx: &Cx,
    values: &[(String, String)],
    errors: &[latchkey_core::FieldError],
    flash: Option<&'static str>,
) -> Response {
    let err = |name: &str| {
        let m: Vec<&str> = errors
            .iter()
            .filter(|e| e.field.strip_prefix("settings.").unwrap_or(&e.field) == name)
            .map(|e| e.message.as_str())
            .collect();
        if m.is_empty() { None } else { Some(m.join("; ")) }
    };
    let numbers = LIFETIMES
        .iter()
        .map(|(name, label)| NumberField { name, label, value: field(values, name).to_owned(), error: err(name) })
        .collect();
    let page = SettingsPage {
        c: cx.chrome("settings", flash),
        issuer: cx.ctx.issuer.clone(),
        alg: format!("{:?}", cx.ctx.settings.access_token_alg).to_uppercase(),
        numbers,
        legacy: field(values, "legacy_grants_enabled") == "on",
        parents: field(values, "approved_wildcard_parents").to_owned(),
        parents_error: err("approved_wildcard_parents"),
        max_age: field(values, "secret_max_age_days").to_owned(),
        max_age_error: err("secret_max_age_days"),
        errors: errors
            .iter()
            .map(|e| {
                let name = e.field.strip_prefix("settings.").unwrap_or(&e.field);
                let label = LIFETIMES.iter().find(|(n, _)| *n == name).map(|(_, l)| *l).or(match name {
                    "approved_wildcard_parents" => Some("Approved wildcard parents"),
                    "secret_max_age_days" => Some("Secret maximum age (days)"),
                    "legacy_grants_enabled" => Some("Allow legacy grants"),
                    _ => None,
                });
                let anchor = if label.is_some() { name.to_owned() } else { String::new() };
                (anchor, format!("{}: {}", label.unwrap_or(name), e.message))
            })
            .collect(),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    cx.page(status, &page)
}

async fn settings(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, parts) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = &cx.ctx.settings;
    let mut values: Vec<(String, String)> = vec![
        ("default_access_token_lifetime".into(), t.default_access_token_lifetime.to_string()),
        ("max_access_token_lifetime".into(), t.max_access_token_lifetime.to_string()),
        ("default_refresh_token_lifetime".into(), t.default_refresh_token_lifetime.to_string()),
        ("max_refresh_token_lifetime".into(), t.max_refresh_token_lifetime.to_string()),
        ("default_id_token_lifetime".into(), t.default_id_token_lifetime.to_string()),
        ("max_id_token_lifetime".into(), t.max_id_token_lifetime.to_string()),
        ("approved_wildcard_parents".into(), t.approved_wildcard_parents.join(", ")),
        ("secret_max_age_days".into(), t.secret_max_age_days.map(|d| d.to_string()).unwrap_or_default()),
    ];
    if t.legacy_grants_enabled {
        values.push(("legacy_grants_enabled".into(), "on".into()));
    }
    let query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().take(10).collect();
    let flash = (field(&query, "m") == "saved").then_some("The tenant policy was saved.");
    settings_page(&cx, &values, &[], flash)
}

async fn save_settings(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    use latchkey_core::FieldError;
    let (cx, pairs) = match enter_post(&s, tenant, src, req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let mut patch = serde_json::Map::new();
    for (name, _) in LIFETIMES {
        match field(&pairs, name).trim().parse::<u32>() {
            Ok(v) => {
                patch.insert(name.into(), v.into());
            }
            Err(_) => errors.push(FieldError::new(name, "must be a whole number of seconds")),
        }
    }
    patch.insert("legacy_grants_enabled".into(), (field(&pairs, "legacy_grants_enabled") == "on").into());
    let parents: Vec<Value> = field(&pairs, "approved_wildcard_parents")
        .split([',', '\n', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Value::String(p.to_owned()))
        .collect();
    patch.insert("approved_wildcard_parents".into(), Value::Array(parents));
    match field(&pairs, "secret_max_age_days").trim() {
        "" => {
            patch.insert("secret_max_age_days".into(), Value::Null);
        }
        d => match d.parse::<u32>() {
            Ok(v) => {
                patch.insert("secret_max_age_days".into(), v.into());
            }
            Err(_) => errors.push(FieldError::new("secret_max_age_days", "must be a whole number of days, or empty")),
        },
    }
    if errors.is_empty() {
        match s.app.tenants.update_own_settings(&cx.ctx, &cx.user.actor, &Value::Object(patch)).await {
            Ok(_) => return cx.to("settings?m=saved"),
            Err(AppError::Validation(f)) => errors = f,
            Err(e) => return cx.app_error(e),
        }
    }
    settings_page(&cx, &pairs, &errors, None)
}
