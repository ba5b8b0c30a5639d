//! The Safe Browsing URL canonicalization that lookups, hash prefixes and
//! `kyojo check` use, on raw bytes (captured URLs need not be UTF-8): no
//! panic; the result is a fixed point of both entry points; it splits into
//! canonical parts; and a listed URL's own expression (what the index and
//! the hash-prefix feed hold) is among the expressions a lookup of the same
//! URL tries, as is its host's domain expression, so a URL always matches
//! itself and its listed host.
#![no_main]

use kyojo_core::observable::canonicalize;
use kyojo_core::url;
use kyojo_core::Kind;
use libfuzzer_sys::fuzz_target;

/// The lookup path's lenient reading (what `POST /lookup` and `kyojo check`
/// accept): no panic; printable ASCII; a fixed point; at most 30
/// expressions, never none; and wherever the strict reading answers, the
/// same answer.
fn lenient(data: &[u8]) {
    let Ok(l) = url::canonicalize_bytes_for_lookup(data) else {
        return;
    };
    let c = &l.canonical;
    assert!(
        c.bytes().all(|b| (0x21..0x7f).contains(&b)),
        "lenient canonical {c:?} is not printable ASCII"
    );
    let again = url::canonicalize_bytes_for_lookup(c.as_bytes())
        .unwrap_or_else(|e| panic!("lenient canonical {c:?} refused again: {e}"));
    assert_eq!(&again.canonical, c, "lenient reading is not idempotent for {data:?}");
    assert!(
        !l.expressions.is_empty() && l.expressions.len() <= 30,
        "{c:?}: {:?}",
        l.expressions
    );
    if let Ok(strict) = url::canonicalize_bytes(data) {
        assert_eq!(&strict, c, "strict and lenient disagree on {data:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    lenient(data);
    let Ok(c) = url::canonicalize_bytes(data) else {
        return;
    };
    assert!(
        c.bytes().all(|b| (0x21..0x7f).contains(&b)),
        "canonical URL {c:?} has a byte that is not printable ASCII"
    );
    assert_eq!(
        url::canonicalize_bytes(c.as_bytes()).as_deref(),
        Ok(c.as_str()),
        "canonicalize_bytes is not idempotent for {data:?}"
    );
    assert_eq!(
        url::canonicalize(&c).as_deref(),
        Ok(c.as_str()),
        "canonicalize(str) disagrees on canonical {c:?}"
    );
    let parts = url::split(&c).unwrap_or_else(|| panic!("canonical {c:?} does not split"));
    assert!(parts.path.starts_with('/'), "{c:?}");
    assert!(!parts.host.is_empty(), "{c:?}");

    let lookups = url::lookup_expressions(&c);
    assert!(
        !lookups.is_empty() && lookups.len() <= 30,
        "{c:?}: {lookups:?}"
    );
    let listed = url::listed_expression(&c);
    assert_eq!(lookups[0], listed, "{c:?}: a URL must match itself first");
    let mut seen = std::collections::HashSet::new();
    for e in &lookups {
        assert!(seen.insert(e), "{c:?}: duplicate expression {e}");
        let host = e.split('/').next().unwrap_or_default();
        assert!(
            parts.host.ends_with(host),
            "{c:?}: expression {e} is not on its host"
        );
        let _ = url::hash_prefix(e);
    }
    // A host that is itself a canonical domain: listing that domain blocks this URL.
    if let Ok(d) = canonicalize(Kind::Domain, parts.host) {
        if d.value == parts.host {
            let de = url::domain_expression(&d.value);
            assert!(lookups.contains(&de), "{c:?}: misses its host's {de}");
        }
    }
    // As a stored indicator, the same URL canonicalizes to the same value.
    if let Ok(s) = std::str::from_utf8(data) {
        if let (Ok(obs), Ok(u)) = (canonicalize(Kind::Url, s), url::canonicalize(s)) {
            assert_eq!(
                obs.value, u,
                "Kind::Url and url::canonicalize disagree on {s:?}"
            );
        }
    }
});
