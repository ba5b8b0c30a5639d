//! The real `kyojo` binary: administration commands, `serve --demo`, and
//! durability of acknowledged writes across `kill -9`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn kyojo(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kyojo"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env("KYOJO_LOG", "warn")
        .output()
        .expect("run kyojo")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// A running `kyojo serve`, its base URL, and every stdout line it printed before it was ready.
struct Server {
    child: Child,
    base: String,
    banner: Vec<String>,
}

impl Server {
    /// One request to this server: (status, JSON body).
    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        http::request(method, &format!("{}{}", self.base, path), token, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path, extra: &[&str]) -> Server {
    serve_logging(data, extra, None)
}

/// Like [`serve`], with the server's log (at debug level) written to `log`.
fn serve_logging(data: &Path, extra: &[&str], log: Option<&Path>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kyojo"));
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::piped());
    match log {
        Some(path) => {
            cmd.env("KYOJO_LOG", "debug")
                .stderr(std::fs::File::create(path).expect("log file"));
        }
        None => {
            cmd.env("KYOJO_LOG", "warn").stderr(Stdio::inherit());
        }
    }
    let mut child = cmd.spawn().expect("spawn kyojo serve");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut base = None;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("kyojo is ready at ") {
                    base = Some(rest.split('/').take(3).collect::<Vec<_>>().join("/"));
                }
                banner.push(line);
                // With --demo the tokens follow the ready line.
                if base.is_some()
                    && (!extra.contains(&"--demo") || banner.iter().any(|l| l.starts_with("try:")))
                {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(_) => break,
        }
    }
    let base = base.unwrap_or_else(|| panic!("server never became ready; printed: {banner:?}"));
    Server {
        child,
        base,
        banner,
    }
}

#[test]
fn operators_administer_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = kyojo(d, &["org", "add", "Sakura Bank", "--sector", "finance"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = kyojo(d, &["org", "add", "Sakura Bank", "--sector", "finance"]);
    assert!(!o.status.success(), "duplicate names are refused");
    let o = kyojo(d, &["org", "add", "Mars Base", "--sector", "space"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown sector"));
    kyojo(d, &["org", "add", "Minato Rail", "--sector", "railway"]);
    assert_eq!(
        stdout(&kyojo(d, &["org", "list"])),
        "Minato Rail\trailway\nSakura Bank\tfinance\n"
    );

    let o = kyojo(
        d,
        &[
            "token",
            "create",
            "--org",
            "Sakura Bank",
            "--role",
            "analyst",
        ],
    );
    assert!(o.status.success());
    let token = stdout(&o);
    let lines: Vec<&str> = token.lines().collect();
    assert_eq!(lines.len(), 1, "the token alone on stdout");
    assert!(lines[0].starts_with("kyj_"));
    assert!(!kyojo(
        d,
        &["token", "create", "--org", "Nobody", "--role", "analyst"]
    )
    .status
    .success());
    assert!(!kyojo(
        d,
        &["token", "create", "--org", "Sakura Bank", "--role", "boss"]
    )
    .status
    .success());

    let listed = stdout(&kyojo(d, &["token", "list"]));
    assert!(listed.contains("Sakura Bank\tanalyst") && listed.contains("live"));
    assert!(!listed.contains(lines[0]), "secrets are never listed");

    // The token works against a running server, and stops working at once when revoked.
    let server = serve(d, &[]);
    let client = http::blocking_client();
    let me = |tok: &str| client(&format!("{}/api/v1/me", server.base), tok);
    assert_eq!(me(lines[0]).0, 200);
    assert!(kyojo(d, &["token", "revoke", lines[0]]).status.success());
    assert_eq!(me(lines[0]).0, 401);
    assert!(!kyojo(d, &["token", "revoke", lines[0]]).status.success());
}

/// Minimal blocking HTTP over reqwest's async client on a private runtime.
mod http {
    use reqwest::{Client, Method};

    pub fn blocking_client() -> impl Fn(&str, &str) -> (u16, serde_json::Value) {
        |url: &str, token: &str| request("GET", url, token, None)
    }

    /// A GET's body as text (feeds), asserting 200.
    pub fn get_text(url: &str, token: &str) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let r = Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "{url}");
            r.text().await.unwrap()
        })
    }

    pub fn request(
        method: &str,
        url: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = Client::new();
            let mut req = c.request(Method::from_bytes(method.as_bytes()).unwrap(), url);
            if !token.is_empty() {
                req = req.bearer_auth(token);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            )
        })
    }
}

