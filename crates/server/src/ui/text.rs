//! The interface's words in both languages, and locale formatting.

use axum::http::StatusCode;
use kyojo_core::decide::{AllowReason, Verdict};
use kyojo_core::report::IncidentType;
use kyojo_core::{Count, Kind, Role, Tlp};
use kyojo_store::{Day, Millis};

use crate::warn::Lang;
use crate::ApiError;
use kyojo_hub::hub::Hub;
use kyojo_hub::hub::{AuditAction, Problem};
use kyojo_hub::{Conflict, HubError};

/// One string in the page's language.
pub fn tr(lang: Lang, en: &'static str, ja: &'static str) -> &'static str {
    match lang {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

pub fn role_name(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::Admin => tr(lang, "Administrator", "管理者"),
        Role::Analyst => tr(lang, "Analyst", "アナリスト"),
        Role::Curator => tr(lang, "Curator", "キュレーター"),
        Role::Sensor => tr(lang, "Sensor", "センサー"),
        Role::Consumer => tr(lang, "Consumer", "利用システム"),
    }
}

pub fn kind_name(lang: Lang, kind: Kind) -> &'static str {
    match kind {
        Kind::Url => "URL",
        Kind::Domain => tr(lang, "Domain", "ドメイン"),
        Kind::Ipv4 => "IPv4",
        Kind::Ipv6 => "IPv6",
        Kind::Md5 => "MD5",
        Kind::Sha1 => "SHA-1",
        Kind::Sha256 => "SHA-256",
        Kind::Email => tr(lang, "E-mail", "メールアドレス"),
    }
}

pub fn incident_name(lang: Lang, t: IncidentType) -> &'static str {
    let (en, ja) = t.names();
    tr(lang, en, ja)
}

/// A sector's display name (the slug if the hub no longer knows it).
pub fn sector_name(hub: &Hub, lang: Lang, slug: &str) -> String {
    match hub.config.sector(slug) {
        Some(s) => match lang {
            Lang::Ja => s.ja.clone(),
            Lang::En => s.en.clone(),
        },
        None => slug.to_string(),
    }
}

pub fn count(lang: Lang, c: Count) -> String {
    match c {
        Count::Exact(n) => n.to_string(),
        Count::FewerThan3 => tr(lang, "fewer than 3", "3件未満").to_string(),
    }
}

fn date_parts(ms: Millis) -> Option<chrono::NaiveDate> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// A date in the user's locale: 2026年11月22日 / 22 Nov 2026.
pub fn date(lang: Lang, ms: Millis) -> String {
    use chrono::Datelike;
    match date_parts(ms) {
        None => String::new(),
        Some(d) => match lang {
            Lang::Ja => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            Lang::En => d.format("%-d %b %Y").to_string(),
        },
    }
}

/// A date and time (UTC): 2026年11月22日 09:00 UTC / 22 Nov 2026, 09:00 UTC.
pub fn datetime(lang: Lang, ms: Millis) -> String {
    let time = chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default();
    match lang {
        Lang::Ja => format!("{} {time} UTC", date(lang, ms)),
        Lang::En => format!("{}, {time} UTC", date(lang, ms)),
    }
}

/// A day as a short axis label: 11/22 / 22 Nov.
pub fn day_short(lang: Lang, day: Day) -> String {
    use chrono::Datelike;
    match date_parts(day * 86_400_000) {
        None => String::new(),
        Some(d) => match lang {
            Lang::Ja => format!("{}/{}", d.month(), d.day()),
            Lang::En => d.format("%-d %b").to_string(),
        },
    }
}

pub fn day_long(lang: Lang, day: Day) -> String {
    date(lang, day * 86_400_000)
}

