//! Hub configuration: `kyojo.toml` in the data directory, all optional.

use std::path::Path;

use kyojo_core::decide::{Lifetimes, Rules};
use kyojo_core::sector::{default_sectors, is_valid_slug, Sector};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Shown in the UI and in printed URLs.
    pub hub_name: String,
    /// The URL clients reach this hub at (`https://hub.example.org`, or
    /// with a path prefix behind a proxy); TAXII discovery names its API
    /// root under it. Default: `http://` and the address the server listens on.
    pub public_url: Option<String>,
    /// The sector list; defaults to the ten critical-infrastructure sectors
    /// plus `general`. Any `[[sectors]]` entry replaces the whole list
    /// ([`Config::replaced_sectors`]).
    #[serde(deserialize_with = "strict_sectors")]
    pub sectors: Vec<Sector>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Sustained requests per second allowed per token (or per client address without one).
    pub rate_limit_per_second: f64,
    /// Requests a client may burst above the sustained rate.
    pub rate_limit_burst: f64,
    /// When indicators stop being actionable after their last report or sighting.
    pub lifetimes: Lifetimes,
    /// The community rules that make indicators actionable without an analyst.
    pub rules: Rules,
    /// This hub's own host names: never blockable.
    pub hub_hosts: Vec<String>,
    /// Where RPZ's walled-garden answers send users: the host serving `/warn`.
    pub warning_host: String,
    /// Name of the RPZ policy zone (absolute, with the trailing dot).
    pub rpz_zone: String,
    /// Whom end users on the warning page should contact, in each language.
    pub warn_contact_en: String,
    pub warn_contact_ja: String,
    /// Mark the web interface's cookies `Secure` (set it when users reach the
    /// hub over HTTPS; a request with `X-Forwarded-Proto: https` from a
    /// reverse proxy gets them anyway).
    pub secure_cookies: bool,
    /// A PostgreSQL database instead of the embedded SQLite file, as a
    /// libpq string (`host=db user=kyojo dbname=kyojo`) or `postgres://` URL.
    /// `KYOJO_DATABASE_URL` in the environment overrides it.
    pub database_url: Option<String>,
    /// The PostgreSQL schema kyojo keeps its tables in.
    pub database_schema: String,
    /// Seconds a client has to send a request's headers (also how long an
    /// idle kept-alive connection stays open); then the connection is closed.
    pub header_read_timeout_secs: f64,
    /// Seconds a client has to send a request's whole body; then 408.
    pub body_read_timeout_secs: f64,
    /// Connections served at once; more are refused at once.
    pub max_connections: usize,
    /// Connections served at once per client address (IPv6: per /64).
    pub max_connections_per_client: usize,
    /// A bearer secret (at least 32 characters) a Prometheus scraper may
    /// send for `/metrics` instead of an admin token.
    pub metrics_token: Option<String>,
    /// What one decision, and one organization in an hour, may add to feeds.
    pub decisions: DecisionLimits,
}

/// A `[[sectors]]` entry as written in `kyojo.toml`. `Sector` itself
/// (kyojo-core) ignores unknown keys; here one is an error, because keys
/// pasted after a `[[sectors]]` header land in that entry and would vanish.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SectorEntry {
    slug: String,
    en: String,
    ja: String,
}

fn strict_sectors<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Sector>, D::Error> {
    Ok(Vec::<SectorEntry>::deserialize(d)?
        .into_iter()
        .map(|e| Sector {
            slug: e.slug,
            en: e.en,
            ja: e.ja,
        })
        .collect())
}

/// The plain keys `Config` takes outside any table, to recognise one pasted
/// below a `[table]` header (a test keeps this list equal to the struct's).
const TOP_LEVEL_KEYS: [&str; 18] = [
    "hub_name",
    "public_url",
    "max_body_bytes",
    "rate_limit_per_second",
    "rate_limit_burst",
    "hub_hosts",
    "warning_host",
    "rpz_zone",
    "warn_contact_en",
    "warn_contact_ja",
    "secure_cookies",
    "database_url",
    "database_schema",
    "header_read_timeout_secs",
    "body_read_timeout_secs",
    "max_connections",
    "max_connections_per_client",
    "metrics_token",
];

