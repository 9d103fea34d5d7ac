//! The InteraRec server: configuration, the tool registry, and the gRPC services (tonic), plus
//! [`start`] for running it in-process (tests, the demo) and [`serve`] for the binary.
//!
//! Only this crate and the client know tonic; everything below it speaks core types. The session
//! pipeline is `interarec-sessions`, the agent loop `interarec-agent`; this crate wires them to
//! the registry, the store and the host-service backends ([`backends`]).

pub mod access;
pub mod backends;
pub mod background;
pub mod catalogs;
pub mod config;
pub mod console;
pub mod grpc;
pub mod mcp;
pub mod models;
pub mod registry;
pub mod side;
pub mod telemetry;

use anyhow::Context;
use backends::{StoreCatalogs, StoreFrames, StoreKv};
use catalogs::Catalogs;
use config::ServerConfig;
use interarec_plugin_host::{HostConfig, PluginHost, Services};
use interarec_proto::v1::catalog_service_server::CatalogServiceServer;
use interarec_proto::v1::choice_model_service_server::ChoiceModelServiceServer;
use interarec_proto::v1::session_service_server::SessionServiceServer;
use interarec_proto::v1::tool_service_server::ToolServiceServer;
use interarec_sessions::Sessions;
use interarec_store::Store;
use models::Models;
use registry::Registry;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tonic::transport::{Identity, Server, ServerTlsConfig};

/// Slack on top of the largest component for the rest of a registration message.
const MESSAGE_OVERHEAD_BYTES: usize = 1024 * 1024;

/// Everything the services share: the tool registry, the catalogs and the choice models, over
/// one store.
#[derive(Clone)]
pub struct AppState {
    /// Registered tools.
    pub registry: Registry,
    /// Catalogs.
    pub catalogs: Catalogs,
    /// Fitted choice models and the optimizer.
    pub models: Models,
    /// Browsing sessions: frames, batches, events.
    pub sessions: Sessions,
    /// OCR pages (its background reader is stopped at shutdown).
    pub ocr: Arc<backends::OcrPages>,
    /// The lower-priority threads batch work and the ticker run on.
    pub background: Arc<background::BackgroundRuntime>,
    /// The store itself, for readers beside the services (the console's frames and pictures).
    pub store: Store,
    /// Decoded catalogs and models, shared by the services and the tools.
    pub decoded: Arc<backends::Decoded>,
    /// How often a server on a shared store looks for changes made by the others.
    pub poll: std::time::Duration,
}

impl AppState {
    /// Flushes the store (called at shutdown).
    pub fn flush(&self) -> anyhow::Result<()> {
        Ok(self.registry.flush()?)
    }

    /// Stops the sessions' background batch work and the OCR reader (waiting for the page it is
    /// reading, so nothing holds the store afterwards), then flushes the store.
    pub async fn shut_down(&self) -> anyhow::Result<()> {
        self.sessions.shut_down().await;
        let ocr = self.ocr.clone();
        tokio::task::spawn_blocking(move || ocr.stop_worker())
            .await
            .context("the OCR reader did not stop")?;
        self.background.shut_down();
        self.flush()
    }
}

