//! MISP both ways. Out: the reports a viewer may read, as a MISP feed
//! (`/api/v1/feeds/misp/`): a MISP instance subscribes to it with a kyojo
//! token and gets exactly what that token reads through the REST API — the
//! same role rules, the same audiences, and creators named only where
//! `core::policy` allows (an anonymous report's creator is the hub).
//!
//! In: a MISP event becomes a report of the importing organization, by the
//! same draft rules as any report, at least as restrictive as the event's
//! own marking; the same event imported again by the same organization is
//! the same report.

use std::collections::{BTreeMap, HashSet};

use kyojo_core::draft::RawDraft;
use kyojo_core::report::{limits, IncidentType};
use kyojo_core::{Audience, Kind, Tlp, Viewer};
use kyojo_formats::misp::{self, Attribute, Event, MispOrg};
use kyojo_store::{Millis, ReportRecord};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{HubError, HubResult};
use crate::hub::{author, require, Hub, ReportFilter};

/// Events in one feed at most (the newest); a larger hub is read in pieces
/// through the REST API or TAXII.
pub const MAX_EVENTS: usize = 50_000;

/// One viewer's MISP feed.
#[derive(Debug, Default)]
pub struct MispFeed {
    pub events: BTreeMap<Uuid, Event>,
}

impl MispFeed {
    /// `manifest.json`.
    pub fn manifest(&self) -> Value {
        Value::Object(
            self.events
                .iter()
                .map(|(id, e)| (id.to_string(), misp::manifest_entry(e)))
                .collect(),
        )
    }

    /// `hashes.csv`.
    pub fn hashes(&self) -> String {
        let mut out = String::new();
        for e in self.events.values() {
            misp::hash_lines(e, &mut out);
        }
        out
    }
}

/// The uuid MISP knows an organization or the hub by: the one its STIX
/// identity carries, so that both exports name an author alike.
fn identity_uuid(name: &str) -> Uuid {
    let id = kyojo_formats::stix::identity_id(name);
    id.strip_prefix("identity--")
        .and_then(|u| Uuid::parse_str(u).ok())
        .unwrap_or_default()
}

