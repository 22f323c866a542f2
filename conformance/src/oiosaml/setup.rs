//! Standing up the lab's side of an OIOSAML run: the broker (where every NemLog-in login is a
//! `MitID` login), the lab's NemLog-in IdP as the broker's OIDC client, and — for the reference
//! run — the reference SAML service provider, all on loopback in this process with one clock.
//!
//! With `--runtime containers` the broker, the CPR register it reads and NemLog-in run as
//! containers of the project's own image ([`mitid_components::runtime::containers`],
//! [`Component::SAML`]); the reference SAML service provider stays in this process, as an
//! integrator's service would be outside the lab, and registers its metadata through NemLog-in's
//! control API. NemLog-in's entityID is then its URL on the containers' network, which the lab's
//! browser reaches through the stack's routes.

use std::sync::Arc;

use mitid_components::idp::{ClientAuthMethod, ClientConfig, Idp, IdpConfig};
use mitid_components::nemlogin::{BrokerClient, Nemlogin, NemloginConfig};
use mitid_components::reference_saml_sp::{ReferenceSamlSp, SamlFlaw, SamlSpConfig};
use mitid_components::runtime::containers::{self, ContainerOptions};
use mitid_components::runtime::{Component, Endpoint, Stack, StackOptions};
use mitid_components::saml::metadata::{self, EntityMetadata};
use mitid_components::service::{self, LabClock, RunningService};
use tokio::net::TcpListener;
use url::Url;

use super::target::SamlTarget;
use crate::setup::SetupError;
use crate::target::OptionalFeature;
use crate::world::{Lab, LabEndpoints, SamlSide, ServiceProvider};

/// The client NemLog-in is at the lab's broker.
const NEMLOGIN_CLIENT: &str = "nemlogin";

/// A running OIOSAML lab and the [`Lab`] that reaches it. Dropping it stops every service.
pub struct SamlLab {
    pub lab: Arc<Lab>,
    #[allow(dead_code, reason = "held for their Drop, which stops the services")]
    services: Vec<RunningService>,
    /// The containers of a `--runtime containers` run (removed on Drop).
    stack: Option<Stack>,
}

impl SamlLab {
    /// Stops every service and waits for them to end; the containers go when the lab is dropped.
    pub async fn shutdown(self) {
        for service in self.services {
            service.shutdown().await;
        }
        if let Some(stack) = self.stack {
            // Stopping joins the stack's own thread: off the async workers.
            let stopped = tokio::task::spawn_blocking(move || stack.shutdown()).await;
            if let Ok(Err(err)) = stopped {
                eprintln!("mitid-lab: removing the OIOSAML run's containers: {err}");
            }
        }
    }
}

/// Starts the broker, the CPR register and NemLog-in as containers of the project's image
/// ([`Component::SAML`]); blocks until they answer. Call it outside the tokio runtime.
pub fn containers() -> Result<Stack, SetupError> {
    let binary = std::env::current_exe().map_err(runtime_error)?;
    let options = StackOptions {
        population: 200,
        ..StackOptions::default()
    };
    containers::start_components(&Component::SAML, options, &ContainerOptions { binary })
        .map_err(runtime_error)
}

fn runtime_error(e: impl std::fmt::Display) -> SetupError {
    SetupError::Runtime(e.to_string())
}

async fn loopback() -> Result<(TcpListener, String), SetupError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(runtime_error)?;
    let url = format!("http://{}", listener.local_addr().map_err(runtime_error)?);
    Ok((listener, url))
}

/// A base URL with a trailing slash, so `join` appends paths to it.
fn base(text: &str) -> Url {
    let text = if text.ends_with('/') {
        text.to_owned()
    } else {
        format!("{text}/")
    };
    Url::parse(&text).unwrap_or_else(|e| panic!("the lab made a malformed URL {text:?}: {e}"))
}

/// The broker and NemLog-in, running.
struct Idps {
    services: Vec<RunningService>,
    nemlogin: Nemlogin,
    endpoints: LabEndpoints,
    /// NemLog-in's control listener.
    nemlogin_control: Url,
}

