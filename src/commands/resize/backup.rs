//! The backup written before any change: the StatefulSet as it was, the sizes asked for,
//! and its pods' UIDs. `--resume` finishes the job from the newest one, whatever step
//! was interrupted (above all between the orphan delete and the create, when the
//! StatefulSet exists only in this file).

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result};
use crate::model::quantity::parse_bytes;
use crate::model::resize::TemplateChange;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Backup {
    /// `kubectl-sts/v1`, `ResizeBackup`.
    pub api_version: String,
    pub kind: String,
    pub context: String,
    pub namespace: String,
    pub name: String,
    pub created_at: String,
    /// Each claim template and its new size.
    pub templates: Vec<Target>,
    /// The pods (name -> UID) when the backup was made: adoption must keep them.
    pub pods: std::collections::BTreeMap<String, String>,
    /// The StatefulSet exactly as the server returned it.
    pub stateful_set: StatefulSet,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub template: String,
    pub from: String,
    pub to: String,
    pub storage_class: Option<String>,
}

impl Backup {
    pub fn changes(&self) -> Vec<TemplateChange> {
        self.templates
            .iter()
            .map(|t| TemplateChange {
                template: t.template.clone(),
                from: t.from.clone(),
                to: t.to.clone(),
                to_bytes: parse_bytes(&t.to).unwrap_or(0),
                storage_class: t.storage_class.clone(),
            })
            .collect()
    }

    pub fn uid(&self) -> &str {
        self.stateful_set.metadata.uid.as_deref().unwrap_or("")
    }
}

pub fn targets_of(changes: &[TemplateChange]) -> Vec<Target> {
    changes
        .iter()
        .map(|c| Target {
            template: c.template.clone(),
            from: c.from.clone(),
            to: c.to.clone(),
            storage_class: c.storage_class.clone(),
        })
        .collect()
}

/// `--backup-dir`, else `~/.kube/kubectl-sts/backups` (beside kubectl's own cache).
pub fn dir(flag: Option<&Path>) -> PathBuf {
    if let Some(d) = flag {
        return d.to_path_buf();
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".kube").join("kubectl-sts").join("backups")
}

fn prefix(namespace: &str, name: &str) -> String {
    format!("resize-{namespace}-{name}-")
}

/// Write the backup (0600: it is a copy of a cluster object); the path written.
pub fn write(dir: &Path, b: &Backup) -> Result<PathBuf> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::failed(format!(
            "cannot {what} the backup in {}: {e}; nothing was changed (pass --backup-dir DIR)",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("create the directory for", e))?;
    let stamp = Timestamp::now().strftime("%Y%m%dT%H%M%S%.3fZ").to_string();
    let path = dir.join(format!("{}{stamp}.json", prefix(&b.namespace, &b.name)));
    let body = serde_json::to_vec_pretty(b).map_err(|e| CliError::failed(format!("cannot encode the backup: {e}")))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&path).map_err(|e| fail("write", e))?;
    std::io::Write::write_all(&mut f, &body).map_err(|e| fail("write", e))?;
    f.sync_all().map_err(|e| fail("write", e))?;
    Ok(path)
}

/// The newest backup of `namespace/name` in `dir`.
pub fn newest(dir: &Path, namespace: &str, name: &str) -> Result<(PathBuf, Backup)> {
    let p = prefix(namespace, name);
    let none = || {
        CliError::usage(format!(
            "no resize backup of statefulset \"{name}\" (namespace \"{namespace}\") in {}: nothing to resume (pass the --backup-dir the resize used)",
            dir.display()
        ))
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|_| none())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| f.starts_with(&p) && f.ends_with(".json"))
        })
        .collect();
    // The stamp sorts by time.
    found.sort();
    let path = found.pop().ok_or_else(none)?;
    let text = std::fs::read(&path)
        .map_err(|e| CliError::failed(format!("cannot read the backup {}: {e}", path.display())))?;
    let b: Backup = serde_json::from_slice(&text).map_err(|e| {
        CliError::failed(format!(
            "the backup {} is not a resize backup ({e}): restore the StatefulSet from it by hand if needed",
            path.display()
        ))
    })?;
    Ok((path, b))
}