/// Opens the store and loads the registered tools.
pub async fn open_state(config: &ServerConfig) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data dir {}", config.data_dir.display()))?;
    let location = config
        .replicas
        .location(&config.store, &config.data_dir)
        .map_err(|e| anyhow::anyhow!("invalid store: {e}"))?;
    let store = tokio::task::spawn_blocking(move || Store::open_at(&location))
        .await
        .context("the thread opening the store failed")??;
    let vision = Arc::new(backends::Vision::new(
        store.clone(),
        &config.vision,
        config.openai.as_ref(),
    )?);
    let decoded = Arc::new(backends::Decoded::new(store.clone()));
    let host = PluginHost::new(
        HostConfig {
            limits: config.limits,
            cache_dir: Some(config.data_dir.join("component-cache")),
        },
        Services::new(Arc::new(StoreKv(store.clone())))?
            .with_catalog(Arc::new(StoreCatalogs(decoded.clone())))
            .with_frames(Arc::new(StoreFrames(store.clone())))
            .with_models(vision.clone()),
    )
    .context("cannot start the plugin host")?;
    // This server's name in the leases of a shared store.
    let holder = match store.is_shared() {
        true => Some(interarec_store::LeaseHolder::new(
            &interarec_core::secret::random_id("replica-")
                .map_err(|e| anyhow::anyhow!("cannot name this server in leases: {e}"))?,
        )),
        false => None,
    };
    let lease = std::time::Duration::from_millis(config.replicas.lease_ms);
    let catalogs = Catalogs::new(store.clone())
        .with_decoded(decoded.clone())
        .with_spool_dir(config.data_dir.join("imports"));
    let catalogs = match &holder {
        Some(holder) => catalogs.with_replica(holder.clone(), lease),
        None => catalogs,
    };
    let models = Models::new(store.clone(), decoded.clone()).with_optimize_limits(config.serving.optimize_limits());
    let registry = Registry::open(store.clone(), host).await?;
    let network_planner = match &config.openai {
        Some(openai) => {
            let provider = interarec_llm::openai::OpenAiProvider::new(openai.clone())?;
            Some(Arc::new(
                interarec_agent::OpenAiPlanner::new(Arc::new(provider)).with_settings(config.network_planner),
            ))
        }
        None => None,
    };
    let reader: Option<Arc<dyn interarec_sessions::FrameReader>> = match config.vision.ocr_on_arrival {
        true => Some(vision.pages()),
        false => None,
    };
    let background = Arc::new(background::BackgroundRuntime::start().context("cannot start the background threads")?);
    // Catalogs decoded before the first tool needs them: a million items take seconds.
    let warming = decoded.clone();
    background.handle().spawn_blocking(move || warming.warm());
    let sessions = Sessions::new(store.clone(), Arc::new(registry.clone()))
        .with_background_runtime(background.handle())
        .with_reader(reader)
        .with_planners(interarec_agent::Planners {
            agent: config.agent,
            vision: config.vision.provider,
            network: network_planner,
        })
        .with_max_live(config.serving.max_live_sessions)
        .with_frame_limits(config.serving.frame_limits());
    let poll = std::time::Duration::from_millis(config.replicas.poll_ms);
    let sessions = match holder {
        Some(holder) => {
            tracing::info!(replica = %holder.id(), store = %store.path().display(), "sharing the store with other servers");
            sessions.with_replica(interarec_sessions::Replica { holder, lease, poll })
        }
        None => sessions,
    };
    Ok(AppState {
        registry,
        catalogs,
        models,
        sessions,
        ocr: vision.pages(),
        background,
        store,
        decoded,
        poll,
    })
}

/// On a shared store, follows what other servers change: tools are loaded or unloaded, and
/// cached models forgotten, when the store's change counts move (catalogs need nothing: each
/// use compares the cached columns' version with the stored record).
async fn follow_changes(state: AppState) {
    let mut seen = interarec_store::Changes::default();
    let mut interval = tokio::time::interval(state.poll);
    loop {
        interval.tick().await;
        let store = state.store.clone();
        let changes = match tokio::task::spawn_blocking(move || store.changes()).await {
            Ok(Ok(changes)) => changes,
            Ok(Err(error)) => {
                tracing::warn!(%error, "reading the shared store's changes failed");
                continue;
            }
            Err(_) => continue,
        };
        if changes.tools != seen.tools
            && let Err(error) = state.registry.sync().await
        {
            tracing::warn!(%error, "loading tools changed on another server failed");
            continue;
        }
        if changes.models != seen.models {
            state.decoded.forget_models();
        }
        seen = changes;
    }
}

/// Serves the API on `listener` until `shutdown` resolves, then flushes the store.
pub async fn serve(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let tls = load_tls(&config)?;
    let side = SideListeners::bind(&config).await?;
    let state = open_state(&config).await?;
    serve_state(config, tls, state.clone(), listener, side, shutdown).await?;
    state.shut_down().await
}

/// The addresses beside the gRPC API, bound before anything else starts so a taken port stops
/// start-up at once.
struct SideListeners {
    metrics: Option<TcpListener>,
    mcp: Option<TcpListener>,
    console: Option<TcpListener>,
}

impl SideListeners {
    async fn bind(config: &ServerConfig) -> anyhow::Result<SideListeners> {
        Ok(SideListeners {
            metrics: side::bind(config.metrics_listen, "metrics", "--metrics-listen").await?,
            mcp: side::bind(config.mcp_listen, "MCP", "--mcp-listen").await?,
            console: side::bind(config.console_listen, "the console", "--console-listen").await?,
        })
    }

