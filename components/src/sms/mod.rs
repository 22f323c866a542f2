//! # SMS gateway
//!
//! Constructor: [`SmsGateway::new`]`(SmsConfig) -> Router`. It needs no neighbours.
//!
//! The support line sends temporary PINs and forgotten user IDs through it; Citizen Service could
//! too. It records every message it accepts, so tests and the TUI can read what a person's phone
//! received, and it can be told to misbehave so a sender's error handling can be tested.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `/messages` | [`SendRequest`] | 202 [`SendReceipt`] (`status` `delivered` or `dropped`); 503 when failing |
//! | GET | `/messages?to=PHONE` | | 200 `{"messages": [Message]}` for that phone (all phones when `to` is absent, newest last, at most [`MAX_LISTED`]) |
//! | GET | `/control/mode` | | 200 [`DeliveryMode`] |
//! | PUT | `/control/mode` | [`DeliveryMode`] | 200 [`DeliveryMode`] |
//!
//! Delivery modes: `deliver` (default); `drop` — the gateway accepts the message, answers
//! `status: "dropped"` as a real gateway's delivery report would, and no phone ever sees it;
//! `fail` — the gateway answers 503 as if its upstream operator were down. `remaining` limits the
//! mode to the next N messages, after which it goes back to `deliver`.
//!
//! Phone numbers are Danish: `+45` and 8 digits (an 8-digit number gets `+45` added).

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::service::Routes;
use crate::service::routing::{get, post};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::service::LabClock;
use crate::service::{self, ApiError, Json, Query};

/// Messages kept; older ones are forgotten (bounded memory under load).
pub const MAX_STORED: usize = 100_000;
/// Most messages one listing returns.
pub const MAX_LISTED: usize = 1_000;
/// Longest message text accepted (a concatenated SMS of 10 parts).
pub const MAX_TEXT: usize = 1_530;

/// Normalises a Danish phone number to `+45XXXXXXXX`.
pub fn normalize_phone(raw: &str) -> Result<String, ApiError> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = compact
        .strip_prefix("+45")
        .or_else(|| compact.strip_prefix("0045"))
        .unwrap_or(&compact);
    if digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0') {
        Ok(format!("+45{digits}"))
    } else {
        Err(ApiError::invalid_request(format!(
            "field to: {raw:?} is not a Danish phone number (+45 and 8 digits)"
        )))
    }
}

/// `POST /messages`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Recipient, `+45XXXXXXXX`.
    pub to: String,
    /// Sender name shown on the phone, e.g. `MitID`.
    pub sender: String,
    pub text: String,
}

/// Outcome a sender sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Delivered,
    Dropped,
}

/// Answer of `POST /messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceipt {
    pub message_id: String,
    pub status: DeliveryStatus,
}

/// One delivered message as the recipient's phone shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub message_id: String,
    pub to: String,
    pub sender: String,
    pub text: String,
    /// Unix seconds.
    pub sent_at: i64,
}

/// Answer of `GET /messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageList {
    pub messages: Vec<Message>,
}

/// How the gateway treats the next messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    Deliver,
    Drop,
    Fail,
}

/// `GET`/`PUT /control/mode`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryMode {
    pub mode: Behaviour,
    /// Apply `mode` to the next N messages only; `null` for all until changed.
    #[serde(default)]
    pub remaining: Option<u32>,
}

/// Configuration of the gateway.
#[derive(Debug, Clone, Default)]
pub struct SmsConfig {
    pub clock: LabClock,
}

#[derive(Debug)]
struct GatewayState {
    clock: LabClock,
    messages: VecDeque<Message>,
    mode: DeliveryMode,
    sent: u64,
}

type Shared = Arc<Mutex<GatewayState>>;

/// The SMS gateway service.
#[derive(Debug, Clone, Copy)]
pub struct SmsGateway;

