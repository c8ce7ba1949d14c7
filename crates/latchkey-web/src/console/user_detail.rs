//! One user: who they are (roles, groups, status), what they have given
//! access to (remembered consents, device sign-ins) and what happened to
//! them (audit history), with the actions on each: change the role, reset
//! the password, disable / enable, revoke a consent, end a device sign-in.
//! Every ending asks first, naming what stops working.

use askama::Template;
use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_app::admin::AuditSearch;
use latchkey_app::admin::users::UserView;

use super::audit_page::AuditRow;
use super::confirm::{Confirmation, unless_confirmed};
use super::view::{Chrome, time};
use super::{Cx, enter, enter_post, field, param};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/users/{id}", get(details))
        .route("/console/users/{id}/devices/{device}/revoke", post(revoke_device))
        .route("/console/users/{id}/consents/{client}/revoke", post(revoke_consent))
}

/// A device sign-in of this user (RFC 8628), as the panel shows it.
struct DeviceRow {
    id: String,
    /// `approved` (tokens not collected yet) or `signed-in`.
    status: &'static str,
    client_id: String,
    client: String,
    scopes: String,
    device: String,
    created: String,
    expires: String,
}

/// A client the user allowed, with the scopes.
struct ConsentRow {
    client_id: String,
    client: String,
    scopes: String,
    granted: String,
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    c: Chrome,
    u: UserView,
    /// The signed-in administrator looks at themself.
    me: bool,
    role: String,
    created: String,
    updated: String,
    devices: Vec<DeviceRow>,
    consents: Vec<ConsentRow>,
    history: Vec<AuditRow>,
}

fn flash(code: &str) -> Option<&'static str> {
    match code {
        "updated" => Some("The user was updated."),
        "device_revoked" => {
            Some("The device sign-in was ended: the device gets no tokens and those it holds stop working.")
        }
        "consent_revoked" => {
            Some("The consent was revoked: the user is asked again, and the tokens issued under it stop working.")
        }
        _ => None,
    }
}

async fn client_name(s: &AppState, cx: &Cx, id: &str) -> String {
    s.app.clients.get_client(&cx.ctx, id).await.map_or_else(|_| id.to_owned(), |c| c.name)
}

/// `GET /console/users/{id}`.
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
    let u = match s.app.users.get_user(&cx.ctx, &id).await {
        Ok(u) => u,
        Err(e) => return cx.app_error(e),
    };
    let sign_ins = match s.app.users.list_device_sign_ins(&cx.ctx, None, Some(&id)).await {
        Ok(v) => v,
        Err(e) => return cx.app_error(e),
    };
    let mut devices = Vec::with_capacity(sign_ins.len());
    for d in sign_ins {
        devices.push(DeviceRow {
            client: client_name(&s, &cx, &d.client_id).await,
            device: [d.device_agent.as_deref(), d.device_ip.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            id: d.id,
            status: d.status,
            client_id: d.client_id,
            scopes: d.scopes.join(" "),
            created: time(d.created_at),
            expires: time(d.expires_at),
        });
    }
    let mut consents = Vec::new();
    match s.app.users.list_consents(&cx.ctx, &id).await {
        Ok(list) => {
            for c in list {
                consents.push(ConsentRow {
                    client: client_name(&s, &cx, &c.client_id).await,
                    client_id: c.client_id,
                    scopes: c.scopes.join(" "),
                    granted: time(c.updated_at),
                });
            }
        }
        Err(e) => return cx.app_error(e),
    }
    let search = AuditSearch {
        target_type: Some("user".into()),
        target_id: Some(id.clone()),
        limit: Some(15),
        ..AuditSearch::default()
    };
    let history = match s.app.audit.search_audit(&cx.ctx, &search).await {
        Ok((items, _)) => AuditRow::rows(&s, &cx, &items).await,
        Err(e) => return cx.app_error(e),
    };
    let query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().take(10).collect();
    let role = u.roles.iter().find(|r| latchkey_core::AdminRole::parse(r).is_ok()).cloned().unwrap_or_default();
    let page = UserPage {
        c: cx.chrome("users", flash(field(&query, "m"))),
        me: u.id == cx.user.actor.id,
        role,
        created: time(u.created_at),
        updated: time(u.updated_at),
        devices,
        consents,
        history,
        u,
    };
    cx.page(axum::http::StatusCode::OK, &page)
}

/// `POST /console/users/{id}/devices/{device}/revoke`, after a confirmation.
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
    let open = match s.app.users.list_device_sign_ins(&cx.ctx, None, Some(&id)).await {
        Ok(list) => list.into_iter().find(|d| d.id == device),
        Err(e) => return cx.app_error(e),
    };
    let Some(open) = open else {
        return cx.error(404, "This user has no such device sign-in: it has ended, was denied or has expired.");
    };
    let client = client_name(&s, &cx, &open.client_id).await;
    let ask = || Confirmation {
        title: format!("End this device sign-in to {client}?"),
        consequence: if open.status == "signed-in" {
            "The device's refresh token and every access token issued to it stop working at once; \
             it has to be signed in again."
        } else {
            "The device was allowed but has not collected its tokens yet: it is told access_denied and never gets them."
        }
        .into(),
        button: "End Sign-in",
        action: format!("users/{id}/devices/{device}/revoke"),
        cancel: format!("users/{id}"),
        fields: Vec::new(),
    };
    if let Some(page) = unless_confirmed(&cx, "users", &pairs, ask) {
        return page;
    }
    match s.app.users.revoke_device_sign_in(&cx.ctx, &cx.user.actor, &device).await {
        Ok(()) => cx.to(&format!("users/{id}?m=device_revoked")),
        Err(e) => cx.app_error(e),
    }
}

/// `POST /console/users/{id}/consents/{client}/revoke`, after a confirmation.
async fn revoke_consent(
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
    let (id, client_id) = (param(&params, "id"), param(&params, "client"));
    let client = client_name(&s, &cx, &client_id).await;
    let ask = || Confirmation {
        title: format!("Revoke the consent to {client}?"),
        consequence: "Its refresh tokens and their access tokens stop working at once, and the user is asked \
                      again the next time the application wants to sign them in."
            .into(),
        button: "Revoke Consent",
        action: format!("users/{id}/consents/{client_id}/revoke"),
        cancel: format!("users/{id}"),
        fields: Vec::new(),
    };
    if let Some(page) = unless_confirmed(&cx, "users", &pairs, ask) {
        return page;
    }
    match s.app.users.revoke_consent(&cx.ctx, &cx.user.actor, &id, &client_id).await {
        Ok(()) => cx.to(&format!("users/{id}?m=consent_revoked")),
        Err(e) => cx.app_error(e),
    }
}
