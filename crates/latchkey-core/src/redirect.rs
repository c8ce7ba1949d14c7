//! Redirect URIs, CORS origins and client metadata URLs (SPEC §2.1,
//! SECURITY-CHECKLIST section A).
//!
//! Redirect URIs are the most attacked field of an authorization server, so
//! the grammar accepted here is a strict, hand-parsed subset of RFC 3986:
//! anything unusual is refused at registration rather than normalised. The
//! matcher compares strings byte for byte (RFC 9700 §4.1.3) with exactly two
//! documented exceptions, and there is only one matcher,
//! [`RedirectUri::matches`]: validation, the authorization endpoint, logout
//! and the "would this URI match?" tester all go through it.
//!
//! Syntax and policy are separate. The grammar is context-free, so a
//! registered URI deserializes from its stored text ([`RedirectUri::parse_syntax`]).
//! Whether a wildcard URI may be used depends on the tenant's approved parent
//! domains, which can change after registration: [`RedirectUri::parse`]
//! checks both at registration, and [`find_match`] checks the policy again
//! at every use ([`RedirectUri::allowed_under`]), so a wildcard whose parent
//! approval was withdrawn never matches.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize, Serializer};

use crate::error::FieldError;

/// The longest URI accepted anywhere in this module, in bytes.
pub const MAX_URI_LEN: usize = 2000;

/// Hosts that count as loopback for `http` (SPEC §2.1, RFC 8252 §7.3),
/// compared exactly: `127.0.0.2`, `localhost.evil` or `localhosts` are not.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// Never allowed, in any letter case (checklist item 7, CVE-2026-9086).
const DANGEROUS_SCHEMES: [&str; 4] = ["javascript", "data", "vbscript", "file"];

/// Parameters the authorization server adds to a redirect; a registered URI
/// that already carries one invites response-parameter pollution (checklist
/// item 10, CVE-2026-9689).
const RESPONSE_PARAMS: [&str; 9] =
    ["code", "state", "iss", "error", "error_description", "access_token", "id_token", "token_type", "expires_in"];

/// What precedes the parent domain of a wildcard redirect URI.
const WILDCARD_HEAD: &str = "https://*.";

const NOT_ABSOLUTE: &str = "must be an absolute URI starting with a scheme such as https:";
const NEEDS_HOST: &str = "https and http URIs need a host: scheme://host/path";
const HTTP_LOOPBACK_ONLY: &str = "http is only allowed for the loopback hosts 127.0.0.1, [::1] and localhost";
const WILDCARD_RULE: &str =
    "'*' is only allowed as the entire leftmost host label of an https URI under an approved parent domain";
const PARENT_NOT_APPROVED: &str = "the wildcard's parent domain is not approved in the tenant's settings";

/// A registered redirect URI (`redirect_uris`, also `post_logout_redirect_uris`),
/// valid by construction. SPEC §2.1: "Absolute, no fragment. `https` only,
/// except loopback `http://127.0.0.1`, `http://[::1]`, `http://localhost`
/// (any port matches, RFC 8252) and private-use schemes
/// (`com.example.app:/cb`) for native clients. Matched exactly."
///
/// `Deserialize` checks the grammar only ([`RedirectUri::parse_syntax`]),
/// refusing malformed text; a wildcard URI is usable only while the tenant
/// approves its parent, which every use checks ([`find_match`]).
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct RedirectUri {
    raw: String,
    kind: Kind,
}

/// How a registered URI is matched, decided once at parse time. Offsets are
/// byte positions in the (ASCII-only) registered string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// Byte-for-byte comparison.
    Exact,
    /// `http` loopback: `raw[..host_end]` and `raw[rest_start..]` must be
    /// equal; the port between them may be anything or absent.
    Loopback { host_end: usize, rest_start: usize },
    /// `https://*.parent…`: one DNS label replaces the `*`; the parent
    /// domain is `raw[WILDCARD_HEAD.len()..parent_end]`.
    Wildcard { parent_end: usize },
}

