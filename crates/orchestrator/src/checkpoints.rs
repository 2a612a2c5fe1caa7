//! Content-addressed checkpoints `<location>/<sha256>.safetensors` in an object store: the run
//! directory's `checkpoints/` by default, any local or shared folder, or (feature `cloud`) S3,
//! GCS and Azure Blob storage. Written atomically, verified by hash on read, garbage-collected
//! by reference from the run store.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use pbtnas_nn::checkpoint::sha256_hex;

use crate::run_dir::RunDir;

/// Why a checkpoint could not be read; the runner recomputes a step's output on either.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint {0} is missing")]
    Missing(String),
    #[error("checkpoint {0} is corrupt: its content hashes to {1}")]
    Corrupt(String, String),
}

/// The immutable checkpoints of a run, named by their hash.
#[derive(Debug)]
pub struct Checkpoints {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// Where they are, for messages (credentials never appear in locations).
    location: String,
    /// The folder, for a filesystem location: uploads cut short by a killed worker are swept
    /// there (the object store does not list them).
    folder: Option<PathBuf>,
    runtime: tokio::runtime::Runtime,
}

const EXT: &str = "safetensors";

/// Age after which a file no trial refers to is an orphan.
pub const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

impl Checkpoints {
    /// Opens `location`: a URL (`s3://bucket/prefix`, `gs://…`, `az://…`, `file:///…`,
    /// `memory://`) or a folder path, relative to `run_dir`; none means `run_dir/checkpoints`.
    /// Cloud credentials and endpoints come from the environment (`AWS_*`, `GOOGLE_*`,
    /// `AZURE_*`, as the object_store crate reads them).
    pub fn open(location: Option<&str>, run_dir: &Path) -> Result<Self> {
        let location = location.unwrap_or(RunDir::CHECKPOINTS);
        if !location.contains("://") || location.starts_with("file://") {
            let path = PathBuf::from(location.trim_start_matches("file://"));
            return Self::open_dir(run_dir.join(path));
        }
        #[cfg(feature = "cloud")]
        {
            // reqwest's TLS without a built-in provider: rustls on ring, as for PostgreSQL.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let url = parse_location(location)?;
        let options = std::env::vars().filter(|(k, _)| {
            ["AWS_", "GOOGLE_", "AZURE_"]
                .iter()
                .any(|p| k.starts_with(p))
        });
        let (store, prefix) = object_store::parse_url_opts(&url, options).with_context(|| {
            format!(
                "cannot open checkpoint location {location}{}",
                if cfg!(feature = "cloud") {
                    ""
                } else {
                    " (S3, GCS and Azure need the `cloud` feature: cargo build --features cloud)"
                }
            )
        })?;
        Self::new(Arc::from(store), prefix, location.to_string(), None)
    }

    /// Opens the checkpoints of an existing run directory, where its saved config says.
    pub fn of_run(run_dir: &Path) -> Result<Self> {
        let cfg = crate::config::RunConfig::from_file(&RunDir(run_dir).config())
            .with_context(|| format!("{} is not a run directory", run_dir.display()))?;
        Self::open(cfg.checkpoints.location.as_deref(), run_dir)
    }

    /// Opens (creating) a local or shared folder.
    pub fn open_dir(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create {}", root.display()))?;
        let store = LocalFileSystem::new_with_prefix(&root)
            .with_context(|| format!("cannot open {}", root.display()))?
            .with_fsync(true);
        let location = root.display().to_string();
        Self::new(Arc::new(store), ObjectPath::default(), location, Some(root))
    }

    fn new(
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        location: String,
        folder: Option<PathBuf>,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        Ok(Self {
            store,
            prefix,
            location,
            folder,
            runtime,
        })
    }

    /// Where the checkpoints are.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn object(&self, sha: &str) -> ObjectPath {
        self.prefix.clone().join(format!("{sha}.{EXT}"))
    }

    /// Where a checkpoint is, for messages.
    pub fn describe(&self, sha: &str) -> String {
        format!("{}/{sha}.{EXT}", self.location.trim_end_matches('/'))
    }

    /// Stores bytes and returns their hash. Every backend writes atomically (a reader never
    /// sees a partial object), and an object of that name and size is not written again.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        let path = self.object(&sha);
        self.runtime
            .block_on(async {
                match self.store.head(&path).await {
                    Ok(meta) if meta.size == bytes.len() as u64 => return Ok(()),
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
                let payload = PutPayload::from(bytes.to_vec());
                self.store.put(&path, payload).await.map(drop)
            })
            .with_context(|| format!("cannot write {}", self.describe(&sha)))?;
        Ok(sha)
    }

    /// Reads a checkpoint and checks its hash ([`CheckpointError`] if missing or corrupt).
    pub fn get(&self, sha: &str) -> Result<Vec<u8>> {
        let path = self.object(sha);
        let bytes = self.runtime.block_on(async {
            match self.store.get(&path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        let bytes = bytes
            .with_context(|| format!("cannot read {}", self.describe(sha)))?
            .ok_or_else(|| CheckpointError::Missing(self.describe(sha)))?;
        let got = sha256_hex(&bytes);
        if got != sha {
            return Err(CheckpointError::Corrupt(self.describe(sha), got).into());
        }
        Ok(bytes.to_vec())
    }

    /// Deletes a checkpoint (nothing if it is not there).
    pub fn remove(&self, sha: &str) -> Result<()> {
        match self.runtime.block_on(self.store.delete(&self.object(sha))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot delete {}", self.describe(sha))),
        }
    }

    /// Deletes the checkpoints the store refers to (`referenced`) but no longer needs (not in
    /// `keep`), and objects no trial refers to that are older than [`ORPHAN_AGE`]: checkpoints
    /// of workers killed before they committed, and cut-short uploads. Younger unreferenced
    /// objects may be another worker's step about to be committed, so they stay. Returns how
    /// many went.
    pub fn retain(&self, keep: &HashSet<String>, referenced: &HashSet<String>) -> Result<usize> {
        let listed: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(self.store.list(Some(&self.prefix)).try_collect())
            .with_context(|| format!("cannot list {}", self.location))?;
        let now = unix_now();
        let mut removed = 0;
        for meta in listed {
            let name = meta.location.filename().unwrap_or_default();
            let sha = name.strip_suffix(&format!(".{EXT}"));
            let old = now - meta.last_modified.timestamp() > ORPHAN_AGE.as_secs() as i64;
            let drop = match sha {
                Some(sha) if referenced.contains(sha) => !keep.contains(sha),
                _ => old && !sha.is_some_and(|s| keep.contains(s)),
            };
            if drop {
                match self.runtime.block_on(self.store.delete(&meta.location)) {
                    // Another worker's collection got there first.
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => removed += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if let Some(folder) = &self.folder {
            removed += sweep_staged_uploads(folder)?;
        }
        Ok(removed)
    }
}

/// Parses a location URL.
fn parse_location(location: &str) -> Result<url::Url> {
    match url::Url::parse(location) {
        Ok(url) => Ok(url),
        Err(e) => bail!("checkpoint location {location} is not a URL: {e}"),
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Removes the object store's staged uploads (`<name>#<n>`) older than [`ORPHAN_AGE`]: a
/// worker killed while writing leaves one behind.
fn sweep_staged_uploads(folder: &Path) -> Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name();
        let staged = name
            .to_str()
            .and_then(|n| n.rsplit_once('#'))
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > ORPHAN_AGE));
        if staged && old {
            match std::fs::remove_file(entry.path()) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                r => r?,
            }
            removed += 1;
        }
    }
    Ok(removed)
}
