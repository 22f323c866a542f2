//! Scenario files: from YAML text to a typed, validated scenario.
//!
//! The sim crate does no I/O, so the loader takes the file's name (for messages) and its text.
//! A planner's mistake must be easy to find, so every error names the file, the line and the
//! field: YAML syntax errors carry the parser's location; type errors and unknown fields carry the
//! field path (tracked with `serde_path_to_error`), which [`LineIndex`] maps back to the line where
//! that field is written; validation errors name a field path the same way.
//!
//! Overrides from the command line (`--set a.b.c=value`, `--population N`, `--seed S`) are applied
//! to the parsed document before it is typed, so an override is checked exactly like the file
//! itself, and an error in one names the flag that caused it.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

pub use mitid_fixtures::yaml_lines::{FieldPath, LineIndex, PathSegment};

/// A `serde_path_to_error` path as a [`FieldPath`] (enum tags and unknown steps dropped).
fn field_path_of(path: &serde_path_to_error::Path) -> FieldPath {
    let mut segments = Vec::new();
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                segments.push(PathSegment::Index(*index));
            }
            serde_path_to_error::Segment::Map { key } => {
                segments.push(PathSegment::Key(key.clone()));
            }
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    FieldPath(segments)
}

/// What went wrong with a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioErrorKind {
    /// The text is not valid YAML.
    Syntax(String),
    /// A field the scenario type does not have.
    UnknownField,
    /// A missing field, a wrong type or a value the type cannot hold.
    BadValue(String),
    /// The scenario's own checks rejected a value.
    Invalid(String),
    /// A `--set`, `--population` or `--seed` that cannot be applied.
    BadOverride(String),
}

/// A scenario error that names the file, the line and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based; `None` only when the document is empty or the field has no written ancestor.
    pub line: Option<usize>,
    pub field: FieldPath,
    /// The command-line flag that put the offending value there, if one did.
    pub flag: Option<String>,
    pub kind: ScenarioErrorKind,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.field)?;
        if let Some(flag) = &self.flag {
            write!(f, " (from {flag})")?;
        }
        match &self.kind {
            ScenarioErrorKind::Syntax(message) => write!(f, ": YAML syntax error: {message}"),
            ScenarioErrorKind::UnknownField => write!(f, ": unknown field"),
            ScenarioErrorKind::BadValue(message) | ScenarioErrorKind::BadOverride(message) => {
                write!(f, ": {message}")
            }
            ScenarioErrorKind::Invalid(message) => write!(f, ": invalid: {message}"),
        }
    }
}

/// One command-line override: put `value` at `path`; `flag` is how the user wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub path: FieldPath,
    pub value: Value,
    pub flag: String,
}

impl Override {
    /// Reads `--set a.b.c=value`; the value is a YAML scalar (or flow collection).
    pub fn parse_set(file: &str, assignment: &str) -> Result<Self, ScenarioError> {
        let flag = format!("--set {assignment}");
        let fail = |field: FieldPath, message: String| ScenarioError {
            file: file.to_owned(),
            line: None,
            field,
            flag: Some(flag.clone()),
            kind: ScenarioErrorKind::BadOverride(message),
        };
        let Some((path_text, value_text)) = assignment.split_once('=') else {
            return Err(fail(
                FieldPath::default(),
                "expected `--set field.path=value`".to_owned(),
            ));
        };
        let path = FieldPath::parse(path_text.trim()).map_err(|m| fail(FieldPath::default(), m))?;
        if path.is_root() {
            return Err(fail(path, "cannot replace the whole scenario".to_owned()));
        }
        let value: Value = serde_yaml::from_str(value_text).map_err(|err| {
            let message = strip_location(&err.to_string());
            fail(
                path.clone(),
                format!("the value is not valid YAML: {message}"),
            )
        })?;
        Ok(Self { path, value, flag })
    }
}

/// A parsed scenario document, not yet typed.
#[derive(Debug, Clone)]
pub struct ScenarioDocument {
    file: String,
    lines: LineIndex,
    value: Value,
}

