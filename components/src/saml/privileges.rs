//! Privileges of a professional login: the OIO Basic Privilege Profile (OIOBPP) list that
//! OIOSAML 3 carries, base64-encoded, in the `privilegesIntermediate` attribute.
//!
//! ```xml
//! <bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile">
//!   <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345678">
//!     <Privilege>urn:dk:some-service:privilege:submit</Privilege>
//!   </PrivilegeGroup>
//! </bpp:PrivilegeList>
//! ```
//!
//! A privilege is granted *for a scope*: the CVR number of the company the employee acts for.
//! A service must find the privilege it demands in the group scoped to the company of the login,
//! not in any group. (Source: OIO Basic Privilege Profile 1.2, Digitaliseringsstyrelsen.)

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libxml::parser::Parser;
use serde::{Deserialize, Serialize};

use super::escape;

/// The OIOBPP namespace.
pub const BPP_NS: &str = "http://digst.dk/oiosaml/basic_privilege_profile";
/// A scope naming a company by its CVR number (followed by the number).
pub const CVR_SCOPE: &str = "urn:dk:gov:saml:cvrNumberIdentifier:";

/// The privileges granted for one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivilegeGroup {
    /// The company (CVR number) the privileges hold for.
    pub cvr: String,
    /// Privilege URIs.
    pub privileges: Vec<String>,
}

impl PrivilegeGroup {
    /// Whether `privilege` is granted for the company `cvr` in `groups`.
    #[must_use]
    pub fn grants(groups: &[PrivilegeGroup], cvr: &str, privilege: &str) -> bool {
        groups
            .iter()
            .any(|g| g.cvr == cvr && g.privileges.iter().any(|p| p == privilege))
    }
}

/// Why a `privilegesIntermediate` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivilegeError {
    #[error("privilegesIntermediate is not base64")]
    NotBase64,
    #[error("privilegesIntermediate is not a well-formed OIOBPP PrivilegeList")]
    NotXml,
    #[error("privilegesIntermediate: the root is `{0}`, not bpp:PrivilegeList")]
    WrongRoot(String),
    #[error("privilegesIntermediate: a PrivilegeGroup's Scope `{0}` names no CVR number")]
    Scope(String),
}

/// The OIOBPP XML of `groups`.
#[must_use]
pub fn to_xml(groups: &[PrivilegeGroup]) -> String {
    let mut xml = format!(r#"<bpp:PrivilegeList xmlns:bpp="{BPP_NS}">"#);
    for group in groups {
        let _ = write!(
            xml,
            r#"<PrivilegeGroup Scope="{CVR_SCOPE}{}">"#,
            escape(&group.cvr)
        );
        for privilege in &group.privileges {
            let _ = write!(xml, "<Privilege>{}</Privilege>", escape(privilege));
        }
        xml.push_str("</PrivilegeGroup>");
    }
    xml.push_str("</bpp:PrivilegeList>");
    xml
}

/// The attribute value: base64 of the OIOBPP XML.
#[must_use]
pub fn encode(groups: &[PrivilegeGroup]) -> String {
    STANDARD.encode(to_xml(groups))
}

/// Reads an attribute value written by [`encode`] (or by any OIOBPP issuer).
pub fn decode(value: &str) -> Result<Vec<PrivilegeGroup>, PrivilegeError> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|_| PrivilegeError::NotBase64)?;
    let text = String::from_utf8(bytes).map_err(|_| PrivilegeError::NotXml)?;
    let doc = Parser::default()
        .parse_string(&text)
        .map_err(|_| PrivilegeError::NotXml)?;
    let root = doc.get_root_element().ok_or(PrivilegeError::NotXml)?;
    let in_bpp = root.get_namespace().is_some_and(|n| n.get_href() == BPP_NS);
    if root.get_name() != "PrivilegeList" || !in_bpp {
        return Err(PrivilegeError::WrongRoot(root.get_name()));
    }
    // The profile's examples leave the children unqualified; they are read by local name.
    let mut groups = Vec::new();
    for group in root
        .get_child_elements()
        .into_iter()
        .filter(|n| n.get_name() == "PrivilegeGroup")
    {
        let scope = group.get_attribute("Scope").unwrap_or_default();
        let cvr = scope
            .strip_prefix(CVR_SCOPE)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| PrivilegeError::Scope(scope.clone()))?
            .to_owned();
        let privileges = group
            .get_child_elements()
            .into_iter()
            .filter(|n| n.get_name() == "Privilege")
            .map(|n| n.get_content().trim().to_owned())
            .collect();
        groups.push(PrivilegeGroup { cvr, privileges });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_survive_the_round_trip_and_are_scoped_to_a_company() {
        let groups = vec![PrivilegeGroup {
            cvr: "12345678".into(),
            privileges: vec!["urn:x:read".into(), "urn:x:a&b".into()],
        }];
        let decoded = decode(&encode(&groups)).expect("readable");
        assert_eq!(decoded, groups);
        assert!(PrivilegeGroup::grants(&decoded, "12345678", "urn:x:a&b"));
        assert!(!PrivilegeGroup::grants(&decoded, "87654321", "urn:x:read"));
        assert!(!PrivilegeGroup::grants(&decoded, "12345678", "urn:x:write"));
    }

    #[test]
    fn unreadable_privileges_are_named() {
        assert_eq!(decode("%%%"), Err(PrivilegeError::NotBase64));
        assert_eq!(
            decode(&STANDARD.encode("<a/>")),
            Err(PrivilegeError::WrongRoot("a".into()))
        );
        let no_cvr = to_xml(&[]).replace(
            "</bpp:PrivilegeList>",
            r#"<PrivilegeGroup Scope="urn:other"/></bpp:PrivilegeList>"#,
        );
        assert_eq!(
            decode(&STANDARD.encode(no_cvr)),
            Err(PrivilegeError::Scope("urn:other".into()))
        );
    }
}
