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
    let peer = t.member("Peer", "finance", Role::Analyst);
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
    assert_eq!(peer_cols["collections"].as_array().unwrap().len(), 3);
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

// ---- helpers for the tests below ------------------------------------------------------------

fn collection_id(name: &str) -> String {
    uuid::Uuid::new_v5(
        &kyojo_formats::stix::KYOJO_NAMESPACE,
        format!("taxii-collection:{name}").as_bytes(),
    )
    .to_string()
}

async fn taxii_post(t: &TestHub, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
    let r = t
        .client
        .post(format!("{}{path}", t.base))
        .basic_auth("kyojo", Some(token))
        .header("accept", TAXII)
        .header("content-type", TAXII)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json::<Value>().await.unwrap_or(Value::Null))
}

/// Every object of a collection, paging with `limit` through `next`.
async fn page_all(t: &TestHub, collection: &str, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(n) => format!("{query}&next={n}"),
            None => query.to_string(),
        };
        let (s, _, page) = taxii(
            t,
            &format!("/taxii2/api/collections/{collection}/objects/?{q}"),
            token,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        out.extend(page["objects"].as_array().cloned().unwrap_or_default());
        match page["next"].as_str() {
            Some(n) if page["more"] == true => next = Some(n.to_string()),
            _ => return out,
        }
    }
}

/// What `kyojo export stix` writes for `viewer`: the Community collection, every version.
fn export(t: &TestHub, viewer: &kyojo_core::Viewer) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = t
            .hub
            .taxii_objects(
                viewer,
                &kyojo_hub::stix::Collection::Community,
                kyojo_store::StixScan {
                    after_seq: after,
                    ..Default::default()
                },
                &kyojo_hub::stix::VersionFilter::All,
                7,
            )
            .unwrap();
        out.extend(
            page.objects
                .iter()
                .map(|o| serde_json::from_str::<Value>(&o.row.json).unwrap()),
        );
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

fn viewer_of(t: &TestHub, org: &str, role: Role) -> kyojo_core::Viewer {
    let o = t.hub.org_by_name(org).unwrap().unwrap();
    kyojo_core::Viewer::Member(kyojo_core::policy::Member {
        org: o.id,
        sector: o.sector,
        role,
    })
}

fn no_duplicates(objects: &[Value], what: &str) {
    let mut seen = BTreeSet::new();
    for o in objects {
        let key = (
            o["id"].as_str().unwrap().to_string(),
            o.get("modified")
                .or(o.get("created"))
                .map(|v| v.to_string())
                .unwrap_or_else(|| o.to_string()),
        );
        assert!(seen.insert(key.clone()), "{what}: {key:?} twice");
    }
}

