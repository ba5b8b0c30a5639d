//! Soak and abuse driver for the real `kyojo` binary, on loopback only.
//!
//! It starts `kyojo serve --demo` on an ephemeral port (its own data
//! directory unless `--data` is given), reads the demo tokens the binary
//! prints, and runs the phases asked for:
//!
//! * `mixed`: `--connections` clients for `--duration` seconds — lookups,
//!   sighting batches, feed polls (with and without `If-None-Match`), hash
//!   prefixes, report writes, indicator pages, TAXII pages. Any 5xx or
//!   transport error fails the run. The server's RSS is sampled every second;
//!   the run fails when the RSS at the end exceeds the RSS after warm-up by
//!   more than `--rss-margin-pct` percent plus `--rss-slack-mb`.
//!   `--workload writes` posts only new reports and sightings of new values;
//!   `--workload known` posts small sighting batches on already-known
//!   domains and polls feeds (nothing new is stored).
//! * `forged`: a flood of distinct well-formed forged `kyj_` tokens (a
//!   quarter carry a real token's public id), measuring legitimate `/healthz`
//!   throughput on fresh connections before, during and right after, and
//!   whether the real token is refused (429) meanwhile.
//! * `slow`: `--slow-conns` idle or half-sent connections (headers cut off,
//!   bodies shorter than their `Content-Length`), measuring `/healthz` the
//!   same way and how many half-sent connections the server drops within
//!   30 s.
//! * `restart`: restarts the server on the same data and runs the workload
//!   for `--restart-secs` (60), for the RSS a fresh start needs. With
//!   `--rss-vs-restart`, that is the memory check: a workload that stores
//!   new data grows the caches the data fills (SQLite's page caches are up
//!   to 64 MB for the writer and 32 MB per reader), so the long run's RSS
//!   must stay within the margin of what a fresh start on the same data
//!   reaches, rather than of its own RSS after warm-up.
//! * `kill9`: `--writers` clients post numbered writes with an
//!   `Idempotency-Key` while the server is killed with SIGKILL
//!   `--kill-cycles` times and restarted; unanswered writes are retried with
//!   their keys; every write must be stored exactly once.
//!
//! The flood phases always measure and report; they fail the run only with
//! `--assert-floods` (during ≥ `--min-during` × before, after ≥
//! `--min-after` × before, every half-sent connection dropped within 30 s).
//!
//! ```sh
//! cargo build --release -p kyojo -p kyojo-server --example soak
//! target/release/examples/soak --bin target/release/kyojo --duration 600 --connections 64
//! target/release/examples/soak --bin target/release/kyojo --phases forged,slow --assert-floods
//! ```
//!
//! A large hub: `--prefill-reports 28000` posts that many reports first.
//! `--value-pool N` draws every value a write adds from N names, so that
//! after warm-up the writes add reports and sightings but no new values:
//! what is left of memory growth is per report, not per value.
//! The server inherits the environment (`MALLOC_ARENA_MAX=2 …` to compare).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Res<T> = Result<T, String>;

#[derive(Debug, Clone)]
struct Args {
    bin: PathBuf,
    data: Option<PathBuf>,
    phases: Vec<String>,
    workload: String,
    duration: u64,
    warmup: u64,
    connections: usize,
    rss_margin_pct: f64,
    rss_slack_mb: f64,
    prefill_reports: usize,
    flood_secs: u64,
    forged_conns: usize,
    slow_conns: usize,
    assert_floods: bool,
    min_during: f64,
    min_after: f64,
    writers: usize,
    kill_cycles: usize,
    rss_vs_restart: bool,
    restart_secs: u64,
}

fn usage() -> ! {
    eprintln!(
        "usage: soak --bin PATH [--data DIR] [--phases mixed,restart,forged,slow,kill9] \
         [--workload mixed|writes|known] [--duration SECS] [--warmup SECS] [--connections N] \
         [--rss-margin-pct P] [--rss-slack-mb MB] [--prefill-reports N] [--flood-secs SECS] \
         [--forged-conns N] [--slow-conns N] [--assert-floods] [--min-during R] [--min-after R] \
         [--writers N] [--kill-cycles N] [--value-pool N] [--rss-vs-restart] [--restart-secs S]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        bin: PathBuf::from("target/release/kyojo"),
        data: None,
        phases: vec!["mixed".into()],
        workload: "mixed".into(),
        duration: 60,
        warmup: 0,
        connections: 64,
        rss_margin_pct: 10.0,
        rss_slack_mb: 24.0,
        prefill_reports: 0,
        flood_secs: 10,
        forged_conns: 32,
        slow_conns: 4000,
        assert_floods: std::env::var("KYOJO_SOAK_ASSERT_FLOODS").is_ok_and(|v| v == "1"),
        min_during: 0.25,
        min_after: 0.7,
        writers: 4,
        kill_cycles: 10,
        rss_vs_restart: false,
        restart_secs: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--assert-floods" {
            a.assert_floods = true;
            continue;
        }
        if flag == "--rss-vs-restart" {
            a.rss_vs_restart = true;
            continue;
        }
        let Some(v) = it.next() else { usage() };
        let num = |v: &str| v.parse::<f64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--bin" => a.bin = v.into(),
            "--data" => a.data = Some(v.into()),
            "--phases" => a.phases = v.split(',').map(str::to_string).collect(),
            "--workload" => a.workload = v,
            "--duration" => a.duration = num(&v) as u64,
            "--warmup" => a.warmup = num(&v) as u64,
            "--connections" => a.connections = num(&v) as usize,
            "--rss-margin-pct" => a.rss_margin_pct = num(&v),
            "--rss-slack-mb" => a.rss_slack_mb = num(&v),
            "--prefill-reports" => a.prefill_reports = num(&v) as usize,
            "--flood-secs" => a.flood_secs = num(&v) as u64,
            "--forged-conns" => a.forged_conns = num(&v) as usize,
            "--slow-conns" => a.slow_conns = num(&v) as usize,
            "--min-during" => a.min_during = num(&v),
            "--min-after" => a.min_after = num(&v),
            "--writers" => a.writers = (num(&v) as usize).max(1),
            "--value-pool" => {
                let _ = VALUE_POOL.set(num(&v) as u64);
            }
            "--kill-cycles" => a.kill_cycles = num(&v) as usize,
            "--restart-secs" => a.restart_secs = (num(&v) as u64).max(10),
            _ => usage(),
        }
    }
    if a.warmup == 0 {
        // A third of the run, at most two minutes.
        a.warmup = (a.duration / 3).min(120);
    }
    a
}

