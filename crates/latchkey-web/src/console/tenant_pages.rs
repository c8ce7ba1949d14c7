//! Tenants, for owners of the default tenant: the list, creating one (its
//! first administrator's credentials are shown once), disabling, enabling
//! and deleting; and the sidebar's tenant switcher, which opens another
//! tenant's console under its own issuer (`{base}/t/{tenant}/console/`).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_app::AppError;
use latchkey_app::admin::tenants::{CreatedTenant, NewTenant, TenantView};
use latchkey_app::tenants::TenantContext;

use super::catalogue::{self, Catalogue, Incoming};
use super::confirm::Confirmation;
use super::view::{Chrome, time};
use super::{Cx, enter, enter_post, field, param, see_other};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/tenants", get(catalogue::show::<Tenants>).post(create_tenant))
        .route("/console/tenants/{id}/disable", post(disable))
        .route("/console/tenants/{id}/enable", post(enable))
        .route("/console/tenants/{id}/delete", post(delete))
        .route("/console/switch", get(switch))
}

/// The default tenant's context, for an owner of it (in its console or,
/// signed in there, in another tenant's): the sidebar then offers the
/// tenants page and the switcher.
pub(crate) fn platform_home(cx: &Cx) -> Option<Arc<TenantContext>> {
    if let Some(home) = &cx.user.platform {
        return Some(home.clone());
    }
    (cx.ctx.id == latchkey_core::TenantId::default_tenant()
        && cx.user.actor.role == Some(latchkey_core::AdminRole::Owner))
    .then(|| cx.ctx.clone())
}

struct TenantRow {
    v: TenantView,
    console: String,
    created: String,
}

#[derive(Template)]
#[template(path = "console/tenants.html")]
struct TenantsPage {
    c: Chrome,
    rows: Vec<TenantRow>,
    error: Option<String>,
    created: Option<CreatedTenant>,
}

async fn tenants_page(
    s: &AppState,
    cx: &Cx,
    flash: Option<&'static str>,
    error: Option<String>,
    created: Option<CreatedTenant>,
) -> Response {
    let list = match s.app.tenants.list_tenants(&cx.ctx, &cx.user.actor).await {
        Ok(l) => l,
        Err(e) => return cx.app_error(e),
    };
    let mut c = cx.chrome("tenants", flash);
    // The switcher knows a tenant created by this very request.
    c.tenants = list.iter().map(|t| t.tenant_id.clone()).collect();
    let rows = list
        .into_iter()
        .map(|v| TenantRow { console: format!("{}/console/", v.issuer), created: time(v.created_at), v })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    cx.page(status, &TenantsPage { c, rows, error, created })
}

struct Tenants;

impl Catalogue for Tenants {
    const PAGE: &'static str = "tenants";
    type Form = ();

    fn flash(parts: &Parts) -> Option<&'static str> {
        let q: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().take(10).collect();
        match field(&q, "m") {
            "disabled" => Some("The tenant is disabled: its endpoints answer 404."),
            "enabled" => Some("The tenant is active again."),
            "deleted" => Some("The tenant and everything in it were deleted."),
            _ => None,
        }
    }

    async fn page(s: &AppState, cx: &Cx, flash: Option<&'static str>, error: Option<String>, (): ()) -> Response {
        tenants_page(s, cx, flash, error, None).await
    }
}

async fn create_tenant(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, pairs) = match enter_post(&s, tenant, src, req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let new = NewTenant {
        tenant_id: field(&pairs, "tenant_id").trim().to_owned(),
        display_name: Some(field(&pairs, "display_name").trim().to_owned()).filter(|n| !n.is_empty()),
        settings: None,
    };
    match s.app.tenants.create_tenant(&cx.ctx, &cx.user.actor, new).await {
        Ok(created) => tenants_page(&s, &cx, Some("The tenant was created."), None, Some(created)).await,
        Err(AppError::Validation(f)) => {
            let msg = f.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
            tenants_page(&s, &cx, None, Some(msg), None).await
        }
        Err(AppError::Conflict(m)) => tenants_page(&s, &cx, None, Some(super::capitalize(&m)), None).await,
        Err(e) => cx.app_error(e),
    }
}

async fn disable(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    let id = param(&params, "id");
    let ask = |_: &Cx| Confirmation {
        title: format!("Disable tenant {id}?"),
        consequence: format!(
            "Every endpoint of {id} (sign-in, token, introspection, JWKS and its console) answers 404 at once: \
             nobody can sign in there and its clients get no tokens. Everything in it is kept: Enable brings \
             it back."
        ),
        button: "Disable Tenant",
        action: format!("tenants/{id}/disable"),
        cancel: "tenants".into(),
        fields: Vec::new(),
    };
    catalogue::act_confirmed::<Tenants, _>(&s, i, "disabled", ask, async |cx| {
        s.app.tenants.set_tenant_status(&cx.ctx, &cx.user.actor, &id, false).await
    })
    .await
}

async fn enable(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    catalogue::act::<Tenants, _>(&s, i, "enabled", async |cx| {
        s.app.tenants.set_tenant_status(&cx.ctx, &cx.user.actor, &param(&params, "id"), true).await
    })
    .await
}

async fn delete(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    let id = param(&params, "id");
    let ask = |_: &Cx| Confirmation {
        title: format!("Delete tenant {id}?"),
        consequence: format!(
            "Everything in {id} is deleted: its clients, users, scopes and keys. Every token, session and \
             sign-in of the tenant stops working at once, and its issuer answers 404. This cannot be undone."
        ),
        button: "Delete Tenant",
        action: format!("tenants/{id}/delete"),
        cancel: "tenants".into(),
        fields: Vec::new(),
    };
    catalogue::act_confirmed::<Tenants, _>(&s, i, "deleted", ask, async |cx| {
        s.app.tenants.delete_tenant(&cx.ctx, &cx.user.actor, &id).await
    })
    .await
}

/// `GET /console/switch?tenant=ID`: to that tenant's console (a GET form,
/// so the switcher works without script).
async fn switch(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, parts) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let q: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().take(10).collect();
    let wanted = field(&q, "tenant");
    if wanted == cx.ctx.id.as_str() {
        return cx.to("");
    }
    let Some(home) = platform_home(&cx) else {
        return cx.error(403, "Only owners of the default tenant may open other tenants.");
    };
    match s.app.tenants.list_tenants(&home, &cx.user.actor).await {
        Ok(list) => match list.into_iter().find(|t| t.tenant_id == wanted) {
            Some(t) => see_other(&format!("{}/console/", t.issuer)),
            None => cx.error(404, "There is no such tenant."),
        },
        Err(e) => cx.app_error(e),
    }
}
