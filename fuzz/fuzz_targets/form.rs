#![no_main]
//! `cargo +nightly fuzz run form`: see `latchkey_fuzz::form` (fuzz/checks.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| latchkey_fuzz::form(data));
