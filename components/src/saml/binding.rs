//! The two SAML bindings OIOSAML 3 uses for Web SSO: HTTP-Redirect (requests, logout) and
//! HTTP-POST (responses).
//!
//! Redirect: the message is raw-DEFLATEd, base64'd and URL-encoded into `SAMLRequest` or
//! `SAMLResponse`; the signature is detached: RSA-SHA256 over the octets
//! `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as they appear in the query (SAML bindings
//! §3.4.4.1), so verification works on the raw query, never on re-encoded values.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use super::uri;
use super::xml_security::{Certificate, KeyPair};

/// An inflated message larger than this is refused (a deflate bomb costs nothing to send).
const MAX_INFLATED: u64 = 256 * 1024;

/// What is wrong with a message as the binding carries it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("`{0}` is missing")]
    Missing(&'static str),
    #[error("`{field}` is not valid base64: {detail}")]
    Base64 { field: &'static str, detail: String },
    #[error("`{field}` does not inflate: {detail}")]
    Inflate { field: &'static str, detail: String },
    #[error("`{field}` is not UTF-8 text")]
    Utf8 { field: &'static str },
    #[error("`SigAlg` `{0}` is not RSA-SHA256")]
    SigAlg(String),
    #[error("the message is not signed (no `Signature`)")]
    Unsigned,
    #[error("the signature does not verify with the registered certificate")]
    BadSignature,
}

/// A message received by HTTP-Redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectMessage {
    /// `SAMLRequest` or `SAMLResponse`.
    pub field: &'static str,
    pub xml: String,
    pub relay_state: Option<String>,
    /// The signed octets, the signature and its algorithm, when the sender signed.
    pub signature: Option<(String, Vec<u8>, String)>,
    /// Every other query parameter (the lab's headless `login_hint` rides here).
    pub extra: Vec<(String, String)>,
}

impl RedirectMessage {
    /// Checks the detached signature with `cert`.
    pub fn verify(&self, cert: &Certificate) -> Result<(), BindingError> {
        let Some((octets, signature, alg)) = &self.signature else {
            return Err(BindingError::Unsigned);
        };
        if alg != uri::RSA_SHA256 {
            return Err(BindingError::SigAlg(alg.clone()));
        }
        cert.verify_bytes(octets.as_bytes(), signature)
            .map_err(|_| BindingError::BadSignature)
    }
}

fn deflate(xml: &str) -> String {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(xml.as_bytes());
    STANDARD.encode(encoder.finish().unwrap_or_default())
}

fn inflate(field: &'static str, encoded: &str) -> Result<String, BindingError> {
    let clean: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let raw = STANDARD.decode(clean).map_err(|e| BindingError::Base64 {
        field,
        detail: e.to_string(),
    })?;
    let mut out = Vec::new();
    DeflateDecoder::new(raw.as_slice())
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| BindingError::Inflate {
            field,
            detail: e.to_string(),
        })?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(BindingError::Inflate {
            field,
            detail: format!("larger than {MAX_INFLATED} bytes"),
        });
    }
    String::from_utf8(out).map_err(|_| BindingError::Utf8 { field })
}

