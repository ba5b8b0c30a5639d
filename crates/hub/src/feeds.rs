//! The Act step's bulk outputs: block feeds (RPZ, hosts, plain lists, CSV)
//! and the hash-prefix list for private URL checks.
//!
//! Each is the hub-wide actionable snapshot filtered by what the caller may
//! see through the Feed channel (so RED never appears, AMBER only for its
//! audience), rendered once per (scope, format, options) and cached until the
//! snapshot changes. ETags are content hashes, so a poller gets 304 whenever
//! nothing it may see changed, even across restarts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use kyojo_core::policy::{Channel, OrgId, SightingPresence};
use kyojo_core::report::IncidentType;
use kyojo_core::{url, Kind, Tlp, Viewer};
use kyojo_formats::{FeedEntry, RpzAction, RpzOptions};

use crate::decide::{Actionable, Snapshot};
use crate::error::{HubError, HubResult};
use crate::feed_cache::{CachedFeed, Scope, ScopedEntries};
pub use crate::feed_cache::{FeedCache, FeedFormat, FeedOptions, FullHash, PrefixSet, Rendered};
use crate::hub::{now_millis, Hub};
use kyojo_core::decide::{is_trusted_report, Basis, ReportFact};

/// What the hub knows about the host, for its warning page, filtered by the sharing rules.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Incident type slugs, e.g. `["phishing", "malware"]`; may be empty.
    pub threats: Vec<String>,
    /// Ms since epoch of the most recent report/sighting, if known.
    pub last_seen: Option<i64>,
}

const PREFIX_HISTORY: usize = 16;
/// Memory the prefix history of one scope may hold.
const PREFIX_HISTORY_BYTES: usize = 16 << 20;
const CACHE_LIMIT: usize = 512;
/// Memory the rendered feeds of all scopes may hold (a feed of a million
/// domains is 26–142 MiB; the one just rendered is always kept).
const FEED_CACHE_BYTES: usize = 256 << 20;

fn scope(viewer: &Viewer) -> Scope {
    viewer.member().map(|m| m.org)
}

/// What `viewer` may see of one actionable item, as a feed line; None if
/// nothing. It must see the indicator, and also why it is actionable: a
/// value that only a report it may not read (RED, another audience) made
/// actionable never reaches its feed, even if it sighted the value itself.
fn entry_for(
    hub: &Hub,
    viewer: &Viewer,
    item: &Actionable,
    trusted: &[OrgId],
) -> Option<FeedEntry> {
    let readable: Vec<_> = item
        .links
        .iter()
        .filter(|l| hub.policy.can_read(viewer, &l.access, Channel::Feed))
        .collect();
    let basis_seen = match item.basis {
        Basis::TrustedReport => readable.iter().any(|l| {
            is_trusted_report(
                &ReportFact {
                    tlp: l.access.tlp,
                    author: hub.policy.visible_author(&l.access),
                    created_at: l.created_at,
                },
                trusted,
            )
        }),
        // Hub-wide decisions are published to every member who may see the
        // indicator; own ones reach their own organization's feeds only.
        Basis::HubDecision | Basis::OwnDecision => true,
        // Sighting counts are community knowledge: members', never the
        // public's (a public feed would tell which CLEAR values members saw).
        Basis::Sightings => hub.policy.can_see_sightings(viewer, Channel::Feed),
    };
    if !basis_seen {
        return None;
    }
    let my_org = viewer.member().map(|m| m.org);
    let orgs: BTreeSet<OrgId> = item.sightings.iter().map(|s| s.org).collect();
    let presence = SightingPresence {
        orgs: orgs.len() as u64,
        by_viewer: my_org.is_some_and(|o| orgs.contains(&o)),
    };
    if !hub.policy.can_see_indicator(
        viewer,
        item.links.iter().map(|l| &l.access),
        presence,
        Channel::Feed,
    ) {
        return None;
    }
    let sightings_seen = hub.policy.can_see_sightings(viewer, Channel::Feed);
    let mut first = readable.iter().map(|l| l.created_at).min();
    let mut last = readable.iter().map(|l| l.created_at).max();
    if sightings_seen {
        for s in &item.sightings {
            first = Some(first.map_or(s.first_seen, |f| f.min(s.first_seen)));
            last = Some(last.map_or(s.last_seen, |l| l.max(s.last_seen)));
        }
    }
    // Sightings-only knowledge is community information: GREEN.
    let tlp = readable
        .iter()
        .map(|l| l.access.tlp)
        .min()
        .unwrap_or(Tlp::Green);
    let sectors: BTreeSet<String> = readable.iter().filter_map(|l| l.sector.clone()).collect();
    let mut threats: BTreeMap<IncidentType, usize> = BTreeMap::new();
    for l in &readable {
        *threats.entry(l.incident_type).or_insert(0) += 1;
    }
    let threat = threats
        .iter()
        .max_by_key(|(t, n)| (**n, std::cmp::Reverse(**t)))
        .map(|(t, _)| t.as_str().to_string());
    Some(FeedEntry {
        kind: item.record.observable.kind,
        value: item.record.observable.value.clone(),
        first_seen: first.unwrap_or(item.record.created_at),
        last_seen: last.unwrap_or(item.record.created_at),
        expires_at: item.expires_at,
        reason: item.reason.clone(),
        tlp,
        sectors: sectors.into_iter().collect(),
        threat,
    })
}

