//! # CVR register and professional identities (MitID Erhverv)
//!
//! The lab's synthetic Central Business Register: the companies of `fixtures/companies.csv`
//! (loaded by the one fixtures loader, [`mitid_fixtures::companies`], which checks every CVR
//! number's modulus-11 digit), who works for them, and the professional identities an employee
//! logs in with.
//!
//! - [`CvrRegister`]: the companies, looked up by CVR number; [`CvrRegister::employers_of`] says
//!   which companies a person of the CPR register acts for. It is a pure function of the seed and
//!   the CPR number, so the CPR register (which answers `GET /persons/{cpr}/employers`) and the
//!   IdP (whose test identities are the register's first persons) agree without talking: most
//!   persons act for no company, some for one, a few for two.
//! - [`ProfessionalIdentity`]: what a business login carries for one person acting for one
//!   company: CVR, organisation name, the persistent professional id (a pseudonym of the pair,
//!   never the person's private MitID UUID), a RID where the employee came from a NemID employee
//!   signature, and privileges. [`ProfessionalIdentity::mint`] derives it from the identity's
//!   UUID and the company, so the same person acting for the same company always gets the same
//!   professional id, and the same person acting for another company gets another one.
//!
//! Both the OIDC broker (`identity_type` professional) and a SAML IdP (OIOSAML professional
//! attributes) issue logins from these types; nothing here speaks a protocol.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::idp::registry::uuid_from_bytes;

pub use mitid_fixtures::cvr_is_valid;

/// One company of the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    /// CVR number, 8 digits.
    pub cvr: String,
    /// Registered name (synthetic).
    pub name: String,
    /// DST code of the municipality the company is registered in.
    pub municipality_code: u16,
    /// Industry label.
    pub industry: String,
}

/// The register could not be loaded (a defect of the shipped fixture, named with file and line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CVR register: {0}")]
pub struct CvrError(#[from] pub mitid_fixtures::FixtureError);

/// The privileges the lab grants employees. OIOBPP privileges are URIs chosen by each service
/// (the lab's are under its own `urn:dk:mitid-lab:` namespace): every employee may read, some
/// may also submit on the company's behalf, a few may administer.
pub const PRIVILEGE_READ: &str = "urn:dk:mitid-lab:privilege:read";
/// See [`PRIVILEGE_READ`].
pub const PRIVILEGE_SUBMIT: &str = "urn:dk:mitid-lab:privilege:submit";
/// See [`PRIVILEGE_READ`].
pub const PRIVILEGE_ADMINISTER: &str = "urn:dk:mitid-lab:privilege:administer";

/// The synthetic CVR register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvrRegister {
    companies: Vec<Company>,
}

impl CvrRegister {
    /// The register of `fixtures/companies.csv`.
    pub fn embedded() -> Result<CvrRegister, CvrError> {
        let companies = mitid_fixtures::companies()?
            .into_iter()
            .map(|(_, row)| Company {
                cvr: row.cvr,
                name: row.name,
                municipality_code: row.municipality_code,
                industry: row.industry,
            })
            .collect();
        Ok(CvrRegister { companies })
    }

    /// Every company, in file order.
    #[must_use]
    pub fn companies(&self) -> &[Company] {
        &self.companies
    }

    /// The company with this CVR number.
    #[must_use]
    pub fn get(&self, cvr: &str) -> Option<&Company> {
        self.companies.iter().find(|c| c.cvr == cvr)
    }

    /// The companies the person with CPR number `cpr` acts for in a register seeded with `seed`:
    /// none for most (six in ten), one for some (three in ten), two different ones for a few
    /// (one in ten). Deterministic: the same seed and CPR number give the same employers.
    #[must_use]
    pub fn employers_of(&self, seed: u64, cpr: &str) -> Vec<&Company> {
        let digest = Sha256::new()
            .chain_update(b"mitid-lab employers")
            .chain_update(seed.to_be_bytes())
            .chain_update(cpr.as_bytes())
            .finalize();
        let count = match digest[0] % 10 {
            0..=2 => 1,
            3 => 2,
            _ => 0,
        };
        let n = self.companies.len();
        if n == 0 {
            return Vec::new();
        }
        let first = usize::from(u16::from_be_bytes([digest[1], digest[2]])) % n;
        let mut employers = vec![&self.companies[first]];
        if count == 2 && n > 1 {
            // Any other company: an offset in 1..n never lands on the first.
            let offset = 1 + usize::from(u16::from_be_bytes([digest[3], digest[4]])) % (n - 1);
            employers.push(&self.companies[(first + offset) % n]);
        }
        employers.truncate(count);
        employers
    }
}

