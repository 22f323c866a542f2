//! The profile's claims (named by the deployment profile) for the granted scopes, shared by the
//! ID token and the userinfo answer.

use serde_json::{Map, Value, json};

use crate::idp::IdpState;
use crate::idp::profile::ClaimKey;
use crate::idp::registry::Identity;
use crate::idp::script::{LoginIdp, LoginResult};

fn claim_value(
    state: &IdpState,
    key: ClaimKey,
    identity: &Identity,
    result: &LoginResult,
) -> Option<Value> {
    Some(match key {
        ClaimKey::Uuid => json!(identity.uuid),
        ClaimKey::DateOfBirth => json!(identity.date_of_birth),
        ClaimKey::Age => {
            let born =
                chrono::NaiveDate::parse_from_str(&identity.date_of_birth, "%Y-%m-%d").ok()?;
            json!(state.clock.today().years_since(born).unwrap_or(0))
        }
        ClaimKey::IdentityName => json!(identity.name),
        ClaimKey::IalIdentityAssuranceLevel | ClaimKey::Ial => json!(result.ial.uri()),
        ClaimKey::TransactionId => json!(result.transaction_id),
        ClaimKey::HasCpr => json!(identity.cpr().is_some()),
        ClaimKey::Cpr => json!(identity.cpr()?),
        ClaimKey::NemidPid => json!(identity.nemid_pid.as_ref()?),
        ClaimKey::Idp => match result.idp {
            LoginIdp::Nemid => json!(state.profile.nemid_idp_value.as_deref().unwrap_or("nemid")),
            LoginIdp::Mitid => json!(
                state
                    .profile
                    .idp_values
                    .first()
                    .map_or("mitid", String::as_str)
            ),
        },
        ClaimKey::IdentityType => json!(state.profile.identity_type_person),
        ClaimKey::Loa => json!(result.loa.uri()),
        ClaimKey::Aal => json!(result.aal.uri()),
        ClaimKey::Amr => json!(
            result
                .amr
                .iter()
                .map(mitid_devices::Amr::as_str)
                .collect::<Vec<_>>()
        ),
    })
}

/// The profile's claims for the granted scopes.
pub(super) fn profile_claims(
    state: &IdpState,
    scopes: &[String],
    identity: &Identity,
    result: &LoginResult,
) -> Map<String, Value> {
    let mut claims = Map::new();
    for key in state.profile.keys_for(scopes.iter().map(String::as_str)) {
        if let (Some(name), Some(value)) = (
            state.profile.name(key),
            claim_value(state, key, identity, result),
        ) {
            claims.insert(name.to_owned(), value);
        }
    }
    claims
}
