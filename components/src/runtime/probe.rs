//! A quick check that a running [`Stack`] answers: every endpoint's `/health`, one read-only API
//! call per component, and a JSON 404 for an unknown route. `components up` runs it before
//! printing the URLs; the embedded and container tests run the same checks.

use std::fmt;
use std::time::Duration;

use super::{Component, Endpoint, Stack};

/// One check that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// Which component.
    pub component: Component,
    /// The request made (`GET http://.../health`).
    pub request: String,
    /// The status it answered.
    pub status: u16,
}

/// A check that failed, with everything needed to see why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    /// Which component.
    pub component: Component,
    /// The request made.
    pub request: String,
    /// What was expected.
    pub expected: String,
    /// What came back (status and body, or the transport error).
    pub got: String,
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} expected {}, got {}",
            self.component, self.request, self.expected, self.got
        )
    }
}

impl std::error::Error for ProbeFailure {}

/// What a component's read-only API check asks and expects.
struct ApiCheck {
    /// Public, except for a component whose public side speaks no JSON (NemLog-in: SAML).
    endpoint: Endpoint,
    path: &'static str,
    status: u16,
    /// A top-level JSON field the answer must have.
    field: &'static str,
}

fn api_check(component: Component) -> ApiCheck {
    match component {
        Component::Idp => ApiCheck {
            endpoint: Endpoint::Public,
            path: "/.well-known/openid-configuration",
            status: 200,
            field: "issuer",
        },
        Component::Cpr => ApiCheck {
            endpoint: Endpoint::Public,
            path: "/persons?limit=1",
            status: 200,
            field: "persons",
        },
        Component::Sms => ApiCheck {
            endpoint: Endpoint::Public,
            path: "/messages",
            status: 200,
            field: "messages",
        },
        Component::ReferenceSp => ApiCheck {
            endpoint: Endpoint::Public,
            path: "/me",
            status: 401,
            field: "error",
        },
        Component::CitizenService => ApiCheck {
            endpoint: Endpoint::Public,
            path: "/municipalities",
            status: 200,
            field: "municipalities",
        },
        Component::Support => ApiCheck {
            endpoint: Endpoint::Public,
            path: "/calls/unknown-call",
            status: 404,
            field: "error",
        },
        Component::Nemlogin => ApiCheck {
            endpoint: Endpoint::Control,
            path: "/control/scripts/unknown-script",
            status: 404,
            field: "error",
        },
    }
}

/// Runs every check against `stack`; stops at the first failure.
pub async fn check_stack(stack: &Stack) -> Result<Vec<ProbeResult>, ProbeFailure> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none());
    for (host, addr) in stack.host_overrides() {
        builder = builder.resolve(host, *addr);
    }
    let client = builder.build().map_err(|err| ProbeFailure {
        component: Component::Idp,
        request: "building the HTTP client".to_owned(),
        expected: "a client".to_owned(),
        got: err.to_string(),
    })?;
    let mut passed = Vec::new();
    for component in stack.components() {
        for &endpoint in component.endpoints() {
            let base = stack.endpoint_url(component, endpoint);
            let (status, body) = get_json(&client, component, &format!("{base}/health")).await?;
            let expected = serde_json::json!({ "status": "ok", "component": component.name() });
            if status != 200 || body.get("status") != expected.get("status") {
                return Err(ProbeFailure {
                    component,
                    request: format!("GET {base}/health"),
                    expected: format!("200 {expected}"),
                    got: format!("{status} {body}"),
                });
            }
            passed.push(ProbeResult {
                component,
                request: format!("GET {base}/health"),
                status,
            });

            let request = format!("GET {base}/no-such-route-in-the-lab");
            let (status, body) = get_json(
                &client,
                component,
                &format!("{base}/no-such-route-in-the-lab"),
            )
            .await?;
            if status != 404
                || body.get("error").and_then(serde_json::Value::as_str) != Some("not_found")
            {
                return Err(ProbeFailure {
                    component,
                    request,
                    expected: "404 {\"error\":\"not_found\",...}".to_owned(),
                    got: format!("{status} {body}"),
                });
            }
            passed.push(ProbeResult {
                component,
                request,
                status,
            });
        }
        let check = api_check(component);
        let base = stack.endpoint_url(component, check.endpoint);
        let request = format!("GET {base}{}", check.path);
        let (status, body) = get_json(&client, component, &format!("{base}{}", check.path)).await?;
        if status != check.status || body.get(check.field).is_none() {
            return Err(ProbeFailure {
                component,
                request,
                expected: format!("{} with field {:?}", check.status, check.field),
                got: format!("{status} {body}"),
            });
        }
        if component == Component::Idp && body["issuer"].as_str() != Some(stack.issuer()) {
            return Err(ProbeFailure {
                component,
                request,
                expected: format!("issuer {:?}", stack.issuer()),
                got: format!("{status} {body}"),
            });
        }
        passed.push(ProbeResult {
            component,
            request,
            status,
        });
    }
    Ok(passed)
}

async fn get_json(
    client: &reqwest::Client,
    component: Component,
    url: &str,
) -> Result<(u16, serde_json::Value), ProbeFailure> {
    let failure = |got: String| ProbeFailure {
        component,
        request: format!("GET {url}"),
        expected: "a JSON answer".to_owned(),
        got,
    };
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|err| failure(format!("no answer: {err}")))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|err| failure(format!("{status}, body unreadable: {err}")))?;
    let body = serde_json::from_str(&text)
        .map_err(|err| failure(format!("{status}, body not JSON ({err}): {text:?}")))?;
    Ok((status, body))
}
