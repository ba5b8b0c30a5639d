//! STIX 2.1: kyojo's reports, indicators and sightings as STIX objects, and
//! the structural check of bundles other hubs and TAXII clients send.
//!
//! Pure: values in, [`serde_json::Value`] out; no I/O, so TAXII endpoints
//! and file exports build the same objects from the same facts.
//!
//! Ids are deterministic wherever the spec allows it, so exporting the same
//! report twice updates objects in a consumer's platform instead of
//! duplicating them:
//!
//! * SCOs use the spec's own rule (§2.9): UUIDv5 in the namespace
//!   `00abedb4-aa42-466c-9c01-fed23315a9b7` over the canonical JSON
//!   (RFC 8785) of the ID-contributing properties, so our ids equal those of
//!   the `stix2` library and every other conforming producer.
//! * Indicators, sightings and identities use UUIDv5 in
//!   kyojo's own namespace ([`KYOJO_NAMESPACE`]). The spec says SDOs
//!   *should* use UUIDv4; stix2-validator warns about this (`uuid-check`) and
//!   the warning is accepted on purpose.
//! * Reports reuse the report's own (v4) uid.
//!
//! TLP is expressed with the TLP 2.0 marking definitions OASIS publishes in
//! `cti-stix-common-objects` (extension
//! `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`); they are
//! not predefined by STIX 2.1, so a bundle must carry the marking objects it
//! references ([`tlp_marking`]). Incoming bundles may also use the four
//! TLP 1.0 ids the STIX 2.1 spec predefines, or TLP marking objects of
//! their own that say which level they are.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use kyojo_core::{Kind, Tlp};
use serde_json::{json, Map, Value};
use uuid::Uuid;

mod pattern;
pub use pattern::validate_pattern;

/// The STIX version every object kyojo writes (and reads) declares.
pub const SPEC_VERSION: &str = "2.1";

/// STIX 2.1 §2.9: the namespace of deterministic SCO ids. Producers must
/// not use it for anything else.
pub const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// kyojo's own UUIDv5 namespace for the SDO/SRO ids it derives. Fixed
/// forever: changing it would fork every id ever exported.
pub const KYOJO_NAMESPACE: Uuid = Uuid::from_u128(0x223ad99a_a2ca_4455_8b71_b6966a127be0);

/// The OASIS TLP 2.0 extension every TLP 2.0 marking definition declares.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The `created` of all five published TLP 2.0 marking objects; part of the
/// published object like the id, so it is never our own time.
const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The TLP 1.0 marking ids STIX 2.1 predefines (§7.2.1.4), read on input only.
const TLP1_MARKINGS: [(&str, Tlp); 4] = [
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
];

/// Most objects a received bundle may hold; a bound on the work one upload
/// can cause (the body size limit is the server's).
pub const MAX_OBJECTS: usize = 100_000;

/// The largest `count` a sighting may carry (STIX 2.1 §5.2).
const MAX_SIGHTING_COUNT: u64 = 999_999_999;

// ------------------------------------------------------------------ TLP

/// The id of the OASIS TLP 2.0 marking definition for `tlp`.
pub fn tlp_marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The `tlp_2_0` value of the extension.
fn tlp2_level(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "clear",
        Tlp::Green => "green",
        Tlp::Amber => "amber",
        Tlp::AmberStrict => "amber+strict",
        Tlp::Red => "red",
    }
}

/// The OASIS TLP 2.0 marking-definition object, exactly as published in
/// `cti-stix-common-objects` (no `created_by_ref`): consumers compare it.
pub fn tlp_marking(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": SPEC_VERSION,
        "id": tlp_marking_id(tlp),
        "created": TLP2_CREATED,
        "name": format!("TLP:{}", tlp.as_str()),
        "extensions": {
            TLP2_EXTENSION_ID: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp2_level(tlp),
            }
        }
    })
}

/// The TLP of a well-known marking id: the five TLP 2.0 ids and the four
/// TLP 1.0 ids of the STIX 2.1 spec (WHITE reads as CLEAR).
pub fn tlp_of_marking(id: &str) -> Option<Tlp> {
    Tlp::ALL
        .into_iter()
        .find(|&t| tlp_marking_id(t).eq_ignore_ascii_case(id))
        .or_else(|| {
            TLP1_MARKINGS
                .iter()
                .find(|(m, _)| m.eq_ignore_ascii_case(id))
                .map(|&(_, t)| t)
        })
}

/// The TLP a marking-definition object declares in its content: the TLP 2.0
/// extension, or TLP 1.0's `definition_type: "tlp"` (any case, as some
/// platforms write `"TLP"` and `"TLP:AMBER"`). Lets a bundle that brings its
/// own TLP marking ids still be classified.
fn declared_tlp(obj: &Map<String, Value>) -> Option<Tlp> {
    let ext = obj
        .get("extensions")
        .and_then(|e| e.get(TLP2_EXTENSION_ID))
        .and_then(|e| e.get("tlp_2_0"))
        .and_then(Value::as_str);
    if let Some(level) = ext {
        return level.parse().ok();
    }
    let is_tlp = obj
        .get("definition_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("tlp"));
    if !is_tlp {
        return None;
    }
    obj.get("definition")?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("tlp"))
        .and_then(|(_, v)| v.as_str())
        .and_then(|level| level.parse().ok())
}

// ------------------------------------------------------------------ SCOs

/// The STIX object type that carries a kind.
fn sco_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Url => "url",
        Kind::Domain => "domain-name",
        Kind::Ipv4 => "ipv4-addr",
        Kind::Ipv6 => "ipv6-addr",
        Kind::Email => "email-addr",
        Kind::Md5 | Kind::Sha1 | Kind::Sha256 => "file",
    }
}

/// The `hashing-algorithm-ov` key of a hash kind.
fn hash_name(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Md5 => Some("MD5"),
        Kind::Sha1 => Some("SHA-1"),
        Kind::Sha256 => Some("SHA-256"),
        _ => None,
    }
}

/// A JSON string as RFC 8785 writes it: only `"`, `\` and C0 controls are
/// escaped (short forms where JSON has them, else lower-case `\u00xx`);
/// everything else, non-ASCII included, is written as itself.
fn push_canonical_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Deterministic SCO id (STIX 2.1 §2.9): UUIDv5 over the canonical JSON of
/// `{"value": ...}`, or `{"hashes": {"<algo>": ...}}` for files. Equal to
/// what the `stix2` library computes for the same value.
pub fn sco_id(kind: Kind, value: &str) -> String {
    let mut canonical = String::with_capacity(value.len() + 32);
    match hash_name(kind) {
        Some(algo) => {
            canonical.push_str("{\"hashes\":{");
            push_canonical_string(&mut canonical, algo);
            canonical.push(':');
            push_canonical_string(&mut canonical, value);
            canonical.push_str("}}");
        }
        None => {
            canonical.push_str("{\"value\":");
            push_canonical_string(&mut canonical, value);
            canonical.push('}');
        }
    }
    let uuid = Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes());
    format!("{}--{uuid}", sco_type(kind))
}

/// The SCO for an observable, unmarked: `{"type", "spec_version", "id",
/// "value"}`, or `"hashes"` instead of `"value"` for files.
pub fn sco(kind: Kind, value: &str) -> Value {
    let mut obj = Map::new();
    obj.insert("type".into(), sco_type(kind).into());
    obj.insert("spec_version".into(), SPEC_VERSION.into());
    obj.insert("id".into(), sco_id(kind, value).into());
    match hash_name(kind) {
        Some(algo) => {
            obj.insert("hashes".into(), json!({ algo: value }));
        }
        None => {
            obj.insert("value".into(), value.into());
        }
    }
    Value::Object(obj)
}

/// Can STIX carry this canonical value as an SCO? Its properties have
/// stricter syntax than kyojo's canonical forms, and OASIS's validator
/// rejects the whole bundle over one bad SCO, so [`report_objects`] leaves
/// the SCO out (the indicator's pattern still carries the value) for:
///
/// * URLs that aren't RFC 3986 (Safe Browsing canonical form keeps
///   `\ { } | ^ " < >` and `[ ]` raw in paths);
/// * domains (and email domains) with `_` or a label starting or ending
///   with `-`, which RFC 1034 / IDNA 2008 hostnames can't have;
/// * email local parts outside `[A-Za-z0-9_.+-]` (the validator's rule);
/// * IPv6 written with an embedded dotted quad (`::ffff:192.0.2.1`), which
///   the OASIS schema's IPv6 pattern can't match.
pub fn sco_representable(kind: Kind, value: &str) -> bool {
    match kind {
        Kind::Url => is_rfc3986_uri(value),
        Kind::Domain => is_hostname(value),
        Kind::Email => value.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-'))
                && domain.contains('.')
                && is_hostname(domain)
        }),
        Kind::Ipv6 => !value.contains('.'),
        Kind::Ipv4 | Kind::Md5 | Kind::Sha1 | Kind::Sha256 => true,
    }
}

/// An ASCII hostname as IDNA 2008 accepts it: labels of letters, digits and
/// inner hyphens, no `--` in positions 3-4 except `xn--`.
fn is_hostname(d: &str) -> bool {
    (1..=253).contains(&d.len())
        && d.split('.').all(|label| {
            let b = label.as_bytes();
            (1..=63).contains(&b.len())
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
                && (b.len() < 4 || &b[2..4] != b"--" || b[..2].eq_ignore_ascii_case(b"xn"))
        })
}

