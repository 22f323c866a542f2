//! One Docker container per component, from an image built locally out of the lab's binary.
//!
//! Nothing is ever pulled: the image is `FROM scratch` with the `mitid-lab` binary, the shared
//! libraries `ldd` lists for it and the dynamic loader (or the binary alone when it is static).
//! Its tag is derived from the binary's size and modification time, so a rebuilt binary gets a
//! new image and an unchanged one reuses the cached image. It is built with testcontainers'
//! `GenericBuildableImage` (`BuildKit`); should that fail (an engine without `BuildKit`, offline
//! `BuildKit` front-end), the Docker CLI's classic `docker build` builds the same context.
//!
//! Each container runs `mitid-lab components serve NAME --bind 0.0.0.0 --port 8080 ...` on a
//! private network `mitid-lab-<run>`, named `mitid-lab-<run>-<component>`, with the neighbours'
//! URLs as `http://<container-name>:8080`. Readiness is `GET /health` answering 200 on the
//! mapped port.
//!
//! One clock: every container mounts the run's clock volume `mitid-lab-<run>-clock` at
//! [`CLOCK_DIR`] and reads "now" from the clock file there (`--clock-file`, see
//! [`crate::service::LabClock::file`]). The broker's control API writes it, so moving the lab
//! clock (`PUT /control/clock`) moves every container's clock at once, as the shared in-memory
//! clock does for the embedded stack. A volume rather than a host folder: the engine may run
//! where the host's paths do not exist, and the volume needs no permissions on the host.
//!
//! Cleanup: every container, the network and the clock volume carry the labels [`RUN_LABEL`]`=<run id>` and
//! [`PID_LABEL`]`=<pid>`. They are removed when the [`Stack`] is dropped (also while unwinding
//! from a panic, and when its owner stops on SIGINT or SIGTERM: see [`super::interrupt`]); a
//! signal while the stack starts abandons the start and removes what was created; and each start
//! first sweeps away what runs of processes that no longer exist left behind (e.g. after SIGKILL
//! or a second Ctrl-C).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use testcontainers::bollard::Docker;
use testcontainers::bollard::models::{
    ContainerSummary, Network, NetworkCreateRequest, Volume, VolumeCreateRequest,
};
use testcontainers::bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use testcontainers::core::wait::HttpWaitStrategy;
use testcontainers::core::{ContainerPort, Mount, WaitFor};
use testcontainers::runners::{AsyncBuilder, AsyncRunner};
use testcontainers::{ContainerAsync, GenericBuildableImage, GenericImage, ImageExt};
use tokio::sync::oneshot;

use super::interrupt;
use super::stack::Worker;
use super::{
    Component, Endpoint, RuntimeError, RuntimeKind, Stack, StackOptions, Wiring, url_flag,
};

/// Label carrying the run id on every container and network of a run.
pub const RUN_LABEL: &str = "mitid-lab.run";
/// Label carrying the id of the process that owns the run (for the sweep of dead runs).
pub const PID_LABEL: &str = "mitid-lab.pid";
/// Repository name of the locally built image.
pub const IMAGE_NAME: &str = "mitid-lab-components";
/// Port every component's public listener uses inside its container.
pub const PUBLIC_PORT: u16 = 8080;
/// Port of the IdP's control listener inside its container.
pub const CONTROL_PORT: u16 = 8081;

/// Where each container mounts the run's clock volume.
pub const CLOCK_DIR: &str = "/lab-clock";
/// The clock file every container reads "now" from (in [`CLOCK_DIR`]).
pub const CLOCK_FILE: &str = "/lab-clock/now";

/// How long one container may take to answer its health check (a loaded 2-core machine).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Where to find the binary the image is built from.
#[derive(Debug, Clone)]
pub struct ContainerOptions {
    /// The `mitid-lab` binary (tests: `env!("CARGO_BIN_EXE_mitid-lab")`; the CLI: its own path).
    pub binary: PathBuf,
}

/// Starts every available component of [`Component::in_default_stack`] in its own container.
pub fn start(options: StackOptions, containers: &ContainerOptions) -> Result<Stack, RuntimeError> {
    let components: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|c| c.in_default_stack() && c.is_available())
        .collect();
    start_components(&components, options, containers)
}

