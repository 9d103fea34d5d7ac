//! The `http` import: outbound requests to the tool's allowlisted hosts, bounded in size and by
//! the call's deadline, with redirects not followed. A host name is resolved here, before the
//! request: if it resolves to a loopback, private, link-local (cloud metadata), shared or
//! unspecified address, the request is refused unless the grant names that address itself, and
//! the connection goes to the addresses checked (no second lookup a rebinding DNS could
//! answer differently). The guest's own `Host` header is not sent.

use crate::bindings::HostError;
use crate::bindings::interarec::tool::http;
use crate::state::CallState;
use interarec_core::Capability;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// Largest request body a tool may send.
pub const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest response body a tool receives; a longer body fails the request.
pub const MAX_RESPONSE_BODY_BYTES: usize = 16 * 1024 * 1024;

impl http::Host for CallState {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, HostError> {
        self.require(Capability::Http)?;
        let url = reqwest::Url::parse(&request.url)
            .map_err(|error| HostError::Invalid(format!("`{}` is not a URL: {error}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HostError::Invalid(format!(
                "only http and https URLs are allowed, not `{}`",
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        if !self.identity.grants.allows_http(&host, port) {
            return Err(HostError::Denied(format!(
                "host `{host}:{port}` is not on the http allowlist of tool `{}`@{}; grant it with `--grant http:{host}`",
                self.identity.tool, self.identity.version
            )));
        }
        let method = match request.method.to_ascii_uppercase().as_str() {
            "GET" => reqwest::Method::GET,
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "DELETE" => reqwest::Method::DELETE,
            "PATCH" => reqwest::Method::PATCH,
            "HEAD" => reqwest::Method::HEAD,
            other => {
                return Err(HostError::Invalid(format!(
                    "HTTP method `{other}` is not allowed; use GET, POST, PUT, DELETE, PATCH or HEAD"
                )));
            }
        };
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(HostError::Failed("the call's deadline has passed".into()));
        }
        let client = match host.parse::<IpAddr>() {
            // An address in the URL is on the allowlist as written: the grant names it.
            Ok(_) => self.services.http.clone(),
            Err(_) => {
                let addresses = tokio::time::timeout(remaining, resolve(&host, port, &self.identity.grants))
                    .await
                    .map_err(|_| {
                        HostError::Failed(format!("resolving `{host}` did not finish before the call's deadline"))
                    })??;
                pinned_client(&host, &addresses)?
            }
        };
        let mut builder = client.request(method, url.clone()).timeout(remaining);
        // The allowlist was checked against the URL's host; a guest's `Host` header would send
        // the request to another virtual host behind the same address.
        for header in request.headers.iter().filter(|h| !h.name.eq_ignore_ascii_case("host")) {
            builder = builder.header(header.name.as_str(), header.value.as_str());
        }
        if let Some(body) = request.body {
            if body.len() > MAX_REQUEST_BODY_BYTES {
                return Err(HostError::Invalid(format!(
                    "request body of {} bytes is over the {MAX_REQUEST_BODY_BYTES}-byte limit",
                    body.len()
                )));
            }
            builder = builder.body(body);
        }
        let mut response = builder.send().await.map_err(|error| describe_error(&url, error))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| http::Header {
                name: name.as_str().to_owned(),
                value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| describe_error(&url, error))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BODY_BYTES {
                return Err(HostError::Failed(format!(
                    "response from {url} is over the {MAX_RESPONSE_BODY_BYTES}-byte limit"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(http::Response { status, headers, body })
    }
}

/// The addresses `host` resolves to, each one public or named by the grant.
async fn resolve(host: &str, port: u16, grants: &interarec_core::Grants) -> Result<Vec<SocketAddr>, HostError> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|error| HostError::Failed(format!("cannot resolve `{host}`: {error}")))?
        .collect();
    if addresses.is_empty() {
        return Err(HostError::Failed(format!("`{host}` resolves to no address")));
    }
    for address in &addresses {
        let ip = address.ip();
        if let Some(kind) = internal_kind(ip)
            && !grants.allows_http(&ip.to_string(), port)
        {
            return Err(HostError::Denied(format!(
                "`{host}` resolves to {ip}, a {kind} address; tools reach such addresses only by a grant that names the address (`--grant http:{ip}:{port}`)"
            )));
        }
    }
    Ok(addresses)
}

/// What kind of non-public address `ip` is, if it is one.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    let v4 = match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4,
            None => {
                let first = v6.segments()[0];
                return if v6.is_loopback() {
                    Some("loopback")
                } else if v6.is_unspecified() {
                    Some("unspecified")
                } else if first & 0xfe00 == 0xfc00 {
                    Some("private (unique local)")
                } else if first & 0xffc0 == 0xfe80 {
                    Some("link-local")
                } else if v6.is_multicast() {
                    Some("multicast")
                } else {
                    None
                };
            }
        },
    };
    let [a, b, ..] = v4.octets();
    if v4.is_loopback() {
        Some("loopback")
    } else if v4.is_private() {
        Some("private")
    } else if v4.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if v4.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if v4.is_broadcast() || v4.is_multicast() {
        Some("broadcast or multicast")
    } else {
        None
    }
}

/// A client that connects `host` only to the addresses checked.
fn pinned_client(host: &str, addresses: &[SocketAddr]) -> Result<reqwest::Client, HostError> {
    crate::services::http_client()
        .resolve_to_addrs(host, addresses)
        .build()
        .map_err(|error| HostError::Failed(format!("cannot build the HTTP client for `{host}`: {error}")))
}

fn describe_error(url: &reqwest::Url, error: reqwest::Error) -> HostError {
    if error.is_timeout() {
        HostError::Failed(format!("request to {url} did not finish before the call's deadline"))
    } else if error.is_connect() {
        HostError::Failed(format!("could not connect to {url}: {error}"))
    } else {
        HostError::Failed(format!("request to {url} failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_named_by_kind() {
        let cases = [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local (cloud metadata)")),
            ("0.0.0.0", Some("unspecified")),
            ("100.64.0.1", Some("shared (carrier-grade NAT)")),
            ("::1", Some("loopback")),
            ("fd00:ec2::254", Some("private (unique local)")),
            ("fe80::1", Some("link-local")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("93.184.216.34", None),
            ("2606:2800:220:1::1", None),
            ("100.128.0.1", None),
        ];
        for (address, kind) in cases {
            assert_eq!(internal_kind(address.parse().unwrap()), kind, "{address}");
        }
    }
}
