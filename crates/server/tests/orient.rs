//! The dashboard's picture (`kyojo_hub::orient`) as a property: random
//! communities of reports and sightings, and every member's cut — sightings
//! per day and sector, the pooled small groups, new indicators per day, the
//! week's top indicators — must equal an independent model of the rules.
//! Then the slow path: a stale picture may be served after new sightings,
//! never after a report is narrowed or withdrawn.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::Lcg;
use kyojo_core::policy::Member;
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Count, Kind, Observable, Role, Tlp, Viewer};
use kyojo_hub::hub::{now_millis, RawDraft, ReportChange};
use kyojo_hub::Hub;
use kyojo_store::{day_of, Day, Millis, NewSighting, Org};

const DAY_MS: Millis = 86_400_000;

/// Enough organizations in one sector for its cells to pass the fewer-than-3 rule.
const ORGS: [(&str, &str); 8] = [
    ("Org A", "finance"),
    ("Org B", "finance"),
    ("Org C", "water"),
    ("Org D", "gas"),
    ("Org E", "finance"),
    ("Org F", "telecom"),
    ("Org G", "finance"),
    ("Org H", "water"),
];
const N: usize = ORGS.len();
const TLPS: [Tlp; 5] = [
    Tlp::Clear,
    Tlp::Green,
    Tlp::Amber,
    Tlp::AmberStrict,
    Tlp::Red,
];

fn member(org: &Org, role: Role) -> Viewer {
    Viewer::Member(Member {
        org: org.id,
        sector: org.sector.clone(),
        role,
    })
}

fn domain(i: u64) -> Observable {
    let made = if i.is_multiple_of(4) {
        Observable::new(Kind::Url, &format!("http://i{i}.orient.example/x"))
    } else {
        Observable::new(Kind::Domain, &format!("i{i}.orient.example"))
    };
    made.expect("a valid test value")
}

struct ModelReport {
    owner: usize,
    tlp: Tlp,
    audience: Audience,
    anonymous: bool,
    created_at: Millis,
    indicators: Vec<Observable>,
}

struct ModelSighting {
    org: usize,
    obs: Observable,
    seen_at: Millis,
    count: u64,
}

/// The rules, written independently of `kyojo_core::policy`.
fn may_read(orgs: &[Org], viewer: usize, r: &ModelReport) -> bool {
    if r.tlp == Tlp::Clear || viewer == r.owner {
        return true;
    }
    match &r.audience {
        Audience::Community => r.tlp != Tlp::Red,
        Audience::Sectors(s) => r.tlp != Tlp::Red && s.contains(&orgs[viewer].sector),
        Audience::Orgs(o) => o.contains(&orgs[viewer].id),
    }
}

#[derive(Debug, PartialEq)]
struct Expected {
    cells: BTreeMap<(Day, String), Count>,
    combined: BTreeMap<Day, Count>,
    new_by: BTreeMap<(Day, Kind), u64>,
    top: Vec<(String, Count, usize)>,
}

