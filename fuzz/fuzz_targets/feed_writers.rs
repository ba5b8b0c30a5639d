//! The feed writers on entries made from fuzz input: every output line of
//! RPZ, hosts, the plain lists and CSV parses back to exactly the indicator
//! it came from; nothing hostile (a `$` directive, an absolute owner name,
//! an `rpz-` label in a zone, a second record on a line, a CSV cell that
//! starts a formula) appears; every refused value is counted.
//!
//! Input: lines, each `<kind byte><value>[\t<reason>]`. The kind byte picks
//! the kind (modulo 8); its top bit means "store the raw value as is",
//! which stands for a hostile value written straight into the database,
//! otherwise the value is canonicalized first and dropped when refused.
#![no_main]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use kyojo_core::observable::canonicalize;
use kyojo_core::{Kind, Tlp};
use kyojo_formats::{
    write_csv, write_domains_txt, write_hosts, write_ips_txt, write_rpz, write_urls_txt, FeedEntry,
    RpzAction, RpzOptions, WriteStats,
};
use libfuzzer_sys::fuzz_target;

const SECTORS: [&str; 4] = ["finance", "telecom", "health", "general"];
const FORMULA: [char; 11] = ['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠'];

fn entries(data: &[u8]) -> (Vec<FeedEntry>, u8) {
    let flags = data.first().copied().unwrap_or(0);
    let mut out = Vec::new();
    for (i, line) in data
        .get(1..)
        .unwrap_or(&[])
        .split(|&b| b == b'\n')
        .enumerate()
    {
        let Some((&k, rest)) = line.split_first() else {
            continue;
        };
        let kind = Kind::ALL[usize::from(k & 7)];
        let text = String::from_utf8_lossy(rest);
        let (value, reason) = text.split_once('\t').unwrap_or((&text, ""));
        let value = if k & 0x80 != 0 {
            value.to_owned()
        } else {
            match canonicalize(kind, value) {
                Ok(obs) => obs.value,
                Err(_) => continue,
            }
        };
        let t = i as i64 * 86_400_000 * 37 - (i64::from(k) << 40);
        out.push(FeedEntry {
            kind,
            value,
            first_seen: t,
            last_seen: t.wrapping_add(i64::from(k) * 1000),
            expires_at: (k & 0x40 != 0).then_some(t.wrapping_mul(3)),
            reason: reason.to_owned(),
            tlp: [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict][i % 4],
            sectors: SECTORS[..usize::from(k >> 4) % 5]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            threat: (k & 0x20 != 0).then(|| "phishing".to_owned()),
        });
    }
    (out, flags)
}

/// A domain a zone, hosts file or list may carry (the writers' promise).
fn safe_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    let last = labels.last().copied().unwrap_or("");
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && !last.bytes().all(|b| b.is_ascii_digit())
        && !last.contains('_')
        && !last.starts_with("rpz-")
}

/// A domain an RPZ zone may carry: also no label beginning `rpz-` anywhere
/// (resolvers read such labels as policy triggers).
fn rpz_safe_domain(d: &str) -> bool {
    safe_domain(d) && !d.split('.').any(|l| l.starts_with("rpz-"))
}

/// The network an ipv4/ipv6 entry stands for, as a resolver matches it
/// (an IPv4-mapped IPv6 network is its IPv4 network), or `None`.
fn entry_net(e: &FeedEntry) -> Option<IpNet> {
    let net = if e.value.contains('/') {
        e.value.parse::<IpNet>().ok()?.trunc()
    } else {
        IpNet::from(e.value.parse::<IpAddr>().ok()?)
    };
    match (e.kind, net) {
        (Kind::Ipv4, IpNet::V4(_)) | (Kind::Ipv6, IpNet::V6(_)) => Some(net),
        _ => None,
    }
}

fn unmap(net: IpNet) -> IpNet {
    if let IpNet::V6(n) = net {
        if let (Some(v4), true) = (n.network().to_ipv4_mapped(), n.prefix_len() >= 96) {
            return IpNet::V4(Ipv4Net::new(v4, n.prefix_len() - 96).expect("prefix"));
        }
    }
    net
}

