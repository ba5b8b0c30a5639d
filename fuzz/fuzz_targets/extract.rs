//! The free-text extractor and refang on arbitrary text: no panic; refang
//! is a fixed point; every extracted value is canonical, appears once,
//! points at a non-overlapping span of the original text that reads `raw`,
//! and `raw` alone canonicalizes to it.
#![no_main]

use kyojo_core::defang::refang;
use kyojo_core::extract::extract;
use kyojo_core::observable::{canonicalize, MAX_VALUE_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    let once = refang(text);
    let twice = refang(&once);
    assert_eq!(once, twice, "refang is not a fixed point for {text:?}");

    let found = extract(text);
    let mut seen = std::collections::HashSet::new();
    let mut last_end = 0;
    for x in &found {
        let obs = &x.observable;
        assert!(seen.insert(obs.clone()), "{obs} extracted twice");
        assert!(
            obs.value.len() <= MAX_VALUE_LEN,
            "{} extracted with {} bytes",
            obs.kind,
            obs.value.len()
        );
        match canonicalize(obs.kind, &obs.value) {
            Ok(again) => assert_eq!(&again, obs, "extracted {obs} is not canonical"),
            Err(e) => panic!("extracted {obs} is refused by canonicalize: {e}"),
        }
        assert!(x.span.start < x.span.end, "{obs}: empty span {:?}", x.span);
        let raw = text
            .get(x.span.clone())
            .unwrap_or_else(|| panic!("{obs}: span {:?} is not in the text", x.span));
        assert_eq!(raw, x.raw, "{obs}: raw is not the text at its span");
        // The raw text alone means the same observable (as the crate's own
        // property test promises).
        assert_eq!(
            canonicalize(obs.kind, raw).as_ref(),
            Ok(obs),
            "{obs}: its raw text {raw:?} means something else"
        );
        assert!(
            x.span.start >= last_end,
            "{obs}: span {:?} overlaps the previous one (ending at {last_end})",
            x.span
        );
        last_end = x.span.end;
    }
});
