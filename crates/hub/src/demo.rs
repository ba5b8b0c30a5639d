//! The demo community that `serve --demo` seeds: a handful of fictional
//! Japanese member organizations, a month of reports and sightings, and a few
//! hundred indicators of every kind.
//!
//! Everything is written through the [`Hub`]'s public methods, exactly as the
//! API would write it, so that the lookup index stays in step with the store.
//! The content is deterministic (a fixed-seed RNG) and dated relative to the
//! `now` given, so a fresh demo always looks "current".
//!
//! Every value is fictional and safe to publish: domains under reserved TLDs
//! (`.example`, `.test`, `.invalid`) or below `example.com/.net/.org`, IPv4
//! addresses from the documentation ranges (RFC 5737), IPv6 addresses under
//! `2001:db8::/32` (RFC 3849), and hashes of random bytes.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};

use kyojo_core::decide::Action;
use kyojo_core::observable::canonicalize;
use kyojo_core::policy::{Member, OrgId};
use kyojo_core::report::IncidentType;
use kyojo_core::{Audience, Kind, Observable, Role, Tlp, Viewer};
use kyojo_store::{day_of, Millis, NewSighting, Org};

use crate::error::HubError;
use crate::hub::{now_millis, Hub, RawDraft};

/// Tokens minted for the demo, one per role, to print once.
pub struct DemoTokens {
    pub admin: String,
    pub analyst: String,
    pub sensor: String,
    pub consumer: String,
    /// a second analyst in another organization and sector, to show TLP/audience rules
    pub other_analyst: String,
    pub org_names: Vec<String>,
}

/// What [`seed`] did. When nothing was seeded (`seeded == false`) the counts
/// are what the store already holds.
#[derive(Debug, Default)]
pub struct SeedSummary {
    pub orgs: usize,
    pub reports: usize,
    pub sighting_rows: usize,
    pub indicators: usize,
    pub seeded: bool,
}

/// Label of every token [`mint_tokens`] creates, so that the next start can revoke them.
pub const TOKEN_LABEL: &str = "demo";

const DAY: Millis = 86_400_000;
/// Calendar days (UTC) of history, today included.
const DAYS: i64 = 30;
const REPORTS_PER_DAY: usize = 5;
/// Distinct values generated per kind; every one ends up stored.
const POOL_PER_KIND: usize = 240;
/// The first values of each pool are the "famous" ones several members report and sight.
const SHARED_PER_KIND: usize = 30;
/// Indicators sighted by at least three organizations on each day.
const HOT_PER_DAY: usize = 6;
/// Indicators sighted by exactly two organizations on each day.
const WARM_PER_DAY: usize = 3;
/// Indicators only one organization sights, per sighting organization and day.
const PRIVATE_PER_DAY: usize = 2;
const RNG_SEED: u64 = 0x6b79_6f6a_6f5f_6465; // "kyojo_de"

const FIRST_ORG: &str = "Sakura Bank";
const SENSOR_ORG: &str = "Kyojo Sensor Network";
const ISP_ORG: &str = "Hikari Telecom ISP";
const OTHER_ORG: &str = "Aozora Hospital";

/// (name, sector, weight as a report author). The first is the demo's own organization.
/// Finance, telecom and electricity have three sighting members each, so
/// the dashboard's per-sector figures show real numbers; the other sectors
/// have one, so some cells still read "fewer than 3".
const ORGS: [(&str, &str, u32); 16] = [
    (FIRST_ORG, "finance", 6),
    (ISP_ORG, "telecom", 4),
    (SENSOR_ORG, "general", 1),
    ("Kanto Power", "electricity", 3),
    ("Minato Rail", "railway", 3),
    (OTHER_ORG, "medical", 3),
    ("Kobe Port Logistics", "logistics", 3),
    ("Chiyoda City Office", "government", 3),
    ("Tokai Gas", "gas", 2),
    ("Midori Water Works", "water", 2),
    ("Naniwa Shinkin Bank", "finance", 3),
    ("Hokuriku Securities", "finance", 2),
    ("Sora Mobile", "telecom", 2),
    ("Kansai Cable Net", "telecom", 2),
    ("Tohoku Grid", "electricity", 2),
    ("Setouchi Energy", "electricity", 2),
];

/// Members (indexes into [`ORGS`]) whose sensors post sightings besides the
/// sensor network and the ISP: three per sector in finance, telecom (with
/// the ISP) and electricity; one each in railway, logistics and government.
const SIGHTING_MEMBERS: [usize; 11] = [0, 3, 4, 6, 7, 10, 11, 12, 13, 14, 15];
/// Index of the sensor organization in [`ORGS`]: it sights everything hot and the leftovers.
const SENSOR: usize = 2;
/// Index of the ISP in [`ORGS`]: it also sights everything hot.
const ISP: usize = 1;

/// Seeds a demo community unless the store already holds organizations (then
/// seeds nothing, `seeded == false`).
///
/// Deterministic content (a fixed-seed RNG), dated over the 30 UTC calendar
/// days that end with `now` (millis): about 150 reports, a sighting batch per
/// sighting organization and day, and 240 indicators of every kind.
pub fn seed(hub: &Hub, now: Millis) -> Result<SeedSummary, HubError> {
    if !hub.all_orgs()?.is_empty() {
        return summary(hub, false);
    }
    hub.mark_demo()?;
    let mut rng = StdRng::seed_from_u64(RNG_SEED);
    let pools = Pools::generate(&mut rng);

    let mut orgs = Vec::with_capacity(ORGS.len());
    for (name, sector, _) in ORGS {
        orgs.push(hub.add_org(name, sector)?);
    }

    let mut used: HashSet<Observable> = HashSet::new();
    let mut cursors: BTreeMap<Kind, usize> = BTreeMap::new();
    let reports = plan_reports(&mut rng, &pools, &orgs, now, &mut cursors, &mut used);
    let mut batches = plan_sightings(&mut rng, &pools, now, &mut used);
    plan_leftovers(&mut rng, &pools, now, &used, &mut batches);

    // Write day by day, oldest first, so that row ids follow time like a live hub's.
    for slot in (0..DAYS).rev() {
        for r in reports.iter().filter(|r| r.slot == slot) {
            let author = &orgs[r.author];
            hub.submit_report(&as_member(author, Role::Analyst), r.draft.clone(), r.at)?;
        }
        for ((_, org), batch) in batches.range_mut((slot, 0)..=(slot, usize::MAX)) {
            batch.sort_by_key(|b| b.seen_at);
            hub.add_sightings(&as_member(&orgs[*org], Role::Sensor), batch)?;
        }
    }
    decide_some(hub, &orgs[0], &reports, now)?;
    summary(hub, true)
}

