//! `mitid-lab simulate SCENARIO.yaml`: run a scenario and write its report folder.
//!
//! Order matters for "nothing half-written": the scenario is read, overridden, typed and
//! validated before anything touches the disk; the run happens in memory; every report file is
//! rendered in memory; only then is the folder written, under a temporary name, and renamed
//! into place.

pub mod charts;
pub mod compare;
pub mod page;
pub mod png;
pub mod policy_report;
pub mod provenance;
mod queue_report;
pub mod table;

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use mitid_sim::scenario::{self, Overrides, Scenario};
use serde_json::json;

use super::BadInput;
use super::output::OutputDir;
use crate::live::{LiveError, LiveOptions, TargetSpec};
use mitid_sim::policy::{SampleSize, Sector};
use provenance::Provenance;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file (YAML, `kind: policy` or `kind: queue`).
    pub scenario: PathBuf,
    /// Override any scenario field, e.g. `--set calendar.nemid_shutdown=2023-12-31`
    /// (repeatable; the value is read as YAML).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
    /// Number of synthetic citizens (policy scenarios: `population.size`).
    #[arg(long, value_name = "N")]
    pub population: Option<u32>,
    /// Seed of the run (the scenario's `seed`).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Report folder [default: reports/<scenario name>-<seed>/]. An earlier report of the lab
    /// there is replaced; a folder holding anything else is refused.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write into an --out folder that holds files the lab did not write (they are kept).
    #[arg(long)]
    pub force: bool,
    /// Also write every chart as a PNG beside its SVG (twice the SVG's size, with the font
    /// compiled in, so it looks the same on any machine).
    #[arg(long)]
    pub png: bool,
    /// Drive a sample of the simulated citizens' actions as real flows against the lab's
    /// components (logins at the broker, NemID on MitID.dk, app enrolment, Citizen Service,
    /// support calls, recoveries); everyone else follows the model's rules. Writes `live.json` next to the report.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub live_setup: LiveSampleArgs,
    /// Live mode's pace: simulated seconds per wall-clock second (86400: a day a second), or
    /// `max` to go as fast as the flows go.
    #[arg(
        long,
        value_name = "FACTOR|max",
        default_value = "max",
        requires = "live"
    )]
    pub speed: crate::live::Speed,
    /// Live mode: the integrator's own OIDC service provider at URL (configured from
    /// `--config target.yaml`, as for `certify`) becomes the service of `--target-sector`;
    /// every wrong acceptance or refusal it makes is recorded in live.json by requirement.
    #[arg(long, value_name = "URL", requires_all = ["live", "config"])]
    pub target: Option<String>,
    /// The target file of `--target` (`mitid-lab certify init` writes one).
    #[arg(long, value_name = "FILE", requires = "target")]
    pub config: Option<PathBuf>,
    /// The sector whose logins go to the `--target` service, by its name in
    /// fixtures/nemid-calendar.yaml.
    #[arg(
        long,
        value_name = "SECTOR",
        default_value = "bank",
        requires = "target"
    )]
    pub target_sector: String,
    /// Where the report folder will finally be, when `out` is inside a report still being
    /// written (the nightly run's policy report): what the summary line names.
    #[arg(skip)]
    pub shown_as: Option<PathBuf>,
}

/// Where a live run's components run and how many citizens act for real: the flags
/// `simulate --live` and `tui --live` share (each requires the command's `--live`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct LiveSampleArgs {
    /// Where the components run in live mode: `embedded` (in this process) or `containers`
    /// (one Docker container each, built from this binary, removed when the live run ends).
    #[arg(long, value_enum, default_value = "embedded", requires = "live")]
    pub runtime: super::certify::Runtime,
    /// The share of the population that acts for real (0 < FRACTION <= 1) [default: 10
    /// citizens].
    #[arg(
        long,
        value_name = "FRACTION",
        requires = "live",
        conflicts_with = "live_citizens"
    )]
    pub live_sample: Option<f64>,
    /// How many citizens act for real (1 to the population).
    #[arg(long, value_name = "N", requires = "live")]
    pub live_citizens: Option<u32>,
}

