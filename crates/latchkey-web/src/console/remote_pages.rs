//! The outbound side (SPEC §8) in the console: providers, remote clients
//! (their secrets are write-only: typed once, stored sealed, shown only as
//! a hint) and authorizations (never their tokens).

use askama::Template;
use axum::Router;
use axum::extract::{RawPathParams, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};
use latchkey_app::AppError;
use latchkey_app::remote::authorizations::{AuthorizationView, NewAuthorization};
use latchkey_app::remote::{
    NewProvider, NewRemoteClient, ProviderView, RemoteAuthMethod, RemoteClientView, RemoteSecret, TokenParams,
};

use super::catalogue::{self, Catalogue, Incoming};
use super::confirm::Confirmation;
use super::view::{Chrome, opt_time, time};
use super::{Cx, enter_post, field, param};
use crate::AppState;
use crate::tenant::{NoTenant, Source, Tenant};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/providers", get(catalogue::show::<Providers>).post(create_provider))
        .route("/console/providers/{name}/delete", post(delete_provider))
        .route("/console/remote-clients", get(catalogue::show::<RemoteClients>).post(create_remote_client))
        .route("/console/remote-clients/{namespace}/{name}/delete", post(delete_remote_client))
        .route("/console/remote-clients/{namespace}/{name}/secret", post(set_remote_secret))
        .route("/console/authorizations", get(catalogue::show::<Authorizations>).post(create_authorization))
        .route("/console/authorizations/{namespace}/{name}/delete", post(delete_authorization))
}

fn flash(parts: &Parts) -> Option<&'static str> {
    let q: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().take(10).collect();
    match field(&q, "m") {
        "created" => Some("Created."),
        "deleted" => Some("Deleted."),
        "secret" => Some("The new secret was stored; it will not be shown again."),
        _ => None,
    }
}

/// Which service errors of a form are shown above it: invalid fields, and
/// what the provider or the named objects made impossible.
fn problem(e: AppError) -> Result<String, AppError> {
    match e {
        AppError::Validation(f) => {
            Ok(f.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))
        }
        AppError::Conflict(m) | AppError::Upstream(m) | AppError::NeedsReauthorization(m) => Ok(super::capitalize(&m)),
        AppError::NotFound => Ok("The named provider or remote client does not exist.".into()),
        other => Err(other),
    }
}

/// A service error of a form: shown above the form, or as an error page.
fn form_error(cx: &Cx, e: AppError) -> Result<String, Response> {
    problem(e).map_err(|e| cx.app_error(e))
}

// ---- providers ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "console/providers.html")]
struct ProvidersPage {
    c: Chrome,
    rows: Vec<ProviderView>,
    error: Option<String>,
}

struct Providers;

impl Catalogue for Providers {
    const PAGE: &'static str = "providers";
    type Form = ();

    fn flash(parts: &Parts) -> Option<&'static str> {
        flash(parts)
    }

    fn problem(e: AppError) -> Result<String, AppError> {
        problem(e)
    }

    async fn page(s: &AppState, cx: &Cx, flash: Option<&'static str>, error: Option<String>, (): ()) -> Response {
        let rows = match s.app.remote.list_providers(&cx.ctx).await {
            Ok(r) => r,
            Err(e) => return cx.app_error(e),
        };
        let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        cx.page(status, &ProvidersPage { c: cx.chrome("providers", flash), rows, error })
    }
}

async fn create_provider(State(s): State<AppState>, i: Incoming) -> Response {
    catalogue::create::<Providers, _>(&s, i, async |cx, f| {
        let mut new = provider_form(f, "");
        new.pkce = Some(field(f, "pkce") == "on");
        let scopes: Vec<String> = field(f, "default_scopes").split_whitespace().map(str::to_owned).collect();
        new.default_scopes = Some(scopes);
        s.app.remote.create_provider(&cx.ctx, &cx.user.actor, new).await
    })
    .await
}

/// The provider fields of a form, their names prefixed with `prefix`: the
/// Providers page's form (no prefix) and the one inside the remote-client
/// form (`new_provider_`).
fn provider_form(pairs: &[(String, String)], prefix: &str) -> NewProvider {
    let get = |n: &str| field(pairs, &format!("{prefix}{n}")).trim().to_owned();
    let opt = |n: &str| Some(get(n)).filter(|v| !v.is_empty());
    let method = match get("token_endpoint_auth_method").as_str() {
        "client_secret_post" => Some(RemoteAuthMethod::ClientSecretPost),
        "private_key_jwt" => Some(RemoteAuthMethod::PrivateKeyJwt),
        "client_secret_basic" => Some(RemoteAuthMethod::ClientSecretBasic),
        // As the discovery document advertises (HTTP Basic otherwise).
        _ => None,
    };
    NewProvider {
        name: get("name"),
        discovery_url: opt("discovery_url"),
        issuer: opt("issuer"),
        authorization_endpoint: opt("authorization_endpoint"),
        token_endpoint: opt("token_endpoint"),
        token_endpoint_auth_method: method,
        ..NewProvider::default()
    }
}

