//! The citizen's devices: phones with the MitID app and code displays, as the devices crate models
//! them (real keys, real signatures, real TOTP codes). They read passports, scan faces, enter
//! activation codes and approve logins on the broker's HTML pages — the journeys' logins go
//! through the pages with these devices, not through the broker's headless test mode, so a login
//! proves the device really works (and an old phone's refusal proves it really does not).

use cucumber::{given, then, when};
use mitid_components::cpr::Person;
use mitid_components::idp::admin::Ial;
use mitid_components::idp::jose::unb64;
use mitid_devices::app::{MrzReading, Passport, passport_reactivation};
use mitid_devices::chip::{Assertion, AssertionRequest, Chip, ChipTransport, ClientOs};
use mitid_devices::code_token::CodeDisplay;
use mitid_devices::rand_core::SeedableRng;
use mitid_devices::{
    AppPolicy, AppRegistration, Authorisation, CodeTokenPolicy, DeviceProfile, DeviceRng,
    EligibilityPolicy, MitidApp, OtpSecret, Span, Timestamp, Transaction,
};
use serde_json::{Value, json};
use url::Url;

use super::broker::control;
use super::citizen::{add_authenticator, user_id_for};
use super::citizen_service::{person_of, post_json};
use crate::browser::{Page, same_origin};
use crate::checks::{excerpt, trail};
use crate::world::{Citizen, LabWorld};

/// An Android phone with NFC: installs the app and reads passport chips.
pub const NFC_PHONE: DeviceProfile = DeviceProfile::Android {
    os_major: 14,
    nfc: true,
};

/// A phone of a citizen, with the MitID app installed.
#[derive(Debug, Clone)]
pub struct Phone {
    pub owner: String,
    /// "phone", "new phone", "old phone".
    pub label: String,
    pub app: MitidApp,
    /// The PIN the citizen chose at the last activation.
    pub pin: String,
}

/// A code display or audio code reader and the password that goes with it.
#[derive(Debug, Clone)]
pub struct CodeToken {
    pub owner: String,
    /// `code_display` or `audio_code_reader` (the login page's method name).
    pub kind: String,
    pub device: CodeDisplay,
}

/// Everything the scenario's citizens hold and know.
#[derive(Debug, Default)]
pub struct Devices {
    pub phones: Vec<Phone>,
    pub tokens: Vec<CodeToken>,
    /// MitID chips by owner.
    pub chips: Vec<(String, Chip)>,
    /// Password per citizen (for code display, audio reader and chip logins).
    pub passwords: Vec<(String, String)>,
    /// Citizens who forgot their user ID (until support or the app tells them).
    pub forgotten_user_ids: Vec<String>,
    rng_seed: u64,
}

impl Devices {
    fn rng(&mut self) -> DeviceRng {
        self.rng_seed += 1;
        // Keys must differ per device and per run; the OS supplies the entropy.
        let mut seed = [0u8; 32];
        mitid_devices::rand_core::RngCore::fill_bytes(
            &mut mitid_devices::rand_core::OsRng,
            &mut seed,
        );
        seed[0] ^= (self.rng_seed & 0xff) as u8;
        DeviceRng::from_seed(seed)
    }

    #[must_use]
    pub fn phone(&self, owner: &str, label: &str) -> Option<&Phone> {
        self.phones
            .iter()
            .find(|p| p.owner == owner && p.label == label)
    }

    fn phone_mut(&mut self, owner: &str, label: &str) -> &mut Phone {
        self.phones
            .iter_mut()
            .find(|p| p.owner == owner && p.label == label)
            .unwrap_or_else(|| panic!("{owner} has no {label} with the MitID app"))
    }

    #[must_use]
    pub fn password(&self, owner: &str) -> Option<&str> {
        self.passwords
            .iter()
            .rev()
            .find(|(o, _)| o == owner)
            .map(|(_, p)| p.as_str())
    }

    pub fn set_password(&mut self, owner: &str, password: &str) {
        self.passwords.push((owner.to_owned(), password.to_owned()));
    }
}

#[must_use]
pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Timestamp::from_unix_secs(secs)
}

/// A PIN the app accepts (6 digits, not a run, not one digit), different per activation.
fn new_pin(world: &mut LabWorld) -> String {
    let n = world.lab().unique();
    format!("{:06}", 135_790 + (n * 7919) % 800_000)
}

/// Installs the app on `label` for `alias` (replacing an earlier phone of that name).
fn install(world: &mut LabWorld, alias: &str, label: &str) {
    let app = MitidApp::install(NFC_PHONE, now(), &EligibilityPolicy::default())
        .expect("the lab's phone is eligible");
    world
        .devices
        .phones
        .retain(|p| !(p.owner == alias && p.label == label));
    world.devices.phones.push(Phone {
        owner: alias.to_owned(),
        label: label.to_owned(),
        app,
        pin: String::new(),
    });
}

