//! The Admin section (`/ui/admin/…`), for administrator tokens only:
//! organizations, the sector list, tokens, the operator's allow list and the
//! audit log. Every change is recorded with [`Hub::audit`] under the same
//! action names the REST API uses.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use kyojo_core::observable::{canonicalize, detect};
use kyojo_core::{Kind, Observable, Role, Viewer};

use super::context::{see_other, table_head, Form, Ui, User};
use super::pages::{forbidden_csrf, need_user, select};
use super::text::{self, date, datetime, tr};
use crate::error::{ApiError, ApiResult};
use crate::runtime::blocking;
use crate::warn::{escape_html as h, Lang};
use crate::AppState;
use kyojo_hub::hub::Hub;

/// The section's pages: (path, English, Japanese).
const SECTIONS: [(&str, &str, &str); 5] = [
    ("/ui/admin/orgs", "Organizations", "組織"),
    ("/ui/admin/sectors", "Sectors", "分野"),
    ("/ui/admin/tokens", "Tokens", "トークン"),
    ("/ui/admin/allowlist", "Allow list", "許可リスト"),
    ("/ui/admin/audit", "Audit log", "監査ログ"),
];

/// A signed-in administrator; others get a sign-in redirect or a 403 page.
#[allow(clippy::result_large_err)]
fn need_admin(ui: &Ui, hub: &Hub) -> Result<User, Response> {
    let user = need_user(ui)?;
    if user.role != Role::Admin {
        return Err(ui.error(
            hub,
            &ApiError::forbidden("only administrator tokens may use the Admin pages"),
        ));
    }
    Ok(user)
}

/// What the last action did, shown above the page's content.
enum Notice {
    None,
    Done(String),
    Failed(String),
}

impl Notice {
    fn html(&self) -> String {
        match self {
            Notice::None => String::new(),
            Notice::Done(m) => format!("<p class=\"ok\" role=\"status\">{}</p>\n", h(m)),
            Notice::Failed(m) => format!("<p class=\"error\" role=\"alert\">{}</p>\n", h(m)),
        }
    }
}

/// Renders one admin page: heading, the section's navigation, the notice,
/// then what `body` builds on the blocking pool.
async fn show(
    ui: &Ui,
    hub: &std::sync::Arc<Hub>,
    status: StatusCode,
    path: &'static str,
    notice: Notice,
    body: impl FnOnce(&Hub, Lang, String) -> ApiResult<String> + Send + 'static,
) -> Response {
    let lang = ui.lang;
    let csrf = ui.csrf_field();
    let h2 = hub.clone();
    let content = match blocking(move || body(&h2, lang, csrf)).await {
        Ok(c) => c,
        Err(e) => return ui.error(hub, &e),
    };
    let (_, en, ja) = SECTIONS
        .iter()
        .find(|s| s.0 == path)
        .copied()
        .unwrap_or(SECTIONS[0]);
    let name = tr(lang, en, ja);
    let mut main = format!(
        "<h1>{}</h1>\n<nav aria-label=\"{}\"><ul class=\"subnav\">",
        h(name),
        ui.t("Administration", "管理メニュー")
    );
    for (href, en, ja) in SECTIONS {
        let current = if href == path {
            " aria-current=\"page\""
        } else {
            ""
        };
        main.push_str(&format!(
            "<li><a href=\"{href}\"{current}>{}</a></li>",
            tr(lang, en, ja)
        ));
    }
    main.push_str("</ul></nav>\n");
    main.push_str(&notice.html());
    main.push_str(&content);
    let title = format!("{name} · {}", ui.t("Admin", "管理"));
    ui.page(hub, status, &title, &main)
}

/// The message of a failed action, in the page's language.
fn failed(lang: Lang, e: &ApiError) -> Notice {
    Notice::Failed(text::admin_error(lang, e))
}

fn text_input(id: &str, label: &str, value: &str, extra: &str) -> String {
    format!(
        "<label for=\"{id}\">{}</label><input type=\"text\" id=\"{id}\" name=\"{id}\" value=\"{}\"{extra}>",
        h(label),
        h(value)
    )
}

