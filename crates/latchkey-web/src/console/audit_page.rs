//! The audit log page and the audit rows every page's history shows.
//! People and clients appear by name (linked), targets too; times in diffs
//! as dates. The log filters by action (a list), actor, target and a date
//! range, and leaves sign-in events out unless asked for.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::get;
use latchkey_app::AppError;
use latchkey_app::admin::{AuditSearch, AuditView};
use serde_json::Value;

use super::view::{Chrome, time};
use super::{Cx, enter, field};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/console/audit", get(audit))
}

/// The events of people signing in and out, hidden unless asked for.
const SIGN_IN_ACTIONS: [&str; 3] = ["user.login", "user.logout", "consent.grant"];

/// The actions the filter offers, grouped by what they act on.
const ACTIONS: &[(&str, &[&str])] = &[
    (
        "Clients",
        &[
            "client.create",
            "client.update",
            "client.delete",
            "client.disable",
            "client.enable",
            "client.secret_rotate",
            "client.secret_revoke",
        ],
    ),
    (
        "Users",
        &[
            "user.create",
            "user.update",
            "user.delete",
            "user.disable",
            "user.enable",
            "user.password",
            "user.password_reset",
        ],
    ),
    (
        "Sign-in",
        &[
            "user.login",
            "user.logout",
            "consent.grant",
            "consent.revoke",
            "device.approve",
            "device.deny",
            "device.revoke",
        ],
    ),
    ("Tokens", &["code.replay", "refresh.reuse", "refresh.revoke"]),
    ("Federation", &["federation.link", "federation.link_refused", "federation.provision", "federation.unlink"]),
    ("Groups (SCIM)", &["group.create", "group.update", "group.delete"]),
    (
        "Scopes and classes",
        &["scope.create", "scope.update", "scope.delete", "class.create", "class.update", "class.delete"],
    ),
    ("Tenant", &["tenant.create", "tenant.update", "tenant.delete", "tenant.bootstrap", "key.rotate"]),
    (
        "Outbound",
        &[
            "provider.create",
            "provider.update",
            "provider.delete",
            "remote_client.create",
            "remote_client.update",
            "remote_client.delete",
            "remote_client.secret_cleared",
            "authorization.create",
            "authorization.token",
            "authorization.reset",
        ],
    ),
];

/// One changed field of an audit event.
pub(crate) struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

pub(crate) struct AuditRow {
    pub time: String,
    /// The actor by name, e.g. `alice (user)`.
    pub actor: String,
    /// Where the actor's page is, when it has one.
    pub actor_href: Option<String>,
    pub action: String,
    /// The target by name when it is a user or a client that still exists.
    pub target: String,
    pub target_id: String,
    pub target_href: Option<String>,
    pub target_type: String,
    pub source: String,
    pub changes: Vec<Change>,
}

