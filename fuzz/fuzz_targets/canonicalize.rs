//! Every kind's canonicalization on arbitrary text: no panic; an accepted
//! value is canonical (a fixed point), within MAX_VALUE_LEN, survives the
//! serde round trip (deserializing re-canonicalizes), and `detect` agrees.
#![no_main]

use kyojo_core::observable::{canonicalize, detect, Observable, MAX_VALUE_LEN};
use kyojo_core::Kind;
use libfuzzer_sys::fuzz_target;

fn check(obs: &Observable, kind: Kind, input: &str) {
    assert_eq!(obs.kind, kind, "{input:?}");
    let v = &obs.value;
    assert!(!v.is_empty(), "{kind}: {input:?} -> empty");
    assert!(
        v.len() <= MAX_VALUE_LEN,
        "{kind}: {input:?} -> {} bytes, over MAX_VALUE_LEN",
        v.len()
    );
    assert!(
        !v.chars().any(char::is_control),
        "{kind}: {input:?} -> control character in {v:?}"
    );
    match canonicalize(kind, v) {
        Ok(again) => assert_eq!(&again, obs, "{kind}: not idempotent for {input:?}"),
        Err(e) => panic!("{kind}: canonical {v:?} (from {input:?}) refused: {e}"),
    }
    let json = serde_json::to_string(obs).expect("serialize");
    let back: Observable = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{kind}: {json} does not deserialize: {e}"));
    assert_eq!(&back, obs);
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for kind in Kind::ALL {
        if let Ok(obs) = canonicalize(kind, input) {
            check(&obs, kind, input);
        }
    }
    if let Ok(obs) = detect(input) {
        check(&obs, obs.kind, input);
        // A lookup of the canonical value finds the same observable again.
        assert_eq!(
            detect(&obs.value).as_ref(),
            Ok(&obs),
            "detect is not idempotent for {input:?}"
        );
    }
});
