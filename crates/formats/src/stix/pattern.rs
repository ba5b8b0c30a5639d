//! The STIX 2.1 patterning grammar (§9, OASIS's `STIXPattern.g4`), as a
//! validator: a pattern either parses whole or is refused with the reason.
//!
//! Beyond the grammar it applies what `stix2-validator` checks of a pattern
//! that parses, so that anything accepted here exports cleanly: hash values
//! of the known algorithms have their length and alphabet, at most one
//! qualifier of each kind sits directly on an observation, object types and
//! first property names have the spec's form.

/// Object types the spec defines (`id` is one of their properties).
use super::SCO_TYPES;

/// Longest pattern checked; longer ones are refused.
pub const MAX_PATTERN_LEN: usize = 64 * 1024;
/// Deepest nesting of parentheses and brackets.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    /// `=`, `==`, `!=`, `<>`: equality.
    Eq,
    /// `<`, `<=`, `>`, `>=`: order.
    Order,
    /// A keyword (AND, OR, NOT, FOLLOWEDBY, LIKE, …).
    Kw(&'static str),
    Bool,
    /// An identifier without `-`.
    Ident(String),
    /// An identifier with `-` (object types).
    HyphenIdent(String),
    /// A string literal, unescaped.
    Str(String),
    IntPos,
    IntNeg,
    FloatPos,
    FloatNeg,
    Hex,
    Binary,
    Timestamp,
    /// `+`, `-`, `^`, `/`: tokens the grammar lexes but no rule uses.
    Stray(char),
}

const KEYWORDS: [&str; 19] = [
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "EXISTS",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "WITHIN",
    "REPEATS",
    "TIMES",
    "true",
    "false",
];

fn describe(t: &Tok) -> String {
    match t {
        Tok::LBrack => "'['".into(),
        Tok::RBrack => "']'".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Colon => "':'".into(),
        Tok::Dot => "'.'".into(),
        Tok::Comma => "','".into(),
        Tok::Star => "'*'".into(),
        Tok::Eq | Tok::Order => "an operator".into(),
        Tok::Kw(k) => (*k).to_string(),
        Tok::Bool => "a boolean".into(),
        Tok::Ident(s) | Tok::HyphenIdent(s) => format!("{s:?}"),
        Tok::Str(_) => "a string".into(),
        Tok::IntPos | Tok::IntNeg | Tok::FloatPos | Tok::FloatNeg => "a number".into(),
        Tok::Hex | Tok::Binary | Tok::Timestamp => "a literal".into(),
        Tok::Stray(c) => format!("'{c}'"),
    }
}

/// A token with its source text (for the hash check).
struct Lexed {
    tok: Tok,
    text: String,
}

fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// A quoted body starting at `chars[i]` (the quote): the end index past the
/// closing quote and the unescaped text, or `None`.
fn quoted(chars: &[char], i: usize) -> Option<(usize, String)> {
    let mut j = i + 1;
    let mut s = String::new();
    loop {
        match chars.get(j)? {
            '\\' => match chars.get(j + 1)? {
                c @ ('\\' | '\'') => {
                    s.push(*c);
                    j += 2;
                }
                _ => return None,
            },
            '\'' => return Some((j + 1, s)),
            c => {
                s.push(*c);
                j += 1;
            }
        }
    }
}

