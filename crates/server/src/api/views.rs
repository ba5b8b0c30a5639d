//! Response bodies of the REST API as types: each derives `Serialize` (what
//! is sent) and `ToSchema` (what `/api/v1/openapi.json` says is sent), so
//! the document cannot drift from the bodies. They are public so that other
//! surfaces (the web UI) can render the same views.
//!
//! Field types from other crates (kinds, TLP, counts) are serialized as
//! themselves; their schemas come from [`super::schema`] (`value_type`).

use std::collections::BTreeSet;

use serde::Serialize;
use utoipa::ToSchema;

use kyojo_core::policy::Count;
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, ReportAccess, Role, Tlp, Viewer};
use kyojo_hub::hub::{author, now_millis, Assessment, Hub};
use kyojo_hub::HubResult;
use kyojo_store::{Millis, ReportRecord};

use super::schema::{
    CommunityAudience, CountValue, DecisionActionName, IncidentTypeName, KindName, MatchKindName,
    RoleName, TlpName,
};

/// Milliseconds since the epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A day number (days since the epoch) as `YYYY-MM-DD`.
pub fn day_string(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

// ---- reports ------------------------------------------------------------------------

/// An organization as a report names it (only when the rules let it be named).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgView {
    pub name: String,
    pub sector: String,
}

/// Who may read a report beyond its TLP: `"community"`, some sectors (by
/// slug) or some organizations (by name).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AudienceView {
    Community(CommunityAudience),
    Sectors { sectors: Vec<String> },
    Orgs { orgs: Vec<String> },
}

impl AudienceView {
    pub fn build(hub: &Hub, access: &ReportAccess) -> HubResult<AudienceView> {
        Ok(match &access.audience {
            Audience::Community => AudienceView::Community(CommunityAudience::Community),
            Audience::Sectors(s) => AudienceView::Sectors {
                sectors: s.iter().cloned().collect(),
            },
            Audience::Orgs(_) => AudienceView::Orgs {
                orgs: kyojo_hub::hub::audience_orgs(hub, access)?
                    .into_iter()
                    .map(|o| o.name)
                    .collect(),
            },
        })
    }
}

/// One indicator of a report; `input` is what the author sent, on the
/// answer to the write that sent it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportIndicator {
    #[serde(rename = "type")]
    #[schema(value_type = KindName)]
    pub kind: Kind,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// A report as the viewer may see it. `organization` is null when the
/// report is anonymous to this viewer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportView {
    #[schema(format = "uuid")]
    pub id: String,
    pub title: String,
    pub description: String,
    #[schema(value_type = IncidentTypeName)]
    pub incident_type: IncidentType,
    pub sector: Option<String>,
    #[schema(value_type = TlpName)]
    pub tlp: Tlp,
    pub audience: AudienceView,
    pub anonymous: bool,
    pub organization: Option<OrgView>,
    /// Whether the viewer's organization wrote it.
    pub mine: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub indicators: Vec<ReportIndicator>,
}

impl ReportView {
    /// `inputs`: the values as sent, echoed beside their canonical forms.
    pub fn build(
        hub: &Hub,
        viewer: &Viewer,
        r: &ReportRecord,
        inputs: Option<&[(Observable, String)]>,
    ) -> HubResult<ReportView> {
        let organization = author(hub, &r.access)?.map(|o| OrgView {
            name: o.name,
            sector: o.sector,
        });
        let indicators = r
            .indicators
            .iter()
            .map(|o| ReportIndicator {
                kind: o.kind,
                value: o.value.clone(),
                input: inputs
                    .and_then(|ins| ins.iter().find(|(obs, _)| obs == o))
                    .map(|(_, raw)| raw.clone()),
            })
            .collect();
        Ok(ReportView {
            id: uuid::Uuid::from_bytes(r.uid).to_string(),
            title: r.title.clone(),
            description: r.description.clone(),
            incident_type: r.incident_type,
            sector: r.sector.clone(),
            tlp: r.access.tlp,
            audience: AudienceView::build(hub, &r.access)?,
            anonymous: organization.is_none(),
            organization,
            mine: hub.is_owner(viewer, &r.access),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            indicators,
        })
    }
}

/// A page of reports, newest first; `next_cursor` fetches the next page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportList {
    pub reports: Vec<ReportView>,
    pub next_cursor: Option<String>,
}

/// A report as an indicator's detail lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportRef {
    #[schema(format = "uuid")]
    pub id: String,
    pub title: String,
    #[schema(value_type = IncidentTypeName)]
    pub incident_type: IncidentType,
    #[schema(value_type = TlpName)]
    pub tlp: Tlp,
    pub organization: Option<OrgView>,
    pub mine: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The answer to a STIX bundle import: the report it made (or had made).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StixImported {
    pub report: ReportView,
    /// STIX objects kept.
    pub objects: usize,
    /// Indicators the report holds.
    pub indicators: usize,
    /// The same objects were imported before by the same organization.
    pub already_imported: bool,
}

