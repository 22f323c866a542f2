//! `mitid-lab certify`: certify a MitID service provider against the conformance suite.
//!
//! - `certify init` writes `target.yaml` and prints what the integrator configures;
//! - `certify --target URL --config target.yaml` runs the suite against the integrator's service;
//! - `certify --target reference [--flaw NAME]` runs it against the lab's reference provider;
//! - `certify list` prints the requirement catalogue;
//! - `certify selfcheck` runs it against the reference provider and each named flaw.
//!
//! `--protocol oiosaml` does the same for an OIOSAML service provider behind the lab's NemLog-in
//! (see `certify_saml`); the default `--protocol oidc` is the broker's OpenID Connect.
//!
//! Exit codes (see `exit`): 0 certified (every requirement that applies ran and every MUST
//! passed) or a partial run (`--tags`, `--features`) whose checks all passed, which says so and is
//! never called CERTIFIED; 1 a MUST failed; 2 bad input (a malformed or outdated target file, an
//! unknown flaw, a selection without scenarios, a target that fails the pre-flight or does not
//! answer); 3 the lab could not do its work; 130 interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use super::BadInput;
use super::certify_saml;
use super::output::{self, OutputDir};
use mitid_components::runtime::interrupt;
use mitid_conformance::catalogue::Catalogue;
use mitid_conformance::outcome::{SuiteReport, Verdict};
use mitid_conformance::runner::Features;
use mitid_conformance::setup::SetupError;
use mitid_conformance::suite::{self, SP_FEATURES, SelfCheck, SelfCheckRow, SuiteError};
use mitid_conformance::target::{DEFAULT_BROKER_LISTEN, OptionalFeature, TargetFile};
use mitid_conformance::{report, target};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Write a target file and print what to configure in your service.
    Init(InitArgs),
    /// Print the requirement catalogue.
    List(ListArgs),
    /// Run the suite against the reference service provider and each of its named flaws.
    Selfcheck(SelfcheckArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    Embedded,
    Containers,
}

impl Runtime {
    pub fn kind(self) -> mitid_components::runtime::RuntimeKind {
        match self {
            Runtime::Embedded => mitid_components::runtime::RuntimeKind::Embedded,
            Runtime::Containers => mitid_components::runtime::RuntimeKind::Containers,
        }
    }
}

/// Which protocol the service under test speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Protocol {
    /// OpenID Connect, behind the lab's MitID broker.
    #[default]
    Oidc,
    /// OIOSAML 3 (SAML 2.0), behind the lab's NemLog-in.
    Oiosaml,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "oidc")]
    protocol: Protocol,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The protocol of the service under test.
    #[arg(long, value_enum, default_value = "oidc")]
    pub(crate) protocol: Protocol,
    /// `reference` (the lab's reference service provider) or your service's base URL. With
    /// `--protocol oiosaml` it may be left out for the reference SAML service provider.
    #[arg(long)]
    pub(crate) target: Option<String>,
    /// Target file written by `certify init` (needed for a URL target).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Start the reference service provider with this named flaw (see `components flaws`).
    #[arg(long)]
    pub(crate) flaw: Vec<String>,
    /// How the lab's components run (for OIOSAML: the broker and NemLog-in; a URL target is
    /// always served from this process).
    #[arg(long, value_enum, default_value = "embedded")]
    pub(crate) runtime: Runtime,
    /// Tag expression selecting scenarios, e.g. `@req:SP-TOKEN-SIG-01 or @serial`. A subset is
    /// a PARTIAL RUN, never a certification; one that selects nothing is bad input (exit 2).
    #[arg(long)]
    pub(crate) tags: Option<String>,
    /// Feature files or directories (default: features/conformance/sp, or
    /// features/conformance/saml for OIOSAML).
    #[arg(long)]
    pub(crate) features: Vec<PathBuf>,
    /// Where reports go (a directory per run is made inside).
    #[arg(long, default_value = "reports")]
    pub(crate) reports: PathBuf,
}

