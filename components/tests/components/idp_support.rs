//! Shared set-up for the IdP tests: an IdP on two loopback listeners with a few clients and
//! test identities, and small helpers for the code flow.

use std::collections::HashMap;

use mitid_components::idp::admin::{CreateIdentityRequest, Ial, PersonRef};
use mitid_components::idp::jose::{self, Alg, Unverified};
use mitid_components::idp::{ClientAuthMethod, ClientConfig, Idp, IdpConfig, RateLimit};
use mitid_components::service::{self, RunningService};
use serde_json::{Value, json};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const BASIC_SECRET: &str = "basic-secret-0123456789";
pub const POST_SECRET: &str = "post-secret-0123456789";

pub struct Lab {
    pub issuer: String,
    pub control: String,
    pub http: reqwest::Client,
    /// Private key of the `sp-jwt` client (`private_key_jwt`).
    pub client_key: jose::SigningKey,
    _public: RunningService,
    _control: RunningService,
}

pub fn identities() -> Vec<CreateIdentityRequest> {
    vec![
        CreateIdentityRequest {
            person: PersonRef::Cpr("0101901234".into()),
            name: "Anna Jensen".into(),
            date_of_birth: "1990-01-01".into(),
            ial: Ial::Substantial,
            user_id: Some("anna.jensen".into()),
            nemid_pid: Some("9208-2002-2-123456789012".into()),
        },
        CreateIdentityRequest {
            person: PersonRef::PCode("12345678".into()),
            name: "John Smith".into(),
            date_of_birth: "1985-03-04".into(),
            ial: Ial::Substantial,
            user_id: Some("john.smith".into()),
            nemid_pid: None,
        },
        CreateIdentityRequest {
            person: PersonRef::Cpr("0202802345".into()),
            name: "Helle Nielsen".into(),
            date_of_birth: "1980-02-02".into(),
            ial: Ial::High,
            user_id: Some("helle.nielsen".into()),
            nemid_pid: None,
        },
        CreateIdentityRequest {
            person: PersonRef::Cpr("0303703456".into()),
            name: "Lars Hansen".into(),
            date_of_birth: "1970-03-03".into(),
            ial: Ial::Low,
            user_id: Some("lars.hansen".into()),
            nemid_pid: None,
        },
    ]
}

pub fn client(id: &str, method: ClientAuthMethod, secret: Option<&str>, alg: Alg) -> ClientConfig {
    ClientConfig {
        client_id: id.into(),
        client_secret: secret.map(str::to_owned),
        redirect_uris: vec![REDIRECT.into()],
        token_endpoint_auth_method: method,
        jwks: None,
        backchannel_logout_uri: None,
        post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
        id_token_signed_response_alg: alg,
    }
}

