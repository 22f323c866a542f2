//! The MitID broker's claims on top of the standard ones, and the `openidconnect` types
//! specialised to them (ID token, logout token, token response, client).

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, Client, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdToken, IdTokenClaims, IdTokenFields, StandardErrorResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};

/// The claims a MitID broker adds to the standard ones (ID token and userinfo).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct MitIdClaims {
    #[serde(rename = "mitid.uuid", skip_serializing_if = "Option::is_none")]
    pub(crate) mitid_uuid: Option<String>,
    #[serde(rename = "dk.cpr", skip_serializing_if = "Option::is_none")]
    pub(crate) cpr: Option<String>,
    #[serde(rename = "mitid.has_cpr", skip_serializing_if = "Option::is_none")]
    pub(crate) has_cpr: Option<bool>,
    #[serde(
        rename = "mitid.identity_name",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) identity_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) loa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) idp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) identity_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
}
impl AdditionalClaims for MitIdClaims {}

/// The claims of an OpenID Connect back-channel logout token beyond the ID-token ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LogoutTokenClaims {
    #[serde(default)]
    pub(crate) events: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) jti: Option<String>,
}
impl AdditionalClaims for LogoutTokenClaims {}

pub(crate) type MitIdIdToken = IdToken<
    MitIdClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub(crate) type MitIdIdTokenClaims = IdTokenClaims<MitIdClaims, CoreGenderClaim>;
pub(crate) type LogoutToken = IdToken<
    LogoutTokenClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub(crate) type MitIdTokenResponse = StandardTokenResponse<
    IdTokenFields<
        MitIdClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;
/// `CoreClient` with the MitID claims, as discovery builds it.
pub(crate) type MitIdClient = Client<
    MitIdClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    MitIdTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;
