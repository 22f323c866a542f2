//! The sampled citizens' actions as real flows: each is the conformance action the Gherkin
//! steps of `features/flows/` call for the same journey, on the citizen's own World.

use std::sync::Arc;
use std::time::Instant;

use mitid_components::idp::admin::Ial;
use mitid_components::idp::script::Behaviour;
use mitid_components::runtime::Component;
use mitid_conformance::actions::broker::{self, BrokerLogin};
use mitid_conformance::actions::identity::{self, Backing, NEMID_ISSUED_ON};
use mitid_conformance::actions::mitid_dk::{self, NemidPage};
use mitid_conformance::actions::{ActionError, app, citizen_service, support};
use mitid_conformance::browser::Browser;
use mitid_conformance::world::LabWorld;
use mitid_sim::kernel::SimTime;
use mitid_sim::policy::incidents::served_by;
use mitid_sim::policy::population::{Citizen, MitidKind, traits};
use mitid_sim::policy::{
    Action, ActionRequest, Credential, Failure, MigrationRoute, Outcome, RecoveryRoute, Sector,
    Visit,
};

use super::{Driver, LabCitizen, failure_of};

/// The name of an action's journey in `live.json`, and the component that serves it.
pub(super) fn journey_of(action: Action) -> (&'static str, Component) {
    match action {
        Action::SectorLogin {
            credential: Credential::Nemid,
            ..
        } => ("sector_login_nemid", Component::Idp),
        Action::SectorLogin { .. } => ("sector_login_mitid", Component::Idp),
        Action::NemidMigrationLogin => ("nemid_migration_login", Component::Idp),
        Action::Enrolment { .. } => ("enrolment", Component::Idp),
        Action::CitizenServiceAppointment { .. } => {
            ("citizen_service_appointment", Component::CitizenService)
        }
        Action::SupportCall { .. } => ("support_call", Component::Support),
        Action::Recovery { .. } => ("recovery", Component::Idp),
    }
}

/// The journey name of a routine login in `live.json`, by what the citizen logs in with.
pub(super) fn routine_journey(credential: Credential) -> &'static str {
    match credential {
        Credential::Nemid => "routine_login_nemid",
        Credential::Mitid(_) => "routine_login_mitid",
    }
}

/// The journey name of a login at the integrator's service (`--target`), and its component.
pub(super) fn target_journey(credential: Credential) -> &'static str {
    match credential {
        Credential::Nemid => "target_login_nemid",
        Credential::Mitid(_) => "target_login_mitid",
    }
}

/// The component name of the integrator's service in `live.json`.
pub(super) const TARGET: &str = "target";

impl Driver {
    /// Performs `request` for real and answers what the components did.
    pub(super) async fn perform(&mut self, request: &ActionRequest) -> Outcome {
        let (journey, component) = self.journey(request.action);
        self.tally.sampled_actions += 1;
        self.sync_incidents(request.at).await;
        let started = Instant::now();
        let outcome = match self.drive(request).await {
            Ok(outcome) => outcome,
            Err(err) => {
                self.tally.error(journey, &err);
                Outcome::Failed(failure_of(&err))
            }
        };
        self.count_incident_failure(request.action, outcome, request.at);
        self.tally.record(
            journey,
            component,
            outcome,
            Some(request.expected),
            started.elapsed(),
            request.at,
        );
        outcome
    }

    /// The journey and component of `action` in this run: a login at the sector of
    /// `--target` goes to the integrator's service.
    pub(super) fn journey(&self, action: Action) -> (&'static str, &'static str) {
        if let Action::SectorLogin { sector, credential } = action
            && self.target.as_ref().is_some_and(|t| t.serves(sector))
        {
            return (target_journey(credential), TARGET);
        }
        let (journey, component) = journey_of(action);
        (journey, component.name())
    }

    /// A login of citizen `c` at the integrator's service, timed and counted.
    pub(super) async fn target_login(
        &mut self,
        c: u32,
        record: &Citizen,
        credential: Credential,
        at: SimTime,
    ) -> Result<Outcome, ActionError> {
        let shown = self.instant(at).to_string();
        let target = self
            .target
            .as_mut()
            .ok_or_else(|| ActionError::Unavailable("no --target service in this run".into()))?;
        target.login(c, record, credential, (at, &shown)).await
    }

