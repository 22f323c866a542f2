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
use mitid_conformance::world::LabWorld;
use mitid_sim::kernel::SimTime;
use mitid_sim::policy::population::{Citizen, MitidKind, traits};
use mitid_sim::policy::{
    Action, ActionRequest, CitizenView, Credential, Failure, MigrationRoute, Outcome,
    RecoveryRoute, Sector, Stage, Visit,
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
fn routine_journey(credential: Credential) -> &'static str {
    match credential {
        Credential::Nemid => "routine_login_nemid",
        Credential::Mitid(_) => "routine_login_mitid",
    }
}

impl Driver {
    /// Performs `request` for real and answers what the components did.
    pub(super) async fn perform(&mut self, request: &ActionRequest) -> Outcome {
        let (journey, component) = journey_of(request.action);
        self.tally.sampled_actions += 1;
        let started = Instant::now();
        let outcome = match self.drive(request).await {
            Ok(outcome) => outcome,
            Err(err) => {
                self.tally.error(journey, &err);
                Outcome::Failed(failure_of(&err))
            }
        };
        self.tally.record(
            journey,
            component,
            outcome,
            Some(request.expected),
            started.elapsed(),
        );
        outcome
    }

    /// A routine login of `citizen` at `sector` with what they hold at `at` (the app when MitID
    /// works, else NemID while it logs in anywhere). Counted, never fed back: the model has no
    /// routine logins.
    pub(super) async fn routine_login(
        &mut self,
        citizen: u32,
        view: &CitizenView,
        at: SimTime,
        sector: Sector,
    ) {
        let credential = match view.stage {
            Stage::MitidWorks => Credential::Mitid(view.mitid),
            _ if view.nemid_usable => Credential::Nemid,
            // Nothing to log in with today: the need waits, as it does in the model.
            _ => {
                self.tally.routine_skipped += 1;
                return;
            }
        };
        let journey = routine_journey(credential);
        let started = Instant::now();
        let result = async {
            self.set_clock(at).await?;
            self.ensure_citizen(citizen, &view.record).await?;
            self.sector_login(journey, citizen, &view.record, sector, credential)
                .await
        }
        .await;
        let outcome = result.unwrap_or_else(|err| {
            self.tally.error(journey, &err);
            Outcome::Failed(failure_of(&err))
        });
        self.tally
            .record(journey, Component::Idp, outcome, None, started.elapsed());
    }

    async fn drive(&mut self, request: &ActionRequest) -> Result<Outcome, ActionError> {
        self.set_clock(request.at).await?;
        let c = request.citizen;
        self.ensure_citizen(c, &request.record).await?;
        match request.action {
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
        let behaviour = match credential {
            Credential::Nemid if record.has(traits::NEMID_KEY_APP) => Behaviour::NemidKeyApp,
            Credential::Nemid => Behaviour::NemidKeyCard,
            // The broker's headless login with the citizen's own kind of authenticator (the
            // ID token's `amr` says which).
            Credential::Mitid(MitidKind::CodeDisplay) => Behaviour::CodeDisplay,
            Credential::Mitid(MitidKind::AudioReader) => Behaviour::AudioCodeReader,
            Credential::Mitid(MitidKind::App | MitidKind::None) => Behaviour::Approve,
        };
        let lab_citizen = self.lab_citizen(c)?;
        let user_id = lab_citizen
            .world
            .citizen_named(&lab_citizen.alias)
            .user_id
            .clone();
        Ok(
            match broker::login_at_client(&mut lab_citizen.world, &user_id, &client, behaviour)
                .await?
            {
                BrokerLogin::Claims(_) => Outcome::Succeeded,
                BrokerLogin::Refused(error, description) => {
                    self.tally.refusal(journey, &error, &description);
                    // The broker failing is not the broker saying no.
                    if error == "server_error" || error == "temporarily_unavailable" {
                        Outcome::Failed(Failure::Unavailable)
                    } else {
                        Outcome::Failed(Failure::Refused)
                    }
                }
            },
        )
    }

    /// The broker's client for `sector` (registered on first use, as the steps' "a bank and a
    /// public site are clients of the broker").
    async fn client(&mut self, sector: Sector) -> Result<serde_json::Value, ActionError> {
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
    async fn ensure_citizen(&mut self, c: u32, record: &Citizen) -> Result<(), ActionError> {
        if self.citizens.contains_key(&c) {
            return Ok(());
        }
        let alias = format!("c{c}");
        let mut world = LabWorld::for_lab(Arc::clone(&self.lab));
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

/// The app on the citizen's phone activated with `code` (the step "activates the app with the
/// code").
async fn activate_app(lab_citizen: &mut LabCitizen, code: &str) -> Result<(), ActionError> {
    app::activate_with_code(&mut lab_citizen.world, &lab_citizen.alias, "phone", code)
        .await?
        .expect(201, "the broker", "the activation of the app")?;
    Ok(())
}
