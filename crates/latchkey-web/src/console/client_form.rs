//! Create and edit a client: the type choice leads here, the form has the
//! labels of SPEC §7, and validation messages come from the same rules as
//! the admin API (the service's field errors, shown beside their fields).
//!
//! The list fields (redirect URIs, logout redirect URIs, CORS origins,
//! scopes) each have an entry box and an **Add** button. Without script the
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
use latchkey_core::{ClientConfig, ClientType, FieldError, GrantType, TokenEndpointAuthMethod};
use serde_json::{Map, Value, json};

use super::view::{Chrome, grant_label, type_title};
use super::{Cx, enter, enter_post, field, fields};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/clients/new/{kind}", get(new_form).post(create))
        .route("/console/clients/{id}/edit", get(edit_form).post(update))
}

/// One list field of the form.
pub(crate) struct ListField {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub items: Vec<String>,
    pub pending: String,
}

/// A checkbox or option.
pub(crate) struct Opt {
    pub value: String,
    pub label: String,
    pub checked: bool,
    pub legacy: bool,
}

/// The form's values, from a client or from a post.
pub(crate) struct FormState {
    pub name: String,
    pub description: String,
    pub lists: Vec<ListField>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub security_classes: Vec<String>,
    pub auth_method: String,
    pub lifetime: String,
    pub format: String,
    pub require_consent: bool,
    pub require_pkce: bool,
    pub labels: String,
    /// `""` (none), `viewer`, `tenant-admin` or `owner`.
    pub admin_role: String,
}

const LISTS: [(&str, &str, &str); 4] = [
    (
        "redirect_uris",
        "Redirect URIs",
        "Where the authorization server may send the user back: https, or http on loopback, or a private-use scheme for native apps.",
    ),
    (
        "post_logout_redirect_uris",
        "Allowed Logout Redirect URIs",
        "Where the application may send the user after signing out.",
    ),
    (
        "allowed_cors_origins",
        "Allowed CORS Origins",
        "Origins (scheme://host[:port]) that may call the token, userinfo, revocation and introspection endpoints from a browser.",
    ),
    ("scopes", "Scopes", "Scopes the client may request; each must exist in this tenant's catalogue."),
];

