//! A login at the service provider through the broker's HTML pages, as a citizen does it: user
//! ID, then the app (approved on the phone), a code display with its password, or a MitID chip.
//! The journeys' logins go through the pages with the citizen's real devices, not through the
//! broker's headless test mode, so a login proves the device really works (and an old phone's
//! refusal proves it really does not).

use mitid_devices::CodeTokenPolicy;
use mitid_devices::chip::{Assertion, AssertionRequest, ChipTransport, ClientOs};
use url::Url;

use super::{ActionError, app, clock, service_provider};
use crate::browser::{Page, excerpt};
use crate::world::{Citizen, LabWorld};

/// How the citizen authenticates on the broker's pages.
pub enum PageMethod<'a> {
    /// The app on the named phone approves (PIN when `pin` is set, else a swipe).
    App { label: &'a str, pin: bool },
    /// Code display / audio code reader + password.
    Code { password: Option<&'a str> },
    /// MitID chip (over USB from a computer) + password.
    Chip,
}

/// A login of `alias` at the service provider (asking for `loa`) driven through the broker's HTML
/// pages with the citizen's real device, in a fresh browser (no single sign-on from an earlier
/// login of the scenario). Records the attempt (so `a session exists for` judges it);
/// [`ActionError::Login`] says why it stopped.
pub async fn login(
    world: &mut LabWorld,
    alias: &str,
    loa: Option<&str>,
    method: PageMethod<'_>,
) -> Result<(), ActionError> {
    login_inner(world, alias, loa, method)
        .await
        .map_err(ActionError::Login)
}

async fn login_inner(
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
    let citizen = super::citizen(world, alias).map_err(|e| e.to_string())?;
    let lab = world.lab();
    let old = std::mem::take(&mut world.browser);
    world.other_browsers.push(old);
    let authorize = service_provider::start_login(world, loa)
        .await
        .map_err(|e| e.to_string())?;
    let result = drive_pages(world, &citizen, &authorize, method).await;
    match result {
        Ok(callback) => {
            world.logins.last_mut().expect("recorded").callback = Some(callback.clone());
            let landing = service_provider::deliver(world, &lab, &callback).await?;
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
    let csrf = login_page
        .field_value("csrf")
        .ok_or("no CSRF field on the login page")?;
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
    if !after_user.has_field("method") {
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
            // A refusal comes back as the page with the broker's message to the citizen.
            let refused = waiting
                .text_of("p.msg")
                .is_some_and(|message| message.contains("not active"));
            if waiting.status != 200 || refused {
                return Err(format!(
                    "the broker did not offer the app: {}",
                    excerpt(&waiting.body)
                ));
            }
            // The channel binding the waiting page shows: a 4-digit code, or a QR payload.
            let shown = waiting.text_of("#binding");
            app::approve_pending(world, &citizen.alias, label, pin, shown.as_deref())
                .await
                .map_err(|e| e.to_string())?;
        }
        PageMethod::Code { password } => {
            let token = world
                .devices
                .code_token(&citizen.alias)
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
            if !page.has_field("code") {
                return Err(format!(
                    "the broker did not ask for a code: {}",
                    excerpt(&page.body)
                ));
            }
            let now = clock::now(&world.lab()).await.map_err(|e| e.to_string())?;
            let code = token
                .device
                .press(now, &CodeTokenPolicy::default())
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
    let shown = page.text_of("pre#challenge").ok_or_else(|| {
        format!(
            "the broker showed no chip challenge: {}",
            excerpt(&page.body)
        )
    })?;
    let request: AssertionRequest = serde_json::from_str(&shown).map_err(|e| e.to_string())?;
    let chip = world
        .devices
        .chip_mut(alias)
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
