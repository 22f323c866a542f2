//! MitID app lifecycle: install → activate → active → suspended → blocked → reactivated, every
//! activation route, signed approvals and channel binding.

use mitid_devices::app::{Authorisation, GrantError, MrzReading, Passport, PassportError};
use mitid_devices::{
    Aal, ActivationGrant, ActivationRoute, AppConfirmation, AppError, AppPolicy, AppRegistration,
    AppStatus, ChannelBinding, ChannelBindingKind, DeviceProfile, DeviceRng, EligibilityPolicy,
    Factor, Ineligible, IphoneModel, LoginPlatform, MitidApp, Span, Timestamp, Transaction, assess,
    passport_reactivation, validate_app_pin,
};
use proptest::prelude::*;

use crate::{day, rng};

const USER: &str = "anders.jensen";
const PIN: &str = "482915";
const PHONE: DeviceProfile = DeviceProfile::Ios {
    model: IphoneModel::Iphone12,
    os_major: 16,
};

struct World {
    app: MitidApp,
    reg: AppRegistration,
    policy: AppPolicy,
    rng: DeviceRng,
    now: Timestamp,
}

fn activated(seed: u64) -> World {
    let policy = AppPolicy::default();
    let mut r = rng(seed);
    let now = day(2022, 5, 2);
    let mut app = MitidApp::install(PHONE, now, &EligibilityPolicy::default()).unwrap();
    assert_eq!(app.status(USER, now, &policy), AppStatus::NotActivated);
    let mut grant = ActivationGrant::temporary_pin(USER, now, &policy, &mut r);
    let sms = grant.reveal_code().to_owned();
    let proof = grant.redeem(&sms, now, &policy).unwrap();
    let reg = app.activate(&proof, PIN, now, &policy, &mut r).unwrap();
    assert_eq!(app.status(USER, now, &policy), AppStatus::Active);
    World {
        app,
        reg,
        policy,
        rng: r,
        now,
    }
}

fn login(w: &mut World, platform: LoginPlatform) -> Transaction {
    let kind = ChannelBindingKind::required(platform, w.now, &w.policy);
    let binding = ChannelBinding::generate(kind, &mut w.rng);
    Transaction::new(USER, "Log på Skat.dk", "Log på", binding, &mut w.rng)
}

#[test]
fn ineligible_phone_cannot_install() {
    let old = DeviceProfile::Ios {
        model: IphoneModel::Iphone5cOrOlder,
        os_major: 10,
    };
    assert_eq!(
        MitidApp::install(old, day(2022, 1, 1), &EligibilityPolicy::default()),
        Err(Ineligible::ModelTooOld)
    );
}

#[test]
fn swipe_approval_verifies_with_the_registered_key() {
    let mut w = activated(1);
    let tx = login(&mut w, LoginPlatform::Computer);
    let approval = w
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Swipe,
            w.now,
            &w.policy,
        )
        .unwrap();
    let conf = w
        .reg
        .verify(&tx, &approval)
        .unwrap_or_else(|e| panic!("tx {tx:?}: {e}"));
    assert_eq!(conf, AppConfirmation::Swipe);
    assert_eq!(assess(&[Factor::MitidApp(conf)]).aal, Aal::Substantial);
}

#[test]
fn pin_on_single_identity_without_biometrics_is_high() {
    let mut w = activated(2);
    let tx = login(&mut w, LoginPlatform::SamePhone);
    assert_eq!(tx.channel_binding.kind(), ChannelBindingKind::AppSwitch);
    let a = w
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Pin(PIN),
            w.now,
            &w.policy,
        )
        .unwrap();
    assert_eq!(
        w.reg.verify(&tx, &a).unwrap(),
        AppConfirmation::PinSingleIdentity
    );
    // With biometrics on, a PIN is no longer High.
    w.app
        .enable_biometrics(USER, PIN, w.now, &w.policy)
        .unwrap();
    let tx = login(&mut w, LoginPlatform::SamePhone);
    let a = w
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Pin(PIN),
            w.now,
            &w.policy,
        )
        .unwrap();
    assert_eq!(w.reg.verify(&tx, &a).unwrap(), AppConfirmation::Pin);
    let a = w
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Biometric,
            w.now,
            &w.policy,
        )
        .unwrap();
    assert_eq!(w.reg.verify(&tx, &a).unwrap(), AppConfirmation::Biometric);
    w.app.disable_biometrics();
    assert_eq!(
        w.app.approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Biometric,
            w.now,
            &w.policy
        ),
        Err(AppError::BiometricsOff)
    );
}

