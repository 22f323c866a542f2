//! Business (`MitID` Erhverv) logins at the broker: which professional identity a login is for.
//!
//! A client asks for one with the profile's professional `idp_values` entry (`mitid_erhverv`).
//! The citizen authenticates with their own `MitID` as in any login; then, if they act for
//! several companies, they choose one: on the login pages (a chooser page after the
//! authenticator), in a headless login by the test hint (`login_hint=test:<user>:<behaviour>:cvr=<cvr>`)
//! or by the login's script (`"organisation": "<cvr>"`, control API). A headless login that
//! names no company takes the first the person acts for, as a person with one company would.
//! The chosen [`ProfessionalIdentity`] goes into the login's result; the claims of the
//! profile's `nemlogin` scope and the professional `identity_type` come from it.

use crate::cvr::ProfessionalIdentity;

use super::IdpState;
use super::registry::Identity;
use super::script::AuthRequest;

/// The `error_description` of a business login for a person who acts for no company.
pub const NO_PROFESSIONAL_IDENTITY: &str = "mitid_erhverv_no_professional_identity";
/// The `error_description` of a business login naming a company the person does not act for.
pub const ORGANISATION_NOT_AVAILABLE: &str = "mitid_erhverv_organisation_not_available";

/// The suffix of a headless test hint that chooses the company.
const HINT_CVR: &str = ":cvr=";

/// Splits a test hint's rest (`<user>[:<behaviour>][:cvr=<cvr>]`, after `test:`) into the part
/// before the company choice and the chosen CVR number.
#[must_use]
pub fn split_hint(rest: &str) -> (&str, Option<&str>) {
    match rest.rfind(HINT_CVR) {
        Some(at) => (&rest[..at], Some(&rest[at + HINT_CVR.len()..])),
        None => (rest, None),
    }
}

/// The company (CVR number) chosen for a business login: on the chooser page (`page`), else by
/// the login's script, else by its test hint.
#[must_use]
pub fn chosen(
    state: &IdpState,
    req: &AuthRequest,
    page: Option<&str>,
    script_id: Option<&str>,
) -> Option<String> {
    if let Some(cvr) = page {
        return Some(cvr.to_owned());
    }
    let scripted = state
        .lock()
        .scripts
        .get(script_id)
        .and_then(|s| s.request.organisation.clone());
    scripted.or_else(|| {
        req.login_hint
            .as_deref()
            .and_then(|h| h.strip_prefix("test:"))
            .and_then(|rest| split_hint(rest).1)
            .map(str::to_owned)
    })
}

/// The professional identity a business login of `identity` is for: the company `chosen` (a CVR
/// number), else the first the person acts for. `Err` is the login's `error_description`.
pub fn choose(
    identity: &Identity,
    chosen: Option<&str>,
) -> Result<ProfessionalIdentity, &'static str> {
    let first = identity
        .professional
        .first()
        .ok_or(NO_PROFESSIONAL_IDENTITY)?;
    match chosen {
        None => Ok(first.clone()),
        Some(cvr) => identity
            .professional
            .iter()
            .find(|p| p.cvr == cvr)
            .cloned()
            .ok_or(ORGANISATION_NOT_AVAILABLE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_hint_names_the_company_after_the_behaviour() {
        assert_eq!(split_hint("anna"), ("anna", None));
        assert_eq!(split_hint("anna:approve"), ("anna:approve", None));
        assert_eq!(
            split_hint("anna:approve:cvr=17752685"),
            ("anna:approve", Some("17752685"))
        );
        assert_eq!(split_hint("anna:cvr=17752685"), ("anna", Some("17752685")));
    }
}