pub async fn index(State(state): State<AppState>, ui: Ui) -> Response {
    match need_admin(&ui, &state.hub) {
        Ok(_) => see_other("/ui/admin/orgs"),
        Err(r) => r,
    }
}

// ---- organizations -------------------------------------------------------------------

fn orgs_main(
    hub: &Hub,
    viewer: &Viewer,
    lang: Lang,
    csrf: &str,
    name: &str,
    sector: &str,
) -> ApiResult<String> {
    let orgs = hub.list_orgs(viewer)?;
    let mut out = format!(
        "<section class=\"card\" aria-labelledby=\"h-orgs\"><h2 id=\"h-orgs\">{}</h2>",
        tr(lang, "Member organizations", "参加組織")
    );
    if orgs.is_empty() {
        out.push_str(&format!(
            "<p class=\"muted\">{}</p>",
            tr(lang, "No organizations yet.", "まだ組織はありません。")
        ));
    } else {
        out.push_str(&table_head(
            tr(lang, "Member organizations", "参加組織"),
            &[
                tr(lang, "Name", "組織名"),
                tr(lang, "Sector", "分野"),
                tr(lang, "Admitted", "登録日"),
            ],
            None,
        ));
        for o in &orgs {
            out.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td>{} <code class=\"muted small\">{}</code></td><td>{}</td></tr>",
                h(&o.name),
                h(&text::sector_name(hub, lang, &o.sector)),
                h(&o.sector),
                date(lang, o.created_at),
            ));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
    let sectors: Vec<(String, String)> = hub
        .config
        .sectors
        .iter()
        .map(|s| {
            let name = match lang {
                Lang::Ja => &s.ja,
                Lang::En => &s.en,
            };
            (s.slug.clone(), format!("{name} ({})", s.slug))
        })
        .collect();
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-add-org\"><h2 id=\"h-add-org\">{}</h2>\
<form class=\"stack\" method=\"post\" action=\"/ui/admin/orgs\">{csrf}{}{}\
<p id=\"org-hint\" class=\"muted small\">{}</p>\
<button class=\"primary\" type=\"submit\">{}</button></form></section>",
        tr(lang, "Add an organization", "組織を追加"),
        text_input(
            "name",
            tr(lang, "Name", "組織名"),
            name,
            " required maxlength=\"100\" autocomplete=\"off\" aria-describedby=\"org-hint\""
        ),
        select(
            "sector",
            tr(lang, "Sector", "分野"),
            &sectors,
            Some(sector),
            None
        ),
        tr(
            lang,
            "The name is how members name this organization in TLP:RED audiences; it must be unique. Then create a token for it on the Tokens page.",
            "組織名は TLP:RED の共有範囲で指定する正式名称で、重複はできません。追加したら「トークン」のページでこの組織のトークンを発行してください。"
        ),
        tr(lang, "Add", "追加"),
    ));
    Ok(out)
}

pub async fn orgs(State(state): State<AppState>, ui: Ui) -> Response {
    let viewer = match need_admin(&ui, &state.hub) {
        Ok(u) => u.viewer,
        Err(r) => return r,
    };
    show(
        &ui,
        &state.hub,
        StatusCode::OK,
        "/ui/admin/orgs",
        Notice::None,
        move |hub, lang, csrf| orgs_main(hub, &viewer, lang, &csrf, "", ""),
    )
    .await
}

