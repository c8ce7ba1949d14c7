//! The other console pages: dashboard, users, signing keys and the audit
//! log (scopes and security classes are in `scope_pages.rs`).

use askama::Template;
use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_app::AppError;
use latchkey_app::admin::client_search::ClientSearch;
use latchkey_app::admin::keys::RotateKeys;
use latchkey_app::admin::users::NewUser;

use super::catalogue::input_problem;
use super::chart::Chart;
use super::clients::Row;
use super::confirm::{Confirmation, unless_confirmed};
use super::view::{Chrome, opt_time, time};
use super::{Cx, enter, enter_post, field, param};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/users", get(users).post(create_user))
        .route("/console/users/{id}/role", post(set_user_role))
        .route("/console/users/{id}/disable", post(disable_user))
        .route("/console/users/{id}/enable", post(enable_user))
        .route("/console/users/{id}/password", post(reset_user_password))
        .route("/console/keys", get(keys))
        .route("/console/keys/rotate", post(rotate_keys))
}

macro_rules! enter_get {
    ($s:expr, $tenant:expr, $src:expr, $req:expr) => {
        match enter(&$s, $tenant, $src, $req).await {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

macro_rules! enter_write {
    ($s:expr, $tenant:expr, $src:expr, $req:expr) => {
        match enter_post(&$s, $tenant, $src, $req, true).await {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

macro_rules! try_page {
    ($cx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $cx.app_error(e),
        }
    };
}

pub(super) fn query(parts: &Parts) -> Vec<(String, String)> {
    let q = parts.uri.query().unwrap_or("");
    if q.len() > 8 * 1024 {
        return Vec::new();
    }
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

pub(super) fn flash(q: &[(String, String)]) -> Option<&'static str> {
    match field(q, "m") {
        "created" => Some("Created."),
        "deleted" => Some("Deleted."),
        "updated" => Some("Saved."),
        "rotated" => Some("New signing keys were created; they sign once they are active."),
        _ => None,
    }
}

// ---- dashboard -------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct Dashboard {
    c: Chrome,
    chart: Chart,
    /// The client charted (empty: all), the span in hours, and the choices.
    client: String,
    hours: u32,
    choices: Vec<(String, String)>,
    /// The most used clients of the last 24 hours: id, name, issued, failed.
    top: Vec<(String, String, i64, i64)>,
    expiring: Vec<Row>,
    unused: Vec<Row>,
    recent: Vec<Row>,
}

pub(super) async fn dashboard(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, parts) = enter_get!(s, tenant, src, req);
    let q = query(&parts);
    let hours: u32 = if field(&q, "range") == "7d" { 24 * 7 } else { 24 };
    let client = field(&q, "client").to_owned();
    let search = |f: fn(&mut ClientSearch)| {
        let mut q = ClientSearch { limit: Some(10), sort: Some("-created_at".into()), ..ClientSearch::default() };
        f(&mut q);
        q
    };
    let expiring = try_page!(
        cx,
        s.app.clients.search_clients(&cx.ctx, &search(|q| q.secret_expires_within_days = Some(14))).await
    )
    .0;
    let unused = try_page!(cx, s.app.clients.search_clients(&cx.ctx, &search(|q| q.unused_days = Some(90))).await).0;
    let recent = try_page!(cx, s.app.clients.search_clients(&cx.ctx, &search(|_| ())).await).0;
    let usage = try_page!(cx, s.app.tokens.usage_report(&cx.ctx, None, hours).await);
    let chosen = if client.is_empty() {
        None
    } else {
        Some(try_page!(cx, s.app.tokens.usage_report(&cx.ctx, Some(&client), hours).await))
    };
    let mut top = Vec::new();
    for (id, issued, failed) in usage.clients.iter().take(8) {
        let name = match s.app.clients.get_client(&cx.ctx, id).await {
            Ok(v) => v.name,
            Err(AppError::NotFound) => "(deleted client)".to_owned(),
            Err(e) => return cx.app_error(e),
        };
        top.push((id.clone(), name, *issued, *failed));
    }
    let mut choices: Vec<(String, String)> = top.iter().map(|(id, name, _, _)| (id.clone(), name.clone())).collect();
    let chart = match &chosen {
        Some(r) => {
            let name = match s.app.clients.get_client(&cx.ctx, &client).await {
                Ok(v) => v.name,
                Err(_) => client.clone(),
            };
            if !choices.iter().any(|(id, _)| *id == client) {
                choices.push((client.clone(), name.clone()));
            }
            Chart::hourly(r, &name)
        }
        None => Chart::hourly(&usage, "All clients"),
    };
    let page = Dashboard {
        c: cx.chrome("dashboard", None),
        chart,
        client,
        hours,
        choices,
        top,
        expiring: expiring.iter().map(Row::from_view).collect(),
        unused: unused.iter().map(Row::from_view).collect(),
        recent: recent.iter().map(Row::from_view).collect(),
    };
    cx.page(StatusCode::OK, &page)
}

// ---- users -------------------------------------------------------------------

struct UserRow {
    id: String,
    /// The signed-in user's own row (it offers no disable).
    me: bool,
    username: String,
    display_name: String,
    email: String,
    roles: Vec<String>,
    active: bool,
    created: String,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    c: Chrome,
    rows: Vec<UserRow>,
    q: String,
    next: Option<String>,
    error: Option<String>,
    created_password: Option<String>,
    created_user: String,
}

async fn users_page(
    s: &AppState,
    cx: &Cx,
    flash: Option<&'static str>,
    q: &str,
    cursor: &str,
    error: Option<String>,
    created: Option<(String, Option<String>)>,
) -> Response {
    let (list, next) =
        try_page!(cx, s.app.users.list_users(&cx.ctx, Some(q).filter(|q| !q.is_empty()), Some(cursor), Some(50)).await);
    let rows = list
        .into_iter()
        .map(|u| UserRow {
            me: u.id == cx.user.actor.id,
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            email: u.email.unwrap_or_default(),
            roles: u.roles,
            active: u.status == "active",
            created: time(u.created_at),
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let (created_user, created_password) = created.unwrap_or_default();
    let flash = if created_user.is_empty() || flash.is_some() { flash } else { Some("The user was created.") };
    let page =
        UsersPage { c: cx.chrome("users", flash), rows, q: q.to_owned(), next, error, created_password, created_user };
    cx.page(status, &page)
}

async fn users(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, parts) = enter_get!(s, tenant, src, req);
    let q = query(&parts);
    let done = (field(&q, "m") == "updated").then_some("The user was updated.");
    users_page(&s, &cx, done, field(&q, "q"), field(&q, "cursor"), None, None).await
}

async fn create_user(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, pairs) = enter_write!(s, tenant, src, req);
    let role = field(&pairs, "role");
    let new = NewUser {
        username: field(&pairs, "username").trim().to_owned(),
        password: Some(field(&pairs, "password").to_owned()).filter(|p| !p.is_empty()),
        email: Some(field(&pairs, "email").trim().to_owned()).filter(|e| !e.is_empty()),
        display_name: field(&pairs, "display_name").trim().to_owned(),
        roles: if role.is_empty() { Vec::new() } else { vec![role.to_owned()] },
        groups: Vec::new(),
    };
    match s.app.users.create_user(&cx.ctx, &cx.user.actor, new).await {
        Ok(u) => users_page(&s, &cx, None, "", "", None, Some((u.user.username, u.password))).await,
        Err(e) => match input_problem(e) {
            Ok(msg) => users_page(&s, &cx, None, "", "", Some(msg), None).await,
            Err(e) => cx.app_error(e),
        },
    }
}

/// `POST /console/users/{id}/role`: one administrative role, or none.
async fn set_user_role(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    use latchkey_app::admin::users::UserPatch;
    let (cx, pairs) = enter_write!(s, tenant, src, req);
    let id = param(&params, "id");
    let role = field(&pairs, "role");
    let current = try_page!(cx, s.app.users.get_user(&cx.ctx, &id).await);
    // Other roles a user may hold (none today) are kept.
    let mut roles: Vec<String> =
        current.roles.into_iter().filter(|r| latchkey_core::AdminRole::parse(r).is_err()).collect();
    if !role.is_empty() {
        roles.push(role.to_owned());
    }
    let patch = UserPatch { roles: Some(roles), ..UserPatch::default() };
    match s.app.users.update_user(&cx.ctx, &cx.user.actor, &id, patch).await {
        Ok(_) => cx.to(&back(&pairs, &id)),
        Err(e) => cx.app_error(e),
    }
}

/// Where a change to a user returns: the user's page when it was made
/// there, the list otherwise.
fn back(pairs: &[(String, String)], id: &str) -> String {
    if field(pairs, "from") == "detail" { format!("users/{id}?m=updated") } else { "users?m=updated".into() }
}

async fn user_status(s: &AppState, cx: &Cx, id: &str, active: bool, pairs: &[(String, String)]) -> Response {
    if id == cx.user.actor.id && !active {
        return cx.error(409, "You cannot disable your own account: ask another administrator.");
    }
    if !active {
        let user = try_page!(cx, s.app.users.get_user(&cx.ctx, id).await);
        let from = field(pairs, "from");
        let ask = || Confirmation {
            title: format!("Disable {}?", user.username),
            consequence: format!(
                "{0} can no longer sign in, is signed out everywhere, and every token issued to {0} stops \
                 working at once. Enable lets {0} sign in again; the old tokens stay revoked.",
                user.username
            ),
            button: "Disable User",
            action: format!("users/{id}/disable"),
            cancel: if from == "detail" { format!("users/{id}") } else { "users".into() },
            fields: vec![("from".into(), from.to_owned())],
        };
        if let Some(page) = unless_confirmed(cx, "users", pairs, ask) {
            return page;
        }
    }
    match s.app.users.set_user_status(&cx.ctx, &cx.user.actor, id, active).await {
        Ok(_) => cx.to(&back(pairs, id)),
        Err(e) => cx.app_error(e),
    }
}

async fn disable_user(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    let (cx, pairs) = enter_write!(s, tenant, src, req);
    user_status(&s, &cx, &param(&params, "id"), false, &pairs).await
}

/// `POST /console/users/{id}/password`: a new generated password, shown
/// once; the user's sessions and tokens end with the old one.
async fn reset_user_password(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    use latchkey_app::admin::users::PasswordReset;
    let (cx, pairs) = enter_write!(s, tenant, src, req);
    let id = param(&params, "id");
    let user = try_page!(cx, s.app.users.get_user(&cx.ctx, &id).await);
    let ask = || Confirmation {
        title: format!("Reset the password of {}?", user.username),
        consequence: format!(
            "{} is signed out everywhere and every token issued to them stops working at once; \
             the old password no longer works. The new password is shown once, next.",
            user.username
        ),
        button: "Reset Password",
        action: format!("users/{id}/password"),
        cancel: "users".into(),
        fields: Vec::new(),
    };
    if let Some(page) = unless_confirmed(&cx, "users", &pairs, ask) {
        return page;
    }
    match s.app.users.reset_password(&cx.ctx, &cx.user.actor, &id, PasswordReset { password: None }).await {
        Ok(password) => {
            let done = Some("The password was reset; the user's sessions and tokens were ended.");
            users_page(&s, &cx, done, "", "", None, Some((user.username, password))).await
        }
        Err(e) => cx.app_error(e),
    }
}

async fn enable_user(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    let (cx, pairs) = enter_write!(s, tenant, src, req);
    user_status(&s, &cx, &param(&params, "id"), true, &pairs).await
}

// ---- signing keys ------------------------------------------------------------

struct KeyRow {
    kid: String,
    alg: &'static str,
    purpose: &'static str,
    status: String,
    created: String,
    activated: String,
    retired: String,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    c: Chrome,
    rows: Vec<KeyRow>,
}

async fn keys(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, parts) = enter_get!(s, tenant, src, req);
    let list = try_page!(cx, s.app.tenants.list_keys(&cx.ctx).await);
    let rows = list
        .into_iter()
        .map(|k| KeyRow {
            kid: k.kid,
            alg: k.alg,
            purpose: k.purpose,
            status: k.status,
            created: time(k.created_at),
            activated: opt_time(k.activated_at),
            retired: k.retired_at.map_or_else(String::new, time),
        })
        .collect();
    cx.page(StatusCode::OK, &KeysPage { c: cx.chrome("keys", flash(&query(&parts))), rows })
}

async fn rotate_keys(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, pairs) = enter_write!(s, tenant, src, req);
    let ask = || Confirmation {
        title: "Rotate the signing keys?".into(),
        consequence: "A new key is published now and starts signing in a few minutes; the current key keeps \
                      verifying until the tokens it signed expire. Clients that cache the JWKS must fetch it \
                      again (standard libraries do on an unknown key id)."
            .into(),
        button: "Rotate Keys",
        action: "keys/rotate".into(),
        cancel: "keys".into(),
        fields: ["purpose"].iter().map(|f| ((*f).to_owned(), field(&pairs, f).to_owned())).collect(),
    };
    if let Some(page) = unless_confirmed(&cx, "keys", &pairs, ask) {
        return page;
    }
    let purpose = Some(field(&pairs, "purpose").to_owned()).filter(|p| !p.is_empty());
    try_page!(
        cx,
        s.app.tenants.rotate_keys(&cx.ctx, &cx.user.actor, RotateKeys { purpose, activate_in_seconds: None }).await
    );
    cx.to("keys?m=rotated")
}
