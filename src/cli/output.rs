//! Every folder and file the lab writes, written one way: never deleting what the lab did not
//! write, never leaving half a report.
//!
//! A report folder carries a small manifest, [`MANIFEST_FILE`], naming the command that wrote it
//! and the entries it wrote. That mark decides what the lab may replace:
//!
//! - a folder that does not exist, is empty, or is a report the lab wrote earlier (every entry
//!   in it named by its manifest) is written whole in a hidden sibling staging folder and swapped
//!   into place once complete, so an earlier report survives until the new one is whole;
//! - any other folder is refused ([`OutputError::Foreign`], bad input) unless the user passes
//!   `--force`; then the lab writes into it in place, file by file (temp file + rename), and
//!   deletes nothing it did not write;
//! - the working directory (or a folder that holds it) is never swapped away under the user's
//!   shell, and a symbolic link to a folder is never replaced by one: both are written in place
//!   by the same rules.
//!
//! A single file ([`write_file`]) is written to a temp file beside it and renamed; an existing
//! file is replaced only when it carries the lab's mark (its first line) or with `--force`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The manifest inside every report folder the lab writes.
pub const MANIFEST_FILE: &str = ".mitid-lab-report.json";

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{}: the folder is not empty and is not a report mitid-lab wrote (it holds {}); nothing was written: choose another folder, or pass --force to write into it (nothing in it is deleted)",
        path.display(), list(foreign)
    )]
    Foreign { path: PathBuf, foreign: Vec<String> },
    #[error(
        "{}: exists and was not written by mitid-lab; nothing was written: choose another name, or pass --force to replace it",
        path.display()
    )]
    ForeignFile { path: PathBuf },
    #[error("{}: is a file, not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("{}: is a folder, not a file", path.display())]
    NotAFile { path: PathBuf },
    /// The operating system refused; the cause is the chained source, printed once.
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl OutputError {
    /// The user pointed the lab at something it must not touch (exit 2); otherwise the lab could
    /// not do its work (exit 3).
    #[must_use]
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, OutputError::Io { .. })
    }
}

fn list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        let _ = write!(text, " and {} more", names.len() - SHOWN);
    }
    text
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> OutputError {
    let path = path.to_owned();
    move |source| OutputError::Io {
        action,
        path,
        source,
    }
}

/// What [`MANIFEST_FILE`] says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Always `mitid-lab`: what makes the folder the lab's.
    pub written_by: String,
    /// The subcommand, e.g. `simulate` or `certify`.
    pub command: String,
    /// The entries (files and folders) of the report folder the lab wrote, sorted.
    pub files: Vec<String>,
}

const WRITTEN_BY: &str = "mitid-lab";

fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = fs::read_to_string(dir.join(MANIFEST_FILE)).ok()?;
    serde_json::from_str::<Manifest>(&text)
        .ok()
        .filter(|manifest| manifest.written_by == WRITTEN_BY)
}

fn entries(dir: &Path) -> Result<BTreeSet<OsString>, OutputError> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir).map_err(io_error("read the folder", dir))? {
        names.insert(entry.map_err(io_error("read the folder", dir))?.file_name());
    }
    Ok(names)
}

/// What is at the target path now.
enum Existing {
    Missing,
    /// Empty, or a report of the lab's own (with that report's manifest).
    Replaceable(Option<Manifest>),
    /// Entries the lab did not write (with the manifest, if a report was there too).
    Foreign {
        foreign: Vec<String>,
        manifest: Option<Manifest>,
    },
}

fn inspect(dir: &Path) -> Result<Existing, OutputError> {
    match fs::symlink_metadata(dir) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Existing::Missing),
        Err(err) => return Err(io_error("read", dir)(err)),
        Ok(_) if !fs::metadata(dir).is_ok_and(|m| m.is_dir()) => {
            return Err(OutputError::NotAFolder {
                path: dir.to_owned(),
            });
        }
        Ok(_) => {}
    }
    let manifest = read_manifest(dir);
    let owned: BTreeSet<&str> = manifest
        .iter()
        .flat_map(|m| m.files.iter().map(String::as_str))
        .chain([MANIFEST_FILE])
        .collect();
    let foreign: Vec<String> = entries(dir)?
        .into_iter()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| !owned.contains(name.as_str()))
        .collect();
    Ok(if foreign.is_empty() {
        Existing::Replaceable(manifest)
    } else {
        Existing::Foreign { foreign, manifest }
    })
}