pub async fn orgs_post(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let user = match need_admin(&ui, &state.hub) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let viewer = user.viewer.clone();
    let form = Form::parse(&body);
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let name = form.str("name").trim().to_string();
    let sector = form.str("sector").trim().to_string();
    let (n2, s2) = (name.clone(), sector.clone());
    let hub = state.hub.clone();
    let result = blocking(move || hub.admit_org(&user.viewer, &n2, &s2)).await;
    let lang = ui.lang;
    let (status, notice, name, sector) = match result {
        Ok(org) => (
            StatusCode::OK,
            Notice::Done(match lang {
                Lang::Ja => format!(
                    "組織「{}」を追加しました。次に「トークン」のページでトークンを発行してください。",
                    org.name
                ),
                Lang::En => format!(
                    "Added the organization {:?}. Next, create a token for it on the Tokens page.",
                    org.name
                ),
            }),
            String::new(),
            String::new(),
        ),
        Err(e) => (e.status, failed(lang, &e), name, sector),
    };
    show(
        &ui,
        &state.hub,
        status,
        "/ui/admin/orgs",
        notice,
        move |hub, lang, csrf| orgs_main(hub, &viewer, lang, &csrf, &name, &sector),
    )
    .await
}

// ---- sectors ----------------------------------------------------------------------------

pub async fn sectors(State(state): State<AppState>, ui: Ui) -> Response {
    if let Err(r) = need_admin(&ui, &state.hub) {
        return r;
    }
    show(
        &ui,
        &state.hub,
        StatusCode::OK,
        "/ui/admin/sectors",
        Notice::None,
        |hub, lang, _| {
            let mut out = format!(
                "<section class=\"card\" aria-labelledby=\"h-sectors\"><h2 id=\"h-sectors\">{}</h2><p>{}</p>",
                tr(lang, "Configured sectors", "設定されている分野"),
                tr(
                    lang,
                    "The sector list is read-only here: it is configured in kyojo.toml in the hub's data directory ([[sectors]] entries with slug, en and ja) and takes effect when the hub restarts. Organizations and reports refer to sectors by their slug.",
                    "分野の一覧はここでは変更できません。ハブのデータディレクトリにある kyojo.toml（slug・en・ja を持つ [[sectors]] の項目）で設定し、ハブの再起動で反映されます。組織とレポートは分野をスラッグで参照します。"
                ),
            );
            out.push_str(&table_head(
                tr(lang, "Configured sectors", "設定されている分野"),
                &[
                    tr(lang, "Slug", "スラッグ"),
                    tr(lang, "English name", "英語名"),
                    tr(lang, "Japanese name", "日本語名"),
                ],
                None,
            ));
            for s in &hub.config.sectors {
                out.push_str(&format!(
                    "<tr><th scope=\"row\"><code>{}</code></th><td lang=\"en\">{}</td><td lang=\"ja\">{}</td></tr>",
                    h(&s.slug),
                    h(&s.en),
                    h(&s.ja)
                ));
            }
            out.push_str("</tbody></table></section>");
            Ok(out)
        },
    )
    .await
}

// ---- tokens -----------------------------------------------------------------------------

/// The token form's values: organization, role, label.
#[derive(Default)]
struct TokenForm {
    org: String,
    role: String,
    label: String,
}