#[derive(Debug, clap::Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "clap flags: each optional part of the contract is a --x / --no-x pair the user must state"
)]
struct InitArgs {
    /// The protocol of your service: `oiosaml` writes a folder (--dir) with the target file, the
    /// lab's NemLog-in metadata and the test certificates.
    #[arg(long, value_enum, default_value = "oidc")]
    protocol: Protocol,
    /// Where to write the target file (OIDC).
    #[arg(long, default_value = "target.yaml")]
    out: PathBuf,
    /// The folder to write into (OIOSAML; default `oiosaml-target`).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Your service's SAML metadata, a file or an http(s) URL (OIOSAML); validated and copied
    /// into --dir as sp-metadata.xml.
    #[arg(long)]
    sp_metadata: Option<String>,
    /// Where the lab's NemLog-in listens (OIOSAML); its entityID is http://<this>.
    #[arg(long, default_value = mitid_conformance::oiosaml::target::DEFAULT_NEMLOGIN_LISTEN)]
    nemlogin_listen: String,
    /// Your service's base URL as the lab reaches it.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Your service's redirect URI (default: the base URL followed by `/callback`).
    #[arg(long)]
    redirect_uri: Option<String>,
    /// Client id your service uses at the lab's broker.
    #[arg(long, default_value = "mitid-lab-integrator")]
    client_id: String,
    /// Where the lab's broker (your issuer) listens.
    #[arg(long, default_value = DEFAULT_BROKER_LISTEN)]
    broker_listen: String,
    /// Your service implements RP-initiated logout (`GET /logout`); one of --logout / --no-logout
    /// is required.
    #[arg(long, conflicts_with = "no_logout")]
    logout: bool,
    /// Your service has no RP-initiated logout: its requirements are SKIPPED (not implemented).
    #[arg(long)]
    no_logout: bool,
    /// Your service implements back-channel logout (`POST /backchannel-logout`); one of
    /// --backchannel-logout / --no-backchannel-logout is required.
    #[arg(long, conflicts_with = "no_backchannel_logout")]
    backchannel_logout: bool,
    /// Your service has no back-channel logout: its requirements are SKIPPED (not implemented).
    #[arg(long)]
    no_backchannel_logout: bool,
    /// Your service steps up (`/login?loa=high` from a signed-in browser forces a fresh login);
    /// one of --step-up / --no-step-up is required.
    #[arg(long, conflicts_with = "no_step_up")]
    step_up: bool,
    /// Your service never steps up: its requirement is SKIPPED (not implemented).
    #[arg(long)]
    no_step_up: bool,
    /// Your service offers business (MitID Erhverv) logins at `/login?identity=professional`;
    /// without this flag the business-login requirements are SKIPPED (not implemented).
    #[arg(long)]
    business_logins: bool,
    /// Replace an existing file that `certify init` did not write.
    #[arg(long)]
    force: bool,
}

impl InitArgs {
    /// What the integrator said the service implements; each optional part must be stated, so
    /// the target file never declares an endpoint by default.
    fn implements(&self) -> anyhow::Result<Vec<OptionalFeature>> {
        let answers = [
            (
                OptionalFeature::RpInitiatedLogout,
                self.logout,
                self.no_logout,
                "--logout or --no-logout (RP-initiated logout: GET /logout)",
            ),
            (
                OptionalFeature::BackchannelLogout,
                self.backchannel_logout,
                self.no_backchannel_logout,
                "--backchannel-logout or --no-backchannel-logout (back-channel logout: POST /backchannel-logout)",
            ),
            (
                OptionalFeature::StepUp,
                self.step_up,
                self.no_step_up,
                "--step-up or --no-step-up (step-up: /login?loa=high forces a fresh login)",
            ),
        ];
        let unstated: Vec<&str> = answers
            .iter()
            .filter(|(_, yes, no, _)| !yes && !no)
            .map(|(_, _, _, flags)| *flags)
            .collect();
        if !unstated.is_empty() {
            return Err(BadInput(format!(
                "certify init: say what your service implements: {}",
                unstated.join("; ")
            ))
            .into());
        }
        let mut implements: Vec<OptionalFeature> = answers
            .iter()
            .filter(|(_, yes, _, _)| *yes)
            .map(|(feature, _, _, _)| *feature)
            .collect();
        if self.business_logins {
            implements.push(OptionalFeature::BusinessLogins);
        }
        Ok(implements)
    }
}

