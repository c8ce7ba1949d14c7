//! The HTTP client of the outbound side: every request Latchkey sends to a
//! provider (discovery, token endpoint) goes through [`UpstreamHttp`].
//!
//! [`GuardedHttp`] is the real one. It refuses loopback, private,
//! link-local, multicast and other non-public addresses after DNS
//! resolution (the connection uses exactly the addresses that were
//! checked, so a name cannot resolve differently in between), unless the
//! configuration allow-lists them (`remote_allow_private`). It follows
//! redirects only on the same origin, ignores proxy variables, and bounds
//! each exchange in time (5 s) and size (256 KiB).
//!
//! TLS is rustls on aws-lc-rs (the crypto library Latchkey already uses;
//! no second provider) with Mozilla's root certificates compiled in
//! (`webpki-roots`): a provider's certificate is judged the same way on
//! every machine, whatever the host's trust store holds.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// Largest response body read from a provider.
pub const MAX_BODY: usize = 256 * 1024;
/// Time limit of one exchange with a provider.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// One request to a provider. Its `Debug` shows no credential.
#[derive(Clone)]
pub struct UpstreamRequest {
    pub url: String,
    /// `None`: GET. `Some`: POST of this `application/x-www-form-urlencoded` body.
    pub form: Option<Vec<(String, String)>>,
    /// HTTP Basic credentials (encoded per RFC 6749 §2.3.1 by the sender).
    pub basic: Option<(String, String)>,
    /// A bearer token (RFC 6750), for the provider's userinfo endpoint.
    pub bearer: Option<String>,
}

impl UpstreamRequest {
    /// A plain GET of `url` (discovery documents, JWK Sets).
    #[must_use]
    pub fn get(url: &str) -> Self {
        Self { url: url.to_owned(), form: None, basic: None, bearer: None }
    }
}

/// Why a JWK Set could not be had from a URL.
#[derive(Debug)]
pub(crate) enum JwksError {
    /// The request failed (refused, unreachable, too slow or too large).
    Fetch(UpstreamError),
    /// The answer is not a 200 with a JWK Set.
    NotJwks,
}

impl crate::App {
    /// Fetches the JWK Set at `url` (a provider's or a client's) through
    /// the outbound client, with its SSRF guard and limits.
    pub(crate) async fn fetch_jwks(&self, url: &str) -> Result<latchkey_crypto::jws::Verifier, JwksError> {
        let resp = self.upstream().send(UpstreamRequest::get(url)).await.map_err(JwksError::Fetch)?;
        if resp.status != 200 {
            return Err(JwksError::NotJwks);
        }
        let v: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|_| JwksError::NotJwks)?;
        Ok(latchkey_crypto::jws::Verifier::from_jwks(&v))
    }
}

impl std::fmt::Debug for UpstreamRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamRequest")
            .field("url", &self.url)
            .field("post", &self.form.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why an exchange with a provider failed. Messages never carry secrets.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum UpstreamError {
    /// The URL or the address it resolves to is not allowed (SSRF guard).
    #[error("{0}")]
    Refused(String),
    #[error("the provider did not answer: {0}")]
    Transport(String),
    #[error("the provider's response is larger than 256 KiB")]
    TooLarge,
}

/// Sends requests to providers.
#[async_trait]
pub trait UpstreamHttp: Send + Sync + std::fmt::Debug {
    /// # Errors
    /// When the request is refused by the guard or the exchange fails.
    async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError>;
}

/// Addresses a test or an on-premises deployment allows although they are
/// not public: single addresses or CIDR networks (`127.0.0.1`, `10.0.0.0/8`).
#[derive(Debug, Clone, Default)]
pub struct AllowList(Vec<(IpAddr, u8)>);

impl AllowList {
    /// # Errors
    /// The first entry that is neither an address nor a network.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut out = Vec::new();
        for e in entries {
            let (addr, bits) = match e.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (e.as_str(), None),
            };
            let ip: IpAddr = addr.trim().parse().map_err(|_| format!("not an IP address or network: {e}"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => {
                    b.trim().parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| format!("bad prefix: {e}"))?
                }
                None => max,
            };
            out.push((ip, bits));
        }
        Ok(Self(out))
    }

    #[must_use]
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|(net, bits)| in_network(ip, *net, *bits))
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Whether an address is reachable on the public internet (the guard's rule).
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_broadcast()
                || a.is_unspecified()
                || a.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, shared address space
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, protocol assignments
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 may reach private IPv4
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

/// The guard's verdict on one address.
fn check(ip: IpAddr, allow: &AllowList) -> Result<(), String> {
    if is_public(ip) || allow.allows(ip) {
        Ok(())
    } else {
        Err(format!("the address {ip} is not public; add it to remote_allow_private to allow it"))
    }
}

/// Resolves names and keeps only allowed addresses.
#[derive(Debug)]
struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match check(a.ip(), &allow) {
                    Ok(()) => true,
                    Err(m) => {
                        refused = Some(m);
                        false
                    }
                })
                .collect();
            if ok.is_empty() {
                let msg = refused.unwrap_or_else(|| format!("{host} does not resolve"));
                return Err(Box::new(Refusal(msg)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A refusal by the guard, recognised again in the error chain.
#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// The real client: reqwest behind the SSRF guard.
#[derive(Debug)]
pub struct GuardedHttp {
    client: reqwest::Client,
    allow: Arc<AllowList>,
}

impl GuardedHttp {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(allow: AllowList) -> Result<Self, String> {
        install_tls_provider();
        let allow = Arc::new(allow);
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config()?)
            .dns_resolver(Arc::new(GuardedResolver { allow: allow.clone() }))
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let same_origin =
                    attempt.previous().first().is_some_and(|first| first.origin() == attempt.url().origin());
                if attempt.previous().len() > 3 {
                    attempt.error("too many redirects")
                } else if same_origin {
                    attempt.follow()
                } else {
                    attempt.error("a redirect to another host is not followed")
                }
            }))
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, allow })
    }
}

