//! MISP's event format both ways: kyojo's reports as a MISP feed (the
//! format a MISP instance subscribes to: `manifest.json`, one `{uuid}.json`
//! per event, `hashes.csv`), and MISP events read into kyojo's values
//! ([`read_event`]).
//!
//! Pure: the hub decides which reports a viewer may read and who may be
//! named as each one's creator, and what an import may become; this module
//! only writes what it is given and reads what it is handed.
//!
//! | kyojo | MISP |
//! |---|---|
//! | report | event (`info` = title, `Tag` = `tlp:*` and the incident type) |
//! | TLP CLEAR / GREEN / AMBER / AMBER+STRICT / RED | distribution 3 / 2 / 1 / 0 / 0, and the `tlp:` tag |
//! | domain / url / ipv4, ipv6 (also CIDR) / md5 / sha1 / sha256 / email | `domain` / `url` / `ip-dst` / `md5` / `sha1` / `sha256` / `email-src` |
//! | actionable in the reader's feeds | `to_ids` |

use kyojo_core::observable::canonicalize;
use kyojo_core::{Kind, Observable, Tlp};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// One attribute of an event.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub kind: Kind,
    pub value: String,
    /// Whether the value is actionable for the reader (MISP's IDS flag).
    pub to_ids: bool,
}

/// Who an event names as its creator (`Orgc`) and owner (`Org`).
#[derive(Debug, Clone)]
pub struct MispOrg {
    pub name: String,
    pub uuid: Uuid,
}

/// One report, as far as the reader may know it.
#[derive(Debug, Clone)]
pub struct Event {
    pub uuid: Uuid,
    pub info: String,
    pub description: String,
    pub incident_type: &'static str,
    pub tlp: Tlp,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    pub creator: MispOrg,
    pub owner: MispOrg,
    pub attributes: Vec<Attribute>,
}

/// MISP's attribute type and category for a kind.
pub fn attribute_type(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Domain => ("domain", "Network activity"),
        Kind::Url => ("url", "Network activity"),
        Kind::Ipv4 | Kind::Ipv6 => ("ip-dst", "Network activity"),
        Kind::Md5 => ("md5", "Payload delivery"),
        Kind::Sha1 => ("sha1", "Payload delivery"),
        Kind::Sha256 => ("sha256", "Payload delivery"),
        Kind::Email => ("email-src", "Payload delivery"),
    }
}

/// MISP's distribution level for a marking: how far a MISP instance that
/// took the event may pass it on. AMBER+STRICT and RED stay with the
/// subscribing organization.
pub fn distribution(tlp: Tlp) -> u8 {
    match tlp {
        Tlp::Clear => 3,
        Tlp::Green => 2,
        Tlp::Amber => 1,
        Tlp::AmberStrict | Tlp::Red => 0,
    }
}

fn tlp_tag(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "tlp:clear",
        Tlp::Green => "tlp:green",
        Tlp::Amber => "tlp:amber",
        Tlp::AmberStrict => "tlp:amber+strict",
        Tlp::Red => "tlp:red",
    }
}

/// MISP's colour for a TLP tag, so that MISP shows it as it shows its own.
fn tlp_colour(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "#ffffff",
        Tlp::Green => "#339900",
        Tlp::Amber | Tlp::AmberStrict => "#ffc000",
        Tlp::Red => "#ff0000",
    }
}

fn tags(e: &Event) -> Value {
    json!([
        {"name": tlp_tag(e.tlp), "colour": tlp_colour(e.tlp), "exportable": true},
        {"name": format!("kyojo:incident-type=\"{}\"", e.incident_type),
         "colour": "#0088cc", "exportable": true},
    ])
}

