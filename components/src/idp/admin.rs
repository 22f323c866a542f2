//! Identity admin API: the wire types of the `MitID` identity registry's administration endpoints.
//!
//! Served on the `IdP`'s CONTROL listener under `/admin` (never on the public OIDC listener): Citizen
//! Service, the support line and the conformance runner act on identities through it. The
//! contract, with paths and status codes, is `ADMIN_API.md` beside this file; these types are the
//! bodies. Requests reject unknown fields so a typo in a caller is a 400 naming the field, not a
//! silently ignored setting.
//!
//! TOTP secrets travel as unpadded base64url; device records (`AppRegistration`,
//! `ChipCredential`) in the serde form of the devices crate.

use serde::{Deserialize, Serialize};

/// Identity assurance level (NSIS IAL) of a `MitID` identity: the devices crate's type, whose
/// serde form (`low`, `substantial`, `high`) is this API's wire format.
pub use mitid_devices::Ial;

/// Who the identity belongs to: a person in the CPR register, or a person without a CPR number
/// who was identified with a P code (such identities have `mitid.has_cpr = false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PersonRef {
    /// CPR number, 10 digits (`DDMMYYSSSS`, no dash).
    Cpr(String),
    /// The P code the person was identified with (8 digits). It is not a lasting identifier: the
    /// identity's UUID is.
    PCode(String),
}

/// `POST /admin/identities`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIdentityRequest {
    pub person: PersonRef,
    /// Full name as it goes into `mitid.identity_name`.
    pub name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub ial: Ial,
    /// Wished user ID (6–20 of `A-Za-z0-9._-`); the `IdP` picks one from the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `NemID` PID of the person's `NemID`, when they moved from `NemID` (goes into `nemid.pid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemid_pid: Option<String>,
}

/// `PUT /admin/identities/{uuid}/organisations`: the companies (CVR numbers of the lab's CVR
/// register) the person acts for in business (`MitID` Erhverv) logins; `[]` for none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetOrganisationsRequest {
    pub organisations: Vec<String>,
}

/// Answer of `GET`/`PUT /admin/identities/{uuid}/organisations`: the person's professional
/// identities, one per company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationsView {
    pub uuid: String,
    pub organisations: Vec<crate::cvr::ProfessionalIdentity>,
}

/// The kinds of `MitID` authenticator the registry knows, as its admin API names them.
///
/// Not [`mitid_devices::AuthenticatorKind`]: the registry counts the password among a `MitID`'s
/// authenticators (it is issued, locked and revoked like them), which the devices crate models
/// as a factor of a login and not as a device, and it holds no NemID authenticators. Its wire
/// names (`app`, ...) are the admin API's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticatorKind {
    App,
    CodeDisplay,
    AudioCodeReader,
    Chip,
    Password,
}

/// Life-cycle of one authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticatorState {
    /// Issued, waiting for the device to complete activation (apps only).
    PendingActivation,
    Active,
    /// Too many wrong attempts; unlocks by itself at `locked_until` (unix seconds).
    TemporarilyLocked,
    Revoked,
}

/// One authenticator as the registry shows it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorView {
    pub authenticator_id: String,
    pub kind: AuthenticatorKind,
    pub state: AuthenticatorState,
    /// Code display / audio reader serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// App: device name given at activation. Chip: credential id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<u64>,
}

/// An identity as the registry shows it. Answer of every lookup and of create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityView {
    /// `mitid.uuid`: the stable identifier, also the OIDC `sub`.
    pub uuid: String,
    pub user_id: String,
    pub person: PersonRef,
    pub name: String,
    pub date_of_birth: String,
    pub ial: Ial,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemid_pid: Option<String>,
    pub blocked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_reason: Option<String>,
    pub authenticators: Vec<AuthenticatorView>,
}

/// `PUT /admin/identities/{uuid}/ial`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetIalRequest {
    pub ial: Ial,
}

/// `POST /admin/identities/{uuid}/authenticators`: what to issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AddAuthenticatorRequest {
    /// A `MitID` app on a new device. Answers an activation code; the device then calls
    /// `POST /admin/app-activations` with it (or with a temporary PIN) and its public key.
    App,
    /// A code display: the `IdP` provisions a TOTP secret and a serial.
    CodeDisplay,
    /// An audio code reader: same as a code display, different device.
    AudioCodeReader,
    /// A `MitID` chip (FIDO-style): the credential from `mitid_devices::Chip::registration(rp_id,
    /// now)`, where `rp_id` is the host of the `IdP`'s issuer URL. Its two-step activation state is
    /// kept as given (`first_step_done` becomes active 24 h later through
    /// `POST /admin/identities/{uuid}/authenticators/{id}/complete-chip-activation`).
    Chip {
        credential: mitid_devices::chip::ChipCredential,
    },
    /// The `MitID` password, used with code display, audio reader and chip. Replaces any earlier one.
    Password { password: String },
}

/// Answer of `POST /admin/identities/{uuid}/authenticators`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthenticatorIssued {
    App {
        authenticator_id: String,
        /// One-time code (12 characters) for `POST /admin/app-activations`; valid `expires_in` s.
        activation_code: String,
        expires_in: u64,
    },
    CodeDisplay {
        authenticator_id: String,
        serial: String,
        /// TOTP secret (20 bytes, base64url): the device the caller builds holds it.
        totp_secret: String,
        /// TOTP parameters, RFC 6238: HMAC-SHA1, 6 digits, 30 s steps from the unix epoch.
        digits: u32,
        period_seconds: u64,
    },
    AudioCodeReader {
        authenticator_id: String,
        serial: String,
        totp_secret: String,
        digits: u32,
        period_seconds: u64,
    },
    Chip {
        authenticator_id: String,
    },
    Password {
        authenticator_id: String,
    },
}

/// `POST /admin/app-activations`: a device completes app activation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppActivationRequest {
    /// Either an activation code from `AuthenticatorIssued::App` or a temporary PIN from
    /// `POST /admin/identities/{uuid}/temporary-pin`, as the citizen typed it.
    pub code: String,
    /// What the app produced at activation (`mitid_devices::MitidApp::activate`): user ID, key id
    /// and the P-256 public key approvals are verified with. `activated_at` and `route` are
    /// replaced by the `IdP`'s own (the time of redemption, the route of the code).
    pub registration: mitid_devices::app::AppRegistration,
    /// Shown in the registry ("Anna's iPhone").
    pub device_name: String,
}

/// Answer of `POST /admin/app-activations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppActivated {
    pub authenticator_id: String,
    pub uuid: String,
}

/// Answer of `POST /admin/identities/{uuid}/temporary-pin`: the PIN for the caller to send by SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemporaryPinIssued {
    /// 6 digits, single use, activates a new app via `POST /admin/app-activations`.
    pub temporary_pin: String,
    pub expires_in: u64,
}

/// `POST /admin/identities/{uuid}/password-reset`: support resets the code-display password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The new password; when absent the `IdP` makes a temporary one and returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_password: Option<String>,
}

/// Answer of `POST /admin/identities/{uuid}/password-reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordReset {
    /// Present only when the `IdP` chose the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

/// Answer of `POST /admin/identities/{uuid}/apps/revoke`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppsRevoked {
    pub revoked_apps: usize,
}

/// `POST /admin/identities/{uuid}/block`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    pub reason: String,
}

/// Body of every 4xx/5xx from the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminError {
    /// Machine-readable: `not_found`, `conflict`, `invalid_request`, `invalid_code`, `blocked`.
    pub error: String,
    /// Human-readable, names the offending field.
    pub error_description: String,
}
