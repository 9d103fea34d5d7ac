//! Server configuration: defaults, then a TOML file, then `INTERAREC_*` environment variables,
//! then command-line flags (each later source overrides the earlier ones).
//!
//! | key            | env                     | flag         | default                 |
//! |----------------|-------------------------|--------------|-------------------------|
//! | `listen`       | `INTERAREC_LISTEN`      | `--listen`   | `127.0.0.1:50051`       |
//! | `data_dir`     | `INTERAREC_DATA_DIR`    | `--data-dir` | `./interarec-data`      |
//! | `store`        | `INTERAREC_STORE`       | `--store`    | `sled` (in `data_dir`), or `postgres://user:password@host:port/db` (shared by replicas; prefer the environment for a URL with a password) |
//! | `[replicas]` (`pool_size`, `lease_ms`, `poll_ms`) | – | – | see [`ReplicaConfig`] |
//! | `admin_token`  | `INTERAREC_ADMIN_TOKEN` | (none: keep secrets out of `ps`) | unset (at least 16 characters) |
//! | `[[api_keys]]` (`name`, `sha256`, `scopes`) | – | – | none (`interarec api-key new` makes one) |
//! | `tls.cert`     | `INTERAREC_TLS_CERT`    | `--tls-cert` | unset                   |
//! | `tls.key`      | `INTERAREC_TLS_KEY`     | `--tls-key`  | unset                   |
//! | `[limits]`     | –                       | –            | see [`LimitsConfig`]    |
//! | `[serving]`    | –                       | –            | see [`ServingConfig`]   |
//! | `telemetry.metrics_listen` | `INTERAREC_METRICS_LISTEN` | `--metrics-listen` | unset (no metrics endpoint); beyond loopback only with an admin token |
//! | `mcp.listen`   | `INTERAREC_MCP_LISTEN`  | `--mcp-listen` | unset (no MCP over HTTP); beyond loopback only with an admin token |
//! | `console.listen` | `INTERAREC_CONSOLE_LISTEN` | `--console-listen` | unset (no web console); beyond loopback only with an admin token |
//! | `vision.provider` | `INTERAREC_MODEL_PROVIDER` | `--model-provider` | `offline` (or `openai`) |
//! | `vision.ocr`   | `INTERAREC_OCR`         | `--ocr`      | `paddle` (or `paddle-tiny`, `tesseract`) |
//! | `vision.ocr_on_arrival` | –              | –            | `true` (`false` in tests) |
//! | `vision.ocr_incremental` | –             | –            | `true` |
//! | `agent.planner` | `INTERAREC_PLANNER`    | `--planner`  | `offline` (or `openai`) |
//! | `agent.max_steps` | –                    | –            | 8 (1 to 32)             |
//! | `agent.turn_timeout_ms` | –              | –            | 30000 (100 to 600000)   |
//! | `openai.base_url` | `INTERAREC_OPENAI_BASE_URL` | `--openai-base-url` | `https://api.openai.com/v1` |
//! | `openai.model` | `INTERAREC_OPENAI_MODEL` | `--openai-model` | `gpt-4o-mini` |
//! | `openai.timeout_ms`, `openai.max_retries` | – | –  | 120000, 3               |
//! | `openai.context_tokens` | –               | –            | unset (256 to 10000000)   |
//! | `openai.turn_timeout_ms` | –              | –            | 180000 for a loopback endpoint, else `agent.turn_timeout_ms` |
//! | (API key)      | `INTERAREC_OPENAI_API_KEY` or `OPENAI_API_KEY` | (none) | unset |
//!
//! The OpenAI-compatible endpoint exists when a default provider is `openai` or a base URL is
//! given; sessions may then choose it for their planner or vision provider. `context_tokens`
//! is the served model's context window: the network planner trims each request to fit it.
//! `turn_timeout_ms` bounds turns planned at the endpoint: a server on this machine is usually a
//! small model on CPU, whose turns take minutes, so loopback endpoints get 3 minutes by default.
//!
//! PP-OCR reads its models from `$INTERAREC_MODELS` (default `~/.cache/interarec/models`,
//! filled by `just models`).

use crate::access::ApiKey;
pub use crate::backends::VisionConfig;
use interarec_agent::{AgentConfig, NetworkPlannerSettings};
use interarec_core::LimitsConfig;
use interarec_core::secret::MIN_TOKEN_CHARS;
use interarec_llm::Provider;
use interarec_llm::openai::OpenAiConfig;
use interarec_vision::ocr::OcrChoice;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The effective server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the component cache and import spool live, and the sled database unless `store`
    /// names a shared one.
    pub data_dir: PathBuf,
    /// `sled` (or empty): the database in `data_dir`; `postgres://…`: a database any number of
    /// replicas share.
    pub store: String,
    /// How replicas on a shared store cooperate.
    pub replicas: ReplicaConfig,
    /// Bearer token of the admin: registering and removing tools, catalogs and models, listing
    /// sessions, any session's calls. None: every caller is the admin (loopback only).
    pub admin_token: Option<String>,
    /// Client API keys (hashed) and their scopes.
    pub api_keys: Vec<ApiKey>,
    /// Certificate and key (PEM files) to serve TLS.
    pub tls: Option<TlsFiles>,
    /// Tool limits.
    pub limits: LimitsConfig,
    /// Bounds on what clients may hold.
    pub serving: ServingConfig,
    /// Default vision provider and OCR.
    pub vision: VisionConfig,
    /// Default planner and per-turn limits.
    pub agent: AgentConfig,
    /// The OpenAI-compatible endpoint, when one is configured.
    pub openai: Option<OpenAiConfig>,
    /// How the network planner uses that endpoint (context budget, turn time).
    pub network_planner: NetworkPlannerSettings,
    /// Where Prometheus metrics are served (`None`: nowhere).
    pub metrics_listen: Option<SocketAddr>,
    /// Where MCP is served over streamable HTTP (`None`: nowhere).
    pub mcp_listen: Option<SocketAddr>,
    /// Where the live session console is served (`None`: nowhere).
    pub console_listen: Option<SocketAddr>,
}

