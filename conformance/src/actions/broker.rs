//! The broker (the lab's MitID IdP) through its control API, and logins straight at it.
//!
//! Every misbehaviour is a script keyed to one test user (`match: {test_user}`); each scenario's
//! citizens have user IDs no other scenario uses, so a script can only ever hit the login of the
//! scenario that registered it. Key rotation is global by nature and only used by `@serial`
//! scenarios.

use mitid_components::idp::calls::BrokerCall;
use mitid_components::idp::jose::{self, Alg, SigningKey};
use mitid_components::idp::script::{Behaviour, ScriptMatch, ScriptRequest};
use serde_json::{Value, json};

use super::lab_api::{BROKER, control, issuer_url};
use super::{ActionError, field};
use crate::browser::Browser;
use crate::evidence::{
    Actor, Exchange, redact_body, redact_header, redact_url, show_token_response,
};
use crate::world::{Lab, LabWorld, PendingScript};

/// Another person's CPR number (a valid-looking one no citizen of the lab gets: serial 9999).
pub const FOREIGN_CPR: &str = "0101709999";

/// The service provider's token, userinfo and JWKS calls in the logins of `scripts`, as the
/// broker recorded and answered them, redacted for the evidence (the ID token shown decoded).
/// Best effort: a script the broker no longer knows adds nothing (this feeds evidence only).
pub async fn broker_calls(lab: &Lab, scripts: &[String]) -> Vec<Exchange> {
    let mut exchanges = Vec::new();
    for id in scripts {
        let Ok(url) = lab
            .endpoints
            .control
            .join(&format!("control/scripts/{id}/calls"))
        else {
            continue;
        };
        let Ok(response) = lab.http.get(url).send().await else {
            continue;
        };
        let calls: Vec<BrokerCall> = response.json().await.unwrap_or_default();
        exchanges.extend(calls.iter().map(|call| call_exchange(lab, call)));
    }
    exchanges
}

fn call_exchange(lab: &Lab, call: &BrokerCall) -> Exchange {
    let method =
        reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let url = lab
        .endpoints
        .issuer
        .join(call.path.trim_start_matches('/'))
        .map_or_else(|_| call.path.clone(), |u| redact_url(u.as_str()));
    let mut exchange = Exchange::request(
        Actor::ServiceProvider,
        &method,
        url,
        call.request_body.as_deref().map(redact_body),
    );
    let headers = |list: &[(String, String)]| {
        list.iter()
            .map(|(n, v)| (n.clone(), redact_header(n, v)))
            .collect()
    };
    exchange.request_headers = headers(&call.request_headers);
    exchange.status = call.status;
    exchange.response_headers = headers(&call.response_headers);
    exchange.response_body = call.response_body.as_deref().map(|body| {
        if call.path.starts_with("/token") {
            show_token_response(body)
        } else {
            redact_body(body)
        }
    });
    exchange
}

/// Registers `pending` for the next headless login of `user_id`; answers the script id.
pub async fn register_script(
    world: &mut LabWorld,
    user_id: &str,
    pending: PendingScript,
) -> Result<String, ActionError> {
    let request = ScriptRequest {
        matcher: ScriptMatch {
            test_user: Some(user_id.to_owned()),
            ..ScriptMatch::default()
        },
        user_id: None,
        behaviour: pending.behaviour,
        id_token: pending.id_token,
        userinfo: pending.userinfo,
        token_endpoint: pending.token_endpoint,
        userinfo_endpoint: None,
        ignore_nemid_cutoff: pending.ignore_nemid_cutoff,
        organisation: pending.organisation,
    };
    let body = serde_json::to_value(&request).expect("script requests serialise");
    let what = format!("the script {body}");
    let answer = control(world, reqwest::Method::POST, "control/scripts", Some(&body))
        .await?
        .expect(201, BROKER, &what)?;
    let id = field(&answer, "script_id", BROKER, &what)?;
    world.scripts.push(id.clone());
    Ok(id)
}

/// What the broker saw happen in the login of script `id` (token and userinfo calls, replays).
pub async fn script_log(world: &mut LabWorld, id: &str) -> Result<Value, ActionError> {
    let answer = control(
        world,
        reqwest::Method::GET,
        &format!("control/scripts/{id}"),
        None,
    )
    .await?
    .expect(200, BROKER, format!("the log of script {id}"))?;
    Ok(answer["log"].clone())
}

