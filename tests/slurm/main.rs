//! Sweeps on a real Slurm cluster: Debian's `slurm-wlm` and `munge`, started by this test as a
//! one-node cluster with its own configuration, key, ports and state folders (no systemd, no
//! system-wide files touched), and stopped by PID when the test ends, passes or panics.
//!
//! `sweep submit --slurm` submits the shards as a job array and the merge as a job that
//! depends on it; the merged files must equal `sweep run`'s byte for byte.
//!
//! Skips (with a message) where Slurm is not installed or the test is not root, unless
//! `MITID_LAB_REQUIRE_SLURM=1` (CI), where that is a failure.

use std::fmt::Write as _;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A one-node Slurm cluster of this test's own.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    /// munged, slurmctld, slurmd: killed in reverse order on drop.
    daemons: Vec<(&'static str, Child)>,
}

impl Cluster {
    /// Starts munged, slurmctld and slurmd, and waits until the node is idle.
    fn start(dir: &Path) -> Result<Self, String> {
        let _ = fs::remove_dir_all(dir);
        for sub in ["state", "spool", "log"] {
            fs::create_dir_all(dir.join(sub)).map_err(|err| err.to_string())?;
        }
        let key = dir.join("munge.key");
        run_ok(
            Command::new("mungekey")
                .arg("--create")
                .arg(format!("--keyfile={}", key.display())),
        )?;
        let socket = dir.join("munge.sock");
        let mut cluster = Self {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
            daemons: Vec::new(),
        };
        cluster.spawn(
            "munged",
            Command::new("munged")
                .arg("--foreground")
                .arg("--force")
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--pid-file={}", dir.join("munged.pid").display()))
                .arg(format!(
                    "--log-file={}",
                    dir.join("log/munged.log").display()
                ))
                .arg(format!("--seed-file={}", dir.join("munged.seed").display())),
        )?;
        wait_for("the munge socket", Duration::from_secs(10), || {
            socket.exists()
        })?;

        let hostname = String::from_utf8_lossy(
            &Command::new("hostname")
                .output()
                .map_err(|err| err.to_string())?
                .stdout,
        )
        .trim()
        .to_owned();
        let conf = format!(
            "ClusterName=mitidlabtest\n\
             SlurmctldHost=localhost\n\
             SlurmUser=root\n\
             SlurmctldPort={ctld_port}\n\
             SlurmdPort={d_port}\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={socket}\n\
             StateSaveLocation={dir}/state\n\
             SlurmdSpoolDir={dir}/spool\n\
             SlurmctldPidFile={dir}/slurmctld.pid\n\
             SlurmdPidFile={dir}/slurmd.pid\n\
             SlurmctldLogFile={dir}/log/slurmctld.log\n\
             SlurmdLogFile={dir}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\n\
             SchedulerType=sched/backfill\n\
             MpiDefault=none\n\
             ReturnToService=2\n\
             JobCompType=jobcomp/none\n\
             AccountingStorageType=accounting_storage/none\n\
             NodeName=localhost NodeHostname={hostname} CPUs=2 State=UNKNOWN\n\
             PartitionName=lab Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n",
            ctld_port = free_port()?,
            d_port = free_port()?,
            socket = socket.display(),
            dir = dir.display(),
        );
        fs::write(&cluster.conf, conf).map_err(|err| err.to_string())?;
        let conf = cluster.conf.clone();
        cluster.spawn(
            "slurmctld",
            Command::new("slurmctld").arg("-D").arg("-f").arg(&conf),
        )?;
        cluster.spawn(
            "slurmd",
            Command::new("slurmd").arg("-D").arg("-f").arg(&conf),
        )?;
        let sinfo_conf = conf.clone();
        wait_for("the node to be idle", Duration::from_secs(60), move || {
            Command::new("sinfo")
                .args(["-h", "-o", "%t"])
                .env("SLURM_CONF", &sinfo_conf)
                .output()
                .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "idle")
        })
        .map_err(|err| format!("{err}\n{}", cluster.logs()))?;
        Ok(cluster)
    }

    fn spawn(&mut self, name: &'static str, command: &mut Command) -> Result<(), String> {
        let log = fs::File::create(self.dir.join(format!("log/{name}.out")))
            .map_err(|err| err.to_string())?;
        let child = command
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|err| err.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|err| format!("cannot start {name}: {err}"))?;
        self.daemons.push((name, child));
        Ok(())
    }

    /// Every daemon log and job output, for a failure message.
    fn logs(&self) -> String {
        let mut text = String::new();
        for folder in [self.dir.join("log"), self.dir.join("sweep/slurm")] {
            let Ok(entries) = fs::read_dir(&folder) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
            paths.sort();
            for path in paths {
                let body = fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = body.lines().rev().take(25).collect();
                let _ = writeln!(text, "--- {} ---", path.display());
                for line in tail.into_iter().rev() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        while let Some((_, mut child)) = self.daemons.pop() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn run_ok(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|err| format!("{command:?}: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|err| err.to_string())
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("timed out after {limit:?} waiting for {what}"))
}

/// Why this machine cannot run the test, if it cannot.
fn missing_prerequisite() -> Option<String> {
    for tool in [
        "munged",
        "mungekey",
        "slurmctld",
        "slurmd",
        "sbatch",
        "sinfo",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|out| out.status.success());
        if !found {
            return Some(format!(
                "`{tool}` is not installed (apt-get install slurm-wlm munge)"
            ));
        }
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("slurmd must run as root".to_owned());
    }
    None
}

fn mitid_lab(args: &[&str], conf: Option<&Path>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mitid-lab"));
    command.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(conf) = conf {
        command.env("SLURM_CONF", conf);
    }
    let output = command.output().expect("cannot start mitid-lab");
    assert!(
        output.status.success(),
        "mitid-lab {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn a_sweep_submitted_to_slurm_merges_to_the_bytes_of_sweep_run() {
    if let Some(why) = missing_prerequisite() {
        assert!(
            std::env::var_os("MITID_LAB_REQUIRE_SLURM").is_none(),
            "MITID_LAB_REQUIRE_SLURM is set but {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slurm-cluster");
    let cluster = Cluster::start(&dir).unwrap_or_else(|err| panic!("cannot start Slurm: {err}"));

    let sweep = dir.join("sweep.yaml");
    fs::write(
        &sweep,
        format!(
            "name: slurm-test\nscenario: {}/scenarios/demo-100k.yaml\nseed: 5\nreplications: 3\n\
             set:\n  population.size: 3000\n\
             grid:\n  calendar.nemid_shutdown: [2023-08-31, 2023-10-31]\n\
             collect:\n  figures: [milestones.nemid_shutdown.figures.without_eid]\n  series: [without_eid]\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let sweep_arg = sweep.display().to_string();
    let on_slurm = dir.join("sweep");
    let on_slurm_arg = on_slurm.display().to_string();
    mitid_lab(&["sweep", "plan", &sweep_arg, "--out", &on_slurm_arg], None);
    let submitted = mitid_lab(
        &[
            "sweep",
            "submit",
            &on_slurm_arg,
            "--slurm",
            "--max-parallel",
            "2",
        ],
        Some(&cluster.conf),
    );
    let stdout = String::from_utf8_lossy(&submitted.stdout);
    assert!(
        stdout.contains("as job ") && stdout.contains("(afterok)"),
        "{stdout}"
    );

    let merged = on_slurm.join("sweep.json");
    if let Err(err) = wait_for(
        "the merge job's sweep.json",
        Duration::from_secs(240),
        || merged.exists(),
    ) {
        panic!("{err}\n{stdout}\n{}", cluster.logs());
    }
    let status = mitid_lab(&["sweep", "status", &on_slurm_arg], None);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("6 of 6 shards done; merged"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );

    let here = dir.join("here").display().to_string();
    mitid_lab(&["sweep", "run", &sweep_arg, "--out", &here], None);
    for file in ["sweep.json", "bands.csv", "report.md", "report.html"] {
        let a = fs::read(on_slurm.join(file)).unwrap();
        let b = fs::read(Path::new(&here).join(file)).unwrap();
        assert!(a == b, "{file} from Slurm differs from `sweep run`'s");
    }
    drop(cluster);
    let _ = fs::remove_dir_all(&dir);
}
