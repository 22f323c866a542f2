//! `mitid-lab components`: start the whole set, serve one component, list the reference service
//! provider's flaws.

use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use mitid_components::reference_sp::{Flaw, FlawCatalogue};
use mitid_components::runtime::containers::ContainerOptions;
use mitid_components::runtime::{self, Component, Endpoint, Stack, StackOptions, Wiring};
use mitid_components::service::LabClock;

use super::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Start every component, wired together; print the URLs and test identities; stop on Ctrl-C.
    Up(UpArgs),
    /// Run one component (what each container runs).
    // Boxed: its many URL flags make it several times larger than the other variants.
    Serve(Box<ServeArgs>),
    /// List the named flaws the reference service provider can be started with.
    Flaws,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RuntimeChoice {
    /// In this process, on 127.0.0.1 (no Docker needed).
    Embedded,
    /// One Docker container per component, from an image built locally from this binary.
    Containers,
}

/// What every component is started with.
#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// Seed of the CPR register and the test identities.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Persons the CPR register generates.
    #[arg(long, default_value_t = 1_000)]
    population: usize,
    /// A named flaw of the reference service provider (repeatable; see `components flaws`).
    #[arg(long = "flaw", value_name = "NAME")]
    flaws: Vec<String>,
    /// Test identities the IdP knows from the start.
    #[arg(long, default_value_t = 8)]
    test_identities: usize,
    /// Logins per person per minute the IdP accepts (default: the IdP's own limit).
    #[arg(long)]
    login_rate_limit: Option<u32>,
    /// Read "now" from this lab clock file, shared with the other components (each container
    /// of a run mounts the same one); the IdP's control API writes it. Default: this process's
    /// own clock.
    #[arg(long, value_name = "PATH")]
    clock_file: Option<std::path::PathBuf>,
}

impl CommonArgs {
    /// The options, with every flaw name checked (bad input, exit 2).
    fn stack_options(&self) -> Result<StackOptions, BadInput> {
        for name in &self.flaws {
            name.parse::<Flaw>().map_err(|_| {
                let known = FlawCatalogue::embedded().names();
                BadInput(format!(
                    "--flaw {name:?}: no such flaw; known: {}",
                    known.join(", ")
                ))
            })?;
        }
        Ok(StackOptions {
            seed: self.seed,
            population: self.population,
            flaws: self.flaws.clone(),
            test_identities: self.test_identities,
            login_rate_limit: self.login_rate_limit,
            clock: self
                .clock_file
                .as_ref()
                .map_or_else(LabClock::system, LabClock::file),
            ..StackOptions::default()
        })
    }
}

#[derive(Debug, clap::Args)]
struct UpArgs {
    /// Where the components run.
    #[arg(long, value_enum, default_value_t = RuntimeChoice::Embedded)]
    runtime: RuntimeChoice,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Which component: idp, cpr, citizen-service, support, sms, reference-sp, nemlogin.
    name: String,
    /// Address to listen on (0.0.0.0 in a container).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port of the public listener (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Port of the control listener of the IdP or NemLog-in (0: any free port).
    #[arg(long, default_value_t = 0)]
    control_port: u16,
    #[command(flatten)]
    common: CommonArgs,
    /// The IdP's public URL (its issuer).
    #[arg(long)]
    idp_url: Option<String>,
    /// The IdP's control API URL.
    #[arg(long)]
    idp_control_url: Option<String>,
    /// The CPR register's URL.
    #[arg(long)]
    cpr_url: Option<String>,
    /// Citizen Service's URL.
    #[arg(long)]
    citizen_service_url: Option<String>,
    /// The support line's URL.
    #[arg(long)]
    support_url: Option<String>,
    /// The SMS gateway's URL.
    #[arg(long)]
    sms_url: Option<String>,
    /// The reference service provider's URL.
    #[arg(long)]
    reference_sp_url: Option<String>,
    /// NemLog-in's public URL (its entityID; the broker registers it as a client).
    #[arg(long)]
    nemlogin_url: Option<String>,
    /// NemLog-in's control API URL.
    #[arg(long)]
    nemlogin_control_url: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Up(up) => run_up(&up),
        Command::Serve(serve) => run_serve(&serve),
        Command::Flaws => Ok(run_flaws()),
    }
}