impl RedirectUri {
    /// The field name used in errors; callers may rename it
    /// (e.g. to `post_logout_redirect_uris`).
    pub const FIELD: &'static str = "redirect_uris";

    /// Parses a URI for registration.
    ///
    /// Accepted: `https://host[:port][/path][?query]`; `http://` on the
    /// loopback hosts `127.0.0.1`, `[::1]` and `localhost`; private-use
    /// schemes containing a `.` without authority (`com.example.app:/cb`,
    /// RFC 8252 §7.1); and `https://*.PARENT/…` when `PARENT` is one of
    /// `approved_wildcard_parents` (SPEC §2.1). Scheme and host must be
    /// lowercase so that exact comparison is meaningful.
    ///
    /// # Errors
    /// When the URI is not absolute, longer than [`MAX_URI_LEN`], contains a
    /// fragment (RFC 6749 §3.1.2), userinfo, a character outside printable
    /// ASCII URI characters, a percent-encoded control character, a dot
    /// segment or encoded path delimiter (checklist item 3), an OAuth
    /// response parameter in the query (item 10), a dangerous or unsupported
    /// scheme (item 7), or a `*` anywhere but an approved wildcard label (item 5).
    pub fn parse(s: &str, approved_wildcard_parents: &[String]) -> Result<Self, FieldError> {
        let uri = Self::parse_syntax(s)?;
        if uri.allowed_under(approved_wildcard_parents) {
            Ok(uri)
        } else {
            Err(FieldError::new(Self::FIELD, PARENT_NOT_APPROVED))
        }
    }

    /// Parses the grammar of [`RedirectUri::parse`] without the tenant's
    /// policy: a wildcard URI is accepted whatever its parent domain. For
    /// values registered earlier (stored data); whether such a URI may still
    /// be used is [`RedirectUri::allowed_under`].
    ///
    /// # Errors
    /// As [`RedirectUri::parse`], except for an unapproved wildcard parent.
    pub fn parse_syntax(s: &str) -> Result<Self, FieldError> {
        parse_redirect(s).map(|kind| Self { raw: s.to_owned(), kind }).map_err(|m| FieldError::new(Self::FIELD, m))
    }

    /// Whether the tenant's policy allows this URI: always for exact and
    /// loopback URIs; for a wildcard URI only while its parent domain is one
    /// of `approved_wildcard_parents` (a withdrawn approval disables it).
    #[must_use]
    pub fn allowed_under(&self, approved_wildcard_parents: &[String]) -> bool {
        self.wildcard_parent().is_none_or(|parent| {
            parent.contains('.') && approved_wildcard_parents.iter().any(|a| a.eq_ignore_ascii_case(parent))
        })
    }

    /// The URI exactly as registered.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// True for `https://*.parent/…` URIs.
    #[must_use]
    pub fn is_wildcard(&self) -> bool {
        matches!(self.kind, Kind::Wildcard { .. })
    }

