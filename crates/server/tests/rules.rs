//! The sharing rules as a property over the HTTP API: random communities of
//! reports (random owner, TLP, audience, anonymity) are shared through the
//! real server, and every viewer's listings, report reads and lookups must
//! agree exactly with an independent model of the rules.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use kyojo_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ORGS: [(&str, &str); 6] = [
    ("Org A", "finance"),
    ("Org B", "finance"),
    ("Org C", "water"),
    ("Org D", "gas"),
    ("Org E", "medical"),
    ("Org F", "telecom"),
];
const TLPS: [&str; 5] = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];

#[derive(Debug, Clone)]
enum Aud {
    Community,
    Sectors(BTreeSet<&'static str>),
    Orgs(BTreeSet<usize>),
}

#[derive(Debug, Clone)]
struct Model {
    owner: usize,
    tlp: &'static str,
    audience: Aud,
    anonymous: bool,
    indicator: String,
}

/// The rules, written independently of `kyojo_core::policy`.
fn may_read(viewer: Option<usize>, r: &Model) -> bool {
    if r.tlp == "CLEAR" {
        return true;
    }
    let Some(v) = viewer else { return false };
    if v == r.owner {
        return true;
    }
    match &r.audience {
        Aud::Community => r.tlp != "RED",
        Aud::Sectors(s) => r.tlp != "RED" && s.contains(ORGS[v].1),
        Aud::Orgs(o) => o.contains(&v),
    }
}

fn random_model(rng: &mut Lcg, i: usize) -> Model {
    let tlp = TLPS[rng.below(TLPS.len())];
    let sectors = ["finance", "water", "gas", "medical", "telecom"];
    let mut audience = match rng.below(3) {
        0 => Aud::Community,
        1 => Aud::Sectors(
            (0..1 + rng.below(2))
                .map(|_| sectors[rng.below(sectors.len())])
                .collect(),
        ),
        _ => Aud::Orgs(
            (0..1 + rng.below(3))
                .map(|_| rng.below(ORGS.len()))
                .collect(),
        ),
    };
    if tlp == "RED" && !matches!(audience, Aud::Orgs(_)) {
        audience = Aud::Orgs([rng.below(ORGS.len())].into());
    }
    Model {
        owner: rng.below(ORGS.len()),
        tlp,
        audience,
        anonymous: rng.chance(30),
        indicator: format!("r{i}-rules.example"),
    }
}

fn audience_json(a: &Aud) -> Value {
    match a {
        Aud::Community => json!("community"),
        Aud::Sectors(s) => json!({ "sectors": s }),
        Aud::Orgs(o) => json!({ "orgs": o.iter().map(|i| ORGS[*i].0).collect::<Vec<_>>() }),
    }
}

/// The report ids in a `{"reports": [...]}` body.
fn report_ids(body: &Value, key: &str) -> BTreeSet<String> {
    body[key].as_array().map_or_else(BTreeSet::new, |items| {
        items
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect()
    })
}

async fn check_seed(seed: u64) {
    let t = start().await;
    let tokens: Vec<String> = ORGS
        .iter()
        .map(|(n, s)| t.member(n, s, Role::Analyst))
        .collect();
    let mut rng = Lcg(seed);
    let mut reports: BTreeMap<String, Model> = BTreeMap::new();
    for i in 0..40 {
        let m = random_model(&mut rng, i);
        let body = json!({
            "title": format!("report {i}"), "incident_type": "malware", "tlp": m.tlp,
            "audience": audience_json(&m.audience), "anonymous": m.anonymous,
            "indicators": [m.indicator, "shared-rules.example"],
        });
        let id = t.share(&tokens[m.owner], body).await;
        reports.insert(id, m);
    }

    let viewers: Vec<Option<usize>> = std::iter::once(None)
        .chain((0..ORGS.len()).map(Some))
        .collect();
    for viewer in viewers {
        let token = viewer.map(|v| tokens[v].as_str());
        let who = viewer.map_or("public", |v| ORGS[v].0);
        let expected: BTreeSet<&String> = reports
            .iter()
            .filter(|(_, m)| may_read(viewer, m))
            .map(|(id, _)| id)
            .collect();

        // Listing.
        let list = t.get("/api/v1/reports?limit=1000", token).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        let listed = report_ids(&list.body, "reports");
        assert_eq!(
            listed.iter().collect::<BTreeSet<_>>(),
            expected,
            "seed {seed}: {who} lists the wrong reports"
        );

        // Every report read directly, and what it shows about its author.
        for (id, m) in &reports {
            let r = t.get(&format!("/api/v1/reports/{id}"), token).await;
            if !may_read(viewer, m) {
                assert_eq!(
                    r.status,
                    StatusCode::NOT_FOUND,
                    "seed {seed}: {who} read {m:?}"
                );
                continue;
            }
            assert_eq!(
                r.status,
                StatusCode::OK,
                "seed {seed}: {who} could not read {m:?}"
            );
            let owner_name = ORGS[m.owner].0;
            if m.anonymous {
                assert_eq!(r.body["organization"], Value::Null);
                assert!(
                    !r.text.contains(&format!("\"name\":\"{owner_name}\"")),
                    "seed {seed}: anonymous author shown"
                );
            } else {
                assert_eq!(r.body["organization"]["name"], owner_name);
            }
            assert_eq!(
                r.body["mine"],
                viewer == Some(m.owner),
                "seed {seed}: mine flag for {who}"
            );
        }

        // Lookups see exactly the indicators of readable reports.
        let values: Vec<&str> = reports.values().map(|m| m.indicator.as_str()).collect();
        let found: BTreeSet<String> = t
            .lookup(token, &values)
            .await
            .into_iter()
            .map(|(_, v, _)| v)
            .collect();
        let want: BTreeSet<String> = reports
            .values()
            .filter(|m| may_read(viewer, m))
            .map(|m| m.indicator.clone())
            .collect();
        assert_eq!(
            found, want,
            "seed {seed}: {who} looks up the wrong indicators"
        );

        // The shared indicator lists only readable reports.
        let d = t
            .get("/api/v1/indicators/domain/shared-rules.example", token)
            .await;
        if expected.is_empty() {
            assert_eq!(d.status, StatusCode::NOT_FOUND);
        } else {
            let ids = report_ids(&d.body, "reports");
            assert_eq!(
                ids.iter().collect::<BTreeSet<_>>(),
                expected,
                "seed {seed}: {who} sees the wrong reports through an indicator"
            );
        }

        // Its own organization finds each of its reports, anonymous or not.
        if let Some(v) = viewer {
            let mine = t.get("/api/v1/reports?mine=true&limit=1000", token).await;
            let got = report_ids(&mine.body, "reports");
            let want: BTreeSet<String> = reports
                .iter()
                .filter(|(_, m)| m.owner == v)
                .map(|(id, _)| id.clone())
                .collect();
            assert_eq!(got, want, "seed {seed}: {who}'s own reports");
        }
    }
}

#[tokio::test]
async fn every_viewer_sees_exactly_what_the_rules_allow() {
    for seed in [1, 7, 42, 2026] {
        check_seed(seed).await;
    }
}
