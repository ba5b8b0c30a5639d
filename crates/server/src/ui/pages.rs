//! The pages. Each handler gathers its figures through Hub methods on the
//! blocking pool and renders HTML; every value from the store or the user is
//! escaped on the way out.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use kyojo_core::extract::extract;
use kyojo_core::observable::{canonicalize, detect};
use kyojo_core::policy::OrgId;
use kyojo_core::report::{limits, IncidentType};
use kyojo_core::{Audience, Count, Kind, Observable, Role, Tlp, Viewer};
use kyojo_store::{day_of, Day, ReportRecord};

use super::chart::{self, Stacked, GREY, PALETTE};
use super::context::{
    indicator_href, open_session, same_secret, see_other, set_html_headers, Form, Ui, User,
    LOGIN_COOKIE, SESSION_COOKIE,
};
use super::text::{self, count, date, datetime, day_long, day_short, tr};
use crate::api::parse_time;
use crate::error::{ApiError, ApiResult};
use crate::runtime::blocking;
use crate::warn::{escape_html as h, Lang};
use crate::AppState;
use kyojo_hub::hub::{author, now_millis, Draft, Hub, IndicatorFilter, RawDraft, ReportFilter};

fn report_id(uid: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*uid).to_string()
}

fn parse_uid(id: &str) -> ApiResult<[u8; 16]> {
    uuid::Uuid::parse_str(id)
        .map(|u| *u.as_bytes())
        .map_err(|_| ApiError::not_found("report"))
}

fn tlp_badge(tlp: Tlp) -> String {
    format!(
        "<span class=\"tlp tlp-{}\">TLP:{}</span>",
        tlp.as_str().replace('+', ""),
        tlp.as_str()
    )
}

/// Signed-in member, or a redirect to the sign-in page.
#[allow(clippy::result_large_err)]
pub(super) fn need_user(ui: &Ui) -> Result<User, Response> {
    ui.user.clone().ok_or_else(|| see_other("/ui/login"))
}

pub(super) fn forbidden_csrf(ui: &Ui, hub: &Hub) -> Response {
    let e = ApiError::forbidden(
        "the form has expired or did not come from this site; reload the page and try again",
    );
    let mut r = ui.error(hub, &e);
    *r.status_mut() = StatusCode::FORBIDDEN;
    r
}

/// Runs page work on the blocking pool; errors become an error page.
async fn run<T: Send + 'static>(
    ui: &Ui,
    hub: &Arc<Hub>,
    f: impl FnOnce(&Hub) -> ApiResult<T> + Send + 'static,
) -> Result<T, Response> {
    let h2 = hub.clone();
    blocking(move || f(&h2))
        .await
        .map_err(|e| ui.error(hub, &e))
}

// ---- sign-in ---------------------------------------------------------------------------

pub async fn to_dashboard() -> Response {
    see_other("/ui/")
}

fn login_page(ui: &Ui, hub: &Hub, csrf: &str, error: Option<&str>, status: StatusCode) -> Response {
    let mut main = format!("<h1>{}</h1>\n", ui.t("Sign in", "サインイン"));
    if let Some(e) = error {
        main.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>\n", h(e)));
    }
    main.push_str(&format!(
        "<section class=\"card\"><form class=\"stack\" method=\"post\" action=\"/ui/login\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<label for=\"token\">{}</label>\
<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required aria-describedby=\"token-hint\">\
<p id=\"token-hint\" class=\"muted small\">{}</p>\
<button class=\"primary\" type=\"submit\">{}</button></form></section>",
        h(csrf),
        ui.t("Access token", "アクセストークン"),
        ui.t(
            "Paste the token your hub administrator gave you (it starts with kyj_). It is kept only on the server for this session, never in your browser.",
            "ハブの管理者から受け取ったトークン（kyj_ で始まる文字列）を貼り付けてください。トークンはこのセッションの間サーバーにだけ保持され、ブラウザーには保存されません。"
        ),
        ui.t("Sign in", "サインイン"),
    ));
    let mut resp = ui.page(hub, status, ui.t("Sign in", "サインイン"), &main);
    ui.set_cookie(&mut resp, LOGIN_COOKIE, csrf, Some(3600));
    resp
}

