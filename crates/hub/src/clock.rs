//! The hub's one clock: milliseconds since the Unix epoch, UTC.

pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