#[test]
fn serve_demo_prints_url_and_a_token_per_role() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let server = serve(dir.path(), &["--demo"]);
    eprintln!(
        "serve --demo ready after {:?} (debug build, first start)",
        started.elapsed()
    );
    let token = |label: &str| -> String {
        server
            .banner
            .iter()
            .find_map(|l| l.strip_prefix(label).map(|t| t.trim().to_string()))
            .unwrap_or_else(|| panic!("no {label} in {:?}", server.banner))
    };
    let analyst = token("analyst token:");
    let consumer = token("consumer token:");
    let sensor = token("sensor token:");
    let admin = token("admin token:");
    let (s, me) = server.call("GET", "/api/v1/me", &admin, None);
    assert_eq!((s, me["role"].clone()), (200, json!("admin")));
    let (s, reports) = server.call("GET", "/api/v1/reports?limit=5", &analyst, None);
    assert_eq!(s, 200);
    assert_eq!(reports["reports"].as_array().unwrap().len(), 5);
    let (s, _) = server.call(
        "POST",
        "/api/v1/lookup",
        &consumer,
        Some(json!({"values": ["a.example"]})),
    );
    assert_eq!(s, 200);
    let (s, _) = server.call(
        "POST",
        "/api/v1/sightings",
        &sensor,
        Some(json!([{"type": "domain", "value": "x.example"}])),
    );
    assert_eq!(s, 200);
    drop(server);

    // A second start seeds nothing new and mints fresh tokens; the old ones stop working.
    let again = serve(dir.path(), &["--demo"]);
    let (s, _) = again.call("GET", "/api/v1/me", &analyst, None);
    assert_eq!(s, 401);
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    kyojo(d, &["org", "add", "Durable Org", "--sector", "finance"]);
    let token = stdout(&kyojo(
        d,
        &[
            "token",
            "create",
            "--org",
            "Durable Org",
            "--role",
            "analyst",
        ],
    ))
    .trim()
    .to_string();
    let mut server = serve(d, &[]);
    let mut ids = Vec::new();
    for i in 0..20 {
        let body = json!({"title": format!("durable {i}"), "incident_type": "malware", "tlp": "GREEN",
                          "audience": "community", "anonymous": i % 2 == 0, "indicators": [format!("durable{i}.example")]});
        let (s, r) = server.call("POST", "/api/v1/reports", &token, Some(body));
        assert_eq!(s, 201);
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let (s, _) = server.call(
        "POST",
        "/api/v1/sightings",
        &token,
        Some(json!([{"type": "domain", "value": "durable0.example", "count": 42}])),
    );
    assert_eq!(s, 200);
    // SIGKILL: no shutdown, no flush.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let server = serve(d, &[]);
    for id in &ids {
        let (s, _) = server.call("GET", &format!("/api/v1/reports/{id}"), &token, None);
        assert_eq!(s, 200, "report {id} lost");
    }
    let (_, ind) = server.call(
        "GET",
        "/api/v1/indicators/domain/durable0.example",
        &token,
        None,
    );
    assert_eq!(ind["sightings"]["mine"]["total"], 42);
    // The index was rebuilt from the store.
    let (_, l) = server.call(
        "POST",
        "/api/v1/lookup",
        &token,
        Some(json!({"values": ["www.durable19.example"]})),
    );
    assert_eq!(l["results"][0]["matches"][0]["match"], "parent_domain");
    let _: Value = l;
}

/// One keyed write: Ok((status, body)) when an answer came, Err when the
/// connection failed (the server died): the write is then unacknowledged.
fn keyed_write(url: &str, token: &str, key: &str, body: &Value) -> Result<(u16, Value), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .timeout(Duration::from_secs(30))
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let text = r.text().await.map_err(|e| e.to_string())?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    })
}

/// Write number `n`: a sighting batch of a value of its own counted `n + 1`
/// times, or (every third) a report titled after it.
fn numbered_write(n: usize) -> (&'static str, Value) {
    if n % 3 == 2 {
        let body = json!({"title": format!("retry {n}"), "incident_type": "malware", "tlp": "GREEN",
                          "audience": "community", "indicators": [format!("report{n}.example")]});
        ("/api/v1/reports", body)
    } else {
        let body =
            json!([{"type": "domain", "value": format!("batch{n}.example"), "count": n + 1}]);
        ("/api/v1/sightings", body)
    }
}

