//! `sweep submit --slurm`: a job array of shards and a merge job that waits for it.
//!
//! The scripts are written into the sweep folder (`slurm/`) before anything is submitted, so
//! they can be read, edited and submitted by hand on a cluster where this command cannot run.
//! Each array task finds its shard in `SLURM_ARRAY_TASK_ID`; the merge job runs only when every
//! task succeeded (`afterok`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use super::shard::write_atomically;

/// What to submit.
pub struct Submission<'a> {
    pub sweep_name: &'a str,
    /// The sweep folder, absolute (the jobs may start in another working directory).
    pub sweep_dir: &'a Path,
    /// The `mitid-lab` binary as the compute nodes see it.
    pub binary: &'a Path,
    pub shards: u32,
    pub partition: Option<&'a str>,
    /// At most this many array tasks at once (`%K`).
    pub max_parallel: Option<u32>,
}

/// The job ids Slurm gave the two jobs.
pub struct Submitted {
    pub shards_job: String,
    pub merge_job: String,
    pub scripts: [PathBuf; 2],
}

/// Writes `slurm/shards.sbatch` and `slurm/merge.sbatch` and submits both.
pub fn submit(submission: &Submission<'_>) -> Result<Submitted> {
    let (shards_script, merge_script) = write_scripts(submission)?;
    let shards_job = sbatch(&[], &shards_script)?;
    let dependency = format!("--dependency=afterok:{shards_job}");
    let merge_job = sbatch(&[dependency.as_str()], &merge_script)?;
    Ok(Submitted {
        shards_job,
        merge_job,
        scripts: [shards_script, merge_script],
    })
}

/// The two batch scripts, written into `slurm/` of the sweep folder.
pub fn write_scripts(submission: &Submission<'_>) -> Result<(PathBuf, PathBuf)> {
    let folder = submission.sweep_dir.join("slurm");
    let plan = submission.sweep_dir.join("plan.json");
    let name = job_name(submission.sweep_name);
    let partition = submission
        .partition
        .map(|partition| format!("#SBATCH --partition={partition}\n"))
        .unwrap_or_default();
    let limit = submission
        .max_parallel
        .map(|k| format!("%{k}"))
        .unwrap_or_default();
    let last = submission.shards.saturating_sub(1);
    let binary = shell_quote(&submission.binary.display().to_string());
    let plan_arg = shell_quote(&plan.display().to_string());
    let logs = folder.display().to_string();
    let shards = format!(
        "#!/bin/sh\n\
         #SBATCH --job-name={name}-shards\n\
         #SBATCH --array=0-{last}{limit}\n\
         #SBATCH --ntasks=1\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --output={logs}/shard-%a.log\n\
         {partition}\
         # One shard per array task; the shard index comes from SLURM_ARRAY_TASK_ID.\n\
         exec {binary} sweep shard {plan_arg}\n"
    );
    let merge = format!(
        "#!/bin/sh\n\
         #SBATCH --job-name={name}-merge\n\
         #SBATCH --ntasks=1\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --output={logs}/merge.log\n\
         {partition}\
         # Submitted with --dependency=afterok:<the shards job>: runs once every shard succeeded.\n\
         exec {binary} sweep merge {plan_arg}\n"
    );
    let shards_path = folder.join("shards.sbatch");
    let merge_path = folder.join("merge.sbatch");
    write_atomically(&shards_path, shards.as_bytes())?;
    write_atomically(&merge_path, merge.as_bytes())?;
    Ok((shards_path, merge_path))
}

/// `sbatch --parsable [extra] script`; returns the job id.
fn sbatch(extra: &[&str], script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .context("cannot run sbatch: is Slurm installed and on PATH?")?;
    if !output.status.success() {
        bail!(
            "sbatch {} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let text = String::from_utf8_lossy(&output.stdout);
    let id = text.trim().split(';').next().unwrap_or_default().to_owned();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch printed no job id: {text:?}");
    }
    Ok(id)
}

/// Slurm job names: letters, digits, `-` and `_`.
fn job_name(sweep: &str) -> String {
    let name: String = sweep
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("mitid-sweep-{name}")
}

/// Single quotes for `sh`, with embedded single quotes escaped.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_carry_the_array_the_limit_and_the_dependency_note() {
        let dir = std::env::temp_dir().join(format!("mitid-slurm-scripts-{}", std::process::id()));
        let submission = Submission {
            sweep_name: "shutdown dates",
            sweep_dir: &dir,
            binary: Path::new("/opt/mitid lab/mitid-lab"),
            shards: 12,
            partition: Some("short"),
            max_parallel: Some(4),
        };
        let (shards, merge) = write_scripts(&submission).unwrap();
        let shards = std::fs::read_to_string(shards).unwrap();
        let merge = std::fs::read_to_string(merge).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(shards.contains("#SBATCH --array=0-11%4\n"), "{shards}");
        assert!(shards.contains("#SBATCH --partition=short\n"), "{shards}");
        assert!(
            shards.contains("--job-name=mitid-sweep-shutdown-dates-shards"),
            "{shards}"
        );
        assert!(
            shards.contains("exec '/opt/mitid lab/mitid-lab' sweep shard '"),
            "{shards}"
        );
        assert!(merge.contains("sweep merge '"), "{merge}");
        assert!(!merge.contains("--array"), "{merge}");
    }
}
