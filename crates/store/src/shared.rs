//! Every query both backends run, with its row decoder, written once.
//!
//! A backend supplies connections and transactions ([`Backend`]) and the
//! few things it really does differently (writing a sightings batch,
//! streaming indicators, telling other nodes' writes); [`Store`] is
//! implemented once here for every backend.

use kyojo_core::decide::Action;
use kyojo_core::policy::{OrgId, Owner, Role};
use kyojo_core::report::IncidentType;
use kyojo_core::{Kind, Observable, ReportAccess, Tlp};

use crate::columns::{audience_from_columns, audience_to_columns, owner_to_columns};
use crate::sql::{sql_limit, Args, Conn, List, SqlRow};
use crate::*;

/// How a database is reached. Implemented by each backend's store; the
/// store's [`Store`] methods come from the implementation below.
pub trait Backend: Send + Sync + 'static {
    /// Runs a read; it may be run again (on a fresh connection) when its
    /// connection turns out to be dead.
    fn read<T: Send>(&self, f: impl Fn(&mut dyn Conn) -> Result<T> + Send) -> Result<T>;

    /// Runs `f` in one transaction, serialised with every other write, and
    /// commits before returning.
    fn write<T: Send>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T> + Send) -> Result<T>;

    /// Runs one statement that needs neither a transaction nor the writers'
    /// order (idempotency bookkeeping), so it does not wait for them where
    /// the backend can avoid it.
    fn write_alone<T: Send>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T> + Send) -> Result<T>;

    /// [`Store::add_sightings`]: one statement per sighting suits an embedded
    /// database, a round trip per sighting does not suit a server.
    fn write_sightings(&self, org: OrgId, batch: &[NewSighting]) -> Result<SightingsWritten>;

    /// [`Store::for_each_indicator`]: `f` need not be `Send`, which a
    /// backend that blocks off the async runtime must work around.
    fn each_indicator(&self, f: &mut dyn FnMut(IndicatorRecord)) -> Result<()>;

    /// [`Store::shared`].
    fn shared_database(&self) -> bool {
        false
    }

    /// [`Store::foreign_changes`].
    fn changes_since(&self, cursor: Option<i64>) -> Result<ForeignChanges> {
        let _ = cursor;
        Ok(ForeignChanges::default())
    }

    /// [`Self::write`] for a write an idempotency key may guard: the current
    /// thread's claim (see [`crate::with_claim`]) is recorded in the same
    /// transaction, or the write fails when the key is already claimed.
    fn write_claimed<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T> + Send,
    ) -> Result<T> {
        // Taken on this thread: the write itself may run on another.
        let taken = crate::take_claim();
        let claim = taken.as_ref().map(|(_, c)| c.clone());
        let result = self.write(move |tx| {
            if let Some(claim) = &claim {
                record_claim(tx, claim)?;
            }
            f(tx)
        });
        crate::settle_claim(taken, &result);
        result
    }
}

/// How many of `migrations` a database that records `applied` of them
/// has run; a database newer than this program is refused.
pub(crate) fn migrations_applied(applied: i64, migrations: &[&str]) -> Result<usize> {
    let applied = usize::try_from(applied)
        .map_err(|_| StoreError::Corrupt(format!("negative schema version {applied}")))?;
    if applied > migrations.len() {
        return Err(StoreError::Open(format!(
            "the database has schema version {applied}, newer than this kyojo knows ({}); upgrade kyojo",
            migrations.len()
        )));
    }
    Ok(applied)
}

/// Claims an idempotency key in the write's transaction; a kept claim made
/// before `expired_before` is taken over.
fn record_claim(tx: &mut dyn Conn, c: &Claim) -> Result<()> {
    let n = tx.execute(
        "INSERT INTO idempotency (key_hash, request_hash, node, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key_hash) DO UPDATE SET request_hash = excluded.request_hash,
             node = excluded.node, created_at = excluded.created_at, status = NULL,
             content_type = NULL, location = NULL, body = NULL
         WHERE idempotency.created_at < ?5",
        &[
            &&c.key[..],
            &&c.request[..],
            &c.node,
            &c.at,
            &c.expired_before,
        ],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(crate::KEY_TAKEN.into()));
    }
    Ok(())
}

// ---- row decoding --------------------------------------------------------------

pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

pub(crate) fn kind_of(s: &str) -> Result<Kind> {
    s.parse::<Kind>()
        .map_err(|_| corrupt(format!("unknown indicator kind {s:?}")))
}

/// Counts are stored as signed integers but are never negative.
pub(crate) fn count_of(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt(format!("negative count {n}")))
}

fn org_row(r: &dyn SqlRow) -> Result<Org> {
    Ok(Org {
        id: r.int("id")?,
        name: r.text("name")?,
        sector: r.text("sector")?,
        created_at: r.int("created_at")?,
    })
}

pub(crate) const INDICATOR_SELECT: &str = "SELECT id, kind, value, created_at FROM indicators";

