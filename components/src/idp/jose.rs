//! Hand-made JWS: the `IdP` signs whatever header and claims it is told to, because the control API
//! must be able to mint deliberately bad tokens (alg `none`, HS256 keyed with the public key, a
//! foreign key under a published `kid`) next to the good ones. Verification is here too, for
//! `private_key_jwt` client assertions.
//!
//! Keys come from a seed so a restarted lab publishes the same JWKS (integrators configure it
//! once). RSA key generation is slow, so generated RSA keys are kept per seed for the process.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Verifier;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// RFC 8017 §9.2 note 1: the DER `DigestInfo` prefix for SHA-256 in PKCS#1 v1.5 signatures.
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

fn pkcs1_sha256() -> Pkcs1v15Sign {
    Pkcs1v15Sign {
        hash_len: Some(32),
        prefix: Box::new(SHA256_DIGEST_INFO),
    }
}

/// Unpadded base64url.
#[must_use]
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url (padding tolerated).
pub fn unb64(text: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|e| JoseError::Malformed(format!("bad base64url: {e}")))
}

/// What can go wrong reading or checking a JWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("malformed JWS: {0}")]
    Malformed(String),
    #[error("unsupported alg `{0}`")]
    UnsupportedAlg(String),
    #[error("no key with kid `{0}`")]
    UnknownKey(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
}

/// The two signing algorithms the `IdP` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    ES256,
    RS256,
}

impl Alg {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

enum KeyMaterial {
    /// The key, and the same key prepared for `ring`'s P-256 signing: the `p256` crate's
    /// constant-time field arithmetic made ES256 signing a third of a live run's CPU (one ID
    /// token per login); `ring`'s assembly signs in a fraction of that. Signatures are
    /// randomised (not RFC 6979), which any ES256 verifier accepts.
    Ec(p256::ecdsa::SigningKey, Box<ring::signature::EcdsaKeyPair>),
    Rsa(Box<RsaPrivateKey>),
}

/// One private signing key with its `kid`.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    material: KeyMaterial,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn rsa_cache() -> &'static Mutex<HashMap<u64, RsaPrivateKey>> {
    static CACHE: OnceLock<Mutex<HashMap<u64, RsaPrivateKey>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

impl SigningKey {
    /// The key for `alg` derived from `seed`; the `kid` names alg and seed so rotated keys differ.
    pub fn from_seed(alg: Alg, seed: u64) -> Result<SigningKey, JoseError> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let material = match alg {
            Alg::ES256 => {
                let key = p256::ecdsa::SigningKey::random(&mut rng);
                let prepared = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                    &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &key.to_bytes(),
                    key.verifying_key().to_encoded_point(false).as_bytes(),
                    &ring::rand::SystemRandom::new(),
                )
                .map_err(|e| JoseError::KeyGeneration(format!("the P-256 key: {e}")))?;
                KeyMaterial::Ec(key, Box::new(prepared))
            }
            Alg::RS256 => {
                let cached = rsa_cache()
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&seed)
                    .cloned();
                let key = if let Some(key) = cached {
                    key
                } else {
                    let key = RsaPrivateKey::new(&mut rng, 2048)
                        .map_err(|e| JoseError::KeyGeneration(e.to_string()))?;
                    rsa_cache()
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(seed, key.clone());
                    key
                };
                KeyMaterial::Rsa(Box::new(key))
            }
        };
        let mut key = SigningKey {
            kid: String::new(),
            alg,
            material,
        };
        // A thumbprint-style kid: stable for the key, different for every rotation.
        let digest = Sha256::digest(key.public_jwk().to_string().as_bytes());
        key.kid = format!("{}-{}", alg.as_str().to_lowercase(), &b64(&digest)[..16]);
        Ok(key)
    }

    /// The public half as a JWK (`kid`, `alg`, `use: sig`).
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        match &self.material {
            KeyMaterial::Ec(k, _) => {
                let point = k.verifying_key().to_encoded_point(false);
                let x = point.x().map(|x| b64(x)).unwrap_or_default();
                let y = point.y().map(|y| b64(y)).unwrap_or_default();
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y,
                    "kid": self.kid, "alg": "ES256", "use": "sig"})
            }
            KeyMaterial::Rsa(k) => {
                let public = k.to_public_key();
                serde_json::json!({"kty": "RSA", "n": b64(&public.n().to_bytes_be()),
                    "e": b64(&public.e().to_bytes_be()), "kid": self.kid, "alg": "RS256", "use": "sig"})
            }
        }
    }

    /// The public key as PEM `SubjectPublicKeyInfo`: what an HS256 key-confusion attack uses as the
    /// HMAC secret (a verifier that feeds its configured PEM to HMAC accepts the forgery).
    #[must_use]
    pub fn public_pem(&self) -> String {
        let der = match &self.material {
            KeyMaterial::Ec(k, _) => {
                let point = k.verifying_key().to_encoded_point(false);
                // id-ecPublicKey + prime256v1 AlgorithmIdentifier, then the point as BIT STRING.
                let algorithm = der_seq(&[
                    der_tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
                    der_tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
                ]);
                der_seq(&[algorithm, der_bit_string(point.as_bytes())])
            }
            KeyMaterial::Rsa(k) => {
                let public = k.to_public_key();
                let algorithm = der_seq(&[
                    der_tlv(
                        0x06,
                        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
                    ),
                    der_tlv(0x05, &[]),
                ]);
                let rsa_key = der_seq(&[
                    der_uint(&public.n().to_bytes_be()),
                    der_uint(&public.e().to_bytes_be()),
                ]);
                der_seq(&[algorithm, der_bit_string(&rsa_key)])
            }
        };
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// Signs `signing_input` (`b64(header).b64(claims)`) with this key's algorithm.
    pub fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        match &self.material {
            KeyMaterial::Ec(_, prepared) => prepared
                .sign(&ring::rand::SystemRandom::new(), signing_input)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|e| JoseError::KeyGeneration(format!("ES256 signing failed: {e}"))),
            KeyMaterial::Rsa(k) => {
                let digest = Sha256::digest(signing_input);
                k.sign(pkcs1_sha256(), &digest)
                    .map_err(|e| JoseError::KeyGeneration(format!("RSA signing failed: {e}")))
            }
        }
    }
}

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der_tlv(0x30, &parts.concat())
}