struct Ready {
    host_urls: Wiring,
    internal_urls: Wiring,
    host_overrides: Vec<(String, SocketAddr)>,
}

/// Starts the given components in containers on a private network.
pub fn start_components(
    components: &[Component],
    options: StackOptions,
    containers: &ContainerOptions,
) -> Result<Stack, RuntimeError> {
    let run_id = new_run_id();
    let components = components.to_vec();
    let binary = containers.binary.clone();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<Ready, RuntimeError>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let identities = super::test_identities(&options);
    let lab_client = super::LabClient::for_options(&options);
    let thread_run_id = run_id.clone();

    let thread = std::thread::Builder::new()
        .name(format!("mitid-lab-{run_id}"))
        .spawn(move || -> Result<(), RuntimeError> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(RuntimeError::Runtime)?;
            let run_id = thread_run_id;
            runtime.block_on(async move {
                let docker = connect().await?;
                interrupt::install();
                // Ctrl-C while images build or containers start abandons the start; the
                // containers already created are removed by label below.
                let started = tokio::select! {
                    biased;
                    stopped = interrupt::wait() => Err((Running::new(), RuntimeError::Interrupted(stopped))),
                    started = run(&docker, &run_id, &components, &options, &binary) => started,
                };
                let running = match started {
                    Ok((running, ready)) => {
                        let _ = ready_tx.send(Ok(ready));
                        // Stopped by the stack's owner, who also hears of an interrupt and
                        // drops the stack on its way out.
                        let _ = stop_rx.await;
                        running
                    }
                    Err((running, err)) => {
                        let _ = ready_tx.send(Err(err));
                        running
                    }
                };
                teardown(&docker, &run_id, running).await
            })
        })
        .map_err(RuntimeError::Runtime)?;

    let mut worker = Worker {
        stop: Some(stop_tx),
        thread: Some(thread),
    };
    match ready_rx.recv() {
        Ok(Ok(ready)) => Ok(Stack {
            kind: RuntimeKind::Containers,
            host_urls: ready.host_urls,
            internal_urls: ready.internal_urls,
            host_overrides: ready.host_overrides,
            identities,
            lab_client,
            run_id,
            worker: Some(worker),
        }),
        Ok(Err(err)) => {
            if let Err(teardown) = worker.stop() {
                eprintln!("mitid-lab: cleaning up the failed container run {run_id}: {teardown}");
            }
            Err(err)
        }
        // The worker ended without a word: it failed before starting (no Docker engine).
        Err(_) => Err(worker.stop().err().unwrap_or(RuntimeError::StackThreadDied)),
    }
}

type Running = Vec<(Component, ContainerAsync<GenericImage>)>;

