//! Properties of the writers for arbitrary values: whatever a database row
//! holds, an RPZ zone keeps its fixed shape (no directive, no absolute
//! name, no extra record), lists stay one value per line, and CSV parses
//! back to the same, formula-defused fields.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use kyojo_core::observable::canonicalize;
use kyojo_core::{Kind, Tlp};
use kyojo_formats::{
    write_csv, write_domains_txt, write_hosts, write_ips_txt, write_rpz, write_urls_txt, FeedEntry,
    RpzAction, RpzOptions, WriteStats,
};
use proptest::prelude::*;

fn entry(kind: Kind, value: String) -> FeedEntry {
    FeedEntry {
        kind,
        value,
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
        serial: 42,
        action,
        soa_mname: "localhost.".into(),
        soa_rname: "hostmaster.localhost.".into(),
        ttl: 300,
    }
}

/// Values close to domains, salted with every character that means
/// something in a zone file, plus arbitrary Unicode.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9]{1,12}(\\.[a-z0-9_-]{1,12}){1,3}",
        "[a-zA-Z0-9._$;@*()\"\\\\ \t\r\n#=/:-]{0,40}",
        (
            "[a-z0-9]{1,12}\\.[a-z]{2,6}",
            "[\\n\\r ;$()@*\"\\\\.]",
            "[a-z$A-Z ./]{0,20}"
        )
            .prop_map(|(d, c, tail)| format!("{d}{c}{tail}")),
        "\\$(INCLUDE|ORIGIN|TTL|GENERATE) [a-z/. ]{0,20}",
        "[0-9]{1,3}(\\.[0-9]{1,3}){3,5}\\.rpz-(ip|nsip|nsdname|client-ip)",
        "([a-z]{1,63}\\.){3,5}[a-z]{2,3}",
    ]
}

/// The spec of a domain a feed may carry, stated independently of the
/// crate: at most 253 characters of labels of [a-z0-9_-] (1–63, no '-' at
/// either end), two or more labels, and a top-level label that is not
/// numeric, has no '_' and isn't `rpz-*`.
fn oracle_domain(v: &str) -> bool {
    let labels: Vec<&str> = v.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld = labels[labels.len() - 1];
    v.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && !tld.chars().all(|c| c.is_ascii_digit())
        && !tld.contains('_')
        && !tld.starts_with("rpz-")
}

/// An RPZ also needs "*." + value + ".rpz.kyojo." within 255 wire bytes
/// (text length + 1).
fn oracle_rpz_domain(v: &str) -> bool {
    oracle_domain(v) && format!("*.{v}.rpz.kyojo.").len() < 255
}

/// `^(\*\.)?[a-z0-9_.-]+ (IN )?CNAME [a-z0-9_.-]*\.$`
fn is_trigger_line(line: &str) -> bool {
    let set = |s: &str| {
        s.chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
    };
    let rest = line.strip_prefix("*.").unwrap_or(line);
    let Some((owner, rest)) = rest.split_once(' ') else {
        return false;
    };
    let rest = rest.strip_prefix("IN ").unwrap_or(rest);
    let Some(target) = rest.strip_prefix("CNAME ") else {
        return false;
    };
    !owner.is_empty() && set(owner) && target.ends_with('.') && set(target)
}

const HEADER_LINES: usize = 4;

fn header_ok(line: &str, i: usize) -> bool {
    match i {
        0 => line.starts_with("; kyojo RPZ zone rpz.kyojo. serial 42: "),
        1 => line == "$TTL 300",
        2 => line == "@ IN SOA localhost. hostmaster.localhost. ( 42 3600 600 604800 300 )",
        3 => line == "@ IN NS localhost.",
        _ => false,
    }
}

