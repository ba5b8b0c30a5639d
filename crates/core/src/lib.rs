//! The pure core of kyojo: what an observable is, how it is written canonically,
//! how observables are pulled out of pasted text, and the sharing rules (TLP,
//! audience, anonymity, small-count suppression) that every edge enforces.
//!
//! Nothing here does I/O, so everything here is tested exhaustively.

pub mod decide;
pub mod defang;
pub mod draft;
pub mod extract;
pub mod observable;
pub mod policy;
pub mod report;
pub mod sector;
pub mod tlp;
pub mod url;
pub mod warninglist;

pub use observable::{Kind, Observable, ObservableError};
pub use policy::{Audience, Count, Policy, ReportAccess, Role, Viewer};
pub use tlp::Tlp;
