//! Safe Browsing URL canonicalization and lookup expressions, by hand.
//!
//! The WHATWG `url` crate refuses much of what malware actually serves
//! (`http://\x01\x80.com/`, hosts with `%`, `3279880203` as an address), and
//! kyojo must store exactly what Google's Safe Browsing would hash, so that a
//! URL listed by one member matches the lookups of another. The rules follow
//! Google's "URLs and Hashing" document (Update API v4), with the published
//! test vectors as unit tests, plus a few rules of our own for defanged and
//! internationalized input (see [`canonicalize`]). Lookups use the laxer
//! [`canonicalize_for_lookup`], which also returns the expressions to look up.
//!
//! Internally everything is bytes: percent-unescaping can produce bytes that
//! are not UTF-8, and those must survive (re-escaped) rather than be replaced.

use std::net::Ipv6Addr;

use sha2::{Digest, Sha256};

use crate::defang::refang_bytes;
use crate::observable::parse_inet_aton;

/// Bytes of raw input accepted for one URL.
pub const MAX_URL_LEN: usize = 8192;

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the URL is empty")]
    Empty,
    #[error("the URL is too long: at most {max} bytes are accepted")]
    TooLong { max: usize },
    #[error("the URL has no host name")]
    NoHost,
    #[error(
        "the scheme \"{0}\" is not supported: write the URL as scheme://host/path, e.g. http://example.com/"
    )]
    BadScheme(String),
    #[error("the port \"{0}\" is not a number")]
    BadPort(String),
    #[error("the host \"{0}\" is not a valid IPv6 address")]
    BadIpv6(String),
    #[error("the host \"{0}\" contains ':' outside of an IPv6 address")]
    BadHost(String),
}

/// How forgiving host parsing is. Reporting and blocking stay [`Mode::Strict`]
/// (a host with a stray ':' is more likely a typo than an indicator); a lookup
/// is [`Mode::Lenient`], because it must answer for every URL that Safe
/// Browsing canonicalizes, or a member learns nothing about a URL a list may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strict,
    Lenient,
}

/// A user-submitted URL made ready for a lookup: see [`canonicalize_for_lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupUrl {
    /// Safe Browsing canonical form, e.g. `http://host/%25`.
    pub canonical: String,
    /// The host-suffix x path-prefix expressions to look up, as
    /// [`lookup_expressions`] gives them for `canonical`: at most 5 hosts x
    /// 6 paths, exact host and exact path+query first, never empty.
    pub expressions: Vec<String>,
}

/// Canonicalize a URL for a *lookup*: anything Safe Browsing canonicalizes is
/// accepted, and the answer carries the expressions to look up.
///
/// Accepts all that [`canonicalize`] does, with the same result, and also
/// what Google's reference client (github.com/google/safebrowsing) takes but
/// a report must not: a host with a ':' that isn't followed by a port
/// (`http://a:b/`, `http://evil.example:80a/`, kept as written), several
/// `:port`s (all dropped), and a bracketed host that isn't an IPv6 address
/// (`http://[nope]/`, kept as an opaque host). Single-label hosts
/// (`http://intranet/`), escaped hosts (`http://host%23.com/`) and every
/// inet_aton spelling of an IPv4 address (`http://0x7f.1/`) are accepted by
/// both paths; what refuses them for reporting is
/// [`crate::observable::check_stored`].
///
/// Still refused (Safe Browsing refuses them too): empty input, a missing
/// host, a `scheme:` without `//` (`mailto:`, `javascript:`), an unclosed
/// `[`, and input over [`MAX_URL_LEN`] bytes.
pub fn canonicalize_for_lookup(input: &str) -> Result<LookupUrl, UrlError> {
    if input.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong { max: MAX_URL_LEN });
    }
    canonicalize_bytes_for_lookup(input.trim().as_bytes())
}

/// [`canonicalize_for_lookup`] for raw bytes (a URL from a log or a packet
/// capture that is not UTF-8).
pub fn canonicalize_bytes_for_lookup(input: &[u8]) -> Result<LookupUrl, UrlError> {
    let canonical = canonicalize_bytes_mode(input, Mode::Lenient)?;
    let expressions = lookup_expressions(&canonical);
    Ok(LookupUrl {
        canonical,
        expressions,
    })
}

