//! STIX 2.1 export/import and the TAXII 2.1 server over HTTP, under the same
//! TLP/audience/anonymity rules as the REST API.

mod common;

use std::collections::BTreeSet;

use common::*;
use kyojo_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

const TAXII: &str = "application/taxii+json;version=2.1";

async fn taxii(
    t: &TestHub,
    path: &str,
    token: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let r = t
        .client
        .get(format!("{}{path}", t.base))
        .basic_auth("kyojo", Some(token))
        .header("accept", TAXII)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn types(objects: &Value) -> Vec<String> {
    objects
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn report_exports_as_a_stix_bundle_with_markings_and_no_anonymous_author() {
    let t = start().await;
    let a = t.member("Shy Bank", "finance", Role::Analyst);
    let mut body = report(
        "stix me",
        "AMBER",
        json!("community"),
        json!([
            "evil.example", "http://evil.example/a", {"type": "ipv4", "value": "45.33.32.0/24"},
            {"type": "ipv6", "value": "2606:4700::1"}, {"type": "sha256", "value": "a".repeat(64)}, {"type": "email", "value": "x@evil.example"}
        ]),
    );
    body["anonymous"] = json!(true);
    let id = t.share(&a, body).await;
    let r = t.get(&format!("/api/v1/reports/{id}/stix"), Some(&a)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["type"], "bundle");
    let objects = r.body["objects"].as_array().unwrap();
    let report_obj = objects.iter().find(|o| o["type"] == "report").unwrap();
    assert_eq!(report_obj["id"], format!("report--{id}"));
    assert_eq!(
        report_obj["object_marking_refs"],
        json!(["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"])
    );
    let patterns: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| o["pattern"].as_str().unwrap())
        .collect();
    assert!(
        patterns.contains("[domain-name:value = 'evil.example']"),
        "{patterns:?}"
    );
    assert!(
        patterns.contains("[ipv4-addr:value = '45.33.32.0/24']"),
        "{patterns:?}"
    );
    assert!(
        patterns
            .iter()
            .any(|p| p.starts_with("[file:hashes.'SHA-256' = ")),
        "{patterns:?}"
    );
    assert_eq!(patterns.len(), 6);
    assert!(objects
        .iter()
        .any(|o| o["id"] == "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"));
    // Anonymous: authored by the hub, and the organization's name appears nowhere.
    assert!(!r.text.contains("Shy Bank"), "{}", r.text);
    let author = report_obj["created_by_ref"].as_str().unwrap();
    let identity = objects
        .iter()
        .find(|o| o["id"] == author)
        .expect("author identity in the bundle");
    assert!(identity["name"].as_str().unwrap().contains("kyojo hub"));
    // Others outside the audience cannot fetch it.
    let outsider = t.member("Far", "water", Role::Analyst);
    let mut amber_sector = report(
        "sector only",
        "AMBER",
        json!({"sectors": ["finance"]}),
        json!(["x.example"]),
    );
    amber_sector["anonymous"] = json!(false);
    let sid = t.share(&a, amber_sector).await;
    assert_error(
        &t.get(&format!("/api/v1/reports/{sid}/stix"), Some(&outsider))
            .await,
        404,
        "not_found",
        None,
    );
}

#[tokio::test]
async fn imports_are_all_or_nothing_and_come_back_untouched() {
    let t = start().await;
    let a = t.member("Importer", "telecom", Role::Analyst);
    let good = json!({
        "type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
             "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "bad",
             "pattern": "[domain-name:value = 'Imported-Bad.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
             "x_vendor_score": 97},
            {"type": "malware", "spec_version": "2.1", "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
             "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "Kitty", "is_family": true},
            {"type": "relationship", "spec_version": "2.1", "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
             "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "relationship_type": "indicates",
             "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "target_ref": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"}
        ]
    });
    let mut bad = good.clone();
    bad["objects"][2]
        .as_object_mut()
        .unwrap()
        .remove("source_ref");
    let before = t.hub.store().count_reports().unwrap();
    let r = t.post("/api/v1/stix", Some(&a), bad).await;
    assert_error(
        &r,
        400,
        "invalid_input",
        Some("objects.relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"),
    );
    assert_eq!(
        t.hub.store().count_reports().unwrap(),
        before,
        "nothing half-stored"
    );
    assert_eq!(t.lookup(Some(&a), &["imported-bad.example"]).await, vec![]);

    let r = t.post("/api/v1/stix", Some(&a), good.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["objects"], 3);
    assert_eq!(r.body["indicators"], 1);
    assert_eq!(
        r.body["report"]["tlp"], "AMBER",
        "unmarked bundles default to AMBER"
    );
    let id = r.body["report"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.lookup(Some(&a), &["www.imported-bad.example"])
            .await
            .len(),
        1
    );
    let back = t.get(&format!("/api/v1/reports/{id}/stix"), Some(&a)).await;
    for original in good["objects"].as_array().unwrap() {
        let again = back.body["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == original["id"])
            .expect("object kept");
        assert_eq!(again, original);
    }
    assert_error(
        &t.post("/api/v1/stix", Some(&a), json!({"type": "report"}))
            .await,
        400,
        "invalid_input",
        Some("type"),
    );
}

#[tokio::test]
async fn taxii_serves_what_the_token_may_see_page_by_page() {
    let t = start().await;
    let a = t.member("Owner", "finance", Role::Analyst);
    let peer = t.member("Peer", "finance", Role::Consumer);
    let far = t.member("Far", "water", Role::Analyst);
    let many: Vec<Value> = (0..250)
        .map(|i| json!(format!("page{i}.example")))
        .collect();
    t.share(
        &a,
        report("green", "GREEN", json!("community"), json!(many)),
    )
    .await;
    t.share(
        &a,
        report(
            "amber",
            "AMBER",
            json!({"sectors": ["finance"]}),
            json!(["finance-only.example"]),
        ),
    )
    .await;

    // Discovery and authentication.
    let r = t
        .client
        .get(format!("{}/taxii2/", t.base))
        .header("accept", TAXII)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("Basic"));
    let (s, h, d) = taxii(&t, "/taxii2/", &peer).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], TAXII);
    assert!(d["api_roots"][0]
        .as_str()
        .unwrap()
        .ends_with("/taxii2/api/"));
    let r = t
        .client
        .get(format!("{}/taxii2/", t.base))
        .basic_auth("x", Some(&peer))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);

    // Collections.
    let (_, _, cols) = taxii(&t, "/taxii2/api/collections/", &far).await;
    let titles: Vec<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["Community", "Sector: water", "Inbox"]);
    let find = |cols: &Value, title: &str| {
        cols["collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == title)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (_, _, peer_cols) = taxii(&t, "/taxii2/api/collections/", &peer).await;
    assert_eq!(
        peer_cols["collections"].as_array().unwrap().len(),
        2,
        "consumers get no inbox"
    );
    let community = find(&peer_cols, "Community");
    let finance = find(&peer_cols, "Sector: finance");

    // Paging with limit/next: every object once.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &next {
            Some(n) => format!("?limit=100&next={n}"),
            None => "?limit=100".to_string(),
        };
        let (s, h, page) = taxii(
            &t,
            &format!("/taxii2/api/collections/{community}/objects/{q}"),
            &peer,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        pages += 1;
        assert!(
            h.contains_key("x-taxii-date-added-first") && h.contains_key("x-taxii-date-added-last")
        );
        for o in page["objects"].as_array().unwrap() {
            seen.push(o["id"].as_str().unwrap().to_string());
        }
        if page["more"] == true {
            next = Some(page["next"].as_str().unwrap().to_string());
        } else {
            break;
        }
    }
    assert!(pages >= 5);
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no object twice");
    let indicators = |t: &Value| {
        types(&t["objects"])
            .iter()
            .filter(|x| *x == "indicator")
            .count()
    };
    let (_, _, all) = taxii(
        &t,
        &format!("/taxii2/api/collections/{community}/objects/?match[type]=indicator"),
        &peer,
    )
    .await;
    assert_eq!(
        indicators(&all),
        251,
        "the peer (finance) sees GREEN and the finance AMBER"
    );
    let (_, _, far_all) = taxii(
        &t,
        &format!(
            "/taxii2/api/collections/{}/objects/?match[type]=indicator",
            find(&cols, "Community")
        ),
        &far,
    )
    .await;
    assert_eq!(
        indicators(&far_all),
        250,
        "water does not see the finance AMBER"
    );
    let (_, _, sector) = taxii(
        &t,
        &format!("/taxii2/api/collections/{finance}/objects/?match[type]=indicator"),
        &peer,
    )
    .await;
    assert_eq!(indicators(&sector), 1);
    // A collection of another sector is not there for this token.
    let (s, _, _) = taxii(
        &t,
        &format!(
            "/taxii2/api/collections/{}/objects/",
            find(&cols, "Sector: water")
        ),
        &peer,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // added_after, object by id, versions, manifest.
    let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    t.share(
        &a,
        report("late", "GREEN", json!("community"), json!(["late.example"])),
    )
    .await;
    let (_, _, late) = taxii(&t, &format!("/taxii2/api/collections/{community}/objects/?added_after={stamp}&match[type]=indicator"), &peer).await;
    assert_eq!(indicators(&late), 1);
    let one = late["objects"][0]["id"].as_str().unwrap().to_string();
    let (s, _, obj) = taxii(
        &t,
        &format!("/taxii2/api/collections/{community}/objects/{one}/"),
        &peer,
    )
    .await;
    assert_eq!(
        (s, obj["objects"][0]["id"].as_str().unwrap()),
        (StatusCode::OK, one.as_str())
    );
    let (_, _, vers) = taxii(
        &t,
        &format!("/taxii2/api/collections/{community}/objects/{one}/versions/"),
        &peer,
    )
    .await;
    assert_eq!(vers["versions"].as_array().unwrap().len(), 1);
    let (_, _, man) = taxii(
        &t,
        &format!("/taxii2/api/collections/{community}/manifest/?limit=5"),
        &peer,
    )
    .await;
    assert_eq!(man["objects"].as_array().unwrap().len(), 5);
    assert_eq!(
        man["objects"][0]["media_type"],
        "application/stix+json;version=2.1"
    );
    let (s, _, _) = taxii(&t, &format!("/taxii2/api/collections/{community}/objects/indicator--00000000-0000-4000-8000-000000000000/"), &peer).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, e) = taxii(
        &t,
        &format!("/taxii2/api/collections/{community}/objects/?next=bogus"),
        &peer,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["http_status"], "400");
}

