//! The sharing rules, in one place.
//!
//! Every edge of kyojo (REST API, lookups, feeds, exports, web UI) asks this
//! module whether a viewer may see a report, an indicator or an aggregate, and
//! nothing else decides it. The rules:
//!
//! * A report's owner organization always sees it, even when it is anonymous.
//! * TLP CLEAR is public: anyone, even without a token, may read it.
//! * Any other marking is read only by member organizations inside the
//!   report's audience (the whole community, some sectors, named organizations).
//! * RED additionally requires an audience of named organizations and never
//!   appears in bulk feeds or exports; AMBER and AMBER+STRICT never leave the hub.
//! * An indicator is visible through a report the viewer may read, or, to
//!   members only and never outside the hub, through sightings: its own
//!   organization's, or those of at least [`MIN_DISTINCT_ORGS`] organizations.
//! * Aggregates drawn from fewer than [`MIN_DISTINCT_ORGS`] organizations are
//!   shown as "fewer than 3".
//! * An anonymous report stores no organization in clear: only a seal, an
//!   HMAC of the organization and the report id under the hub's secret, so
//!   that the owner can be recognised and nobody can link two reports.
//! * A decision names no organization: an own decision is shown only to its
//!   organization, a hub-wide one (curators, the operator) to every member
//!   who may see the indicator, as "the hub".
//! * Breakdowns by sector pool every sector drawn from fewer than
//!   [`MIN_DISTINCT_ORGS`] organizations ([`pool_small_groups`]).

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use serde::{Serialize, Serializer};
use sha2::Sha256;

use crate::tlp::Tlp;

/// Database id of a member organization.
pub type OrgId = i64;

/// Smallest number of distinct organizations an aggregate may be drawn from
/// before it is shown as a number.
pub const MIN_DISTINCT_ORGS: u64 = 3;

/// Who may read a report besides its owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Every member organization of the hub.
    Community,
    /// Member organizations in any of these sectors (by slug).
    Sectors(BTreeSet<String>),
    /// These member organizations.
    Orgs(BTreeSet<OrgId>),
}

/// What a token may do. Visibility is decided separately, by the report rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Operator: everything an analyst does, plus administration.
    Admin,
    /// Member analyst: shares and reads reports, decides on indicators for
    /// its own organization's feeds.
    Analyst,
    /// Hub curator: an analyst who may also make hub-wide decisions (every
    /// member's feeds).
    Curator,
    /// A machine that posts sightings and nothing else.
    Sensor,
    /// A machine that reads feeds and looks values up, and nothing else.
    Consumer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Curator,
        Role::Analyst,
        Role::Sensor,
        Role::Consumer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Curator => "curator",
            Role::Sensor => "sensor",
            Role::Consumer => "consumer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An action guarded by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadReports,
    WriteReports,
    ReadIndicators,
    PostSightings,
    Lookup,
    ReadFeeds,
    /// Decide for every member's feeds (block, allow, unset hub-wide).
    DecideForHub,
    Administer,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// No token: sees TLP CLEAR only.
    Public,
    Member(Member),
}

/// A member organization acting through one of its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub org: OrgId,
    pub sector: String,
    pub role: Role,
}

impl Viewer {
    pub fn member(&self) -> Option<&Member> {
        match self {
            Viewer::Public => None,
            Viewer::Member(m) => Some(m),
        }
    }

    /// Whether this viewer's role allows `action` at all.
    pub fn may(&self, action: Permission) -> bool {
        match self {
            Viewer::Public => matches!(
                action,
                Permission::ReadReports
                    | Permission::ReadIndicators
                    | Permission::Lookup
                    | Permission::ReadFeeds
            ),
            Viewer::Member(m) => match m.role {
                Role::Admin => true,
                Role::Curator => action != Permission::Administer,
                Role::Analyst => {
                    !matches!(action, Permission::Administer | Permission::DecideForHub)
                }
                Role::Sensor => action == Permission::PostSightings,
                Role::Consumer => matches!(action, Permission::Lookup | Permission::ReadFeeds),
            },
        }
    }
}

/// Who owns a report, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    Org(OrgId),
    /// Anonymous: the seal of (organization, report key) under the hub secret.
    Sealed([u8; 32]),
}