/// Builds the image, creates the network and starts each container. On failure hands back what
/// was started so the caller can remove it.
async fn run(
    docker: &Docker,
    run_id: &str,
    components: &[Component],
    options: &StackOptions,
    binary: &Path,
) -> Result<(Running, Ready), (Running, RuntimeError)> {
    let mut running = Running::new();
    if let Err(err) = sweep_dead_runs(docker).await {
        eprintln!("mitid-lab: sweeping containers of dead runs: {err}");
    }
    let image = match build_image(binary).await {
        Ok(image) => image,
        Err(err) => return Err((running, err)),
    };
    let (network, clock_volume) = match create_network_and_clock(docker, run_id).await {
        Ok(created) => created,
        Err(err) => return Err((running, err)),
    };

    let internal_urls = internal_wiring(run_id, components);

    let mut host_urls = Wiring::new();
    let mut host_overrides = Vec::new();
    for &component in components {
        let name = container_name(run_id, component);
        let mut image = image
            .clone()
            .with_exposed_port(ContainerPort::Tcp(PUBLIC_PORT))
            .with_wait_for(WaitFor::http(
                HttpWaitStrategy::new("/health")
                    .with_port(ContainerPort::Tcp(PUBLIC_PORT))
                    .with_poll_interval(Duration::from_millis(200))
                    .with_expected_status_code(200_u16),
            ));
        if component.endpoints().contains(&Endpoint::Control) {
            image = image.with_exposed_port(ContainerPort::Tcp(CONTROL_PORT));
        }
        let request = image
            .with_cmd(serve_args(component, &internal_urls, options))
            .with_container_name(&name)
            .with_network(&network)
            .with_mount(Mount::volume_mount(&clock_volume, CLOCK_DIR))
            .with_label(RUN_LABEL, run_id)
            .with_label(PID_LABEL, std::process::id().to_string())
            .with_startup_timeout(STARTUP_TIMEOUT);
        let container = match request.start().await {
            Ok(container) => container,
            Err(err) => {
                let detail = container_logs(docker, &name).await;
                return Err((
                    running,
                    RuntimeError::ContainerStart {
                        component,
                        detail: format!("{err}{detail}"),
                    },
                ));
            }
        };
        for &endpoint in component.endpoints() {
            let port = match endpoint {
                Endpoint::Public => PUBLIC_PORT,
                Endpoint::Control => CONTROL_PORT,
            };
            let mapped = match container.get_host_port_ipv4(ContainerPort::Tcp(port)).await {
                Ok(mapped) => mapped,
                Err(err) => {
                    running.push((component, container));
                    return Err((
                        running,
                        RuntimeError::ContainerStart {
                            component,
                            detail: format!("no mapped port for {port}: {err}"),
                        },
                    ));
                }
            };
            let addr = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), mapped);
            host_urls.set(component, endpoint, format!("http://{addr}"));
            if endpoint == Endpoint::Public {
                host_overrides.push((name.clone(), addr));
            }
        }
        running.push((component, container));
    }
    Ok((
        running,
        Ready {
            host_urls,
            internal_urls,
            host_overrides,
        },
    ))
}

/// Each component's URLs as the other containers reach it (its container name on the network).
fn internal_wiring(run_id: &str, components: &[Component]) -> Wiring {
    let mut internal_urls = Wiring::new();
    for &component in components {
        let host = container_name(run_id, component);
        internal_urls.set(
            component,
            Endpoint::Public,
            format!("http://{host}:{PUBLIC_PORT}"),
        );
        if component.endpoints().contains(&Endpoint::Control) {
            internal_urls.set(
                component,
                Endpoint::Control,
                format!("http://{host}:{CONTROL_PORT}"),
            );
        }
    }
    internal_urls
}

/// The arguments of `mitid-lab components serve` for one component in a container.
#[must_use]
pub fn serve_args(
    component: Component,
    internal_urls: &Wiring,
    options: &StackOptions,
) -> Vec<String> {
    let mut args = vec![
        "components".to_owned(),
        "serve".to_owned(),
        component.name().to_owned(),
        "--bind".to_owned(),
        "0.0.0.0".to_owned(),
        "--port".to_owned(),
        PUBLIC_PORT.to_string(),
        "--control-port".to_owned(),
        CONTROL_PORT.to_string(),
        "--seed".to_owned(),
        options.seed.to_string(),
        "--population".to_owned(),
        options.population.to_string(),
        "--test-identities".to_owned(),
        options.test_identities.to_string(),
        "--clock-file".to_owned(),
        CLOCK_FILE.to_owned(),
    ];
    if let Some(limit) = options.login_rate_limit {
        args.push("--login-rate-limit".to_owned());
        args.push(limit.to_string());
    }
    for flaw in &options.flaws {
        args.push("--flaw".to_owned());
        args.push(flaw.clone());
    }
    for (neighbour, endpoint, url) in internal_urls.iter() {
        args.push(format!("--{}", url_flag(neighbour, endpoint)));
        args.push(url.to_owned());
    }
    args
}

/// Removes the containers (testcontainers' `rm`), then the network, then anything left with the
/// run's label.
async fn teardown(docker: &Docker, run_id: &str, running: Running) -> Result<(), RuntimeError> {
    let mut failures = Vec::new();
    for (component, container) in running {
        if let Err(err) = container.rm().await {
            failures.push(format!("removing the {component} container: {err}"));
        }
    }
    if let Err(err) = remove_run(docker, run_id).await {
        failures.push(err.to_string());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(RuntimeError::Docker(failures.join("; ")))
    }
}

async fn connect() -> Result<Docker, RuntimeError> {
    let docker = Docker::connect_with_local_defaults()
        .map_err(|err| RuntimeError::Docker(format!("no Docker engine: {err}")))?;
    docker
        .ping()
        .await
        .map_err(|err| RuntimeError::Docker(format!("no Docker engine answers: {err}")))?;
    Ok(docker)
}

