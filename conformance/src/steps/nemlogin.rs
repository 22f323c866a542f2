//! NemLog-in and the OIOSAML service provider under test (`features/conformance/saml/`): the
//! SAML login, the wrong responses NemLog-in is scripted to serve, replays, logout, and the
//! checks on what the service did with them. The driver is [`crate::actions::nemlogin`]'s.

use cucumber::{given, then, when};
use mitid_components::nemlogin::assertion::{ResponseFault, name_id};
use mitid_components::saml::uri;

use crate::actions::nemlogin::{self, redirect_message, side};
use crate::actions::service_provider::ask_me;
use crate::checks::{OrFail, business_me, excerpt, trail};
use crate::world::LabWorld;

#[given(regex = r#"^NemLog-in serves "([^"]+)"'s next login the fault "([a-z_]+)"$"#)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn scripted_fault(world: &mut LabWorld, alias: String, fault: String) {
    assert!(
        world.citizens.iter().any(|c| c.alias == alias),
        "no citizen {alias:?} in this scenario"
    );
    let parsed: ResponseFault = serde_json::from_value(serde_json::Value::String(fault.clone()))
        .unwrap_or_else(|_| {
            panic!(
                "no NemLog-in fault {fault:?}; known: {}",
                ResponseFault::ALL.map(ResponseFault::name).join(", ")
            )
        });
    world.saml_fault = Some(parsed);
}

#[when(
    regex = r#"^"([^"]+)" logs in through NemLog-in(?: asking for LoA (low|substantial|high))?$"#
)]
async fn logs_in(world: &mut LabWorld, alias: String, loa: String) {
    let loa = (!loa.is_empty()).then_some(loa);
    nemlogin::drive_login(world, &alias, loa.as_deref())
        .await
        .or_fail();
}

#[when(regex = r#"^"([^"]+)" logs in through NemLog-in in a new browser$"#)]
async fn logs_in_new_browser(world: &mut LabWorld, alias: String) {
    world.new_browser();
    nemlogin::drive_login(world, &alias, None).await.or_fail();
}

#[when(
    regex = r#"^"([^"]+)" logs in through NemLog-in for the company "([^"]+)"( in a new browser)?$"#
)]
async fn logs_in_for_company(world: &mut LabWorld, alias: String, company: String, new: String) {
    if !new.is_empty() {
        world.new_browser();
    }
    nemlogin::drive_business_login(world, &alias, &company)
        .await
        .or_fail();
}

#[given(
    regex = r#"^NemLog-in grants "[^"]+"'s next login (the service's privilege|another privilege than the service's) for the company "([^"]+)"$"#
)]
#[allow(
    clippy::needless_pass_by_value,
    reason = "cucumber hands step captures over by value"
)]
fn grants(world: &mut LabWorld, which: String, company: String) {
    nemlogin::grant(world, &company, which == "the service's privilege").or_fail();
}

#[then(expr = "NemLog-in answered {string}'s login with a signed assertion")]
async fn answered_with_assertion(world: &mut LabWorld, alias: String) {
    let id = world.saml_script.clone().unwrap_or_else(|| {
        panic!("{alias}'s login had no NemLog-in script to read (the lab's own mistake)")
    });
    let log = nemlogin::script_log(world, &id).await.or_fail();
    assert!(
        log["status"] == "success",
        "NemLog-in did not answer {alias}'s login with an assertion (status {}), so the service was never tested: {}\n{}",
        log["status"],
        excerpt(&log.to_string()),
        trail(&world.browser)
    );
}

#[then(
    expr = "a business session exists for {string} acting for the company {string}, named by the professional NameID NemLog-in issued"
)]
async fn business_session_by_name_id(world: &mut LabWorld, alias: String, company: String) {
    let lab = world.lab();
    if let Some(error) = world.logins.last().and_then(|l| l.error.clone()) {
        panic!(
            "{alias}'s business login did not complete: {error}\n{}",
            trail(&world.browser)
        );
    }
    let (cvr, expected) = nemlogin::professional_name_id(world, &alias, &company).or_fail();
    let me = ask_me(&lab, &mut world.browser).await.or_fail();
    assert!(
        me.status == 200,
        "no session for {alias} acting for {company} after a correct professional assertion: /me answered {} ({})\n{}",
        me.status,
        excerpt(&me.body),
        trail(&world.browser)
    );
    assert_eq!(
        me.sub(),
        Some(expected.as_str()),
        "/me must name {alias} acting for {company} by the professional NameID NemLog-in issued ({expected}), not the person's; it answered {}",
        excerpt(&me.body)
    );
    business_me(&alias, &cvr, me.json.as_ref());
}

#[then(expr = "a session exists for {string}, named by the persistent NameID NemLog-in issued")]
async fn session_by_name_id(world: &mut LabWorld, alias: String) {
    let lab = world.lab();
    if let Some(error) = world.logins.last().and_then(|l| l.error.clone()) {
        panic!(
            "{alias}'s login did not complete: {error}\n{}",
            trail(&world.browser)
        );
    }
    let expected = name_id(&world.citizen_named(&alias).uuid);
    let me = ask_me(&lab, &mut world.browser).await.or_fail();
    assert!(
        me.status == 200,
        "no session for {alias} after a correct NemLog-in response: /me answered {} ({})\n{}",
        me.status,
        excerpt(&me.body),
        trail(&world.browser)
    );
    let sub = me.sub().map(str::to_owned);
    assert_eq!(
        sub.as_deref(),
        Some(expected.as_str()),
        "/me must name the person by the persistent NameID NemLog-in issued ({expected}); it answered {}",
        excerpt(&me.body)
    );
}