fn path_part(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

async fn delete_provider(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    let name = param(&params, "name");
    let ask = |_: &Cx| Confirmation {
        title: format!("Delete provider {name}?"),
        consequence: format!(
            "Latchkey forgets {name}'s endpoints and settings. A provider that remote clients still use is \
             kept: delete or move those remote clients first."
        ),
        button: "Delete Provider",
        action: format!("providers/{}/delete", path_part(&name)),
        cancel: "providers".into(),
        fields: Vec::new(),
    };
    catalogue::act_confirmed::<Providers, _>(&s, i, "deleted", ask, async |cx| {
        s.app.remote.delete_provider(&cx.ctx, &cx.user.actor, &name).await
    })
    .await
}

// ---- remote clients ------------------------------------------------------------

/// What the remote-client form was last filled with (never the secret),
/// so an error does not lose it.
#[derive(Default)]
struct RemoteForm {
    namespace: String,
    name: String,
    provider: String,
    client_id: String,
    scope: String,
    audience: String,
    /// The "+" sub-form: a provider created with the remote client.
    new_provider: bool,
    np_name: String,
    np_discovery_url: String,
    np_issuer: String,
    np_token_endpoint: String,
    np_method: String,
}

#[derive(Template)]
#[template(path = "console/remote_clients.html")]
struct RemoteClientsPage {
    c: Chrome,
    rows: Vec<RemoteClientView>,
    providers: Vec<String>,
    error: Option<String>,
    form: RemoteForm,
}

struct RemoteClients;

impl Catalogue for RemoteClients {
    const PAGE: &'static str = "remote-clients";
    type Form = RemoteForm;

    fn flash(parts: &Parts) -> Option<&'static str> {
        flash(parts)
    }

    fn problem(e: AppError) -> Result<String, AppError> {
        problem(e)
    }

    async fn page(
        s: &AppState,
        cx: &Cx,
        flash: Option<&'static str>,
        error: Option<String>,
        form: RemoteForm,
    ) -> Response {
        let rows = match s.app.remote.list_remote_clients(&cx.ctx).await {
            Ok(r) => r,
            Err(e) => return cx.app_error(e),
        };
        let providers = match s.app.remote.list_providers(&cx.ctx).await {
            Ok(p) => p.into_iter().map(|p| p.name).collect(),
            Err(e) => return cx.app_error(e),
        };
        let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        cx.page(status, &RemoteClientsPage { c: cx.chrome("remote", flash), rows, providers, error, form })
    }
}

/// Creates a remote client, and first its provider when the "+" sub-form
/// names one. A provider that was created stays when the remote client
/// then fails: the form comes back with it selected and says so.
async fn create_remote_client(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, pairs) = match enter_post(&s, tenant, src, req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let get = |n: &str| field(&pairs, n).trim().to_owned();
    let mut form = RemoteForm {
        namespace: get("namespace"),
        name: get("name"),
        provider: get("provider"),
        client_id: get("client_id"),
        scope: get("scope"),
        audience: get("audience"),
        new_provider: !get("new_provider_name").is_empty(),
        np_name: get("new_provider_name"),
        np_discovery_url: get("new_provider_discovery_url"),
        np_issuer: get("new_provider_issuer"),
        np_token_endpoint: get("new_provider_token_endpoint"),
        np_method: get("new_provider_token_endpoint_auth_method"),
    };
    let mut created = None;
    if form.new_provider {
        match s.app.remote.create_provider(&cx.ctx, &cx.user.actor, provider_form(&pairs, "new_provider_")).await {
            Ok(p) => {
                form.provider.clone_from(&p.name);
                form.new_provider = false;
                created = Some(p.name);
            }
            Err(e) => {
                return match form_error(&cx, e) {
                    Ok(msg) => RemoteClients::page(&s, &cx, None, Some(format!("New provider: {msg}")), form).await,
                    Err(r) => r,
                };
            }
        }
    }
    let opt = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
    let new = NewRemoteClient {
        namespace: form.namespace.clone(),
        name: form.name.clone(),
        provider: form.provider.clone(),
        client_id: form.client_id.clone(),
        client_secret: Some(field(&pairs, "client_secret").to_owned()).filter(|v| !v.is_empty()),
        params: TokenParams { scope: opt(&form.scope), audience: opt(&form.audience), ..TokenParams::default() },
    };
    match s.app.remote.create_remote_client(&cx.ctx, &cx.user.actor, new).await {
        Ok(_) => cx.to("remote-clients?m=created"),
        Err(e) => match form_error(&cx, e) {
            Ok(msg) => {
                let msg = match created {
                    Some(p) => format!("The provider {p} was added. The remote client was not: {msg}"),
                    None => msg,
                };
                RemoteClients::page(&s, &cx, None, Some(msg), form).await
            }
            Err(r) => r,
        },
    }
}