/// Length of a timestamp literal body `'YYYY-MM-DDTHH:MM:SS(.f+)?Z'` at `i`
/// (the quote), including both quotes.
fn timestamp_len(chars: &[char], i: usize) -> Option<usize> {
    let s: String = chars.get(i..(i + 40).min(chars.len()))?.iter().collect();
    let b = s.as_bytes();
    let d = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
    let at = |k: usize, c: u8| b.get(k) == Some(&c);
    if !(at(0, b'\'') && (1..=4).all(d) && at(5, b'-') && at(8, b'-') && at(11, b'T')) {
        return None;
    }
    let two = |k: usize| -> Option<(u8, u8)> {
        let (x, y) = (*b.get(k)?, *b.get(k + 1)?);
        (x.is_ascii_digit() && y.is_ascii_digit()).then_some((x, y))
    };
    let month = two(6)?;
    let day = two(9)?;
    let hour = two(12)?;
    let minute = two(15)?;
    let second = two(18)?;
    let ok = matches!(month, (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2'))
        && matches!(
            day,
            (b'0', b'1'..=b'9') | (b'1'..=b'2', _) | (b'3', b'0'..=b'1')
        )
        && matches!(hour, (b'0'..=b'1', _) | (b'2', b'0'..=b'3'))
        && at(14, b':')
        && matches!(minute, (b'0'..=b'5', _))
        && at(17, b':')
        && matches!(second, (b'0'..=b'5', _) | (b'6', b'0'));
    if !ok {
        return None;
    }
    let mut k = 20;
    if at(k, b'.') {
        let start = k + 1;
        k = start;
        while d(k) {
            k += 1;
        }
        if k == start {
            return None;
        }
    }
    (at(k, b'Z') && at(k + 1, b'\'')).then_some(k + 2)
}

fn is_b64(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/'
}

/// Length of a binary literal body at `i` (the quote), including both quotes.
fn binary_len(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut n = 0usize;
    while chars.get(j).copied().is_some_and(is_b64) {
        j += 1;
        n += 1;
    }
    let mut pad = 0usize;
    while chars.get(j) == Some(&'=') && pad < 2 {
        j += 1;
        pad += 1;
    }
    let ok = n > 0 && (n + pad).is_multiple_of(4) && (pad == 0 || n % 4 == 4 - pad);
    (ok && chars.get(j) == Some(&'\'')).then_some(j + 1 - i)
}

/// Length of a hex literal body at `i` (the quote), including both quotes.
fn hex_len(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while chars.get(j).is_some_and(char::is_ascii_hexdigit) {
        j += 1;
    }
    ((j - i - 1).is_multiple_of(2) && chars.get(j) == Some(&'\'')).then_some(j + 1 - i)
}

/// A number at `i`: (token, length), or `None` when there is none.
fn number(chars: &[char], i: usize) -> Option<(Tok, usize)> {
    let sign = matches!(chars[i], '+' | '-');
    let neg = chars[i] == '-';
    let start = i + usize::from(sign);
    let digits = |from: usize| {
        let mut j = from;
        while chars.get(j).is_some_and(char::is_ascii_digit) {
            j += 1;
        }
        j
    };
    // Float: [0-9]* '.' [0-9]+
    let int_end = digits(start);
    if chars.get(int_end) == Some(&'.') {
        let frac_end = digits(int_end + 1);
        if frac_end > int_end + 1 {
            let tok = if neg { Tok::FloatNeg } else { Tok::FloatPos };
            return Some((tok, frac_end - i));
        }
    }
    // Int: '0' | [1-9][0-9]*
    let end = match chars.get(start) {
        Some('0') => start + 1,
        Some('1'..='9') => int_end,
        _ => return None,
    };
    let tok = if neg { Tok::IntNeg } else { Tok::IntPos };
    Some((tok, end - i))
}

fn lex(p: &str) -> Result<Vec<Lexed>, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if is_ws(c) {
            i += 1;
            continue;
        }
        if c == '/' && next == Some('*') {
            let rest: String = chars[i + 2..].iter().collect();
            let end = rest
                .find("*/")
                .ok_or_else(|| "an unterminated /* comment".to_string())?;
            i += 2 + rest[..end].chars().count() + 2;
            continue;
        }
        if c == '/' && next == Some('/') {
            while i < chars.len() && !matches!(chars[i], '\r' | '\n') {
                i += 1;
            }
            continue;
        }
        let (tok, len) = match c {
            '[' => (Tok::LBrack, 1),
            ']' => (Tok::RBrack, 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ':' => (Tok::Colon, 1),
            ',' => (Tok::Comma, 1),
            '*' => (Tok::Star, 1),
            '^' | '/' => (Tok::Stray(c), 1),
            '=' => (Tok::Eq, if next == Some('=') { 2 } else { 1 }),
            '!' if next == Some('=') => (Tok::Eq, 2),
            '<' if next == Some('>') => (Tok::Eq, 2),
            '<' | '>' => (Tok::Order, if next == Some('=') { 2 } else { 1 }),
            '\'' => {
                let (end, s) = quoted(&chars, i).ok_or_else(|| {
                    "a string literal is not closed, or has an escape other than \\' and \\\\"
                        .to_string()
                })?;
                (Tok::Str(s), end - i)
            }
            '+' | '-' | '.' | '0'..='9' => match number(&chars, i) {
                Some(n) => n,
                None if c == '.' => (Tok::Dot, 1),
                None => (Tok::Stray(c), 1),
            },
            'h' if next == Some('\'') && hex_len(&chars, i + 1).is_some() => {
                (Tok::Hex, 1 + hex_len(&chars, i + 1).unwrap_or(0))
            }
            'b' if next == Some('\'') && binary_len(&chars, i + 1).is_some() => {
                (Tok::Binary, 1 + binary_len(&chars, i + 1).unwrap_or(0))
            }
            't' if next == Some('\'') && timestamp_len(&chars, i + 1).is_some() => (
                Tok::Timestamp,
                1 + timestamp_len(&chars, i + 1).unwrap_or(0),
            ),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_' || *d == '-')
                {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                let tok = if word.contains('-') {
                    Tok::HyphenIdent(word)
                } else if word == "true" || word == "false" {
                    Tok::Bool
                } else if let Some(k) = KEYWORDS.iter().find(|k| **k == word) {
                    Tok::Kw(k)
                } else {
                    Tok::Ident(word)
                };
                (tok, j - i)
            }
            other => return Err(format!("unexpected character {other:?}")),
        };
        out.push(Lexed {
            tok,
            text: chars[i..i + len].iter().collect(),
        });
        i += len;
    }
    Ok(out)
}

/// One comparison, for the checks after parsing.
struct Comparison {
    object_type: String,
    /// Path components; `None` for an index step.
    path: Vec<Option<String>>,
    /// The literal's text as written (sets joined), when there is one.
    value: Option<String>,
}

struct Parser {
    toks: Vec<Lexed>,
    pos: usize,
    depth: usize,
    comparisons: Vec<Comparison>,
}

type R<T> = Result<T, String>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|l| &l.tok)
    }

    fn bump(&mut self) -> Option<&Lexed> {
        let l = self.toks.get(self.pos);
        self.pos += 1;
        l
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.peek() {
            Some(t) => format!("expected {wanted}, found {}", describe(t)),
            None => format!("expected {wanted}, but the pattern ends"),
        }
    }

    fn expect(&mut self, t: &Tok, wanted: &str) -> R<()> {
        if self.peek() == Some(t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    fn kw(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Kw(x)) if *x == k) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn nest(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// observationExpressions: FOLLOWEDBY, then OR, then AND.
    fn observations(&mut self) -> R<()> {
        self.observation_or()?;
        while self.kw("FOLLOWEDBY") {
            self.observation_or()?;
        }
        Ok(())
    }

    fn observation_or(&mut self) -> R<()> {
        self.observation_and()?;
        while self.kw("OR") {
            self.observation_and()?;
        }
        Ok(())
    }

    fn observation_and(&mut self) -> R<()> {
        self.observation()?;
        while self.kw("AND") {
            self.observation()?;
        }
        Ok(())
    }

    fn observation(&mut self) -> R<()> {
        self.nest()?;
        let simple = match self.peek() {
            Some(Tok::LBrack) => {
                self.pos += 1;
                self.comparison_or()?;
                self.expect(&Tok::RBrack, "']' closing the observation")?;
                true
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                self.observations()?;
                self.expect(&Tok::RParen, "')'")?;
                false
            }
            _ => return Err(self.unexpected("an observation expression '[...]'")),
        };
        self.depth -= 1;
        // Qualifiers; on a simple observation at most one of each kind.
        let mut kinds: Vec<&str> = Vec::new();
        loop {
            let kind = if self.kw("WITHIN") {
                match self.bump().map(|l| &l.tok) {
                    Some(Tok::IntPos | Tok::FloatPos) => {}
                    _ => return Err("WITHIN needs a positive number of SECONDS".into()),
                }
                if !self.kw("SECONDS") {
                    return Err(self.unexpected("SECONDS"));
                }
                "WITHIN"
            } else if self.kw("REPEATS") {
                match self.bump().map(|l| &l.tok) {
                    Some(Tok::IntPos) => {}
                    _ => return Err("REPEATS needs a positive integer and TIMES".into()),
                }
                if !self.kw("TIMES") {
                    return Err(self.unexpected("TIMES"));
                }
                "REPEATS"
            } else if self.kw("START") {
                if !matches!(self.bump().map(|l| &l.tok), Some(Tok::Timestamp)) {
                    return Err("START needs a timestamp literal t'...Z'".into());
                }
                if !self.kw("STOP") {
                    return Err(self.unexpected("STOP"));
                }
                if !matches!(self.bump().map(|l| &l.tok), Some(Tok::Timestamp)) {
                    return Err("STOP needs a timestamp literal t'...Z'".into());
                }
                "START/STOP"
            } else {
                break;
            };
            if simple && kinds.contains(&kind) {
                return Err(format!("two {kind} qualifiers on one observation"));
            }
            kinds.push(kind);
        }
        Ok(())
    }

    fn comparison_or(&mut self) -> R<()> {
        self.comparison_and()?;
        while self.kw("OR") {
            self.comparison_and()?;
        }
        Ok(())
    }

    fn comparison_and(&mut self) -> R<()> {
        self.prop_test()?;
        while self.kw("AND") {
            self.prop_test()?;
        }
        Ok(())
    }

    fn prop_test(&mut self) -> R<()> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            self.nest()?;
            self.comparison_or()?;
            self.depth -= 1;
            return self.expect(&Tok::RParen, "')'");
        }
        if self.kw("EXISTS") {
            let (object_type, path) = self.object_path()?;
            self.comparisons.push(Comparison {
                object_type,
                path,
                value: None,
            });
            return Ok(());
        }
        let (object_type, path) = self.object_path()?;
        self.kw("NOT");
        let value = match self.bump().map(|l| l.tok.clone()) {
            Some(Tok::Eq) => Some(self.literal(true)?),
            Some(Tok::Order) => Some(self.literal(false)?),
            Some(Tok::Kw("IN")) => Some(self.set()?),
            Some(Tok::Kw(k @ ("LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET"))) => {
                match self.bump() {
                    Some(Lexed {
                        tok: Tok::Str(_),
                        text,
                    }) => Some(text.clone()),
                    _ => return Err(format!("{k} needs a string literal")),
                }
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected(
                    "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)",
                ));
            }
        };
        self.comparisons.push(Comparison {
            object_type,
            path,
            value,
        });
        Ok(())
    }

    /// A literal's text; booleans only where `primitive`.
    fn literal(&mut self, primitive: bool) -> R<String> {
        match self.bump() {
            Some(Lexed {
                tok:
                    Tok::IntPos
                    | Tok::IntNeg
                    | Tok::FloatPos
                    | Tok::FloatNeg
                    | Tok::Str(_)
                    | Tok::Binary
                    | Tok::Hex
                    | Tok::Timestamp,
                text,
            }) => Ok(text.clone()),
            Some(Lexed {
                tok: Tok::Bool,
                text,
            }) if primitive => Ok(text.clone()),
            _ => {
                self.pos -= 1;
                Err(self.unexpected("a value (a quoted string, a number or another literal)"))
            }
        }
    }

    fn set(&mut self) -> R<String> {
        self.expect(&Tok::LParen, "'(' opening the set")?;
        let mut text = String::from("(");
        if self.peek() == Some(&Tok::RParen) {
            self.pos += 1;
            return Ok("()".into());
        }
        loop {
            text.push_str(&self.literal(true)?);
            match self.bump().map(|l| &l.tok) {
                Some(Tok::Comma) => text.push(','),
                Some(Tok::RParen) => break,
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected("',' or ')' in the set"));
                }
            }
        }
        text.push(')');
        Ok(text)
    }

    fn object_path(&mut self) -> R<(String, Vec<Option<String>>)> {
        let object_type = match self.bump().map(|l| &l.tok) {
            Some(Tok::Ident(s) | Tok::HyphenIdent(s)) => s.clone(),
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("an object path like domain-name:value"));
            }
        };
        self.expect(&Tok::Colon, "':' after the object type")?;
        let mut path = vec![Some(self.key("a property name after ':'")?)];
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    path.push(Some(self.key("a property name after '.'")?));
                }
                Some(Tok::LBrack) => {
                    self.pos += 1;
                    match self.bump().map(|l| &l.tok) {
                        Some(Tok::IntPos | Tok::IntNeg | Tok::Star) => {}
                        _ => return Err("a list index is an integer or '*'".into()),
                    }
                    self.expect(&Tok::RBrack, "']' closing the list index")?;
                    path.push(None);
                }
                _ => return Ok((object_type, path)),
            }
        }
    }

    fn key(&mut self, wanted: &str) -> R<String> {
        match self.bump().map(|l| &l.tok) {
            Some(Tok::Ident(s) | Tok::Str(s)) => Ok(s.clone()),
            _ => {
                self.pos -= 1;
                Err(self.unexpected(wanted))
            }
        }
    }
}

