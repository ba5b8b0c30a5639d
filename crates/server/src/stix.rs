//! STIX 2.1 at the hub: each report's STIX representation is kept with it
//! (written in the same transaction), imported bundles are kept verbatim,
//! and TAXII collections are views over those objects under the same rules
//! as the REST API.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use kyojo_core::policy::{Action as Permission, Channel, Owner};
use kyojo_core::{Audience, Kind, Observable, Tlp, Viewer};
use kyojo_formats::stix;
use kyojo_store::{Millis, NewStixObject, ReportRecord, ReportRowId, StixRow, StixScan};

use crate::error::{ApiError, ApiResult};
use crate::hub::{now_millis, require, Hub, ReportDraft};

/// Objects a TAXII collection may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collection {
    /// Everything the caller may read.
    Community,
    /// What the caller may read that is for, or about, one sector.
    Sector(String),
    /// Where members write; not readable.
    Inbox,
}

/// One object as a TAXII page shows it: the row, whose `json` is the object
/// exactly as kept (passed through without re-parsing).
#[derive(Debug, Clone)]
pub struct TaxiiObject {
    pub row: StixRow,
}

/// A page of objects and the cursor to continue from.
pub struct TaxiiPage {
    pub objects: Vec<TaxiiObject>,
    pub next: Option<i64>,
}

/// TAXII's `match[version]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionFilter {
    Last,
    First,
    All,
    Exact(BTreeSet<String>),
}

fn to_new(obj: &Value, now: Millis) -> NewStixObject {
    NewStixObject {
        stix_id: obj["id"].as_str().unwrap_or_default().to_string(),
        stix_type: obj["type"].as_str().unwrap_or_default().to_string(),
        spec_version: obj["spec_version"].as_str().unwrap_or("2.1").to_string(),
        version: stix::object_version(obj).unwrap_or_else(|| stix::timestamp(now)),
        json: obj.to_string(),
    }
}

/// An organization's identity, its sector in STIX's industry vocabulary.
fn org_identity(org: &kyojo_store::Org) -> Value {
    let sectors: Vec<&str> = stix::industry_sector(&org.sector).into_iter().collect();
    stix::identity(&org.name, "organization", org.created_at, &sectors)
}

/// The hub's own identity: the author of anonymous reports and of aggregates.
pub fn hub_identity_name(hub: &Hub) -> String {
    format!("{} (kyojo hub)", hub.config.hub_name)
}

impl Hub {
    /// Objects every member may see: the TLP 2.0 marking definitions, the hub's
    /// identity and one identity per organization. Idempotent.
    pub fn publish_shared_stix(&self) -> ApiResult<()> {
        let now = now_millis();
        let mut objects: Vec<Value> = Tlp::ALL.iter().map(|t| stix::tlp_marking(*t)).collect();
        objects.push(stix::identity(
            &hub_identity_name(self),
            "organization",
            0,
            &[],
        ));
        objects.extend(self.list_orgs()?.iter().map(org_identity));
        let rows: Vec<NewStixObject> = objects.iter().map(|o| to_new(o, now)).collect();
        self.store.put_shared_stix(&rows, now)?;
        Ok(())
    }

    /// Publishes one newly admitted organization's identity.
    pub(crate) fn publish_org_identity(&self, org: &kyojo_store::Org) -> ApiResult<()> {
        let now = now_millis();
        self.store
            .put_shared_stix(&[to_new(&org_identity(org), now)], now)?;
        Ok(())
    }

    /// The STIX objects of a report shared here.
    pub(crate) fn native_stix(
        &self,
        uid: &[u8; 16],
        draft: &ReportDraft,
        owner: &Owner,
        created: Millis,
        modified: Millis,
    ) -> ApiResult<Vec<NewStixObject>> {
        let author = match owner {
            Owner::Org(id) => self
                .org(*id)?
                .map(|o| stix::identity_id(&o.name))
                .unwrap_or_else(|| stix::identity_id(&hub_identity_name(self))),
            Owner::Sealed(_) => stix::identity_id(&hub_identity_name(self)),
        };
        let indicators: Vec<(Kind, String)> = draft
            .indicators
            .iter()
            .map(|o| (o.kind, o.value.clone()))
            .collect();
        let objects = stix::report_objects(&stix::ReportInput {
            uid: *uid,
            title: &draft.title,
            description: &draft.description,
            incident_type: draft.incident_type.as_str(),
            tlp: draft.tlp,
            created_ms: created,
            modified_ms: modified,
            created_by: &author,
            indicators: &indicators,
            sector: draft.sector.as_deref(),
        });
        Ok(objects.iter().map(|o| to_new(o, modified)).collect())
    }

