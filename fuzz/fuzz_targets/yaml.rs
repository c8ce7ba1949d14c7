#![no_main]
//! `cargo +nightly fuzz run yaml`: the declarative file (`plan`/`apply`),
//! compiled from the CLI's own source; see fuzz/yaml_check.rs.
#![allow(dead_code)]

#[path = "../../crates/latchkey/src/cli/declarative.rs"]
mod declarative;
#[path = "../yaml_check.rs"]
mod yaml_check;

fn parse(text: &str) -> Option<(serde_json::Value, String)> {
    let p = declarative::parse(text, std::path::Path::new(".")).ok()?;
    Some((serde_json::to_value(&p.doc).ok()?, serde_yaml_ng::to_string(&p.doc).ok()?))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| yaml_check::yaml(data, &parse));
