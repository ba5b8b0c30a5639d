//! The Decide step at the hub: analysts' decisions, the operator's allow
//! list, and the snapshot of what is actionable now.
//!
//! The judgement itself is `kyojo_core::decide::verdict` (pure); this module
//! gathers the facts from the store, keeps the decision history, and caches
//! the hub-wide actionable set until a write or an expiry changes it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use kyojo_core::decide::{
    builtin_allow, verdict, Action, AllowReason, Decision, Facts, ReportFact, SightingFact, Verdict,
};
use kyojo_core::policy::{OrgId, Permission};
use kyojo_core::{Observable, Viewer};
use kyojo_store::{
    AllowEntry, DecisionRecord, DecisionScope, IndicatorId, IndicatorRecord, Millis, ReportLink,
    SightingSummary,
};

use crate::error::{HubError, HubResult};
use crate::hub::{now_millis, require, AuditAction, Hub};
pub use crate::snapshot::{Actionable, OwnOverrides, Snapshot};

/// Whose feeds a decision changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecideFor {
    /// The deciding organization's own feeds (any analyst).
    Own,
    /// Every member's feeds (a curator or the operator).
    Hub,
}

/// Who made a decision, as any viewer may be told: never an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    Hub,
    YourOrganization,
}

/// One decision of an indicator's history as one viewer may see it.
#[derive(Debug, Clone)]
pub struct DecisionEntry {
    pub action: Action,
    pub comment: String,
    pub expires_at: Option<Millis>,
    pub created_at: Millis,
    pub by: Decider,
}

/// Whether `obs` is (or is on) an address of a documentation range.
fn documentation_address(obs: &Observable) -> bool {
    builtin_allow(obs, &[]).is_some_and(|r| r.is_documentation_range())
}

/// How long past its expiry a slow snapshot may still be served while the
/// next one is being built.
pub const EXPIRY_GRACE_MS: Millis = 30_000;

/// The state of one indicator as one viewer is shown it.
#[derive(Debug, Clone)]
pub struct DecisionState {
    pub verdict: Verdict,
    pub allowed: Option<AllowReason>,
    /// The hub's decisions and the viewer's own, oldest first.
    pub history: Vec<DecisionEntry>,
}

fn to_decision(d: &DecisionRecord, own: bool) -> Decision {
    Decision {
        action: d.action,
        comment: d.comment.clone(),
        decided_at: d.created_at,
        expires_at: d.expires_at,
        own,
    }
}

/// Whether an own decision takes the hub's place: a live block or allow
/// (an unset or an expired one hands the indicator back to the hub).
fn overrides(d: &Decision, now: Millis) -> bool {
    d.action != Action::Unset && d.expires_at.is_none_or(|e| e > now)
}

/// The latest hub-wide decision and the latest own decision of each seal,
/// from one indicator's history (oldest first).
fn latest_by_scope(history: &[DecisionRecord]) -> (Option<Decision>, HashMap<[u8; 32], Decision>) {
    let mut hub = None;
    let mut own = HashMap::new();
    for d in history {
        match d.scope {
            DecisionScope::Hub => hub = Some(to_decision(d, false)),
            DecisionScope::Own(seal) => {
                own.insert(seal, to_decision(d, true));
            }
        }
    }
    (hub, own)
}

/// The facts of one indicator, in the shape `verdict` wants.
fn report_facts(hub: &Hub, links: &[ReportLink]) -> Vec<ReportFact> {
    links
        .iter()
        .map(|l| ReportFact {
            tlp: l.access.tlp,
            author: hub.policy.visible_author(&l.access),
            created_at: l.created_at,
        })
        .collect()
}

fn sighting_facts(sums: &[SightingSummary]) -> Vec<SightingFact> {
    sums.iter()
        .map(|s| SightingFact {
            org: s.org,
            last_seen: s.last_seen,
        })
        .collect()
}

