//! Reading the lists other people publish: abuse.ch's URLhaus, ThreatFox and
//! Feodo Tracker dumps, Spamhaus DROP, PhishTank, OpenPhish, one value per
//! line, and any CSV given a column mapping — into canonical values, each
//! with the line it came from and what the list says of it.
//!
//! Pure and line-oriented: the caller hands a reader and gets the values;
//! memory is the values kept, never the whole text. A row that does not
//! parse is counted with its line number and skipped; it never fails the
//! read. Rows the list itself marks inactive (URLhaus `offline`, Feodo
//! `offline`, PhishTank `online=no`) are counted as `inactive` and left out,
//! so that a value that went offline upstream leaves with the next read.

use std::collections::HashSet;
use std::io::BufRead;

use kyojo_core::observable::{canonicalize, detect};
use kyojo_core::{Kind, Observable};

/// The formats kyojo reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// One value per line, its kind detected; `#` and `;` start comments.
    List,
    /// URLhaus CSV (`id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter`).
    Urlhaus,
    /// ThreatFox CSV export (quoted, `", "` separated; `ip:port`, domain,
    /// url, md5_hash, sha256_hash).
    Threatfox,
    /// Feodo Tracker `ipblocklist.csv` (`first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware`).
    Feodo,
    /// Spamhaus DROP: `drop_v4.json`/`drop_v6.json` (one JSON object a line)
    /// or the older `CIDR ; SBLnnn` text.
    SpamhausDrop,
    /// PhishTank `online-valid.csv`.
    Phishtank,
    /// OpenPhish `feed.txt`: one URL per line.
    Openphish,
    /// Any CSV, by a column mapping.
    Csv(CsvMapping),
}

impl Format {
    /// A preset by name (`list`, `urlhaus`, `threatfox`, `feodo`,
    /// `spamhaus-drop`, `phishtank`, `openphish`); `csv` needs a mapping.
    pub fn preset(name: &str) -> Option<Format> {
        Some(match name {
            "list" => Format::List,
            "urlhaus" => Format::Urlhaus,
            "threatfox" => Format::Threatfox,
            "feodo" => Format::Feodo,
            "spamhaus-drop" => Format::SpamhausDrop,
            "phishtank" => Format::Phishtank,
            "openphish" => Format::Openphish,
            _ => return None,
        })
    }

    pub const PRESETS: [&'static str; 7] = [
        "list",
        "urlhaus",
        "threatfox",
        "feodo",
        "spamhaus-drop",
        "phishtank",
        "openphish",
    ];
}

/// Which columns of a CSV hold what (0-based), and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvMapping {
    pub value: usize,
    /// A column naming the kind (`domain`, `url`, `ipv4`, … or MISP's and
    /// ThreatFox's names); without it the kind is detected from the value.
    pub kind: Option<usize>,
    /// A column with what the list says of the value (kept as the reason).
    pub threat: Option<usize>,
    pub delimiter: u8,
    /// Rows to skip at the start (a header).
    pub skip_rows: usize,
}

/// One value read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub observable: Observable,
    /// 1-based line of the text it came from.
    pub line: usize,
    /// What the list says of it (threat type, malware family, target), if anything.
    pub threat: String,
}

/// A row left out and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub line: usize,
    pub reason: String,
}

/// Rows skipped whose line and reason are kept (the rest are counted).
pub const SKIPPED_KEPT: usize = 100;

/// What one read gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intake {
    /// Each value once, in the order first read.
    pub entries: Vec<Entry>,
    /// The first [`SKIPPED_KEPT`] rows that did not parse.
    pub skipped: Vec<Skipped>,
    pub skipped_count: usize,
    /// Rows the list marks inactive (offline), left out.
    pub inactive: usize,
    /// Rows naming a value read before.
    pub duplicates: usize,
    pub lines: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("reading line {line}: {source}")]
    Io { line: usize, source: std::io::Error },
    #[error("more than {0} values")]
    TooMany(usize),
}