impl ScenarioDocument {
    /// Parses YAML text; the document must be a mapping.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        let lines = LineIndex::new(text);
        let value: Value = serde_yaml::from_str(text).map_err(|err| ScenarioError {
            file: file.to_owned(),
            line: err.location().map(|location| location.line()),
            field: FieldPath::default(),
            flag: None,
            kind: ScenarioErrorKind::Syntax(strip_location(&err.to_string())),
        })?;
        let value = match value {
            Value::Null => Value::Mapping(Mapping::new()),
            mapping @ Value::Mapping(_) => mapping,
            _ => {
                return Err(ScenarioError {
                    file: file.to_owned(),
                    line: Some(1),
                    field: FieldPath::default(),
                    flag: None,
                    kind: ScenarioErrorKind::BadValue(
                        "a scenario is a mapping of fields (`name: ...`, `kind: ...`)".to_owned(),
                    ),
                });
            }
        };
        Ok(Self {
            file: file.to_owned(),
            lines,
            value,
        })
    }

    #[must_use]
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The value at `path` as written in the file, if it is.
    #[must_use]
    pub fn get(&self, path: &FieldPath) -> Option<&Value> {
        get_in(&self.value, path)
    }

    /// Adds a top-level field the file leaves out (e.g. the default `kind`).
    pub fn insert_top_level_default(&mut self, key: &str, value: Value) {
        if let Value::Mapping(map) = &mut self.value
            && !map.contains_key(key)
        {
            map.insert(Value::String(key.to_owned()), value);
        }
    }

    /// Types the document and applies `overrides`, naming the field (and flag) of any error.
    ///
    /// The file is typed first, then serialized back with every default filled in, so an
    /// override can reach any field of the scenario, written in the file or not; an override
    /// whose path the scenario does not have is an error naming that path.
    pub fn load<T: Serialize + DeserializeOwned>(
        &self,
        overrides: &[Override],
    ) -> Result<T, ScenarioError> {
        let from_file: T = self.deserialize(self.value.clone(), &[])?;
        if overrides.is_empty() {
            return Ok(from_file);
        }
        let mut expanded = serde_yaml::to_value(&from_file).map_err(|err| {
            self.error_at(
                FieldPath::default(),
                ScenarioErrorKind::BadValue(format!("cannot expand defaults: {err}")),
                &[],
            )
        })?;
        for item in overrides {
            set_in(&mut expanded, &item.path, item.value.clone()).map_err(|message| {
                let mut err = self.error_at(
                    item.path.clone(),
                    ScenarioErrorKind::BadOverride(message),
                    &[],
                );
                err.flag = Some(item.flag.clone());
                err
            })?;
        }
        self.deserialize(expanded, overrides)
    }

    fn deserialize<T: DeserializeOwned>(
        &self,
        value: Value,
        overrides: &[Override],
    ) -> Result<T, ScenarioError> {
        // Kept to quote what was written when a value is refused; scenarios are small.
        let original = value.clone();
        serde_path_to_error::deserialize(value).map_err(|err| {
            let mut field = field_path_of(err.path());
            let message = strip_location(&err.inner().to_string());
            let kind = if let Some(name) = unknown_field_name(&message) {
                // The tracked path may stop at the map that holds the unknown key.
                if field.0.last() != Some(&PathSegment::Key(name.clone())) {
                    field = field.child(PathSegment::Key(name));
                }
                ScenarioErrorKind::UnknownField
            } else {
                ScenarioErrorKind::BadValue(plain_words(&message, value_at(&original, &field)))
            };
            self.error_at(field, kind, overrides)
        })
    }

    /// An error for `field`, located in the file and attributed to the override that set it.
    #[must_use]
    pub fn error_at(
        &self,
        field: FieldPath,
        kind: ScenarioErrorKind,
        overrides: &[Override],
    ) -> ScenarioError {
        let flag = overrides
            .iter()
            .filter(|item| field.0.starts_with(&item.path.0))
            .max_by_key(|item| item.path.0.len())
            .map(|item| item.flag.clone());
        ScenarioError {
            file: self.file.clone(),
            line: self.lines.line_of(&field),
            field,
            flag,
            kind,
        }
    }

    /// A validation failure reported as a dotted field path (`calendar.nemid_shutdown`).
    #[must_use]
    pub fn invalid(
        &self,
        field_path: &str,
        message: &str,
        overrides: &[Override],
    ) -> ScenarioError {
        let field = FieldPath::parse(field_path).unwrap_or_default();
        self.error_at(
            field,
            ScenarioErrorKind::Invalid(message.to_owned()),
            overrides,
        )
    }
}