fn model(
    orgs: &[Org],
    reports: &[ModelReport],
    sightings: &[ModelSighting],
    viewer: usize,
    span: i64,
    now: Millis,
) -> Expected {
    let first_day = day_of(now) - (span - 1);
    let mut values: BTreeSet<&Observable> = reports.iter().flat_map(|r| &r.indicators).collect();
    values.extend(sightings.iter().map(|s| &s.obs));
    let mut cells: BTreeMap<(Day, String), (HashSet<usize>, u64)> = BTreeMap::new();
    let mut new_by = BTreeMap::new();
    let mut top = Vec::new();
    for obs in values {
        let readable: Vec<&ModelReport> = reports
            .iter()
            .filter(|r| r.indicators.contains(obs) && may_read(orgs, viewer, r))
            .collect();
        let seen: Vec<&ModelSighting> = sightings.iter().filter(|s| &s.obs == obs).collect();
        let sighting_orgs: HashSet<usize> = seen.iter().map(|s| s.org).collect();
        let visible =
            !readable.is_empty() || sighting_orgs.contains(&viewer) || sighting_orgs.len() >= 3;
        if !visible {
            continue;
        }
        let times = readable
            .iter()
            .map(|r| r.created_at)
            .chain(seen.iter().map(|s| s.seen_at));
        let first = times.clone().min().unwrap_or(Millis::MAX);
        let last = times.max().unwrap_or(Millis::MIN);
        if first >= first_day * DAY_MS {
            *new_by.entry((day_of(first), obs.kind)).or_insert(0) += 1;
        }
        if last >= now - 7 * DAY_MS {
            let mut by: HashSet<usize> = readable
                .iter()
                .filter(|r| !r.anonymous)
                .map(|r| r.owner)
                .collect();
            by.extend(&sighting_orgs);
            top.push((
                obs.value.clone(),
                Count::orgs(by.len() as u64),
                readable.len(),
                last,
            ));
        }
        for s in seen.iter().filter(|s| day_of(s.seen_at) >= first_day) {
            let c = cells
                .entry((day_of(s.seen_at), orgs[s.org].sector.clone()))
                .or_default();
            c.0.insert(s.org);
            c.1 += s.count;
        }
    }
    top.sort_by(|a, b| {
        (b.1.exact().unwrap_or(0), b.2, b.3)
            .cmp(&(a.1.exact().unwrap_or(0), a.2, a.3))
            .then(a.0.cmp(&b.0))
    });
    top.truncate(10);
    let mut gated = BTreeMap::new();
    let mut pooled: BTreeMap<Day, (HashSet<usize>, u64)> = BTreeMap::new();
    for (key, (who, n)) in cells {
        let c = if who.len() >= 3 {
            Count::Exact(n)
        } else {
            Count::FewerThan3
        };
        if c == Count::FewerThan3 {
            let p = pooled.entry(key.0).or_default();
            p.0.extend(who);
            p.1 += n;
        }
        gated.insert(key, c);
    }
    Expected {
        cells: gated,
        combined: pooled
            .into_iter()
            .map(|(d, (who, n))| {
                (
                    d,
                    if who.len() >= 3 {
                        Count::Exact(n)
                    } else {
                        Count::FewerThan3
                    },
                )
            })
            .collect(),
        new_by,
        top: top.into_iter().map(|(v, c, r, _)| (v, c, r)).collect(),
    }
}

fn actual(hub: &Hub, viewer: &Viewer, span: i64) -> Expected {
    let picture = hub.picture().expect("picture");
    let cut = hub.cut(&picture, viewer, span);
    Expected {
        cells: cut.cells,
        combined: cut.combined,
        new_by: cut.new_by,
        top: cut
            .top
            .into_iter()
            .map(|t| (t.observable.value, t.seen_by, t.reports))
            .collect(),
    }
}

fn community(
    seed: u64,
) -> (
    tempfile::TempDir,
    Hub,
    Vec<Org>,
    Vec<ModelReport>,
    Vec<ModelSighting>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::open(dir.path()).expect("hub");
    let orgs: Vec<Org> = ORGS
        .iter()
        .map(|(n, s)| hub.add_org(n, s).expect("org"))
        .collect();
    let mut rng = Lcg(seed);
    let now = now_millis();
    let mut reports = Vec::new();
    for i in 0..30 {
        let tlp = TLPS[rng.below(5)];
        let mut audience = match rng.below(3) {
            0 => Audience::Community,
            1 => Audience::Sectors([ORGS[rng.below(N)].1.to_string()].into()),
            _ => Audience::Orgs(
                (0..1 + rng.below(2))
                    .map(|_| orgs[rng.below(N)].id)
                    .collect(),
            ),
        };
        if tlp == Tlp::Red && !matches!(audience, Audience::Orgs(_)) {
            audience = Audience::Orgs([orgs[rng.below(N)].id].into());
        }
        let r = ModelReport {
            owner: rng.below(N),
            tlp,
            audience,
            anonymous: rng.below(3) == 0,
            // Some fall outside the 30-day span, a few outside the week.
            created_at: now - rng.below(45) as i64 * DAY_MS - rng.below(1000) as i64,
            indicators: (0..1 + rng.below(2))
                .map(|_| domain(rng.below(24) as u64))
                .collect(),
        };
        let draft = RawDraft {
            anonymous: r.anonymous,
            ..RawDraft::new(
                &format!("report {i}"),
                IncidentType::Malware,
                r.tlp,
                r.audience.clone(),
                r.indicators.clone(),
            )
        };
        hub.submit_report(&member(&orgs[r.owner], Role::Analyst), draft, r.created_at)
            .expect("report");
        reports.push(r);
    }
    let mut sightings = Vec::new();
    for _ in 0..300 {
        // Most in the last 10 days, so that cells fill up; the rest spread out.
        let days = if rng.below(5) == 0 { 40 } else { 10 };
        let s = ModelSighting {
            org: rng.below(N),
            // Indicators 16..28: some reported too, some only ever sighted;
            // and a long tail seen by one or two organizations.
            obs: domain(if rng.below(3) == 0 {
                40 + rng.below(60) as u64
            } else {
                16 + rng.below(12) as u64
            }),
            seen_at: now - rng.below(days) as i64 * DAY_MS - rng.below(1000) as i64,
            count: 1 + rng.below(5) as u64,
        };
        hub.add_sightings(
            &member(&orgs[s.org], Role::Sensor),
            &[NewSighting {
                observable: s.obs.clone(),
                seen_at: s.seen_at,
                count: s.count,
            }],
        )
        .expect("sighting");
        sightings.push(s);
    }
    (dir, hub, orgs, reports, sightings)
}