fn login_csrf(ui: &Ui) -> String {
    ui.cookies
        .get(LOGIN_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .cloned()
        .unwrap_or_else(kyojo_hub::tokens::random_hex)
}

pub async fn login_form(State(state): State<AppState>, ui: Ui) -> Response {
    if ui.user.is_some() {
        return see_other("/ui/");
    }
    let csrf = login_csrf(&ui);
    login_page(&ui, &state.hub, &csrf, None, StatusCode::OK)
}

pub async fn login(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let cookie = ui.cookies.get(LOGIN_COOKIE).cloned().unwrap_or_default();
    let given = form.str("csrf");
    if cookie.is_empty() || !same_secret(&cookie, given) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let token = form.str("token").trim().to_string();
    let hub = state.hub.clone();
    let t2 = token.clone();
    let result = blocking(move || hub.authenticate(&t2)).await;
    let fresh = kyojo_hub::tokens::random_hex();
    match result {
        Err(_) => login_page(
            &ui,
            &state.hub,
            &fresh,
            Some(ui.t(
                "That token is not valid or has been revoked.",
                "このトークンは無効か、失効しています。",
            )),
            StatusCode::UNAUTHORIZED,
        ),
        Ok((_, rec)) if !matches!(rec.role, Role::Admin | Role::Curator | Role::Analyst) => login_page(
            &ui,
            &state.hub,
            &fresh,
            Some(ui.t(
                "Only analyst and administrator tokens can sign in to the web interface; sensor and consumer tokens are for machines.",
                "Webインターフェースにサインインできるのはアナリストと管理者のトークンだけです。センサー用・利用システム用のトークンは機械向けです。",
            )),
            StatusCode::FORBIDDEN,
        ),
        Ok((_, rec)) => {
            let hub = state.hub.clone();
            let (sid, _) = match blocking(move || open_session(&hub, &rec)).await {
                Ok(s) => s,
                Err(e) => return ui.error(&state.hub, &e),
            };
            let mut resp = see_other("/ui/");
            ui.set_cookie(&mut resp, SESSION_COOKIE, &sid, None);
            ui.set_cookie(&mut resp, LOGIN_COOKIE, "", Some(0));
            resp
        }
    }
}

pub async fn logout(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let Some(user) = &ui.user else {
        return see_other("/ui/login");
    };
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let (hub, sid) = (state.hub.clone(), user.sid.clone());
    if let Err(e) = blocking(move || super::context::close_session(&hub, &sid)).await {
        return ui.error(&state.hub, &e);
    }
    let mut resp = see_other("/ui/login");
    ui.set_cookie(&mut resp, SESSION_COOKIE, "", Some(0));
    resp
}

// ---- the dashboard ------------------------------------------------------------------------

fn dashboard_main(
    hub: &Hub,
    picture: &kyojo_hub::orient::Picture,
    lang: Lang,
    user: &User,
    span: i64,
) -> ApiResult<String> {
    let viewer = &user.viewer;
    let now = now_millis();
    let today = day_of(now);
    let first_day = today - (span - 1);
    let days: Vec<Day> = (first_day..=today).collect();

    // This viewer's share of the community picture: every figure already
    // under the rules (see kyojo_hub::orient).
    let cut = hub.cut(picture, viewer, span);
    let gated = &cut.cells;
    let combined = &cut.combined;
    let mut sector_totals: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, s), c) in gated {
        *sector_totals.entry(s.clone()).or_default() += c.exact().unwrap_or(0);
    }
    let mut sectors: Vec<(String, u64)> = sector_totals.into_iter().collect();
    sectors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = sectors
        .iter()
        .filter(|s| s.1 > 0)
        .take(7)
        .map(|s| s.0.clone())
        .collect();
    let mut series: Vec<(String, &str)> = shown
        .iter()
        .enumerate()
        .map(|(i, s)| (text::sector_name(hub, lang, s), PALETTE[i]))
        .collect();
    series.push((
        tr(
            lang,
            "Other sectors and small groups, combined",
            "その他の分野・少数組織の合算",
        )
        .to_string(),
        GREY,
    ));
    let mut values = Vec::new();
    let mut suppressed = Vec::new();
    for d in &days {
        let mut v = vec![0u64; series.len()];
        for ((_, s), c) in gated.range((*d, String::new())..(*d + 1, String::new())) {
            if let Some(n) = c.exact() {
                let i = shown
                    .iter()
                    .position(|x| x == s)
                    .unwrap_or(series.len() - 1);
                v[i] += n;
            }
        }
        let pool = combined.get(d);
        if let Some(n) = pool.and_then(|c| c.exact()) {
            v[series.len() - 1] += n;
        }
        values.push(v);
        suppressed.push(pool.is_some_and(|c| c.exact().is_none()));
    }
    let x_labels: Vec<String> = days.iter().map(|d| day_short(lang, *d)).collect();
    let every = if span > 30 { 14 } else { 5 };
    let title1 = match lang {
        Lang::Ja => format!("過去{span}日間の日別観測件数（分野別の積み上げ）"),
        Lang::En => format!("Sightings per day, last {span} days, stacked by sector"),
    };
    let svg1 = chart::stacked(&Stacked {
        title: &title1,
        x_axis: tr(lang, "Day (UTC)", "日付（UTC）"),
        y_axis: tr(lang, "Sightings", "観測件数"),
        x_labels: &x_labels,
        label_every: every,
        series: &series,
        values: &values,
        suppressed: &suppressed,
    });
    let legend1 = chart::legend(
        &series,
        Some(tr(
            lang,
            "some figures hidden: fewer than 3 organizations",
            "一部非表示：3組織未満",
        )),
    );
    // The table behind the chart: every sector with data, per day.
    let table_sectors: Vec<&String> = sectors.iter().map(|s| &s.0).collect();
    let mut t1 = format!(
        "<table><caption class=\"muted small\">{}</caption><thead><tr><th scope=\"col\">{}</th>",
        h(&title1),
        tr(lang, "Day", "日付")
    );
    for s in &table_sectors {
        t1.push_str(&format!(
            "<th scope=\"col\" class=\"num\">{}</th>",
            h(&text::sector_name(hub, lang, s))
        ));
    }
    t1.push_str(&format!(
        "<th scope=\"col\" class=\"num\">{}</th></tr></thead><tbody>",
        tr(lang, "Small groups combined", "少数組織の合算")
    ));
    for d in days.iter().rev() {
        t1.push_str(&format!(
            "<tr><th scope=\"row\">{}</th>",
            day_long(lang, *d)
        ));
        for s in &table_sectors {
            let cell = gated
                .get(&(*d, (*s).clone()))
                .map(|c| count(lang, *c))
                .unwrap_or_else(|| "0".to_string());
            t1.push_str(&format!("<td class=\"num\">{}</td>", h(&cell)));
        }
        let pool = combined
            .get(d)
            .map(|c| count(lang, *c))
            .unwrap_or_else(|| "0".to_string());
        t1.push_str(&format!("<td class=\"num\">{}</td></tr>", h(&pool)));
    }
    t1.push_str("</tbody></table>");

    let new_by = &cut.new_by;
    let top = &cut.top;
    let kinds: Vec<Kind> = Kind::ALL.to_vec();
    let kseries: Vec<(String, &str)> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| (text::kind_name(lang, *k).to_string(), PALETTE[i % 8]))
        .collect();
    let kvalues: Vec<Vec<u64>> = days
        .iter()
        .map(|d| {
            kinds
                .iter()
                .map(|k| new_by.get(&(*d, *k)).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    let title2 = match lang {
        Lang::Ja => format!("過去{span}日間に新たに見つかった指標（種類別）"),
        Lang::En => format!("New indicators per day by kind, last {span} days"),
    };
    let svg2 = chart::stacked(&Stacked {
        title: &title2,
        x_axis: tr(lang, "Day first seen (UTC)", "初観測日（UTC）"),
        y_axis: tr(lang, "Indicators", "指標数"),
        x_labels: &x_labels,
        label_every: every,
        series: &kseries,
        values: &kvalues,
        suppressed: &[],
    });
    let legend2 = chart::legend(&kseries, None);
    let mut t2 = format!(
        "<table><caption class=\"muted small\">{}</caption><thead><tr><th scope=\"col\">{}</th>",
        h(&title2),
        tr(lang, "Day", "日付")
    );
    for (name, _) in &kseries {
        t2.push_str(&format!("<th scope=\"col\" class=\"num\">{}</th>", h(name)));
    }
    t2.push_str("</tr></thead><tbody>");
    for (i, d) in days.iter().enumerate().rev() {
        t2.push_str(&format!(
            "<tr><th scope=\"row\">{}</th>",
            day_long(lang, *d)
        ));
        for v in &kvalues[i] {
            t2.push_str(&format!("<td class=\"num\">{v}</td>"));
        }
        t2.push_str("</tr>");
    }
    t2.push_str("</tbody></table>");

    let mut top_html = format!(
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        tr(lang, "Indicator", "指標"),
        tr(lang, "Kind", "種類"),
        tr(lang, "Seen by organizations", "観測・報告した組織数"),
        tr(lang, "Reports", "レポート"),
        tr(lang, "Last seen", "最終観測"),
    );
    for t in top {
        top_html.push_str(&format!(
            "<tr><td><a class=\"mono\" href=\"{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            h(&indicator_href(&t.observable)),
            h(&t.observable.value),
            text::kind_name(lang, t.observable.kind),
            h(&count(lang, t.seen_by)),
            t.reports,
            t.last_seen.map(|l| date(lang, l)).unwrap_or_default()
        ));
    }
    if top.is_empty() {
        top_html.push_str(&format!(
            "<tr><td colspan=\"5\" class=\"muted\">{}</td></tr>",
            tr(lang, "Nothing this week yet.", "今週はまだありません。")
        ));
    }
    top_html.push_str("</tbody></table>");

    // Reports.
    let latest = hub.list_reports(viewer, &ReportFilter::default(), None, 10)?;
    let my_sector = user.org.sector.clone();
    let mine = hub.list_reports(
        viewer,
        &ReportFilter {
            sector: Some(my_sector.clone()),
            ..Default::default()
        },
        None,
        8,
    )?;
    let mut my_week = 0u64;
    let mut my_hidden = false;
    for ((d, s), c) in gated {
        if *s == my_sector && *d > today - 7 {
            match c.exact() {
                Some(n) => my_week += n,
                None => my_hidden = true,
            }
        }
    }
    let sector_label = text::sector_name(hub, lang, &my_sector);

    let mut out = String::with_capacity(64 * 1024);
    out.push_str(&format!(
        "<h1>{}</h1>\n<p class=\"muted\">{} · <a href=\"/ui/?days={}\">{}</a></p>\n",
        tr(lang, "Dashboard", "状況"),
        match lang {
            Lang::Ja => format!(
                "{}時点。あなたに閲覧が許された情報だけを集計しています。",
                datetime(lang, now)
            ),
            Lang::En => format!(
                "As of {}. Only what you may see is counted.",
                datetime(lang, now)
            ),
        }
        .as_str(),
        if span > 30 { 30 } else { 90 },
        if span > 30 {
            tr(lang, "Show the last 30 days", "過去30日間を表示")
        } else {
            tr(lang, "Show the last 90 days", "過去90日間を表示")
        },
    ));
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-sightings\"><h2 id=\"h-sightings\">{}</h2>{svg1}{legend1}<details><summary>{}</summary>{t1}</details></section>\n",
        h(&title1),
        tr(lang, "Show the figures as a table", "数値を表で表示"),
    ));
    out.push_str("<div class=\"grid\">");
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-mysector\"><h2 id=\"h-mysector\">{}</h2><p>{}</p>{}</section>",
        match lang {
            Lang::Ja => format!("私の分野：{}", h(&sector_label)),
            Lang::En => format!("In my sector: {}", h(&sector_label)),
        },
        match (lang, my_hidden && my_week == 0) {
            (Lang::Ja, true) => "過去7日間の観測件数：3組織未満のため非表示".to_string(),
            (Lang::En, true) => "Sightings in the last 7 days: hidden (fewer than 3 organizations)".to_string(),
            (Lang::Ja, false) => format!("過去7日間の観測件数：{my_week}"),
            (Lang::En, false) => format!("Sightings in the last 7 days: {my_week}"),
        },
        report_table(hub, lang, &mine.items, tr(lang, "No reports about your sector yet.", "あなたの分野についてのレポートはまだありません。"))?,
    ));
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-latest\"><h2 id=\"h-latest\">{}</h2>{}<p><a href=\"/ui/reports\">{}</a></p></section>",
        tr(lang, "Latest reports", "最新のレポート"),
        report_table(hub, lang, &latest.items, tr(lang, "No reports yet.", "レポートはまだありません。"))?,
        tr(lang, "All reports", "すべてのレポート"),
    ));
    out.push_str("</div>\n");
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-top\"><h2 id=\"h-top\">{}</h2>{top_html}</section>\n",
        tr(lang, "Top indicators this week", "今週の主な指標"),
    ));
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-new\"><h2 id=\"h-new\">{}</h2>{svg2}{legend2}<details><summary>{}</summary>{t2}</details></section>\n",
        h(&title2),
        tr(lang, "Show the figures as a table", "数値を表で表示"),
    ));
    Ok(out)
}

