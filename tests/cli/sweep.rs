//! `mitid-lab sweep`: a plan split into shards run in any order, any number of times, merges
//! into the same bytes as `sweep run`; a missing or foreign shard is named; bad sweep files and
//! a missing shard index are bad input.

use std::path::Path;

use crate::harness::{project_file, run, scratch_dir};

/// Two shutdown dates × 3 replications of a small Denmark: six runs of a few milliseconds.
pub fn sweep_file(dir: &Path) -> String {
    let text = format!(
        "name: cli-sweep\n\
         scenario: {}\n\
         seed: 11\n\
         replications: 3\n\
         set:\n  population.size: 3000\n\
         grid:\n  calendar.nemid_shutdown: [2023-09-30, 2023-12-31]\n\
         collect:\n  figures:\n    - milestones.nemid_shutdown.figures.without_eid\n    - totals.via_nemid\n  \
         series: [without_eid]\n",
        project_file("scenarios/demo-100k.yaml")
    );
    let path = dir.join("sweep.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

pub const MERGED: [&str; 5] = [
    "sweep.json",
    "bands.csv",
    "report.md",
    "report.html",
    "figure-0.svg",
];

#[test]
fn shards_in_any_order_merge_to_the_bytes_of_sweep_run() {
    let dir = scratch_dir("sweep_any_split");
    let sweep = sweep_file(&dir);
    let here = dir.join("here").display().to_string();
    run(&["sweep", "run", &sweep, "--out", &here, "--jobs", "2"]).expect_code(0);

    let split = dir.join("split").display().to_string();
    run(&[
        "sweep",
        "plan",
        &sweep,
        "--out",
        &split,
        "--runs-per-shard",
        "2",
    ])
    .expect_code(0);
    // Shards 2 and 0 by flag, 1 through the Slurm variable; shard 2 twice, as a scheduler may.
    run(&["sweep", "shard", &split, "--index", "2"]).expect_code(0);
    run(&["sweep", "shard", &split, "--index", "0"]).expect_code(0);
    run(&["sweep", "shard", &split, "--index", "2"]).expect_code(0);
    let status = run(&["sweep", "status", &split]);
    status.expect_code(0);
    assert!(
        status.stdout.contains("2 of 3 shards done; missing: 1"),
        "{}",
        status.describe()
    );
    let shard_1 = std::process::Command::new(env!("CARGO_BIN_EXE_mitid-lab"))
        .args(["sweep", "shard", &split])
        .env("SLURM_ARRAY_TASK_ID", "1")
        .status()
        .unwrap();
    assert!(shard_1.success());
    run(&["sweep", "merge", &format!("{split}/plan.json")]).expect_code(0);

    // The plans differ in shard size, so the shard layout does not reach the merged files
    // except through the plan's hash: compare with a `sweep run` of the same layout too.
    let same_layout = dir.join("same").display().to_string();
    run(&[
        "sweep",
        "run",
        &sweep,
        "--out",
        &same_layout,
        "--runs-per-shard",
        "2",
    ])
    .expect_code(0);
    for file in MERGED {
        let a = std::fs::read(Path::new(&split).join(file)).unwrap();
        let b = std::fs::read(Path::new(&same_layout).join(file)).unwrap();
        assert!(
            a == b,
            "{file} differs between the split run and `sweep run`"
        );
    }
    let read_json = |dir: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(Path::new(dir).join("sweep.json")).unwrap()).unwrap()
    };
    let json = read_json(&here);
    assert_eq!(
        json["points"],
        read_json(&split)["points"],
        "the figures do not depend on how the runs were packed into shards"
    );
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    let estimate = &points[0]["figures"]["milestones.nemid_shutdown.figures.without_eid"];
    assert_eq!(estimate["n"], 3);
    let [lo, mean, hi] = [
        &estimate["ci95"][0],
        &estimate["mean"],
        &estimate["ci95"][1],
    ]
    .map(|value| value.as_f64().unwrap());
    assert!(lo <= mean && mean <= hi && lo < hi, "{estimate}");
    let bands = std::fs::read_to_string(Path::new(&here).join("bands.csv")).unwrap();
    assert!(
        bands.starts_with(
            "point,series,date,mean,ci95_low,ci95_high,p05,p95\n0,without_eid,2021-10-01,"
        ),
        "{}",
        &bands[..200]
    );
}

