//! REST API under `/api/v1`: input validation, handlers and JSON views.
//!
//! Handlers parse and validate input into the Hub's types (naming the field
//! of any problem), run the Hub on the blocking pool, and render views. The
//! sharing rules are applied inside the Hub, never here.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use kyojo_core::extract::extract;
use kyojo_core::observable::{canonicalize, detect};
use kyojo_core::report::{limits, IncidentType};
use kyojo_core::{Audience, Kind, Observable, Role, Tlp, Viewer};
use kyojo_store::{day_of, Millis, NewSighting, ReportRecord};

use crate::error::{ApiError, ApiResult};
use crate::json::{bounded_seq, Bounded, JsonBody, Limited};
use kyojo_hub::hub::{
    author, now_millis, require, Hub, IndicatorFilter, RawDraft, ReportChange, ReportFilter,
};
use kyojo_hub::{HubError, HubResult};
use schema::{
    AudienceInput, DecisionActionName, DecisionScope, ErrorBody, FeedName, IncidentTypeName,
    IndicatorInput, KindName, RoleName, RpzAction, SeenAt, StixBundle, TlpName,
};
use utoipa::{IntoParams, ToSchema};

/// One indicator, sighting or lookup value: a string or a small object.
type Item = Limited<16>;
/// An audience: `"community"` or one list of names.
type AudienceIn = Limited<{ limits::AUDIENCE_MAX + 2 }>;
/// Values in an imported STIX bundle, counted one by one (objects, members, items).
const STIX_IMPORT_MAX_VALUES: usize = 500_000;
use crate::AppState;

// ---- the caller -----------------------------------------------------------------

/// Who is calling: public without a token, or the member its bearer token names.
pub struct Caller(pub Viewer);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(Caller(Viewer::Public));
        }
        let token = crate::auth::bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("Authorization must be \"Bearer <token>\""))?;
        let hub = state.hub.clone();
        let (viewer, _) = blocking(move || hub.authenticate(&token)).await?;
        Ok(Caller(viewer))
    }
}

pub use crate::runtime::blocking;

// ---- small parsers ----------------------------------------------------------------

/// RFC 3339 or a plain `YYYY-MM-DD` (midnight UTC).
pub fn parse_time(field: &str, s: &str) -> HubResult<Millis> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    Err(HubError::invalid(
        field,
        format!("{s:?} is not a time: use RFC 3339 (2026-11-22T09:00:00Z) or a date (2026-11-22)"),
    ))
}

fn parse_uid(id: &str) -> HubResult<[u8; 16]> {
    uuid::Uuid::parse_str(id)
        .map(|u| *u.as_bytes())
        .map_err(|_| HubError::not_found("report"))
}

fn encode_cursor(prefix: char, n: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{prefix}{n}"))
}

fn decode_cursor(prefix: char, s: &str) -> HubResult<i64> {
    let bad = || {
        HubError::invalid(
            "cursor",
            "cursor is not one this hub issued; start again without it",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix(prefix)
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)
}

fn page_limit(limit: Option<usize>) -> HubResult<usize> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=limits::PAGE_MAX).contains(&n) => Ok(n),
        Some(_) => Err(HubError::invalid(
            "limit",
            format!("limit must be between 1 and {}", limits::PAGE_MAX),
        )),
    }
}

fn parse_tlp(field: &str, s: &str) -> HubResult<Tlp> {
    s.parse()
        .map_err(|e: kyojo_core::tlp::UnknownTlp| HubError::invalid(field, e.to_string()))
}

fn parse_incident(field: &str, s: &str) -> HubResult<IncidentType> {
    IncidentType::parse(s).ok_or_else(|| {
        let known: Vec<_> = IncidentType::ALL.iter().map(|t| t.as_str()).collect();
        HubError::invalid(
            field,
            format!(
                "unknown incident type {s:?}; use one of {}",
                known.join(", ")
            ),
        )
    })
}

fn parse_kind(field: &str, s: &str) -> HubResult<Kind> {
    s.parse().map_err(|_| {
        let known: Vec<_> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        HubError::invalid(
            field,
            format!("unknown type {s:?}; use one of {}", known.join(", ")),
        )
    })
}

fn check_sector(hub: &Hub, field: &str, s: &str) -> HubResult<String> {
    if hub.config.sector(s).is_some() {
        Ok(s.to_string())
    } else {
        Err(HubError::invalid(
            field,
            format!(
                "unknown sector {s:?}; known sectors: {}",
                hub.config.sector_slugs().join(", ")
            ),
        ))
    }
}

/// Free text of one line (`multiline`: line breaks and tabs too) without
/// control or bidirectional-override characters; CRLF counts as a line break.
pub fn check_text(field: &str, text: &str, multiline: bool) -> HubResult<String> {
    let text = if multiline && text.contains("\r\n") {
        text.replace("\r\n", "\n")
    } else {
        text.to_string()
    };
    match kyojo_core::report::text_problem(&text, multiline) {
        Some(problem) => Err(HubError::invalid(field, format!("{field} {problem}"))),
        None => Ok(text),
    }
}

fn check_title(title: &str) -> HubResult<String> {
    let t = title.trim();
    if t.is_empty() {
        return Err(HubError::invalid("title", "title must not be empty"));
    }
    check_text("title", t, false)?;
    if t.chars().count() > limits::TITLE_MAX_CHARS {
        return Err(HubError::invalid(
            "title",
            format!(
                "title is longer than {} characters",
                limits::TITLE_MAX_CHARS
            ),
        ));
    }
    Ok(t.to_string())
}

fn check_description(d: &str) -> HubResult<String> {
    let d = &check_text("description", d, true)?;
    if d.len() > limits::DESCRIPTION_MAX_BYTES {
        return Err(HubError::invalid(
            "description",
            format!(
                "description is longer than {} bytes",
                limits::DESCRIPTION_MAX_BYTES
            ),
        ));
    }
    Ok(d.to_string())
}

/// `"community"`, `{"sectors": [...]}` or `{"orgs": [...]}` (organization names).
fn parse_audience(hub: &Hub, v: &Value) -> HubResult<Audience> {
    let shape = || {
        HubError::invalid(
            "audience",
            "audience must be \"community\", {\"sectors\": [...]} or {\"orgs\": [...]}",
        )
    };
    match v {
        Value::String(s) if s == "community" => Ok(Audience::Community),
        Value::Object(map) if map.len() == 1 => {
            let (key, list) = map.iter().next().ok_or_else(shape)?;
            let items = list.as_array().ok_or_else(shape)?;
            if items.is_empty() {
                return Err(HubError::invalid(
                    format!("audience.{key}"),
                    "list must not be empty",
                ));
            }
            if items.len() > limits::AUDIENCE_MAX {
                return Err(HubError::invalid(
                    format!("audience.{key}"),
                    format!("at most {} entries", limits::AUDIENCE_MAX),
                ));
            }
            let names = items
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    it.as_str().map(str::to_string).ok_or_else(|| {
                        HubError::invalid(format!("audience.{key}[{i}]"), "must be a string")
                    })
                })
                .collect::<HubResult<Vec<String>>>()?;
            match key.as_str() {
                "sectors" => Ok(Audience::Sectors(
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, s)| check_sector(hub, &format!("audience.sectors[{i}]"), s))
                        .collect::<HubResult<BTreeSet<_>>>()?,
                )),
                "orgs" => {
                    let mut ids = BTreeSet::new();
                    for (i, name) in names.iter().enumerate() {
                        let org = hub.org_by_name(name)?.ok_or_else(|| {
                            HubError::invalid(
                                format!("audience.orgs[{i}]"),
                                format!("no organization named {name:?}"),
                            )
                        })?;
                        ids.insert(org.id);
                    }
                    Ok(Audience::Orgs(ids))
                }
                _ => Err(shape()),
            }
        }
        _ => Err(shape()),
    }
}

/// `{"type": ..., "value": ...}` (type optional: detected) or a bare string.
fn parse_indicator(field: &str, v: &Value) -> HubResult<Observable> {
    let (kind, value) = indicator_parts(field, v)?;
    let result = match kind {
        Some(k) => canonicalize(k, value),
        None => detect(value),
    };
    result.map_err(|e| HubError::invalid(format!("{field}.value"), e.to_string()))
}

/// [`parse_indicator`] for a value to look up: a URL is read as Safe
/// Browsing reads it (single-label and escaped hosts, any inet_aton form),
/// so every URL Safe Browsing canonicalizes gets an answer; only reporting
/// and blocking are stricter.
fn parse_lookup_value(field: &str, v: &Value) -> HubResult<Observable> {
    let (kind, value) = indicator_parts(field, v)?;
    let result = match kind {
        Some(k) => kyojo_core::observable::canonicalize_for_lookup(k, value),
        None => kyojo_core::observable::detect_for_lookup(value),
    };
    result.map_err(|e| HubError::invalid(format!("{field}.value"), e.to_string()))
}