pub(crate) fn indicator_row(r: &dyn SqlRow) -> Result<IndicatorRecord> {
    Ok(IndicatorRecord {
        id: r.int("id")?,
        observable: Observable::from_store(kind_of(&r.text("kind")?)?, r.text("value")?),
        created_at: r.int("created_at")?,
    })
}

fn uid_of(v: Vec<u8>) -> Result<[u8; 16]> {
    v.try_into()
        .map_err(|_| corrupt("report uid is not 16 bytes"))
}

/// What a [`ReportLink`] needs, and what [`access_row`] reads: no
/// description, which can be large.
const LINK_COLS: &str = "r.id, r.uid, r.title, r.incident_type, r.sector, r.tlp, \
     r.audience_kind, r.audience, r.owner_org, r.owner_seal, r.created_at";

/// Reports with everything [`report_row`] reads, from `reports r`.
fn report_select(c: &dyn Conn) -> String {
    format!(
        "SELECT r.id, r.uid, r.title, r.description, r.incident_type, r.sector, r.source, r.tlp,
             r.audience_kind, r.audience, r.owner_org, r.owner_seal, r.created_at, r.updated_at,
             {} AS indicators
         FROM reports r",
        c.dialect().report_indicators()
    )
}

fn access_row(r: &dyn SqlRow) -> Result<ReportAccess> {
    let tlp = r.text("tlp")?;
    let tlp: Tlp = tlp
        .parse()
        .map_err(|_| corrupt(format!("bad tlp {tlp:?}")))?;
    let owner = match (r.opt_int("owner_org")?, r.opt_bytes("owner_seal")?) {
        (Some(org), None) => Owner::Org(org),
        (None, Some(seal)) => Owner::Sealed(
            seal.try_into()
                .map_err(|_| corrupt("owner seal is not 32 bytes"))?,
        ),
        _ => return Err(corrupt("report has both or neither owner and seal")),
    };
    Ok(ReportAccess {
        key: uid_of(r.bytes("uid")?)?,
        tlp,
        audience: audience_from_columns(&r.text("audience_kind")?, &r.text("audience")?)
            .map_err(corrupt)?,
        owner,
    })
}

fn incident_of(s: &str) -> Result<IncidentType> {
    IncidentType::parse(s).ok_or_else(|| corrupt(format!("unknown incident type {s:?}")))
}

fn report_row(r: &dyn SqlRow) -> Result<ReportRecord> {
    let pairs: Vec<(String, String)> = serde_json::from_str(&r.text("indicators")?)
        .map_err(|e| corrupt(format!("bad report indicator list: {e}")))?;
    let indicators = pairs
        .into_iter()
        .map(|(kind, value)| Ok(Observable::from_store(kind_of(&kind)?, value)))
        .collect::<Result<Vec<_>>>()?;
    Ok(ReportRecord {
        rowid: r.int("id")?,
        uid: uid_of(r.bytes("uid")?)?,
        title: r.text("title")?,
        description: r.text("description")?,
        incident_type: incident_of(&r.text("incident_type")?)?,
        sector: r.opt_text("sector")?,
        access: access_row(r)?,
        created_at: r.int("created_at")?,
        updated_at: r.int("updated_at")?,
        indicators,
        source: {
            let name = r.text("source")?;
            ReportSource::parse(&name)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown report source {name:?}")))?
        },
    })
}

const TOKEN_SELECT: &str = "SELECT t.id AS tid, t.public_id, t.role, t.label, t.secret_hash, \
     t.created_at, t.revoked_at, o.id, o.name, o.sector, o.created_at AS org_created_at \
     FROM tokens t JOIN orgs o ON o.id = t.org_id";

fn token_row(r: &dyn SqlRow) -> Result<TokenRecord> {
    let role = r.text("role")?;
    Ok(TokenRecord {
        id: r.int("tid")?,
        public_id: r.text("public_id")?,
        org: Org {
            id: r.int("id")?,
            name: r.text("name")?,
            sector: r.text("sector")?,
            created_at: r.int("org_created_at")?,
        },
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("unknown role {role:?}")))?,
        label: r.opt_text("label")?,
        secret_hash: r
            .bytes("secret_hash")?
            .try_into()
            .map_err(|_| corrupt("token hash is not 32 bytes"))?,
        created_at: r.int("created_at")?,
        revoked_at: r.opt_int("revoked_at")?,
    })
}

fn link_row(r: &dyn SqlRow) -> Result<ReportLink> {
    Ok(ReportLink {
        indicator: r.int("indicator_id")?,
        report: r.int("id")?,
        uid: uid_of(r.bytes("uid")?)?,
        title: r.text("title")?,
        incident_type: incident_of(&r.text("incident_type")?)?,
        sector: r.opt_text("sector")?,
        access: access_row(r)?,
        created_at: r.int("created_at")?,
    })
}

