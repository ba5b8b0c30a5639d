//! What an observable (an IOC) is, and its one canonical spelling.
//!
//! Two members who share `HXXP://Evil[.]Example:80/a/./b` and
//! `http://evil.example/a/b` must meet on the same stored value, so every
//! value is canonicalized before it is stored, hashed or compared.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::defang::refang;

/// Bytes of raw input accepted for one value.
pub const MAX_VALUE_LEN: usize = 4096;

/// The kinds of observable kyojo shares.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Url,
    Domain,
    Ipv4,
    Ipv6,
    Md5,
    Sha1,
    Sha256,
    Email,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 8] = [
        Kind::Url,
        Kind::Domain,
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Md5,
        Kind::Sha1,
        Kind::Sha256,
        Kind::Email,
    ];

    /// The wire and storage name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Url => "url",
            Kind::Domain => "domain",
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
            Kind::Email => "email",
        }
    }

    /// How the kind reads in an error message ("not a valid ...").
    fn noun(self) -> &'static str {
        match self {
            Kind::Url => "url",
            Kind::Domain => "domain name",
            Kind::Ipv4 => "ipv4 address",
            Kind::Ipv6 => "ipv6 address",
            Kind::Md5 => "md5 hash",
            Kind::Sha1 => "sha1 hash",
            Kind::Sha256 => "sha256 hash",
            Kind::Email => "email address",
        }
    }

    /// Number of hex digits of a hash kind.
    fn hash_len(self) -> Option<usize> {
        match self {
            Kind::Md5 => Some(32),
            Kind::Sha1 => Some(40),
            Kind::Sha256 => Some(64),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ObservableError;

    /// Accepts exactly the names of [`Kind::as_str`], ignoring case and
    /// surrounding whitespace. "ip" is refused on purpose: the family matters.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| ObservableError::UnknownKind(shorten(s)))
    }
}

/// One canonical observable. Construct it with [`canonicalize`] or
/// [`detect`]; `value` is then always canonical.
///
/// Serializes as `{"type": "...", "value": "..."}`. Deserializing
/// re-canonicalizes, so a stored or received value can't bypass the rules.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "RawObservable")]
// Built only here: outside this crate an `Observable` comes from a
// canonicalizing constructor (or the store, which holds only their output),
// so "everything stored is canonical" cannot be bypassed by a struct literal.
#[non_exhaustive]
pub struct Observable {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub value: String,
}

impl Observable {
    /// Same as [`canonicalize`].
    pub fn new(kind: Kind, input: &str) -> Result<Observable, ObservableError> {
        canonicalize(kind, input)
    }

    /// A value read back from the store, which holds only canonical
    /// values (every write goes through [`canonicalize_stored`]); also a
    /// search key made of such values. Never for input: use [`Observable::new`].
    pub fn from_store(kind: Kind, value: String) -> Observable {
        Observable { kind, value }
    }
}

impl fmt::Display for Observable {
    /// `kind:value`, e.g. `ipv4:192.0.2.1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

#[derive(serde::Deserialize)]
struct RawObservable {
    #[serde(rename = "type")]
    kind: Kind,
    value: String,
}

impl TryFrom<RawObservable> for Observable {
    type Error = ObservableError;
    fn try_from(raw: RawObservable) -> Result<Self, Self::Error> {
        canonicalize(raw.kind, &raw.value)
    }
}

/// Why a value was refused. Messages are meant to be shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObservableError {
    #[error("the value is empty")]
    Empty,
    #[error("the value is too long: at most {max} bytes are accepted")]
    TooLong { max: usize },
    #[error(
        "unknown observable type \"{0}\": use one of url, domain, ipv4, ipv6, md5, sha1, sha256, email"
    )]
    UnknownKind(String),
    #[error("not a valid {}: {reason}", kind.noun())]
    Invalid { kind: Kind, reason: String },
    #[error(
        "could not tell what kind of observable \"{0}\" is: give its type (url, domain, ipv4, ipv6, md5, sha1, sha256, email)"
    )]
    Undetectable(String),
}

fn invalid(kind: Kind, reason: impl Into<String>) -> ObservableError {
    ObservableError::Invalid {
        kind,
        reason: reason.into(),
    }
}

/// Echo user input in an error without letting it flood the message.
fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Validate and canonicalize `input` as `kind`. Accepts defanged forms (calls defang::refang first) and surrounding whitespace.
pub fn canonicalize(kind: Kind, input: &str) -> Result<Observable, ObservableError> {
    let s = prepare(input)?;
    let value = match kind {
        Kind::Url => crate::url::canonicalize(&s).map_err(|e| invalid(Kind::Url, e.to_string()))?,
        Kind::Domain => canonical_domain(&s).map_err(|r| invalid(Kind::Domain, r))?,
        Kind::Ipv4 => canonical_ipv4(&s).map_err(|r| invalid(Kind::Ipv4, r))?,
        Kind::Ipv6 => canonical_ipv6(&s).map_err(|r| invalid(Kind::Ipv6, r))?,
        Kind::Md5 | Kind::Sha1 | Kind::Sha256 => canonical_hash(kind, &s)?,
        Kind::Email => canonical_email(&s).map_err(|r| invalid(Kind::Email, r))?,
    };
    // Escaping can make the canonical form longer than the input; a value
    // that would not be accepted again is not accepted now.
    if value.len() > MAX_VALUE_LEN {
        return Err(ObservableError::TooLong { max: MAX_VALUE_LEN });
    }
    Ok(Observable { kind, value })
}

/// Like [`canonicalize`], for values that will be stored and may be fed to
/// blocklists (reports, sightings): a URL's host must also be a well-formed
/// domain name or an IP address. Lookups stay lenient and use
/// [`canonicalize_for_lookup`] or [`detect_for_lookup`].
pub fn canonicalize_stored(kind: Kind, input: &str) -> Result<Observable, ObservableError> {
    let obs = canonicalize(kind, input)?;
    check_stored(&obs)?;
    Ok(obs)
}

