//! The OAuth Clients list: search (server-side, refreshed as you type by
//! fetching the results fragment), filters, cursor pagination, and bulk
//! disable / delete / export of a selection.

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latchkey_app::admin::client_search::ClientSearch;
use latchkey_app::admin::clients::ClientView;
use latchkey_core::{ClientStatus, ClientType, GrantType};

use super::view::{Chrome, grant_label, opt_time, time, type_title};
use super::{Cx, enter, enter_post, field, fields};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/clients", get(list))
        .route("/console/clients/results", get(results))
        .route("/console/clients/bulk", post(bulk))
        .route("/console/clients/new", get(choose_type))
}

/// One row of the list.
pub(crate) struct Row {
    pub id: String,
    pub name: String,
    /// The preset it was made from ("Web application").
    pub kind: &'static str,
    pub grants: Vec<&'static str>,
    pub active: bool,
    pub created: String,
    /// When it last obtained a token ("Never").
    pub last_used: String,
    pub protected: bool,
}

impl Row {
    pub(crate) fn from_view(c: &ClientView) -> Self {
        Self {
            id: c.client_id.clone(),
            name: c.name.clone(),
            kind: type_title(c.client_type),
            grants: c.config.grant_types.iter().map(|g| grant_label(*g)).collect(),
            active: c.status == ClientStatus::Active,
            created: time(c.created_at),
            last_used: opt_time(c.last_used_at),
            protected: c.protected,
        }
    }

    /// The row, with the last use this node has counted but not yet written.
    fn with_use(s: &AppState, cx: &Cx, c: &ClientView) -> Self {
        Self { last_used: opt_time(s.app.tokens.last_use(&cx.ctx, &c.client_id, c.last_used_at)), ..Self::from_view(c) }
    }
}

/// The filters, as the form and the links repeat them.
#[derive(Default)]
pub(crate) struct Filters {
    pub q: String,
    pub client_type: String,
    pub grant_type: String,
    pub status: String,
    pub label: String,
    pub unused_days: String,
    pub expiring_days: String,
    /// One of [`SORTS`]; empty for the default (newest first).
    pub sort: String,
}

/// The orders the list offers: (value, label).
pub(crate) const SORTS: [(&str, &str); 5] = [
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("last_used_at", "Recently used"),
];

impl Filters {
    fn from_query(pairs: &[(String, String)]) -> Self {
        let f = |n: &str| field(pairs, n).trim().chars().take(200).collect::<String>();
        Self {
            q: f("q"),
            client_type: f("type"),
            grant_type: f("grant_type"),
            status: f("status"),
            label: f("label"),
            unused_days: f("unused_days"),
            expiring_days: f("secret_expires_within_days"),
            sort: Some(f("sort"))
                .filter(|s| SORTS.iter().any(|(v, _)| v == s) && s != "-created_at")
                .unwrap_or_default(),
        }
    }

    /// The query string of these filters (without a cursor).
    pub(crate) fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.q),
            ("type", &self.client_type),
            ("grant_type", &self.grant_type),
            ("status", &self.status),
            ("label", &self.label),
            ("unused_days", &self.unused_days),
            ("secret_expires_within_days", &self.expiring_days),
            ("sort", &self.sort),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }

    fn search(&self, cursor: &str) -> Result<ClientSearch, &'static str> {
        let opt = |s: &String| Some(s.clone()).filter(|s| !s.is_empty());
        let days = |s: &String, what: &'static str| -> Result<Option<u32>, &'static str> {
            if s.is_empty() { Ok(None) } else { s.parse::<u32>().map(Some).map_err(|_| what) }
        };
        Ok(ClientSearch {
            q: opt(&self.q),
            client_type: opt(&self.client_type),
            grant_type: opt(&self.grant_type),
            status: opt(&self.status),
            label: opt(&self.label),
            unused_days: days(&self.unused_days, "Unused for (days) must be a whole number.")?,
            secret_expires_within_days: days(
                &self.expiring_days,
                "Secret expires within (days) must be a whole number.",
            )?,
            sort: Some(if self.sort.is_empty() { "-created_at".into() } else { self.sort.clone() }),
            cursor: Some(cursor.to_owned()).filter(|c| !c.is_empty()),
            limit: Some(25),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.query().is_empty()
    }
}

