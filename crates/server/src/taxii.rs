//! TAXII 2.1 server: discovery, one API root, collections that map to what
//! a token may see, objects/manifest/versions with the spec's filters, and a
//! writable inbox whose status resources are kept in the store.
//!
//! Pages are cut by an opaque cursor over the store's insertion sequence, so
//! a `next` survives restarts and works on every node sharing the database.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use kyojo_core::Viewer;
use kyojo_store::{Millis, StixScan};

use crate::error::ApiError;
use crate::runtime::blocking;
use crate::AppState;
use kyojo_hub::hub::now_millis;
use kyojo_hub::stix::{Collection, VersionFilter};
use kyojo_hub::HubError;

pub const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";
pub const STIX_MEDIA: &str = "application/stix+json;version=2.1";
const PAGE_MAX: usize = 1000;

/// Errors in TAXII's own shape: `{"title", "description", "http_status"}`.
pub struct TaxiiError(pub ApiError);

impl From<HubError> for TaxiiError {
    fn from(e: HubError) -> Self {
        TaxiiError(e.into())
    }
}

impl From<ApiError> for TaxiiError {
    fn from(e: ApiError) -> Self {
        TaxiiError(e)
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let body = json!({
            "title": e.code,
            "description": match &e.field { Some(f) => format!("{f}: {}", e.message), None => e.message.clone() },
            "http_status": e.status.as_u16().to_string(),
        });
        let mut resp = taxii_json(e.status, body);
        if e.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"kyojo TAXII\", Bearer realm=\"kyojo\""),
            );
        }
        resp
    }
}

type TaxiiResult<T> = Result<T, TaxiiError>;

/// Path segments, or a TAXII error (invalid UTF-8, say).
fn path_of<T>(p: Result<Path<T>, PathRejection>) -> TaxiiResult<T> {
    p.map(|Path(t)| t)
        .map_err(|e| ApiError::invalid("path", e.body_text()).into())
}

/// Query parameters, or a TAXII error.
fn query_of(
    q: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> TaxiiResult<Vec<(String, String)>> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::invalid("query", e.body_text()).into())
}

fn taxii_json(status: StatusCode, body: Value) -> Response {
    taxii_text(status, body.to_string())
}

/// A TAXII response from JSON text already written.
fn taxii_text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, TAXII_MEDIA)], body).into_response()
}

/// TAXII timestamps: microsecond precision.
fn taxii_time(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

/// Basic (password = token; or a username alone) or Bearer.
async fn viewer(state: &AppState, headers: &HeaderMap) -> TaxiiResult<Viewer> {
    negotiate(headers)?;
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "TAXII needs credentials: HTTP Basic with the token as password, or Bearer",
            )
        })?;
    let token = if let Some(b) = value.strip_prefix("Bearer ") {
        b.trim().to_string()
    } else if let Some(basic) = value.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ApiError::unauthorized("malformed Basic credentials"))?;
        match decoded.split_once(':') {
            Some((_, pass)) if !pass.is_empty() => pass.to_string(),
            Some((user, _)) => user.to_string(),
            None => decoded,
        }
    } else {
        return Err(ApiError::unauthorized("use HTTP Basic or Bearer").into());
    };
    let hub = state.hub.clone();
    let (viewer, _) = blocking(move || hub.authenticate(&token)).await?;
    Ok(viewer)
}

/// 406 unless the client accepts TAXII (or anything).
fn negotiate(headers: &HeaderMap) -> TaxiiResult<()> {
    let Some(raw) = headers.get(header::ACCEPT) else {
        return Ok(());
    };
    let not_acceptable = || {
        TaxiiError(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!("this server speaks {TAXII_MEDIA}"),
        ))
    };
    let accept = raw.to_str().map_err(|_| not_acceptable())?;
    let acceptable = accept.split(',').any(|range| {
        let mut parts = range.split(';').map(|p| p.trim().to_ascii_lowercase());
        let media = parts.next().unwrap_or_default();
        let version = parts.find_map(|p| {
            p.strip_prefix("version=")
                .map(|v| v.trim_matches('"').to_string())
        });
        match media.as_str() {
            "*/*" | "application/*" | "application/json" => true,
            "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
            _ => false,
        }
    });
    if acceptable {
        Ok(())
    } else {
        Err(not_acceptable())
    }
}

