//! Decide and Act over HTTP: decisions, the allow list, expiry, every feed's
//! TLP scope, ETags, the warning page and private URL checks.

mod common;

use common::*;
use kyojo_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

const FEEDS: [&str; 6] = [
    "rpz",
    "hosts",
    "domains.txt",
    "urls.txt",
    "ips.txt",
    "indicators.csv",
];

/// Non-comment lines of a feed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(';') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn analysts_block_allow_and_unset_with_history() {
    let t = start().await;
    let a = t.member("Analyst Org", "finance", Role::Curator);
    let c = t.member("ISP", "telecom", Role::Consumer);
    t.share(
        &a,
        report(
            "r",
            "GREEN",
            json!("community"),
            json!(["block-me.example", "http://phish.example/login/"]),
        ),
    )
    .await;
    assert!(!t
        .feed("domains.txt", Some(&c))
        .await
        .contains("block-me.example"));

    let r = t
        .decide(
            &a,
            "domain",
            "block-me.example",
            json!({"action": "block", "comment": "phishing kit"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["actionable"], true);
    assert_eq!(
        r.body["reason"],
        "blocked by the hub's curators: phishing kit"
    );
    assert!(
        r.body["expires_at"].as_str().is_some(),
        "a domain block lasts its lifetime: {}",
        r.text
    );
    assert_eq!(
        lines(&t.feed("domains.txt", Some(&c)).await),
        vec!["block-me.example"]
    );
    let rpz = t.feed("rpz", Some(&c)).await;
    assert!(
        rpz.contains("\nblock-me.example CNAME .") && rpz.contains("\n*.block-me.example CNAME ."),
        "{rpz}"
    );
    let walled = t.feed("rpz?action=walled_garden", Some(&c)).await;
    assert!(
        walled.contains("block-me.example CNAME warn.kyojo.invalid."),
        "{walled}"
    );
    let hosts = t.feed("hosts?sinkhole=127.0.0.2", Some(&c)).await;
    assert_eq!(lines(&hosts), vec!["127.0.0.2 block-me.example"]);

    t.decide(
        &a,
        "url",
        "http://phish.example/login/",
        json!({"action": "block"}),
    )
    .await;
    assert_eq!(
        lines(&t.feed("urls.txt", Some(&c)).await),
        vec!["http://phish.example/login/"]
    );
    let csv = t.feed("indicators.csv", Some(&c)).await;
    let rows: Vec<&str> = csv.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        rows[0].starts_with("value,kind,first_seen,last_seen"),
        "{csv}"
    );
    assert_eq!(rows.len(), 3, "{csv}");

    let r = t
        .decide(
            &a,
            "domain",
            "block-me.example",
            json!({"action": "allow", "comment": "false positive"}),
        )
        .await;
    assert_eq!(r.body["actionable"], false);
    assert!(!t
        .feed("domains.txt", Some(&c))
        .await
        .contains("block-me.example"));
    let r = t
        .decide(&a, "domain", "block-me.example", json!({"action": "unset"}))
        .await;
    assert_eq!(r.body["actionable"], false);
    let history: Vec<&str> = r.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(history, vec!["block", "allow", "unset"]);
    assert_eq!(r.body["history"][0]["by"], "hub");
    assert!(r.body["history"][0].get("organization").is_none());
    // The indicator page shows the state too.
    let d = t
        .get("/api/v1/indicators/domain/block-me.example", Some(&a))
        .await;
    assert_eq!(d.body["decision"]["history"].as_array().unwrap().len(), 3);

    // Bad decisions.
    assert_error(
        &t.decide(&a, "domain", "block-me.example", json!({"action": "nuke"}))
            .await,
        400,
        "invalid_input",
        Some("action"),
    );
    assert_error(
        &t.decide(
            &a,
            "domain",
            "block-me.example",
            json!({"action": "block", "expires_at": "2000-01-01"}),
        )
        .await,
        400,
        "invalid_input",
        Some("expires_at"),
    );
    assert_error(
        &t.decide(&c, "domain", "block-me.example", json!({"action": "block"}))
            .await,
        403,
        "forbidden",
        None,
    );
    assert_error(
        &t.decide(
            &a,
            "domain",
            "never-reported.example",
            json!({"action": "block"}),
        )
        .await,
        404,
        "not_found",
        None,
    );
}