    /// Imports a bundle's objects as one report of the importing organization.
    /// All or nothing: a refused bundle stores nothing.
    pub fn import_stix(
        &self,
        viewer: &Viewer,
        objects: Vec<Value>,
        tlp_override: Option<Tlp>,
        anonymous: bool,
    ) -> ApiResult<(ReportRecord, usize)> {
        let member = require(viewer, Permission::WriteReports)?;
        let parsed = stix::parse_objects(objects)
            .map_err(|e| ApiError::invalid(format!("objects.{}", e.object_id), e.reason))?;
        let mut indicators: Vec<Observable> = Vec::new();
        let mut seen = HashSet::new();
        for (id, kind, value) in &parsed.indicators {
            let obs = kyojo_core::observable::canonicalize(*kind, value).map_err(|e| {
                ApiError::invalid(
                    format!("objects.{id}"),
                    format!("its pattern's value is not valid: {e}"),
                )
            })?;
            if seen.insert(obs.clone()) {
                indicators.push(obs);
            }
        }
        let tlp = tlp_override.or(parsed.strictest_tlp).unwrap_or(Tlp::Amber);
        let audience = if tlp == Tlp::Red {
            Audience::Orgs([member.org].into())
        } else {
            Audience::Community
        };
        let (title, description) = match parsed.reports.as_slice() {
            [one] => (one.name.clone(), one.description.clone()),
            _ => (
                format!("STIX import: {} objects", parsed.objects.len()),
                String::new(),
            ),
        };
        let title: String = if title.trim().is_empty() {
            "STIX import".to_string()
        } else {
            title.chars().take(200).collect()
        };
        let now = now_millis();
        let rows: Vec<NewStixObject> = parsed.objects.iter().map(|o| to_new(o, now)).collect();
        let count = rows.len();
        let draft = ReportDraft {
            title,
            description: description.chars().take(60_000).collect(),
            incident_type: kyojo_core::report::IncidentType::Other,
            sector: None,
            tlp,
            audience,
            anonymous,
            indicators,
        };
        let rec = self.create_report_with(viewer, draft, now, Some(rows))?;
        Ok((rec, count))
    }

    /// A report as a STIX bundle (its objects, the marking definitions and
    /// identities they refer to, and sighting aggregates where at least three
    /// organizations contributed).
    pub fn report_bundle(&self, viewer: &Viewer, uid: &[u8; 16]) -> ApiResult<Value> {
        let rec = self.get_report(viewer, uid)?;
        let rows = self.store.stix_of_report(rec.rowid)?;
        let mut objects: Vec<Value> = Vec::new();
        let mut have: HashSet<(String, String)> = HashSet::new();
        let mut referenced: BTreeSet<String> = BTreeSet::new();
        for row in rows {
            let json: Value = serde_json::from_str(&row.json).map_err(ApiError::internal)?;
            collect_refs(&json, &mut referenced);
            if have.insert((row.stix_id.clone(), row.version.clone())) {
                objects.push(json);
            }
        }
        // Shared objects the report's objects point at.
        let shared = self.store.scan_stix(&StixScan {
            ids: referenced.into_iter().collect(),
            limit: 10_000,
            ..StixScan::default()
        })?;
        for row in shared.into_iter().filter(|r| r.report.is_none()) {
            if have.insert((row.stix_id.clone(), row.version.clone())) {
                objects.push(serde_json::from_str(&row.json).map_err(ApiError::internal)?);
            }
        }
        if rec.source == "kyojo" {
            objects.extend(self.sighting_objects(viewer, &rec)?);
        }
        Ok(stix::bundle(objects))
    }

    fn sighting_objects(&self, viewer: &Viewer, rec: &ReportRecord) -> ApiResult<Vec<Value>> {
        if !self.policy.can_see_sightings(viewer, Channel::Api) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let hub_identity = stix::identity_id(&hub_identity_name(self));
        for obs in &rec.indicators {
            let Some(ind) = self.store.indicator(obs.kind, &obs.value)? else {
                continue;
            };
            let sums = self.store.sighting_summaries(&[ind.id])?;
            let orgs: HashSet<_> = sums.iter().map(|s| s.org).collect();
            if (orgs.len() as u64) < kyojo_core::policy::MIN_DISTINCT_ORGS {
                continue;
            }
            let indicator_id = stix::indicator_id(rec.uid, obs.kind, &obs.value);
            let count = sums.iter().map(|s| s.count).sum();
            let first = sums
                .iter()
                .map(|s| s.first_seen)
                .min()
                .unwrap_or(rec.created_at);
            let last = sums
                .iter()
                .map(|s| s.last_seen)
                .max()
                .unwrap_or(rec.created_at);
            out.push(stix::sighting(
                &indicator_id,
                count,
                first,
                last,
                &hub_identity,
                rec.access.tlp,
            ));
        }
        Ok(out)
    }

