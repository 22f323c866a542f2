//! What the dashboard writes: the screen as text (`x`, `:export`) and the session so far as a
//! demo script (`:save FILE`). In presenter mode everything written passes through
//! [`flows::redact`] first, as the screen does, so an export holds no CPR number, code or token
//! that the audience was not shown. A file is only ever created, never overwritten.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::flows;

/// Where screen exports go, relative to the working directory (beside the other reports).
pub const EXPORT_DIR: &str = "reports/tui";

/// Writes `screen` (one line per row) to a new `screen-N.txt` in `dir`, redacted when
/// `presenter`; answers the file written.
pub fn write_screen(dir: &Path, screen: &str, presenter: bool) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir)
        .map_err(|err| format!("{}: cannot create: {err}", dir.display()))?;
    // The first free number: earlier exports are the user's and stay as they are.
    let path = (1..=u32::MAX)
        .map(|n| dir.join(format!("screen-{n}.txt")))
        .find(|path| !path.exists())
        .ok_or_else(|| format!("{}: no free screen-N.txt name", dir.display()))?;
    write_new(&path, screen, presenter)?;
    Ok(path)
}

/// Writes `text` to `path`, which must not exist yet, redacted when `presenter`. A write that
/// fails half-way removes the file it created, so nothing half-written is left.
pub fn write_new(path: &Path, text: &str, presenter: bool) -> Result<(), String> {
    let text = if presenter {
        flows::redact(text)
    } else {
        text.to_owned()
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|err| format!("{}: cannot create: {err}", path.display()))?;
    if let Err(err) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(format!("{}: cannot write: {err}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mitid-tui-export-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn presenter_exports_are_redacted_and_nothing_is_overwritten() {
        let dir = scratch("screen");
        let screen =
            "cpr 010190-1234 code=4821 token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let first = write_screen(&dir, screen, true).expect("written");
        let written = std::fs::read_to_string(&first).expect("readable");
        assert!(!written.contains("010190-1234"), "{written}");
        assert!(!written.contains("4821"), "{written}");
        assert!(!written.contains("eyJzdWIiOiIxIn0"), "{written}");
        assert!(written.contains("[CPR]"), "{written}");
        // Outside presenter mode the screen is written as it is, to a new file.
        let second = write_screen(&dir, screen, false).expect("written");
        assert_ne!(first, second);
        assert_eq!(std::fs::read_to_string(&second).expect("readable"), screen);
        assert_eq!(
            std::fs::read_to_string(&first).expect("still there"),
            written
        );
        let err = write_new(&first, "again", false).expect_err("exists");
        assert!(err.contains("cannot create"), "{err}");
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
