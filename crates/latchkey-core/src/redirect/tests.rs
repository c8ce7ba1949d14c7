use super::*;

const APP: &str = "https://app.example/cb";
const WILDCARD: &str = "https://*.preview.example.com/cb";
const PARENT: &str = "preview.example.com";

fn parents() -> Vec<String> {
    vec![PARENT.to_owned()]
}

fn reg(s: &str) -> RedirectUri {
    RedirectUri::parse(s, &parents()).unwrap_or_else(|e| panic!("{s:?} should register: {e}"))
}

fn assert_rejected(s: &str) {
    assert!(RedirectUri::parse(s, &parents()).is_err(), "{s:?} should be rejected at registration");
}

fn assert_no_match(registered: &str, candidates: &[&str]) {
    let r = reg(registered);
    for c in candidates {
        assert!(!r.matches(c), "{c:?} must not match {registered:?}");
    }
}

fn assert_match(registered: &str, candidates: &[&str]) {
    let r = reg(registered);
    for c in candidates {
        assert!(r.matches(c), "{c:?} should match {registered:?}");
    }
}

#[test]
fn accepts_well_formed_uris() {
    for ok in [
        APP,
        "https://app.example",
        "https://app.example/",
        "https://app.example/cb/",
        "https://app.example:8443/cb",
        "https://app.example:443/cb",
        "https://app.example/cb?foo=bar&x=%20y",
        "https://app.example/@user/cb",
        "https://app.example/cb&FAKEPATH",
        "https://sub.app-1.example.co.uk/a/b/c",
        "https://xn--bcher-kva.example/cb",
        "https://203.0.113.7/cb",
        "https://[2001:db8::1]:8443/cb",
        "https://localhost/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:8080/cb",
        "http://[::1]/cb",
        "http://localhost",
        "com.example.app:/cb",
        "com.example.app:/oauth/cb",
        "com.example-app.v2+x:/cb?x=1",
        WILDCARD,
        "https://*.preview.example.com",
        "https://*.preview.example.com:8443/cb?x=1",
    ] {
        assert!(RedirectUri::parse(ok, &parents()).is_ok(), "{ok:?}: {:?}", RedirectUri::parse(ok, &parents()));
    }
}

#[test]
fn accessors_display_and_serialize() {
    let r = reg(WILDCARD);
    assert!(r.is_wildcard() && !r.is_loopback());
    assert_eq!(r.as_str(), WILDCARD);
    assert_eq!(r.to_string(), WILDCARD);
    assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{WILDCARD}\""));
    let l = reg("http://localhost:3000/cb");
    assert!(l.is_loopback() && !l.is_wildcard());
    let h = reg("https://localhost/cb");
    assert!(!h.is_loopback(), "https loopback is compared exactly");
}

#[test]
fn errors_name_the_field() {
    let e = RedirectUri::parse("javascript:alert(1)", &[]).unwrap_err();
    assert_eq!(e.field, "redirect_uris");
    assert!(e.message.contains("javascript"), "{e}");
}

#[test]
fn req_01_exact_string_comparison() {
    assert_match(APP, &[APP]);
    let near_misses = [
        "HTTPS://app.example/cb",
        "https://APP.example/cb",
        "https://app.EXAMPLE/cb",
        "https://app.example/CB",
        "https://app.example/cb/",
        "https://app.example:443/cb",
        "https://app.example/c%62",
        "https://app.example/%63b",
        "https://app.example./cb",
        "https://app.example/cb?",
        "https://app.example/cb#",
        "https://app.example/./cb",
        " https://app.example/cb",
        "https://app.example/cb ",
        "http://app.example/cb",
        "",
    ];
    assert_no_match(APP, &near_misses);
    assert_no_match("https://app.example/", &["https://app.example", "https://app.example//"]);
    assert_no_match("https://app.example:443/cb", &[APP]);
}

#[test]
fn req_01_registration_requires_lowercase_scheme_and_host() {
    for bad in ["HTTPS://app.example/cb", "Https://app.example/cb", "https://APP.example/cb", "https://app.Example/cb"]
    {
        assert_rejected(bad);
    }
    // The path is case-sensitive data, not normalised and not refused.
    assert_match("https://app.example/CallBack", &["https://app.example/CallBack"]);
    assert_no_match("https://app.example/CallBack", &["https://app.example/callback"]);
}