/// `24.0.2.0.192.rpz-ip` or `128.1.zz.db8.2001.rpz-ip` back to a network.
fn parse_rpz_ip(owner: &str) -> IpNet {
    let body = owner.strip_suffix(".rpz-ip").expect("rpz-ip owner");
    let mut parts: Vec<&str> = body.split('.').collect();
    let prefix: u8 = parts.remove(0).parse().expect("prefix length");
    parts.reverse();
    if parts.len() == 4 && !parts.contains(&"zz") && parts.iter().all(|p| p.parse::<u8>().is_ok()) {
        let o: Vec<u8> = parts.iter().map(|p| p.parse().expect("octet")).collect();
        let addr = Ipv4Addr::new(o[0], o[1], o[2], o[3]);
        let net = Ipv4Net::new(addr, prefix).expect("v4 prefix");
        assert_eq!(net.network(), addr, "{owner}: host bits set");
        return IpNet::V4(net);
    }
    let zz = parts.iter().filter(|p| **p == "zz").count();
    assert!(zz <= 1, "{owner}: more than one zz");
    let mut words = Vec::new();
    for p in &parts {
        if *p == "zz" {
            let fill = 8 - (parts.len() - 1);
            assert!(fill >= 2, "{owner}: zz stands for fewer than 2 words");
            words.extend(std::iter::repeat_n(0u16, fill));
        } else {
            assert!(
                p.len() <= 4
                    && p.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{owner}"
            );
            words.push(u16::from_str_radix(p, 16).expect("hex word"));
        }
    }
    assert_eq!(words.len(), 8, "{owner}: not 8 words");
    let w: [u16; 8] = words.try_into().expect("8 words");
    let addr = Ipv6Addr::from(w);
    let net = Ipv6Net::new(addr, prefix).expect("v6 prefix");
    assert_eq!(net.network(), addr, "{owner}: host bits set");
    IpNet::V6(net)
}

fn check_rpz(entries: &[FeedEntry], walled: bool) {
    let opts = RpzOptions {
        zone: "rpz.kyojo.".into(),
        serial: 42,
        action: if walled {
            RpzAction::WalledGarden("warn.kyojo.example".into())
        } else {
            RpzAction::Nxdomain
        },
        soa_mname: "localhost.".into(),
        soa_rname: "hostmaster.localhost.".into(),
        ttl: 300,
    };
    let target = if walled { "warn.kyojo.example." } else { "." };
    let mut out = Vec::new();
    let stats = write_rpz(&mut out, entries, &opts).expect("rpz");
    let text = String::from_utf8(out).expect("rpz is UTF-8");
    assert!(!text.contains('\r'), "CR in the zone");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 4);
    assert!(lines[0].starts_with("; kyojo RPZ zone rpz.kyojo. serial 42: "));
    assert!(
        lines[0].contains(&format!(": {} entries (", stats.written)),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "$TTL 300");
    assert_eq!(
        lines[2],
        "@ IN SOA localhost. hostmaster.localhost. ( 42 3600 600 604800 300 )"
    );
    assert_eq!(lines[3], "@ IN NS localhost.");

    let mut domains: HashSet<&str> = HashSet::new();
    let mut nets: HashSet<IpNet> = HashSet::new();
    let mut i = 4;
    while i < lines.len() {
        let fields: Vec<&str> = lines[i].split(' ').collect();
        assert_eq!(fields.len(), 3, "not one record: {:?}", lines[i]);
        assert_eq!(fields[1], "CNAME", "{:?}", lines[i]);
        assert_eq!(fields[2], target, "{:?}", lines[i]);
        let owner = fields[0];
        assert!(
            !owner.starts_with('$') && !owner.ends_with('.'),
            "hostile owner {owner:?}"
        );
        if owner.ends_with(".rpz-ip") {
            assert!(nets.insert(unmap(parse_rpz_ip(owner))), "{owner} twice");
            i += 1;
        } else {
            assert!(rpz_safe_domain(owner), "unsafe owner {owner:?}");
            assert_eq!(
                lines.get(i + 1).copied(),
                Some(format!("*.{owner} CNAME {target}").as_str())
            );
            assert!(domains.insert(owner), "{owner} twice");
            i += 2;
        }
    }
    assert_eq!(stats.written, domains.len() + nets.len());
    let (mut relevant, mut matched) = (0, 0);
    let mut used_d: HashSet<&str> = HashSet::new();
    let mut used_n: HashSet<IpNet> = HashSet::new();
    for e in entries {
        match e.kind {
            Kind::Domain => {
                relevant += 1;
                if domains.contains(e.value.as_str()) {
                    matched += 1;
                    used_d.insert(&e.value);
                } else {
                    // Refused: unsafe, or "*." + value + "." + zone is over 255 wire bytes.
                    let too_long = 2 + e.value.len() + 1 + "rpz.kyojo.".len() + 1 > 255;
                    assert!(
                        !rpz_safe_domain(&e.value) || too_long,
                        "{:?} left out",
                        e.value
                    );
                }
            }
            Kind::Ipv4 | Kind::Ipv6 => {
                relevant += 1;
                if let Some(n) = entry_net(e).map(unmap).filter(|n| nets.contains(n)) {
                    matched += 1;
                    used_n.insert(n);
                }
            }
            _ => {}
        }
    }
    assert_eq!(used_d.len(), domains.len(), "an owner no entry asked for");
    assert_eq!(
        used_n.len(),
        nets.len(),
        "an rpz-ip owner no entry asked for"
    );
    assert_eq!(
        stats.skipped,
        relevant - matched,
        "refused values not counted"
    );
}

