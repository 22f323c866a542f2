//! Exit codes, one meaning each, as a user (or CI) sees them: listed in every `--help`, and 3
//! when the lab itself cannot work.

use crate::harness::{run, scratch_dir};

#[test]
fn every_help_lists_the_exit_codes() {
    for command in [
        &[][..],
        &["simulate"],
        &["compare"],
        &["components"],
        &["components", "up"],
        &["bench"],
        &["certify"],
        &["certify", "init"],
        &["certify", "selfcheck"],
        &["run"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let result = run(&args);
        result.expect_code(0);
        for line in [
            "Exit codes:",
            "  1    a requirement failed",
            "  2    bad input",
            "  3    the lab could not do its work",
            "  130  interrupted",
        ] {
            assert!(
                result.stdout.contains(line),
                "`mitid-lab {}` lacks {line:?}\n{}",
                args.join(" "),
                result.describe()
            );
        }
    }
}

#[test]
fn a_port_taken_is_the_labs_trouble_exit_3() {
    let dir = scratch_dir("exit_port_taken");
    // Another program holds the port the target file gives the lab's broker.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let taken = holder.local_addr().unwrap().to_string();
    let target = dir.join("target.yaml").display().to_string();
    run(&[
        "certify",
        "init",
        "--no-logout",
        "--no-backchannel-logout",
        "--no-step-up",
        "--out",
        &target,
        "--broker-listen",
        &taken,
    ])
    .expect_code(0);
    let result = run(&[
        "certify",
        "--target",
        "http://127.0.0.1:9",
        "--config",
        &target,
        "--reports",
        &dir.join("reports").display().to_string(),
    ]);
    result.expect_code(3).expect_stderr(&taken);
    assert_eq!(
        result.stderr.matches("os error").count(),
        1,
        "the cause is said more than once\n{}",
        result.describe()
    );
    drop(holder);
}
