//! DNS Response Policy Zone writer (draft-vixie-dnsop-dns-rpz, BIND and
//! Unbound syntax).
//!
//! Owner names are written relative to the zone origin, so the zone can be
//! loaded under any name the resolver configures; that is also why no value
//! may ever produce an absolute name, a `$` directive or a second record on
//! its line, and every value is re-validated here.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use kyojo_core::Kind;

use crate::validate::{
    is_absolute_name, is_feed_domain, is_in_zone, parse_ip, wire_len, MAX_WIRE_NAME,
};
use crate::{FeedEntry, FormatError, RpzAction, RpzOptions, WriteStats};

/// SOA timers. They only matter to secondaries transferring the zone by
/// AXFR/IXFR; resolvers loading the file read the serial.
const REFRESH: u32 = 3600;
const RETRY: u32 = 600;
const EXPIRE: u32 = 604_800;

/// One policy trigger, ready to write.
enum Trigger {
    /// A domain: the name itself and every name below it.
    Domain(String),
    /// An `rpz-ip` owner name (already reversed, with the suffix).
    Ip(String),
}

/// Write `entries` as an RPZ zone: domains as QNAME triggers (the name and
/// `*.` below it), ipv4/ipv6 addresses and CIDRs as `rpz-ip` response
/// triggers. URLs are left out: DNS can only block a whole host, and one bad
/// URL on a shared host does not justify that. An entry whose trigger was
/// already written (the same domain twice, `192.0.2.1` and `192.0.2.1/32`)
/// is neither written again nor counted: duplicate records upset loaders.
pub fn write_rpz(
    out: &mut dyn Write,
    entries: &[FeedEntry],
    opts: &RpzOptions,
) -> Result<WriteStats, FormatError> {
    let target = check_options(opts)?;
    let zone = opts.zone.as_str();

    let mut stats = WriteStats::default();
    let mut seen = HashSet::new();
    let mut triggers = Vec::new();
    let (mut domains, mut ips) = (0usize, 0usize);
    for entry in entries {
        let trigger = match entry.kind {
            Kind::Domain => domain_trigger(&entry.value, zone),
            Kind::Ipv4 | Kind::Ipv6 => parse_ip(entry.kind, &entry.value)
                .and_then(rpz_ip_owner)
                .map(Trigger::Ip),
            _ => continue,
        };
        let Some(trigger) = trigger else {
            stats.skipped += 1;
            continue;
        };
        let owner = match &trigger {
            Trigger::Domain(d) | Trigger::Ip(d) => d.clone(),
        };
        // A repeated owner would be a duplicate record; write it once.
        if !seen.insert(owner) {
            continue;
        }
        match trigger {
            Trigger::Domain(_) => domains += 1,
            Trigger::Ip(_) => ips += 1,
        }
        triggers.push(trigger);
    }
    stats.written = triggers.len();

    let mut w = BufWriter::new(out);
    let action = match &opts.action {
        RpzAction::Nxdomain => "NXDOMAIN".to_owned(),
        RpzAction::WalledGarden(_) => format!("CNAME {target}"),
    };
    writeln!(
        w,
        "; kyojo RPZ zone {zone} serial {}: {} entries ({domains} domains, {ips} IP triggers), action {action}",
        opts.serial, stats.written
    )?;
    writeln!(w, "$TTL {}", opts.ttl)?;
    writeln!(
        w,
        "@ IN SOA {} {} ( {} {REFRESH} {RETRY} {EXPIRE} {} )",
        opts.soa_mname, opts.soa_rname, opts.serial, opts.ttl
    )?;
    writeln!(w, "@ IN NS {}", opts.soa_mname)?;
    for trigger in &triggers {
        match trigger {
            Trigger::Domain(d) => {
                writeln!(w, "{d} CNAME {target}")?;
                writeln!(w, "*.{d} CNAME {target}")?;
            }
            Trigger::Ip(owner) => writeln!(w, "{owner} CNAME {target}")?,
        }
    }
    w.flush()?;
    Ok(stats)
}