/// A report folder being written. Write into [`OutputDir::path`], then [`OutputDir::finish`];
/// dropped unfinished (an error, an interrupt), it removes what it wrote.
pub struct OutputDir {
    target: PathBuf,
    command: String,
    mode: Mode,
    /// Folders made to hold the target (e.g. `reports/`), innermost first: an unfinished report
    /// removes them again when they are still empty, so bad input leaves no trace.
    made_parents: Vec<PathBuf>,
    finished: bool,
}

enum Mode {
    /// A fresh sibling folder, swapped onto the target at the end.
    Staged { staging: PathBuf },
    /// Straight into the target (`--force` on a foreign folder, or the working directory).
    InPlace {
        /// Entries that were there before and are not the lab's: never deleted.
        kept: BTreeSet<OsString>,
        /// Every entry there before (the lab's earlier report included), with its inode: a file
        /// the run replaced (temp file + rename) has a new one.
        before: BTreeMap<OsString, u64>,
        previous: Option<Manifest>,
    },
}

/// Refuses `target` now, before long work, when [`OutputDir::create`] would refuse it later.
pub fn check_dir(target: &Path, force: bool) -> Result<(), OutputError> {
    match inspect(target)? {
        Existing::Foreign { foreign, .. } if !force => Err(OutputError::Foreign {
            path: target.to_owned(),
            foreign,
        }),
        _ => Ok(()),
    }
}

impl OutputDir {
    /// Starts writing the report folder `target` for `command` (its parent is created if
    /// missing). Refuses a folder holding anything the lab did not write, unless `force`.
    pub fn create(target: &Path, command: &str, force: bool) -> Result<Self, OutputError> {
        let existing = inspect(target)?;
        // Swapping would pull the folder from under the user's shell, or replace their
        // symbolic link with a folder: both are written in place instead.
        let in_place = holds_working_dir(target)
            || fs::symlink_metadata(target).is_ok_and(|m| m.file_type().is_symlink());
        let mut made_parents = Vec::new();
        let mode = match existing {
            Existing::Foreign { foreign, .. } if !force => {
                return Err(OutputError::Foreign {
                    path: target.to_owned(),
                    foreign,
                });
            }
            Existing::Foreign { foreign, manifest } => Mode::InPlace {
                kept: foreign.into_iter().map(OsString::from).collect(),
                before: identities(target)?,
                previous: manifest,
            },
            Existing::Replaceable(previous) if in_place => Mode::InPlace {
                kept: BTreeSet::new(),
                before: identities(target)?,
                previous,
            },
            Existing::Missing | Existing::Replaceable(_) => {
                let (parent, name) = parent_and_name(target)?;
                made_parents = parent
                    .ancestors()
                    .take_while(|folder| !folder.as_os_str().is_empty() && !folder.exists())
                    .map(Path::to_path_buf)
                    .collect();
                fs::create_dir_all(&parent).map_err(io_error("create the folder", &parent))?;
                sweep_dead_runs(&parent, &name, target);
                let staging = parent.join(format!(
                    ".{}.partial-{}",
                    name.to_string_lossy(),
                    std::process::id()
                ));
                if staging.exists() {
                    // Named with this process's id: a leftover of this very process.
                    fs::remove_dir_all(&staging)
                        .map_err(io_error("create the report folder", target))?;
                }
                fs::create_dir(&staging).map_err(io_error("create the report folder", target))?;
                Mode::Staged { staging }
            }
        };
        Ok(Self {
            target: target.to_owned(),
            command: command.to_owned(),
            mode,
            made_parents,
            finished: false,
        })
    }

    /// Where to write now (the staging folder until [`OutputDir::finish`]).
    #[must_use]
    pub fn path(&self) -> &Path {
        match &self.mode {
            Mode::Staged { staging } => staging,
            Mode::InPlace { .. } => &self.target,
        }
    }