/// One line on what each TLP marking means here.
pub fn tlp_explanation(lang: Lang, tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => tr(
            lang,
            "Public: anyone may read it, even without signing in, and it may appear in public feeds.",
            "公開：サインインしていない人も含め誰でも閲覧でき、公開フィードにも載ります。",
        ),
        Tlp::Green => tr(
            lang,
            "The audience below may read it and pass it on within the community, but not publish it.",
            "下で選ぶ共有範囲の組織が閲覧でき、コミュニティ内での共有は可、一般公開は不可です。",
        ),
        Tlp::Amber => tr(
            lang,
            "Only the audience below, on a need-to-know basis; it never leaves this hub.",
            "下で選ぶ共有範囲の組織のみ（知る必要がある範囲）。このハブの外には出ません。",
        ),
        Tlp::AmberStrict => tr(
            lang,
            "Only the audience's own organizations, not their clients; it never leaves this hub.",
            "共有範囲の組織内部に限ります（顧客等へは不可）。このハブの外には出ません。",
        ),
        Tlp::Red => tr(
            lang,
            "Only the organizations you name, for their eyes only; never in any feed.",
            "指名した組織の担当者のみ。どのフィードにも載りません。",
        ),
    }
}

/// Title and message of an error page, in the page's language. Messages
/// from the Hub are English; on Japanese pages the status decides the text.
pub fn error_text(lang: Lang, e: &ApiError) -> (&'static str, String) {
    let title = match e.status {
        StatusCode::NOT_FOUND => tr(lang, "Not found", "見つかりません"),
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
            tr(lang, "Not allowed", "権限がありません")
        }
        StatusCode::BAD_REQUEST => tr(lang, "Please check the input", "入力を確認してください"),
        StatusCode::CONFLICT => tr(lang, "Conflict", "競合しています"),
        StatusCode::TOO_MANY_REQUESTS => tr(lang, "Limit reached", "上限に達しました"),
        _ => tr(lang, "Something went wrong", "エラーが発生しました"),
    };
    let message = match lang {
        Lang::En => e.message.clone(),
        Lang::Ja => match e.status {
            StatusCode::NOT_FOUND => "お探しのものは存在しないか、閲覧する権限がありません。".to_string(),
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => {
                "この操作はあなたのトークンでは許可されていません。".to_string()
            }
            StatusCode::BAD_REQUEST if e.field.as_deref() == Some("action") => {
                "許可リストに含まれる値のため、ブロックできません。".to_string()
            }
            StatusCode::BAD_REQUEST if e.field.as_deref() == Some("expires_at") => {
                "有効期限は未来の日付にしてください。".to_string()
            }
            StatusCode::BAD_REQUEST if e.field.as_deref().is_some_and(|f| f.starts_with("audience")) => {
                "共有範囲が正しくありません。TLP:RED では組織名を指定してください。組織名はハブに登録された正式名称です。".to_string()
            }
            StatusCode::BAD_REQUEST => "入力内容に誤りがあります。".to_string(),
            StatusCode::TOO_MANY_REQUESTS
                if matches!(e.hub.as_deref(), Some(HubError::LimitReached(_))) =>
            {
                "1時間あたりにブロックできる件数の上限に達しました。時間をおいて再度お試しください。"
                    .to_string()
            }
            _ => "しばらくしてからもう一度お試しください。".to_string(),
        },
    };
    (title, message)
}

/// Why a value is on the allow list, in the page's language.
pub fn allow_reason(lang: Lang, r: &AllowReason) -> String {
    match lang {
        Lang::En => r.to_string(),
        Lang::Ja => match r {
            AllowReason::PublicSuffix(s) => {
                format!("{s} はパブリックサフィックスです（配下のすべてのサイトが遮断されるため）")
            }
            AllowReason::ReservedAddress(range) => format!(
                "予約済みアドレス範囲 {} と重なります",
                range.split(' ').next().unwrap_or_default()
            ),
            AllowReason::HubHost(h) => format!("{h} はこのハブ自身のホスト名です"),
            AllowReason::BenignHash(_) => {
                "どこでも無害な内容（空ファイルなど）のハッシュです".to_string()
            }
            AllowReason::PublicResolver(who) => {
                format!("公開DNSリゾルバ（{who}）です。遮断できません")
            }
            AllowReason::Warninglist(name) => format!("誤検知リスト「{name}」に含まれています"),
            AllowReason::AdvisoryWarninglist(name) => format!(
                "誤検知リスト「{name}」に含まれています。明示的な遮断の判断だけが適用されます"
            ),
            AllowReason::TooWide { prefix, widest } => format!(
                "/{prefix} のネットワークは、一つの判断で遮断できる範囲（最大 /{widest}）より広すぎます"
            ),
            AllowReason::Operator(c) if c.is_empty() => {
                "運用者の許可リストに登録されています".to_string()
            }
            AllowReason::Operator(c) => format!("運用者の許可リストに登録されています（{c}）"),
        },
    }
}

