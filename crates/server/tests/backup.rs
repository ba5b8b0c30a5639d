//! Backup and restore (`kyojo backup`, `kyojo restore`), and the secret key's
//! fingerprint: a hub refuses to start on a key that is not its database's.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kyojo_core::decide::Action;
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, Role, Tlp, Viewer};
use kyojo_hub::backup::{backup, restore, BackupError};
use kyojo_hub::hub::{now_millis, RawDraft};
use kyojo_hub::Hub;
use kyojo_store::{IndicatorScan, NewSighting, ReportScan, StixScan, Store};

fn domain(v: &str) -> Observable {
    Observable::new(Kind::Domain, v).expect("a valid test value")
}

fn viewer(hub: &Hub, token: &str) -> Viewer {
    hub.authenticate(token).expect("token").0
}

/// Everything a hub's store answers, as text, for comparing two stores;
/// `keep` says which writer-made values (`w<n>.example`, report `w<n>`) to include.
fn every_read(
    store: &dyn Store,
    keep_report: &dyn Fn(&str) -> bool,
    keep_value: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!("orgs {:?}", store.list_orgs().unwrap()));
    out.push(format!("tokens {:?}", store.list_tokens().unwrap()));
    out.push(format!("audit {:?}", store.audit_log(100_000).unwrap()));
    out.push(format!("allow {:?}", store.allow_list().unwrap()));
    let reports: Vec<_> = store
        .scan_reports(&ReportScan {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter(|r| keep_report(&r.title))
        .collect();
    let rowids: Vec<i64> = reports.iter().map(|r| r.rowid).collect();
    out.push(format!("reports {reports:?}"));
    let indicators: Vec<_> = store
        .scan_indicators(&IndicatorScan {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter(|i| keep_value(&i.observable.value))
        .collect();
    let ids: Vec<i64> = indicators.iter().map(|i| i.id).collect();
    for i in &indicators {
        out.push(format!(
            "decisions of {} {:?}",
            i.observable.value,
            store.decisions_of(i.id).unwrap()
        ));
        out.push(format!(
            "sightings of {} {:?}",
            i.observable.value,
            store.sightings_of(i.id).unwrap()
        ));
    }
    out.push(format!("indicators {indicators:?}"));
    let links: Vec<_> = store
        .report_links(&ids)
        .unwrap()
        .into_iter()
        .filter(|l| keep_report(&l.title))
        .collect();
    out.push(format!("links {links:?}"));
    out.push(format!(
        "summaries {:?}",
        store.sighting_summaries(&ids).unwrap()
    ));
    out.push(format!(
        "latest decisions {:?}",
        store.latest_decisions().unwrap()
    ));
    let stix: Vec<_> = store
        .scan_stix(&StixScan {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter(|s| s.report.is_none_or(|r| rowids.contains(&r)))
        .collect();
    out.push(format!("stix {stix:?}"));
    out
}

/// The writer's number in `w<n>` or `w<n>.example`.
fn writer_number(s: &str) -> Option<usize> {
    s.strip_prefix('w')?
        .trim_end_matches(".example")
        .parse()
        .ok()
}

#[test]
fn a_backup_taken_while_writing_restores_every_read_as_of_that_moment() {
    let source = tempfile::tempdir().unwrap();
    let hub = Arc::new(Hub::open(source.path()).unwrap());
    let operator = Viewer::Member(kyojo_core::policy::Member {
        org: 0,
        sector: String::new(),
        role: Role::Admin,
    });
    hub.admit_org(&operator, "Backed Bank", "finance").unwrap();
    hub.admit_org(&operator, "Other Org", "telecom").unwrap();
    let (_, analyst) = hub
        .mint_token(&operator, "Backed Bank", Role::Analyst, None)
        .unwrap();
    let (_, other) = hub
        .mint_token(&operator, "Other Org", Role::Analyst, None)
        .unwrap();
    let a = viewer(&hub, &analyst);
    let o = viewer(&hub, &other);
    let now = now_millis();
    let anonymous = hub
        .submit_report(
            &a,
            RawDraft {
                anonymous: true,
                description: "anonymous, amber".into(),
                ..RawDraft::new(
                    "quiet",
                    IncidentType::Ransomware,
                    Tlp::Amber,
                    Audience::Community,
                    vec![domain("quiet.example")],
                )
            },
            now,
        )
        .unwrap();
    let other_org = hub.org_by_name("Other Org").unwrap().unwrap();
    hub.submit_report(
        &a,
        RawDraft::new(
            "red",
            IncidentType::Phishing,
            Tlp::Red,
            Audience::Orgs([other_org.id].into()),
            vec![domain("red.example")],
        ),
        now,
    )
    .unwrap();
    hub.add_sightings(
        &o,
        &[NewSighting {
            observable: domain("quiet.example"),
            seen_at: now,
            count: 4,
        }],
    )
    .unwrap();
    hub.decide(
        &o,
        &domain("quiet.example"),
        Action::Block,
        "seen here",
        None,
        kyojo_hub::decide::DecideFor::Own,
    )
    .unwrap();
    hub.allow_add(&operator, &domain("fine.example"), "ours")
        .unwrap();

    // A writer goes on writing: sightings of w<n>.example, then report w<n>.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (hub, stop, written, a) = (hub.clone(), stop.clone(), written.clone(), a.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let value = format!("w{n}.example");
                hub.add_sightings(
                    &a,
                    &[NewSighting {
                        observable: domain(&value),
                        seen_at: now_millis(),
                        count: n as u64 + 1,
                    }],
                )
                .unwrap();
                hub.submit_report(
                    &a,
                    RawDraft::new(
                        &format!("w{n}"),
                        IncidentType::Malware,
                        Tlp::Green,
                        Audience::Community,
                        vec![domain(&value)],
                    ),
                    now_millis(),
                )
                .unwrap();
                n += 1;
                written.store(n, Ordering::SeqCst);
            }
        })
    };
    let wait_for = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while written.load(Ordering::SeqCst) < count {
            assert!(Instant::now() < deadline, "the writer stalled");
            std::thread::yield_now();
        }
    };
    wait_for(3);
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("backup");
    let w = backup(source.path(), &copy).unwrap();
    let at_backup_end = written.load(Ordering::SeqCst);
    wait_for(at_backup_end + 3);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert_eq!(w.files, vec!["kyojo.sqlite", "secret.key"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&copy), 0o700);
        assert_eq!(mode(&copy.join("kyojo.sqlite")), 0o600);
        assert_eq!(mode(&copy.join("secret.key")), 0o600);
    }

    let restored_dir = out.path().join("restored");
    restore(&copy, &restored_dir, false).unwrap();
    let restored = Hub::open(&restored_dir).unwrap();

    // The copy holds the writer's writes up to one moment: reports w0..w(m-1)
    // and sighting batches w0..w(s-1), s being m or m + 1.
    let r = restored.store();
    let titles: Vec<usize> = r
        .scan_reports(&ReportScan {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .filter_map(|r| writer_number(&r.title))
        .collect();
    let m = titles.len();
    let mut sorted = titles.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..m).collect::<Vec<_>>(),
        "a prefix of the writer's reports"
    );
    let s = r
        .scan_indicators(&IndicatorScan {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .filter(|i| writer_number(&i.observable.value).is_some())
        .count();
    assert!(s == m || s == m + 1, "reports {m}, sighting batches {s}");
    assert!(
        m >= 3 && s <= at_backup_end,
        "as of the backup: {m} of {at_backup_end}"
    );
    assert!(
        written.load(Ordering::SeqCst) > s,
        "later writes are not in it"
    );

    let keep_report = |t: &str| writer_number(t).is_none_or(|n| n < m);
    let keep_value = |v: &str| writer_number(v).is_none_or(|n| n < s);
    let want = every_read(hub.store(), &keep_report, &keep_value);
    let got = every_read(restored.store(), &keep_report, &keep_value);
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g);
    }

    // The restored hub serves, with the same key: the owner of the anonymous
    // report is still its owner, its tokens still work.
    let restored = Arc::new(restored);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(kyojo_server::serve(
            listener,
            restored.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        let id = uuid::Uuid::from_bytes(anonymous.uid).to_string();
        let r = reqwest::Client::new()
            .get(format!("{base}/api/v1/reports/{id}"))
            .bearer_auth(&analyst)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["mine"], true, "{body}");
        assert_eq!(body["organization"], serde_json::Value::Null);
        let _ = tx.send(());
    });
}

