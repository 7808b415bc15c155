//! The krew manifest: the release template (.krew.yaml) rendered by scripts/release
//! from archives built here (the repository keeps no rendered manifest: one with
//! placeholder sums would not describe a real release), checked against krew's validation rules (krew pkg/index/validation and the
//! krew-index review guidelines): name = file name, `v`-prefixed semver, short
//! description <= 50 characters, description wrapped at 80 columns without a usage
//! listing, homepage, lowercase 64-hex sha256, bin (.exe on Windows), files with the
//! LICENSE, and platform selectors that cover linux/darwin amd64+arm64 and
//! windows/amd64 exactly once each.
//!
//! The render test packages small fake binaries (no release build here).

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The platforms we ship, and that every manifest must cover exactly once.
pub(crate) const SUPPORTED: &[(&str, &str)] = &[
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// Platforms krew may run on that we do not ship: a selector must not claim them.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("linux", "arm"),
    ("linux", "386"),
    ("linux", "ppc64le"),
    ("linux", "s390x"),
    ("windows", "386"),
    ("windows", "arm64"),
    ("freebsd", "amd64"),
];

// ---------------------------------------------------------------------------------
// The validator
// ---------------------------------------------------------------------------------

fn is_semver_with_v(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else { return false };
    let (core, _build) = rest.split_once('+').unwrap_or((rest, ""));
    let (core, pre) = match core.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (core, None),
    };
    let nums: Vec<&str> = core.split('.').collect();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    nums.len() == 3
        && nums.iter().all(|n| numeric(n))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        })
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A plugin name as krew and its naming guide want it: lowercase words and hyphens.
fn is_plugin_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('-')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Does a label selector (matchLabels + matchExpressions) select this os/arch?
fn selects(selector: &Value, os: &str, arch: &str) -> Result<bool, String> {
    let labels = |k: &str| match k {
        "os" => Some(os),
        "arch" => Some(arch),
        _ => None,
    };
    let obj = selector.as_object().ok_or("selector is not a mapping")?;
    for key in obj.keys() {
        if key != "matchLabels" && key != "matchExpressions" {
            return Err(format!("selector has unknown field {key:?}"));
        }
    }
    if obj.is_empty() {
        return Err("selector is empty (it would match every platform)".into());
    }
    if let Some(ml) = obj.get("matchLabels") {
        for (k, v) in ml.as_object().ok_or("matchLabels is not a mapping")? {
            let v = v.as_str().ok_or("matchLabels values must be strings")?;
            if labels(k) != Some(v) {
                return Ok(false);
            }
        }
    }
    if let Some(me) = obj.get("matchExpressions") {
        for e in me.as_array().ok_or("matchExpressions is not a list")? {
            let key = e["key"].as_str().ok_or("matchExpressions entry without key")?;
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let have = labels(key);
            let ok = match e["operator"].as_str() {
                Some("In") => have.is_some_and(|h| values.contains(&h)),
                Some("NotIn") => have.is_none_or(|h| !values.contains(&h)),
                Some("Exists") => have.is_some(),
                Some("DoesNotExist") => have.is_none(),
                other => return Err(format!("unknown selector operator {other:?}")),
            };
            if !ok {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Every rule a manifest breaks (empty: valid). `file_name` is the manifest's file name.
pub(crate) fn validate(file_name: &str, m: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let mut err = |s: String| errs.push(s);
    if m["apiVersion"] != "krew.googlecontainertools.github.com/v1alpha2" {
        err(format!(
            "apiVersion is {}, want krew.googlecontainertools.github.com/v1alpha2",
            m["apiVersion"]
        ));
    }
    if m["kind"] != "Plugin" {
        err(format!("kind is {}, want Plugin", m["kind"]));
    }
    let name = m["metadata"]["name"].as_str().unwrap_or("");
    let want = file_name.strip_suffix(".yaml").unwrap_or(file_name);
    if name != want {
        err(format!("metadata.name {name:?} must equal the file name {want:?}"));
    }
    if !is_plugin_name(name) {
        err(format!(
            "plugin name {name:?} must be lowercase words joined by hyphens"
        ));
    }
    let spec = &m["spec"];
    match spec["version"].as_str() {
        Some(v) if is_semver_with_v(v) => {}
        other => err(format!(
            "spec.version {other:?} is not a semantic version with a leading v"
        )),
    }
    match spec["shortDescription"].as_str() {
        None | Some("") => err("spec.shortDescription is missing".into()),
        Some(s) if s.chars().count() > 50 => err(format!(
            "spec.shortDescription is {} characters (max 50)",
            s.chars().count()
        )),
        Some(s) if s.contains('\n') => err("spec.shortDescription must be one line".into()),
        _ => {}
    }
    match spec["description"].as_str() {
        None | Some("") => err("spec.description is missing".into()),
        Some(d) => {
            for (i, line) in d.lines().enumerate() {
                if line.chars().count() > 80 {
                    err(format!(
                        "spec.description line {} is {} columns (wrap at 80)",
                        i + 1,
                        line.chars().count()
                    ));
                }
                let t = line.trim_start();
                let usage = t.to_lowercase().starts_with("usage")
                    || t.starts_with("$ ")
                    || t.starts_with("kubectl ")
                    || t.starts_with('-')
                    || t.starts_with("flags:")
                    || t.starts_with("examples:");
                if usage {
                    err(format!(
                        "spec.description line {} looks like a usage listing: {line:?}",
                        i + 1
                    ));
                }
            }
        }
    }
    match spec["homepage"].as_str() {
        Some(h) if h.starts_with("https://") => {}
        other => err(format!("spec.homepage {other:?} must be an https URL")),
    }
    let platforms = spec["platforms"].as_array().cloned().unwrap_or_default();
    if platforms.is_empty() {
        err("spec.platforms is empty".into());
    }
    let mut uris = Vec::new();
    for (i, p) in platforms.iter().enumerate() {
        let at = format!("spec.platforms[{i}]");
        match p["uri"].as_str() {
            Some(u) if u.starts_with("https://") => {
                if uris.contains(&u) {
                    err(format!("{at}.uri {u} is used by another platform"));
                }
                uris.push(u);
            }
            other => err(format!("{at}.uri {other:?} must be an https URL")),
        }
        match p["sha256"].as_str() {
            Some(s) if is_sha256(s) => {}
            other => err(format!("{at}.sha256 {other:?} must be 64 lowercase hex digits")),
        }
        let bin = p["bin"].as_str().unwrap_or("");
        if bin.is_empty() {
            err(format!("{at}.bin is missing"));
        }
        let files = p["files"].as_array().cloned().unwrap_or_default();
        if files.is_empty() {
            err(format!("{at}.files is empty"));
        }
        for f in &files {
            if f["from"].as_str().unwrap_or("").is_empty() || f["to"].as_str().unwrap_or("").is_empty() {
                err(format!("{at}.files entry {f} needs from and to"));
            }
        }
        let froms: Vec<&str> = files.iter().filter_map(|f| f["from"].as_str()).collect();
        if !froms.iter().any(|f| f.rsplit('/').next() == Some("LICENSE")) {
            err(format!("{at}.files must include the LICENSE"));
        }
        if !bin.is_empty() && !froms.iter().any(|f| f.rsplit('/').next() == bin.rsplit('/').next()) {
            err(format!("{at}.bin {bin:?} is not among the files copied"));
        }
        let selected: Vec<(&str, &str)> = SUPPORTED
            .iter()
            .chain(UNSUPPORTED)
            .copied()
            .filter(|(os, arch)| match selects(&p["selector"], os, arch) {
                Ok(b) => b,
                Err(e) => {
                    err(format!("{at}.selector: {e}"));
                    false
                }
            })
            .collect();
        if selected.is_empty() {
            err(format!("{at}.selector matches no supported platform"));
        }
        for (os, arch) in &selected {
            if !SUPPORTED.contains(&(os, arch)) {
                err(format!("{at}.selector matches {os}/{arch}, which is not shipped"));
            }
            if *os == "windows" && !bin.ends_with(".exe") {
                err(format!("{at}.bin {bin:?} must end in .exe on windows"));
            }
        }
    }
    for (os, arch) in SUPPORTED {
        let n = platforms
            .iter()
            .filter(|p| selects(&p["selector"], os, arch).unwrap_or(false))
            .count();
        if n == 0 {
            err(format!("no platform selects {os}/{arch}"));
        }
        if n > 1 {
            err(format!("{n} platforms select {os}/{arch}: selectors overlap"));
        }
    }
    errs
}

pub(crate) fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

pub(crate) fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read archive");
    ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------
// scripts/release: package, sums, render
// ---------------------------------------------------------------------------------

fn release(dist: &Path, args: &[&str]) -> Run {
    // Stand-in man pages: these tests are about the manifest, tests/release.rs packages
    // the real ones.
    let man = dist.with_file_name("man");
    std::fs::create_dir_all(&man).unwrap();
    std::fs::write(man.join("kubectl-sts.1"), ".TH kubectl-sts 1\n").unwrap();
    Command::new(Path::new(ROOT).join("scripts/release"))
        .args(args)
        .env("DIST", dist)
        .env("MAN_DIR", &man)
        .env("VERSION", format!("v{VERSION}"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .run()
}

/// Fake per-platform binaries: tiny scripts that say which platform they are.
fn fake_bins(dir: &Path, os: &str, arch: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join(format!("bin-{os}-{arch}"));
    std::fs::create_dir_all(&bin).unwrap();
    let exe = if os == "windows" { ".exe" } else { "" };
    for name in ["kubectl-sts", "kubectl_complete-sts"] {
        let p = bin.join(format!("{name}{exe}"));
        std::fs::write(&p, format!("#!/bin/sh\necho {name} {os}/{arch}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// Install one platform as krew does: unpack, copy `files` (from -> to), find `bin`.
fn krew_install(archive: &Path, platform: &Value, into: &Path) -> PathBuf {
    let unpack = into.join("unpack");
    std::fs::create_dir_all(&unpack).unwrap();
    if archive.extension().is_some_and(|e| e == "zip") {
        Command::new("unzip")
            .arg("-q")
            .arg(archive)
            .arg("-d")
            .arg(&unpack)
            .run()
    } else {
        Command::new("tar")
            .arg("-xzf")
            .arg(archive)
            .arg("-C")
            .arg(&unpack)
            .run()
    }
    .assert_exit(0);
    let install = into.join("install");
    std::fs::create_dir_all(&install).unwrap();
    for f in platform["files"].as_array().unwrap() {
        let from = unpack.join(f["from"].as_str().unwrap());
        assert!(from.exists(), "{} lacks {}", archive.display(), f["from"]);
        let to = install.join(f["to"].as_str().unwrap()).join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
    }
    install.join(platform["bin"].as_str().unwrap())
}

#[test]
fn release_renders_a_valid_manifest_with_the_archives_real_sums() {
    if !have("zip") || !have("unzip") || !have("sha256sum") {
        eprintln!("zip, unzip or sha256sum missing: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");

    // Rendering before every platform is packaged fails, naming what is missing.
    let linux = fake_bins(dir.path(), "linux", "amd64");
    let out = release(&dist, &["package", "linux", "amd64", linux.to_str().unwrap()]);
    out.assert_exit(0);
    release(&dist, &["sums"]).assert_exit(0);
    // Render must refuse missing sums.
    let out = release(&dist, &["render"]);
    out.assert_failure();
    assert!(
        stderr(&out).contains(&format!("kubectl-sts_v{VERSION}_darwin_arm64.tar.gz")),
        "{}",
        stderr(&out)
    );
    assert!(!dist.join("sts.yaml").exists(), "no manifest is left behind on failure");

    for (os, arch) in SUPPORTED {
        let bins = fake_bins(dir.path(), os, arch);
        let out = release(&dist, &["package", os, arch, bins.to_str().unwrap()]);
        out.assert_exit(0);
    }
    let out = release(&dist, &["sums"]);
    out.assert_exit(0);
    let out = release(&dist, &["render"]);
    out.assert_exit(0);

    let m = load(&dist.join("sts.yaml"));
    let errs = validate("sts.yaml", &m);
    assert!(errs.is_empty(), "rendered manifest:\n  {}", errs.join("\n  "));
    assert_eq!(m["spec"]["version"], format!("v{VERSION}"));

    for p in m["spec"]["platforms"].as_array().unwrap() {
        let uri = p["uri"].as_str().unwrap();
        let file = uri.rsplit('/').next().unwrap();
        assert!(uri.contains(&format!("/download/v{VERSION}/")), "{uri}");
        let archive = dist.join(file);
        assert!(
            archive.exists(),
            "{uri} names {file}, which scripts/release did not build"
        );
        assert_eq!(p["sha256"].as_str().unwrap(), sha256_hex(&archive), "sha256 of {file}");

        // Install it like krew and run what `bin` points at.
        let os = p["selector"]["matchLabels"]["os"].as_str().unwrap();
        let arch = p["selector"]["matchLabels"]["arch"].as_str().unwrap();
        let into = dir.path().join(format!("krew-{os}-{arch}"));
        let bin = krew_install(&archive, p, &into);
        let out = Command::new("sh").arg(&bin).run();
        assert_eq!(
            stdout(&out).trim(),
            format!("kubectl-sts {os}/{arch}"),
            "{file} has another platform's binary"
        );
        assert!(bin.parent().unwrap().join("LICENSE").exists());
    }

    // Same inputs, same archives: a rebuilt release can be checked against these sums.
    let before = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    let out = release(&dist, &["package", "linux", "amd64", linux.to_str().unwrap()]);
    out.assert_exit(0);
    release(&dist, &["sums"]).assert_exit(0);
    assert_eq!(before, std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap());
}

#[test]
fn release_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let out = Command::new(Path::new(ROOT).join("scripts/release"))
        .arg("sums")
        .env("DIST", &dist)
        .env("VERSION", "1.0")
        .run();
    out.assert_exit(2);
    assert!(stderr(&out).contains("not a semantic version"), "{}", stderr(&out));
    let out = release(&dist, &["package", "plan9", "amd64", "/nonexistent"]);
    out.assert_failure();
    assert!(
        stderr(&out).contains("unknown platform plan9/amd64"),
        "{}",
        stderr(&out)
    );
    let out = release(&dist, &["package", "linux", "amd64", "/nonexistent"]);
    out.assert_failure();
    assert!(
        stderr(&out).contains("/nonexistent/kubectl-sts does not exist"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------
// The validator itself must be able to fail.
// ---------------------------------------------------------------------------------

/// The template rendered from archives of every platform (fake binaries).
fn good() -> Value {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    for (os, arch) in SUPPORTED {
        let bins = fake_bins(dir.path(), os, arch);
        release(&dist, &["package", os, arch, bins.to_str().unwrap()]).assert_exit(0);
    }
    release(&dist, &["sums"]).assert_exit(0);
    release(&dist, &["render"]).assert_exit(0);
    load(&dist.join("sts.yaml"))
}

fn expect_error(m: Value, needle: &str) {
    let errs = validate("sts.yaml", &m);
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "expected an error containing {needle:?}, got {errs:?}"
    );
}

#[test]
fn validator_catches_each_rule() {
    let good = good();
    assert!(validate("sts.yaml", &good).is_empty());
    let good = || good.clone();

    expect_error_in("other.yaml", good(), "must equal the file name");
    let mut m = good();
    m["spec"]["version"] = "0.1.0".into();
    expect_error(m, "semantic version");
    let mut m = good();
    m["spec"]["version"] = "v1.02.0".into();
    expect_error(m, "semantic version");
    let mut m = good();
    m["spec"]["shortDescription"] = "x".repeat(51).into();
    expect_error(m, "max 50");
    let mut m = good();
    m["spec"]["description"] = format!("{}\n", "word ".repeat(20)).into();
    expect_error(m, "wrap at 80");
    let mut m = good();
    m["spec"]["description"] = "Does things.\nUsage:\n  kubectl sts status web\n".into();
    expect_error(m, "usage listing");
    let mut m = good();
    m["spec"]["homepage"] = Value::Null;
    expect_error(m, "homepage");
    let mut m = good();
    m["spec"]["platforms"][0]["sha256"] = "ABCDEF".repeat(10).chars().take(64).collect::<String>().into();
    expect_error(m, "64 lowercase hex");
    let mut m = good();
    m["spec"]["platforms"][4]["bin"] = "kubectl-sts".into();
    expect_error(m, "must end in .exe");
    let mut m = good();
    m["spec"]["platforms"][0]["files"] = serde_json::json!([{"from": "kubectl-sts", "to": "."}]);
    expect_error(m, "LICENSE");
    // Overlap: linux/amd64's selector widened to every linux.
    let mut m = good();
    m["spec"]["platforms"][0]["selector"] = serde_json::json!({"matchLabels": {"os": "linux"}});
    expect_error(m, "overlap");
    // Gap: darwin/arm64 dropped.
    let mut m = good();
    m["spec"]["platforms"].as_array_mut().unwrap().remove(3);
    expect_error(m, "no platform selects darwin/arm64");
    // A selector that claims a platform we don't build.
    let mut m = good();
    m["spec"]["platforms"][4]["selector"] = serde_json::json!({"matchLabels": {"os": "windows"}});
    expect_error(m, "windows/arm64, which is not shipped");
    // matchExpressions are understood too.
    let mut m = good();
    m["spec"]["platforms"][0]["selector"] = serde_json::json!({
        "matchExpressions": [{"key": "os", "operator": "In", "values": ["linux"]},
                             {"key": "arch", "operator": "In", "values": ["amd64"]}]
    });
    assert!(validate("sts.yaml", &m).is_empty(), "{:?}", validate("sts.yaml", &m));
}

fn expect_error_in(file: &str, m: Value, needle: &str) {
    let errs = validate(file, &m);
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "expected {needle:?}, got {errs:?}"
    );
}

#[test]
fn semver_rules() {
    for ok in ["v0.1.0", "v1.2.3", "v10.0.0-rc.1", "v1.0.0+build.5", "v1.0.0-alpha-1"] {
        assert!(is_semver_with_v(ok), "{ok}");
    }
    for bad in [
        "0.1.0", "v1.2", "v1.2.3.4", "v01.2.3", "v1.2.x", "v1.2.3-", "V1.2.3", "",
    ] {
        assert!(!is_semver_with_v(bad), "{bad}");
    }
}
