//! `mitid-lab certify --protocol oiosaml`: certify an OIOSAML service provider (a public service
//! behind NemLog-in) against the SAML catalogue.
//!
//! - `certify init --protocol oiosaml --dir DIR [--sp-metadata FILE|URL]` writes `target.yaml`,
//!   the lab's NemLog-in metadata and the test certificates into DIR, and the service's metadata
//!   (validated: file, line, field; exit 2) beside them;
//! - `certify --protocol oiosaml --target URL --config DIR/target.yaml` runs the suite against it;
//! - `certify --protocol oiosaml` (or `--target reference`) runs it against the reference SAML
//!   service provider, `--flaw NAME` with that flaw;
//! - `certify selfcheck --protocol oiosaml`: every SAML flaw fails its own requirement.
//!
//! Exit codes as for OIDC (see `certify`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::BadInput;
use super::certify::{
    RunArgs, finish, finish_selfcheck, load_features, selfcheck_progress, setup_error,
};
use super::output::{self, OutputDir, OutputError};
use mitid_components::nemlogin::{self, BrokerClient, Nemlogin, NemloginConfig};
use mitid_components::reference_saml_sp::SamlFlaw;
use mitid_components::runtime::{RuntimeKind, interrupt};
use mitid_conformance::catalogue::Catalogue;
use mitid_conformance::oiosaml::target::{
    INIT_MARK, NemloginSection, PROTOCOL, SamlServiceProviderSection, SamlTargetFile,
    validate_sp_metadata,
};
use mitid_conformance::oiosaml::{self, SAML_FEATURES};
use mitid_conformance::suite;
use mitid_conformance::target::OptionalFeature;

/// The files of an OIOSAML target folder.
pub const TARGET_FILE: &str = "target.yaml";
pub const IDP_METADATA_FILE: &str = "idp-metadata.xml";
pub const SP_METADATA_FILE: &str = "sp-metadata.xml";

/// `certify init --protocol oiosaml`'s own flags.
#[derive(Debug, Clone)]
pub struct SamlInit {
    pub dir: PathBuf,
    pub base_url: String,
    pub sp_metadata: Option<String>,
    pub nemlogin_listen: String,
    pub logout: bool,
    /// The service offers business logins at `/login?identity=professional`, demanding the
    /// lab's read privilege.
    pub business_logins: bool,
    pub force: bool,
}

/// Parses `--flaw` names of the reference SAML service provider.
fn saml_flaws(names: &[String]) -> anyhow::Result<Vec<SamlFlaw>> {
    names
        .iter()
        .map(|name| {
            name.parse::<SamlFlaw>().map_err(|_| {
                BadInput(format!(
                    "--flaw {name}: no such flaw; the reference SAML service provider has {}",
                    oiosaml::known_flaws().join(", ")
                ))
                .into()
            })
        })
        .collect()
}

pub fn run_certify(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::embedded_saml();
    let features = load_features(
        &args.features,
        &[SAML_FEATURES],
        &catalogue,
        args.tags.as_deref(),
    )?;
    let reference = args.target.as_deref().is_none_or(|t| t == "reference");
    if reference && args.config.is_some() {
        return Err(BadInput(
            "--config is for a URL target; the reference SAML service provider needs none".into(),
        )
        .into());
    }
    if !reference && !args.flaw.is_empty() {
        return Err(BadInput(
            "--flaw only applies to the reference SAML service provider (no --target)".into(),
        )
        .into());
    }
    let flaws = saml_flaws(&args.flaw)?;
    if !reference && args.runtime.kind() == RuntimeKind::Containers {
        return Err(BadInput(
            "--runtime containers runs the lab's own components; for a URL target NemLog-in runs in this process on nemlogin.listen (the address your service's IdP metadata names): drop --runtime".into(),
        )
        .into());
    }
    // Read and checked before anything is started or written.
    let external = match (&args.target, &args.config) {
        (Some(target), Some(config)) if !reference => {
            let text = std::fs::read_to_string(config)
                .map_err(|e| BadInput(format!("{}: cannot read: {e}", config.display())))?;
            let file = SamlTargetFile::parse(&text, config).map_err(|e| BadInput(e.to_string()))?;
            Some(
                file.validate(&text, config, Some(target))
                    .map_err(|e| BadInput(e.to_string()))?,
            )
        }
        (Some(target), None) if !reference => {
            return Err(BadInput(format!(
                "--target {target} needs --config target.yaml (write one with `mitid-lab certify init --protocol oiosaml`)"
            ))
            .into());
        }
        _ => None,
    };
    let run_id = format!("certify-{}", suite::run_tag());
    interrupt::install();
    let out = OutputDir::create(&args.reports.join(&run_id), "certify", false)?;
    let dir = out.path().to_owned();
    let report = match external {
        None => oiosaml::certify_reference(
            &flaws,
            args.runtime.kind(),
            &features,
            &catalogue,
            &run_id,
            Some(&dir),
        )
        .map_err(setup_error)?,
        Some(target) => {
            let runtime = suite::tokio_runtime()?;
            runtime.block_on(async {
                let lab = oiosaml::setup::external(&target, &run_id)
                    .await
                    .map_err(setup_error)?;
                if let Err(err) = oiosaml::setup::preflight(&lab.lab).await {
                    lab.shutdown().await;
                    return Err(setup_error(err));
                }
                let report =
                    suite::run_against(lab.lab.clone(), &features, &catalogue, &run_id, Some(&dir))
                        .await;
                lab.shutdown().await;
                anyhow::Ok(report?)
            })?
        }
    };
    finish(&report, out)
}

