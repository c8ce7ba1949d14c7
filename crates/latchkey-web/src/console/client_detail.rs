//! One client: the details panel (every field, effective lifetimes and
//! where they come from, secrets, the redirect-URI tester, the client's
//! audit history) and the actions on it: generate a new secret with a grace
//! period, revoke a secret, disable / enable, delete after a confirmation.

use askama::Template;
use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_app::admin::AuditSearch;
use latchkey_app::admin::clients::ClientView;
use latchkey_app::admin::secrets::RotateSecret;
use latchkey_core::token::{Lifetime, LifetimeSource};
use latchkey_core::{ClientStatus, redirect::MatchExplanation};

use super::audit_page::AuditRow;
use super::chart::Chart;
use super::confirm::{Confirmation, unless_confirmed};
use super::duration::human;
use super::view::{Chrome, grant_label, opt_time, time, type_title};
use super::{Cx, enter, enter_post, field, param};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/clients/{id}", get(details))
        .route("/console/clients/{id}/secrets/rotate", post(rotate))
        .route("/console/clients/{id}/secrets/{secret}/revoke", post(revoke))
        .route("/console/clients/{id}/devices/{device}/revoke", post(revoke_device))
        .route("/console/clients/{id}/disable", post(disable))
        .route("/console/clients/{id}/enable", post(enable))
        .route("/console/clients/{id}/delete", get(confirm_delete).post(delete))
}

/// Seconds before expiry from which a secret is flagged (SPEC §3).
const EXPIRY_WARNING: i64 = 14 * 86_400;

struct SecretRow {
    id: String,
    label: String,
    hint: String,
    created: String,
    expires: String,
    last_used: String,
    /// `active`, `expiring` (within 14 days) or `expired`.
    state: &'static str,
    /// The client's only valid secret, which cannot be revoked while the
    /// client is active (rotate first).
    last: bool,
}

/// An open device sign-in of this client (RFC 8628), as the panel shows it.
struct DeviceRow {
    id: String,
    /// `pending`, `approved` or `signed-in`.
    status: &'static str,
    /// Who approved it (username), empty while pending.
    user: String,
    scopes: String,
    device: String,
    created: String,
    expires: String,
}

/// What a provisioning connector did through SCIM: its changes, from the
/// audit log (where each carries the connector as the actor).
struct SyncPanel {
    endpoint: String,
    last: String,
    changes: Vec<AuditRow>,
    /// Its latest refused requests, newest first.
    refusals: Vec<RefusalRow>,
    kept: i64,
}

/// A SCIM request of the connector that was refused.
struct RefusalRow {
    time: String,
    request: String,
    status: u16,
    scim_type: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/client.html")]
struct DetailPage {
    c: Chrome,
    v: ClientView,
    kind: &'static str,
    grants: Vec<&'static str>,
    lifetimes: Vec<(&'static str, String, &'static str)>,
    reuse_grace: String,
    labels: String,
    created: String,
    /// Who created it, by name where the creator is a user or a client.
    created_by: String,
    updated: String,
    last_used: String,
    secrets: Vec<SecretRow>,
    /// `Some` for clients with the device grant.
    devices: Option<Vec<DeviceRow>>,
    /// `Some` for provisioning connectors (scope `users:read` or `users:write`).
    sync: Option<SyncPanel>,
    confidential: bool,
    warning: Option<String>,
    /// Why the last action did nothing, shown where it was asked for.
    problem: Option<&'static str>,
    test_uri: String,
    test: Option<MatchExplanation>,
    history: Vec<AuditRow>,
    chart: Chart,
    /// Tokens issued and failed authentications over 30 days.
    month: (i64, i64),
}

fn source_label(l: &Lifetime) -> &'static str {
    match l.source {
        LifetimeSource::Client => "set on this client",
        LifetimeSource::Tenant => "tenant default",
    }
}

pub(crate) fn warning(v: &ClientView) -> Option<String> {
    if v.protected {
        Some("This is a protected default client that Latchkey itself depends on: changing, disabling or deleting it asks for an explicit confirmation.".into())
    } else {
        v.managed_by.as_ref().map(|m| {
            format!("This client is managed by the declarative file {m}: the next apply will undo changes made here.")
        })
    }
}

