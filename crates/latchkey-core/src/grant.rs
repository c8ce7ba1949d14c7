//! Grant types and client authentication methods, as enums.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// OAuth grant types (RFC 6749, RFC 8628, RFC 8693). `Password` and
/// `Implicit` are legacy: off unless the tenant allows legacy grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GrantType {
    /// `authorization_code`: trades a code from the authorization endpoint for
    /// tokens (RFC 6749 §4.1).
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    /// `client_credentials`: a client obtains a token for itself, no user
    /// involved (RFC 6749 §4.4).
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// `refresh_token`: trades a refresh token for a new access token
    /// (RFC 6749 §6).
    #[serde(rename = "refresh_token")]
    RefreshToken,
    /// The device authorization grant: a device without a browser polls while
    /// the user approves elsewhere (RFC 8628 §3.4).
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
    /// Token exchange: trades one security token for another (RFC 8693 §2.1).
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
    /// `password`: the client collects the user's password itself
    /// (RFC 6749 §4.3). Legacy.
    #[serde(rename = "password")]
    Password,
    /// `implicit`: tokens straight from the authorization endpoint
    /// (RFC 6749 §4.2). Legacy; a registration value only, never sent to the
    /// token endpoint.
    #[serde(rename = "implicit")]
    Implicit,
}

impl GrantType {
    /// Every grant type.
    pub const ALL: [Self; 7] = [
        Self::AuthorizationCode,
        Self::ClientCredentials,
        Self::RefreshToken,
        Self::DeviceCode,
        Self::TokenExchange,
        Self::Password,
        Self::Implicit,
    ];

    /// The `grant_type` value on the wire.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            Self::Password => "password",
            Self::Implicit => "implicit",
        }
    }

    /// Legacy grants (RFC 9700 §2.4, §2.1.2): never on by default.
    #[must_use]
    pub const fn is_legacy(self) -> bool {
        matches!(self, Self::Password | Self::Implicit)
    }
}

impl FromStr for GrantType {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|g| g.as_str() == s).ok_or(UnknownValue)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// `client_secret_basic`: the secret in an HTTP Basic `Authorization`
    /// header (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_secret_post`: the secret as the `client_secret` form parameter
    /// (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// `client_secret_jwt`: a JWT signed with the secret (RFC 7523). Refused at
    /// registration: not supported.
    ClientSecretJwt,
    /// `private_key_jwt`: a JWT signed with the client's private key
    /// (RFC 7523); needs `jwks` or `jwks_uri`.
    PrivateKeyJwt,
    /// `none`: no authentication at all; a public client.
    None,
}

impl TokenEndpointAuthMethod {
    /// Every authentication method.
    pub const ALL: [Self; 5] =
        [Self::ClientSecretBasic, Self::ClientSecretPost, Self::ClientSecretJwt, Self::PrivateKeyJwt, Self::None];

    /// The `token_endpoint_auth_method` value on the wire.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    /// Whether the method is a shared secret held by the server.
    #[must_use]
    pub const fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost | Self::ClientSecretJwt)
    }
}

impl FromStr for TokenEndpointAuthMethod {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|m| m.as_str() == s).ok_or(UnknownValue)
    }
}

impl fmt::Display for TokenEndpointAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no known enum value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownValue;

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown value")
    }
}

impl std::error::Error for UnknownValue {}