/// Safe Browsing canonical form: "scheme://host/path?query" (no fragment, no port, no userinfo).
///
/// Beyond Google's rules: defanged input is refanged first; a missing scheme
/// means `http`; the scheme is lower-cased; userinfo and port are dropped; an
/// IPv6 literal host stays bracketed in compressed form; a non-ASCII host
/// that IDNA accepts becomes punycode (otherwise it is percent-escaped).
/// The result is a fixed point: canonicalizing it again returns it unchanged.
pub fn canonicalize(input: &str) -> Result<String, UrlError> {
    if input.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong { max: MAX_URL_LEN });
    }
    // Unicode whitespace (U+3000 from Japanese text) around the URL too.
    canonicalize_bytes(input.trim().as_bytes())
}

/// [`canonicalize`] for raw bytes, e.g. a URL taken from a packet capture
/// that is not valid UTF-8. Bytes that aren't printable ASCII are escaped.
pub fn canonicalize_bytes(input: &[u8]) -> Result<String, UrlError> {
    canonicalize_bytes_mode(input, Mode::Strict)
}

fn canonicalize_bytes_mode(input: &[u8], mode: Mode) -> Result<String, UrlError> {
    if input.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong { max: MAX_URL_LEN });
    }
    // One pass is a fixed point except when unescaping or path resolution
    // forms a new defang pattern (`%5B.%5D` -> `[.]`), which the next pass's
    // refang would rewrite. Iterate until stable so the output is idempotent.
    let mut current = canonicalize_once(input, mode)?;
    for _ in 0..8 {
        let next = canonicalize_once(current.as_bytes(), mode)?;
        if next == current {
            break;
        }
        current = next;
    }
    Ok(current)
}

fn canonicalize_once(input: &[u8], mode: Mode) -> Result<String, UrlError> {
    let refanged = refang_bytes(input);
    // Google: remove tab, CR and LF anywhere; then surrounding whitespace.
    let cleaned: Vec<u8> = refanged
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\t' | b'\r' | b'\n'))
        .collect();
    let trimmed = trim_ascii(&cleaned);
    if trimmed.is_empty() {
        return Err(UrlError::Empty);
    }
    // Fragment goes before unescaping, so %23 stays part of the path.
    let no_fragment = match trimmed.iter().position(|&b| b == b'#') {
        Some(i) => &trimmed[..i],
        None => trimmed,
    };
    let url = unescape_fully(no_fragment);

    let (scheme, rest) = split_scheme(&url)?;
    let rest = rest.strip_prefix(b"//").unwrap_or(rest);

    let authority_end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let host = canonical_host(authority, mode)?;

    let (path, query) = match path_and_query.iter().position(|&b| b == b'?') {
        Some(i) => (&path_and_query[..i], Some(&path_and_query[i + 1..])),
        None => (path_and_query, None),
    };
    let path = normalize_path(path);

    let mut out = String::with_capacity(scheme.len() + host.len() + path.len() + 8);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host);
    escape_into(&path, &mut out);
    if let Some(q) = query {
        out.push('?');
        escape_into(q, &mut out);
    }
    Ok(out)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let start = b.iter().position(|c| !is_ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_ws(c)).map_or(start, |i| i + 1);
    &b[start..end]
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One left-to-right percent-unescape pass; `None` if nothing changed.
fn unescape_once(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                changed = true;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    changed.then_some(out)
}

/// Google: "repeatedly percent-unescape the URL until it has no more
/// percent-escapes". Each pass shortens the input, so this terminates.
fn unescape_fully(b: &[u8]) -> Vec<u8> {
    let mut cur = b.to_vec();
    while let Some(next) = unescape_once(&cur) {
        cur = next;
    }
    cur
}

/// Split off `scheme://`; a missing scheme means http. A `scheme:` without
/// `//` (mailto:, javascript:, data:) names no host and is refused.
fn split_scheme(url: &[u8]) -> Result<(String, &[u8]), UrlError> {
    let scheme_len = url
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
        .unwrap_or(url.len());
    let starts_with_letter = url.first().is_some_and(u8::is_ascii_alphabetic);
    // A '.' means "host:port" (www.google.com:80) rather than a scheme.
    let dotted = url[..scheme_len].contains(&b'.');
    if starts_with_letter && !dotted && url.get(scheme_len) == Some(&b':') {
        let scheme = String::from_utf8_lossy(&url[..scheme_len]).to_ascii_lowercase();
        let after = &url[scheme_len + 1..];
        if let Some(rest) = after.strip_prefix(b"//") {
            return Ok((scheme, rest));
        }
        // "host:port/..." without a scheme: the part after ':' is digits.
        let port_like = after
            .iter()
            .take_while(|b| !matches!(b, b'/' | b'?'))
            .all(u8::is_ascii_digit);
        if !port_like {
            return Err(UrlError::BadScheme(scheme));
        }
    }
    Ok(("http".to_owned(), url))
}

