//! The REST API described in OpenAPI 3.1, served at `GET /api/v1/openapi.json`.
//!
//! The document is generated from the handlers' own annotations
//! (`#[utoipa::path]` in [`crate::api`]) and the response types' derives
//! ([`crate::api::views`]), so it changes when they do. What every operation
//! may answer whatever its handler does — refusals at the edge, rate limits,
//! bad tokens, body limits, `Idempotency-Key` conflicts — is added here once
//! ([`EdgeResponses`]) instead of on each handler.
//!
//! Types from other crates (observable kinds, TLP, roles, counts) get their
//! schemas from the small named schemas below, built from those crates' own
//! lists of values (`Kind::ALL`, `Tlp::ALL`, ...).

use std::sync::LazyLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::api;
use crate::api::schema::{ErrorBody, FeedName, IncidentTypeName, KindName, RpzAction, TlpName};
use crate::error::ApiError;

/// The document as JSON, built once.
static DOCUMENT: LazyLock<Result<Vec<u8>, String>> =
    LazyLock::new(|| serde_json::to_vec(&ApiDoc::openapi()).map_err(|e| e.to_string()));

/// `GET /api/v1/openapi.json`: public, like the routes it describes.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json",
         body = Object),
    ),
)]
pub async fn openapi_json() -> Response {
    match &*DOCUMENT {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            bytes.clone(),
        )
            .into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kyojo REST API",
        description = "Share indicators, sightings and incident reports under TLP 2.0 and \
anonymity rules; look values up; pull feeds. Without a token a caller is the public: \
TLP:CLEAR only.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/api/v1", description = "this hub")),
    paths(
        api::list_reports,
        api::create_report,
        api::get_report,
        api::update_report,
        api::delete_report,
        api::report_stix,
        api::import_stix,
        api::post_sightings,
        api::list_indicators,
        api::get_indicator,
        api::post_decision,
        api::allowlist,
        api::allow_add,
        api::allow_remove,
        api::feed,
        api::misp_feed,
        api::import_misp,
        api::import_list,
        api::warninglists,
        api::feed_guard,
        api::feed_guard_confirm,
        api::hash_prefixes,
        api::hash_search,
        api::lookup,
        api::me,
        api::sectors,
        api::list_orgs,
        api::create_org,
        api::audit_log,
        api::create_token,
        api::revoke_token,
        openapi_json,
    ),
    // Parameters refer to these; bodies register what they refer to themselves.
    components(schemas(ErrorBody, FeedName, KindName, TlpName, IncidentTypeName, RpzAction)),
    modifiers(&BearerScheme, &EdgeResponses),
    tags(
        (name = "reports", description = "Observe: incident reports and their indicators"),
        (name = "sightings", description = "Observe: what members' sensors saw"),
        (name = "indicators", description = "Orient: what is known about a value; lookups"),
        (name = "decide", description = "Decide: decisions, the allow list, the feed change guard"),
        (name = "feeds", description = "Act: feeds and private URL checks"),
        (name = "stix", description = "STIX 2.1 import and export"),
        (name = "admin", description = "Members, tokens, audit"),
        (name = "meta", description = "Who am I; sectors; this document"),
    ),
)]
pub struct ApiDoc;

/// The name of the bearer scheme operations refer to (`security(("bearer" = []))`).
pub const BEARER: &str = "bearer";

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `kyojo token create` or `POST /tokens`: `kyj_…`",
                    ))
                    .build(),
            ),
        );
    }
}

/// Answers any operation may give before or around its handler, added to
/// every operation so that the document lists every status the API sends.
struct EdgeResponses;

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .into()
}

fn add_if_missing(op: &mut Operation, status: StatusCode, description: &str) {
    op.responses
        .responses
        .entry(status.as_u16().to_string())
        .or_insert_with(|| error_response(description));
}

