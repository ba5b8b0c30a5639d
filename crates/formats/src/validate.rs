//! Re-validation of values just before they are written.
//!
//! Values are canonical when stored, but a feed is where a bad value does
//! harm (a newline in a zone file is a new record, a `$INCLUDE` reads a file
//! on the resolver), so each writer checks again with rules as narrow as its
//! format, independent of how the value got into the database.

use std::net::IpAddr;

use ipnet::IpNet;
use kyojo_core::Kind;

/// Longest name the DNS can carry, in wire-format bytes (RFC 1035 §2.3.4).
pub(crate) const MAX_WIRE_NAME: usize = 255;

/// Longest domain name in text form, without the trailing dot.
const MAX_DOMAIN_LEN: usize = 253;

/// One label: 1–63 of `[a-z0-9_-]`, not starting or ending with `-`.
fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A domain a feed may list: relative (no trailing dot), lower-case ASCII,
/// at least two labels (a single label would block a whole TLD), a top-level
/// label that is neither numeric nor contains `_`, and no `rpz-` top-level
/// label, which RPZ reads as a trigger type (`…rpz-ip`, `…rpz-nsdname`)
/// rather than a name.
pub(crate) fn is_feed_domain(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_DOMAIN_LEN {
        return false;
    }
    let mut labels = 0usize;
    let mut last = "";
    for label in s.split('.') {
        if !is_label(label) {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2
        && !last.bytes().all(|b| b.is_ascii_digit())
        && !last.contains('_')
        && !last.starts_with("rpz-")
}

/// An absolute name for zone options: labels as in [`is_feed_domain`], a
/// trailing dot, not the root, and short enough for the wire.
pub(crate) fn is_absolute_name(s: &str) -> bool {
    match s.strip_suffix('.') {
        Some(body) if !body.is_empty() => {
            wire_len(s.len()) <= MAX_WIRE_NAME && body.split('.').all(is_label)
        }
        _ => false,
    }
}

/// Wire-format length of an absolute name of `text_len` characters written
/// without escapes (each dot becomes a length byte, plus the first one).
pub(crate) fn wire_len(text_len: usize) -> usize {
    text_len + 1
}

/// Is `name` (absolute) equal to `zone` (absolute) or below it?
pub(crate) fn is_in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.strip_suffix(zone).is_some_and(|p| p.ends_with('.'))
}

/// A URL a list may carry on one line: a `scheme://` and only printable
/// ASCII (canonical URLs escape everything else), so it can't span lines
/// or hide a space-separated second field.
pub(crate) fn is_feed_url(s: &str) -> bool {
    let Some(i) = s.find("://") else {
        return false;
    };
    let scheme = &s.as_bytes()[..i];
    !scheme.is_empty()
        && scheme[0].is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && s.len() > i + 3
        && s.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// Parse an ipv4/ipv6 value (address or CIDR) of the family its kind
/// names. A host-bits-set CIDR is truncated, as canonicalization would.
pub(crate) fn parse_ip(kind: Kind, value: &str) -> Option<IpNet> {
    let net = if value.contains('/') {
        value.parse::<IpNet>().ok()?.trunc()
    } else {
        IpNet::from(value.parse::<IpAddr>().ok()?)
    };
    let family_ok = matches!(
        (kind, net),
        (Kind::Ipv4, IpNet::V4(_)) | (Kind::Ipv6, IpNet::V6(_))
    );
    family_ok.then_some(net)
}

/// The canonical text of a network: a bare address for a full-length
/// prefix, `addr/len` otherwise (the same spelling canonicalize uses).
pub(crate) fn ip_text(net: IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_domains() {
        for ok in [
            "evil.example",
            "a.b.c.example",
            "xn--80ak6aa92e.com",
            "_dmarc.example.com",
            "1.2.3.example",
            "a-b.example",
            &format!("{}.example", "a".repeat(63)),
        ] {
            assert!(is_feed_domain(ok), "{ok}");
        }
        let long = format!("{}.example", vec!["a".repeat(60); 5].join("."));
        for bad in [
            "",
            "example",
            "evil.example.",
            ".evil.example",
            "evil..example",
            "Evil.example",
            "evil .example",
            "evil.example\n",
            "evil.example;x",
            "$include.example",
            "$INCLUDE /etc/passwd",
            "a\"b.example",
            "a\\046b.example",
            "a(b.example",
            "a)b.example",
            "a@b.example",
            "*.evil.example",
            "-evil.example",
            "evil-.example",
            "évil.example",
            "1.2.3.4",
            "evil.ex_ample",
            "32.1.2.0.192.rpz-ip",
            "ns.evil.rpz-nsdname",
            &format!("{}.example", "a".repeat(64)),
            long.as_str(),
        ] {
            assert!(!is_feed_domain(bad), "{bad:?}");
        }
    }

    #[test]
    fn absolute_names_and_zones() {
        assert!(is_absolute_name("rpz.kyojo."));
        assert!(is_absolute_name("localhost."));
        assert!(!is_absolute_name("rpz.kyojo"));
        assert!(!is_absolute_name("."));
        assert!(!is_absolute_name("rpz..kyojo."));
        assert!(!is_absolute_name("rpz.kyojo.\n$INCLUDE x."));
        assert!(is_in_zone("rpz.kyojo.", "rpz.kyojo."));
        assert!(is_in_zone("warn.rpz.kyojo.", "rpz.kyojo."));
        assert!(!is_in_zone("xrpz.kyojo.", "rpz.kyojo."));
        assert!(!is_in_zone("kyojo.", "rpz.kyojo."));
    }

    #[test]
    fn urls() {
        assert!(is_feed_url("http://evil.example/a?b=c"));
        assert!(is_feed_url("https://[2001:db8::1]/"));
        for bad in [
            "",
            "evil.example/a",
            "://evil.example/",
            "http://",
            "http://evil.example/a b",
            "http://evil.example/\n$INCLUDE",
            "http://evil.example/\x7f",
            "http://évil.example/",
            "1http://evil.example/",
        ] {
            assert!(!is_feed_url(bad), "{bad:?}");
        }
    }

    #[test]
    fn ips() {
        let v4 = |s| parse_ip(Kind::Ipv4, s).map(ip_text);
        let v6 = |s| parse_ip(Kind::Ipv6, s).map(ip_text);
        assert_eq!(v4("192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(v4("192.0.2.1/32").as_deref(), Some("192.0.2.1"));
        assert_eq!(v4("192.0.2.9/24").as_deref(), Some("192.0.2.0/24"));
        assert_eq!(v4("2001:db8::1"), None);
        assert_eq!(v4("192.0.2.1\n"), None);
        assert_eq!(v4("192.0.2.1 "), None);
        assert_eq!(v4("192.0.2.1/33"), None);
        assert_eq!(v6("2001:DB8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(v6("2001:db8::/32").as_deref(), Some("2001:db8::/32"));
        assert_eq!(v6("192.0.2.1"), None);
        assert_eq!(v6("fe80::1%eth0"), None);
    }
}
