//! The command line and the parts of `target.yaml` (written by `mitid-lab certify init`) this
//! service reads.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(about = "Example MitID service provider (openidconnect crate) for `mitid-lab certify`")]
pub(crate) struct Args {
    /// Target file written by `mitid-lab certify init`.
    #[arg(long, default_value = "target.yaml")]
    pub(crate) config: PathBuf,
    /// Address to listen on (default: host and port of `service_provider.base_url`).
    #[arg(long)]
    pub(crate) listen: Option<SocketAddr>,
}

/// The parts of `target.yaml` this service needs.
#[derive(Debug, Deserialize)]
pub(crate) struct TargetFile {
    pub(crate) service_provider: ServiceProviderSection,
    pub(crate) client: ClientSection,
    pub(crate) broker: BrokerSection,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ServiceProviderSection {
    pub(crate) base_url: String,
    pub(crate) login_path: String,
    pub(crate) me_path: String,
    pub(crate) logout_path: Option<String>,
    pub(crate) backchannel_logout_path: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ClientSection {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) redirect_uri: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BrokerSection {
    pub(crate) listen: String,
}

pub(crate) fn load_target(path: &PathBuf) -> anyhow::Result<TargetFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_yaml::from_str(&text)
        .with_context(|| format!("{} is not a valid target file", path.display()))
}

pub(crate) fn path_of(url: &str) -> anyhow::Result<String> {
    Ok(url::Url::parse(url)
        .with_context(|| format!("bad URL {url:?}"))?
        .path()
        .to_owned())
}