#[test]
fn every_members_dashboard_figures_follow_the_rules() {
    for seed in [1, 7, 42, 2026] {
        let (_dir, hub, orgs, reports, sightings) = community(seed);
        let now = now_millis();
        let mut shown_somewhere = 0;
        for (v, org) in orgs.iter().enumerate() {
            for span in [30, 90] {
                let want = model(&orgs, &reports, &sightings, v, span, now);
                let got = actual(&hub, &member(org, Role::Analyst), span);
                assert_eq!(got, want, "seed {seed}, viewer {}, span {span}", org.name);
                shown_somewhere += want.cells.values().filter(|c| c.exact().is_some()).count();
            }
        }
        // The property is not vacuous: some cells pass the fewer-than-3 rule.
        assert!(shown_somewhere > 0, "seed {seed}: no cell was ever shown");
    }
}

fn top_values(hub: &Hub, viewer: &Viewer) -> Vec<String> {
    actual(hub, viewer, 30)
        .top
        .into_iter()
        .map(|t| t.0)
        .collect()
}

#[test]
fn a_stale_picture_is_never_served_after_a_report_is_narrowed_or_withdrawn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::open(dir.path()).expect("hub");
    // Every picture counts as slow: the path a large, busy hub takes.
    hub.set_slow_threshold(Duration::ZERO);
    let a = hub.add_org("Org A", "finance").expect("org");
    let b = hub.add_org("Org B", "water").expect("org");
    let (va, vb) = (member(&a, Role::Analyst), member(&b, Role::Analyst));
    let now = now_millis();
    let shared =
        Observable::new(Kind::Domain, "withdrawn.orient.example").expect("a valid test value");
    let report = hub
        .submit_report(
            &va,
            RawDraft::new(
                "to be narrowed",
                IncidentType::Phishing,
                Tlp::Green,
                Audience::Community,
                vec![shared.clone()],
            ),
            now,
        )
        .expect("report");
    let first = hub.picture().expect("picture");
    assert!(top_values(&hub, &vb).contains(&shared.value));

    // New sightings only widen what anyone sees: the slow picture is served as it is.
    let sighted =
        Observable::new(Kind::Domain, "sighted.orient.example").expect("a valid test value");
    hub.add_sightings(
        &member(&b, Role::Sensor),
        &[NewSighting {
            observable: sighted.clone(),
            seen_at: now,
            count: 2,
        }],
    )
    .expect("sighting");
    assert!(Arc::ptr_eq(&first, &hub.picture().expect("picture")));
    assert!(!top_values(&hub, &vb).contains(&sighted.value));
    // The refresher's rebuild brings them in.
    hub.build_picture().expect("rebuild");
    assert!(top_values(&hub, &vb).contains(&sighted.value));

    // Narrowed to RED for Org A alone: gone from B's dashboard at once.
    hub.update_report(
        &va,
        &report.uid,
        ReportChange {
            title: None,
            description: None,
            incident_type: None,
            sector: None,
            tlp: Some(Tlp::Red),
            audience: Some(Audience::Orgs([a.id].into())),
            anonymous: None,
            indicators: None,
        },
        now + 1,
    )
    .expect("narrow");
    assert!(!top_values(&hub, &vb).contains(&shared.value));
    assert!(top_values(&hub, &va).contains(&shared.value));

    // Withdrawn: gone for its author too.
    hub.delete_report(&va, &report.uid).expect("delete");
    assert!(!top_values(&hub, &va).contains(&shared.value));
    assert!(top_values(&hub, &vb).contains(&sighted.value));
}
