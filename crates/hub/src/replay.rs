//! What the hub keeps so that a retried write is answered, not repeated
//! (idempotency keys). The HTTP edge decides what a key is; the hub stores
//! the claim with the write it guards (`kyojo_store::with_claim`) and the
//! answer kept for replays.

use kyojo_store::{ClaimRecord, KeptResponse, Millis};

use crate::error::HubResult;
use crate::hub::Hub;

impl Hub {
    /// The claim stored under `key`, with its kept answer once there is one.
    pub fn claim(&self, key: &[u8; 32]) -> HubResult<Option<ClaimRecord>> {
        Ok(self.store.claim(key)?)
    }

    pub fn keep_response(&self, key: &[u8; 32], response: &KeptResponse) -> HubResult<()> {
        Ok(self.store.keep_response(key, response)?)
    }

    /// Drops at most `limit` claims made before `before`; how many went.
    pub fn purge_claims(&self, before: Millis, limit: usize) -> HubResult<usize> {
        Ok(self.store.purge_claims(before, limit)?)
    }

    /// Whether other nodes share this hub's store (a claim in flight may be
    /// another node's).
    pub fn shared_store(&self) -> bool {
        self.store.shared()
    }
}