/// The optional type and the value of `{"type", "value"}` or a bare string.
fn indicator_parts<'a>(field: &str, v: &'a Value) -> HubResult<(Option<Kind>, &'a str)> {
    Ok(match v {
        Value::String(s) => (None, s.as_str()),
        Value::Object(map) => {
            for key in map.keys() {
                if key != "type" && key != "value" {
                    return Err(HubError::invalid(
                        format!("{field}.{key}"),
                        "unknown field; use type and value",
                    ));
                }
            }
            let kind = match map.get("type") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(parse_kind(&format!("{field}.type"), s)?),
                Some(_) => {
                    return Err(HubError::invalid(
                        format!("{field}.type"),
                        "must be a string",
                    ))
                }
            };
            let value = map.get("value").and_then(Value::as_str).ok_or_else(|| {
                HubError::invalid(
                    format!("{field}.value"),
                    "value is required and must be a string",
                )
            })?;
            (kind, value)
        }
        _ => {
            return Err(HubError::invalid(
                field,
                "must be {\"type\": ..., \"value\": ...} or a string",
            ))
        }
    })
}

/// [`parse_indicator`] for a value to be stored (a report's, a sighting's):
/// a URL's host must be a domain name or an IP address.
fn parse_stored_indicator(field: &str, v: &Value) -> HubResult<Observable> {
    let obs = parse_indicator(field, v)?;
    kyojo_core::observable::check_stored(&obs)
        .map_err(|e| HubError::invalid(format!("{field}.value"), e.to_string()))?;
    Ok(obs)
}

/// Indicators given explicitly, then those extracted from `text`, deduplicated in order.
fn collect_indicators(items: &[Value], text: Option<&str>) -> HubResult<Vec<(Observable, String)>> {
    let mut out: Vec<(Observable, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, v) in items.iter().enumerate() {
        let obs = parse_stored_indicator(&format!("indicators[{i}]"), v)?;
        let raw = match v {
            Value::String(s) => s.clone(),
            _ => v
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        };
        if seen.insert(obs.clone()) {
            out.push((obs, raw));
        }
    }
    if let Some(text) = text {
        if text.len() > limits::TEXT_MAX_BYTES {
            return Err(HubError::invalid(
                "text",
                format!("text is longer than {} bytes", limits::TEXT_MAX_BYTES),
            ));
        }
        for e in extract(text) {
            if kyojo_core::observable::check_stored(&e.observable).is_err() {
                continue;
            }
            if seen.insert(e.observable.clone()) {
                out.push((e.observable, e.raw));
            }
        }
    }
    if out.len() > limits::INDICATORS_MAX {
        return Err(HubError::invalid(
            "indicators",
            format!("at most {} indicators per report", limits::INDICATORS_MAX),
        ));
    }
    Ok(out)
}

// ---- views --------------------------------------------------------------------------

pub mod schema;
pub mod views;

use views::{
    rfc3339, AllowAdded, AllowList, AuditLog, DecisionView, FeedGuardConfirmed, FeedGuardView,
    HashSearchResult, IndicatorDetail, IndicatorList, ListImported, LookupResults, MeView,
    MispImported, OrgEntry, OrgList, PrefixesView, ReportList, ReportView, SectorList,
    SightingsAccepted, StixImported, TokenCreated, WarninglistList,
};

/// The public id of a report.
pub fn report_id(r: &ReportRecord) -> String {
    uuid::Uuid::from_bytes(r.uid).to_string()
}

// ---- handlers: reports --------------------------------------------------------------

/// A new report. Indicators are given, extracted from `text`, or both.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({
    "title": "Phishing kit on evil.example",
    "description": "Credential phishing against bank customers.",
    "incident_type": "phishing",
    "tlp": "GREEN",
    "audience": "community",
    "indicators": ["evil.example", {"type": "url", "value": "https://login.evil.example/verify.php"}],
    "text": "Also seen: hxxp://cdn.evil[.]example/kit.zip from 192.0.2.10"
}))]
#[serde(deny_unknown_fields)]
pub struct ReportIn {
    title: String,
    #[serde(default)]
    description: String,
    #[schema(value_type = IncidentTypeName)]
    incident_type: String,
    /// The sector the report is about (a slug of `GET /sectors`).
    #[serde(default)]
    sector: Option<String>,
    #[schema(value_type = TlpName)]
    tlp: String,
    #[schema(value_type = AudienceInput)]
    audience: AudienceIn,
    /// Hide the author's organization from every reader.
    #[serde(default)]
    anonymous: bool,
    #[serde(default)]
    #[schema(value_type = Vec<IndicatorInput>)]
    indicators: Bounded<Item, { limits::INDICATORS_MAX }>,
    /// Free text (an alert, an e-mail) to extract indicators from.
    #[serde(default)]
    text: Option<String>,
}