/// Whether an answer means the write is stored: its own success, a replay's,
/// or a replay after the server stopped before keeping the response.
fn stored(n: usize, status: u16, body: &Value) -> bool {
    let done = body["error"]["code"] == "already_done";
    match numbered_write(n).0 {
        "/api/v1/reports" => status == 201 || (status == 409 && done),
        _ => status == 200 || (status == 409 && done),
    }
}

#[test]
fn idempotent_retries_across_kill_9_store_every_write_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    kyojo(d, &["org", "add", "Retry Org", "--sector", "finance"]);
    let token = stdout(&kyojo(
        d,
        &["token", "create", "--org", "Retry Org", "--role", "analyst"],
    ))
    .trim()
    .to_string();
    const WRITERS: usize = 4;
    const CYCLES: usize = 3;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Writes sent whose answer never came, carried to the next server.
    let mut unacknowledged: Vec<usize> = Vec::new();
    let mut acknowledged: Vec<usize> = Vec::new();
    let mut lost_responses = 0;
    for cycle in 0..=CYCLES {
        let mut server = serve(d, &[]);
        let base = server.base.clone();
        // A client that lost its answers retries them with the same keys.
        for n in std::mem::take(&mut unacknowledged) {
            let (path, body) = numbered_write(n);
            let (status, answer) =
                keyed_write(&format!("{base}{path}"), &token, &format!("w{n}"), &body)
                    .expect("the restarted server answers");
            assert!(
                stored(n, status, &answer),
                "retry of write {n}: {status} {answer}"
            );
            lost_responses += usize::from(status == 409);
            acknowledged.push(n);
        }
        if cycle == CYCLES {
            break;
        }
        let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let (next, acked, base, token) =
                    (next.clone(), acked.clone(), base.clone(), token.clone());
                std::thread::spawn(move || -> Option<usize> {
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let (path, body) = numbered_write(n);
                        match keyed_write(&format!("{base}{path}"), &token, &format!("w{n}"), &body)
                        {
                            Ok((status, answer)) => {
                                assert!(stored(n, status, &answer), "write {n}: {status} {answer}");
                                acked.lock().unwrap().push(n);
                            }
                            // The server is gone: this write is unacknowledged.
                            Err(_) => return Some(n),
                        }
                    }
                })
            })
            .collect();
        // Kill while writes are in flight, once some were acknowledged.
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.lock().unwrap().len() < 30 + cycle * 10 {
            assert!(Instant::now() < deadline, "writers made no progress");
            std::thread::sleep(Duration::from_millis(5));
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        drop(server);
        for w in writers {
            unacknowledged.extend(w.join().expect("writer"));
        }
        acknowledged.extend(acked.lock().unwrap().iter().copied());
    }

    // Every write the client was told about (first time or on retry) is
    // there exactly once: each batch's count is its own, each report is one.
    let server = serve(d, &[]);
    acknowledged.sort_unstable();
    let total = next.load(std::sync::atomic::Ordering::SeqCst);
    let (_, listed) = server.call("GET", "/api/v1/reports?mine=true&limit=1000", &token, None);
    let titles: Vec<String> = listed["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["title"].as_str().unwrap_or_default().to_string())
        .collect();
    for &n in &acknowledged {
        if numbered_write(n).0 == "/api/v1/reports" {
            let copies = titles
                .iter()
                .filter(|t| **t == format!("retry {n}"))
                .count();
            assert_eq!(copies, 1, "report of write {n}");
        } else {
            let (s, ind) = server.call(
                "GET",
                &format!("/api/v1/indicators/domain/batch{n}.example"),
                &token,
                None,
            );
            assert_eq!(s, 200, "batch {n} lost");
            assert_eq!(
                ind["sightings"]["mine"]["total"],
                n + 1,
                "batch {n} counted once"
            );
        }
    }
    // Nothing was written that was never acknowledged.
    assert_eq!(
        titles.len(),
        acknowledged.iter().filter(|&&n| n % 3 == 2).count()
    );
    eprintln!(
        "{} writes acknowledged over {CYCLES} kill -9 cycles ({total} sent, {lost_responses} retried after their response was lost)",
        acknowledged.len()
    );
}

