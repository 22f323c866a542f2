//! Identity proofing at the counter: a session per person, checked by an identity document plus
//! questions from the CPR register, or by a witness under the witness rules.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{
    DocumentCheck, MAX_OPEN, Office, Proofing, ProofingView, Shared, WITNESS_MAX_PER_WINDOW,
    WITNESS_MIN_AGE, WITNESS_MIN_MITID_DAYS, WITNESS_WINDOW_DAYS, parse_cpr,
};
use crate::cpr::Challenge;
use crate::idp::admin::AddAuthenticatorRequest;
use crate::service::{ApiError, Json, Path};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenProofing {
    cpr: String,
}

pub(super) fn view(id: &str, p: &Proofing) -> ProofingView {
    ProofingView {
        proofing_id: id.to_owned(),
        cpr: p.cpr.to_string(),
        document_verified: p.document_verified,
        questions_passed: p.questions_passed,
        witness_cpr: p.witness.map(|w| w.to_string()),
        proven: p.proven(),
        issued_uuid: p.issued_uuid.clone(),
    }
}

pub(super) async fn open_proofing(
    State(office): State<Shared>,
    Json(req): Json<OpenProofing>,
) -> Result<(StatusCode, Json<ProofingView>), ApiError> {
    let cpr = parse_cpr(&req.cpr, "cpr")?;
    // The person must exist in the register; a failing register is a 502/504, not a guess.
    office.cpr.person(&cpr).await?;
    let mut desk = office.desk();
    let id = desk.id("prf");
    let p = Proofing {
        cpr,
        document_verified: false,
        challenge_id: None,
        questions_passed: false,
        witness: None,
        issued_uuid: None,
    };
    let v = view(&id, &p);
    desk.proofings.insert(id.clone(), p);
    desk.proofing_order.push_back(id);
    while desk.proofing_order.len() > MAX_OPEN {
        if let Some(old) = desk.proofing_order.pop_front() {
            desk.proofings.remove(&old);
        }
    }
    Ok((StatusCode::CREATED, Json(v)))
}

pub(super) fn with_proofing<T>(
    office: &Office,
    id: &str,
    f: impl FnOnce(&mut Proofing) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut desk = office.desk();
    let p = desk
        .proofings
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("no such proofing session"))?;
    f(p)
}

pub(super) async fn proofing(
    State(office): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<ProofingView>, ApiError> {
    with_proofing(&office, &id, |p| Ok(Json(view(&id, p))))
}

pub(super) async fn check_document(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(doc): Json<DocumentCheck>,
) -> Result<Json<ProofingView>, ApiError> {
    let cpr = with_proofing(&office, &id, |p| Ok(p.cpr))?;
    if doc.number.trim().is_empty() || doc.number.len() > 20 {
        return Err(ApiError::invalid_request("field number: 1–20 characters"));
    }
    let person = office.cpr.person(&cpr).await?;
    let on_record = match doc.kind.as_str() {
        "passport" => person.passport_number,
        "driving_licence" => person.driving_licence_number,
        _ => {
            return Err(ApiError::invalid_request(
                "field kind: passport or driving_licence",
            ));
        }
    };
    if on_record.as_deref() != Some(doc.number.trim()) {
        return Err(ApiError::Forbidden(format!(
            "document_mismatch: that {} is not registered to {cpr}",
            doc.kind
        )));
    }
    with_proofing(&office, &id, |p| {
        p.document_verified = true;
        Ok(Json(view(&id, p)))
    })
}

pub(super) async fn ask_questions(
    State(office): State<Shared>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Challenge>), ApiError> {
    let cpr = with_proofing(&office, &id, |p| Ok(p.cpr))?;
    let challenge = office.cpr.open_questions(&cpr, None).await?;
    with_proofing(&office, &id, |p| {
        p.challenge_id = Some(challenge.challenge_id.clone());
        Ok(())
    })?;
    Ok((StatusCode::CREATED, Json(challenge)))
}

/// Answers to CPR questions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub answers: BTreeMap<String, String>,
}

