//! A report before it is stored: every rule a report must meet, in one
//! place. Each edge turns its own syntax into a [`RawDraft`] (the REST API
//! from JSON, the web UI from a form, STIX import from a bundle, the demo
//! from its plan) and gets a [`Draft`] only from [`Draft::new`], which
//! returns every problem with the field it is about. A `Draft` cannot be
//! built any other way, so whatever the hub stores met these rules.

use std::collections::HashSet;
use std::fmt;

use crate::policy::Audience;
use crate::report::{limits, text_problem, IncidentType};
use crate::{Observable, Tlp};

/// A report as submitted, its syntax already read (types and names
/// resolved) but no rule applied.
#[derive(Debug, Clone)]
pub struct RawDraft {
    pub title: String,
    pub description: String,
    pub incident_type: IncidentType,
    pub sector: Option<String>,
    pub tlp: Tlp,
    pub audience: Audience,
    pub anonymous: bool,
    /// Canonical values; duplicates are dropped.
    pub indicators: Vec<Observable>,
}

impl RawDraft {
    /// A named, non-anonymous draft with no description or sector; set the
    /// other fields with struct update syntax.
    pub fn new(
        title: &str,
        incident_type: IncidentType,
        tlp: Tlp,
        audience: Audience,
        indicators: Vec<Observable>,
    ) -> RawDraft {
        RawDraft {
            title: title.to_string(),
            description: String::new(),
            incident_type,
            sector: None,
            tlp,
            audience,
            anonymous: false,
            indicators,
        }
    }
}

/// What is wrong with one field of a draft. `Display` gives the English
/// message; other languages word the variant themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Empty,
    TooLongChars(usize),
    TooLongBytes(usize),
    /// Carries the detail ([`text_problem`]'s words).
    ControlCharacter(String),
    /// Not one of the hub's sectors; the known ones, for the message.
    UnknownSector {
        given: String,
        known: Vec<String>,
    },
    RedNeedsNamedOrgs,
    EmptyList,
    TooManyEntries(usize),
    TooManyIndicators(usize),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => f.write_str("must not be empty"),
            Problem::TooLongChars(max) => write!(f, "is longer than {max} characters"),
            Problem::TooLongBytes(max) => write!(f, "is longer than {max} bytes"),
            Problem::ControlCharacter(detail) => f.write_str(detail),
            Problem::UnknownSector { given, known } => write!(
                f,
                "unknown sector {given:?}; known sectors: {}",
                known.join(", ")
            ),
            Problem::RedNeedsNamedOrgs => f.write_str(
                "TLP RED requires an audience of named organizations: {\"orgs\": [...]}",
            ),
            Problem::EmptyList => f.write_str("list must not be empty"),
            Problem::TooManyEntries(max) => write!(f, "at most {max} entries"),
            Problem::TooManyIndicators(max) => write!(f, "at most {max} indicators per report"),
        }
    }
}

/// Every problem of a draft, each with its field (`title`,
/// `audience.sectors`, …), in the order the fields are listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(Vec<(String, Problem)>);

impl Problems {
    pub fn iter(&self) -> impl Iterator<Item = &(String, Problem)> {
        self.0.iter()
    }

    /// The first problem: where a caller can show only one.
    pub fn first(&self) -> Option<&(String, Problem)> {
        self.0.first()
    }

    /// `field message` as the API words it (`title must not be empty`).
    pub fn message(field: &str, problem: &Problem) -> String {
        match problem {
            Problem::ControlCharacter(_)
            | Problem::Empty
            | Problem::TooLongChars(_)
            | Problem::TooLongBytes(_) => format!("{field} {problem}"),
            _ => problem.to_string(),
        }
    }
}

/// A report that meets every rule: what the hub stores.
#[derive(Debug, Clone)]
pub struct Draft {
    title: String,
    description: String,
    incident_type: IncidentType,
    sector: Option<String>,
    tlp: Tlp,
    audience: Audience,
    anonymous: bool,
    indicators: Vec<Observable>,
}

impl Draft {
    /// Applies every rule; `sectors` are the hub's sector slugs.
    /// Title and description are trimmed / CRLF-normalised, duplicate
    /// indicators dropped.
    pub fn new(raw: RawDraft, sectors: &[&str]) -> Result<Draft, Problems> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, p: Problem| problems.push((field.to_string(), p));

        let title = raw.title.trim().to_string();
        if title.is_empty() {
            problem("title", Problem::Empty);
        } else if let Some(p) = text_problem(&title, false) {
            problem("title", Problem::ControlCharacter(p));
        } else if title.chars().count() > limits::TITLE_MAX_CHARS {
            problem("title", Problem::TooLongChars(limits::TITLE_MAX_CHARS));
        }

        let description = raw.description.replace("\r\n", "\n");
        if let Some(p) = text_problem(&description, true) {
            problem("description", Problem::ControlCharacter(p));
        } else if description.len() > limits::DESCRIPTION_MAX_BYTES {
            problem(
                "description",
                Problem::TooLongBytes(limits::DESCRIPTION_MAX_BYTES),
            );
        }

        let unknown = |given: &str| Problem::UnknownSector {
            given: given.to_string(),
            known: sectors.iter().map(|s| s.to_string()).collect(),
        };
        if let Some(s) = &raw.sector {
            if !sectors.contains(&s.as_str()) {
                problem("sector", unknown(s));
            }
        }

