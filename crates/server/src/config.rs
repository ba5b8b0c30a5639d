//! Hub configuration: `kyojo.toml` in the data directory, all optional.

use std::path::Path;

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hub_name: "kyojo".to_string(),
            sectors: default_sectors(),
            max_body_bytes: 16 * 1024 * 1024,
            rate_limit_per_second: 200.0,
            rate_limit_burst: 1000.0,
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: shown,
                    source,
                })
            }
        };
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            message: e.to_string(),
        })?;
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
        if self.max_body_bytes < 1024 {
            return Err("max_body_bytes: must be at least 1024".into());
        }
        if !(self.rate_limit_per_second > 0.0 && self.rate_limit_burst >= 1.0) {
            return Err("rate_limit_per_second must be > 0 and rate_limit_burst >= 1".into());
        }
        Ok(())
    }

    pub fn sector(&self, slug: &str) -> Option<&Sector> {
        self.sectors.iter().find(|s| s.slug == slug)
    }

    pub fn sector_slugs(&self) -> Vec<&str> {
        self.sectors.iter().map(|s| s.slug.as_str()).collect()
    }
}