/// The cast keeps the sum an integer (PostgreSQL's SUM of BIGINT is NUMERIC).
const SUMMARY_SELECT: &str = "SELECT indicator_id, org_id, CAST(SUM(count) AS BIGINT) AS total,
         MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen
     FROM sightings";

fn summary_row(r: &dyn SqlRow) -> Result<SightingSummary> {
    Ok(SightingSummary {
        indicator: r.int("indicator_id")?,
        org: r.int("org_id")?,
        count: count_of(r.int("total")?)?,
        first_seen: r.int("first_seen")?,
        last_seen: r.int("last_seen")?,
    })
}

const SIGHTING_SELECT: &str =
    "SELECT s.indicator_id, s.org_id, o.sector, s.day, s.count, s.first_seen, s.last_seen
     FROM sightings s JOIN orgs o ON o.id = s.org_id";

fn sighting_row(r: &dyn SqlRow) -> Result<SightingRow> {
    Ok(SightingRow {
        indicator: r.int("indicator_id")?,
        org: r.int("org_id")?,
        org_sector: r.text("sector")?,
        day: r.int("day")?,
        count: count_of(r.int("count")?)?,
        first_seen: r.int("first_seen")?,
        last_seen: r.int("last_seen")?,
    })
}

const DECISION_SELECT: &str =
    "SELECT id, indicator_id, action, comment, expires_at, scope_seal, created_at FROM decisions";

fn decision_row(r: &dyn SqlRow) -> Result<DecisionRecord> {
    let action = r.text("action")?;
    Ok(DecisionRecord {
        id: r.int("id")?,
        indicator: r.int("indicator_id")?,
        action: Action::parse(&action)
            .ok_or_else(|| corrupt(format!("unknown decision {action:?}")))?,
        comment: r.text("comment")?,
        expires_at: r.opt_int("expires_at")?,
        scope: crate::columns::decision_scope(r.opt_bytes("scope_seal")?).map_err(corrupt)?,
        created_at: r.int("created_at")?,
    })
}

const STIX_SELECT: &str =
    "SELECT seq, stix_id, stix_type, spec_version, version, date_added, report_id, json FROM stix_objects";

fn stix_row(r: &dyn SqlRow) -> Result<StixRow> {
    Ok(StixRow {
        seq: r.int("seq")?,
        stix_id: r.text("stix_id")?,
        stix_type: r.text("stix_type")?,
        spec_version: r.text("spec_version")?,
        version: r.text("version")?,
        date_added: r.int("date_added")?,
        report: r.opt_int("report_id")?,
        json: r.text("json")?,
    })
}

fn allow_row(r: &dyn SqlRow) -> Result<AllowEntry> {
    Ok(AllowEntry {
        observable: Observable::from_store(kind_of(&r.text("kind")?)?, r.text("value")?),
        comment: r.text("comment")?,
        created_at: r.int("created_at")?,
    })
}

fn claim_row(r: &dyn SqlRow) -> Result<ClaimRecord> {
    Ok(ClaimRecord {
        request: r
            .bytes("request_hash")?
            .try_into()
            .map_err(|_| corrupt("request hash is not 32 bytes"))?,
        node: r.int("node")?,
        at: r.int("created_at")?,
        response: match r.opt_int("status")? {
            Some(status) => Some(KeptResponse {
                status: u16::try_from(status).map_err(|_| corrupt("kept status out of range"))?,
                content_type: r.opt_text("content_type")?,
                location: r.opt_text("location")?,
                body: r.opt_bytes("body")?.unwrap_or_default(),
            }),
            None => None,
        },
    })
}

fn count_rows(c: &mut dyn Conn, table: &str) -> Result<u64> {
    count_of(
        c.query_one(&format!("SELECT COUNT(*) AS n FROM {table}"), &[], |r| {
            r.int("n")
        })?,
    )
}

// ---- helpers used inside write transactions ------------------------------------

/// Finds or creates the indicator; returns its record and whether it is new.
pub(crate) fn upsert_indicator(
    tx: &mut dyn Conn,
    obs: &Observable,
    now: Millis,
) -> Result<(IndicatorRecord, bool)> {
    let kind = obs.kind.as_str();
    let select = format!("{INDICATOR_SELECT} WHERE kind = ?1 AND value = ?2");
    // Looking first spares an identity value: a conflicting INSERT burns one.
    if let Some(rec) = tx.query_opt(&select, &[&kind, &obs.value], indicator_row)? {
        return Ok((rec, false));
    }
    let inserted = tx.query_opt(
        "INSERT INTO indicators (kind, value, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, value) DO NOTHING RETURNING id, kind, value, created_at",
        &[&kind, &obs.value, &now],
        indicator_row,
    )?;
    if let Some(rec) = inserted {
        return Ok((rec, true));
    }
    Ok((
        tx.query_one(&select, &[&kind, &obs.value], indicator_row)?,
        false,
    ))
}

