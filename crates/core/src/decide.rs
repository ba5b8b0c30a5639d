//! The Decide step: whether an indicator belongs in block feeds, why, and
//! until when. Pure: callers gather the facts, this module judges them.
//!
//! Order of precedence:
//! 1. The allow list (public suffixes, reserved and private address ranges,
//!    the hub's own host names, well-known benign hashes, the operator's
//!    list): such a value is never actionable, whatever anyone says.
//! 2. The latest unexpired analyst decision: `block` or `allow`.
//! 3. The community rules: reported in a CLEAR or GREEN report by a trusted
//!    organization, or sighted by at least N organizations within D days.
//!
//! A block lasts until its decision's expiry, or else until the kind's
//! lifetime after the last report or sighting (hashes: no limit by default).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::observable::{ip_network, Kind, Observable};
use crate::policy::OrgId;
use crate::tlp::Tlp;
use crate::url;

const DAY_MS: i64 = 86_400_000;

/// Why a value can never be blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowReason {
    /// The value is itself a public suffix (`co.jp`, `github.io`).
    PublicSuffix(String),
    /// The address or network overlaps a reserved or private range.
    ReservedAddress(&'static str),
    /// One of the hub's own host names (or a name above it).
    HubHost(String),
    /// A hash of content that is benign everywhere (the empty file).
    BenignHash(&'static str),
    /// A well-known public DNS resolver: blocking it would cut every
    /// member's users off name resolution.
    PublicResolver(&'static str),
    /// On a false-positive list kyojo carries (public resolvers, sinkholes):
    /// never blockable.
    Warninglist(String),
    /// On a false-positive list the operator loaded: no rule makes it
    /// actionable, but an explicit block decision still applies (a top site
    /// can be compromised).
    AdvisoryWarninglist(String),
    /// A network wider than the hub lets one block cover.
    TooWide { prefix: u8, widest: u8 },
    /// On the operator's allow list.
    Operator(String),
}

impl AllowReason {
    /// Whether an explicit, live block decision outweighs this reason (only
    /// for lists the operator loaded; everything else is never blockable).
    pub fn yields_to_block(&self) -> bool {
        matches!(self, AllowReason::AdvisoryWarninglist(_))
    }
}

impl std::fmt::Display for AllowReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AllowReason::PublicSuffix(s) => write!(
                f,
                "{s} is a public suffix; blocking it would block every site under it"
            ),
            AllowReason::ReservedAddress(r) => write!(f, "overlaps the reserved range {r}"),
            AllowReason::HubHost(h) => write!(f, "{h} is this hub's own host name"),
            AllowReason::BenignHash(what) => {
                write!(f, "the hash of {what}, which is benign everywhere")
            }
            AllowReason::PublicResolver(who) => {
                write!(f, "a public DNS resolver ({who}); never blockable")
            }
            AllowReason::Warninglist(name) => write!(f, "on the false-positive list {name:?}"),
            AllowReason::AdvisoryWarninglist(name) => write!(
                f,
                "on the false-positive list {name:?}; only an explicit block applies"
            ),
            AllowReason::TooWide { prefix, widest } => write!(
                f,
                "a /{prefix} network is wider than one block may cover (/{widest} at most)"
            ),
            AllowReason::Operator(c) if c.is_empty() => f.write_str("on the operator's allow list"),
            AllowReason::Operator(c) => write!(f, "on the operator's allow list ({c})"),
        }
    }
}

impl AllowReason {
    /// A documentation range (RFC 5737, RFC 3849, RFC 9637): the only
    /// reserved ranges a demo hub lets through.
    pub fn is_documentation_range(&self) -> bool {
        matches!(self, AllowReason::ReservedAddress(r) if r.ends_with("(documentation)"))
    }
}