/// A line longer than this is skipped (no list has one).
pub const MAX_LINE: usize = 64 * 1024;

impl Intake {
    fn skip(&mut self, line: usize, reason: impl Into<String>) {
        self.skipped_count += 1;
        if self.skipped.len() < SKIPPED_KEPT {
            self.skipped.push(Skipped {
                line,
                reason: reason.into(),
            });
        }
    }
}

/// Reads `input` in `format`, keeping at most `max_values` values (more
/// is an error: a source larger than its limit stops cleanly).
pub fn read(
    format: &Format,
    input: impl BufRead,
    max_values: usize,
) -> Result<Intake, IntakeError> {
    let mut out = Intake::default();
    let mut seen: HashSet<Observable> = HashSet::new();
    let mut header: Option<Vec<String>> = None;
    for (i, line) in input.split(b'\n').enumerate() {
        let n = i + 1;
        let bytes = line.map_err(|source| IntakeError::Io { line: n, source })?;
        out.lines = n;
        if bytes.len() > MAX_LINE {
            out.skip(n, format!("longer than {MAX_LINE} bytes"));
            continue;
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            out.skip(n, "not UTF-8");
            continue;
        };
        let text = text.trim_end_matches('\r').trim_start_matches('\u{feff}');
        if text.trim().is_empty() {
            continue;
        }
        let row = match parse_row(format, text, n, &mut header) {
            Row::Blank => continue,
            Row::Inactive => {
                out.inactive += 1;
                continue;
            }
            Row::Bad(why) => {
                out.skip(n, why);
                continue;
            }
            Row::Values(values) => values,
        };
        for (obs, threat) in row {
            match obs {
                Ok(obs) => {
                    if !seen.insert(obs.clone()) {
                        out.duplicates += 1;
                        continue;
                    }
                    if out.entries.len() >= max_values {
                        return Err(IntakeError::TooMany(max_values));
                    }
                    out.entries.push(Entry {
                        observable: obs,
                        line: n,
                        threat,
                    });
                }
                Err(why) => out.skip(n, why),
            }
        }
    }
    Ok(out)
}

enum Row {
    Blank,
    Inactive,
    Bad(String),
    /// Each value of the row (a row may hold two: an address and a name).
    Values(Vec<(Result<Observable, String>, String)>),
}

fn one(obs: Result<Observable, String>, threat: String) -> Row {
    Row::Values(vec![(obs, threat)])
}

fn as_kind(kind: Kind, value: &str) -> Result<Observable, String> {
    // URL canonicalization is lenient (as Safe Browsing's is: anything
    // becomes some URL); a list's URL must at least be one.
    if kind == Kind::Url {
        let has_scheme = value.split_once("://").is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        });
        if !has_scheme || value.chars().any(char::is_whitespace) {
            return Err(format!("{value:?} is not a URL"));
        }
    }
    canonicalize(kind, value).map_err(|e| format!("{value:?} is not a valid {kind}: {e}"))
}

fn detected(value: &str) -> Result<Observable, String> {
    detect(value).map_err(|e| format!("{value:?}: {e}"))
}

fn ip(value: &str) -> Result<Observable, String> {
    canonicalize(Kind::Ipv4, value)
        .or_else(|_| canonicalize(Kind::Ipv6, value))
        .map_err(|_| format!("{value:?} is not an IP address"))
}

