//! Levels of assurance: a P-code `MitID` (IAL Low) is refused where Substantial is required,
//! through the devices crate's `loa(ial, aal)`.

use mitid_devices::assurance::Loa;

use crate::policy_support::{DEMO_YAML, run, scenario};

#[test]
fn p_code_identities_are_refused_where_substantial_is_required_and_accepted_where_low_suffices() {
    let mut s = scenario(DEMO_YAML, 20_000);
    s.population.segments.no_cpr = 0.05;
    let strict = run(&s, 8);
    assert!(
        strict.totals.citizen_service_p_code > 0 && strict.totals.mitid_refused_by_loa > 0,
        "with 5 % without CPR, P-code MitIDs should exist and be refused: {:?}",
        strict.totals
    );
    for need in &mut s.behaviour.login_needs {
        need.required_loa = Loa::Low;
    }
    let lenient = run(&s, 8);
    assert_eq!(
        lenient.totals.mitid_refused_by_loa, 0,
        "nothing may be refused when Low suffices: {:?}",
        lenient.totals
    );
    assert!(
        lenient.totals.failed_logins < strict.totals.failed_logins,
        "refusals must add failed logins: lenient {} vs strict {}",
        lenient.totals.failed_logins,
        strict.totals.failed_logins
    );
}