/// Answers for unknown paths and methods under `/taxii2`, in TAXII's shape.
pub fn taxii_fallback(path: &str, method_not_allowed: bool) -> Option<Response> {
    if !path.starts_with("/taxii2") {
        return None;
    }
    let e = if method_not_allowed {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not allowed on this TAXII endpoint",
        )
    } else {
        ApiError::not_found("TAXII endpoint (paths end with a slash, like /taxii2/)")
    };
    Some(TaxiiError(e).into_response())
}

/// Adds the TAXII routes under `/taxii2/`.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/taxii2/", get(discovery))
        .route("/taxii2/api/", get(api_root))
        .route("/taxii2/api/collections/", get(collections))
        .route("/taxii2/api/collections/{id}/", get(collection))
        .route(
            "/taxii2/api/collections/{id}/objects/",
            get(objects).post(add_objects),
        )
        .route(
            "/taxii2/api/collections/{id}/objects/{object_id}/",
            get(object),
        )
        .route(
            "/taxii2/api/collections/{id}/objects/{object_id}/versions/",
            get(versions),
        )
        .route("/taxii2/api/collections/{id}/manifest/", get(manifest))
        .route("/taxii2/api/status/{status_id}/", get(status))
}

async fn discovery(State(state): State<AppState>, headers: HeaderMap) -> TaxiiResult<Response> {
    viewer(&state, &headers).await?;
    let root = format!("{}/taxii2/api/", state.hub.base_url());
    Ok(taxii_json(
        StatusCode::OK,
        json!({
            "title": format!("{} TAXII", state.hub.config.hub_name),
            "description": "kyojo community hub: shared indicators and reports under TLP 2.0",
            "default": root,
            "api_roots": [root],
        }),
    ))
}

async fn api_root(State(state): State<AppState>, headers: HeaderMap) -> TaxiiResult<Response> {
    viewer(&state, &headers).await?;
    Ok(taxii_json(
        StatusCode::OK,
        json!({
            "title": state.hub.config.hub_name,
            "description": "Community, sector and inbox collections",
            "versions": [TAXII_MEDIA],
            "max_content_length": state.hub.config.max_body_bytes,
        }),
    ))
}

fn collection_id(c: &Collection) -> String {
    let name = match c {
        Collection::Community => "community".to_string(),
        Collection::Sector(s) => format!("sector:{s}"),
        Collection::Inbox => "inbox".to_string(),
    };
    uuid::Uuid::new_v5(
        &kyojo_formats::stix::KYOJO_NAMESPACE,
        format!("taxii-collection:{name}").as_bytes(),
    )
    .to_string()
}

fn collection_json(c: &Collection) -> Value {
    let (title, description, read, write) = match c {
        Collection::Community => (
            "Community",
            "Everything this token may read".to_string(),
            true,
            false,
        ),
        Collection::Sector(s) => (
            "Sector",
            format!("What this token may read for or about the {s} sector"),
            true,
            false,
        ),
        Collection::Inbox => (
            "Inbox",
            "Share a bundle with the community: it becomes a report of your organization"
                .to_string(),
            false,
            true,
        ),
    };
    let title = match c {
        Collection::Sector(s) => format!("Sector: {s}"),
        _ => title.to_string(),
    };
    json!({
        "id": collection_id(c),
        "title": title,
        "description": description,
        "can_read": read,
        "can_write": write,
        "media_types": [STIX_MEDIA],
    })
}

