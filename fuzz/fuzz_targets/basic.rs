#![no_main]
//! `cargo +nightly fuzz run basic`: see `latchkey_fuzz::basic` (fuzz/checks.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| latchkey_fuzz::basic(data));
