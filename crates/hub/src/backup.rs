//! Backup and restore of a data directory (`kyojo backup`, `kyojo restore`).
//!
//! A backup is a directory (mode 0700) holding `kyojo.sqlite` — a
//! consistent copy as of one moment, taken with `VACUUM INTO` while the hub
//! keeps serving — `secret.key` and `kyojo.toml` if there is one, every
//! file mode 0600. Without `secret.key` anonymous reports could never be
//! told apart again, so the two travel together; the database keeps the
//! key's fingerprint, and a restore refuses a key that does not match.
//!
//! A hub on PostgreSQL is backed up with PostgreSQL's own tools
//! (`pg_dump --schema`), plus a copy of `secret.key`; [`backup`] says so.

use std::path::{Path, PathBuf};

use kyojo_store::{SqliteStore, StoreError};

use crate::config::Config;

const DATABASE: &str = "kyojo.sqlite";
const KEY: &str = "secret.key";
const CONFIG: &str = "kyojo.toml";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not empty; give an empty or new directory{1}")]
    NotEmpty(String, &'static str),
    #[error("{0} holds no {1}: not a kyojo backup")]
    NotABackup(String, &'static str),
    #[error(
        "this hub keeps its data in PostgreSQL (schema {schema:?}): back it up with \
         `pg_dump --schema={schema} --format=custom` and keep a copy of {key} with it; \
         restore with `pg_restore` into an empty database and the same secret.key"
    )]
    Postgres { schema: String, key: String },
    #[error(
        "the backup's {key} is not the key its database was made with (the fingerprints \
         differ); nothing was restored"
    )]
    KeyMismatch { key: String },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What a backup or restore wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub dir: PathBuf,
    pub files: Vec<&'static str>,
    pub database_bytes: u64,
}

/// Creates `dir` (0700) if needed; it must be empty.
fn empty_dir(dir: &Path, hint: &'static str) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dir.display().to_string(), hint));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir).map_err(io(dir))?;
        }
        Err(e) => return Err(io(dir)(e)),
    }
    private(dir, 0o700)
}

fn private(path: &Path, mode: u32) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(())
}

/// An empty file only its owner may read, for something to be written into.
fn create_private(path: &Path) -> Result<std::fs::File, BackupError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(io(path))
}

/// Copies a file to a new file only its owner may read, durably.
fn copy_private(from: &Path, to: &Path) -> Result<(), BackupError> {
    let mut src = std::fs::File::open(from).map_err(io(from))?;
    let mut dst = create_private(to)?;
    std::io::copy(&mut src, &mut dst).map_err(io(to))?;
    dst.sync_all().map_err(io(to))
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// Backs up the hub in `data_dir` into `out` (new or empty), online: the
/// database is copied as of one moment while the hub goes on serving.
pub fn backup(data_dir: &Path, out: &Path) -> Result<Written, BackupError> {
    let config = Config::load(data_dir)?;
    if config.database_url.is_some() {
        return Err(BackupError::Postgres {
            schema: config.database_schema,
            key: data_dir.join(KEY).display().to_string(),
        });
    }
    let db = data_dir.join(DATABASE);
    let key = data_dir.join(KEY);
    for (path, what) in [(&db, DATABASE), (&key, KEY)] {
        if !path.exists() {
            return Err(BackupError::NotABackup(
                data_dir.display().to_string(),
                what,
            ));
        }
    }
    empty_dir(out, "")?;
    let store = SqliteStore::open(&db)?;
    // Never back up a database with a key that is not its own.
    let secret: [u8; 32] = std::fs::read(&key)
        .map_err(io(&key))?
        .try_into()
        .map_err(|_| BackupError::KeyMismatch {
            key: key.display().to_string(),
        })?;
    if !crate::hub::key_matches(&store, &secret)? {
        return Err(BackupError::KeyMismatch {
            key: key.display().to_string(),
        });
    }
    let partial = out.join(format!("{DATABASE}.partial"));
    drop(create_private(&partial)?);
    store.backup_into(&partial)?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    let copy = out.join(DATABASE);
    std::fs::rename(&partial, &copy).map_err(io(&copy))?;
    let mut files = vec![DATABASE];
    copy_private(&key, &out.join(KEY))?;
    files.push(KEY);
    if data_dir.join(CONFIG).exists() {
        copy_private(&data_dir.join(CONFIG), &out.join(CONFIG))?;
        files.push(CONFIG);
    }
    sync_dir(out)?;
    let database_bytes = std::fs::metadata(&copy).map_err(io(&copy))?.len();
    Ok(Written {
        dir: out.to_path_buf(),
        files,
        database_bytes,
    })
}

/// Restores a backup into `data_dir`, which must be new or empty unless
/// `force` (then its database, key and configuration are replaced; stop
/// the hub first). The backup's key must match its database.
pub fn restore(backup_dir: &Path, data_dir: &Path, force: bool) -> Result<Written, BackupError> {
    for what in [DATABASE, KEY] {
        if !backup_dir.join(what).is_file() {
            return Err(BackupError::NotABackup(
                backup_dir.display().to_string(),
                what,
            ));
        }
    }
    // Check the key against the backup's database before touching anything.
    {
        let check = tempfile_dir(data_dir)?;
        let db = check.join(DATABASE);
        copy_private(&backup_dir.join(DATABASE), &db)?;
        let verdict = (|| {
            let secret: Option<[u8; 32]> = std::fs::read(backup_dir.join(KEY))
                .map_err(io(&backup_dir.join(KEY)))?
                .try_into()
                .ok();
            let store = SqliteStore::open(&db)?;
            Ok::<bool, BackupError>(match secret {
                Some(s) => crate::hub::key_matches(&store, &s)?,
                None => false,
            })
        })();
        let _ = std::fs::remove_dir_all(&check);
        if !verdict? {
            return Err(BackupError::KeyMismatch {
                key: backup_dir.join(KEY).display().to_string(),
            });
        }
    }
    if force && data_dir.exists() {
        for name in [
            DATABASE,
            "kyojo.sqlite-wal",
            "kyojo.sqlite-shm",
            KEY,
            CONFIG,
        ] {
            let p = data_dir.join(name);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&p)(e)),
            }
        }
        private(data_dir, 0o700)?;
    } else {
        empty_dir(data_dir, " (or --force to replace its database and key)")?;
    }
    let mut files = Vec::new();
    for name in [DATABASE, KEY, CONFIG] {
        let from = backup_dir.join(name);
        if from.is_file() {
            copy_private(&from, &data_dir.join(name))?;
            files.push(name);
        }
    }
    sync_dir(data_dir)?;
    let database_bytes = std::fs::metadata(data_dir.join(DATABASE))
        .map_err(io(&data_dir.join(DATABASE)))?
        .len();
    Ok(Written {
        dir: data_dir.to_path_buf(),
        files,
        database_bytes,
    })
}

/// A fresh private directory beside `near` for checking a backup.
fn tempfile_dir(near: &Path) -> Result<PathBuf, BackupError> {
    let parent = near
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let dir = parent.join(format!(
        ".kyojo-restore-check-{:016x}",
        rand::random::<u64>()
    ));
    empty_dir(&dir, "")?;
    Ok(dir)
}
