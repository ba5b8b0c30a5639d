//! Several kyojo nodes on one PostgreSQL database (the scale-out set-up):
//! what one node writes, the others' lookup indexes, feeds and dashboards
//! take in within a poll (`Hub::follow_other_nodes`, which the server runs
//! every second). Runs when `KYOJO_TEST_POSTGRES` names a database (the
//! PostgreSQL tier of `.ci/run`); skips otherwise.

use kyojo_core::policy::Member;
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, Role, Tlp, Viewer};
use kyojo_hub::feeds::{FeedFormat, FeedOptions};
use kyojo_hub::hub::{now_millis, RawDraft};
use kyojo_hub::Hub;

struct Nodes {
    a: Hub,
    b: Hub,
    url: String,
    schema: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        })
        .join();
    }
}

/// Two hubs sharing one data directory's configuration and secret, and one schema.
fn two_nodes() -> Option<Nodes> {
    let Some(url) = std::env::var("KYOJO_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: set KYOJO_TEST_POSTGRES to run the multi-node tests");
        return None;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = format!("kyojo_t_{:016x}", rand::random::<u64>());
    std::fs::write(
        dir.path().join("kyojo.toml"),
        format!(
            "database_url = {url:?}\ndatabase_schema = {schema:?}\n[rules]\ntrusted_orgs = [\"Org A\"]\n"
        ),
    )
    .expect("config");
    let a = Hub::open(dir.path()).expect("node a");
    let b = Hub::open(dir.path()).expect("node b");
    Some(Nodes {
        a,
        b,
        url,
        schema,
        _dir: dir,
    })
}

fn member(hub: &Hub, name: &str, role: Role) -> Viewer {
    let org = hub
        .org_by_name(name)
        .expect("org lookup")
        .expect("org exists");
    Viewer::Member(Member {
        org: org.id,
        sector: org.sector,
        role,
    })
}

fn text(r: &kyojo_hub::feeds::Rendered) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn found(hub: &Hub, viewer: &Viewer, value: &str) -> bool {
    let q = Observable::new(Kind::Domain, value).expect("a valid test value");
    !hub.lookup(viewer, &[q]).expect("lookup")[0].is_empty()
}

#[test]
fn what_one_node_writes_the_others_serve() {
    let Some(n) = two_nodes() else { return };
    n.a.add_org("Org A", "finance").expect("org");
    n.a.add_org("ISP", "telecom").expect("org");
    n.b.follow_other_nodes().expect("follow");
    let author = member(&n.a, "Org A", Role::Analyst);
    let reader = member(&n.b, "ISP", Role::Consumer);

    // Node b draws its feed (and caches it) before the report exists.
    let before =
        n.b.render_feed(&reader, FeedFormat::DomainsTxt, &FeedOptions::default())
            .expect("feed");
    let report =
        n.a.submit_report(
            &author,
            RawDraft::new(
                "shared on node a",
                IncidentType::Phishing,
                Tlp::Green,
                Audience::Community,
                vec![Observable::new(Kind::Domain, "phish.nodes.example")
                    .expect("a valid test value")],
            ),
            now_millis(),
        )
        .expect("report");
    // Until it polls, node b serves what it had.
    let stale =
        n.b.render_feed(&reader, FeedFormat::DomainsTxt, &FeedOptions::default())
            .expect("feed");
    assert_eq!(stale.etag, before.etag);
    assert!(!text(&stale).contains("phish.nodes.example"));
    assert!(!found(&n.b, &reader, "login.phish.nodes.example"));

    n.b.follow_other_nodes().expect("follow");
    // Its index matches subdomains of what node a stored...
    assert!(found(&n.b, &reader, "login.phish.nodes.example"));
    // ...and its cached feed was dropped: the trusted author's report is there.
    let after =
        n.b.render_feed(&reader, FeedFormat::DomainsTxt, &FeedOptions::default())
            .expect("feed");
    assert!(
        text(&after).contains("phish.nodes.example"),
        "{}",
        text(&after)
    );
    assert_ne!(before.etag, after.etag);
    // A node does not hear its own writes back as foreign ones.
    let generation =
        n.a.render_feed(&reader, FeedFormat::DomainsTxt, &FeedOptions::default())
            .expect("feed")
            .etag;
    n.a.follow_other_nodes().expect("follow");
    assert_eq!(
        n.a.render_feed(&reader, FeedFormat::DomainsTxt, &FeedOptions::default())
            .expect("feed")
            .etag,
        generation
    );

    // Node b now counts as a large hub: its snapshot is served on after
    // widening writes and patched after narrowing ones.
    n.b.set_slow_threshold(std::time::Duration::ZERO);
    n.a.submit_report(
        &author,
        RawDraft::new(
            "another on node a",
            IncidentType::Phishing,
            Tlp::Green,
            Audience::Community,
            vec![Observable::new(Kind::Domain, "later.nodes.example").expect("a valid test value")],
        ),
        now_millis(),
    )
    .expect("report");
    // Withdrawn on node a: gone from node b after its next poll. The change
    // log names the report's indicators, so node b patches its snapshot for
    // them alone: the other new report waits for the background refresh.
    n.a.delete_report(&author, &report.uid).expect("delete");
    n.b.follow_other_nodes().expect("follow");
    assert!(!found(&n.b, &reader, "login.phish.nodes.example"));
    let gone =
        n.b.render_feed(&reader, FeedFormat::DomainsTxt, &FeedOptions::default())
            .expect("feed");
    assert!(!text(&gone).contains("phish.nodes.example"));
    assert!(!text(&gone).contains("later.nodes.example"));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    n.b.refresh_snapshot().expect("refresh");
    let refreshed =
        n.b.render_feed(&reader, FeedFormat::DomainsTxt, &FeedOptions::default())
            .expect("feed");
    assert!(text(&refreshed).contains("later.nodes.example"));
    assert!(!text(&refreshed).contains("phish.nodes.example"));
}