/// The first organization's analysts confirm the domains and URLs of recent
/// CLEAR and GREEN reports, so the demo's feeds, RPZ zone and warning page
/// have something to show. Values the allow list protects are skipped, as a
/// real analyst would be told.
/// Blocks the demo's curator decides: well under the hourly budget
/// (`decisions.blocks_per_hour`, 200 by default), which seeding spends like
/// anyone, so the demo's own analysts can still block right away.
const DEMO_BLOCKS: usize = 60;

fn decide_some(
    hub: &Hub,
    org: &Org,
    reports: &[PlannedReport],
    now: Millis,
) -> Result<(), HubError> {
    // The hub's curator confirms them for every member's feeds.
    let curator = as_member(org, Role::Curator);
    let recent = now - 20 * 86_400_000;
    let mut done = HashSet::new();
    for r in reports
        .iter()
        .filter(|r| r.at >= recent && r.draft.tlp.may_leave_hub())
    {
        for obs in r
            .draft
            .indicators
            .iter()
            .filter(|o| matches!(o.kind, Kind::Domain | Kind::Url))
        {
            if done.len() >= DEMO_BLOCKS || !done.insert(obs.clone()) {
                continue;
            }
            let comment = "demo: confirmed by the Sakura Bank SOC";
            match hub.decide(
                &curator,
                obs,
                Action::Block,
                comment,
                None,
                crate::decide::DecideFor::Hub,
            ) {
                Ok(_) => {}
                Err(e) if e.is_client_error() => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Revokes earlier demo tokens (label `"demo"`) and mints fresh ones: admin and
/// analyst for the first organization, sensor for the sensor organization,
/// consumer for the ISP, and an analyst of an organization in another sector.
///
/// Falls back to whatever organizations exist when the demo ones are missing
/// (a store seeded by hand); fails only when there are none.
pub fn mint_tokens(hub: &Hub) -> Result<DemoTokens, HubError> {
    let mut orgs = hub.all_orgs()?;
    orgs.sort_by_key(|o| o.id);
    let Some(lowest) = orgs.first() else {
        return Err(HubError::not_found(
            "organization (seed the demo community before minting demo tokens)",
        ));
    };
    let named = |name: &str| orgs.iter().find(|o| o.name == name);
    let first = named(FIRST_ORG).unwrap_or(lowest);
    let sensor = named(SENSOR_ORG).unwrap_or(first);
    let isp = named(ISP_ORG)
        .or_else(|| orgs.iter().find(|o| o.sector == "telecom"))
        .unwrap_or(first);
    let other = named(OTHER_ORG)
        .filter(|o| o.sector != first.sector)
        .or_else(|| orgs.iter().find(|o| o.sector != first.sector))
        .unwrap_or(first);

    let now = now_millis();
    for org in &orgs {
        hub.store()
            .revoke_tokens_labelled(org.id, TOKEN_LABEL, now)?;
    }
    let mint = |org: &Org, role: Role| -> Result<String, HubError> {
        Ok(hub.create_token(&org.name, role, Some(TOKEN_LABEL))?.1)
    };
    Ok(DemoTokens {
        admin: mint(first, Role::Admin)?,
        analyst: mint(first, Role::Analyst)?,
        sensor: mint(sensor, Role::Sensor)?,
        consumer: mint(isp, Role::Consumer)?,
        other_analyst: mint(other, Role::Analyst)?,
        org_names: orgs.iter().map(|o| o.name.clone()).collect(),
    })
}

fn summary(hub: &Hub, seeded: bool) -> Result<SeedSummary, HubError> {
    let store = hub.store();
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(SeedSummary {
        orgs: hub.all_orgs()?.len(),
        reports: size(store.count_reports()?),
        sighting_rows: size(store.count_sighting_rows()?),
        indicators: size(store.count_indicators()?),
        seeded,
    })
}

fn as_member(org: &Org, role: Role) -> Viewer {
    Viewer::Member(Member {
        org: org.id,
        sector: org.sector.clone(),
        role,
    })
}

/// A random instant of the UTC calendar day `slot` days before `now`'s, never after `now`.
fn time_in_slot(rng: &mut StdRng, now: Millis, slot: i64) -> Millis {
    let start = (day_of(now) - slot) * DAY;
    let end = (start + DAY).min(now + 1).max(start + 1);
    // Always draw from the same range, so that `now` never changes what the
    // RNG yields next: the content stays the same, only its dates move.
    let offset = rng.gen_range(0..DAY);
    start + offset % (end - start)
}

/// One item of a constant, non-empty table, with probability proportional to its weight.
fn pick_weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0..total.max(1));
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// One item of a constant, non-empty table.
fn pick<'a, T, const N: usize>(rng: &mut StdRng, items: &'a [T; N]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

// ---- values ----------------------------------------------------------------------

const PREFIXES: [&str; 16] = [
    "login", "secure", "verify", "account", "update", "support", "mypage", "auth", "signin",
    "billing", "notice", "portal", "id", "web", "service", "confirm",
];
const BRANDS: [&str; 20] = [
    "sakura-bank",
    "naniwa-shinkin",
    "kanto-power",
    "minato-rail",
    "hikari-net",
    "aozora-med",
    "tokai-gas",
    "midori-water",
    "kobe-port",
    "chiyoda-city",
    "tsubame-pay",
    "kaede-card",
    "hayate-express",
    "ginga-mail",
    "hoshi-shop",
    "mynumber-portal",
    "tax-refund",
    "point-campaign",
    "redelivery",
    "ic-card",
];
const WORDS: [&str; 10] = [
    "online", "center", "help", "jp", "app", "members", "info", "net", "pay", "cloud",
];
const RESERVED_TLDS: [&str; 3] = ["example", "test", "invalid"];
const EXAMPLE_ZONES: [&str; 3] = ["example.com", "example.net", "example.org"];
const INFRA: [&str; 5] = [
    "cdn-mirror",
    "static-cache",
    "update-check",
    "telemetry-sync",
    "img-store",
];
const TEST_NETS: [&str; 3] = ["192.0.2", "198.51.100", "203.0.113"];
const URL_PATHS: [&str; 12] = [
    "/login/verify.php?id={n}",
    "/account/update/index.html",
    "/secure/signin?session={hex}",
    "/mypage/auth.php?token={hex}",
    "/wp-content/plugins/{word}/payload.bin",
    "/invoice/{n}.zip",
    "/gate.php",
    "/api/v1/beacon?uid={hex}",
    "/dl/{word}_setup.exe",
    "/.well-known/{hex}/index.php",
    "/redelivery/confirm?no={n}",
    "/card/limit-check.html?ref={n}",
];
const MAILBOXES: [&str; 14] = [
    "support",
    "info",
    "noreply",
    "security",
    "billing",
    "admin",
    "customer-service",
    "account-team",
    "no-reply",
    "notice",
    "yamada.taro",
    "suzuki",
    "hr-dept",
    "invoice",
];

fn random_letters(rng: &mut StdRng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(rng.gen_range(b'a'..=b'z')))
        .collect()
}

fn random_hex(rng: &mut StdRng, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill_bytes(&mut buf);
    hex::encode(buf)
}

fn fill_template(rng: &mut StdRng, template: &str) -> String {
    let n = rng.gen_range(10_000..99_999u32).to_string();
    let hex = random_hex(rng, 8);
    let word = pick(rng, &WORDS).to_string();
    template
        .replace("{n}", &n)
        .replace("{hex}", &hex)
        .replace("{word}", &word)
}

fn raw_domain(rng: &mut StdRng) -> String {
    let prefix = pick(rng, &PREFIXES);
    let brand = pick(rng, &BRANDS);
    match rng.gen_range(0..4) {
        0 => format!("{prefix}-{brand}.{}", pick(rng, &RESERVED_TLDS)),
        1 => format!(
            "{prefix}.{brand}-{}.{}",
            pick(rng, &WORDS),
            pick(rng, &RESERVED_TLDS)
        ),
        2 => format!(
            "{brand}-{prefix}{}.{}",
            rng.gen_range(1..100),
            pick(rng, &EXAMPLE_ZONES)
        ),
        _ => {
            let len = rng.gen_range(8..14);
            format!("{}.{}.test", random_letters(rng, len), pick(rng, &INFRA))
        }
    }
}

fn raw_ipv6(rng: &mut StdRng) -> String {
    let (a, b, c): (u16, u16, u16) = (rng.gen(), rng.gen(), rng.gen());
    match rng.gen_range(0..20) {
        0 => format!("2001:db8:{a:x}::/48"),
        1 => format!("2001:db8:{a:x}:{b:x}::/64"),
        _ => format!("2001:db8:{a:x}:{b:x}::{c:x}"),
    }
}

/// The values the demo draws from: [`POOL_PER_KIND`] canonical values per kind, in random order.
struct Pools {
    by_kind: BTreeMap<Kind, Vec<Observable>>,
}

impl Pools {
    fn generate(rng: &mut StdRng) -> Pools {
        let mut by_kind = BTreeMap::new();
        let domains = fill(rng, Kind::Domain, raw_domain);
        let hosts: Vec<String> = domains.iter().map(|o| o.value.clone()).collect();
        let mut ipv4 = Vec::new();
        for net in TEST_NETS {
            ipv4.push(format!("{net}.0/24"));
            for block in [1, 5, 12] {
                ipv4.push(format!("{net}.{}/28", block * 16));
            }
        }
        let mut hosts_v4: Vec<u32> = (0..TEST_NETS.len() as u32 * 254).collect();
        hosts_v4.shuffle(rng);
        for h in hosts_v4 {
            if ipv4.len() >= POOL_PER_KIND {
                break;
            }
            ipv4.push(format!("{}.{}", TEST_NETS[(h / 254) as usize], h % 254 + 1));
        }
        let ipv4 = canonical_all(Kind::Ipv4, ipv4);
        let addresses: Vec<String> = ipv4
            .iter()
            .filter(|o| !o.value.contains('/'))
            .map(|o| o.value.clone())
            .collect();
        let urls = fill(rng, Kind::Url, |rng| {
            let scheme = if rng.gen_bool(0.6) { "https" } else { "http" };
            let list = if rng.gen_bool(0.85) || addresses.is_empty() {
                &hosts
            } else {
                &addresses
            };
            // No host (no domain survived canonicalization) makes a URL that is skipped.
            let host = list.choose(rng).cloned().unwrap_or_default();
            let template = *pick(rng, &URL_PATHS);
            let path = fill_template(rng, template);
            format!("{scheme}://{host}{path}")
        });
        let emails = fill(rng, Kind::Email, |rng| {
            let mailbox = pick(rng, &MAILBOXES);
            let host = hosts.choose(rng).cloned().unwrap_or_default();
            if rng.gen_bool(0.3) {
                format!("{mailbox}{}@{host}", rng.gen_range(1..1000))
            } else {
                format!("{mailbox}@{host}")
            }
        });
        by_kind.insert(Kind::Domain, domains);
        by_kind.insert(Kind::Ipv4, ipv4);
        by_kind.insert(Kind::Url, urls);
        by_kind.insert(Kind::Email, emails);
        by_kind.insert(Kind::Ipv6, fill(rng, Kind::Ipv6, raw_ipv6));
        by_kind.insert(Kind::Md5, fill(rng, Kind::Md5, |rng| random_hex(rng, 16)));
        by_kind.insert(Kind::Sha1, fill(rng, Kind::Sha1, |rng| random_hex(rng, 20)));
        by_kind.insert(
            Kind::Sha256,
            fill(rng, Kind::Sha256, |rng| random_hex(rng, 32)),
        );
        for pool in by_kind.values_mut() {
            pool.shuffle(rng);
        }
        Pools { by_kind }
    }

    fn pool(&self, kind: Kind) -> &[Observable] {
        self.by_kind.get(&kind).map(Vec::as_slice).unwrap_or(&[])
    }

    fn shared(&self, kind: Kind) -> &[Observable] {
        let pool = self.pool(kind);
        &pool[..pool.len().min(SHARED_PER_KIND)]
    }

    /// A value of `kind` not used before, or any value of it when all are.
    fn fresh(
        &self,
        rng: &mut StdRng,
        kind: Kind,
        cursors: &mut BTreeMap<Kind, usize>,
    ) -> Option<Observable> {
        let pool = self.pool(kind);
        let cursor = cursors.entry(kind).or_insert(SHARED_PER_KIND);
        if *cursor < pool.len() {
            *cursor += 1;
            return Some(pool[*cursor - 1].clone());
        }
        pool.choose(rng).cloned()
    }
}

/// Canonicalizes, skipping values that fail and duplicates.
fn canonical_all(kind: Kind, raw: Vec<String>) -> Vec<Observable> {
    let mut seen = HashSet::new();
    raw.iter()
        .filter_map(|r| canonicalize(kind, r).ok())
        .filter(|o| seen.insert(o.value.clone()))
        .collect()
}

/// Up to [`POOL_PER_KIND`] distinct canonical values from `make` (values that fail to canonicalize are skipped).
fn fill(
    rng: &mut StdRng,
    kind: Kind,
    mut make: impl FnMut(&mut StdRng) -> String,
) -> Vec<Observable> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(POOL_PER_KIND);
    for _ in 0..POOL_PER_KIND * 20 {
        if out.len() >= POOL_PER_KIND {
            break;
        }
        if let Ok(o) = canonicalize(kind, &make(rng)) {
            if seen.insert(o.value.clone()) {
                out.push(o);
            }
        }
    }
    out
}

// ---- reports ---------------------------------------------------------------------

struct PlannedReport {
    slot: i64,
    at: Millis,
    author: usize,
    draft: RawDraft,
}

const INCIDENTS: [(IncidentType, u32); 9] = [
    (IncidentType::Phishing, 40),
    (IncidentType::Malware, 15),
    (IncidentType::Ransomware, 8),
    (IncidentType::Scanning, 10),
    (IncidentType::Ddos, 7),
    (IncidentType::CommandAndControl, 10),
    (IncidentType::Spam, 4),
    (IncidentType::Fraud, 4),
    (IncidentType::Intrusion, 2),
];

const TLPS: [(Tlp, u32); 5] = [
    (Tlp::Clear, 35),
    (Tlp::Green, 40),
    (Tlp::Amber, 15),
    (Tlp::AmberStrict, 5),
    (Tlp::Red, 5),
];

/// Which kinds of indicator a report of this type carries, weighted.
fn kinds_for(t: IncidentType) -> &'static [(Kind, u32)] {
    match t {
        IncidentType::Phishing => &[
            (Kind::Url, 4),
            (Kind::Domain, 3),
            (Kind::Email, 2),
            (Kind::Ipv4, 1),
        ],
        IncidentType::Malware => &[
            (Kind::Sha256, 3),
            (Kind::Md5, 2),
            (Kind::Sha1, 2),
            (Kind::Url, 1),
            (Kind::Domain, 1),
            (Kind::Ipv4, 1),
        ],
        IncidentType::Ransomware => &[
            (Kind::Sha256, 3),
            (Kind::Sha1, 2),
            (Kind::Md5, 1),
            (Kind::Email, 1),
            (Kind::Ipv4, 1),
            (Kind::Domain, 1),
        ],
        IncidentType::Scanning | IncidentType::Ddos => &[(Kind::Ipv4, 3), (Kind::Ipv6, 2)],
        IncidentType::CommandAndControl => &[
            (Kind::Domain, 2),
            (Kind::Ipv4, 2),
            (Kind::Ipv6, 2),
            (Kind::Url, 1),
            (Kind::Sha256, 1),
        ],
        IncidentType::Spam => &[(Kind::Email, 3), (Kind::Url, 2), (Kind::Domain, 1)],
        IncidentType::Fraud => &[
            (Kind::Email, 2),
            (Kind::Url, 2),
            (Kind::Domain, 1),
            (Kind::Ipv4, 1),
        ],
        _ => &[
            (Kind::Ipv4, 1),
            (Kind::Ipv6, 1),
            (Kind::Sha256, 1),
            (Kind::Sha1, 1),
            (Kind::Domain, 1),
        ],
    }
}

