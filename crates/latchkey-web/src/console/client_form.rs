//! Create and edit a client: the type choice leads here, the form has the
//! labels of SPEC §7, and validation messages come from the same rules as
//! the admin API (the service's field errors, shown beside their fields).
//!
//! The form is shaped by the client type ([`Shape`]): the fields the type
//! uses, required ones marked, the rest under "Advanced", and only the grant
//! types and authentication methods the server serves for it. On the create
//! form the type can be changed with a button (the page comes back for the
//! new type with what was typed); lifetimes are durations (`1h`, `30d`).
//!
//! The list fields (redirect URIs, logout redirect URIs, CORS origins,
//! scopes, audiences, allowed groups) each have an entry box and an **Add**
//! button. Without script the
//! button posts the form and it comes back with the value in the list; the
//! script does the same in place.

use askama::Template;
use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use latchkey_app::AppError;
use latchkey_app::admin::clients::{ClientView, NewClient};
use latchkey_core::rules::RESPONSE_TYPES;
use latchkey_core::{ClientType, FieldError, TokenEndpointAuthMethod};
use serde_json::json;

use super::client_form_state::{FormState, in_durations, list_shown};
use super::client_shape::Shape;
use super::view::{Chrome, grant_label, type_title};
use super::{Cx, duration, enter, enter_post, field};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/clients/new/{kind}", get(new_form).post(create))
        .route("/console/clients/{id}/edit", get(edit_form).post(update))
}

/// A checkbox or option.
pub(crate) struct Opt {
    pub value: String,
    pub label: String,
    pub checked: bool,
    pub legacy: bool,
}

#[derive(Template)]
#[template(path = "console/client_form.html")]
struct FormPage {
    c: Chrome,
    heading: String,
    kind: String,
    kind_title: &'static str,
    /// Every type, for the type switch of the create form (empty on edit).
    types: Vec<Opt>,
    action: String,
    submit: &'static str,
    cancel: String,
    f: FormState,
    shape: Shape,
    errors: Vec<FieldError>,
    grants: Vec<Opt>,
    response_types: Vec<Opt>,
    classes: Vec<Opt>,
    scope_names: Vec<String>,
    auth_methods: Vec<Opt>,
    /// The lifetime fields the type uses.
    lifetimes: Vec<LifetimeField>,
    warning: Option<String>,
    revision: i64,
}

/// A lifetime field: a duration, empty for the tenant's default.
struct LifetimeField {
    name: &'static str,
    label: &'static str,
    value: String,
    default: String,
    hint: String,
    advanced: bool,
}

/// Fields under "Advanced".
const ADVANCED: [&str; 13] = [
    "grant_types",
    "response_types",
    "post_logout_redirect_uris",
    "allowed_cors_origins",
    "audiences",
    "allowed_groups",
    "refresh_token_lifetime",
    "id_token_lifetime",
    "refresh_token_policy",
    "access_token_format",
    "require_pkce",
    "admin_role",
    "labels",
];

impl FormPage {
    /// The first message for a field (`redirect_uris[2]` counts as `redirect_uris`).
    fn err(&self, name: &str) -> Option<String> {
        let msgs: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| e.field.split(['[', '.']).next() == Some(name))
            .map(|e| e.message.as_str())
            .collect();
        if msgs.is_empty() { None } else { Some(msgs.join("; ")) }
    }

    /// Whether the list field `name` is in the main part (not "Advanced").
    fn main_list(&self, name: &str) -> bool {
        list_shown(&self.shape, name) && !ADVANCED.contains(&name)
    }

    /// Whether the list field `name` is under "Advanced".
    fn advanced_list(&self, name: &str) -> bool {
        list_shown(&self.shape, name) && ADVANCED.contains(&name)
    }

    /// Whether the list field `name` must have an entry.
    fn required(&self, name: &str) -> bool {
        name == "redirect_uris" && self.shape.redirect_required
    }

    /// "Advanced" opens by itself when one of its fields has an error.
    fn advanced_open(&self) -> bool {
        self.errors.iter().any(|e| ADVANCED.contains(&e.field.split(['[', '.']).next().unwrap_or("")))
    }

    /// Whether the key fields start visible (script hides them otherwise).
    fn private_key_jwt(&self) -> bool {
        self.f.auth_method == TokenEndpointAuthMethod::PrivateKeyJwt.as_str()
    }

    /// The only authentication method, when there is no choice.
    fn fixed_auth(&self) -> Option<&'static str> {
        match self.shape.auth_methods.as_slice() {
            [m] => Some(auth_label(*m)),
            _ => None,
        }
    }
}

