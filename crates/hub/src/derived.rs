//! Stamps and cached views: the containers the [`crate::Hub`] keeps for the
//! views derived from its records (actionable snapshot, community picture).
//! The code that builds each view lives above the Hub (`decide`, `orient`);
//! this leaf only holds them, so imports point one way.

use std::sync::Arc;

use parking_lot::Mutex;

/// A cache that took at least this long (ms) to build is refreshed in the
/// background instead of on the request that finds it stale.
pub(crate) const SLOW_MS: u64 = 100;

/// When the server's refresher should rebuild a slow cache in the
/// background: only while someone uses it, at most once per four build
/// times (so it costs at most a fifth of a core), one rebuild at a time.
#[derive(Default)]
pub(crate) struct Refresh {
    used: std::sync::atomic::AtomicI64,
    running: std::sync::atomic::AtomicBool,
}

impl Refresh {
    /// Notes a use: the refresher keeps the cache fresh for ten minutes.
    pub(crate) fn touch(&self) {
        self.used.store(
            crate::clock::now_millis(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Runs `build` when the cache is `stale`, was used lately, has rested
    /// four build times (at least a second) since `built_ms_ago`, and no
    /// other rebuild runs.
    pub(crate) fn run_if_due<E>(
        &self,
        stale: bool,
        built_ms_ago: i64,
        took_ms: i64,
        build: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        use std::sync::atomic::Ordering;
        let idle = crate::clock::now_millis() - self.used.load(Ordering::Relaxed) > 600_000;
        let rested = built_ms_ago >= took_ms.saturating_mul(4).max(1000);
        if idle || !stale || !rested || self.running.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let result = build();
        self.running.store(false, Ordering::SeqCst);
        result
    }
}

/// One derived view: the current build, a lock so one build runs at a
/// time, and when the background refresher should rebuild it.
pub(crate) struct Derived<V> {
    pub(crate) current: Mutex<Option<Arc<V>>>,
    pub(crate) building: Mutex<()>,
    pub(crate) refresh: Refresh,
}

impl<V> Default for Derived<V> {
    fn default() -> Self {
        Derived {
            current: Mutex::new(None),
            building: Mutex::new(()),
            refresh: Refresh::default(),
        }
    }
}
