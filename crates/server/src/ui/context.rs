//! What every page handler shares: the request's language, signed-in user
//! and form (the [`Ui`] extractor), sessions, CSRF checks and small HTML
//! helpers. Handlers live in `pages` and `admin`, the routes in `mod.rs`.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use kyojo_core::{Role, Viewer};
use kyojo_store::{Millis, Org, TokenRecord};

use crate::error::ApiResult;
use crate::runtime::blocking;
use crate::warn::{escape_html, Lang};
use crate::AppState;
use kyojo_hub::hub::Hub;

use super::text;
use super::text::tr;

pub(super) const SESSION_COOKIE: &str = "kyojo_session";
pub(super) const LOGIN_COOKIE: &str = "kyojo_login";
const LANG_COOKIE: &str = "kyojo_lang";
/// How long a session lasts without signing in again.
const SESSION_MS: Millis = 12 * 3_600_000;

// ---- sessions ----------------------------------------------------------------------

pub(super) fn open_session(hub: &Hub, token: &TokenRecord) -> ApiResult<(String, String)> {
    Ok(hub.open_session(token, SESSION_MS)?)
}

pub(super) fn close_session(hub: &Hub, sid: &str) -> ApiResult<()> {
    Ok(hub.close_session(sid)?)
}

pub(super) fn resume_session(
    hub: &Hub,
    sid: &str,
) -> ApiResult<Option<(Viewer, TokenRecord, String)>> {
    Ok(hub.resume_session(sid)?)
}

/// Constant-time comparison of two secrets.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

// ---- the request's context -----------------------------------------------------------

/// The signed-in member.
#[derive(Clone)]
pub struct User {
    pub viewer: Viewer,
    pub org: Org,
    pub role: Role,
    pub csrf: String,
    pub sid: String,
}

/// Everything a page needs to know about the request.
pub struct Ui {
    pub lang: Lang,
    /// `?lang=` was given: remember it in a cookie.
    explicit_lang: bool,
    pub user: Option<User>,
    /// Path and query without `lang`, for the language switch.
    path: String,
    query: Vec<(String, String)>,
    pub cookies: HashMap<String, String>,
    /// Cookies get `Secure` (HTTPS per configuration or reverse proxy).
    secure: bool,
}

pub fn parse_cookies(header: Option<&str>) -> HashMap<String, String> {
    header
        .unwrap_or_default()
        .split(';')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let query: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let cookie_header = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        let cookies = parse_cookies(Some(&cookie_header));
        let explicit = query
            .iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.clone())
            .filter(|v| v == "ja" || v == "en");
        let chosen = explicit
            .clone()
            .or_else(|| cookies.get(LANG_COOKIE).cloned());
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = Lang::negotiate(chosen.as_deref(), accept);
        let secure = state.hub.config.secure_cookies
            || parts
                .headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"));

        let mut user = None;
        if let Some(sid) = cookies.get(SESSION_COOKIE) {
            let hub = state.hub.clone();
            let key = sid.clone();
            match blocking(move || resume_session(&hub, &key)).await {
                Ok(Some((viewer, rec, csrf))) => {
                    user = Some(User {
                        viewer,
                        org: rec.org,
                        role: rec.role,
                        csrf,
                        sid: sid.clone(),
                    })
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e.message, "reading a web session"),
            }
        }
        Ok(Ui {
            lang,
            explicit_lang: explicit.is_some(),
            user,
            path: parts.uri.path().to_string(),
            query: query.into_iter().filter(|(k, _)| k != "lang").collect(),
            cookies,
            secure,
        })
    }
}

impl Ui {
    pub fn t(&self, en: &'static str, ja: &'static str) -> &'static str {
        tr(self.lang, en, ja)
    }

    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    /// The URL of this page in the other language.
    fn switch_href(&self) -> String {
        let other = match self.lang {
            Lang::Ja => "en",
            Lang::En => "ja",
        };
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            ser.append_pair(k, v);
        }
        ser.append_pair("lang", other);
        format!("{}?{}", self.path, ser.finish())
    }

    /// A complete HTML response: the page inside the common layout.
    pub fn page(&self, hub: &Hub, status: StatusCode, title: &str, main: &str) -> Response {
        let html = layout(self, hub, title, main);
        let mut resp = (status, html).into_response();
        set_html_headers(&mut resp);
        if self.explicit_lang {
            self.set_cookie(&mut resp, LANG_COOKIE, self.lang.code(), Some(31_536_000));
        }
        resp
    }

    /// An error page in the page's language.
    pub fn error(&self, hub: &Hub, e: &crate::ApiError) -> Response {
        let (title, text) = text::error_text(self.lang, e);
        let main = format!(
            "<h1>{}</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n<p><a href=\"/ui/\">{}</a></p>",
            escape_html(title),
            escape_html(&text),
            self.t("Back to the dashboard", "状況の画面へ戻る"),
        );
        let status = if e.status == StatusCode::UNAUTHORIZED {
            StatusCode::FORBIDDEN
        } else {
            e.status
        };
        self.page(hub, status, title, &main)
    }

    /// Checks a posted form's CSRF token against the session's.
    pub fn csrf_ok(&self, form: &Form) -> bool {
        match (&self.user, form.get("csrf")) {
            (Some(u), Some(given)) => same_secret(&u.csrf, given),
            _ => false,
        }
    }

    /// The hidden CSRF field for a form.
    pub fn csrf_field(&self) -> String {
        match &self.user {
            Some(u) => format!(
                "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
                escape_html(&u.csrf)
            ),
            None => String::new(),
        }
    }
}

