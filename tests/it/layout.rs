//! The test layout itself: every integration test is a module of this one binary.
//! With `autotests = false` Cargo would silently skip a file added as `tests/NAME.rs`,
//! or a `tests/it/NAME.rs` without its `mod NAME;` line in main.rs; this fails instead.

use std::path::Path;

#[test]
fn every_test_file_is_a_module_of_the_it_binary() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let rs_files = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".rs"))
            .collect();
        names.sort();
        names
    };
    let outside = rs_files(&tests);
    assert!(
        outside.is_empty(),
        "{outside:?} in tests/ would never be compiled (autotests = false): move each to \
         tests/it/NAME.rs and add `mod NAME;` to tests/it/main.rs"
    );
    let main = std::fs::read_to_string(tests.join("it/main.rs")).unwrap();
    let declared: Vec<&str> = main
        .lines()
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    let missing: Vec<String> = rs_files(&tests.join("it"))
        .into_iter()
        .map(|n| n.trim_end_matches(".rs").to_string())
        .filter(|m| m != "main" && !declared.contains(&m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "modules never compiled: {missing:?}; add `mod NAME;` for each to tests/it/main.rs"
    );
}
