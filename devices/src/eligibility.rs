//! Which phones can run the MitID app, and which can read a passport chip by NFC (needed to
//! enrol or reactivate with a passport). `Copy` and allocation-free: the simulator checks it for
//! every citizen with a phone.

use serde::{Deserialize, Serialize};

use crate::policy::EligibilityPolicy;

/// iPhone models in release order (only the ones that matter for the rules plus neighbours).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IphoneModel {
    /// iPhone 5c and everything before it.
    Iphone5cOrOlder,
    Iphone5s,
    Iphone6,
    Iphone6s,
    IphoneSe1,
    Iphone7,
    Iphone8,
    IphoneX,
    IphoneXs,
    Iphone11,
    Iphone12,
    Iphone13,
    Iphone14,
    Iphone15,
    Iphone16OrNewer,
}

/// A citizen's phone or tablet as the eligibility rules see it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "platform")]
pub enum DeviceProfile {
    Ios {
        model: IphoneModel,
        os_major: u8,
    },
    Android {
        os_major: u8,
        nfc: bool,
    },
    /// Feature phones and other platforms: no MitID app.
    Other,
}

/// Why a device cannot do something.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Ineligible {
    #[error("the MitID app is only available for iPhone and Android")]
    UnsupportedPlatform,
    #[error("this iPhone model is too old")]
    ModelTooOld,
    #[error("the operating system version is too old")]
    OsTooOld,
    #[error("the device has no NFC reader usable for passport chips")]
    NoNfc,
}

impl DeviceProfile {
    /// Whether the MitID app can be installed and activated.
    pub const fn app_eligibility(&self, policy: &EligibilityPolicy) -> Result<(), Ineligible> {
        match *self {
            DeviceProfile::Ios { model, os_major } => {
                if (model as u8) < (policy.app_min_iphone as u8) {
                    Err(Ineligible::ModelTooOld)
                } else if os_major < policy.app_min_ios {
                    Err(Ineligible::OsTooOld)
                } else {
                    Ok(())
                }
            }
            DeviceProfile::Android { os_major, .. } => {
                if os_major < policy.app_min_android {
                    Err(Ineligible::OsTooOld)
                } else {
                    Ok(())
                }
            }
            DeviceProfile::Other => Err(Ineligible::UnsupportedPlatform),
        }
    }

    /// Whether the app on this device can read a passport or ID-card chip by NFC.
    pub const fn nfc_passport_eligibility(
        &self,
        policy: &EligibilityPolicy,
    ) -> Result<(), Ineligible> {
        if let Err(e) = self.app_eligibility(policy) {
            return Err(e);
        }
        match *self {
            DeviceProfile::Ios { model, os_major } => {
                if (model as u8) < (policy.nfc_min_iphone as u8) {
                    Err(Ineligible::NoNfc)
                } else if os_major < policy.nfc_min_ios {
                    Err(Ineligible::OsTooOld)
                } else {
                    Ok(())
                }
            }
            DeviceProfile::Android { nfc, .. } => {
                if nfc {
                    Ok(())
                } else {
                    Err(Ineligible::NoNfc)
                }
            }
            DeviceProfile::Other => Err(Ineligible::UnsupportedPlatform),
        }
    }

    /// Whether the device runs iOS (chips then connect by NFC only).
    #[must_use]
    pub const fn is_ios(&self) -> bool {
        matches!(self, DeviceProfile::Ios { .. })
    }
}
