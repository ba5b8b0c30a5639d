//! Persistence for kyojo, behind one trait.
//!
//! [`Store`] is the only way data reaches disk: the server, the CLI and the
//! demo seeder all write through it, and the in-memory lookup index is rebuilt
//! from it. [`SqliteStore`] is the embedded default; a PostgreSQL store for
//! several stateless nodes implements the same trait.
//!
//! The store knows nothing about who may see what: it returns rows with the
//! facts the sharing rules need ([`kyojo_core::ReportAccess`], sighting
//! organizations), and callers ask [`kyojo_core::Policy`].
//!
//! Durability: every write is one transaction, committed before the call
//! returns; SQLite runs in WAL mode with `synchronous=FULL`, so an
//! acknowledged write survives `kill -9` and power loss.

mod columns;
#[cfg(test)]
mod conformance;
mod pg;
mod shared;
mod sql;
mod sqlite;

use kyojo_core::policy::{OrgId, Owner, Role};
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, ReportAccess, Tlp};

pub use pg::PostgresStore;
pub use sqlite::SqliteStore;

/// Database id of an indicator.
pub type IndicatorId = i64;
/// Database id of a report (its row id; the public id is [`ReportRecord::uid`]).
pub type ReportRowId = i64;
/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;
/// Days since the Unix epoch, UTC.
pub type Day = i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("cannot open the store: {0}")]
    Open(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub sector: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    /// The non-secret part of the token, used to find it.
    pub public_id: String,
    pub org: Org,
    pub role: Role,
    pub label: Option<String>,
    /// SHA-256 of the secret part; the secret itself is never stored.
    pub secret_hash: [u8; 32],
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub public_id: String,
    pub org: OrgId,
    pub role: Role,
    pub label: Option<String>,
    pub secret_hash: [u8; 32],
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorRecord {
    pub id: IndicatorId,
    pub observable: Observable,
    pub created_at: Millis,
}

/// A report as stored, with its indicators in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord {
    pub rowid: ReportRowId,
    pub uid: [u8; 16],
    pub title: String,
    pub description: String,
    pub incident_type: IncidentType,
    pub sector: Option<String>,
    pub access: ReportAccess,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub indicators: Vec<Observable>,
    /// Where it came from.
    pub source: ReportSource,
}

/// Where a report came from; stored by name (`kyojo`, `stix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportSource {
    /// Shared here: its STIX form is generated, and regenerated on edit.
    Shared,
    /// Imported from a STIX bundle: its objects are kept verbatim.
    Imported,
}

impl ReportSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportSource::Shared => "kyojo",
            ReportSource::Imported => "stix",
        }
    }

    pub fn parse(name: &str) -> Option<ReportSource> {
        match name {
            "kyojo" => Some(ReportSource::Shared),
            "stix" => Some(ReportSource::Imported),
            _ => None,
        }
    }
}

/// A STIX object to keep, as JSON text, with what TAXII filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStixObject {
    pub stix_id: String,
    pub stix_type: String,
    pub spec_version: String,
    /// modified, else created, else the time it was added (TAXII's "version").
    pub version: String,
    pub json: String,
}

/// A kept STIX object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixRow {
    /// Insertion order: the TAXII cursor.
    pub seq: i64,
    pub stix_id: String,
    pub stix_type: String,
    pub spec_version: String,
    pub version: String,
    pub date_added: Millis,
    /// The report whose rules govern who sees it; None for objects anyone may see
    /// (TLP marking definitions, organization identities).
    pub report: Option<ReportRowId>,
    pub json: String,
}

/// Which STIX objects to scan, in insertion order.
#[derive(Debug, Clone, Default)]
pub struct StixScan {
    pub after_seq: Option<i64>,
    pub added_after: Option<Millis>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub spec_versions: Vec<String>,
    pub limit: usize,
}

