use super::*;

#[test]
fn client_id_accepts_unreserved_characters() {
    for ok in ["a", "latchkey-admin", "A.b_c~d-9", &"x".repeat(128)] {
        assert!(ClientId::parse(ok).is_ok(), "{ok}");
    }
}

#[test]
fn client_id_rejects_empty_long_and_reserved() {
    for bad in ["", &"x".repeat(129), "a b", "a:b", "a/b", "é", "a%20", "a\nb"] {
        assert!(ClientId::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn tenant_id_rules() {
    assert!(TenantId::parse("default").is_ok());
    assert!(TenantId::parse("acme-2").is_ok());
    for bad in ["", "Acme", "2acme", "a_b", "a.b", &"a".repeat(64)] {
        assert!(TenantId::parse(bad).is_err(), "{bad:?}");
    }
}
