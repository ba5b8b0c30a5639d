//! Feed benchmark: a hub with N actionable domains (default 1,000,000), then
//! the time to produce each feed and the hash-prefix list. Run in release:
//!
//! ```sh
//! cargo run --release -p kyojo-server --example bench_feeds -- 1000000
//! ```

use std::time::Instant;

use kyojo_core::policy::Member;
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, Role, Tlp, Viewer};
use kyojo_hub::feeds::{FeedFormat, FeedOptions};
use kyojo_hub::hub::RawDraft;
use kyojo_hub::Hub;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    // The trusted-organization rule makes every GREEN report of "Trusted" actionable.
    std::fs::write(
        dir.path().join("kyojo.toml"),
        "[rules]\ntrusted_orgs = [\"Trusted\"]\n",
    )?;
    let hub = Hub::open(dir.path())?;
    let org = hub
        .add_org("Trusted", "government")
        .map_err(|e| e.message())?;
    let consumer = hub.add_org("ISP", "telecom").map_err(|e| e.message())?;
    let author = Viewer::Member(Member {
        org: org.id,
        sector: org.sector.clone(),
        role: Role::Analyst,
    });
    let reader = Viewer::Member(Member {
        org: consumer.id,
        sector: consumer.sector.clone(),
        role: Role::Consumer,
    });

    let started = Instant::now();
    let per_report = 5_000;
    let now = kyojo_hub::hub::now_millis();
    for chunk in 0..n.div_ceil(per_report) {
        let indicators = (chunk * per_report..((chunk + 1) * per_report).min(n))
            .map(|i| {
                Observable::new(Kind::Domain, &format!("bad{i}.phish{}.example", i % 997))
                    .expect("benchmark values are valid")
            })
            .collect();
        let draft = RawDraft::new(
            &format!("bulk {chunk}"),
            IncidentType::Phishing,
            Tlp::Green,
            Audience::Community,
            indicators,
        );
        hub.submit_report(&author, draft, now)
            .map_err(|e| e.message())?;
    }
    println!("stored {n} indicators in {:.1?}", started.elapsed());

    let t = Instant::now();
    let snap = hub.snapshot().map_err(|e| e.message())?;
    println!(
        "actionable snapshot: {} items in {:.2?}",
        snap.items.len(),
        t.elapsed()
    );

    let formats = [
        ("rpz", FeedFormat::Rpz),
        ("hosts", FeedFormat::Hosts),
        ("domains.txt", FeedFormat::DomainsTxt),
        ("urls.txt", FeedFormat::UrlsTxt),
        ("ips.txt", FeedFormat::IpsTxt),
        ("indicators.csv", FeedFormat::Csv),
    ];
    for (name, format) in formats {
        let t = Instant::now();
        let r = hub
            .render_feed(&reader, format, &FeedOptions::default())
            .map_err(|e| e.message())?;
        let first = t.elapsed();
        let t = Instant::now();
        hub.render_feed(&reader, format, &FeedOptions::default())
            .map_err(|e| e.message())?;
        let cached = t.elapsed();
        println!(
            "{name:>15}: {:>9} entries, {:>7.1} MiB, first {:>8.2?}, unchanged (304 path) {:>8.2?}",
            r.entries,
            r.body.len() as f64 / 1_048_576.0,
            first,
            cached
        );
    }
    // A new report on a large hub: the slow snapshot is served on (the
    // server's refresher rebuilds it in the background).
    let extra = |title: &str, value: &str| {
        let domain = Observable::new(Kind::Domain, value).expect("a valid test value");
        RawDraft::new(
            title,
            IncidentType::Phishing,
            Tlp::Green,
            Audience::Community,
            vec![domain],
        )
    };
    let added = hub
        .submit_report(&author, extra("one more", "late.phish.example"), now)
        .map_err(|e| e.message())?;
    let t = Instant::now();
    hub.render_feed(&reader, FeedFormat::Rpz, &FeedOptions::default())
        .map_err(|e| e.message())?;
    println!(
        "RPZ right after a new report (served on): {:.2?}",
        t.elapsed()
    );
    // A withdrawal narrows: the next request rebuilds before answering.
    hub.delete_report(&author, &added.uid)
        .map_err(|e| e.message())?;
    let t = Instant::now();
    hub.render_feed(&reader, FeedFormat::Rpz, &FeedOptions::default())
        .map_err(|e| e.message())?;
    println!(
        "RPZ right after a report is deleted (rebuilt): {:.2?}",
        t.elapsed()
    );

    let t = Instant::now();
    let (set, _) = hub.prefix_set(&reader).map_err(|e| e.message())?;
    println!(
        "hash prefixes: {} prefixes ({:.1} MiB as raw 4-byte prefixes, {:.1} MiB as the JSON hex list) in {:.2?}",
        set.prefixes.len(),
        set.prefixes.len() as f64 * 4.0 / 1_048_576.0,
        set.prefixes.len() as f64 * 11.0 / 1_048_576.0,
        t.elapsed()
    );
    Ok(())
}
