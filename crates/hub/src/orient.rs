//! Orient (情勢判断): the community picture behind the dashboard.
//!
//! A [`Picture`] holds every indicator with activity in the last
//! [`WINDOW_DAYS`] days — its report links, its sightings per organization
//! (all time) and its daily rows in the window — with no viewer in mind.
//! [`Hub::cut`] takes one viewer's share of it: every indicator goes through
//! `Hub::assess` and every figure through the fewer-than-3 rule, so the rules
//! stay in `kyojo_core::policy`.
//!
//! Building a picture reads the whole window (about a second per million
//! daily rows); cutting one is a pass in memory. A picture that was quick to
//! build is rebuilt on the next view after any write. A slow one (a large,
//! busy hub) keeps being served while the server's refresher builds the next
//! one in the background — except after a write that can narrow what someone
//! may see (a report edited or deleted): the next view then waits for a fresh
//! picture, so nothing withdrawn is ever shown.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kyojo_core::policy::OrgId;
use kyojo_core::{Count, Kind, Observable, Viewer};
use kyojo_store::{day_of, Day, IndicatorId, Millis, ReportLink};

use crate::error::HubResult;
use crate::hub::{now_millis, Hub};
pub use crate::picture::{Active, DayRow, Picture};

/// How far back the picture reaches.
pub const WINDOW_DAYS: i64 = 90;
const DAY_MS: Millis = 86_400_000;

/// One viewer's share of the picture over the last `span` days.
#[derive(Debug, Default)]
pub struct Cut {
    /// Sightings per (day, sector slug), each cell under the fewer-than-3 rule.
    pub cells: BTreeMap<(Day, String), Count>,
    /// Per day, the cells hidden by the rule pooled into one figure — itself
    /// shown only when the pool holds at least 3 organizations.
    pub combined: BTreeMap<Day, Count>,
    /// Indicators by the day the viewer first saw them and kind.
    pub new_by: BTreeMap<(Day, Kind), u64>,
    /// The most widely seen indicators of the last 7 days, best first.
    pub top: Vec<TopIndicator>,
}

#[derive(Debug, Clone)]
pub struct TopIndicator {
    pub observable: Observable,
    pub seen_by: Count,
    pub reports: usize,
    pub last_seen: Option<Millis>,
}

impl Hub {
    /// The picture to draw from: current, or stale-but-safe for a slow one,
    /// or freshly built.
    pub fn picture(&self) -> HubResult<Arc<Picture>> {
        self.picture.refresh.touch();
        let current = self.picture.current.lock().clone();
        if let Some(p) = current {
            let generation = self.generation.load(Ordering::SeqCst);
            let narrowed = self.narrowed.load(Ordering::SeqCst);
            let window_start = day_of(now_millis()) - (WINDOW_DAYS - 1);
            let current = p.generation == generation && p.first_day == window_start;
            if p.narrowed == narrowed && (current || self.is_slow(p.took.as_millis() as u64)) {
                return Ok(p);
            }
            if self.is_slow(p.took.as_millis() as u64) {
                return self.relink_picture(&p, narrowed);
            }
        }
        self.build_picture()
    }