impl FormState {
    fn from_config(name: &str, description: &str, c: &ClientConfig) -> Self {
        let list = |n: &str| -> Vec<String> {
            match n {
                "redirect_uris" => c.redirect_uris.iter().map(|u| u.as_str().to_owned()).collect(),
                "post_logout_redirect_uris" => {
                    c.post_logout_redirect_uris.iter().map(|u| u.as_str().to_owned()).collect()
                }
                "allowed_cors_origins" => c.allowed_cors_origins.iter().map(|o| o.as_str().to_owned()).collect(),
                _ => c.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            }
        };
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            lists: LISTS
                .iter()
                .map(|(n, l, h)| ListField { name: n, label: l, hint: h, items: list(n), pending: String::new() })
                .collect(),
            grant_types: c.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            response_types: c.response_types.clone(),
            security_classes: c.security_classes.clone(),
            auth_method: c.token_endpoint_auth_method.as_str().to_owned(),
            lifetime: c.access_token_lifetime.map(|l| l.to_string()).unwrap_or_default(),
            format: serde_json::to_value(c.access_token_format)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            require_consent: c.require_consent,
            require_pkce: c.require_pkce,
            labels: c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
            admin_role: c.admin_role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        }
    }

    fn from_post(pairs: &[(String, String)]) -> Self {
        let owned = |v: Vec<&str>| v.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        Self {
            name: field(pairs, "name").to_owned(),
            description: field(pairs, "description").to_owned(),
            lists: LISTS
                .iter()
                .map(|(n, l, h)| ListField {
                    name: n,
                    label: l,
                    hint: h,
                    items: owned(fields(pairs, n)),
                    pending: field(pairs, &format!("{n}_new")).trim().to_owned(),
                })
                .collect(),
            grant_types: owned(fields(pairs, "grant_types")),
            response_types: owned(fields(pairs, "response_types")),
            security_classes: owned(fields(pairs, "security_classes")),
            auth_method: field(pairs, "token_endpoint_auth_method").to_owned(),
            lifetime: field(pairs, "access_token_lifetime").trim().to_owned(),
            format: field(pairs, "access_token_format").to_owned(),
            require_consent: field(pairs, "require_consent") == "on",
            require_pkce: field(pairs, "require_pkce") == "on",
            labels: field(pairs, "labels").to_owned(),
            admin_role: field(pairs, "admin_role").to_owned(),
        }
    }

    /// Handles an Add or Remove button; `true` when one was pressed.
    fn list_buttons(&mut self, pairs: &[(String, String)]) -> bool {
        let add = field(pairs, "add");
        let remove = field(pairs, "remove");
        if let Some(l) = self.lists.iter_mut().find(|l| l.name == add) {
            let v = std::mem::take(&mut l.pending);
            if !v.is_empty() && !l.items.contains(&v) {
                l.items.push(v);
            }
            return true;
        }
        if let Some((name, idx)) = remove.split_once(':')
            && let Some(l) = self.lists.iter_mut().find(|l| l.name == name)
        {
            if let Ok(i) = idx.parse::<usize>()
                && i < l.items.len()
            {
                l.items.remove(i);
            }
            return true;
        }
        false
    }

    /// Entries typed but not added count as added.
    fn take_pending(&mut self) {
        for l in &mut self.lists {
            let v = std::mem::take(&mut l.pending);
            if !v.is_empty() && !l.items.contains(&v) {
                l.items.push(v);
            }
        }
    }

    /// The configuration fields, as the services take them.
    fn config_fields(&self, derive_response_types: bool) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut m = Map::new();
        for l in &self.lists {
            m.insert(l.name.into(), json!(l.items));
        }
        m.insert("grant_types".into(), json!(self.grant_types));
        if !(derive_response_types && self.response_types.is_empty()) {
            m.insert("response_types".into(), json!(self.response_types));
        }
        m.insert("security_classes".into(), json!(self.security_classes));
        if self.auth_method.parse::<TokenEndpointAuthMethod>().is_err() {
            errors.push(FieldError::new("token_endpoint_auth_method", "choose how the client authenticates"));
        }
        m.insert("token_endpoint_auth_method".into(), json!(self.auth_method));
        match self.lifetime.as_str() {
            "" => {
                m.insert("access_token_lifetime".into(), Value::Null);
            }
            l => match l.parse::<u32>() {
                Ok(v) => {
                    m.insert("access_token_lifetime".into(), json!(v));
                }
                Err(_) => errors.push(FieldError::new("access_token_lifetime", "must be a whole number of seconds")),
            },
        }
        if !matches!(self.format.as_str(), "jwt" | "opaque") {
            errors.push(FieldError::new("access_token_format", "choose JWT or opaque"));
        }
        m.insert("access_token_format".into(), json!(self.format));
        m.insert("require_consent".into(), json!(self.require_consent));
        m.insert("require_pkce".into(), json!(self.require_pkce));
        let mut labels = Map::new();
        for part in self.labels.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    labels.insert(k.trim().to_owned(), json!(v.trim()));
                }
                _ => errors.push(FieldError::new("labels", &format!("{part:?} is not key=value"))),
            }
        }
        m.insert("labels".into(), Value::Object(labels));
        match self.admin_role.as_str() {
            "" => {
                m.insert("admin_role".into(), Value::Null);
            }
            r if latchkey_core::AdminRole::parse(r).is_ok() => {
                m.insert("admin_role".into(), json!(r));
            }
            _ => errors.push(FieldError::new("admin_role", "choose none, viewer, tenant-admin or owner")),
        }
        if errors.is_empty() { Ok(m) } else { Err(errors) }
    }
}

#[derive(Template)]
#[template(path = "console/client_form.html")]
struct FormPage {
    c: Chrome,
    heading: String,
    kind: String,
    action: String,
    submit: &'static str,
    cancel: String,
    f: FormState,
    errors: Vec<FieldError>,
    grants: Vec<Opt>,
    response_types: Vec<Opt>,
    classes: Vec<Opt>,
    scope_names: Vec<String>,
    auth_methods: Vec<Opt>,
    default_lifetime: u32,
    max_lifetime: u32,
    warning: Option<String>,
    revision: i64,
}

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
}

