//! What one login is: the validated authorization request, its result, and what the control API
//! scripted for it (who authenticates, how, and which bad tokens come out).

use std::collections::HashMap;

use mitid_devices::{Aal, AmrSet, Ial, Loa};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::EndpointFault;

/// `idp_params` (a JSON object in the request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loa_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aal_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpr_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_step_up: Option<bool>,
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: String,
    pub prompt: Vec<String>,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// The `LoA` asked for (`acr_values` or `idp_params.loa_value`), if any.
    pub requested_loa: Option<Loa>,
    pub requested_aal: Option<Aal>,
    pub acr_requested: bool,
    pub idp_params: IdpParams,
    /// `idp_values` as asked (the first one the profile offers picks the login: `MitID` or `NemID`).
    pub idp_values: Vec<String>,
}

/// Which identity provider behind the broker authenticated the citizen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginIdp {
    #[default]
    Mitid,
    /// `NemID` (key card or key app), until the phase-out calendar ends it.
    Nemid,
}

/// The outcome of a successful authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginResult {
    pub uuid: String,
    pub ial: Ial,
    pub aal: Aal,
    pub loa: Loa,
    pub amr: AmrSet,
    pub auth_time: u64,
    pub sid: String,
    pub transaction_id: String,
    pub idp: LoginIdp,
    /// In a business (`MitID` Erhverv) login, the company the citizen acts for.
    pub professional: Option<crate::cvr::ProfessionalIdentity>,
}

/// How the citizen acts in a headless login (`login_hint=test:<user>:<behaviour>` or a script).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// Swipe in the app; with the PIN when the request asks for High.
    #[default]
    Approve,
    /// App with PIN (`code_app_enhanced`; High when the identity is High).
    AppPin,
    /// Code display + password.
    CodeDisplay,
    /// Audio code reader + password.
    AudioCodeReader,
    /// Chip + password (High authenticator).
    Chip,
    /// Password only (Low).
    PasswordOnly,
    /// The citizen presses cancel: `access_denied` / `mitid_user_aborted`.
    Abort,
    /// Wrong app PIN until the app gives up: `access_denied` / `mitid_wrong_pin`.
    WrongPin,
    /// The citizen never approves: `access_denied` / `mitid_approval_timeout`.
    Timeout,
    /// The broker fails: `server_error`.
    ServerError,
    /// `NemID`: password + a key-card answer (`code_token`), checked against the card at the broker.
    NemidKeyCard,
    /// `NemID`: password + the key app's approval (`code_app`).
    NemidKeyApp,
}

impl Behaviour {
    /// Parses the `<behaviour>` part of a test login hint.
    #[must_use]
    pub fn parse(text: &str) -> Option<Behaviour> {
        serde_json::from_value(Value::String(text.to_owned())).ok()
    }

    /// A `NemID` login rather than a `MitID` one.
    #[must_use]
    pub const fn is_nemid(self) -> bool {
        matches!(self, Behaviour::NemidKeyCard | Behaviour::NemidKeyApp)
    }
}

/// A deliberately wrong ID token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum IdTokenFault {
    /// Signed by a key that is not in the JWKS, under the published `kid`.
    ForeignKey,
    /// `alg: none`, empty signature.
    AlgNone,
    /// `alg: HS256`, HMAC keyed with the PEM of the published public key.
    Hs256PublicKey,
    /// A valid signature over different bytes (last signature byte flipped).
    BadSignature,
    WrongIss {
        #[serde(default)]
        iss: Option<String>,
    },
    WrongAud {
        #[serde(default)]
        aud: Option<String>,
    },
    /// `aud` is `[client, other]` and there is no `azp`.
    ExtraAudWithoutAzp,
    /// Expired `seconds` ago (default 600).
    Expired {
        #[serde(default)]
        seconds: Option<u64>,
    },
    /// `iat` `seconds` in the future (default 3600).
    FutureIat {
        #[serde(default)]
        seconds: Option<u64>,
    },
    /// `iat`, `exp` and `auth_time` shifted by `seconds` (clock skew tolerance tests).
    ClockSkew {
        seconds: i64,
    },
    MissingNonce,
    WrongNonce,
    MissingSub,
    /// `loa`, `aal` (and `acr`) one level below what was asked (Low if nothing was asked).
    LowerLoa,
    /// No `kid` in the header.
    OmitKid,
    /// A `kid` that is not in the JWKS (with a correct signature by the real key).
    UnknownKid,
    /// Sets (or, with `null`, removes) claims after everything else.
    SetClaims {
        claims: Map<String, Value>,
    },
}

