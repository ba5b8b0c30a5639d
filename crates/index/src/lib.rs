//! In-memory matching of observables against the hub's indicators.
//!
//! The index is a snapshot of the store's indicator set (built at start,
//! updated as writes land), never a source of truth: it answers "which
//! indicator ids match this value, and how", and the caller loads what those
//! ids may show from the store and filters by the sharing rules.
//!
//! Matching:
//! * **exact**: same kind and canonical value.
//! * **parent_domain**: a listed `evil.example` matches `a.b.evil.example`,
//!   a URL on such a host and an e-mail address at such a domain.
//! * **url_expression**: a listed URL or domain matches a URL whose Safe
//!   Browsing host-suffix/path-prefix expressions include it.
//! * **cidr**: a listed network contains the queried address or network.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;
use kyojo_core::observable::ip_network;
use kyojo_core::{url, Kind, Observable};

/// Id of an indicator, as the store numbers them.
pub type Id = i64;

/// How a query matched an indicator, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Exact,
    UrlExpression,
    ParentDomain,
    Cidr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub id: Id,
    pub how: MatchKind,
}

/// Networks of one address family, grouped by prefix length so that a
/// containment query is one hash probe per length in use.
#[derive(Debug, Default)]
struct Networks<T> {
    by_len: BTreeMap<u8, HashMap<T, Vec<Id>>>,
}

impl<T: std::hash::Hash + Eq + Copy> Networks<T> {
    fn insert(&mut self, len: u8, net: T, id: Id) {
        let ids = self.by_len.entry(len).or_default().entry(net).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    fn remove(&mut self, len: u8, net: T, id: Id) {
        if let Some(map) = self.by_len.get_mut(&len) {
            if let Some(ids) = map.get_mut(&net) {
                ids.retain(|x| *x != id);
                if ids.is_empty() {
                    map.remove(&net);
                }
            }
            if map.is_empty() {
                self.by_len.remove(&len);
            }
        }
    }

    /// Ids of networks of length <= `len` containing `addr`; `mask(addr, l)` keeps the first l bits.
    fn containing(&self, addr: T, len: u8, mask: impl Fn(T, u8) -> T, out: &mut Vec<(u8, T, Id)>) {
        // Longest prefix first: the most specific network is the most telling match.
        for (&l, map) in self.by_len.range(..=len).rev() {
            let net = mask(addr, l);
            if let Some(ids) = map.get(&net) {
                out.extend(ids.iter().map(|id| (l, net, *id)));
            }
        }
    }
}

fn mask_v4(addr: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        addr & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask_v6(addr: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        addr & (u128::MAX << (128 - u32::from(len)))
    }
}

/// The matching structures over one snapshot of indicators.
#[derive(Debug, Default)]
pub struct Index {
    by_id: HashMap<Id, Observable>,
    exact: HashMap<Observable, Id>,
    domains: HashMap<String, Id>,
    url_expressions: HashMap<String, Vec<Id>>,
    v4: Networks<u32>,
    v6: Networks<u128>,
}

impl Index {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of indicators of each kind.
    pub fn counts_by_kind(&self) -> BTreeMap<Kind, usize> {
        let mut counts = BTreeMap::new();
        for obs in self.by_id.values() {
            *counts.entry(obs.kind).or_insert(0) += 1;
        }
        counts
    }

