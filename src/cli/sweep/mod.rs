//! `mitid-lab sweep`: a base scenario × a grid of overrides × replications, run as shards on
//! this machine or on a Slurm cluster, merged into intervals.
//!
//! The pipeline is plan → shards → merge:
//! * `sweep plan SWEEP --out DIR` expands the grid into points and runs (each with a seed
//!   derived from the sweep's seed, the point and the replication), packs the runs into shards
//!   and writes `DIR/plan.json` with its hash. Every point's scenario is loaded and a small
//!   trial run checks the collected figures exist before anything is written.
//! * `sweep shard PLAN --index N` runs one shard and writes `DIR/shards/shard-N.json`
//!   atomically; the same shard twice writes the same bytes. Without `--index` the index comes
//!   from `MITID_SHARD_INDEX`, `SLURM_ARRAY_TASK_ID` or `JOB_COMPLETION_INDEX` (Kubernetes
//!   Indexed Jobs), in that order.
//! * `sweep merge PLAN` checks every shard is there and is this plan's, and writes
//!   `sweep.json`, `bands.csv`, `report.md` and `report.html`.
//! * `sweep run SWEEP` does all three here, a shard per core at a time.
//! * `sweep emit PLAN --kubernetes --image IMAGE` writes the shards as an Indexed Job and the
//!   merge as a second Job; `--store s3://...` at `sweep plan` puts shard outputs in object
//!   storage for clusters whose nodes share no disk.
//! * `sweep submit PLAN --slurm` submits the shards as a job array and the merge as a job
//!   that depends on it; `sweep status PLAN` reads progress from the shard outputs.

