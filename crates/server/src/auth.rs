//! Credentials as HTTP carries them; what a token is and how it is checked
//! lives in `kyojo_hub::tokens`.

pub use kyojo_hub::tokens::{parse, secret_matches};

/// The token after `Bearer ` in an `Authorization` header (either case of
/// the scheme), trimmed; None when there is none or it is another scheme.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(|t| t.trim().to_string())
}
