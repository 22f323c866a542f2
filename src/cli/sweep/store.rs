//! Where shard outputs live: the sweep folder's `shards/` by default, or an object store named
//! by URL (`--store s3://bucket/prefix`, `--store file:///shared/sweeps/x`) for clusters whose
//! nodes share no disk.
//!
//! Every write is whole-or-nothing: the local store renames a finished temporary file into
//! place, and an object store's PUT replaces an object atomically. So a merge racing a shard that
//! a scheduler re-runs sees the old output or the new one, never half of one.
//!
//! The store is chosen at `sweep plan` and recorded in the plan, so every shard task and the
//! merge job read the same place without being told again.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use url::Url;

use crate::cli::BadInput;

/// The object name of shard `index`'s output: `shard-000042.json`.
#[must_use]
pub fn object_name(index: u32) -> String {
    format!("shard-{index:06}.json")
}

/// Checks a `--store` URL before anything is planned: a typo fails at `sweep plan`, not in
/// the first cluster task.
pub fn parse_store_url(text: &str) -> Result<Url, BadInput> {
    let url = Url::parse(text).map_err(|err| {
        BadInput(format!(
            "--store {text:?} is not a URL ({err}); give s3://BUCKET/PREFIX or file:///ABSOLUTE/PATH"
        ))
    })?;
    match url.scheme() {
        "s3" | "s3a" if url.host_str().is_some_and(|host| !host.is_empty()) => Ok(url),
        "file" => Ok(url),
        "s3" | "s3a" => Err(BadInput(format!(
            "--store {text:?} names no bucket; give s3://BUCKET/PREFIX"
        ))),
        other => Err(BadInput(format!(
            "--store {text:?}: the scheme {other:?} is not supported; give s3://BUCKET/PREFIX or \
             file:///ABSOLUTE/PATH"
        ))),
    }
}

/// Shard outputs of one sweep, read and written by index.
pub struct ShardStore {
    store: Box<dyn ObjectStore>,
    prefix: ObjectPath,
    /// The local `shards/` folder when the outputs live in the sweep folder: its files are then
    /// recorded in the folder's manifest, so the folder stays one the lab knows it wrote.
    local_dir: Option<PathBuf>,
    /// How an output's place is shown to the user, without the index.
    shown: String,
    // The object store's API is async; a one-thread runtime keeps shards synchronous and small.
    runtime: tokio::runtime::Runtime,
}

impl ShardStore {
    /// The store of a sweep whose folder is `sweep_dir`: `url` if the plan names one, else
    /// `sweep_dir/shards`.
    pub fn open(sweep_dir: &Path, url: Option<&str>) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime the object store needs")?;
        let Some(url) = url else {
            let dir = sweep_dir.join("shards");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
            let store = LocalFileSystem::new_with_prefix(&dir)
                .with_context(|| format!("cannot open {} as a shard store", dir.display()))?;
            return Ok(Self {
                store: Box::new(store),
                prefix: ObjectPath::default(),
                shown: format!("{}/", dir.display()),
                local_dir: Some(dir),
                runtime,
            });
        };
        let parsed = parse_store_url(url)?;
        // Credentials, region and endpoint come from the environment, as every S3 tool reads
        // them (AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT, AWS_ALLOW_HTTP, ...).
        let options = std::env::vars().filter(|(key, _)| key.starts_with("AWS_"));
        let (store, prefix) = object_store::parse_url_opts(&parsed, options)
            .with_context(|| format!("cannot open the shard store {url}"))?;
        if parsed.scheme() == "file" {
            let dir = PathBuf::from(parsed.path());
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
        Ok(Self {
            store,
            prefix,
            shown: format!("{}/", url.trim_end_matches('/')),
            local_dir: None,
            runtime,
        })
    }

    fn location(&self, index: u32) -> ObjectPath {
        self.prefix.clone().join(object_name(index))
    }

    /// Where shard `index`'s output is, as the user would name it.
    #[must_use]
    pub fn shown(&self, index: u32) -> String {
        format!("{}{}", self.shown, object_name(index))
    }

    /// The store's folder or URL prefix, as the user would name it.
    #[must_use]
    pub fn shown_folder(&self) -> &str {
        &self.shown
    }

    /// Writes shard `index`'s output whole; returns where it went.
    pub fn put(&self, index: u32, bytes: Vec<u8>) -> Result<String> {
        let location = self.location(index);
        self.runtime
            .block_on(self.store.put(&location, PutPayload::from(bytes)))
            .with_context(|| format!("cannot write {}", self.shown(index)))?;
        if let Some(dir) = &self.local_dir {
            crate::cli::output::record_in_report(&dir.join(object_name(index)))?;
        }
        Ok(self.shown(index))
    }

    /// Shard `index`'s output, or `None` when it is not there (yet).
    pub fn get(&self, index: u32) -> Result<Option<Vec<u8>>> {
        let location = self.location(index);
        let result = self.runtime.block_on(async {
            match self.store.get(&location).await {
                Ok(found) => found.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(err) => Err(err),
            }
        });
        result
            .map(|bytes| bytes.map(|bytes| bytes.to_vec()))
            .with_context(|| format!("cannot read {}", self.shown(index)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_are_checked_before_planning() {
        assert!(parse_store_url("s3://bucket/sweeps/x").is_ok());
        assert!(parse_store_url("file:///shared/sweeps").is_ok());
        let err = parse_store_url("s3:///nobucket").unwrap_err().to_string();
        assert!(err.contains("names no bucket"), "{err}");
        let err = parse_store_url("gs://bucket/x").unwrap_err().to_string();
        assert!(err.contains("\"gs\" is not supported"), "{err}");
        let err = parse_store_url("shards").unwrap_err().to_string();
        assert!(err.contains("is not a URL"), "{err}");
    }

    #[test]
    fn a_file_url_store_round_trips_and_reports_absence() {
        let dir = std::env::temp_dir().join(format!("mitid-store-{}", std::process::id()));
        let url = format!("file://{}/nested", dir.display());
        let store = ShardStore::open(Path::new("unused"), Some(&url)).unwrap();
        assert_eq!(store.get(3).unwrap(), None);
        let shown = store.put(3, b"{\"shard\":3}\n".to_vec()).unwrap();
        assert!(shown.ends_with("/nested/shard-000003.json"), "{shown}");
        assert_eq!(store.get(3).unwrap().unwrap(), b"{\"shard\":3}\n");
        assert!(dir.join("nested/shard-000003.json").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