fn report_table(hub: &Hub, lang: Lang, reports: &[ReportRecord], empty: &str) -> ApiResult<String> {
    if reports.is_empty() {
        return Ok(format!("<p class=\"muted\">{}</p>", h(empty)));
    }
    let mut s = format!(
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">TLP</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        tr(lang, "Date", "日付"),
        tr(lang, "Title", "件名"),
        tr(lang, "Type", "種別"),
        tr(lang, "Shared by", "共有元"),
    );
    for r in reports {
        let who = match author(hub, &r.access)? {
            Some(o) => h(&o.name),
            None => tr(lang, "anonymous", "匿名").to_string(),
        };
        s.push_str(&format!(
            "<tr><td>{}</td><td><a href=\"/ui/reports/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            date(lang, r.created_at),
            report_id(&r.uid),
            h(&r.title),
            tlp_badge(r.access.tlp),
            text::incident_name(lang, r.incident_type),
            who
        ));
    }
    s.push_str("</tbody></table>");
    Ok(s)
}

pub async fn dashboard(State(state): State<AppState>, ui: Ui) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let span = if ui.q("days") == Some("90") { 90 } else { 30 };
    let lang = ui.lang;
    let dashboards = state.dashboards.clone();
    let main = match run(&ui, &state.hub, move |hub| {
        cached_dashboard(hub, &dashboards, lang, &user, span)
    })
    .await
    {
        Ok(m) => m,
        Err(r) => return r,
    };
    ui.page(&state.hub, StatusCode::OK, ui.t("Dashboard", "状況"), &main)
}

/// A rendered dashboard, per organization, role, language and span. It
/// names the picture it was drawn from without keeping it alive: a cached
/// page must not hold on to every picture some viewer was once shown.
struct CachedDashboard {
    picture: std::sync::Weak<kyojo_hub::orient::Picture>,
    built: Instant,
    html: Arc<String>,
}

type DashboardKey = (OrgId, &'static str, &'static str, i64);

/// Rendered dashboards of one server, kept in its state.
#[derive(Default)]
pub struct Dashboards(Mutex<HashMap<DashboardKey, CachedDashboard>>);

/// The dashboard from cache while it was drawn from the hub's current
/// picture (see kyojo_hub::orient) less than a minute ago.
fn cached_dashboard(
    hub: &Hub,
    cache: &Dashboards,
    lang: Lang,
    user: &User,
    span: i64,
) -> ApiResult<String> {
    let cache = &cache.0;
    let picture = hub.picture()?;
    let key: DashboardKey = (user.org.id, user.role.as_str(), lang.code(), span);
    if let Some(c) = cache.lock().get(&key) {
        if std::ptr::eq(c.picture.as_ptr(), Arc::as_ptr(&picture))
            && c.built.elapsed().as_secs() < 60
        {
            return Ok(c.html.as_ref().clone());
        }
    }
    let html = dashboard_main(hub, &picture, lang, user, span)?;
    let mut cache = cache.lock();
    if cache.len() > 1024 {
        cache.clear();
    }
    cache.insert(
        key,
        CachedDashboard {
            picture: Arc::downgrade(&picture),
            built: Instant::now(),
            html: Arc::new(html.clone()),
        },
    );
    Ok(html)
}

// ---- indicator page ----------------------------------------------------------------------

