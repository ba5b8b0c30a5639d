//! The Hub: the one service through which every read and write goes, with the
//! sharing policy applied. No HTTP here: the edges (`kyojo-server`'s REST,
//! TAXII and web UI; the CLI) translate to and from it.
//!
//! Modules, lowest first (each imports only those above it in this list):
//! * [`error`], [`config`], [`metrics`], [`tokens`]: leaves.
//! * [`hub`]: the service — store, lookup index, policy, organizations.
//! * [`stix`]: STIX objects kept beside reports, and TAXII's reads.
//! * [`decide`]: what is actionable (the snapshot); [`guard`] holds large changes.
//! * [`feeds`]: feeds, hash prefixes and warning-page listings from the snapshot.
//! * [`orient`]: the community picture the dashboard draws.
//! * [`demo`]: the demo community; [`backup`]: backup and restore.

pub mod backup;
mod clock;
pub mod config;
pub mod decide;
pub mod demo;
mod derived;
pub mod error;
mod feed_cache;
pub mod feeds;
pub mod guard;
pub mod hub;
pub mod imports;
pub mod metrics;
pub mod misp;
pub mod orient;
mod picture;
pub mod replay;
pub mod sessions;
mod snapshot;
pub mod stix;
pub mod tokens;
pub mod warninglists;

pub use config::Config;
pub use error::{Conflict, HubError, HubResult};
pub use hub::Hub;
