//! The warning page (注意喚起) end users land on when their ISP's resolver
//! redirects them away from a listed site (an RPZ "walled garden").
//!
//! Whoever sees it is unauthenticated, may be on an old phone, and may have
//! just typed a password into a phishing page. So the page is one
//! self-contained document: inline CSS, no scripts, no fonts, no images
//! beyond an inline SVG icon, nothing fetched from anywhere. It renders under
//! `default-src 'none'; style-src 'unsafe-inline'` and tells no third party
//! that the user was here. It names the kind of threat but never who reported
//! it: reporters stay anonymous.
//!
//! The `host` comes straight from the query string and is attacker-controlled:
//! it is truncated, has invisible characters made visible, and is escaped
//! before it goes anywhere near the markup.

use chrono::Datelike;
use kyojo_core::report::IncidentType;

/// Language of the page: the two the hub's users actually need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    /// BCP 47 code, for `<html lang>` and the `?lang=` switch.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The language the switch link offers.
    fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// An exact (case-insensitive) `ja` / `en`; anything else is not a choice.
    fn from_code(s: &str) -> Option<Lang> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("ja") {
            Some(Lang::Ja)
        } else if s.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// Picks the page language.
    ///
    /// An explicit `?lang=ja|en` (case-insensitive) wins: the user clicked the
    /// switch link. Otherwise the Accept-Language header decides: whichever of
    /// `ja*` / `en*` has the higher q-value wins, ties go to the one listed
    /// first, and `*`, `q=0` and malformed entries are ignored. When the
    /// header is absent or names neither, English: a browser that does not
    /// ask for Japanese belongs to someone more likely to read English.
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = explicit.and_then(Lang::from_code) {
            return lang;
        }
        let Some(header) = accept_language else {
            return Lang::En;
        };
        // Best (q in thousandths, position) seen for each language.
        let mut ja: Option<(u16, usize)> = None;
        let mut en: Option<(u16, usize)> = None;
        for (pos, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let primary = tag.split(['-', '_']).next().unwrap_or_default();
            let slot = if primary.eq_ignore_ascii_case("ja") {
                &mut ja
            } else if primary.eq_ignore_ascii_case("en") {
                &mut en
            } else {
                continue;
            };
            let mut q = Some(1000);
            for param in parts {
                let param = param.trim();
                if let Some(v) = param
                    .strip_prefix("q=")
                    .or_else(|| param.strip_prefix("Q="))
                {
                    q = parse_q(v.trim());
                }
            }
            let Some(q) = q.filter(|&q| q > 0) else {
                continue;
            };
            // Strictly greater: on a tie the earlier entry stays.
            if !matches!(*slot, Some((best, _)) if best >= q) {
                *slot = Some((q, pos));
            }
        }
        match (ja, en) {
            (Some((jq, jp)), Some((eq, ep))) if jq > eq || (jq == eq && jp < ep) => Lang::Ja,
            (Some(_), None) => Lang::Ja,
            _ => Lang::En,
        }
    }
}

/// An RFC 9110 weight (`0`, `0.8`, `1.000`…) in thousandths; integers so
/// that comparing weights needs no float equality.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match int {
        "1" if frac.bytes().all(|b| b == b'0') => Some(1000),
        "0" => {
            let mut n: u16 = 0;
            for b in frac.bytes() {
                n = n * 10 + u16::from(b - b'0');
            }
            for _ in frac.len()..3 {
                n *= 10;
            }
            Some(n)
        }
        _ => None,
    }
}

pub use kyojo_hub::feeds::Listing;

/// Operator-configurable text (from the hub config), each in both languages.
#[derive(Debug, Clone, Default)]
pub struct WarnContact {
    pub hub_name: String,
    pub contact_en: String,
    pub contact_ja: String,
}

/// Longest DNS name, in characters. Anything longer is not a host name and
/// would only push the warning off the screen.
const HOST_MAX_CHARS: usize = 253;

