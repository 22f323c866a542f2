//! Runs features with cucumber (as a library) against one [`Lab`] and collects
//! [`ScenarioResult`]s.
//!
//! Features are parsed and checked up front (every `@req:` tag names a catalogue requirement, the
//! tag expression parses), so a typo is one clear error naming file and line instead of a run
//! with mysterious skips. Scenarios on an optional part the target does not declare
//! (`@needs:logout`, `@needs:backchannel`, `@needs:step-up`: see [`OptionalFeature`]) are reported
//! SKIPPED (not implemented); those the lab cannot run here (`@needs:services`, or
//! `@needs:shared-clock`: the lab's own components only, not an integrator's service with a
//! clock of its own) SKIPPED with the reason.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, GherkinEnv};
use cucumber::tag::Ext as _;
use cucumber::{World as _, WriterExt as _, event, writer};

use super::catalogue::Catalogue;
use super::outcome::{RawOutcome, ScenarioResult, Verdict};
use super::schedule::{Class, ScenarioKey, Schedule};
use super::target::OptionalFeature;
use super::world::{Lab, LabWorld};

/// Scenarios running at once. Each is a handful of loopback HTTP calls; more than this only adds
/// contention on a 2-core machine.
pub const DEFAULT_CONCURRENCY: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SuiteInputError {
    #[error("{path}: no such feature file or directory")]
    Missing { path: PathBuf },
    #[error("{path}:{line}: {message}")]
    Gherkin {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("--tags {expr:?}: {message}")]
    Tags { expr: String, message: String },
    /// Nothing to run: a run that checks nothing must not look like one that passed.
    #[error("nothing selected: {what}{hint}")]
    NothingSelected { what: String, hint: String },
}

/// The feature files of a run, parsed and checked, and the tag expression that selects scenarios.
pub struct Features {
    /// One per `.feature` file, Scenario Outlines expanded.
    pub parsed: Vec<gherkin::Feature>,
    pub tags: Option<gherkin::tagexpr::TagOperation>,
    pub tags_text: Option<String>,
}

impl Features {
    /// Parses every `.feature` file under `roots` (files or directories) and checks the tags.
    pub fn load(
        roots: &[PathBuf],
        catalogue: &Catalogue,
        tags: Option<&str>,
    ) -> Result<Features, SuiteInputError> {
        let mut paths = Vec::new();
        for root in roots {
            collect_feature_files(root, &mut paths)?;
        }
        paths.sort();
        let mut features = Vec::new();
        for path in &paths {
            let feature = gherkin::Feature::parse_path(path, GherkinEnv::default())
                .map_err(|err| {
                    let (line, message) = gherkin_error(&err);
                    SuiteInputError::Gherkin {
                        path: path.clone(),
                        line,
                        message,
                    }
                })?
                .expand_examples()
                .map_err(|err| SuiteInputError::Gherkin {
                    path: path.clone(),
                    line: err.pos.line,
                    message: err.to_string(),
                })?;
            for scenario in &feature.scenarios {
                let all: Vec<String> = feature.tags.iter().chain(&scenario.tags).cloned().collect();
                if all.iter().any(|t| t == super::schedule::SLOW_TAG)
                    && all.iter().any(|t| t == super::schedule::SERIAL_TAG)
                {
                    return Err(SuiteInputError::Gherkin {
                        path: path.clone(),
                        line: scenario.position.line,
                        message: "a scenario is @slow (overlaps every other) or @serial (runs alone), not both".into(),
                    });
                }
                for tag in feature.tags.iter().chain(&scenario.tags) {
                    if let Some(id) = tag.strip_prefix("req:")
                        && catalogue.get(id).is_none()
                    {
                        return Err(SuiteInputError::Gherkin {
                            path: path.clone(),
                            line: scenario.position.line,
                            message: format!("tag @req:{id} names no requirement in the catalogue"),
                        });
                    }
                }
            }
            features.push(feature);
        }
        let tags_op = match tags {
            None => None,
            Some(expr) => Some(
                expr.parse::<gherkin::tagexpr::TagOperation>()
                    .map_err(|err| SuiteInputError::Tags {
                        expr: expr.to_owned(),
                        message: err.to_string(),
                    })?,
            ),
        };
        let loaded = Features {
            parsed: features,
            tags: tags_op,
            tags_text: tags.map(str::to_owned),
        };
        loaded.check_something_selected(roots)?;
        Ok(loaded)
    }

