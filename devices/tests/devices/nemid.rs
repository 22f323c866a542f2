//! NemID: key card (each pair once, reorder at 20, lock), key app, password rules, temporary
//! password by post blocking NemID until used.

use mitid_devices::nemid::{KeyAppError, NemidPasswordError};
use mitid_devices::{
    KeyCard, KeyCardError, KeyCardPolicy, KeyCardRecord, NemidAccount, NemidError, NemidKeyApp,
    NemidPasswordPolicy, NemidStatus, Span, TemporaryPasswordPolicy, Timestamp,
    validate_nemid_password,
};
use proptest::prelude::*;

use crate::{day, rng};

const CPR: &str = "030489-1234";

fn card(seed: u64, policy: &KeyCardPolicy) -> KeyCard {
    KeyCard::issue("KC-0001", policy, &mut rng(seed))
}

#[test]
fn card_has_distinct_key_numbers_and_six_digit_codes() {
    let p = KeyCardPolicy::default();
    let c = card(1, &p);
    assert_eq!(c.len(), 148);
    let mut keys: Vec<u16> = c.pairs().iter().map(|k| k.key_number).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 148, "key numbers repeat");
    assert!(
        c.pairs()
            .iter()
            .all(|k| k.key_number < 10_000 && k.code < 1_000_000)
    );
}

#[test]
fn challenge_answer_uses_the_pair_and_reorder_at_20() {
    let p = KeyCardPolicy {
        pairs_per_card: 25,
        ..KeyCardPolicy::default()
    };
    let c = card(2, &p);
    let mut rec = KeyCardRecord::new(c.clone());
    let mut r = rng(3);
    let now = day(2021, 6, 1);
    for used in 1..=25u16 {
        let key = rec.challenge(now, &p, &mut r).unwrap();
        let code = c.code_for(key).unwrap();
        let ok = rec
            .verify(key, code, now, &p)
            .unwrap_or_else(|e| panic!("pair {used} key {key:04}: {e}"));
        assert_eq!(ok.remaining, 25 - used);
        assert_eq!(
            ok.reorder_due,
            25 - used <= 20,
            "remaining {}",
            ok.remaining
        );
    }
    assert_eq!(
        rec.challenge(now, &p, &mut r),
        Err(KeyCardError::Exhausted("KC-0001".into()))
    );
    rec.replace_card(card(4, &p));
    assert_eq!(rec.remaining(), 25);
}

#[test]
fn answering_the_wrong_key_or_without_challenge() {
    let p = KeyCardPolicy::default();
    let c = card(5, &p);
    let mut rec = KeyCardRecord::new(c.clone());
    let now = day(2021, 6, 1);
    let k0 = c.pairs()[0].key_number;
    assert_eq!(
        rec.verify(k0, c.pairs()[0].code, now, &p),
        Err(KeyCardError::NoChallenge)
    );
    let key = rec.challenge(now, &p, &mut rng(6)).unwrap();
    let other = c.pairs().iter().find(|k| k.key_number != key).unwrap();
    assert_eq!(
        rec.verify(other.key_number, other.code, now, &p),
        Err(KeyCardError::WrongKey {
            pending: key,
            answered: other.key_number
        })
    );
}

