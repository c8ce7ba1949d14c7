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
//!   which the compiler enforces; this test keeps the attribute there);
//! - no two files of a crate import each other, directly or around a
//!   circle (a file may read its parent module's shared items);
//! - `App` only wires the services: one `impl App` block, with `new`;
//! - every store operation is a span for traces (`#[tracing::instrument]`
//!   with the `latchkey_otel` target and `skip_all`: no bound values).

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
fn tidy_app_only_wires_the_services() {
    let app_src = root().join("crates/latchkey-app/src");
    let mut blocks = Vec::new();
    let is_test = |p: &Path| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with("tests.rs"));
    for (path, text) in sources().into_iter().filter(|(p, _)| p.starts_with(&app_src) && !is_test(p)) {
        let mut lines = text.lines().enumerate();
        while let Some((n, line)) = lines.next() {
            if !(line.starts_with("impl App ") || line.starts_with("impl crate::App ")) {
                continue;
            }
            let fns: Vec<String> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| *l != "}")
                .filter_map(|l| l.trim_start().split_once("fn ").filter(|(head, _)| !head.contains("//")))
                .map(|(_, rest)| rest.split(['(', '<']).next().unwrap_or_default().to_owned())
                .collect();
            blocks.push((format!("{}:{}", rel(&path), n + 1), fns));
        }
    }
    assert_eq!(
        blocks.iter().map(|(_, fns)| fns.clone()).collect::<Vec<_>>(),
        vec![vec!["new".to_owned()]],
        "`App` wires the services and does nothing else; put methods on a service: {blocks:?}"
    );
}

#[test]
fn tidy_every_store_operation_is_a_trace_span_without_its_arguments() {
    let dir = root().join("crates/latchkey-store/src/sql");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut indent: Option<String> = None;
        let mut previous = "";
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            let here = &line[..line.len() - trimmed.len()];
            match &indent {
                None if trimmed.starts_with("impl ") && trimmed.ends_with(" for $store {") => {
                    indent = Some(here.to_owned());
                }
                Some(i) if line == format!("{i}}}") => indent = None,
                Some(i) if here == format!("{i}    ") && trimmed.starts_with("async fn ") => {
                    checked += 1;
                    let attr = previous.trim();
                    assert!(
                        attr.starts_with("#[tracing::instrument(target = \"latchkey_otel\", skip_all,")
                            && attr.contains("db.system = DB_SYSTEM"),
                        "{}:{}: a store operation without its trace span (copy the attribute of its neighbours)",
                        rel(&path),
                        n + 1
                    );
                }
                _ => {}
            }
            previous = line;
        }
    }
    assert!(checked > 100, "found too few store operations: {checked}");
}

#[test]
fn tidy_the_core_keeps_denying_missing_docs() {
    let lib = std::fs::read_to_string(root().join("crates/latchkey-core/src/lib.rs")).unwrap();
    assert!(lib.contains("#![deny(missing_docs)]"), "latchkey-core must document every public item");
}

/// The module a source file is, as a path from its crate's root
/// (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`); `None` for crate
/// roots' siblings that are not modules (tests, examples, build scripts).
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if !matches!(stem, "lib" | "main" | "mod") {
        parts.push(stem.to_owned());
    }
    Some(parts)
}

/// Every `crate::…`, `super::…` and `self::…` path a file names in code
/// (use statements, with one level of braces expanded, and inline paths).
fn named_paths(text: &str) -> Vec<(String, Vec<String>)> {
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start).map(|i| i + from) {
            from = i + start.len();
            let prev = if i == 0 { b' ' } else { bytes[i - 1] };
            if prev.is_ascii_alphanumeric() || prev == b'_' || prev == b':' {
                continue;
            }
            let rest = &code[i + start.len()..];
            let head: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
            let base: Vec<String> = head.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
            let after = &rest[head.len()..];
            if head.ends_with("::") && after.starts_with('{') {
                let inner = &after[1..after.find('}').unwrap_or(after.len())];
                for item in inner.split(',') {
                    let item: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let mut p = base.clone();
                    p.extend(item.split("::").filter(|s| !s.is_empty() && *s != "self").map(str::to_owned));
                    out.push((start.trim_end_matches("::").to_owned(), p));
                }
            } else {
                out.push((start.trim_end_matches("::").to_owned(), base));
            }
        }
    }
    out
}