fn indicator_bundle(id: &str, pattern: &str, extra: Value) -> Value {
    let mut ind = json!({"type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2026-02-02T00:00:00.000Z", "modified": "2026-02-02T00:00:00.000Z",
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-02-02T00:00:00Z"});
    if let (Some(m), Some(e)) = (ind.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [ind]})
}

// ---- roles -----------------------------------------------------------------------------------

#[tokio::test]
async fn taxii_applies_the_rest_role_rules_on_every_endpoint() {
    let t = start().await;
    let writer = t.member("Roles", "finance", Role::Analyst);
    let mut body = report(
        "secret title",
        "GREEN",
        json!("community"),
        json!(["roles.example"]),
    );
    body["sector"] = json!("finance");
    let id = t.share(&writer, body).await;
    let community = collection_id("community");
    let sector = collection_id("sector:finance");
    let inbox = collection_id("inbox");
    let report_id = format!("report--{id}");
    for role in Role::ALL {
        let token = t.member("Roles", "finance", role);
        let rest_reads = t.get("/api/v1/reports", Some(&token)).await.status;
        let may_read = rest_reads == StatusCode::OK;
        let may_write = matches!(role, Role::Admin | Role::Curator | Role::Analyst);
        assert_eq!(may_read, may_write, "{role:?}: REST {rest_reads}");
        // Discovery and the API root: every token.
        for path in ["/taxii2/", "/taxii2/api/"] {
            let (s, _, _) = taxii(&t, path, &token).await;
            assert_eq!(s, StatusCode::OK, "{role:?} {path}");
        }
        let (s, _, cols) = taxii(&t, "/taxii2/api/collections/", &token).await;
        assert_eq!(s, StatusCode::OK);
        let listed = cols["collections"].as_array().map_or(0, Vec::len);
        assert_eq!(listed, if may_read { 3 } else { 0 }, "{role:?}: {cols}");
        let want = if may_read {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        for c in [&community, &sector] {
            for path in [
                format!("/taxii2/api/collections/{c}/"),
                format!("/taxii2/api/collections/{c}/objects/"),
                format!("/taxii2/api/collections/{c}/objects/{report_id}/"),
                format!("/taxii2/api/collections/{c}/objects/{report_id}/versions/"),
                format!("/taxii2/api/collections/{c}/manifest/"),
            ] {
                let (s, h, body) = taxii(&t, &path, &token).await;
                assert_eq!(s, want, "{role:?} {path}: {body}");
                assert_eq!(h["content-type"], TAXII);
                if !may_read {
                    assert_eq!(body["http_status"], "403", "{body}");
                    assert!(!body.to_string().contains("secret title"));
                }
            }
        }
        let envelope = indicator_bundle(
            &format!(
                "indicator--1f0b8c55-2a3e-4c5c-9d2a-7b0d4c1e9f{:02x}",
                role as u8
            ),
            &format!("[domain-name:value = 'inbox-{}.example']", role.as_str()),
            json!({}),
        );
        let (s, body) = taxii_post(
            &t,
            &format!("/taxii2/api/collections/{inbox}/objects/"),
            &token,
            &json!({"objects": envelope["objects"]}),
        )
        .await;
        let want = if may_write {
            StatusCode::ACCEPTED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(s, want, "{role:?} inbox: {body}");
    }
}

// ---- 11a: versions among what the reader may see --------------------------------------------

#[tokio::test]
async fn an_object_is_served_from_the_copies_the_reader_may_see() {
    let t = start().await;
    let a = t.member("Green Org", "finance", Role::Analyst);
    let b = t.member("Red Org", "water", Role::Analyst);
    let reader = t.member("Reader", "telecom", Role::Analyst);
    let green = t
        .share(
            &a,
            report(
                "green",
                "GREEN",
                json!("community"),
                json!(["both.example"]),
            ),
        )
        .await;
    // Later, a RED report only its own organization reads names the same value.
    t.share(
        &b,
        report(
            "red",
            "RED",
            json!({"orgs": ["Red Org"]}),
            json!(["both.example"]),
        ),
    )
    .await;
    let sco = kyojo_formats::stix::sco_id(kyojo_core::Kind::Domain, "both.example");
    let community = collection_id("community");
    let objects = page_all(&t, &community, &reader, "limit=1000").await;
    let green_report = objects
        .iter()
        .find(|o| o["id"] == format!("report--{green}"))
        .expect("the GREEN report");
    for r in green_report["object_refs"].as_array().unwrap() {
        assert!(
            objects.iter().any(|o| &o["id"] == r),
            "{r} listed by a visible report but not served"
        );
    }
    let (s, _, one) = taxii(
        &t,
        &format!("/taxii2/api/collections/{community}/objects/{sco}/"),
        &reader,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(
        one["objects"][0]["object_marking_refs"],
        json!([kyojo_formats::stix::tlp_marking_id(kyojo_core::Tlp::Green)])
    );
    let exported = export(&t, &viewer_of(&t, "Reader", Role::Analyst));
    assert_eq!(
        exported.iter().filter(|o| o["id"] == sco.as_str()).count(),
        1
    );
    let red = kyojo_formats::stix::tlp_marking_id(kyojo_core::Tlp::Red);
    assert!(!serde_json::to_string(&exported)
        .unwrap()
        .contains(&format!("[\"{red}\"]")));
}

// ---- 11c: each object once ------------------------------------------------------------------

#[tokio::test]
async fn exports_and_pages_carry_each_object_once() {
    let t = start().await;
    let a = t.member("Twice", "finance", Role::Analyst);
    for i in 0..6 {
        t.share(
            &a,
            report(
                &format!("r{i}"),
                "GREEN",
                json!("community"),
                json!(["same.example", "other.example", format!("r{i}.example")]),
            ),
        )
        .await;
    }
    let community = collection_id("community");
    for q in [
        "limit=1",
        "limit=3&match[version]=all",
        "limit=1000&match[version]=all",
    ] {
        let objects = page_all(&t, &community, &a, q).await;
        no_duplicates(&objects, q);
        let sco = kyojo_formats::stix::sco_id(kyojo_core::Kind::Domain, "same.example");
        assert_eq!(
            objects.iter().filter(|o| o["id"] == sco.as_str()).count(),
            1,
            "{q}"
        );
    }
    let exported = export(&t, &viewer_of(&t, "Twice", Role::Analyst));
    no_duplicates(&exported, "export");
    let texts: BTreeSet<String> = exported.iter().map(|o| o.to_string()).collect();
    assert_eq!(texts.len(), exported.len(), "byte-identical duplicates");
}

// ---- 11b: patterns --------------------------------------------------------------------------

#[tokio::test]
async fn invalid_patterns_are_refused_and_nothing_is_stored() {
    let t = start().await;
    let a = t.member("Patterns", "gas", Role::Analyst);
    let id = "indicator--2b1a7a4e-8c6d-4f1e-9a3b-5c7d9e1f3a5b";
    let before = t.hub.store().count_reports().unwrap();
    let objects_before = t.hub.store().count_stix().unwrap();
    for pattern in [
        "[domain-name:value = ]",
        "[domain-name:value = 'a'",
        "[domain-name:value ~ 'a']",
        "[file:hashes.MD5 = 'zz']",
    ] {
        let r = t
            .post(
                "/api/v1/stix",
                Some(&a),
                indicator_bundle(id, pattern, json!({})),
            )
            .await;
        assert_error(&r, 400, "invalid_input", Some(&format!("objects.{id}")));
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("pattern"),
            "{}",
            r.text
        );
        let (s, status) = taxii_post(
            &t,
            &format!(
                "/taxii2/api/collections/{}/objects/",
                collection_id("inbox")
            ),
            &a,
            &json!({"objects": indicator_bundle(id, pattern, json!({}))["objects"]}),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        assert_eq!(status["failure_count"], 1, "{status}");
    }
    assert_eq!(t.hub.store().count_reports().unwrap(), before);
    assert_eq!(t.hub.store().count_stix().unwrap(), objects_before);
    let r = t
        .post(
            "/api/v1/stix",
            Some(&a),
            indicator_bundle(
                id,
                "[domain-name:value = 'fine.example'] WITHIN 5 SECONDS",
                json!({}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

// ---- 6: authorship --------------------------------------------------------------------------

#[tokio::test]
async fn imports_speak_only_for_their_importer() {
    let t = start().await;
    t.member("Victim Bank", "finance", Role::Analyst);
    let b = t.member("Forger", "finance", Role::Analyst);
    let victim = kyojo_formats::stix::identity_id("Victim Bank");
    let hub = kyojo_formats::stix::identity_id("kyojo (kyojo hub)");
    let own = kyojo_formats::stix::identity_id("Forger");
    let ind = "indicator--3c2b8b5f-9d7e-4a2f-8b4c-6d8e0f2a4b6c";
    let forged = |id: &str, name: &str| {
        json!({"type": "identity", "spec_version": "2.1", "id": id, "name": name,
               "created": "2026-01-01T00:00:00.000Z", "modified": "2099-01-01T00:00:00.000Z",
               "identity_class": "organization"})
    };
    let with_identity = |id: &str, name: &str| {
        let mut b = indicator_bundle(ind, "[domain-name:value = 'forged.example']", json!({}));
        b["objects"].as_array_mut().unwrap().push(forged(id, name));
        b
    };
    let before = t.hub.store().count_reports().unwrap();
    for (id, name) in [
        (&victim, "Victim Bank"),
        (&hub, "Someone"),
        (&own, "Forger"),
    ] {
        let mut bundle = with_identity(id, name);
        if id == &own {
            // The importer's own identity in an anonymous import would name it.
            let r = t
                .post("/api/v1/stix?anonymous=true", Some(&b), bundle.clone())
                .await;
            assert_error(&r, 400, "invalid_input", Some(&format!("objects.{own}")));
            continue;
        }
        bundle["objects"][1]["name"] = json!(name);
        let r = t.post("/api/v1/stix", Some(&b), bundle).await;
        assert_error(&r, 400, "invalid_input", Some(&format!("objects.{id}")));
    }
    // An identity named like a member, under another id.
    let r = t
        .post(
            "/api/v1/stix",
            Some(&b),
            with_identity(
                "identity--7b4d2c1a-3e5f-4a6b-8c7d-9e0f1a2b3c4d",
                "victim bank",
            ),
        )
        .await;
    assert_error(
        &r,
        400,
        "invalid_input",
        Some("objects.identity--7b4d2c1a-3e5f-4a6b-8c7d-9e0f1a2b3c4d"),
    );
    // created_by_ref naming another member.
    let r = t
        .post(
            "/api/v1/stix",
            Some(&b),
            indicator_bundle(
                ind,
                "[domain-name:value = 'forged.example']",
                json!({"created_by_ref": victim}),
            ),
        )
        .await;
    assert_error(&r, 400, "invalid_input", Some(&format!("objects.{ind}")));
    assert_eq!(t.hub.store().count_reports().unwrap(), before);

    // Its own identity is accepted but never replaces the hub's.
    let r = t
        .post("/api/v1/stix", Some(&b), with_identity(&own, "Forger"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["objects"], 1, "the identity copy is not kept");
    let (s, _, got) = taxii(
        &t,
        &format!(
            "/taxii2/api/collections/{}/objects/{own}/",
            collection_id("community")
        ),
        &b,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["objects"].as_array().unwrap().len(), 1);
    assert_ne!(got["objects"][0]["modified"], "2099-01-01T00:00:00.000Z");
    let (_, _, victim_now) = taxii(
        &t,
        &format!(
            "/taxii2/api/collections/{}/objects/{victim}/",
            collection_id("community")
        ),
        &b,
    )
    .await;
    assert_eq!(victim_now["objects"][0]["name"], "Victim Bank");
    // Its own authorship is fine.
    let r = t
        .post(
            "/api/v1/stix",
            Some(&b),
            indicator_bundle(
                "indicator--4d3c9c6a-0e8f-4b3a-9c5d-7e9f1a3b5c7d",
                "[domain-name:value = 'mine.example']",
                json!({"created_by_ref": own}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

// ---- 11d / 11e: audiences, anonymity, idempotence ---------------------------------------------

#[tokio::test]
async fn reimports_never_widen_nor_name_and_repeat_imports_are_one_report() {
    let t = start().await;
    let a = t.member("Quiet Bank", "finance", Role::Analyst);
    let peer = t.member("Peer Bank", "finance", Role::Analyst);
    let far = t.member("Far Water", "water", Role::Analyst);
    let mut body = report(
        "finance only",
        "AMBER",
        json!({"sectors": ["finance"]}),
        json!(["quiet.example"]),
    );
    body["anonymous"] = json!(true);
    let id = t.share(&a, body).await;
    let bundle = t
        .get(&format!("/api/v1/reports/{id}/stix"), Some(&a))
        .await
        .body;
    let reports = t.hub.store().count_reports().unwrap();

    // The owner's re-import: the same objects, no new report.
    let r = t.post("/api/v1/stix", Some(&a), bundle.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["already_imported"], true);
    assert_eq!(r.body["report"]["id"], id.as_str());
    assert_eq!(t.hub.store().count_reports().unwrap(), reports);

    // A reader's re-import: anonymous, finance only, AMBER.
    for (query, field) in [
        ("?audience=community", "audience"),
        ("?tlp=GREEN", "tlp"),
        ("?anonymous=false", "anonymous"),
    ] {
        let r = t
            .post(&format!("/api/v1/stix{query}"), Some(&peer), bundle.clone())
            .await;
        assert_error(&r, 400, "invalid_input", Some(field));
    }
    assert_eq!(t.hub.store().count_reports().unwrap(), reports);
    let r = t.post("/api/v1/stix", Some(&peer), bundle.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["report"]["anonymous"], true, "{}", r.text);
    assert_eq!(r.body["report"]["tlp"], "AMBER");
    assert_eq!(
        r.body["report"]["audience"],
        json!({"sectors": ["finance"]}),
        "{}",
        r.text
    );
    let again = t.post("/api/v1/stix", Some(&peer), bundle.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["report"]["id"], r.body["report"]["id"]);
    // Nobody outside finance reads it, and the importer's name is nowhere.
    let far_all = page_all(
        &t,
        &collection_id("community"),
        &far,
        "limit=1000&match[version]=all",
    )
    .await;
    assert!(!serde_json::to_string(&far_all)
        .unwrap()
        .contains("quiet.example"));
    let peer_all = page_all(&t, &collection_id("community"), &peer, "limit=1000").await;
    let text = serde_json::to_string(&peer_all).unwrap();
    assert!(text.contains("quiet.example"));
    let quiet = kyojo_formats::stix::identity_id("Quiet Bank");
    let peer_id = kyojo_formats::stix::identity_id("Peer Bank");
    for o in &peer_all {
        assert!(
            o["created_by_ref"] != quiet.as_str() && o["created_by_ref"] != peer_id.as_str(),
            "{o}"
        );
    }

    // A narrower audience may be chosen; the TAXII inbox twice makes one report.
    let fresh = indicator_bundle(
        "indicator--5e4d0d7b-1f9a-4c4b-8d6e-8f0a2b4c6d8e",
        "[domain-name:value = 'choose.example']",
        json!({"object_marking_refs": [kyojo_formats::stix::tlp_marking_id(kyojo_core::Tlp::Amber)]}),
    );
    let r = t
        .post(
            "/api/v1/stix?audience=%7B%22orgs%22%3A%5B%22Peer%20Bank%22%5D%7D&anonymous=true",
            Some(&peer),
            fresh.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["report"]["anonymous"], true);
    // An anonymous report's audience never names its owner (who reads it
    // anyway): the list would name the author to every reader.
    assert_eq!(
        r.body["report"]["audience"]["orgs"],
        json!([]),
        "{}",
        r.text
    );
    let inbox = format!(
        "/taxii2/api/collections/{}/objects/",
        collection_id("inbox")
    );
    let envelope = json!({"objects": indicator_bundle(
        "indicator--6f5e1e8c-2a0b-4d5c-9e7f-9a1b3c5d7e9f",
        "[domain-name:value = 'twice.example']",
        json!({}),
    )["objects"]});
    let n = t.hub.store().count_reports().unwrap();
    for _ in 0..2 {
        let (s, status) = taxii_post(&t, &inbox, &peer, &envelope).await;
        assert_eq!(
            (s, status["success_count"].as_u64()),
            (StatusCode::ACCEPTED, Some(1))
        );
    }
    assert_eq!(t.hub.store().count_reports().unwrap(), n + 1);
}

// ---- 10: discovery URLs and errors ----------------------------------------------------------

#[tokio::test]
async fn discovery_names_the_configured_url_whatever_the_host_header() {
    let t = start_with_config("public_url = \"https://hub.example.org/cti/\"\n").await;
    let a = t.member("Disco", "gas", Role::Analyst);
    let r = t
        .client
        .get(format!("{}/taxii2/", t.base))
        .basic_auth("kyojo", Some(&a))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_eq!(
        d["api_roots"],
        json!(["https://hub.example.org/cti/taxii2/api/"])
    );
    assert_eq!(d["default"], "https://hub.example.org/cti/taxii2/api/");

    let t = start().await;
    let a = t.member("Disco", "gas", Role::Analyst);
    let r = t
        .client
        .get(format!("{}/taxii2/", t.base))
        .basic_auth("kyojo", Some(&a))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["api_roots"], json!([format!("{}/taxii2/api/", t.base)]));
    // Unreadable Accept headers and paths: TAXII's JSON error shape.
    let r = t
        .client
        .get(format!("{}/taxii2/", t.base))
        .basic_auth("kyojo", Some(&a))
        .header(
            "accept",
            reqwest::header::HeaderValue::from_bytes(b"application/\xff").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["http_status"], "406");
    let (s, h, e) = taxii(&t, "/taxii2/api/collections/%FF/objects/", &a).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(h["content-type"], TAXII);
    assert_eq!(e["http_status"], "400");
}

// ---- the promise as a property: nothing out of reach on TAXII or in an export ----------------

struct Shared {
    uid: String,
    owner: usize,
    tlp: kyojo_core::Tlp,
    /// Organizations (indices) admitted besides the owner; `None`: the community.
    audience: Option<BTreeSet<usize>>,
    anonymous: bool,
    values: Vec<String>,
    /// Ids of its indicators (native: derived; imported: as given).
    indicators: Vec<String>,
}

#[tokio::test]
async fn no_collection_nor_export_shows_what_a_reader_may_not_see() {
    use kyojo_core::{Kind, Tlp};
    let sectors = ["finance", "water", "telecom"];
    let tlps = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];
    for seed in [7u64, 1009, 40_961] {
        let t = start().await;
        let mut rng = Lcg(seed);
        let n_orgs = 4 + rng.below(3);
        let orgs: Vec<(String, &str)> = (0..n_orgs)
            .map(|i| (format!("Org {i}"), sectors[rng.below(sectors.len())]))
            .collect();
        let analysts: Vec<String> = orgs
            .iter()
            .map(|(name, sector)| t.member(name, sector, Role::Analyst))
            .collect();
        let mut shared: Vec<Shared> = Vec::new();
        for r in 0..14 {
            let owner = rng.below(n_orgs);
            let tlp = tlps[rng.below(tlps.len())];
            let audience_kind = if tlp == Tlp::Red { 2 } else { rng.below(3) };
            let (audience_json, admitted) = match audience_kind {
                0 => (json!("community"), None),
                1 => {
                    let s = sectors[rng.below(sectors.len())];
                    let set = (0..n_orgs).filter(|i| orgs[*i].1 == s).collect();
                    (json!({"sectors": [s]}), Some(set))
                }
                _ => {
                    let o = rng.below(n_orgs);
                    (json!({"orgs": [orgs[o].0]}), Some([o].into()))
                }
            };
            let anonymous = rng.chance(50);
            let values = vec![
                format!("s{seed}-r{r}.example"),
                format!("common{}.example", rng.below(3)),
            ];
            if rng.chance(25) && tlp != Tlp::Red {
                // An anonymous or named import instead of a native report.
                let ind = format!("indicator--{}", uuid::Uuid::new_v4());
                let marking = kyojo_formats::stix::tlp_marking_id(tlp);
                let mut bundle = indicator_bundle(
                    &ind,
                    &format!("[domain-name:value = '{}']", values[0]),
                    json!({"object_marking_refs": [marking]}),
                );
                if !anonymous {
                    bundle["objects"][0]["created_by_ref"] =
                        json!(kyojo_formats::stix::identity_id(&orgs[owner].0));
                }
                let q = format!(
                    "/api/v1/stix?anonymous={anonymous}&audience={}",
                    audience_json
                        .to_string()
                        .replace('"', "%22")
                        .replace(' ', "%20")
                );
                let r = t.post(&q, Some(&analysts[owner]), bundle).await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
                shared.push(Shared {
                    uid: r.body["report"]["id"].as_str().unwrap().to_string(),
                    owner,
                    tlp,
                    audience: admitted,
                    anonymous,
                    values: vec![values[0].clone()],
                    indicators: vec![ind],
                });
                continue;
            }
            let mut body = report(&format!("r{r}"), tlp.as_str(), audience_json, json!(values));
            body["anonymous"] = json!(anonymous);
            let uid = t.share(&analysts[owner], body).await;
            let bytes = *uuid::Uuid::parse_str(&uid).unwrap().as_bytes();
            let indicators = values
                .iter()
                .map(|v| kyojo_formats::stix::indicator_id(bytes, Kind::Domain, v))
                .collect();
            shared.push(Shared {
                uid,
                owner,
                tlp,
                audience: admitted,
                anonymous,
                values,
                indicators,
            });
        }
        let readable = |viewer: usize, s: &Shared| {
            s.tlp.allowed_in_bulk()
                && (s.tlp == Tlp::Clear
                    || s.owner == viewer
                    || s.audience.as_ref().is_none_or(|a| a.contains(&viewer)))
        };
        let hub_identity = kyojo_formats::stix::identity_id("kyojo (kyojo hub)");
        let red = kyojo_formats::stix::tlp_marking_id(Tlp::Red);
        for (v, (name, sector)) in orgs.iter().enumerate() {
            for role in Role::ALL {
                let token = t.member(name, sector, role);
                let community = collection_id("community");
                if !matches!(role, Role::Admin | Role::Curator | Role::Analyst) {
                    let (s, _, _) = taxii(
                        &t,
                        &format!("/taxii2/api/collections/{community}/objects/"),
                        &token,
                    )
                    .await;
                    assert_eq!(s, StatusCode::FORBIDDEN, "seed {seed} {role:?}");
                    continue;
                }
                let limit = 1 + rng.below(40);
                let mut views = vec![
                    (
                        "community",
                        page_all(&t, &community, &token, &format!("limit={limit}")).await,
                    ),
                    (
                        "community, all versions",
                        page_all(
                            &t,
                            &community,
                            &token,
                            &format!("limit={limit}&match[version]=all"),
                        )
                        .await,
                    ),
                    (
                        "sector",
                        page_all(
                            &t,
                            &collection_id(&format!("sector:{sector}")),
                            &token,
                            &format!("limit={limit}"),
                        )
                        .await,
                    ),
                ];
                views.push(("export", export(&t, &viewer_of(&t, name, role))));
                for (what, objects) in &views {
                    let ctx = format!("seed {seed}, {name} {role:?}, {what}");
                    no_duplicates(objects, &ctx);
                    for o in objects {
                        let id = o["id"].as_str().unwrap();
                        assert!(
                            !o["object_marking_refs"].to_string().contains(red),
                            "{ctx}: RED {o}"
                        );
                        let of = shared.iter().find(|s| {
                            id == format!("report--{}", s.uid)
                                || s.indicators.iter().any(|i| i == id)
                        });
                        if let Some(s) = of {
                            assert!(readable(v, s), "{ctx}: out of reach {o}");
                            let author = o["created_by_ref"].as_str();
                            if s.anonymous {
                                assert!(
                                    author.is_none() || author == Some(hub_identity.as_str()),
                                    "{ctx}: an anonymous report's author named: {o}"
                                );
                            } else if let Some(a) = author {
                                assert!(
                                    a == kyojo_formats::stix::identity_id(&orgs[s.owner].0),
                                    "{ctx}: {o}"
                                );
                            }
                        }
                        if o["type"] == "domain-name" {
                            let value = o["value"].as_str().unwrap();
                            assert!(
                                shared
                                    .iter()
                                    .any(|s| readable(v, s) && s.values.iter().any(|x| x == value)),
                                "{ctx}: a value only unreadable reports hold: {value}"
                            );
                        }
                    }
                    if *what != "sector" {
                        for s in shared.iter().filter(|s| readable(v, s)) {
                            for i in &s.indicators {
                                assert!(
                                    objects.iter().any(|o| o["id"] == i.as_str()),
                                    "{ctx}: readable {i} missing"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