#[test]
fn restore_refuses_a_foreign_key_and_a_non_empty_directory() {
    let source = tempfile::tempdir().unwrap();
    drop(Hub::open(source.path()).unwrap());
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("b");
    backup(source.path(), &copy).unwrap();
    // Into a non-empty directory: refused, unless forced.
    let busy = out.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "keep").unwrap();
    assert!(matches!(
        restore(&copy, &busy, false),
        Err(BackupError::NotEmpty(..))
    ));
    restore(&copy, &busy, true).unwrap();
    assert!(
        busy.join("notes.txt").exists(),
        "only the hub's files are replaced"
    );
    drop(Hub::open(&busy).unwrap());
    // A backup into a non-empty directory is refused too.
    assert!(matches!(
        backup(source.path(), &busy),
        Err(BackupError::NotEmpty(..))
    ));

    // The backup's key swapped for another: nothing is restored.
    std::fs::remove_file(copy.join("secret.key")).unwrap();
    std::fs::write(copy.join("secret.key"), [7u8; 32]).unwrap();
    let fresh = out.path().join("fresh");
    let err = restore(&copy, &fresh, false).expect_err("refused");
    assert!(matches!(err, BackupError::KeyMismatch { .. }), "{err}");
    assert!(!fresh.join("kyojo.sqlite").exists());
}