    /// Adds an indicator (replacing whatever the id stood for before).
    pub fn insert(&mut self, id: Id, obs: &Observable) {
        self.remove(id);
        self.by_id.insert(id, obs.clone());
        self.exact.insert(obs.clone(), id);
        match obs.kind {
            Kind::Domain => {
                self.domains.insert(obs.value.clone(), id);
            }
            Kind::Url => {
                let expr = url::listed_expression(&obs.value);
                let ids = self.url_expressions.entry(expr).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Kind::Ipv4 | Kind::Ipv6 => match ip_network(obs) {
                Some(IpNet::V4(n)) => self.v4.insert(n.prefix_len(), u32::from(n.network()), id),
                Some(IpNet::V6(n)) => self.v6.insert(n.prefix_len(), u128::from(n.network()), id),
                None => {}
            },
            _ => {}
        }
    }

    /// Forgets an indicator; unknown ids are ignored.
    pub fn remove(&mut self, id: Id) {
        let Some(obs) = self.by_id.remove(&id) else {
            return;
        };
        if self.exact.get(&obs) == Some(&id) {
            self.exact.remove(&obs);
        }
        match obs.kind {
            Kind::Domain if self.domains.get(&obs.value) == Some(&id) => {
                self.domains.remove(&obs.value);
            }
            Kind::Url => {
                let expr = url::listed_expression(&obs.value);
                if let Some(ids) = self.url_expressions.get_mut(&expr) {
                    ids.retain(|x| *x != id);
                    if ids.is_empty() {
                        self.url_expressions.remove(&expr);
                    }
                }
            }
            Kind::Ipv4 | Kind::Ipv6 => match ip_network(&obs) {
                Some(IpNet::V4(n)) => self.v4.remove(n.prefix_len(), u32::from(n.network()), id),
                Some(IpNet::V6(n)) => self.v6.remove(n.prefix_len(), u128::from(n.network()), id),
                None => {}
            },
            _ => {}
        }
    }

    /// The observable an id stands for.
    /// The id of exactly this (canonical) value, if indexed.
    pub fn id_of(&self, obs: &Observable) -> Option<Id> {
        self.exact.get(obs).copied()
    }

    pub fn get(&self, id: Id) -> Option<&Observable> {
        self.by_id.get(&id)
    }

    /// Every indicator the (canonical) query matches, each once, strongest match first.
    pub fn lookup(&self, query: &Observable) -> Vec<Match> {
        let mut found: Vec<Match> = Vec::new();
        if let Some(&id) = self.exact.get(query) {
            found.push(Match {
                id,
                how: MatchKind::Exact,
            });
        }
        match query.kind {
            Kind::Domain => self.parent_domains(&query.value, false, &mut found),
            Kind::Email => {
                if let Some((_, domain)) = query.value.rsplit_once('@') {
                    self.parent_domains(domain, true, &mut found);
                }
            }
            Kind::Url => self.url_matches(&query.value, &mut found),
            Kind::Ipv4 | Kind::Ipv6 => {
                if let Some(net) = ip_network(query) {
                    self.cidr_matches(net, &mut found);
                }
            }
            Kind::Md5 | Kind::Sha1 | Kind::Sha256 => {}
        }
        // Keep the strongest match per id; within a kind, discovery order (nearest parent first).
        found.sort_by_key(|m| m.how);
        let mut seen = std::collections::HashSet::new();
        found.retain(|m| seen.insert(m.id));
        found
    }

    /// Listed domains equal to (when `include_self`) or above `host`.
    fn parent_domains(&self, host: &str, include_self: bool, out: &mut Vec<Match>) {
        if include_self {
            if let Some(&id) = self.domains.get(host) {
                out.push(Match {
                    id,
                    how: MatchKind::ParentDomain,
                });
            }
        }
        let mut rest = host;
        while let Some((_, parent)) = rest.split_once('.') {
            // A bare top-level label is never a listed domain worth matching.
            if !parent.contains('.') {
                break;
            }
            if let Some(&id) = self.domains.get(parent) {
                out.push(Match {
                    id,
                    how: MatchKind::ParentDomain,
                });
            }
            rest = parent;
        }
    }

    fn url_matches(&self, canonical: &str, out: &mut Vec<Match>) {
        for expr in url::lookup_expressions(canonical) {
            if let Some(ids) = self.url_expressions.get(&expr) {
                out.extend(ids.iter().map(|&id| Match {
                    id,
                    how: MatchKind::UrlExpression,
                }));
            }
        }
        let Some(parts) = url::split(canonical) else {
            return;
        };
        let host = parts.host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            let before = out.len();
            self.cidr_matches(IpNet::from(ip), out);
            // The URL's host being exactly a listed address is a URL-level match.
            for m in &mut out[before..] {
                if m.how == MatchKind::Exact {
                    m.how = MatchKind::UrlExpression;
                }
            }
        } else {
            if let Some(&id) = self.domains.get(host) {
                out.push(Match {
                    id,
                    how: MatchKind::UrlExpression,
                });
            }
            self.parent_domains(host, false, out);
        }
    }