const LURES_EN: [&str; 7] = [
    "Sakura Bank",
    "Tsubame Pay",
    "Kaede Card",
    "Hayate Express",
    "Ginga Mail",
    "Hoshi Shop",
    "the My Number portal",
];
const LURES_JA: [&str; 7] = [
    "さくら銀行",
    "つばめペイ",
    "かえでカード",
    "はやて急便",
    "ぎんがメール",
    "ほしショップ",
    "マイナンバーポータル",
];

/// (English titles, Japanese titles, English description, Japanese description); `{lure}` is replaced.
fn wording(
    t: IncidentType,
) -> (
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
    &'static str,
) {
    match t {
        IncidentType::Phishing => (
            &[
                "Credential phishing impersonating {lure}",
                "Smishing wave using a {lure} lure",
                "Fake {lure} login page harvesting one-time passwords",
                "Parcel redelivery smishing campaign",
            ],
            &[
                "{lure}を装ったフィッシングサイト",
                "金融機関を装ったフィッシングサイト",
                "宅配業者の不在通知を装ったSMS",
                "{lure}のログインページを模倣した偽サイト",
            ],
            "Customers reported SMS and e-mail lures leading to a fake login page for {lure}. \
             The kit asks for ID, password and one-time code. Block the hosts below.",
            "{lure}を装ったSMS・メールから偽のログインページへ誘導される事例を確認しました。\
             ID、パスワード、ワンタイムパスワードの入力を求めます。以下の指標のブロックを推奨します。",
        ),
        IncidentType::Malware => (
            &[
                "Emotet-style malspam wave",
                "Loader delivered through fake {lure} invoices",
                "Infostealer spread via cracked software downloads",
            ],
            &[
                "請求書を装ったマルウェア付きメール",
                "不審なマクロ付き文書の配布",
                "情報窃取型マルウェアの感染事例",
            ],
            "Malicious attachments (zipped documents with macros) observed at our mail gateway; \
             hashes of the dropped files and their download hosts are listed.",
            "メールゲートウェイでマクロ付き文書を含む不審な添付ファイルを検知しました。\
             ドロップされたファイルのハッシュ値と配布元を共有します。",
        ),
        IncidentType::Ransomware => (
            &[
                "Ransomware intrusion via an unpatched VPN appliance",
                "Double-extortion ransomware affiliate activity",
            ],
            &["VPN機器経由のランサムウェア被害", "ランサムウェア攻撃の前兆となる通信"],
            "Encryption of file servers preceded by remote access through a VPN appliance. \
             Binaries, ransom note contact and staging hosts below.",
            "VPN機器経由の侵入後、ファイルサーバーが暗号化されました。\
             検体のハッシュ値、脅迫文の連絡先、攻撃基盤を共有します。",
        ),
        IncidentType::Scanning => (
            &["Mass scanning for exposed RDP", "SSH brute-force sources", "Probing of VPN login portals"],
            &["VPN機器の脆弱性を狙ったスキャン", "外部からのポートスキャン急増"],
            "Sources scanning our perimeter over the last day, many hitting known VPN and RDP ports.",
            "直近1日で境界への大量のスキャンを観測しました。VPN・RDPのポートへのアクセスが中心です。",
        ),
        IncidentType::Ddos => (
            &["UDP reflection DDoS against the customer portal", "HTTP flood on public website"],
            &["DDoS攻撃によるサービス遅延", "ウェブサイトへの大量アクセス"],
            "Short bursts of flood traffic degraded the public site; top sources listed.",
            "公開サイトへの大量通信により一時的にサービスが遅延しました。主な送信元を共有します。",
        ),
        IncidentType::CommandAndControl => (
            &["Beaconing to suspected C2 infrastructure", "Cobalt Strike-like beacon traffic"],
            &["C2サーバーとの通信を検知", "不審な定期通信(ビーコン)の観測"],
            "Periodic HTTPS beacons from an internal host to the infrastructure below; host isolated.",
            "社内端末から以下の基盤への定期的な通信を検知し、端末を隔離しました。",
        ),
        IncidentType::Spam => (
            &["Bulk spam with fake shipping notices"],
            &["迷惑メールの大量送信"],
            "High-volume spam with fake {lure} notices; senders and links below.",
            "{lure}を装った迷惑メールを大量に受信しています。送信元とリンク先を共有します。",
        ),
        IncidentType::Fraud => (
            &["Business e-mail compromise attempt", "Fake invoice payment fraud"],
            &["取引先を装った送金詐欺メール", "偽の請求書による詐欺"],
            "Messages impersonating a supplier asked to change the bank account for payments.",
            "取引先を装い、振込先口座の変更を依頼するメールを確認しました。",
        ),
        _ => (
            &["Web shell found on a public server"],
            &["公開サーバーへの不正侵入"],
            "A web shell was found on an internet-facing server; artefacts and source addresses below.",
            "公開サーバーでWebシェルを発見しました。関連する痕跡と接続元を共有します。",
        ),
    }
}