/// The app activates the proof's user ID with a fresh key and a new PIN. The proof is the device's
/// own (the broker checks the real code or passport on its side).
fn activate_locally(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    proof: &mitid_devices::ActivationProof,
) -> AppRegistration {
    let pin = new_pin(world);
    let mut rng = world.devices.rng();
    let phone = world.devices.phone_mut(alias, label);
    let registration = phone
        .app
        .activate(proof, &pin, now(), &AppPolicy::default(), &mut rng)
        .expect("the app activates with a valid PIN");
    phone.pin = pin;
    registration
}

/// The app on `label` (installed if need be) activated on a grant of its own making: what it
/// sends the broker, which checks the real code or QR grant on its side.
fn registered_on_own_proof(world: &mut LabWorld, alias: &str, label: &str) -> AppRegistration {
    if world.devices.phone(alias, label).is_none() {
        install(world, alias, label);
    }
    let user_id = world.citizen_named(alias).user_id.clone();
    let policy = AppPolicy::default();
    let mut rng = world.devices.rng();
    let mut local =
        mitid_devices::ActivationGrant::activation_code(&user_id, now(), &policy, &mut rng);
    let typed = local.reveal_code().to_owned();
    let proof = local
        .redeem(&typed, now(), &policy)
        .expect("a fresh local grant redeems");
    activate_locally(world, alias, label, &proof)
}

/// Activates the app on `label` with an activation code or temporary PIN the citizen received;
/// answers the broker's status and body.
pub async fn activate_with_code(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    code: &str,
) -> (u16, Value) {
    // The app's side of the code: it proves nothing to the broker, which redeems the real code.
    let registration = registered_on_own_proof(world, alias, label);
    let body = json!({"code": code, "registration": registration, "device_name": format!("{alias}'s {label}")});
    control(
        world,
        reqwest::Method::POST,
        "admin/app-activations",
        Some(&body),
    )
    .await
}

/// The passport of a registered person, as its chip holds it.
#[must_use]
pub fn passport_of(person: &Person) -> Passport {
    let number = person
        .passport_number
        .clone()
        .unwrap_or_else(|| panic!("{} has no passport", person.full_name()));
    Passport {
        mrz: MrzReading::of(
            &number,
            &person.birth_date.format("%y%m%d").to_string(),
            "330615",
        ),
        chip_authentic: true,
        chip_readable: true,
    }
}

/// The app scans `alias`'s passport and face on `label`; answers the broker's passport check.
async fn passport_check(
    world: &mut LabWorld,
    alias: &str,
    label: &str,
    face_match_permille: u16,
) -> (u16, Value) {
    install(world, alias, label);
    let person = person_of(world, alias).await;
    let passport = passport_of(&person);
    let body = json!({
        "device": NFC_PHONE,
        "camera_mrz": passport.mrz,
        "passport": passport,
        "face_match_permille": face_match_permille,
    });
    let issuer = world.lab().endpoints.issuer.clone();
    let url = issuer.join("app/enrolments").expect("relative path");
    let answer = post_json(world, &url, &body).await;
    world
        .notes
        .push(("enrolment_status".into(), answer.0.to_string()));
    world
        .notes
        .push(("enrolment_answer".into(), answer.1.to_string()));
    answer
}

/// The whole passport route: check, then activate the app for the user ID the broker names (or
/// a new one the citizen chooses). Registers the citizen when a new MitID was created.
async fn enrol_with_passport(world: &mut LabWorld, alias: &str, label: &str) {
    let (status, checked) = passport_check(world, alias, label, 962).await;
    assert_eq!(
        status, 201,
        "the broker refused {alias}'s passport and face scan: {checked}"
    );
    let enrolment_id = checked["enrolment_id"]
        .as_str()
        .expect("enrolment_id")
        .to_owned();
    let user_id = if let Some(existing) = checked["user_id"].as_str() {
        world.devices.forgotten_user_ids.retain(|a| a != alias);
        existing.to_owned()
    } else {
        let lab = world.lab();
        user_id_for(&lab, alias, lab.unique())
    };
    let person = person_of(world, alias).await;
    let passport = passport_of(&person);
    let number = passport.mrz.document_number.clone();
    let proof = passport_reactivation(
        &user_id,
        &NFC_PHONE,
        &passport.mrz,
        &passport,
        &number,
        962,
        now(),
        (&AppPolicy::default(), &EligibilityPolicy::default()),
    )
    .expect("the app's own passport procedure passes");
    let registration = activate_locally(world, alias, label, &proof);
    let url = world
        .lab()
        .endpoints
        .issuer
        .join(&format!("app/enrolments/{enrolment_id}/activation"))
        .expect("relative path");
    let body = json!({"registration": registration, "device_name": format!("{alias}'s {label}")});
    let (status, done) = post_json(world, &url, &body).await;
    assert_eq!(
        status, 201,
        "the broker refused to activate {alias}'s app: {done}"
    );
    world.notes.push((
        format!("revoked_apps:{alias}"),
        done["revoked_apps"].to_string(),
    ));
    if done["created"] == json!(true) {
        world.citizens.push(Citizen {
            alias: alias.to_owned(),
            user_id: done["user_id"].as_str().unwrap_or_default().to_owned(),
            uuid: done["uuid"].as_str().unwrap_or_default().to_owned(),
            devices: vec!["the MitID app".to_owned()],
        });
        world.current = Some(world.citizens.len() - 1);
    }
}

