//! The edge before the router: connections, timeouts, early refusals, the
//! rate limiter, and JSON for every error.
//!
//! * [`serve_connections`]: the accept loop. Connections are capped in total
//!   and per client address (an IPv6 client by its /64); excess ones get a
//!   503 and are closed at once. A client has `header_read_timeout_secs` to
//!   send a request's headers (idle kept-alive connections too), and heads
//!   are limited in size. hyper's own answers to unparseable heads (400, 414,
//!   431) are rewritten as JSON errors on their way out ([`JsonHeadErrors`]).
//! * [`guard`]: the outermost middleware. Refuses a `Content-Length` above
//!   `max_body_bytes` (413) and a long URI (414) before anything is read, puts
//!   a deadline on reading the body (408), and turns any plain-text error an
//!   extractor produced into the API's JSON shape.
//! * [`rate_limit`]: token buckets per *verified* token or per client
//!   address. A token is verified against the store once; its public id and
//!   secret hash are then remembered for a few minutes, so later requests
//!   (and forged tokens carrying that public id, which never touch its
//!   bucket) are checked in memory. A store read for an unknown public id
//!   that fails draws on a small per-address budget; once it is spent,
//!   further unknown tokens from that address get 429 without a store read.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::error::ApiError;
use crate::ratelimit::{BoundedMap, ClientKey, RateLimiter};
use crate::AppState;
use kyojo_hub::hub::Hub;

/// Longest request target (path and query) accepted, in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest request head (request line and headers) accepted, in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long a verified token is remembered for choosing its bucket.
const VERIFIED_TTL: Duration = Duration::from_secs(300);
/// Tokens remembered as verified (only real tokens ever get in).
const VERIFIED_CAPACITY: usize = 16_384;
/// Failed token verifications allowed per client address: sustained, burst.
const FAILURES_PER_SECOND: f64 = 2.0;
const FAILURES_BURST: f64 = 20.0;
/// Requests refused for bad tokens after the failure budget is spent, per
/// client address: beyond this rate the address is a flood, not a typo.
const REFUSALS_PER_SECOND: f64 = 200.0;
const REFUSALS_BURST: f64 = 1000.0;
/// How long a flood's refusals are held back: a connection that floods
/// waits this long for each answer, so an address gets at most its
/// connection cap per second through, at the cost of a timer each. Valid
/// tokens from the same address (users behind one NAT) are not held.
const TARPIT: Duration = Duration::from_secs(1);

// ---- rate limiting ---------------------------------------------------------------------

/// The rate limiter's state, shared by every request.
pub struct Limits {
    buckets: RateLimiter,
    failures: RateLimiter,
    /// Refusals of bad tokens once `failures` is spent, per address: past
    /// its budget the address is flooding and its refusals are tarpitted.
    refusals: RateLimiter,
    /// Public id → secret hash of tokens verified lately.
    verified: BoundedMap<u64, [u8; 32]>,
}

impl Limits {
    pub fn new(rate_per_second: f64, burst: f64) -> Self {
        Limits {
            buckets: RateLimiter::new(rate_per_second, burst),
            failures: RateLimiter::new(FAILURES_PER_SECOND, FAILURES_BURST),
            refusals: RateLimiter::new(REFUSALS_PER_SECOND, REFUSALS_BURST),
            verified: BoundedMap::new(VERIFIED_CAPACITY),
        }
    }

    /// Entries held in all of the limiter's maps (each is bounded).
    pub fn entries(&self) -> usize {
        self.buckets.len() + self.failures.len() + self.refusals.len() + self.verified.len()
    }
}

/// The token a request presents: `Bearer <token>`, or HTTP Basic with the
/// token as password (or as user name alone), if it has our token's shape.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_string()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, pass) = text.split_once(':').unwrap_or((&text, ""));
        if pass.is_empty() { user } else { pass }.to_string()
    } else {
        return None;
    };
    crate::auth::parse(&token).is_some().then_some(token)
}

fn client_addr(req: &Request) -> ClientKey {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| ClientKey::addr(c.0.ip()))
        .unwrap_or(ClientKey::V4(0))
}

/// Chooses the caller's bucket (verifying an unknown token first) and takes
/// one request from it.
pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let limits = &state.limits;
    let addr = client_addr(&req);
    let key = match presented_token(req.headers()) {
        None => addr,
        Some(token) => {
            let (id, secret) = crate::auth::parse(&token).unwrap_or_default();
            let id = ClientKey::token(id);
            let known = id.and_then(|k| match k {
                ClientKey::Token(n) => limits.verified.get_fresh(&n, Instant::now(), VERIFIED_TTL),
                _ => None,
            });
            match (id, known) {
                (Some(key), Some(hash)) => {
                    if crate::auth::secret_matches(secret, &hash) {
                        key
                    } else {
                        // A known id with the wrong secret: refused here,
                        // without the store, and counted like any failure.
                        state.hub.metrics.auth_failures.inc();
                        if limits.failures.allow(addr) {
                            return ApiError::unauthorized("the token is not valid")
                                .into_response();
                        }
                        return refuse_flood(&state, addr).await;
                    }
                }
                _ => match verify(&state, addr, token).await {
                    Some(key) => key,
                    None => return refuse_flood(&state, addr).await,
                },
            }
        }
    };
    let allowed = limits.buckets.allow(key);
    state.hub.metrics.set_rate_limit_entries(limits.entries());
    if !allowed {
        state.hub.metrics.rate_limited.inc();
        return ApiError::rate_limited().into_response();
    }
    next.run(req).await
}

