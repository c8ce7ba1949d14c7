//! `/` (and `/t/{tenant}/`): the front door. A browser is sent to the
//! console, which signs the person in; a client that asks for JSON gets a
//! short index of where things are.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;

use crate::AppState;
use crate::tenant::Tenant;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/", get(front_door))
}

/// Whether the caller asked for JSON rather than a page: `application/json`
/// named in `Accept` (any quality) and `text/html` not.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    let names =
        |t: &str| accept.split(',').any(|m| m.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(t)));
    names("application/json") && !names("text/html")
}

async fn front_door(State(s): State<AppState>, Tenant(ctx): Tenant, headers: HeaderMap) -> Response {
    let iss = &ctx.issuer;
    if !wants_json(&headers) {
        return Redirect::to(&format!("{iss}/console/")).into_response();
    }
    let index = json!({
        "issuer": iss,
        "openid_configuration": format!("{iss}/.well-known/openid-configuration"),
        "console": format!("{iss}/console/"),
        "admin_api": format!("{iss}/api/v1"),
        "openapi": format!("{iss}/api/v1/openapi.json"),
        "api_reference": format!("{}/api/docs", s.app.kernel.options().public_url),
    });
    (StatusCode::OK, Json(index)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, v.parse().unwrap());
        h
    }

    #[test]
    fn json_only_for_callers_that_ask_for_it_and_not_for_html() {
        assert!(wants_json(&accept("application/json")));
        assert!(wants_json(&accept("application/json;q=0.9, */*;q=0.1")));
        assert!(!wants_json(&accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")));
        assert!(!wants_json(&accept("text/html, application/json")));
        assert!(!wants_json(&accept("*/*")));
        assert!(!wants_json(&HeaderMap::new()));
    }
}
