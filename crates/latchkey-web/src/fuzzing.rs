//! The request parsers of this crate, reachable from outside for the fuzz
//! targets (`fuzz/`) and the stable test that replays their corpus
//! (`tests/fuzz_corpus.rs`). Not an API: nothing else calls these.

use axum::http::{HeaderMap, HeaderValue, header};
use latchkey_app::tokens::client_auth::PresentedAuth;

use crate::form::{Form, client_auth as presented, parse_basic};

/// An OAuth form body as the token endpoint reads it: every pair in order,
/// or `None` when the endpoint refuses the body.
#[must_use]
pub fn form(body: &[u8]) -> Option<Vec<(String, String)>> {
    Form::parse(body).ok().map(|f| f.pairs().to_vec())
}

/// An `Authorization: Basic` header value as `(client_id, secret)`,
/// decoded as RFC 6749 §2.3.1 says, or `None` when it is refused.
#[must_use]
pub fn basic(value: &[u8]) -> Option<(String, String)> {
    parse_basic(value).ok()
}

/// The client authentication a token request presents (header and body),
/// as `(method, client_id)`, or `None` when it is refused.
#[must_use]
pub fn client_auth(authorization: Option<&[u8]>, body: &[u8]) -> Option<(&'static str, String)> {
    let form = Form::parse(body).ok()?;
    let mut headers = HeaderMap::new();
    if let Some(v) = authorization {
        headers.insert(header::AUTHORIZATION, HeaderValue::from_bytes(v).ok()?);
    }
    Some(match presented(&headers, &form).ok()? {
        PresentedAuth::Basic { client_id, .. } => ("basic", client_id),
        PresentedAuth::Post { client_id, .. } => ("post", client_id),
        PresentedAuth::None { client_id } => ("none", client_id),
        PresentedAuth::Assertion { client_id, .. } => ("assertion", client_id),
    })
}