#[test]
fn second_identity_on_the_device_loses_high() {
    let mut w = activated(3);
    let mut g = ActivationGrant::temporary_pin("birgitte.hansen", w.now, &w.policy, &mut w.rng);
    let code = g.reveal_code().to_owned();
    let proof = g.redeem(&code, w.now, &w.policy).unwrap();
    let reg2 = w
        .app
        .activate(&proof, "730164", w.now, &w.policy, &mut w.rng)
        .unwrap();
    let tx = login(&mut w, LoginPlatform::SamePhone);
    let a = w
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Pin(PIN),
            w.now,
            &w.policy,
        )
        .unwrap();
    assert_eq!(w.reg.verify(&tx, &a).unwrap(), AppConfirmation::Pin);
    // The other identity's registration does not accept this user's approval.
    assert!(reg2.verify(&tx, &a).is_err());
    w.app.remove_identity("birgitte.hansen").unwrap();
    let a = w
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Pin(PIN),
            w.now,
            &w.policy,
        )
        .unwrap();
    assert_eq!(
        w.reg.verify(&tx, &a).unwrap(),
        AppConfirmation::PinSingleIdentity
    );
}

#[test]
fn channel_binding_by_date_and_mismatch_is_refused() {
    let p = AppPolicy::default();
    assert_eq!(
        ChannelBindingKind::required(LoginPlatform::Computer, day(2023, 6, 5), &p),
        ChannelBindingKind::FourDigitCode
    );
    assert_eq!(
        ChannelBindingKind::required(LoginPlatform::Computer, day(2023, 6, 6), &p),
        ChannelBindingKind::QrCode
    );
    assert_eq!(
        ChannelBindingKind::required(LoginPlatform::SamePhone, day(2023, 6, 6), &p),
        ChannelBindingKind::AppSwitch
    );
    let mut w = activated(4);
    let tx = login(&mut w, LoginPlatform::Computer);
    let ChannelBinding::FourDigitCode { code } = tx.channel_binding else {
        panic!("{tx:?}")
    };
    assert_eq!(tx.channel_binding.display_text().len(), 4);
    let phished = ChannelBinding::FourDigitCode {
        code: (code + 1) % 10_000,
    };
    assert_eq!(
        w.app
            .approve(&tx, &phished, Authorisation::Swipe, w.now, &w.policy),
        Err(AppError::ChannelMismatch)
    );
}

#[test]
fn wrong_pins_suspend_then_block_then_reactivation_restores() {
    let mut w = activated(5);
    let p = w.policy;
    let tx = login(&mut w, LoginPlatform::SamePhone);
    let b = tx.channel_binding;
    let wrong = Authorisation::Pin("111222");
    assert_eq!(
        w.app.approve(&tx, &b, wrong, w.now, &p),
        Err(AppError::WrongPin { failures: 1 })
    );
    assert_eq!(
        w.app.approve(&tx, &b, wrong, w.now, &p),
        Err(AppError::WrongPin { failures: 2 })
    );
    let until = w.now + p.pin_lockout.lock_duration;
    assert_eq!(
        w.app.approve(&tx, &b, wrong, w.now, &p),
        Err(AppError::SuspendedNow { until })
    );
    assert_eq!(
        w.app.status(USER, w.now, &p),
        AppStatus::Suspended { until }
    );
    // Suspended: even a swipe is refused.
    assert_eq!(
        w.app.approve(&tx, &b, Authorisation::Swipe, w.now, &p),
        Err(AppError::Suspended { until })
    );
    let later = until + Span::from_secs(1);
    assert_eq!(w.app.status(USER, later, &p), AppStatus::Active);
    assert_eq!(
        w.app.approve(&tx, &b, wrong, later, &p),
        Err(AppError::WrongPin { failures: 4 })
    );
    assert_eq!(
        w.app.approve(&tx, &b, wrong, later, &p),
        Err(AppError::WrongPin { failures: 5 })
    );
    assert_eq!(
        w.app.approve(&tx, &b, wrong, later, &p),
        Err(AppError::BlockedNow)
    );
    let much_later = later + Span::from_days(30);
    assert_eq!(w.app.status(USER, much_later, &p), AppStatus::Blocked);
    assert_eq!(
        w.app
            .approve(&tx, &b, Authorisation::Pin(PIN), much_later, &p),
        Err(AppError::Blocked)
    );
    // Support sends a temporary PIN; reactivation gives a new key, the old registration is void.
    let mut g = ActivationGrant::temporary_pin_from_support(USER, None, much_later, &p, &mut w.rng)
        .unwrap();
    let code = g.reveal_code().to_owned();
    let proof = g.redeem(&code, much_later, &p).unwrap();
    let reg = w
        .app
        .activate(&proof, "559031", much_later, &p, &mut w.rng)
        .unwrap();
    assert_ne!(reg.public_key, w.reg.public_key);
    assert_eq!(w.app.status(USER, much_later, &p), AppStatus::Active);
    let a = w
        .app
        .approve(&tx, &b, Authorisation::Pin("559031"), much_later, &p)
        .unwrap();
    reg.verify(&tx, &a).unwrap();
    assert!(
        w.reg.verify(&tx, &a).is_err(),
        "the pre-block registration must not verify new approvals"
    );
}