#[derive(Debug, Clone)]
pub struct NewReport {
    pub uid: [u8; 16],
    pub title: String,
    pub description: String,
    pub incident_type: IncidentType,
    pub sector: Option<String>,
    pub tlp: Tlp,
    pub audience: Audience,
    pub owner: Owner,
    pub created_at: Millis,
    pub indicators: Vec<Observable>,
    pub source: ReportSource,
    /// Its STIX representation, kept with it in the same transaction.
    pub stix: Vec<NewStixObject>,
}

/// A change to a report; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ReportPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub incident_type: Option<IncidentType>,
    pub sector: Option<Option<String>>,
    pub tlp: Option<Tlp>,
    pub audience: Option<Audience>,
    pub owner: Option<Owner>,
    /// Replaces the whole indicator list.
    pub indicators: Option<Vec<Observable>>,
    /// Replaces the report's STIX objects.
    pub stix: Option<Vec<NewStixObject>>,
    pub updated_at: Millis,
}

/// Which reports to scan, newest first.
#[derive(Debug, Clone, Default)]
pub struct ReportScan {
    /// Only rows older than this row id (the cursor).
    pub before: Option<ReportRowId>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub sector: Option<String>,
    pub incident_type: Option<IncidentType>,
    pub limit: usize,
}

/// Which indicators to scan, in id order.
#[derive(Debug, Clone, Default)]
pub struct IndicatorScan {
    /// Only rows with a larger id than this (the cursor).
    pub after: Option<IndicatorId>,
    pub kind: Option<Kind>,
    /// Substring of the canonical value.
    pub text: Option<String>,
    pub limit: usize,
}

/// One sighting as a sensor reports it.
#[derive(Debug, Clone)]
pub struct NewSighting {
    pub observable: Observable,
    pub seen_at: Millis,
    pub count: u64,
}

/// Sightings of one indicator by one organization on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SightingRow {
    pub indicator: IndicatorId,
    pub org: OrgId,
    pub org_sector: String,
    pub day: Day,
    pub count: u64,
    pub first_seen: Millis,
    pub last_seen: Millis,
}

/// All sightings of one indicator by one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SightingSummary {
    pub indicator: IndicatorId,
    pub org: OrgId,
    pub count: u64,
    pub first_seen: Millis,
    pub last_seen: Millis,
}

/// An analyst's decision on an indicator, as stored (history is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    pub id: i64,
    pub indicator: IndicatorId,
    pub action: kyojo_core::decide::Action,
    pub comment: String,
    pub expires_at: Option<Millis>,
    pub scope: DecisionScope,
    pub created_at: Millis,
}

/// Whose feeds a decision changes. No organization is stored in clear: an
/// own decision carries `Policy::decision_seal` of its organization and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionScope {
    /// Every member's feeds: made by a curator or the operator.
    Hub,
    /// One organization's own feeds, by its seal.
    Own([u8; 32]),
}

/// One administrative action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// An entry of the operator's allow list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    pub observable: Observable,
    pub comment: String,
    pub created_at: Millis,
}

/// A report's link to an indicator, with what the rules need about the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLink {
    pub indicator: IndicatorId,
    pub report: ReportRowId,
    pub uid: [u8; 16],
    pub title: String,
    pub incident_type: IncidentType,
    /// The sector the report is about, if given.
    pub sector: Option<String>,
    pub access: ReportAccess,
    pub created_at: Millis,
}

/// What was written by a sightings batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SightingsWritten {
    pub accepted: usize,
    /// Indicators this batch created (the index must learn them).
    pub new_indicators: Vec<IndicatorRecord>,
}

/// What a report write changed in the indicator set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorChanges {
    pub added: Vec<IndicatorRecord>,
    pub removed: Vec<IndicatorRecord>,
}

/// An idempotency key, claimed by the write it guards in that write's own
/// transaction: a crash can never keep the write and lose the key, or the
/// reverse. Only a keyed hash is stored (the HTTP layer derives it from the
/// token, method, path and key under the hub's secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub key: [u8; 32],
    /// SHA-256 of the request (method, path, query and body).
    pub request: [u8; 32],
    /// The claiming process (a random number per start).
    pub node: i64,
    pub at: Millis,
    /// A kept claim made before this is forgotten, and the key may be claimed again.
    pub expired_before: Millis,
}

