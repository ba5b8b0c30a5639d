//! Shared harness for the fuzz targets that drive the real HTTP surface: one
//! hub on a temporary directory (in memory-backed `/dev/shm` when there is
//! one, so SQLite's fsyncs cost nothing), its axum router called in-process
//! with `tower::ServiceExt::oneshot`, and the checks every answer must pass.

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use kyojo_core::Role;
use kyojo_server::{AppState, Hub};
use serde_json::{json, Value};
use tower::ServiceExt;

pub const TAXII: &str = "application/taxii+json;version=2.1";

/// A fresh hub is opened after this many requests, so a long run does not
/// slow down as fuzzed writes pile up in one database.
const REQUESTS_PER_HUB: u32 = 20_000;

pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// One hub with a community in it: two organizations, an admin token, a
/// report (so PATCH has a target), an imported bundle (so TAXII has
/// objects), and the ids the targets put in paths.
pub struct World {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    pub token: String,
    pub report_id: String,
    /// A collection to read, and the one that accepts objects.
    pub collection: String,
    pub inbox: String,
    pub object_id: String,
    requests: u32,
    _dir: tempfile::TempDir,
}

fn tempdir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    // The last hub of a run lives in a static and is never dropped: remove
    // what earlier runs (processes no longer alive) left behind.
    for dir in [shm.to_path_buf(), std::env::temp_dir()] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix("kyojo-fuzz-")
                .and_then(|r| r.split('-').next());
            if let Some(pid) = pid.filter(|p| p.bytes().all(|b| b.is_ascii_digit())) {
                if !std::path::Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let prefix = format!("kyojo-fuzz-{}-", std::process::id());
    let b = tempfile::Builder::new().prefix(&prefix).tempdir_in(shm);
    b.or_else(|_| tempfile::Builder::new().prefix(&prefix).tempdir())
        .expect("temporary directory")
}