fn rpz_text(entries: &[FeedEntry], action: RpzAction) -> (String, WriteStats) {
    let mut out = Vec::new();
    let stats = write_rpz(&mut out, entries, &opts(action)).expect("write_rpz");
    (String::from_utf8(out).expect("utf-8"), stats)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rpz_domains_keep_the_zone_shape(
        values in prop::collection::vec(value(), 0..12),
        walled in any::<bool>(),
    ) {
        let action = if walled {
            RpzAction::WalledGarden("warn.kyojo.example".into())
        } else {
            RpzAction::Nxdomain
        };
        let target = if walled { "warn.kyojo.example." } else { "." };
        let entries: Vec<_> = values.iter().map(|v| entry(Kind::Domain, v.clone())).collect();
        let (text, stats) = rpz_text(&entries, action);

        let mut seen = HashSet::new();
        let accepted: Vec<&String> = values
            .iter()
            .filter(|v| oracle_rpz_domain(v))
            .filter(|v| seen.insert(v.as_str()))
            .collect();
        let refused = values.iter().filter(|v| !oracle_rpz_domain(v)).count();
        prop_assert_eq!(stats, WriteStats { written: accepted.len(), skipped: refused });

        prop_assert!(text.is_ascii());
        prop_assert!(text.ends_with('\n'));
        let lines: Vec<&str> = text.lines().collect();
        prop_assert_eq!(lines.len(), HEADER_LINES + 2 * accepted.len());
        for (i, line) in lines.iter().enumerate() {
            prop_assert!(!line.starts_with('$') || i == 1, "directive: {:?}", line);
            if i < HEADER_LINES {
                prop_assert!(header_ok(line, i), "header {}: {:?}", i, line);
            } else {
                prop_assert!(is_trigger_line(line), "line {:?}", line);
            }
        }
        for (k, d) in accepted.iter().enumerate() {
            prop_assert_eq!(lines[HEADER_LINES + 2 * k], format!("{d} CNAME {target}"));
            prop_assert_eq!(lines[HEADER_LINES + 2 * k + 1], format!("*.{d} CNAME {target}"));
        }
    }

    #[test]
    fn rpz_any_kind_keeps_the_zone_shape(
        items in prop::collection::vec((prop::sample::select(Kind::ALL.to_vec()), value()), 0..12),
    ) {
        let entries: Vec<_> = items.iter().map(|(k, v)| entry(*k, v.clone())).collect();
        let (text, stats) = rpz_text(&entries, RpzAction::Nxdomain);
        let relevant = items
            .iter()
            .filter(|(k, _)| matches!(k, Kind::Domain | Kind::Ipv4 | Kind::Ipv6))
            .count();
        prop_assert!(stats.written + stats.skipped <= relevant);
        for (i, line) in text.lines().enumerate() {
            if i < HEADER_LINES {
                prop_assert!(header_ok(line, i), "header {}: {:?}", i, line);
            } else {
                prop_assert!(is_trigger_line(line), "line {:?}", line);
                prop_assert!(!line.contains("://"));
            }
        }
    }

    /// Every real canonical domain (that fits under the zone) is written:
    /// re-validation refuses only what canonicalization would never produce.
    #[test]
    fn rpz_writes_every_canonical_domain(
        raw in "[a-zA-Z0-9]{1,20}(\\.[a-zA-Z0-9_-]{1,20}){0,3}\\.(com|example|co\\.jp|xn--p1ai|test)",
    ) {
        if let Ok(obs) = canonicalize(Kind::Domain, &raw) {
            let (text, stats) = rpz_text(&[entry(Kind::Domain, obs.value.clone())], RpzAction::Nxdomain);
            prop_assert_eq!(stats, WriteStats { written: 1, skipped: 0 });
            let wanted = format!("\n{} CNAME .\n", obs.value);
            prop_assert!(text.contains(&wanted));
        }
    }

    #[test]
    fn lists_stay_one_value_per_line(
        items in prop::collection::vec((prop::sample::select(Kind::ALL.to_vec()), value()), 0..12),
    ) {
        let entries: Vec<_> = items.iter().map(|(k, v)| entry(*k, v.clone())).collect();
        let of = |kind: Kind| items.iter().filter(|(k, _)| *k == kind).count();

        let mut hosts = Vec::new();
        let s = write_hosts(&mut hosts, &entries, IpAddr::V4(Ipv4Addr::UNSPECIFIED)).expect("hosts");
        let mut domains = Vec::new();
        let sd = write_domains_txt(&mut domains, &entries).expect("domains");
        let mut urls = Vec::new();
        let su = write_urls_txt(&mut urls, &entries).expect("urls");
        let mut ips = Vec::new();
        let si = write_ips_txt(&mut ips, &entries).expect("ips");

        prop_assert_eq!(s.written + s.skipped, of(Kind::Domain));
        prop_assert_eq!(s, sd);
        prop_assert_eq!(su.written + su.skipped, of(Kind::Url));
        prop_assert_eq!(si.written + si.skipped, of(Kind::Ipv4) + of(Kind::Ipv6));

        let printable = |l: &str| !l.is_empty() && l.bytes().all(|b| b > 0x20 && b < 0x7f);
        for (name, bytes, stats) in [("hosts", &hosts, s), ("domains", &domains, sd), ("urls", &urls, su), ("ips", &ips, si)] {
            let text = std::str::from_utf8(bytes).expect("utf-8");
            let lines: Vec<&str> = text.lines().collect();
            prop_assert_eq!(lines.len(), 1 + stats.written);
            prop_assert!(lines[0].starts_with("# kyojo feed: "));
            for line in &lines[1..] {
                let value = if name == "hosts" {
                    line.strip_prefix("0.0.0.0 ").unwrap_or("")
                } else {
                    line
                };
                prop_assert!(printable(value) && !value.starts_with('#'), "{}: {:?}", name, line);
            }
        }
        let hosts = String::from_utf8(hosts).expect("utf-8");
        let domains = String::from_utf8(domains).expect("utf-8");
        for (h, d) in hosts.lines().skip(1).zip(domains.lines().skip(1)) {
            prop_assert_eq!(h, format!("0.0.0.0 {d}"));
            prop_assert!(oracle_domain(d), "{:?}", d);
        }
        let refused = items.iter().filter(|(k, v)| *k == Kind::Domain && !oracle_domain(v)).count();
        prop_assert_eq!(sd.skipped, refused);
        let ips = String::from_utf8(ips).expect("utf-8");
        let mut v6_started = false;
        for line in ips.lines().skip(1) {
            let net: ipnet::IpNet = line
                .parse()
                .or_else(|_| line.parse::<IpAddr>().map(ipnet::IpNet::from))
                .expect("ips.txt line parses");
            v6_started |= matches!(net, ipnet::IpNet::V6(_));
            prop_assert!(!v6_started || matches!(net, ipnet::IpNet::V6(_)), "ipv4 after ipv6");
        }
    }

    #[test]
    fn csv_round_trips_with_formulas_defused(
        rows in prop::collection::vec(
            (prop::sample::select(Kind::ALL.to_vec()), value(),
             prop_oneof![any::<String>(), "[a-z ,;|\t\r\n=+@＝-]{0,24}"],
             prop::collection::vec("[a-z=+@-]{0,8}", 0..3), prop::option::of(value()),
             any::<i64>(), prop::option::of(any::<i64>())),
            0..8,
        ),
    ) {
        let entries: Vec<FeedEntry> = rows
            .iter()
            .map(|(kind, value, reason, sectors, threat, seen, expires)| FeedEntry {
                kind: *kind,
                value: value.clone(),
                first_seen: *seen,
                last_seen: *seen,
                expires_at: *expires,
                reason: reason.clone(),
                tlp: Tlp::Amber,
                sectors: sectors.clone(),
                threat: threat.clone(),
            })
            .collect();
        let mut out = Vec::new();
        let stats = write_csv(&mut out, &entries).expect("csv");
        prop_assert_eq!(stats, WriteStats { written: entries.len(), skipped: 0 });
        let text = String::from_utf8(out).expect("utf-8");
        let records = parse_csv(&text);
        prop_assert_eq!(records.len(), entries.len() + 1);
        prop_assert_eq!(
            records[0].join(","),
            "value,kind,first_seen,last_seen,expires_at,reason,tlp,sectors,threat"
        );
        for (rec, e) in records[1..].iter().zip(&entries) {
            prop_assert_eq!(rec.len(), 9);
            for field in rec {
                prop_assert!(!field.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']), "{:?}", field);
                prop_assert!(no_formula_cell(field), "a formula cell in {:?}", field);
            }
            prop_assert_eq!(&rec[0], &defused(&e.value));
            prop_assert_eq!(&rec[1], e.kind.as_str());
            prop_assert_eq!(&rec[5], &defused(&e.reason));
            prop_assert_eq!(&rec[6], "AMBER");
            prop_assert_eq!(&rec[7], &defused(&e.sectors.join(";")));
            prop_assert_eq!(&rec[8], &defused(e.threat.as_deref().unwrap_or("")));
            for t in [&rec[2], &rec[3], &rec[4]] {
                prop_assert!(t.is_empty() || (t.len() == 20 && t.ends_with('Z')), "{:?}", t);
            }
        }
    }
}

/// The writer's rule, stated independently: a `'` before each formula
/// character that begins a cell — the field's start, or just after a
/// character some spreadsheet splits cells on — not counting spaces.
fn defused(s: &str) -> String {
    let formula = |c: char| "=+-@\t\r\n＝＋－＠".contains(c);
    let splits = |c: char| ",;|\t\r\n".contains(c);
    let mut out = String::new();
    let mut start = true;
    for c in s.chars() {
        if start && formula(c) {
            out.push('\'');
        }
        out.push(c);
        start = splits(c) || (start && c == ' ');
    }
    out
}

/// No cell a spreadsheet could cut out of `field`, whatever delimiter it
/// splits on, begins (after spaces) with a formula character.
fn no_formula_cell(field: &str) -> bool {
    field.split([',', ';', '|', '\t', '\r', '\n']).all(|piece| {
        !piece
            .trim_start_matches(' ')
            .starts_with(['=', '+', '-', '@', '＝', '＋', '－', '＠'])
    }) && !field.starts_with(['\t', '\r', '\n'])
}

/// A strict RFC 4180 reader (CRLF records, quoted fields with doubled
/// quotes); panics on anything malformed, which fails the property.
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
                    assert!(c != '"' && c != '\n', "bare {c:?} in unquoted field");
                    field.push(c);
                    chars.next();
                }
            }
            record.push(field);
            match chars.next().expect("record not terminated") {
                ',' => continue,
                '\r' => {
                    assert_eq!(chars.next(), Some('\n'), "CR without LF");
                    break;
                }
                c => panic!("unexpected {c:?} after field"),
            }
        }
        records.push(record);
    }
    records
}
