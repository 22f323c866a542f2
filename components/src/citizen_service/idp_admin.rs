//! Client of the IdP's identity admin API (`idp/ADMIN_API.md`), used by Citizen Service and the
//! support line. Every call carries the configured timeout; failures are [`NeighbourError`]s
//! naming the IdP.

// Domain names such as MitID, NemID, IdP and LoA are words here, not code to backtick.
#![allow(clippy::doc_markdown)]

use crate::idp::admin::{
    AddAuthenticatorRequest, AppsRevoked, AuthenticatorIssued, CreateIdentityRequest, Ial,
    IdentityView, PasswordReset, PasswordResetRequest, SetIalRequest, TemporaryPinIssued,
};
use crate::service::{JsonCaller, NeighbourError};

/// Talks to `/admin/...` on the IdP's control listener.
#[derive(Debug, Clone)]
pub struct IdpAdminClient {
    caller: JsonCaller,
}

fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl IdpAdminClient {
    /// `base_url`: the IdP control listener, without trailing slash.
    #[must_use]
    pub fn new(base_url: &str, http: reqwest::Client) -> Self {
        Self {
            caller: JsonCaller::new("idp", base_url, http),
        }
    }

    /// The identity of a CPR number (10 digits, no dash), or `None` when the person has no MitID.
    pub async fn by_cpr(&self, cpr: &str) -> Result<Option<IdentityView>, NeighbourError> {
        let c = &self.caller;
        match c
            .call(
                c.http
                    .get(c.url(&format!("/admin/identities/by-cpr/{}", segment(cpr)))),
            )
            .await
        {
            Ok(view) => Ok(Some(view)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn create(
        &self,
        req: &CreateIdentityRequest,
    ) -> Result<IdentityView, NeighbourError> {
        let c = &self.caller;
        c.call(c.http.post(c.url("/admin/identities")).json(req))
            .await
    }

    pub async fn set_ial(&self, uuid: &str, ial: Ial) -> Result<IdentityView, NeighbourError> {
        let c = &self.caller;
        c.call(
            c.http
                .put(c.url(&format!("/admin/identities/{}/ial", segment(uuid))))
                .json(&SetIalRequest { ial }),
        )
        .await
    }

    pub async fn add_authenticator(
        &self,
        uuid: &str,
        req: &AddAuthenticatorRequest,
    ) -> Result<AuthenticatorIssued, NeighbourError> {
        let c = &self.caller;
        c.call(
            c.http
                .post(c.url(&format!(
                    "/admin/identities/{}/authenticators",
                    segment(uuid)
                )))
                .json(req),
        )
        .await
    }

    /// Revokes every app of the identity (the citizen's phone is lost or replaced).
    pub async fn revoke_apps(&self, uuid: &str) -> Result<AppsRevoked, NeighbourError> {
        let c = &self.caller;
        c.call(
            c.http
                .post(c.url(&format!("/admin/identities/{}/apps/revoke", segment(uuid)))),
        )
        .await
    }

    pub async fn temporary_pin(&self, uuid: &str) -> Result<TemporaryPinIssued, NeighbourError> {
        let c = &self.caller;
        c.call(c.http.post(c.url(&format!(
            "/admin/identities/{}/temporary-pin",
            segment(uuid)
        ))))
        .await
    }

    pub async fn password_reset(&self, uuid: &str) -> Result<PasswordReset, NeighbourError> {
        let c = &self.caller;
        c.call(
            c.http
                .post(c.url(&format!(
                    "/admin/identities/{}/password-reset",
                    segment(uuid)
                )))
                .json(&PasswordResetRequest { new_password: None }),
        )
        .await
    }
}
