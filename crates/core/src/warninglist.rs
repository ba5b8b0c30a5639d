//! False-positive lists in MISP's warninglist format: values that are well
//! known and benign (public resolvers, sinkholes, top sites, cloud ranges),
//! which never become actionable and which nobody may block.
//!
//! A list is `{name, type, list[], matching_attributes[], version, ...}`.
//! Every list type MISP defines is matched as MISP matches it:
//!
//! * `string`: the value itself, exactly (after canonicalization);
//! * `hostname`: a domain and every name under it, also as a URL's host;
//! * `cidr`: any address or network inside an entry (a wide network that
//!   merely contains a listed address is not matched: MISP's list of public
//!   resolvers has 62,745 addresses, one in most /16s; the few resolvers a
//!   wide block must never cover are kept in `decide::PUBLIC_RESOLVERS`);
//! * `substring`: any value containing an entry (ASCII case-insensitive);
//! * `regex`: PHP-style `/pattern/flags` entries (`i` honoured).
//!
//! `matching_attributes` limits a list to the kinds its MISP attribute types
//! name (`ip-dst` → IPv4/IPv6, `domain` → domain, …); a list without it
//! applies to every kind. Lookups cost a few hash probes and one binary
//! search whatever the number of entries: the feeds judge every indicator
//! against every list.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use aho_corasick::AhoCorasick;
use ipnet::IpNet;
use serde::Deserialize;

use crate::observable::{canonicalize, ip_network, Kind, Observable};
use crate::url;

/// Entries in one list at most (MISP's largest, Tranco's top sites, has 1M).
pub const MAX_ENTRIES_PER_LIST: usize = 2_000_000;
/// Lists at most.
pub const MAX_LISTS: usize = 1_000;
/// Compiled size of one `regex` entry at most.
const MAX_REGEX_BYTES: usize = 1 << 20;

/// The lists kyojo carries inside its binary, by short id (the directory
/// name in MISP's repository), taken from MISP's CC0 warninglists.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "public-dns-v4",
        include_str!("../data/warninglists/public-dns-v4.json"),
    ),
    (
        "public-dns-v6",
        include_str!("../data/warninglists/public-dns-v6.json"),
    ),
    (
        "public-dns-hostname",
        include_str!("../data/warninglists/public-dns-hostname.json"),
    ),
    (
        "sinkholes",
        include_str!("../data/warninglists/sinkholes.json"),
    ),
];

/// The embedded lists a hub applies unless configured otherwise: public DNS
/// resolvers (blocking one cuts a network's name resolution) and known
/// sinkholes (blocking one hides infections from the sinkhole's operator).
pub const DEFAULT_SET: &[&str] = &[
    "public-dns-v4",
    "public-dns-v6",
    "public-dns-hostname",
    "sinkholes",
];

/// The JSON text of an embedded list.
pub fn embedded(id: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == id).map(|(_, t)| *t)
}

/// Ids of every embedded list.
pub fn embedded_ids() -> impl Iterator<Item = &'static str> {
    EMBEDDED.iter().map(|(n, _)| *n)
}

#[derive(Debug, Deserialize)]
struct RawList {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    list: Vec<String>,
    #[serde(default)]
    matching_attributes: Vec<String>,
    #[serde(default)]
    version: serde_json::Value,
    #[serde(default)]
    description: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WarninglistError {
    #[error("not a MISP warninglist: {0}")]
    Format(String),
    #[error("list {name:?} has {count} entries, more than {MAX_ENTRIES_PER_LIST}")]
    TooLarge { name: String, count: usize },
    #[error("more than {MAX_LISTS} lists")]
    TooMany,
}

/// A list's type, as MISP names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    String,
    Hostname,
    Cidr,
    Substring,
    Regex,
}

