//! Which phones run the app and can read passports by NFC.

use mitid_devices::{DeviceProfile, EligibilityPolicy, Ineligible, IphoneModel};

#[test]
fn iphone_rules() {
    let p = EligibilityPolicy::default();
    let ios = |model, os_major| DeviceProfile::Ios { model, os_major };
    assert_eq!(
        ios(IphoneModel::Iphone5cOrOlder, 10).app_eligibility(&p),
        Err(Ineligible::ModelTooOld)
    );
    assert_eq!(ios(IphoneModel::Iphone5s, 12).app_eligibility(&p), Ok(()));
    assert_eq!(
        ios(IphoneModel::Iphone5s, 11).app_eligibility(&p),
        Err(Ineligible::OsTooOld)
    );
    assert_eq!(
        ios(IphoneModel::Iphone6s, 15).nfc_passport_eligibility(&p),
        Err(Ineligible::NoNfc)
    );
    assert_eq!(
        ios(IphoneModel::Iphone7, 15).nfc_passport_eligibility(&p),
        Ok(())
    );
    assert_eq!(
        ios(IphoneModel::Iphone7, 12).nfc_passport_eligibility(&p),
        Err(Ineligible::OsTooOld)
    );
}

#[test]
fn android_and_other_rules() {
    let p = EligibilityPolicy::default();
    assert_eq!(
        DeviceProfile::Android {
            os_major: 7,
            nfc: true
        }
        .app_eligibility(&p),
        Err(Ineligible::OsTooOld)
    );
    assert_eq!(
        DeviceProfile::Android {
            os_major: 12,
            nfc: false
        }
        .app_eligibility(&p),
        Ok(())
    );
    assert_eq!(
        DeviceProfile::Android {
            os_major: 12,
            nfc: false
        }
        .nfc_passport_eligibility(&p),
        Err(Ineligible::NoNfc)
    );
    assert_eq!(
        DeviceProfile::Android {
            os_major: 12,
            nfc: true
        }
        .nfc_passport_eligibility(&p),
        Ok(())
    );
    assert_eq!(
        DeviceProfile::Other.app_eligibility(&p),
        Err(Ineligible::UnsupportedPlatform)
    );
}

#[test]
fn policy_overrides_from_yaml_shaped_json() {
    let p: EligibilityPolicy = serde_json::from_str(r#"{"app_min_android": 10}"#).unwrap();
    assert_eq!(p.app_min_android, 10);
    assert_eq!(
        p.nfc_min_iphone,
        IphoneModel::Iphone7,
        "unnamed fields keep their defaults"
    );
    assert!(
        serde_json::from_str::<EligibilityPolicy>(r#"{"app_min_androd": 10}"#).is_err(),
        "typos are rejected"
    );
}