fn plan_reports(
    rng: &mut StdRng,
    pools: &Pools,
    orgs: &[Org],
    now: Millis,
    cursors: &mut BTreeMap<Kind, usize>,
    used: &mut HashSet<Observable>,
) -> Vec<PlannedReport> {
    let authors: Vec<(usize, u32)> = ORGS
        .iter()
        .enumerate()
        .map(|(i, (_, _, w))| (i, *w))
        .collect();
    let mut out = Vec::with_capacity(DAYS as usize * REPORTS_PER_DAY);
    for slot in 0..DAYS {
        for _ in 0..REPORTS_PER_DAY {
            let at = time_in_slot(rng, now, slot);
            let author = pick_weighted(rng, &authors);
            let incident_type = pick_weighted(rng, &INCIDENTS);
            let tlp = pick_weighted(rng, &TLPS);
            let org = &orgs[author];
            let audience = match tlp {
                Tlp::Clear | Tlp::Green => Audience::Community,
                Tlp::Amber => {
                    let mut sectors = BTreeSet::from([org.sector.clone()]);
                    if rng.gen_bool(0.3) {
                        if let Some(other) = orgs.choose(rng) {
                            sectors.insert(other.sector.clone());
                        }
                    }
                    Audience::Sectors(sectors)
                }
                Tlp::AmberStrict | Tlp::Red => {
                    let others: Vec<OrgId> = orgs
                        .iter()
                        .map(|o| o.id)
                        .filter(|id| *id != org.id)
                        .collect();
                    let n = rng.gen_range(1..=3);
                    Audience::Orgs(others.choose_multiple(rng, n).copied().collect())
                }
            };
            let (en, ja, desc_en, desc_ja) = wording(incident_type);
            let lure = rng.gen_range(0..LURES_EN.len());
            let (title, description) = if rng.gen_bool(0.5) {
                (
                    en.choose(rng)
                        .copied()
                        .unwrap_or_default()
                        .replace("{lure}", LURES_EN[lure]),
                    desc_en.replace("{lure}", LURES_EN[lure]),
                )
            } else {
                (
                    ja.choose(rng)
                        .copied()
                        .unwrap_or_default()
                        .replace("{lure}", LURES_JA[lure]),
                    desc_ja.replace("{lure}", LURES_JA[lure]),
                )
            };
            let n = rng.gen_range(3..=15);
            let kinds = kinds_for(incident_type);
            let mut indicators: Vec<Observable> = Vec::with_capacity(n);
            for _ in 0..n * 2 {
                if indicators.len() >= n {
                    break;
                }
                let kind = pick_weighted(rng, kinds);
                let value = if rng.gen_bool(0.3) {
                    pools.shared(kind).choose(rng).cloned()
                } else {
                    pools.fresh(rng, kind, cursors)
                };
                if let Some(v) = value {
                    if !indicators.contains(&v) {
                        indicators.push(v);
                    }
                }
            }
            used.extend(indicators.iter().cloned());
            out.push(PlannedReport {
                slot,
                at,
                author,
                draft: RawDraft {
                    title,
                    description,
                    incident_type,
                    sector: if rng.gen_bool(0.8) {
                        Some(org.sector.clone())
                    } else {
                        None
                    },
                    tlp,
                    audience,
                    anonymous: rng.gen_bool(0.2),
                    indicators,
                },
            });
        }
    }
    out.sort_by_key(|r| r.at);
    out
}