impl Hub {
    /// Why a value may never be blocked, if it may not.
    pub fn allow_reason(&self, obs: &Observable) -> HubResult<Option<AllowReason>> {
        if let Some(r) = self.fixed_allow(obs, &self.config.own_hosts()) {
            return Ok(Some(r));
        }
        Ok(self
            .store
            .allow_entry(obs)?
            .map(|e| AllowReason::Operator(e.comment)))
    }

    /// The reasons that need no store: built-in ranges and names, public
    /// resolvers, configured false-positive lists, and networks too wide.
    fn fixed_allow(&self, obs: &Observable, own_hosts: &[String]) -> Option<AllowReason> {
        builtin_allow(obs, own_hosts)
            .filter(|r| !(self.is_demo() && r.is_documentation_range()))
            .or_else(|| self.config.decisions.widths().too_wide(obs))
            .or_else(|| {
                self.warninglists
                    .matching(obs)
                    .map(|(origin, list)| match origin {
                        crate::warninglists::Origin::Embedded => {
                            AllowReason::Warninglist(list.name.clone())
                        }
                        crate::warninglists::Origin::Loaded => {
                            AllowReason::AdvisoryWarninglist(list.name.clone())
                        }
                    })
            })
    }

    fn trusted_org_ids(&self) -> HubResult<Vec<OrgId>> {
        let mut ids = Vec::new();
        for name in &self.config.rules.trusted_orgs {
            if let Some(o) = self.org_by_name(name)? {
                ids.push(o.id);
            }
        }
        Ok(ids)
    }

    /// Records a decision for the deciding organization's own feeds, or, for
    /// a curator or the operator, for every member's. Blocking an
    /// allow-listed, warninglisted or too-wide value is refused, and so is a
    /// block past the organization's hourly budget.
    pub fn decide(
        &self,
        viewer: &Viewer,
        obs: &Observable,
        action: Action,
        comment: &str,
        expires_at: Option<Millis>,
        scope: DecideFor,
    ) -> HubResult<DecisionState> {
        let member = require(viewer, Permission::WriteReports)?;
        if scope == DecideFor::Hub {
            require(viewer, Permission::DecideForHub).map_err(|_| {
                HubError::forbidden(
                    "only a curator or the operator may decide for every member's feeds; \
                     decide for your own (\"scope\": \"own\")",
                )
            })?;
        }
        // Deciding needs the indicator to be visible to the decider.
        let (record, links, sums) = self.visible_indicator(viewer, obs)?;
        let allowed = self.allow_reason(obs)?;
        if action == Action::Block {
            if let Some(why) = allowed.as_ref().filter(|why| !why.yields_to_block()) {
                return Err(HubError::invalid(
                    "action",
                    format!("{} cannot be blocked: {why}", obs.value),
                ));
            }
        }
        let now = now_millis();
        if expires_at.is_some_and(|e| e <= now) {
            return Err(HubError::invalid(
                "expires_at",
                "expires_at must be in the future",
            ));
        }
        if action == Action::Block {
            self.take_block_budget(member.org, now)?;
        }
        let stored_scope = match scope {
            DecideFor::Hub => DecisionScope::Hub,
            DecideFor::Own => DecisionScope::Own(self.policy.decision_seal(member.org, obs)),
        };
        self.store
            .add_decision(record.id, action, comment, expires_at, stored_scope, now)?;
        self.changed();
        if scope == DecideFor::Hub {
            // Changing every member's feeds is an act of the hub's staff.
            // By indicator id, never the value: every admin reads the audit
            // log, and the value may be one only a RED report holds.
            self.audit_as(
                viewer,
                AuditAction::DecisionHub,
                &format!("{} {} indicator #{}", action.as_str(), obs.kind, record.id),
            )?;
        }
        // A decision changes neither links, sightings nor the allow list.
        self.judge(viewer, &record, &links, &sums, allowed, now)
    }