    /// True for an `http` loopback URI, which matches on any port
    /// (RFC 8252 §7.3). `https://localhost/…` is compared exactly.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        matches!(self.kind, Kind::Loopback { .. })
    }

    /// Whether `candidate` (a `redirect_uri` request parameter) is this
    /// registered URI.
    ///
    /// Simple string comparison, RFC 6749 §3.1.2.3, RFC 9700 §4.1.3: no
    /// normalisation of case, percent-encoding, trailing `/` or default port.
    /// Two exceptions, nothing else:
    /// - loopback `http` (RFC 8252 §7.3): the candidate may differ only in
    ///   the port — any port from 1 to 65535, or none;
    /// - wildcard (SPEC §2.1): the candidate is `https://` + one lowercase DNS
    ///   label + the registered text after `*`, byte for byte, and is itself
    ///   a valid redirect URI. Label by label, never by prefix.
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        match self.kind {
            Kind::Exact => candidate == self.raw,
            Kind::Loopback { host_end, rest_start } => self.matches_loopback(candidate, host_end, rest_start),
            Kind::Wildcard { .. } => self.matches_wildcard(candidate),
        }
    }

    fn matches_loopback(&self, candidate: &str, host_end: usize, rest_start: usize) -> bool {
        let (Some(head), Some(rest)) = (self.raw.get(..host_end), self.raw.get(rest_start..)) else {
            return false;
        };
        let Some(port_part) = candidate.strip_prefix(head).and_then(|c| c.strip_suffix(rest)) else {
            return false;
        };
        port_part.is_empty() || port_part.strip_prefix(':').is_some_and(is_valid_port)
    }

    fn matches_wildcard(&self, candidate: &str) -> bool {
        // Everything after the `*`: ".parent[:port][/path][?query]".
        let Some(tail) = self.raw.get(WILDCARD_HEAD.len() - 1..) else {
            return false;
        };
        let Some(label) = candidate.strip_prefix("https://").and_then(|c| c.strip_suffix(tail)) else {
            return false;
        };
        is_dns_label(label) && Self::parse(candidate, &[]).is_ok()
    }

    /// The approved parent domain of a wildcard URI.
    fn wildcard_parent(&self) -> Option<&str> {
        match self.kind {
            Kind::Wildcard { parent_end } => self.raw.get(WILDCARD_HEAD.len()..parent_end),
            Kind::Exact | Kind::Loopback { .. } => None,
        }
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({})", self.raw)
    }
}

impl Serialize for RedirectUri {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl TryFrom<String> for RedirectUri {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse_syntax(&s)
    }
}

/// The registered URIs the tenant's policy allows now
/// ([`RedirectUri::allowed_under`]), in registration order.
#[must_use]
pub fn usable<'a>(registered: &'a [RedirectUri], approved_wildcard_parents: &[String]) -> Vec<&'a RedirectUri> {
    registered.iter().filter(|r| r.allowed_under(approved_wildcard_parents)).collect()
}

/// The registered URI that `candidate` matches under [`RedirectUri::matches`]:
/// a byte-equal one if there is one, else the first that matches by the
/// loopback or wildcard rule. Only [`usable`] URIs take part: a wildcard
/// whose parent is no longer in `approved_wildcard_parents` never matches.
#[must_use]
pub fn find_match<'a>(
    registered: &'a [RedirectUri],
    candidate: &str,
    approved_wildcard_parents: &[String],
) -> Option<&'a RedirectUri> {
    first_match(&usable(registered, approved_wildcard_parents), candidate)
}

fn first_match<'a>(registered: &[&'a RedirectUri], candidate: &str) -> Option<&'a RedirectUri> {
    let exact = registered.iter().find(|r| r.as_str() == candidate && r.matches(candidate));
    exact.or_else(|| registered.iter().find(|r| r.matches(candidate))).copied()
}

/// The answer of the "would this URI match?" tester (SPEC §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchExplanation {
    /// Whether a registered URI matches the candidate.
    pub matches: bool,
    /// The registered URI that matched.
    pub matched: Option<String>,
    /// Why it matched, or why not, for humans.
    pub reason: String,
}

/// Runs the same matcher as the authorization endpoint ([`find_match`]) and
/// says why it did or did not match.
#[must_use]
pub fn explain_match(
    registered: &[RedirectUri],
    candidate: &str,
    approved_wildcard_parents: &[String],
) -> MatchExplanation {
    let registered = usable(registered, approved_wildcard_parents);
    let Some(r) = first_match(&registered, candidate) else {
        return MatchExplanation { matches: false, matched: None, reason: miss_reason(&registered, candidate) };
    };
    let reason = match (r.as_str() == candidate, r.wildcard_parent()) {
        (true, _) => "exact match".to_owned(),
        (false, Some(parent)) => format!("wildcard label under {parent}"),
        (false, None) => "loopback: any port (RFC 8252)".to_owned(),
    };
    MatchExplanation { matches: true, matched: Some(r.raw.clone()), reason }
}