/// The log of the scenario's newest script (the login a step just drove).
pub async fn last_script_log(world: &mut LabWorld) -> Result<Value, ActionError> {
    let id = world
        .scripts
        .last()
        .cloned()
        .ok_or_else(|| ActionError::Login("no scripted login ran in this scenario".into()))?;
    script_log(world, &id).await
}

/// GET a JSON document of the broker's public listener (discovery, JWKS).
async fn public_document(lab: &Lab, path: &str) -> Result<Value, ActionError> {
    let url = issuer_url(lab, path);
    let unreachable = |err: reqwest::Error| ActionError::Unreachable {
        service: BROKER,
        url: url.to_string(),
        reason: err.to_string(),
    };
    lab.http
        .get(url.clone())
        .send()
        .await
        .map_err(unreachable)?
        .json()
        .await
        .map_err(unreachable)
}

/// The broker's discovery document, exactly as published.
pub async fn discovery(lab: &Lab) -> Result<Value, ActionError> {
    public_document(lab, ".well-known/openid-configuration").await
}

/// The `issuer` of the broker's discovery document, exactly as published.
pub async fn discovered_issuer(lab: &Lab) -> Result<String, ActionError> {
    field(&discovery(lab).await?, "issuer", BROKER, "discovery")
}

/// The broker's `end_session_endpoint`, from its discovery document.
pub async fn end_session_endpoint(lab: &Lab) -> Result<String, ActionError> {
    field(
        &discovery(lab).await?,
        "end_session_endpoint",
        BROKER,
        "discovery",
    )
}

/// The `kid` of the first key the broker publishes, so a forged token names a real key and only
/// its signature is wrong.
pub async fn published_kid(lab: &Lab) -> Result<String, ActionError> {
    let jwks = public_document(lab, "jwks").await?;
    Ok(jwks["keys"][0]["kid"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned())
}

/// Rotates the broker's signing key, dropping the previous one.
pub async fn rotate_keys(world: &mut LabWorld) -> Result<(), ActionError> {
    control(
        world,
        reqwest::Method::POST,
        "control/keys/rotate",
        Some(&json!({"keep_previous": false})),
    )
    .await?
    .expect(200, BROKER, "a key rotation")?;
    Ok(())
}

/// One back-channel logout the broker delivered: to `uri`, answered `status` or failed with
/// `error`.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub uri: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The broker's record of it, for failure messages.
    pub record: Value,
}

/// Has the broker send a back-channel logout for every session of `user_id`; answers the
/// deliveries it made.
pub async fn backchannel_logout(
    world: &mut LabWorld,
    user_id: &str,
) -> Result<Vec<Delivery>, ActionError> {
    let answer = control(
        world,
        reqwest::Method::POST,
        "control/backchannel-logout",
        Some(&json!({"user_id": user_id})),
    )
    .await?
    .expect(200, BROKER, "a back-channel logout")?;
    Ok(answer
        .as_array()
        .into_iter()
        .flatten()
        .map(|delivery| Delivery {
            uri: delivery["uri"]
                .as_str()
                .unwrap_or("the back-channel logout URI")
                .to_owned(),
            status: delivery["status"]
                .as_u64()
                .map(|s| u16::try_from(s).unwrap_or(u16::MAX)),
            error: delivery["error"].as_str().map(str::to_owned),
            record: delivery.clone(),
        })
        .collect())
}

/// An attacker's browser posts a logout token for the person `uuid` that is right in every claim
/// but signed by a key the broker never had, to the service provider's back-channel endpoint.
/// Answers the request as the reports name it and what the service answered (`Err`: no answer).
pub async fn send_forged_logout_token(
    world: &mut LabWorld,
    uuid: &str,
) -> Result<(String, Result<(u16, String), String>), ActionError> {
    let lab = world.lab();
    let url = lab.sp.backchannel_logout_url.clone().ok_or_else(|| {
        ActionError::Unavailable(
            "the service provider declares no back-channel logout endpoint".into(),
        )
    })?;
    let kid = published_kid(&lab).await?;
    let now = super::clock::now(&lab).await?;
    let token = forged_logout_token(&lab, uuid, &kid, now.unix_secs());
    let mut attacker = Browser::new();
    let page = attacker.post_form(&url, &[("logout_token", &token)]).await;
    world.other_browsers.push(attacker);
    Ok((
        format!("POST {url} with a forged logout token"),
        page.map(|p| (p.status, p.body)),
    ))
}