/// Everything the rules need to know about one report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportAccess {
    /// Stable random key of the report (its public id's bytes); part of the seal.
    pub key: [u8; 16],
    pub tlp: Tlp,
    pub audience: Audience,
    pub owner: Owner,
}

/// Where data is going: each destination has its own ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Interactive reads inside the hub: REST API, web UI, lookups.
    Api,
    /// Bulk block feeds and exports (RPZ, lists, CSV).
    Feed,
    /// Other hubs and public bodies (TAXII collections, federation).
    Federation,
}

/// What sightings say about an indicator, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SightingPresence {
    /// Distinct organizations that sighted it.
    pub orgs: u64,
    /// Whether the viewer's own organization is among them.
    pub by_viewer: bool,
}

/// An organization an output may name. Only the policy makes one, so an
/// organization's name reaches a body or a page only through a rule here
/// (the hub turns a `Nameable` into a name; a bare `OrgId` it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nameable(OrgId);

impl Nameable {
    pub fn id(self) -> OrgId {
        self.0
    }
}

/// The hub's sharing rules, holding the secret that seals anonymous owners.
#[derive(Clone)]
pub struct Policy {
    secret: [u8; 32],
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Policy { secret: <hidden> }")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl Policy {
    pub fn new(secret: [u8; 32]) -> Self {
        Policy { secret }
    }

    /// The seal that stands for `org` as owner of the anonymous report `key`.
    /// It differs for every report, so two anonymous reports cannot be linked.
    pub fn seal(&self, org: OrgId, key: &[u8; 16]) -> [u8; 32] {
        // new_from_slice only fails for invalid key lengths, which HMAC does not have.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"kyojo/anonymous-owner/v1");
        mac.update(&org.to_be_bytes());
        mac.update(key);
        mac.finalize().into_bytes().into()
    }