/// The console's name of a field, for the error summary.
fn field_label(f: &str) -> &'static str {
    match f.split(['[', '.']).next().unwrap_or("") {
        "name" => "Client Name",
        "description" => "Description",
        "redirect_uris" => "Redirect URIs",
        "post_logout_redirect_uris" => "Allowed Logout Redirect URIs",
        "allowed_cors_origins" => "Allowed CORS Origins",
        "audiences" => "Audiences",
        "allowed_groups" => "Allowed Groups",
        "grant_types" => "Grant Types",
        "response_types" => "Response Types",
        "scopes" => "Scopes",
        "security_classes" => "Security Classes",
        "access_token_lifetime" => "Access Token Lifetime",
        "refresh_token_lifetime" => "Refresh Token Lifetime",
        "id_token_lifetime" => "ID Token Lifetime",
        "refresh_token_policy" => "Refresh Token Reuse Grace",
        "access_token_format" => "Access Token Format",
        "require_pkce" => "Require PKCE",
        "token_endpoint_auth_method" => "Client Authentication",
        "jwks" => "JWK Set",
        "jwks_uri" => "JWK Set URL",
        "admin_role" => "Admin Role",
        "labels" => "Labels",
        "force" => "Confirmation",
        _ => "Client",
    }
}

/// The id of the control the error summary links a field's message to
/// (the form's first control for messages about the client as a whole).
fn field_anchor(f: &str) -> &'static str {
    match f.split(['[', '.']).next().unwrap_or("") {
        "description" => "description",
        "redirect_uris" => "redirect_uris_new",
        "post_logout_redirect_uris" => "post_logout_redirect_uris_new",
        "allowed_cors_origins" => "allowed_cors_origins_new",
        "scopes" => "scopes_new",
        "audiences" => "audiences_new",
        "allowed_groups" => "allowed_groups_new",
        "grant_types" => "grant_types",
        "response_types" => "response_types",
        "security_classes" => "security_classes",
        "access_token_lifetime" => "access_token_lifetime",
        "refresh_token_lifetime" => "refresh_token_lifetime",
        "id_token_lifetime" => "id_token_lifetime",
        "refresh_token_policy" => "refresh_reuse_grace",
        "access_token_format" => "access_token_format",
        "require_pkce" => "require_pkce",
        "token_endpoint_auth_method" => "token_endpoint_auth_method",
        "jwks" => "jwks",
        "jwks_uri" => "jwks_uri",
        "admin_role" => "admin_role",
        "labels" => "labels",
        "force" => "force",
        _ => "name",
    }
}

impl FormPage {
    /// The error summary: each message with the control it is about.
    fn summary(&self) -> Vec<(&'static str, String)> {
        self.errors
            .iter()
            .map(|e| (field_anchor(&e.field), format!("{}: {}", field_label(&e.field), e.message)))
            .collect()
    }
}

fn auth_label(m: TokenEndpointAuthMethod) -> &'static str {
    match m {
        TokenEndpointAuthMethod::ClientSecretBasic => "Client secret (HTTP Basic)",
        TokenEndpointAuthMethod::ClientSecretPost => "Client secret (in the form body)",
        TokenEndpointAuthMethod::ClientSecretJwt => "Client secret JWT",
        TokenEndpointAuthMethod::PrivateKeyJwt => "Private key JWT",
        TokenEndpointAuthMethod::None => "None — public client with PKCE",
    }
}

struct Frame {
    heading: String,
    kind: ClientType,
    /// The create form offers a change of type.
    creating: bool,
    action: String,
    submit: &'static str,
    cancel: String,
    warning: Option<String>,
    revision: i64,
}

fn opt(value: &str, label: &str, checked: bool) -> Opt {
    Opt { value: value.into(), label: label.into(), checked, legacy: false }
}