fn forged_logout_token(lab: &Lab, uuid: &str, kid: &str, now: u64) -> String {
    let seed = 0x5eed_f0e1 ^ lab.unique();
    let key = SigningKey::from_seed(Alg::ES256, seed).expect("ES256 keys derive from any seed");
    let header = json!({"alg": "ES256", "kid": kid, "typ": "logout+jwt"});
    let claims = json!({
        "iss": lab.endpoints.issuer.as_str().trim_end_matches('/'),
        "aud": lab.sp.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": format!("forged-{seed:x}"),
        "sub": uuid,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    jose::compact(&header, &claims, &jose::Signature::Key(&key))
        .expect("signing with a fresh key works")
}

/// Registers a client of the broker in `sector` (the NemID calendar is per sector); answers the
/// client as the broker registered it (id, secret, redirect URIs).
pub async fn register_client(world: &mut LabWorld, sector: &str) -> Result<Value, ActionError> {
    let body = json!({
        "redirect_uris": [format!("https://{sector}.example/callback")],
        "token_endpoint_auth_method": "client_secret_post",
        "sector": sector,
    });
    control(world, reqwest::Method::POST, "control/clients", Some(&body))
        .await?
        .expect(201, BROKER, format!("a client in sector {sector}"))
}

/// How a login straight at the broker ended.
#[derive(Debug, Clone)]
pub enum BrokerLogin {
    /// The ID token's claims.
    Claims(serde_json::Map<String, Value>),
    /// `error` and `error_description` of the callback.
    Refused(String, String),
}

/// A login of `user_id` at the broker's `client` (as [`register_client`] answered it; the lab is
/// both the client and the browser): `login_hint=test:<user>:<behaviour>`, then, with a code,
/// the token endpoint.
pub async fn login_at_client(
    world: &mut LabWorld,
    user_id: &str,
    client: &Value,
    behaviour: Behaviour,
) -> Result<BrokerLogin, ActionError> {
    let lab = world.lab();
    let client_id = client["client_id"].as_str().unwrap_or_default().to_owned();
    let redirect = client["redirect_uris"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let verifier = mitid_components::idp::registry::random_token(32);
    let mut authorize = issuer_url(&lab, "authorize");
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid nemid.pid")
        .append_pair("state", &format!("journey-{}", lab.unique()))
        .append_pair("code_challenge", &jose::pkce_s256(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", &test_login_hint(user_id, behaviour));
    if behaviour.is_nemid() {
        authorize
            .query_pairs_mut()
            .append_pair("idp_values", "nemid");
    }
    let unreachable = |url: &url::Url, reason: String| ActionError::Unreachable {
        service: BROKER,
        url: url.to_string(),
        reason,
    };
    let page = world
        .browser
        .get(&authorize)
        .await
        .map_err(|e| unreachable(&authorize, e))?;
    let Some(callback) = page.location.clone().filter(|_| page.is_redirect()) else {
        return Err(ActionError::Refused {
            service: BROKER,
            what: "the authorization request".into(),
            status: page.status,
            answer: Value::String(page.body),
        });
    };
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let Some(code) = param("code") else {
        return Ok(BrokerLogin::Refused(
            param("error").unwrap_or_default(),
            param("error_description").unwrap_or_default(),
        ));
    };
    let token_url = issuer_url(&lab, "token");
    let secret = client["client_secret"].as_str().unwrap_or_default();
    let answer = world
        .browser
        .post_form(
            &token_url,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("code_verifier", &verifier),
                ("client_id", &client_id),
                ("client_secret", secret),
            ],
        )
        .await
        .map_err(|e| unreachable(&token_url, e))?;
    let what = "the token request";
    let tokens = answer.json().ok_or_else(|| ActionError::Refused {
        service: BROKER,
        what: what.into(),
        status: answer.status,
        answer: Value::String(answer.body.clone()),
    })?;
    let id_token = field(&tokens, "id_token", BROKER, what)?;
    let claims = jose::Unverified::parse(&id_token)
        .map_err(|e| ActionError::Malformed {
            service: BROKER,
            what: format!("{what} (the ID token is not a JWS: {e})"),
            missing: "a compact JWS",
            answer: Value::Null,
        })?
        .claims;
    Ok(BrokerLogin::Claims(claims))
}

/// The broker's headless test login: `test:<user>:<behaviour>`.
#[must_use]
pub fn test_login_hint(user_id: &str, behaviour: Behaviour) -> String {
    let name = serde_json::to_value(behaviour)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("test:{user_id}:{name}")
}
