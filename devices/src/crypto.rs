//! Small cryptographic helpers shared by the devices: HMACs, hashes, constant-time comparison,
//! hex (de)serialisation of byte fields, and the P-256 key wrappers whose `Debug` redacts.

use std::fmt;

use hmac::{Hmac, Mac};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey, signature::Signer, signature::Verifier};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest;

macro_rules! hmac_fn {
    ($name:ident, $digest:ty, $len:expr) => {
        pub(crate) fn $name(key: &[u8], msg: &[u8]) -> [u8; $len] {
            let mut m = <Hmac<$digest> as Mac>::new_from_slice(key)
                .expect("HMAC accepts keys of any length");
            m.update(msg);
            m.finalize().into_bytes().into()
        }
    };
}

hmac_fn!(hmac_sha1, sha1::Sha1, 20);
hmac_fn!(hmac_sha256, sha2::Sha256, 32);
hmac_fn!(hmac_sha512, sha2::Sha512, 64);

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Compares without an early exit, so timing does not reveal how much of a secret matched.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serde for byte fields as lowercase hex strings.
pub(crate) mod hexbytes {
    use super::{Deserialize, Deserializer, Serializer};

    pub(crate) fn encode(bytes: &[u8]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 0xf) as usize] as char);
        }
        s
    }

    pub(crate) fn decode(s: &str) -> Option<Vec<u8>> {
        if !s.len().is_multiple_of(2) {
            return None;
        }
        let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        s.as_bytes()
            .chunks(2)
            .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
            .collect()
    }

    pub(crate) fn serialize<S: Serializer, T: AsRef<[u8]>>(
        bytes: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes.as_ref()))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<Vec<u8>>>(
        d: D,
    ) -> Result<T, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = decode(&s)
            .ok_or_else(|| serde::de::Error::custom("expected an even-length hex string"))?;
        let n = bytes.len();
        T::try_from(bytes)
            .map_err(|_| serde::de::Error::custom(format!("unexpected byte length {n}")))
    }
}

/// A P-256 private key held by a device (app activation or chip). `Debug` never shows it;
/// serde stores the 32-byte scalar as hex because scenarios and fixtures persist device state.
#[derive(Clone)]
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    pub fn generate(rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng)) -> DeviceKey {
        DeviceKey(SigningKey::random(rng))
    }

    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// ECDSA P-256 / SHA-256 signature (RFC 6979 deterministic nonce).
    #[must_use]
    pub fn sign(&self, msg: &[u8]) -> EcdsaSignature {
        let sig: Signature = self.0.sign(msg);
        EcdsaSignature(sig.to_bytes().into())
    }
}

impl PartialEq for DeviceKey {
    fn eq(&self, other: &DeviceKey) -> bool {
        ct_eq(&self.0.to_bytes(), &other.0.to_bytes())
    }
}
impl Eq for DeviceKey {}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceKey(<redacted>)")
    }
}

impl Serialize for DeviceKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hexbytes::encode(&self.0.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for DeviceKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DeviceKey, D::Error> {
        let bytes: Vec<u8> = hexbytes::deserialize(d)?;
        SigningKey::from_slice(&bytes)
            .map(DeviceKey)
            .map_err(|_| serde::de::Error::custom("not a P-256 private scalar"))
    }
}

/// A P-256 public key (what the IdP stores per app activation or chip credential). Serialises
/// as the hex SEC1 compressed point.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// SEC1 compressed encoding (33 bytes).
    #[must_use]
    pub fn to_sec1_bytes(&self) -> Vec<u8> {
        self.0.to_encoded_point(true).as_bytes().to_vec()
    }

    /// Parses a SEC1 point (compressed or uncompressed).
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<PublicKey, SignatureError> {
        VerifyingKey::from_sec1_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| SignatureError::BadPublicKey)
    }

    /// The affine coordinates (x, y), 32 bytes each: what a JWK carries.
    #[must_use]
    pub fn coordinates(&self) -> ([u8; 32], [u8; 32]) {
        let p = self.0.to_encoded_point(false);
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        // An uncompressed encoding of a valid public key (never the identity) has both.
        if let (Some(px), Some(py)) = (p.x(), p.y()) {
            x.copy_from_slice(px);
            y.copy_from_slice(py);
        }
        (x, y)
    }

    /// Verifies an ECDSA P-256 / SHA-256 signature over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &EcdsaSignature) -> Result<(), SignatureError> {
        let sig = Signature::from_slice(&sig.0).map_err(|_| SignatureError::Malformed)?;
        self.0
            .verify(msg, &sig)
            .map_err(|_| SignatureError::Invalid)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hexbytes::encode(&self.to_sec1_bytes()))
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PublicKey, D::Error> {
        let bytes: Vec<u8> = hexbytes::deserialize(d)?;
        PublicKey::from_sec1_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// An ECDSA P-256 signature, fixed-size `r || s` (64 bytes), serialised as hex.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcdsaSignature(#[serde(with = "hexbytes")] pub [u8; 64]);

impl fmt::Debug for EcdsaSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EcdsaSignature({}…)", hexbytes::encode(&self.0[..8]))
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the public key is not a valid P-256 point")]
    BadPublicKey,
    #[error("the signature is not a well-formed P-256 ECDSA signature")]
    Malformed,
    #[error("the signature does not verify against the registered public key")]
    Invalid,
}

/// A salted hash of a PIN or password (HMAC-SHA-256 keyed by a random 16-byte salt), for the
/// app PIN, the NemID password and the IdP's MitID passwords. `Debug` redacts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretHash {
    #[serde(with = "hexbytes")]
    salt: [u8; 16],
    #[serde(with = "hexbytes")]
    hash: [u8; 32],
}

impl SecretHash {
    pub fn new(
        secret: &str,
        rng: &mut (impl rand_core::RngCore + rand_core::CryptoRng + ?Sized),
    ) -> SecretHash {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        SecretHash {
            salt,
            hash: hmac_sha256(&salt, secret.as_bytes()),
        }
    }

    /// Constant-time comparison with a candidate.
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        ct_eq(&hmac_sha256(&self.salt, candidate.as_bytes()), &self.hash)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}