fn get_in<'v>(value: &'v Value, path: &FieldPath) -> Option<&'v Value> {
    let mut node = value;
    for segment in &path.0 {
        node = match (segment, node) {
            (PathSegment::Key(key), Value::Mapping(map)) => map.get(key.as_str())?,
            (PathSegment::Index(index), Value::Sequence(items)) => items.get(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Replaces the value at `path`, which must exist (the value has every field, defaults included).
fn set_in(value: &mut Value, path: &FieldPath, new: Value) -> Result<(), String> {
    let mut node = value;
    let mut walked = FieldPath::default();
    for segment in &path.0 {
        walked = walked.child(segment.clone());
        let next = match (segment, node) {
            (PathSegment::Key(key), Value::Mapping(map)) => map.get_mut(key.as_str()),
            (PathSegment::Index(index), Value::Sequence(items)) => {
                // A list is not a set of fields: name its length, so `[5]` of a list of two reads
                // as the out-of-range index it is.
                let len = items.len();
                match items.get_mut(*index) {
                    Some(item) => Some(item),
                    None => {
                        return Err(match len {
                            0 => format!("`{walked}` is past the end of the list: it is empty"),
                            1 => format!(
                                "`{walked}` is past the end of the list: it has 1 entry, index 0"
                            ),
                            n => format!(
                                "`{walked}` is past the end of the list: it has {n} entries, \
                                 indexes 0 to {}",
                                n - 1
                            ),
                        });
                    }
                }
            }
            _ => None,
        };
        match next {
            Some(child) => node = child,
            None => {
                return Err(format!(
                    "unknown field `{walked}`: the scenario has no such field"
                ));
            }
        }
    }
    *node = new;
    Ok(())
}

/// What the command line changes in a scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--set a.b.c=value`, in order (a later one wins).
    pub sets: Vec<String>,
    /// `--population N`: the policy model's `population.size`.
    pub population: Option<u32>,
    /// `--seed S`: the scenario's `seed`.
    pub seed: Option<u64>,
}

/// A typed, validated scenario of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// `kind: policy` (the default): a synthetic Denmark through the `NemID` phase-out.
    // Boxed: the policy scenario is far larger than the queue one.
    Policy(Box<crate::policy::PolicyScenario>),
    /// `kind: queue`: one queue, to check the kernel against queueing theory.
    Queue(crate::queue_model::QueueScenario),
}

impl Scenario {
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Scenario::Policy(policy) => &policy.name,
            Scenario::Queue(queue) => &queue.name,
        }
    }

    /// The seed the run uses (the file's, or `--seed`).
    #[must_use]
    pub fn seed(&self) -> u64 {
        match self {
            Scenario::Policy(policy) => policy.seed,
            Scenario::Queue(queue) => queue.seed,
        }
    }

    /// `policy` or `queue`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Scenario::Policy(_) => "policy",
            Scenario::Queue(_) => "queue",
        }
    }
}