#[test]
fn anonymous_reports_leave_no_organization_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    kyojo(
        d,
        &["org", "add", "Quiet Hospital 7f3a", "--sector", "medical"],
    );
    let token = stdout(&kyojo(
        d,
        &[
            "token",
            "create",
            "--org",
            "Quiet Hospital 7f3a",
            "--role",
            "analyst",
        ],
    ))
    .trim()
    .to_string();
    let log = d.join("server.log");
    let server = serve_logging(d, &[], Some(&log));
    let body = json!({"title": "we were hit", "incident_type": "ransomware", "tlp": "GREEN",
                      "audience": "community", "anonymous": true, "indicators": ["quiet-7f3a.example"]});
    let (s, r) = server.call("POST", "/api/v1/reports", &token, Some(body));
    assert_eq!(s, 201);
    let id = r["id"].as_str().unwrap().to_string();
    let (s, _) = server.call("GET", &format!("/api/v1/reports/{id}"), &token, None);
    assert_eq!(s, 200);
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/api/v1/reports"),
        "the request log is there: {text}"
    );
    for secret in ["Quiet Hospital", "7f3a", &token[4..20]] {
        assert!(
            !text.contains(secret),
            "{secret:?} appears in the log:\n{text}"
        );
    }
}

#[test]
fn kyojo_check_never_tells_the_hub_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    kyojo(d, &["org", "add", "Checker Org", "--sector", "telecom"]);
    let analyst = stdout(&kyojo(
        d,
        &[
            "token",
            "create",
            "--org",
            "Checker Org",
            "--role",
            "analyst",
        ],
    ))
    .trim()
    .to_string();
    let consumer = stdout(&kyojo(
        d,
        &[
            "token",
            "create",
            "--org",
            "Checker Org",
            "--role",
            "consumer",
        ],
    ))
    .trim()
    .to_string();
    let log = d.join("hub.log");
    let server = serve_logging(d, &[], Some(&log));
    let body = json!({"title": "kit", "incident_type": "phishing", "tlp": "GREEN", "audience": "community",
                      "indicators": ["http://phish-q7x.example/login/", "malware-q7x.example"]});
    assert_eq!(
        server
            .call("POST", "/api/v1/reports", &analyst, Some(body))
            .0,
        201
    );
    for (kind, value) in [
        ("url", "http://phish-q7x.example/login/"),
        ("domain", "malware-q7x.example"),
    ] {
        let (s, r) = server.call(
            "POST",
            &format!("/api/v1/indicators/{kind}/{value}/decision"),
            &analyst,
            Some(json!({"action": "block"})),
        );
        assert_eq!(s, 200, "{r}");
    }
    let cache = d.join("prefixes.json");
    let check = |urls: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kyojo"))
            .arg("check")
            .args(urls)
            .args(["--hub", &server.base, "--token", &consumer, "--cache"])
            .arg(&cache)
            .output()
            .expect("run kyojo check");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = check(&[
        "https://phish-q7x.example/login/step2.php?id=7",
        "http://cdn.malware-q7x.example/x.exe",
        "http://clean-q7x.example/",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        out,
        "listed phishing https://phish-q7x.example/login/step2.php?id=7\nlisted phishing http://cdn.malware-q7x.example/x.exe\nclean http://clean-q7x.example/\n"
    );
    let (code, out) = check(&[
        "http://clean-q7x.example/a",
        "http://phish-q7x.example/other",
    ]);
    assert_eq!(
        (code, out.as_str()),
        (
            Some(0),
            "clean http://clean-q7x.example/a\nclean http://phish-q7x.example/other\n"
        )
    );
    let (code, _) = check(&["http://"]);
    assert_eq!(code, Some(2));

    // The same feeds from the CLI, scoped like the API.
    let export = |args: &[&str], file: &str| {
        let path = d.join(file);
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--out", path.to_str().unwrap()]);
        let o = kyojo(d, &all);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(path).unwrap()
    };
    let zone = export(&["rpz", "--org", "Checker Org"], "zone.rpz");
    assert!(
        zone.contains("\nmalware-q7x.example CNAME .")
            && zone.contains("\n*.malware-q7x.example CNAME ."),
        "{zone}"
    );
    let urls = export(
        &["txt", "--kind", "urls", "--org", "Checker Org"],
        "urls.txt",
    );
    assert!(urls.contains("http://phish-q7x.example/login/"), "{urls}");
    let public = export(&["txt", "--kind", "domains"], "public.txt");
    assert!(
        !public.contains("malware-q7x"),
        "GREEN is not for the public: {public}"
    );
    assert!(!kyojo(d, &["export", "pdf", "--out", "/dev/null"])
        .status
        .success());
    drop(server);

    // The hub's own request log: routes only; no URL, host or path that was checked.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/api/v1/hashes/prefixes") && text.contains("/api/v1/hashes:search"),
        "{text}"
    );
    for leaked in [
        "step2",
        "cdn.malware",
        "clean-q7x",
        "id=7",
        "x.exe",
        "/other",
    ] {
        assert!(
            !text.contains(leaked),
            "{leaked:?} reached the hub's log:\n{text}"
        );
    }
}

