//! What a report is allowed to contain: incident types and field limits.

use serde::{Deserialize, Serialize};

/// Kinds of incident a report can describe. A closed list, so that the
/// dashboard can count them and other hubs can map them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentType {
    Phishing,
    Malware,
    Ransomware,
    Ddos,
    Scanning,
    Intrusion,
    DataBreach,
    Fraud,
    Spam,
    CommandAndControl,
    Exploitation,
    Other,
}

impl IncidentType {
    pub const ALL: [IncidentType; 12] = [
        IncidentType::Phishing,
        IncidentType::Malware,
        IncidentType::Ransomware,
        IncidentType::Ddos,
        IncidentType::Scanning,
        IncidentType::Intrusion,
        IncidentType::DataBreach,
        IncidentType::Fraud,
        IncidentType::Spam,
        IncidentType::CommandAndControl,
        IncidentType::Exploitation,
        IncidentType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentType::Phishing => "phishing",
            IncidentType::Malware => "malware",
            IncidentType::Ransomware => "ransomware",
            IncidentType::Ddos => "ddos",
            IncidentType::Scanning => "scanning",
            IncidentType::Intrusion => "intrusion",
            IncidentType::DataBreach => "data_breach",
            IncidentType::Fraud => "fraud",
            IncidentType::Spam => "spam",
            IncidentType::CommandAndControl => "command_and_control",
            IncidentType::Exploitation => "exploitation",
            IncidentType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentType> {
        IncidentType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Display names (English, Japanese).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            IncidentType::Phishing => ("Phishing", "フィッシング"),
            IncidentType::Malware => ("Malware", "マルウェア"),
            IncidentType::Ransomware => ("Ransomware", "ランサムウェア"),
            IncidentType::Ddos => ("DDoS", "DDoS攻撃"),
            IncidentType::Scanning => ("Scanning", "スキャン"),
            IncidentType::Intrusion => ("Intrusion", "不正侵入"),
            IncidentType::DataBreach => ("Data breach", "情報漏えい"),
            IncidentType::Fraud => ("Fraud", "詐欺"),
            IncidentType::Spam => ("Spam", "スパム"),
            IncidentType::CommandAndControl => ("Command and control", "C2通信"),
            IncidentType::Exploitation => ("Vulnerability exploitation", "脆弱性悪用"),
            IncidentType::Other => ("Other", "その他"),
        }
    }
}

/// Limits on report fields, in characters (titles) or bytes (text).
pub mod limits {
    pub const TITLE_MAX_CHARS: usize = 200;
    pub const DESCRIPTION_MAX_BYTES: usize = 64 * 1024;
    /// Pasted alert text to extract indicators from.
    pub const TEXT_MAX_BYTES: usize = 512 * 1024;
    pub const INDICATORS_MAX: usize = 5_000;
    pub const AUDIENCE_MAX: usize = 200;
    pub const SIGHTINGS_BATCH_MAX: usize = 10_000;
    pub const SIGHTING_COUNT_MAX: u64 = 1_000_000_000;
    pub const LOOKUP_MAX: usize = 10_000;
    pub const PAGE_MAX: usize = 1_000;
}

/// Is `c` a character free text may not carry: a control character (C0,
/// DEL, C1), a bidirectional override, embedding, isolate or mark (which
/// can make a title read differently from what it is, as U+202E does), or a
/// line/paragraph separator? Multi-line fields keep `\n` and `\t`.
pub fn is_forbidden_char(c: char, multiline: bool) -> bool {
    match c {
        '\n' | '\t' => !multiline,
        '\u{200E}' | '\u{200F}' | '\u{061C}' => true,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
        '\u{2028}' | '\u{2029}' => true,
        c => c.is_control(),
    }
}

/// Why `text` may not be stored, if it may not: names the first forbidden
/// character by its code point (never echoes it).
pub fn text_problem(text: &str, multiline: bool) -> Option<String> {
    let (i, c) = text
        .chars()
        .enumerate()
        .find(|(_, c)| is_forbidden_char(*c, multiline))?;
    Some(format!(
        "contains the control character U+{:04X} at character {}; {}",
        c as u32,
        i + 1,
        if multiline {
            "only line breaks and tabs are allowed"
        } else {
            "write it on one line without control characters"
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_refused() {
        for (text, multiline, ok) in [
            ("Phishing wave", false, true),
            ("フィッシング（銀行）", false, true),
            ("عربي mixed", false, true),
            ("two\nlines", true, true),
            ("tab\there", true, true),
            ("two\nlines", false, false),
            ("nul\0", true, false),
            ("esc\u{1b}[31m", true, false),
            ("cr\r", true, false),
            ("del\u{7f}", true, false),
            ("c1\u{85}", true, false),
            ("invoice\u{202E}fdp.exe", false, false),
            ("isolate\u{2066}x", true, false),
            ("mark\u{200F}", true, false),
            ("sep\u{2028}", true, false),
        ] {
            assert_eq!(text_problem(text, multiline).is_none(), ok, "{text:?}");
        }
        let msg = text_problem("a\u{202E}b", false).unwrap();
        assert!(msg.contains("U+202E") && !msg.contains('\u{202E}'), "{msg}");
    }

    #[test]
    fn names_parse_and_serialize_alike() {
        for t in IncidentType::ALL {
            assert_eq!(IncidentType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
            let (en, ja) = t.names();
            assert!(!en.is_empty() && !ja.is_empty());
        }
        assert_eq!(IncidentType::parse("Phishing"), None);
    }
}