/// A stable attribute id: the same report and value give the same uuid in
/// every export (a subscribing MISP updates rather than duplicates).
pub fn attribute_uuid(event: &Uuid, kind: Kind, value: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(event.as_bytes())
        .chain_update(kind.as_str().as_bytes())
        .chain_update([0])
        .chain_update(value.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn secs(ms: i64) -> String {
    (ms.max(0) / 1000).to_string()
}

fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}

fn org(o: &MispOrg) -> Value {
    json!({"name": o.name, "uuid": o.uuid.to_string()})
}

/// The event file (`{uuid}.json`): `{"Event": {...}}`.
pub fn event_json(e: &Event) -> Value {
    let timestamp = secs(e.updated_at);
    let attributes: Vec<Value> = e
        .attributes
        .iter()
        .map(|a| {
            let (kind, category) = attribute_type(a.kind);
            json!({
                "uuid": attribute_uuid(&e.uuid, a.kind, &a.value).to_string(),
                "type": kind,
                "category": category,
                "value": a.value,
                "to_ids": a.to_ids,
                "distribution": "5",
                "timestamp": timestamp,
                "comment": "",
                "deleted": false,
                "disable_correlation": false,
                "object_relation": null,
            })
        })
        .collect();
    json!({"Event": {
        "uuid": e.uuid.to_string(),
        "info": e.info,
        "date": date(e.created_at),
        "timestamp": timestamp,
        "publish_timestamp": timestamp,
        "published": true,
        "analysis": "2",
        "threat_level_id": "2",
        "distribution": distribution(e.tlp).to_string(),
        "Orgc": org(&e.creator),
        "Org": org(&e.owner),
        "Tag": tags(e),
        "Attribute": attributes,
        "EventReport": if e.description.is_empty() { json!([]) } else {
            json!([{"uuid": attribute_uuid(&e.uuid, Kind::Url, "#description").to_string(),
                    "name": "Description", "content": e.description,
                    "distribution": "5", "timestamp": timestamp, "deleted": false}])
        },
    }})
}

/// The event's line in `manifest.json` (keyed by its uuid there).
pub fn manifest_entry(e: &Event) -> Value {
    json!({
        "info": e.info,
        "date": date(e.created_at),
        "analysis": 2,
        "threat_level_id": 2,
        "timestamp": e.updated_at.max(0) / 1000,
        "Orgc": org(&e.creator),
        "Tag": tags(e),
    })
}

/// The event's lines of `hashes.csv`: the MD5 of each attribute value and
/// the event uuid, as MISP writes them for its cache of feed values.
pub fn hash_lines(e: &Event, out: &mut String) {
    use std::fmt::Write;
    for a in &e.attributes {
        let digest = md5_hex(&a.value);
        let _ = writeln!(out, "{digest},{}", e.uuid);
    }
}

fn md5_hex(s: &str) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(s.as_bytes()))
}

/// A MISP event as kyojo reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingEvent {
    pub uuid: Uuid,
    pub info: String,
    /// The text of an event report named "Description" (what kyojo's own
    /// export writes), else empty.
    pub description: String,
    /// The strictest of the `tlp:*` tags and the distribution level; `None`
    /// when the event carries neither.
    pub tlp: Option<Tlp>,
    pub tags: Vec<String>,
    /// Canonical values with their IDS flag, each once (IDS if any copy is).
    pub values: Vec<(Observable, bool)>,
    /// Why attributes were left out, with counts.
    pub skipped: std::collections::BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct MispError {
    /// Where in the event: `Event.uuid`, `Event.Attribute[3]`, …
    pub field: String,
    pub message: String,
}

fn misp_error(field: &str, message: impl Into<String>) -> MispError {
    MispError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Attributes read from one event at most.
pub const MAX_ATTRIBUTES: usize = 200_000;

/// The marking a `tlp:*` tag names (TLP 1.0's `white` too).
fn tag_tlp(tag: &str) -> Option<Tlp> {
    Some(match tag.trim().to_ascii_lowercase().as_str() {
        "tlp:clear" | "tlp:white" => Tlp::Clear,
        "tlp:green" => Tlp::Green,
        "tlp:amber" => Tlp::Amber,
        "tlp:amber+strict" => Tlp::AmberStrict,
        "tlp:red" => Tlp::Red,
        _ => return None,
    })
}

/// The marking a distribution level stands for: 0 (this organization
/// only) AMBER+STRICT, 1 (this community) and 4 (a sharing group) AMBER,
/// 2 (connected communities) GREEN, 3 (all) CLEAR; 5 (inherit) nothing.
pub fn distribution_tlp(level: u8) -> Option<Tlp> {
    match level {
        0 => Some(Tlp::AmberStrict),
        1 | 4 => Some(Tlp::Amber),
        2 => Some(Tlp::Green),
        3 => Some(Tlp::Clear),
        _ => None,
    }
}

fn level(v: &Value) -> Option<u8> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => matches!(s.as_str(), "1" | "true" | "True"),
        _ => false,
    }
}