#[test]
fn stix_bundles_import_and_export_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    kyojo(d, &["org", "add", "Bundle Org", "--sector", "finance"]);
    let bundle = json!({"type": "bundle", "id": "bundle--0f7b7b53-64cc-4ae6-9f6d-8d0c7e1f4a10", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--7d5b1c2e-3f4a-4b6c-8d9e-0a1b2c3d4e5f",
         "created": "2026-03-03T00:00:00.000Z", "modified": "2026-03-03T00:00:00.000Z",
         "pattern": "[url:value = 'http://cli-import.example/x']", "pattern_type": "stix", "valid_from": "2026-03-03T00:00:00Z"}
    ]});
    let file = d.join("in.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    let o = kyojo(
        d,
        &[
            "import",
            "stix",
            file.to_str().unwrap(),
            "--org",
            "Bundle Org",
            "--tlp",
            "GREEN",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        stdout(&o).trim().len(),
        36,
        "the new report's id alone on stdout"
    );
    // A broken bundle is refused, naming the object.
    std::fs::write(&file, r#"{"type":"bundle","id":"bundle--0f7b7b53-64cc-4ae6-9f6d-8d0c7e1f4a11","objects":[{"type":"indicator","id":"indicator--7d5b1c2e-3f4a-4b6c-8d9e-0a1b2c3d4e50"}]}"#).unwrap();
    let o = kyojo(
        d,
        &[
            "import",
            "stix",
            file.to_str().unwrap(),
            "--org",
            "Bundle Org",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("indicator--7d5b1c2e-3f4a-4b6c-8d9e-0a1b2c3d4e50"));
    // Export: the member sees the imported object; the public (CLEAR only) does not.
    let out = d.join("all.json");
    let o = kyojo(
        d,
        &[
            "export",
            "stix",
            "--out",
            out.to_str().unwrap(),
            "--org",
            "Bundle Org",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(all["type"], "bundle");
    let ids: Vec<&str> = all["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"indicator--7d5b1c2e-3f4a-4b6c-8d9e-0a1b2c3d4e5f"),
        "{ids:?}"
    );
    let o = kyojo(d, &["export", "stix", "--out", out.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(!std::fs::read_to_string(&out)
        .unwrap()
        .contains("cli-import.example"));
}

#[test]
fn serve_demo_prints_tokens_to_stdout_and_never_logs_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("server.log");
    let server = serve_logging(d, &["--demo"], Some(&log));
    let tokens: Vec<String> = server
        .banner
        .iter()
        .filter(|l| l.contains(" token:"))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    assert_eq!(tokens.len(), 5, "{:?}", server.banner);
    // Use them, and a forged one, so that request handling is logged too.
    for t in &tokens {
        let (s, _) = server.call("GET", "/api/v1/me", t, None);
        assert_eq!(s, 200);
    }
    let forged = format!("kyj_{}_{}", &tokens[0][4..20], "0".repeat(64));
    let (s, _) = server.call("GET", "/api/v1/me", &forged, None);
    assert_eq!(s, 401);
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/api/v1/me"),
        "the request log is there: {text}"
    );
    assert!(
        !text.contains("kyj_"),
        "a token appears in the log:\n{text}"
    );
    for t in &tokens {
        let secret = t.rsplit('_').next().unwrap();
        assert!(
            !text.contains(secret),
            "a token's secret appears in the log"
        );
    }
}

/// Starts `kyojo serve` on a free port with stdout and stderr piped, waits
/// for the ready line, stops it, and returns everything it wrote to stderr.
fn serve_and_stop(data: &Path, envs: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kyojo"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("KYOJO_LOG", "info")
        .env_remove("NO_COLOR")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kyojo serve");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut err, &mut text).ok();
        text
    });
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    let ready = out
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("kyojo is ready at "));
    let _ = child.kill();
    let _ = child.wait();
    let text = reader.join().expect("stderr reader");
    assert!(ready, "never ready: {text}");
    text
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let text = serve_and_stop(dir.path(), &[]);
    assert!(
        text.contains("INFO") && text.contains("applied schema migration"),
        "the log is there: {text}"
    );
    assert!(
        !text.contains("\x1b["),
        "ANSI escape codes in a log that is not a terminal:\n{text:?}"
    );
}

#[test]
fn check_keeps_its_cache_in_the_users_cache_directory_not_the_working_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data, &[]);
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let check = |envs: &[(&str, &std::ffi::OsStr)], extra: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_kyojo"))
            .current_dir(cwd.path())
            .args([
                "check",
                "http://clean-cache.example/",
                "--hub",
                &server.base,
            ])
            .args(extra)
            .env_remove("XDG_CACHE_HOME")
            .env_remove("KYOJO_CHECK_CACHE")
            .env("HOME", home.path())
            .envs(envs.iter().copied())
            .output()
            .expect("run kyojo check");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "clean http://clean-cache.example/\n"
        );
    };
    let private = |file: &Path| {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(file), 0o600, "{}", file.display());
        assert_eq!(mode(file.parent().unwrap()), 0o700, "{}", file.display());
    };
    let listed = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect()
    };

    // HOME only: ~/.cache/kyojo/prefixes.json.
    check(&[], &[]);
    let in_home = home.path().join(".cache/kyojo/prefixes.json");
    assert!(in_home.is_file(), "{:?}", listed(home.path()));
    private(&in_home);
    // XDG_CACHE_HOME wins.
    let xdg = tempfile::tempdir().unwrap();
    check(&[("XDG_CACHE_HOME", xdg.path().as_os_str())], &[]);
    let in_xdg = xdg.path().join("kyojo/prefixes.json");
    assert!(in_xdg.is_file(), "{:?}", listed(xdg.path()));
    private(&in_xdg);
    // --cache and KYOJO_CHECK_CACHE place it anywhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let flag = elsewhere.path().join("a/flag.json");
    check(&[], &["--cache", flag.to_str().unwrap()]);
    assert!(flag.is_file());
    private(&flag);
    let by_env = elsewhere.path().join("env.json");
    check(&[("KYOJO_CHECK_CACHE", by_env.as_os_str())], &[]);
    assert!(by_env.is_file());
    // Nothing was left where the command ran.
    assert_eq!(listed(cwd.path()), Vec::<String>::new());
}

