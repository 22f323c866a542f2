//! `simulate --live --target URL --config target.yaml`: the integrator's own OIDC service
//! provider becomes one sector's service, and every wrong acceptance or refusal it makes is
//! recorded against the requirement it breaks, with the login's exchanges as evidence.
//!
//! The service is reached as `certify` reaches it: the target file (the same loader), a broker
//! of the lab's on the file's `broker.listen` with the file's client registered
//! ([`setup::external`]), the lab as the citizen's browser (the conformance crate's login
//! driver). Its client is of the target's sector in the NemID calendar.
//!
//! The one clock stops at the integrator's door: the service checks its ID tokens' `iat` and
//! `exp` against its own clock, so its broker keeps the wall clock and tokens are fresh. The
//! simulated day reaches that broker through each NemID login's script instead: before the
//! sector's cut-off on the simulated day (by the calendar the reference stack's broker keeps,
//! `fixtures/nemid-calendar.yaml`) the script lets the NemID login through, from it on the
//! broker refuses it, as the reference broker does on the frozen clock (its wall clock being past
//! the NemID shutdown, it names the refusal `nemid_shut_down`).
//!
//! Judged per login, from what the broker did and what `/me` answered afterwards (each login
//! in a fresh browser, so a session can only come from that login):
//!
//! | the broker | `/me` | outcome | requirement broken |
//! |---|---|---|---|
//! | issued a code | 200, an account no other citizen had | succeeded | — |
//! | issued a code | 200, another citizen's account | succeeded | SP-ACCOUNT-01 (wrong acceptance) |
//! | issued a code | 200, another account than this citizen's last one | succeeded | SP-ACCOUNT-03 |
//! | issued a code (MitID) | 401 | refused | SP-ACCOUNT-02 (no CPR), SP-LOGIN-AMR-01 (code display, audio reader), else SP-LOGIN-01 (wrong refusal) |
//! | issued a code (NemID) | 401 | refused | — (a service may retire NemID before its sector) |
//! | answered an error | 200 | refused | SP-ERR-IDP-01 (wrong acceptance) |
//! | answered an error | 401 | refused | — |
//!
//! The service's clock is its own (the lab cannot move an integrator's clock), which is why a
//! NemID refusal is never held against it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mitid_components::idp::admin::Ial;
use mitid_components::nemid_calendar::NemidCalendar;
use mitid_conformance::actions::ActionError;
use mitid_conformance::actions::identity::{self, Backing, NEMID_ISSUED_ON};
use mitid_conformance::actions::lab_api::control_call;
use mitid_conformance::actions::service_provider::{self, Tamper};
use mitid_conformance::browser::Browser;
use mitid_conformance::catalogue::Catalogue;
use mitid_conformance::setup::{self, ExternalLab, SetupError};
use mitid_conformance::target::Target;
use mitid_conformance::world::{Lab, LabWorld, LoginAttempt};
use mitid_sim::kernel::SimTime;
use mitid_sim::policy::population::{Citizen, MitidKind, traits};
use mitid_sim::policy::{Credential, Failure, Outcome, Sector};
use serde::Serialize;

use super::journeys::behaviour_of;

/// At most this many examples (with evidence) are kept per requirement: the count says how
/// often, the first few say how.
const EXAMPLES: usize = 3;

/// What `--target` asks for: the service, and the sector whose logins it takes.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub target: Target,
    pub sector: Sector,
}

/// The integrator's service as one sector's service of the run.
pub(super) struct TargetService {
    /// The broker the service is configured against (kept: dropping it stops it).
    external: ExternalLab,
    sector: Sector,
    citizens: HashMap<u32, TargetCitizen>,
    /// The account `/me` named, by the citizen it first named it for.
    owners: HashMap<String, u32>,
    /// Each citizen's account at their last login.
    accounts: HashMap<u32, String>,
    catalogue: Catalogue,
    /// The calendar the broker judges NemID by, and the simulated day 0.
    calendar: NemidCalendar,
    start: chrono::NaiveDate,
    report: TargetReport,
}

struct TargetCitizen {
    world: LabWorld,
    alias: String,
    /// Whether the identity was made with MitID (else: NemID alone, or nothing).
    mitid: bool,
}

/// The service's part of `live.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub base_url: String,
    pub sector: &'static str,
    /// Logins of sampled citizens at the service, and how they ended.
    pub logins: u64,
    pub sessions: u64,
    pub refused: u64,
    /// The service or its broker could not be reached or answered with an error.
    pub unavailable: u64,
    /// The refused logins by who said no and why (`the broker: error: reason`, `the service`).
    pub refusals: BTreeMap<String, u64>,
    /// Wrong acceptances and refusals, all requirements together.
    pub violations: u64,
    /// By requirement id.
    pub by_requirement: BTreeMap<String, Violations>,
}

