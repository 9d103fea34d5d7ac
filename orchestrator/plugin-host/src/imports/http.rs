//! The `http` import: outbound requests to the tool's allowlisted hosts, bounded in size and by
//! the call's deadline, with redirects not followed.

use crate::bindings::HostError;
use crate::bindings::interarec::tool::http;
use crate::state::CallState;
use interarec_core::Capability;
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
        let mut builder = self.services.http.request(method, url.clone()).timeout(remaining);
        for header in &request.headers {
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

fn describe_error(url: &reqwest::Url, error: reqwest::Error) -> HostError {
    if error.is_timeout() {
        HostError::Failed(format!("request to {url} did not finish before the call's deadline"))
    } else if error.is_connect() {
        HostError::Failed(format!("could not connect to {url}: {error}"))
    } else {
        HostError::Failed(format!("request to {url} failed: {error}"))
    }
}