#[test]
fn cve_2020_15234_no_lowercase_normalisation() {
    assert_no_match(
        "https://app.example/cb?foo=bar",
        &["https://app.example/cb?FOO=bar", "https://app.example/CB?foo=bar"],
    );
}

#[test]
fn req_02_query_exact() {
    assert_no_match(APP, &["https://app.example/cb?x=1", "https://app.example/cb?"]);
    let registered = "https://app.example/cb?foo=bar";
    assert_match(registered, &[registered]);
    assert_no_match(
        registered,
        &[
            "https://app.example/cb?foo=bara",
            "https://app.example/cb?foo=bar&bar=foo",
            "https://app.example/cb?bar=foo&foo=bar",
            "https://app.example/cb?foo",
            "https://app.example/cb?foo=ba%72",
            "https://app.example/cb",
        ],
    );
    assert_rejected("https://app.example/cb?");
}

/// Checklist item 3: the OAuch path-confusion payloads, appended to the
/// registered path, and whether the result may itself be registered.
const PATH_PAYLOADS: [(&str, bool); 26] = [
    ("/FAKEPATH", true),
    ("%2FFAKEPATH", false),
    ("/..%2FFAKEPATH", false),
    ("/%2e%2e%2FFAKEPATH", false),
    ("/..%252FFAKEPATH", false),
    ("/FAKEPATH/..", false),
    ("/;/../../FAKEPATH", false),
    ("/%3B/../../FAKEPATH", false),
    ("%0A%0D/../../FAKEPATH", false),
    ("..;/", false),
    ("/../FAKEPATH", false),
    ("%2e%2e/FAKEPATH", false),
    ("/.%2e/FAKEPATH", false),
    ("\\FAKEPATH", false),
    ("/%5cFAKEPATH", false),
    ("/%09/FAKEPATH", false),
    ("?FAKEPATH", true),
    ("&FAKEPATH", true),
    ("#FAKEPATH", false),
    ("/FAKEPATH%00", false),
    // A few more variants of the same families.
    ("/%2E%2E/FAKEPATH", false),
    ("/..;/FAKEPATH", false),
    ("/./FAKEPATH", false),
    ("/.", false),
    ("//FAKEPATH", false),
    ("%5C..%5CFAKEPATH", false),
];

#[test]
fn req_03_path_confusion_payloads() {
    let registered = reg(APP);
    for (payload, registrable) in PATH_PAYLOADS {
        let candidate = format!("{APP}{payload}");
        assert!(!registered.matches(&candidate), "{candidate:?} must not match");
        assert_eq!(RedirectUri::parse(&candidate, &[]).is_ok(), registrable, "registration of {candidate:?}");
    }
}

#[test]
fn req_03_path_confusion_payloads_against_loopback_and_wildcard() {
    let loopback = reg("http://127.0.0.1/cb");
    let wildcard = reg(WILDCARD);
    for (payload, _) in PATH_PAYLOADS {
        for candidate in [format!("http://127.0.0.1/cb{payload}"), format!("http://127.0.0.1:5000/cb{payload}")] {
            assert!(!loopback.matches(&candidate), "{candidate:?}");
        }
        let candidate = format!("https://a.preview.example.com/cb{payload}");
        assert!(!wildcard.matches(&candidate), "{candidate:?}");
    }
}

#[test]
fn cve_2026_3872_dot_dot_semicolon() {
    assert_rejected("https://app.example/cb/..;/evil");
    assert_rejected("https://app.example/..;/cb");
    assert_no_match(APP, &["https://app.example/cb/..;/evil", "https://app.example/cb..;/"]);
}

#[test]
fn cve_2024_1132_path_traversal_with_wildcard() {
    assert_no_match(
        WILDCARD,
        &[
            "https://a.preview.example.com/cb/../evil",
            "https://a.preview.example.com/cb/..;/evil",
            "https://a.preview.example.com/cb%2f..%2fevil",
            "https://a.preview.example.com/evil/../cb",
            "https://a.preview.example.com/cb/%2e%2e/evil",
        ],
    );
}

