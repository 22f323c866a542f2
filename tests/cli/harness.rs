//! Runs the built `mitid-lab` binary and makes every failure self-explaining.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What one run of the binary did.
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything about the run, for assertion messages.
    pub fn describe(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "mitid-lab {}", self.args.join(" "));
        let _ = writeln!(text, "exit code: {:?}", self.code);
        let _ = writeln!(text, "--- stdout ---\n{}", self.stdout);
        let _ = writeln!(text, "--- stderr ---\n{}", self.stderr);
        text
    }

    /// Asserts the exit code, printing the whole run when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n{}",
            self.describe()
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn expect_stderr(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }
}

/// Runs `mitid-lab ARGS` in `dir` (the project root when `None`), without a terminal.
pub fn run_in(dir: Option<&Path>, args: &[&str]) -> Run {
    run_with_env(dir, args, &[])
}

/// Runs `mitid-lab ARGS` in `dir` with extra environment variables (a scheduler's index, a
/// store's credentials).
pub fn run_with_env(dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mitid-lab"));
    command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR"))));
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .output()
        .unwrap_or_else(|err| panic!("cannot start mitid-lab {}: {err}", args.join(" ")));
    Run {
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs `mitid-lab ARGS` from the project root.
pub fn run(args: &[&str]) -> Run {
    run_in(None, args)
}

/// A fresh empty directory under the target dir for one test, removed first if left over.
pub fn scratch_dir(test_name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(test_name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .unwrap_or_else(|err| panic!("cannot clear {}: {err}", dir.display()));
    }
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|err| panic!("cannot create {}: {err}", dir.display()));
    dir
}

/// The path of a file in the project (e.g. `scenarios/demo-100k.yaml`).
pub fn project_file(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .display()
        .to_string()
}

/// Where a test's service provider will listen and the target file `certify init` wrote for it.
pub struct InitTarget {
    pub service: std::net::SocketAddr,
    pub base_url: String,
}

/// Picks free ports for the lab's broker and the service, and runs `certify init` in `dir` with
/// every optional part declared (the README's first step for a full integration).
pub fn init_full_target(dir: &Path) -> InitTarget {
    let port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_or_else(
                |err| panic!("no free port on 127.0.0.1: {err}"),
                |addr| addr.port(),
            )
    };
    let broker = format!("127.0.0.1:{}", port());
    let service: std::net::SocketAddr = ([127, 0, 0, 1], port()).into();
    let base_url = format!("http://{service}");
    run_in(
        Some(dir),
        &[
            "certify",
            "init",
            "--base-url",
            &base_url,
            "--broker-listen",
            &broker,
            "--logout",
            "--backchannel-logout",
            "--step-up",
        ],
    )
    .expect_code(0);
    InitTarget { service, base_url }
}