/// Reserved, private and special-purpose networks (IANA registries).
const RESERVED_V4: [(&str, Ipv4Addr, u8); 16] = [
    ("0.0.0.0/8 (this network)", Ipv4Addr::new(0, 0, 0, 0), 8),
    ("10.0.0.0/8 (private)", Ipv4Addr::new(10, 0, 0, 0), 8),
    (
        "100.64.0.0/10 (shared address space)",
        Ipv4Addr::new(100, 64, 0, 0),
        10,
    ),
    ("127.0.0.0/8 (loopback)", Ipv4Addr::new(127, 0, 0, 0), 8),
    (
        "169.254.0.0/16 (link-local)",
        Ipv4Addr::new(169, 254, 0, 0),
        16,
    ),
    ("172.16.0.0/12 (private)", Ipv4Addr::new(172, 16, 0, 0), 12),
    (
        "192.0.0.0/24 (IETF protocol assignments)",
        Ipv4Addr::new(192, 0, 0, 0),
        24,
    ),
    (
        "192.0.2.0/24 (documentation)",
        Ipv4Addr::new(192, 0, 2, 0),
        24,
    ),
    (
        "192.88.99.0/24 (6to4 relay)",
        Ipv4Addr::new(192, 88, 99, 0),
        24,
    ),
    (
        "192.168.0.0/16 (private)",
        Ipv4Addr::new(192, 168, 0, 0),
        16,
    ),
    (
        "198.18.0.0/15 (benchmarking)",
        Ipv4Addr::new(198, 18, 0, 0),
        15,
    ),
    (
        "198.51.100.0/24 (documentation)",
        Ipv4Addr::new(198, 51, 100, 0),
        24,
    ),
    (
        "203.0.113.0/24 (documentation)",
        Ipv4Addr::new(203, 0, 113, 0),
        24,
    ),
    ("224.0.0.0/4 (multicast)", Ipv4Addr::new(224, 0, 0, 0), 4),
    ("240.0.0.0/4 (reserved)", Ipv4Addr::new(240, 0, 0, 0), 4),
    (
        "255.255.255.255/32 (broadcast)",
        Ipv4Addr::new(255, 255, 255, 255),
        32,
    ),
];

const RESERVED_V6: [(&str, Ipv6Addr, u8); 11] = [
    ("::/128 (unspecified)", Ipv6Addr::UNSPECIFIED, 128),
    ("::1/128 (loopback)", Ipv6Addr::LOCALHOST, 128),
    (
        "::ffff:0:0/96 (IPv4-mapped)",
        Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0),
        96,
    ),
    (
        "64:ff9b::/96 (NAT64)",
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
        96,
    ),
    (
        "100::/64 (discard)",
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
    ),
    (
        "2001::/23 (IETF protocol assignments)",
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
    ),
    (
        "2001:db8::/32 (documentation)",
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
    ),
    (
        "3fff::/20 (documentation)",
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
    ),
    (
        "fc00::/7 (unique local)",
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
    ),
    (
        "fe80::/10 (link-local)",
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        10,
    ),
    (
        "ff00::/8 (multicast)",
        Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),
        8,
    ),
];

const BENIGN_HASHES: [(&str, &str); 3] = [
    ("d41d8cd98f00b204e9800998ecf8427e", "the empty file (MD5)"),
    (
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "the empty file (SHA-1)",
    ),
    (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "the empty file (SHA-256)",
    ),
];

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The reserved range an address or network overlaps, if any.
pub fn reserved_range(net: &IpNet) -> Option<&'static str> {
    match net {
        IpNet::V4(_) => RESERVED_V4.iter().find_map(|(name, addr, len)| {
            let r = IpNet::V4(Ipv4Net::new(*addr, *len).ok()?);
            overlaps(net, &r).then_some(*name)
        }),
        IpNet::V6(_) => RESERVED_V6.iter().find_map(|(name, addr, len)| {
            let r = IpNet::V6(Ipv6Net::new(*addr, *len).ok()?);
            overlaps(net, &r).then_some(*name)
        }),
    }
}

/// Whether a domain is itself a public suffix (ICANN or private section).
pub fn is_public_suffix(domain: &str) -> bool {
    psl::suffix_str(domain).is_some_and(|s| s == domain)
}