#[test]
fn five_wrong_codes_lock_until_a_new_card() {
    let p = KeyCardPolicy::default();
    let c = card(7, &p);
    let mut rec = KeyCardRecord::new(c.clone());
    let now = day(2021, 6, 1);
    let key = rec.challenge(now, &p, &mut rng(8)).unwrap();
    let wrong = (c.code_for(key).unwrap() + 1) % 1_000_000;
    for n in 1..5 {
        assert_eq!(
            rec.verify(key, wrong, now, &p),
            Err(KeyCardError::WrongCode { failures: n })
        );
    }
    assert_eq!(rec.verify(key, wrong, now, &p), Err(KeyCardError::Locked));
    assert_eq!(
        rec.verify(key, c.code_for(key).unwrap(), now + Span::from_days(30), &p),
        Err(KeyCardError::Locked)
    );
    assert_eq!(
        rec.challenge(now, &p, &mut rng(8)),
        Err(KeyCardError::Locked)
    );
    rec.replace_card(card(9, &p));
    assert!(rec.challenge(now, &p, &mut rng(8)).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn a_used_key_card_pair_never_verifies_twice(seed in any::<u64>()) {
        let p = KeyCardPolicy::default();
        let c = card(seed, &p);
        let mut rec = KeyCardRecord::new(c.clone());
        let mut r = rng(seed ^ 1);
        let now = day(2021, 6, 1);
        let key = rec.challenge(now, &p, &mut r).unwrap();
        let code = c.code_for(key).unwrap();
        prop_assert!(rec.verify(key, code, now, &p).is_ok());
        prop_assert_eq!(rec.verify(key, code, now, &p), Err(KeyCardError::NoChallenge), "seed {} key {:04}", seed, key);
        // Later challenges never ask for the used pair again.
        for _ in 0..(p.pairs_per_card - 1) {
            let k = rec.challenge(now, &p, &mut r).unwrap();
            prop_assert_ne!(k, key, "seed {}: used key {:04} asked again", seed, key);
            let code = c.code_for(k).unwrap();
            rec.verify(k, code, now, &p).unwrap();
        }
        prop_assert_eq!(rec.remaining(), 0);
    }

    #[test]
    fn a_wrong_key_card_code_never_verifies(seed in any::<u64>(), delta in 1u32..1_000_000) {
        let p = KeyCardPolicy::default();
        let c = card(seed, &p);
        let mut rec = KeyCardRecord::new(c.clone());
        let now = day(2021, 6, 1);
        let key = rec.challenge(now, &p, &mut rng(seed)).unwrap();
        let wrong = (c.code_for(key).unwrap() + delta) % 1_000_000;
        prop_assert!(rec.verify(key, wrong, now, &p).is_err(), "seed {} key {:04} code {:06}", seed, key, wrong);
    }
}

#[test]
fn key_app_approves_each_request_once() {
    let mut r = rng(10);
    let (app, mut rec) = NemidKeyApp::activate("phone-1", &mut r);
    assert_eq!(rec.verify(&[0; 32]), Err(KeyAppError::NoChallenge));
    let ch = rec.challenge(&mut r);
    let mut forged = app.approve(&ch);
    forged[0] ^= 1;
    assert_eq!(rec.verify(&forged), Err(KeyAppError::Invalid));
    let ok = app.approve(&ch);
    rec.verify(&ok).unwrap();
    assert_eq!(
        rec.verify(&ok),
        Err(KeyAppError::NoChallenge),
        "replayed approval"
    );
    let (other, _) = NemidKeyApp::activate("phone-2", &mut r);
    let ch = rec.challenge(&mut r);
    assert_eq!(rec.verify(&other.approve(&ch)), Err(KeyAppError::Invalid));
}

#[test]
fn password_rules() {
    let p = NemidPasswordPolicy::default();
    let v = |pw: &str| validate_nemid_password(pw, Some(CPR), &p);
    assert_eq!(v("7391"), Ok(()));
    for trivial in ["1111", "1234", "4321", "1212"] {
        assert_eq!(v(trivial), Err(NemidPasswordError::Trivial), "{trivial}");
    }
    // Four consecutive digits of 030489-1234 (0304, 0489, 4891, ...).
    for from_cpr in ["0304", "0489", "8912"] {
        assert_eq!(v(from_cpr), Err(NemidPasswordError::FromCpr), "{from_cpr}");
    }
    assert_eq!(v("0304"), Err(NemidPasswordError::FromCpr));
    assert!(matches!(v("12345"), Err(NemidPasswordError::Length { .. })));
    assert!(matches!(v("abc"), Err(NemidPasswordError::Length { .. })));
    assert_eq!(v("hemmelig"), Ok(()));
    assert_eq!(v(&"x".repeat(40)), Ok(()));
    assert!(matches!(
        v(&"x".repeat(41)),
        Err(NemidPasswordError::Length { .. })
    ));
    assert_eq!(v("pw0304891234"), Err(NemidPasswordError::FromCpr));
    assert_eq!(
        validate_nemid_password("0304", None, &p),
        Ok(()),
        "without a CPR number only triviality counts"
    );
}

#[test]
fn temporary_password_blocks_nemid_until_used() {
    let kp = KeyCardPolicy::default();
    let pp = NemidPasswordPolicy::default();
    let tp = TemporaryPasswordPolicy::default();
    let mut r = rng(11);
    let mut acct =
        NemidAccount::new("anders", "hemmelig", Some(CPR), card(12, &kp), &pp, &mut r).unwrap();
    let monday = day(2023, 3, 6) + Span::from_hours(10);
    assert_eq!(acct.status(monday, &kp), NemidStatus::Active);
    acct.check_password("hemmelig", monday, &kp).unwrap();
    assert_eq!(
        acct.check_password("forkert", monday, &kp),
        Err(NemidError::WrongPassword)
    );

    let arrives = acct.order_temporary_password(monday, &tp, &mut r).unwrap();
    assert!(
        arrives == mitid_devices::CivilDate::new(2023, 3, 9)
            || arrives == mitid_devices::CivilDate::new(2023, 3, 10),
        "{arrives}"
    );
    assert_eq!(
        acct.status(monday, &kp),
        NemidStatus::AwaitingTemporaryPassword {
            delivered_on: arrives
        }
    );
    assert_eq!(
        acct.check_password("hemmelig", monday, &kp),
        Err(NemidError::AwaitingTemporaryPassword(arrives))
    );
    let letter = acct
        .temporary_password
        .as_ref()
        .unwrap()
        .reveal_code()
        .to_owned();
    let before: Timestamp = arrives.midnight().minus(Span(1));
    assert_eq!(
        acct.redeem_temporary_password(&letter, "nyhemmelig", Some(CPR), before, &pp, &mut r),
        Err(NemidError::NotDelivered(arrives))
    );
    let after = arrives.midnight() + Span::from_hours(12);
    assert_eq!(
        acct.redeem_temporary_password("WRONG123", "nyhemmelig", Some(CPR), after, &pp, &mut r),
        Err(NemidError::WrongTemporaryPassword)
    );
    assert!(matches!(
        acct.redeem_temporary_password(&letter, "1234", Some(CPR), after, &pp, &mut r),
        Err(NemidError::PasswordRule(_))
    ));
    acct.redeem_temporary_password(&letter, "nyhemmelig", Some(CPR), after, &pp, &mut r)
        .unwrap();
    assert_eq!(acct.status(after, &kp), NemidStatus::Active);
    acct.check_password("nyhemmelig", after, &kp).unwrap();
    assert_eq!(
        acct.redeem_temporary_password(&letter, "andet123", Some(CPR), after, &pp, &mut r),
        Err(NemidError::NoTemporaryPassword)
    );
    acct.close();
    assert_eq!(acct.status(after, &kp), NemidStatus::Closed);
    assert_eq!(
        acct.check_password("nyhemmelig", after, &kp),
        Err(NemidError::Closed)
    );
}

#[test]
fn locked_key_card_locks_the_account() {
    let kp = KeyCardPolicy::default();
    let pp = NemidPasswordPolicy::default();
    let mut r = rng(13);
    let c = card(14, &kp);
    let mut acct = NemidAccount::new("bo", "hemmelig", None, c.clone(), &pp, &mut r).unwrap();
    let now = day(2022, 1, 3);
    let key = acct.key_card.challenge(now, &kp, &mut r).unwrap();
    let wrong = (c.code_for(key).unwrap() + 3) % 1_000_000;
    for _ in 0..5 {
        let _ = acct.key_card.verify(key, wrong, now, &kp);
    }
    assert_eq!(acct.status(now, &kp), NemidStatus::Locked);
    assert_eq!(
        acct.check_password("hemmelig", now, &kp),
        Err(NemidError::Locked)
    );
}
