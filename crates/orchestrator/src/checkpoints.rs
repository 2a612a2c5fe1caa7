//! Content-addressed checkpoint files: `<dir>/<sha256>.safetensors`, written atomically,
//! verified on read, garbage-collected by reference from the store.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use pbtnas_nn::checkpoint::sha256_hex;

/// A folder of immutable checkpoints named by their hash.
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    root: PathBuf,
}

const EXT: &str = "safetensors";

impl CheckpointDir {
    /// Opens (creating) the folder.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create {}", root.display()))?;
        Ok(Self { root })
    }

    /// The path of a checkpoint.
    pub fn path(&self, sha: &str) -> PathBuf {
        self.root.join(format!("{sha}.{EXT}"))
    }

    /// Stores bytes and returns their hash; a write is a temp file, fsync and rename, so a
    /// reader never sees a partial file and a repeated write is harmless.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        let dest = self.path(&sha);
        if dest.exists() {
            return Ok(sha);
        }
        let tmp = self.root.join(format!(".{sha}.{}.tmp", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &dest)?;
        Ok(sha)
    }

    /// Reads a checkpoint and checks its hash.
    pub fn get(&self, sha: &str) -> Result<Vec<u8>> {
        let path = self.path(sha);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("checkpoint {} is missing", path.display()))?;
        let got = sha256_hex(&bytes);
        if got != sha {
            bail!(
                "checkpoint {} is corrupt: its content hashes to {got}",
                path.display()
            );
        }
        Ok(bytes)
    }

    /// Deletes every checkpoint (and stale temp file) not in `keep`; returns how many.
    pub fn retain(&self, keep: &HashSet<String>) -> Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.root)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let stale_tmp = name.starts_with('.') && name.ends_with(".tmp");
            let unreferenced = Path::new(name).extension().is_some_and(|e| e == EXT)
                && !keep.contains(name.trim_end_matches(&format!(".{EXT}")));
            if stale_tmp || unreferenced {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