#[test]
fn right_pin_resets_the_count() {
    let mut w = activated(6);
    let p = w.policy;
    let tx = login(&mut w, LoginPlatform::SamePhone);
    let b = tx.channel_binding;
    for _ in 0..2 {
        let _ = w
            .app
            .approve(&tx, &b, Authorisation::Pin("000001"), w.now, &p);
    }
    w.app
        .approve(&tx, &b, Authorisation::Pin(PIN), w.now, &p)
        .unwrap();
    assert_eq!(
        w.app
            .approve(&tx, &b, Authorisation::Pin("000001"), w.now, &p),
        Err(AppError::WrongPin { failures: 1 })
    );
}

#[test]
fn pin_rules_and_change() {
    assert!(validate_app_pin("482915").is_ok());
    for bad in ["12345", "1234567", "12a456", "111111", "123456", "987654"] {
        assert!(validate_app_pin(bad).is_err(), "{bad} accepted");
    }
    let mut w = activated(7);
    let p = w.policy;
    assert!(matches!(
        w.app.change_pin(USER, PIN, "123456", w.now, &p, &mut w.rng),
        Err(AppError::PinRule(_))
    ));
    w.app
        .change_pin(USER, PIN, "604718", w.now, &p, &mut w.rng)
        .unwrap();
    let tx = login(&mut w, LoginPlatform::SamePhone);
    let b = tx.channel_binding;
    assert!(
        w.app
            .approve(&tx, &b, Authorisation::Pin(PIN), w.now, &p)
            .is_err()
    );
    w.app
        .approve(&tx, &b, Authorisation::Pin("604718"), w.now, &p)
        .unwrap();
}

#[test]
fn temporary_pin_grant_expiry_void_and_single_use() {
    let p = AppPolicy::default();
    let now = day(2022, 5, 2);
    let mut r = rng(8);
    let mut g = ActivationGrant::temporary_pin(USER, now, &p, &mut r);
    let code = g.reveal_code().to_owned();
    assert_eq!(code.len(), 8);
    let late = now + p.temporary_pin_validity;
    assert!(matches!(
        g.redeem(&code, late, &p),
        Err(GrantError::Expired { .. })
    ));
    assert!(g.redeem(&code, now, &p).is_ok());
    assert_eq!(
        g.redeem(&code, now, &p).unwrap_err(),
        GrantError::AlreadyRedeemed
    );

    let mut g = ActivationGrant::temporary_pin(USER, now, &p, &mut r);
    let code = g.reveal_code().to_owned();
    assert_eq!(
        g.redeem("00000000", now, &p).unwrap_err(),
        GrantError::WrongCode { failures: 1 }
    );
    assert_eq!(
        g.redeem("00000001", now, &p).unwrap_err(),
        GrantError::WrongCode { failures: 2 }
    );
    assert_eq!(g.redeem("00000002", now, &p).unwrap_err(), GrantError::Void);
    assert_eq!(
        g.redeem(&code, now, &p).unwrap_err(),
        GrantError::Void,
        "void after {} attempts",
        p.grant_attempts
    );
}

#[test]
fn support_refuses_temporary_pin_after_recent_phone_change() {
    let p = AppPolicy::default();
    let now = day(2022, 5, 10);
    let changed = now - Span::from_days(2);
    let err =
        ActivationGrant::temporary_pin_from_support(USER, Some(changed), now, &p, &mut rng(9))
            .unwrap_err();
    assert_eq!(
        err,
        GrantError::PhoneRecentlyChanged {
            until: changed + Span::from_days(5)
        }
    );
    assert!(
        ActivationGrant::temporary_pin_from_support(
            USER,
            Some(changed),
            changed + Span::from_days(5),
            &p,
            &mut rng(9)
        )
        .is_ok()
    );
}

