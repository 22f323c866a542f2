//! Every device state round-trips through serde, and no secret shows in `Debug`.

use mitid_devices::app::{Authorisation, MrzReading, Passport};
use mitid_devices::{
    ActivationGrant, AppPolicy, AssertionRequest, AudioCodeReader, ChannelBinding,
    ChannelBindingKind, Chip, ChipPolicy, ChipTransport, ClientOs, CodeDisplay, CodeTokenKind,
    CodeTokenPolicy, DevicePolicies, DeviceProfile, EligibilityPolicy, IphoneModel, KeyCard,
    KeyCardPolicy, KeyCardRecord, Language, MitidApp, NemidAccount, NemidKeyApp,
    NemidPasswordPolicy, PCode, SecretHash, Span, TemporaryPasswordPolicy, Transaction,
};

use crate::{day, rng, round_trip};

fn assert_hidden(debug: &str, secret: &str, what: &str) {
    assert!(!secret.is_empty());
    assert!(
        !debug.contains(secret),
        "{what}: Debug output leaks the secret {secret:?}:\n{debug}"
    );
}

#[test]
fn app_states_round_trip_and_hide_secrets() {
    let p = AppPolicy::default();
    let now = day(2022, 5, 2);
    let mut r = rng(1);
    let phone = DeviceProfile::Ios {
        model: IphoneModel::Iphone13,
        os_major: 17,
    };
    let mut app = MitidApp::install(phone, now, &EligibilityPolicy::default()).unwrap();
    let mut grant = ActivationGrant::temporary_pin("u1", now, &p, &mut r);
    round_trip(&grant);
    let code = grant.reveal_code().to_owned();
    assert_hidden(&format!("{grant:?}"), &code, "ActivationGrant");
    let proof = grant.redeem(&code, now, &p).unwrap();
    let reg = app.activate(&proof, "482915", now, &p, &mut r).unwrap();
    round_trip(&reg);
    let json = round_trip(&app);
    assert_hidden(&format!("{app:?}"), "482915", "MitidApp");
    assert!(
        !format!("{app:?}").contains(&json[json.find("\"key\":\"").unwrap() + 7..][..64]),
        "MitidApp Debug leaks the private key"
    );
    // A restored app still signs approvals the registration verifies.
    let mut restored: MitidApp = serde_json::from_str(&json).unwrap();
    let binding = ChannelBinding::generate(ChannelBindingKind::QrCode, &mut r);
    let tx = Transaction::new("u1", "Log på borger.dk", "Log på", binding, &mut r);
    round_trip(&tx);
    let a = restored
        .approve(&tx, &binding, Authorisation::Pin("482915"), now, &p)
        .unwrap();
    round_trip(&a);
    reg.verify(&tx, &a).unwrap();
    assert_hidden(
        &format!("{:?}", Authorisation::Pin("482915")),
        "482915",
        "Authorisation",
    );
    round_trip(&Passport {
        mrz: MrzReading::of("L898902C3", "740812", "120415"),
        chip_authentic: true,
        chip_readable: true,
    });
}

#[test]
fn code_tokens_round_trip_and_hide_secrets() {
    let policy = CodeTokenPolicy::default();
    let now = day(2022, 5, 2);
    let (display, mut record) = CodeDisplay::manufacture(
        "CD-9",
        CodeTokenKind::CodeDisplay,
        now,
        &policy,
        &mut rng(2),
    );
    let code = display.press(now, &policy).unwrap().code;
    record.verify(code, now, &policy).unwrap();
    let djson = round_trip(&display);
    let rjson = round_trip(&record);
    let secret_hex = &djson[djson.find("\"secret\":\"").unwrap() + 10..][..40];
    assert!(
        rjson.contains(secret_hex),
        "record and device share the secret"
    );
    assert_hidden(&format!("{display:?}"), secret_hex, "CodeDisplay");
    assert_hidden(&format!("{record:?}"), secret_hex, "CodeTokenRecord");
    let (reader, _) =
        AudioCodeReader::manufacture("AR-9", Language::English, now, &policy, &mut rng(3));
    round_trip(&reader);
}

