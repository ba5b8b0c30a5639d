//! kyojo's reports as a MISP feed (the format a MISP instance subscribes
//! to: `manifest.json`, one `{uuid}.json` per event, `hashes.csv`).
//!
//! Pure: the hub decides which reports a viewer may read and who may be
//! named as each one's creator; this module only writes what it is given.
//!
//! | kyojo | MISP |
//! |---|---|
//! | report | event (`info` = title, `Tag` = `tlp:*` and the incident type) |
//! | TLP CLEAR / GREEN / AMBER / AMBER+STRICT / RED | distribution 3 / 2 / 1 / 0 / 0, and the `tlp:` tag |
//! | domain / url / ipv4, ipv6 (also CIDR) / md5 / sha1 / sha256 / email | `domain` / `url` / `ip-dst` / `md5` / `sha1` / `sha256` / `email-src` |
//! | actionable in the reader's feeds | `to_ids` |

use kyojo_core::{Kind, Tlp};
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
}
