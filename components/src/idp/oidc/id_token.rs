//! The ID token: minted honestly first ([`IdTokenDraft::honest`]), then changed by the login's
//! scripted faults, each a small named condition ([`IdTokenFault::apply`]) in the way the `OpenID`
//! conformance suite composes its conditions, and signed last ([`IdTokenDraft::sign`]).
//!
//! Faults apply in the order the script lists them; a later fault sees (and may undo) what an
//! earlier one did, and the last signature fault decides how the token is signed.

use mitid_devices::{Aal, Loa};
use serde_json::{Map, Value, json};

use super::claims::profile_claims;
use crate::idp::jose::{self, JoseError, Signature, SigningKey};
use crate::idp::profile::ClaimKey;
use crate::idp::registry::{Identity, random_token};
use crate::idp::script::IdTokenFault;
use crate::idp::{ClientConfig, CodeGrant, IdpState};

/// How an ID token's signature is made: honestly, or one of the scripted signature faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// By the broker's published key for the client's algorithm.
    Honest,
    /// By a key that is not in the JWKS, under the published `kid`.
    ForeignKey,
    /// `alg: none`, no `kid`, empty signature.
    AlgNone,
    /// `alg: HS256`, keyed with the PEM of the published public key (key confusion).
    Hs256PublicKey,
    /// An honest signature with its last byte flipped.
    Corrupt,
}

/// An ID token before it is signed.
#[derive(Debug, Clone)]
pub struct IdTokenDraft {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub signing: Signing,
}

/// What a fault may read besides the draft.
pub struct FaultContext<'a> {
    pub state: &'a IdpState,
    pub client: &'a ClientConfig,
    pub grant: &'a CodeGrant,
    /// The time the token is minted at (seconds since the epoch, lab clock).
    pub now: u64,
}

/// Builds and signs the ID token, applying the login's scripted faults.
///
/// # Errors
/// The broker has no key for the client's algorithm, or signing fails.
pub fn mint_id_token(
    state: &IdpState,
    client: &ClientConfig,
    grant: &CodeGrant,
    identity: &Identity,
    access_token: &str,
    faults: &[IdTokenFault],
) -> Result<String, JoseError> {
    let now = state.now_secs();
    let key = state
        .signing_key(client.id_token_signed_response_alg)
        .ok_or_else(|| JoseError::UnknownKey(client.id_token_signed_response_alg.to_string()))?;
    let mut draft = IdTokenDraft::honest(state, client, grant, identity, access_token, &key, now);
    let context = FaultContext {
        state,
        client,
        grant,
        now,
    };
    for fault in faults {
        fault.apply(&mut draft, &context);
    }
    draft.sign(state, &key)
}

impl IdTokenDraft {
    /// The ID token as an honest broker mints it (OIDC Core §2, with the profile's claims).
    #[must_use]
    pub fn honest(
        state: &IdpState,
        client: &ClientConfig,
        grant: &CodeGrant,
        identity: &Identity,
        access_token: &str,
        key: &SigningKey,
        now: u64,
    ) -> Self {
        let result = &grant.result;
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(state.issuer));
        claims.insert("sub".into(), json!(identity.uuid));
        claims.insert("aud".into(), json!(client.client_id));
        claims.insert(
            "exp".into(),
            json!(now + state.profile.lifetimes.id_token_seconds),
        );
        claims.insert("iat".into(), json!(now));
        claims.insert("auth_time".into(), json!(result.auth_time));
        if let Some(nonce) = &grant.request.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        claims.insert("sid".into(), json!(result.sid));
        claims.insert("at_hash".into(), json!(jose::half_hash(access_token)));
        if grant.request.acr_requested {
            claims.insert("acr".into(), json!(result.loa.uri()));
        }
        claims.extend(profile_claims(
            state,
            &grant.request.scopes,
            identity,
            result,
        ));
        let mut header = Map::new();
        header.insert("alg".into(), json!(key.alg.as_str()));
        header.insert("kid".into(), json!(key.kid));
        header.insert("typ".into(), json!("JWT"));
        Self {
            header,
            claims,
            signing: Signing::Honest,
        }
    }

    /// The compact JWS, signed as [`Signing`] says.
    ///
    /// # Errors
    /// Signing fails (or the foreign key cannot be made).
    pub fn sign(mut self, state: &IdpState, key: &SigningKey) -> Result<String, JoseError> {
        let claims = Value::Object(self.claims);
        match self.signing {
            Signing::Honest => {
                jose::compact(&Value::Object(self.header), &claims, &Signature::Key(key))
            }
            Signing::ForeignKey => {
                let foreign = crate::idp::foreign_key(state.key_seed, key.alg)?;
                jose::compact(
                    &Value::Object(self.header),
                    &claims,
                    &Signature::Key(&foreign),
                )
            }
            Signing::AlgNone => {
                self.header.insert("alg".into(), json!("none"));
                self.header.remove("kid");
                jose::compact(&Value::Object(self.header), &claims, &Signature::None)
            }
            Signing::Hs256PublicKey => {
                self.header.insert("alg".into(), json!("HS256"));
                let pem = key.public_pem();
                jose::compact(
                    &Value::Object(self.header),
                    &claims,
                    &Signature::Hmac(pem.as_bytes()),
                )
            }
            Signing::Corrupt => {
                let token =
                    jose::compact(&Value::Object(self.header), &claims, &Signature::Key(key))?;
                let (input, signature) = token.rsplit_once('.').unwrap_or((&token, ""));
                let mut bytes = jose::unb64(signature)?;
                if let Some(last) = bytes.last_mut() {
                    *last ^= 0x01;
                }
                Ok(format!("{input}.{}", jose::b64(&bytes)))
            }
        }
    }
}