    /// A failed flow in an incident's window that the incident touches counts against it.
    pub(super) fn count_incident_failure(&mut self, action: Action, outcome: Outcome, at: SimTime) {
        if let Some(injector) = self.injector.as_mut()
            && !outcome.succeeded()
        {
            injector.failed(served_by(action), at);
        }
    }

    /// When `c` is a victim of a CPR lock-out attack under way, the attacker's login requests
    /// with their identity, up to the broker's attempt limit, so their own flow meets the
    /// lock-out. The attacker's requests are not the citizen's: their outcome is not counted.
    pub(super) async fn attack_if_victim(&mut self, c: u32, record: &Citizen) {
        if !self
            .injector
            .as_ref()
            .is_some_and(|injector| injector.under_attack(c, record))
        {
            return;
        }
        let Some(user_id) = self.citizens.get(&c).map(|lab_citizen| {
            lab_citizen
                .world
                .citizen_named(&lab_citizen.alias)
                .user_id
                .clone()
        }) else {
            return;
        };
        let Ok(client) = self.client(Sector::Bank).await else {
            return;
        };
        let attempts = mitid_components::idp::RateLimit::default().max_attempts;
        for _ in 0..attempts {
            let _ = broker::login_at_client(&mut self.control, &user_id, &client, Behaviour::Abort)
                .await;
        }
        // The attacker's World keeps its evidence; a long attack would make it grow for nothing.
        self.control.browser.exchanges.clear();
    }

