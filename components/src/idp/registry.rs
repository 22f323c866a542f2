//! The `MitID` identity registry: identities, their authenticators and the one-time activation
//! secrets; the admin API handlers over it are in `admin_api` (contract in `ADMIN_API.md`).

use std::collections::HashMap;

use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use mitid_devices::app::{ActivationGrant, AppRegistration};
use mitid_devices::chip::ChipCredential;
use mitid_devices::code_token::{CodeTokenKind, CodeTokenRecord};
use mitid_devices::{DevicePolicies, OtpSecret, Timestamp};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;

use super::admin::{
    AddAuthenticatorRequest, AppActivated, AppActivationRequest, AuthenticatorIssued,
    AuthenticatorKind, AuthenticatorState, AuthenticatorView, CreateIdentityRequest, Ial,
    IdentityView, PersonRef, TemporaryPinIssued,
};
use super::jose::b64;
use crate::cvr::{CvrRegister, ProfessionalIdentity};
use crate::service::ApiError;

/// What the `IdP` keeps per authenticator (the verifier side of each device).
#[derive(Debug, Clone)]
pub enum AuthenticatorData {
    App {
        registration: Option<AppRegistration>,
        device_name: Option<String>,
    },
    CodeToken(CodeTokenRecord),
    Chip(ChipCredential),
    Password {
        salt: [u8; 16],
        hash: [u8; 32],
    },
}

#[derive(Debug, Clone)]
pub struct Authenticator {
    pub id: String,
    pub kind: AuthenticatorKind,
    pub revoked: bool,
    pub data: AuthenticatorData,
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub uuid: String,
    pub user_id: String,
    pub person: PersonRef,
    pub name: String,
    pub date_of_birth: String,
    pub ial: Ial,
    pub nemid_pid: Option<String>,
    pub blocked: Option<String>,
    pub authenticators: Vec<Authenticator>,
    /// The companies this person acts for (MitID Erhverv), one professional identity each, in
    /// the order they were given; empty for a person who only logs in privately.
    pub professional: Vec<ProfessionalIdentity>,
}

impl Identity {
    #[must_use]
    pub fn cpr(&self) -> Option<&str> {
        match &self.person {
            PersonRef::Cpr(cpr) => Some(cpr),
            PersonRef::PCode(_) => None,
        }
    }

    /// Whether an activated, unrevoked MitID app can approve for this identity (what MitID.dk's
    /// self-services and a second-device offer are approved with).
    #[must_use]
    pub fn has_active_app(&self) -> bool {
        self.authenticators.iter().any(|a| {
            !a.revoked
                && matches!(
                    a.data,
                    AuthenticatorData::App {
                        registration: Some(_),
                        ..
                    }
                )
        })
    }

    /// Checks a password against the stored one (constant time).
    #[must_use]
    pub fn password_matches(&self, password: &str) -> bool {
        self.authenticators.iter().any(|a| match &a.data {
            AuthenticatorData::Password { salt, hash } if !a.revoked => {
                let candidate = password_hash(salt, password);
                candidate
                    .iter()
                    .zip(hash)
                    .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                    == 0
            }
            _ => false,
        })
    }

    fn view(&self, now: Timestamp, policies: &DevicePolicies) -> IdentityView {
        IdentityView {
            uuid: self.uuid.clone(),
            user_id: self.user_id.clone(),
            person: self.person.clone(),
            name: self.name.clone(),
            date_of_birth: self.date_of_birth.clone(),
            ial: self.ial,
            nemid_pid: self.nemid_pid.clone(),
            blocked: self.blocked.is_some(),
            blocked_reason: self.blocked.clone(),
            authenticators: self
                .authenticators
                .iter()
                .map(|a| authenticator_view(a, now, policies))
                .collect(),
        }
    }
}

