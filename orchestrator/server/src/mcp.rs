//! MCP over streamable HTTP on an address of its own (`mcp.listen`, `--mcp-listen`), at `/mcp`.
//!
//! The MCP sessions are `interarec-mcp` bridges that call this server's gRPC API over loopback
//! with each request's bearer token, so tokens, scopes and session credentials are checked where
//! they always are. Because those calls come from loopback, a token-less caller would pass the
//! gRPC API's "anonymous from loopback" rule: so beyond loopback every MCP request must carry a
//! token this server knows (the admin token or an API key), and on loopback rmcp's `Host` check
//! keeps web pages (DNS rebinding) out.

use crate::access::Access;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The path MCP clients connect to.
pub const PATH: &str = "/mcp";

/// Where the bridges reach the gRPC API: this machine's side of `grpc_addr` (an unspecified
/// address is dialled on loopback); with TLS by the name `localhost`, which the certificate
/// must carry.
pub fn grpc_url(grpc_addr: SocketAddr, tls: bool) -> String {
    let ip = match grpc_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    match tls {
        true => format!("https://localhost:{}", grpc_addr.port()),
        false => format!("http://{}", SocketAddr::new(ip, grpc_addr.port())),
    }
}

/// Serves MCP on `listener` until `cancel` is cancelled.
pub async fn serve(
    listener: TcpListener,
    grpc_url: String,
    tls_ca_pem: Option<Vec<u8>>,
    access: Access,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let beyond_loopback = !listener.local_addr()?.ip().is_loopback();
    let service = interarec_mcp::http::service(interarec_mcp::http::HttpOptions {
        grpc_url,
        tls_ca_pem,
        any_host: beyond_loopback,
        cancel: cancel.clone(),
    });
    let mut router = axum::Router::new().route_service(PATH, service);
    if beyond_loopback {
        router = router.layer(axum::middleware::from_fn_with_state(access, known_token));
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await
        .map_err(|e| anyhow::anyhow!("the MCP endpoint failed: {e}"))
}

/// Beyond loopback: only requests with the admin token or an API key go on.
async fn known_token(State(access): State<Access>, request: Request, next: Next) -> Response {
    let refusal = match crate::side::bearer(request.headers()).map(|token| access.identify(Some(token))) {
        None => "MCP beyond loopback needs a bearer token: send `Authorization: Bearer <admin token or API key>` (the tools then have that token's rights)".to_owned(),
        Some(Err(denied)) => denied.to_string(),
        Some(Ok(_)) => return next.run(request).await,
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        format!("{refusal}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridges_dial_the_grpc_api_on_this_machine() {
        let cases = [
            ("127.0.0.1:50051", false, "http://127.0.0.1:50051"),
            ("0.0.0.0:50051", false, "http://127.0.0.1:50051"),
            ("[::]:7", false, "http://[::1]:7"),
            ("10.1.2.3:9", false, "http://10.1.2.3:9"),
            ("0.0.0.0:443", true, "https://localhost:443"),
        ];
        for (addr, tls, expected) in cases {
            assert_eq!(grpc_url(addr.parse().unwrap(), tls), expected, "{addr}");
        }
    }
}