/// Well-known public DNS resolvers (the core of MISP's `public-dns-v4`/`-v6`
/// warninglists): never blockable, whoever asks, since blocking one cuts
/// every user behind the feed off name resolution.
const PUBLIC_RESOLVERS: &[(&str, &str)] = &[
    ("8.8.8.8", "Google Public DNS"),
    ("8.8.4.4", "Google Public DNS"),
    ("2001:4860:4860::8888", "Google Public DNS"),
    ("2001:4860:4860::8844", "Google Public DNS"),
    ("1.1.1.1", "Cloudflare"),
    ("1.0.0.1", "Cloudflare"),
    ("1.1.1.2", "Cloudflare for Families"),
    ("1.0.0.2", "Cloudflare for Families"),
    ("1.1.1.3", "Cloudflare for Families"),
    ("1.0.0.3", "Cloudflare for Families"),
    ("2606:4700:4700::1111", "Cloudflare"),
    ("2606:4700:4700::1001", "Cloudflare"),
    ("9.9.9.9", "Quad9"),
    ("149.112.112.112", "Quad9"),
    ("9.9.9.10", "Quad9"),
    ("9.9.9.11", "Quad9"),
    ("2620:fe::fe", "Quad9"),
    ("2620:fe::9", "Quad9"),
    ("208.67.222.222", "OpenDNS"),
    ("208.67.220.220", "OpenDNS"),
    ("208.67.222.123", "OpenDNS FamilyShield"),
    ("208.67.220.123", "OpenDNS FamilyShield"),
    ("2620:119:35::35", "OpenDNS"),
    ("2620:119:53::53", "OpenDNS"),
    ("94.140.14.14", "AdGuard DNS"),
    ("94.140.15.15", "AdGuard DNS"),
    ("2a10:50c0::ad1:ff", "AdGuard DNS"),
    ("2a10:50c0::ad2:ff", "AdGuard DNS"),
    ("185.228.168.9", "CleanBrowsing"),
    ("185.228.169.9", "CleanBrowsing"),
    ("76.76.2.0", "Control D"),
    ("76.76.10.0", "Control D"),
    ("64.6.64.6", "Verisign Public DNS"),
    ("64.6.65.6", "Verisign Public DNS"),
    ("77.88.8.8", "Yandex DNS"),
    ("77.88.8.1", "Yandex DNS"),
    ("84.200.69.80", "DNS.WATCH"),
    ("84.200.70.40", "DNS.WATCH"),
    ("4.2.2.1", "Level 3"),
    ("4.2.2.2", "Level 3"),
    ("4.2.2.3", "Level 3"),
    ("4.2.2.4", "Level 3"),
    ("114.114.114.114", "114DNS"),
    ("114.114.115.115", "114DNS"),
    ("223.5.5.5", "AliDNS"),
    ("223.6.6.6", "AliDNS"),
    ("119.29.29.29", "DNSPod"),
    ("180.76.76.76", "Baidu DNS"),
    ("101.101.101.101", "Quad101 (TWNIC)"),
    ("168.126.63.1", "KT"),
    ("168.126.63.2", "KT"),
];

/// The public resolver inside `net`, if any: a network that contains one
/// would block it too.
pub fn public_resolver(net: &IpNet) -> Option<&'static str> {
    PUBLIC_RESOLVERS
        .iter()
        .find(|(addr, _)| {
            addr.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| net.contains(&ip))
        })
        .map(|(_, who)| *who)
}

/// The widest networks one block may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Widths {
    /// IPv4: /16 (65,536 addresses) by default.
    pub widest_ipv4_prefix: u8,
    /// IPv6: /32 (one provider's allocation) by default.
    pub widest_ipv6_prefix: u8,
}

impl Default for Widths {
    fn default() -> Self {
        Widths {
            widest_ipv4_prefix: 16,
            widest_ipv6_prefix: 32,
        }
    }
}

impl Widths {
    /// Why `obs` is too wide to block, if it is.
    pub fn too_wide(&self, obs: &Observable) -> Option<AllowReason> {
        let net = match obs.kind {
            Kind::Ipv4 | Kind::Ipv6 => ip_network(obs)?,
            _ => return None,
        };
        let widest = match net {
            IpNet::V4(_) => self.widest_ipv4_prefix,
            IpNet::V6(_) => self.widest_ipv6_prefix,
        };
        (net.prefix_len() < widest).then_some(AllowReason::TooWide {
            prefix: net.prefix_len(),
            widest,
        })
    }
}