/// The verdict's reason, in the page's language.
pub fn verdict_reason(lang: Lang, v: &Verdict, allowed: Option<&AllowReason>) -> String {
    let reason = match v {
        Verdict::Block { reason, .. } | Verdict::NotActionable { reason } => reason.as_str(),
    };
    if lang == Lang::En {
        return reason.to_string();
    }
    if let Some(a) = allowed {
        return format!("許可リスト：{}", allow_reason(lang, a));
    }
    for (prefix, ja) in [
        ("blocked by your organization: ", "自組織がブロック"),
        ("allowed by your organization: ", "自組織が許可"),
        (
            "blocked by the hub's curators: ",
            "ハブのキュレーターがブロック",
        ),
        (
            "allowed by the hub's curators: ",
            "ハブのキュレーターが許可",
        ),
    ] {
        if let Some(c) = reason.strip_prefix(prefix) {
            return format!("{ja}：{c}");
        }
    }
    if reason == "reported by a trusted organization" {
        return "信頼された組織が報告しています".to_string();
    }
    if let Some(rest) = reason.strip_prefix("sighted by ") {
        let nums: Vec<&str> = rest
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .collect();
        if let [n, d] = nums.as_slice() {
            return format!("{d}日以内に{n}組織が観測しています");
        }
    }
    "アナリストの判断も、適用されるコミュニティルールもありません".to_string()
}

pub fn action_name(lang: Lang, a: kyojo_core::decide::Action) -> &'static str {
    match a {
        kyojo_core::decide::Action::Block => tr(lang, "Block", "ブロック"),
        kyojo_core::decide::Action::Allow => tr(lang, "Allow", "許可"),
        kyojo_core::decide::Action::Unset => {
            tr(lang, "Unset (rules decide)", "解除（ルールに従う）")
        }
    }
}

pub fn match_name(lang: Lang, m: kyojo_index::MatchKind) -> &'static str {
    match m {
        kyojo_index::MatchKind::Exact => tr(lang, "exact", "完全一致"),
        kyojo_index::MatchKind::UrlExpression => tr(lang, "URL expression", "URL表現一致"),
        kyojo_index::MatchKind::ParentDomain => tr(lang, "parent domain", "親ドメイン一致"),
        kyojo_index::MatchKind::Cidr => tr(lang, "network (CIDR)", "ネットワーク（CIDR）一致"),
    }
}

pub fn match_slug(m: kyojo_index::MatchKind) -> &'static str {
    match m {
        kyojo_index::MatchKind::Exact => "exact",
        kyojo_index::MatchKind::UrlExpression => "url_expression",
        kyojo_index::MatchKind::ParentDomain => "parent_domain",
        kyojo_index::MatchKind::Cidr => "cidr",
    }
}

/// Why an Admin action failed, in the page's language. The hub's messages
/// are English; on Japanese pages the status and field decide the text.
pub fn admin_error(lang: Lang, e: &ApiError) -> String {
    if lang == Lang::En {
        return e.message.clone();
    }
    let field = e.field.as_deref().unwrap_or_default();
    match e.status {
        StatusCode::CONFLICT => match e.hub.as_deref() {
            Some(HubError::Conflict {
                what: Conflict::OrgName,
                ..
            }) => "同じ名前の組織がすでに登録されています。".to_string(),
            Some(HubError::Conflict {
                what: Conflict::NothingHeld,
                ..
            }) => "確認を待っているフィードの変更はありません。".to_string(),
            _ => "ほかの記録と重なるため保存できませんでした。内容を確認してください。".to_string(),
        },
        StatusCode::BAD_REQUEST => match field {
            "name" => "組織名は1〜100文字の表示可能な文字で入力してください。".to_string(),
            "sector" => "登録されていない分野です。一覧から選んでください。".to_string(),
            "org" => "その組織は登録されていません。一覧から選んでください。".to_string(),
            "role" => "役割を一覧から選んでください。".to_string(),
            "label" => "ラベルは100文字以内の表示可能な文字で入力してください。".to_string(),
            "type" => "種類を一覧から選んでください。".to_string(),
            "value" => "値を解釈できません。種類と値を確認してください。".to_string(),
            "comment" => "コメントは1000文字以内で入力してください。".to_string(),
            _ => "入力内容に誤りがあります。".to_string(),
        },
        StatusCode::NOT_FOUND if field == "token" => {
            "有効なトークンが見つかりません（すでに失効している可能性があります）。".to_string()
        }
        StatusCode::NOT_FOUND if field == "entry" => "その値は許可リストにありません。".to_string(),
        _ => error_text(lang, e).1,
    }
}