/// Whether a Docker engine answers on this machine (tests decide to skip or fail on this).
pub fn docker_available() -> Result<(), RuntimeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RuntimeError::Runtime)?;
    runtime.block_on(async { connect().await.map(|_| ()) })
}

fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    // Short enough for readable container names, unique per process and start.
    format!(
        "{}-{:x}",
        std::process::id(),
        (nanos & 0xffff_ffff_ffff) as u64
    )
}

/// `mitid-lab-<run>`: the run's private network.
#[must_use]
pub fn network_name(run_id: &str) -> String {
    format!("mitid-lab-{run_id}")
}

/// `mitid-lab-<run>-clock`: the run's clock volume.
#[must_use]
pub fn clock_volume_name(run_id: &str) -> String {
    format!("mitid-lab-{run_id}-clock")
}

/// `mitid-lab-<run>-<component>`: a container's name and its host name on the network.
#[must_use]
pub fn container_name(run_id: &str, component: Component) -> String {
    format!("mitid-lab-{run_id}-{}", component.name())
}

async fn create_network(docker: &Docker, name: &str, run_id: &str) -> Result<(), RuntimeError> {
    let labels = HashMap::from([
        (RUN_LABEL.to_owned(), run_id.to_owned()),
        (PID_LABEL.to_owned(), std::process::id().to_string()),
    ]);
    docker
        .create_network(NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            labels: Some(labels),
            ..NetworkCreateRequest::default()
        })
        .await
        .map_err(|err| RuntimeError::Docker(format!("creating network {name}: {err}")))?;
    Ok(())
}

/// The run's network and clock volume, by name.
async fn create_network_and_clock(
    docker: &Docker,
    run_id: &str,
) -> Result<(String, String), RuntimeError> {
    let network = network_name(run_id);
    create_network(docker, &network, run_id).await?;
    let clock_volume = clock_volume_name(run_id);
    create_clock_volume(docker, &clock_volume, run_id).await?;
    Ok((network, clock_volume))
}

async fn create_clock_volume(
    docker: &Docker,
    name: &str,
    run_id: &str,
) -> Result<(), RuntimeError> {
    let labels = HashMap::from([
        (RUN_LABEL.to_owned(), run_id.to_owned()),
        (PID_LABEL.to_owned(), std::process::id().to_string()),
    ]);
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..VolumeCreateRequest::default()
        })
        .await
        .map_err(|err| RuntimeError::Docker(format!("creating volume {name}: {err}")))?;
    Ok(())
}

/// Force-removes every container, network and volume labelled with `run_id`.
async fn remove_run(docker: &Docker, run_id: &str) -> Result<(), RuntimeError> {
    remove_labelled(docker, &format!("{RUN_LABEL}={run_id}")).await
}

/// What carries a run's label: containers (running or not), networks, volumes.
struct Labelled {
    containers: Vec<ContainerSummary>,
    networks: Vec<Network>,
    volumes: Vec<Volume>,
}

/// Every container (running or not), network and volume carrying `label_filter` (`key` or
/// `key=value`): what a run's cleanup and the sweep of dead runs both start from.
async fn list_labelled(docker: &Docker, label_filter: &str) -> Result<Labelled, RuntimeError> {
    let filters = HashMap::from([("label", vec![label_filter])]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(|err| RuntimeError::Docker(format!("listing containers {label_filter}: {err}")))?;
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|err| RuntimeError::Docker(format!("listing networks {label_filter}: {err}")))?;
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|err| RuntimeError::Docker(format!("listing volumes {label_filter}: {err}")))?
        .volumes
        .unwrap_or_default();
    Ok(Labelled {
        containers,
        networks,
        volumes,
    })
}

