//! `kyojo check`: the reference client for private URL checks.
//!
//! It keeps the hub's list of 4-byte SHA-256 prefixes locally, computes the
//! Safe Browsing expressions of each URL itself, and asks the hub only for
//! the full hashes behind prefixes that hit. The hub never sees a URL, a
//! host name or a full hash of what is checked.

use std::collections::{BTreeSet, HashMap};
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

    fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(
            &json!({"hub": self.hub, "version": self.version, "prefixes": self.prefixes}),
        )?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
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