fn content_hash(format: FeedFormat, options: &FeedOptions, entries: &[FeedEntry]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(format!("{format:?}|{options:?}|").as_bytes());
    // Every field, length-prefixed so that no two entry lists hash alike.
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    for e in entries {
        field(e.kind.as_str().as_bytes());
        field(e.value.as_bytes());
        field(&e.first_seen.to_le_bytes());
        field(&e.last_seen.to_le_bytes());
        field(&e.expires_at.unwrap_or(i64::MIN).to_le_bytes());
        field(e.reason.as_bytes());
        field(e.tlp.as_str().as_bytes());
        field(e.sectors.join(";").as_bytes());
        field(e.threat.as_deref().unwrap_or("").as_bytes());
    }
    h.finalize().into()
}

/// Quoted ETag from content.
fn etag_of(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    format!("\"{}\"", hex::encode(&d[..16]))
}

impl Hub {
    /// The feed entries `viewer` may see, in snapshot order.
    pub fn feed_entries(&self, viewer: &Viewer) -> HubResult<(Arc<Snapshot>, Arc<Vec<FeedEntry>>)> {
        if !viewer.may(kyojo_core::policy::Permission::ReadFeeds) {
            return Err(HubError::forbidden("this token may not read feeds"));
        }
        let snap = self.snapshot()?;
        let key = scope(viewer);
        if let Some(c) = self.feeds.entries.lock().get(&key) {
            if c.generation == snap.generation && c.snapshot_built_at == snap.built_at {
                return Ok((snap, c.entries.clone()));
            }
        }
        let own = key.and_then(|org| snap.own.get(&org));
        let entries: Vec<FeedEntry> = match own {
            None => snap
                .items
                .iter()
                .filter_map(|i| entry_for(self, viewer, i, &snap.trusted))
                .collect(),
            // The organization's own decisions change its own feeds only.
            Some(own) => {
                let blocked: BTreeSet<_> = own.blocked.iter().map(|a| a.record.id).collect();
                let mut items: Vec<&Arc<Actionable>> = snap
                    .items
                    .iter()
                    .filter(|a| {
                        !own.allowed.contains(&a.record.id) && !blocked.contains(&a.record.id)
                    })
                    .chain(own.blocked.iter())
                    .collect();
                items.sort_by(|a, b| a.record.observable.cmp(&b.record.observable));
                items
                    .into_iter()
                    .filter_map(|i| entry_for(self, viewer, i, &snap.trusted))
                    .collect()
            }
        };
        let entries = Arc::new(entries);
        let mut cache = self.feeds.entries.lock();
        // Entries drawn from an older snapshot are never served again.
        cache
            .retain(|_, c| c.generation == snap.generation && c.snapshot_built_at == snap.built_at);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(
            key,
            ScopedEntries {
                generation: snap.generation,
                snapshot_built_at: snap.built_at,
                entries: entries.clone(),
            },
        );
        Ok((snap, entries))
    }

