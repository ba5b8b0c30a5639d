//! One-off imports of published lists (`POST /api/v1/imports/{format}`):
//! the real formats' fixtures (`crates/formats/tests/data/intake/`) become
//! reports of the importer, what was left out is counted with its line,
//! a second import of the same file is the same reports, and a big list
//! fills several reports.

mod common;

use common::*;
use kyojo_core::Role;
use reqwest::StatusCode;
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../formats/tests/data/intake/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

async fn import(t: &TestHub, token: &str, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let r = t
        .client
        .post(format!("{}/api/v1/imports/{path}", t.base))
        .bearer_auth(token)
        .header("Content-Type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_urlhaus_dump_becomes_one_report_and_says_what_it_left_out() {
    let t = start_with_config("[rules]\ntrusted_orgs = [\"CERT\"]\n").await;
    let cert = t.member("CERT", "government", Role::Analyst);
    let (status, body) = import(&t, &cert, "urlhaus", fixture("urlhaus.csv")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["values"], 4, "{body}");
    assert_eq!(body["inactive"], 1);
    assert_eq!(body["skipped_count"], 2);
    assert_eq!(body["skipped"][0]["line"], 14, "{body}");
    let reports = body["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["indicators"], 4);
    assert!(body["threats"][0]["threat"]
        .as_str()
        .unwrap()
        .starts_with("malware_download"));
    let id = reports[0]["id"].as_str().unwrap().to_string();
    let report = t.get(&format!("/api/v1/reports/{id}"), Some(&cert)).await;
    assert_eq!(report.body["tlp"], "CLEAR", "{}", report.text);
    assert_eq!(report.body["incident_type"], "malware");
    // A trusted organization's CLEAR report: the URLs are in everyone's feed.
    let urls = t.feed("urls.txt", None).await;
    assert!(
        urls.contains("login-update.example/wp-content/x.zip"),
        "{urls}"
    );
    assert!(!urls.contains("gone.example"), "the offline row: {urls}");

    // The same file again: the same report.
    let (status, again) = import(&t, &cert, "urlhaus", fixture("urlhaus.csv")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["already_imported"], 1);
    assert_eq!(again["reports"][0]["id"], id.as_str());
}

#[tokio::test]
async fn every_preset_reads_its_fixture_and_bad_requests_say_why() {
    let t = start().await;
    let analyst = t.member("A", "finance", Role::Analyst);
    for (format, file, values) in [
        ("threatfox", "threatfox.csv", 5),
        ("feodo", "feodo.csv", 2),
        ("spamhaus-drop", "drop_v4.json", 3),
        ("spamhaus-drop", "drop.txt", 2),
        ("phishtank", "phishtank.csv", 2),
        ("openphish", "openphish.txt", 2),
        ("list", "list.txt", 5),
    ] {
        let (status, body) = import(&t, &analyst, format, fixture(file)).await;
        assert!(status.is_success(), "{format}: {body}");
        assert_eq!(body["values"], values, "{format}: {body}");
    }
    let (status, body) = import(&t, &analyst, "nope", b"x.example".to_vec()).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::NOT_FOUND, Some("format"))
    );
    let (status, body) = import(&t, &analyst, "list", b"# nothing\nnot a value\n".to_vec()).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("body"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{body}"
    );
    let consumer = t.member("A", "finance", Role::Consumer);
    let (status, _) = import(&t, &consumer, "list", b"x.example".to_vec()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = import(&t, &analyst, "list?tlp=PURPLE", b"x.example".to_vec()).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tlp"))
    );
}

#[tokio::test]
async fn a_list_longer_than_a_report_fills_several() {
    let t = start().await;
    let analyst = t.member("A", "finance", Role::Analyst);
    let list: String = (0..5_003)
        .map(|n| format!("host{n}.bulk.example\n"))
        .collect();
    let (status, body) = import(&t, &analyst, "list?title=Bulk", list.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let reports = body["reports"].as_array().unwrap();
    let titles: Vec<(&str, u64)> = reports
        .iter()
        .map(|r| {
            (
                r["title"].as_str().unwrap(),
                r["indicators"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(titles, [("Bulk (1/2)", 5_000), ("Bulk (2/2)", 3)]);
}
