#![no_main]
//! `cargo +nightly fuzz run scim_patch`: see `latchkey_fuzz::scim_patch` (fuzz/checks.rs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| latchkey_fuzz::scim_patch(data));