    // One arm per journey the model can ask for: the dispatch reads best as one match.
    #[allow(clippy::too_many_lines)]
    async fn drive(&mut self, request: &ActionRequest) -> Result<Outcome, ActionError> {
        self.set_clock(request.at).await?;
        let c = request.citizen;
        self.ensure_citizen(c, &request.record).await?;
        if request.action.is_login() {
            self.attack_if_victim(c, &request.record).await;
        }
        match request.action {
            Action::SectorLogin { sector, credential }
                if self.target.as_ref().is_some_and(|t| t.serves(sector)) =>
            {
                self.target_login(c, &request.record, credential, request.at)
                    .await
            }
            Action::SectorLogin { sector, credential } => {
                let (journey, _) = journey_of(request.action);
                self.sector_login(journey, c, &request.record, sector, credential)
                    .await
            }
            Action::NemidMigrationLogin => {
                // The steps "gets MitID with NemID on MitID.dk" (password and key card code)
                // and "activates the app with the code", in one sitting: the code is valid
                // for hours, the model's enrolment takes days, and a citizen types the code
                // MitID.dk shows into the app there and then.
                let lab_citizen = self.lab_citizen(c)?;
                let reply = mitid_dk::with_key_card(
                    &mut lab_citizen.world,
                    NemidPage::GetMitid,
                    &lab_citizen.alias,
                )
                .await?;
                let got = reply.expect(201, "MitID.dk", "MitID with NemID")?;
                let code = got["activation_code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                activate_app(lab_citizen, &code).await?;
                Ok(Outcome::Succeeded)
            }
            Action::Enrolment {
                route: MigrationRoute::ViaNemid,
                ..
            } => {
                // The app was activated at the NemID login on MitID.dk; what is left is the
                // step "has a MitID at identity assurance Substantial", asked of the broker.
                let lab_citizen = self.lab_citizen(c)?;
                let identity =
                    identity::identity_of(&mut lab_citizen.world, &lab_citizen.alias).await?;
                Ok(if identity["ial"] == "substantial" {
                    Outcome::Succeeded
                } else {
                    Outcome::Failed(Failure::Refused)
                })
            }
            Action::Enrolment { .. } => {
                // The app is activated with the code the route hands out (a letter, the bank,
                // a witness's session), which the broker's admin API issues as those desks do.
                let lab_citizen = self.lab_citizen(c)?;
                let code =
                    identity::new_app_activation_code(&mut lab_citizen.world, &lab_citizen.alias)
                        .await?;
                activate_app(lab_citizen, &code).await?;
                Ok(Outcome::Succeeded)
            }
            Action::CitizenServiceAppointment {
                visit: Visit::Enrolment(_),
            } if request.record.has(traits::NO_CPR) => {
                // No CPR number: the steps of "Getting MitID with a P code" (a foreign
                // passport, the P code handed at the counter, redeemed for MitID, the app
                // activated), the counter's CPR questions having nothing to ask.
                let lab_citizen = self.lab_citizen(c)?;
                let (world, alias) = (&mut lab_citizen.world, lab_citizen.alias.as_str());
                let n = world.lab().unique();
                world.notes.push((
                    citizen_service::foreign_passport_note(alias),
                    format!("ZX{n:07}"),
                ));
                citizen_service::hand_p_code(world, alias).await?;
                let code = citizen_service::p_code_of(world, alias)?;
                let redeemed = citizen_service::redeem_p_code(world, alias, &code)
                    .await?
                    .expect(201, "Citizen Service", "the P code redeemed for MitID")?;
                identity::adopt_identity(world, alias, &redeemed);
                let code = identity::new_app_activation_code(world, alias).await?;
                activate_app(lab_citizen, &code).await?;
                Ok(Outcome::Succeeded)
            }
            Action::CitizenServiceAppointment { visit } => {
                // The counter's steps: passport, the CPR register's questions, then for an
                // enrolment MitID issued with the app, taken and activated.
                let lab_citizen = self.lab_citizen(c)?;
                let (world, alias) = (&mut lab_citizen.world, lab_citizen.alias.as_str());
                citizen_service::show_passport(world, alias).await?;
                citizen_service::answer_questions(world, alias, true)
                    .await?
                    .expect(200, "Citizen Service", "the CPR questions")?;
                if let Visit::Enrolment(_) = visit {
                    let issued = citizen_service::issue(world, alias, false).await?.expect(
                        201,
                        "Citizen Service",
                        "MitID issued at the counter",
                    )?;
                    citizen_service::take_issued(world, alias, &issued).await?;
                    let code = world
                        .note(&format!("activation_code:{alias}"))
                        .unwrap_or_default()
                        .to_owned();
                    activate_app(lab_citizen, &code).await?;
                    return Ok(Outcome::Succeeded);
                }
                // A new authenticator for a broken one: the lab's counter proves the identity;
                // what it hands out is the model's rule (its outcome as expected).
                Ok(request.expected)
            }
            Action::SupportCall { .. } => {
                // The steps "calls support and answers the questions": the line identifies
                // the caller with the CPR register's questions. Whether the agent then solves
                // the problem is the model's rule (a changed phone number, a lost phone), so
                // an identified caller's call turns out as the model expected.
                let lab_citizen = self.lab_citizen(c)?;
                support::call(&mut lab_citizen.world, &lab_citizen.alias, true)
                    .await?
                    .expect(200, "the support line", "the caller's answers")?;
                Ok(request.expected)
            }
            Action::Recovery { route, .. } => {
                let lab_citizen = self.lab_citizen(c)?;
                let (world, alias) = (&mut lab_citizen.world, lab_citizen.alias.as_str());
                match route {
                    // "scans her passport and face with the MitID app on her phone".
                    RecoveryRoute::Passport => {
                        app::enrol_with_passport(world, alias, "phone").await?;
                    }
                    // "logs in on MitID.dk with NemID to find her user ID".
                    RecoveryRoute::Nemid => {
                        mitid_dk::with_key_card(world, NemidPage::ForgotUserId, alias)
                            .await?
                            .expect(200, "MitID.dk", "the user ID with NemID")?;
                    }
                    // "orders an activation code on MitID.dk" (after a login with the second
                    // authenticator, which the lab's sampled citizens are not given) and
                    // "activates the app with the activation code from MitID.dk".
                    RecoveryRoute::BackupDevice => {
                        let code = identity::new_app_activation_code(world, alias).await?;
                        activate_app(lab_citizen, &code).await?;
                    }
                }
                Ok(Outcome::Succeeded)
            }
        }
    }

    /// The steps' "can log in with NemID/MitID at the bank": a login straight at the broker's
    /// client for `sector`, which judges NemID by the sector's cut-off on the lab clock.
    async fn sector_login(
        &mut self,
        journey: &'static str,
        c: u32,
        record: &Citizen,
        sector: Sector,
        credential: Credential,
    ) -> Result<Outcome, ActionError> {
        let client = self.client(sector).await?;
        let lab_citizen = self.lab_citizen(c)?;
        let user_id = lab_citizen
            .world
            .citizen_named(&lab_citizen.alias)
            .user_id
            .clone();
        let answer = broker::login_at_client(
            &mut lab_citizen.world,
            &user_id,
            &client,
            behaviour_of(record, credential),
        )
        .await?;
        let (outcome, refusal) = judged(answer);
        if let Some((error, description)) = refusal {
            self.tally.refusal(journey, &error, &description);
        }
        Ok(outcome)
    }

    /// The broker's client for `sector` (registered on first use, as the steps' "a bank and a
    /// public site are clients of the broker").
    pub(super) async fn client(
        &mut self,
        sector: Sector,
    ) -> Result<serde_json::Value, ActionError> {
        if let Some(client) = self.clients.get(&sector) {
            return Ok(client.clone());
        }
        let client = broker::register_client(&mut self.control, sector.calendar_key()).await?;
        self.clients.insert(sector, client.clone());
        Ok(client)
    }

    /// The lab's identity of citizen `c`, made on their first action from their record then:
    /// a MitID holder gets the app ("a citizen with the MitID app"), a NemID holder their key
    /// card and key app ("a citizen who has only NemID"), as the steps make them.
    pub(super) async fn ensure_citizen(
        &mut self,
        c: u32,
        record: &Citizen,
    ) -> Result<(), ActionError> {
        if self.citizens.contains_key(&c) {
            return Ok(());
        }
        let alias = format!("c{c}");
        let mut world = LabWorld::for_lab(Arc::clone(&self.lab));
        if record.has(traits::ABROAD) && self.injector.is_some() {
            // Abroad, the citizen's traffic comes from an address of its own, which a DDoS
            // protection that blocks foreign traffic recognises (see `incidents`).
            world.browser = Browser::leaving_from(super::gate::ABROAD);
        }
        let nemid = record.has(traits::NEMID_HOLDER) && !record.has(traits::NO_CPR);
        // A person with a passport and a phone, so support and the counter can identify them.
        let backing = if record.has(traits::NO_CPR) {
            Backing::PCode
        } else {
            Backing::Registered
        };
        let (device, ial) = if MitidKind::from_u8(record.mitid) == MitidKind::None {
            // Identity assurance Low until MitID is obtained (the step's registry entry).
            (
                if nemid {
                    "a NemID key card"
                } else {
                    "no authenticator"
                },
                Ial::Low,
            )
        } else {
            (identity::APP, Ial::Substantial)
        };
        identity::create_citizen(&mut world, &alias, device, ial, backing, nemid).await?;
        if nemid {
            identity::issue_nemid(&mut world, &alias, NEMID_ISSUED_ON).await?;
        }
        self.citizens.insert(c, LabCitizen { world, alias });
        Ok(())
    }

    fn lab_citizen(&mut self, c: u32) -> Result<&mut LabCitizen, ActionError> {
        self.citizens
            .get_mut(&c)
            .ok_or_else(|| ActionError::Citizen(format!("citizen {c} has no identity in the lab")))
    }
}

/// The broker's headless login behaviour for `credential`: the citizen's own kind of
/// authenticator (the ID token's `amr` says which), NemID with the key app or the key card.
pub(super) fn behaviour_of(record: &Citizen, credential: Credential) -> Behaviour {
    match credential {
        Credential::Nemid if record.has(traits::NEMID_KEY_APP) => Behaviour::NemidKeyApp,
        Credential::Nemid => Behaviour::NemidKeyCard,
        Credential::Mitid(MitidKind::CodeDisplay) => Behaviour::CodeDisplay,
        Credential::Mitid(MitidKind::AudioReader) => Behaviour::AudioCodeReader,
        Credential::Mitid(MitidKind::App | MitidKind::None) => Behaviour::Approve,
    }
}

/// What a login's answer means for the model, and the refusal (`error`, description) if the
/// broker said no.
pub(super) fn judged(answer: BrokerLogin) -> (Outcome, Option<(String, String)>) {
    match answer {
        BrokerLogin::Claims(_) => (Outcome::Succeeded, None),
        BrokerLogin::Refused(error, description) => {
            // The broker failing is not the broker saying no.
            let failure = if error == "server_error" || error == "temporarily_unavailable" {
                Failure::Unavailable
            } else {
                Failure::Refused
            };
            (Outcome::Failed(failure), Some((error, description)))
        }
    }
}

/// The app on the citizen's phone activated with `code` (the step "activates the app with the
/// code").
async fn activate_app(lab_citizen: &mut LabCitizen, code: &str) -> Result<(), ActionError> {
    app::activate_with_code(&mut lab_citizen.world, &lab_citizen.alias, "phone", code)
        .await?
        .expect(201, "the broker", "the activation of the app")?;
    Ok(())
}
