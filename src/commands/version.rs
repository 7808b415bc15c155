//! `kubectl sts version`: this binary's version and commit, the API server's version,
//! and a one-line warning when the server is outside the Kubernetes versions the
//! end-to-end suite runs against (`.github/workflows/e2e.yml`, README "Supported
//! Kubernetes versions").
//!
//! The server's version comes from `GET /version` (kube `Client::apiserver_version`),
//! the document `kubectl version` reads (kubectl staging/src/k8s.io/kubectl/pkg/cmd/
//! version/version.go, through client-go discovery `ServerVersion`).

use clap::Args;
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::error::{Result, Target};
use crate::kubeconfig::Kube;
use crate::render;

pub const API_VERSION: &str = "kubectl-sts/v1";

/// Oldest and newest Kubernetes minor (1.x) the e2e matrix runs: keep in step with
/// `.github/workflows/e2e.yml` and the README (tests/release.rs checks all three agree).
pub const SUPPORTED_MINORS: (u32, u32) = (26, 34);

/// The commit this binary was built from: `KUBECTL_STS_COMMIT` at build time
/// (scripts/release and the release workflow set it); absent in a plain `cargo build`.
pub const COMMIT: Option<&str> = option_env!("KUBECTL_STS_COMMIT");

const EXAMPLES: &str = "\
Examples:
  # This binary's version and the cluster's, with a warning outside the supported window
  kubectl sts version

  # Only this binary (no cluster contact)
  kubectl sts version --client

  # For scripts
  kubectl sts version -o json";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct VersionArgs {
    /// Print only this binary's version; do not contact the cluster
    #[arg(long)]
    pub client: bool,
}

/// `-o json|yaml` (schema documented in docs/json-schemas.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub client: ClientVersion,
    /// Absent with `--client`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerVersion>,
    pub supported: Window,
    /// The one-line warning, when the server is outside `supported`.
    pub warning: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientVersion {
    pub version: &'static str,
    pub commit: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerVersion {
    pub git_version: String,
    pub major: String,
    pub minor: String,
    pub platform: String,
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub min: String,
    pub max: String,
}

/// The minor version a server reports. Managed offerings append to it ("28+" on GKE
/// and EKS), so only the leading digits count; if there are none, fall back to
/// gitVersion `v1.MINOR.PATCH...`.
pub fn server_minor(major: &str, minor: &str, git_version: &str) -> Option<(u32, u32)> {
    let digits = |s: &str| -> Option<u32> {
        let d: String = s.chars().take_while(char::is_ascii_digit).collect();
        d.parse().ok()
    };
    if let (Some(ma), Some(mi)) = (digits(major), digits(minor)) {
        return Some((ma, mi));
    }
    let mut parts = git_version.strip_prefix('v')?.split('.');
    Some((digits(parts.next()?)?, digits(parts.next()?)?))
}

/// The warning for a server outside the supported window, or None inside it.
pub fn window_warning(major: u32, minor: u32) -> Option<String> {
    let (lo, hi) = SUPPORTED_MINORS;
    let range = format!("1.{lo} to 1.{hi}");
    if major != 1 || minor < lo {
        Some(format!(
            "warning: server version {major}.{minor} is older than the supported window ({range}); StatefulSet fields and exec may not behave as documented"
        ))
    } else if minor > hi {
        Some(format!(
            "warning: server version {major}.{minor} is newer than the supported window ({range}); it has not been tested against this release"
        ))
    } else {
        None
    }
}

fn window() -> Window {
    Window {
        min: format!("1.{}", SUPPORTED_MINORS.0),
        max: format!("1.{}", SUPPORTED_MINORS.1),
    }
}

fn client() -> ClientVersion {
    ClientVersion {
        version: env!("CARGO_PKG_VERSION"),
        commit: COMMIT,
    }
}

pub async fn run(global: &GlobalArgs, args: &VersionArgs) -> Result<()> {
    let mut report = VersionReport {
        api_version: API_VERSION,
        kind: "Version",
        client: client(),
        server: None,
        supported: window(),
        warning: None,
    };
    let structured = render::is_structured(global.output);
    if !structured {
        // Like `kubectl version`: the client's lines come first, even if the server
        // then cannot be reached.
        crate::out!("{}", text(&report));
    }
    if !args.client {
        let kube = Kube::connect(global).await?;
        let info = kube
            .call(
                Target::new("get", "version", None, None),
                kube.client.apiserver_version(),
            )
            .await?;
        report.warning = match server_minor(&info.major, &info.minor, &info.git_version) {
            Some((ma, mi)) => window_warning(ma, mi),
            None => Some(format!(
                "warning: cannot tell the server's version from major {:?}, minor {:?}, gitVersion {:?}; supported: 1.{} to 1.{}",
                info.major, info.minor, info.git_version, SUPPORTED_MINORS.0, SUPPORTED_MINORS.1
            )),
        };
        report.server = Some(ServerVersion {
            git_version: info.git_version,
            major: info.major,
            minor: info.minor,
            platform: info.platform,
        });
    }
    if structured {
        crate::out!("{}", render::structured(&report, global.output)?);
    } else if let Some(s) = &report.server {
        crate::out!("{}", server_text(s, &report.supported));
    }
    if let Some(w) = &report.warning {
        crate::errln!("{w}");
    }
    Ok(())
}

/// The table form's client lines, `kubectl version`-style.
pub fn text(r: &VersionReport) -> String {
    format!(
        "Client Version: v{}\nClient Commit: {}\n",
        r.client.version,
        r.client.commit.unwrap_or("unknown (not built by scripts/release)")
    )
}

/// The table form's server lines.
pub fn server_text(s: &ServerVersion, w: &Window) -> String {
    format!(
        "Server Version: {}\nSupported Kubernetes: {} to {}\n",
        s.git_version, w.min, w.max
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_from_plain_managed_and_git_version() {
        assert_eq!(server_minor("1", "34", "v1.34.0"), Some((1, 34)));
        assert_eq!(server_minor("1", "28+", "v1.28.9-eks-036c24b"), Some((1, 28)));
        assert_eq!(server_minor("", "", "v1.30.2+k3s1"), Some((1, 30)));
        assert_eq!(server_minor("", "", "unknown"), None);
    }

    #[test]
    fn warning_only_outside_the_window() {
        let (lo, hi) = SUPPORTED_MINORS;
        assert_eq!(window_warning(1, lo), None);
        assert_eq!(window_warning(1, hi), None);
        let old = window_warning(1, lo - 1).expect("older is warned about");
        assert!(
            old.starts_with("warning: server version 1.") && old.contains("older"),
            "{old}"
        );
        assert_eq!(old.lines().count(), 1);
        let new = window_warning(1, hi + 1).expect("newer is warned about");
        assert!(new.contains("newer"), "{new}");
        assert!(window_warning(2, 0).is_some());
    }
}