    /// The seal that stands for `org` as the maker of its own decisions on
    /// one value: the same for all its decisions on that value (so the
    /// latest can be found), another for every other value. Without the
    /// hub's secret nobody can tell which organization it is, nor that
    /// decisions on two values are one organization's: a stolen database
    /// joins no decision to an anonymous report, and groups none by maker.
    pub fn decision_seal(&self, org: OrgId, obs: &crate::Observable) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"kyojo/own-decision/v2");
        mac.update(&org.to_be_bytes());
        mac.update(obs.kind.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(obs.value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The seal own decisions were stored with before the per-value seal:
    /// one per organization. Still read, never written.
    pub fn legacy_decision_seal(&self, org: OrgId) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"kyojo/own-decision/v1");
        mac.update(&org.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The stored owner of a new report.
    pub fn owner_for(&self, org: OrgId, key: &[u8; 16], anonymous: bool) -> Owner {
        if anonymous {
            Owner::Sealed(self.seal(org, key))
        } else {
            Owner::Org(org)
        }
    }

    /// Whether `viewer`'s organization owns the report (may edit and delete it).
    pub fn is_owner(&self, viewer: &Viewer, report: &ReportAccess) -> bool {
        let Some(member) = viewer.member() else {
            return false;
        };
        match &report.owner {
            Owner::Org(org) => *org == member.org,
            Owner::Sealed(seal) => {
                use subtle::ConstantTimeEq;
                bool::from(self.seal(member.org, &report.key).ct_eq(seal))
            }
        }
    }

    /// A report's author as an output may name it: none when anonymous.
    pub fn nameable_author(&self, report: &ReportAccess) -> Option<Nameable> {
        self.nameable_owner(&report.owner)
    }

    /// A stored owner as an output may name it: none when sealed.
    pub fn nameable_owner(&self, owner: &Owner) -> Option<Nameable> {
        match owner {
            Owner::Org(org) => Some(Nameable(*org)),
            Owner::Sealed(_) => None,
        }
    }

    /// The named organizations of a report's audience, as an output may
    /// name them: never an anonymous report's owner, whose presence in its
    /// own list would name it to every reader.
    pub fn nameable_audience(&self, report: &ReportAccess) -> Vec<Nameable> {
        let Audience::Orgs(orgs) = &report.audience else {
            return Vec::new();
        };
        orgs.iter()
            .filter(|org| match &report.owner {
                Owner::Org(_) => true,
                Owner::Sealed(seal) => {
                    use subtle::ConstantTimeEq;
                    !bool::from(self.seal(**org, &report.key).ct_eq(seal))
                }
            })
            .map(|org| Nameable(*org))
            .collect()
    }

    /// The viewer's own organization, named to itself.
    pub fn nameable_self(&self, viewer: &Viewer) -> Option<Nameable> {
        viewer.member().map(|m| Nameable(m.org))
    }

    /// Who did an administrative act, for the audit log (which only the
    /// operator reads): the acting organization, named to the operator.
    pub fn nameable_actor(&self, viewer: &Viewer) -> Option<Nameable> {
        viewer.member().map(|m| Nameable(m.org))
    }

    /// The organization to show as author: none for anonymous reports.
    pub fn visible_author(&self, report: &ReportAccess) -> Option<OrgId> {
        match report.owner {
            Owner::Org(org) => Some(org),
            Owner::Sealed(_) => None,
        }
    }

    /// Whether `viewer` may read the report (its content, its indicators'
    /// association with it) through `channel`.
    pub fn can_read(&self, viewer: &Viewer, report: &ReportAccess, channel: Channel) -> bool {
        let ceiling = match channel {
            Channel::Api => true,
            Channel::Feed => report.tlp.allowed_in_bulk(),
            Channel::Federation => report.tlp.may_leave_hub(),
        };
        if !ceiling {
            return false;
        }
        if report.tlp == Tlp::Red && !matches!(report.audience, Audience::Orgs(_)) {
            // RED without named recipients is refused on write; if one ever
            // reaches here, only its owner may read it.
            return self.is_owner(viewer, report);
        }
        if self.is_owner(viewer, report) {
            return true;
        }
        if report.tlp.is_public() {
            return true;
        }
        let Some(member) = viewer.member() else {
            return false;
        };
        match &report.audience {
            Audience::Community => true,
            Audience::Sectors(sectors) => sectors.contains(&member.sector),
            Audience::Orgs(orgs) => orgs.contains(&member.org),
        }
    }

    /// Whether `viewer` may know that an indicator exists at all, given the
    /// reports that mention it and who sighted it.
    pub fn can_see_indicator<'a>(
        &self,
        viewer: &Viewer,
        reports: impl IntoIterator<Item = &'a ReportAccess>,
        sightings: SightingPresence,
        channel: Channel,
    ) -> bool {
        if reports
            .into_iter()
            .any(|r| self.can_read(viewer, r, channel))
        {
            return true;
        }
        self.can_see_sightings(viewer, channel)
            && (sightings.by_viewer || sightings.orgs >= MIN_DISTINCT_ORGS)
    }

    /// Sightings are shared with members, inside the hub: as aggregates in the
    /// API, and as the basis of block feeds; never with the public or other hubs.
    pub fn can_see_sightings(&self, viewer: &Viewer, channel: Channel) -> bool {
        matches!(channel, Channel::Api | Channel::Feed) && viewer.member().is_some()
    }
}

/// A count that is only shown when drawn from enough organizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exact(u64),
    FewerThan3,
}

impl Count {
    /// A number of distinct organizations.
    pub fn orgs(distinct_orgs: u64) -> Count {
        Count::gated(distinct_orgs, distinct_orgs)
    }

    /// `value`, aggregated over `distinct_orgs` organizations.
    pub fn gated(distinct_orgs: u64, value: u64) -> Count {
        if distinct_orgs >= MIN_DISTINCT_ORGS {
            Count::Exact(value)
        } else {
            Count::FewerThan3
        }
    }

    pub fn exact(self) -> Option<u64> {
        match self {
            Count::Exact(n) => Some(n),
            Count::FewerThan3 => None,
        }
    }
}

impl Serialize for Count {
    /// A number, or the string "fewer than 3".
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) => serializer.serialize_u64(*n),
            Count::FewerThan3 => serializer.serialize_str("fewer than 3"),
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::FewerThan3 => f.write_str("fewer than 3"),
        }
    }
}

/// One row of a breakdown whose groups partition the organizations (each
/// organization in exactly one group, as sectors do): its key, or `None` for
/// the pooled row, and its sightings and organizations under the rule.
pub type PooledRow<K> = (Option<K>, Count, Count);