/// One problem of a report draft (`kyojo_core::draft`), for the share form.
pub fn draft_problem(lang: Lang, field: &str, p: &Problem) -> String {
    let base = field.split(['.', '[']).next().unwrap_or(field);
    match (lang, base, p) {
        (Lang::En, "title", Problem::Empty | Problem::TooLongChars(_)) => {
            "Please give the report a title (up to 200 characters).".to_string()
        }
        (Lang::Ja, "title", Problem::Empty | Problem::TooLongChars(_)) => {
            "件名を入力してください（200文字以内）。".to_string()
        }
        (Lang::En, "title", Problem::ControlCharacter(_)) => {
            "The title may not contain control characters.".to_string()
        }
        (Lang::Ja, "title", Problem::ControlCharacter(_)) => {
            "件名に制御文字は使えません。".to_string()
        }
        (Lang::En, "description", Problem::ControlCharacter(_)) => {
            "The description may not contain control characters (line breaks and tabs are fine)."
                .to_string()
        }
        (Lang::Ja, "description", Problem::ControlCharacter(_)) => {
            "説明に制御文字は使えません（改行とタブは使えます）。".to_string()
        }
        (_, "description", _) => {
            tr(lang, "The description is too long.", "説明が長すぎます。").to_string()
        }
        (_, _, Problem::UnknownSector { .. }) => {
            tr(lang, "Unknown sector.", "不明な分野です。").to_string()
        }
        (_, _, Problem::RedNeedsNamedOrgs) => tr(
            lang,
            "TLP:RED needs an audience of named organizations.",
            "TLP:RED では共有先の組織名を指定してください。",
        )
        .to_string(),
        (_, "audience", Problem::EmptyList) if field.ends_with("orgs") => tr(
            lang,
            "Name at least one organization.",
            "組織を1つ以上指定してください。",
        )
        .to_string(),
        (_, "audience", Problem::EmptyList) => tr(
            lang,
            "Choose at least one sector for the audience.",
            "共有範囲の分野を1つ以上選んでください。",
        )
        .to_string(),
        (_, _, Problem::TooManyIndicators(_)) => tr(
            lang,
            "Too many indicators for one report.",
            "1件のレポートに含められる指標の数を超えています。",
        )
        .to_string(),
        (Lang::En, _, p) => format!("{field}: {p}"),
        (Lang::Ja, _, _) => "入力内容に誤りがあります。".to_string(),
    }
}

/// A readable name for an audit-log action, when it is one this hub records.
pub fn audit_action_name(lang: Lang, action: &str) -> Option<&'static str> {
    Some(match AuditAction::parse(action)? {
        AuditAction::OrgAdd => tr(lang, "Organization added", "組織の追加"),
        AuditAction::TokenCreate => tr(lang, "Token created", "トークンの発行"),
        AuditAction::TokenRevoke => tr(lang, "Token revoked", "トークンの失効"),
        AuditAction::DecisionHub => tr(lang, "Decision for every member", "全会員向けの判断"),
        AuditAction::AllowlistAdd => tr(lang, "Allow-list entry added", "許可リストへの追加"),
        AuditAction::AllowlistRemove => {
            tr(lang, "Allow-list entry removed", "許可リストからの削除")
        }
        AuditAction::FeedsConfirm => tr(
            lang,
            "Held feed change confirmed",
            "保留中のフィード変更の承認",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_is_worded_by_what_it_collided_with() {
        let org: ApiError = HubError::conflict(Conflict::OrgName, "exists").into();
        assert!(admin_error(Lang::Ja, &org).contains("組織"));
        let other: ApiError = HubError::conflict(Conflict::Stored, "key in use").into();
        assert!(!admin_error(Lang::Ja, &other).contains("組織"));
        assert_eq!(admin_error(Lang::En, &other), "key in use");
    }
}