impl World {
    fn new() -> World {
        let dir = tempdir();
        std::fs::write(
            dir.path().join("kyojo.toml"),
            "rate_limit_per_second = 1e12\nrate_limit_burst = 1e12\n",
        )
        .expect("kyojo.toml");
        let hub = Arc::new(Hub::open(dir.path()).expect("open hub"));
        hub.add_org("Fuzz Bank", "finance").expect("org");
        hub.add_org("Other Telecom", "telecom").expect("org");
        let (_, token) = hub
            .create_token("Fuzz Bank", Role::Admin, None)
            .expect("token");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let router = kyojo_server::router(AppState::new(hub));
        let mut w = World {
            rt,
            router,
            token,
            report_id: String::new(),
            collection: String::new(),
            inbox: String::new(),
            object_id: String::new(),
            requests: 0,
            _dir: dir,
        };
        let report = json!({
            "title": "Fuzz seed report", "description": "seed", "incident_type": "phishing",
            "tlp": "GREEN", "audience": "community",
            "indicators": ["evil.example", "http://evil.example/a", "198.51.100.7",
                           {"type": "ipv4", "value": "203.0.113.0/24"}],
        });
        let a = w.json(Method::POST, "/api/v1/reports", &report);
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&a.body)
        );
        w.report_id = parse(&a.body)["id"].as_str().expect("id").to_string();
        let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": [{"type": "indicator", "spec_version": "2.1",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
                "pattern": "[domain-name:value = 'imported.example']", "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z"}]});
        let a = w.json(Method::POST, "/api/v1/stix?tlp=GREEN", &bundle);
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&a.body)
        );
        let a = w.request(Method::GET, "/taxii2/api/collections/", None, Vec::new());
        assert_eq!(
            a.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&a.body)
        );
        let collections = parse(&a.body)["collections"].clone();
        let list = collections.as_array().expect("collections");
        let id_where = |writable: bool| {
            list.iter()
                .find(|c| c["can_write"].as_bool() == Some(writable))
                .and_then(|c| c["id"].as_str())
                .expect("a collection")
                .to_string()
        };
        w.collection = id_where(false);
        w.inbox = id_where(true);
        let objects = format!("/taxii2/api/collections/{}/objects/", w.collection);
        let a = w.request(Method::GET, &objects, None, Vec::new());
        w.object_id = parse(&a.body)["objects"][0]["id"]
            .as_str()
            .unwrap_or("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
            .to_string();
        w
    }

    fn json(&mut self, method: Method, uri: &str, body: &Value) -> Answer {
        let bytes = serde_json::to_vec(body).expect("json");
        self.request(method, uri, Some("application/json"), bytes)
    }

    /// One request as the admin, answered in full. `None` if `uri` is not
    /// a URI at all (the HTTP layer, not the hub, refuses those).
    pub fn request(
        &mut self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        self.try_request(method, uri, content_type, body)
            .expect("a well-formed request")
    }

    pub fn try_request(
        &mut self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Option<Answer> {
        self.requests += 1;
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(
                header::ACCEPT,
                if uri.starts_with("/taxii2") {
                    TAXII
                } else {
                    "application/json"
                },
            );
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(Body::from(body)).ok()?;
        let router = self.router.clone();
        let (status, content_type, body) = self.rt.block_on(async move {
            let resp = router.oneshot(req).await.expect("infallible");
            let status = resp.status();
            let ct = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .expect("body");
            (status, ct, body.to_vec())
        });
        Some(Answer {
            status,
            content_type,
            body,
        })
    }
}

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// Runs `f` on the shared world, replacing it with a fresh one now and then.
pub fn with_world<T>(f: impl FnOnce(&mut World) -> T) -> T {
    static WORLD: OnceLock<Mutex<World>> = OnceLock::new();
    let mut w = WORLD
        .get_or_init(|| Mutex::new(World::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if w.requests >= REQUESTS_PER_HUB {
        *w = World::new();
    }
    f(&mut w)
}

/// No answer is a server error; a REST error is
/// `{"error": {"code", "message", "field"?}}`, naming the field when the
/// input was invalid; a TAXII error is `{"title", "description",
/// "http_status"}`; a success with a body is JSON.
pub fn check_answer(what: &str, a: &Answer, taxii: bool) {
    let text = String::from_utf8_lossy(&a.body);
    // KYOJO_FUZZ_TRACE=1 prints every answer (to see what a corpus reaches).
    static TRACE: OnceLock<bool> = OnceLock::new();
    if *TRACE.get_or_init(|| std::env::var_os("KYOJO_FUZZ_TRACE").is_some()) {
        let short: String = text.chars().take(160).collect();
        eprintln!("{what} -> {} {short}", a.status);
    }
    assert!(
        !a.status.is_server_error(),
        "{what}: server error {}: {text}",
        a.status
    );
    if a.body.is_empty() {
        assert!(
            a.status == StatusCode::NO_CONTENT,
            "{what}: {} with an empty body",
            a.status
        );
        return;
    }
    let body: Value = serde_json::from_slice(&a.body)
        .unwrap_or_else(|e| panic!("{what}: {} answer is not JSON ({e}): {text}", a.status));
    assert!(
        a.content_type.contains("json"),
        "{what}: content type {:?}",
        a.content_type
    );
    if !a.status.is_client_error() {
        return;
    }
    if taxii {
        let title = body["title"].as_str();
        let desc = body["description"].as_str();
        assert!(
            title.is_some_and(|t| !t.is_empty()),
            "{what}: TAXII error without a title: {text}"
        );
        assert!(
            desc.is_some_and(|d| !d.is_empty()),
            "{what}: TAXII error without a description: {text}"
        );
        assert_eq!(
            body["http_status"].as_str(),
            Some(a.status.as_str()),
            "{what}: http_status: {text}"
        );
        if title == Some("invalid_input") {
            // "<field>: <message>"; which names are right is the caller's to check.
            assert!(
                desc.is_some_and(|d| d.contains(": ")),
                "{what}: invalid input names no field: {text}"
            );
        }
        return;
    }
    let e = &body["error"];
    let code = e["code"].as_str();
    assert!(
        code.is_some_and(|c| !c.is_empty()),
        "{what}: error without a code: {text}"
    );
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: error without a message: {text}"
    );
    if code == Some("invalid_input") {
        assert!(
            e["field"].as_str().is_some_and(|f| !f.is_empty()),
            "{what}: invalid input names no field: {text}"
        );
    }
}
