use super::*;

/// A fresh self-signed certificate for `name`, written to `dir`.
fn write_pair(dir: &Path, name: &str) -> (TlsFiles, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.cert, made.cert.pem()).unwrap();
    std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
    (files, made.cert.der().to_vec())
}

fn serving(r: &Reloading) -> Vec<u8> {
    r.current().cert[0].to_vec()
}

#[test]
fn a_certificate_and_its_key_load() {
    let dir = tempfile::tempdir().unwrap();
    let (files, der) = write_pair(dir.path(), "localhost");
    let r = Reloading::new(files).unwrap();
    assert_eq!(serving(&r), der);
}

#[test]
fn bad_files_are_clear_errors_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = write_pair(dir.path(), "localhost");
    let other = tempfile::tempdir().unwrap();
    let (stranger, _) = write_pair(other.path(), "localhost");

    let mismatched = TlsFiles { cert: files.cert.clone(), key: stranger.key.clone() };
    let e = format!("{:#}", load(&mismatched).unwrap_err());
    assert!(e.contains("does not belong to the certificate"), "{e}");

    std::fs::write(dir.path().join("empty.pem"), "not a certificate\n").unwrap();
    let empty = TlsFiles { cert: dir.path().join("empty.pem"), key: files.key.clone() };
    let e = format!("{:#}", load(&empty).unwrap_err());
    assert!(e.contains("holds no certificate"), "{e}");

    let no_key = TlsFiles { cert: files.cert.clone(), key: files.cert.clone() };
    let e = format!("{:#}", load(&no_key).unwrap_err());
    assert!(e.contains("holds no PEM private key"), "{e}");

    let missing = TlsFiles { cert: dir.path().join("nope.pem"), key: files.key };
    let e = format!("{:#}", load(&missing).unwrap_err());
    assert!(e.contains("cannot read"), "{e}");
}

#[test]
fn changed_files_are_picked_up_and_broken_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let (files, first) = write_pair(dir.path(), "localhost");
    let r = Reloading::new(files.clone()).unwrap();
    assert!(!r.reload_if_changed(), "nothing changed yet");

    let (_, second) = write_pair(dir.path(), "localhost");
    assert_ne!(first, second);
    assert!(r.reload_if_changed(), "a renewed pair is loaded");
    assert_eq!(serving(&r), second);

    // Half a renewal (the new certificate, the old key): refused, the
    // previous certificate keeps serving, and it is not retried every tick.
    let other = tempfile::tempdir().unwrap();
    let (fresh, _) = write_pair(other.path(), "localhost");
    std::fs::copy(&fresh.cert, &files.cert).unwrap();
    assert!(!r.reload_if_changed());
    assert_eq!(serving(&r), second);
    assert!(r.reload().is_err(), "an explicit reload says why");

    // The key arrives: the pair is whole again.
    std::fs::copy(&fresh.key, &files.key).unwrap();
    assert!(r.reload_if_changed());
    assert_ne!(serving(&r), second);
}