/// A person acting for a company: what a professional (business) login says about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfessionalIdentity {
    /// The company's CVR number.
    pub cvr: String,
    /// The company's name.
    pub org_name: String,
    /// Persistent professional id (`urn:uuid:...`): stable for this person and this company,
    /// different for every other pair, and never the private `mitid.uuid`.
    pub persistent_professional_id: String,
    /// RID number of the NemID employee signature this employee had, when they had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Privilege URIs the company grants this employee.
    pub privileges: Vec<String>,
}

impl ProfessionalIdentity {
    /// The professional identity of the MitID identity `identity_uuid` acting for `company`.
    /// Derived, not drawn: minting it again gives the same values.
    #[must_use]
    pub fn mint(identity_uuid: &str, company: &Company) -> ProfessionalIdentity {
        let digest = Sha256::new()
            .chain_update(b"mitid-lab professional identity")
            .chain_update(identity_uuid.as_bytes())
            .chain_update(b"\x00")
            .chain_update(company.cvr.as_bytes())
            .finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        // Half the employees came from a NemID employee signature and keep its RID.
        let rid = (digest[16] % 2 == 0).then(|| {
            let n = u32::from_be_bytes([digest[17], digest[18], digest[19], digest[20]]);
            format!("{}", 10_000 + n % 90_000)
        });
        let mut privileges = vec![PRIVILEGE_READ.to_owned()];
        if digest[21] % 2 == 0 {
            privileges.push(PRIVILEGE_SUBMIT.to_owned());
        }
        if digest[22] % 5 == 0 {
            privileges.push(PRIVILEGE_ADMINISTER.to_owned());
        }
        ProfessionalIdentity {
            cvr: company.cvr.clone(),
            org_name: company.name.clone(),
            persistent_professional_id: format!("urn:uuid:{}", uuid_from_bytes(id)),
            rid,
            privileges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_register_loads_with_valid_cvr_numbers() {
        let register = CvrRegister::embedded().unwrap();
        assert!(register.companies().len() >= 8);
        for company in register.companies() {
            assert!(cvr_is_valid(&company.cvr), "{company:?}");
            assert_eq!(register.get(&company.cvr), Some(company));
        }
        assert_eq!(register.get("13748136"), None);
    }

    #[test]
    fn employers_are_deterministic_and_some_persons_have_two() {
        let register = CvrRegister::embedded().unwrap();
        let cprs: Vec<String> = (0..400).map(|i| format!("01019{i:05}")).collect();
        let mut counts = [0usize; 3];
        for cpr in &cprs {
            let employers = register.employers_of(7, cpr);
            assert_eq!(
                employers,
                register.employers_of(7, cpr),
                "same seed, same answer"
            );
            if let [a, b] = employers.as_slice() {
                assert_ne!(a.cvr, b.cvr, "two employers are two companies");
            }
            counts[employers.len()] += 1;
        }
        assert!(
            counts[0] > counts[1] && counts[1] > counts[2] && counts[2] > 0,
            "{counts:?}"
        );
        let other_seed: Vec<_> = cprs.iter().map(|c| register.employers_of(8, c)).collect();
        let this_seed: Vec<_> = cprs.iter().map(|c| register.employers_of(7, c)).collect();
        assert_ne!(other_seed, this_seed, "the seed changes who works where");
    }

    #[test]
    fn professional_ids_are_per_person_and_company_and_stable() {
        let register = CvrRegister::embedded().unwrap();
        let [a, b] = [&register.companies()[0], &register.companies()[1]];
        let anna_a = ProfessionalIdentity::mint("uuid-anna", a);
        assert_eq!(anna_a, ProfessionalIdentity::mint("uuid-anna", a));
        let anna_b = ProfessionalIdentity::mint("uuid-anna", b);
        let bo_a = ProfessionalIdentity::mint("uuid-bo", a);
        assert_ne!(
            anna_a.persistent_professional_id,
            anna_b.persistent_professional_id
        );
        assert_ne!(
            anna_a.persistent_professional_id,
            bo_a.persistent_professional_id
        );
        assert!(anna_a.persistent_professional_id.starts_with("urn:uuid:"));
        assert_eq!(
            (anna_a.cvr.as_str(), anna_a.org_name.as_str()),
            (a.cvr.as_str(), a.name.as_str())
        );
        assert_eq!(anna_a.privileges[0], PRIVILEGE_READ);
    }
}
