//! The `interarec` command: `serve` runs the server, `tools …` talks to one, `demo` shows the
//! whole loop on a throw-away server.
//!
//! Each subcommand is a module here; all of them except `serve` and the throw-away servers of
//! `demo` and `demo-tool` talk to a server through `interarec-client`.

mod api_key;
mod catalog;
mod demo;
mod demo_shop;
mod demo_tool;
mod events;
mod mcp;
mod models;
mod new_plugin;
mod progress;
mod session;
mod tools;

use anyhow::Context;
use clap::{Parser, Subcommand};
use interarec_server::config::{ConfigOverrides, ServerConfig};
use std::path::PathBuf;

/// InteraRec: turns what a shopper sees into what they are offered.
#[derive(Debug, Parser)]
#[command(name = "interarec", version, about)]
pub struct Cli {
    /// How log lines are written to stderr: `text` for people, `json` (one object per line,
    /// with the span fields: rpc method, session, batch, tool) for log collectors.
    #[arg(long, global = true, value_enum, env = "INTERAREC_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Who answers (the server's default planner and vision provider, or a session's): the
/// embedded engine or the OpenAI-compatible endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Provider {
    /// Embedded: no model server needed.
    Offline,
    /// The OpenAI-compatible endpoint (`--openai-base-url`, `--openai-model`).
    Openai,
}

/// The offline vision engine's OCR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Ocr {
    /// PP-OCR (the models `just models` fetches).
    Paddle,
    /// Tesseract (the `tesseract` command).
    Tesseract,
}