/// The reason an action was refused, named by `?e=` of the page it returns to.
fn problem(code: &str) -> Option<&'static str> {
    match code {
        "last_secret" => Some(
            "The secret was not revoked: it is this client's only valid secret. Generate a new one first \
             (the old one can then be revoked), or disable the client.",
        ),
        _ => None,
    }
}

fn flash(code: &str) -> Option<&'static str> {
    match code {
        "updated" => Some("The client was saved."),
        "secret_revoked" => Some("The secret was revoked; it no longer works at the token endpoint."),
        "disabled" => Some("The client is disabled: it gets invalid_client and its tokens are inactive."),
        "enabled" => Some("The client is active again."),
        "device_revoked" => {
            Some("The device sign-in was revoked: the device gets no tokens and those it holds stop working.")
        }
        _ => None,
    }
}

async fn details(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    let (cx, parts) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = param(&params, "id");
    let v = match s.app.clients.get_client(&cx.ctx, &id).await {
        Ok(v) => v,
        Err(e) => return cx.app_error(e),
    };
    let query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().take(20).collect();
    let test_uri: String = field(&query, "test_uri").chars().take(2048).collect();
    let test = if test_uri.is_empty() {
        None
    } else {
        match s.app.clients.test_redirect(&cx.ctx, &id, &test_uri).await {
            Ok(t) => Some(t),
            Err(e) => return cx.app_error(e),
        }
    };
    let audit = AuditSearch {
        target_type: Some("client".into()),
        target_id: Some(id.clone()),
        limit: Some(20),
        ..AuditSearch::default()
    };
    let history = match s.app.audit.search_audit(&cx.ctx, &audit).await {
        Ok((items, _)) => AuditRow::rows(&s, &cx, &items).await,
        Err(e) => return cx.app_error(e),
    };
    let day = match s.app.tokens.usage_report(&cx.ctx, Some(&id), 24).await {
        Ok(r) => r,
        Err(e) => return cx.app_error(e),
    };
    let month = match s.app.tokens.usage_report(&cx.ctx, Some(&id), 24 * 30).await {
        Ok(r) => (r.issued(), r.failed()),
        Err(e) => return cx.app_error(e),
    };
    let now = s.app.kernel.now();
    let valid = v.secrets.iter().flatten().filter(|sv| sv.expires_at.is_none_or(|e| e > now)).count();
    let only_one = valid == 1 && v.status == ClientStatus::Active && !v.config.is_public();
    let secrets = v
        .secrets
        .iter()
        .flatten()
        .map(|sv| SecretRow {
            last: only_one && sv.expires_at.is_none_or(|e| e > now),
            id: sv.id.clone(),
            label: sv.label.clone().unwrap_or_default(),
            hint: format!("…{}", sv.hint),
            created: time(sv.created_at),
            expires: sv.expires_at.map_or_else(|| "Never".into(), time),
            last_used: opt_time(sv.last_used_at),
            state: match sv.expires_at {
                Some(e) if e <= now => "expired",
                Some(e) if e - now <= EXPIRY_WARNING => "expiring",
                _ => "active",
            },
        })
        .collect();
    let devices = if v.config.grant_types.contains(&latchkey_core::GrantType::DeviceCode) {
        match device_rows(&s, &cx, &id).await {
            Ok(rows) => Some(rows),
            Err(e) => return cx.app_error(e),
        }
    } else {
        None
    };
    let connector = v.config.scopes.iter().any(|sc| matches!(sc.as_str(), "users:read" | "users:write"));
    let sync = if connector {
        let search = AuditSearch { actor: Some(id.clone()), limit: Some(10), ..AuditSearch::default() };
        let refusals = match s.app.scim.refusals(&cx.ctx, &id).await {
            Ok(list) => list
                .into_iter()
                .map(|r| RefusalRow {
                    time: time(r.occurred_at),
                    request: format!("{} {}", r.method, r.path),
                    status: r.status,
                    scim_type: r.scim_type.unwrap_or_default(),
                    detail: r.detail,
                })
                .collect(),
            Err(e) => return cx.app_error(e),
        };
        match s.app.audit.search_audit(&cx.ctx, &search).await {
            Ok((items, _)) => Some(SyncPanel {
                endpoint: format!("{}/scim/v2", cx.ctx.issuer),
                last: items.first().map_or_else(|| "Never".into(), |e| time(e.occurred_at)),
                changes: AuditRow::rows(&s, &cx, &items).await,
                refusals,
                kept: latchkey_app::scim::REFUSALS_KEPT,
            }),
            Err(e) => return cx.app_error(e),
        }
    } else {
        None
    };
    let l = &v.effective_lifetimes;
    let lifetimes = vec![
        ("Access token", human(l.access_token.seconds), source_label(&l.access_token)),
        ("Refresh token", human(l.refresh_token.seconds), source_label(&l.refresh_token)),
        ("ID token", human(l.id_token.seconds), source_label(&l.id_token)),
    ];
    let created_by = creator(&s, &cx, &v.created_by).await;
    let last_used = match s.app.tokens.last_use_now(&cx.ctx, &id).await {
        Ok(t) => t,
        Err(e) => return cx.app_error(e),
    };
    let page = DetailPage {
        created_by,
        c: cx.chrome("clients", flash(field(&query, "m"))),
        kind: type_title(v.client_type),
        grants: v.config.grant_types.iter().map(|g| grant_label(*g)).collect(),
        lifetimes,
        reuse_grace: human(v.config.refresh_token_policy.reuse_grace_seconds),
        labels: v.config.labels.iter().map(|(k, x)| format!("{k}={x}")).collect::<Vec<_>>().join(", "),
        created: time(v.created_at),
        updated: time(v.updated_at),
        last_used: opt_time(last_used),
        secrets,
        devices,
        sync,
        confidential: !v.config.is_public(),
        warning: warning(&v),
        problem: problem(field(&query, "e")),
        test_uri,
        test,
        history,
        chart: Chart::hourly(&day, &v.name),
        month,
        v,
    };
    cx.page(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "console/secret_shown.html")]
