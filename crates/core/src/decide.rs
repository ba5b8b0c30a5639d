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
    /// On the operator's allow list.
    Operator(String),
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
            AllowReason::Operator(c) if c.is_empty() => f.write_str("on the operator's allow list"),
            AllowReason::Operator(c) => write!(f, "on the operator's allow list ({c})"),
        }
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
        Kind::Ipv4 | Kind::Ipv6 => ip_network(obs)
            .and_then(|n| reserved_range(&n))
            .map(AllowReason::ReservedAddress),
        Kind::Url => {
            let parts = url::split(&obs.value)?;
            let host = parts.host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                return reserved_range(&IpNet::from(ip)).map(AllowReason::ReservedAddress);
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

/// The Decide step's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Block {
        reason: String,
        /// None: no expiry.
        expires_at: Option<i64>,
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

/// Judges one indicator at time `now`.
pub fn verdict(f: &Facts<'_>, rules: &Rules, lifetimes: &Lifetimes, now: i64) -> Verdict {
    if let Some(why) = &f.allowed {
        return Verdict::NotActionable {
            reason: format!("allow-listed: {why}"),
        };
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
                    reason: format!("allowed by an analyst: {}", d.comment),
                }
            }
            (Action::Block, true) => {
                let from = last_activity.unwrap_or(d.decided_at).max(d.decided_at);
                return Verdict::Block {
                    reason: format!("blocked by an analyst: {}", d.comment),
                    expires_at: d.expires_at.or_else(|| lifetime_end(from)),
                };
            }
            _ => {}
        }
    }
    let trusted_report = f
        .reports
        .iter()
        .filter(|r| r.tlp.may_leave_hub() && r.author.is_some_and(|a| f.trusted.contains(&a)))
        .map(|r| r.created_at)
        .max();
    if let Some(at) = trusted_report {
        let expires_at = lifetime_end(last_activity.unwrap_or(at));
        let v = Verdict::Block {
            reason: "reported by a trusted organization".to_string(),
            expires_at,
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
        for v in ["45.33.32.156", "8.8.8.0/24", "1.1.1.1"] {
            assert_eq!(builtin_allow(&o(Kind::Ipv4, v), &[]), None, "{v}");
        }
        assert_eq!(builtin_allow(&o(Kind::Ipv6, "2606:4700::1111"), &[]), None);
        assert!(builtin_allow(&o(Kind::Url, "http://10.0.0.1/admin"), &[]).is_some());
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
                reason: "blocked by an analyst: phish kit".into(),
                expires_at: Some(NOW + DAY_MS)
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
                reason: "blocked by an analyst: phish kit".into(),
                expires_at: Some(NOW - 10 + 14 * DAY_MS)
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
        };
        let f = Facts {
            allowed: Some(AllowReason::Operator("partner".into())),
            ..facts(Kind::Domain, Some(&block), &[], &[], &[])
        };
        let v = verdict(&f, &Rules::default(), &Lifetimes::default(), NOW);
        assert!(matches!(v, Verdict::NotActionable { ref reason } if reason.contains("partner")));
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