impl TargetReport {
    /// The logins and how they ended, and the violations by requirement, in one line.
    #[must_use]
    pub fn counts(&self) -> String {
        let broken: Vec<String> = self
            .by_requirement
            .iter()
            .map(|(id, v)| format!("{id} x{}", v.count))
            .collect();
        format!(
            "{} logins, {} sessions, {} refused, {} unavailable; {} wrong acceptances or refusals{}",
            self.logins,
            self.sessions,
            self.refused,
            self.unavailable,
            self.violations,
            if broken.is_empty() {
                String::new()
            } else {
                format!(" ({})", broken.join(", "))
            }
        )
    }
}

/// The times the service broke one requirement.
#[derive(Debug, Clone, Serialize)]
pub struct Violations {
    pub title: String,
    pub level: String,
    /// `wrong acceptance` or `wrong refusal`.
    pub kind: &'static str,
    pub count: u64,
    /// The first few, with evidence.
    pub examples: Vec<Violation>,
}

/// One wrong acceptance or refusal.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    pub citizen: u32,
    /// The simulated instant of the login.
    pub at: String,
    pub credential: &'static str,
    pub what: String,
    /// The login's exchanges (redacted as in `certify`'s reports), in order.
    pub evidence: Vec<String>,
}

impl TargetService {
    /// The broker for `spec`'s service, its client put in the target's sector. Must run on the
    /// runtime the flows run on.
    pub async fn start(
        spec: &TargetSpec,
        start: chrono::NaiveDate,
        run_tag: &str,
    ) -> Result<TargetService, SetupError> {
        // Months of a citizen's logins pass in seconds of wall time, which the broker's limit
        // of attempts per person and minute (wall clock, see above) would take for an attack.
        let external = setup::external_with(&spec.target, run_tag, |config| {
            config.rate_limit.max_attempts = 1_000_000;
        })
        .await?;
        // The contract's first promises, before any citizen comes: one clear error for a
        // service that is not there or not configured with the target file.
        setup::preflight(
            &external.lab.sp,
            &external.lab.endpoints.issuer,
            Some(&spec.target.client_id),
        )
        .await?;
        let sector = spec.sector.calendar_key();
        let path = format!("control/clients/{}/sector", spec.target.client_id);
        let body = serde_json::json!({ "sector": sector });
        control_call(&external.lab, reqwest::Method::PUT, &path, Some(&body))
            .await
            .and_then(|(reply, _)| reply.expect(200, "the broker", "the target's sector"))
            .map_err(|err| SetupError::Runtime(err.to_string()))?;
        Ok(TargetService {
            sector: spec.sector,
            citizens: HashMap::new(),
            owners: HashMap::new(),
            accounts: HashMap::new(),
            catalogue: Catalogue::embedded(),
            calendar: NemidCalendar::builtin(),
            start,
            report: TargetReport {
                base_url: spec.target.base_url.to_string(),
                sector,
                logins: 0,
                sessions: 0,
                refused: 0,
                unavailable: 0,
                refusals: BTreeMap::new(),
                violations: 0,
                by_requirement: BTreeMap::new(),
            },
            external,
        })
    }

    /// Whether logins at `sector` go to the service.
    pub fn serves(&self, sector: Sector) -> bool {
        self.sector == sector
    }

    fn lab(&self) -> Arc<Lab> {
        Arc::clone(&self.external.lab)
    }

    pub fn report(&self) -> TargetReport {
        self.report.clone()
    }