/// How the citizen authenticates on the broker's pages.
pub enum PageMethod<'a> {
    /// The app on the named phone approves (PIN when `pin` is set, else a swipe).
    App { label: &'a str, pin: bool },
    /// Code display / audio code reader + password.
    Code { password: Option<&'a str> },
    /// MitID chip (over USB from a computer) + password.
    Chip,
}

fn csrf_of(html: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    html[start..].split('"').next().map(str::to_owned)
}

/// A login at the service provider driven through the broker's HTML pages with the citizen's real
/// device. Records the attempt (so `a session exists for` judges it); `Err` says why it stopped.
pub async fn pages_login(
    world: &mut LabWorld,
    alias: &str,
    loa: Option<&str>,
    method: PageMethod<'_>,
) -> Result<(), String> {
    world.current = world.citizens.iter().position(|c| c.alias == alias);
    world.requested_loa = loa.map(str::to_owned);
    if world.devices.forgotten_user_ids.iter().any(|a| a == alias) {
        return Err(format!("{alias} does not remember the user ID"));
    }
    let citizen = world.citizen_named(alias).clone();
    let lab = world.lab();
    // A fresh browser: no single sign-on from an earlier login of the scenario.
    let old = std::mem::take(&mut world.browser);
    world.other_browsers.push(old);
    let authorize = super::service_provider::start_login(world, alias, loa)
        .await
        .ok_or_else(|| world.last_login().error.clone().unwrap_or_default())?;
    let result = drive_pages(world, &citizen, &authorize, method).await;
    match result {
        Ok(callback) => {
            world.logins.last_mut().expect("recorded").callback = Some(callback.clone());
            let sp_base = lab.sp.base_url.clone();
            let landing = world
                .browser
                .navigate(&callback, |next| same_origin(next, &sp_base))
                .await?;
            world.logins.last_mut().expect("recorded").landing = Some(landing);
            Ok(())
        }
        Err(error) => {
            world.logins.last_mut().expect("recorded").error = Some(error.clone());
            Err(error)
        }
    }
}

/// From the authorization request to the broker's redirect back to the service provider.
#[allow(
    clippy::too_many_lines,
    reason = "one login on the pages, read top to bottom"
)]
async fn drive_pages(
    world: &mut LabWorld,
    citizen: &Citizen,
    authorize: &Url,
    method: PageMethod<'_>,
) -> Result<Url, String> {
    let first = world.browser.get(authorize).await?;
    let page_url = first
        .location
        .clone()
        .filter(|_| first.is_redirect())
        .ok_or_else(|| {
            format!(
                "the broker answered the authorization request with {} instead of its login page: {}",
                first.status,
                excerpt(&first.body)
            )
        })?;
    let login_page = world.browser.get(&page_url).await?;
    if login_page.status != 200 {
        return Err(format!(
            "the broker's login page answered {}: {}",
            login_page.status,
            excerpt(&login_page.body)
        ));
    }
    let csrf = csrf_of(&login_page.body).ok_or("no CSRF field on the login page")?;
    let join = |suffix: &str| Url::parse(&format!("{page_url}/{suffix}")).expect("login URL");
    let after_user = world
        .browser
        .post_form(
            &join("user"),
            &[
                ("csrf", csrf.as_str()),
                ("user_id", citizen.user_id.as_str()),
            ],
        )
        .await?;
    if !after_user.body.contains("name=\"method\"") {
        return Err(format!(
            "the broker did not accept user ID {}: {}",
            citizen.user_id,
            excerpt(&after_user.body)
        ));
    }
    match method {
        PageMethod::Chip => return chip_step(world, &citizen.alias, join, &csrf).await,
        PageMethod::App { label, pin } => {
            let waiting = world
                .browser
                .post_form(
                    &join("method"),
                    &[("csrf", csrf.as_str()), ("method", "app")],
                )
                .await?;
            if waiting.status != 200 || waiting.body.contains("not active") {
                return Err(format!(
                    "the broker did not offer the app: {}",
                    excerpt(&waiting.body)
                ));
            }
            approve_in_app(world, &citizen.alias, &citizen.user_id, label, pin).await?;
        }
        PageMethod::Code { password } => {
            let token = world
                .devices
                .tokens
                .iter()
                .rev()
                .find(|t| t.owner == citizen.alias)
                .cloned()
                .ok_or_else(|| format!("{} has no code display", citizen.alias))?;
            let password = password
                .map(str::to_owned)
                .or_else(|| world.devices.password(&citizen.alias).map(str::to_owned))
                .ok_or_else(|| format!("{} has no password", citizen.alias))?;
            let page = world
                .browser
                .post_form(
                    &join("method"),
                    &[("csrf", csrf.as_str()), ("method", token.kind.as_str())],
                )
                .await?;
            if !page.body.contains("name=\"code\"") {
                return Err(format!(
                    "the broker did not ask for a code: {}",
                    excerpt(&page.body)
                ));
            }
            let code = token
                .device
                .press(now(), &CodeTokenPolicy::default())
                .map_err(|e| e.to_string())?
                .to_string();
            let answer = world
                .browser
                .post_form(
                    &join("code"),
                    &[
                        ("csrf", csrf.as_str()),
                        ("code", code.as_str()),
                        ("password", password.as_str()),
                    ],
                )
                .await?;
            return redirect_of(answer, "the broker refused the code");
        }
    }
    let done = world.browser.get(&page_url).await?;
    redirect_of(done, "the login did not finish")
}