#[test]
fn req_04_authority_tricks() {
    let tricks = [
        "https://app.example@evil.example/cb",
        "https://app.example@evil@app.example/cb",
        "https://user:pw@app.example/cb",
        "https://@app.example/cb",
        "https://app.example\\@evil.example/cb",
        "https:\\\\evil.example/cb",
        "https://evil.example\\app.example/cb",
        "https:////evil.example/cb",
        "https:///evil.example/cb",
        "https:/evil.example/cb",
        "https:evil.example/cb",
        "//evil.example/cb",
        "https://app.example/\tcb",
        "https://app.example/c\rb",
        "https://app.example/cb\n",
        "https://app.exa mple/cb",
        "https://\u{430}pp.example/cb",
        "https://app.ex\u{e4}mple/cb",
        "https://app.example/caf\u{e9}",
        "https://[fe80::1%25eth0]/cb",
        "https://[fe80::1%eth0]/cb",
        "http://[::1%25lo]/cb",
        "https://[::1/cb",
        "https://[::1]x/cb",
        "https://[0:0:0:0:0:0:0:1]/cb",
        "https://[2001:DB8::1]/cb",
        "https://app.example:0/cb",
        "https://app.example:65536/cb",
        "https://app.example:-1/cb",
        "https://app.example:08443/cb",
        "https://app.example:abc/cb",
        "https://app.example:/cb",
        "https://app.example:8443:1/cb",
        "https://app..example/cb",
        "https://.app.example/cb",
        "https://app.example./cb",
        "https://-app.example/cb",
        "https://app-.example/cb",
        "https://app_x.example/cb",
        "https://app.example%2Eevil/cb",
        "https://127.1/cb",
        "https://0177.0.0.1/cb",
        "https://0x7f.0.0.1/cb",
        "https://2130706433/cb",
        "https://app.example/cb%",
        "https://app.example/cb%zz",
        "https://app.example/cb%0",
        "https://app.example/cb%7F",
        "https://app.example/c\"b",
        "https://app.example/c<b>",
        "https://app.example/c{b}",
        "https://app.example/c|b",
        "https://app.example/c^b",
        "https://app.example/c`b",
        "https://app.example/[cb]",
        "https://app.example/cb\u{0}",
        "https://app.example/cb\u{7f}",
    ];
    for trick in tricks {
        assert_rejected(trick);
    }
    assert_no_match(APP, &tricks);
    assert!(RedirectUri::parse(&format!("https://{}.example/cb", "a".repeat(64)), &[]).is_err());
    assert!(RedirectUri::parse(&format!("https://{}/cb", ["a"; 128].join(".")), &[]).is_err());
}

#[test]
fn cve_2026_7504_multiple_at() {
    for bad in [
        "https://a.preview.example.com@evil.example/cb",
        "https://evil.example@a.preview.example.com/cb",
        "https://x@y@a.preview.example.com/cb",
        "https://*.preview.example.com@evil.example/cb",
        "https://evil.example@*.preview.example.com/cb",
    ] {
        assert_rejected(bad);
    }
    assert_no_match(
        WILDCARD,
        &[
            "https://a.preview.example.com@evil.example/cb",
            "https://evil.example@a.preview.example.com/cb",
            "https://a@b.preview.example.com/cb",
            "https://x@y@a.preview.example.com/cb",
        ],
    );
}

#[test]
fn ghsa_mpwq_j3xf_7m5w_allowed_host_bypass() {
    assert_no_match(
        "https://app.example",
        &[
            "https://app.example.evil.example",
            "https://app.example@evil.example",
            "https://app.example:443@evil.example",
            "https://app.examplex",
            "https://app.example\\.evil.example",
            "https://app.example/",
        ],
    );
}