/// The answer to a MISP event import: the report it made (or had made).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MispImported {
    pub report: ReportView,
    /// Distinct values taken from the event.
    pub values: usize,
    /// Attributes left out, counted by reason.
    pub skipped: std::collections::BTreeMap<String, usize>,
    /// The same event was imported before by the same organization.
    pub already_imported: bool,
}

/// One report a list import made (or had made).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportedReport {
    #[schema(format = "uuid")]
    pub id: String,
    pub title: String,
    pub indicators: usize,
}

/// A row of a list left out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkippedRow {
    pub line: usize,
    pub reason: String,
}

/// What a list says of its values, counted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThreatCount {
    pub threat: String,
    pub count: usize,
}

/// The answer to a list import.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListImported {
    pub reports: Vec<ImportedReport>,
    /// How many of `reports` the organization had imported before.
    pub already_imported: usize,
    /// Distinct values read.
    pub values: usize,
    pub lines: usize,
    /// Rows the list marks offline, left out.
    pub inactive: usize,
    /// Rows naming a value read before.
    pub duplicates: usize,
    pub skipped_count: usize,
    /// The first rows skipped.
    pub skipped: Vec<SkippedRow>,
    /// The ten most common things the list says of its values.
    pub threats: Vec<ThreatCount>,
}

impl ListImported {
    pub fn build(d: &kyojo_hub::imports::ListImported) -> ListImported {
        ListImported {
            reports: d
                .reports
                .iter()
                .map(|r| ImportedReport {
                    id: crate::api::report_id(r),
                    title: r.title.clone(),
                    indicators: r.indicators.len(),
                })
                .collect(),
            already_imported: d.already,
            values: d.values,
            lines: d.lines,
            inactive: d.inactive,
            duplicates: d.duplicates,
            skipped_count: d.skipped_count,
            skipped: d
                .skipped
                .iter()
                .map(|s| SkippedRow {
                    line: s.line,
                    reason: s.reason.clone(),
                })
                .collect(),
            threats: d
                .threats
                .iter()
                .take(10)
                .map(|(t, n)| ThreatCount {
                    threat: t.clone(),
                    count: *n,
                })
                .collect(),
        }
    }
}

/// One false-positive list the hub applies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarninglistView {
    /// The id it was chosen by (MISP's directory name).
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    /// `string`, `hostname`, `cidr`, `substring` or `regex`.
    #[serde(rename = "type")]
    pub list_type: String,
    /// `embedded` (never blockable) or `loaded` (an explicit block applies).
    pub origin: String,
    /// Entries in use.
    pub entries: usize,
    /// Entries that are not a value of a kind the list applies to.
    pub skipped: usize,
}

/// The false-positive lists the hub applies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarninglistList {
    pub warninglists: Vec<WarninglistView>,
}

impl WarninglistList {
    pub fn build(
        lists: &[(
            kyojo_hub::warninglists::Origin,
            kyojo_core::warninglist::ListInfo,
        )],
    ) -> WarninglistList {
        WarninglistList {
            warninglists: lists
                .iter()
                .map(|(origin, l)| WarninglistView {
                    id: l.id.clone(),
                    name: l.name.clone(),
                    description: l.description.clone(),
                    version: l.version.clone(),
                    list_type: l.list_type.as_str().to_string(),
                    origin: match origin {
                        kyojo_hub::warninglists::Origin::Embedded => "embedded",
                        kyojo_hub::warninglists::Origin::Loaded => "loaded",
                    }
                    .to_string(),
                    entries: l.used,
                    skipped: l.skipped,
                })
                .collect(),
        }
    }
}

// ---- indicators ---------------------------------------------------------------------

/// An indicator in a list: when it was seen and by how many organizations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorSummary {
    #[serde(rename = "type")]
    #[schema(value_type = KindName)]
    pub kind: Kind,
    pub value: String,
    #[schema(format = DateTime)]
    pub first_seen: Option<String>,
    #[schema(format = DateTime)]
    pub last_seen: Option<String>,
    /// Reports mentioning it that the viewer may read.
    pub reports: usize,
    #[schema(value_type = CountValue)]
    pub seen_by_orgs: Count,
}

impl IndicatorSummary {
    pub fn build(obs: &Observable, a: &Assessment) -> IndicatorSummary {
        IndicatorSummary {
            kind: obs.kind,
            value: obs.value.clone(),
            first_seen: a.first_seen.map(rfc3339),
            last_seen: a.last_seen.map(rfc3339),
            reports: a.reports.len(),
            seen_by_orgs: a.seen_by,
        }
    }
}