#[test]
fn a_key_pasted_below_a_table_stops_the_hub_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d).unwrap();
    std::fs::write(
        d.join("kyojo.toml"),
        "hub_name = \"Example ISAC\"\n\n[[sectors]]\nslug = \"finance\"\nen = \"Finance\"\nja = \"金融\"\n\nwarning_host = \"warn.example.net\"\n",
    )
    .unwrap();
    // Bounded: a hub that accepts the file would serve forever.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kyojo"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(d)
        .env("KYOJO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kyojo serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the hub started with a key pasted below [[sectors]]");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        err.contains("line 8, column 1: unknown key `warning_host` in [[sectors]]")
            && err.contains("before the first [table] header (line 3)"),
        "{err}"
    );

    // Without the stray key it starts, and says the one sector replaces the eleven.
    std::fs::write(
        d.join("kyojo.toml"),
        "hub_name = \"Example ISAC\"\n\n[[sectors]]\nslug = \"finance\"\nen = \"Finance\"\nja = \"金融\"\n",
    )
    .unwrap();
    let log = serve_and_stop(d, &[]);
    assert!(
        log.contains("WARN")
            && log.contains("lists 1 sector(s) (finance): they replace the 11 built-in sectors"),
        "{log}"
    );
}

#[test]
fn serve_demo_says_it_revoked_the_earlier_demo_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve_and_stop(dir.path(), &[]);
    assert!(!first.contains("revoked"), "{first}");
    let demo = |expect: bool| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kyojo"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path())
            .env("KYOJO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut err = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            let mut t = String::new();
            std::io::Read::read_to_string(&mut err, &mut t).ok();
            t
        });
        let ready = BufReader::new(child.stdout.take().expect("stdout"))
            .lines()
            .map_while(Result::ok)
            .any(|l| l.starts_with("try:"));
        let _ = child.kill();
        let _ = child.wait();
        let text = reader.join().expect("reader");
        assert!(ready, "{text}");
        assert_eq!(
            text.contains("revoked the 5 demo token(s) printed at an earlier start"),
            expect,
            "{text}"
        );
    };
    demo(false);
    demo(true);
}