fn miss_reason(registered: &[&RedirectUri], candidate: &str) -> String {
    if registered.is_empty() {
        return "the client has no registered redirect URIs".to_owned();
    }
    if let Err(e) = RedirectUri::parse(candidate, &[]) {
        return format!("not an acceptable redirect URI: {}", e.message);
    }
    if let Some(r) = registered.iter().find(|r| r.as_str().eq_ignore_ascii_case(candidate)) {
        return format!("differs from {r} only in letter case; comparison is case-sensitive");
    }
    if let Some(r) = registered.iter().find(|r| r.as_str().trim_end_matches('/') == candidate.trim_end_matches('/')) {
        return format!("differs from {r} only by a trailing slash; comparison is exact");
    }
    "no registered URI matches; comparison is exact, including case, trailing slash and query".to_owned()
}

/// A browser origin allowed to call the token, userinfo, revocation and
/// introspection endpoints for a client (`allowed_cors_origins`, SPEC §2.1):
/// `scheme://host[:port]` with no path, query, fragment or userinfo; https,
/// or http on a loopback host; lowercase; without the scheme's default port,
/// since browsers never send it in `Origin` (RFC 6454 §6.1).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CorsOrigin(String);

impl CorsOrigin {
    /// The field name used in errors.
    pub const FIELD: &'static str = "allowed_cors_origins";

    /// # Errors
    /// When the value is not `https://host[:port]` or loopback
    /// `http://host[:port]` exactly.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        parse_origin(s).map(|()| Self(s.to_owned())).map_err(|m| FieldError::new(Self::FIELD, m))
    }

    /// Exact comparison with an `Origin` request header.
    #[must_use]
    pub fn matches(&self, origin_header: &str) -> bool {
        self.0 == origin_header
    }

    /// The origin exactly as registered.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CorsOrigin {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CorsOrigin> for String {
    fn from(o: CorsOrigin) -> Self {
        o.0
    }
}

impl fmt::Display for CorsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CorsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CorsOrigin({})", self.0)
    }
}

/// Validates `client_uri`, `logo_uri`, `policy_uri` or `tos_uri` (RFC 7591
/// §2, SPEC §2.1): an absolute https URL (http only on a loopback host),
/// without userinfo or control characters, at most [`MAX_URI_LEN`] bytes;
/// `javascript:`, `data:`, `vbscript:` and `file:` never, in any letter case
/// (checklist item 7). A fragment is allowed: these URLs are only displayed
/// or fetched, never redirected to with parameters.
///
/// # Errors
/// A [`FieldError`] for `field` saying what is wrong.
pub fn validate_metadata_uri(field: &str, s: &str) -> Result<(), FieldError> {
    parse_parts(s).and_then(|p| check_web_authority(&p).map(|_| ())).map_err(|m| FieldError::new(field, m))
}

/// The components of an absolute URI in the accepted subset (RFC 3986 §3),
/// borrowed from the input.
struct Parts<'a> {
    scheme: &'a str,
    authority: Option<Authority<'a>>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

struct Authority<'a> {
    host: &'a str,
    port: Option<&'a str>,
}

/// The grammar of a redirect URI; the tenant's wildcard policy is
/// [`RedirectUri::allowed_under`].
fn parse_redirect(s: &str) -> Result<Kind, &'static str> {
    let parts = parse_parts(s)?;
    if parts.fragment.is_some() {
        return Err("must not contain a fragment ('#'), RFC 6749 §3.1.2");
    }
    if parts.path.contains('*') || parts.query.is_some_and(|q| q.contains('*')) {
        return Err(WILDCARD_RULE);
    }
    check_path(parts.path)?;
    if let Some(query) = parts.query {
        check_query(query)?;
    }
    classify(&parts)
}