        match &raw.audience {
            Audience::Community => {}
            Audience::Sectors(set) => {
                if set.is_empty() {
                    problem("audience.sectors", Problem::EmptyList);
                } else if set.len() > limits::AUDIENCE_MAX {
                    problem(
                        "audience.sectors",
                        Problem::TooManyEntries(limits::AUDIENCE_MAX),
                    );
                }
                for (i, s) in set.iter().enumerate() {
                    if !sectors.contains(&s.as_str()) {
                        problem(&format!("audience.sectors[{i}]"), unknown(s));
                    }
                }
            }
            Audience::Orgs(ids) => {
                if ids.is_empty() {
                    problem("audience.orgs", Problem::EmptyList);
                } else if ids.len() > limits::AUDIENCE_MAX {
                    problem(
                        "audience.orgs",
                        Problem::TooManyEntries(limits::AUDIENCE_MAX),
                    );
                }
            }
        }
        if raw.tlp == Tlp::Red && !matches!(&raw.audience, Audience::Orgs(o) if !o.is_empty()) {
            problem("audience", Problem::RedNeedsNamedOrgs);
        }

        let mut seen = HashSet::new();
        let indicators: Vec<Observable> = raw
            .indicators
            .into_iter()
            .filter(|o| seen.insert(o.clone()))
            .collect();
        if indicators.len() > limits::INDICATORS_MAX {
            problem(
                "indicators",
                Problem::TooManyIndicators(limits::INDICATORS_MAX),
            );
        }

        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Ok(Draft {
            title,
            description,
            incident_type: raw.incident_type,
            sector: raw.sector,
            tlp: raw.tlp,
            audience: raw.audience,
            anonymous: raw.anonymous,
            indicators,
        })
    }

    pub fn title(&self) -> &str {
        &self.title
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    pub fn incident_type(&self) -> IncidentType {
        self.incident_type
    }
    pub fn sector(&self) -> Option<&str> {
        self.sector.as_deref()
    }
    pub fn tlp(&self) -> Tlp {
        self.tlp
    }
    pub fn audience(&self) -> &Audience {
        &self.audience
    }
    pub fn anonymous(&self) -> bool {
        self.anonymous
    }
    pub fn indicators(&self) -> &[Observable] {
        &self.indicators
    }

    /// The fields, for storing (what a `Draft` holds met the rules).
    pub fn into_raw(self) -> RawDraft {
        RawDraft {
            title: self.title,
            description: self.description,
            incident_type: self.incident_type,
            sector: self.sector,
            tlp: self.tlp,
            audience: self.audience,
            anonymous: self.anonymous,
            indicators: self.indicators,
        }
    }

    /// The audience the hub stores: the anonymous author's own organization
    /// is taken out of a named audience (it reads its reports as owner),
    /// so the stored list never points at it.
    pub fn without_org_in_audience(mut self, org: crate::policy::OrgId) -> Draft {
        if let Audience::Orgs(ids) = &mut self.audience {
            if self.anonymous {
                ids.remove(&org);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn sectors() -> Vec<&'static str> {
        vec!["finance", "telecom"]
    }

    fn raw() -> RawDraft {
        RawDraft::new(
            "t",
            IncidentType::Phishing,
            Tlp::Green,
            Audience::Community,
            vec![],
        )
    }

    #[test]
    fn a_good_draft_passes_trimmed_and_deduplicated() {
        let o = crate::observable::detect("example.com").unwrap();
        let d = Draft::new(
            RawDraft {
                title: "  phish  ".into(),
                description: "a\r\nb".into(),
                indicators: vec![o.clone(), o],
                ..raw()
            },
            &sectors(),
        )
        .unwrap();
        assert_eq!(d.title(), "phish");
        assert_eq!(d.description(), "a\nb");
        assert_eq!(d.indicators().len(), 1);
    }

    #[test]
    fn every_problem_is_returned_with_its_field() {
        let p = Draft::new(
            RawDraft {
                title: " ".into(),
                description: "x\u{0007}".into(),
                sector: Some("farming".into()),
                tlp: Tlp::Red,
                audience: Audience::Sectors(BTreeSet::from(["nowhere".to_string()])),
                ..raw()
            },
            &sectors(),
        )
        .unwrap_err();
        let fields: Vec<&str> = p.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "title",
                "description",
                "sector",
                "audience.sectors[0]",
                "audience"
            ]
        );
        assert_eq!(
            p.iter().map(|(_, p)| p.clone()).last(),
            Some(Problem::RedNeedsNamedOrgs)
        );
        let (f, first) = p.first().unwrap();
        assert_eq!(Problems::message(f, first), "title must not be empty");
    }

    #[test]
    fn limits_hold() {
        let long = "x".repeat(limits::TITLE_MAX_CHARS + 1);
        let p = Draft::new(
            RawDraft {
                title: long,
                ..raw()
            },
            &sectors(),
        )
        .unwrap_err();
        assert_eq!(
            p.first().map(|(_, p)| p.clone()),
            Some(Problem::TooLongChars(limits::TITLE_MAX_CHARS))
        );
        let empty = Draft::new(
            RawDraft {
                audience: Audience::Orgs(BTreeSet::new()),
                ..raw()
            },
            &sectors(),
        )
        .unwrap_err();
        assert_eq!(
            empty.first().map(|(f, _)| f.as_str()),
            Some("audience.orgs")
        );
    }
}