#[test]
fn exports_report_the_entries_they_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("demo-out.txt");
    // Seed the demo once (the server prints its tokens, then stops).
    drop(serve(d, &["--demo"]));
    let export = |args: &[&str]| -> (String, String) {
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = kyojo(d, &all);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            String::from_utf8_lossy(&o.stderr).to_string(),
            std::fs::read_to_string(&out).unwrap(),
        )
    };
    let said = |stderr: &str| -> usize {
        stderr
            .lines()
            .find_map(|l| l.strip_prefix("wrote "))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {stderr}"))
    };
    // RPZ: the count the zone's own header gives.
    let (stderr, zone) = export(&["rpz", "--org", "Hikari Telecom ISP"]);
    let header: usize = zone
        .lines()
        .next()
        .and_then(|l| l.split(": ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{zone}"));
    assert!(header > 0);
    assert_eq!(said(&stderr), header, "{stderr}");
    // Plain lists: one line per entry written.
    for kind in ["domains", "urls", "ips"] {
        let (stderr, list) = export(&["txt", "--kind", kind, "--org", "Hikari Telecom ISP"]);
        let lines = list
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(said(&stderr), lines, "{kind}: {stderr}");
    }
    // STIX: the objects in the bundle.
    let (stderr, bundle) = export(&["stix", "--org", "Sakura Bank"]);
    let bundle: Value = serde_json::from_str(&bundle).unwrap();
    let objects = bundle["objects"].as_array().unwrap().len();
    assert!(objects > 0);
    assert_eq!(said(&stderr), objects, "{stderr}");
    // The progress bar walks every stored object; the last line says so
    // rather than leaving "3038/3038" beside "wrote 2404".
    let stored: usize = stderr
        .split_once("(of ")
        .and_then(|(_, r)| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stored count in {stderr}"));
    assert!(stored > objects, "{stderr}");
}

/// Where the `pymispwarninglists` package (PyPI) keeps MISP's lists, if it
/// is installed. `.ci/run` installs it and sets KYOJO_REQUIRE_WARNINGLISTS.
fn pymisp_warninglists() -> Option<std::path::PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, pymispwarninglists as p; print(os.path.join(os.path.dirname(p.__file__), 'data', 'misp-warninglists', 'lists'))",
        ])
        .output()
        .ok()?;
    let dir = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && dir.is_dir()).then_some(dir)
}