pub fn set_html_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The head of a data table: a caption for screen readers, one header cell
/// per column and, with `action`, a last column of buttons labelled for
/// screen readers only. The words are the interface's own (not escaped).
pub fn table_head(caption: &str, columns: &[&str], action: Option<&str>) -> String {
    let mut out = format!("<table><caption class=\"visually\">{caption}</caption><thead><tr>");
    for c in columns {
        out.push_str(&format!("<th scope=\"col\">{c}</th>"));
    }
    if let Some(a) = action {
        out.push_str(&format!(
            "<th scope=\"col\"><span class=\"visually\">{a}</span></th>"
        ));
    }
    out.push_str("</tr></thead><tbody>");
    out
}

impl Ui {
    /// Sets one of the interface's cookies: HTTP-only, same-site, scoped to
    /// `/ui`, `Secure` over HTTPS. An empty value with `Some(0)` deletes it.
    pub fn set_cookie(&self, resp: &mut Response, name: &str, value: &str, max_age: Option<u64>) {
        let mut cookie = format!("{name}={value}; Path=/ui; HttpOnly; SameSite=Strict");
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}

/// 303 See Other to `to`.
pub fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

// ---- posted forms ----------------------------------------------------------------------

/// An `application/x-www-form-urlencoded` body; keys may repeat (checkboxes).
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn str(&self, key: &str) -> &str {
        self.get(key).unwrap_or_default()
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

// ---- the layout ------------------------------------------------------------------------

/// Percent-encodes one path segment (everything but unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Link to an indicator's page.
pub fn indicator_href(obs: &kyojo_core::Observable) -> String {
    format!(
        "/ui/indicators/{}/{}",
        obs.kind.as_str(),
        encode_segment(&obs.value)
    )
}

const STYLE: &str = "\
.demo{background:#fff6d5;border:1px solid #d9a400;padding:.5em .8em;border-radius:4px}\
*{box-sizing:border-box}\
html{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP','Noto Sans CJK JP','Yu Gothic',sans-serif;line-height:1.55;color:#1a1a1a;background:#f6f7f9}\
body{margin:0}\
a{color:#0b57a4}a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:3px solid #e69f00;outline-offset:2px}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}\
header.top{background:#12324f;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center}\
header.top a{color:#fff}header.top .brand{font-weight:700;font-size:1.15rem;text-decoration:none}\
header.top nav ul{list-style:none;margin:0;padding:0;display:flex;gap:1rem;flex-wrap:wrap}\
header.top nav a[aria-current]{text-decoration:underline 3px}\
header.top .who{margin-left:auto;display:flex;gap:1rem;align-items:center;flex-wrap:wrap;font-size:.92rem}\
header.top button{background:transparent;color:#fff;border:1px solid #fff;border-radius:4px;padding:.15rem .6rem;cursor:pointer;font:inherit}\
main{max-width:1180px;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:0 0 .6rem}\
section.card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:1rem;margin-bottom:1rem}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1rem}.grid section.card{margin:0}\
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}\
th{background:#f0f2f5}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\
code,.mono{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,monospace;word-break:break-all}\
.tlp{display:inline-block;font-family:ui-monospace,monospace;font-weight:700;font-size:.8rem;padding:0 .35rem;border-radius:3px;background:#000;white-space:nowrap}\
.tlp-CLEAR{color:#fff}.tlp-GREEN{color:#33ff00}.tlp-AMBER,.tlp-AMBERSTRICT{color:#ffc000}.tlp-RED{color:#ff2b2b}\
.muted{color:#555}.small{font-size:.88rem}\
.error{color:#a40000;font-weight:600}.ok{color:#035e1c;font-weight:600}\
.state-block{color:#a40000;font-weight:700}.state-none{color:#035e1c;font-weight:700}\
form.stack label{display:block;font-weight:600;margin:.6rem 0 .2rem}\
form.stack input[type=text],form.stack input[type=password],form.stack input[type=date],form.stack select,form.stack textarea{width:100%;max-width:44rem;padding:.4rem;font:inherit;border:1px solid #8a939d;border-radius:4px}\
fieldset{border:1px solid #d8dde3;border-radius:6px;margin:.8rem 0;padding:.5rem .8rem}legend{font-weight:700}\
fieldset label{font-weight:400!important;display:block;margin:.25rem 0}\
.choice .hint{display:block;margin-left:1.6rem;color:#555;font-size:.88rem}\
button.primary,input[type=submit]{background:#0b57a4;color:#fff;border:0;border-radius:4px;padding:.5rem 1.1rem;font:inherit;cursor:pointer;margin-top:.8rem}\
.legend{list-style:none;padding:0;margin:.4rem 0;display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.88rem}\
.legend span.sw{display:inline-block;width:.9rem;height:.9rem;border:1px solid #333;margin-right:.3rem;vertical-align:-2px}\
svg.chart{width:100%;height:auto;max-width:760px;display:block}\
svg.chart text{font-size:11px;fill:#222}\
details summary{cursor:pointer;margin:.4rem 0}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}dl.facts dt{font-weight:600}dl.facts dd{margin:0}\
.pre{white-space:pre-wrap;overflow-wrap:anywhere}\
ul.subnav{list-style:none;padding:0;margin:0 0 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem}ul.subnav a[aria-current]{font-weight:700;text-decoration:underline 3px}\
.visually{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
footer{max-width:1180px;margin:0 auto;padding:1rem;color:#555;font-size:.85rem}";

fn layout(ui: &Ui, hub: &Hub, title: &str, main: &str) -> String {
    let mut out = String::with_capacity(main.len() + 6000);
    out.push_str("<!DOCTYPE html>\n<html lang=\"");
    out.push_str(ui.lang.code());
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
    out.push_str(&escape_html(title));
    out.push_str(" — ");
    out.push_str(&escape_html(&hub.config.hub_name));
    out.push_str("</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(&format!(
        "<a class=\"skip\" href=\"#main\">{}</a>\n<header class=\"top\">\n<a class=\"brand\" href=\"/ui/\">{}</a>\n",
        ui.t("Skip to content", "本文へ移動"),
        escape_html(&hub.config.hub_name)
    ));
    if let Some(user) = &ui.user {
        let mut links = vec![
            ("/ui/", ui.t("Dashboard", "状況")),
            ("/ui/reports", ui.t("Reports", "レポート")),
            ("/ui/share", ui.t("Share", "共有")),
            ("/ui/search", ui.t("Search", "検索")),
        ];
        if user.role == Role::Admin {
            links.push(("/ui/admin", ui.t("Admin", "管理")));
        }
        out.push_str(&format!(
            "<nav aria-label=\"{}\"><ul>",
            ui.t("Main", "メイン")
        ));
        for (href, label) in links {
            let current = if ui.path == href
                || (href != "/ui/" && ui.path.starts_with(href) && href != "/ui/share")
                || (href == "/ui/share" && ui.path == "/ui/share")
            {
                " aria-current=\"page\""
            } else {
                ""
            };
            out.push_str(&format!("<li><a href=\"{href}\"{current}>{label}</a></li>"));
        }
        out.push_str("</ul></nav>\n<div class=\"who\">");
        out.push_str(&format!(
            "<span>{} · {}</span>",
            escape_html(&user.org.name),
            text::role_name(ui.lang, user.role)
        ));
        out.push_str(&format!(
            "<form method=\"post\" action=\"/ui/logout\">{}<button type=\"submit\">{}</button></form>",
            ui.csrf_field(),
            ui.t("Sign out", "サインアウト")
        ));
    } else {
        out.push_str("<div class=\"who\">");
    }
    // The switch names the other language in that language.
    let (other_code, other_name) = match ui.lang {
        Lang::Ja => ("en", "English"),
        Lang::En => ("ja", "日本語"),
    };
    out.push_str(&format!(
        "<a class=\"lang-switch\" href=\"{}\" hreflang=\"{other_code}\" lang=\"{other_code}\">{other_name}</a>",
        escape_html(&ui.switch_href())
    ));
    out.push_str("</div>\n</header>\n<main id=\"main\">\n");
    if hub.is_demo() {
        out.push_str(&format!(
            "<p class=\"notice demo\" role=\"note\">{}</p>\n",
            ui.t(
                "Demo hub: its addresses come from the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), which a real hub never blocks. Here they are let into the feeds so that every feed shows entries.",
                "デモ用ハブ: アドレスは文書用の範囲（192.0.2.0/24、198.51.100.0/24、203.0.113.0/24、2001:db8::/32）のもので、実際のハブでは決してブロックしません。ここではすべてのフィードに項目が出るよう、フィードに含めています。",
            )
        ));
    }
    out.push_str(main);
    out.push_str("\n</main>\n<footer>");
    out.push_str(ui.t(
        "kyojo — community threat-intelligence sharing. Figures drawn from fewer than 3 organizations are not shown.",
        "kyojo（共助）— コミュニティの脅威情報共有。3組織未満から得られた数値は表示しません。",
    ));
    out.push_str("</footer>\n</body>\n</html>\n");
    out
}