    /// Refuses a selection without a single scenario, and suggests the tag the user probably
    /// meant (one that differs only in case, or by a few characters).
    fn check_something_selected(&self, roots: &[PathBuf]) -> Result<(), SuiteInputError> {
        let places = roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let total: usize = self.parsed.iter().map(|f| f.scenarios.len()).sum();
        if total == 0 {
            return Err(SuiteInputError::NothingSelected {
                what: format!("no scenario in {places}"),
                hint: String::new(),
            });
        }
        let selected = self
            .parsed
            .iter()
            .flat_map(|f| f.scenarios.iter().map(move |s| (f, s)))
            .filter(|(f, s)| self.selects(f, s))
            .count();
        if selected > 0 {
            return Ok(());
        }
        let known: std::collections::BTreeSet<String> = self
            .parsed
            .iter()
            .flat_map(|f| {
                f.tags
                    .iter()
                    .chain(f.scenarios.iter().flat_map(|s| s.tags.iter()))
            })
            .map(|t| format!("@{t}"))
            .collect();
        let expr = self.tags_text.clone().unwrap_or_default();
        let suggestions: Vec<String> = tags_in(&expr)
            .filter(|tag| !known.contains(*tag))
            .filter_map(|tag| closest_tag(tag, &known).map(|k| format!("{tag} → {k}")))
            .collect();
        Err(SuiteInputError::NothingSelected {
            what: format!("--tags {expr:?} selects none of the {total} scenarios in {places}"),
            hint: if suggestions.is_empty() {
                " (`mitid-lab certify list` prints the requirement ids; tags are case-sensitive)"
                    .to_owned()
            } else {
                format!("; did you mean {}?", suggestions.join(", "))
            },
        })
    }

    fn selects(&self, feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> bool {
        self.tags
            .as_ref()
            .is_none_or(|op| op.eval(feature.tags.iter().chain(&scenario.tags)))
    }
}

/// The `@tags` a tag expression names.
fn tags_in(expr: &str) -> impl Iterator<Item = &str> {
    expr.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|word| word.starts_with('@') && word.len() > 1)
}