/// Limits on what decisions may put into block feeds.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionLimits {
    /// Blocks one organization may decide per hour (own and hub-wide together).
    pub blocks_per_hour: usize,
    /// The widest IPv4 network anything may make actionable (prefix length).
    pub widest_ipv4_prefix: u8,
    /// The widest IPv6 network anything may make actionable (prefix length).
    pub widest_ipv6_prefix: u8,
    /// MISP warninglist files (or directories of them, searched for
    /// `list.json`) whose values are never blockable.
    pub warninglists: Vec<std::path::PathBuf>,
    /// Lists embedded in the binary that apply (by id); by default public
    /// DNS resolvers and sinkholes (`kyojo_core::warninglist::DEFAULT_SET`).
    pub default_warninglists: Vec<String>,
    /// A hub-wide change of the actionable set that adds or removes more
    /// than this fraction of it waits for the operator's confirmation
    /// (`POST /api/v1/feed-guard/confirm`); 0 turns the guard off.
    pub feed_change_guard: f64,
    /// The fraction is taken of at least this many entries, so a small hub
    /// may grow by `feed_change_guard × feed_guard_floor` at once.
    pub feed_guard_floor: usize,
}

impl Default for DecisionLimits {
    fn default() -> Self {
        let w = kyojo_core::decide::Widths::default();
        DecisionLimits {
            blocks_per_hour: 200,
            widest_ipv4_prefix: w.widest_ipv4_prefix,
            widest_ipv6_prefix: w.widest_ipv6_prefix,
            warninglists: Vec::new(),
            default_warninglists: kyojo_core::warninglist::DEFAULT_SET
                .iter()
                .map(|s| s.to_string())
                .collect(),
            feed_change_guard: 0.25,
            feed_guard_floor: 1000,
        }
    }
}

