//! `mitid-lab bench`: measure the lab.
//!
//! `bench live` runs a live simulation (`simulate --live`, as fast as it goes) and prints the
//! real flows per second the sampled citizens drove, the run's wall time and the latency of the
//! busiest journeys; embedded or in containers.
//!
//! `bench tui` plays a scenario in the dashboard without a terminal and times each tick (the
//! days the model closes) and each frame drawn, at 80x24 and 200x60.
//!
//! `bench flows` drives complete OIDC logins against the embedded stack: authorization request
//! in the IdP's headless mode (`login_hint=test:<user>`, PKCE S256) → code from the redirect →
//! token request (`client_secret_basic`) → userinfo with the access token. It prints flows per
//! second and the p50/p99 latency of one whole login. Every step's answer is checked; a single
//! wrong answer stops the run with the exchange that went wrong (exit 3: the lab could not do its
//! work; a bench is no verdict on a service provider).

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mitid_components::runtime::{self, Component, LabClient, StackOptions};
use sha2::Digest as _;

use super::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Complete logins per second against the embedded components.
    Flows(FlowsArgs),
    /// Replications of a policy scenario with intervals, every core busy (`sweep run`).
    Sweep(SweepArgs),
    /// A live simulation's real flows per second and wall time for N sampled citizens.
    Live(LiveArgs),
    /// The dashboard playing a scenario: time per tick (the model's days) and per frame drawn,
    /// at 80x24 and 200x60, and peak memory.
    Tui(TuiArgs),
}

#[derive(Debug, clap::Args)]
struct TuiArgs {
    /// The policy scenario played.
    #[arg(long, default_value = mitid_tui::DEFAULT_SCENARIO)]
    scenario: std::path::PathBuf,
    /// Number of synthetic citizens [default: the scenario's].
    #[arg(long)]
    population: Option<u32>,
    /// Simulated days per second of play (the dashboard offers 1, 7, 30, 90, 365).
    #[arg(long, default_value_t = 30)]
    speed: u32,
    /// Seconds of play measured at each size (10 ticks a second).
    #[arg(long, default_value_t = 20)]
    seconds: u32,
    /// Play in live mode (`tui --live`): this many citizens act for real against the embedded
    /// components, and a tick includes their flows.
    #[arg(long, value_name = "N")]
    live_citizens: Option<u32>,
}

#[derive(Debug, clap::Args)]
struct LiveArgs {
    /// The policy scenario run live.
    #[arg(long, default_value = "scenarios/live-demo.yaml")]
    scenario: std::path::PathBuf,
    /// Citizens who act for real.
    #[arg(long, default_value_t = 100)]
    citizens: u32,
    /// Where the components run.
    #[arg(long, value_enum, default_value = "embedded")]
    runtime: super::certify::Runtime,
}

#[derive(Debug, clap::Args)]
struct SweepArgs {
    /// The policy scenario replicated.
    #[arg(long, default_value = "scenarios/nemid-phaseout-2023.yaml")]
    scenario: std::path::PathBuf,
    /// Replications (each its own seed).
    #[arg(long, default_value_t = 30)]
    replications: u32,
    /// Runs at once [default: the number of cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// The sweep folder the bench writes (replaced on the next bench).
    #[arg(long, default_value = "reports/bench-sweep")]
    out: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
struct FlowsArgs {
    /// Logins to time (after a warm-up of min(1000, flows/10)).
    #[arg(long, default_value_t = 20_000)]
    flows: usize,
    /// Logins in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Worker threads of the components' runtime (the bench's client gets one thread).
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Flows(flows) => run_flows(&flows),
        Command::Sweep(sweep) => run_sweep(&sweep),
        Command::Live(live) => run_live(&live),
        Command::Tui(tui) => run_tui(&tui),
    }
}

