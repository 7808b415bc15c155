//! Releases: the workflows and scripts pass their linters, the release workflow builds
//! every platform krew is told about, no placeholder checksum is kept anywhere, a
//! release archive packaged from the binaries built here carries what it must and
//! renders a manifest that passes krew's rules (tests/it/krew.rs), the crates.io package
//! holds the sources and not the tests, and `kubectl sts version` reports the sim's
//! version.
//!
//! The linters come from PyPI (scripts/test pins and installs them, exporting
//! $ACTIONLINT and $SHELLCHECK). Without them these tests fail under CI=true and skip,
//! saying why, elsewhere.

use crate::krew;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;
use kubectl_sts::commands::version::SUPPORTED_MINORS;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> &'static Path {
    Path::new(ROOT)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A linter: `$ENV_VAR`, else `name` on PATH. None (after saying why) when it is
/// missing outside CI; a failure when it is missing under CI=true.
fn linter(env_var: &str, name: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os(env_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| name.into());
    let found = Command::new(&candidate)
        .arg(if name == "actionlint" { "-version" } else { "--version" })
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(candidate);
    }
    let why = format!("{name} not found (${env_var} or PATH): scripts/test installs the pinned version from PyPI");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}; CI=true, so this is a failure, not a skip");
    }
    eprintln!("skipping: {why}");
    None
}

fn files_in(dir: &str, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && keep(p))
        .collect();
    v.sort();
    v
}

fn workflows() -> Vec<PathBuf> {
    files_in(".github/workflows", |p| {
        p.extension().is_some_and(|e| e == "yml" || e == "yaml")
    })
}

/// Every shell script: scripts/*, .ci/run, benches/*.sh (by shebang or extension).
fn shell_scripts() -> Vec<PathBuf> {
    let is_shell = |p: &Path| {
        p.extension().is_some_and(|e| e == "sh")
            || std::fs::read_to_string(p)
                .map(|s| {
                    s.starts_with("#!/usr/bin/env bash") || s.starts_with("#!/bin/sh") || s.starts_with("#!/bin/bash")
                })
                .unwrap_or(false)
    };
    let mut v = files_in("scripts", is_shell);
    v.extend(files_in(".ci", is_shell));
    v.extend(files_in("benches", is_shell));
    v
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

// ---------------------------------------------------------------------------------
// Linters
// ---------------------------------------------------------------------------------

#[test]
fn workflows_pass_actionlint() {
    let Some(actionlint) = linter("ACTIONLINT", "actionlint") else {
        return;
    };
    let files = workflows();
    for want in ["ci.yml", "e2e.yml", "release.yml"] {
        assert!(
            files.iter().any(|f| f.ends_with(want)),
            ".github/workflows/{want} is missing: {files:?}"
        );
    }
    let mut cmd = Command::new(&actionlint);
    cmd.current_dir(root()).arg("-no-color");
    // actionlint checks every `run:` script with shellcheck when given one.
    if let Some(sc) = linter("SHELLCHECK", "shellcheck") {
        cmd.arg(format!("-shellcheck={}", sc.display()));
    }
    let out = run(cmd.args(&files));
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // And it does fail: an unknown runner label, an undefined matrix key, and a `run:`
    // script with an unquoted variable.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("bad.yml"),
        "on: push\njobs:\n  a:\n    runs-on: ${{ matrix.nope }}\n    steps:\n      - run: echo ${{ github.event.issue.title }}\n",
    )
    .unwrap();
    let out = run(Command::new(&actionlint).current_dir(dir.path()).arg("-no-color"));
    assert!(!out.status.success(), "actionlint accepted a broken workflow");
}

#[test]
fn scripts_pass_shellcheck() {
    let Some(shellcheck) = linter("SHELLCHECK", "shellcheck") else {
        return;
    };
    let files = shell_scripts();
    for want in ["scripts/release", "scripts/test", "scripts/e2e-kind", ".ci/run"] {
        assert!(files.contains(&root().join(want)), "{want} is not linted: {files:?}");
    }
    let out = run(Command::new(&shellcheck).current_dir(root()).args(&files));
    assert!(out.status.success(), "shellcheck:\n{}", text(&out.stdout));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "#!/usr/bin/env bash\nrm -rf $1/*\n").unwrap();
    let out = run(Command::new(&shellcheck).arg(&bad));
    assert!(!out.status.success(), "shellcheck accepted an unquoted rm -rf");
}

// ---------------------------------------------------------------------------------
// What the workflows promise
// ---------------------------------------------------------------------------------

fn yaml(rel: &str) -> Value {
    krew::load(&root().join(rel))
}

