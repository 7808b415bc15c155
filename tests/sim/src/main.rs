//! `sts-sim`: run a simulated cluster standalone, for demos and trying the plugin.
//!
//! ```text
//! sts-sim --kubeconfig PATH [--port N] [--storage-class NAME]... [--pod-start-delay 2s]
//!         [--pod-ready-delay 1s] [--termination-delay 1s] [--resize-delay 300ms] [--state-dir DIR]
//!         [--seed-namespaces N --seed-statefulsets N --seed-replicas N --seed-orphans N]
//! ```
//! Writes the kubeconfig, prints one line with the URL, serves until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use sts_sim::{Sim, SimConfig};

#[derive(Parser, Debug)]
#[command(name = "sts-sim", about = "A simulated Kubernetes cluster for kubectl-sts")]
struct Args {
    /// Where to write the kubeconfig for this cluster.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Loopback port (0: pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Extra StorageClasses that provision volumes (repeatable). `standard` always exists.
    #[arg(long = "storage-class")]
    storage_classes: Vec<String>,
    /// Pod scheduled -> Running.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pod_start_delay: Duration,
    /// Running -> Ready.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pod_ready_delay: Duration,
    /// How long a terminating pod takes to go away.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    termination_delay: Duration,
    /// How long expanding a volume takes in the storage backend (a PVC's
    /// `sts-sim.dev/resize-seconds` annotation overrides it).
    #[arg(long, default_value = "300ms", value_parser = parse_duration)]
    resize_delay: Duration,
    /// Keep pod filesystems and volume data here (default: a temp dir removed at exit).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Bulk seeding for benchmarks: namespaces x StatefulSets x replicas, Running/Ready
    /// pods and Bound PVCs, plus leftover PVCs per StatefulSet.
    #[arg(long, default_value_t = 0)]
    seed_namespaces: usize,
    #[arg(long, default_value_t = 0)]
    seed_statefulsets: usize,
    #[arg(long, default_value_t = 0)]
    seed_replicas: usize,
    #[arg(long, default_value_t = 0)]
    seed_orphans: usize,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    sts_sim::annotations::parse_duration(s).ok_or_else(|| format!("invalid duration {s:?} (try 500ms, 2s, 1m)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let config = SimConfig {
        port: a.port,
        storage_classes: a.storage_classes,
        pod_start_delay: a.pod_start_delay,
        pod_ready_delay: a.pod_ready_delay,
        termination_delay: a.termination_delay,
        resize_delay: a.resize_delay,
        state_dir: a.state_dir,
        seed: (a.seed_namespaces > 0).then_some(sts_sim::seed::BulkSeed {
            namespaces: a.seed_namespaces,
            statefulsets: a.seed_statefulsets,
            replicas: a.seed_replicas,
            orphans: a.seed_orphans,
        }),
        ..SimConfig::default()
    };
    let sim = Sim::start(config).await?;
    sim.write_kubeconfig(&a.kubeconfig)?;
    println!(
        "sts-sim listening on {} (kubeconfig: {})",
        sim.url(),
        a.kubeconfig.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    sim.shutdown().await;
    Ok(())
}