fn authenticator_view(
    a: &Authenticator,
    now: Timestamp,
    policies: &DevicePolicies,
) -> AuthenticatorView {
    let (state, serial, label, locked_until) = match &a.data {
        AuthenticatorData::App {
            registration,
            device_name,
        } => (
            if registration.is_some() {
                AuthenticatorState::Active
            } else {
                AuthenticatorState::PendingActivation
            },
            None,
            device_name.clone(),
            None,
        ),
        AuthenticatorData::CodeToken(record) => match record.status(now, &policies.code_token) {
            mitid_devices::LockStatus::Open => (
                AuthenticatorState::Active,
                Some(record.serial.clone()),
                None,
                None,
            ),
            mitid_devices::LockStatus::Locked { until } => (
                AuthenticatorState::TemporarilyLocked,
                Some(record.serial.clone()),
                None,
                Some(until.unix_secs()),
            ),
            mitid_devices::LockStatus::Blocked => (
                AuthenticatorState::Revoked,
                Some(record.serial.clone()),
                None,
                None,
            ),
        },
        AuthenticatorData::Chip(credential) => (
            if credential.is_active() {
                AuthenticatorState::Active
            } else {
                AuthenticatorState::PendingActivation
            },
            Some(credential.serial.clone()),
            Some(hex::encode(credential.credential_id)),
            None,
        ),
        AuthenticatorData::Password { .. } => (AuthenticatorState::Active, None, None, None),
    };
    AuthenticatorView {
        authenticator_id: a.id.clone(),
        kind: a.kind,
        state: if a.revoked {
            AuthenticatorState::Revoked
        } else {
            state
        },
        serial,
        label,
        locked_until,
    }
}

/// Salted, iterated HMAC-SHA256: the lab's passwords are synthetic, but a registry dump should
/// still not show them.
fn password_hash(salt: &[u8; 16], password: &str) -> [u8; 32] {
    let mut state: [u8; 32] = [0; 32];
    let mut input = password.as_bytes().to_vec();
    for _ in 0..256 {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(salt).unwrap_or_else(|_| unreachable_hmac());
        mac.update(&input);
        mac.update(&state);
        state = mac.finalize().into_bytes().into();
        input.clear();
    }
    state
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC takes keys of any length; this path cannot be reached with a 16-byte salt.
    <Hmac<Sha256> as Mac>::new_from_slice(b"x").unwrap_or_else(|_| unreachable_hmac())
}

/// Random token of `bytes` random bytes, base64url.
#[must_use]
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    b64(&buf)
}

/// A version-4 UUID from the OS generator.
#[must_use]
pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    uuid_from_bytes(b)
}

/// Formats 16 bytes as a version-4 UUID (used with seeded bytes for the test identities).
#[must_use]
pub fn uuid_from_bytes(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// One pending app-activation secret and which identity it belongs to.
#[derive(Debug, Clone)]
pub struct PendingActivation {
    pub uuid: String,
    /// The app authenticator it activates; `None` for a temporary PIN (a new app is added).
    pub authenticator_id: Option<String>,
    pub grant: ActivationGrant,
}

/// All identities, indexed three ways.
#[derive(Debug, Default)]
pub struct Registry {
    pub by_uuid: HashMap<String, Identity>,
    pub user_ids: HashMap<String, String>,
    pub cprs: HashMap<String, String>,
    /// Outstanding activation codes and temporary PINs, by user ID.
    pub activations: HashMap<String, Vec<PendingActivation>>,
    next_serial: u64,
}

/// A registry operation that did not happen, mapped onto the admin API's errors.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("field `{field}`: {detail}")]
    Invalid { field: &'static str, detail: String },
    #[error("{0}")]
    InvalidCode(String),
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        match e {
            RegistryError::NotFound(m) => ApiError::NotFound(m),
            RegistryError::Conflict(m) => ApiError::Conflict(m),
            RegistryError::Invalid { .. } => ApiError::InvalidRequest(e.to_string()),
            RegistryError::InvalidCode(m) => {
                ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_code", m)
            }
        }
    }
}

fn valid_user_id(user_id: &str) -> bool {
    (6..=20).contains(&user_id.len())
        && user_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn valid_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|i| b[*i].is_ascii_digit())
        && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
}

