//! XML security for SAML: sign, verify, encrypt and decrypt assertions — and, in the same place,
//! the lower-level XML work that mints deliberately broken ones.
//!
//! Why one module: signing and encryption go through well-kept libraries (`samael`'s binding to
//! libxmlsec1 for the enveloped RSA-SHA256 signature with exclusive c14n; OpenSSL for AES-GCM and
//! RSA-OAEP), but the lab's IdP must also produce what no library will: an assertion whose
//! signature covers another element (XML signature wrapping), one signed by a key nobody
//! published, one whose signature is stripped. Those manipulations work on the serialised XML
//! and must stay next to the code that knows what a correct signature looks like, so that a
//! change to one is seen by the other (as the broker's `jose` module does for JWS).
//!
//! Verification here is what a careful service provider does: the signature must be a direct
//! child of the document's root `Assertion`, reference that root by its `ID`, be the only
//! signature there, and verify with the certificate registered for the IdP (never the one the
//! message carries in `KeyInfo`). The reference SAML SP's named flaws relax exactly one of
//! these rules each, through [`VerifyPolicy`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libxml::parser::Parser;
use libxml::tree::{Document, Node};
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use openssl::x509::X509;
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};

use super::ns;

/// XML Encryption 1.1: AES-256-GCM for the assertion (OIOSAML 3 requires GCM).
pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
/// RSA-OAEP (MGF1 with SHA-1) key transport.
pub const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const GCM_IV_LEN: usize = 12;
const GCM_TAG_LEN: usize = 16;

/// What went wrong with keys, signatures or encryption.
#[derive(Debug, thiserror::Error)]
pub enum XmlSecurityError {
    #[error("key or certificate: {0}")]
    Key(String),
    #[error("XML is not well-formed: {0}")]
    Malformed(String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("no signature: {0}")]
    Unsigned(String),
    #[error("signature rejected: {0}")]
    BadSignature(String),
    #[error("encryption failed: {0}")]
    Encrypt(String),
    #[error("cannot decrypt the assertion: {0}")]
    Decrypt(String),
}

type Result<T> = std::result::Result<T, XmlSecurityError>;

fn key_err(e: impl std::fmt::Display) -> XmlSecurityError {
    XmlSecurityError::Key(e.to_string())
}

/// An RSA private key with its X.509 certificate (an IdP's signing key, an SP's encryption key).
#[derive(Clone)]
pub struct KeyPair {
    key: PKey<Private>,
    cert: X509,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("subject", &Certificate(self.cert.clone()).subject())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// From a PKCS#8 private key and a certificate, both PEM.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<KeyPair> {
        let key = PKey::private_key_from_pem(key_pem.as_bytes()).map_err(key_err)?;
        let cert = X509::from_pem(cert_pem.as_bytes()).map_err(key_err)?;
        if !cert.public_key().map_err(key_err)?.public_eq(&key) {
            return Err(XmlSecurityError::Key(
                "the certificate does not belong to the private key".into(),
            ));
        }
        Ok(KeyPair { key, cert })
    }

    #[must_use]
    pub fn certificate(&self) -> Certificate {
        Certificate(self.cert.clone())
    }

    /// RSA-SHA256 (PKCS#1 v1.5) over raw bytes: the HTTP-Redirect binding's detached signature.
    pub fn sign_bytes(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &self.key)
                .map_err(|e| XmlSecurityError::Sign(e.to_string()))?;
        signer
            .update(data)
            .and_then(|()| signer.sign_to_vec())
            .map_err(|e| XmlSecurityError::Sign(e.to_string()))
    }
}

/// An X.509 certificate (from metadata or a fixture).
#[derive(Clone)]
pub struct Certificate(X509);

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({})", self.subject())
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der() == other.der()
    }
}

impl Eq for Certificate {}

impl Certificate {
    pub fn from_pem(pem: &str) -> Result<Certificate> {
        X509::from_pem(pem.as_bytes())
            .map(Certificate)
            .map_err(key_err)
    }

