//! The upstream authorization-code flow (SPEC §8, SECURITY-CHECKLIST 63):
//! an administrator obtaining an authorization once, and (in
//! [`super::federation`]) a person signing in with a provider.
//!
//! **Start.** A flow gets a random `state` (256 bits), a PKCE S256
//! verifier and a `nonce`. Its row (`remote_flows`) is keyed by the
//! state's SHA-256 and records the provider it was started with, the
//! browser it is bound to (the hash of a cookie value) and an envelope of
//! the verifier, nonce and what to do on return. An administrator's flow
//! starts from the admin API, which returns a Latchkey *start link*: a
//! sealed ticket that, opened in a browser, sets the binding cookie and
//! redirects to the provider. A sign-in flow is bound to the login page's
//! anchor cookie.
//!
//! **Return.** Each provider has its own callback, `{issuer}/remote/callback/{provider}`.
//! The callback takes the flow once (single use), then refuses, with a
//! readable page: a response at another provider's callback than the
//! flow's (mix-up), from another browser, with an `iss` (RFC 9207) other
//! than the provider's issuer or none when the provider promises one, an
//! error from the provider, a code the provider does not redeem, and an ID
//! token that is not the provider's (signature by its JWKS, `iss`, `aud`,
//! `exp`, the flow's `nonce`).

use latchkey_crypto::jws::pkce_s256;
use latchkey_crypto::secret::token_hash;
use latchkey_store::{RemoteClientRecord, RemoteFlowRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::RemoteService;
use super::authorizations::{Outcome, TokenAnswer};
use super::http::{JwksError, UpstreamRequest};
use super::{ProviderSettings, TokenParams, target};
use crate::AppError;
use crate::admin::Actor;
use crate::oidc::interaction::{BrowserCookies, Interaction};
use crate::tenants::TenantContext;

/// How long a flow may take from start to callback, in seconds.
pub const FLOW_LIFETIME: i64 = 600;
pub(crate) const KIND_AUTHORIZATION: &str = "authorization";
pub(crate) const KIND_SIGN_IN: &str = "sign_in";

/// What starting an authorization-code authorization returns.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeStart {
    /// Open this in a browser: it leads to the provider's login and back.
    pub authorization_url: String,
    /// The redirect URI to register at the provider for this provider.
    pub redirect_uri: String,
    /// The flow must be completed before this time (Unix seconds).
    pub expires_at: i64,
}

/// What a flow remembers, sealed in its row.
#[derive(Serialize, Deserialize)]
pub(crate) struct FlowData {
    pub(crate) verifier: String,
    pub(crate) nonce: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) redirect_uri: String,
    pub(crate) started_by: String,
    pub(crate) started_by_kind: String,
    /// Sign-in: the sealed authorization transaction to continue.
    pub(crate) tx: Option<String>,
    /// Sign-in on the device page: the user code typed there, to come back
    /// to (`Some("")` when none was typed yet).
    #[serde(default)]
    pub(crate) device: Option<String>,
}

/// The start link's content.
#[derive(Serialize, Deserialize)]
struct StartTicket {
    url: String,
    binder: String,
    created_at: i64,
}

/// Where the browser goes from a start link, and the cookie that binds the
/// flow to it.
#[derive(Clone)]
pub struct StartRedirect {
    pub location: String,
    pub binder: String,
}

impl std::fmt::Debug for StartRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartRedirect").field("location", &self.location).finish_non_exhaustive()
    }
}

/// The provider's answer at the callback (RFC 6749 §4.1.2, RFC 9207).
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// What the callback shows.
#[derive(Debug, Clone)]
pub enum CallbackOutcome {
    /// The authorization is stored.
    Done { title: String, message: String },
    /// Refused: a readable page, never a redirect.
    Failed { status: u16, message: String },
    /// A federated sign-in continues the authorization request.
    SignIn(Box<Interaction>),
}

fn failed(status: u16, message: &str) -> CallbackOutcome {
    CallbackOutcome::Failed { status, message: message.to_owned() }
}

pub(crate) fn hex_hash(s: &str) -> String {
    token_hash(s).iter().map(|b| format!("{b:02x}")).collect()
}

/// The redirect URI of a provider's callback in a tenant.
#[must_use]
pub fn callback_uri(ctx: &TenantContext, provider: &str) -> String {
    format!("{}/remote/callback/{provider}", ctx.issuer.trim_end_matches('/'))
}

