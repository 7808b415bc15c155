//! sts-sim: a simulated Kubernetes cluster that speaks the API server's wire protocol
//! and runs the controllers a StatefulSet needs, for kubectl-sts's tests, benchmarks
//! and demos. Never shipped inside the plugin.
//!
//! Module owners (keep to your files; shared interfaces are in store, error,
//! resources, annotations, config, context):
//! - api/, faults.rs, reqlog.rs, the `Sim` harness below, main.rs: the API server.
//! - controllers/: StatefulSet, volumes, kubelet (pod lifecycle), GC, PDB, events.
//! - runtime.rs, exec.rs: pod sandboxes (bubblewrap + busybox-static) and pods/exec.

pub mod annotations;
pub mod api;
pub mod config;
pub mod context;
pub mod controllers;
pub mod error;
pub mod exec;
pub mod faults;
pub mod logs;
pub mod quantity;
pub mod reqlog;
pub mod resources;
pub mod runtime;
pub mod seed;
pub mod store;

pub use config::SimConfig;
pub use context::Context;

// ---------------------------------------------------------------------------------
// The `Sim` harness (owner: the API server work).
// ---------------------------------------------------------------------------------

/// A running simulated cluster: store, controllers and the API server on a loopback
/// port. Stops on [`Sim::shutdown`] or when dropped.
pub struct Sim {
    ctx: std::sync::Arc<Context>,
    server: api::Server,
    faults: std::sync::Arc<faults::Faults>,
    requests: reqlog::RequestLog,
    /// Holds the runtime directory (unless `state_dir`) and the kubeconfig.
    tmp: tempfile::TempDir,
}

/// The bearer token the sim's kubeconfig carries (checked only when a test requires
/// one with `sim.faults().require_token(...)`).
pub const TOKEN: &str = "sts-sim-token";

impl Sim {
    /// Start a sim: bind the port, build the context, seed the cluster (namespaces,
    /// StorageClasses, a Node, then `config.seed`), spawn the controllers and serve.
    pub async fn start(config: SimConfig) -> anyhow::Result<Sim> {
        let tmp = tempfile::Builder::new().prefix("sts-sim-").tempdir()?;
        let root = config.state_dir.clone().unwrap_or_else(|| tmp.path().join("runtime"));
        let store = store::Store::new(config.watch_history);
        let runtime = runtime::Runtime::new(&root)?;
        let port = config.port;
        let ctx = std::sync::Arc::new(Context { config, store, runtime });
        seed::cluster(&ctx)?;
        // Before the controllers: they must find the bulk state settled, not race it.
        if let Some(b) = &ctx.config.seed {
            seed::bulk(&ctx, b)?;
        }
        let faults = std::sync::Arc::new(faults::Faults::new(ctx.store.clone()));
        let requests = reqlog::RequestLog::default();
        let server = api::Server::start(ctx.clone(), faults.clone(), requests.clone(), port).await?;
        spawn_controllers(&ctx);
        let sim = Sim {
            ctx,
            server,
            faults,
            requests,
            tmp,
        };
        sim.write_kubeconfig(&sim.kubeconfig_path())?;
        Ok(sim)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    /// A kube client for this sim (namespace `default`, the sim's token).
    pub fn client(&self) -> kube::Client {
        let mut cfg = kube::Config::new(self.url().parse().expect("sim url is a valid URI"));
        cfg.default_namespace = "default".into();
        cfg.auth_info.token = Some(TOKEN.to_string().into());
        kube::Client::try_from(cfg).expect("kube client for the sim")
    }

    /// Write a kubeconfig (cluster, user and context `sts-sim`, namespace `default`).
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> anyhow::Result<()> {
        std::fs::write(path, kubeconfig_yaml(&self.url()))?;
        Ok(())
    }

    /// The kubeconfig written at start, in the sim's temp directory.
    pub fn kubeconfig_path(&self) -> std::path::PathBuf {
        self.tmp.path().join("kubeconfig")
    }

    pub fn ctx(&self) -> &std::sync::Arc<Context> {
        &self.ctx
    }

    pub fn faults(&self) -> &faults::Faults {
        &self.faults
    }

    pub fn requests(&self) -> &reqlog::RequestLog {
        &self.requests
    }

    /// Stop serving (open watches end).
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

/// A kubeconfig for a sim at `url`.
pub fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sts-sim\n  cluster:\n    server: {url}\ncontexts:\n- name: sts-sim\n  context:\n    cluster: sts-sim\n    namespace: default\n    user: sts-sim\ncurrent-context: sts-sim\nusers:\n- name: sts-sim\n  user:\n    token: {TOKEN}\n"
    )
}

fn spawn_controllers(ctx: &std::sync::Arc<Context>) {
    controllers::spawn(ctx.clone());
}