    /// From the base64 DER of a `ds:X509Certificate` element (whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Certificate> {
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD.decode(clean).map_err(key_err)?;
        X509::from_der(&der).map(Certificate).map_err(key_err)
    }

    #[must_use]
    pub fn der(&self) -> Vec<u8> {
        self.0.to_der().unwrap_or_default()
    }

    /// Base64 DER, as `ds:X509Certificate` carries it.
    #[must_use]
    pub fn base64(&self) -> String {
        STANDARD.encode(self.der())
    }

    #[must_use]
    pub fn subject(&self) -> String {
        self.0
            .subject_name()
            .entries()
            .filter_map(|e| e.data().to_string().ok())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn public_key(&self) -> Result<PKey<Public>> {
        self.0.public_key().map_err(key_err)
    }

    /// Checks an RSA-SHA256 detached signature (HTTP-Redirect binding).
    pub fn verify_bytes(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        let key = self.public_key()?;
        let mut verifier =
            openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &key)
                .map_err(|e| XmlSecurityError::BadSignature(e.to_string()))?;
        let ok = verifier
            .update(data)
            .and_then(|()| verifier.verify(signature))
            .map_err(|e| XmlSecurityError::BadSignature(e.to_string()))?;
        if ok {
            Ok(())
        } else {
            Err(XmlSecurityError::BadSignature(
                "the detached signature does not verify with the registered certificate".into(),
            ))
        }
    }
}

/// The enveloped signature template (exclusive c14n, RSA-SHA256, SHA-256 digest) that xmlsec
/// fills in; `KeyInfo` carries the signer's certificate as OIOSAML asks.
fn signature_template(id: &str, cert: &Certificate) -> String {
    format!(
        concat!(
            r#"<ds:Signature xmlns:ds="{ds}"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
            r#"<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
            r#"<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>"#,
            r#"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"#
        ),
        ds = ns::DS,
        id = id,
        cert = cert.base64()
    )
}

/// Signs the SAML element whose root carries `ID="{id}"`: an enveloped signature is placed right
/// after the element's `Issuer` (where the schema wants it) and filled in by xmlsec.
pub fn sign_enveloped(xml: &str, id: &str, key: &KeyPair) -> Result<String> {
    let template = signature_template(id, &key.certificate());
    let marker = "</saml:Issuer>";
    let at = xml
        .find(marker)
        .ok_or_else(|| XmlSecurityError::Sign("the element has no saml:Issuer".into()))?
        + marker.len();
    let mut with_template = String::with_capacity(xml.len() + template.len());
    with_template.push_str(&xml[..at]);
    with_template.push_str(&template);
    with_template.push_str(&xml[at..]);
    let der = key
        .key
        .private_key_to_der()
        .map_err(|e| XmlSecurityError::Sign(e.to_string()))?;
    let signed = Crypto::sign_xml(with_template.as_bytes(), &der)
        .map_err(|e| XmlSecurityError::Sign(e.to_string()))?;
    Ok(strip_xml_declaration(&signed).to_owned())
}

/// libxml2 serialises a whole document with an XML declaration; an element embedded in another
/// document must not carry one.
#[must_use]
pub fn strip_xml_declaration(xml: &str) -> &str {
    let trimmed = xml.trim_start();
    if let Some(rest) = trimmed.strip_prefix("<?xml")
        && let Some(end) = rest.find("?>")
    {
        return rest[end + 2..].trim_start();
    }
    trimmed
}

/// Which checks a verifier makes; [`VerifyPolicy::strict`] is the correct one, the relaxed
/// fields are the reference SP's named flaws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// An assertion without any signature is accepted as it is.
    pub allow_unsigned: bool,
    /// Any valid signature anywhere in the document counts, whatever it covers (wrapping).
    pub any_signed_element: bool,
    /// The certificate in the message's own `KeyInfo` is trusted.
    pub trust_key_info: bool,
}

impl VerifyPolicy {
    #[must_use]
    pub const fn strict() -> Self {
        VerifyPolicy {
            allow_unsigned: false,
            any_signed_element: false,
            trust_key_info: false,
        }
    }
}

fn parse(xml: &str) -> Result<Document> {
    Parser::default()
        .parse_string(xml)
        .map_err(|e| XmlSecurityError::Malformed(format!("{e:?}")))
}

pub(crate) fn is(node: &Node, namespace: &str, name: &str) -> bool {
    node.get_name() == name
        && node
            .get_namespace()
            .is_some_and(|n| n.get_href() == namespace)
}

pub(crate) fn children<'a>(
    node: &'a Node,
    namespace: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node> + 'a {
    node.get_child_elements()
        .into_iter()
        .filter(move |c| is(c, namespace, name))
}

fn descendants(node: &Node, out: &mut Vec<Node>) {
    for child in node.get_child_elements() {
        out.push(child.clone());
        descendants(&child, out);
    }
}

