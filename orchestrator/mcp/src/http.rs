//! MCP over streamable HTTP: a tower service (rmcp's `StreamableHttpService`) that the server
//! mounts on its own address. Each MCP session gets its own [`Bridge`], which calls the gRPC API
//! with the bearer token of the HTTP request it answers, so a caller has exactly the rights its
//! token gives over gRPC. Who may reach the service at all is the mounting server's decision.

use crate::{Bridge, Upstream};
use interarec_client::{Client, ClientError, ConnectOptions};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Bearer tokens one MCP session keeps clients for; a session sending more distinct tokens starts
/// over (its session credentials held for the dropped tokens are forgotten).
const MAX_TOKENS_PER_SESSION: usize = 4;

/// Largest JSON-RPC request body accepted (tool arguments travel in it).
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// How the service reaches the gRPC API and whom it answers.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The gRPC API, as the bridge dials it (`http://127.0.0.1:PORT`).
    pub grpc_url: String,
    /// The CA to trust for an `https://` gRPC URL.
    pub tls_ca_pem: Option<Vec<u8>>,
    /// Accept any `Host` header. Off, only loopback names are accepted (rmcp's guard against
    /// DNS rebinding), which is right for a loopback address and wrong beyond it, where the
    /// server asks every request for a token instead.
    pub any_host: bool,
    /// Cancelled when the server stops: open MCP sessions end.
    pub cancel: CancellationToken,
}

/// The streamable HTTP MCP service.
pub fn service(options: HttpOptions) -> StreamableHttpService<Bridge, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = options.cancel.clone();
    config.max_request_body_bytes = MAX_REQUEST_BYTES;
    config.sse_keep_alive = Some(Duration::from_secs(15));
    if options.any_host {
        config = config.disable_allowed_hosts();
    }
    let (grpc_url, tls_ca_pem) = (options.grpc_url, options.tls_ca_pem);
    StreamableHttpService::new(
        move || {
            Ok(Bridge {
                upstream: Upstream::PerCaller(Arc::new(Callers::new(grpc_url.clone(), tls_ca_pem.clone()))),
            })
        },
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// One MCP session's clients of the gRPC API, by the bearer token they send.
#[derive(Debug)]
pub(crate) struct Callers {
    grpc_url: String,
    tls_ca_pem: Option<Vec<u8>>,
    clients: tokio::sync::Mutex<HashMap<Option<String>, Client>>,
}

impl Callers {
    fn new(grpc_url: String, tls_ca_pem: Option<Vec<u8>>) -> Callers {
        Callers {
            grpc_url,
            tls_ca_pem,
            clients: tokio::sync::Mutex::default(),
        }
    }

    /// The client sending `bearer` (connected on first use).
    pub(crate) async fn client(&self, bearer: Option<String>) -> Result<Client, ClientError> {
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(&bearer) {
            return Ok(client.clone());
        }
        let options = ConnectOptions {
            token: bearer.clone(),
            tls_ca_pem: self.tls_ca_pem.clone(),
            timeout: None,
        };
        let client = Client::connect(&self.grpc_url, options).await?;
        if clients.len() >= MAX_TOKENS_PER_SESSION {
            clients.clear();
        }
        clients.insert(bearer, client.clone());
        Ok(client)
    }
}
