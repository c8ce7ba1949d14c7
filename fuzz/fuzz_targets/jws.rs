#![no_main]
//! `cargo +nightly fuzz run jws`: see `latchkey_fuzz::jws` (fuzz/checks.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| latchkey_fuzz::jws(data));