// ---- sightings -------------------------------------------------------------------

/// Sighting batches by (day slot, organization index in [`ORGS`]).
type Batches = BTreeMap<(i64, usize), Vec<NewSighting>>;

fn sight(
    batches: &mut Batches,
    rng: &mut StdRng,
    now: Millis,
    slot: i64,
    org: usize,
    obs: &Observable,
    hot: bool,
) {
    let count = if hot {
        rng.gen_range(20..=500)
    } else {
        rng.gen_range(1..=120)
    };
    let seen_at = time_in_slot(rng, now, slot);
    batches.entry((slot, org)).or_default().push(NewSighting {
        observable: obs.clone(),
        seen_at,
        count,
    });
}

/// Per day: a few hot indicators that the sensor network, the ISP and at
/// least one more member sight (≥ 3 organizations), a few that exactly two
/// sight, and a few each member alone sights.
fn plan_sightings(
    rng: &mut StdRng,
    pools: &Pools,
    now: Millis,
    used: &mut HashSet<Observable>,
) -> Batches {
    let mut batches = Batches::new();
    let hot_kinds = [
        Kind::Url,
        Kind::Domain,
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Sha256,
        Kind::Md5,
    ];
    let shared: Vec<&Observable> = hot_kinds.iter().flat_map(|k| pools.shared(*k)).collect();
    let every: Vec<&Observable> = Kind::ALL.iter().flat_map(|k| pools.pool(*k)).collect();
    if shared.is_empty() || every.is_empty() {
        return batches;
    }
    for slot in 0..DAYS {
        let hot: Vec<&Observable> = shared.choose_multiple(rng, HOT_PER_DAY).copied().collect();
        for obs in hot {
            let mut who = vec![SENSOR, ISP];
            who.extend(SIGHTING_MEMBERS.into_iter().filter(|_| rng.gen_bool(0.4)));
            if who.len() < 3 {
                who.push(*pick(rng, &SIGHTING_MEMBERS));
            }
            for org in who {
                sight(&mut batches, rng, now, slot, org, obs, true);
            }
            used.insert(obs.clone());
        }
        for _ in 0..WARM_PER_DAY {
            let Some(obs) = every.choose(rng).copied() else {
                break;
            };
            sight(&mut batches, rng, now, slot, SENSOR, obs, false);
            let other = *pick(rng, &SIGHTING_MEMBERS);
            sight(&mut batches, rng, now, slot, other, obs, false);
            used.insert(obs.clone());
        }
        for org in [SENSOR, ISP].into_iter().chain(SIGHTING_MEMBERS) {
            for _ in 0..PRIVATE_PER_DAY {
                let Some(obs) = every.choose(rng).copied() else {
                    break;
                };
                sight(&mut batches, rng, now, slot, org, obs, false);
                used.insert(obs.clone());
            }
        }
    }
    batches
}

