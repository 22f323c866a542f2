//! Passport reactivation: the MRZ read and checked, the chip read by NFC, the face matched.

use serde::{Deserialize, Serialize};

use crate::crypto::{self};
use crate::eligibility::{DeviceProfile, Ineligible};
use crate::policy::{AppPolicy, EligibilityPolicy};
use crate::time::Timestamp;

use super::{ActivationProof, ActivationRoute};

/// ICAO 9303 check digit (weights 7, 3, 1; `<` = 0, digits as themselves, A–Z = 10–35).
#[must_use]
pub fn mrz_check_digit(field: &str) -> u8 {
    let sum: u32 = field
        .bytes()
        .zip([7u32, 3, 1].into_iter().cycle())
        .map(|(c, w)| {
            let v = match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                b'a'..=b'z' => u32::from(c - b'a') + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    (sum % 10) as u8
}

/// The MRZ fields the app's camera reads (document number, birth date and expiry as `YYMMDD`),
/// each with its check digit as printed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MrzReading {
    pub document_number: String,
    pub document_number_check: u8,
    pub date_of_birth: String,
    pub date_of_birth_check: u8,
    pub expiry: String,
    pub expiry_check: u8,
}

impl MrzReading {
    /// The MRZ of a document, with correct check digits.
    #[must_use]
    pub fn of(document_number: &str, date_of_birth: &str, expiry: &str) -> MrzReading {
        MrzReading {
            document_number: document_number.to_owned(),
            document_number_check: mrz_check_digit(document_number),
            date_of_birth: date_of_birth.to_owned(),
            date_of_birth_check: mrz_check_digit(date_of_birth),
            expiry: expiry.to_owned(),
            expiry_check: mrz_check_digit(expiry),
        }
    }

    /// Whether every printed check digit matches its field (a misread fails here).
    #[must_use]
    pub fn check_digits_ok(&self) -> bool {
        mrz_check_digit(&self.document_number) == self.document_number_check
            && mrz_check_digit(&self.date_of_birth) == self.date_of_birth_check
            && mrz_check_digit(&self.expiry) == self.expiry_check
    }

    /// The access key the chip is unlocked with (ICAO basic access control key seed input).
    fn access_key(&self) -> [u8; 32] {
        let mut s = String::new();
        for (field, check) in [
            (&self.document_number, self.document_number_check),
            (&self.date_of_birth, self.date_of_birth_check),
            (&self.expiry, self.expiry_check),
        ] {
            s.push_str(field);
            s.push(char::from(b'0' + check));
        }
        crypto::sha256(&[s.as_bytes()])
    }
}

/// A passport or national ID card with a chip, as the lab models it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Passport {
    pub mrz: MrzReading,
    /// Whether the chip's data passes passive authentication (false models a forged chip).
    pub chip_authentic: bool,
    /// Whether the chip still works.
    pub chip_readable: bool,
}

/// Why a passport reactivation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassportError {
    #[error("this phone cannot read passport chips: {0}")]
    Device(#[from] Ineligible),
    #[error("the MRZ was misread (check digit mismatch)")]
    MrzMisread,
    #[error("the chip did not open with the MRZ access key")]
    AccessDenied,
    #[error("the chip cannot be read")]
    ChipUnreadable,
    #[error("the chip's data failed passive authentication")]
    ChipNotAuthentic,
    #[error("the passport is not the one registered for this identity")]
    NotRegisteredDocument,
    #[error("the face scan matched {score_permille}‰, below the required {required_permille}‰")]
    FaceMismatch {
        score_permille: u16,
        required_permille: u16,
    },
}

/// Reactivation (or enrolment) with a passport: the app reads the MRZ with the camera, opens the
/// chip by NFC with the MRZ key, checks the chip is authentic and is the document registered for
/// `user_id`, then compares the face scan with the chip photo.
#[allow(clippy::too_many_arguments)] // each argument is one real-world input of the procedure
pub fn passport_reactivation(
    user_id: &str,
    device: &DeviceProfile,
    camera_reading: &MrzReading,
    passport: &Passport,
    registered_document_number: &str,
    face_match_permille: u16,
    now: Timestamp,
    policies: (&AppPolicy, &EligibilityPolicy),
) -> Result<ActivationProof, PassportError> {
    let (app_policy, eligibility) = policies;
    device.nfc_passport_eligibility(eligibility)?;
    if !camera_reading.check_digits_ok() {
        return Err(PassportError::MrzMisread);
    }
    if !passport.chip_readable {
        return Err(PassportError::ChipUnreadable);
    }
    if camera_reading.access_key() != passport.mrz.access_key() {
        return Err(PassportError::AccessDenied);
    }
    if !passport.chip_authentic {
        return Err(PassportError::ChipNotAuthentic);
    }
    if passport.mrz.document_number != registered_document_number {
        return Err(PassportError::NotRegisteredDocument);
    }
    if face_match_permille < app_policy.face_match_threshold_permille {
        return Err(PassportError::FaceMismatch {
            score_permille: face_match_permille,
            required_permille: app_policy.face_match_threshold_permille,
        });
    }
    Ok(ActivationProof {
        user_id: user_id.to_owned(),
        route: ActivationRoute::Passport,
        at: now,
    })
}