fn indicator_main(
    hub: &Hub,
    lang: Lang,
    user: &User,
    obs: &Observable,
    csrf_field: &str,
) -> ApiResult<String> {
    let viewer = &user.viewer;
    let now = now_millis();
    let d = hub.indicator_detail(viewer, obs)?;
    let st = hub.decision_state(viewer, &d.record, now)?;
    let a = &d.assessment;
    let obs = &d.record.observable;
    let (blocked, expires) = match &st.verdict {
        kyojo_core::decide::Verdict::Block { expires_at, .. } => {
            (st.verdict.is_block_at(now), *expires_at)
        }
        _ => (false, None),
    };
    let mut out = format!(
        "<h1><span class=\"muted small\">{}</span><br><code>{}</code></h1>\n",
        text::kind_name(lang, obs.kind),
        h(&obs.value)
    );
    out.push_str("<div class=\"grid\">");
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-facts\"><h2 id=\"h-facts\">{}</h2><dl class=\"facts\">",
        tr(lang, "Summary", "概要")
    ));
    let mut fact = |k: &str, v: String| {
        out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", h(k), v));
    };
    fact(
        tr(lang, "Canonical value", "正規化した値"),
        format!("<code>{}</code>", h(&obs.value)),
    );
    fact(
        tr(lang, "Kind", "種類"),
        text::kind_name(lang, obs.kind).to_string(),
    );
    fact(
        tr(lang, "Actionable", "対処対象"),
        if blocked {
            format!(
                "<span class=\"state-block\">{}</span>",
                tr(
                    lang,
                    "Yes: in block feeds",
                    "はい：ブロック用フィードに掲載"
                )
            )
        } else {
            format!(
                "<span class=\"state-none\">{}</span>",
                tr(lang, "No", "いいえ")
            )
        },
    );
    fact(
        tr(lang, "Reason", "理由"),
        h(&text::verdict_reason(
            lang,
            &st.verdict,
            st.allowed.as_ref(),
        )),
    );
    if blocked {
        fact(
            tr(lang, "Until", "期限"),
            expires
                .map(|e| date(lang, e))
                .unwrap_or_else(|| tr(lang, "no expiry", "無期限").to_string()),
        );
    }
    fact(
        tr(lang, "First seen", "初観測"),
        a.first_seen
            .map(|t| datetime(lang, t))
            .unwrap_or_else(|| "—".into()),
    );
    fact(
        tr(lang, "Last seen", "最終観測"),
        a.last_seen
            .map(|t| datetime(lang, t))
            .unwrap_or_else(|| "—".into()),
    );
    fact(
        tr(lang, "Seen by organizations", "観測・報告した組織数"),
        h(&count(lang, a.seen_by)),
    );
    fact(
        tr(lang, "Links", "リンク"),
        format!(
            "<a href=\"/ui/search?q={}\">{}</a>",
            h(&form_urlencoded::byte_serialize(obs.value.as_bytes()).collect::<String>()),
            tr(lang, "Look up related values", "関連する値を検索")
        ),
    );
    out.push_str("</dl></section>");

    // Decision form and history.
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-decide\"><h2 id=\"h-decide\">{}</h2>",
        tr(lang, "Decision", "判断")
    ));
    if matches!(user.role, Role::Admin | Role::Curator | Role::Analyst) {
        out.push_str(&format!(
            "<form class=\"stack\" method=\"post\" action=\"/ui/decide\">{csrf_field}\
<input type=\"hidden\" name=\"kind\" value=\"{}\"><input type=\"hidden\" name=\"value\" value=\"{}\">\
<fieldset><legend>{}</legend>",
            obs.kind.as_str(),
            h(&obs.value),
            tr(lang, "Action", "操作")
        ));
        for (i, act) in [
            kyojo_core::decide::Action::Block,
            kyojo_core::decide::Action::Allow,
            kyojo_core::decide::Action::Unset,
        ]
        .into_iter()
        .enumerate()
        {
            out.push_str(&format!(
                "<label><input type=\"radio\" name=\"action\" value=\"{}\"{}> {}</label>",
                act.as_str(),
                if i == 0 { " checked" } else { "" },
                text::action_name(lang, act)
            ));
        }
        if user
            .viewer
            .may(kyojo_core::policy::Permission::DecideForHub)
        {
            out.push_str(&format!(
                "</fieldset><fieldset><legend>{}</legend>\
<label><input type=\"radio\" name=\"scope\" value=\"hub\" checked> {}</label>\
<label><input type=\"radio\" name=\"scope\" value=\"own\"> {}</label>",
                tr(lang, "For", "対象"),
                tr(
                    lang,
                    "Every member's feeds (the hub)",
                    "全会員のフィード（ハブ）"
                ),
                tr(lang, "Only my organization's feeds", "自組織のフィードのみ"),
            ));
        } else {
            out.push_str(&format!(
                "<input type=\"hidden\" name=\"scope\" value=\"own\"><p class=\"muted small\">{}</p>",
                tr(
                    lang,
                    "Your decision changes your organization's feeds only; the hub's curators decide for every member.",
                    "この判断は自組織のフィードにのみ反映されます。全会員向けの判断はハブのキュレーターが行います。"
                ),
            ));
        }
        out.push_str(&format!(
            "</fieldset><label for=\"comment\">{}</label><input type=\"text\" id=\"comment\" name=\"comment\" maxlength=\"1000\">\
<label for=\"expires\">{}</label><input type=\"date\" id=\"expires\" name=\"expires\" aria-describedby=\"expires-hint\">\
<p id=\"expires-hint\" class=\"muted small\">{}</p><button class=\"primary\" type=\"submit\">{}</button></form>",
            tr(lang, "Comment", "コメント"),
            tr(lang, "Expires on (optional)", "有効期限（任意）"),
            tr(lang, "Without a date, a block lasts for the kind's lifetime after the last report or sighting.", "日付を指定しない場合、最後の報告・観測から種類ごとの保持期間が過ぎるまで有効です。"),
            tr(lang, "Record decision", "判断を記録"),
        ));
    }
    if st.history.is_empty() {
        out.push_str(&format!(
            "<p class=\"muted\">{}</p>",
            tr(lang, "No decisions yet.", "判断の履歴はまだありません。")
        ));
    } else {
        out.push_str(&format!(
            "<table><caption class=\"muted small\">{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            tr(lang, "History, newest first", "履歴（新しい順）"),
            tr(lang, "Date", "日付"),
            tr(lang, "Action", "操作"),
            tr(lang, "Comment", "コメント"),
            tr(lang, "Expires", "期限"),
            tr(lang, "For", "対象"),
        ));
        for dr in st.history.iter().rev() {
            let by = match dr.by {
                kyojo_hub::decide::Decider::Hub => tr(
                    lang,
                    "The hub (every member's feeds)",
                    "ハブ（全会員のフィード）",
                ),
                kyojo_hub::decide::Decider::YourOrganization => tr(
                    lang,
                    "Your organization (your feeds)",
                    "自組織（自組織のフィード）",
                ),
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                datetime(lang, dr.created_at),
                text::action_name(lang, dr.action),
                h(&dr.comment),
                dr.expires_at
                    .map(|e| date(lang, e))
                    .unwrap_or_else(|| "—".into()),
                h(by)
            ));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section></div>\n");

    // Sightings.
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-sight\"><h2 id=\"h-sight\">{}</h2>",
        tr(lang, "Sightings", "観測")
    ));
    match &d.sightings {
        None => out.push_str(&format!(
            "<p class=\"muted\">{}</p>",
            tr(lang, "No sightings are shown.", "観測情報はありません。")
        )),
        Some(p) => {
            out.push_str(&format!(
                "<p>{}: {} · {}: {}</p>",
                tr(lang, "Total sightings", "観測件数の合計"),
                h(&count(lang, p.total)),
                tr(lang, "Organizations", "組織数"),
                h(&count(lang, p.orgs)),
            ));
            if let Some((n, last)) = p.mine {
                out.push_str(&format!(
                    "<p>{}</p>",
                    match lang {
                        Lang::Ja =>
                            format!("あなたの組織の観測：{n}件（最終 {}）", datetime(lang, last)),
                        Lang::En => format!(
                            "Your organization's sightings: {n} (last {})",
                            datetime(lang, last)
                        ),
                    }
                ));
            }
            let today = day_of(now);
            let days: Vec<Day> = if p.by_day.is_empty() {
                Vec::new()
            } else {
                (today - 29..=today).collect()
            };
            let by: HashMap<Day, Count> = p.by_day.iter().map(|(d, n, _)| (*d, *n)).collect();
            let values: Vec<Vec<u64>> = days
                .iter()
                .map(|d| vec![by.get(d).and_then(|c| c.exact()).unwrap_or(0)])
                .collect();
            let suppressed: Vec<bool> = days
                .iter()
                .map(|d| by.get(d).is_some_and(|c| c.exact().is_none()))
                .collect();
            let labels: Vec<String> = days.iter().map(|d| day_short(lang, *d)).collect();
            let series = vec![(tr(lang, "Sightings", "観測件数").to_string(), PALETTE[4])];
            let title = tr(
                lang,
                "Sightings per day, last 30 days",
                "過去30日間の日別観測件数",
            );
            if days.is_empty() {
                out.push_str(&format!(
                    "<p class=\"muted\">{}</p>",
                    tr(lang, "No sightings yet.", "まだ観測されていません。")
                ));
            }
            if !days.is_empty() {
                out.push_str(&chart::stacked(&Stacked {
                    title,
                    x_axis: tr(lang, "Day (UTC)", "日付（UTC）"),
                    y_axis: tr(lang, "Sightings", "観測件数"),
                    x_labels: &labels,
                    label_every: 5,
                    series: &series,
                    values: &values,
                    suppressed: &suppressed,
                }));
                out.push_str(&chart::legend(
                    &series,
                    Some(tr(
                        lang,
                        "hidden: fewer than 3 organizations",
                        "非表示：3組織未満",
                    )),
                ));
                out.push_str(&format!(
                "<details><summary>{}</summary><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th></tr></thead><tbody>",
                tr(lang, "Show every day as a table", "全日の数値を表で表示"),
                tr(lang, "Day", "日付"),
                tr(lang, "Sightings", "観測件数"),
                tr(lang, "Organizations", "組織数"),
            ));
                for (day, n, o) in p.by_day.iter().rev() {
                    out.push_str(&format!(
                        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                        day_long(lang, *day),
                        h(&count(lang, *n)),
                        h(&count(lang, *o))
                    ));
                }
                out.push_str("</tbody></table></details>");
            }
            out.push_str(&format!(
                "<h3>{}</h3><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">{}</th><th scope=\"col\" class=\"num\">{}</th></tr></thead><tbody>",
                tr(lang, "By sector", "分野別"),
                tr(lang, "Sector", "分野"),
                tr(lang, "Sightings", "観測件数"),
                tr(lang, "Organizations", "組織数"),
            ));
            for (s, n, o) in &p.by_sector {
                out.push_str(&format!(
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    h(&match s {
                        Some(s) => text::sector_name(hub, lang, s),
                        None =>
                            tr(lang, "Other sectors (pooled)", "その他の分野（合算）").to_string(),
                    }),
                    h(&count(lang, *n)),
                    h(&count(lang, *o))
                ));
            }
            out.push_str("</tbody></table>");
        }
    }
    out.push_str("</section>\n");

    // Reports and related indicators.
    let mut reports = Vec::new();
    let mut related: Vec<Observable> = Vec::new();
    let mut seen: HashSet<Observable> = HashSet::new();
    seen.insert(obs.clone());
    for l in a.reports.iter().take(20) {
        let r = hub.get_report(viewer, &l.uid)?;
        for o in &r.indicators {
            if related.len() < 50 && seen.insert(o.clone()) {
                related.push(o.clone());
            }
        }
        reports.push(r);
    }
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-reports\"><h2 id=\"h-reports\">{}</h2>{}</section>\n",
        tr(lang, "Reports you may see", "閲覧できるレポート"),
        report_table(hub, lang, &reports, tr(lang, "No report you may see mentions it.", "閲覧できるレポートはありません。"))?
    ));
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-related\"><h2 id=\"h-related\">{}</h2>",
        tr(
            lang,
            "Related indicators (in the same reports)",
            "関連する指標（同じレポートに含まれるもの）"
        )
    ));
    if related.is_empty() {
        out.push_str(&format!(
            "<p class=\"muted\">{}</p>",
            tr(lang, "None.", "ありません。")
        ));
    } else {
        out.push_str("<ul>");
        for o in &related {
            out.push_str(&format!(
                "<li>{}: <a class=\"mono\" href=\"{}\">{}</a></li>",
                text::kind_name(lang, o.kind),
                h(&indicator_href(o)),
                h(&o.value)
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    Ok(out)
}

pub async fn indicator(
    State(state): State<AppState>,
    ui: Ui,
    Path((kind, value)): Path<(String, String)>,
) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let obs = match kind
        .parse::<Kind>()
        .ok()
        .and_then(|k| canonicalize(k, &value).ok())
    {
        Some(o) => o,
        None => return ui.error(&state.hub, &ApiError::not_found("indicator")),
    };
    let lang = ui.lang;
    let csrf = ui.csrf_field();
    let title = obs.value.clone();
    match run(&ui, &state.hub, move |hub| {
        indicator_main(hub, lang, &user, &obs, &csrf)
    })
    .await
    {
        Ok(main) => ui.page(&state.hub, StatusCode::OK, &title, &main),
        Err(r) => r,
    }
}

pub async fn decide(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let parsed = (|| {
        let kind: Kind = form
            .str("kind")
            .parse()
            .map_err(|_| ApiError::invalid("kind", "unknown kind"))?;
        let obs = canonicalize(kind, form.str("value"))
            .map_err(|e| ApiError::invalid("value", e.to_string()))?;
        let action = kyojo_core::decide::Action::parse(form.str("action"))
            .ok_or_else(|| ApiError::invalid("action_choice", "choose block, allow or unset"))?;
        let comment = form.str("comment").trim().to_string();
        if comment.chars().count() > 1000 {
            return Err(ApiError::invalid(
                "comment",
                "comment is longer than 1000 characters",
            ));
        }
        crate::api::check_text("comment", &comment, true)?;
        let expires = match form.get("expires").map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(parse_time("expires_at", s)?),
            None => None,
        };
        let scope = match form.str("scope") {
            "hub" => kyojo_hub::decide::DecideFor::Hub,
            _ => kyojo_hub::decide::DecideFor::Own,
        };
        Ok((obs, action, comment, expires, scope))
    })();
    let (obs, action, comment, expires, scope) = match parsed {
        Ok(p) => p,
        Err(e) => return ui.error(&state.hub, &e),
    };
    let back = indicator_href(&obs);
    let viewer = user.viewer.clone();
    match run(&ui, &state.hub, move |hub| {
        Ok(hub.decide(&viewer, &obs, action, &comment, expires, scope)?)
    })
    .await
    {
        Ok(_) => see_other(&back),
        Err(r) => r,
    }
}

// ---- reports --------------------------------------------------------------------------------

pub(super) fn select(
    id: &str,
    label: &str,
    options: &[(String, String)],
    current: Option<&str>,
    any: Option<&str>,
) -> String {
    let mut s = format!(
        "<label for=\"{id}\">{}</label><select id=\"{id}\" name=\"{id}\">",
        h(label)
    );
    if let Some(a) = any {
        s.push_str(&format!("<option value=\"\">{}</option>", h(a)));
    }
    for (v, name) in options {
        let sel = if current == Some(v.as_str()) {
            " selected"
        } else {
            ""
        };
        s.push_str(&format!(
            "<option value=\"{}\"{sel}>{}</option>",
            h(v),
            h(name)
        ));
    }
    s.push_str("</select>");
    s
}

fn sector_options(hub: &Hub, lang: Lang) -> Vec<(String, String)> {
    hub.config
        .sectors
        .iter()
        .map(|s| {
            (
                s.slug.clone(),
                match lang {
                    Lang::Ja => s.ja.clone(),
                    Lang::En => s.en.clone(),
                },
            )
        })
        .collect()
}

fn incident_options(lang: Lang) -> Vec<(String, String)> {
    IncidentType::ALL
        .iter()
        .map(|t| {
            (
                t.as_str().to_string(),
                text::incident_name(lang, *t).to_string(),
            )
        })
        .collect()
}

pub async fn reports(State(state): State<AppState>, ui: Ui) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let lang = ui.lang;
    let q = |k: &str| ui.q(k).map(str::to_string);
    let (since, sector, incident, tlp, before, mine) = (
        q("since"),
        q("sector"),
        q("incident_type"),
        q("tlp"),
        q("before"),
        ui.q("mine") == Some("1"),
    );
    let since_c = since.clone();
    let sector_c = sector.clone();
    let incident_c = incident.clone();
    let tlp_c = tlp.clone();
    let result = run(&ui, &state.hub, move |hub| {
        let filter = ReportFilter {
            since: since_c
                .as_deref()
                .map(|s| parse_time("since", s))
                .transpose()?,
            until: None,
            sector: sector_c.filter(|s| hub.config.sector(s).is_some()),
            incident_type: incident_c.as_deref().and_then(IncidentType::parse),
            mine,
        };
        let tlp: Option<Tlp> = tlp_c.as_deref().and_then(|t| t.parse().ok());
        let before = before.as_deref().and_then(|b| b.parse::<i64>().ok());
        let page = hub.list_reports(&user.viewer, &filter, before, 50)?;
        let items: Vec<ReportRecord> = page
            .items
            .into_iter()
            .filter(|r| tlp.is_none_or(|t| r.access.tlp == t))
            .collect();
        Ok((
            report_table(
                hub,
                lang,
                &items,
                tr(lang, "No reports match.", "該当するレポートはありません。"),
            )?,
            page.next,
        ))
    })
    .await;
    let (table, next) = match result {
        Ok(x) => x,
        Err(r) => return r,
    };
    let hub = &state.hub;
    let tlp_opts: Vec<(String, String)> = Tlp::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), format!("TLP:{}", t.as_str())))
        .collect();
    let mut main = format!(
        "<h1>{}</h1><section class=\"card\"><form class=\"stack\" method=\"get\" action=\"/ui/reports\" aria-label=\"{}\"><div class=\"grid\"><div><label for=\"since\">{}</label><input type=\"date\" id=\"since\" name=\"since\" value=\"{}\"></div><div>{}</div><div>{}</div><div>{}</div></div>\
<label><input type=\"checkbox\" name=\"mine\" value=\"1\"{}> {}</label><button class=\"primary\" type=\"submit\">{}</button></form></section>",
        ui.t("Reports", "レポート"),
        ui.t("Filters", "絞り込み"),
        ui.t("Shared on or after", "共有日（この日以降）"),
        h(since.as_deref().unwrap_or_default()),
        select("sector", ui.t("Sector", "分野"), &sector_options(hub, lang), sector.as_deref(), Some(ui.t("Any sector", "すべての分野"))),
        select("incident_type", ui.t("Incident type", "インシデント種別"), &incident_options(lang), incident.as_deref(), Some(ui.t("Any type", "すべての種別"))),
        select("tlp", "TLP", &tlp_opts, tlp.as_deref(), Some(ui.t("Any marking", "すべて"))),
        if mine { " checked" } else { "" },
        ui.t("Only reports my organization shared", "自組織が共有したものだけ"),
        ui.t("Apply filters", "絞り込む"),
    );
    main.push_str(&format!("<section class=\"card\">{table}"));
    if let Some(n) = next {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("since", &since),
            ("sector", &sector),
            ("incident_type", &incident),
            ("tlp", &tlp),
        ] {
            if let Some(v) = v {
                ser.append_pair(k, v);
            }
        }
        if mine {
            ser.append_pair("mine", "1");
        }
        ser.append_pair("before", &n.to_string());
        main.push_str(&format!(
            "<p><a href=\"/ui/reports?{}\">{}</a></p>",
            h(&ser.finish()),
            ui.t("Older reports", "さらに古いレポート")
        ));
    }
    main.push_str("</section>");
    ui.page(hub, StatusCode::OK, ui.t("Reports", "レポート"), &main)
}

