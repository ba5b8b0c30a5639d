//! The OpenAPI document at `/api/v1/openapi.json` against the router: every
//! route under `/api/v1` is documented, every documented operation is routed
//! (a live call reaches a handler, not the fallback), and every reference
//! in the document resolves.

mod common;

use std::collections::BTreeSet;

use kyojo_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

/// The router template (of `kyojo_server::API_ROUTES`) that serves a
/// documented path: `{x}` takes one segment, `{*x}` the rest (one or more);
/// among several, the one with the most literal segments wins, as in axum.
fn served_by<'a>(doc_path: &str, templates: &[&'a str]) -> Option<&'a str> {
    let doc: Vec<&str> = doc_path.trim_start_matches('/').split('/').collect();
    let matches = |template: &str| {
        let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        for (i, seg) in t.iter().enumerate() {
            if seg.starts_with("{*") {
                return doc.len() > i;
            }
            let Some(d) = doc.get(i) else { return false };
            let param = seg.starts_with('{');
            if !param && seg != d {
                return false;
            }
        }
        t.len() == doc.len()
    };
    let literals = |t: &str| t.split('/').filter(|s| !s.starts_with('{')).count();
    templates
        .iter()
        .copied()
        .filter(|t| matches(t))
        .max_by_key(|t| literals(t))
}

/// A value for a documented path parameter that routes (the handler may
/// still refuse it).
fn sample(param: &str) -> &'static str {
    match param {
        "kind" => "domain",
        "value" => "evil.example",
        "name" => "rpz",
        "id" => "00000000-0000-4000-8000-000000000000",
        _ => "x",
    }
}

fn fill(doc_path: &str) -> String {
    doc_path
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(p) => sample(p).to_string(),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.push((m.to_string(), path.clone()));
            }
        }
    }
    out
}

/// Every `$ref` string anywhere in `v`.
fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_describes_every_route_and_only_routes() {
    let t = common::start().await;
    let admin = t.member("Docs Org", "telecom", Role::Admin);

    // Public, JSON, OpenAPI 3.1, relative server.
    let r = t.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("application/json"));
    let doc = r.body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Router → document and document → router, by template.
    let templates: Vec<&str> = kyojo_server::API_ROUTES.iter().map(|(_, p)| *p).collect();
    let routed: BTreeSet<(String, String)> = kyojo_server::API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let mut documented = BTreeSet::new();
    for (method, path) in operations(&doc) {
        let template = served_by(&path, &templates)
            .unwrap_or_else(|| panic!("{method} {path} is documented but matches no route"));
        documented.insert((method, template.to_string()));
    }
    assert_eq!(
        documented, routed,
        "documented operations (left) and routes (right) differ"
    );

    // Each documented operation, called, reaches its handler.
    for (method, path) in operations(&doc) {
        let url = format!("/api/v1{}", fill(&path));
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let body = matches!(m, Method::POST | Method::PATCH).then(|| json!({}));
        let r = t.call(m, &url, Some(&admin), body).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {url}");
        let fell_through =
            r.status == StatusCode::NOT_FOUND && r.body["error"]["message"] == "route not found";
        assert!(!fell_through, "{method} {url} is documented but not routed");
        let documented = &doc["paths"][&path][&method]["responses"];
        assert!(
            documented.get(r.status.as_str()).is_some(),
            "{method} {url} answered {} which its responses do not list: {}",
            r.status,
            r.text
        );
    }

    // Every reference resolves to a component.
    let mut all = BTreeSet::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }

    // Every operation but the document itself names the bearer scheme.
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][&method];
        if path == "/openapi.json" {
            continue;
        }
        let names: Vec<&str> = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path} has no security"))
            .iter()
            .filter_map(|s| s.as_object())
            .flat_map(|s| s.keys().map(String::as_str))
            .collect();
        assert_eq!(names, ["bearer"], "{method} {path}");
    }
}

#[tokio::test]
async fn the_root_links_to_the_document() {
    let t = common::start().await;
    let r = t.get("/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["openapi"], "/api/v1/openapi.json");
    let link = r.headers["link"].to_str().unwrap_or_default();
    assert_eq!(link, "</api/v1/openapi.json>; rel=\"service-desc\"");

    // A browser is sent to the web UI (the sign-in page when signed out);
    // the document stays one Link header away.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let html = browser
        .get(format!("{}/", t.base))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("request");
    assert_eq!(html.status(), StatusCode::SEE_OTHER);
    assert_eq!(html.headers()["location"], "/ui/");
    assert_eq!(
        html.headers()["link"],
        "</api/v1/openapi.json>; rel=\"service-desc\""
    );
}
