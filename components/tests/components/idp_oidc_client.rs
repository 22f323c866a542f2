//! A standard OIDC relying-party library (the `openidconnect` crate) completes the code flow
//! against the IdP and validates the ID token the way an integrator would: discovery, JWKS,
//! signature, issuer, audience, expiry, nonce, PKCE; then userinfo.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse,
};
use serde_json::Value;

use super::idp_support::{BASIC_SECRET, Lab, REDIRECT, decode, redirect_params};

/// The library's HTTP client contract, fulfilled with plain-HTTP reqwest (no TLS stack).
#[derive(Debug, thiserror::Error)]
#[error("HTTP: {0}")]
struct HttpError(String);

async fn send(
    http: reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut builder = axum::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| HttpError(e.to_string()))?
        .to_vec();
    builder.body(body).map_err(|e| HttpError(e.to_string()))
}
/// What `CoreClient::from_provider_metadata` yields: the authorization endpoint set, the token
/// and userinfo endpoints as discovered.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A token signed by a foreign key is refused by the same library.
async fn assert_library_refuses_foreign_key_token(
    lab: &Lab,
    client_id: &str,
    client: &DiscoveredClient,
    http: &reqwest::Client,
) {
    let http_client = |request: openidconnect::HttpRequest| send(http.clone(), request);
    let state = format!("lib-{}", super::idp_support::rand_text());
    lab.control_post(
        "/control/scripts",
        &serde_json::json!({"match": {"client_id": client_id, "state": state}, "user_id": "anna.jensen",
                            "id_token": [{"kind": "foreign_key"}]}),
    )
    .await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let fixed_state = state.clone();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(fixed_state.clone()),
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let params = redirect_params(&lab.http.get(url.as_str()).send().await.unwrap());
    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap();
    let refused = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce);
    assert!(
        refused.is_err(),
        "foreign-key token must be refused by the library"
    );
}

async fn run_flow(lab: &Lab, client_id: &str, expect_alg: &str) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let http_client = |request: openidconnect::HttpRequest| send(http.clone(), request);

    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(lab.issuer.clone()).unwrap(),
        &http_client,
    )
    .await
    .unwrap_or_else(|e| panic!("discovery: {e:?}"));
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_owned()),
        Some(ClientSecret::new(BASIC_SECRET.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("mitid".into()))
        .add_scope(Scope::new("ssn".into()))
        .set_pkce_challenge(challenge)
        .add_extra_param("login_hint", "test:anna.jensen")
        .url();
    // The lab plays the browser: one request, the IdP answers with the redirect.
    let response = lab.http.get(url.as_str()).send().await.unwrap();
    let params = redirect_params(&response);
    assert_eq!(params.get("state"), Some(csrf.secret()), "{params:?}");
    let code = params
        .get("code")
        .unwrap_or_else(|| panic!("no code: {params:?}"))
        .clone();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint from discovery")
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap_or_else(|e| panic!("token exchange: {e:?}"));
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .unwrap_or_else(|e| panic!("the library rejects the ID token: {e:?}"));
    assert_eq!(claims.issuer().as_str(), lab.issuer);
    assert_eq!(claims.audiences()[0].as_str(), client_id);
    // at_hash as the library computes it.
    let expected_hash = openidconnect::AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    let raw = decode(&id_token.to_string());
    assert_eq!(raw.alg(), expect_alg);
    assert_eq!(
        raw.claims["dk.cpr"],
        Value::from("0101901234"),
        "{:?}",
        raw.claims
    );
    assert_eq!(
        raw.claims["mitid.uuid"].as_str(),
        Some(claims.subject().as_str())
    );

    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("userinfo endpoint from discovery")
        .request_async(&http_client)
        .await
        .unwrap_or_else(|e| panic!("userinfo: {e:?}"));
    assert_eq!(info.subject(), claims.subject());

    assert_library_refuses_foreign_key_token(lab, client_id, &client, &http).await;
}

#[tokio::test]
async fn openidconnect_library_completes_the_flow_with_es256() {
    let lab = Lab::start().await;
    run_flow(&lab, "sp-basic", "ES256").await;
}

#[tokio::test]
async fn openidconnect_library_completes_the_flow_with_rs256() {
    let lab = Lab::start().await;
    run_flow(&lab, "sp-rs", "RS256").await;
}