pub(crate) fn provider_settings(settings: &str) -> Result<ProviderSettings, AppError> {
    serde_json::from_str(settings).map_err(|_| AppError::Internal("stored provider is invalid".into()))
}

/// Cuts a provider-supplied text to printable ASCII before it is shown.
fn clean(s: &str, max: usize) -> String {
    s.chars().filter(|c| (' '..='~').contains(c)).take(max).collect()
}

/// What [`RemoteService::begin_flow`](crate::remote::RemoteService::begin_flow) needs besides the remote client.
pub(crate) struct FlowStart<'a> {
    pub(crate) kind: &'static str,
    pub(crate) rc: &'a RemoteClientRecord,
    pub(crate) settings: &'a ProviderSettings,
    /// The cookie value the flow is bound to.
    pub(crate) browser_secret: &'a str,
    pub(crate) started_by: (&'a str, &'a str),
    pub(crate) tx: Option<String>,
    /// Sign-in from the device page: the user code to return with.
    pub(crate) device: Option<String>,
    /// Scopes when the remote client names none (sign-in: `openid email profile`).
    pub(crate) default_scope: Option<&'a str>,
}

/// What a provider's callback leads to.
pub(crate) enum Callback {
    /// The flow is over: show this.
    Done(CallbackOutcome),
    /// A sign-in flow whose ID token checked out: the sign-in service
    /// resolves the account.
    SignIn(Box<FederatedAnswer>),
}

/// A provider's checked answer to a sign-in flow.
pub(crate) struct FederatedAnswer {
    pub provider: String,
    pub settings: ProviderSettings,
    pub claims: Value,
    pub data: FlowData,
}