async fn remove_labelled(docker: &Docker, label_filter: &str) -> Result<(), RuntimeError> {
    let Labelled {
        containers,
        networks,
        volumes,
    } = list_labelled(docker, label_filter).await?;
    let mut failures = Vec::new();
    for container in containers {
        let Some(id) = container.id else { continue };
        let removal = docker
            .remove_container(
                &id,
                Some(
                    RemoveContainerOptionsBuilder::new()
                        .force(true)
                        .v(true)
                        .build(),
                ),
            )
            .await;
        if let Err(err) = removal
            && !is_not_found(&err)
        {
            failures.push(format!("container {id}: {err}"));
        }
    }
    for network in networks {
        let Some(id) = network.id else { continue };
        if let Err(err) = docker.remove_network(&id).await
            && !is_not_found(&err)
        {
            failures.push(format!("network {id}: {err}"));
        }
    }
    // After the containers: a volume in use cannot be removed.
    for volume in volumes {
        let removal = docker
            .remove_volume(
                &volume.name,
                Some(RemoveVolumeOptionsBuilder::new().force(true).build()),
            )
            .await;
        if let Err(err) = removal
            && !is_not_found(&err)
        {
            failures.push(format!("volume {}: {err}", volume.name));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(RuntimeError::Docker(format!(
            "removing {label_filter}: {}",
            failures.join("; ")
        )))
    }
}

fn is_not_found(err: &testcontainers::bollard::errors::Error) -> bool {
    matches!(
        err,
        testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Removes containers, networks and volumes of runs whose owning process is gone.
async fn sweep_dead_runs(docker: &Docker) -> Result<(), RuntimeError> {
    let Labelled {
        containers,
        networks,
        volumes,
    } = list_labelled(docker, RUN_LABEL).await?;
    let mut dead_runs: Vec<String> = Vec::new();
    let labels = containers
        .into_iter()
        .filter_map(|c| c.labels)
        .chain(networks.into_iter().filter_map(|n| n.labels))
        .chain(volumes.into_iter().map(|v| v.labels));
    for labels in labels {
        let (Some(run), pid) = (labels.get(RUN_LABEL), labels.get(PID_LABEL)) else {
            continue;
        };
        let alive = pid
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(process_alive);
        if !alive && !dead_runs.contains(run) {
            dead_runs.push(run.clone());
        }
    }
    for run in dead_runs {
        eprintln!("mitid-lab: removing containers and network left by dead run {run}");
        remove_run(docker, &run).await?;
    }
    Ok(())
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The last lines a failed container printed, for the error message.
async fn container_logs(docker: &Docker, name: &str) -> String {
    use testcontainers::bollard::query_parameters::LogsOptionsBuilder;
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail("20")
        .build();
    let mut stream = std::pin::pin!(docker.logs(name, Some(options)));
    let mut text = String::new();
    while let Some(Ok(chunk)) =
        std::future::poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx)).await
    {
        text.push_str(&chunk.to_string());
    }
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("; its last output:\n{}", text.trim_end())
    }
}

/// Builds (or reuses) the image for `binary` and returns it.
async fn build_image(binary: &Path) -> Result<GenericImage, RuntimeError> {
    let tag = image_tag(binary)?;
    let context = ImageContext::assemble(binary)?;
    let buildable = GenericBuildableImage::new(IMAGE_NAME, tag.as_str())
        .with_dockerfile_string(DOCKERFILE)
        .with_file(context.rootfs(), "rootfs");
    let options = testcontainers::core::BuildImageOptions::new().with_skip_if_exists(true);
    let built = match buildable.build_image_with(options).await {
        Ok(image) => Ok(image),
        Err(buildkit_err) => {
            // BuildKit through the API needs a session the engine may refuse; the classic builder
            // of the CLI needs nothing but the context.
            cli_build(&context, &tag).await.map_err(|cli_err| {
                RuntimeError::ImageBuild(format!(
                    "BuildKit: {buildkit_err}; docker build: {cli_err}"
                ))
            })?;
            Ok(GenericImage::new(IMAGE_NAME, tag.as_str()))
        }
    };
    if built.is_ok() {
        prune_stale_images(&tag).await;
    }
    built
}

/// Removes this image's older tags (one per binary the lab was built into), so repeated test
/// runs don't pile up 100+ MB images. An image a running container still uses is kept: `docker
/// rmi` without `--force` refuses it, and that refusal is expected, not an error.
async fn prune_stale_images(current_tag: &str) {
    let current = current_tag.to_owned();
    let pruned = tokio::task::spawn_blocking(move || {
        let listed = std::process::Command::new("docker")
            .args(["images", IMAGE_NAME, "--format", "{{.Tag}}"])
            .output()
            .ok()?;
        let stale: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .map(str::trim)
            .filter(|tag| !tag.is_empty() && *tag != current && *tag != "<none>")
            .map(|tag| format!("{IMAGE_NAME}:{tag}"))
            .collect();
        if !stale.is_empty() {
            let _ = std::process::Command::new("docker")
                .arg("rmi")
                .args(&stale)
                .output();
        }
        Some(())
    })
    .await;
    drop(pruned);
}

const DOCKERFILE: &str = "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/mitid-lab\"]\n";

async fn cli_build(context: &ImageContext, tag: &str) -> Result<(), String> {
    std::fs::write(context.dir.join("Dockerfile"), DOCKERFILE)
        .map_err(|err| format!("writing the Dockerfile: {err}"))?;
    let dir = context.dir.clone();
    let image = format!("{IMAGE_NAME}:{tag}");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("docker")
            .args(["build", "--quiet", "--tag", &image])
            .arg(&dir)
            .env("DOCKER_BUILDKIT", "0")
            .output()
    })
    .await
    .map_err(|err| format!("docker build task: {err}"))?
    .map_err(|err| format!("running docker: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Tag from the binary's size and modification time: a rebuilt binary gets a new image.
fn image_tag(binary: &Path) -> Result<String, RuntimeError> {
    let metadata = std::fs::metadata(binary)
        .map_err(|err| RuntimeError::ImageBuild(format!("reading {}: {err}", binary.display())))?;
    let modified = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |elapsed| elapsed.as_nanos());
    Ok(format!(
        "b{:x}-{:x}",
        metadata.len(),
        modified & 0xffff_ffff_ffff_ffff
    ))
}

/// A temporary build context: `rootfs/` holding the binary and what it needs to run.
struct ImageContext {
    dir: PathBuf,
}

impl ImageContext {
    fn assemble(binary: &Path) -> Result<ImageContext, RuntimeError> {
        let dir = std::env::temp_dir().join(format!("mitid-lab-image-{}", new_run_id()));
        let context = ImageContext { dir };
        let rootfs = context.rootfs();
        let io =
            |what: &str, err: std::io::Error| RuntimeError::ImageBuild(format!("{what}: {err}"));
        std::fs::create_dir_all(&rootfs)
            .map_err(|err| io(&format!("creating {}", rootfs.display()), err))?;
        std::fs::copy(binary, rootfs.join("mitid-lab"))
            .map_err(|err| io(&format!("copying {}", binary.display()), err))?;
        for library in shared_libraries(binary)? {
            let relative = library.strip_prefix("/").unwrap_or(&library);
            let target = rootfs.join(relative);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|err| io(&format!("creating {}", parent.display()), err))?;
            }
            // `copy` follows symlinks: the image gets the library under the name the loader asks for.
            std::fs::copy(&library, &target)
                .map_err(|err| io(&format!("copying {}", library.display()), err))?;
        }
        Ok(context)
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
}

impl Drop for ImageContext {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The absolute paths `ldd` names for `binary` (libraries and the loader); empty when static.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, RuntimeError> {
    let output = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|err| {
            RuntimeError::ImageBuild(format!("running ldd on {}: {err}", binary.display()))
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // glibc's ldd says "not a dynamic executable" (exit 1) for a static binary.
        if stderr.contains("not a dynamic executable") || text.contains("statically linked") {
            return Ok(Vec::new());
        }
        return Err(RuntimeError::ImageBuild(format!(
            "ldd {}: {}",
            binary.display(),
            stderr.trim()
        )));
    }
    Ok(parse_ldd(&text))
}

/// Paths from `ldd` output: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` and
/// `/lib64/ld-linux-x86-64.so.2 (0x...)`; `linux-vdso.so.1 (0x...)` has no file.
#[must_use]
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for line in text.lines() {
        let target = line
            .split_once("=>")
            .map_or(line, |(_, right)| right)
            .trim();
        let path = target.split_whitespace().next().unwrap_or("");
        if path.starts_with('/') && !paths.iter().any(|known: &PathBuf| known == Path::new(path)) {
            paths.push(PathBuf::from(path));
        }
    }
    paths
}
