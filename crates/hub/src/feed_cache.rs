//! The feeds' caches: renders keyed by (scope, format, options) and the
//! hash-prefix lists with their history. Data only; `feeds` fills them from
//! the actionable snapshot.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

use kyojo_core::policy::OrgId;
use kyojo_formats::FeedEntry;
use kyojo_store::Millis;

/// The feeds a consumer can pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedFormat {
    Rpz,
    Hosts,
    DomainsTxt,
    UrlsTxt,
    IpsTxt,
    Csv,
}

impl FeedFormat {
    pub fn from_path(name: &str) -> Option<FeedFormat> {
        Some(match name {
            "rpz" => FeedFormat::Rpz,
            "hosts" => FeedFormat::Hosts,
            "domains.txt" => FeedFormat::DomainsTxt,
            "urls.txt" => FeedFormat::UrlsTxt,
            "ips.txt" => FeedFormat::IpsTxt,
            "indicators.csv" => FeedFormat::Csv,
            _ => return None,
        })
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FeedFormat::Csv => "text/csv; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        }
    }
}

/// Per-request choices that change the bytes of a feed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FeedOptions {
    /// RPZ: answer with a CNAME to the warning host instead of NXDOMAIN.
    pub walled_garden: bool,
    /// hosts: the address listed names point to.
    pub sinkhole: Option<IpAddr>,
}

/// A rendered feed.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Arc<Vec<u8>>,
    /// Quoted strong validator.
    pub etag: String,
    pub last_modified: Millis,
    pub entries: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct CachedFeed {
    pub(crate) generation: u64,
    pub(crate) snapshot_built_at: Millis,
    pub(crate) content_hash: [u8; 32],
    pub(crate) serial: u32,
    pub(crate) rendered: Rendered,
}

/// Hash prefixes of one scope, with a short history so clients can fetch
/// diffs. The history keeps earlier prefix lists only (shared with the set
/// they came from), never their full hashes, and is bounded in count and
/// bytes (`feeds::PREFIX_HISTORY`, `feeds::PREFIX_HISTORY_BYTES`).
#[derive(Debug, Default)]
pub(crate) struct PrefixState {
    pub(crate) generation: u64,
    pub(crate) snapshot_built_at: Millis,
    pub(crate) current: Option<Arc<PrefixSet>>,
    pub(crate) history: VecDeque<Arc<PrefixSet>>,
}

/// The full hashes behind each 4-byte prefix, for one scope. In the history
/// of earlier versions `full` is empty.
#[derive(Debug)]
pub struct PrefixSet {
    pub version: u64,
    pub prefixes: Arc<BTreeSet<[u8; 4]>>,
    pub full: HashMap<[u8; 4], Vec<FullHash>>,
}

impl PrefixSet {
    /// The prefix list alone, for the history.
    pub(crate) fn prefixes_only(&self) -> PrefixSet {
        PrefixSet {
            version: self.version,
            prefixes: self.prefixes.clone(),
            full: HashMap::new(),
        }
    }

    /// Roughly what a prefix list holds in memory (B-tree nodes included).
    pub(crate) fn history_bytes(&self) -> usize {
        self.prefixes.len() * 8 + 64
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullHash {
    pub hash: [u8; 32],
    pub threat: String,
    pub expires_at: Option<Millis>,
}

pub(crate) type Scope = Option<OrgId>;

/// Caches owned by the Hub.
#[derive(Default)]
pub struct FeedCache {
    pub(crate) rendered: Mutex<HashMap<(Scope, FeedFormat, FeedOptions), CachedFeed>>,
    /// What each scope sees of the current snapshot, shared by all its formats.
    pub(crate) entries: Mutex<HashMap<Scope, ScopedEntries>>,
    pub(crate) prefixes: Mutex<HashMap<Scope, PrefixState>>,
}

#[derive(Clone)]
pub(crate) struct ScopedEntries {
    pub(crate) generation: u64,
    pub(crate) snapshot_built_at: Millis,
    pub(crate) entries: Arc<Vec<FeedEntry>>,
}