/// The `[serving]` table: what one client, and all of them, may hold at once. Every refusal
/// is RESOURCE_EXHAUSTED with the key to raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServingConfig {
    /// Sessions held in memory (streams, watchers, batches in progress); idle ones beyond it
    /// are let go and read back from the store when used.
    pub max_live_sessions: usize,
    /// Concurrent calls and streams on one HTTP/2 connection.
    pub max_concurrent_streams: u32,
    /// How often an idle connection is pinged, so a client that went away is noticed.
    pub keepalive_interval_ms: u64,
    /// How long a ping may go unanswered before the connection (and its streams) is closed.
    pub keepalive_timeout_ms: u64,
    /// Open connections at once; calls on one more are refused for a moment, then it is closed.
    pub max_connections: usize,
    /// Largest frame image, in bytes.
    pub max_frame_bytes: usize,
    /// Longest page URL of a frame, in bytes.
    pub max_url_bytes: usize,
    /// Longest visible DOM text of a frame, in bytes.
    pub max_dom_text_bytes: usize,
    /// Memory one frame's decode may allocate, in MiB.
    pub max_decode_mib: u64,
    /// Groups of frames decoded at once across all sessions.
    pub max_concurrent_decodes: usize,
    /// `Optimize`: most ids in `must_include` or `exclude`, and values in one filter.
    pub optimize_max_listed: usize,
    /// `Optimize`: most attribute filters.
    pub optimize_max_filters: usize,
    /// `Optimize` computations at once; more wait.
    pub max_concurrent_optimize: usize,
    /// Wall time of one `Optimize` computation.
    pub optimize_timeout_ms: u64,
    /// `Optimize`: largest `constraints_json`, in bytes.
    pub optimize_max_constraints_bytes: usize,
}

impl Default for ServingConfig {
    fn default() -> Self {
        ServingConfig {
            max_live_sessions: interarec_sessions::DEFAULT_MAX_LIVE_SESSIONS,
            max_concurrent_streams: 256,
            keepalive_interval_ms: 30_000,
            keepalive_timeout_ms: 10_000,
            max_connections: 1024,
            max_frame_bytes: interarec_sessions::MAX_FRAME_BYTES,
            max_url_bytes: interarec_sessions::MAX_URL_BYTES,
            max_dom_text_bytes: interarec_sessions::MAX_DOM_TEXT_BYTES,
            max_decode_mib: interarec_sessions::MAX_DECODE_BYTES >> 20,
            max_concurrent_decodes: interarec_sessions::MAX_CONCURRENT_DECODES,
            optimize_max_listed: interarec_choice::recommend::MAX_LISTED,
            optimize_max_filters: interarec_choice::recommend::MAX_FILTERS,
            max_concurrent_optimize: crate::models::MAX_CONCURRENT_OPTIMIZE,
            optimize_timeout_ms: crate::models::OPTIMIZE_TIMEOUT.as_millis() as u64,
            optimize_max_constraints_bytes: crate::models::MAX_CONSTRAINTS_JSON_BYTES,
        }
    }
}

impl ServingConfig {
    /// Refuses values outside their documented ranges.
    pub fn validate(&self) -> Result<(), String> {
        let in_range = |key: &str, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(format!("serving.{key} = {value} is out of range: use {low} to {high}"))
            }
        };
        in_range("max_live_sessions", self.max_live_sessions as u64, 1, 1_000_000)?;
        in_range("max_concurrent_streams", self.max_concurrent_streams.into(), 1, 10_000)?;
        in_range("keepalive_interval_ms", self.keepalive_interval_ms, 1_000, 3_600_000)?;
        in_range("keepalive_timeout_ms", self.keepalive_timeout_ms, 1_000, 600_000)?;
        in_range("max_connections", self.max_connections as u64, 1, 1_000_000)?;
        in_range("max_frame_bytes", self.max_frame_bytes as u64, 64 << 10, 64 << 20)?;
        in_range("max_url_bytes", self.max_url_bytes as u64, 256, 1 << 20)?;
        in_range("max_dom_text_bytes", self.max_dom_text_bytes as u64, 0, 16 << 20)?;
        in_range("max_decode_mib", self.max_decode_mib, 16, 1024)?;
        in_range("max_concurrent_decodes", self.max_concurrent_decodes as u64, 1, 256)?;
        in_range("optimize_max_listed", self.optimize_max_listed as u64, 1, 10_000_000)?;
        in_range("optimize_max_filters", self.optimize_max_filters as u64, 1, 100_000)?;
        in_range("max_concurrent_optimize", self.max_concurrent_optimize as u64, 1, 256)?;
        in_range("optimize_timeout_ms", self.optimize_timeout_ms, 100, 3_600_000)?;
        // Optimize requests are read up to 64 MiB.
        in_range(
            "optimize_max_constraints_bytes",
            self.optimize_max_constraints_bytes as u64,
            1024,
            64 * 1024 * 1024,
        )
    }

    /// What one frame may be.
    pub fn frame_limits(&self) -> interarec_sessions::FrameLimits {
        interarec_sessions::FrameLimits {
            max_frame_bytes: self.max_frame_bytes,
            max_url_bytes: self.max_url_bytes,
            max_dom_text_bytes: self.max_dom_text_bytes,
            max_decode_bytes: self.max_decode_mib << 20,
            max_concurrent_decodes: self.max_concurrent_decodes,
        }
    }

    /// What one `Optimize` call may ask.
    pub fn optimize_limits(&self) -> crate::models::OptimizeLimits {
        crate::models::OptimizeLimits {
            sizes: interarec_choice::recommend::SizeLimits {
                max_listed: self.optimize_max_listed,
                max_filters: self.optimize_max_filters,
            },
            max_concurrent: self.max_concurrent_optimize,
            timeout: std::time::Duration::from_millis(self.optimize_timeout_ms),
            max_constraints_bytes: self.optimize_max_constraints_bytes,
        }
    }
}

