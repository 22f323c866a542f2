//! The conformance suite as a test (`harness = false`: cucumber drives the scenarios).
//!
//! 1. The catalogue and the features agree: every scenario proves a catalogued requirement and
//!    every requirement has a scenario; at least 40 scenarios.
//! 2. The whole suite against the embedded reference service provider: every requirement PASSES.
//! 3. The self-check: the suite against each named flaw of the reference provider; every flaw
//!    fails at least one MUST, and among them the requirement that names its mistake
//!    ([`NAMED_BY`]) — the suite is proven to catch each mistake it claims to.
//!
//! The test calls the same `mitid-conformance` API as `mitid-lab certify`, so it runs exactly
//! what integrators run. Failures print the scenario, its message and every HTTP
//! exchange of it (secrets redacted).

use mitid_conformance as conformance;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use conformance::catalogue::Catalogue;
use conformance::outcome::{RawOutcome, SuiteReport, Verdict};
use conformance::runner::Features;
use conformance::suite::{self, FLOW_FEATURES, SP_FEATURES};
use mitid_components::runtime::RuntimeKind;

/// The requirement that names each flaw's mistake. The self-check must list it among those that
/// caught the flaw: a flaw caught only as a side effect of other scenarios (a never-refreshed
/// JWKS failing every later login) would leave that requirement's own scenario unproven. A flaw
/// missing here only has to fail some MUST.
const NAMED_BY: [(&str, &str); 19] = [
    ("skip-signature-check", "SP-TOKEN-SIG-01"),
    ("accept-alg-none", "SP-TOKEN-SIG-02"),
    ("accept-hs256-public-key", "SP-TOKEN-SIG-03"),
    ("skip-iss-check", "SP-TOKEN-ISS-01"),
    ("skip-aud-check", "SP-TOKEN-AUD-01"),
    ("skip-azp-check", "SP-TOKEN-AZP-01"),
    ("skip-exp-check", "SP-TOKEN-EXP-01"),
    ("skip-iat-check", "SP-TOKEN-IAT-01"),
    ("skip-nonce-check", "SP-TOKEN-NONCE-01"),
    ("skip-state-check", "SP-STATE-01"),
    ("no-pkce", "SP-PKCE-01"),
    ("accept-lower-loa", "SP-LOA-01"),
    ("accounts-keyed-on-cpr", "SP-ACCOUNT-01"),
    ("never-refresh-jwks", "SP-JWKS-ROTATE-01"),
    ("accept-replayed-callback", "SP-CODE-03"),
    ("ignore-idp-errors", "SP-ERR-IDP-01"),
    ("skip-userinfo-sub-check", "SP-USERINFO-01"),
    ("ignore-backchannel-logout", "SP-LOGOUT-BC-01"),
    ("accept-nemid-after-cutoff", "SP-NEMID-01"),
];

struct Tally {
    passed: usize,
    failed: Vec<String>,
}

impl Tally {
    fn check(&mut self, name: &str, result: Result<(), String>) {
        match result {
            Ok(()) => {
                println!("test {name} ... ok");
                self.passed += 1;
            }
            Err(message) => {
                println!("test {name} ... FAILED\n{message}\n");
                self.failed.push(name.to_owned());
            }
        }
    }
}