/// Makes aws-lc-rs the process's rustls provider. reqwest is built
/// without a provider of its own (no ring), so every other reqwest client of
/// the process (the CLI's, tests') needs this before it is built.
/// Idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// rustls with the aws-lc-rs provider and the webpki roots, TLS 1.2 and 1.3.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Checks the URL itself: scheme, and an IP literal (names are checked
/// after resolution).
fn check_url(url: &str, allow: &AllowList) -> Result<reqwest::Url, UpstreamError> {
    let u = reqwest::Url::parse(url).map_err(|_| UpstreamError::Refused(format!("not a URL: {url}")))?;
    if !matches!(u.scheme(), "https" | "http") {
        return Err(UpstreamError::Refused("only http and https URLs are fetched".into()));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(UpstreamError::Refused("URLs with credentials are not fetched".into()));
    }
    match u.host() {
        Some(url::Host::Ipv4(a)) => check(IpAddr::V4(a), allow).map_err(UpstreamError::Refused)?,
        Some(url::Host::Ipv6(a)) => check(IpAddr::V6(a), allow).map_err(UpstreamError::Refused)?,
        Some(url::Host::Domain(_)) => {}
        None => return Err(UpstreamError::Refused("the URL has no host".into())),
    }
    Ok(u)
}

fn refusal_in(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return Some(r.0.clone());
        }
        cur = err.source();
    }
    None
}

#[async_trait]
impl UpstreamHttp for GuardedHttp {
    async fn send(&self, req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        let url = check_url(&req.url, &self.allow)?;
        let mut b = match &req.form {
            None => self.client.get(url),
            Some(form) => {
                let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
                self.client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
            }
        };
        b = b.header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = &req.bearer {
            b = b.bearer_auth(token);
        }
        if let Some((id, secret)) = &req.basic {
            // RFC 6749 §2.3.1: form-urlencode both before Base64.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            b = b.basic_auth(enc(id), Some(enc(secret)));
        }
        let mapped = |e: reqwest::Error| match refusal_in(&e) {
            Some(m) => UpstreamError::Refused(m),
            None if e.is_timeout() => UpstreamError::Transport("timed out".into()),
            None if e.is_redirect() => UpstreamError::Refused("a redirect to another host is not followed".into()),
            None => UpstreamError::Transport(if e.is_connect() { "connection failed".into() } else { e.to_string() }),
        };
        let mut resp = b.send().await.map_err(mapped)?;
        let status = resp.status().as_u16();
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(UpstreamError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(mapped)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(UpstreamError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(UpstreamResponse { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass_unless_allowed() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "ff02::1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        let allow = AllowList::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        assert!(allow.allows("127.0.0.1".parse().unwrap()));
        assert!(allow.allows("10.200.0.1".parse().unwrap()));
        assert!(!allow.allows("127.0.0.2".parse().unwrap()));
        assert!(!allow.allows("::1".parse().unwrap()));
        assert!(AllowList::parse(&["localhost".into()]).is_err());
        assert!(AllowList::parse(&["10.0.0.0/33".into()]).is_err());
    }

    /// SECURITY-CHECKLIST 61: loopback, metadata and DNS names resolving to
    /// loopback are refused before any connection is made.
    #[tokio::test]
    async fn checklist_61_ssrf_guard_refuses_private_targets() {
        let http = GuardedHttp::new(AllowList::default()).unwrap();
        for url in [
            "http://127.0.0.1:9/.well-known/openid-configuration",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:9/",
            "http://localhost:9/",
            "file:///etc/passwd",
            "http://user:pw@example.com/",
        ] {
            let r = http.send(UpstreamRequest::get(url)).await;
            assert!(matches!(r, Err(UpstreamError::Refused(_))), "{url}: {r:?}");
        }
    }

    /// https URLs are fetched over TLS: the provider receives a TLS
    /// ClientHello (record type 22), and a peer that speaks no TLS fails the
    /// handshake (a transport error), not as an unsupported scheme.
    #[tokio::test]
    async fn https_is_attempted_over_tls() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (first_byte, seen) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            let _ = first_byte.send(b[0]);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await;
        });
        let http = GuardedHttp::new(AllowList::parse(&["127.0.0.1".into()]).unwrap()).unwrap();
        let url = format!("https://127.0.0.1:{port}/.well-known/openid-configuration");
        let r = http.send(UpstreamRequest::get(&url)).await;
        assert!(matches!(r, Err(UpstreamError::Transport(_))), "{r:?}");
        assert_eq!(seen.await.unwrap(), 0x16, "a TLS handshake record");
    }
}
