//! The HTTP client of the outbound side: every request Latchkey sends to a
//! provider (discovery, token endpoint) goes through [`UpstreamHttp`].
//!
//! [`GuardedHttp`] is the real one. It refuses loopback, private,
//! link-local, multicast and other non-public addresses (every range of
//! the IANA special-purpose registries that is not globally reachable; an
//! IPv6 address carrying an IPv4 address, as mapped, compatible, NAT64,
//! 6to4 or Teredo addresses do, is judged by that IPv4 address) after DNS
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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

/// Fetches the JWK Set at `url` (a provider's or a client's) through
/// the outbound client, with its SSRF guard and limits.
pub(crate) async fn fetch_jwks(
    http: &dyn UpstreamHttp,
    url: &str,
) -> Result<latchkey_crypto::jws::Verifier, JwksError> {
    let resp = http.send(UpstreamRequest::get(url)).await.map_err(JwksError::Fetch)?;
    if resp.status != 200 {
        return Err(JwksError::NotJwks);
    }
    let v: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|_| JwksError::NotJwks)?;
    Ok(latchkey_crypto::jws::Verifier::from_jwks(&v))
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

/// Whether an address is reachable on the public internet (the guard's
/// rule with nothing allow-listed).
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    check(ip, &AllowList::default()).is_ok()
}

/// IPv4 addresses outside the IANA IPv4 Special-Purpose Address Registry's
/// ranges that are not globally reachable (and multicast).
fn is_public_v4(a: Ipv4Addr) -> bool {
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
        || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 192.88.99.0/24, deprecated 6to4 relays
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
        || o[0] >= 240)
}

/// IPv6 addresses that carry no IPv4 address: global unicast (2000::/3)
/// outside the IANA IPv6 Special-Purpose Address Registry's ranges that are
/// not globally reachable. Everything outside 2000::/3 (loopback,
/// unspecified, discard, SRv6, unique local, link-local, site-local,
/// multicast, unassigned) is refused.
fn is_public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    let ietf = s[0] == 0x2001 && s[1] < 0x0200; // 2001::/23, IETF protocol assignments (Teredo: see embedded_v4)
    let documentation = (s[0] == 0x2001 && s[1] == 0x0db8) || (s[0] & 0xfff0) == 0x3ff0; // 2001:db8::/32, 3fff::/20
    global_unicast && !ietf && !documentation
}