/// The console's name of a field, for the error summary.
fn field_label(f: &str) -> &'static str {
    match f.split(['[', '.']).next().unwrap_or("") {
        "name" => "Client Name",
        "description" => "Description",
        "redirect_uris" => "Redirect URIs",
        "post_logout_redirect_uris" => "Allowed Logout Redirect URIs",
        "allowed_cors_origins" => "Allowed CORS Origins",
        "grant_types" => "Grant Types",
        "response_types" => "Response Types",
        "scopes" => "Scopes",
        "security_classes" => "Security Classes",
        "access_token_lifetime" => "Token Lifetime (seconds)",
        "require_pkce" => "Require PKCE",
        "token_endpoint_auth_method" => "Client Authentication",
        "labels" => "Labels",
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
        "grant_types" => "grant_types",
        "response_types" => "response_types",
        "security_classes" => "security_classes",
        "access_token_lifetime" => "access_token_lifetime",
        "require_pkce" => "require_pkce",
        "token_endpoint_auth_method" => "token_endpoint_auth_method",
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
        TokenEndpointAuthMethod::ClientSecretJwt => "Client secret JWT (not supported)",
        TokenEndpointAuthMethod::PrivateKeyJwt => "Private key JWT (keys are set with the API or CLI)",
        TokenEndpointAuthMethod::None => "None — public client with PKCE",
    }
}

struct Frame {
    heading: String,
    kind: String,
    action: String,
    submit: &'static str,
    cancel: String,
    warning: Option<String>,
    revision: i64,
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
    let grants = GrantType::ALL
        .iter()
        .map(|g| Opt {
            value: g.as_str().into(),
            label: grant_label(*g).into(),
            checked: f.grant_types.iter().any(|x| x == g.as_str()),
            legacy: g.is_legacy(),
        })
        .collect();
    let response_types = RESPONSE_TYPES
        .iter()
        .map(|r| Opt {
            value: (*r).into(),
            label: (*r).into(),
            checked: f.response_types.iter().any(|x| x == r),
            legacy: false,
        })
        .collect();
    let class_opts = classes
        .iter()
        .map(|c| Opt {
            value: c.name.clone(),
            label: if c.description.is_empty() { c.name.clone() } else { format!("{} — {}", c.name, c.description) },
            checked: f.security_classes.contains(&c.name),
            legacy: false,
        })
        .collect();
    let auth_methods = TokenEndpointAuthMethod::ALL
        .iter()
        .map(|m| Opt {
            value: m.as_str().into(),
            label: auth_label(*m).into(),
            checked: f.auth_method == m.as_str(),
            legacy: false,
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = FormPage {
        c: cx.chrome("clients", None),
        heading: frame.heading,
        kind: frame.kind,
        action: frame.action,
        submit: frame.submit,
        cancel: frame.cancel,
        f,
        errors,
        grants,
        response_types,
        classes: class_opts,
        scope_names: scopes.into_iter().map(|s| s.name).collect(),
        auth_methods,
        default_lifetime: cx.ctx.settings.default_access_token_lifetime,
        max_lifetime: cx.ctx.settings.max_access_token_lifetime,
        warning: frame.warning,
        revision: frame.revision,
    };
    cx.page(status, &page)
}

fn create_frame(cx: &Cx, t: ClientType) -> Frame {
    Frame {
        heading: format!("Create Client — {}", type_title(t)),
        kind: t.as_str().into(),
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
    if f.list_buttons(&pairs) {
        return render(&s, &cx, create_frame(&cx, t), f, Vec::new()).await;
    }
    f.take_pending();
    let config = match f.config_fields(true) {
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
        Err(AppError::Validation(errors)) => render(&s, &cx, create_frame(&cx, t), f, errors).await,
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
        kind: c.client_type.as_str().into(),
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
    let mut patch = match f.config_fields(false) {
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
        Err(AppError::Validation(errors)) => render(&s, &cx, frame, f, errors).await,
        Err(e) => cx.app_error(e),
    }
}