/// The `[replicas]` table: how servers sharing one PostgreSQL-compatible store cooperate
/// (ignored on sled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplicaConfig {
    /// Connections this server keeps to the shared store.
    pub pool_size: usize,
    /// How long a claim on a session's batch lasts unless renewed (renewed every third of
    /// it): a replica that dies mid-batch leaves it to another one after at most this long.
    pub lease_ms: u64,
    /// How often watches read the shared log for events produced on other replicas, and how
    /// often caches of tools, catalogs and models check for changes made elsewhere.
    pub poll_ms: u64,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            pool_size: interarec_store::postgres::DEFAULT_POOL_SIZE,
            lease_ms: interarec_sessions::DEFAULT_LEASE.as_millis() as u64,
            poll_ms: interarec_sessions::DEFAULT_POLL.as_millis() as u64,
        }
    }
}

impl ReplicaConfig {
    /// Refuses values outside their documented ranges.
    pub fn validate(&self) -> Result<(), String> {
        let in_range = |key: &str, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(format!("replicas.{key} = {value} is out of range: use {low} to {high}"))
            }
        };
        in_range("pool_size", self.pool_size as u64, 1, 256)?;
        in_range("lease_ms", self.lease_ms, 500, 600_000)?;
        in_range("poll_ms", self.poll_ms, 10, 60_000)
    }

    /// Where `store` (as configured) and this table put the store.
    pub fn location(&self, store: &str, data_dir: &Path) -> Result<interarec_store::StoreLocation, String> {
        interarec_store::StoreLocation::parse(store, data_dir, self.pool_size)
    }
}

/// PEM files of the server's TLS identity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// The TOML file's shape; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    store: Option<String>,
    #[serde(default)]
    replicas: ReplicaConfig,
    admin_token: Option<String>,
    #[serde(default)]
    api_keys: Vec<ApiKey>,
    tls: Option<TlsFiles>,
    #[serde(default)]
    limits: LimitsConfig,
    #[serde(default)]
    serving: ServingConfig,
    #[serde(default)]
    vision: VisionFile,
    #[serde(default)]
    agent: AgentFile,
    #[serde(default)]
    openai: OpenAiFile,
    #[serde(default)]
    telemetry: TelemetryFile,
    #[serde(default)]
    mcp: ListenFile,
    #[serde(default)]
    console: ListenFile,
}

/// The `[mcp]` and `[console]` tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenFile {
    listen: Option<String>,
}

/// The `[telemetry]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelemetryFile {
    metrics_listen: Option<String>,
}

/// The `[agent]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentFile {
    planner: Option<String>,
    max_steps: Option<usize>,
    turn_timeout_ms: Option<u64>,
}

/// The `[openai]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenAiFile {
    base_url: Option<String>,
    model: Option<String>,
    timeout_ms: Option<u64>,
    max_retries: Option<u32>,
    context_tokens: Option<u32>,
    turn_timeout_ms: Option<u64>,
}

/// The `[vision]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VisionFile {
    provider: Option<String>,
    ocr: Option<String>,
    ocr_on_arrival: Option<bool>,
    ocr_incremental: Option<bool>,
}

/// Values given on the command line.
#[derive(Debug, Default, Clone)]
pub struct ConfigOverrides {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--store`.
    pub store: Option<String>,
    /// `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    pub tls_key: Option<PathBuf>,
    /// `--model-provider`.
    pub model_provider: Option<String>,
    /// `--ocr`.
    pub ocr: Option<String>,
    /// `--planner`.
    pub planner: Option<String>,
    /// `--openai-base-url`.
    pub openai_base_url: Option<String>,
    /// `--openai-model`.
    pub openai_model: Option<String>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<String>,
    /// `--mcp-listen`.
    pub mcp_listen: Option<String>,
    /// `--console-listen`.
    pub console_listen: Option<String>,
}

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

impl ServerConfig {
    /// A configuration for tests and the demo: loopback, the given data dir, default limits.
    pub fn local(data_dir: &Path) -> ServerConfig {
        ServerConfig {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            data_dir: data_dir.to_owned(),
            store: String::new(),
            replicas: ReplicaConfig::default(),
            admin_token: None,
            api_keys: Vec::new(),
            tls: None,
            limits: LimitsConfig::default(),
            serving: ServingConfig::default(),
            // Tests read frames when a summary asks, not in the background.
            vision: VisionConfig {
                ocr_on_arrival: false,
                ..VisionConfig::default()
            },
            agent: AgentConfig::default(),
            openai: None,
            network_planner: NetworkPlannerSettings::default(),
            metrics_listen: None,
            mcp_listen: None,
            console_listen: None,
        }
    }