    /// Citizen `c` logs in at the service with `credential` at simulated instant `at` (shown
    /// as `shown`); the outcome the model sees, and any requirement the service broke recorded.
    pub async fn login(
        &mut self,
        c: u32,
        record: &Citizen,
        credential: Credential,
        (at, shown): (SimTime, &str),
    ) -> Result<Outcome, ActionError> {
        let today = self.start + chrono::Days::new(u64::from(at.day()));
        let nemid_open = self
            .calendar
            .check_login(self.sector.calendar_key(), today)
            .is_ok();
        self.ensure_citizen(c, record, credential).await?;
        self.report.logins += 1;
        let lab = self.lab();
        let citizen = self
            .citizens
            .get_mut(&c)
            .ok_or_else(|| ActionError::Citizen(format!("citizen {c} has no identity")))?;
        // A fresh browser: a session after this login can only come from this login.
        citizen.world.browser = Browser::new();
        citizen.world.logins.clear();
        citizen.world.pending.behaviour = Some(behaviour_of(record, credential));
        citizen.world.pending.ignore_nemid_cutoff = credential == Credential::Nemid && nemid_open;
        let driven = service_provider::drive_login(
            &mut citizen.world,
            &citizen.alias.clone(),
            None,
            Tamper::None,
        )
        .await;
        if let Err(err) = driven {
            self.report.unavailable += 1;
            return Err(err);
        }
        let attempt = citizen.world.last_login().clone();
        let me = service_provider::ask_me(&lab, &mut citizen.world.browser).await;
        let evidence: Vec<String> = citizen
            .world
            .evidence()
            .iter()
            .map(mitid_conformance::evidence::Exchange::line)
            .collect();
        let me = match me {
            Ok(me) => me,
            Err(err) => {
                self.report.unavailable += 1;
                return Err(err);
            }
        };
        let code = attempt
            .callback
            .as_ref()
            .is_some_and(|url| url.query_pairs().any(|(k, _)| k == "code"));
        let account = me.json.as_ref().and_then(|json| {
            json.get("account")
                .or_else(|| json.get("sub"))
                .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
        });
        let (outcome, broken) = match (code, me.status) {
            (true, 200) => {
                self.report.sessions += 1;
                let broken = self.session_for(c, account.unwrap_or_default());
                (Outcome::Succeeded, broken)
            }
            (true, 401) => {
                self.refused("the service: no session after the broker's code".to_owned());
                (
                    Outcome::Failed(Failure::Refused),
                    wrong_refusal(c, record, credential),
                )
            }
            (false, 200) => {
                self.refused(broker_refusal(&attempt));
                (
                    Outcome::Failed(Failure::Refused),
                    Some(session_despite_error(c, &attempt)),
                )
            }
            (false, 401) => {
                self.refused(broker_refusal(&attempt));
                (Outcome::Failed(Failure::Refused), None)
            }
            (_, status) => {
                self.report.unavailable += 1;
                return Err(ActionError::Refused {
                    service: "the service provider's /me",
                    what: format!("/me after citizen {c}'s login (the contract: 200 or 401)"),
                    status,
                    answer: me.json.unwrap_or(serde_json::Value::String(me.body)),
                });
            }
        };
        if let Some(found) = broken {
            self.record(found, c, shown, credential, evidence);
        }
        Ok(outcome)
    }

    /// Citizen `c` got a session in `account`: another citizen's account, or not the one they
    /// had, breaks a requirement.
    fn session_for(&mut self, c: u32, account: String) -> Option<Found> {
        let broken = match (self.owners.get(&account), self.accounts.get(&c)) {
            (Some(&owner), _) if owner != c => Some(Found {
                requirement: "SP-ACCOUNT-01",
                kind: "wrong acceptance",
                what: format!(
                    "citizen {c} was let into account {account:?}, which /me named for citizen {owner} before"
                ),
            }),
            (_, Some(last)) if *last != account => Some(Found {
                requirement: "SP-ACCOUNT-03",
                kind: "wrong acceptance",
                what: format!(
                    "citizen {c} got account {account:?}, not their account {last:?} of their last login"
                ),
            }),
            _ => None,
        };
        self.owners.entry(account.clone()).or_insert(c);
        self.accounts.insert(c, account);
        broken
    }

    fn refused(&mut self, why: String) {
        self.report.refused += 1;
        *self.report.refusals.entry(why).or_default() += 1;
    }

    fn record(
        &mut self,
        found: Found,
        citizen: u32,
        at: &str,
        credential: Credential,
        evidence: Vec<String>,
    ) {
        self.report.violations += 1;
        let requirement = self.catalogue.get(found.requirement);
        let entry = self
            .report
            .by_requirement
            .entry(found.requirement.to_owned())
            .or_insert_with(|| Violations {
                title: requirement.map(|r| r.title.clone()).unwrap_or_default(),
                level: requirement
                    .map(|r| r.level.as_str().to_owned())
                    .unwrap_or_default(),
                kind: found.kind,
                count: 0,
                examples: Vec::new(),
            });
        entry.count += 1;
        if entry.examples.len() < EXAMPLES {
            entry.examples.push(Violation {
                citizen,
                at: at.to_owned(),
                credential: credential_name(credential),
                what: found.what,
                evidence,
            });
        }
    }

