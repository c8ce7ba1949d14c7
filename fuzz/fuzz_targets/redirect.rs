#![no_main]
//! `cargo +nightly fuzz run redirect`: see `latchkey_fuzz::redirect` (fuzz/checks.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| latchkey_fuzz::redirect(data));