fn parse_origin(s: &str) -> Result<(), &'static str> {
    let parts = parse_parts(s)?;
    let authority = check_web_authority(&parts)?;
    if !parts.path.is_empty() || parts.query.is_some() || parts.fragment.is_some() {
        return Err("an origin is scheme://host[:port] with no path (not even '/'), query or fragment");
    }
    let default_port = if parts.scheme == "https" { "443" } else { "80" };
    if authority.port == Some(default_port) {
        return Err("leave out the default port: browsers never send it in the Origin header");
    }
    Ok(())
}

/// Splits `scheme:[//authority]path[?query][#fragment]` after checking the
/// characters, and validates scheme, host and port.
fn parse_parts(s: &str) -> Result<Parts<'_>, &'static str> {
    reject_dangerous_scheme(s)?;
    check_chars(s)?;
    let (s, fragment) = match s.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (s, None),
    };
    let (scheme, rest) = s.split_once(':').ok_or(NOT_ABSOLUTE)?;
    check_scheme(scheme)?;
    let (hier, query) = match rest.split_once('?') {
        Some((hier, query)) => (hier, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match hier.strip_prefix("//") {
        Some(after) => {
            let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            (Some(parse_authority(authority)?), path)
        }
        None => (None, hier),
    };
    let outside_host = [path, query.unwrap_or_default(), fragment.unwrap_or_default()];
    if outside_host.iter().any(|c| c.contains(['[', ']'])) || fragment.is_some_and(|f| f.contains('#')) {
        return Err("'[', ']' and a second '#' are only allowed where RFC 3986 allows them");
    }
    Ok(Parts { scheme, authority, path, query, fragment })
}

/// Checklist item 7: refused by name, in any letter case, before anything
/// else so the error says why.
fn reject_dangerous_scheme(s: &str) -> Result<(), &'static str> {
    let scheme = s.split_once(':').map_or("", |(scheme, _)| scheme);
    if DANGEROUS_SCHEMES.iter().any(|d| d.eq_ignore_ascii_case(scheme)) {
        return Err("javascript:, data:, vbscript: and file: URIs are never allowed");
    }
    Ok(())
}

/// Length, and RFC 3986 §2 characters only: unreserved, reserved and
/// well-formed percent escapes, none of which may encode a control
/// character (`%00`, `%0A`, `%0D`, ...). Spaces, controls, `"`, `<`, `>`,
/// `\`, `^`, `` ` ``, `{`, `|`, `}` and non-ASCII (use punycode for IDNs)
/// are refused rather than guessed at (checklist item 4).
fn check_chars(s: &str) -> Result<(), &'static str> {
    if s.len() > MAX_URI_LEN {
        return Err("must be at most 2000 bytes");
    }
    let is_uri_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
    if !s.bytes().all(is_uri_char) {
        return Err(
            "only printable ASCII URI characters are allowed: no spaces, control characters, backslashes or non-ASCII (write IDNs in punycode)",
        );
    }
    for escape in escapes(s) {
        match escape {
            None => return Err("'%' must start a two-digit hex escape"),
            Some(octet) if octet < 0x20 || octet == 0x7f => {
                return Err("percent-encoded control characters (%00-%1F, %7F) are not allowed");
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, lowercase.
fn check_scheme(scheme: &str) -> Result<(), &'static str> {
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid {
        return Err(NOT_ABSOLUTE);
    }
    if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("the scheme must be lowercase, so that exact comparison is meaningful");
    }
    Ok(())
}

/// `host[:port]` with no userinfo: any `@` is refused (checklist item 4,
/// CVE-2026-7504).
fn parse_authority(authority: &str) -> Result<Authority<'_>, &'static str> {
    if authority.contains('@') {
        return Err("userinfo ('@' in the authority) is not allowed");
    }
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or("an IPv6 address needs a closing ']'")?;
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("only ':port' may follow an IPv6 address")?)),
        }
    } else {
        authority.split_once(':').map_or((authority, None), |(host, port)| (host, Some(port)))
    };
    if port.is_some_and(|p| !is_valid_port(p)) {
        return Err("the port must be a number from 1 to 65535 without leading zeros");
    }
    check_host(host)?;
    Ok(Authority { host, port })
}