    /// Counts one block against the organization's hourly budget, or refuses it.
    fn take_block_budget(&self, org: OrgId, now: Millis) -> HubResult<()> {
        let limit = self.config.decisions.blocks_per_hour;
        let hour_ago = now - 3_600_000;
        let mut budgets = self.decision_budget.lock();
        let times = budgets.entry(org).or_default();
        while times.front().is_some_and(|t| *t <= hour_ago) {
            times.pop_front();
        }
        if times.len() >= limit {
            return Err(HubError::too_many(format!(
                "this organization has made {limit} blocks in the last hour, the most the hub \
                 allows (decisions.blocks_per_hour); ask the operator, or wait"
            )));
        }
        times.push_back(now);
        Ok(())
    }

    /// The verdict on one indicator now as `viewer`'s feeds see it, with
    /// the decisions it may see (the hub's, and its organization's own).
    pub fn decision_state(
        &self,
        viewer: &Viewer,
        record: &IndicatorRecord,
        now: Millis,
    ) -> HubResult<DecisionState> {
        let links = self.store.report_links(&[record.id])?;
        let sums = self.store.sighting_summaries(&[record.id])?;
        let allowed = self.allow_reason(&record.observable)?;
        self.judge(viewer, record, &links, &sums, allowed, now)
    }

    /// The verdict on one indicator from its facts, with its decision history.
    fn judge(
        &self,
        viewer: &Viewer,
        record: &IndicatorRecord,
        links: &[ReportLink],
        sums: &[SightingSummary],
        allowed: Option<AllowReason>,
        now: Millis,
    ) -> HubResult<DecisionState> {
        let stored = self.store.decisions_of(record.id)?;
        // The viewer's seals on this value: today's, and the one decisions
        // were stored with before.
        let my_seals: Vec<[u8; 32]> = viewer
            .member()
            .map(|m| {
                vec![
                    self.policy.decision_seal(m.org, &record.observable),
                    self.policy.legacy_decision_seal(m.org),
                ]
            })
            .unwrap_or_default();
        let (hub_latest, own_latest) = latest_by_scope(&stored);
        let mine = my_seals
            .iter()
            .filter_map(|seal| own_latest.get(seal))
            .max_by_key(|d| d.decided_at)
            .cloned();
        let latest = match mine {
            Some(d) if overrides(&d, now) => Some(d),
            _ => hub_latest,
        };
        let history = stored
            .iter()
            .filter_map(|d| {
                let by = match d.scope {
                    DecisionScope::Hub => Decider::Hub,
                    DecisionScope::Own(seal) if my_seals.contains(&seal) => {
                        Decider::YourOrganization
                    }
                    DecisionScope::Own(_) => return None,
                };
                Some(DecisionEntry {
                    action: d.action,
                    comment: d.comment.clone(),
                    expires_at: d.expires_at,
                    created_at: d.created_at,
                    by,
                })
            })
            .collect();
        let trusted = self.trusted_org_ids()?;
        let known = Known {
            record: record.clone(),
            links: links.to_vec(),
            sightings: sums.to_vec(),
            allowed: allowed.clone(),
        };
        let at = Judging {
            trusted: &trusted,
            now,
        };
        Ok(DecisionState {
            verdict: self.verdict_of(&known, latest.as_ref(), &at),
            allowed,
            history,
        })
    }

    /// core::decide's verdict over the stored facts of one indicator.
    fn verdict_of(&self, known: &Known, decision: Option<&Decision>, at: &Judging) -> Verdict {
        let reports = report_facts(self, &known.links);
        let sightings = sighting_facts(&known.sightings);
        let facts = Facts {
            kind: known.record.observable.kind,
            allowed: known.allowed.clone(),
            decision,
            reports: &reports,
            sightings: &sightings,
            trusted: at.trusted,
        };
        verdict(&facts, &self.config.rules, &self.config.lifetimes, at.now)
    }

