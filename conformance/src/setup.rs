//! Standing up the lab's side for a run: the embedded (or containerised) components with the
//! reference service provider, or only the broker for an integrator's own service.

use std::sync::Arc;

use mitid_components::idp::{ClientAuthMethod, ClientConfig, Idp, IdpConfig};
use mitid_components::reference_sp;
use mitid_components::runtime::{Component, Endpoint, RuntimeKind, Stack, StackOptions};
use mitid_components::service::{self, RunningService};
use url::Url;

use super::target::{OptionalFeature, Target};
use super::world::{Lab, LabEndpoints, ServiceProvider};

/// Why the lab's side could not be set up (the CLI reports these as bad input when the user's
/// file or target is at fault).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the lab's components did not start: {0}")]
    Runtime(String),
    #[error("the broker cannot listen on {addr} (broker.listen in the target file): {source}")]
    BrokerListen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "the lab's NemLog-in cannot listen on {addr} (nemlogin.listen in the target file): {source}"
    )]
    NemloginListen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the target {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("pre-flight: the target does not keep the integrator contract: {detail}")]
    Contract { detail: String },
    #[error("the reference service provider is not part of this build of the components")]
    NoReferenceSp,
}

/// A running reference stack and the [`Lab`] that reaches it. Dropping it stops the stack.
pub struct ReferenceLab {
    pub lab: Arc<Lab>,
    /// Kept so that dropping the [`ReferenceLab`] stops the components.
    #[allow(dead_code, reason = "held for its Drop, which stops the stack")]
    pub stack: Stack,
}

/// Starts the components with the reference service provider (with `flaws`, none for a correct
/// one) and describes them as a [`Lab`]. The reference provider is treated like any integrator's
/// service: its client id is read from the authorization request it builds.
pub fn reference(
    flaws: &[String],
    kind: RuntimeKind,
    run_tag: &str,
    runtime: &tokio::runtime::Runtime,
) -> Result<ReferenceLab, SetupError> {
    let options = StackOptions {
        flaws: flaws.to_vec(),
        population: 200,
        ..StackOptions::default()
    };
    let stack = match kind {
        RuntimeKind::Embedded => mitid_components::runtime::embedded::start(options),
        RuntimeKind::Containers => {
            let binary = std::env::current_exe().map_err(|e| SetupError::Runtime(e.to_string()))?;
            mitid_components::runtime::containers::start(
                options,
                &mitid_components::runtime::containers::ContainerOptions { binary },
            )
        }
    }
    .map_err(|e| SetupError::Runtime(e.to_string()))?;
    if !stack.components().contains(&Component::ReferenceSp) {
        return Err(SetupError::NoReferenceSp);
    }
    super::browser::set_routes(&routes_of(&stack));
    // The service provider as the broker and its own redirects name it (a container name in
    // containers), so redirect URIs and same-origin checks agree; the routes carry the requests.
    let origin = stack
        .internal_urls()
        .get(Component::ReferenceSp, Endpoint::Public)
        .unwrap_or_else(|| stack.url(Component::ReferenceSp))
        .trim_end_matches('/')
        .to_owned();
    let label = if flaws.is_empty() {
        "reference".to_owned()
    } else {
        format!("reference --flaw {}", flaws.join(","))
    };
    let path = |p: &str| url(&format!("{origin}{p}"));
    let mut sp = ServiceProvider {
        label,
        base_url: base(&origin),
        login_url: path("/login"),
        me_url: path("/me"),
        logout_url: Some(path("/logout")),
        backchannel_logout_url: Some(path(reference_sp::BACKCHANNEL_PATH)),
        business_login_url: Some(path(reference_sp::BUSINESS_LOGIN_PATH)),
        implements: OptionalFeature::ALL.into_iter().collect(),
        client_id: String::new(),
        redirect_uri: path(reference_sp::CALLBACK_PATH),
    };
    let endpoints = endpoints_of(&stack);
    sp.client_id = runtime.block_on(preflight(&sp, &endpoints.issuer, None))?;
    let mut lab = Lab::new(sp, endpoints, run_tag.to_owned());
    // Every component reads the broker's clock: shared in memory embedded, through the run's
    // clock file in containers (see mitid_components::runtime, "One clock").
    lab.shared_clock = true;
    Ok(ReferenceLab {
        lab: Arc::new(lab),
        stack,
    })
}

