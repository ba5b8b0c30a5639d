//! The web interface over real HTTP: sign-in, CSRF, both languages, the
//! sharing rules as the pages show them, sharing from pasted text, escaping.

mod common;

use std::collections::HashMap;

use common::{report, start, start_with_config, TestHub};
use kyojo_core::Role;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;

/// A browser-like client: keeps cookies, does not follow redirects.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
    accept_language: String,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    content_type: String,
    text: String,
}

impl Browser {
    fn new(t: &TestHub, accept_language: &str) -> Browser {
        Browser {
            base: t.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
            accept_language: accept_language.to_string(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = req
            .header(COOKIE, self.cookie_header())
            .header(ACCEPT_LANGUAGE, &self.accept_language)
            .header(
                reqwest::header::ACCEPT,
                "text/html,application/xhtml+xml,*/*;q=0.8",
            );
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let first = c.split(';').next().unwrap();
            let (k, v) = first.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k.trim());
            } else {
                self.cookies
                    .insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let text = resp.text().await.expect("body");
        Page {
            status,
            location,
            set_cookies,
            content_type,
            text,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(format!("{}{}", self.base, path));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            ser.append_pair(k, v);
        }
        let req = self
            .client
            .post(format!("{}{}", self.base, path))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(ser.finish());
        self.send(req).await
    }

    /// Signs in with a token; returns the session's CSRF token.
    async fn sign_in(&mut self, token: &str) -> String {
        let form = self.get("/ui/login").await;
        assert_eq!(form.status, 200, "{}", form.text);
        let csrf = hidden(&form.text, "csrf").expect("login csrf");
        let r = self
            .post("/ui/login", &[("csrf", &csrf), ("token", token)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let page = self.get("/ui/").await;
        assert_eq!(page.status, 200, "{}", page.text);
        hidden(&page.text, "csrf").expect("session csrf")
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Values of every `<input ... name="NAME" value="...">` in a page.
fn hidden_all(html: &str, name: &str) -> Vec<String> {
    let needle = format!("name=\"{name}\" value=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            unescape(&rest[..rest.find('"').unwrap()])
        })
        .collect()
}

fn hidden(html: &str, name: &str) -> Option<String> {
    hidden_all(html, name).into_iter().next()
}

fn has_japanese(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c as u32,
            0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xFF00..=0xFFEF)
    })
}

/// The page without the language switch (the one place the other language may appear).
fn without_switch(html: &str) -> String {
    match html.find("<a class=\"lang-switch\"") {
        Some(i) => {
            let end = html[i..].find("</a>").unwrap() + i + 4;
            format!("{}{}", &html[..i], &html[end..])
        }
        None => html.to_string(),
    }
}

fn assert_self_contained(p: &Page) {
    // Values such as URLs appear as text; nothing may be fetched from elsewhere.
    let lower = p.text.to_lowercase();
    for bad in [
        "src=\"http",
        "src=\"//",
        "href=\"http",
        "href=\"//",
        "url(http",
        "url('http",
        "url(\"http",
        "url(//",
        "@import",
        "<link",
        "<script",
        "<iframe",
        "<img",
        "<object",
    ] {
        assert!(!lower.contains(bad), "{bad:?} in page:\n{}", p.text);
    }
}

#[tokio::test]
async fn sign_in_refuses_bad_tokens_and_follows_revocation() {
    let t = start().await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    let sensor = t.member("Sakura Bank", "finance", Role::Sensor);
    let mut b = Browser::new(&t, "en");

    // Pages need a session.
    let r = b.get("/ui/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/ui/login"));

    let form = b.get("/ui/login").await;
    let csrf = hidden(&form.text, "csrf").unwrap();
    let bad = b
        .post("/ui/login", &[("csrf", &csrf), ("token", "kyj_nope_nope")])
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.text.contains("not valid"));
    assert!(!b.cookies.contains_key("kyojo_session"));

    let csrf = hidden(&bad.text, "csrf").unwrap();
    let r = b
        .post("/ui/login", &[("csrf", &csrf), ("token", &sensor)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!b.cookies.contains_key("kyojo_session"));

    let csrf = hidden(&r.text, "csrf").unwrap();
    let ok = b
        .post("/ui/login", &[("csrf", &csrf), ("token", &token)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let session = ok
        .set_cookies
        .iter()
        .find(|c| c.starts_with("kyojo_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/ui"), "{session}");
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    assert!(
        !session.contains(&token),
        "the token never goes into a cookie"
    );
    let page = b.get("/ui/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Sakura Bank"));

    // Revocation takes effect at the next request.
    assert!(t.hub.revoke_token(&token).unwrap());
    let r = b.get("/ui/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/ui/login"));
}

