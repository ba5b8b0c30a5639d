//! Behaviour every [`Store`] must show, written once and run by each
//! backend's tests through [`suite!`] (`sqlite.rs`, and `pg.rs` when a
//! PostgreSQL database is configured).

use kyojo_core::decide::Action;
use kyojo_core::policy::{OrgId, Owner};
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, Tlp};

use crate::shared::Backend;
use crate::*;

/// Declares one `#[test]` per check below, each on a fresh store from
/// `$open` (an `Option` of something that derefs to the store; `None`
/// skips the test, as when no PostgreSQL database is configured).
macro_rules! suite {
    ($open:expr) => {
        $crate::conformance::suite!(@each $open;
            report_round_trip_update_and_delete_with_orphans,
            sightings_aggregate_per_indicator_org_day,
            tokens_revoke,
            scans_paginate_and_filter,
            claims_ride_with_their_write,
            orgs_order_bytewise_and_by_id,
            anonymous_report_stores_no_org_in_clear,
            report_patch_keeps_unset_fields_and_shared_indicators,
            sighting_rows_and_summaries_are_ordered,
            tokens_revoke_by_label_and_list_in_order,
            scans_filter_by_time_sector_kind_and_text,
            report_links_and_access,
            stix_objects_page_and_follow_their_report,
            taxii_status_round_trip,
            allow_list_round_trip,
            decisions_keep_history,
            audit_log_newest_first,
            concurrent_writers_keep_stix_order_and_counts,
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                if let Some(store) = $open {
                    $crate::conformance::$check(&*store);
                }
            }
        )*
    };
}
pub(crate) use suite;

pub fn obs(kind: Kind, value: &str) -> Observable {
    Observable::from_store(kind, value.to_string())
}

pub fn new_report(uid: u8, owner: Owner, indicators: Vec<Observable>) -> NewReport {
    NewReport {
        uid: [uid; 16],
        title: "t".into(),
        description: "d".into(),
        incident_type: IncidentType::Phishing,
        sector: Some("finance".into()),
        tlp: Tlp::Amber,
        audience: Audience::Sectors(["finance".to_string()].into()),
        owner,
        created_at: 1000,
        indicators,
        source: ReportSource::Shared,
        stix: vec![],
    }
}

