//! Web sign-in sessions. They live in the store, so they survive restarts
//! and every node of a PostgreSQL set-up knows them; the store keeps only the
//! SHA-256 of a session id, never the id a browser holds.

use sha2::Digest;

use kyojo_core::Viewer;
use kyojo_store::{Millis, SessionRecord, TokenRecord};

use crate::error::HubResult;
use crate::hub::{now_millis, Hub};
use crate::tokens::random_hex;

/// What the store knows a session by.
fn session_key(sid: &str) -> [u8; 32] {
    sha2::Sha256::digest(sid.as_bytes()).into()
}

impl Hub {
    /// Starts a session for a verified token, valid for `lifetime_ms`;
    /// returns (session id, CSRF token).
    pub fn open_session(
        &self,
        token: &TokenRecord,
        lifetime_ms: Millis,
    ) -> HubResult<(String, String)> {
        let now = now_millis();
        let sid = random_hex();
        let csrf = random_hex();
        self.store.prune_sessions(now)?;
        self.store.put_session(&SessionRecord {
            id_hash: session_key(&sid),
            token_public_id: token.public_id.clone(),
            csrf: csrf.clone(),
            created_at: now,
            expires_at: now + lifetime_ms,
        })?;
        Ok((sid, csrf))
    }

    pub fn close_session(&self, sid: &str) -> HubResult<()> {
        Ok(self.store.delete_session(&session_key(sid))?)
    }

    /// The member behind a live session, re-checked against the token every
    /// time (a revoked token ends its sessions at once), and its CSRF token.
    pub fn resume_session(&self, sid: &str) -> HubResult<Option<(Viewer, TokenRecord, String)>> {
        let Some(session) = self.store.session(&session_key(sid), now_millis())? else {
            return Ok(None);
        };
        match self.authenticate_public_id(&session.token_public_id) {
            Ok((viewer, rec)) => Ok(Some((viewer, rec, session.csrf))),
            Err(_) => {
                self.close_session(sid)?;
                Ok(None)
            }
        }
    }
}
