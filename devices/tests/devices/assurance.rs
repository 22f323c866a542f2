//! AAL, amr and `LoA`: the table of authenticator combinations and the min(IAL, AAL) property.

use mitid_devices::{Aal, Amr, AppConfirmation, AuthenticatorKind, Factor, Ial, Loa, assess, loa};
use proptest::prelude::*;

fn ial() -> impl Strategy<Value = Ial> {
    prop::sample::select(Ial::ALL.to_vec())
}
fn aal() -> impl Strategy<Value = Aal> {
    prop::sample::select(Aal::ALL.to_vec())
}

proptest! {
    #[test]
    fn loa_never_exceeds_the_weaker_of_ial_and_aal(i in ial(), a in aal()) {
        let l = loa(i, a);
        prop_assert!(l.rank() <= i.rank() && l.rank() <= a.rank(), "loa({i}, {a}) = {l}");
        prop_assert!(l.rank() == i.rank() || l.rank() == a.rank(), "loa({i}, {a}) = {l} is neither input");
    }

    #[test]
    fn adding_a_factor_never_lowers_aal(
        factors in prop::collection::vec(factor(), 0..4),
        extra in factor(),
    ) {
        let before = assess(&factors).aal;
        let mut more = factors.clone();
        more.push(extra);
        let after = assess(&more).aal;
        prop_assert!(after >= before, "{factors:?} gave {before}, adding {extra:?} gave {after}");
    }
}

fn factor() -> impl Strategy<Value = Factor> {
    prop::sample::select(vec![
        Factor::Password,
        Factor::MitidApp(AppConfirmation::Swipe),
        Factor::MitidApp(AppConfirmation::Pin),
        Factor::MitidApp(AppConfirmation::PinSingleIdentity),
        Factor::MitidApp(AppConfirmation::Biometric),
        Factor::CodeDisplay,
        Factor::AudioCodeReader,
        Factor::Chip,
        Factor::NemidKeyCard,
        Factor::NemidKeyApp,
    ])
}

#[test]
fn table_of_combinations() {
    use AppConfirmation as C;
    let cases: &[(&[Factor], Aal, &[Amr])] = &[
        (&[Factor::Password], Aal::Low, &[Amr::Password]),
        (
            &[Factor::MitidApp(C::Swipe)],
            Aal::Substantial,
            &[Amr::CodeApp],
        ),
        (
            &[Factor::MitidApp(C::Biometric)],
            Aal::Substantial,
            &[Amr::CodeAppEnhanced],
        ),
        (
            &[Factor::MitidApp(C::Pin)],
            Aal::Substantial,
            &[Amr::CodeAppEnhanced],
        ),
        (
            &[Factor::MitidApp(C::PinSingleIdentity)],
            Aal::High,
            &[Amr::CodeAppEnhanced],
        ),
        (
            &[Factor::Password, Factor::CodeDisplay],
            Aal::Substantial,
            &[Amr::Password, Amr::CodeToken],
        ),
        (&[Factor::CodeDisplay], Aal::Low, &[Amr::CodeToken]),
        (
            &[Factor::Password, Factor::AudioCodeReader],
            Aal::Substantial,
            &[Amr::Password, Amr::CodeReader],
        ),
        (
            &[Factor::Password, Factor::Chip],
            Aal::High,
            &[Amr::Password, Amr::U2fToken],
        ),
        (&[Factor::Chip], Aal::Low, &[Amr::U2fToken]),
        (
            &[Factor::Password, Factor::NemidKeyCard],
            Aal::Substantial,
            &[Amr::Password, Amr::CodeToken],
        ),
        (
            &[Factor::Password, Factor::NemidKeyApp],
            Aal::Substantial,
            &[Amr::Password, Amr::CodeApp],
        ),
        (&[], Aal::Low, &[]),
    ];
    for (factors, want_aal, want_amr) in cases {
        let got = assess(factors);
        let amr: Vec<Amr> = got.amr.iter().collect();
        assert_eq!(
            (got.aal, amr.as_slice()),
            (*want_aal, *want_amr),
            "assess({factors:?})"
        );
    }
}

#[test]
fn standard_logins_per_authenticator() {
    for kind in AuthenticatorKind::ALL {
        let a = kind.standard_login();
        let want = match kind {
            AuthenticatorKind::Chip => Aal::High,
            _ => Aal::Substantial,
        };
        assert_eq!(a.aal, want, "{kind}: {a:?}");
        assert_eq!(
            a.amr.contains(Amr::Password),
            kind.needs_password(),
            "{kind}: {a:?}"
        );
    }
}

#[test]
fn nsis_uris_and_amr_names() {
    assert_eq!(
        Loa::High.uri(),
        "https://data.gov.dk/concept/core/nsis/High"
    );
    assert_eq!(
        Ial::Substantial.uri(),
        "https://data.gov.dk/concept/core/nsis/Substantial"
    );
    assert_eq!(Aal::Low.uri(), "https://data.gov.dk/concept/core/nsis/Low");
    assert_eq!(
        "https://data.gov.dk/concept/core/nsis/High"
            .parse::<Aal>()
            .unwrap(),
        Aal::High
    );
    let names: Vec<&str> = Amr::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "password",
            "code_token",
            "code_reader",
            "code_app",
            "code_app_enhanced",
            "u2f_token"
        ]
    );
    for a in Amr::ALL {
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        assert_eq!(a.as_str().parse::<Amr>().unwrap(), a);
    }
    assert!("sms".parse::<Amr>().is_err());
    assert!(Loa::High.satisfies(Loa::Substantial) && !Loa::Low.satisfies(Loa::Substantial));
}
