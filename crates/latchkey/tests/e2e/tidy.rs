//! Rules of the code base that check themselves (issue "architecture",
//! item 6), in the manner of rust-analyzer's tidy tests: they read the
//! source tree, not the binary, and fail with the file to fix.
//!
//! - the core depends only on the crates of an allow-list and does no I/O,
//!   reads no clock and draws no randomness;
//! - only `clock.rs` reads the wall clock and only `rng.rs` draws random
//!   bytes (also `disallowed-methods` in `clippy.toml`, which
//!   `scripts/test.sh` runs);
//! - no source file passes 800 lines;
//! - every public item of the core is documented (`#![deny(missing_docs)]`,
//!   which the compiler enforces; this test keeps the attribute there).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every `.rs` file under `crates/`, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "target" || n == "node_modules") {
                    continue;
                }
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("crates"), &mut out);
    assert!(out.len() > 50, "found too few sources: {}", out.len());
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn tidy_no_source_file_passes_800_lines() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|(_, text)| text.lines().count() > 800)
        .map(|(p, text)| format!("{} ({} lines)", rel(p), text.lines().count()))
        .collect();
    assert!(long.is_empty(), "split these files by what they do: {long:#?}");
}

#[test]
fn tidy_the_core_depends_only_on_its_allow_list() {
    const ALLOWED: [&str; 3] = ["serde", "thiserror", "utoipa"];
    let manifest = std::fs::read_to_string(root().join("crates/latchkey-core/Cargo.toml")).unwrap();
    let mut section = String::new();
    let mut extra = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        if section == "[dependencies]" && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
            if !ALLOWED.contains(&name) {
                extra.push(name.to_owned());
            }
        }
        assert!(section != "[target.'cfg(unix)'.dependencies]", "the core has no platform dependencies");
    }
    assert!(extra.is_empty(), "latchkey-core gained dependencies outside its allow-list: {extra:?}");
}

#[test]
fn tidy_the_core_does_no_io_reads_no_clock_draws_no_randomness() {
    // Address types of std::net are values; sockets and lookups are I/O.
    const FORBIDDEN: [&str; 12] = [
        "std::fs",
        "TcpStream",
        "TcpListener",
        "UdpSocket",
        "to_socket_addrs",
        "std::time::SystemTime",
        "std::time::Instant",
        "SystemTime::now",
        "tokio",
        "async fn",
        "getrandom",
        "std::env",
    ];
    let core = root().join("crates/latchkey-core/src");
    let hits: Vec<String> = sources()
        .iter()
        .filter(|(p, _)| p.starts_with(&core))
        .flat_map(|(p, text)| {
            FORBIDDEN.iter().filter(|f| code_mentions(text, f)).map(move |f| format!("{}: {f}", rel(p)))
        })
        .collect();
    assert!(hits.is_empty(), "the core takes time and randomness as parameters: {hits:#?}");
}

#[test]
fn tidy_only_clock_rs_reads_the_clock_and_only_rng_rs_draws_randomness() {
    let allowed = |p: &Path, what: &str| {
        let name = p.file_name().unwrap().to_string_lossy();
        (what == "SystemTime::now" && name == "clock.rs") || (what == "getrandom::" && name == "rng.rs")
    };
    let hits: Vec<String> = sources()
        .iter()
        .filter(|(p, _)| !p.ends_with("tidy.rs"))
        .flat_map(|(p, text)| {
            ["SystemTime::now", "getrandom::"]
                .into_iter()
                .filter(|w| code_mentions(text, w) && !allowed(p, w))
                .map(move |w| format!("{}: {w}", rel(p)))
        })
        .collect();
    assert!(hits.is_empty(), "inject the Clock / Rng instead: {hits:#?}");
    let clippy = std::fs::read_to_string(root().join("clippy.toml")).unwrap();
    for path in ["std::time::SystemTime::now", "getrandom::fill"] {
        assert!(clippy.contains(path), "clippy.toml no longer disallows {path}");
    }
}

/// Whether `needle` occurs in `text` outside line comments.
fn code_mentions(text: &str, needle: &str) -> bool {
    text.lines().map(|l| l.split("//").next().unwrap_or_default()).any(|l| l.contains(needle))
}

#[test]
fn tidy_the_core_keeps_denying_missing_docs() {
    let lib = std::fs::read_to_string(root().join("crates/latchkey-core/src/lib.rs")).unwrap();
    assert!(lib.contains("#![deny(missing_docs)]"), "latchkey-core must document every public item");
}