/// Canonical host from an authority (`user:pass@host:port`), escaped.
fn canonical_host(authority: &[u8], mode: Mode) -> Result<String, UrlError> {
    let host_port = match authority.iter().rposition(|&b| b == b'@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    if let Some(rest) = host_port.strip_prefix(b"[") {
        match bracketed_host(host_port, rest) {
            Ok(host) => return Ok(host),
            // Google's client refuses only an unclosed '['; whatever else
            // is in brackets is a host name to it.
            Err(e) if mode == Mode::Strict || !rest.contains(&b']') => return Err(e),
            Err(_) => {}
        }
    }
    // An unbracketed IPv6 address has several ':'; take it whole.
    if let Some(addr) = std::str::from_utf8(host_port)
        .ok()
        .filter(|s| s.matches(':').count() >= 2)
        .and_then(|s| s.parse::<Ipv6Addr>().ok())
    {
        return Ok(format!("[{addr}]"));
    }
    let mut host = match mode {
        Mode::Strict => {
            let host = match host_port.iter().rposition(|&b| b == b':') {
                Some(i) => {
                    check_port(&host_port[i..])?;
                    &host_port[..i]
                }
                None => host_port,
            };
            if host.contains(&b':') {
                return Err(UrlError::BadHost(
                    String::from_utf8_lossy(host).into_owned(),
                ));
            }
            collapse_dots(host)
        }
        // Removing a port can leave dots to collapse and collapsing dots
        // can leave a port to remove (`.:..:`): repeat until neither
        // changes anything, so the result reads back the same.
        Mode::Lenient => {
            let mut host = collapse_dots(strip_ports(host_port));
            loop {
                let next = collapse_dots(strip_ports(&host));
                if next == host {
                    break host;
                }
                host = next;
            }
        }
    };
    if !host.is_ascii() {
        if let Ok(text) = std::str::from_utf8(&host) {
            if let Ok(ascii) = idna::domain_to_ascii_cow(text.as_bytes(), idna::AsciiDenyList::URL)
            {
                // Keep IDNA's answer only if it is a plain DNS name; UTS 46
                // maps some symbols to '/' or other delimiters.
                if !ascii.is_empty()
                    && ascii
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
                {
                    host = collapse_dots(ascii.as_bytes());
                }
            }
        }
    }
    host.make_ascii_lowercase();
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    if let Some(ip) = std::str::from_utf8(&host)
        .ok()
        .and_then(|s| parse_inet_aton(s).ok())
    {
        return Ok(ip.to_string());
    }
    let mut out = String::with_capacity(host.len());
    escape_into(&host, &mut out);
    Ok(out)
}

/// `[v6]` or `[v6]:port` (`rest` is `host_port` without its '[').
fn bracketed_host(host_port: &[u8], rest: &[u8]) -> Result<String, UrlError> {
    let close = rest
        .iter()
        .position(|&b| b == b']')
        .ok_or_else(|| UrlError::BadIpv6(String::from_utf8_lossy(host_port).into_owned()))?;
    let inner = &rest[..close];
    let after = &rest[close + 1..];
    check_port(after)?;
    let addr = std::str::from_utf8(inner)
        .ok()
        .and_then(|s| s.parse::<Ipv6Addr>().ok())
        .ok_or_else(|| UrlError::BadIpv6(String::from_utf8_lossy(inner).into_owned()))?;
    Ok(format!("[{addr}]"))
}

/// Lenient port removal: drop every trailing `:digits` (or bare ':'), keep
/// any other ':' as part of the host, as Google's client does. Dropping all
/// of them, not only the last, keeps the result a fixed point.
fn strip_ports(mut host: &[u8]) -> &[u8] {
    while let Some(i) = host.iter().rposition(|&b| b == b':') {
        if !host[i + 1..].iter().all(u8::is_ascii_digit) {
            break;
        }
        host = &host[..i];
    }
    host
}

/// `after` is what follows the host: empty or `:digits`.
fn check_port(after: &[u8]) -> Result<(), UrlError> {
    match after.split_first() {
        None => Ok(()),
        Some((b':', digits)) if digits.iter().all(u8::is_ascii_digit) => Ok(()),
        Some((b':', digits)) => Err(UrlError::BadPort(
            String::from_utf8_lossy(digits).into_owned(),
        )),
        Some(_) => Err(UrlError::BadIpv6(
            String::from_utf8_lossy(after).into_owned(),
        )),
    }
}

/// Remove leading and trailing dots and collapse runs of dots.
fn collapse_dots(host: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(host.len());
    for &b in host {
        if b == b'.' && (out.is_empty() || out.last() == Some(&b'.')) {
            continue;
        }
        out.push(b);
    }
    while out.last() == Some(&b'.') {
        out.pop();
    }
    out
}

