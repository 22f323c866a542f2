//! Journeys: the citizen journeys of `features/flows/`, listed, and one of them run alone on a
//! fresh embedded stack and recorded, for a trainer to step through (the dashboard's Flows view).
//!
//! Nothing here knows a journey: the scenario runs through the same [`runner`](crate::runner)
//! and steps as `mitid-lab run` runs it, and the recording is its [`ScenarioResult`] (outcome
//! and evidence, secrets redacted, in the order the requests began) with the addresses of the
//! parties that answered, so a reader can say who spoke to whom.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mitid_components::runtime::RuntimeKind;
use url::Url;

use super::catalogue::Catalogue;
use super::outcome::ScenarioResult;
use super::runner::{self, Features, SuiteInputError};
use super::setup;
use super::suite::{self, SuiteError};

/// One scenario of a flows feature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journey {
    /// The feature's name (what the file is about).
    pub feature: String,
    pub name: String,
    pub path: PathBuf,
    /// The scenario's line in `path` (what picks it out for a run).
    pub line: usize,
    /// Its steps as written, keyword first (`Given a citizen "Anna" with ...`).
    pub steps: Vec<String>,
}

/// The journeys under `root` (a file or a folder of `.feature` files), in file order.
pub fn journeys(root: &Path) -> Result<Vec<Journey>, SuiteInputError> {
    let features = Features::load(&[root.to_owned()], &Catalogue::embedded(), None)?;
    let mut out = Vec::new();
    for feature in &features.parsed {
        let in_rules = feature.rules.iter().flat_map(|r| r.scenarios.iter());
        for scenario in feature.scenarios.iter().chain(in_rules) {
            out.push(Journey {
                feature: feature.name.clone(),
                name: scenario.name.clone(),
                path: feature.path.clone().unwrap_or_else(|| root.to_owned()),
                line: scenario.position.line,
                steps: scenario
                    .steps
                    .iter()
                    .map(|step| format!("{} {}", step.keyword.trim(), step.value))
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Who took part in a recorded journey, by the address the lab reached them at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    ServiceProvider,
    /// The broker's public listener (login pages, OIDC endpoints, NemID, MitID.dk).
    Broker,
    /// The broker's control and identity admin listener (the lab's own set-up calls).
    BrokerAdmin,
    Cpr,
    CitizenService,
    Support,
    Sms,
}

/// A journey as it ran: its result (outcome, evidence in order) and where each party listened.
#[derive(Debug, Clone)]
pub struct Recording {
    pub journey: Journey,
    pub result: ScenarioResult,
    pub parties: Vec<(Party, Url)>,
}

impl Recording {
    /// The party listening at `url`'s origin, if one of this run's did.
    #[must_use]
    pub fn party_at(&self, url: &str) -> Option<Party> {
        let url = Url::parse(url).ok()?;
        self.parties
            .iter()
            .find(|(_, base)| crate::browser::same_origin(base, &url))
            .map(|(party, _)| *party)
    }
}

/// Runs `journey` alone against a fresh embedded reference stack (correct service provider, every
/// component), records it, and stops the stack.
pub fn record(journey: &Journey) -> Result<Recording, SuiteError> {
    let mut features = Features::load(
        std::slice::from_ref(&journey.path),
        &Catalogue::embedded(),
        None,
    )
    .map_err(|err| SuiteError::Journey(err.to_string()))?;
    for feature in &mut features.parsed {
        feature
            .scenarios
            .retain(|s| s.position.line == journey.line);
        for rule in &mut feature.rules {
            rule.scenarios.retain(|s| s.position.line == journey.line);
        }
    }
    let runtime = suite::tokio_runtime()?;
    let run_tag = format!("journey-{}", suite::run_tag());
    let reference = setup::reference(&[], RuntimeKind::Embedded, &run_tag, &runtime)?;
    let lab = Arc::clone(&reference.lab);
    let results = runtime.block_on(runner::run(Arc::clone(&lab), &features, 1, None))?;
    drop(reference);
    let result = results.into_iter().next().ok_or_else(|| {
        SuiteError::Journey(format!(
            "{}:{}: no scenario starts on that line",
            journey.path.display(),
            journey.line
        ))
    })?;
    let mut parties = vec![
        (Party::ServiceProvider, lab.sp.base_url.clone()),
        (Party::Broker, lab.endpoints.issuer.clone()),
        (Party::BrokerAdmin, lab.endpoints.control.clone()),
    ];
    for (party, url) in [
        (Party::Cpr, &lab.endpoints.cpr),
        (Party::CitizenService, &lab.endpoints.citizen_service),
        (Party::Support, &lab.endpoints.support),
        (Party::Sms, &lab.endpoints.sms),
    ] {
        if let Some(url) = url {
            parties.push((party, url.clone()));
        }
    }
    Ok(Recording {
        journey: journey.clone(),
        result,
        parties,
    })
}

/// The flows folder of this checkout.
#[must_use]
pub fn flows_root() -> PathBuf {
    suite::project_path(suite::FLOW_FEATURES)
}