impl RemoteService {
    /// Stores a new flow and returns the provider's authorization URL.
    pub(crate) async fn begin_flow(
        &self,
        ctx: &TenantContext,
        f: FlowStart<'_>,
        audit: Option<&latchkey_store::AuditRecord>,
    ) -> Result<String, AppError> {
        let endpoint = f.settings.authorization_endpoint.as_deref().ok_or_else(|| {
            AppError::Conflict(format!("the provider {} has no authorization endpoint", f.rc.provider))
        })?;
        let (state, verifier, nonce) =
            (self.kernel.random_id(32), self.kernel.random_id(32), self.kernel.random_id(24));
        let redirect_uri = callback_uri(ctx, &f.rc.provider);
        let params: TokenParams = serde_json::from_str(&f.rc.params).unwrap_or_default();
        let scope = params
            .scope
            .clone()
            .or_else(|| (!f.settings.default_scopes.is_empty()).then(|| f.settings.default_scopes.join(" ")))
            .or_else(|| f.default_scope.map(str::to_owned));
        let mut url = url::Url::parse(endpoint)
            .map_err(|_| AppError::Conflict("the provider's authorization endpoint is not a URL".into()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &f.rc.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("state", &state);
            if let Some(s) = &scope {
                q.append_pair("scope", s);
                // OIDC Core §11: offline access is granted only with consent asked.
                if s.split(' ').any(|x| x == "offline_access") {
                    q.append_pair("prompt", "consent");
                }
            }
            if scope.as_deref().is_some_and(|s| s.split(' ').any(|x| x == "openid")) {
                q.append_pair("nonce", &nonce);
            }
            if f.settings.pkce {
                q.append_pair("code_challenge", &pkce_s256(&verifier)).append_pair("code_challenge_method", "S256");
            }
            if let Some(r) = &params.resource {
                q.append_pair("resource", r);
            }
            if let Some(a) = &params.audience {
                q.append_pair("audience", a);
            }
        }
        let state_hash = hex_hash(&state);
        let data = FlowData {
            verifier,
            nonce,
            namespace: f.rc.namespace.clone(),
            name: f.rc.name.clone(),
            redirect_uri,
            started_by: f.started_by.0.to_owned(),
            started_by_kind: f.started_by.1.to_owned(),
            tx: f.tx,
            device: f.device,
        };
        let plain = serde_json::to_vec(&data).map_err(|e| AppError::Internal(e.to_string()))?;
        let sealed = self
            .remote_envelope
            .seal(&plain, flow_aad(ctx, &state_hash).as_bytes())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let now = self.kernel.now();
        let rec = RemoteFlowRecord {
            state_hash,
            kind: f.kind.to_owned(),
            provider: f.rc.provider.clone(),
            browser_hash: hex_hash(f.browser_secret),
            sealed_data: sealed,
            created_at: now,
            expires_at: now + FLOW_LIFETIME,
            used_at: None,
        };
        self.kernel.store.insert_remote_flow(&ctx.id, &rec, audit).await?;
        // Expired flows of this tenant go with every new one.
        let _ = self.kernel.store.purge_remote_flows(&ctx.id, now).await;
        Ok(url.into())
    }

    /// Starts obtaining a remote client's authorization by the
    /// authorization-code flow: returns the link an administrator opens in
    /// a browser. Audited.
    ///
    /// # Errors
    /// `NotFound` for an unknown remote client, `Conflict` when its provider
    /// has no authorization or token endpoint, `Forbidden`.
    pub async fn start_authorization(
        &self,
        ctx: &TenantContext,
        actor: &Actor,
        namespace: &str,
        name: &str,
    ) -> Result<AuthorizeStart, AppError> {
        actor.require_write()?;
        let rc = self.kernel.store.get_remote_client(&ctx.id, namespace, name).await?.ok_or(AppError::NotFound)?;
        let provider = self.kernel.store.get_provider(&ctx.id, &rc.provider).await?.ok_or_else(|| {
            AppError::Conflict(format!("the provider {} of this remote client no longer exists", rc.provider))
        })?;
        let settings = provider_settings(&provider.settings)?;
        if settings.token_endpoint.is_none() {
            return Err(AppError::Conflict(format!("the provider {} has no token endpoint", rc.provider)));
        }
        let binder = self.kernel.random_id(32);
        let audit = self.kernel.audit_record(
            actor,
            "authorization.start",
            "authorization",
            &target(namespace, name),
            &json!({ "grant_type": "authorization_code", "provider": rc.provider }),
        );
        let start = FlowStart {
            kind: KIND_AUTHORIZATION,
            rc: &rc,
            settings: &settings,
            browser_secret: &binder,
            started_by: (&actor.id, actor.kind),
            tx: None,
            device: None,
            default_scope: None,
        };
        let url = self.begin_flow(ctx, start, Some(&audit)).await?;
        let now = self.kernel.now();
        let ticket = self
            .kernel
            .seal_json(ctx, "remote-start", &StartTicket { url, binder, created_at: now })
            .ok_or_else(|| AppError::Internal("sealing the start link failed".into()))?;
        Ok(AuthorizeStart {
            authorization_url: format!("{}/remote/start?ticket={ticket}", ctx.issuer.trim_end_matches('/')),
            redirect_uri: callback_uri(ctx, &rc.provider),
            expires_at: now + FLOW_LIFETIME,
        })
    }

    /// Opens a start link: where to send the browser and the cookie to set.
    /// `None` for a link that is not authentic or has expired.
    #[must_use]
    pub fn remote_start(&self, ctx: &TenantContext, ticket: &str) -> Option<StartRedirect> {
        let t: StartTicket = self.kernel.open_json(ctx, "remote-start", ticket)?;
        (self.kernel.now() - t.created_at < FLOW_LIFETIME)
            .then_some(StartRedirect { location: t.url, binder: t.binder })
    }

    /// `GET {issuer}/remote/callback/{provider}`: see the module comment.
    /// `binder` is the start link's cookie; sign-in flows use the anchor in
    /// `cookies`. A sign-in flow's checked claims go back to the caller
    /// (the sign-in service), which resolves them to a user.
    pub(crate) async fn callback(
        &self,
        ctx: &TenantContext,
        provider: &str,
        p: &CallbackParams,
        binder: Option<&str>,
        cookies: &BrowserCookies,
    ) -> Callback {
        match self.callback_inner(ctx, provider, p, binder, cookies).await {
            Ok(c) => c,
            Err(AppError::Unavailable) => {
                Callback::Done(failed(503, "The service is temporarily unavailable. Try again in a moment."))
            }
            Err(e) => {
                tracing::warn!(provider, error = %e, "an upstream callback failed");
                Callback::Done(failed(502, "The provider's answer could not be used. Start again."))
            }
        }
    }

    async fn callback_inner(
        &self,
        ctx: &TenantContext,
        provider: &str,
        p: &CallbackParams,
        binder: Option<&str>,
        cookies: &BrowserCookies,
    ) -> Result<Callback, AppError> {
        let Some(state) = p.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 200) else {
            return Ok(Callback::Done(failed(400, "This response from the provider has no valid state. Start again.")));
        };
        let Some(flow) = self.kernel.store.take_remote_flow(&ctx.id, &hex_hash(state), self.kernel.now()).await? else {
            return Ok(Callback::Done(failed(400, "This sign-in has expired or was already completed. Start again.")));
        };
        if flow.provider != provider {
            tracing::warn!(expected = %flow.provider, got = provider, "upstream response at another provider's callback");
            return Ok(Callback::Done(failed(
                400,
                "This response arrived for another provider than the one the flow was started with; it was refused. Start again.",
            )));
        }
        let browser = if flow.kind == KIND_SIGN_IN { cookies.anchor.as_deref() } else { binder };
        if browser.is_none_or(|b| hex_hash(b) != flow.browser_hash) {
            return Ok(Callback::Done(failed(
                403,
                "This response belongs to a flow started in another browser. Start again.",
            )));
        }
        let Some(rec) = self.kernel.store.get_provider(&ctx.id, provider).await? else {
            return Ok(Callback::Done(failed(400, "This provider no longer exists.")));
        };
        let settings = provider_settings(&rec.settings)?;
        // RFC 9207: the issuer the response names must be the provider's.
        match (&p.iss, &settings.issuer) {
            (Some(iss), Some(expected)) if iss != expected => {
                tracing::warn!(provider, "upstream response with another issuer (mix-up)");
                return Ok(Callback::Done(failed(
                    400,
                    "This response names another issuer than the provider's; it was refused (mix-up defence). Start again.",
                )));
            }
            (None, _) if settings.authorization_response_iss_parameter_supported => {
                return Ok(Callback::Done(failed(
                    400,
                    "The provider's response lacks its issuer (iss); it was refused. Start again.",
                )));
            }
            _ => {}
        }
        if let Some(err) = &p.error {
            let detail = p.error_description.as_deref().map(|d| format!(": {}", clean(d, 200))).unwrap_or_default();
            return Ok(Callback::Done(failed(
                400,
                &format!("The provider did not grant access ({}{detail}).", clean(err, 64)),
            )));
        }
        let Some(code) = p.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 4096) else {
            return Ok(Callback::Done(failed(400, "The provider's response has no code. Start again.")));
        };
        let plain = self
            .remote_envelope
            .open(&flow.sealed_data, flow_aad(ctx, &flow.state_hash).as_bytes())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let data: FlowData =
            serde_json::from_slice(&plain).map_err(|_| AppError::Internal("stored flow is invalid".into()))?;
        let Some(rc) = self.kernel.store.get_remote_client(&ctx.id, &data.namespace, &data.name).await? else {
            return Ok(Callback::Done(failed(400, "The remote client of this flow no longer exists.")));
        };
        if rc.provider != provider {
            return Ok(Callback::Done(failed(
                400,
                "The remote client of this flow now uses another provider. Start again.",
            )));
        }
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", data.redirect_uri.as_str()),
            ("code_verifier", data.verifier.as_str()),
        ];
        let answer = match self.ask_provider(ctx, &rc, &grant).await {
            Ok(Outcome::Tokens(a)) => a,
            Ok(Outcome::Refused(m)) => {
                return Ok(Callback::Done(failed(
                    400,
                    &format!("The provider did not accept the code ({m}). Start again."),
                )));
            }
            Err(AppError::Upstream(_) | AppError::Conflict(_)) => {
                return Ok(Callback::Done(failed(
                    502,
                    "The provider could not be reached to complete the flow. Try again.",
                )));
            }
            Err(e) => return Err(e),
        };
        let claims = match answer.id_token.as_deref() {
            Some(t) => match self.check_id_token(&settings, &rc.client_id, t, &data.nonce).await {
                Ok(c) => Some(c),
                Err(m) => {
                    return Ok(Callback::Done(failed(
                        400,
                        &format!("The provider's ID token was refused: {m}. Start again."),
                    )));
                }
            },
            None => None,
        };
        if flow.kind == KIND_SIGN_IN {
            let Some(mut claims) = claims else {
                return Ok(Callback::Done(failed(400, "The provider returned no ID token, so it cannot sign you in.")));
            };
            self.add_userinfo(&settings, &answer.access_token, &mut claims).await;
            return Ok(Callback::SignIn(Box::new(FederatedAnswer { provider: rec.name, settings, claims, data })));
        }
        self.store_code_authorization(ctx, &rc, answer, &data).await.map(Callback::Done)
    }

    async fn store_code_authorization(
        &self,
        ctx: &TenantContext,
        rc: &RemoteClientRecord,
        answer: TokenAnswer,
        data: &FlowData,
    ) -> Result<CallbackOutcome, AppError> {
        let lock = self.remote_flights.lock_for(format!("{}\0{}\0{}", ctx.id.as_str(), rc.namespace, rc.name));
        let _guard = lock.lock().await;
        let rec = self.record_from_answer(ctx, rc, "authorization_code", answer, None, None)?;
        let actor = Actor {
            id: data.started_by.clone(),
            kind: match data.started_by_kind.as_str() {
                "user" => "user",
                "system" => "system",
                _ => "client",
            },
            can_write: true,
            role: None,
            source_ip: None,
            request_id: None,
        };
        let changes = json!({ "grant_type": rec.grant_type, "scope": rec.scope, "expires_at": rec.expires_at });
        let tgt = target(&rc.namespace, &rc.name);
        let audit = self.kernel.audit_record(&actor, "authorization.create", "authorization", &tgt, &changes);
        self.kernel.store.put_authorization(&ctx.id, &rec, &audit).await?;
        Ok(CallbackOutcome::Done {
            title: "Authorization complete".into(),
            message: format!(
                "{tgt} is now authorized at the provider {}. Internal services can fetch its tokens; you can close this window.",
                rc.provider
            ),
        })
    }

    /// Fills claims the ID token lacks from the provider's userinfo
    /// endpoint (OIDC Core §5.3), when it answers JSON for the same `sub`.
    /// The ID token's claims are never overridden; failures leave them as
    /// they are.
    async fn add_userinfo(&self, settings: &ProviderSettings, access_token: &str, claims: &mut Value) {
        let Some(url) = settings.userinfo_endpoint.clone() else { return };
        let req = UpstreamRequest { url, form: None, basic: None, bearer: Some(access_token.to_owned()) };
        let Ok(resp) = self.kernel.upstream().send(req).await else { return };
        let Ok(Value::Object(info)) = serde_json::from_slice::<Value>(&resp.body) else { return };
        if resp.status != 200 || info.get("sub") != claims.get("sub") {
            return;
        }
        let Some(c) = claims.as_object_mut() else { return };
        for (k, v) in info {
            if !matches!(k.as_str(), "iss" | "aud" | "azp" | "exp" | "iat" | "nonce") {
                c.entry(k).or_insert(v);
            }
        }
    }

    /// OIDC Core §3.1.3.7 for an ID token from a provider: signature by a
    /// key of its JWKS, `iss`, `aud` (and `azp` with several audiences),
    /// `exp`, and the flow's `nonce`.
    pub(crate) async fn check_id_token(
        &self,
        settings: &ProviderSettings,
        client_id: &str,
        token: &str,
        nonce: &str,
    ) -> Result<Value, String> {
        let jwks_uri = settings.jwks_uri.as_deref().ok_or("the provider has no jwks_uri")?;
        let keys = super::http::fetch_jwks(&*self.kernel.upstream(), jwks_uri).await.map_err(|e| match e {
            JwksError::Fetch(e) => format!("its keys could not be fetched ({e})"),
            JwksError::NotJwks => "its keys are not a JWK Set".to_owned(),
        })?;
        let (_, payload) = keys.verify(token).map_err(|e| format!("signature: {e}"))?;
        let c: Value = serde_json::from_slice(&payload).map_err(|_| "its claims are not JSON")?;
        let s = |k: &str| c.get(k).and_then(Value::as_str);
        if settings.issuer.as_deref().is_none_or(|i| s("iss") != Some(i)) {
            return Err("it was issued by another issuer".into());
        }
        let auds: Vec<&str> = match c.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !auds.contains(&client_id) || (auds.len() > 1 && s("azp") != Some(client_id)) {
            return Err("it is meant for another client".into());
        }
        let now = self.kernel.now();
        if c.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp <= now - 30) {
            return Err("it has expired".into());
        }
        if s("nonce") != Some(nonce) {
            return Err("its nonce does not match this flow".into());
        }
        if s("sub").is_none_or(str::is_empty) {
            return Err("it names no subject".into());
        }
        Ok(c)
    }
}

fn flow_aad(ctx: &TenantContext, state_hash: &str) -> String {
    crate::sealing::remote_flow_aad(ctx.id.as_str(), state_hash)
}
