//! Federated sign-in settings and group mapping; the sign-in itself is
//! `crate::oidc::federation`.
//!
//! Federated sign-in (SPEC §8, issue 6 item 5): a provider enabled as a
//! sign-in option shows a "Sign in with …" button on the login page.
//!
//! The button posts the sealed authorization transaction (with the login
//! form's CSRF token) to `/federation/start`, which starts an upstream
//! code flow ([`super::code_flow`]) bound to the login page's anchor
//! cookie, with the transaction sealed in the flow. At the callback the ID
//! token is checked (signature, `iss`, `aud`, `exp`, `nonce`), then the
//! upstream account (provider and `sub`) is resolved to a user: an existing
//! link; else the user named by `username_claim` (a claim the administrator
//! trusts at this provider); else, with `link_by_email` (off by default),
//! the one active user with that email **when the provider says it is
//! verified** (`email_verified: true`) — never an account holding a
//! writing admin role (owner, tenant-admin); else, with
//! `provision`, a new user (no password). Groups from `groups_claim`
//! (mapped by `group_map` when it is not empty) are added to the user; with
//! a `group_map`, the groups it maps to are the provider's to manage, so
//! one the person no longer has upstream is removed at the next sign-in
//! (when the claim is present). Without a map, groups are only added.
//! Then a session starts and the authorization request continues as after
//! a password sign-in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppError;
pub use crate::oidc::interaction::SignInOption;

/// A provider's sign-in settings (part of its settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignInSettings {
    /// The button reads "Sign in with {display_name}".
    pub display_name: String,
    /// The remote client (registered at this provider, with the callback
    /// `{issuer}/remote/callback/{provider}`) that signs people in.
    pub namespace: String,
    pub name: String,
    /// Trust this provider's verified email addresses: link to the one
    /// user with the same email when the provider marks it verified
    /// (`email_verified: true`). Default `false`: only for a provider that
    /// owns the addresses it vouches for.
    #[serde(default)]
    pub link_by_email: bool,
    /// Trust this claim of this provider: link to the user whose username
    /// is its value. Default none.
    #[serde(default)]
    pub username_claim: Option<String>,
    /// Create a user when none matches (just-in-time provisioning).
    #[serde(default)]
    pub provision: bool,
    /// A claim holding the person's groups (an array of strings).
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// Upstream group → Latchkey group. Empty: groups are taken as named
    /// and only ever added; otherwise only mapped groups are applied, and
    /// the groups it maps to follow the provider (removed when the person
    /// no longer has them there).
    #[serde(default)]
    pub group_map: BTreeMap<String, String>,
}

/// An upstream account linked to a user (the user signs in with it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FederatedLinkView {
    pub provider: String,
    /// The account's `sub` at the provider.
    pub subject: String,
    pub created_at: i64,
}

/// The "Sign in with …" form as submitted.
#[derive(Debug, Clone, Default)]
pub struct FederatedStartForm {
    pub tx: String,
    pub csrf: String,
    pub provider: String,
    /// From the device page (instead of a `tx`): the user code typed so far.
    pub device: Option<String>,
}

fn is_group(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub(crate) fn check_sign_in(s: &SignInSettings) -> Result<(), AppError> {
    let text_ok = |v: &str, max: usize| !v.trim().is_empty() && v.len() <= max && !v.chars().any(char::is_control);
    if !text_ok(&s.display_name, 100) {
        return Err(AppError::field("sign_in.display_name", "1-100 characters, no control characters"));
    }
    for (f, v) in [("sign_in.namespace", &s.namespace), ("sign_in.name", &s.name)] {
        latchkey_core::remote::check_name(v).map_err(|m| AppError::field(f, m))?;
    }
    for (f, v) in [("sign_in.username_claim", &s.username_claim), ("sign_in.groups_claim", &s.groups_claim)] {
        if v.as_deref().is_some_and(|c| !text_ok(c, 100)) {
            return Err(AppError::field(f, "1-100 characters, no control characters"));
        }
    }
    if s.group_map.len() > 100 || s.group_map.iter().any(|(k, v)| !text_ok(k, 200) || !is_group(v)) {
        return Err(AppError::field(
            "sign_in.group_map",
            "at most 100 entries; values are group names (A-Z a-z 0-9 . _ -)",
        ));
    }
    Ok(())
}

/// The groups the provider decides on for a person with these claims:
/// with a group map and the claim present, every group the map names;
/// otherwise none (groups are then only added).
pub(crate) fn managed_groups(s: &SignInSettings, claims: &Value) -> Vec<String> {
    let present = s.groups_claim.as_deref().and_then(|c| claims.get(c)).is_some_and(Value::is_array);
    if s.group_map.is_empty() || !present {
        return Vec::new();
    }
    s.group_map.values().cloned().collect()
}

/// A user's groups after a federated sign-in: `current` without the
/// managed groups the person no longer has, plus the mapped ones; sorted.
pub(crate) fn next_groups(current: &[String], mapped: &[String], managed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = current.iter().filter(|g| !managed.contains(g) || mapped.contains(g)).cloned().collect();
    out.extend(mapped.iter().cloned());
    out.sort();
    out.dedup();
    out
}

/// The groups a person's claims map to.
pub(crate) fn mapped_groups(s: &SignInSettings, claims: &Value) -> Vec<String> {
    let Some(claim) = s.groups_claim.as_deref() else { return Vec::new() };
    let upstream = claims.get(claim).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut out: Vec<String> = upstream
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|g| if s.group_map.is_empty() { Some(g) } else { s.group_map.get(g).map(String::as_str) })
        .filter(|g| is_group(g))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn mapped_groups_follow_the_provider_and_others_stay() {
        let si: SignInSettings = serde_json::from_value(json!({
            "display_name": "Corp", "namespace": "login", "name": "corp", "groups_claim": "groups",
            "group_map": { "engineering": "eng", "admins": "ops" }
        }))
        .unwrap();
        let claims = json!({ "groups": ["engineering", "sales"] });
        let mapped = mapped_groups(&si, &claims);
        assert_eq!(mapped, v(&["eng"]));
        let managed = managed_groups(&si, &claims);
        // ops (managed, no longer upstream) goes; staff (not managed) stays.
        assert_eq!(next_groups(&v(&["staff", "ops"]), &mapped, &managed), v(&["eng", "staff"]));
        // Without the claim nothing is taken away.
        assert!(managed_groups(&si, &json!({})).is_empty());
        assert_eq!(next_groups(&v(&["ops"]), &[], &managed_groups(&si, &json!({}))), v(&["ops"]));
        // Without a map, groups are taken as named and only added.
        let plain: SignInSettings = serde_json::from_value(json!({
            "display_name": "Corp", "namespace": "login", "name": "corp", "groups_claim": "groups"
        }))
        .unwrap();
        let mapped = mapped_groups(&plain, &claims);
        assert_eq!(mapped, v(&["engineering", "sales"]));
        assert_eq!(
            next_groups(&v(&["ops"]), &mapped, &managed_groups(&plain, &claims)),
            v(&["engineering", "ops", "sales"])
        );
    }
}