/// Verifies the signature of a standalone `saml:Assertion` document with `trusted` (the IdP's
/// registered certificate), as `policy` says. On success answers whether a signature was
/// checked at all (`false` only when `allow_unsigned` let an unsigned one through).
pub fn verify_assertion(xml: &str, trusted: &Certificate, policy: VerifyPolicy) -> Result<bool> {
    let doc = parse(xml)?;
    let root = doc
        .get_root_element()
        .ok_or_else(|| XmlSecurityError::Malformed("empty document".into()))?;
    if !is(&root, ns::SAML, "Assertion") {
        return Err(XmlSecurityError::Malformed(format!(
            "the root is `{}`, not saml:Assertion",
            root.get_name()
        )));
    }
    let root_id = root.get_attribute("ID").unwrap_or_default();
    let mut all = Vec::new();
    descendants(&root, &mut all);
    let signatures: Vec<Node> = all
        .iter()
        .filter(|n| is(n, ns::DS, "Signature"))
        .cloned()
        .collect();
    if signatures.is_empty() {
        return if policy.allow_unsigned {
            Ok(false)
        } else {
            Err(XmlSecurityError::Unsigned(
                "the assertion carries no ds:Signature".into(),
            ))
        };
    }
    let cert = if policy.trust_key_info {
        signatures
            .iter()
            .flat_map(|s| {
                let mut inner = Vec::new();
                descendants(s, &mut inner);
                inner
            })
            .find(|n| is(n, ns::DS, "X509Certificate"))
            .map(|n| Certificate::from_base64(&n.get_content()))
            .transpose()?
            .unwrap_or_else(|| trusted.clone())
    } else {
        trusted.clone()
    };
    if !policy.any_signed_element {
        let own: Vec<&Node> = signatures
            .iter()
            .filter(|s| s.get_parent().is_some_and(|p| p == root))
            .collect();
        if own.len() != 1 || signatures.len() != 1 {
            return Err(XmlSecurityError::BadSignature(format!(
                "the assertion must carry exactly one signature, as its own child ({} found, {} of them its own)",
                signatures.len(),
                own.len()
            )));
        }
        let mut inner = Vec::new();
        descendants(own[0], &mut inner);
        let references: Vec<String> = inner
            .iter()
            .filter(|n| is(n, ns::DS, "Reference"))
            .map(|n| n.get_attribute("URI").unwrap_or_default())
            .collect();
        if references != [format!("#{root_id}")] {
            return Err(XmlSecurityError::BadSignature(format!(
                "the signature covers {references:?}, not the assertion `#{root_id}`"
            )));
        }
        let same_id = all
            .iter()
            .filter(|n| n.get_attribute("ID").is_some_and(|id| id == root_id))
            .count();
        if same_id > 0 {
            return Err(XmlSecurityError::BadSignature(format!(
                "another element inside the assertion also has ID `{root_id}`"
            )));
        }
    }
    Crypto::verify_signed_xml(
        xml.as_bytes(),
        &CertificateDer::from(cert.der()),
        Some("ID"),
    )
    .map_err(|e| XmlSecurityError::BadSignature(e.to_string()))?;
    Ok(true)
}

/// Encrypts `assertion_xml` (a standalone `saml:Assertion`) to `recipient`: a fresh AES-256-GCM
/// content key, transported with RSA-OAEP. Answers the `saml:EncryptedAssertion` element.
pub fn encrypt_assertion(assertion_xml: &str, recipient: &Certificate) -> Result<String> {
    let enc = |e: openssl::error::ErrorStack| XmlSecurityError::Encrypt(e.to_string());
    let mut content_key = [0u8; 32];
    let mut iv = [0u8; GCM_IV_LEN];
    openssl::rand::rand_bytes(&mut content_key).map_err(enc)?;
    openssl::rand::rand_bytes(&mut iv).map_err(enc)?;
    let mut tag = [0u8; GCM_TAG_LEN];
    let ciphertext = encrypt_aead(
        Cipher::aes_256_gcm(),
        &content_key,
        Some(&iv),
        &[],
        assertion_xml.as_bytes(),
        &mut tag,
    )
    .map_err(enc)?;
    let mut value = Vec::with_capacity(GCM_IV_LEN + ciphertext.len() + GCM_TAG_LEN);
    value.extend_from_slice(&iv);
    value.extend_from_slice(&ciphertext);
    value.extend_from_slice(&tag);
    let rsa = recipient.public_key()?.rsa().map_err(enc)?;
    let mut wrapped = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_encrypt(&content_key, &mut wrapped, Padding::PKCS1_OAEP)
        .map_err(enc)?;
    wrapped.truncate(n);
    Ok(format!(
        concat!(
            r#"<saml:EncryptedAssertion xmlns:saml="{saml}">"#,
            r#"<xenc:EncryptedData xmlns:xenc="{xenc}" Type="http://www.w3.org/2001/04/xmlenc#Element">"#,
            r#"<xenc:EncryptionMethod Algorithm="{aes}"/>"#,
            r#"<ds:KeyInfo xmlns:ds="{ds}"><xenc:EncryptedKey>"#,
            r#"<xenc:EncryptionMethod Algorithm="{oaep}"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedKey></ds:KeyInfo>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{value}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedData></saml:EncryptedAssertion>"#
        ),
        saml = ns::SAML,
        xenc = ns::XENC,
        ds = ns::DS,
        aes = AES256_GCM,
        oaep = RSA_OAEP_MGF1P,
        key = STANDARD.encode(&wrapped),
        value = STANDARD.encode(&value),
    ))
}