/// Loads a scenario from its file name and text, applying command-line `overrides`.
///
/// Every error names the file, the line and the field (and the flag, when an override is at
/// fault): syntax errors, unknown fields, wrong types and failed validation alike.
pub fn load(file: &str, text: &str, overrides: &Overrides) -> Result<Scenario, ScenarioError> {
    let mut document = ScenarioDocument::parse(file, text)?;
    let kind_path = FieldPath(vec![PathSegment::Key("kind".to_owned())]);
    let kind = match document.get(&kind_path) {
        None => "policy".to_owned(),
        Some(Value::String(kind)) => kind.clone(),
        Some(_) => {
            return Err(document.error_at(
                kind_path,
                ScenarioErrorKind::BadValue("`kind` must be `policy` or `queue`".to_owned()),
                &[],
            ));
        }
    };
    let mut items = Vec::with_capacity(overrides.sets.len() + 2);
    for assignment in &overrides.sets {
        let item = Override::parse_set(file, assignment)?;
        if item.path.0.first() == Some(&PathSegment::Key("kind".to_owned())) {
            return Err(document.error_at(
                item.path,
                ScenarioErrorKind::BadOverride(
                    "`kind` picks the model and cannot be overridden".to_owned(),
                ),
                &[],
            ));
        }
        items.push(item);
    }
    if let Some(seed) = overrides.seed {
        items.push(Override {
            path: FieldPath(vec![PathSegment::Key("seed".to_owned())]),
            value: Value::from(seed),
            flag: format!("--seed {seed}"),
        });
    }
    match kind.as_str() {
        "policy" => {
            document.insert_top_level_default("kind", Value::String("policy".to_owned()));
            if let Some(size) = overrides.population {
                items.push(Override {
                    path: FieldPath::parse("population.size").unwrap_or_default(),
                    value: Value::from(size),
                    flag: format!("--population {size}"),
                });
            }
            let policy: crate::policy::PolicyScenario = document.load(&items)?;
            policy.validate().map_err(|err| match err.field_path() {
                Some(path) => {
                    let message = match &err {
                        crate::policy::PolicyError::Invalid { message, .. } => message.clone(),
                        other => other.to_string(),
                    };
                    document.invalid(path, &message, &items)
                }
                None => document.error_at(
                    FieldPath::default(),
                    ScenarioErrorKind::Invalid(err.to_string()),
                    &items,
                ),
            })?;
            Ok(Scenario::Policy(Box::new(policy)))
        }
        "queue" => {
            if let Some(size) = overrides.population {
                return Err(ScenarioError {
                    file: file.to_owned(),
                    line: None,
                    field: FieldPath::default(),
                    flag: Some(format!("--population {size}")),
                    kind: ScenarioErrorKind::BadOverride(
                        "a queue scenario has no population; set `queue.arrival_rate_per_hour`"
                            .to_owned(),
                    ),
                });
            }
            let queue: crate::queue_model::QueueScenario = document.load(&items)?;
            queue
                .validate()
                .map_err(|err| document.invalid(err.field, &err.problem, &items))?;
            Ok(Scenario::Queue(queue))
        }
        other => Err(document.error_at(
            kind_path,
            ScenarioErrorKind::BadValue(format!(
                "unknown kind `{other}`: expected `policy` or `queue`"
            )),
            &[],
        )),
    }
}

/// `serde_yaml` appends ` at line L column C`; the loader prints the line itself.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The value written at `field`, if the document has one there.
fn value_at<'v>(mut value: &'v Value, field: &FieldPath) -> Option<&'v Value> {
    for segment in &field.0 {
        value = match segment {
            PathSegment::Key(key) => value.get(key.as_str())?,
            PathSegment::Index(index) => value.get(*index)?,
        };
    }
    Some(value)
}

/// chrono's date parse errors: they carry no value and no format, so the loader adds both.
const DATE_ERRORS: [&str; 6] = [
    "input contains invalid characters",
    "premature end of input",
    "trailing input",
    "no possible date and time matching input",
    "input is not enough for unique date and time",
    "bad or unsupported format string",
];

/// Serde's and chrono's wording ("expected u32", "input is out of range") in a planner's words:
/// what was written and what is allowed. Messages it does not recognise pass through unchanged.
fn plain_words(message: &str, written: Option<&Value>) -> String {
    let shown = written.map(|value| match value {
        Value::String(text) => format!("`{text}`"),
        other => format!(
            "`{}`",
            serde_yaml::to_string(other).unwrap_or_default().trim()
        ),
    });
    let what = shown.as_deref().unwrap_or("the value");
    if message == "input is out of range" {
        return format!(
            "{what} is not a day of the calendar (the month has fewer days, or the month is \
             not 1 to 12); write a real date as YYYY-MM-DD"
        );
    }
    if DATE_ERRORS.contains(&message) {
        return format!("{what} is not a date; write it as YYYY-MM-DD, e.g. 2023-10-31");
    }
    let allowed = [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65 535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4 294 967 295",
        ),
        ("expected u64", "expected a whole number from 0 upwards"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
    ];
    let mut plain = message.to_owned();
    for (serde, words) in allowed {
        if let Some(at) = plain.find(serde)
            && !plain[at + serde.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            plain.replace_range(at..at + serde.len(), words);
        }
    }
    if plain != message
        && let Some(shown) = &shown
    {
        // "invalid value: integer `-5`, expected …" → "`-5` is not allowed: expected …"
        if let Some((_, expected)) = plain.split_once(", expected ") {
            return format!("{shown} is not allowed: expected {expected}");
        }
    }
    plain
}

fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    Some(rest[..end].to_owned())
}

#[cfg(test)]
mod tests;
