//! The reports a viewer may read, as a MISP feed (`/api/v1/feeds/misp/`):
//! a MISP instance subscribes to it with a kyojo token and gets exactly
//! what that token reads through the REST API — the same role rules, the
//! same audiences, and creators named only where `core::policy` allows
//! (an anonymous report's creator is the hub).

use std::collections::{BTreeMap, HashSet};

use kyojo_core::{Kind, Viewer};
use kyojo_formats::misp::{self, Attribute, Event, MispOrg};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{HubError, HubResult};
use crate::hub::{author, Hub, ReportFilter};

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

    /// `{uuid}.json`, when the viewer may read that event.
    pub fn event(&self, id: &Uuid) -> Option<Value> {
        self.events.get(id).map(misp::event_json)
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
    /// events. `to_ids` marks the values actionable in the viewer's feeds.
    pub fn misp_feed(&self, viewer: &Viewer) -> HubResult<MispFeed> {
        let actionable = self.actionable_values(viewer)?;
        let mut feed = MispFeed::default();
        let mut cursor = None;
        while feed.events.len() < MAX_EVENTS {
            let page = self.list_reports(viewer, &ReportFilter::default(), cursor, 1_000)?;
            for r in page.items {
                if feed.events.len() >= MAX_EVENTS {
                    break;
                }
                let e = self.misp_event_of(r, &actionable)?;
                feed.events.insert(e.uuid, e);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(feed)
    }

    /// One event of the viewer's MISP feed; not found when the viewer may
    /// not read it (its existence is not revealed).
    pub fn misp_event(&self, viewer: &Viewer, id: &Uuid) -> HubResult<Value> {
        let report = self
            .get_report(viewer, id.as_bytes())
            .map_err(|e| match e {
                HubError::NotFound { .. } => HubError::not_found("event"),
                other => other,
            })?;
        let actionable = self.actionable_values(viewer)?;
        Ok(misp::event_json(&self.misp_event_of(report, &actionable)?))
    }

    fn actionable_values(&self, viewer: &Viewer) -> HubResult<HashSet<(Kind, String)>> {
        if !viewer.may(kyojo_core::policy::Permission::ReadFeeds) {
            return Ok(HashSet::new());
        }
        let (_, entries) = self.feed_entries(viewer)?;
        Ok(entries.iter().map(|e| (e.kind, e.value.clone())).collect())
    }

    fn misp_event_of(
        &self,
        r: kyojo_store::ReportRecord,
        actionable: &HashSet<(Kind, String)>,
    ) -> HubResult<Event> {
        let hub_name = crate::stix::hub_identity_name(self);
        let hub_org = MispOrg {
            uuid: identity_uuid(&hub_name),
            name: hub_name,
        };
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
            owner: hub_org,
            attributes,
        })
    }
}
