//! Per-client token buckets, kept in a bounded map.
//!
//! A client is a *verified* token's public id, or else its network address
//! (an IPv6 client by its /64, which one host usually holds whole). A token
//! that has not been verified never names a bucket: a forged token carrying
//! a victim's public id would otherwise drain the victim's bucket.
//!
//! The map is split into shards, each behind its own lock and holding a
//! fixed number of entries; a full shard forgets the least recently used of
//! a few sampled entries (a forgotten bucket is simply full again), so no
//! request ever scans the map and a flood of new clients cannot grow it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

const SHARDS: usize = 32;
/// Entries looked at to choose one to forget when a shard is full.
const EVICTION_SAMPLE: usize = 8;

/// Who a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A verified token, by its public id (16 hex digits = 8 bytes).
    Token(u64),
    /// An IPv4 address.
    V4(u32),
    /// The /64 of an IPv6 address.
    V6(u64),
}

impl ClientKey {
    /// A token's public id as a key, if it is one (16 hex digits).
    pub fn token(public_id: &str) -> Option<ClientKey> {
        (public_id.len() == 16)
            .then(|| u64::from_str_radix(public_id, 16).ok())
            .flatten()
            .map(ClientKey::Token)
    }

    /// A client address as a key: IPv4 (also when IPv4-mapped) whole, IPv6 by its /64.
    pub fn addr(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(u32::from(v4)),
                None => ClientKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// One shard: each entry with the time it was last used.
type Shard<K, V> = Mutex<HashMap<K, (V, Instant)>>;

/// A map of fixed capacity, sharded; a full shard forgets the least
/// recently used of a small sample of its entries.
pub struct BoundedMap<K, V> {
    shards: Box<[Shard<K, V>]>,
    per_shard: usize,
    hasher: std::hash::RandomState,
    len: AtomicUsize,
}

impl<K: Hash + Eq + Copy, V> BoundedMap<K, V> {
    pub fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        BoundedMap {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_capacity(per_shard.min(1024))))
                .collect(),
            per_shard,
            hasher: std::hash::RandomState::new(),
            len: AtomicUsize::new(0),
        }
    }

    /// Most entries the map holds.
    pub fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &K) -> &Shard<K, V> {
        let i = self.hasher.hash_one(key) as usize % SHARDS;
        &self.shards[i]
    }

    /// Runs `f` on `key`'s entry (created by `init` when absent), marking it used at `now`.
    pub fn with<R>(
        &self,
        key: K,
        now: Instant,
        init: impl FnOnce() -> V,
        f: impl FnOnce(&mut V) -> R,
    ) -> R {
        let mut shard = self.shard(&key).lock();
        if !shard.contains_key(&key) {
            if shard.len() >= self.per_shard {
                let oldest = shard
                    .iter()
                    .take(EVICTION_SAMPLE)
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    shard.remove(&k);
                    self.len.fetch_sub(1, Ordering::Relaxed);
                }
            }
            shard.insert(key, (init(), now));
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        let entry = shard.get_mut(&key).expect("present: inserted above");
        entry.1 = now;
        f(&mut entry.0)
    }

    /// `key`'s value if present and used within `ttl`; does not mark it used.
    pub fn get_fresh(&self, key: &K, now: Instant, ttl: Duration) -> Option<V>
    where
        V: Clone,
    {
        let shard = self.shard(key).lock();
        shard
            .get(key)
            .filter(|(_, at)| now.saturating_duration_since(*at) < ttl)
            .map(|(v, _)| v.clone())
    }
}

/// Token buckets: `rate` requests per second sustained, `burst` at once.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: BoundedMap<ClientKey, (f64, Instant)>,
}

/// Buckets kept by default: far more than the clients a hub serves at once.
pub const DEFAULT_CAPACITY: usize = 65_536;

impl RateLimiter {
    pub fn new(rate_per_second: f64, burst: f64) -> Self {
        Self::with_capacity(rate_per_second, burst, DEFAULT_CAPACITY)
    }

