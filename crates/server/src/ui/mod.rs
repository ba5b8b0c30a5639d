//! The web interface (`/ui/`): Japanese and English pages rendered on the
//! server, with no script and nothing fetched from anywhere else.
//!
//! * Sign-in exchanges a token for a session cookie (HTTP-only,
//!   `SameSite=Strict`, `Path=/ui`, `Secure` over HTTPS). The cookie holds
//!   only a random session id; the store keeps its SHA-256 and the token's
//!   public id, which [`Hub::authenticate_public_id`] checks again on every
//!   request, so a revoked token stops working at once.
//! * Every form carries a CSRF token (the session's, or for the sign-in form
//!   a double-submit cookie), checked on every POST.
//! * Every figure comes from Hub methods, so the sharing rules (TLP,
//!   audience, anonymity, fewer-than-3) hold here as in the API.

mod admin;
mod chart;
mod context;
mod pages;
mod text;

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub use pages::Dashboards;
pub use text::tr;

/// Adds the web interface's routes.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/ui", get(pages::to_dashboard))
        .route("/ui/", get(pages::dashboard))
        .route("/ui/login", get(pages::login_form).post(pages::login))
        .route("/ui/logout", post(pages::logout))
        .route("/ui/share", get(pages::share_form).post(pages::share_post))
        .route("/ui/reports", get(pages::reports))
        .route("/ui/reports/{id}", get(pages::report))
        .route("/ui/reports/{id}/stix", get(pages::report_stix))
        .route("/ui/indicators/{kind}/{*value}", get(pages::indicator))
        .route("/ui/decide", post(pages::decide))
        .route("/ui/search", get(pages::search).post(pages::bulk_search))
        .route("/ui/admin", get(admin::index))
        .route("/ui/admin/", get(admin::index))
        .route("/ui/admin/orgs", get(admin::orgs).post(admin::orgs_post))
        .route("/ui/admin/sectors", get(admin::sectors))
        .route(
            "/ui/admin/tokens",
            get(admin::tokens).post(admin::tokens_post),
        )
        .route("/ui/admin/tokens/revoke", post(admin::token_revoke))
        .route(
            "/ui/admin/allowlist",
            get(admin::allowlist).post(admin::allowlist_post),
        )
        .route("/ui/admin/allowlist/remove", post(admin::allowlist_remove))
        .route("/ui/admin/audit", get(admin::audit))
}
