//! The Hub: the one path every read and write takes.
//!
//! It owns the store, the lookup index (a snapshot of the store's indicators,
//! updated after each committed write) and the sharing [`Policy`]. HTTP
//! handlers, the CLI and the demo seeder all call it; nothing else touches the
//! store for reports, indicators or sightings. Methods are synchronous (the
//! store is); async callers run them on the blocking pool.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;
use rand::RngCore;

use kyojo_core::policy::{Channel, Member, Nameable, OrgId, SightingPresence};
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Count, Kind, Observable, Policy, ReportAccess, Role, Tlp, Viewer};
use kyojo_index::{Index, Match};
use kyojo_store::{
    Day, IndicatorChanges, IndicatorId, IndicatorRecord, IndicatorScan, Millis, NewReport,
    NewSighting, NewToken, Org, PostgresStore, ReportLink, ReportPatch, ReportRecord, ReportScan,
    ReportSource, SightingSummary, SqliteStore, Store, StoreError, TokenRecord,
};

use crate::config::Config;
use crate::derived::Derived;
use crate::error::{Conflict, HubError, HubResult};
use crate::feed_cache::FeedCache;
use crate::metrics::Metrics;
use crate::picture::Picture;
use crate::snapshot::{GuardState, Snapshot};
use crate::tokens;
use kyojo_core::report::is_forbidden_char;

/// A report as it reads after `change`: each field changed or kept.
fn after_change(
    current: &ReportRecord,
    change: &ReportChange,
    audience: Audience,
    anonymous: bool,
) -> RawDraft {
    RawDraft {
        title: change.title.clone().unwrap_or(current.title.clone()),
        description: change
            .description
            .clone()
            .unwrap_or(current.description.clone()),
        incident_type: change.incident_type.unwrap_or(current.incident_type),
        sector: change.sector.clone().unwrap_or(current.sector.clone()),
        tlp: change.tlp.unwrap_or(current.access.tlp),
        audience,
        anonymous,
        indicators: change
            .indicators
            .clone()
            .unwrap_or(current.indicators.clone()),
    }
}

/// What the audit log records. Stored by name (`org.add`, …), so the log
/// reads the same from SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    OrgAdd,
    TokenCreate,
    TokenRevoke,
    DecisionHub,
    AllowlistAdd,
    AllowlistRemove,
    FeedsConfirm,
}

impl AuditAction {
    pub const ALL: [AuditAction; 7] = [
        AuditAction::OrgAdd,
        AuditAction::TokenCreate,
        AuditAction::TokenRevoke,
        AuditAction::DecisionHub,
        AuditAction::AllowlistAdd,
        AuditAction::AllowlistRemove,
        AuditAction::FeedsConfirm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::OrgAdd => "org.add",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::DecisionHub => "decision.hub",
            AuditAction::AllowlistAdd => "allowlist.add",
            AuditAction::AllowlistRemove => "allowlist.remove",
            AuditAction::FeedsConfirm => "feeds.confirm",
        }
    }

    /// The action a stored name stands for; None for names this version
    /// does not record.
    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// The store's mark of a demo hub.
const DEMO_MARK: &str = "demo";

/// A role by name, or which names there are.
pub fn parse_role(name: &str) -> HubResult<Role> {
    Role::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        HubError::invalid("role", format!("role must be one of {}", names.join(", ")))
    })
}

/// Reports scanned at most per list request before a short page is returned
/// (with a cursor to go on), so that a viewer who can see little never makes
/// one request scan the whole table.
const SCAN_BUDGET: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create or read the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{key} is not the secret key of the database {database}: the database was \
         first opened with another key (the fingerprints kept in it differ). Anonymous \
         reports are sealed with that key; with this one their owners would be refused \
         them. Put back the secret.key that belongs to this database (from the node or the \
         backup it came from), or point the data directory at the database this key belongs to"
    )]
    KeyMismatch { key: String, database: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Organizations by id and name, refreshed from the store on a miss (the CLI
/// may add organizations while the server runs).
#[derive(Default)]
struct OrgCache {
    by_id: HashMap<OrgId, Org>,
}

pub struct Hub {
    pub(crate) store: Arc<dyn Store>,
    index: RwLock<Index>,
    pub(crate) policy: Policy,
    orgs: RwLock<OrgCache>,
    pub config: Config,
    pub metrics: Metrics,
    /// Bumped by every write that can change what is actionable.
    pub(crate) generation: std::sync::atomic::AtomicU64,
    /// Bumped by every write that can narrow what someone may see (a report
    /// edited or deleted): cached pictures built before it are never served.
    pub(crate) narrowed: std::sync::atomic::AtomicU64,
    /// What is actionable now (built by `decide`).
    pub(crate) actionable: Derived<Snapshot>,
    /// Renders of it (by `feeds`).
    pub(crate) feeds: FeedCache,
    /// The community picture (built by `orient`).
    pub(crate) picture: Derived<Picture>,
    /// Build time (ms) from which a cached picture or snapshot counts as slow.
    slow_ms: std::sync::atomic::AtomicU64,
    /// Recent narrowing writes by number, with the indicators they touched
    /// (`None`: not known here — another node's), so a slow snapshot can be
    /// patched instead of rebuilt.
    narrowings: parking_lot::Mutex<std::collections::VecDeque<(u64, Option<Vec<IndicatorId>>)>>,
    /// Where the next poll for other nodes' writes starts (PostgreSQL only).
    foreign_cursor: parking_lot::Mutex<Option<i64>>,
    /// Times of each organization's blocks in the last hour (bounded by
    /// `decisions.blocks_per_hour` per organization).
    pub(crate) decision_budget:
        parking_lot::Mutex<HashMap<OrgId, std::collections::VecDeque<Millis>>>,
    /// Configured false-positive lists: never blockable.
    pub(crate) warninglists: crate::warninglists::WarninglistSet,
    /// Which organization an own-decision seal stands for, once found
    /// (`decide::Hub::seal_owner`).
    pub(crate) seal_owners: parking_lot::Mutex<HashMap<[u8; 32], OrgId>>,
    /// The demo community lives here: documentation addresses may be blocked
    /// (see [`Hub::is_demo`]).
    demo: std::sync::atomic::AtomicBool,
    /// What the feeds last published, and a large change held back.
    pub(crate) guard_state: parking_lot::Mutex<GuardState>,
    /// `http://<address>` the server listens on: URLs it prints when no `public_url` is configured.
    listen_url: std::sync::OnceLock<String>,
    /// Keys values the hub must recognise but never store in clear
    /// (idempotency keys): derived from the secret, never the secret itself.
    hash_key: [u8; 32],
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::Mac;
    // HMAC takes a key of any length.
    let mut mac = match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The name of the secret key's fingerprint in the database's facts.
const FINGERPRINT: &str = "secret_key_fingerprint";

/// What the database keeps to recognise its secret key: an HMAC under the
/// key of a fixed text, from which the key cannot be recovered.
pub fn key_fingerprint(secret: &[u8; 32]) -> [u8; 32] {
    hmac(secret, &[b"kyojo key fingerprint"])
}

/// Whether `secret` is the key the database was first opened with; the first
/// open keeps its fingerprint.
pub fn key_matches(store: &dyn Store, secret: &[u8; 32]) -> Result<bool, StoreError> {
    let mine = key_fingerprint(secret);
    Ok(store.meta_or_insert(FINGERPRINT, &mine)? == mine)
}

pub use kyojo_core::draft::{Draft, Problem, Problems, RawDraft};

/// A validated change to a report.
#[derive(Debug, Clone, Default)]
pub struct ReportChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub incident_type: Option<IncidentType>,
    pub sector: Option<Option<String>>,
    pub tlp: Option<Tlp>,
    pub audience: Option<Audience>,
    pub anonymous: Option<bool>,
    pub indicators: Option<Vec<Observable>>,
}

#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub sector: Option<String>,
    pub incident_type: Option<IncidentType>,
    pub mine: bool,
}

#[derive(Debug, Clone, Default)]
pub struct IndicatorFilter {
    pub kind: Option<Kind>,
    pub text: Option<String>,
    pub first_seen_after: Option<Millis>,
    pub first_seen_before: Option<Millis>,
    pub last_seen_after: Option<Millis>,
    pub last_seen_before: Option<Millis>,
}

/// What a viewer may know about one indicator.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub visible: bool,
    /// Reports mentioning it that the viewer may read, newest first.
    pub reports: Vec<ReportLink>,
    /// Whether sighting aggregates are shown to this viewer.
    pub sightings_visible: bool,
    pub sighting_orgs: u64,
    pub sighting_total: u64,
    pub first_seen: Option<Millis>,
    pub last_seen: Option<Millis>,
    pub seen_by: Count,
}