fn link_indicators(
    tx: &mut dyn Conn,
    report: ReportRowId,
    indicators: &[Observable],
    now: Millis,
) -> Result<Vec<IndicatorRecord>> {
    let mut added = Vec::new();
    let mut position = 0i64;
    for obs in indicators {
        let (rec, new) = upsert_indicator(tx, obs, now)?;
        let linked = tx.execute(
            "INSERT INTO report_indicators (report_id, indicator_id, position) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            &[&report, &rec.id, &position],
        )?;
        position += i64::from(linked == 1);
        if new {
            added.push(rec);
        }
    }
    Ok(added)
}

/// Deletes indicators among `ids` that no report, sighting or decision
/// refers to; returns them in id order.
fn delete_orphans(tx: &mut dyn Conn, ids: &[IndicatorId]) -> Result<Vec<IndicatorRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut removed = tx.query(
        "DELETE FROM indicators AS i WHERE i.id = ANY(?1)
         AND NOT EXISTS (SELECT 1 FROM report_indicators WHERE indicator_id = i.id)
         AND NOT EXISTS (SELECT 1 FROM sightings WHERE indicator_id = i.id)
         AND NOT EXISTS (SELECT 1 FROM decisions WHERE indicator_id = i.id)
         RETURNING id, kind, value, created_at",
        &[&List::new(ids)],
        indicator_row,
    )?;
    removed.sort_by_key(|r| r.id);
    Ok(removed)
}

/// Keeps STIX objects; date_added never goes backwards, so added_after and
/// the insertion-order cursor agree (writes are serialised, so seq order is
/// also commit order).
fn insert_stix(
    tx: &mut dyn Conn,
    report: Option<ReportRowId>,
    objects: &[NewStixObject],
    now: Millis,
    skip_known: bool,
) -> Result<()> {
    if objects.is_empty() {
        return Ok(());
    }
    let last = tx.query_one(
        "SELECT MAX(date_added) AS latest FROM stix_objects",
        &[],
        |r| r.opt_int("latest"),
    )?;
    // Strictly later than anything kept, so that polling with the last
    // date_added seen (added_after is "strictly after") never skips a write.
    let added = last.map_or(now, |l| (l + 1).max(now));
    for o in objects {
        if skip_known {
            let known = tx.query_opt(
                "SELECT seq FROM stix_objects WHERE stix_id = ?1 AND version = ?2 AND report_id IS NULL",
                &[&o.stix_id, &o.version],
                |r| r.int("seq"),
            )?;
            if known.is_some() {
                continue;
            }
        }
        tx.execute(
            "INSERT INTO stix_objects (stix_id, stix_type, spec_version, version, date_added, report_id, json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[&o.stix_id, &o.stix_type, &o.spec_version, &o.version, &added, &report, &o.json],
        )?;
    }
    Ok(())
}

/// Indicators a report links to, in id order.
fn linked_ids(tx: &mut dyn Conn, report: ReportRowId) -> Result<Vec<IndicatorId>> {
    tx.query(
        "SELECT indicator_id FROM report_indicators WHERE report_id = ?1 ORDER BY indicator_id",
        &[&report],
        |r| r.int("indicator_id"),
    )
}

fn load_report(c: &mut dyn Conn, uid: &[u8; 16]) -> Result<Option<ReportRecord>> {
    let sql = format!("{} WHERE r.uid = ?1", report_select(c));
    c.query_opt(&sql, &[&&uid[..]], report_row)
}

/// Unlinks a report's indicators; returns those that no longer exist.
fn unlink_all(tx: &mut dyn Conn, report: ReportRowId) -> Result<Vec<IndicatorId>> {
    let before = linked_ids(tx, report)?;
    tx.execute(
        "DELETE FROM report_indicators WHERE report_id = ?1",
        &[&report],
    )?;
    Ok(before)
}

impl<B: Backend> Store for B {
    fn create_org(&self, name: &str, sector: &str, now: Millis) -> Result<Org> {
        self.write_claimed(|tx| {
            let conflict =
                || StoreError::Conflict(format!("an organization named {name:?} already exists"));
            // Looking first spares an identity value: a conflicting INSERT burns one.
            if tx
                .query_opt("SELECT id FROM orgs WHERE name = ?1", &[&name], |r| {
                    r.int("id")
                })?
                .is_some()
            {
                return Err(conflict());
            }
            let id = tx
                .query_opt(
                    "INSERT INTO orgs (name, sector, created_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                    &[&name, &sector, &now],
                    |r| r.int("id"),
                )?
                .ok_or_else(conflict)?;
            Ok(Org {
                id,
                name: name.to_string(),
                sector: sector.to_string(),
                created_at: now,
            })
        })
    }

    fn org_by_name(&self, name: &str) -> Result<Option<Org>> {
        self.read(|c| {
            c.query_opt(
                "SELECT id, name, sector, created_at FROM orgs WHERE name = ?1",
                &[&name],
                org_row,
            )
        })
    }