#[test]
fn misps_own_warninglists_load_from_the_pymispwarninglists_package_and_keep_values_out_of_feeds() {
    let Some(lists) = pymisp_warninglists() else {
        assert!(
            std::env::var_os("KYOJO_REQUIRE_WARNINGLISTS").is_none(),
            "KYOJO_REQUIRE_WARNINGLISTS is set but pymispwarninglists is not installed"
        );
        eprintln!("skipped: pip install pymispwarninglists to run this test");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = lists.to_str().unwrap();
    // Choosing nothing loads nothing, and says how to choose.
    let none = kyojo(d, &["warninglists", "load", src]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("--only"));
    let chosen = [
        "amazon-aws",
        "tranco10k",
        "automated-malware-analysis",
        "common-contact-emails",
        "ti-falsepositives",
    ];
    let loaded = kyojo(
        d,
        &["warninglists", "load", src, "--only", &chosen.join(",")],
    );
    assert!(loaded.status.success(), "{loaded:?}");
    assert_eq!(stdout(&loaded).lines().count(), chosen.len());

    // One value of each list, read from the package's own files.
    let list = |id: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(lists.join(id).join("list.json")).unwrap())
            .unwrap()
    };
    let first = |id: &str, ok: &dyn Fn(&str) -> bool| -> String {
        list(id)["list"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .find(|v| ok(v))
            .unwrap_or_else(|| panic!("no usable entry in {id}"))
            .to_string()
    };
    let aws = first("amazon-aws", &|v| v.contains('.') && v.ends_with("/24"));
    let aws_ip = aws
        .trim_end_matches("/24")
        .trim_end_matches(".0")
        .to_string()
        + ".7";
    let top_site = first("tranco10k", &|v| v.matches('.').count() == 1);
    let sandbox = first("automated-malware-analysis", &|v| !v.contains('/'));
    let hash = first("ti-falsepositives", &|v| v.len() == 64);
    let listed = [
        ("ipv4", aws_ip.clone(), "amazon-aws"),
        ("domain", format!("www.{top_site}"), "tranco10k"),
        ("domain", sandbox.clone(), "automated-malware-analysis"),
        (
            "email",
            "abuse@kyojo-test.example".to_string(),
            "common-contact-emails",
        ),
        ("sha256", hash.clone(), "ti-falsepositives"),
    ];

    let listing = stdout(&kyojo(d, &["warninglists", "list"]));
    for id in chosen.iter().chain(&["public-dns-v4", "sinkholes"]) {
        assert!(
            listing.lines().any(|l| l.starts_with(&format!("{id}\t"))),
            "{id} missing from:\n{listing}"
        );
    }

    kyojo(d, &["org", "add", "CERT", "--sector", "government"]);
    kyojo(d, &["org", "add", "ISP", "--sector", "telecom"]);
    let curator = stdout(&kyojo(
        d,
        &["token", "create", "--org", "CERT", "--role", "curator"],
    ))
    .trim()
    .to_string();
    let consumer = stdout(&kyojo(
        d,
        &["token", "create", "--org", "ISP", "--role", "consumer"],
    ))
    .trim()
    .to_string();
    std::fs::write(d.join("kyojo.toml"), "[rules]\ntrusted_orgs = [\"CERT\"]\n").unwrap();
    let server = serve(d, &[]);
    let mut indicators: Vec<Value> = listed
        .iter()
        .map(|(kind, value, _)| json!({"type": kind, "value": value}))
        .collect();
    indicators.push(json!({"type": "domain", "value": "control.kyojo-test.example"}));
    let (status, body) = server.call(
        "POST",
        "/api/v1/reports",
        &curator,
        Some(json!({
            "title": "values MISP lists as false positives",
            "incident_type": "phishing",
            "tlp": "GREEN",
            "audience": "community",
            "indicators": indicators,
        })),
    );
    assert_eq!(status, 201, "{body}");
    let feed = http::get_text(
        &format!("{}/api/v1/feeds/indicators.csv", server.base),
        &consumer,
    );
    assert!(feed.contains("control.kyojo-test.example"), "{feed}");
    // No rule made them actionable; the indicator names the list. A list
    // the operator loaded yields to an explicit block (a top site can be
    // compromised); the embedded ones never do (server/tests/decisions.rs).
    for (kind, value, id) in &listed {
        assert!(!feed.contains(value.as_str()), "{value} ({id}) in:\n{feed}");
        let name = list(id)["name"].as_str().unwrap().to_string();
        let (status, body) = server.call(
            "GET",
            &format!("/api/v1/indicators/{kind}/{value}"),
            &curator,
            None,
        );
        assert_eq!(status, 200, "{value}: {body}");
        assert!(body.to_string().contains(&name), "{value} ({id}): {body}");
        let (status, body) = server.call(
            "POST",
            &format!("/api/v1/indicators/{kind}/{value}/decision"),
            &curator,
            Some(json!({"action": "block", "scope": "hub", "comment": "compromised"})),
        );
        assert_eq!(status, 200, "{value}: {body}");
    }
    let feed = http::get_text(
        &format!("{}/api/v1/feeds/indicators.csv", server.base),
        &consumer,
    );
    for (_, value, id) in &listed {
        assert!(
            feed.contains(value.as_str()),
            "{value} ({id}) blocked yet not in:\n{feed}"
        );
    }
    drop(server);

    // Removed, the list no longer applies.
    assert!(kyojo(d, &["warninglists", "remove", "tranco10k"])
        .status
        .success());
    let listing = stdout(&kyojo(d, &["warninglists", "list"]));
    assert!(!listing.contains("tranco10k"), "{listing}");
    assert_eq!(
        kyojo(d, &["warninglists", "remove", "tranco10k"])
            .status
            .code(),
        Some(2)
    );
}
