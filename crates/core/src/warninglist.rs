//! False-positive lists in MISP's warninglist format: values that are well
//! known and benign (public resolvers, top sites, cloud ranges), which the
//! hub never lets anyone block.
//!
//! A list is `{name, type, list[], ...}`; kyojo uses the types that name
//! values exactly: `string` (the value itself), `hostname` (a domain and
//! every name under it, also as a URL's host) and `cidr` (any address or
//! network overlapping it). `substring` and `regex` lists are counted as
//! skipped: they match too loosely to be a safe reason to refuse a block.

use std::collections::{HashMap, HashSet};

use ipnet::IpNet;
use serde::Deserialize;

use crate::observable::{canonicalize, ip_network, Kind, Observable};
use crate::url;

/// Entries in one list at most (MISP's largest, Tranco's top sites, has 1M).
pub const MAX_ENTRIES_PER_LIST: usize = 2_000_000;

#[derive(Debug, Deserialize)]
struct RawList {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    list: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WarninglistError {
    #[error("not a MISP warninglist: {0}")]
    Format(String),
    #[error("list {name:?} has {count} entries, more than {MAX_ENTRIES_PER_LIST}")]
    TooLarge { name: String, count: usize },
}

/// What loading a list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub name: String,
    pub used: usize,
    /// Entries that are not a value kyojo knows, or a list type it skips.
    pub skipped: usize,
}

/// Every loaded list, indexed for lookups.
#[derive(Debug, Default)]
pub struct Warninglists {
    names: Vec<String>,
    /// Canonical (kind, value) -> list.
    exact: HashMap<(Kind, String), u16>,
    /// Host names whose subtree is listed -> list.
    hosts: HashMap<String, u16>,
    networks: Vec<(IpNet, u16)>,
}

impl Warninglists {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Adds one list from its JSON text.
    pub fn add_json(&mut self, json: &str) -> Result<Loaded, WarninglistError> {
        let raw: RawList =
            serde_json::from_str(json).map_err(|e| WarninglistError::Format(e.to_string()))?;
        if raw.list.len() > MAX_ENTRIES_PER_LIST {
            return Err(WarninglistError::TooLarge {
                name: raw.name,
                count: raw.list.len(),
            });
        }
        let id = u16::try_from(self.names.len())
            .map_err(|_| WarninglistError::Format("more than 65,535 lists".into()))?;
        let mut used = 0;
        let mut skipped = 0;
        for entry in &raw.list {
            let entry = entry.trim();
            let ok = match raw.kind.as_str() {
                "string" => self.add_string(entry, id),
                "hostname" => self.add_host(entry, id),
                "cidr" => self.add_network(entry, id),
                _ => false,
            };
            if ok {
                used += 1;
            } else {
                skipped += 1;
            }
        }
        self.names.push(raw.name.clone());
        Ok(Loaded {
            name: raw.name,
            used,
            skipped,
        })
    }

    fn add_string(&mut self, entry: &str, id: u16) -> bool {
        let mut any = false;
        for kind in Kind::ALL {
            if let Ok(o) = canonicalize(kind, entry) {
                if o.value == entry.to_ascii_lowercase() || kind == Kind::Url {
                    self.exact.entry((o.kind, o.value)).or_insert(id);
                    any = true;
                }
            }
        }
        any
    }

    fn add_host(&mut self, entry: &str, id: u16) -> bool {
        let host = entry.trim_start_matches("*.").trim_start_matches('.');
        match canonicalize(Kind::Domain, host) {
            Ok(o) => {
                self.hosts.entry(o.value).or_insert(id);
                true
            }
            Err(_) => false,
        }
    }

    fn add_network(&mut self, entry: &str, id: u16) -> bool {
        let net = entry
            .parse::<IpNet>()
            .ok()
            .or_else(|| entry.parse::<std::net::IpAddr>().ok().map(IpNet::from));
        match net {
            Some(n) => {
                self.networks.push((n.trunc(), id));
                true
            }
            None => false,
        }
    }

    /// The list that names `obs`, if one does.
    pub fn matching(&self, obs: &Observable) -> Option<&str> {
        let id = self.match_id(obs)?;
        self.names.get(usize::from(id)).map(String::as_str)
    }