/// The collection `id` if this token may use it; 403 when it is one of its
/// organization's collections that its role may not use, 404 otherwise.
async fn find_collection(state: &AppState, viewer: &Viewer, id: &str) -> TaxiiResult<Collection> {
    let hub = state.hub.clone();
    let v = viewer.clone();
    let all = blocking(move || hub.taxii_collections(&v)).await?;
    if let Some(c) = all.into_iter().find(|c| collection_id(c) == id) {
        return Ok(c);
    }
    if let Some(m) = viewer.member() {
        let own = [
            Collection::Community,
            Collection::Sector(m.sector.clone()),
            Collection::Inbox,
        ];
        if let Some(c) = own.iter().find(|c| collection_id(c) == id) {
            let what = if *c == Collection::Inbox {
                "write reports (the Inbox)"
            } else {
                "read reports (TAXII collections hold reports and their indicators)"
            };
            return Err(
                ApiError::forbidden(format!("a {} token may not {what}", m.role.as_str())).into(),
            );
        }
    }
    Err(ApiError::not_found("collection").into())
}

async fn collections(State(state): State<AppState>, headers: HeaderMap) -> TaxiiResult<Response> {
    let v = viewer(&state, &headers).await?;
    let hub = state.hub.clone();
    let all = blocking(move || hub.taxii_collections(&v)).await?;
    // TAXII 2.1: without collections the resource is an empty object.
    let body = if all.is_empty() {
        json!({})
    } else {
        json!({ "collections": all.iter().map(collection_json).collect::<Vec<_>>() })
    };
    Ok(taxii_json(StatusCode::OK, body))
}

async fn collection(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> TaxiiResult<Response> {
    let id = path_of(id)?;
    let v = viewer(&state, &headers).await?;
    let c = find_collection(&state, &v, &id).await?;
    Ok(taxii_json(StatusCode::OK, collection_json(&c)))
}

/// The filters of an objects, manifest or object request.
struct Filters {
    scan: StixScan,
    versions: VersionFilter,
    limit: usize,
}

fn encode_next(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("t{seq}"))
}

fn decode_next(s: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::invalid("next", "next is not one this server issued");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| bad())?;
    String::from_utf8(bytes)
        .ok()
        .and_then(|t| t.strip_prefix('t').and_then(|n| n.parse().ok()))
        .ok_or_else(bad)
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn filters(params: &[(String, String)], by_id: Option<&str>) -> Result<Filters, ApiError> {
    let mut f = Filters {
        scan: StixScan::default(),
        versions: VersionFilter::Last,
        limit: PAGE_MAX,
    };
    if let Some(id) = by_id {
        f.scan.ids.push(id.to_string());
    }
    for (k, v) in params {
        match k.as_str() {
            "added_after" => {
                let t = chrono::DateTime::parse_from_rfc3339(v).map_err(|_| {
                    ApiError::invalid("added_after", "added_after must be an RFC 3339 timestamp")
                })?;
                f.scan.added_after = Some(t.timestamp_millis());
            }
            "limit" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| ApiError::invalid("limit", "limit must be a positive number"))?;
                if n == 0 {
                    return Err(ApiError::invalid(
                        "limit",
                        "limit must be a positive number",
                    ));
                }
                f.limit = n.min(PAGE_MAX);
            }
            "next" => f.scan.after_seq = Some(decode_next(v)?),
            "match[id]" => f.scan.ids.extend(list(v)),
            "match[type]" => f.scan.types.extend(list(v)),
            "match[spec_version]" => f.scan.spec_versions.extend(list(v)),
            "match[version]" => {
                let values = list(v);
                f.versions = if values.iter().any(|x| x == "all") {
                    VersionFilter::All
                } else if values.len() == 1 && values[0] == "last" {
                    VersionFilter::Last
                } else if values.len() == 1 && values[0] == "first" {
                    VersionFilter::First
                } else {
                    VersionFilter::Exact(values.into_iter().collect())
                };
            }
            other => {
                return Err(ApiError::invalid(
                    other.to_string(),
                    "unknown parameter for this endpoint",
                ));
            }
        }
    }
    Ok(f)
}

