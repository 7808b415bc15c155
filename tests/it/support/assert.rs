//! What a run's output must look like: no panic and no raw API dump, and the one
//! error line that names the object and the fix, with its exit code.

use std::process::Output;

use super::run::{Run, stderr};

/// No panic, no raw API body, no Rust debug dump of an error, anywhere in the output.
pub fn assert_no_dump(o: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "\"kind\":\"Status\"",
        "\"kind\": \"Status\"",
        "ApiError",
        "ErrorResponse",
        "Api(Status",
        "Error {",
        "hyper::",
    ] {
        assert!(!all.contains(bad), "output contains {bad:?}:\n{all}");
    }
}

/// The run ended with exactly one `error: ...` line, the last thing on stderr (progress
/// lines before it are allowed), and no dump. Returns the line.
pub fn final_error(o: &Output) -> String {
    assert_no_dump(o);
    let e = stderr(o);
    let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "expected one error line:\n{e}");
    assert_eq!(
        lines.last(),
        errors.first().copied(),
        "the error is not the last line:\n{e}"
    );
    lines.last().unwrap().to_string()
}

/// `final_error`, and the error line must contain every needle.
#[track_caller]
pub fn assert_error(o: &Run, code: i32, needles: &[&str]) -> String {
    o.assert_exit(code);
    let line = final_error(o);
    for n in needles {
        assert!(line.contains(n), "{n:?} not in: {line}");
    }
    line
}

/// A clap usage error: exit 2, first line `error: ...` naming the value, no request sent.
#[track_caller]
pub fn assert_usage(o: &Run, needles: &[&str]) {
    o.assert_exit(2);
    assert_no_dump(o);
    let e = stderr(o);
    let first = e.lines().next().unwrap_or("");
    assert!(first.starts_with("error: "), "{e}");
    for n in needles {
        assert!(first.contains(n), "{n:?} not in the first line: {e}");
    }
}

/// Exactly one stderr line, `error: ...`, and no panic or dump.
pub fn one_line_error(o: &Output) -> String {
    assert_no_dump(o);
    let e = stderr(o);
    let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {e}");
    assert!(lines[0].starts_with("error: "), "{e}");
    lines[0].to_string()
}