/// Every fixed phrase of the page in one language, so that a page can only
/// ever be built from one language's text.
struct Text {
    title_listed: &'static str,
    title_unlisted: &'static str,
    nav_label: &'static str,
    switch_name: &'static str,
    host_label: &'static str,
    listed_lead: &'static str,
    threats_heading: &'static str,
    threats_unknown: &'static str,
    last_seen_label: &'static str,
    utc_suffix: &'static str,
    advice_heading: &'static str,
    advice: [&'static str; 4],
    unlisted_lead: [&'static str; 2],
    contact_heading: &'static str,
    contact_default: &'static str,
    provided_by: &'static str,
    brand: &'static str,
}

const JA: Text = Text {
    title_listed: "危険なサイトへのアクセスを遮断しました",
    title_unlisted: "このサイトは現在、遮断の対象ではありません",
    nav_label: "言語の切り替え",
    switch_name: "日本語",
    host_label: "アクセスしようとしたサイト：",
    listed_lead: "このサイトは、危険なサイトとして報告されています。\
                  被害を防ぐため、このサイトへの接続を遮断しました。",
    threats_heading: "報告されている脅威の種類",
    threats_unknown: "脅威の種類は特定されていません。",
    last_seen_label: "最終報告日：",
    utc_suffix: "（UTC）",
    advice_heading: "次の点にご注意ください",
    advice: [
        "このサイトでは、パスワード、クレジットカード番号、暗証番号などを入力しないでください。",
        "すでに入力してしまった場合は、すぐにパスワードを変更してください。\
         同じパスワードを使っているほかのサービスも同様です。\
         カード番号や口座情報を入力した場合は、カード会社や金融機関にご連絡ください。",
        "このサイトからファイルをダウンロードしたり、ダウンロードしたファイルを開いたりしないでください。\
         すでに開いてしまった場合は、セキュリティ対策ソフトで端末を検査してください。",
        "危険なサイトではないのに遮断されていると思われる場合は、下記のお問い合わせ先までご連絡ください。",
    ],
    unlisted_lead: [
        "このサイトは、現在のところ危険なサイトのリストに登録されていません。\
         このページに転送された場合は、その後リストが更新された可能性があります。\
         しばらく待ってから、もう一度アクセスしてください。",
        "何度もこのページが表示される場合は、下記のお問い合わせ先までご連絡ください。",
    ],
    contact_heading: "お問い合わせ先",
    contact_default: "ご契約のインターネットサービスプロバイダー（ISP）のサポート窓口にお問い合わせください。",
    provided_by: "提供：",
    brand: "kyojo — 共助",
};

const EN: Text = Text {
    title_listed: "This site was blocked for your safety",
    title_unlisted: "This site is not currently blocked",
    nav_label: "Language",
    switch_name: "English",
    host_label: "The site you tried to visit:",
    listed_lead: "This site has been reported as dangerous. \
                  To protect you, the connection to it was blocked.",
    threats_heading: "What it was reported for",
    threats_unknown: "The type of threat was not specified.",
    last_seen_label: "Last reported: ",
    utc_suffix: " (UTC)",
    advice_heading: "What you should do",
    advice: [
        "Do not enter passwords, credit card numbers, PINs or other personal details on this site.",
        "If you already did, change your password right away, and also on any other service \
         where you use the same password. If you entered card or bank details, contact your \
         card company or bank.",
        "Do not download or run files from this site. If you already opened one, \
         scan your device with security software.",
        "If you think this site was blocked by mistake, please get in touch using the contact \
         details below.",
    ],
    unlisted_lead: [
        "This site is not currently on the list of dangerous sites. If you were redirected \
         to this page, the list may have changed since. Please wait a moment and try again.",
        "If this page keeps appearing, please get in touch using the contact details below.",
    ],
    contact_heading: "Contact",
    contact_default: "Please contact the support desk of your internet service provider.",
    provided_by: "Provided by ",
    // The brand's Japanese half is marked up so that screen readers switch voice.
    brand: "kyojo — <span lang=\"ja\">共助</span>",
};

impl Lang {
    fn text(self) -> &'static Text {
        match self {
            Lang::Ja => &JA,
            Lang::En => &EN,
        }
    }
}

/// Warning-triangle icon; decorative, so hidden from screen readers. No
/// `xmlns`: inline SVG in HTML doesn't need one, and the page names no URL.
const ICON_WARNING: &str = "<svg class=\"icon\" viewBox=\"0 0 24 24\" width=\"40\" height=\"40\" \
     aria-hidden=\"true\" focusable=\"false\"><path fill=\"currentColor\" \
     d=\"M12 2 1 21h22L12 2zm1 16h-2v-2h2v2zm0-4h-2v-5h2v5z\"/></svg>";

/// Information icon for the calm, not-listed variant.
const ICON_INFO: &str = "<svg class=\"icon\" viewBox=\"0 0 24 24\" width=\"40\" height=\"40\" \
     aria-hidden=\"true\" focusable=\"false\"><path fill=\"currentColor\" \
     d=\"M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-6h2v6zm0-8h-2V7h2v2z\"/></svg>";

/// System fonts only; contrast at least 7:1 for body text in both schemes;
/// long host names wrap instead of widening the page on a phone.
const STYLE: &str = "\
:root{color-scheme:light dark}\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,\"Segoe UI\",\"Hiragino Sans\",\
\"Hiragino Kaku Gothic ProN\",\"Noto Sans CJK JP\",Meiryo,sans-serif;\
font-size:1.0625rem;line-height:1.7;color:#1a1a1a;background:#fff}\
header,main,footer{max-width:40rem;margin:0 auto;padding:0 1rem}\
header{text-align:right;padding-top:.75rem}\
main{margin-top:.75rem;padding-top:1rem;padding-bottom:1rem;border-top:.375rem solid #a50e0e}\
main.unlisted{border-top-color:#44546a}\
h1{font-size:1.5rem;line-height:1.4;margin:.5rem 0 1rem;color:#a50e0e;\
display:flex;gap:.75rem;align-items:flex-start}\
main.unlisted h1{color:#1a1a1a}\
.icon{flex:none;width:2.5rem;height:2.5rem}\
h2{font-size:1.15rem;margin:1.75rem 0 .5rem}\
.host{margin:0 0 1rem}\
.host code{display:block;margin-top:.25rem;padding:.5rem .75rem;font-size:1.05rem;\
background:#f1f1f1;border-radius:.25rem;overflow-wrap:anywhere;word-break:break-all}\
ul{padding-left:1.5rem}\
li{margin:.35rem 0}\
.contact{white-space:pre-line;overflow-wrap:anywhere}\
a{color:#0b57d0}\
a:focus-visible{outline:3px solid currentColor;outline-offset:2px}\
footer{padding-top:1rem;padding-bottom:2rem;border-top:1px solid #ccc;font-size:.95rem;color:#444}\
footer p{margin:.25rem 0}\
@media (prefers-color-scheme:dark){\
body{color:#ececec;background:#121212}\
h1{color:#ff8a80}main{border-top-color:#ff8a80}\
main.unlisted h1{color:#ececec}main.unlisted{border-top-color:#9fb3c8}\
.host code{background:#2a2a2a}\
a{color:#8ab4f8}\
footer{color:#c8c8c8;border-top-color:#555}}";

/// The whole HTML page. `host` is the raw query value: it is escaped (and
/// truncated to 253 chars) here because it is attacker-controlled.
/// `listing` None means the host is not (or no longer) listed, which the page
/// says calmly: the list may have changed since the user was redirected.
pub fn render(lang: Lang, host: &str, listing: Option<&Listing>, contact: &WarnContact) -> String {
    let t = lang.text();
    let host = host.trim();
    let kept: String = host.chars().take(HOST_MAX_CHARS).collect();
    let truncated = host.chars().nth(HOST_MAX_CHARS).is_some();
    let title = if listing.is_some() {
        t.title_listed
    } else {
        t.title_unlisted
    };

    let mut out = String::with_capacity(8 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"");
    out.push_str(lang.code());
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"robots\" content=\"noindex, nofollow\">\n");
    out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    out.push_str("<title>");
    out.push_str(title);
    out.push_str("</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n");