    fn match_id(&self, obs: &Observable) -> Option<u16> {
        if let Some(id) = self.exact.get(&(obs.kind, obs.value.clone())) {
            return Some(*id);
        }
        match obs.kind {
            Kind::Domain => self.host_match(&obs.value),
            Kind::Url => {
                let parts = url::split(&obs.value)?;
                let host = parts.host.trim_start_matches('[').trim_end_matches(']');
                if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                    return self.network_match(&IpNet::from(ip));
                }
                self.host_match(host)
            }
            Kind::Ipv4 | Kind::Ipv6 => self.network_match(&ip_network(obs)?),
            _ => None,
        }
    }

    fn host_match(&self, host: &str) -> Option<u16> {
        let mut name = host;
        loop {
            if let Some(id) = self.hosts.get(name) {
                return Some(*id);
            }
            name = name.split_once('.')?.1;
        }
    }

    fn network_match(&self, net: &IpNet) -> Option<u16> {
        // Overlap: one contains the other.
        self.networks
            .iter()
            .find(|(n, _)| n.contains(net) || net.contains(n))
            .map(|(_, id)| *id)
    }

    /// Names of the loaded lists, in load order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Distinct names in use (for a summary).
    pub fn len(&self) -> usize {
        self.names.iter().collect::<HashSet<_>>().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(kind: Kind, v: &str) -> Observable {
        canonicalize(kind, v).unwrap()
    }

    #[test]
    fn the_three_exact_types_match_and_the_loose_ones_are_skipped() {
        let mut w = Warninglists::default();
        let l = w
            .add_json(r#"{"name":"resolvers","type":"cidr","list":["8.8.8.8/32","2001:4860::/32","junk"],"version":1}"#)
            .unwrap();
        assert_eq!((l.used, l.skipped), (2, 1));
        w.add_json(
            r#"{"name":"cdn","type":"hostname","list":["cdn.example.net",".akamai.example"]}"#,
        )
        .unwrap();
        w.add_json(r#"{"name":"hashes","type":"string","list":["d41d8cd98f00b204e9800998ecf8427e","benign.example"]}"#)
            .unwrap();
        let loose = w
            .add_json(r#"{"name":"loose","type":"substring","list":["google"]}"#)
            .unwrap();
        assert_eq!((loose.used, loose.skipped), (0, 1));

        assert_eq!(w.matching(&o(Kind::Ipv4, "8.8.8.8")), Some("resolvers"));
        assert_eq!(w.matching(&o(Kind::Ipv4, "8.8.8.0/24")), Some("resolvers"));
        assert_eq!(
            w.matching(&o(Kind::Ipv6, "2001:4860:4860::8888")),
            Some("resolvers")
        );
        assert_eq!(w.matching(&o(Kind::Ipv4, "8.8.4.4")), None);
        assert_eq!(
            w.matching(&o(Kind::Domain, "img.cdn.example.net")),
            Some("cdn")
        );
        assert_eq!(w.matching(&o(Kind::Domain, "akamai.example")), Some("cdn"));
        assert_eq!(w.matching(&o(Kind::Domain, "example.net")), None);
        assert_eq!(
            w.matching(&o(Kind::Url, "http://cdn.example.net/x.js")),
            Some("cdn")
        );
        assert_eq!(
            w.matching(&o(Kind::Url, "http://8.8.8.8/")),
            Some("resolvers")
        );
        assert_eq!(
            w.matching(&o(Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e")),
            Some("hashes")
        );
        assert_eq!(
            w.matching(&o(Kind::Domain, "benign.example")),
            Some("hashes")
        );
        assert_eq!(w.matching(&o(Kind::Domain, "google.example")), None);
    }

    #[test]
    fn bad_lists_are_refused_with_the_reason() {
        let mut w = Warninglists::default();
        assert!(matches!(w.add_json("{}"), Err(WarninglistError::Format(_))));
        assert!(matches!(
            w.add_json("[1,2]"),
            Err(WarninglistError::Format(_))
        ));
        assert!(w.is_empty());
    }
}