    fn cidr_matches(&self, net: IpNet, out: &mut Vec<Match>) {
        match net {
            IpNet::V4(n) => {
                let mut hits = Vec::new();
                self.v4
                    .containing(u32::from(n.network()), n.prefix_len(), mask_v4, &mut hits);
                for (len, base, id) in hits {
                    let how = if len == n.prefix_len() && base == u32::from(n.network()) {
                        MatchKind::Exact
                    } else {
                        MatchKind::Cidr
                    };
                    out.push(Match { id, how });
                }
            }
            IpNet::V6(n) => {
                let mut hits = Vec::new();
                self.v6
                    .containing(u128::from(n.network()), n.prefix_len(), mask_v6, &mut hits);
                for (len, base, id) in hits {
                    let how = if len == n.prefix_len() && base == u128::from(n.network()) {
                        MatchKind::Exact
                    } else {
                        MatchKind::Cidr
                    };
                    out.push(Match { id, how });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyojo_core::observable::canonicalize;

    fn o(kind: Kind, v: &str) -> Observable {
        canonicalize(kind, v).unwrap()
    }

    fn index(items: &[(Id, Kind, &str)]) -> Index {
        let mut ix = Index::new();
        for (id, kind, v) in items {
            ix.insert(*id, &o(*kind, v));
        }
        ix
    }

    fn hits(ix: &Index, kind: Kind, v: &str) -> Vec<(Id, MatchKind)> {
        ix.lookup(&o(kind, v))
            .into_iter()
            .map(|m| (m.id, m.how))
            .collect()
    }

    #[test]
    fn domains_match_exactly_and_as_parents() {
        let ix = index(&[
            (1, Kind::Domain, "evil.example"),
            (2, Kind::Domain, "b.evil.example"),
        ]);
        assert_eq!(
            hits(&ix, Kind::Domain, "evil.example"),
            vec![(1, MatchKind::Exact)]
        );
        assert_eq!(
            hits(&ix, Kind::Domain, "a.b.evil.example"),
            vec![(2, MatchKind::ParentDomain), (1, MatchKind::ParentDomain)]
        );
        assert_eq!(hits(&ix, Kind::Domain, "notevil.example"), vec![]);
        assert_eq!(hits(&ix, Kind::Domain, "example.com"), vec![]);
    }

    #[test]
    fn urls_match_by_expression_and_host() {
        let ix = index(&[
            (1, Kind::Url, "http://evil.example/phish/"),
            (2, Kind::Domain, "bad.example"),
            (3, Kind::Url, "http://host.example/a/b.html?x=1"),
            (4, Kind::Ipv4, "192.0.2.0/24"),
        ]);
        assert_eq!(
            hits(&ix, Kind::Url, "http://evil.example/phish/login.php?u=1"),
            vec![(1, MatchKind::UrlExpression)]
        );
        assert_eq!(
            hits(&ix, Kind::Url, "https://www.evil.example/phish/x"),
            vec![(1, MatchKind::UrlExpression)]
        );
        assert_eq!(hits(&ix, Kind::Url, "http://evil.example/other"), vec![]);
        assert_eq!(
            hits(&ix, Kind::Url, "http://bad.example/anything"),
            vec![(2, MatchKind::UrlExpression)]
        );
        assert_eq!(
            hits(&ix, Kind::Url, "http://x.y.bad.example/"),
            vec![(2, MatchKind::ParentDomain)]
        );
        assert_eq!(
            hits(&ix, Kind::Url, "http://host.example/a/b.html?x=1"),
            vec![(3, MatchKind::Exact)]
        );
        assert_eq!(hits(&ix, Kind::Url, "http://host.example/a/b.html"), vec![]);
        assert_eq!(
            hits(&ix, Kind::Url, "http://192.0.2.77/x"),
            vec![(4, MatchKind::Cidr)]
        );
    }

    #[test]
    fn cidr_containment_both_families() {
        let ix = index(&[
            (1, Kind::Ipv4, "198.51.100.0/24"),
            (2, Kind::Ipv4, "198.51.100.7"),
            (3, Kind::Ipv6, "2001:db8::/32"),
            (4, Kind::Ipv4, "0.0.0.0/0"),
        ]);
        assert_eq!(
            hits(&ix, Kind::Ipv4, "198.51.100.7"),
            vec![
                (2, MatchKind::Exact),
                (1, MatchKind::Cidr),
                (4, MatchKind::Cidr)
            ]
        );
        assert_eq!(
            hits(&ix, Kind::Ipv4, "198.51.100.128/25"),
            vec![(1, MatchKind::Cidr), (4, MatchKind::Cidr)]
        );
        assert_eq!(
            hits(&ix, Kind::Ipv6, "2001:db8:1::5"),
            vec![(3, MatchKind::Cidr)]
        );
        assert_eq!(hits(&ix, Kind::Ipv6, "2001:db9::1"), vec![]);
    }

    #[test]
    fn emails_match_their_domain_and_hashes_exactly() {
        let h = "d41d8cd98f00b204e9800998ecf8427e";
        let ix = index(&[
            (1, Kind::Domain, "evil.example"),
            (2, Kind::Md5, h),
            (3, Kind::Email, "a@b.example"),
        ]);
        assert_eq!(
            hits(&ix, Kind::Email, "ceo@mail.evil.example"),
            vec![(1, MatchKind::ParentDomain)]
        );
        assert_eq!(
            hits(&ix, Kind::Email, "a@b.example"),
            vec![(3, MatchKind::Exact)]
        );
        assert_eq!(
            hits(&ix, Kind::Md5, &h.to_uppercase()),
            vec![(2, MatchKind::Exact)]
        );
    }

    #[test]
    fn removal_forgets_everything() {
        let mut ix = index(&[
            (1, Kind::Domain, "evil.example"),
            (2, Kind::Url, "http://u.example/x"),
            (3, Kind::Ipv4, "10.0.0.0/8"),
        ]);
        for id in [1, 2, 3] {
            ix.remove(id);
        }
        assert!(ix.is_empty());
        assert_eq!(hits(&ix, Kind::Domain, "a.evil.example"), vec![]);
        assert_eq!(hits(&ix, Kind::Url, "http://u.example/x"), vec![]);
        assert_eq!(hits(&ix, Kind::Ipv4, "10.1.2.3"), vec![]);
        assert!(ix.v4.by_len.is_empty() && ix.url_expressions.is_empty());
    }

    proptest::proptest! {
        /// Every inserted indicator is found exactly by its own value, and a
        /// listed network contains every address inside it.
        #[test]
        fn inserted_values_are_found(a in 0u32.., len in 0u8..=32, host in 0u32..) {
            let net = ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(a), len).unwrap().trunc();
            let mut ix = Index::new();
            let listed = o(Kind::Ipv4, &net.to_string());
            ix.insert(7, &listed);
            proptest::prop_assert_eq!(ix.lookup(&listed), vec![Match { id: 7, how: MatchKind::Exact }]);
            let inside = u32::from(net.network()) | (host & !mask_v4(u32::MAX, len));
            let q = o(Kind::Ipv4, &std::net::Ipv4Addr::from(inside).to_string());
            proptest::prop_assert!(ix.lookup(&q).iter().any(|m| m.id == 7));
        }
    }
}