/// The sensor network sights every pool value nothing else used, spread over the days.
fn plan_leftovers(
    rng: &mut StdRng,
    pools: &Pools,
    now: Millis,
    used: &HashSet<Observable>,
    batches: &mut Batches,
) {
    let leftovers = Kind::ALL
        .iter()
        .flat_map(|k| pools.pool(*k))
        .filter(|o| !used.contains(*o));
    for (i, obs) in leftovers.enumerate() {
        let slot = i64::try_from(i).unwrap_or(0) % DAYS;
        sight(batches, rng, now, slot, SENSOR, obs, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::{FeedFormat, FeedOptions};
    use kyojo_core::Count;
    use kyojo_store::IndicatorScan;
    use std::collections::HashMap;
    use std::time::Instant;

    fn open() -> (tempfile::TempDir, Hub) {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::open(dir.path()).unwrap();
        (dir, hub)
    }

    #[test]
    fn seeds_a_believable_community_once() {
        let (_dir, hub) = open();
        let now = now_millis();
        let started = Instant::now();
        let s = seed(&hub, now).unwrap();
        let took = started.elapsed();
        eprintln!("seeded in {took:?}: {s:?}");
        assert!(s.seeded);

        let orgs = hub.all_orgs().unwrap();
        assert!(orgs.len() >= 8, "{} orgs", orgs.len());
        assert_eq!(s.orgs, orgs.len());
        let sectors: BTreeSet<&str> = orgs.iter().map(|o| o.sector.as_str()).collect();
        assert!(sectors.len() >= 5, "{sectors:?}");

        // Reports: about 150, over at least 25 days of the last 30, never in the future.
        let reports = hub
            .store()
            .scan_reports(&kyojo_store::ReportScan {
                limit: 10_000,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(reports.len(), s.reports);
        assert!(
            (120..=200).contains(&reports.len()),
            "{} reports",
            reports.len()
        );
        let days: BTreeSet<i64> = reports.iter().map(|r| day_of(r.created_at)).collect();
        assert!(days.len() >= 25, "{} days", days.len());
        assert!(reports
            .iter()
            .all(|r| r.created_at <= now && r.created_at > now - 31 * DAY));
        assert!(reports
            .iter()
            .all(|r| (3..=15).contains(&r.indicators.len())));
        let anonymous = reports
            .iter()
            .filter(|r| matches!(r.access.owner, kyojo_core::policy::Owner::Sealed(_)))
            .count();
        assert!(anonymous > 10 && anonymous < 60, "{anonymous} anonymous");
        for tlp in Tlp::ALL {
            assert!(
                reports.iter().any(|r| r.access.tlp == tlp),
                "no {tlp} report"
            );
        }
        for t in [
            IncidentType::Phishing,
            IncidentType::Malware,
            IncidentType::Ransomware,
            IncidentType::Scanning,
            IncidentType::Ddos,
            IncidentType::CommandAndControl,
        ] {
            assert!(
                reports.iter().any(|r| r.incident_type == t),
                "no {t:?} report"
            );
        }
        // Row ids follow time: newest row first is also newest report.
        assert!(reports
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at));

        // Indicators: at least 200 of every kind, and the index knows them all.
        let mut all = Vec::new();
        for kind in Kind::ALL {
            let rows = hub
                .store()
                .scan_indicators(&IndicatorScan {
                    kind: Some(kind),
                    limit: 100_000,
                    ..Default::default()
                })
                .unwrap();
            eprintln!("{kind}: {}", rows.len());
            assert!(rows.len() >= 200, "{} {kind} indicators", rows.len());
            all.extend(rows);
        }
        assert_eq!(all.len(), s.indicators);
        assert_eq!(hub.index_size(), s.indicators);
        for rec in &all {
            let v = &rec.observable.value;
            let safe = match rec.observable.kind {
                Kind::Ipv4 => ["192.0.2.", "198.51.100.", "203.0.113."]
                    .iter()
                    .any(|p| v.starts_with(p)),
                Kind::Ipv6 => v.starts_with("2001:db8:"),
                Kind::Md5 | Kind::Sha1 | Kind::Sha256 => true,
                Kind::Domain | Kind::Email | Kind::Url => {
                    [
                        ".example",
                        ".test",
                        ".invalid",
                        ".example.com",
                        ".example.net",
                        ".example.org",
                    ]
                    .iter()
                    .any(|t| v.contains(&format!("{t}/")) || v.ends_with(t))
                        || TEST_NETS.iter().any(|n| v.contains(&format!("://{n}.")))
                }
            };
            assert!(safe, "unsafe demo value {v}");
        }

        // Some indicators are reported by several organizations.
        let links = hub
            .store()
            .report_links(&all.iter().map(|r| r.id).collect::<Vec<_>>())
            .unwrap();
        let mut reporters: HashMap<i64, HashSet<OrgId>> = HashMap::new();
        for l in &links {
            if let Some(org) = hub.policy().visible_author(&l.access) {
                reporters.entry(l.indicator).or_default().insert(org);
            }
        }
        assert!(reporters.values().any(|o| o.len() >= 3));

        // Sightings: some indicators by three or more organizations on one day, some by fewer.
        assert!(s.sighting_rows > 500, "{} sighting rows", s.sighting_rows);
        let ids: Vec<i64> = all.iter().map(|r| r.id).collect();
        let sums = hub.store().sighting_summaries(&ids).unwrap();
        let mut sighters: HashMap<i64, HashSet<OrgId>> = HashMap::new();
        for s in &sums {
            sighters.entry(s.indicator).or_default().insert(s.org);
        }
        let many = sighters.values().filter(|o| o.len() >= 3).count();
        let few = sighters.values().filter(|o| o.len() < 3).count();
        eprintln!("sighted by >= 3 orgs: {many}; by 1-2 orgs: {few}");
        assert!(many > 0 && few > 0);
        let mut same_day = Vec::new();
        for (&id, orgs) in &sighters {
            if orgs.len() < 3 {
                continue;
            }
            let mut per_day: BTreeMap<i64, HashSet<OrgId>> = BTreeMap::new();
            for r in hub.store().sightings_of(id).unwrap() {
                assert!(r.count > 0);
                per_day.entry(r.day).or_default().insert(r.org);
            }
            if per_day.values().any(|o| o.len() >= 3) {
                same_day.push(id);
            }
        }
        eprintln!("sighted by >= 3 orgs on one day: {}", same_day.len());
        assert!(!same_day.is_empty());
        let id = same_day[0];

        // The aggregate a member sees says how many organizations saw it.
        let rec = all.iter().find(|r| r.id == id).unwrap();
        let first = hub.org_by_name(FIRST_ORG).unwrap().unwrap();
        let detail = hub
            .indicator_detail(&as_member(&first, Role::Analyst), &rec.observable)
            .unwrap();
        assert!(detail.assessment.seen_by.exact().is_some_and(|n| n >= 3));

        // Seeding again seeds nothing.
        let again = seed(&hub, now).unwrap();
        assert!(!again.seeded);
        assert_eq!(again.orgs, s.orgs);
        assert_eq!(again.reports, s.reports);
        assert_eq!(again.indicators, s.indicators);
        assert_eq!(again.sighting_rows, s.sighting_rows);
        assert!(took.as_secs_f64() < 15.0, "seeding took {took:?}");
    }

    #[test]
    fn content_is_deterministic_and_moves_with_now() {
        let (_a, hub_a) = open();
        let (_b, hub_b) = open();
        let now_a = 1_750_000_000_000;
        let now_b = now_a + 3 * DAY + 12_345_678;
        let sa = seed(&hub_a, now_a).unwrap();
        let sb = seed(&hub_b, now_b).unwrap();
        assert_eq!(
            (sa.orgs, sa.reports, sa.sighting_rows, sa.indicators),
            (sb.orgs, sb.reports, sb.sighting_rows, sb.indicators)
        );
        let values = |hub: &Hub| {
            let mut v: Vec<Observable> = hub
                .store()
                .scan_indicators(&IndicatorScan {
                    limit: 100_000,
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .map(|r| r.observable)
                .collect();
            v.sort();
            v
        };
        assert_eq!(values(&hub_a), values(&hub_b));
        let reports = |hub: &Hub, now: Millis| {
            let mut v: Vec<_> = hub
                .store()
                .scan_reports(&kyojo_store::ReportScan {
                    limit: 10_000,
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .map(|r| {
                    let mut indicators = r.indicators;
                    indicators.sort();
                    let days_ago = day_of(now) - day_of(r.created_at);
                    (days_ago, r.title, r.access.tlp, r.incident_type, indicators)
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(reports(&hub_a, now_a), reports(&hub_b, now_b));
    }

    #[test]
    fn the_demo_fills_every_feed_and_the_sector_figures() {
        let (dir, hub) = open();
        seed(&hub, now_millis()).unwrap();
        assert!(hub.is_demo());
        let orgs = hub.all_orgs().unwrap();
        let admin = as_member(&orgs[0], Role::Admin);
        for format in [
            FeedFormat::Rpz,
            FeedFormat::Hosts,
            FeedFormat::DomainsTxt,
            FeedFormat::UrlsTxt,
            FeedFormat::IpsTxt,
            FeedFormat::Csv,
        ] {
            let r = hub
                .render_feed(&admin, format, &FeedOptions::default())
                .unwrap();
            assert!(r.entries > 0, "{format:?} is empty");
        }
        let rpz = hub
            .render_feed(&admin, FeedFormat::Rpz, &FeedOptions::default())
            .unwrap();
        assert!(String::from_utf8_lossy(&rpz.body).contains(".rpz-ip"));
        let csv = hub
            .render_feed(&admin, FeedFormat::Csv, &FeedOptions::default())
            .unwrap();
        assert!(String::from_utf8_lossy(&csv.body).contains("demo: a documentation address"));

        // Three sectors with at least three sighting organizations each show
        // real numbers per day; the single-member sectors stay hidden.
        let picture = hub.picture().unwrap();
        let cut = hub.cut(&picture, &admin, 30);
        let named: BTreeSet<&str> = cut
            .cells
            .iter()
            .filter(|(_, c)| matches!(c, Count::Exact(_)))
            .map(|((_, sector), _)| sector.as_str())
            .collect();
        assert!(named.len() >= 3, "sectors with figures: {named:?}");
        assert!(cut.combined.values().any(|c| matches!(c, Count::Exact(_))));
        assert!(!named.contains("railway"), "{named:?}");

        // Seeding left the first organization's hourly block budget unspent.
        let analyst = as_member(&orgs[0], Role::Analyst);
        let fresh = kyojo_core::Observable::new(Kind::Domain, "fresh-block.example").unwrap();
        hub.add_sightings(
            &as_member(&orgs[0], Role::Sensor),
            &[kyojo_store::NewSighting {
                observable: fresh.clone(),
                seen_at: now_millis(),
                count: 1,
            }],
        )
        .unwrap();
        hub.decide(
            &analyst,
            &fresh,
            kyojo_core::decide::Action::Block,
            "after the demo",
            None,
            crate::decide::DecideFor::Own,
        )
        .expect("the demo leaves room to block");

        // The mark is kept: reopened, the hub is still the demo's.
        drop(hub);
        assert!(Hub::open(dir.path()).unwrap().is_demo());
    }

    #[test]
    fn does_not_seed_a_hub_that_has_organizations() {
        let (_dir, hub) = open();
        hub.add_org("Existing Org", "finance").unwrap();
        let s = seed(&hub, now_millis()).unwrap();
        assert!(!hub.is_demo(), "a hub with members never becomes the demo");
        assert!(!s.seeded);
        assert_eq!(s.orgs, 1);
        assert_eq!(s.reports, 0);
        // Tokens still come out, from the organizations there are.
        let t = mint_tokens(&hub).unwrap();
        assert!(hub.authenticate(&t.admin).is_ok());
        assert_eq!(t.org_names, vec!["Existing Org".to_string()]);
    }

    #[test]
    fn minting_needs_organizations() {
        let (_dir, hub) = open();
        assert!(mint_tokens(&hub).is_err());
    }

    #[test]
    fn minting_again_revokes_the_previous_tokens() {
        let (_dir, hub) = open();
        seed(&hub, now_millis()).unwrap();
        let old = mint_tokens(&hub).unwrap();
        let roles = |t: &DemoTokens| {
            [
                (t.admin.clone(), Role::Admin),
                (t.analyst.clone(), Role::Analyst),
                (t.sensor.clone(), Role::Sensor),
                (t.consumer.clone(), Role::Consumer),
                (t.other_analyst.clone(), Role::Analyst),
            ]
        };
        for (token, role) in roles(&old) {
            let (_, rec) = hub.authenticate(&token).unwrap();
            assert_eq!(rec.role, role);
            assert_eq!(rec.label.as_deref(), Some(TOKEN_LABEL));
        }
        let (admin, _) = hub.authenticate(&old.admin).unwrap();
        let (other, _) = hub.authenticate(&old.other_analyst).unwrap();
        assert_ne!(
            admin.member().unwrap().sector,
            other.member().unwrap().sector
        );
        let (_, sensor) = hub.authenticate(&old.sensor).unwrap();
        assert_eq!(sensor.org.name, SENSOR_ORG);
        let (_, consumer) = hub.authenticate(&old.consumer).unwrap();
        assert_eq!(consumer.org.sector, "telecom");
        assert_eq!(old.org_names.len(), ORGS.len());

        // A token not labelled "demo" survives.
        let (_, keep) = hub
            .create_token(FIRST_ORG, Role::Analyst, Some("ops"))
            .unwrap();

        let new = mint_tokens(&hub).unwrap();
        for ((old_token, _), (new_token, role)) in roles(&old).into_iter().zip(roles(&new)) {
            assert!(
                hub.authenticate(&old_token).is_err(),
                "old {role:?} token still works"
            );
            assert_eq!(hub.authenticate(&new_token).unwrap().1.role, role);
        }
        assert!(hub.authenticate(&keep).is_ok());
    }
}
