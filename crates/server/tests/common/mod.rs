//! A real hub on an ephemeral loopback port with a real SQLite file.

#![allow(dead_code)]

mod lcg;
#[allow(unused_imports)]
pub use lcg::Lcg;

use std::sync::Arc;

use kyojo_core::Role;
use kyojo_hub::Hub;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct TestHub {
    pub base: String,
    pub hub: Arc<Hub>,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The PostgreSQL schema this hub lives in, dropped with it.
    pg_schema: Option<(String, String)>,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some((url, schema)) = self.pg_schema.take() {
            // The sync client may not run on a runtime thread.
            let _ = std::thread::spawn(move || {
                if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            })
            .join();
        }
    }
}

/// With `KYOJO_TEST_POSTGRES` set (a libpq connection string), every test hub
/// keeps its data in a fresh schema of that PostgreSQL database instead of
/// SQLite: the PostgreSQL tier of `.ci/run` runs the whole suite that way.
pub fn postgres_under_test() -> Option<String> {
    std::env::var("KYOJO_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

pub async fn start() -> TestHub {
    start_with_config("").await
}

/// Starts a hub whose data directory holds `config` as kyojo.toml.
pub async fn start_with_config(config: &str) -> TestHub {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg_schema = postgres_under_test().map(|url| {
        let schema = format!("kyojo_t_{:016x}", rand::random::<u64>());
        (url, schema)
    });
    let config = match &pg_schema {
        // Top-level keys go before any [table] of the given config.
        Some((url, schema)) => {
            format!("database_url = {url:?}\ndatabase_schema = {schema:?}\n{config}")
        }
        None => config.to_string(),
    };
    if !config.is_empty() {
        std::fs::write(dir.path().join("kyojo.toml"), config).expect("write config");
    }
    let hub = Arc::new(Hub::open(dir.path()).expect("open hub"));
    let (base, tx) = serve_hub(hub.clone()).await;
    TestHub {
        base,
        hub,
        client: reqwest::Client::new(),
        dir,
        stop: Some(tx),
        pg_schema,
    }
}

/// A second server on the same data directory (and database): a restarted
/// hub, or another node. Dropping the sender stops it.
pub async fn serve_again(
    dir: &std::path::Path,
) -> (String, Arc<Hub>, tokio::sync::oneshot::Sender<()>) {
    let hub = Arc::new(Hub::open(dir).expect("open hub again"));
    let (base, tx) = serve_hub(hub.clone()).await;
    (base, hub, tx)
}

/// Serves `hub` on an ephemeral loopback port until the sender is used or dropped.
async fn serve_hub(hub: Arc<Hub>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kyojo_server::serve(listener, hub, async move {
        let _ = rx.await;
    }));
    (base, tx)
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestHub {
    /// Whether this hub keeps its data in PostgreSQL (see [`postgres_under_test`]).
    pub fn on_postgres(&self) -> bool {
        self.pg_schema.is_some()
    }

    /// Runs a query straight against this hub's PostgreSQL schema, through a
    /// connection independent of the hub's own.
    pub fn pg_query(&self, sql: &str) -> Vec<postgres::Row> {
        let (url, schema) = self.pg_schema.clone().expect("a PostgreSQL test hub");
        let sql = sql.to_string();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
            c.batch_execute(&format!("SET search_path TO {schema}"))
                .expect("search_path");
            c.query(&sql, &[]).expect("query")
        })
        .join()
        .expect("query thread")
    }

    /// Adds an organization and returns a token of `role` for it.
    pub fn member(&self, org: &str, sector: &str, role: Role) -> String {
        if self.hub.org_by_name(org).expect("org lookup").is_none() {
            self.hub.add_org(org, sector).expect("add org");
        }
        self.hub.create_token(org, role, None).expect("token").1
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Records a decision on an indicator (`POST …/decision`).
    pub async fn decide(&self, token: &str, kind: &str, value: &str, body: Value) -> Resp {
        self.post(
            &format!("/api/v1/indicators/{kind}/{value}/decision"),
            Some(token),
            body,
        )
        .await
    }

    /// A feed's text, asserting 200 (`name` may carry a query).
    pub async fn feed(&self, name: &str, token: Option<&str>) -> String {
        let r = self.get(&format!("/api/v1/feeds/{name}"), token).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        r.text
    }

    /// Shares a report and returns its id, asserting 201.
    pub async fn share(&self, token: &str, body: Value) -> String {
        let r = self.post("/api/v1/reports", Some(token), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body["id"].as_str().expect("id").to_string()
    }

    /// Which of `values` a lookup by `token` matches, as (canonical, indicator value, match).
    pub async fn lookup(
        &self,
        token: Option<&str>,
        values: &[&str],
    ) -> Vec<(String, String, String)> {
        let r = self
            .post("/api/v1/lookup", token, json!({ "values": values }))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let mut out = Vec::new();
        for res in r.body["results"].as_array().expect("results") {
            for m in res["matches"].as_array().expect("matches") {
                out.push((
                    res["canonical"].as_str().unwrap_or_default().to_string(),
                    m["indicator"]["value"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    m["match"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        out
    }
}

/// A minimal valid report body.
pub fn report(title: &str, tlp: &str, audience: Value, indicators: Value) -> Value {
    json!({
        "title": title,
        "description": "test",
        "incident_type": "phishing",
        "tlp": tlp,
        "audience": audience,
        "indicators": indicators,
    })
}

/// Asserts the error shape: status, code and (optionally) the field named.
pub fn assert_error(r: &Resp, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.body["error"]["code"], code, "{}", r.text);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        r.text
    );
    if let Some(f) = field {
        assert_eq!(r.body["error"]["field"], f, "{}", r.text);
    }
}