/// The kinds each part of an attribute of this MISP type holds (`None`
/// for a part kyojo does not keep, such as a port or a file name; an IP
/// part is told v4 or v6 by its value).
fn parts_of(misp_type: &str) -> Option<&'static [Option<PartKind>]> {
    use PartKind::*;
    Some(match misp_type {
        "domain" | "hostname" => &[Some(K(Kind::Domain))],
        "url" | "uri" | "link" => &[Some(K(Kind::Url))],
        "ip-src" | "ip-dst" => &[Some(Ip)],
        "md5" => &[Some(K(Kind::Md5))],
        "sha1" => &[Some(K(Kind::Sha1))],
        "sha256" => &[Some(K(Kind::Sha256))],
        "email"
        | "email-src"
        | "email-dst"
        | "email-reply-to"
        | "target-email"
        | "whois-registrant-email" => &[Some(K(Kind::Email))],
        "domain|ip" => &[Some(K(Kind::Domain)), Some(Ip)],
        "ip-src|port" | "ip-dst|port" => &[Some(Ip), None],
        "hostname|port" => &[Some(K(Kind::Domain)), None],
        "filename|md5" => &[None, Some(K(Kind::Md5))],
        "filename|sha1" => &[None, Some(K(Kind::Sha1))],
        "filename|sha256" => &[None, Some(K(Kind::Sha256))],
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy)]
enum PartKind {
    K(Kind),
    Ip,
}