fn der_bit_string(content: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8];
    body.extend_from_slice(content);
    der_tlv(0x03, &body)
}

fn der_uint(big_endian: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = big_endian.iter().copied().skip_while(|b| *b == 0).collect();
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend(trimmed);
    der_tlv(0x02, &body)
}

/// How a token's signature part is made: the honest ways and the deliberately wrong ones.
pub enum Signature<'a> {
    /// Signed with this key.
    Key(&'a SigningKey),
    /// `alg: none`, empty signature.
    None,
    /// HS256 with the given secret (the key-confusion attack passes the public key's PEM).
    Hmac(&'a [u8]),
}

/// Builds a compact JWS from any header and claims. `header` must name `alg` itself, so a caller
/// can also lie about it.
pub fn compact(header: &Value, claims: &Value, how: &Signature<'_>) -> Result<String, JoseError> {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match how {
        Signature::Key(key) => key.sign(input.as_bytes())?,
        Signature::None => Vec::new(),
        Signature::Hmac(secret) => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
                .map_err(|e| JoseError::KeyGeneration(e.to_string()))?;
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    Ok(format!("{input}.{}", b64(&signature)))
}

/// The honest way: header `{alg, kid, typ}` and the key's signature.
pub fn sign_jwt(key: &SigningKey, typ: &str, claims: &Value) -> Result<String, JoseError> {
    let header = serde_json::json!({"alg": key.alg.as_str(), "kid": key.kid, "typ": typ});
    compact(&header, claims, &Signature::Key(key))
}

/// A compact JWS split into its parts, not yet verified.
#[derive(Debug, Clone)]
pub struct Unverified {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Unverified {
    pub fn parse(token: &str) -> Result<Unverified, JoseError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "expected three dot-separated parts".into(),
            ));
        };
        let object = |part: &str, what: &str| -> Result<Map<String, Value>, JoseError> {
            match serde_json::from_slice::<Value>(&unb64(part)?) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(JoseError::Malformed(format!("{what} is not a JSON object"))),
                Err(e) => Err(JoseError::Malformed(format!("{what} is not JSON: {e}"))),
            }
        };
        Ok(Unverified {
            header: object(h, "header")?,
            claims: object(c, "claims")?,
            signing_input: format!("{h}.{c}"),
            signature: unb64(s)?,
        })
    }

    #[must_use]
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    /// Verifies against a JWK Set (`{"keys": [...]}`): picks the key by `kid` when the header has
    /// one, else tries every key of the header's alg. Only ES256 and RS256 are accepted.
    pub fn verify_with_jwks(&self, jwks: &Value) -> Result<(), JoseError> {
        let alg = self.alg().to_owned();
        if alg != "ES256" && alg != "RS256" {
            return Err(JoseError::UnsupportedAlg(alg));
        }
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JoseError::Malformed("JWK set has no `keys` array".into()))?;
        let kid = self.header.get("kid").and_then(Value::as_str);
        let candidates: Vec<&Value> = keys
            .iter()
            .filter(|k| kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid)))
            .collect();
        if candidates.is_empty() {
            return Err(JoseError::UnknownKey(kid.unwrap_or("").to_owned()));
        }
        if candidates.iter().any(|jwk| self.verify_with_jwk(&alg, jwk)) {
            Ok(())
        } else {
            Err(JoseError::BadSignature)
        }
    }

    fn verify_with_jwk(&self, alg: &str, jwk: &Value) -> bool {
        let field = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(|v| unb64(v).ok())
        };
        match (alg, jwk.get("kty").and_then(Value::as_str)) {
            ("ES256", Some("EC")) => {
                let (Some(x), Some(y)) = (field("x"), field("y")) else {
                    return false;
                };
                if x.len() != 32 || y.len() != 32 || self.signature.len() != 64 {
                    return false;
                }
                let mut sec1 = vec![4u8];
                sec1.extend(x);
                sec1.extend(y);
                let (Ok(key), Ok(sig)) = (
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1),
                    p256::ecdsa::Signature::from_slice(&self.signature),
                ) else {
                    return false;
                };
                key.verify(self.signing_input.as_bytes(), &sig).is_ok()
            }
            ("RS256", Some("RSA")) => {
                let (Some(n), Some(e)) = (field("n"), field("e")) else {
                    return false;
                };
                let Ok(key) =
                    RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
                else {
                    return false;
                };
                let digest = Sha256::digest(self.signing_input.as_bytes());
                key.verify(pkcs1_sha256(), &digest, &self.signature).is_ok()
            }
            _ => false,
        }
    }
}

