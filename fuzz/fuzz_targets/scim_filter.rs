#![no_main]
//! `cargo +nightly fuzz run scim_filter`: see `latchkey_fuzz::scim_filter` (fuzz/checks.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| latchkey_fuzz::scim_filter(data));