/// The results region: table and pager.
pub(crate) struct Results {
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub paged: bool,
    pub filters: Filters,
    pub error: Option<String>,
    /// How many clients match, and whether there are more than that.
    pub total: Option<(u64, bool)>,
    /// Why a bulk action did nothing (nothing selected), shown above the table.
    pub bulk_problem: Option<&'static str>,
}

impl Results {
    /// "12 clients", or "3 clients match" when searched or filtered.
    pub(crate) fn count_text(&self) -> String {
        let Some((n, more)) = self.total else { return String::new() };
        let plus = if more { "+" } else { "" };
        let noun = if n == 1 && !more { "client" } else { "clients" };
        let Filters { sort: _, q, client_type, grant_type, status, label, unused_days, expiring_days } = &self.filters;
        let narrowed =
            [q, client_type, grant_type, status, label, unused_days, expiring_days].iter().any(|f| !f.is_empty());
        if narrowed { format!("{n}{plus} {noun} match") } else { format!("{n}{plus} {noun}") }
    }

    pub(crate) fn next_href(&self) -> String {
        let mut q = self.filters.query();
        if let Some(n) = &self.next {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&form_urlencoded::Serializer::new(String::new()).append_pair("cursor", n).finish());
        }
        q
    }
}

#[derive(Template)]
#[template(path = "console/clients.html")]
struct ListPage {
    c: Chrome,
    r: Results,
    types: Vec<(&'static str, &'static str)>,
    grants: Vec<(&'static str, &'static str)>,
    sorts: [(&'static str, &'static str); 5],
}

#[derive(Template)]
#[template(path = "console/client_results_only.html")]
struct ResultsFragment {
    c: Chrome,
    r: Results,
}

async fn load(s: &AppState, cx: &Cx, pairs: &[(String, String)]) -> Results {
    let filters = Filters::from_query(pairs);
    let cursor = field(pairs, "cursor");
    let empty = |filters, error: String| Results {
        rows: Vec::new(),
        next: None,
        paged: false,
        filters,
        error: Some(error),
        total: None,
        bulk_problem: None,
    };
    let search = match filters.search(cursor) {
        Ok(s) => s,
        Err(e) => return empty(filters, e.to_owned()),
    };
    let found = match s.app.clients.search_clients(&cx.ctx, &search).await {
        Ok(page) => s.app.clients.count_clients(&cx.ctx, &search).await.map(|total| (page, total)),
        Err(e) => Err(e),
    };
    match found {
        Ok(((items, next), total)) => Results {
            rows: items.iter().map(|c| Row::with_use(s, cx, c)).collect(),
            next,
            paged: !cursor.is_empty(),
            total: Some(total),
            filters,
            error: None,
            bulk_problem: None,
        },
        Err(latchkey_app::AppError::Validation(errs)) => {
            let text = errs.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
            empty(filters, format!("The filters are not valid ({text})."))
        }
        Err(_) => empty(filters, "The clients could not be loaded; please try again.".into()),
    }
}

fn query_pairs(parts: &axum::http::request::Parts) -> Vec<(String, String)> {
    let q = parts.uri.query().unwrap_or("");
    if q.len() > 8 * 1024 {
        return Vec::new();
    }
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn flash(pairs: &[(String, String)]) -> Option<&'static str> {
    match field(pairs, "m") {
        "deleted" => Some("The client was deleted; every token it held is now inactive."),
        "bulk_disabled" => Some("The selected clients were disabled."),
        "bulk_deleted" => Some("The selected clients were deleted; every token they held is now inactive."),
        _ => None,
    }
}

async fn list(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, parts) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pairs = query_pairs(&parts);
    let mut r = load(&s, &cx, &pairs).await;
    if field(&pairs, "e") == "none_selected" {
        r.bulk_problem = Some("Nothing was done: select one or more clients with the boxes in the first column first.");
    }
    let status = if r.error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    list_page(&cx, status, flash(&pairs), r)
}

fn list_page(cx: &Cx, status: StatusCode, flash: Option<&'static str>, r: Results) -> Response {
    let page = ListPage {
        c: cx.chrome("clients", flash),
        r,
        types: ClientType::ALL.iter().map(|t| (t.as_str(), type_title(*t))).collect(),
        grants: GrantType::ALL.iter().map(|g| (g.as_str(), grant_label(*g))).collect(),
        sorts: SORTS,
    };
    cx.page(status, &page)
}