    pub fn allow_add(
        &self,
        viewer: &Viewer,
        obs: &Observable,
        comment: &str,
    ) -> HubResult<AllowEntry> {
        require(viewer, Permission::Administer)?;
        let e = self.store.allow_add(obs, comment, now_millis())?;
        self.changed();
        self.audit_as(
            viewer,
            AuditAction::AllowlistAdd,
            &format!("{} {}", obs.kind, obs.value),
        )?;
        Ok(e)
    }

    pub fn allow_remove(&self, viewer: &Viewer, obs: &Observable) -> HubResult<bool> {
        require(viewer, Permission::Administer)?;
        let removed = self.store.allow_remove(obs)?;
        self.changed();
        if removed {
            self.audit_as(
                viewer,
                AuditAction::AllowlistRemove,
                &format!("{} {}", obs.kind, obs.value),
            )?;
        }
        Ok(removed)
    }

    pub fn allow_list(&self, viewer: &Viewer) -> HubResult<Vec<AllowEntry>> {
        require(viewer, Permission::Administer)?;
        Ok(self.store.allow_list()?)
    }

    /// The hub-wide actionable set, rebuilt when a write or an expiry changed it.
    ///
    /// A snapshot that was slow to build (a large hub) is served on while the
    /// server's refresher builds the next one — after widening writes, and up
    /// to [`EXPIRY_GRACE_MS`] past its expiry — but never after a narrowing
    /// write (a report edited or deleted): then this call patches it (the
    /// writes' indicators judged afresh, also another node's, which the
    /// change log names) or, when their scope is not known, rebuilds it.
    pub fn snapshot(&self) -> HubResult<Arc<Snapshot>> {
        let now = now_millis();
        self.actionable.refresh.touch();
        let generation = self.generation.load(Ordering::SeqCst);
        let narrowed = self.narrowed.load(Ordering::SeqCst);
        let cached = self.actionable.current.lock().clone();
        if let Some(s) = cached {
            let until = s.valid_until.unwrap_or(Millis::MAX);
            let fresh = s.generation == generation && until > now;
            let tolerable = self.is_slow(s.took_ms)
                && s.narrowed == narrowed
                && until.saturating_add(EXPIRY_GRACE_MS) > now;
            if fresh || tolerable {
                return Ok(s);
            }
            let in_grace = until.saturating_add(EXPIRY_GRACE_MS) > now;
            if self.is_slow(s.took_ms) && in_grace {
                if let Some(ids) = self.narrowed_indicators(s.narrowed, narrowed) {
                    return self.patch_snapshot(&s, &ids, narrowed);
                }
            }
        }
        self.rebuild_snapshot()
    }

    /// Builds a fresh snapshot, or takes the one another thread just built.
    fn rebuild_snapshot(&self) -> HubResult<Arc<Snapshot>> {
        let _one = self.actionable.building.lock();
        let now = now_millis();
        let generation = self.generation.load(Ordering::SeqCst);
        let narrowed = self.narrowed.load(Ordering::SeqCst);
        let cached = self.actionable.current.lock().clone();
        if let Some(s) = cached {
            if s.generation == generation
                && s.narrowed == narrowed
                && s.valid_until.is_none_or(|v| v > now)
            {
                return Ok(s);
            }
        }
        self.build_and_keep_snapshot()
    }

    /// Builds a snapshot stamped with the counters read before it started
    /// and its build time, and keeps it. Call with `snapshot_building` held.
    fn build_and_keep_snapshot(&self) -> HubResult<Arc<Snapshot>> {
        let started = std::time::Instant::now();
        let generation = self.generation.load(Ordering::SeqCst);
        let narrowed = self.narrowed.load(Ordering::SeqCst);
        let mut fresh = self.build_snapshot(generation, now_millis())?;
        fresh.narrowed = narrowed;
        let mut fresh = self.guard(fresh)?;
        fresh.took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let fresh = Arc::new(fresh);
        *self.actionable.current.lock() = Some(fresh.clone());
        Ok(fresh)
    }