/// Built-in allow rules plus the hub's own names; the operator's list is the caller's.
pub fn builtin_allow(obs: &Observable, hub_hosts: &[String]) -> Option<AllowReason> {
    let host_rules = |host: &str| -> Option<AllowReason> {
        if is_public_suffix(host) {
            return Some(AllowReason::PublicSuffix(host.to_string()));
        }
        hub_hosts
            .iter()
            .find(|h| *h == host || h.ends_with(&format!(".{host}")))
            .map(|h| AllowReason::HubHost(h.clone()))
    };
    match obs.kind {
        Kind::Domain => host_rules(&obs.value),
        Kind::Ipv4 | Kind::Ipv6 => {
            let net = ip_network(obs)?;
            reserved_range(&net)
                .map(AllowReason::ReservedAddress)
                .or_else(|| public_resolver(&net).map(AllowReason::PublicResolver))
        }
        Kind::Url => {
            let parts = url::split(&obs.value)?;
            let host = parts.host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                let net = IpNet::from(ip);
                return reserved_range(&net)
                    .map(AllowReason::ReservedAddress)
                    .or_else(|| public_resolver(&net).map(AllowReason::PublicResolver));
            }
            // A URL that is a whole public-suffix host would, as a Safe
            // Browsing expression, match every site under it.
            if is_public_suffix(host) {
                return Some(AllowReason::PublicSuffix(host.to_string()));
            }
            hub_hosts
                .iter()
                .find(|h| *h == host)
                .map(|h| AllowReason::HubHost(h.clone()))
        }
        Kind::Email => None,
        Kind::Md5 | Kind::Sha1 | Kind::Sha256 => BENIGN_HASHES
            .iter()
            .find(|(h, _)| *h == obs.value)
            .map(|(_, what)| AllowReason::BenignHash(what)),
    }
}

/// What an analyst said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Block,
    Allow,
    /// Withdraw earlier decisions: the community rules decide again.
    Unset,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Allow => "allow",
            Action::Unset => "unset",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        [Action::Block, Action::Allow, Action::Unset]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// An analyst's decision, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub comment: String,
    pub decided_at: i64,
    pub expires_at: Option<i64>,
    /// The viewer's own organization's decision (its own feeds), rather than
    /// a hub-wide one.
    pub own: bool,
}

/// How long an indicator of each kind stays actionable after it was last
/// reported or sighted; `None` is no limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lifetimes {
    pub url_days: Option<u32>,
    pub domain_days: Option<u32>,
    pub ip_days: Option<u32>,
    pub email_days: Option<u32>,
    pub hash_days: Option<u32>,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            url_days: Some(30),
            domain_days: Some(90),
            ip_days: Some(14),
            email_days: Some(30),
            hash_days: None,
        }
    }
}

impl Lifetimes {
    pub fn for_kind(&self, kind: Kind) -> Option<u32> {
        match kind {
            Kind::Url => self.url_days,
            Kind::Domain => self.domain_days,
            Kind::Ipv4 | Kind::Ipv6 => self.ip_days,
            Kind::Email => self.email_days,
            Kind::Md5 | Kind::Sha1 | Kind::Sha256 => self.hash_days,
        }
    }
}

/// The community rules that make an indicator actionable without an analyst.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Organizations (by name) whose CLEAR or GREEN reports are acted on at once.
    pub trusted_orgs: Vec<String>,
    /// Sighted by at least this many distinct organizations...
    pub min_sighting_orgs: u32,
    /// ...within this many days. 0 turns the sighting rule off.
    pub sighting_window_days: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            trusted_orgs: Vec::new(),
            min_sighting_orgs: 3,
            sighting_window_days: 7,
        }
    }
}

/// A report mentioning the indicator, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFact {
    pub tlp: Tlp,
    /// The author, when not anonymous.
    pub author: Option<OrgId>,
    pub created_at: i64,
}

/// Sightings of the indicator by one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SightingFact {
    pub org: OrgId,
    pub last_seen: i64,
}

/// Everything the Decide step knows about one indicator.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub kind: Kind,
    /// From the allow lists (built-in and operator), if listed.
    pub allowed: Option<AllowReason>,
    /// Latest analyst decision, if any.
    pub decision: Option<&'a Decision>,
    pub reports: &'a [ReportFact],
    pub sightings: &'a [SightingFact],
    /// Organization ids of `Rules::trusted_orgs`.
    pub trusted: &'a [OrgId],
}