    // The switch sits at the top: someone who cannot read this language
    // should not have to scroll to find the other one.
    let other = lang.other();
    out.push_str("<header><nav aria-label=\"");
    out.push_str(t.nav_label);
    out.push_str("\"><a href=\"");
    out.push_str(&switch_href(&kept, other));
    out.push_str("\" hreflang=\"");
    out.push_str(other.code());
    out.push_str("\" lang=\"");
    out.push_str(other.code());
    out.push_str("\">");
    out.push_str(other.text().switch_name);
    out.push_str("</a></nav></header>\n");

    out.push_str(if listing.is_some() {
        "<main>\n"
    } else {
        "<main class=\"unlisted\">\n"
    });
    out.push_str("<h1>");
    out.push_str(if listing.is_some() {
        ICON_WARNING
    } else {
        ICON_INFO
    });
    out.push_str("<span>");
    out.push_str(title);
    out.push_str("</span></h1>\n");

    if !kept.is_empty() {
        out.push_str("<p class=\"host\">");
        out.push_str(t.host_label);
        // translate="no": a page translator must not "translate" the host name.
        out.push_str("<code dir=\"ltr\" translate=\"no\">");
        out.push_str(&escape_html(&visible(&kept)));
        if truncated {
            out.push('…');
        }
        out.push_str("</code></p>\n");
    }

    match listing {
        Some(listing) => listed_body(&mut out, lang, listing),
        None => {
            for p in t.unlisted_lead {
                push_element(&mut out, "p", p);
            }
        }
    }

    out.push_str("<section aria-labelledby=\"contact\">\n<h2 id=\"contact\">");
    out.push_str(t.contact_heading);
    out.push_str("</h2>\n<p class=\"contact\">");
    let operator_text = match lang {
        Lang::Ja => contact.contact_ja.trim(),
        Lang::En => contact.contact_en.trim(),
    };
    // No fallback to the other language's text: the page stays one language.
    if operator_text.is_empty() {
        out.push_str(t.contact_default);
    } else {
        out.push_str(&escape_html(operator_text));
    }
    out.push_str("</p>\n</section>\n</main>\n");