impl ListType {
    fn parse(s: &str) -> Option<ListType> {
        Some(match s {
            "string" => ListType::String,
            "hostname" => ListType::Hostname,
            "cidr" => ListType::Cidr,
            "substring" => ListType::Substring,
            "regex" => ListType::Regex,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ListType::String => "string",
            ListType::Hostname => "hostname",
            ListType::Cidr => "cidr",
            ListType::Substring => "substring",
            ListType::Regex => "regex",
        }
    }
}

/// The kinds a list applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kinds(u16);

impl Kinds {
    const ALL: Kinds = Kinds(u16::MAX);

    fn bit(kind: Kind) -> u16 {
        1 << (kind as u16)
    }

    fn has(self, kind: Kind) -> bool {
        self.0 & Kinds::bit(kind) != 0
    }

    /// From MISP attribute types; no attributes at all means every kind.
    fn from_attributes(attributes: &[String]) -> Kinds {
        if attributes.is_empty() {
            return Kinds::ALL;
        }
        let mut bits = 0;
        for a in attributes {
            for k in kinds_of_attribute(a) {
                bits |= Kinds::bit(*k);
            }
        }
        Kinds(bits)
    }
}

/// The kyojo kinds a MISP attribute type holds (composites by their parts).
pub fn kinds_of_attribute(attribute: &str) -> &'static [Kind] {
    match attribute {
        "domain" | "hostname" => &[Kind::Domain],
        "domain|ip" | "hostname|port" => &[Kind::Domain, Kind::Ipv4, Kind::Ipv6],
        "url" | "uri" | "link" => &[Kind::Url],
        "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" | "ip" => &[Kind::Ipv4, Kind::Ipv6],
        "md5" | "filename|md5" => &[Kind::Md5],
        "sha1" | "filename|sha1" => &[Kind::Sha1],
        "sha256" | "filename|sha256" => &[Kind::Sha256],
        "email"
        | "email-src"
        | "email-dst"
        | "target-email"
        | "whois-registrant-email"
        | "email-reply-to" => &[Kind::Email],
        _ => &[],
    }
}

/// One loaded list, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInfo {
    /// The short id the operator chose it by (file or directory name).
    pub id: String,
    /// The list's own name.
    pub name: String,
    pub description: String,
    pub version: String,
    pub list_type: ListType,
    /// Entries in use.
    pub used: usize,
    /// Entries that are not a value of a kind the list applies to.
    pub skipped: usize,
    kinds: Kinds,
}

/// What loading a list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub name: String,
    pub used: usize,
    pub skipped: usize,
}

/// CIDR entries of one address family, for containment queries in
/// O(distinct prefix lengths): an entry contains a block when the block's
/// first address, cut to the entry's length, is the entry.
#[derive(Debug, Default)]
struct Networks {
    by_prefix: HashMap<(u8, u128), u16>,
    lengths: BTreeSet<u8>,
}

impl Networks {
    fn insert(&mut self, start: u128, len: u8, id: u16) {
        self.by_prefix.entry((len, start)).or_insert(id);
        self.lengths.insert(len);
    }

    /// The entry containing the block `start/len`; `bits` is the family's
    /// width (32 or 128).
    fn containing(&self, start: u128, len: u8, bits: u8) -> Option<u16> {
        self.lengths
            .range(..=len)
            .find_map(|&l| self.by_prefix.get(&(l, truncate(start, l, bits))))
            .copied()
    }
}

fn host_mask(len: u8, bits: u8) -> u128 {
    let host_bits = u32::from(bits.saturating_sub(len));
    if host_bits == 0 {
        0
    } else if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    }
}

fn truncate(addr: u128, len: u8, bits: u8) -> u128 {
    addr & !host_mask(len, bits)
}

/// A network as (family width, first address, prefix length).
fn parts(net: &IpNet) -> (u8, u128, u8) {
    match net {
        IpNet::V4(n) => (32, u128::from(u32::from(n.network())), n.prefix_len()),
        IpNet::V6(n) => (128, u128::from(n.network()), n.prefix_len()),
    }
}