fn tokens_main(
    hub: &Hub,
    viewer: &Viewer,
    lang: Lang,
    csrf: &str,
    fill: &TokenForm,
) -> ApiResult<String> {
    let tokens = hub.list_tokens(viewer)?;
    let orgs = hub.list_orgs(viewer)?;
    let mut out = format!(
        "<section class=\"card\" aria-labelledby=\"h-tokens\"><h2 id=\"h-tokens\">{}</h2><p class=\"muted small\">{}</p>",
        tr(lang, "Tokens", "トークン"),
        tr(
            lang,
            "Only the public id of each token is kept; the secret part is shown once, when the token is created. Revoking takes effect at the token's next request.",
            "各トークンは公開IDだけが保存され、秘密の部分は発行時に一度だけ表示されます。失効は次のリクエストから有効です。"
        ),
    );
    if tokens.is_empty() {
        out.push_str(&format!(
            "<p class=\"muted\">{}</p>",
            tr(lang, "No tokens yet.", "まだトークンはありません。")
        ));
    } else {
        out.push_str(&table_head(
            tr(lang, "Tokens", "トークン"),
            &[
                tr(lang, "Public id", "公開ID"),
                tr(lang, "Organization", "組織"),
                tr(lang, "Role", "役割"),
                tr(lang, "Label", "ラベル"),
                tr(lang, "State", "状態"),
                tr(lang, "Created", "発行日"),
            ],
            Some(tr(lang, "Action", "操作")),
        ));
        for t in &tokens {
            let state = match t.revoked_at {
                None => format!("<span class=\"ok\">{}</span>", tr(lang, "Live", "有効")),
                Some(at) => format!(
                    "<span class=\"muted\">{}</span>",
                    h(&match lang {
                        Lang::Ja => format!("失効（{}）", date(lang, at)),
                        Lang::En => format!("Revoked ({})", date(lang, at)),
                    })
                ),
            };
            let action = if t.revoked_at.is_none() {
                format!(
                    "<form method=\"post\" action=\"/ui/admin/tokens/revoke\">{csrf}<input type=\"hidden\" name=\"id\" value=\"{}\"><button type=\"submit\">{}<span class=\"visually\"> {}</span></button></form>",
                    h(&t.public_id),
                    tr(lang, "Revoke", "失効させる"),
                    h(&t.public_id),
                )
            } else {
                String::new()
            };
            out.push_str(&format!(
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td><td>{state}</td><td>{}</td><td>{action}</td></tr>",
                h(&t.public_id),
                h(&t.org.name),
                text::role_name(lang, t.role),
                h(t.label.as_deref().unwrap_or_default()),
                date(lang, t.created_at),
            ));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");

    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-new-token\"><h2 id=\"h-new-token\">{}</h2>",
        tr(lang, "Create a token", "トークンを発行")
    ));
    if orgs.is_empty() {
        out.push_str(&format!(
            "<p>{} <a href=\"/ui/admin/orgs\">{}</a></p></section>",
            tr(
                lang,
                "There is no organization to create a token for yet.",
                "トークンを発行できる組織がまだありません。"
            ),
            tr(lang, "Add an organization", "組織を追加"),
        ));
        return Ok(out);
    }
    let org_options: Vec<(String, String)> = orgs
        .iter()
        .map(|o| (o.name.clone(), o.name.clone()))
        .collect();
    let role_options: Vec<(String, String)> = Role::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_string(),
                text::role_name(lang, *r).to_string(),
            )
        })
        .collect();
    let role = if fill.role.is_empty() {
        "analyst"
    } else {
        fill.role.as_str()
    };
    out.push_str(&format!(
        "<form class=\"stack\" method=\"post\" action=\"/ui/admin/tokens\">{csrf}{}{}\
<p id=\"role-hint\" class=\"muted small\">{}</p>{}\
<button class=\"primary\" type=\"submit\">{}</button></form></section>",
        select(
            "org",
            tr(lang, "Organization", "組織"),
            &org_options,
            Some(&fill.org),
            None
        ),
        select(
            "role",
            tr(lang, "Role", "役割"),
            &role_options,
            Some(role),
            None
        )
        .replace("<select ", "<select aria-describedby=\"role-hint\" "),
        tr(
            lang,
            "Administrator: everything, including these pages. Analyst: shares, reads and decides. Sensor: posts sightings only. Consumer: reads feeds and looks values up only.",
            "管理者：この管理画面を含むすべて。アナリスト：共有・閲覧・判断。センサー：観測の送信のみ。利用システム：フィードの取得と照会のみ。"
        ),
        text_input(
            "label",
            tr(lang, "Label (optional)", "ラベル（任意）"),
            &fill.label,
            " maxlength=\"100\" autocomplete=\"off\""
        ),
        tr(lang, "Create token", "発行する"),
    ));
    Ok(out)
}

pub async fn tokens(State(state): State<AppState>, ui: Ui) -> Response {
    let viewer = match need_admin(&ui, &state.hub) {
        Ok(u) => u.viewer,
        Err(r) => return r,
    };
    show(
        &ui,
        &state.hub,
        StatusCode::OK,
        "/ui/admin/tokens",
        Notice::None,
        move |hub, lang, csrf| tokens_main(hub, &viewer, lang, &csrf, &TokenForm::default()),
    )
    .await
}