/// A lowercase DNS name (LDH labels, optionally `*` as the entire leftmost
/// label), a canonical dotted-quad IPv4 address, or a bracketed IPv6 address
/// in canonical form (RFC 5952) without zone id.
fn check_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("the host is empty");
    }
    if let Some(ip) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return check_ipv6(ip);
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("the host must be lowercase, so that exact comparison is meaningful");
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    if name.contains('*') {
        return Err(WILDCARD_RULE);
    }
    if host.len() > 253 || !name.split('.').all(is_dns_label) {
        return Err(
            "the host must be a DNS name (labels of a-z, 0-9 and '-', 1-63 long, dot-separated) or an IP address",
        );
    }
    // A name whose last label starts with a digit is read as an IPv4 address
    // by browsers (`127.1`, `0177.0.0.1`): accept only the canonical form.
    let numeric = name.rsplit('.').next().is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_digit()));
    if numeric && !host.parse::<Ipv4Addr>().is_ok_and(|a| a.to_string() == host) {
        return Err("an IPv4 address must be four decimal numbers 0-255 without leading zeros");
    }
    Ok(())
}

fn check_ipv6(ip: &str) -> Result<(), &'static str> {
    if ip.contains('%') {
        return Err("IPv6 zone identifiers are not allowed");
    }
    if !ip.parse::<Ipv6Addr>().is_ok_and(|a| a.to_string() == ip) {
        return Err("an IPv6 address must be in canonical form (RFC 5952), e.g. [::1]");
    }
    Ok(())
}

/// One DNS label: 1-63 of `a-z`, `0-9`, `-`, not starting or ending with `-`.
fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// 1-65535 in decimal, without sign or leading zeros.
fn is_valid_port(port: &str) -> bool {
    !port.starts_with('0') && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
}

/// Checklist item 3 (path confusion, OAuch, CVE-2026-3872, CVE-2024-1132):
/// no dot segments, no empty segments (`//`) except a trailing slash, no
/// path parameters (`;`, since `..;` is `..` to some servers) and no
/// percent-encoded `.`, `/`, `\`, `;` or `%` (double encoding).
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.contains(';') {
        return Err("path parameters (';') are not allowed: some servers read '..;' as '..'");
    }
    if escapes(path).flatten().any(|octet| b"./\\;%".contains(&octet)) {
        return Err("percent-encoded '.', '/', '\\', ';' or '%' in the path are not allowed");
    }
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/').peekable();
    while let Some(segment) = segments.next() {
        if segment == "." || segment == ".." {
            return Err("dot segments ('.' and '..') are not allowed in the path");
        }
        if segment.is_empty() && segments.peek().is_some() {
            return Err("empty path segments ('//') are not allowed");
        }
    }
    Ok(())
}

/// Checklist item 10: the query must not already carry a parameter the
/// authorization server adds. Names are compared percent-decoded and in any
/// letter case; `;` counts as a separator too, as some servers treat it so.
fn check_query(query: &str) -> Result<(), &'static str> {
    if query.is_empty() {
        return Err("an empty query ('?' at the end) is not allowed");
    }
    let polluted = query
        .split(['&', ';'])
        .map(|pair| percent_decode(pair.split_once('=').map_or(pair, |(name, _)| name)))
        .any(|name| RESPONSE_PARAMS.iter().any(|p| p.as_bytes().eq_ignore_ascii_case(&name)));
    if polluted {
        return Err(
            "the query must not contain OAuth response parameters (code, state, iss, error, error_description, access_token, id_token, token_type, expires_in)",
        );
    }
    Ok(())
}

