//! One-off imports of the lists other people publish (URLhaus, ThreatFox,
//! Feodo Tracker, Spamhaus DROP, PhishTank, OpenPhish, plain lists): the
//! file is read by `formats::intake` and becomes reports of the importing
//! organization, drafted by the same rules as any report, at most
//! [`limits::INDICATORS_MAX`] values each. A file imported again by the same
//! organization lands on the same reports (each report's uid is keyed by
//! the hub secret from the organization and the values it holds).

use std::collections::BTreeMap;

use kyojo_core::draft::RawDraft;
use kyojo_core::report::{limits, IncidentType};
use kyojo_core::{Audience, Tlp, Viewer};
use kyojo_formats::intake::{self, Format, Skipped};
use kyojo_store::{Millis, ReportRecord};

use crate::error::{HubError, HubResult};
use crate::hub::{require, Hub};

/// Values one import reads at most.
pub const MAX_VALUES: usize = 1_000_000;

/// How a list becomes reports.
#[derive(Debug, Clone)]
pub struct ListImport {
    pub format: Format,
    /// The reports' title (numbered when the list fills several).
    pub title: String,
    pub incident_type: IncidentType,
    /// Public lists are CLEAR.
    pub tlp: Tlp,
    pub audience: Audience,
    pub anonymous: bool,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ListImported {
    pub reports: Vec<ReportRecord>,
    /// Reports this organization had made from the same values before.
    pub already: usize,
    pub values: usize,
    pub lines: usize,
    pub inactive: usize,
    pub duplicates: usize,
    pub skipped_count: usize,
    /// The first rows skipped, with their line and reason.
    pub skipped: Vec<Skipped>,
    /// What the list says of its values, counted (the most common first).
    pub threats: Vec<(String, usize)>,
}

impl Hub {
    pub fn import_list(
        &self,
        viewer: &Viewer,
        text: &[u8],
        how: &ListImport,
        now: Millis,
    ) -> HubResult<ListImported> {
        let member = require(viewer, kyojo_core::policy::Permission::WriteReports)?;
        let read = intake::read(&how.format, text, MAX_VALUES)
            .map_err(|e| HubError::invalid("body", e.to_string()))?;
        if read.entries.is_empty() {
            return Err(HubError::invalid(
                "body",
                format!(
                    "no value read from {} lines ({} skipped, {} inactive){}",
                    read.lines,
                    read.skipped_count,
                    read.inactive,
                    read.skipped
                        .first()
                        .map(|s| format!("; line {}: {}", s.line, s.reason))
                        .unwrap_or_default()
                ),
            ));
        }
        let mut threats: BTreeMap<String, usize> = BTreeMap::new();
        for e in &read.entries {
            if !e.threat.is_empty() {
                *threats.entry(e.threat.clone()).or_default() += 1;
            }
        }
        let mut threats: Vec<(String, usize)> = threats.into_iter().collect();
        threats.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        // What the list says is foreign text: only what a field may hold.
        let common: Vec<String> = threats
            .iter()
            .take(5)
            .map(|(t, n)| format!("{} ({n})", crate::misp::clean(t, false, 100)))
            .collect();
        let description = format!(
            "Imported from a {} list: {} values read from {} lines ({} inactive, {} skipped).{}",
            format_name(&how.format),
            read.entries.len(),
            read.lines,
            read.inactive,
            read.skipped_count,
            if common.is_empty() {
                String::new()
            } else {
                format!(" Most named: {}.", common.join(", "))
            }
        );
        let chunks: Vec<&[intake::Entry]> = read.entries.chunks(limits::INDICATORS_MAX).collect();
        let parts = chunks.len();
        let mut reports = Vec::new();
        let mut already = 0;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut values: Vec<_> = chunk.iter().map(|e| e.observable.clone()).collect();
            values.sort();
            let mut key: Vec<u8> = Vec::new();
            for v in &values {
                key.extend_from_slice(v.kind.as_str().as_bytes());
                key.push(0);
                key.extend_from_slice(v.value.as_bytes());
                key.push(0);
            }
            let uid = self.keyed_uid("list import", &[&member.org.to_be_bytes(), &key]);
            let (report, created) = self.create_report_once(viewer, uid, now, || {
                let title = if parts > 1 {
                    format!("{} ({}/{parts})", how.title, i + 1)
                } else {
                    how.title.clone()
                };
                let raw = RawDraft {
                    description: description.clone(),
                    anonymous: how.anonymous,
                    ..RawDraft::new(
                        &title,
                        how.incident_type,
                        how.tlp,
                        how.audience.clone(),
                        values,
                    )
                };
                Ok(self.draft(raw)?)
            })?;
            already += usize::from(!created);
            reports.push(report);
        }
        Ok(ListImported {
            reports,
            already,
            values: read.entries.len(),
            lines: read.lines,
            inactive: read.inactive,
            duplicates: read.duplicates,
            skipped_count: read.skipped_count,
            skipped: read.skipped,
            threats,
        })
    }
}

/// The reports' title when none is given: the list and the day.
pub fn default_title(f: &Format) -> String {
    format!(
        "{} list, imported {}",
        format_name(f),
        chrono::Utc::now().format("%Y-%m-%d")
    )
}

/// The list's name, for titles and descriptions.
pub fn format_name(f: &Format) -> &'static str {
    match f {
        Format::List => "plain",
        Format::Urlhaus => "URLhaus",
        Format::Threatfox => "ThreatFox",
        Format::Feodo => "Feodo Tracker",
        Format::SpamhausDrop => "Spamhaus DROP",
        Format::Phishtank => "PhishTank",
        Format::Openphish => "OpenPhish",
        Format::Csv(_) => "CSV",
    }
}

/// The incident type a preset's list is about.
pub fn preset_incident_type(f: &Format) -> IncidentType {
    match f {
        Format::Urlhaus => IncidentType::Malware,
        Format::Threatfox | Format::Feodo => IncidentType::CommandAndControl,
        Format::SpamhausDrop => IncidentType::Other,
        Format::Phishtank | Format::Openphish => IncidentType::Phishing,
        Format::List | Format::Csv(_) => IncidentType::Other,
    }
}
