//! The edge under abuse, over real loopback connections: forged tokens,
//! connection floods, half-sent requests, oversized and over-long input.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{start, start_with_config, TestHub};
use kyojo_core::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn addr(t: &TestHub) -> SocketAddr {
    t.base
        .strip_prefix("http://")
        .expect("http base")
        .parse()
        .expect("socket address")
}

/// A client whose connections come from another loopback address.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse().expect("ip")))
        .build()
        .expect("client")
}

/// A TCP connection to the hub from `from` (a loopback address).
async fn connect_from(t: &TestHub, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{from}:0").parse().expect("bind address"))
        .expect("bind");
    socket.connect(addr(t)).await.expect("connect")
}

/// Sends raw bytes and reads until the server closes (or 10 s pass):
/// (status, body as JSON or Null, whole text).
async fn raw(t: &TestHub, request: &[u8]) -> (u16, Value, String) {
    let mut s = TcpStream::connect(addr(t)).await.expect("connect");
    let _ = s.write_all(request).await;
    read_response(&mut s).await
}

async fn read_response(s: &mut TcpStream) -> (u16, Value, String) {
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut chunk = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                // A complete response with a Content-Length is enough.
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(usize::MAX);
                    if body.len() >= len {
                        break;
                    }
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body, text)
}

/// Waits (up to `limit`) for the server to close `s`; how long it took.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

fn forged(public_id: &str) -> String {
    format!("kyj_{public_id}_{:064x}", rand::random::<u128>())
}

// ---- (a) the rate limiter ------------------------------------------------------------