/// Creates a token and shows it, this once.
pub async fn tokens_post(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let user = match need_admin(&ui, &state.hub) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let viewer = user.viewer.clone();
    let form = Form::parse(&body);
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let fill = TokenForm {
        org: form.str("org").to_string(),
        role: form.str("role").to_string(),
        label: form.str("label").trim().to_string(),
    };
    let (org, role_s, label) = (fill.org.clone(), fill.role.clone(), fill.label.clone());
    let hub = state.hub.clone();
    let result = blocking(move || {
        let role = kyojo_hub::hub::parse_role(&role_s)?;
        let label = Some(label.as_str()).filter(|l| !l.is_empty());
        hub.mint_token(&user.viewer, &org, role, label)
    })
    .await;
    let lang = ui.lang;
    match result {
        Ok((rec, token)) => {
            let shown = format!(
                "<section class=\"card\" aria-labelledby=\"h-created\"><h2 id=\"h-created\">{}</h2>\
<p class=\"error\" role=\"alert\">{}</p>\
<p><label for=\"new-token\">{}</label></p>\
<p><input type=\"text\" id=\"new-token\" class=\"mono\" size=\"90\" readonly value=\"{}\" aria-describedby=\"new-token-facts\"></p>\
<p id=\"new-token-facts\" class=\"muted small\">{}</p></section>",
                tr(lang, "New token", "新しいトークン"),
                tr(
                    lang,
                    "Copy this token now and hand it over securely: it cannot be shown again. Only its public id is kept.",
                    "このトークンを今すぐコピーし、安全な方法で渡してください。二度と表示できません（保存されるのは公開IDだけです）。"
                ),
                tr(lang, "Token", "トークン"),
                h(&token),
                h(&match lang {
                    Lang::Ja => format!(
                        "{}・{}・公開ID {}",
                        rec.org.name,
                        text::role_name(lang, rec.role),
                        rec.public_id
                    ),
                    Lang::En => format!(
                        "{} · {} · public id {}",
                        rec.org.name,
                        text::role_name(lang, rec.role),
                        rec.public_id
                    ),
                }),
            );
            show(
                &ui,
                &state.hub,
                StatusCode::OK,
                "/ui/admin/tokens",
                Notice::None,
                move |hub, lang, csrf| {
                    Ok(shown + &tokens_main(hub, &viewer, lang, &csrf, &TokenForm::default())?)
                },
            )
            .await
        }
        Err(e) => {
            show(
                &ui,
                &state.hub,
                e.status,
                "/ui/admin/tokens",
                failed(lang, &e),
                move |hub, lang, csrf| tokens_main(hub, &viewer, lang, &csrf, &fill),
            )
            .await
        }
    }
}

pub async fn token_revoke(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let user = match need_admin(&ui, &state.hub) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let viewer = user.viewer.clone();
    let form = Form::parse(&body);
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let id = form.str("id").trim().to_string();
    let i2 = id.clone();
    let hub = state.hub.clone();
    let result = blocking(move || {
        if i2.is_empty() || !hub.withdraw_token(&user.viewer, &i2)? {
            return Err(ApiError::not_found("live token").with_field("token"));
        }
        Ok(())
    })
    .await;
    let lang = ui.lang;
    let (status, notice) = match result {
        Ok(()) => (
            StatusCode::OK,
            Notice::Done(match lang {
                Lang::Ja => format!("トークン {id} を失効させました。"),
                Lang::En => format!("Revoked the token {id}."),
            }),
        ),
        Err(e) => (e.status, failed(lang, &e)),
    };
    show(
        &ui,
        &state.hub,
        status,
        "/ui/admin/tokens",
        notice,
        move |hub, lang, csrf| tokens_main(hub, &viewer, lang, &csrf, &TokenForm::default()),
    )
    .await
}

// ---- the allow list ---------------------------------------------------------------------

#[derive(Default)]
struct AllowForm {
    kind: String,
    value: String,
    comment: String,
}

