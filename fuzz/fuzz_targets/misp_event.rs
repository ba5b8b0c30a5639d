//! MISP event import: `kyojo_formats::misp::read_event` on arbitrary bytes.
//! No panic; an accepted event, written back as kyojo's MISP feed writes it
//! and read again, gives the same values, IDS flags and marking.
#![no_main]

use kyojo_core::Tlp;
use kyojo_formats::misp::{event_json, read_event, Attribute, Event, MispOrg};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for with_non_ids in [false, true] {
        let Ok(read) = read_event(&value, with_non_ids) else {
            continue;
        };
        let org = MispOrg {
            name: "fuzz".into(),
            uuid: uuid::Uuid::nil(),
        };
        let tlp = read.tlp.unwrap_or(Tlp::Amber);
        let written = event_json(&Event {
            uuid: read.uuid,
            info: read.info.clone(),
            description: read.description.clone(),
            incident_type: "other",
            tlp,
            created_at: 0,
            updated_at: 0,
            creator: org.clone(),
            owner: org,
            attributes: read
                .values
                .iter()
                .map(|(o, ids)| Attribute {
                    kind: o.kind,
                    value: o.value.clone(),
                    to_ids: *ids,
                })
                .collect(),
        });
        let back = read_event(&written, true)
            .unwrap_or_else(|e| panic!("an event kyojo wrote is refused: {e}"));
        assert_eq!(back.uuid, read.uuid);
        assert_eq!(back.info, read.info);
        assert_eq!(back.tlp, Some(tlp), "marking");
        assert_eq!(back.values, read.values, "values and IDS flags");
    }
});