/// Validate the options; return the CNAME target all triggers point to
/// (`.` for NXDOMAIN, the absolute warning host for a walled garden).
fn check_options(opts: &RpzOptions) -> Result<String, FormatError> {
    let bad = |what: &str, value: &str, why: &str| {
        Err(FormatError::Option(format!("{what} {value:?} {why}")))
    };
    const ABS: &str =
        "is not an absolute domain name (lower-case letters, digits, '-', '_', ending with '.')";
    if !is_absolute_name(&opts.zone) {
        return bad("zone", &opts.zone, ABS);
    }
    if !is_absolute_name(&opts.soa_mname) {
        return bad("soa_mname", &opts.soa_mname, ABS);
    }
    if is_in_zone(&opts.soa_mname, &opts.zone) {
        return bad(
            "soa_mname",
            &opts.soa_mname,
            "is inside the policy zone, which carries no address records for it",
        );
    }
    if !is_absolute_name(&opts.soa_rname) {
        return bad("soa_rname", &opts.soa_rname, ABS);
    }
    match &opts.action {
        RpzAction::Nxdomain => Ok(".".to_owned()),
        RpzAction::WalledGarden(host) => {
            let target = if host.ends_with('.') {
                host.clone()
            } else {
                format!("{host}.")
            };
            // Two labels at least: single-label targets like `rpz-passthru.`
            // and `rpz-drop.` are RPZ actions, not hosts.
            let relative = target.strip_suffix('.').unwrap_or(&target);
            if !is_absolute_name(&target) || !relative.contains('.') {
                return bad(
                    "walled-garden target",
                    host,
                    "is not a host name with at least two labels (lower-case letters, digits, '-', '_')",
                );
            }
            if is_in_zone(&target, &opts.zone) {
                return bad(
                    "walled-garden target",
                    host,
                    "is inside the policy zone, so the rewrite would point into the policy itself",
                );
            }
            Ok(target)
        }
    }
}

/// A domain's QNAME trigger, if the value is a safe feed domain without any
/// `rpz-` label (resolvers read such labels as trigger types, `rpz-ip`,
/// `rpz-nsdname`, `rpz-client-ip`, anywhere in an owner name) and its
/// wildcard owner still fits the DNS name limit once the zone is appended.
fn domain_trigger(value: &str, zone: &str) -> Option<Trigger> {
    if !is_feed_domain(value) || value.split('.').any(|l| l.starts_with("rpz-")) {
        return None;
    }
    // The longest owner is "*." + value + "." + zone.
    let longest = 2 + value.len() + 1 + zone.len();
    (wire_len(longest) <= MAX_WIRE_NAME).then(|| Trigger::Domain(value.to_owned()))
}

/// The `rpz-ip` owner name of a network, or `None` when no resolver would
/// accept it (a `/0` would rewrite every answer, and BIND refuses it).
///
/// IPv4: prefix length, then the octets reversed: `24.0.2.0.192.rpz-ip`.
/// IPv6: prefix length, then the 16-bit words reversed in lower-case hex,
/// with the longest run of two or more zero words (the first such run of
/// the address, as RFC 5952 picks) written `zz`: `128.1.zz.db8.2001.rpz-ip`.
/// An IPv4-mapped network (`::ffff:a.b.c.d/96+n`) is written as the IPv4
/// network `/n`, which is how BIND names it and what A answers match.
pub(crate) fn rpz_ip_owner(net: IpNet) -> Option<String> {
    match net {
        IpNet::V4(n) => v4_owner(n.network(), n.prefix_len()),
        IpNet::V6(n) => {
            let addr = n.network();
            let prefix = n.prefix_len();
            if let Some(v4) = mapped_v4(addr) {
                if prefix >= 96 {
                    return v4_owner(v4, prefix - 96);
                }
            }
            v6_owner(addr, prefix)
        }
    }
}

fn v4_owner(addr: Ipv4Addr, prefix: u8) -> Option<String> {
    if prefix == 0 || prefix > 32 {
        return None;
    }
    let [a, b, c, d] = addr.octets();
    Some(format!("{prefix}.{d}.{c}.{b}.{a}.rpz-ip"))
}