/// What is kept for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    pub request: [u8; 32],
    pub node: i64,
    pub at: Millis,
    /// None until the response is kept (it is written just after the write
    /// commits; a crash in between leaves the write done and no response).
    pub response: Option<KeptResponse>,
}

/// A response kept to answer a replay with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// Where a claim waits for the write that takes it, and what became of it.
/// [`with_claim`] makes it the current thread's; the store's guarded writes
/// (report, sighting, decision, allow-list, organization and token writes)
/// take it into their transaction.
#[derive(Debug)]
pub struct ClaimSlot {
    claim: parking_lot::Mutex<Option<Claim>>,
    /// 0: not taken, 1: committed with a write, 2: the key was already claimed.
    state: std::sync::atomic::AtomicU8,
}

impl ClaimSlot {
    pub fn new(claim: Claim) -> std::sync::Arc<ClaimSlot> {
        std::sync::Arc::new(ClaimSlot {
            claim: parking_lot::Mutex::new(Some(claim)),
            state: std::sync::atomic::AtomicU8::new(0),
        })
    }

    /// Whether a write committed with the claim.
    pub fn committed(&self) -> bool {
        self.state.load(std::sync::atomic::Ordering::SeqCst) == 1
    }

    /// Whether a write was refused because the key was already claimed.
    pub fn key_taken(&self) -> bool {
        self.state.load(std::sync::atomic::Ordering::SeqCst) == 2
    }

    fn set(&self, state: u8) {
        self.state.store(state, std::sync::atomic::Ordering::SeqCst);
    }
}