#[tokio::test]
async fn the_inbox_takes_envelopes_and_keeps_a_status() {
    let t = start().await;
    let a = t.member("Writer", "gas", Role::Analyst);
    let (_, _, cols) = taxii(&t, "/taxii2/api/collections/", &a).await;
    let id_of = |title: &str| {
        cols["collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == title)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let envelope = json!({"objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--1f0b8c55-2a3e-4c5c-9d2a-7b0d4c1e9f10",
         "created": "2026-02-02T00:00:00.000Z", "modified": "2026-02-02T00:00:00.000Z",
         "pattern": "[ipv4-addr:value = '45.33.32.157']", "pattern_type": "stix", "valid_from": "2026-02-02T00:00:00Z",
         "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}
    ]});
    let post = |collection: String, body: Value| {
        let t = &t;
        let a = a.clone();
        async move {
            let r = t
                .client
                .post(format!(
                    "{}/taxii2/api/collections/{collection}/objects/",
                    t.base
                ))
                .basic_auth("kyojo", Some(&a))
                .header("accept", TAXII)
                .header("content-type", TAXII)
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, _) = post(id_of("Community"), envelope.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, status) = post(id_of("Inbox"), envelope.clone()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{status}");
    assert_eq!(
        (status["status"].as_str(), status["success_count"].as_u64()),
        (Some("complete"), Some(1))
    );
    let (s, _, polled) = taxii(
        &t,
        &format!("/taxii2/api/status/{}/", status["id"].as_str().unwrap()),
        &a,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(polled, status);
    // Another organization cannot read it.
    let other = t.member("Other", "gas", Role::Analyst);
    let (s, _, _) = taxii(
        &t,
        &format!("/taxii2/api/status/{}/", status["id"].as_str().unwrap()),
        &other,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.lookup(Some(&a), &["45.33.32.157"]).await.len(), 1);
    // The imported report took the envelope's marking.
    let mine = t.get("/api/v1/reports?mine=true", Some(&a)).await;
    assert_eq!(mine.body["reports"][0]["tlp"], "GREEN");
    // A refused envelope: every object failed, nothing stored.
    let mut bad = envelope.clone();
    bad["objects"][0]["pattern_type"] = json!(null);
    let before = t.hub.store().count_reports().unwrap();
    let (s, status) = post(id_of("Inbox"), bad).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(
        (
            status["success_count"].as_u64(),
            status["failure_count"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert!(
        status["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("pattern_type"),
        "{status}"
    );
    assert_eq!(t.hub.store().count_reports().unwrap(), before);
}
