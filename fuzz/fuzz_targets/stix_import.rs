//! STIX bundle import: `kyojo_formats::stix` parsing and validation on
//! arbitrary bytes. No panic; an accepted bundle re-serializes (as a bundle
//! and as a TAXII envelope) and re-parses to the same objects, indicators,
//! reports and marking; patterns read back exactly what they were written
//! from. The input, read as lines of `<kind byte><value>`, also makes a
//! kyojo report whose own export must pass its own import.
#![no_main]

use kyojo_core::observable::canonicalize;
use kyojo_core::{Kind, Tlp};
use kyojo_formats::stix::{
    bundle, identity, identity_id, parse_bundle, parse_objects, parse_simple_pattern, pattern,
    report_objects, sco, sco_id, sco_representable, tlp_marking, ReportInput,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fn reparse(data: &[u8]) {
    let Ok(parsed) = parse_bundle(data) else {
        return;
    };
    let again = json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": parsed.objects,
    });
    let bytes = serde_json::to_vec(&again).expect("serialize");
    let back = parse_bundle(&bytes)
        .unwrap_or_else(|e| panic!("an accepted bundle, re-serialized, is refused: {e}"));
    assert_eq!(back, parsed, "re-parsed bundle differs");
    let envelope = serde_json::to_vec(&json!({ "objects": parsed.objects })).expect("serialize");
    assert_eq!(
        parse_bundle(&envelope).as_ref(),
        Ok(&parsed),
        "envelope differs"
    );

    for (id, kind, value) in &parsed.indicators {
        assert!(id.starts_with("indicator--"), "{id}");
        let p = pattern(*kind, value);
        assert_eq!(
            parse_simple_pattern(&p),
            Some((*kind, value.clone())),
            "{p} does not read back"
        );
    }
    for r in &parsed.reports {
        assert!(r.id.starts_with("report--"), "{}", r.id);
        assert!(
            r.tlp <= parsed.strictest_tlp,
            "a report's TLP above the strictest"
        );
    }
}

fn patterns(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((kind, value)) = parse_simple_pattern(text) {
        let p = pattern(kind, &value);
        assert_eq!(
            parse_simple_pattern(&p),
            Some((kind, value)),
            "{text:?} -> {p}"
        );
    }
}

fn own_export(data: &[u8]) {
    let mut indicators: Vec<(Kind, String)> = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let Some((&k, rest)) = line.split_first() else {
            continue;
        };
        let kind = Kind::ALL[usize::from(k & 7)];
        if let Ok(obs) = canonicalize(kind, &String::from_utf8_lossy(rest)) {
            indicators.push((kind, obs.value));
        }
    }
    if indicators.is_empty() {
        return;
    }
    let tlp = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ][data.len() % 5];
    let author = identity_id("Fuzz Bank");
    let mut objects = vec![
        tlp_marking(tlp),
        identity("Fuzz Bank", "organization", 1_700_000_000_000, &["finance"]),
    ];
    objects.extend(report_objects(&ReportInput {
        // A UUIDv4, as a report's uid always is.
        uid: 0x5d0092c5_5f74_4287_9642_33f4c354e56d_u128.to_be_bytes(),
        title: "fuzzed report",
        description: "",
        incident_type: "phishing",
        tlp,
        created_ms: 1_700_000_000_000,
        modified_ms: 1_700_000_000_000,
        created_by: &author,
        indicators: &indicators,
        sector: Some("finance"),
    }));
    let exported = bundle(objects);
    let objects = exported["objects"].as_array().expect("objects").clone();
    let parsed = parse_objects(objects)
        .unwrap_or_else(|e| panic!("kyojo's own export is refused on import: {e}\n{exported}"));
    assert_eq!(parsed.strictest_tlp, Some(tlp));
    assert_eq!(parsed.reports.len(), 1);
    // Every observable comes back from its pattern, canonical, in order.
    let mut want = indicators.clone();
    want.dedup();
    let mut seen = std::collections::HashSet::new();
    want.retain(|x| seen.insert(x.clone()));
    let got: Vec<(Kind, String)> = parsed
        .indicators
        .iter()
        .map(|(_, kind, value)| {
            let obs = canonicalize(*kind, value)
                .unwrap_or_else(|e| panic!("{kind} {value:?} from a pattern is refused: {e}"));
            (*kind, obs.value)
        })
        .collect();
    assert_eq!(got, want, "indicators do not survive the export");
    for (kind, value) in &want {
        if sco_representable(*kind, value) {
            let obj: Value = sco(*kind, value);
            assert_eq!(obj["id"], sco_id(*kind, value).as_str());
            parse_objects(vec![obj.clone()])
                .unwrap_or_else(|e| panic!("SCO {obj} is refused: {e}"));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    reparse(data);
    patterns(data);
    own_export(data);
});
