//! Sectors an organization belongs to and a report may be about.
//!
//! The default list is Japan's ten critical-infrastructure sectors of the
//! issue brief plus `general`; a hub may configure its own.

use serde::{Deserialize, Serialize};

/// One sector, named by a stable slug, with display names in both UI languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sector {
    pub slug: String,
    pub en: String,
    pub ja: String,
}

const DEFAULTS: [(&str, &str, &str); 11] = [
    ("telecom", "Information & communications", "情報通信"),
    ("finance", "Finance", "金融"),
    ("aviation", "Aviation", "航空"),
    ("railway", "Railway", "鉄道"),
    ("electricity", "Electricity", "電力"),
    ("gas", "Gas", "ガス"),
    (
        "government",
        "Government & administrative services",
        "政府・行政サービス",
    ),
    ("medical", "Medical", "医療"),
    ("water", "Water", "水道"),
    ("logistics", "Logistics", "物流"),
    ("general", "General", "一般"),
];

/// The built-in sector list.
pub fn default_sectors() -> Vec<Sector> {
    DEFAULTS
        .iter()
        .map(|(slug, en, ja)| Sector {
            slug: slug.to_string(),
            en: en.to_string(),
            ja: ja.to_string(),
        })
        .collect()
}

/// A slug is lower-case ASCII letters, digits and '-', 1 to 32 characters, so it
/// is safe in URLs, file names and zone comments.
pub fn is_valid_slug(slug: &str) -> bool {
    (1..=32).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_ten_sectors_plus_general_with_valid_unique_slugs() {
        let sectors = default_sectors();
        assert_eq!(sectors.len(), 11);
        let mut slugs: Vec<_> = sectors.iter().map(|s| s.slug.as_str()).collect();
        assert!(slugs.iter().all(|s| is_valid_slug(s)));
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), 11);
        assert!(sectors.iter().all(|s| !s.ja.is_empty() && !s.en.is_empty()));
    }

    #[test]
    fn slug_validation() {
        assert!(is_valid_slug("finance"));
        assert!(is_valid_slug("oil-and-gas2"));
        assert!(!is_valid_slug(""));
        assert!(!is_valid_slug("Finance"));
        assert!(!is_valid_slug("-x"));
        assert!(!is_valid_slug("a b"));
        assert!(!is_valid_slug(&"a".repeat(33)));
    }
}