/// The extra rule of [`canonicalize_stored`] for a value already canonical.
pub fn check_stored(obs: &Observable) -> Result<(), ObservableError> {
    if obs.kind != Kind::Url {
        return Ok(());
    }
    match crate::url::split(&obs.value) {
        Some(parts) if url_host_plausible(parts.host, false) => Ok(()),
        Some(parts) => Err(invalid(
            Kind::Url,
            format!(
                "its host \"{}\" is neither a domain name nor an IP address",
                shorten(parts.host)
            ),
        )),
        None => Err(invalid(Kind::Url, "it has no host")),
    }
}

/// Length check, refang, trim.
fn prepare(input: &str) -> Result<String, ObservableError> {
    if input.len() > MAX_VALUE_LEN {
        return Err(ObservableError::TooLong { max: MAX_VALUE_LEN });
    }
    let refanged = refang(input);
    let s = refanged.trim();
    if s.is_empty() {
        return Err(ObservableError::Empty);
    }
    Ok(s.to_owned())
}

/// Guess the kind of a single value and canonicalize it (used by lookups that get bare strings).
///
/// Tried in order: ipv4 (dotted quad or CIDR only, never a bare integer),
/// ipv6 (has a `:` and parses), md5/sha1/sha256 (pure hex of 32/40/64),
/// email (one `@`), url (a `scheme://`, or a `/` after a known host),
/// domain (known public suffix). A value that looks like an ipv4 address or
/// a URL with a scheme but is broken gets that kind's error, so the user
/// learns what is wrong; anything else is [`ObservableError::Undetectable`].
pub fn detect(input: &str) -> Result<Observable, ObservableError> {
    let s = prepare(input)?;
    let s = s.as_str();

    if is_dotted_quad_shape(s) {
        return canonicalize(Kind::Ipv4, s);
    }
    if s.contains(':') {
        if let Ok(o) = canonicalize(Kind::Ipv6, s) {
            return Ok(o);
        }
    }
    if s.bytes().all(|b| b.is_ascii_hexdigit()) {
        for kind in [Kind::Md5, Kind::Sha1, Kind::Sha256] {
            if kind.hash_len() == Some(s.len()) {
                return canonicalize(kind, s);
            }
        }
    }
    if s.matches('@').count() == 1 && !s.contains("://") {
        if let Ok(o) = canonicalize(Kind::Email, s) {
            return Ok(o);
        }
    }
    if has_scheme(s) {
        let obs = canonicalize(Kind::Url, s)?;
        return match crate::url::split(&obs.value) {
            Some(parts) if url_host_plausible(parts.host, false) => Ok(obs),
            _ => Err(invalid(
                Kind::Url,
                "its host is neither a domain name nor an IP address",
            )),
        };
    }
    if let Some((host, _)) = s.split_once('/') {
        let host = strip_port(host);
        if is_dotted_quad_shape(host) || is_known_domain(host) {
            if let Ok(o) = canonicalize(Kind::Url, s) {
                // The same host rule as with a scheme, so that detecting the
                // canonical value again gives the same answer.
                if crate::url::split(&o.value).is_some_and(|p| url_host_plausible(p.host, false)) {
                    return Ok(o);
                }
            }
        }
    }
    if let Ok(d) = canonical_domain(s) {
        if has_known_tld(&d) {
            return Ok(Observable {
                kind: Kind::Domain,
                value: d,
            });
        }
    }
    Err(ObservableError::Undetectable(shorten(s)))
}

/// [`detect`] for a *lookup*: what [`detect`] accepts it answers the same,
/// and anything else that Safe Browsing canonicalizes as a URL becomes that
/// URL (kind [`Kind::Url`]) instead of an error.
///
/// A lookup must answer "not listed" rather than refuse, so a single-label
/// host (`intranet/x`), an escaped host (`http://host%23.com/`), a bare
/// inet_aton spelling (`0x7f.1` -> `http://127.0.0.1/`), even a mistyped hash
/// becomes the URL Safe Browsing would hash. Untyped text with a space and
/// no scheme (`not a thing!`) is not read as a URL: it keeps [`detect`]'s
/// "could not tell what kind" (a typed URL lookup reads it anyway). A URL query also matches listed
/// domains, parent domains and IP networks of its host (see the index), so
/// nothing a narrower kind would have matched is lost. When no URL reading
/// exists either (`javascript:x`, `http:///x`), [`detect`]'s error is returned.
///
/// The value is canonical for [`canonicalize_for_lookup`], which may be laxer
/// than [`canonicalize`]; never store it (reports go through
/// [`canonicalize_stored`]).
pub fn detect_for_lookup(input: &str) -> Result<Observable, ObservableError> {
    let strict = match detect(input) {
        Ok(o) => return Ok(o),
        Err(e @ (ObservableError::Empty | ObservableError::TooLong { .. })) => return Err(e),
        Err(e) => e,
    };
    let trimmed = input.trim();
    if !trimmed.contains("://") && trimmed.chars().any(char::is_whitespace) {
        return Err(strict);
    }
    lookup_url(input).or(Err(strict))
}

/// [`canonicalize`] for a *lookup* of a value of a known kind: a URL is read
/// the lenient way ([`crate::url::canonicalize_for_lookup`]); other kinds
/// are unchanged, since a typed domain or address is a claim to check.
pub fn canonicalize_for_lookup(kind: Kind, input: &str) -> Result<Observable, ObservableError> {
    match kind {
        Kind::Url => lookup_url(input),
        _ => canonicalize(kind, input),
    }
}

/// The lenient URL reading, under the same length limits as [`canonicalize`].
fn lookup_url(input: &str) -> Result<Observable, ObservableError> {
    let s = prepare(input)?;
    let value = crate::url::canonicalize_for_lookup(&s)
        .map_err(|e| invalid(Kind::Url, e.to_string()))?
        .canonical;
    if value.len() > MAX_VALUE_LEN {
        return Err(ObservableError::TooLong { max: MAX_VALUE_LEN });
    }
    Ok(Observable {
        kind: Kind::Url,
        value,
    })
}