/// Resolve `.` and `..`, collapse runs of slashes. Always starts with '/'.
fn normalize_path(path: &[u8]) -> Vec<u8> {
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for seg in path.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => trailing_slash = true,
            b".." => {
                segments.pop();
                trailing_slash = true;
            }
            _ => {
                segments.push(seg);
                trailing_slash = false;
            }
        }
    }
    let mut out = Vec::with_capacity(path.len() + 1);
    for seg in &segments {
        out.push(b'/');
        out.extend_from_slice(seg);
    }
    if segments.is_empty() || trailing_slash {
        out.push(b'/');
    }
    out
}

/// Google: escape bytes <= 0x20, >= 0x7f, '#' and '%', in upper-case hex.
fn escape_into(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b <= 0x20 || b >= 0x7f || b == b'#' || b == b'%' {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        } else {
            out.push(char::from(b));
        }
    }
}

/// The parts of a canonical URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub scheme: &'a str,
    pub host: &'a str,
    /// Starts with '/'.
    pub path: &'a str,
    /// `Some("")` for a URL ending in a bare '?', which Google keeps.
    pub query: Option<&'a str>,
}

/// Split a canonical URL (the output of [`canonicalize`]) into its parts.
/// `None` if it does not have the canonical shape.
pub fn split(canonical: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = canonical.split_once("://")?;
    let slash = rest.find('/')?;
    let (host, path_query) = rest.split_at(slash);
    if scheme.is_empty() || host.is_empty() || host.contains('?') {
        return None;
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    Some(UrlParts {
        scheme,
        host,
        path,
        query,
    })
}

/// Is a canonical host an IP literal (no suffixes to try)?
fn is_ip_host(host: &str) -> bool {
    host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Host-suffix x path-prefix expressions a lookup of this canonical URL must try (at most 30), per Safe Browsing:
/// host: exact host, then up to 4 suffixes formed from the last 5 components removing the leading one each time, never the bare TLD; an IP host only exact.
/// path: exact path+query, exact path without query, then up to 4 prefixes from "/" appending components with trailing slash.
/// Expressions have no scheme: "a.b.c/1/2.html?param=1".
///
/// Returns an empty list for a string that is not a canonical URL.
pub fn lookup_expressions(canonical: &str) -> Vec<String> {
    let Some(parts) = split(canonical) else {
        return Vec::new();
    };
    let hosts = lookup_hosts(parts.host);
    let paths = lookup_paths(parts.path, parts.query);
    let mut out: Vec<String> = Vec::with_capacity(hosts.len() * paths.len());
    for h in &hosts {
        for p in &paths {
            let e = format!("{h}{p}");
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

fn lookup_hosts(host: &str) -> Vec<&str> {
    let mut hosts = vec![host];
    if is_ip_host(host) {
        return hosts;
    }
    let dots: Vec<usize> = host.match_indices('.').map(|(i, _)| i).collect();
    let labels = dots.len() + 1;
    // Suffixes of k labels, k from min(5, labels-1) down to 2.
    let max_k = labels.saturating_sub(1).min(5);
    for k in (2..=max_k).rev() {
        // The suffix of k labels starts after dot number (labels - k - 1).
        let start = dots[labels - k - 1] + 1;
        hosts.push(&host[start..]);
    }
    hosts
}

fn lookup_paths(path: &str, query: Option<&str>) -> Vec<String> {
    let mut paths = Vec::with_capacity(6);
    if let Some(q) = query {
        paths.push(format!("{path}?{q}"));
    }
    paths.push(path.to_owned());
    let mut prefix = String::from("/");
    // Directory components: everything before the last '/'.
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let mut components = dir.split('/').filter(|c| !c.is_empty());
    for i in 0..4 {
        if i > 0 {
            match components.next() {
                Some(c) => {
                    prefix.push_str(c);
                    prefix.push('/');
                }
                None => break,
            }
        }
        if !paths.contains(&prefix) {
            paths.push(prefix.clone());
        }
    }
    paths
}

/// The single expression a *listed* URL stands for (host + path + query, no scheme): what lookup_expressions must hit.
pub fn listed_expression(canonical: &str) -> String {
    match split(canonical) {
        Some(p) => match p.query {
            Some(q) => format!("{}{}?{}", p.host, p.path, q),
            None => format!("{}{}", p.host, p.path),
        },
        None => canonical
            .split_once("://")
            .map_or(canonical, |(_, rest)| rest)
            .to_owned(),
    }
}

/// The expression a listed domain stands for: "evil.example/".
/// Every URL on that host or its subdomains generates it as a lookup.
pub fn domain_expression(domain: &str) -> String {
    format!("{}/", domain.trim_end_matches('.').to_ascii_lowercase())
}

/// SHA-256 of an expression: what a privacy-preserving check compares.
pub fn full_hash(expression: &str) -> [u8; 32] {
    Sha256::digest(expression.as_bytes()).into()
}

/// First 4 bytes of [`full_hash`]: what a client may reveal to ask.
pub fn hash_prefix(expression: &str) -> [u8; 4] {
    let h = full_hash(expression);
    [h[0], h[1], h[2], h[3]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Google's published vectors (Safe Browsing v4, "URLs and Hashing"),
    /// verbatim. The one with raw bytes is in `google_vector_raw_bytes`.
    const GOOGLE_VECTORS: &[(&str, &str)] = &[
        ("http://host/%25%32%35", "http://host/%25"),
        ("http://host/%25%32%35%25%32%35", "http://host/%25%25"),
        ("http://host/%2525252525252525", "http://host/%25"),
        ("http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
        ("http://host/%%%25%32%35asd%%", "http://host/%25%25%25asd%25%25"),
        ("http://www.google.com/", "http://www.google.com/"),
        (
            "http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
            "http://168.188.99.26/.secure/www.ebay.com/",
        ),
        (
            "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
            "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
        ),
        (
            "http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833%252944_55%252B",
            "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+",
        ),
        ("http://3279880203/blah", "http://195.127.0.11/blah"),
        ("http://www.google.com/blah/..", "http://www.google.com/"),
        ("www.google.com/", "http://www.google.com/"),
        ("www.google.com", "http://www.google.com/"),
        ("http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
        ("http://www.GOOgle.com/", "http://www.google.com/"),
        ("http://www.google.com.../", "http://www.google.com/"),
        ("http://www.google.com/foo\tbar\rbaz\n2", "http://www.google.com/foobarbaz2"),
        ("http://www.google.com/q?", "http://www.google.com/q?"),
        ("http://www.google.com/q?r?", "http://www.google.com/q?r?"),
        ("http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
        ("http://evil.com/foo#bar#baz", "http://evil.com/foo"),
        ("http://evil.com/foo;", "http://evil.com/foo;"),
        ("http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
        ("http://notrailingslash.com", "http://notrailingslash.com/"),
        ("http://www.gotaport.com:1234/", "http://www.gotaport.com/"),
        ("  http://www.google.com/  ", "http://www.google.com/"),
        ("http:// leadingspace.com/", "http://%20leadingspace.com/"),
        ("http://%20leadingspace.com/", "http://%20leadingspace.com/"),
        ("%20leadingspace.com/", "http://%20leadingspace.com/"),
        ("https://www.securesite.com/", "https://www.securesite.com/"),
        ("http://host.com/ab%23cd", "http://host.com/ab%23cd"),
        (
            "http://host.com//twoslashes?more//slashes",
            "http://host.com/twoslashes?more//slashes",
        ),
    ];

    #[test]
    fn google_vectors() {
        for (input, want) in GOOGLE_VECTORS {
            assert_eq!(
                canonicalize(input).as_deref(),
                Ok(*want),
                "Canonicalize({input:?})"
            );
            // And each answer is a fixed point.
            assert_eq!(canonicalize(want).as_deref(), Ok(*want), "again {want:?}");
        }
    }

    #[test]
    fn google_vector_raw_bytes() {
        // Canonicalize("http://\x01\x80.com/") = "http://%01%80.com/"
        assert_eq!(
            canonicalize_bytes(b"http://\x01\x80.com/").as_deref(),
            Ok("http://%01%80.com/")
        );
        // The same vector as a Rust string: U+0080 is the bytes C2 80.
        assert_eq!(
            canonicalize("http://\x01\u{80}.com/").as_deref(),
            Ok("http://%01%C2%80.com/")
        );
    }

    #[test]
    fn older_spec_vector_variants() {
        // The v3 document spelled one vector with an upper-case scheme.
        assert_eq!(
            canonicalize("HTTP://www.evil.com/blah#frag").as_deref(),
            Ok("http://www.evil.com/blah")
        );
    }

    #[test]
    fn our_rules() {
        let cases: &[(&str, &str)] = &[
            // Defanged input.
            ("hxxp://evil[.]example/a", "http://evil.example/a"),
            ("hxxps[:]//evil[.]example", "https://evil.example/"),
            (
                "hXXps[://]evil(.)example/x?y=1",
                "https://evil.example/x?y=1",
            ),
            ("fxp://files[.]example/a.zip", "ftp://files.example/a.zip"),
            // Schemes.
            ("FTP://Files.Example/", "ftp://files.example/"),
            ("HTTPS://x.example", "https://x.example/"),
            ("ws://x.example/socket", "ws://x.example/socket"),
            ("svn+ssh://x.example/repo", "svn+ssh://x.example/repo"),
            ("//cdn.example/lib.js", "http://cdn.example/lib.js"),
            // Userinfo and port.
            ("http://paypal.com@evil.example/", "http://evil.example/"),
            (
                "http://user:pass@evil.example:8080/x",
                "http://evil.example/x",
            ),
            ("http://a@b@evil.example/", "http://evil.example/"),
            ("evil.example:8080/x", "http://evil.example/x"),
            ("evil.example:", "http://evil.example/"),
            ("http://evil.example:/", "http://evil.example/"),
            // IPv4 in every inet_aton spelling.
            ("http://0xc3.0x7f.0.11/", "http://195.127.0.11/"),
            ("http://0303.0177.0.013/", "http://195.127.0.11/"),
            ("http://0xc37f000b/", "http://195.127.0.11/"),
            ("http://030337600013/", "http://195.127.0.11/"),
            ("http://195.127.11/", "http://195.127.0.11/"),
            ("http://195.8323083/", "http://195.127.0.11/"),
            ("http://1.2.3.4.5/", "http://1.2.3.4.5/"),
            ("http://300.1.1.1/", "http://300.1.1.1/"),
            (
                "http://%30%78%63%33%2e%30%78%37%66%2e0.11/",
                "http://195.127.0.11/",
            ),
            // IPv6 literals.
            ("http://[2001:DB8:0000::1]/a", "http://[2001:db8::1]/a"),
            ("http://[2001:db8::1]:8080/a", "http://[2001:db8::1]/a"),
            ("http://[::ffff:1.2.3.4]/", "http://[::ffff:1.2.3.4]/"),
            ("http://2001:db8::1/a", "http://[2001:db8::1]/a"),
            // IDN.
            ("http://例え.jp/", "http://xn--r8jz45g.jp/"),
            ("http://www.\u{fc}mlat.com/", "http://www.xn--mlat-zra.com/"),
            ("http://BÜCHER.de/ä", "http://xn--bcher-kva.de/%C3%A4"),
            ("http://%E4%BE%8B%E3%81%88.jp/", "http://xn--r8jz45g.jp/"),
            // Host oddities Google keeps.
            ("http://W!eird<>Ho$^.com/", "http://w!eird<>ho$^.com/"),
            ("http://..evil...example../", "http://evil.example/"),
            ("http://some%1bhost.com/%1b", "http://some%1Bhost.com/%1B"),
            // Paths.
            (
                "http://a.com/foo/.././bar/./../foo.html",
                "http://a.com/foo.html",
            ),
            ("http://a.com//a//b///c////", "http://a.com/a/b/c/"),
            ("http://a.com/a/b/.", "http://a.com/a/b/"),
            ("http://a.com/../../x", "http://a.com/x"),
            ("http://a.com/a/%2e%2e/b", "http://a.com/b"),
            ("http://a.com/...", "http://a.com/..."),
            ("http://a.com/a%2fb", "http://a.com/a/b"),
            ("http://a.com/%3Fnot-a-query", "http://a.com/?not-a-query"),
            ("http://a.com/?q=1#frag", "http://a.com/?q=1"),
            ("http://a.com?q", "http://a.com/?q"),
            ("http://a.com/ä?ö", "http://a.com/%C3%A4?%C3%B6"),
            ("http://a.com/a b", "http://a.com/a%20b"),
            ("http://a.com/\u{7f}", "http://a.com/%7F"),
            ("http%3A%2F%2Fwackyurl.com:80/", "http://wackyurl.com/"),
            ("\u{3000}http://a.com/\u{3000}", "http://a.com/"),
        ];
        for (input, want) in cases {
            assert_eq!(canonicalize(input).as_deref(), Ok(*want), "{input:?}");
            assert_eq!(canonicalize(want).as_deref(), Ok(*want), "again {want:?}");
        }
    }

    #[test]
    fn fixed_point_through_unescaped_defang() {
        // %5B.%5D unescapes to "[.]": the result must not change if fed back.
        let once = canonicalize("http://x.example/a%5B.%5Db").unwrap();
        assert_eq!(once, "http://x.example/a.b");
        let once = canonicalize("http://x.example/a[//]b").unwrap();
        assert_eq!(canonicalize(&once).unwrap(), once);
    }

    #[test]
    fn errors() {
        let cases: &[(&str, UrlError)] = &[
            ("", UrlError::Empty),
            ("   \t\n", UrlError::Empty),
            ("http://", UrlError::NoHost),
            ("http:///blah", UrlError::NoHost),
            ("http://#ref", UrlError::NoHost),
            ("http://?query", UrlError::NoHost),
            ("/blah", UrlError::NoHost),
            ("?query#ref", UrlError::NoHost),
            ("http://...", UrlError::NoHost),
            ("http://user@/x", UrlError::NoHost),
            (
                "mailto:bryner@google.com",
                UrlError::BadScheme("mailto".into()),
            ),
            (
                "javascript:alert(1)",
                UrlError::BadScheme("javascript".into()),
            ),
            (
                "http:www.google.com:8080/foo.html",
                UrlError::BadScheme("http".into()),
            ),
            (
                "www.google.com:xxyy/foo.html",
                UrlError::BadPort("xxyy".into()),
            ),
            ("http://evil.example:80a/", UrlError::BadPort("80a".into())),
            ("http://[::1/", UrlError::BadIpv6("[::1".into())),
            ("http://[nope]/", UrlError::BadIpv6("nope".into())),
            ("http://[::1]x/", UrlError::BadIpv6("x".into())),
            ("http://a:b:80/", UrlError::BadHost("a:b".into())),
            ("localhost:abc", UrlError::BadScheme("localhost".into())),
        ];
        for (input, want) in cases {
            assert_eq!(canonicalize(input).as_ref(), Err(want), "{input:?}");
        }
        let long = format!("http://a.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(
            canonicalize(&long),
            Err(UrlError::TooLong { max: MAX_URL_LEN })
        );
        let just_fits = format!("http://a.com/{}", "a".repeat(MAX_URL_LEN - 13));
        assert_eq!(just_fits.len(), MAX_URL_LEN);
        assert!(canonicalize(&just_fits).is_ok());
        // Escaping may make the output longer than the input limit; that's fine.
        let spaces = format!("http://a.com/{}", " x".repeat(3000));
        assert!(canonicalize(&spaces).unwrap().len() > MAX_URL_LEN);
        assert_eq!(
            UrlError::BadScheme("mailto".into()).to_string(),
            "the scheme \"mailto\" is not supported: write the URL as scheme://host/path, e.g. http://example.com/"
        );
    }

    #[test]
    fn splitting() {
        let p = split("http://a.b.c/1/2.html?param=1").unwrap();
        assert_eq!(
            p,
            UrlParts {
                scheme: "http",
                host: "a.b.c",
                path: "/1/2.html",
                query: Some("param=1")
            }
        );
        let p = split("https://[2001:db8::1]/").unwrap();
        assert_eq!((p.host, p.path, p.query), ("[2001:db8::1]", "/", None));
        let p = split("http://www.google.com/q?").unwrap();
        assert_eq!(p.query, Some(""));
        assert_eq!(split("http://host.com/a?b?c").unwrap().query, Some("b?c"));
        assert_eq!(split("not a url"), None);
        assert_eq!(split("http://nopath"), None);
        assert_eq!(split("http:///x"), None);
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    fn strs(v: &[&str]) -> Vec<String> {
        sorted(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn google_expression_examples() {
        // From Google's "Suffix/Prefix Expressions" section.
        // Also the order: host suffixes longest first, then paths as Google lists them.
        assert_eq!(
            lookup_expressions("http://a.b.c/1/2.html?param=1"),
            vec![
                "a.b.c/1/2.html?param=1",
                "a.b.c/1/2.html",
                "a.b.c/",
                "a.b.c/1/",
                "b.c/1/2.html?param=1",
                "b.c/1/2.html",
                "b.c/",
                "b.c/1/",
            ]
        );
        assert_eq!(
            sorted(lookup_expressions("http://a.b.c.d.e.f.g/1.html")),
            strs(&[
                "a.b.c.d.e.f.g/1.html",
                "a.b.c.d.e.f.g/",
                "c.d.e.f.g/1.html",
                "c.d.e.f.g/",
                "d.e.f.g/1.html",
                "d.e.f.g/",
                "e.f.g/1.html",
                "e.f.g/",
                "f.g/1.html",
                "f.g/",
            ])
        );
        assert_eq!(
            sorted(lookup_expressions("http://1.2.3.4/1/")),
            strs(&["1.2.3.4/1/", "1.2.3.4/"])
        );
    }

    #[test]
    fn more_expressions() {
        assert_eq!(
            sorted(lookup_expressions("http://a.b.c/1/2/3/4/5/")),
            strs(&[
                "a.b.c/1/2/3/4/5/",
                "a.b.c/1/2/3/",
                "a.b.c/1/2/",
                "a.b.c/1/",
                "a.b.c/",
                "b.c/1/2/3/4/5/",
                "b.c/1/2/3/",
                "b.c/1/2/",
                "b.c/1/",
                "b.c/",
            ])
        );
        assert_eq!(
            sorted(lookup_expressions("http://a.com/a/b/c/d/e.html?123")),
            strs(&[
                "a.com/a/b/c/d/e.html?123",
                "a.com/a/b/c/d/e.html",
                "a.com/",
                "a.com/a/",
                "a.com/a/b/",
                "a.com/a/b/c/",
            ])
        );
        assert_eq!(lookup_expressions("http://a.b/"), vec!["a.b/"]);
        assert_eq!(lookup_expressions("http://b/"), vec!["b/"]);
        assert_eq!(lookup_expressions("http://a.b/?"), vec!["a.b/?", "a.b/"]);
        assert_eq!(
            lookup_expressions("http://[2001:470:1:18::114]/a/b"),
            vec![
                "[2001:470:1:18::114]/a/b",
                "[2001:470:1:18::114]/",
                "[2001:470:1:18::114]/a/"
            ]
        );
        assert_eq!(lookup_expressions("not canonical"), Vec::<String>::new());
        // The maximum: 5 hosts x 6 paths.
        let max = lookup_expressions("http://a.b.c.d.e.f.g.h/1/2/3/4/5.html?q");
        assert_eq!(max.len(), 30);
        assert!(max.contains(&"d.e.f.g.h/1/2/3/".to_string()));
        assert!(!max.iter().any(|e| e.starts_with("h/")));
        assert!(!max.iter().any(|e| e.starts_with("b.c.d.e.f.g.h/")));
    }

    #[test]
    fn listed_expressions_are_hit() {
        let url = canonicalize("http://Evil.Example/gate.php?id=7#x").unwrap();
        assert_eq!(listed_expression(&url), "evil.example/gate.php?id=7");
        assert!(lookup_expressions(&url).contains(&listed_expression(&url)));
        // A listed domain is hit by any URL on it or on a subdomain.
        let sub = canonicalize("https://a.b.evil.example/x/y").unwrap();
        assert!(lookup_expressions(&sub).contains(&domain_expression("evil.example")));
        assert_eq!(domain_expression("Evil.Example."), "evil.example/");
        assert_eq!(listed_expression("http://a.com/q?"), "a.com/q?");
        assert_eq!(listed_expression("garbage://x"), "x");
        assert_eq!(listed_expression("garbage"), "garbage");
    }

    #[test]
    fn hashes() {
        // SHA-256("abc"), the FIPS 180-2 example Google's document also uses.
        let h = full_hash("abc");
        assert_eq!(
            h.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash_prefix("abc"), [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(
            hash_prefix("evil.example/"),
            full_hash("evil.example/")[..4]
        );
    }

    fn url_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            ".{0,80}",
            "(hxxp|HTTP|https|ftp)?(://|\\[://\\]|\\[:\\]//)?[a-zA-Z0-9.%@:\\[\\]\\-]{0,25}(/[a-zA-Z0-9.%/?#&=;\\[\\]()]{0,30})?",
            "http://[a-z.]{1,10}/[%0-9A-Fa-f./\\[\\]()@:?#]{0,30}",
            "(%[0-9a-fA-F]{2}|[/.:?#%@\\[\\]a-z0-9 ]){0,40}",
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_output_is_clean(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Ok(c) = canonicalize_bytes(&bytes) {
                prop_assert!(c.bytes().all(|b| b > 0x20 && b < 0x7f && b != b'#'), "{:?}", c);
                prop_assert_eq!(canonicalize(&c), Ok(c.clone()));
            }
        }

        #[test]
        fn idempotent(s in url_strategy()) {
            if let Ok(c) = canonicalize(&s) {
                prop_assert!(c.bytes().all(|b| b > 0x20 && b < 0x7f && b != b'#'), "{:?}", c);
                prop_assert_eq!(canonicalize(&c), Ok(c.clone()), "input {:?}", s);
                prop_assert!(split(&c).is_some(), "{:?}", c);
            }
        }

        #[test]
        fn expressions_bounded_and_hit(s in url_strategy()) {
            if let Ok(c) = canonicalize(&s) {
                let exprs = lookup_expressions(&c);
                prop_assert!(!exprs.is_empty() && exprs.len() <= 30, "{} for {:?}", exprs.len(), c);
                prop_assert!(exprs.contains(&listed_expression(&c)), "{:?}", c);
                let mut dedup = exprs.clone();
                dedup.sort();
                dedup.dedup();
                prop_assert_eq!(dedup.len(), exprs.len());
            }
        }
    }
}