impl SmsGateway {
    /// The gateway's router, with the house rules of [`crate::service::standard`].
    // The integrator-facing constructor convention of every component: `X::new(config) -> Router`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(config: SmsConfig) -> Router {
        let state: Shared = Arc::new(Mutex::new(GatewayState {
            clock: config.clock,
            messages: VecDeque::new(),
            mode: DeliveryMode {
                mode: Behaviour::Deliver,
                remaining: None,
            },
            sent: 0,
        }));
        let router = Routes::new()
            .route("/messages", post(send).get(list))
            .route("/control/mode", get(get_mode).put(set_mode))
            .with_state(state);
        service::standard("sms", router)
    }
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, GatewayState> {
    // A panic while holding the lock cannot leave the message log inconsistent (every update is
    // a single push or assignment), so a poisoned lock is still usable.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn send(
    State(state): State<Shared>,
    Json(req): Json<SendRequest>,
) -> Result<(StatusCode, Json<SendReceipt>), ApiError> {
    let to = normalize_phone(&req.to)?;
    if req.text.is_empty() || req.text.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid_request(format!(
            "field text: must be 1–{MAX_TEXT} characters"
        )));
    }
    if req.sender.is_empty() || req.sender.chars().count() > 11 {
        // GSM alphanumeric sender IDs are at most 11 characters.
        return Err(ApiError::invalid_request(
            "field sender: must be 1–11 characters",
        ));
    }
    let mut gw = lock(&state);
    let behaviour = gw.mode.mode;
    if let Some(left) = gw.mode.remaining.as_mut() {
        *left = left.saturating_sub(1);
        if *left == 0 {
            gw.mode = DeliveryMode {
                mode: Behaviour::Deliver,
                remaining: None,
            };
        }
    }
    if behaviour == Behaviour::Fail {
        return Err(ApiError::Unavailable(
            "SMS operator unavailable; message not sent".into(),
        ));
    }
    gw.sent += 1;
    let message_id = format!("sms-{:08}", gw.sent);
    let status = if behaviour == Behaviour::Drop {
        DeliveryStatus::Dropped
    } else {
        let sent_at = gw.clock.now();
        gw.messages.push_back(Message {
            message_id: message_id.clone(),
            to,
            sender: req.sender,
            text: req.text,
            sent_at,
        });
        if gw.messages.len() > MAX_STORED {
            gw.messages.pop_front();
        }
        DeliveryStatus::Delivered
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(SendReceipt { message_id, status }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    to: Option<String>,
}

async fn list(
    State(state): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Result<Json<MessageList>, ApiError> {
    let to = q.to.as_deref().map(normalize_phone).transpose()?;
    let gw = lock(&state);
    let mut messages: Vec<Message> = gw
        .messages
        .iter()
        .rev()
        .filter(|m| to.as_ref().is_none_or(|t| *t == m.to))
        .take(MAX_LISTED)
        .cloned()
        .collect();
    messages.reverse();
    Ok(Json(MessageList { messages }))
}

async fn get_mode(State(state): State<Shared>) -> Json<DeliveryMode> {
    Json(lock(&state).mode)
}

async fn set_mode(
    State(state): State<Shared>,
    Json(mode): Json<DeliveryMode>,
) -> Result<Json<DeliveryMode>, ApiError> {
    if mode.remaining == Some(0) {
        return Err(ApiError::invalid_request(
            "field remaining: must be at least 1 (or null for all messages)",
        ));
    }
    lock(&state).mode = mode;
    Ok(Json(mode))
}

/// A client for the gateway, used by the support line (and anyone sending SMS).
#[derive(Debug, Clone)]
pub struct SmsClient {
    base_url: String,
    http: reqwest::Client,
}

/// Sending failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS gateway did not answer in time")]
    Timeout,
    #[error("the SMS gateway could not be reached: {0}")]
    Unreachable(String),
    #[error("the SMS gateway refused the message: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("the SMS gateway accepted message {0} but reports it was not delivered")]
    NotDelivered(String),
    #[error("the SMS gateway answered garbage: {0}")]
    Garbage(String),
}

impl From<SmsError> for ApiError {
    fn from(e: SmsError) -> Self {
        match e {
            SmsError::Timeout => ApiError::UpstreamTimeout { service: "sms" },
            other => ApiError::Upstream {
                service: "sms",
                detail: other.to_string(),
            },
        }
    }
}

impl SmsClient {
    /// `base_url` without a trailing slash; `http` should carry a timeout.
    #[must_use]
    pub fn new(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// Sends one message; only a `delivered` receipt counts as success.
    pub async fn send(&self, to: &str, sender: &str, text: &str) -> Result<SendReceipt, SmsError> {
        let answer = self
            .http
            .post(format!("{}/messages", self.base_url))
            .json(&SendRequest {
                to: to.to_owned(),
                sender: sender.to_owned(),
                text: text.to_owned(),
            })
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    SmsError::Timeout
                } else {
                    SmsError::Unreachable(e.to_string())
                }
            })?;
        let status = answer.status();
        let body = answer.text().await.map_err(|e| {
            if e.is_timeout() {
                SmsError::Timeout
            } else {
                SmsError::Garbage(e.to_string())
            }
        })?;
        if !status.is_success() {
            return Err(SmsError::Refused {
                status: status.as_u16(),
                body: body.chars().take(300).collect(),
            });
        }
        let receipt: SendReceipt = serde_json::from_str(&body).map_err(|e| {
            SmsError::Garbage(format!(
                "{e}: {}",
                body.chars().take(200).collect::<String>()
            ))
        })?;
        match receipt.status {
            DeliveryStatus::Delivered => Ok(receipt),
            DeliveryStatus::Dropped => Err(SmsError::NotDelivered(receipt.message_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_normalised_or_refused() {
        assert_eq!(normalize_phone("20 12 34 56").unwrap(), "+4520123456");
        assert_eq!(normalize_phone("+4520123456").unwrap(), "+4520123456");
        assert_eq!(normalize_phone("004520123456").unwrap(), "+4520123456");
        assert!(normalize_phone("+46701234567").is_err());
        assert!(normalize_phone("0123456").is_err());
        assert!(normalize_phone("02012345").is_err());
    }
}
