//! Identity-proofing questions generated from register data.
//!
//! Citizen Service and the support line ask a person multiple-choice questions that only the
//! person (or someone who knows them well) can answer: where they live, since when, where they
//! lived before. The register keeps the right answers; the client sees the questions and the
//! options only, and submits answers once. A challenge is single use whatever the outcome, so
//! options cannot be tried one by one.

use std::collections::{BTreeMap, VecDeque};

use chrono::Datelike;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use super::population::{Fixtures, Person, PersonGenerator};

/// Options offered per question (one right, the rest decoys).
pub const OPTIONS_PER_QUESTION: usize = 4;
/// How many questions a challenge asks unless the caller asks for another number.
pub const DEFAULT_QUESTIONS: usize = 3;
/// Open challenges kept; beyond this the oldest are forgotten (bounded memory).
const MAX_OPEN_CHALLENGES: usize = 20_000;

/// One question as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub text: String,
    pub options: Vec<String>,
}

/// A challenge as the client sees it: an id and the questions, never the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub challenge_id: String,
    pub questions: Vec<Question>,
}

/// The register's verdict on a set of answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    pub correct: usize,
    pub asked: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("unknown or already answered challenge {0:?}")]
    Unknown(String),
    #[error("question count must be 1–{max}, got {got}")]
    Count { got: usize, max: usize },
}

#[derive(Debug)]
struct OpenChallenge {
    answers: BTreeMap<String, String>,
}

/// Generates challenges and checks answers. Deterministic for a given seed and call order.
#[derive(Debug)]
pub struct QuestionBank {
    rng: ChaCha8Rng,
    decoys: PersonGenerator,
    open: BTreeMap<String, OpenChallenge>,
    order: VecDeque<String>,
    issued: u64,
}

#[derive(Clone, Copy)]
enum Kind {
    Municipality,
    Street,
    MoveInYear,
    HouseNumber,
    PreviousMunicipality,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Municipality,
        Kind::Street,
        Kind::MoveInYear,
        Kind::HouseNumber,
        Kind::PreviousMunicipality,
    ];

    /// The question as it is put to the person.
    fn text(self) -> &'static str {
        match self {
            Kind::Municipality => "In which municipality is your current address?",
            Kind::PreviousMunicipality => {
                "In which municipality did you live before your current address?"
            }
            Kind::Street => "Which street is your current address on?",
            Kind::MoveInYear => "In which year did you move to your current address?",
            Kind::HouseNumber => "What is the house number of your current address?",
        }
    }

    /// The right answer, from the person's register data.
    fn truth(self, p: &Person) -> String {
        match self {
            Kind::Municipality => p.address.municipality.clone(),
            Kind::PreviousMunicipality => p.previous_municipality.clone().unwrap_or_default(),
            Kind::Street => p.address.street.clone(),
            Kind::MoveInYear => p.moved_in.year().to_string(),
            Kind::HouseNumber => p.address.house_number.to_string(),
        }
    }
}

impl Person {
    /// What the person answers to a question of the register's, knowing their own life: the
    /// lab's citizens and tests answer with it. `None` for a question the register never asks.
    #[must_use]
    pub fn answer_to(&self, question_text: &str) -> Option<String> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.text() == question_text)
            .map(|kind| kind.truth(self))
    }
}

