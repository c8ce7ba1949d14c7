//! What one step of the browser flow hands back to the web layer: a page
//! to show or a response for the client, and the cookies to set. A leaf:
//! the sign-in flow and the upstream flows (remote code flow, federated
//! sign-in) both produce these.

use latchkey_core::authorize::ResponseMode;
use serde::Serialize;

/// A sign-in option on the login page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInOption {
    pub provider: String,
    pub display_name: String,
}

/// The cookies the browser sent that matter here.
#[derive(Clone, Default)]
pub struct BrowserCookies {
    /// The session handle.
    pub session: Option<String>,
    /// A random value that binds the login form to this browser.
    pub anchor: Option<String>,
}

impl std::fmt::Debug for BrowserCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserCookies")
            .field("session", &self.session.as_ref().map(|_| "****"))
            .field("anchor", &self.anchor.is_some())
            .finish()
    }
}

/// A scope with its consent-page description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

/// A page to show instead of answering the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The request cannot be answered at the client: never redirected.
    Error {
        status: u16,
        message: String,
    },
    Login {
        status: u16,
        tx: String,
        csrf: String,
        client_name: String,
        username: String,
        error: Option<String>,
        retry_after: Option<u32>,
        /// Providers offered as "Sign in with …" (federated sign-in).
        sign_in_options: Vec<SignInOption>,
    },
    Consent {
        tx: String,
        csrf: String,
        client_name: String,
        user: String,
        scopes: Vec<ScopeLine>,
    },
}

impl Page {
    pub(crate) fn error(status: u16, message: &str) -> Self {
        Self::Error { status, message: message.to_owned() }
    }
}

/// An authorization response for the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    /// In order; `iss` (RFC 9207) is always present.
    pub params: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Page(Page),
    Respond(AuthResponse),
    /// Go on at another page of this issuer (a path under it, e.g. the
    /// device page after signing in with a provider).
    Continue(String),
}

/// The result of one step of the browser flow, with the cookies to set.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub outcome: Outcome,
    /// A new session handle to store in the session cookie.
    pub set_session: Option<String>,
    /// A new anchor to store in the anchor cookie.
    pub set_anchor: Option<String>,
    /// Clear the session cookie (it named no live session).
    pub clear_session: bool,
}

impl Interaction {
    pub fn page(p: Page) -> Self {
        Self { outcome: Outcome::Page(p), set_session: None, set_anchor: None, clear_session: false }
    }
}
