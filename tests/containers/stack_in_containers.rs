//! The whole stack in containers: health and API checks, then nothing left behind.

use mitid_components::runtime::containers::{self, ContainerOptions, RUN_LABEL};
use mitid_components::runtime::{Component, StackOptions, probe};

use crate::{docker_or_skip, labelled_leftovers};

#[test]
fn stack_in_containers_answers_and_leaves_nothing_behind() {
    if !docker_or_skip("stack_in_containers_answers_and_leaves_nothing_behind") {
        return;
    }
    let binary = env!("CARGO_BIN_EXE_mitid-lab").into();
    let stack = containers::start(StackOptions::default(), &ContainerOptions { binary })
        .unwrap_or_else(|err| panic!("starting the stack in containers: {err}"));
    let run_id = stack.run_id().to_owned();

    let (running, _) = labelled_leftovers(RUN_LABEL, &run_id);
    let components = stack.components();
    assert_eq!(
        running.len(),
        components.len(),
        "one container per component expected; running {running:?}, components {components:?}"
    );
    for component in &components {
        let url = stack.url(*component);
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "{component} host URL {url} is not a mapped loopback port"
        );
    }
    if components.contains(&Component::Idp) {
        assert!(
            stack.issuer().contains(&run_id),
            "issuer {} is not the IdP container's name",
            stack.issuer()
        );
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let checks = runtime.block_on(probe::check_stack(&stack));
    let passed = match checks {
        Ok(passed) => passed,
        Err(failure) => {
            drop(stack);
            panic!("stack in containers (run {run_id}): {failure}");
        }
    };
    assert!(
        passed.len() >= components.len() * 3,
        "too few checks ran: {passed:?}"
    );

    stack
        .shutdown()
        .unwrap_or_else(|err| panic!("stopping run {run_id}: {err}"));
    let (containers_left, networks_left) = labelled_leftovers(RUN_LABEL, &run_id);
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "run {run_id} left containers {containers_left:?} and networks {networks_left:?}"
    );
}
