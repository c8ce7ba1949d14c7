//! The client model (SPEC §2.1).
//!
//! `Client` is the stored record: identity and bookkeeping columns plus a
//! `ClientConfig` holding every protocol setting. Rules that decide whether a
//! configuration is acceptable live beside the types they constrain.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::grant::{GrantType, TokenEndpointAuthMethod};
use crate::ids::{ClientId, TenantId};
use crate::redirect::{CorsOrigin, RedirectUri};
use crate::role::AdminRole;
use crate::scope::ScopeSet;
use crate::time::UnixTime;

/// The preset a client was created from (SPEC §2.2); informative afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Machine to machine: client_credentials with a secret.
    M2m,
    /// Server-side web application: code + refresh with a secret.
    Web,
    /// Single-page or native app: code + PKCE, no secret. `native` is
    /// accepted on input as another name for it.
    #[serde(alias = "native")]
    Spa,
    /// Hybrid: `code id_token` from the front channel.
    Hybrid,
    /// Device or CLI: device code, no secret.
    Device,
    /// Provisioning connector: client_credentials with `users:*` scopes.
    Connector,
    /// Full control over every field.
    Custom,
}

impl ClientType {
    /// Every preset.
    pub const ALL: [Self; 7] =
        [Self::M2m, Self::Web, Self::Spa, Self::Hybrid, Self::Device, Self::Connector, Self::Custom];

    /// The preset's name on the wire (`m2m`, `web`, `spa`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M2m => "m2m",
            Self::Web => "web",
            Self::Spa => "spa",
            Self::Hybrid => "hybrid",
            Self::Device => "device",
            Self::Connector => "connector",
            Self::Custom => "custom",
        }
    }
}

impl fmt::Display for ClientType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ClientType {
    type Err = crate::grant::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == Self::NATIVE_ALIAS {
            return Ok(Self::Spa);
        }
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(crate::grant::UnknownValue)
    }
}

impl ClientType {
    /// Another name for [`ClientType::Spa`] accepted on input (a native app
    /// is a public client just like a single-page one); never returned.
    pub const NATIVE_ALIAS: &'static str = "native";
}

/// The schema lists `native` beside the presets, since requests may use it.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ClientType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut values: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
        values.push(Self::NATIVE_ALIAS);
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(values))
            .description(Some(
                "The preset a client was created from; `native` is accepted on input as another name for `spa`.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ClientType {}

/// `active` clients obtain tokens; `disabled` ones get `invalid_client` and
/// their tokens stop working at introspection and userinfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    /// `active`: may authenticate and obtain tokens.
    Active,
    /// `disabled`: refused with `invalid_client`; the tokens it already has are
    /// no longer honoured.
    Disabled,
}

impl ClientStatus {
    /// The status on the wire: `active` or `disabled`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// Parses `active` or `disabled`; `None` for anything else.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// Access tokens as RFC 9068 JWTs (the default) or as opaque handles that
/// only introspection can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenFormat {
    /// `jwt`: a signed RFC 9068 JWT that a resource server can check on its
    /// own.
    #[default]
    Jwt,
    /// `opaque`: a handle only Latchkey can read; resource servers ask the
    /// introspection endpoint (RFC 7662).
    Opaque,
}

/// Refresh-token rotation settings (SPEC §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct RefreshTokenPolicy {
    /// Whether every refresh hands out a new refresh token in place of the one
    /// presented; otherwise the same refresh token stays in use.
    pub rotate: bool,
    /// Seconds during which a just-rotated token may be presented again.
    pub reuse_grace_seconds: u32,
}

impl Default for RefreshTokenPolicy {
    fn default() -> Self {
        Self { rotate: true, reuse_grace_seconds: 0 }
    }
}

/// RFC 7591 descriptive metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ClientMetadata {
    /// A web page about the client (RFC 7591 §2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// The client's logo (RFC 7591 §2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Email addresses of the people responsible for the client; at most 10.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// The client's privacy policy, for its users to read (RFC 7591 §2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// The client's terms of service, for its users to read (RFC 7591 §2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
}