    /// The folder the report ends up in.
    #[must_use]
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes one file of the report (through a temp file and a rename).
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> Result<(), OutputError> {
        let shown = self.target.join(name);
        replace_file(&self.path().join(name), contents.as_ref(), &shown)
    }

    /// Puts the report in place: the manifest is written last, then the staging folder replaces
    /// the target (an earlier report is removed only once the new one is there). Answers the
    /// report folder.
    pub fn finish(mut self) -> Result<PathBuf, OutputError> {
        match &self.mode {
            Mode::Staged { staging } => {
                let staging = staging.clone();
                let files = names(&entries(&staging)?);
                self.write_manifest(files)?;
                self.swap_in(&staging)?;
            }
            Mode::InPlace {
                kept,
                before,
                previous,
            } => {
                let now = identities(&self.target)?;
                let rewritten =
                    |name: &OsString| now.get(name).is_some_and(|id| before.get(name) != Some(id));
                // The lab's earlier files that this run did not write again are stale.
                for stale in previous.iter().flat_map(|m| &m.files) {
                    let name = OsString::from(stale);
                    if now.contains_key(&name) && !kept.contains(&name) && !rewritten(&name) {
                        remove_entry(&self.target.join(stale))?;
                    }
                }
                let files: BTreeSet<OsString> = now
                    .keys()
                    .filter(|name| !kept.contains(*name) || rewritten(name))
                    .filter(|name| self.target.join(name).exists())
                    .cloned()
                    .collect();
                self.write_manifest(names(&files))?;
            }
        }
        self.finished = true;
        Ok(self.target.clone())
    }

    fn write_manifest(&self, mut files: Vec<String>) -> Result<(), OutputError> {
        files.retain(|name| name != MANIFEST_FILE);
        files.sort();
        let manifest = Manifest {
            written_by: WRITTEN_BY.to_owned(),
            command: self.command.clone(),
            files,
        };
        let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|err| OutputError::Io {
            action: "encode the manifest of",
            path: self.target.clone(),
            source: io::Error::other(err),
        })?;
        bytes.push(b'\n');
        self.write(MANIFEST_FILE, bytes)
    }

    fn swap_in(&self, staging: &Path) -> Result<(), OutputError> {
        let target = &self.target;
        // Checked again: the folder may have changed while the report was being made.
        let previous = match inspect(target)? {
            Existing::Missing => None,
            Existing::Replaceable(_) => {
                let (parent, name) = parent_and_name(target)?;
                let aside = parent.join(format!(
                    ".{}.old-{}",
                    name.to_string_lossy(),
                    std::process::id()
                ));
                fs::rename(target, &aside)
                    .map_err(io_error("move the earlier report aside:", target))?;
                Some(aside)
            }
            Existing::Foreign { foreign, .. } => {
                return Err(OutputError::Foreign {
                    path: target.clone(),
                    foreign,
                });
            }
        };
        if let Err(err) = fs::rename(staging, target) {
            if let Some(aside) = &previous {
                // Put the earlier report back rather than leave nothing.
                let _ = fs::rename(aside, target);
            }
            return Err(io_error("create the report folder", target)(err));
        }
        if let Some(aside) = previous {
            fs::remove_dir_all(&aside).map_err(io_error(
                "remove the earlier report (moved aside as)",
                &aside,
            ))?;
        }
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        match &self.mode {
            Mode::Staged { staging } => {
                let _ = fs::remove_dir_all(staging);
                for folder in &self.made_parents {
                    // Fails, as it should, on a folder something else has written into since.
                    if fs::remove_dir(folder).is_err() {
                        break;
                    }
                }
            }
            Mode::InPlace { before, .. } => {
                // Only what this run added; what was there before stays.
                if let Ok(now) = entries(&self.target) {
                    for name in now.iter().filter(|name| !before.contains_key(*name)) {
                        let _ = remove_entry(&self.target.join(name));
                    }
                }
            }
        }
    }
}