/// Checks that `jwk` is a public key a client can sign with: an EC P-256 key whose `x` and `y`
/// are base64url of 32 bytes and name a point on the curve, or an RSA key whose `n` and `e` are
/// base64url. The error names the member (`y`) and what is wrong.
pub fn check_public_jwk(jwk: &Value) -> Result<(), String> {
    let member = |name: &str| -> Result<Vec<u8>, String> {
        let text = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{name}` is missing or not a string"))?;
        unb64(text).map_err(|_| format!("`{name}` is not base64url"))
    };
    match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => {
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err("`crv` must be \"P-256\"".to_owned());
            }
            let (x, y) = (member("x")?, member("y")?);
            for (name, coordinate) in [("x", &x), ("y", &y)] {
                if coordinate.len() != 32 {
                    return Err(format!(
                        "`{name}` must encode 32 bytes, not {}",
                        coordinate.len()
                    ));
                }
            }
            let mut sec1 = vec![4u8];
            sec1.extend(x);
            sec1.extend(y);
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                .map(|_| ())
                .map_err(|_| "`x` and `y` do not name a point on the P-256 curve".to_owned())
        }
        Some("RSA") => {
            let (n, e) = (member("n")?, member("e")?);
            RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
                .map(|_| ())
                .map_err(|error| format!("`n` and `e` are not an RSA public key: {error}"))
        }
        Some(other) => Err(format!("`kty` {other:?} is not supported (EC or RSA)")),
        None => Err("`kty` is missing".to_owned()),
    }
}

/// `at_hash` / `c_hash`: left half of the SHA-256 of the ASCII value, base64url (both algs the
/// `IdP` uses hash with SHA-256).
#[must_use]
pub fn half_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    b64(&digest[..16])
}

/// PKCE S256: `b64(sha256(verifier))`.
#[must_use]
pub fn pkce_s256(verifier: &str) -> String {
    b64(&Sha256::digest(verifier.as_bytes()))
}