/// Where a login step that finished redirects to; otherwise `refusal` with the page's excerpt.
fn redirect_of(page: Page, refusal: &str) -> Result<Url, String> {
    let finished = page.is_redirect();
    page.location
        .filter(|_| finished)
        .ok_or_else(|| format!("{refusal}: {}", excerpt(&page.body)))
}

/// The chip step of a login on the pages: the chip answers the challenge the page shows.
async fn chip_step(
    world: &mut LabWorld,
    alias: &str,
    join: impl Fn(&str) -> Url,
    csrf: &str,
) -> Result<Url, String> {
    let password = world
        .devices
        .password(alias)
        .map(str::to_owned)
        .ok_or_else(|| format!("{alias} has no password"))?;
    let page = world
        .browser
        .post_form(&join("method"), &[("csrf", csrf), ("method", "chip")])
        .await?;
    let start_tag = "<pre id=\"challenge\">";
    let from = page.body.find(start_tag).ok_or_else(|| {
        format!(
            "the broker showed no chip challenge: {}",
            excerpt(&page.body)
        )
    })? + start_tag.len();
    let end = page.body[from..]
        .find("</pre>")
        .ok_or("an unterminated challenge")?;
    let shown = page.body[from..from + end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let request: AssertionRequest = serde_json::from_str(&shown).map_err(|e| e.to_string())?;
    let chip = world
        .devices
        .chips
        .iter_mut()
        .rev()
        .find(|(owner, _)| owner == alias)
        .map(|(_, chip)| chip)
        .ok_or_else(|| format!("{alias} has no MitID chip"))?;
    let assertion: Assertion = chip
        .assert(&request, ChipTransport::Usb, ClientOs::Desktop, true)
        .map_err(|e| e.to_string())?;
    let answer = serde_json::to_string(&assertion).map_err(|e| e.to_string())?;
    let done = world
        .browser
        .post_form(
            &join("chip"),
            &[
                ("csrf", csrf),
                ("password", password.as_str()),
                ("assertion", answer.as_str()),
            ],
        )
        .await?;
    redirect_of(done, "the broker refused the chip")
}

/// The app on `label` fetches the pending login, checks the binding and signs it.
async fn approve_in_app(
    world: &mut LabWorld,
    alias: &str,
    user_id: &str,
    label: &str,
    with_pin: bool,
) -> Result<(), String> {
    let lab = world.lab();
    let pending_url = lab
        .endpoints
        .issuer
        .join(&format!("app/pending/{user_id}"))
        .expect("relative path");
    let pending: Value = lab
        .http
        .get(pending_url)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let item = pending["pending"]
        .as_array()
        .and_then(|items| items.last())
        .ok_or_else(|| format!("no login waits for {alias}'s app: {pending}"))?;
    let login_id = item["login_id"].as_str().unwrap_or_default().to_owned();
    let tx: Transaction =
        serde_json::from_value(item["transaction"].clone()).map_err(|e| e.to_string())?;
    let phone = world.devices.phone_mut(alias, label);
    let pin = phone.pin.clone();
    let authorisation = if with_pin {
        Authorisation::Pin(&pin)
    } else {
        Authorisation::Swipe
    };
    let approval = phone
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            authorisation,
            now(),
            &AppPolicy::default(),
        )
        .map_err(|e| format!("{alias}'s app on the {label} refused: {e}"))?;
    let url = lab
        .endpoints
        .issuer
        .join(&format!("app/approvals/{login_id}"))
        .expect("relative path");
    let (status, answer) = post_json(world, &url, &json!({"approval": approval})).await;
    if status == 200 {
        Ok(())
    } else {
        Err(format!(
            "the broker refused the approval from {alias}'s {label} ({status}): {answer}"
        ))
    }
}

/// Gives `alias` a code display (or audio code reader) and a password through the admin API.
pub async fn issue_code_token(world: &mut LabWorld, alias: &str, kind: &str, password: &str) {
    let (status, issued) = add_authenticator(world, alias, &json!({"kind": kind})).await;
    assert_eq!(status, 201, "the broker refused a {kind}: {issued}");
    remember_code_token(world, alias, &issued);
    let (status, answer) = add_authenticator(
        world,
        alias,
        &json!({"kind": "password", "password": password}),
    )
    .await;
    assert_eq!(status, 201, "the broker refused the password: {answer}");
    world.devices.set_password(alias, password);
}

