//! Shared harness of the end-to-end tests and the tool benchmark: where the built components
//! are, a real server on 127.0.0.1:0 with a temporary data dir plus a connected client, and
//! deterministic catalog and transaction fixtures ([`fixtures`]).

pub mod chaos;
pub mod fake_openai;
pub mod fixtures;
pub mod intent;
pub mod llm;
pub mod metrics;
pub mod pipeline;
pub mod replicas;

use interarec_client::{Client, ConnectOptions, Grant, ToolLimits};
use interarec_server::RunningServer;
use interarec_server::config::ServerConfig;
use std::path::{Path, PathBuf};

/// The directory holding the built plugins: `$INTERAREC_PLUGIN_DIR`, else
/// `$CARGO_TARGET_DIR/wasm32-wasip2/plugin`, else the workspace's `target/wasm32-wasip2/plugin`.
pub fn plugin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("INTERAREC_PLUGIN_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("wasm32-wasip2/plugin")
}

/// The bytes of a built plugin (`echo`, `guest_spin`, ...). Panics with the fix when missing:
/// the tests need real components and must not silently skip.
pub fn plugin(name: &str) -> Vec<u8> {
    let path = plugin_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {} ({error}); build the plugins first with `just plugins`",
            path.display()
        )
    })
}

/// The store end-to-end servers use: `sled` in their temp data dir, or, when
/// `INTERAREC_E2E_STORE=postgres` (`just test-postgres`), a fresh database of its own on the
/// PostgreSQL server `INTERAREC_TEST_POSTGRES` names.
pub fn test_store() -> String {
    match std::env::var("INTERAREC_E2E_STORE").as_deref() {
        Ok("postgres") => fresh_postgres_database(),
        Ok("sled") | Err(_) => "sled".to_owned(),
        Ok(other) => panic!("INTERAREC_E2E_STORE={other}: use `sled` or `postgres`"),
    }
}

/// A new, empty database on the test PostgreSQL server (`just test-postgres` starts one).
pub fn fresh_postgres_database() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = std::env::var("INTERAREC_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!("INTERAREC_TEST_POSTGRES names no PostgreSQL server; run this with `just test-postgres`")
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let name = format!(
        "e2e_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    interarec_store::postgres::create_database(&server, &name)
        .unwrap_or_else(|error| panic!("cannot create test database {name}: {error}"))
}

/// A grant as the wire type.
pub fn grant(text: &str) -> Grant {
    let parsed: interarec_core::Grant = text.parse().expect("test grants are valid");
    Grant {
        capability: interarec_client::Capability::from_name(parsed.capability.name()).expect("a wire capability")
            as i32,
        hosts: parsed.hosts,
    }
}

/// Limits as the wire type (0 = server default).
pub fn limits(timeout_ms: u64, memory_mib: u64) -> ToolLimits {
    ToolLimits {
        timeout: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            timeout_ms,
        ))),
        memory_bytes: memory_mib * 1024 * 1024,
        fuel: 0,
    }
}

/// Makes a test server read screenshots with the offline engine and Tesseract as they arrive
/// (the fastest real reader on this machine).
pub fn read_with_tesseract(config: &mut ServerConfig) {
    config.vision = interarec_server::config::VisionConfig {
        provider: interarec_llm::Provider::Offline,
        ocr: interarec_vision::ocr::OcrChoice::Tesseract,
        ocr_on_arrival: true,
        ..interarec_server::config::VisionConfig::default()
    };
}

/// A server running in this process with its own temporary data dir.
pub struct TestServer {
    /// The running server.
    pub server: RunningServer,
    /// Its configuration (for restarts).
    pub config: ServerConfig,
    data_dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with default settings.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server after letting `adjust` change the configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::local(data_dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.store = test_store();
        adjust(&mut config);
        let server = interarec_server::start(config.clone()).await.expect("server starts");
        TestServer {
            server,
            config,
            data_dir,
        }
    }

    /// A client with the given admin token.
    pub async fn client_with_token(&self, admin_token: Option<&str>) -> Client {
        let options = ConnectOptions {
            token: admin_token.map(str::to_owned),
            ..ConnectOptions::default()
        };
        Client::connect(&self.server.url(), options)
            .await
            .expect("client connects")
    }

    /// A client without a token.
    pub async fn client(&self) -> Client {
        self.client_with_token(None).await
    }

    /// Stops the server and starts a new one on the same data dir (a new port).
    pub async fn restart(self) -> TestServer {
        let TestServer {
            server,
            config,
            data_dir,
        } = self;
        server.stop().await.expect("server stops cleanly");
        let server = interarec_server::start(config.clone()).await.expect("server restarts");
        TestServer {
            server,
            config,
            data_dir,
        }
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }
}
