//! Each gRPC call observed: a `tracing` span (`rpc`, with the method) around the handler and
//! every poll of its response, and the RPC metrics (calls by method and status code, and their
//! duration).
//!
//! A call's status is known only when its response ends: in the headers of an error answered at
//! once, in the trailers otherwise. A response dropped before it ended (the client went away)
//! counts as CANCELLED. A path that is none of the served methods (read from the services'
//! descriptor sets) is counted as `unknown`, so a client cannot add series by calling made-up
//! paths, even on a connection whose calls are all refused before routing.

use interarec_core::telemetry;
use prost::Message;
use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tonic::codegen::http;
use tracing::Instrument;

/// Wraps every service with [`Observed`].
#[derive(Debug, Clone, Default)]
pub struct ObserveLayer {
    /// `package.Service/Method` of every served method.
    methods: Arc<HashSet<String>>,
}

impl ObserveLayer {
    /// Counts the methods of the services in `descriptor_sets` (encoded `FileDescriptorSet`s,
    /// as the reflection service takes them) under their names, anything else as `unknown`.
    pub fn new(descriptor_sets: &[&[u8]]) -> Result<ObserveLayer, prost::DecodeError> {
        let mut methods = HashSet::new();
        for encoded in descriptor_sets {
            for file in prost_types::FileDescriptorSet::decode(*encoded)?.file {
                let package = file.package();
                for service in &file.service {
                    for method in &service.method {
                        methods.insert(format!("{package}.{}/{}", service.name(), method.name()));
                    }
                }
            }
        }
        Ok(ObserveLayer {
            methods: Arc::new(methods),
        })
    }

    /// The `method` label of a request path.
    fn method_label(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        if self.methods.contains(path) {
            path.to_owned()
        } else {
            "unknown".to_owned()
        }
    }
}

impl<S> tower_layer::Layer<S> for ObserveLayer {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Observed<S> {
        Observed {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ObserveLayer`] wraps.
#[derive(Debug, Clone)]
pub struct Observed<S> {
    inner: S,
    layer: ObserveLayer,
}

impl<S, B> tonic::codegen::Service<http::Request<B>> for Observed<S>
where
    S: tonic::codegen::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = tonic::codegen::BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = self.layer.method_label(request.uri().path());
        let span = tracing::info_span!("rpc", method = %method);
        let mut observation = Observation {
            method,
            started: Instant::now(),
            code: None,
        };
        let response = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(
            async move {
                let response = match response.await {
                    Ok(response) => response,
                    Err(error) => {
                        observation.code = Some(Code::UNKNOWN);
                        drop(observation);
                        return Err(error);
                    }
                };
                let (parts, body) = response.into_parts();
                observation.code = grpc_status(&parts.headers);
                let body = ObservedBody {
                    inner: body,
                    observation,
                    span: tracing::Span::current(),
                };
                Ok(http::Response::from_parts(parts, tonic::body::Body::new(body)))
            }
            .instrument(span),
        )
    }
}

/// A gRPC status code as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Code(i32);

impl Code {
    const CANCELLED: Code = Code(1);
    const UNKNOWN: Code = Code(2);

    /// The canonical name (`OK`, `INVALID_ARGUMENT`, …), the `code` label.
    fn name(self) -> &'static str {
        const NAMES: [&str; 17] = [
            "OK",
            "CANCELLED",
            "UNKNOWN",
            "INVALID_ARGUMENT",
            "DEADLINE_EXCEEDED",
            "NOT_FOUND",
            "ALREADY_EXISTS",
            "PERMISSION_DENIED",
            "RESOURCE_EXHAUSTED",
            "FAILED_PRECONDITION",
            "ABORTED",
            "OUT_OF_RANGE",
            "UNIMPLEMENTED",
            "INTERNAL",
            "UNAVAILABLE",
            "DATA_LOSS",
            "UNAUTHENTICATED",
        ];
        usize::try_from(self.0)
            .ok()
            .and_then(|index| NAMES.get(index))
            .copied()
            .unwrap_or("UNKNOWN")
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse().ok())
        .map(Code)
}

/// One call's method, start and status so far; recorded when dropped (the response ended, or
/// was abandoned).
struct Observation {
    method: String,
    started: Instant,
    code: Option<Code>,
}

impl Drop for Observation {
    fn drop(&mut self) {
        let code = self.code.unwrap_or(Code::CANCELLED);
        let method = std::mem::take(&mut self.method);
        metrics::counter!(telemetry::RPC_REQUESTS, "method" => method.clone(), "code" => code.name()).increment(1);
        metrics::histogram!(telemetry::RPC_DURATION, "method" => method).record(self.started.elapsed().as_secs_f64());
    }
}

/// The response body, watched for the trailers that carry the status.
struct ObservedBody {
    inner: tonic::body::Body,
    observation: Observation,
    span: tracing::Span,
}

impl http_body::Body for ObservedBody {
    type Data = tonic::codegen::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                    this.observation.code = Some(code);
                }
            }
            Poll::Ready(Some(Err(status))) => this.observation.code = Some(Code(status.code() as i32)),
            Poll::Ready(None) if this.observation.code.is_none() => {
                // Ended without a status: not a gRPC answer.
                this.observation.code = Some(Code::UNKNOWN);
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_methods_keep_their_names_and_anything_else_is_unknown() {
        let layer = ObserveLayer::new(&[
            interarec_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ])
        .expect("the descriptor sets decode");
        let cases = [
            (
                "/interarec.v1.SessionService/Browse",
                "interarec.v1.SessionService/Browse",
            ),
            (
                "/interarec.v1.ToolService/InvokeTool",
                "interarec.v1.ToolService/InvokeTool",
            ),
            ("/grpc.health.v1.Health/Check", "grpc.health.v1.Health/Check"),
            ("/interarec.v1.SessionService/Nothing", "unknown"),
            ("/made.up.Service/Browse", "unknown"),
            ("/", "unknown"),
        ];
        for (path, label) in cases {
            assert_eq!(layer.method_label(path), label, "{path}");
        }
    }

    #[test]
    fn status_codes_get_their_canonical_names() {
        let cases = [
            (0, "OK"),
            (3, "INVALID_ARGUMENT"),
            (8, "RESOURCE_EXHAUSTED"),
            (16, "UNAUTHENTICATED"),
            (17, "UNKNOWN"),
            (-1, "UNKNOWN"),
        ];
        for (number, name) in cases {
            assert_eq!(Code(number).name(), name, "{number}");
        }
        let mut headers = http::HeaderMap::new();
        assert_eq!(grpc_status(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("7"));
        assert_eq!(grpc_status(&headers), Some(Code(7)));
    }
}