/// The device the citizen is handed for an issued code display / audio reader.
pub fn remember_code_token(world: &mut LabWorld, alias: &str, issued: &Value) {
    let kind = issued["kind"].as_str().unwrap_or("code_display").to_owned();
    let secret =
        unb64(issued["totp_secret"].as_str().expect("totp_secret")).expect("base64url TOTP secret");
    let device = CodeDisplay::from_secret(
        issued["serial"].as_str().unwrap_or("CD"),
        OtpSecret::from_bytes(&secret),
        now(),
        Span::from_days(3650),
    );
    world.devices.tokens.push(CodeToken {
        owner: alias.to_owned(),
        kind,
        device,
    });
}

/// A citizen with MitID (from the CPR register, with passport and phone) and the app activated
/// on their phone with an activation code.
async fn citizen_with_app_on_phone(world: &mut LabWorld, alias: &str, ial: Ial) {
    super::citizen_service::registered_person(world, alias).await;
    super::citizen_service::mitid_for(world, alias, ial).await;
    let (status, issued) = add_authenticator(world, alias, &json!({"kind": "app"})).await;
    assert_eq!(status, 201, "the broker refused an app: {issued}");
    let code = issued["activation_code"]
        .as_str()
        .expect("activation_code")
        .to_owned();
    let (status, answer) = activate_with_code(world, alias, "phone", &code).await;
    assert_eq!(status, 201, "the app did not activate: {answer}");
}

// ---------------------------------------------------------------------------------------------
// Steps

#[given(regex = r#"^a citizen "([^"]+)" with the MitID app on (?:her|his|their) phone$"#)]
async fn given_app_on_phone(world: &mut LabWorld, alias: String) {
    citizen_with_app_on_phone(world, &alias, Ial::Substantial).await;
}

#[given(
    regex = r#"^a citizen "([^"]+)" with the MitID app on (?:her|his|their) phone and a code display$"#
)]
async fn given_app_and_code_display(world: &mut LabWorld, alias: String) {
    citizen_with_app_on_phone(world, &alias, Ial::Substantial).await;
    issue_code_token(world, &alias, "code_display", "kodeord-til-kodeviser").await;
}

#[given(
    regex = r#"^a citizen "([^"]+)" with the MitID app on (?:her|his|their) phone and a NemID key card$"#
)]
async fn given_app_and_nemid(world: &mut LabWorld, alias: String) {
    citizen_with_app_on_phone(world, &alias, Ial::Substantial).await;
    super::citizen::issue_nemid(world, &alias, super::citizen::NEMID_ISSUED_ON).await;
}

#[given(
    regex = r#"^a citizen "([^"]+)" with (a code display|an audio code reader) and a password$"#
)]
async fn given_code_token(world: &mut LabWorld, alias: String, device: String) {
    super::citizen_service::registered_person(world, &alias).await;
    super::citizen_service::mitid_for(world, &alias, Ial::Substantial).await;
    let kind = if device == "a code display" {
        "code_display"
    } else {
        "audio_code_reader"
    };
    issue_code_token(world, &alias, kind, "mit-gamle-kodeord").await;
}

#[when(
    regex = r#"^"([^"]+)" scans (?:her|his|their) passport and face with the MitID app on (?:her|his|their) (phone|new phone)$"#
)]
async fn scans_passport(world: &mut LabWorld, alias: String, label: String) {
    enrol_with_passport(world, &alias, &label).await;
}

#[when(
    regex = r#"^"([^"]+)" scans (?:her|his|their) passport with the MitID app but the face scan matches only (\d+)‰$"#
)]
async fn scans_passport_bad_face(world: &mut LabWorld, alias: String, permille: u16) {
    passport_check(world, &alias, "phone", permille).await;
}

#[then(expr = "the app shows the refusal {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn app_refused(world: &mut LabWorld, error: String) {
    let status = world.note("enrolment_status").unwrap_or("none").to_owned();
    let answer: Value =
        serde_json::from_str(world.note("enrolment_answer").unwrap_or("null")).unwrap_or_default();
    assert!(
        status == "403" && answer["error"] == json!(error),
        "the broker should refuse with 403 {error}; it answered {status}: {answer}"
    );
}

#[when(regex = r#"^"([^"]+)" forgets (?:her|his|their) app PIN$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn forgets_pin(world: &mut LabWorld, alias: String) {
    for phone in world.devices.phones.iter_mut().filter(|p| p.owner == alias) {
        phone.pin.clear();
    }
}

#[when(
    regex = r#"^"([^"]+)" forgets (?:her|his|their) user ID and loses (?:her|his|their) phone$"#
)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn forgets_user_id(world: &mut LabWorld, alias: String) {
    world.devices.forgotten_user_ids.push(alias.clone());
    if let Some(phone) = world
        .devices
        .phones
        .iter_mut()
        .find(|p| p.owner == alias && p.label == "phone")
    {
        "old phone".clone_into(&mut phone.label);
    }
}

#[when(regex = r#"^"([^"]+)" forgets (?:her|his|their) user ID$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn forgets_only_user_id(world: &mut LabWorld, alias: String) {
    world.devices.forgotten_user_ids.push(alias.clone());
}

