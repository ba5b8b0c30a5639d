//! `kyojo check`: the reference client for private URL checks.
//!
//! It keeps the hub's list of 4-byte SHA-256 prefixes locally, computes the
//! Safe Browsing expressions of each URL itself, and asks the hub only for
//! the full hashes behind prefixes that hit. The hub never sees a URL, a
//! host name or a full hash of what is checked.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use kyojo_core::observable::canonicalize;
use kyojo_core::{url, Kind};

/// The locally kept prefix list.
#[derive(Debug, Default)]
struct Cache {
    hub: String,
    version: Option<u64>,
    prefixes: BTreeSet<String>,
}

impl Cache {
    fn load(path: &Path, hub: &str) -> Cache {
        let fresh = Cache {
            hub: hub.to_string(),
            ..Cache::default()
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return fresh;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            return fresh;
        };
        if v["hub"].as_str() != Some(hub) {
            return fresh;
        }
        Cache {
            hub: hub.to_string(),
            version: v["version"].as_u64(),
            prefixes: v["prefixes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Writes the list through a temporary file (so a crash never leaves half
    /// a list), readable by its owner only: which hub a user checks against,
    /// and when, is nobody else's business. A missing parent directory is
    /// created 0700.
    fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let text = serde_json::to_string(
            &json!({"hub": self.hub, "version": self.version, "prefixes": self.prefixes}),
        )?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        // The mode above applies only when the file is created; a stale
        // temporary file left by someone else's umask is narrowed too.
        #[cfg(unix)]
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", tmp.display()))?;
        drop(file);
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// Where the prefix list lives unless `--cache` says otherwise: the user's
/// cache directory (XDG Base Directory: `$XDG_CACHE_HOME/kyojo`, else
/// `~/.cache/kyojo`), never the working directory — a check run inside a
/// repository checkout must not leave a file there.
pub fn default_cache() -> Result<PathBuf> {
    cache_dir(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
        .map(|dir| dir.join("prefixes.json"))
}

/// The spec ignores an `XDG_CACHE_HOME` that is empty or relative.
fn cache_dir(xdg: Option<OsString>, home: Option<OsString>) -> Result<PathBuf> {
    let absolute = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(xdg) = absolute(xdg) {
        return Ok(xdg.join("kyojo"));
    }
    match absolute(home) {
        Some(home) => Ok(home.join(".cache").join("kyojo")),
        None => bail!(
            "no cache directory: set XDG_CACHE_HOME or HOME, or give --cache PATH (KYOJO_CHECK_CACHE)"
        ),
    }
}

/// Creates `dir` (and missing parents) 0700; an existing directory is left as it is.
fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

pub struct CheckArgs {
    pub urls: Vec<String>,
    pub hub: String,
    pub token: Option<String>,
    pub cache: PathBuf,
}

/// Outcome per URL, in input order: Some(threat) when listed.
pub fn run(args: &CheckArgs) -> Result<Vec<(String, Option<String>)>> {
    let hub = args.hub.trim_end_matches('/').to_string();
    let canonical: Vec<String> = args
        .urls
        .iter()
        .map(|u| {
            canonicalize(Kind::Url, u)
                .map(|o| o.value)
                .map_err(|e| anyhow!("{u}: {e}"))
        })
        .collect::<Result<_>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let auth = |req: reqwest::RequestBuilder| match &args.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };

        // 1. Bring the local prefix list up to date (changes only, when the hub still has our version).
        let mut cache = Cache::load(&args.cache, &hub);
        let mut req = client.get(format!("{hub}/api/v1/hashes/prefixes"));
        if let Some(v) = cache.version {
            req = req.query(&[("since", v)]);
        }
        let resp = auth(req).send().await.context("contacting the hub")?;
        let status = resp.status();
        let body: Value = resp.json().await.context("reading the prefix list")?;
        if !status.is_success() {
            bail!(
                "the hub refused the prefix list ({status}): {}",
                body["error"]["message"]
            );
        }
        let strings = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        if body["full"].as_bool() == Some(true) {
            cache.prefixes = strings(&body["prefixes"]);
        } else {
            for p in strings(&body["removals"]) {
                cache.prefixes.remove(&p);
            }
            cache.prefixes.extend(strings(&body["additions"]));
        }
        cache.version = body["version"].as_u64();
        cache.save(&args.cache)?;

        // 2. Expressions and hashes, computed here.
        let mut per_url: Vec<Vec<[u8; 32]>> = Vec::new();
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        for c in &canonical {
            let hashes: Vec<[u8; 32]> = url::lookup_expressions(c)
                .iter()
                .map(|e| url::full_hash(e))
                .collect();
            for h in &hashes {
                let p = hex::encode(&h[..4]);
                if cache.prefixes.contains(&p) {
                    wanted.insert(p);
                }
            }
            per_url.push(hashes);
        }

        // 3. Only prefixes that hit go to the hub.
        let mut full: HashMap<[u8; 32], String> = HashMap::new();
        if !wanted.is_empty() {
            let resp = auth(client.post(format!("{hub}/api/v1/hashes:search")))
                .json(&json!({ "prefixes": wanted }))
                .send()
                .await
                .context("contacting the hub")?;
            let status = resp.status();
            let body: Value = resp.json().await.context("reading full hashes")?;
            if !status.is_success() {
                bail!(
                    "the hub refused the search ({status}): {}",
                    body["error"]["message"]
                );
            }
            for m in body["matches"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                let hash = m["full_hash"]
                    .as_str()
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|b| <[u8; 32]>::try_from(b).ok());
                if let Some(hash) = hash {
                    full.insert(
                        hash,
                        m["threat_type"].as_str().unwrap_or("malicious").to_string(),
                    );
                }
            }
        }
        Ok(args
            .urls
            .iter()
            .zip(per_url)
            .map(|(u, hashes)| (u.clone(), hashes.iter().find_map(|h| full.get(h).cloned())))
            .collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_lives_in_the_xdg_cache_directory() {
        let dir = |x: Option<&str>, h: Option<&str>| {
            cache_dir(x.map(OsString::from), h.map(OsString::from)).ok()
        };
        assert_eq!(
            dir(Some("/x/cache"), Some("/home/u")),
            Some(PathBuf::from("/x/cache/kyojo"))
        );
        assert_eq!(
            dir(None, Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/kyojo"))
        );
        // Empty or relative XDG_CACHE_HOME is ignored, as the spec says.
        assert_eq!(
            dir(Some(""), Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/kyojo"))
        );
        assert_eq!(
            dir(Some("cache"), Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/kyojo"))
        );
        assert_eq!(dir(None, None), None);
        assert_eq!(dir(None, Some("relative")), None);
    }
}