    pub fn with_capacity(rate_per_second: f64, burst: f64, capacity: usize) -> Self {
        RateLimiter {
            rate: rate_per_second,
            burst,
            buckets: BoundedMap::new(capacity),
        }
    }

    /// Takes one request from `key`'s bucket; false when it is empty.
    pub fn allow(&self, key: ClientKey) -> bool {
        self.allow_at(key, Instant::now())
    }

    /// Whether `key`'s bucket holds at least one request, without taking it.
    pub fn has_room(&self, key: ClientKey) -> bool {
        self.level_at(key, Instant::now()) >= 1.0
    }

    fn refill(&self, bucket: &mut (f64, Instant), now: Instant) {
        let refill = now.saturating_duration_since(bucket.1).as_secs_f64() * self.rate;
        bucket.0 = (bucket.0 + refill).min(self.burst);
        bucket.1 = now;
    }

    fn allow_at(&self, key: ClientKey, now: Instant) -> bool {
        self.buckets.with(
            key,
            now,
            || (self.burst, now),
            |bucket| {
                self.refill(bucket, now);
                if bucket.0 >= 1.0 {
                    bucket.0 -= 1.0;
                    true
                } else {
                    false
                }
            },
        )
    }

    fn level_at(&self, key: ClientKey, now: Instant) -> f64 {
        let shard = self.buckets.shard(&key).lock();
        match shard.get(&key) {
            None => self.burst,
            Some(((tokens, last), _)) => {
                let refill = now.saturating_duration_since(*last).as_secs_f64() * self.rate;
                (tokens + refill).min(self.burst)
            }
        }
    }

    /// Buckets held now (never more than the capacity).
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.buckets.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const A: ClientKey = ClientKey::V4(1);
    const B: ClientKey = ClientKey::V4(2);

    #[test]
    fn bursts_then_refills() {
        let rl = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        assert!((0..3).all(|_| rl.allow_at(A, t0)));
        assert!(!rl.allow_at(A, t0));
        assert!(rl.allow_at(B, t0), "buckets are per key");
        assert!(rl.allow_at(A, t0 + Duration::from_millis(500)));
        assert!(!rl.allow_at(A, t0 + Duration::from_millis(500)));
    }

    #[test]
    fn a_flood_of_new_clients_stays_within_capacity() {
        let rl = RateLimiter::with_capacity(1.0, 1.0, 1000);
        let t0 = Instant::now();
        for i in 0..200_000u64 {
            rl.allow_at(ClientKey::Token(i), t0 + Duration::from_micros(i));
        }
        assert!(
            rl.len() <= rl.capacity(),
            "{} > {}",
            rl.len(),
            rl.capacity()
        );
        assert!(rl.capacity() < 1100);
        // A client seen a moment ago is still remembered (and limited).
        let now = t0 + Duration::from_micros(200_000);
        assert!(!rl.allow_at(ClientKey::Token(199_999), now));
    }

    #[test]
    fn has_room_does_not_take() {
        let rl = RateLimiter::new(0.001, 2.0);
        assert!(rl.has_room(A));
        assert!(rl.allow(A));
        assert!(rl.has_room(A));
        assert!(rl.allow(A));
        assert!(!rl.has_room(A));
    }

    #[test]
    fn keys() {
        assert_eq!(
            ClientKey::token("00000000000000ff"),
            Some(ClientKey::Token(255))
        );
        assert_eq!(ClientKey::token("ff"), None);
        assert_eq!(ClientKey::token("zz000000000000ff"), None);
        let v6 = |s: &str| ClientKey::addr(IpAddr::V6(s.parse::<Ipv6Addr>().unwrap()));
        assert_eq!(v6("2001:db8:1:2::1"), v6("2001:db8:1:2:ffff::9"), "one /64");
        assert_ne!(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1"));
        assert_eq!(
            v6("::ffff:192.0.2.1"),
            ClientKey::addr(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
    }
}
