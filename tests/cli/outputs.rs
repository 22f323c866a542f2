//! What the lab writes, driven as a user would: it never deletes what it did not write, it
//! replaces its own earlier reports whole, it says "could not write" once and with exit 3, and an
//! interrupt leaves nothing behind (exit 130).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{project_file, run, run_in, scratch_dir};

/// The fastest scenario the lab ships (an M/D/1 queue): a report in well under a second.
const QUICK: &str = "scenarios/queue-deterministic.yaml";
const MANIFEST: &str = ".mitid-lab-report.json";

fn simulate_into(dir: Option<&Path>, out: &str, extra: &[&str]) -> crate::harness::Run {
    let scenario = project_file(QUICK);
    let mut args = vec!["simulate", scenario.as_str(), "--out", out];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn manifest_files(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(MANIFEST))
        .unwrap_or_else(|err| panic!("{} has no manifest: {err}", dir.display()));
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_folder_with_a_users_file_is_refused_and_left_alone() {
    let dir = scratch_dir("outputs_foreign");
    let theirs = dir.join("thesis");
    std::fs::create_dir_all(theirs.join("chapters")).unwrap();
    std::fs::write(theirs.join("thesis.docx"), "four years of work").unwrap();
    let result = simulate_into(None, &theirs.display().to_string(), &[]);
    result
        .expect_code(2)
        .expect_stderr(&theirs.display().to_string())
        .expect_stderr("thesis.docx")
        .expect_stderr("--force");
    assert_eq!(
        std::fs::read_to_string(theirs.join("thesis.docx")).unwrap(),
        "four years of work"
    );
    assert_eq!(names(&theirs), ["chapters", "thesis.docx"]);
    assert_eq!(names(&dir), ["thesis"], "a staging folder was left behind");
}

#[test]
fn the_working_directory_is_never_wiped() {
    let dir = scratch_dir("outputs_cwd");
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    for out in [".".to_owned(), dir.display().to_string()] {
        let result = simulate_into(Some(&dir), &out, &[]);
        result.expect_code(2).expect_stderr("notes.txt");
        assert_eq!(names(&dir), ["notes.txt"], "--out {out}");
    }

    // An empty working directory is written in place: the user's shell keeps its folder.
    let empty = scratch_dir("outputs_cwd_empty");
    let before = inode(&empty);
    simulate_into(Some(&empty), ".", &[]).expect_code(0);
    assert_eq!(
        inode(&empty),
        before,
        "the working directory was swapped away"
    );
    assert!(empty.join("summary.json").is_file());
    assert!(manifest_files(&empty).contains(&"summary.json".to_owned()));
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn an_earlier_report_is_replaced_whole() {
    let dir = scratch_dir("outputs_replace");
    let out = dir.join("report");
    let out_arg = out.display().to_string();
    simulate_into(None, &out_arg, &[]).expect_code(0);
    let first = manifest_files(&out);
    assert!(first.contains(&"summary.json".to_owned()), "{first:?}");
    let first_summary = std::fs::read_to_string(out.join("summary.json")).unwrap();

    let result = simulate_into(None, &out_arg, &["--seed", "7"]);
    result.expect_code(0);
    let second_summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert_ne!(first_summary, second_summary, "the report was not replaced");
    assert!(second_summary.contains("\"seed\": 7"), "{second_summary}");
    assert_eq!(names(&dir), ["report"], "staging or aside folders left");
}

#[test]
fn a_failed_write_leaves_the_earlier_report_intact() {
    let dir = scratch_dir("outputs_failed_write");
    let parent = dir.join("reports");
    let out = parent.join("report");
    let out_arg = out.display().to_string();
    simulate_into(None, &out_arg, &[]).expect_code(0);
    let before = std::fs::read_to_string(out.join("summary.json")).unwrap();

    let result = {
        let _locked = ReadOnly::make(&parent);
        simulate_into(None, &out_arg, &["--seed", "7"])
    };
    result.expect_code(3);
    assert_eq!(
        std::fs::read_to_string(out.join("summary.json")).unwrap(),
        before,
        "the earlier report changed\n{}",
        result.describe()
    );
    assert_eq!(names(&parent), ["report"]);
}

#[test]
fn cannot_write_is_exit_3_naming_the_path_once() {
    let dir = scratch_dir("outputs_read_only");
    let out = dir.join("report");
    let out_arg = out.display().to_string();
    let result = {
        let _locked = ReadOnly::make(&dir);
        simulate_into(None, &out_arg, &[])
    };
    result.expect_code(3).expect_stderr("cannot create");
    assert_eq!(
        result.stderr.matches(&out_arg).count(),
        1,
        "the path is not named exactly once\n{}",
        result.describe()
    );
    assert_eq!(
        result.stderr.matches("os error").count(),
        1,
        "the cause is repeated\n{}",
        result.describe()
    );

    // `certify` finds out before it runs the suite.
    let reports = dir.join("certify-reports");
    std::fs::create_dir_all(&reports).unwrap();
    let result = {
        let _locked = ReadOnly::make(&reports);
        run(&[
            "certify",
            "--target",
            "reference",
            "--reports",
            &reports.display().to_string(),
        ])
    };
    result
        .expect_code(3)
        .expect_stderr("cannot create the report folder");
    assert_eq!(
        result.stderr.matches("os error").count(),
        1,
        "{}",
        result.describe()
    );
}

#[test]
fn force_writes_beside_the_users_files_and_keeps_them() {
    let dir = scratch_dir("outputs_force");
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let out_arg = dir.display().to_string();
    for _ in 0..2 {
        simulate_into(None, &out_arg, &["--force"]).expect_code(0);
        assert_eq!(
            std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
            "mine"
        );
        assert!(dir.join("summary.json").is_file());
        let files = manifest_files(&dir);
        assert!(!files.contains(&"notes.txt".to_owned()), "{files:?}");
    }
    // Still not the lab's alone: without --force it is refused.
    simulate_into(None, &out_arg, &[])
        .expect_code(2)
        .expect_stderr("notes.txt");
}

#[test]
fn certify_init_never_overwrites_a_file_it_did_not_write() {
    let dir = scratch_dir("outputs_init");
    let target = dir.join("target.yaml");
    let target_arg = target.display().to_string();
    std::fs::write(&target, "my own: configuration\n").unwrap();
    run(&[
        "certify",
        "init",
        "--no-logout",
        "--no-backchannel-logout",
        "--no-step-up",
        "--out",
        &target_arg,
    ])
    .expect_code(2)
    .expect_stderr(&target_arg);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "my own: configuration\n"
    );

    // A problem with what init would write names the flag, not a line of the user's file.
    let bad = run(&[
        "certify",
        "init",
        "--no-logout",
        "--no-backchannel-logout",
        "--no-step-up",
        "--out",
        &target_arg,
        "--base-url",
        "ftp://example",
    ]);
    bad.expect_code(2).expect_stderr("--base-url");
    assert!(
        !bad.stderr.contains("target.yaml:"),
        "init cited a line of a file it never wrote\n{}",
        bad.describe()
    );

    run(&[
        "certify",
        "init",
        "--no-logout",
        "--no-backchannel-logout",
        "--no-step-up",
        "--out",
        &target_arg,
        "--force",
    ])
    .expect_code(0);
    let written = std::fs::read_to_string(&target).unwrap();
    // Its own file it replaces without --force.
    run(&[
        "certify",
        "init",
        "--no-logout",
        "--no-backchannel-logout",
        "--no-step-up",
        "--out",
        &target_arg,
    ])
    .expect_code(0);
    assert_ne!(
        std::fs::read_to_string(&target).unwrap(),
        written,
        "a new secret was expected"
    );
    assert_eq!(names(&dir), ["target.yaml"], "temp files left");
}

#[test]
fn ctrl_c_during_certify_leaves_nothing_and_exits_130() {
    interrupt_certify("INT", "SIGINT");
}

#[test]
fn sigterm_during_certify_leaves_nothing_and_exits_130() {
    interrupt_certify("TERM", "SIGTERM");
}

/// Sends `kill -SIGNAL` to `certify` while its suite runs; `name` is how the lab names it.
fn interrupt_certify(signal: &str, name: &str) {
    let dir = scratch_dir(&format!("outputs_interrupt_{signal}"));
    let reports = dir.join("reports");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args(["certify", "--target", "reference", "--reports"])
        .arg(&reports)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning mitid-lab certify");

    // The suite is running once cucumber's own files exist in the report being written.
    let deadline = Instant::now() + Duration::from_secs(120);
    let running = loop {
        if let Some(tmp) = cucumber_temp_file(&reports) {
            break tmp;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("certify ended ({status}) before the test could interrupt it");
        }
        assert!(
            Instant::now() < deadline,
            "the suite did not start within 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(kill.success());
    let output = child.wait_with_output().expect("waiting for certify");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(130),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        !running.exists(),
        "{} survived the interrupt",
        running.display()
    );
    // The folder made for the reports goes too, being empty.
    assert!(
        !reports.exists(),
        "an interrupted run left {:?}",
        names(&reports)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].contains("interrupted") && lines[0].contains(name),
        "expected one line saying it was interrupted, got:\n{stderr}"
    );
    assert!(
        !stdout.contains("CERTIFIED"),
        "an interrupted run gave a verdict:\n{stdout}"
    );
}

fn cucumber_temp_file(reports: &Path) -> Option<PathBuf> {
    for run in std::fs::read_dir(reports).ok()?.flatten() {
        for file in std::fs::read_dir(run.path()).ok()?.flatten() {
            if file.file_name().to_string_lossy().starts_with(".cucumber") {
                return Some(file.path());
            }
        }
    }
    None
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // The reader is gone before the lab prints its first line (`| head -0`): the pipe's read end
    // is closed before the process starts, so the first line already meets a closed pipe.
    let (reader, writer) = std::io::pipe().expect("making a pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args(["components", "flaws"])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("running mitid-lab components flaws");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(141), "{stderr}");
}

/// A folder nothing may be created in, for the test's duration: permissions where they bind,
/// the immutable attribute (`chattr +i`) for root, whom permissions do not stop.
struct ReadOnly {
    dir: PathBuf,
    immutable: bool,
}

impl ReadOnly {
    fn make(dir: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let mut guard = Self {
            dir: dir.to_owned(),
            immutable: false,
        };
        if guard.refuses_writes() {
            return guard;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let chattr = Command::new("chattr").arg("+i").arg(dir).status();
        guard.immutable = chattr.is_ok_and(|status| status.success());
        assert!(
            guard.immutable && guard.refuses_writes(),
            "cannot make {} read-only here (neither permissions nor chattr +i bind)",
            dir.display()
        );
        guard
    }

    fn refuses_writes(&self) -> bool {
        let probe = self.dir.join(".probe");
        let created = std::fs::write(&probe, "x").is_ok();
        let _ = std::fs::remove_file(&probe);
        !created
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.dir).status();
        }
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
    }
}
