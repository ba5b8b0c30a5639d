//! Undo "defanging": the habit of analysts of writing `hxxp://evil[.]example`
//! so that an IOC pasted into a mail or a chat is not clickable.
//!
//! Refanging runs as a single left-to-right pass that reduces a pattern as
//! soon as its last character is seen, so nested forms (`[[.]]`) reduce fully
//! and the result is a fixed point: `refang(refang(x)) == refang(x)`. That
//! property is what keeps canonicalization idempotent.
//!
//! Only ASCII is ever rewritten, so valid UTF-8 stays valid UTF-8.

use std::borrow::Cow;

/// Undo common defanging: `hxxp`/`hxxps`/`hXXp`/`fxp` -> `http`/`https`/`ftp`, `[.]` `(.)` `{.}` `[dot]` `(dot)` -> `.`, `[:]` -> `:`, `[@]` `[at]` `(at)` -> `@`, `[/]` -> `/`, also `://` written as `[://]`. Case-insensitive for the bracketed words. Leaves other text intact.
///
/// The scheme words are only rewritten at the start of a word and when a `:`
/// or `[` follows them, so prose such as "fxp" in a product name survives.
pub fn refang(input: &str) -> Cow<'_, str> {
    if !might_be_defanged(input.as_bytes()) {
        return Cow::Borrowed(input);
    }
    let out = Engine::run(input.as_bytes(), false).out;
    if out == input.as_bytes() {
        return Cow::Borrowed(input);
    }
    // Only ASCII bytes are inserted or removed, and whole ASCII patterns at
    // that, so a multi-byte sequence is never split.
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(input),
    }
}

/// Byte-level refang, for URLs that are not valid UTF-8 after unescaping.
pub(crate) fn refang_bytes(input: &[u8]) -> Cow<'_, [u8]> {
    if !might_be_defanged(input) {
        return Cow::Borrowed(input);
    }
    let out = Engine::run(input, false).out;
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

/// Refanged text plus, for every output byte, the byte range of the input
/// it came from. The extractor uses this to report spans in the text the
/// user pasted rather than in the rewritten copy.
pub(crate) struct Mapped {
    pub text: String,
    /// `(start, end)` in the input for each byte of `text`.
    pub origin: Vec<(u32, u32)>,
}

/// Refang `input` (at most `u32::MAX` bytes) keeping the origin of each byte.
pub(crate) fn refang_mapped(input: &str) -> Mapped {
    let engine = Engine::run(input.as_bytes(), true);
    match String::from_utf8(engine.out) {
        Ok(text) => Mapped {
            text,
            origin: engine.origin,
        },
        // Unreachable in practice (see `refang`); fall back to the identity.
        Err(_) => Mapped {
            text: input.to_owned(),
            origin: (0..input.len())
                .map(|i| (to_u32(i), to_u32(i + 1)))
                .collect(),
        },
    }
}

fn to_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Cheap pre-check: every pattern needs a bracket or an `x`.
fn might_be_defanged(input: &[u8]) -> bool {
    input
        .iter()
        .any(|b| matches!(b, b'[' | b'(' | b'{' | b'x' | b'X'))
}

struct Engine {
    out: Vec<u8>,
    origin: Vec<(u32, u32)>,
    track: bool,
}

impl Engine {
    fn run(input: &[u8], track: bool) -> Engine {
        let mut e = Engine {
            out: Vec::with_capacity(input.len()),
            origin: if track {
                Vec::with_capacity(input.len())
            } else {
                Vec::new()
            },
            track,
        };
        for (i, &b) in input.iter().enumerate() {
            e.out.push(b);
            if track {
                e.origin.push((to_u32(i), to_u32(i + 1)));
            }
            e.reduce_tail();
        }
        e
    }

    /// Apply every rule that can end at the last byte of the output.
    fn reduce_tail(&mut self) {
        let len = self.out.len();
        let Some(&last) = self.out.last() else {
            return;
        };
        if matches!(last, b']' | b')' | b'}') {
            if let Some((start, replacement)) = bracket_pattern(&self.out) {
                let range = if self.track {
                    (self.origin[start].0, self.origin[len - 1].1)
                } else {
                    (0, 0)
                };
                self.out.truncate(start);
                self.out.extend_from_slice(replacement);
                if self.track {
                    self.origin.truncate(start);
                    self.origin.resize(start + replacement.len(), range);
                }
                if replacement[0] == b':' {
                    self.fix_scheme(start);
                }
            }
        } else if matches!(last, b':' | b'[') {
            self.fix_scheme(len - 1);
        }
    }

