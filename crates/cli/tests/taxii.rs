//! The TAXII 2.1 / STIX 2.1 interoperability tier: the real `kyojo` binary,
//! seeded over the REST API, read and written by OASIS's own Python tools —
//! `taxii2-client`, `stix2`, `stix2-validator` — and timed against OASIS's
//! reference server `medallion`. The scripts live in `tests/taxii/`.
//!
//! Without those packages the tests print how to install them and pass,
//! unless `KYOJO_REQUIRE_TAXII=1`, when they fail.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const INSTALL: &str = "pip install -r crates/cli/tests/taxii/requirements.txt";

/// The tier's tests run one at a time so that the benchmark's figures are
/// not taken while another test seeds or pages.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn python() -> String {
    std::env::var("KYOJO_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("taxii")
}

fn imports(modules: &str) -> bool {
    Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// True if the Python tools are there; otherwise says how to get them (and
/// fails when `KYOJO_REQUIRE_TAXII=1`).
fn tools() -> bool {
    if imports("taxii2client, stix2, stix2validator") {
        return true;
    }
    if std::env::var("KYOJO_REQUIRE_TAXII").as_deref() == Ok("1") {
        panic!("KYOJO_REQUIRE_TAXII=1 but {} cannot import taxii2client, stix2, stix2validator: {INSTALL}", python());
    }
    println!("SKIPPED: {INSTALL}");
    eprintln!("SKIPPED: {INSTALL}");
    false
}

fn kyojo(data: &Path, args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_kyojo"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env("KYOJO_LOG", "warn")
        .output()
        .expect("run kyojo");
    assert!(
        o.status.success(),
        "kyojo {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn org(data: &Path, name: &str, sector: &str) {
    kyojo(data, &["org", "add", name, "--sector", sector]);
}

fn token(data: &Path, org: &str, role: &str) -> String {
    let t = kyojo(data, &["token", "create", "--org", org, "--role", role]);
    assert!(t.starts_with("kyj_") && !t.contains('\n'), "{t:?}");
    t
}

/// A running `kyojo serve` on an ephemeral loopback port.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_kyojo"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("KYOJO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn kyojo serve");
    // Owned by a Server at once, so that every path below kills and reaps it.
    let mut server = Server {
        child,
        base: String::new(),
    };
    let out = server.child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut printed = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("kyojo is ready at ") {
                    server.base = rest.split('/').take(3).collect::<Vec<_>>().join("/");
                    return server;
                }
                printed.push(line);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(_) => break,
        }
    }
    panic!("kyojo serve never became ready; printed: {printed:?}");
}

/// One REST call with a Bearer token: (status, JSON body).
fn call(base: &str, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut req = client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{base}/api/v1{path}"),
            )
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    })
}

/// Shares one GREEN community report; returns how many indicators it carried.
fn share(
    base: &str,
    token: &str,
    title: &str,
    sector: Option<&str>,
    indicators: Vec<Value>,
) -> usize {
    let sent = indicators.len();
    let mut body = json!({
        "title": title,
        "description": "seeded by crates/cli/tests/taxii.rs",
        "incident_type": "phishing",
        "tlp": "GREEN",
        "audience": "community",
        "indicators": indicators,
    });
    if let Some(s) = sector {
        body["sector"] = json!(s);
    }
    let (s, r) = call(base, "POST", "/reports", token, Some(body));
    assert_eq!(s, 201, "POST /reports {title}: {r}");
    if let Some(list) = r["indicators"].as_array() {
        assert_eq!(
            list.len(),
            sent,
            "{title}: the hub kept {} of {sent} indicators",
            list.len()
        );
    }
    sent
}

fn domains(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"type": "domain", "value": format!("{prefix}-{i}.seed.example")}))
        .collect()
}

