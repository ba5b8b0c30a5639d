//! Which false-positive lists a hub applies, read from where they live:
//! the lists embedded in the binary (`[decisions] default_warninglists`),
//! the lists the operator loaded into the data directory
//! (`kyojo warninglists load`, kept as `<data>/warninglists/<id>/list.json`,
//! the layout of MISP's own repository) and any configured paths.
//!
//! Matching itself is pure and lives in `kyojo_core::warninglist`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use kyojo_core::observable::Observable;
use kyojo_core::warninglist::{self, ListInfo, Warninglists};

/// The directory under the data directory that `kyojo warninglists load`
/// fills.
pub const DATA_SUBDIR: &str = "warninglists";

/// Where a list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Embedded,
    Loaded,
}

/// Every list a hub applies.
#[derive(Debug, Default)]
pub struct WarninglistSet {
    parts: Vec<(Origin, Arc<Warninglists>)>,
}

/// The embedded lists, indexed once per process and shared by every hub in
/// it (tests open many).
static EMBEDDED: LazyLock<parking_lot::Mutex<HashMap<Vec<String>, Arc<Warninglists>>>> =
    LazyLock::new(Default::default);

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("warninglists: no embedded list is called {0:?} (there are: {1})")]
    UnknownEmbedded(String, String),
    #[error("warninglists: cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("warninglists: {path}: {source}")]
    List {
        path: String,
        source: warninglist::WarninglistError,
    },
}

impl WarninglistSet {
    /// The embedded lists `ids` and the lists found under `paths`.
    pub fn load(ids: &[String], paths: &[PathBuf]) -> Result<WarninglistSet, LoadError> {
        let mut parts = Vec::new();
        if !ids.is_empty() {
            parts.push((Origin::Embedded, embedded(ids)?));
        }
        let files = find_lists(paths)?;
        if !files.is_empty() {
            let mut lists = Warninglists::default();
            for (id, path) in files {
                let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                let loaded = lists
                    .add_json(&id, &text)
                    .map_err(|source| LoadError::List {
                        path: path.display().to_string(),
                        source,
                    })?;
                tracing::info!(
                    list = %id,
                    used = loaded.used,
                    skipped = loaded.skipped,
                    "false-positive list loaded"
                );
            }
            parts.push((Origin::Loaded, Arc::new(lists)));
        }
        Ok(WarninglistSet { parts })
    }

    /// The list that names `obs`, if one does, and where it came from.
    pub fn matching(&self, obs: &Observable) -> Option<(Origin, &ListInfo)> {
        self.parts
            .iter()
            .find_map(|(origin, lists)| lists.matching_list(obs).map(|l| (*origin, l)))
    }

    /// Every list applied, with where it came from.
    pub fn lists(&self) -> impl Iterator<Item = (Origin, &ListInfo)> {
        self.parts
            .iter()
            .flat_map(|(origin, lists)| lists.lists().iter().map(move |l| (*origin, l)))
    }
}

fn embedded(ids: &[String]) -> Result<Arc<Warninglists>, LoadError> {
    let mut cache = EMBEDDED.lock();
    if let Some(lists) = cache.get(ids) {
        return Ok(lists.clone());
    }
    let mut lists = Warninglists::default();
    for id in ids {
        let text = warninglist::embedded(id).ok_or_else(|| {
            LoadError::UnknownEmbedded(
                id.clone(),
                warninglist::embedded_ids().collect::<Vec<_>>().join(", "),
            )
        })?;
        lists.add_json(id, text).map_err(|source| LoadError::List {
            path: format!("embedded list {id}"),
            source,
        })?;
    }
    let lists = Arc::new(lists);
    cache.insert(ids.to_vec(), lists.clone());
    Ok(lists)
}