impl QuestionBank {
    #[must_use]
    pub fn new(fixtures: Fixtures, seed: u64, reference_date: chrono::NaiveDate) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5155_4553_5449_4f4e),
            decoys: PersonGenerator::new(fixtures, seed ^ 0x4445_434f_5953, reference_date),
            open: BTreeMap::new(),
            order: VecDeque::new(),
            issued: 0,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    /// The kinds of question that have an answer for this person (at most 5).
    fn kinds_for(person: &Person) -> Vec<Kind> {
        let mut kinds = vec![
            Kind::Municipality,
            Kind::Street,
            Kind::MoveInYear,
            Kind::HouseNumber,
        ];
        if person.previous_municipality.is_some() {
            kinds.push(Kind::PreviousMunicipality);
        }
        kinds
    }

    /// Largest number of questions this person can be asked.
    #[must_use]
    pub fn max_questions(person: &Person) -> usize {
        Self::kinds_for(person).len()
    }

    /// Opens a challenge of `count` questions about `person`.
    pub fn open(&mut self, person: &Person, count: usize) -> Result<Challenge, ChallengeError> {
        let mut kinds = Self::kinds_for(person);
        if count == 0 || count > kinds.len() {
            return Err(ChallengeError::Count {
                got: count,
                max: kinds.len(),
            });
        }
        // Fisher–Yates on the kinds, then keep the first `count`.
        for i in (1..kinds.len()).rev() {
            let j = self.below(i + 1);
            kinds.swap(i, j);
        }
        kinds.truncate(count);
        self.issued += 1;
        let challenge_id = format!("ch-{:016x}{:08x}", self.rng.next_u64(), self.issued);
        let mut questions = Vec::with_capacity(count);
        let mut answers = BTreeMap::new();
        for (n, kind) in kinds.into_iter().enumerate() {
            let (text, right, decoys) = self.material(kind, person);
            let mut options = vec![right.clone()];
            for d in decoys {
                if options.len() == OPTIONS_PER_QUESTION {
                    break;
                }
                if !options.contains(&d) {
                    options.push(d);
                }
            }
            for i in (1..options.len()).rev() {
                let j = self.below(i + 1);
                options.swap(i, j);
            }
            let id = format!("q{}", n + 1);
            answers.insert(id.clone(), right);
            questions.push(Question { id, text, options });
        }
        self.open
            .insert(challenge_id.clone(), OpenChallenge { answers });
        self.order.push_back(challenge_id.clone());
        while self.order.len() > MAX_OPEN_CHALLENGES {
            if let Some(old) = self.order.pop_front() {
                self.open.remove(&old);
            }
        }
        Ok(Challenge {
            challenge_id,
            questions,
        })
    }

    /// Checks answers (question id → chosen option text; case and surrounding space ignored)
    /// and closes the challenge. Every question must be answered right to pass.
    pub fn answer(
        &mut self,
        challenge_id: &str,
        answers: &BTreeMap<String, String>,
    ) -> Result<Verdict, ChallengeError> {
        let open = self
            .open
            .remove(challenge_id)
            .ok_or_else(|| ChallengeError::Unknown(challenge_id.to_owned()))?;
        self.order.retain(|id| id != challenge_id);
        let asked = open.answers.len();
        let correct = open
            .answers
            .iter()
            .filter(|(id, right)| {
                answers
                    .get(*id)
                    .is_some_and(|given| given.trim().to_lowercase() == right.to_lowercase())
            })
            .count();
        Ok(Verdict {
            passed: correct == asked,
            correct,
            asked,
        })
    }

    fn other_municipalities(&mut self, not: &[&str]) -> Vec<String> {
        let all: Vec<String> = self
            .decoys
            .fixtures()
            .municipalities()
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let mut out = Vec::new();
        while out.len() < OPTIONS_PER_QUESTION + 2 {
            let pick = all[self.below(all.len())].clone();
            if !not.contains(&pick.as_str()) && !out.contains(&pick) {
                out.push(pick);
            }
        }
        out
    }

    fn material(&mut self, kind: Kind, p: &Person) -> (String, String, Vec<String>) {
        let previous = p.previous_municipality.clone().unwrap_or_default();
        let decoys = match kind {
            Kind::Municipality | Kind::PreviousMunicipality => {
                self.other_municipalities(&[&p.address.municipality, &previous])
            }
            Kind::Street => (0..OPTIONS_PER_QUESTION + 4)
                .map(|_| self.decoys.decoy_street())
                .filter(|s| *s != p.address.street)
                .collect(),
            Kind::MoveInYear => {
                let year = p.moved_in.year();
                let mut decoys = Vec::new();
                for delta in [1, -1, 2, -2, 3, -3, 4] {
                    let y = year + delta;
                    if y >= p.birth_date.year() && y <= p.moved_in.year() + 4 {
                        decoys.push(y.to_string());
                    }
                }
                for i in (1..decoys.len()).rev() {
                    let j = self.below(i + 1);
                    decoys.swap(i, j);
                }
                decoys
            }
            Kind::HouseNumber => {
                let n = i32::from(p.address.house_number);
                [n + 2, n - 2, n + 11, n + 1, n - 1, n + 23]
                    .into_iter()
                    .filter(|&d| d >= 1)
                    .map(|d| d.to_string())
                    .collect()
            }
        };
        (kind.text().to_owned(), kind.truth(p), decoys)
    }
}