/// Share a report
#[utoipa::path(
    post,
    path = "/reports",
    tag = "reports",
    request_body = ReportIn,
    responses(
        (status = 201, description = "Stored; `Location` names it", body = ReportView,
         headers(("Location" = String, description = "The report's URL"))),
        (status = 403, description = "This token may not write reports", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create_report(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    body: Result<JsonBody<ReportIn>, ApiError>,
) -> ApiResult<Response> {
    // Who may do this is answered before what they sent is judged.
    require(&viewer, kyojo_core::policy::Permission::WriteReports)?;
    let JsonBody(input) = body?;
    let hub = state.hub.clone();
    let body = blocking(move || {
        let incident_type = parse_incident("incident_type", &input.incident_type)?;
        let tlp = parse_tlp("tlp", &input.tlp)?;
        let audience = parse_audience(&hub, &input.audience.0)?;
        let items: Vec<Value> = input.indicators.0.into_iter().map(|i| i.0).collect();
        let inputs = collect_indicators(&items, input.text.as_deref())?;
        // Every rule a report must meet is the hub's (kyojo_core::draft).
        let draft = hub.draft(RawDraft {
            title: input.title,
            description: input.description,
            incident_type,
            sector: input.sector,
            tlp,
            audience,
            anonymous: input.anonymous,
            indicators: inputs.iter().map(|(o, _)| o.clone()).collect(),
        })?;
        let rec = hub.create_report(&viewer, draft, now_millis())?;
        ReportView::build(&hub, &viewer, &rec, Some(&inputs))
    })
    .await?;
    let location = format!("/api/v1/reports/{}", body.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// Read a report
#[utoipa::path(
    get,
    path = "/reports/{id}",
    tag = "reports",
    params(("id" = String, Path, description = "The report's id (a UUID)")),
    responses(
        (status = 200, description = "The report", body = ReportView),
        (status = 404, description = "No such report, or not one the caller may read", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get_report(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ReportView>> {
    let uid = parse_uid(&id)?;
    let hub = state.hub.clone();
    blocking(move || {
        let rec = hub.get_report(&viewer, &uid)?;
        ReportView::build(&hub, &viewer, &rec, None)
    })
    .await
    .map(Json)
}

fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Changes to a report: only the fields sent change. `indicators` and
/// `text` together replace the report's indicators.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"title": "Phishing kit on evil.example (updated)", "tlp": "AMBER"}))]
#[serde(deny_unknown_fields)]
pub struct ReportPatchIn {
    title: Option<String>,
    description: Option<String>,
    #[schema(value_type = Option<IncidentTypeName>)]
    incident_type: Option<String>,
    /// Null clears it.
    #[serde(default, deserialize_with = "some")]
    sector: Option<Option<String>>,
    #[schema(value_type = Option<TlpName>)]
    tlp: Option<String>,
    #[schema(value_type = Option<AudienceInput>)]
    audience: Option<AudienceIn>,
    anonymous: Option<bool>,
    #[schema(value_type = Option<Vec<IndicatorInput>>)]
    indicators: Option<Bounded<Item, { limits::INDICATORS_MAX }>>,
    text: Option<String>,
}

/// Edit a report (its author's organization only)
#[utoipa::path(
    patch,
    path = "/reports/{id}",
    tag = "reports",
    params(("id" = String, Path, description = "The report's id (a UUID)")),
    request_body = ReportPatchIn,
    responses(
        (status = 200, description = "The report as it is now", body = ReportView),
        (status = 403, description = "Not this token's to edit", body = ErrorBody),
        (status = 404, description = "No such report, or not one the caller may read", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update_report(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path(id): Path<String>,
    body: Result<JsonBody<ReportPatchIn>, ApiError>,
) -> ApiResult<Json<ReportView>> {
    require(&viewer, kyojo_core::policy::Permission::WriteReports)?;
    let JsonBody(input) = body?;
    let uid = parse_uid(&id)?;
    let hub = state.hub.clone();
    blocking(move || {
        let indicators = match (&input.indicators, &input.text) {
            (None, None) => None,
            (items, text) => {
                let items: Vec<Value> = items
                    .iter()
                    .flat_map(|b| b.0.iter().map(|i| i.0.clone()))
                    .collect();
                Some(collect_indicators(&items, text.as_deref())?)
            }
        };
        let change = ReportChange {
            title: input.title.as_deref().map(check_title).transpose()?,
            description: input
                .description
                .as_deref()
                .map(check_description)
                .transpose()?,
            incident_type: input
                .incident_type
                .as_deref()
                .map(|s| parse_incident("incident_type", s))
                .transpose()?,
            sector: match input.sector {
                None => None,
                Some(None) => Some(None),
                Some(Some(s)) => Some(Some(check_sector(&hub, "sector", &s)?)),
            },
            tlp: input
                .tlp
                .as_deref()
                .map(|s| parse_tlp("tlp", s))
                .transpose()?,
            audience: input
                .audience
                .as_ref()
                .map(|a| parse_audience(&hub, &a.0))
                .transpose()?,
            anonymous: input.anonymous,
            indicators: indicators
                .as_ref()
                .map(|v| v.iter().map(|(o, _)| o.clone()).collect()),
        };
        let rec = hub.update_report(&viewer, &uid, change, now_millis())?;
        ReportView::build(&hub, &viewer, &rec, indicators.as_deref())
    })
    .await
    .map(Json)
}

/// Delete a report (its author's organization only)
#[utoipa::path(
    delete,
    path = "/reports/{id}",
    tag = "reports",
    params(("id" = String, Path, description = "The report's id (a UUID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not this token's to delete", body = ErrorBody),
        (status = 404, description = "No such report, or not one the caller may read", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete_report(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let uid = parse_uid(&id)?;
    let hub = state.hub.clone();
    blocking(move || hub.delete_report(&viewer, &uid)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportListQuery {
    /// `next_cursor` of the page before.
    cursor: Option<String>,
    /// Reports per page, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// Created at or after: RFC 3339 or `YYYY-MM-DD`.
    since: Option<String>,
    /// Created before: RFC 3339 or `YYYY-MM-DD`.
    until: Option<String>,
    /// A sector slug.
    sector: Option<String>,
    #[param(value_type = Option<IncidentTypeName>)]
    incident_type: Option<String>,
    /// Only the caller's organization's (needs a token).
    mine: Option<bool>,
}

/// List reports the caller may read, newest first
#[utoipa::path(
    get,
    path = "/reports",
    tag = "reports",
    params(ReportListQuery),
    responses((status = 200, description = "A page of reports", body = ReportList)),
    security((), ("bearer" = [])),
)]
pub async fn list_reports(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    query: Result<Query<ReportListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<views::ReportList>> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let hub = state.hub.clone();
    blocking(move || {
        let limit = page_limit(q.limit)?;
        let before = q
            .cursor
            .as_deref()
            .map(|c| decode_cursor('r', c))
            .transpose()?;
        let filter = ReportFilter {
            since: q
                .since
                .as_deref()
                .map(|s| parse_time("since", s))
                .transpose()?,
            until: q
                .until
                .as_deref()
                .map(|s| parse_time("until", s))
                .transpose()?,
            sector: q
                .sector
                .as_deref()
                .map(|s| check_sector(&hub, "sector", s))
                .transpose()?,
            incident_type: q
                .incident_type
                .as_deref()
                .map(|s| parse_incident("incident_type", s))
                .transpose()?,
            mine: q.mine.unwrap_or(false),
        };
        if filter.mine && viewer == Viewer::Public {
            return Err(ApiError::unauthorized("mine=true needs a token"));
        }
        let page = hub.list_reports(&viewer, &filter, before, limit)?;
        let next = page.next;
        let items = page
            .items
            .iter()
            .map(|r| ReportView::build(&hub, &viewer, r, None))
            .collect::<HubResult<Vec<_>>>()?;
        Ok(views::ReportList {
            reports: items,
            next_cursor: next.map(|n| encode_cursor('r', n)),
        })
    })
    .await
    .map(Json)
}

// ---- handlers: indicators -------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IndicatorListQuery {
    /// `next_cursor` of the page before.
    cursor: Option<String>,
    /// Indicators per page, 1 to 1000 (default 100).
    limit: Option<usize>,
    /// Only this kind (`type` is the same).
    #[param(value_type = Option<KindName>)]
    kind: Option<String>,
    #[serde(rename = "type")]
    #[param(value_type = Option<KindName>)]
    type_: Option<String>,
    /// Values containing this text (at most 256 bytes).
    q: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`; so are the three below.
    first_seen_after: Option<String>,
    first_seen_before: Option<String>,
    last_seen_after: Option<String>,
    last_seen_before: Option<String>,
}

/// List indicators the caller may see
#[utoipa::path(
    get,
    path = "/indicators",
    tag = "indicators",
    params(IndicatorListQuery),
    responses((status = 200, description = "A page of indicators", body = IndicatorList)),
    security((), ("bearer" = [])),
)]
pub async fn list_indicators(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    query: Result<Query<IndicatorListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<views::IndicatorList>> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let hub = state.hub.clone();
    blocking(move || {
        let limit = page_limit(q.limit)?;
        let after = q
            .cursor
            .as_deref()
            .map(|c| decode_cursor('i', c))
            .transpose()?;
        let kind_field = if q.kind.is_some() { "kind" } else { "type" };
        let kind = q
            .kind
            .or(q.type_)
            .map(|k| parse_kind(kind_field, &k))
            .transpose()?;
        let text = match q.q {
            Some(t) if t.len() > 256 => {
                return Err(ApiError::invalid(
                    "q",
                    "search text is longer than 256 bytes",
                ))
            }
            Some(t) if !t.trim().is_empty() => Some(t.trim().to_lowercase()),
            _ => None,
        };
        let time = |f: &str, v: &Option<String>| v.as_deref().map(|s| parse_time(f, s)).transpose();
        let filter = IndicatorFilter {
            kind,
            text,
            first_seen_after: time("first_seen_after", &q.first_seen_after)?,
            first_seen_before: time("first_seen_before", &q.first_seen_before)?,
            last_seen_after: time("last_seen_after", &q.last_seen_after)?,
            last_seen_before: time("last_seen_before", &q.last_seen_before)?,
        };
        let page = hub.list_indicators(&viewer, &filter, after, limit)?;
        let next = page.next;
        Ok(views::IndicatorList {
            indicators: page
                .items
                .iter()
                .map(|(r, a)| views::IndicatorSummary::build(&r.observable, a))
                .collect(),
            next_cursor: next.map(|n| encode_cursor('i', n)),
        })
    })
    .await
    .map(Json)
}

/// Everything the caller may know about one indicator
///
/// `value` is the rest of the path, so it may hold slashes (URLs).
#[utoipa::path(
    get,
    path = "/indicators/{kind}/{value}",
    tag = "indicators",
    params(
        ("kind" = KindName, Path, description = "The kind of observable", example = "domain"),
        ("value" = String, Path, description = "The value, in any form canonicalization accepts",
         example = "evil.example"),
    ),
    responses(
        (status = 200, description = "The indicator", body = IndicatorDetail),
        (status = 404, description = "Not an indicator the caller may see", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get_indicator(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path((kind, value)): Path<(String, String)>,
) -> ApiResult<Json<views::IndicatorDetail>> {
    let kind = parse_kind("type", &kind)?;
    let obs = canonicalize(kind, &value).map_err(|e| ApiError::invalid("value", e.to_string()))?;
    let hub = state.hub.clone();
    blocking(move || {
        let d = hub.indicator_detail(&viewer, &obs)?;
        let reports = d
            .assessment
            .reports
            .iter()
            .map(|l| {
                let organization = author(&hub, &l.access)?.map(|o| views::OrgView {
                    name: o.name,
                    sector: o.sector,
                });
                Ok(views::ReportRef {
                    id: uuid::Uuid::from_bytes(l.uid).to_string(),
                    title: l.title.clone(),
                    incident_type: l.incident_type,
                    tlp: l.access.tlp,
                    organization,
                    mine: hub.is_owner(&viewer, &l.access),
                    created_at: rfc3339(l.created_at),
                })
            })
            .collect::<HubResult<Vec<_>>>()?;
        let state = hub.decision_state(&viewer, &d.record, now_millis())?;
        let mut decision = views::DecisionView::build(&state);
        if viewer == Viewer::Public {
            // Who decided what is for members.
            decision.history.clear();
        }
        let summary = views::IndicatorSummary::build(&d.record.observable, &d.assessment);
        Ok::<_, HubError>(views::IndicatorDetail {
            kind: summary.kind,
            value: summary.value,
            first_seen: summary.first_seen,
            last_seen: summary.last_seen,
            reports,
            seen_by_orgs: summary.seen_by_orgs,
            decision,
            sightings: d.sightings.as_ref().map(views::SightingsView::build),
        })
    })
    .await
    .map(Json)
}

// ---- handlers: sightings -----------------------------------------------------------

fn parse_sighting(field: &str, v: &Value, now: Millis) -> HubResult<NewSighting> {
    let map = v.as_object().ok_or_else(|| {
        HubError::invalid(
            field,
            "each sighting is {\"type\", \"value\", \"seen_at\", \"count\"}",
        )
    })?;
    for key in map.keys() {
        if !matches!(key.as_str(), "type" | "value" | "seen_at" | "count") {
            return Err(HubError::invalid(
                format!("{field}.{key}"),
                "unknown field; use type, value, seen_at, count",
            ));
        }
    }
    let observable = parse_stored_indicator(
        field,
        &json!({ "type": map.get("type").cloned().unwrap_or(Value::Null), "value": map.get("value").cloned().unwrap_or(Value::Null) }),
    )?;
    let seen_at = match map.get("seen_at") {
        None | Some(Value::Null) => now,
        Some(Value::String(s)) => parse_time(&format!("{field}.seen_at"), s)?,
        Some(Value::Number(n)) => {
            n.as_i64()
                .and_then(|s| s.checked_mul(1000))
                .ok_or_else(|| {
                    HubError::invalid(
                        format!("{field}.seen_at"),
                        "seconds since the epoch must be a whole number",
                    )
                })?
        }
        Some(_) => {
            return Err(HubError::invalid(
                format!("{field}.seen_at"),
                "must be RFC 3339 text or seconds since the epoch",
            ))
        }
    };
    if seen_at < 0 || seen_at > now + 86_400_000 {
        return Err(HubError::invalid(
            format!("{field}.seen_at"),
            "must be after 1970 and not more than a day in the future",
        ));
    }
    let count = match map.get("count") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=limits::SIGHTING_COUNT_MAX).contains(n))
            .ok_or_else(|| {
                HubError::invalid(
                    format!("{field}.count"),
                    format!(
                        "count must be a whole number from 1 to {}",
                        limits::SIGHTING_COUNT_MAX
                    ),
                )
            })?,
    };
    Ok(NewSighting {
        observable,
        seen_at,
        count,
    })
}

/// A sighting batch: `{"sightings": [...]}` or a bare array, read item by
/// item and refused at item `SIGHTINGS_BATCH_MAX + 1`.
pub struct SightingsIn(Vec<Value>);

impl<'de> Deserialize<'de> for SightingsIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const SHAPE: &str = "send {\"sightings\": [...]} or an array of sightings";
        fn items<'de, A: serde::de::SeqAccess<'de>>(seq: A) -> Result<Vec<Value>, A::Error> {
            let items: Vec<Item> = bounded_seq(seq, limits::SIGHTINGS_BATCH_MAX)?;
            Ok(items.into_iter().map(|i| i.0).collect())
        }
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SightingsIn;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(SHAPE)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<SightingsIn, A::Error> {
                items(seq).map(SightingsIn)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<SightingsIn, A::Error> {
                let mut out = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "sightings" || out.is_some() {
                        return Err(serde::de::Error::custom(SHAPE));
                    }
                    out = Some(map.next_value::<SeqOf>()?.0);
                }
                out.map(SightingsIn)
                    .ok_or_else(|| serde::de::Error::custom(SHAPE))
            }
        }
        /// The list under `"sightings"`.
        struct SeqOf(Vec<Value>);
        impl<'de> Deserialize<'de> for SeqOf {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct S;
                impl<'de> serde::de::Visitor<'de> for S {
                    type Value = SeqOf;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(SHAPE)
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        seq: A,
                    ) -> Result<SeqOf, A::Error> {
                        items(seq).map(SeqOf)
                    }
                }
                d.deserialize_any(S)
            }
        }
        d.deserialize_any(V)
    }
}

/// One sighting as sent.
#[derive(ToSchema)]
#[allow(dead_code)] // A schema only: sightings are read as bounded JSON values.
pub struct SightingInput {
    /// Detected from the value when absent.
    #[serde(rename = "type")]
    #[schema(value_type = Option<KindName>)]
    kind: Option<String>,
    value: String,
    /// RFC 3339 text or seconds since the epoch (default: now); not more
    /// than a day in the future.
    #[schema(value_type = Option<SeenAt>)]
    seen_at: Option<String>,
    /// How many times (default 1).
    #[schema(minimum = 1)]
    count: Option<u64>,
}

/// A sighting batch as sent: `{"sightings": [...]}` or a bare array.
#[derive(ToSchema)]
#[schema(example = json!({"sightings": [
    {"type": "domain", "value": "evil.example", "seen_at": "2026-11-22T09:00:00Z", "count": 3},
    {"value": "192.0.2.10", "seen_at": 1795338000}
]}))]
#[allow(dead_code)] // A schema only: see [`SightingsIn`].
#[serde(untagged)]
pub enum SightingBatch {
    Wrapped {
        #[schema(min_items = 1)]
        sightings: Vec<SightingInput>,
    },
    Bare(Vec<SightingInput>),
}

/// Report sightings (batched; all or nothing: one bad item refuses the batch)
#[utoipa::path(
    post,
    path = "/sightings",
    tag = "sightings",
    request_body = SightingBatch,
    responses(
        (status = 200, description = "Taken in", body = SightingsAccepted),
        (status = 403, description = "This token may not post sightings", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn post_sightings(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    body: Result<JsonBody<SightingsIn>, ApiError>,
) -> ApiResult<Json<views::SightingsAccepted>> {
    require(&viewer, kyojo_core::policy::Permission::PostSightings)?;
    // Errors in a bare array are named as if it were under "sightings".
    let JsonBody(SightingsIn(items)) = body.map_err(|mut e| {
        if let Some(f) = &e.field {
            if f.starts_with('[') {
                e.field = Some(format!("sightings{f}"));
            } else if f == "body" && !e.message.contains("not valid JSON") {
                e.field = Some("sightings".to_string());
            }
        }
        e
    })?;
    let hub = state.hub.clone();
    blocking(move || {
        if items.is_empty() {
            return Err(ApiError::invalid("sightings", "the batch is empty"));
        }
        let now = now_millis();
        let batch = items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_sighting(&format!("sightings[{i}]"), v, now))
            .collect::<HubResult<Vec<_>>>()?;
        let accepted = hub.add_sightings(&viewer, &batch)?;
        let days: BTreeSet<i64> = batch.iter().map(|s| day_of(s.seen_at)).collect();
        Ok(views::SightingsAccepted {
            accepted,
            days: days.len(),
        })
    })
    .await
    .map(Json)
}

// ---- handlers: lookup ------------------------------------------------------------------

/// Values to look up, at most 10,000.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"values": ["evil.example", "https://login.evil.example/verify.php", "192.0.2.10"]}))]
#[serde(deny_unknown_fields)]
pub struct LookupIn {
    #[schema(value_type = Vec<IndicatorInput>)]
    values: Bounded<Item, { limits::LOOKUP_MAX }>,
}

/// Look values up among the indicators the caller may see
///
/// A value that does not parse is answered with `error`; it does not fail the others.
#[utoipa::path(
    post,
    path = "/lookup",
    tag = "indicators",
    request_body = LookupIn,
    responses(
        (status = 200, description = "One answer per value, in order", body = LookupResults),
        (status = 403, description = "This token may not look values up", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn lookup(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    body: Result<JsonBody<LookupIn>, ApiError>,
) -> ApiResult<Json<views::LookupResults>> {
    if !viewer.may(kyojo_core::policy::Permission::Lookup) {
        return Err(ApiError::forbidden("this token may not look values up"));
    }
    let JsonBody(input) = body?;
    let hub = state.hub.clone();
    blocking(move || {
        // Bad values are answered one by one; they do not fail the others.
        let parsed: Vec<(String, HubResult<Observable>)> = input
            .values
            .0
            .iter()
            .map(|item| &item.0)
            .enumerate()
            .map(|(i, v)| {
                let raw = match v {
                    Value::String(s) => s.clone(),
                    other => other
                        .get("value")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                };
                (raw, parse_lookup_value(&format!("values[{i}]"), v))
            })
            .collect();
        let queries: Vec<Observable> = parsed
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().cloned())
            .collect();
        let mut answers = hub.lookup(&viewer, &queries)?.into_iter();
        let results = parsed
            .into_iter()
            .map(|(input, r)| match r {
                Ok(obs) => views::LookupResult {
                    input,
                    kind: Some(obs.kind),
                    canonical: Some(obs.value),
                    matches: answers
                        .next()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|h| views::LookupMatch {
                            indicator: views::IndicatorRef {
                                kind: h.indicator.kind,
                                value: h.indicator.value,
                            },
                            how: h.how,
                            incident_types: h.incident_types,
                        })
                        .collect(),
                    error: None,
                },
                Err(e) => views::LookupResult {
                    input,
                    kind: None,
                    canonical: None,
                    matches: Vec::new(),
                    error: Some(e.message()),
                },
            })
            .collect();
        Ok::<_, HubError>(views::LookupResults { results })
    })
    .await
    .map(Json)
}

// ---- handlers: identity, sectors, administration -------------------------------------------

/// The caller's organization and role
#[utoipa::path(
    get,
    path = "/me",
    tag = "meta",
    responses(
        (status = 200, description = "Who the token speaks for", body = MeView),
        (status = 404, description = "The token's organization is gone", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn me(
    State(state): State<AppState>,
    Caller(viewer): Caller,
) -> ApiResult<Json<views::MeView>> {
    let Viewer::Member(m) = &viewer else {
        return Err(ApiError::unauthorized(
            "this needs a token: send Authorization: Bearer <token>",
        ));
    };
    let role = m.role;
    let hub = state.hub.clone();
    blocking(move || {
        let org = hub
            .policy()
            .nameable_self(&viewer)
            .map(|me| hub.named(me))
            .transpose()?
            .flatten()
            .ok_or_else(|| HubError::not_found("organization"))?;
        Ok::<_, HubError>(views::MeView {
            organization: org.name,
            sector: org.sector,
            role,
        })
    })
    .await
    .map(Json)
}

/// The sectors this hub knows
#[utoipa::path(
    get,
    path = "/sectors",
    tag = "meta",
    responses((status = 200, description = "Every sector", body = SectorList)),
    security((), ("bearer" = [])),
)]
pub async fn sectors(State(state): State<AppState>) -> Json<views::SectorList> {
    Json(views::SectorList {
        sectors: state
            .hub
            .config
            .sectors
            .iter()
            .map(|s| views::SectorView {
                slug: s.slug.clone(),
                en: s.en.clone(),
                ja: s.ja.clone(),
            })
            .collect(),
    })
}

/// The member organizations (admins only)
#[utoipa::path(
    get,
    path = "/orgs",
    tag = "admin",
    responses(
        (status = 200, description = "Every member organization", body = OrgList),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_orgs(
    State(state): State<AppState>,
    Caller(viewer): Caller,
) -> ApiResult<Json<views::OrgList>> {
    let hub = state.hub.clone();
    blocking(move || {
        let orgs = hub.list_orgs(&viewer)?;
        Ok::<_, HubError>(views::OrgList {
            orgs: orgs.iter().map(views::OrgEntry::build).collect(),
        })
    })
    .await
    .map(Json)
}

/// A new member organization.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"name": "Midori Shinkin Bank", "sector": "finance"}))]
#[serde(deny_unknown_fields)]
pub struct OrgIn {
    name: String,
    /// A sector slug.
    sector: String,
}

/// Admit an organization (admins only)
#[utoipa::path(
    post,
    path = "/orgs",
    tag = "admin",
    request_body = OrgIn,
    responses(
        (status = 201, description = "Admitted", body = OrgEntry),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create_org(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    body: Result<JsonBody<OrgIn>, ApiError>,
) -> ApiResult<Response> {
    require(&viewer, kyojo_core::policy::Permission::Administer)?;
    let JsonBody(input) = body?;
    let hub = state.hub.clone();
    let org = blocking(move || hub.admit_org(&viewer, &input.name, &input.sector)).await?;
    Ok((StatusCode::CREATED, Json(views::OrgEntry::build(&org))).into_response())
}

/// A new token for a member organization.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"org": "Sakura Bank", "role": "consumer", "label": "resolver"}))]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// The organization's name.
    org: String,
    #[schema(value_type = RoleName)]
    role: String,
    label: Option<String>,
}

/// Mint a token (admins only); its secret is in this answer only
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "admin",
    request_body = TokenIn,
    responses(
        (status = 201, description = "Minted", body = TokenCreated),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create_token(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    body: Result<JsonBody<TokenIn>, ApiError>,
) -> ApiResult<Response> {
    require(&viewer, kyojo_core::policy::Permission::Administer)?;
    let JsonBody(input) = body?;
    let role = kyojo_hub::hub::parse_role(&input.role)?;
    let hub = state.hub.clone();
    let (rec, token) =
        blocking(move || hub.mint_token(&viewer, &input.org, role, input.label.as_deref())).await?;
    Ok((
        StatusCode::CREATED,
        Json(views::TokenCreated {
            id: rec.public_id,
            org: rec.org.name,
            role: rec.role,
            token,
        }),
    )
        .into_response())
}

/// Revoke a token (admins only)
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "admin",
    params(("id" = String, Path, description = "The token's public id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "No live token with this id", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    require(&viewer, kyojo_core::policy::Permission::Administer)?;
    let hub = state.hub.clone();
    let revoked = blocking(move || hub.withdraw_token(&viewer, &id)).await?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("live token"))
    }
}

// ---- health and metrics ----------------------------------------------------------------------

/// `GET /healthz`: public, so it says nothing about what the hub holds.
pub async fn healthz() -> Json<views::Health> {
    Json(views::Health { status: "ok" })
}

/// `GET /metrics`: totals cover every report, whatever its TLP, so only an
/// admin token or the configured `metrics_token` may read them.
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let presented = crate::auth::bearer(&headers);
    let Some(token) = presented else {
        return Err(ApiError::unauthorized(
            "metrics need an admin token or the metrics token: send Authorization: Bearer <token>",
        ));
    };
    let by_metrics_token = state.hub.config.metrics_token.as_deref().is_some_and(|m| {
        use subtle::ConstantTimeEq;
        m.len() == token.len() && bool::from(m.as_bytes().ct_eq(token.as_bytes()))
    });
    if !by_metrics_token {
        let hub = state.hub.clone();
        let (viewer, _) = blocking(move || hub.authenticate(&token)).await?;
        if !matches!(&viewer, Viewer::Member(m) if m.role == Role::Admin) {
            return Err(ApiError::forbidden("metrics are for admins"));
        }
    }
    let hub: Arc<Hub> = state.hub.clone();
    let text = blocking(move || hub.metrics_text()).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// What `GET /` points to, for programs (JSON) and people (HTML).
#[derive(serde::Serialize)]
pub struct Index {
    pub ui: &'static str,
    pub api: &'static str,
    pub openapi: &'static str,
    pub taxii: &'static str,
    pub health: &'static str,
    /// Where the API is explained in words.
    pub docs: &'static str,
}

const INDEX: Index = Index {
    ui: "/ui/",
    api: "/api/v1",
    openapi: "/api/v1/openapi.json",
    taxii: "/taxii2/",
    health: "/healthz",
    docs: "README.md, section \"API\"",
};

/// `GET /`: a browser goes to the web UI (its sign-in when signed out);
/// a program gets links to the REST API's OpenAPI document (also as
/// `Link: rel="service-desc"`, RFC 8631), TAXII and the README's API section.
pub async fn index(headers: axum::http::HeaderMap) -> Response {
    let link = format!("<{}>; rel=\"service-desc\"", INDEX.openapi);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !wants_html {
        return ([(header::LINK, link)], Json(INDEX)).into_response();
    }
    // A person: the web UI, which signs them in in the language their
    // browser asks for.
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, INDEX.ui.to_string()),
            (header::LINK, link),
        ],
    )
        .into_response()
}

// ---- Decide: decisions and the allow list ---------------------------------------------

/// A decision on an indicator.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"action": "block", "comment": "phishing kit", "expires_at": "2030-12-31", "scope": "own"}))]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    #[schema(value_type = DecisionActionName)]
    action: String,
    /// At most 1000 characters.
    #[serde(default)]
    comment: String,
    /// RFC 3339 or `YYYY-MM-DD`.
    expires_at: Option<String>,
    /// `own` (the organization's own feeds) or `hub` (every member's; curators
    /// and the operator). Default: `hub` for those who may, else `own`.
    #[schema(value_type = Option<DecisionScope>)]
    scope: Option<String>,
}

/// The scope a decision asks for, or the default for this viewer.
fn decide_for(viewer: &Viewer, scope: Option<&str>) -> HubResult<kyojo_hub::decide::DecideFor> {
    use kyojo_hub::decide::DecideFor;
    match scope {
        Some("own") => Ok(DecideFor::Own),
        Some("hub") => Ok(DecideFor::Hub),
        Some(_) => Err(HubError::invalid("scope", "scope must be own or hub")),
        None if viewer.may(kyojo_core::policy::Permission::DecideForHub) => Ok(DecideFor::Hub),
        None => Ok(DecideFor::Own),
    }
}

/// Decide on an indicator: block, allow, or unset (for the hub or one's own feeds)
///
/// Routed as `POST /indicators/{kind}/{value}` whose value ends in `/decision`.
#[utoipa::path(
    post,
    path = "/indicators/{kind}/{value}/decision",
    tag = "decide",
    params(
        ("kind" = KindName, Path, description = "The kind of observable", example = "domain"),
        ("value" = String, Path, description = "The value, in any form canonicalization accepts",
         example = "evil.example"),
    ),
    request_body = DecisionIn,
    responses(
        (status = 200, description = "The indicator's decision state now", body = DecisionView),
        (status = 403, description = "This token may not decide (for the hub)", body = ErrorBody),
        (status = 404, description = "No such route (the path does not end in /decision)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn post_decision(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path((kind, value)): Path<(String, String)>,
    body: Result<JsonBody<DecisionIn>, ApiError>,
) -> ApiResult<Json<views::DecisionView>> {
    let Some(value) = value.strip_suffix("/decision") else {
        return Err(ApiError::not_found("route"));
    };
    require(&viewer, kyojo_core::policy::Permission::WriteReports)?;
    let JsonBody(input) = body?;
    let kind = parse_kind("type", &kind)?;
    let obs = canonicalize(kind, value).map_err(|e| ApiError::invalid("value", e.to_string()))?;
    let action = kyojo_core::decide::Action::parse(&input.action)
        .ok_or_else(|| ApiError::invalid("action", "action must be block, allow or unset"))?;
    if input.comment.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "comment",
            "comment is longer than 1000 characters",
        ));
    }
    crate::api::check_text("comment", &input.comment, true)?;
    let expires_at = input
        .expires_at
        .as_deref()
        .map(|s| parse_time("expires_at", s))
        .transpose()?;
    let scope = decide_for(&viewer, input.scope.as_deref())?;
    let hub = state.hub.clone();
    blocking(move || {
        let st = hub.decide(
            &viewer,
            &obs,
            action,
            input.comment.trim(),
            expires_at,
            scope,
        )?;
        Ok::<_, HubError>(views::DecisionView::build(&st))
    })
    .await
    .map(Json)
}

/// A value never to block.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"value": "partner.example", "comment": "our partner"}))]
#[serde(deny_unknown_fields)]
pub struct AllowIn {
    /// Detected from the value when absent.
    #[serde(rename = "type")]
    #[schema(value_type = Option<KindName>)]
    kind: Option<String>,
    value: String,
    /// At most 1000 characters.
    #[serde(default)]
    comment: String,
}

/// The hub-wide feed change held for the operator's confirmation, if any
#[utoipa::path(
    get,
    path = "/feed-guard",
    tag = "decide",
    responses(
        (status = 200, description = "The guard's state", body = FeedGuardView),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn feed_guard(
    State(state): State<AppState>,
    Caller(viewer): Caller,
) -> ApiResult<Json<views::FeedGuardView>> {
    let hub = state.hub.clone();
    blocking(move || {
        let pending = hub.pending_feed_change(&viewer)?;
        Ok::<_, HubError>(views::FeedGuardView {
            held: pending.is_some(),
            pending: pending.as_ref().map(views::PendingChangeView::build),
            fraction: hub.config.decisions.feed_change_guard,
        })
    })
    .await
    .map(Json)
}

/// Publish the held feed change
#[utoipa::path(
    post,
    path = "/feed-guard/confirm",
    tag = "decide",
    responses(
        (status = 200, description = "Published", body = FeedGuardConfirmed),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 409, description = "No feed change is waiting", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn feed_guard_confirm(
    State(state): State<AppState>,
    Caller(viewer): Caller,
) -> ApiResult<Json<views::FeedGuardConfirmed>> {
    let hub = state.hub.clone();
    blocking(move || {
        let p = hub.confirm_feed_change(&viewer)?;
        Ok::<_, HubError>(views::FeedGuardConfirmed {
            confirmed: views::PendingChangeView::build(&p),
        })
    })
    .await
    .map(Json)
}

/// The false-positive lists (MISP warninglists) the hub applies
///
/// `embedded` lists come with kyojo (public DNS resolvers, sinkholes) and
/// their values can never be blocked; `loaded` ones were chosen by the
/// operator (`kyojo warninglists load`) and yield only to an explicit block.
/// No rule makes a value on any of them actionable.
#[utoipa::path(
    get,
    path = "/warninglists",
    tag = "decide",
    responses(
        (status = 200, description = "Every list applied", body = WarninglistList),
        (status = 401, description = "No token", body = ErrorBody),
        (status = 403, description = "This token may not read indicators", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn warninglists(
    State(state): State<AppState>,
    Caller(viewer): Caller,
) -> ApiResult<Json<views::WarninglistList>> {
    let hub = state.hub.clone();
    blocking(move || {
        let lists = hub.warninglists(&viewer)?;
        Ok::<_, HubError>(views::WarninglistList::build(&lists))
    })
    .await
    .map(Json)
}

/// The operator's allow list (admins only)
#[utoipa::path(
    get,
    path = "/allowlist",
    tag = "decide",
    responses(
        (status = 200, description = "Every entry", body = AllowList),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn allowlist(
    State(state): State<AppState>,
    Caller(viewer): Caller,
) -> ApiResult<Json<views::AllowList>> {
    let hub = state.hub.clone();
    blocking(move || {
        let list = hub.allow_list(&viewer)?;
        Ok::<_, HubError>(views::AllowList {
            allowlist: list
                .iter()
                .map(|e| views::AllowEntryView {
                    kind: e.observable.kind,
                    value: e.observable.value.clone(),
                    comment: e.comment.clone(),
                    created_at: rfc3339(e.created_at),
                })
                .collect(),
        })
    })
    .await
    .map(Json)
}

/// Add a value to the allow list (admins only)
#[utoipa::path(
    post,
    path = "/allowlist",
    tag = "decide",
    request_body = AllowIn,
    responses(
        (status = 201, description = "Added", body = AllowAdded),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn allow_add(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    body: Result<JsonBody<AllowIn>, ApiError>,
) -> ApiResult<Response> {
    require(&viewer, kyojo_core::policy::Permission::Administer)?;
    let JsonBody(input) = body?;
    let obs =
        parse_indicator("", &json!({"type": input.kind, "value": input.value})).map_err(|e| {
            let field = e
                .field()
                .unwrap_or_default()
                .trim_start_matches('.')
                .to_string();
            HubError::invalid(field, e.message())
        })?;
    if input.comment.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "comment",
            "comment is longer than 1000 characters",
        ));
    }
    crate::api::check_text("comment", &input.comment, true)?;
    let hub = state.hub.clone();
    let e = blocking(move || hub.allow_add(&viewer, &obs, input.comment.trim())).await?;
    Ok((
        StatusCode::CREATED,
        Json(views::AllowAdded {
            kind: e.observable.kind,
            value: e.observable.value,
            comment: e.comment,
        }),
    )
        .into_response())
}

/// Remove a value from the allow list (admins only)
#[utoipa::path(
    delete,
    path = "/allowlist/{kind}/{value}",
    tag = "decide",
    params(
        ("kind" = KindName, Path, description = "The kind of observable", example = "domain"),
        ("value" = String, Path, description = "The value, in any form canonicalization accepts",
         example = "evil.example"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin token", body = ErrorBody),
        (status = 404, description = "Not on the allow list", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn allow_remove(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path((kind, value)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require(&viewer, kyojo_core::policy::Permission::Administer)?;
    let kind = parse_kind("type", &kind)?;
    let obs = canonicalize(kind, &value).map_err(|e| ApiError::invalid("value", e.to_string()))?;
    let hub = state.hub.clone();
    let removed = blocking(move || hub.allow_remove(&viewer, &obs)).await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("allow-list entry"))
    }
}

// ---- Act: feeds ------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// RPZ: `nxdomain` (default) or `walled_garden`.
    #[param(value_type = Option<RpzAction>)]
    action: Option<String>,
    /// hosts: the address names point to (default 0.0.0.0).
    sinkhole: Option<String>,
}

fn http_date(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// The reports the caller may read, as a MISP feed
///
/// `manifest.json` (every event, keyed by uuid), `{uuid}.json` (one event)
/// and `hashes.csv` (the MD5 of each value, beside its event's uuid): add
/// this hub to MISP as a feed of type "MISP Feed" with the URL
/// `…/api/v1/feeds/misp` and the header `Authorization: Bearer <token>`.
/// The token's role rules are the REST API's (a `consumer` token, which may
/// not read reports, is refused); an anonymous report's creator (`Orgc`) is
/// the hub; `to_ids` marks values actionable in the caller's feeds.
#[utoipa::path(
    get,
    path = "/feeds/misp/{file}",
    tag = "feeds",
    params(
        ("file" = String, Path, description = "manifest.json, hashes.csv or {uuid}.json", example = "manifest.json"),
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds"),
    ),
    responses(
        (status = 200, description = "The file",
         content((Object = "application/json"), ("text/csv")),
         headers(("ETag" = String, description = "A hash of the content"))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 403, description = "This token may not read reports", body = ErrorBody),
        (status = 404, description = "No such file, or an event the caller may not read", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn misp_feed(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path(file): Path<String>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    enum Wanted {
        Manifest,
        Hashes,
        Event(uuid::Uuid),
    }
    let wanted = match file.as_str() {
        "manifest.json" => Wanted::Manifest,
        "hashes.csv" => Wanted::Hashes,
        other => other
            .strip_suffix(".json")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .map(Wanted::Event)
            .ok_or_else(|| ApiError::not_found("MISP feed file").with_field("file"))?,
    };
    let hub = state.hub.clone();
    let (body, content_type) = blocking(move || -> HubResult<(Vec<u8>, &'static str)> {
        Ok(match wanted {
            Wanted::Manifest => (
                serde_json::to_vec(&hub.misp_feed(&viewer)?.manifest()).unwrap_or_default(),
                "application/json",
            ),
            Wanted::Hashes => (
                hub.misp_feed(&viewer)?.hashes().into_bytes(),
                "text/csv; charset=utf-8",
            ),
            Wanted::Event(id) => (
                serde_json::to_vec(&hub.misp_event(&viewer, &id)?).unwrap_or_default(),
                "application/json",
            ),
        })
    })
    .await?;
    let etag = {
        use sha2::Digest;
        format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&body)[..16]))
    };
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        body,
    )
        .into_response())
}

/// A feed of the actionable indicators the caller may see
///
/// `rpz` (an RPZ zone), `hosts`, `domains.txt`, `urls.txt`, `ips.txt` (one
/// value a line) and `indicators.csv`. Conditional requests
/// (`If-None-Match`, `If-Modified-Since`) are answered 304 when unchanged.
#[utoipa::path(
    get,
    path = "/feeds/{name}",
    tag = "feeds",
    params(
        ("name" = FeedName, Path, description = "The feed"),
        FeedQuery,
        ("If-None-Match" = Option<String>, Header, description = "ETags the client holds"),
        ("If-Modified-Since" = Option<String>, Header, description = "An HTTP date"),
    ),
    responses(
        (status = 200, description = "The feed",
         content(("text/plain"), ("text/csv")),
         headers(
            ("ETag" = String, description = "A hash of the content"),
            ("Last-Modified" = String),
            ("X-Kyojo-Entries" = u64, description = "Entries in the feed"),
         )),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 403, description = "This token may not read feeds", body = ErrorBody),
        (status = 404, description = "No such feed", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn feed(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path(name): Path<String>,
    query: Result<Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let format = kyojo_hub::feeds::FeedFormat::from_path(&name)
        .ok_or_else(|| ApiError::not_found("feed"))?;
    let walled_garden = match q.action.as_deref() {
        None | Some("nxdomain") => false,
        Some("walled_garden") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "action",
                "action must be nxdomain or walled_garden",
            ))
        }
    };
    let sinkhole = q
        .sinkhole
        .as_deref()
        .map(|s| {
            s.parse::<std::net::IpAddr>()
                .map_err(|_| ApiError::invalid("sinkhole", "sinkhole must be an IP address"))
        })
        .transpose()?;
    let options = kyojo_hub::feeds::FeedOptions {
        walled_garden,
        sinkhole,
    };
    let hub = state.hub.clone();
    let rendered = blocking(move || hub.render_feed(&viewer, format, &options)).await?;
    let last_modified = http_date(rendered.last_modified);
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(tags) => tags
            .split(',')
            .any(|t| t.trim() == rendered.etag || t.trim() == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| rendered.last_modified / 1000 <= since.timestamp()),
    };
    let common = [
        (header::ETAG, rendered.etag.clone()),
        (header::LAST_MODIFIED, last_modified),
        (header::CACHE_CONTROL, "no-cache".to_string()),
    ];
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let body = axum::body::Body::from(rendered.body.as_ref().clone());
    Ok((
        StatusCode::OK,
        common,
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::HeaderName::from_static("x-kyojo-entries"),
                rendered.entries.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

// ---- Act: private URL checks -----------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PrefixQuery {
    /// The version the client holds; the answer is then only the changes.
    since: Option<u64>,
}

/// 4-byte SHA-256 prefixes of every actionable URL and domain expression
///
/// With `since`, only the changes from that version when this hub still keeps it.
#[utoipa::path(
    get,
    path = "/hashes/prefixes",
    tag = "feeds",
    params(PrefixQuery),
    responses(
        (status = 200, description = "The list, or the changes", body = PrefixesView),
        (status = 403, description = "This token may not read feeds", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn hash_prefixes(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    query: Result<Query<PrefixQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<views::PrefixesView>> {
    let Query(q) = query.map_err(|e| ApiError::invalid("since", e.body_text()))?;
    let hub = state.hub.clone();
    blocking(move || {
        let (current, history) = hub.prefix_set(&viewer)?;
        let hexes =
            |set: &mut dyn Iterator<Item = &[u8; 4]>| set.map(hex::encode).collect::<Vec<_>>();
        if let Some(since) = q.since {
            let base = if since == current.version {
                Some(current.clone())
            } else {
                history.iter().find(|h| h.version == since).cloned()
            };
            if let Some(base) = base {
                return Ok::<_, HubError>(views::PrefixesView::Delta(views::PrefixesDelta {
                    version: current.version,
                    full: false,
                    additions: hexes(&mut current.prefixes.difference(&base.prefixes)),
                    removals: hexes(&mut base.prefixes.difference(&current.prefixes)),
                }));
            }
        }
        Ok(views::PrefixesView::Full(views::PrefixesFull {
            version: current.version,
            full: true,
            prefix_bytes: 4,
            prefixes: hexes(&mut current.prefixes.iter()),
        }))
    })
    .await
    .map(Json)
}

/// Prefixes to resolve, at most 1000.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"prefixes": ["0a1b2c3d", "ffffffff"]}))]
#[serde(deny_unknown_fields)]
pub struct HashSearchIn {
    /// 8 hex digits (4 bytes) each.
    #[schema(value_type = Vec<String>)]
    prefixes: Bounded<String, 1000>,
}

/// Full hashes for 4-byte prefixes
///
/// The hub never learns the URL; it logs nothing of the request but its route.
#[utoipa::path(
    post,
    path = "/hashes:search",
    tag = "feeds",
    request_body = HashSearchIn,
    responses(
        (status = 200, description = "Full hashes of actionable expressions", body = HashSearchResult),
        (status = 403, description = "This token may not check hashes", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn hash_search(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    body: Result<JsonBody<HashSearchIn>, ApiError>,
) -> ApiResult<Json<views::HashSearchResult>> {
    if !viewer.may(kyojo_core::policy::Permission::ReadFeeds) {
        return Err(ApiError::forbidden("this token may not check hashes"));
    }
    let JsonBody(input) = body?;
    let prefixes = input
        .prefixes
        .0
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let bytes = hex::decode(p).ok().filter(|b| b.len() == 4);
            bytes.map(|b| [b[0], b[1], b[2], b[3]]).ok_or_else(|| {
                ApiError::invalid(
                    format!("prefixes[{i}]"),
                    "each prefix is 8 hex digits (4 bytes)",
                )
            })
        })
        .collect::<ApiResult<Vec<[u8; 4]>>>()?;
    let hub = state.hub.clone();
    blocking(move || {
        let found = hub.search_hashes(&viewer, &prefixes)?;
        Ok::<_, HubError>(views::HashSearchResult {
            matches: found
                .iter()
                .map(|(p, f)| views::HashMatch {
                    prefix: hex::encode(p),
                    full_hash: hex::encode(f.hash),
                    threat_type: f.threat.clone(),
                    expires_at: f.expires_at.map(rfc3339),
                })
                .collect(),
            cache_seconds: 300,
        })
    })
    .await
    .map(Json)
}

// ---- Act: the warning page --------------------------------------------------------------------

#[derive(Deserialize)]
pub struct WarnQuery {
    host: Option<String>,
    lang: Option<String>,
}

/// `GET /warn?host=...`: the page end users see when their resolver redirects them.
pub async fn warn_page(
    State(state): State<AppState>,
    Query(q): Query<WarnQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    use crate::warn::{render, Lang, WarnContact};
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = Lang::negotiate(q.lang.as_deref(), accept);
    let host: String = q.host.unwrap_or_default().chars().take(253).collect();
    let hub = state.hub.clone();
    let lookup_host = host.clone();
    let listing = blocking(move || hub.warning_listing(&lookup_host)).await?;
    // Not CLEAR-listed and not listed look the same to the public: the page
    // never confirms what the community shares only with its members.
    let listing = listing.or_else(|| {
        (!host.is_empty()).then(|| crate::warn::Listing {
            threats: Vec::new(),
            last_seen: None,
        })
    });
    let cfg = &state.hub.config;
    let contact = WarnContact {
        hub_name: cfg.hub_name.clone(),
        contact_en: cfg.warn_contact_en.clone(),
        contact_ja: cfg.warn_contact_ja.clone(),
    };
    let html = render(lang, &host, listing.as_ref(), &contact);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            ),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::HeaderName::from_static("referrer-policy"),
                "no-referrer",
            ),
            (
                header::HeaderName::from_static("x-content-type-options"),
                "nosniff",
            ),
            (header::CONTENT_LANGUAGE, lang.code()),
            (header::VARY, "Accept-Language"),
        ],
        html,
    )
        .into_response())
}

// ---- STIX ---------------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StixImportQuery {
    /// Marking to use instead of the bundle's own (never less restrictive than it).
    #[param(value_type = Option<TlpName>)]
    tlp: Option<String>,
    /// `community` or the JSON of a report body's audience, e.g. `{"sectors":["finance"]}`.
    audience: Option<String>,
    /// Default: anonymous when the bundle speaks for the hub or re-imports an anonymous report.
    anonymous: Option<bool>,
}

/// An import's answer: 201 when it made something new, else 200 (the same
/// input was imported before).
fn created_or_found(created: bool, body: impl serde::Serialize) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}

/// An import's `audience` parameter: `community`, or a report body's audience as JSON.
pub fn parse_import_audience(hub: &Hub, s: &str) -> HubResult<Audience> {
    let value = if s.trim_start().starts_with(['{', '"']) {
        serde_json::from_str(s).map_err(|e| HubError::invalid("audience", e.to_string()))?
    } else {
        Value::String(s.trim().to_string())
    };
    parse_audience(hub, &value)
}

/// Import a STIX 2.1 bundle as one report (all or nothing)
///
/// The same objects imported again by the same organization answer 200
/// with the earlier report and `"already_imported": true`.
#[utoipa::path(
    post,
    path = "/stix",
    tag = "stix",
    params(StixImportQuery),
    request_body(content = StixBundle, description = "A STIX 2.1 bundle",
        content_type = "application/json"),
    responses(
        (status = 201, description = "Imported as a new report", body = StixImported),
        (status = 200, description = "Imported before", body = StixImported),
        (status = 403, description = "This token may not write reports", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn import_stix(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    query: Result<Query<StixImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<JsonBody<Limited<STIX_IMPORT_MAX_VALUES>>, ApiError>,
) -> ApiResult<Response> {
    require(&viewer, kyojo_core::policy::Permission::WriteReports)?;
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let JsonBody(Limited(bundle)) = body?;
    let tlp = q.tlp.as_deref().map(|t| parse_tlp("tlp", t)).transpose()?;
    if bundle.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err(ApiError::invalid(
            "type",
            "the body must be a STIX bundle (\"type\": \"bundle\")",
        ));
    }
    let objects = bundle
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::invalid("objects", "a bundle needs an objects list"))?;
    let hub = state.hub.clone();
    let (created, body) = blocking(move || {
        let audience = q
            .audience
            .as_deref()
            .map(|a| parse_import_audience(&hub, a))
            .transpose()?;
        let options = kyojo_hub::stix::ImportOptions {
            tlp,
            audience,
            anonymous: q.anonymous,
        };
        let done = hub.import_stix(&viewer, objects, options)?;
        let indicators = done.report.indicators.len();
        Ok::<_, HubError>((
            done.created,
            views::StixImported {
                report: ReportView::build(&hub, &viewer, &done.report, None)?,
                objects: done.objects,
                indicators,
                already_imported: !done.created,
            },
        ))
    })
    .await?;
    Ok(created_or_found(created, body))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MispImportQuery {
    /// Marking to use instead of the event's own (never less restrictive
    /// than it; an event with neither a `tlp:` tag nor a distribution is AMBER).
    #[param(value_type = Option<TlpName>)]
    tlp: Option<String>,
    /// `community` (the default) or the JSON of a report body's audience.
    audience: Option<String>,
    /// Share it anonymously (default false).
    anonymous: Option<bool>,
    /// Also take attributes whose `to_ids` is false (default false).
    include_non_ids: Option<bool>,
    /// Default: from the event's tags, else `other`.
    #[param(value_type = Option<IncidentTypeName>)]
    incident_type: Option<String>,
}

/// Import a MISP event as a report
///
/// The body is one MISP event (`{"Event": {...}}`, as a MISP feed's event
/// file or PyMISP's `to_json()`). Its attributes and those of its objects
/// become indicators (composites split; types kyojo keeps: ip-src/ip-dst,
/// domain, hostname, url, uri, link, md5, sha1, sha256, email types, and
/// their `|port`, `domain|ip`, `filename|hash` composites); `skipped` counts
/// the rest by reason. The same event imported again by the same
/// organization answers 200 with the earlier report.
#[utoipa::path(
    post,
    path = "/misp/events",
    tag = "stix",
    params(MispImportQuery),
    request_body(content = Object, description = "A MISP event", content_type = "application/json"),
    responses(
        (status = 201, description = "Imported as a new report", body = MispImported),
        (status = 200, description = "Imported before", body = MispImported),
        (status = 400, description = "Not a MISP event, or nothing kyojo keeps in it", body = ErrorBody),
        (status = 403, description = "This token may not write reports", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn import_misp(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    query: Result<Query<MispImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<JsonBody<Limited<STIX_IMPORT_MAX_VALUES>>, ApiError>,
) -> ApiResult<Response> {
    require(&viewer, kyojo_core::policy::Permission::WriteReports)?;
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let JsonBody(Limited(event)) = body?;
    let tlp = q.tlp.as_deref().map(|t| parse_tlp("tlp", t)).transpose()?;
    let incident_type = q
        .incident_type
        .as_deref()
        .map(|t| {
            IncidentType::parse(t)
                .ok_or_else(|| ApiError::invalid("incident_type", "not a known incident type"))
        })
        .transpose()?;
    let hub = state.hub.clone();
    let (created, body) = blocking(move || {
        let audience = q
            .audience
            .as_deref()
            .map(|a| parse_import_audience(&hub, a))
            .transpose()?;
        let options = kyojo_hub::misp::MispImportOptions {
            tlp,
            audience,
            anonymous: q.anonymous.unwrap_or(false),
            with_non_ids: q.include_non_ids.unwrap_or(false),
            incident_type,
        };
        let done = hub.import_misp_event(&viewer, &event, &options, now_millis())?;
        Ok::<_, HubError>((
            done.created,
            views::MispImported {
                report: ReportView::build(&hub, &viewer, &done.report, None)?,
                values: done.values,
                skipped: done.skipped,
                already_imported: !done.created,
            },
        ))
    })
    .await?;
    Ok(created_or_found(created, body))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListImportQuery {
    /// The reports' title (default: the list's name and today's date).
    title: Option<String>,
    /// Default CLEAR: these lists are public.
    #[param(value_type = Option<TlpName>)]
    tlp: Option<String>,
    /// `community` (the default) or the JSON of a report body's audience.
    audience: Option<String>,
    /// Share them anonymously (default false).
    anonymous: Option<bool>,
    /// Default: what the list is about (URLhaus malware, ThreatFox and Feodo
    /// command-and-control, PhishTank and OpenPhish phishing, else other).
    #[param(value_type = Option<IncidentTypeName>)]
    incident_type: Option<String>,
}

/// Import a published list as reports
///
/// The body is the list's file as published: `urlhaus` (CSV dump),
/// `threatfox` (CSV export), `feodo` (`ipblocklist.csv`), `spamhaus-drop`
/// (`drop_v4.json`, `drop_v6.json` or `drop.txt`), `phishtank`
/// (`online-valid.csv`), `openphish` (`feed.txt`) or `list` (one value a
/// line). Rows the list marks offline are left out and counted; rows that
/// do not parse are skipped and counted with their line. The values become
/// reports of the caller's organization, at most 5,000 values each; the same
/// file imported again by the same organization answers 200 with the same
/// reports.
#[utoipa::path(
    post,
    path = "/imports/{format}",
    tag = "stix",
    params(
        ("format" = String, Path, description = "urlhaus, threatfox, feodo, spamhaus-drop, phishtank, openphish or list", example = "list"),
        ListImportQuery,
    ),
    request_body(content = String, description = "The list, as published", content_type = "text/plain"),
    responses(
        (status = 201, description = "Imported as new reports", body = ListImported),
        (status = 200, description = "Imported before", body = ListImported),
        (status = 400, description = "Nothing readable in it", body = ErrorBody),
        (status = 403, description = "This token may not write reports", body = ErrorBody),
        (status = 404, description = "No such format", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn import_list(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path(format): Path<String>,
    query: Result<Query<ListImportQuery>, axum::extract::rejection::QueryRejection>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    require(&viewer, kyojo_core::policy::Permission::WriteReports)?;
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let format = kyojo_formats::intake::Format::preset(&format)
        .ok_or_else(|| ApiError::not_found("list format").with_field("format"))?;
    let tlp = q
        .tlp
        .as_deref()
        .map(|t| parse_tlp("tlp", t))
        .transpose()?
        .unwrap_or(Tlp::Clear);
    let incident_type = match q.incident_type.as_deref() {
        Some(t) => IncidentType::parse(t)
            .ok_or_else(|| ApiError::invalid("incident_type", "not a known incident type"))?,
        None => kyojo_hub::imports::preset_incident_type(&format),
    };
    let hub = state.hub.clone();
    let (created, body) = blocking(move || {
        let audience = match q.audience.as_deref() {
            Some(a) => parse_import_audience(&hub, a)?,
            None => Audience::Community,
        };
        let title = q
            .title
            .unwrap_or_else(|| kyojo_hub::imports::default_title(&format));
        let how = kyojo_hub::imports::ListImport {
            format,
            title,
            incident_type,
            tlp,
            audience,
            anonymous: q.anonymous.unwrap_or(false),
        };
        let done = hub.import_list(&viewer, &body, &how, now_millis())?;
        Ok::<_, HubError>((
            done.already < done.reports.len(),
            views::ListImported::build(&done),
        ))
    })
    .await?;
    Ok(created_or_found(created, body))
}

/// A report as a STIX 2.1 bundle
#[utoipa::path(
    get,
    path = "/reports/{id}/stix",
    tag = "stix",
    params(("id" = String, Path, description = "The report's id (a UUID)")),
    responses(
        (status = 200, description = "The bundle (with sighting aggregates from 3 or more organizations)",
         content((StixBundle = "application/stix+json;version=2.1"))),
        (status = 404, description = "No such report, or not one the caller may read", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn report_stix(
    State(state): State<AppState>,
    Caller(viewer): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let uid = parse_uid(&id)?;
    let hub = state.hub.clone();
    let bundle = blocking(move || hub.report_bundle(&viewer, &uid)).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/stix+json;version=2.1")],
        bundle.to_string(),
    )
        .into_response())
}

/// The newest administrative actions (admins only)
#[utoipa::path(
    get,
    path = "/audit",
    tag = "admin",
    responses(
        (status = 200, description = "At most 500 entries", body = AuditLog),
        (status = 403, description = "Not an admin token", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn audit_log(
    State(state): State<AppState>,
    Caller(viewer): Caller,
) -> ApiResult<Json<views::AuditLog>> {
    let hub = state.hub.clone();
    blocking(move || {
        let entries = hub.audit_log(&viewer, 500)?;
        Ok::<_, HubError>(views::AuditLog {
            audit: entries
                .iter()
                .map(|e| views::AuditEntryView {
                    at: rfc3339(e.at),
                    actor: e.actor.clone(),
                    action: e.action.clone(),
                    detail: e.detail.clone(),
                })
                .collect(),
        })
    })
    .await
    .map(Json)
}
