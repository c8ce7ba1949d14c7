//! Scopes and security classes: the catalogue pages, with what uses each
//! entry. An entry still in use cannot be deleted: its Delete button is off
//! and its row names the clients (and, for a scope, the classes) as links;
//! a delete posted anyway shows the same page with the reason above the
//! list. Deleting an unused entry asks first (`confirm.rs`).

use askama::Template;
use axum::Router;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_app::AppError;
use latchkey_app::admin::scopes::{ClassPatch, NewClass, NewScope, ScopePatch, Usage};

use super::admin_pages::{flash, query};
use super::catalogue::{self, Catalogue, Incoming};
use super::confirm::{Confirmation, unless_confirmed};
use super::view::{Chrome, time};
use super::{Cx, field, fields, param};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/scopes", get(catalogue::show::<Scopes>).post(create_scope))
        .route("/console/scopes/{name}", post(update_scope))
        .route("/console/scopes/{name}/delete", post(delete_scope))
        .route("/console/classes", get(catalogue::show::<Classes>).post(create_class))
        .route("/console/classes/{name}", post(update_class))
        .route("/console/classes/{name}/delete", post(delete_class))
}

macro_rules! try_page {
    ($cx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $cx.app_error(e),
        }
    };
}

/// Clients named in a row, at most; the rest are counted.
const SHOWN_USERS: usize = 5;

/// A client or class that uses an entry, as a link.
struct UseLink {
    href: String,
    label: String,
    /// `client` or `class`.
    kind: &'static str,
}

/// What uses an entry: links to the first few, and how many more there are.
#[derive(Default)]
struct UsedBy {
    links: Vec<UseLink>,
    more: usize,
}

impl UsedBy {
    async fn of(s: &AppState, cx: &Cx, usage: Usage) -> Self {
        let mut links = Vec::new();
        for id in usage.clients.iter().take(SHOWN_USERS) {
            let label = s.app.clients.get_client(&cx.ctx, id).await.map_or_else(|_| id.clone(), |c| c.name);
            links.push(UseLink { href: format!("{}/console/clients/{id}", cx.base), label, kind: "client" });
        }
        for c in &usage.classes {
            links.push(UseLink {
                href: format!("{}/console/classes#class-{c}", cx.base),
                label: c.clone(),
                kind: "class",
            });
        }
        Self { links, more: usage.clients.len().saturating_sub(SHOWN_USERS) }
    }

    fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

struct NamedRow {
    name: String,
    description: String,
    extra: Vec<String>,
    updated: String,
    used_by: UsedBy,
}

/// A delete that did nothing: the entry and what still uses it.
struct Blocked {
    name: String,
    used_by: UsedBy,
}

/// The create form of scopes and security classes, as it was sent.
#[derive(Default)]
struct NamedForm {
    name: String,
    description: String,
}

impl NamedForm {
    fn from_fields(fields: &[(String, String)]) -> Self {
        Self { name: field(fields, "name").trim().to_owned(), description: field(fields, "description").to_owned() }
    }
}

fn status_of(error: &Option<String>, blocked: &Option<Blocked>) -> StatusCode {
    if blocked.is_some() {
        StatusCode::CONFLICT
    } else if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

// ---- scopes ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/scopes.html")]
struct ScopesPage {
    c: Chrome,
    rows: Vec<NamedRow>,
    error: Option<String>,
    blocked: Option<Blocked>,
    name: String,
    description: String,
}

async fn scopes_page(
    s: &AppState,
    cx: &Cx,
    flash: Option<&'static str>,
    error: Option<String>,
    form: NamedForm,
    blocked: Option<Blocked>,
) -> Response {
    let list = try_page!(cx, s.app.scopes.list_scopes(&cx.ctx).await);
    let mut rows = Vec::with_capacity(list.len());
    for v in list {
        let usage = try_page!(cx, s.app.scopes.scope_usage(&cx.ctx, &v.name).await);
        let used_by = UsedBy::of(s, cx, usage).await;
        rows.push(NamedRow {
            name: v.name,
            description: v.description,
            extra: Vec::new(),
            updated: time(v.updated_at),
            used_by,
        });
    }
    let status = status_of(&error, &blocked);
    let page = ScopesPage {
        c: cx.chrome("scopes", flash),
        rows,
        error,
        blocked,
        name: form.name,
        description: form.description,
    };
    cx.page(status, &page)
}

struct Scopes;

impl Catalogue for Scopes {
    const PAGE: &'static str = "scopes";
    type Form = NamedForm;

    fn refill(fields: &[(String, String)]) -> NamedForm {
        NamedForm::from_fields(fields)
    }

    fn flash(parts: &Parts) -> Option<&'static str> {
        flash(&query(parts))
    }

    async fn page(
        s: &AppState,
        cx: &Cx,
        flash: Option<&'static str>,
        error: Option<String>,
        form: NamedForm,
    ) -> Response {
        scopes_page(s, cx, flash, error, form, None).await
    }
}

async fn create_scope(State(s): State<AppState>, i: Incoming) -> Response {
    catalogue::create::<Scopes, _>(&s, i, async |cx, f| {
        let NamedForm { name, description } = NamedForm::from_fields(f);
        s.app.scopes.create_scope(&cx.ctx, &cx.user.actor, NewScope { name, description }).await
    })
    .await
}

async fn update_scope(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    catalogue::change::<Scopes, _>(&s, i, "updated", async |cx, f| {
        let patch = ScopePatch { description: field(f, "description").to_owned() };
        s.app.scopes.update_scope(&cx.ctx, &cx.user.actor, &param(&params, "name"), patch).await
    })
    .await
}

/// `POST /console/scopes/{name}/delete`: refused with the users named while
/// it is in use, else after a confirmation.
async fn delete_scope(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    let name = param(&params, "name");
    let (cx, pairs) = match catalogue::enter_write(&s, i).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let blocked = async |cx: &Cx| {
        let usage = try_page!(cx, s.app.scopes.scope_usage(&cx.ctx, &name).await);
        let b = Blocked { name: name.clone(), used_by: UsedBy::of(&s, cx, usage).await };
        scopes_page(&s, cx, None, None, NamedForm::default(), Some(b)).await
    };
    let usage = try_page!(cx, s.app.scopes.scope_usage(&cx.ctx, &name).await);
    if !usage.is_empty() {
        return blocked(&cx).await;
    }
    let ask = || Confirmation {
        title: format!("Delete scope {name}?"),
        consequence: format!(
            "Clients can no longer be granted {name}: requests for it get invalid_scope, and refreshes \
             drop it. Tokens already issued keep it until they expire."
        ),
        button: "Delete Scope",
        action: format!("scopes/{}/delete", form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()),
        cancel: "scopes".into(),
        fields: Vec::new(),
    };
    if let Some(page) = unless_confirmed(&cx, "scopes", &pairs, ask) {
        return page;
    }
    match s.app.scopes.delete_scope(&cx.ctx, &cx.user.actor, &name).await {
        Ok(()) => cx.to("scopes?m=deleted"),
        // Taken into use since the page was shown.
        Err(AppError::Conflict(_)) => blocked(&cx).await,
        Err(e) => cx.app_error(e),
    }
}

// ---- security classes -------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/classes.html")]
struct ClassesPage {
    c: Chrome,
    rows: Vec<NamedRow>,
    scope_names: Vec<String>,
    error: Option<String>,
    blocked: Option<Blocked>,
    name: String,
    description: String,
}

async fn classes_page(
    s: &AppState,
    cx: &Cx,
    flash: Option<&'static str>,
    error: Option<String>,
    form: NamedForm,
    blocked: Option<Blocked>,
) -> Response {
    let list = try_page!(cx, s.app.scopes.list_classes(&cx.ctx).await);
    let scopes = try_page!(cx, s.app.scopes.list_scopes(&cx.ctx).await);
    let mut rows = Vec::with_capacity(list.len());
    for v in list {
        let usage = try_page!(cx, s.app.scopes.class_usage(&cx.ctx, &v.name).await);
        let used_by = UsedBy::of(s, cx, usage).await;
        rows.push(NamedRow {
            name: v.name,
            description: v.description,
            extra: v.scopes,
            updated: time(v.updated_at),
            used_by,
        });
    }
    let status = status_of(&error, &blocked);
    let page = ClassesPage {
        c: cx.chrome("classes", flash),
        rows,
        scope_names: scopes.into_iter().map(|s| s.name).collect(),
        error,
        blocked,
        name: form.name,
        description: form.description,
    };
    cx.page(status, &page)
}

struct Classes;

impl Catalogue for Classes {
    const PAGE: &'static str = "classes";
    type Form = NamedForm;