/// A deliberately wrong userinfo answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum UserinfoFault {
    /// `sub` differs from the ID token's.
    SubMismatch,
    SetClaims {
        claims: Map<String, Value>,
    },
}

/// Which login a script applies to. Exactly one way must be given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptMatch {
    /// With `state`: the authorization request of this client with this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// A headless login with `login_hint=test:<test_user>...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_user: Option<String>,
    /// A login already on the HTML pages (id from its URL `/login/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
}

/// `POST /control/scripts`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptRequest {
    #[serde(rename = "match")]
    pub matcher: ScriptMatch,
    /// Answer the authorization request headlessly as this user (client+state and login-id
    /// matches; a test-user match takes the user from the hint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// How the citizen acts in a headless login (default: from the hint, else approve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<Behaviour>,
    #[serde(default)]
    pub id_token: Vec<IdTokenFault>,
    #[serde(default)]
    pub userinfo: Vec<UserinfoFault>,
    /// Fault of the token endpoint for this login's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<EndpointFault>,
    /// Fault of the userinfo endpoint for this login's access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<EndpointFault>,
    /// A broker that does not enforce the `NemID` calendar: this login's `NemID` authentication is
    /// accepted although the client's sector cut-off (or the shutdown) has passed. Lets a
    /// conformance scenario check that the service provider refuses such a login itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_nemid_cutoff: bool,
    /// In a business (`idp_values=mitid_erhverv`) login: the company (CVR number) the citizen
    /// chooses among those they act for, as they would on the broker's chooser page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
}

/// What the `IdP` saw happen in a scripted login (the runner judges the SP by it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptLog {
    pub matched: bool,
    pub code_issued: bool,
    pub authorization_error: Option<String>,
    pub token_requests: u32,
    pub tokens_issued: u32,
    pub code_replays: u32,
    pub userinfo_requests: u32,
}

#[derive(Debug, Clone)]
pub struct Script {
    pub id: String,
    pub request: ScriptRequest,
    pub log: ScriptLog,
    /// The service provider's token, userinfo and JWKS calls for this login
    /// ([`super::calls`]).
    pub calls: Vec<super::calls::BrokerCall>,
    /// When the login last called token or userinfo (JWKS fetches are put on active logins).
    pub last_active: Option<std::time::Instant>,
}

/// Scripts by id, with indexes for the three ways of matching. A script matches once.
#[derive(Debug, Default)]
pub struct Scripts {
    pub by_id: HashMap<String, Script>,
    pub by_client_state: HashMap<(String, String), String>,
    pub by_test_user: HashMap<String, String>,
    pub by_login: HashMap<String, String>,
}

impl Scripts {
    /// Takes the pending script keyed by `key` (it will not match again).
    pub fn take_client_state(&mut self, client_id: &str, state: &str) -> Option<String> {
        self.by_client_state
            .remove(&(client_id.to_owned(), state.to_owned()))
    }

    pub fn take_test_user(&mut self, user_id: &str) -> Option<String> {
        self.by_test_user.remove(&user_id.to_ascii_lowercase())
    }

    pub fn take_login(&mut self, login_id: &str) -> Option<String> {
        self.by_login.remove(login_id)
    }

    #[must_use]
    pub fn get(&self, id: Option<&str>) -> Option<&Script> {
        id.and_then(|id| self.by_id.get(id))
    }

    pub fn log_mut(&mut self, id: Option<&str>) -> Option<&mut ScriptLog> {
        id.and_then(|id| self.by_id.get_mut(id)).map(|s| &mut s.log)
    }
}
