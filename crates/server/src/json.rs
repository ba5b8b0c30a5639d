//! A JSON body extractor whose errors name the offending field.
//!
//! axum's own `Json` answers bad input in plain text; ours answers with
//! [`ApiError`], using `serde_path_to_error` to say where the problem is.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("request body is larger than this hub accepts")
            } else {
                ApiError::invalid("body", format!("could not read the body: {rejection}"))
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON, naming the path of the first problem (`indicators[2].value`).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at_root = path == "." || path.is_empty() || inner.is_syntax() || inner.is_eof();
        // serde reports a missing field at its parent's path; name the field itself.
        let missing = inner
            .to_string()
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next().map(str::to_string));
        let field = match (missing, at_root) {
            (Some(name), true) => name,
            (Some(name), false) => format!("{path}.{name}"),
            (None, true) => "body".to_string(),
            (None, false) => path,
        };
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("body is not valid JSON: {inner}")
        } else {
            inner.to_string()
        };
        ApiError::invalid(field, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Item>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        count: u32,
    }

    #[test]
    fn names_the_nested_field() {
        let err = parse::<Outer>(br#"{"items": [{"count": 1}, {"count": "x"}]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("items[1].count"));
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn names_missing_fields() {
        let err = parse::<Outer>(br#"{"items": [{}]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("items[0].count"));
        let err = parse::<Outer>(b"{}").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("items"));
    }

    #[test]
    fn syntax_errors_name_the_body() {
        let err = parse::<Outer>(b"{not json").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("body"));
        assert!(err.message.contains("not valid JSON"));
    }
}
