//! What the addresses beside the gRPC API (metrics, MCP over HTTP, the console) share: binding
//! an optional address with a message naming the flag to change, and reading a bearer token.

use axum::http::{HeaderMap, header};
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Binds `address`, when one is configured (port 0 picks a free port); `what` and `flag` name
/// the endpoint and the flag that moves it in the error.
pub async fn bind(address: Option<SocketAddr>, what: &str, flag: &str) -> anyhow::Result<Option<TcpListener>> {
    let Some(address) = address else { return Ok(None) };
    let listener = TcpListener::bind(address).await.map_err(|e| {
        anyhow::anyhow!("cannot serve {what} on {address} ({e}); is the port taken? choose another with {flag}")
    })?;
    Ok(Some(listener))
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
}