impl IdTokenFault {
    /// Applies this fault to the draft: one named condition per fault.
    pub fn apply(&self, draft: &mut IdTokenDraft, context: &FaultContext<'_>) {
        match self {
            IdTokenFault::ForeignKey => draft.signing = Signing::ForeignKey,
            IdTokenFault::AlgNone => draft.signing = Signing::AlgNone,
            IdTokenFault::Hs256PublicKey => draft.signing = Signing::Hs256PublicKey,
            IdTokenFault::BadSignature => draft.signing = Signing::Corrupt,
            IdTokenFault::WrongIss { iss } => wrong_iss(draft, context, iss.as_deref()),
            IdTokenFault::WrongAud { aud } => wrong_aud(draft, aud.as_deref()),
            IdTokenFault::ExtraAudWithoutAzp => extra_aud_without_azp(draft, context),
            IdTokenFault::Expired { seconds } => expired(draft, context, seconds.unwrap_or(600)),
            IdTokenFault::FutureIat { seconds } => {
                future_iat(draft, context, seconds.unwrap_or(3600));
            }
            IdTokenFault::ClockSkew { seconds } => clock_skew(draft, *seconds),
            IdTokenFault::MissingNonce => {
                draft.claims.remove("nonce");
            }
            IdTokenFault::WrongNonce => {
                draft
                    .claims
                    .insert("nonce".into(), json!(format!("not-{}", random_token(8))));
            }
            IdTokenFault::MissingSub => {
                draft.claims.remove("sub");
            }
            IdTokenFault::LowerLoa => lower_loa(draft, context),
            IdTokenFault::OmitKid => {
                draft.header.remove("kid");
            }
            IdTokenFault::UnknownKid => {
                draft
                    .header
                    .insert("kid".into(), json!(format!("unknown-{}", random_token(6))));
            }
            IdTokenFault::SetClaims { claims } => set_claims(draft, claims),
        }
    }
}

/// `iss` is another issuer (by default a path below the real one, which a sloppy prefix check
/// accepts).
fn wrong_iss(draft: &mut IdTokenDraft, context: &FaultContext<'_>, iss: Option<&str>) {
    let iss = iss.map_or_else(
        || format!("{}/not-the-issuer", context.state.issuer),
        str::to_owned,
    );
    draft.claims.insert("iss".into(), json!(iss));
}

/// `aud` names another client.
fn wrong_aud(draft: &mut IdTokenDraft, aud: Option<&str>) {
    draft
        .claims
        .insert("aud".into(), json!(aud.unwrap_or("some-other-client")));
}

/// `aud` lists a second relying party and there is no `azp` (OIDC Core §3.1.3.7 items 3-5).
fn extra_aud_without_azp(draft: &mut IdTokenDraft, context: &FaultContext<'_>) {
    draft.claims.insert(
        "aud".into(),
        json!([context.client.client_id, "another-relying-party"]),
    );
    draft.claims.remove("azp");
}

/// The token expired `ago` seconds before it was minted; `iat` keeps the usual lifetime.
fn expired(draft: &mut IdTokenDraft, context: &FaultContext<'_>, ago: u64) {
    let exp = context.now.saturating_sub(ago);
    let lifetime = context.state.profile.lifetimes.id_token_seconds;
    draft.claims.insert("exp".into(), json!(exp));
    draft
        .claims
        .insert("iat".into(), json!(exp.saturating_sub(lifetime)));
}

/// The token is issued `ahead` seconds in the future; `exp` keeps the usual lifetime.
fn future_iat(draft: &mut IdTokenDraft, context: &FaultContext<'_>, ahead: u64) {
    let iat = context.now + ahead;
    let lifetime = context.state.profile.lifetimes.id_token_seconds;
    draft.claims.insert("iat".into(), json!(iat));
    draft.claims.insert("exp".into(), json!(iat + lifetime));
}

/// Every time claim shifted by `seconds`, as a broker with a skewed clock would mint them.
fn clock_skew(draft: &mut IdTokenDraft, seconds: i64) {
    for name in ["iat", "exp", "auth_time"] {
        if let Some(v) = draft.claims.get(name).and_then(Value::as_u64) {
            draft
                .claims
                .insert(name.into(), json!(v.saturating_add_signed(seconds)));
        }
    }
}

/// The level of assurance (the profile's `loa` and `aal` claims, and `acr` when present) one
/// level below what the client asked for (below the login's own level if it asked nothing).
fn lower_loa(draft: &mut IdTokenDraft, context: &FaultContext<'_>) {
    let grant = context.grant;
    let asked = grant.request.requested_loa.unwrap_or(grant.result.loa);
    let lower = Loa::from_rank(asked.rank().saturating_sub(1));
    let lower_aal = Aal::from_rank(lower.rank());
    let profile = &context.state.profile;
    if let Some(name) = profile.name(ClaimKey::Loa) {
        draft.claims.insert(name.into(), json!(lower.uri()));
    }
    if let Some(name) = profile.name(ClaimKey::Aal) {
        draft.claims.insert(name.into(), json!(lower_aal.uri()));
    }
    if draft.claims.contains_key("acr") {
        draft.claims.insert("acr".into(), json!(lower.uri()));
    }
}

/// Sets the given claims; a `null` value removes the claim.
fn set_claims(draft: &mut IdTokenDraft, set: &Map<String, Value>) {
    for (name, value) in set {
        if value.is_null() {
            draft.claims.remove(name);
        } else {
            draft.claims.insert(name.clone(), value.clone());
        }
    }
}
