//! MitID chip: two-step activation, assertions, user presence, transports, counter regression.

use mitid_devices::{
    AssertionRequest, Chip, ChipCredential, ChipError, ChipPolicy, ChipTransport, ClientOs, Span,
    Timestamp,
};
use proptest::prelude::*;

use crate::{day, rng};

const RP: &str = "mitid.lab.test";
const ORIGIN: &str = "https://mitid.lab.test";

fn activated(
    seed: u64,
) -> (
    Chip,
    ChipCredential,
    ChipPolicy,
    Timestamp,
    mitid_devices::DeviceRng,
) {
    let policy = ChipPolicy::default();
    let mut r = rng(seed);
    let chip = Chip::manufacture("CHIP-1", &mut r);
    let start = day(2022, 9, 1);
    let mut cred = chip.registration(RP, start);
    let ready = start + Span::from_hours(24);
    cred.complete_activation(ready, &policy).unwrap();
    (chip, cred, policy, ready, r)
}

#[test]
fn activation_needs_24_hours_between_steps() {
    let policy = ChipPolicy::default();
    let chip = Chip::manufacture("CHIP-2", &mut rng(1));
    let start = day(2022, 9, 1);
    let mut cred = chip.registration(RP, start);
    let ready_at = start + Span::from_hours(24);
    assert!(!cred.is_active());
    assert_eq!(
        cred.complete_activation(ready_at.minus(Span(1)), &policy),
        Err(ChipError::ActivationTooEarly { ready_at })
    );
    let req = AssertionRequest::new(RP, ORIGIN, &mut rng(2));
    let mut chip2 = chip.clone();
    let a = chip2
        .assert(&req, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    assert_eq!(cred.verify(&req, &a, &policy), Err(ChipError::NotActivated));
    cred.complete_activation(ready_at, &policy).unwrap();
    assert_eq!(
        cred.complete_activation(ready_at, &policy),
        Err(ChipError::AlreadyActive)
    );
    cred.verify(&req, &a, &policy).unwrap();
}

#[test]
fn assertion_verifies_and_counter_advances() {
    let (mut chip, mut cred, policy, _, mut r) = activated(3);
    for n in 1..=3 {
        let req = AssertionRequest::new(RP, ORIGIN, &mut r);
        let a = chip
            .assert(&req, ChipTransport::Nfc, ClientOs::Android, true)
            .unwrap();
        let v = cred
            .verify(&req, &a, &policy)
            .unwrap_or_else(|e| panic!("assertion {n}: {e}"));
        assert_eq!(v.sign_count, n);
        assert!(v.user_present);
    }
}

#[test]
fn cloned_chip_is_caught_by_counter_regression() {
    let (mut chip, mut cred, policy, _, mut r) = activated(4);
    let mut clone = chip.clone();
    let req = AssertionRequest::new(RP, ORIGIN, &mut r);
    let a = chip
        .assert(&req, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    cred.verify(&req, &a, &policy).unwrap();
    let req2 = AssertionRequest::new(RP, ORIGIN, &mut r);
    let b = clone
        .assert(&req2, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    assert_eq!(
        cred.verify(&req2, &b, &policy),
        Err(ChipError::CounterRegression {
            stored: 1,
            presented: 1
        })
    );
    // Replaying the first assertion is also a regression.
    assert!(matches!(
        cred.verify(&req, &a, &policy),
        Err(ChipError::CounterRegression { .. })
    ));
}

#[test]
fn not_pressed_means_no_user_presence() {
    let (mut chip, mut cred, policy, _, mut r) = activated(5);
    let req = AssertionRequest::new(RP, ORIGIN, &mut r);
    let a = chip
        .assert(&req, ChipTransport::Usb, ClientOs::Desktop, false)
        .unwrap();
    assert_eq!(
        cred.verify(&req, &a, &policy),
        Err(ChipError::UserNotPresent)
    );
    let lax = ChipPolicy {
        require_user_presence: false,
        ..policy
    };
    let req = AssertionRequest::new(RP, ORIGIN, &mut r);
    let a = chip
        .assert(&req, ChipTransport::Usb, ClientOs::Desktop, false)
        .unwrap();
    assert!(!cred.verify(&req, &a, &lax).unwrap().user_present);
}

#[test]
fn ios_only_nfc() {
    let (mut chip, _, _, _, mut r) = activated(6);
    let req = AssertionRequest::new(RP, ORIGIN, &mut r);
    for t in [ChipTransport::Usb, ChipTransport::Bluetooth] {
        assert_eq!(
            chip.assert(&req, t, ClientOs::Ios, true).unwrap_err(),
            ChipError::TransportUnavailable {
                transport: t,
                os: ClientOs::Ios
            }
        );
    }
    assert_eq!(
        chip.sign_count, 0,
        "a refused connection does not advance the counter"
    );
    assert!(
        chip.assert(&req, ChipTransport::Nfc, ClientOs::Ios, true)
            .is_ok()
    );
    assert!(
        chip.assert(&req, ChipTransport::Nfc, ClientOs::Desktop, true)
            .is_err()
    );
}

#[test]
fn wrong_challenge_origin_or_relying_party() {
    let (mut chip, mut cred, policy, _, mut r) = activated(7);
    let req = AssertionRequest::new(RP, ORIGIN, &mut r);
    let a = chip
        .assert(&req, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    let other = AssertionRequest::new(RP, ORIGIN, &mut r);
    assert_eq!(
        cred.verify(&other, &a, &policy),
        Err(ChipError::WrongClientData)
    );
    let phishing = AssertionRequest {
        origin: "https://mitid-login.example".into(),
        ..req.clone()
    };
    assert_eq!(
        cred.verify(&phishing, &a, &policy),
        Err(ChipError::WrongClientData)
    );
    let evil = AssertionRequest::new("evil.example", ORIGIN, &mut r);
    let b = chip
        .assert(&evil, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    assert_eq!(
        cred.verify(&evil, &b, &policy),
        Err(ChipError::WrongRelyingParty)
    );
    let other_chip = Chip::manufacture("CHIP-X", &mut r);
    let mut other_chip = other_chip;
    let c = other_chip
        .assert(&req, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    assert!(matches!(
        cred.verify(&req, &c, &policy),
        Err(ChipError::UnknownCredential { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_tampered_assertion_never_verifies(seed in any::<u64>(), byte in 0usize..64, bit in 0u8..8, field in 0u8..4) {
        let (mut chip, mut cred, policy, _, mut r) = activated(seed);
        let req = AssertionRequest::new(RP, ORIGIN, &mut r);
        let mut a = chip.assert(&req, ChipTransport::Usb, ClientOs::Desktop, true).unwrap();
        match field {
            0 => a.signature.0[byte] ^= 1 << bit,
            1 => a.authenticator_data.sign_count += 1 + u32::from(bit),
            2 => a.authenticator_data.flags ^= 0x40 >> (bit % 4),
            _ => a.authenticator_data.rp_id_hash[byte % 32] ^= 1 << bit,
        }
        let res = cred.verify(&req, &a, &policy);
        prop_assert!(res.is_err(), "seed {} field {} byte {} bit {}: tampered assertion verified", seed, field, byte, bit);
    }
}