    /// Builds the configuration from file, environment and flags.
    pub fn load(overrides: &ConfigOverrides, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<ServerConfig> {
        let file: FileConfig = match &overrides.config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {} is invalid: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let listen_text = overrides
            .listen
            .clone()
            .or_else(|| env("INTERAREC_LISTEN"))
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|e| {
            anyhow::anyhow!("listen address `{listen_text}` is invalid ({e}); write IP:PORT such as 127.0.0.1:50051")
        })?;
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env("INTERAREC_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./interarec-data"));
        let store = overrides
            .store
            .clone()
            .or_else(|| env("INTERAREC_STORE"))
            .or(file.store)
            .unwrap_or_default();
        file.replicas
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid [replicas]: {e}"))?;
        file.replicas
            .location(&store, &data_dir)
            .map_err(|e| anyhow::anyhow!("invalid store: {e}"))?;
        let admin_token = env("INTERAREC_ADMIN_TOKEN")
            .or(file.admin_token)
            .filter(|t| !t.is_empty());
        let cert = overrides
            .tls_cert
            .clone()
            .or_else(|| env("INTERAREC_TLS_CERT").map(PathBuf::from));
        let key = overrides
            .tls_key
            .clone()
            .or_else(|| env("INTERAREC_TLS_KEY").map(PathBuf::from));
        let tls = match (cert, key, file.tls) {
            (Some(cert), Some(key), _) => Some(TlsFiles { cert, key }),
            (None, None, from_file) => from_file,
            (Some(cert), None, Some(file)) => Some(TlsFiles { cert, key: file.key }),
            (None, Some(key), Some(file)) => Some(TlsFiles { cert: file.cert, key }),
            _ => anyhow::bail!(
                "TLS needs both a certificate and a key: give --tls-cert and --tls-key (or tls.cert and tls.key)"
            ),
        };
        file.limits
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid [limits]: {e}"))?;
        let vision = vision_config(overrides, env, file.vision)?;
        let agent = agent_config(overrides, env, file.agent)?;
        let needed = vision.provider == Provider::OpenAi || agent.planner == Provider::OpenAi;
        let network_planner = network_planner_settings(&file.openai)?;
        let openai = openai_config(overrides, env, file.openai, needed)?;
        let network_planner = NetworkPlannerSettings {
            turn_timeout: network_planner.turn_timeout.or_else(|| {
                openai
                    .as_ref()
                    .filter(|o| is_loopback_url(&o.base_url))
                    .map(|_| LOCAL_TURN_TIMEOUT)
            }),
            ..network_planner
        };
        let metrics_listen = side_address(
            "metrics",
            "127.0.0.1:9464",
            overrides
                .metrics_listen
                .clone()
                .or_else(|| env("INTERAREC_METRICS_LISTEN")),
            file.telemetry.metrics_listen,
        )?;
        let mcp_listen = side_address(
            "MCP",
            "127.0.0.1:8090",
            overrides.mcp_listen.clone().or_else(|| env("INTERAREC_MCP_LISTEN")),
            file.mcp.listen,
        )?;
        let console_listen = side_address(
            "console",
            "127.0.0.1:8080",
            overrides
                .console_listen
                .clone()
                .or_else(|| env("INTERAREC_CONSOLE_LISTEN")),
            file.console.listen,
        )?;
        check_api_keys(&file.api_keys, admin_token.as_deref())?;
        file.serving
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid [serving]: {e}"))?;
        let config = ServerConfig {
            listen,
            data_dir,
            store,
            replicas: file.replicas,
            admin_token,
            api_keys: file.api_keys,
            tls,
            limits: file.limits,
            serving: file.serving,
            vision,
            agent,
            openai,
            network_planner,
            metrics_listen,
            mcp_listen,
            console_listen,
        };
        config.check_exposure()?;
        Ok(config)
    }

    /// Refuses to listen beyond loopback without an admin token, and a guessable admin token.
    pub fn check_exposure(&self) -> anyhow::Result<()> {
        if let Some(token) = &self.admin_token
            && token.chars().count() < MIN_TOKEN_CHARS
        {
            anyhow::bail!(
                "the admin token is {} characters long; use at least {MIN_TOKEN_CHARS} (e.g. the output of `openssl rand -hex 32`)",
                token.chars().count()
            );
        }
        if !self.listen.ip().is_loopback() && self.admin_token.is_none() {
            anyhow::bail!(
                "refusing to listen on {} without an admin token: anyone who can reach it could register code; set INTERAREC_ADMIN_TOKEN (or admin_token in the config file), or listen on 127.0.0.1",
                self.listen
            );
        }
        let side = [
            (
                self.metrics_listen,
                "metrics",
                "they name sessions' tools and load; set INTERAREC_ADMIN_TOKEN (scrapes then send it as a bearer token)",
            ),
            (
                self.mcp_listen,
                "MCP",
                "its tools run code and read catalogs; set INTERAREC_ADMIN_TOKEN (MCP clients then send it or an API key as a bearer token)",
            ),
            (
                self.console_listen,
                "the console",
                "it shows every session's screenshots; set INTERAREC_ADMIN_TOKEN (the console then asks for it)",
            ),
        ];
        for (address, what, why) in side {
            if let Some(address) = address
                && !address.ip().is_loopback()
                && self.admin_token.is_none()
            {
                anyhow::bail!(
                    "refusing to serve {what} on {address} without an admin token: {why}, or serve it on 127.0.0.1"
                );
            }
        }
        Ok(())
    }
}

/// An optional address of its own (metrics, MCP, the console): the flag or environment
/// variable first, then the file; empty means off.
fn side_address(
    what: &str,
    example: &str,
    flag_or_env: Option<String>,
    file: Option<String>,
) -> anyhow::Result<Option<SocketAddr>> {
    flag_or_env
        .or(file)
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.parse::<SocketAddr>().map_err(|e| {
                anyhow::anyhow!("{what} address `{text}` is invalid ({e}); write IP:PORT such as {example}")
            })
        })
        .transpose()
}