pub fn run_selfcheck(
    flaw_names: &[String],
    kind: RuntimeKind,
    jobs: Option<u16>,
    reports: &Path,
) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::embedded_saml();
    let features = load_features(&[], &[SAML_FEATURES], &catalogue, None)?;
    let flaws = if flaw_names.is_empty() {
        SamlFlaw::all().collect()
    } else {
        saml_flaws(flaw_names)?
    };
    let run_id = format!("selfcheck-{}", suite::run_tag());
    interrupt::install();
    let out = OutputDir::create(&reports.join(&run_id), "certify selfcheck", false)?;
    let jobs = jobs.map_or_else(
        || match kind {
            RuntimeKind::Embedded => 4,
            RuntimeKind::Containers => suite::selfcheck_jobs(kind),
        },
        usize::from,
    );
    let check = oiosaml::selfcheck(
        &flaws,
        kind,
        &features,
        &catalogue,
        &run_id,
        jobs,
        selfcheck_progress,
    )
    .map_err(setup_error)?;
    finish_selfcheck(
        &check,
        out,
        "mitid-lab certify selfcheck --protocol oiosaml",
    )
}

pub fn run_list() -> ExitCode {
    let catalogue = Catalogue::embedded_saml();
    for requirement in &catalogue.requirements {
        println!(
            "{:<18} {:<6} {}",
            requirement.id,
            requirement.level.as_str(),
            requirement.title
        );
    }
    println!(
        "\n{} requirements; details in fixtures/requirements/saml.yaml",
        catalogue.requirements.len()
    );
    ExitCode::SUCCESS
}

/// The service's metadata from a file or an http(s) URL, with the name errors use for it.
fn read_sp_metadata(source: &str) -> anyhow::Result<String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let runtime = suite::tokio_runtime()?;
        return runtime.block_on(async {
            let answer = reqwest::get(source)
                .await
                .map_err(|e| BadInput(format!("--sp-metadata {source}: cannot fetch: {e}")))?;
            let status = answer.status();
            if !status.is_success() {
                return Err(BadInput(format!("--sp-metadata {source}: answered {status}")).into());
            }
            Ok(answer.text().await.map_err(|e| {
                BadInput(format!(
                    "--sp-metadata {source}: cannot read the answer: {e}"
                ))
            })?)
        });
    }
    std::fs::read_to_string(source)
        .map_err(|e| BadInput(format!("--sp-metadata {source}: cannot read: {e}")).into())
}

/// A file `init` is about to write, and whether it may: a new file, one `init` wrote before
/// (its first line has the mark), or one identical to what it would write (the fixed test keys).
struct Planned {
    path: PathBuf,
    contents: String,
}

fn may_replace(planned: &Planned, force: bool) -> Result<(), OutputError> {
    let Ok(existing) = std::fs::read_to_string(&planned.path) else {
        if planned.path.is_dir() {
            return Err(OutputError::NotAFile {
                path: planned.path.clone(),
            });
        }
        return Ok(());
    };
    let ours = existing
        .lines()
        .next()
        .is_some_and(|l| l.contains(INIT_MARK));
    if force || ours || existing == planned.contents {
        Ok(())
    } else {
        Err(OutputError::ForeignFile {
            path: planned.path.clone(),
        })
    }
}

/// A first-line XML comment carrying the mark (legal before the root without a declaration).
fn marked_xml(xml: &str) -> String {
    let body = xml
        .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .unwrap_or(xml);
    format!("<!-- {INIT_MARK}; test-only -->\n{body}\n")
}

