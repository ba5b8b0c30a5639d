//! `Idempotency-Key` on writes under `/api/v1`: a client that did not see an
//! answer sends the same request again with the same key, and the write
//! happens once.
//!
//! * The key is scoped by the caller's token, the method and the path, and
//!   stored only as a keyed hash ([`Hub::keyed_hash`]); the request is
//!   remembered by its SHA-256 (method, path, query, body).
//! * The claim is recorded **in the transaction of the write itself**: the
//!   handler's Hub work runs with the claim as its thread's
//!   ([`kyojo_store::with_claim`], set by [`crate::runtime::blocking`]), and the
//!   store's guarded writes record it before they commit, or fail, writing
//!   nothing, when the key is already claimed. A crash can never keep the
//!   write and lose the key.
//! * The response (status, type, `Location`, body up to [`MAX_KEPT`]) is
//!   kept just after; a replay gets it again with `Idempotent-Replayed:
//!   true`. A replay while the first request runs is 409; the same key with
//!   another request is 422. If the server stopped between the write and
//!   keeping its response, a replay is 409 `already_done` (the write is
//!   stored once; read it back instead).
//! * Claims are remembered for 24 hours, then purged (a bounded batch at
//!   most once a minute).
//!
//! Requests that write nothing (lookups, hash searches, refused requests)
//! record nothing. `POST /tokens` refuses a key: its response carries a new
//! token's secret, which is never stored.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use kyojo_store::{Claim, ClaimRecord, ClaimSlot, KeptResponse};

use crate::error::ApiError;
use crate::AppState;
use kyojo_hub::hub::{now_millis, Hub};

pub const HEADER: &str = "Idempotency-Key";
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// How long a key is remembered.
pub const KEPT_MS: i64 = 24 * 3_600_000;
/// Largest response body kept for replays; a larger one is not kept (a
/// replay is then 409 `already_done`).
pub const MAX_KEPT: usize = 1 << 20;
/// A claim another node made this recently, without a response yet, is
/// taken to be still in flight there.
const IN_FLIGHT_ELSEWHERE_MS: i64 = 60_000;
/// Claims purged at most per purge.
const PURGE_BATCH: usize = 10_000;

/// This process, in the claims it makes.
static NODE: LazyLock<i64> = LazyLock::new(rand::random::<i64>);
/// Keys (hashed) whose first request is being handled in this process.
static IN_FLIGHT: LazyLock<Mutex<HashSet<[u8; 32]>>> = LazyLock::new(Default::default);
static LAST_PURGE: AtomicI64 = AtomicI64::new(0);

/// Removes a key from [`IN_FLIGHT`] however the request ends.
struct InFlight([u8; 32]);

impl InFlight {
    fn enter(key: [u8; 32]) -> Option<InFlight> {
        let fresh = IN_FLIGHT.lock().insert(key);
        fresh.then(|| InFlight(key))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.lock().remove(&self.0);
    }
}

fn key_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    ApiError::new(status, code, message)
        .with_field(HEADER)
        .into_response()
}

