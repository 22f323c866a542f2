//! The lab's own JSON client (not the browser): calls to the broker's control and admin APIs and
//! to the other components, each recorded as evidence with its secrets redacted.

use serde_json::Value;
use url::Url;

use super::ActionError;
use crate::evidence::{Actor, Exchange, redact_body};
use crate::world::{Lab, LabWorld};

/// What a JSON call answered: the status and the body (`Null` when it was not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The body when the status is `wanted`, else [`ActionError::Refused`] naming `what`.
    pub fn expect(
        self,
        wanted: u16,
        service: &'static str,
        what: impl Into<String>,
    ) -> Result<Value, ActionError> {
        if self.status == wanted {
            Ok(self.body)
        } else {
            Err(ActionError::Refused {
                service,
                what: what.into(),
                status: self.status,
                answer: self.body,
            })
        }
    }
}

/// The broker's name in errors.
pub const BROKER: &str = "the broker";

/// A JSON call to one of the lab's services: the status, the answer's text, and the exchange for
/// the evidence without its response body (each caller redacts bodies its own way; `shown_body`
/// is the request body as the evidence shows it).
pub async fn json_call(
    lab: &Lab,
    method: reqwest::Method,
    url: &Url,
    body: Option<&Value>,
    shown_body: Option<String>,
) -> Result<(u16, String, Exchange), ActionError> {
    let mut request = lab.http.request(method.clone(), url.clone());
    if let Some(body) = body {
        request = request.json(body);
    }
    let mut exchange = Exchange::request(Actor::Lab, &method, url.to_string(), shown_body);
    let response = request
        .send()
        .await
        .map_err(|err| ActionError::Unreachable {
            service: "the lab's service",
            url: url.to_string(),
            reason: err.to_string(),
        })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    exchange.status = Some(status);
    Ok((status, text, exchange))
}

/// Calls the broker's control listener (JSON in and out) and records the exchange as evidence.
pub async fn control(
    world: &mut LabWorld,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Reply, ActionError> {
    let lab = world.lab();
    let (reply, exchange) = control_call(&lab, method, path, body).await?;
    world.broker_log.push(exchange);
    Ok(reply)
}

/// [`control`] without a World (the runner's hooks): the reply and its exchange.
pub async fn control_call(
    lab: &Lab,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<(Reply, Exchange), ActionError> {
    let url = lab
        .endpoints
        .control
        .join(path)
        .expect("control paths are relative");
    let shown = body.map(|b| redact_body(&b.to_string()));
    let (status, text, mut exchange) = json_call(lab, method, &url, body, shown).await?;
    exchange.response_body = Some(redact_body(&text));
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok((Reply { status, body }, exchange))
}

/// `POST url` with a JSON body to one of the lab's services; records the exchange as evidence.
pub async fn post_json(
    world: &mut LabWorld,
    url: &Url,
    body: &Value,
) -> Result<Reply, ActionError> {
    send_json(world, reqwest::Method::POST, url, Some(body)).await
}

/// Any JSON call to one of the lab's services (not the control listener), recorded as evidence
/// with the journeys' own secrets redacted as well.
pub async fn send_json(
    world: &mut LabWorld,
    method: reqwest::Method,
    url: &Url,
    body: Option<&Value>,
) -> Result<Reply, ActionError> {
    let lab = world.lab();
    let shown = body.map(|b| redact_body(&journey_redacted(b.clone()).to_string()));
    let (status, text, mut exchange) = json_call(&lab, method, url, body, shown).await?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    exchange.response_body = Some(if answer.is_null() {
        redact_body(&text)
    } else {
        redact_body(&journey_redacted(answer.clone()).to_string())
    });
    world.broker_log.push(exchange);
    Ok(Reply {
        status,
        body: answer,
    })
}

/// Secrets of the journeys the evidence must not show besides the suite's own list: P codes,
/// enrolment ids (single-use bearers) and SMS texts (they carry temporary PINs).
fn journey_redacted(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (name, item) in map.iter_mut() {
                    if matches!(name.as_str(), "p_code" | "enrolment_id" | "text")
                        && item.is_string()
                    {
                        *item = Value::String("[redacted]".into());
                    } else {
                        walk(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// `path` at one of the lab's optional services (`what` names it); the scenarios that need one
/// are tagged `@needs:services`.
pub fn service_url(base: Option<&Url>, what: &str, path: &str) -> Result<Url, ActionError> {
    let base = base.ok_or_else(|| {
        ActionError::Unavailable(format!("the lab runs without {what} (@needs:services)"))
    })?;
    Ok(base.join(path).expect("relative path"))
}

/// `path` at the broker's public (issuer) listener.
#[must_use]
pub fn issuer_url(lab: &Lab, path: &str) -> Url {
    lab.endpoints.issuer.join(path).expect("relative path")
}