fn run_up(args: &UpArgs) -> anyhow::Result<ExitCode> {
    let options = args.common.stack_options()?;
    let stack = match args.runtime {
        RuntimeChoice::Embedded => {
            runtime::embedded::start(options).context("starting the embedded components")?
        }
        RuntimeChoice::Containers => {
            let binary =
                std::env::current_exe().context("finding this binary to build the image from")?;
            eprintln!(
                "building the image from {} and starting one container per component...",
                binary.display()
            );
            runtime::containers::start(options, &ContainerOptions { binary })
                .context("starting the components in containers")?
        }
    };
    let local = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let checks = local
        .block_on(runtime::probe::check_stack(&stack))
        .map_err(|failure| {
            anyhow::anyhow!("the components started but do not answer as they should: {failure}")
        })?;
    print_stack(&stack);
    println!(
        "\n{} health and API checks passed; press Ctrl-C to stop",
        checks.len()
    );
    // Ctrl-C or SIGTERM is how `up` is told to stop: the components are stopped (containers
    // and their network removed) and the command ends normally.
    runtime::interrupt::install();
    let stopped = runtime::interrupt::wait_blocking();
    eprintln!("{}: stopping...", stopped.signal);
    stack.shutdown().context("stopping the components")?;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("watching for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("watching for Ctrl-C")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

fn print_stack(stack: &Stack) {
    println!(
        "mitid-lab components ({:?}, run {}):",
        stack.kind(),
        stack.run_id()
    );
    for component in stack.components() {
        for &endpoint in component.endpoints() {
            let label = match endpoint {
                Endpoint::Public => component.name().to_owned(),
                Endpoint::Control => format!("{} (control)", component.name()),
            };
            println!("  {label:<22} {}", stack.endpoint_url(component, endpoint));
        }
    }
    if stack.components().contains(&Component::Idp) && stack.issuer() != stack.url(Component::Idp) {
        println!(
            "  issuer                 {} (resolve it to {})",
            stack.issuer(),
            stack.url(Component::Idp)
        );
    }
    let identities = stack.identities();
    if identities.is_empty() {
        println!("\ntest identities: none");
    } else {
        println!("\ntest identities (log in headless with login_hint=test:<user id>):");
        for identity in identities {
            println!(
                "  {:<20} {:<28} CPR {:<11} IAL {}",
                identity.user_id,
                identity.name,
                identity.cpr.as_deref().unwrap_or("-"),
                identity.ial
            );
        }
    }
}

fn run_serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let component = Component::from_name(&args.name).ok_or_else(|| {
        BadInput(runtime::RuntimeError::UnknownComponent(args.name.clone()).to_string())
    })?;
    let wiring = neighbour_wiring(args)?;
    let options = args.common.stack_options()?;
    serve_wired(component, args, wiring, &options)
}

/// The neighbours' URLs given as flags (`--idp-url`, `--cpr-url`, ...), each checked.
fn neighbour_wiring(args: &ServeArgs) -> anyhow::Result<Wiring> {
    let mut wiring = Wiring::new();
    for (neighbour, endpoint, url) in [
        (Component::Idp, Endpoint::Public, &args.idp_url),
        (Component::Idp, Endpoint::Control, &args.idp_control_url),
        (Component::Cpr, Endpoint::Public, &args.cpr_url),
        (
            Component::CitizenService,
            Endpoint::Public,
            &args.citizen_service_url,
        ),
        (Component::Support, Endpoint::Public, &args.support_url),
        (Component::Sms, Endpoint::Public, &args.sms_url),
        (
            Component::ReferenceSp,
            Endpoint::Public,
            &args.reference_sp_url,
        ),
        (Component::Nemlogin, Endpoint::Public, &args.nemlogin_url),
        (
            Component::Nemlogin,
            Endpoint::Control,
            &args.nemlogin_control_url,
        ),
    ] {
        if let Some(url) = url {
            let parsed = url::Url::parse(url).map_err(|err| {
                BadInput(format!(
                    "--{}: {url:?} is not a URL: {err}",
                    runtime::url_flag(neighbour, endpoint)
                ))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(BadInput(format!(
                    "--{}: {url:?} is not an http URL",
                    runtime::url_flag(neighbour, endpoint)
                ))
                .into());
            }
            wiring.set(neighbour, endpoint, url.clone());
        }
    }
    Ok(wiring)
}

fn serve_wired(
    component: Component,
    args: &ServeArgs,
    mut wiring: Wiring,
    options: &StackOptions,
) -> anyhow::Result<ExitCode> {
    let tokio_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio_runtime.block_on(async move {
        // Bind first: with port 0 the component's own default URL needs the real port.
        let public = tokio::net::TcpListener::bind((args.bind, args.port))
            .await
            .map_err(|err| {
                BadInput(format!(
                    "--port {}: cannot listen on {}:{}: {err}",
                    args.port, args.bind, args.port
                ))
            })?;
        let public_port = public.local_addr()?.port();
        let control_port = if component.endpoints().contains(&Endpoint::Control) {
            let control = tokio::net::TcpListener::bind((args.bind, args.control_port))
                .await
                .map_err(|err| {
                    BadInput(format!(
                        "--control-port {}: cannot listen on {}:{}: {err}",
                        args.control_port, args.bind, args.control_port
                    ))
                })?;
            let port = control.local_addr()?.port();
            if wiring.get(component, Endpoint::Control).is_none() {
                wiring.set(
                    component,
                    Endpoint::Control,
                    format!("http://{}:{port}", display_host(args.bind)),
                );
            }
            Some(control)
        } else {
            None
        };
        if wiring.get(component, Endpoint::Public).is_none() {
            wiring.set(
                component,
                Endpoint::Public,
                format!("http://{}:{public_port}", display_host(args.bind)),
            );
        }
        let listeners = runtime::embedded::ComponentListeners {
            public,
            control: control_port,
        };
        eprintln!(
            "{component} listening on {}:{public_port}{}",
            args.bind,
            listeners
                .control
                .as_ref()
                .and_then(|c| c.local_addr().ok())
                .map(|a| format!(", control on {a}"))
                .unwrap_or_default()
        );
        runtime::embedded::serve_component(component, listeners, &wiring, options, async {
            let _ = wait_for_stop_signal().await;
        })
        .await
        .map_err(|err| match err {
            runtime::RuntimeError::MissingUrl { .. }
            | runtime::RuntimeError::BadOption(_)
            | runtime::RuntimeError::UnknownComponent(_) => {
                anyhow::Error::new(BadInput(err.to_string()))
            }
            other => anyhow::Error::new(other),
        })?;
        eprintln!("{component} stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// `127.0.0.1` stays as is; an unspecified bind address (`0.0.0.0`) is reached as `127.0.0.1`.
fn display_host(bind: IpAddr) -> String {
    if bind.is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        bind.to_string()
    }
}

fn run_flaws() -> ExitCode {
    println!(
        "flaws of the reference service provider (start it with --flaw NAME, repeatable; {}):",
        mitid_components::reference_sp::flaws::FLAW_CATALOGUE_PATH
    );
    for entry in &FlawCatalogue::embedded().entries {
        println!(
            "  {:<36} {} [caught by {}]",
            entry.name, entry.description, entry.requirement
        );
    }
    ExitCode::SUCCESS
}
