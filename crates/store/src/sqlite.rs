//! The embedded default store: one SQLite file in WAL mode.
//!
//! One writer connection (SQLite serialises writers anyway) and a few reader
//! connections, so reads never wait behind a write transaction.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use rusqlite::{params_from_iter, Connection, OpenFlags};

use kyojo_core::policy::OrgId;

use crate::shared::{migrations_applied, upsert_indicator, Backend, INDICATOR_SELECT};
use crate::sql::{Conn, Dialect, EachRow, Param};
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

/// Every statement goes through a connection's statement cache; this keeps
/// all of the store's usual statements prepared.
const STATEMENTS_CACHED: usize = 96;

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
    conn.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let applied = migrations_applied(applied, MIGRATIONS)?;
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
            conn.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
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
        self.with_reader(|c| {
            c.execute("VACUUM INTO ?1", [&target])?;
            Ok(())
        })
    }

    /// Runs `f` on the first free reader connection.
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
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
}

/// A connection (or a transaction on it) as the shared queries use it.
struct Lite<'c>(&'c Connection);

crate::sql::sql_row_via!(rusqlite::Row<'_>, get);

fn sqlite_params<'p>(params: &'p [&'p dyn Param]) -> impl Iterator<Item = &'p dyn rusqlite::ToSql> {
    params.iter().map(|p| p.for_sqlite())
}

impl Conn for Lite<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn run(&mut self, sql: &str, params: &[&dyn Param]) -> Result<usize> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(params_from_iter(sqlite_params(params)))?)
    }

    fn rows(&mut self, sql: &str, params: &[&dyn Param], each: EachRow<'_>) -> Result<()> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let mut rows = stmt.query(params_from_iter(sqlite_params(params)))?;
        while let Some(row) = rows.next()? {
            each(row)?;
        }
        Ok(())
    }
}

/// The embedded store's way to its database: one writer, whose immediate
/// transactions serialise writes, and the readers.
impl Backend for SqliteStore {
    fn read<T: Send>(&self, f: impl Fn(&mut dyn Conn) -> Result<T> + Send) -> Result<T> {
        self.with_reader(|c| f(&mut Lite(c)))
    }

    fn write<T: Send>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T> + Send) -> Result<T> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&mut Lite(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    fn write_alone<T: Send>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T> + Send) -> Result<T> {
        f(&mut Lite(&self.writer.lock()))
    }

    /// One upsert per sighting: statements are cheap in process.
    fn write_sightings(&self, org: OrgId, batch: &[NewSighting]) -> Result<SightingsWritten> {
        self.write_claimed(|tx| {
            let mut written = SightingsWritten::default();
            for s in batch {
                let (rec, new) = upsert_indicator(tx, &s.observable, s.seen_at)?;
                let count = i64::try_from(s.count)
                    .map_err(|_| StoreError::Conflict("sighting count too large".into()))?;
                tx.execute(
                    "INSERT INTO sightings (indicator_id, org_id, day, count, first_seen, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                     ON CONFLICT (indicator_id, org_id, day) DO UPDATE SET
                         count = count + excluded.count,
                         first_seen = min(first_seen, excluded.first_seen),
                         last_seen = max(last_seen, excluded.last_seen)",
                    &[&rec.id, &org, &day_of(s.seen_at), &count, &s.seen_at],
                )?;
                written.accepted += 1;
                if new {
                    written.new_indicators.push(rec);
                }
            }
            Ok(written)
        })
    }

    fn each_indicator(&self, f: &mut dyn FnMut(IndicatorRecord)) -> Result<()> {
        self.with_reader(|c| {
            let conn: &mut dyn Conn = &mut Lite(c);
            conn.for_each(
                &format!("{INDICATOR_SELECT} ORDER BY id"),
                &[],
                &mut |row| {
                    f(crate::shared::indicator_row(row)?);
                    Ok(())
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store in a temporary directory, removed with it.
    struct TempStore {
        store: SqliteStore,
        _dir: tempfile::TempDir,
    }

    impl std::ops::Deref for TempStore {
        type Target = SqliteStore;
        fn deref(&self) -> &SqliteStore {
            &self.store
        }
    }

    fn open() -> Option<TempStore> {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("kyojo.sqlite")).unwrap();
        Some(TempStore { store, _dir: dir })
    }

    crate::conformance::suite!(open());

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
        let version: i64 = s
            .with_reader(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}
