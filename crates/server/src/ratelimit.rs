//! Per-client token buckets: a token's public id, or the client address for
//! requests without a (well-formed) token.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;

pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets idle this long are full again and can be forgotten.
const FORGET_AFTER_SECS: f64 = 600.0;

impl RateLimiter {
    pub fn new(rate_per_second: f64, burst: f64) -> Self {
        RateLimiter {
            rate: rate_per_second,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket; false when it is empty.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock();
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, t)| now.duration_since(*t).as_secs_f64() < FORGET_AFTER_SECS);
        }
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills() {
        let rl = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        assert!((0..3).all(|_| rl.allow_at("a", t0)));
        assert!(!rl.allow_at("a", t0));
        assert!(rl.allow_at("b", t0), "buckets are per key");
        assert!(rl.allow_at("a", t0 + Duration::from_millis(500)));
        assert!(!rl.allow_at("a", t0 + Duration::from_millis(500)));
    }
}