/// The broker and NemLog-in (on `nemlogin_listener`), with `service_providers` registered.
async fn start_idps(
    nemlogin_listener: TcpListener,
    nemlogin_url: &str,
    service_providers: Vec<String>,
    clock: &LabClock,
) -> Result<Idps, SetupError> {
    let (broker_public, broker_url) = loopback().await?;
    let (broker_control, broker_control_url) = loopback().await?;
    let (nemlogin_control, _) = loopback().await?;
    let secret = mitid_components::idp::registry::random_token(24);
    let mut config = IdpConfig::new(&broker_url);
    config.clock = clock.clone();
    config.clients = vec![ClientConfig {
        client_id: NEMLOGIN_CLIENT.into(),
        client_secret: Some(secret.clone()),
        redirect_uris: vec![BrokerClient::redirect_uri(nemlogin_url)],
        token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic,
        jwks: None,
        backchannel_logout_uri: None,
        post_logout_redirect_uris: Vec::new(),
        id_token_signed_response_alg: mitid_components::idp::jose::Alg::ES256,
    }];
    let (public, control) = Idp::new(config).map_err(runtime_error)?.routers();
    let mut services = vec![
        service::spawn(broker_public, public).map_err(runtime_error)?,
        service::spawn(broker_control, control).map_err(runtime_error)?,
    ];
    let mut nemlogin_config = NemloginConfig::new(
        nemlogin_url,
        BrokerClient {
            issuer: broker_url.clone(),
            client_id: NEMLOGIN_CLIENT.into(),
            client_secret: secret,
        },
    );
    nemlogin_config.clock = clock.clone();
    nemlogin_config.service_providers = service_providers;
    let nemlogin = Nemlogin::new(nemlogin_config).map_err(runtime_error)?;
    let (public, control) = nemlogin.routers();
    let control_url = format!(
        "http://{}",
        nemlogin_control.local_addr().map_err(runtime_error)?
    );
    services.push(service::spawn(nemlogin_listener, public).map_err(runtime_error)?);
    services.push(service::spawn(nemlogin_control, control).map_err(runtime_error)?);
    let endpoints = LabEndpoints {
        issuer: base(&broker_url),
        control: base(&broker_control_url),
        cpr: None,
        citizen_service: None,
        support: None,
        sms: None,
    };
    Ok(Idps {
        services,
        nemlogin,
        endpoints,
        nemlogin_control: base(&control_url),
    })
}

/// Starts the reference SAML service provider with `flaws`, and the broker and NemLog-in in
/// this process, or uses those of `stack` (a containers run, [`containers`]). Must run inside a
/// tokio runtime.
pub async fn reference(
    flaws: &[SamlFlaw],
    stack: Option<Stack>,
    run_tag: &str,
) -> Result<SamlLab, SetupError> {
    match stack {
        None => reference_embedded(flaws, run_tag).await,
        Some(stack) => reference_in_containers(flaws, stack, run_tag).await,
    }
}

async fn reference_embedded(flaws: &[SamlFlaw], run_tag: &str) -> Result<SamlLab, SetupError> {
    let clock = LabClock::system();
    let (nemlogin_listener, nemlogin_url) = loopback().await?;
    let (sp_listener, sp_url) = loopback().await?;
    // The SP's metadata first (NemLog-in registers it at start), then the IdP's (the SP's
    // configuration names it).
    let keys_only = SamlSpConfig::with_test_keys(
        &sp_url,
        EntityMetadata {
            entity_id: nemlogin_url.clone(),
            signing: Vec::new(),
            encryption: None,
            acs: Vec::new(),
            sso: None,
            slo: None,
        },
    )
    .map_err(runtime_error)?;
    let sp_metadata = keys_only.metadata();
    let Idps {
        mut services,
        nemlogin,
        endpoints,
        nemlogin_control,
    } = start_idps(
        nemlogin_listener,
        &nemlogin_url,
        vec![sp_metadata.clone()],
        &clock,
    )
    .await?;
    let idp = metadata::parse(&nemlogin.metadata()).map_err(runtime_error)?;
    let mut config = SamlSpConfig { idp, ..keys_only };
    config.flaws = flaws.iter().copied().collect();
    config.clock = clock.clone();
    let sp = ReferenceSamlSp::new(config.clone()).map_err(runtime_error)?;
    services.push(service::spawn(sp_listener, sp.router()).map_err(runtime_error)?);
    let mut lab = reference_lab(
        flaws,
        &config,
        endpoints,
        (base(&nemlogin_url), nemlogin_control),
        run_tag,
    )?;
    // NemLog-in, the broker and the SP read one clock.
    lab.shared_clock = true;
    Ok(SamlLab {
        lab: Arc::new(lab),
        services,
        stack: None,
    })
}