fn allowlist_main(
    hub: &Hub,
    viewer: &Viewer,
    lang: Lang,
    csrf: &str,
    fill: &AllowForm,
) -> ApiResult<String> {
    let list = hub.allow_list(viewer)?;
    let mut out = format!(
        "<section class=\"card\" aria-labelledby=\"h-allow\"><h2 id=\"h-allow\">{}</h2><p class=\"muted small\">{}</p>",
        tr(lang, "The operator's allow list", "運用者の許可リスト"),
        tr(
            lang,
            "Values on this list are never blocked, whatever analysts decide or the community rules say. Public suffixes, reserved addresses, this hub's own hosts and well-known harmless hashes are allowed anyway and are not listed here.",
            "この一覧の値は、アナリストの判断やコミュニティルールにかかわらずブロックされません。パブリックサフィックス、予約済みアドレス、このハブ自身のホスト、よく知られた無害なハッシュは、ここに載せなくても許可されます。"
        ),
    );
    if list.is_empty() {
        out.push_str(&format!(
            "<p class=\"muted\">{}</p>",
            tr(lang, "The list is empty.", "一覧は空です。")
        ));
    } else {
        out.push_str(&table_head(
            tr(lang, "The operator's allow list", "運用者の許可リスト"),
            &[
                tr(lang, "Type", "種類"),
                tr(lang, "Value", "値"),
                tr(lang, "Comment", "コメント"),
                tr(lang, "Added", "追加日"),
            ],
            Some(tr(lang, "Action", "操作")),
        ));
        for e in &list {
            let o = &e.observable;
            out.push_str(&format!(
                "<tr><td>{}</td><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>\
<form method=\"post\" action=\"/ui/admin/allowlist/remove\">{csrf}\
<input type=\"hidden\" name=\"type\" value=\"{}\"><input type=\"hidden\" name=\"value\" value=\"{}\">\
<button type=\"submit\">{}<span class=\"visually\"> {}</span></button></form></td></tr>",
                text::kind_name(lang, o.kind),
                h(&o.value),
                h(&e.comment),
                date(lang, e.created_at),
                o.kind.as_str(),
                h(&o.value),
                tr(lang, "Remove", "削除"),
                h(&o.value),
            ));
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
    out.push_str(&warninglists_section(hub, viewer, lang)?);
    let mut kinds = vec![(
        String::new(),
        tr(lang, "Detect from the value", "値から判定").to_string(),
    )];
    kinds.extend(Kind::ALL.iter().map(|k| {
        (
            k.as_str().to_string(),
            text::kind_name(lang, *k).to_string(),
        )
    }));
    out.push_str(&format!(
        "<section class=\"card\" aria-labelledby=\"h-allow-add\"><h2 id=\"h-allow-add\">{}</h2>\
<form class=\"stack\" method=\"post\" action=\"/ui/admin/allowlist\">{csrf}{}{}\
<p id=\"allow-hint\" class=\"muted small\">{}</p>{}\
<button class=\"primary\" type=\"submit\">{}</button></form></section>",
        tr(lang, "Add to the allow list", "許可リストに追加"),
        select("type", tr(lang, "Type", "種類"), &kinds, Some(&fill.kind), None),
        text_input(
            "value",
            tr(lang, "Value", "値"),
            &fill.value,
            " required autocomplete=\"off\" aria-describedby=\"allow-hint\""
        ),
        tr(
            lang,
            "Defanged forms such as example[.]com are accepted; the value is stored in canonical form.",
            "example[.]com のような無害化された表記も使えます。値は正規化して保存されます。"
        ),
        text_input(
            "comment",
            tr(lang, "Comment (why it is safe)", "コメント（安全である理由）"),
            &fill.comment,
            " maxlength=\"1000\" autocomplete=\"off\""
        ),
        tr(lang, "Add", "追加"),
    ));
    Ok(out)
}

/// The MISP warninglists the hub applies, read-only (loaded with the CLI).
fn warninglists_section(hub: &Hub, viewer: &Viewer, lang: Lang) -> ApiResult<String> {
    let lists = hub.warninglists(viewer)?;
    let mut out = format!(
        "<section class=\"card\" aria-labelledby=\"h-warninglists\"><h2 id=\"h-warninglists\">{}</h2><p class=\"muted small\">{}</p>",
        tr(lang, "False-positive lists (MISP warninglists)", "誤検知リスト（MISP warninglists）"),
        tr(
            lang,
            "No rule makes a value on these lists actionable. Values on the embedded lists can never be blocked; on lists loaded with kyojo warninglists load, only an explicit block applies.",
            "これらのリストの値は、どのルールでも遮断対象になりません。組み込みのリストの値は遮断できず、kyojo warninglists load で読み込んだリストの値には明示的な遮断の判断だけが適用されます。"
        ),
    );
    if lists.is_empty() {
        out.push_str(&format!(
            "<p class=\"muted\">{}</p></section>",
            tr(lang, "No list applies.", "適用しているリストはありません。")
        ));
        return Ok(out);
    }
    out.push_str(&table_head(
        tr(
            lang,
            "False-positive lists (MISP warninglists)",
            "誤検知リスト（MISP warninglists）",
        ),
        &[
            tr(lang, "List", "リスト"),
            tr(lang, "Id", "ID"),
            tr(lang, "Where from", "出所"),
            tr(lang, "Type", "種類"),
            tr(lang, "Entries", "件数"),
        ],
        None,
    ));
    for (origin, l) in &lists {
        let origin = match origin {
            kyojo_hub::warninglists::Origin::Embedded => tr(lang, "embedded", "組み込み"),
            kyojo_hub::warninglists::Origin::Loaded => tr(lang, "loaded", "読み込み"),
        };
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            h(&l.name),
            h(&l.id),
            origin,
            l.list_type.as_str(),
            l.used,
        ));
    }
    out.push_str("</tbody></table></section>");
    Ok(out)
}