#[test]
fn req_05_wildcard_label_by_label() {
    assert_match(WILDCARD, &["https://a.preview.example.com/cb", "https://pr-123.preview.example.com/cb"]);
    assert_match(WILDCARD, &[&format!("https://{}.preview.example.com/cb", "a".repeat(63))]);
    assert_no_match(
        WILDCARD,
        &[
            WILDCARD,
            "https://a.b.preview.example.com/cb",
            "https://preview.example.com/cb",
            "https://.preview.example.com/cb",
            "https://a.preview.example.com.evil/cb",
            "https://a.preview.example.com@evil/cb",
            "https://evil/a.preview.example.com/cb",
            "https://a.preview.example.com/cb2",
            "https://a.preview.example.com/cb/",
            "https://a.preview.example.com/cb?x=1",
            "https://a.preview.example.com:443/cb",
            "https://A.preview.example.com/cb",
            "https://a.PREVIEW.example.com/cb",
            "HTTPS://a.preview.example.com/cb",
            "http://a.preview.example.com/cb",
            "https://-a.preview.example.com/cb",
            "https://a-.preview.example.com/cb",
            "https://a_b.preview.example.com/cb",
            "https://a%2e.preview.example.com/cb",
            "https://a*.preview.example.com/cb",
            "https://a:1.preview.example.com/cb",
            "https://evilpreview.example.com/cb",
            "https://a.evil-preview.example.com/cb",
            &format!("https://{}.preview.example.com/cb", "a".repeat(64)),
        ],
    );
}

#[test]
fn req_05_wildcard_keeps_port_path_and_query_exact() {
    let registered = "https://*.preview.example.com:8443/cb?x=1";
    assert_match(registered, &["https://pr-7.preview.example.com:8443/cb?x=1"]);
    assert_no_match(
        registered,
        &[
            "https://pr-7.preview.example.com/cb?x=1",
            "https://pr-7.preview.example.com:8444/cb?x=1",
            "https://pr-7.preview.example.com:8443/cb?x=2",
            "https://pr-7.preview.example.com:8443/cb?x=1&code=y",
        ],
    );
}

#[test]
fn req_05_wildcard_registration() {
    for bad in [
        "https://a*.preview.example.com/cb",
        "https://*a.preview.example.com/cb",
        "https://x.*.preview.example.com/cb",
        "https://*.*.preview.example.com/cb",
        "https://*/cb",
        "https://*.com/cb",
        "https://*./cb",
        "https://*.preview.example.com/*",
        "https://*.preview.example.com/cb*",
        "https://*.preview.example.com/cb?x=*",
        "https://*.preview.example.com:*/cb",
        "https://app.example/*",
        "https://app.example/cb?redirect=*",
        "https://app.example:*/cb",
        "*://app.example/cb",
        "https*://app.example/cb",
        "https://*.other.example.com/cb",
        "https://*.example.com/cb",
        "https://*.a.preview.example.com/cb",
        "https://*.PREVIEW.example.com/cb",
        "http://*.preview.example.com/cb",
        "http://*.localhost/cb",
        "com.example.app://*.preview.example.com/cb",
    ] {
        assert_rejected(bad);
    }
    // No approved parents: no wildcard at all.
    assert!(RedirectUri::parse(WILDCARD, &[]).is_err());
    // The approved list is compared case-insensitively; the URI must be lowercase.
    assert!(RedirectUri::parse(WILDCARD, &["Preview.Example.COM".to_owned()]).is_ok());
    // Approving the bare TLD-like parent `com` never enables `*.com`.
    assert!(RedirectUri::parse("https://*.com/cb", &["com".to_owned()]).is_err());
}

#[test]
fn issue_48430_prefix_wildcard() {
    assert_rejected("https://app.example.com*");
    assert_rejected("https://app.example.com*/cb");
    assert_no_match("https://app.example.com", &["https://app.example.com.otherdomain.com"]);
    assert_no_match(
        "https://*.preview.example.com",
        &[
            "https://a.preview.example.com.otherdomain.com",
            "https://a.preview.example.comx",
            "https://a.preview.example.com/anything",
            "https://a.preview.example.com:8443",
        ],
    );
    assert_match("https://*.preview.example.com", &["https://a.preview.example.com"]);
}

