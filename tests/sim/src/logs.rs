//! Container logs as the container runtime keeps them: one log per container instance
//! (containerID), kept until the pod is removed, so `pods/{name}/log?previous=true`
//! can read the instance before the current one, as the kubelet does.

use std::collections::HashMap;
use std::sync::Mutex;

/// The lines one container instance wrote: (time, RFC 3339 with nanoseconds; line).
type Lines = Vec<(String, String)>;

/// Per pod uid, per containerID: the lines written.
#[derive(Default)]
pub struct Logs {
    pods: Mutex<HashMap<String, HashMap<String, Lines>>>,
}

/// What of a log to return (PodLogOptions).
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    pub tail_lines: Option<usize>,
    pub limit_bytes: Option<usize>,
    pub timestamps: bool,
}

impl Logs {
    /// Append `text` to a container instance's log, one entry per line.
    pub fn append(&self, pod_uid: &str, container_id: &str, text: &str) {
        let now = jiff::Timestamp::now().to_string();
        let mut pods = self.pods.lock().unwrap();
        let log = pods
            .entry(pod_uid.to_string())
            .or_default()
            .entry(container_id.to_string())
            .or_default();
        for line in text.lines() {
            log.push((now.clone(), line.to_string()));
        }
    }

    /// The log of one container instance (empty if it wrote nothing): the last
    /// `tail_lines` lines, cut to `limit_bytes`, each line `\n`-terminated.
    pub fn read(&self, pod_uid: &str, container_id: &str, opts: &LogOptions) -> String {
        let pods = self.pods.lock().unwrap();
        let lines = pods
            .get(pod_uid)
            .and_then(|p| p.get(container_id))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let skip = opts.tail_lines.map_or(0, |n| lines.len().saturating_sub(n));
        let mut out = String::new();
        for (ts, line) in &lines[skip..] {
            if opts.timestamps {
                out.push_str(ts);
                out.push(' ');
            }
            out.push_str(line);
            out.push('\n');
        }
        if let Some(limit) = opts.limit_bytes
            && out.len() > limit
        {
            let mut cut = limit;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
        }
        out
    }

    pub fn remove_pod(&self, pod_uid: &str) {
        self.pods.lock().unwrap().remove(pod_uid);
    }
}