    /// Rebuilds a slow snapshot that is stale or about to expire, if feeds
    /// were asked for in the last ten minutes, at most once per four
    /// build-times. Called by the server's refresher every second.
    pub fn refresh_snapshot(&self) -> HubResult<()> {
        let cached = self.actionable.current.lock().clone();
        let Some(s) = cached else {
            return Ok(());
        };
        let now = now_millis();
        let took = i64::try_from(s.took_ms).unwrap_or(i64::MAX);
        // Stale, or about to expire (then it is built before it does).
        let stale = s.generation != self.generation.load(Ordering::SeqCst)
            || s.valid_until
                .is_some_and(|v| v - now <= took.saturating_mul(2));
        self.actionable.refresh.run_if_due(
            stale && self.is_slow(s.took_ms),
            now - s.built_at,
            took,
            || {
                let _one = self.actionable.building.lock();
                self.build_and_keep_snapshot().map(|_| ())
            },
        )
    }

    /// One indicator's entry in the snapshot, if it is actionable now.
    fn actionable(
        &self,
        known: Known,
        decision: Option<&Decision>,
        at: &Judging,
    ) -> Option<Actionable> {
        match self.verdict_of(&known, decision, at) {
            Verdict::Block {
                reason,
                expires_at,
                basis,
            } if expires_at.is_none_or(|e| e > at.now) => {
                let Known {
                    record,
                    links,
                    sightings,
                    ..
                } = known;
                Some(Actionable {
                    reason: if self.is_demo() && documentation_address(&record.observable) {
                        format!("{reason} [demo: a documentation address, let through on the demo hub only]")
                    } else {
                        reason
                    },
                    record,
                    links,
                    sightings,
                    expires_at,
                    basis,
                })
            }
            _ => None,
        }
    }

    /// A slow snapshot after narrowing writes whose indicators are known:
    /// the same items with those indicators judged afresh (a few reads, not a
    /// rebuild), so withdrawn reports stop counting at once.
    fn patch_snapshot(
        &self,
        old: &Snapshot,
        ids: &BTreeSet<IndicatorId>,
        narrowed: u64,
    ) -> HubResult<Arc<Snapshot>> {
        let now = now_millis();
        let list: Vec<IndicatorId> = ids.iter().copied().collect();
        let (mut links, mut sums) = self.facts_by_indicator(&list)?;
        let trusted = self.trusted_org_ids()?;
        let seals = self.seals()?;
        let mut valid_until = old.valid_until;
        let mut items: Vec<Arc<Actionable>> = old
            .items
            .iter()
            .filter(|a| !ids.contains(&a.record.id))
            .cloned()
            .collect();
        let mut own = old.own.clone();
        for o in own.values_mut() {
            o.allowed.retain(|id| !ids.contains(id));
            o.blocked.retain(|a| !ids.contains(&a.record.id));
        }
        // Indicators the writes deleted are simply not found.
        for record in self.store.indicators_by_id(&list)? {
            let (hub, own_latest) = latest_by_scope(&self.store.decisions_of(record.id)?);
            let known = Known {
                allowed: self.allow_reason(&record.observable)?,
                links: links.remove(&record.id).unwrap_or_default(),
                sightings: sums.remove(&record.id).unwrap_or_default(),
                record,
            };
            let at = Judging {
                trusted: &trusted,
                now,
            };
            let mut judged = Judged {
                own: &mut own,
                valid_until: &mut valid_until,
                items: &mut items,
            };
            self.judge_into(known, hub.as_ref(), &own_latest, &seals, &at, &mut judged);
        }
        items.sort_by(|a, b| a.record.observable.cmp(&b.record.observable));
        let patched = Arc::new(Snapshot {
            generation: old.generation,
            narrowed,
            built_at: now.max(old.built_at + 1),
            took_ms: old.took_ms,
            valid_until,
            items,
            own,
            trusted,
        });
        let mut cached = self.actionable.current.lock();
        // Keep a snapshot another thread made that already covers more.
        if cached.as_ref().is_none_or(|c| c.narrowed < narrowed) {
            *cached = Some(patched.clone());
        }
        Ok(patched)
    }