/// What made an indicator actionable: a feed shows it only to a viewer who
/// may see that basis (a trusted report it may read, a hub-wide or its own
/// decision, sightings it may know of).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    HubDecision,
    OwnDecision,
    TrustedReport,
    Sightings,
}

/// Whether a report counts for the "trusted organization" rule.
pub fn is_trusted_report(r: &ReportFact, trusted: &[OrgId]) -> bool {
    r.tlp.may_leave_hub() && r.author.is_some_and(|a| trusted.contains(&a))
}

/// The Decide step's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Block {
        reason: String,
        /// None: no expiry.
        expires_at: Option<i64>,
        basis: Basis,
    },
    NotActionable {
        reason: String,
    },
}

impl Verdict {
    pub fn is_block_at(&self, now: i64) -> bool {
        matches!(self, Verdict::Block { expires_at, .. } if expires_at.is_none_or(|e| e > now))
    }
}

/// Who made a decision, as a reason names them: never an organization.
fn decider(d: &Decision) -> &'static str {
    if d.own {
        "your organization"
    } else {
        "the hub's curators"
    }
}

/// Judges one indicator at time `now`.
pub fn verdict(f: &Facts<'_>, rules: &Rules, lifetimes: &Lifetimes, now: i64) -> Verdict {
    if let Some(why) = &f.allowed {
        let explicit_block = f
            .decision
            .is_some_and(|d| d.action == Action::Block && d.expires_at.is_none_or(|e| e > now));
        if !(why.yields_to_block() && explicit_block) {
            return Verdict::NotActionable {
                reason: format!("allow-listed: {why}"),
            };
        }
    }
    let last_activity = f
        .reports
        .iter()
        .map(|r| r.created_at)
        .chain(f.sightings.iter().map(|s| s.last_seen))
        .max();
    let lifetime_end = |from: i64| {
        lifetimes
            .for_kind(f.kind)
            .map(|days| from + i64::from(days) * DAY_MS)
    };
    if let Some(d) = f.decision {
        let live = d.expires_at.is_none_or(|e| e > now);
        match (d.action, live) {
            (Action::Allow, true) => {
                return Verdict::NotActionable {
                    reason: format!("allowed by {}: {}", decider(d), d.comment),
                }
            }
            (Action::Block, true) => {
                let from = last_activity.unwrap_or(d.decided_at).max(d.decided_at);
                return Verdict::Block {
                    reason: format!("blocked by {}: {}", decider(d), d.comment),
                    expires_at: d.expires_at.or_else(|| lifetime_end(from)),
                    basis: if d.own {
                        Basis::OwnDecision
                    } else {
                        Basis::HubDecision
                    },
                };
            }
            _ => {}
        }
    }
    let trusted_report = f
        .reports
        .iter()
        .filter(|r| is_trusted_report(r, f.trusted))
        .map(|r| r.created_at)
        .max();
    if let Some(at) = trusted_report {
        let expires_at = lifetime_end(last_activity.unwrap_or(at));
        let v = Verdict::Block {
            reason: "reported by a trusted organization".to_string(),
            expires_at,
            basis: Basis::TrustedReport,
        };
        if v.is_block_at(now) {
            return v;
        }
    }
    if rules.sighting_window_days > 0 && rules.min_sighting_orgs > 0 {
        let since = now - i64::from(rules.sighting_window_days) * DAY_MS;
        let mut orgs: Vec<OrgId> = f
            .sightings
            .iter()
            .filter(|s| s.last_seen >= since)
            .map(|s| s.org)
            .collect();
        orgs.sort_unstable();
        orgs.dedup();
        if orgs.len() >= rules.min_sighting_orgs as usize {
            return Verdict::Block {
                reason: format!(
                    "sighted by {} organizations within {} days",
                    orgs.len(),
                    rules.sighting_window_days
                ),
                expires_at: lifetime_end(last_activity.unwrap_or(now)),
                basis: Basis::Sightings,
            };
        }
    }
    Verdict::NotActionable {
        reason: "no analyst decision and no community rule applies".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observable::canonicalize;

    fn o(kind: Kind, v: &str) -> Observable {
        canonicalize(kind, v).unwrap()
    }

    #[test]
    fn public_suffixes_are_never_blockable() {
        for d in [
            "co.jp",
            "github.io",
            "blogspot.com",
            "lg.jp",
            "s3.amazonaws.com",
        ] {
            let r = builtin_allow(&o(Kind::Domain, d), &[]);
            assert!(
                matches!(r, Some(AllowReason::PublicSuffix(_))),
                "{d}: {r:?}"
            );
        }
        for d in [
            "evil.co.jp",
            "evil.github.io",
            "example.com",
            "evil.example",
        ] {
            assert_eq!(builtin_allow(&o(Kind::Domain, d), &[]), None, "{d}");
        }
        assert!(matches!(
            builtin_allow(&o(Kind::Url, "http://github.io/"), &[]),
            Some(AllowReason::PublicSuffix(_))
        ));
        assert_eq!(
            builtin_allow(&o(Kind::Url, "http://evil.github.io/"), &[]),
            None
        );
    }

    #[test]
    fn reserved_ranges_are_never_blockable_even_in_part() {
        for v in [
            "10.1.2.3",
            "192.168.0.0/16",
            "127.0.0.1",
            "0.0.0.0/0",
            "8.0.0.0/6",
            "192.0.2.1",
            "224.0.0.1",
            "169.254.1.1",
        ] {
            assert!(
                matches!(
                    builtin_allow(&o(Kind::Ipv4, v), &[]),
                    Some(AllowReason::ReservedAddress(_))
                ),
                "{v}"
            );
        }
        for v in [
            "::1",
            "fe80::1",
            "fd00::/8",
            "2001:db8::1",
            "::/0",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                matches!(
                    builtin_allow(&o(Kind::Ipv6, v), &[]),
                    Some(AllowReason::ReservedAddress(_))
                ),
                "{v}"
            );
        }
        for v in ["45.33.32.156", "8.8.9.0/24", "1.1.1.4"] {
            assert_eq!(builtin_allow(&o(Kind::Ipv4, v), &[]), None, "{v}");
        }
        assert_eq!(builtin_allow(&o(Kind::Ipv6, "2606:4700::1111"), &[]), None);
        // Public resolvers, and any network containing one, never.
        for (kind, v) in [
            (Kind::Ipv4, "8.8.8.8"),
            (Kind::Ipv4, "8.8.8.0/24"),
            (Kind::Ipv4, "1.1.1.1"),
            (Kind::Ipv4, "1.0.0.0/8"),
            (Kind::Ipv6, "2606:4700:4700::1111"),
            (Kind::Url, "http://9.9.9.9/dns-query"),
        ] {
            assert!(
                matches!(
                    builtin_allow(&o(kind, v), &[]),
                    Some(AllowReason::PublicResolver(_))
                ),
                "{v}"
            );
        }
        assert!(builtin_allow(&o(Kind::Url, "http://10.0.0.1/admin"), &[]).is_some());
    }

    #[test]
    fn networks_wider_than_the_limit_are_never_blockable() {
        let w = Widths::default();
        assert_eq!(
            w.too_wide(&o(Kind::Ipv4, "64.0.0.0/3")),
            Some(AllowReason::TooWide {
                prefix: 3,
                widest: 16
            })
        );
        assert!(w.too_wide(&o(Kind::Ipv4, "45.0.0.0/8")).is_some());
        assert_eq!(w.too_wide(&o(Kind::Ipv4, "45.33.0.0/16")), None);
        assert_eq!(w.too_wide(&o(Kind::Ipv4, "45.33.32.156")), None);
        assert!(w.too_wide(&o(Kind::Ipv6, "2a00::/16")).is_some());
        assert_eq!(w.too_wide(&o(Kind::Ipv6, "2a00:1450::/32")), None);
        assert_eq!(w.too_wide(&o(Kind::Domain, "example.com")), None);
    }

    #[test]
    fn hub_hosts_and_benign_hashes() {
        let hub = vec!["warn.kyojo.example".to_string()];
        assert!(matches!(
            builtin_allow(&o(Kind::Domain, "warn.kyojo.example"), &hub),
            Some(AllowReason::HubHost(_))
        ));
        assert!(matches!(
            builtin_allow(&o(Kind::Domain, "kyojo.example"), &hub),
            Some(AllowReason::HubHost(_))
        ));
        assert_eq!(
            builtin_allow(&o(Kind::Domain, "other.kyojo.example"), &hub),
            None
        );
        assert!(matches!(
            builtin_allow(
                &o(
                    Kind::Sha256,
                    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
                ),
                &[]
            ),
            Some(AllowReason::BenignHash(_))
        ));
    }

    const NOW: i64 = 1_000 * DAY_MS;

    fn facts<'a>(
        kind: Kind,
        decision: Option<&'a Decision>,
        reports: &'a [ReportFact],
        sightings: &'a [SightingFact],
        trusted: &'a [OrgId],
    ) -> Facts<'a> {
        Facts {
            kind,
            allowed: None,
            decision,
            reports,
            sightings,
            trusted,
        }
    }

    #[test]
    fn analyst_decisions_win_over_rules_and_expire() {
        let rules = Rules::default();
        let life = Lifetimes::default();
        let sightings: Vec<SightingFact> = (1..=3)
            .map(|org| SightingFact {
                org,
                last_seen: NOW - DAY_MS,
            })
            .collect();
        let allow = Decision {
            action: Action::Allow,
            comment: "our CDN".into(),
            decided_at: NOW - 1,
            expires_at: None,
            own: false,
        };
        let v = verdict(
            &facts(Kind::Domain, Some(&allow), &[], &sightings, &[]),
            &rules,
            &life,
            NOW,
        );
        assert!(matches!(v, Verdict::NotActionable { ref reason } if reason.contains("our CDN")));
        let block = Decision {
            action: Action::Block,
            comment: "phish kit".into(),
            decided_at: NOW - 10,
            expires_at: Some(NOW + DAY_MS),
            own: false,
        };
        let v = verdict(
            &facts(Kind::Domain, Some(&block), &[], &[], &[]),
            &rules,
            &life,
            NOW,
        );
        assert_eq!(
            v,
            Verdict::Block {
                reason: "blocked by the hub's curators: phish kit".into(),
                expires_at: Some(NOW + DAY_MS),
                basis: Basis::HubDecision,
            }
        );
        assert!(!v.is_block_at(NOW + 2 * DAY_MS));
        // An expired block falls back to the rules.
        let old = Decision {
            expires_at: Some(NOW - 1),
            ..block.clone()
        };
        let v = verdict(
            &facts(Kind::Domain, Some(&old), &[], &sightings, &[]),
            &rules,
            &life,
            NOW,
        );
        assert!(
            matches!(v, Verdict::Block { ref reason, .. } if reason.starts_with("sighted by 3"))
        );
        // Unset: rules decide.
        let unset = Decision {
            action: Action::Unset,
            comment: String::new(),
            decided_at: NOW,
            expires_at: None,
            own: false,
        };
        let v = verdict(
            &facts(Kind::Domain, Some(&unset), &[], &[], &[]),
            &rules,
            &life,
            NOW,
        );
        assert!(matches!(v, Verdict::NotActionable { .. }));
        // A block without expiry lasts the kind's lifetime after the last activity.
        let forever = Decision {
            expires_at: None,
            ..block
        };
        let v = verdict(
            &facts(Kind::Ipv4, Some(&forever), &[], &[], &[]),
            &rules,
            &life,
            NOW,
        );
        assert_eq!(
            v,
            Verdict::Block {
                reason: "blocked by the hub's curators: phish kit".into(),
                expires_at: Some(NOW - 10 + 14 * DAY_MS),
                basis: Basis::HubDecision,
            }
        );
        let v = verdict(
            &facts(Kind::Sha256, Some(&forever), &[], &[], &[]),
            &rules,
            &life,
            NOW,
        );
        assert!(matches!(
            v,
            Verdict::Block {
                expires_at: None,
                ..
            }
        ));
    }

    #[test]
    fn allow_list_beats_analysts() {
        let block = Decision {
            action: Action::Block,
            comment: "x".into(),
            decided_at: NOW,
            expires_at: None,
            own: false,
        };
        let f = Facts {
            allowed: Some(AllowReason::Operator("partner".into())),
            ..facts(Kind::Domain, Some(&block), &[], &[], &[])
        };
        let v = verdict(&f, &Rules::default(), &Lifetimes::default(), NOW);
        assert!(matches!(v, Verdict::NotActionable { ref reason } if reason.contains("partner")));
    }

    /// A list the operator loaded keeps rules from making a value
    /// actionable, but an explicit live block applies; a list kyojo carries
    /// (and every other allow reason) outweighs even that.
    #[test]
    fn only_an_explicit_block_outweighs_a_loaded_false_positive_list() {
        let rules = Rules {
            trusted_orgs: vec!["T".into()],
            ..Rules::default()
        };
        let trusted = [ReportFact {
            tlp: Tlp::Green,
            author: Some(7),
            created_at: NOW - DAY_MS,
        }];
        let block = Decision {
            action: Action::Block,
            comment: "compromised".into(),
            decided_at: NOW,
            expires_at: None,
            own: false,
        };
        let expired = Decision {
            expires_at: Some(NOW - 1),
            ..block.clone()
        };
        let judge = |why: AllowReason, d: Option<&Decision>| {
            let f = Facts {
                allowed: Some(why),
                trusted: &[7],
                ..facts(Kind::Domain, d, &trusted, &[], &[])
            };
            verdict(&f, &rules, &Lifetimes::default(), NOW)
        };
        let advisory = || AllowReason::AdvisoryWarninglist("Top sites".into());
        assert!(matches!(
            judge(advisory(), None),
            Verdict::NotActionable { .. }
        ));
        assert!(matches!(
            judge(advisory(), Some(&expired)),
            Verdict::NotActionable { .. }
        ));
        assert!(matches!(
            judge(advisory(), Some(&block)),
            Verdict::Block { .. }
        ));
        assert!(matches!(
            judge(AllowReason::Warninglist("resolvers".into()), Some(&block)),
            Verdict::NotActionable { .. }
        ));
    }

    #[test]
    fn community_rules() {
        let rules = Rules {
            trusted_orgs: vec!["T".into()],
            ..Rules::default()
        };
        let life = Lifetimes::default();
        let green = [ReportFact {
            tlp: Tlp::Green,
            author: Some(7),
            created_at: NOW - DAY_MS,
        }];
        let amber = [ReportFact {
            tlp: Tlp::Amber,
            author: Some(7),
            created_at: NOW - DAY_MS,
        }];
        let anon = [ReportFact {
            tlp: Tlp::Green,
            author: None,
            created_at: NOW - DAY_MS,
        }];
        let trusted = [7];
        assert!(verdict(
            &facts(Kind::Url, None, &green, &[], &trusted),
            &rules,
            &life,
            NOW
        )
        .is_block_at(NOW));
        assert!(!verdict(
            &facts(Kind::Url, None, &amber, &[], &trusted),
            &rules,
            &life,
            NOW
        )
        .is_block_at(NOW));
        assert!(!verdict(
            &facts(Kind::Url, None, &anon, &[], &trusted),
            &rules,
            &life,
            NOW
        )
        .is_block_at(NOW));
        assert!(!verdict(
            &facts(Kind::Url, None, &green, &[], &[8]),
            &rules,
            &life,
            NOW
        )
        .is_block_at(NOW));
        // Expired: a URL reported 31 days ago and not seen since.
        let old = [ReportFact {
            tlp: Tlp::Green,
            author: Some(7),
            created_at: NOW - 31 * DAY_MS,
        }];
        assert!(!verdict(
            &facts(Kind::Url, None, &old, &[], &trusted),
            &rules,
            &life,
            NOW
        )
        .is_block_at(NOW));
        // Sightings: three organizations within the window; two are not enough; old ones do not count.
        let s = |org, days: i64| SightingFact {
            org,
            last_seen: NOW - days * DAY_MS,
        };
        assert!(verdict(
            &facts(Kind::Ipv4, None, &[], &[s(1, 1), s(2, 2), s(3, 6)], &[]),
            &rules,
            &life,
            NOW
        )
        .is_block_at(NOW));
        assert!(!verdict(
            &facts(Kind::Ipv4, None, &[], &[s(1, 1), s(2, 2), s(3, 8)], &[]),
            &rules,
            &life,
            NOW
        )
        .is_block_at(NOW));
        assert!(!verdict(
            &facts(Kind::Ipv4, None, &[], &[s(1, 1), s(1, 2)], &[]),
            &rules,
            &life,
            NOW
        )
        .is_block_at(NOW));
    }
}
