//! The shared shape of the catalogue pages (scopes, security classes,
//! providers, remote clients, authorizations, tenants): one list page with
//! a form on it, and form posts that create, change or delete an entry.
//!
//! A page implements [`Catalogue`]; its handlers are calls of [`show`],
//! [`create`], [`change`] and [`act`], which do what every catalogue post
//! does the same way: sign the user in and check the CSRF token and the
//! right to write ([`enter_post`]), call one service, and then go back to
//! the list with a flash (`?m=created`), show the page again with what was
//! wrong above the form (422), or show an error page.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::response::Response;
use latchkey_app::AppError;

use super::{Cx, enter, enter_post};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

/// One catalogue page.
pub(super) trait Catalogue {
    /// The list page under `/console/` (`scopes`); every post returns to it.
    const PAGE: &'static str;

    /// What the create form is filled with again after a problem (never a secret).
    type Form: Default + Send;

    /// The create form as it was sent.
    fn refill(_fields: &[(String, String)]) -> Self::Form {
        Self::Form::default()
    }

    /// The flash a `?m=` of the list page names.
    fn flash(parts: &Parts) -> Option<&'static str>;

    /// Which service errors are the form's fault: their message is shown
    /// above the form; any other error is an error page.
    fn problem(e: AppError) -> Result<String, AppError> {
        input_problem(e)
    }

    /// The list page, with a flash after a change, or with a problem and
    /// the form as it was sent (422).
    async fn page(
        s: &AppState,
        cx: &Cx,
        flash: Option<&'static str>,
        problem: Option<String>,
        form: Self::Form,
    ) -> Response;
}

/// Invalid fields and conflicts (a name taken, an entry in use): the input's fault.
pub(super) fn input_problem(e: AppError) -> Result<String, AppError> {
    match e {
        AppError::Validation(errs) => {
            Ok(errs.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "))
        }
        AppError::Conflict(m) => Ok(super::capitalize(&m)),
        other => Err(other),
    }
}

/// A console request as it arrives, before anyone is signed in: the
/// tenant, the caller's address and the request itself.
pub(super) struct Incoming {
    tenant: Result<Tenant, NoTenant>,
    source: Option<String>,
    req: Request,
}

impl FromRequest<AppState> for Incoming {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let tenant = Tenant::from_request_parts(&mut parts, state).await;
        let Ok(Source(source)) = Source::from_request_parts(&mut parts, state).await;
        Ok(Self { tenant, source, req: Request::from_parts(parts, body) })
    }
}

/// Signs in a form post that changes something (CSRF checked, a writing
/// role): the console request and the form's fields.
pub(super) async fn enter_write(s: &AppState, i: Incoming) -> Result<(Cx, Vec<(String, String)>), Response> {
    enter_post(s, i.tenant, i.source, i.req, true).await
}

/// As [`act`], for an action that destroys or ends something: the first
/// POST shows the confirmation `ask` builds (see `confirm.rs`). A refusal
/// that is the input's fault shows the list again with the reason.
pub(super) async fn act_confirmed<C: Catalogue, T>(
    s: &AppState,
    i: Incoming,
    done: &str,
    ask: impl FnOnce(&Cx) -> super::confirm::Confirmation,
    call: impl AsyncFnOnce(&Cx) -> Result<T, AppError>,
) -> Response {
    let (cx, pairs) = match enter_post(s, i.tenant, i.source, i.req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Some(page) = super::confirm::unless_confirmed(&cx, C::PAGE, &pairs, || ask(&cx)) {
        return page;
    }
    match call(&cx).await {
        Ok(_) => cx.to(&format!("{}?m={done}", C::PAGE)),
        // Refused (still in use, say): the list again, with the reason.
        Err(e) => match C::problem(e) {
            Ok(msg) => C::page(s, &cx, None, Some(msg), C::Form::default()).await,
            Err(e) => cx.app_error(e),
        },
    }
}

/// `GET /console/{PAGE}`: the list, with the flash its `?m=` names.
pub(super) async fn show<C: Catalogue>(State(s): State<AppState>, i: Incoming) -> Response {
    match enter(&s, i.tenant, i.source, i.req).await {
        Ok((cx, parts)) => C::page(&s, &cx, C::flash(&parts), None, C::Form::default()).await,
        Err(r) => r,
    }
}

/// A create form: `call` calls the service with the form's fields. Then the
/// list with `?m=created`, or the page again with the problem and the form
/// refilled.
pub(super) async fn create<C: Catalogue, T>(
    s: &AppState,
    i: Incoming,
    call: impl AsyncFnOnce(&Cx, &[(String, String)]) -> Result<T, AppError>,
) -> Response {
    let (cx, fields) = match enter_post(s, i.tenant, i.source, i.req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match call(&cx, &fields).await {
        Ok(_) => cx.to(&format!("{}?m=created", C::PAGE)),
        Err(e) => match C::problem(e) {
            Ok(msg) => C::page(s, &cx, None, Some(msg), C::refill(&fields)).await,
            Err(e) => cx.app_error(e),
        },
    }
}

/// A form that changes an entry (its row's form, not the create form):
/// `call` calls the service with the form's fields. Then the list with
/// `?m={done}`, or the page again with the problem above an empty create
/// form.
pub(super) async fn change<C: Catalogue, T>(
    s: &AppState,
    i: Incoming,
    done: &str,
    call: impl AsyncFnOnce(&Cx, &[(String, String)]) -> Result<T, AppError>,
) -> Response {
    let (cx, fields) = match enter_post(s, i.tenant, i.source, i.req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match call(&cx, &fields).await {
        Ok(_) => cx.to(&format!("{}?m={done}", C::PAGE)),
        Err(e) => match C::problem(e) {
            Ok(msg) => C::page(s, &cx, None, Some(msg), C::Form::default()).await,
            Err(e) => cx.app_error(e),
        },
    }
}

/// A button with nothing to fill in (delete, disable, enable): `call`
/// calls the service. Then the list with `?m={done}`, or an error page.
pub(super) async fn act<C: Catalogue, T>(
    s: &AppState,
    i: Incoming,
    done: &str,
    call: impl AsyncFnOnce(&Cx) -> Result<T, AppError>,
) -> Response {
    let (cx, _) = match enter_post(s, i.tenant, i.source, i.req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match call(&cx).await {
        Ok(_) => cx.to(&format!("{}?m={done}", C::PAGE)),
        Err(e) => cx.app_error(e),
    }
}