/// For IP kinds: the parsed network (a single address is a /32 or /128).
pub fn ip_network(obs: &Observable) -> Option<ipnet::IpNet> {
    match obs.kind {
        Kind::Ipv4 | Kind::Ipv6 => {
            if obs.value.contains('/') {
                obs.value.parse().ok()
            } else {
                obs.value.parse::<IpAddr>().ok().map(ipnet::IpNet::from)
            }
        }
        _ => None,
    }
}

// ---------------------------------------------------------------- helpers

/// Four numeric parts (decimal, or 0x hex) and an optional `/n`: what a
/// person means as ipv4. A bare integer is not, even though inet_aton
/// would take it.
fn is_dotted_quad_shape(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let numeric = |p: &str| {
        let digits = p
            .strip_prefix("0x")
            .or_else(|| p.strip_prefix("0X"))
            .map_or_else(
                || p.bytes().all(|b| b.is_ascii_digit()),
                |h| h.bytes().all(|b| b.is_ascii_hexdigit()),
            );
        !p.is_empty() && p.len() <= 12 && digits
    };
    let prefix_ok = match prefix {
        None => true,
        Some(p) => (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()),
    };
    let parts: Vec<&str> = addr.split('.').collect();
    parts.len() == 4 && parts.iter().all(|p| numeric(p)) && prefix_ok
}

/// Does `s` start with `letters://` (a URL scheme)?
pub(crate) fn has_scheme(s: &str) -> bool {
    match s.find("://") {
        Some(i) if i > 0 => {
            let scheme = &s.as_bytes()[..i];
            scheme[0].is_ascii_alphabetic()
                && scheme
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        }
        _ => false,
    }
}

/// Drop a trailing `:port` from a host (not from a bare IPv6 address).
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn is_known_domain(s: &str) -> bool {
    canonical_domain(s).is_ok_and(|d| has_known_tld(&d))
}

/// Is the last label a TLD the public suffix list knows? Used by `detect`
/// and the extractor, which must not call "setup.exe" a domain; explicit
/// canonicalization accepts any TLD.
///
/// The list includes IDN TLDs in punycode (`xn--p1ai`), so those pass; an
/// arbitrary `xn--` label does not, because Japanese text glued to a domain
/// (`evil.co.jpへ`) would otherwise become the "TLD" `xn--jp-...`.
pub(crate) fn has_known_tld(domain: &str) -> bool {
    psl::suffix(domain.as_bytes()).is_some_and(|s| s.is_known())
        || domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| RESERVED_TLDS.contains(&tld))
}

/// Special-use TLDs (RFC 2606, RFC 6761, ICANN's `.internal`) that the public
/// suffix list leaves out but that exercises, documentation and private
/// networks use, so a hub must recognise them.
const RESERVED_TLDS: [&str; 4] = ["example", "test", "invalid", "internal"];

/// Is a canonical URL host something worth calling a URL: an IP literal or
/// a well-formed domain name (with a known TLD if asked)?
pub(crate) fn url_host_plausible(host: &str, require_known_tld: bool) -> bool {
    if host.starts_with('[') {
        return true;
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    match canonical_domain(host) {
        Ok(d) => d == host && (!require_known_tld || has_known_tld(&d)),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------- domain

/// Canonical domain, or the reason it isn't one.
pub(crate) fn canonical_domain(s: &str) -> Result<String, String> {
    let s = s.trim_end_matches('.');
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.contains("://") || s.contains('/') {
        return Err("it contains a '/', so it looks like a URL: use type url".into());
    }
    if s.contains('@') {
        return Err("it contains an '@', so it looks like an email address: use type email".into());
    }
    if s.starts_with('*') {
        return Err("wildcards are not supported: give the domain itself".into());
    }
    let unbracketed = s.trim_start_matches('[').trim_end_matches(']');
    if parse_inet_aton(unbracketed).is_ok() {
        return Err("it is an IP address: use type ipv4".into());
    }
    if unbracketed.parse::<Ipv6Addr>().is_ok() {
        return Err("it is an IP address: use type ipv6".into());
    }
    let needs_idna = !s.is_ascii()
        || s.split('.')
            .any(|l| l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--")));
    let name = if needs_idna {
        match idna::domain_to_ascii_cow(s.as_bytes(), idna::AsciiDenyList::EMPTY) {
            Ok(a) => a.into_owned(),
            Err(_) => {
                return Err("it is not a valid internationalized domain name".into());
            }
        }
    } else {
        s.to_ascii_lowercase()
    };
    // IDNA can map characters to '.', so strip again.
    let name = name.trim_end_matches('.');
    if name.len() > 253 {
        return Err(format!(
            "it is {} characters long; the limit is 253",
            name.len()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("it needs at least two labels, like example.com".into());
    }
    for label in &labels {
        check_label(label)?;
    }
    let tld = labels[labels.len() - 1];
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the last label \"{tld}\" is a number, not a top-level domain"
        ));
    }
    if tld.contains('_') {
        return Err(format!("the top-level domain \"{tld}\" contains '_'"));
    }
    Ok(name.to_owned())
}

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("it has an empty label (two dots in a row, or a leading dot)".into());
    }
    if label.len() > 63 {
        return Err(format!(
            "the label \"{}\" is {} characters long; the limit is 63",
            shorten(label),
            label.len()
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "the label \"{}\" contains the character {c:?}; only letters, digits, '-' and '_' are allowed",
            shorten(label)
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "the label \"{}\" starts or ends with '-'",
            shorten(label)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- ipv4

/// Parse an IPv4 address in any encoding `inet_aton` accepts: 1 to 4 parts,
/// each decimal, octal (leading 0) or hex (0x); the last part fills the
/// remaining bytes. Malicious URLs use these forms to dodge naive filters.
pub(crate) fn parse_inet_aton(s: &str) -> Result<Ipv4Addr, String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(
            "it has an empty part (two dots in a row, or a leading or trailing dot)".into(),
        );
    }
    if parts.len() > 4 {
        return Err(format!(
            "it has {} parts; an address has at most 4",
            parts.len()
        ));
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        values.push(parse_inet_part(part)?);
    }
    let n = values.len();
    for (part, &v) in parts.iter().zip(&values).take(n - 1) {
        if v > 255 {
            return Err(format!("octet {part} is above 255"));
        }
    }
    let last = values[n - 1];
    let last_max: u64 = match n {
        1 => 0xffff_ffff,
        2 => 0x00ff_ffff,
        3 => 0xffff,
        _ => 0xff,
    };
    if last > last_max {
        return Err(if n == 4 {
            format!("octet {} is above 255", parts[n - 1])
        } else {
            format!(
                "the last part {} is too large for a {n}-part address",
                parts[n - 1]
            )
        });
    }
    let mut addr: u64 = 0;
    for (i, &v) in values.iter().enumerate().take(n - 1) {
        addr |= v << (8 * (3 - i));
    }
    addr |= last;
    let addr = u32::try_from(addr).map_err(|_| "it is out of range".to_string())?;
    Ok(Ipv4Addr::from(addr))
}

fn parse_inet_part(part: &str) -> Result<u64, String> {
    let bad = || format!("\"{}\" is not a number", shorten(part));
    if part.is_empty() {
        return Err(
            "it has an empty part (two dots in a row, or a leading or trailing dot)".into(),
        );
    }
    let (digits, radix) =
        if let Some(h) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (h, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix).ok_or_else(bad)?;
        v = v * u64::from(radix) + u64::from(d);
        if v > 0xffff_ffff {
            return Err(format!("\"{}\" is too large", shorten(part)));
        }
    }
    Ok(v)
}

fn canonical_ipv4(s: &str) -> Result<String, String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip = parse_inet_aton(addr)?;
    match prefix {
        None => Ok(ip.to_string()),
        Some(p) => {
            let len = parse_prefix(p, 32)?;
            if len == 32 {
                return Ok(ip.to_string());
            }
            let net = ipnet::Ipv4Net::new(ip, len)
                .map_err(|_| format!("prefix length /{p} is not between 0 and 32"))?
                .trunc();
            Ok(net.to_string())
        }
    }
}

fn parse_prefix(p: &str, max: u8) -> Result<u8, String> {
    let err = || format!("prefix length /{} is not between 0 and {max}", shorten(p));
    if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    match p.parse::<u8>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(err()),
    }
}

