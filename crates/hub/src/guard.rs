//! The feed change guard: a hub-wide actionable set that would grow or
//! shrink by more than a configured fraction in one change (a bulk import, a
//! rule change, an allow-list entry that matches half the feed) is not
//! published until the operator confirms it. ISPs load these feeds into
//! resolvers; a broken one blocks or unblocks a country at once.
//!
//! What is held: the additions (withheld from feeds), or the removals (the
//! previous items kept, on their current facts). What is never held: a
//! removal caused by a narrowing write (a report edited or deleted) — those
//! leave the feeds at once, since they are about who may see what.

use std::collections::BTreeSet;
use std::sync::Arc;

use kyojo_store::IndicatorId;

use crate::error::{Conflict, HubError, HubResult};
use crate::hub::{now_millis, require, AuditAction, Hub};
use crate::snapshot::{Actionable, Snapshot};
pub use crate::snapshot::{Change, Pending};

impl Hub {
    /// Applies the guard to a freshly built snapshot: what may be published.
    pub(crate) fn guard(&self, mut fresh: Snapshot) -> HubResult<Snapshot> {
        let fraction = self.config.decisions.feed_change_guard;
        let next: BTreeSet<IndicatorId> = fresh.items.iter().map(|a| a.record.id).collect();
        let mut state = self.guard_state.lock();
        let baseline = match (&state.published, fraction > 0.0) {
            (Some(b), true) if !state.confirmed => b.clone(),
            _ => {
                state.publish(&fresh.items, fresh.narrowed);
                return Ok(fresh);
            }
        };
        let (published, since_narrowed) = baseline;
        let change = Change::between(
            &published,
            &next,
            fraction,
            self.config.decisions.feed_guard_floor,
        );
        if !change.holds_additions() && !change.holds_removals() {
            state.publish(&fresh.items, fresh.narrowed);
            return Ok(fresh);
        }
        let mut held_any = false;
        if change.holds_additions() {
            fresh.items.retain(|a| published.contains(&a.record.id));
            held_any = true;
        }
        if change.holds_removals() {
            // Removals by narrowing writes go through whatever the guard says;
            // when which indicators those touched is unknown, none is held.
            let narrowed = if fresh.narrowed == since_narrowed {
                Some(BTreeSet::new())
            } else {
                self.narrowed_indicators(since_narrowed, fresh.narrowed)
            };
            if let Some(narrowed) = narrowed {
                let kept: BTreeSet<IndicatorId> = fresh.items.iter().map(|a| a.record.id).collect();
                let held: Vec<IndicatorId> = published
                    .iter()
                    .filter(|id| !kept.contains(id) && !narrowed.contains(id))
                    .copied()
                    .collect();
                let held = self.held_items(&held)?;
                held_any |= !held.is_empty();
                fresh.items.extend(held);
                fresh
                    .items
                    .sort_by(|a, b| a.record.observable.cmp(&b.record.observable));
            }
        }
        if !held_any {
            // Only withdrawals: they are published, and become the baseline.
            state.publish(&fresh.items, fresh.narrowed);
            return Ok(fresh);
        }
        if state.pending.as_ref().map(|p| p.change) != Some(change) {
            tracing::warn!(
                added = change.added,
                removed = change.removed,
                threshold = change.threshold,
                "feed change held for the operator's confirmation"
            );
            state.pending = Some(Pending {
                change,
                since: state.pending.as_ref().map_or_else(now_millis, |p| p.since),
            });
        }
        Ok(fresh)
    }

    /// Items the previous snapshot had, on their current facts (so that who
    /// may see them is judged now), for indicators that still exist.
    fn held_items(&self, ids: &[IndicatorId]) -> HubResult<Vec<Arc<Actionable>>> {
        let previous = self.actionable.current.lock().clone();
        let Some(previous) = previous else {
            return Ok(Vec::new());
        };
        let wanted: BTreeSet<IndicatorId> = ids.iter().copied().collect();
        let (mut links, mut sums) = self.facts_by_indicator(ids)?;
        let existing: BTreeSet<IndicatorId> = self
            .store
            .indicators_by_id(ids)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        Ok(previous
            .items
            .iter()
            .filter(|a| wanted.contains(&a.record.id) && existing.contains(&a.record.id))
            .map(|a| {
                let mut held = Actionable::clone(a);
                held.links = links.remove(&a.record.id).unwrap_or_default();
                held.sightings = sums.remove(&a.record.id).unwrap_or_default();
                Arc::new(held)
            })
            .collect())
    }

    /// The change waiting for confirmation, if any (operator only).
    pub fn pending_feed_change(&self, viewer: &kyojo_core::Viewer) -> HubResult<Option<Pending>> {
        require(viewer, kyojo_core::policy::Permission::Administer)?;
        // Build first, so that the answer is about the current state.
        self.snapshot()?;
        Ok(self.guard_state.lock().pending.clone())
    }

    /// Publishes the held change (operator only); 409 when none is held.
    pub fn confirm_feed_change(&self, viewer: &kyojo_core::Viewer) -> HubResult<Pending> {
        require(viewer, kyojo_core::policy::Permission::Administer)?;
        self.snapshot()?;
        let pending = {
            let mut state = self.guard_state.lock();
            let Some(p) = state.pending.take() else {
                return Err(HubError::conflict(
                    Conflict::NothingHeld,
                    "no feed change is waiting",
                ));
            };
            state.confirmed = true;
            p
        };
        self.audit_as(
            viewer,
            AuditAction::FeedsConfirm,
            &format!("+{} -{}", pending.change.added, pending.change.removed),
        )?;
        self.changed();
        Ok(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(r: std::ops::Range<i64>) -> BTreeSet<IndicatorId> {
        r.collect()
    }

    #[test]
    fn small_changes_pass_and_large_ones_are_held() {
        let c = Change::between(&ids(0..1000), &ids(0..1100), 0.25, 100);
        assert_eq!((c.added, c.removed, c.threshold), (100, 0, 250));
        assert!(!c.holds_additions() && !c.holds_removals());
        let c = Change::between(&ids(0..1000), &ids(0..1300), 0.25, 100);
        assert!(c.holds_additions() && !c.holds_removals());
        let c = Change::between(&ids(0..1000), &ids(600..1000), 0.25, 100);
        assert!(c.holds_removals() && !c.holds_additions());
        // A small feed may change by the floor's share.
        let c = Change::between(&ids(0..4), &ids(0..29), 0.25, 100);
        assert!(!c.holds_additions());
        let c = Change::between(&ids(0..4), &ids(0..40), 0.25, 100);
        assert!(c.holds_additions());
    }
}