impl LiveSampleArgs {
    /// Not live: what a run that is not asked for live mode carries.
    pub const NONE: LiveSampleArgs = LiveSampleArgs {
        runtime: super::certify::Runtime::Embedded,
        live_sample: None,
        live_citizens: None,
    };

    /// The sample the flags ask for out of `population`, checked: a bad size is the user's
    /// input (exit 2), its message naming the flag.
    pub fn sample(&self, population: u32) -> Result<SampleSize, BadInput> {
        let sample = match (self.live_sample, self.live_citizens) {
            (Some(fraction), _) => SampleSize::Fraction(fraction),
            (None, Some(n)) => SampleSize::Citizens(n),
            (None, None) => SampleSize::Citizens(DEFAULT_LIVE_CITIZENS.min(population)),
        };
        sample
            .of(population)
            .map_err(|err| BadInput(err.to_string()))?;
        Ok(sample)
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let started = Instant::now();
    let file = args.scenario.display().to_string();
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|err| BadInput(format!("{file}: cannot read the scenario: {err}")))?;
    let overrides = Overrides {
        sets: args.sets.clone(),
        population: args.population,
        seed: args.seed,
    };
    let loaded =
        scenario::load(&file, &text, &overrides).map_err(|err| BadInput(err.to_string()))?;
    let provenance = Provenance::new(
        &file,
        text.as_bytes(),
        &overrides.sets,
        overrides.population,
        overrides.seed,
        loaded.seed(),
    );
    let live = live_options(&args, &loaded)?;
    let out_dir = args.out.unwrap_or_else(|| default_out_dir(&loaded));
    super::output::check_dir(&out_dir, args.force)?;
    let load_seconds = started.elapsed().as_secs_f64();

    let simulate_started = Instant::now();
    let rendered = match &loaded {
        Scenario::Policy(policy) => {
            render_policy(policy, &file, &provenance, live, simulate_started)?
        }
        Scenario::Queue(queue) => {
            let summary = mitid_sim::queue_model::run_queue_scenario(queue)
                .map_err(|err| BadInput(format!("{file}: {err}")))?;
            let simulate_seconds = simulate_started.elapsed().as_secs_f64();
            let report_started = Instant::now();
            let report = queue_report::render(&summary, &provenance)?;
            Rendered {
                files: vec![
                    ("summary.json".into(), to_json_bytes(&report.summary)?),
                    ("report.md".into(), report.markdown.into_bytes()),
                    ("report.html".into(), report.html.into_bytes()),
                ],
                event_count: summary.event_count,
                simulate_seconds,
                report_started,
                live_line: None,
                interrupted: None,
                headline: format!(
                    "{}, mean wait {:.3} min, P(wait) {:.3}, utilisation {:.3}",
                    summary.model, summary.mean_wait_minutes, summary.p_wait, summary.utilization
                ),
            }
        }
    };