/// A bad token from an address whose failure budget is spent: 429, held
/// back by [`TARPIT`] once the address refusals show a flood.
async fn refuse_flood(state: &AppState, addr: ClientKey) -> Response {
    state.hub.metrics.rate_limited.inc();
    if !state.limits.refusals.allow(addr) {
        state.hub.metrics.tarpitted.inc();
        tokio::time::sleep(TARPIT).await;
    }
    ApiError::rate_limited().into_response()
}

/// Verifies a token not seen (lately): its bucket if it is live, the
/// address's if not; `None` when the address has spent its budget of failed
/// verifications.
async fn verify(state: &AppState, addr: ClientKey, token: String) -> Option<ClientKey> {
    let limits = &state.limits;
    if !limits.failures.has_room(addr) {
        return None;
    }
    let hub: Arc<Hub> = state.hub.clone();
    let result = tokio::task::spawn_blocking(move || hub.authenticate(&token)).await;
    match result {
        Ok(Ok((_, rec))) => match ClientKey::token(&rec.public_id) {
            Some(key @ ClientKey::Token(id)) => {
                let hash = rec.secret_hash;
                limits
                    .verified
                    .with(id, Instant::now(), || hash, |v| *v = hash);
                Some(key)
            }
            _ => Some(addr),
        },
        Ok(Err(e)) => {
            if matches!(e, kyojo_hub::HubError::Unauthenticated(_)) {
                limits.failures.allow(addr);
                state.hub.metrics.auth_failures.inc();
            }
            Some(addr)
        }
        Err(_) => Some(addr),
    }
}

// ---- the outermost middleware ------------------------------------------------------------

/// Early refusals, the body deadline, and JSON for plain-text errors.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = &state.hub.config;
    let taxii = req.uri().path().starts_with("/taxii2");
    // Early refusals speak the channel's error shape too.
    let refuse = |e: ApiError| {
        if taxii {
            crate::taxii::TaxiiError(e).into_response()
        } else {
            e.into_response()
        }
    };
    let uri_len = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().len())
        .unwrap_or(0);
    if uri_len > MAX_URI_BYTES {
        return refuse(
            ApiError::new(
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!("the request target is longer than {MAX_URI_BYTES} bytes"),
            )
            .with_field("uri"),
        );
    }
    if let Some(len) = declared_length(req.headers()) {
        if len > config.max_body_bytes as u64 {
            let mut resp = refuse(
                ApiError::too_large(format!(
                    "the body ({len} bytes) is larger than this hub accepts ({} bytes)",
                    config.max_body_bytes
                ))
                .with_field("body"),
            );
            // The body is never read, so the connection can't carry another request.
            resp.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return resp;
        }
    }
    let (parts, body) = req.into_parts();
    let body = if http_body::Body::is_end_stream(&body) {
        body
    } else {
        Body::new(DeadlineBody {
            inner: body,
            deadline: Box::pin(tokio::time::sleep(Duration::from_secs_f64(
                config.body_read_timeout_secs,
            ))),
        })
    };
    let resp = next.run(Request::from_parts(parts, body)).await;
    jsonify(resp, taxii).await
}

/// A `Content-Length` header's value (an unparseable one is hyper's 400).
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Rewrites a plain-text (or empty) error response, as axum's extractors
/// produce for a bad path or query, into the API's JSON error shape.
async fn jsonify(resp: Response, taxii: bool) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !(content_type.is_empty() || content_type.starts_with("text/plain")) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let lower = text.to_ascii_lowercase();
    let field = if lower.contains("query") {
        "query"
    } else if lower.contains("path") || lower.contains("url") || lower.contains("utf-8") {
        "path"
    } else {
        "request"
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_string()
    } else {
        text
    };
    let code = if status.is_server_error() {
        "internal"
    } else {
        "invalid_input"
    };
    let e = ApiError::new(status, code, message).with_field(field);
    let mut out = if taxii {
        crate::taxii::TaxiiError(e).into_response()
    } else {
        e.into_response()
    };
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// A request body that fails once its deadline passes.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(crate::json::BodyTimeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

use std::future::Future;

// ---- connections -----------------------------------------------------------------------

/// Open connections, in total and per client address.
#[derive(Default)]
struct Connections {
    total: AtomicUsize,
    per_client: Mutex<HashMap<ClientKey, usize>>,
}

/// One admitted connection; dropping it frees its place.
struct Slot {
    conns: Arc<Connections>,
    client: ClientKey,
}