/// The known tag `tag` most likely meant: equal but for case, else the nearest by edit distance
/// (at most 3 edits, and fewer than a third of the tag).
fn closest_tag<'a>(tag: &str, known: &'a std::collections::BTreeSet<String>) -> Option<&'a String> {
    if let Some(same) = known.iter().find(|k| k.eq_ignore_ascii_case(tag)) {
        return Some(same);
    }
    let lower = tag.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_ascii_lowercase()), k))
        .filter(|(distance, _)| *distance <= 3 && *distance * 3 < tag.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

fn collect_feature_files(root: &Path, out: &mut Vec<PathBuf>) -> Result<(), SuiteInputError> {
    if root.is_file() {
        out.push(root.to_owned());
        return Ok(());
    }
    let entries = std::fs::read_dir(root).map_err(|_| SuiteInputError::Missing {
        path: root.to_owned(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_feature_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "feature") {
            out.push(path);
        }
    }
    Ok(())
}

fn gherkin_error(err: &gherkin::ParseFileError) -> (usize, String) {
    match err {
        gherkin::ParseFileError::Parsing {
            error: Some(gherkin::EnvError::UnsupportedLanguage(lang)),
            ..
        } => (1, format!("unsupported language {lang}")),
        gherkin::ParseFileError::Parsing { source, .. } => (1, source.to_string()),
        gherkin::ParseFileError::Reading { source, .. } => (1, source.to_string()),
    }
}

/// Why a selected scenario does not run against this target.
enum Skip {
    /// It tests an optional part the target does not declare in `service_provider.implements`.
    NotImplemented(OptionalFeature),
    /// The lab cannot run it here (no Citizen Service, no shared clock).
    CannotRun(String),
}

impl Skip {
    fn reason(&self) -> String {
        match self {
            Skip::NotImplemented(feature) => format!(
                "not implemented: the target file's service_provider.implements does not list {}",
                feature.name()
            ),
            Skip::CannotRun(reason) => reason.clone(),
        }
    }
}

/// Why the target cannot run a scenario, if it cannot.
fn missing_capability(lab: &Lab, tags: &[String]) -> Option<Skip> {
    for tag in tags {
        if let Some(feature) = OptionalFeature::from_tag(tag) {
            if !lab.sp.implements.contains(&feature) {
                return Some(Skip::NotImplemented(feature));
            }
            continue;
        }
        match tag.as_str() {
            "needs:services" if lab.endpoints.citizen_service.is_none() => {
                return Some(Skip::CannotRun(
                    "the lab runs without Citizen Service, support line and SMS gateway".into(),
                ));
            }
            "needs:shared-clock" if !lab.shared_clock => {
                return Some(Skip::CannotRun(
                    "moving the lab's clock moves only the broker's: the service under test follows its own clock".into(),
                ));
            }
            _ => {}
        }
    }
    None
}

/// Where cucumber's own JUnit and Cucumber-JSON writers write (next to the lab's reports).
pub struct CucumberOutputs {
    pub junit: PathBuf,
    pub json: PathBuf,
}

impl CucumberOutputs {
    /// Redacts secrets in what cucumber wrote: its writers quote step failure messages as the
    /// steps raised them, and those may quote a callback with its authorization code.
    pub fn redact(&self) -> std::io::Result<()> {
        for path in [&self.junit, &self.json] {
            let text = std::fs::read_to_string(path)?;
            let redacted = super::evidence::redact_text(&text);
            if redacted != text {
                std::fs::write(path, redacted)?;
            }
        }
        Ok(())
    }
}

/// The selected scenarios this target cannot run, as SKIPPED results saying why.
fn not_run(lab: &Lab, features: &Features) -> Vec<ScenarioResult> {
    let mut results = Vec::new();
    for feature in &features.parsed {
        for scenario in &feature.scenarios {
            let tags: Vec<String> = feature.tags.iter().chain(&scenario.tags).cloned().collect();
            if !features.selects(feature, scenario) {
                continue;
            }
            if let Some(skip) = missing_capability(lab, &tags) {
                results.push(ScenarioResult {
                    feature: feature.name.clone(),
                    location: location(feature, scenario.position.line),
                    name: scenario.name.clone(),
                    requirements: requirement_ids(&tags),
                    tags,
                    outcome: RawOutcome::Skipped(skip.reason()),
                    verdict: Verdict::Skipped,
                    duration_ms: 0,
                    evidence: Vec::new(),
                    not_implemented: match skip {
                        Skip::NotImplemented(feature) => Some(feature.name().to_owned()),
                        Skip::CannotRun(_) => None,
                    },
                });
            }
        }
    }
    results
}

/// Runs the selected scenarios against `lab`; answers one result per scenario (including those
/// SKIPPED for a missing capability). Verdicts are filled in by `SuiteReport::build`.
pub async fn run(
    lab: Arc<Lab>,
    features: &Features,
    concurrency: usize,
    cucumber_outputs: Option<&CucumberOutputs>,
) -> std::io::Result<Vec<ScenarioResult>> {
    // Scenarios the target cannot run are reported without running.
    let results: Arc<Mutex<Vec<ScenarioResult>>> = Arc::new(Mutex::new(not_run(&lab, features)));
    let (junit_out, json_out): (Box<dyn std::io::Write>, Box<dyn std::io::Write>) =
        match cucumber_outputs {
            Some(outputs) => (
                Box::new(std::fs::File::create(&outputs.junit)?),
                Box::new(std::fs::File::create(&outputs.json)?),
            ),
            None => (Box::new(std::io::sink()), Box::new(std::io::sink())),
        };
    let writer = writer::JUnit::for_tee(junit_out, 0)
        .tee::<LabWorld, _>(writer::Json::for_tee(json_out))
        .normalized();
    let schedule = Schedule::new(planned(&lab, features), concurrency);
    let before_lab = Arc::clone(&lab);
    let after_results = Arc::clone(&results);
    let after_lab = Arc::clone(&lab);
    let filter_lab = Arc::clone(&lab);
    let tags_op = features.tags.clone();
    let cucumber = LabWorld::cucumber::<PathBuf>()
        .with_writer(writer)
        // Every scenario starts at once and waits for its turn in the `before` hook: the
        // [`Schedule`] decides order and overlap (`@serial`, `@slow`), not cucumber.
        .max_concurrent_scenarios(None)
        .which_scenario(|_, _, _| cucumber::runner::ScenarioType::Concurrent)
        .before(move |feature, _, scenario, world| {
            let lab = Arc::clone(&before_lab);
            let schedule = Arc::clone(&schedule);
            let key = scenario_key(feature, scenario);
            Box::pin(async move {
                world.admission = Some(schedule.admit(&key).await);
                world.lab = Some(lab);
                world.started = Some(Instant::now());
            })
        })
        .after(move |feature, _, scenario, finished, world| {
            let results = Arc::clone(&after_results);
            let lab = Arc::clone(&after_lab);
            // A scenario that moved the shared lab clock (`@serial`) puts it back, pass or fail.
            let clock_moved = world
                .as_deref()
                .is_some_and(|w| w.note(crate::actions::clock::CLOCK_MOVED).is_some());
            let tags: Vec<String> = feature.tags.iter().chain(&scenario.tags).cloned().collect();
            let outcome = raw_outcome(finished);
            let (evidence, duration_ms, admission, scripts) =
                world.map_or((Vec::new(), 0, None, Vec::new()), |w| {
                    (
                        w.evidence(),
                        w.started.map_or(0, |s| s.elapsed().as_millis() as u64),
                        w.admission.take(),
                        w.scripts.clone(),
                    )
                });
            let mut result = ScenarioResult {
                feature: feature.name.clone(),
                location: location(feature, scenario.position.line),
                name: scenario.name.clone(),
                requirements: requirement_ids(&tags),
                tags,
                outcome,
                verdict: Verdict::Passed,
                duration_ms,
                evidence,
                not_implemented: None,
            };
            Box::pin(async move {
                // What the service provider asked the broker, and what it served, in this
                // scenario's scripted logins.
                result
                    .evidence
                    .extend(crate::actions::broker::broker_calls(&lab, &scripts).await);
                if clock_moved && let Err(err) = crate::actions::clock::release(&lab).await {
                    eprintln!(
                        "the lab clock was not put back after {}: {err}",
                        result.location
                    );
                }
                results.lock().expect("no panics while locked").push(result);
                // Only now (the clock put back) may the next scenario start.
                drop(admission);
            })
        });
    cucumber
        .with_parser(Preparsed)
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
        .filter_run(features.parsed.clone(), move |feature, _, scenario| {
            let tags: Vec<String> = feature.tags.iter().chain(&scenario.tags).cloned().collect();
            tags_op.as_ref().is_none_or(|op| op.eval(tags.iter()))
                && missing_capability(&filter_lab, &tags).is_none()
        })
        .await;
    let results = std::mem::take(&mut *results.lock().expect("no panics while locked"));
    Ok(results)
}

/// The scenarios that will run (selected, and runnable against this target), in feature order:
/// exactly what the filter given to cucumber lets through, `Rule:` blocks included, because a
/// planned scenario that never arrives would hold the queue.
fn planned(lab: &Lab, features: &Features) -> Vec<(ScenarioKey, Class)> {
    let mut plan = Vec::new();
    for feature in &features.parsed {
        let in_rules = feature.rules.iter().flat_map(|r| r.scenarios.iter());
        for scenario in feature.scenarios.iter().chain(in_rules) {
            let tags: Vec<String> = feature.tags.iter().chain(&scenario.tags).cloned().collect();
            if features.selects(feature, scenario) && missing_capability(lab, &tags).is_none() {
                plan.push((scenario_key(feature, scenario), Class::of(&tags)));
            }
        }
    }
    plan
}

fn scenario_key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> ScenarioKey {
    (
        feature
            .path
            .as_ref()
            .map_or_else(|| feature.name.clone(), |p| p.display().to_string()),
        scenario.position.line,
        scenario.name.clone(),
    )
}

/// Hands cucumber the features [`Features::load`] already parsed and checked.
struct Preparsed;

impl cucumber::Parser<Vec<gherkin::Feature>> for Preparsed {
    type Cli = cucumber::cli::Empty;
    type Output =
        futures::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, input: Vec<gherkin::Feature>, _: Self::Cli) -> Self::Output {
        futures::stream::iter(input.into_iter().map(Ok).collect::<Vec<_>>())
    }
}

/// The scenario's outcome, with every secret in a failure message redacted (a step may quote the
/// broker's callback, which carries the authorization code).
fn raw_outcome(finished: &event::ScenarioFinished) -> RawOutcome {
    match unredacted_outcome(finished) {
        RawOutcome::Failed(message) => RawOutcome::Failed(super::evidence::redact_text(&message)),
        other => other,
    }
}

fn unredacted_outcome(finished: &event::ScenarioFinished) -> RawOutcome {
    match finished {
        event::ScenarioFinished::StepPassed => RawOutcome::Passed,
        event::ScenarioFinished::StepSkipped => {
            RawOutcome::Skipped("a step has no definition in the lab (the feature uses a step the runner does not know)".into())
        }
        event::ScenarioFinished::StepFailed(_, _, error) => RawOutcome::Failed(step_error(error)),
        event::ScenarioFinished::BeforeHookFailed(info) => RawOutcome::Failed(panic_text(info.as_ref())),
    }
}

fn step_error(error: &event::StepError) -> String {
    match error {
        event::StepError::Panic(info) => panic_text(info.as_ref()),
        event::StepError::NotFound => "no step definition matches".into(),
        event::StepError::AmbiguousMatch(err) => format!("ambiguous step: {err}"),
    }
}

fn panic_text(info: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = info.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = info.downcast_ref::<&str>() {
        (*text).to_owned()
    } else {
        "a step panicked without a message".into()
    }
}

fn location(feature: &gherkin::Feature, line: usize) -> String {
    let path = feature.path.as_deref().map_or_else(
        || feature.name.clone(),
        |p| relative(p).display().to_string(),
    );
    format!("{path}:{line}")
}

/// Paths in reports are relative to the working directory when they are under it.
fn relative(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_owned())
}

fn requirement_ids(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| t.strip_prefix("req:"))
        .map(str::to_owned)
        .collect()
}