    /// The metrics, MCP and console addresses.
    fn addrs(&self) -> anyhow::Result<[Option<SocketAddr>; 3]> {
        let addr = |listener: &Option<TcpListener>| listener.as_ref().map(TcpListener::local_addr).transpose();
        Ok([addr(&self.metrics)?, addr(&self.mcp)?, addr(&self.console)?])
    }
}

/// Reads the TLS identity named by the configuration, so that bad files stop start-up at once.
fn load_tls(config: &ServerConfig) -> anyhow::Result<Option<ServerTlsConfig>> {
    let Some(tls) = &config.tls else { return Ok(None) };
    let cert =
        std::fs::read(&tls.cert).with_context(|| format!("cannot read TLS certificate {}", tls.cert.display()))?;
    let key = std::fs::read(&tls.key).with_context(|| format!("cannot read TLS key {}", tls.key.display()))?;
    Ok(Some(ServerTlsConfig::new().identity(Identity::from_pem(cert, key))))
}

async fn serve_state(
    config: ServerConfig,
    tls: Option<ServerTlsConfig>,
    state: AppState,
    listener: TcpListener,
    side: SideListeners,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let grpc_addr = listener.local_addr()?;
    // On a shared store, tools and models changed by other servers are followed from the start.
    let follower = state
        .store
        .is_shared()
        .then(|| state.background.handle().spawn(follow_changes(state.clone())));

    // The metrics endpoint stops with the gRPC server (its task is aborted below).
    let metrics = match side.metrics {
        Some(listener) => {
            let (admin_token, state) = (config.admin_token.clone(), state.clone());
            // Installed here, so a recorder that cannot be installed stops start-up.
            let handle = telemetry::recorder()?;
            Some(tokio::spawn(async move {
                if let Err(error) = telemetry::serve(listener, handle, &state, admin_token).await {
                    tracing::error!(%error, "the metrics endpoint stopped");
                }
            }))
        }
        None => None,
    };
    let access = access::Access::new(config.admin_token.as_deref(), config.api_keys.clone());
    // MCP sessions end when the server starts shutting down, before the gRPC API drains.
    let side_stop = tokio_util::sync::CancellationToken::new();
    let mcp = match side.mcp {
        Some(listener) => {
            let tls_ca = match &config.tls {
                Some(tls) => Some(
                    std::fs::read(&tls.cert)
                        .with_context(|| format!("cannot read TLS certificate {} for MCP", tls.cert.display()))?,
                ),
                None => None,
            };
            let url = mcp::grpc_url(grpc_addr, tls_ca.is_some());
            let (access, stop) = (access.clone(), side_stop.clone());
            Some(tokio::spawn(async move {
                if let Err(error) = mcp::serve(listener, url, tls_ca, access, stop).await {
                    tracing::error!(%error, "the MCP endpoint stopped");
                }
            }))
        }
        None => None,
    };
    let console = side.console.map(|listener| {
        let (state, admin_token, stop) = (state.clone(), config.admin_token.clone(), side_stop.clone());
        tokio::spawn(async move {
            if let Err(error) = console::serve(listener, &state, admin_token.as_deref(), stop).await {
                tracing::error!(%error, "the console stopped");
            }
        })
    });
    let shutdown = {
        let side_stop = side_stop.clone();
        async move {
            shutdown.await;
            side_stop.cancel();
        }
    };
    let max_message = config.limits.max_component_bytes as usize + MESSAGE_OVERHEAD_BYTES;
    let gate = grpc::auth::Gate::new(access);
    let tools = ToolServiceServer::new(grpc::tools::ToolRegistryService::new(
        state.registry,
        state.sessions.clone(),
        gate.clone(),
    ))
    .max_decoding_message_size(max_message)
    .max_encoding_message_size(interarec_plugin_host::MAX_RESULT_BYTES + MESSAGE_OVERHEAD_BYTES);

    // Imports arrive in chunks; a chunk (and any other message) stays well under 64 MiB.
    let catalogs = CatalogServiceServer::new(grpc::catalogs::CatalogServiceImpl::new(state.catalogs, gate.clone()))
        .max_decoding_message_size(64 * 1024 * 1024);
    let models = ChoiceModelServiceServer::new(grpc::models::ChoiceModelServiceImpl::new(state.models, gate.clone()))
        .max_decoding_message_size(64 * 1024 * 1024);
    // Frames up to twice the frame limit still arrive, so an oversize frame is rejected with a
    // reason and the stream goes on; a message beyond that ends the stream with an error.
    let sessions = SessionServiceServer::new(grpc::sessions::SessionServiceImpl::new(state.sessions.clone(), gate))
        .max_decoding_message_size(config.serving.frame_limits().max_message_bytes());
    // Batches also close by age, and sessions with pending frames resume after a restart.
    let ticker_sessions = state.sessions.clone();
    let ticker = state.background.handle().spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            interval.tick().await;
            if let Err(error) = ticker_sessions.close_due_batches().await {
                tracing::warn!(%error, "closing due batches failed");
            }
        }
    });

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<ToolServiceServer<grpc::tools::ToolRegistryService>>()
        .await;
    health_reporter
        .set_serving::<CatalogServiceServer<grpc::catalogs::CatalogServiceImpl>>()
        .await;
    health_reporter
        .set_serving::<ChoiceModelServiceServer<grpc::models::ChoiceModelServiceImpl>>()
        .await;
    health_reporter
        .set_serving::<SessionServiceServer<grpc::sessions::SessionServiceImpl>>()
        .await;

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(interarec_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1().context("building the reflection service")?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .context("building the reflection service")?;

    let serving = &config.serving;
    let mut builder = Server::builder()
        .max_concurrent_streams(Some(serving.max_concurrent_streams))
        .http2_keepalive_interval(Some(std::time::Duration::from_millis(serving.keepalive_interval_ms)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_millis(serving.keepalive_timeout_ms)))
        .tcp_keepalive(Some(std::time::Duration::from_secs(60)));
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls)
            .context("the TLS certificate or key is not usable PEM")?;
    }
    let observe = grpc::observe::ObserveLayer::new(&[
        interarec_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ])
    .context("reading the services' descriptor sets")?;
    let served = builder
        .layer(observe)
        .layer(grpc::connections::AdmissionLayer {
            max_connections: serving.max_connections,
        })
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(tools)
        .add_service(catalogs)
        .add_service(models)
        .add_service(sessions)
        .serve_with_incoming_shutdown(
            grpc::connections::Admission::new(listener, serving.max_connections),
            shutdown,
        )
        .await;
    ticker.abort();
    // Wait until the ticker is gone: it holds the store.
    let _ = ticker.await;
    if let Some(follower) = follower {
        follower.abort();
        let _ = follower.await;
    }
    side_stop.cancel();
    for task in [metrics, mcp, console].into_iter().flatten() {
        task.abort();
        let _ = task.await;
    }
    served.context("the gRPC server failed")?;
    Ok(())
}