async fn page(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    params: Vec<(String, String)>,
    by_id: Option<String>,
) -> TaxiiResult<(kyojo_hub::stix::TaxiiPage, HeaderMap)> {
    let v = viewer(state, headers).await?;
    let c = find_collection(state, &v, id).await?;
    let f = filters(&params, by_id.as_deref())?;
    let hub = state.hub.clone();
    let page = blocking(move || hub.taxii_objects(&v, &c, f.scan, &f.versions, f.limit)).await?;
    let mut out = HeaderMap::new();
    if let (Some(first), Some(last)) = (page.objects.first(), page.objects.last()) {
        if let (Ok(a), Ok(b)) = (
            HeaderValue::from_str(&taxii_time(first.row.date_added)),
            HeaderValue::from_str(&taxii_time(last.row.date_added)),
        ) {
            out.insert("X-TAXII-Date-Added-First", a);
            out.insert("X-TAXII-Date-Added-Last", b);
        }
    }
    Ok((page, out))
}

/// An envelope of kept objects, written without re-parsing them.
fn envelope(objects: &[kyojo_hub::stix::TaxiiObject], next: Option<i64>) -> String {
    let mut out =
        String::with_capacity(objects.iter().map(|o| o.row.json.len() + 1).sum::<usize>() + 64);
    out.push_str("{\"more\":");
    out.push_str(if next.is_some() { "true" } else { "false" });
    if let Some(n) = next {
        out.push_str(",\"next\":\"");
        out.push_str(&encode_next(n));
        out.push('"');
    }
    out.push_str(",\"objects\":[");
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&o.row.json);
    }
    out.push_str("]}");
    out
}

fn envelope_more(next: Option<i64>, mut body: Value) -> Value {
    body["more"] = json!(next.is_some());
    if let Some(n) = next {
        body["next"] = json!(encode_next(n));
    }
    body
}

