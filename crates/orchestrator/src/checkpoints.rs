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

/// Age after which a file no trial refers to is an orphan.
pub const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

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

    /// Deletes the checkpoints the store refers to (`referenced`) but no longer needs (not in
    /// `keep`), and files no trial refers to that are older than [`ORPHAN_AGE`]: temp files and
    /// checkpoints of workers killed before they committed. Younger unreferenced files may be
    /// another worker's step about to be committed, so they stay. Returns how many went.
    pub fn retain(&self, keep: &HashSet<String>, referenced: &HashSet<String>) -> Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            let path = entry.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let sha = Path::new(name)
                .extension()
                .is_some_and(|e| e == EXT)
                .then(|| name.trim_end_matches(&format!(".{EXT}")));
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > ORPHAN_AGE));
            let drop = match sha {
                Some(sha) if referenced.contains(sha) => !keep.contains(sha),
                _ => old && !sha.is_some_and(|s| keep.contains(s)),
            };
            if drop {
                match std::fs::remove_file(&path) {
                    // Another worker's collection got there first.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    r => r?,
                }
                removed += 1;
            }
        }
        Ok(removed)
    }
}
