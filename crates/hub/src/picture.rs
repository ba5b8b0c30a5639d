//! The community picture the dashboard draws from (the Orient step's
//! build): data only; `orient` builds and cuts it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kyojo_core::policy::OrgId;
use kyojo_core::Observable;
use kyojo_store::{Day, IndicatorId, ReportLink, SightingSummary};

/// Everything active in the window, viewer-independent.
pub struct Picture {
    /// The hub's write generation when the build started.
    pub generation: u64,
    /// The hub's narrowing counter when the build started.
    pub narrowed: u64,
    pub first_day: Day,
    /// Sector slugs, indexed by [`DayRow::sector`].
    pub sectors: Vec<String>,
    /// Shared between a picture and its relinked successors.
    pub active: Arc<Vec<Active>>,
    /// Report links of each active indicator (parallel to `active`).
    pub links: Vec<Vec<ReportLink>>,
    pub took: Duration,
    pub built: Instant,
}

/// One indicator with activity in the window.
pub struct Active {
    pub id: IndicatorId,
    pub observable: Observable,
    /// Sightings per organization, all time (the visibility rules use these).
    pub sightings: Vec<SightingSummary>,
    /// Daily rows inside the window.
    pub rows: Vec<DayRow>,
}

/// Sightings of one indicator by one organization on one day.
#[derive(Debug, Clone, Copy)]
pub struct DayRow {
    pub day: Day,
    pub org: OrgId,
    pub sector: u16,
    pub count: u64,
}
