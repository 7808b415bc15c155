//! From kubectl-style flags to a `kube::Client`, using kube's own kubeconfig handling:
//! `$KUBECONFIG` merging, `--kubeconfig` as a single file, exec credential plugins,
//! in-cluster config, and the context's default namespace.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use kube::client::ClientBuilder;
use kube::client::retry::RetryPolicy;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};
use tower::buffer::BufferLayer;
use tower::retry::RetryLayer;
use tower::{Layer, Service};

use crate::cli::GlobalArgs;
use crate::error::{CliError, Endpoint, Result, Target, from_kube};

/// A connected client plus what messages need to know about it.
#[derive(Clone)]
pub struct Kube {
    pub client: Client,
    /// `-n`, or the context's namespace, or `default`.
    pub namespace: String,
    pub endpoint: Endpoint,
    pub request_timeout: Option<Duration>,
    pub verbose: u8,
}

impl Kube {
    pub async fn connect(args: &GlobalArgs) -> Result<Kube> {
        let options = KubeConfigOptions {
            context: args.context.clone(),
            cluster: args.cluster.clone(),
            user: args.user.clone(),
        };
        let (mut config, context) = load_config(args, &options).await?;
        config.default_retry = false;
        if let Some(t) = args.request_timeout.0 {
            config.connect_timeout = Some(t);
        }
        let namespace = args
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let endpoint = Endpoint {
            server: config.cluster_url.to_string().trim_end_matches('/').to_string(),
            context,
        };
        let builder = ClientBuilder::try_from(config).map_err(|e| {
            CliError::usage(format!(
                "cannot build a client for context \"{}\": {e}",
                endpoint.context
            ))
        })?;
        // Bounded retries of 429/503/504 honouring Retry-After: a few seconds at most,
        // so a throttled server gives a clear error instead of a hang.
        let retry = RetryPolicy::new(Duration::from_millis(200), Duration::from_secs(2), 4, true)
            .expect("static backoff parameters are valid");
        let client = builder
            .with_layer(&LogLayer {
                verbose: args.verbose,
                server: endpoint.server.clone(),
            })
            .with_layer(&BufferLayer::<http::Request<kube::client::Body>>::new(1024))
            .with_layer(&RetryLayer::new(retry))
            .build();
        Ok(Kube {
            client,
            namespace,
            endpoint,
            request_timeout: args.request_timeout.0,
            verbose: args.verbose,
        })
    }

    /// Run one API request under `--request-timeout`, mapping failures to one-line errors.
    pub async fn call<T>(&self, target: Target, fut: impl Future<Output = kube::Result<T>>) -> Result<T> {
        let res = match self.request_timeout {
            Some(t) => tokio::time::timeout(t, fut).await.map_err(|_| {
                CliError::timeout(format!(
                    "request to {} timed out after {}: {} {}{} (raise --request-timeout or check the server)",
                    self.endpoint.server,
                    humanize(t),
                    target.verb,
                    target.kind,
                    target.name.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default(),
                ))
            })?,
            None => fut.await,
        };
        res.map_err(|e| from_kube(&e, &target, &self.endpoint))
    }

    pub fn error(&self, err: &kube::Error, target: Target) -> CliError {
        from_kube(err, &target, &self.endpoint)
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

async fn load_config(args: &GlobalArgs, options: &KubeConfigOptions) -> Result<(Config, String)> {
    let explicit = args.kubeconfig.as_ref();
    let kubeconfig = match explicit {
        Some(path) => Some(Kubeconfig::read_from(path).map_err(|e| {
            CliError::usage(format!(
                "cannot read kubeconfig {}: {}",
                path.display(),
                kubeconfig_error(&e)
            ))
        })?),
        None => match Kubeconfig::read() {
            Ok(kc) => Some(kc),
            Err(e) if no_kubeconfig_present() => {
                let _ = e;
                None
            }
            Err(e) => {
                return Err(CliError::usage(format!(
                    "cannot read kubeconfig: {}",
                    kubeconfig_error(&e)
                )));
            }
        },
    };
    let Some(kc) = kubeconfig else {
        return match Config::incluster() {
            Ok(c) => Ok((c, "in-cluster".into())),
            Err(_) => Err(CliError::usage(
                "no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running inside a cluster: \
                 pass --kubeconfig PATH, or try the simulated cluster with scripts/demo",
            )),
        };
    };
    let context = options
        .context
        .clone()
        .or_else(|| kc.current_context.clone())
        .unwrap_or_default();
    let source = explicit
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "your kubeconfig".into());
    match Config::from_custom_kubeconfig(kc, options).await {
        Ok(c) => Ok((c, context)),
        Err(e) => Err(CliError::usage(match &e {
            KubeconfigError::LoadContext(name) => {
                format!("context \"{name}\" not found in {source}: list them with kubectl config get-contexts")
            }
            KubeconfigError::CurrentContextNotSet => {
                format!("{source} has no current context: pass --context NAME or run kubectl config use-context")
            }
            KubeconfigError::LoadClusterOfContext(name) => {
                format!("cluster \"{name}\" not found in {source}: check --cluster or the context's cluster")
            }
            other => format!(
                "cannot use context \"{context}\" from {source}: {}",
                kubeconfig_error(other)
            ),
        })),
    }
}

fn no_kubeconfig_present() -> bool {
    let env_set = std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty());
    let home_cfg = std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".kube").join("config"));
    !env_set && !home_cfg.is_some_and(|p| p.exists())
}

fn kubeconfig_error(e: &KubeconfigError) -> String {
    crate::error::error_chain(e)
}

/// `-v`: one stderr line per API request: method, URL, status, latency.
#[derive(Clone)]
struct LogLayer {
    verbose: u8,
    /// Requests at this layer carry only a path; the log shows the full URL.
    server: String,
}

impl<S> Layer<S> for LogLayer {
    type Service = LogService<S>;
    fn layer(&self, inner: S) -> LogService<S> {
        LogService {
            inner,
            verbose: self.verbose,
            server: self.server.clone(),
        }
    }
}

#[derive(Clone)]
struct LogService<S> {
    inner: S,
    verbose: u8,
    server: String,
}

impl<S, B, RB> Service<http::Request<B>> for LogService<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if self.verbose == 0 {
            return Box::pin(self.inner.call(req));
        }
        let (method, uri) = (req.method().clone(), format!("{}{}", self.server, req.uri()));
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await;
            let elapsed = started.elapsed().as_millis();
            match &res {
                Ok(r) => crate::errln!("{method} {uri} {} in {elapsed}ms", r.status().as_u16()),
                Err(e) => crate::errln!("{method} {uri} failed after {elapsed}ms: {e}"),
            }
            res
        })
    }
}