    /// A slow picture after a narrowing write: the same sightings with every
    /// report link read afresh (a small part of a full build), so what was
    /// withdrawn is gone at once.
    fn relink_picture(&self, old: &Picture, narrowed: u64) -> HubResult<Arc<Picture>> {
        let started = Instant::now();
        let slot: HashMap<IndicatorId, usize> = old
            .active
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, i))
            .collect();
        let picture = Arc::new(Picture {
            generation: old.generation,
            narrowed,
            first_day: old.first_day,
            sectors: old.sectors.clone(),
            active: old.active.clone(),
            links: links_of(self, &slot, old.active.len())?,
            took: old.took,
            built: old.built,
        });
        tracing::debug!(
            took_ms = started.elapsed().as_millis() as u64,
            "orient picture relinked"
        );
        let mut current = self.picture.current.lock();
        // Keep a fresher picture another thread may have stored meanwhile.
        if current.as_ref().is_none_or(|c| c.narrowed != narrowed) {
            *current = Some(picture.clone());
        }
        Ok(picture)
    }

    /// Builds a fresh picture (or takes the one another thread just built).
    pub fn build_picture(&self) -> HubResult<Arc<Picture>> {
        let _one = self.picture.building.lock();
        let generation = self.generation.load(Ordering::SeqCst);
        let narrowed = self.narrowed.load(Ordering::SeqCst);
        let now = now_millis();
        let first_day = day_of(now) - (WINDOW_DAYS - 1);
        let current = self.picture.current.lock().clone();
        if let Some(p) = current {
            if p.generation == generation && p.narrowed == narrowed && p.first_day == first_day {
                return Ok(p);
            }
        }
        let started = Instant::now();
        let store = self.store();
        let rows = store.sighting_rows_since(first_day)?;
        let mut ids: Vec<IndicatorId> = rows.iter().map(|r| r.indicator).collect();
        ids.extend(store.indicators_reported_since(first_day * DAY_MS)?);
        ids.sort_unstable();
        ids.dedup();
        let mut slot: HashMap<IndicatorId, usize> = HashMap::with_capacity(ids.len());
        let mut active = Vec::with_capacity(ids.len());
        for rec in store.indicators_by_id(&ids)? {
            slot.insert(rec.id, active.len());
            active.push(Active {
                id: rec.id,
                observable: rec.observable,
                sightings: Vec::new(),
                rows: Vec::new(),
            });
        }
        let links = links_of(self, &slot, active.len())?;
        for s in store.sighting_summaries(&ids)? {
            if let Some(&i) = slot.get(&s.indicator) {
                active[i].sightings.push(s);
            }
        }
        let mut sectors: Vec<String> = Vec::new();
        let mut sector_ix: HashMap<String, u16> = HashMap::new();
        for r in rows {
            let Some(&i) = slot.get(&r.indicator) else {
                continue;
            };
            let sector = match sector_ix.get(&r.org_sector) {
                Some(&s) => s,
                None => {
                    let s = u16::try_from(sectors.len()).unwrap_or(u16::MAX);
                    sectors.push(r.org_sector.clone());
                    sector_ix.insert(r.org_sector, s);
                    s
                }
            };
            active[i].rows.push(DayRow {
                day: r.day,
                org: r.org,
                sector,
                count: r.count,
            });
        }
        let picture = Arc::new(Picture {
            generation,
            narrowed,
            first_day,
            sectors,
            active: Arc::new(active),
            links,
            took: started.elapsed(),
            built: Instant::now(),
        });
        tracing::debug!(
            indicators = picture.active.len(),
            took_ms = picture.took.as_millis() as u64,
            "orient picture built"
        );
        *self.picture.current.lock() = Some(picture.clone());
        Ok(picture)
    }

    /// Rebuilds a slow, stale picture that someone looked at in the last ten
    /// minutes, at most once per four build-times (so a busy hub spends at
    /// most a fifth of a core on it). Called by the server's refresher.
    pub fn refresh_picture(&self) -> HubResult<()> {
        let current = self.picture.current.lock().clone();
        let Some(p) = current else {
            return Ok(());
        };
        let current = p.generation == self.generation.load(Ordering::SeqCst)
            && p.first_day == day_of(now_millis()) - (WINDOW_DAYS - 1);
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.picture
            .refresh
            .run_if_due(!current, ms(p.built.elapsed()), ms(p.took), || {
                self.build_picture().map(|_| ())
            })
    }

    /// One viewer's share of the picture over the last `span` days.
    pub fn cut(&self, picture: &Picture, viewer: &Viewer, span: i64) -> Cut {
        let now = now_millis();
        let first_day = day_of(now) - (span - 1);
        let start_ms = first_day * DAY_MS;
        let week = now - 7 * DAY_MS;
        let mut cells: HashMap<(Day, u16), (HashSet<OrgId>, u64)> = HashMap::new();
        let mut new_by: BTreeMap<(Day, Kind), u64> = BTreeMap::new();
        let mut top = Vec::new();
        for (a, links) in picture.active.iter().zip(&picture.links) {
            let assessed = self.assess(viewer, links, &a.sightings);
            if !assessed.visible {
                continue;
            }
            if let Some(f) = assessed.first_seen.filter(|f| *f >= start_ms) {
                *new_by.entry((day_of(f), a.observable.kind)).or_default() += 1;
            }
            if assessed.last_seen.is_some_and(|l| l >= week) {
                // Ranked by key here; only the ten kept are cloned.
                top.push((
                    (
                        Reverse(assessed.seen_by.exact().unwrap_or(0)),
                        Reverse(assessed.reports.len()),
                        Reverse(assessed.last_seen),
                        &a.observable.value,
                    ),
                    TopIndicator {
                        observable: Observable::from_store(a.observable.kind, String::new()),
                        seen_by: assessed.seen_by,
                        reports: assessed.reports.len(),
                        last_seen: assessed.last_seen,
                    },
                ));
                if top.len() >= 4096 {
                    keep_best(&mut top, 10);
                }
            }
            if assessed.sightings_visible {
                for r in a.rows.iter().filter(|r| r.day >= first_day) {
                    let c = cells.entry((r.day, r.sector)).or_default();
                    c.0.insert(r.org);
                    c.1 += r.count;
                }
            }
        }
        keep_best(&mut top, 10);
        let top = top
            .into_iter()
            .map(|((_, _, _, value), mut t)| {
                t.observable.value = value.clone();
                t
            })
            .collect();

        let mut gated = BTreeMap::new();
        let mut pooled: BTreeMap<Day, (HashSet<OrgId>, u64)> = BTreeMap::new();
        for ((day, sector), (orgs, n)) in cells {
            let c = Count::gated(orgs.len() as u64, n);
            if c.exact().is_none() {
                let p = pooled.entry(day).or_default();
                p.0.extend(orgs);
                p.1 += n;
            }
            let slug = picture
                .sectors
                .get(usize::from(sector))
                .cloned()
                .unwrap_or_default();
            gated.insert((day, slug), c);
        }
        let combined = pooled
            .into_iter()
            .map(|(d, (orgs, n))| (d, Count::gated(orgs.len() as u64, n)))
            .collect();
        Cut {
            cells: gated,
            combined,
            new_by,
            top,
        }
    }
}

/// Report links of the indicators in `slot`, grouped by their position.
fn links_of(
    hub: &Hub,
    slot: &HashMap<IndicatorId, usize>,
    len: usize,
) -> HubResult<Vec<Vec<ReportLink>>> {
    let mut ids: Vec<IndicatorId> = slot.keys().copied().collect();
    ids.sort_unstable();
    let mut links = vec![Vec::new(); len];
    for l in hub.store().report_links(&ids)? {
        if let Some(&i) = slot.get(&l.indicator) {
            links[i].push(l);
        }
    }
    Ok(links)
}

/// Sorts by key (the tuple order: most organizations, most reports, latest,
/// then value) and keeps the first `n`.
fn keep_best<K: Ord, T>(items: &mut Vec<(K, T)>, n: usize) {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.truncate(n);
}