/// A page of indicators; `next_cursor` fetches the next page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorList {
    pub indicators: Vec<IndicatorSummary>,
    pub next_cursor: Option<String>,
}

/// One day's sightings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DaySightings {
    #[schema(format = Date)]
    pub day: String,
    #[schema(value_type = CountValue)]
    pub sightings: Count,
    #[schema(value_type = CountValue)]
    pub orgs: Count,
}

/// One sector's sightings; `sector: null` is the pool of sectors each too
/// small to name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SectorSightings {
    pub sector: Option<String>,
    #[schema(value_type = CountValue)]
    pub sightings: Count,
    #[schema(value_type = CountValue)]
    pub orgs: Count,
}

/// The viewer's own organization's sightings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MySightings {
    pub total: u64,
    #[schema(format = DateTime)]
    pub last_seen: String,
}

/// Sightings of an indicator, aggregated so that no small group shows through.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SightingsView {
    #[schema(value_type = CountValue)]
    pub total: Count,
    #[schema(value_type = CountValue)]
    pub orgs: Count,
    pub by_day: Vec<DaySightings>,
    pub by_sector: Vec<SectorSightings>,
    pub mine: Option<MySightings>,
}

impl SightingsView {
    pub fn build(p: &kyojo_hub::hub::SightingPicture) -> SightingsView {
        SightingsView {
            total: p.total,
            orgs: p.orgs,
            by_day: p
                .by_day
                .iter()
                .map(|(d, n, o)| DaySightings {
                    day: day_string(*d),
                    sightings: *n,
                    orgs: *o,
                })
                .collect(),
            by_sector: p
                .by_sector
                .iter()
                .map(|(s, n, o)| SectorSightings {
                    sector: s.clone(),
                    sightings: *n,
                    orgs: *o,
                })
                .collect(),
            mine: p.mine.map(|(total, last)| MySightings {
                total,
                last_seen: rfc3339(last),
            }),
        }
    }
}

/// Everything the viewer may know about one indicator.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorDetail {
    #[serde(rename = "type")]
    #[schema(value_type = KindName)]
    pub kind: Kind,
    pub value: String,
    #[schema(format = DateTime)]
    pub first_seen: Option<String>,
    #[schema(format = DateTime)]
    pub last_seen: Option<String>,
    /// Reports mentioning it that the viewer may read, newest first.
    pub reports: Vec<ReportRef>,
    #[schema(value_type = CountValue)]
    pub seen_by_orgs: Count,
    pub decision: DecisionView,
    /// Null when sightings are not shown to this viewer.
    pub sightings: Option<SightingsView>,
}

// ---- decisions, the allow list, the feed guard ----------------------------------------

/// Who made a decision, as a viewer is told: never an organization's name.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum DeciderView {
    #[serde(rename = "hub")]
    Hub,
    #[serde(rename = "your organization")]
    YourOrganization,
}

/// One decision of an indicator's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionEntryView {
    #[schema(value_type = DecisionActionName)]
    pub action: kyojo_core::decide::Action,
    pub comment: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    pub by: DeciderView,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// Whether an indicator is actionable in the viewer's feeds, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    pub actionable: bool,
    pub reason: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Why the value can never be blocked, when it cannot.
    pub allow_listed: Option<String>,
    /// The hub's decisions and the viewer's own organization's, oldest first.
    pub history: Vec<DecisionEntryView>,
}

impl DecisionView {
    pub fn build(state: &kyojo_hub::decide::DecisionState) -> DecisionView {
        let (actionable, reason, expires_at) = match &state.verdict {
            kyojo_core::decide::Verdict::Block {
                reason, expires_at, ..
            } => (
                expires_at.is_none_or(|e| e > now_millis()),
                reason.clone(),
                *expires_at,
            ),
            kyojo_core::decide::Verdict::NotActionable { reason } => (false, reason.clone(), None),
        };
        // Only the hub's decisions and the viewer's own organization's: never
        // another organization's, and never any organization's name.
        let history = state
            .history
            .iter()
            .map(|d| DecisionEntryView {
                action: d.action,
                comment: d.comment.clone(),
                expires_at: d.expires_at.map(rfc3339),
                by: match d.by {
                    kyojo_hub::decide::Decider::Hub => DeciderView::Hub,
                    kyojo_hub::decide::Decider::YourOrganization => DeciderView::YourOrganization,
                },
                created_at: rfc3339(d.created_at),
            })
            .collect();
        DecisionView {
            actionable,
            reason,
            expires_at: expires_at.map(rfc3339),
            allow_listed: state.allowed.as_ref().map(|a| a.to_string()),
            history,
        }
    }
}

