//! What the counter hands out once the person is proven: MitID at IAL High with its
//! authenticators (or an existing identity raised to High), P codes for people without a CPR
//! number, and the record of a MitID issued elsewhere (for the witness rule).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate};
use mitid_devices::pcode::{PCode, PCodeError};
use mitid_devices::time::Timestamp;
use serde::Deserialize;

use super::proofing::{authenticator_request, with_proofing};
use super::{
    IssueRequest, Issued, MAX_OPEN, PCodeEntry, PCodeIssued, PCodeRequest, RedeemRequest, Shared,
    parse_cpr,
};
use crate::idp::admin::{
    AddAuthenticatorRequest, CreateIdentityRequest, Ial, IdentityView, PersonRef,
};
use crate::service::{ApiError, Json, NeighbourError, Path};

pub(super) async fn issue(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<IssueRequest>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let (cpr, proven) = with_proofing(&office, &id, |p| Ok((p.cpr, p.proven())))?;
    if !proven {
        return Err(ApiError::Forbidden(
            "not_proven: verify a document and answer the CPR questions, or bring a witness".into(),
        ));
    }
    if req.authenticators.len() > 5 {
        return Err(ApiError::invalid_request("field authenticators: at most 5"));
    }
    let wanted: Vec<AddAuthenticatorRequest> = req
        .authenticators
        .iter()
        .map(|k| authenticator_request(k, req.password.as_ref()))
        .collect::<Result<_, _>>()?;
    let phone = req
        .phone_number
        .as_deref()
        .map(crate::sms::normalize_phone)
        .transpose()?;
    let person = office.cpr.person(&cpr).await?;
    let (identity, existing) = if let Some(found) = office.idp.by_cpr(&cpr.compact()).await? {
        (office.idp.set_ial(&found.uuid, Ial::High).await?, true)
    } else {
        let created = office
            .idp
            .create(&CreateIdentityRequest {
                person: PersonRef::Cpr(cpr.compact()),
                name: person.full_name(),
                date_of_birth: person.birth_date.to_string(),
                ial: Ial::High,
                user_id: req.user_id.clone(),
                nemid_pid: None,
            })
            .await?;
        office
            .desk()
            .mitid_since
            .insert(cpr, office.config.clock.now());
        (created, false)
    };
    // A new app for an existing MitID at the counter is the reactivation of a lost or replaced
    // phone: as with the passport reactivation (idp/ENROLMENT_API.md), the old phone's app must
    // no longer approve logins.
    let revoked_apps = if existing && wanted.contains(&AddAuthenticatorRequest::App) {
        office.idp.revoke_apps(&identity.uuid).await?.revoked_apps
    } else {
        0
    };
    let mut issued = Vec::new();
    for w in &wanted {
        issued.push(office.idp.add_authenticator(&identity.uuid, w).await?);
    }
    if let Some(phone) = phone {
        office.cpr.set_phone(&cpr, Some(&phone)).await?;
    }
    with_proofing(&office, &id, |p| {
        p.issued_uuid = Some(identity.uuid.clone());
        Ok(())
    })?;
    Ok((
        StatusCode::CREATED,
        Json(Issued {
            identity,
            existing,
            revoked_apps,
            authenticators: issued,
        }),
    ))
}

/// Earliest birth year a living person can have (the oldest verified human lived 122 years;
/// 1880 leaves room without letting year 1 or -1 through).
const EARLIEST_BIRTH_YEAR: i32 = 1880;

/// A birth date a person at the counter can have: from [`EARLIEST_BIRTH_YEAR`] up to today of
/// the lab clock (a date in the future is a typing error, not a person).
pub(super) fn check_birth_date(date: NaiveDate, today: NaiveDate) -> Result<(), ApiError> {
    if date.year() < EARLIEST_BIRTH_YEAR || date > today {
        return Err(ApiError::invalid_request(format!(
            "field `date_of_birth`: {date} is outside the allowed range {EARLIEST_BIRTH_YEAR}-01-01 to {today} (today on the lab clock)"
        )));
    }
    Ok(())
}

pub(super) async fn issue_p_code(
    State(office): State<Shared>,
    Json(req): Json<PCodeRequest>,
) -> Result<(StatusCode, Json<PCodeIssued>), ApiError> {
    if req.name.trim().is_empty() || req.name.len() > 100 || req.name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_request(
            "field name: 1–100 printable characters",
        ));
    }
    if req.passport_number.trim().is_empty() || req.passport_number.len() > 20 {
        return Err(ApiError::invalid_request(
            "field passport_number: 1–20 characters",
        ));
    }
    check_birth_date(req.date_of_birth, office.config.clock.today())?;
    let now = office.config.clock.now();
    let mut desk = office.desk();
    if desk.p_codes.len() >= MAX_OPEN {
        desk.p_codes.retain(|_, e| !e.code.used);
    }
    let code = PCode::issue(Timestamp::from_unix_secs(now.max(0) as u64), &mut desk.rng);
    let id = desk.id("pc");
    let issued = PCodeIssued {
        p_code_id: id.clone(),
        p_code: code.reveal_code().to_owned(),
        expires_at: code.expires_at(&office.config.p_code_policy).unix_secs() as i64,
    };
    desk.p_codes.insert(
        id,
        PCodeEntry {
            code,
            name: req.name.trim().to_owned(),
            date_of_birth: req.date_of_birth,
        },
    );
    Ok((StatusCode::CREATED, Json(issued)))
}

pub(super) async fn redeem_p_code(
    State(office): State<Shared>,
    Path(id): Path<String>,
    Json(req): Json<RedeemRequest>,
) -> Result<(StatusCode, Json<IdentityView>), ApiError> {
    let now = Timestamp::from_unix_secs(office.config.clock.now().max(0) as u64);
    let (create, code) = {
        let mut desk = office.desk();
        let entry = desk
            .p_codes
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("no such P code"))?;
        entry
            .code
            .verify(&req.code, now, &office.config.p_code_policy)
            .map_err(|e| match e {
                PCodeError::Wrong { .. } => ApiError::invalid_request(format!("p_code: {e}")),
                _ => ApiError::Forbidden(format!("p_code: {e}")),
            })?;
        (
            CreateIdentityRequest {
                person: PersonRef::PCode(entry.code.reveal_code().to_owned()),
                name: entry.name.clone(),
                date_of_birth: entry.date_of_birth.to_string(),
                ial: Ial::Substantial,
                user_id: req.user_id.clone(),
                nemid_pid: None,
            },
            entry.code.reveal_code().to_owned(),
        )
    };
    let identity = office
        .idp
        .create(&create)
        .await
        .map_err(|e: NeighbourError| ApiError::from(e))?;
    debug_assert_eq!(identity.person, PersonRef::PCode(code));
    Ok((StatusCode::CREATED, Json(identity)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MitidIssued {
    cpr: String,
    /// Unix seconds.
    issued_at: i64,
}

pub(super) async fn record_mitid(
    State(office): State<Shared>,
    Json(req): Json<MitidIssued>,
) -> Result<StatusCode, ApiError> {
    let cpr = parse_cpr(&req.cpr, "cpr")?;
    if req.issued_at > office.config.clock.now() {
        return Err(ApiError::invalid_request(
            "field issued_at: is in the future",
        ));
    }
    office.desk().mitid_since.insert(cpr, req.issued_at);
    Ok(StatusCode::NO_CONTENT)
}
