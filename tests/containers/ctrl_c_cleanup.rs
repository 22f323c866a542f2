//! `mitid-lab components up --runtime containers` removes its containers and network on Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mitid_components::runtime::containers::RUN_LABEL;

use crate::{docker_or_skip, labelled_leftovers};

#[test]
fn ctrl_c_on_components_up_removes_every_container_and_network() {
    if !docker_or_skip("ctrl_c_on_components_up_removes_every_container_and_network") {
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args(["components", "up", "--runtime", "containers"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning mitid-lab components up");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut seen = Vec::new();
    let mut run_id = None;
    loop {
        let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(300)) else {
            let _ = child.kill();
            panic!("components up printed no ready line within 300 s; output so far: {seen:#?}");
        };
        if let Some(rest) = line.split_once("run ").map(|(_, rest)| rest)
            && run_id.is_none()
            && line.starts_with("mitid-lab components")
        {
            run_id = Some(rest.trim_end_matches(':').trim_end_matches(')').to_owned());
        }
        let ready = line.contains("press Ctrl-C");
        seen.push(line);
        if ready {
            break;
        }
    }
    let run_id = run_id.unwrap_or_else(|| panic!("no run id in the output: {seen:#?}"));
    let (running, _) = labelled_leftovers(RUN_LABEL, &run_id);
    assert!(
        !running.is_empty(),
        "no container of run {run_id} while up; output: {seen:#?}"
    );

    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(kill.success(), "kill -INT {} failed", child.id());
    let status = wait_with_timeout(&mut child, Duration::from_secs(120));
    let (containers_left, networks_left) = labelled_leftovers(RUN_LABEL, &run_id);
    assert!(
        containers_left.is_empty() && networks_left.is_empty(),
        "after Ctrl-C (exit {status:?}) run {run_id} left containers {containers_left:?} and networks {networks_left:?}"
    );
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    None
}