/// API keys are hashed, named once, and need an admin token beside them (without one every
/// caller is the admin, and keys would guard nothing).
fn check_api_keys(keys: &[ApiKey], admin_token: Option<&str>) -> anyhow::Result<()> {
    if !keys.is_empty() && admin_token.is_none() {
        anyhow::bail!(
            "[[api_keys]] need an admin token: without one every caller is the admin and the keys would guard nothing; set INTERAREC_ADMIN_TOKEN (or admin_token)"
        );
    }
    let mut names = std::collections::HashSet::new();
    for key in keys {
        if key.name.trim().is_empty() {
            anyhow::bail!("an [[api_keys]] entry has no name; name each key (it is shown in refusals and logs)");
        }
        if !names.insert(key.name.as_str()) {
            anyhow::bail!(
                "two [[api_keys]] entries are named `{}`; give each key its own name",
                key.name
            );
        }
        if !interarec_core::secret::is_fingerprint(&key.sha256) {
            anyhow::bail!(
                "API key `{}`: sha256 must be the key's SHA-256 as 64 lowercase hex digits, never the key itself; `interarec api-key new` prints both",
                key.name
            );
        }
        if key.scopes.is_empty() {
            anyhow::bail!(
                "API key `{}` has no scopes; give it some of: sessions, tools:invoke, optimize, read",
                key.name
            );
        }
    }
    Ok(())
}

fn vision_config(
    overrides: &ConfigOverrides,
    env: &dyn Fn(&str) -> Option<String>,
    file: VisionFile,
) -> anyhow::Result<VisionConfig> {
    let ocr_name = overrides
        .ocr
        .clone()
        .or_else(|| env("INTERAREC_OCR"))
        .or(file.ocr)
        .unwrap_or_else(|| "paddle".into());
    let ocr = OcrChoice::parse(&ocr_name).map_err(anyhow::Error::msg)?;
    let provider_name = overrides
        .model_provider
        .clone()
        .or_else(|| env("INTERAREC_MODEL_PROVIDER"))
        .or(file.provider)
        .unwrap_or_else(|| "offline".into());
    let provider = Provider::parse(&provider_name).map_err(|e| anyhow::anyhow!("vision provider: {e}"))?;
    Ok(VisionConfig {
        provider,
        ocr,
        ocr_on_arrival: file.ocr_on_arrival.unwrap_or(true),
        ocr_incremental: file.ocr_incremental.unwrap_or(true),
    })
}

fn agent_config(
    overrides: &ConfigOverrides,
    env: &dyn Fn(&str) -> Option<String>,
    file: AgentFile,
) -> anyhow::Result<AgentConfig> {
    let defaults = AgentConfig::default();
    let planner = match overrides
        .planner
        .clone()
        .or_else(|| env("INTERAREC_PLANNER"))
        .or(file.planner)
    {
        Some(name) => Provider::parse(&name).map_err(|e| anyhow::anyhow!("planner: {e}"))?,
        None => defaults.planner,
    };
    let max_steps = file.max_steps.unwrap_or(defaults.max_steps);
    if !(1..=interarec_agent::MAX_STEPS_LIMIT).contains(&max_steps) {
        anyhow::bail!(
            "agent.max_steps = {max_steps} is out of range: use 1 to {}",
            interarec_agent::MAX_STEPS_LIMIT
        );
    }
    let turn_timeout_ms = file.turn_timeout_ms.unwrap_or(defaults.turn_timeout.as_millis() as u64);
    if !(100..=600_000).contains(&turn_timeout_ms) {
        anyhow::bail!("agent.turn_timeout_ms = {turn_timeout_ms} is out of range: use 100 to 600000 (10 minutes)");
    }
    Ok(AgentConfig {
        planner,
        max_steps,
        turn_timeout: std::time::Duration::from_millis(turn_timeout_ms),
    })
}

/// Default turn time at an endpoint on this machine (`openai.turn_timeout_ms`).
pub const LOCAL_TURN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// `openai.context_tokens` and `openai.turn_timeout_ms`, checked.
fn network_planner_settings(file: &OpenAiFile) -> anyhow::Result<NetworkPlannerSettings> {
    if let Some(tokens) = file.context_tokens
        && !(256..=10_000_000).contains(&tokens)
    {
        anyhow::bail!(
            "openai.context_tokens = {tokens} is out of range: use the served model's context window in tokens (256 to 10000000), e.g. 4096"
        );
    }
    if let Some(ms) = file.turn_timeout_ms
        && !(100..=3_600_000).contains(&ms)
    {
        anyhow::bail!("openai.turn_timeout_ms = {ms} is out of range: use 100 to 3600000 (one hour)");
    }
    Ok(NetworkPlannerSettings {
        context_tokens: file.context_tokens,
        turn_timeout: file.turn_timeout_ms.map(std::time::Duration::from_millis),
    })
}