fn audience_text(hub: &Hub, lang: Lang, access: &kyojo_core::ReportAccess) -> ApiResult<String> {
    Ok(match &access.audience {
        Audience::Community => tr(lang, "the whole community", "コミュニティ全体").to_string(),
        Audience::Sectors(s) => {
            let names: Vec<String> = s.iter().map(|x| text::sector_name(hub, lang, x)).collect();
            match lang {
                Lang::Ja => format!("分野：{}", names.join("、")),
                Lang::En => format!("sectors: {}", names.join(", ")),
            }
        }
        Audience::Orgs(_) => {
            let names: Vec<String> = kyojo_hub::hub::audience_orgs(hub, access)?
                .into_iter()
                .map(|o| o.name)
                .collect();
            match lang {
                Lang::Ja => format!("組織：{}", names.join("、")),
                Lang::En => format!("organizations: {}", names.join(", ")),
            }
        }
    })
}

pub async fn report(State(state): State<AppState>, ui: Ui, Path(id): Path<String>) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let lang = ui.lang;
    let shared = ui.q("shared") == Some("1");
    let result = run(&ui, &state.hub, move |hub| {
        let uid = parse_uid(&id)?;
        let r = hub.get_report(&user.viewer, &uid)?;
        let who = match author(hub, &r.access)? {
            Some(o) => h(&o.name),
            None => tr(lang, "anonymous", "匿名").to_string(),
        };
        let mut out = String::new();
        if shared {
            out.push_str(&format!(
                "<p class=\"ok\" role=\"status\">{}</p>",
                tr(lang, "Your report has been shared.", "レポートを共有しました。")
            ));
        }
        out.push_str(&format!("<h1>{}</h1><section class=\"card\"><dl class=\"facts\">", h(&r.title)));
        let mut fact = |k: &str, v: String| out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", h(k), v));
        fact("TLP", format!("{} <span class=\"muted small\">{}</span>", tlp_badge(r.access.tlp), h(text::tlp_explanation(lang, r.access.tlp))));
        fact(tr(lang, "Audience", "共有範囲"), h(&audience_text(hub, lang, &r.access)?));
        fact(tr(lang, "Incident type", "インシデント種別"), text::incident_name(lang, r.incident_type).to_string());
        fact(
            tr(lang, "Sector", "分野"),
            r.sector.as_deref().map(|s| h(&text::sector_name(hub, lang, s))).unwrap_or_else(|| "—".into()),
        );
        fact(tr(lang, "Shared by", "共有元"), who);
        fact(tr(lang, "Shared on", "共有日時"), datetime(lang, r.created_at));
        if r.updated_at != r.created_at {
            fact(tr(lang, "Updated", "更新日時"), datetime(lang, r.updated_at));
        }
        if hub.is_owner(&user.viewer, &r.access) {
            fact(tr(lang, "Yours", "自組織"), tr(lang, "your organization shared this report", "自組織が共有したレポートです").to_string());
        }
        fact(
            "STIX 2.1",
            format!(
                "<a href=\"/ui/reports/{}/stix\" download>{}</a>",
                report_id(&r.uid),
                tr(lang, "Download as a STIX 2.1 bundle (JSON)", "STIX 2.1 バンドル（JSON）をダウンロード")
            ),
        );
        out.push_str("</dl></section>");
        if !r.description.trim().is_empty() {
            out.push_str(&format!(
                "<section class=\"card\"><h2>{}</h2><div class=\"pre\">{}</div></section>",
                tr(lang, "Description", "説明"),
                h(&r.description)
            ));
        }
        out.push_str(&format!(
            "<section class=\"card\"><h2>{}</h2><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            match lang {
                Lang::Ja => format!("指標（{}件）", r.indicators.len()),
                Lang::En => format!("Indicators ({})", r.indicators.len()),
            },
            tr(lang, "Kind", "種類"),
            tr(lang, "Value", "値"),
        ));
        for o in &r.indicators {
            out.push_str(&format!(
                "<tr><td>{}</td><td><a class=\"mono\" href=\"{}\">{}</a></td></tr>",
                text::kind_name(lang, o.kind),
                h(&indicator_href(o)),
                h(&o.value)
            ));
        }
        out.push_str("</tbody></table></section>");
        Ok((r.title.clone(), out))
    })
    .await;
    match result {
        Ok((title, main)) => ui.page(&state.hub, StatusCode::OK, &title, &main),
        Err(r) => r,
    }
}

