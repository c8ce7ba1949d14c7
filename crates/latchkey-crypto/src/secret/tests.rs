use super::*;

fn random(seed: u8) -> [u8; RANDOM_BYTES] {
    let mut r = [0u8; RANDOM_BYTES];
    for (i, b) in r.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(u8::try_from(i).unwrap().wrapping_mul(97));
    }
    r
}

#[test]
fn generated_secret_has_prefix_length_and_valid_checksum() {
    let s = generate_client_secret(&random(7)).unwrap();
    assert!(s.expose().starts_with("lks_"));
    assert_eq!(s.expose().len(), 4 + 43 + 6);
    assert!(handle_checksum_ok(SECRET_PREFIX, s.expose()));
}

#[test]
fn checksum_catches_a_changed_character() {
    let s = generate_client_secret(&random(9)).unwrap();
    let mut bad = s.expose().to_owned().into_bytes();
    bad[10] = if bad[10] == b'a' { b'b' } else { b'a' };
    assert!(!handle_checksum_ok(SECRET_PREFIX, std::str::from_utf8(&bad).unwrap()));
    assert!(!handle_checksum_ok(SECRET_PREFIX, "lks_short"));
    assert!(!handle_checksum_ok("lkat_", s.expose()));
}

#[test]
fn hmac_verifies_only_the_right_secret_and_key() {
    let h = SecretHasher::new(&[1; 32]);
    let s = generate_client_secret(&random(3)).unwrap();
    let stored = h.hash(&s);
    assert!(h.verify(s.expose(), &stored));
    assert!(!h.verify("lks_wrong", &stored));
    assert!(!SecretHasher::new(&[2; 32]).verify(s.expose(), &stored));
    // The stored form never contains the plaintext.
    assert!(!stored.windows(8).any(|w| s.expose().as_bytes().windows(8).any(|x| x == w)));
}

#[test]
fn debug_output_never_shows_the_secret() {
    let s = ClientSecret::from_plaintext("super-secret-value-0123456789abcdef".into());
    assert_eq!(format!("{s:?}"), "ClientSecret(****)");
    assert_eq!(s.hint(), "cdef");
}

#[test]
fn rejection_sampling_is_uniform_enough_and_needs_no_more_than_given() {
    assert!(random_base62(&[255; 64], 43).is_none());
    let s = random_base62(&(0..=63).collect::<Vec<u8>>(), 43).unwrap();
    assert_eq!(&s[..3], "012");
}

#[test]
fn envelope_round_trip_and_binding() {
    let mk = crate::MasterKey::from_bytes([5; 32]);
    let env = mk.envelope().unwrap();
    let sealed = env.seal(b"private key", b"tenant/kid").unwrap();
    assert_eq!(env.open(&sealed, b"tenant/kid").unwrap(), b"private key");
    assert!(env.open(&sealed, b"other/kid").is_err());
    let other = crate::MasterKey::from_bytes([6; 32]).envelope().unwrap();
    assert!(other.open(&sealed, b"tenant/kid").is_err());
    assert_ne!(mk.derive("secret-hash"), mk.derive("envelope"));
    let text = mk.to_base64();
    assert_eq!(crate::MasterKey::parse(&text).unwrap().derive("x"), mk.derive("x"));
    assert!(crate::MasterKey::parse("too short").is_err());
}

#[test]
fn a_rotated_ring_seals_with_the_new_key_and_opens_with_every_key() {
    let old = crate::MasterKey::from_bytes([5; 32]);
    let before = old.envelope_for("p").unwrap().seal(b"kept", b"aad").unwrap();
    let ring = old.rotated([8; 32]).unwrap();
    let env = ring.envelope_for("p").unwrap();
    // What the previous key sealed still opens, and says so.
    assert_eq!(env.open_with_index(&before, b"aad").unwrap(), (b"kept".to_vec(), 1));
    // What the ring seals now, the previous key alone cannot open.
    let after = env.seal(b"new", b"aad").unwrap();
    assert_eq!(env.open_with_index(&after, b"aad").unwrap(), (b"new".to_vec(), 0));
    assert!(old.envelope_for("p").unwrap().open(&after, b"aad").is_err());
    // Without its previous keys the ring no longer opens old values.
    assert!(ring.current_only().envelope_for("p").unwrap().open(&before, b"aad").is_err());
    // The text form keeps the order; derive() is the current key's.
    let text = ring.to_text();
    let parsed = crate::MasterKey::parse(&format!("# rotated\n{text}")).unwrap();
    assert_eq!(parsed.previous(), 1);
    assert_eq!(parsed.derive("x"), crate::MasterKey::from_bytes([8; 32]).derive("x"));
    assert_eq!(parsed.to_text(), text);
    // A single-key file, comma-separated lists and bounds.
    assert_eq!(crate::MasterKey::parse(&old.to_base64()).unwrap().previous(), 0);
    assert_eq!(crate::MasterKey::parse(&text.trim().replace('\n', ",")).unwrap().previous(), 1);
    assert!(crate::MasterKey::parse("# only a comment\n").is_err());
    let mut full = crate::MasterKey::from_bytes([1; 32]);
    for i in 2..=8u8 {
        full = full.rotated([i; 32]).unwrap();
    }
    assert!(full.rotated([9; 32]).is_err(), "a ring is bounded");
    assert!(!format!("{ring:?}").contains("CAgI"), "Debug shows no key");
}

#[test]
fn password_hash_round_trip() {
    let cost = crate::password::PasswordCost { memory_kib: 1024, iterations: 1 };
    let h = crate::password::hash("correct horse", &[9; 16], cost).unwrap();
    assert!(h.starts_with("$argon2id$"));
    assert!(crate::password::verify("correct horse", &h));
    assert!(!crate::password::verify("wrong", &h));
    assert!(!crate::password::verify("x", "not a phc string"));
}

#[test]
fn only_generated_shapes_are_checked_before_lookup() {
    let s = generate_client_secret(&random(11)).unwrap();
    assert!(!looks_generated_but_corrupt(SECRET_PREFIX, s.expose()));
    let mut bad = s.expose().to_owned();
    bad.replace_range(5..6, if &bad[5..6] == "a" { "b" } else { "a" });
    assert!(looks_generated_but_corrupt(SECRET_PREFIX, &bad));
    // Imported secrets of other shapes are never refused by this check.
    assert!(!looks_generated_but_corrupt(SECRET_PREFIX, "lks_imported_secret_of_another_length_0123"));
    assert!(!looks_generated_but_corrupt(SECRET_PREFIX, "plain-imported-secret-0123456789abcdef"));
}