    fn orgs_by_id(&self, ids: &[OrgId]) -> Result<Vec<Org>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            c.query(
                "SELECT id, name, sector, created_at FROM orgs WHERE id = ANY(?1) ORDER BY id",
                &[&List::new(ids)],
                org_row,
            )
        })
    }

    fn list_orgs(&self) -> Result<Vec<Org>> {
        self.read(|c| {
            c.query(
                "SELECT id, name, sector, created_at FROM orgs ORDER BY name",
                &[],
                org_row,
            )
        })
    }

    fn insert_token(&self, t: &NewToken) -> Result<TokenRecord> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (public_id, org_id, role, label, secret_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[
                    &t.public_id,
                    &t.org,
                    &t.role.as_str(),
                    &t.label,
                    &&t.secret_hash[..],
                    &t.created_at,
                ],
            )?;
            tx.query_one(
                &format!("{TOKEN_SELECT} WHERE t.public_id = ?1"),
                &[&t.public_id],
                token_row,
            )
        })
    }

    fn token_by_public_id(&self, public_id: &str) -> Result<Option<TokenRecord>> {
        self.read(|c| {
            c.query_opt(
                &format!("{TOKEN_SELECT} WHERE t.public_id = ?1"),
                &[&public_id],
                token_row,
            )
        })
    }

    fn revoke_token(&self, public_id: &str, now: Millis) -> Result<bool> {
        self.write_claimed(|tx| {
            let n = tx.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE public_id = ?1 AND revoked_at IS NULL",
                &[&public_id, &now],
            )?;
            Ok(n == 1)
        })
    }

    fn revoke_tokens_labelled(&self, org: OrgId, label: &str, now: Millis) -> Result<usize> {
        self.write(|tx| {
            tx.execute(
                "UPDATE tokens SET revoked_at = ?3 WHERE org_id = ?1 AND label = ?2 AND revoked_at IS NULL",
                &[&org, &label, &now],
            )
        })
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.read(|c| {
            c.query(
                &format!("{TOKEN_SELECT} ORDER BY o.name, t.id"),
                &[],
                token_row,
            )
        })
    }

    fn insert_report(&self, r: &NewReport) -> Result<(ReportRecord, IndicatorChanges)> {
        let (audience_kind, audience) = audience_to_columns(&r.audience);
        let (owner_org, owner_seal) = owner_to_columns(&r.owner);
        self.write_claimed(|tx| {
            let rowid: ReportRowId = tx.query_one(
                "INSERT INTO reports (uid, title, description, incident_type, sector, tlp,
                     audience_kind, audience, owner_org, owner_seal, created_at, updated_at, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)
                 RETURNING id",
                &[
                    &&r.uid[..],
                    &r.title,
                    &r.description,
                    &r.incident_type.as_str(),
                    &r.sector,
                    &r.tlp.as_str(),
                    &audience_kind,
                    &audience,
                    &owner_org,
                    &owner_seal,
                    &r.created_at,
                    &r.source.as_str(),
                ],
                |row| row.int("id"),
            )?;
            insert_stix(tx, Some(rowid), &r.stix, r.created_at, false)?;
            let added = link_indicators(tx, rowid, &r.indicators, r.created_at)?;
            let rec =
                load_report(tx, &r.uid)?.ok_or_else(|| corrupt("report vanished after insert"))?;
            Ok((
                rec,
                IndicatorChanges {
                    added,
                    removed: Vec::new(),
                },
            ))
        })
    }

    fn report_by_uid(&self, uid: &[u8; 16]) -> Result<Option<ReportRecord>> {
        self.read(|c| load_report(c, uid))
    }

    fn update_report(
        &self,
        uid: &[u8; 16],
        p: &ReportPatch,
    ) -> Result<(ReportRecord, IndicatorChanges)> {
        self.write_claimed(|tx| {
            let current =
                load_report(tx, uid)?.ok_or_else(|| StoreError::NotFound("report".into()))?;
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
                &[
                    &current.rowid,
                    &title,
                    &description,
                    &incident.as_str(),
                    &sector,
                    &tlp.as_str(),
                    &audience_kind,
                    &audience,
                    &owner_org,
                    &owner_seal,
                    &p.updated_at,
                ],
            )?;
            if let Some(stix) = &p.stix {
                tx.execute(
                    "DELETE FROM stix_objects WHERE report_id = ?1",
                    &[&current.rowid],
                )?;
                insert_stix(tx, Some(current.rowid), stix, p.updated_at, false)?;
            }
            let mut changes = IndicatorChanges::default();
            if let Some(indicators) = &p.indicators {
                let before = unlink_all(tx, current.rowid)?;
                changes.added = link_indicators(tx, current.rowid, indicators, p.updated_at)?;
                changes.removed = delete_orphans(tx, &before)?;
            }
            let rec =
                load_report(tx, uid)?.ok_or_else(|| corrupt("report vanished after update"))?;
            Ok((rec, changes))
        })
    }

    fn delete_report(&self, uid: &[u8; 16]) -> Result<IndicatorChanges> {
        self.write_claimed(|tx| {
            let rowid: ReportRowId = tx
                .query_opt("SELECT id FROM reports WHERE uid = ?1", &[&&uid[..]], |r| {
                    r.int("id")
                })?
                .ok_or_else(|| StoreError::NotFound("report".into()))?;
            let before = unlink_all(tx, rowid)?;
            tx.execute("DELETE FROM reports WHERE id = ?1", &[&rowid])?;
            Ok(IndicatorChanges {
                added: Vec::new(),
                removed: delete_orphans(tx, &before)?,
            })
        })
    }

    fn scan_reports(&self, s: &ReportScan) -> Result<Vec<ReportRecord>> {
        self.read(|c| {
            let mut args = Args::default();
            let mut sql = format!("{} WHERE TRUE", report_select(c));
            if let Some(before) = s.before {
                sql.push_str(&format!(" AND r.id < {}", args.push(before)));
            }
            if let Some(since) = s.since {
                sql.push_str(&format!(" AND r.created_at >= {}", args.push(since)));
            }
            if let Some(until) = s.until {
                sql.push_str(&format!(" AND r.created_at < {}", args.push(until)));
            }
            if let Some(sector) = &s.sector {
                sql.push_str(&format!(" AND r.sector = {}", args.push(sector.clone())));
            }
            if let Some(t) = s.incident_type {
                sql.push_str(&format!(" AND r.incident_type = {}", args.push(t.as_str())));
            }
            sql.push_str(&format!(
                " ORDER BY r.id DESC LIMIT {}",
                args.push(sql_limit(s.limit))
            ));
            c.query(&sql, &args.refs(), report_row)
        })
    }

    fn count_reports(&self) -> Result<u64> {
        self.read(|c| count_rows(c, "reports"))
    }

    fn indicator(&self, kind: Kind, value: &str) -> Result<Option<IndicatorRecord>> {
        self.read(|c| {
            c.query_opt(
                &format!("{INDICATOR_SELECT} WHERE kind = ?1 AND value = ?2"),
                &[&kind.as_str(), &value],
                indicator_row,
            )
        })
    }

    fn indicators_by_id(&self, ids: &[IndicatorId]) -> Result<Vec<IndicatorRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            c.query(
                &format!("{INDICATOR_SELECT} WHERE id = ANY(?1) ORDER BY id"),
                &[&List::new(ids)],
                indicator_row,
            )
        })
    }

    fn scan_indicators(&self, s: &IndicatorScan) -> Result<Vec<IndicatorRecord>> {
        self.read(|c| {
            let mut args = Args::default();
            let mut sql = format!("{INDICATOR_SELECT} WHERE TRUE");
            if let Some(after) = s.after {
                sql.push_str(&format!(" AND id > {}", args.push(after)));
            }
            if let Some(kind) = s.kind {
                sql.push_str(&format!(" AND kind = {}", args.push(kind.as_str())));
            }
            if let Some(text) = &s.text {
                // A plain substring test: no LIKE wildcards to escape.
                sql.push_str(&format!(
                    " AND instr(value, {}) > 0",
                    args.push(text.clone())
                ));
            }
            sql.push_str(&format!(
                " ORDER BY id LIMIT {}",
                args.push(sql_limit(s.limit))
            ));
            c.query(&sql, &args.refs(), indicator_row)
        })
    }

    fn report_links(&self, ids: &[IndicatorId]) -> Result<Vec<ReportLink>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT ri.indicator_id AS indicator_id, {LINK_COLS} FROM report_indicators ri
                     JOIN reports r ON r.id = ri.report_id
                     WHERE ri.indicator_id = ANY(?1) ORDER BY ri.indicator_id, r.id DESC"
                ),
                &[&List::new(ids)],
                link_row,
            )
        })
    }

    fn sighting_summaries(&self, ids: &[IndicatorId]) -> Result<Vec<SightingSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            c.query(
                &format!(
                    "{SUMMARY_SELECT} WHERE indicator_id = ANY(?1)
                     GROUP BY indicator_id, org_id ORDER BY indicator_id, org_id"
                ),
                &[&List::new(ids)],
                summary_row,
            )
        })
    }

    fn sightings_of(&self, id: IndicatorId) -> Result<Vec<SightingRow>> {
        self.read(|c| {
            c.query(
                &format!("{SIGHTING_SELECT} WHERE s.indicator_id = ?1 ORDER BY s.day, s.org_id"),
                &[&id],
                sighting_row,
            )
        })
    }

    fn sighting_rows_since(&self, first_day: Day) -> Result<Vec<SightingRow>> {
        self.read(|c| {
            c.query(
                &format!(
                    "{SIGHTING_SELECT} WHERE s.day >= ?1 ORDER BY s.indicator_id, s.day, s.org_id"
                ),
                &[&first_day],
                sighting_row,
            )
        })
    }

    fn indicators_reported_since(&self, since: Millis) -> Result<Vec<IndicatorId>> {
        self.read(|c| {
            c.query(
                "SELECT DISTINCT ri.indicator_id FROM reports r
                 JOIN report_indicators ri ON ri.report_id = r.id
                 WHERE r.created_at >= ?1 ORDER BY ri.indicator_id",
                &[&since],
                |r| r.int("indicator_id"),
            )
        })
    }

    fn for_each_indicator(&self, f: &mut dyn FnMut(IndicatorRecord)) -> Result<()> {
        self.each_indicator(f)
    }

    fn count_indicators(&self) -> Result<u64> {
        self.read(|c| count_rows(c, "indicators"))
    }

    fn add_sightings(&self, org: OrgId, batch: &[NewSighting]) -> Result<SightingsWritten> {
        self.write_sightings(org, batch)
    }

    fn count_sighting_rows(&self) -> Result<u64> {
        self.read(|c| count_rows(c, "sightings"))
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
        let seal = crate::columns::scope_seal(&scope);
        self.write_claimed(|tx| {
            let id = tx.query_one(
                "INSERT INTO decisions (indicator_id, action, comment, expires_at, scope_seal, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                &[&indicator, &action.as_str(), &comment, &expires_at, &seal, &now],
                |r| r.int("id"),
            )?;
            Ok(DecisionRecord {
                id,
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
            c.query(
                &format!("{DECISION_SELECT} WHERE indicator_id = ?1 ORDER BY id"),
                &[&id],
                decision_row,
            )
        })
    }

    fn latest_decisions(&self) -> Result<Vec<DecisionRecord>> {
        self.read(|c| {
            c.query(
                &format!(
                    "{DECISION_SELECT} WHERE id IN (SELECT MAX(id) FROM decisions GROUP BY indicator_id, scope_seal)
                     ORDER BY id"
                ),
                &[],
                decision_row,
            )
        })
    }

    fn allow_add(&self, obs: &Observable, comment: &str, now: Millis) -> Result<AllowEntry> {
        self.write_claimed(|tx| {
            tx.execute(
                "INSERT INTO allowlist (kind, value, comment, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, value) DO UPDATE SET comment = excluded.comment",
                &[&obs.kind.as_str(), &obs.value, &comment, &now],
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
                &[&obs.kind.as_str(), &obs.value],
            )? == 1)
        })
    }

    fn allow_list(&self) -> Result<Vec<AllowEntry>> {
        self.read(|c| {
            c.query(
                "SELECT kind, value, comment, created_at FROM allowlist ORDER BY kind, value",
                &[],
                allow_row,
            )
        })
    }

    fn allow_entry(&self, obs: &Observable) -> Result<Option<AllowEntry>> {
        self.read(|c| {
            c.query_opt(
                "SELECT kind, value, comment, created_at FROM allowlist WHERE kind = ?1 AND value = ?2",
                &[&obs.kind.as_str(), &obs.value],
                allow_row,
            )
        })
    }

    fn all_report_links(&self) -> Result<Vec<ReportLink>> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT ri.indicator_id AS indicator_id, {LINK_COLS} FROM report_indicators ri
                     JOIN reports r ON r.id = ri.report_id ORDER BY ri.indicator_id, ri.report_id"
                ),
                &[],
                link_row,
            )
        })
    }

    fn all_sighting_summaries(&self) -> Result<Vec<SightingSummary>> {
        self.read(|c| {
            c.query(
                &format!(
                    "{SUMMARY_SELECT} GROUP BY indicator_id, org_id ORDER BY indicator_id, org_id"
                ),
                &[],
                summary_row,
            )
        })
    }

    fn put_shared_stix(&self, objects: &[NewStixObject], now: Millis) -> Result<()> {
        self.write(|tx| insert_stix(tx, None, objects, now, true))
    }

    fn scan_stix(&self, s: &StixScan) -> Result<Vec<StixRow>> {
        self.read(|c| {
            let mut args = Args::default();
            let mut sql = format!("{STIX_SELECT} WHERE TRUE");
            if let Some(after) = s.after_seq {
                sql.push_str(&format!(" AND seq > {}", args.push(after)));
            }
            if let Some(t) = s.added_after {
                sql.push_str(&format!(" AND date_added > {}", args.push(t)));
            }
            for (column, values) in [
                ("stix_id", &s.ids),
                ("stix_type", &s.types),
                ("spec_version", &s.spec_versions),
            ] {
                if !values.is_empty() {
                    let list = args.push(List::new(values));
                    sql.push_str(&format!(" AND {column} = ANY({list})"));
                }
            }
            sql.push_str(&format!(
                " ORDER BY seq LIMIT {}",
                args.push(sql_limit(s.limit))
            ));
            c.query(&sql, &args.refs(), stix_row)
        })
    }

    fn stix_of_report(&self, report: ReportRowId) -> Result<Vec<StixRow>> {
        self.read(|c| {
            c.query(
                &format!("{STIX_SELECT} WHERE report_id = ?1 ORDER BY seq"),
                &[&report],
                stix_row,
            )
        })
    }

    fn report_access(
        &self,
        ids: &[ReportRowId],
    ) -> Result<Vec<(ReportRowId, ReportAccess, Option<String>)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            c.query(
                &format!("SELECT {LINK_COLS} FROM reports r WHERE r.id = ANY(?1) ORDER BY r.id"),
                &[&List::new(ids)],
                |r| Ok((r.int("id")?, access_row(r)?, r.opt_text("sector")?)),
            )
        })
    }

    fn count_stix(&self) -> Result<u64> {
        self.read(|c| count_rows(c, "stix_objects"))
    }

    fn add_audit(&self, at: Millis, actor: &str, action: &str, detail: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
                &[&at, &actor, &action, &detail],
            )?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            c.query(
                "SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
                &[&sql_limit(limit)],
                |r| {
                    Ok(AuditEntry {
                        at: r.int("at")?,
                        actor: r.text("actor")?,
                        action: r.text("action")?,
                        detail: r.text("detail")?,
                    })
                },
            )
        })
    }

    fn put_taxii_status(&self, id: &str, json: &str, now: Millis) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO taxii_status (id, json, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                &[&id, &json, &now],
            )?;
            Ok(())
        })
    }

    fn taxii_status(&self, id: &str) -> Result<Option<String>> {
        self.read(|c| {
            c.query_opt("SELECT json FROM taxii_status WHERE id = ?1", &[&id], |r| {
                r.text("json")
            })
        })
    }

    fn put_session(&self, s: &SessionRecord) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sessions (id_hash, token_public_id, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &[
                    &&s.id_hash[..],
                    &s.token_public_id,
                    &s.csrf,
                    &s.created_at,
                    &s.expires_at,
                ],
            )?;
            Ok(())
        })
    }

    fn session(&self, id_hash: &[u8; 32], now: Millis) -> Result<Option<SessionRecord>> {
        self.read(|c| {
            c.query_opt(
                "SELECT token_public_id, csrf, created_at, expires_at FROM sessions
                 WHERE id_hash = ?1 AND expires_at > ?2",
                &[&&id_hash[..], &now],
                |r| {
                    Ok(SessionRecord {
                        id_hash: *id_hash,
                        token_public_id: r.text("token_public_id")?,
                        csrf: r.text("csrf")?,
                        created_at: r.int("created_at")?,
                        expires_at: r.int("expires_at")?,
                    })
                },
            )
        })
    }

    fn delete_session(&self, id_hash: &[u8; 32]) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE id_hash = ?1", &[&&id_hash[..]])?;
            Ok(())
        })
    }

    fn prune_sessions(&self, now: Millis) -> Result<usize> {
        self.write(|tx| tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", &[&now]))
    }

    fn claim(&self, key: &[u8; 32]) -> Result<Option<ClaimRecord>> {
        // The cast reads PostgreSQL's INT status as the integer SQLite keeps.
        self.read(|c| {
            c.query_opt(
                "SELECT request_hash, node, created_at, CAST(status AS BIGINT) AS status,
                     content_type, location, body
                 FROM idempotency WHERE key_hash = ?1",
                &[&&key[..]],
                claim_row,
            )
        })
    }

    fn keep_response(&self, key: &[u8; 32], k: &KeptResponse) -> Result<()> {
        self.write_alone(|c| {
            c.execute(
                "UPDATE idempotency SET status = ?2, content_type = ?3, location = ?4, body = ?5
                 WHERE key_hash = ?1",
                &[
                    &&key[..],
                    &i32::from(k.status),
                    &k.content_type,
                    &k.location,
                    &k.body,
                ],
            )?;
            Ok(())
        })
    }

    fn purge_claims(&self, before: Millis, limit: usize) -> Result<usize> {
        self.write_alone(|c| {
            c.execute(
                "DELETE FROM idempotency WHERE key_hash IN
                 (SELECT key_hash FROM idempotency WHERE created_at < ?1 LIMIT ?2)",
                &[&before, &sql_limit(limit)],
            )
        })
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            c.query_opt(
                "SELECT value FROM kyojo_meta WHERE name = ?1",
                &[&name],
                |r| r.bytes("value"),
            )
        })
    }

    fn meta_or_insert(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO kyojo_meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                &[&name, &value],
            )?;
            tx.query_one(
                "SELECT value FROM kyojo_meta WHERE name = ?1",
                &[&name],
                |r| r.bytes("value"),
            )
        })
    }

    fn shared(&self) -> bool {
        self.shared_database()
    }

    fn foreign_changes(&self, cursor: Option<i64>) -> Result<ForeignChanges> {
        self.changes_since(cursor)
    }
}