/// Every loaded list, indexed for lookups.
#[derive(Debug, Default)]
pub struct Warninglists {
    lists: Vec<ListInfo>,
    /// Canonical (kind, value) -> list.
    exact: HashMap<(Kind, Box<str>), u16>,
    /// Host names whose subtree is listed -> list (the first list to name
    /// a host; later lists that apply to other kinds go to `more_hosts`).
    hosts: HashMap<Box<str>, u16>,
    more_hosts: HashMap<Box<str>, Vec<u16>>,
    v4: Networks,
    v6: Networks,
    substrings: Vec<(String, u16)>,
    substring_matcher: Option<AhoCorasick>,
    regexes: Vec<(regex::Regex, u16)>,
}

impl Warninglists {
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Adds one list from its JSON text, named `id` for the operator.
    pub fn add_json(&mut self, id: &str, json: &str) -> Result<Loaded, WarninglistError> {
        let raw: RawList =
            serde_json::from_str(json).map_err(|e| WarninglistError::Format(e.to_string()))?;
        if raw.list.len() > MAX_ENTRIES_PER_LIST {
            return Err(WarninglistError::TooLarge {
                name: raw.name,
                count: raw.list.len(),
            });
        }
        let list_type = ListType::parse(&raw.kind)
            .ok_or_else(|| WarninglistError::Format(format!("unknown list type {:?}", raw.kind)))?;
        if self.lists.len() >= MAX_LISTS {
            return Err(WarninglistError::TooMany);
        }
        let list_id = u16::try_from(self.lists.len()).map_err(|_| WarninglistError::TooMany)?;
        let kinds = Kinds::from_attributes(&raw.matching_attributes);
        let mut used = 0;
        let mut skipped = 0;
        for entry in &raw.list {
            let entry = entry.trim();
            let ok = !entry.is_empty()
                && match list_type {
                    ListType::String => self.add_string(entry, list_id, kinds),
                    ListType::Hostname => self.add_host(entry, list_id, kinds),
                    ListType::Cidr => self.add_network(entry, list_id, kinds),
                    ListType::Substring => {
                        self.substrings.push((entry.to_ascii_lowercase(), list_id));
                        true
                    }
                    ListType::Regex => self.add_regex(entry, list_id),
                };
            if ok {
                used += 1;
            } else {
                skipped += 1;
            }
        }
        if list_type == ListType::Substring && used > 0 {
            self.substring_matcher = Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(self.substrings.iter().map(|(s, _)| s.as_str()))
                    .map_err(|e| WarninglistError::Format(e.to_string()))?,
            );
        }
        let version = match &raw.version {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        self.lists.push(ListInfo {
            id: id.to_string(),
            name: raw.name.clone(),
            description: raw.description,
            version,
            list_type,
            used,
            skipped,
            kinds,
        });
        Ok(Loaded {
            name: raw.name,
            used,
            skipped,
        })
    }

    fn add_string(&mut self, entry: &str, id: u16, kinds: Kinds) -> bool {
        let mut any = false;
        for kind in Kind::ALL {
            if !kinds.has(kind) {
                continue;
            }
            if let Ok(o) = canonicalize(kind, entry) {
                if o.value == entry.to_ascii_lowercase() || kind == Kind::Url {
                    self.exact
                        .entry((o.kind, o.value.into_boxed_str()))
                        .or_insert(id);
                    any = true;
                }
            }
        }
        any
    }

    fn add_host(&mut self, entry: &str, id: u16, kinds: Kinds) -> bool {
        if !(kinds.has(Kind::Domain) || kinds.has(Kind::Url) || kinds.has(Kind::Email)) {
            return false;
        }
        let host = entry.trim_start_matches("*.").trim_start_matches('.');
        let Ok(o) = canonicalize(Kind::Domain, host) else {
            return false;
        };
        let key = o.value.into_boxed_str();
        match self.hosts.get(&key) {
            None => {
                self.hosts.insert(key, id);
            }
            Some(first) if self.lists.get(usize::from(*first)).map(|l| l.kinds) != Some(kinds) => {
                // Another list with other kinds: keep both.
                self.more_hosts.entry(key).or_default().push(id);
            }
            Some(_) => {}
        }
        true
    }