#[test]
fn second_device_by_activation_code_and_by_qr_bluetooth() {
    let mut w = activated(10);
    let p = w.policy;
    let other = DeviceProfile::Android {
        os_major: 13,
        nfc: true,
    };
    // Activation code from MitID.dk.
    let mut tablet = MitidApp::install(other, w.now, &EligibilityPolicy::default()).unwrap();
    let mut g = ActivationGrant::activation_code(USER, w.now, &p, &mut w.rng);
    let code = g.reveal_code().to_lowercase();
    let proof = g.redeem(&code, w.now, &p).unwrap();
    assert_eq!(proof.route(), ActivationRoute::ActivationCode);
    tablet
        .activate(&proof, "271828", w.now, &p, &mut w.rng)
        .unwrap();
    // QR + Bluetooth from the active phone.
    let mut second = MitidApp::install(other, w.now, &EligibilityPolicy::default()).unwrap();
    assert!(
        w.app
            .offer_second_device(USER, "000000", w.now, &p, &mut w.rng)
            .is_err(),
        "needs the PIN"
    );
    let mut offer = w
        .app
        .offer_second_device(USER, PIN, w.now, &p, &mut w.rng)
        .unwrap();
    let qr = offer.reveal_code().to_owned();
    assert_eq!(
        offer.redeem(&qr, w.now, &p).unwrap_err(),
        GrantError::WrongRoute(ActivationRoute::QrBluetooth)
    );
    assert_eq!(
        offer.redeem_nearby(&qr, false, w.now, &p).unwrap_err(),
        GrantError::NotNearby
    );
    let proof = offer.redeem_nearby(&qr, true, w.now, &p).unwrap();
    let reg = second
        .activate(&proof, "314159", w.now, &p, &mut w.rng)
        .unwrap();
    assert_eq!(reg.route, ActivationRoute::QrBluetooth);
    let tx = login(&mut w, LoginPlatform::SamePhone);
    let a = second
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Pin("314159"),
            w.now,
            &p,
        )
        .unwrap();
    reg.verify(&tx, &a).unwrap();
}

fn passport() -> Passport {
    Passport {
        mrz: MrzReading::of("L898902C3", "740812", "120415"),
        chip_authentic: true,
        chip_readable: true,
    }
}

#[test]
fn mrz_check_digits_match_icao_example() {
    // ICAO 9303 part 3 example: L898902C3 check digit 6, 740812 -> 2, 120415 -> 9.
    let m = MrzReading::of("L898902C3", "740812", "120415");
    assert_eq!(
        (
            m.document_number_check,
            m.date_of_birth_check,
            m.expiry_check
        ),
        (6, 2, 9)
    );
    assert!(m.check_digits_ok());
}

#[test]
fn passport_proof_reactivates_the_app() {
    let p = AppPolicy::default();
    let e = EligibilityPolicy::default();
    let now = day(2023, 1, 9);
    let pp = passport();
    let ok =
        passport_reactivation(USER, &PHONE, &pp.mrz, &pp, "L898902C3", 950, now, (&p, &e)).unwrap();
    // The proof reactivates the app with a new key and PIN.
    let mut app = MitidApp::install(PHONE, now, &e).unwrap();
    let reg = app.activate(&ok, "550918", now, &p, &mut rng(12)).unwrap();
    assert_eq!(
        (reg.route, app.status(USER, now, &p)),
        (ActivationRoute::Passport, AppStatus::Active)
    );
}

