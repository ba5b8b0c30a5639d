//! kyojo's HTTP edge: it translates HTTP to calls on the [`Hub`] and the
//! Hub's answers and errors back to HTTP; no domain rule lives here.
//!
//! * [`api`]: REST handlers under `/api/v1`, plus `/healthz` and `/metrics`.
//! * [`taxii`]: TAXII 2.1; [`ui`]: the web UI; [`warn`]: the warning page.
//! * [`edge`], [`ratelimit`], [`json`], [`idempotency`]: connection limits,
//!   rate limits, bounded bodies, replay of retried writes.
//! * [`openapi`]: the REST API's OpenAPI 3.1 document, from the handlers' annotations.
//! * [`error`]: the one mapping from [`kyojo_hub::HubError`] to status and body.

pub mod api;
pub mod auth;
pub mod edge;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod openapi;
pub mod ratelimit;
pub mod runtime;
pub mod taxii;
pub mod ui;
pub mod warn;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

pub use error::ApiError;
pub use kyojo_hub::Hub;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    limits: Arc<edge::Limits>,
    /// Rendered dashboards (the web UI's cache).
    dashboards: Arc<ui::Dashboards>,
}

impl AppState {
    pub fn new(hub: Arc<Hub>) -> Self {
        let limits = edge::Limits::new(
            hub.config.rate_limit_per_second,
            hub.config.rate_limit_burst,
        );
        AppState {
            hub,
            limits: Arc::new(limits),
            dashboards: Arc::default(),
        }
    }
}

/// Declares the `/api/v1` routes once: [`api_router`] is built from this
/// list and [`API_ROUTES`] is the same list as data, which
/// `tests/openapi.rs` compares with the OpenAPI document.
macro_rules! api_routes {
    ($($path:literal => $($method:ident($handler:path)),+;)+) => {
        /// Every route under `/api/v1`: (method, axum path template).
        pub const API_ROUTES: &[(&str, &str)] = &[$($((stringify!($method), $path),)+)+];

        fn api_router() -> Router<AppState> {
            Router::new()
                $(.route($path, axum::routing::MethodRouter::new()$(.$method($handler))+))+
        }
    };
}

api_routes! {
    "/reports" => get(api::list_reports), post(api::create_report);
    "/reports/{id}" => get(api::get_report), patch(api::update_report), delete(api::delete_report);
    "/reports/{id}/stix" => get(api::report_stix);
    "/stix" => post(api::import_stix);
    "/misp/events" => post(api::import_misp);
    "/imports/{format}" => post(api::import_list);
    "/sightings" => post(api::post_sightings);
    "/indicators" => get(api::list_indicators);
    // POST is a decision: the value ends in `/decision` (documented so).
    "/indicators/{kind}/{*value}" => get(api::get_indicator), post(api::post_decision);
    "/allowlist" => get(api::allowlist), post(api::allow_add);
    "/warninglists" => get(api::warninglists);
    "/allowlist/{kind}/{*value}" => delete(api::allow_remove);
    "/feeds/{name}" => get(api::feed);
    "/feeds/misp/{file}" => get(api::misp_feed);
    "/feed-guard" => get(api::feed_guard);
    "/feed-guard/confirm" => post(api::feed_guard_confirm);
    "/hashes/prefixes" => get(api::hash_prefixes);
    "/hashes:search" => post(api::hash_search);
    "/lookup" => post(api::lookup);
    "/me" => get(api::me);
    "/sectors" => get(api::sectors);
    "/orgs" => get(api::list_orgs), post(api::create_org);
    "/audit" => get(api::audit_log);
    "/tokens" => post(api::create_token);
    "/tokens/{id}" => delete(api::revoke_token);
    "/openapi.json" => get(openapi::openapi_json);
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let max_body = state.hub.config.max_body_bytes;
    let api = api_router().layer(middleware::from_fn_with_state(
        state.clone(),
        idempotency::layer,
    ));
    ui::routes(taxii::routes(Router::new()))
        .nest("/api/v1", api)
        .route("/", get(api::index))
        .route("/healthz", get(api::healthz))
        .route("/warn", get(api::warn_page))
        .route("/metrics", get(api::metrics))
        .fallback(taxii::not_found)
        .method_not_allowed_fallback(taxii::method_not_allowed)
        .route_layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            edge::rate_limit,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state.clone(), edge::guard))
        .with_state(state)
}

/// Logs and counts each request by route template: never the values in the
/// path or body, never who asked (anonymity extends to logs).
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let resp = next.run(req).await;
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state
        .hub
        .metrics
        .record_request(&route, &method, status, secs);
    tracing::info!(target: "kyojo::http", %method, %route, status, ms = secs * 1000.0, "request");
    resp
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    hub: Arc<Hub>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Every second: take in other nodes' writes (PostgreSQL), and keep a slow
    // actionable snapshot (kyojo_hub::decide) and community picture
    // (kyojo_hub::orient) fresh in the background; draw the picture once now.
    let painter = hub.clone();
    tokio::spawn(async move {
        let first = painter.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || first.build_picture()).await {
            tracing::warn!(error = %e.message(), "building the dashboard picture");
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let hub = painter.clone();
            let done = tokio::task::spawn_blocking(move || {
                // Other nodes' writes first, so the picture drawn next has them.
                if let Err(e) = hub.follow_other_nodes() {
                    tracing::warn!(error = %e.message(), "following other nodes' writes");
                }
                if let Err(e) = hub.refresh_snapshot() {
                    tracing::warn!(error = %e.message(), "refreshing the actionable snapshot");
                }
                hub.refresh_picture()
            });
            if let Ok(Err(e)) = done.await {
                tracing::warn!(error = %e.message(), "refreshing the dashboard picture");
            }
        }
    });
    if let Ok(addr) = listener.local_addr() {
        hub.set_listen_url(format!("http://{addr}"));
    }
    let app = router(AppState::new(hub.clone()));
    edge::serve_connections(listener, app, hub, shutdown).await
}
