//! `latchkey login`, `logout` and `whoami`: a person signs the CLI in with
//! the device authorization grant (RFC 8628) of the protected `latchkey-cli`
//! client, the way `gh auth login` works. The tokens are kept per issuer
//! ([`super::credentials`]) and refreshed silently; every admin command then
//! acts with the signed-in user's role. Environment credentials
//! (`LATCHKEY_CLIENT_ID` / `LATCHKEY_CLIENT_SECRET`) still win when set.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;

use super::Target;
use super::api::{CLI_CLIENT_ID, DEVICE_GRANT, code, issuer, login_from, now, post_form};
use super::credentials::{self, Login};
use super::output;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Print the address only; do not try to open a browser.
    #[arg(long)]
    no_browser: bool,
    /// Scopes to ask for. `admin:read` instead of `admin` signs in read-only.
    #[arg(long, default_value = "openid offline_access admin")]
    scope: String,
}

/// Opens `url` in the desktop's browser, when there is a desktop.
fn open_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
        "xdg-open"
    } else {
        return false;
    };
    std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// `latchkey login`.
///
/// # Errors
/// An unreachable server, a refused request, a denied or expired code, or
/// a user without an administrative role.
pub async fn login(args: LoginArgs, t: &Target) -> Result<()> {
    let http = super::api::http_client()?;
    let root = issuer(&t.server, t.tenant.as_deref());
    let form = [("client_id", CLI_CLIENT_ID), ("scope", args.scope.as_str())];
    let d = post_form(&http, &format!("{root}/oauth2/device_authorization"), &form)
        .await?
        .map_err(|e| anyhow::Error::from(e).context("cannot start the sign-in"))?;
    let device_code = d["device_code"].as_str().context("the server answered without a device_code")?;
    let user_code = d["user_code"].as_str().context("the server answered without a user_code")?;
    let uri = d["verification_uri"].as_str().context("the server answered without a verification_uri")?;
    let complete = d["verification_uri_complete"].as_str().unwrap_or(uri);
    let mut interval = d["interval"].as_u64().unwrap_or(5).max(1);
    let deadline = now() + d["expires_in"].as_i64().unwrap_or(600);

    println!("To sign in, open {uri} and enter the code {user_code}");
    println!("or open this address, which carries the code:");
    println!();
    println!("  {complete}");
    println!();
    if !args.no_browser && open_browser(complete) {
        println!("(a browser window should have opened)");
    }
    println!("Waiting for you to allow this sign-in…");

    let poll = [("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", CLI_CLIENT_ID)];
    let tokens = loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        match post_form(&http, &format!("{root}/oauth2/token"), &poll).await? {
            Ok(tokens) => break tokens,
            Err(e) => match code(&e) {
                "authorization_pending" if now() < deadline => {}
                // RFC 8628 §3.5: every slow_down adds five seconds for good.
                "slow_down" => interval += 5,
                "access_denied" => bail!("the sign-in was denied in the browser"),
                "expired_token" | "authorization_pending" => {
                    bail!("the code expired before anyone allowed it; run `latchkey login` again")
                }
                _ => return Err(anyhow::Error::from(e).context("the sign-in failed")),
            },
        }
    };
    let mut login = login_from(&tokens, None)?;
    let api = super::api::Api::with_token(http.clone(), &root, &login.access_token, super::api::Via::Login);
    let me = match api.get("/me").await {
        Ok(me) => me,
        Err(e) => {
            revoke(&http, &root, &login).await;
            return Err(e.context("signed in, but the admin API refused this user"));
        }
    };
    login.username = me["name"].as_str().unwrap_or_default().to_owned();
    credentials::save(&root, &login)?;
    let role = me["role"].as_str().unwrap_or("no role");
    let access = if me["can_write"].as_bool() == Some(true) { "" } else { ", read-only" };
    println!("Signed in to {root} as {} ({role}{access}).", login.username);
    Ok(())
}

/// Revokes both tokens of a sign-in (RFC 7009, as the public client it is);
/// whether the server confirmed.
async fn revoke(http: &reqwest::Client, root: &str, login: &Login) -> bool {
    let url = format!("{root}/oauth2/revoke");
    let mut ok = true;
    let tokens =
        [(login.refresh_token.as_deref(), "refresh_token"), (Some(login.access_token.as_str()), "access_token")];
    for (token, hint) in tokens {
        let Some(token) = token else { continue };
        let form = [("token", token), ("token_type_hint", hint), ("client_id", CLI_CLIENT_ID)];
        ok &= matches!(post_form(http, &url, &form).await, Ok(Ok(_)));
    }
    ok
}

/// `latchkey logout`: revokes the sign-in at the server and forgets it.
///
/// # Errors
/// The credentials file cannot be read or written.
pub async fn logout(t: &Target) -> Result<()> {
    let root = issuer(&t.server, t.tenant.as_deref());
    let Some(login) = credentials::forget(&root)? else {
        println!("Not signed in to {root}.");
        return Ok(());
    };
    let http = super::api::http_client()?;
    if revoke(&http, &root, &login).await {
        println!("Signed out of {root}: the tokens are revoked and forgotten.");
    } else {
        println!("Signed out of {root} here, but the server did not confirm the revocation;");
        println!("the tokens stay valid until they expire.");
    }
    Ok(())
}

/// `latchkey whoami`: server, tenant, user or client, role, and how the CLI
/// is signed in.
///
/// # Errors
/// Not signed in, or the server refuses the token.
pub async fn whoami(t: &Target) -> Result<()> {
    let api = t.connect().await?;
    let me = api.get("/me").await?;
    let via = match &api.via {
        super::api::Via::Environment => "environment (LATCHKEY_CLIENT_ID)".to_owned(),
        super::api::Via::Login => format!("latchkey login ({})", credentials::path()?.display()),
    };
    let view = json!({
        "server": t.server,
        "tenant": me["tenant"],
        "kind": me["kind"],
        "id": me["id"],
        "name": me["name"],
        "role": me["role"],
        "can_write": me["can_write"],
        "signed_in_with": via,
    });
    if t.format.is_data() {
        return output::data(&view, t.format);
    }
    let who = format!("{} ({})", me["name"].as_str().unwrap_or(""), me["id"].as_str().unwrap_or(""));
    let access = if me["can_write"].as_bool() == Some(true) { "read and write" } else { "read only" };
    let pairs = [
        ("server", t.server.clone()),
        ("tenant", me["tenant"].as_str().unwrap_or("").to_owned()),
        (me["kind"].as_str().unwrap_or("user"), who),
        ("role", me["role"].as_str().unwrap_or("none").to_owned()),
        ("access", access.to_owned()),
        ("signed in with", via),
    ];
    print!("{}", output::key_values(&pairs.map(|(k, v)| (k.to_owned(), v))));
    Ok(())
}