/// An entry of the operator's allow list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllowEntryView {
    #[serde(rename = "type")]
    #[schema(value_type = KindName)]
    pub kind: Kind,
    pub value: String,
    pub comment: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The operator's allow list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllowList {
    pub allowlist: Vec<AllowEntryView>,
}

/// An allow-list entry just added.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllowAdded {
    #[serde(rename = "type")]
    #[schema(value_type = KindName)]
    pub kind: Kind,
    pub value: String,
    pub comment: String,
}

/// A hub-wide feed change held for the operator's confirmation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingChangeView {
    pub added: usize,
    pub removed: usize,
    /// The most either may be without confirmation.
    pub threshold: usize,
    #[schema(format = DateTime)]
    pub since: String,
}

impl PendingChangeView {
    pub fn build(p: &kyojo_hub::guard::Pending) -> PendingChangeView {
        PendingChangeView {
            added: p.change.added,
            removed: p.change.removed,
            threshold: p.change.threshold,
            since: rfc3339(p.since),
        }
    }
}

/// The feed change guard's state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedGuardView {
    pub held: bool,
    pub pending: Option<PendingChangeView>,
    /// The share of the published set a change may add or remove unconfirmed.
    pub fraction: f64,
}

/// The change just published.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedGuardConfirmed {
    pub confirmed: PendingChangeView,
}

// ---- sightings and lookups ----------------------------------------------------------

/// A sighting batch taken in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SightingsAccepted {
    pub accepted: usize,
    /// Distinct days the batch fell on.
    pub days: usize,
}

/// An indicator named by kind and canonical value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorRef {
    #[serde(rename = "type")]
    #[schema(value_type = KindName)]
    pub kind: Kind,
    pub value: String,
}

/// One indicator a looked-up value matched, and how.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LookupMatch {
    pub indicator: IndicatorRef,
    #[serde(rename = "match")]
    #[schema(value_type = MatchKindName)]
    pub how: kyojo_index::MatchKind,
    #[schema(value_type = Vec<IncidentTypeName>)]
    pub incident_types: BTreeSet<IncidentType>,
}

/// The answer for one looked-up value. A value that does not parse has
/// `type` and `canonical` null, no matches, and `error`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LookupResult {
    pub input: String,
    #[serde(rename = "type")]
    #[schema(value_type = Option<KindName>)]
    pub kind: Option<Kind>,
    pub canonical: Option<String>,
    pub matches: Vec<LookupMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Answers in the order the values were sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LookupResults {
    pub results: Vec<LookupResult>,
}

// ---- private URL checks -------------------------------------------------------------

/// The whole prefix list (no `since`, or a version this hub no longer keeps).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrefixesFull {
    pub version: u64,
    /// Always true here.
    pub full: bool,
    pub prefix_bytes: usize,
    /// Hex, 8 digits each.
    pub prefixes: Vec<String>,
}

/// The changes since the version the client holds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrefixesDelta {
    pub version: u64,
    /// Always false here.
    pub full: bool,
    pub additions: Vec<String>,
    pub removals: Vec<String>,
}

/// Hash prefixes of every actionable URL and domain expression.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PrefixesView {
    Full(PrefixesFull),
    Delta(PrefixesDelta),
}

/// A full hash for a prefix the client asked about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HashMatch {
    pub prefix: String,
    pub full_hash: String,
    pub threat_type: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// Full hashes for the prefixes asked about; cache them this long.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HashSearchResult {
    pub matches: Vec<HashMatch>,
    pub cache_seconds: u64,
}

// ---- identity, sectors, administration ----------------------------------------------

/// The caller's organization and role.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeView {
    pub organization: String,
    pub sector: String,
    #[schema(value_type = RoleName)]
    pub role: Role,
}

/// A sector, by slug, with its names in both UI languages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SectorView {
    pub slug: String,
    pub en: String,
    pub ja: String,
}

/// The sectors this hub knows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SectorList {
    pub sectors: Vec<SectorView>,
}

/// A member organization.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgEntry {
    pub name: String,
    pub sector: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl OrgEntry {
    pub fn build(o: &kyojo_store::Org) -> OrgEntry {
        OrgEntry {
            name: o.name.clone(),
            sector: o.sector.clone(),
            created_at: rfc3339(o.created_at),
        }
    }
}

/// The membership directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgList {
    pub orgs: Vec<OrgEntry>,
}

/// A new token: `token` is its secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenCreated {
    /// The public id, for revoking it.
    pub id: String,
    pub org: String,
    #[schema(value_type = RoleName)]
    pub role: Role,
    pub token: String,
}

/// One administrative action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryView {
    #[schema(format = DateTime)]
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// The newest administrative actions (at most 500).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditLog {
    pub audit: Vec<AuditEntryView>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}