/// Each component endpoint as the components name it, with where this process reaches it.
#[must_use]
pub fn routes_of(stack: &Stack) -> Vec<(Url, Url)> {
    stack
        .internal_urls()
        .iter()
        .filter_map(|(component, endpoint, internal)| {
            let host = stack.host_urls().get(component, endpoint)?;
            Some((Url::parse(internal).ok()?, Url::parse(host).ok()?))
        })
        .collect()
}

/// The broker and its neighbours of `stack` as the suite reaches them.
#[must_use]
pub fn endpoints_of(stack: &Stack) -> LabEndpoints {
    let components = stack.components();
    let optional = |c: Component| components.contains(&c).then(|| base(stack.url(c)));
    LabEndpoints {
        issuer: base(stack.issuer()),
        control: base(stack.idp_control_url()),
        cpr: optional(Component::Cpr),
        citizen_service: optional(Component::CitizenService),
        support: optional(Component::Support),
        sms: optional(Component::Sms),
    }
}

/// The broker alone, for an integrator's service: the issuer on the fixed `broker.listen`
/// address the integrator configured, the control API on an ephemeral port.
pub struct ExternalLab {
    pub lab: Arc<Lab>,
    pub public: RunningService,
    pub control: RunningService,
}

/// Starts the broker for `target` with the target's client registered. Must run inside a tokio
/// runtime.
pub async fn external(target: &Target, run_tag: &str) -> Result<ExternalLab, SetupError> {
    external_with(target, run_tag, |_| {}).await
}

/// [`external`], with the broker's configuration adjusted by `adjust` before it starts (the
/// live driver's broker takes a simulated population's logins, compressed in wall time).
pub async fn external_with(
    target: &Target,
    run_tag: &str,
    adjust: impl FnOnce(&mut IdpConfig),
) -> Result<ExternalLab, SetupError> {
    let issuer = format!("http://{}", target.broker_listen);
    let mut config = IdpConfig::new(issuer.clone());
    config.clients.push(ClientConfig {
        client_id: target.client_id.clone(),
        client_secret: Some(target.client_secret.clone()),
        redirect_uris: vec![target.redirect_uri.to_string()],
        token_endpoint_auth_method: ClientAuthMethod::ClientSecretBasic,
        jwks: None,
        backchannel_logout_uri: target
            .backchannel_logout_url
            .as_ref()
            .map(ToString::to_string),
        post_logout_redirect_uris: target.post_logout_redirect_uris.clone(),
        id_token_signed_response_alg: mitid_components::idp::jose::Alg::ES256,
    });
    adjust(&mut config);
    let idp = Idp::new(config).map_err(|e| SetupError::Runtime(e.to_string()))?;
    let (public_router, control_router) = idp.routers();
    let public_listener = tokio::net::TcpListener::bind(target.broker_listen)
        .await
        .map_err(|source| SetupError::BrokerListen {
            addr: target.broker_listen,
            source,
        })?;
    let control_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| SetupError::Runtime(e.to_string()))?;
    let public = service::spawn(public_listener, public_router)
        .map_err(|e| SetupError::Runtime(e.to_string()))?;
    let control = service::spawn(control_listener, control_router)
        .map_err(|e| SetupError::Runtime(e.to_string()))?;
    let sp = ServiceProvider {
        label: target.base_url.to_string(),
        base_url: target.base_url.clone(),
        login_url: target.login_url.clone(),
        me_url: target.me_url.clone(),
        logout_url: target.logout_url.clone(),
        backchannel_logout_url: target.backchannel_logout_url.clone(),
        business_login_url: target.business_login_url.clone(),
        implements: target.implements.clone(),
        client_id: target.client_id.clone(),
        redirect_uri: target.redirect_uri.clone(),
    };
    let endpoints = LabEndpoints {
        issuer: base(&issuer),
        control: base(&control.url()),
        cpr: None,
        citizen_service: None,
        support: None,
        sms: None,
    };
    Ok(ExternalLab {
        lab: Arc::new(Lab::new(sp, endpoints, run_tag.to_owned())),
        public,
        control,
    })
}