/// Header line, then one value per line; returns the values.
fn list_lines<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(header));
    let rest: Vec<&str> = lines.collect();
    for l in &rest {
        assert!(
            !l.is_empty() && !l.starts_with('#') && !l.starts_with('$'),
            "{l:?}"
        );
        assert!(l.bytes().all(|b| (0x20..0x7f).contains(&b)), "{l:?}");
    }
    rest
}

fn render(
    f: impl FnOnce(&mut Vec<u8>) -> Result<WriteStats, kyojo_formats::FormatError>,
) -> (String, WriteStats) {
    let mut out = Vec::new();
    let stats = f(&mut out).expect("write");
    (String::from_utf8(out).expect("UTF-8"), stats)
}

fn check_lists(entries: &[FeedEntry]) {
    let of = |k: Kind| entries.iter().filter(move |e| e.kind == k);

    let (text, st) = render(|o| write_domains_txt(o, entries));
    let lines = list_lines(
        &text,
        &format!("# kyojo feed: domains, {} entries", st.written),
    );
    let want: Vec<&str> = of(Kind::Domain)
        .map(|e| e.value.as_str())
        .filter(|v| safe_domain(v))
        .collect();
    assert_eq!(lines, want);
    assert_eq!(st.skipped, of(Kind::Domain).count() - want.len());

    let sink: IpAddr = "0.0.0.0".parse().expect("ip");
    let (text, st) = render(|o| write_hosts(o, entries, sink));
    let lines = list_lines(
        &text,
        &format!(
            "# kyojo feed: hosts, {} entries, sinkhole 0.0.0.0",
            st.written
        ),
    );
    let hosts: Vec<&str> = lines
        .iter()
        .map(|l| {
            l.strip_prefix("0.0.0.0 ")
                .unwrap_or_else(|| panic!("hosts line {l:?}"))
        })
        .collect();
    assert_eq!(hosts, want);
    assert_eq!(st.skipped, of(Kind::Domain).count() - want.len());

    let (text, st) = render(|o| write_urls_txt(o, entries));
    let lines = list_lines(
        &text,
        &format!("# kyojo feed: urls, {} entries", st.written),
    );
    let mut it = of(Kind::Url);
    for l in &lines {
        assert!(!l.contains(' '), "{l:?}");
        // Each line is the next entry that could be written safely.
        let e = it
            .by_ref()
            .find(|e| e.value == *l)
            .unwrap_or_else(|| panic!("url line {l:?} from no entry"));
        assert!(e.value.contains("://"));
    }
    for e in of(Kind::Url) {
        let canonical = canonicalize(Kind::Url, &e.value).is_ok_and(|o| o.value == e.value);
        if canonical {
            assert!(
                lines.contains(&e.value.as_str()),
                "canonical URL {:?} left out",
                e.value
            );
        }
    }
    assert_eq!(st.skipped, of(Kind::Url).count() - lines.len());

    let (text, st) = render(|o| write_ips_txt(o, entries));
    let header = format!(
        "# kyojo feed: ips, {} entries ({} ipv4, {} ipv6)",
        st.written,
        lines_v4(entries),
        lines_v6(entries)
    );
    let lines = list_lines(&text, &header);
    let want: Vec<IpNet> = of(Kind::Ipv4)
        .chain(of(Kind::Ipv6))
        .filter_map(entry_net)
        .collect();
    let got: Vec<IpNet> = lines
        .iter()
        .map(|l| {
            let net = if l.contains('/') {
                l.parse::<IpNet>().expect("cidr")
            } else {
                IpNet::from(l.parse::<IpAddr>().expect("address"))
            };
            assert_eq!(net.trunc(), net, "{l}: host bits");
            net
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        st.skipped,
        of(Kind::Ipv4).count() + of(Kind::Ipv6).count() - want.len()
    );
}

fn lines_v4(entries: &[FeedEntry]) -> usize {
    entries
        .iter()
        .filter(|e| e.kind == Kind::Ipv4)
        .filter_map(entry_net)
        .count()
}

fn lines_v6(entries: &[FeedEntry]) -> usize {
    entries
        .iter()
        .filter(|e| e.kind == Kind::Ipv6)
        .filter_map(entry_net)
        .count()
}

/// What a field must read once defused: a `'` before each formula
/// character that starts a cell a spreadsheet could split out — at the
/// start, or after `,` `;` `|` tab CR LF, leading spaces skipped.
fn defused(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut cell_start = true;
    for c in s.chars() {
        if cell_start && FORMULA.contains(&c) {
            out.push('\'');
        }
        out.push(c);
        cell_start = matches!(c, ',' | ';' | '|' | '\t' | '\r' | '\n') || (cell_start && c == ' ');
    }
    out
}

/// A strict RFC 4180 reader: CRLF records, quoted fields with doubled quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let mut record = Vec::new();
        loop {
            let mut field = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next().expect("unterminated quoted field") {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        '"' => break,
                        c => field.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' || c == '\r' {
                        break;
                    }
                    assert!(c != '"' && c != '\n', "bare {c:?} in an unquoted field");
                    field.push(c);
                    chars.next();
                }
            }
            record.push(field);
            match chars.next() {
                Some(',') => continue,
                Some('\r') => {
                    assert_eq!(chars.next(), Some('\n'), "CR without LF");
                    break;
                }
                other => panic!("after a field: {other:?}"),
            }
        }
        records.push(record);
    }
    records
}