fn enc(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The query string carrying `xml` as `field` by HTTP-Redirect, signed with `key` if given.
#[must_use]
pub fn redirect_query(
    field: &'static str,
    xml: &str,
    relay_state: Option<&str>,
    key: Option<&KeyPair>,
) -> String {
    let mut query = format!("{field}={}", enc(&deflate(xml)));
    if let Some(relay) = relay_state {
        let _ = write!(query, "&RelayState={}", enc(relay));
    }
    if let Some(key) = key {
        let _ = write!(query, "&SigAlg={}", enc(uri::RSA_SHA256));
        // A key that cannot sign leaves the message unsigned; the receiver refuses it then.
        if let Ok(signature) = key.sign_bytes(query.as_bytes()) {
            let _ = write!(query, "&Signature={}", enc(&STANDARD.encode(signature)));
        }
    }
    query
}

/// Reads an HTTP-Redirect message from the raw query string.
pub fn read_redirect(raw_query: &str) -> Result<RedirectMessage, BindingError> {
    let mut raw: Vec<(&str, &str)> = Vec::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        raw.push((k, v));
    }
    let decoded = |v: &str| -> String {
        form_urlencoded::parse(format!("x={v}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let find = |name: &str| raw.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let (field, value) = if let Some(v) = find("SAMLRequest") {
        ("SAMLRequest", v)
    } else if let Some(v) = find("SAMLResponse") {
        ("SAMLResponse", v)
    } else {
        return Err(BindingError::Missing("SAMLRequest"));
    };
    let xml = inflate(field, &decoded(value))?;
    let relay = find("RelayState");
    let signature = match (find("SigAlg"), find("Signature")) {
        (Some(alg), Some(sig)) => {
            let mut octets = format!("{field}={value}");
            if let Some(relay) = relay {
                let _ = write!(octets, "&RelayState={relay}");
            }
            let _ = write!(octets, "&SigAlg={alg}");
            let clean: String = decoded(sig)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let bytes = STANDARD.decode(clean).map_err(|e| BindingError::Base64 {
                field: "Signature",
                detail: e.to_string(),
            })?;
            Some((octets, bytes, decoded(alg)))
        }
        _ => None,
    };
    let known = [
        "SAMLRequest",
        "SAMLResponse",
        "RelayState",
        "SigAlg",
        "Signature",
    ];
    Ok(RedirectMessage {
        field,
        xml,
        relay_state: relay.map(decoded),
        signature,
        extra: raw
            .iter()
            .filter(|(k, _)| !known.contains(k))
            .map(|(k, v)| (decoded(k), decoded(v)))
            .collect(),
    })
}

/// Base64 of a message for the HTTP-POST binding.
#[must_use]
pub fn post_value(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}

/// Reads a message received by HTTP-POST (`SAMLResponse` form field).
pub fn read_post(field: &'static str, value: &str) -> Result<String, BindingError> {
    let clean: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let raw = STANDARD.decode(clean).map_err(|e| BindingError::Base64 {
        field,
        detail: e.to_string(),
    })?;
    String::from_utf8(raw).map_err(|_| BindingError::Utf8 { field })
}

/// The auto-submitting page a browser posts to `action` (HTTP-POST binding). The lab's
/// browser reads the form the same way, so the page is plain and predictable.
#[must_use]
pub fn post_form(action: &str, field: &str, xml: &str, relay_state: Option<&str>) -> String {
    let relay = relay_state
        .map(|r| {
            format!(
                r#"<input type="hidden" name="RelayState" value="{}">"#,
                super::escape(r)
            )
        })
        .unwrap_or_default();
    format!(
        concat!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>NemLog-in</title></head>"#,
            r#"<body onload="document.forms[0].submit()"><form method="post" action="{action}">"#,
            r#"<input type="hidden" name="{field}" value="{value}">{relay}"#,
            r#"<noscript><button type="submit">Continue</button></noscript></form></body></html>"#
        ),
        action = super::escape(action),
        field = field,
        value = post_value(xml),
        relay = relay,
    )
}

/// Reads the auto-submitting form of [`post_form`] (or any page with one form of hidden
/// fields): the action and the fields, unescaped.
#[must_use]
pub fn read_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    let form_at = html.find("<form")?;
    let form_tag = &html[form_at..form_at + html[form_at..].find('>')?];
    let action = attr(form_tag, "action")?;
    let mut fields = Vec::new();
    let mut rest = &html[form_at..];
    while let Some(i) = rest.find("<input") {
        let end = rest[i..].find('>').map_or(rest.len(), |e| i + e);
        let tag = &rest[i..end];
        if let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value")) {
            fields.push((name, value));
        }
        rest = &rest[end..];
    }
    Some((action, fields))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemlogin::test_keys as k;

    #[test]
    fn a_signed_redirect_message_round_trips_and_a_changed_one_fails_verification() {
        let key = KeyPair::from_pem(k::SP_SIGNING_KEY, k::SP_SIGNING_CERT).expect("key");
        let query = redirect_query(
            "SAMLRequest",
            "<samlp:AuthnRequest/>",
            Some("r&s"),
            Some(&key),
        );
        let message = read_redirect(&format!("{query}&login_hint=test:x")).expect("read");
        assert_eq!(message.xml, "<samlp:AuthnRequest/>");
        assert_eq!(message.relay_state.as_deref(), Some("r&s"));
        assert_eq!(
            message.extra,
            vec![("login_hint".to_owned(), "test:x".to_owned())]
        );
        assert_eq!(message.verify(&key.certificate()), Ok(()));
        let other = KeyPair::from_pem(k::IDP_SIGNING_KEY, k::IDP_SIGNING_CERT).expect("key");
        assert_eq!(
            message.verify(&other.certificate()),
            Err(BindingError::BadSignature)
        );
        let relayed = read_redirect(&query.replace("RelayState=r", "RelayState=q")).expect("read");
        assert_eq!(
            relayed.verify(&key.certificate()),
            Err(BindingError::BadSignature)
        );
        let unsigned =
            read_redirect(&redirect_query("SAMLRequest", "<x/>", None, None)).expect("read");
        assert_eq!(
            unsigned.verify(&key.certificate()),
            Err(BindingError::Unsigned)
        );
    }

    #[test]
    fn the_post_form_reads_back() {
        let page = post_form(
            "https://sp.example/acs?a=1&b=2",
            "SAMLResponse",
            "<r/>",
            Some("\"x\""),
        );
        let (action, fields) = read_form(&page).expect("form");
        assert_eq!(action, "https://sp.example/acs?a=1&b=2");
        assert_eq!(
            read_post("SAMLResponse", &fields[0].1).expect("b64"),
            "<r/>"
        );
        assert_eq!(fields[1], ("RelayState".to_owned(), "\"x\"".to_owned()));
    }
}