    /// The citizen's identity at the service's broker, made on their first login there as the
    /// reference stack's broker has it (the same authenticator, NemID, CPR or P code).
    /// The identity holds what the citizen logs in with now (`credential`; the record is the
    /// citizen as the population drew them, before any enrolment of the run). A citizen who got
    /// MitID since their last login here is made again with it: a new identity at the broker,
    /// so a new person to the service (their account there starts again).
    async fn ensure_citizen(
        &mut self,
        c: u32,
        record: &Citizen,
        credential: Credential,
    ) -> Result<(), ActionError> {
        let kind = match credential {
            Credential::Mitid(kind) => kind,
            Credential::Nemid => MitidKind::from_u8(record.mitid),
        };
        let mitid = kind != MitidKind::None;
        if self
            .citizens
            .get(&c)
            .is_some_and(|known| known.mitid == mitid || credential == Credential::Nemid)
        {
            return Ok(());
        }
        self.accounts.remove(&c);
        let alias = if mitid {
            format!("c{c}-mitid")
        } else {
            format!("c{c}")
        };
        let mut world = LabWorld::for_lab(self.lab());
        let nemid = record.has(traits::NEMID_HOLDER) && !record.has(traits::NO_CPR);
        let backing = if record.has(traits::NO_CPR) {
            Backing::PCode
        } else {
            Backing::Cpr
        };
        let (device, ial) = match kind {
            // NemID was notified at Substantial: its holders log in at a service asking for it
            // (the reference stack's sector clients ask for no level).
            MitidKind::None if nemid => ("a NemID key card", Ial::Substantial),
            MitidKind::None => ("no authenticator", Ial::Low),
            MitidKind::CodeDisplay => ("a code display", Ial::Substantial),
            MitidKind::AudioReader => ("an audio code reader", Ial::Substantial),
            MitidKind::App => (identity::APP, Ial::Substantial),
        };
        identity::create_citizen(&mut world, &alias, device, ial, backing, nemid).await?;
        if nemid {
            identity::issue_nemid(&mut world, &alias, NEMID_ISSUED_ON).await?;
        }
        self.citizens.insert(
            c,
            TargetCitizen {
                world,
                alias,
                mitid,
            },
        );
        Ok(())
    }
}

/// Why the broker gave no code: its `error` and reason code, or its refusal of the service's
/// own request.
fn broker_refusal(attempt: &LoginAttempt) -> String {
    let Some(callback) = &attempt.callback else {
        return "the broker: refused the service's authorization request".to_owned();
    };
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    // The reason code (`nemid_cutoff_passed`) without the prose after it (dates, ids).
    let description = param("error_description");
    let reason = description
        .split(|c: char| c.is_whitespace() || c == ':')
        .next()
        .unwrap_or_default();
    format!("the broker: {}: {reason}", param("error"))
}

/// A session after the broker answered the login with an error breaks SP-ERR-IDP-01.
fn session_despite_error(c: u32, attempt: &LoginAttempt) -> Found {
    let broker_said = attempt
        .callback
        .as_ref()
        .and_then(|url| url.query_pairs().find(|(k, _)| k == "error"))
        .map_or_else(|| "no code".to_owned(), |(_, v)| v.into_owned());
    Found {
        requirement: "SP-ERR-IDP-01",
        kind: "wrong acceptance",
        what: format!(
            "the broker answered {broker_said} to citizen {c}'s login, yet /me names a session"
        ),
    }
}

/// The requirement a service breaks by giving no session after the broker issued a code for a
/// MitID login (a NemID one it may refuse: a service may retire NemID before its sector's
/// calendar does, and its clock is not the lab's).
fn wrong_refusal(c: u32, record: &Citizen, credential: Credential) -> Option<Found> {
    let Credential::Mitid(kind) = credential else {
        return None;
    };
    let (requirement, what) = if record.has(traits::NO_CPR) {
        (
            "SP-ACCOUNT-02",
            format!(
                "citizen {c} (no CPR, a P code identity) got no session after the broker issued a code"
            ),
        )
    } else if matches!(kind, MitidKind::CodeDisplay | MitidKind::AudioReader) {
        (
            "SP-LOGIN-AMR-01",
            format!(
                "citizen {c} logged in with {} and got no session after the broker issued a code",
                credential_name(credential)
            ),
        )
    } else {
        (
            "SP-LOGIN-01",
            format!(
                "citizen {c} logged in with the MitID app and got no session after the broker issued a code"
            ),
        )
    };
    Some(Found {
        requirement,
        kind: "wrong refusal",
        what,
    })
}

struct Found {
    requirement: &'static str,
    kind: &'static str,
    what: String,
}

fn credential_name(credential: Credential) -> &'static str {
    match credential {
        Credential::Nemid => "NemID",
        Credential::Mitid(MitidKind::CodeDisplay) => "a MitID code display",
        Credential::Mitid(MitidKind::AudioReader) => "a MitID audio code reader",
        Credential::Mitid(MitidKind::App | MitidKind::None) => "the MitID app",
    }
}