/// `^-?[a-z0-9]+(-[a-z0-9]+)*-?$`, 3 to 250 characters.
fn valid_type_name(t: &str) -> bool {
    let inner = t.strip_prefix('-').unwrap_or(t);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    (3..=250).contains(&t.len())
        && !inner.is_empty()
        && inner.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `^[a-z0-9_]{3,250}$`
fn valid_property_name(p: &str) -> bool {
    (3..=250).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `value` has the form of a hash named `name` (normalized: upper
/// case, no `-`), for the algorithms the STIX hash vocabulary defines.
fn hash_value_ok(name: &str, value: &str) -> Option<bool> {
    let hex = |n: usize| value.len() == n && value.bytes().all(|b| b.is_ascii_hexdigit());
    Some(match name {
        "MD5" => hex(32),
        // As stix2-patterns checks it: 32 hex digits first.
        "MD6" => value.len() >= 32 && value.as_bytes()[..32].iter().all(u8::is_ascii_hexdigit),
        "RIPEMD160" | "SHA1" => hex(40),
        "SHA224" | "SHA3224" => hex(56),
        "SHA256" | "SHA3256" => hex(64),
        "SHA384" | "SHA3384" => hex(96),
        "SHA512" | "SHA3512" | "WHIRLPOOL" => hex(128),
        "SSDEEP" => {
            (1..=128).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/+:.".contains(&b))
        }
        _ => return None,
    })
}

/// Checks `pattern` against the STIX 2.1 patterning grammar and the checks
/// `stix2-validator` adds; `Err` says what is wrong.
pub fn validate_pattern(pattern: &str) -> Result<(), String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("longer than {MAX_PATTERN_LEN} bytes"));
    }
    let toks = lex(pattern)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        comparisons: Vec::new(),
    };
    p.observations()?;
    if p.pos < p.toks.len() {
        return Err(p.unexpected("the end of the pattern (FOLLOWEDBY, AND, OR or a qualifier)"));
    }
    for c in &p.comparisons {
        if !SCO_TYPES.contains(&c.object_type.as_str()) && !valid_type_name(&c.object_type) {
            return Err(format!(
                "{:?} is not a valid object type name (a-z, 0-9 and '-', 3 to 250 characters)",
                c.object_type
            ));
        }
        if let Some(Some(first)) = c.path.first() {
            let standard_id = first == "id" && SCO_TYPES.contains(&c.object_type.as_str());
            if !standard_id && !valid_property_name(first) {
                return Err(format!(
                    "{first:?} is not a valid property name (a-z, 0-9 and '_', 3 to 250 characters)"
                ));
            }
        }
        let in_hashes = c.path.iter().any(|s| s.as_deref() == Some("hashes"));
        if let (true, Some(Some(selector)), Some(value)) = (in_hashes, c.path.last(), &c.value) {
            let name: String = selector
                .chars()
                .filter(|&ch| ch != '-' && ch != '\'')
                .collect::<String>()
                .to_uppercase();
            let v = value.replace('\'', "");
            if hash_value_ok(&name, &v) == Some(false) {
                return Err(format!("{v:?} is not a valid {selector} hash"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_pattern;

    #[test]
    fn valid_patterns_pass() {
        for p in [
            "[domain-name:value = 'evil.example']",
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "[file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']",
            "[url:value = 'http://x/a\\'b\\\\c']",
            "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32']",
            "[email-message:from_ref.value MATCHES '.+\\\\.example$'] FOLLOWEDBY [file:name = 'a.exe']",
            "([x-acme-thing:some_prop > 5] AND [file:size <= 100]) WITHIN 600 SECONDS",
            "[network-traffic:dst_port IN (80, 443, 8080)] REPEATS 5 TIMES",
            "[process:name NOT LIKE 'cmd%'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.5Z'",
            "[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']",
            "[artifact:payload_bin = h'00ff']",
            "[windows-registry-key:values[*].name = 'x']",
            "[file:extensions.'windows-pebinary-ext'.sections[0].entropy > 7.0]",
            "[x-thing:prop = true] /* comment */ AND [x-thing:prop != -1]",
            "[user-account:id = 'x']",
            "[(file:name = 'a' OR file:name = 'b') AND file:size > 1]",
            "[domain-name:value == 'a'] OR [domain-name:value <> 'b']",
            "([a-b:xyz = 1] WITHIN 5 SECONDS) WITHIN 5 SECONDS",
            "[x-y:abc = 'v']\n",
        ] {
            assert_eq!(validate_pattern(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn invalid_patterns_are_refused() {
        for p in [
            "[domain-name:value = ]",
            "",
            "[domain-name:value = 'a'",
            "domain-name:value = 'a'",
            "[domain-name:value 'a']",
            "[domain-name:value = 'a']]",
            "[domain-name:value ~ 'a']",
            "[domain-name:value = 'a\\x']",
            "[domain-name:value = 'a]",
            "[domain-name:value = \"a\"]",
            "[domain-name = 'a']",
            "[:value = 'a']",
            "[domain-name:value = 'a'] AND",
            "[domain-name:value = 'a'] WITHIN SECONDS",
            "[domain-name:value = 'a'] WITHIN 5 SECONDS WITHIN 6 SECONDS",
            "[domain-name:value = 'a'] START t'2016-13-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            "[file:hashes.MD5 = 'nothex']",
            "[file:hashes.'SHA-256' = 'abc']",
            "[FILE:name = 'a']",
            "[file:Name = 'a']",
            "[x-y:ab = 'v']",
            "[domain-name:value IN ('a' 'b')]",
            "[domain-name:value = 'a'] and [domain-name:value = 'b']",
            "[domain-name:value LIKE 5]",
            "[domain-name:value = 05]",
            "[domain-name:some-prop = 'a']",
            "[x:abc = 'v']",
            "[domain-name:value = 'a'] /* open",
        ] {
            assert!(validate_pattern(p).is_err(), "accepted {p:?}");
        }
        let deep = format!("{}[a-b:xyz = 1]{}", "(".repeat(500), ")".repeat(500));
        assert!(validate_pattern(&deep).is_err());
    }
}