#[when(regex = r#"^"([^"]+)" gets a new phone$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn gets_new_phone(world: &mut LabWorld, alias: String) {
    let phone = world
        .devices
        .phones
        .iter_mut()
        .find(|p| p.owner == alias && p.label == "phone")
        .unwrap_or_else(|| panic!("{alias} has no phone yet"));
    "old phone".clone_into(&mut phone.label);
}

#[when(
    regex = r#"^"([^"]+)" activates the app on (?:her|his|their) (phone|new phone) with the activation code (?:from Citizen Service|from MitID\.dk)$"#
)]
async fn activates_with_code(world: &mut LabWorld, alias: String, label: String) {
    let code = world
        .note(&format!("activation_code:{alias}"))
        .unwrap_or_else(|| panic!("{alias} was given no activation code"))
        .to_owned();
    let (status, answer) = activate_with_code(world, &alias, &label, &code).await;
    assert_eq!(
        status, 201,
        "the broker refused the activation code: {answer}"
    );
}

#[when(
    regex = r#"^"([^"]+)" orders an activation code on MitID\.dk after logging in with (?:her|his|their) code display$"#
)]
async fn orders_activation_code(world: &mut LabWorld, alias: String) {
    // MitID.dk is a service provider like any other: the citizen proves the code display works
    // with a real login, then MitID.dk has the broker issue an activation code for a new app.
    pages_login(world, &alias, None, PageMethod::Code { password: None })
        .await
        .unwrap_or_else(|e| panic!("{alias} could not log in to MitID.dk: {e}"));
    let (status, issued) = add_authenticator(world, &alias, &json!({"kind": "app"})).await;
    assert_eq!(
        status, 201,
        "the broker refused an activation code: {issued}"
    );
    let code = issued["activation_code"]
        .as_str()
        .expect("activation_code")
        .to_owned();
    world.notes.push((format!("activation_code:{alias}"), code));
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider with the app on (?:her|his|their) (phone|new phone|old phone)( using (?:her|his|their) PIN)?(?: asking for LoA (low|substantial|high))?$"#
)]
async fn logs_in_with_app(
    world: &mut LabWorld,
    alias: String,
    label: String,
    pin: String,
    loa: String,
) {
    let loa = (!loa.is_empty()).then_some(loa);
    // High needs the PIN (a swipe only earns Substantial).
    let with_pin = !pin.is_empty() || loa.as_deref() == Some("high");
    if let Err(error) = pages_login(
        world,
        &alias,
        loa.as_deref(),
        PageMethod::App {
            label: &label,
            pin: with_pin,
        },
    )
    .await
    {
        panic!(
            "{alias}'s login with the app failed: {error}\n{}",
            trail(&world.browser)
        );
    }
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider with (?:her|his|their) (?:code display|audio code reader)(?: and the temporary password)?$"#
)]
async fn logs_in_with_code(world: &mut LabWorld, alias: String) {
    if let Err(error) = pages_login(world, &alias, None, PageMethod::Code { password: None }).await
    {
        panic!(
            "{alias}'s login with the code device failed: {error}\n{}",
            trail(&world.browser)
        );
    }
}

#[when(
    regex = r#"^"([^"]+)" sets a new password on MitID\.dk and approves it with the app on (?:her|his|their) (phone|new phone)$"#
)]
async fn new_password_on_mitid_dk(world: &mut LabWorld, alias: String, label: String) {
    // MitID.dk's own page for a forgotten code-display password: the change is approved in the
    // app (a swipe), then MitID.dk sends the password the citizen chose.
    let user_id = world.citizen_named(&alias).user_id.clone();
    let issuer = world.lab().endpoints.issuer.clone();
    let (status, change) = post_json(
        world,
        &issuer
            .join("mitid-dk/password-changes")
            .expect("relative path"),
        &json!({"user_id": user_id}),
    )
    .await;
    assert_eq!(status, 201, "MitID.dk opened no password change: {change}");
    let change_id = change["change_id"].as_str().expect("change_id").to_owned();
    approve_in_app(world, &alias, &user_id, &label, false)
        .await
        .unwrap_or_else(|e| panic!("{alias}'s app did not approve the new password: {e}"));
    let password = format!("nyt-kodeord-{}", world.lab().unique());
    let (status, answer) = post_json(
        world,
        &issuer
            .join(&format!("mitid-dk/password-changes/{change_id}/password"))
            .expect("relative path"),
        &json!({"password": password}),
    )
    .await;
    assert_eq!(
        status, 200,
        "MitID.dk did not set the new password: {answer}"
    );
    world.devices.set_password(&alias, &password);
}

#[then(
    regex = r#"^logging in with (?:her|his|their) (?:code display|audio code reader) and the old password is refused for "([^"]+)"$"#
)]
async fn old_password_refused(world: &mut LabWorld, alias: String) {
    let old = world
        .devices
        .passwords
        .iter()
        .filter(|(o, _)| *o == alias)
        .rev()
        .nth(1)
        .map(|(_, p)| p.clone())
        .expect("an earlier password");
    let result = pages_login(
        world,
        &alias,
        None,
        PageMethod::Code {
            password: Some(&old),
        },
    )
    .await;
    match result {
        Err(error) if error.contains("refused") => {}
        Err(error) => panic!("the old password should be refused; the login ended with: {error}"),
        Ok(()) => panic!("the old password should be refused; the login succeeded with it"),
    }
}