pub fn stix(id: &str, ty: &str, version: &str) -> NewStixObject {
    NewStixObject {
        stix_id: id.into(),
        stix_type: ty.into(),
        spec_version: "2.1".into(),
        version: version.into(),
        json: format!(r#"{{"id":"{id}","type":"{ty}","modified":"{version}"}}"#),
    }
}

pub fn sighting(o: &Observable, seen_at: Millis, count: u64) -> NewSighting {
    NewSighting {
        observable: o.clone(),
        seen_at,
        count,
    }
}

pub fn report_round_trip_update_and_delete_with_orphans(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let a = obs(Kind::Domain, "a.example");
    let b = obs(Kind::Ipv4, "192.0.2.1");
    let (rec, ch) = s
        .insert_report(&new_report(
            1,
            Owner::Org(org.id),
            vec![a.clone(), b.clone(), a.clone()],
        ))
        .unwrap();
    assert_eq!(rec.indicators, vec![a.clone(), b.clone()]);
    assert_eq!(ch.added.len(), 2);
    // A sighting keeps b alive after the report drops it.
    s.add_sightings(
        org.id,
        &[NewSighting {
            observable: b.clone(),
            seen_at: 5,
            count: 2,
        }],
    )
    .unwrap();
    let (rec, ch) = s
        .update_report(
            &[1; 16],
            &ReportPatch {
                title: Some("new".into()),
                indicators: Some(vec![obs(Kind::Md5, &"a".repeat(32))]),
                updated_at: 2000,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(rec.title, "new");
    assert_eq!(rec.updated_at, 2000);
    assert_eq!(
        ch.removed
            .iter()
            .map(|r| r.observable.clone())
            .collect::<Vec<_>>(),
        vec![a.clone()]
    );
    assert!(s.indicator(Kind::Ipv4, "192.0.2.1").unwrap().is_some());
    let ch = s.delete_report(&[1; 16]).unwrap();
    assert_eq!(ch.removed.len(), 1);
    assert!(s.report_by_uid(&[1; 16]).unwrap().is_none());
    assert!(matches!(
        s.delete_report(&[1; 16]),
        Err(StoreError::NotFound(_))
    ));
}

pub fn sightings_aggregate_per_indicator_org_day(s: &dyn Store) {
    let o1 = s.create_org("one", "finance", 1).unwrap();
    let o2 = s.create_org("two", "water", 1).unwrap();
    let x = obs(Kind::Domain, "x.example");
    let day = 86_400_000;
    let batch = |t: i64, n: u64| NewSighting {
        observable: x.clone(),
        seen_at: t,
        count: n,
    };
    let w = s
        .add_sightings(o1.id, &[batch(day + 10, 1), batch(day + 20, 4)])
        .unwrap();
    assert_eq!(w.accepted, 2);
    assert_eq!(w.new_indicators.len(), 1);
    s.add_sightings(o2.id, &[batch(2 * day + 1, 7)]).unwrap();
    let rows = s.sightings_of(w.new_indicators[0].id).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (
            rows[0].count,
            rows[0].first_seen,
            rows[0].last_seen,
            rows[0].day
        ),
        (5, day + 10, day + 20, 1)
    );
    assert_eq!(rows[1].org_sector, "water");
    let sums = s.sighting_summaries(&[w.new_indicators[0].id]).unwrap();
    assert_eq!(sums.len(), 2);
    assert_eq!(sums.iter().map(|s| s.count).sum::<u64>(), 12);
}

pub fn tokens_revoke(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let t = s
        .insert_token(&NewToken {
            public_id: "abc".into(),
            org: org.id,
            role: Role::Analyst,
            label: Some("demo".into()),
            secret_hash: [1; 32],
            created_at: 3,
        })
        .unwrap();
    assert_eq!(t.org.name, "acme");
    assert!(s.revoke_token("abc", 4).unwrap());
    assert!(!s.revoke_token("abc", 5).unwrap());
    assert_eq!(
        s.token_by_public_id("abc").unwrap().unwrap().revoked_at,
        Some(4)
    );
}

pub fn scans_paginate_and_filter(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    for i in 0..10u8 {
        let mut r = new_report(
            i,
            Owner::Org(org.id),
            vec![obs(Kind::Domain, &format!("d{i}.example"))],
        );
        r.created_at = 1000 + i as i64;
        if i % 2 == 0 {
            r.incident_type = IncidentType::Malware;
        }
        s.insert_report(&r).unwrap();
    }
    let page = s
        .scan_reports(&ReportScan {
            limit: 3,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        page.iter().map(|r| r.created_at).collect::<Vec<_>>(),
        vec![1009, 1008, 1007]
    );
    let next = s
        .scan_reports(&ReportScan {
            before: Some(page[2].rowid),
            limit: 100,
            incident_type: Some(IncidentType::Malware),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        next.iter().map(|r| r.created_at).collect::<Vec<_>>(),
        vec![1006, 1004, 1002, 1000]
    );
    let found = s
        .scan_indicators(&IndicatorScan {
            text: Some("d7".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].observable.value, "d7.example");
}

/// An idempotency claim is recorded in its write's transaction: a second
/// write under the same key writes nothing; an expired claim is taken over;
/// kept responses and facts round-trip; purging is bounded.
pub fn claims_ride_with_their_write(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let claim = |key: u8, at: Millis| Claim {
        key: [key; 32],
        request: [key ^ 0xff; 32],
        node: 7,
        at,
        expired_before: at - 1000,
    };
    let batch = [NewSighting {
        observable: obs(Kind::Domain, "once.example"),
        seen_at: 5_000,
        count: 2,
    }];
    let slot = ClaimSlot::new(claim(1, 10_000));
    with_claim(Some(slot.clone()), || s.add_sightings(org.id, &batch)).unwrap();
    assert!(slot.committed());
    let kept = s.claim(&[1; 32]).unwrap().unwrap();
    assert_eq!(
        (kept.request, kept.node, kept.at, kept.response),
        ([0xfe; 32], 7, 10_000, None)
    );
    // The same key again: refused, and nothing is written.
    let again = ClaimSlot::new(claim(1, 10_500));
    let err = with_claim(Some(again.clone()), || s.add_sightings(org.id, &batch));
    assert!(matches!(err, Err(StoreError::Conflict(_))));
    assert!(again.key_taken() && !again.committed());
    let id = s
        .indicator(Kind::Domain, "once.example")
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(s.sighting_summaries(&[id]).unwrap()[0].count, 2);
    // A write that fails writes no claim.
    let failing = ClaimSlot::new(claim(2, 10_000));
    assert!(with_claim(Some(failing.clone()), || s.create_org("acme", "finance", 2)).is_err());
    assert!(!failing.committed() && s.claim(&[2; 32]).unwrap().is_none());
    let response = KeptResponse {
        status: 201,
        content_type: Some("application/json".into()),
        location: Some("/x".into()),
        body: b"{}".to_vec(),
    };
    s.keep_response(&[1; 32], &response).unwrap();
    assert_eq!(s.claim(&[1; 32]).unwrap().unwrap().response, Some(response));
    // Expired: the key may be claimed again, its old response forgotten.
    let later = ClaimSlot::new(Claim {
        expired_before: 10_001,
        ..claim(1, 20_000)
    });
    with_claim(Some(later.clone()), || s.add_sightings(org.id, &batch)).unwrap();
    assert!(later.committed());
    let kept = s.claim(&[1; 32]).unwrap().unwrap();
    assert_eq!((kept.at, kept.response), (20_000, None));
    // Purging removes old claims, at most `limit` at a time.
    for k in 10..15u8 {
        let slot = ClaimSlot::new(claim(k, 100 + i64::from(k)));
        with_claim(Some(slot), || {
            s.allow_add(&obs(Kind::Domain, "fine.example"), "", 1)
        })
        .unwrap();
    }
    assert_eq!(s.purge_claims(1_000, 3).unwrap(), 3);
    assert_eq!(s.purge_claims(1_000, 3).unwrap(), 2);
    assert!(s.claim(&[1; 32]).unwrap().is_some());
    // Facts: the first value kept stays.
    assert_eq!(s.meta("fingerprint").unwrap(), None);
    assert_eq!(s.meta_or_insert("fingerprint", b"one").unwrap(), b"one");
    assert_eq!(s.meta_or_insert("fingerprint", b"two").unwrap(), b"one");
    assert_eq!(s.meta("fingerprint").unwrap(), Some(b"one".to_vec()));
}

pub fn orgs_order_bytewise_and_by_id(s: &dyn Store) {
    let b = s.create_org("Beta", "finance", 1).unwrap();
    let a = s.create_org("alpha", "water", 2).unwrap();
    let z = s.create_org("Zulu", "gas", 3).unwrap();
    assert!(matches!(
        s.create_org("Beta", "gas", 4),
        Err(StoreError::Conflict(_))
    ));
    // Byte order, as SQLite's BINARY collation: upper case first.
    let names: Vec<String> = s.list_orgs().unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, vec!["Beta", "Zulu", "alpha"]);
    let by_id = s.orgs_by_id(&[z.id, b.id, 999, a.id]).unwrap();
    assert_eq!(by_id, vec![b.clone(), a.clone(), z.clone()]);
    assert!(s.orgs_by_id(&[]).unwrap().is_empty());
    assert_eq!(s.org_by_name("alpha").unwrap(), Some(a));
    assert_eq!(s.org_by_name("ALPHA").unwrap(), None);
}

/// Generic: it looks at the stored row itself.
pub fn anonymous_report_stores_no_org_in_clear(s: &impl Backend) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let seal = [9u8; 32];
    s.insert_report(&new_report(
        1,
        Owner::Sealed(seal),
        vec![obs(Kind::Domain, "evil.example")],
    ))
    .unwrap();
    let owner_org = s
        .read(|c| {
            c.query_one("SELECT owner_org FROM reports", &[], |r| {
                r.opt_int("owner_org")
            })
        })
        .unwrap();
    assert_eq!(owner_org, None);
    let rec = s.report_by_uid(&[1; 16]).unwrap().unwrap();
    assert_eq!(rec.access.owner, Owner::Sealed(seal));
    assert_ne!(rec.access.owner, Owner::Org(org.id));
}

pub fn report_patch_keeps_unset_fields_and_shared_indicators(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let other = s.create_org("other", "water", 1).unwrap();
    let shared = obs(Kind::Domain, "shared.example");
    let only1 = obs(Kind::Domain, "only1.example");
    let decided = obs(Kind::Domain, "decided.example");
    let (r1, _) = s
        .insert_report(&new_report(
            1,
            Owner::Org(org.id),
            vec![only1.clone(), shared.clone(), decided.clone()],
        ))
        .unwrap();
    let (_, ch) = s
        .insert_report(&new_report(2, Owner::Org(org.id), vec![shared.clone()]))
        .unwrap();
    assert!(ch.added.is_empty());
    let dec = s
        .indicator(Kind::Domain, "decided.example")
        .unwrap()
        .unwrap();
    s.add_decision(dec.id, Action::Block, "bad", None, DecisionScope::Hub, 5)
        .unwrap();
    assert!(matches!(
        s.update_report(&[9; 16], &ReportPatch::default()),
        Err(StoreError::NotFound(m)) if m == "report"
    ));
    // A patch without indicators changes none.
    let (rec, ch) = s
        .update_report(
            &[1; 16],
            &ReportPatch {
                sector: Some(None),
                tlp: Some(Tlp::Red),
                audience: Some(Audience::Orgs([other.id].into())),
                updated_at: 3000,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ch, IndicatorChanges::default());
    assert_eq!(rec.indicators, r1.indicators);
    assert_eq!(rec.title, "t");
    assert_eq!(rec.sector, None);
    assert_eq!(rec.access.tlp, Tlp::Red);
    assert_eq!(rec.access.audience, Audience::Orgs([other.id].into()));
    assert_eq!(rec.access.owner, Owner::Org(org.id));
    assert_eq!(rec.created_at, 1000);
    // Dropping all: only the indicator nothing else refers to goes.
    let (rec, ch) = s
        .update_report(
            &[1; 16],
            &ReportPatch {
                indicators: Some(vec![]),
                updated_at: 4000,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(rec.indicators.is_empty());
    assert_eq!(
        ch.removed.iter().map(|r| &r.observable).collect::<Vec<_>>(),
        vec![&only1]
    );
    assert!(s
        .indicator(Kind::Domain, "shared.example")
        .unwrap()
        .is_some());
    assert!(s
        .indicator(Kind::Domain, "decided.example")
        .unwrap()
        .is_some());
    // Re-adding an indicator in a new order keeps positions.
    let (rec, ch) = s
        .update_report(
            &[2; 16],
            &ReportPatch {
                indicators: Some(vec![only1.clone(), shared.clone(), only1.clone()]),
                updated_at: 5000,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(rec.indicators, vec![only1.clone(), shared.clone()]);
    assert_eq!(ch.added.len(), 1);
    assert!(ch.added[0].id > dec.id, "ids are not reused");
    assert_eq!(s.count_reports().unwrap(), 2);
    let ch = s.delete_report(&[2; 16]).unwrap();
    assert_eq!(
        ch.removed.iter().map(|r| &r.observable).collect::<Vec<_>>(),
        vec![&shared, &only1]
    );
    assert_eq!(s.count_indicators().unwrap(), 1);
}

pub fn sighting_rows_and_summaries_are_ordered(s: &dyn Store) {
    let o1 = s.create_org("one", "finance", 1).unwrap();
    let o2 = s.create_org("two", "water", 1).unwrap();
    let x = obs(Kind::Domain, "x.example");
    let y = obs(Kind::Ipv4, "198.51.100.7");
    let day = 86_400_000;
    // Out of order on purpose, and an earlier time arriving later.
    s.add_sightings(
        o2.id,
        &[sighting(&y, 3 * day + 5, 1), sighting(&x, day + 9, 2)],
    )
    .unwrap();
    let w = s
        .add_sightings(
            o1.id,
            &[
                sighting(&x, day + 50, 3),
                sighting(&x, day + 1, 1),
                sighting(&y, 3 * day, 1),
                sighting(&x, 3 * day, 1),
            ],
        )
        .unwrap();
    assert_eq!(w.accepted, 4);
    assert!(w.new_indicators.is_empty());
    let xi = s.indicator(Kind::Domain, "x.example").unwrap().unwrap();
    let yi = s.indicator(Kind::Ipv4, "198.51.100.7").unwrap().unwrap();
    assert!(yi.id < xi.id);
    let rows = s.sightings_of(xi.id).unwrap();
    let keys: Vec<_> = rows.iter().map(|r| (r.day, r.org, r.count)).collect();
    assert_eq!(keys, vec![(1, o1.id, 4), (1, o2.id, 2), (3, o1.id, 1)]);
    assert_eq!((rows[0].first_seen, rows[0].last_seen), (day + 1, day + 50));
    let since: Vec<_> = s
        .sighting_rows_since(1)
        .unwrap()
        .iter()
        .map(|r| (r.indicator, r.day, r.org))
        .collect();
    assert_eq!(
        since,
        vec![
            (yi.id, 3, o1.id),
            (yi.id, 3, o2.id),
            (xi.id, 1, o1.id),
            (xi.id, 1, o2.id),
            (xi.id, 3, o1.id)
        ]
    );
    assert_eq!(s.sighting_rows_since(2).unwrap().len(), 3);
    let all = s.all_sighting_summaries().unwrap();
    assert_eq!(
        all,
        vec![
            SightingSummary {
                indicator: yi.id,
                org: o1.id,
                count: 1,
                first_seen: 3 * day,
                last_seen: 3 * day
            },
            SightingSummary {
                indicator: yi.id,
                org: o2.id,
                count: 1,
                first_seen: 3 * day + 5,
                last_seen: 3 * day + 5
            },
            SightingSummary {
                indicator: xi.id,
                org: o1.id,
                count: 5,
                first_seen: day + 1,
                last_seen: 3 * day
            },
            SightingSummary {
                indicator: xi.id,
                org: o2.id,
                count: 2,
                first_seen: day + 9,
                last_seen: day + 9
            },
        ]
    );
    assert_eq!(s.sighting_summaries(&[xi.id]).unwrap(), all[2..].to_vec());
    assert!(s.sighting_summaries(&[]).unwrap().is_empty());
    assert_eq!(s.count_sighting_rows().unwrap(), 5);
    assert!(matches!(
        s.add_sightings(o1.id, &[sighting(&x, 1, u64::MAX)]),
        Err(StoreError::Conflict(m)) if m == "sighting count too large"
    ));
    assert_eq!(s.count_sighting_rows().unwrap(), 5);
}

pub fn tokens_revoke_by_label_and_list_in_order(s: &dyn Store) {
    let b = s.create_org("bravo", "finance", 1).unwrap();
    let a = s.create_org("alpha", "water", 1).unwrap();
    let token = |id: &str, org: OrgId, label: Option<&str>| NewToken {
        public_id: id.into(),
        org,
        role: Role::Sensor,
        label: label.map(str::to_string),
        secret_hash: [7; 32],
        created_at: 10,
    };
    let t1 = s.insert_token(&token("t1", b.id, Some("demo"))).unwrap();
    s.insert_token(&token("t2", a.id, Some("demo"))).unwrap();
    s.insert_token(&token("t3", b.id, Some("demo"))).unwrap();
    s.insert_token(&token("t4", b.id, None)).unwrap();
    assert_eq!(t1.secret_hash, [7; 32]);
    assert_eq!(t1.role, Role::Sensor);
    assert_eq!(t1.org, b);
    assert!(s.insert_token(&token("t1", a.id, None)).is_err());
    assert!(s.revoke_token("t3", 11).unwrap());
    assert_eq!(s.revoke_tokens_labelled(b.id, "demo", 12).unwrap(), 1);
    assert_eq!(s.revoke_tokens_labelled(b.id, "demo", 13).unwrap(), 0);
    let listed: Vec<_> = s
        .list_tokens()
        .unwrap()
        .into_iter()
        .map(|t| (t.public_id, t.revoked_at))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("t2".to_string(), None),
            ("t1".to_string(), Some(12)),
            ("t3".to_string(), Some(11)),
            ("t4".to_string(), None),
        ]
    );
    assert!(s.token_by_public_id("nope").unwrap().is_none());
}

pub fn scans_filter_by_time_sector_kind_and_text(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    for i in 0..6u8 {
        let mut r = new_report(
            i,
            Owner::Org(org.id),
            vec![
                obs(Kind::Domain, &format!("d{i}%_.example")),
                obs(Kind::Ipv4, &format!("192.0.2.{i}")),
            ],
        );
        r.created_at = 1000 * (i as i64 + 1);
        if i >= 3 {
            r.sector = Some("water".into());
        }
        s.insert_report(&r).unwrap();
    }
    let created = |scan: ReportScan| -> Vec<Millis> {
        s.scan_reports(&scan)
            .unwrap()
            .iter()
            .map(|r| r.created_at)
            .collect()
    };
    assert_eq!(
        created(ReportScan {
            since: Some(2000),
            until: Some(5000),
            limit: 10,
            ..Default::default()
        }),
        vec![4000, 3000, 2000]
    );
    assert_eq!(
        created(ReportScan {
            sector: Some("water".into()),
            limit: 2,
            ..Default::default()
        }),
        vec![6000, 5000]
    );
    assert!(created(ReportScan::default()).is_empty());
    assert_eq!(
        created(ReportScan {
            limit: usize::MAX,
            ..Default::default()
        })
        .len(),
        6
    );
    let all = s
        .scan_reports(&ReportScan {
            limit: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        all[0].indicators,
        vec![
            obs(Kind::Domain, "d5%_.example"),
            obs(Kind::Ipv4, "192.0.2.5")
        ]
    );
    let values = |scan: IndicatorScan| -> Vec<String> {
        s.scan_indicators(&scan)
            .unwrap()
            .into_iter()
            .map(|r| r.observable.value)
            .collect()
    };
    // Wildcards are plain characters.
    assert_eq!(
        values(IndicatorScan {
            text: Some("%_".into()),
            limit: 2,
            ..Default::default()
        }),
        vec!["d0%_.example", "d1%_.example"]
    );
    assert!(values(IndicatorScan {
        text: Some("d_".into()),
        limit: 10,
        ..Default::default()
    })
    .is_empty());
    let ips = s
        .scan_indicators(&IndicatorScan {
            kind: Some(Kind::Ipv4),
            limit: 4,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(ips.len(), 4);
    let rest = values(IndicatorScan {
        kind: Some(Kind::Ipv4),
        after: Some(ips[3].id),
        limit: 10,
        ..Default::default()
    });
    assert_eq!(rest, vec!["192.0.2.4", "192.0.2.5"]);
    let mut seen = Vec::new();
    s.for_each_indicator(&mut |r| seen.push(r.id)).unwrap();
    assert_eq!(seen.len(), 12);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let by_id = s
        .indicators_by_id(&[seen[3], seen[0], 424242])
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect::<Vec<_>>();
    assert_eq!(by_id, vec![seen[0], seen[3]]);
    let recent = s.indicators_reported_since(5000).unwrap();
    assert_eq!(recent.len(), 4);
    assert!(recent.windows(2).all(|w| w[0] < w[1]));
}

pub fn report_links_and_access(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let x = obs(Kind::Domain, "x.example");
    let y = obs(Kind::Domain, "y.example");
    let (r1, _) = s
        .insert_report(&new_report(
            1,
            Owner::Org(org.id),
            vec![y.clone(), x.clone()],
        ))
        .unwrap();
    let mut second = new_report(2, Owner::Sealed([3; 32]), vec![x.clone()]);
    second.sector = None;
    second.audience = Audience::Community;
    let (r2, _) = s.insert_report(&second).unwrap();
    let xi = s.indicator(Kind::Domain, "x.example").unwrap().unwrap();
    let yi = s.indicator(Kind::Domain, "y.example").unwrap().unwrap();
    let links = s.report_links(&[xi.id, yi.id]).unwrap();
    let keys: Vec<_> = links.iter().map(|l| (l.indicator, l.report)).collect();
    assert_eq!(
        keys,
        vec![(yi.id, r1.rowid), (xi.id, r2.rowid), (xi.id, r1.rowid)]
    );
    assert_eq!(links[1].access, r2.access);
    assert_eq!(links[1].sector, None);
    assert_eq!(links[0].uid, [1; 16]);
    let all: Vec<_> = s
        .all_report_links()
        .unwrap()
        .iter()
        .map(|l| (l.indicator, l.report))
        .collect();
    assert_eq!(
        all,
        vec![(yi.id, r1.rowid), (xi.id, r1.rowid), (xi.id, r2.rowid)]
    );
    assert!(s.report_links(&[]).unwrap().is_empty());
    let access = s.report_access(&[r2.rowid, r1.rowid, 77]).unwrap();
    assert_eq!(
        access,
        vec![
            (r1.rowid, r1.access.clone(), Some("finance".to_string())),
            (r2.rowid, r2.access.clone(), None)
        ]
    );
}

pub fn stix_objects_page_and_follow_their_report(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let marking = stix("marking-definition--1", "marking-definition", "2020-01-01");
    s.put_shared_stix(&[marking.clone(), marking.clone()], 500)
        .unwrap();
    // Already kept: skipped, and date_added does not move.
    s.put_shared_stix(std::slice::from_ref(&marking), 600)
        .unwrap();
    assert_eq!(s.count_stix().unwrap(), 1);
    let mut r = new_report(1, Owner::Org(org.id), vec![]);
    r.source = ReportSource::Imported;
    r.stix = vec![
        stix("indicator--a", "indicator", "2024-01-01"),
        stix("report--r", "report", "2024-01-01"),
    ];
    r.created_at = 100; // earlier than the shared object's time
    let (rec, _) = s.insert_report(&r).unwrap();
    assert_eq!(rec.source, ReportSource::Imported);
    s.put_shared_stix(
        &[
            stix("identity--o", "identity", "2024-02-02"),
            stix("marking-definition--1", "marking-definition", "2021-01-01"),
        ],
        10_000,
    )
    .unwrap();
    let all = s
        .scan_stix(&StixScan {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(all.windows(2).all(|w| w[0].date_added <= w[1].date_added));
    assert_eq!(
        all.iter().map(|r| r.date_added).collect::<Vec<_>>(),
        vec![500, 501, 501, 10_000, 10_000]
    );
    assert_eq!(all[1].report, Some(rec.rowid));
    assert_eq!(all[0].report, None);
    assert_eq!(all[1].json, r.stix[0].json);
    let page = s
        .scan_stix(&StixScan {
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    let next = s
        .scan_stix(&StixScan {
            after_seq: Some(page[1].seq),
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(next, all[2..4].to_vec());
    let after = s
        .scan_stix(&StixScan {
            added_after: Some(501),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(after, all[3..].to_vec());
    let filtered = s
        .scan_stix(&StixScan {
            ids: vec!["marking-definition--1".into(), "indicator--a".into()],
            types: vec!["marking-definition".into()],
            spec_versions: vec!["2.1".into()],
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(filtered, vec![all[0].clone(), all[4].clone()]);
    assert_eq!(s.stix_of_report(rec.rowid).unwrap(), all[1..3].to_vec());
    // Replacing a report's objects gives them later sequence numbers.
    s.update_report(
        &[1; 16],
        &ReportPatch {
            stix: Some(vec![stix("indicator--a", "indicator", "2024-03-03")]),
            updated_at: 200,
            ..Default::default()
        },
    )
    .unwrap();
    let replaced = s.stix_of_report(rec.rowid).unwrap();
    assert_eq!(replaced.len(), 1);
    assert!(replaced[0].seq > all[4].seq);
    assert_eq!(replaced[0].date_added, 10_001);
    s.delete_report(&[1; 16]).unwrap();
    assert!(s.stix_of_report(rec.rowid).unwrap().is_empty());
    assert_eq!(s.count_stix().unwrap(), 3);
}

pub fn taxii_status_round_trip(s: &dyn Store) {
    assert_eq!(s.taxii_status("x").unwrap(), None);
    s.put_taxii_status("x", "{\"status\":\"pending\"}", 1)
        .unwrap();
    s.put_taxii_status("x", "{\"status\":\"complete\"}", 2)
        .unwrap();
    assert_eq!(
        s.taxii_status("x").unwrap().as_deref(),
        Some("{\"status\":\"complete\"}")
    );
}

pub fn allow_list_round_trip(s: &dyn Store) {
    let d = obs(Kind::Domain, "good.example");
    let ip = obs(Kind::Ipv4, "192.0.2.9");
    let d2 = obs(Kind::Domain, "Good.example");
    s.allow_add(&ip, "resolver", 1).unwrap();
    s.allow_add(&d, "ours", 2).unwrap();
    s.allow_add(&d2, "caps", 3).unwrap();
    let again = s.allow_add(&d, "still ours", 4).unwrap();
    assert_eq!(again.created_at, 4);
    assert_eq!(
        s.allow_entry(&d).unwrap(),
        Some(AllowEntry {
            observable: d.clone(),
            comment: "still ours".into(),
            created_at: 2
        })
    );
    let list: Vec<_> = s
        .allow_list()
        .unwrap()
        .into_iter()
        .map(|e| e.observable)
        .collect();
    let mut expected = vec![ip.clone(), d.clone(), d2.clone()];
    expected.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
    assert_eq!(list, expected);
    assert!(s.allow_remove(&d).unwrap());
    assert!(!s.allow_remove(&d).unwrap());
    assert_eq!(s.allow_entry(&d).unwrap(), None);
    assert_eq!(s.allow_list().unwrap().len(), 2);
}

pub fn decisions_keep_history(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let x = obs(Kind::Domain, "x.example");
    let y = obs(Kind::Domain, "y.example");
    let w = s
        .add_sightings(org.id, &[sighting(&x, 1, 1), sighting(&y, 1, 1)])
        .unwrap();
    let (xi, yi) = (w.new_indicators[0].id, w.new_indicators[1].id);
    let d1 = s
        .add_decision(xi, Action::Block, "first", Some(99), DecisionScope::Hub, 10)
        .unwrap();
    let d2 = s
        .add_decision(
            yi,
            Action::Block,
            "y",
            None,
            DecisionScope::Own([1; 32]),
            11,
        )
        .unwrap();
    let d3 = s
        .add_decision(xi, Action::Allow, "second", None, DecisionScope::Hub, 12)
        .unwrap();
    assert!(d1.id < d2.id && d2.id < d3.id);
    assert_eq!(s.decisions_of(xi).unwrap(), vec![d1.clone(), d3.clone()]);
    assert_eq!(s.latest_decisions().unwrap(), vec![d2.clone(), d3.clone()]);
    // The latest per scope: a member's own decision does not hide the
    // hub's, nor the hub's a member's.
    let d4 = s
        .add_decision(
            xi,
            Action::Block,
            "own",
            None,
            DecisionScope::Own([1; 32]),
            14,
        )
        .unwrap();
    assert_eq!(s.latest_decisions().unwrap(), vec![d2, d3, d4]);
    assert!(s.decisions_of(424242).unwrap().is_empty());
    assert!(s
        .add_decision(424242, Action::Block, "", None, DecisionScope::Hub, 13)
        .is_err());
}

pub fn audit_log_newest_first(s: &dyn Store) {
    for i in 0..5 {
        s.add_audit(i, "cli", "org.create", &format!("n{i}"))
            .unwrap();
    }
    let log = s.audit_log(3).unwrap();
    assert_eq!(
        log.iter().map(|e| e.detail.as_str()).collect::<Vec<_>>(),
        vec!["n4", "n3", "n2"]
    );
    assert_eq!(
        log[0],
        AuditEntry {
            at: 4,
            actor: "cli".into(),
            action: "org.create".into(),
            detail: "n4".into()
        }
    );
    assert_eq!(s.audit_log(usize::MAX).unwrap().len(), 5);
    assert!(s.audit_log(0).unwrap().is_empty());
}

pub fn concurrent_writers_keep_stix_order_and_counts(s: &dyn Store) {
    let org = s.create_org("acme", "finance", 1).unwrap();
    let x = obs(Kind::Domain, "x.example");
    std::thread::scope(|sc| {
        for t in 0..6u8 {
            let x = &x;
            sc.spawn(move || {
                for i in 0..5u8 {
                    s.add_sightings(org.id, &[sighting(x, 10, 1)]).unwrap();
                    let mut r = new_report(t * 10 + i, Owner::Org(org.id), vec![x.clone()]);
                    r.stix = vec![stix(&format!("indicator--{t}-{i}"), "indicator", "v")];
                    r.created_at = 0;
                    s.insert_report(&r).unwrap();
                }
            });
        }
    });
    let rows = s
        .sightings_of(s.indicator(Kind::Domain, "x.example").unwrap().unwrap().id)
        .unwrap();
    assert_eq!(rows[0].count, 30);
    assert_eq!(s.count_indicators().unwrap(), 1);
    let all = s
        .scan_stix(&StixScan {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 30);
    assert!(all.windows(2).all(|w| w[0].date_added < w[1].date_added));
}