/// Every byte of `s` is an RFC 3986 `pchar` (unreserved, sub-delims, `:`,
/// `@`, or a `%XX` escape) or one of `extra`.
fn uri_chars(s: &str, extra: &[u8]) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            let escape = b.get(i + 1..i + 3);
            if !escape.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
            continue;
        }
        let ok =
            c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c) || extra.contains(&c);
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// An absolute URI per RFC 3986: `scheme:[//authority]path[?query][#fragment]`,
/// brackets only around an IP-literal host.
fn is_rfc3986_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return false;
    }
    let (authority, tail) = match rest.strip_prefix("//") {
        Some(r) => r.split_at(r.find(['/', '?', '#']).unwrap_or(r.len())),
        None => ("", rest),
    };
    let host_port = match authority.rsplit_once('@') {
        Some((userinfo, host)) if uri_chars(userinfo, b"") && !userinfo.contains('@') => host,
        Some(_) => return false,
        None => authority,
    };
    let host_ok = match host_port.strip_prefix('[') {
        Some(literal) => literal.split_once(']').is_some_and(|(ip, port)| {
            !ip.is_empty()
                && ip
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                && (port.is_empty()
                    || port
                        .strip_prefix(':')
                        .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())))
        }),
        None => uri_chars(host_port, b"") && !host_port.contains('@'),
    };
    let (before_fragment, fragment) = tail.split_once('#').unwrap_or((tail, ""));
    host_ok && uri_chars(before_fragment, b"/?") && uri_chars(fragment, b"/?")
}

// ------------------------------------------------------------------ patterns

/// The object path a kind is compared on.
fn object_path(kind: Kind) -> &'static str {
    match kind {
        Kind::Url => "url:value",
        Kind::Domain => "domain-name:value",
        Kind::Ipv4 => "ipv4-addr:value",
        Kind::Ipv6 => "ipv6-addr:value",
        Kind::Email => "email-addr:value",
        Kind::Md5 => "file:hashes.MD5",
        Kind::Sha1 => "file:hashes.'SHA-1'",
        Kind::Sha256 => "file:hashes.'SHA-256'",
    }
}

/// The STIX pattern matching exactly this observable, e.g.
/// `[domain-name:value = 'evil.example']`. In a pattern string literal only
/// `\` and `'` are special; both are backslash-escaped.
pub fn pattern(kind: Kind, value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 32);
    out.push('[');
    out.push_str(object_path(kind));
    out.push_str(" = '");
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("']");
    out
}

/// One token of the STIX patterning grammar, as far as simple comparisons
/// need it.
#[derive(Debug, PartialEq)]
enum Tok<'a> {
    Open,
    Close,
    Colon,
    Dot,
    Eq,
    /// An identifier; may contain `-` (object types do).
    Word(&'a str),
    /// A string literal, unescaped.
    Quoted(String),
}

/// Tokens of `p`, or `None` at anything a simple comparison can't contain
/// (other operators, numbers, parentheses, a bad escape, an open quote).
fn tokenize(p: &str) -> Option<Vec<Tok<'_>>> {
    /// A simple comparison has at most 9 tokens; stop early on long input.
    const MAX_TOKENS: usize = 9;
    let mut out = Vec::new();
    let mut chars = p.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let tok = match c {
            c if c.is_whitespace() => continue,
            '[' => Tok::Open,
            ']' => Tok::Close,
            ':' => Tok::Colon,
            '.' => Tok::Dot,
            '=' => Tok::Eq,
            '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next()?.1 {
                        '\\' => match chars.next()?.1 {
                            c @ ('\\' | '\'') => s.push(c),
                            _ => return None,
                        },
                        '\'' => break,
                        c => s.push(c),
                    }
                }
                Tok::Quoted(s)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = start + 1;
                while let Some(&(i, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' || d == '-' {
                        end = i + 1;
                        chars.next();
                    } else {
                        break;
                    }
                }
                Tok::Word(&p[start..end])
            }
            _ => return None,
        };
        out.push(tok);
        if out.len() > MAX_TOKENS {
            return None;
        }
    }
    Some(out)
}

/// The kind a hash key names: `MD5`, `SHA-1`/`SHA1`, `SHA-256`/`SHA256`,
/// any case, since producers spell the vocabulary both ways.
fn hash_kind(name: &str) -> Option<Kind> {
    let norm: String = name
        .chars()
        .filter(|&c| c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    match norm.as_str() {
        "MD5" => Some(Kind::Md5),
        "SHA1" => Some(Kind::Sha1),
        "SHA256" => Some(Kind::Sha256),
        _ => None,
    }
}

/// The kind whose observable is `<type>:value`.
fn value_kind(object_type: &str) -> Option<Kind> {
    match object_type {
        "url" => Some(Kind::Url),
        "domain-name" => Some(Kind::Domain),
        "ipv4-addr" => Some(Kind::Ipv4),
        "ipv6-addr" => Some(Kind::Ipv6),
        "email-addr" => Some(Kind::Email),
        _ => None,
    }
}

/// Reads back a pattern that is exactly one equality comparison on one of
/// kyojo's kinds, e.g. `[ipv4-addr:value = '192.0.2.0/24']` or
/// `[file:hashes.'SHA-256' = '...']`. Returns the literal unescaped and
/// otherwise as given (the caller canonicalizes). Anything richer (AND, OR,
/// other operators, qualifiers, other object types or paths) is `None`:
/// kyojo can't match on it, and guessing would invent indicators.
pub fn parse_simple_pattern(pattern: &str) -> Option<(Kind, String)> {
    let toks = tokenize(pattern)?;
    match toks.as_slice() {
        [Tok::Open, Tok::Word(ty), Tok::Colon, Tok::Word("value"), Tok::Eq, Tok::Quoted(v), Tok::Close] => {
            value_kind(ty).map(|k| (k, v.clone()))
        }
        [Tok::Open, Tok::Word("file"), Tok::Colon, Tok::Word("hashes"), Tok::Dot, key, Tok::Eq, Tok::Quoted(v), Tok::Close] =>
        {
            let name = match key {
                // An unquoted path component can't contain '-' (grammar).
                Tok::Word(w) if !w.contains('-') => *w,
                Tok::Quoted(q) => q.as_str(),
                _ => return None,
            };
            hash_kind(name).map(|k| (k, v.clone()))
        }
        _ => None,
    }
}

// ------------------------------------------------------------------ time

/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: RFC 3339 has
/// four-digit years, so [`timestamp`] clamps to them.
const MIN_MS: i64 = -62_167_219_200_000;
const MAX_MS: i64 = 253_402_300_799_999;

/// A STIX timestamp: RFC 3339, UTC, `Z`, millisecond precision, e.g.
/// `2024-05-01T09:30:00.000Z`. Milliseconds beyond years 0000..=9999 are
/// clamped, as RFC 3339 can't write them.
pub fn timestamp(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms.clamp(MIN_MS, MAX_MS)) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

/// Parses a STIX timestamp: the shape of the spec's schema
/// (`YYYY-MM-DDTHH:MM:SS[.fff…]Z`, upper-case `T` and `Z`, UTC only), then a
/// real calendar date.
fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    let shape = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z'
        && digits.iter().all(|&i| b[i].is_ascii_digit());
    if !shape {
        return None;
    }
    let fraction = &b[19..b.len() - 1];
    let fraction_ok = fraction.is_empty()
        || (fraction.len() > 1
            && fraction[0] == b'.'
            && fraction[1..].iter().all(u8::is_ascii_digit));
    if !fraction_ok {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

// ------------------------------------------------------------------ SDOs

/// A UUIDv5 in kyojo's namespace, for the SDO/SRO ids kyojo derives.
fn kyojo_uuid(name: &str) -> Uuid {
    Uuid::new_v5(&KYOJO_NAMESPACE, name.as_bytes())
}

/// The identity id of a hub or organization, derived from its name so that
/// every export names the same author the same way.
pub fn identity_id(name: &str) -> String {
    format!(
        "identity--{}",
        kyojo_uuid(&format!("kyojo-identity:{name}"))
    )
}

/// An identity SDO for the hub or a member organization. `identity_class`
/// is from `identity-class-ov` (normally `"organization"`); `sectors` from
/// `industry-sector-ov` (see [`industry_sector`]), omitted when empty.
pub fn identity(name: &str, identity_class: &str, created_ms: i64, sectors: &[&str]) -> Value {
    let created = timestamp(created_ms);
    let mut obj = json!({
        "type": "identity",
        "spec_version": SPEC_VERSION,
        "id": identity_id(name),
        "created": created,
        "modified": created,
        "name": name,
        "identity_class": identity_class,
    });
    if !sectors.is_empty() {
        obj["sectors"] = json!(sectors);
    }
    obj
}

/// STIX's `industry-sector-ov` term for one of kyojo's default sector slugs
/// (`core::sector`), so consumers filtering on the vocabulary find them.
/// `None` for `general` and for slugs a hub configured itself.
pub fn industry_sector(slug: &str) -> Option<&'static str> {
    Some(match slug {
        "telecom" => "telecommunications",
        "finance" => "financial-services",
        "aviation" | "railway" | "logistics" => "transportation",
        "electricity" | "gas" => "energy",
        "government" => "government",
        "medical" => "healthcare",
        "water" => "water",
        _ => return None,
    })
}

/// The indicator id of one observable in one report: UUIDv5 over the report
/// uid, kind and value, so the same observable in two reports gives two
/// indicators, each carrying its own report's marking and author.
pub fn indicator_id(report_uid: [u8; 16], kind: Kind, value: &str) -> String {
    let uid = Uuid::from_bytes(report_uid).simple();
    format!(
        "indicator--{}",
        kyojo_uuid(&format!("{uid}|{}|{value}", kind.as_str()))
    )
}

/// Inputs for one kyojo report's objects.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    /// The report's uid, a UUIDv4; it becomes the report's STIX id.
    pub uid: [u8; 16],
    pub title: &'a str,
    pub description: &'a str,
    /// Incident type slug, e.g. `phishing`.
    pub incident_type: &'a str,
    pub tlp: Tlp,
    /// Milliseconds since the Unix epoch, UTC.
    pub created_ms: i64,
    /// Milliseconds since the Unix epoch, UTC; raised to `created_ms` if earlier.
    pub modified_ms: i64,
    /// Identity id of the author (or of the hub for anonymous reports).
    pub created_by: &'a str,
    /// Canonical observables; repeats are written once.
    pub indicators: &'a [(Kind, String)],
    /// Sector slug the report is about.
    pub sector: Option<&'a str>,
}