impl Connections {
    fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        max_total: usize,
        max_per_client: usize,
    ) -> Option<Slot> {
        let client = ClientKey::addr(ip);
        let mut per = self.per_client.lock();
        if self.total.load(Ordering::Relaxed) >= max_total {
            return None;
        }
        let n = per.entry(client).or_insert(0);
        if *n >= max_per_client {
            return None;
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            conns: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per = self.conns.per_client.lock();
        if let Some(n) = per.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.client);
            }
        }
        self.conns.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a refused connection is told before it is closed.
static BUSY: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let body = serde_json::json!({"error": {
        "code": "busy",
        "message": "too many connections from this client, or in all; retry in a moment",
        "field": "connection",
    }})
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Accepts and serves connections until `shutdown` completes, then lets
/// open connections finish (for at most 10 s).
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let config = &hub.config;
    let (max_total, max_per_client) = (config.max_connections, config.max_connections_per_client);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs_f64(config.header_read_timeout_secs))
        .max_buf_size(2 * MAX_HEAD_BYTES)
        .max_header_size(MAX_HEAD_BYTES);
    let conns = Arc::new(Connections::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (or another resource): wait a moment
                    // rather than spin; a single failed handshake: go on.
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
                    ) {
                        tracing::warn!(error = %e, "accepting a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        let Some(slot) = conns.admit(peer.ip(), max_total, max_per_client) else {
            hub.metrics.connections_refused.inc();
            let _ = stream.try_write(&BUSY);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                async move {
                    let resp: Result<Response, Infallible> =
                        tower::ServiceExt::oneshot(app, req).await;
                    resp
                }
            });
        let io = hyper_util::rt::TokioIo::new(JsonHeadErrors::new(stream));
        let conn = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    Ok(())
}

/// A connection whose writes pass through unchanged, except hyper's own
/// bodiless answers to a request head it could not parse (400, 414, 431),
/// which are replaced by the same status with a JSON error body.
pub struct JsonHeadErrors {
    inner: TcpStream,
    /// A replacement being written: the bytes and how many are written.
    pending: Option<(Vec<u8>, usize)>,
}

impl JsonHeadErrors {
    fn new(inner: TcpStream) -> Self {
        JsonHeadErrors {
            inner,
            pending: None,
        }
    }

    /// Writes what is pending; Ready once nothing is.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, done)) = &mut self.pending {
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    *done += n;
                    if *done == bytes.len() {
                        self.pending = None;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The JSON replacement for one of hyper's automatic error heads, if `buf` is one.
pub fn json_head_error(buf: &[u8]) -> Option<Vec<u8>> {
    if buf.len() > 512 || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(buf).ok()?;
    let rest = text
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "))?;
    let lower = text.to_ascii_lowercase();
    if !lower.contains("\r\ncontent-length: 0\r\n") || lower.contains("\r\ncontent-type:") {
        return None;
    }
    let (status, reason, code, field, message) = match rest.get(..4)? {
        "400 " => (
            400,
            "Bad Request",
            "invalid_input",
            "request",
            "the request line or a header is malformed",
        ),
        "414 " => (
            414,
            "URI Too Long",
            "uri_too_long",
            "uri",
            "the request target is too long",
        ),
        "431 " => (
            431,
            "Request Header Fields Too Large",
            "headers_too_large",
            "headers",
            "the request's headers are too large or too many",
        ),
        _ => return None,
    };
    let body = serde_json::json!({"error": {"code": code, "message": message, "field": field}})
        .to_string();
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl AsyncRead for JsonHeadErrors {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for JsonHeadErrors {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.drive(cx))?;
        if let Some(replacement) = json_head_error(buf) {
            self.pending = Some((replacement, 0));
            // Written as far as hyper is concerned; flush and shutdown finish it.
            let _ = self.drive(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.drive(cx))?;
        let nonempty: Vec<&io::IoSlice<'_>> = bufs.iter().filter(|b| !b.is_empty()).collect();
        if nonempty.len() == 1 {
            if let Some(replacement) = json_head_error(nonempty[0]) {
                let n = nonempty[0].len();
                self.pending = Some((replacement, 0));
                let _ = self.drive(cx)?;
                return Poll::Ready(Ok(n));
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drive(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drive(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_error_heads_become_json() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 01 Dec 2025 00:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(json_head_error(head).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 "));
        let body: serde_json::Value =
            serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["field"], "headers");
        assert!(
            json_head_error(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n").is_some()
        );
        // Our own responses (with a type, or a body) pass unchanged.
        assert!(json_head_error(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"
        )
        .is_none());
        assert!(
            json_head_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 10\r\n\r\n").is_none()
        );
        assert!(json_head_error(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }

    #[test]
    fn tokens_are_found_in_bearer_and_basic() {
        let token = format!("kyj_{}_{}", "a".repeat(16), "b".repeat(64));
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        assert_eq!(presented_token(&h).as_deref(), Some(token.as_str()));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("kyojo:{token}"));
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {basic}").parse().unwrap(),
        );
        assert_eq!(presented_token(&h).as_deref(), Some(token.as_str()));
        h.insert(header::AUTHORIZATION, "Bearer kyj_nope".parse().unwrap());
        assert_eq!(presented_token(&h), None);
    }
}