#[tokio::test]
async fn cookies_are_secure_over_https() {
    // Behind a TLS-terminating proxy...
    let t = start().await;
    let r = t
        .client
        .get(format!("{}/ui/login", t.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = r.headers()[reqwest::header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("kyojo_login="), "{cookie}");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    // ...or by configuration, for the session cookie too.
    let t = start_with_config("secure_cookies = true\n").await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    let mut b = Browser::new(&t, "en");
    let form = b.get("/ui/login").await;
    assert!(form.set_cookies.iter().all(|c| c.ends_with("; Secure")));
    let csrf = hidden(&form.text, "csrf").unwrap();
    let ok = b
        .post("/ui/login", &[("csrf", &csrf), ("token", &token)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(ok
        .set_cookies
        .iter()
        .any(|c| c.starts_with("kyojo_session=") && c.ends_with("; Secure")));
}

#[tokio::test]
async fn sessions_survive_a_restart_and_are_stored_hashed() {
    let t = start().await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    let mut b = Browser::new(&t, "en");
    let csrf = b.sign_in(&token).await;
    let sid = b.cookies.get("kyojo_session").cloned().unwrap();
    // Neither the session id nor the token's secret is in the store.
    let secret = token.rsplit('_').next().unwrap();
    if !t.on_postgres() {
        for name in ["kyojo.sqlite", "kyojo.sqlite-wal"] {
            if let Ok(bytes) = std::fs::read(t.dir.path().join(name)) {
                let hay = String::from_utf8_lossy(&bytes);
                assert!(!hay.contains(&sid), "session id found in {name}");
                assert!(!hay.contains(secret), "token secret found in {name}");
            }
        }
    }
    // Another process on the same data (a restart, or a second node) knows it.
    let (base, _hub, _stop) = common::serve_again(t.dir.path()).await;
    b.base = base;
    let page = b.get("/ui/").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Sakura Bank"));
    assert_eq!(hidden(&page.text, "csrf").as_deref(), Some(csrf.as_str()));
    // Signing out there ends it everywhere.
    let r = b.post("/ui/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    b.base = t.base.clone();
    b.cookies.insert("kyojo_session".into(), sid);
    assert_eq!(b.get("/ui/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let t = start().await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    let mut b = Browser::new(&t, "en");
    let csrf = b.sign_in(&token).await;
    let old = b.cookies.get("kyojo_session").cloned().unwrap();
    let r = b.post("/ui/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!b.cookies.contains_key("kyojo_session"));
    // The old session id no longer works either.
    b.cookies.insert("kyojo_session".into(), old);
    assert_eq!(b.get("/ui/").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn posts_without_the_csrf_token_are_refused() {
    let t = start().await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    let mut b = Browser::new(&t, "en");

    // Sign-in form: no token, or a wrong one.
    b.get("/ui/login").await;
    let r = b.post("/ui/login", &[("token", &token)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b
        .post(
            "/ui/login",
            &[("csrf", "0".repeat(64).as_str()), ("token", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!b.cookies.contains_key("kyojo_session"));

    let csrf = b.sign_in(&token).await;
    let text = "bad: evil[.]example";
    for (path, fields) in [
        ("/ui/share", vec![("step", "extract"), ("text", text)]),
        ("/ui/search", vec![("values", "evil.example")]),
        (
            "/ui/decide",
            vec![
                ("kind", "domain"),
                ("value", "evil.example"),
                ("action", "block"),
            ],
        ),
        ("/ui/logout", vec![]),
    ] {
        let r = b.post(path, &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} without csrf");
        let mut wrong = fields.clone();
        wrong.push(("csrf", "f00d"));
        let r = b.post(path, &wrong).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with a wrong csrf");
    }
    // Still signed in, and nothing was stored.
    assert_eq!(b.get("/ui/").await.status, 200);
    assert_eq!(t.hub.store().count_reports().unwrap(), 0);
    // With the token it works.
    let r = b
        .post(
            "/ui/share",
            &[("csrf", &csrf), ("step", "extract"), ("text", text)],
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn every_page_renders_in_japanese_and_english_without_external_resources() {
    let t = start().await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    let others = [
        t.member("Hikari Telecom", "telecom", Role::Sensor),
        t.member("Tokai Gas", "gas", Role::Sensor),
        t.member("Kita Rail", "railway", Role::Sensor),
    ];
    let id = t
        .share(
            &token,
            report(
                "Phishing wave",
                "GREEN",
                json!("community"),
                json!(["evil.example", "https://login.evil.example/verify.php"]),
            ),
        )
        .await;
    let now = chrono::Utc::now().to_rfc3339();
    for s in &others {
        let r = t
            .post(
                "/api/v1/sightings",
                Some(s),
                json!({"sightings": [{"type": "domain", "value": "evil.example", "seen_at": now, "count": 5}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let pages = [
        "/ui/".to_string(),
        "/ui/?days=90".to_string(),
        "/ui/reports".to_string(),
        format!("/ui/reports/{id}"),
        "/ui/indicators/domain/evil.example".to_string(),
        "/ui/indicators/url/https%3A%2F%2Flogin.evil.example%2Fverify.php".to_string(),
        "/ui/share".to_string(),
        "/ui/search".to_string(),
        "/ui/search?q=evil.example".to_string(),
    ];
    for (accept, lang) in [("ja,en;q=0.5", "ja"), ("en-GB,en;q=0.9", "en")] {
        let mut b = Browser::new(&t, accept);
        let login = b.get("/ui/login").await;
        assert!(login.text.contains(&format!("<html lang=\"{lang}\">")));
        b.sign_in(&token).await;
        for p in &pages {
            let r = b.get(p).await;
            assert_eq!(r.status, 200, "{p}: {}", r.text);
            assert!(r.content_type.starts_with("text/html"), "{p}");
            assert!(
                r.text.contains(&format!("<html lang=\"{lang}\">")),
                "{p} in {lang}"
            );
            assert_self_contained(&r);
            let body = without_switch(&r.text);
            if lang == "en" {
                assert!(
                    !has_japanese(&body),
                    "{p}: Japanese on the English page:\n{body}"
                );
            } else {
                assert!(has_japanese(&body), "{p}");
                for english in [
                    "Dashboard",
                    "Reports",
                    "Sign out",
                    "Search for",
                    "fewer than 3",
                ] {
                    assert!(
                        !body.contains(english),
                        "{p}: {english:?} on the Japanese page"
                    );
                }
            }
        }
    }
    // Three organizations in three sectors: each sector's figure is hidden,
    // their combined figure (drawn from 3 organizations) is shown.
    let mut b = Browser::new(&t, "en");
    b.sign_in(&token).await;
    let dash = b.get("/ui/").await.text;
    assert!(dash.contains("Small groups combined"));
    assert!(dash.contains("<td class=\"num\">fewer than 3</td>"));
    assert!(dash.contains("<td class=\"num\">15</td>"), "{dash}");
    // Dates follow the locale.
    let today = chrono::Utc::now().date_naive();
    let mut b = Browser::new(&t, "ja");
    b.sign_in(&token).await;
    let ja = b.get(&format!("/ui/reports/{id}")).await.text;
    use chrono::Datelike;
    assert!(ja.contains(&format!(
        "{}年{}月{}日",
        today.year(),
        today.month(),
        today.day()
    )));
    // The switch is remembered in a cookie, over the browser's preference.
    let en = b.get("/ui/reports?lang=en").await;
    assert!(en.text.contains("<html lang=\"en\">"));
    assert!(en
        .set_cookies
        .iter()
        .any(|c| c.starts_with("kyojo_lang=en")));
    let again = b.get("/ui/").await;
    assert!(again.text.contains("<html lang=\"en\">"));
    assert!(again.text.contains(&today.format("%-d %b %Y").to_string()));
}

#[tokio::test]
async fn an_amber_report_stays_inside_its_audience() {
    let t = start().await;
    let author = t.member("Sakura Bank", "finance", Role::Analyst);
    let peer = t.member("Minato Shinkin", "finance", Role::Analyst);
    let outsider = t.member("Hikari Telecom", "telecom", Role::Analyst);
    let id = t
        .share(
            &author,
            json!({
                "title": "Amber secret campaign",
                "description": "for finance only",
                "incident_type": "phishing",
                "sector": "finance",
                "tlp": "AMBER",
                "audience": {"sectors": ["finance"]},
                "indicators": ["amber-secret.example", "198.51.100.77"],
            }),
        )
        .await;

    let mut inside = Browser::new(&t, "en");
    inside.sign_in(&peer).await;
    assert!(inside
        .get("/ui/")
        .await
        .text
        .contains("Amber secret campaign"));
    assert!(inside
        .get("/ui/reports")
        .await
        .text
        .contains("Amber secret campaign"));
    assert_eq!(inside.get(&format!("/ui/reports/{id}")).await.status, 200);
    let ind = inside
        .get("/ui/indicators/domain/amber-secret.example")
        .await;
    assert_eq!(ind.status, 200);
    assert!(ind.text.contains("Amber secret campaign"));
    assert!(ind.text.contains("198.51.100.77"), "related indicator");

    let mut outside = Browser::new(&t, "en");
    outside.sign_in(&outsider).await;
    for p in [
        "/ui/",
        "/ui/?days=90",
        "/ui/reports",
        "/ui/reports?sector=finance",
    ] {
        let r = outside.get(p).await;
        assert_eq!(r.status, 200);
        assert!(!r.text.contains("Amber secret"), "{p}");
        assert!(!r.text.contains("amber-secret.example"), "{p}");
    }
    for p in [
        format!("/ui/reports/{id}"),
        format!("/ui/reports/{id}/stix"),
        "/ui/indicators/domain/amber-secret.example".to_string(),
        "/ui/indicators/ipv4/198.51.100.77".to_string(),
    ] {
        let r = outside.get(&p).await;
        assert_eq!(r.status, 404, "{p}");
        assert!(!r.text.contains("Amber secret"), "{p}");
    }
    let s = outside.get("/ui/search?q=amber-secret.example").await;
    assert!(!s
        .text
        .contains("/ui/indicators/domain/amber-secret.example"));
    assert!(!s.text.contains("Amber secret"));
}

#[tokio::test]
async fn sharing_from_pasted_text_previews_canonical_values_and_stores_only_on_confirm() {
    let t = start().await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    let reader = t.member("Hikari Telecom", "telecom", Role::Analyst);
    let mut b = Browser::new(&t, "en");
    let csrf = b.sign_in(&token).await;
    let text = "Lure sent from alerts[@]bank-notice[.]test, landing hxxps://login.evil[.]example/verify.php, C2 203[.]0[.]113[.]9";
    let preview = b
        .post(
            "/ui/share",
            &[
                ("csrf", &csrf),
                ("step", "extract"),
                ("text", text),
                ("title", "SMS phishing"),
                ("incident_type", "phishing"),
                ("sector", "finance"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    for canonical in [
        "alerts@bank-notice.test",
        "https://login.evil.example/verify.php",
        "203.0.113.9",
    ] {
        assert!(preview.text.contains(canonical), "{canonical} in preview");
    }
    assert!(preview.text.contains("type=\"checkbox\""));
    assert!(preview.text.contains("TLP:AMBER+STRICT"));
    assert_eq!(
        t.hub.store().count_reports().unwrap(),
        0,
        "nothing stored yet"
    );

    // Confirm with all but the e-mail address.
    let cands = hidden_all(&preview.text, "cand");
    assert_eq!(cands.len(), 3, "{cands:?}");
    let inds: Vec<String> = cands
        .iter()
        .map(|c| c.rsplit_once('\t').unwrap().0.to_string())
        .filter(|k| !k.starts_with("email"))
        .collect();
    let mut fields: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("step", "confirm"),
        ("title", "SMS phishing"),
        ("incident_type", "phishing"),
        ("sector", "finance"),
        ("description", "lures by SMS"),
        ("tlp", "GREEN"),
        ("audience", "community"),
    ];
    for c in &cands {
        fields.push(("cand", c));
    }
    for i in &inds {
        fields.push(("ind", i));
    }
    let done = b.post("/ui/share", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let loc = done.location.unwrap();
    assert!(loc.starts_with("/ui/reports/"), "{loc}");
    assert_eq!(t.hub.store().count_reports().unwrap(), 1);
    let page = b.get(&loc).await;
    assert!(page.text.contains("SMS phishing"));
    assert!(page.text.contains("https://login.evil.example/verify.php"));
    assert!(
        !page.text.contains("alerts@bank-notice.test"),
        "unchecked one left out"
    );

    // Another member finds it.
    let mut other = Browser::new(&t, "en");
    other.sign_in(&reader).await;
    assert!(other.get("/ui/reports").await.text.contains("SMS phishing"));
    let s = other
        .get("/ui/search?q=hxxps%3A%2F%2Flogin.evil%5B.%5Dexample%2Fverify.php")
        .await;
    assert!(s.text.contains("/ui/indicators/url/"), "{}", s.text);

    // TLP:RED without named organizations is refused, nothing stored.
    let mut red = fields.clone();
    for f in red.iter_mut() {
        if f.0 == "tlp" {
            f.1 = "RED";
        }
    }
    let r = b.post("/ui/share", &red).await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("TLP:RED needs"));
    assert_eq!(t.hub.store().count_reports().unwrap(), 1);
}

#[tokio::test]
async fn hostile_values_are_escaped() {
    let t = start().await;
    let token = t.member("Sakura <b>Bank</b>", "finance", Role::Analyst);
    let id = t
        .share(
            &token,
            json!({
                "title": "<script>alert(1)</script>",
                "description": "\"><img src=x onerror=alert(2)>",
                "incident_type": "phishing",
                "tlp": "GREEN",
                "audience": "community",
                "indicators": ["https://evil.example/<script>x</script>?a=\"b\""],
            }),
        )
        .await;
    let mut b = Browser::new(&t, "en");
    b.sign_in(&token).await;
    for p in [
        "/ui/".to_string(),
        "/ui/reports".to_string(),
        format!("/ui/reports/{id}"),
        "/ui/search?q=%3Cscript%3Ealert(3)%3C%2Fscript%3E".to_string(),
        "/ui/reports?since=%22%3E%3Cscript%3E".to_string(),
    ] {
        let r = b.get(&p).await;
        assert!(!r.text.contains("<script"), "{p}:\n{}", r.text);
        assert!(!r.text.contains("<img"), "{p}");
        assert!(!r.text.contains("<b>Bank"), "{p}");
    }
    let r = b.get(&format!("/ui/reports/{id}")).await;
    assert!(r.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(r.text.contains("&quot;&gt;&lt;img src=x"));
    let ind = r
        .text
        .split("href=\"/ui/indicators/url/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let p = b.get(&format!("/ui/indicators/url/{ind}")).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(!p.text.contains("<script"));
}

#[tokio::test]
async fn analysts_block_and_unset_from_the_indicator_page() {
    let t = start().await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    t.share(
        &token,
        report(
            "Phish",
            "GREEN",
            json!("community"),
            json!(["block-me.example", "192.0.2.10"]),
        ),
    )
    .await;
    let mut b = Browser::new(&t, "en");
    let csrf = b.sign_in(&token).await;
    let page = b.get("/ui/indicators/domain/block-me.example").await;
    assert!(page.text.contains("action=\"/ui/decide\""));
    let r = b
        .post(
            "/ui/decide",
            &[
                ("csrf", &csrf),
                ("kind", "domain"),
                ("value", "block-me.example"),
                ("action", "block"),
                ("comment", "phishing kit"),
                ("expires", "2099-12-31"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = b.get("/ui/indicators/domain/block-me.example").await;
    assert!(page.text.contains("Yes: in block feeds"), "{}", page.text);
    assert!(page
        .text
        .contains("blocked by your organization: phishing kit"));
    assert!(page.text.contains("31 Dec 2099"));
    let feed = t.get("/api/v1/feeds/domains.txt", Some(&token)).await;
    assert!(feed.text.contains("block-me.example"));

    // Allow-listed values cannot be blocked; the page says why.
    let r = b
        .post(
            "/ui/decide",
            &[
                ("csrf", &csrf),
                ("kind", "ipv4"),
                ("value", "192.0.2.10"),
                ("action", "block"),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("cannot be blocked"));

    let r = b
        .post(
            "/ui/decide",
            &[
                ("csrf", &csrf),
                ("kind", "domain"),
                ("value", "block-me.example"),
                ("action", "unset"),
                ("comment", "withdrawn"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = b.get("/ui/indicators/domain/block-me.example").await;
    assert!(!page.text.contains("Yes: in block feeds"));
}

#[tokio::test]
async fn stix_and_csv_downloads() {
    let t = start().await;
    let token = t.member("Sakura Bank", "finance", Role::Analyst);
    let id = t
        .share(
            &token,
            report(
                "Phish",
                "GREEN",
                json!("community"),
                json!(["evil.example"]),
            ),
        )
        .await;
    let mut b = Browser::new(&t, "en");
    let csrf = b.sign_in(&token).await;
    let stix = b.get(&format!("/ui/reports/{id}/stix")).await;
    assert_eq!(stix.status, 200);
    let bundle: serde_json::Value = serde_json::from_str(&stix.text).unwrap();
    assert_eq!(bundle["type"], "bundle");

    let csv = b
        .post(
            "/ui/search",
            &[
                ("csrf", &csrf),
                (
                    "values",
                    "a.b.evil[.]example\nclean.example\nnot a value\n=cmd|x",
                ),
                ("format", "csv"),
            ],
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 5, "{}", csv.text);
    assert!(lines[1].contains("\"evil.example\"") && lines[1].contains("parent_domain"));
    assert!(
        lines[4].starts_with("\"'=cmd"),
        "formula defused: {}",
        lines[4]
    );

    let html = b
        .post(
            "/ui/search",
            &[
                ("csrf", &csrf),
                ("values", "a.b.evil[.]example\nclean.example"),
                ("format", "html"),
            ],
        )
        .await;
    assert_eq!(html.status, 200);
    assert!(html.text.contains("1 of 2 matched"));
}

// ---- the Admin section ----------------------------------------------------------------------

const ADMIN_PAGES: [&str; 5] = [
    "/ui/admin/orgs",
    "/ui/admin/sectors",
    "/ui/admin/tokens",
    "/ui/admin/allowlist",
    "/ui/admin/audit",
];

/// The token shown once on the page after creating it.
fn new_token(html: &str) -> String {
    let i = html
        .find("id=\"new-token\"")
        .expect("the new token is shown");
    let rest = &html[i..];
    let v = rest.find("value=\"").unwrap() + "value=\"".len();
    let token = &rest[v..v + rest[v..].find('"').unwrap()];
    assert!(token.starts_with("kyj_"), "{token}");
    token.to_string()
}

/// The audit log through the API, newest first, as (actor, action, detail).
async fn api_audit(t: &TestHub, admin: &str) -> Vec<(String, String, String)> {
    let r = t.get("/api/v1/audit", Some(admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["at"].is_string());
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn admins_manage_organizations_tokens_and_the_allow_list_with_an_audit_trail() {
    let t = start().await;
    let admin = t.member("Hub Operator", "general", Role::Admin);
    let mut b = Browser::new(&t, "en");
    let csrf = b.sign_in(&admin).await;
    let dash = b.get("/ui/").await;
    assert!(dash.text.contains("<a href=\"/ui/admin\">Admin</a>"));
    let r = b.get("/ui/admin").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/ui/admin/orgs"));

    // Organizations: add one; a duplicate and an unknown sector are refused on the page.
    let r = b.get("/ui/admin/orgs").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r
        .text
        .contains("<option value=\"railway\">Railway (railway)</option>"));
    let r = b
        .post(
            "/ui/admin/orgs",
            &[
                ("csrf", &csrf),
                ("name", " Kita Rail "),
                ("sector", "railway"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Added the organization"), "{}", r.text);
    assert!(r
        .text
        .contains("<th scope=\"row\">Kita Rail</th><td>Railway"));
    assert_eq!(
        t.hub.org_by_name("Kita Rail").unwrap().unwrap().sector,
        "railway"
    );
    let r = b
        .post(
            "/ui/admin/orgs",
            &[
                ("csrf", &csrf),
                ("name", "Kita Rail"),
                ("sector", "finance"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text.contains("role=\"alert\""));
    assert!(r.text.contains("already exists"), "{}", r.text);
    let r = b
        .post(
            "/ui/admin/orgs",
            &[("csrf", &csrf), ("name", "Moon Base"), ("sector", "moon")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("unknown sector"), "{}", r.text);
    // The form keeps what was typed.
    assert!(r.text.contains("value=\"Moon Base\""));
    assert!(t.hub.org_by_name("Moon Base").unwrap().is_none());

    // Tokens: create one, shown once, that works against the API.
    let r = b
        .post(
            "/ui/admin/tokens",
            &[
                ("csrf", &csrf),
                ("org", "Kita Rail"),
                ("role", "analyst"),
                ("label", "SOC desk"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("cannot be shown again"));
    let token = new_token(&r.text);
    let public_id = token.split('_').nth(1).unwrap().to_string();
    let me = t.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["organization"], "Kita Rail");
    assert_eq!(me.body["role"], "analyst");
    let list = b.get("/ui/admin/tokens").await;
    assert!(list.text.contains(&format!("<code>{public_id}</code>")));
    assert!(list.text.contains("SOC desk"));
    assert!(
        !list.text.contains(&token),
        "the secret is never shown again"
    );
    assert!(!list.text.contains("id=\"new-token\""));
    // An unknown organization or role is refused.
    let r = b
        .post(
            "/ui/admin/tokens",
            &[("csrf", &csrf), ("org", "Nobody"), ("role", "analyst")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.text.contains("id=\"new-token\""));
    let r = b
        .post(
            "/ui/admin/tokens",
            &[("csrf", &csrf), ("org", "Kita Rail"), ("role", "root")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("role must be"));

    // Revoke it: the API refuses it at once; a second revocation finds nothing live.
    let r = b
        .post(
            "/ui/admin/tokens/revoke",
            &[("csrf", &csrf), ("id", &public_id)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains(&format!("Revoked the token {public_id}")));
    assert!(r.text.contains("Revoked ("));
    assert_eq!(t.get("/api/v1/me", Some(&token)).await.status, 401);
    let r = b
        .post(
            "/ui/admin/tokens/revoke",
            &[("csrf", &csrf), ("id", &public_id)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The allow list: add (defanged, detected), then remove.
    let r = b
        .post(
            "/ui/admin/allowlist",
            &[
                ("csrf", &csrf),
                ("type", ""),
                ("value", "cdn.safe[.]example"),
                ("comment", "our CDN"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("<code>cdn.safe.example</code>"));
    assert!(r.text.contains("our CDN"));
    // The false-positive lists the hub applies are listed beside it.
    assert!(
        r.text.contains("List of known sinkholes") && r.text.contains("<code>public-dns-v4</code>"),
        "{}",
        r.text
    );
    let viewer = t.hub.authenticate(&admin).unwrap().0;
    assert_eq!(t.hub.allow_list(&viewer).unwrap().len(), 1);
    let r = b
        .post(
            "/ui/admin/allowlist",
            &[
                ("csrf", &csrf),
                ("type", "ipv4"),
                ("value", "not an address"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = b
        .post(
            "/ui/admin/allowlist/remove",
            &[
                ("csrf", &csrf),
                ("type", "domain"),
                ("value", "cdn.safe.example"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Removed Domain cdn.safe.example"));
    assert!(t.hub.allow_list(&viewer).unwrap().is_empty());
    let r = b
        .post(
            "/ui/admin/allowlist/remove",
            &[
                ("csrf", &csrf),
                ("type", "domain"),
                ("value", "cdn.safe.example"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Every action, and only the ones that succeeded, is in the audit log, newest first.
    let expected = [
        ("allowlist.remove", "domain cdn.safe.example".to_string()),
        ("allowlist.add", "domain cdn.safe.example".to_string()),
        ("token.revoke", public_id.clone()),
        (
            "token.create",
            format!("analyst token {public_id} for Kita Rail"),
        ),
        ("org.add", "Kita Rail (railway)".to_string()),
    ];
    let api = api_audit(&t, &admin).await;
    assert_eq!(api.len(), expected.len(), "{api:?}");
    for ((actor, action, detail), (want_action, want_detail)) in api.iter().zip(&expected) {
        assert_eq!(actor, "Hub Operator");
        assert_eq!(action, want_action);
        assert_eq!(detail, want_detail);
    }
    let page = b.get("/ui/admin/audit").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let mut last = 0;
    for (action, detail) in &expected {
        let at = page
            .text
            .find(&format!(
                "<code class=\"small\">{action}</code></td><td class=\"mono\">{detail}</td>"
            ))
            .unwrap_or_else(|| panic!("{action} {detail} in\n{}", page.text));
        assert!(at > last, "newest first: {action}");
        last = at;
    }
    assert!(page.text.contains("<td>Hub Operator</td>"));
}

#[tokio::test]
async fn admin_errors_are_shown_in_japanese() {
    let t = start().await;
    let admin = t.member("Hub Operator", "general", Role::Admin);
    let mut b = Browser::new(&t, "ja");
    let csrf = b.sign_in(&admin).await;
    let r = b
        .post(
            "/ui/admin/orgs",
            &[
                ("csrf", &csrf),
                ("name", "Hub Operator"),
                ("sector", "general"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text.contains("同じ名前の組織がすでに登録されています。"));
    assert!(!r.text.contains("already exists"));
    let r = b
        .post(
            "/ui/admin/orgs",
            &[("csrf", &csrf), ("name", "Moon Base"), ("sector", "moon")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("登録されていない分野です"));
    assert!(!r.text.contains("unknown sector"));
    let r = b
        .post(
            "/ui/admin/tokens",
            &[("csrf", &csrf), ("org", "Hub Operator"), ("role", "sensor")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("二度と表示できません"));
    new_token(&r.text);
    let r = b
        .post(
            "/ui/admin/tokens/revoke",
            &[("csrf", &csrf), ("id", "0000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.contains("有効なトークンが見つかりません"));
    let r = b.get("/ui/admin/audit").await;
    assert!(r
        .text
        .contains("トークンの発行 <code class=\"small\">token.create</code>"));
}

#[tokio::test]
async fn analysts_get_403_on_every_admin_page_and_see_no_admin_link() {
    let t = start().await;
    let analyst = t.member("Sakura Bank", "finance", Role::Analyst);
    let admin = t.member("Hub Operator", "general", Role::Admin);
    let (_, other) = t
        .hub
        .create_token("Sakura Bank", Role::Sensor, None)
        .unwrap();
    let other_id = other.split('_').nth(1).unwrap().to_string();

    // Without a session: the sign-in page.
    let mut anon = Browser::new(&t, "en");
    for p in ADMIN_PAGES {
        let r = anon.get(p).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{p}");
        assert_eq!(r.location.as_deref(), Some("/ui/login"));
    }

    for lang in ["en", "ja"] {
        let mut b = Browser::new(&t, lang);
        let csrf = b.sign_in(&analyst).await;
        let dash = b.get("/ui/").await;
        assert!(
            !dash.text.contains("/ui/admin"),
            "no Admin link for analysts"
        );
        for p in ADMIN_PAGES.iter().chain(&["/ui/admin"]) {
            let r = b.get(p).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{p}");
            assert!(r.text.contains(&format!("<html lang=\"{lang}\">")));
        }
        for (path, fields) in [
            (
                "/ui/admin/orgs",
                vec![("name", "Evil Corp"), ("sector", "finance")],
            ),
            (
                "/ui/admin/tokens",
                vec![("org", "Sakura Bank"), ("role", "admin")],
            ),
            ("/ui/admin/tokens/revoke", vec![("id", other_id.as_str())]),
            (
                "/ui/admin/allowlist",
                vec![("type", "domain"), ("value", "evil.example")],
            ),
            (
                "/ui/admin/allowlist/remove",
                vec![("type", "domain"), ("value", "evil.example")],
            ),
        ] {
            let mut with = fields.clone();
            with.push(("csrf", &csrf));
            let r = b.post(path, &with).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert!(!r.text.contains("kyj_"), "{path}");
        }
    }
    // Nothing changed.
    assert!(t.hub.org_by_name("Evil Corp").unwrap().is_none());
    assert_eq!(t.hub.store().list_tokens().unwrap().len(), 3);
    assert!(t.hub.authenticate(&other).is_ok());
    assert!(api_audit(&t, &admin).await.is_empty());
}

#[tokio::test]
async fn admin_forms_need_the_csrf_token() {
    let t = start().await;
    let admin = t.member("Hub Operator", "general", Role::Admin);
    let (_, other) = t
        .hub
        .create_token("Hub Operator", Role::Sensor, None)
        .unwrap();
    let other_id = other.split('_').nth(1).unwrap().to_string();
    let mut b = Browser::new(&t, "en");
    b.sign_in(&admin).await;
    for (path, fields) in [
        (
            "/ui/admin/orgs",
            vec![("name", "Evil Corp"), ("sector", "finance")],
        ),
        (
            "/ui/admin/tokens",
            vec![("org", "Hub Operator"), ("role", "admin")],
        ),
        ("/ui/admin/tokens/revoke", vec![("id", other_id.as_str())]),
        (
            "/ui/admin/allowlist",
            vec![("type", "domain"), ("value", "evil.example")],
        ),
        (
            "/ui/admin/allowlist/remove",
            vec![("type", "domain"), ("value", "evil.example")],
        ),
    ] {
        let r = b.post(path, &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} without csrf");
        let mut wrong = fields.clone();
        wrong.push(("csrf", "f00d"));
        let r = b.post(path, &wrong).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with a wrong csrf");
        assert!(!r.text.contains("kyj_"), "{path}");
    }
    assert!(t.hub.org_by_name("Evil Corp").unwrap().is_none());
    assert_eq!(t.hub.store().list_tokens().unwrap().len(), 2);
    assert!(t.hub.authenticate(&other).is_ok());
    assert!(api_audit(&t, &admin).await.is_empty());
    // Still signed in.
    assert_eq!(b.get("/ui/admin/orgs").await.status, 200);
}

#[tokio::test]
async fn admin_pages_render_in_japanese_and_english() {
    let t = start().await;
    let admin = t.member("Hub Operator", "general", Role::Admin);
    t.member("Sakura Bank", "finance", Role::Analyst);
    let (rec, _) = t
        .hub
        .create_token("Sakura Bank", Role::Sensor, Some("edge dns"))
        .unwrap();
    t.hub.revoke_token(&rec.public_id).unwrap();
    let mut b = Browser::new(&t, "en");
    let csrf = b.sign_in(&admin).await;
    b.post(
        "/ui/admin/allowlist",
        &[
            ("csrf", &csrf),
            ("value", "cdn.safe.example"),
            ("comment", "CDN"),
        ],
    )
    .await;
    b.post(
        "/ui/admin/orgs",
        &[("csrf", &csrf), ("name", "Tokai Gas"), ("sector", "gas")],
    )
    .await;

    for (accept, lang) in [("ja,en;q=0.5", "ja"), ("en-GB,en;q=0.9", "en")] {
        let mut b = Browser::new(&t, accept);
        b.sign_in(&admin).await;
        for p in ADMIN_PAGES {
            let r = b.get(p).await;
            assert_eq!(r.status, 200, "{p}: {}", r.text);
            assert!(
                r.text.contains(&format!("<html lang=\"{lang}\">")),
                "{p} in {lang}"
            );
            assert!(r
                .text
                .contains(&format!("<a href=\"{p}\" aria-current=\"page\">")));
            assert_self_contained(&r);
            // Every input has a label.
            for id in r.text.split("<input type=\"text\" id=\"").skip(1) {
                let id = &id[..id.find('"').unwrap()];
                assert!(
                    r.text.contains(&format!("<label for=\"{id}\">")),
                    "{p}: {id}"
                );
            }
            let mut body = without_switch(&r.text);
            // The sector list names each sector in both languages, marked as such.
            while let Some(i) = body.find("<td lang=\"ja\">") {
                let end = body[i..].find("</td>").unwrap() + i;
                body.replace_range(i..end, "");
            }
            if lang == "en" {
                assert!(
                    !has_japanese(&body),
                    "{p}: Japanese on the English page:\n{body}"
                );
            } else {
                assert!(has_japanese(&body), "{p}");
                for english in [
                    "Dashboard",
                    "Sign out",
                    "Organizations",
                    "Tokens",
                    "Allow list",
                    "Audit log",
                    "Revoke",
                    "Remove",
                    "Live",
                    "Create",
                ] {
                    assert!(
                        !body.contains(english),
                        "{p}: {english:?} on the Japanese page"
                    );
                }
            }
        }
    }
    let mut b = Browser::new(&t, "ja");
    b.sign_in(&admin).await;
    let sectors = b.get("/ui/admin/sectors").await.text;
    assert!(sectors.contains("kyojo.toml"));
    assert!(sectors.contains("<td lang=\"en\">Finance</td><td lang=\"ja\">金融</td>"));
    let orgs = b.get("/ui/admin/orgs").await.text;
    assert!(orgs.contains("<th scope=\"row\">Tokai Gas</th><td>ガス"));
    let tokens = b.get("/ui/admin/tokens").await.text;
    assert!(tokens.contains("失効（"));
    assert!(tokens.contains("edge dns"));
    assert!(tokens.contains("センサー"));
    let en = b.get("/ui/admin/tokens?lang=en").await.text;
    assert!(en.contains("Revoked ("));
    assert!(en.contains("<span class=\"ok\">Live</span>"));
}

#[tokio::test]
async fn hostile_organization_names_are_escaped_on_admin_pages() {
    let t = start().await;
    let admin = t.member("Hub Operator", "general", Role::Admin);
    let mut b = Browser::new(&t, "en");
    let csrf = b.sign_in(&admin).await;
    let evil = "<script>alert(1)</script>\"><img src=x>";
    let r = b
        .post(
            "/ui/admin/orgs",
            &[("csrf", &csrf), ("name", evil), ("sector", "finance")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = b
        .post(
            "/ui/admin/tokens",
            &[
                ("csrf", &csrf),
                ("org", evil),
                ("role", "analyst"),
                ("label", "<b>label</b>"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    new_token(&r.text);
    b.post(
        "/ui/admin/allowlist",
        &[
            ("csrf", &csrf),
            ("value", "ok.example"),
            ("comment", "<script>x</script>"),
        ],
    )
    .await;
    // A duplicate's error message quotes the name.
    let dup = b
        .post(
            "/ui/admin/orgs",
            &[("csrf", &csrf), ("name", evil), ("sector", "finance")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let mut pages = vec![dup];
    for p in ADMIN_PAGES {
        pages.push(b.get(p).await);
    }
    for r in &pages {
        assert!(!r.text.contains("<script"), "{}", r.text);
        assert!(!r.text.contains("<img"), "{}", r.text);
        assert!(!r.text.contains("<b>label"), "{}", r.text);
    }
    let orgs = b.get("/ui/admin/orgs").await.text;
    assert!(orgs.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x&gt;"));
}

#[tokio::test]
async fn the_indicator_page_never_names_who_decided() {
    let t = start().await;
    let author = t.member("Secret Bank", "finance", Role::Analyst);
    let other = t.member("Other Bank", "finance", Role::Analyst);
    let mut body = report(
        "anon",
        "GREEN",
        json!("community"),
        json!(["anon-decided.example"]),
    );
    body["anonymous"] = json!(true);
    t.share(&author, body).await;
    let r = t
        .post(
            "/api/v1/indicators/domain/anon-decided.example/decision",
            Some(&author),
            json!({"action": "block", "comment": "ours"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for (token, sees_own) in [(&other, false), (&author, true)] {
        for lang in ["en", "ja"] {
            let mut b = Browser::new(&t, lang);
            b.sign_in(token).await;
            let page = b.get("/ui/indicators/domain/anon-decided.example").await;
            assert_eq!(page.status, 200, "{}", page.text);
            // The header shows the signed-in organization's own name; the
            // decision history never shows any.
            let history = page
                .text
                .split("id=\"h-decide\"")
                .nth(1)
                .unwrap_or_default()
                .split("</section>")
                .next()
                .unwrap_or_default();
            assert!(!history.contains("Secret Bank"), "{lang}: {history}");
            assert_eq!(history.contains("ours"), sees_own, "{lang}: {history}");
        }
    }
}

#[tokio::test]
async fn the_root_leads_browsers_to_sign_in_and_machines_to_the_api() {
    let t = start().await;
    // A browser: `/` → `/ui/` → the sign-in page, in its language.
    for (lang, heading) in [("ja", "サインイン"), ("en", "Sign in")] {
        let mut b = Browser::new(&t, lang);
        let first = b.get("/").await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text);
        assert_eq!(first.location.as_deref(), Some("/ui/"));
        let ui = b.get("/ui/").await;
        assert_eq!(ui.status, StatusCode::SEE_OTHER);
        let login = b.get(ui.location.as_deref().expect("to sign-in")).await;
        assert_eq!(login.status, StatusCode::OK);
        assert!(login.text.contains(heading), "{lang}: {}", login.text);
    }
    // A machine: a JSON map of the interfaces, not a 404.
    let r = t.get("/", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["api"], "/api/v1");
    assert_eq!(r.body["openapi"], "/api/v1/openapi.json");
}