/// The IPv4 addresses an IPv6 address reaches through an embedding: IPv4-
/// mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, also `::` and
/// `::1`), SIIT IPv4-translated (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::/96`),
/// 6to4 (`2002::/16`) and Teredo (`2001::/32`: its server and its client).
/// `None` for an address that embeds none; `Some(empty)` for the local-use
/// NAT64 prefix (`64:ff9b:1::/48`, whose embedding is the operator's), which
/// is then refused unless allow-listed as it stands.
fn embedded_v4(a: Ipv6Addr) -> Option<Vec<Ipv4Addr>> {
    let s = a.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let last = v4(s[6], s[7]);
    match s {
        [0, 0, 0, 0, 0, 0 | 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => {
            Some(vec![last])
        }
        [0x64, 0xff9b, 1, ..] => Some(Vec::new()),
        [0x2002, hi, lo, ..] => Some(vec![v4(hi, lo)]),
        [0x2001, 0, hi, lo, _, _, c_hi, c_lo] => Some(vec![v4(hi, lo), v4(!c_hi, !c_lo)]),
        _ => None,
    }
}

/// The guard's verdict on one address: allowed when allow-listed as it
/// stands, or public; an IPv6 address that carries an IPv4 address is
/// judged by every IPv4 address it carries instead (SECURITY-CHECKLIST 61).
fn check(ip: IpAddr, allow: &AllowList) -> Result<(), String> {
    let refused = || Err(format!("the address {ip} is not public; add it to remote_allow_private to allow it"));
    if allow.allows(ip) {
        return Ok(());
    }
    match ip {
        IpAddr::V4(a) if is_public_v4(a) => Ok(()),
        IpAddr::V4(_) => refused(),
        IpAddr::V6(a) => match embedded_v4(a) {
            Some(v4s) if !v4s.is_empty() && v4s.iter().all(|v| check(IpAddr::V4(*v), allow).is_ok()) => Ok(()),
            None if is_public_v6(a) => Ok(()),
            Some(_) | None => refused(),
        },
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

/// rustls with the aws-lc-rs provider and the webpki roots, TLS 1.2 and
/// 1.3 (also the trace exporter's).
///
/// # Errors
/// When the provider refuses the protocol versions.
pub fn tls_config() -> Result<rustls::ClientConfig, String> {
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
        use tracing::Instrument as _;
        let url = check_url(&req.url, &self.allow)?;
        // A client span per exchange, for traces: method and server only
        // (never the path, query or credentials).
        let method = if req.form.is_some() { "POST" } else { "GET" };
        let span = tracing::info_span!(
            target: "latchkey_otel",
            "HTTP",
            otel.name = method,
            otel.kind = "client",
            http.request.method = method,
            server.address = url.host_str().unwrap_or_default(),
            server.port = url.port_or_known_default().unwrap_or_default(),
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let result = self.exchange(url, &req, &span).instrument(span.clone()).await;
        match &result {
            Ok(resp) => {
                span.record("http.response.status_code", resp.status);
            }
            Err(_) => {
                span.record("otel.status_code", "error");
            }
        }
        result
    }
}

impl GuardedHttp {
    async fn exchange(
        &self,
        url: reqwest::Url,
        req: &UpstreamRequest,
        span: &tracing::Span,
    ) -> Result<UpstreamResponse, UpstreamError> {
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
        let mut trace = reqwest::header::HeaderMap::new();
        crate::telemetry::inject(span, &mut trace);
        b = b.headers(trace);
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

    /// SECURITY-CHECKLIST 61: every IANA special-purpose range of both
    /// families (IPv4 and IPv6 Special-Purpose Address Registries) that is
    /// not globally reachable is refused, and an IPv6 address that carries
    /// an IPv4 address (mapped, compatible, SIIT, NAT64, 6to4, Teredo) is
    /// judged by the IPv4 address it reaches: refused when that is private,
    /// allowed when it is public or allow-listed.
    #[test]
    fn ssrf_guard_refuses_ipv4_embedded_in_ipv6() {
        let refused = [
            // IPv4 special-purpose registry.
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.170",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6 special-purpose registry, and what lies outside 2000::/3.
            "::",
            "::1",
            "100::1",
            "100:0:0:1::1",
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "4000::1",
            "64:ff9b:1::a00:1",
            // Embeddings of private IPv4 addresses.
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254", // IPv4-mapped
            "::127.0.0.1",
            "::10.0.0.1",
            "::169.254.169.254", // IPv4-compatible
            "::ffff:0:10.0.0.1",
            "::ffff:0:127.0.0.1", // SIIT IPv4-translated
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::192.168.1.1", // NAT64
            "2002:7f00:1::1",
            "2002:a00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101::1",                     // 6to4
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1
            "2001:0:4136:e378:8000:63bf:f5ff:fffe", // Teredo, client 10.0.0.1
            "2001:0:a00:1:8000:63bf:fefe:fefe",     // Teredo, server 10.0.0.1
        ];
        let none = AllowList::default();
        for ip in refused {
            let addr: IpAddr = ip.parse().unwrap();
            assert!(check(addr, &none).is_err(), "{ip} passes the guard");
            assert!(!is_public(addr), "{ip} counts as public");
        }
        let public = [
            "1.1.1.1",
            "93.184.216.34",
            "8.8.8.8",
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "2620:4f:8000::1",
            // Embeddings of public IPv4 addresses reach the public address.
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo, client 8.8.8.8, server 65.54.227.120
        ];
        for ip in public {
            let addr: IpAddr = ip.parse().unwrap();
            assert!(check(addr, &none).is_ok(), "{ip} is refused");
        }
        // An allow-listed IPv4 network allows its embeddings too, and only those.
        let allow = AllowList::parse(&["10.0.0.0/8".into()]).unwrap();
        for ip in ["::ffff:10.1.2.3", "::10.1.2.3", "64:ff9b::a01:203", "2002:a01:203::1"] {
            assert!(check(ip.parse().unwrap(), &allow).is_ok(), "{ip} with 10.0.0.0/8 allowed");
        }
        for ip in ["::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:c0a8:101::1"] {
            assert!(check(ip.parse().unwrap(), &allow).is_err(), "{ip} with 10.0.0.0/8 allowed");
        }
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