#[tokio::test]
async fn forged_tokens_with_a_victims_public_id_do_not_limit_the_victim() {
    let t = start_with_config("rate_limit_per_second = 0.01\nrate_limit_burst = 5.0\n").await;
    let victim = t.member("Victim", "finance", Role::Analyst);
    let victim_id = victim.split('_').nth(1).expect("public id").to_string();
    assert_eq!(
        t.get("/api/v1/me", Some(&victim)).await.status,
        StatusCode::OK
    );
    // The public id is no secret (the audit log shows it); the attacker
    // presents it with made-up secrets from another address.
    let attacker = client_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let r = attacker
            .get(format!("{}/api/v1/me", t.base))
            .bearer_auth(forged(&victim_id))
            .send()
            .await
            .expect("attacker request");
        statuses.push(r.status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    for _ in 0..3 {
        let r = t.get("/api/v1/me", Some(&victim)).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "the victim was limited: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn a_flood_of_distinct_forged_tokens_is_cheap_and_leaves_the_limiter_bounded() {
    let t = start().await;
    let analyst = t.member("A", "finance", Role::Analyst);
    assert_eq!(
        t.get("/api/v1/me", Some(&analyst)).await.status,
        StatusCode::OK
    );
    let mut refused_early = 0;
    for _ in 0..400 {
        let id = format!("{:016x}", rand::random::<u64>());
        let r = t.get("/api/v1/me", Some(&forged(&id))).await;
        assert!(r.status == 401 || r.status == 429, "{}", r.text);
        if r.status == 429 {
            refused_early += 1;
        }
    }
    // One address: its bucket and its failure budget; never one per token.
    let entries = t.hub.metrics.rate_limit_entries();
    assert!(
        entries <= 4,
        "{entries} limiter entries after 400 forged tokens"
    );
    // Only a small budget of them cost a verification (hash and store read).
    let failures = t.hub.metrics.auth_failures.get();
    assert!(failures <= 60, "{failures} verifications of forged tokens");
    assert!(
        refused_early >= 300,
        "{refused_early} refused before verification"
    );
    // A token verified before still works from the same address.
    assert_eq!(
        t.get("/api/v1/me", Some(&analyst)).await.status,
        StatusCode::OK
    );
}

/// An address that keeps flooding bad tokens past its failure budget has
/// its refusals held back (tarpitted), which caps what the flood costs; a
/// valid token from the same address (users behind one NAT) is never held,
/// and other addresses are untouched.
#[tokio::test]
async fn a_flood_of_bad_tokens_is_tarpitted_but_valid_tokens_from_that_address_are_not() {
    let t = start().await;
    let neighbour = t.member("Behind the same NAT", "finance", Role::Analyst);
    let elsewhere = t.member("Elsewhere", "telecom", Role::Analyst);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (base, stop) = (t.base.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let attacker = client_from("127.0.0.2");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = format!("{:016x}", rand::random::<u64>());
                let r = attacker
                    .get(format!("{base}/api/v1/me"))
                    .bearer_auth(forged(&id))
                    .send()
                    .await
                    .expect("attacker request");
                assert!(matches!(r.status().as_u16(), 401 | 429));
            }
        }));
    }
    // Wait on the condition, not on time: the flood is recognised.
    let deadline = Instant::now() + Duration::from_secs(120);
    while t.hub.metrics.tarpitted.get() == 0 {
        assert!(Instant::now() < deadline, "the flood was never tarpitted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    let held = t.hub.metrics.tarpitted.get();
    // The neighbour's valid token from the flooding address: answered, not held.
    let same_address = client_from("127.0.0.2");
    let r = same_address
        .get(format!("{}/api/v1/me", t.base))
        .bearer_auth(&neighbour)
        .send()
        .await
        .expect("neighbour request");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        t.hub.metrics.tarpitted.get(),
        held,
        "a valid token was held"
    );
    // Other addresses are untouched: a valid token works, a bad one gets
    // its plain 401 at once.
    assert_eq!(
        t.get("/api/v1/me", Some(&elsewhere)).await.status,
        StatusCode::OK
    );
    let r = t.get("/api/v1/me", Some(&forged("fedcba9876543210"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(t.hub.metrics.tarpitted.get(), held);
}

// ---- (b) connections, timeouts, early refusals -------------------------------------------------

#[tokio::test]
async fn a_half_sent_request_is_dropped_within_the_header_timeout() {
    let t = start_with_config("header_read_timeout_secs = 1.0\n").await;
    let mut s = TcpStream::connect(addr(&t)).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: kyojo\r\nX-Slow: ")
        .await
        .expect("write");
    let took = closed_within(&mut s, Duration::from_secs(10)).await;
    assert!(
        took.is_some_and(|d| d < Duration::from_secs(5)),
        "half-sent request still open: {took:?}"
    );
    // An idle connection that never sends anything is dropped as well.
    let mut idle = TcpStream::connect(addr(&t)).await.expect("connect");
    assert!(closed_within(&mut idle, Duration::from_secs(10))
        .await
        .is_some());
    assert_eq!(t.get("/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_over_limit_content_length_gets_413_before_the_body_is_sent() {
    let t = start_with_config("max_body_bytes = 4096\n").await;
    let (status, body, text) = raw(
        &t,
        b"POST /api/v1/reports HTTP/1.1\r\nHost: kyojo\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n",
    )
    .await;
    assert_eq!(status, 413, "{text}");
    assert_eq!(body["error"]["code"], "too_large", "{text}");
    assert_eq!(body["error"]["field"], "body", "{text}");
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408() {
    let t = start_with_config("body_read_timeout_secs = 1.0\n").await;
    let started = Instant::now();
    let (status, body, text) = raw(
        &t,
        b"POST /api/v1/lookup HTTP/1.1\r\nHost: kyojo\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"values\": [",
    )
    .await;
    assert_eq!(status, 408, "{text}");
    assert_eq!(body["error"]["field"], "body", "{text}");
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test]
async fn connections_over_the_per_client_cap_do_not_stop_other_clients() {
    let t = start_with_config("max_connections_per_client = 8\n").await;
    let mut flood = Vec::new();
    for _ in 0..40 {
        flood.push(connect_from(&t, "127.0.0.2").await);
    }
    // The excess ones are answered 503 and closed at once.
    let mut refused = 0;
    for s in flood.iter_mut().skip(8) {
        let (status, body, _) = read_response(s).await;
        if status == 503 {
            assert_eq!(body["error"]["field"], "connection");
            refused += 1;
        }
    }
    assert!(
        refused >= 30,
        "only {refused} of 32 excess connections refused"
    );
    // Another client is served, and so is the flooding client's own
    // request over one of its admitted connections.
    assert_eq!(t.get("/healthz", None).await.status, StatusCode::OK);
    let s = &mut flood[0];
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: kyojo\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    assert_eq!(read_response(s).await.0, 200);
}

// ---- errors are JSON ---------------------------------------------------------------------------

#[tokio::test]
async fn long_uris_big_heads_bad_paths_get_json_errors() {
    let t = start().await;
    let check = |(status, body, text): (u16, Value, String), want: u16, field: &str| {
        assert_eq!(status, want, "{text}");
        assert_eq!(body["error"]["field"], field, "{text}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    };
    let long = format!(
        "GET /api/v1/indicators?q={} HTTP/1.1\r\nHost: kyojo\r\nConnection: close\r\n\r\n",
        "a".repeat(10_000)
    );
    check(raw(&t, long.as_bytes()).await, 414, "uri");
    // Under /taxii2 the same refusal comes in TAXII's error shape (found by
    // the taxii_query fuzz target).
    let long_taxii = format!(
        "GET /taxii2/api/collections/?q={} HTTP/1.1\r\nHost: kyojo\r\nConnection: close\r\n\r\n",
        "a".repeat(10_000)
    );
    let (status, body, text) = raw(&t, long_taxii.as_bytes()).await;
    assert_eq!(status, 414, "{text}");
    assert_eq!(body["http_status"], "414", "{text}");
    assert!(body["title"].is_string(), "{text}");
    let longer = format!(
        "GET /api/v1/indicators?q={} HTTP/1.1\r\nHost: kyojo\r\nConnection: close\r\n\r\n",
        "a".repeat(70_000)
    );
    let (status, body, text) = raw(&t, longer.as_bytes()).await;
    assert!(status == 414 || status == 431, "{text}");
    assert!(body["error"]["field"].is_string(), "{text}");
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: kyojo\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "b".repeat(100_000)
    );
    check(raw(&t, big_header.as_bytes()).await, 431, "headers");
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET /healthz HTTP/1.1\r\nHost: kyojo\r\n{many}\r\n");
    check(raw(&t, many.as_bytes()).await, 431, "headers");
    // Invalid UTF-8 in a path parameter, and raw bytes in the request line.
    check(
        raw(
            &t,
            b"GET /api/v1/indicators/domain/%FF%FE.example HTTP/1.1\r\nHost: kyojo\r\nConnection: close\r\n\r\n",
        )
        .await,
        400,
        "path",
    );
    check(
        raw(
            &t,
            b"GET /api/v1/reports/%C3%28 HTTP/1.1\r\nHost: kyojo\r\nConnection: close\r\n\r\n",
        )
        .await,
        400,
        "path",
    );
    check(
        raw(&t, b"GET /\xff\xfe HTTP/1.1\r\nHost: kyojo\r\n\r\n").await,
        400,
        "request",
    );
    // A healthy request on a fresh connection is still answered.
    assert_eq!(t.get("/healthz", None).await.status, StatusCode::OK);
}

// ---- (c) bodies of tiny values -------------------------------------------------------------

#[tokio::test]
async fn lists_past_their_limit_are_refused_before_the_rest_is_read() {
    let t = start().await;
    let sensor = t.member("S", "telecom", Role::Sensor);
    let analyst = t.member("A", "telecom", Role::Analyst);
    // 10,001 tiny values, then something that is not JSON at all: the limit
    // is met first, so reading stops there and names the list.
    let post = |path: &'static str, token: String, body: String| {
        let c = t.client.clone();
        let url = format!("{}{}", t.base, path);
        async move {
            let r = c
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("post");
            let status = r.status();
            let v: Value = serde_json::from_str(&r.text().await.expect("text")).expect("json");
            (status, v)
        }
    };
    let tiny = "0,".repeat(10_001);
    let (s, v) = post(
        "/api/v1/sightings",
        sensor.clone(),
        format!("{{\"sightings\": [{tiny} ]]]] not json"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "sightings", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("10000"),
        "{v}"
    );
    let (s, v) = post("/api/v1/sightings", sensor.clone(), format!("[{tiny} ]] x")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "sightings", "{v}");
    let (s, v) = post(
        "/api/v1/lookup",
        analyst.clone(),
        format!("{{\"values\": [{tiny} ]] x"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "values", "{v}");
    // One item may not hide a large list inside itself either.
    let (s, v) = post(
        "/api/v1/sightings",
        sensor.clone(),
        format!("{{\"sightings\": [{{\"type\": [{tiny} 0]}}]}}"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("sightings[0]"),
        "{v}"
    );
    // Trailing garbage after a valid body is refused too.
    let (s, v) = post(
        "/api/v1/lookup",
        analyst,
        json!({"values": ["a.example"]}).to_string() + " {}",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "body", "{v}");
    // A batch at the limit is fine.
    let ok = post(
        "/api/v1/sightings",
        sensor,
        json!({"sightings": [{"type": "domain", "value": "seen.example"}]}).to_string(),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
}

// ---- free text -------------------------------------------------------------------------------

#[tokio::test]
async fn control_and_bidi_characters_are_refused_naming_the_field() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    let admin = t.member("Ops", "government", Role::Admin);
    let base = common::report("ok", "GREEN", json!("community"), json!(["cc.example"]));
    for (field, value) in [
        ("title", "invoice\u{202E}fdp.exe"),
        ("title", "bell\u{7}"),
        ("description", "colour \u{1b}[31mred"),
        ("description", "nul\u{0}"),
    ] {
        let mut b = base.clone();
        b[field] = json!(value);
        let r = t.post("/api/v1/reports", Some(&a), b).await;
        common::assert_error(&r, 400, "invalid_input", Some(field));
        assert!(r.body["error"]["message"].as_str().unwrap().contains("U+"));
    }
    // Line breaks (also CRLF) and tabs stay allowed in descriptions.
    let mut b = base.clone();
    b["description"] = json!("line one\r\nline two\n\tindented");
    let id = t.share(&a, b).await;
    let r = t.get(&format!("/api/v1/reports/{id}"), Some(&a)).await;
    assert_eq!(r.body["description"], "line one\nline two\n\tindented");
    // Editing is held to the same rule.
    let r = t
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/reports/{id}"),
            Some(&a),
            Some(json!({"title": "x\u{2066}y"})),
        )
        .await;
    common::assert_error(&r, 400, "invalid_input", Some("title"));
    let r = t
        .post(
            "/api/v1/indicators/domain/cc.example/decision",
            Some(&a),
            json!({"action": "block", "comment": "see \u{202E}txt.exe"}),
        )
        .await;
    common::assert_error(&r, 400, "invalid_input", Some("comment"));
    let r = t
        .post(
            "/api/v1/orgs",
            Some(&admin),
            json!({"name": "Evil\u{202E}Corp", "sector": "finance"}),
        )
        .await;
    common::assert_error(&r, 400, "invalid_input", Some("name"));
    let r = t
        .post(
            "/api/v1/allowlist",
            Some(&admin),
            json!({"value": "partner.example", "comment": "esc\u{1b}"}),
        )
        .await;
    common::assert_error(&r, 400, "invalid_input", Some("comment"));
}

#[tokio::test]
async fn urls_with_junk_hosts_are_not_stored_but_may_be_looked_up() {
    let t = start().await;
    let a = t.member("A", "finance", Role::Analyst);
    let sensor = t.member("S", "finance", Role::Sensor);
    let junk = "http://%01%80.com/x";
    let r = t
        .post(
            "/api/v1/reports",
            Some(&a),
            common::report(
                "junk",
                "GREEN",
                json!("community"),
                json!([{"type": "domain", "value": "fine.example"}, {"type": "url", "value": junk}]),
            ),
        )
        .await;
    common::assert_error(&r, 400, "invalid_input", Some("indicators[1].value"));
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("host"));
    let r = t
        .post(
            "/api/v1/sightings",
            Some(&sensor),
            json!({"sightings": [{"type": "url", "value": "http://evil/"}]}),
        )
        .await;
    common::assert_error(&r, 400, "invalid_input", Some("sightings[0].value"));
    // A lookup of the same value is answered (with no match), not refused.
    let r = t
        .post(
            "/api/v1/lookup",
            Some(&a),
            json!({"values": [{"type": "url", "value": junk}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["results"][0]["error"].is_null(), "{}", r.text);
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    if common::postgres_under_test().is_some() {
        return;
    }
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("new").join("kyojo-data");
    let hub = kyojo_hub::Hub::open(&dir).expect("open");
    hub.add_org("A", "finance").expect("org");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&dir), 0o700, "data directory");
    for name in [
        "kyojo.sqlite",
        "kyojo.sqlite-wal",
        "kyojo.sqlite-shm",
        "secret.key",
    ] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    drop(hub);
    // Files left world-readable (by an older version, or a copy) are tightened.
    for name in ["kyojo.sqlite", "secret.key"] {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
    }
    let _hub = kyojo_hub::Hub::open(&dir).expect("open again");
    for name in ["kyojo.sqlite", "secret.key"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name} after reopening");
    }
}