#[then(
    "the service's AuthnRequest went to NemLog-in by HTTP-Redirect, signed with RSA-SHA256 by a key of its metadata"
)]
fn request_signed(world: &mut LabWorld) {
    let lab = world.lab();
    let saml = side(&lab).or_fail();
    let sso = world
        .logins
        .last()
        .and_then(|l| l.authorize.clone())
        .unwrap_or_else(|| {
            panic!(
                "the service did not redirect the browser to NemLog-in\n{}",
                trail(&world.browser)
            )
        });
    let message = redirect_message(&sso).unwrap_or_else(|e| {
        panic!("the service's redirect to NemLog-in carries no readable SAMLRequest: {e}")
    });
    assert_eq!(
        message.field, "SAMLRequest",
        "the redirect carries a {}",
        message.field
    );
    let (_, _, alg) = message.signature.clone().unwrap_or_else(|| {
        panic!("the AuthnRequest is not signed (no Signature and SigAlg on the redirect): {sso}")
    });
    assert_eq!(
        alg,
        uri::RSA_SHA256,
        "the AuthnRequest is signed with {alg}, not RSA-SHA256"
    );
    let verified = saml
        .sp_metadata
        .signing
        .iter()
        .any(|cert| message.verify(cert).is_ok());
    assert!(
        verified,
        "the AuthnRequest's signature does not verify with any signing certificate of the service's registered metadata"
    );
    assert!(
        message.xml.contains("AuthnRequest"),
        "the signed message is not an AuthnRequest: {}",
        excerpt(&message.xml)
    );
}

#[when(regex = r#"^another browser posts "[^"]+"'s SAML response to the service again$"#)]
async fn replays(world: &mut LabWorld) {
    // The service may refuse the replay in any way; the verdict is whether a session results.
    let _ = nemlogin::replay_in_other_browser(world).await;
}

#[then("the other browser has no session")]
async fn other_browser_no_session(world: &mut LabWorld) {
    let lab = world.lab();
    let browser = world
        .other_browsers
        .last_mut()
        .expect("a step with another browser runs first");
    let me = ask_me(&lab, browser).await.or_fail();
    assert!(
        me.status == 401,
        "the replayed SAML response gave the other browser a session: /me answered {} with {}\nA bearer assertion must be usable once.\n{}",
        me.status,
        excerpt(&me.body),
        trail(browser)
    );
}

#[when(regex = r#"^"[^"]+" logs out at the service through NemLog-in$"#)]
async fn logs_out(world: &mut LabWorld) {
    let trace = nemlogin::logout(world).await.or_fail();
    world
        .notes
        .push(("saml_me_after_logout".into(), trace.me_after.to_string()));
    if let Some(redirect) = trace.redirect {
        world
            .notes
            .push(("saml_logout_redirect".into(), redirect.to_string()));
    }
}

#[then("the service ended its own session before sending the browser to NemLog-in")]
fn ended_locally(world: &mut LabWorld) {
    let me = world
        .note("saml_me_after_logout")
        .unwrap_or("none")
        .to_owned();
    assert!(
        me == "401",
        "right after GET /logout (before the browser reached NemLog-in) /me answered {me}: the service's logout did not end its own session\n{}",
        trail(&world.browser)
    );
}

#[then(
    expr = "NemLog-in received a LogoutRequest for {string} by HTTP-Redirect, signed by the service"
)]
async fn logout_received(world: &mut LabWorld, alias: String) {
    let lab = world.lab();
    let nemlogin_url = side(&lab).or_fail().nemlogin.clone();
    let redirect = world.note("saml_logout_redirect").map(str::to_owned);
    let sent_to_nemlogin = redirect
        .as_deref()
        .and_then(|r| url::Url::parse(r).ok())
        .is_some_and(|r| crate::browser::same_origin(&r, &nemlogin_url) && r.path() == "/saml/slo");
    assert!(
        sent_to_nemlogin,
        "GET /logout did not send the browser to NemLog-in's single logout endpoint {nemlogin_url}saml/slo (it answered {redirect:?})\n{}",
        trail(&world.browser)
    );
    let expected = name_id(&world.citizen_named(&alias).uuid);
    let logouts = nemlogin::logouts(world).await.or_fail();
    let mine: Vec<&serde_json::Value> = logouts
        .iter()
        .filter(|l| l["name_id"].as_str() == Some(expected.as_str()))
        .collect();
    assert!(
        !mine.is_empty(),
        "NemLog-in received no LogoutRequest naming {alias} ({expected})\n{}",
        trail(&world.browser)
    );
    assert!(
        mine.iter().any(|l| l["signature_valid"] == true),
        "NemLog-in received {alias}'s LogoutRequest, but its signature does not verify with the service's registered certificate: {mine:?}"
    );
}