#[derive(Debug, clap::Args)]
struct SelfcheckArgs {
    #[arg(long, value_enum, default_value = "oidc")]
    protocol: Protocol,
    #[arg(long, value_enum, default_value = "embedded")]
    runtime: Runtime,
    /// Only these flaws (default: every flaw the reference provider has).
    #[arg(long)]
    flaw: Vec<String>,
    /// Stacks run at once (default: 6 embedded, 1 in containers).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(Sub::Init(init)) if init.protocol == Protocol::Oiosaml => run_saml_init(&init),
        Some(Sub::Init(init)) => run_init(&init),
        Some(Sub::List(list)) if list.protocol == Protocol::Oiosaml => Ok(certify_saml::run_list()),
        Some(Sub::List(_)) => Ok(run_list()),
        Some(Sub::Selfcheck(check)) if check.protocol == Protocol::Oiosaml => {
            certify_saml::run_selfcheck(
                &check.flaw,
                check.runtime.kind(),
                check.jobs,
                &check.reports,
            )
        }
        Some(Sub::Selfcheck(check)) => run_selfcheck(&check),
        None if args.run.protocol == Protocol::Oiosaml => certify_saml::run_certify(&args.run),
        None => run_certify(&args.run),
    }
}

/// `init --protocol oiosaml`: the OIDC-only flags are refused by name; logout must be stated.
fn run_saml_init(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let oidc_only = [
        (
            args.backchannel_logout || args.no_backchannel_logout,
            "--backchannel-logout",
        ),
        (args.step_up || args.no_step_up, "--step-up"),
        (args.redirect_uri.is_some(), "--redirect-uri"),
    ];
    if let Some((_, flag)) = oidc_only.iter().find(|(given, _)| *given) {
        return Err(BadInput(format!(
            "{flag} is for an OpenID Connect service; an OIOSAML service is described by its metadata (--sp-metadata)"
        ))
        .into());
    }
    if !args.logout && !args.no_logout {
        return Err(BadInput(
            "certify init --protocol oiosaml: say whether your service implements single logout: --logout or --no-logout".into(),
        )
        .into());
    }
    certify_saml::run_init(&certify_saml::SamlInit {
        dir: args
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("oiosaml-target")),
        base_url: args.base_url.clone(),
        sp_metadata: args.sp_metadata.clone(),
        nemlogin_listen: args.nemlogin_listen.clone(),
        logout: args.logout,
        business_logins: args.business_logins,
        force: args.force,
    })
}

