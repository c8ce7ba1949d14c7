//! The client list: filters, sorting and cursor pages over the store's
//! search (SPEC §2.4 operations, §5 list paging).

use latchkey_core::{Client, ClientId, ClientStatus, ClientType, GrantType};
use latchkey_store::{ClientQuery, ClientSort, SortKey};
use serde::Deserialize;

use super::clients::ClientAdmin;
use super::clients::ClientView;
use crate::AppError;
use crate::tenants::TenantContext;

impl ClientAdmin {
    /// One page of clients, filtered and sorted, with the cursor of the next.
    ///
    /// # Errors
    /// `Validation` for a malformed cursor or filter.
    pub async fn search_clients(
        &self,
        ctx: &TenantContext,
        p: &ClientSearch,
    ) -> Result<(Vec<ClientView>, Option<String>), AppError> {
        let limit = super::page_size(p.limit)?;
        let now = self.kernel.now();
        let mut query = query_of(p, now)?;
        let sort = query.sort;
        query.after = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                decode_cursor(c, sort)
                    .ok_or_else(|| AppError::field("cursor", "not a cursor this server issued for this sort"))?,
            ),
        };
        query.limit = limit + 1;
        let page = self.kernel.store.search_clients(&ctx.id, &query, now).await?;
        let more = page.len() > limit as usize;
        let items: Vec<Client> = page.into_iter().take(limit as usize).collect();
        let next = if more { items.last().map(|c| encode_cursor(c, sort)) } else { None };
        Ok((items.into_iter().map(|c| ClientView::summary(c, ctx)).collect(), next))
    }

    /// How many clients match the search's text and filters (not its page):
    /// the number, and whether there are more than that (counting stops at
    /// [`COUNT_CAP`] so that a count costs no more than a bounded read).
    ///
    /// # Errors
    /// `Validation` for a malformed filter.
    pub async fn count_clients(&self, ctx: &TenantContext, p: &ClientSearch) -> Result<(u64, bool), AppError> {
        let query = query_of(p, self.kernel.now())?;
        let n = self.kernel.store.count_clients(&ctx.id, &query, COUNT_CAP).await?;
        Ok(if n > u64::from(COUNT_CAP) { (u64::from(COUNT_CAP), true) } else { (n, false) })
    }
}

/// The store's query for a search's text, filters and sort (no cursor, no limit).
fn query_of(p: &ClientSearch, now: i64) -> Result<ClientQuery, AppError> {
    let sort = match p.sort.as_deref().unwrap_or("created_at") {
        "created_at" => ClientSort::CreatedAsc,
        "-created_at" => ClientSort::CreatedDesc,
        "name" => ClientSort::NameAsc,
        "-name" => ClientSort::NameDesc,
        "-last_used_at" | "last_used_at" => ClientSort::LastUsedDesc,
        _ => return Err(AppError::field("sort", "one of created_at, -created_at, name, -name, last_used_at")),
    };
    // Parsed once, so an alias (`native`) filters by the preset it names.
    let client_type = p
        .client_type
        .as_deref()
        .map(str::parse::<ClientType>)
        .transpose()
        .map_err(|_| AppError::field("type", "unknown client type"))?;
    if let Some(st) = &p.status
        && ClientStatus::parse(st).is_none()
    {
        return Err(AppError::field("status", "active or disabled"));
    }
    if let Some(g) = &p.grant_type
        && g.parse::<GrantType>().is_err()
    {
        return Err(AppError::field("grant_type", "unknown grant type"));
    }
    Ok(ClientQuery {
        q: p.q.clone().filter(|q| !q.trim().is_empty()).map(|q| q.trim().to_owned()),
        client_type: client_type.map(|t| t.as_str().to_owned()),
        grant_type: p.grant_type.clone(),
        status: p.status.clone(),
        label: p.label.clone(),
        unused_since: p.unused_days.map(|d| now - i64::from(d) * 86_400),
        secret_expires_between: p.secret_expires_within_days.map(|d| (now, now + i64::from(d) * 86_400)),
        sort,
        after: None,
        limit: 0,
    })
}

/// The largest count of clients the list states exactly ("10000+ clients" beyond).
pub const COUNT_CAP: u32 = 10_000;

/// Query parameters of the client list.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ClientSearch {
    /// Free text, case-insensitive: matches a substring of the name,
    /// description, client_id or one of the redirect URIs.
    pub q: Option<String>,
    /// The preset the client was created from (`m2m`, `web`, `spa`, …).
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", param(value_type = Option<ClientType>))]
    pub client_type: Option<String>,
    /// Clients allowed this grant type.
    #[cfg_attr(feature = "openapi", param(value_type = Option<GrantType>))]
    pub grant_type: Option<String>,
    /// `active` or `disabled`.
    #[cfg_attr(feature = "openapi", param(value_type = Option<ClientStatus>))]
    pub status: Option<String>,
    /// A label, as `key=value`.
    pub label: Option<String>,
    /// Clients not used for at least this many days.
    pub unused_days: Option<u32>,
    /// Clients with a secret expiring within this many days.
    pub secret_expires_within_days: Option<u32>,
    /// `created_at` (default), `-created_at`, `name`, `-name` or `last_used_at`
    /// (most recently used first, as is `-last_used_at`).
    #[cfg_attr(feature = "openapi", param(value_type = Option<ClientSortOrder>))]
    pub sort: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-500 (default 50); outside that range the request is refused (400).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500, default = 50))]
    pub limit: Option<u32>,
}

/// The orders of the client list: a field, descending with a leading `-`.
// Documentation only: `ClientSearch::sort` takes the string.
#[cfg(feature = "openapi")]
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub enum ClientSortOrder {
    #[schema(rename = "created_at")]
    CreatedAt,
    #[schema(rename = "-created_at")]
    CreatedAtDesc,
    #[schema(rename = "name")]
    Name,
    #[schema(rename = "-name")]
    NameDesc,
    #[schema(rename = "last_used_at")]
    LastUsedAt,
    #[schema(rename = "-last_used_at")]
    LastUsedAtDesc,
}

fn sort_key(c: &Client, sort: ClientSort) -> SortKey {
    match sort {
        ClientSort::CreatedAsc | ClientSort::CreatedDesc => SortKey::Int(c.created_at),
        ClientSort::NameAsc | ClientSort::NameDesc => SortKey::Text(c.name.to_lowercase()),
        ClientSort::LastUsedDesc => SortKey::Int(c.last_used_at.unwrap_or(0)),
    }
}

fn encode_cursor(c: &Client, sort: ClientSort) -> String {
    use base64::Engine;
    let key = match sort_key(c, sort) {
        SortKey::Int(v) => format!("i{v}"),
        SortKey::Text(t) => format!("t{t}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}\u{0}{key}", c.client_id))
}

fn decode_cursor(c: &str, sort: ClientSort) -> Option<(SortKey, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, key) = s.split_once('\u{0}')?;
    ClientId::parse(id).ok()?;
    let key = match (key.split_at_checked(1)?, sort) {
        (("i", v), ClientSort::CreatedAsc | ClientSort::CreatedDesc | ClientSort::LastUsedDesc) => {
            SortKey::Int(v.parse().ok()?)
        }
        (("t", v), ClientSort::NameAsc | ClientSort::NameDesc) => SortKey::Text(v.to_owned()),
        _ => return None,
    };
    Some((key, id.to_owned()))
}
