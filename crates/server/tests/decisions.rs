//! Whose feeds a decision changes, and what a decision may reveal: an
//! organization's own decisions reach its own feeds only and are shown to
//! nobody else; hub-wide ones are the curators' and name no organization;
//! nothing one analyst does can put a public resolver, a warninglisted value
//! or a huge network into every member's block feeds.

mod common;

use common::*;
use kyojo_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn sight(t: &TestHub, token: &str, kind: &str, value: &str) {
    let r = t
        .post(
            "/api/v1/sightings",
            Some(token),
            json!([{"type": kind, "value": value, "count": 1}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// Every string in a JSON value, for "does this name appear anywhere".
fn mentions(v: &Value, needle: &str) -> bool {
    v.to_string().contains(needle)
}

#[tokio::test]
async fn an_anonymous_author_is_not_named_by_its_own_decision() {
    let t = start().await;
    let author = t.member("Secret Bank", "finance", Role::Analyst);
    let other = t.member("Other Bank", "finance", Role::Analyst);
    let curator = t.member("Hub Staff", "general", Role::Curator);
    let mut body = report(
        "anon",
        "GREEN",
        json!("community"),
        json!(["anon-only.example", "anon-hub.example"]),
    );
    body["anonymous"] = json!(true);
    t.share(&author, body).await;
    for action in ["block", "allow", "unset", "block"] {
        let r = t
            .decide(
                &author,
                "domain",
                "anon-only.example",
                json!({"action": action, "comment": "ours"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(!mentions(&r.body, "Secret Bank"), "{}", r.text);
    }
    let r = t
        .decide(
            &curator,
            "domain",
            "anon-hub.example",
            json!({"action": "block", "comment": "hub"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Another member sees neither the author's decisions nor any name.
    let d = t
        .get("/api/v1/indicators/domain/anon-only.example", Some(&other))
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(d.body["decision"]["history"], json!([]), "{}", d.text);
    assert!(!mentions(&d.body, "Secret Bank"), "{}", d.text);
    let d = t
        .get("/api/v1/indicators/domain/anon-hub.example", Some(&other))
        .await;
    let history = d.body["decision"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{}", d.text);
    assert_eq!(history[0]["by"], "hub");
    assert!(!mentions(&d.body, "Hub Staff") && !mentions(&d.body, "Secret Bank"));
    // The author sees its own, as its own.
    let d = t
        .get("/api/v1/indicators/domain/anon-only.example", Some(&author))
        .await;
    let history = d.body["decision"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 4, "{}", d.text);
    assert!(history.iter().all(|h| h["by"] == "your organization"));

    // Nor can the database join a decision to its maker.
    if !t.on_postgres() {
        let conn = rusqlite::Connection::open(t.dir.path().join("kyojo.sqlite")).unwrap();
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('decisions')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(!columns.iter().any(|c| c.contains("org")), "{columns:?}");
        let org_ids: Vec<i64> = conn
            .prepare("SELECT id FROM orgs")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let seals: Vec<Option<Vec<u8>>> = conn
            .prepare("SELECT scope_seal FROM decisions")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(seals.len(), 5);
        for seal in seals.iter().flatten() {
            assert_eq!(seal.len(), 32);
            for id in &org_ids {
                assert!(!seal.windows(8).any(|w| w == id.to_be_bytes()));
            }
        }
    }
}

/// One organization's own decisions on two values carry two unrelated
/// seals (a stolen database cannot group them by maker), and decisions
/// stored with the older per-organization seal still apply to that
/// organization's feeds.
#[tokio::test]
async fn own_decisions_on_two_values_share_no_seal_and_older_seals_still_apply() {
    use kyojo_core::observable::{canonicalize, Kind};
    use kyojo_store::DecisionScope;
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    let a_feed = t.member("A", "finance", Role::Consumer);
    let b_feed = t.member("B", "water", Role::Consumer);
    t.share(
        &a,
        report(
            "r",
            "GREEN",
            json!("community"),
            json!(["x.example", "y.example", "z.example"]),
        ),
    )
    .await;
    for v in ["x.example", "y.example"] {
        let r = t.decide(&a, "domain", v, json!({"action": "block"})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let store = t.hub.store();
    let seal_of = |v: &str| -> Vec<[u8; 32]> {
        let id = store.indicator(Kind::Domain, v).unwrap().unwrap().id;
        store
            .decisions_of(id)
            .unwrap()
            .into_iter()
            .filter_map(|d| match d.scope {
                DecisionScope::Own(seal) => Some(seal),
                DecisionScope::Hub => None,
            })
            .collect()
    };
    let (x, y) = (seal_of("x.example"), seal_of("y.example"));
    assert_eq!((x.len(), y.len()), (1, 1));
    assert_ne!(
        x[0], y[0],
        "one organization's decisions on two values share a seal"
    );

    // A block stored with the older seal, then any write on the value.
    let org = t.hub.org_by_name("A").unwrap().unwrap().id;
    let z = canonicalize(Kind::Domain, "z.example").unwrap();
    let z_id = store
        .indicator(Kind::Domain, "z.example")
        .unwrap()
        .unwrap()
        .id;
    store
        .add_decision(
            z_id,
            kyojo_core::decide::Action::Block,
            "before per-value seals",
            None,
            DecisionScope::Own(t.hub.policy().legacy_decision_seal(org)),
            kyojo_hub::hub::now_millis(),
        )
        .unwrap();
    let r = t
        .post(
            "/api/v1/sightings",
            Some(&t.member("A", "finance", Role::Sensor)),
            json!([{"type": "domain", "value": z.value, "count": 1}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mine = t.feed("domains.txt", Some(&a_feed)).await;
    for v in ["x.example", "y.example", "z.example"] {
        assert!(mine.contains(v), "{v} not in A's feed:\n{mine}");
    }
    let theirs = t.feed("domains.txt", Some(&b_feed)).await;
    assert!(!theirs.contains("z.example"), "{theirs}");
    let d = t.get("/api/v1/indicators/domain/z.example", Some(&a)).await;
    assert_eq!(
        d.body["decision"]["history"][0]["by"], "your organization",
        "{}",
        d.text
    );
}

#[tokio::test]
async fn red_never_leaks_through_a_sighting() {
    let t = start().await;
    let red_author = t.member("Red Author", "finance", Role::Analyst);
    let _named = t.member("Named", "finance", Role::Analyst);
    let outsider = t.member("Outsider", "water", Role::Analyst);
    let outsider_sensor = t.member("Outsider", "water", Role::Sensor);
    let outsider_feed = t.member("Outsider", "water", Role::Consumer);
    t.share(
        &red_author,
        report(
            "red",
            "RED",
            json!({"orgs": ["Named"]}),
            json!(["red-secret.example"]),
        ),
    )
    .await;
    let r = t
        .decide(
            &red_author,
            "domain",
            "red-secret.example",
            json!({"action": "block", "comment": "from our RED case 42"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The outsider sights the value once: it may see the indicator, but
    // nothing the RED author said or did.
    sight(&t, &outsider_sensor, "domain", "red-secret.example").await;
    let d = t
        .get(
            "/api/v1/indicators/domain/red-secret.example",
            Some(&outsider),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(d.body["decision"]["history"], json!([]), "{}", d.text);
    assert_eq!(d.body["decision"]["actionable"], false, "{}", d.text);
    for needle in ["Red Author", "case 42"] {
        assert!(!mentions(&d.body, needle), "{needle}: {}", d.text);
    }
    for name in ["indicators.csv", "domains.txt", "rpz", "hosts"] {
        let text = t.feed(name, Some(&outsider_feed)).await;
        assert!(!text.contains("red-secret"), "{name}:\n{text}");
    }
}

#[tokio::test]
async fn a_trusted_report_reaches_only_the_feeds_of_those_who_may_read_it() {
    let t = start_with_config("[rules]\ntrusted_orgs = [\"Trusted CERT\"]\n").await;
    let cert = t.member("Trusted CERT", "government", Role::Analyst);
    let finance_feed = t.member("Bank", "finance", Role::Consumer);
    let water_sensor = t.member("Water", "water", Role::Sensor);
    let water_feed = t.member("Water", "water", Role::Consumer);
    t.share(
        &cert,
        report(
            "for finance",
            "GREEN",
            json!({"sectors": ["finance"]}),
            json!(["finance-only.example"]),
        ),
    )
    .await;
    sight(&t, &water_sensor, "domain", "finance-only.example").await;
    assert!(t
        .feed("domains.txt", Some(&finance_feed))
        .await
        .contains("finance-only.example"));
    for name in ["domains.txt", "indicators.csv"] {
        let text = t.feed(name, Some(&water_feed)).await;
        assert!(!text.contains("finance-only"), "{name}:\n{text}");
    }
}

#[tokio::test]
async fn own_decisions_change_own_feeds_and_hub_ones_every_member() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    let a_feed = t.member("A", "finance", Role::Consumer);
    let b_feed = t.member("B", "water", Role::Consumer);
    let curator = t.member("Hub Staff", "general", Role::Curator);
    t.share(
        &a,
        report(
            "r",
            "GREEN",
            json!("community"),
            json!(["own.example", "hub.example"]),
        ),
    )
    .await;
    // An analyst may not decide for everyone.
    assert_error(
        &t.decide(
            &a,
            "domain",
            "own.example",
            json!({"action": "block", "scope": "hub"}),
        )
        .await,
        403,
        "forbidden",
        None,
    );
    assert_error(
        &t.decide(
            &a,
            "domain",
            "own.example",
            json!({"action": "block", "scope": "everyone"}),
        )
        .await,
        400,
        "invalid_input",
        Some("scope"),
    );
    // Its own block: its feeds only.
    let r = t
        .decide(&a, "domain", "own.example", json!({"action": "block"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["actionable"], true, "{}", r.text);
    assert!(t
        .feed("domains.txt", Some(&a_feed))
        .await
        .contains("own.example"));
    assert!(!t
        .feed("domains.txt", Some(&b_feed))
        .await
        .contains("own.example"));
    // The curator's block: everyone's; the member's own allow wins in its own feeds.
    let r = t
        .decide(
            &curator,
            "domain",
            "hub.example",
            json!({"action": "block"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(t
        .feed("domains.txt", Some(&b_feed))
        .await
        .contains("hub.example"));
    assert!(t
        .feed("domains.txt", Some(&a_feed))
        .await
        .contains("hub.example"));
    let r = t
        .decide(&a, "domain", "hub.example", json!({"action": "allow"}))
        .await;
    assert_eq!(r.body["actionable"], false, "{}", r.text);
    assert!(!t
        .feed("domains.txt", Some(&a_feed))
        .await
        .contains("hub.example"));
    assert!(t
        .feed("domains.txt", Some(&b_feed))
        .await
        .contains("hub.example"));
    // Unset hands it back to the hub.
    t.decide(&a, "domain", "hub.example", json!({"action": "unset"}))
        .await;
    assert!(t
        .feed("domains.txt", Some(&a_feed))
        .await
        .contains("hub.example"));
}

#[tokio::test]
async fn nobody_blocks_resolvers_warninglisted_values_or_huge_networks() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.json");
    std::fs::write(
        &list,
        r#"{"name": "Known CDNs", "type": "hostname", "version": 1, "description": "t", "list": ["cdn.example"]}"#,
    )
    .unwrap();
    let t = start_with_config(&format!(
        "[decisions]\nblocks_per_hour = 4\nwarninglists = [{:?}]\n[rules]\ntrusted_orgs = [\"CERT\"]\n",
        list.display().to_string()
    ))
    .await;
    let cert = t.member("CERT", "government", Role::Curator);
    let feed_token = t.member("ISP", "telecom", Role::Consumer);
    t.share(
        &cert,
        report(
            "wide",
            "GREEN",
            json!("community"),
            json!([
                {"type": "ipv4", "value": "64.0.0.0/3"},
                {"type": "ipv4", "value": "128.0.0.0/5"},
                {"type": "ipv4", "value": "1.0.0.0/8"},
                "8.8.8.8",
                "img.cdn.example",
                {"type": "ipv4", "value": "45.33.0.0/16"},
                "a.example", "b.example", "c.example"
            ]),
        ),
    )
    .await;
    // The trusted report made none of the refused ones actionable.
    let ips = t.feed("ips.txt", Some(&feed_token)).await;
    assert!(ips.contains("45.33.0.0/16"), "{ips}");
    for bad in ["64.0.0.0", "128.0.0.0", "1.0.0.0", "8.8.8.8"] {
        assert!(!ips.contains(bad), "{bad}:\n{ips}");
    }
    assert!(!t
        .feed("domains.txt", Some(&feed_token))
        .await
        .contains("cdn.example"));
    for (kind, value, why) in [
        // A /3 holds public resolvers too: either reason refuses it.
        ("ipv4", "64.0.0.0/3", "never blockable"),
        ("ipv4", "128.0.0.0/5", "wider"),
        ("ipv4", "1.0.0.0/8", "never blockable"),
        ("ipv4", "8.8.8.8", "public DNS resolver"),
    ] {
        let r = t
            .decide(&cert, kind, value, json!({"action": "block"}))
            .await;
        assert_error(&r, 400, "invalid_input", Some("action"));
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(why), "{value}: {msg}");
    }
    // A list the operator loaded yields to an explicit block, and says so.
    let r = t
        .decide(
            &cert,
            "domain",
            "img.cdn.example",
            json!({"action": "block"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("Known CDNs"), "{}", r.text);
    assert!(t
        .feed("domains.txt", Some(&feed_token))
        .await
        .contains("img.cdn.example"));
    // Four blocks an hour, then a clear refusal.
    for v in ["a.example", "b.example", "c.example"] {
        let r = t
            .decide(&cert, "domain", v, json!({"action": "unset"}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "unset is free: {}", r.text);
        let r = t
            .decide(&cert, "domain", v, json!({"action": "block"}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = t
        .decide(&cert, "ipv4", "45.33.0.0/16", json!({"action": "block"}))
        .await;
    assert_error(&r, 429, "limit_reached", None);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("blocks_per_hour"));
}

/// With no configuration at all, MISP's lists of public resolvers and
/// sinkholes (embedded in the binary) keep their values out of every feed
/// and refuse a block, naming the list; `default_warninglists = []` turns
/// them off.
#[tokio::test]
async fn the_embedded_warninglists_apply_by_default_and_can_be_turned_off() {
    // Values only the embedded lists name (not the built-in resolvers).
    let listed = [
        ("ipv4", "87.255.51.229", "List of known sinkholes"),
        (
            "ipv4",
            "1.0.153.172",
            "List of known IPv4 public DNS resolvers",
        ),
        (
            "domain",
            "resolver1.opendns.com",
            "List of known public DNS resolvers expressed as hostname",
        ),
    ];
    let values: Vec<Value> = listed
        .iter()
        .map(|(k, v, _)| json!({"type": k, "value": v}))
        .chain([json!("still-blocked.example")])
        .collect();
    for (config, applied) in [
        ("[rules]\ntrusted_orgs = [\"CERT\"]\n", true),
        (
            "[decisions]\ndefault_warninglists = []\n[rules]\ntrusted_orgs = [\"CERT\"]\n",
            false,
        ),
    ] {
        let t = start_with_config(config).await;
        let cert = t.member("CERT", "government", Role::Curator);
        let isp = t.member("ISP", "telecom", Role::Consumer);
        let lists = t.get("/api/v1/warninglists", Some(&cert)).await;
        assert_eq!(lists.status, StatusCode::OK, "{}", lists.text);
        let ids: Vec<&str> = lists.body["warninglists"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        if applied {
            assert_eq!(
                ids,
                [
                    "public-dns-v4",
                    "public-dns-v6",
                    "public-dns-hostname",
                    "sinkholes"
                ]
            );
            assert_eq!(lists.body["warninglists"][0]["origin"], "embedded");
            assert_eq!(lists.body["warninglists"][0]["entries"], 62_745);
        } else {
            assert!(ids.is_empty(), "{}", lists.text);
        }
        assert_eq!(t.get("/api/v1/warninglists", None).await.status, 401);
        t.share(
            &cert,
            report("listed", "GREEN", json!("community"), json!(values.clone())),
        )
        .await;
        let feeds = t.feed("ips.txt", Some(&isp)).await + &t.feed("domains.txt", Some(&isp)).await;
        assert!(feeds.contains("still-blocked.example"), "{feeds}");
        for (kind, value, list) in listed {
            assert_eq!(!feeds.contains(value), applied, "{value} in\n{feeds}");
            let ind = t
                .get(&format!("/api/v1/indicators/{kind}/{value}"), Some(&cert))
                .await;
            assert_eq!(ind.status, StatusCode::OK, "{}", ind.text);
            assert_eq!(ind.text.contains(list), applied, "{value}: {}", ind.text);
            let r = t
                .decide(&cert, kind, value, json!({"action": "block"}))
                .await;
            if applied {
                assert_error(&r, 400, "invalid_input", Some("action"));
                let msg = r.body["error"]["message"].as_str().unwrap();
                assert!(msg.contains(list), "{value}: {msg}");
            } else {
                assert_eq!(r.status, StatusCode::OK, "{value}: {}", r.text);
            }
        }
    }
}

#[tokio::test]
async fn a_large_feed_change_waits_for_the_operator_but_a_withdrawal_never_does() {
    let t = start_with_config(
        "[decisions]\nfeed_change_guard = 0.5\nfeed_guard_floor = 4\n[rules]\ntrusted_orgs = [\"CERT\"]\n",
    )
    .await;
    let admin = t.member("Hub Operator", "general", Role::Admin);
    let cert = t.member("CERT", "government", Role::Analyst);
    let isp = t.member("ISP", "telecom", Role::Consumer);
    let domains =
        |p: &str, n: usize| -> Vec<String> { (0..n).map(|i| format!("{p}-{i}.example")).collect() };
    let count = |text: &str, p: &str| text.lines().filter(|l| l.starts_with(p)).count();
    t.share(
        &cert,
        report(
            "first",
            "GREEN",
            json!("community"),
            json!(domains("base", 4)),
        ),
    )
    .await;
    assert_eq!(count(&t.feed("domains.txt", Some(&isp)).await, "base-"), 4);

    // Ten more at once: more than half of four. Held, and shown as held.
    t.share(
        &cert,
        report(
            "bulk",
            "GREEN",
            json!("community"),
            json!(domains("bulk", 10)),
        ),
    )
    .await;
    let text = t.feed("domains.txt", Some(&isp)).await;
    assert_eq!(
        (count(&text, "base-"), count(&text, "bulk-")),
        (4, 0),
        "{text}"
    );
    let g = t.get("/api/v1/feed-guard", Some(&admin)).await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text);
    assert_eq!(g.body["held"], true, "{}", g.text);
    assert_eq!(g.body["pending"]["added"], 10);
    assert_error(
        &t.get("/api/v1/feed-guard", Some(&cert)).await,
        403,
        "forbidden",
        None,
    );
    let c = t
        .post("/api/v1/feed-guard/confirm", Some(&admin), json!({}))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(count(&t.feed("domains.txt", Some(&isp)).await, "bulk-"), 10);
    let g = t.get("/api/v1/feed-guard", Some(&admin)).await;
    assert_eq!(g.body["held"], false, "{}", g.text);
    assert_error(
        &t.post("/api/v1/feed-guard/confirm", Some(&admin), json!({}))
            .await,
        409,
        "conflict",
        None,
    );

    // Withdrawing the bulk report removes ten of fourteen at once: a
    // narrowing write, so it is never held.
    let bulk_id = t.get("/api/v1/reports", Some(&cert)).await.body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"] == "bulk")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = t
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/reports/{bulk_id}"),
            Some(&cert),
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{}", d.text);
    let text = t.feed("domains.txt", Some(&isp)).await;
    assert_eq!(
        (count(&text, "base-"), count(&text, "bulk-")),
        (4, 0),
        "{text}"
    );
    let g = t.get("/api/v1/feed-guard", Some(&admin)).await;
    assert_eq!(g.body["held"], false, "{}", g.text);

    // The operator allows three of four hub-wide: held until confirmed.
    for v in &domains("base", 4)[..3] {
        let r = t
            .decide(&admin, "domain", v, json!({"action": "allow"}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_eq!(count(&t.feed("domains.txt", Some(&isp)).await, "base-"), 4);
    let g = t.get("/api/v1/feed-guard", Some(&admin)).await;
    assert_eq!(g.body["pending"]["removed"], 3, "{}", g.text);
    t.post("/api/v1/feed-guard/confirm", Some(&admin), json!({}))
        .await;
    assert_eq!(count(&t.feed("domains.txt", Some(&isp)).await, "base-"), 1);
}