    out.push_str("<footer>\n");
    let hub_name = contact.hub_name.trim();
    if !hub_name.is_empty() {
        out.push_str("<p>");
        out.push_str(t.provided_by);
        out.push_str(&escape_html(hub_name));
        out.push_str("</p>\n");
    }
    push_element(&mut out, "p", t.brand);
    out.push_str("</footer>\n</body>\n</html>\n");
    out
}

/// The body of the listed variant: what it is, then what to do.
fn listed_body(out: &mut String, lang: Lang, listing: &Listing) {
    let t = lang.text();
    push_element(out, "p", t.listed_lead);

    out.push_str("<section aria-labelledby=\"threats\">\n<h2 id=\"threats\">");
    out.push_str(t.threats_heading);
    out.push_str("</h2>\n");
    let mut seen: Vec<&str> = Vec::new();
    for slug in &listing.threats {
        let slug = slug.trim();
        if !slug.is_empty() && !seen.contains(&slug) {
            seen.push(slug);
        }
    }
    if seen.is_empty() {
        push_element(out, "p", t.threats_unknown);
    } else {
        out.push_str("<ul>\n");
        for slug in seen {
            push_element(out, "li", &threat_name(lang, slug));
        }
        out.push_str("</ul>\n");
    }
    if let Some(date) = listing.last_seen.and_then(|ms| format_date(lang, ms)) {
        out.push_str("<p>");
        out.push_str(t.last_seen_label);
        out.push_str(&date);
        out.push_str(t.utc_suffix);
        out.push_str("</p>\n");
    }
    out.push_str("</section>\n");

    out.push_str("<section aria-labelledby=\"advice\">\n<h2 id=\"advice\">");
    out.push_str(t.advice_heading);
    out.push_str("</h2>\n<ul>\n");
    for item in t.advice {
        push_element(out, "li", item);
    }
    out.push_str("</ul>\n</section>\n");
}

/// `<tag>html</tag>` on its own line; `html` must already be safe markup.
fn push_element(out: &mut String, tag: &str, html: &str) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    out.push_str(html);
    out.push_str("</");
    out.push_str(tag);
    out.push_str(">\n");
}

/// Same-page link to the other language. Percent-encoded, so nothing in the
/// host can leave the query value; `&amp;` because it sits in an attribute.
fn switch_href(host: &str, lang: Lang) -> String {
    if host.is_empty() {
        format!("?lang={}", lang.code())
    } else {
        format!("?host={}&amp;lang={}", percent_encode(host), lang.code())
    }
}