/// The name a config value takes (the enums' clap names).
fn value_name(value: impl clap::ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the gRPC server (config: file, then INTERAREC_* env, then flags).
    Serve {
        /// TOML config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (IP:PORT); loopback unless an admin token is set.
        #[arg(long)]
        listen: Option<String>,
        /// Directory for the database and the compiled-component cache.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The database: `sled` (in the data dir, the default) or a `postgres://user@host:port/db`
        /// URL that any number of servers share (put a password in INTERAREC_STORE, not here).
        #[arg(long)]
        store: Option<String>,
        /// PEM certificate chain to serve TLS.
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        /// PEM private key to serve TLS.
        #[arg(long)]
        tls_key: Option<PathBuf>,
        /// Who answers the `models` capability: `offline` (embedded vision engine, the default)
        /// or `openai` (any OpenAI-compatible endpoint; key from INTERAREC_OPENAI_API_KEY).
        #[arg(long, value_enum)]
        model_provider: Option<Provider>,
        /// OCR engine of the offline provider (default: paddle).
        #[arg(long, value_enum)]
        ocr: Option<Ocr>,
        /// Who plans each turn by default: `offline` (embedded, the default) or `openai` (function
        /// calling at the OpenAI-compatible endpoint). Sessions may choose their own.
        #[arg(long, value_enum)]
        planner: Option<Provider>,
        /// Base URL of the OpenAI-compatible endpoint (e.g. http://localhost:11434/v1).
        #[arg(long)]
        openai_base_url: Option<String>,
        /// Model name at that endpoint.
        #[arg(long)]
        openai_model: Option<String>,
        /// Serve Prometheus metrics at http://ADDR/metrics (IP:PORT; off unless given). An
        /// address beyond loopback needs the admin token, which scrapes then send.
        #[arg(long)]
        metrics_listen: Option<String>,
        /// Serve MCP over streamable HTTP at http://ADDR/mcp (IP:PORT; off unless given). An
        /// address beyond loopback needs the admin token; MCP clients then send it or an API key.
        #[arg(long)]
        mcp_listen: Option<String>,
        /// Serve the live session console at http://ADDR/ (IP:PORT; off unless given). An
        /// address beyond loopback needs the admin token, which the console asks for.
        #[arg(long)]
        console_listen: Option<String>,
    },
    /// Makes client API keys for the server's config.
    ApiKey(api_key::ApiKeyArgs),
    /// Manages and invokes tools on a running server.
    Tools(tools::ToolsArgs),
    /// Imports, lists, shows and removes catalogs on a running server.
    Catalog(catalog::CatalogArgs),
    /// Fits a choice model from a transaction log on a running server, with progress.
    Fit(models::FitArgs),
    /// Lists, shows and removes fitted choice models on a running server.
    Model(models::ModelArgs),
    /// Picks the revenue-maximizing assortment of a catalog under a model and constraints.
    Optimize(models::OptimizeArgs),
    /// Drives headless Chromium through a browsing script, capturing viewport screenshots into a
    /// session folder and/or live into a session.
    Capture(session::CaptureArgs),
    /// Lists, shows, ends sessions and replays recorded session folders into them.
    Session(session::SessionArgs),
    /// Serves the demo shops (fashion, footwear, homes) on localhost, or exports their catalogs.
    DemoShop(demo_shop::DemoShopArgs),
    /// The main job on offline defaults: a throw-away server, the demo catalogs and their fitted
    /// choice models, the recorded sessions replayed through Browse, and per batch the summary,
    /// constraints, validation, recommended products and the answer.
    Demo(demo::DemoArgs),
    /// Starts a throw-away server, registers a tool (echo by default), invokes it and stops.
    DemoTool(demo_tool::DemoToolArgs),
    /// Serves the server's tools, session tools, catalogs and models to an MCP client over
    /// stdio (INTERAREC_ADMIN_TOKEN or INTERAREC_API_KEY is sent with every call).
    Mcp(mcp::McpArgs),
    /// Scaffolds a tool crate in a new directory: a standalone crate that builds with
    /// `cargo build --target wasm32-wasip2 --release` (docs/plugins.md is the guide).
    NewPlugin(new_plugin::NewPluginArgs),
    /// Prints a completion script for a shell (e.g. `interarec completions bash >
    /// ~/.local/share/bash-completion/completions/interarec`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// What the exit status says (README, "Running the server"): 2 is clap's usage error.
pub mod exit {
    /// Something else failed (a file, the server's own fault, an interrupted stream).
    pub const FAILED: u8 = 1;
    /// What was named does not exist (a tool, catalog, model, session).
    pub const NOT_FOUND: u8 = 3;
    /// The server refused the request (credentials, permissions, bad input, a conflict, a limit).
    pub const REFUSED: u8 = 4;
    /// The server could not be reached, or is not serving right now.
    pub const UNREACHABLE: u8 = 5;
}

/// The exit status of a failed command, from the client error in its chain.
fn exit_status(error: &anyhow::Error) -> u8 {
    use interarec_client::{ClientError, Failure};
    let failure = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ClientError>())
        .map_or(Failure::Other, ClientError::failure);
    match failure {
        Failure::NotFound => exit::NOT_FOUND,
        Failure::Refused => exit::REFUSED,
        Failure::Unreachable => exit::UNREACHABLE,
        Failure::Other => exit::FAILED,
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A text argument as given, `@FILE` for the file's contents, `-` for stdin's (`what` names it
/// in errors).
pub fn argument_text(value: &str, what: &str) -> anyhow::Result<String> {
    if value == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .with_context(|| format!("cannot read {what} from stdin"))?;
        return Ok(text);
    }
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {what} from {path}")),
        None => Ok(value.to_owned()),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    init_logging(cli.log_format);
    match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
            store,
            tls_cert,
            tls_key,
            model_provider,
            ocr,
            planner,
            openai_base_url,
            openai_model,
            metrics_listen,
            mcp_listen,
            console_listen,
        } => {
            let overrides = ConfigOverrides {
                config_file: config,
                listen,
                data_dir,
                store,
                tls_cert,
                tls_key,
                model_provider: model_provider.map(value_name),
                ocr: ocr.map(value_name),
                planner: planner.map(value_name),
                openai_base_url,
                openai_model,
                metrics_listen,
                mcp_listen,
                console_listen,
            };
            let config = ServerConfig::load(&overrides, &|key| std::env::var(key).ok())?;
            serve(config).await
        }
        Command::ApiKey(args) => api_key::run(args),
        Command::Tools(args) => tools::run(args).await,
        Command::Catalog(args) => catalog::run(args).await,
        Command::Fit(args) => models::fit(args).await,
        Command::Model(args) => models::model(args).await,
        Command::Optimize(args) => models::optimize(args).await,
        Command::Capture(args) => session::capture_command(args).await,
        Command::Session(args) => session::session_command(args).await,
        Command::DemoShop(args) => demo_shop::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::DemoTool(args) => demo_tool::run(args).await,
        Command::Mcp(args) => mcp::run(args).await,
        Command::NewPlugin(args) => new_plugin::run(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "interarec", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// Where the server is; shared by `tools` and `catalog`.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Server URL (`https://` for TLS).
    #[arg(
        long,
        env = "INTERAREC_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    server: String,
    /// PEM file of the CA that signed the server's certificate.
    #[arg(long, env = "INTERAREC_TLS_CA", global = true)]
    tls_ca: Option<PathBuf>,
}

impl ServerArgs {
    /// Connects, sending INTERAREC_ADMIN_TOKEN (or, without it, INTERAREC_API_KEY) with every
    /// request.
    pub async fn connect(&self) -> anyhow::Result<interarec_client::Client> {
        let tls_ca_pem = match &self.tls_ca {
            Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read CA file {}", path.display()))?),
            None => None,
        };
        let options = interarec_client::ConnectOptions {
            token: ["INTERAREC_ADMIN_TOKEN", "INTERAREC_API_KEY"]
                .into_iter()
                .find_map(|name| std::env::var(name).ok().filter(|t| !t.is_empty())),
            tls_ca_pem,
            timeout: None,
        };
        Ok(interarec_client::Client::connect(&self.server, options).await?)
    }
}

/// A `--grant` value (`kv`, `http:HOST`, ...) as the wire type.
pub fn wire_grant(text: &str) -> anyhow::Result<interarec_client::Grant> {
    let grant: interarec_core::Grant = text.parse().with_context(|| format!("--grant {text}"))?;
    Ok(interarec_client::Grant {
        capability: interarec_client::Capability::from_name(grant.capability.name())
            .with_context(|| format!("--grant {text}: the API has no such capability"))? as i32,
        hosts: grant.hosts,
    })
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let data = match config.replicas.location(&config.store, &config.data_dir) {
        Ok(interarec_store::StoreLocation::Postgres { url, .. }) => {
            format!("data in {}", interarec_store::postgres::redacted(&url))
        }
        _ => format!("data in {}", config.data_dir.display()),
    };
    let token = match (&config.admin_token, config.api_keys.len()) {
        (None, _) => "not set: every caller on this machine is the admin".to_owned(),
        (Some(_), 0) => "set; callers on this machine may create sessions without a key".to_owned(),
        (Some(_), keys) => format!("set; {keys} API key(s)"),
    };
    // `start` binds, reads TLS files and opens the database first, so every start-up problem
    // is reported before the server claims to be serving.
    let server = interarec_server::start(config).await?;
    eprintln!("interarec: serving on {} ({data}, admin token {token})", server.url());
    if let Some(metrics) = server.metrics_addr {
        eprintln!("interarec: metrics on http://{metrics}/metrics");
    }
    server.run_until(shutdown_signal()).await?;
    eprintln!("interarec: stopped; data flushed");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn init_logging(format: LogFormat) {
    let configured = std::env::var("INTERAREC_LOG").unwrap_or_else(|_| "warn,interarec=info".to_owned());
    // Chromium sends DevTools events newer than chromiumoxide knows; its warnings about them
    // are noise unless asked for by name.
    let directives = if configured.contains("chromiumoxide") {
        configured
    } else {
        format!("{configured},chromiumoxide=error")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,interarec=info,chromiumoxide=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
    };
}

fn main() -> std::process::ExitCode {
    let args = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(exit_status(&error))
        }
    }
}