impl DecisionLimits {
    pub fn widths(&self) -> kyojo_core::decide::Widths {
        kyojo_core::decide::Widths {
            widest_ipv4_prefix: self.widest_ipv4_prefix,
            widest_ipv6_prefix: self.widest_ipv6_prefix,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hub_name: "kyojo".to_string(),
            public_url: None,
            sectors: default_sectors(),
            max_body_bytes: 16 * 1024 * 1024,
            rate_limit_per_second: 200.0,
            rate_limit_burst: 1000.0,
            lifetimes: Lifetimes::default(),
            rules: Rules::default(),
            hub_hosts: Vec::new(),
            warning_host: "warn.kyojo.invalid".to_string(),
            rpz_zone: "rpz.kyojo.".to_string(),
            warn_contact_en: "If you believe this is a mistake, contact your network administrator or provider's help desk.".to_string(),
            warn_contact_ja: "誤りと思われる場合は、ネットワーク管理者またはご契約のプロバイダのサポート窓口にご連絡ください。".to_string(),
            secure_cookies: false,
            database_url: None,
            database_schema: "kyojo".to_string(),
            decisions: DecisionLimits::default(),
            header_read_timeout_secs: 10.0,
            body_read_timeout_secs: 25.0,
            max_connections: 4096,
            max_connections_per_client: 256,
            metrics_token: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    /// Reads `kyojo.toml` from the data directory, or the defaults when there is none.
    pub fn load(data_dir: &Path) -> Result<Config, ConfigError> {
        let path = data_dir.join("kyojo.toml");
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: shown,
                    source,
                })
            }
        };
        let mut config = Config::from_toml(&text, &shown)?;
        if let Some(url) = std::env::var("KYOJO_DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            config.database_url = Some(url);
        }
        Ok(config)
    }

    /// Parses and validates the text of a `kyojo.toml` (`shown` names it in
    /// errors). Every unknown or misplaced key is an error naming the key
    /// and its line.
    pub fn from_toml(text: &str, shown: &str) -> Result<Config, ConfigError> {
        let invalid = |message| ConfigError::Invalid {
            path: shown.to_string(),
            message,
        };
        let config: Config = toml::from_str(text).map_err(|e| invalid(explain(text, &e)))?;
        config.validate().map_err(invalid)?;
        Ok(config)
    }

    /// `Some(n)` when `kyojo.toml` lists its own `n` sectors, which replace the
    /// built-in list (one `[[sectors]]` entry leaves one sector, not twelve).
    pub fn replaced_sectors(&self) -> Option<usize> {
        (self.sectors != default_sectors()).then_some(self.sectors.len())
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.sectors.is_empty() {
            return Err("sectors: at least one sector is needed".into());
        }
        if let Some(url) = &self.public_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .unwrap_or_default();
            if rest.is_empty()
                || rest.starts_with('/')
                || !rest.bytes().all(|b| b.is_ascii_graphic())
                || rest.contains(['?', '#'])
            {
                return Err(format!(
                    "public_url: {url:?} is not an http:// or https:// URL without query or fragment"
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.sectors {
            if !is_valid_slug(&s.slug) {
                return Err(format!(
                    "sectors: {:?} is not a valid slug (lower-case letters, digits, '-')",
                    s.slug
                ));
            }
            if !seen.insert(&s.slug) {
                return Err(format!("sectors: {:?} appears twice", s.slug));
            }
        }
        let schema = &self.database_schema;
        if schema.is_empty()
            || schema.len() > 63
            || !schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            || !schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(format!(
                "database_schema: {schema:?} must be 1-63 characters of a-z, 0-9 and '_', not starting with a digit"
            ));
        }
        let d = &self.decisions;
        if !(0.0..=1.0).contains(&d.feed_change_guard) {
            return Err("decisions: feed_change_guard is a fraction from 0 to 1".into());
        }
        if let Some(id) = d
            .default_warninglists
            .iter()
            .find(|id| kyojo_core::warninglist::embedded(id).is_none())
        {
            return Err(format!(
                "decisions: default_warninglists: no embedded list is called {id:?} (there are: {})",
                kyojo_core::warninglist::embedded_ids()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if d.widest_ipv4_prefix > 32 || d.widest_ipv6_prefix > 128 {
            return Err(
                "decisions: widest_ipv4_prefix is at most 32 and widest_ipv6_prefix at most 128"
                    .into(),
            );
        }
        if self.max_body_bytes < 1024 {
            return Err("max_body_bytes: must be at least 1024".into());
        }
        if !(self.rate_limit_per_second > 0.0 && self.rate_limit_burst >= 1.0) {
            return Err("rate_limit_per_second must be > 0 and rate_limit_burst >= 1".into());
        }
        for (name, secs) in [
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
        ] {
            if !(0.1..=3600.0).contains(&secs) {
                return Err(format!("{name}: must be between 0.1 and 3600 seconds"));
            }
        }
        if self.max_connections == 0 || self.max_connections_per_client == 0 {
            return Err("max_connections and max_connections_per_client must be at least 1".into());
        }
        if let Some(t) = &self.metrics_token {
            if t.len() < 32 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(
                    "metrics_token: at least 32 printable ASCII characters, no spaces".into(),
                );
            }
        }
        for host in self
            .hub_hosts
            .iter()
            .chain(std::iter::once(&self.warning_host))
        {
            if kyojo_core::observable::canonicalize(kyojo_core::Kind::Domain, host)
                .map(|o| o.value != *host)
                .unwrap_or(true)
            {
                return Err(format!(
                    "hub_hosts/warning_host: {host:?} is not a canonical host name"
                ));
            }
        }
        if !self.rpz_zone.ends_with('.')
            || kyojo_core::observable::canonicalize(kyojo_core::Kind::Domain, &self.rpz_zone)
                .is_err()
        {
            return Err("rpz_zone: must be a host name ending with a dot, like rpz.kyojo.".into());
        }
        Ok(())
    }

    /// Host names that are never blockable: the configured ones and the warning host.
    pub fn own_hosts(&self) -> Vec<String> {
        let mut hosts = self.hub_hosts.clone();
        hosts.push(self.warning_host.clone());
        hosts
    }

    pub fn sector(&self, slug: &str) -> Option<&Sector> {
        self.sectors.iter().find(|s| s.slug == slug)
    }

    pub fn sector_slugs(&self) -> Vec<&str> {
        self.sectors.iter().map(|s| s.slug.as_str()).collect()
    }
}

/// A toml error in the operator's words: where (line and column), which key,
/// and for a top-level key found inside a table, where it belongs.
fn explain(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(span) = e.span() else {
        return message.to_string();
    };
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let mut out = format!("line {line}, column {column}: ");
    let Some(key) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    else {
        out.push_str(message);
        return out;
    };
    let table = enclosing_table(before);
    let expected = message
        .split_once(", expected ")
        .map(|(_, e)| format!(" (expected {e})"))
        .unwrap_or_default();
    match &table {
        Some((header, _)) => out.push_str(&format!("unknown key `{key}` in {header}{expected}")),
        None => out.push_str(&format!("unknown key `{key}`{expected}")),
    }
    if let Some((_, first_line)) = table.filter(|_| TOP_LEVEL_KEYS.contains(&key)) {
        out.push_str(&format!(
            "; `{key}` is a top-level key: it probably belongs before the first [table] header (line {first_line}), since TOML puts every key after a header into that table"
        ));
    }
    out
}

/// The `[table]` or `[[array]]` header in force at the end of `before`, and
/// the line of the file's first header.
fn enclosing_table(before: &str) -> Option<(String, usize)> {
    let headers: Vec<(usize, &str)> = before
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| l.starts_with('['))
        .collect();
    let (first, _) = *headers.first()?;
    let (_, last) = headers.last()?;
    // Keep `[[sectors]]` or `[rules]`, without a trailing comment.
    let end = if last.starts_with("[[") {
        last.find("]]").map(|i| i + 2)
    } else {
        last.find(']').map(|i| i + 1)
    };
    Some((last[..end.unwrap_or(last.len())].to_string(), first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::from_toml(text, "kyojo.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn top_level_keys_are_the_structs_plain_fields() {
        let e = parse("no_such_key = 1").unwrap_err();
        let listed: std::collections::BTreeSet<&str> = e
            .split_once("expected one of ")
            .map(|(_, l)| l)
            .unwrap_or_default()
            .split(", ")
            .map(|k| k.trim_matches(|c: char| c == '`' || c == ')'))
            .filter(|k| !["sectors", "lifetimes", "rules", "decisions"].contains(k))
            .collect();
        let ours: std::collections::BTreeSet<&str> = TOP_LEVEL_KEYS.into_iter().collect();
        assert_eq!(listed, ours, "{e}");
    }

    #[test]
    fn an_unknown_top_level_key_is_named_with_its_line() {
        let e = parse("hub_name = \"x\"\nhub_nmae = \"y\"\n").unwrap_err();
        assert!(
            e.contains("line 2, column 1: unknown key `hub_nmae`"),
            "{e}"
        );
    }

    #[test]
    fn a_top_level_key_pasted_after_sectors_is_an_error_that_says_where_it_belongs() {
        let text = "hub_name = \"Example ISAC\"\n\n[[sectors]]   # one sector\nslug = \"finance\"\nen = \"Finance\"\nja = \"金融\"\n\nhub_hosts = [\"kyojo.example.net\"]\nwarning_host = \"warn.example.net\"\n";
        let e = parse(text).unwrap_err();
        assert!(
            e.contains("line 8, column 1: unknown key `hub_hosts` in [[sectors]]"),
            "{e}"
        );
        assert!(
            e.contains("`hub_hosts` is a top-level key")
                && e.contains("before the first [table] header (line 3)"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_inside_every_table_are_refused() {
        for (table, line) in [
            ("[lifetimes]\nurl_days = 3\n", "hash_dayz = 1"),
            ("[rules]\n", "min_sighting_org = 2"),
            ("[decisions]\n", "blocks_per_day = 2"),
            (
                "[[sectors]]\nslug = \"a\"\nen = \"A\"\nja = \"A\"\n",
                "name = \"A\"",
            ),
        ] {
            let text = format!("{table}{line}\n");
            let e = parse(&text).unwrap_err();
            let key = line.split(' ').next().unwrap_or_default();
            assert!(e.contains(&format!("unknown key `{key}`")), "{text}: {e}");
            let header = table.lines().next().unwrap_or_default();
            assert!(e.contains(&format!("in {header}")), "{text}: {e}");
        }
        // A key of another table is not top-level: no advice to move it up.
        let e = parse("[rules]\nurl_days = 3\n").unwrap_err();
        assert!(!e.contains("top-level"), "{e}");
    }

    #[test]
    fn sectors_replace_the_built_in_list_and_say_so() {
        assert_eq!(parse("").map(|c| c.replaced_sectors()), Ok(None));
        let one = parse("[[sectors]]\nslug = \"finance\"\nen = \"Finance\"\nja = \"金融\"\n")
            .map(|c| (c.replaced_sectors(), c.sector_slugs().join(",")));
        assert_eq!(one, Ok((Some(1), "finance".to_string())));
        // Listing exactly the built-in sectors replaces nothing.
        let all: String = default_sectors()
            .iter()
            .map(|s| {
                format!(
                    "[[sectors]]\nslug = {:?}\nen = {:?}\nja = {:?}\n",
                    s.slug, s.en, s.ja
                )
            })
            .collect();
        assert_eq!(parse(&all).map(|c| c.replaced_sectors()), Ok(None));
    }

    #[test]
    fn other_errors_carry_their_line_too() {
        let e = parse("hub_name = \"x\"\nmax_body_bytes = \"big\"\n").unwrap_err();
        assert!(e.contains("line 2, column "), "{e}");
    }
}