/// Reads one MISP event (`{"Event": {...}}` or the bare event): its
/// attributes and those of its objects, composites split (`domain|ip`
/// gives a domain and an address), each value canonicalized. Attributes
/// marked deleted, of types kyojo does not keep, or with invalid values are
/// counted in `skipped` by reason; so are those without the IDS flag unless
/// `with_non_ids`.
pub fn read_event(v: &Value, with_non_ids: bool) -> Result<IncomingEvent, MispError> {
    let e = v.get("Event").unwrap_or(v);
    if !e.is_object() {
        return Err(misp_error("Event", "not a MISP event (a JSON object)"));
    }
    let uuid = e["uuid"]
        .as_str()
        .and_then(|u| Uuid::parse_str(u).ok())
        .ok_or_else(|| misp_error("Event.uuid", "missing or not a UUID"))?;
    let info = e["info"].as_str().unwrap_or_default().trim().to_string();
    if info.is_empty() {
        return Err(misp_error("Event.info", "missing or empty"));
    }
    let tags: Vec<String> = e["Tag"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect();
    let tlp = tags
        .iter()
        .filter_map(|t| tag_tlp(t))
        .chain(level(&e["distribution"]).and_then(distribution_tlp))
        .max();
    let description = e["EventReport"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == "Description" && !truthy(&r["deleted"]))
        .and_then(|r| r["content"].as_str())
        .unwrap_or_default()
        .to_string();

    let mut attributes: Vec<(String, &Value)> = Vec::new();
    for (i, a) in e["Attribute"].as_array().into_iter().flatten().enumerate() {
        attributes.push((format!("Event.Attribute[{i}]"), a));
    }
    for (i, o) in e["Object"].as_array().into_iter().flatten().enumerate() {
        let object_deleted = truthy(&o["deleted"]);
        for (j, a) in o["Attribute"].as_array().into_iter().flatten().enumerate() {
            if object_deleted {
                continue;
            }
            attributes.push((format!("Event.Object[{i}].Attribute[{j}]"), a));
        }
    }
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(misp_error(
            "Event.Attribute",
            format!(
                "{} attributes, more than {MAX_ATTRIBUTES} read from one event",
                attributes.len()
            ),
        ));
    }
    let mut skipped = std::collections::BTreeMap::new();
    let mut skip = |why: String| *skipped.entry(why).or_insert(0) += 1;
    let mut values: Vec<(Observable, bool)> = Vec::new();
    let mut index: std::collections::HashMap<Observable, usize> = Default::default();
    for (_, a) in attributes {
        if truthy(&a["deleted"]) {
            skip("deleted".into());
            continue;
        }
        let misp_type = a["type"].as_str().unwrap_or_default();
        let to_ids = truthy(&a["to_ids"]);
        if !to_ids && !with_non_ids {
            skip("to_ids is false".into());
            continue;
        }
        let Some(parts) = parts_of(misp_type) else {
            skip(format!("type {misp_type:?} is not a kind kyojo keeps"));
            continue;
        };
        let raw = a["value"].as_str().unwrap_or_default();
        let pieces: Vec<&str> = if parts.len() == 1 {
            vec![raw]
        } else {
            raw.splitn(parts.len(), '|').collect()
        };
        if pieces.len() != parts.len() {
            skip(format!("{misp_type} value is not {} parts", parts.len()));
            continue;
        }
        for (piece, part) in pieces.iter().zip(parts) {
            let Some(part) = part else { continue };
            let parsed = match part {
                PartKind::K(kind) => canonicalize(*kind, piece),
                PartKind::Ip => {
                    canonicalize(Kind::Ipv4, piece).or_else(|_| canonicalize(Kind::Ipv6, piece))
                }
            };
            match parsed {
                Ok(obs) => match index.get(&obs) {
                    Some(&at) => values[at].1 |= to_ids,
                    None => {
                        index.insert(obs.clone(), values.len());
                        values.push((obs, to_ids));
                    }
                },
                Err(_) => skip(format!("{misp_type} value is not valid")),
            }
        }
    }
    Ok(IncomingEvent {
        uuid,
        info,
        description,
        tlp,
        tags,
        values,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event {
            uuid: Uuid::from_u128(0x1234),
            info: "Phishing kit \"A\"".into(),
            description: "seen at 3 banks".into(),
            incident_type: "phishing",
            tlp: Tlp::Amber,
            created_at: 1_764_547_200_000,
            updated_at: 1_764_550_800_000,
            creator: MispOrg {
                name: "Sakura Bank".into(),
                uuid: Uuid::from_u128(1),
            },
            owner: MispOrg {
                name: "Hub".into(),
                uuid: Uuid::from_u128(2),
            },
            attributes: vec![
                Attribute {
                    kind: Kind::Domain,
                    value: "login.example".into(),
                    to_ids: true,
                },
                Attribute {
                    kind: Kind::Ipv4,
                    value: "192.0.2.0/24".into(),
                    to_ids: false,
                },
            ],
        }
    }

    #[test]
    fn an_event_carries_its_marking_types_and_ids_flags() {
        let v = event_json(&event());
        let e = &v["Event"];
        assert_eq!(e["distribution"], "1");
        assert_eq!(e["date"], "2025-12-01");
        assert_eq!(e["Tag"][0]["name"], "tlp:amber");
        assert_eq!(e["Orgc"]["name"], "Sakura Bank");
        let a = e["Attribute"].as_array().unwrap();
        assert_eq!(
            (a[0]["type"].as_str(), a[0]["to_ids"].as_bool()),
            (Some("domain"), Some(true))
        );
        assert_eq!(a[1]["type"], "ip-dst");
        assert_eq!(a[1]["value"], "192.0.2.0/24");
        assert_ne!(a[0]["uuid"], a[1]["uuid"]);
        // Stable across exports.
        assert_eq!(event_json(&event()), v);
    }

    #[test]
    fn hashes_are_the_md5_of_each_value_beside_the_event() {
        let mut out = String::new();
        hash_lines(&event(), &mut out);
        let first = out.lines().next().unwrap();
        // md5("login.example")
        assert_eq!(
            first,
            format!("{},{}", md5_hex("login.example"), Uuid::from_u128(0x1234))
        );
        assert_eq!(out.lines().count(), 2);
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn red_and_amber_strict_stay_with_the_subscriber() {
        assert_eq!(distribution(Tlp::Red), 0);
        assert_eq!(distribution(Tlp::AmberStrict), 0);
        assert_eq!(distribution(Tlp::Clear), 3);
    }

    #[test]
    fn an_event_reads_back_what_the_export_wrote() {
        let exported = event_json(&event());
        let back = read_event(&exported, true).unwrap();
        assert_eq!(back.uuid, Uuid::from_u128(0x1234));
        assert_eq!(back.info, "Phishing kit \"A\"");
        assert_eq!(back.description, "seen at 3 banks");
        assert_eq!(back.tlp, Some(Tlp::Amber));
        let values: Vec<(&str, bool)> = back
            .values
            .iter()
            .map(|(o, ids)| (o.value.as_str(), *ids))
            .collect();
        assert_eq!(values, [("login.example", true), ("192.0.2.0/24", false)]);
        // Without non-IDS attributes, the second is skipped and counted.
        let ids_only = read_event(&exported, false).unwrap();
        assert_eq!(ids_only.values.len(), 1);
        assert_eq!(ids_only.skipped.get("to_ids is false"), Some(&1));
    }

    #[test]
    fn composites_objects_and_markings_are_read_as_misp_means_them() {
        let v = json!({"Event": {
            "uuid": "5e0b1a52-0000-4000-8000-000000000001",
            "info": "c2 infrastructure",
            "distribution": "3",
            "Tag": [{"name": "tlp:green"}, {"name": "tlp:amber"}],
            "Attribute": [
                {"type": "domain|ip", "value": "c2.example|198.51.100.7", "to_ids": true},
                {"type": "ip-dst|port", "value": "2001:db8::5|443", "to_ids": true},
                {"type": "filename|sha256", "value": format!("a.exe|{}", "AB".repeat(32)), "to_ids": true},
                {"type": "uri", "value": "/relative/path", "to_ids": true},
                {"type": "mutex", "value": "Global\\x", "to_ids": true},
                {"type": "domain", "value": "gone.example", "to_ids": true, "deleted": true},
                {"type": "hostname", "value": "C2.Example.", "to_ids": false},
            ],
            "Object": [{"name": "url", "Attribute": [
                {"type": "url", "value": "http://c2.example/gate.php", "to_ids": "1"},
            ]}],
        }});
        let e = read_event(&v, false).unwrap();
        assert_eq!(
            e.tlp,
            Some(Tlp::Amber),
            "the strictest of tags and distribution"
        );
        let got: Vec<(Kind, &str)> = e
            .values
            .iter()
            .map(|(o, _)| (o.kind, o.value.as_str()))
            .collect();
        let hash = "ab".repeat(32);
        assert_eq!(
            got,
            [
                (Kind::Domain, "c2.example"),
                (Kind::Ipv4, "198.51.100.7"),
                (Kind::Ipv6, "2001:db8::5"),
                (Kind::Sha256, hash.as_str()),
                (Kind::Url, "http://c2.example/gate.php"),
            ]
        );
        assert_eq!(e.skipped.get("uri value is not valid"), Some(&1));
        assert_eq!(
            e.skipped.get("type \"mutex\" is not a kind kyojo keeps"),
            Some(&1)
        );
        assert_eq!(e.skipped.get("deleted"), Some(&1));
        assert_eq!(e.skipped.get("to_ids is false"), Some(&1));
    }

    #[test]
    fn a_malformed_event_names_the_field() {
        for (v, field) in [
            (json!([1]), "Event"),
            (json!({"Event": {"info": "x"}}), "Event.uuid"),
            (
                json!({"Event": {"uuid": "5e0b1a52-0000-4000-8000-000000000001"}}),
                "Event.info",
            ),
        ] {
            assert_eq!(read_event(&v, true).unwrap_err().field, field, "{v}");
        }
    }
}