/// Plays the scenario in the dashboard without a terminal, as the runtime would: each tick's
/// update (the days it closes) and the whole frame drawn after it, timed at 80x24 and 200x60.
fn run_tui(args: &TuiArgs) -> anyhow::Result<ExitCode> {
    if args.seconds == 0 {
        return Err(BadInput("--seconds must be at least 1".to_owned()).into());
    }
    let overrides = mitid_sim::scenario::Overrides {
        population: args.population,
        ..Default::default()
    };
    let mut report = String::new();
    for (width, height) in [(80, 24), (200, 60)] {
        let started = Instant::now();
        let run: Box<dyn mitid_tui::run::SteppableRun> = match args.live_citizens {
            None => Box::new(
                mitid_tui::open_run(&args.scenario, &overrides, &mut |_| {})
                    .map_err(|err| BadInput(err.to_string()))?,
            ),
            Some(citizens) => {
                let policy = mitid_tui::load_policy(&args.scenario, &overrides)
                    .map_err(|err| BadInput(err.to_string()))?;
                let seed = policy.seed;
                let options = crate::live::LiveOptions {
                    runtime: mitid_components::runtime::RuntimeKind::Embedded,
                    sample: mitid_sim::policy::SampleSize::Citizens(citizens),
                    speed: crate::live::Speed::Max,
                };
                Box::new(crate::live::session::LiveSession::start(
                    policy, seed, options,
                )?)
            }
        };
        let opened = started.elapsed().as_secs_f64();
        let mut app = mitid_tui::app::App::new(run, Vec::new());
        let mut palette = |text: &str| {
            app.update(mitid_tui::app::Msg::Key(mitid_tui::keys::Key::Char(':')));
            for c in text.chars() {
                app.update(mitid_tui::app::Msg::Key(mitid_tui::keys::Key::Char(c)));
            }
            app.update(mitid_tui::app::Msg::Key(mitid_tui::keys::Key::Enter));
        };
        palette(&format!("speed {}", args.speed));
        let ticks = (args.seconds * mitid_tui::app::TICKS_PER_SECOND) as usize;
        let mut times = mitid_tui::measure_play(&mut app, width, height, ticks);
        if report.is_empty() {
            writeln!(
                report,
                "bench tui: {} ({} citizens), {} days/s, {} s of play at each size",
                app.run.scenario(),
                app.run.population(),
                app.days_per_second(),
                args.seconds
            )?;
            if let Some(live) = app.run.live() {
                writeln!(
                    report,
                    "  live         {} citizens act for real ({} components)",
                    live.sample_size, live.runtime
                )?;
            }
            writeln!(
                report,
                "  open         {opened:.2} s (population synthesised{})",
                if args.live_citizens.is_some() {
                    ", components started"
                } else {
                    ""
                }
            )?;
        }
        times.update.sort_unstable();
        times.draw.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mean = |v: &[Duration]| ms(v.iter().sum::<Duration>()) / v.len().max(1) as f64;
        let p99 = |v: &[Duration]| v.get(v.len() * 99 / 100).map_or(0.0, |d| ms(*d));
        writeln!(
            report,
            "  {width}x{height:<3}      {} ticks, {} days: tick mean {:.2} ms p99 {:.2} ms; frame mean {:.2} ms p99 {:.2} ms",
            times.update.len(),
            times.days,
            mean(&times.update),
            p99(&times.update),
            mean(&times.draw),
            p99(&times.draw),
        )?;
        if let Some(live) = app.run.live() {
            let flows = live.total();
            writeln!(
                report,
                "               {} real flows over those days, {} failed",
                flows.performed, flows.failed
            )?;
        }
    }
    write_peak_rss(&mut report)?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// Runs the scenario live at full speed; prints flows per second over the simulation (the
/// components' start excluded), the whole wall time and the latency of each journey.
fn run_live(args: &LiveArgs) -> anyhow::Result<ExitCode> {
    use mitid_sim::scenario::{self, Overrides, Scenario};
    let file = args.scenario.display().to_string();
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|err| BadInput(format!("{file}: cannot read the scenario: {err}")))?;
    let Scenario::Policy(policy) = scenario::load(&file, &text, &Overrides::default())
        .map_err(|err| BadInput(err.to_string()))?
    else {
        return Err(BadInput(format!("{file}: a queue scenario has no citizens to drive")).into());
    };
    let sample = mitid_sim::policy::SampleSize::Citizens(args.citizens);
    sample
        .of(policy.population.size)
        .map_err(|err| BadInput(err.to_string()))?;
    let options = crate::live::LiveOptions {
        runtime: args.runtime.kind(),
        sample,
        speed: crate::live::Speed::Max,
    };
    let started = Instant::now();
    let run = crate::live::run(&policy, policy.seed, options, &mut |_| {})
        .context("the live run failed")?;
    let wall = started.elapsed().as_secs_f64();
    if let Some(stopped) = run.interrupted {
        return Err(stopped.into());
    }
    let live = &run.report;
    let driving = run.driving.as_secs_f64();
    let mut report = String::new();
    writeln!(
        report,
        "bench live: {} ({} citizens, {} live), {} runtime",
        policy.name, policy.population.size, live.sample_size, live.runtime
    )?;
    writeln!(
        report,
        "  flows        {} real flows, {} failed",
        live.flows.performed, live.flows.failed
    )?;
    writeln!(
        report,
        "  flows/s      {:.0} (over {driving:.2} s of simulation; routine logins up to {} at a time)",
        live.flows.performed as f64 / driving.max(1e-9),
        crate::live::ROUTINE_BATCH
    )?;
    writeln!(
        report,
        "  wall         {wall:.2} s (components' start and stop included)"
    )?;
    for (journey, latency) in &live.latency_ms {
        writeln!(
            report,
            "  {journey:<28} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
            latency.p50, latency.p99, latency.max
        )?;
    }
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// The whole sweep pipeline (plan, shards on every core, merge with intervals) on
/// replications of one scenario; prints wall time, time per run and peak memory.
fn run_sweep(args: &SweepArgs) -> anyhow::Result<ExitCode> {
    if args.replications < 2 {
        return Err(BadInput("--replications must be at least 2".to_owned()).into());
    }
    let scenario = std::path::absolute(&args.scenario)
        .with_context(|| format!("cannot resolve {}", args.scenario.display()))?;
    // A sweep without a grid: the scenario replicated, with the planner's headline figures.
    let text = format!(
        "name: bench-sweep\n\
         scenario: {scenario:?}\n\
         seed: 1\n\
         replications: {replications}\n\
         collect:\n  \
           figures:\n    \
             - milestones.nemid_shutdown.figures.without_eid_age_80plus\n    \
             - peaks.citizen_service_queue.value\n    \
             - totals.via_nemid\n  \
           series: [without_eid, citizen_service_queue]\n",
        scenario = scenario.display().to_string(),
        replications = args.replications,
    );
    let started = Instant::now();
    let (dir, plan_file, jobs) = super::sweep::plan_and_run(
        "bench sweep",
        &text,
        std::path::Path::new(""),
        &args.out,
        args.jobs,
    )?;
    let elapsed = started.elapsed().as_secs_f64();
    let runs = plan_file.plan.runs.len();
    let mut report = String::new();
    writeln!(
        report,
        "bench sweep: {runs} replications of {} with 95 % intervals, {jobs} runs at once",
        args.scenario.display()
    )?;
    writeln!(report, "  elapsed      {elapsed:.1} s (plan, runs, merge)")?;
    writeln!(
        report,
        "  per run      {:.2} s of wall time",
        elapsed / runs as f64
    )?;
    write_peak_rss(&mut report)?;
    writeln!(
        report,
        "  report       {}",
        dir.join("report.html").display()
    )?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

fn run_flows(args: &FlowsArgs) -> anyhow::Result<ExitCode> {
    if args.flows == 0 || args.concurrency == 0 || args.server_threads == 0 {
        return Err(BadInput(
            "--flows, --concurrency and --server-threads must be at least 1".to_owned(),
        )
        .into());
    }
    let options = StackOptions {
        worker_threads: args.server_threads,
        population: 200,
        // The same few persons log in thousands of times a second: lift the per-person lockout
        // (it has its own tests) so the bench measures the login path, not the defence.
        login_rate_limit: Some(u32::MAX),
        ..StackOptions::default()
    };
    let stack = runtime::embedded::start(options).context("starting the embedded components")?;
    let users: Vec<String> = stack
        .identities()
        .iter()
        .map(|identity| identity.user_id.clone())
        .collect();
    anyhow::ensure!(
        !users.is_empty(),
        "the stack has no test identities to log in"
    );
    let target = Arc::new(Target {
        issuer: stack.url(Component::Idp).to_owned(),
        client: stack.lab_client().clone(),
        users,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(args.concurrency)
            .build()
            .context("building the HTTP client")?,
    });

    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let warm_up = (args.flows / 10).clamp(1, 1_000);
    client_runtime
        .block_on(drive(Arc::clone(&target), warm_up, args.concurrency))
        .context("warm-up")?;
    let started = Instant::now();
    let mut latencies = client_runtime
        .block_on(drive(Arc::clone(&target), args.flows, args.concurrency))
        .context("timed run")?;
    let elapsed = started.elapsed();
    stack.shutdown().context("stopping the components")?;

    latencies.sort_unstable();
    let mut report = String::new();
    writeln!(
        report,
        "bench flows: {} complete logins (authorize → code → token → userinfo), concurrency {}, {} server threads",
        args.flows, args.concurrency, args.server_threads
    )?;
    writeln!(report, "  elapsed      {:.3} s", elapsed.as_secs_f64())?;
    writeln!(
        report,
        "  flows/s      {:.0}",
        args.flows as f64 / elapsed.as_secs_f64()
    )?;
    writeln!(
        report,
        "  latency p50  {:.2} ms",
        millis(percentile(&latencies, 0.50))
    )?;
    writeln!(
        report,
        "  latency p99  {:.2} ms",
        millis(percentile(&latencies, 0.99))
    )?;
    writeln!(
        report,
        "  latency max  {:.2} ms",
        millis(latencies.last().copied().unwrap_or_default())
    )?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// The process's peak memory so far, as a report line (nothing where the system cannot say).
fn write_peak_rss(report: &mut String) -> std::fmt::Result {
    match super::simulate::peak_rss_bytes() {
        Some(bytes) => writeln!(
            report,
            "  peak RSS     {:.0} MiB",
            bytes as f64 / 1_048_576.0
        ),
        None => Ok(()),
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], quantile: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Target {
    issuer: String,
    client: LabClient,
    users: Vec<String>,
    http: reqwest::Client,
}

/// Runs `flows` logins with `concurrency` in flight; returns each login's latency.
async fn drive(
    target: Arc<Target>,
    flows: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Duration>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(flows) {
        let target = Arc::clone(&target);
        let next = Arc::clone(&next);
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= flows {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let started = Instant::now();
                login(&target, index)
                    .await
                    .with_context(|| format!("login {index}"))?;
                latencies.push(started.elapsed());
            }
        });
    }
    let mut all = Vec::with_capacity(flows);
    while let Some(joined) = workers.join_next().await {
        all.extend(joined.context("a bench worker panicked")??);
    }
    Ok(all)
}

/// One complete login; every answer is checked.
async fn login(target: &Target, index: usize) -> anyhow::Result<()> {
    let user = &target.users[index % target.users.len()];
    let state = format!("bench-state-{index}");
    let nonce = format!("bench-nonce-{index}");
    let verifier = format!("bench-pkce-verifier-{index:020}-{}", "v".repeat(20));
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let client = &target.client;

    let authorize = target
        .http
        .get(format!("{}/authorize", target.issuer))
        .query(&[
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("scope", "openid mitid"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("login_hint", &format!("test:{user}")),
        ])
        .send()
        .await
        .context("authorization request")?;
    let status = authorize.status();
    let location = authorize
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let Some(location) = location.filter(|_| status.is_redirection()) else {
        let body = authorize.text().await.unwrap_or_default();
        anyhow::bail!("authorization for {user}: expected a redirect, got {status}: {body}");
    };
    let redirect = url::Url::parse(&location).with_context(|| format!("redirect {location:?}"))?;
    let mut code = None;
    let mut returned_state = None;
    for (key, value) in redirect.query_pairs() {
        match key.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => returned_state = Some(value.into_owned()),
            _ => {}
        }
    }
    let Some(code) = code else {
        anyhow::bail!("authorization for {user}: redirect without a code: {location}");
    };
    anyhow::ensure!(
        returned_state.as_deref() == Some(state.as_str()),
        "state not echoed: {location}"
    );

    let token = target
        .http
        .post(format!("{}/token", target.issuer))
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .context("token request")?;
    let status = token.status();
    let body: serde_json::Value = token.json().await.context("token response body")?;
    anyhow::ensure!(status.is_success(), "token for {user}: {status}: {body}");
    let access_token = body["access_token"]
        .as_str()
        .with_context(|| format!("no access_token in {body}"))?;
    anyhow::ensure!(
        body["id_token"].is_string(),
        "token for {user}: no id_token in {body}"
    );

    let userinfo = target
        .http
        .get(format!("{}/userinfo", target.issuer))
        .bearer_auth(access_token)
        .send()
        .await
        .context("userinfo request")?;
    let status = userinfo.status();
    let claims: serde_json::Value = userinfo.json().await.context("userinfo body")?;
    anyhow::ensure!(
        status.is_success() && claims["sub"].is_string(),
        "userinfo for {user}: {status}: {claims}"
    );
    Ok(())
}
