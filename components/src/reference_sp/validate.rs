//! ID-token and logout-token validation, written out step by step so each named [`Flaw`] can
//! switch off exactly one step.
//!
//! The correct path: compact JWS with three parts; `alg` on an allow-list (ES256, RS256) —
//! never `none`, never HMAC with a public key; the key chosen by `kid` from the IdP's JWKS
//! (the caller refetches the JWKS once on an unknown `kid`); signature verified; `iss` equals
//! the discovered issuer; `aud` contains the client id and, when there are several audiences,
//! `azp` is the client id; `exp` in the future and `iat` not in the future (token age is bounded by `exp`), both with a small
//! clock skew; `nonce` equals the login's nonce; `sub` present.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Flaw;

/// Clock skew tolerated on `exp` and `iat` (seconds).
pub const CLOCK_SKEW: i64 = 60;
/// Smallest RSA modulus accepted.
const MIN_RSA_BITS: usize = 2048;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not a compact JWS: {0}")]
    Malformed(String),
    #[error("alg {0:?} is not allowed (ES256 and RS256 only)")]
    AlgNotAllowed(String),
    #[error("no key with kid {0:?} in the IdP's JWKS")]
    UnknownKey(Option<String>),
    #[error("unusable key in the IdP's JWKS: {0}")]
    BadKey(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("iss {got:?} is not the IdP's issuer {want:?}")]
    Issuer { got: String, want: String },
    #[error("aud does not contain this client ({0})")]
    Audience(String),
    #[error("several audiences and azp is not this client")]
    AuthorizedParty,
    #[error("token expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("iat {iat} is in the future (now {now})")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("nonce does not match the login's nonce")]
    Nonce,
    #[error("claim {0} is missing or has the wrong type")]
    MissingClaim(&'static str),
    #[error("not a back-channel logout token: {0}")]
    NotLogoutToken(&'static str),
}

/// A JWS split into its parts, nothing verified yet.
#[derive(Debug, Clone)]
pub struct Jws {
    pub header: Value,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

fn b64_json(part: &str, what: &str) -> Result<Value, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| TokenError::Malformed(format!("{what}: {e}")))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| TokenError::Malformed(format!("{what}: {e}")))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(TokenError::Malformed(format!(
            "{what} is not a JSON object"
        )))
    }
}

impl Jws {
    pub fn parse(token: &str) -> Result<Self, TokenError> {
        if token.len() > 16 * 1024 {
            return Err(TokenError::Malformed("token longer than 16 KiB".into()));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err(TokenError::Malformed(format!(
                "{} parts instead of 3",
                parts.len()
            )));
        };
        Ok(Self {
            header: b64_json(header, "header")?,
            claims: b64_json(claims, "payload")?,
            signing_input: format!("{header}.{claims}"),
            signature: URL_SAFE_NO_PAD
                .decode(signature)
                .map_err(|e| TokenError::Malformed(format!("signature: {e}")))?,
        })
    }

    #[must_use]
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Verifies the signature against `jwks` as far as `flaws` let it.
    pub fn verify(&self, jwks: &Value, flaws: &BTreeSet<Flaw>) -> Result<(), TokenError> {
        if flaws.contains(&Flaw::SkipSignatureCheck) {
            return Ok(());
        }
        match self.alg() {
            "ES256" | "RS256" => {}
            "none" if flaws.contains(&Flaw::AcceptAlgNone) => return Ok(()),
            "HS256" if flaws.contains(&Flaw::AcceptAnyKey) => {
                return self.verify_hs256_confused(jwks);
            }
            other => return Err(TokenError::AlgNotAllowed(other.to_owned())),
        }
        let key = match find_key(jwks, self.kid(), self.alg()) {
            Err(TokenError::UnknownKey(kid)) if flaws.contains(&Flaw::AnyKeyForUnknownKid) => {
                // The mistake: a kid nobody published, so try every published key.
                let keys = jwks.get("keys").and_then(Value::as_array);
                return if keys
                    .into_iter()
                    .flatten()
                    .any(|k| self.verify_with(k).is_ok())
                {
                    Ok(())
                } else {
                    Err(TokenError::UnknownKey(kid))
                };
            }
            other => other?,
        };
        self.verify_with(key)
    }

    fn verify_with(&self, key: &Value) -> Result<(), TokenError> {
        match self.alg() {
            "ES256" => verify_es256(key, self.signing_input.as_bytes(), &self.signature),
            _ => verify_rs256(key, self.signing_input.as_bytes(), &self.signature),
        }
    }