/// One report's objects: the report SDO first, then for each observable its
/// indicator and (when [`sco_representable`]) its SCO. Every object carries
/// the report's TLP marking; SDOs also its author and times.
///
/// No `based-on` relationship indicator → SCO: stix2-validator flags that
/// pairing as "not a suggested relationship" (STIX suggests `based-on` only
/// towards observed-data), and the pattern already names the observable.
///
/// The TLP marking-definition object and the author's identity are not
/// included: a bundle of many reports needs them once, so the caller adds
/// [`tlp_marking`] and [`identity`] (and [`bundle`] drops repeats).
///
/// SCOs are marked too, although their ids are shared between reports: a
/// consumer that filters objects by marking must never see a TLP:RED value
/// unmarked. Two reports under different TLPs thus give two SCOs with one
/// id that differ only in the marking.
pub fn report_objects(r: &ReportInput) -> Vec<Value> {
    let created = timestamp(r.created_ms);
    let modified = timestamp(r.modified_ms.max(r.created_ms));
    let markings = json!([tlp_marking_id(r.tlp)]);
    let incident_labels: Vec<&str> = [r.incident_type]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();

    let mut objects = Vec::with_capacity(1 + 2 * r.indicators.len());
    let mut refs = Vec::with_capacity(2 * r.indicators.len());
    let name = report_name(r);
    let mut seen = HashSet::new();
    for (kind, value) in r.indicators {
        if !seen.insert((*kind, value.as_str())) {
            continue;
        }
        let ind_id = indicator_id(r.uid, *kind, value);
        let mut indicator = json!({
            "type": "indicator",
            "spec_version": SPEC_VERSION,
            "id": ind_id,
            "created_by_ref": r.created_by,
            "created": created,
            "modified": modified,
            "name": value,
            "description": format!(
                "{} {} reported in \"{}\"",
                if r.incident_type.is_empty() { "unclassified" } else { r.incident_type },
                kind.as_str(),
                name,
            ),
            "indicator_types": ["malicious-activity"],
            "pattern": pattern(*kind, value),
            "pattern_type": "stix",
            "pattern_version": SPEC_VERSION,
            "valid_from": created,
            "object_marking_refs": markings,
        });
        if !incident_labels.is_empty() {
            indicator["labels"] = json!(incident_labels);
        }
        refs.push(ind_id);
        objects.push(indicator);
        if sco_representable(*kind, value) {
            let mut observable = sco(*kind, value);
            observable["object_marking_refs"] = markings.clone();
            refs.push(sco_id(*kind, value));
            objects.push(observable);
        }
    }
    if refs.is_empty() {
        // object_refs must not be empty; the author is what the report is "about".
        refs.push(r.created_by.to_owned());
    }

    let mut labels: Vec<String> = incident_labels.iter().map(|s| s.to_string()).collect();
    if let Some(sector) = r.sector.filter(|s| !s.is_empty()) {
        labels.push(format!("sector:{sector}"));
    }
    let mut report = json!({
        "type": "report",
        "spec_version": SPEC_VERSION,
        "id": format!("report--{}", Uuid::from_bytes(r.uid)),
        "created_by_ref": r.created_by,
        "created": created,
        "modified": modified,
        "name": name,
        "report_types": ["threat-report"],
        "published": created,
        "object_refs": refs,
        "object_marking_refs": markings,
    });
    if !r.description.is_empty() {
        report["description"] = r.description.into();
    }
    if !labels.is_empty() {
        report["labels"] = json!(labels);
    }
    objects.insert(0, report);
    objects
}

/// The report's name: its title, or a placeholder since `name` is required.
fn report_name(r: &ReportInput) -> String {
    if r.title.trim().is_empty() {
        format!("kyojo report {}", Uuid::from_bytes(r.uid))
    } else {
        r.title.to_owned()
    }
}

/// An aggregate sighting of an indicator: how often and between when the
/// hub's members saw it. No `where_sighted_refs`: kyojo never says who saw
/// what. The id is derived from the indicator and `first_seen`, and
/// `modified` is `last_seen`, so a grown count re-versions the same object.
/// `count` is capped at the spec's 999,999,999 and `last_seen` raised to
/// `first_seen` if earlier.
pub fn sighting(
    indicator_id: &str,
    count: u64,
    first_seen_ms: i64,
    last_seen_ms: i64,
    created_by: &str,
    tlp: Tlp,
) -> Value {
    let first = timestamp(first_seen_ms);
    let last = timestamp(last_seen_ms.max(first_seen_ms));
    json!({
        "type": "sighting",
        "spec_version": SPEC_VERSION,
        "id": format!(
            "sighting--{}",
            kyojo_uuid(&format!("kyojo-sighting:{indicator_id}|{first_seen_ms}"))
        ),
        "created_by_ref": created_by,
        "created": first,
        "modified": last,
        "first_seen": first,
        "last_seen": last,
        "count": count.min(MAX_SIGHTING_COUNT),
        "sighting_of_ref": indicator_id,
        "object_marking_refs": [tlp_marking_id(tlp)],
    })
}

/// A STIX 2.1 bundle (no `spec_version`: 2.1 bundles have none) with a
/// fresh UUIDv4 id. Later exact copies of an object are dropped, so callers
/// can concatenate several reports' objects and their shared markings and
/// identities.
pub fn bundle(objects: Vec<Value>) -> Value {
    let mut kept: Vec<Value> = Vec::with_capacity(objects.len());
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    for obj in objects {
        let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
        let same_id = by_id.entry(id.to_owned()).or_default();
        if same_id.iter().any(|&i| kept[i] == obj) {
            continue;
        }
        same_id.push(kept.len());
        kept.push(obj);
    }
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", Uuid::new_v4()),
        "objects": kept,
    })
}

/// The version of an object as TAXII 2.1 means it: `modified`, else
/// `created`, else `None` (the caller then uses the date it was added).
pub fn object_version(obj: &Value) -> Option<String> {
    obj.get("modified")
        .and_then(Value::as_str)
        .or_else(|| obj.get("created").and_then(Value::as_str))
        .map(str::to_owned)
}

// ------------------------------------------------------------------ parsing

/// What an incoming bundle contains, after structural validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedBundle {
    /// Every object exactly as received (to store and re-export untouched), in order.
    pub objects: Vec<Value>,
    /// Indicators with `pattern_type: "stix"` and a simple pattern: (object
    /// id, kind, value as given in the pattern; the caller canonicalizes).
    pub indicators: Vec<(String, Kind, String)>,
    /// The report objects, in order.
    pub reports: Vec<ParsedReport>,
    /// The most restrictive TLP on any object's `object_marking_refs`
    /// (`None` if no object has a TLP marking).
    pub strictest_tlp: Option<Tlp>,
}

/// A received report object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReport {
    pub id: String,
    pub name: String,
    /// Empty when absent.
    pub description: String,
    pub object_refs: Vec<String>,
    /// The most restrictive TLP among its own markings.
    pub tlp: Option<Tlp>,
}

/// Why a bundle was refused: the first problem, on which object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object_id}: {reason}")]
pub struct StixError {
    /// The object's id, `objects[i]` when it has no usable id, or
    /// `"bundle"` when the problem is not one object's.
    pub object_id: String,
    pub reason: String,
}

fn bundle_err(reason: impl Into<String>) -> StixError {
    StixError {
        object_id: "bundle".into(),
        reason: reason.into(),
    }
}

/// Parses and validates a STIX 2.1 bundle, or a TAXII 2.1 envelope
/// (`{"objects": [...]}` without a `type`). See [`parse_objects`].
pub fn parse_bundle(bytes: &[u8]) -> Result<ParsedBundle, StixError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| bundle_err(format!("not valid JSON: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(bundle_err(
            "expected a JSON object: a STIX bundle or a TAXII envelope",
        ));
    };
    match map.get("type") {
        // A TAXII envelope.
        None => {}
        Some(Value::String(t)) if t == "bundle" => {
            if map.get("spec_version").and_then(Value::as_str) == Some("2.0") {
                return Err(bundle_err(
                    "this is a STIX 2.0 bundle; kyojo reads STIX 2.1",
                ));
            }
            match map.get("id") {
                Some(Value::String(id)) => match check_identifier(id) {
                    Ok("bundle") => {}
                    Ok(_) => {
                        return Err(bundle_err(format!("id {} is not a bundle id", quote(id))))
                    }
                    Err(why) => return Err(bundle_err(format!("id {}: {why}", quote(id)))),
                },
                _ => return Err(bundle_err("a bundle needs a string \"id\"")),
            }
        }
        Some(other) => {
            return Err(bundle_err(format!(
                "type is {}, expected \"bundle\"",
                shorten(&other.to_string())
            )))
        }
    }
    match map.remove("objects") {
        Some(Value::Array(objects)) => parse_objects(objects),
        Some(_) => Err(bundle_err("\"objects\" must be an array")),
        None => Err(bundle_err("there is no \"objects\" array")),
    }
}