/// A server running in this process (tests, the demo).
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// Where metrics are served, when they are (`telemetry.metrics_listen`).
    pub metrics_addr: Option<SocketAddr>,
    /// Where MCP is served over HTTP, when it is (`mcp.listen`); clients connect to
    /// `http://ADDR/mcp`.
    pub mcp_addr: Option<SocketAddr>,
    /// Where the console is served, when it is (`console.listen`): `http://ADDR/`.
    pub console_addr: Option<SocketAddr>,
    scheme: &'static str,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// `http://addr` or `https://addr`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops accepting, finishes in-flight calls, flushes the store and waits for the end.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.task).await.context("the server task panicked")?
    }

    /// Serves until `signal` resolves (then stops cleanly) or the server fails on its own.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            finished = &mut self.task => finished.context("the server task panicked")?,
            () = signal => self.stop().await,
        }
    }
}

/// Binds `config.listen` (port 0 picks a free port), loads the registry, and serves in a task.
pub async fn start(config: ServerConfig) -> anyhow::Result<RunningServer> {
    config.check_exposure()?;
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (is the port taken? choose another with --listen)",
            config.listen
        )
    })?;
    let addr = listener.local_addr()?;
    let tls = load_tls(&config)?;
    let side = SideListeners::bind(&config).await?;
    let [metrics_addr, mcp_addr, console_addr] = side.addrs()?;
    let state = open_state(&config).await?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = serve_state(config, tls, state.clone(), listener, side, async {
            let _ = shutdown_rx.await;
        })
        .await;
        let flushed = state.shut_down().await;
        served?;
        flushed
    });
    Ok(RunningServer {
        addr,
        metrics_addr,
        mcp_addr,
        console_addr,
        scheme,
        shutdown: Some(shutdown_tx),
        task,
    })
}
