//! The client form's values, from a client or from a post, and the
//! configuration fields they become. Only the fields the form showed
//! (its [`Shape`]) are sent: the preset fills the rest on create, and edit
//! leaves them as they are.

use latchkey_core::{ClientConfig, FieldError, GrantType, TenantSettings, TokenEndpointAuthMethod};
use serde_json::{Map, Value, json};

use super::client_shape::Shape;
use super::duration;
use super::{field, fields};

/// One list field of the form.
pub(crate) struct ListField {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub items: Vec<String>,
    pub pending: String,
}

/// The form's values, from a client or from a post.
pub(crate) struct FormState {
    pub name: String,
    pub description: String,
    pub lists: Vec<ListField>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub security_classes: Vec<String>,
    pub auth_method: String,
    pub jwks: String,
    pub jwks_uri: String,
    /// Durations as typed (`1h`), or as `duration::compact` writes them.
    pub lifetime: String,
    pub refresh_lifetime: String,
    pub id_lifetime: String,
    pub refresh_rotate: bool,
    pub reuse_grace: String,
    pub format: String,
    pub require_consent: bool,
    pub require_pkce: bool,
    pub labels: String,
    /// `""` (none), `viewer`, `tenant-admin` or `owner`.
    pub admin_role: String,
}

/// Name, label, hint of every list field.
const LISTS: [(&str, &str, &str); 6] = [
    (
        "redirect_uris",
        "Redirect URIs",
        "Where the authorization server may send the user back: https, or http on loopback, or a private-use scheme for native apps.",
    ),
    (
        "post_logout_redirect_uris",
        "Allowed Logout Redirect URIs",
        "Where the application may send the user after signing out.",
    ),
    (
        "allowed_cors_origins",
        "Allowed CORS Origins",
        "Origins (scheme://host[:port]) that may call the token, userinfo, revocation and introspection endpoints from a browser.",
    ),
    ("scopes", "Scopes", "Scopes the client may request; each must exist in this tenant's catalogue."),
    (
        "audiences",
        "Audiences",
        "Resources (RFC 8707) its access tokens may be for; the first is the default aud. None: the issuer.",
    ),
    (
        "allowed_groups",
        "Allowed Groups",
        "Only members of one of these groups may sign in through the client. None: everyone.",
    ),
];

/// Whether list field `name` is on the form of `shape`.
pub(crate) fn list_shown(shape: &Shape, name: &str) -> bool {
    match name {
        "redirect_uris" | "post_logout_redirect_uris" | "allowed_cors_origins" => shape.browser,
        "allowed_groups" => shape.users,
        _ => true,
    }
}

fn lifetime_text(v: Option<u32>) -> String {
    v.map(duration::compact).unwrap_or_default()
}