fn cipher_value(node: &Node) -> Result<Vec<u8>> {
    let data = children(node, ns::XENC, "CipherData")
        .next()
        .and_then(|d| children(&d, ns::XENC, "CipherValue").next())
        .ok_or_else(|| {
            XmlSecurityError::Decrypt(format!("{} has no CipherValue", node.get_name()))
        })?;
    let clean: String = data
        .get_content()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(clean)
        .map_err(|e| XmlSecurityError::Decrypt(format!("CipherValue is not base64: {e}")))
}

fn algorithm(node: &Node) -> String {
    children(node, ns::XENC, "EncryptionMethod")
        .next()
        .and_then(|m| m.get_attribute("Algorithm"))
        .unwrap_or_default()
}

/// Decrypts a `saml:EncryptedAssertion` element (serialised) with `key`: answers the assertion's
/// XML. AES-GCM (128/256) and AES-CBC (128/256) content keys; RSA-OAEP or RSA 1.5 transport.
pub fn decrypt_assertion(encrypted_xml: &str, key: &KeyPair) -> Result<String> {
    let doc = parse(encrypted_xml)?;
    let root = doc
        .get_root_element()
        .ok_or_else(|| XmlSecurityError::Decrypt("empty document".into()))?;
    let data = if is(&root, ns::XENC, "EncryptedData") {
        root
    } else {
        children(&root, ns::XENC, "EncryptedData")
            .next()
            .ok_or_else(|| XmlSecurityError::Decrypt("no xenc:EncryptedData".into()))?
    };
    let mut inner = Vec::new();
    descendants(&data, &mut inner);
    let encrypted_key = inner
        .iter()
        .find(|n| is(n, ns::XENC, "EncryptedKey"))
        .ok_or_else(|| XmlSecurityError::Decrypt("no xenc:EncryptedKey".into()))?;
    let padding = match algorithm(encrypted_key).as_str() {
        RSA_OAEP_MGF1P | "http://www.w3.org/2009/xmlenc11#rsa-oaep" => Padding::PKCS1_OAEP,
        "http://www.w3.org/2001/04/xmlenc#rsa-1_5" => Padding::PKCS1,
        other => {
            return Err(XmlSecurityError::Decrypt(format!(
                "key transport `{other}` is not supported"
            )));
        }
    };
    let rsa = key
        .key
        .rsa()
        .map_err(|e| XmlSecurityError::Decrypt(e.to_string()))?;
    let mut content_key = vec![0u8; rsa.size() as usize];
    let n = rsa
        .private_decrypt(&cipher_value(encrypted_key)?, &mut content_key, padding)
        .map_err(|_| {
            XmlSecurityError::Decrypt("the content key is not encrypted to this key".into())
        })?;
    content_key.truncate(n);
    let value = cipher_value(&data)?;
    let method = algorithm(&data);
    let bad = |e: openssl::error::ErrorStack| XmlSecurityError::Decrypt(e.to_string());
    let plain = match method.as_str() {
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" | AES256_GCM => {
            let cipher = if method == AES256_GCM {
                Cipher::aes_256_gcm()
            } else {
                Cipher::aes_128_gcm()
            };
            if value.len() < GCM_IV_LEN + GCM_TAG_LEN {
                return Err(XmlSecurityError::Decrypt("CipherValue is too short".into()));
            }
            let (iv, rest) = value.split_at(GCM_IV_LEN);
            let (ciphertext, tag) = rest.split_at(rest.len() - GCM_TAG_LEN);
            decrypt_aead(cipher, &content_key, Some(iv), &[], ciphertext, tag).map_err(bad)?
        }
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
        | "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => {
            let cipher = if method.contains("256") {
                Cipher::aes_256_cbc()
            } else {
                Cipher::aes_128_cbc()
            };
            if value.len() < 16 {
                return Err(XmlSecurityError::Decrypt("CipherValue is too short".into()));
            }
            let (iv, ciphertext) = value.split_at(16);
            openssl::symm::decrypt(cipher, &content_key, Some(iv), ciphertext).map_err(bad)?
        }
        other => {
            return Err(XmlSecurityError::Decrypt(format!(
                "content encryption `{other}` is not supported"
            )));
        }
    };
    String::from_utf8(plain)
        .map_err(|_| XmlSecurityError::Decrypt("the plaintext is not UTF-8".into()))
}