/// The running server.
struct Server {
    child: Child,
    base: String,
    addr: String,
    tokens: BTreeMap<String, String>,
}

impl Server {
    fn start(args: &Args, path: &std::path::Path) -> Res<Server> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let config = path.join("kyojo.toml");
        if !config.exists() {
            // The driver measures the hub, not its per-token rate limit.
            std::fs::write(
                &config,
                "rate_limit_per_second = 1000000000\nrate_limit_burst = 1000000000\n",
            )
            .map_err(|e| e.to_string())?;
        }
        let mut child = Command::new(&args.bin)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data"])
            .arg(path)
            .env(
                "KYOJO_LOG",
                std::env::var("KYOJO_LOG").unwrap_or("warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", args.bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut base = None;
        let mut tokens = BTreeMap::new();
        for line in lines.by_ref() {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(rest) = line.strip_prefix("kyojo is ready at ") {
                base = rest
                    .split_whitespace()
                    .next()
                    .map(|u| u.trim_end_matches('/').to_string());
            } else if let Some((role, tok)) = line.split_once(" token:") {
                tokens.insert(role.trim().to_string(), tok.trim().to_string());
            }
            if tokens.contains_key("consumer") {
                break;
            }
        }
        // Keep draining so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let base = base.ok_or("the server printed no address")?;
        let addr = base.trim_start_matches("http://").to_string();
        Ok(Server {
            child,
            base,
            addr,
            tokens,
        })
    }

    fn token(&self, role: &str) -> String {
        self.tokens.get(role).cloned().unwrap_or_default()
    }

    fn rss_kb(&self) -> Option<u64> {
        rss_kb(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Outcome counts of one phase.
#[derive(Default)]
struct Tally {
    by_op: Mutex<BTreeMap<(&'static str, u16), u64>>,
    transport_errors: AtomicU64,
    server_errors: AtomicU64,
    requests: AtomicU64,
    /// Per operation since the last tick: (requests, total milliseconds).
    window: Mutex<BTreeMap<&'static str, (u64, f64)>>,
}

impl Tally {
    fn record(&self, op: &'static str, status: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut m) = self.by_op.lock() {
            *m.entry((op, status)).or_insert(0) += 1;
        }
    }
    fn timed(&self, op: &'static str, ms: f64) {
        if let Ok(mut w) = self.window.lock() {
            let e = w.entry(op).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += ms;
        }
    }
    /// Mean milliseconds per operation since the last call, slowest first.
    fn take_window(&self) -> String {
        let Ok(mut w) = self.window.lock() else {
            return String::new();
        };
        let mut means: Vec<(&str, f64)> = w
            .iter()
            .map(|(op, (n, total))| (*op, total / (*n).max(1) as f64))
            .collect();
        w.clear();
        means.sort_by(|a, b| b.1.total_cmp(&a.1));
        means
            .iter()
            .map(|(op, ms)| format!("{op} {ms:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn failed(&self, op: &'static str, e: &reqwest::Error) {
        let n = self.transport_errors.fetch_add(1, Ordering::Relaxed);
        if n < 5 {
            eprintln!("  transport error on {op}: {e}");
        }
    }
    fn print(&self) {
        if let Ok(m) = self.by_op.lock() {
            let mut line = String::new();
            for ((op, status), n) in m.iter() {
                line.push_str(&format!(" {op}:{status}={n}"));
            }
            println!("  by operation and status:{line}");
        }
    }
}

/// What the workload draws from: values the hub knows, TAXII collections.
struct Known {
    domains: Vec<String>,
    collections: Vec<String>,
}

/// `--value-pool`: how many distinct new values writes draw from (0: no
/// bound, every new value is new).
static VALUE_POOL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// A label for a value a write adds: random, or one of `--value-pool`.
fn fresh_label(rng: &mut impl Rng, len: usize) -> String {
    match VALUE_POOL.get().copied().unwrap_or(0) {
        0 => random_label(rng, len),
        pool => format!("p{}", rng.gen_range(0..pool)),
    }
}

fn random_label(rng: &mut impl Rng, len: usize) -> String {
    (0..len)
        .map(|_| (b'a' + rng.gen_range(0..26u8)) as char)
        .collect()
}

/// Where floods come from: another loopback address than the legitimate
/// clients (127.0.0.1), as an attacker is another host; the hub limits and
/// caps per client address, so a flood from the measuring client's own
/// address would only measure that.
const ATTACKER: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// A client whose connections come from [`ATTACKER`].
fn attacker_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .local_address(ATTACKER)
        .build()
        .unwrap_or_default()
}

/// A raw connection from [`ATTACKER`].
async fn attacker_connect(addr: &str) -> std::io::Result<tokio::net::TcpStream> {
    let to: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::new(ATTACKER, 0))?;
    socket.connect(to).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

async fn discover(server: &Server) -> Res<Known> {
    let c = client();
    let analyst = server.token("analyst");
    let mut domains = Vec::new();
    let mut cursor: Option<String> = None;
    while domains.len() < 500 {
        let mut url = format!("{}/api/v1/indicators?kind=domain&limit=500", server.base);
        if let Some(cur) = &cursor {
            url.push_str(&format!("&cursor={cur}"));
        }
        let v: Value = c
            .get(url)
            .bearer_auth(&analyst)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        for i in v["indicators"].as_array().into_iter().flatten() {
            if let Some(d) = i["value"].as_str() {
                domains.push(d.to_string());
            }
        }
        cursor = v["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    domains.truncate(500);
    let v: Value = c
        .get(format!("{}/taxii2/api/collections/", server.base))
        .bearer_auth(&analyst)
        .header("Accept", "application/taxii+json;version=2.1")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let collections = v["collections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["can_read"].as_bool() == Some(true))
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect();
    if domains.is_empty() {
        return Err("the hub knows no domains".into());
    }
    Ok(Known {
        domains,
        collections,
    })
}

fn new_report(rng: &mut impl Rng, known: &Known, fresh_only: bool) -> Value {
    let tlp = ["CLEAR", "GREEN", "GREEN", "AMBER"][rng.gen_range(0..4)];
    let mut indicators = Vec::new();
    for _ in 0..rng.gen_range(1..4) {
        indicators.push(
            json!({"type": "domain", "value": format!("{}.soak.example", fresh_label(rng, 12))}),
        );
    }
    if !fresh_only {
        if let Some(d) = known.domains.choose(rng) {
            indicators.push(json!({"type": "domain", "value": d}));
        }
    }
    let host = fresh_label(rng, 8);
    let url = format!("http://{host}.soak.example/{}", &host[..host.len().min(6)]);
    indicators.push(json!({"type": "url", "value": url}));
    json!({
        "title": format!("soak report {}", random_label(rng, 8)),
        "description": "written by the soak driver",
        "incident_type": "phishing",
        "tlp": tlp,
        "audience": "community",
        "anonymous": rng.gen_bool(0.3),
        "indicators": indicators,
    })
}

fn sightings(rng: &mut impl Rng, known: &Known, fresh: f64) -> Value {
    let n = rng.gen_range(1..10);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let list: Vec<Value> = (0..n)
        .map(|_| {
            let value = if rng.gen_bool(fresh) {
                format!("{}.sighted.example", fresh_label(rng, 12))
            } else {
                known.domains.choose(rng).cloned().unwrap_or_default()
            };
            json!({"type": "domain", "value": value, "seen_at": now, "count": rng.gen_range(1..50)})
        })
        .collect();
    json!({ "sightings": list })
}

const FEEDS: [&str; 8] = [
    "rpz",
    "rpz?action=walled_garden",
    "hosts",
    "hosts?sinkhole=192.0.2.1",
    "domains.txt",
    "urls.txt",
    "ips.txt",
    "indicators.csv",
];

/// One client's loop: one request after another until `stop`.
async fn worker(
    server: Arc<ServerInfo>,
    known: Arc<Known>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    workload: String,
    seed: u64,
) {
    let c = client();
    let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(seed);
    let mut etags: BTreeMap<String, String> = BTreeMap::new();
    let feed_tokens = ["consumer", "analyst", "other analyst", "admin", ""];
    while !stop.load(Ordering::Relaxed) {
        let roll = rng.gen_range(0..100);
        let b = &server.base;
        let (op, req) = match workload.as_str() {
            "writes" => {
                if roll < 50 {
                    let body = new_report(&mut rng, &known, true);
                    (
                        "report",
                        c.post(format!("{b}/api/v1/reports"))
                            .bearer_auth(server.tok("analyst"))
                            .json(&body),
                    )
                } else {
                    let body = sightings(&mut rng, &known, 1.0);
                    (
                        "sightings",
                        c.post(format!("{b}/api/v1/sightings"))
                            .bearer_auth(server.tok("sensor"))
                            .json(&body),
                    )
                }
            }
            "known" => {
                if roll < 60 {
                    let body = sightings(&mut rng, &known, 0.0);
                    (
                        "sightings",
                        c.post(format!("{b}/api/v1/sightings"))
                            .bearer_auth(server.tok("sensor"))
                            .json(&body),
                    )
                } else {
                    feed_request(&c, &server, &mut rng, &mut etags, &feed_tokens)
                }
            }
            _ => match roll {
                0..=24 => {
                    let mut values: Vec<String> = (0..20)
                        .filter_map(|_| known.domains.choose(&mut rng).cloned())
                        .collect();
                    values.push(format!("{}.unknown.example", random_label(&mut rng, 10)));
                    (
                        "lookup",
                        c.post(format!("{b}/api/v1/lookup"))
                            .bearer_auth(server.tok("consumer"))
                            .json(&json!({"values": values})),
                    )
                }
                25..=44 => {
                    let body = sightings(&mut rng, &known, 0.1);
                    (
                        "sightings",
                        c.post(format!("{b}/api/v1/sightings"))
                            .bearer_auth(server.tok("sensor"))
                            .json(&body),
                    )
                }
                45..=66 => feed_request(&c, &server, &mut rng, &mut etags, &feed_tokens),
                67..=71 => (
                    "prefixes",
                    c.get(format!("{b}/api/v1/hashes/prefixes"))
                        .bearer_auth(server.tok("consumer")),
                ),
                72..=79 => {
                    let body = new_report(&mut rng, &known, false);
                    let who = if rng.gen_bool(0.5) {
                        "analyst"
                    } else {
                        "other analyst"
                    };
                    (
                        "report",
                        c.post(format!("{b}/api/v1/reports"))
                            .bearer_auth(server.tok(who))
                            .json(&body),
                    )
                }
                80..=89 => match known.collections.choose(&mut rng) {
                    Some(id) => (
                        "taxii",
                        c.get(format!(
                            "{b}/taxii2/api/collections/{id}/objects/?limit=100"
                        ))
                        .bearer_auth(server.tok("analyst"))
                        .header("Accept", "application/taxii+json;version=2.1"),
                    ),
                    None => ("healthz", c.get(format!("{b}/healthz"))),
                },
                90..=95 => {
                    let d = known.domains.choose(&mut rng).cloned().unwrap_or_default();
                    (
                        "indicator",
                        c.get(format!("{b}/api/v1/indicators/domain/{d}"))
                            .bearer_auth(server.tok("analyst")),
                    )
                }
                _ => (
                    "reports",
                    c.get(format!("{b}/api/v1/reports?limit=50"))
                        .bearer_auth(server.tok("analyst")),
                ),
            },
        };
        let sent = Instant::now();
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let key = resp.url().to_string();
                let etag = resp
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                // Read the whole body, as a real client does.
                let _ = resp.bytes().await;
                if op == "feed" {
                    if let Some(e) = etag {
                        etags.insert(key, e);
                    }
                }
                tally.record(op, status);
                tally.timed(op, sent.elapsed().as_secs_f64() * 1000.0);
            }
            Err(e) => tally.failed(op, &e),
        }
    }
}

fn feed_request(
    c: &reqwest::Client,
    server: &ServerInfo,
    rng: &mut impl Rng,
    etags: &mut BTreeMap<String, String>,
    feed_tokens: &[&str],
) -> (&'static str, reqwest::RequestBuilder) {
    let feed = FEEDS.choose(rng).copied().unwrap_or("rpz");
    let who = feed_tokens.choose(rng).copied().unwrap_or("");
    let url = format!("{}/api/v1/feeds/{feed}", server.base);
    let mut req = c.get(&url);
    if !who.is_empty() {
        req = req.bearer_auth(server.tok(who));
    }
    if rng.gen_bool(0.5) {
        if let Some(e) = etags.get(&url) {
            req = req.header("If-None-Match", e);
        }
    }
    ("feed", req)
}

/// What workers need of the server.
struct ServerInfo {
    base: String,
    tokens: BTreeMap<String, String>,
}

impl ServerInfo {
    fn tok(&self, role: &str) -> &str {
        self.tokens.get(role).map(String::as_str).unwrap_or("")
    }
}

async fn prefill(server: &Server, known: &Known, n: usize) -> Res<()> {
    let started = Instant::now();
    let info = Arc::new(ServerInfo {
        base: server.base.clone(),
        tokens: server.tokens.clone(),
    });
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let info = info.clone();
        let next = next.clone();
        let domains = known.domains.clone();
        tasks.push(tokio::spawn(async move {
            let c = client();
            let known = Known {
                domains,
                collections: vec![],
            };
            let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(1000 + w);
            let mut failures = 0u64;
            while next.fetch_add(1, Ordering::Relaxed) < n as u64 {
                let body = new_report(&mut rng, &known, false);
                let ok = c
                    .post(format!("{}/api/v1/reports", info.base))
                    .bearer_auth(info.tok("analyst"))
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                failures += u64::from(!ok);
            }
            failures
        }));
    }
    let mut failures = 0;
    for t in tasks {
        failures += t.await.unwrap_or(1);
    }
    println!(
        "prefill: {n} reports in {:.1} s ({failures} failed), RSS {:.0} MB",
        started.elapsed().as_secs_f64(),
        mb(server.rss_kb().unwrap_or(0))
    );
    if failures > 0 {
        return Err(format!("{failures} prefill reports failed"));
    }
    Ok(())
}

/// What a mixed-load phase ended with.
struct Mixed {
    /// No promise broke.
    ok: bool,
    end_rss_kb: u64,
    max_rss_kb: u64,
}

/// The mixed-load phase.
async fn mixed(server: &Server, known: Arc<Known>, args: &Args) -> Res<Mixed> {
    println!(
        "mixed load ({}): {} connections for {} s, warm-up {} s",
        args.workload, args.connections, args.duration, args.warmup
    );
    let info = Arc::new(ServerInfo {
        base: server.base.clone(),
        tokens: server.tokens.clone(),
    });
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let start_rss = server.rss_kb().unwrap_or(0);
    let mut tasks = Vec::new();
    for i in 0..args.connections {
        tasks.push(tokio::spawn(worker(
            info.clone(),
            known.clone(),
            tally.clone(),
            stop.clone(),
            args.workload.clone(),
            i as u64,
        )));
    }
    let started = Instant::now();
    let mut samples: Vec<(u64, u64)> = vec![(0, start_rss)];
    let mut last_requests = 0;
    let mut warm_rss = start_rss;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let t = started.elapsed().as_secs();
        let rss = server.rss_kb().unwrap_or(0);
        samples.push((t, rss));
        if t == args.warmup {
            warm_rss = rss;
        }
        if t.is_multiple_of(10) {
            let n = tally.requests.load(Ordering::Relaxed);
            println!(
                "  t={t:>4}s RSS {:>7.1} MB, {:>6.0} req/s, 5xx {}, transport errors {}; mean ms: {}",
                mb(rss),
                (n - last_requests) as f64 / 10.0,
                tally.server_errors.load(Ordering::Relaxed),
                tally.transport_errors.load(Ordering::Relaxed),
                tally.take_window()
            );
            last_requests = n;
        }
        if t >= args.duration {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let end_rss = server.rss_kb().unwrap_or(0);
    let max_rss = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let requests = tally.requests.load(Ordering::Relaxed);
    let errors5 = tally.server_errors.load(Ordering::Relaxed);
    let transport = tally.transport_errors.load(Ordering::Relaxed);
    tally.print();
    let limit = mb(warm_rss) * (1.0 + args.rss_margin_pct / 100.0) + args.rss_slack_mb;
    println!(
        "mixed result: {requests} requests ({:.0}/s), 5xx {errors5}, transport errors {transport}; \
         RSS start {:.1} MB, after warm-up {:.1} MB, end {:.1} MB, max {:.1} MB (limit {:.1} MB)",
        requests as f64 / args.duration.max(1) as f64,
        mb(start_rss),
        mb(warm_rss),
        mb(end_rss),
        mb(max_rss),
        limit
    );
    let mut ok = true;
    if errors5 > 0 || transport > 0 {
        println!("FAIL: server errors or dropped requests under mixed load");
        ok = false;
    }
    if mb(end_rss) > limit {
        if args.rss_vs_restart {
            println!("  RSS grew after warm-up: judged against a fresh start on the same data");
        } else {
            println!("FAIL: RSS grew after warm-up");
            ok = false;
        }
    }
    Ok(Mixed {
        ok,
        end_rss_kb: end_rss,
        max_rss_kb: max_rss,
    })
}

/// Successful `/healthz` answers per second on fresh connections.
async fn healthz_rate(addr: &str, secs: f64, conns: usize) -> f64 {
    let ok = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let ok = ok.clone();
        let url = format!("http://{addr}/healthz");
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(2))
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default();
            while Instant::now() < until {
                let left = until.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, c.get(&url).send()).await {
                    Ok(Ok(r)) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    Err(_) => break,
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    ok.load(Ordering::Relaxed) as f64 / secs
}

fn forged_token(rng: &mut impl Rng, public_id: Option<&str>) -> String {
    let hex = |rng: &mut dyn rand::RngCore, n: usize| {
        let mut b = vec![0u8; n];
        rng.fill_bytes(&mut b);
        hex::encode(b)
    };
    let id = public_id.map_or_else(|| hex(rng, 8), str::to_string);
    format!("kyj_{id}_{}", hex(rng, 32))
}

/// Verdict of one flood: before, during and after rates.
fn judge(name: &str, before: f64, during: f64, after: f64, args: &Args) -> bool {
    let ratio_d = during / before.max(1.0);
    let ratio_a = after / before.max(1.0);
    println!(
        "{name}: /healthz {before:.0}/s before, {during:.0}/s during ({:.0}%), {after:.0}/s right after ({:.0}%)",
        ratio_d * 100.0,
        ratio_a * 100.0
    );
    let ok = ratio_d >= args.min_during && ratio_a >= args.min_after;
    if !ok {
        println!(
            "{} {name}: below {:.0}% during or {:.0}% after",
            if args.assert_floods {
                "FAIL"
            } else {
                "(not asserted)"
            },
            args.min_during * 100.0,
            args.min_after * 100.0
        );
    }
    ok || !args.assert_floods
}

async fn forged(server: &Server, args: &Args) -> Res<bool> {
    let secs = args.flood_secs as f64;
    let before = healthz_rate(&server.addr, 3.0, 4).await;
    let real = server.token("analyst");
    let victim_id = real
        .strip_prefix("kyj_")
        .and_then(|r| r.split('_').next())
        .unwrap_or("")
        .to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let statuses = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    for w in 0..args.forged_conns {
        let (stop, sent, statuses) = (stop.clone(), sent.clone(), statuses.clone());
        let base = server.base.clone();
        let victim_id = victim_id.clone();
        tasks.push(tokio::spawn(async move {
            let c = attacker_client();
            let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(7000 + w as u64);
            while !stop.load(Ordering::Relaxed) {
                let id = rng.gen_bool(0.25).then_some(victim_id.as_str());
                let tok = forged_token(&mut rng, id);
                match c
                    .get(format!("{base}/api/v1/me"))
                    .bearer_auth(tok)
                    .send()
                    .await
                {
                    Ok(r) => {
                        statuses.record("forged", r.status().as_u16());
                        let _ = r.bytes().await;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // The victim's real token, ten times a second.
    let victim = {
        let (stop, base) = (stop.clone(), server.base.clone());
        tokio::spawn(async move {
            let c = client();
            let (mut ok, mut limited, mut other) = (0u64, 0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                match c
                    .get(format!("{base}/api/v1/me"))
                    .bearer_auth(&real)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => ok += 1,
                    Ok(r) if r.status().as_u16() == 429 => limited += 1,
                    _ => other += 1,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (ok, limited, other)
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = healthz_rate(&server.addr, (secs - 1.0).max(1.0), 4).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let (v_ok, v_limited, v_other) = victim.await.unwrap_or_default();
    let after = healthz_rate(&server.addr, 2.0, 4).await;
    println!(
        "forged-token flood: {} forged requests in {secs:.0} s; the real token during it: {v_ok} answered, {v_limited} refused 429, {v_other} other",
        sent.load(Ordering::Relaxed)
    );
    statuses.print();
    let mut ok = judge("forged-token flood", before, during, after, args);
    if v_limited > 0 {
        println!(
            "{} forged tokens carrying its public id drained the real token's bucket",
            if args.assert_floods {
                "FAIL"
            } else {
                "(not asserted)"
            }
        );
        ok &= !args.assert_floods;
    }
    Ok(ok)
}

async fn slow(server: &Server, args: &Args) -> Res<bool> {
    let secs = args.flood_secs as f64;
    let before = healthz_rate(&server.addr, 3.0, 4).await;
    let started = Instant::now();
    let mut idle = Vec::new();
    let mut half = Vec::new();
    let mut refused = 0u64;
    for i in 0..args.slow_conns {
        let conn =
            tokio::time::timeout(Duration::from_secs(2), attacker_connect(&server.addr)).await;
        let Ok(Ok(mut s)) = conn else {
            refused += 1;
            continue;
        };
        match i % 3 {
            0 => idle.push(s),
            1 => {
                let _ = s
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                    .await;
                half.push(s);
            }
            _ => {
                let _ = s
                    .write_all(
                        b"POST /api/v1/lookup HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                          Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"values\": [",
                    )
                    .await;
                half.push(s);
            }
        }
    }
    println!(
        "slow-connection flood: {} idle and {} half-sent connections open in {:.1} s ({refused} not accepted within 2 s)",
        idle.len(),
        half.len(),
        started.elapsed().as_secs_f64()
    );
    let during = healthz_rate(&server.addr, secs, 4).await;
    // How many half-sent connections the server dropped, waiting up to 30 s
    // after they were opened.
    let deadline = started + Duration::from_secs(30);
    let total_half = half.len();
    let mut dropped = 0usize;
    let mut buf = [0u8; 512];
    for s in half.iter_mut() {
        let left = deadline.saturating_duration_since(Instant::now());
        // Anything but "still open" (an answer, EOF or reset) counts as dropped.
        loop {
            match tokio::time::timeout(left, s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    dropped += 1;
                    break;
                }
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
    }
    println!(
        "slow-connection flood: {dropped} of {total_half} half-sent connections dropped by the server within 30 s"
    );
    drop(idle);
    drop(half);
    let after = healthz_rate(&server.addr, 2.0, 4).await;
    let mut ok = judge("slow-connection flood", before, during, after, args);
    if dropped < total_half {
        println!(
            "{} half-sent connections still open after 30 s",
            if args.assert_floods {
                "FAIL"
            } else {
                "(not asserted)"
            }
        );
        ok &= !args.assert_floods;
    }
    Ok(ok)
}

/// Write number `n` of the kill -9 phase: a sighting batch of a value of
/// its own counted `n + 1` times, or (every third) a report titled after it.
fn numbered_write(n: u64) -> (&'static str, Value) {
    if n % 3 == 2 {
        let body = json!({"title": format!("kill9 write {n}"), "incident_type": "malware",
                          "tlp": "GREEN", "audience": "community",
                          "indicators": [format!("k9report{n}.soak.example")]});
        ("/api/v1/reports", body)
    } else {
        let body = json!([{"type": "domain", "value": format!("k9batch{n}.soak.example"),
                           "count": n + 1}]);
        ("/api/v1/sightings", body)
    }
}

/// The answer to a keyed write, or None when no answer came (the server
/// died): the write is then unacknowledged.
async fn keyed_write(
    c: &reqwest::Client,
    base: &str,
    tokens: &(String, String),
    run: u64,
    n: u64,
) -> Option<(u16, Value)> {
    let (path, body) = numbered_write(n);
    let token = if path == "/api/v1/reports" {
        &tokens.0
    } else {
        &tokens.1
    };
    let r = c
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("soak-{run}-{n}"))
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let text = r.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Whether an answer means the write is stored: its own success, a replay's,
/// or a replay after the server died before keeping the response.
fn stored(n: u64, status: u16, body: &Value) -> bool {
    let done = body["error"]["code"] == "already_done";
    match numbered_write(n).0 {
        "/api/v1/reports" => status == 201 || (status == 409 && done),
        _ => status == 200 || (status == 409 && done),
    }
}

fn kyojo_cli(args: &Args, data: &std::path::Path, cli: &[&str]) -> Res<String> {
    let out = Command::new(&args.bin)
        .args(cli)
        .arg("--data")
        .arg(data)
        .env("KYOJO_LOG", "warn")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "kyojo {}: {}",
            cli.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// kill -9 during ingest with idempotent retries: `--writers` clients post
/// numbered writes (sighting batches, every third a report), each with its
/// own `Idempotency-Key`; the server is killed with SIGKILL `--kill-cycles`
/// times while writes are in flight and restarted on the same data; every
/// write left without an answer is retried with its key on the next server.
/// At the end every write must be stored exactly once: each report once,
/// each batch counted once, and nothing else stored.
async fn kill9_ingest(server: &mut Server, args: &Args, path: &std::path::Path) -> Res<bool> {
    println!(
        "kill9: {} writers, {} kill -9 cycles",
        args.writers, args.kill_cycles
    );
    // Tokens that outlive restarts (serve --demo mints new demo tokens at
    // every start): an organization of this phase's own, so that its
    // reports are exactly the phase's.
    kill_hard(server)?;
    let run: u64 = rand::random::<u32>().into();
    let org = format!("Kill9 Writer {run}");
    kyojo_cli(args, path, &["org", "add", &org, "--sector", "finance"])?;
    let mint = |role: &str| {
        kyojo_cli(
            args,
            path,
            &["token", "create", "--org", &org, "--role", role],
        )
    };
    let tokens = Arc::new((mint("analyst")?, mint("sensor")?));
    let next = Arc::new(AtomicU64::new(0));
    let mut unacknowledged: Vec<u64> = Vec::new();
    let mut acknowledged: Vec<u64> = Vec::new();
    let mut replayed_after_loss = 0;
    let started = Instant::now();
    for cycle in 0..=args.kill_cycles {
        *server = Server::start(args, path)?;
        let c = client();
        for n in std::mem::take(&mut unacknowledged) {
            let Some((status, body)) = keyed_write(&c, &server.base, &tokens, run, n).await else {
                return Err(format!(
                    "the restarted server did not answer the retry of {n}"
                ));
            };
            if !stored(n, status, &body) {
                println!("FAIL: retry of write {n}: {status} {body}");
                return Ok(false);
            }
            replayed_after_loss += usize::from(status == 409);
            acknowledged.push(n);
        }
        if cycle == args.kill_cycles {
            break;
        }
        let acked = Arc::new(Mutex::new(Vec::new()));
        let bad = Arc::new(Mutex::new(None));
        let mut writers = Vec::new();
        for _ in 0..args.writers {
            let (next, acked, bad, tokens) =
                (next.clone(), acked.clone(), bad.clone(), tokens.clone());
            let base = server.base.clone();
            writers.push(tokio::spawn(async move {
                let c = client();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    match keyed_write(&c, &base, &tokens, run, n).await {
                        Some((status, body)) => {
                            if !stored(n, status, &body) {
                                *bad.lock().unwrap_or_else(|e| e.into_inner()) =
                                    Some(format!("write {n}: {status} {body}"));
                            }
                            acked.lock().unwrap_or_else(|e| e.into_inner()).push(n);
                        }
                        None => return n,
                    }
                }
            }));
        }
        // Kill while writes are in flight, at a different point each cycle.
        let target = 40 + 25 * cycle;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let n = acked.lock().unwrap_or_else(|e| e.into_inner()).len();
            if n >= target {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "kill9: writers made no progress ({n} acknowledged)"
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        kill_hard(server)?;
        for w in writers {
            unacknowledged.push(w.await.map_err(|e| e.to_string())?);
        }
        if let Some(b) = bad.lock().unwrap_or_else(|e| e.into_inner()).take() {
            println!("FAIL: {b}");
            return Ok(false);
        }
        acknowledged.extend(acked.lock().unwrap_or_else(|e| e.into_inner()).iter());
    }

    // Every write, first time or on retry, is stored exactly once.
    let sent = next.load(Ordering::SeqCst);
    acknowledged.sort_unstable();
    acknowledged.dedup();
    if acknowledged.len() as u64 != sent {
        println!(
            "FAIL: {} of {sent} writes acknowledged after the retries",
            acknowledged.len()
        );
        return Ok(false);
    }
    let c = client();
    let mut titles: BTreeMap<String, usize> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{}/api/v1/reports?mine=true&limit=500", server.base);
        if let Some(cur) = &cursor {
            url.push_str(&format!("&cursor={cur}"));
        }
        let page: Value = c
            .get(&url)
            .bearer_auth(&tokens.0)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        for r in page["reports"].as_array().into_iter().flatten() {
            *titles
                .entry(r["title"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    let mut problems = Vec::new();
    let reports: Vec<u64> = acknowledged
        .iter()
        .copied()
        .filter(|n| n % 3 == 2)
        .collect();
    for n in &reports {
        let copies = titles
            .get(&format!("kill9 write {n}"))
            .copied()
            .unwrap_or(0);
        if copies != 1 {
            problems.push(format!("report of write {n} stored {copies} times"));
        }
    }
    if titles.values().sum::<usize>() != reports.len() {
        problems.push(format!(
            "{} reports stored for {} report writes",
            titles.values().sum::<usize>(),
            reports.len()
        ));
    }
    let batches: Vec<u64> = acknowledged
        .iter()
        .copied()
        .filter(|n| n % 3 != 2)
        .collect();
    for chunk in batches.chunks(16) {
        let answers = futures_join(chunk.iter().map(|n| {
            let url = format!(
                "{}/api/v1/indicators/domain/k9batch{n}.soak.example",
                server.base
            );
            let req = c.get(url).bearer_auth(&tokens.0).send();
            async move {
                let v: Value = req.await.ok()?.json().await.ok()?;
                v["sightings"]["mine"]["total"].as_u64()
            }
        }))
        .await;
        for (n, total) in chunk.iter().zip(answers) {
            if total != Some(n + 1) {
                problems.push(format!(
                    "batch {n} counted {total:?} times its count, not once ({})",
                    n + 1
                ));
            }
        }
    }
    println!(
        "kill9 result: {sent} writes ({} reports, {} sighting batches) over {} kill -9 cycles in {:.0} s; \
         {replayed_after_loss} retried after their answer was lost; {} problems",
        reports.len(),
        batches.len(),
        args.kill_cycles,
        started.elapsed().as_secs_f64(),
        problems.len()
    );
    for p in problems.iter().take(10) {
        println!("FAIL: {p}");
    }
    Ok(problems.is_empty())
}

/// SIGKILL, and wait for the process to be gone.
fn kill_hard(server: &mut Server) -> Res<()> {
    server.child.kill().map_err(|e| e.to_string())?;
    server.child.wait().map_err(|e| e.to_string())?;
    Ok(())
}

/// Runs futures concurrently, answers in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

async fn run(args: Args) -> Res<bool> {
    let (_dir, path) = match &args.data {
        Some(p) => (None, p.clone()),
        None => {
            let d = tempfile::tempdir().map_err(|e| e.to_string())?;
            let p = d.path().to_path_buf();
            (Some(d), p)
        }
    };
    let mut server = Server::start(&args, &path)?;
    println!(
        "server pid {} at {}, RSS {:.1} MB",
        server.child.id(),
        server.base,
        mb(server.rss_kb().unwrap_or(0))
    );
    let known = Arc::new(discover(&server).await?);
    if args.prefill_reports > 0 {
        prefill(&server, &known, args.prefill_reports).await?;
    }
    let mut ok = true;
    let mut long_run: Option<Mixed> = None;
    for phase in &args.phases {
        let passed = match phase.as_str() {
            "mixed" => {
                let run = mixed(&server, known.clone(), &args).await?;
                let passed = run.ok;
                long_run = Some(run);
                passed
            }
            "restart" => {
                // The same data after a fresh start, under the same load:
                // what the hub needs without its history. With
                // --rss-vs-restart, the long run's RSS must not exceed it
                // by more than the margin (no leak: what grew is the data).
                drop(server);
                server = Server::start(&args, &path)?;
                let mut short = args.clone();
                short.duration = args.restart_secs;
                short.warmup = args.restart_secs / 2;
                short.rss_vs_restart = true;
                println!("fresh start on the same data:");
                let fresh = mixed(&server, known.clone(), &short).await?;
                match (&long_run, args.rss_vs_restart) {
                    (Some(long), true) => {
                        let limit = mb(fresh.max_rss_kb) * (1.0 + args.rss_margin_pct / 100.0)
                            + args.rss_slack_mb;
                        println!(
                            "restart result: the long run ended at {:.1} MB; a fresh start on its data reached {:.1} MB (limit {limit:.1} MB)",
                            mb(long.end_rss_kb),
                            mb(fresh.max_rss_kb)
                        );
                        let held = mb(long.end_rss_kb) <= limit;
                        if !held {
                            println!("FAIL: the long run holds more memory than its data needs");
                        }
                        fresh.ok && held
                    }
                    _ => fresh.ok,
                }
            }
            "forged" => forged(&server, &args).await?,
            "slow" => slow(&server, &args).await?,
            "kill9" => kill9_ingest(&mut server, &args, &path).await?,
            other => return Err(format!("unknown phase {other}")),
        };
        ok &= passed;
    }
    println!(
        "server RSS at the end: {:.1} MB",
        mb(server.rss_kb().unwrap_or(0))
    );
    Ok(ok)
}

fn main() {
    let args = parse_args();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2)
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => println!("soak: PASS"),
        Ok(false) => {
            println!("soak: FAIL");
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2)
        }
    }
}