fn check_csv(entries: &[FeedEntry]) {
    let (text, st) = render(|o| write_csv(o, entries));
    assert_eq!(
        st,
        WriteStats {
            written: entries.len(),
            skipped: 0
        }
    );
    let records = parse_csv(&text);
    assert_eq!(records.len(), entries.len() + 1);
    assert_eq!(
        records[0].join(","),
        "value,kind,first_seen,last_seen,expires_at,reason,tlp,sectors,threat"
    );
    for (rec, e) in records[1..].iter().zip(entries) {
        assert_eq!(rec.len(), 9, "{rec:?}");
        for cell in rec {
            assert!(!cell.starts_with(FORMULA), "formula cell {cell:?}");
        }
        assert_eq!(rec[0], defused(&e.value));
        assert_eq!(rec[1], e.kind.as_str());
        assert_eq!(rec[5], defused(&e.reason));
        assert_eq!(rec[6], e.tlp.as_str());
        assert_eq!(rec[7], e.sectors.join(";"));
        assert_eq!(rec[8], e.threat.as_deref().unwrap_or(""));
        for t in &rec[2..5] {
            assert!(t.is_empty() || (t.len() == 20 && t.ends_with('Z')), "{t:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (entries, flags) = entries(data);
    check_rpz(&entries, flags & 1 != 0);
    check_lists(&entries);
    check_csv(&entries);
});