    fn build_snapshot(&self, generation: u64, now: Millis) -> HubResult<Snapshot> {
        let mut links: HashMap<i64, Vec<ReportLink>> = HashMap::new();
        for l in self.store.all_report_links()? {
            links.entry(l.indicator).or_default().push(l);
        }
        let mut sums: HashMap<i64, Vec<SightingSummary>> = HashMap::new();
        for s in self.store.all_sighting_summaries()? {
            sums.entry(s.indicator).or_default().push(s);
        }
        let mut hub_decisions: HashMap<i64, Decision> = HashMap::new();
        let mut own_decisions: HashMap<i64, HashMap<[u8; 32], Decision>> = HashMap::new();
        for d in self.store.latest_decisions()? {
            match d.scope {
                DecisionScope::Hub => {
                    hub_decisions.insert(d.indicator, to_decision(&d, false));
                }
                DecisionScope::Own(seal) => {
                    own_decisions
                        .entry(d.indicator)
                        .or_default()
                        .insert(seal, to_decision(&d, true));
                }
            }
        }
        let operator: HashMap<Observable, String> = self
            .store
            .allow_list()?
            .into_iter()
            .map(|e| (e.observable, e.comment))
            .collect();
        let trusted = self.trusted_org_ids()?;
        let seals = self.seals()?;
        let own_hosts = self.config.own_hosts();
        let mut items = Vec::new();
        let mut own: HashMap<OrgId, OwnOverrides> = HashMap::new();
        let mut valid_until: Option<Millis> = None;
        let no_own = HashMap::new();
        self.store.for_each_indicator(&mut |record| {
            let l = links.remove(&record.id).unwrap_or_default();
            let s = sums.remove(&record.id).unwrap_or_default();
            let decision = hub_decisions.get(&record.id);
            let own_latest = own_decisions.get(&record.id).unwrap_or(&no_own);
            if l.is_empty() && s.is_empty() && decision.is_none() && own_latest.is_empty() {
                return;
            }
            let allowed = self
                .fixed_allow(&record.observable, &own_hosts)
                .or_else(|| {
                    operator
                        .get(&record.observable)
                        .map(|c| AllowReason::Operator(c.clone()))
                });
            let known = Known {
                record,
                links: l,
                sightings: s,
                allowed,
            };
            let at = Judging {
                trusted: &trusted,
                now,
            };
            let mut judged = Judged {
                own: &mut own,
                valid_until: &mut valid_until,
                items: &mut items,
            };
            self.judge_into(known, decision, own_latest, &seals, &at, &mut judged);
        })?;
        // Rules about sightings also start to hold or lapse with time: look again within a minute.
        let recheck = now + 60_000;
        valid_until = Some(valid_until.map_or(recheck, |v| v.min(recheck)));
        items.sort_by(|a, b| a.record.observable.cmp(&b.record.observable));
        Ok(Snapshot {
            generation,
            narrowed: 0,
            built_at: now,
            took_ms: 0,
            valid_until,
            items,
            own,
            trusted,
        })
    }

    /// What telling which organization made an own decision takes: every
    /// organization (a seal is tried against each, then remembered) and the
    /// seals stored before per-value seals.
    fn seals(&self) -> HubResult<Seals> {
        let orgs: Vec<OrgId> = self.all_orgs()?.into_iter().map(|o| o.id).collect();
        let legacy = orgs
            .iter()
            .map(|org| (self.policy.legacy_decision_seal(*org), *org))
            .collect();
        Ok(Seals { orgs, legacy })
    }