    /// A feed for `viewer`, from cache when nothing it may see changed.
    pub fn render_feed(
        &self,
        viewer: &Viewer,
        format: FeedFormat,
        options: &FeedOptions,
    ) -> HubResult<Rendered> {
        if !viewer.may(kyojo_core::policy::Permission::ReadFeeds) {
            return Err(HubError::forbidden("this token may not read feeds"));
        }
        let snap = self.snapshot()?;
        let key = (scope(viewer), format, options.clone());
        let previous = self.feeds.rendered.lock().get(&key).cloned();
        if let Some(p) = &previous {
            if p.generation == snap.generation && p.snapshot_built_at == snap.built_at {
                return Ok(p.rendered.clone());
            }
        }
        let (snap, entries) = self.feed_entries(viewer)?;
        let hash = content_hash(format, options, &entries);
        let now = now_millis();
        let (serial, last_modified) = match &previous {
            Some(p) if p.content_hash == hash => (p.serial, p.rendered.last_modified),
            // The RPZ serial must grow with every change, also across restarts: seconds, bumped past the last one.
            Some(p) => (((now / 1000) as u32).max(p.serial.wrapping_add(1)), now),
            None => ((now / 1000) as u32, now),
        };
        let rendered = match &previous {
            Some(p) if p.content_hash == hash => p.rendered.clone(),
            _ => {
                let mut body = Vec::with_capacity(entries.len() * 40 + 256);
                // What this format holds (an RPZ zone or ips.txt holds a
                // subset of the viewer's entries), not what was offered.
                let written = self.write_feed(&mut body, format, options, &entries, serial)?;
                Rendered {
                    etag: etag_of(&body),
                    body: Arc::new(body),
                    last_modified,
                    entries: written,
                }
            }
        };
        let mut cache = self.feeds.rendered.lock();
        let fresh = |c: &CachedFeed| {
            c.generation == snap.generation && c.snapshot_built_at == snap.built_at
        };
        let size = |c: &CachedFeed| c.rendered.body.len() + 256;
        let mut bytes: usize = cache.values().map(size).sum::<usize>() + rendered.body.len();
        if bytes > FEED_CACHE_BYTES || cache.len() >= CACHE_LIMIT {
            // Over budget: drop feeds of older snapshots first (a poller then
            // gets them re-rendered, with a serial that still grows), then
            // any others, largest first.
            cache.retain(|_, c| fresh(c));
            bytes = cache.values().map(size).sum::<usize>() + rendered.body.len();
            if bytes > FEED_CACHE_BYTES || cache.len() >= CACHE_LIMIT {
                let mut sizes: Vec<(usize, (Scope, FeedFormat, FeedOptions))> =
                    cache.iter().map(|(k, c)| (size(c), k.clone())).collect();
                sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
                for (n, k) in sizes {
                    if bytes <= FEED_CACHE_BYTES && cache.len() < CACHE_LIMIT {
                        break;
                    }
                    cache.remove(&k);
                    bytes = bytes.saturating_sub(n);
                }
            }
        }
        cache.insert(
            key,
            CachedFeed {
                generation: snap.generation,
                snapshot_built_at: snap.built_at,
                content_hash: hash,
                serial,
                rendered: rendered.clone(),
            },
        );
        Ok(rendered)
    }

    /// Writes a feed; `serial` is the RPZ SOA serial.
    pub fn write_feed(
        &self,
        out: &mut dyn std::io::Write,
        format: FeedFormat,
        options: &FeedOptions,
        entries: &[FeedEntry],
        serial: u32,
    ) -> HubResult<usize> {
        let result = match format {
            FeedFormat::Rpz => {
                let action = if options.walled_garden {
                    RpzAction::WalledGarden(self.config.warning_host.clone())
                } else {
                    RpzAction::Nxdomain
                };
                kyojo_formats::write_rpz(
                    out,
                    entries,
                    &RpzOptions {
                        zone: self.config.rpz_zone.clone(),
                        serial,
                        action,
                        soa_mname: "localhost.".to_string(),
                        soa_rname: "hostmaster.localhost.".to_string(),
                        ttl: 300,
                    },
                )
            }
            FeedFormat::Hosts => kyojo_formats::write_hosts(
                out,
                entries,
                options.sinkhole.unwrap_or(IpAddr::from([0, 0, 0, 0])),
            ),
            FeedFormat::DomainsTxt => kyojo_formats::write_domains_txt(out, entries),
            FeedFormat::UrlsTxt => kyojo_formats::write_urls_txt(out, entries),
            FeedFormat::IpsTxt => kyojo_formats::write_ips_txt(out, entries),
            FeedFormat::Csv => kyojo_formats::write_csv(out, entries),
        };
        let stats = result.map_err(HubError::internal)?;
        if stats.skipped > 0 {
            tracing::warn!(
                skipped = stats.skipped,
                ?format,
                "feed entries could not be written safely"
            );
        }
        Ok(stats.written)
    }

