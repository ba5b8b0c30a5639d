//! The REST API over real HTTP against a real SQLite file.

mod common;

use common::*;
use kyojo_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn share_returns_canonical_indicators_from_fields_and_pasted_text() {
    let t = start().await;
    let analyst = t.member("Sakura Bank", "finance", Role::Analyst);
    let r = t
        .post(
            "/api/v1/reports",
            Some(&analyst),
            json!({
                "title": "Phishing wave against bank customers",
                "description": "SMS lures",
                "incident_type": "phishing",
                "sector": "finance",
                "tlp": "AMBER",
                "audience": {"sectors": ["finance"]},
                "anonymous": false,
                "indicators": [
                    {"type": "domain", "value": "Evil[.]Example."},
                    {"type": "ipv4", "value": "0xC0.0x00.0x02.0x01"},
                    "hxxps://login.evil[.]example/verify.php"
                ],
                "text": "Seen from 198.51.100[.]7, sender alerts[@]bank-notice[.]test, hash d41d8cd98f00b204e9800998ecf8427e. Update to version 1.2.3."
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.headers["location"], format!("/api/v1/reports/{id}"));
    let got: Vec<(String, String)> = r.body["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["type"].as_str().unwrap().to_string(),
                i["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("domain", "evil.example"),
        ("ipv4", "192.0.2.1"),
        ("url", "https://login.evil.example/verify.php"),
        ("ipv4", "198.51.100.7"),
        ("email", "alerts@bank-notice.test"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(r.body["indicators"][0]["input"], "Evil[.]Example.");
    assert_eq!(r.body["organization"]["name"], "Sakura Bank");
    assert_eq!(r.body["mine"], true);
    assert_eq!(r.body["tlp"], "AMBER");
    assert_eq!(r.body["audience"], json!({"sectors": ["finance"]}));

    let again = t
        .get(&format!("/api/v1/reports/{id}"), Some(&analyst))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["indicators"].as_array().unwrap().len(), 6);
    assert_eq!(again.body["title"], "Phishing wave against bank customers");
}

#[tokio::test]
async fn tlp_and_audience_rules_hold_for_reports() {
    let t = start().await;
    let owner = t.member("Owner", "finance", Role::Analyst);
    let finance = t.member("Peer Bank", "finance", Role::Analyst);
    let water = t.member("Water Works", "water", Role::Analyst);
    let named = t.member("Named Org", "gas", Role::Analyst);
    let consumer = t.member("ISP", "telecom", Role::Consumer);
    let sensor = t.member("Sensor", "general", Role::Sensor);

    let clear = t
        .share(
            &owner,
            report("clear", "CLEAR", json!({"sectors": ["finance"]}), json!([])),
        )
        .await;
    let green = t
        .share(
            &owner,
            report("green", "GREEN", json!("community"), json!([])),
        )
        .await;
    let amber = t
        .share(
            &owner,
            report("amber", "AMBER", json!({"sectors": ["finance"]}), json!([])),
        )
        .await;
    let strict = t
        .share(
            &owner,
            report(
                "strict",
                "AMBER+STRICT",
                json!({"orgs": ["Named Org"]}),
                json!([]),
            ),
        )
        .await;
    let red = t
        .share(
            &owner,
            report("red", "RED", json!({"orgs": ["Named Org"]}), json!([])),
        )
        .await;

    let can = |id: &str, tok: Option<&str>| {
        let path = format!("/api/v1/reports/{id}");
        let tok = tok.map(str::to_string);
        let t = &t;
        async move { t.get(&path, tok.as_deref()).await.status }
    };
    // Public: CLEAR only, whatever its audience.
    assert_eq!(can(&clear, None).await, StatusCode::OK);
    for id in [&green, &amber, &strict, &red] {
        assert_eq!(can(id, None).await, StatusCode::NOT_FOUND);
    }
    // Community GREEN: every member analyst.
    for tok in [&finance, &water, &named] {
        assert_eq!(can(&green, Some(tok)).await, StatusCode::OK);
    }
    // Sector AMBER: finance only.
    assert_eq!(can(&amber, Some(&finance)).await, StatusCode::OK);
    assert_eq!(can(&amber, Some(&water)).await, StatusCode::NOT_FOUND);
    // Named orgs: only them and the owner.
    for id in [&strict, &red] {
        assert_eq!(can(id, Some(&named)).await, StatusCode::OK);
        assert_eq!(can(id, Some(&owner)).await, StatusCode::OK);
        assert_eq!(can(id, Some(&finance)).await, StatusCode::NOT_FOUND);
    }
    // Roles: consumers and sensors do not read reports.
    assert_error(
        &t.get(&format!("/api/v1/reports/{green}"), Some(&consumer))
            .await,
        403,
        "forbidden",
        None,
    );
    assert_error(
        &t.get(&format!("/api/v1/reports/{green}"), Some(&sensor))
            .await,
        403,
        "forbidden",
        None,
    );

    // Listings apply the same rules.
    let titles = |r: Resp| -> Vec<String> {
        r.body["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles(t.get("/api/v1/reports", None).await), vec!["clear"]);
    assert_eq!(
        titles(t.get("/api/v1/reports", Some(&water)).await),
        vec!["green", "clear"]
    );
    assert_eq!(
        titles(t.get("/api/v1/reports", Some(&named)).await),
        vec!["red", "strict", "green", "clear"]
    );
    assert_eq!(
        titles(t.get("/api/v1/reports", Some(&finance)).await),
        vec!["amber", "green", "clear"]
    );

    // RED needs named organizations.
    let r = t
        .post(
            "/api/v1/reports",
            Some(&owner),
            report("bad red", "RED", json!("community"), json!([])),
        )
        .await;
    assert_error(&r, 400, "invalid_input", Some("audience"));
    let r = t
        .post(
            "/api/v1/reports",
            Some(&owner),
            report("bad red", "RED", json!({"sectors": ["finance"]}), json!([])),
        )
        .await;
    assert_error(&r, 400, "invalid_input", Some("audience"));
}

#[tokio::test]
async fn an_indicator_never_reveals_a_report_the_caller_cannot_see() {
    let t = start().await;
    let owner = t.member("Owner", "finance", Role::Analyst);
    let water = t.member("Water Works", "water", Role::Analyst);
    let shared = json!([{"type": "domain", "value": "both.example"}]);
    let secret = t
        .share(&owner, report("secret finance report", "AMBER", json!({"sectors": ["finance"]}), json!([{"type": "domain", "value": "only-amber.example"}, {"type": "domain", "value": "both.example"}])))
        .await;
    let open = t
        .share(
            &owner,
            report("open report", "GREEN", json!("community"), shared),
        )
        .await;

    let d = t
        .get("/api/v1/indicators/domain/both.example", Some(&water))
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let ids: Vec<&str> = d.body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![open.as_str()]);
    assert!(!d.text.contains(&secret) && !d.text.contains("secret finance report"));
    assert_eq!(d.body["reports"].as_array().unwrap().len(), 1);

    let hidden = t
        .get("/api/v1/indicators/domain/only-amber.example", Some(&water))
        .await;
    assert_error(&hidden, 404, "not_found", None);
    let seen = t
        .get("/api/v1/indicators/domain/only-amber.example", Some(&owner))
        .await;
    assert_eq!(seen.status, StatusCode::OK);

    // Listing: the AMBER-only indicator is absent for water, present for finance.
    let values = |r: Resp| -> Vec<String> {
        r.body["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["value"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        values(t.get("/api/v1/indicators", Some(&water)).await),
        vec!["both.example"]
    );
    assert_eq!(
        values(t.get("/api/v1/indicators", Some(&owner)).await),
        vec!["only-amber.example", "both.example"]
    );
    // Lookup: same.
    assert_eq!(
        t.lookup(Some(&water), &["x.only-amber.example"]).await,
        vec![]
    );
    assert_eq!(
        t.lookup(Some(&owner), &["x.only-amber.example"]).await,
        vec![(
            "x.only-amber.example".into(),
            "only-amber.example".into(),
            "parent_domain".into()
        )]
    );
    // Public sees neither (GREEN is not public).
    assert_eq!(t.lookup(None, &["both.example"]).await, vec![]);
}

#[tokio::test]
async fn anonymous_reports_hide_their_organization_but_not_from_it() {
    let t = start().await;
    let owner = t.member("Shy Hospital", "medical", Role::Analyst);
    let colleague = t.member("Shy Hospital", "medical", Role::Analyst);
    let peer = t.member("Peer Clinic", "medical", Role::Analyst);
    let body = |title: &str| {
        let mut b = report(
            title,
            "GREEN",
            json!("community"),
            json!(["anon-one.example"]),
        );
        b["anonymous"] = json!(true);
        b
    };
    let first = t.share(&owner, body("ransomware hit us")).await;
    let second = t.share(&colleague, body("and again")).await;

    for id in [&first, &second] {
        let r = t.get(&format!("/api/v1/reports/{id}"), Some(&peer)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["organization"], Value::Null);
        assert_eq!(r.body["anonymous"], true);
        assert_eq!(r.body["mine"], false);
        assert!(!r.text.contains("Shy Hospital"), "{}", r.text);
    }
    let list = t.get("/api/v1/reports", Some(&peer)).await;
    assert!(!list.text.contains("Shy Hospital"));
    let ind = t
        .get("/api/v1/indicators/domain/anon-one.example", Some(&peer))
        .await;
    assert!(!ind.text.contains("Shy Hospital"), "{}", ind.text);
    assert_eq!(ind.body["seen_by_orgs"], "fewer than 3");

    // Its own organization (any of its tokens) sees it as its own and may edit and delete it.
    let mine = t.get("/api/v1/reports?mine=true", Some(&colleague)).await;
    let ids: Vec<&str> = mine.body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![second.as_str(), first.as_str()]);
    let peer_mine = t.get("/api/v1/reports?mine=true", Some(&peer)).await;
    assert_eq!(peer_mine.body["reports"], json!([]));
    let p = t
        .call(
            Method::PATCH,
            &format!("/api/v1/reports/{first}"),
            Some(&colleague),
            Some(json!({"title": "edited"})),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["title"], "edited");
    assert_eq!(p.body["organization"], Value::Null);
    let p = t
        .call(
            Method::PATCH,
            &format!("/api/v1/reports/{first}"),
            Some(&peer),
            Some(json!({"title": "hijack"})),
        )
        .await;
    assert_error(&p, 403, "forbidden", None);

    // In the database: no organization column in clear, and the two seals differ.
    let conn = owner_columns(&t);
    assert!(conn
        .iter()
        .all(|(org, seal)| org.is_none() && seal.as_ref().is_some_and(|s| s.len() == 32)));
    assert_ne!(
        conn[0].1, conn[1].1,
        "seals must not link reports of one organization"
    );

    let d = t
        .call(
            Method::DELETE,
            &format!("/api/v1/reports/{first}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.get(&format!("/api/v1/reports/{first}"), Some(&owner))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// (owner_org, owner_seal) of every report, read straight from the database
/// through a fresh connection independent of the hub's own.
fn owner_columns(t: &TestHub) -> Vec<(Option<i64>, Option<Vec<u8>>)> {
    if t.on_postgres() {
        return t
            .pg_query("SELECT owner_org, owner_seal FROM reports ORDER BY id")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    }
    let path = t.dir.path().join("kyojo.sqlite");
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare("SELECT owner_org, owner_seal FROM reports ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn owners_edit_and_delete_others_cannot() {
    let t = start().await;
    let owner = t.member("Owner", "finance", Role::Analyst);
    let peer = t.member("Peer", "finance", Role::Analyst);
    let id = t
        .share(
            &owner,
            report(
                "to edit",
                "GREEN",
                json!("community"),
                json!(["edit-me.example"]),
            ),
        )
        .await;
    let path = format!("/api/v1/reports/{id}");

    let r = t
        .call(Method::PATCH, &path, Some(&owner), Some(json!({"tlp": "AMBER", "audience": {"sectors": ["gas"]}, "indicators": ["new-one.example"], "sector": null})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["tlp"], "AMBER");
    assert_eq!(
        r.body["indicators"],
        json!([{"type": "domain", "value": "new-one.example", "input": "new-one.example"}])
    );
    // The peer (finance) is no longer in the audience (gas).
    assert_eq!(
        t.get(&path, Some(&peer)).await.status,
        StatusCode::NOT_FOUND
    );
    // The dropped indicator left the index; the new one is in it.
    assert_eq!(t.lookup(Some(&owner), &["edit-me.example"]).await, vec![]);
    assert_eq!(t.lookup(Some(&owner), &["new-one.example"]).await.len(), 1);

    let r = t
        .call(
            Method::PATCH,
            &path,
            Some(&owner),
            Some(json!({"tlp": "PURPLE"})),
        )
        .await;
    assert_error(&r, 400, "invalid_input", Some("tlp"));
    let r = t
        .call(
            Method::PATCH,
            &path,
            Some(&owner),
            Some(json!({"colour": "red"})),
        )
        .await;
    assert_error(&r, 400, "invalid_input", None);

    let r = t.call(Method::DELETE, &path, Some(&peer), None).await;
    assert_error(&r, 404, "not_found", None);
    assert_eq!(
        t.call(Method::DELETE, &path, Some(&owner), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.call(Method::DELETE, &path, Some(&owner), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.lookup(Some(&owner), &["new-one.example"]).await, vec![]);
}

#[tokio::test]
async fn reports_paginate_with_cursors_and_filter() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    for i in 0..25 {
        let mut b = report(&format!("r{i:02}"), "GREEN", json!("community"), json!([]));
        if i % 5 == 0 {
            b["incident_type"] = json!("malware");
            b["sector"] = json!("water");
        }
        t.share(&a, b).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/reports?limit=10&cursor={c}"),
            None => "/api/v1/reports?limit=10".to_string(),
        };
        let r = t.get(&path, Some(&a)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        pages += 1;
        for rep in r.body["reports"].as_array().unwrap() {
            seen.push(rep["title"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..25).rev().map(|i| format!("r{i:02}")).collect();
    assert_eq!(seen, want);

    let r = t
        .get(
            "/api/v1/reports?incident_type=malware&sector=water",
            Some(&a),
        )
        .await;
    assert_eq!(r.body["reports"].as_array().unwrap().len(), 5);
    let r = t.get("/api/v1/reports?since=2999-01-01", Some(&a)).await;
    assert_eq!(r.body["reports"], json!([]));
    let r = t
        .get(
            "/api/v1/reports?until=2999-01-01T00:00:00Z&limit=1000",
            Some(&a),
        )
        .await;
    assert_eq!(r.body["reports"].as_array().unwrap().len(), 25);

    assert_error(
        &t.get("/api/v1/reports?cursor=garbage", Some(&a)).await,
        400,
        "invalid_input",
        Some("cursor"),
    );
    assert_error(
        &t.get("/api/v1/reports?limit=0", Some(&a)).await,
        400,
        "invalid_input",
        Some("limit"),
    );
    assert_error(
        &t.get("/api/v1/reports?since=yesterday", Some(&a)).await,
        400,
        "invalid_input",
        Some("since"),
    );
    assert_error(
        &t.get("/api/v1/reports?sector=mars", Some(&a)).await,
        400,
        "invalid_input",
        Some("sector"),
    );
    assert_error(
        &t.get("/api/v1/reports?incident_type=x", Some(&a)).await,
        400,
        "invalid_input",
        Some("incident_type"),
    );
}

#[tokio::test]
async fn sightings_aggregate_and_small_groups_stay_hidden() {
    let t = start().await;
    let viewer = t.member("Viewer", "finance", Role::Analyst);
    let sensors: Vec<String> = ["S1", "S2", "S3"]
        .iter()
        .zip(["finance", "finance", "water"])
        .map(|(n, s)| t.member(n, s, Role::Sensor))
        .collect();
    let post = |tok: &str, body: Value| {
        let tok = tok.to_string();
        let t = &t;
        async move { t.post("/api/v1/sightings", Some(&tok), body).await }
    };
    let item = |day: &str, count: u64| json!({"type": "ipv4", "value": "203.0.113.9", "seen_at": format!("{day}T10:00:00Z"), "count": count});

    // Two organizations: the indicator is not yet visible to a third.
    let r = post(
        &sensors[0],
        json!({"sightings": [item("2026-11-01", 5), item("2026-11-01", 7), item("2026-11-02", 1)]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["accepted"], 3);
    post(&sensors[1], json!([item("2026-11-01", 10)])).await;
    assert_error(
        &t.get("/api/v1/indicators/ipv4/203.0.113.9", Some(&viewer))
            .await,
        404,
        "not_found",
        None,
    );
    // ...but the sighting organization sees its own exactly.
    let own = t
        .get(
            "/api/v1/indicators/ipv4/203.0.113.9",
            Some(&t.member("S1", "finance", Role::Analyst)),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert_eq!(own.body["sightings"]["mine"]["total"], 13);
    assert_eq!(own.body["sightings"]["total"], "fewer than 3");
    assert_eq!(own.body["seen_by_orgs"], "fewer than 3");

    // A third organization: counts appear where three organizations contributed.
    post(&sensors[2], json!([item("2026-11-01", 100)])).await;
    let d = t
        .get("/api/v1/indicators/ipv4/203.0.113.9", Some(&viewer))
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let s = &d.body["sightings"];
    assert_eq!(s["total"], 123);
    assert_eq!(s["orgs"], 3);
    assert_eq!(d.body["seen_by_orgs"], 3);
    assert_eq!(
        s["by_day"],
        json!([
            {"day": "2026-11-01", "sightings": 122, "orgs": 3},
            {"day": "2026-11-02", "sightings": "fewer than 3", "orgs": "fewer than 3"}
        ])
    );
    assert_eq!(
        s["by_sector"],
        // Finance (two organizations) and water (one) are each too small to
        // name: one pooled row, which is three organizations together.
        json!([{"sector": null, "sightings": 123, "orgs": 3}])
    );
    assert_eq!(s["mine"], Value::Null);
    assert_eq!(d.body["first_seen"], "2026-11-01T10:00:00.000Z");
    assert_eq!(d.body["last_seen"], "2026-11-02T10:00:00.000Z");
    // Public never sees sightings.
    assert_error(
        &t.get("/api/v1/indicators/ipv4/203.0.113.9", None).await,
        404,
        "not_found",
        None,
    );

    // A bad item refuses the whole batch and stores nothing.
    let before = t.hub.store().count_sighting_rows().unwrap();
    let r = post(
        &sensors[0],
        json!([item("2026-11-05", 1), {"type": "ipv4", "value": "300.1.1.1"}]),
    )
    .await;
    assert_error(&r, 400, "invalid_input", Some("sightings[1].value"));
    let r = post(
        &sensors[0],
        json!([{"type": "domain", "value": "ok.example", "count": 0}]),
    )
    .await;
    assert_error(&r, 400, "invalid_input", Some("sightings[0].count"));
    let r = post(
        &sensors[0],
        json!([{"type": "domain", "value": "ok.example", "seen_at": "2999-01-01"}]),
    )
    .await;
    assert_error(&r, 400, "invalid_input", Some("sightings[0].seen_at"));
    assert_eq!(t.hub.store().count_sighting_rows().unwrap(), before);
    assert!(t
        .hub
        .store()
        .indicator(kyojo_core::Kind::Domain, "ok.example")
        .unwrap()
        .is_none());

    // Sensors post sightings and nothing else; analysts may not post sightings? They may: but consumers may not.
    let consumer = t.member("ISP", "telecom", Role::Consumer);
    assert_error(
        &post(&consumer, json!([item("2026-11-01", 1)])).await,
        403,
        "forbidden",
        None,
    );
    assert_error(
        &t.get("/api/v1/reports", Some(&sensors[0])).await,
        403,
        "forbidden",
        None,
    );
    assert_error(
        &t.post(
            "/api/v1/lookup",
            Some(&sensors[0]),
            json!({"values": ["a.example"]}),
        )
        .await,
        403,
        "forbidden",
        None,
    );
}

#[tokio::test]
async fn lookups_say_how_each_value_matched() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    let consumer = t.member("ISP", "telecom", Role::Consumer);
    t.share(
        &a,
        report(
            "mixed",
            "GREEN",
            json!("community"),
            json!([
                {"type": "domain", "value": "evil.example"},
                {"type": "url", "value": "http://phish.example/login/"},
                {"type": "ipv4", "value": "198.51.100.0/24"},
                {"type": "ipv6", "value": "2001:db8:bad::/48"},
                {"type": "sha256", "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
            ]),
        ),
    )
    .await;
    let got = t
        .lookup(
            Some(&consumer),
            &[
                "evil.example",
                "a.b.evil.example",
                "http://phish.example/login/step2.php?x=1",
                "198.51.100.200",
                "2001:db8:bad:1::1",
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "clean.example",
            ],
        )
        .await;
    assert_eq!(
        got,
        vec![
            ("evil.example".into(), "evil.example".into(), "exact".into()),
            (
                "a.b.evil.example".into(),
                "evil.example".into(),
                "parent_domain".into()
            ),
            (
                "http://phish.example/login/step2.php?x=1".into(),
                "http://phish.example/login/".into(),
                "url_expression".into()
            ),
            (
                "198.51.100.200".into(),
                "198.51.100.0/24".into(),
                "cidr".into()
            ),
            (
                "2001:db8:bad:1::1".into(),
                "2001:db8:bad::/48".into(),
                "cidr".into()
            ),
            (
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
                "exact".into()
            ),
        ]
    );
    // Per-value errors do not fail the batch; typed values are honoured.
    let r = t
        .post(
            "/api/v1/lookup",
            Some(&consumer),
            json!({"values": ["not a thing!", {"type": "domain", "value": "evil[.]example"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["results"][0]["error"].as_str().is_some());
    assert_eq!(r.body["results"][1]["canonical"], "evil.example");
    assert_eq!(
        r.body["results"][1]["matches"][0]["incident_types"],
        json!(["phishing"])
    );
    // Limits.
    let many: Vec<String> = (0..10_001).map(|i| format!("h{i}.example")).collect();
    let r = t
        .post("/api/v1/lookup", Some(&consumer), json!({ "values": many }))
        .await;
    assert_error(&r, 400, "invalid_input", Some("values"));
    let max: Vec<String> = (0..10_000).map(|i| format!("h{i}.example")).collect();
    let r = t
        .post("/api/v1/lookup", Some(&consumer), json!({ "values": max }))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 10_000);
}

#[tokio::test]
async fn public_lookups_see_clear_only() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    t.share(
        &a,
        report(
            "public",
            "CLEAR",
            json!("community"),
            json!(["public-bad.example"]),
        ),
    )
    .await;
    t.share(
        &a,
        report(
            "members",
            "GREEN",
            json!("community"),
            json!(["members-bad.example"]),
        ),
    )
    .await;
    let got = t
        .lookup(None, &["public-bad.example", "members-bad.example"])
        .await;
    assert_eq!(
        got,
        vec![(
            "public-bad.example".into(),
            "public-bad.example".into(),
            "exact".into()
        )]
    );
}

#[tokio::test]
async fn indicators_list_filters_and_pages() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    let mut items: Vec<Value> = (0..30)
        .map(|i| json!(format!("list{i:02}.example")))
        .collect();
    items.push(json!({"type": "ipv4", "value": "192.0.2.55"}));
    t.share(
        &a,
        report("many", "GREEN", json!("community"), json!(items)),
    )
    .await;
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = t
            .get(
                &format!("/api/v1/indicators?kind=domain&limit=7{cursor}"),
                Some(&a),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        for i in r.body["indicators"].as_array().unwrap() {
            assert_eq!(i["type"], "domain");
            assert_eq!(i["reports"], 1);
            all.push(i["value"].as_str().unwrap().to_string());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(all.len(), 30);
    let r = t.get("/api/v1/indicators?q=list2", Some(&a)).await;
    assert_eq!(r.body["indicators"].as_array().unwrap().len(), 10);
    let r = t.get("/api/v1/indicators?type=ipv4", Some(&a)).await;
    assert_eq!(r.body["indicators"][0]["value"], "192.0.2.55");
    let r = t
        .get("/api/v1/indicators?first_seen_after=2999-01-01", Some(&a))
        .await;
    assert_eq!(r.body["indicators"], json!([]));
    let r = t
        .get(
            "/api/v1/indicators?last_seen_before=2999-01-01&limit=1000",
            Some(&a),
        )
        .await;
    assert_eq!(r.body["indicators"].as_array().unwrap().len(), 31);
    assert_error(
        &t.get("/api/v1/indicators?kind=bogus", Some(&a)).await,
        400,
        "invalid_input",
        Some("kind"),
    );
    assert_error(
        &t.get("/api/v1/indicators/bogus/x", Some(&a)).await,
        400,
        "invalid_input",
        Some("type"),
    );
    assert_error(
        &t.get("/api/v1/indicators/ipv4/999.1.1.1", Some(&a)).await,
        400,
        "invalid_input",
        Some("value"),
    );
    // URL values travel in the path unencoded.
    t.share(
        &a,
        report(
            "url",
            "GREEN",
            json!("community"),
            json!(["http://path.example/a/b?c=d"]),
        ),
    )
    .await;
    let r = t
        .get(
            "/api/v1/indicators/url/http://path.example/a/b?c=d",
            Some(&a),
        )
        .await;
    // The query string is not part of the path: the indicator is found without it only if listed so.
    assert!(r.status == StatusCode::OK || r.status == StatusCode::NOT_FOUND);
    let r = t
        .get(
            "/api/v1/indicators/url/http%3A%2F%2Fpath.example%2Fa%2Fb%3Fc%3Dd",
            Some(&a),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["value"], "http://path.example/a/b?c=d");
}

#[tokio::test]
async fn errors_have_the_right_status_and_shape() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    let consumer = t.member("C", "telecom", Role::Consumer);
    let admin = t.member("Op", "general", Role::Admin);

    // 400: field named, for each kind of mistake.
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"title": "", "incident_type": "phishing", "tlp": "GREEN", "audience": "community"}),
            "title",
        ),
        (
            json!({"title": "x".repeat(201), "incident_type": "phishing", "tlp": "GREEN", "audience": "community"}),
            "title",
        ),
        (
            json!({"title": "t", "incident_type": "alien", "tlp": "GREEN", "audience": "community"}),
            "incident_type",
        ),
        (
            json!({"title": "t", "incident_type": "phishing", "tlp": "BLUE", "audience": "community"}),
            "tlp",
        ),
        (
            json!({"title": "t", "incident_type": "phishing", "tlp": "GREEN", "audience": "everyone"}),
            "audience",
        ),
        (
            json!({"title": "t", "incident_type": "phishing", "tlp": "GREEN", "audience": {"sectors": ["mars"]}}),
            "audience.sectors[0]",
        ),
        (
            json!({"title": "t", "incident_type": "phishing", "tlp": "GREEN", "audience": {"orgs": ["Nobody"]}}),
            "audience.orgs[0]",
        ),
        (
            json!({"title": "t", "incident_type": "phishing", "tlp": "GREEN", "audience": "community", "indicators": [{"type": "ipv4", "value": "1.2.3"}, {"type": "md5", "value": "abc"}]}),
            "indicators[1].value",
        ),
        (
            json!({"title": "t", "incident_type": "phishing", "tlp": "GREEN", "audience": "community", "indicators": [{"type": "colour", "value": "red"}]}),
            "indicators[0].type",
        ),
        (
            json!({"incident_type": "phishing", "tlp": "GREEN", "audience": "community"}),
            "title",
        ),
        (
            json!({"title": "t", "incident_type": "phishing", "tlp": "GREEN", "audience": "community", "anonymous": "yes"}),
            "anonymous",
        ),
        (
            json!({"title": "t", "incident_type": "phishing", "tlp": "GREEN", "audience": "community", "sector": "mars"}),
            "sector",
        ),
    ];
    for (body, field) in cases {
        let r = t.post("/api/v1/reports", Some(&a), body).await;
        assert_error(&r, 400, "invalid_input", Some(field));
    }
    assert_eq!(
        t.hub.store().count_reports().unwrap(),
        0,
        "nothing half-written"
    );
    // Malformed JSON.
    let r = t
        .client
        .post(format!("{}/api/v1/reports", t.base))
        .bearer_auth(&a)
        .header("content-type", "application/json")
        .body("{\"title\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "body");
    // 415.
    let r = t
        .client
        .post(format!("{}/api/v1/reports", t.base))
        .bearer_auth(&a)
        .body("title=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // 401: missing, malformed, unknown, revoked.
    assert_error(
        &t.post("/api/v1/reports", None, json!({})).await,
        401,
        "unauthorized",
        None,
    );
    let r = t
        .client
        .get(format!("{}/api/v1/me", t.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_error(&t.get("/api/v1/me", Some("kyj_0000000000000000_0000000000000000000000000000000000000000000000000000000000000000")).await, 401, "unauthorized", None);
    assert_error(
        &t.get("/api/v1/me", Some(&(a.clone() + "x"))).await,
        401,
        "unauthorized",
        None,
    );
    let me = t.get("/api/v1/me", Some(&a)).await;
    assert_eq!(
        me.body,
        json!({"organization": "A", "sector": "finance", "role": "analyst"})
    );
    assert!(t.hub.revoke_token(&a).unwrap());
    assert_error(
        &t.get("/api/v1/me", Some(&a)).await,
        401,
        "unauthorized",
        None,
    );
    // 403.
    assert_error(
        &t.post(
            "/api/v1/reports",
            Some(&consumer),
            report("t", "GREEN", json!("community"), json!([])),
        )
        .await,
        403,
        "forbidden",
        None,
    );
    assert_error(
        &t.post(
            "/api/v1/orgs",
            Some(&consumer),
            json!({"name": "X", "sector": "gas"}),
        )
        .await,
        403,
        "forbidden",
        None,
    );
    // 404: unknown report id, malformed id, unknown route.
    let b = t.member("B", "finance", Role::Analyst);
    assert_error(
        &t.get(
            "/api/v1/reports/00000000-0000-4000-8000-000000000000",
            Some(&b),
        )
        .await,
        404,
        "not_found",
        None,
    );
    assert_error(
        &t.get("/api/v1/reports/not-a-uuid", Some(&b)).await,
        404,
        "not_found",
        None,
    );
    assert_error(
        &t.get("/api/v1/nothing-here", Some(&b)).await,
        404,
        "not_found",
        None,
    );
    // 405.
    assert_error(
        &t.call(Method::PUT, "/api/v1/reports", Some(&b), None).await,
        405,
        "method_not_allowed",
        None,
    );
    // 409: duplicate organization through the admin API; 201 first.
    let r = t
        .post(
            "/api/v1/orgs",
            Some(&admin),
            json!({"name": "New Org", "sector": "gas"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_error(
        &t.post(
            "/api/v1/orgs",
            Some(&admin),
            json!({"name": "New Org", "sector": "gas"}),
        )
        .await,
        409,
        "conflict",
        None,
    );
    assert_error(
        &t.post(
            "/api/v1/orgs",
            Some(&admin),
            json!({"name": "Other", "sector": "mars"}),
        )
        .await,
        400,
        "invalid_input",
        Some("sector"),
    );
    // Admin mints and revokes tokens over the API.
    let r = t
        .post(
            "/api/v1/tokens",
            Some(&admin),
            json!({"org": "New Org", "role": "consumer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let tok = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(t.get("/api/v1/me", Some(&tok)).await.status, StatusCode::OK);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        t.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &t.get("/api/v1/me", Some(&tok)).await,
        401,
        "unauthorized",
        None,
    );
    assert_error(
        &t.post(
            "/api/v1/tokens",
            Some(&admin),
            json!({"org": "Nobody", "role": "consumer"}),
        )
        .await,
        400,
        "invalid_input",
        Some("org"),
    );
}

#[tokio::test]
async fn oversized_bodies_get_413_and_floods_get_429() {
    let t = start_with_config(
        "max_body_bytes = 4096\nrate_limit_per_second = 1.0\nrate_limit_burst = 5.0\n",
    )
    .await;
    let a = t.member("A", "finance", Role::Analyst);
    let big = report(&"x".repeat(10), "GREEN", json!("community"), json!([]));
    let mut big = big;
    big["description"] = json!("y".repeat(8000));
    assert_error(
        &t.post("/api/v1/reports", Some(&a), big).await,
        413,
        "too_large",
        None,
    );
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(t.get("/api/v1/me", Some(&a)).await);
    }
    let limited: Vec<&Resp> = statuses
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(
        limited.len() >= 4,
        "expected most of the burst-exceeding requests refused"
    );
    assert_error(limited[0], 429, "rate_limited", None);
    assert_eq!(limited[0].headers["retry-after"], "1");
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    let t = start().await;
    let tok = t.member("A", "finance", Role::Analyst);
    let secret = tok.rsplit('_').next().unwrap();
    drop(t.hub.store().list_tokens().unwrap());
    if t.on_postgres() {
        let rows = t.pg_query("SELECT row_to_json(t)::text FROM tokens t");
        assert!(!rows.is_empty());
        for r in rows {
            let row: String = r.get(0);
            assert!(!row.contains(secret), "secret found in {row}");
        }
        return;
    }
    for name in ["kyojo.sqlite", "kyojo.sqlite-wal"] {
        if let Ok(bytes) = std::fs::read(t.dir.path().join(name)) {
            let hay = String::from_utf8_lossy(&bytes);
            assert!(!hay.contains(secret), "secret found in {name}");
        }
    }
}

#[tokio::test]
async fn health_and_metrics() {
    let t = start().await;
    let a = t.member("Secret Org Name", "finance", Role::Analyst);
    let mut b = report("anon", "GREEN", json!("community"), json!(["m.example"]));
    b["anonymous"] = json!(true);
    t.share(&a, b).await;
    let h = t.get("/healthz", None).await;
    assert_eq!(h.body, json!({"status": "ok"}), "public: no totals");
    // Totals include non-public reports: admins (or the scraper's token) only.
    assert_error(&t.get("/metrics", None).await, 401, "unauthorized", None);
    assert_error(&t.get("/metrics", Some(&a)).await, 403, "forbidden", None);
    let admin = t.member("Operator", "government", Role::Admin);
    let m = t.get("/metrics", Some(&admin)).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        m.text.contains(
            "kyojo_http_requests_total{route=\"/api/v1/reports\",method=\"POST\",status=\"201\"} 1"
        ),
        "{}",
        m.text
    );
    assert!(m.text.contains("kyojo_reports 1"));
    assert!(m.text.contains("kyojo_index_indicators 1"));
    assert!(!m.text.contains("Secret Org Name"));
    assert!(!m.text.contains("m.example"));
}

#[tokio::test]
async fn a_configured_metrics_token_reads_metrics() {
    let scraper = "s".repeat(40);
    let t = start_with_config(&format!("metrics_token = \"{scraper}\"\n")).await;
    let m = t.get("/metrics", Some(&scraper)).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text);
    assert!(m.text.contains("kyojo_reports 0"));
    let wrong = "t".repeat(40);
    assert_error(
        &t.get("/metrics", Some(&wrong)).await,
        401,
        "unauthorized",
        None,
    );
}

#[tokio::test]
async fn the_sector_list_is_configurable_with_both_languages() {
    let t = start_with_config(
        "hub_name = \"Port ISAC\"\n[[sectors]]\nslug = \"ports\"\nen = \"Ports\"\nja = \"港湾\"\n[[sectors]]\nslug = \"chemicals\"\nen = \"Chemicals\"\nja = \"化学\"\n",
    )
    .await;
    let s = t.get("/api/v1/sectors", None).await;
    assert_eq!(
        s.body["sectors"],
        json!([{"slug": "ports", "en": "Ports", "ja": "港湾"}, {"slug": "chemicals", "en": "Chemicals", "ja": "化学"}])
    );
    assert!(t.hub.add_org("Harbour", "ports").is_ok());
    let err = t.hub.add_org("Bank", "finance").unwrap_err();
    assert_eq!(err.field(), Some("sector"));
    let a = t.member("Harbour", "ports", Role::Analyst);
    let r = t
        .post(
            "/api/v1/reports",
            Some(&a),
            report("x", "GREEN", json!({"sectors": ["finance"]}), json!([])),
        )
        .await;
    assert_error(&r, 400, "invalid_input", Some("audience.sectors[0]"));
    t.share(
        &a,
        report("x", "GREEN", json!({"sectors": ["chemicals"]}), json!([])),
    )
    .await;
}

#[test]
fn a_broken_config_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kyojo.toml"),
        "[[sectors]]\nslug = \"Bad Slug\"\nen = \"x\"\nja = \"x\"\n",
    )
    .unwrap();
    let err = kyojo_hub::Hub::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("not a valid slug"), "{err}");
    std::fs::write(dir.path().join("kyojo.toml"), "colour = 1\n").unwrap();
    let err = kyojo_hub::Hub::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("colour"), "{err}");
}

#[tokio::test]
async fn administrative_actions_are_audited() {
    let t = start().await;
    let admin = t.member("Operator", "general", Role::Admin);
    let analyst = t.member("Analyst Org", "finance", Role::Analyst);
    assert_eq!(
        t.post(
            "/api/v1/orgs",
            Some(&admin),
            json!({"name": "Audited Org", "sector": "gas"})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let tok = t
        .post(
            "/api/v1/tokens",
            Some(&admin),
            json!({"org": "Audited Org", "role": "sensor"}),
        )
        .await;
    let id = tok.body["id"].as_str().unwrap().to_string();
    let secret = tok.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        t.call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&admin),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    t.post(
        "/api/v1/allowlist",
        Some(&admin),
        json!({"value": "partner.example"}),
    )
    .await;
    t.call(
        Method::DELETE,
        "/api/v1/allowlist/domain/partner.example",
        Some(&admin),
        None,
    )
    .await;
    let log = t.get("/api/v1/audit", Some(&admin)).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let actions: Vec<(&str, &str)> = log.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("allowlist.remove", "Operator"),
            ("allowlist.add", "Operator"),
            ("token.revoke", "Operator"),
            ("token.create", "Operator"),
            ("org.add", "Operator"),
        ]
    );
    assert!(
        log.text.contains(&id) && !log.text.contains(&secret[21..]),
        "ids are logged, secrets never"
    );
    assert_error(
        &t.get("/api/v1/audit", Some(&analyst)).await,
        403,
        "forbidden",
        None,
    );
}

mod safe_browsing {
    #![allow(dead_code)]
    include!("../../core/tests/data/sb_tables.rs");
}

/// Every URL of Safe Browsing's canonicalization list and of gglsbl's table
/// gets an answer from `POST /lookup` — not listed, with the canonical form
/// Safe Browsing gives (our documented answer where gglsbl keeps a port) —
/// never a refusal. Raw-byte inputs that are not UTF-8 cannot travel in
/// JSON and are covered in core.
#[tokio::test]
async fn lookups_answer_every_url_safe_browsing_canonicalizes() {
    use safe_browsing::{GGLSBL, GGLSBL_DISAGREES, SB_V4};
    let t = start().await;
    let token = t.member("Lookup Org", "finance", Role::Consumer);
    let rows = SB_V4
        .iter()
        .chain(GGLSBL.iter())
        .filter_map(|(input, want)| {
            let input = std::str::from_utf8(input).ok()?;
            let want = GGLSBL_DISAGREES
                .iter()
                .find(|(i, _)| *i == input.as_bytes())
                .map_or(*want, |(_, ours)| *ours);
            Some((input, want))
        });
    let mut checked = 0;
    for (input, want) in rows {
        let r = t
            .post(
                "/api/v1/lookup",
                Some(&token),
                json!({"values": [{"type": "url", "value": input}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{input:?}: {}", r.text);
        let result = &r.body["results"][0];
        assert!(result["error"].is_null(), "{input:?}: {result}");
        assert_eq!(result["canonical"], want, "{input:?}");
        assert_eq!(result["matches"], json!([]), "{input:?}");
        checked += 1;
    }
    assert!(checked >= 65, "{checked} rows");
    // What the issue reported, untyped too.
    for input in ["http://intranet/x", "http://host%23.com/a", "0x7f.1"] {
        let r = t
            .post("/api/v1/lookup", Some(&token), json!({"values": [input]}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{input}");
        assert!(
            r.body["results"][0]["error"].is_null(),
            "{input}: {}",
            r.text
        );
    }
}
