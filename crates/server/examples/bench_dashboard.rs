//! Dashboard benchmark: the demo community plus N sightings (default
//! 1,000,000) from its 11 organizations over the last 30 days, spread over
//! 100,000 indicators with a skew (a few are seen by many), then the time to
//! answer `GET /ui/` over HTTP for a signed-in analyst: cold, cached, and
//! redrawn after a new sighting. Run in release:
//!
//! ```sh
//! cargo run --release -p kyojo-server --example bench_dashboard -- 1000000
//! # the same on PostgreSQL (a fresh schema, dropped at the end):
//! KYOJO_BENCH_POSTGRES="host=127.0.0.1 user=postgres dbname=test" \
//!   cargo run --release -p kyojo-server --example bench_dashboard -- 1000000
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use kyojo_core::policy::Member;
use kyojo_core::{Kind, Observable, Role, Viewer};
use kyojo_hub::hub::now_millis;
use kyojo_hub::Hub;
use kyojo_store::NewSighting;

const DAY_MS: i64 = 86_400_000;

#[allow(dead_code)]
#[path = "../tests/common/lcg.rs"]
mod lcg;
use lcg::Lcg;

fn indicator(i: u64) -> Observable {
    let valid = match i % 20 {
        0..=11 => Observable::new(Kind::Domain, &format!("c2-{i}.botnet{}.example", i % 211)),
        12..=16 => Observable::new(
            Kind::Ipv4,
            &format!("198.51.{}.{}", (i / 256) % 256, i % 256),
        ),
        _ => Observable::new(
            Kind::Url,
            &format!("http://drop{}.example/p/{i}.php", i % 97),
        ),
    };
    valid.expect("benchmark values are valid")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let postgres = std::env::var("KYOJO_BENCH_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|url| (url, format!("kyojo_bench_{}", std::process::id())));
    if let Some((url, schema)) = &postgres {
        std::fs::write(
            dir.path().join("kyojo.toml"),
            format!("database_url = {url:?}\ndatabase_schema = {schema:?}\n"),
        )?;
        println!("on PostgreSQL, schema {schema}");
    }
    let result = run(&dir, n).await;
    if let Some((url, schema)) = postgres {
        std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        })
        .join()
        .ok();
    }
    result
}