#[test]
fn chip_round_trips_and_hides_its_key() {
    let mut r = rng(4);
    let mut chip = Chip::manufacture("CH-9", &mut r);
    let mut cred = chip.registration("rp", day(2022, 1, 1));
    cred.complete_activation(day(2022, 1, 2), &ChipPolicy::default())
        .unwrap();
    let req = AssertionRequest::new("rp", "https://rp", &mut r);
    let a = chip
        .assert(&req, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    round_trip(&req);
    round_trip(&a);
    let json = round_trip(&chip);
    let key_hex = &json[json.find("\"key\":\"").unwrap() + 7..][..64];
    assert_hidden(&format!("{chip:?}"), key_hex, "Chip");
    let restored: Chip = serde_json::from_str(&json).unwrap();
    let mut restored = restored;
    let req2 = AssertionRequest::new("rp", "https://rp", &mut r);
    let b = restored
        .assert(&req2, ChipTransport::Usb, ClientOs::Desktop, true)
        .unwrap();
    cred.verify(&req, &a, &ChipPolicy::default()).unwrap();
    cred.verify(&req2, &b, &ChipPolicy::default()).unwrap();
    round_trip(&cred);
}

#[test]
fn nemid_states_round_trip_and_hide_secrets() {
    let kp = KeyCardPolicy::default();
    let mut r = rng(5);
    let card = KeyCard::issue("KC-9", &kp, &mut r);
    round_trip(&card);
    let pair = card.pairs()[0];
    let code = format!("{:06}", pair.code);
    assert_hidden(&format!("{card:?}"), &code, "KeyCard");
    assert_hidden(&format!("{pair:?}"), &code, "KeyPair");
    let mut rec = KeyCardRecord::new(card.clone());
    let key = rec.challenge(day(2021, 1, 1), &kp, &mut r).unwrap();
    rec.verify(key, card.code_for(key).unwrap(), day(2021, 1, 1), &kp)
        .unwrap();
    round_trip(&rec);
    let mut acct = NemidAccount::new(
        "u",
        "hemmelig",
        None,
        card,
        &NemidPasswordPolicy::default(),
        &mut r,
    )
    .unwrap();
    round_trip(&acct);
    assert_hidden(&format!("{acct:?}"), "hemmelig", "NemidAccount");
    acct.order_temporary_password(day(2023, 3, 6), &TemporaryPasswordPolicy::default(), &mut r)
        .unwrap();
    round_trip(&acct);
    let letter = acct
        .temporary_password
        .as_ref()
        .unwrap()
        .reveal_code()
        .to_owned();
    assert_hidden(&format!("{acct:?}"), &letter, "TemporaryPasswordOrder");
    let (app, mut app_rec) = NemidKeyApp::activate("ph", &mut r);
    app_rec.challenge(&mut r);
    round_trip(&app);
    round_trip(&app_rec);
    assert!(format!("{app:?}").contains("redacted"));
}

#[test]
fn p_code_and_secret_hash() {
    let mut r = rng(6);
    let c = PCode::issue(day(2023, 1, 1), &mut r);
    round_trip(&c);
    assert_hidden(&format!("{c:?}"), c.reveal_code(), "PCode");
    let h = SecretHash::new("kodeord", &mut r);
    round_trip(&h);
    assert!(h.matches("kodeord") && !h.matches("kodeord!"));
    assert_hidden(&format!("{h:?}"), "kodeord", "SecretHash");
}

#[test]
fn policies_round_trip_and_take_partial_overrides() {
    let all = DevicePolicies::default();
    round_trip(&all);
    let over: DevicePolicies = serde_json::from_str(
        r#"{"app": {"pin_lockout": {"attempts_before_lock": 5, "lock_duration": "2h", "attempts_before_block": 10}},
            "code_token": {"drift_window_steps": 2}, "p_code": {"validity": "30d"}}"#,
    )
    .unwrap();
    assert_eq!(over.app.pin_lockout.attempts_before_lock, 5);
    assert_eq!(over.app.pin_lockout.lock_duration, Span::from_hours(2));
    assert_eq!(
        over.app.temporary_pin_validity,
        AppPolicy::default().temporary_pin_validity
    );
    assert_eq!(over.code_token.drift_window_steps, 2);
    assert_eq!(over.p_code.validity, Span::from_days(30));
    assert_eq!(over.chip, ChipPolicy::default());
    let err = serde_json::from_str::<DevicePolicies>(r#"{"pcode": {}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pcode"),
        "unknown section named in error: {err}"
    );
    let qr: AppPolicy =
        serde_json::from_str(r#"{"qr_channel_binding_from": "2023-07-01"}"#).unwrap();
    assert_eq!(qr.qr_channel_binding_from, day(2023, 7, 1));
}

#[test]
fn unworkable_policy_values_are_named_by_field() {
    assert_eq!(DevicePolicies::default().validate(), Ok(()));
    let cases = [
        (
            r#"{"code_token": {"totp": {"digits": 5}}}"#,
            "code_token.totp.digits",
        ),
        (
            r#"{"code_token": {"totp": {"step": "0s"}}}"#,
            "code_token.totp.step",
        ),
        (
            r#"{"key_card": {"pairs_per_card": 10, "reorder_when_remaining": 20}}"#,
            "key_card.reorder_when_remaining",
        ),
        (
            r#"{"temporary_password": {"min_working_days": 5, "max_working_days": 4}}"#,
            "temporary_password.min_working_days",
        ),
        (r#"{"p_code": {"attempts": 0}}"#, "p_code.attempts"),
        (
            r#"{"app": {"pin_lockout": {"attempts_before_lock": 0, "lock_duration": "1h"}}}"#,
            "app.pin_lockout",
        ),
    ];
    for (json, field) in cases {
        let policies: DevicePolicies = serde_json::from_str(json).unwrap();
        let err = policies.validate().unwrap_err();
        assert_eq!(err.field, field, "{json}: {err}");
    }
}
