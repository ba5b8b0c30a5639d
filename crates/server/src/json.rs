//! A JSON body extractor whose errors name the offending field.
//!
//! axum's own `Json` answers bad input in plain text; ours answers with
//! [`ApiError`], using `serde_path_to_error` to say where the problem is.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

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
            } else if is_body_timeout(&rejection) {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    "the request body did not arrive in time",
                )
                .with_field("body")
            } else {
                ApiError::invalid("body", format!("could not read the body: {rejection}"))
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON, naming the path of the first problem (`indicators[2].value`).
/// Anything but whitespace after the value is refused.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
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
    })?;
    de.end().map_err(|e| {
        ApiError::invalid(
            "body",
            format!("body is not valid JSON: {e} (only whitespace may follow the value)"),
        )
    })?;
    Ok(value)
}

// ---- bounded shapes ---------------------------------------------------------------------
//
// A body is parsed into these, not into an unbounded `Vec<Value>`, so that a
// 16 MiB body of tiny values is refused as soon as a limit is passed instead
// of being built whole (each JSON value costs far more memory than its bytes).

/// A list of at most `N` items; reading stops at item `N + 1`.
#[derive(Debug)]
pub struct Bounded<T, const N: usize>(pub Vec<T>);

impl<T, const N: usize> Default for Bounded<T, N> {
    fn default() -> Self {
        Bounded(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Bounded<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for V<T, N> {
            type Value = Bounded<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a list of at most {N} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                bounded_seq::<T, A>(seq, N).map(Bounded)
            }
        }
        d.deserialize_seq(V::<T, N>(PhantomData))
    }
}

/// Reads at most `max` items of a sequence, failing at the one after.
pub fn bounded_seq<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    mut seq: A,
    max: usize,
) -> Result<Vec<T>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(max).min(1024));
    while let Some(item) = seq.next_element()? {
        if out.len() == max {
            return Err(de::Error::custom(format_args!(
                "too many items: at most {max} are accepted"
            )));
        }
        out.push(item);
    }
    Ok(out)
}

/// Any JSON value of at most `N` values in all (itself, and every item and
/// member inside it, however deep); reading stops at value `N + 1`.
#[derive(Debug, Clone)]
pub struct Limited<const N: usize>(pub Value);

impl<'de, const N: usize> Deserialize<'de> for Limited<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let budget = Cell::new(N);
        let seed = Budget {
            left: &budget,
            limit: N,
        };
        seed.deserialize(d).map(Limited)
    }
}

/// A [`Value`] reader that counts down a shared budget of values.
#[derive(Clone, Copy)]
struct Budget<'a> {
    left: &'a Cell<usize>,
    limit: usize,
}

impl Budget<'_> {
    fn take<E: de::Error>(&self) -> Result<(), E> {
        match self.left.get() {
            0 => Err(E::custom(format_args!(
                "too many values: at most {} are accepted here",
                self.limit
            ))),
            n => {
                self.left.set(n - 1);
                Ok(())
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Budget<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budget<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.take()?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.take()?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.take()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(self)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// Whether an error (or one of its sources) is a body read deadline passing.
pub(crate) fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<BodyTimeout>() || err.to_string().contains(BodyTimeout::MESSAGE) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The body deadline passed.
#[derive(Debug)]
pub struct BodyTimeout;

impl BodyTimeout {
    const MESSAGE: &'static str = "the request body did not arrive in time";
}

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Self::MESSAGE)
    }
}

impl std::error::Error for BodyTimeout {}

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

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Batch {
        values: Bounded<Limited<4>, 3>,
    }

    #[test]
    fn bounded_lists_stop_at_the_limit() {
        assert_eq!(
            parse::<Batch>(br#"{"values": [1, "a", {"type": "x"}]}"#)
                .unwrap()
                .values
                .0
                .len(),
            3
        );
        let err = parse::<Batch>(br#"{"values": [1, 2, 3, 4]}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("values"), "{err:?}");
        assert!(err.message.contains("at most 3"), "{err:?}");
    }

    #[test]
    fn the_limit_is_met_before_the_rest_is_read() {
        // A limit passed early stops reading: what follows is never parsed,
        // so even broken JSON after it is not reported.
        let mut body = br#"{"values": [0, 0, 0, 0, "#.to_vec();
        body.extend(std::iter::repeat_n(b'[', 100_000));
        let err = parse::<Batch>(&body).unwrap_err();
        assert!(err.message.contains("at most 3"), "{err:?}");
        let mut count = 0;
        let list = format!("[{}0]", "0,".repeat(1_000_000));
        let counted = Bounded::<u8, 10_000>::deserialize(
            &mut serde_json::Deserializer::from_reader(CountingReader(list.as_bytes(), &mut count)),
        );
        assert!(counted.is_err());
        assert!(
            count < 30_000,
            "read {count} bytes of a 2 MB list limited to 10,000 items"
        );
    }

    struct CountingReader<'a, R>(R, &'a mut usize);

    impl<R: std::io::Read> std::io::Read for CountingReader<'_, R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let len = buf.len().min(64);
            let n = self.0.read(&mut buf[..len])?;
            *self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn limited_values_count_every_nested_value() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct One {
            item: Limited<4>,
        }
        assert!(parse::<One>(br#"{"item": {"type": "domain", "value": "a.example"}}"#).is_ok());
        let err = parse::<One>(br#"{"item": [[1, 2], [3]]}"#).unwrap_err();
        assert!(err.message.contains("at most 4"), "{err:?}");
        assert!(
            err.field.as_deref().unwrap_or("").starts_with("item"),
            "{err:?}"
        );
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let err = parse::<Outer>(br#"{"items": []} x"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("body"));
        let err = parse::<Outer>(br#"{"items": []}{"items": []}"#).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("body"));
        assert!(parse::<Outer>(b"{\"items\": []} \r\n\t").is_ok());
    }
}