/// A value of a diff; `*_at` fields holding Unix seconds as dates.
fn show(field: &str, v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::Number(n) if is_time_field(field) => {
            n.as_i64().filter(|t| *t > 1_000_000_000).map_or_else(|| n.to_string(), time)
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_time_field(field: &str) -> bool {
    field.ends_with("_at") || matches!(field, "expires" | "not_after" | "valid_until")
}

/// Names of the users and clients some events mention, by id.
struct Names {
    users: HashMap<String, Option<String>>,
    clients: HashMap<String, Option<String>>,
    /// Users of the default tenant who acted here as its owners, with the
    /// page of each in the default tenant's console.
    platform: HashMap<String, (String, String)>,
}

impl Names {
    async fn of(s: &AppState, cx: &Cx, events: &[AuditView]) -> Self {
        let mut n = Self { users: HashMap::new(), clients: HashMap::new(), platform: HashMap::new() };
        for e in events {
            for (kind, id) in [(e.actor_type.as_str(), &e.actor), (e.target_type.as_str(), &e.target_id)] {
                match kind {
                    "user" if !n.users.contains_key(id) => {
                        let name = s.app.users.get_user(&cx.ctx, id).await.ok().map(|u| u.username);
                        if name.is_none() {
                            n.platform_user(s, id).await;
                        }
                        n.users.insert(id.clone(), name);
                    }
                    "client" if !n.clients.contains_key(id) => {
                        let name = s.app.clients.get_client(&cx.ctx, id).await.ok().map(|c| c.name);
                        n.clients.insert(id.clone(), name);
                    }
                    _ => {}
                }
            }
        }
        n
    }

    /// An owner of the default tenant who acted in another tenant.
    async fn platform_user(&mut self, s: &AppState, id: &str) {
        let Ok(home) = s.app.kernel.tenant(&latchkey_core::TenantId::default_tenant()).await else { return };
        if let Ok(u) = s.app.users.get_user(&home, id).await {
            let page = format!("{}/console/users/{id}", super::base_path(&home));
            self.platform.insert(id.to_owned(), (format!("{} of the default tenant", u.username), page));
        }
    }

    /// The name and page of an id of a kind, if it has them.
    fn find(&self, cx: &Cx, kind: &str, id: &str) -> Option<(String, String)> {
        if kind == "user"
            && matches!(self.users.get(id), Some(None))
            && let Some(p) = self.platform.get(id)
        {
            return Some(p.clone());
        }
        let (name, page) = match kind {
            "user" => (self.users.get(id)?.clone()?, format!("{}/console/users/{id}", cx.base)),
            "client" => (self.clients.get(id)?.clone()?, format!("{}/console/clients/{id}", cx.base)),
            _ => return None,
        };
        Some((name, page))
    }
}

impl AuditRow {
    /// The rows of some events, with users and clients shown by name.
    pub(crate) async fn rows(s: &AppState, cx: &Cx, events: &[AuditView]) -> Vec<Self> {
        let names = Names::of(s, cx, events).await;
        events
            .iter()
            .map(|e| {
                let (actor, actor_href) = match names.find(cx, &e.actor_type, &e.actor) {
                    Some((name, href)) => (format!("{name} ({})", e.actor_type), Some(href)),
                    None => (format!("{} ({})", e.actor, e.actor_type), None),
                };
                let (target, target_href) = match names.find(cx, &e.target_type, &e.target_id) {
                    Some((name, href)) => (name, Some(href)),
                    None => (e.target_id.clone(), None),
                };
                // Fields changed, then what else the event records (shown as set).
                let changes = e
                    .changes
                    .as_object()
                    .into_iter()
                    .chain(e.context.as_object())
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<serde_json::Map<_, _>>();
                let changes = Some(&changes)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let diff = v.get("before").is_some() || v.get("after").is_some();
                                Change {
                                    field: k.clone(),
                                    before: v.get("before").map_or_else(|| "—".into(), |b| show(k, b)),
                                    // A plain value (no before/after) is what was set.
                                    after: match v.get("after") {
                                        Some(a) => show(k, a),
                                        None if diff => "—".into(),
                                        None => show(k, v),
                                    },
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Self {
                    time: time(e.occurred_at),
                    actor,
                    actor_href,
                    action: e.action.clone(),
                    target,
                    target_id: e.target_id.clone(),
                    target_href,
                    target_type: e.target_type.clone(),
                    source: e.source_ip.clone().unwrap_or_default(),
                    changes,
                }
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditRow>,
    actions: &'static [(&'static str, &'static [&'static str])],
    action: String,
    actor: String,
    target_type: String,
    target_id: String,
    from: String,
    to: String,
    sign_ins: bool,
    next: Option<String>,
    error: Option<String>,
}

impl AuditPage {
    fn next_href(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("action", &self.action),
            ("actor", &self.actor),
            ("target_type", &self.target_type),
            ("target_id", &self.target_id),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if self.sign_ins {
            q.append_pair("sign_ins", "1");
        }
        if let Some(n) = &self.next {
            q.append_pair("cursor", n);
        }
        q.finish()
    }

    /// The chosen action is not in the list (typed into the URL).
    fn action_unlisted(&self) -> bool {
        !self.action.is_empty() && !ACTIONS.iter().any(|(_, list)| list.contains(&self.action.as_str()))
    }
}

/// `YYYY-MM-DD` as the Unix time of that day's start (UTC).
fn day_start(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-').map(str::parse::<i64>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (it.next(), it.next(), it.next()) else { return None };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

/// `GET /console/audit`.
async fn audit(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> axum::response::Response {
    let (cx, parts) = match enter(&s, tenant, src, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let q: Vec<(String, String)> = if parts.uri.query().unwrap_or("").len() > 8 * 1024 {
        Vec::new()
    } else {
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().take(20).collect()
    };
    let opt = |n: &str| Some(field(&q, n).trim().to_owned()).filter(|v| !v.is_empty());
    let (from, to) = (field(&q, "from").trim().to_owned(), field(&q, "to").trim().to_owned());
    let mut error = None;
    let mut day = |v: &str, what: &str| {
        if v.is_empty() {
            return None;
        }
        let t = day_start(v);
        if t.is_none() {
            error = Some(format!("The {what} date is not a date (YYYY-MM-DD)."));
        }
        t
    };
    let since = day(&from, "From");
    // "To" includes that whole day.
    let until = day(&to, "To").map(|t| t + 86_400);
    let sign_ins = field(&q, "sign_ins") == "1";
    let action = opt("action");
    // A chosen sign-in action is shown whatever the box says.
    let exclude_actions = if sign_ins || action.is_some() {
        Vec::new()
    } else {
        SIGN_IN_ACTIONS.iter().map(|a| (*a).to_owned()).collect()
    };
    let search = AuditSearch {
        action,
        actor: opt("actor"),
        target_type: opt("target_type"),
        target_id: opt("target_id"),
        since,
        until,
        exclude_actions,
        cursor: opt("cursor"),
        limit: Some(50),
        ..AuditSearch::default()
    };
    let (rows, next) = if error.is_some() {
        (Vec::new(), None)
    } else {
        match s.app.audit.search_audit(&cx.ctx, &search).await {
            Ok((items, next)) => (AuditRow::rows(&s, &cx, &items).await, next),
            Err(AppError::Validation(_)) => {
                error = Some("The filters or the page link are not valid.".to_owned());
                (Vec::new(), None)
            }
            Err(e) => return cx.app_error(e),
        }
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let page = AuditPage {
        c: cx.chrome("audit", None),
        rows,
        actions: ACTIONS,
        action: search.action.unwrap_or_default(),
        actor: search.actor.unwrap_or_default(),
        target_type: search.target_type.unwrap_or_default(),
        target_id: search.target_id.unwrap_or_default(),
        from,
        to,
        sign_ins,
        next,
        error,
    };
    cx.page(status, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_start_is_utc_midnight_and_refuses_non_dates() {
        assert_eq!(day_start("1970-01-01"), Some(0));
        assert_eq!(day_start("2026-12-04"), Some(1_796_342_400));
        assert_eq!(day_start("2024-02-29"), Some(1_709_164_800));
        for bad in ["", "2026-13-01", "2026-00-10", "26-1", "x-y-z", "2026-12-32"] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }

    #[test]
    fn diff_times_are_dates_and_other_numbers_stay() {
        assert_eq!(show("expires_at", &serde_json::json!(1_796_342_400)), time(1_796_342_400));
        assert_eq!(show("access_token_lifetime", &serde_json::json!(3600)), "3600");
        assert_eq!(show("created_at", &serde_json::json!(12)), "12", "not a plausible time");
    }
}
