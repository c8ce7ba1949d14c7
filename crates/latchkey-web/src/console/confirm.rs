//! One confirmation for every action that destroys or ends something
//! (revoking a secret, deleting a scope or a tenant, rotating signing keys,
//! resetting a password), as the client delete has: the first POST shows a
//! page naming what will stop working; the button on it posts again with
//! `confirmed=yes`. Works without script; the CSRF token travels along.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::view::Chrome;
use super::{Cx, field};

/// What a destructive action asks before it acts.
pub(crate) struct Confirmation {
    /// The question, e.g. "Delete scope invoices:read?".
    pub title: String,
    /// What stops working, in a sentence or two.
    pub consequence: String,
    /// The label of the confirming button.
    pub button: &'static str,
    /// The form's target, after `/console/`.
    pub action: String,
    /// Where Cancel leads, after `/console/`.
    pub cancel: String,
    /// Form fields to send again (besides CSRF and the confirmation).
    pub fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage<'a> {
    c: Chrome,
    k: &'a Confirmation,
}

/// The confirmation page, unless the form already says `confirmed=yes`.
pub(crate) fn unless_confirmed(
    cx: &Cx,
    nav: &'static str,
    pairs: &[(String, String)],
    ask: impl FnOnce() -> Confirmation,
) -> Option<Response> {
    if field(pairs, "confirmed") == "yes" {
        return None;
    }
    let k = ask();
    Some(cx.page(StatusCode::OK, &ConfirmPage { c: cx.chrome(nav, None), k: &k }))
}