/// Decides how a structurally valid URI is matched, enforcing the scheme
/// rules of SPEC §2.1 and RFC 8252 §7.
fn classify(parts: &Parts<'_>) -> Result<Kind, &'static str> {
    let Some(authority) = &parts.authority else {
        return classify_private_use(parts);
    };
    if is_private_use_scheme(parts.scheme) {
        return Err("private-use scheme URIs have no authority: com.example.app:/path (RFC 8252 §7.1)");
    }
    if let Some(parent) = authority.host.strip_prefix("*.") {
        return classify_wildcard(parts.scheme, parent);
    }
    check_web_authority(parts)?;
    if parts.scheme == "https" {
        return Ok(Kind::Exact);
    }
    let host_end = parts.scheme.len() + "://".len() + authority.host.len();
    let rest_start = host_end + authority.port.map_or(0, |p| p.len() + 1);
    Ok(Kind::Loopback { host_end, rest_start })
}

/// RFC 8252 §7.1: a reverse-domain scheme (`com.example.app:/cb`), no authority.
fn classify_private_use(parts: &Parts<'_>) -> Result<Kind, &'static str> {
    if matches!(parts.scheme, "https" | "http") {
        return Err(NEEDS_HOST);
    }
    if !is_private_use_scheme(parts.scheme) {
        return Err(
            "the scheme must be https, http on a loopback host, or a private-use scheme containing a '.' such as com.example.app",
        );
    }
    if !parts.path.starts_with('/') {
        return Err("a private-use scheme URI has the form com.example.app:/path (RFC 8252 §7.1)");
    }
    Ok(Kind::Exact)
}

/// SPEC §2.1: `https://*.PARENT/…`; whether the tenant approves `PARENT`
/// is policy ([`RedirectUri::allowed_under`]), not grammar. `parent` has
/// passed [`check_host`], so it is lowercase and has no `*`.
fn classify_wildcard(scheme: &str, parent: &str) -> Result<Kind, &'static str> {
    if scheme != "https" {
        return Err("a wildcard redirect URI must use https");
    }
    Ok(Kind::Wildcard { parent_end: WILDCARD_HEAD.len() + parent.len() })
}

/// https with a host, or http with a loopback host; no wildcard host.
fn check_web_authority<'p>(parts: &'p Parts<'_>) -> Result<&'p Authority<'p>, &'static str> {
    let authority = parts.authority.as_ref().ok_or(NEEDS_HOST)?;
    if authority.host.starts_with('*') {
        return Err(WILDCARD_RULE);
    }
    match parts.scheme {
        "https" => Ok(authority),
        "http" if LOOPBACK_HOSTS.contains(&authority.host) => Ok(authority),
        "http" => Err(HTTP_LOOPBACK_ONLY),
        _ => Err("must be an https URL (http only on 127.0.0.1, [::1] or localhost)"),
    }
}

/// Reverse-domain notation: dot-separated, non-empty parts (the character
/// set was checked by [`check_scheme`]).
fn is_private_use_scheme(scheme: &str) -> bool {
    scheme.contains('.') && scheme.split('.').all(|part| !part.is_empty())
}

/// The octets of the percent escapes in `s` (either hex case), `None` for a
/// malformed one.
fn escapes(s: &str) -> impl Iterator<Item = Option<u8>> + '_ {
    s.match_indices('%').map(|(i, _)| s.as_bytes().get(i + 1..i + 3).and_then(decode_escape))
}

/// Decodes `%XX` escapes; malformed escapes are kept as they are (input
/// reaching here has passed [`check_chars`]).
fn percent_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        let escaped = if b == b'%' { tail.get(..2).and_then(decode_escape) } else { None };
        out.push(escaped.unwrap_or(b));
        rest = if escaped.is_some() { tail.get(2..).unwrap_or_default() } else { tail };
    }
    out
}

/// The octet of the two hex digits of a percent escape.
fn decode_escape(hex: &[u8]) -> Option<u8> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    match hex {
        [hi, lo] => Some((digit(*hi)? << 4) | digit(*lo)?),
        _ => None,
    }
}

#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