async fn render(s: &AppState, cx: &Cx, frame: Frame, f: FormState, errors: Vec<FieldError>) -> Response {
    let scopes = match s.app.scopes.list_scopes(&cx.ctx).await {
        Ok(v) => v,
        Err(e) => return cx.app_error(e),
    };
    let classes = match s.app.scopes.list_classes(&cx.ctx).await {
        Ok(v) => v,
        Err(e) => return cx.app_error(e),
    };
    let settings = &cx.ctx.settings;
    let mut shape = Shape::of(frame.kind, settings);
    if !frame.creating {
        let browser_lists = f.lists.iter().any(|l| {
            matches!(l.name, "redirect_uris" | "post_logout_redirect_uris" | "allowed_cors_origins")
                && !l.items.is_empty()
        });
        shape.keep(&f.grant_types, &f.auth_method, browser_lists || !f.response_types.is_empty());
    }
    let grants = shape
        .grants
        .iter()
        .map(|g| Opt { legacy: g.is_legacy(), ..opt(g.as_str(), grant_label(*g), f.has_grant(*g)) })
        .collect();
    let response_types = RESPONSE_TYPES
        .iter()
        .filter(|r| {
            settings.legacy_grants_enabled
                || r.split(' ').any(|p| p == "code")
                || f.response_types.iter().any(|x| x == *r)
        })
        .map(|r| opt(r, r, f.response_types.iter().any(|x| x == r)))
        .collect();
    let class_opts = classes
        .iter()
        .map(|c| {
            let label =
                if c.description.is_empty() { c.name.clone() } else { format!("{} — {}", c.name, c.description) };
            opt(&c.name, &label, f.security_classes.contains(&c.name))
        })
        .collect();
    let auth_methods =
        shape.auth_methods.iter().map(|m| opt(m.as_str(), auth_label(*m), f.auth_method == m.as_str())).collect();
    let types = if frame.creating {
        ClientType::ALL.iter().map(|t| opt(t.as_str(), type_title(*t), *t == frame.kind)).collect()
    } else {
        Vec::new()
    };
    let lifetime = |name, label, value: &str, default, max, advanced| LifetimeField {
        name,
        label,
        value: value.to_owned(),
        default: duration::compact(default),
        hint: format!(
            "A duration such as 15m, 1h or 30d, between 1 min and {}; empty uses the tenant default ({}).",
            duration::human(max),
            duration::human(default)
        ),
        advanced,
    };
    let mut lifetimes = vec![lifetime(
        "access_token_lifetime",
        "Access Token Lifetime",
        &f.lifetime,
        settings.default_access_token_lifetime,
        settings.max_access_token_lifetime,
        false,
    )];
    if shape.refresh {
        lifetimes.push(lifetime(
            "refresh_token_lifetime",
            "Refresh Token Lifetime",
            &f.refresh_lifetime,
            settings.default_refresh_token_lifetime,
            settings.max_refresh_token_lifetime,
            true,
        ));
    }
    if shape.users {
        lifetimes.push(lifetime(
            "id_token_lifetime",
            "ID Token Lifetime",
            &f.id_lifetime,
            settings.default_id_token_lifetime,
            settings.max_id_token_lifetime,
            true,
        ));
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = FormPage {
        c: cx.chrome("clients", None),
        heading: frame.heading,
        kind: frame.kind.as_str().into(),
        kind_title: type_title(frame.kind),
        types,
        action: frame.action,
        submit: frame.submit,
        cancel: frame.cancel,
        f,
        shape,
        errors,
        grants,
        response_types,
        classes: class_opts,
        scope_names: scopes.into_iter().map(|s| s.name).collect(),
        auth_methods,
        lifetimes,
        warning: frame.warning,
        revision: frame.revision,
    };
    cx.page(status, &page)
}

fn create_frame(cx: &Cx, t: ClientType) -> Frame {
    Frame {
        heading: format!("Create Client — {}", type_title(t)),
        kind: t,
        creating: true,
        action: format!("{}/console/clients/new/{}", cx.base, t.as_str()),
        submit: "Create Client",
        cancel: format!("{}/console/clients/new", cx.base),
        warning: None,
        revision: 0,
    }
}

async fn new_form(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    let (cx, _) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !cx.can_write() {
        return cx.error(403, "Your role may read but not change anything.");
    }
    let Ok(t) = super::param(&params, "kind").parse::<ClientType>() else {
        return cx.error(404, "There is no such client type.");
    };
    let f = FormState::from_config("", "", &t.preset());
    render(&s, &cx, create_frame(&cx, t), f, Vec::new()).await
}

async fn create(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    let (cx, pairs) = match enter_post(&s, tenant, src, req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Ok(t) = super::param(&params, "kind").parse::<ClientType>() else {
        return cx.error(404, "There is no such client type.");
    };
    let mut f = FormState::from_post(&pairs);
    if field(&pairs, "switch_type") == "1" {
        // The page comes back for the chosen type with what was typed.
        let Ok(next) = field(&pairs, "type").parse::<ClientType>() else {
            return render(&s, &cx, create_frame(&cx, t), f, Vec::new()).await;
        };
        if next != t {
            f.take_preset(&next.preset());
        }
        return render(&s, &cx, create_frame(&cx, next), f, Vec::new()).await;
    }
    if f.list_buttons(&pairs) {
        return render(&s, &cx, create_frame(&cx, t), f, Vec::new()).await;
    }
    f.take_pending();
    let shape = Shape::of(t, &cx.ctx.settings);
    let config = match f.config_fields(&shape, true) {
        Ok(c) => c,
        Err(errors) => return render(&s, &cx, create_frame(&cx, t), f, errors).await,
    };
    let new = NewClient {
        name: f.name.clone(),
        description: f.description.clone(),
        client_type: Some(t),
        config,
        ..NewClient::default()
    };
    match s.app.clients.create_client(&cx.ctx, &cx.user.actor, new).await {
        Ok(created) => super::client_detail::secret_shown(&cx, &created.client, created.client_secret.as_deref(), true),
        Err(AppError::Validation(errors)) => {
            let errors = in_durations(errors, &cx.ctx.settings);
            render(&s, &cx, create_frame(&cx, t), f, errors).await
        }
        Err(AppError::Conflict(m)) => {
            render(&s, &cx, create_frame(&cx, t), f, vec![FieldError::new("name", &super::capitalize(&m))]).await
        }
        Err(e) => cx.app_error(e),
    }
}

fn edit_frame(cx: &Cx, c: &ClientView) -> Frame {
    let warning = if c.protected {
        Some("This is a protected default client that Latchkey itself depends on. Changing it can lock administrators out.".to_owned())
    } else {
        c.managed_by.as_ref().map(|m| {
            format!("This client is managed by the declarative file {m}: the next apply will undo a change made here.")
        })
    };
    Frame {
        heading: format!("Edit Client — {}", c.name),
        kind: c.client_type,
        creating: false,
        action: format!("{}/console/clients/{}/edit", cx.base, c.client_id),
        submit: "Save Changes",
        cancel: format!("{}/console/clients/{}", cx.base, c.client_id),
        warning,
        revision: c.revision,
    }
}

async fn edit_form(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    let (cx, _) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !cx.can_write() {
        return cx.error(403, "Your role may read but not change anything.");
    }
    let id = super::param(&params, "id");
    let c = match s.app.clients.get_client(&cx.ctx, &id).await {
        Ok(c) => c,
        Err(e) => return cx.app_error(e),
    };
    let f = FormState::from_config(&c.name, &c.description, &c.config);
    render(&s, &cx, edit_frame(&cx, &c), f, Vec::new()).await
}

async fn update(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    let (cx, pairs) = match enter_post(&s, tenant, src, req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = super::param(&params, "id");
    let c = match s.app.clients.get_client(&cx.ctx, &id).await {
        Ok(c) => c,
        Err(e) => return cx.app_error(e),
    };
    let mut frame = edit_frame(&cx, &c);
    let Ok(revision) = field(&pairs, "revision").parse::<i64>() else {
        return cx.error(400, "The form lacks the client's revision. Reload the page and try again.");
    };
    frame.revision = revision;
    let mut f = FormState::from_post(&pairs);
    if f.list_buttons(&pairs) {
        return render(&s, &cx, frame, f, Vec::new()).await;
    }
    f.take_pending();
    let force = field(&pairs, "force") == "on";
    if frame.warning.is_some() && !force {
        let e = FieldError::new("force", "confirm that you want to change this client anyway");
        return render(&s, &cx, frame, f, vec![e]).await;
    }
    // The shape the edit form was shown with: the type's, widened by what
    // the client already has.
    let mut shape = Shape::of(c.client_type, &cx.ctx.settings);
    let current = FormState::from_config(&c.name, &c.description, &c.config);
    let browser_lists = !c.config.redirect_uris.is_empty()
        || !c.config.post_logout_redirect_uris.is_empty()
        || !c.config.allowed_cors_origins.is_empty()
        || !c.config.response_types.is_empty();
    shape.keep(&current.grant_types, &current.auth_method, browser_lists);
    let mut patch = match f.config_fields(&shape, false) {
        Ok(c) => c,
        Err(errors) => return render(&s, &cx, frame, f, errors).await,
    };
    patch.insert("name".into(), json!(f.name));
    patch.insert("description".into(), json!(f.description));
    match s.app.clients.update_client(&cx.ctx, &cx.user.actor, &id, &patch, Some(revision), force).await {
        Ok(updated) if updated.client_secret.is_some() => {
            super::client_detail::secret_shown(&cx, &updated.client, updated.client_secret.as_deref(), false)
        }
        Ok(_) => cx.to(&format!("clients/{id}?m=updated")),
        Err(AppError::Validation(errors)) => {
            let errors = in_durations(errors, &cx.ctx.settings);
            render(&s, &cx, frame, f, errors).await
        }
        Err(e) => cx.app_error(e),
    }
}
