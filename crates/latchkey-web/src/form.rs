//! Strict parsing of OAuth form requests and client credentials.
//!
//! RFC 6749 §3.1/§3.2: form-encoded POST bodies; parameters must not repeat;
//! empty values count as absent. Every malformed input becomes an RFC error,
//! never a rejection in a foreign format.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{HeaderMap, header};
use base64::Engine;
use latchkey_app::tokens::client_auth::PresentedAuth;
use latchkey_core::TokenError;
use percent_encoding::percent_decode;

use crate::AppState;
use crate::error::OAuthError;

/// The OAuth endpoints read at most this much body.
const MAX_FORM: usize = 64 * 1024;
/// Longest Authorization header we try to decode.
const MAX_AUTH_HEADER: usize = 4096;

/// Decodes one `application/x-www-form-urlencoded` component strictly.
fn decode_component(s: &str) -> Option<String> {
    let plus = s.replace('+', " ");
    percent_decode(plus.as_bytes()).decode_utf8().ok().map(std::borrow::Cow::into_owned)
}

/// A parsed form body.
#[derive(Debug, Default)]
pub(crate) struct Form {
    params: Vec<(String, String)>,
}

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, TokenError> {
        let text = std::str::from_utf8(body).map_err(|_| TokenError::invalid_request("the body is not valid UTF-8"))?;
        let mut params = Vec::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(k), Some(v)) = (decode_component(k), decode_component(v)) else {
                return Err(TokenError::invalid_request("a parameter is not valid UTF-8 after decoding"));
            };
            params.push((k, v));
        }
        Ok(Self { params })
    }

    /// The value of a parameter that may appear at most once. Empty values
    /// are treated as absent.
    pub(crate) fn single(&self, name: &str) -> Result<Option<&str>, TokenError> {
        let mut found = self.params.iter().filter(|(k, _)| k == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(TokenError::invalid_request(&format!("the parameter {name} is repeated")));
        }
        Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
    }

    /// Every parameter in order, repeats included.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.params
    }

    /// Rejects any repeated parameter (RFC 6749 §3.1).
    fn check_no_repeats(&self) -> Result<(), TokenError> {
        for (i, (k, _)) in self.params.iter().enumerate() {
            if self.params[..i].iter().any(|(k2, _)| k2 == k) {
                return Err(TokenError::invalid_request(&format!("the parameter {k} is repeated")));
            }
        }
        Ok(())
    }
}

/// An OAuth endpoint request: the form, the presented client credentials
/// and the caller's address.
#[derive(Debug)]
pub(crate) struct OAuthForm {
    pub form: Form,
    pub auth: Result<PresentedAuth, TokenError>,
    pub source: Option<String>,
}

impl FromRequest<AppState> for OAuthForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let source = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
        if req.uri().query().is_some_and(|q| q.contains("client_secret")) {
            return Err(TokenError::invalid_request("credentials are never accepted in the URL").into());
        }
        let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = ctype.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(TokenError::invalid_request("the body must be application/x-www-form-urlencoded").into());
        }
        let _ = state;
        let (parts, body) = req.into_parts();
        let body = read_limited(body).await?;
        let form = Form::parse(&body)?;
        form.check_no_repeats()?;
        let auth = client_auth(&parts.headers, &form);
        Ok(Self { form, auth, source })
    }
}

/// Reads at most 64 KiB. A larger body is read on (and thrown away) up to
/// 8 MiB so the client, still sending, receives the 413 instead of a reset.
pub(crate) async fn read_limited(body: axum::body::Body) -> Result<Bytes, OAuthError> {
    use futures_util::StreamExt;
    const DRAIN: usize = 8 * 1024 * 1024;
    let too_large = || {
        OAuthError(
            TokenError::invalid_request("the request body is too large (at most 64 KiB)"),
            Some(axum::http::StatusCode::PAYLOAD_TOO_LARGE),
        )
    };
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| TokenError::invalid_request("the request body could not be read"))?;
        seen += chunk.len();
        if seen <= MAX_FORM {
            buf.extend_from_slice(&chunk);
        } else if seen > DRAIN {
            return Err(too_large());
        }
    }
    if seen > MAX_FORM { Err(too_large()) } else { Ok(Bytes::from(buf)) }
}

fn bad_basic() -> TokenError {
    TokenError::invalid_client("the Authorization header is not valid Basic credentials")
}

/// Works out which client authentication the request presents (RFC 6749
/// §2.3.1): exactly one method.
pub(crate) fn client_auth(headers: &HeaderMap, form: &Form) -> Result<PresentedAuth, TokenError> {
    let body_id = form.single("client_id")?.map(str::to_owned);
    let body_secret = form.single("client_secret")?.map(str::to_owned);
    let assertion = form.single("client_assertion")?;
    let assertion_type = form.single("client_assertion_type")?;
    if assertion.is_some() || assertion_type.is_some() {
        use latchkey_app::tokens::client_assertion::{ASSERTION_TYPE, MAX_ASSERTION, claimed_client_id};
        let Some(assertion) = assertion.filter(|_| assertion_type == Some(ASSERTION_TYPE)) else {
            return Err(TokenError::invalid_request(
                "client_assertion and client_assertion_type (urn:ietf:params:oauth:client-assertion-type:jwt-bearer) go together",
            ));
        };
        if headers.contains_key(header::AUTHORIZATION) || body_secret.is_some() {
            return Err(TokenError::invalid_request("use one client authentication method, not two"));
        }
        if assertion.len() > MAX_ASSERTION {
            return Err(TokenError::invalid_client("the client assertion is too long"));
        }
        let claimed = claimed_client_id(assertion)
            .ok_or_else(|| TokenError::invalid_client("the client assertion is not a JWT naming its client"))?;
        if body_id.as_ref().is_some_and(|b| *b != claimed) {
            return Err(TokenError::invalid_client("client_id in the body differs from the client assertion"));
        }
        return Ok(PresentedAuth::Assertion { client_id: claimed, assertion: assertion.to_owned() });
    }
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let (id, secret) = parse_basic(value.as_bytes())?;
        if body_secret.is_some() {
            return Err(TokenError::invalid_request("use one client authentication method, not two"));
        }
        if body_id.as_ref().is_some_and(|b| *b != id) {
            return Err(TokenError::invalid_client("client_id in the body differs from the authenticated client"));
        }
        return Ok(PresentedAuth::Basic { client_id: id, secret });
    }
    match (body_id, body_secret) {
        (Some(client_id), Some(secret)) => Ok(PresentedAuth::Post { client_id, secret }),
        (Some(client_id), None) => Ok(PresentedAuth::None { client_id }),
        (None, Some(_)) => Err(TokenError::invalid_request("client_secret without client_id")),
        (None, None) => Err(TokenError::invalid_client("client authentication is required")),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
pub(crate) fn parse_basic(value: &[u8]) -> Result<(String, String), TokenError> {
    if value.len() > MAX_AUTH_HEADER {
        return Err(bad_basic());
    }
    let text = std::str::from_utf8(value).map_err(|_| bad_basic())?;
    let (scheme, rest) = text.trim().split_once(' ').ok_or_else(bad_basic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(TokenError::invalid_client("only Basic authentication is accepted here"));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(rest.trim()))
        .map_err(|_| bad_basic())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad_basic())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad_basic)?;
    let id = decode_component(id).ok_or_else(bad_basic)?;
    let secret = decode_component(secret).ok_or_else(bad_basic)?;
    if id.is_empty() {
        return Err(bad_basic());
    }
    Ok((id, secret))
}

#[cfg(test)]
mod tests;