    /// The key-confusion mistake: a verifier that hands "the IdP's key" (its PEM) to whatever
    /// algorithm the token names, so HMAC-SHA256 keyed with public data verifies.
    fn verify_hs256_confused(&self, jwks: &Value) -> Result<(), TokenError> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let candidates = keys.iter().filter(|k| match self.kid() {
            Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid),
            None => true,
        });
        for key in candidates {
            let Ok(pem) = public_pem(key) else { continue };
            let mut mac = Hmac::<Sha256>::new_from_slice(pem.as_bytes())
                .map_err(|e| TokenError::BadKey(e.to_string()))?;
            mac.update(self.signing_input.as_bytes());
            if mac.verify_slice(&self.signature).is_ok() {
                return Ok(());
            }
        }
        Err(TokenError::BadSignature)
    }
}

fn find_key<'a>(jwks: &'a Value, kid: Option<&str>, alg: &str) -> Result<&'a Value, TokenError> {
    let kty = if alg == "ES256" { "EC" } else { "RSA" };
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| TokenError::BadKey("JWKS has no keys array".into()))?;
    keys.iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some(kty))
        .filter(|k| {
            k.get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig")
        })
        .find(|k| match kid {
            Some(kid) => k.get("kid").and_then(Value::as_str) == Some(kid),
            // Without a kid, only an unambiguous JWKS names the key.
            None => keys.len() == 1,
        })
        .ok_or_else(|| TokenError::UnknownKey(kid.map(str::to_owned)))
}

fn jwk_bytes(key: &Value, member: &str) -> Result<Vec<u8>, TokenError> {
    let text = key
        .get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| TokenError::BadKey(format!("JWK has no {member}")))?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| TokenError::BadKey(format!("JWK {member}: {e}")))
}

fn ec_key(key: &Value) -> Result<p256::PublicKey, TokenError> {
    use p256::elliptic_curve::sec1::FromEncodedPoint;
    if key.get("crv").and_then(Value::as_str) != Some("P-256") {
        return Err(TokenError::BadKey("EC key is not on P-256".into()));
    }
    let coordinate = |name: &str| -> Result<p256::FieldBytes, TokenError> {
        let bytes: [u8; 32] = jwk_bytes(key, name)?
            .try_into()
            .map_err(|_| TokenError::BadKey("EC coordinates must be 32 bytes".into()))?;
        Ok(p256::FieldBytes::from(bytes))
    };
    let point =
        p256::EncodedPoint::from_affine_coordinates(&coordinate("x")?, &coordinate("y")?, false);
    Option::from(p256::PublicKey::from_encoded_point(&point))
        .ok_or_else(|| TokenError::BadKey("EC point is not on the curve".into()))
}

fn rsa_key(key: &Value) -> Result<rsa::RsaPublicKey, TokenError> {
    let n = rsa::BigUint::from_bytes_be(&jwk_bytes(key, "n")?);
    let e = rsa::BigUint::from_bytes_be(&jwk_bytes(key, "e")?);
    let public = rsa::RsaPublicKey::new(n, e).map_err(|e| TokenError::BadKey(e.to_string()))?;
    if public.n().bits() < MIN_RSA_BITS {
        return Err(TokenError::BadKey(format!(
            "RSA key shorter than {MIN_RSA_BITS} bits"
        )));
    }
    Ok(public)
}

fn verify_es256(key: &Value, input: &[u8], signature: &[u8]) -> Result<(), TokenError> {
    let public = ec_key(key)?;
    let verifying = p256::ecdsa::VerifyingKey::from(public);
    // JWS carries ES256 signatures as the raw 64-byte r‖s, not DER (RFC 7518 §3.4).
    let sig =
        p256::ecdsa::Signature::from_slice(signature).map_err(|_| TokenError::BadSignature)?;
    verifying
        .verify(input, &sig)
        .map_err(|_| TokenError::BadSignature)
}

/// DER `DigestInfo` prefix for SHA-256 (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

fn verify_rs256(key: &Value, input: &[u8], signature: &[u8]) -> Result<(), TokenError> {
    let public = rsa_key(key)?;
    let scheme = rsa::Pkcs1v15Sign {
        hash_len: Some(32),
        prefix: SHA256_DIGEST_INFO.to_vec().into_boxed_slice(),
    };
    public
        .verify(scheme, &Sha256::digest(input), signature)
        .map_err(|_| TokenError::BadSignature)
}

/// The key's SubjectPublicKeyInfo as PEM (what a confused verifier keys HMAC with).
fn public_pem(key: &Value) -> Result<String, TokenError> {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let pem = match key.get("kty").and_then(Value::as_str) {
        Some("EC") => ec_key(key)?.to_public_key_pem(LineEnding::LF),
        Some("RSA") => rsa_key(key)?.to_public_key_pem(LineEnding::LF),
        _ => return Err(TokenError::BadKey("unknown kty".into())),
    };
    pem.map_err(|e| TokenError::BadKey(e.to_string()))
}