#[then(regex = r#"^the app on "([^"]+)"'s old phone can no longer approve a login$"#)]
async fn old_phone_refused(world: &mut LabWorld, alias: String) {
    let result = pages_login(
        world,
        &alias,
        None,
        PageMethod::App {
            label: "old phone",
            pin: false,
        },
    )
    .await;
    match result {
        Err(error) if error.contains("refused the approval") => {}
        Err(error) => panic!(
            "the old phone's approval should be refused by the broker; the login ended with: {error}\n{}",
            trail(&world.browser)
        ),
        Ok(()) => panic!(
            "the old phone's approval should be refused by the broker; the login succeeded with it\n{}",
            trail(&world.browser)
        ),
    }
    checks_no_session(world).await;
}

async fn checks_no_session(world: &mut LabWorld) {
    crate::checks::world_has_no_session(world).await;
}

#[then(regex = r#"^the app showed "([^"]+)" (?:her|his|their) user ID$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn app_showed_user_id(world: &mut LabWorld, alias: String) {
    let answer: Value =
        serde_json::from_str(world.note("enrolment_answer").unwrap_or("null")).unwrap_or_default();
    let user_id = world.citizen_named(&alias).user_id.clone();
    assert_eq!(
        answer["user_id"],
        json!(user_id),
        "the passport check should name {alias}'s user ID"
    );
}

#[then(regex = r#"^"([^"]+)" has MitID at identity assurance (Low|Substantial|High)$"#)]
async fn has_mitid_at(world: &mut LabWorld, alias: String, ial: String) {
    let uuid = world.citizen_named(&alias).uuid.clone();
    let (status, view) = control(
        world,
        reqwest::Method::GET,
        &format!("admin/identities/{uuid}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        view["ial"],
        json!(ial.to_lowercase()),
        "{alias}'s MitID: {view}"
    );
}

#[then(regex = r#"^"([^"]+)" has no MitID$"#)]
async fn has_no_mitid(world: &mut LabWorld, alias: String) {
    let cpr = world
        .note(&format!("cpr:{alias}"))
        .expect("a registered person")
        .to_owned();
    let (status, view) = control(
        world,
        reqwest::Method::GET,
        &format!("admin/identities/by-cpr/{cpr}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{alias} should have no MitID: {view}");
}

#[then(expr = "the session shows identity assurance {string}")]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn session_ial(world: &mut LabWorld, ial: String) {
    let (_, json) = world.last_me.clone().expect("a session check ran first");
    let json = json.unwrap_or_default();
    let reported = json.get("ial").and_then(Value::as_str).unwrap_or("");
    assert!(
        reported
            .to_ascii_lowercase()
            .ends_with(&ial.to_ascii_lowercase()),
        "/me should report ial {ial:?} (or its NSIS URI), it answered {json}"
    );
}

#[then(expr = "the session shows a MitID without CPR number")]
fn session_without_cpr(world: &mut LabWorld) {
    let (_, json) = world.last_me.clone().expect("a session check ran first");
    let json = json.unwrap_or_default();
    assert_eq!(
        json.get("has_cpr"),
        Some(&json!(false)),
        "/me should report has_cpr false: {json}"
    );
}

/// A MitID chip for `alias`: step one on MitID.dk `hours_ago` hours ago (the chip's registration
/// dated then), step two now. Answers the broker's verdict on step two.
async fn chip_activation(world: &mut LabWorld, alias: &str, hours_ago: u64) -> (u16, Value) {
    let mut rng = world.devices.rng();
    let chip = Chip::manufacture(format!("CHIP-{alias}"), &mut rng);
    let rp_id = world
        .lab()
        .endpoints
        .issuer
        .host_str()
        .unwrap_or_default()
        .to_owned();
    let first_step = Timestamp::from_unix_secs(now().unix_secs().saturating_sub(hours_ago * 3600));
    let credential = chip.registration(&rp_id, first_step);
    world.devices.chips.push((alias.to_owned(), chip));
    let (status, issued) = add_authenticator(
        world,
        alias,
        &json!({"kind": "chip", "credential": credential}),
    )
    .await;
    assert_eq!(status, 201, "the broker refused the chip: {issued}");
    let id = issued["authenticator_id"]
        .as_str()
        .expect("authenticator_id")
        .to_owned();
    let uuid = world.citizen_named(alias).uuid.clone();
    control(
        world,
        reqwest::Method::POST,
        &format!("admin/identities/{uuid}/authenticators/{id}/complete-chip-activation"),
        Some(&json!({})),
    )
    .await
}

#[given(regex = r#"^a citizen "([^"]+)" with a MitID chip activated in two steps a day apart$"#)]
async fn given_chip(world: &mut LabWorld, alias: String) {
    super::citizen_service::registered_person(world, &alias).await;
    super::citizen_service::mitid_for(world, &alias, Ial::High).await;
    let (status, answer) = add_authenticator(
        world,
        &alias,
        &json!({"kind": "password", "password": "chip-kodeord-1"}),
    )
    .await;
    assert_eq!(status, 201, "the broker refused the password: {answer}");
    world.devices.set_password(&alias, "chip-kodeord-1");
    let (status, answer) = chip_activation(world, &alias, 25).await;
    assert_eq!(status, 200, "the chip's second step was refused: {answer}");
}

#[then(
    regex = r#"^a second chip's activation for "([^"]+)" completed within 24 hours is refused$"#
)]
async fn chip_too_early(world: &mut LabWorld, alias: String) {
    let (status, answer) = chip_activation(world, &alias, 2).await;
    assert_eq!(status, 409, "the second step must wait 24 hours: {answer}");
}

