//! CSV export of every kind with its context, for spreadsheets and SIEMs.
//!
//! RFC 4180: CRLF line ends, a header row, fields quoted when they contain
//! `,` `"` CR or LF, quotes doubled. There is no comment line: CSV has no
//! comments, and spreadsheets and SIEM importers would read one as a record.
//! The reason is free text written by members, so everything a spreadsheet
//! might evaluate as a formula is defused with a `'`: the start of every
//! field, and also the start of every piece after a character some
//! spreadsheet splits cells on (`,` `;` `|` tab, CR, LF: a CSV opened with
//! another locale's delimiter, or pasted), leading spaces skipped.

use std::borrow::Cow;
use std::io::{BufWriter, Write};

use crate::{FeedEntry, FormatError, WriteStats};

/// The header row, in column order.
const HEADER: &str = "value,kind,first_seen,last_seen,expires_at,reason,tlp,sectors,threat";

/// Write every entry as one CSV record. Nothing is skipped: quoting makes
/// any text safe to carry.
pub fn write_csv(out: &mut dyn Write, entries: &[FeedEntry]) -> Result<WriteStats, FormatError> {
    let mut w = BufWriter::new(out);
    write!(w, "{HEADER}\r\n")?;
    for e in entries {
        let fields: [Cow<'_, str>; 9] = [
            Cow::Borrowed(&e.value),
            Cow::Borrowed(e.kind.as_str()),
            Cow::Owned(rfc3339(e.first_seen).unwrap_or_default()),
            Cow::Owned(rfc3339(e.last_seen).unwrap_or_default()),
            Cow::Owned(e.expires_at.and_then(rfc3339).unwrap_or_default()),
            Cow::Borrowed(&e.reason),
            Cow::Borrowed(e.tlp.as_str()),
            Cow::Owned(e.sectors.join(";")),
            Cow::Borrowed(e.threat.as_deref().unwrap_or("")),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            w.write_all(escape(field).as_bytes())?;
        }
        w.write_all(b"\r\n")?;
    }
    w.flush()?;
    Ok(WriteStats {
        written: entries.len(),
        skipped: 0,
    })
}

/// Does a spreadsheet evaluate a cell starting with `c`? The OWASP list
/// (= + - @ tab CR), plus LF and the full-width forms of = + - @, which
/// Japanese-locale Excel also treats as formula starts.
fn starts_formula(c: char) -> bool {
    matches!(
        c,
        '=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | '＝' | '＋' | '－' | '＠'
    )
}

/// Characters some spreadsheet splits a line into cells on.
fn splits_cells(c: char) -> bool {
    matches!(c, ',' | ';' | '|' | '\t' | '\r' | '\n')
}

/// A `'` before every formula character that starts a cell: at the start
/// of the field or after a cell-splitting character, leading spaces skipped.
fn defuse(field: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut cell_start = true;
    for (i, c) in field.char_indices() {
        if cell_start && starts_formula(c) {
            out.get_or_insert_with(|| field[..i].to_owned()).push('\'');
        }
        if let Some(o) = out.as_mut() {
            o.push(c);
        }
        cell_start = splits_cells(c) || (cell_start && c == ' ');
    }
    out.map_or(Cow::Borrowed(field), Cow::Owned)
}

/// Defuse formulas, then quote per RFC 4180 if needed.
pub(crate) fn escape(field: &str) -> Cow<'_, str> {
    let defused = defuse(field);
    if defused.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", defused.replace('"', "\"\"")))
    } else {
        defused
    }
}

/// `2026-11-22T09:00:00Z` for milliseconds since the epoch (truncated to
/// the second), or `None` outside years 0000–9999, which RFC 3339 can't
/// spell.
pub(crate) fn rfc3339(ms: i64) -> Option<String> {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    ))
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`), so no date crate is needed for one column.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyojo_core::{Kind, Tlp};

    #[test]
    fn times() {
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            rfc3339(1_795_338_000_000).as_deref(),
            Some("2026-11-22T09:00:00Z")
        );
        assert_eq!(
            rfc3339(1_795_338_000_999).as_deref(),
            Some("2026-11-22T09:00:00Z")
        );
        assert_eq!(
            rfc3339(1_709_251_199_000).as_deref(),
            Some("2024-02-29T23:59:59Z")
        );
        assert_eq!(rfc3339(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(
            rfc3339(253_402_300_799_000).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(
            rfc3339(-62_167_219_200_000).as_deref(),
            Some("0000-01-01T00:00:00Z")
        );
        assert_eq!(rfc3339(253_402_300_800_000), None);
        assert_eq!(rfc3339(-62_167_219_200_001), None);
        assert_eq!(rfc3339(i64::MAX), None);
        assert_eq!(rfc3339(i64::MIN), None);
    }

    #[test]
    fn escaping() {
        for (raw, want) in [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("＝1+1", "'＝1+1"),
            ("a=b", "a=b"),
            ("phish;=cmd|' /C calc'!A0", "phish;'=cmd|' /C calc'!A0"),
            ("a; -1", "a; '-1"),
            ("x\t@SUM(A1)", "x\t'@SUM(A1)"),
            ("x|+1", "x|'+1"),
            ("a\n=1", "\"a\n'=1\""),
            (" =1", " '=1"),
            ("a -1", "a -1"),
            ("", ""),
        ] {
            assert_eq!(escape(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn record_layout() {
        let e = FeedEntry {
            kind: Kind::Domain,
            value: "evil.example".into(),
            first_seen: 1_795_338_000_000,
            last_seen: 1_795_338_060_000,
            expires_at: None,
            reason: "=cmd|' /C calc'!A0, \"phish\"".into(),
            tlp: Tlp::AmberStrict,
            sectors: vec!["finance".into(), "health".into()],
            threat: Some("phishing".into()),
        };
        let mut out = Vec::new();
        let stats = write_csv(&mut out, &[e]).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "value,kind,first_seen,last_seen,expires_at,reason,tlp,sectors,threat\r\n\
             evil.example,domain,2026-11-22T09:00:00Z,2026-11-22T09:01:00Z,,\
             \"'=cmd|' /C calc'!A0, \"\"phish\"\"\",AMBER+STRICT,finance;health,phishing\r\n"
        );
        assert_eq!(
            stats,
            WriteStats {
                written: 1,
                skipped: 0
            }
        );
    }
}