pub async fn report_stix(
    State(state): State<AppState>,
    ui: Ui,
    Path(id): Path<String>,
) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id2 = id.clone();
    let result = run(&ui, &state.hub, move |hub| {
        let uid = parse_uid(&id2)?;
        Ok(hub.report_bundle(&user.viewer, &uid)?)
    })
    .await;
    match result {
        Ok(bundle) => {
            let body = serde_json::to_vec_pretty(&bundle).unwrap_or_default();
            let mut resp = (StatusCode::OK, body).into_response();
            let hd = resp.headers_mut();
            hd.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/stix+json;version=2.1"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"kyojo-report-{}.json\"",
                id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "")
            )) {
                hd.insert(header::CONTENT_DISPOSITION, v);
            }
            hd.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(r) => r,
    }
}

// ---- share --------------------------------------------------------------------------------------

fn share_step1(
    ui: &Ui,
    hub: &Hub,
    user: &User,
    form: Option<&Form>,
    error: Option<&str>,
) -> String {
    let lang = ui.lang;
    let v = |k: &str| form.map(|f| f.str(k).to_string()).unwrap_or_default();
    let sector = form
        .map(|f| f.str("sector").to_string())
        .unwrap_or_else(|| user.org.sector.clone());
    let mut main = share_head(
        ui,
        ui.t(
            "Step 1 of 2: paste an alert, e-mail or log excerpt. Nothing is stored until you confirm on the next step.",
            "手順 1/2：アラート、メール、ログの一部を貼り付けてください。次の手順で確認するまで何も保存されません。",
        ),
        error,
    );
    main.push_str(&format!(
        "<section class=\"card\"><form class=\"stack\" method=\"post\" action=\"/ui/share\">{}<input type=\"hidden\" name=\"step\" value=\"extract\">\
<label for=\"text\">{}</label><textarea id=\"text\" name=\"text\" rows=\"12\" required aria-describedby=\"text-hint\">{}</textarea>\
<p id=\"text-hint\" class=\"muted small\">{}</p>\
<label for=\"title\">{}</label><input type=\"text\" id=\"title\" name=\"title\" maxlength=\"200\" value=\"{}\">\
{}{}\
<label for=\"description\">{}</label><textarea id=\"description\" name=\"description\" rows=\"4\">{}</textarea>\
<button class=\"primary\" type=\"submit\">{}</button></form></section>",
        ui.csrf_field(),
        ui.t("Alert, e-mail or log text", "アラート・メール・ログの本文"),
        h(&v("text")),
        ui.t(
            "Defanged forms such as hxxps://, evil[.]example and user[@]example are recognised.",
            "hxxps://、evil[.]example、user[@]example のような無害化表記も認識します。"
        ),
        ui.t("Title (you can also fill it in on the next step)", "件名（次の手順でも入力できます）"),
        h(&v("title")),
        select("incident_type", ui.t("Incident type", "インシデント種別"), &incident_options(lang), Some(form.map(|f| f.str("incident_type")).unwrap_or("phishing")), None),
        select("sector", ui.t("Sector the report is about", "対象の分野"), &sector_options(hub, lang), Some(&sector), Some(ui.t("(none)", "（指定なし）"))),
        ui.t("Description (optional)", "説明（任意）"),
        h(&v("description")),
        ui.t("Extract indicators", "指標を抽出"),
    ));
    main
}

/// The Share page's heading, the step's one-line guide and any error.
fn share_head(ui: &Ui, step: &str, error: Option<&str>) -> String {
    let mut head = format!(
        "<h1>{}</h1><p class=\"muted\">{}</p>",
        ui.t("Share a report", "レポートを共有"),
        step
    );
    if let Some(e) = error {
        head.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", h(e)));
    }
    head
}

/// Candidate indicators carried between the two steps: kind TAB value TAB raw.
fn candidates_from(form: &Form) -> Vec<(Observable, String)> {
    form.all("cand")
        .into_iter()
        .filter_map(|c| {
            let mut it = c.splitn(3, '\t');
            let kind: Kind = it.next()?.parse().ok()?;
            let obs = canonicalize(kind, it.next()?).ok()?;
            Some((obs, it.next().unwrap_or_default().to_string()))
        })
        .collect()
}

