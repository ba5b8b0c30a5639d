//! Lookup index benchmark: build an index of N indicators of mixed kinds and
//! time lookups against it. Run in release:
//!
//! ```sh
//! cargo run --release -p kyojo-index --example bench_lookup -- 1000000
//! ```

use std::time::Instant;

use kyojo_core::observable::canonicalize;
use kyojo_core::{Kind, Observable};
use kyojo_index::Index;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn obs(kind: Kind, value: &str) -> Observable {
    canonicalize(kind, value).expect("benchmark values are valid")
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let before = rss_mib();
    let started = Instant::now();
    let mut index = Index::new();
    for i in 0..n {
        let o = match i % 4 {
            0 | 1 => obs(Kind::Domain, &format!("bad{i}.example")),
            2 => obs(
                Kind::Url,
                &format!("http://host{i}.example/phish/{i}/login.php"),
            ),
            _ => obs(
                Kind::Ipv4,
                &format!(
                    "{}.{}.{}.0/24",
                    1 + (i >> 16) % 200,
                    (i >> 8) % 256,
                    i % 256
                ),
            ),
        };
        index.insert(i as i64, &o);
    }
    let build = started.elapsed();
    println!(
        "built index of {} indicators in {:.2?} ({:.0} MiB resident for the index)",
        index.len(),
        build,
        rss_mib() - before
    );

    let queries: Vec<Observable> = (0..200_000usize)
        .map(|i| match i % 4 {
            0 => obs(Kind::Domain, &format!("www.sub.bad{}.example", (i * 7) % n)),
            1 => obs(Kind::Domain, &format!("clean{i}.test")),
            2 => obs(
                Kind::Url,
                &format!(
                    "https://host{}.example/phish/{}/login.php?u=1",
                    (i * 13) % n,
                    (i * 13) % n
                ),
            ),
            _ => obs(
                Kind::Ipv4,
                &format!("{}.{}.{}.77", 1 + (i >> 16) % 200, (i >> 8) % 256, i % 256),
            ),
        })
        .collect();
    let started = Instant::now();
    let mut hits = 0usize;
    for q in &queries {
        hits += index.lookup(q).len();
    }
    let elapsed = started.elapsed();
    println!(
        "{} lookups (subdomains, clean names, URLs, addresses) in {:.2?}: {:.2} µs each, {:.0} lookups/s, {} matches",
        queries.len(),
        elapsed,
        elapsed.as_secs_f64() * 1e6 / queries.len() as f64,
        queries.len() as f64 / elapsed.as_secs_f64(),
        hits
    );
}