    /// `hxxp`, `hxxps`, `fxp`, `fxps` right before `at` become real schemes.
    fn fix_scheme(&mut self, at: usize) {
        let before = &self.out[..at];
        let candidates: [(&[u8], &[u8]); 4] = [
            (b"hxxps", b"https"),
            (b"hxxp", b"http"),
            (b"fxps", b"ftps"),
            (b"fxp", b"ftp"),
        ];
        for (word, real) in candidates {
            if before.len() < word.len() {
                continue;
            }
            let start = before.len() - word.len();
            if !before[start..].eq_ignore_ascii_case(word) {
                continue;
            }
            if start > 0 && before[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            self.out[start..at].copy_from_slice(real);
            return;
        }
    }
}

/// If the output ends with a complete bracketed defang token, return where
/// it starts and what it stands for.
fn bracket_pattern(out: &[u8]) -> Option<(usize, &'static [u8])> {
    let len = out.len();
    let close = *out.last()?;
    let open = match close {
        b']' => b'[',
        b')' => b'(',
        b'}' => b'{',
        _ => return None,
    };
    // The longest interior is "://" or "dot": 3 bytes.
    for inner_len in 1..=3usize {
        if len < inner_len + 2 {
            break;
        }
        let start = len - inner_len - 2;
        if out[start] != open {
            continue;
        }
        let inner = &out[start + 1..len - 1];
        let lower: Vec<u8> = inner.iter().map(u8::to_ascii_lowercase).collect();
        let replacement: Option<&'static [u8]> = match (open, lower.as_slice()) {
            (_, b".") | (_, b"dot") => Some(b"."),
            (b'[', b":") => Some(b":"),
            (b'[', b"/") => Some(b"/"),
            (b'[', b"://") => Some(b"://"),
            (b'[' | b'(' | b'{', b"@") | (b'[' | b'(' | b'{', b"at") => Some(b"@"),
            _ => None,
        };
        if let Some(r) = replacement {
            return Some((start, r));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str)] = &[
            ("hxxp://evil[.]example/a", "http://evil.example/a"),
            ("hxxps://evil[.]example", "https://evil.example"),
            ("hXXps://evil[.]example", "https://evil.example"),
            ("HXXP://EVIL[.]EXAMPLE", "http://EVIL.EXAMPLE"),
            ("fxp://files[.]example/x", "ftp://files.example/x"),
            ("hxxp[:]//evil[.]example", "http://evil.example"),
            ("hxxp[://]evil[.]example", "http://evil.example"),
            ("hxxps[://]evil(.)example", "https://evil.example"),
            ("evil(.)example", "evil.example"),
            ("evil{.}example", "evil.example"),
            ("evil[dot]example", "evil.example"),
            ("evil[DOT]example", "evil.example"),
            ("evil(dot)example", "evil.example"),
            ("evil{dot}example", "evil.example"),
            ("user[@]evil[.]example", "user@evil.example"),
            ("user[at]evil[.]example", "user@evil.example"),
            ("user[AT]evil[.]example", "user@evil.example"),
            ("user(at)evil(dot)example", "user@evil.example"),
            ("user(@)evil.example", "user@evil.example"),
            ("evil.example[/]path", "evil.example/path"),
            ("1.2.3[.]4", "1.2.3.4"),
            ("198[.]51[.]100[.]7", "198.51.100.7"),
            ("a[[.]]b", "a.b"),
            ("a[[[.]]]b", "a.b"),
            ("[:[/][/]]", "://"),
            ("hxxp[:[/][/]]x", "http://x"),
            // Things that must stay.
            (
                "plain text (with parens) and [brackets]",
                "plain text (with parens) and [brackets]",
            ),
            ("array[i] (x) {y}", "array[i] (x) {y}"),
            ("ahxxp://x", "ahxxp://x"),
            ("hxxp is a word", "hxxp is a word"),
            ("fxp", "fxp"),
            ("(:)", "(:)"),
            ("[..]", "[..]"),
            ("[dots]", "[dots]"),
            ("日本語[.]テスト", "日本語.テスト"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(refang(input), *want, "refang({input:?})");
        }
    }

    #[test]
    fn borrowed_when_unchanged() {
        assert!(matches!(refang("evil.example"), Cow::Borrowed(_)));
        assert!(matches!(refang("[x] (y)"), Cow::Borrowed(_)));
        assert!(matches!(refang("a[.]b"), Cow::Owned(_)));
    }

    #[test]
    fn bytes_variant_handles_invalid_utf8() {
        let input = b"\x80evil[.]example\xff";
        assert_eq!(&*refang_bytes(input), b"\x80evil.example\xff");
    }

    #[test]
    fn mapping_points_into_the_input() {
        let input = "see hxxp[:]//evil[.]example now";
        let m = refang_mapped(input);
        assert_eq!(m.text, "see http://evil.example now");
        assert_eq!(m.origin.len(), m.text.len());
        let start = m.text.find("http").unwrap();
        let end = m.text.find(" now").unwrap();
        let (os, _) = m.origin[start];
        let (_, oe) = m.origin[end - 1];
        assert_eq!(&input[os as usize..oe as usize], "hxxp[:]//evil[.]example");
        // The dot that replaced "[.]" covers all three bytes.
        let dot = m.text.find(".example").unwrap();
        let (ds, de) = m.origin[dot];
        assert_eq!(&input[ds as usize..de as usize], "[.]");
    }

    #[test]
    fn mapping_identity_without_defang() {
        let input = "nothing to see";
        let m = refang_mapped(input);
        assert_eq!(m.text, input);
        for (i, &(s, e)) in m.origin.iter().enumerate() {
            assert_eq!((s as usize, e as usize), (i, i + 1));
        }
    }

    proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,40}") {
            let once = refang(&s).into_owned();
            let twice = refang(&once).into_owned();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn idempotent_on_bracket_soup(s in "[\\[\\](){}.:/@atdoxhpfs ]{0,40}") {
            let once = refang(&s).into_owned();
            let twice = refang(&once).into_owned();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn mapping_is_consistent(s in "[\\[\\](){}.:/@atdoxhpfs a-z日]{0,40}") {
            let m = refang_mapped(&s);
            prop_assert_eq!(&m.text, &refang(&s).into_owned());
            prop_assert_eq!(m.origin.len(), m.text.len());
            for w in m.origin.windows(2) {
                prop_assert!(w[0].0 <= w[1].0 && w[0].1 <= w[1].1);
            }
            for &(a, b) in &m.origin {
                prop_assert!(a < b);
                prop_assert!(b as usize <= s.len());
            }
        }
    }
}
