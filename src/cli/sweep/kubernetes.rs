//! `sweep emit --kubernetes`: the plan's shards as a Kubernetes Indexed Job, and its merge as a
//! second Job, typed with `k8s-openapi` rather than templated text, so a field the API does not
//! know cannot be written.
//!
//! Each pod of the Indexed Job gets its index in `JOB_COMPLETION_INDEX`, which `sweep shard`
//! reads; `backoffLimitPerIndex` retries a failed shard on its own without failing the others,
//! which is safe because a shard's output is deterministic and written whole.
//!
//! Kubernetes has no dependency between Jobs: the merge Job is applied once the shards Job is
//! complete (`kubectl wait --for=condition=complete`), as the printed commands say.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvFromSource, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec,
    ResourceRequirements, SecretEnvSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::shard::write_atomically;
use crate::cli::BadInput;

/// Where the sweep folder (plan, shard outputs unless an object store is used, reports) is
/// mounted in every pod.
pub const MOUNT: &str = "/sweep";

/// What the Jobs are made of besides the plan.
pub struct Emission<'a> {
    pub sweep_name: &'a str,
    pub sweep_dir: &'a Path,
    pub shards: u32,
    pub image: &'a str,
    pub namespace: Option<&'a str>,
    /// Pods at once [default: every shard].
    pub max_parallel: Option<u32>,
    /// Retries of one shard before that index counts as failed.
    pub backoff_limit_per_index: u32,
    /// A `ReadWriteMany` claim holding the sweep folder.
    pub volume_claim: &'a str,
    /// A Secret whose keys become environment variables (the `AWS_*` of an S3 shard store).
    pub env_secret: Option<&'a str>,
    /// Memory requested and limited per pod, a Kubernetes quantity (`2Gi`).
    pub memory: &'a str,
}

/// The two manifests' paths.
pub struct Emitted {
    pub shards_job: PathBuf,
    pub merge_job: PathBuf,
    pub shards_job_name: String,
}

/// Writes `kubernetes/shards-job.yaml` and `kubernetes/merge-job.yaml` in the sweep folder.
pub fn emit(emission: &Emission<'_>) -> Result<Emitted> {
    check_quantity(emission.memory)?;
    if emission.max_parallel == Some(0) {
        return Err(BadInput("--max-parallel must be at least 1".to_owned()).into());
    }
    let base = job_name(emission.sweep_name);
    let shards_name = format!("{base}-shards");
    let merge_name = format!("{base}-merge");
    let shards = i32::try_from(emission.shards).map_err(|_| {
        BadInput(format!(
            "{} shards are more than a Job holds",
            emission.shards
        ))
    })?;
    let parallelism = emission
        .max_parallel
        .map_or(shards, |k| i32::try_from(k).unwrap_or(i32::MAX).min(shards));
    let plan = format!("{MOUNT}/plan.json");

    let shards_job = Job {
        metadata: metadata(&shards_name, emission),
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".to_owned()),
            completions: Some(shards),
            parallelism: Some(parallelism),
            backoff_limit_per_index: Some(
                i32::try_from(emission.backoff_limit_per_index).unwrap_or(i32::MAX),
            ),
            template: pod(emission, &["sweep", "shard", &plan]),
            ..JobSpec::default()
        }),
        status: None,
    };
    let merge_job = Job {
        metadata: metadata(&merge_name, emission),
        spec: Some(JobSpec {
            completions: Some(1),
            parallelism: Some(1),
            backoff_limit: Some(2),
            template: pod(emission, &["sweep", "merge", &plan]),
            ..JobSpec::default()
        }),
        status: None,
    };

    let folder = emission.sweep_dir.join("kubernetes");
    let shards_path = folder.join("shards-job.yaml");
    let merge_path = folder.join("merge-job.yaml");
    write_atomically(&shards_path, &manifest(&shards_job)?)?;
    write_atomically(&merge_path, &manifest(&merge_job)?)?;
    Ok(Emitted {
        shards_job: shards_path,
        merge_job: merge_path,
        shards_job_name: shards_name,
    })
}

fn metadata(name: &str, emission: &Emission<'_>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: emission.namespace.map(str::to_owned),
        labels: Some(BTreeMap::from([
            ("app.kubernetes.io/name".to_owned(), "mitid-lab".to_owned()),
            ("app.kubernetes.io/component".to_owned(), "sweep".to_owned()),
        ])),
        ..ObjectMeta::default()
    }
}

fn pod(emission: &Emission<'_>, args: &[&str]) -> PodTemplateSpec {
    let memory = BTreeMap::from([("memory".to_owned(), Quantity(emission.memory.to_owned()))]);
    let container = Container {
        name: "mitid-lab".to_owned(),
        image: Some(emission.image.to_owned()),
        // The lab's image has the binary as its entrypoint; only the arguments are given.
        args: Some(args.iter().map(|arg| (*arg).to_owned()).collect()),
        env_from: emission.env_secret.map(|secret| {
            vec![EnvFromSource {
                secret_ref: Some(SecretEnvSource {
                    name: secret.to_owned(),
                    optional: Some(false),
                }),
                ..EnvFromSource::default()
            }]
        }),
        resources: Some(ResourceRequirements {
            requests: Some(memory.clone()),
            limits: Some(memory),
            ..ResourceRequirements::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "sweep".to_owned(),
            mount_path: MOUNT.to_owned(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    };
    PodTemplateSpec {
        metadata: None,
        spec: Some(PodSpec {
            // `backoffLimitPerIndex` requires pods that are never restarted in place.
            restart_policy: Some("Never".to_owned()),
            containers: vec![container],
            volumes: Some(vec![Volume {
                name: "sweep".to_owned(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: emission.volume_claim.to_owned(),
                    read_only: Some(false),
                }),
                ..Volume::default()
            }]),
            ..PodSpec::default()
        }),
    }
}

fn manifest(job: &Job) -> Result<Vec<u8>> {
    let mut text = String::from(
        "# Written by `mitid-lab sweep emit --kubernetes`; apply with kubectl apply -f.\n",
    );
    text.push_str(&serde_yaml::to_string(job).context("cannot encode the Job")?);
    Ok(text.into_bytes())
}

/// A Job name: lowercase letters, digits and `-`, at most 63 characters with the suffixes.
fn job_name(sweep_name: &str) -> String {
    let mut name: String = sweep_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(40);
    let name = name.trim_matches('-');
    if name.is_empty() {
        "mitid-sweep".to_owned()
    } else {
        format!("mitid-sweep-{name}")
    }
}

/// A memory quantity as Kubernetes writes them: a number and a binary or decimal suffix.
fn check_quantity(text: &str) -> Result<(), BadInput> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &text[digits.len()..];
    let known = ["", "Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T"];
    if !digits.is_empty() && digits.parse::<f64>().is_ok_and(|n| n > 0.0) && known.contains(&suffix)
    {
        Ok(())
    } else {
        Err(BadInput(format!(
            "--memory {text:?} is not a memory quantity such as 2Gi or 1500Mi"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_dns_labels() {
        assert_eq!(
            job_name("Shutdown dates × staffing"),
            "mitid-sweep-shutdown-dates---staffing"
        );
        assert_eq!(job_name("***"), "mitid-sweep");
        assert!(job_name(&"x".repeat(100)).len() + "-shards".len() <= 63);
    }

    #[test]
    fn memory_quantities_are_checked() {
        assert!(check_quantity("2Gi").is_ok());
        assert!(check_quantity("1500Mi").is_ok());
        assert!(check_quantity("2GB").is_err());
        assert!(check_quantity("lots").is_err());
        assert!(check_quantity("0Gi").is_err());
    }
}
