//! Behaviour every [`Store`] must show, written once and run by each
//! backend's tests (`sqlite.rs`, and `pg.rs` when a PostgreSQL database is
//! configured).

use kyojo_core::policy::Owner;
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, Tlp};

use crate::*;

pub fn obs(kind: Kind, value: &str) -> Observable {
    Observable {
        kind,
        value: value.to_string(),
    }
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
        source: "kyojo".into(),
        stix: vec![],
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
