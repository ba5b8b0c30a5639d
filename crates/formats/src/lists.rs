//! Line-oriented lists: hosts files and plain domain, URL and IP lists.
//!
//! Each starts with one `#` comment line naming the feed and its entry
//! count (every common loader skips `#` lines), then one value per line.

use std::io::{BufWriter, Write};
use std::net::IpAddr;

use kyojo_core::Kind;

use crate::validate::{ip_text, is_feed_domain, is_feed_url, parse_ip};
use crate::{FeedEntry, FormatError, WriteStats};

/// Keep the entries of `kind` whose value `check` turns into a line;
/// count the others of that kind as skipped.
fn select<'a>(
    entries: &'a [FeedEntry],
    kind: Kind,
    check: impl Fn(&'a str) -> Option<String>,
    stats: &mut WriteStats,
) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in entries.iter().filter(|e| e.kind == kind) {
        match check(&entry.value) {
            Some(line) => lines.push(line),
            None => stats.skipped += 1,
        }
    }
    stats.written += lines.len();
    lines
}

fn domain_line(value: &str) -> Option<String> {
    is_feed_domain(value).then(|| value.to_owned())
}

fn write_lines(out: &mut dyn Write, header: &str, lines: &[String]) -> Result<(), FormatError> {
    let mut w = BufWriter::new(out);
    writeln!(w, "# kyojo feed: {header}")?;
    for line in lines {
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(())
}

/// Write domains as hosts-file lines, `<sinkhole> evil.example`, for
/// Pi-hole-style blockers. A hosts file has no wildcards, so only the
/// listed name itself is blocked.
pub fn write_hosts(
    out: &mut dyn Write,
    entries: &[FeedEntry],
    sinkhole: IpAddr,
) -> Result<WriteStats, FormatError> {
    let mut stats = WriteStats::default();
    let lines = select(
        entries,
        Kind::Domain,
        |v| domain_line(v).map(|d| format!("{sinkhole} {d}")),
        &mut stats,
    );
    let header = format!("hosts, {} entries, sinkhole {sinkhole}", stats.written);
    write_lines(out, &header, &lines)?;
    Ok(stats)
}

/// Write domains, one per line.
pub fn write_domains_txt(
    out: &mut dyn Write,
    entries: &[FeedEntry],
) -> Result<WriteStats, FormatError> {
    let mut stats = WriteStats::default();
    let lines = select(entries, Kind::Domain, domain_line, &mut stats);
    write_lines(out, &format!("domains, {} entries", stats.written), &lines)?;
    Ok(stats)
}

/// Write URLs, one per line.
pub fn write_urls_txt(
    out: &mut dyn Write,
    entries: &[FeedEntry],
) -> Result<WriteStats, FormatError> {
    let mut stats = WriteStats::default();
    let lines = select(
        entries,
        Kind::Url,
        |v| is_feed_url(v).then(|| v.to_owned()),
        &mut stats,
    );
    write_lines(out, &format!("urls, {} entries", stats.written), &lines)?;
    Ok(stats)
}

/// Write IPv4 then IPv6 addresses and CIDRs, one per line, in canonical
/// spelling. IPv4 first because many firewalls take one family per list
/// and the split point is then easy to find.
pub fn write_ips_txt(
    out: &mut dyn Write,
    entries: &[FeedEntry],
) -> Result<WriteStats, FormatError> {
    let mut stats = WriteStats::default();
    let mut lines = select(
        entries,
        Kind::Ipv4,
        |v| parse_ip(Kind::Ipv4, v).map(ip_text),
        &mut stats,
    );
    let v4 = lines.len();
    lines.extend(select(
        entries,
        Kind::Ipv6,
        |v| parse_ip(Kind::Ipv6, v).map(ip_text),
        &mut stats,
    ));
    let header = format!(
        "ips, {} entries ({v4} ipv4, {} ipv6)",
        stats.written,
        lines.len() - v4
    );
    write_lines(out, &header, &lines)?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyojo_core::Tlp;
    use std::net::Ipv4Addr;

    fn entry(kind: Kind, value: &str) -> FeedEntry {
        FeedEntry {
            kind,
            value: value.to_owned(),
            first_seen: 0,
            last_seen: 0,
            expires_at: None,
            reason: String::new(),
            tlp: Tlp::Green,
            sectors: vec![],
            threat: None,
        }
    }

    fn mixed() -> Vec<FeedEntry> {
        vec![
            entry(Kind::Ipv6, "2001:db8::/32"),
            entry(Kind::Domain, "evil.example"),
            entry(Kind::Url, "http://evil.example/login"),
            entry(Kind::Ipv4, "192.0.2.1"),
            entry(Kind::Domain, "evil.example\n0.0.0.0 bank.example"),
            entry(Kind::Url, "http://evil.example/a\nhttp://x"),
            entry(Kind::Ipv4, "198.51.100.0/24"),
            entry(Kind::Ipv4, "192.0.2.1 # x"),
            entry(Kind::Ipv6, "2001:db8::1"),
            entry(Kind::Domain, "www.evil.example"),
            entry(Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
        ]
    }

    fn run(
        f: impl Fn(&mut dyn Write, &[FeedEntry]) -> Result<WriteStats, FormatError>,
    ) -> (String, WriteStats) {
        let mut out = Vec::new();
        let stats = f(&mut out, &mixed()).expect("write");
        (String::from_utf8(out).expect("utf-8"), stats)
    }

    #[test]
    fn hosts() {
        let (text, stats) = run(|o, e| write_hosts(o, e, IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        assert_eq!(
            text,
            "# kyojo feed: hosts, 2 entries, sinkhole 0.0.0.0\n\
             0.0.0.0 evil.example\n\
             0.0.0.0 www.evil.example\n"
        );
        assert_eq!(
            stats,
            WriteStats {
                written: 2,
                skipped: 1
            }
        );
        let (text, _) = run(|o, e| write_hosts(o, e, "::".parse().expect("addr")));
        assert!(text.contains("\n:: evil.example\n"));
    }

    #[test]
    fn domains() {
        let (text, stats) = run(write_domains_txt);
        assert_eq!(
            text,
            "# kyojo feed: domains, 2 entries\nevil.example\nwww.evil.example\n"
        );
        assert_eq!(
            stats,
            WriteStats {
                written: 2,
                skipped: 1
            }
        );
    }

    #[test]
    fn urls() {
        let (text, stats) = run(write_urls_txt);
        assert_eq!(
            text,
            "# kyojo feed: urls, 1 entries\nhttp://evil.example/login\n"
        );
        assert_eq!(
            stats,
            WriteStats {
                written: 1,
                skipped: 1
            }
        );
    }

    #[test]
    fn ips_v4_first_then_v6() {
        let (text, stats) = run(write_ips_txt);
        assert_eq!(
            text,
            "# kyojo feed: ips, 4 entries (2 ipv4, 2 ipv6)\n\
             192.0.2.1\n\
             198.51.100.0/24\n\
             2001:db8::/32\n\
             2001:db8::1\n"
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
    fn empty_input_still_has_a_header() {
        let mut out = Vec::new();
        let stats = write_domains_txt(&mut out, &[]).expect("write");
        assert_eq!(out, b"# kyojo feed: domains, 0 entries\n");
        assert_eq!(stats, WriteStats::default());
    }
}
