//! The conformance crate's layers call down only: steps → actions → world. This test reads the
//! sources and fails on an import that points the wrong way or on a step that speaks HTTP itself.

use std::path::{Path, PathBuf};

/// What a step module must not contain: another step module, or an HTTP client of its own.
const STEP_FORBIDDEN: &[(&str, &str)] = &[
    ("super::", "imports a sibling step module"),
    ("crate::steps", "imports a step module"),
    ("reqwest", "speaks HTTP (reqwest)"),
    (".http", "speaks HTTP (the lab's client)"),
    ("Browser::new", "opens a browser of its own"),
    (".navigate(", "drives the browser"),
    (".post_form(", "drives the browser"),
    ("browser.get(", "drives the browser"),
];

/// What an action must not use: the layers above it.
const ACTION_FORBIDDEN: &[(&str, &str)] = &[
    ("crate::steps", "calls up into the steps"),
    ("crate::checks", "calls up into the checks"),
    ("crate::runner", "calls up into the runner"),
];

/// What the world must not use: anything above it.
const WORLD_FORBIDDEN: &[(&str, &str)] = &[
    ("crate::steps", "depends on a step module"),
    ("super::steps", "depends on a step module"),
    ("crate::actions", "depends on the actions"),
    ("super::actions", "depends on the actions"),
    ("crate::checks", "depends on the checks"),
];

/// `file:line: why` for every line of `source` (comments left out) containing a forbidden text.
fn violations(file: &str, source: &str, forbidden: &[(&str, &str)]) -> Vec<String> {
    let mut found = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (text, why) in forbidden {
            if code.contains(text) {
                found.push(format!("{file}:{}: {why}: {}", index + 1, line.trim()));
            }
        }
    }
    found
}

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    files
}

fn scan(files: &[PathBuf], forbidden: &[(&str, &str)]) -> Vec<String> {
    files
        .iter()
        .flat_map(|path| {
            let source = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            violations(&path.display().to_string(), &source, forbidden)
        })
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_step_module_imports_another_or_speaks_http() {
    let steps: Vec<PathBuf> = sources(&src().join("steps"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "mod.rs"))
        .collect();
    assert!(steps.len() >= 8, "the step modules moved: {steps:?}");
    let found = scan(&steps, STEP_FORBIDDEN);
    assert!(
        found.is_empty(),
        "steps break the layering:\n{}",
        found.join("\n")
    );
}

#[test]
fn actions_do_not_call_up() {
    let actions = sources(&src().join("actions"));
    assert!(actions.len() >= 10, "the actions moved: {actions:?}");
    let found = scan(&actions, ACTION_FORBIDDEN);
    assert!(
        found.is_empty(),
        "actions break the layering:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_world_depends_on_nothing_above_it() {
    let mut world = sources(&src().join("world"));
    world.push(src().join("world.rs"));
    let found = scan(&world, WORLD_FORBIDDEN);
    assert!(
        found.is_empty(),
        "the world breaks the layering:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_catches_what_it_forbids() {
    // A step that imports a sibling and calls a service itself, as steps did before the actions.
    let bad = "use super::broker::control;\n\
               // super:: in a comment is fine\n\
               let page = world.browser.get(&url).await;\n\
               let answer = lab.http.post(url).send().await;\n";
    let found = violations("bad.rs", bad, STEP_FORBIDDEN);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("bad.rs:1: imports a sibling step module"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("bad.rs:3: drives the browser"),
        "{found:#?}"
    );
    assert!(found[2].starts_with("bad.rs:4: speaks HTTP"), "{found:#?}");
    let world = "use super::steps::device::Devices;\n";
    assert_eq!(violations("world.rs", world, WORLD_FORBIDDEN).len(), 1);
}
