//! The conformance suite as a test (`harness = false`: cucumber drives the scenarios).
//!
//! 1. The catalogue and the features agree: every scenario proves a catalogued requirement and
//!    every requirement has a scenario; at least 40 scenarios.
//! 2. The whole suite against the embedded reference service provider: every requirement PASSES.
//! 3. The self-check: the suite against each named flaw of the reference provider; every flaw
//!    fails the requirement the flaw catalogue (`fixtures/requirements/sp-flaws.yaml`) names for
//!    it — the suite is proven to catch each mistake it claims to, by the requirement written
//!    for it, not collaterally.
//! 4. Every flaw's requirement is a MUST of the requirement catalogue.
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

    tally.check(
        "every_flaw_names_a_must_requirement",
        every_flaw_names_a_must(&catalogue),
    );
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
    let flaws: Vec<String> = mitid_components::reference_sp::FlawCatalogue::embedded()
        .names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let started = Instant::now();
    match suite::selfcheck(
        &flaws,
        RuntimeKind::Embedded,
        sp_features,
        catalogue,
        run_id,
        suite::selfcheck_jobs(RuntimeKind::Embedded),
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
                let result = if row.ok() {
                    Ok(())
                } else if row.flaw.is_some() {
                    Err(format!(
                        "flaw {:?}: {} (MUST failed: {:?}; warnings: {:?})",
                        row.flaw,
                        row.verdict(),
                        row.failed_musts,
                        row.warnings
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

fn every_flaw_names_a_must(catalogue: &Catalogue) -> Result<(), String> {
    let problems: Vec<String> = mitid_components::reference_sp::FlawCatalogue::embedded()
        .entries
        .iter()
        .filter_map(|entry| match catalogue.get(&entry.requirement) {
            Some(r) if r.level == conformance::catalogue::Level::Must => None,
            Some(_) => Some(format!(
                "flaw {} names {}, which is not a MUST",
                entry.name, entry.requirement
            )),
            None => Some(format!(
                "flaw {} names {}, which the requirement catalogue does not have",
                entry.name, entry.requirement
            )),
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
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
