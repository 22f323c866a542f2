//! # OIOSAML certification: a public service behind NemLog-in
//!
//! The same suite machinery as OIDC (features → [`crate::runner`] → [`crate::outcome`] →
//! [`crate::report`]), with the SAML catalogue (`fixtures/requirements/saml.yaml`), the features
//! of [`SAML_FEATURES`] and a [`crate::world::Lab`] whose [`crate::world::SamlSide`] is the
//! lab's NemLog-in. The steps are [`crate::steps::nemlogin`]'s, the driver
//! [`crate::actions::nemlogin`]'s.
//!
//! - [`target`]: the OIOSAML `target.yaml` and the service's metadata, with errors naming file,
//!   line and field.
//! - [`setup`]: the broker, NemLog-in and (for the reference run) the reference SAML service
//!   provider, started in this process; the pre-flight of an integrator's service.
//! - Here: whole runs — certify the reference (with flaws) or an integrator's service, and the
//!   self-check that every SAML flaw fails its own requirement.

pub mod setup;
pub mod target;

use std::path::Path;

use mitid_components::reference_saml_sp::{SamlFlaw, SamlFlawCatalogue};
use mitid_components::runtime::{RuntimeKind, interrupt};

use crate::catalogue::Catalogue;
use crate::outcome::SuiteReport;
use crate::runner::Features;
use crate::suite::{self, SelfCheck, SelfCheckRow, SuiteError};

/// The OIOSAML conformance features, relative to the project root.
pub const SAML_FEATURES: &str = "features/conformance/saml";

/// Certifies the reference SAML service provider (with `flaws`) on a fresh lab of its own, its
/// broker and NemLog-in embedded or in containers (`kind`).
pub fn certify_reference(
    flaws: &[SamlFlaw],
    kind: RuntimeKind,
    features: &Features,
    catalogue: &Catalogue,
    run_id: &str,
    cucumber_dir: Option<&Path>,
) -> Result<SuiteReport, SuiteError> {
    interrupt::check()?;
    let runtime = suite::tokio_runtime()?;
    // The containers start (and block) before the runtime runs the suite.
    let stack = match kind {
        RuntimeKind::Embedded => None,
        RuntimeKind::Containers => Some(setup::containers()?),
    };
    runtime.block_on(async {
        let lab = setup::reference(flaws, stack, run_id).await?;
        let report =
            suite::run_against(lab.lab.clone(), features, catalogue, run_id, cucumber_dir).await;
        lab.shutdown().await;
        report
    })
}

/// Runs the SAML suite against the reference service provider and each of `flaws`, `jobs`
/// labs at once: the reference must pass every MUST, each flaw must fail its own requirement.
pub fn selfcheck(
    flaws: &[SamlFlaw],
    kind: RuntimeKind,
    features: &Features,
    catalogue: &Catalogue,
    run_id: &str,
    jobs: usize,
    progress: impl FnMut(&SelfCheckRow),
) -> Result<SelfCheck, SuiteError> {
    let names: Vec<String> = flaws.iter().map(ToString::to_string).collect();
    suite::selfcheck_with(
        &names,
        jobs,
        |flaw| {
            let flaws: Vec<SamlFlaw> = flaw.iter().filter_map(|f| f.parse().ok()).collect();
            certify_reference(&flaws, kind, features, catalogue, run_id, None)
        },
        |name| {
            name.parse::<SamlFlaw>()
                .ok()
                .map(|flaw| flaw.requirement().to_owned())
        },
        progress,
    )
}

/// Every named flaw of the reference SAML service provider, in the catalogue's order.
#[must_use]
pub fn known_flaws() -> Vec<String> {
    SamlFlawCatalogue::embedded()
        .names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_saml_requirement_is_proven_by_a_scenario() {
        let catalogue = Catalogue::embedded_saml();
        let features = Features::load(&[suite::project_path(SAML_FEATURES)], &catalogue, None)
            .expect("the SAML features parse and name only SAML requirements");
        let tagged: std::collections::BTreeSet<String> = features
            .parsed
            .iter()
            .flat_map(|f| {
                f.tags
                    .iter()
                    .chain(f.scenarios.iter().flat_map(|s| s.tags.iter()))
            })
            .filter_map(|t| t.strip_prefix("req:").map(str::to_owned))
            .collect();
        let unproven: Vec<&str> = catalogue
            .requirements
            .iter()
            .filter(|r| !tagged.contains(&r.id))
            .map(|r| r.id.as_str())
            .collect();
        assert!(unproven.is_empty(), "no scenario proves {unproven:?}");
    }
}