    /// The organization an own decision's seal on `obs` stands for.
    fn seal_owner(&self, seals: &Seals, seal: &[u8; 32], obs: &Observable) -> Option<OrgId> {
        if let Some(org) = seals.legacy.get(seal) {
            return Some(*org);
        }
        if let Some(org) = self.seal_owners.lock().get(seal) {
            return Some(*org);
        }
        let org = seals
            .orgs
            .iter()
            .copied()
            .find(|org| self.policy.decision_seal(*org, obs) == *seal)?;
        let mut known = self.seal_owners.lock();
        if known.len() >= SEAL_OWNERS_KEPT {
            known.clear();
        }
        known.insert(*seal, org);
        Some(org)
    }

    /// Applies each organization's own live decision on one indicator to
    /// that organization's overrides.
    /// One indicator into a snapshot: its hub-wide item (if actionable) and
    /// each organization's own decision on it.
    fn judge_into(
        &self,
        known: Known,
        decision: Option<&Decision>,
        own_latest: &HashMap<[u8; 32], Decision>,
        seals: &Seals,
        at: &Judging,
        out: &mut Judged<'_>,
    ) {
        if !own_latest.is_empty() {
            self.judge_own(&known, own_latest, seals, at, out);
        }
        if let Some(a) = self.actionable(known, decision, at) {
            out.expiring(a.expires_at);
            out.items.push(Arc::new(a));
        }
    }

    /// Each organization's own latest decision on one indicator, judged
    /// for its own feeds.
    fn judge_own(
        &self,
        known: &Known,
        own_latest: &HashMap<[u8; 32], Decision>,
        seals: &Seals,
        at: &Judging,
        out: &mut Judged<'_>,
    ) {
        // Each organization's latest (a legacy seal and today's may both
        // hold one for the same organization).
        let mut latest: HashMap<OrgId, &Decision> = HashMap::new();
        for (seal, d) in own_latest {
            let Some(org) = self.seal_owner(seals, seal, &known.record.observable) else {
                continue;
            };
            let slot = latest.entry(org).or_insert(d);
            if d.decided_at > slot.decided_at {
                *slot = d;
            }
        }
        for (org, d) in latest {
            if !overrides(d, at.now) {
                continue;
            }
            let o = out.own.entry(org).or_default();
            match self.actionable(known.clone(), Some(d), at) {
                Some(a) => {
                    let e = a.expires_at;
                    o.blocked.push(Arc::new(a));
                    out.expiring(e);
                }
                None => {
                    o.allowed.insert(known.record.id);
                }
            }
        }
    }
}

/// Seal → organization answers remembered at most (then forgotten at once:
/// each is recomputed from the organizations when next needed).
const SEAL_OWNERS_KEPT: usize = 1_000_000;

/// See [`Hub::seals`].
struct Seals {
    orgs: Vec<OrgId>,
    legacy: HashMap<[u8; 32], OrgId>,
}

/// What the store knows about one indicator that its verdict depends on.
#[derive(Clone)]
struct Known {
    record: IndicatorRecord,
    links: Vec<ReportLink>,
    sightings: Vec<SightingSummary>,
    allowed: Option<AllowReason>,
}

/// What every verdict of one snapshot shares: the moment and the trusted set.
struct Judging<'a> {
    trusted: &'a [OrgId],
    now: Millis,
}

/// What judging one indicator adds to a snapshot besides its hub-wide item.
struct Judged<'a> {
    own: &'a mut HashMap<OrgId, OwnOverrides>,
    valid_until: &'a mut Option<Millis>,
    items: &'a mut Vec<Arc<Actionable>>,
}

impl Judged<'_> {
    fn expiring(&mut self, at: Option<Millis>) {
        if let Some(e) = at {
            *self.valid_until = Some(self.valid_until.map_or(e, |v| v.min(e)));
        }
    }
}
