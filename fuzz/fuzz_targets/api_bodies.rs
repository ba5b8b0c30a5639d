//! The JSON bodies of every write endpoint, through the real router of a
//! real hub (in-process, admin token): no answer is a server error, every
//! error is JSON that names its field, every success is JSON.
//!
//! Input: one byte picking the endpoint (the tags below; any other byte
//! picks one by its value), then the body as sent.
#![no_main]

use axum::http::Method;
use kyojo_fuzz::{check_answer, with_world, TAXII};
use libfuzzer_sys::fuzz_target;

/// (tag, method, path; `{report}` and `{inbox}` are filled in).
const ENDPOINTS: &[(u8, &str, &str)] = &[
    (b'R', "POST", "/api/v1/reports"),
    (b'P', "PATCH", "/api/v1/reports/{report}"),
    (b'S', "POST", "/api/v1/sightings"),
    (b'L', "POST", "/api/v1/lookup"),
    (
        b'D',
        "POST",
        "/api/v1/indicators/domain/evil.example/decision",
    ),
    (
        b'U',
        "POST",
        "/api/v1/indicators/url/http://evil.example/a/decision",
    ),
    (
        b'C',
        "POST",
        "/api/v1/indicators/ipv4/203.0.113.0/24/decision",
    ),
    (b'A', "POST", "/api/v1/allowlist"),
    (b'O', "POST", "/api/v1/orgs"),
    (b'T', "POST", "/api/v1/tokens"),
    (b'H', "POST", "/api/v1/hashes:search"),
    (b'X', "POST", "/api/v1/stix"),
    (b'M', "POST", "/api/v1/misp/events"),
    (b'Z', "POST", "/api/v1/imports/urlhaus"),
    (b'I', "POST", "/taxii2/api/collections/{inbox}/objects/"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&tag, body)) = data.split_first() else {
        return;
    };
    let &(_, method, path) = ENDPOINTS
        .iter()
        .find(|e| e.0 == tag)
        .unwrap_or(&ENDPOINTS[usize::from(tag) % ENDPOINTS.len()]);
    with_world(|w| {
        let uri = path
            .replace("{report}", &w.report_id)
            .replace("{inbox}", &w.inbox);
        let taxii = uri.starts_with("/taxii2");
        let ct = if taxii { TAXII } else { "application/json" };
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let a = w.request(method, &uri, Some(ct), body.to_vec());
        check_answer(&format!("{} {uri}", char::from(tag)), &a, taxii);
    });
});