#[test]
fn req_06_loopback_any_port() {
    let registered = "http://127.0.0.1/cb";
    assert_match(
        registered,
        &[registered, "http://127.0.0.1:51004/cb", "http://127.0.0.1:1/cb", "http://127.0.0.1:65535/cb"],
    );
    assert_no_match(
        registered,
        &[
            "http://127.0.0.1:51004/cb2",
            "http://127.0.0.1/cb?x=1",
            "http://127.0.0.1:51004/cb?x=1",
            "http://127.0.0.1/cb/",
            "http://127.0.0.1/CB",
            "http://127.0.0.2/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost/cb",
            "http://localhosts/cb",
            "http://localhost.evil/cb",
            "https://127.0.0.1/cb",
            "https://127.0.0.1:51004/cb",
            "HTTP://127.0.0.1:1/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:65536/cb",
            "http://127.0.0.1:051004/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:+1/cb",
            "http://127.0.0.1: 1/cb",
            "http://127.0.0.1:1:2/cb",
            "http://127.0.0.1:1/cb#x",
        ],
    );
    assert_match("http://localhost:8080/cb", &["http://localhost/cb", "http://localhost:3000/cb"]);
    assert_no_match("http://localhost:8080/cb", &["http://localhost.evil:8080/cb", "http://localhost:8080.evil/cb"]);
    assert_match("http://[::1]/cb", &["http://[::1]:5000/cb"]);
    assert_no_match(
        "http://[::1]/cb",
        &["http://[::1%25lo]:5000/cb", "http://[0:0:0:0:0:0:0:1]:5000/cb", "http://[::2]/cb"],
    );
}

#[test]
fn req_06_port_variance_never_applies_to_other_hosts() {
    assert_no_match(APP, &["https://app.example:8443/cb"]);
    assert_no_match("https://localhost/cb", &["https://localhost:8443/cb"]);
    assert_no_match("https://127.0.0.1/cb", &["https://127.0.0.1:8443/cb"]);
    for bad in ["http://app.example/cb", "http://127.0.0.2/cb", "http://localhost.evil/cb", "http://localhosts/cb"] {
        assert_rejected(bad);
    }
}

#[test]
fn cve_2024_8883_localhost_arbitrary() {
    for registered in ["http://localhost/cb", "http://localhost", "http://127.0.0.1"] {
        assert_no_match(
            registered,
            &[
                "http://localhost@evil.example/cb",
                "http://localhost:80@evil.example/cb",
                "http://localhost.evil.example/cb",
                "http://localhost:8080.evil.example/cb",
                "http://127.0.0.1.nip.io/",
                "http://127.0.0.1:1@evil.example/",
                "http://127.0.0.1:1@evil.example",
                "http://localhost/cb/../../evil",
                "http://localhost:1/cb@evil",
                "http://evil.example/cb",
                "https://evil.example",
                "http://localhost:1?code=x",
            ],
        );
    }
}

#[test]
fn cve_2020_15233_loopback_query_compared() {
    let registered = "http://127.0.0.1/cb?x=1";
    assert_match(registered, &["http://127.0.0.1:5000/cb?x=1"]);
    assert_no_match(
        registered,
        &["http://127.0.0.1:5000/cb?x=2", "http://127.0.0.1:5000/cb", "http://127.0.0.1/cb?x=1&y=2"],
    );
}

#[test]
fn req_07_dangerous_schemes_any_case() {
    for scheme in
        ["javascript", "JavaScript", "JAVASCRIPT", "jAvAsCrIpT", "data", "DATA", "Data", "vbscript", "VBScript"]
    {
        for rest in [":alert(1)", "://app.example/%0Aalert(1)", ":text/html;base64,PHNjcmlwdD4=", ":/cb"] {
            let uri = format!("{scheme}{rest}");
            assert_rejected(&uri);
            assert!(CorsOrigin::parse(&uri).is_err(), "{uri:?}");
            assert!(validate_metadata_uri("logo_uri", &uri).is_err(), "{uri:?}");
        }
    }
    for uri in ["file:///etc/passwd", "FILE:///etc/passwd", "File://localhost/etc/passwd"] {
        assert_rejected(uri);
        assert!(validate_metadata_uri("tos_uri", uri).is_err(), "{uri:?}");
    }
    let e = RedirectUri::parse("JaVaScRiPt:alert(1)", &[]).unwrap_err();
    assert!(e.message.contains("never allowed"), "{e}");
}