pub fn run_init(init: &SamlInit) -> anyhow::Result<ExitCode> {
    let base = init.base_url.trim_end_matches('/').to_owned();
    let listen: std::net::SocketAddr = init.nemlogin_listen.parse().map_err(|e| {
        BadInput(format!(
            "--nemlogin-listen {:?}: not host:port ({e})",
            init.nemlogin_listen
        ))
    })?;
    let nemlogin_url = format!("http://{listen}");
    // The IdP's metadata as the running NemLog-in will publish it (same keys, same URLs).
    let idp = Nemlogin::new(NemloginConfig::new(
        &nemlogin_url,
        BrokerClient {
            issuer: "http://127.0.0.1:0".into(),
            client_id: "nemlogin".into(),
            client_secret: String::new(),
        },
    ))?;
    let sp_metadata = match &init.sp_metadata {
        Some(source) => {
            let text = read_sp_metadata(source)?;
            validate_sp_metadata(&text, Path::new(source)).map_err(|e| BadInput(e.to_string()))?;
            Some(text)
        }
        None => None,
    };
    let file = SamlTargetFile {
        protocol: PROTOCOL.into(),
        service_provider: SamlServiceProviderSection {
            base_url: base.clone(),
            implements: [
                (init.logout, OptionalFeature::RpInitiatedLogout),
                (init.business_logins, OptionalFeature::BusinessLogins),
            ]
            .into_iter()
            .filter_map(|(yes, feature)| yes.then_some(feature))
            .collect(),
            login_path: "/login".into(),
            me_path: "/me".into(),
            logout_path: init.logout.then(|| "/logout".to_owned()),
            business_login_path: init
                .business_logins
                .then(|| "/login?identity=professional".to_owned()),
            business_privilege: init
                .business_logins
                .then(|| mitid_components::cvr::PRIVILEGE_READ.to_owned()),
            metadata: SP_METADATA_FILE.into(),
        },
        nemlogin: NemloginSection {
            listen: listen.to_string(),
        },
    };
    let dir = &init.dir;
    let at = |name: &str| dir.join(name);
    let keys = [
        (
            "idp-signing.cert.pem",
            nemlogin::test_keys::IDP_SIGNING_CERT,
        ),
        ("sp-signing.key.pem", nemlogin::test_keys::SP_SIGNING_KEY),
        ("sp-signing.cert.pem", nemlogin::test_keys::SP_SIGNING_CERT),
        (
            "sp-encryption.key.pem",
            nemlogin::test_keys::SP_ENCRYPTION_KEY,
        ),
        (
            "sp-encryption.cert.pem",
            nemlogin::test_keys::SP_ENCRYPTION_CERT,
        ),
    ];
    let mut plan = vec![
        Planned {
            path: at(TARGET_FILE),
            contents: file.to_commented_yaml(),
        },
        Planned {
            path: at(IDP_METADATA_FILE),
            contents: marked_xml(&idp.metadata()),
        },
    ];
    plan.extend(keys.iter().map(|(name, pem)| Planned {
        path: at(name),
        contents: (*pem).to_owned(),
    }));
    if let Some(text) = &sp_metadata {
        plan.push(Planned {
            path: at(SP_METADATA_FILE),
            contents: text.clone(),
        });
    }
    // Every file checked before any is written: nothing half-written.
    for planned in &plan {
        may_replace(planned, init.force)?;
    }
    for planned in &plan {
        output::write_file(&planned.path, planned.contents.as_bytes(), "", true)?;
    }
    print_settings(&plan, dir, &base, &nemlogin_url, sp_metadata.is_some());
    Ok(ExitCode::SUCCESS)
}

/// What `init` tells the integrator: the files written, what to configure, what to run.
fn print_settings(
    plan: &[Planned],
    dir: &Path,
    base: &str,
    nemlogin_url: &str,
    has_sp_metadata: bool,
) {
    let at = |name: &str| dir.join(name);
    println!("Wrote into {}:", dir.display());
    for planned in plan {
        println!(
            "  {}",
            planned
                .path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
        );
    }
    println!("\nConfigure your OIOSAML service provider with:\n");
    println!(
        "  IdP metadata            {}  (entityID {nemlogin_url})",
        at(IDP_METADATA_FILE).display()
    );
    println!(
        "  SSO (HTTP-Redirect)     {nemlogin_url}/saml/sso   — sign AuthnRequests with RSA-SHA256"
    );
    println!("  SLO (HTTP-Redirect)     {nemlogin_url}/saml/slo");
    println!(
        "  IdP signing certificate {}",
        at("idp-signing.cert.pem").display()
    );
    println!(
        "  your keys (test-only)   sp-signing.{{key,cert}}.pem and sp-encryption.{{key,cert}}.pem in {}",
        dir.display()
    );
    println!(
        "\nYour service must answer GET {base}/login (optional ?loa=low|substantial|high) with a redirect to the SSO"
    );
    println!(
        "endpoint, GET {base}/me with 200 + JSON {{\"sub\": <persistent NameID>, \"account\": <your account id>}} when"
    );
    println!("logged in, 401 otherwise.");
    if !has_sp_metadata {
        println!(
            "\nPut your service's metadata at {} (or run init again with --sp-metadata FILE|URL).",
            at(SP_METADATA_FILE).display()
        );
    }
    println!("\nThen run:\n");
    println!(
        "  mitid-lab certify --protocol oiosaml --target {base} --config {}",
        at(TARGET_FILE).display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_idp_metadata_is_marked_and_still_metadata() {
        let xml = marked_xml(
            r#"<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>"#,
        );
        assert!(xml.lines().next().is_some_and(|l| l.contains(INIT_MARK)));
        assert!(
            mitid_components::saml::metadata::parse(&xml).is_ok(),
            "{xml}"
        );
    }
}