/// Every protocol setting of a client. Stored as one document so that a new
/// setting needs no schema change on either database.
//
// (Not in the doc comment, which the OpenAPI document shows.) Redirect URIs
// and CORS origins are parsed values: deserializing refuses malformed ones,
// so stored data is valid or fails loudly. Callers' input arrives as a
// `ClientDraft`, which reports every bad entry as a field error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ClientConfig {
    /// How the client authenticates at the token endpoint; `none` makes it a
    /// public client.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The grant types the client may use; any other gets
    /// `unauthorized_client`.
    pub grant_types: Vec<GrantType>,
    /// The `response_type` values the client may send to the authorization
    /// endpoint: `code`; the hybrid `code id_token`, `code token` and
    /// `code id_token token`; the implicit `token`, `id_token` and
    /// `id_token token` only where the tenant allows legacy grants.
    pub response_types: Vec<String>,
    /// Where the authorization endpoint may send the browser back to:
    /// absolute URIs without a fragment, `https` (or `http` on a loopback
    /// host, any port) or a private-use scheme for native apps; matched
    /// exactly, or under a wildcard parent the tenant approved.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub redirect_uris: Vec<RedirectUri>,
    /// Where the browser may be sent after the client asks to log the user out;
    /// same rules as `redirect_uris`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Browser origins allowed to call the token, userinfo, revocation and
    /// introspection endpoints for this client: `scheme://host[:port]`,
    /// `https` (or `http` on a loopback host).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub allowed_cors_origins: Vec<CorsOrigin>,
    /// The scopes the client may request; its security classes may add more.
    pub scopes: ScopeSet,
    /// The security classes (named bundles of scopes) the client belongs to;
    /// their scopes add to `scopes`.
    pub security_classes: Vec<String>,
    /// The resources its access tokens may be for (`aud`, RFC 8707); the first
    /// is the default. Empty: the issuer.
    pub audiences: Vec<String>,
    /// Access-token lifetime in seconds; `None` inherits the tenant default.
    pub access_token_lifetime: Option<u32>,
    /// Refresh-token lifetime in seconds; `None` inherits the tenant default.
    pub refresh_token_lifetime: Option<u32>,
    /// ID-token lifetime in seconds; `None` inherits the tenant default.
    pub id_token_lifetime: Option<u32>,
    /// Whether its access tokens are JWTs or opaque handles.
    pub access_token_format: AccessTokenFormat,
    /// Whether an authorization request for a code must carry a PKCE challenge;
    /// always on for public clients.
    pub require_pkce: bool,
    /// Whether users are asked to consent before the client gets their scopes;
    /// a remembered consent that covers the request is not asked again.
    pub require_consent: bool,
    /// Only users in one of these groups may sign in through the client (others
    /// get `access_denied`); empty: everyone.
    pub allowed_groups: Vec<String>,
    /// Whether refresh tokens rotate, and how long a rotated one may be
    /// presented again.
    pub refresh_token_policy: RefreshTokenPolicy,
    /// A JWK Set document for `private_key_jwt`, as JSON text.
    pub jwks: Option<String>,
    /// Where to fetch the client's public keys for `private_key_jwt`; give this
    /// or `jwks`, not both.
    pub jwks_uri: Option<String>,
    /// Descriptive metadata: home page, logo, contacts, policy and terms.
    pub metadata: ClientMetadata,
    /// Free-form `key=value` tags for finding and grouping clients; no protocol
    /// meaning.
    pub labels: BTreeMap<String, String>,
    /// The administrative role its own tokens (client_credentials with
    /// `admin` or `admin:read`) act with; `None`: no admin API access.
    /// Set only by an actor holding at least this role.
    pub admin_role: Option<AdminRole>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            grant_types: Vec::new(),
            response_types: Vec::new(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_cors_origins: Vec::new(),
            scopes: ScopeSet::default(),
            security_classes: Vec::new(),
            audiences: Vec::new(),
            access_token_lifetime: None,
            refresh_token_lifetime: None,
            id_token_lifetime: None,
            access_token_format: AccessTokenFormat::Jwt,
            require_pkce: true,
            require_consent: false,
            allowed_groups: Vec::new(),
            refresh_token_policy: RefreshTokenPolicy::default(),
            jwks: None,
            jwks_uri: None,
            metadata: ClientMetadata::default(),
            labels: BTreeMap::new(),
            admin_role: None,
        }
    }
}

impl ClientConfig {
    /// Whether people sign in through this client, so that tokens it
    /// obtains may carry a user's authority.
    #[must_use]
    pub fn acts_for_users(&self) -> bool {
        use GrantType::{AuthorizationCode, DeviceCode, Implicit, Password, TokenExchange};
        !self.response_types.is_empty()
            || self
                .grant_types
                .iter()
                .any(|g| matches!(g, AuthorizationCode | DeviceCode | Implicit | Password | TokenExchange))
    }

    /// The highest administrative authority a token obtained through this
    /// client can carry: its own `admin_role`, and `owner` when people sign
    /// in through it and it may ask for an admin scope
    /// (`admin_scope_allowed`: its scopes, with its security classes'), since
    /// an owner's token may then pass through it. Whoever changes the client
    /// (its secrets, redirect URIs, scopes, keys, role) must hold at least this.
    #[must_use]
    pub fn authority(&self, admin_scope_allowed: bool) -> Option<AdminRole> {
        let through_users = (admin_scope_allowed && self.acts_for_users()).then_some(AdminRole::Owner);
        self.admin_role.max(through_users)
    }

