//! STIX 2.1 at the hub: each report's STIX representation is kept with it
//! (written in the same transaction), imported bundles are kept verbatim,
//! and TAXII collections are views over those objects under the same rules
//! as the REST API.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use kyojo_core::policy::{Channel, OrgId, Owner, Permission};
use kyojo_core::{Audience, Kind, Observable, Tlp, Viewer};
use kyojo_formats::stix;
use kyojo_store::{Millis, NewStixObject, ReportRecord, ReportRowId, StixRow, StixScan};

use crate::error::{HubError, HubResult};
use crate::hub::{now_millis, require, Hub, RawDraft};

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

/// How an import is to be shared; `None` lets the bundle and what is
/// already kept here decide.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// At least as restrictive as the bundle's own markings.
    pub tlp: Option<Tlp>,
    /// At most as wide as the audiences of reports already holding its objects.
    pub audience: Option<Audience>,
    /// Default: anonymous when the bundle speaks for the hub or its objects
    /// are kept here under an anonymous report.
    pub anonymous: Option<bool>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    pub report: ReportRecord,
    /// Objects kept (copies of what the hub publishes itself are not).
    pub objects: usize,
    /// False when the same objects were already imported by this
    /// organization: `report` is that earlier report.
    pub created: bool,
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
    pub fn publish_shared_stix(&self) -> HubResult<()> {
        let now = now_millis();
        let mut objects: Vec<Value> = Tlp::ALL.iter().map(|t| stix::tlp_marking(*t)).collect();
        objects.push(stix::identity(
            &hub_identity_name(self),
            "organization",
            0,
            &[],
        ));
        objects.extend(self.all_orgs()?.iter().map(org_identity));
        let rows: Vec<NewStixObject> = objects.iter().map(|o| to_new(o, now)).collect();
        self.store.put_shared_stix(&rows, now)?;
        Ok(())
    }

    /// Publishes one newly admitted organization's identity.
    pub(crate) fn publish_org_identity(&self, org: &kyojo_store::Org) -> HubResult<()> {
        let now = now_millis();
        self.store
            .put_shared_stix(&[to_new(&org_identity(org), now)], now)?;
        Ok(())
    }

    /// The STIX objects of a report shared here.
    pub(crate) fn native_stix(
        &self,
        uid: &[u8; 16],
        draft: &RawDraft,
        owner: &Owner,
        created: Millis,
        modified: Millis,
    ) -> HubResult<Vec<NewStixObject>> {
        let author = match self.policy.nameable_owner(owner) {
            Some(who) => self
                .named(who)?
                .map(|o| stix::identity_id(&o.name))
                .unwrap_or_else(|| stix::identity_id(&hub_identity_name(self))),
            None => stix::identity_id(&hub_identity_name(self)),
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
    ///
    /// An import speaks only for its importer (or for the hub, when
    /// anonymous): identities that are a member's or the hub's, and
    /// `created_by_ref`s naming another member, are refused. It never widens
    /// who may read what it carries: the bundle's strictest TLP marking is a
    /// floor, and objects already kept here under reports the importer may
    /// read lend it their TLP, audience and anonymity as limits. The same
    /// objects imported again by the same organization make no new report.
    pub fn import_stix(
        &self,
        viewer: &Viewer,
        objects: Vec<Value>,
        options: ImportOptions,
    ) -> HubResult<Imported> {
        let member = require(viewer, Permission::WriteReports)?;
        let parsed = stix::parse_objects(objects)
            .map_err(|e| HubError::invalid(format!("objects.{}", e.object_id), e.reason))?;
        let mut indicators: Vec<Observable> = Vec::new();
        let mut seen = HashSet::new();
        for (id, kind, value) in &parsed.indicators {
            let obs = kyojo_core::observable::canonicalize(*kind, value).map_err(|e| {
                HubError::invalid(
                    format!("objects.{id}"),
                    format!("its pattern's value is not valid: {e}"),
                )
            })?;
            if seen.insert(obs.clone()) {
                indicators.push(obs);
            }
        }

        // Who the bundle speaks for.
        let orgs = self.all_orgs()?;
        let own = orgs
            .iter()
            .find(|o| o.id == member.org)
            .ok_or_else(|| HubError::forbidden("the importing organization is not a member"))?;
        let own_id = stix::identity_id(&own.name);
        let hub_name = hub_identity_name(self);
        let hub_id = stix::identity_id(&hub_name);
        // Identity id → (the object the hub publishes for it, is it the hub's).
        let mut published: HashMap<String, (Value, bool)> = orgs
            .iter()
            .map(|o| (stix::identity_id(&o.name), (org_identity(o), false)))
            .collect();
        published.insert(
            hub_id.clone(),
            (stix::identity(&hub_name, "organization", 0, &[]), true),
        );
        // The TLP markings the hub publishes: copies are not kept twice.
        let markings: HashMap<String, Value> = Tlp::ALL
            .iter()
            .map(|t| (stix::tlp_marking_id(*t).to_string(), stix::tlp_marking(*t)))
            .collect();
        let names: HashSet<String> = orgs
            .iter()
            .map(|o| o.name.to_lowercase())
            .chain([hub_name.to_lowercase(), self.config.hub_name.to_lowercase()])
            .collect();
        let mut keep: Vec<&Value> = Vec::new();
        let mut speaks_for_hub = false;
        let mut names_own: Option<String> = None;
        for obj in &parsed.objects {
            let id = obj["id"].as_str().unwrap_or_default();
            let field = || format!("objects.{id}");
            if markings.get(id) == Some(obj) {
                continue;
            }
            if obj["type"] == "identity" {
                if let Some((hub_copy, is_hub)) = published.get(id) {
                    if obj == hub_copy {
                        // A copy of what the hub publishes: the hub's stays.
                        continue;
                    }
                    if id == own_id && options.anonymous != Some(true) {
                        // The importer's own identity never replaces the hub's.
                        names_own.get_or_insert_with(|| id.to_string());
                        continue;
                    }
                    return Err(HubError::invalid(
                        field(),
                        if *is_hub {
                            "this is the hub's own identity; an import may not redefine it"
                        } else {
                            "this id is a member organization's identity; an import speaks only for its importer"
                        },
                    ));
                }
                let name = obj["name"].as_str().unwrap_or_default().to_lowercase();
                if names.contains(&name) {
                    if name == own.name.to_lowercase() {
                        names_own.get_or_insert_with(|| id.to_string());
                    } else {
                        return Err(HubError::invalid(
                            field(),
                            "this identity has the name of a member organization or of the hub; an import speaks only for its importer",
                        ));
                    }
                }
            }
            match obj.get("created_by_ref").and_then(Value::as_str) {
                Some(r) if r == hub_id => speaks_for_hub = true,
                Some(r) if r == own_id => {}
                Some(r) if published.contains_key(r) => {
                    return Err(HubError::invalid(
                        field(),
                        "created_by_ref names another member organization; an import speaks only for its importer",
                    ))
                }
                _ => {}
            }
            let mut refs = BTreeSet::new();
            collect_refs(obj, &mut refs);
            if refs.contains(&own_id) {
                names_own.get_or_insert_with(|| id.to_string());
            }
            keep.push(obj);
        }
        if keep.is_empty() {
            return Err(HubError::invalid(
                "objects",
                "nothing to import: every object is one the hub already publishes",
            ));
        }

        // What is already kept here under the same ids.
        let ids: Vec<String> = keep
            .iter()
            .filter_map(|o| o["id"].as_str().map(str::to_string))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let prior_rows = self.store.scan_stix(&StixScan {
            ids,
            limit: usize::MAX >> 1,
            ..StixScan::default()
        })?;
        let prior_reports: Vec<ReportRowId> = prior_rows
            .iter()
            .filter_map(|r| r.report)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let access: HashMap<ReportRowId, kyojo_core::ReportAccess> = self
            .store
            .report_access(&prior_reports)?
            .into_iter()
            .map(|(id, a, _)| (id, a))
            .collect();
        let new_keys: HashSet<(String, String)> = keep
            .iter()
            .map(|o| {
                let json = o.to_string();
                content_key(o["id"].as_str().unwrap_or_default(), &json)
            })
            .collect();
        // Idempotence: one report of this organization already holds them all.
        let mut held: HashMap<ReportRowId, HashSet<(String, String)>> = HashMap::new();
        for r in &prior_rows {
            if let Some(rid) = r.report {
                held.entry(rid)
                    .or_default()
                    .insert(content_key(&r.stix_id, &r.json));
            }
        }
        let mut owned_holders: Vec<ReportRowId> = held
            .iter()
            .filter(|(rid, keys)| {
                access
                    .get(rid)
                    .is_some_and(|a| self.policy.is_owner(viewer, a))
                    && new_keys.is_subset(keys)
            })
            .map(|(rid, _)| *rid)
            .collect();
        owned_holders.sort_unstable();
        if let Some(a) = owned_holders.first().and_then(|rid| access.get(rid)) {
            if let Some(rec) = self.store.report_by_uid(&a.key)? {
                return Ok(Imported {
                    report: rec,
                    objects: keep.len(),
                    created: false,
                });
            }
        }
        // Limits from the reports the importer may read that hold these ids.
        let readable: Vec<&kyojo_core::ReportAccess> = prior_reports
            .iter()
            .filter_map(|rid| access.get(rid))
            .filter(|a| self.policy.can_read(viewer, a, Channel::Api))
            .collect();
        // A new version of an object another organization shared here is
        // theirs to make.
        for o in &keep {
            let id = o["id"].as_str().unwrap_or_default();
            if o["type"] == "marking-definition" || stix::object_version(o).is_none() {
                continue;
            }
            let key = content_key(id, &o.to_string());
            let copies = prior_rows.iter().filter(|r| r.stix_id == id);
            let mut foreign = false;
            let mut same = false;
            for r in copies {
                same |= content_key(&r.stix_id, &r.json) == key;
                foreign |= r.report.and_then(|rid| access.get(&rid)).is_some_and(|a| {
                    self.policy.can_read(viewer, a, Channel::Api)
                        && !self.policy.is_owner(viewer, a)
                });
            }
            if foreign && !same {
                return Err(HubError::invalid(
                    format!("objects.{id}"),
                    "another version of an object another organization shared here; only its author may re-version it",
                ));
            }
        }

        let inherited_anonymous = readable.iter().any(|a| matches!(a.owner, Owner::Sealed(_)));
        let anonymous = match options.anonymous {
            Some(a) => a,
            None => speaks_for_hub || inherited_anonymous,
        };
        if anonymous {
            if let Some(id) = names_own {
                return Err(HubError::invalid(
                    format!("objects.{id}"),
                    "names the importing organization, which an anonymous import must not",
                ));
            }
        } else if speaks_for_hub || inherited_anonymous {
            return Err(HubError::invalid(
                "anonymous",
                if speaks_for_hub {
                    "objects in this bundle are authored by the hub (created_by_ref), as anonymous reports are: import it anonymously"
                } else {
                    "these objects are kept here under an anonymous report: import them anonymously"
                },
            ));
        }

        // TLP: the bundle's markings and the reports already holding its objects are a floor.
        let floor = readable
            .iter()
            .map(|a| a.tlp)
            .chain(parsed.strictest_tlp)
            .max();
        let tlp = match (options.tlp, floor) {
            (Some(t), Some(f)) if t < f => {
                return Err(HubError::invalid(
                    "tlp",
                    format!("TLP:{t} is less restrictive than the bundle's own TLP:{f}; an import never widens a marking"),
                ))
            }
            (Some(t), _) => t,
            (None, f) => f.unwrap_or(Tlp::Amber),
        };
        let readers_of = |a: &kyojo_core::ReportAccess| -> Option<OrgId> {
            if self.policy.is_owner(viewer, a) {
                Some(member.org)
            } else {
                self.policy.visible_author(a)
            }
        };
        let audience = match options.audience {
            Some(chosen) => {
                for a in &readable {
                    if !self.audience_within(&chosen, &a.audience, readers_of(a))? {
                        return Err(HubError::invalid(
                            "audience",
                            "wider than the audience of a report that already holds these objects; an import never widens an audience",
                        ));
                    }
                }
                chosen
            }
            None => {
                let mut narrowest = None;
                for a in &readable {
                    let mut inside_all = true;
                    for b in &readable {
                        if !self.audience_within(&a.audience, &b.audience, readers_of(b))? {
                            inside_all = false;
                            break;
                        }
                    }
                    if inside_all {
                        narrowest = Some(a.audience.clone());
                        break;
                    }
                }
                match narrowest {
                    None if !readable.is_empty() => Audience::Orgs([member.org].into()),
                    Some(Audience::Orgs(o)) => Audience::Orgs(o),
                    _ if tlp == Tlp::Red => Audience::Orgs([member.org].into()),
                    Some(a) => a,
                    None => Audience::Community,
                }
            }
        };

        let (title, description) = match parsed.reports.as_slice() {
            [one] => (one.name.clone(), one.description.clone()),
            _ => (
                format!("STIX import: {} objects", keep.len()),
                String::new(),
            ),
        };
        let title: String = if title.trim().is_empty() {
            "STIX import".to_string()
        } else {
            title.chars().take(200).collect()
        };
        let now = now_millis();
        let rows: Vec<NewStixObject> = keep.iter().map(|o| to_new(o, now)).collect();
        let count = rows.len();
        let draft = self.draft(RawDraft {
            title,
            description: truncate_bytes(
                &description,
                kyojo_core::report::limits::DESCRIPTION_MAX_BYTES,
            ),
            incident_type: kyojo_core::report::IncidentType::Other,
            sector: None,
            tlp,
            audience,
            anonymous,
            indicators,
        })?;
        let rec = self.create_report_with(viewer, draft, now, Some(rows), None)?;
        Ok(Imported {
            report: rec,
            objects: count,
            created: true,
        })
    }

    /// Whether every organization `inner` admits is also admitted by `outer`
    /// (a report owned by `outer_owner`, when known, admits its owner too).
    fn audience_within(
        &self,
        inner: &Audience,
        outer: &Audience,
        outer_owner: Option<OrgId>,
    ) -> HubResult<bool> {
        Ok(match (inner, outer) {
            (_, Audience::Community) => true,
            (Audience::Community, _) => false,
            (Audience::Sectors(a), Audience::Sectors(b)) => a.is_subset(b),
            (Audience::Sectors(_), Audience::Orgs(_)) => false,
            (Audience::Orgs(a), Audience::Sectors(b)) => {
                let mut all = true;
                for org in a {
                    let inside = Some(*org) == outer_owner
                        || self.org_sector(*org)?.is_some_and(|s| b.contains(&s));
                    all &= inside;
                }
                all
            }
            (Audience::Orgs(a), Audience::Orgs(b)) => a
                .iter()
                .all(|org| b.contains(org) || Some(*org) == outer_owner),
        })
    }

    /// A report as a STIX bundle (its objects, the marking definitions and
    /// identities they refer to, and sighting aggregates where at least three
    /// organizations contributed).
    pub fn report_bundle(&self, viewer: &Viewer, uid: &[u8; 16]) -> HubResult<Value> {
        let rec = self.get_report(viewer, uid)?;
        let rows = self.store.stix_of_report(rec.rowid)?;
        let mut objects: Vec<Value> = Vec::new();
        let mut have: HashSet<(String, String)> = HashSet::new();
        let mut referenced: BTreeSet<String> = BTreeSet::new();
        for row in rows {
            let json: Value = serde_json::from_str(&row.json).map_err(HubError::internal)?;
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
                objects.push(serde_json::from_str(&row.json).map_err(HubError::internal)?);
            }
        }
        if rec.source == kyojo_store::ReportSource::Shared {
            objects.extend(self.sighting_objects(viewer, &rec)?);
        }
        Ok(stix::bundle(objects))
    }

    fn sighting_objects(&self, viewer: &Viewer, rec: &ReportRecord) -> HubResult<Vec<Value>> {
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

    /// The collections `viewer`'s role may use: Community and its sector's
    /// to read (roles that may read reports), the Inbox to write (roles that
    /// may write them). The same role rules as the REST API.
    pub fn taxii_collections(&self, viewer: &Viewer) -> HubResult<Vec<Collection>> {
        let member = viewer
            .member()
            .ok_or_else(|| HubError::unauthorized("TAXII needs a token"))?;
        let mut out = Vec::new();
        if viewer.may(Permission::ReadReports) {
            out.push(Collection::Community);
            out.push(Collection::Sector(member.sector.clone()));
        }
        if viewer.may(Permission::WriteReports) {
            out.push(Collection::Inbox);
        }
        Ok(out)
    }

    /// One page of a collection's objects after `after`, newest filters applied.
    ///
    /// Each object (id, and own version or exact content) is sent once, as
    /// its first copy (in insertion order) that the viewer may see in this
    /// collection, so pages never repeat one; `last`/`first` are chosen among
    /// the versions the viewer may see, and the hub's own objects (markings,
    /// identities) win over imported copies of them.
    pub fn taxii_objects(
        &self,
        viewer: &Viewer,
        collection: &Collection,
        scan: StixScan,
        versions: &VersionFilter,
        limit: usize,
    ) -> HubResult<TaxiiPage> {
        if *collection == Collection::Inbox {
            return Err(HubError::forbidden("the inbox collection is write-only"));
        }
        if !viewer.may(Permission::ReadReports) {
            return Err(HubError::forbidden(
                "this token's role may not read reports, which TAXII collections hold",
            ));
        }
        let page = crate::hub::paginate_in(limit, scan.after_seq, 5_000, |cursor, chunk| {
            let rows = self.store.scan_stix(&StixScan {
                after_seq: cursor,
                limit: chunk,
                ..scan.clone()
            })?;
            let chosen = self.chosen_copies(viewer, collection, &rows, versions, &scan)?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    let kept = chosen.contains(&row.seq);
                    (row.seq, kept.then_some(TaxiiObject { row }))
                })
                .collect())
        })?;
        Ok(TaxiiPage {
            objects: page.items,
            next: page.next,
        })
    }

    /// Of every kept copy of the ids in `rows`, the sequence numbers of those
    /// to send (see [`Hub::taxii_objects`]).
    fn chosen_copies(
        &self,
        viewer: &Viewer,
        collection: &Collection,
        rows: &[StixRow],
        versions: &VersionFilter,
        scan: &StixScan,
    ) -> HubResult<HashSet<i64>> {
        let ids: Vec<String> = rows
            .iter()
            .map(|r| r.stix_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let all = self.store.scan_stix(&StixScan {
            ids,
            spec_versions: scan.spec_versions.clone(),
            limit: usize::MAX >> 1,
            ..StixScan::default()
        })?;
        let report_ids: Vec<ReportRowId> = all
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
        let visible = |row: &StixRow| match row.report {
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
        // Visible copies per id, in insertion order.
        let mut by_id: HashMap<&str, Vec<&StixRow>> = HashMap::new();
        for r in all.iter().filter(|r| visible(r)) {
            by_id.entry(r.stix_id.as_str()).or_default().push(r);
        }
        let mut out = HashSet::new();
        for (_, mut copies) in by_id {
            if copies.iter().any(|r| r.report.is_none()) {
                copies.retain(|r| r.report.is_none());
            }
            let bound = match versions {
                VersionFilter::Last => copies.iter().map(|r| &r.version).max().cloned(),
                VersionFilter::First => copies.iter().map(|r| &r.version).min().cloned(),
                _ => None,
            };
            let mut sent = HashSet::new();
            for r in copies {
                let wanted = match versions {
                    VersionFilter::All => true,
                    VersionFilter::Exact(set) => set.contains(&r.version),
                    VersionFilter::Last | VersionFilter::First => {
                        bound.as_ref() == Some(&r.version)
                    }
                };
                if wanted && sent.insert(content_key(&r.stix_id, &r.json)) {
                    out.insert(r.seq);
                }
            }
        }
        Ok(out)
    }

    /// Keeps a TAXII status resource.
    pub fn put_taxii_status(&self, id: &str, status: &Value) -> HubResult<()> {
        self.store
            .put_taxii_status(id, &status.to_string(), now_millis())?;
        Ok(())
    }

    pub fn taxii_status(&self, id: &str) -> HubResult<Option<Value>> {
        Ok(self
            .store
            .taxii_status(id)?
            .and_then(|t| serde_json::from_str(&t).ok()))
    }
}

/// What makes two kept copies of an object the same object: its id and its
/// own version (`modified`, else `created`), or, for objects without one
/// (SCOs), its exact JSON.
fn content_key(id: &str, json: &str) -> (String, String) {
    #[derive(serde::Deserialize)]
    struct Probe {
        modified: Option<String>,
        created: Option<String>,
    }
    let own = serde_json::from_str::<Probe>(json)
        .ok()
        .and_then(|p| p.modified.or(p.created));
    (id.to_string(), own.unwrap_or_else(|| json.to_string()))
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

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate_bytes(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