/// The reference SAML service provider in this process against the broker and NemLog-in of a
/// containers `stack`: the SP reads NemLog-in's metadata from it and registers its own.
async fn reference_in_containers(
    flaws: &[SamlFlaw],
    stack: Stack,
    run_tag: &str,
) -> Result<SamlLab, SetupError> {
    crate::browser::set_routes(&crate::setup::routes_of(&stack));
    let host = |endpoint| base(stack.endpoint_url(Component::Nemlogin, endpoint));
    let (nemlogin_public, nemlogin_control) = (host(Endpoint::Public), host(Endpoint::Control));
    let http = crate::browser::client_builder()
        .build()
        .map_err(runtime_error)?;
    let idp_metadata = http
        .get(
            nemlogin_public
                .join("saml/metadata")
                .expect("relative path"),
        )
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(runtime_error)?
        .text()
        .await
        .map_err(runtime_error)?;
    let idp = metadata::parse(&idp_metadata).map_err(runtime_error)?;
    let (sp_listener, sp_url) = loopback().await?;
    let mut config = SamlSpConfig::with_test_keys(&sp_url, idp.clone()).map_err(runtime_error)?;
    config.flaws = flaws.iter().copied().collect();
    let sp_metadata = config.metadata();
    http.post(
        nemlogin_control
            .join("control/service-providers")
            .expect("relative path"),
    )
    .body(sp_metadata.clone())
    .send()
    .await
    .and_then(reqwest::Response::error_for_status)
    .map_err(|e| runtime_error(format!("registering the reference SP at NemLog-in: {e}")))?;
    let sp = ReferenceSamlSp::new(config.clone()).map_err(runtime_error)?;
    let services = vec![service::spawn(sp_listener, sp.router()).map_err(runtime_error)?];
    let mut lab = reference_lab(
        flaws,
        &config,
        crate::setup::endpoints_of(&stack),
        // NemLog-in as the SP's redirects name it (its entityID); the browser's routes reach it.
        (base(&idp.entity_id), nemlogin_control),
        run_tag,
    )?;
    // The SP in this process reads the system clock, the containers the run's clock file:
    // scenarios that move the lab clock are skipped (none of the SAML suite does today).
    lab.shared_clock = false;
    Ok(SamlLab {
        lab: Arc::new(lab),
        services,
        stack: Some(stack),
    })
}

/// The lab of a reference run: the reference SAML service provider of `config` (started with
/// `flaws`), and NemLog-in at `(public, control)`.
fn reference_lab(
    flaws: &[SamlFlaw],
    config: &SamlSpConfig,
    endpoints: LabEndpoints,
    (nemlogin, control): (Url, Url),
    run_tag: &str,
) -> Result<Lab, SetupError> {
    let sp_metadata = config.metadata();
    let mut lab = Lab::new(
        reference_provider(flaws, &config.base_url, &sp_metadata)?,
        endpoints,
        run_tag.to_owned(),
    );
    lab.saml = Some(SamlSide {
        nemlogin,
        control,
        sp_metadata: metadata::parse(&sp_metadata).map_err(runtime_error)?,
        required_privilege: Some(config.required_privilege.clone()),
    });
    Ok(lab)
}