thread_local! {
    static CLAIM_SLOT: std::cell::RefCell<Option<std::sync::Arc<ClaimSlot>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `slot` as this thread's claim: the first guarded write `f`
/// makes records the claim in its transaction (or fails, writing nothing,
/// when the key is already claimed).
pub fn with_claim<T>(slot: Option<std::sync::Arc<ClaimSlot>>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<std::sync::Arc<ClaimSlot>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CLAIM_SLOT.with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = CLAIM_SLOT.with(|s| std::mem::replace(&mut *s.borrow_mut(), slot));
    let _restore = Restore(previous);
    f()
}

/// The current thread's claim, taken (once) by a guarded write.
pub(crate) fn take_claim() -> Option<(std::sync::Arc<ClaimSlot>, Claim)> {
    let slot = CLAIM_SLOT.with(|s| s.borrow().clone())?;
    let claim = slot.claim.lock().take()?;
    Some((slot, claim))
}

/// Records what became of a taken claim once its write returned.
pub(crate) fn settle_claim<T>(
    taken: Option<(std::sync::Arc<ClaimSlot>, Claim)>,
    result: &Result<T>,
) {
    if let Some((slot, _)) = taken {
        match result {
            Ok(_) => slot.set(1),
            Err(StoreError::Conflict(m)) if m == KEY_TAKEN => slot.set(2),
            Err(_) => {}
        }
    }
}

/// The conflict a guarded write fails with when its key is already claimed.
pub(crate) const KEY_TAKEN: &str = "this Idempotency-Key is already used by another request";

/// Everything kyojo persists. Implementations must make each method atomic
/// and durable before returning.
pub trait Store: Send + Sync + 'static {
    // Organizations.
    fn create_org(&self, name: &str, sector: &str, now: Millis) -> Result<Org>;
    fn org_by_name(&self, name: &str) -> Result<Option<Org>>;
    fn orgs_by_id(&self, ids: &[OrgId]) -> Result<Vec<Org>>;
    fn list_orgs(&self) -> Result<Vec<Org>>;

    // Tokens.
    fn insert_token(&self, token: &NewToken) -> Result<TokenRecord>;
    fn token_by_public_id(&self, public_id: &str) -> Result<Option<TokenRecord>>;
    /// Returns false when there was no such live token.
    fn revoke_token(&self, public_id: &str, now: Millis) -> Result<bool>;
    /// Revokes every live token of an organization with the given label.
    fn revoke_tokens_labelled(&self, org: OrgId, label: &str, now: Millis) -> Result<usize>;
    fn list_tokens(&self) -> Result<Vec<TokenRecord>>;

    // Reports.
    fn insert_report(&self, report: &NewReport) -> Result<(ReportRecord, IndicatorChanges)>;
    fn report_by_uid(&self, uid: &[u8; 16]) -> Result<Option<ReportRecord>>;
    fn update_report(
        &self,
        uid: &[u8; 16],
        patch: &ReportPatch,
    ) -> Result<(ReportRecord, IndicatorChanges)>;
    /// Deletes a report, and the indicators nothing else refers to any more.
    fn delete_report(&self, uid: &[u8; 16]) -> Result<IndicatorChanges>;
    /// Reports matching the scan, newest first, with their indicators.
    fn scan_reports(&self, scan: &ReportScan) -> Result<Vec<ReportRecord>>;
    fn count_reports(&self) -> Result<u64>;

    // Indicators.
    fn indicator(&self, kind: Kind, value: &str) -> Result<Option<IndicatorRecord>>;
    fn indicators_by_id(&self, ids: &[IndicatorId]) -> Result<Vec<IndicatorRecord>>;
    fn scan_indicators(&self, scan: &IndicatorScan) -> Result<Vec<IndicatorRecord>>;
    /// Every report link of these indicators.
    fn report_links(&self, ids: &[IndicatorId]) -> Result<Vec<ReportLink>>;
    /// Sightings of these indicators summed per (indicator, organization).
    fn sighting_summaries(&self, ids: &[IndicatorId]) -> Result<Vec<SightingSummary>>;
    /// Daily sighting rows of one indicator.
    fn sightings_of(&self, id: IndicatorId) -> Result<Vec<SightingRow>>;
    /// Every daily sighting row from `first_day` on (one query, for dashboards).
    fn sighting_rows_since(&self, first_day: Day) -> Result<Vec<SightingRow>>;
    /// Indicators of reports created at or after `since` (for dashboards).
    fn indicators_reported_since(&self, since: Millis) -> Result<Vec<IndicatorId>>;
    /// Calls `f` for every indicator, in id order (to build the lookup index).
    fn for_each_indicator(&self, f: &mut dyn FnMut(IndicatorRecord)) -> Result<()>;
    fn count_indicators(&self) -> Result<u64>;

    // Sightings.
    fn add_sightings(&self, org: OrgId, batch: &[NewSighting]) -> Result<SightingsWritten>;
    fn count_sighting_rows(&self) -> Result<u64>;

    // Decisions and the allow list.
    fn add_decision(
        &self,
        indicator: IndicatorId,
        action: kyojo_core::decide::Action,
        comment: &str,
        expires_at: Option<Millis>,
        scope: DecisionScope,
        now: Millis,
    ) -> Result<DecisionRecord>;
    /// Every decision on one indicator, oldest first.
    fn decisions_of(&self, id: IndicatorId) -> Result<Vec<DecisionRecord>>;
    /// The latest decision of every (indicator, scope) that has one.
    fn latest_decisions(&self) -> Result<Vec<DecisionRecord>>;
    fn allow_add(&self, obs: &Observable, comment: &str, now: Millis) -> Result<AllowEntry>;
    /// Returns false when the value was not on the list.
    fn allow_remove(&self, obs: &Observable) -> Result<bool>;
    fn allow_list(&self) -> Result<Vec<AllowEntry>>;
    /// The operator's entry for one value, if any.
    fn allow_entry(&self, obs: &Observable) -> Result<Option<AllowEntry>>;

    // Bulk reads for the Decide step's snapshot.
    /// Every report link of every indicator.
    fn all_report_links(&self) -> Result<Vec<ReportLink>>;
    /// Every (indicator, organization) sighting summary.
    fn all_sighting_summaries(&self) -> Result<Vec<SightingSummary>>;

    // STIX objects and TAXII status resources.
    /// Keeps objects anyone may see; an object already kept (same id and version) is skipped.
    fn put_shared_stix(&self, objects: &[NewStixObject], now: Millis) -> Result<()>;
    fn scan_stix(&self, scan: &StixScan) -> Result<Vec<StixRow>>;
    /// A report's objects and the shared objects they may refer to.
    fn stix_of_report(&self, report: ReportRowId) -> Result<Vec<StixRow>>;
    /// Access facts (and the report's sector) of reports by row id.
    fn report_access(
        &self,
        ids: &[ReportRowId],
    ) -> Result<Vec<(ReportRowId, ReportAccess, Option<String>)>>;
    fn count_stix(&self) -> Result<u64>;

    // The audit log of administrative actions.
    fn add_audit(&self, at: Millis, actor: &str, action: &str, detail: &str) -> Result<()>;
    /// Newest first.
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>>;
    fn put_taxii_status(&self, id: &str, json: &str, now: Millis) -> Result<()>;
    fn taxii_status(&self, id: &str) -> Result<Option<String>>;

    // Web interface sessions.
    fn put_session(&self, session: &SessionRecord) -> Result<()>;
    /// The session with this id hash, unless it expired before `now`.
    fn session(&self, id_hash: &[u8; 32], now: Millis) -> Result<Option<SessionRecord>>;
    fn delete_session(&self, id_hash: &[u8; 32]) -> Result<()>;
    /// Forgets every session that expired before `now`; returns how many.
    fn prune_sessions(&self, now: Millis) -> Result<usize>;

    // Idempotency keys (see [`Claim`]) and facts about the database itself.
    /// What is kept for a claimed key, expired or not.
    fn claim(&self, key: &[u8; 32]) -> Result<Option<ClaimRecord>>;
    /// Keeps the response of the write that claimed `key`.
    fn keep_response(&self, key: &[u8; 32], response: &KeptResponse) -> Result<()>;
    /// Forgets at most `limit` claims made before `before`; returns how many.
    fn purge_claims(&self, before: Millis, limit: usize) -> Result<usize>;
    /// A named fact about this database (such as the secret key's fingerprint).
    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Keeps `value` under `name` unless a value is kept there already;
    /// returns the value kept (the first writer's, when two race).
    fn meta_or_insert(&self, name: &str, value: &[u8]) -> Result<Vec<u8>>;
    /// Whether other processes may write to this database at the same time
    /// (several nodes on PostgreSQL); SQLite has one server process.
    fn shared(&self) -> bool {
        false
    }

    // Several nodes on one database.
    /// What other nodes committed since `cursor`; `None` asks for a starting
    /// cursor (take it before reading anything the changes would update).
    /// A store only one process writes to (SQLite) has nothing to report.
    fn foreign_changes(&self, cursor: Option<i64>) -> Result<ForeignChanges> {
        let _ = cursor;
        Ok(ForeignChanges::default())
    }
}

/// A signed-in web session. Only the SHA-256 of the cookie's random id is
/// kept, and the token by its public id (never its secret): a copy of the
/// database signs nobody in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: [u8; 32],
    pub token_public_id: String,
    /// The session's CSRF token, echoed by every form.
    pub csrf: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// Writes other nodes committed, as one node's caches need them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForeignChanges {
    /// Where the next poll starts.
    pub cursor: Option<i64>,
    /// Indicators they added and removed, in commit order.
    pub indicators: IndicatorChanges,
    /// Whether they wrote anything at all (reports, sightings, decisions, ...).
    pub writes: bool,
    /// Whether any write could narrow what someone may see (a report edited or deleted).
    pub narrowing: bool,
    /// The indicators those narrowing writes touched, when the log names
    /// them all (`None`: some narrowing of unknown scope).
    pub narrowed_indicators: Option<Vec<IndicatorId>>,
}

/// Day number of a timestamp.
pub fn day_of(millis: Millis) -> Day {
    millis.div_euclid(86_400_000)
}