#[test]
fn passport_reactivation_route() {
    let p = AppPolicy::default();
    let e = EligibilityPolicy::default();
    let now = day(2023, 1, 9);
    let pp = passport();
    let ok =
        passport_reactivation(USER, &PHONE, &pp.mrz, &pp, "L898902C3", 950, now, (&p, &e)).unwrap();
    assert_eq!(ok.route(), ActivationRoute::Passport);
    let old_phone = DeviceProfile::Ios {
        model: IphoneModel::Iphone6s,
        os_major: 15,
    };
    assert_eq!(
        passport_reactivation(
            USER,
            &old_phone,
            &pp.mrz,
            &pp,
            "L898902C3",
            950,
            now,
            (&p, &e)
        )
        .unwrap_err(),
        PassportError::Device(Ineligible::NoNfc)
    );
    let mut misread = pp.mrz.clone();
    misread.document_number = "L898902C8".into();
    assert_eq!(
        passport_reactivation(USER, &PHONE, &misread, &pp, "L898902C3", 950, now, (&p, &e))
            .unwrap_err(),
        PassportError::MrzMisread
    );
    let other_doc = MrzReading::of("AB1234567", "740812", "120415");
    assert_eq!(
        passport_reactivation(
            USER,
            &PHONE,
            &other_doc,
            &pp,
            "L898902C3",
            950,
            now,
            (&p, &e)
        )
        .unwrap_err(),
        PassportError::AccessDenied
    );
    let forged = Passport {
        chip_authentic: false,
        ..pp.clone()
    };
    assert_eq!(
        passport_reactivation(
            USER,
            &PHONE,
            &pp.mrz,
            &forged,
            "L898902C3",
            950,
            now,
            (&p, &e)
        )
        .unwrap_err(),
        PassportError::ChipNotAuthentic
    );
    let broken = Passport {
        chip_readable: false,
        ..pp.clone()
    };
    assert_eq!(
        passport_reactivation(
            USER,
            &PHONE,
            &pp.mrz,
            &broken,
            "L898902C3",
            950,
            now,
            (&p, &e)
        )
        .unwrap_err(),
        PassportError::ChipUnreadable
    );
    assert_eq!(
        passport_reactivation(USER, &PHONE, &pp.mrz, &pp, "X0000000", 950, now, (&p, &e))
            .unwrap_err(),
        PassportError::NotRegisteredDocument
    );
    assert!(matches!(
        passport_reactivation(USER, &PHONE, &pp.mrz, &pp, "L898902C3", 899, now, (&p, &e)),
        Err(PassportError::FaceMismatch {
            score_permille: 899,
            required_permille: 900
        })
    ));
}

#[test]
fn too_many_identities_on_one_device() {
    let p = AppPolicy {
        max_identities_per_device: 2,
        ..AppPolicy::default()
    };
    let now = day(2022, 5, 2);
    let mut r = rng(11);
    let mut app = MitidApp::install(PHONE, now, &EligibilityPolicy::default()).unwrap();
    for (i, user) in ["a", "b", "c"].iter().enumerate() {
        let mut g = ActivationGrant::temporary_pin(user, now, &p, &mut r);
        let code = g.reveal_code().to_owned();
        let proof = g.redeem(&code, now, &p).unwrap();
        let res = app.activate(&proof, "482915", now, &p, &mut r);
        assert_eq!(res.is_ok(), i < 2, "identity {i}: {res:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_tampered_approval_never_verifies(seed in any::<u64>(), byte in 0usize..64, bit in 0u8..8, field in 0u8..5) {
        let mut w = activated(seed);
        let tx = login(&mut w, LoginPlatform::Computer);
        let approval = w.app.approve(&tx, &tx.channel_binding, Authorisation::Swipe, w.now, &w.policy).unwrap();
        let mut tx2 = tx.clone();
        let mut a2 = approval;
        match field {
            0 => a2.signature.0[byte] ^= 1 << bit,
            1 => tx2.challenge[byte % 32] ^= 1 << bit,
            2 => tx2.reference_text.push('!'),
            3 => tx2.action_text = "Godkend betaling".into(),
            _ => a2.confirmation = AppConfirmation::PinSingleIdentity,
        }
        let r = w.reg.verify(&tx2, &a2);
        prop_assert!(r.is_err(), "seed {} field {} byte {} bit {}: tampered approval verified", seed, field, byte, bit);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn app_suspends_and_blocks_exactly_at_the_configured_counts(seed in any::<u64>(), suspend_at in 1u32..6, extra in 1u32..3) {
        let block_at = suspend_at * extra + 1;
        let mut w = activated(seed);
        w.policy.pin_lockout = mitid_devices::LockoutPolicy {
            attempts_before_lock: suspend_at,
            lock_duration: Span::from_mins(10),
            attempts_before_block: Some(block_at),
        };
        let p = w.policy;
        let tx = login(&mut w, LoginPlatform::SamePhone);
        let b = tx.channel_binding;
        let mut now = w.now;
        for n in 1..=block_at {
            let r = w.app.approve(&tx, &b, Authorisation::Pin("000001"), now, &p);
            let expected = if n == block_at {
                Err(AppError::BlockedNow)
            } else if n % suspend_at == 0 {
                Err(AppError::SuspendedNow { until: now + Span::from_mins(10) })
            } else {
                Err(AppError::WrongPin { failures: n })
            };
            prop_assert_eq!(r, expected, "seed {} wrong PIN {} (suspend every {}, block at {})", seed, n, suspend_at, block_at);
            if n % suspend_at == 0 {
                now = now + Span::from_mins(10);
            }
        }
        prop_assert_eq!(w.app.status(USER, now + Span::from_days(365), &p), AppStatus::Blocked);
    }
}