#[test]
fn req_07_registration_validation() {
    for bad in [
        "",
        "cb",
        "/cb",
        "//app.example/cb",
        "app.example/cb",
        "https://app.example/cb#",
        "https://app.example/cb#frag",
        "https://app.example/cb#state=x",
        "ftp://app.example/cb",
        "ws://app.example/cb",
        "custom:/cb",
        "myapp://cb",
        "myapp:/cb",
        "mailto:a@app.example",
        "about:blank",
        "blob:https://app.example/uuid",
        "http://app.example/cb",
        "https:",
        "https://",
        "https:///cb",
        "1https://app.example/cb",
        "com.example.app://cb",
        "com.example.app://app.example/cb",
        "com.example.app:cb",
        "com.example.app:",
        "com.example.app:?x=1",
        "Com.Example.App:/cb",
        "com..app:/cb",
        "com.example.:/cb",
        ".com.example:/cb",
        "com.example_app:/cb",
        "com.example.app:/cb#x",
        "com.example.app:/cb/../x",
        "com.example.app://",
        "com.example.app:/a//b",
    ] {
        assert_rejected(bad);
    }
}

#[test]
fn req_07_length_limit() {
    let base = "https://app.example/";
    let at_limit = format!("{base}{}", "a".repeat(MAX_URI_LEN - base.len()));
    assert!(RedirectUri::parse(&at_limit, &[]).is_ok());
    assert!(RedirectUri::parse(&format!("{at_limit}a"), &[]).is_err());
    assert!(validate_metadata_uri("client_uri", &format!("{at_limit}a")).is_err());
}

#[test]
fn req_07_metadata_uris() {
    for ok in [
        "https://app.example",
        "https://app.example/tos#section-2",
        "https://app.example/logo.png?v=2",
        "http://localhost:3000/policy",
        "https://app.example/a/../b",
    ] {
        assert!(validate_metadata_uri("client_uri", ok).is_ok(), "{ok:?}");
    }
    for bad in [
        "JavaScript:alert(1)",
        "data:image/png;base64,AAAA",
        "vbscript:msgbox",
        "file:///etc/passwd",
        "http://app.example/logo.png",
        "https://user@app.example/logo.png",
        "https://app.example/lo\ngo.png",
        "https://app.example/logo%0D.png",
        "https://*.preview.example.com/logo.png",
        "ftp://app.example/logo.png",
        "/logo.png",
        "logo.png",
        "com.example.app:/logo",
    ] {
        let e = validate_metadata_uri("logo_uri", bad).unwrap_err();
        assert_eq!(e.field, "logo_uri", "{bad:?}");
    }
}

#[test]
fn req_10_response_parameter_pollution() {
    for bad in [
        "https://app.example/cb?code=attacker",
        "https://app.example/cb?state=x",
        "https://app.example/cb?iss=https://evil.example",
        "https://app.example/cb?error=access_denied",
        "https://app.example/cb?error_description=x",
        "https://app.example/cb?access_token=x",
        "https://app.example/cb?id_token=x",
        "https://app.example/cb?token_type=bearer",
        "https://app.example/cb?expires_in=3600",
        "https://app.example/cb?a=1&code=x",
        "https://app.example/cb?a=1;code=x",
        "https://app.example/cb?code",
        "https://app.example/cb?code=",
        "https://app.example/cb?%63ode=x",
        "https://app.example/cb?co%64e=x",
        "https://app.example/cb?CODE=x",
        "https://app.example/cb?State=x",
        "https://app.example/cb#state=x",
        "https://app.example/cb?x=1#code=2",
        "http://127.0.0.1/cb?code=x",
        "com.example.app:/cb?state=x",
        "https://*.preview.example.com/cb?code=x",
    ] {
        assert_rejected(bad);
    }
    for ok in [
        "https://app.example/cb?codes=1",
        "https://app.example/cb?xcode=1",
        "https://app.example/cb?foo=code",
        "https://app.example/cb?redirect=state%3Dx",
        "https://app.example/cb?code_challenge_hint=1",
    ] {
        assert!(RedirectUri::parse(ok, &[]).is_ok(), "{ok:?}");
    }
    assert_no_match(WILDCARD, &["https://a.preview.example.com/cb?code=x", "https://a.preview.example.com/cb#code=x"]);
    assert_no_match("http://127.0.0.1/cb", &["http://127.0.0.1:1/cb?code=x", "http://127.0.0.1:1/cb#state=x"]);
}