/// One value's answer in a lookup.
#[derive(Debug, Clone)]
pub struct LookupHit {
    pub indicator: Observable,
    pub how: kyojo_index::MatchKind,
    pub incident_types: BTreeSet<IncidentType>,
}

/// Sightings of an indicator, aggregated so that no small group shows through.
#[derive(Debug, Clone)]
pub struct SightingPicture {
    pub total: Count,
    pub orgs: Count,
    pub by_day: Vec<(Day, Count, Count)>,
    /// Named sectors drawn from at least three organizations; the others
    /// pooled into one unnamed row (`None`), see `policy::pool_small_groups`.
    pub by_sector: Vec<kyojo_core::policy::PooledRow<String>>,
    /// The viewer's own organization's sightings, which it may always see exactly.
    pub mine: Option<(u64, Millis)>,
}

pub struct IndicatorDetail {
    pub record: IndicatorRecord,
    pub assessment: Assessment,
    pub sightings: Option<SightingPicture>,
}

/// An anonymous report's audience never lists its owner (who reads it
/// anyway): a list of named organizations shown to every reader would
/// otherwise name the author.
fn without_anonymous_owner(audience: Audience, owner: OrgId, anonymous: bool) -> Audience {
    match audience {
        Audience::Orgs(mut orgs) if anonymous => {
            orgs.remove(&owner);
            Audience::Orgs(orgs)
        }
        other => other,
    }
}

pub use crate::clock::now_millis;