/// Clears what a killed process (SIGKILL, a power cut) left beside `target`: its staging folder
/// `.NAME.partial-PID` is removed, and an earlier report it had moved aside (`.NAME.old-PID`)
/// is put back when nothing replaced it. Only folders of processes that no longer run, and only
/// where `/proc` can tell.
fn sweep_dead_runs(parent: &Path, name: &OsString, target: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let name = name.to_string_lossy();
    let Ok(siblings) = fs::read_dir(parent) else {
        return;
    };
    for sibling in siblings.flatten() {
        let file_name = sibling.file_name();
        let file_name = file_name.to_string_lossy();
        let Some(rest) = file_name.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let (kind, pid) = match rest.split_once('-') {
            Some((kind @ ("partial" | "old"), pid)) if pid.parse::<u32>().is_ok() => (kind, pid),
            _ => continue,
        };
        if pid == std::process::id().to_string() || Path::new("/proc").join(pid).exists() {
            continue;
        }
        let path = sibling.path();
        if kind == "old" && !target.exists() {
            let _ = fs::rename(&path, target);
        } else {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Every entry of `dir` with its inode.
fn identities(dir: &Path) -> Result<BTreeMap<OsString, u64>, OutputError> {
    use std::os::unix::fs::MetadataExt as _;
    let mut found = BTreeMap::new();
    for name in entries(dir)? {
        if let Ok(meta) = fs::symlink_metadata(dir.join(&name)) {
            found.insert(name, meta.ino());
        }
    }
    Ok(found)
}

fn names(set: &BTreeSet<OsString>) -> Vec<String> {
    set.iter()
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

fn remove_entry(path: &Path) -> Result<(), OutputError> {
    let result = if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    result.map_err(io_error("remove", path))
}

/// `path`'s folder (`.` for a bare name) and last component; `.` and `..` are resolved first so
/// `--out .` has a name.
fn parent_and_name(path: &Path) -> Result<(PathBuf, OsString), OutputError> {
    let resolved = if path.file_name().is_none() {
        fs::canonicalize(path).map_err(io_error("find the folder", path))?
    } else {
        path.to_owned()
    };
    let name = resolved
        .file_name()
        .ok_or_else(|| OutputError::NotAFolder {
            path: path.to_owned(),
        })?
        .to_owned();
    let parent = match resolved.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Whether `target` is the working directory or one of its ancestors.
fn holds_working_dir(target: &Path) -> bool {
    let (Ok(cwd), Ok(target)) = (std::env::current_dir(), fs::canonicalize(target)) else {
        return false;
    };
    let cwd = fs::canonicalize(&cwd).unwrap_or(cwd);
    cwd.starts_with(target)
}

/// Writes `path` through a temp file beside it and a rename; errors name `shown`.
fn replace_file(path: &Path, contents: &[u8], shown: &Path) -> Result<(), OutputError> {
    // Process id and a counter: threads of one process (a sweep's shards) write side by side.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let (parent, name) = parent_and_name(path)?;
    let temporary = parent.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    fs::write(&temporary, contents).map_err(|err| {
        let _ = fs::remove_file(&temporary);
        io_error("write", shown)(err)
    })?;
    fs::rename(&temporary, path).map_err(|err| {
        let _ = fs::remove_file(&temporary);
        io_error("write", shown)(err)
    })?;
    Ok(())
}

/// Names `path` (written by a later step of the command that made the report, e.g. a sweep's
/// shards and merge into the folder `sweep plan` wrote) in the manifest of the report folder
/// holding it, so the folder stays recognisably the lab's. Nothing happens outside a report.
pub fn record_in_report(path: &Path) -> Result<(), OutputError> {
    // The report is the nearest of the two folders above the file that has a manifest.
    for report in path.ancestors().skip(1).take(2) {
        let Some(mut manifest) = read_manifest(report) else {
            continue;
        };
        let Ok(inside) = path.strip_prefix(report) else {
            return Ok(());
        };
        let Some(entry) = inside.components().next() else {
            return Ok(());
        };
        let entry = entry.as_os_str().to_string_lossy().into_owned();
        if !manifest.files.contains(&entry) {
            manifest.files.push(entry);
            manifest.files.sort();
            let mut bytes =
                serde_json::to_vec_pretty(&manifest).map_err(|err| OutputError::Io {
                    action: "encode the manifest of",
                    path: report.to_owned(),
                    source: io::Error::other(err),
                })?;
            bytes.push(b'\n');
            let manifest_path = report.join(MANIFEST_FILE);
            replace_file(&manifest_path, &bytes, &manifest_path)?;
        }
        return Ok(());
    }
    Ok(())
}

/// Writes the single file `path` (a chart, a target file) whole or not at all. An existing file
/// is replaced only when its first line contains `mark` (the lab wrote it), or with `force`.
pub fn write_file(
    path: &Path,
    contents: &[u8],
    mark: &str,
    force: bool,
) -> Result<(), OutputError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(OutputError::NotAFile {
                path: path.to_owned(),
            });
        }
        Ok(_) if !force && !first_line_has(path, mark) => {
            return Err(OutputError::ForeignFile {
                path: path.to_owned(),
            });
        }
        _ => {}
    }
    let (parent, _) = parent_and_name(path)?;
    fs::create_dir_all(&parent).map_err(io_error("create the folder", &parent))?;
    replace_file(path, contents, path)
}

/// Whether the lab's `mark` heads the file: on its first line for text, or, for a PNG, in the
/// text chunk the lab writes right after the image header.
fn first_line_has(path: &Path, mark: &str) -> bool {
    use std::io::Read as _;
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let mut head = [0_u8; 512];
    let Ok(read) = fs::File::open(path).and_then(|mut file| file.read(&mut head)) else {
        return false;
    };
    let head = &head[..read];
    if head.starts_with(PNG_SIGNATURE) {
        return head.windows(mark.len()).any(|w| w == mark.as_bytes());
    }
    let head = String::from_utf8_lossy(head);
    head.lines().next().is_some_and(|line| line.contains(mark))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mitid-lab-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn manifest(dir: &Path) -> Manifest {
        read_manifest(dir).expect("a manifest")
    }

    #[test]
    fn a_new_report_is_marked_with_what_it_wrote() {
        let root = scratch("new");
        let target = root.join("report");
        let out = OutputDir::create(&target, "simulate", false).unwrap();
        out.write("a.txt", "a").unwrap();
        fs::create_dir(out.path().join("sub")).unwrap();
        out.finish().unwrap();
        let written = manifest(&target);
        assert_eq!(written.command, "simulate");
        assert_eq!(written.files, ["a.txt", "sub"]);
        assert_eq!(entries(&root).unwrap().len(), 1, "no staging folder left");
    }

    #[test]
    fn a_foreign_folder_is_refused_and_kept() {
        let root = scratch("foreign");
        fs::write(root.join("thesis.docx"), "mine").unwrap();
        let err = OutputDir::create(&root, "simulate", false)
            .err()
            .expect("refused");
        assert!(err.is_bad_input());
        assert!(err.to_string().contains("thesis.docx"), "{err}");
        assert_eq!(
            fs::read_to_string(root.join("thesis.docx")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn force_writes_in_place_and_keeps_foreign_files_across_rewrites() {
        let root = scratch("force");
        fs::write(root.join("notes.txt"), "mine").unwrap();
        let out = OutputDir::create(&root, "simulate", true).unwrap();
        out.write("old.txt", "1").unwrap();
        out.write("same.txt", "1").unwrap();
        out.finish().unwrap();
        assert_eq!(manifest(&root).files, ["old.txt", "same.txt"]);

        let out = OutputDir::create(&root, "simulate", true).unwrap();
        out.write("same.txt", "2").unwrap();
        out.finish().unwrap();
        assert_eq!(manifest(&root).files, ["same.txt"]);
        assert!(
            !root.join("old.txt").exists(),
            "the lab's stale file is removed"
        );
        assert_eq!(fs::read_to_string(root.join("notes.txt")).unwrap(), "mine");
        assert_eq!(fs::read_to_string(root.join("same.txt")).unwrap(), "2");
    }

    #[test]
    fn an_unfinished_report_leaves_the_earlier_one_whole() {
        let root = scratch("unfinished");
        let target = root.join("report");
        let out = OutputDir::create(&target, "simulate", false).unwrap();
        out.write("a.txt", "first").unwrap();
        out.finish().unwrap();

        let out = OutputDir::create(&target, "simulate", false).unwrap();
        out.write("a.txt", "second").unwrap();
        drop(out);
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "first");
        assert_eq!(entries(&root).unwrap().len(), 1, "staging removed");

        let out = OutputDir::create(&target, "simulate", false).unwrap();
        out.write("b.txt", "third").unwrap();
        out.finish().unwrap();
        assert!(!target.join("a.txt").exists());
        assert_eq!(manifest(&target).files, ["b.txt"]);
    }

    #[test]
    fn leftovers_of_a_killed_run_are_cleared_and_an_aside_report_restored() {
        let root = scratch("leftovers");
        let target = root.join("report");
        // No process has pid u32::MAX (Linux caps pids far lower).
        let dead = u32::MAX;
        fs::create_dir(root.join(format!(".report.partial-{dead}"))).unwrap();
        fs::create_dir(root.join(format!(".report.old-{dead}"))).unwrap();
        fs::write(root.join(format!(".report.old-{dead}/a.txt")), "earlier").unwrap();
        fs::create_dir(root.join(".report.partial-notapid")).unwrap();
        let out = OutputDir::create(&target, "simulate", false).unwrap();
        drop(out);
        assert_eq!(fs::read_to_string(target.join("a.txt")).unwrap(), "earlier");
        let left: Vec<String> = names(&entries(&root).unwrap());
        assert_eq!(left, [".report.partial-notapid", "report"]);
    }

    #[test]
    fn an_unfinished_report_removes_the_folders_it_made_for_it() {
        let root = scratch("parents");
        let out = OutputDir::create(&root.join("a/b/report"), "certify", false).unwrap();
        drop(out);
        assert!(entries(&root).unwrap().is_empty(), "{:?}", entries(&root));
    }

    #[test]
    fn later_steps_are_named_in_the_reports_manifest() {
        let root = scratch("record");
        let target = root.join("sweep");
        let out = OutputDir::create(&target, "sweep plan", false).unwrap();
        out.write("plan.json", "{}").unwrap();
        out.finish().unwrap();
        fs::create_dir(target.join("shards")).unwrap();
        fs::write(target.join("shards/shard-0.json"), "{}").unwrap();
        record_in_report(&target.join("shards/shard-0.json")).unwrap();
        fs::write(target.join("sweep.json"), "{}").unwrap();
        record_in_report(&target.join("sweep.json")).unwrap();
        assert_eq!(
            manifest(&target).files,
            ["plan.json", "shards", "sweep.json"]
        );
        // Still the lab's alone: a new plan may replace it.
        OutputDir::create(&target, "sweep plan", false).unwrap();
    }

    #[test]
    fn a_symbolic_link_to_a_folder_stays_a_link() {
        let root = scratch("symlink");
        let real = root.join("real");
        fs::create_dir(&real).unwrap();
        let link = root.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        for _ in 0..2 {
            let out = OutputDir::create(&link, "simulate", false).unwrap();
            out.write("a.txt", "a").unwrap();
            out.finish().unwrap();
            assert!(
                fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(fs::read_to_string(real.join("a.txt")).unwrap(), "a");
        }
    }

    #[test]
    fn a_single_file_replaces_only_its_own_kind() {
        let root = scratch("file");
        let path = root.join("chart.svg");
        fs::write(&path, "my drawing").unwrap();
        let err = write_file(&path, b"<!-- mitid-lab -->\n", "mitid-lab", false).unwrap_err();
        assert!(err.is_bad_input());
        assert_eq!(fs::read_to_string(&path).unwrap(), "my drawing");
        write_file(&path, b"<!-- mitid-lab -->\nnew", "mitid-lab", true).unwrap();
        write_file(&path, b"<!-- mitid-lab -->\nnewer", "mitid-lab", false).unwrap();
        assert!(fs::read_to_string(&path).unwrap().ends_with("newer"));
        assert_eq!(entries(&root).unwrap().len(), 1, "no temp file left");
    }
}