#[test]
fn merge_names_missing_and_foreign_shards() {
    let dir = scratch_dir("sweep_incomplete");
    let sweep = sweep_file(&dir);
    let plan = dir.join("plan").display().to_string();
    run(&["sweep", "plan", &sweep, "--out", &plan]).expect_code(0);
    run(&["sweep", "shard", &plan, "--index", "0"]).expect_code(0);
    run(&["sweep", "shard", &plan, "--index", "5"]).expect_code(0);
    run(&["sweep", "merge", &plan])
        .expect_code(2)
        .expect_stderr("4 of 6 shards have no output yet")
        .expect_stderr("indices 1-4")
        .expect_stderr("sbatch --array=1-4");
    assert!(!Path::new(&plan).join("sweep.json").exists());

    // A shard output of another plan (another seed) in this plan's folder is refused by name.
    let other_sweep = std::fs::read_to_string(&sweep)
        .unwrap()
        .replace("seed: 11", "seed: 12");
    let other_file = dir.join("other.yaml");
    std::fs::write(&other_file, other_sweep).unwrap();
    let other = dir.join("other").display().to_string();
    run(&[
        "sweep",
        "plan",
        &other_file.display().to_string(),
        "--out",
        &other,
    ])
    .expect_code(0);
    run(&["sweep", "shard", &other, "--index", "1"]).expect_code(0);
    std::fs::copy(
        Path::new(&other).join("shards/shard-000001.json"),
        Path::new(&plan).join("shards/shard-000001.json"),
    )
    .unwrap();
    run(&["sweep", "merge", &plan])
        .expect_code(2)
        .expect_stderr("shard-000001.json: written for plan");
}

#[test]
fn bad_sweeps_and_indices_are_bad_input() {
    let dir = scratch_dir("sweep_bad_input");
    let sweep = sweep_file(&dir);
    let text = std::fs::read_to_string(&sweep).unwrap();

    let misspelt = dir.join("misspelt.yaml");
    std::fs::write(
        &misspelt,
        text.replace("totals.via_nemid", "totals.via_nemidd"),
    )
    .unwrap();
    let out = dir.join("out").display().to_string();
    run(&[
        "sweep",
        "plan",
        &misspelt.display().to_string(),
        "--out",
        &out,
    ])
    .expect_code(2)
    .expect_stderr("`totals.via_nemidd`: summary.json has no `via_nemidd` under `totals`");
    assert!(
        !Path::new(&out).exists(),
        "nothing is planned from a bad sweep"
    );

    let bad_field = dir.join("bad-field.yaml");
    std::fs::write(
        &bad_field,
        text.replace("calendar.nemid_shutdown:", "calendar.nemid_shutdwn:"),
    )
    .unwrap();
    run(&[
        "sweep",
        "plan",
        &bad_field.display().to_string(),
        "--out",
        &out,
    ])
    .expect_code(2)
    .expect_stderr("grid point 0 (calendar.nemid_shutdwn=2023-09-30)");

    let one_rep = dir.join("one-rep.yaml");
    std::fs::write(&one_rep, text.replace("replications: 3", "replications: 1")).unwrap();
    run(&[
        "sweep",
        "plan",
        &one_rep.display().to_string(),
        "--out",
        &out,
    ])
    .expect_code(2)
    .expect_stderr("one-rep.yaml:4: replications: invalid: at least 2 replications");

    let plan = dir.join("plan").display().to_string();
    run(&["sweep", "plan", &sweep, "--out", &plan]).expect_code(0);
    run(&["sweep", "shard", &plan])
        .expect_code(2)
        .expect_stderr("no shard index: give --index N or set one of MITID_SHARD_INDEX");
    run(&["sweep", "shard", &plan, "--index", "6"])
        .expect_code(2)
        .expect_stderr("shard index 6 is out of range: the plan has shards 0 to 5");

    // A plan edited by hand no longer matches its hash.
    let plan_json = Path::new(&plan).join("plan.json");
    let edited = std::fs::read_to_string(&plan_json).unwrap().replacen(
        "\"replications\": 3",
        "\"replications\": 4",
        1,
    );
    std::fs::write(&plan_json, edited).unwrap();
    run(&["sweep", "shard", &plan, "--index", "0"])
        .expect_code(2)
        .expect_stderr("the plan does not match its plan_sha256");
}