fn load_or_create_secret(dir: &Path) -> Result<[u8; 32], OpenError> {
    let path = dir.join("secret.key");
    let io = |source| OpenError::DataDir {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            #[cfg(unix)]
            {
                // A key left readable by others (copied between nodes, say) is tightened.
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(&path) {
                    if meta.permissions().mode() & 0o077 != 0 {
                        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                            .map_err(io)?;
                    }
                }
            }
            bytes.try_into().map_err(|_| {
                io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "secret.key must be exactly 32 bytes",
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            write_private(&path, &secret).map_err(io)?;
            Ok(secret)
        }
        Err(e) => Err(io(e)),
    }
}

/// Creates the data directory (and missing parents) readable by its owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes a file only its owner can read, durably.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

impl Hub {
    /// Opens the hub in a data directory: `secret.key`, optional `kyojo.toml`,
    /// and `kyojo.sqlite` unless the configuration names a PostgreSQL database.
    pub fn open(data_dir: &Path) -> Result<Hub, OpenError> {
        create_private_dir(data_dir).map_err(|source| OpenError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let mut config = Config::load(data_dir)?;
        // Lists the operator loaded with `kyojo warninglists load`.
        let loaded = data_dir.join(crate::warninglists::DATA_SUBDIR);
        if loaded.is_dir() {
            config.decisions.warninglists.push(loaded);
        }
        let secret = load_or_create_secret(data_dir)?;
        let (store, database): (Arc<dyn Store>, String) = match &config.database_url {
            // Several nodes may share one PostgreSQL database; each keeps
            // the same secret.key (copy it) so anonymous seals agree.
            Some(url) => (
                Arc::new(PostgresStore::open(url, &config.database_schema)?),
                format!("(PostgreSQL schema {:?})", config.database_schema),
            ),
            None => {
                let path = data_dir.join("kyojo.sqlite");
                (
                    Arc::new(SqliteStore::open(&path)?),
                    path.display().to_string(),
                )
            }
        };
        if !key_matches(&*store, &secret)? {
            return Err(OpenError::KeyMismatch {
                key: data_dir.join("secret.key").display().to_string(),
                database,
            });
        }
        Ok(Hub::new(store, secret, config)?)
    }

    pub fn new(store: Arc<dyn Store>, secret: [u8; 32], config: Config) -> Result<Hub, StoreError> {
        let warninglists = crate::warninglists::WarninglistSet::load(
            &config.decisions.default_warninglists,
            &config.decisions.warninglists,
        )
        .map_err(|e| StoreError::Open(e.to_string()))?;
        if !key_matches(&*store, &secret)? {
            return Err(StoreError::Open(
                "the secret key is not the one this database was first opened with".into(),
            ));
        }
        let hub = Hub {
            hash_key: hmac(&secret, &[b"kyojo keyed hashes"]),
            store,
            index: RwLock::new(Index::new()),
            policy: Policy::new(secret),
            orgs: RwLock::new(OrgCache::default()),
            config,
            metrics: Metrics::default(),
            generation: std::sync::atomic::AtomicU64::new(1),
            narrowed: std::sync::atomic::AtomicU64::new(0),
            actionable: Derived::default(),
            feeds: FeedCache::default(),
            picture: Derived::default(),
            foreign_cursor: parking_lot::Mutex::new(None),
            listen_url: std::sync::OnceLock::new(),
            narrowings: parking_lot::Mutex::new(std::collections::VecDeque::new()),
            slow_ms: std::sync::atomic::AtomicU64::new(crate::derived::SLOW_MS),
            decision_budget: parking_lot::Mutex::new(HashMap::new()),
            warninglists,
            seal_owners: parking_lot::Mutex::new(HashMap::new()),
            guard_state: parking_lot::Mutex::new(GuardState::default()),
            demo: std::sync::atomic::AtomicBool::new(false),
        };
        let demo = hub.store.meta(DEMO_MARK)?.is_some();
        hub.demo.store(demo, std::sync::atomic::Ordering::SeqCst);
        // The cursor first: writes racing the index build are replayed, not lost.
        *hub.foreign_cursor.lock() = hub.store.foreign_changes(None)?.cursor;
        hub.rebuild_index()?;
        hub.publish_shared_stix().map_err(|e| {
            StoreError::Open(format!("publishing shared STIX objects: {}", e.message()))
        })?;
        Ok(hub)
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// A keyed hash of `parts` for `purpose`, under a key derived from the
    /// secret: equal inputs give equal hashes, and a copy of the database
    /// without `secret.key` cannot test guesses.
    pub fn keyed_hash(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 1);
        all.push(purpose.as_bytes());
        all.extend_from_slice(parts);
        hmac(&self.hash_key, &all)
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Rebuilds the lookup index from the store.
    pub fn rebuild_index(&self) -> Result<(), StoreError> {
        let mut fresh = Index::new();
        self.store
            .for_each_indicator(&mut |rec| fresh.insert(rec.id, &rec.observable))?;
        self.metrics.set_index_size(fresh.len());
        *self.index.write() = fresh;
        Ok(())
    }

    pub fn index_size(&self) -> usize {
        self.index.read().len()
    }

    pub fn index_counts(&self) -> BTreeMap<Kind, usize> {
        self.index.read().counts_by_kind()
    }

    /// Marks that what is actionable may have changed.
    pub(crate) fn changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Takes in what other nodes sharing the database committed since the
    /// last call: the index learns their indicators, and every cache sees a
    /// new generation (a narrowing one when they edited or deleted a report).
    /// The server calls it every second; a no-op on SQLite.
    pub fn follow_other_nodes(&self) -> HubResult<()> {
        let mut cursor = self.foreign_cursor.lock();
        let changes = self.store.foreign_changes(*cursor)?;
        if changes.cursor.is_some() {
            *cursor = changes.cursor;
        }
        let found = &changes.indicators;
        if !found.added.is_empty() || !found.removed.is_empty() {
            let mut index = self.index.write();
            // Ids are never reused, so adding first and removing second is
            // right whatever order the two happened in.
            for rec in &found.added {
                index.insert(rec.id, &rec.observable);
            }
            for rec in &found.removed {
                index.remove(rec.id);
            }
            self.metrics.set_index_size(index.len());
        }
        if changes.narrowing {
            self.narrowed_with(changes.narrowed_indicators);
        } else if changes.writes {
            self.changed();
        }
        Ok(())
    }

    /// Sets the build time from which the dashboard picture and the actionable
    /// snapshot count as slow: served on while the server's refresher builds
    /// the next one (never after a narrowing write). Tests set 0 to exercise
    /// that path on small data.
    pub fn set_slow_threshold(&self, threshold: std::time::Duration) {
        let ms = u64::try_from(threshold.as_millis()).unwrap_or(u64::MAX);
        self.slow_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn is_slow(&self, took_ms: u64) -> bool {
        took_ms >= self.slow_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Marks that what someone may see may have shrunk (and changed), by a
    /// write that touched these indicators (`None`: not known here).
    fn narrowed_with(&self, touched: Option<Vec<IndicatorId>>) {
        let mut log = self.narrowings.lock();
        let seq = self
            .narrowed
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        log.push_back((seq, touched));
        while log.len() > 256 {
            log.pop_front();
        }
        drop(log);
        self.changed();
    }

    /// Every indicator the narrowing writes after number `from`, up to `to`,
    /// touched — `None` unless all of them are known.
    pub(crate) fn narrowed_indicators(&self, from: u64, to: u64) -> Option<BTreeSet<IndicatorId>> {
        let log = self.narrowings.lock();
        let mut touched = BTreeSet::new();
        let mut next = from + 1;
        for (seq, ids) in log.iter().filter(|(seq, _)| *seq > from && *seq <= to) {
            if *seq != next {
                return None;
            }
            touched.extend(ids.as_ref()?);
            next += 1;
        }
        (next == to + 1 && to > from).then_some(touched)
    }

    /// Ids of a report's indicators before and after a write, for
    /// [`Hub::narrowed_with`].
    fn touched_by(
        &self,
        reports: &[&[Observable]],
        changes: &IndicatorChanges,
    ) -> Vec<IndicatorId> {
        let index = self.index.read();
        let mut ids: Vec<IndicatorId> = reports
            .iter()
            .flat_map(|r| r.iter())
            .filter_map(|obs| index.id_of(obs))
            .collect();
        ids.extend(changes.added.iter().chain(&changes.removed).map(|r| r.id));
        ids
    }

    fn apply(&self, changes: &IndicatorChanges) {
        self.changed();
        if changes.added.is_empty() && changes.removed.is_empty() {
            return;
        }
        let mut index = self.index.write();
        for rec in &changes.removed {
            index.remove(rec.id);
        }
        for rec in &changes.added {
            index.insert(rec.id, &rec.observable);
        }
        self.metrics.set_index_size(index.len());
    }

    // ---- the audit log ---------------------------------------------------------

    /// Records an administrative action. `actor` is an organization's name,
    /// or "cli" for the operator's command line.
    pub fn audit(&self, actor: &str, action: AuditAction, detail: &str) -> HubResult<()> {
        self.store
            .add_audit(now_millis(), actor, action.as_str(), detail)?;
        Ok(())
    }

    /// Records an administrative action under the viewer's name.
    pub(crate) fn audit_as(
        &self,
        actor: &Viewer,
        action: AuditAction,
        detail: &str,
    ) -> HubResult<()> {
        self.audit(&self.actor_name(actor), action, detail)
    }

    /// Admits an organization on `actor`'s behalf, in the audit log.
    pub fn admit_org(&self, actor: &Viewer, name: &str, sector: &str) -> HubResult<Org> {
        let org = self.add_org(name, sector)?;
        self.audit_as(
            actor,
            AuditAction::OrgAdd,
            &format!("{} ({})", org.name, org.sector),
        )?;
        Ok(org)
    }

    /// Mints a token on `actor`'s behalf, in the audit log (never the secret).
    pub fn mint_token(
        &self,
        actor: &Viewer,
        org: &str,
        role: Role,
        label: Option<&str>,
    ) -> HubResult<(TokenRecord, String)> {
        let (rec, token) = self.create_token(org, role, label)?;
        let detail = format!(
            "{} token {} for {}",
            rec.role.as_str(),
            rec.public_id,
            rec.org.name
        );
        self.audit_as(actor, AuditAction::TokenCreate, &detail)?;
        Ok((rec, token))
    }

    /// Revokes a token (given whole or by public id) on `actor`'s behalf; the
    /// audit log gets only the public id. False when no live token matched.
    pub fn withdraw_token(&self, actor: &Viewer, token_or_id: &str) -> HubResult<bool> {
        if !self.revoke_token(token_or_id)? {
            return Ok(false);
        }
        let id = token_or_id
            .strip_prefix("kyj_")
            .and_then(|t| t.split('_').next())
            .unwrap_or(token_or_id);
        self.audit_as(actor, AuditAction::TokenRevoke, id)?;
        Ok(true)
    }

    /// The name to record for a viewer's administrative action.
    pub fn actor_name(&self, viewer: &Viewer) -> String {
        match viewer.member() {
            Some(m) if m.org == 0 => "cli".to_string(),
            Some(m) => self
                .policy
                .nameable_actor(viewer)
                .and_then(|who| self.named(who).ok().flatten())
                .map_or_else(|| format!("organization #{}", m.org), |o| o.name),
            None => "public".to_string(),
        }
    }

    /// The newest `limit` audit entries (admins only).
    pub fn audit_log(
        &self,
        viewer: &Viewer,
        limit: usize,
    ) -> HubResult<Vec<kyojo_store::AuditEntry>> {
        require(viewer, kyojo_core::policy::Permission::Administer)?;
        Ok(self.store.audit_log(limit)?)
    }

    // ---- organizations and tokens --------------------------------------------

    /// An organization an output may name (see `policy::Nameable`): the only
    /// way from an organization id to its name outside this module.
    pub fn named(&self, who: Nameable) -> HubResult<Option<Org>> {
        self.org(who.id())
    }

    /// An organization's sector, for rules that compare audiences (never
    /// shown by itself).
    pub(crate) fn org_sector(&self, id: OrgId) -> HubResult<Option<String>> {
        Ok(self.org(id)?.map(|o| o.sector))
    }

    /// Private to this module: outputs name organizations via [`Hub::named`].
    fn org(&self, id: OrgId) -> HubResult<Option<Org>> {
        if let Some(o) = self.orgs.read().by_id.get(&id) {
            return Ok(Some(o.clone()));
        }
        self.refresh_orgs()?;
        Ok(self.orgs.read().by_id.get(&id).cloned())
    }

    pub fn org_by_name(&self, name: &str) -> HubResult<Option<Org>> {
        if let Some(o) = self.orgs.read().by_id.values().find(|o| o.name == name) {
            return Ok(Some(o.clone()));
        }
        Ok(self.store.org_by_name(name)?)
    }

    fn refresh_orgs(&self) -> HubResult<()> {
        let all = self.store.list_orgs()?;
        let mut cache = self.orgs.write();
        cache.by_id = all.into_iter().map(|o| (o.id, o)).collect();
        Ok(())
    }

    /// The membership directory: the operator's to read.
    pub fn list_orgs(&self, viewer: &Viewer) -> HubResult<Vec<Org>> {
        require(viewer, kyojo_core::policy::Permission::Administer)?;
        self.all_orgs()
    }

    /// Every organization, for the hub's own work (demo seeding).
    pub(crate) fn all_orgs(&self) -> HubResult<Vec<Org>> {
        Ok(self.store.list_orgs()?)
    }

    /// The false-positive lists this hub applies, with where each came from.
    pub fn warninglists(
        &self,
        viewer: &Viewer,
    ) -> HubResult<
        Vec<(
            crate::warninglists::Origin,
            kyojo_core::warninglist::ListInfo,
        )>,
    > {
        require(viewer, kyojo_core::policy::Permission::ReadIndicators)?;
        Ok(self
            .warninglists
            .lists()
            .map(|(o, l)| (o, l.clone()))
            .collect())
    }

    /// Whether this hub holds the demo community (`serve --demo` on an
    /// empty hub). Its indicators use documentation addresses (RFC 5737,
    /// RFC 3849), which are never blockable elsewhere; here they are let
    /// into the feeds so that every feed shows entries — labelled as such in
    /// each entry's reason and on every page.
    pub fn is_demo(&self) -> bool {
        self.demo.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Marks this hub as the demo's, for good (kept in the store).
    pub(crate) fn mark_demo(&self) -> HubResult<()> {
        self.store.meta_or_insert(DEMO_MARK, b"1")?;
        self.demo.store(true, std::sync::atomic::Ordering::SeqCst);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Notes the address the server listens on (once), for URLs the hub
    /// prints when no `public_url` is configured.
    pub fn set_listen_url(&self, url: String) {
        let _ = self.listen_url.set(url);
    }

    /// The hub's URL as configured (`public_url`), else the address it
    /// listens on; never taken from a request, whose `Host` a client chooses.
    pub fn base_url(&self) -> String {
        self.config
            .public_url
            .as_deref()
            .or_else(|| self.listen_url.get().map(String::as_str))
            .unwrap_or("http://127.0.0.1")
            .trim_end_matches('/')
            .to_string()
    }

    /// Every token, live and revoked (hashes only). For the operator's
    /// pages and CLI, which check the role themselves.
    /// Every token's record (never a secret): the operator's to read.
    pub fn list_tokens(&self, viewer: &Viewer) -> HubResult<Vec<TokenRecord>> {
        require(viewer, kyojo_core::policy::Permission::Administer)?;
        Ok(self.store.list_tokens()?)
    }

    /// The Prometheus exposition: request counters plus what is stored.
    pub fn metrics_text(&self) -> HubResult<String> {
        let counts = [
            (
                "kyojo_reports",
                "Reports stored.",
                self.store.count_reports()?,
            ),
            (
                "kyojo_indicators",
                "Indicators stored.",
                self.store.count_indicators()?,
            ),
            (
                "kyojo_sighting_rows",
                "Daily sighting aggregates stored.",
                self.store.count_sighting_rows()?,
            ),
        ];
        Ok(self.metrics.render(&counts))
    }

    /// Admits an organization; names are 1 to 100 printable characters.
    pub fn add_org(&self, name: &str, sector: &str) -> HubResult<Org> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > 100
            || name.chars().any(|c| is_forbidden_char(c, false))
        {
            return Err(HubError::invalid(
                "name",
                "organization name must be 1 to 100 printable characters",
            ));
        }
        if self.config.sector(sector).is_none() {
            return Err(HubError::invalid(
                "sector",
                format!(
                    "unknown sector {sector:?}; known sectors: {}",
                    self.config.sector_slugs().join(", ")
                ),
            ));
        }
        let org = self
            .store
            .create_org(name, sector, now_millis())
            .map_err(|e| match e {
                StoreError::Conflict(m) => HubError::conflict(Conflict::OrgName, m),
                other => other.into(),
            })?;
        self.orgs.write().by_id.insert(org.id, org.clone());
        self.publish_org_identity(&org)?;
        Ok(org)
    }

    /// Creates a token; returns its record and the token itself, shown only now.
    pub fn create_token(
        &self,
        org_name: &str,
        role: Role,
        label: Option<&str>,
    ) -> HubResult<(TokenRecord, String)> {
        let org = self.org_by_name(org_name)?.ok_or_else(|| {
            HubError::invalid("org", format!("organization {org_name:?} not found"))
        })?;
        if let Some(l) = label {
            if l.chars().count() > 100 || l.chars().any(|c| is_forbidden_char(c, false)) {
                return Err(HubError::invalid(
                    "label",
                    "label must be at most 100 printable characters",
                ));
            }
        }
        let minted = tokens::mint();
        let rec = self.store.insert_token(&NewToken {
            public_id: minted.public_id,
            org: org.id,
            role,
            label: label.map(str::to_string),
            secret_hash: minted.secret_hash,
            created_at: now_millis(),
        })?;
        Ok((rec, minted.token))
    }

    /// Revokes a token given in full or by its public id.
    pub fn revoke_token(&self, token_or_id: &str) -> HubResult<bool> {
        let id = tokens::parse(token_or_id)
            .map(|(id, _)| id)
            .unwrap_or(token_or_id);
        Ok(self.store.revoke_token(id, now_millis())?)
    }

    /// Who a bearer token stands for. Revocation takes effect at the next request.
    pub fn authenticate(&self, token: &str) -> HubResult<(Viewer, TokenRecord)> {
        let invalid = || HubError::unauthorized("the token is not valid");
        let (id, secret) = tokens::parse(token).ok_or_else(invalid)?;
        let rec = self.store.token_by_public_id(id)?.ok_or_else(invalid)?;
        if !tokens::secret_matches(secret, &rec.secret_hash) {
            return Err(invalid());
        }
        self.live_token(rec)
    }

    /// The member behind a token known by its public id (a web session's),
    /// if the token is still live.
    pub fn authenticate_public_id(&self, public_id: &str) -> HubResult<(Viewer, TokenRecord)> {
        let rec = self
            .store
            .token_by_public_id(public_id)?
            .ok_or_else(|| HubError::unauthorized("the token is not valid"))?;
        self.live_token(rec)
    }

    fn live_token(&self, rec: TokenRecord) -> HubResult<(Viewer, TokenRecord)> {
        if rec.revoked_at.is_some() {
            return Err(HubError::unauthorized("the token has been revoked"));
        }
        let viewer = Viewer::Member(Member {
            org: rec.org.id,
            sector: rec.org.sector.clone(),
            role: rec.role,
        });
        Ok((viewer, rec))
    }

    // ---- reports --------------------------------------------------------------

    /// The one way to a [`Draft`]: every rule a report must meet
    /// (`kyojo_core::draft`), with this hub's sectors.
    pub fn draft(&self, raw: RawDraft) -> Result<Draft, Problems> {
        Draft::new(raw, &self.config.sector_slugs())
    }

    /// Drafts and stores in one call, for tools and tests; the first
    /// problem becomes the error.
    pub fn submit_report(
        &self,
        viewer: &Viewer,
        raw: RawDraft,
        now: Millis,
    ) -> HubResult<ReportRecord> {
        let draft = self.draft(raw)?;
        self.create_report(viewer, draft, now)
    }

    pub fn create_report(
        &self,
        viewer: &Viewer,
        draft: Draft,
        now: Millis,
    ) -> HubResult<ReportRecord> {
        self.create_report_with(viewer, draft, now, None, None)
    }

    /// A report uid for an import that must land once: keyed by the hub's
    /// secret from `parts` (so it tells nobody what it was made from),
    /// shaped as a UUIDv4 like every other.
    pub(crate) fn keyed_uid(&self, purpose: &str, parts: &[&[u8]]) -> [u8; 16] {
        let mut uid = [0u8; 16];
        uid.copy_from_slice(&self.keyed_hash(purpose, parts)[..16]);
        uid[6] = (uid[6] & 0x0f) | 0x40;
        uid[8] = (uid[8] & 0x3f) | 0x80;
        uid
    }

    /// The report stored under `uid`, else a new one from `draft` (called
    /// only then); true when it is new. Two imports racing store it once.
    pub(crate) fn create_report_once(
        &self,
        viewer: &Viewer,
        uid: [u8; 16],
        now: Millis,
        draft: impl FnOnce() -> HubResult<Draft>,
    ) -> HubResult<(ReportRecord, bool)> {
        if let Some(r) = self.store.report_by_uid(&uid)? {
            return Ok((r, false));
        }
        match self.create_report_with(viewer, draft()?, now, None, Some(uid)) {
            Ok(r) => Ok((r, true)),
            // The other import stored it meanwhile.
            Err(e) => match self.store.report_by_uid(&uid)? {
                Some(r) => Ok((r, false)),
                None => Err(e),
            },
        }
    }

    /// Stores a report; `imported` carries the verbatim STIX objects of an
    /// imported bundle, otherwise the report's STIX form is generated.
    /// `uid` is random unless given (an import that must land once).
    pub(crate) fn create_report_with(
        &self,
        viewer: &Viewer,
        draft: Draft,
        now: Millis,
        imported: Option<Vec<kyojo_store::NewStixObject>>,
        uid: Option<[u8; 16]>,
    ) -> HubResult<ReportRecord> {
        let member = require(viewer, kyojo_core::policy::Permission::WriteReports)?;
        let draft = draft.without_org_in_audience(member.org);
        let mut uid = uid.unwrap_or_else(|| {
            let mut random = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut random);
            random
        });
        // Make it a proper UUIDv4 so that STIX ids can reuse it.
        uid[6] = (uid[6] & 0x0f) | 0x40;
        uid[8] = (uid[8] & 0x3f) | 0x80;
        let owner = self.policy.owner_for(member.org, &uid, draft.anonymous());
        let draft = draft.into_raw();
        let (source, stix) = match imported {
            Some(rows) => (ReportSource::Imported, rows),
            None => (
                ReportSource::Shared,
                self.native_stix(&uid, &draft, &owner, now, now)?,
            ),
        };
        let (rec, changes) = self.store.insert_report(&NewReport {
            uid,
            title: draft.title,
            description: draft.description,
            incident_type: draft.incident_type,
            sector: draft.sector,
            tlp: draft.tlp,
            audience: draft.audience,
            owner,
            created_at: now,
            indicators: draft.indicators,
            source,
            stix,
        })?;
        self.apply(&changes);
        self.metrics.reports_created.inc();
        Ok(rec)
    }

    /// A report the viewer may read; otherwise not found (its existence is not revealed).
    pub fn get_report(&self, viewer: &Viewer, uid: &[u8; 16]) -> HubResult<ReportRecord> {
        require_read(viewer)?;
        let rec = self
            .store
            .report_by_uid(uid)?
            .filter(|r| self.policy.can_read(viewer, &r.access, Channel::Api))
            .ok_or_else(|| HubError::not_found("report"))?;
        Ok(rec)
    }

    fn owned_report(&self, viewer: &Viewer, uid: &[u8; 16]) -> HubResult<(Member, ReportRecord)> {
        let member = require(viewer, kyojo_core::policy::Permission::WriteReports)?;
        let rec = self.get_report(viewer, uid)?;
        if !self.policy.is_owner(viewer, &rec.access) {
            return Err(HubError::forbidden(
                "only the organization that shared a report may change or delete it",
            ));
        }
        Ok((member, rec))
    }

    /// A report as it would read after `change` meets the same rules as a
    /// new one (`Hub::draft`); fields the change leaves alone are not held
    /// against it.
    fn check_change(&self, current: &ReportRecord, change: &ReportChange) -> HubResult<()> {
        let audience = change
            .audience
            .clone()
            .unwrap_or(current.access.audience.clone());
        let mut after = after_change(current, change, audience, false);
        // Indicators count only when the change replaces them.
        if change.indicators.is_none() {
            after.indicators.clear();
        }
        match self.draft(after) {
            Ok(_) => Ok(()),
            Err(problems) => {
                let touched = |field: &str| match field.split(['.', '[']).next().unwrap_or(field) {
                    "title" => change.title.is_some(),
                    "description" => change.description.is_some(),
                    "sector" => change.sector.is_some(),
                    "indicators" => change.indicators.is_some(),
                    // TLP and audience are judged together.
                    "audience" => change.audience.is_some() || change.tlp.is_some(),
                    _ => true,
                };
                match problems.iter().find(|(f, _)| touched(f)) {
                    Some((field, p)) => Err(HubError::invalid(
                        field.clone(),
                        Problems::message(field, p),
                    )),
                    None => Ok(()),
                }
            }
        }
    }

    pub fn update_report(
        &self,
        viewer: &Viewer,
        uid: &[u8; 16],
        change: ReportChange,
        now: Millis,
    ) -> HubResult<ReportRecord> {
        let (member, current) = self.owned_report(viewer, uid)?;
        let mut change = change;
        self.check_change(&current, &change)?;
        let anonymous = change.anonymous.unwrap_or(matches!(
            current.access.owner,
            kyojo_core::policy::Owner::Sealed(_)
        ));
        let stated = change.audience.is_some();
        let audience = change
            .audience
            .take()
            .unwrap_or(current.access.audience.clone());
        let audience = without_anonymous_owner(audience, member.org, anonymous);
        // Becoming anonymous also takes the owner out of the stored audience.
        if stated || audience != current.access.audience {
            change.audience = Some(audience.clone());
        }
        let owner = change
            .anonymous
            .map(|anonymous| self.policy.owner_for(member.org, uid, anonymous));
        // A report shared here gets a new STIX version; an imported one keeps its objects.
        let stix = if current.source == ReportSource::Shared {
            let final_owner = owner.clone().unwrap_or(current.access.owner.clone());
            let anonymous = matches!(final_owner, kyojo_core::policy::Owner::Sealed(_));
            let after = after_change(&current, &change, audience.clone(), anonymous);
            Some(self.native_stix(
                uid,
                &after,
                &final_owner,
                current.created_at,
                now.max(current.updated_at + 1),
            )?)
        } else {
            None
        };
        let (rec, changes) = self.store.update_report(
            uid,
            &ReportPatch {
                title: change.title,
                description: change.description,
                incident_type: change.incident_type,
                sector: change.sector,
                tlp: change.tlp,
                audience: change.audience,
                owner,
                indicators: change.indicators,
                stix,
                updated_at: now,
            },
        )?;
        self.narrowed_with(Some(
            self.touched_by(&[&current.indicators, &rec.indicators], &changes),
        ));
        self.apply(&changes);
        Ok(rec)
    }

    pub fn delete_report(&self, viewer: &Viewer, uid: &[u8; 16]) -> HubResult<()> {
        let (_, current) = self.owned_report(viewer, uid)?;
        let changes = self.store.delete_report(uid)?;
        self.narrowed_with(Some(self.touched_by(&[&current.indicators], &changes)));
        self.apply(&changes);
        Ok(())
    }

    pub fn is_owner(&self, viewer: &Viewer, access: &ReportAccess) -> bool {
        self.policy.is_owner(viewer, access)
    }

    /// A page of reports the viewer may read, newest first, and the cursor to continue from.
    pub fn list_reports(
        &self,
        viewer: &Viewer,
        filter: &ReportFilter,
        before: Option<i64>,
        limit: usize,
    ) -> HubResult<Page<ReportRecord>> {
        require_read(viewer)?;
        paginate(limit, before, |cursor, chunk| {
            let rows = self.store.scan_reports(&ReportScan {
                before: cursor,
                since: filter.since,
                until: filter.until,
                sector: filter.sector.clone(),
                incident_type: filter.incident_type,
                limit: chunk,
            })?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    let readable = self.policy.can_read(viewer, &r.access, Channel::Api);
                    let wanted = !filter.mine || self.policy.is_owner(viewer, &r.access);
                    (r.rowid, (readable && wanted).then_some(r))
                })
                .collect())
        })
    }

    // ---- indicators -------------------------------------------------------------

    /// Applies the rules to one indicator's facts.
    pub fn assess(
        &self,
        viewer: &Viewer,
        links: &[ReportLink],
        sightings: &[SightingSummary],
    ) -> Assessment {
        let reports: Vec<ReportLink> = links
            .iter()
            .filter(|l| self.policy.can_read(viewer, &l.access, Channel::Api))
            .cloned()
            .collect();
        let my_org = viewer.member().map(|m| m.org);
        let sighting_orgs = sightings.iter().map(|s| s.org).collect::<HashSet<_>>();
        let presence = SightingPresence {
            orgs: sighting_orgs.len() as u64,
            by_viewer: my_org.is_some_and(|o| sighting_orgs.contains(&o)),
        };
        let visible = self.policy.can_see_indicator(
            viewer,
            links.iter().map(|l| &l.access),
            presence,
            Channel::Api,
        );
        let sightings_visible = visible && self.policy.can_see_sightings(viewer, Channel::Api);
        let mut first = reports.iter().map(|r| r.created_at).min();
        let mut last = reports.iter().map(|r| r.created_at).max();
        let mut contributors: HashSet<OrgId> = reports
            .iter()
            .filter_map(|r| self.policy.visible_author(&r.access))
            .collect();
        if sightings_visible {
            for s in sightings {
                first = Some(first.map_or(s.first_seen, |f| f.min(s.first_seen)));
                last = Some(last.map_or(s.last_seen, |l| l.max(s.last_seen)));
            }
            contributors.extend(sighting_orgs.iter().copied());
        }
        Assessment {
            visible,
            reports,
            sightings_visible,
            sighting_orgs: presence.orgs,
            sighting_total: sightings.iter().map(|s| s.count).sum(),
            first_seen: first,
            last_seen: last,
            seen_by: Count::orgs(contributors.len() as u64),
        }
    }

    /// Report links and sighting summaries of many indicators (two queries),
    /// grouped by indicator.
    #[allow(clippy::type_complexity)]
    pub(crate) fn facts_by_indicator(
        &self,
        ids: &[IndicatorId],
    ) -> HubResult<(
        HashMap<IndicatorId, Vec<ReportLink>>,
        HashMap<IndicatorId, Vec<SightingSummary>>,
    )> {
        let mut links: HashMap<IndicatorId, Vec<ReportLink>> = HashMap::new();
        for l in self.store.report_links(ids)? {
            links.entry(l.indicator).or_default().push(l);
        }
        let mut sums: HashMap<IndicatorId, Vec<SightingSummary>> = HashMap::new();
        for s in self.store.sighting_summaries(ids)? {
            sums.entry(s.indicator).or_default().push(s);
        }
        Ok((links, sums))
    }

    /// Assessments for many indicators at once (two queries, whatever the count).
    pub fn assess_many(
        &self,
        viewer: &Viewer,
        ids: &[IndicatorId],
    ) -> HubResult<HashMap<IndicatorId, Assessment>> {
        let (links, sums) = self.facts_by_indicator(ids)?;
        Ok(ids
            .iter()
            .map(|id| {
                let l = links.get(id).map(Vec::as_slice).unwrap_or(&[]);
                let s = sums.get(id).map(Vec::as_slice).unwrap_or(&[]);
                (*id, self.assess(viewer, l, s))
            })
            .collect())
    }

    pub fn list_indicators(
        &self,
        viewer: &Viewer,
        filter: &IndicatorFilter,
        after: Option<IndicatorId>,
        limit: usize,
    ) -> HubResult<Page<(IndicatorRecord, Assessment)>> {
        if !viewer.may(kyojo_core::policy::Permission::ReadIndicators) {
            return Err(HubError::forbidden("this token may not read indicators"));
        }
        paginate(limit, after, |cursor, chunk| {
            let rows = self.store.scan_indicators(&IndicatorScan {
                after: cursor,
                kind: filter.kind,
                text: filter.text.clone(),
                limit: chunk,
            })?;
            let ids: Vec<IndicatorId> = rows.iter().map(|r| r.id).collect();
            let mut assessments = self.assess_many(viewer, &ids)?;
            Ok(rows
                .into_iter()
                .map(|rec| {
                    let kept = assessments
                        .remove(&rec.id)
                        .filter(|a| a.visible && seen_within(a, filter));
                    (rec.id, kept.map(|a| (rec, a)))
                })
                .collect())
        })
    }

    pub fn indicator_detail(
        &self,
        viewer: &Viewer,
        obs: &Observable,
    ) -> HubResult<IndicatorDetail> {
        if !viewer.may(kyojo_core::policy::Permission::ReadIndicators) {
            return Err(HubError::forbidden("this token may not read indicators"));
        }
        let (record, links, sums) = self.visible_indicator(viewer, obs)?;
        let assessment = self.assess(viewer, &links, &sums);
        let sightings = if assessment.sightings_visible {
            Some(self.sighting_picture(viewer, record.id)?)
        } else {
            None
        };
        Ok(IndicatorDetail {
            record,
            assessment,
            sightings,
        })
    }

    /// An indicator with all its report links and sighting summaries, or 404
    /// when the viewer may not know it exists.
    pub(crate) fn visible_indicator(
        &self,
        viewer: &Viewer,
        obs: &Observable,
    ) -> HubResult<(IndicatorRecord, Vec<ReportLink>, Vec<SightingSummary>)> {
        let not_found = || HubError::not_found("indicator");
        let record = self
            .store
            .indicator(obs.kind, &obs.value)?
            .ok_or_else(not_found)?;
        let links = self.store.report_links(&[record.id])?;
        let sums = self.store.sighting_summaries(&[record.id])?;
        if !self.assess(viewer, &links, &sums).visible {
            return Err(not_found());
        }
        Ok((record, links, sums))
    }

    fn sighting_picture(&self, viewer: &Viewer, id: IndicatorId) -> HubResult<SightingPicture> {
        let rows = self.store.sightings_of(id)?;
        let my_org = viewer.member().map(|m| m.org);
        let mut by_day: BTreeMap<Day, (HashSet<OrgId>, u64)> = BTreeMap::new();
        let mut by_sector: BTreeMap<String, (HashSet<OrgId>, u64)> = BTreeMap::new();
        let mut all: HashSet<OrgId> = HashSet::new();
        let mut total = 0u64;
        let mut mine: Option<(u64, Millis)> = None;
        for r in &rows {
            let d = by_day.entry(r.day).or_default();
            d.0.insert(r.org);
            d.1 += r.count;
            let s = by_sector.entry(r.org_sector.clone()).or_default();
            s.0.insert(r.org);
            s.1 += r.count;
            all.insert(r.org);
            total += r.count;
            if Some(r.org) == my_org {
                let m = mine.get_or_insert((0, r.last_seen));
                m.0 += r.count;
                m.1 = m.1.max(r.last_seen);
            }
        }
        Ok(SightingPicture {
            total: Count::gated(all.len() as u64, total),
            orgs: Count::orgs(all.len() as u64),
            by_day: gated_rows(by_day),
            by_sector: kyojo_core::policy::pool_small_groups(
                by_sector
                    .into_iter()
                    .map(|(s, (orgs, n))| (s, orgs.len() as u64, n))
                    .collect(),
            ),
            mine,
        })
    }

    // ---- sightings ----------------------------------------------------------------

    pub fn add_sightings(&self, viewer: &Viewer, batch: &[NewSighting]) -> HubResult<usize> {
        let member = require(viewer, kyojo_core::policy::Permission::PostSightings)?;
        let written = self.store.add_sightings(member.org, batch)?;
        self.apply(&IndicatorChanges {
            added: written.new_indicators,
            removed: Vec::new(),
        });
        self.metrics.sightings_accepted.add(written.accepted as u64);
        Ok(written.accepted)
    }

    // ---- lookups --------------------------------------------------------------------

    /// Matches for each query that the viewer may see, in query order.
    pub fn lookup(
        &self,
        viewer: &Viewer,
        queries: &[Observable],
    ) -> HubResult<Vec<Vec<LookupHit>>> {
        if !viewer.may(kyojo_core::policy::Permission::Lookup) {
            return Err(HubError::forbidden("this token may not look values up"));
        }
        let matches: Vec<Vec<Match>> = {
            let index = self.index.read();
            queries.iter().map(|q| index.lookup(q)).collect()
        };
        let mut ids: Vec<IndicatorId> = matches.iter().flatten().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let records: HashMap<IndicatorId, IndicatorRecord> = self
            .store
            .indicators_by_id(&ids)?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let assessments = self.assess_many(viewer, &ids)?;
        self.metrics.lookup_values.add(queries.len() as u64);
        Ok(matches
            .into_iter()
            .map(|ms| {
                ms.into_iter()
                    .filter_map(|m| {
                        let a = assessments.get(&m.id).filter(|a| a.visible)?;
                        let rec = records.get(&m.id)?;
                        Some(LookupHit {
                            indicator: rec.observable.clone(),
                            how: m.how,
                            incident_types: a.reports.iter().map(|r| r.incident_type).collect(),
                        })
                    })
                    .collect()
            })
            .collect())
    }
}

/// (key, sightings, organizations) per group, each count under the fewer-than-3 rule.
fn gated_rows<K>(groups: BTreeMap<K, (HashSet<OrgId>, u64)>) -> Vec<(K, Count, Count)> {
    groups
        .into_iter()
        .map(|(key, (orgs, n))| {
            let orgs = orgs.len() as u64;
            (key, Count::gated(orgs, n), Count::orgs(orgs))
        })
        .collect()
}

/// One page of a list and the cursor to continue from (None: the list is done).
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

/// Fills a page from chunks of rows in cursor order. `next_chunk(cursor, n)`
/// returns up to `n` rows after the cursor as (cursor key, kept item or None).
/// Stops when the page is full, the rows run out, or [`SCAN_BUDGET`] rows were
/// read (then a short page comes back with a cursor to go on).
fn paginate<T>(
    limit: usize,
    start: Option<i64>,
    next_chunk: impl FnMut(Option<i64>, usize) -> HubResult<Vec<(i64, Option<T>)>>,
) -> HubResult<Page<T>> {
    paginate_in(limit, start, 2_000, next_chunk)
}

/// [`paginate`] reading at most `max_chunk` rows at a time. A page filled
/// by the very last row there is has no `next` (no empty last page).
pub(crate) fn paginate_in<T>(
    limit: usize,
    start: Option<i64>,
    max_chunk: usize,
    mut next_chunk: impl FnMut(Option<i64>, usize) -> HubResult<Vec<(i64, Option<T>)>>,
) -> HubResult<Page<T>> {
    let mut items = Vec::with_capacity(limit);
    let mut cursor = start;
    let mut scanned = 0usize;
    let chunk = (limit * 2).clamp(100, max_chunk);
    loop {
        let rows = next_chunk(cursor, chunk)?;
        let exhausted = rows.len() < chunk;
        let in_chunk = rows.len();
        for (i, (key, kept)) in rows.into_iter().enumerate() {
            scanned += 1;
            cursor = Some(key);
            if let Some(item) = kept {
                items.push(item);
                if items.len() == limit {
                    let last_row = exhausted && i + 1 == in_chunk;
                    return Ok(Page {
                        items,
                        next: if last_row { None } else { cursor },
                    });
                }
            }
        }
        if exhausted {
            return Ok(Page { items, next: None });
        }
        if scanned >= SCAN_BUDGET {
            return Ok(Page {
                items,
                next: cursor,
            });
        }
    }
}

fn seen_within(a: &Assessment, f: &IndicatorFilter) -> bool {
    let after =
        |t: Option<Millis>, bound: Option<Millis>| bound.is_none_or(|b| t.is_some_and(|t| t >= b));
    let before =
        |t: Option<Millis>, bound: Option<Millis>| bound.is_none_or(|b| t.is_some_and(|t| t < b));
    after(a.first_seen, f.first_seen_after)
        && before(a.first_seen, f.first_seen_before)
        && after(a.last_seen, f.last_seen_after)
        && before(a.last_seen, f.last_seen_before)
}

/// The member behind a viewer allowed to `action`, or 401/403.
pub fn require(viewer: &Viewer, action: kyojo_core::policy::Permission) -> HubResult<Member> {
    match viewer {
        Viewer::Public => Err(HubError::unauthorized(
            "this needs a token: send Authorization: Bearer <token>",
        )),
        Viewer::Member(m) if viewer.may(action) => Ok(m.clone()),
        Viewer::Member(m) => Err(HubError::forbidden(format!(
            "a {} token may not do this",
            m.role.as_str()
        ))),
    }
}

fn require_read(viewer: &Viewer) -> HubResult<()> {
    match viewer {
        Viewer::Public => Ok(()),
        _ => require(viewer, kyojo_core::policy::Permission::ReadReports).map(|_| ()),
    }
}

/// Owner shown for a report: its organization, or none when anonymous.
pub fn author(hub: &Hub, access: &ReportAccess) -> HubResult<Option<Org>> {
    match hub.policy.nameable_author(access) {
        Some(who) => hub.named(who),
        None => Ok(None),
    }
}

/// The organizations a report's audience may be shown as (never an
/// anonymous report's owner).
pub fn audience_orgs(hub: &Hub, access: &ReportAccess) -> HubResult<Vec<Org>> {
    let mut orgs = Vec::new();
    for who in hub.policy.nameable_audience(access) {
        if let Some(o) = hub.named(who)? {
            orgs.push(o);
        }
    }
    Ok(orgs)
}