/// Validates a list of STIX 2.1 objects structurally and extracts what
/// kyojo uses. All or nothing: the first problem is returned with the
/// object's id and a reason.
///
/// Checked: 1..=[`MAX_OBJECTS`] JSON objects; `type` a valid type name;
/// `id` = `<type>--<uuid>`; `spec_version` `"2.1"` when present and present
/// on every SDO, SRO and meta object; `created`/`modified` STIX timestamps
/// with `modified >= created` (required on SDOs/SROs, language-content and
/// extension-definition, `created` on marking-definition); the required
/// properties of indicator, relationship, sighting and report; references
/// well-formed; no two objects with the same `id` and `modified`; no
/// marking object that redefines a published TLP id as another level.
/// Custom types (`x-...`) are checked only for what they carry.
pub fn parse_objects(objects: Vec<Value>) -> Result<ParsedBundle, StixError> {
    if objects.is_empty() {
        return Err(bundle_err("\"objects\" is empty"));
    }
    if objects.len() > MAX_OBJECTS {
        return Err(bundle_err(format!(
            "{} objects; at most {MAX_OBJECTS} are accepted in one bundle",
            objects.len()
        )));
    }
    let mut versions: HashSet<(&str, &str)> = HashSet::new();
    let mut bundle_markings: HashMap<&str, Tlp> = HashMap::new();
    for (i, value) in objects.iter().enumerate() {
        let obj = check_object(i, value)?;
        let id = obj.id;
        if let Some(modified) = obj.map.get("modified").and_then(Value::as_str) {
            if !versions.insert((id, modified)) {
                return Err(obj.err(format!(
                    "appears twice with the same modified {}: versions of one object need different modified timestamps",
                    quote(modified)
                )));
            }
        }
        if obj.ty == "marking-definition" {
            if let Some(declared) = declared_tlp(obj.map) {
                let entry = bundle_markings.entry(id).or_insert(declared);
                *entry = (*entry).max(declared);
            }
        }
    }

    let marking_tlp = |id: &str| tlp_of_marking(id).or_else(|| bundle_markings.get(id).copied());
    let strictest_of = |obj: &Value| -> Option<Tlp> {
        obj.get("object_marking_refs")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .filter_map(marking_tlp)
            .max()
    };
    let mut indicators = Vec::new();
    let mut reports = Vec::new();
    let mut strictest_tlp = None;
    for obj in &objects {
        strictest_tlp = strictest_tlp.max(strictest_of(obj));
        let str_of = |key: &str| obj.get(key).and_then(Value::as_str).unwrap_or_default();
        match str_of("type") {
            "indicator" if str_of("pattern_type") == "stix" => {
                if let Some((kind, value)) = parse_simple_pattern(str_of("pattern")) {
                    indicators.push((str_of("id").to_owned(), kind, value));
                }
            }
            "report" => reports.push(ParsedReport {
                id: str_of("id").to_owned(),
                name: str_of("name").to_owned(),
                description: str_of("description").to_owned(),
                object_refs: obj
                    .get("object_refs")
                    .and_then(Value::as_array)
                    .map(|refs| {
                        refs.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                tlp: strictest_of(obj),
            }),
            _ => {}
        }
    }
    Ok(ParsedBundle {
        objects,
        indicators,
        reports,
        strictest_tlp,
    })
}

/// STIX 2.1 domain object types (§4).
const SDO_TYPES: [&str; 19] = [
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

/// STIX 2.1 cyber-observable object types (§6): no `created`/`modified`,
/// optional `spec_version`.
const SCO_TYPES: [&str; 18] = [
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// What the spec requires of an object's common properties, by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    /// SDOs, SROs, language-content, extension-definition: versioned.
    Versioned,
    /// marking-definition: `created` but never `modified`.
    Marking,
    /// SCOs: no timestamps, `spec_version` optional.
    Observable,
    /// Custom types: only what they carry is checked.
    Custom,
}

fn category(ty: &str) -> Category {
    match ty {
        "relationship" | "sighting" | "language-content" | "extension-definition" => {
            Category::Versioned
        }
        "marking-definition" => Category::Marking,
        t if SDO_TYPES.contains(&t) => Category::Versioned,
        t if SCO_TYPES.contains(&t) => Category::Observable,
        _ => Category::Custom,
    }
}

/// Echo received text in an error without letting it flood the message.
fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// `s` as a quoted, shortened string for an error message.
fn quote(s: &str) -> String {
    format!("{:?}", shorten(s))
}

/// Is `t` a STIX type name: `[a-z0-9-]`, 3..=250 characters, starting with
/// a letter, not ending with `-` and without `--` (which splits an id)?
fn check_type(t: &str) -> Result<(), String> {
    if !(3..=250).contains(&t.len()) {
        return Err("a type name has 3 to 250 characters".into());
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("a type name has only a-z, 0-9 and '-'".into());
    }
    if !t.as_bytes()[0].is_ascii_lowercase() || t.ends_with('-') || t.contains("--") {
        return Err(
            "a type name starts with a letter, doesn't end with '-' and has no \"--\"".into(),
        );
    }
    Ok(())
}

/// Is `u` a UUID as STIX identifiers write it (hyphenated, RFC 4122 variant,
/// versions 1 to 5, the schema's rule)?
fn is_stix_uuid(u: &str) -> bool {
    let b = u.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
        && (b'1'..=b'5').contains(&b[14])
        && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

/// The type part of a well-formed identifier `<type>--<uuid>`.
fn check_identifier(id: &str) -> Result<&str, String> {
    let Some((ty, uuid)) = id.split_once("--") else {
        return Err("an identifier is <type>--<uuid>".into());
    };
    check_type(ty)?;
    if !is_stix_uuid(uuid) {
        return Err(format!("{} is not a UUID", quote(uuid)));
    }
    Ok(ty)
}

/// One object under validation, with where to point errors at.
struct Checked<'a> {
    map: &'a Map<String, Value>,
    ty: &'a str,
    id: &'a str,
}

impl<'a> Checked<'a> {
    fn err(&self, reason: impl Into<String>) -> StixError {
        StixError {
            object_id: shorten(self.id),
            reason: reason.into(),
        }
    }

    /// A required non-empty string property.
    fn string(&self, key: &str) -> Result<&'a str, StixError> {
        match self.map.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) => Err(self.err(format!("{key} is empty"))),
            Some(_) => Err(self.err(format!("{key} must be a string"))),
            None => Err(self.err(format!("a {} needs {key}", self.ty))),
        }
    }

    /// An optional timestamp property.
    fn timestamp(&self, key: &str) -> Result<Option<DateTime<FixedOffset>>, StixError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => parse_timestamp(s).map(Some).ok_or_else(|| {
                self.err(format!(
                    "{key} {} is not a STIX timestamp (RFC 3339 in UTC, like 2024-05-01T09:30:00.000Z)",
                    quote(s)
                ))
            }),
            Some(_) => Err(self.err(format!("{key} must be a timestamp string"))),
        }
    }

    /// A required timestamp property.
    fn required_timestamp(&self, key: &str) -> Result<DateTime<FixedOffset>, StixError> {
        self.timestamp(key)?
            .ok_or_else(|| self.err(format!("a {} needs {key}", self.ty)))
    }

    /// `later` must not be before `earlier` when both are present.
    fn ordered(&self, earlier: &str, later: &str, strict: bool) -> Result<(), StixError> {
        if let (Some(a), Some(b)) = (self.timestamp(earlier)?, self.timestamp(later)?) {
            if b < a || (strict && b == a) {
                let relation = if strict { "after" } else { "at or after" };
                return Err(self.err(format!("{later} must be {relation} {earlier}")));
            }
        }
        Ok(())
    }

    /// A reference property, of type `want` when given.
    fn reference(&self, key: &str, s: &Value, want: Option<&str>) -> Result<(), StixError> {
        let Value::String(s) = s else {
            return Err(self.err(format!("{key} must hold identifier strings")));
        };
        let ty =
            check_identifier(s).map_err(|why| self.err(format!("{key} {}: {why}", quote(s))))?;
        match want {
            Some(want) if ty != want => {
                Err(self.err(format!("{key} {} must refer to a {want}", quote(s))))
            }
            _ => Ok(()),
        }
    }

    /// An optional single reference.
    fn optional_ref(&self, key: &str, want: Option<&str>) -> Result<(), StixError> {
        match self.map.get(key) {
            None => Ok(()),
            Some(v) => self.reference(key, v, want),
        }
    }

    /// A required single reference.
    fn required_ref(&self, key: &str) -> Result<(), StixError> {
        match self.map.get(key) {
            None => Err(self.err(format!("a {} needs {key}", self.ty))),
            Some(v) => self.reference(key, v, None),
        }
    }

    /// A list of references; `required` also means non-empty.
    fn ref_list(&self, key: &str, want: Option<&str>, required: bool) -> Result<(), StixError> {
        match self.map.get(key) {
            None if required => Err(self.err(format!("a {} needs {key}", self.ty))),
            None => Ok(()),
            Some(Value::Array(refs)) => {
                if required && refs.is_empty() {
                    return Err(self.err(format!("{key} is empty")));
                }
                refs.iter().try_for_each(|r| self.reference(key, r, want))
            }
            Some(_) => Err(self.err(format!("{key} must be a list of identifiers"))),
        }
    }
}