impl Hub {
    /// Every report `viewer` may read (the newest [`MAX_EVENTS`]), as MISP
    /// events for `manifest.json` and `hashes.csv`. Neither carries IDS
    /// flags, so these events' `to_ids` are not worked out (the event files
    /// have them: [`Hub::misp_event`]).
    pub fn misp_feed(&self, viewer: &Viewer) -> HubResult<MispFeed> {
        let hub_org = self.misp_hub_org();
        let none = HashSet::new();
        let mut feed = MispFeed::default();
        let mut cursor = None;
        while feed.events.len() < MAX_EVENTS {
            let page = self.list_reports(viewer, &ReportFilter::default(), cursor, 1_000)?;
            for r in page.items {
                if feed.events.len() >= MAX_EVENTS {
                    break;
                }
                let e = self.misp_event_of(r, &hub_org, &none)?;
                feed.events.insert(e.uuid, e);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(feed)
    }

    /// One event of the viewer's MISP feed, `to_ids` marking the values
    /// actionable in the viewer's feeds; not found when the viewer may not
    /// read it (its existence is not revealed).
    pub fn misp_event(&self, viewer: &Viewer, id: &Uuid) -> HubResult<Value> {
        let report = self
            .get_report(viewer, id.as_bytes())
            .map_err(|e| match e {
                HubError::NotFound { .. } => HubError::not_found("event"),
                other => other,
            })?;
        let actionable = self.actionable_among(viewer, &report.indicators)?;
        let event = self.misp_event_of(report, &self.misp_hub_org(), &actionable)?;
        Ok(misp::event_json(&event))
    }

    /// Which of `values` are in the viewer's feeds (one pass over its
    /// cached feed entries; nothing copied but the matches).
    fn actionable_among(
        &self,
        viewer: &Viewer,
        values: &[kyojo_core::Observable],
    ) -> HubResult<HashSet<(Kind, String)>> {
        if !viewer.may(kyojo_core::policy::Permission::ReadFeeds) {
            return Ok(HashSet::new());
        }
        let wanted: HashSet<(Kind, &str)> =
            values.iter().map(|o| (o.kind, o.value.as_str())).collect();
        let (_, entries) = self.feed_entries(viewer)?;
        Ok(entries
            .iter()
            .filter(|e| wanted.contains(&(e.kind, e.value.as_str())))
            .map(|e| (e.kind, e.value.clone()))
            .collect())
    }

    /// The hub, as MISP names it: the owner of every event, and the
    /// creator of anonymous ones.
    fn misp_hub_org(&self) -> MispOrg {
        let name = crate::stix::hub_identity_name(self);
        MispOrg {
            uuid: identity_uuid(&name),
            name,
        }
    }

    fn misp_event_of(
        &self,
        r: kyojo_store::ReportRecord,
        hub_org: &MispOrg,
        actionable: &HashSet<(Kind, String)>,
    ) -> HubResult<Event> {
        // The creator only where the policy lets the report be attributed.
        let creator = match author(self, &r.access)? {
            Some(org) => MispOrg {
                uuid: identity_uuid(&org.name),
                name: org.name,
            },
            None => hub_org.clone(),
        };
        let uuid = Uuid::from_bytes(r.uid);
        let attributes = r
            .indicators
            .into_iter()
            .map(|o| Attribute {
                to_ids: actionable.contains(&(o.kind, o.value.clone())),
                kind: o.kind,
                value: o.value,
            })
            .collect();
        Ok(Event {
            uuid,
            info: r.title,
            description: r.description,
            incident_type: r.incident_type.as_str(),
            tlp: r.access.tlp,
            created_at: r.created_at,
            updated_at: r.updated_at,
            creator,
            owner: hub_org.clone(),
            attributes,
        })
    }

    /// Imports one MISP event as a report of the viewer's organization.
    pub fn import_misp_event(
        &self,
        viewer: &Viewer,
        event: &Value,
        options: &MispImportOptions,
        now: Millis,
    ) -> HubResult<MispImported> {
        let member = require(viewer, kyojo_core::policy::Permission::WriteReports)?;
        let incoming = misp::read_event(event, options.with_non_ids)
            .map_err(|e| HubError::invalid(e.field, e.message))?;
        let floor = incoming.tlp.unwrap_or(Tlp::Amber);
        let tlp = match options.tlp {
            Some(t) if t < floor => {
                return Err(HubError::invalid(
                    "tlp",
                    format!(
                        "TLP:{t} is less restrictive than the event's own TLP:{floor}; an import never widens a marking"
                    ),
                ))
            }
            Some(t) => t,
            None => floor,
        };
        if incoming.values.is_empty() {
            let why: Vec<String> = incoming
                .skipped
                .iter()
                .map(|(why, n)| format!("{n} {why}"))
                .collect();
            return Err(HubError::invalid(
                "Event.Attribute",
                format!(
                    "no attribute holds a value kyojo keeps (skipped: {})",
                    if why.is_empty() {
                        "none".to_string()
                    } else {
                        why.join("; ")
                    }
                ),
            ));
        }
        if incoming.values.len() > limits::INDICATORS_MAX {
            return Err(HubError::invalid(
                "Event.Attribute",
                format!(
                    "{} values, more than one report holds ({})",
                    incoming.values.len(),
                    limits::INDICATORS_MAX
                ),
            ));
        }
        // The same event from the same organization lands once: its uid is
        // keyed by the hub's secret, so it tells nobody who imported it.
        let uid = self.keyed_uid(
            "misp import",
            &[&member.org.to_be_bytes(), incoming.uuid.as_bytes()],
        );
        let skipped = incoming.skipped.clone();
        let values = incoming.values.len();
        let (report, created) = self.create_report_once(viewer, uid, now, || {
            let incident_type = options
                .incident_type
                .unwrap_or_else(|| incident_type_of(&incoming.tags, &incoming.info));
            let raw = RawDraft {
                title: clean(&incoming.info, false, limits::TITLE_MAX_CHARS),
                description: clean(
                    &incoming.description,
                    true,
                    limits::DESCRIPTION_MAX_BYTES / 4,
                ),
                anonymous: options.anonymous,
                ..RawDraft::new(
                    "",
                    incident_type,
                    tlp,
                    options.audience.clone().unwrap_or(Audience::Community),
                    incoming.values.into_iter().map(|(o, _)| o).collect(),
                )
            };
            Ok(self.draft(raw)?)
        })?;
        Ok(MispImported {
            report,
            created,
            values,
            skipped,
        })
    }
}

/// How an event becomes a report.
#[derive(Debug, Clone, Default)]
pub struct MispImportOptions {
    /// At least as restrictive as the event's own marking (default: it, or
    /// AMBER when it has none).
    pub tlp: Option<Tlp>,
    /// Default: the community.
    pub audience: Option<Audience>,
    pub anonymous: bool,
    /// Also import attributes without the IDS flag (context, not detection).
    pub with_non_ids: bool,
    /// Default: from the event's tags (kyojo's own `kyojo:incident-type`,
    /// else words such as "phishing" or "ransomware"), else `other`.
    pub incident_type: Option<IncidentType>,
}

/// What importing one event did.
#[derive(Debug, Clone)]
pub struct MispImported {
    pub report: ReportRecord,
    /// False when this organization had imported the event already.
    pub created: bool,
    pub values: usize,
    /// Attributes left out, by reason.
    pub skipped: BTreeMap<String, usize>,
}

/// Free text from another system, made fit for a field: characters a
/// field may not hold dropped, cut to `max` characters.
pub(crate) fn clean(text: &str, multiline: bool, max: usize) -> String {
    text.chars()
        .filter(|c| !kyojo_core::report::is_forbidden_char(*c, multiline))
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The incident type an event's tags (or title) speak of.
fn incident_type_of(tags: &[String], info: &str) -> IncidentType {
    for t in tags {
        if let Some(rest) = t.strip_prefix("kyojo:incident-type=") {
            if let Some(it) = IncidentType::parse(rest.trim_matches('"')) {
                return it;
            }
        }
    }
    let text = format!("{} {}", tags.join(" "), info).to_ascii_lowercase();
    let words: [(&str, IncidentType); 10] = [
        ("ransomware", IncidentType::Ransomware),
        ("phishing", IncidentType::Phishing),
        ("command-and-control", IncidentType::CommandAndControl),
        ("c2", IncidentType::CommandAndControl),
        ("ddos", IncidentType::Ddos),
        ("scan", IncidentType::Scanning),
        ("spam", IncidentType::Spam),
        ("fraud", IncidentType::Fraud),
        ("exploit", IncidentType::Exploitation),
        ("malware", IncidentType::Malware),
    ];
    words
        .iter()
        .find(|(w, _)| text.contains(w))
        .map_or(IncidentType::Other, |(_, it)| *it)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incident_type_comes_from_kyojos_tag_then_words() {
        assert_eq!(
            incident_type_of(&["kyojo:incident-type=\"ddos\"".into()], "phishing kit"),
            IncidentType::Ddos
        );
        assert_eq!(
            incident_type_of(&["misp-galaxy:ransomware=\"x\"".into()], ""),
            IncidentType::Ransomware
        );
        assert_eq!(
            incident_type_of(&[], "Phishing wave"),
            IncidentType::Phishing
        );
        assert_eq!(incident_type_of(&[], "something"), IncidentType::Other);
    }

    #[test]
    fn foreign_text_loses_control_characters_and_length() {
        assert_eq!(clean("a\u{202e}b\u{0}c", false, 200), "abc");
        assert_eq!(clean("x".repeat(500).as_str(), false, 200).len(), 200);
        assert_eq!(clean("l1\nl2", true, 100), "l1\nl2");
    }
}