fn share_step2(
    ui: &Ui,
    hub: &Hub,
    user: &User,
    form: &Form,
    cands: &[(Observable, String)],
    checked: Option<&HashSet<String>>,
    error: Option<&str>,
) -> String {
    let lang = ui.lang;
    let mut main = share_head(
        ui,
        ui.t(
            "Step 2 of 2: check the indicators, choose who may read the report, and share it.",
            "手順 2/2：指標を確認し、誰が閲覧できるかを選んで共有してください。",
        ),
        error,
    );
    main.push_str(&format!(
        "<form class=\"stack\" method=\"post\" action=\"/ui/share\">{}<input type=\"hidden\" name=\"step\" value=\"confirm\"><section class=\"card\"><h2 id=\"h-found\">{}</h2>",
        ui.csrf_field(),
        match lang {
            Lang::Ja => format!("抽出した指標（{}件）", cands.len()),
            Lang::En => format!("Indicators found ({})", cands.len()),
        }
    ));
    if cands.is_empty() {
        main.push_str(&format!(
            "<p>{}</p>",
            ui.t(
                "No indicators were found in the text. You can still share the report.",
                "本文から指標は見つかりませんでした。レポートのみ共有することもできます。"
            )
        ));
    } else {
        main.push_str(&format!(
            "<table aria-labelledby=\"h-found\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            ui.t("Include", "含める"),
            ui.t("Kind", "種類"),
            ui.t("Canonical value (stored)", "正規化した値（保存される値）"),
            ui.t("As written", "元の表記"),
        ));
        for (i, (o, raw)) in cands.iter().enumerate() {
            let key = format!("{}\t{}", o.kind.as_str(), o.value);
            let on = checked.is_none_or(|c| c.contains(&key));
            main.push_str(&format!(
                "<tr><td><input type=\"hidden\" name=\"cand\" value=\"{}\"><input type=\"checkbox\" id=\"ind{i}\" name=\"ind\" value=\"{}\"{}><label for=\"ind{i}\" class=\"visually\"> {}</label></td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                h(&format!("{key}\t{raw}")),
                h(&key),
                if on { " checked" } else { "" },
                ui.t("include", "含める"),
                text::kind_name(lang, o.kind),
                h(&o.value),
                h(raw)
            ));
        }
        main.push_str("</tbody></table>");
    }
    main.push_str("</section><section class=\"card\">");
    let incident = form.str("incident_type");
    main.push_str(&format!(
        "<label for=\"title\">{}</label><input type=\"text\" id=\"title\" name=\"title\" maxlength=\"200\" required value=\"{}\">{}{}<label for=\"description\">{}</label><textarea id=\"description\" name=\"description\" rows=\"4\">{}</textarea>",
        ui.t("Title", "件名"),
        h(form.str("title")),
        select("incident_type", ui.t("Incident type", "インシデント種別"), &incident_options(lang), Some(if incident.is_empty() { "phishing" } else { incident }), None),
        select("sector", ui.t("Sector the report is about", "対象の分野"), &sector_options(hub, lang), Some(form.str("sector")), Some(ui.t("(none)", "（指定なし）"))),
        ui.t("Description (optional)", "説明（任意）"),
        h(form.str("description")),
    ));
    // TLP with a line on each.
    let tlp_now = form.get("tlp").unwrap_or("GREEN");
    main.push_str(&format!(
        "<fieldset><legend>{}</legend>",
        ui.t("Who may read it: TLP marking", "閲覧できる範囲：TLP区分")
    ));
    for t in Tlp::ALL {
        let id = format!("tlp-{}", t.as_str().replace('+', "-").to_lowercase());
        main.push_str(&format!(
            "<label class=\"choice\" for=\"{id}\"><input type=\"radio\" id=\"{id}\" name=\"tlp\" value=\"{}\"{}> {} <span class=\"hint\">{}</span></label>",
            t.as_str(),
            if tlp_now == t.as_str() { " checked" } else { "" },
            tlp_badge(t),
            h(text::tlp_explanation(lang, t))
        ));
    }
    main.push_str("</fieldset>");
    let aud = form.get("audience").unwrap_or("community");
    let my_sector_name = text::sector_name(hub, lang, &user.org.sector);
    let aud_opts = [
        (
            "community",
            ui.t("The whole community", "コミュニティ全体").to_string(),
        ),
        (
            "mysector",
            match lang {
                Lang::Ja => format!("自分の分野（{}）", my_sector_name),
                Lang::En => format!("My sector ({})", my_sector_name),
            },
        ),
        ("sectors", ui.t("These sectors:", "次の分野：").to_string()),
        (
            "orgs",
            ui.t(
                "These organizations (required for TLP:RED):",
                "次の組織（TLP:RED では必須）：",
            )
            .to_string(),
        ),
    ];
    main.push_str(&format!(
        "<fieldset><legend>{}</legend>",
        ui.t("Audience", "共有範囲")
    ));
    for (v, label) in &aud_opts {
        main.push_str(&format!(
            "<label for=\"aud-{v}\"><input type=\"radio\" id=\"aud-{v}\" name=\"audience\" value=\"{v}\"{}> {}</label>",
            if aud == *v { " checked" } else { "" },
            h(label)
        ));
        if *v == "sectors" {
            let chosen: HashSet<&str> = form.all("aud_sector").into_iter().collect();
            main.push_str("<div style=\"margin-left:1.6rem;columns:2\">");
            for (slug, name) in sector_options(hub, lang) {
                main.push_str(&format!(
                    "<label for=\"as-{slug}\"><input type=\"checkbox\" id=\"as-{slug}\" name=\"aud_sector\" value=\"{slug}\"{}> {}</label>",
                    if chosen.contains(slug.as_str()) { " checked" } else { "" },
                    h(&name)
                ));
            }
            main.push_str("</div>");
        }
        if *v == "orgs" {
            main.push_str(&format!(
                "<div style=\"margin-left:1.6rem\"><label for=\"aud_orgs\">{}</label><textarea id=\"aud_orgs\" name=\"aud_orgs\" rows=\"3\">{}</textarea></div>",
                ui.t("Organization names, one per line", "組織名（1行に1つ）"),
                h(form.str("aud_orgs"))
            ));
        }
    }
    main.push_str("</fieldset>");
    main.push_str(&format!(
        "<fieldset><legend>{}</legend><label class=\"choice\" for=\"anonymous\"><input type=\"checkbox\" id=\"anonymous\" name=\"anonymous\" value=\"1\"{}> {} <span class=\"hint\">{}</span></label></fieldset>",
        ui.t("Anonymity", "匿名性"),
        if form.get("anonymous").is_some() { " checked" } else { "" },
        ui.t("Share anonymously", "匿名で共有する"),
        ui.t(
            "No one will see which organization shared it; your organization can still edit or delete it.",
            "どの組織が共有したかは誰にも表示されません。自組織は引き続き編集・削除できます。"
        ),
    ));
    main.push_str(&format!(
        "<button class=\"primary\" type=\"submit\">{}</button> <a href=\"/ui/share\">{}</a></section></form>",
        ui.t("Share report", "レポートを共有"),
        ui.t("Start over", "最初からやり直す"),
    ));
    main
}

pub async fn share_form(State(state): State<AppState>, ui: Ui) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let main = share_step1(&ui, &state.hub, &user, None, None);
    ui.page(&state.hub, StatusCode::OK, ui.t("Share", "共有"), &main)
}

/// Reads the share form (its syntax: which radio, which checkbox) into a
/// [`RawDraft`] and hands it to the hub's rules ([`Hub::draft`]); every
/// problem comes back worded in the page's language.
fn build_draft(hub: &Hub, user: &User, form: &Form, lang: Lang) -> Result<Draft, String> {
    let err = |en: &str, ja: &str| match lang {
        Lang::Ja => ja.to_string(),
        Lang::En => en.to_string(),
    };
    let incident_type = IncidentType::parse(form.str("incident_type")).ok_or_else(|| {
        err(
            "Please choose an incident type.",
            "インシデント種別を選んでください。",
        )
    })?;
    let tlp: Tlp = form
        .str("tlp")
        .parse()
        .map_err(|_| err("Please choose a TLP marking.", "TLP区分を選んでください。"))?;
    let audience = match form.str("audience") {
        "mysector" => Audience::Sectors(BTreeSet::from([user.org.sector.clone()])),
        "sectors" => Audience::Sectors(
            form.all("aud_sector")
                .into_iter()
                .map(str::to_string)
                .collect(),
        ),
        "orgs" => {
            let mut ids = BTreeSet::new();
            for name in form
                .str("aud_orgs")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                match hub.org_by_name(name) {
                    Ok(Some(o)) => {
                        ids.insert(o.id);
                    }
                    _ => {
                        return Err(match lang {
                            Lang::Ja => format!("「{name}」という組織はありません。"),
                            Lang::En => format!("There is no organization named \"{name}\"."),
                        })
                    }
                }
            }
            Audience::Orgs(ids)
        }
        _ => Audience::Community,
    };
    let mut indicators = Vec::new();
    for v in form.all("ind") {
        let Some((k, val)) = v.split_once('\t') else {
            continue;
        };
        let Ok(kind) = k.parse::<Kind>() else {
            continue;
        };
        // Values whose URL host is junk are left out, as unparseable ones are.
        if let Ok(o) = kyojo_core::observable::canonicalize_stored(kind, val) {
            indicators.push(o);
        }
    }
    hub.draft(RawDraft {
        title: form.str("title").to_string(),
        description: form.str("description").to_string(),
        incident_type,
        sector: Some(form.str("sector"))
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        tlp,
        audience,
        anonymous: form.get("anonymous").is_some(),
        indicators,
    })
    .map_err(|problems| {
        problems
            .iter()
            .map(|(field, p)| text::draft_problem(lang, field, p))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

pub async fn share_post(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let hub = &state.hub;
    let title = ui.t("Share", "共有");
    if form.str("step") != "confirm" {
        let text_in = form.str("text");
        if text_in.len() > limits::TEXT_MAX_BYTES {
            let main = share_step1(
                &ui,
                hub,
                &user,
                Some(&form),
                Some(ui.t(
                    "The text is too long (512 KiB at most).",
                    "本文が長すぎます（最大512KiB）。",
                )),
            );
            return ui.page(hub, StatusCode::BAD_REQUEST, title, &main);
        }
        let cands: Vec<(Observable, String)> = extract(text_in)
            .into_iter()
            .take(limits::INDICATORS_MAX)
            .map(|e| (e.observable, e.raw))
            .collect();
        let main = share_step2(&ui, hub, &user, &form, &cands, None, None);
        return ui.page(hub, StatusCode::OK, title, &main);
    }
    let cands = candidates_from(&form);
    let checked: HashSet<String> = form.all("ind").into_iter().map(str::to_string).collect();
    let draft = match build_draft(hub, &user, &form, ui.lang) {
        Ok(d) => d,
        Err(msg) => {
            let main = share_step2(&ui, hub, &user, &form, &cands, Some(&checked), Some(&msg));
            return ui.page(hub, StatusCode::BAD_REQUEST, title, &main);
        }
    };
    let viewer = user.viewer.clone();
    let h2 = hub.clone();
    match blocking(move || h2.create_report(&viewer, draft, now_millis())).await {
        Ok(rec) => see_other(&format!("/ui/reports/{}?shared=1", report_id(&rec.uid))),
        Err(e) => {
            let (_, msg) = text::error_text(ui.lang, &e);
            let main = share_step2(&ui, hub, &user, &form, &cands, Some(&checked), Some(&msg));
            ui.page(hub, e.status, title, &main)
        }
    }
}

// ---- search ---------------------------------------------------------------------------------------

struct Row {
    input: String,
    parsed: Option<Observable>,
    hits: Vec<kyojo_hub::hub::LookupHit>,
}

fn lookup_rows(hub: &Hub, viewer: &Viewer, values: &[String]) -> ApiResult<Vec<Row>> {
    let parsed: Vec<Option<Observable>> = values
        .iter()
        .map(|v| kyojo_core::observable::detect_for_lookup(v).ok())
        .collect();
    let queries: Vec<Observable> = parsed.iter().flatten().cloned().collect();
    let mut answers = hub.lookup(viewer, &queries)?.into_iter();
    Ok(values
        .iter()
        .zip(parsed)
        .map(|(v, p)| Row {
            input: v.clone(),
            hits: if p.is_some() {
                answers.next().unwrap_or_default()
            } else {
                Vec::new()
            },
            parsed: p,
        })
        .collect())
}

fn rows_table(lang: Lang, rows: &[Row]) -> String {
    let mut s = format!(
        "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        tr(lang, "Value", "値"),
        tr(lang, "Canonical", "正規化した値"),
        tr(lang, "Result", "結果"),
        tr(lang, "Incident types", "インシデント種別"),
    );
    for r in rows {
        let canon = match &r.parsed {
            Some(o) => format!(
                "{}: <code>{}</code>",
                text::kind_name(lang, o.kind),
                h(&o.value)
            ),
            None => format!(
                "<span class=\"error\">{}</span>",
                tr(lang, "not a recognised value", "認識できない値")
            ),
        };
        let (result, types) = if r.hits.is_empty() {
            (tr(lang, "no match", "該当なし").to_string(), String::new())
        } else {
            let mut res = String::from("<ul>");
            let mut types: BTreeSet<IncidentType> = BTreeSet::new();
            for hit in &r.hits {
                res.push_str(&format!(
                    "<li><a class=\"mono\" href=\"{}\">{}</a> <span class=\"muted small\">({})</span></li>",
                    h(&indicator_href(&hit.indicator)),
                    h(&hit.indicator.value),
                    text::match_name(lang, hit.how)
                ));
                types.extend(hit.incident_types.iter().copied());
            }
            res.push_str("</ul>");
            (
                res,
                types
                    .iter()
                    .map(|t| text::incident_name(lang, *t))
                    .collect::<Vec<_>>()
                    .join(tr(lang, ", ", "、")),
            )
        };
        s.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{canon}</td><td>{result}</td><td>{}</td></tr>",
            h(&r.input),
            h(&types)
        ));
    }
    s.push_str("</tbody></table>");
    s
}