    fn refill(fields: &[(String, String)]) -> NamedForm {
        NamedForm::from_fields(fields)
    }

    fn flash(parts: &Parts) -> Option<&'static str> {
        flash(&query(parts))
    }

    async fn page(
        s: &AppState,
        cx: &Cx,
        flash: Option<&'static str>,
        error: Option<String>,
        form: NamedForm,
    ) -> Response {
        classes_page(s, cx, flash, error, form, None).await
    }
}

async fn create_class(State(s): State<AppState>, i: Incoming) -> Response {
    catalogue::create::<Classes, _>(&s, i, async |cx, f| {
        let NamedForm { name, description } = NamedForm::from_fields(f);
        let scopes = fields(f, "scopes").into_iter().map(str::to_owned).collect();
        s.app.scopes.create_class(&cx.ctx, &cx.user.actor, NewClass { name, description, scopes }).await
    })
    .await
}

async fn update_class(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    catalogue::change::<Classes, _>(&s, i, "updated", async |cx, f| {
        let patch = ClassPatch {
            description: Some(field(f, "description").to_owned()),
            scopes: Some(fields(f, "scopes").into_iter().map(str::to_owned).collect()),
        };
        s.app.scopes.update_class(&cx.ctx, &cx.user.actor, &param(&params, "name"), patch).await
    })
    .await
}

/// `POST /console/classes/{name}/delete`: refused with its clients named
/// while it has any, else after a confirmation.
async fn delete_class(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    let name = param(&params, "name");
    let (cx, pairs) = match catalogue::enter_write(&s, i).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let blocked = async |cx: &Cx| {
        let usage = try_page!(cx, s.app.scopes.class_usage(&cx.ctx, &name).await);
        let b = Blocked { name: name.clone(), used_by: UsedBy::of(&s, cx, usage).await };
        classes_page(&s, cx, None, None, NamedForm::default(), Some(b)).await
    };
    let usage = try_page!(cx, s.app.scopes.class_usage(&cx.ctx, &name).await);
    if !usage.is_empty() {
        return blocked(&cx).await;
    }
    let ask = || Confirmation {
        title: format!("Delete security class {name}?"),
        consequence: format!(
            "The class {name} and its bundle of scopes are removed, and it can no longer be chosen for a \
             client. No client is in it now, so no client loses a scope."
        ),
        button: "Delete Class",
        action: format!("classes/{}/delete", form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()),
        cancel: "classes".into(),
        fields: Vec::new(),
    };
    if let Some(page) = unless_confirmed(&cx, "classes", &pairs, ask) {
        return page;
    }
    match s.app.scopes.delete_class(&cx.ctx, &cx.user.actor, &name).await {
        Ok(()) => cx.to("classes?m=deleted"),
        Err(AppError::Conflict(_)) => blocked(&cx).await,
        Err(e) => cx.app_error(e),
    }
}