/// Splits a CSV line (RFC 4180 quoting; `""` inside quotes is a quote).
/// `None` when a quote is left open (a row across lines is skipped).
pub fn split_csv(line: &str, delimiter: u8) -> Option<Vec<String>> {
    let delimiter = char::from(delimiter);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == delimiter {
            fields.push(std::mem::take(&mut field));
            at_start = true;
            // ThreatFox writes `", "`: a space before the next quote.
            while chars.peek() == Some(&' ') {
                let mut ahead = chars.clone();
                ahead.next();
                if matches!(ahead.peek(), Some('"') | Some(' ')) {
                    chars.next();
                } else {
                    break;
                }
            }
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

fn column<'a>(
    fields: &'a [String],
    header: &Option<Vec<String>>,
    name: &str,
    at: usize,
) -> Option<&'a str> {
    let i = header
        .as_ref()
        .and_then(|h| h.iter().position(|c| c == name))
        .unwrap_or(at);
    fields.get(i).map(|s| s.trim())
}

/// A `#` comment that names the columns (abuse.ch writes the header so).
fn header_from_comment(text: &str, first: &str) -> Option<Vec<String>> {
    let rest = text.trim_start_matches('#').trim();
    if !rest.trim_start_matches('"').starts_with(first) {
        return None;
    }
    split_csv(rest, b',').map(|f| f.into_iter().map(|c| c.trim().to_string()).collect())
}