/// Whether a base URL names this machine (`localhost`, 127.0.0.0/8, `[::1]`).
fn is_loopback_url(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(host, _)| host)
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The OpenAI-compatible endpoint: configured when a default provider is `openai` or a base URL
/// is given (sessions may then choose it).
fn openai_config(
    overrides: &ConfigOverrides,
    env: &dyn Fn(&str) -> Option<String>,
    file: OpenAiFile,
    needed: bool,
) -> anyhow::Result<Option<OpenAiConfig>> {
    let base_url = overrides
        .openai_base_url
        .clone()
        .or_else(|| env("INTERAREC_OPENAI_BASE_URL"))
        .or(file.base_url);
    if base_url.is_none() && !needed {
        return Ok(None);
    }
    let base_url = base_url.unwrap_or_else(|| "https://api.openai.com/v1".into());
    let model = overrides
        .openai_model
        .clone()
        .or_else(|| env("INTERAREC_OPENAI_MODEL"))
        .or(file.model)
        .unwrap_or_else(|| "gpt-4o-mini".into());
    let mut openai = OpenAiConfig::new(base_url, model);
    openai.api_key = env("INTERAREC_OPENAI_API_KEY")
        .or_else(|| env("OPENAI_API_KEY"))
        .filter(|k| !k.is_empty());
    if let Some(ms) = file.timeout_ms {
        openai.timeout = std::time::Duration::from_millis(ms);
    }
    if let Some(retries) = file.max_retries {
        openai.max_retries = retries;
    }
    // Fail at start-up, not at the first batch.
    interarec_llm::openai::OpenAiProvider::new(openai.clone()).map_err(|e| anyhow::anyhow!("[openai]: {e}"))?;
    Ok(Some(openai))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// One API key entry (its sha256 is that of `irk-test`).
    const API_KEY_TOML: &str = "[[api_keys]]\nname = \"shop\"\nsha256 = \"1f1029e22af6b42775164bafbc66d4f9bf0e27dc412b5dde27b5ef62a6d58232\"\nscopes = [\"sessions\"]\n";

    fn load(file: Option<&str>, env: &[(&str, &str)], overrides: ConfigOverrides) -> anyhow::Result<ServerConfig> {
        let dir = tempfile::tempdir().unwrap();
        let mut overrides = overrides;
        if let Some(text) = file {
            let path = dir.path().join("interarec.toml");
            std::fs::write(&path, text).unwrap();
            overrides.config_file = Some(path);
        }
        let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        ServerConfig::load(&overrides, &|key| env.get(key).cloned())
    }

    #[test]
    fn sources_override_in_order_defaults_file_env_flags() {
        let config = load(None, &[], ConfigOverrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(config.data_dir, PathBuf::from("./interarec-data"));

        let file = "listen = \"127.0.0.1:7000\"\ndata_dir = \"/from/file\"\n[limits]\ndefault_timeout_ms = 1000\n";
        let config = load(Some(file), &[], ConfigOverrides::default()).unwrap();
        assert_eq!(config.listen.port(), 7000);
        assert_eq!(config.limits.default_timeout_ms, 1000);

        let config = load(
            Some(file),
            &[("INTERAREC_LISTEN", "127.0.0.1:7001")],
            ConfigOverrides::default(),
        )
        .unwrap();
        assert_eq!(config.listen.port(), 7001);
        assert_eq!(config.data_dir, PathBuf::from("/from/file"));

        let flags = ConfigOverrides {
            listen: Some("127.0.0.1:7002".into()),
            ..Default::default()
        };
        let config = load(Some(file), &[("INTERAREC_LISTEN", "127.0.0.1:7001")], flags).unwrap();
        assert_eq!(config.listen.port(), 7002);
    }

    #[test]
    fn the_vision_table_chooses_the_engine_and_how_frames_are_read() {
        use interarec_vision::ocr::{OcrChoice, PaddleSize};
        let size = |config: &ServerConfig| match &config.vision.ocr {
            OcrChoice::Paddle { size, .. } => Some(*size),
            OcrChoice::Tesseract => None,
        };
        // (file, environment, expected engine size (None: Tesseract), on arrival, incremental)
        let cases: &[(Option<&str>, &[(&str, &str)], Option<PaddleSize>, bool, bool)] = &[
            (None, &[], Some(PaddleSize::Small), true, true),
            (
                Some("[vision]\nocr = \"paddle-tiny\""),
                &[],
                Some(PaddleSize::Tiny),
                true,
                true,
            ),
            (
                Some("[vision]\nocr_incremental = false\nocr_on_arrival = false"),
                &[],
                Some(PaddleSize::Small),
                false,
                false,
            ),
            (
                Some("[vision]\nocr = \"paddle-tiny\""),
                &[("INTERAREC_OCR", "tesseract")],
                None,
                true,
                true,
            ),
        ];
        for (file, env, expected_size, on_arrival, incremental) in cases {
            let config = load(*file, env, ConfigOverrides::default()).unwrap();
            assert_eq!(size(&config), *expected_size, "{file:?} {env:?}");
            assert_eq!(config.vision.ocr_on_arrival, *on_arrival, "{file:?}");
            assert_eq!(config.vision.ocr_incremental, *incremental, "{file:?}");
        }
    }

    #[test]
    fn the_metrics_address_comes_from_file_env_or_flag_and_is_off_by_default() {
        let file = "[telemetry]\nmetrics_listen = \"127.0.0.1:9464\"\n";
        let flag = ConfigOverrides {
            metrics_listen: Some("127.0.0.1:9466".into()),
            ..ConfigOverrides::default()
        };
        let cases: &[(Option<&str>, &[(&str, &str)], ConfigOverrides, Option<&str>)] = &[
            (None, &[], ConfigOverrides::default(), None),
            (Some(file), &[], ConfigOverrides::default(), Some("127.0.0.1:9464")),
            (
                Some(file),
                &[("INTERAREC_METRICS_LISTEN", "127.0.0.1:9465")],
                ConfigOverrides::default(),
                Some("127.0.0.1:9465"),
            ),
            (
                Some(file),
                &[("INTERAREC_METRICS_LISTEN", "127.0.0.1:9465")],
                flag,
                Some("127.0.0.1:9466"),
            ),
            (
                Some("admin_token = \"a-long-enough-token\"\n[telemetry]\nmetrics_listen = \"0.0.0.0:9464\"\n"),
                &[],
                ConfigOverrides::default(),
                Some("0.0.0.0:9464"),
            ),
        ];
        for (file, env, overrides, expected) in cases {
            let config = load(*file, env, overrides.clone()).unwrap();
            assert_eq!(
                config.metrics_listen.map(|a| a.to_string()).as_deref(),
                *expected,
                "{file:?} {env:?}"
            );
        }
    }

    #[test]
    fn the_mcp_and_console_addresses_come_from_file_env_or_flag_and_are_off_by_default() {
        let file = "[mcp]\nlisten = \"127.0.0.1:8090\"\n[console]\nlisten = \"127.0.0.1:8080\"\n";
        let flags = ConfigOverrides {
            mcp_listen: Some("127.0.0.1:9001".into()),
            console_listen: Some("127.0.0.1:9002".into()),
            ..ConfigOverrides::default()
        };
        let env: &[(&str, &str)] = &[
            ("INTERAREC_MCP_LISTEN", "127.0.0.1:7001"),
            ("INTERAREC_CONSOLE_LISTEN", "127.0.0.1:7002"),
        ];
        let cases: &[(
            Option<&str>,
            &[(&str, &str)],
            ConfigOverrides,
            Option<&str>,
            Option<&str>,
        )] = &[
            (None, &[], ConfigOverrides::default(), None, None),
            (
                Some(file),
                &[],
                ConfigOverrides::default(),
                Some("127.0.0.1:8090"),
                Some("127.0.0.1:8080"),
            ),
            (
                Some(file),
                env,
                ConfigOverrides::default(),
                Some("127.0.0.1:7001"),
                Some("127.0.0.1:7002"),
            ),
            (Some(file), env, flags, Some("127.0.0.1:9001"), Some("127.0.0.1:9002")),
            (
                Some(file),
                &[("INTERAREC_MCP_LISTEN", "")],
                ConfigOverrides::default(),
                None,
                Some("127.0.0.1:8080"),
            ),
        ];
        for (file, env, overrides, mcp, console) in cases {
            let config = load(*file, env, overrides.clone()).unwrap();
            assert_eq!(
                config.mcp_listen.map(|a| a.to_string()).as_deref(),
                *mcp,
                "{file:?} {env:?}"
            );
            assert_eq!(
                config.console_listen.map(|a| a.to_string()).as_deref(),
                *console,
                "{file:?} {env:?}"
            );
        }
    }

    #[test]
    fn bad_configuration_says_what_to_fix() {
        let keys_twice = format!("admin_token = \"a-long-enough-token\"\n{API_KEY_TOML}{API_KEY_TOML}");
        let unknown_scope = API_KEY_TOML.replace("\"sessions\"", "\"admin\"");
        let no_scopes = format!(
            "admin_token = \"a-long-enough-token\"\n{}",
            API_KEY_TOML.replace("\"sessions\"", "")
        );
        let cases: &[(Option<&str>, &[(&str, &str)], &str)] = &[
            (
                None,
                &[("INTERAREC_LISTEN", "localhost")],
                "listen address `localhost` is invalid",
            ),
            (
                None,
                &[("INTERAREC_LISTEN", "0.0.0.0:50051")],
                "refusing to listen on 0.0.0.0:50051 without an admin token",
            ),
            (Some("listen = 5"), &[], "is invalid"),
            (
                Some("[telemetry]\nmetrics_listen = \"9464\""),
                &[],
                "metrics address `9464` is invalid",
            ),
            (
                None,
                &[("INTERAREC_METRICS_LISTEN", "0.0.0.0:9464")],
                "refusing to serve metrics on 0.0.0.0:9464 without an admin token",
            ),
            (
                Some("[mcp]\nlisten = \"[::]:8090\""),
                &[],
                "refusing to serve MCP on [::]:8090 without an admin token",
            ),
            (
                None,
                &[("INTERAREC_CONSOLE_LISTEN", "0.0.0.0:8080")],
                "refusing to serve the console on 0.0.0.0:8080 without an admin token",
            ),
            (
                Some("[console]\nlisten = \"8080\""),
                &[],
                "console address `8080` is invalid",
            ),
            (Some("[mcp]\naddress = \"127.0.0.1:1\""), &[], "unknown field `address`"),
            (Some("[telemetry]\nmetrics = true"), &[], "unknown field `metrics`"),
            (
                Some("[serving]\nmax_live_sessions = 0"),
                &[],
                "invalid [serving]: serving.max_live_sessions = 0 is out of range",
            ),
            (Some("[serving]\nmax_streams = 4"), &[], "unknown field `max_streams`"),
            (
                Some("[serving]\nmax_connections = 0"),
                &[],
                "serving.max_connections = 0 is out of range: use 1 to 1000000",
            ),
            (
                Some("[serving]\nmax_frame_bytes = 1000"),
                &[],
                "serving.max_frame_bytes = 1000 is out of range: use 65536 to 67108864",
            ),
            (
                Some("[serving]\noptimize_max_constraints_bytes = 10"),
                &[],
                "serving.optimize_max_constraints_bytes = 10 is out of range: use 1024 to 67108864",
            ),
            (
                Some("[serving]\noptimize_timeout_ms = 5"),
                &[],
                "serving.optimize_timeout_ms = 5 is out of range: use 100 to 3600000",
            ),
            (
                None,
                &[("INTERAREC_ADMIN_TOKEN", "short")],
                "the admin token is 5 characters long; use at least 16",
            ),
            (Some(API_KEY_TOML), &[], "[[api_keys]] need an admin token"),
            (
                Some(
                    "admin_token = \"a-long-enough-token\"\n[[api_keys]]\nname = \"shop\"\nsha256 = \"irk-the-key-itself\"\nscopes = [\"sessions\"]",
                ),
                &[],
                "API key `shop`: sha256 must be the key's SHA-256 as 64 lowercase hex digits, never the key itself",
            ),
            (
                Some(keys_twice.as_str()),
                &[],
                "two [[api_keys]] entries are named `shop`",
            ),
            (
                Some(unknown_scope.as_str()),
                &[],
                "`admin` is not a scope; use one of: sessions, tools:invoke, optimize, read",
            ),
            (Some(no_scopes.as_str()), &[], "API key `shop` has no scopes"),
            (Some("unknown_key = 1"), &[], "unknown field `unknown_key`"),
            (
                Some("[limits]\ndefault_memory_bytes = 10"),
                &[],
                "invalid [limits]: limits.default_memory_bytes (10)",
            ),
            (
                None,
                &[("INTERAREC_TLS_CERT", "/c.pem")],
                "TLS needs both a certificate and a key",
            ),
            (None, &[("INTERAREC_PLANNER", "gpt")], "planner: unknown provider `gpt`"),
            (
                Some("[agent]\nmax_steps = 0"),
                &[],
                "agent.max_steps = 0 is out of range",
            ),
            (
                Some("[agent]\nturn_timeout_ms = 5"),
                &[],
                "agent.turn_timeout_ms = 5 is out of range",
            ),
            (
                Some("[openai]\nbase_url = \"localhost:8080\""),
                &[],
                "must start with http:// or https://",
            ),
            (
                Some("[openai]\ncontext_tokens = 12"),
                &[],
                "openai.context_tokens = 12 is out of range",
            ),
            (
                Some("[openai]\nturn_timeout_ms = 0"),
                &[],
                "openai.turn_timeout_ms = 0 is out of range",
            ),
            (
                Some("[vision]\nopenai_model = \"m\""),
                &[],
                "unknown field `openai_model`",
            ),
        ];
        for (file, env, fragment) in cases {
            let error = load(*file, env, ConfigOverrides::default()).unwrap_err().to_string();
            assert!(error.contains(fragment), "{file:?} {env:?}: {error}");
        }
        let exposed = load(
            None,
            &[
                ("INTERAREC_LISTEN", "0.0.0.0:50051"),
                ("INTERAREC_ADMIN_TOKEN", "a-long-enough-token"),
            ],
            ConfigOverrides::default(),
        );
        assert!(exposed.is_ok());
        let keyed = load(
            Some(&format!("admin_token = \"a-long-enough-token\"\n{API_KEY_TOML}")),
            &[],
            ConfigOverrides::default(),
        )
        .unwrap();
        assert_eq!(keyed.api_keys.len(), 1);
        assert_eq!(keyed.api_keys[0].scopes, [crate::access::Scope::Sessions]);
    }

    #[test]
    fn the_openai_endpoint_exists_when_a_default_needs_it_or_a_url_is_given() {
        let config = load(None, &[], ConfigOverrides::default()).unwrap();
        assert!(config.openai.is_none());
        assert_eq!(
            (config.vision.provider, config.agent.planner),
            (Provider::Offline, Provider::Offline)
        );
        let config = load(None, &[("INTERAREC_PLANNER", "openai")], ConfigOverrides::default()).unwrap();
        assert_eq!(config.openai.unwrap().base_url, "https://api.openai.com/v1");
        let file = "[agent]\nmax_steps = 4\nturn_timeout_ms = 2000\n[openai]\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"qwen2.5\"\nmax_retries = 1\n";
        let config = load(Some(file), &[], ConfigOverrides::default()).unwrap();
        assert_eq!(config.agent.max_steps, 4);
        assert_eq!(config.agent.turn_timeout, std::time::Duration::from_secs(2));
        // A loopback endpoint gets the local turn time unless one is set.
        assert_eq!(
            config.network_planner,
            NetworkPlannerSettings {
                context_tokens: None,
                turn_timeout: Some(LOCAL_TURN_TIMEOUT)
            }
        );
        let openai = config.openai.unwrap();
        assert_eq!((openai.model.as_str(), openai.max_retries), ("qwen2.5", 1));
        // Set in the file, both apply; a hosted endpoint keeps the agent's turn time.
        let file =
            "[openai]\nbase_url = \"http://localhost:8080/v1\"\ncontext_tokens = 4096\nturn_timeout_ms = 240000\n";
        let config = load(Some(file), &[], ConfigOverrides::default()).unwrap();
        assert_eq!(
            config.network_planner,
            NetworkPlannerSettings {
                context_tokens: Some(4096),
                turn_timeout: Some(std::time::Duration::from_secs(240))
            }
        );
        let hosted = load(
            None,
            &[("INTERAREC_OPENAI_BASE_URL", "https://api.example.com/v1")],
            ConfigOverrides::default(),
        )
        .unwrap();
        assert_eq!(hosted.network_planner.turn_timeout, None);
        for (url, loopback) in [
            ("http://127.0.0.1:8080/v1", true),
            ("http://[::1]:8080/v1", true),
            ("http://LOCALHOST/v1", true),
            ("https://api.openai.com/v1", false),
            ("http://10.0.0.5:8000/v1", false),
        ] {
            assert_eq!(is_loopback_url(url), loopback, "{url}");
        }
    }
}
