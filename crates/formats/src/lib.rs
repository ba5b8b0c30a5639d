//! Writers that turn the hub's actionable indicators into what resolvers,
//! firewalls and proxies load. Pure: no network, no database, only
//! [`std::io::Write`], so the server's feed endpoints and the CLI's
//! `kyojo export` produce the same bytes from the same entries.
//!
//! | writer | format | who loads it |
//! |---|---|---|
//! | [`write_rpz`] | DNS Response Policy Zone (RFC draft, BIND syntax) | Unbound (`rpz:`), BIND (`response-policy`), PowerDNS Recursor, Knot Resolver: blocks domains (and their subdomains) and answers pointing into listed networks |
//! | [`write_hosts`] | `/etc/hosts` lines `0.0.0.0 evil.example` | Pi-hole, AdGuard Home, dnsmasq `addn-hosts`, plain hosts files |
//! | [`write_domains_txt`] | one domain per line | proxy and firewall domain lists (Squid `dstdomain`, pfBlockerNG, DNS filters) |
//! | [`write_urls_txt`] | one URL per line | web proxies and secure web gateways that block exact URLs |
//! | [`write_ips_txt`] | IPv4 then IPv6 addresses and CIDRs, one per line | firewall address lists (ipset, nftables sets, pf tables, vendor "external dynamic lists") |
//! | [`write_csv`] | RFC 4180 CSV, every kind, with context columns | spreadsheets and SIEM lookups |
//!
//! Feed values come from the database, and the database takes whatever
//! members submit, so every writer re-validates each value for the syntax of
//! its format and skips (and counts) what it can't write safely: a domain
//! must never turn into a `$INCLUDE` line or an absolute owner name in a
//! zone, nor a URL into two lines of a list. CSV cells are quoted and
//! defended against formula injection instead, since CSV can carry any text.
//!
//! Output is deterministic: the same entries and options give the same bytes
//! (headers carry counts, never the current time), and entries keep the
//! order the caller gave.

use kyojo_core::{Kind, Tlp};

mod csv;
pub mod intake;
mod lists;
pub mod misp;
mod rpz;
pub mod stix;
mod validate;

pub use csv::write_csv;
pub use lists::{write_domains_txt, write_hosts, write_ips_txt, write_urls_txt};
pub use rpz::write_rpz;

/// One actionable indicator as a feed shows it. `value` is canonical
/// (`kyojo_core::observable::canonicalize` output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub kind: Kind,
    pub value: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub first_seen: i64,
    /// Milliseconds since the Unix epoch, UTC.
    pub last_seen: i64,
    /// Milliseconds since the Unix epoch, UTC; `None` means no expiry.
    pub expires_at: Option<i64>,
    /// Free text: may contain anything (commas, quotes, newlines, `=cmd|...`).
    pub reason: String,
    /// The least restrictive marking the consumer sees it under.
    pub tlp: Tlp,
    /// Sector slugs.
    pub sectors: Vec<String>,
    /// Incident type slug, e.g. `phishing`.
    pub threat: Option<String>,
}

/// What a resolver answers for a listed name or address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpzAction {
    /// The name does not exist: the client simply fails to connect.
    Nxdomain,
    /// CNAME to the hub's warning host, e.g. `warn.kyojo.example`, so a
    /// browser lands on a page explaining the block.
    WalledGarden(String),
}

/// The zone-level settings of an RPZ feed.
#[derive(Debug, Clone)]
pub struct RpzOptions {
    /// Policy zone name, absolute with a trailing dot, e.g. `rpz.kyojo.`.
    pub zone: String,
    /// SOA serial; resolvers transfer or reload only when it grows.
    pub serial: u32,
    pub action: RpzAction,
    /// SOA MNAME (also used as the NS), absolute, e.g. `localhost.`.
    pub soa_mname: String,
    /// SOA RNAME, absolute, e.g. `hostmaster.localhost.`.
    pub soa_rname: String,
    /// `$TTL` of the policy records and the negative-caching TTL.
    pub ttl: u32,
}

/// What a writer did with the entries of its kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub written: usize,
    /// Entries refused because they could not be written safely.
    pub skipped: usize,
}

/// Why a feed could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("invalid option: {0}")]
    Option(String),
}