impl FormState {
    pub(crate) fn from_config(name: &str, description: &str, c: &ClientConfig) -> Self {
        let list = |n: &str| -> Vec<String> {
            match n {
                "redirect_uris" => c.redirect_uris.iter().map(|u| u.as_str().to_owned()).collect(),
                "post_logout_redirect_uris" => {
                    c.post_logout_redirect_uris.iter().map(|u| u.as_str().to_owned()).collect()
                }
                "allowed_cors_origins" => c.allowed_cors_origins.iter().map(|o| o.as_str().to_owned()).collect(),
                "audiences" => c.audiences.clone(),
                "allowed_groups" => c.allowed_groups.clone(),
                _ => c.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            }
        };
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            lists: LISTS
                .iter()
                .map(|(n, l, h)| ListField { name: n, label: l, hint: h, items: list(n), pending: String::new() })
                .collect(),
            grant_types: c.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            response_types: c.response_types.clone(),
            security_classes: c.security_classes.clone(),
            auth_method: c.token_endpoint_auth_method.as_str().to_owned(),
            jwks: c.jwks.clone().unwrap_or_default(),
            jwks_uri: c.jwks_uri.clone().unwrap_or_default(),
            lifetime: lifetime_text(c.access_token_lifetime),
            refresh_lifetime: lifetime_text(c.refresh_token_lifetime),
            id_lifetime: lifetime_text(c.id_token_lifetime),
            refresh_rotate: c.refresh_token_policy.rotate,
            reuse_grace: duration::compact(c.refresh_token_policy.reuse_grace_seconds),
            format: serde_json::to_value(c.access_token_format)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            require_consent: c.require_consent,
            require_pkce: c.require_pkce,
            labels: c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
            admin_role: c.admin_role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        }
    }

    pub(crate) fn from_post(pairs: &[(String, String)]) -> Self {
        let owned = |v: Vec<&str>| v.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        let text = |n: &str| field(pairs, n).trim().to_owned();
        Self {
            name: field(pairs, "name").to_owned(),
            description: field(pairs, "description").to_owned(),
            lists: LISTS
                .iter()
                .map(|(n, l, h)| ListField {
                    name: n,
                    label: l,
                    hint: h,
                    items: owned(fields(pairs, n)),
                    pending: field(pairs, &format!("{n}_new")).trim().to_owned(),
                })
                .collect(),
            grant_types: owned(fields(pairs, "grant_types")),
            response_types: owned(fields(pairs, "response_types")),
            security_classes: owned(fields(pairs, "security_classes")),
            auth_method: field(pairs, "token_endpoint_auth_method").to_owned(),
            jwks: text("jwks"),
            jwks_uri: text("jwks_uri"),
            lifetime: text("access_token_lifetime"),
            refresh_lifetime: text("refresh_token_lifetime"),
            id_lifetime: text("id_token_lifetime"),
            refresh_rotate: field(pairs, "refresh_rotate") == "on",
            reuse_grace: text("refresh_reuse_grace"),
            format: field(pairs, "access_token_format").to_owned(),
            require_consent: field(pairs, "require_consent") == "on",
            require_pkce: field(pairs, "require_pkce") == "on",
            labels: field(pairs, "labels").to_owned(),
            admin_role: field(pairs, "admin_role").to_owned(),
        }
    }

    /// Puts the protocol choices of another type's preset in place (the
    /// type changed on the create form); what was typed stays.
    pub(crate) fn take_preset(&mut self, preset: &ClientConfig) {
        let p = Self::from_config("", "", preset);
        self.grant_types = p.grant_types;
        self.response_types = p.response_types;
        self.auth_method = p.auth_method;
        self.require_pkce = p.require_pkce;
        if let (Some(mine), Some(theirs)) =
            (self.lists.iter_mut().find(|l| l.name == "scopes"), p.lists.into_iter().find(|l| l.name == "scopes"))
            && mine.items.is_empty()
        {
            mine.items = theirs.items;
        }
    }

    /// Handles an Add or Remove button; `true` when one was pressed.
    pub(crate) fn list_buttons(&mut self, pairs: &[(String, String)]) -> bool {
        let add = field(pairs, "add");
        let remove = field(pairs, "remove");
        if let Some(l) = self.lists.iter_mut().find(|l| l.name == add) {
            let v = std::mem::take(&mut l.pending);
            if !v.is_empty() && !l.items.contains(&v) {
                l.items.push(v);
            }
            return true;
        }
        if let Some((name, idx)) = remove.split_once(':')
            && let Some(l) = self.lists.iter_mut().find(|l| l.name == name)
        {
            if let Ok(i) = idx.parse::<usize>()
                && i < l.items.len()
            {
                l.items.remove(i);
            }
            return true;
        }
        false
    }

    /// Entries typed but not added count as added.
    pub(crate) fn take_pending(&mut self) {
        for l in &mut self.lists {
            let v = std::mem::take(&mut l.pending);
            if !v.is_empty() && !l.items.contains(&v) {
                l.items.push(v);
            }
        }
    }

    /// The configuration fields the form of `shape` showed, as the services
    /// take them; messages for what cannot even be sent.
    pub(crate) fn config_fields(
        &self,
        shape: &Shape,
        derive_response_types: bool,
    ) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut m = Map::new();
        for l in self.lists.iter().filter(|l| list_shown(shape, l.name)) {
            m.insert(l.name.into(), json!(l.items));
        }
        if let Some(g) = self.grant_types.iter().find(|g| !shape.grants.iter().any(|s| s.as_str() == g.as_str())) {
            errors.push(FieldError::new("grant_types", &format!("{g} is not offered for this type of client")));
        }
        m.insert("grant_types".into(), json!(self.grant_types));
        if shape.browser && !(derive_response_types && self.response_types.is_empty()) {
            m.insert("response_types".into(), json!(self.response_types));
        }
        m.insert("security_classes".into(), json!(self.security_classes));
        self.auth_fields(shape, &mut m, &mut errors);
        let lifetimes = [
            ("access_token_lifetime", &self.lifetime, true),
            ("refresh_token_lifetime", &self.refresh_lifetime, shape.refresh),
            ("id_token_lifetime", &self.id_lifetime, shape.users),
        ];
        // Bounds are the service's to check (its messages are put in
        // durations by `in_durations`), so they come with the other errors.
        for (name, text, _) in lifetimes.into_iter().filter(|l| l.2) {
            match duration::parse(text) {
                Ok(v) => {
                    m.insert(name.into(), json!(v));
                }
                Err(e) => errors.push(FieldError::new(name, e)),
            }
        }
        if shape.refresh {
            match duration::parse(&self.reuse_grace) {
                Ok(grace) => {
                    let policy = json!({"rotate": self.refresh_rotate, "reuse_grace_seconds": grace.unwrap_or(0)});
                    m.insert("refresh_token_policy".into(), policy);
                }
                Err(e) => errors.push(FieldError::new("refresh_token_policy", e)),
            }
        }
        if !matches!(self.format.as_str(), "jwt" | "opaque") {
            errors.push(FieldError::new("access_token_format", "choose JWT or opaque"));
        }
        m.insert("access_token_format".into(), json!(self.format));
        if shape.users {
            m.insert("require_consent".into(), json!(self.require_consent));
        }
        if shape.browser && shape.auth_methods.len() > 1 {
            m.insert("require_pkce".into(), json!(self.require_pkce));
        }
        self.other_fields(&mut m, &mut errors);
        if errors.is_empty() { Ok(m) } else { Err(errors) }
    }

    /// Authentication method and keys.
    fn auth_fields(&self, shape: &Shape, m: &mut Map<String, Value>, errors: &mut Vec<FieldError>) {
        if shape.auth_methods.len() > 1 {
            match self.auth_method.parse::<TokenEndpointAuthMethod>() {
                Ok(a) if shape.auth_methods.contains(&a) => {
                    m.insert("token_endpoint_auth_method".into(), json!(self.auth_method));
                }
                _ => errors.push(FieldError::new("token_endpoint_auth_method", "choose how the client authenticates")),
            }
        }
        if !shape.keys() {
            return;
        }
        let pkj = self.auth_method == TokenEndpointAuthMethod::PrivateKeyJwt.as_str();
        let opt = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
        if !self.jwks.is_empty() {
            let parsed: Result<Value, _> = serde_json::from_str(&self.jwks);
            match parsed {
                Ok(Value::Object(o)) if o.get("keys").is_some_and(Value::is_array) => {}
                Ok(_) => errors.push(FieldError::new("jwks", "must be a JWK Set: {\"keys\": [ … ]}")),
                Err(e) => errors.push(FieldError::new("jwks", &format!("is not JSON ({e})"))),
            }
        }
        if pkj && self.jwks.is_empty() && self.jwks_uri.is_empty() {
            errors.push(FieldError::new(
                "jwks_uri",
                "Private key JWT needs the client's public keys: give a JWK Set URL or paste the JWK Set",
            ));
        }
        m.insert("jwks".into(), opt(&self.jwks));
        m.insert("jwks_uri".into(), opt(&self.jwks_uri));
    }

    /// Labels and the admin role.
    fn other_fields(&self, m: &mut Map<String, Value>, errors: &mut Vec<FieldError>) {
        let mut labels = Map::new();
        for part in self.labels.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    labels.insert(k.trim().to_owned(), json!(v.trim()));
                }
                _ => errors.push(FieldError::new("labels", &format!("{part:?} is not key=value"))),
            }
        }
        m.insert("labels".into(), Value::Object(labels));
        match self.admin_role.as_str() {
            "" => {
                m.insert("admin_role".into(), Value::Null);
            }
            r if latchkey_core::AdminRole::parse(r).is_ok() => {
                m.insert("admin_role".into(), json!(r));
            }
            _ => errors.push(FieldError::new("admin_role", "choose none, viewer, tenant-admin or owner")),
        }
    }

    /// Whether `g` is ticked.
    pub(crate) fn has_grant(&self, g: GrantType) -> bool {
        self.grant_types.iter().any(|x| x == g.as_str())
    }
}

/// The service's lifetime messages ("between 60 and 3600 seconds") in the
/// durations the form uses.
pub(crate) fn in_durations(errors: Vec<FieldError>, settings: &TenantSettings) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            let max = match e.field.as_str() {
                "access_token_lifetime" => settings.max_access_token_lifetime,
                "refresh_token_lifetime" => settings.max_refresh_token_lifetime,
                "id_token_lifetime" => settings.max_id_token_lifetime,
                "refresh_token_policy" => {
                    let m =
                        format!("must be at most {}", duration::human(latchkey_core::rules::MAX_REUSE_GRACE_SECONDS));
                    return FieldError::new(&e.field, &m);
                }
                _ => return e,
            };
            let m = format!(
                "must be between {} and {} (the tenant's maximum)",
                duration::human(latchkey_core::tenant::MIN_TOKEN_LIFETIME),
                duration::human(max)
            );
            FieldError::new(&e.field, &m)
        })
        .collect()
}