async fn run(dir: &tempfile::TempDir, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let hub = Arc::new(Hub::open(dir.path())?);
    let now = now_millis();
    kyojo_hub::demo::seed(&hub, now).map_err(|e| e.message())?;
    let admin = Viewer::Member(Member {
        org: 0,
        sector: String::new(),
        role: Role::Admin,
    });
    let orgs = hub.list_orgs(&admin).map_err(|e| e.message())?;
    let sensors: Vec<Viewer> = orgs
        .iter()
        .map(|o| {
            Viewer::Member(Member {
                org: o.id,
                sector: o.sector.clone(),
                role: Role::Sensor,
            })
        })
        .collect();

    let started = Instant::now();
    let mut rng = Lcg(42);
    let batch = 10_000u64;
    let mut sent = 0;
    while sent < n {
        let size = batch.min(n - sent);
        // One organization per batch, as a sensor would post.
        let viewer = &sensors[(sent / batch) as usize % sensors.len()];
        let items: Vec<NewSighting> = (0..size)
            .map(|_| {
                // Squaring a uniform draw skews towards low ids: those are
                // seen by many organizations, the tail by one.
                let u = rng.next() % 1_000;
                let id = (u * u * 100_000) / 1_000_000 + rng.next() % 100;
                NewSighting {
                    observable: indicator(id.min(99_999)),
                    seen_at: now - (rng.next() % 30) as i64 * DAY_MS - (rng.next() % 1000) as i64,
                    count: 1 + rng.next() % 5,
                }
            })
            .collect();
        hub.add_sightings(viewer, &items).map_err(|e| e.message())?;
        sent += size;
    }
    println!(
        "stored {n} sightings ({} daily rows, {} indicators) in {:.1?}",
        hub.store().count_sighting_rows()?,
        hub.store().count_indicators()?,
        started.elapsed()
    );

    let t = Instant::now();
    let picture = hub.build_picture().map_err(|e| e.message())?;
    println!(
        "picture: {} active indicators built in {:.2?}",
        picture.active.len(),
        t.elapsed()
    );

    let tokens = kyojo_hub::demo::mint_tokens(&hub).map_err(|e| e.message())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let served = hub.clone();
    tokio::spawn(async move {
        let _ = kyojo_server::serve(listener, served, std::future::pending()).await;
    });

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut jar: HashMap<String, String> = HashMap::new();
    let cookie_header = |jar: &HashMap<String, String>| {
        jar.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let keep = |jar: &mut HashMap<String, String>, resp: &reqwest::Response| {
        for c in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            if let Some((k, v)) = c
                .to_str()
                .ok()
                .and_then(|c| c.split(';').next())
                .and_then(|kv| kv.split_once('='))
            {
                jar.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    };
    let resp = client.get(format!("{base}/ui/login")).send().await?;
    keep(&mut jar, &resp);
    let form = resp.text().await?;
    let csrf = hidden_csrf(&form).ok_or("no csrf field on the sign-in page")?;
    let resp = client
        .post(format!("{base}/ui/login"))
        .header("cookie", cookie_header(&jar))
        .form(&[("csrf", csrf.as_str()), ("token", tokens.analyst.as_str())])
        .send()
        .await?;
    keep(&mut jar, &resp);

    let dashboard = |days: u32| {
        let req = client
            .get(format!("{base}/ui/?days={days}"))
            .header("cookie", cookie_header(&jar))
            .header("accept-language", "ja");
        async move {
            let t = Instant::now();
            let resp = req.send().await?;
            let status = resp.status();
            let body = resp.text().await?;
            Ok::<_, reqwest::Error>((status, body.len(), t.elapsed()))
        }
    };
    for (label, days) in [("cold", 30), ("cached", 30), ("cold, 90 days", 90)] {
        let (status, len, took) = dashboard(days).await?;
        println!("dashboard {label:>14}: {status} {len:>7} bytes in {took:>9.2?}");
    }
    // New sightings: the slow picture keeps being served at once...
    for round in 0..3 {
        let item = NewSighting {
            observable: indicator(round),
            seen_at: now,
            count: 1,
        };
        hub.add_sightings(&sensors[0], &[item])
            .map_err(|e| e.message())?;
        let (status, len, took) = dashboard(30).await?;
        println!("after a sighting #{round}  : {status} {len:>7} bytes in {took:>9.2?}");
    }
    // ...while the refresher draws the next one in the background.
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    let (status, len, took) = dashboard(30).await?;
    println!("after the refresh   : {status} {len:>7} bytes in {took:>9.2?}");

    // A narrowing write (a report deleted): the next view relinks the picture.
    let api = format!("{base}/api/v1/reports");
    let created: serde_json::Value = client
        .post(&api)
        .bearer_auth(&tokens.analyst)
        .json(&serde_json::json!({
            "title": "to be withdrawn", "incident_type": "phishing", "tlp": "GREEN",
            "audience": "community", "indicators": [{"type": "domain", "value": "withdrawn.example"}]
        }))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().ok_or("no report id")?;
    let deleted = client
        .delete(format!("{api}/{id}"))
        .bearer_auth(&tokens.analyst)
        .send()
        .await?;
    let (status, len, took) = dashboard(30).await?;
    println!(
        "after a deletion ({}): {status} {len:>7} bytes in {took:>9.2?}",
        deleted.status().as_u16()
    );
    Ok(())
}

fn hidden_csrf(html: &str) -> Option<String> {
    let needle = "name=\"csrf\" value=\"";
    let start = html.find(needle)? + needle.len();
    let rest = &html[start..];
    Some(rest[..rest.find('"')?].to_string())
}
