//! The web interface (being written).

use axum::Router;

use crate::AppState;

/// Adds the web interface's routes.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
}