#[test]
fn req_12_post_logout_exact_match() {
    let registered = "https://app.example/logged-out";
    assert_match(registered, &[registered]);
    assert_no_match(
        registered,
        &["https://app.example/logged-out?foo=bar", "https://app.example/logged-out/", "https://evil.example/"],
    );
}

#[test]
fn find_match_picks_the_matching_registration() {
    let registered = [reg(APP), reg("http://localhost/cb"), reg(WILDCARD)];
    assert_eq!(find_match(&registered, APP, &parents()).map(RedirectUri::as_str), Some(APP));
    assert_eq!(
        find_match(&registered, "http://localhost:9/cb", &parents()).map(RedirectUri::as_str),
        Some("http://localhost/cb")
    );
    assert_eq!(
        find_match(&registered, "https://x.preview.example.com/cb", &parents()).map(RedirectUri::as_str),
        Some(WILDCARD)
    );
    assert!(find_match(&registered, "https://evil.example/cb", &parents()).is_none());
    assert!(find_match(&[], APP, &parents()).is_none());
}

#[test]
fn explain_match_reasons() {
    let registered = [reg(APP), reg("http://localhost/cb"), reg(WILDCARD)];
    let cases = [
        (APP, true, "exact match"),
        ("http://localhost/cb", true, "exact match"),
        ("http://localhost:8080/cb", true, "loopback: any port (RFC 8252)"),
        ("https://pr-1.preview.example.com/cb", true, "wildcard label under preview.example.com"),
        ("https://app.example/CB", false, "only in letter case"),
        ("https://app.example/cb/", false, "only by a trailing slash"),
        ("https://app.example/cb?x=1", false, "comparison is exact, including case, trailing slash and query"),
        ("https://app.example/cb#x", false, "not an acceptable redirect URI"),
        ("javascript:alert(1)", false, "never allowed"),
    ];
    for (candidate, matches, reason) in cases {
        let e = explain_match(&registered, candidate, &parents());
        assert_eq!(e.matches, matches, "{candidate:?}: {e:?}");
        assert_eq!(e.matched.is_some(), matches, "{candidate:?}: {e:?}");
        assert!(e.reason.contains(reason), "{candidate:?}: {e:?}");
    }
    assert_eq!(
        explain_match(&registered, "http://localhost:1/cb", &parents()).matched.as_deref(),
        Some("http://localhost/cb")
    );
    assert!(explain_match(&[], APP, &parents()).reason.contains("no registered redirect URIs"));
    let json = serde_json::to_value(explain_match(&registered, APP, &parents())).unwrap();
    assert_eq!(json, serde_json::json!({ "matches": true, "matched": APP, "reason": "exact match" }));
}

#[test]
fn cors_origin_shape() {
    for ok in [
        "https://app.example.com",
        "https://app.example.com:8443",
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:3000",
        "http://localhost",
    ] {
        let origin = CorsOrigin::parse(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        assert!(origin.matches(ok));
        assert_eq!(origin.to_string(), ok);
    }
    for bad in [
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://app.example.com?x=1",
        "https://app.example.com#x",
        "https://user@app.example.com",
        "http://app.example.com",
        "https://APP.example.com",
        "HTTPS://app.example.com",
        "https://*.example.com",
        "*",
        "null",
        "https://app.example.com:443",
        "http://localhost:80",
        "app.example.com",
        "javascript:alert(1)",
        "com.example.app:/cb",
    ] {
        let e = CorsOrigin::parse(bad).unwrap_err();
        assert_eq!(e.field, "allowed_cors_origins", "{bad:?}");
    }
    let origin = CorsOrigin::parse("https://app.example.com").unwrap();
    for other in [
        "https://app.example.com/",
        "https://APP.example.com",
        "https://app.example.com:443",
        "https://app.example.com.evil",
        "null",
    ] {
        assert!(!origin.matches(other), "{other:?}");
    }
}

#[test]
fn cors_origin_serde_round_trip() {
    let origin: CorsOrigin = serde_json::from_str("\"http://localhost:3000\"").unwrap();
    assert_eq!(serde_json::to_string(&origin).unwrap(), "\"http://localhost:3000\"");
    assert!(serde_json::from_str::<CorsOrigin>("\"https://app.example.com/\"").is_err());
}