impl Lab {
    pub async fn start() -> Lab {
        Lab::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut IdpConfig)) -> Lab {
        let public = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind public");
        let control = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind control");
        let issuer = format!("http://{}", public.local_addr().expect("addr"));
        let client_key = jose::SigningKey::from_seed(Alg::ES256, 4242).expect("client key");
        let mut config = IdpConfig::new(issuer.clone());
        config.identities = identities();
        config.rate_limit = RateLimit {
            max_attempts: 1000,
            window_seconds: 60,
        };
        config.clients = vec![
            client(
                "sp-basic",
                ClientAuthMethod::ClientSecretBasic,
                Some(BASIC_SECRET),
                Alg::ES256,
            ),
            client(
                "sp-post",
                ClientAuthMethod::ClientSecretPost,
                Some(POST_SECRET),
                Alg::ES256,
            ),
            client(
                "sp-rs",
                ClientAuthMethod::ClientSecretBasic,
                Some(BASIC_SECRET),
                Alg::RS256,
            ),
            ClientConfig {
                jwks: Some(json!({ "keys": [client_key.public_jwk()] })),
                ..client("sp-jwt", ClientAuthMethod::PrivateKeyJwt, None, Alg::ES256)
            },
        ];
        adjust(&mut config);
        let idp = Idp::new(config).expect("idp starts");
        let (public_router, control_router) = idp.routers();
        let public = service::spawn(public, public_router).expect("serve public");
        let control_service = service::spawn(control, control_router).expect("serve control");
        Lab {
            issuer,
            control: control_service.url(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("client"),
            client_key,
            _public: public,
            _control: control_service,
        }
    }

    /// GET /authorize with these parameters; the response is not followed.
    pub async fn authorize(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.authorize_in(&self.http, params).await
    }

    /// GET /authorize with these parameters in `browser` (its cookies: single sign-on); the
    /// response is not followed.
    pub async fn authorize_in(
        &self,
        browser: &reqwest::Client,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        browser
            .get(format!("{}/authorize", self.issuer))
            .query(params)
            .send()
            .await
            .expect("authorize answers")
    }

    pub async fn control_post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.control))
            .json(body)
            .send()
            .await
            .expect("control answers")
    }

    /// Sends `body` (if any) as JSON to `url`; the status and the JSON answer (panics, printing
    /// the body, if the answer is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: impl reqwest::IntoUrl,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send().await.expect("the IdP answers");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, json)
    }

    /// `call` on the control listener, `path` below it.
    pub async fn control_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.call(method, format!("{}{path}", self.control), body)
            .await
    }

    /// GET `url` and its JSON body, whatever the status.
    pub async fn get_json(&self, url: impl reqwest::IntoUrl) -> Value {
        self.http
            .get(url)
            .send()
            .await
            .expect("the IdP answers")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Redeems a code for `sp-basic` (asserting 200) and answers the ID token's claims.
    pub async fn id_token_claims(
        &self,
        code: &str,
        verifier: &str,
    ) -> serde_json::Map<String, Value> {
        let r = self.redeem("sp-basic", code, verifier).await;
        assert_eq!(r.status(), 200);
        let tokens: Value = r.json().await.expect("token JSON");
        decode(tokens["id_token"].as_str().expect("an ID token")).claims
    }

    pub async fn jwks(&self) -> Value {
        self.http
            .get(format!("{}/jwks", self.issuer))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks json")
    }

    /// Redeems a code with `client_secret_basic` for `sp-basic` (or `client`).
    pub async fn redeem(&self, client_id: &str, code: &str, verifier: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/token", self.issuer))
            .basic_auth(client_id, Some(BASIC_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .expect("token answers")
    }

    /// A headless login of `user` for `client_id`; returns (code, verifier, state, nonce).
    pub async fn login(
        &self,
        client_id: &str,
        user: &str,
        extra: &[(&str, &str)],
    ) -> (String, String, String, String) {
        let (verifier, challenge) = pkce();
        let state = format!("st-{}", rand_text());
        let nonce = format!("n-{}", rand_text());
        let hint = format!("test:{user}");
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid mitid ssn nemid.pid"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", &hint),
        ];
        params.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        params.extend_from_slice(extra);
        let response = self.authorize(&params).await;
        let location = redirect_params(&response);
        let code = location
            .get("code")
            .unwrap_or_else(|| panic!("no code for {user} with {params:?}: {location:?}"))
            .clone();
        assert_eq!(
            location.get("state"),
            Some(&state),
            "state echoed: {location:?}"
        );
        (code, verifier, state, nonce)
    }
}

/// A browser: a cookie jar, redirects not followed.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("browser")
}

/// The CSRF token of a login page's form.
pub fn csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no CSRF field in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn rand_text() -> String {
    mitid_components::idp::registry::random_token(9)
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        rand_text(),
        "-verifier-padding-to-be-long-enough-xyz"
    );
    let challenge = jose::pkce_s256(&verifier);
    (verifier, challenge)
}

/// The query parameters of a 302's Location (panics, printing the response, if it is not one).
pub fn redirect_params(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(
        response.status(),
        reqwest::StatusCode::FOUND,
        "expected a redirect, got {} {:?}",
        response.status(),
        response.headers()
    );
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location header");
    let url = url::Url::parse(location)
        .unwrap_or_else(|e| panic!("Location `{location}` is not a URL: {e}"));
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Decodes a JWT without trusting it.
pub fn decode(token: &str) -> Unverified {
    Unverified::parse(token).unwrap_or_else(|e| panic!("not a JWS: {e}: {token}"))
}