#[test]
fn tidy_no_crate_has_import_circles_between_files() {
    let mut circles = Vec::new();
    for krate in std::fs::read_dir(root().join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        let is_test = |p: &Path| {
            let name = p.file_name().unwrap().to_string_lossy();
            name == "tests.rs" || name.ends_with("_tests.rs") || p.components().any(|c| c.as_os_str() == "tests")
        };
        let files: Vec<(PathBuf, Vec<String>, String)> = sources()
            .into_iter()
            .filter(|(p, _)| p.starts_with(&src) && !is_test(p))
            .filter_map(|(p, text)| module_of(&src, &p).map(|m| (p, m, text)))
            .collect();
        let index: std::collections::HashMap<Vec<String>, usize> =
            files.iter().enumerate().map(|(i, (_, m, _))| (m.clone(), i)).collect();
        let is_dir_module = |p: &Path| {
            let name = p.file_name().unwrap().to_string_lossy();
            matches!(name.as_ref(), "mod.rs" | "lib.rs" | "main.rs")
        };
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); files.len()];
        for (i, (path, module, text)) in files.iter().enumerate() {
            // The module `super` and `self` start from.
            let here: Vec<String> =
                if is_dir_module(path) { module.clone() } else { module[..module.len().saturating_sub(1)].to_vec() };
            for (anchor, rest) in named_paths(text) {
                let mut full = match anchor.as_str() {
                    "crate" => Vec::new(),
                    "super" => here[..here.len().saturating_sub(usize::from(is_dir_module(path)))].to_vec(),
                    _ => {
                        if is_dir_module(path) {
                            module.clone()
                        } else {
                            here.clone()
                        }
                    }
                };
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    rest.remove(0);
                    full.pop();
                }
                full.extend(rest);
                // The longest prefix that is a file of this crate.
                let target = (1..=full.len()).rev().find_map(|n| index.get(&full[..n]).copied());
                // A file reading its parent module's shared items is
                // containment, not a circle: only other files count.
                if let Some(t) = target
                    && t != i
                    && !module.starts_with(&files[t].1)
                {
                    edges[i].push(t);
                }
            }
        }
        // Tarjan's strongly connected components.
        struct Walk<'a> {
            edges: &'a [Vec<usize>],
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            stack: Vec<usize>,
            on: Vec<bool>,
            next: usize,
            found: Vec<Vec<usize>>,
        }
        fn visit(w: &mut Walk<'_>, v: usize) {
            w.index[v] = Some(w.next);
            w.low[v] = w.next;
            w.next += 1;
            w.stack.push(v);
            w.on[v] = true;
            for &t in &w.edges[v] {
                match w.index[t] {
                    None => {
                        visit(w, t);
                        w.low[v] = w.low[v].min(w.low[t]);
                    }
                    Some(ti) if w.on[t] => w.low[v] = w.low[v].min(ti),
                    Some(_) => {}
                }
            }
            if Some(w.low[v]) == w.index[v] {
                let mut scc = Vec::new();
                while let Some(t) = w.stack.pop() {
                    w.on[t] = false;
                    scc.push(t);
                    if t == v {
                        break;
                    }
                }
                if scc.len() > 1 {
                    w.found.push(scc);
                }
            }
        }
        let n = files.len();
        let mut w = Walk {
            edges: &edges,
            index: vec![None; n],
            low: vec![0; n],
            stack: Vec::new(),
            on: vec![false; n],
            next: 0,
            found: Vec::new(),
        };
        for v in 0..n {
            if w.index[v].is_none() {
                visit(&mut w, v);
            }
        }
        for scc in w.found {
            circles.push(scc.iter().map(|&i| rel(&files[i].0)).collect::<Vec<_>>());
        }
    }
    assert!(circles.is_empty(), "files that import each other (put what they share in a leaf module): {circles:#?}");
}