/// What the claims must match.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The login's nonce; `None` for logout tokens (which must not carry one).
    pub nonce: Option<&'a str>,
    pub now: i64,
}

fn int_claim(claims: &Value, name: &'static str) -> Result<i64, TokenError> {
    claims
        .get(name)
        .and_then(Value::as_i64)
        .ok_or(TokenError::MissingClaim(name))
}

/// Checks the registered claims of an ID token (or, with `nonce: None`, a logout token).
/// `iss` compared with the issuer exactly, as OIDC Core §3.1.3.7 (2) and RFC 9207 §2.4 require
/// (simple string comparison: `https://idp/` is not `https://idp`).
#[must_use]
pub fn same_issuer(iss: &str, issuer: &str, flaws: &BTreeSet<Flaw>) -> bool {
    if flaws.contains(&Flaw::IssTrailingSlashTolerated) {
        iss.trim_end_matches('/') == issuer.trim_end_matches('/')
    } else {
        iss == issuer
    }
}

pub fn check_claims(
    claims: &Value,
    expected: &Expected<'_>,
    flaws: &BTreeSet<Flaw>,
) -> Result<(), TokenError> {
    let now = expected.now;
    if !flaws.contains(&Flaw::SkipIssuerCheck) {
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if !same_issuer(iss, expected.issuer, flaws) {
            return Err(TokenError::Issuer {
                got: iss.to_owned(),
                want: expected.issuer.to_owned(),
            });
        }
    }
    if !flaws.contains(&Flaw::SkipAudienceCheck) {
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => return Err(TokenError::MissingClaim("aud")),
        };
        if !audiences.contains(&expected.client_id) {
            return Err(TokenError::Audience(audiences.join(",")));
        }
        if audiences.len() > 1
            && !flaws.contains(&Flaw::SkipAzpCheck)
            && claims.get("azp").and_then(Value::as_str) != Some(expected.client_id)
        {
            return Err(TokenError::AuthorizedParty);
        }
    }
    if !flaws.contains(&Flaw::SkipExpiryCheck) {
        let exp = int_claim(claims, "exp")?;
        if exp + CLOCK_SKEW <= now {
            return Err(TokenError::Expired { exp, now });
        }
    }
    if !flaws.contains(&Flaw::SkipIssuedAtCheck) {
        let iat = int_claim(claims, "iat")?;
        if iat > now + CLOCK_SKEW {
            return Err(TokenError::IssuedInFuture { iat, now });
        }
    }
    if let Some(nonce) = expected.nonce
        && !flaws.contains(&Flaw::SkipNonceCheck)
        && claims.get("nonce").and_then(Value::as_str) != Some(nonce)
    {
        return Err(TokenError::Nonce);
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(TokenError::MissingClaim("sub"));
    }
    Ok(())
}

/// Extra checks a back-channel logout token needs (OpenID Back-Channel Logout 1.0 §2.6).
pub fn check_logout_claims(claims: &Value) -> Result<(), TokenError> {
    let has_event = claims
        .get("events")
        .and_then(|e| e.get("http://schemas.openid.net/event/backchannel-logout"))
        .is_some_and(Value::is_object);
    if !has_event {
        return Err(TokenError::NotLogoutToken("no back-channel logout event"));
    }
    if claims.get("nonce").is_some() {
        return Err(TokenError::NotLogoutToken("carries a nonce"));
    }
    // §2.4: either sid or sub (or both) names what ends.
    if claims.get("sid").and_then(Value::as_str).is_none()
        && claims.get("sub").and_then(Value::as_str).is_none()
    {
        return Err(TokenError::MissingClaim("sid"));
    }
    Ok(())
}

/// PKCE S256 code challenge of a verifier (RFC 7636 §4.2).
#[must_use]
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iss_is_compared_exactly_unless_the_flaw_tolerates_a_trailing_slash() {
        let correct = BTreeSet::new();
        assert!(same_issuer("http://idp", "http://idp", &correct));
        assert!(!same_issuer("http://idp/", "http://idp", &correct));
        assert!(!same_issuer("HTTP://idp", "http://idp", &correct));
        let flawed = BTreeSet::from([Flaw::IssTrailingSlashTolerated]);
        assert!(same_issuer("http://idp/", "http://idp", &flawed));
    }

    #[test]
    fn a_logout_token_names_a_sid_or_a_sub() {
        let event = serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}});
        let with_sub = serde_json::json!({"events": event, "sub": "u"});
        let with_sid = serde_json::json!({"events": event, "sid": "s"});
        let with_neither = serde_json::json!({"events": event});
        assert!(check_logout_claims(&with_sub).is_ok());
        assert!(check_logout_claims(&with_sid).is_ok());
        assert!(check_logout_claims(&with_neither).is_err());
    }
}