#[when(
    regex = r#"^"([^"]+)" logs in to the service provider with (?:her|his|their) MitID chip(?: asking for LoA (low|substantial|high))?$"#
)]
async fn logs_in_with_chip(world: &mut LabWorld, alias: String, loa: String) {
    let loa = (!loa.is_empty()).then_some(loa);
    if let Err(error) = pages_login(world, &alias, loa.as_deref(), PageMethod::Chip).await {
        panic!(
            "{alias}'s login with the chip failed: {error}\n{}",
            trail(&world.browser)
        );
    }
}

/// The active app on `label` offers a second device: the broker's offer, approved with the PIN,
/// then the QR grant the app made. Leaves the QR code in the note `qr:<alias>`.
async fn offer_second_device(world: &mut LabWorld, alias: &str, label: &str) {
    let user_id = world.citizen_named(alias).user_id.clone();
    let issuer = world.lab().endpoints.issuer.clone();
    let (status, offer) = post_json(
        world,
        &issuer
            .join("app/second-device-offers")
            .expect("relative path"),
        &json!({"user_id": user_id}),
    )
    .await;
    assert_eq!(status, 201, "the broker opened no offer: {offer}");
    let offer_id = offer["offer_id"].as_str().expect("offer_id").to_owned();
    let tx: Transaction =
        serde_json::from_value(offer["transaction"].clone()).expect("a transaction");
    let mut rng = world.devices.rng();
    let phone = world.devices.phone_mut(alias, label);
    let pin = phone.pin.clone();
    let policy = AppPolicy::default();
    let approval = phone
        .app
        .approve(
            &tx,
            &tx.channel_binding,
            Authorisation::Pin(&pin),
            now(),
            &policy,
        )
        .unwrap_or_else(|e| panic!("{alias}'s {label} refused to approve the offer: {e}"));
    let grant = phone
        .app
        .offer_second_device(&user_id, &pin, now(), &policy, &mut rng)
        .unwrap_or_else(|e| panic!("{alias}'s {label} made no QR code: {e}"));
    let url = |path: &str| issuer.join(path).expect("relative path");
    let (status, answer) = post_json(
        world,
        &url(&format!("app/approvals/{offer_id}")),
        &json!({"approval": approval}),
    )
    .await;
    assert_eq!(status, 200, "the broker refused the approval: {answer}");
    let (status, answer) = post_json(
        world,
        &url(&format!("app/second-device-offers/{offer_id}/grant")),
        &json!({"grant": grant}),
    )
    .await;
    assert_eq!(status, 201, "the broker refused the QR grant: {answer}");
    world
        .notes
        .push((format!("qr:{alias}"), grant.reveal_code().to_owned()));
}

#[when(
    regex = r#"^"([^"]+)" shows a QR code for a new device on (?:her|his|their) (phone|old phone)$"#
)]
async fn shows_qr(world: &mut LabWorld, alias: String, label: String) {
    offer_second_device(world, &alias, &label).await;
}

#[when(
    regex = r#"^"([^"]+)" scans the QR code with (?:her|his|their) new phone (nearby|out of Bluetooth range)$"#
)]
async fn scans_qr(world: &mut LabWorld, alias: String, range: String) {
    let code = world
        .note(&format!("qr:{alias}"))
        .unwrap_or_else(|| panic!("{alias} was shown no QR code"))
        .to_owned();
    // The new app's own proof of the scan (the broker redeems the real QR grant).
    let registration = registered_on_own_proof(world, &alias, "new phone");
    let nearby = range == "nearby";
    let issuer = world.lab().endpoints.issuer.clone();
    let (status, answer) = post_json(
        world,
        &issuer
            .join("app/second-device-activations")
            .expect("relative path"),
        &json!({"code": code, "within_bluetooth_range": nearby, "registration": registration,
                "device_name": format!("{alias}'s new phone")}),
    )
    .await;
    world
        .notes
        .push(("enrolment_status".into(), status.to_string()));
    world
        .notes
        .push(("enrolment_answer".into(), answer.to_string()));
    if nearby {
        assert_eq!(
            status, 201,
            "the broker refused the scanned QR code: {answer}"
        );
    }
}