struct SecretPage<'a> {
    c: Chrome,
    heading: &'static str,
    client_id: &'a str,
    client_name: &'a str,
    secret: Option<&'a str>,
    credentials: String,
    detail: String,
}

/// The one page that shows a secret: the answer to the POST that created
/// it (never a redirect, never cached).
pub(crate) fn secret_shown(cx: &Cx, v: &ClientView, secret: Option<&str>, created: bool) -> Response {
    let page = SecretPage {
        c: cx.chrome("clients", None),
        heading: if created { "Client Successfully Created" } else { "New Client Secret" },
        client_id: &v.client_id,
        client_name: &v.name,
        secret,
        credentials: secret.map(|s| format!("{}:{s}", v.client_id)).unwrap_or_default(),
        detail: format!("{}/console/clients/{}", cx.base, v.client_id),
    };
    cx.page(if created { StatusCode::CREATED } else { StatusCode::OK }, &page)
}

async fn rotate(
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
    let id = param(&params, "id");
    let Ok(grace_seconds) = field(&pairs, "grace_seconds").parse::<i64>() else {
        return cx.error(400, "Choose how long the old secrets stay valid.");
    };
    if grace_seconds == 0 {
        let name = match s.app.clients.get_client(&cx.ctx, &id).await {
            Ok(c) => c.name,
            Err(e) => return cx.app_error(e),
        };
        let ask = || Confirmation {
            title: format!("Revoke every current secret of {name} now?"),
            consequence: "A new secret is generated and, with no grace period, every current secret stops \
                          working at once: applications still using one get invalid_client until they have the \
                          new secret. Choose a grace period instead to keep both working while you switch."
                .into(),
            button: "Generate and Revoke Now",
            action: format!("clients/{id}/secrets/rotate"),
            cancel: format!("clients/{id}"),
            fields: ["grace_seconds", "label"].iter().map(|f| ((*f).to_owned(), field(&pairs, f).to_owned())).collect(),
        };
        if let Some(page) = unless_confirmed(&cx, "clients", &pairs, ask) {
            return page;
        }
    }
    let label = Some(field(&pairs, "label").trim().to_owned()).filter(|l| !l.is_empty());
    match s.app.clients.rotate_secret(&cx.ctx, &cx.user.actor, &id, RotateSecret { grace_seconds, label }).await {
        Ok(new) => match s.app.clients.get_client(&cx.ctx, &id).await {
            Ok(v) => secret_shown(&cx, &v, Some(&new.client_secret), false),
            Err(e) => cx.app_error(e),
        },
        Err(e) => cx.app_error(e),
    }
}

