//! The actions outside cucumber: a World made with `LabWorld::for_lab` drives a whole journey
//! against the embedded reference stack (what the live mode will do), and the actions answer
//! typed errors a caller can react to.

use mitid_components::idp::admin::Ial;
use mitid_components::runtime::RuntimeKind;
use mitid_conformance::actions::pages::{self, PageMethod};
use mitid_conformance::actions::service_provider::ask_me;
use mitid_conformance::actions::support::{self, Request};
use mitid_conformance::actions::{ActionError, app};
use mitid_conformance::setup;
use mitid_conformance::world::LabWorld;

#[test]
fn a_journey_runs_on_a_world_made_outside_cucumber() {
    let runtime = mitid_conformance::suite::tokio_runtime().expect("a runtime");
    let reference = setup::reference(&[], RuntimeKind::Embedded, "journey", &runtime)
        .expect("the embedded reference stack starts");
    let mut world = LabWorld::for_lab(std::sync::Arc::clone(&reference.lab));
    runtime.block_on(async {
        app::citizen_with_app_on_phone(&mut world, "Asta", Ial::Substantial)
            .await
            .expect("a citizen with the app on her phone");
        let uuid = world.citizen_named("Asta").uuid.clone();

        // A journey step the citizen cannot take answers a typed error, not a panic. The login
        // with a phone she does not have is left waiting at the broker, so the login that follows
        // has two requests waiting for her app: the binding on the page picks the right one.
        let no_call = support::ask(&mut world, "Asta", Request::TemporaryPin).await;
        assert!(
            matches!(&no_call, Err(ActionError::Citizen(why)) if why.contains("has not called support")),
            "{no_call:?}"
        );
        let no_phone = pages::login(
            &mut world,
            "Asta",
            None,
            PageMethod::App {
                label: "new phone",
                pin: false,
            },
        )
        .await;
        assert!(
            matches!(&no_phone, Err(ActionError::Login(why)) if why.contains("no new phone")),
            "{no_phone:?}"
        );

        pages::login(
            &mut world,
            "Asta",
            None,
            PageMethod::App {
                label: "phone",
                pin: false,
            },
        )
        .await
        .expect("Asta logs in with the app on her phone");
        let lab = world.lab();
        let me = ask_me(&lab, &mut world.browser).await.expect("/me answers");
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.sub(), Some(uuid.as_str()), "{}", me.body);
    });
    // Every call of the journey is evidence, as in a scenario.
    assert!(world.evidence().len() > 5, "{:?}", world.evidence().len());
}