/// The posted type (empty: detect) and value as an indicator.
fn parse_observable(kind: &str, value: &str) -> ApiResult<Observable> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid("value", "enter a value"));
    }
    let parsed = if kind.is_empty() {
        detect(value)
    } else {
        let k: Kind = kind
            .parse()
            .map_err(|_| ApiError::invalid("type", format!("unknown type {kind:?}")))?;
        canonicalize(k, value)
    };
    parsed.map_err(|e| ApiError::invalid("value", e.to_string()))
}

pub async fn allowlist(State(state): State<AppState>, ui: Ui) -> Response {
    let user = match need_admin(&ui, &state.hub) {
        Ok(u) => u,
        Err(r) => return r,
    };
    show(
        &ui,
        &state.hub,
        StatusCode::OK,
        "/ui/admin/allowlist",
        Notice::None,
        move |hub, lang, csrf| {
            allowlist_main(hub, &user.viewer, lang, &csrf, &AllowForm::default())
        },
    )
    .await
}

pub async fn allowlist_post(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let user = match need_admin(&ui, &state.hub) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let fill = AllowForm {
        kind: form.str("type").trim().to_string(),
        value: form.str("value").to_string(),
        comment: form.str("comment").trim().to_string(),
    };
    let (kind, value, comment) = (fill.kind.clone(), fill.value.clone(), fill.comment.clone());
    let viewer = user.viewer.clone();
    let hub = state.hub.clone();
    let result = blocking(move || {
        let obs = parse_observable(&kind, &value)?;
        if comment.chars().count() > 1000 {
            return Err(ApiError::invalid(
                "comment",
                "comment is longer than 1000 characters",
            ));
        }
        crate::api::check_text("comment", &comment, true)?;
        Ok(hub.allow_add(&viewer, &obs, &comment)?.observable)
    })
    .await;
    let lang = ui.lang;
    let (status, notice, fill) = match result {
        Ok(o) => (
            StatusCode::OK,
            Notice::Done(match lang {
                Lang::Ja => format!(
                    "{}「{}」を許可リストに追加しました。",
                    text::kind_name(lang, o.kind),
                    o.value
                ),
                Lang::En => format!(
                    "Added {} {} to the allow list.",
                    text::kind_name(lang, o.kind),
                    o.value
                ),
            }),
            AllowForm::default(),
        ),
        Err(e) => (e.status, failed(lang, &e), fill),
    };
    show(
        &ui,
        &state.hub,
        status,
        "/ui/admin/allowlist",
        notice,
        move |hub, lang, csrf| allowlist_main(hub, &user.viewer, lang, &csrf, &fill),
    )
    .await
}