async fn revoke(
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
    let (id, secret) = (param(&params, "id"), param(&params, "secret"));
    if field(&pairs, "confirmed") != "yes" {
        let client = match s.app.clients.get_client(&cx.ctx, &id).await {
            Ok(c) => c,
            Err(e) => return cx.app_error(e),
        };
        let list = match s.app.clients.list_secrets(&cx.ctx, &id).await {
            Ok(list) => list,
            Err(e) => return cx.app_error(e),
        };
        let now = s.app.kernel.now();
        let valid = |x: &latchkey_app::admin::clients::SecretView| x.expires_at.is_none_or(|e| e > now);
        let Some(target) = list.iter().find(|x| x.id == secret) else {
            return cx.error(404, "This client has no such secret.");
        };
        // Its only valid secret: nothing to confirm, the reason instead.
        if valid(target)
            && list.iter().filter(|x| valid(x)).count() == 1
            && client.status == ClientStatus::Active
            && !client.config.is_public()
        {
            return cx.to(&format!("clients/{id}?e=last_secret#secrets-title"));
        }
        let hint = target.hint.clone();
        let ask = || Confirmation {
            title: format!("Revoke secret …{hint} of {}?", client.name),
            consequence: "Applications still using this secret get invalid_client at the token endpoint at once; \
                          tokens already issued with it stay valid until they expire."
                .into(),
            button: "Revoke Secret",
            action: format!("clients/{id}/secrets/{secret}/revoke"),
            cancel: format!("clients/{id}"),
            fields: Vec::new(),
        };
        if let Some(page) = unless_confirmed(&cx, "clients", &pairs, ask) {
            return page;
        }
    }
    match s.app.clients.revoke_secret(&cx.ctx, &cx.user.actor, &id, &secret).await {
        Ok(()) => cx.to(&format!("clients/{id}?m=secret_revoked")),
        Err(latchkey_app::AppError::Conflict(_)) => cx.to(&format!("clients/{id}?e=last_secret#secrets-title")),
        Err(e) => cx.app_error(e),
    }
}

/// A creator id as people know it: a user's username, a client's name, or
/// the id (the server itself, or something since deleted).
async fn creator(s: &AppState, cx: &Cx, id: &str) -> String {
    if let Ok(u) = s.app.users.get_user(&cx.ctx, id).await {
        return u.username;
    }
    match s.app.clients.get_client(&cx.ctx, id).await {
        Ok(c) => format!("{} (client)", c.name),
        Err(_) => id.to_owned(),
    }
}