    /// Public clients hold no secret and authenticate with `none`.
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == TokenEndpointAuthMethod::None
    }
}

/// A stored client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The tenant the client belongs to.
    pub tenant: TenantId,
    /// The `client_id` it is known by; unique within the tenant.
    pub client_id: ClientId,
    /// Shown to people on the sign-in, consent and logout pages.
    pub name: String,
    /// What the client is for, for administrators.
    pub description: String,
    /// The preset it was created from; informative only.
    pub client_type: ClientType,
    /// Whether it may obtain tokens now.
    pub status: ClientStatus,
    /// Default clients: changing or deleting one needs an explicit force.
    pub protected: bool,
    /// Set when the client came from a declarative file.
    pub managed_by: Option<String>,
    /// When the client was created.
    pub created_at: UnixTime,
    /// When the client was last changed.
    pub updated_at: UnixTime,
    /// The id of the actor (user or client) that created it.
    pub created_by: String,
    /// When it last authenticated successfully; `None` if never. Written in
    /// batches, so it may lag a few seconds.
    pub last_used_at: Option<UnixTime>,
    /// Bumped on every write; the admin API's ETag.
    pub revision: i64,
    /// Every protocol setting.
    pub config: ClientConfig,
    /// When a disabled client was last enabled again: tokens issued before
    /// then stay invalid, so disabling a client ends its tokens for good.
    #[serde(default)]
    pub tokens_valid_after: Option<UnixTime>,
    /// The client's incarnation: random when it is created, changed on
    /// every disable and enable. Tokens, codes and refresh families carry
    /// the epoch they were issued under and die when it changes, so a
    /// client deleted and created again with the same id, or disabled and
    /// enabled within one second, does not revive them.
    #[serde(default)]
    pub token_epoch: i64,
}

impl Client {
    /// Whether the client may authenticate and obtain tokens (its status is
    /// `active`).
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.status == ClientStatus::Active
    }

    /// Whether a token of this client issued at `issued_at` under `epoch`
    /// may still be honoured: the client is active, is the incarnation
    /// that issued it, and was not disabled since.
    #[must_use]
    pub fn honours_token(&self, issued_at: UnixTime, epoch: i64) -> bool {
        self.is_active()
            && self.token_epoch == epoch
            && self.tokens_valid_after.is_none_or(|cutoff| issued_at >= cutoff)
    }
}

impl ClientType {
    /// The defaults a preset fills in (SPEC §2.2); the caller may change
    /// any of them before the client is saved.
    #[must_use]
    pub fn preset(self) -> ClientConfig {
        use GrantType::{AuthorizationCode, ClientCredentials, DeviceCode, RefreshToken};
        use TokenEndpointAuthMethod::{ClientSecretBasic, None as NoAuth};
        let (grants, auth, response_types): (Vec<GrantType>, _, &[&str]) = match self {
            Self::M2m | Self::Connector => (vec![ClientCredentials], ClientSecretBasic, &[]),
            Self::Web => (vec![AuthorizationCode, RefreshToken], ClientSecretBasic, &["code"]),
            Self::Spa => (vec![AuthorizationCode, RefreshToken], NoAuth, &["code"]),
            Self::Hybrid => (vec![AuthorizationCode, RefreshToken], ClientSecretBasic, &["code id_token"]),
            Self::Device => (vec![DeviceCode, RefreshToken], NoAuth, &[]),
            Self::Custom => (Vec::new(), ClientSecretBasic, &[]),
        };
        let mut config = ClientConfig {
            token_endpoint_auth_method: auth,
            grant_types: grants,
            response_types: response_types.iter().map(|s| (*s).to_owned()).collect(),
            ..ClientConfig::default()
        };
        if self == Self::Connector {
            config.scopes = ScopeSet::parse_param("users:read users:write").unwrap_or_default();
        }
        config
    }

    /// One line on when to use the preset, for the console and the CLI.
    #[must_use]
    pub const fn summary(self) -> &'static str {
        match self {
            Self::M2m => "Machine to machine: backend services and jobs; gets a secret.",
            Self::Web => "Web application: server-side app with redirect URIs; gets a secret.",
            Self::Spa => "Single-page or native app: PKCE, no secret.",
            Self::Hybrid => "Hybrid: the ID token comes from the front channel (code id_token); gets a secret.",
            Self::Device => "Device or CLI: input-constrained devices and command-line tools; no secret.",
            Self::Connector => "Provisioning connector: directory synchronisation with users:read and users:write.",
            Self::Custom => "Custom: full control over every field.",
        }
    }
}