pub async fn allowlist_remove(State(state): State<AppState>, ui: Ui, body: Bytes) -> Response {
    let user = match need_admin(&ui, &state.hub) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let form = Form::parse(&body);
    if !ui.csrf_ok(&form) {
        return forbidden_csrf(&ui, &state.hub);
    }
    let (kind, value) = (
        form.str("type").trim().to_string(),
        form.str("value").to_string(),
    );
    let viewer = user.viewer.clone();
    let hub = state.hub.clone();
    let result = blocking(move || {
        let obs = parse_observable(&kind, &value)?;
        if !hub.allow_remove(&viewer, &obs)? {
            return Err(ApiError::not_found("allow-list entry").with_field("entry"));
        }
        Ok(obs)
    })
    .await;
    let lang = ui.lang;
    let (status, notice) = match result {
        Ok(o) => (
            StatusCode::OK,
            Notice::Done(match lang {
                Lang::Ja => format!(
                    "{}「{}」を許可リストから削除しました。",
                    text::kind_name(lang, o.kind),
                    o.value
                ),
                Lang::En => format!(
                    "Removed {} {} from the allow list.",
                    text::kind_name(lang, o.kind),
                    o.value
                ),
            }),
        ),
        Err(e) => (e.status, failed(lang, &e)),
    };
    show(
        &ui,
        &state.hub,
        status,
        "/ui/admin/allowlist",
        notice,
        move |hub, lang, csrf| {
            allowlist_main(hub, &user.viewer, lang, &csrf, &AllowForm::default())
        },
    )
    .await
}

// ---- the audit log ----------------------------------------------------------------------

pub async fn audit(State(state): State<AppState>, ui: Ui) -> Response {
    let user = match need_admin(&ui, &state.hub) {
        Ok(u) => u,
        Err(r) => return r,
    };
    show(
        &ui,
        &state.hub,
        StatusCode::OK,
        "/ui/admin/audit",
        Notice::None,
        move |hub, lang, _| {
            let entries = hub.audit_log(&user.viewer, 500)?;
            let mut out = format!(
                "<section class=\"card\" aria-labelledby=\"h-audit\"><h2 id=\"h-audit\">{}</h2><p class=\"muted small\">{}</p>",
                tr(lang, "Administrative actions", "管理操作の記録"),
                tr(
                    lang,
                    "The newest 500 actions, newest first, from these pages, the API and the command line (actor cli).",
                    "この画面・API・コマンドライン（操作者 cli）による管理操作のうち、新しい順に最大500件です。"
                ),
            );
            if entries.is_empty() {
                out.push_str(&format!(
                    "<p class=\"muted\">{}</p>",
                    tr(lang, "Nothing recorded yet.", "まだ記録はありません。")
                ));
            } else {
                out.push_str(&table_head(
                    tr(lang, "Administrative actions", "管理操作の記録"),
                    &[
                        tr(lang, "Time", "日時"),
                        tr(lang, "Actor", "操作者"),
                        tr(lang, "Action", "操作"),
                        tr(lang, "Detail", "内容"),
                    ],
                    None,
                ));
                for e in &entries {
                    let name = text::audit_action_name(lang, &e.action)
                        .map(|n| format!("{n} "))
                        .unwrap_or_default();
                    out.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td>{}<code class=\"small\">{}</code></td><td class=\"mono\">{}</td></tr>",
                        datetime(lang, e.at),
                        h(&e.actor),
                        h(&name),
                        h(&e.action),
                        h(&e.detail),
                    ));
                }
                out.push_str("</tbody></table>");
            }
            out.push_str("</section>");
            Ok(out)
        },
    )
    .await
}
