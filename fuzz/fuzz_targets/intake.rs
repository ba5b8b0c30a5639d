//! Reading other people's lists: `kyojo_formats::intake::read` on arbitrary
//! bytes in every format (the first byte picks it). No panic, no error but
//! the value limit; every value is canonical (a fixed point of its kind's
//! canonicalization), read once, from a line that exists; skipped rows are
//! counted, and at most the first hundred are kept.
#![no_main]

use kyojo_core::observable::canonicalize;
use kyojo_formats::intake::{read, CsvMapping, Format, SKIPPED_KEPT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else {
        return;
    };
    let format = match pick % 8 {
        7 => Format::Csv(CsvMapping {
            value: usize::from(pick >> 3) % 3,
            kind: (pick & 0x40 != 0).then_some(1),
            threat: Some(2),
            delimiter: if pick & 0x80 != 0 { b';' } else { b',' },
            skip_rows: 1,
        }),
        n => Format::preset(Format::PRESETS[usize::from(n)]).expect("a preset"),
    };
    let intake = read(&format, text, 10_000).expect("only the value limit fails a read");
    let mut seen = std::collections::HashSet::new();
    for e in &intake.entries {
        assert!(e.line >= 1 && e.line <= intake.lines, "line {}", e.line);
        let again = canonicalize(e.observable.kind, &e.observable.value)
            .unwrap_or_else(|err| panic!("{:?} is not canonical: {err}", e.observable));
        assert_eq!(again, e.observable);
        assert!(seen.insert(e.observable.clone()), "twice: {:?}", e.observable);
    }
    assert!(intake.skipped.len() <= SKIPPED_KEPT);
    assert!(intake.skipped.len() <= intake.skipped_count);
});
