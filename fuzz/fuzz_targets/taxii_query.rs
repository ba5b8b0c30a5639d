//! TAXII query parameters (`added_after`, `limit`, `next`, `match[...]`)
//! through the real router of a real hub, on every GET endpoint that takes
//! them: no answer is a server error, every error is a TAXII error that
//! names the parameter, every page is JSON no longer than its `limit`.
//!
//! Input: one byte picking the endpoint, then the raw query string. Bytes
//! a URI can't carry at all are percent-escaped; everything else (stray
//! `%`, `&`, `=`, `[`, `]`, `+`) goes through as sent.
#![no_main]

use axum::http::Method;
use kyojo_fuzz::{check_answer, with_world};
use libfuzzer_sys::fuzz_target;

const ENDPOINTS: &[&str] = &[
    "objects/",
    "manifest/",
    "objects/{object}/",
    "objects/{object}/versions/",
    "",
];

fn query(raw: &[u8]) -> String {
    let mut q = String::with_capacity(raw.len());
    for &b in raw {
        let keep = b.is_ascii_graphic()
            && !matches!(
                b,
                b'#' | b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
            );
        if keep {
            q.push(char::from(b));
        } else {
            q.push_str(&format!("%{b:02X}"));
        }
    }
    q
}

/// The `limit` the request asked for, when it is the only one and valid.
fn asked_limit(q: &str) -> Option<usize> {
    let mut limits = q.split('&').filter_map(|p| p.strip_prefix("limit="));
    let n = limits.next()?.parse().ok()?;
    limits.next().is_none().then_some(n)
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, raw)) = data.split_first() else {
        return;
    };
    let endpoint = ENDPOINTS[usize::from(pick) % ENDPOINTS.len()];
    let q = query(raw);
    with_world(|w| {
        let path = endpoint.replace("{object}", &w.object_id);
        let uri = format!("/taxii2/api/collections/{}/{path}?{q}", w.collection);
        let Some(a) = w.try_request(Method::GET, &uri, None, Vec::new()) else {
            return;
        };
        check_answer(&uri, &a, true);
        let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
        if body["title"] == "invalid_input" {
            // The error names a parameter of this request.
            let desc = body["description"].as_str().unwrap_or_default();
            let sent = form_urlencoded::parse(q.as_bytes())
                .any(|(k, _)| desc.starts_with(&format!("{k}: ")));
            assert!(sent, "{uri}: {desc:?} names no parameter sent");
        }
        if a.status.is_success() {
            let n = body["objects"].as_array().map(Vec::len).unwrap_or(0);
            if let Some(limit) = asked_limit(&q) {
                assert!(n <= limit, "{uri}: {n} objects over limit {limit}");
            }
        }
    });
});