fn search_forms(ui: &Ui, q: &str, values: &str) -> String {
    format!(
        "<section class=\"card\"><form class=\"stack\" method=\"get\" action=\"/ui/search\" role=\"search\"><label for=\"q\">{}</label><input type=\"text\" id=\"q\" name=\"q\" value=\"{}\" aria-describedby=\"q-hint\"><p id=\"q-hint\" class=\"muted small\">{}</p><button class=\"primary\" type=\"submit\">{}</button></form></section>\
<section class=\"card\"><h2>{}</h2><form class=\"stack\" method=\"post\" action=\"/ui/search\">{}<label for=\"values\">{}</label><textarea id=\"values\" name=\"values\" rows=\"8\">{}</textarea>\
<button class=\"primary\" type=\"submit\" name=\"format\" value=\"html\">{}</button> <button class=\"primary\" type=\"submit\" name=\"format\" value=\"csv\">{}</button></form></section>",
        ui.t("Search for any value", "値を検索"),
        h(q),
        ui.t("A domain, URL, IP address, e-mail address or hash (defanged is fine); or part of one.", "ドメイン、URL、IPアドレス、メールアドレス、ハッシュ（無害化表記も可）、またはその一部。"),
        ui.t("Search", "検索"),
        ui.t("Bulk lookup", "一括照会"),
        ui.csrf_field(),
        ui.t("Values, one per line (up to 10,000)", "値（1行に1つ、最大10,000件）"),
        h(values),
        ui.t("Look up", "照会"),
        ui.t("Download results as CSV", "結果をCSVでダウンロード"),
    )
}

pub async fn search(State(state): State<AppState>, ui: Ui) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let lang = ui.lang;
    let q = ui.q("q").unwrap_or_default().trim().to_string();
    let mut main = format!("<h1>{}</h1>", ui.t("Search", "検索"));
    main.push_str(&search_forms(&ui, &q, ""));
    if !q.is_empty() && q.len() <= 2048 {
        let q2 = q.clone();
        let result = run(&ui, &state.hub, move |hub| {
            let rows = lookup_rows(hub, &user.viewer, std::slice::from_ref(&q2))?;
            let needle = detect(&q2).map(|o| o.value).unwrap_or_else(|_| q2.to_lowercase());
            let page = if needle.len() <= 256 {
                hub.list_indicators(
                    &user.viewer,
                    &IndicatorFilter { text: Some(needle), ..Default::default() },
                    None,
                    50,
                )?
                .items
            } else {
                Vec::new()
            };
            let mut s = format!("<section class=\"card\" aria-live=\"polite\"><h2>{}</h2>{}", tr(lang, "Lookup", "照会結果"), rows_table(lang, &rows));
            s.push_str(&format!("<h2>{}</h2>", tr(lang, "Indicators containing the text", "この文字列を含む指標")));
            if page.is_empty() {
                s.push_str(&format!("<p class=\"muted\">{}</p>", tr(lang, "None that you may see.", "閲覧できるものはありません。")));
            } else {
                s.push_str("<ul>");
                for (rec, a) in &page {
                    s.push_str(&format!(
                        "<li>{}: <a class=\"mono\" href=\"{}\">{}</a> <span class=\"muted small\">{}</span></li>",
                        text::kind_name(lang, rec.observable.kind),
                        h(&indicator_href(&rec.observable)),
                        h(&rec.observable.value),
                        a.last_seen.map(|l| date(lang, l)).unwrap_or_default()
                    ));
                }
                s.push_str("</ul>");
            }
            s.push_str("</section>");
            Ok(s)
        })
        .await;
        match result {
            Ok(s) => main.push_str(&s),
            Err(r) => return r,
        }
    }
    ui.page(&state.hub, StatusCode::OK, ui.t("Search", "検索"), &main)
}

fn csv_cell(s: &str) -> String {
    // Keep spreadsheets from running a value as a formula.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub async fn bulk_search(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let user = match need_user(&ui) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let raw = form.str("values").to_string();
    let values: Vec<String> = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if values.len() > limits::LOOKUP_MAX {
        return ui.error(
            &state.hub,
            &ApiError::invalid(
                "values",
                format!("at most {} values per lookup", limits::LOOKUP_MAX),
            ),
        );
    }
    let csv = form.str("format") == "csv";
    let lang = ui.lang;
    let viewer = user.viewer.clone();
    let rows = match run(&ui, &state.hub, move |hub| {
        lookup_rows(hub, &viewer, &values)
    })
    .await
    {
        Ok(r) => r,
        Err(r) => return r,
    };
    if csv {
        let mut out =
            String::from("input,type,canonical,match_type,match_value,match,incident_types\r\n");
        for r in &rows {
            let (kind, canon) = r
                .parsed
                .as_ref()
                .map(|o| (o.kind.as_str(), o.value.as_str()))
                .unwrap_or(("", ""));
            if r.hits.is_empty() {
                out.push_str(&format!(
                    "{},{},{},,,,\r\n",
                    csv_cell(&r.input),
                    csv_cell(kind),
                    csv_cell(canon)
                ));
            }
            for hit in &r.hits {
                let types: Vec<&str> = hit.incident_types.iter().map(|t| t.as_str()).collect();
                out.push_str(&format!(
                    "{},{},{},{},{},{},{}\r\n",
                    csv_cell(&r.input),
                    csv_cell(kind),
                    csv_cell(canon),
                    csv_cell(hit.indicator.kind.as_str()),
                    csv_cell(&hit.indicator.value),
                    csv_cell(text::match_slug(hit.how)),
                    csv_cell(&types.join(";"))
                ));
            }
        }
        let mut resp = (StatusCode::OK, out).into_response();
        let hd = resp.headers_mut();
        hd.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        hd.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"kyojo-lookup.csv\""),
        );
        hd.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return resp;
    }
    let matched = rows.iter().filter(|r| !r.hits.is_empty()).count();
    let mut main = format!("<h1>{}</h1>", ui.t("Search", "検索"));
    main.push_str(&search_forms(&ui, "", &raw));
    main.push_str(&format!(
        "<section class=\"card\" aria-live=\"polite\"><h2>{}</h2>{}</section>",
        match lang {
            Lang::Ja => format!("一括照会の結果：{}件中{}件が該当", rows.len(), matched),
            Lang::En => format!("Bulk lookup: {matched} of {} matched", rows.len()),
        },
        rows_table(lang, &rows)
    ));
    let mut resp = ui.page(&state.hub, StatusCode::OK, ui.t("Search", "検索"), &main);
    set_html_headers(&mut resp);
    resp
}