/// The reference SAML service provider at `sp_url` as the suite sees it.
fn reference_provider(
    flaws: &[SamlFlaw],
    sp_url: &str,
    sp_metadata: &str,
) -> Result<ServiceProvider, SetupError> {
    let label = if flaws.is_empty() {
        "reference SAML service provider".to_owned()
    } else {
        format!(
            "reference SAML service provider --flaw {}",
            flaws
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let sp_base = base(sp_url);
    let path = |p: &str| sp_base.join(p).expect("relative path");
    let registered = metadata::parse(sp_metadata).map_err(runtime_error)?;
    Ok(ServiceProvider {
        label,
        base_url: sp_base.clone(),
        login_url: path("login"),
        me_url: path("me"),
        logout_url: Some(path("logout")),
        backchannel_logout_url: None,
        business_login_url: Some(path("login?identity=professional")),
        implements: [
            OptionalFeature::RpInitiatedLogout,
            OptionalFeature::BusinessLogins,
        ]
        .into_iter()
        .collect(),
        client_id: registered.entity_id,
        redirect_uri: path("saml/acs"),
    })
}

/// The broker and NemLog-in for an integrator's service: NemLog-in on the fixed
/// `nemlogin.listen` address (its entityID and endpoints are in the IdP metadata the service
/// registered), the service's metadata registered. Must run inside a tokio runtime.
pub async fn external(target: &SamlTarget, run_tag: &str) -> Result<SamlLab, SetupError> {
    let clock = LabClock::system();
    let listener = TcpListener::bind(target.nemlogin_listen)
        .await
        .map_err(|source| SetupError::NemloginListen {
            addr: target.nemlogin_listen,
            source,
        })?;
    let nemlogin_url = format!("http://{}", target.nemlogin_listen);
    let Idps {
        services,
        endpoints,
        nemlogin_control,
        ..
    } = start_idps(
        listener,
        &nemlogin_url,
        vec![target.metadata_xml.clone()],
        &clock,
    )
    .await?;
    let provider = ServiceProvider {
        label: target.base_url.to_string(),
        base_url: target.base_url.clone(),
        login_url: target.login_url.clone(),
        me_url: target.me_url.clone(),
        logout_url: target.logout_url.clone(),
        backchannel_logout_url: None,
        business_login_url: target.business_login_url.clone(),
        implements: target.implements.clone(),
        client_id: target.metadata.entity_id.clone(),
        // The ACS (validated as an http(s) URL with the metadata): where responses are posted.
        redirect_uri: target
            .metadata
            .acs
            .first()
            .and_then(|acs| Url::parse(acs).ok())
            .unwrap_or_else(|| target.base_url.clone()),
    };
    let mut lab = Lab::new(provider, endpoints, run_tag.to_owned());
    lab.saml = Some(SamlSide {
        nemlogin: base(&nemlogin_url),
        control: nemlogin_control,
        sp_metadata: target.metadata.clone(),
        required_privilege: target.business_privilege.clone(),
    });
    Ok(SamlLab {
        lab: Arc::new(lab),
        services,
        stack: None,
    })
}

/// The pre-flight of an OIOSAML service: `GET {login}` redirects to NemLog-in's SSO endpoint
/// with a `SAMLRequest` whose issuer is the registered entityID; `GET {me}` without a session
/// answers 401. A target that fails here is the wrong service or a misconfigured one: one
/// precise error, not twenty-three FAILED requirements.
pub async fn preflight(lab: &Lab) -> Result<(), SetupError> {
    let saml = lab
        .saml
        .as_ref()
        .ok_or_else(|| runtime_error("the SAML pre-flight needs NemLog-in"))?;
    let client = crate::setup::preflight_client()?;
    let contract = |detail: String| SetupError::Contract { detail };
    let sso = saml.nemlogin.join("saml/sso").expect("relative path");
    let login = &lab.sp.login_url;
    let location =
        crate::setup::login_redirect(&client, login, &format!("the lab's NemLog-in ({sso})"))
            .await?;
    if !crate::browser::same_origin(&location, &sso) || location.path() != sso.path() {
        return Err(contract(format!(
            "GET {login} redirected to {}, not to the lab's NemLog-in SSO endpoint {sso}: configure your service with the IdP metadata `certify init --protocol oiosaml` wrote (idp-metadata.xml)",
            crate::evidence::redact_url(location.as_str())
        )));
    }
    let message = crate::actions::nemlogin::redirect_message(&location).map_err(|e| {
        contract(format!(
            "GET {login} redirected to NemLog-in without a readable SAMLRequest (HTTP-Redirect binding): {e}"
        ))
    })?;
    let expected = &saml.sp_metadata.entity_id;
    if !message.xml.contains(&format!(">{expected}<")) {
        return Err(contract(format!(
            "the AuthnRequest from GET {login} does not name the registered entityID {expected:?} as its Issuer: configure your service with the entityID of the metadata in the target file"
        )));
    }
    crate::setup::me_without_session(&client, &lab.sp.me_url).await?;
    Ok(())
}