async fn objects(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> TaxiiResult<Response> {
    let (id, params) = (path_of(id)?, query_of(params)?);
    let (page, extra) = page(&state, &headers, &id, params, None).await?;
    let body = envelope(&page.objects, page.next);
    Ok((extra, taxii_text(StatusCode::OK, body)).into_response())
}

async fn object(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> TaxiiResult<Response> {
    let ((id, object_id), params) = (path_of(ids)?, query_of(params)?);
    let (page, extra) = page(&state, &headers, &id, params, Some(object_id)).await?;
    if page.objects.is_empty() {
        return Err(ApiError::not_found("object").into());
    }
    let body = envelope(&page.objects, page.next);
    Ok((extra, taxii_text(StatusCode::OK, body)).into_response())
}

async fn versions(
    State(state): State<AppState>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> TaxiiResult<Response> {
    let ((id, object_id), mut params) = (path_of(ids)?, query_of(params)?);
    params.retain(|(k, _)| k != "match[version]");
    params.push(("match[version]".into(), "all".into()));
    let (page, extra) = page(&state, &headers, &id, params, Some(object_id)).await?;
    if page.objects.is_empty() {
        return Err(ApiError::not_found("object").into());
    }
    let mut versions: Vec<String> = page.objects.iter().map(|o| o.row.version.clone()).collect();
    versions.sort();
    versions.dedup();
    let body = envelope_more(page.next, json!({ "versions": versions }));
    Ok((extra, taxii_json(StatusCode::OK, body)).into_response())
}

async fn manifest(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> TaxiiResult<Response> {
    let (id, params) = (path_of(id)?, query_of(params)?);
    let (page, extra) = page(&state, &headers, &id, params, None).await?;
    let records: Vec<Value> = page
        .objects
        .iter()
        .map(|o| {
            json!({
                "id": o.row.stix_id,
                "date_added": taxii_time(o.row.date_added),
                "version": o.row.version,
                "media_type": STIX_MEDIA,
            })
        })
        .collect();
    let body = envelope_more(page.next, json!({ "objects": records }));
    Ok((extra, taxii_json(StatusCode::OK, body)).into_response())
}

/// POST to the inbox: the envelope is imported as one report, all or nothing,
/// and the outcome kept as a status resource.
async fn add_objects(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: axum::body::Bytes,
) -> TaxiiResult<Response> {
    let id = path_of(id)?;
    let v = viewer(&state, &headers).await?;
    let owner = v.member().map(|m| m.org);
    let c = find_collection(&state, &v, &id).await?;
    if c != Collection::Inbox {
        return Err(ApiError::forbidden("only the Inbox collection accepts objects").into());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !(content_type.contains("taxii+json")
        || content_type.contains("stix+json")
        || content_type.contains("application/json"))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send an envelope as {TAXII_MEDIA}"),
        )
        .into());
    }
    let envelope: Value = crate::json::parse(&body)?;
    let objects = envelope
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::invalid("objects", "an envelope is {\"objects\": [...]}"))?;
    let request_timestamp = taxii_time(now_millis());
    let status_id = uuid::Uuid::new_v4().to_string();
    let ids: Vec<(String, String)> = objects
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap_or_default().to_string(),
                kyojo_formats::stix::object_version(o).unwrap_or_default(),
            )
        })
        .collect();
    let total = ids.len();
    let hub = state.hub.clone();
    let outcome = blocking(move || hub.import_stix(&v, objects, Default::default())).await;
    let status = match outcome {
        Ok(_) => json!({
            "id": status_id, "status": "complete", "request_timestamp": request_timestamp,
            "total_count": total, "success_count": total,
            "successes": ids.iter().map(|(i, ver)| json!({"id": i, "version": ver})).collect::<Vec<_>>(),
            "failure_count": 0, "failures": [], "pending_count": 0, "pendings": [],
        }),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let culprit = e
                .field
                .as_deref()
                .and_then(|f| f.strip_prefix("objects."))
                .unwrap_or("")
                .to_string();
            json!({
                "id": status_id, "status": "complete", "request_timestamp": request_timestamp,
                "total_count": total, "success_count": 0, "successes": [],
                "failure_count": total,
                "failures": ids.iter().map(|(i, ver)| json!({
                    "id": i, "version": ver,
                    "message": if *i == culprit { e.message.clone() } else { format!("not stored: the envelope was refused because of {culprit}") },
                })).collect::<Vec<_>>(),
                "pending_count": 0, "pendings": [],
            })
        }
        Err(e) => return Err(e.into()),
    };
    // Kept with the uploader's organization, so only it may poll the status.
    let mut stored = status.clone();
    stored["_kyojo_org"] = json!(owner);
    let hub = state.hub.clone();
    let sid = status_id.clone();
    blocking(move || hub.put_taxii_status(&sid, &stored)).await?;
    Ok(taxii_json(StatusCode::ACCEPTED, status))
}

async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    status_id: Result<Path<String>, PathRejection>,
) -> TaxiiResult<Response> {
    let status_id = path_of(status_id)?;
    let v = viewer(&state, &headers).await?;
    kyojo_hub::hub::require(&v, kyojo_core::policy::Permission::WriteReports)?;
    let hub = state.hub.clone();
    let found = blocking(move || hub.taxii_status(&status_id)).await?;
    // Only the uploading organization may poll its status.
    let mine =
        found.filter(|s| s.get("_kyojo_org").and_then(Value::as_i64) == v.member().map(|m| m.org));
    match mine {
        Some(mut s) => {
            if let Some(map) = s.as_object_mut() {
                map.remove("_kyojo_org");
            }
            Ok(taxii_json(StatusCode::OK, s))
        }
        None => Err(ApiError::not_found("status").into()),
    }
}

/// Answers for unknown paths (in TAXII's error shape under `/taxii2`).
pub async fn not_found(uri: axum::http::Uri) -> Response {
    taxii_fallback(uri.path(), false)
        .unwrap_or_else(|| ApiError::not_found("route").into_response())
}

pub async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    taxii_fallback(uri.path(), true).unwrap_or_else(|| {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not allowed on this path",
        )
        .into_response()
    })
}
