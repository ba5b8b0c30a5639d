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
    /// The sector list; defaults to the ten critical-infrastructure sectors plus `general`.
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hub_name: "kyojo".to_string(),
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
            header_read_timeout_secs: 10.0,
            body_read_timeout_secs: 60.0,
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
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        if let Some(url) = std::env::var("KYOJO_DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            config.database_url = Some(url);
        }
        config.validate().map_err(|message| ConfigError::Invalid {
            path: shown,
            message,
        })?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.sectors.is_empty() {
            return Err("sectors: at least one sector is needed".into());
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