/// The lists under `paths`: a file is one list (named by its parent
/// directory when it is a `list.json`, else by its stem); a directory is
/// searched three levels deep for `list.json` files, as in a checkout of
/// MISP's repository or the `pymispwarninglists` package. Sorted by id.
pub fn find_lists(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>, LoadError> {
    let mut found = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![(p.clone(), 0)];
            while let Some((dir, depth)) = stack.pop() {
                let entries = std::fs::read_dir(&dir).map_err(|source| LoadError::Read {
                    path: dir.display().to_string(),
                    source,
                })?;
                for e in entries.flatten() {
                    let path = e.path();
                    if path.is_dir() && depth < 3 {
                        stack.push((path, depth + 1));
                    } else if path.file_name().is_some_and(|n| n == "list.json") {
                        found.push((list_id(&path), path));
                    }
                }
            }
        } else if p.exists() {
            found.push((list_id(p), p.clone()));
        } else {
            return Err(LoadError::Read {
                path: p.display().to_string(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
    }
    found.sort();
    Ok(found)
}

fn list_id(path: &Path) -> String {
    let named_by_dir = path.file_name().is_some_and(|n| n == "list.json");
    let source = if named_by_dir {
        path.parent().and_then(Path::file_name)
    } else {
        path.file_stem()
    };
    source
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "list".into())
}

/// An id safe as a directory name: letters, digits, `-`, `_` and `.`.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A list `install` copied into the data directory.
#[derive(Debug, Clone)]
pub struct Installed {
    pub id: String,
    pub name: String,
    pub list_type: &'static str,
    pub used: usize,
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("no list found under the given paths is called {0}")]
    NotFound(String),
    #[error("{0:?} is not a usable list id (letters, digits, '-', '_', '.')")]
    BadId(String),
    #[error("no list was chosen: name them with --only, or take every list found with --all ({0} found)")]
    NoneChosen(usize),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Copies the chosen lists found under `sources` into
/// `<data_dir>/warninglists/<id>/list.json`, each checked first (a list
/// that does not parse is refused and nothing of it is written). `only`
/// empty with `all` false chooses nothing: loading every MISP list at once
/// would also take in lists that are warnings rather than benign values
/// (dynamic DNS providers, disposable mail domains, URL shorteners).
pub fn install(
    data_dir: &Path,
    sources: &[PathBuf],
    only: &[String],
    all: bool,
) -> Result<Vec<Installed>, InstallError> {
    let found = find_lists(sources)?;
    if let Some(missing) = only.iter().find(|id| !found.iter().any(|(f, _)| f == *id)) {
        return Err(InstallError::NotFound(missing.clone()));
    }
    if only.is_empty() && !all {
        return Err(InstallError::NoneChosen(found.len()));
    }
    let chosen: Vec<&(String, PathBuf)> = found
        .iter()
        .filter(|(id, _)| all || only.contains(id))
        .collect();
    // Check every chosen list before writing any.
    let mut checked = Vec::new();
    for (id, path) in chosen {
        if !is_safe_id(id) {
            return Err(InstallError::BadId(id.clone()));
        }
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut scratch = Warninglists::default();
        let loaded = scratch
            .add_json(id, &text)
            .map_err(|source| LoadError::List {
                path: path.display().to_string(),
                source,
            })?;
        let list_type = scratch.lists().first().map_or("", |l| l.list_type.as_str());
        checked.push((
            Installed {
                id: id.clone(),
                name: loaded.name,
                list_type,
                used: loaded.used,
                skipped: loaded.skipped,
            },
            text,
        ));
    }
    let mut installed = Vec::new();
    for (list, text) in checked {
        let dir = data_dir.join(DATA_SUBDIR).join(&list.id);
        let write = |path: &Path, what: &dyn Fn() -> std::io::Result<()>| {
            what().map_err(|source| InstallError::Write {
                path: path.display().to_string(),
                source,
            })
        };
        write(&dir, &|| std::fs::create_dir_all(&dir))?;
        // Written aside, then renamed: a hub starting meanwhile reads the old
        // list or the new one, never half of one.
        let tmp = dir.join("list.json.tmp");
        write(&tmp, &|| std::fs::write(&tmp, &text))?;
        let path = dir.join("list.json");
        write(&path, &|| std::fs::rename(&tmp, &path))?;
        installed.push(list);
    }
    Ok(installed)
}

/// Removes a list `install` copied; false when there was none.
pub fn uninstall(data_dir: &Path, id: &str) -> Result<bool, InstallError> {
    if !is_safe_id(id) {
        return Err(InstallError::BadId(id.to_string()));
    }
    let dir = data_dir.join(DATA_SUBDIR).join(id);
    if !dir.join("list.json").exists() {
        return Ok(false);
    }
    std::fs::remove_dir_all(&dir).map_err(|source| InstallError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_found_in_misps_layout_and_named_by_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let lists = dir.path().join("misp-warninglists/lists");
        for id in ["cloudflare", "tranco10k"] {
            std::fs::create_dir_all(lists.join(id)).unwrap();
            std::fs::write(
                lists.join(id).join("list.json"),
                format!(r#"{{"name":"{id}","type":"hostname","list":["{id}.example"]}}"#),
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("misp-warninglists/schema.json"), "{}").unwrap();
        let found = find_lists(&[dir.path().to_path_buf()]).unwrap();
        let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["cloudflare", "tranco10k"]);
        let set = WarninglistSet::load(&["sinkholes".into()], &[dir.path().to_path_buf()]).unwrap();
        let obs = kyojo_core::observable::canonicalize(
            kyojo_core::observable::Kind::Domain,
            "a.tranco10k.example",
        )
        .unwrap();
        assert_eq!(
            set.matching(&obs).map(|(o, l)| (o, l.id.as_str())),
            Some((Origin::Loaded, "tranco10k"))
        );
        let origins: Vec<(Origin, &str)> = set.lists().map(|(o, l)| (o, l.id.as_str())).collect();
        assert_eq!(
            origins,
            [
                (Origin::Embedded, "sinkholes"),
                (Origin::Loaded, "cloudflare"),
                (Origin::Loaded, "tranco10k")
            ]
        );
    }

    #[test]
    fn install_copies_only_the_chosen_lists_and_checks_them_first() {
        let src = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        for (id, body) in [
            (
                "good",
                r#"{"name":"Good","type":"cidr","list":["192.0.2.0/24"]}"#,
            ),
            (
                "other",
                r#"{"name":"Other","type":"string","list":["x.example"]}"#,
            ),
            ("broken", r#"{"name":"Broken","type":"cidr""#),
        ] {
            std::fs::create_dir_all(src.path().join(id)).unwrap();
            std::fs::write(src.path().join(id).join("list.json"), body).unwrap();
        }
        let sources = [src.path().to_path_buf()];
        assert!(matches!(
            install(data.path(), &sources, &[], false),
            Err(InstallError::NoneChosen(3))
        ));
        assert!(matches!(
            install(data.path(), &sources, &["missing".into()], false),
            Err(InstallError::NotFound(_))
        ));
        // A broken list among the chosen: nothing is written.
        assert!(install(
            data.path(),
            &sources,
            &["good".into(), "broken".into()],
            false
        )
        .is_err());
        assert!(!data.path().join(DATA_SUBDIR).exists());
        let done = install(data.path(), &sources, &["good".into()], false).unwrap();
        assert_eq!((done[0].id.as_str(), done[0].used), ("good", 1));
        let set = WarninglistSet::load(&[], &[data.path().join(DATA_SUBDIR)]).unwrap();
        let ids: Vec<&str> = set.lists().map(|(_, l)| l.id.as_str()).collect();
        assert_eq!(ids, ["good"]);
        assert!(uninstall(data.path(), "good").unwrap());
        assert!(!uninstall(data.path(), "good").unwrap());
        assert!(uninstall(data.path(), "../x").is_err());
    }

    #[test]
    fn an_unknown_embedded_list_is_named_with_the_ones_there_are() {
        let e = WarninglistSet::load(&["nope".into()], &[]).unwrap_err();
        assert!(e.to_string().contains("public-dns-v4"), "{e}");
    }

    #[test]
    fn ids_that_could_leave_the_directory_are_not_safe() {
        assert!(is_safe_id("public-dns-v4"));
        for bad in ["", "..", "../x", "a/b", ".hidden", "a b"] {
            assert!(!is_safe_id(bad), "{bad}");
        }
    }
}