impl Registry {
    pub fn create(
        &mut self,
        req: CreateIdentityRequest,
        uuid: String,
    ) -> Result<&Identity, RegistryError> {
        match &req.person {
            PersonRef::Cpr(cpr) => {
                if cpr.len() != 10 || !cpr.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(RegistryError::Invalid {
                        field: "person.cpr",
                        detail: format!("`{cpr}` is not 10 digits"),
                    });
                }
                if self.cprs.contains_key(cpr) {
                    return Err(RegistryError::Conflict(format!(
                        "CPR {cpr} already has a MitID"
                    )));
                }
            }
            PersonRef::PCode(code) => {
                if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(RegistryError::Invalid {
                        field: "person.p_code",
                        detail: format!("`{code}` is not 8 digits"),
                    });
                }
            }
        }
        if req.name.trim().is_empty() || req.name.len() > 200 {
            return Err(RegistryError::Invalid {
                field: "name",
                detail: "must be 1–200 characters".into(),
            });
        }
        if !valid_date(&req.date_of_birth) {
            return Err(RegistryError::Invalid {
                field: "date_of_birth",
                detail: format!("`{}` is not a YYYY-MM-DD date", req.date_of_birth),
            });
        }
        let user_id = match req.user_id {
            Some(u) => {
                if !valid_user_id(&u) {
                    return Err(RegistryError::Invalid {
                        field: "user_id",
                        detail: format!("`{u}` must be 6–20 of A-Z a-z 0-9 . _ -"),
                    });
                }
                if self.user_ids.contains_key(&u.to_ascii_lowercase()) {
                    return Err(RegistryError::Conflict(format!("user ID `{u}` is taken")));
                }
                u
            }
            None => self.pick_user_id(&req.name),
        };
        if self.by_uuid.contains_key(&uuid) {
            return Err(RegistryError::Conflict(format!("uuid {uuid} exists")));
        }
        if let PersonRef::Cpr(cpr) = &req.person {
            self.cprs.insert(cpr.clone(), uuid.clone());
        }
        self.user_ids
            .insert(user_id.to_ascii_lowercase(), uuid.clone());
        let identity = Identity {
            uuid: uuid.clone(),
            user_id,
            person: req.person,
            name: req.name,
            date_of_birth: req.date_of_birth,
            ial: req.ial,
            nemid_pid: req.nemid_pid,
            blocked: None,
            authenticators: Vec::new(),
            professional: Vec::new(),
        };
        Ok(self.by_uuid.entry(uuid).or_insert(identity))
    }

    fn pick_user_id(&mut self, name: &str) -> String {
        let stem: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .take(12)
            .collect();
        let stem = if stem.len() < 4 {
            format!("mitid{stem}")
        } else {
            stem
        };
        loop {
            self.next_serial += 1;
            let candidate = format!("{stem}{}", self.next_serial);
            if !self.user_ids.contains_key(&candidate) {
                return candidate;
            }
        }
    }

    pub fn uuid_by_user_id(&self, user_id: &str) -> Option<&str> {
        self.user_ids
            .get(&user_id.to_ascii_lowercase())
            .map(String::as_str)
    }

    #[must_use]
    pub fn by_user_id(&self, user_id: &str) -> Option<&Identity> {
        self.uuid_by_user_id(user_id)
            .and_then(|u| self.by_uuid.get(u))
    }

    /// Makes the identity `uuid` act for the companies `cvrs` (replacing what it acted for):
    /// each must be in `register`, none twice.
    pub fn set_organisations(
        &mut self,
        uuid: &str,
        cvrs: &[String],
        register: &CvrRegister,
    ) -> Result<&Identity, RegistryError> {
        if cvrs.len() > MAX_ORGANISATIONS {
            return Err(RegistryError::Invalid {
                field: "organisations",
                detail: format!("at most {MAX_ORGANISATIONS} companies per person"),
            });
        }
        let mut companies = Vec::with_capacity(cvrs.len());
        for (index, cvr) in cvrs.iter().enumerate() {
            let company = register.get(cvr).ok_or_else(|| RegistryError::Invalid {
                field: "organisations",
                detail: format!(
                    "organisations[{index}]: `{cvr}` is not a company of the lab's CVR register"
                ),
            })?;
            if cvrs[..index].contains(cvr) {
                return Err(RegistryError::Invalid {
                    field: "organisations",
                    detail: format!("organisations[{index}]: `{cvr}` is listed twice"),
                });
            }
            companies.push(company);
        }
        let identity = self.get_mut(uuid)?;
        identity.professional = companies
            .into_iter()
            .map(|company| ProfessionalIdentity::mint(&identity.uuid, company))
            .collect();
        Ok(identity)
    }

    pub fn get_mut(&mut self, uuid: &str) -> Result<&mut Identity, RegistryError> {
        self.by_uuid
            .get_mut(uuid)
            .ok_or_else(|| RegistryError::NotFound(format!("no identity with uuid {uuid}")))
    }

    /// Revokes every active app of the identity (a lost or replaced phone), returning how many.
    pub fn revoke_apps(&mut self, uuid: &str) -> Result<usize, RegistryError> {
        let identity = self.get_mut(uuid)?;
        let mut revoked = 0;
        for app in identity
            .authenticators
            .iter_mut()
            .filter(|a| a.kind == AuthenticatorKind::App && !a.revoked)
        {
            app.revoked = true;
            revoked += 1;
        }
        Ok(revoked)
    }

    fn new_serial(&mut self, prefix: &str) -> String {
        self.next_serial += 1;
        format!("{prefix}-{:08}", self.next_serial)
    }

    // One arm per authenticator kind; splitting it would scatter the kinds' rules.
    #[allow(clippy::too_many_lines)]
    pub fn add_authenticator(
        &mut self,
        uuid: &str,
        req: AddAuthenticatorRequest,
        now: Timestamp,
        policies: &DevicePolicies,
        rp_id: &str,
    ) -> Result<AuthenticatorIssued, RegistryError> {
        let user_id = self.get_mut(uuid)?.user_id.clone();
        let id = random_token(9);
        let (kind, data, issued) = match req {
            AddAuthenticatorRequest::App => {
                let grant =
                    ActivationGrant::activation_code(&user_id, now, &policies.app, &mut OsRng);
                let issued = AuthenticatorIssued::App {
                    authenticator_id: id.clone(),
                    activation_code: grant.reveal_code().to_owned(),
                    expires_in: grant.expires_at.unix_secs().saturating_sub(now.unix_secs()),
                };
                self.activations
                    .entry(user_id.to_ascii_lowercase())
                    .or_default()
                    .push(PendingActivation {
                        uuid: uuid.to_owned(),
                        authenticator_id: Some(id.clone()),
                        grant,
                    });
                (
                    AuthenticatorKind::App,
                    AuthenticatorData::App {
                        registration: None,
                        device_name: None,
                    },
                    issued,
                )
            }
            AddAuthenticatorRequest::CodeDisplay | AddAuthenticatorRequest::AudioCodeReader => {
                let audio = matches!(req, AddAuthenticatorRequest::AudioCodeReader);
                let serial = self.new_serial(if audio { "AR" } else { "CD" });
                let secret = OtpSecret::generate(&mut OsRng);
                let secret_b64 = b64(secret.expose_bytes());
                let record = CodeTokenRecord::new(
                    serial.clone(),
                    if audio {
                        CodeTokenKind::AudioCodeReader
                    } else {
                        CodeTokenKind::CodeDisplay
                    },
                    secret,
                );
                let totp = &policies.code_token.totp;
                let (digits, period_seconds) = (u32::from(totp.digits), totp.step.as_secs());
                let (kind, issued) = if audio {
                    (
                        AuthenticatorKind::AudioCodeReader,
                        AuthenticatorIssued::AudioCodeReader {
                            authenticator_id: id.clone(),
                            serial,
                            totp_secret: secret_b64,
                            digits,
                            period_seconds,
                        },
                    )
                } else {
                    (
                        AuthenticatorKind::CodeDisplay,
                        AuthenticatorIssued::CodeDisplay {
                            authenticator_id: id.clone(),
                            serial,
                            totp_secret: secret_b64,
                            digits,
                            period_seconds,
                        },
                    )
                };
                (kind, AuthenticatorData::CodeToken(record), issued)
            }
            AddAuthenticatorRequest::Chip { credential } => {
                if credential.rp_id != rp_id {
                    return Err(RegistryError::Invalid {
                        field: "credential.rp_id",
                        detail: format!("`{}` is not this IdP's rp_id `{rp_id}`", credential.rp_id),
                    });
                }
                (
                    AuthenticatorKind::Chip,
                    AuthenticatorData::Chip(credential),
                    AuthenticatorIssued::Chip {
                        authenticator_id: id.clone(),
                    },
                )
            }
            AddAuthenticatorRequest::Password { password } => {
                check_password(&password)?;
                let identity = self.get_mut(uuid)?;
                for a in &mut identity.authenticators {
                    if a.kind == AuthenticatorKind::Password {
                        a.revoked = true;
                    }
                }
                (
                    AuthenticatorKind::Password,
                    new_password(&password),
                    AuthenticatorIssued::Password {
                        authenticator_id: id.clone(),
                    },
                )
            }
        };
        let identity = self.get_mut(uuid)?;
        identity
            .authenticators
            .retain(|a| !(a.revoked && a.kind == AuthenticatorKind::Password));
        identity.authenticators.push(Authenticator {
            id,
            kind,
            revoked: false,
            data,
        });
        Ok(issued)
    }

    pub fn issue_temporary_pin(
        &mut self,
        uuid: &str,
        now: Timestamp,
        policies: &DevicePolicies,
    ) -> Result<TemporaryPinIssued, RegistryError> {
        let user_id = self.get_mut(uuid)?.user_id.to_ascii_lowercase();
        let grant = ActivationGrant::temporary_pin(&user_id, now, &policies.app, &mut OsRng);
        let issued = TemporaryPinIssued {
            temporary_pin: grant.reveal_code().to_owned(),
            expires_in: grant.expires_at.unix_secs().saturating_sub(now.unix_secs()),
        };
        let pending = self.activations.entry(user_id).or_default();
        // A new temporary PIN voids the previous one.
        pending.retain(|p| p.authenticator_id.is_some());
        pending.push(PendingActivation {
            uuid: uuid.to_owned(),
            authenticator_id: None,
            grant,
        });
        Ok(issued)
    }

    pub fn activate_app(
        &mut self,
        req: AppActivationRequest,
        now: Timestamp,
        policies: &DevicePolicies,
    ) -> Result<AppActivated, RegistryError> {
        let key = req.registration.user_id.to_ascii_lowercase();
        let pending = self.activations.get_mut(&key).ok_or_else(|| {
            RegistryError::InvalidCode(format!(
                "no activation pending for user ID `{}`",
                req.registration.user_id
            ))
        })?;
        let mut last_error = String::from("no activation pending");
        let mut redeemed = None;
        for (i, p) in pending.iter_mut().enumerate() {
            match p.grant.redeem(&req.code, now, &policies.app) {
                Ok(proof) => {
                    redeemed = Some((i, proof.route()));
                    break;
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        let Some((index, route)) = redeemed else {
            return Err(RegistryError::InvalidCode(last_error));
        };
        let p = pending.remove(index);
        let mut registration = req.registration;
        registration.activated_at = now;
        registration.route = route;
        registration
            .user_id
            .clone_from(&self.get_mut(&p.uuid)?.user_id);
        let identity = self.get_mut(&p.uuid)?;
        let authenticator_id = if let Some(id) = p.authenticator_id {
            id
        } else {
            let id = random_token(9);
            identity.authenticators.push(Authenticator {
                id: id.clone(),
                kind: AuthenticatorKind::App,
                revoked: false,
                data: AuthenticatorData::App {
                    registration: None,
                    device_name: None,
                },
            });
            id
        };
        let slot = identity
            .authenticators
            .iter_mut()
            .find(|a| a.id == authenticator_id)
            .ok_or_else(|| {
                RegistryError::NotFound(format!("authenticator {authenticator_id} is gone"))
            })?;
        slot.data = AuthenticatorData::App {
            registration: Some(registration),
            device_name: Some(req.device_name),
        };
        Ok(AppActivated {
            authenticator_id,
            uuid: p.uuid,
        })
    }
}

fn check_password(password: &str) -> Result<(), RegistryError> {
    let chars = password.chars().count();
    if !(8..=128).contains(&chars) {
        return Err(RegistryError::Invalid {
            field: "password",
            detail: "must be 8–128 characters".into(),
        });
    }
    Ok(())
}

fn new_password(password: &str) -> AuthenticatorData {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    AuthenticatorData::Password {
        salt,
        hash: password_hash(&salt, password),
    }
}

/// Most companies one person may act for in the lab.
pub const MAX_ORGANISATIONS: usize = 10;

mod admin_api;
pub use admin_api::{
    activate_app, add_authenticator, block, complete_chip_activation, create_identity, get_by_cpr,
    get_by_user_id, get_identity, get_organisations, password_reset, revoke_apps, set_ial,
    set_organisations, temporary_pin, unblock,
};
