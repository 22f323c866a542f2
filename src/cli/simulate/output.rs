//! A report folder that appears whole or not at all.
//!
//! Files are written into a hidden sibling folder, which is renamed onto the final name once
//! every file is in it. A report folder from an earlier run is moved aside first and removed
//! after the rename, so a reader never sees a mix of two runs or half a run.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A report folder being written.
pub struct StagedDir {
    staging: PathBuf,
    target: PathBuf,
    finished: bool,
}

impl StagedDir {
    /// Starts writing the folder `target` (its parent is created if missing).
    pub fn create(target: &Path) -> Result<Self> {
        if target.is_file() {
            bail!("--out {} is a file, not a folder", target.display());
        }
        let name = target
            .file_name()
            .with_context(|| format!("--out {} has no folder name", target.display()))?
            .to_string_lossy()
            .into_owned();
        let parent = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging)
                .with_context(|| format!("cannot clear {}", staging.display()))?;
        }
        fs::create_dir(&staging).with_context(|| format!("cannot create {}", staging.display()))?;
        Ok(Self {
            staging,
            target: target.to_path_buf(),
            finished: false,
        })
    }

    /// Writes one file into the folder.
    pub fn write(&self, file_name: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        let path = self.staging.join(file_name);
        fs::write(&path, contents).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Puts the folder in place, replacing an earlier run's folder of the same name.
    pub fn finish(mut self) -> Result<PathBuf> {
        let aside = self.target.with_file_name(format!(
            ".{}.old-{}",
            self.target
                .file_name()
                .unwrap_or_default()
                .to_string_lossy(),
            std::process::id()
        ));
        let had_previous = self.target.exists();
        if had_previous {
            fs::rename(&self.target, &aside).with_context(|| {
                format!(
                    "cannot move the earlier report {} aside",
                    self.target.display()
                )
            })?;
        }
        if let Err(err) = fs::rename(&self.staging, &self.target) {
            if had_previous {
                // Put the earlier report back rather than leave nothing.
                let _ = fs::rename(&aside, &self.target);
            }
            return Err(err).with_context(|| format!("cannot create {}", self.target.display()));
        }
        self.finished = true;
        if had_previous {
            fs::remove_dir_all(&aside)
                .with_context(|| format!("cannot remove the earlier report {}", aside.display()))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}