impl Modify for EdgeResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let writes = [
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
            ];
            for (_, op) in writes {
                let Some(op) = op else { continue };
                // POST /tokens refuses a key: its answer holds a secret never kept.
                if path != "/tokens" {
                    op.parameters.get_or_insert_with(Vec::new).push(
                        ParameterBuilder::new()
                            .name(crate::idempotency::HEADER)
                            .parameter_in(ParameterIn::Header)
                            .required(Required::False)
                            .description(Some(
                                "Retries with the same key write once (1 to 255 printable ASCII \
                                 characters; remembered 24 hours).",
                            ))
                            .schema(Some(
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .min_length(Some(1))
                                    .max_length(Some(crate::idempotency::MAX_KEY_LEN))
                                    .pattern(Some("^[\\x20-\\x7e]+$")),
                            ))
                            .build(),
                    );
                    add_if_missing(
                        op,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "The Idempotency-Key was used with a different request",
                    );
                }
                add_if_missing(
                    op,
                    StatusCode::CONFLICT,
                    "Conflicts with stored state, or the Idempotency-Key's request is in flight \
                     or already done",
                );
            }
            for op in operations(item) {
                let public_doc = op.operation_id.as_deref() == Some("openapi_json");
                add_if_missing(
                    op,
                    StatusCode::BAD_REQUEST,
                    "A parameter, header or the body is invalid; `field` names it",
                );
                if !public_doc {
                    add_if_missing(
                        op,
                        StatusCode::UNAUTHORIZED,
                        "The Authorization header is not a live bearer token, or this needs one",
                    );
                }
                add_if_missing(
                    op,
                    StatusCode::TOO_MANY_REQUESTS,
                    "Rate limited (per token, or per client address without one); retry after \
                     Retry-After seconds",
                );
                if op.request_body.is_some() {
                    add_if_missing(
                        op,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "The body, or a list in it, is larger than this hub accepts",
                    );
                    add_if_missing(
                        op,
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "The body is not sent as application/json",
                    );
                    add_if_missing(
                        op,
                        StatusCode::REQUEST_TIMEOUT,
                        "The body did not arrive in time",
                    );
                }
            }
        }
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.patch.as_mut(),
        item.put.as_mut(),
        item.delete.as_mut(),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::schema::*;

    #[test]
    fn wire_names_are_what_the_types_serialize_to() {
        for m in MATCH_KINDS {
            assert_eq!(serde_json::json!(m), serde_json::json!(match_kind_name(m)));
        }
        for a in DECISION_ACTIONS {
            assert_eq!(serde_json::json!(a), serde_json::json!(a.as_str()));
        }
        for k in kyojo_core::Kind::ALL {
            assert_eq!(serde_json::json!(k), serde_json::json!(k.as_str()));
        }
        for t in kyojo_core::Tlp::ALL {
            assert_eq!(serde_json::json!(t), serde_json::json!(t.as_str()));
        }
        for t in kyojo_core::report::IncidentType::ALL {
            assert_eq!(serde_json::json!(t), serde_json::json!(t.as_str()));
        }
        for r in kyojo_core::Role::ALL {
            assert_eq!(serde_json::json!(r), serde_json::json!(r.as_str()));
        }
        for name in FEED_NAMES {
            assert!(
                kyojo_hub::feeds::FeedFormat::from_path(name).is_some(),
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn errors_have_the_documented_shape() {
        use axum::body::to_bytes;
        for e in [
            ApiError::invalid("limit", "limit must be between 1 and 1000"),
            ApiError::not_found("report"),
        ] {
            let field = e.field.clone();
            let bytes = to_bytes(e.into_response().into_body(), 1 << 16)
                .await
                .expect("body");
            let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            let error = body["error"].as_object().expect("error object");
            let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
            keys.sort_unstable();
            let want: &[&str] = if field.is_some() {
                &["code", "field", "message"]
            } else {
                &["code", "message"]
            };
            assert_eq!(keys, want);
            assert_eq!(body.as_object().map(|o| o.len()), Some(1));
        }
    }
}