// ---- Deliberately broken assertions (the IdP's faults) ----------------------------------------

/// Removes the assertion's signature: "unsigned assertion".
#[must_use]
pub fn strip_signature(signed: &str) -> String {
    match (signed.find("<ds:Signature"), signed.find("</ds:Signature>")) {
        (Some(start), Some(end)) => {
            format!(
                "{}{}",
                &signed[..start],
                &signed[end + "</ds:Signature>".len()..]
            )
        }
        _ => signed.to_owned(),
    }
}

/// How an attacker wraps a genuinely signed assertion around (or beside) one they wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wrapping {
    /// The forged assertion is the root; the signed original hides in its `saml:Advice`, and the
    /// original's signature is moved up to the root (it still covers the original's ID).
    SignatureMovedToEvil,
    /// The forged assertion is the root with no signature; the signed original, untouched,
    /// sits inside its `saml:Advice`.
    OriginalInAdvice,
    /// The forged assertion reuses the original's ID; the signed original hides in its `Advice`.
    DuplicateId,
}

impl Wrapping {
    pub const ALL: [Wrapping; 3] = [
        Wrapping::SignatureMovedToEvil,
        Wrapping::OriginalInAdvice,
        Wrapping::DuplicateId,
    ];
}

/// Builds a wrapped assertion: `forged` (an unsigned assertion with `ID="{forged_id}"`) at the
/// root, `signed_original` (signed, `ID="{original_id}"`) inside it as `wrapping` says.
#[must_use]
pub fn wrap(
    wrapping: Wrapping,
    signed_original: &str,
    original_id: &str,
    forged: &str,
    forged_id: &str,
) -> String {
    let advice_at = forged.find("<saml:Subject").unwrap_or(forged.len());
    let issuer_end = forged
        .find("</saml:Issuer>")
        .map_or(0, |i| i + "</saml:Issuer>".len());
    let (head, tail) = forged.split_at(advice_at);
    match wrapping {
        Wrapping::OriginalInAdvice => {
            // `saml:Advice` goes after `Issuer` (and `Signature`) and before `Subject`.
            format!("{head}<saml:Advice>{signed_original}</saml:Advice>{tail}")
        }
        Wrapping::SignatureMovedToEvil => {
            let (start, end) = match (
                signed_original.find("<ds:Signature"),
                signed_original.find("</ds:Signature>"),
            ) {
                (Some(s), Some(e)) => (s, e + "</ds:Signature>".len()),
                _ => (0, 0),
            };
            let signature = &signed_original[start..end];
            let original_without =
                format!("{}{}", &signed_original[..start], &signed_original[end..]);
            let mut out = String::new();
            out.push_str(&forged[..issuer_end]);
            out.push_str(signature);
            out.push_str(&forged[issuer_end..advice_at]);
            out.push_str("<saml:Advice>");
            out.push_str(&original_without);
            out.push_str("</saml:Advice>");
            out.push_str(tail);
            out
        }
        Wrapping::DuplicateId => {
            let forged = forged.replacen(
                &format!("ID=\"{forged_id}\""),
                &format!("ID=\"{original_id}\""),
                1,
            );
            let advice_at = forged.find("<saml:Subject").unwrap_or(forged.len());
            let (head, tail) = forged.split_at(advice_at);
            format!("{head}<saml:Advice>{signed_original}</saml:Advice>{tail}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemlogin::test_keys as k;

    fn idp() -> KeyPair {
        KeyPair::from_pem(k::IDP_SIGNING_KEY, k::IDP_SIGNING_CERT).expect("idp key")
    }

    fn assertion(id: &str, who: &str) -> String {
        format!(
            r#"<saml:Assertion xmlns:saml="{}" ID="{id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID>{who}</saml:NameID></saml:Subject></saml:Assertion>"#,
            ns::SAML
        )
    }

    #[test]
    fn a_signed_assertion_verifies_and_any_change_to_it_does_not() {
        let signed = sign_enveloped(&assertion("_a1", "alice"), "_a1", &idp()).expect("sign");
        assert!(
            signed.contains("<ds:SignatureValue>") && !signed.contains("<ds:SignatureValue></")
        );
        let cert = idp().certificate();
        assert_eq!(
            verify_assertion(&signed, &cert, VerifyPolicy::strict()).ok(),
            Some(true)
        );
        let tampered = signed.replace(">alice<", ">mallory<");
        assert!(matches!(
            verify_assertion(&tampered, &cert, VerifyPolicy::strict()),
            Err(XmlSecurityError::BadSignature(_))
        ));
        let unsigned = strip_signature(&signed);
        assert!(matches!(
            verify_assertion(&unsigned, &cert, VerifyPolicy::strict()),
            Err(XmlSecurityError::Unsigned(_))
        ));
        let lax = VerifyPolicy {
            allow_unsigned: true,
            ..VerifyPolicy::strict()
        };
        assert_eq!(verify_assertion(&unsigned, &cert, lax).ok(), Some(false));
    }

    #[test]
    fn a_foreign_key_fails_unless_the_verifier_trusts_key_info() {
        let foreign = KeyPair::from_pem(k::IDP_FOREIGN_KEY, k::IDP_FOREIGN_CERT).expect("key");
        let signed = sign_enveloped(&assertion("_f1", "alice"), "_f1", &foreign).expect("sign");
        let cert = idp().certificate();
        assert!(verify_assertion(&signed, &cert, VerifyPolicy::strict()).is_err());
        let trusting = VerifyPolicy {
            trust_key_info: true,
            ..VerifyPolicy::strict()
        };
        assert_eq!(verify_assertion(&signed, &cert, trusting).ok(), Some(true));
    }

    #[test]
    fn every_wrapping_is_refused_strictly_and_some_fool_a_verifier_of_any_signature() {
        let original = sign_enveloped(&assertion("_o1", "alice"), "_o1", &idp()).expect("sign");
        let cert = idp().certificate();
        let naive = VerifyPolicy {
            any_signed_element: true,
            ..VerifyPolicy::strict()
        };
        let mut fooled = 0;
        for wrapping in Wrapping::ALL {
            let wrapped = wrap(
                wrapping,
                &original,
                "_o1",
                &assertion("_e1", "mallory"),
                "_e1",
            );
            assert!(
                verify_assertion(&wrapped, &cert, VerifyPolicy::strict()).is_err(),
                "{wrapping:?}"
            );
            if verify_assertion(&wrapped, &cert, naive).is_ok() {
                fooled += 1;
            }
        }
        assert!(fooled >= 2, "only {fooled} wrappings fool a naive verifier");
    }

    #[test]
    fn an_encrypted_assertion_decrypts_only_with_the_recipients_key() {
        let sp = KeyPair::from_pem(k::SP_ENCRYPTION_KEY, k::SP_ENCRYPTION_CERT).expect("sp");
        let plain = assertion("_e2", "alice");
        let encrypted = encrypt_assertion(&plain, &sp.certificate()).expect("encrypt");
        assert!(encrypted.contains(AES256_GCM) && !encrypted.contains("alice"));
        assert_eq!(decrypt_assertion(&encrypted, &sp).expect("decrypt"), plain);
        assert!(matches!(
            decrypt_assertion(&encrypted, &idp()),
            Err(XmlSecurityError::Decrypt(_))
        ));
        let flipped = encrypted.replacen("<xenc:CipherValue>", "<xenc:CipherValue>AAAA", 2);
        assert!(decrypt_assertion(&flipped, &sp).is_err());
    }

    #[test]
    fn a_certificate_that_is_not_the_keys_is_refused() {
        assert!(matches!(
            KeyPair::from_pem(k::IDP_SIGNING_KEY, k::SP_SIGNING_CERT),
            Err(XmlSecurityError::Key(_))
        ));
    }
}