#[tokio::test]
async fn allow_listed_values_cannot_be_blocked() {
    let t = start_with_config(
        "hub_hosts = [\"kyojo.example.net\"]\nwarning_host = \"warn.example.net\"\n",
    )
    .await;
    let a = t.member("A", "finance", Role::Curator);
    let admin = t.member("Op", "general", Role::Admin);
    t.share(
        &a,
        report("everything", "GREEN", json!("community"), json!([
            "co.jp", "github.io", "10.1.2.3", {"type": "ipv4", "value": "192.168.0.0/16"}, {"type": "ipv6", "value": "fe80::1"},
            "kyojo.example.net", "warn.example.net", "partner.example", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        ])),
    )
    .await;
    let admin_add = t
        .post(
            "/api/v1/allowlist",
            Some(&admin),
            json!({"value": "partner.example", "comment": "our partner"}),
        )
        .await;
    assert_eq!(admin_add.status, StatusCode::CREATED, "{}", admin_add.text);
    assert_error(
        &t.post("/api/v1/allowlist", Some(&a), json!({"value": "x.example"}))
            .await,
        403,
        "forbidden",
        None,
    );
    assert_error(
        &t.post(
            "/api/v1/allowlist",
            Some(&admin),
            json!({"value": "not a value"}),
        )
        .await,
        400,
        "invalid_input",
        Some("value"),
    );

    let cases = [
        ("domain", "co.jp", "public suffix"),
        ("domain", "github.io", "public suffix"),
        ("ipv4", "10.1.2.3", "10.0.0.0/8"),
        ("ipv4", "192.168.0.0/16", "192.168.0.0/16"),
        ("ipv6", "fe80::1", "link-local"),
        ("domain", "kyojo.example.net", "own host name"),
        ("domain", "warn.example.net", "own host name"),
        ("domain", "partner.example", "our partner"),
        (
            "sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "empty file",
        ),
    ];
    for (kind, value, why) in cases {
        let r = t.decide(&a, kind, value, json!({"action": "block"})).await;
        assert_error(&r, 400, "invalid_input", Some("action"));
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(why), "{value}: {msg}");
    }
    // Allowing is always possible; and removing the operator entry makes the value blockable.
    assert_eq!(
        t.decide(&a, "domain", "co.jp", json!({"action": "allow"}))
            .await
            .status,
        StatusCode::OK
    );
    let del = t
        .call(
            Method::DELETE,
            "/api/v1/allowlist/domain/partner.example",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.decide(&a, "domain", "partner.example", json!({"action": "block"}))
            .await
            .status,
        StatusCode::OK
    );
    let list = t.get("/api/v1/allowlist", Some(&admin)).await;
    assert_eq!(list.body["allowlist"], json!([]));
}

#[tokio::test]
async fn expired_blocks_leave_the_feeds_on_their_own() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Curator);
    let c = t.member("ISP", "telecom", Role::Consumer);
    t.share(
        &a,
        report(
            "r",
            "GREEN",
            json!("community"),
            json!(["short-lived.example", "long-lived.example"]),
        ),
    )
    .await;
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    t.decide(
        &a,
        "domain",
        "short-lived.example",
        json!({"action": "block", "expires_at": soon.to_rfc3339()}),
    )
    .await;
    t.decide(
        &a,
        "domain",
        "long-lived.example",
        json!({"action": "block"}),
    )
    .await;
    assert_eq!(
        lines(&t.feed("domains.txt", Some(&c)).await),
        vec!["long-lived.example", "short-lived.example"]
    );
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    assert_eq!(
        lines(&t.feed("domains.txt", Some(&c)).await),
        vec!["long-lived.example"]
    );
}

