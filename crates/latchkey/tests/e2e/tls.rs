//! HTTPS without a proxy: serving over TLS with HTTP/2, HSTS and secure
//! cookies on an https issuer, reload on SIGHUP (harmless on plain HTTP),
//! and a clear error for a bad certificate at start. Certificates are made
//! at test time (rcgen).

use std::path::Path;

use crate::harness::{ADMIN_SECRET, Install, Opts, Server};

struct Pair {
    cert_pem: String,
    key_pem: String,
}

fn pair() -> Pair {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    Pair { cert_pem: made.cert.pem(), key_pem: made.signing_key.serialize_pem() }
}

fn write(dir: &Path, p: &Pair) {
    std::fs::write(dir.join("cert.pem"), &p.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &p.key_pem).unwrap();
}

/// A client that trusts exactly `p`'s certificate and offers HTTP/2.
fn client_trusting(p: &Pair) -> reqwest::Client {
    latchkey_app::remote::http::install_tls_provider();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(p.cert_pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn tls_opts(dir: &Path) -> Opts {
    Opts {
        env: vec![
            ("LATCHKEY_TLS_CERT_FILE".into(), dir.join("cert.pem").display().to_string()),
            ("LATCHKEY_TLS_KEY_FILE".into(), dir.join("key.pem").display().to_string()),
        ],
        ..Opts::default()
    }
}

/// `https://localhost:{port}` for the server's bound address.
fn https_base(s: &Server) -> String {
    let port = s.base.rsplit(':').next().unwrap();
    format!("https://localhost:{port}")
}

#[tokio::test]
async fn https_serves_http2_with_hsts_and_reloads_its_certificate_on_sighup() {
    let install = Install::new().await;
    let certs = tempfile::tempdir().unwrap();
    let first = pair();
    write(certs.path(), &first);
    let mut opts = tls_opts(certs.path());
    let server = Server::start_with(&install, &opts).await;
    let base = https_base(&server);
    let old = client_trusting(&first);

    // A token over HTTPS, negotiated as HTTP/2, with HSTS (the issuer is https).
    let r = old
        .post(format!("{base}/oauth2/token"))
        .basic_auth("latchkey-admin", Some(ADMIN_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "ALPN chose h2");
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let discovery: serde_json::Value =
        old.get(format!("{base}/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert!(discovery["issuer"].as_str().unwrap().starts_with("https://"), "the default issuer follows the scheme");
    // The sign-in page's cookies are Secure on an https issuer.
    let r = old.get(format!("{base}/console/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let login =
        r.headers()["location"].to_str().unwrap().replace(&discovery["issuer"].as_str().unwrap().to_owned(), &base);
    let r = old.get(&login).send().await.unwrap();
    let cookies: Vec<String> =
        r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(!cookies.is_empty() && cookies.iter().all(|c| c.contains("; Secure")), "{cookies:?}");

    // Plain HTTP on the TLS port is refused, not answered.
    assert!(crate::harness::http().get(server.url("/healthz")).send().await.is_err());

    // A renewed certificate: not served until the reload, then served to
    // new connections without a restart.
    let second = pair();
    let new = client_trusting(&second);
    write(certs.path(), &second);
    assert!(new.get(format!("{base}/healthz")).send().await.is_err(), "the new certificate is not served yet");
    let status = std::process::Command::new("kill").arg("-HUP").arg(server.pid().to_string()).status().unwrap();
    assert!(status.success());
    server.wait_for_log("TLS certificate reloaded (SIGHUP)").await;
    let r = new.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "new connections get the renewed certificate");
    assert!(client_trusting(&first).get(format!("{base}/healthz")).send().await.is_err(), "and not the old one");

    // A bad certificate at start is a clear error, not a server without TLS.
    std::fs::write(certs.path().join("cert.pem"), "garbage").unwrap();
    opts.public_url = None;
    let failed = Server::try_start(&install, &opts).await.err().expect("a bad certificate stops the start");
    assert!(!failed.status.success());
    assert!(
        failed.stderr.contains("cannot serve HTTPS") && failed.stderr.contains("holds no certificate"),
        "{}",
        failed.stderr
    );
}

#[tokio::test]
async fn a_certificate_without_its_key_is_refused_at_start() {
    let install = Install::new().await;
    let certs = tempfile::tempdir().unwrap();
    write(certs.path(), &pair());
    let opts = Opts {
        env: vec![("LATCHKEY_TLS_CERT_FILE".into(), certs.path().join("cert.pem").display().to_string())],
        ..Opts::default()
    };
    let failed = Server::try_start(&install, &opts).await.err().expect("half a TLS configuration stops the start");
    assert!(failed.stderr.contains("tls_cert_file and tls_key_file go together"), "{}", failed.stderr);
}

/// The packaged unit's `ExecReload` sends `SIGHUP` whether or not TLS is
/// configured: on plain HTTP it must not end the server.
#[tokio::test]
async fn sighup_without_tls_is_logged_and_the_server_keeps_serving() {
    let install = Install::new().await;
    let server = Server::start(&install).await;
    let status = std::process::Command::new("kill").arg("-HUP").arg(server.pid().to_string()).status().unwrap();
    assert!(status.success());
    server.wait_for_log("SIGHUP: no TLS certificate to reload").await;
    let r = crate::harness::http().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "still serving after SIGHUP");
}