/// The pre-flight: before any scenario runs, the target keeps the integrator contract's first
/// two promises. `GET {login}` redirects to the lab's broker's authorization endpoint with the
/// configured client id (`expected_client_id`; `None` learns it, for the reference service
/// provider, whose registration the lab does not write) and redirect URI; `GET {me}` without a
/// session answers 401. Answers the client id. A target that fails here is the wrong service or
/// a misconfigured one: one precise error, not forty FAILED requirements.
pub async fn preflight(
    sp: &ServiceProvider,
    issuer: &Url,
    expected_client_id: Option<&str>,
) -> Result<String, SetupError> {
    let client = preflight_client()?;
    let contract = |detail: String| SetupError::Contract { detail };
    let authorize_endpoint = issuer
        .join("authorize")
        .map_err(|e| contract(e.to_string()))?;
    let login = &sp.login_url;
    let authorize = login_redirect(
        &client,
        login,
        &format!("the lab's broker ({authorize_endpoint})"),
    )
    .await?;
    let shown = super::evidence::redact_url(authorize.as_str());
    if !super::browser::same_origin(&authorize, issuer)
        || authorize.path() != authorize_endpoint.path()
    {
        return Err(contract(format!(
            "GET {login} redirected to {shown}, not to the lab's broker's authorization endpoint {authorize_endpoint}: configure your service's issuer as {}",
            issuer.as_str().trim_end_matches('/')
        )));
    }
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let client_id = param("client_id").ok_or_else(|| {
        contract(format!(
            "GET {login} redirected to the broker without a client_id: {shown}"
        ))
    })?;
    if let Some(expected) = expected_client_id
        && client_id != expected
    {
        return Err(contract(format!(
            "GET {login} redirected to the broker with client_id {client_id:?}, but the target file registers client.client_id {expected:?}: configure your service with the target file's client id"
        )));
    }
    match param("redirect_uri") {
        Some(uri) if uri == sp.redirect_uri.as_str() => {}
        Some(uri) => {
            return Err(contract(format!(
                "GET {login} redirected to the broker with redirect_uri {uri:?}, but the registered redirect URI (client.redirect_uri) is {:?}",
                sp.redirect_uri.as_str()
            )));
        }
        None => {
            return Err(contract(format!(
                "GET {login} redirected to the broker without a redirect_uri: {shown}"
            )));
        }
    }
    me_without_session(&client, &sp.me_url).await?;
    Ok(client_id)
}

/// The pre-flight's HTTP client: it sees each redirect instead of following it.
pub(crate) fn preflight_client() -> Result<reqwest::Client, SetupError> {
    super::browser::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SetupError::Runtime(e.to_string()))
}

fn unreachable(url: &Url, err: &reqwest::Error) -> SetupError {
    SetupError::Unreachable {
        url: url.to_string(),
        reason: if err.is_connect() {
            "connection refused".into()
        } else if err.is_timeout() {
            "no answer in time".into()
        } else {
            err.to_string()
        },
    }
}

/// `GET {login}` must redirect (to `expected`, named in the error); answers where to.
pub(crate) async fn login_redirect(
    client: &reqwest::Client,
    login: &Url,
    expected: &str,
) -> Result<Url, SetupError> {
    let contract = |detail: String| SetupError::Contract { detail };
    let response = client
        .get(login.clone())
        .send()
        .await
        .map_err(|e| unreachable(login, &e))?;
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(location) = location.filter(|_| status.is_redirection()) else {
        let body = response.text().await.unwrap_or_default();
        return Err(contract(format!(
            "GET {login} answered {status} instead of a redirect to {expected}{}",
            shown_body(&body)
        )));
    };
    login.join(&location).map_err(|e| {
        contract(format!(
            "GET {login} redirected to {location:?}, not a URL: {e}"
        ))
    })
}

/// `GET {me}` without a session must answer 401 (the integrator contract).
pub(crate) async fn me_without_session(
    client: &reqwest::Client,
    me: &Url,
) -> Result<(), SetupError> {
    let response = client
        .get(me.clone())
        .send()
        .await
        .map_err(|e| unreachable(me, &e))?;
    let status = response.status();
    if status != reqwest::StatusCode::UNAUTHORIZED {
        let body = response.text().await.unwrap_or_default();
        return Err(SetupError::Contract {
            detail: format!(
                "GET {me} without a session answered {status}; the contract says 401{}",
                shown_body(&body)
            ),
        });
    }
    Ok(())
}

/// The start of a body for a pre-flight message, redacted.
fn shown_body(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        String::new()
    } else {
        let cut: String = body.chars().take(200).collect();
        format!(": {}", super::evidence::redact_text(&cut))
    }
}

/// Parses a URL the components handed out (they are always absolute).
fn url(text: &str) -> Url {
    Url::parse(text)
        .unwrap_or_else(|e| panic!("the components handed out a malformed URL {text:?}: {e}"))
}

/// A base URL (issuer, control API) with a trailing slash, so `join` appends paths to it.
fn base(text: &str) -> Url {
    if text.ends_with('/') {
        url(text)
    } else {
        url(&format!("{text}/"))
    }
}
