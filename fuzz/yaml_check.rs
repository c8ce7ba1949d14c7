//! The invariant of the `yaml` fuzz target (the declarative file that
//! `plan` and `apply` read), shared with the stable corpus replay in
//! `crates/latchkey/src/cli/declarative_tests.rs`. `parse` gives a parsed
//! document as JSON and rendered back as YAML, or `None` when it is refused.

/// Any text is refused or parsed without a panic; a parsed document,
/// rendered as YAML, parses to the same document.
pub fn yaml(data: &[u8], parse: &dyn Fn(&str) -> Option<(serde_json::Value, String)>) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some((doc, rendered)) = parse(text) else { return };
    let Some((again, _)) = parse(&rendered) else {
        panic!("the rendered document does not parse:\n{rendered}\nfrom:\n{text}");
    };
    assert_eq!(doc, again, "document round trip through:\n{rendered}");
}