#[test]
fn release_workflow_builds_the_five_platforms_krew_installs() {
    let wf = yaml(".github/workflows/release.yml");
    let tags = &wf["on"]["push"]["tags"];
    assert_eq!(tags, &serde_json::json!(["v*"]), "release runs on v* tags");
    let include = wf["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .expect("jobs.build.strategy.matrix.include");
    let built: BTreeSet<(String, String, String)> = include
        .iter()
        .map(|m| {
            let s = |k: &str| {
                m[k].as_str()
                    .unwrap_or_else(|| panic!("matrix entry {m} lacks {k}"))
                    .to_string()
            };
            (s("os"), s("arch"), s("target"))
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = [
        ("linux", "amd64", "x86_64-unknown-linux-musl"),
        ("linux", "arm64", "aarch64-unknown-linux-musl"),
        ("darwin", "amd64", "x86_64-apple-darwin"),
        ("darwin", "arm64", "aarch64-apple-darwin"),
        ("windows", "amd64", "x86_64-pc-windows-msvc"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(built, want);
    // The same platforms as the krew rules require and .krew.yaml declares.
    let pairs: BTreeSet<(String, String)> = built.iter().map(|(o, a, _)| (o.clone(), a.clone())).collect();
    let krew: BTreeSet<(String, String)> = krew::SUPPORTED
        .iter()
        .map(|(o, a)| (o.to_string(), a.to_string()))
        .collect();
    assert_eq!(pairs, krew);
    let template = std::fs::read_to_string(root().join(".krew.yaml")).unwrap();
    for (os, arch) in &pairs {
        assert!(
            template.contains(&format!("_{os}_{arch}.")),
            ".krew.yaml has no archive for {os}/{arch}"
        );
    }
    // The publish job packages, sums and renders with scripts/release.
    let steps = serde_json::to_string(&wf["jobs"]["publish"]["steps"]).unwrap();
    for cmd in [
        "scripts/release man",
        "scripts/release package",
        "scripts/release sums",
        "scripts/release render",
    ] {
        assert!(steps.contains(cmd), "publish job does not run {cmd}");
    }
}

#[test]
fn e2e_matrix_is_the_supported_window() {
    let wf = yaml(".github/workflows/e2e.yml");
    let include = wf["jobs"]["kind"]["strategy"]["matrix"]["include"]
        .as_array()
        .expect("jobs.kind.strategy.matrix.include");
    let minors: Vec<u32> = include
        .iter()
        .map(|m| {
            let k = m["kubernetes"].as_str().expect("kubernetes: \"1.N\"");
            let image = m["image"].as_str().expect("image");
            assert!(image.starts_with(&format!("kindest/node:v{k}.")), "{image} is not {k}");
            k.strip_prefix("1.").and_then(|n| n.parse().ok()).expect("1.N")
        })
        .collect();
    let (lo, hi) = SUPPORTED_MINORS;
    assert_eq!(minors.iter().min(), Some(&lo), "oldest e2e minor vs SUPPORTED_MINORS");
    assert_eq!(minors.iter().max(), Some(&hi), "newest e2e minor vs SUPPORTED_MINORS");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains("## Supported Kubernetes versions") && readme.contains(&format!("1.{lo} to 1.{hi}")),
        "README must state the supported window 1.{lo} to 1.{hi}"
    );
}

#[test]
fn no_placeholder_checksum_is_kept() {
    let mut files = vec![root().join(".krew.yaml")];
    let mut stack = vec![root().join("krew")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    for f in &files {
        let s = std::fs::read_to_string(f).unwrap();
        assert!(!s.contains(&"0".repeat(64)), "{} has a zero checksum", f.display());
        for line in s.lines() {
            if let Some(sum) = line.trim_start().strip_prefix("sha256:") {
                let sum = sum.trim();
                assert!(
                    sum.len() == 64 && sum.bytes().any(|b| b != b'0'),
                    "{}: {line:?} is no real sha256",
                    f.display()
                );
            }
        }
    }
    // A checked-in manifest must be a release's: every platform's sum real and valid.
    let index = root().join("krew/plugins/sts.yaml");
    if index.exists() {
        let errs = krew::validate("sts.yaml", &krew::load(&index));
        assert!(errs.is_empty(), "krew/plugins/sts.yaml: {errs:?}");
    }
}

// ---------------------------------------------------------------------------------
// A release archive from the binaries built here
// ---------------------------------------------------------------------------------

fn release(dist: &Path, man: &Path, args: &[&str]) -> Output {
    run(Command::new(root().join("scripts/release"))
        .args(args)
        .env("DIST", dist)
        .env("MAN_DIR", man)
        .env("VERSION", format!("v{VERSION}"))
        .env("SOURCE_DATE_EPOCH", "1700000000"))
}

/// The man pages exactly as examples/man.rs writes them.
fn man_pages(dir: &Path) {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir).unwrap();
    clap_mangen::generate_to(kubectl_sts::cli::Cli::command(), dir).expect("write man pages");
}

#[test]
fn archive_of_the_built_binaries_is_complete_and_renders_a_valid_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    let man = dir.path().join("man");
    man_pages(&man);

    // package refuses to build an archive without man pages.
    let bins = dir.path().join("bins");
    std::fs::create_dir_all(&bins).unwrap();
    for (bin, name) in [
        (env!("CARGO_BIN_EXE_kubectl-sts"), "kubectl-sts"),
        (env!("CARGO_BIN_EXE_kubectl_complete-sts"), "kubectl_complete-sts"),
    ] {
        std::fs::copy(bin, bins.join(name)).unwrap();
        // As the release profile does (strip = true); a debug binary is ~100 MB and
        // gzip -9 of it alone takes longer than the rest of this test.
        if Command::new("strip").arg(bins.join(name)).status().is_err() {
            eprintln!("strip is not installed: packaging the unstripped {name}");
        }
    }
    let out = release(
        &dist,
        &dir.path().join("no-man"),
        &["package", "linux", "amd64", bins.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("run scripts/release man first"),
        "{}",
        text(&out.stderr)
    );

    let out = release(&dist, &man, &["package", "linux", "amd64", bins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let archive = dist.join(format!("kubectl-sts_v{VERSION}_linux_amd64.tar.gz"));
    let listing = run(Command::new("tar").arg("-tzf").arg(&archive));
    let members: BTreeSet<String> = text(&listing.stdout).lines().map(str::to_string).collect();
    let mut want: BTreeSet<String> = ["LICENSE", "README.md", "kubectl-sts", "kubectl_complete-sts"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for page in std::fs::read_dir(&man).unwrap() {
        want.insert(format!("man/man1/{}", page.unwrap().file_name().to_string_lossy()));
    }
    assert_eq!(members, want);
    for page in [
        "man/man1/kubectl-sts.1",
        "man/man1/kubectl-sts-version.1",
        "man/man1/kubectl-sts-verify-persistence.1",
    ] {
        assert!(members.contains(page), "{page} is not shipped: {members:?}");
    }

    // The archive's binaries run: --version, and the completion helper completes.
    let out = release(&dist, &man, &["check", "linux", "amd64"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));

    // A man page says what --help says.
    let unpack = dir.path().join("unpack");
    std::fs::create_dir_all(&unpack).unwrap();
    assert!(
        run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&unpack))
            .status
            .success()
    );
    let page = std::fs::read_to_string(unpack.join("man/man1/kubectl-sts-version.1")).unwrap();
    assert!(page.contains(".TH kubectl-sts-version 1"), "{page}");
    assert!(page.contains(&format!("version {VERSION}")), "{page}");
    assert!(page.contains("\\-\\-client"), "{page}");

    // Rendering needs every platform: with one archive it refuses and writes nothing.
    assert!(release(&dist, &man, &["sums"]).status.success());
    let out = release(&dist, &man, &["render"]);
    assert!(!out.status.success());
    assert!(!dist.join("sts.yaml").exists());

    // The other four platforms cannot be built here (no such Rust targets): their
    // archives carry small stand-in executables under the real names, which is enough
    // for the manifest's structure and sums; the release workflow builds the real ones.
    let mut have_zip = true;
    for (os, arch) in krew::SUPPORTED.iter().skip(1) {
        let b = dir.path().join(format!("bins-{os}-{arch}"));
        std::fs::create_dir_all(&b).unwrap();
        let exe = if *os == "windows" { ".exe" } else { "" };
        for name in ["kubectl-sts", "kubectl_complete-sts"] {
            std::fs::write(
                b.join(format!("{name}{exe}")),
                format!("#!/bin/sh\necho {name} {os}/{arch}\n"),
            )
            .unwrap();
        }
        let out = release(&dist, &man, &["package", os, arch, b.to_str().unwrap()]);
        if *os == "windows" && text(&out.stderr).contains("zip is not installed") {
            have_zip = false;
            continue;
        }
        assert!(out.status.success(), "{os}/{arch}: {}", text(&out.stderr));
    }
    if !have_zip {
        eprintln!("zip is not installed: the rendered manifest is not checked");
        return;
    }
    assert!(release(&dist, &man, &["sums"]).status.success());
    let out = release(&dist, &man, &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = krew::load(&dist.join("sts.yaml"));
    let errs = krew::validate("sts.yaml", &m);
    assert!(errs.is_empty(), "rendered manifest:\n  {}", errs.join("\n  "));
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    for p in m["spec"]["platforms"].as_array().unwrap() {
        let file = p["uri"].as_str().unwrap().rsplit('/').next().unwrap();
        let sum = p["sha256"].as_str().unwrap();
        assert_eq!(sum, krew::sha256_hex(&dist.join(file)), "{file}");
        assert!(
            sums.lines().any(|l| l == format!("{sum}  {file}")),
            "{file} not in SHA256SUMS"
        );
    }
}

// ---------------------------------------------------------------------------------
// crates.io
// ---------------------------------------------------------------------------------

#[test]
fn crate_package_holds_the_sources_and_not_the_tests() {
    // --allow-dirty: list what the working tree would package (publishing itself needs
    // a clean tree).
    let out = run(Command::new(env!("CARGO")).current_dir(root()).args([
        "package",
        "--list",
        "--allow-dirty",
        "--locked",
        "-p",
        "kubectl-sts",
    ]));
    assert!(out.status.success(), "cargo package --list: {}", text(&out.stderr));
    let files: BTreeSet<String> = text(&out.stdout).lines().map(str::to_string).collect();
    for need in [
        "Cargo.toml",
        "Cargo.lock",
        "LICENSE",
        "README.md",
        "src/main.rs",
        "src/lib.rs",
        "src/bin/kubectl_complete-sts.rs",
        "src/commands/version.rs",
        "docs/rbac.yaml",
    ] {
        assert!(files.contains(need), "the package lacks {need}: {files:?}");
    }
    for f in &files {
        for bad in [
            "tests/",
            "benches/",
            "krew/",
            ".github/",
            ".ci/",
            "scripts/",
            "examples/",
            "target/",
        ] {
            assert!(!f.starts_with(bad), "the package carries {f}");
        }
    }
    // Every source file of the library and binaries is in it.
    let mut stack = vec![root().join("src")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(root()).unwrap().to_string_lossy().into_owned();
                assert!(files.contains(&rel), "the package lacks {rel}");
            }
        }
    }
    let manifest: toml_like::Manifest = toml_like::read(&root().join("Cargo.toml"));
    for key in [
        "description",
        "readme",
        "keywords",
        "categories",
        "repository",
        "license",
    ] {
        assert!(manifest.package_has(key), "Cargo.toml [package] lacks {key}");
    }
}

/// Just enough of Cargo.toml to see which [package] keys are set (no TOML crate in
/// the dependency tree).
mod toml_like {
    pub struct Manifest(Vec<String>);

    pub fn read(path: &std::path::Path) -> Manifest {
        let s = std::fs::read_to_string(path).unwrap();
        let mut keys = Vec::new();
        let mut in_package = false;
        for line in s.lines() {
            let t = line.trim();
            if t.starts_with('[') {
                in_package = t == "[package]";
            } else if in_package && let Some((k, _)) = t.split_once('=') {
                keys.push(k.trim().trim_end_matches(".workspace").to_string());
            }
        }
        Manifest(keys)
    }

    impl Manifest {
        pub fn package_has(&self, key: &str) -> bool {
            self.0.iter().any(|k| k == key)
        }
    }
}

// ---------------------------------------------------------------------------------
// kubectl sts version
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_reports_client_and_the_sims_server() {
    let sim = sim().await;
    let served = sim.client().apiserver_version().await.expect("GET /version");

    let o = kubectl_sts(&sim, &["version", "-o", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["kind"], "Version");
    assert_eq!(r["apiVersion"], "kubectl-sts/v1");
    assert_eq!(r["client"]["version"], VERSION);
    assert!(r["client"].as_object().unwrap().contains_key("commit"), "{r}");
    assert_eq!(r["server"]["gitVersion"], served.git_version);
    assert_eq!(r["server"]["major"], served.major);
    assert_eq!(r["server"]["minor"], served.minor);
    assert_eq!(r["server"]["platform"], served.platform);
    let (lo, hi) = SUPPORTED_MINORS;
    assert_eq!(
        r["supported"],
        serde_json::json!({"min": format!("1.{lo}"), "max": format!("1.{hi}")})
    );
    let minor: u32 = served.minor.trim_end_matches('+').parse().unwrap();
    let inside = (lo..=hi).contains(&minor);
    assert_eq!(r["warning"].is_null(), inside, "{r}");
    assert_eq!(stderr(&o).is_empty(), inside, "{}", stderr(&o));

    let o = kubectl_sts(&sim, &["version"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("Client Version: v{VERSION}\n")), "{out}");
    assert!(
        out.contains(&format!("Server Version: {}\n", served.git_version)),
        "{out}"
    );
    assert!(
        out.contains(&format!("Supported Kubernetes: 1.{lo} to 1.{hi}")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_client_only_and_unreachable_server() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there.
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, sts_sim::kubeconfig_yaml("http://127.0.0.1:1")).unwrap();

    let o = kubectl_sts_with_kubeconfig(&kubeconfig, &["version", "--client", "-o", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["client"]["version"], VERSION);
    assert!(r.get("server").is_none(), "--client must not report a server: {r}");

    let o = kubectl_sts_with_kubeconfig(&kubeconfig, &["version"]).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let line = one_line_error(&o);
    assert!(line.contains("127.0.0.1:1"), "{line}");
}