/// Shows a breakdown by disjoint groups without letting a small group show
/// through: every group drawn from fewer than [`MIN_DISTINCT_ORGS`]
/// organizations is pooled into one unnamed row, and while that pool itself
/// is smaller than the minimum, the smallest named groups join it — so that
/// the total minus the named rows (the pool) never isolates fewer than three
/// organizations either. Input: (key, distinct organizations, sightings).
pub fn pool_small_groups<K: Ord>(groups: Vec<(K, u64, u64)>) -> Vec<PooledRow<K>> {
    let (mut named, small): (Vec<_>, Vec<_>) = groups
        .into_iter()
        .filter(|g| g.1 > 0)
        .partition(|g| g.1 >= MIN_DISTINCT_ORGS);
    let mut pool_orgs: u64 = small.iter().map(|g| g.1).sum();
    let mut pool_n: u64 = small.iter().map(|g| g.2).sum();
    // Smallest named groups last, so they are the ones to join the pool.
    named.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    while pool_orgs > 0 && pool_orgs < MIN_DISTINCT_ORGS {
        let Some((_, orgs, n)) = named.pop() else {
            break;
        };
        pool_orgs += orgs;
        pool_n += n;
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows: Vec<PooledRow<K>> = named
        .into_iter()
        .map(|(k, orgs, n)| (Some(k), Count::gated(orgs, n), Count::orgs(orgs)))
        .collect();
    if pool_orgs > 0 {
        rows.push((
            None,
            Count::gated(pool_orgs, pool_n),
            Count::orgs(pool_orgs),
        ));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_seals_differ_per_value_and_organization() {
        let p = Policy::new([7; 32]);
        let x = crate::observable::canonicalize(crate::Kind::Domain, "x.example").unwrap();
        let y = crate::observable::canonicalize(crate::Kind::Domain, "y.example").unwrap();
        assert_eq!(p.decision_seal(1, &x), p.decision_seal(1, &x));
        assert_ne!(p.decision_seal(1, &x), p.decision_seal(1, &y));
        assert_ne!(p.decision_seal(1, &x), p.decision_seal(2, &x));
        assert_ne!(p.decision_seal(1, &x), p.legacy_decision_seal(1));
        assert_ne!(
            p.decision_seal(1, &x),
            Policy::new([8; 32]).decision_seal(1, &x)
        );
    }
    use proptest::prelude::*;

    fn policy() -> Policy {
        Policy::new([7; 32])
    }

    fn member(org: OrgId, sector: &str, role: Role) -> Viewer {
        Viewer::Member(Member {
            org,
            sector: sector.to_string(),
            role,
        })
    }

    fn report(tlp: Tlp, audience: Audience, owner_org: OrgId, anonymous: bool) -> ReportAccess {
        let key = [owner_org as u8; 16];
        ReportAccess {
            key,
            tlp,
            audience,
            owner: policy().owner_for(owner_org, &key, anonymous),
        }
    }

    fn sectors(s: &[&str]) -> Audience {
        Audience::Sectors(s.iter().map(|s| s.to_string()).collect())
    }

    fn orgs(o: &[OrgId]) -> Audience {
        Audience::Orgs(o.iter().copied().collect())
    }

    #[test]
    fn clear_is_public_everything_else_is_not() {
        let p = policy();
        for tlp in Tlp::ALL {
            let r = report(tlp, Audience::Community, 1, false);
            assert_eq!(
                p.can_read(&Viewer::Public, &r, Channel::Api),
                tlp == Tlp::Clear
            );
        }
    }

    #[test]
    fn audience_limits_members() {
        let p = policy();
        let fin = member(2, "finance", Role::Analyst);
        let water = member(3, "water", Role::Analyst);
        let r = report(Tlp::Amber, sectors(&["finance"]), 1, false);
        assert!(p.can_read(&fin, &r, Channel::Api));
        assert!(!p.can_read(&water, &r, Channel::Api));
        let named = report(Tlp::Red, orgs(&[3]), 1, false);
        assert!(!p.can_read(&fin, &named, Channel::Api));
        assert!(p.can_read(&water, &named, Channel::Api));
        assert!(p.can_read(&member(1, "medical", Role::Analyst), &named, Channel::Api));
    }

    #[test]
    fn red_needs_named_orgs_and_never_goes_to_bulk() {
        let p = policy();
        let everyone = report(Tlp::Red, Audience::Community, 1, false);
        assert!(!p.can_read(
            &member(2, "finance", Role::Analyst),
            &everyone,
            Channel::Api
        ));
        assert!(p.can_read(
            &member(1, "finance", Role::Analyst),
            &everyone,
            Channel::Api
        ));
        let named = report(Tlp::Red, orgs(&[2]), 1, false);
        assert!(!p.can_read(&member(2, "finance", Role::Consumer), &named, Channel::Feed));
        assert!(!p.can_read(&member(1, "finance", Role::Consumer), &named, Channel::Feed));
    }

    #[test]
    fn amber_never_leaves_the_hub() {
        let p = policy();
        let v = member(2, "finance", Role::Analyst);
        for tlp in [Tlp::Amber, Tlp::AmberStrict] {
            let r = report(tlp, Audience::Community, 1, false);
            assert!(p.can_read(&v, &r, Channel::Feed));
            assert!(!p.can_read(&v, &r, Channel::Federation));
        }
        let green = report(Tlp::Green, Audience::Community, 1, false);
        assert!(p.can_read(&v, &green, Channel::Federation));
    }

    #[test]
    fn anonymous_owner_is_recognised_but_never_shown() {
        let p = policy();
        let r = report(Tlp::Red, orgs(&[9]), 4, true);
        assert_eq!(p.visible_author(&r), None);
        assert!(p.is_owner(&member(4, "gas", Role::Analyst), &r));
        assert!(!p.is_owner(&member(5, "gas", Role::Analyst), &r));
        assert!(p.can_read(&member(4, "gas", Role::Analyst), &r, Channel::Api));
        assert!(!p.is_owner(&Viewer::Public, &r));
    }

    #[test]
    fn seals_do_not_link_reports_of_one_org() {
        let p = policy();
        assert_ne!(p.seal(4, &[1; 16]), p.seal(4, &[2; 16]));
        assert_ne!(p.seal(4, &[1; 16]), p.seal(5, &[1; 16]));
        assert_ne!(p.seal(4, &[1; 16]), Policy::new([8; 32]).seal(4, &[1; 16]));
    }

    #[test]
    fn roles() {
        let sensor = member(1, "general", Role::Sensor);
        assert!(sensor.may(Permission::PostSightings));
        assert!(!sensor.may(Permission::ReadReports));
        assert!(!sensor.may(Permission::Lookup));
        let consumer = member(1, "general", Role::Consumer);
        assert!(consumer.may(Permission::Lookup) && consumer.may(Permission::ReadFeeds));
        assert!(!consumer.may(Permission::ReadReports) && !consumer.may(Permission::WriteReports));
        let analyst = member(1, "general", Role::Analyst);
        assert!(analyst.may(Permission::WriteReports) && !analyst.may(Permission::Administer));
        assert!(member(1, "general", Role::Admin).may(Permission::Administer));
        assert!(!Viewer::Public.may(Permission::WriteReports));
        assert!(!Viewer::Public.may(Permission::PostSightings));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn counts_below_three_orgs_are_suppressed() {
        assert_eq!(Count::orgs(0), Count::FewerThan3);
        assert_eq!(Count::orgs(2), Count::FewerThan3);
        assert_eq!(Count::orgs(3), Count::Exact(3));
        assert_eq!(Count::gated(2, 1000), Count::FewerThan3);
        assert_eq!(
            serde_json::to_string(&Count::gated(5, 1000)).unwrap(),
            "1000"
        );
        assert_eq!(
            serde_json::to_string(&Count::FewerThan3).unwrap(),
            "\"fewer than 3\""
        );
    }

    #[test]
    fn sightings_reveal_indicators_only_to_members_and_by_k() {
        let p = policy();
        let v = member(1, "finance", Role::Analyst);
        let no_reports: [ReportAccess; 0] = [];
        let two = SightingPresence {
            orgs: 2,
            by_viewer: false,
        };
        let own = SightingPresence {
            orgs: 1,
            by_viewer: true,
        };
        let three = SightingPresence {
            orgs: 3,
            by_viewer: false,
        };
        assert!(!p.can_see_indicator(&v, &no_reports, two, Channel::Api));
        assert!(p.can_see_indicator(&v, &no_reports, own, Channel::Api));
        assert!(p.can_see_indicator(&v, &no_reports, three, Channel::Api));
        assert!(!p.can_see_indicator(&Viewer::Public, &no_reports, three, Channel::Api));
        assert!(p.can_see_indicator(&v, &no_reports, three, Channel::Feed));
        assert!(!p.can_see_indicator(&v, &no_reports, three, Channel::Federation));
        assert!(!p.can_see_indicator(&Viewer::Public, &no_reports, three, Channel::Feed));
    }

    fn arb_tlp() -> impl Strategy<Value = Tlp> {
        prop::sample::select(Tlp::ALL.to_vec())
    }

    fn arb_audience() -> impl Strategy<Value = Audience> {
        prop_oneof![
            Just(Audience::Community),
            prop::collection::btree_set(
                prop::sample::select(vec!["finance", "water", "gas", "medical"]),
                0..3
            )
            .prop_map(|s| Audience::Sectors(s.into_iter().map(String::from).collect())),
            prop::collection::btree_set(1i64..6, 0..3).prop_map(Audience::Orgs),
        ]
    }

    fn arb_viewer() -> impl Strategy<Value = Viewer> {
        prop_oneof![
            Just(Viewer::Public),
            (
                1i64..6,
                prop::sample::select(vec!["finance", "water", "gas", "medical"]),
                prop::sample::select(Role::ALL.to_vec())
            )
                .prop_map(|(org, sector, role)| member(org, sector, role)),
        ]
    }

    fn arb_channel() -> impl Strategy<Value = Channel> {
        prop::sample::select(vec![Channel::Api, Channel::Feed, Channel::Federation])
    }

    proptest! {
        /// Non-owners read non-CLEAR reports only from inside the audience.
        #[test]
        fn non_owner_outside_audience_never_reads_non_clear(
            tlp in arb_tlp(), audience in arb_audience(), owner in 1i64..6,
            anonymous: bool, viewer in arb_viewer(), channel in arb_channel()
        ) {
            let p = policy();
            let r = report(tlp, audience.clone(), owner, anonymous);
            let readable = p.can_read(&viewer, &r, channel);
            if readable && !p.is_owner(&viewer, &r) && tlp != Tlp::Clear {
                let m = viewer.member().expect("public only reads CLEAR");
                let inside = match &audience {
                    Audience::Community => true,
                    Audience::Sectors(s) => s.contains(&m.sector),
                    Audience::Orgs(o) => o.contains(&m.org),
                };
                prop_assert!(inside);
            }
        }

        /// Ceilings per channel hold for everyone, owners included.
        #[test]
        fn channel_ceilings_hold(
            tlp in arb_tlp(), audience in arb_audience(), owner in 1i64..6,
            anonymous: bool, viewer in arb_viewer()
        ) {
            let p = policy();
            let r = report(tlp, audience, owner, anonymous);
            if tlp == Tlp::Red {
                prop_assert!(!p.can_read(&viewer, &r, Channel::Feed));
            }
            if !tlp.may_leave_hub() {
                prop_assert!(!p.can_read(&viewer, &r, Channel::Federation));
            }
            if viewer == Viewer::Public {
                prop_assert_eq!(p.can_read(&viewer, &r, Channel::Api), tlp == Tlp::Clear);
            }
        }

        /// RED is read only by named organizations and the owner.
        #[test]
        fn red_only_for_named_orgs(
            audience in arb_audience(), owner in 1i64..6, anonymous: bool, viewer in arb_viewer()
        ) {
            let p = policy();
            let r = report(Tlp::Red, audience.clone(), owner, anonymous);
            if p.can_read(&viewer, &r, Channel::Api) {
                let m = viewer.member().expect("public never reads RED");
                let named = matches!(&audience, Audience::Orgs(o) if o.contains(&m.org));
                prop_assert!(named || m.org == owner);
            }
        }

        /// The owner check is exact, anonymous or not.
        #[test]
        fn owner_recognised_exactly(owner in 1i64..6, other in 1i64..6, anonymous: bool) {
            let p = policy();
            let r = report(Tlp::Amber, Audience::Orgs(Default::default()), owner, anonymous);
            prop_assert_eq!(p.is_owner(&member(other, "gas", Role::Analyst), &r), owner == other);
            prop_assert_eq!(p.visible_author(&r).is_some(), !anonymous);
        }

        /// No aggregate from fewer than three organizations is ever a number.
        #[test]
        fn gated_counts(orgs in 0u64..10, value in 0u64..1_000_000) {
            let c = Count::gated(orgs, value);
            prop_assert_eq!(c.exact().is_some(), orgs >= 3);
        }
    }

    #[test]
    fn small_groups_are_pooled_and_never_isolated_by_difference() {
        // Three sectors of 1, 1, 1: one pooled row of three.
        let rows = pool_small_groups(vec![("a", 1, 5), ("b", 1, 7), ("c", 1, 1)]);
        assert_eq!(rows, vec![(None, Count::Exact(13), Count::Exact(3))]);
        // 5 + 1: the lone organization would be total minus the named row, so
        // the named row joins the pool.
        let rows = pool_small_groups(vec![("big", 5, 50), ("lone", 1, 9)]);
        assert_eq!(rows, vec![(None, Count::Exact(59), Count::Exact(6))]);
        // 4 + 3 + 2 + 1: the pool (3 organizations) is big enough.
        let rows = pool_small_groups(vec![("d", 4, 40), ("c", 3, 30), ("b", 2, 20), ("a", 1, 10)]);
        assert_eq!(
            rows,
            vec![
                (Some("c"), Count::Exact(30), Count::Exact(3)),
                (Some("d"), Count::Exact(40), Count::Exact(4)),
                (None, Count::Exact(30), Count::Exact(3)),
            ]
        );
        // 3 + 1 + 1: the pool of 2 takes the smallest named group.
        let rows = pool_small_groups(vec![("x", 3, 3), ("y", 1, 1), ("z", 1, 1)]);
        assert_eq!(rows, vec![(None, Count::Exact(5), Count::Exact(5))]);
        // Fewer than three in all: one row, and it says so.
        let rows = pool_small_groups(vec![("x", 2, 3)]);
        assert_eq!(rows, vec![(None, Count::FewerThan3, Count::FewerThan3)]);
        assert!(pool_small_groups::<&str>(vec![]).is_empty());
    }

    proptest! {
        #[test]
        fn pooled_rows_never_show_a_small_group(groups in proptest::collection::vec((0u64..6, 0u64..100), 0..8)) {
            let input: Vec<(usize, u64, u64)> =
                groups.iter().enumerate().map(|(i, (o, n))| (i, *o, *n)).collect();
            let total_orgs: u64 = input.iter().map(|g| g.1).sum();
            let rows = pool_small_groups(input.clone());
            let mut shown = 0;
            for (key, n, orgs) in &rows {
                match key {
                    Some(k) => {
                        let g = input[*k];
                        prop_assert!(g.1 >= MIN_DISTINCT_ORGS);
                        prop_assert_eq!(*n, Count::Exact(g.2));
                        prop_assert_eq!(*orgs, Count::Exact(g.1));
                        shown += g.1;
                    }
                    None => {
                        // The pool is total minus named rows: at least three
                        // organizations, or it is the whole and says fewer than 3.
                        let pooled = total_orgs - input.iter().filter(|g| rows.iter().any(|r| r.0 == Some(input.iter().position(|x| x == *g).unwrap_or(usize::MAX)))).map(|g| g.1).sum::<u64>();
                        prop_assert!(pooled >= MIN_DISTINCT_ORGS || (pooled == total_orgs && *orgs == Count::FewerThan3));
                    }
                }
            }
            prop_assert!(shown <= total_orgs);
        }
    }

    #[test]
    fn an_anonymous_owner_is_never_nameable() {
        let p = policy();
        let mut r = report(Tlp::Amber, orgs(&[1, 2, 3]), 1, true);
        assert_eq!(p.nameable_author(&r), None);
        let named: Vec<OrgId> = p
            .nameable_audience(&r)
            .into_iter()
            .map(Nameable::id)
            .collect();
        assert_eq!(named, vec![2, 3]);
        r = report(Tlp::Amber, orgs(&[1, 2, 3]), 1, false);
        assert_eq!(p.nameable_author(&r).map(Nameable::id), Some(1));
        assert_eq!(p.nameable_audience(&r).len(), 3);
        assert!(p
            .nameable_audience(&report(Tlp::Green, sectors(&["finance"]), 1, false))
            .is_empty());
    }
}