mod charts;
pub mod file;
mod kubernetes;
pub mod merge;
pub mod plan;
pub mod shard;
mod slurm;
pub mod stats;
pub mod store;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::BadInput;
use super::output::OutputDir;
use plan::{PlanFile, PlanInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Expand a sweep file into runs packed into shards; writes DIR/plan.json.
    Plan(PlanArgs),
    /// Run one shard of a plan (index from --index, `MITID_SHARD_INDEX`, `SLURM_ARRAY_TASK_ID`
    /// or `JOB_COMPLETION_INDEX`).
    Shard(ShardArgs),
    /// Check every shard is done and merge them into sweep.json, bands.csv and reports.
    Merge(PlanPath),
    /// Plan, run every shard on this machine (one per core at a time) and merge.
    Run(RunArgs),
    /// Submit the shards as a Slurm job array and the merge as a job depending on it.
    Submit(SubmitArgs),
    /// How many shards of a plan are done, which are missing, whether it is merged.
    Status(PlanPath),
    /// Write the plan's shards as a Kubernetes Indexed Job and its merge as a second Job.
    Emit(EmitArgs),
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    /// The sweep file (YAML).
    sweep: PathBuf,
    /// The sweep's folder [default: reports/sweep-<name>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Runs per shard (one shard is one scheduler task).
    #[arg(long, value_name = "N", default_value_t = 1)]
    runs_per_shard: u32,
    /// Write into a folder that holds files the lab did not write (nothing in it is deleted).
    #[arg(long)]
    force: bool,
    /// Where shards write their outputs: `s3://BUCKET/PREFIX` (credentials, region and
    /// endpoint from the `AWS_*` environment variables) or `file:///SHARED/PATH`
    /// [default: DIR/shards].
    #[arg(long, value_name = "URL")]
    store: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ShardArgs {
    /// The plan: DIR/plan.json or the sweep folder DIR.
    plan: PathBuf,
    /// Which shard (0-based).
    #[arg(long, value_name = "N")]
    index: Option<u32>,
}

#[derive(Debug, clap::Args)]
struct PlanPath {
    /// The plan: DIR/plan.json or the sweep folder DIR.
    plan: PathBuf,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Shards run at once [default: the number of cores].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
}

#[derive(Debug, clap::Args)]
struct SubmitArgs {
    /// The plan: DIR/plan.json or the sweep folder DIR.
    plan: PathBuf,
    /// Submit to Slurm (sbatch must be on PATH).
    #[arg(long, required = true)]
    slurm: bool,
    /// The Slurm partition.
    #[arg(long, value_name = "P")]
    partition: Option<String>,
    /// At most K array tasks at once.
    #[arg(long, value_name = "K")]
    max_parallel: Option<u32>,
    /// The mitid-lab binary as the compute nodes see it [default: this binary].
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct EmitArgs {
    /// The plan: DIR/plan.json or the sweep folder DIR.
    plan: PathBuf,
    /// Write Kubernetes Jobs (the only kind of manifest emitted today).
    #[arg(long, required = true)]
    kubernetes: bool,
    /// The image with the `mitid-lab` binary as its entrypoint, as the cluster pulls it.
    #[arg(long, value_name = "IMAGE")]
    image: String,
    /// The namespace of both Jobs [default: kubectl's current one].
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// At most K pods at once [default: every shard].
    #[arg(long, value_name = "K")]
    max_parallel: Option<u32>,
    /// Retries of one shard before its index counts as failed.
    #[arg(long, value_name = "N", default_value_t = 2)]
    backoff_limit_per_index: u32,
    /// A read-write-many volume claim holding the sweep folder, mounted at /sweep.
    #[arg(long, value_name = "NAME", default_value = "mitid-sweep")]
    volume_claim: String,
    /// A Secret whose keys become the pods' environment (AWS_* for an s3:// --store).
    #[arg(long, value_name = "NAME")]
    env_secret: Option<String>,
    /// Memory per pod, request and limit (a full-country run peaks near 300 MiB).
    #[arg(long, value_name = "QUANTITY", default_value = "1Gi")]
    memory: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Plan(args) => {
            let (dir, plan_file) = make_plan(&args)?;
            println!(
                "planned {} runs ({} points × {} replications) in {} shards: {}",
                plan_file.plan.runs.len(),
                plan_file.plan.points.len(),
                plan_file.plan.replications,
                plan_file.plan.shards,
                dir.join("plan.json").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Shard(args) => {
            let (dir, plan_file) = read_plan(&args.plan)?;
            let index = shard_index(args.index, |name| std::env::var(name).ok())?;
            let store = open_store(&dir, &plan_file)?;
            let place = shard::run_shard(&plan_file, &store, index, &|| {})?;
            println!("shard {index}: {place}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge(args) => {
            let (dir, plan_file) = read_plan(&args.plan)?;
            merge::merge(&plan_file, &dir, &open_store(&dir, &plan_file)?)?;
            println!(
                "merged {} shards: {}",
                plan_file.plan.shards,
                dir.join("report.html").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run_here(&args),
        Command::Emit(args) => emit(&args),
        Command::Submit(args) => submit(&args),
        Command::Status(args) => {
            let (dir, plan_file) = read_plan(&args.plan)?;
            let (census, _) = merge::census(&plan_file, &open_store(&dir, &plan_file)?)?;
            println!(
                "{} of {} shards done{}{}; {}",
                census.done.len(),
                plan_file.plan.shards,
                if census.missing.is_empty() {
                    String::new()
                } else {
                    format!("; missing: {}", merge::index_ranges(&census.missing))
                },
                if census.foreign.is_empty() {
                    String::new()
                } else {
                    let foreign: Vec<u32> =
                        census.foreign.iter().map(|(index, _)| *index).collect();
                    format!("; not this plan's: {}", merge::index_ranges(&foreign))
                },
                if dir.join("sweep.json").is_file() {
                    "merged"
                } else {
                    "not merged"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads and checks the sweep file and writes the plan folder.
fn make_plan(args: &PlanArgs) -> Result<(PathBuf, PlanFile)> {
    let file = args.sweep.display().to_string();
    let text = std::fs::read_to_string(&args.sweep)
        .map_err(|err| BadInput(format!("{file}: cannot read the sweep file: {err}")))?;
    let base = args.sweep.parent().unwrap_or(Path::new(""));
    plan_from_text(
        &file,
        &text,
        base,
        args.out.as_deref(),
        args.runs_per_shard,
        args.store.as_deref(),
        args.force,
    )
}

/// Plans a sweep given as text; `base` is the folder its `scenario` path is relative to.
fn plan_from_text(
    file: &str,
    text: &str,
    base: &Path,
    out: Option<&Path>,
    runs_per_shard: u32,
    store: Option<&str>,
    force: bool,
) -> Result<(PathBuf, PlanFile)> {
    if runs_per_shard == 0 {
        return Err(BadInput("--runs-per-shard must be at least 1".to_owned()).into());
    }
    if let Some(url) = store {
        store::parse_store_url(url)?;
    }
    let (sweep, axes) = file::parse(file, text).map_err(|err| BadInput(err.to_string()))?;
    let scenario_path = base.join(&sweep.scenario);
    let scenario_text = std::fs::read_to_string(&scenario_path).map_err(|err| {
        BadInput(format!(
            "{file}: scenario: cannot read {}: {err}",
            scenario_path.display()
        ))
    })?;
    let mut built = plan::build(&PlanInput {
        sweep: &sweep,
        axes: &axes,
        sweep_file: file,
        scenario_text: &scenario_text,
        runs_per_shard,
    });
    // Messages name the scenario by its path from here; shards read its text from the plan.
    built.scenario_file = scenario_path.display().to_string();
    built.shard_store = store.map(str::to_owned);
    check_points(&built, file)?;
    let plan_file = built.into_file().context("cannot encode the plan")?;
    let dir = out.map_or_else(
        || Path::new("reports").join(format!("sweep-{}", safe_name(&sweep.name))),
        Path::to_path_buf,
    );
    let staged = OutputDir::create(&dir, "sweep plan", force)?;
    staged.write("plan.json", plan_json(&plan_file)?)?;
    staged.write("sweep.yaml", text)?;
    let dir = staged.finish()?;
    Ok((dir, plan_file))
}

/// Every point's scenario must load; one small run checks that the collected figures exist.
fn check_points(plan: &plan::Plan, sweep_file: &str) -> Result<()> {
    for point in &plan.points {
        let Some(run) = plan.runs.iter().find(|run| run.point == point.index) else {
            continue;
        };
        shard::run_scenario(plan, run).map_err(|err| {
            BadInput(format!(
                "{sweep_file}: grid point {} ({}): {err:#}",
                point.index,
                point.set.join(", ")
            ))
        })?;
    }
    // A trial of the first run on a small population: a misspelt figure fails here, not on the
    // cluster after an hour.
    let mut trial = plan.clone();
    trial.set.push("population.size=2000".to_owned());
    shard::run_one(&trial, &trial.runs[0]).map_err(|err| {
        if err.chain().any(<dyn std::error::Error>::is::<BadInput>) {
            anyhow::Error::new(BadInput(format!("{sweep_file}: {err:#}")))
        } else {
            err.context("the trial run of the first point failed")
        }
    })?;
    Ok(())
}

fn plan_json(plan_file: &PlanFile) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(plan_file).context("cannot encode the plan")?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads `plan.json` (given as the file or its folder); returns the sweep folder and the plan.
fn read_plan(path: &Path) -> Result<(PathBuf, PlanFile)> {
    let (dir, file) = if path.is_dir() {
        (path.to_path_buf(), path.join("plan.json"))
    } else {
        (
            path.parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            path.to_path_buf(),
        )
    };
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let bytes = std::fs::read(&file)
        .map_err(|err| BadInput(format!("{}: cannot read the plan: {err}", file.display())))?;
    let plan_file: PlanFile = serde_json::from_slice(&bytes).map_err(|err| {
        BadInput(format!(
            "{}:{}: not a sweep plan: {err}",
            file.display(),
            err.line()
        ))
    })?;
    if plan_file.plan.format != plan::FORMAT {
        return Err(BadInput(format!(
            "{}: plan format {} is not the format this lab reads ({})",
            file.display(),
            plan_file.plan.format,
            plan::FORMAT
        ))
        .into());
    }
    if !plan_file.hash_matches() {
        return Err(BadInput(format!(
            "{}: the plan does not match its plan_sha256: it was edited after `sweep plan`; \
             plan again instead",
            file.display()
        ))
        .into());
    }
    Ok((dir, plan_file))
}

/// The plan's shard store: its `--store` URL, else the sweep folder's `shards/`.
fn open_store(dir: &Path, plan_file: &PlanFile) -> Result<store::ShardStore> {
    store::ShardStore::open(dir, plan_file.plan.shard_store.as_deref())
}

/// The environment variables a scheduler puts a task's index in, in the order they are read.
pub const INDEX_VARIABLES: [&str; 3] = [
    "MITID_SHARD_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
];

/// `--index`, else the first scheduler variable that is set.
fn shard_index(flag: Option<u32>, env: impl Fn(&str) -> Option<String>) -> Result<u32> {
    if let Some(index) = flag {
        return Ok(index);
    }
    for name in INDEX_VARIABLES {
        if let Some(value) = env(name) {
            return value.trim().parse().map_err(|_| {
                BadInput(format!(
                    "{name}={value:?} is not a shard index (a whole number from 0)"
                ))
                .into()
            });
        }
    }
    Err(BadInput(format!(
        "no shard index: give --index N or set one of {}",
        INDEX_VARIABLES.join(", ")
    ))
    .into())
}

/// `sweep run`: plan, every shard on this machine, merge.
fn run_here(args: &RunArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let (dir, plan_file) = make_plan(&args.plan)?;
    let jobs = run_all_shards(&dir, &plan_file, args.jobs)?;
    let plan = &plan_file.plan;
    println!(
        "{}: {} runs ({} points × {} replications) on {jobs} cores in {:.1} s: {}",
        plan.sweep,
        plan.runs.len(),
        plan.points.len(),
        plan.replications,
        started.elapsed().as_secs_f64(),
        dir.join("report.html").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Plans the sweep text given (see [`plan_from_text`]), runs every shard here and merges:
/// `bench sweep` measures this. Returns the sweep folder, the plan and the cores used.
pub fn plan_and_run(
    file: &str,
    text: &str,
    base: &Path,
    out: &Path,
    jobs: Option<usize>,
) -> Result<(PathBuf, PlanFile, usize)> {
    let (dir, plan_file) = plan_from_text(file, text, base, Some(out), 1, None, false)?;
    let jobs = run_all_shards(&dir, &plan_file, jobs)?;
    Ok((dir, plan_file, jobs))
}

/// Runs every shard of the plan, `jobs` at a time (default: one per core), then merges.
/// Memory is bounded by the shards in flight: a shard's figures go to its file, not to memory.
fn run_all_shards(dir: &Path, plan_file: &PlanFile, jobs: Option<usize>) -> Result<usize> {
    let plan = &plan_file.plan;
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, plan.shards.max(1) as usize);
    let store = open_store(dir, plan_file)?;
    let progress = progress_bar(plan.runs.len() as u64, &plan.sweep);
    let next = AtomicU32::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= plan.shards {
                        break;
                    }
                    if let Err(err) =
                        shard::run_shard(plan_file, &store, index, &|| progress.inc(1))
                    {
                        failed.store(true, Ordering::Relaxed);
                        let mut slot = first_error
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        slot.get_or_insert(err.context(format!("shard {index}")));
                    }
                }
            });
        }
    });
    progress.finish_and_clear();
    if let Some(err) = first_error
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(err);
    }
    merge::merge(plan_file, dir, &store)?;
    Ok(jobs)
}

fn submit(args: &SubmitArgs) -> Result<ExitCode> {
    let (dir, plan_file) = read_plan(&args.plan)?;
    if args.max_parallel == Some(0) {
        return Err(BadInput("--max-parallel must be at least 1".to_owned()).into());
    }
    let dir =
        std::path::absolute(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let binary = match &args.binary {
        Some(binary) => binary.clone(),
        None => std::env::current_exe().context("cannot find this binary's path")?,
    };
    let submitted = slurm::submit(&slurm::Submission {
        sweep_name: &plan_file.plan.sweep,
        sweep_dir: &dir,
        binary: &binary,
        shards: plan_file.plan.shards,
        partition: args.partition.as_deref(),
        max_parallel: args.max_parallel,
    })?;
    println!(
        "submitted {} shards as job {} and the merge as job {} (afterok); scripts: {}, {}",
        plan_file.plan.shards,
        submitted.shards_job,
        submitted.merge_job,
        submitted.scripts[0].display(),
        submitted.scripts[1].display()
    );
    Ok(ExitCode::SUCCESS)
}

fn emit(args: &EmitArgs) -> Result<ExitCode> {
    let (dir, plan_file) = read_plan(&args.plan)?;
    let emitted = kubernetes::emit(&kubernetes::Emission {
        sweep_name: &plan_file.plan.sweep,
        sweep_dir: &dir,
        shards: plan_file.plan.shards,
        image: &args.image,
        namespace: args.namespace.as_deref(),
        max_parallel: args.max_parallel,
        backoff_limit_per_index: args.backoff_limit_per_index,
        volume_claim: &args.volume_claim,
        env_secret: args.env_secret.as_deref(),
        memory: &args.memory,
    })?;
    println!(
        "wrote {} and {}\n\
         copy the sweep folder onto the volume claim {} (so that plan.json is at {}/plan.json), then:\n  \
         kubectl apply -f {}\n  \
         kubectl wait --for=condition=complete --timeout=24h job/{}\n  \
         kubectl apply -f {}",
        emitted.shards_job.display(),
        emitted.merge_job.display(),
        args.volume_claim,
        kubernetes::MOUNT,
        emitted.shards_job.display(),
        emitted.shards_job_name,
        emitted.merge_job.display(),
    );
    Ok(ExitCode::SUCCESS)
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Runs done of total with an ETA on a terminal; hidden in CI and pipes.
fn progress_bar(total: u64, name: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} runs {elapsed} (eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("sweep {name}"));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_comes_from_the_flag_then_the_schedulers_in_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert_eq!(
            shard_index(Some(4), env(&[("SLURM_ARRAY_TASK_ID", "7")])).unwrap(),
            4
        );
        assert_eq!(
            shard_index(
                None,
                env(&[("JOB_COMPLETION_INDEX", "9"), ("SLURM_ARRAY_TASK_ID", "7")])
            )
            .unwrap(),
            7
        );
        assert_eq!(
            shard_index(
                None,
                env(&[("JOB_COMPLETION_INDEX", "9"), ("MITID_SHARD_INDEX", "2")])
            )
            .unwrap(),
            2
        );
        let err = shard_index(None, env(&[])).unwrap_err().to_string();
        assert!(
            err.contains("MITID_SHARD_INDEX, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX"),
            "{err}"
        );
        let err = shard_index(None, env(&[("SLURM_ARRAY_TASK_ID", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SLURM_ARRAY_TASK_ID=\"x\""), "{err}");
    }
}
