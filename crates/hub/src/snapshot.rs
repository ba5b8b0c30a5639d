//! What is actionable at one moment (the Decide step's output) and what the
//! feed change guard last published: data only. `decide` builds snapshots,
//! `guard` judges their changes, `feeds` renders them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use kyojo_core::decide::Basis;
use kyojo_core::policy::OrgId;
use kyojo_store::{IndicatorId, IndicatorRecord, Millis, ReportLink, SightingSummary};

/// One actionable indicator with the facts the feeds filter by.
#[derive(Debug, Clone)]
pub struct Actionable {
    pub record: IndicatorRecord,
    pub links: Vec<ReportLink>,
    pub sightings: Vec<SightingSummary>,
    pub reason: String,
    pub expires_at: Option<Millis>,
    /// What made it actionable: a feed shows it only to viewers who may see that.
    pub basis: Basis,
}

/// One organization's own decisions, applied to its own feeds only.
#[derive(Debug, Default, Clone)]
pub struct OwnOverrides {
    /// Indicators it allowed: out of its feeds, whatever the hub says.
    pub allowed: BTreeSet<IndicatorId>,
    /// Indicators it blocked, judged with its decision.
    pub blocked: Vec<Arc<Actionable>>,
}

/// Everything actionable at one moment, sorted by kind and value.
#[derive(Debug)]
pub struct Snapshot {
    pub generation: u64,
    /// The hub's narrowing counter when the build started.
    pub narrowed: u64,
    pub built_at: Millis,
    /// How long the build took (a slow one is refreshed in the background).
    pub took_ms: u64,
    /// The earliest expiry among the items: the snapshot is stale from then on.
    pub valid_until: Option<Millis>,
    /// Shared between a snapshot and its patched successors.
    pub items: Vec<Arc<Actionable>>,
    /// Each organization's own decisions, for its own feeds.
    pub own: HashMap<OrgId, OwnOverrides>,
    /// Ids of the trusted organizations when it was built.
    pub trusted: Vec<OrgId>,
}

/// The guard's verdict on one change of the published set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub added: usize,
    pub removed: usize,
    /// The most either may be without confirmation.
    pub threshold: usize,
}

impl Change {
    /// Compares the published ids with the next ones. `fraction` of the
    /// published size (but at least `fraction` of `floor`) may change at once.
    pub fn between(
        published: &BTreeSet<IndicatorId>,
        next: &BTreeSet<IndicatorId>,
        fraction: f64,
        floor: usize,
    ) -> Change {
        let base = published.len().max(floor) as f64;
        Change {
            added: next.difference(published).count(),
            removed: published.difference(next).count(),
            threshold: (base * fraction).floor() as usize,
        }
    }

    pub fn holds_additions(&self) -> bool {
        self.added > self.threshold
    }

    pub fn holds_removals(&self) -> bool {
        self.removed > self.threshold
    }
}

/// A change waiting for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub change: Change,
    pub since: Millis,
}

#[derive(Debug, Default)]
pub(crate) struct GuardState {
    /// Ids last published, and the narrowing counter then.
    pub(crate) published: Option<(Arc<BTreeSet<IndicatorId>>, u64)>,
    pub(crate) pending: Option<Pending>,
    /// The operator confirmed: the next build is published whole.
    pub(crate) confirmed: bool,
}

impl GuardState {
    /// `items` are what the feeds now publish: the baseline from here on.
    pub(crate) fn publish(&mut self, items: &[Arc<Actionable>], narrowed: u64) {
        let ids = items.iter().map(|a| a.record.id).collect();
        self.published = Some((Arc::new(ids), narrowed));
        self.pending = None;
        self.confirmed = false;
    }
}
