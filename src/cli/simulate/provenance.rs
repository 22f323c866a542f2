//! Where a run's figures come from: the command that reproduces them, every override, the
//! scenario file's hash, the lab's version and the seed. Written into summary.json and at the
//! top of the reports, so a figure copied out of a report can be traced and re-made.
//!
//! Only what decides the figures is recorded: the report folder (`--out`) and `--force` are
//! left out, so two runs of the same command into different folders keep byte-identical
//! summaries.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// What made a run.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The scenario file as given on the command line.
    pub scenario_file: String,
    /// Lower-case hex SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    /// Every `--set FIELD=VALUE`, in order.
    pub sets: Vec<String>,
    /// `--population`, if given.
    pub population: Option<u32>,
    /// `--seed`, if given.
    pub seed_override: Option<u64>,
    /// The seed the run used (the override or the scenario's).
    pub seed: u64,
    /// Lines of the scenario file that mark a value as an assumption: `(line number, text)`.
    pub assumptions: Vec<(usize, String)>,
}

impl Provenance {
    #[must_use]
    pub fn new(
        scenario_file: &str,
        scenario_bytes: &[u8],
        sets: &[String],
        population: Option<u32>,
        seed_override: Option<u64>,
        seed: u64,
    ) -> Self {
        Self {
            scenario_file: scenario_file.to_owned(),
            scenario_sha256: hex(&Sha256::digest(scenario_bytes)),
            sets: sets.to_vec(),
            population,
            seed_override,
            seed,
            assumptions: assumption_lines(&String::from_utf8_lossy(scenario_bytes)),
        }
    }

    /// The version of the lab that ran.
    #[must_use]
    pub fn lab_version() -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    /// The command line that reproduces the figures, quoted for a POSIX shell.
    #[must_use]
    pub fn command(&self) -> String {
        let mut words = vec![
            "mitid-lab".to_owned(),
            "simulate".to_owned(),
            shell_quote(&self.scenario_file),
        ];
        for set in &self.sets {
            words.push("--set".to_owned());
            words.push(shell_quote(set));
        }
        if let Some(population) = self.population {
            words.push(format!("--population {population}"));
        }
        if let Some(seed) = self.seed_override {
            words.push(format!("--seed {seed}"));
        }
        words.join(" ")
    }

    /// The `provenance` object of summary.json.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "command": self.command(),
            "scenario_file": self.scenario_file,
            "scenario_sha256": self.scenario_sha256,
            "sets": self.sets,
            "population_override": self.population,
            "seed_override": self.seed_override,
            "seed": self.seed,
            "lab_version": Self::lab_version(),
        })
    }

    /// What the command changed from the scenario file (`--set`s and `--population`), or
    /// `None` when it ran the file as written; a what-if's reports name it in their title.
    #[must_use]
    pub fn changes(&self) -> Option<String> {
        let mut changes = self.sets.clone();
        if let Some(population) = self.population {
            changes.push(format!("population.size={population}"));
        }
        (!changes.is_empty()).then(|| changes.join(", "))
    }

    /// The report's opening facts: what changed and how to re-make the figures.
    #[must_use]
    pub fn report_facts(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "changed from the scenario file",
                self.changes()
                    .unwrap_or_else(|| "nothing: the file as written".to_owned()),
            ),
            ("command", self.command()),
            (
                "scenario file",
                format!("{} (sha256 {})", self.scenario_file, self.scenario_sha256),
            ),
            ("lab version", Self::lab_version().to_owned()),
        ]
    }
}

/// The scenario's own marking: every line whose text says "assumption" (the project's rule is
/// that every number not found in a source says so), with its 1-based line number.
fn assumption_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.to_ascii_lowercase().contains("assumption"))
        .map(|(i, line)| (i + 1, line.trim().to_owned()))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        use std::fmt::Write as _;
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// `word` as one shell word: unchanged when it holds only safe characters, else single-quoted.
fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_reproduces_the_run_and_quotes_what_a_shell_would_split() {
        let p = Provenance::new(
            "scenarios/x.yaml",
            b"kind: policy\n",
            &["capacities.citizen_service.surges=[{from: 2022-01-01}]".to_owned()],
            Some(3000),
            Some(7),
            7,
        );
        assert_eq!(
            p.command(),
            "mitid-lab simulate scenarios/x.yaml --set \
             'capacities.citizen_service.surges=[{from: 2022-01-01}]' --population 3000 --seed 7"
        );
        // sha256 of "kind: policy\n", computed independently with `sha256sum`.
        assert_eq!(
            p.scenario_sha256,
            "2d5ebae13f2233afe0397d51ff96765b958a8e862a5ba0b0ff2b012816bf1a48"
        );
        assert!(p.assumptions.is_empty());
        let marked = Provenance::new(
            "s.yaml",
            b"seed: 1\nno_show: 0.05  # assumption: kept\n# Sources: DOMAIN.md\n",
            &[],
            None,
            None,
            1,
        );
        assert_eq!(
            marked.assumptions,
            vec![(2, "no_show: 0.05  # assumption: kept".to_owned())]
        );
        let facts = p.report_facts();
        assert!(facts[0].1.contains("surges=") && facts[0].1.contains("population.size=3000"));
    }
}