// ---------------------------------------------------------------- ipv6

fn canonical_ipv6(s: &str) -> Result<String, String> {
    let (addr, prefix) = if let Some(rest) = s.strip_prefix('[') {
        let (inner, after) = rest
            .split_once(']')
            .ok_or_else(|| "the '[' is not closed by ']'".to_string())?;
        let prefix = if after.is_empty() {
            None
        } else if let Some(p) = after.strip_prefix('/') {
            Some(p)
        } else {
            return Err(format!("unexpected \"{}\" after ']'", shorten(after)));
        };
        (inner, prefix)
    } else {
        match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        }
    };
    if addr.contains('%') {
        return Err("zone identifiers like %eth0 are not supported".into());
    }
    let ip: Ipv6Addr = addr
        .parse()
        .map_err(|_| format!("\"{}\" is not an IPv6 address", shorten(addr)))?;
    match prefix {
        None => Ok(ip.to_string()),
        Some(p) => {
            let len = parse_prefix(p, 128)?;
            if len == 128 {
                return Ok(ip.to_string());
            }
            let net = ipnet::Ipv6Net::new(ip, len)
                .map_err(|_| format!("prefix length /{p} is not between 0 and 128"))?
                .trunc();
            Ok(net.to_string())
        }
    }
}

// ---------------------------------------------------------------- hashes

fn canonical_hash(kind: Kind, s: &str) -> Result<String, ObservableError> {
    let want = kind.hash_len().unwrap_or(0);
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(invalid(
            kind,
            format!(
                "it contains {c:?} at position {}; only hexadecimal digits 0-9 and a-f are allowed",
                i + 1
            ),
        ));
    }
    if s.len() != want {
        return Err(invalid(
            kind,
            format!("expected {want} hexadecimal characters, found {}", s.len()),
        ));
    }
    Ok(s.to_ascii_lowercase())
}

// ---------------------------------------------------------------- email

/// Characters that can't appear in an unquoted local part (RFC 5322
/// specials); refusing them keeps "mailto:", display names and lists out.
fn is_local_special(c: char) -> bool {
    c.is_whitespace() || c.is_control() || "()<>[]:;@\\,\"".contains(c)
}