    /// The prefix set `viewer` may check against.
    pub fn prefix_set(&self, viewer: &Viewer) -> HubResult<(Arc<PrefixSet>, Vec<Arc<PrefixSet>>)> {
        let (snap, entries) = self.feed_entries(viewer)?;
        let key = scope(viewer);
        let mut all = self.feeds.prefixes.lock();
        if all.len() >= CACHE_LIMIT && !all.contains_key(&key) {
            all.clear();
        }
        let state = all.entry(key).or_default();
        let fresh = state.generation == snap.generation && state.snapshot_built_at == snap.built_at;
        if let (true, Some(cur)) = (fresh, &state.current) {
            return Ok((cur.clone(), state.history.iter().cloned().collect()));
        }
        let mut full: HashMap<[u8; 4], Vec<FullHash>> = HashMap::new();
        for e in entries.iter() {
            let expression = match e.kind {
                Kind::Url => url::listed_expression(&e.value),
                Kind::Domain => url::domain_expression(&e.value),
                _ => continue,
            };
            let hash = url::full_hash(&expression);
            let prefix = [hash[0], hash[1], hash[2], hash[3]];
            let list = full.entry(prefix).or_default();
            if !list.iter().any(|f| f.hash == hash) {
                list.push(FullHash {
                    hash,
                    threat: e.threat.clone().unwrap_or_else(|| "malicious".to_string()),
                    expires_at: e.expires_at,
                });
            }
        }
        let prefixes: BTreeSet<[u8; 4]> = full.keys().copied().collect();
        let unchanged = state.current.as_ref().filter(|c| *c.prefixes == prefixes);
        let current = match unchanged {
            // Same prefixes: keep the version, refresh the full-hash details.
            Some(c) => Arc::new(PrefixSet {
                version: c.version,
                prefixes: c.prefixes.clone(),
                full,
            }),
            None => {
                let version =
                    (now_millis() as u64).max(state.current.as_ref().map_or(0, |c| c.version + 1));
                if let Some(old) = state.current.take() {
                    state.history.push_back(Arc::new(old.prefixes_only()));
                    let mut bytes: usize = state.history.iter().map(|h| h.history_bytes()).sum();
                    while state.history.len() > PREFIX_HISTORY
                        || (bytes > PREFIX_HISTORY_BYTES && state.history.len() > 1)
                    {
                        if let Some(dropped) = state.history.pop_front() {
                            bytes -= dropped.history_bytes();
                        }
                    }
                }
                Arc::new(PrefixSet {
                    version,
                    prefixes: Arc::new(prefixes),
                    full,
                })
            }
        };
        state.current = Some(current.clone());
        state.generation = snap.generation;
        state.snapshot_built_at = snap.built_at;
        Ok((current, state.history.iter().cloned().collect()))
    }

    /// Full hashes behind the given prefixes. Nothing about the caller's
    /// request is logged or kept.
    pub fn search_hashes(
        &self,
        viewer: &Viewer,
        prefixes: &[[u8; 4]],
    ) -> HubResult<Vec<([u8; 4], FullHash)>> {
        let (set, _) = self.prefix_set(viewer)?;
        let mut out = Vec::new();
        for p in prefixes {
            if let Some(list) = set.full.get(p) {
                out.extend(list.iter().map(|f| (*p, f.clone())));
            }
        }
        Ok(out)
    }

    /// What the warning page may say about a host: threat kinds from CLEAR
    /// reports only, since the page is public. `None`: not actionable at all.
    pub fn warning_listing(&self, host: &str) -> HubResult<Option<Listing>> {
        let Ok(obs) = kyojo_core::observable::canonicalize(Kind::Domain, host) else {
            return Ok(None);
        };
        let snap = self.snapshot()?;
        // The host itself or any listed parent domain.
        let mut candidates = vec![obs.value.clone()];
        let mut rest = obs.value.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            candidates.push(parent.to_string());
            rest = parent;
        }
        // The snapshot is sorted by observable: one binary search per candidate.
        let hit = candidates.into_iter().find_map(|value| {
            let key = kyojo_core::Observable::from_store(Kind::Domain, value);
            let at = snap
                .items
                .binary_search_by(|i| i.record.observable.cmp(&key))
                .ok()?;
            let i = &snap.items[at];
            (i.links.iter().any(|l| l.access.tlp != Tlp::Red) || !i.sightings.is_empty())
                .then_some(i)
        });
        Ok(hit.map(|i| {
            let clear: BTreeSet<String> = i
                .links
                .iter()
                .filter(|l| l.access.tlp == Tlp::Clear)
                .map(|l| l.incident_type.as_str().to_string())
                .collect();
            let last_seen = i
                .links
                .iter()
                .filter(|l| l.access.tlp == Tlp::Clear)
                .map(|l| l.created_at)
                .max();
            Listing {
                threats: clear.into_iter().collect(),
                last_seen,
            }
        }))
    }
}
