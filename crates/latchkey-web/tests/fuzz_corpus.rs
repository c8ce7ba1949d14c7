//! The fuzz targets' invariants (`fuzz/checks.rs`) on stable, over the
//! committed corpus (`fuzz/corpus/<target>/`) and a few thousand
//! deterministic mutations of it: a cheap regression guard that needs
//! neither nightly nor libFuzzer. `scripts/reliability.sh` runs the real
//! fuzzers (`cargo +nightly fuzz run`) for a fixed time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::missing_panics_doc)]

#[path = "../../../fuzz/checks.rs"]
mod checks;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let inputs: Vec<_> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(inputs.len() >= 10, "{target}: fewer than 10 corpus files");
    inputs
}

/// Each corpus input, then mutations of it: truncations, byte flips,
/// insertions of interesting bytes and splices with another input, from a
/// fixed-seed generator (the same inputs on every run).
fn replay(target: &str, check: fn(&[u8]), mutations_per_input: usize) {
    let inputs = corpus(target);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const INTERESTING: [&[u8]; 12] =
        [b"\0", b"%", b"%00", b"%zz", b"\xff", b"\xc3", b":", b"/", b"*", b"\"", b"(", b"\xe2\x80\xae"];
    for (i, input) in inputs.iter().enumerate() {
        check(input);
        for _ in 0..mutations_per_input {
            let mut m = input.clone();
            let r = usize::try_from(next()).unwrap();
            let at = if m.is_empty() { 0 } else { r % (m.len() + 1) };
            match r % 5 {
                0 => m.truncate(at),
                1 if !m.is_empty() => {
                    let j = at.min(m.len() - 1);
                    m[j] ^= 1 << (r % 8);
                }
                2 => {
                    let ins = INTERESTING[(r / 7) % INTERESTING.len()];
                    m.splice(at..at, ins.iter().copied());
                }
                3 => {
                    let other = &inputs[(i + 1 + r / 11) % inputs.len()];
                    let from = (r / 13) % (other.len() + 1);
                    m.truncate(at);
                    m.extend_from_slice(&other[from..]);
                }
                _ => {
                    let end = (at + 1 + r / 17 % 8).min(m.len());
                    m.drain(at.min(end)..end);
                }
            }
            check(&m);
        }
    }
}

#[test]
fn redirect_corpus() {
    replay("redirect", checks::redirect, 200);
}

#[test]
fn form_corpus() {
    replay("form", checks::form, 200);
}

#[test]
fn basic_corpus() {
    replay("basic", checks::basic, 200);
}

#[test]
fn jws_corpus() {
    replay("jws", checks::jws, 50);
}

#[test]
fn scim_filter_corpus() {
    replay("scim_filter", checks::scim_filter, 200);
}

#[test]
fn scim_patch_corpus() {
    replay("scim_patch", checks::scim_patch, 100);
}