fn main() -> ExitCode {
    let mut tally = Tally {
        passed: 0,
        failed: Vec::new(),
    };
    let catalogue = Catalogue::embedded();
    let roots = [suite::project_path(SP_FEATURES)];
    let sp_features = match Features::load(&roots, &catalogue, None) {
        Ok(f) => f,
        Err(err) => {
            println!("test features_load ... FAILED\n{err}");
            println!("0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    tally.check(
        "catalogue_and_features_agree",
        catalogue_and_features_agree(&catalogue, &sp_features),
    );

    let all_roots = [
        suite::project_path(SP_FEATURES),
        suite::project_path(FLOW_FEATURES),
    ];
    let all_features =
        Features::load(&all_roots, &catalogue, None).expect("the SP features loaded above");
    let started = Instant::now();
    let run_id = format!("test-{}", suite::run_tag());
    let reference = suite::certify_reference(
        &[],
        RuntimeKind::Embedded,
        &all_features,
        &catalogue,
        &run_id,
        None,
    );
    let elapsed = started.elapsed();
    match reference {
        Ok(report) => {
            println!(
                "the whole suite ({} scenarios) against the embedded reference service provider took {:.1} s",
                report.scenarios.len(),
                elapsed.as_secs_f64()
            );
            tally.check(
                "reference_passes_every_requirement",
                reference_passes(&report),
            );
        }
        Err(err) => tally.check(
            "reference_passes_every_requirement",
            Err(format!("the lab did not start: {err}")),
        ),
    }

    selfcheck_catches_every_flaw(&mut tally, &catalogue, &sp_features, &run_id);

    println!("\n{} passed, {} failed", tally.passed, tally.failed.len());
    if tally.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The self-check: every flaw fails a MUST, and the one that names its mistake ([`NAMED_BY`]).
fn selfcheck_catches_every_flaw(
    tally: &mut Tally,
    catalogue: &Catalogue,
    sp_features: &Features,
    run_id: &str,
) {
    let flaws: Vec<String> = mitid_components::reference_sp::Flaw::ALL
        .iter()
        .map(|f| f.name().to_owned())
        .collect();
    let started = Instant::now();
    match suite::selfcheck(
        &flaws,
        RuntimeKind::Embedded,
        sp_features,
        catalogue,
        run_id,
        |_| {},
    ) {
        Ok(check) => {
            println!("{}", check.table());
            println!(
                "self-check over {} flaws took {:.1} s",
                flaws.len(),
                started.elapsed().as_secs_f64()
            );
            for row in &check.rows {
                let name = format!("selfcheck_{}", row.flaw.as_deref().unwrap_or("reference"));
                let named = row.flaw.as_deref().and_then(|flaw| {
                    NAMED_BY
                        .iter()
                        .find(|(f, _)| *f == flaw)
                        .map(|(_, requirement)| *requirement)
                });
                let result = if let Some(requirement) =
                    named.filter(|r| !row.failed_musts.iter().any(|failed| failed == r))
                {
                    Err(format!(
                        "flaw {:?} is not caught by {requirement}, the requirement that names its mistake (caught only by {:?})",
                        row.flaw, row.failed_musts
                    ))
                } else if row.ok() {
                    Ok(())
                } else if row.flaw.is_some() {
                    Err(format!(
                        "flaw {:?} failed no MUST requirement: the suite does not catch it (warnings: {:?})",
                        row.flaw, row.warnings
                    ))
                } else {
                    Err(format!(
                        "the reference failed MUST requirements {:?}",
                        row.failed_musts
                    ))
                };
                tally.check(&name, result);
            }
        }
        Err(err) => tally.check("selfcheck", Err(format!("the lab did not start: {err}"))),
    }
}

fn catalogue_and_features_agree(catalogue: &Catalogue, features: &Features) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut proven = BTreeSet::new();
    let mut scenarios = 0;
    for feature in &features.parsed {
        for scenario in &feature.scenarios {
            scenarios += 1;
            let ids: Vec<&str> = feature
                .tags
                .iter()
                .chain(&scenario.tags)
                .filter_map(|t| t.strip_prefix("req:"))
                .collect();
            if ids.is_empty() {
                problems.push(format!(
                    "{:?}:{} {:?} proves no requirement",
                    feature.path, scenario.position.line, scenario.name
                ));
            }
            proven.extend(ids.into_iter().map(str::to_owned));
        }
    }
    for requirement in &catalogue.requirements {
        if !proven.contains(&requirement.id) {
            problems.push(format!("{} has no scenario", requirement.id));
        }
    }
    if scenarios < 40 {
        problems.push(format!(
            "only {scenarios} scenarios; the suite needs at least 40"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn reference_passes(report: &SuiteReport) -> Result<(), String> {
    let mut text = String::new();
    for scenario in &report.scenarios {
        if scenario.verdict == Verdict::Passed {
            continue;
        }
        let message = match &scenario.outcome {
            RawOutcome::Failed(m) | RawOutcome::Skipped(m) => m.clone(),
            RawOutcome::Passed => String::new(),
        };
        let _ = writeln!(
            text,
            "{} {} ({}) [{}]\n  {}",
            scenario.verdict.as_str(),
            scenario.name,
            scenario.location,
            scenario.requirements.join(" "),
            message.replace('\n', "\n  ")
        );
        for exchange in &scenario.evidence {
            let _ = writeln!(text, "    {:?} {}", exchange.actor, exchange.line());
        }
    }
    let not_passed: Vec<&str> = report
        .requirements
        .iter()
        .filter(|r| r.verdict != Verdict::Passed)
        .map(|r| r.id.as_str())
        .collect();
    if text.is_empty() && not_passed.is_empty() {
        Ok(())
    } else {
        Err(format!("requirements not PASSED: {not_passed:?}\n{text}"))
    }
}