/// Everything but RFC 3986 unreserved characters as `%XX` of the UTF-8 bytes.
fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Replaces characters that could make the shown host lie about itself
/// (bidi overrides reversing `moc.elgoog`, zero-widths, controls) with U+FFFD,
/// so the user sees that something is off instead of a convincing fake.
fn visible(s: &str) -> String {
    s.chars()
        .map(|c| {
            let invisible = c.is_control()
                || matches!(c,
                    '\u{061C}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{2069}'
                    | '\u{FEFF}');
            if invisible {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// A day in the reader's usual format, in UTC (the hub's clock, and the
/// page says so): `2026年11月22日` / `22 Nov 2026`.
fn format_date(lang: Lang, ms: i64) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = chrono::DateTime::from_timestamp_millis(ms)?;
    if !(1..=9999).contains(&t.year()) {
        return None;
    }
    Some(match lang {
        Lang::Ja => format!("{}年{}月{}日", t.year(), t.month(), t.day()),
        Lang::En => {
            let month = MONTHS.get(usize::try_from(t.month0()).ok()?)?;
            format!("{} {} {}", t.day(), month, t.year())
        }
    })
}

/// Human name of an incident type slug in a language (phishing → "Phishing" /
/// "フィッシング"), as HTML text: already escaped. Unknown slugs are shown
/// escaped as-is rather than dropped, so a newer peer's type still shows.
pub fn threat_name(lang: Lang, slug: &str) -> String {
    match IncidentType::parse(slug).map(|t| t.names()) {
        Some((en, ja)) => escape_html(match lang {
            Lang::Ja => ja,
            Lang::En => en,
        }),
        None => escape_html(slug),
    }
}

/// HTML-escape `& < > " '`: safe in text and in quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_SLUGS: [&str; 12] = [
        "phishing",
        "malware",
        "ransomware",
        "ddos",
        "scanning",
        "intrusion",
        "data_breach",
        "fraud",
        "spam",
        "command_and_control",
        "exploitation",
        "other",
    ];

    const HOSTILE: [&str; 7] = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "' onmouseover='alert(1)",
        "evil.example\" onload=\"alert(1)",
        "&lt;script&gt;",
        "</code></main><script>x</script>",
        "evil.example/?a=1&lang=en#<b>",
    ];

    fn contact() -> WarnContact {
        WarnContact {
            hub_name: "Example ISAC".to_string(),
            contact_en: "Example ISP support: 0120-000-000 (24 hours)".to_string(),
            contact_ja: "サポートセンター：0120-000-000（24時間受付）".to_string(),
        }
    }

    fn listing(threats: &[&str]) -> Listing {
        Listing {
            threats: threats.iter().map(|s| s.to_string()).collect(),
            last_seen: Some(ms(2026, 11, 22, 9)),
        }
    }

    fn ms(y: i32, m: u32, d: u32, h: u32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 30, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    /// Every variant of the page worth checking: both languages, listed
    /// (with every threat type, and with none) and not listed.
    fn pages(host: &str) -> Vec<(Lang, String)> {
        let all = listing(&ALL_SLUGS);
        let none = Listing {
            threats: vec![],
            last_seen: None,
        };
        let mut v = Vec::new();
        for lang in [Lang::Ja, Lang::En] {
            for l in [Some(&all), Some(&none), None] {
                v.push((lang, render(lang, host, l, &contact())));
                v.push((lang, render(lang, host, l, &WarnContact::default())));
            }
        }
        v
    }

    fn is_japanese(c: char) -> bool {
        matches!(c,
            '\u{3000}'..='\u{30FF}'   // CJK punctuation, hiragana, katakana
            | '\u{3400}'..='\u{4DBF}' // CJK extension A
            | '\u{4E00}'..='\u{9FFF}' // CJK unified ideographs
            | '\u{FF00}'..='\u{FFEF}') // full-width forms
    }

    /// The page with every element marked `lang="ja"` cut out.
    fn without_lang_ja(page: &str) -> String {
        let mut out = String::new();
        let mut rest = page;
        while let Some(i) = rest.find("lang=\"ja\">") {
            // Keep up to the start of the tag carrying the attribute.
            let tag_start = rest[..i].rfind('<').unwrap();
            out.push_str(&rest[..tag_start]);
            let after = &rest[i..];
            let close = after.find("</").unwrap();
            rest = &after[close..];
        }
        out.push_str(rest);
        out
    }

    /// Text content (tags dropped) between `<main>` and `</main>`.
    fn main_text(page: &str) -> String {
        let start = page.find("<main").unwrap();
        let end = page.find("</main>").unwrap();
        let mut text = String::new();
        let mut in_tag = false;
        for c in page[start..end].chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                _ if !in_tag => text.push(c),
                _ => {}
            }
        }
        text
    }

    /// Every tag in the page: (name, raw tag text). Escaped text never holds
    /// a `<`, so this sees exactly the markup the page itself wrote.
    fn tags(page: &str) -> Vec<(String, String)> {
        let mut v = Vec::new();
        let mut rest = page;
        while let Some(i) = rest.find('<') {
            let end = rest[i..].find('>').unwrap() + i;
            let raw = &rest[i + 1..end];
            let name: String = raw
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect();
            v.push((name.to_ascii_lowercase(), raw.to_string()));
            rest = &rest[end + 1..];
        }
        v
    }

    #[test]
    fn escape_html_covers_the_five() {
        assert_eq!(
            escape_html(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape_html("例.example"), "例.example");
        assert_eq!(escape_html(""), "");
    }

    #[test]
    fn hostile_hosts_are_escaped_everywhere() {
        const ALLOWED: [&str; 22] = [
            "!doctype", "html", "head", "meta", "title", "style", "body", "header", "nav", "a",
            "main", "h1", "h2", "svg", "path", "span", "p", "code", "section", "ul", "li",
            "footer",
        ];
        for host in HOSTILE {
            for (_, page) in pages(host) {
                assert!(!page.contains("<script"), "{host}: {page}");
                assert!(!page.contains("<img"), "{host}");
                assert!(!page.contains("<b>"), "{host}");
                for (name, raw) in tags(&page) {
                    assert!(
                        ALLOWED.contains(&name.as_str()),
                        "{host}: unexpected tag <{raw}>"
                    );
                    let lower = raw.to_ascii_lowercase();
                    assert!(
                        !lower.split_whitespace().any(|a| a.starts_with("on")),
                        "{host}: event handler in <{raw}>"
                    );
                    // Attribute values never contain a stray quote.
                    assert_eq!(raw.matches('"').count() % 2, 0, "{host}: <{raw}>");
                }
                assert!(page.contains(&escape_html(host)), "{host}");
            }
        }
        let page = render(Lang::En, HOSTILE[1], None, &contact());
        assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(
            page.contains("?host=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E&amp;lang=ja")
        );
    }

    #[test]
    fn operator_text_is_escaped_too() {
        let c = WarnContact {
            hub_name: "<b>Hub</b>".to_string(),
            contact_en: "<a href=\"https://x.example\">call</a>\nline two".to_string(),
            contact_ja: "<script>".to_string(),
        };
        let en = render(Lang::En, "evil.example", None, &c);
        assert!(en.contains("&lt;b&gt;Hub&lt;/b&gt;"));
        assert!(en.contains("&lt;a href=&quot;https://x.example&quot;&gt;call&lt;/a&gt;\nline two"));
        assert!(!en.contains("<a href=\"https"));
        let ja = render(Lang::Ja, "evil.example", None, &c);
        assert!(ja.contains("&lt;script&gt;") && !ja.contains("<script"));
    }

    #[test]
    fn long_hosts_are_truncated_to_253_chars() {
        let host = "a".repeat(10_000);
        for (_, page) in pages(&host) {
            assert!(page.contains(&format!(">{}…</code>", "a".repeat(253))));
            assert!(page.contains(&format!("?host={}&amp;", "a".repeat(253))));
            assert!(!page.contains(&"a".repeat(254)));
            assert!(page.len() < 20_000);
        }
        // Exactly 253 is not truncated; multi-byte characters count as one.
        let host = "例".repeat(253);
        let page = render(Lang::Ja, &host, None, &contact());
        assert!(page.contains(&format!(">{host}</code>")));
        let page = render(Lang::Ja, &format!("{host}例"), None, &contact());
        assert!(page.contains(&format!(">{host}…</code>")));
    }

    #[test]
    fn invisible_characters_are_made_visible() {
        let host = "evil\u{202E}elgoog.com\u{200B}\u{0007}";
        let page = render(Lang::En, host, None, &contact());
        assert!(page.contains(">evil\u{FFFD}elgoog.com\u{FFFD}\u{FFFD}</code>"));
        assert!(!page.contains('\u{202E}') && !page.contains('\u{200B}'));
        // The switch link keeps the host as given, safely encoded.
        assert!(page.contains("?host=evil%E2%80%AEelgoog.com%E2%80%8B%07&amp;lang=ja"));
    }

    #[test]
    fn html_lang_attribute_matches() {
        for (lang, page) in pages("evil.example") {
            let want = format!("<!DOCTYPE html>\n<html lang=\"{}\">", lang.code());
            assert!(page.starts_with(&want), "{lang:?}");
            assert_eq!(page.matches("<html").count(), 1);
            assert!(page.contains("<meta name=\"viewport\""));
            assert_eq!(page.matches("<main").count(), 1);
            assert_eq!(page.matches("<h1>").count(), 1);
        }
    }

    #[test]
    fn english_pages_have_no_japanese_outside_lang_ja() {
        for (lang, page) in pages("evil.example") {
            if lang != Lang::En {
                continue;
            }
            let stripped = without_lang_ja(&page);
            let found: String = stripped.chars().filter(|&c| is_japanese(c)).collect();
            assert!(found.is_empty(), "Japanese text {found:?} in {page}");
            // The only lang="ja" elements are the switch link and the brand.
            assert_eq!(page.matches(" lang=\"ja\"").count(), 2);
            assert!(page.contains("lang=\"ja\">日本語</a>"));
            assert!(page.contains("kyojo — <span lang=\"ja\">共助</span>"));
        }
    }

    #[test]
    fn japanese_pages_main_content_is_japanese() {
        // Latin words a Japanese page legitimately uses.
        const LATIN_OK: [&str; 4] = ["UTC", "ISP", "DDoS", "C2"];
        let english_phrases = [
            "blocked",
            "password",
            "Contact",
            "dangerous",
            "reported",
            "site",
            "English",
        ];
        for (lang, page) in pages("evil.example") {
            if lang != Lang::Ja {
                continue;
            }
            let text = main_text(&page).replace("evil.example", "");
            assert!(text.chars().filter(|&c| is_japanese(c)).count() > 50);
            for word in text
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
            {
                assert!(LATIN_OK.contains(&word), "Latin word {word:?} in {text}");
            }
            for phrase in english_phrases {
                assert!(!text.contains(phrase), "{phrase:?} in {text}");
            }
            // Outside <main>, only the switch link and brand are Latin.
            assert!(page.contains("<title>危険なサイト") || page.contains("<title>このサイト"));
            assert!(page.contains("lang=\"en\">English</a>"));
        }
    }

    #[test]
    fn language_switch_links_stay_on_the_page() {
        let c = contact();
        let en = render(Lang::En, "evil.example", None, &c);
        assert!(en.contains(
            "<a href=\"?host=evil.example&amp;lang=ja\" hreflang=\"ja\" lang=\"ja\">日本語</a>"
        ));
        let ja = render(Lang::Ja, "evil.example", None, &c);
        assert!(ja.contains(
            "<a href=\"?host=evil.example&amp;lang=en\" hreflang=\"en\" lang=\"en\">English</a>"
        ));
        let ja = render(Lang::Ja, "a b&c=d/例", None, &c);
        assert!(ja.contains("?host=a%20b%26c%3Dd%2F%E4%BE%8B&amp;lang=en"));
        // No host given: still a working switch, and no empty <code>.
        let en = render(Lang::En, "  ", None, &c);
        assert!(en.contains("<a href=\"?lang=ja\""));
        assert!(!en.contains("<code"));
    }

    #[test]
    fn nothing_points_off_the_page() {
        for host in ["evil.example", "https://evil.example//x", HOSTILE[1]] {
            for (_, page) in pages(host) {
                let without_host = page
                    .replace(&escape_html(host), "")
                    .replace(&percent_encode(host), "");
                for bad in [
                    "http:", "https:", "//", "src=", "url(", "@import", "<link", "<script",
                ] {
                    assert!(!without_host.contains(bad), "{bad:?} in {page}");
                }
                for (_, raw) in tags(&page) {
                    for (i, _) in raw.match_indices("href=\"") {
                        let value = &raw[i + 6..];
                        assert!(value.starts_with('?'), "off-page link in <{raw}>");
                    }
                }
            }
        }
    }

    #[test]
    fn listed_page_content() {
        let c = contact();
        let l = listing(&["phishing", "malware", "phishing", " ", "brand_new_type"]);
        let ja = render(Lang::Ja, "evil.example", Some(&l), &c);
        assert!(ja.contains("<title>危険なサイトへのアクセスを遮断しました</title>"));
        assert!(ja.contains("<span>危険なサイトへのアクセスを遮断しました</span></h1>"));
        assert!(ja.contains("<code dir=\"ltr\" translate=\"no\">evil.example</code>"));
        assert!(ja.contains(
            "<ul>\n<li>フィッシング</li>\n<li>マルウェア</li>\n<li>brand_new_type</li>\n</ul>"
        ));
        assert!(ja.contains("最終報告日：2026年11月22日（UTC）"));
        assert!(ja.contains("パスワード"));
        assert!(ja.contains("サポートセンター：0120-000-000（24時間受付）"));
        assert!(ja.contains("提供：Example ISAC"));
        assert!(ja.contains("kyojo — 共助"));
        let en = render(Lang::En, "evil.example", Some(&l), &c);
        assert!(en.contains("<title>This site was blocked for your safety</title>"));
        assert!(en
            .contains("<ul>\n<li>Phishing</li>\n<li>Malware</li>\n<li>brand_new_type</li>\n</ul>"));
        assert!(en.contains("Last reported: 22 Nov 2026 (UTC)"));
        assert!(en.contains("Do not enter passwords"));
        assert!(en.contains("Example ISP support: 0120-000-000 (24 hours)"));
        assert!(en.contains("Provided by Example ISAC"));
    }

    #[test]
    fn listed_page_without_details_or_operator_text() {
        let l = Listing {
            threats: vec![],
            last_seen: None,
        };
        let ja = render(Lang::Ja, "evil.example", Some(&l), &WarnContact::default());
        assert!(ja.contains("脅威の種類は特定されていません。"));
        assert!(!ja.contains("最終報告日"));
        assert!(ja.contains("ご契約のインターネットサービスプロバイダー"));
        assert!(!ja.contains("提供："));
        let en = render(Lang::En, "evil.example", Some(&l), &WarnContact::default());
        assert!(en.contains("The type of threat was not specified."));
        assert!(!en.contains("Last reported"));
        assert!(en.contains("support desk of your internet service provider"));
        // Only Japanese operator text configured: the English page does not borrow it.
        let c = WarnContact {
            contact_ja: "窓口".to_string(),
            ..WarnContact::default()
        };
        let en = render(Lang::En, "evil.example", Some(&l), &c);
        assert!(!en.contains("窓口"));
    }

    #[test]
    fn not_listed_variant_is_calm() {
        let c = contact();
        let ja = render(Lang::Ja, "fixed.example", None, &c);
        assert!(ja.contains("<title>このサイトは現在、遮断の対象ではありません</title>"));
        assert!(ja.contains("リストに登録されていません"));
        assert!(ja.contains("もう一度アクセスしてください"));
        assert!(ja.contains(">fixed.example</code>"));
        assert!(ja.contains("<main class=\"unlisted\">"));
        assert!(!ja.contains("遮断しました"));
        assert!(!ja.contains("報告されている脅威"));
        assert!(ja.contains("サポートセンター"));
        let en = render(Lang::En, "fixed.example", None, &c);
        assert!(en.contains("<title>This site is not currently blocked</title>"));
        assert!(en.contains("not currently on the list"));
        assert!(en.contains("the list may have changed"));
        assert!(en.contains("try again"));
        assert!(!en.contains("was blocked for your safety"));
        assert!(!en.contains("What it was reported for"));
        assert!(!en.contains("Do not enter passwords"));
    }

    #[test]
    fn dates_are_utc_in_the_readers_format() {
        // 23:30 UTC on the 22nd is already the 23rd in Japan: still the 22nd.
        let l = Listing {
            threats: vec!["fraud".to_string()],
            last_seen: Some(ms(2026, 11, 22, 23)),
        };
        let ja = render(Lang::Ja, "x.example", Some(&l), &contact());
        assert!(ja.contains("2026年11月22日（UTC）"));
        let en = render(Lang::En, "x.example", Some(&l), &contact());
        assert!(en.contains("22 Nov 2026 (UTC)"));
        assert_eq!(
            format_date(Lang::Ja, ms(2027, 1, 5, 0)).as_deref(),
            Some("2027年1月5日")
        );
        assert_eq!(
            format_date(Lang::En, ms(2027, 1, 5, 0)).as_deref(),
            Some("5 Jan 2027")
        );
        assert_eq!(format_date(Lang::En, i64::MAX), None);
        assert_eq!(format_date(Lang::En, i64::MIN), None);
    }

    #[test]
    fn threat_names() {
        assert_eq!(threat_name(Lang::En, "phishing"), "Phishing");
        assert_eq!(threat_name(Lang::Ja, "phishing"), "フィッシング");
        assert_eq!(threat_name(Lang::Ja, "data_breach"), "情報漏えい");
        assert_eq!(threat_name(Lang::En, "<x>&"), "&lt;x&gt;&amp;");
        assert_eq!(threat_name(Lang::Ja, "Phishing"), "Phishing");
        for slug in ALL_SLUGS {
            let t = IncidentType::parse(slug).unwrap();
            let (en, ja) = t.names();
            assert_eq!(threat_name(Lang::En, slug), en);
            assert_eq!(threat_name(Lang::Ja, slug), ja);
        }
        assert_eq!(ALL_SLUGS.len(), IncidentType::ALL.len());
    }

    #[test]
    fn negotiate_table() {
        use Lang::{En, Ja};
        let cases: [(Option<&str>, Option<&str>, Lang); 26] = [
            // Explicit choice wins, case-insensitively.
            (Some("en"), Some("ja"), En),
            (Some("ja"), Some("en"), Ja),
            (Some("JA"), None, Ja),
            (Some(" En "), Some("ja"), En),
            // Unknown explicit values fall through to the header.
            (Some("fr"), Some("ja"), Ja),
            (Some(""), Some("ja-JP"), Ja),
            (Some("ja-JP"), None, En),
            // The header.
            (None, Some("ja,en;q=0.8"), Ja),
            (None, Some("en-US,en;q=0.9,ja;q=0.8"), En),
            (None, Some("ja-JP"), Ja),
            (None, Some("JA-jp"), Ja),
            (None, Some("fr"), En),
            (None, None, En),
            (None, Some(""), En),
            (None, Some("garbage;;;,,=q"), En),
            (None, Some("en;q=0.1, ja;q=0.9"), Ja),
            (None, Some("fr-FR,fr;q=0.9,ja;q=0.5"), Ja),
            (None, Some("*"), En),
            (None, Some("*;q=1, ja;q=0.2"), Ja),
            (None, Some("ja;q=0"), En),
            (None, Some("ja;q=0, en;q=0"), En),
            // Ties go to the entry listed first.
            (None, Some("ja, en"), Ja),
            (None, Some("en, ja"), En),
            // Malformed weights drop the entry, not the header.
            (None, Some("ja;q=2, en;q=0.5"), En),
            (None, Some("ja;q=0.9999, en;q=0.001"), En),
            (None, Some("en;q=abc, ja;Q=0.5"), Ja),
        ];
        for (explicit, header, want) in cases {
            assert_eq!(
                Lang::negotiate(explicit, header),
                want,
                "explicit={explicit:?} header={header:?}"
            );
        }
        assert_eq!(Lang::Ja.code(), "ja");
        assert_eq!(Lang::En.code(), "en");
    }

    #[test]
    fn q_values() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0."), Some(0));
        assert_eq!(parse_q("0.8"), Some(800));
        assert_eq!(parse_q("0.85"), Some(850));
        assert_eq!(parse_q("0.123"), Some(123));
        assert_eq!(parse_q("1.001"), None);
        assert_eq!(parse_q("0.1234"), None);
        assert_eq!(parse_q("-0.5"), None);
        assert_eq!(parse_q(".5"), None);
        assert_eq!(parse_q(""), None);
    }
}