#[test]
fn a_hub_refuses_a_secret_key_that_is_not_its_databases() {
    let dir = tempfile::tempdir().unwrap();
    drop(Hub::open(dir.path()).unwrap());
    let key = dir.path().join("secret.key");
    let original = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    std::fs::write(&key, [1u8; 32]).unwrap();
    let err = Hub::open(dir.path()).err().expect("refused");
    let text = err.to_string();
    assert!(text.contains(&key.display().to_string()), "{text}");
    assert!(text.contains("kyojo.sqlite"), "{text}");
    assert!(text.contains("not the secret key"), "{text}");
    // A missing key is a new key: refused as well, never silently replaced.
    std::fs::remove_file(&key).unwrap();
    assert!(Hub::open(dir.path()).is_err());
    std::fs::remove_file(&key).unwrap();
    std::fs::write(&key, &original).unwrap();
    drop(Hub::open(dir.path()).expect("its own key"));
}

#[test]
fn a_postgresql_node_refuses_a_secret_key_that_is_not_its_databases() {
    let Some(url) = std::env::var("KYOJO_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert_ne!(
            std::env::var("KYOJO_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "KYOJO_REQUIRE_POSTGRES=1 but KYOJO_TEST_POSTGRES is not set"
        );
        eprintln!("skipped: set KYOJO_TEST_POSTGRES to run the PostgreSQL key test");
        return;
    };
    let schema = format!("kyojo_t_{:016x}", rand::random::<u64>());
    let config = format!("database_url = {url:?}\ndatabase_schema = {schema:?}\n");
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    std::fs::write(first.path().join("kyojo.toml"), &config).unwrap();
    std::fs::write(second.path().join("kyojo.toml"), &config).unwrap();
    let result = std::panic::catch_unwind(|| {
        drop(Hub::open(first.path()).expect("first node"));
        let err = Hub::open(second.path())
            .err()
            .expect("a node with another key is refused");
        let text = err.to_string();
        assert!(text.contains("not the secret key"), "{text}");
        assert!(text.contains(&schema), "{text}");
        assert!(
            text.contains(&second.path().join("secret.key").display().to_string()),
            "{text}"
        );
        // With the first node's key it starts.
        std::fs::remove_file(second.path().join("secret.key")).unwrap();
        std::fs::copy(
            first.path().join("secret.key"),
            second.path().join("secret.key"),
        )
        .unwrap();
        drop(Hub::open(second.path()).expect("same key"));
    });
    let drop_schema = schema.clone();
    let _ = std::thread::spawn(move || {
        if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {drop_schema} CASCADE"));
        }
    })
    .join();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
