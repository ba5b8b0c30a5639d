//! The embedded default store: one SQLite file in WAL mode.
//!
//! One writer connection (SQLite serialises writers anyway) and a few reader
//! connections, so reads never wait behind a write transaction.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Row};

use kyojo_core::decide::Action;
use kyojo_core::policy::{OrgId, Owner, Role};
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, ReportAccess, Tlp};

use crate::columns::{audience_from_columns, audience_to_columns, owner_to_columns};
use crate::*;

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE orgs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    sector      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY,
    public_id   TEXT NOT NULL UNIQUE,
    org_id      INTEGER NOT NULL REFERENCES orgs(id),
    role        TEXT NOT NULL,
    label       TEXT,
    secret_hash BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE TABLE indicators (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (kind, value)
);
-- owner_org is NULL for anonymous reports: only the seal is stored.
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    uid             BLOB NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    incident_type   TEXT NOT NULL,
    sector          TEXT,
    tlp             TEXT NOT NULL,
    audience_kind   TEXT NOT NULL,
    audience        TEXT NOT NULL,
    owner_org       INTEGER REFERENCES orgs(id),
    owner_seal      BLOB,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK ((owner_org IS NULL) <> (owner_seal IS NULL))
);
CREATE INDEX reports_by_created ON reports(created_at);
CREATE TABLE report_indicators (
    report_id       INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    indicator_id    INTEGER NOT NULL REFERENCES indicators(id),
    position        INTEGER NOT NULL,
    PRIMARY KEY (report_id, indicator_id)
) WITHOUT ROWID;
CREATE INDEX report_indicators_by_indicator ON report_indicators(indicator_id, report_id);
CREATE TABLE sightings (
    indicator_id    INTEGER NOT NULL REFERENCES indicators(id),
    org_id          INTEGER NOT NULL REFERENCES orgs(id),
    day             INTEGER NOT NULL,
    count           INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    PRIMARY KEY (indicator_id, org_id, day)
) WITHOUT ROWID;
CREATE INDEX sightings_by_day ON sightings(day);
"#,
    r#"