async fn device_rows(s: &AppState, cx: &Cx, client_id: &str) -> Result<Vec<DeviceRow>, latchkey_app::AppError> {
    let mut rows = Vec::new();
    for d in s.app.users.list_device_sign_ins(&cx.ctx, Some(client_id), None).await? {
        let user = match &d.user_id {
            Some(u) => s.app.users.get_user(&cx.ctx, u).await.map_or_else(|_| u.clone(), |v| v.username),
            None => String::new(),
        };
        let device =
            [d.device_agent.as_deref(), d.device_ip.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
        rows.push(DeviceRow {
            id: d.id,
            status: d.status,
            user,
            scopes: d.scopes.join(" "),
            device,
            created: time(d.created_at),
            expires: time(d.expires_at),
        });
    }
    Ok(rows)
}

/// `POST /console/clients/{id}/devices/{device}/revoke`, after a confirmation.
async fn revoke_device(
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
    let (id, device) = (param(&params, "id"), param(&params, "device"));
    let open = match s.app.users.list_device_sign_ins(&cx.ctx, Some(&id), None).await {
        Ok(list) => list.into_iter().find(|d| d.id == device),
        Err(e) => return cx.app_error(e),
    };
    let Some(open) = open else {
        return cx.error(404, "This client has no such device sign-in: it has ended, was denied or has expired.");
    };
    let ask = || Confirmation {
        title: format!("Revoke this device sign-in of {id}?"),
        consequence: if open.status == "signed-in" {
            "The device's refresh token and every access token issued to it stop working at once; \
             it has to be signed in again."
        } else if open.status == "approved" {
            "The device was allowed but has not collected its tokens yet: it is told access_denied and never gets them."
        } else {
            "Nobody has allowed this device yet: its code stops working and the device is told access_denied."
        }
        .into(),
        button: "Revoke Sign-in",
        action: format!("clients/{id}/devices/{device}/revoke"),
        cancel: format!("clients/{id}"),
        fields: Vec::new(),
    };
    if let Some(page) = unless_confirmed(&cx, "clients", &pairs, ask) {
        return page;
    }
    match s.app.users.revoke_device_sign_in(&cx.ctx, &cx.user.actor, &device).await {
        Ok(()) => cx.to(&format!("clients/{id}?m=device_revoked")),
        Err(e) => cx.app_error(e),
    }
}

async fn set_status(
    s: AppState,
    tenant: Result<Tenant, NoTenant>,
    src: Option<String>,
    params: RawPathParams,
    req: Request,
    status: ClientStatus,
) -> Response {
    let (cx, pairs) = match enter_post(&s, tenant, src, req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = param(&params, "id");
    let force = field(&pairs, "force") == "on";
    if status == ClientStatus::Disabled {
        let name = match s.app.clients.get_client(&cx.ctx, &id).await {
            Ok(c) => c.name,
            Err(e) => return cx.app_error(e),
        };
        let ask = || Confirmation {
            title: format!("Disable {name}?"),
            consequence: format!(
                "{name} gets invalid_client at the token endpoint at once, and every token issued to it or \
                 through it becomes inactive. Enable lets it in again; the old tokens stay inactive."
            ),
            button: "Disable Client",
            action: format!("clients/{id}/disable"),
            cancel: format!("clients/{id}"),
            fields: vec![("force".into(), field(&pairs, "force").to_owned())],
        };
        if let Some(page) = unless_confirmed(&cx, "clients", &pairs, ask) {
            return page;
        }
    }
    match s.app.clients.set_client_status(&cx.ctx, &cx.user.actor, &id, status, force).await {
        Ok(_) if status == ClientStatus::Active => cx.to(&format!("clients/{id}?m=enabled")),
        Ok(_) => cx.to(&format!("clients/{id}?m=disabled")),
        Err(e) => cx.app_error(e),
    }
}

async fn disable(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    set_status(s, tenant, src, params, req, ClientStatus::Disabled).await
}

async fn enable(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    params: RawPathParams,
    req: Request,
) -> Response {
    set_status(s, tenant, src, params, req, ClientStatus::Active).await
}

#[derive(Template)]
#[template(path = "console/delete.html")]
struct DeletePage {
    c: Chrome,
    v: ClientView,
    warning: Option<String>,
}

async fn confirm_delete(
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
    match s.app.clients.get_client(&cx.ctx, &param(&params, "id")).await {
        Ok(v) => cx.page(StatusCode::OK, &DeletePage { c: cx.chrome("clients", None), warning: warning(&v), v }),
        Err(e) => cx.app_error(e),
    }
}

async fn delete(
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
    let force = field(&pairs, "force") == "on";
    match s.app.clients.delete_client(&cx.ctx, &cx.user.actor, &param(&params, "id"), force).await {
        Ok(()) => cx.to("clients?m=deleted"),
        Err(e) => cx.app_error(e),
    }
}
