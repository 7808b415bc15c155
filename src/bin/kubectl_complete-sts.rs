//! `kubectl_complete-sts`: kubectl's plugin-completion hook (kubectl >= 1.26).
//!
//! For `kubectl sts scale web --re<TAB>` kubectl runs `kubectl_complete-sts scale web --re`
//! (the words after the plugin name, the last one being the word under the cursor,
//! possibly empty) and reads cobra-style output: one candidate per line, then
//! `:<directive>`. The logic lives in `kubectl_sts::commands::completion`.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = kubectl_sts::commands::completion::kubectl_complete(&args);
    // A closed pipe (the shell gave up) is not worth a panic message.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}