/// The results region alone, for the search box's live update.
async fn results(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, parts) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let pairs = query_pairs(&parts);
    let r = load(&s, &cx, &pairs).await;
    let status = if r.error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    cx.page(status, &ResultsFragment { c: cx.chrome("clients", None), r })
}

#[derive(Template)]
#[template(path = "console/bulk_delete.html")]
struct BulkConfirmPage {
    c: Chrome,
    clients: Vec<Row>,
    /// Delete (else disable).
    delete: bool,
    verb: &'static str,
}

/// `POST /console/clients/bulk`: `action` = disable, delete or export, on
/// the selected `ids`; disable and delete after a confirmation
/// (`confirm=yes`). Nothing selected: the list again, with the reason.
async fn bulk(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, pairs) = match enter_post(&s, tenant, src, req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ids: Vec<&str> = fields(&pairs, "ids");
    if ids.is_empty() {
        // Back to the same list (its filters kept), with the reason above it.
        let filters: Vec<(String, String)> =
            form_urlencoded::parse(field(&pairs, "filters").as_bytes()).into_owned().take(20).collect();
        let mut q = Filters::from_query(&filters).query();
        q.push_str(if q.is_empty() { "e=none_selected" } else { "&e=none_selected" });
        return cx.to(&format!("clients?{q}#bulk-problem"));
    }
    if ids.len() > 500 {
        return cx.error(400, "Select at most 500 clients at once.");
    }
    let mut views = Vec::with_capacity(ids.len());
    for id in &ids {
        match s.app.clients.get_client(&cx.ctx, id).await {
            Ok(v) => views.push(v),
            Err(e) => return cx.app_error(e),
        }
    }
    match field(&pairs, "action") {
        "export" => export(&views),
        "disable" | "delete" if field(&pairs, "confirm") != "yes" => {
            let delete = field(&pairs, "action") == "delete";
            let page = BulkConfirmPage {
                c: cx.chrome("clients", None),
                clients: views.iter().map(Row::from_view).collect(),
                delete,
                verb: if delete { "Delete" } else { "Disable" },
            };
            cx.page(StatusCode::OK, &page)
        }
        "disable" => {
            for v in views.iter().filter(|v| !v.protected) {
                if let Err(e) = s
                    .app
                    .clients
                    .set_client_status(&cx.ctx, &cx.user.actor, &v.client_id, ClientStatus::Disabled, false)
                    .await
                {
                    return cx.app_error(e);
                }
            }
            cx.to("clients?m=bulk_disabled")
        }
        "delete" => {
            for v in views.iter().filter(|v| !v.protected) {
                if let Err(e) = s.app.clients.delete_client(&cx.ctx, &cx.user.actor, &v.client_id, false).await {
                    return cx.app_error(e);
                }
            }
            cx.to("clients?m=bulk_deleted")
        }
        _ => cx.error(400, "Choose Disable, Delete or Export."),
    }
}

/// The selected clients as JSON, without secrets (there are none to show).
fn export(views: &[ClientView]) -> Response {
    let items: Vec<serde_json::Value> = views
        .iter()
        .map(|v| {
            let mut j = serde_json::to_value(v).unwrap_or_default();
            if let Some(m) = j.as_object_mut() {
                m.remove("secrets");
            }
            j
        })
        .collect();
    let body = serde_json::to_string_pretty(&serde_json::json!({ "items": items })).unwrap_or_default();
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"clients.json\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Template)]
#[template(path = "console/new_type.html")]
struct TypePage {
    c: Chrome,
    types: Vec<(&'static str, &'static str, &'static str)>,
}

/// `GET /console/clients/new`: first, the type.
async fn choose_type(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, _) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !cx.can_write() {
        return cx.error(403, "Your role may read but not change anything.");
    }
    let types = ClientType::ALL
        .iter()
        .map(|t| (t.as_str(), type_title(*t), t.summary().split_once(": ").map_or(t.summary(), |(_, r)| r)))
        .collect();
    cx.page(StatusCode::OK, &TypePage { c: cx.chrome("clients", None), types })
}
