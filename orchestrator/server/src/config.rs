//! Server configuration: defaults, then a TOML file, then `INTERAREC_*` environment variables,
//! then command-line flags (each later source overrides the earlier ones).
//!
//! | key            | env                     | flag         | default                 |
//! |----------------|-------------------------|--------------|-------------------------|
//! | `listen`       | `INTERAREC_LISTEN`      | `--listen`   | `127.0.0.1:50051`       |
//! | `data_dir`     | `INTERAREC_DATA_DIR`    | `--data-dir` | `./interarec-data`      |
//! | `admin_token`  | `INTERAREC_ADMIN_TOKEN` | (none: keep secrets out of `ps`) | unset |
//! | `tls.cert`     | `INTERAREC_TLS_CERT`    | `--tls-cert` | unset                   |
//! | `tls.key`      | `INTERAREC_TLS_KEY`     | `--tls-key`  | unset                   |
//! | `[limits]`     | –                       | –            | see [`LimitsConfig`]    |
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

pub use crate::backends::VisionConfig;
use interarec_agent::{AgentConfig, NetworkPlannerSettings};
use interarec_core::LimitsConfig;
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
    /// Where the database and the component cache live.
    pub data_dir: PathBuf,
    /// Bearer token required to register, replace and remove tools.
    pub admin_token: Option<String>,
    /// Certificate and key (PEM files) to serve TLS.
    pub tls: Option<TlsFiles>,
    /// Tool limits.
    pub limits: LimitsConfig,
    /// Default vision provider and OCR.
    pub vision: VisionConfig,
    /// Default planner and per-turn limits.
    pub agent: AgentConfig,
    /// The OpenAI-compatible endpoint, when one is configured.
    pub openai: Option<OpenAiConfig>,
    /// How the network planner uses that endpoint (context budget, turn time).
    pub network_planner: NetworkPlannerSettings,
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
    admin_token: Option<String>,
    tls: Option<TlsFiles>,
    #[serde(default)]
    limits: LimitsConfig,
    #[serde(default)]
    vision: VisionFile,
    #[serde(default)]
    agent: AgentFile,
    #[serde(default)]
    openai: OpenAiFile,
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
}

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

impl ServerConfig {
    /// A configuration for tests and the demo: loopback, the given data dir, default limits.
    pub fn local(data_dir: &Path) -> ServerConfig {
        ServerConfig {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            data_dir: data_dir.to_owned(),
            admin_token: None,
            tls: None,
            limits: LimitsConfig::default(),
            // Tests read frames when a summary asks, not in the background.
            vision: VisionConfig {
                ocr_on_arrival: false,
                ..VisionConfig::default()
            },
            agent: AgentConfig::default(),
            openai: None,
            network_planner: NetworkPlannerSettings::default(),
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
        let config = ServerConfig {
            listen,
            data_dir,
            admin_token,
            tls,
            limits: file.limits,
            vision,
            agent,
            openai,
            network_planner,
        };
        config.check_exposure()?;
        Ok(config)
    }

    /// Refuses to listen beyond loopback without an admin token.
    pub fn check_exposure(&self) -> anyhow::Result<()> {
        if !self.listen.ip().is_loopback() && self.admin_token.is_none() {
            anyhow::bail!(
                "refusing to listen on {} without an admin token: anyone who can reach it could register code; set INTERAREC_ADMIN_TOKEN (or admin_token in the config file), or listen on 127.0.0.1",
                self.listen
            );
        }
        Ok(())
    }
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
    fn bad_configuration_says_what_to_fix() {
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
            &[("INTERAREC_LISTEN", "0.0.0.0:50051"), ("INTERAREC_ADMIN_TOKEN", "t")],
            ConfigOverrides::default(),
        );
        assert!(exposed.is_ok());
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
