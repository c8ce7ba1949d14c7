//! What the client commands share: the accepted values, flag parsers and
//! API paths. A leaf: the client, update and secret commands import it.

use super::api::segment;

pub const AUTH_METHODS: [&str; 5] =
    ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"];
pub const GRANT_PREFIX: &str = "urn:ietf:params:oauth:grant-type:";

pub fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected key=value, got {s:?}")),
    }
}

/// `device_code` → its URN; other names unchanged.
pub fn grant_name(g: &str) -> String {
    match g {
        "device_code" | "device" => format!("{GRANT_PREFIX}device_code"),
        "token-exchange" | "token_exchange" => format!("{GRANT_PREFIX}token-exchange"),
        other => other.to_owned(),
    }
}

pub fn client_path(id: &str) -> String {
    format!("/clients/{}", segment(id))
}

pub fn force_query(force: bool) -> String {
    if force { "?force=true".into() } else { String::new() }
}