fn run_init(args: &InitArgs) -> anyhow::Result<ExitCode> {
    if args.sp_metadata.is_some() || args.dir.is_some() {
        return Err(BadInput(
            "--sp-metadata and --dir are for --protocol oiosaml; an OpenID Connect target is one file (--out)".into(),
        )
        .into());
    }
    let implements = args.implements()?;
    let base = args.base_url.trim_end_matches('/');
    let path_if = |feature: OptionalFeature, path: &str| {
        implements.contains(&feature).then(|| path.to_owned())
    };
    let file = TargetFile {
        service_provider: target::ServiceProviderSection {
            base_url: base.to_owned(),
            implements: Some(implements.clone()),
            login_path: "/login".into(),
            me_path: "/me".into(),
            logout_path: path_if(OptionalFeature::RpInitiatedLogout, "/logout"),
            backchannel_logout_path: path_if(
                OptionalFeature::BackchannelLogout,
                "/backchannel-logout",
            ),
            business_login_path: path_if(
                OptionalFeature::BusinessLogins,
                "/login?identity=professional",
            ),
        },
        client: target::ClientSection {
            client_id: args.client_id.clone(),
            client_secret: fresh_secret(),
            redirect_uri: args
                .redirect_uri
                .clone()
                .unwrap_or_else(|| format!("{base}/callback")),
            post_logout_redirect_uris: vec![format!("{base}/")],
        },
        broker: target::BrokerSection {
            listen: args.broker_listen.clone(),
        },
    };
    let text = file.to_commented_yaml();
    // Validate what we are about to write, so `init` never writes a file `certify` rejects. The
    // text is not on disk yet, so a problem is blamed on the flag it came from, never on a line
    // of --out (which may be someone else's file).
    file.validate(&text, &args.out, None)
        .map_err(|e| BadInput(init_flag_error(&e)))?;
    output::write_file(&args.out, text.as_bytes(), INIT_MARK, args.force)?;
    let issuer = format!("http://{}", file.broker.listen);
    println!(
        "Wrote {}. Configure your service's OpenID Connect client with:\n",
        args.out.display()
    );
    println!("  issuer (discovery)       {issuer}   ({issuer}/.well-known/openid-configuration)");
    println!("  client_id                {}", file.client.client_id);
    println!(
        "  client_secret            {}   (test-only; client_secret_basic)",
        file.client.client_secret
    );
    println!("  redirect_uri             {}", file.client.redirect_uri);
    println!("  scope                    openid mitid ssn");
    println!("  response_type            code, with PKCE S256, state and nonce");
    println!(
        "  post_logout_redirect_uri {}",
        file.client.post_logout_redirect_uris[0]
    );
    if let Some(path) = &file.service_provider.backchannel_logout_path {
        println!("  back-channel logout URI  {base}{path}");
    }
    println!(
        "  implements               [{}]   (requirements on the other optional parts are SKIPPED (not implemented))",
        implements
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "\nYour service must answer GET {base}/login (optional ?loa=low|substantial|high) with a redirect"
    );
    println!(
        "to the issuer, and GET {base}/me with 200 + JSON {{\"sub\", \"account\", \"loa\", ...}} when logged in, 401 otherwise"
    );
    println!(
        "(`account`: your own id of the local account the session belongs to; the account requirements judge by it)."
    );
    println!(
        "Edit the paths in {} if yours differ, then run:\n",
        args.out.display()
    );
    println!(
        "  mitid-lab certify --target {base} --config {}",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What the first line of every file `certify init` writes says (see
/// `TargetFile::to_commented_yaml`): the mark that lets a later `init` replace it.
const INIT_MARK: &str = "written by `mitid-lab certify init`";

/// A problem with the target `init` generated, said in terms of the flag that caused it.
fn init_flag_error(err: &target::TargetError) -> String {
    match err {
        target::TargetError::Field { field, message, .. } => {
            let flag = match field.as_str() {
                "client.client_id" => "--client-id",
                "client.redirect_uri" => "--redirect-uri",
                "broker.listen" => "--broker-listen",
                _ => "--base-url",
            };
            format!("{flag}: {message}")
        }
        target::TargetError::Invalid { message, .. } => message.clone(),
        target::TargetError::Flag { .. } => err.to_string(),
    }
}

/// A client secret for the lab's broker, from the broker's own generator of OS randomness.
fn fresh_secret() -> String {
    mitid_components::idp::registry::random_token(24)
}

fn run_list() -> ExitCode {
    let catalogue = Catalogue::embedded();
    for requirement in &catalogue.requirements {
        println!(
            "{:<22} {:<6} {}",
            requirement.id,
            requirement.level.as_str(),
            requirement.title
        );
    }
    let musts = catalogue
        .requirements
        .iter()
        .filter(|r| r.level == mitid_conformance::catalogue::Level::Must)
        .count();
    println!(
        "\n{} requirements ({musts} MUST, {} SHOULD); details in fixtures/requirements/sp.yaml",
        catalogue.requirements.len(),
        catalogue.requirements.len() - musts
    );
    ExitCode::SUCCESS
}

/// Feature files for a run (default: the SP conformance features).
pub fn load_features(
    paths: &[PathBuf],
    default: &[&str],
    catalogue: &Catalogue,
    tags: Option<&str>,
) -> anyhow::Result<Features> {
    let roots: Vec<PathBuf> = if paths.is_empty() {
        default.iter().map(|p| suite::project_path(p)).collect()
    } else {
        paths.to_vec()
    };
    Features::load(&roots, catalogue, tags).map_err(|e| BadInput(e.to_string()).into())
}

/// Checks `--flaw` names against the reference provider's list.
pub fn check_flaws(flaws: &[String]) -> anyhow::Result<()> {
    let known = known_flaws();
    for flaw in flaws {
        if !known.contains(flaw) {
            return Err(BadInput(format!(
                "--flaw {flaw}: no such flaw; the reference service provider has {}",
                known.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// Every named flaw of the reference service provider.
pub fn known_flaws() -> Vec<String> {
    mitid_components::reference_sp::FlawCatalogue::embedded()
        .names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn run_certify(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let Some(target) = args.target.as_deref() else {
        return Err(BadInput("certify needs --target URL (with --config target.yaml) or --target reference; see `mitid-lab certify --help`".into()).into());
    };
    let catalogue = Catalogue::embedded();
    let features = load_features(
        &args.features,
        &[SP_FEATURES],
        &catalogue,
        args.tags.as_deref(),
    )?;
    let run_id = format!("certify-{}", suite::run_tag());
    interrupt::install();
    let out = OutputDir::create(&args.reports.join(&run_id), "certify", false)?;
    let dir = out.path().to_owned();
    let report = if target == "reference" {
        if args.config.is_some() {
            return Err(BadInput(
                "--config is for a URL target; --target reference needs none".into(),
            )
            .into());
        }
        check_flaws(&args.flaw)?;
        suite::certify_reference(
            &args.flaw,
            args.runtime.kind(),
            &features,
            &catalogue,
            &run_id,
            Some(&dir),
        )
        .map_err(setup_error)?
    } else {
        if !args.flaw.is_empty() {
            return Err(BadInput("--flaw only applies to --target reference".into()).into());
        }
        let Some(config) = &args.config else {
            return Err(BadInput(format!("--target {target} needs --config target.yaml (write one with `mitid-lab certify init`)")).into());
        };
        let valid = load_target(config, target)?;
        suite::certify_external(&valid, &features, &catalogue, &run_id, Some(&dir))
            .map_err(setup_error)?
    };
    finish(&report, out)
}

/// The target file `config` checked, with `--target URL` as its base URL: every problem is bad
/// input naming the file, the line and the field.
pub(crate) fn load_target(
    config: &std::path::Path,
    target: &str,
) -> Result<mitid_conformance::target::Target, BadInput> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| BadInput(format!("{}: cannot read: {e}", config.display())))?;
    let file = TargetFile::parse(&text, config).map_err(|e| BadInput(e.to_string()))?;
    file.validate(&text, config, Some(target))
        .map_err(|e| BadInput(e.to_string()))
}

pub(crate) fn setup_error(err: impl Into<SuiteError>) -> anyhow::Error {
    let err = err.into();
    // A port another program holds is the lab's trouble (exit 3), not the target file's.
    let port_taken = matches!(
        &err,
        SuiteError::Setup(
            SetupError::BrokerListen { source, .. } | SetupError::NemloginListen { source, .. }
        ) if source.kind() == std::io::ErrorKind::AddrInUse
    );
    match err {
        SuiteError::Setup(
            e @ (SetupError::Unreachable { .. }
            | SetupError::BrokerListen { .. }
            | SetupError::NemloginListen { .. }
            | SetupError::Contract { .. }),
        ) if !port_taken => BadInput(e.to_string()).into(),
        other => anyhow::Error::new(other),
    }
}

/// Writes the reports into `out`, puts the folder in place, prints the summary, picks the exit
/// code. A run interrupted before this point writes nothing.
pub fn finish(report: &SuiteReport, out: OutputDir) -> anyhow::Result<ExitCode> {
    interrupt::check()?;
    let written =
        report::write_all(report, out.path()).map_err(|source| output::OutputError::Io {
            action: "write the reports in",
            path: out.target().to_owned(),
            source,
        })?;
    let dir = out.finish()?;
    print_summary(report);
    println!("\nreports:");
    for path in written {
        println!(
            "  {}",
            dir.join(path.file_name().unwrap_or_default()).display()
        );
    }
    Ok(ExitCode::from(report.decision.exit_code()))
}

pub fn print_summary(report: &SuiteReport) {
    for requirement in &report.requirements {
        if requirement.verdict != Verdict::Passed {
            println!(
                "{:<26} {:<22} {:<6} {}",
                requirement.verdict_text(),
                requirement.id,
                requirement.level.as_str(),
                requirement.title
            );
        }
    }
    let rc = &report.requirement_counts;
    let sc = &report.scenario_counts;
    println!(
        "{}: requirements {} passed, {} failed, {} warnings, {} skipped; scenarios {} passed, {} failed, {} warnings, {} skipped; {:.1} s",
        report.target,
        rc.passed,
        rc.failed,
        rc.warning,
        rc.skipped,
        sc.passed,
        sc.failed,
        sc.warning,
        sc.skipped,
        report.duration_ms as f64 / 1000.0
    );
    println!("{}", report.decision.headline());
}

fn run_selfcheck(args: &SelfcheckArgs) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::embedded();
    let features = load_features(&[], &[SP_FEATURES], &catalogue, None)?;
    let flaws = if args.flaw.is_empty() {
        known_flaws()
    } else {
        args.flaw.clone()
    };
    check_flaws(&flaws)?;
    let run_id = format!("selfcheck-{}", suite::run_tag());
    interrupt::install();
    // Made before the run, so a folder the lab cannot write fails in a second, not after minutes.
    let out = OutputDir::create(&args.reports.join(&run_id), "certify selfcheck", false)?;
    let kind = args.runtime.kind();
    let jobs = args
        .jobs
        .map_or_else(|| suite::selfcheck_jobs(kind), usize::from);
    let check = suite::selfcheck(
        &flaws,
        kind,
        &features,
        &catalogue,
        &run_id,
        jobs,
        selfcheck_progress,
    )
    .map_err(setup_error)?;
    finish_selfcheck(&check, out, "mitid-lab certify selfcheck")
}

/// One line on stderr per finished stack of a self-check (OIDC and OIOSAML).
pub(crate) fn selfcheck_progress(row: &SelfCheckRow) {
    let name = row.flaw.as_deref().unwrap_or("reference");
    eprintln!(
        "{name}: {} ({} MUST failed, {:.1} s)",
        row.verdict(),
        row.failed_musts.len(),
        row.duration_ms as f64 / 1000.0
    );
}

/// Prints a self-check's table and writes it (`selfcheck.md` headed `title`, `selfcheck.json`,
/// the reference run's reports in `reference/`) into `out`; exit 0 only if it holds.
pub(crate) fn finish_selfcheck(
    check: &SelfCheck,
    out: OutputDir,
    title: &str,
) -> anyhow::Result<ExitCode> {
    let table = check.table();
    println!("{table}");
    out.write("selfcheck.md", format!("# {title}\n\n{table}"))?;
    out.write("selfcheck.json", serde_json::to_string_pretty(&check.rows)?)?;
    report::write_all(&check.reference, &out.path().join("reference")).map_err(|source| {
        output::OutputError::Io {
            action: "write the reports in",
            path: out.target().to_owned(),
            source,
        }
    })?;
    let dir = out.finish()?;
    println!("reports: {}", dir.display());
    Ok(if check.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::exit::FAILED)
    })
}
