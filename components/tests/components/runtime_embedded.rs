//! The embedded stack: every component starts on loopback, answers, and frees its ports.

use std::net::SocketAddr;

use mitid_components::runtime::{
    self, Component, Endpoint, RuntimeError, StackOptions, Wiring, embedded, probe,
};

fn addrs(wiring: &Wiring) -> Vec<(Component, Endpoint, SocketAddr)> {
    wiring
        .iter()
        .map(|(component, endpoint, url)| {
            let addr = url
                .strip_prefix("http://")
                .and_then(|hostport| hostport.parse().ok())
                .unwrap_or_else(|| {
                    panic!(
                        "{component} {} URL {url} is not http://IP:PORT",
                        endpoint.name()
                    )
                });
            (component, endpoint, addr)
        })
        .collect()
}

fn assert_ports_free(addrs: &[(Component, Endpoint, SocketAddr)], after: &str) {
    for (component, endpoint, addr) in addrs {
        std::net::TcpListener::bind(addr).unwrap_or_else(|err| {
            panic!(
                "after {after}: {component} {} port {addr} still taken: {err}",
                endpoint.name()
            )
        });
    }
}

#[test]
fn every_available_component_starts_and_answers() {
    let stack = embedded::start(StackOptions {
        population: 200,
        ..StackOptions::default()
    })
    .expect("embedded stack starts");
    let components = stack.components();
    let available: Vec<Component> = Component::ALL
        .into_iter()
        .filter(|c| c.in_default_stack() && c.is_available())
        .collect();
    assert_eq!(
        components, available,
        "the stack runs every component built into the crate"
    );
    for component in &components {
        for &endpoint in component.endpoints() {
            let url = stack.endpoint_url(*component, endpoint);
            assert!(
                url.starts_with("http://127.0.0.1:"),
                "{component} {} URL {url} is not on loopback",
                endpoint.name()
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let passed = runtime
        .block_on(probe::check_stack(&stack))
        .unwrap_or_else(|failure| panic!("embedded stack (run {}): {failure}", stack.run_id()));
    // Per component: /health and a JSON 404 per endpoint, one API call.
    let expected: usize = components.iter().map(|c| c.endpoints().len() * 2 + 1).sum();
    assert_eq!(passed.len(), expected, "checks that ran: {passed:#?}");
    stack.shutdown().expect("clean shutdown");
}

#[test]
fn health_names_each_component() {
    let stack = embedded::start(StackOptions {
        population: 50,
        ..StackOptions::default()
    })
    .expect("embedded stack starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let client = reqwest::Client::new();
    for component in stack.components() {
        for &endpoint in component.endpoints() {
            let url = format!("{}/health", stack.endpoint_url(component, endpoint));
            let (status, body) = runtime.block_on(async {
                let response = client
                    .get(&url)
                    .send()
                    .await
                    .unwrap_or_else(|err| panic!("GET {url}: {err}"));
                let status = response.status();
                let body: serde_json::Value = response
                    .json()
                    .await
                    .unwrap_or_else(|err| panic!("GET {url}: body: {err}"));
                (status, body)
            });
            assert_eq!(status, reqwest::StatusCode::OK, "GET {url}: {body}");
            // The IdP's control listener calls itself `idp-control`.
            let expected = match endpoint {
                Endpoint::Public => component.name().to_owned(),
                Endpoint::Control => format!("{}-control", component.name()),
            };
            assert_eq!(body["component"], expected.as_str(), "GET {url}: {body}");
        }
    }
}

#[test]
fn shutdown_frees_every_port() {
    let stack = embedded::start(StackOptions {
        population: 50,
        ..StackOptions::default()
    })
    .expect("embedded stack starts");
    let bound = addrs(stack.host_urls());
    assert!(!bound.is_empty(), "the stack listens nowhere");
    stack.shutdown().expect("clean shutdown");
    assert_ports_free(&bound, "Stack::shutdown");
}

#[test]
fn dropping_the_stack_frees_every_port() {
    let stack = embedded::start(StackOptions {
        population: 50,
        ..StackOptions::default()
    })
    .expect("embedded stack starts");
    let bound = addrs(stack.host_urls());
    drop(stack);
    assert_ports_free(&bound, "drop(Stack)");
}

#[test]
fn a_stack_can_be_held_inside_an_async_test() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let stack = embedded::start(StackOptions {
            population: 50,
            ..StackOptions::default()
        })
        .expect("embedded stack starts");
        let url = format!("{}/health", stack.url(Component::Cpr));
        let status = reqwest::get(&url)
            .await
            .unwrap_or_else(|err| panic!("GET {url}: {err}"))
            .status();
        assert_eq!(status, reqwest::StatusCode::OK, "GET {url}");
        drop(stack);
    });
}

#[test]
fn serve_requires_the_neighbours_urls() {
    let mut wiring = Wiring::new();
    wiring.set(
        Component::ReferenceSp,
        Endpoint::Public,
        "http://127.0.0.1:1",
    );
    let err =
        runtime::build_routers(Component::ReferenceSp, &wiring, &StackOptions::default()).err();
    match err {
        Some(RuntimeError::MissingUrl {
            needed_by,
            component,
            endpoint,
        }) => {
            assert_eq!(
                (needed_by, component, endpoint),
                (Component::ReferenceSp, Component::Idp, Endpoint::Public)
            );
        }
        other => panic!("reference-sp without the IdP's URL: expected MissingUrl, got {other:?}"),
    }
}

#[test]
fn component_names_round_trip() {
    for component in Component::ALL {
        assert_eq!(
            Component::from_name(component.name()),
            Some(component),
            "{component}"
        );
    }
    assert_eq!(Component::from_name("nemid"), None);
}