fn canonical_email(s: &str) -> Result<String, String> {
    let mut s = s.trim();
    let had_mailto =
        s.len() >= 7 && s.is_char_boundary(7) && s[..7].eq_ignore_ascii_case("mailto:");
    if had_mailto {
        s = s[7..].trim_start();
    }
    if let Some(inner) = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        s = inner.trim();
    }
    if had_mailto {
        if let Some((addr, _query)) = s.split_once('?') {
            s = addr;
        }
    }
    let (local, domain) = s
        .rsplit_once('@')
        .ok_or_else(|| "it has no '@'".to_string())?;
    if local.is_empty() {
        return Err("the part before '@' is empty".into());
    }
    if let Some(c) = local.chars().find(|&c| is_local_special(c)) {
        return Err(if c == '@' {
            "it contains more than one '@'".into()
        } else {
            format!("the part before '@' contains {c:?}")
        });
    }
    if local.chars().count() > 64 {
        return Err("the part before '@' is longer than 64 characters".into());
    }
    let domain =
        canonical_domain(domain).map_err(|r| format!("the domain after '@' is not valid: {r}"))?;
    Ok(format!("{}@{}", local.to_lowercase(), domain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(kind: Kind, input: &str) -> String {
        match canonicalize(kind, input) {
            Ok(o) => o.value,
            Err(e) => panic!("canonicalize({kind}, {input:?}) failed: {e}"),
        }
    }

    fn err(kind: Kind, input: &str) -> String {
        match canonicalize(kind, input) {
            Ok(o) => panic!(
                "canonicalize({kind}, {input:?}) unexpectedly gave {:?}",
                o.value
            ),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn kind_names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), k);
            assert_eq!(k.as_str().to_uppercase().parse::<Kind>().unwrap(), k);
            assert_eq!(k.to_string(), k.as_str());
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<Kind>(&json).unwrap(), k);
        }
        assert_eq!(" Sha256 ".parse::<Kind>().unwrap(), Kind::Sha256);
        for bad in ["ip", "ipv", "hash", "", "sha-256", "hostname"] {
            let e = bad.parse::<Kind>().unwrap_err();
            assert!(matches!(e, ObservableError::UnknownKind(_)), "{bad}");
        }
        assert_eq!(
            "ip".parse::<Kind>().unwrap_err().to_string(),
            "unknown observable type \"ip\": use one of url, domain, ipv4, ipv6, md5, sha1, sha256, email"
        );
    }

    #[test]
    fn kind_order_is_declaration_order() {
        let mut sorted = Kind::ALL;
        sorted.sort();
        assert_eq!(sorted, Kind::ALL);
    }

    #[test]
    fn observable_serde() {
        let o = canonicalize(Kind::Ipv4, "10.1.2.3/8").unwrap();
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(json, r#"{"type":"ipv4","value":"10.0.0.0/8"}"#);
        let back: Observable = serde_json::from_str(&json).unwrap();
        assert_eq!(back, o);
        // Deserializing canonicalizes.
        let back: Observable =
            serde_json::from_str(r#"{"type":"domain","value":"Evil[.]Example."}"#).unwrap();
        assert_eq!(back.value, "evil.example");
        // And refuses garbage.
        assert!(serde_json::from_str::<Observable>(r#"{"type":"md5","value":"xyz"}"#).is_err());
        assert!(serde_json::from_str::<Observable>(r#"{"type":"ip","value":"1.2.3.4"}"#).is_err());
        assert_eq!(o.to_string(), "ipv4:10.0.0.0/8");
    }

    #[test]
    fn common_errors() {
        assert_eq!(
            canonicalize(Kind::Domain, "   "),
            Err(ObservableError::Empty)
        );
        assert_eq!(canonicalize(Kind::Domain, ""), Err(ObservableError::Empty));
        let long = "a".repeat(MAX_VALUE_LEN + 1);
        assert_eq!(
            canonicalize(Kind::Domain, &long),
            Err(ObservableError::TooLong { max: MAX_VALUE_LEN })
        );
        assert_eq!(
            ObservableError::TooLong { max: 4096 }.to_string(),
            "the value is too long: at most 4096 bytes are accepted"
        );
        assert_eq!(ObservableError::Empty.to_string(), "the value is empty");
    }

    #[test]
    fn domains() {
        let cases = [
            ("example.com", "example.com"),
            ("Example.COM", "example.com"),
            ("  example.com.  ", "example.com"),
            ("example.com...", "example.com"),
            ("evil[.]example", "evil.example"),
            ("evil(dot)example", "evil.example"),
            ("corp.internal", "corp.internal"),
            ("_dmarc.example.com", "_dmarc.example.com"),
            ("my_host.evil.example", "my_host.evil.example"),
            ("a-b.c-d.example", "a-b.c-d.example"),
            ("例え.jp", "xn--r8jz45g.jp"),
            ("bücher.de", "xn--bcher-kva.de"),
            ("BÜCHER.de", "xn--bcher-kva.de"),
            ("xn--bcher-kva.de", "xn--bcher-kva.de"),
            ("XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
            ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
            ("1.2.3.com", "1.2.3.com"),
            ("123.example", "123.example"),
        ];
        for (input, want) in cases {
            assert_eq!(ok(Kind::Domain, input), want, "{input}");
        }
        let label63 = "a".repeat(63);
        assert_eq!(
            ok(Kind::Domain, &format!("{label63}.com")),
            format!("{label63}.com")
        );
        let long = format!("{0}.{0}.{0}.{1}.com", label63, "a".repeat(57));
        assert_eq!(long.len(), 253);
        assert_eq!(ok(Kind::Domain, &long), long);
    }

    #[test]
    fn domain_errors() {
        let cases = [
            ("localhost", "at least two labels"),
            ("a..b.com", "empty label"),
            (".evil.com", "empty label"),
            ("-evil.com", "starts or ends with '-'"),
            ("evil-.com", "starts or ends with '-'"),
            ("ev il.com", "contains the character ' '"),
            ("evil.com/path", "looks like a URL"),
            ("http://evil.com", "looks like a URL"),
            ("user@evil.com", "email"),
            ("1.2.3.4", "IP address: use type ipv4"),
            ("3232235777", "IP address: use type ipv4"),
            ("0xc0.0xa8.0.1", "IP address: use type ipv4"),
            ("::1", "IP address: use type ipv6"),
            ("[2001:db8::1]", "IP address: use type ipv6"),
            ("1.2.3.400", "is a number"),
            ("3.14", "IP address"),
            ("*.evil.com", "wildcards"),
            ("evil.c_m", "contains '_'"),
            ("evil!.com", "contains the character '!'"),
            ("xn--zz.com", "internationalized"),
        ];
        for (input, needle) in cases {
            let e = err(Kind::Domain, input);
            assert!(e.starts_with("not a valid domain name: "), "{input}: {e}");
            assert!(e.contains(needle), "{input}: {e} (wanted {needle:?})");
        }
        let label64 = "a".repeat(64);
        assert!(err(Kind::Domain, &format!("{label64}.com")).contains("limit is 63"));
        let label63 = "a".repeat(63);
        let too_long = format!("{0}.{0}.{0}.{1}.com", label63, "a".repeat(58));
        assert!(err(Kind::Domain, &too_long).contains("limit is 253"));
    }

    #[test]
    fn ipv4() {
        let cases = [
            ("192.168.1.1", "192.168.1.1"),
            (" 192.168.1.1 ", "192.168.1.1"),
            ("192[.]168[.]1[.]1", "192.168.1.1"),
            ("0300.0250.0.1", "192.168.0.1"),
            ("0xc0.0xa8.0.1", "192.168.0.1"),
            ("0XC0.0XA8.0X0.0X1", "192.168.0.1"),
            ("192.168.257", "192.168.1.1"),
            ("192.11010305", "192.168.1.1"),
            ("3232235777", "192.168.1.1"),
            ("0xc0a80101", "192.168.1.1"),
            ("030052000401", "192.168.1.1"),
            ("3279880203", "195.127.0.11"),
            ("0", "0.0.0.0"),
            ("4294967295", "255.255.255.255"),
            ("012.034.01.055", "10.28.1.45"),
            ("10.1.2.3/8", "10.0.0.0/8"),
            ("10.1.2.3/32", "10.1.2.3"),
            ("10.1.2.3/0", "0.0.0.0/0"),
            ("192.168.1.77/24", "192.168.1.0/24"),
            ("192.168.1.0/24", "192.168.1.0/24"),
            ("1.2.3.4/31", "1.2.3.4/31"),
        ];
        for (input, want) in cases {
            assert_eq!(ok(Kind::Ipv4, input), want, "{input}");
        }
    }

    #[test]
    fn ipv4_errors() {
        let cases = [
            ("192.168.1.300", "not a valid ipv4 address: octet 300 is above 255"),
            ("300.1.2.3", "not a valid ipv4 address: octet 300 is above 255"),
            ("1.2.3.4.5", "not a valid ipv4 address: it has 5 parts; an address has at most 4"),
            ("1.2..4", "not a valid ipv4 address: it has an empty part (two dots in a row, or a leading or trailing dot)"),
            ("1.2.3.4.", "not a valid ipv4 address: it has an empty part (two dots in a row, or a leading or trailing dot)"),
            ("1.2.3.x", "not a valid ipv4 address: \"x\" is not a number"),
            ("1.2.3.08", "not a valid ipv4 address: \"08\" is not a number"),
            ("1.2.3.0x", "not a valid ipv4 address: \"0x\" is not a number"),
            ("1.2.65536", "not a valid ipv4 address: the last part 65536 is too large for a 3-part address"),
            ("4294967296", "not a valid ipv4 address: \"4294967296\" is too large"),
            ("1.2.3.4/33", "not a valid ipv4 address: prefix length /33 is not between 0 and 32"),
            ("1.2.3.4/", "not a valid ipv4 address: prefix length / is not between 0 and 32"),
            ("1.2.3.4/x", "not a valid ipv4 address: prefix length /x is not between 0 and 32"),
            ("evil.com", "not a valid ipv4 address: \"evil\" is not a number"),
        ];
        for (input, want) in cases {
            assert_eq!(err(Kind::Ipv4, input), want, "{input}");
        }
    }

    #[test]
    fn ipv6() {
        let cases = [
            ("2001:DB8::1", "2001:db8::1"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("::1", "::1"),
            ("::", "::"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8::1/32", "2001:db8::/32"),
            ("2001:db8:abcd:12::1/64", "2001:db8:abcd:12::/64"),
            ("2001:db8::1/128", "2001:db8::1"),
            ("[2001:db8::1]/48", "2001:db8::/48"),
            ("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
        ];
        for (input, want) in cases {
            assert_eq!(ok(Kind::Ipv6, input), want, "{input}");
        }
        for (input, needle) in [
            ("12:30:45", "is not an IPv6 address"),
            ("00:1a:2b:3c:4d:5e", "is not an IPv6 address"),
            ("1.2.3.4", "is not an IPv6 address"),
            ("fe80::1%eth0", "zone identifiers"),
            ("2001:db8::/129", "between 0 and 128"),
            ("[2001:db8::1", "not closed"),
            ("[2001:db8::1]:443", "unexpected"),
        ] {
            let e = err(Kind::Ipv6, input);
            assert!(e.starts_with("not a valid ipv6 address: "), "{e}");
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    #[test]
    fn hashes() {
        let md5 = "44D88612FEA8A8F36DE82E1278ABB02F";
        assert_eq!(ok(Kind::Md5, md5), md5.to_lowercase());
        let sha1 = "3395856ce81f2b7382dee72602f798b642f14140";
        assert_eq!(ok(Kind::Sha1, &format!("  {sha1}\n")), sha1);
        let sha256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
        assert_eq!(ok(Kind::Sha256, sha256), sha256);
        assert_eq!(
            err(Kind::Md5, sha1),
            "not a valid md5 hash: expected 32 hexadecimal characters, found 40"
        );
        assert_eq!(
            err(Kind::Sha256, md5),
            "not a valid sha256 hash: expected 64 hexadecimal characters, found 32"
        );
        assert_eq!(
            err(Kind::Sha1, "3395856ce81f2b7382dee72602f798b642f1414g"),
            "not a valid sha1 hash: it contains 'g' at position 40; only hexadecimal digits 0-9 and a-f are allowed"
        );
        assert!(err(Kind::Md5, "0x44d88612fea8a8f36de82e1278abb02f").contains("'x' at position 2"));
    }

    #[test]
    fn emails() {
        let cases = [
            ("User@Example.COM", "user@example.com"),
            ("user[@]evil[.]example", "user@evil.example"),
            ("user[at]evil[dot]example", "user@evil.example"),
            ("mailto:User@Evil.Example", "user@evil.example"),
            ("MAILTO:user@evil.example?subject=hi", "user@evil.example"),
            ("<user@evil.example>", "user@evil.example"),
            ("mailto:<user@evil.example>", "user@evil.example"),
            (
                "first.last+tag@sub.evil.example.",
                "first.last+tag@sub.evil.example",
            ),
            ("taro..yamada.@docomo.ne.jp", "taro..yamada.@docomo.ne.jp"),
            ("info@例え.jp", "info@xn--r8jz45g.jp"),
            ("Ünïcode@example.com", "ünïcode@example.com"),
        ];
        for (input, want) in cases {
            assert_eq!(ok(Kind::Email, input), want, "{input}");
        }
        let local64 = "a".repeat(64);
        assert_eq!(
            ok(Kind::Email, &format!("{local64}@x.com")),
            format!("{local64}@x.com")
        );
        for (input, needle) in [
            ("user.example.com", "it has no '@'"),
            ("@example.com", "before '@' is empty"),
            ("a@b@example.com", "more than one '@'"),
            ("us er@example.com", "contains ' '"),
            ("John <j@example.com>", "contains ' '"),
            ("user@localhost", "at least two labels"),
            ("user@[192.0.2.1]", "IP address"),
            ("mailto:mailto:u@example.com", "contains ':'"),
        ] {
            let e = err(Kind::Email, input);
            assert!(e.starts_with("not a valid email address: "), "{e}");
            assert!(e.contains(needle), "{input}: {e}");
        }
        let local65 = "a".repeat(65);
        assert!(err(Kind::Email, &format!("{local65}@x.com")).contains("longer than 64"));
    }

    #[test]
    fn urls() {
        assert_eq!(
            ok(Kind::Url, "hxxp://Evil[.]Example:8080/a/./b/../c#frag"),
            "http://evil.example/a/c"
        );
        assert_eq!(ok(Kind::Url, "evil.example"), "http://evil.example/");
        let e = err(Kind::Url, "http:///nohost");
        assert!(e.starts_with("not a valid url: "), "{e}");
    }

    #[test]
    fn stored_urls_need_a_real_host() {
        for (input, stored) in [
            ("http://evil.example/login", true),
            ("https://login.evil.example:8443/a?b=c", true),
            ("http://192.0.2.1/gate.php", true),
            ("http://3279880203/x", true),
            ("http://[2001:db8::1]/x", true),
            ("http://xn--bcher-kva.example/", true),
            ("http://bücher.example/", true),
            ("http://under_score.evil.example/", true),
            ("http://evil/", false),
            ("http://%01%80.com/", false),
            ("http://a..b/", true), // dots collapse: a.b
            ("http://-bad-.example/", false),
            ("http://evil.123/", false),
            ("http://ex ample.com/", false),
            ("http://ex%20ample.com/", false),
            ("http://evil.example!/", false),
            ("http://<script>.example/", false),
            ("http://a.b.c.d.e.f/", true),
        ] {
            let loose = canonicalize(Kind::Url, input);
            let strict = canonicalize_stored(Kind::Url, input);
            assert_eq!(strict.is_ok(), stored, "{input:?}: {strict:?}");
            if let Err(e) = &strict {
                if loose.is_ok() {
                    assert!(e.to_string().contains("host"), "{e}");
                }
            }
        }
        // Other kinds are unchanged.
        assert!(canonicalize_stored(Kind::Domain, "evil.example").is_ok());
    }

    #[test]
    fn detection() {
        let cases: &[(&str, Kind, &str)] = &[
            ("evil.example", Kind::Domain, "evil.example"),
            ("corp.internal", Kind::Domain, "corp.internal"),
            ("192.168.1.1", Kind::Ipv4, "192.168.1.1"),
            ("192[.]168[.]1[.]1", Kind::Ipv4, "192.168.1.1"),
            ("10.1.2.3/8", Kind::Ipv4, "10.0.0.0/8"),
            ("0300.0250.0.1", Kind::Ipv4, "192.168.0.1"),
            ("0xc0.0xa8.0.1", Kind::Ipv4, "192.168.0.1"),
            ("2001:db8::1", Kind::Ipv6, "2001:db8::1"),
            ("[2001:db8::1]", Kind::Ipv6, "2001:db8::1"),
            ("2001:db8::/32", Kind::Ipv6, "2001:db8::/32"),
            (
                "44d88612fea8a8f36de82e1278abb02f",
                Kind::Md5,
                "44d88612fea8a8f36de82e1278abb02f",
            ),
            (
                "3395856CE81F2B7382DEE72602F798B642F14140",
                Kind::Sha1,
                "3395856ce81f2b7382dee72602f798b642f14140",
            ),
            (
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
                Kind::Sha256,
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
            ),
            ("User@Evil.Example", Kind::Email, "user@evil.example"),
            ("user[@]corp.internal", Kind::Email, "user@corp.internal"),
            ("mailto:a@example.com", Kind::Email, "a@example.com"),
            ("http://Evil.Example/x", Kind::Url, "http://evil.example/x"),
            (
                "hxxps://evil[.]example/x",
                Kind::Url,
                "https://evil.example/x",
            ),
            (
                "http://user@evil.example/",
                Kind::Url,
                "http://evil.example/",
            ),
            ("http://192.0.2.1:8080/a", Kind::Url, "http://192.0.2.1/a"),
            ("evil.com/gate.php", Kind::Url, "http://evil.com/gate.php"),
            (
                "evil.com:8080/gate.php",
                Kind::Url,
                "http://evil.com/gate.php",
            ),
            ("192.0.2.1/gate.php", Kind::Url, "http://192.0.2.1/gate.php"),
            ("evil[.]com", Kind::Domain, "evil.com"),
            ("Sub.Evil.co.jp.", Kind::Domain, "sub.evil.co.jp"),
            ("例え.jp", Kind::Domain, "xn--r8jz45g.jp"),
            ("xn--r8jz45g.xn--p1ai", Kind::Domain, "xn--r8jz45g.xn--p1ai"),
            ("пример.рф", Kind::Domain, "xn--e1afmkfd.xn--p1ai"),
            ("archive.zip", Kind::Domain, "archive.zip"),
        ];
        for (input, kind, value) in cases {
            let o = detect(input).unwrap_or_else(|e| panic!("detect({input:?}): {e}"));
            assert_eq!((o.kind, o.value.as_str()), (*kind, *value), "{input}");
        }
    }

    /// Found by fuzzing: a URL under the limit whose escaped canonical form
    /// is over it was accepted, and its own canonical value then refused.
    #[test]
    fn a_canonical_value_is_never_over_the_limit() {
        let input = format!("http://evil.example/{}", "\u{fffd}".repeat(500));
        assert!(input.len() <= MAX_VALUE_LEN);
        assert_eq!(
            canonicalize(Kind::Url, &input),
            Err(ObservableError::TooLong { max: MAX_VALUE_LEN })
        );
        let fits = format!("http://evil.example/{}", "\u{fffd}".repeat(400));
        let o = canonicalize(Kind::Url, &fits).expect("fits");
        assert_eq!(canonicalize(Kind::Url, &o.value), Ok(o));
    }

    /// Found by fuzzing: without a scheme, a dotted-quad-shaped host with
    /// an octet over 255 was taken as a URL that, once canonical, detect
    /// refused ("its host is neither a domain name nor an IP address").
    #[test]
    fn schemeless_url_with_a_junk_host_is_not_a_url() {
        let input = "1.2.3.482:/00100:2/33";
        assert!(detect("http://1.2.3.482/00100:2/33").is_err());
        if let Ok(o) = detect(input) {
            assert_eq!(detect(&o.value), Ok(o));
        }
        assert!(!matches!(
            detect(input),
            Ok(Observable {
                kind: Kind::Url,
                ..
            })
        ));
    }

    #[test]
    fn detection_failures() {
        for input in [
            "3232235777",
            "printer.local",
            "invoice.pdf",
            "1.2.3",
            "hello world",
            "44d88612fea8a8f36de82e1278abb02",
            "12:30:45",
            "setup.exe",
            "evil.xn--jp-sb4anjjcycn",
        ] {
            match detect(input) {
                Err(ObservableError::Undetectable(s)) => assert_eq!(s, input.trim()),
                other => panic!("detect({input:?}) = {other:?}"),
            }
        }
        assert_eq!(
            detect("1.2.3.300").unwrap_err().to_string(),
            "not a valid ipv4 address: octet 300 is above 255"
        );
        assert_eq!(
            detect("10.0.19041.1").unwrap_err().to_string(),
            "not a valid ipv4 address: octet 19041 is above 255"
        );
        assert!(matches!(detect(""), Err(ObservableError::Empty)));
        assert!(matches!(
            detect("http://localhost/"),
            Err(ObservableError::Invalid {
                kind: Kind::Url,
                ..
            })
        ));
        assert_eq!(
            detect("hello").unwrap_err().to_string(),
            "could not tell what kind of observable \"hello\" is: give its type (url, domain, ipv4, ipv6, md5, sha1, sha256, email)"
        );
        let long = "x".repeat(200);
        match detect(&long) {
            Err(ObservableError::Undetectable(s)) => assert!(s.len() < 100),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn networks() {
        let net = |k, v| {
            ip_network(&canonicalize(k, v).unwrap())
                .unwrap()
                .to_string()
        };
        assert_eq!(net(Kind::Ipv4, "10.1.2.3"), "10.1.2.3/32");
        assert_eq!(net(Kind::Ipv4, "10.1.2.3/8"), "10.0.0.0/8");
        assert_eq!(net(Kind::Ipv6, "2001:db8::1"), "2001:db8::1/128");
        assert_eq!(net(Kind::Ipv6, "2001:db8::1/32"), "2001:db8::/32");
        assert_eq!(
            ip_network(&canonicalize(Kind::Domain, "evil.com").unwrap()),
            None
        );
        let inner = ip_network(&canonicalize(Kind::Ipv4, "10.9.8.7").unwrap()).unwrap();
        let outer = ip_network(&canonicalize(Kind::Ipv4, "10.0.0.0/8").unwrap()).unwrap();
        assert!(outer.contains(&inner));
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,30}",
            "[a-zA-Z0-9_.-]{1,12}(\\.[a-zA-Z0-9_-]{1,8}){0,3}\\.?",
            "(\\[\\.\\]|[a-zäöü例え.\\-]){1,20}",
            "[0-9a-fA-FxX.]{1,20}(/[0-9]{1,3})?",
            "[0-9a-fA-F:.\\[\\]]{1,30}(/[0-9]{1,3})?",
            "[0-9a-fA-F]{30,66}",
            "(mailto:)?<?[a-zA-Z0-9.+_\\-]{1,10}(@|\\[@\\]|\\[at\\])[a-zA-Z0-9\\-]{1,8}\\.[a-z]{2,5}>?",
            "(hxxp|http|https|ftp)?(://|\\[://\\])?[a-zA-Z0-9.%\\-\\[\\]@:]{1,20}(/[a-zA-Z0-9.%/?#&=]{0,20})?",
        ]
    }

    proptest! {
        #[test]
        fn canonicalize_is_idempotent(input in value_strategy()) {
            for kind in Kind::ALL {
                if let Ok(o) = canonicalize(kind, &input) {
                    let again = canonicalize(kind, &o.value);
                    prop_assert_eq!(again.as_ref(), Ok(&o), "kind {} input {:?}", kind, input);
                }
            }
        }

        #[test]
        fn canonicalize_never_panics(input in "\\PC{0,60}|.{0,60}") {
            for kind in Kind::ALL {
                let _ = canonicalize(kind, &input);
            }
            let _ = detect(&input);
        }

        #[test]
        fn detect_agrees_with_canonicalize(input in value_strategy()) {
            if let Ok(o) = detect(&input) {
                prop_assert_eq!(canonicalize(o.kind, &o.value), Ok(o.clone()));
                prop_assert_eq!(detect(&o.value), Ok(o));
            }
        }

        #[test]
        fn ipv4_any_u32(n in any::<u32>()) {
            let ip = Ipv4Addr::from(n);
            prop_assert_eq!(ok(Kind::Ipv4, &n.to_string()), ip.to_string());
            prop_assert_eq!(ok(Kind::Ipv4, &format!("{n:#x}")), ip.to_string());
            prop_assert_eq!(ok(Kind::Ipv4, &format!("0{n:o}")), ip.to_string());
            let o = ip.octets();
            prop_assert_eq!(
                ok(Kind::Ipv4, &format!("{:#o}.{:#x}.{}.{:#X}", o[0], o[1], o[2], o[3]).replace("0o", "0")),
                ip.to_string()
            );
        }
    }
}
