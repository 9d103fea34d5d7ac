//! A bound on open connections (`serving.max_connections`). Each accepted TCP connection takes a
//! slot until it closes; one that finds every slot taken is still served for a short while, but
//! only to answer each of its calls with RESOURCE_EXHAUSTED naming the key (a client sees why,
//! instead of a reset), and is then closed. Connections beyond a further headroom are dropped at
//! once, so refusing costs bounded memory too.

use super::status;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::codegen::http;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long a connection over the limit is kept to deliver its refusals.
pub const REFUSED_CONNECTION_LIFETIME: Duration = Duration::from_secs(2);
/// Connections over the limit held at once to be told so; more are dropped unanswered.
pub const MAX_REFUSED_AT_ONCE: usize = 64;

/// Accepted connections, each with a slot or marked as over the limit.
pub struct Admission {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    refusals: Arc<Semaphore>,
}

impl Admission {
    /// Admits at most `max_connections` connections from `listener` at once.
    pub fn new(listener: TcpListener, max_connections: usize) -> Admission {
        Admission {
            listener,
            slots: Arc::new(Semaphore::new(max_connections)),
            refusals: Arc::new(Semaphore::new(MAX_REFUSED_AT_ONCE)),
        }
    }
}

impl tokio_stream::Stream for Admission {
    type Item = io::Result<Counted>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let (stream, _) = match ready!(self.listener.poll_accept(cx)) {
                Ok(accepted) => accepted,
                // Too many open files and the like: the server goes on with the next one.
                Err(error) => return Poll::Ready(Some(Err(error))),
            };
            // Acknowledgements are small messages; Nagle's algorithm would hold each back.
            let _ = stream.set_nodelay(true);
            let info = stream.connect_info();
            if let Ok(slot) = self.slots.clone().try_acquire_owned() {
                return Poll::Ready(Some(Ok(Counted {
                    stream,
                    peer: Peer {
                        tcp: info,
                        admitted: true,
                    },
                    _slot: slot,
                    closes: None,
                })));
            }
            if let Ok(slot) = self.refusals.clone().try_acquire_owned() {
                return Poll::Ready(Some(Ok(Counted {
                    stream,
                    peer: Peer {
                        tcp: info,
                        admitted: false,
                    },
                    _slot: slot,
                    closes: Some(Box::pin(tokio::time::sleep(REFUSED_CONNECTION_LIFETIME))),
                })));
            }
            tracing::warn!("dropping a connection: every connection slot and refusal slot is taken");
        }
    }
}

/// What a connection tells its calls: its peer, and whether it holds a slot.
#[derive(Debug, Clone)]
pub struct Peer {
    tcp: TcpConnectInfo,
    admitted: bool,
}

/// A TCP connection holding its slot until dropped.
pub struct Counted {
    stream: TcpStream,
    peer: Peer,
    _slot: OwnedSemaphorePermit,
    /// For a connection over the limit: when it is closed.
    closes: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Counted {
    /// Whether a refused connection's time is up (then reads end and writes fail, which closes it).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.closes
            .as_mut()
            .is_some_and(|closes| closes.as_mut().poll(cx).is_ready())
    }
}

impl Connected for Counted {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Peer {
        self.peer.clone()
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.expired(cx) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.expired(cx) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Answers every call on a connection over the limit with RESOURCE_EXHAUSTED, and gives the
/// calls of admitted ones their peer address the usual way (`Request::remote_addr`).
#[derive(Debug, Clone, Copy)]
pub struct AdmissionLayer {
    /// The configured limit, for the refusal's message.
    pub max_connections: usize,
}

impl<S> tower_layer::Layer<S> for AdmissionLayer {
    type Service = Admitted<S>;

    fn layer(&self, inner: S) -> Admitted<S> {
        Admitted {
            inner,
            max_connections: self.max_connections,
        }
    }
}

/// The service [`AdmissionLayer`] wraps.
#[derive(Debug, Clone)]
pub struct Admitted<S> {
    inner: S,
    max_connections: usize,
}

impl<S, B> tonic::codegen::Service<http::Request<B>> for Admitted<S>
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

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let extensions = request.extensions();
        let peer = extensions.get::<Peer>().cloned().or_else(|| {
            extensions
                .get::<tonic::transport::server::TlsConnectInfo<Peer>>()
                .map(|tls| tls.get_ref().clone())
        });
        if let Some(peer) = peer {
            if !peer.admitted {
                let refusal = status::exhausted(format!(
                    "the server already holds its {} connections (serving.max_connections); close idle connections, send several calls over one, or raise the limit",
                    self.max_connections
                ));
                return Box::pin(std::future::ready(Ok(refusal.into_http())));
            }
            request.extensions_mut().insert(peer.tcp);
        }
        Box::pin(self.inner.call(request))
    }
}