fn mapped_v4(addr: Ipv6Addr) -> Option<Ipv4Addr> {
    match addr.segments() {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => {
            let [a, b] = hi.to_be_bytes();
            let [c, d] = lo.to_be_bytes();
            Some(Ipv4Addr::new(a, b, c, d))
        }
        _ => None,
    }
}

fn v6_owner(addr: Ipv6Addr, prefix: u8) -> Option<String> {
    if prefix == 0 || prefix > 128 {
        return None;
    }
    let words = addr.segments();
    // First longest run of zero words, in address order, if at least 2 long.
    let (mut best_start, mut best_len) = (0usize, 0usize);
    let mut i = 0;
    while i < words.len() {
        if words[i] == 0 {
            let start = i;
            while i < words.len() && words[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best_start = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    let zz = if best_len >= 2 {
        best_start..best_start + best_len
    } else {
        0..0
    };
    let mut owner = prefix.to_string();
    for i in (0..words.len()).rev() {
        if zz.contains(&i) {
            if i == zz.end - 1 {
                owner.push_str(".zz");
            }
        } else {
            owner.push_str(&format!(".{:x}", words[i]));
        }
    }
    owner.push_str(".rpz-ip");
    Some(owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyojo_core::Tlp;

    fn entry(kind: Kind, value: &str) -> FeedEntry {
        FeedEntry {
            kind,
            value: value.to_owned(),
            first_seen: 0,
            last_seen: 0,
            expires_at: None,
            reason: String::new(),
            tlp: Tlp::Clear,
            sectors: vec![],
            threat: None,
        }
    }

    fn opts(action: RpzAction) -> RpzOptions {
        RpzOptions {
            zone: "rpz.kyojo.".into(),
            serial: 7,
            action,
            soa_mname: "localhost.".into(),
            soa_rname: "hostmaster.localhost.".into(),
            ttl: 300,
        }
    }

    fn owner(s: &str) -> Option<String> {
        rpz_ip_owner(s.parse().expect("test network"))
    }

    fn render(entries: &[FeedEntry], o: &RpzOptions) -> (String, WriteStats) {
        let mut out = Vec::new();
        let stats = write_rpz(&mut out, entries, o).expect("write");
        (String::from_utf8(out).expect("utf-8"), stats)
    }

    #[test]
    fn ipv4_owner_names() {
        assert_eq!(
            owner("192.0.2.1/32").as_deref(),
            Some("32.1.2.0.192.rpz-ip")
        );
        assert_eq!(
            owner("192.0.2.0/24").as_deref(),
            Some("24.0.2.0.192.rpz-ip")
        );
        assert_eq!(owner("10.0.0.0/8").as_deref(), Some("8.0.0.0.10.rpz-ip"));
        assert_eq!(owner("0.0.0.0/0"), None);
    }

    #[test]
    fn ipv6_owner_names() {
        for (net, want) in [
            ("2001:db8::1/128", "128.1.zz.db8.2001.rpz-ip"),
            ("2001:db8::/32", "32.zz.db8.2001.rpz-ip"),
            ("2001:db8::/48", "48.zz.db8.2001.rpz-ip"),
            // First longest run in address order, as BIND's ip2name picks.
            ("2001:db8:0:0:1:0:0:1/128", "128.1.0.0.1.zz.db8.2001.rpz-ip"),
            ("2001:db8:0:0:1::/128", "128.zz.1.0.0.db8.2001.rpz-ip"),
            // A single zero word is not compressed.
            (
                "2001:db8:0:1:1:1:1:1/128",
                "128.1.1.1.1.1.0.db8.2001.rpz-ip",
            ),
            ("::1/128", "128.1.zz.rpz-ip"),
            ("fe80::/10", "10.zz.fe80.rpz-ip"),
            (
                "2001:db8:1:2:3:4:5:6/128",
                "128.6.5.4.3.2.1.db8.2001.rpz-ip",
            ),
            ("::ffff:192.0.2.1/128", "32.1.2.0.192.rpz-ip"),
            ("::ffff:192.0.2.0/120", "24.0.2.0.192.rpz-ip"),
        ] {
            assert_eq!(owner(net).as_deref(), Some(want), "{net}");
        }
        assert_eq!(owner("::/0"), None);
        assert_eq!(owner("::ffff:0.0.0.0/96"), None);
    }

    #[test]
    fn zone_layout_nxdomain() {
        let entries = [
            entry(Kind::Domain, "evil.example"),
            entry(Kind::Url, "http://evil.example/a"),
            entry(Kind::Ipv4, "192.0.2.1"),
            entry(Kind::Ipv4, "198.51.100.0/24"),
            entry(Kind::Ipv6, "2001:db8::1"),
            entry(Kind::Sha256, &"a".repeat(64)),
            entry(Kind::Domain, "bad name.example"),
        ];
        let (text, stats) = render(&entries, &opts(RpzAction::Nxdomain));
        assert_eq!(
            text,
            "; kyojo RPZ zone rpz.kyojo. serial 7: 4 entries (1 domains, 3 IP triggers), action NXDOMAIN\n\
             $TTL 300\n\
             @ IN SOA localhost. hostmaster.localhost. ( 7 3600 600 604800 300 )\n\
             @ IN NS localhost.\n\
             evil.example CNAME .\n\
             *.evil.example CNAME .\n\
             32.1.2.0.192.rpz-ip CNAME .\n\
             24.0.100.51.198.rpz-ip CNAME .\n\
             128.1.zz.db8.2001.rpz-ip CNAME .\n"
        );
        assert_eq!(
            stats,
            WriteStats {
                written: 4,
                skipped: 1
            }
        );
    }

    #[test]
    fn walled_garden_target_is_made_absolute() {
        let entries = [entry(Kind::Domain, "evil.example")];
        let (text, _) = render(
            &entries,
            &opts(RpzAction::WalledGarden("warn.kyojo.example".into())),
        );
        assert!(text.contains("\nevil.example CNAME warn.kyojo.example.\n"));
        assert!(text.contains("\n*.evil.example CNAME warn.kyojo.example.\n"));
        let (same, _) = render(
            &entries,
            &opts(RpzAction::WalledGarden("warn.kyojo.example.".into())),
        );
        assert_eq!(text, same);
    }

    #[test]
    fn duplicates_are_written_once() {
        let entries = [
            entry(Kind::Domain, "evil.example"),
            entry(Kind::Domain, "evil.example"),
            entry(Kind::Ipv4, "192.0.2.1"),
            entry(Kind::Ipv4, "192.0.2.1/32"),
        ];
        let (text, stats) = render(&entries, &opts(RpzAction::Nxdomain));
        assert_eq!(text.matches("\nevil.example CNAME").count(), 1);
        assert_eq!(text.matches("32.1.2.0.192.rpz-ip").count(), 1);
        assert_eq!(stats.written, 2);
        assert_eq!(stats.skipped, 0);
    }

    #[test]
    fn injections_are_skipped() {
        let evil = [
            "evil.example\n$INCLUDE /etc/passwd",
            "$ORIGIN attacker.example.",
            "$INCLUDE /etc/shadow",
            "evil.example.",
            "evil.example CNAME rpz-passthru.",
            "evil.example;",
            "(evil.example",
            "evil.example\r",
            "@",
            "*",
            "32.1.2.0.192.rpz-ip",
            "evil.example\\010",
            "ｅvil.example",
            "rpz-ip.evil.example",
            "24.0.2.0.192.rpz-ip.example",
            "ns.rpz-nsdname.example",
            "a.rpz-client-ip.b.example",
        ];
        let entries: Vec<_> = evil.iter().map(|v| entry(Kind::Domain, v)).collect();
        let (text, stats) = render(&entries, &opts(RpzAction::Nxdomain));
        assert_eq!(stats.written, 0);
        assert_eq!(stats.skipped, evil.len());
        assert_eq!(text.lines().count(), 4);
        let ips = [
            "192.0.2.1\n$INCLUDE x",
            "192.0.2.1 ",
            "0.0.0.0/0",
            "2001:db8::1",
        ];
        let entries: Vec<_> = ips.iter().map(|v| entry(Kind::Ipv4, v)).collect();
        let (text, stats) = render(&entries, &opts(RpzAction::Nxdomain));
        assert_eq!(stats.skipped, ips.len());
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn names_too_long_with_the_zone_are_skipped() {
        // "*." + d + ".rpz.kyojo." has a wire length of len(d) + 14, so 241
        // characters fit and 242 don't, although both are valid domains.
        let domain = |len: usize| {
            let tail = format!(
                ".{}.{}.{}.example",
                "a".repeat(63),
                "b".repeat(63),
                "c".repeat(63)
            );
            format!("{}{tail}", "d".repeat(len - tail.len()))
        };
        let o = opts(RpzAction::Nxdomain);
        let (_, stats) = render(&[entry(Kind::Domain, &domain(241))], &o);
        assert_eq!(
            stats,
            WriteStats {
                written: 1,
                skipped: 0
            }
        );
        let (_, stats) = render(&[entry(Kind::Domain, &domain(242))], &o);
        assert_eq!(
            stats,
            WriteStats {
                written: 0,
                skipped: 1
            }
        );
        let (_, stats) = render(&[entry(Kind::Domain, &domain(253))], &o);
        assert_eq!(
            stats,
            WriteStats {
                written: 0,
                skipped: 1
            }
        );
    }

    #[test]
    fn bad_options_are_refused() {
        let changed = |f: &dyn Fn(&mut RpzOptions)| {
            let mut o = opts(RpzAction::Nxdomain);
            f(&mut o);
            o
        };
        let cases = [
            (
                "relative zone",
                changed(&|o: &mut RpzOptions| o.zone = "rpz.kyojo".into()),
            ),
            (
                "root zone",
                changed(&|o: &mut RpzOptions| o.zone = ".".into()),
            ),
            (
                "zone with newline",
                changed(&|o: &mut RpzOptions| o.zone = "rpz.\n$INCLUDE x.".into()),
            ),
            (
                "upper-case zone",
                changed(&|o: &mut RpzOptions| o.zone = "RPZ.kyojo.".into()),
            ),
            (
                "relative mname",
                changed(&|o: &mut RpzOptions| o.soa_mname = "localhost".into()),
            ),
            (
                "mname in zone",
                changed(&|o: &mut RpzOptions| o.soa_mname = "ns.rpz.kyojo.".into()),
            ),
            (
                "rname with space",
                changed(&|o: &mut RpzOptions| o.soa_rname = "host master.".into()),
            ),
            (
                "target in zone",
                changed(&|o: &mut RpzOptions| {
                    o.action = RpzAction::WalledGarden("warn.rpz.kyojo.".into())
                }),
            ),
            (
                "target is zone",
                changed(&|o: &mut RpzOptions| {
                    o.action = RpzAction::WalledGarden("rpz.kyojo".into())
                }),
            ),
            (
                "target is an RPZ action",
                changed(&|o: &mut RpzOptions| {
                    o.action = RpzAction::WalledGarden("rpz-passthru.".into())
                }),
            ),
            (
                "target with a space",
                changed(&|o: &mut RpzOptions| {
                    o.action = RpzAction::WalledGarden("warn .example".into())
                }),
            ),
            (
                "empty target",
                changed(&|o: &mut RpzOptions| o.action = RpzAction::WalledGarden(String::new())),
            ),
        ];
        for (what, o) in cases {
            let mut out = Vec::new();
            let res = write_rpz(&mut out, &[entry(Kind::Domain, "evil.example")], &o);
            assert!(
                matches!(res, Err(FormatError::Option(_))),
                "{what}: {res:?}"
            );
            assert!(out.is_empty(), "{what}: wrote before refusing");
        }
    }

    #[test]
    fn deterministic() {
        let entries = [
            entry(Kind::Domain, "evil.example"),
            entry(Kind::Ipv6, "2001:db8::/32"),
        ];
        let o = opts(RpzAction::Nxdomain);
        assert_eq!(render(&entries, &o).0, render(&entries, &o).0);
    }
}