/// Runs one of the scripts; its output is shown whatever happens, and it must exit 0.
fn script(name: &str, args: &[String]) -> String {
    let started = Instant::now();
    let out = Command::new(python())
        .arg(scripts().join(name))
        .args(args)
        .current_dir(scripts())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    eprintln!(
        "---- {name} ({:.1} s, {}) ----\n{stdout}{stderr}",
        started.elapsed().as_secs_f64(),
        out.status
    );
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// True if PyMISP is there; otherwise says how to get it (and fails when
/// `KYOJO_REQUIRE_TAXII=1`).
fn pymisp() -> bool {
    if imports("pymisp") {
        return true;
    }
    if std::env::var("KYOJO_REQUIRE_TAXII").as_deref() == Ok("1") {
        panic!(
            "KYOJO_REQUIRE_TAXII=1 but {} cannot import pymisp: {INSTALL}",
            python()
        );
    }
    println!("SKIPPED: {INSTALL}");
    false
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn taxii2_client_reads_pages_filters_and_writes_the_inbox() {
    if !tools() {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    org(d, "Sakura Bank", "finance");
    org(d, "Minato Telecom", "telecom");
    let analyst = token(d, "Sakura Bank", "analyst");
    let other = token(d, "Minato Telecom", "analyst");
    let server = serve(d);
    let base = server.base.clone();

    // Round one: 4,000 domains in four reports.
    let started = Instant::now();
    let mut first = 0;
    for r in 0..4 {
        first += share(
            &base,
            &analyst,
            &format!("round one #{r}"),
            None,
            domains(&format!("r1-{r}"), 1000),
        );
    }
    // A split strictly between the rounds, whatever the precision of date_added.
    std::thread::sleep(Duration::from_millis(1100));
    let split = now_rfc3339();
    std::thread::sleep(Duration::from_millis(1100));
    // Round two: 1,000 domains, then 100 addresses and 100 URLs about the finance sector.
    let mut second = share(&base, &analyst, "round two", None, domains("r2", 1000));
    let mixed: Vec<Value> = (1..=100)
        .map(|i| json!({"type": "ipv4", "value": format!("198.51.100.{i}")}))
        .chain((0..100).map(
            |i| json!({"type": "url", "value": format!("http://r2-url-{i}.seed.example/landing")}),
        ))
        .collect();
    second += share(
        &base,
        &analyst,
        "round two: finance",
        Some("finance"),
        mixed,
    );
    eprintln!(
        "seeded {} indicators in 6 reports in {:.1} s (debug build)",
        first + second,
        started.elapsed().as_secs_f64()
    );

    script(
        "interop.py",
        &[
            "--url".into(),
            base,
            "--token".into(),
            analyst,
            "--sector".into(),
            "finance".into(),
            "--indicators".into(),
            (first + second).to_string(),
            "--reports".into(),
            "6".into(),
            "--split".into(),
            split,
            "--second-indicators".into(),
            second.to_string(),
            "--second-reports".into(),
            "2".into(),
            "--other-token".into(),
            other,
            "--other-sector".into(),
            "telecom".into(),
        ],
    );
}

#[test]
fn a_stix2_bundle_round_trips_unchanged() {
    if !tools() {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    org(d, "Roundtrip Org", "finance");
    let analyst = token(d, "Roundtrip Org", "analyst");
    let server = serve(d);
    script(
        "roundtrip.py",
        &[
            "--url".into(),
            server.base.clone(),
            "--token".into(),
            analyst,
        ],
    );
}

#[test]
fn paging_benchmark_against_medallion() {
    if !tools() {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    org(d, "Bench Org", "telecom");
    let analyst = token(d, "Bench Org", "analyst");
    let server = serve(d);
    let mut n = 0;
    for r in 0..5 {
        n += share(
            &server.base,
            &analyst,
            &format!("bench #{r}"),
            None,
            domains(&format!("bench-{r}"), 1000),
        );
    }
    assert_eq!(n, 5000);
    let medallion = imports("medallion");
    let mut args = vec![
        "--url".to_string(),
        server.base.clone(),
        "--token".into(),
        analyst,
        "--expect".into(),
        n.to_string(),
    ];
    if !medallion {
        eprintln!("medallion is not installed: timing kyojo only ({INSTALL})");
        args.push("--no-medallion".into());
    }
    let out = script("bench.py", &args);
    let last = out.lines().last().unwrap_or_default();
    let figures: Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("bench.py's last line {last:?}: {e}"));
    println!("TAXII paging, 5,000 indicators, debug-build kyojo: {figures}");
    eprintln!("TAXII paging, 5,000 indicators, debug-build kyojo: {figures}");
    assert_eq!(figures["kyojo"]["objects"], json!(5000), "{figures}");
    if medallion {
        assert_eq!(figures["medallion"]["objects"], json!(5000), "{figures}");
    }
}

/// kyojo's MISP feed, read as a MISP instance reads it: every event loads
/// with PyMISP's `MISPEvent().load()` and equals the report the REST API
/// gives the same token — values, title, marking, creator (the hub for an
/// anonymous report) — and `hashes.csv` lists every value's MD5. A reader
/// outside an AMBER report's audience gets neither the event nor its values.
#[test]
fn a_misp_instance_reads_the_misp_feed_as_the_rest_api_reads_the_reports() {
    if !pymisp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    org(d, "Sakura Bank", "finance");
    org(d, "Hikari Telecom", "telecom");
    let bank = token(d, "Sakura Bank", "analyst");
    let telecom = token(d, "Hikari Telecom", "analyst");
    let consumer = token(d, "Hikari Telecom", "consumer");
    // The bank's named CLEAR/GREEN reports are actionable at once.
    std::fs::write(
        d.join("kyojo.toml"),
        "[rules]\ntrusted_orgs = [\"Sakura Bank\"]\n",
    )
    .unwrap();
    let server = serve(d);
    let base = server.base.as_str();
    share(base, &bank, "named green", None, domains("named", 3));
    let (s, r) = call(
        base,
        "POST",
        "/reports",
        &bank,
        Some(json!({
            "title": "anonymous amber for finance",
            "incident_type": "malware",
            "tlp": "AMBER",
            "audience": {"sectors": ["finance"]},
            "anonymous": true,
            "indicators": [
                {"type": "domain", "value": "finance-only.seed.example"},
                {"type": "ipv4", "value": "198.51.100.0/24"},
                {"type": "sha256", "value": "a".repeat(64)},
                {"type": "url", "value": "http://finance-only.seed.example/login?a=1"},
            ],
        })),
    );
    assert_eq!(s, 201, "{r}");
    let amber = r["id"].as_str().unwrap().to_string();

    // The bank reads both; the telecom only the green one.
    for (who, events) in [(&bank, 2), (&telecom, 1)] {
        let out = script("misp_feed.py", &[base.to_string(), who.to_string()]);
        let summary: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        assert_eq!(summary["ok"], true, "{summary}");
        assert_eq!(summary["events"], events, "{summary}");
        assert_eq!(summary["to_ids"], 3, "the trusted green values: {summary}");
    }
    let (s, _) = call(
        base,
        "GET",
        &format!("/feeds/misp/{amber}.json"),
        &telecom,
        None,
    );
    assert_eq!(
        s, 404,
        "an event outside the reader's audience is not found"
    );
    let (s, manifest) = call(base, "GET", "/feeds/misp/manifest.json", &telecom, None);
    assert_eq!(s, 200);
    assert!(!manifest.to_string().contains("finance-only"), "{manifest}");
    // As on the REST API, a consumer token reads no reports.
    let (s, body) = call(base, "GET", "/feeds/misp/manifest.json", &consumer, None);
    assert_eq!(s, 403, "{body}");
}

/// MISP in: an event written by PyMISP imports as a report (composites split,
/// objects read, non-IDS and foreign types counted and left out, the
/// stricter of its tag and distribution kept); importing it again is the
/// same report. Then a MISP feed moves reports from one hub to another:
/// hub A's feed, as a MISP instance would download it, is imported into hub
/// B with `kyojo import misp DIR`, and B's reports carry A's values.
#[test]
fn pymisp_events_import_and_a_misp_feed_carries_reports_to_another_hub() {
    if !pymisp() {
        return;
    }
    let event: Value = serde_json::from_str(&script("misp_event.py", &[])).unwrap();
    let a_dir = tempfile::tempdir().unwrap();
    let a = a_dir.path();
    org(a, "Sakura Bank", "finance");
    let bank = token(a, "Sakura Bank", "analyst");
    let server_a = serve(a);
    let base = server_a.base.as_str();
    let (s, r) = call(base, "POST", "/misp/events", &bank, Some(event.clone()));
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["report"]["tlp"], "AMBER", "{r}");
    assert_eq!(r["report"]["incident_type"], "phishing", "{r}");
    let mut got: Vec<String> = r["report"]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["type"].as_str().unwrap(),
                i["value"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        "domain:pymisp-phish.example".to_string(),
        "ipv4:198.51.100.23".into(),
        "domain:pymisp-c2.example".into(),
        "ipv4:203.0.113.9".into(),
        "url:http://pymisp-phish.example/login".into(),
        format!("sha256:{}", "b".repeat(64)),
        "email:ceo@pymisp-phish.example".into(),
        format!("sha1:{}", "c".repeat(40)),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(r["skipped"]["to_ids is false"], 2, "{r}");
    let (s, again) = call(base, "POST", "/misp/events", &bank, Some(event.clone()));
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["already_imported"], true);
    assert_eq!(again["report"]["id"], r["report"]["id"]);
    // An import never widens the event's marking.
    let (s, wide) = call(base, "POST", "/misp/events?tlp=GREEN", &bank, Some(event));
    assert_eq!(
        (s, wide["error"]["field"].as_str()),
        (400, Some("tlp")),
        "{wide}"
    );
    share(base, &bank, "green for everyone", None, domains("moved", 4));

    // Hub A's MISP feed, downloaded as MISP downloads it.
    let feed = tempfile::tempdir().unwrap();
    let (s, manifest) = call(base, "GET", "/feeds/misp/manifest.json", &bank, None);
    assert_eq!(s, 200);
    std::fs::write(feed.path().join("manifest.json"), manifest.to_string()).unwrap();
    for id in manifest.as_object().unwrap().keys() {
        let (s, e) = call(base, "GET", &format!("/feeds/misp/{id}.json"), &bank, None);
        assert_eq!(s, 200);
        std::fs::write(feed.path().join(format!("{id}.json")), e.to_string()).unwrap();
    }
    drop(server_a);
    let b_dir = tempfile::tempdir().unwrap();
    let b = b_dir.path();
    org(b, "Hikari Telecom", "telecom");
    let feed_path = feed.path().to_str().unwrap();
    // Nothing was actionable on A, so its feed flags no value for IDS:
    // take every value.
    let import = [
        "import",
        "misp",
        feed_path,
        "--org",
        "Hikari Telecom",
        "--include-non-ids",
    ];
    let ids = kyojo(b, &import);
    assert_eq!(ids.lines().count(), 2, "{ids}");
    // Again: nothing new.
    let again = kyojo(b, &import);
    assert_eq!(again, ids);
    let telecom = token(b, "Hikari Telecom", "analyst");
    let server_b = serve(b);
    let (_, listed) = call(&server_b.base, "GET", "/reports", &telecom, None);
    let reports = listed["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2, "{listed}");
    let moved = reports
        .iter()
        .find(|r| r["title"] == "green for everyone")
        .expect("the green report crossed");
    assert_eq!(moved["tlp"], "GREEN");
    assert_eq!(moved["indicators"].as_array().unwrap().len(), 4);
    let amber = reports
        .iter()
        .find(|r| r["tlp"] == "AMBER")
        .expect("the amber one");
    assert_eq!(amber["indicators"].as_array().unwrap().len(), 8);
}