    fn add_network(&mut self, entry: &str, id: u16, kinds: Kinds) -> bool {
        if !(kinds.has(Kind::Ipv4) || kinds.has(Kind::Ipv6) || kinds.has(Kind::Url)) {
            return false;
        }
        let net = entry
            .parse::<IpNet>()
            .ok()
            .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from));
        let Some(net) = net else {
            return false;
        };
        let (bits, start, len) = parts(&net.trunc());
        if bits == 32 {
            self.v4.insert(start, len, id);
        } else {
            self.v6.insert(start, len, id);
        }
        true
    }

    fn add_regex(&mut self, entry: &str, id: u16) -> bool {
        // PHP's `/pattern/flags`; a bare pattern is taken as is.
        let (pattern, flags) = match entry.strip_prefix('/').and_then(|r| r.rsplit_once('/')) {
            Some((p, f)) => (p, f),
            None => (entry, ""),
        };
        if flags.chars().any(|c| c != 'i') {
            return false;
        }
        match regex::RegexBuilder::new(pattern)
            .case_insensitive(flags.contains('i'))
            .size_limit(MAX_REGEX_BYTES)
            .build()
        {
            Ok(r) => {
                self.regexes.push((r, id));
                true
            }
            Err(_) => false,
        }
    }

    fn applies(&self, id: u16, kind: Kind) -> bool {
        self.lists
            .get(usize::from(id))
            .is_some_and(|l| l.kinds.has(kind))
    }

    /// The list that names `obs`, if one does (its own name).
    pub fn matching(&self, obs: &Observable) -> Option<&str> {
        self.matching_list(obs).map(|l| l.name.as_str())
    }

    /// The list that names `obs`, if one does.
    pub fn matching_list(&self, obs: &Observable) -> Option<&ListInfo> {
        let id = self.match_id(obs)?;
        self.lists.get(usize::from(id))
    }

    fn match_id(&self, obs: &Observable) -> Option<u16> {
        if let Some(id) = self.exact.get(&(obs.kind, Box::from(obs.value.as_str()))) {
            return Some(*id);
        }
        let structural = match obs.kind {
            Kind::Domain => self.host_match(&obs.value, Kind::Domain),
            Kind::Email => obs
                .value
                .rsplit_once('@')
                .and_then(|(_, host)| self.host_match(host, Kind::Email)),
            Kind::Url => url::split(&obs.value).and_then(|parts| {
                let host = parts.host.trim_start_matches('[').trim_end_matches(']');
                match host.parse::<IpAddr>() {
                    Ok(ip) => self.network_match(&IpNet::from(ip), Kind::Url),
                    Err(_) => self.host_match(host, Kind::Url),
                }
            }),
            Kind::Ipv4 | Kind::Ipv6 => {
                ip_network(obs).and_then(|net| self.network_match(&net, obs.kind))
            }
            _ => None,
        };
        structural
            .or_else(|| self.substring_match(obs))
            .or_else(|| {
                self.regexes
                    .iter()
                    .find(|(r, id)| self.applies(*id, obs.kind) && r.is_match(&obs.value))
                    .map(|(_, id)| *id)
            })
    }

    fn host_match(&self, host: &str, kind: Kind) -> Option<u16> {
        let mut name = host;
        loop {
            if let Some(id) = self.hosts.get(name) {
                if self.applies(*id, kind) {
                    return Some(*id);
                }
                if let Some(more) = self.more_hosts.get(name) {
                    if let Some(id) = more.iter().find(|id| self.applies(**id, kind)) {
                        return Some(*id);
                    }
                }
            }
            name = name.split_once('.')?.1;
        }
    }

    /// A URL's IP host counts as that IP for lists that apply to IPs.
    fn network_match(&self, net: &IpNet, kind: Kind) -> Option<u16> {
        let (bits, start, len) = parts(net);
        let family = if bits == 32 { &self.v4 } else { &self.v6 };
        let ip_kind = if bits == 32 { Kind::Ipv4 } else { Kind::Ipv6 };
        let id = family.containing(start, len, bits)?;
        (self.applies(id, kind) || (kind == Kind::Url && self.applies(id, ip_kind))).then_some(id)
    }

    fn substring_match(&self, obs: &Observable) -> Option<u16> {
        let matcher = self.substring_matcher.as_ref()?;
        matcher
            .find_overlapping_iter(obs.value.as_str())
            .filter_map(|m| self.substrings.get(m.pattern().as_usize()))
            .map(|(_, id)| *id)
            .find(|id| self.applies(*id, obs.kind))
    }

    /// The loaded lists, in load order.
    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    /// Names of the loaded lists, in load order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lists.iter().map(|l| l.name.as_str())
    }

    /// Lists loaded.
    pub fn len(&self) -> usize {
        self.lists.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(kind: Kind, v: &str) -> Observable {
        canonicalize(kind, v).unwrap()
    }

    #[test]
    fn every_list_type_matches_as_misp_matches_it() {
        let mut w = Warninglists::default();
        let l = w
            .add_json("resolvers", r#"{"name":"resolvers","type":"cidr","list":["8.8.8.8/32","2001:4860::/32","junk"],"version":1}"#)
            .unwrap();
        assert_eq!((l.used, l.skipped), (2, 1));
        w.add_json(
            "cdn",
            r#"{"name":"cdn","type":"hostname","list":["cdn.example.net",".akamai.example"]}"#,
        )
        .unwrap();
        w.add_json("hashes", r#"{"name":"hashes","type":"string","list":["d41d8cd98f00b204e9800998ecf8427e","benign.example"]}"#)
            .unwrap();
        let sub = w
            .add_json(
                "sandboxes",
                r#"{"name":"sandboxes","type":"substring","list":["Any.Run"],"matching_attributes":["domain","url"]}"#,
            )
            .unwrap();
        assert_eq!((sub.used, sub.skipped), (1, 0));
        let re = w
            .add_json(
                "contacts",
                r#"{"name":"contacts","type":"regex","list":["/^(abuse|noc)\\@.*$/i","/x/e"],"matching_attributes":["email-src"]}"#,
            )
            .unwrap();
        assert_eq!((re.used, re.skipped), (1, 1), "the `e` flag is refused");

        assert_eq!(w.matching(&o(Kind::Ipv4, "8.8.8.8")), Some("resolvers"));
        assert_eq!(
            w.matching(&o(Kind::Ipv6, "2001:4860:4860::8888")),
            Some("resolvers")
        );
        assert_eq!(w.matching(&o(Kind::Ipv4, "8.8.4.4")), None);
        assert_eq!(
            w.matching(&o(Kind::Ipv4, "8.0.0.0/8")),
            None,
            "a wide block holding a listed address is not on the list"
        );
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
        assert_eq!(
            w.matching(&o(Kind::Domain, "app.any.run")),
            Some("sandboxes")
        );
        assert_eq!(
            w.matching(&o(Kind::Email, "ABUSE@example.org")),
            Some("contacts")
        );
        assert_eq!(w.matching(&o(Kind::Email, "ceo@example.org")), None);
    }

    #[test]
    fn matching_attributes_limit_a_list_to_its_kinds() {
        let mut w = Warninglists::default();
        w.add_json(
            "ips",
            r#"{"name":"ips","type":"cidr","list":["192.0.2.0/24"],"matching_attributes":["ip-dst"]}"#,
        )
        .unwrap();
        w.add_json(
            "names",
            r#"{"name":"names","type":"hostname","list":["tracker.example"],"matching_attributes":["domain"]}"#,
        )
        .unwrap();
        w.add_json(
            "urls",
            r#"{"name":"urls","type":"hostname","list":["tracker.example"],"matching_attributes":["url"]}"#,
        )
        .unwrap();
        let phones = w
            .add_json(
                "phones",
                r#"{"name":"phones","type":"string","list":["+81 3 0000 0000"],"matching_attributes":["phone-number"]}"#,
            )
            .unwrap();
        assert_eq!((phones.used, phones.skipped), (0, 1));
        assert_eq!(w.matching(&o(Kind::Ipv4, "192.0.2.7")), Some("ips"));
        assert_eq!(
            w.matching(&o(Kind::Url, "http://192.0.2.7/a")),
            Some("ips"),
            "a URL's IP host is that IP"
        );
        assert_eq!(
            w.matching(&o(Kind::Domain, "a.tracker.example")),
            Some("names")
        );
        assert_eq!(
            w.matching(&o(Kind::Url, "http://a.tracker.example/")),
            Some("urls"),
            "the second list naming the same host is kept for its own kinds"
        );
        assert_eq!(w.matching(&o(Kind::Email, "x@tracker.example")), None);
    }

    /// The structured network index answers as a linear scan over the
    /// entries does.
    #[test]
    fn network_containment_agrees_with_a_linear_scan() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let random_net = |r: u64, len_bias: u64| -> IpNet {
            let len = 8 + (len_bias % 25) as u8;
            // A small address space, so that blocks collide often.
            let addr = std::net::Ipv4Addr::from(0x0a00_0000 | ((r as u32) & 0x00ff_ffff));
            IpNet::V4(ipnet::Ipv4Net::new(addr, len).unwrap().trunc())
        };
        let entries: Vec<IpNet> = (0..300).map(|_| random_net(next(), next())).collect();
        let list: Vec<String> = entries.iter().map(|n| n.to_string()).collect();
        let mut w = Warninglists::default();
        w.add_json(
            "nets",
            &serde_json::json!({"name": "nets", "type": "cidr", "list": list}).to_string(),
        )
        .unwrap();
        for _ in 0..5_000 {
            let q = random_net(next(), next());
            let scan = entries.iter().any(|e| e.contains(&q));
            let obs = o(Kind::Ipv4, &q.to_string());
            assert_eq!(w.matching(&obs).is_some(), scan, "{q}");
        }
    }

    #[test]
    fn the_embedded_default_set_loads_and_names_public_resolvers() {
        let mut w = Warninglists::default();
        for id in DEFAULT_SET {
            let text = embedded(id).unwrap();
            let l = w.add_json(id, text).unwrap();
            assert!(l.used > 0, "{id}");
        }
        for v in ["8.8.8.8", "1.1.1.1", "9.9.9.9"] {
            assert!(w.matching(&o(Kind::Ipv4, v)).is_some(), "{v}");
        }
        for d in ["one.one.one.one", "dns.quad9.net", "resolver1.opendns.com"] {
            assert!(w.matching(&o(Kind::Domain, d)).is_some(), "{d}");
        }
        assert_eq!(w.matching(&o(Kind::Domain, "kyojo.example")), None);
    }

    #[test]
    fn bad_lists_are_refused_with_the_reason() {
        let mut w = Warninglists::default();
        assert!(matches!(
            w.add_json("x", "{}"),
            Err(WarninglistError::Format(_))
        ));
        assert!(matches!(
            w.add_json("x", "[1,2]"),
            Err(WarninglistError::Format(_))
        ));
        assert!(matches!(
            w.add_json("x", r#"{"name":"x","type":"glob","list":[]}"#),
            Err(WarninglistError::Format(_))
        ));
        assert!(w.is_empty());
    }
}