    /// The collections `viewer` sees.
    pub fn taxii_collections(&self, viewer: &Viewer) -> ApiResult<Vec<Collection>> {
        let member = require(viewer, Permission::ReadReports)
            .or_else(|_| require(viewer, Permission::Lookup))?;
        let mut out = vec![
            Collection::Community,
            Collection::Sector(member.sector.clone()),
        ];
        if viewer.may(Permission::WriteReports) {
            out.push(Collection::Inbox);
        }
        Ok(out)
    }

    /// One page of a collection's objects after `after`, newest filters applied.
    pub fn taxii_objects(
        &self,
        viewer: &Viewer,
        collection: &Collection,
        scan: StixScan,
        versions: &VersionFilter,
        limit: usize,
    ) -> ApiResult<TaxiiPage> {
        if *collection == Collection::Inbox {
            return Err(ApiError::forbidden("the inbox collection is write-only"));
        }
        // An object kept in several versions or reports is sent once.
        let mut emitted: HashSet<(String, String)> = HashSet::new();
        let page = crate::hub::paginate_in(limit, scan.after_seq, 5_000, |cursor, chunk| {
            let rows = self.store.scan_stix(&StixScan {
                after_seq: cursor,
                limit: chunk,
                ..scan.clone()
            })?;
            let report_ids: Vec<ReportRowId> = rows
                .iter()
                .filter_map(|r| r.report)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let access: HashMap<ReportRowId, (kyojo_core::ReportAccess, Option<String>)> = self
                .store
                .report_access(&report_ids)?
                .into_iter()
                .map(|(id, a, s)| (id, (a, s)))
                .collect();
            let latest = if matches!(versions, VersionFilter::Last | VersionFilter::First) {
                self.version_bounds(&rows, versions)?
            } else {
                HashMap::new()
            };
            Ok(rows
                .into_iter()
                .map(|row| {
                    let visible = match row.report {
                        None => true,
                        Some(rid) => access.get(&rid).is_some_and(|(a, sector)| {
                            // A collection is a bulk export: the Feed channel's ceiling (never RED).
                            self.policy.can_read(viewer, a, Channel::Feed)
                                && match collection {
                                    Collection::Community => true,
                                    Collection::Sector(s) => {
                                        sector.as_deref() == Some(s.as_str())
                                            || matches!(&a.audience, Audience::Sectors(set) if set.contains(s))
                                    }
                                    Collection::Inbox => false,
                                }
                        }),
                    };
                    let version_ok = match versions {
                        VersionFilter::All => true,
                        VersionFilter::Exact(set) => set.contains(&row.version),
                        VersionFilter::Last | VersionFilter::First => {
                            latest.get(&row.stix_id) == Some(&row.version)
                        }
                    };
                    let kept = visible
                        && version_ok
                        && emitted.insert((row.stix_id.clone(), row.version.clone()));
                    (row.seq, kept.then_some(TaxiiObject { row }))
                })
                .collect())
        })?;
        Ok(TaxiiPage {
            objects: page.items,
            next: page.next,
        })
    }

    /// For each id in `rows`, its last (or first) version among all kept versions.
    fn version_bounds(
        &self,
        rows: &[StixRow],
        which: &VersionFilter,
    ) -> ApiResult<HashMap<String, String>> {
        let ids: BTreeSet<String> = rows.iter().map(|r| r.stix_id.clone()).collect();
        // Most ids have one version: only look further for those seen twice or more.
        let all = self.store.scan_stix(&StixScan {
            ids: ids.into_iter().collect(),
            limit: usize::MAX >> 1,
            ..StixScan::default()
        })?;
        let mut out: HashMap<String, String> = HashMap::new();
        for r in all {
            let e = out.entry(r.stix_id).or_insert_with(|| r.version.clone());
            let better = match which {
                VersionFilter::First => r.version < *e,
                _ => r.version > *e,
            };
            if better {
                *e = r.version;
            }
        }
        Ok(out)
    }

    /// Keeps a TAXII status resource.
    pub fn put_taxii_status(&self, id: &str, status: &Value) -> ApiResult<()> {
        self.store
            .put_taxii_status(id, &status.to_string(), now_millis())?;
        Ok(())
    }

    pub fn taxii_status(&self, id: &str) -> ApiResult<Option<Value>> {
        Ok(self
            .store
            .taxii_status(id)?
            .and_then(|t| serde_json::from_str(&t).ok()))
    }
}

/// Every `*_ref` / `*_refs` id an object mentions.
fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    if let Value::Object(map) = v {
        for (k, val) in map {
            if k.ends_with("_ref") {
                if let Some(s) = val.as_str() {
                    out.insert(s.to_string());
                }
            } else if k.ends_with("_refs") {
                for s in val
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    out.insert(s.to_string());
                }
            } else {
                collect_refs(val, out);
            }
        }
    } else if let Value::Array(items) = v {
        for i in items {
            collect_refs(i, out);
        }
    }
}
