//! `Idempotency-Key` on writes: a replay answers the same and writes nothing;
//! the same key with another request is 422; keys of different callers never
//! meet; a write whose response was lost (the server stopped) is not done twice.

mod common;

use common::{report, start, TestHub};
use kyojo_core::Role;
use reqwest::Method;
use serde_json::{json, Value};

struct Answer {
    status: u16,
    text: String,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

async fn keyed(
    t: &TestHub,
    method: Method,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut req = t
        .client
        .request(method, format!("{}{}", t.base, path))
        .bearer_auth(token);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
        headers,
    }
}

async fn mine_total(t: &TestHub, token: &str, domain: &str) -> Value {
    let r = t
        .get(&format!("/api/v1/indicators/domain/{domain}"), Some(token))
        .await;
    r.body["sightings"]["mine"]["total"].clone()
}

async fn my_report_titles(t: &TestHub, token: &str) -> Vec<String> {
    let r = t
        .get("/api/v1/reports?mine=true&limit=1000", Some(token))
        .await;
    r.body["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_replayed_sighting_batch_answers_the_same_and_counts_once() {
    let t = start().await;
    let sensor = t.member("Sensor Org", "finance", Role::Sensor);
    let analyst = t
        .hub
        .create_token("Sensor Org", Role::Analyst, None)
        .unwrap()
        .1;
    let batch = json!([{"type": "domain", "value": "once.example", "count": 5}]);
    let first = keyed(
        &t,
        Method::POST,
        "/api/v1/sightings",
        &sensor,
        Some("batch-1"),
        Some(&batch),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.headers.get("idempotent-replayed").is_none());
    for _ in 0..3 {
        let again = keyed(
            &t,
            Method::POST,
            "/api/v1/sightings",
            &sensor,
            Some("batch-1"),
            Some(&batch),
        )
        .await;
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.text, first.text, "the same body, byte for byte");
        assert_eq!(again.headers["idempotent-replayed"], "true");
    }
    assert_eq!(
        mine_total(&t, &analyst, "once.example").await,
        5,
        "counted once"
    );
    // Without a key, a repeat is a new batch, as before.
    let plain = keyed(
        &t,
        Method::POST,
        "/api/v1/sightings",
        &sensor,
        None,
        Some(&batch),
    )
    .await;
    assert_eq!(plain.status, 200);
    assert_eq!(mine_total(&t, &analyst, "once.example").await, 10);
    // A new key is a new batch.
    let other = keyed(
        &t,
        Method::POST,
        "/api/v1/sightings",
        &sensor,
        Some("batch-2"),
        Some(&batch),
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(mine_total(&t, &analyst, "once.example").await, 15);
}

#[tokio::test]
async fn a_replayed_report_is_one_report_with_the_same_answer() {
    let t = start().await;
    let analyst = t.member("Report Org", "finance", Role::Analyst);
    let body = report(
        "replayed",
        "GREEN",
        json!("community"),
        json!(["replayed.example"]),
    );
    let first = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &analyst,
        Some("r-1"),
        Some(&body),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &analyst,
        Some("r-1"),
        Some(&body),
    )
    .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.text, first.text);
    assert_eq!(again.headers["location"], first.headers["location"]);
    assert_eq!(my_report_titles(&t, &analyst).await, vec!["replayed"]);

    // PATCH and DELETE take keys too.
    let id = first.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/reports/{id}");
    let change = json!({"title": "renamed"});
    let p1 = keyed(
        &t,
        Method::PATCH,
        &path,
        &analyst,
        Some("p-1"),
        Some(&change),
    )
    .await;
    assert_eq!(p1.status, 200, "{}", p1.text);
    let p2 = keyed(
        &t,
        Method::PATCH,
        &path,
        &analyst,
        Some("p-1"),
        Some(&change),
    )
    .await;
    assert_eq!(p2.text, p1.text, "updated_at is not moved by a replay");
    let d1 = keyed(&t, Method::DELETE, &path, &analyst, Some("d-1"), None).await;
    assert_eq!(d1.status, 204);
    let d2 = keyed(&t, Method::DELETE, &path, &analyst, Some("d-1"), None).await;
    assert_eq!(
        d2.status, 204,
        "a replayed delete answers as the first did: {}",
        d2.text
    );
    let d3 = keyed(&t, Method::DELETE, &path, &analyst, Some("d-2"), None).await;
    assert_eq!(d3.status, 404);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_422_naming_the_header() {
    let t = start().await;
    let analyst = t.member("Reuse Org", "finance", Role::Analyst);
    let a = report(
        "first",
        "GREEN",
        json!("community"),
        json!(["first.example"]),
    );
    let b = report(
        "second",
        "GREEN",
        json!("community"),
        json!(["second.example"]),
    );
    let r = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &analyst,
        Some("k"),
        Some(&a),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &analyst,
        Some("k"),
        Some(&b),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["field"], "Idempotency-Key");
    assert_eq!(my_report_titles(&t, &analyst).await, vec!["first"]);
    // Another path with the same key is another request scope, not a reuse.
    let s = keyed(
        &t,
        Method::POST,
        "/api/v1/sightings",
        &analyst,
        Some("k"),
        Some(&json!([{"type": "domain", "value": "first.example"}])),
    )
    .await;
    assert_eq!(s.status, 200, "{}", s.text);

    // Bad keys and unsupported places are refused, naming the header.
    for bad in ["", &"x".repeat(256), "tab\there"] {
        let r = keyed(
            &t,
            Method::POST,
            "/api/v1/reports",
            &analyst,
            Some(bad),
            Some(&a),
        )
        .await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text);
        assert_eq!(r.body["error"]["field"], "Idempotency-Key");
    }
    let admin = t.member("Ops", "general", Role::Admin);
    let r = keyed(
        &t,
        Method::POST,
        "/api/v1/tokens",
        &admin,
        Some("t-1"),
        Some(&json!({"org": "Ops", "role": "consumer"})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"]["field"], "Idempotency-Key");
    // A refused request records nothing: the key stays free.
    let bad = json!({"title": ""});
    let r = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &analyst,
        Some("fresh"),
        Some(&bad),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &analyst,
        Some("fresh"),
        Some(&b),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn keys_of_different_organizations_never_meet() {
    let t = start().await;
    let a = t.member("Org A", "finance", Role::Analyst);
    let b = t.member("Org B", "electricity", Role::Analyst);
    let body = report("same", "GREEN", json!("community"), json!(["same.example"]));
    let ra = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &a,
        Some("shared-key"),
        Some(&body),
    )
    .await;
    let rb = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &b,
        Some("shared-key"),
        Some(&body),
    )
    .await;
    assert_eq!(
        (ra.status, rb.status),
        (201, 201),
        "{} {}",
        ra.text,
        rb.text
    );
    assert_ne!(ra.body["id"], rb.body["id"], "two reports");
    assert_eq!(rb.body["organization"]["name"], "Org B");
    assert!(rb.headers.get("idempotent-replayed").is_none());
    // Org B with a different body under the same key: its own first use stands.
    let other = report("other", "GREEN", json!("community"), json!([]));
    let rb2 = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &b,
        Some("shared-key"),
        Some(&other),
    )
    .await;
    assert_eq!(rb2.status, 422);
    // A forged token carrying A's public id replays nothing.
    let public_id = a.strip_prefix("kyj_").unwrap().split('_').next().unwrap();
    let forged = format!("kyj_{public_id}_{}", "0".repeat(64));
    let rf = keyed(
        &t,
        Method::POST,
        "/api/v1/reports",
        &forged,
        Some("shared-key"),
        Some(&body),
    )
    .await;
    assert_eq!(rf.status, 401, "{}", rf.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_write_once() {
    let t = start().await;
    let sensor = t.member("Burst Org", "finance", Role::Sensor);
    let analyst = t
        .hub
        .create_token("Burst Org", Role::Analyst, None)
        .unwrap()
        .1;
    let batch = json!([{"type": "domain", "value": "burst.example", "count": 7}]);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, url, sensor, batch) = (
            t.client.clone(),
            format!("{}/api/v1/sightings", t.base),
            sensor.clone(),
            batch.clone(),
        );
        set.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(sensor)
                .header("Idempotency-Key", "burst")
                .json(&batch)
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            (status, r.text().await.expect("body"))
        });
    }
    let answers = set.join_all().await;
    let ok: Vec<&(u16, String)> = answers.iter().filter(|a| a.0 == 200).collect();
    assert!(!ok.is_empty(), "{answers:?}");
    for (status, text) in &answers {
        assert!(
            *status == 200 || (*status == 409 && text.contains("in_flight")),
            "{status} {text}"
        );
        if *status == 200 {
            assert_eq!(text, &ok[0].1);
        }
    }
    assert_eq!(mine_total(&t, &analyst, "burst.example").await, 7);
}