fn parse_row(format: &Format, text: &str, n: usize, header: &mut Option<Vec<String>>) -> Row {
    match format {
        Format::List | Format::Openphish => {
            let v = text.split(['#']).next().unwrap_or_default().trim();
            if v.is_empty() || v.starts_with(';') {
                return Row::Blank;
            }
            if *format == Format::Openphish {
                one(as_kind(Kind::Url, v), String::new())
            } else {
                one(detected(v), String::new())
            }
        }
        Format::Urlhaus => {
            if text.starts_with('#') {
                if let Some(h) = header_from_comment(text, "id,") {
                    *header = Some(h);
                }
                return Row::Blank;
            }
            let Some(f) = split_csv(text, b',') else {
                return Row::Bad("an unclosed quote".into());
            };
            let (Some(url), status) = (
                column(&f, header, "url", 2),
                column(&f, header, "url_status", 3),
            ) else {
                return Row::Bad(format!("{} columns, not 9", f.len()));
            };
            if status == Some("offline") {
                return Row::Inactive;
            }
            let threat = [
                column(&f, header, "threat", 5),
                column(&f, header, "tags", 6),
            ]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty() && *s != "None")
            .collect::<Vec<_>>()
            .join(" ");
            one(as_kind(Kind::Url, url), threat)
        }
        Format::Threatfox => {
            if text.starts_with('#') {
                if let Some(h) = header_from_comment(text, "first_seen_utc") {
                    *header = Some(h);
                }
                return Row::Blank;
            }
            let Some(f) = split_csv(text, b',') else {
                return Row::Bad("an unclosed quote".into());
            };
            let (Some(value), Some(kind)) = (
                column(&f, header, "ioc_value", 2),
                column(&f, header, "ioc_type", 3),
            ) else {
                return Row::Bad(format!("{} columns, too few", f.len()));
            };
            let threat = [
                column(&f, header, "threat_type", 4),
                column(&f, header, "malware_printable", 7),
            ]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty() && *s != "None")
            .collect::<Vec<_>>()
            .join(" ");
            let obs = match kind {
                "ip:port" => ip(value
                    .rsplit_once(':')
                    .map_or(value, |(h, _)| h)
                    .trim_start_matches('[')
                    .trim_end_matches(']')),
                "domain" => as_kind(Kind::Domain, value),
                "url" => as_kind(Kind::Url, value),
                "md5_hash" => as_kind(Kind::Md5, value),
                "sha1_hash" => as_kind(Kind::Sha1, value),
                "sha256_hash" => as_kind(Kind::Sha256, value),
                other => Err(format!("ioc_type {other:?} is not a kind kyojo keeps")),
            };
            one(obs, threat)
        }
        Format::Feodo => {
            if text.starts_with('#') {
                if let Some(h) = header_from_comment(text, "first_seen_utc") {
                    *header = Some(h);
                }
                return Row::Blank;
            }
            let Some(f) = split_csv(text, b',') else {
                return Row::Bad("an unclosed quote".into());
            };
            if f.first().is_some_and(|c| c == "first_seen_utc") {
                *header = Some(f);
                return Row::Blank;
            }
            let Some(addr) = column(&f, header, "dst_ip", 1) else {
                return Row::Bad(format!("{} columns, not 6", f.len()));
            };
            if column(&f, header, "c2_status", 3) == Some("offline") {
                return Row::Inactive;
            }
            let malware = column(&f, header, "malware", 5).unwrap_or_default();
            one(ip(addr), format!("botnet_cc {malware}").trim().to_string())
        }
        Format::SpamhausDrop => {
            let t = text.trim();
            if t.starts_with(';') || t.starts_with('#') {
                return Row::Blank;
            }
            if t.starts_with('{') {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(t) else {
                    return Row::Bad("not JSON".into());
                };
                if v["type"] == "metadata" {
                    return Row::Blank;
                }
                let Some(cidr) = v["cidr"].as_str() else {
                    return Row::Bad("no cidr".into());
                };
                let sbl = v["sblid"].as_str().unwrap_or_default();
                return one(ip(cidr), format!("spamhaus-drop {sbl}").trim().to_string());
            }
            let (cidr, sbl) = t.split_once(';').unwrap_or((t, ""));
            one(
                ip(cidr.trim()),
                format!("spamhaus-drop {}", sbl.trim()).trim().to_string(),
            )
        }
        Format::Phishtank => {
            let Some(f) = split_csv(text, b',') else {
                return Row::Bad("an unclosed quote".into());
            };
            if f.first().is_some_and(|c| c == "phish_id") {
                *header = Some(f);
                return Row::Blank;
            }
            let Some(url) = column(&f, header, "url", 1) else {
                return Row::Bad(format!("{} columns, not 8", f.len()));
            };
            if column(&f, header, "online", 6) == Some("no") {
                return Row::Inactive;
            }
            let target = column(&f, header, "target", 7).unwrap_or_default();
            one(
                as_kind(Kind::Url, url),
                format!("phishing {target}").trim().to_string(),
            )
        }
        Format::Csv(m) => {
            if n <= m.skip_rows {
                return Row::Blank;
            }
            let Some(f) = split_csv(text, m.delimiter) else {
                return Row::Bad("an unclosed quote".into());
            };
            let Some(value) = f.get(m.value).map(|s| s.trim()) else {
                return Row::Bad(format!(
                    "{} columns; the value is column {}",
                    f.len(),
                    m.value + 1
                ));
            };
            let threat = m
                .threat
                .and_then(|t| f.get(t))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            let obs = match m.kind.and_then(|k| f.get(k)) {
                None => detected(value),
                Some(kind) => match kind_named(kind.trim()) {
                    Some(KindName::Ip) => ip(value),
                    Some(KindName::Kind(k)) => as_kind(k, value),
                    None => Err(format!("kind {kind:?} is not one kyojo keeps")),
                },
            };
            one(obs, threat)
        }
    }
}

enum KindName {
    Kind(Kind),
    Ip,
}

/// A kind as lists name it: kyojo's, MISP's and ThreatFox's words.
fn kind_named(name: &str) -> Option<KindName> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "domain" | "hostname" | "fqdn" => KindName::Kind(Kind::Domain),
        "url" | "uri" | "link" => KindName::Kind(Kind::Url),
        "ipv4" | "ipv6" | "ip" | "ip-src" | "ip-dst" | "ip:port" | "cidr" => KindName::Ip,
        "md5" | "md5_hash" => KindName::Kind(Kind::Md5),
        "sha1" | "sha1_hash" => KindName::Kind(Kind::Sha1),
        "sha256" | "sha256_hash" => KindName::Kind(Kind::Sha256),
        "email" | "email-src" | "email-dst" => KindName::Kind(Kind::Email),
        _ => return None,
    })
}