    let staged = OutputDir::create(&out_dir, "simulate", args.force)?;
    for (name, contents) in &rendered.files {
        staged.write(name, contents)?;
        if args.png
            && let Some(stem) = name.strip_suffix(".svg")
        {
            let svg = std::str::from_utf8(contents).context("a chart is not UTF-8")?;
            let picture = png::svg_to_png(svg, REPORT_PNG_MARK)
                .with_context(|| format!("cannot draw {name} as PNG"))?;
            staged.write(&format!("{stem}.png"), &picture)?;
        }
    }
    let report_seconds = rendered.report_started.elapsed().as_secs_f64();
    let timing = json!({
        "scenario": loaded.name(),
        "seed": loaded.seed(),
        "load_seconds": load_seconds,
        "simulate_seconds": rendered.simulate_seconds,
        "report_seconds": report_seconds,
        "wall_seconds": started.elapsed().as_secs_f64(),
        "event_count": rendered.event_count,
        "events_per_second": rendered.event_count as f64 / rendered.simulate_seconds.max(1e-9),
        "peak_rss_bytes": peak_rss_bytes(),
    });
    staged.write("timing.json", to_json_bytes(&timing)?)?;
    let written = staged.finish()?;
    let written = args.shown_as.unwrap_or(written);
    println!(
        "{} ({} scenario, seed {}): {}; {:.1} s simulated in, report in {}",
        loaded.name(),
        loaded.kind(),
        loaded.seed(),
        rendered.headline,
        rendered.simulate_seconds,
        written.display()
    );
    if let Some(line) = rendered.live_line {
        println!("{line}");
    }
    if let Some(stopped) = rendered.interrupted {
        eprintln!(
            "interrupted by {}: the live run stopped early; its flows so far are in live.json (marked incomplete)",
            stopped.signal
        );
        return Ok(ExitCode::from(super::exit::INTERRUPTED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The live options of `args`, `None` for a pure run. Flags that cannot work with this
/// scenario or runtime are bad input (exit 2), refused before anything starts.
fn live_options(
    args: &Args,
    loaded: &Scenario,
) -> Result<Option<(LiveOptions, Option<TargetSpec>)>> {
    if !args.live {
        return Ok(None);
    }
    let Scenario::Policy(policy) = loaded else {
        return Err(BadInput(format!(
            "--live: {} is a queue scenario; only policy scenarios have citizens to drive",
            args.scenario.display()
        ))
        .into());
    };
    // Checked here, not only when the run draws its sample, so a bad size is refused before
    // the components start.
    let sample = args.live_setup.sample(policy.population.size)?;
    let target = match (&args.target, &args.config) {
        (Some(url), Some(config)) => {
            let sector = Sector::ALL
                .into_iter()
                .find(|s| s.calendar_key() == args.target_sector)
                .ok_or_else(|| {
                    BadInput(format!(
                        "--target-sector {:?}: no such sector; known: {}",
                        args.target_sector,
                        Sector::ALL.map(Sector::calendar_key).join(", ")
                    ))
                })?;
            Some(TargetSpec {
                target: super::certify::load_target(config, url)?,
                sector,
            })
        }
        _ => None,
    };
    Ok(Some((
        LiveOptions {
            runtime: args.live_setup.runtime.kind(),
            sample,
            speed: args.speed,
        },
        target,
    )))
}

/// The `tEXt` mark of a report's PNG charts (the report folder's manifest is what lets a later
/// run replace them; the mark says where a PNG found elsewhere came from).
const REPORT_PNG_MARK: &str = "mitid-lab simulate chart";

/// How many citizens act for real when neither --live-sample nor --live-citizens says: enough
/// to see every journey of a small scenario, few enough to run in seconds.
const DEFAULT_LIVE_CITIZENS: u32 = 10;

/// Runs a policy scenario (live when `live` says so) and renders its report files in memory.
fn render_policy(
    policy: &mitid_sim::policy::PolicyScenario,
    file: &str,
    provenance: &Provenance,
    live: Option<(LiveOptions, Option<TargetSpec>)>,
    simulate_started: Instant,
) -> Result<Rendered> {
    let progress = progress_bar(&format!("simulating {}", policy.name));
    let mut report_progress = |fraction: f64| {
        progress.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
    };
    let policy_error = |err: mitid_sim::policy::PolicyError| match err.field_path() {
        Some(_) => anyhow::Error::new(BadInput(format!("{file}: {err}"))),
        None => anyhow::Error::new(err).context("the policy run failed"),
    };
    let (outcome, live_report) = match live {
        None => (
            mitid_sim::policy::run_policy(policy, policy.seed, &mut report_progress)
                .map_err(policy_error)?,
            None,
        ),
        Some((options, target)) => {
            let run = crate::live::run_with_target(
                policy,
                policy.seed,
                options,
                target.as_ref(),
                &mut report_progress,
            )
            .map_err(|err| match err {
                LiveError::Policy(err) => policy_error(err),
                // The target's broker port taken, the target file's service not answering:
                // as certify says them (bad input, or the lab's trouble).
                LiveError::Setup(err) if target.is_some() => super::certify::setup_error(err),
                other => anyhow::Error::new(other).context("the live run failed"),
            })?;
            let Some(outcome) = run.outcome else {
                progress.finish_and_clear();
                return interrupted_live(&run.report, run.interrupted, simulate_started);
            };
            (outcome, Some(run.report))
        }
    };
    progress.finish_and_clear();
    let simulate_seconds = simulate_started.elapsed().as_secs_f64();
    let report_started = Instant::now();
    let report = policy_report::render(policy, &outcome, provenance, live_report.as_ref())?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("summary.json".into(), to_json_bytes(&report.summary)?),
        ("timeseries.csv".into(), report.timeseries_csv.into_bytes()),
        (
            "municipalities.csv".into(),
            report.municipalities_csv.into_bytes(),
        ),
        ("report.md".into(), report.markdown.into_bytes()),
        ("report.html".into(), report.html.into_bytes()),
    ];
    let live_line = match &live_report {
        Some(live) => {
            files.push((
                "live.json".into(),
                to_json_bytes(&serde_json::to_value(live).context("cannot encode live.json")?)?,
            ));
            Some(live_line(live))
        }
        None => None,
    };
    files.extend(
        report
            .charts
            .into_iter()
            .map(|(name, svg)| (name, svg.into_bytes())),
    );
    Ok(Rendered {
        files,
        event_count: outcome.event_count,
        simulate_seconds,
        report_started,
        live_line,
        interrupted: None,
        headline: format!(
            "{} citizens, {} to {}, {} events",
            outcome.population, outcome.start, outcome.end, outcome.event_count
        ),
    })
}

/// The live run's lines of the printed summary: its flows, and the `--target` service's verdicts.
fn live_line(live: &crate::live::LiveReport) -> String {
    let mut text = format!(
        "live ({} runtime): {} real flows, {} failed, by {} sampled citizens; {} of the model's {} actions turned out otherwise than its rules",
        live.runtime,
        live.flows.performed,
        live.flows.failed,
        live.sample_size,
        live.model.diverged_from_model_rules,
        live.model.actions_resolved,
    );
    if let Some(target) = &live.target {
        let _ = write!(
            text,
            "\ntarget {} ({} sector): {}",
            target.base_url,
            target.sector,
            target.counts()
        );
    }
    text
}

/// What a live run stopped by a signal leaves: its `live.json`, marked incomplete, alone (the
/// model's figures of a run cut short would read as a finished run's).
fn interrupted_live(
    live: &crate::live::LiveReport,
    interrupted: Option<mitid_components::runtime::interrupt::Interrupted>,
    simulate_started: Instant,
) -> Result<Rendered> {
    Ok(Rendered {
        files: vec![(
            "live.json".into(),
            to_json_bytes(&serde_json::to_value(live).context("cannot encode live.json")?)?,
        )],
        event_count: 0,
        simulate_seconds: simulate_started.elapsed().as_secs_f64(),
        report_started: Instant::now(),
        headline: format!(
            "live run stopped at {}",
            live.stopped_at.as_deref().unwrap_or("its start")
        ),
        live_line: Some(format!(
            "live ({} runtime, incomplete): {} real flows, {} failed, by {} sampled citizens",
            live.runtime, live.flows.performed, live.flows.failed, live.sample_size
        )),
        interrupted,
    })
}

struct Rendered {
    /// The signal that stopped a live run early.
    interrupted: Option<mitid_components::runtime::interrupt::Interrupted>,
    files: Vec<(String, Vec<u8>)>,
    event_count: u64,
    simulate_seconds: f64,
    report_started: Instant,
    headline: String,
    /// The live run's line of the printed summary.
    live_line: Option<String>,
}

/// `reports/<name>-<seed>`, with the name reduced to characters safe in a folder name.
fn default_out_dir(loaded: &Scenario) -> PathBuf {
    let name: String = loaded
        .name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Path::new("reports").join(format!("{name}-{}", loaded.seed()))
}

fn to_json_bytes(value: &serde_json::Value) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).context("cannot encode JSON")?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A bar on a terminal; hidden when stderr is not one (CI, pipes), so logs stay clean.
fn progress_bar(message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1000);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {percent:>3}% {elapsed} (eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}

/// The process's peak resident set (Linux `VmHWM`), or `None` where /proc is not there.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