/// Validates one object (see [`parse_objects`]).
fn check_object(i: usize, value: &Value) -> Result<Checked<'_>, StixError> {
    let at = |reason: String| StixError {
        object_id: format!("objects[{i}]"),
        reason,
    };
    let Value::Object(map) = value else {
        return Err(at("is not a JSON object".into()));
    };
    // Errors point at the id whenever there is a string one.
    let raw_id = map.get("id").and_then(Value::as_str);
    let early = |reason: String| match raw_id {
        Some(id) => StixError {
            object_id: shorten(id),
            reason,
        },
        None => at(reason),
    };
    let ty = match map.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(early("type must be a string".into())),
        None => return Err(early("has no type".into())),
    };
    check_type(ty).map_err(|why| early(format!("type {}: {why}", quote(ty))))?;
    if ty == "bundle" {
        return Err(early("a bundle can't contain a bundle".into()));
    }
    let Some(id) = raw_id else {
        return Err(at(format!("this {ty} has no string id")));
    };
    match check_identifier(id) {
        Ok(t) if t == ty => {}
        Ok(_) => return Err(early(format!("the id must start with its type \"{ty}--\""))),
        Err(why) => return Err(early(format!("id: {why}"))),
    }
    let obj = Checked { map, ty, id };

    let category = category(ty);
    match map.get("spec_version") {
        Some(Value::String(v)) if v == SPEC_VERSION => {}
        Some(v) => {
            return Err(obj.err(format!(
                "spec_version is {}; kyojo reads STIX 2.1 objects",
                shorten(&v.to_string())
            )))
        }
        None if matches!(category, Category::Versioned | Category::Marking) => {
            return Err(obj.err(format!("a {ty} needs spec_version \"2.1\"")))
        }
        None => {}
    }
    match category {
        Category::Versioned => {
            obj.required_timestamp("created")?;
            obj.required_timestamp("modified")?;
        }
        Category::Marking => {
            obj.required_timestamp("created")?;
        }
        Category::Observable | Category::Custom => {}
    }
    obj.ordered("created", "modified", false)?;
    obj.optional_ref("created_by_ref", Some("identity"))?;
    obj.ref_list("object_marking_refs", Some("marking-definition"), false)?;

    match ty {
        "indicator" => {
            let pattern = obj.string("pattern")?;
            if obj.string("pattern_type")? == "stix" {
                validate_pattern(pattern).map_err(|why| {
                    obj.err(format!(
                        "pattern {} is not a valid STIX pattern: {why}",
                        quote(pattern)
                    ))
                })?;
            }
            obj.required_timestamp("valid_from")?;
            obj.ordered("valid_from", "valid_until", true)?;
        }
        "relationship" => {
            obj.string("relationship_type")?;
            obj.required_ref("source_ref")?;
            obj.required_ref("target_ref")?;
        }
        "sighting" => {
            obj.required_ref("sighting_of_ref")?;
            match map.get("count").map(Value::as_u64) {
                None => {}
                Some(Some(c)) if c <= MAX_SIGHTING_COUNT => {}
                Some(_) => {
                    return Err(obj.err(format!(
                        "count must be an integer from 0 to {MAX_SIGHTING_COUNT}"
                    )))
                }
            }
            obj.ordered("first_seen", "last_seen", false)?;
        }
        "report" => {
            obj.string("name")?;
            obj.required_timestamp("published")?;
            obj.ref_list("object_refs", None, true)?;
        }
        "marking-definition" => {
            if let (Some(published), Some(declared)) = (tlp_of_marking(id), declared_tlp(map)) {
                if published != declared {
                    return Err(obj.err(format!(
                        "declares TLP:{declared}, but this id is the published TLP:{published} marking"
                    )));
                }
            }
        }
        _ => {}
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ------------------------------------------------------------ ids

    #[test]
    fn sco_ids_match_published_examples() {
        // STIX 2.1 Errata 01's domain-name example and the stix2 library's
        // own test vectors (stix2/test/v21/test_datastore_relational_db.py
        // and friends), all computed with the §2.9 rule.
        assert_eq!(
            sco_id(Kind::Domain, "example.com"),
            "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"
        );
        assert_eq!(
            sco_id(Kind::Domain, "control.example.com"),
            "domain-name--427e3664-0043-5865-b454-97df26649bde"
        );
        assert_eq!(
            sco_id(Kind::Ipv4, "198.51.100.3"),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        assert_eq!(
            sco_id(Kind::Ipv4, "198.51.100.8"),
            "ipv4-addr--6c83081b-13af-5e30-ba30-6f401772a083"
        );
    }

    #[test]
    fn sco_ids_match_the_stix2_library() {
        // Computed with stix2 3.0.2, e.g.
        // python3 -c "import stix2; print(stix2.URL(value='...').id)"
        let cases: [(Kind, &str, &str); 10] = [
            (
                Kind::Url,
                "https://example.com/research/index.html",
                "url--47c3cf9a-5027-5bf0-997a-017c7edc7c55",
            ),
            (
                Kind::Ipv6,
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                "ipv6-addr--85a85a8c-ee99-5722-946d-3c3a3270fc6f",
            ),
            (
                Kind::Ipv4,
                "198.51.100.0/24",
                "ipv4-addr--1ea47840-aa39-5aa8-b4a2-cd203eb6662a",
            ),
            (
                Kind::Email,
                "jdoe@example.com",
                "email-addr--6deb37bd-12b7-54ae-805f-5f7146f3d171",
            ),
            (
                Kind::Sha256,
                "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f",
                "file--02c74237-f6bc-5e2e-bcbe-e9bf3d69ac64",
            ),
            (
                Kind::Md5,
                "44d88612fea8a8f36de82e1278abb02f",
                "file--5a0c55a1-48a3-5003-9776-42946d1054cb",
            ),
            (
                Kind::Sha1,
                "3395856ce81f2b7382dee72602f798b642f14140",
                "file--9ab9e221-3b13-5bec-a726-e4b9685bd852",
            ),
            // Escaping as RFC 8785 does it: quotes, backslashes, controls.
            (
                Kind::Url,
                "http://example.com/a'b\\c\"d",
                "url--04d052dd-0dea-5314-9ca5-40aa659d07ce",
            ),
            (
                Kind::Url,
                "http://x/a\u{1}b\u{1f}\t\n\u{7f}",
                "url--9827b50d-b430-5649-96e6-607c875bec9c",
            ),
            // Non-ASCII and U+2028 are written raw, not escaped.
            (
                Kind::Url,
                "http://例え.jp/é\u{2028}",
                "url--1cb483f9-8821-535b-a523-565d894609aa",
            ),
        ];
        for (kind, value, id) in cases {
            assert_eq!(sco_id(kind, value), id, "{kind} {value:?}");
        }
    }

    #[test]
    fn sco_representability() {
        let yes: [(Kind, &str); 12] = [
            (Kind::Url, "http://evil.example/a/b?c=d&e='f'"),
            (
                Kind::Url,
                "https://user:pw@evil.example:8443/~x/%E3%81%82;p=1",
            ),
            (Kind::Url, "http://[2001:db8::1]:8080/x"),
            (Kind::Url, "http://192.0.2.1/a#frag"),
            (Kind::Domain, "evil.example"),
            (Kind::Domain, "xn--r8jz45g.jp"),
            (Kind::Domain, "a-b.1x.example"),
            (Kind::Email, "first.last+tag@evil.example"),
            (Kind::Ipv4, "192.0.2.0/24"),
            (Kind::Ipv6, "2001:db8::/32"),
            (Kind::Md5, "44d88612fea8a8f36de82e1278abb02f"),
            (Kind::Sha256, "ab"),
        ];
        for (kind, value) in yes {
            assert!(sco_representable(kind, value), "{kind} {value}");
        }
        let no: [(Kind, &str); 14] = [
            (Kind::Url, "http://evil.example/a\\b"),
            (Kind::Url, "http://evil.example/{x}"),
            (Kind::Url, "http://evil.example/a|b^c"),
            (Kind::Url, "http://evil.example/\"<>"),
            (Kind::Url, "http://evil.example/[x]"),
            (Kind::Url, "http://evil.example/%4"),
            (Kind::Url, "http://evil.example/a b"),
            (Kind::Url, "evil.example/a"),
            (Kind::Domain, "_dmarc.evil.example"),
            (Kind::Domain, "a-.evil.example"),
            (Kind::Domain, "ab--c.example"),
            (Kind::Email, "o'brien@evil.example"),
            (Kind::Email, "a@_x.example"),
            (Kind::Ipv6, "::ffff:192.0.2.1"),
        ];
        for (kind, value) in no {
            assert!(!sco_representable(kind, value), "{kind} {value}");
        }
    }

    #[test]
    fn sco_objects() {
        assert_eq!(
            sco(Kind::Domain, "example.com"),
            json!({
                "type": "domain-name",
                "spec_version": "2.1",
                "id": "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7",
                "value": "example.com",
            })
        );
        let md5 = "44d88612fea8a8f36de82e1278abb02f";
        assert_eq!(
            sco(Kind::Md5, md5),
            json!({
                "type": "file",
                "spec_version": "2.1",
                "id": "file--5a0c55a1-48a3-5003-9776-42946d1054cb",
                "hashes": { "MD5": md5 },
            })
        );
    }

    #[test]
    fn derived_ids_are_deterministic_and_distinct() {
        let uid = [7u8; 16];
        let a = indicator_id(uid, Kind::Domain, "evil.example");
        assert_eq!(a, indicator_id(uid, Kind::Domain, "evil.example"));
        assert_ne!(a, indicator_id([8u8; 16], Kind::Domain, "evil.example"));
        assert_ne!(a, indicator_id(uid, Kind::Url, "evil.example"));
        assert!(a.starts_with("indicator--") && check_identifier(&a) == Ok("indicator"));
        assert_eq!(identity_id("Hub"), identity_id("Hub"));
        assert_ne!(identity_id("Hub"), identity_id("hub"));
        assert_eq!(check_identifier(&identity_id("Hub")), Ok("identity"));
    }

    // ------------------------------------------------------------ TLP

    #[test]
    fn tlp_markings_are_the_published_objects() {
        // oasis-open/cti-stix-common-objects,
        // objects/marking-definition/marking-definition--bab4a63c-....json
        assert_eq!(
            tlp_marking(Tlp::Green),
            json!({
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
                "created": "2022-10-01T00:00:00.000Z",
                "name": "TLP:GREEN",
                "extensions": {
                    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                        "extension_type": "property-extension",
                        "tlp_2_0": "green"
                    }
                }
            })
        );
        let expected = [
            (
                Tlp::Clear,
                "94868c89-83c2-464b-929b-a1a8aa3c8487",
                "TLP:CLEAR",
                "clear",
            ),
            (
                Tlp::Green,
                "bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
                "TLP:GREEN",
                "green",
            ),
            (
                Tlp::Amber,
                "55d920b0-5e8b-4f79-9ee9-91f868d9b421",
                "TLP:AMBER",
                "amber",
            ),
            (
                Tlp::AmberStrict,
                "939a9414-2ddd-4d32-a0cd-375ea402b003",
                "TLP:AMBER+STRICT",
                "amber+strict",
            ),
            (
                Tlp::Red,
                "e828b379-4e03-4974-9ac4-e53a884c97c1",
                "TLP:RED",
                "red",
            ),
        ];
        for (tlp, uuid, name, level) in expected {
            let id = format!("marking-definition--{uuid}");
            assert_eq!(tlp_marking_id(tlp), id);
            let m = tlp_marking(tlp);
            assert_eq!(m["id"], json!(id));
            assert_eq!(m["name"], json!(name));
            assert_eq!(m["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"], json!(level));
            assert_eq!(m.as_object().map(Map::len), Some(6));
            assert_eq!(tlp_of_marking(&id), Some(tlp));
            assert_eq!(declared_tlp(m.as_object().unwrap()), Some(tlp));
        }
    }

    #[test]
    fn tlp1_marking_ids_are_read() {
        let tlp1 = [
            ("613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::Clear),
            ("34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::Green),
            ("f88d31f6-486f-44da-b317-01333bde0b82", Tlp::Amber),
            ("5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::Red),
        ];
        for (uuid, tlp) in tlp1 {
            assert_eq!(
                tlp_of_marking(&format!("marking-definition--{uuid}")),
                Some(tlp)
            );
        }
        assert_eq!(
            tlp_of_marking("marking-definition--00000000-0000-4000-8000-000000000000"),
            None
        );
        assert_eq!(tlp_of_marking(""), None);
    }

    // ------------------------------------------------------------ patterns

    #[test]
    fn patterns_are_written_as_the_spec_shows() {
        assert_eq!(
            pattern(Kind::Domain, "evil.example"),
            "[domain-name:value = 'evil.example']"
        );
        assert_eq!(
            pattern(Kind::Ipv4, "192.0.2.0/24"),
            "[ipv4-addr:value = '192.0.2.0/24']"
        );
        assert_eq!(
            pattern(Kind::Sha256, "ab"),
            "[file:hashes.'SHA-256' = 'ab']"
        );
        assert_eq!(pattern(Kind::Sha1, "ab"), "[file:hashes.'SHA-1' = 'ab']");
        assert_eq!(pattern(Kind::Md5, "ab"), "[file:hashes.MD5 = 'ab']");
        assert_eq!(
            pattern(Kind::Url, r"http://x/it's\here"),
            r"[url:value = 'http://x/it\'s\\here']"
        );
    }

    #[test]
    fn patterns_round_trip_for_every_kind() {
        let values = [
            "evil.example",
            "http://evil.example/a?b='c'&d=\\e",
            "'",
            "\\",
            "\\'",
            "''\\\\''",
            "] OR [url:value = 'x'",
            "2001:db8::/32",
            "例え.jp",
            "with space and\nnewline",
        ];
        for kind in Kind::ALL {
            for v in values {
                let p = pattern(kind, v);
                assert_eq!(parse_simple_pattern(&p), Some((kind, v.to_owned())), "{p}");
            }
        }
    }

    #[test]
    fn simple_pattern_spellings() {
        let ok: [(&str, Kind, &str); 12] = [
            (
                "  [domain-name:value='a.example']  ",
                Kind::Domain,
                "a.example",
            ),
            ("[ url:value = 'http://a/' ]", Kind::Url, "http://a/"),
            ("[ipv4-addr:value = '10.0.0.0/8']", Kind::Ipv4, "10.0.0.0/8"),
            (
                "[ipv6-addr:value = '2001:db8::/32']",
                Kind::Ipv6,
                "2001:db8::/32",
            ),
            (
                "[email-addr:value = 'a@b.example']",
                Kind::Email,
                "a@b.example",
            ),
            ("[file:hashes.MD5 = 'aa']", Kind::Md5, "aa"),
            ("[file:hashes.'MD5' = 'aa']", Kind::Md5, "aa"),
            ("[file:hashes.'SHA-1' = 'aa']", Kind::Sha1, "aa"),
            ("[file:hashes.SHA1 = 'aa']", Kind::Sha1, "aa"),
            ("[file:hashes.'SHA-256' = 'aa']", Kind::Sha256, "aa"),
            ("[file:hashes.SHA256 = 'aa']", Kind::Sha256, "aa"),
            ("[file : hashes . 'sha-256' = 'aa']", Kind::Sha256, "aa"),
        ];
        for (p, kind, value) in ok {
            assert_eq!(
                parse_simple_pattern(p),
                Some((kind, value.to_owned())),
                "{p}"
            );
        }
    }

    #[test]
    fn complex_patterns_are_refused() {
        for p in [
            "",
            "[]",
            "domain-name:value = 'a'",
            "[domain-name:value = 'a'",
            "[domain-name:value = 'a']]",
            "([domain-name:value = 'a'])",
            "[domain-name:value = 'a'] OR [domain-name:value = 'b']",
            "[domain-name:value = 'a' OR domain-name:value = 'b']",
            "[domain-name:value = 'a' AND url:value = 'b']",
            "[domain-name:value != 'a']",
            "[domain-name:value LIKE 'a%']",
            "[domain-name:value MATCHES '^a']",
            "[domain-name:value IN ('a', 'b')]",
            "[domain-name:value NOT = 'a']",
            "[domain-name:value == 'a']",
            "[domain-name:value = 'a'] WITHIN 300 SECONDS",
            "[domain-name:value = 'a'] REPEATS 2 TIMES",
            "[domain-name:value = 'a'] START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'",
            "[domain-name:resolves_to_refs[*].value = '10.0.0.1']",
            "[domain-name:name = 'a']",
            "[Domain-Name:value = 'a']",
            "[x-custom:value = 'a']",
            "[mac-addr:value = 'a']",
            "[file:name = 'a.exe']",
            "[file:hashes.'SHA-512' = 'aa']",
            "[file:hashes.SHA-256 = 'aa']",
            "[file:hashes.MD5.x = 'aa']",
            "[ipv4-addr:value = 1]",
            "[ipv4-addr:value = \"a\"]",
            "[url:value = 'a\\nb']",
            "[url:value = 'unterminated]",
            "[url:value = 'a' 'b']",
            "[url:value = h'00']",
        ] {
            assert_eq!(parse_simple_pattern(p), None, "{p}");
        }
    }

    // ------------------------------------------------------------ time

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_714_555_800_123), "2024-05-01T09:30:00.123Z");
        assert_eq!(timestamp(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(timestamp(i64::MIN), "0000-01-01T00:00:00.000Z");
        for ms in [0, 1_714_555_800_123, i64::MAX, i64::MIN, -1] {
            assert!(parse_timestamp(&timestamp(ms)).is_some(), "{ms}");
        }
        for bad in [
            "2024-05-01T09:30:00",
            "2024-05-01T09:30:00+00:00",
            "2024-05-01t09:30:00Z",
            "2024-05-01 09:30:00Z",
            "2024-02-30T09:30:00Z",
            "2024-05-01T09:30:00.Z",
            "2024-05-01T09:30:00,1Z",
            "24-05-01T09:30:00Z",
            "",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
        assert!(parse_timestamp("2024-05-01T09:30:00Z").is_some());
        assert!(parse_timestamp("2024-05-01T09:30:00.123456789Z").is_some());
    }

    // ------------------------------------------------------------ objects

    const AUTHOR: &str = "identity--0b7c2f5a-1f7d-5d0e-9d5c-0a4c8b1e2d3f";

    fn uid(seed: u8) -> [u8; 16] {
        uuid::Builder::from_random_bytes([seed; 16])
            .into_uuid()
            .into_bytes()
    }

    fn all_kinds() -> Vec<(Kind, String)> {
        vec![
            (Kind::Url, "http://evil.example/it's\\x".to_owned()),
            (Kind::Domain, "evil.example".to_owned()),
            (Kind::Ipv4, "192.0.2.0/24".to_owned()),
            (Kind::Ipv6, "2001:db8::1".to_owned()),
            (Kind::Email, "bad@evil.example".to_owned()),
            (Kind::Md5, "44d88612fea8a8f36de82e1278abb02f".to_owned()),
            (
                Kind::Sha1,
                "3395856ce81f2b7382dee72602f798b642f14140".to_owned(),
            ),
            (
                Kind::Sha256,
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f".to_owned(),
            ),
        ]
    }

    fn input<'a>(indicators: &'a [(Kind, String)]) -> ReportInput<'a> {
        ReportInput {
            uid: uid(1),
            title: "Phishing wave",
            description: "Mails with a fake invoice.",
            incident_type: "phishing",
            tlp: Tlp::Amber,
            created_ms: 1_714_555_800_000,
            modified_ms: 1_714_555_900_000,
            created_by: AUTHOR,
            indicators,
            sector: Some("finance"),
        }
    }

    #[test]
    fn report_objects_shape() {
        let kinds = all_kinds();
        let mut with_repeat = kinds.clone();
        with_repeat.push(kinds[1].clone());
        let objects = report_objects(&input(&with_repeat));
        // Every value once, each with an SCO but the URL with a backslash.
        assert!(!sco_representable(kinds[0].0, &kinds[0].1));
        assert_eq!(objects.len(), 1 + 2 * kinds.len() - 1);
        let report = &objects[0];
        assert_eq!(
            report["id"],
            json!(format!("report--{}", Uuid::from_bytes(uid(1))))
        );
        assert_eq!(report["published"], json!("2024-05-01T09:30:00.000Z"));
        assert_eq!(report["modified"], json!("2024-05-01T09:31:40.000Z"));
        assert_eq!(report["labels"], json!(["phishing", "sector:finance"]));
        assert_eq!(report["report_types"], json!(["threat-report"]));
        let refs: Vec<&str> = report["object_refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let ids: Vec<&str> = objects[1..]
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect();
        assert_eq!(refs, ids);
        let amber = json!([tlp_marking_id(Tlp::Amber)]);
        for o in &objects {
            assert_eq!(o["object_marking_refs"], amber, "{o}");
            let is_sco = SCO_TYPES.contains(&o["type"].as_str().unwrap());
            assert_eq!(o.get("created_by_ref").is_none(), is_sco, "{o}");
            if !is_sco {
                assert_eq!(o["created_by_ref"], json!(AUTHOR), "{o}");
            }
        }
        let ind = &objects[1];
        assert_eq!(ind["type"], json!("indicator"));
        assert_eq!(ind["name"], json!(kinds[0].1));
        assert_eq!(ind["pattern"], json!(pattern(Kind::Url, &kinds[0].1)));
        assert_eq!(ind["valid_from"], report["created"]);
        assert_eq!(ind["labels"], json!(["phishing"]));
        assert_eq!(ind["indicator_types"], json!(["malicious-activity"]));
        assert_eq!(objects[2]["type"], json!("indicator"));
        assert_eq!(objects[3], {
            let mut d = sco(Kind::Domain, "evil.example");
            d["object_marking_refs"] = amber.clone();
            d
        });

        let parsed = parse_objects(objects.clone()).unwrap();
        let got: Vec<(Kind, String)> = parsed
            .indicators
            .iter()
            .map(|(_, k, v)| (*k, v.clone()))
            .collect();
        assert_eq!(got, kinds);
        assert_eq!(parsed.strictest_tlp, Some(Tlp::Amber));
        assert_eq!(parsed.reports.len(), 1);
        assert_eq!(parsed.reports[0].name, "Phishing wave");
        assert_eq!(parsed.reports[0].description, "Mails with a fake invoice.");
        assert_eq!(parsed.reports[0].tlp, Some(Tlp::Amber));
        assert_eq!(parsed.objects, objects);
    }

    #[test]
    fn report_without_indicators_refers_to_its_author() {
        let mut r = input(&[]);
        r.title = " ";
        r.description = "";
        r.incident_type = "";
        r.sector = None;
        r.modified_ms = 0;
        let objects = report_objects(&r);
        assert_eq!(objects.len(), 1);
        let report = &objects[0];
        assert_eq!(report["object_refs"], json!([AUTHOR]));
        assert_eq!(report["modified"], report["created"]);
        assert!(report.get("labels").is_none());
        assert!(report.get("description").is_none());
        assert!(report["name"]
            .as_str()
            .unwrap()
            .starts_with("kyojo report "));
        parse_objects(objects).unwrap();
    }

    #[test]
    fn sightings_are_aggregate_and_deterministic() {
        let ind = indicator_id(uid(2), Kind::Domain, "evil.example");
        let hub = identity_id("kyojo hub");
        let s = sighting(&ind, u64::MAX, 2_000, 1_000, &hub, Tlp::Green);
        assert_eq!(s["count"], json!(999_999_999));
        assert_eq!(s["first_seen"], s["last_seen"]);
        assert!(s.get("where_sighted_refs").is_none());
        assert_eq!(s["sighting_of_ref"], json!(ind));
        let later = sighting(&ind, 5, 2_000, 9_000, &hub, Tlp::Green);
        assert_eq!(s["id"], later["id"]);
        assert_ne!(
            s["id"],
            sighting(&ind, 5, 3_000, 9_000, &hub, Tlp::Green)["id"]
        );
        let parsed = parse_objects(vec![later]).unwrap();
        assert_eq!(parsed.strictest_tlp, Some(Tlp::Green));
    }

    #[test]
    fn identities() {
        let id = identity("Bank A", "organization", 0, &["financial-services"]);
        assert_eq!(id["id"], json!(identity_id("Bank A")));
        assert_eq!(id["sectors"], json!(["financial-services"]));
        assert!(identity("Hub", "organization", 0, &[])
            .get("sectors")
            .is_none());
        assert_eq!(industry_sector("finance"), Some("financial-services"));
        assert_eq!(industry_sector("general"), None);
        for slug in kyojo_core::sector::default_sectors() {
            if let Some(term) = industry_sector(&slug.slug) {
                assert!(!term.is_empty());
            }
        }
    }

    #[test]
    fn bundles_drop_exact_repeats_only() {
        let a = tlp_marking(Tlp::Red);
        let mut b = sco(Kind::Domain, "evil.example");
        let mut c = b.clone();
        b["object_marking_refs"] = json!([tlp_marking_id(Tlp::Red)]);
        c["object_marking_refs"] = json!([tlp_marking_id(Tlp::Green)]);
        let out = bundle(vec![a.clone(), b.clone(), a.clone(), c.clone(), b.clone()]);
        assert_eq!(out["type"], json!("bundle"));
        assert!(out.get("spec_version").is_none());
        assert_eq!(out["objects"], json!([a, b, c]));
        let bytes = serde_json::to_vec(&out).unwrap();
        let parsed = parse_bundle(&bytes).unwrap();
        assert_eq!(parsed.strictest_tlp, Some(Tlp::Red));
        assert_ne!(bundle(vec![a.clone()])["id"], bundle(vec![a])["id"]);
    }

    #[test]
    fn object_versions() {
        assert_eq!(
            object_version(&json!({"created": "a", "modified": "b"})),
            Some("b".into())
        );
        assert_eq!(object_version(&json!({"created": "a"})), Some("a".into()));
        assert_eq!(object_version(&json!({"type": "url"})), None);
    }

    // ------------------------------------------------------------ parsing

    fn indicator_obj() -> Value {
        report_objects(&input(&all_kinds()[1..2]))[1].clone()
    }

    fn expect_err(objects: Vec<Value>, object_id: &str, reason_part: &str) {
        match parse_objects(objects) {
            Err(e) => {
                assert_eq!(e.object_id, object_id, "{e}");
                assert!(e.reason.contains(reason_part), "{e}");
                assert_eq!(e.to_string(), format!("{}: {}", e.object_id, e.reason));
            }
            Ok(p) => panic!("accepted: {:?}", p.objects),
        }
    }

    fn with(mut obj: Value, key: &str, value: Value) -> Value {
        obj[key] = value;
        obj
    }

    fn without(mut obj: Value, key: &str) -> Value {
        if let Some(map) = obj.as_object_mut() {
            map.remove(key);
        }
        obj
    }

    #[test]
    fn bundle_level_errors() {
        let ok = serde_json::to_vec(&bundle(vec![indicator_obj()])).unwrap();
        parse_bundle(&ok).unwrap();
        let envelope =
            serde_json::to_vec(&json!({"objects": [indicator_obj()], "more": false})).unwrap();
        assert_eq!(parse_bundle(&envelope).unwrap().indicators.len(), 1);

        let cases: [(&[u8], &str); 9] = [
            (b"{", "not valid JSON"),
            (b"[]", "expected a JSON object"),
            (br#"{"type": "indicator", "objects": []}"#, "expected \"bundle\""),
            (br#"{"type": "bundle", "objects": [{}]}"#, "needs a string \"id\""),
            (
                br#"{"type": "bundle", "id": "report--6b7d3c2a-1f7d-4d0e-9d5c-0a4c8b1e2d3f", "objects": [{}]}"#,
                "not a bundle id",
            ),
            (
                br#"{"type": "bundle", "id": "bundle--xyz", "objects": [{}]}"#,
                "not a UUID",
            ),
            (
                br#"{"type": "bundle", "id": "bundle--6b7d3c2a-1f7d-4d0e-9d5c-0a4c8b1e2d3f", "spec_version": "2.0", "objects": [{}]}"#,
                "STIX 2.0",
            ),
            (br#"{"objects": {}}"#, "must be an array"),
            (br#"{"more": true}"#, "no \"objects\""),
        ];
        for (bytes, part) in cases {
            let e = parse_bundle(bytes).unwrap_err();
            assert_eq!(e.object_id, "bundle", "{e}");
            assert!(e.reason.contains(part), "{e}");
        }
        expect_err(vec![], "bundle", "empty");
        let too_many = vec![json!(null); MAX_OBJECTS + 1];
        expect_err(too_many, "bundle", "at most");
    }

    #[test]
    fn object_errors_name_the_object() {
        let ind = indicator_obj();
        let id = ind["id"].as_str().unwrap().to_owned();
        let id = id.as_str();
        expect_err(vec![json!(1)], "objects[0]", "not a JSON object");
        expect_err(vec![ind.clone(), json!({})], "objects[1]", "has no type");
        expect_err(vec![without(ind.clone(), "type")], id, "has no type");
        expect_err(
            vec![with(ind.clone(), "type", json!(7))],
            id,
            "must be a string",
        );
        for bad_type in ["ab", "Indicator", "x_y", "1abc", "abc-", "a--b"] {
            expect_err(
                vec![with(ind.clone(), "type", json!(bad_type))],
                id,
                "type name",
            );
        }
        expect_err(
            vec![without(ind.clone(), "id")],
            "objects[0]",
            "no string id",
        );
        expect_err(
            vec![with(ind.clone(), "type", json!("report"))],
            id,
            "must start with its type",
        );
        expect_err(
            vec![with(ind.clone(), "id", json!("indicator--1234"))],
            "indicator--1234",
            "not a UUID",
        );
        expect_err(
            vec![with(ind.clone(), "type", json!("bundle"))],
            id,
            "can't contain a bundle",
        );
        expect_err(
            vec![with(ind.clone(), "spec_version", json!("2.0"))],
            id,
            "2.1",
        );
        expect_err(
            vec![without(ind.clone(), "spec_version")],
            id,
            "spec_version",
        );
        expect_err(vec![without(ind.clone(), "created")], id, "needs created");
        expect_err(vec![without(ind.clone(), "modified")], id, "needs modified");
        expect_err(
            vec![with(ind.clone(), "created", json!("yesterday"))],
            id,
            "not a STIX timestamp",
        );
        expect_err(
            vec![with(ind.clone(), "modified", json!("2000-01-01T00:00:00Z"))],
            id,
            "modified must be at or after created",
        );
        expect_err(vec![without(ind.clone(), "pattern")], id, "needs pattern");
        expect_err(
            vec![with(ind.clone(), "pattern", json!(""))],
            id,
            "pattern is empty",
        );
        expect_err(
            vec![without(ind.clone(), "pattern_type")],
            id,
            "pattern_type",
        );
        expect_err(vec![without(ind.clone(), "valid_from")], id, "valid_from");
        expect_err(
            vec![with(ind.clone(), "valid_until", ind["valid_from"].clone())],
            id,
            "valid_until must be after valid_from",
        );
        expect_err(
            vec![with(
                ind.clone(),
                "created_by_ref",
                json!(tlp_marking_id(Tlp::Red)),
            )],
            id,
            "must refer to a identity",
        );
        expect_err(
            vec![with(ind.clone(), "object_marking_refs", json!([AUTHOR]))],
            id,
            "must refer to a marking-definition",
        );
        expect_err(
            vec![with(ind.clone(), "object_marking_refs", json!("x"))],
            id,
            "list of identifiers",
        );
        expect_err(vec![ind.clone(), ind.clone()], id, "appears twice");
        // Another version of the same object is fine.
        parse_objects(vec![
            ind.clone(),
            with(ind.clone(), "modified", json!("2030-01-01T00:00:00.000Z")),
        ])
        .unwrap();
        // So are repeated SCOs (no modified), as the validator also allows.
        let d = sco(Kind::Domain, "a.example");
        parse_objects(vec![d.clone(), d]).unwrap();
    }

    #[test]
    fn type_specific_errors() {
        let report = report_objects(&input(&all_kinds()[..1]))[0].clone();
        let rel = json!({
            "type": "relationship",
            "spec_version": "2.1",
            "id": "relationship--6b7d3c2a-1f7d-4d0e-9d5c-0a4c8b1e2d3f",
            "created": "2024-05-01T09:30:00.000Z",
            "modified": "2024-05-01T09:30:00.000Z",
            "relationship_type": "indicates",
            "source_ref": "indicator--6b7d3c2a-1f7d-4d0e-9d5c-0a4c8b1e2d3f",
            "target_ref": "malware--6b7d3c2a-1f7d-4d0e-9d5c-0a4c8b1e2d3f",
        });
        parse_objects(vec![rel.clone()]).unwrap();
        let rid = report["id"].as_str().unwrap();
        expect_err(vec![without(report.clone(), "name")], rid, "needs name");
        expect_err(
            vec![without(report.clone(), "published")],
            rid,
            "needs published",
        );
        expect_err(
            vec![with(report.clone(), "object_refs", json!([]))],
            rid,
            "object_refs is empty",
        );
        expect_err(
            vec![with(report.clone(), "object_refs", json!(["nope"]))],
            rid,
            "identifier",
        );
        let lid = rel["id"].as_str().unwrap();
        expect_err(
            vec![without(rel.clone(), "relationship_type")],
            lid,
            "relationship_type",
        );
        expect_err(vec![without(rel.clone(), "source_ref")], lid, "source_ref");
        expect_err(
            vec![with(rel.clone(), "target_ref", json!(3))],
            lid,
            "target_ref",
        );

        let s = sighting(&identity_id("x"), 3, 0, 10, AUTHOR, Tlp::Clear);
        let sid = s["id"].as_str().unwrap();
        expect_err(
            vec![without(s.clone(), "sighting_of_ref")],
            sid,
            "sighting_of_ref",
        );
        expect_err(vec![with(s.clone(), "count", json!(-1))], sid, "count");
        expect_err(
            vec![with(s.clone(), "count", json!(1_000_000_000))],
            sid,
            "count",
        );
        expect_err(
            vec![with(s.clone(), "last_seen", json!("1969-01-01T00:00:00Z"))],
            sid,
            "last_seen must be at or after first_seen",
        );

        let mut fake = tlp_marking(Tlp::Red);
        fake["id"] = json!(tlp_marking_id(Tlp::Clear));
        expect_err(
            vec![fake],
            tlp_marking_id(Tlp::Clear),
            "declares TLP:RED, but this id is the published TLP:CLEAR marking",
        );
        let m = without(tlp_marking(Tlp::Red), "created");
        expect_err(vec![m], tlp_marking_id(Tlp::Red), "needs created");
    }

    #[test]
    fn markings_brought_by_the_bundle_count() {
        let own = "marking-definition--3b1f0e8e-7a7e-4c59-a3a6-6f1d2c4b5a69";
        let marking = json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": own,
            "created": "2020-01-01T00:00:00.000Z",
            "definition_type": "TLP",
            "definition": {"TLP": "TLP:AMBER+STRICT"},
            "name": "TLP:AMBER+STRICT",
        });
        let ind = with(indicator_obj(), "object_marking_refs", json!([own]));
        let parsed = parse_objects(vec![ind.clone(), marking]).unwrap();
        assert_eq!(parsed.strictest_tlp, Some(Tlp::AmberStrict));
        // Unknown markings are not TLP.
        let parsed = parse_objects(vec![ind]).unwrap();
        assert_eq!(parsed.strictest_tlp, None);
        // TLP 1.0 WHITE and RED side by side: RED wins.
        let white = with(
            indicator_obj(),
            "object_marking_refs",
            json!(["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]),
        );
        let red = with(
            sco(Kind::Url, "http://a.example/"),
            "object_marking_refs",
            json!(["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]),
        );
        let parsed = parse_objects(vec![white, red]).unwrap();
        assert_eq!(parsed.strictest_tlp, Some(Tlp::Red));
    }

    #[test]
    fn custom_and_foreign_objects_pass_untouched() {
        let custom = json!({
            "type": "x-acme-thing",
            "id": "x-acme-thing--6b7d3c2a-1f7d-4d0e-9d5c-0a4c8b1e2d3f",
            "anything": [1, 2.5, {"nested": null}],
        });
        let snort = with(indicator_obj(), "pattern_type", json!("snort"));
        let complex = with(
            with(
                indicator_obj(),
                "id",
                json!("indicator--6b7d3c2a-1f7d-4d0e-9d5c-0a4c8b1e2d3f"),
            ),
            "pattern",
            json!("[url:value = 'a'] OR [url:value = 'b']"),
        );
        let objects = vec![custom, snort, complex];
        let parsed = parse_objects(objects.clone()).unwrap();
        assert!(parsed.indicators.is_empty());
        assert_eq!(parsed.objects, objects);
    }

    // ------------------------------------------------------------ properties

    fn kind_strategy() -> impl Strategy<Value = Kind> {
        prop::sample::select(Kind::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn report_objects_parse_back(
            seed in any::<[u8; 16]>(),
            title in "\\PC{0,40}",
            description in "\\PC{0,40}",
            incident in "[a-z_]{0,12}",
            tlp in prop::sample::select(Tlp::ALL.to_vec()),
            created in -5_000_000_000_000i64..5_000_000_000_000,
            delta in -1_000_000i64..1_000_000,
            indicators in prop::collection::vec((kind_strategy(), "(\\PC|['\\\\ ]){1,30}"), 0..12),
            sector in prop::option::of("[a-z-]{1,10}"),
        ) {
            let uid = uuid::Builder::from_random_bytes(seed).into_uuid().into_bytes();
            // Hashes are stored canonical: hex of their algorithm's length.
            let indicators: Vec<(Kind, String)> = indicators
                .into_iter()
                .map(|(k, v)| {
                    let len = match k {
                        Kind::Md5 => 32,
                        Kind::Sha1 => 40,
                        Kind::Sha256 => 64,
                        _ => return (k, v),
                    };
                    let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
                    (k, hex.chars().cycle().take(len).collect())
                })
                .collect();
            let r = ReportInput {
                uid,
                title: &title,
                description: &description,
                incident_type: &incident,
                tlp,
                created_ms: created,
                modified_ms: created + delta,
                created_by: AUTHOR,
                indicators: &indicators,
                sector: sector.as_deref(),
            };
            let objects = report_objects(&r);
            let parsed = parse_objects(objects.clone());
            prop_assert!(parsed.is_ok(), "{:?}", parsed.err());
            let parsed = parsed.unwrap();
            let mut expected: Vec<(Kind, String)> = Vec::new();
            for (k, v) in &indicators {
                if !expected.contains(&(*k, v.clone())) {
                    expected.push((*k, v.clone()));
                }
            }
            let got: Vec<(Kind, String)> =
                parsed.indicators.iter().map(|(_, k, v)| (*k, v.clone())).collect();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(parsed.strictest_tlp, Some(tlp));
            prop_assert_eq!(parsed.reports.len(), 1);
            prop_assert_eq!(parsed.reports[0].tlp, Some(tlp));
            prop_assert_eq!(parsed.objects, objects);
        }

        #[test]
        fn pattern_round_trip(kind in kind_strategy(), value in "\\PC{0,40}|.{0,40}") {
            prop_assert_eq!(parse_simple_pattern(&pattern(kind, &value)), Some((kind, value)));
        }

        #[test]
        fn parsing_never_panics(input in "\\PC{0,80}") {
            let _ = parse_simple_pattern(&input);
            let _ = parse_bundle(input.as_bytes());
        }
    }
}
