//! Running Hub work from a request: on the blocking pool (the Hub is
//! synchronous), carrying the request's idempotency claim so the write it
//! guards records it in its own transaction. A leaf: handlers and the
//! idempotency layer both use it.

use std::sync::Arc;

use kyojo_store::ClaimSlot;

use crate::error::{ApiError, ApiResult};

tokio::task_local! {
    static SLOT: Arc<ClaimSlot>;
}

/// Runs `fut` with `slot` as the request's claim.
pub(crate) async fn with_claim<F: std::future::Future>(slot: Arc<ClaimSlot>, fut: F) -> F::Output {
    SLOT.scope(slot, fut).await
}

/// The claim of the request being handled on this task, if it has one.
fn current() -> Option<Arc<ClaimSlot>> {
    SLOT.try_with(Arc::clone).ok()
}

/// Runs Hub work on the blocking pool.
pub async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> ApiResult<T> {
    let claim = current();
    tokio::task::spawn_blocking(move || kyojo_store::with_claim(claim, f))
        .await
        .map_err(ApiError::internal)?
        .map_err(Into::into)
}