async fn set_remote_secret(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    catalogue::change::<RemoteClients, _>(&s, i, "secret", async |cx, f| {
        let secret = RemoteSecret { client_secret: field(f, "client_secret").to_owned() };
        let (ns, name) = (param(&params, "namespace"), param(&params, "name"));
        s.app.remote.set_remote_secret(&cx.ctx, &cx.user.actor, &ns, &name, secret).await
    })
    .await
}

async fn delete_remote_client(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    let (ns, name) = (param(&params, "namespace"), param(&params, "name"));
    let ask = |_: &Cx| Confirmation {
        title: format!("Delete remote client {ns}/{name}?"),
        consequence: "Its stored secret and its authorization are deleted with it: services asking Latchkey for \
                      that authorization's token get 404 from now on. The credentials stay registered at the \
                      provider; revoke them there if they should stop working."
            .into(),
        button: "Delete Remote Client",
        action: format!("remote-clients/{}/{}/delete", path_part(&ns), path_part(&name)),
        cancel: "remote-clients".into(),
        fields: Vec::new(),
    };
    catalogue::act_confirmed::<RemoteClients, _>(&s, i, "deleted", ask, async |cx| {
        s.app.remote.delete_remote_client(&cx.ctx, &cx.user.actor, &ns, &name).await
    })
    .await
}

// ---- authorizations --------------------------------------------------------------

struct AuthorizationRow {
    v: AuthorizationView,
    expires: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "console/authorizations.html")]
struct AuthorizationsPage {
    c: Chrome,
    rows: Vec<AuthorizationRow>,
    remote_clients: Vec<(String, String)>,
    error: Option<String>,
}

struct Authorizations;

impl Catalogue for Authorizations {
    const PAGE: &'static str = "authorizations";
    type Form = ();

    fn flash(parts: &Parts) -> Option<&'static str> {
        flash(parts)
    }

    fn problem(e: AppError) -> Result<String, AppError> {
        problem(e)
    }

    async fn page(s: &AppState, cx: &Cx, flash: Option<&'static str>, error: Option<String>, (): ()) -> Response {
        let rows = match s.app.remote.list_authorizations(&cx.ctx).await {
            Ok(r) => r
                .into_iter()
                .map(|v| AuthorizationRow { expires: opt_time(v.expires_at), updated: time(v.updated_at), v })
                .collect(),
            Err(e) => return cx.app_error(e),
        };
        let remote_clients = match s.app.remote.list_remote_clients(&cx.ctx).await {
            Ok(r) => r.into_iter().map(|c| (c.namespace, c.name)).collect(),
            Err(e) => return cx.app_error(e),
        };
        let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        cx.page(status, &AuthorizationsPage { c: cx.chrome("authorizations", flash), rows, remote_clients, error })
    }
}

async fn create_authorization(
    State(s): State<AppState>,
    tenant: Result<Tenant, NoTenant>,
    Source(src): Source,
    req: Request,
) -> Response {
    let (cx, pairs) = match enter_post(&s, tenant, src, req, true).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some((namespace, name)) = field(&pairs, "remote_client").split_once('/') else {
        return Authorizations::page(&s, &cx, None, Some("Choose a remote client.".into()), ()).await;
    };
    if field(&pairs, "grant_type") == "authorization_code" {
        // The administrator signs in at the provider: off to its start link.
        return match s.app.remote.start_authorization(&cx.ctx, &cx.user.actor, namespace, name).await {
            Ok(start) => super::see_other(&start.authorization_url),
            Err(e) => match form_error(&cx, e) {
                Ok(msg) => Authorizations::page(&s, &cx, None, Some(msg), ()).await,
                Err(r) => r,
            },
        };
    }
    let new = NewAuthorization { namespace: namespace.to_owned(), name: name.to_owned(), grant_type: None };
    match s.app.remote.create_authorization(&cx.ctx, &cx.user.actor, new).await {
        Ok(_) => cx.to("authorizations?m=created"),
        Err(e) => match form_error(&cx, e) {
            Ok(msg) => Authorizations::page(&s, &cx, None, Some(msg), ()).await,
            Err(r) => r,
        },
    }
}

async fn delete_authorization(State(s): State<AppState>, params: RawPathParams, i: Incoming) -> Response {
    let (ns, name) = (param(&params, "namespace"), param(&params, "name"));
    let ask = |_: &Cx| Confirmation {
        title: format!("Delete authorization {ns}/{name}?"),
        consequence: "Services fetching its access token from Latchkey get 404 from now on, and Latchkey stops \
                      renewing it. Its tokens are not revoked at the provider: they stay valid there until \
                      they expire. Obtaining it again needs the remote client (and, for authorization code, a \
                      sign-in at the provider)."
            .into(),
        button: "Delete Authorization",
        action: format!("authorizations/{}/{}/delete", path_part(&ns), path_part(&name)),
        cancel: "authorizations".into(),
        fields: Vec::new(),
    };
    catalogue::act_confirmed::<Authorizations, _>(&s, i, "deleted", ask, async |cx| {
        s.app.remote.delete_authorization(&cx.ctx, &cx.user.actor, &ns, &name).await
    })
    .await
}