#[tokio::test]
async fn lifetimes_are_per_kind_and_configurable() {
    // URLs live 0 days after their last report: a blocked URL is gone at once, a hash stays.
    let t = start_with_config("[lifetimes]\nurl_days = 0\nhash_days = 365\n").await;
    let a = t.member("A", "finance", Role::Curator);
    let c = t.member("ISP", "telecom", Role::Consumer);
    let h = "44d88612fea8a8f36de82e1278abb02f";
    t.share(
        &a,
        report(
            "r",
            "GREEN",
            json!("community"),
            json!(["http://gone.example/x", {"type": "md5", "value": h}]),
        ),
    )
    .await;
    let r = t
        .decide(
            &a,
            "url",
            "http://gone.example/x",
            json!({"action": "block"}),
        )
        .await;
    assert_eq!(r.body["actionable"], false, "{}", r.text);
    t.decide(&a, "md5", h, json!({"action": "block"})).await;
    let csv = t.feed("indicators.csv", Some(&c)).await;
    assert!(csv.contains(h) && !csv.contains("gone.example"), "{csv}");
}

#[tokio::test]
async fn community_rules_make_indicators_actionable() {
    let t = start_with_config("[rules]\ntrusted_orgs = [\"Trusted CERT\"]\nmin_sighting_orgs = 3\nsighting_window_days = 7\n").await;
    let trusted = t.member("Trusted CERT", "government", Role::Analyst);
    let other = t.member("Other", "finance", Role::Analyst);
    let c = t.member("ISP", "telecom", Role::Consumer);
    t.share(
        &trusted,
        report(
            "t",
            "GREEN",
            json!("community"),
            json!(["trusted-says.example"]),
        ),
    )
    .await;
    t.share(
        &trusted,
        report(
            "t",
            "AMBER",
            json!("community"),
            json!(["amber-not-auto.example"]),
        ),
    )
    .await;
    t.share(
        &other,
        report(
            "o",
            "GREEN",
            json!("community"),
            json!(["other-says.example"]),
        ),
    )
    .await;
    for i in 0..3 {
        let s = t.member(&format!("Sensor {i}"), "general", Role::Sensor);
        let r = t
            .post(
                "/api/v1/sightings",
                Some(&s),
                json!([{"type": "ipv4", "value": "45.33.32.156"}]),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        if i < 2 {
            assert!(
                !t.feed("ips.txt", Some(&c)).await.contains("45.33.32.156"),
                "{i} organizations are not enough"
            );
        }
    }
    assert_eq!(
        lines(&t.feed("ips.txt", Some(&c)).await),
        vec!["45.33.32.156"]
    );
    assert_eq!(
        lines(&t.feed("domains.txt", Some(&c)).await),
        vec!["trusted-says.example"]
    );
    let d = t
        .get("/api/v1/indicators/ipv4/45.33.32.156", Some(&other))
        .await;
    assert_eq!(
        d.body["decision"]["reason"],
        "sighted by 3 organizations within 7 days"
    );
    // The public sees no sighting-based entries.
    assert_eq!(lines(&t.feed("ips.txt", None).await), Vec::<String>::new());
}

#[tokio::test]
async fn every_feed_respects_tlp_and_audience() {
    let t = start().await;
    let a = t.member("Owner", "finance", Role::Curator);
    let in_audience = t.member("Bank ISP", "finance", Role::Consumer);
    let outsider = t.member("Water ISP", "water", Role::Consumer);
    let named = t.member("Named", "gas", Role::Consumer);
    let items = |p: &str| json!([format!("{p}.example"), format!("http://{p}.example/x"), {"type": "ipv4", "value": format!("45.33.{}.1", p.len())}]);
    t.share(
        &a,
        report("clear", "CLEAR", json!("community"), items("clear-tlp")),
    )
    .await;
    t.share(
        &a,
        report(
            "amber",
            "AMBER",
            json!({"sectors": ["finance"]}),
            items("amber-tlp-x"),
        ),
    )
    .await;
    t.share(
        &a,
        report(
            "red",
            "RED",
            json!({"orgs": ["Named"]}),
            items("red-tlp-xyz-12"),
        ),
    )
    .await;
    for p in ["clear-tlp", "amber-tlp-x", "red-tlp-xyz-12"] {
        for (kind, value) in [
            ("domain", format!("{p}.example")),
            ("url", format!("http://{p}.example/x")),
            ("ipv4", format!("45.33.{}.1", p.len())),
        ] {
            let r = t.decide(&a, kind, &value, json!({"action": "block"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
    }
    for name in FEEDS {
        let public = t.feed(name, None).await;
        let inside = t.feed(name, Some(&in_audience)).await;
        let out = t.feed(name, Some(&outsider)).await;
        let red_reader = t.feed(name, Some(&named)).await;
        for text in [&public, &inside, &out, &red_reader] {
            assert!(
                !text.contains("red-tlp") && !text.contains("45.33.14.1"),
                "{name}: RED leaked:\n{text}"
            );
        }
        // Plain IP lists name addresses, the others names.
        let (clear_token, amber_token) = match name {
            "ips.txt" => ("45.33.9.1", "45.33.11.1"),
            _ => ("clear-tlp", "amber-tlp-x"),
        };
        assert!(
            public.contains(clear_token),
            "{name}: CLEAR missing for the public:\n{public}"
        );
        assert!(!public.contains(amber_token), "{name}: AMBER public");
        assert!(
            inside.contains(amber_token),
            "{name}: AMBER missing inside the audience:\n{inside}"
        );
        assert!(
            !out.contains(amber_token),
            "{name}: AMBER outside the audience"
        );
        assert!(
            !red_reader.contains(amber_token),
            "{name}: AMBER to a non-audience org"
        );
    }
    // Sensors may not read feeds.
    let s = t.member("S", "general", Role::Sensor);
    assert_error(
        &t.get("/api/v1/feeds/rpz", Some(&s)).await,
        403,
        "forbidden",
        None,
    );
    assert_error(
        &t.get("/api/v1/feeds/nope.txt", Some(&in_audience)).await,
        404,
        "not_found",
        None,
    );
    assert_error(
        &t.get("/api/v1/feeds/rpz?action=drop", Some(&in_audience))
            .await,
        400,
        "invalid_input",
        Some("action"),
    );
    assert_error(
        &t.get("/api/v1/feeds/hosts?sinkhole=nowhere", Some(&in_audience))
            .await,
        400,
        "invalid_input",
        Some("sinkhole"),
    );
}

#[tokio::test]
async fn pollers_get_304_until_something_they_see_changes() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Curator);
    let c = t.member("ISP", "finance", Role::Consumer);
    let outsider = t.member("Far", "water", Role::Consumer);
    t.share(
        &a,
        report(
            "r",
            "GREEN",
            json!("community"),
            json!(["etag-one.example"]),
        ),
    )
    .await;
    t.decide(&a, "domain", "etag-one.example", json!({"action": "block"}))
        .await;
    let get = |tok: String, etag: Option<String>, since: Option<String>| {
        let t = &t;
        async move {
            let mut req = t
                .client
                .get(format!("{}/api/v1/feeds/rpz", t.base))
                .bearer_auth(tok);
            if let Some(e) = etag {
                req = req.header("if-none-match", e);
            }
            if let Some(s) = since {
                req = req.header("if-modified-since", s);
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let etag = r
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_string());
            let lm = r
                .headers()
                .get("last-modified")
                .map(|v| v.to_str().unwrap().to_string());
            (status, etag, lm, r.text().await.unwrap())
        }
    };
    let (s, etag, lm, body) = get(c.clone(), None, None).await;
    assert_eq!(s, StatusCode::OK);
    let etag = etag.unwrap();
    let serial = |b: &str| -> u64 {
        let soa = b.lines().find(|l| l.contains("SOA")).unwrap().to_string();
        let tail = &soa[soa.find('(').unwrap() + 1..];
        tail.split_whitespace().next().unwrap().parse().unwrap()
    };
    let first_serial = serial(&body);
    let (s, etag2, _, body2) = get(c.clone(), Some(etag.clone()), None).await;
    assert_eq!(
        (s, etag2.as_deref(), body2.as_str()),
        (StatusCode::NOT_MODIFIED, Some(etag.as_str()), "")
    );
    let (s, _, _, _) = get(c.clone(), None, lm.clone()).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    // A change the poller cannot see (an AMBER report for water) keeps its 304.
    t.share(
        &a,
        report(
            "w",
            "AMBER",
            json!({"sectors": ["water"]}),
            json!(["water-only.example"]),
        ),
    )
    .await;
    t.decide(
        &a,
        "domain",
        "water-only.example",
        json!({"action": "block"}),
    )
    .await;
    assert_eq!(
        get(c.clone(), Some(etag.clone()), None).await.0,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(get(outsider.clone(), None, None).await.0, StatusCode::OK);
    // A change it can see: new content, new ETag, a higher serial.
    t.share(
        &a,
        report(
            "r2",
            "GREEN",
            json!("community"),
            json!(["etag-two.example"]),
        ),
    )
    .await;
    t.decide(&a, "domain", "etag-two.example", json!({"action": "block"}))
        .await;
    let (s, etag3, _, body3) = get(c.clone(), Some(etag.clone()), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(etag3.unwrap(), etag);
    assert!(
        serial(&body3) > first_serial,
        "serial must increase: {first_serial} -> {}",
        serial(&body3)
    );
    assert!(body3.contains("etag-two.example"));
}

#[tokio::test]
async fn hostile_stored_names_never_reach_a_zone() {
    let t = start().await;
    if t.on_postgres() {
        // Writes SQLite directly; the re-validation it tests is store-independent.
        eprintln!("skipped on PostgreSQL: writes the SQLite file directly");
        return;
    }
    let a = t.member("A", "finance", Role::Curator);
    let c = t.member("ISP", "finance", Role::Consumer);
    t.share(
        &a,
        report("r", "GREEN", json!("community"), json!(["fine.example"])),
    )
    .await;
    t.decide(&a, "domain", "fine.example", json!({"action": "block"}))
        .await;
    // Values that canonicalization would never produce, written straight into the database.
    let conn = rusqlite::Connection::open(t.dir.path().join("kyojo.sqlite")).unwrap();
    let report_id: i64 = conn
        .query_row("SELECT id FROM reports", [], |r| r.get(0))
        .unwrap();
    for (i, evil) in [
        "evil.example\n$INCLUDE /etc/passwd",
        "evil.example. ",
        "other.zone.",
        "a;b.example",
        "$ORIGIN.example",
        "x y.example",
    ]
    .iter()
    .enumerate()
    {
        conn.execute(
            "INSERT INTO indicators (kind, value, created_at) VALUES ('domain', ?1, 0)",
            [evil],
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO report_indicators (report_id, indicator_id, position) VALUES (?1, ?2, ?3)",
            rusqlite::params![report_id, id, 10 + i as i64],
        )
        .unwrap();
        conn.execute("INSERT INTO decisions (indicator_id, action, comment, expires_at, scope_seal, created_at) VALUES (?1, 'block', '', NULL, NULL, 0)", rusqlite::params![id]).unwrap();
    }
    // Any write makes the hub look again.
    t.share(
        &a,
        report(
            "r2",
            "GREEN",
            json!("community"),
            json!(["trigger.example"]),
        ),
    )
    .await;
    for name in ["rpz", "hosts", "domains.txt"] {
        let text = t.feed(name, Some(&c)).await;
        assert!(text.contains("fine.example"), "{name}: {text}");
        for bad in ["$INCLUDE", "passwd", "other.zone", "a;b", "$ORIGIN", "x y"] {
            assert!(!text.contains(bad), "{name} contains {bad:?}:\n{text}");
        }
    }
}

#[tokio::test]
async fn private_url_checks_reveal_only_prefixes() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Curator);
    let c = t.member("ISP", "finance", Role::Consumer);
    t.share(
        &a,
        report(
            "r",
            "GREEN",
            json!("community"),
            json!(["http://phish.example/login/", "bad-host.example"]),
        ),
    )
    .await;
    t.decide(
        &a,
        "url",
        "http://phish.example/login/",
        json!({"action": "block"}),
    )
    .await;
    let first = t.get("/api/v1/hashes/prefixes", Some(&c)).await;
    assert_eq!(first.body["full"], true);
    assert_eq!(first.body["prefixes"].as_array().unwrap().len(), 1);
    let v1 = first.body["version"].as_u64().unwrap();
    t.decide(&a, "domain", "bad-host.example", json!({"action": "block"}))
        .await;
    let diff = t
        .get(&format!("/api/v1/hashes/prefixes?since={v1}"), Some(&c))
        .await;
    assert_eq!(diff.body["full"], false, "{}", diff.text);
    assert_eq!(diff.body["additions"].as_array().unwrap().len(), 1);
    assert_eq!(diff.body["removals"], json!([]));
    let v2 = diff.body["version"].as_u64().unwrap();
    assert!(v2 > v1);
    let same = t
        .get(&format!("/api/v1/hashes/prefixes?since={v2}"), Some(&c))
        .await;
    assert_eq!(
        (
            same.body["additions"].clone(),
            same.body["removals"].clone()
        ),
        (json!([]), json!([]))
    );
    let unknown = t.get("/api/v1/hashes/prefixes?since=1", Some(&c)).await;
    assert_eq!(unknown.body["full"], true);

    // Full hashes come back for a prefix; the client compares them itself.
    let expr_hash = kyojo_core::url::full_hash("phish.example/login/");
    let prefix = hex::encode(&expr_hash[..4]);
    let r = t
        .post(
            "/api/v1/hashes:search",
            Some(&c),
            json!({"prefixes": [prefix, "00000000"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["matches"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["matches"][0]["full_hash"], hex::encode(expr_hash));
    assert_eq!(r.body["matches"][0]["threat_type"], "phishing");
    assert_error(
        &t.post(
            "/api/v1/hashes:search",
            Some(&c),
            json!({"prefixes": ["xyz"]}),
        )
        .await,
        400,
        "invalid_input",
        Some("prefixes[0]"),
    );
    // Outside the audience of what is listed, nothing matches.
    let public = t
        .post(
            "/api/v1/hashes:search",
            None,
            json!({"prefixes": [hex::encode(&expr_hash[..4])]}),
        )
        .await;
    assert_eq!(public.body["matches"], json!([]));
}

#[tokio::test]
async fn the_warning_page_speaks_both_languages_and_says_only_what_is_public() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Curator);
    t.share(
        &a,
        report(
            "clear",
            "CLEAR",
            json!("community"),
            json!(["public-phish.example"]),
        ),
    )
    .await;
    t.decide(
        &a,
        "domain",
        "public-phish.example",
        json!({"action": "block"}),
    )
    .await;
    let mut amber = report(
        "amber",
        "AMBER",
        json!("community"),
        json!(["amber-phish.example"]),
    );
    amber["incident_type"] = json!("ransomware");
    t.share(&a, amber).await;
    t.decide(
        &a,
        "domain",
        "amber-phish.example",
        json!({"action": "block"}),
    )
    .await;

    let page = |host: &str, lang: &str| {
        let url = format!("{}/warn?host={host}", t.base);
        let lang = lang.to_string();
        let client = t.client.clone();
        async move {
            let r = client
                .get(url)
                .header("accept-language", lang)
                .send()
                .await
                .unwrap();
            let csp = r
                .headers()
                .get("content-security-policy")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            assert!(csp.contains("default-src 'none'"));
            (r.status(), r.text().await.unwrap())
        }
    };
    let (s, en) = page("www.public-phish.example", "en-US,en;q=0.9").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        en.contains("<html lang=\"en\"") && en.contains("Phishing"),
        "{en}"
    );
    let (_, ja) = page("public-phish.example", "ja,en;q=0.5").await;
    assert!(
        ja.contains("<html lang=\"ja\"") && ja.contains("フィッシング"),
        "{ja}"
    );
    // AMBER: the page neither names the threat nor the reporter.
    let (_, amber_page) = page("amber-phish.example", "en").await;
    assert!(
        !amber_page.contains("Ransomware") && !amber_page.contains(">A<"),
        "{amber_page}"
    );
    // Hostile input is escaped.
    let (_, hostile) = page("%3Cscript%3Ealert(1)%3C/script%3E", "en").await;
    assert!(!hostile.contains("<script>") && hostile.contains("&lt;script&gt;"));
    // No external resources.
    for p in [&en, &ja] {
        assert!(
            !p.contains("http://") && !p.contains("https://") && !p.contains("src=\"//"),
            "{p}"
        );
    }
}

#[tokio::test]
async fn a_slow_snapshot_is_served_on_after_new_reports_never_after_a_withdrawal() {
    let t = start_with_config("[rules]\ntrusted_orgs = [\"Trusted CERT\"]\n").await;
    // Every snapshot counts as slow: the path a large, busy hub takes.
    t.hub.set_slow_threshold(std::time::Duration::ZERO);
    let cert = t.member("Trusted CERT", "government", Role::Analyst);
    let isp = t.member("ISP", "telecom", Role::Consumer);
    let first = t
        .share(
            &cert,
            report(
                "one",
                "GREEN",
                json!("community"),
                json!(["first.slow.example"]),
            ),
        )
        .await;
    let before = t.feed("domains.txt", Some(&isp)).await;
    assert!(before.contains("first.slow.example"), "{before}");

    // A new report only adds: the slow snapshot is served on until the
    // refresher replaces it.
    let second = t
        .share(
            &cert,
            report(
                "two",
                "GREEN",
                json!("community"),
                json!(["second.slow.example"]),
            ),
        )
        .await;
    assert_eq!(t.feed("domains.txt", Some(&isp)).await, before);

    // A withdrawal narrows: the very next feed no longer has its indicator
    // (the snapshot is patched: those indicators judged afresh)...
    let r = t
        .call(
            Method::DELETE,
            &format!("/api/v1/reports/{first}"),
            Some(&cert),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let after = t.feed("domains.txt", Some(&isp)).await;
    assert!(!after.contains("first.slow.example"), "{after}");
    // ...while the additions still wait for the refresher, which rebuilds a
    // stale snapshot once it has rested for four build times (at least 1 s).
    assert!(!after.contains("second.slow.example"), "{after}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let hub = t.hub.clone();
    tokio::task::spawn_blocking(move || hub.refresh_snapshot())
        .await
        .unwrap()
        .unwrap();
    let refreshed = t.feed("domains.txt", Some(&isp)).await;
    assert!(!refreshed.contains("first.slow.example"), "{refreshed}");
    assert!(refreshed.contains("second.slow.example"), "{refreshed}");

    // Narrowed by an edit (RED, for the CERT alone): out of the ISP's feed at once.
    let cert_org = t.hub.org_by_name("Trusted CERT").unwrap().unwrap().id;
    let r = t
        .call(
            Method::PATCH,
            &format!("/api/v1/reports/{second}"),
            Some(&cert),
            Some(json!({"tlp": "RED", "audience": {"orgs": ["Trusted CERT"]}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{} (org {cert_org})", r.text);
    let narrowed = t.feed("domains.txt", Some(&isp)).await;
    assert!(!narrowed.contains("second.slow.example"), "{narrowed}");
}

/// Each feed's `X-Kyojo-Entries` counts what that feed holds, not every
/// entry the viewer may see: the RPZ zone leaves URLs out, `urls.txt` keeps
/// only them.
#[tokio::test]
async fn each_feed_counts_its_own_entries() {
    let t = start().await;
    let a = t.member("Count Org", "finance", Role::Analyst);
    t.share(
        &a,
        report(
            "counted",
            "GREEN",
            json!("community"),
            json!([
                "count-a.example",
                "count-b.example",
                "http://count-c.example/x"
            ]),
        ),
    )
    .await;
    for value in ["count-a.example", "count-b.example"] {
        t.decide(
            &a,
            "domain",
            value,
            json!({"action": "block", "scope": "own"}),
        )
        .await;
    }
    t.decide(
        &a,
        "url",
        "http://count-c.example/x",
        json!({"action": "block", "scope": "own"}),
    )
    .await;
    let count = |r: &Resp| -> usize {
        r.headers["x-kyojo-entries"]
            .to_str()
            .expect("header")
            .parse()
            .expect("number")
    };
    let urls = t.get("/api/v1/feeds/urls.txt", Some(&a)).await;
    let domains = t.get("/api/v1/feeds/domains.txt", Some(&a)).await;
    assert_eq!(
        count(&urls),
        urls.text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count()
    );
    assert_eq!(
        count(&domains),
        domains
            .text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count()
    );
    assert_ne!(count(&urls), count(&domains));
}