fn in_flight() -> Response {
    let mut r = key_error(
        StatusCode::CONFLICT,
        "in_flight",
        "a request with this Idempotency-Key is still being carried out; retry in a moment",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// The middleware for `/api/v1`.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE) {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k)
            if !k.is_empty()
                && k.len() <= MAX_KEY_LEN
                && k.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
        {
            k.to_string()
        }
        _ => {
            return ApiError::invalid(
                HEADER,
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} printable ASCII characters"),
            )
            .into_response()
        }
    };
    if req.uri().path().trim_end_matches('/').ends_with("/tokens") && req.method() == Method::POST {
        return ApiError::invalid(
            HEADER,
            "Idempotency-Key is not supported here: the response carries a new token's secret, which is never stored",
        )
        .into_response();
    }
    // Only a caller whose token is valid has keys; without one the handler
    // answers 401/403 itself.
    let token = crate::auth::bearer(req.headers());
    let Some(token) = token else {
        return next.run(req).await;
    };
    let hub = state.hub.clone();
    let Ok((_, record)) = crate::runtime::blocking(move || hub.authenticate(&token)).await else {
        return next.run(req).await;
    };

    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, state.hub.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::too_large(format!(
                "the body is larger than {} bytes",
                state.hub.config.max_body_bytes
            ))
            .into_response()
        }
    };
    // The path as the client sent it, before /api/v1 was stripped.
    let uri = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
    let method = parts.method.as_str();
    let request = request_hash(method, uri.path(), uri.query().unwrap_or(""), &bytes);
    let hashed = key_hash(&state.hub, &record.public_id, method, uri.path(), &key);
    purge_now_and_then(&state);

    let Some(_guard) = InFlight::enter(hashed) else {
        return in_flight();
    };
    let now = now_millis();
    match kept(&state, hashed).await {
        Ok(Some(rec)) if rec.at >= now - KEPT_MS => return replay(&state, &rec, &request),
        Ok(_) => {}
        Err(resp) => return resp,
    }

    let slot = ClaimSlot::new(Claim {
        key: hashed,
        request,
        node: *NODE,
        at: now,
        expired_before: now - KEPT_MS,
    });
    let req = Request::from_parts(parts, Body::from(bytes));
    let resp = crate::runtime::with_claim(slot.clone(), next.run(req)).await;
    if slot.key_taken() {
        // Another node claimed the key first: answer as to a replay.
        return match kept(&state, hashed).await {
            Ok(Some(rec)) => replay(&state, &rec, &request),
            Ok(None) => in_flight(),
            Err(resp) => resp,
        };
    }
    if !slot.committed() {
        return resp;
    }
    // The write is stored with its claim; keep the answer for replays.
    let (head, body) = resp.into_parts();
    // Handlers' bodies are already in memory; this only collects them.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    if bytes.len() > MAX_KEPT {
        // Too large to keep: the write stands, and a replay will say so.
        return Response::from_parts(head, Body::from(bytes));
    }
    let keep = KeptResponse {
        status: head.status.as_u16(),
        content_type: header_text(&head.headers, header::CONTENT_TYPE),
        location: header_text(&head.headers, header::LOCATION),
        body: bytes.to_vec(),
    };
    let hub = state.hub.clone();
    if let Err(e) = crate::runtime::blocking(move || hub.keep_response(&hashed, &keep)).await {
        tracing::warn!(error = %e.message, "keeping an idempotent response");
    }
    Response::from_parts(head, Body::from(bytes))
}

/// What identifies a request: SHA-256 of its method, path, query and body.
pub fn request_hash(method: &str, path: &str, query: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), query.as_bytes(), body] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// How a key is stored: a keyed hash of the token's public id, the method,
/// the path and the key.
pub fn key_hash(hub: &Hub, token_public_id: &str, method: &str, path: &str, key: &str) -> [u8; 32] {
    hub.keyed_hash(
        "idempotency key",
        &[
            token_public_id.as_bytes(),
            method.as_bytes(),
            path.as_bytes(),
            key.as_bytes(),
        ],
    )
}

fn header_text(h: &axum::http::HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn kept(state: &AppState, key: [u8; 32]) -> Result<Option<ClaimRecord>, Response> {
    let hub = state.hub.clone();
    crate::runtime::blocking(move || hub.claim(&key))
        .await
        .map_err(IntoResponse::into_response)
}

/// The answer to a request whose key is claimed already.
fn replay(state: &AppState, rec: &ClaimRecord, request: &[u8; 32]) -> Response {
    if rec.request != *request {
        return key_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request; use a new key for a new request",
        );
    }
    let Some(kept) = &rec.response else {
        let elsewhere = state.hub.shared_store()
            && rec.node != *NODE
            && now_millis() - rec.at < IN_FLIGHT_ELSEWHERE_MS;
        if elsewhere {
            return in_flight();
        }
        return key_error(
            StatusCode::CONFLICT,
            "already_done",
            "this request was carried out and its write is stored, but the server stopped before \
             its response was kept; read the result back instead of retrying",
        );
    };
    let mut resp = Response::new(Body::from(kept.body.clone()));
    *resp.status_mut() = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, &kept.content_type),
        (header::LOCATION, &kept.location),
    ] {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(name, v);
        }
    }
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

/// Forgets expired claims, a bounded batch at most once a minute.
fn purge_now_and_then(state: &AppState) {
    let now = now_millis();
    let last = LAST_PURGE.load(Ordering::Relaxed);
    if now - last < 60_000
        || LAST_PURGE
            .compare_exchange(last, now, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let hub = state.hub.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = hub.purge_claims(now - KEPT_MS, PURGE_BATCH) {
            tracing::warn!(error = %e, "purging expired idempotency keys");
        }
    });
}