#[tokio::test]
async fn a_write_whose_response_was_lost_is_not_done_again() {
    // The server stopped after the write committed (with its claim) and
    // before its response was kept: a claim from another process, no response.
    let t = start().await;
    let sensor = t.member("Lost Org", "finance", Role::Sensor);
    let analyst = t
        .hub
        .create_token("Lost Org", Role::Analyst, None)
        .unwrap()
        .1;
    let public_id = sensor
        .strip_prefix("kyj_")
        .unwrap()
        .split('_')
        .next()
        .unwrap()
        .to_string();
    let batch = json!([{"type": "domain", "value": "lost.example", "count": 3}]);
    let bytes = serde_json::to_vec(&batch).unwrap();
    let now = kyojo_hub::hub::now_millis();
    let claim = kyojo_store::Claim {
        key: kyojo_server::idempotency::key_hash(
            &t.hub,
            &public_id,
            "POST",
            "/api/v1/sightings",
            "lost-1",
        ),
        request: kyojo_server::idempotency::request_hash("POST", "/api/v1/sightings", "", &bytes),
        node: 42,
        at: now,
        expired_before: now - kyojo_server::idempotency::KEPT_MS,
    };
    let hub = t.hub.clone();
    let viewer = hub.authenticate(&sensor).unwrap().0;
    let written = tokio::task::spawn_blocking(move || {
        let slot = kyojo_store::ClaimSlot::new(claim);
        let n = kyojo_store::with_claim(Some(slot.clone()), || {
            hub.add_sightings(
                &viewer,
                &[kyojo_store::NewSighting {
                    observable: kyojo_core::Observable::new(
                        kyojo_core::Kind::Domain,
                        "lost.example",
                    )
                    .expect("a valid test value"),
                    seen_at: now,
                    count: 3,
                }],
            )
        });
        (n.is_ok(), slot.committed())
    })
    .await
    .unwrap();
    assert_eq!(written, (true, true));
    let r = t
        .client
        .post(format!("{}/api/v1/sightings", t.base))
        .bearer_auth(&sensor)
        .header("Idempotency-Key", "lost-1")
        .header("content-type", "application/json")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    if t.on_postgres() {
        // Another node's fresh claim may still be in flight there.
        assert_eq!(status, 409, "{text}");
    } else {
        assert_eq!(status, 409, "{text}");
        assert!(text.contains("already_done"), "{text}");
    }
    assert_eq!(
        mine_total(&t, &analyst, "lost.example").await,
        3,
        "not written again"
    );
}