CREATE TABLE decisions (
    id              INTEGER PRIMARY KEY,
    indicator_id    INTEGER NOT NULL REFERENCES indicators(id),
    action          TEXT NOT NULL,
    comment         TEXT NOT NULL,
    expires_at      INTEGER,
    org_id          INTEGER NOT NULL REFERENCES orgs(id),
    created_at      INTEGER NOT NULL
);
CREATE INDEX decisions_by_indicator ON decisions(indicator_id, id);
CREATE TABLE allowlist (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    comment     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
"#,
    r#"
ALTER TABLE reports ADD COLUMN source TEXT NOT NULL DEFAULT 'kyojo';
-- seq orders TAXII pages: a cursor that survives restarts and works on every node.
CREATE TABLE stix_objects (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    stix_id         TEXT NOT NULL,
    stix_type       TEXT NOT NULL,
    spec_version    TEXT NOT NULL,
    version         TEXT NOT NULL,
    date_added      INTEGER NOT NULL,
    report_id       INTEGER REFERENCES reports(id) ON DELETE CASCADE,
    json            TEXT NOT NULL
);
CREATE INDEX stix_by_id ON stix_objects(stix_id, version);
CREATE INDEX stix_by_report ON stix_objects(report_id);
CREATE INDEX stix_by_added ON stix_objects(date_added);
CREATE TABLE taxii_status (
    id          TEXT PRIMARY KEY,
    json        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
-- Administrative actions: who (an organization's name, or "cli") did what.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
"#,
    r#"
-- Web sessions: the SHA-256 of the cookie's id, and the token by public id.
CREATE TABLE sessions (
    id_hash          BLOB PRIMARY KEY,
    token_public_id  TEXT NOT NULL,
    csrf             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
"#,
    r#"
-- Decisions name no organization: hub-wide ones (scope_seal NULL) or one
-- organization's own, by a seal only the hub's secret can tell. Earlier
-- decisions were hub-wide in effect and stay so, without their maker.
CREATE TABLE decisions_scoped (
    id              INTEGER PRIMARY KEY,
    indicator_id    INTEGER NOT NULL REFERENCES indicators(id),
    action          TEXT NOT NULL,
    comment         TEXT NOT NULL,
    expires_at      INTEGER,
    scope_seal      BLOB,
    created_at      INTEGER NOT NULL
);
INSERT INTO decisions_scoped (id, indicator_id, action, comment, expires_at, scope_seal, created_at)
    SELECT id, indicator_id, action, comment, expires_at, NULL, created_at FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_scoped RENAME TO decisions;
CREATE INDEX decisions_by_indicator ON decisions(indicator_id, id);
"#,
    r#"
-- Idempotency keys, claimed in the transaction of the write they guard:
-- only a keyed hash of (token, method, path, key), never the key itself.
CREATE TABLE idempotency (
    key_hash      BLOB PRIMARY KEY,
    request_hash  BLOB NOT NULL,
    node          INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    status        INTEGER,
    content_type  TEXT,
    location      TEXT,
    body          BLOB
) WITHOUT ROWID;
CREATE INDEX idempotency_by_created ON idempotency(created_at);
-- Facts about the database itself, such as the secret key's fingerprint.
CREATE TABLE kyojo_meta (
    name   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
) WITHOUT ROWID;
"#,
];

const READERS: usize = 4;

pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = usize::try_from(applied)
        .map_err(|_| StoreError::Corrupt(format!("negative schema version {applied}")))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Open(format!(
            "the database has schema version {applied}, newer than this kyojo knows ({}); upgrade kyojo",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

/// The database and its `-wal` and `-shm` files are readable by their owner
/// only: the file is created 0600 before SQLite opens it (SQLite gives the
/// `-wal` and `-shm` files the database's mode), and looser modes left by
/// an older version are tightened.
fn private_files(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| StoreError::Open(format!("{}: {e}", path.display()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = Path::new(&name);
            if let Ok(meta) = std::fs::metadata(file) {
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                        .map_err(io)?;
                }
            }
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        private_files(path)?;
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;")?;
            readers.push(Mutex::new(conn));
        }
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Writes a consistent copy of the database, as of one moment, into
    /// `target` (which must not exist or be empty), while others go on
    /// reading and writing: `VACUUM INTO` from a reader's snapshot.
    pub fn backup_into(&self, target: &Path) -> Result<()> {
        let target = target
            .to_str()
            .ok_or_else(|| StoreError::Open(format!("{} is not UTF-8", target.display())))?
            .to_string();
        self.read(|c| {
            c.execute("VACUUM INTO ?1", [&target])?;
            Ok(())
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first free reader, starting from a rotating position.
        for i in 0..self.readers.len() {
            if let Some(conn) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return f(&conn);
            }
        }
        let conn = self.readers[start % self.readers.len()].lock();
        f(&conn)
    }

    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// [`Self::write`] for a write an idempotency key may guard: the current
    /// thread's claim (see [`crate::with_claim`]) is recorded in the same
    /// transaction, or the write fails when the key is already claimed.
    fn write_claimed<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let taken = crate::take_claim();
        let result = self.write(|tx| {
            if let Some((_, claim)) = &taken {
                record_claim(tx, claim)?;
            }
            f(tx)
        });
        crate::settle_claim(taken, &result);
        result
    }
}

/// Claims an idempotency key in the write's transaction; a kept claim made
/// before `expired_before` is taken over.
fn record_claim(tx: &rusqlite::Transaction<'_>, c: &Claim) -> Result<()> {
    let n = tx
        .prepare_cached(
            "INSERT INTO idempotency (key_hash, request_hash, node, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key_hash) DO UPDATE SET request_hash = excluded.request_hash,
                 node = excluded.node, created_at = excluded.created_at, status = NULL,
                 content_type = NULL, location = NULL, body = NULL
             WHERE idempotency.created_at < ?5",
        )?
        .execute(params![&c.key[..], &c.request[..], c.node, c.at, c.expired_before])?;
    if n == 0 {
        return Err(StoreError::Conflict(crate::KEY_TAKEN.into()));
    }
    Ok(())
}

// ---- row mapping -------------------------------------------------------------

fn corrupt(what: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(StoreError::Corrupt(what.into())))
}

fn kind_of(s: &str) -> rusqlite::Result<Kind> {
    s.parse::<Kind>()
        .map_err(|_| corrupt(format!("unknown indicator kind {s:?}")))
}

fn org_row(r: &Row<'_>) -> rusqlite::Result<Org> {
    Ok(Org {
        id: r.get("id")?,
        name: r.get("name")?,
        sector: r.get("sector")?,
        created_at: r.get("created_at")?,
    })
}

fn indicator_row(r: &Row<'_>) -> rusqlite::Result<IndicatorRecord> {
    let kind: String = r.get("kind")?;
    Ok(IndicatorRecord {
        id: r.get("id")?,
        observable: Observable {
            kind: kind_of(&kind)?,
            value: r.get("value")?,
        },
        created_at: r.get("created_at")?,
    })
}

fn blob16(v: Vec<u8>) -> rusqlite::Result<[u8; 16]> {
    v.try_into()
        .map_err(|_| corrupt("report uid is not 16 bytes"))
}

fn audience_from_sql(kind: &str, json: &str) -> rusqlite::Result<Audience> {
    audience_from_columns(kind, json).map_err(corrupt)
}

/// Columns of `reports` that [`access_row`] and [`report_row`] read, prefixed `r.`.
const REPORT_COLS: &str =
    "r.id, r.uid, r.title, r.description, r.incident_type, r.sector, r.source, r.tlp, \
     r.audience_kind, r.audience, r.owner_org, r.owner_seal, r.created_at, r.updated_at";

/// What a [`ReportLink`] needs: no description, which can be large.
const LINK_COLS: &str = "r.id, r.uid, r.title, r.incident_type, r.sector, r.tlp, \
     r.audience_kind, r.audience, r.owner_org, r.owner_seal, r.created_at";

fn access_row(r: &Row<'_>) -> rusqlite::Result<ReportAccess> {
    let tlp: String = r.get("tlp")?;
    let tlp: Tlp = tlp
        .parse()
        .map_err(|_| corrupt(format!("bad tlp {tlp:?}")))?;
    let kind: String = r.get("audience_kind")?;
    let json: String = r.get("audience")?;
    let owner_org: Option<OrgId> = r.get("owner_org")?;
    let owner_seal: Option<Vec<u8>> = r.get("owner_seal")?;
    let owner = match (owner_org, owner_seal) {
        (Some(org), None) => Owner::Org(org),
        (None, Some(seal)) => Owner::Sealed(
            seal.try_into()
                .map_err(|_| corrupt("owner seal is not 32 bytes"))?,
        ),
        _ => return Err(corrupt("report has both or neither owner and seal")),
    };
    Ok(ReportAccess {
        key: blob16(r.get("uid")?)?,
        tlp,
        audience: audience_from_sql(&kind, &json)?,
        owner,
    })
}

fn incident_of(s: &str) -> rusqlite::Result<IncidentType> {
    IncidentType::parse(s).ok_or_else(|| corrupt(format!("unknown incident type {s:?}")))
}

fn report_row(r: &Row<'_>) -> rusqlite::Result<ReportRecord> {
    let incident: String = r.get("incident_type")?;
    Ok(ReportRecord {
        rowid: r.get("id")?,
        uid: blob16(r.get("uid")?)?,
        title: r.get("title")?,
        description: r.get("description")?,
        incident_type: incident_of(&incident)?,
        sector: r.get("sector")?,
        access: access_row(r)?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        indicators: Vec::new(),
        source: r.get("source")?,
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let role: String = r.get("role")?;
    let hash: Vec<u8> = r.get("secret_hash")?;
    Ok(TokenRecord {
        id: r.get("tid")?,
        public_id: r.get("public_id")?,
        org: Org {
            id: r.get("id")?,
            name: r.get("name")?,
            sector: r.get("sector")?,
            created_at: r.get("org_created_at")?,
        },
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("unknown role {role:?}")))?,
        label: r.get("label")?,
        secret_hash: hash
            .try_into()
            .map_err(|_| corrupt("token hash is not 32 bytes"))?,
        created_at: r.get("created_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

fn link_row(r: &Row<'_>) -> rusqlite::Result<ReportLink> {
    let incident: String = r.get("incident_type")?;
    Ok(ReportLink {
        indicator: r.get("indicator_id")?,
        report: r.get("id")?,
        uid: blob16(r.get("uid")?)?,
        title: r.get("title")?,
        incident_type: incident_of(&incident)?,
        sector: r.get("sector")?,
        access: access_row(r)?,
        created_at: r.get("created_at")?,
    })
}

fn summary_row(r: &Row<'_>) -> rusqlite::Result<SightingSummary> {
    Ok(SightingSummary {
        indicator: r.get(0)?,
        org: r.get(1)?,
        count: r.get::<_, i64>(2)? as u64,
        first_seen: r.get(3)?,
        last_seen: r.get(4)?,
    })
}

const SIGHTING_SELECT: &str =
    "SELECT s.indicator_id, s.org_id, o.sector, s.day, s.count, s.first_seen, s.last_seen
     FROM sightings s JOIN orgs o ON o.id = s.org_id";

fn sighting_row(r: &Row<'_>) -> rusqlite::Result<SightingRow> {
    Ok(SightingRow {
        indicator: r.get(0)?,
        org: r.get(1)?,
        org_sector: r.get(2)?,
        day: r.get(3)?,
        count: r.get::<_, i64>(4)? as u64,
        first_seen: r.get(5)?,
        last_seen: r.get(6)?,
    })
}

const DECISION_SELECT: &str =
    "SELECT id, indicator_id, action, comment, expires_at, scope_seal, created_at FROM decisions";

fn decision_row(r: &Row<'_>) -> rusqlite::Result<DecisionRecord> {
    let action: String = r.get(2)?;
    Ok(DecisionRecord {
        id: r.get(0)?,
        indicator: r.get(1)?,
        action: Action::parse(&action)
            .ok_or_else(|| corrupt(format!("unknown decision {action:?}")))?,
        comment: r.get(3)?,
        expires_at: r.get(4)?,
        scope: crate::columns::decision_scope(r.get::<_, Option<Vec<u8>>>(5)?).map_err(corrupt)?,
        created_at: r.get(6)?,
    })
}

const TOKEN_SELECT: &str = "SELECT t.id AS tid, t.public_id, t.role, t.label, t.secret_hash, \
     t.created_at, t.revoked_at, o.id, o.name, o.sector, o.created_at AS org_created_at \
     FROM tokens t JOIN orgs o ON o.id = t.org_id";

/// `?, ?, ?` for an IN list.
fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

/// SQLite limits bound parameters; large id lists are queried in chunks.
const CHUNK: usize = 500;

/// Runs `sql` (whose `{in}` stands for the `IN (...)` list) over `ids` in
/// chunks, mapping every row.
fn query_in<T>(
    conn: &Connection,
    ids: &[i64],
    sql: &str,
    mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let sql = sql.replace("{in}", &placeholders(chunk.len()));
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(chunk.iter()))?;
        while let Some(row) = rows.next()? {
            out.push(map(row)?);
        }
    }
    Ok(out)
}

// ---- helpers used inside write transactions ------------------------------------

/// Finds or creates the indicator; returns its record and whether it is new.
fn upsert_indicator(
    tx: &rusqlite::Transaction<'_>,
    obs: &Observable,
    now: Millis,
) -> Result<(IndicatorRecord, bool)> {
    let inserted = tx
        .prepare_cached(
            "INSERT INTO indicators (kind, value, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind, value) DO NOTHING",
        )?
        .execute(params![obs.kind.as_str(), obs.value, now])?;
    let rec = tx
        .prepare_cached(
            "SELECT id, kind, value, created_at FROM indicators WHERE kind = ?1 AND value = ?2",
        )?
        .query_row(params![obs.kind.as_str(), obs.value], indicator_row)?;
    Ok((rec, inserted == 1))
}

fn link_indicators(
    tx: &rusqlite::Transaction<'_>,
    report: ReportRowId,
    indicators: &[Observable],
    now: Millis,
) -> Result<Vec<IndicatorRecord>> {
    let mut added = Vec::new();
    let mut position = 0i64;
    for obs in indicators {
        let (rec, new) = upsert_indicator(tx, obs, now)?;
        let linked = tx
            .prepare_cached(
                "INSERT INTO report_indicators (report_id, indicator_id, position) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![report, rec.id, position])?;
        position += linked as i64;
        if new {
            added.push(rec);
        }
    }
    Ok(added)
}

/// Deletes indicators among `ids` that no report and no sighting refers to.
fn delete_orphans(
    tx: &rusqlite::Transaction<'_>,
    ids: &[IndicatorId],
) -> Result<Vec<IndicatorRecord>> {
    let mut removed = Vec::new();
    for id in ids {
        let rec = tx
            .prepare_cached(
                "SELECT id, kind, value, created_at FROM indicators i WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM report_indicators WHERE indicator_id = i.id)
                 AND NOT EXISTS (SELECT 1 FROM sightings WHERE indicator_id = i.id)
                 AND NOT EXISTS (SELECT 1 FROM decisions WHERE indicator_id = i.id)",
            )?
            .query_row([id], indicator_row)
            .optional()?;
        if let Some(rec) = rec {
            tx.prepare_cached("DELETE FROM indicators WHERE id = ?1")?
                .execute([id])?;
            removed.push(rec);
        }
    }
    Ok(removed)
}

/// Keeps STIX objects; date_added never goes backwards, so added_after and
/// the insertion-order cursor agree.
fn insert_stix(
    tx: &rusqlite::Transaction<'_>,
    report: Option<ReportRowId>,
    objects: &[NewStixObject],
    now: Millis,
    skip_known: bool,
) -> Result<()> {
    if objects.is_empty() {
        return Ok(());
    }
    let last: Option<i64> =
        tx.query_row("SELECT MAX(date_added) FROM stix_objects", [], |r| r.get(0))?;
    // Strictly later than anything kept, so that polling with the last
    // date_added seen (added_after is "strictly after") never skips a write.
    let added = last.map_or(now, |l| (l + 1).max(now));
    for o in objects {
        if skip_known {
            let known: Option<i64> = tx
                .prepare_cached("SELECT seq FROM stix_objects WHERE stix_id = ?1 AND version = ?2 AND report_id IS NULL")?
                .query_row(params![o.stix_id, o.version], |r| r.get(0))
                .optional()?;
            if known.is_some() {
                continue;
            }
        }
        tx.prepare_cached(
            "INSERT INTO stix_objects (stix_id, stix_type, spec_version, version, date_added, report_id, json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![o.stix_id, o.stix_type, o.spec_version, o.version, added, report, o.json])?;
    }
    Ok(())
}

fn stix_row(r: &Row<'_>) -> rusqlite::Result<StixRow> {
    Ok(StixRow {
        seq: r.get(0)?,
        stix_id: r.get(1)?,
        stix_type: r.get(2)?,
        spec_version: r.get(3)?,
        version: r.get(4)?,
        date_added: r.get(5)?,
        report: r.get(6)?,
        json: r.get(7)?,
    })
}

const STIX_SELECT: &str =
    "SELECT seq, stix_id, stix_type, spec_version, version, date_added, report_id, json FROM stix_objects";

fn linked_ids(tx: &Connection, report: ReportRowId) -> Result<Vec<IndicatorId>> {
    let mut stmt =
        tx.prepare_cached("SELECT indicator_id FROM report_indicators WHERE report_id = ?1")?;
    let ids = stmt
        .query_map([report], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<IndicatorId>>>()?;
    Ok(ids)
}

fn load_report(conn: &Connection, uid: &[u8; 16]) -> Result<Option<ReportRecord>> {
    let sql = format!("SELECT {REPORT_COLS} FROM reports r WHERE r.uid = ?1");
    let rec = conn
        .prepare_cached(&sql)?
        .query_row([&uid[..]], report_row)
        .optional()?;
    match rec {
        None => Ok(None),
        Some(mut rec) => {
            attach_indicators(conn, std::slice::from_mut(&mut rec))?;
            Ok(Some(rec))
        }
    }
}

fn attach_indicators(conn: &Connection, reports: &mut [ReportRecord]) -> Result<()> {
    let mut by_row: HashMap<ReportRowId, usize> = HashMap::new();
    for (i, r) in reports.iter().enumerate() {
        by_row.insert(r.rowid, i);
    }
    let rowids: Vec<ReportRowId> = reports.iter().map(|r| r.rowid).collect();
    for chunk in rowids.chunks(CHUNK) {
        let sql = format!(
            "SELECT ri.report_id, i.kind, i.value FROM report_indicators ri
             JOIN indicators i ON i.id = ri.indicator_id
             WHERE ri.report_id IN ({}) ORDER BY ri.report_id, ri.position",
            placeholders(chunk.len())
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(chunk.iter()))?;
        while let Some(row) = rows.next()? {
            let report: ReportRowId = row.get(0)?;
            let kind: String = row.get(1)?;
            let obs = Observable {
                kind: kind_of(&kind)?,
                value: row.get(2)?,
            };
            if let Some(&i) = by_row.get(&report) {
                reports[i].indicators.push(obs);
            }
        }
    }
    Ok(())
}

impl Store for SqliteStore {
    fn create_org(&self, name: &str, sector: &str, now: Millis) -> Result<Org> {
        self.write_claimed(|tx| {
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM orgs WHERE name = ?1", [name], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(StoreError::Conflict(format!(
                    "an organization named {name:?} already exists"
                )));
            }
            tx.execute(
                "INSERT INTO orgs (name, sector, created_at) VALUES (?1, ?2, ?3)",
                params![name, sector, now],
            )?;
            Ok(Org {
                id: tx.last_insert_rowid(),
                name: name.to_string(),
                sector: sector.to_string(),
                created_at: now,
            })
        })
    }

    fn org_by_name(&self, name: &str) -> Result<Option<Org>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT id, name, sector, created_at FROM orgs WHERE name = ?1")?
                    .query_row([name], org_row)
                    .optional()?,
            )
        })
    }

    fn orgs_by_id(&self, ids: &[OrgId]) -> Result<Vec<Org>> {
        self.read(|c| {
            query_in(
                c,
                ids,
                "SELECT id, name, sector, created_at FROM orgs WHERE id IN ({in})",
                org_row,
            )
        })
    }

    fn list_orgs(&self) -> Result<Vec<Org>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT id, name, sector, created_at FROM orgs ORDER BY name")?;
            let rows = stmt.query_map([], org_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn insert_token(&self, t: &NewToken) -> Result<TokenRecord> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (public_id, org_id, role, label, secret_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    t.public_id,
                    t.org,
                    t.role.as_str(),
                    t.label,
                    &t.secret_hash[..],
                    t.created_at
                ],
            )?;
            let sql = format!("{TOKEN_SELECT} WHERE t.public_id = ?1");
            Ok(tx.query_row(&sql, [&t.public_id], token_row)?)
        })
    }

    fn token_by_public_id(&self, public_id: &str) -> Result<Option<TokenRecord>> {
        self.read(|c| {
            let sql = format!("{TOKEN_SELECT} WHERE t.public_id = ?1");
            Ok(c.prepare_cached(&sql)?
                .query_row([public_id], token_row)
                .optional()?)
        })
    }

    fn revoke_token(&self, public_id: &str, now: Millis) -> Result<bool> {
        self.write_claimed(|tx| {
            let n = tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE public_id = ?1 AND revoked_at IS NULL",
                params![public_id, now],
            )?;
            Ok(n == 1)
        })
    }

    fn revoke_tokens_labelled(&self, org: OrgId, label: &str, now: Millis) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE tokens SET revoked_at = ?3 WHERE org_id = ?1 AND label = ?2 AND revoked_at IS NULL",
                params![org, label, now],
            )?)
        })
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.read(|c| {
            let sql = format!("{TOKEN_SELECT} ORDER BY o.name, t.id");
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], token_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn insert_report(&self, r: &NewReport) -> Result<(ReportRecord, IndicatorChanges)> {
        let (audience_kind, audience) = audience_to_columns(&r.audience);
        let (owner_org, owner_seal) = owner_to_columns(&r.owner);
        let added = self.write_claimed(|tx| {
            tx.prepare_cached(
                "INSERT INTO reports (uid, title, description, incident_type, sector, tlp,
                     audience_kind, audience, owner_org, owner_seal, created_at, updated_at, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)",
            )?
            .execute(params![
                &r.uid[..],
                r.title,
                r.description,
                r.incident_type.as_str(),
                r.sector,
                r.tlp.as_str(),
                audience_kind,
                audience,
                owner_org,
                owner_seal,
                r.created_at,
                r.source
            ])?;
            let rowid = tx.last_insert_rowid();
            insert_stix(tx, Some(rowid), &r.stix, r.created_at, false)?;
            link_indicators(tx, rowid, &r.indicators, r.created_at)
        })?;
        let rec = self
            .report_by_uid(&r.uid)?
            .ok_or_else(|| StoreError::Corrupt("report vanished after insert".into()))?;
        Ok((
            rec,
            IndicatorChanges {
                added,
                removed: Vec::new(),
            },
        ))
    }

    fn report_by_uid(&self, uid: &[u8; 16]) -> Result<Option<ReportRecord>> {
        // Read from the writer's snapshot-free path would serialise; readers see
        // every committed transaction, so a reader is correct here.
        self.read(|c| load_report(c, uid))
    }

    fn update_report(
        &self,
        uid: &[u8; 16],
        p: &ReportPatch,
    ) -> Result<(ReportRecord, IndicatorChanges)> {
        let changes = self.write_claimed(|tx| {
            let sql = format!("SELECT {REPORT_COLS} FROM reports r WHERE r.uid = ?1");
            let current = tx
                .query_row(&sql, [&uid[..]], report_row)
                .optional()?
                .ok_or_else(|| StoreError::NotFound("report".into()))?;
            let title = p.title.clone().unwrap_or(current.title);
            let description = p.description.clone().unwrap_or(current.description);
            let incident = p.incident_type.unwrap_or(current.incident_type);
            let sector = p.sector.clone().unwrap_or(current.sector);
            let tlp = p.tlp.unwrap_or(current.access.tlp);
            let audience = p.audience.clone().unwrap_or(current.access.audience);
            let owner = p.owner.clone().unwrap_or(current.access.owner);
            let (audience_kind, audience) = audience_to_columns(&audience);
            let (owner_org, owner_seal) = owner_to_columns(&owner);
            tx.execute(
                "UPDATE reports SET title = ?2, description = ?3, incident_type = ?4, sector = ?5,
                     tlp = ?6, audience_kind = ?7, audience = ?8, owner_org = ?9, owner_seal = ?10,
                     updated_at = ?11
                 WHERE id = ?1",
                params![
                    current.rowid,
                    title,
                    description,
                    incident.as_str(),
                    sector,
                    tlp.as_str(),
                    audience_kind,
                    audience,
                    owner_org,
                    owner_seal,
                    p.updated_at
                ],
            )?;
            if let Some(stix) = &p.stix {
                tx.execute(
                    "DELETE FROM stix_objects WHERE report_id = ?1",
                    [current.rowid],
                )?;
                insert_stix(tx, Some(current.rowid), stix, p.updated_at, false)?;
            }
            let mut changes = IndicatorChanges::default();
            if let Some(indicators) = &p.indicators {
                let before = linked_ids(tx, current.rowid)?;
                tx.execute(
                    "DELETE FROM report_indicators WHERE report_id = ?1",
                    [current.rowid],
                )?;
                changes.added = link_indicators(tx, current.rowid, indicators, p.updated_at)?;
                changes.removed = delete_orphans(tx, &before)?;
            }
            Ok(changes)
        })?;
        let rec = self
            .report_by_uid(uid)?
            .ok_or_else(|| StoreError::Corrupt("report vanished after update".into()))?;
        Ok((rec, changes))
    }

    fn delete_report(&self, uid: &[u8; 16]) -> Result<IndicatorChanges> {
        self.write_claimed(|tx| {
            let rowid: ReportRowId = tx
                .query_row("SELECT id FROM reports WHERE uid = ?1", [&uid[..]], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| StoreError::NotFound("report".into()))?;
            let before = linked_ids(tx, rowid)?;
            tx.execute(
                "DELETE FROM report_indicators WHERE report_id = ?1",
                [rowid],
            )?;
            tx.execute("DELETE FROM reports WHERE id = ?1", [rowid])?;
            Ok(IndicatorChanges {
                added: Vec::new(),
                removed: delete_orphans(tx, &before)?,
            })
        })
    }

    fn scan_reports(&self, s: &ReportScan) -> Result<Vec<ReportRecord>> {
        self.read(|c| {
            let mut sql = format!("SELECT {REPORT_COLS} FROM reports r WHERE 1 = 1");
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            if let Some(before) = s.before {
                sql.push_str(" AND r.id < ?");
                args.push(before.into());
            }
            if let Some(since) = s.since {
                sql.push_str(" AND r.created_at >= ?");
                args.push(since.into());
            }
            if let Some(until) = s.until {
                sql.push_str(" AND r.created_at < ?");
                args.push(until.into());
            }
            if let Some(sector) = &s.sector {
                sql.push_str(" AND r.sector = ?");
                args.push(sector.clone().into());
            }
            if let Some(t) = s.incident_type {
                sql.push_str(" AND r.incident_type = ?");
                args.push(t.as_str().to_string().into());
            }
            sql.push_str(" ORDER BY r.id DESC LIMIT ?");
            args.push((s.limit as i64).into());
            let mut stmt = c.prepare_cached(&sql)?;
            let mut reports = stmt
                .query_map(params_from_iter(args.iter()), report_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            attach_indicators(c, &mut reports)?;
            Ok(reports)
        })
    }

    fn count_reports(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM reports", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    fn indicator(&self, kind: Kind, value: &str) -> Result<Option<IndicatorRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, kind, value, created_at FROM indicators WHERE kind = ?1 AND value = ?2",
            )?
            .query_row(params![kind.as_str(), value], indicator_row)
            .optional()?)
        })
    }

    fn indicators_by_id(&self, ids: &[IndicatorId]) -> Result<Vec<IndicatorRecord>> {
        self.read(|c| {
            query_in(
                c,
                ids,
                "SELECT id, kind, value, created_at FROM indicators WHERE id IN ({in}) ORDER BY id",
                indicator_row,
            )
        })
    }

    fn scan_indicators(&self, s: &IndicatorScan) -> Result<Vec<IndicatorRecord>> {
        self.read(|c| {
            let mut sql =
                "SELECT id, kind, value, created_at FROM indicators WHERE 1 = 1".to_string();
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            if let Some(after) = s.after {
                sql.push_str(" AND id > ?");
                args.push(after.into());
            }
            if let Some(kind) = s.kind {
                sql.push_str(" AND kind = ?");
                args.push(kind.as_str().to_string().into());
            }
            if let Some(text) = &s.text {
                // instr() is a plain substring test: no LIKE wildcards to escape.
                sql.push_str(" AND instr(value, ?) > 0");
                args.push(text.clone().into());
            }
            sql.push_str(" ORDER BY id LIMIT ?");
            args.push((s.limit as i64).into());
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), indicator_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn report_links(&self, ids: &[IndicatorId]) -> Result<Vec<ReportLink>> {
        let sql = format!(
            "SELECT ri.indicator_id AS indicator_id, {LINK_COLS} FROM report_indicators ri
             JOIN reports r ON r.id = ri.report_id
             WHERE ri.indicator_id IN ({{in}}) ORDER BY ri.indicator_id, r.id DESC"
        );
        self.read(|c| query_in(c, ids, &sql, link_row))
    }

    fn sighting_summaries(&self, ids: &[IndicatorId]) -> Result<Vec<SightingSummary>> {
        self.read(|c| {
            query_in(
                c,
                ids,
                "SELECT indicator_id, org_id, SUM(count), MIN(first_seen), MAX(last_seen)
                 FROM sightings WHERE indicator_id IN ({in}) GROUP BY indicator_id, org_id",
                summary_row,
            )
        })
    }

    fn sightings_of(&self, id: IndicatorId) -> Result<Vec<SightingRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "{SIGHTING_SELECT} WHERE s.indicator_id = ?1 ORDER BY s.day"
            ))?;
            let rows = stmt.query_map([id], sighting_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn sighting_rows_since(&self, first_day: Day) -> Result<Vec<SightingRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "{SIGHTING_SELECT} WHERE s.day >= ?1 ORDER BY s.indicator_id, s.day"
            ))?;
            let rows = stmt.query_map([first_day], sighting_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn indicators_reported_since(&self, since: Millis) -> Result<Vec<IndicatorId>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT ri.indicator_id FROM reports r
                 JOIN report_indicators ri ON ri.report_id = r.id
                 WHERE r.created_at >= ?1 ORDER BY ri.indicator_id",
            )?;
            let rows = stmt.query_map([since], |r| r.get::<_, IndicatorId>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn for_each_indicator(&self, f: &mut dyn FnMut(IndicatorRecord)) -> Result<()> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT id, kind, value, created_at FROM indicators ORDER BY id")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                f(indicator_row(row)?);
            }
            Ok(())
        })
    }

    fn count_indicators(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM indicators", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
        })
    }

    fn add_sightings(&self, org: OrgId, batch: &[NewSighting]) -> Result<SightingsWritten> {
        self.write_claimed(|tx| {
            let mut written = SightingsWritten::default();
            for s in batch {
                let (rec, new) = upsert_indicator(tx, &s.observable, s.seen_at)?;
                let count = i64::try_from(s.count)
                    .map_err(|_| StoreError::Conflict("sighting count too large".into()))?;
                tx.prepare_cached(
                    "INSERT INTO sightings (indicator_id, org_id, day, count, first_seen, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                     ON CONFLICT (indicator_id, org_id, day) DO UPDATE SET
                         count = count + excluded.count,
                         first_seen = min(first_seen, excluded.first_seen),
                         last_seen = max(last_seen, excluded.last_seen)",
                )?
                .execute(params![rec.id, org, day_of(s.seen_at), count, s.seen_at])?;
                written.accepted += 1;
                if new {
                    written.new_indicators.push(rec);
                }
            }
            Ok(written)
        })
    }

    fn add_decision(
        &self,
        indicator: IndicatorId,
        action: Action,
        comment: &str,
        expires_at: Option<Millis>,
        scope: DecisionScope,
        now: Millis,
    ) -> Result<DecisionRecord> {
        self.write_claimed(|tx| {
            tx.execute(
                "INSERT INTO decisions (indicator_id, action, comment, expires_at, scope_seal, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    indicator,
                    action.as_str(),
                    comment,
                    expires_at,
                    crate::columns::scope_seal(&scope),
                    now
                ],
            )?;
            Ok(DecisionRecord {
                id: tx.last_insert_rowid(),
                indicator,
                action,
                comment: comment.to_string(),
                expires_at,
                scope,
                created_at: now,
            })
        })
    }

    fn decisions_of(&self, id: IndicatorId) -> Result<Vec<DecisionRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "{DECISION_SELECT} WHERE indicator_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([id], decision_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn latest_decisions(&self) -> Result<Vec<DecisionRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "{DECISION_SELECT} WHERE id IN (SELECT MAX(id) FROM decisions GROUP BY indicator_id, scope_seal)"
            ))?;
            let rows = stmt.query_map([], decision_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn allow_add(&self, obs: &Observable, comment: &str, now: Millis) -> Result<AllowEntry> {
        self.write_claimed(|tx| {
            tx.execute(
                "INSERT INTO allowlist (kind, value, comment, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, value) DO UPDATE SET comment = excluded.comment",
                params![obs.kind.as_str(), obs.value, comment, now],
            )?;
            Ok(AllowEntry {
                observable: obs.clone(),
                comment: comment.to_string(),
                created_at: now,
            })
        })
    }

    fn allow_remove(&self, obs: &Observable) -> Result<bool> {
        self.write_claimed(|tx| {
            Ok(tx.execute(
                "DELETE FROM allowlist WHERE kind = ?1 AND value = ?2",
                params![obs.kind.as_str(), obs.value],
            )? == 1)
        })
    }

    fn allow_list(&self) -> Result<Vec<AllowEntry>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT kind, value, comment, created_at FROM allowlist ORDER BY kind, value",
            )?;
            let rows = stmt.query_map([], |r| {
                let kind: String = r.get(0)?;
                Ok(AllowEntry {
                    observable: Observable {
                        kind: kind_of(&kind)?,
                        value: r.get(1)?,
                    },
                    comment: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn allow_entry(&self, obs: &Observable) -> Result<Option<AllowEntry>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT comment, created_at FROM allowlist WHERE kind = ?1 AND value = ?2",
            )?
            .query_row(params![obs.kind.as_str(), obs.value], |r| {
                Ok(AllowEntry {
                    observable: obs.clone(),
                    comment: r.get(0)?,
                    created_at: r.get(1)?,
                })
            })
            .optional()?)
        })
    }

    fn all_report_links(&self) -> Result<Vec<ReportLink>> {
        self.read(|c| {
            let sql = format!(
                "SELECT ri.indicator_id AS indicator_id, {LINK_COLS} FROM report_indicators ri
                 JOIN reports r ON r.id = ri.report_id ORDER BY ri.indicator_id"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], link_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn all_sighting_summaries(&self) -> Result<Vec<SightingSummary>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT indicator_id, org_id, SUM(count), MIN(first_seen), MAX(last_seen)
                 FROM sightings GROUP BY indicator_id, org_id",
            )?;
            let rows = stmt.query_map([], summary_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn put_shared_stix(&self, objects: &[NewStixObject], now: Millis) -> Result<()> {
        self.write(|tx| insert_stix(tx, None, objects, now, true))
    }

    fn scan_stix(&self, s: &StixScan) -> Result<Vec<StixRow>> {
        self.read(|c| {
            let mut sql = format!("{STIX_SELECT} WHERE 1 = 1");
            let mut args: Vec<rusqlite::types::Value> = Vec::new();
            if let Some(after) = s.after_seq {
                sql.push_str(" AND seq > ?");
                args.push(after.into());
            }
            if let Some(t) = s.added_after {
                sql.push_str(" AND date_added > ?");
                args.push(t.into());
            }
            for (column, values) in [
                ("stix_id", &s.ids),
                ("stix_type", &s.types),
                ("spec_version", &s.spec_versions),
            ] {
                if !values.is_empty() {
                    sql.push_str(&format!(
                        " AND {column} IN ({})",
                        placeholders(values.len())
                    ));
                    args.extend(values.iter().map(|v| v.clone().into()));
                }
            }
            sql.push_str(" ORDER BY seq LIMIT ?");
            args.push((s.limit as i64).into());
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), stix_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn stix_of_report(&self, report: ReportRowId) -> Result<Vec<StixRow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("{STIX_SELECT} WHERE report_id = ?1 ORDER BY seq"))?;
            let rows = stmt.query_map([report], stix_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn report_access(
        &self,
        ids: &[ReportRowId],
    ) -> Result<Vec<(ReportRowId, ReportAccess, Option<String>)>> {
        self.read(|c| {
            query_in(
                c,
                ids,
                &format!("SELECT {LINK_COLS} FROM reports r WHERE r.id IN ({{in}})"),
                |r| Ok((r.get("id")?, access_row(r)?, r.get("sector")?)),
            )
        })
    }

    fn add_audit(&self, at: Millis, actor: &str, action: &str, detail: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                params![at, actor, action, detail],
            )?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn count_stix(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM stix_objects", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
        })
    }

    fn put_session(&self, s: &SessionRecord) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sessions (id_hash, token_public_id, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &s.id_hash[..],
                    s.token_public_id,
                    s.csrf,
                    s.created_at,
                    s.expires_at
                ],
            )?;
            Ok(())
        })
    }

    fn session(&self, id_hash: &[u8; 32], now: Millis) -> Result<Option<SessionRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT token_public_id, csrf, created_at, expires_at FROM sessions
                 WHERE id_hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![&id_hash[..], now], |r| {
                Ok(SessionRecord {
                    id_hash: *id_hash,
                    token_public_id: r.get(0)?,
                    csrf: r.get(1)?,
                    created_at: r.get(2)?,
                    expires_at: r.get(3)?,
                })
            })
            .optional()?)
        })
    }

    fn delete_session(&self, id_hash: &[u8; 32]) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash[..]])?;
            Ok(())
        })
    }

    fn prune_sessions(&self, now: Millis) -> Result<usize> {
        self.write(|tx| Ok(tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?))
    }

    fn put_taxii_status(&self, id: &str, json: &str, now: Millis) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO taxii_status (id, json, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                params![id, json, now],
            )?;
            Ok(())
        })
    }

    fn taxii_status(&self, id: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT json FROM taxii_status WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn claim(&self, key: &[u8; 32]) -> Result<Option<ClaimRecord>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT request_hash, node, created_at, status, content_type, location, body
                 FROM idempotency WHERE key_hash = ?1",
            )?
            .query_row([&key[..]], |r| {
                let request: Vec<u8> = r.get(0)?;
                let status: Option<i64> = r.get(3)?;
                Ok(ClaimRecord {
                    request: request
                        .try_into()
                        .map_err(|_| corrupt("request hash is not 32 bytes"))?,
                    node: r.get(1)?,
                    at: r.get(2)?,
                    response: match status {
                        Some(status) => Some(KeptResponse {
                            status: u16::try_from(status)
                                .map_err(|_| corrupt("kept status out of range"))?,
                            content_type: r.get(4)?,
                            location: r.get(5)?,
                            body: r.get::<_, Option<Vec<u8>>>(6)?.unwrap_or_default(),
                        }),
                        None => None,
                    },
                })
            })
            .optional()?)
        })
    }

    fn keep_response(&self, key: &[u8; 32], k: &KeptResponse) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE idempotency SET status = ?2, content_type = ?3, location = ?4, body = ?5
                 WHERE key_hash = ?1",
            )?
            .execute(params![
                &key[..],
                i64::from(k.status),
                k.content_type,
                k.location,
                k.body
            ])?;
            Ok(())
        })
    }

    fn purge_claims(&self, before: Millis, limit: usize) -> Result<usize> {
        self.write(|tx| {
            Ok(tx
                .prepare_cached(
                    "DELETE FROM idempotency WHERE key_hash IN
                     (SELECT key_hash FROM idempotency WHERE created_at < ?1 LIMIT ?2)",
                )?
                .execute(params![before, limit as i64])?)
        })
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT value FROM kyojo_meta WHERE name = ?1")?
                    .query_row([name], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn meta_or_insert(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO kyojo_meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![name, value],
            )?;
            Ok(tx.query_row("SELECT value FROM kyojo_meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })?)
        })
    }

    fn count_sighting_rows(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM sightings", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::{new_report, obs};

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kyojo.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn reopening_keeps_data_and_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.create_org("acme", "finance", 1).unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.list_orgs().unwrap().len(), 1);
        assert!(matches!(
            s.create_org("acme", "gas", 2),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn anonymous_report_stores_no_org_in_clear() {
        let (_d, s) = open();
        let org = s.create_org("acme", "finance", 1).unwrap();
        let seal = [9u8; 32];
        s.insert_report(&new_report(
            1,
            Owner::Sealed(seal),
            vec![obs(Kind::Domain, "evil.example")],
        ))
        .unwrap();
        let owner_org: Option<i64> = s
            .read(|c| Ok(c.query_row("SELECT owner_org FROM reports", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(owner_org, None);
        let rec = s.report_by_uid(&[1; 16]).unwrap().unwrap();
        assert_eq!(rec.access.owner, Owner::Sealed(seal));
        assert_ne!(rec.access.owner, Owner::Org(org.id));
    }

    #[test]
    fn report_round_trip_update_and_delete_with_orphans() {
        let (_d, s) = open();
        crate::conformance::report_round_trip_update_and_delete_with_orphans(&s);
    }

    #[test]
    fn sightings_aggregate_per_indicator_org_day() {
        let (_d, s) = open();
        crate::conformance::sightings_aggregate_per_indicator_org_day(&s);
    }

    #[test]
    fn claims_ride_with_their_write() {
        let (_d, s) = open();
        crate::conformance::claims_ride_with_their_write(&s);
    }

    #[test]
    fn tokens_revoke() {
        let (_d, s) = open();
        crate::conformance::tokens_revoke(&s);
    }

    #[test]
    fn scans_paginate_and_filter() {
        let (_d, s) = open();
        crate::conformance::scans_paginate_and_filter(&s);
    }
}