pub(super) async fn answer_questions(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<Answers>,
) -> Result<Json<ProofingView>, ApiError> {
    let challenge = with_proofing(&office, &id, |p| {
        p.challenge_id
            .take()
            .ok_or_else(|| ApiError::Conflict("ask the questions first".into()))
    })?;
    let verdict = office.cpr.answer(&challenge, &req.answers).await?;
    with_proofing(&office, &id, |p| {
        p.questions_passed = verdict.passed;
        if verdict.passed {
            Ok(Json(view(&id, p)))
        } else {
            Err(ApiError::Forbidden(format!(
                "questions_failed: {} of {} answers right",
                verdict.correct, verdict.asked
            )))
        }
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WitnessRequest {
    witness_cpr: String,
}

pub(super) async fn witness(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<WitnessRequest>,
) -> Result<Json<ProofingView>, ApiError> {
    let witness = parse_cpr(&req.witness_cpr, "witness_cpr")?;
    let subject = with_proofing(&office, &id, |p| Ok(p.cpr))?;
    if witness == subject {
        return Err(ApiError::Forbidden(
            "witness_rule: a person cannot witness for themselves".into(),
        ));
    }
    let person = office.cpr.person(&witness).await?;
    let clock = &office.config.clock;
    let age = person.age_on(clock.today());
    if age < WITNESS_MIN_AGE {
        return Err(ApiError::Forbidden(format!(
            "witness_rule: the witness is {age}, must be {WITNESS_MIN_AGE} or older"
        )));
    }
    let identity = office.idp.by_cpr(&witness.compact()).await?;
    if identity.as_ref().is_none_or(|i| i.blocked) {
        return Err(ApiError::Forbidden(
            "witness_rule: the witness has no usable MitID".into(),
        ));
    }
    let now = clock.now();
    let mut desk = office.desk();
    let since = desk.mitid_since.get(&witness).copied().ok_or_else(|| {
        ApiError::Forbidden(
            "witness_rule: Citizen Service has no record of when the witness got MitID".into(),
        )
    })?;
    if now - since <= WITNESS_MIN_MITID_DAYS * 86_400 {
        return Err(ApiError::Forbidden(format!(
            "witness_rule: the witness has had MitID for {} days, must be more than {WITNESS_MIN_MITID_DAYS}",
            (now - since) / 86_400
        )));
    }
    let recent = desk.witnessings.get(&witness).map_or(0, |t| {
        t.iter()
            .filter(|&&at| now - at < WITNESS_WINDOW_DAYS * 86_400)
            .count()
    });
    if recent >= WITNESS_MAX_PER_WINDOW {
        return Err(ApiError::Forbidden(format!(
            "witness_rule: the witness has witnessed {recent} times in {WITNESS_WINDOW_DAYS} days (at most {WITNESS_MAX_PER_WINDOW})"
        )));
    }
    let p = desk
        .proofings
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("no such proofing session"))?;
    p.witness = Some(witness);
    let v = view(&id, p);
    desk.witnessings.entry(witness).or_default().push(now);
    Ok(Json(v))
}

pub(super) fn authenticator_request(
    kind: &str,
    password: Option<&String>,
) -> Result<AddAuthenticatorRequest, ApiError> {
    match kind {
        "app" => Ok(AddAuthenticatorRequest::App),
        "code_display" => Ok(AddAuthenticatorRequest::CodeDisplay),
        "audio_code_reader" => Ok(AddAuthenticatorRequest::AudioCodeReader),
        "password" => password
            .map(|p| AddAuthenticatorRequest::Password {
                password: p.clone(),
            })
            .ok_or_else(|| {
                ApiError::invalid_request("field password: needed for a password authenticator")
            }),
        other => Err(ApiError::invalid_request(format!(
            "field authenticators: {other:?} is not app, code_display, audio_code_reader or password (chips are activated on MitID.dk)"
        ))),
    }
}
