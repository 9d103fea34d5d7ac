//! Rust client for the InteraRec gRPC API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), interarec_client::ClientError> {
//! use interarec_client::{Client, ConnectOptions};
//! let mut client = Client::connect("http://127.0.0.1:50051", ConnectOptions::default()).await?;
//! let tools = client.list_tools().await?;
//! let result = client.invoke_tool("echo", r#"{"message":"hi"}"#, "").await?;
//! println!("{} tools; echo said {}", tools.len(), result.result_json);
//! # Ok(()) }
//! ```

use interarec_proto::v1 as pb;

/// Every entry of a List RPC, page after page: `all_pages!(self, service.method, Request,
/// field)` asks with `page_size` [`LIST_PAGE_SIZE`] and follows `next_page_token` to the end.
macro_rules! all_pages {
    ($client:ident, $service:ident . $method:ident, $request:ident, $field:ident) => {{
        let mut entries = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = $client.request(pb::$request {
                page_size: LIST_PAGE_SIZE,
                page_token,
            });
            let page = $client.$service.$method(request).await?.into_inner();
            entries.extend(page.$field);
            if page.next_page_token.is_empty() {
                break Ok(entries);
            }
            page_token = page.next_page_token;
        }
    }};
}
use pb::catalog_service_client::CatalogServiceClient;
use pb::choice_model_service_client::ChoiceModelServiceClient;
use pb::session_service_client::SessionServiceClient;
use pb::tool_service_client::ToolServiceClient;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

pub use interarec_proto::convert;
pub use pb::{
    AttributeType, Capability, CatalogFormat, CatalogInfo, CatalogItem, ChoiceModelInfo, FitHeader, FitProgress, Grant,
    ImportCatalogResponse, ImportHeader, InvokeToolResponse, OptimizeRequest, OptimizeResponse, RegisterToolResponse,
    ToolInfo, ToolLimits, TransactionFormat,
};
pub use pb::{
    BrowseResponse, CreateSessionRequest, CreateSessionResponse, EventKind, Frame, FrameResult, Planner, SessionEvent,
    SessionInfo, SessionOptions, VisionProvider, WatchSessionResponse, browse_response,
};

/// The metadata key a session's credential is sent in.
pub const SESSION_CREDENTIAL: &str = "session-credential";

/// Size of the chunks an import is streamed in.
pub const IMPORT_CHUNK_BYTES: usize = 1024 * 1024;

/// Largest message the client sends or accepts (components are at most 50 MiB by default).
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// How to reach the server.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Sent as `authorization: Bearer …`: the admin token (registering and removing tools,
    /// catalogs and models; listing sessions; any session) or an API key (its scopes).
    pub token: Option<String>,
    /// PEM of the CA that signed the server's certificate, for `https://` URLs.
    pub tls_ca_pem: Option<Vec<u8>>,
    /// Per-request timeout (none by default).
    pub timeout: Option<Duration>,
}

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL could not be used.
    #[error("`{url}` is not a usable server URL: {detail}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why.
        detail: String,
    },
    /// The server could not be reached.
    #[error("cannot reach the InteraRec server at {url}: {detail}; is `interarec serve` running there?")]
    Connect {
        /// The URL given.
        url: String,
        /// The transport's complaint.
        detail: String,
    },
    /// The server answered with an error status.
    #[error("{}: {}", code_name(.0.code()), .0.message())]
    Status(#[from] tonic::Status),
    /// What was to be sent could not be read (the message names the file).
    #[error("{0}")]
    Input(String),
}

impl ClientError {
    /// The gRPC status code, when the server answered.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            ClientError::Status(status) => Some(status.code()),
            _ => None,
        }
    }

    /// Whether the server answered that the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(tonic::Code::NotFound)
    }

    /// Whether the server wanted credentials the call did not carry (or did not know them).
    pub fn is_unauthenticated(&self) -> bool {
        self.code() == Some(tonic::Code::Unauthenticated)
    }

    /// Whether the server answered that the thing to create exists already.
    pub fn is_already_exists(&self) -> bool {
        self.code() == Some(tonic::Code::AlreadyExists)
    }

    /// What kind of failure this is, for callers that branch without knowing gRPC codes (the
    /// command line's exit status).
    pub fn failure(&self) -> Failure {
        use tonic::Code;
        match self {
            ClientError::Connect { .. } | ClientError::InvalidUrl { .. } => Failure::Unreachable,
            ClientError::Input(_) => Failure::Other,
            ClientError::Status(status) => match status.code() {
                Code::NotFound => Failure::NotFound,
                Code::Unauthenticated
                | Code::PermissionDenied
                | Code::InvalidArgument
                | Code::FailedPrecondition
                | Code::AlreadyExists
                | Code::OutOfRange
                | Code::ResourceExhausted => Failure::Refused,
                Code::Unavailable => Failure::Unreachable,
                _ => Failure::Other,
            },
        }
    }
}

/// The kinds of failure a caller tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// What was named does not exist.
    NotFound,
    /// The server refused the request: credentials, permissions, bad input, a conflict, a limit.
    Refused,
    /// The server could not be reached, or is not serving.
    Unreachable,
    /// Anything else: the server's own fault, an input that could not be read.
    Other,
}

fn code_name(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::InvalidArgument => "invalid argument",
        tonic::Code::NotFound => "not found",
        tonic::Code::AlreadyExists => "already exists",
        tonic::Code::PermissionDenied => "permission denied",
        tonic::Code::Unauthenticated => "unauthenticated",
        tonic::Code::DeadlineExceeded => "deadline exceeded",
        tonic::Code::ResourceExhausted => "resource exhausted",
        tonic::Code::FailedPrecondition => "failed precondition",
        tonic::Code::Unavailable => "unavailable",
        tonic::Code::Internal => "internal",
        _ => "error",
    }
}

/// A connection to an InteraRec server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    tools: ToolServiceClient<Channel>,
    catalogs: CatalogServiceClient<Channel>,
    models: ChoiceModelServiceClient<Channel>,
    sessions: SessionServiceClient<Channel>,
    token: Option<String>,
    /// Session credentials this client holds, by session id: the ones its `create_*` calls
    /// received and the ones given to [`Client::remember_session_credential`].
    credentials: Arc<Mutex<HashMap<String, String>>>,
}

impl Client {
    /// Connects to `url` (`http://host:port` or `https://host:port`).
    pub async fn connect(url: &str, options: ConnectOptions) -> Result<Client, ClientError> {
        let invalid = |detail: String| ClientError::InvalidUrl {
            url: url.to_owned(),
            detail,
        };
        let mut endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| invalid(e.to_string()))?;
        if let Some(timeout) = options.timeout {
            endpoint = endpoint.timeout(timeout);
        }
        if url.starts_with("https://") {
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &options.tls_ca_pem {
                tls = tls.ca_certificate(Certificate::from_pem(ca));
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| invalid(e.to_string()))?;
        }
        let channel = endpoint.connect().await.map_err(|e| ClientError::Connect {
            url: url.to_owned(),
            detail: error_chain(&e),
        })?;
        let catalogs = CatalogServiceClient::new(channel.clone());
        let sessions = SessionServiceClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        // A model with its parameters (intercepts per item and segment) can be tens of MiB.
        let models = ChoiceModelServiceClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES);
        let tools = ToolServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Client {
            tools,
            catalogs,
            models,
            sessions,
            token: options.token,
            credentials: Arc::default(),
        })
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token
            && let Ok(value) = format!("Bearer {token}").parse()
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// A request on session `session_id`, carrying its credential when this client holds it.
    fn session_request<T>(&self, session_id: &str, message: T) -> tonic::Request<T> {
        let mut request = self.request(message);
        let credential = self.credentials.lock().expect("credentials").get(session_id).cloned();
        if let Some(credential) = credential
            && let Ok(value) = credential.parse()
        {
            request.metadata_mut().insert(SESSION_CREDENTIAL, value);
        }
        request
    }

    /// Uses `credential` for every later call on `session_id` (a credential CreateSession gave
    /// another process, say).
    pub fn remember_session_credential(&self, session_id: &str, credential: &str) {
        self.credentials
            .lock()
            .expect("credentials")
            .insert(session_id.to_owned(), credential.to_owned());
    }

    /// The credential this client holds for `session_id`, if any.
    pub fn session_credential(&self, session_id: &str) -> Option<String> {
        self.credentials.lock().expect("credentials").get(session_id).cloned()
    }

    /// Keeps a new session's credential for the calls that follow.
    fn created(&self, created: CreateSessionResponse) -> CreateSessionResponse {
        if !created.credential.is_empty() {
            self.remember_session_credential(&created.session_id, &created.credential);
        }
        created
    }

    /// Registers a component with grants (`kv`, `http:host`, ...) and limits.
    pub async fn register_tool(
        &mut self,
        component: Vec<u8>,
        grants: Vec<Grant>,
        limits: ToolLimits,
        replace: bool,
    ) -> Result<RegisterToolResponse, ClientError> {
        let request = self.request(pb::RegisterToolRequest {
            component,
            grants,
            limits: Some(limits),
            replace,
        });
        Ok(self.tools.register_tool(request).await?.into_inner())
    }

    /// Every registered tool (every page).
    pub async fn list_tools(&mut self) -> Result<Vec<ToolInfo>, ClientError> {
        all_pages!(self, tools.list_tools, ListToolsRequest, tools)
    }

    /// One tool.
    pub async fn describe_tool(&mut self, name: &str) -> Result<ToolInfo, ClientError> {
        let request = self.request(pb::DescribeToolRequest { name: name.to_owned() });
        present(self.tools.describe_tool(request).await?.into_inner().tool, "tool")
    }

    /// Invokes a tool with JSON arguments; `session_id` scopes its kv state ("" for none).
    pub async fn invoke_tool(
        &mut self,
        name: &str,
        arguments_json: &str,
        session_id: &str,
    ) -> Result<InvokeToolResponse, ClientError> {
        let request = self.session_request(
            session_id,
            pb::InvokeToolRequest {
                name: name.to_owned(),
                arguments_json: arguments_json.to_owned(),
                session_id: session_id.to_owned(),
            },
        );
        Ok(self.tools.invoke_tool(request).await?.into_inner())
    }

    /// Imports a catalog, streaming `data` in chunks of `chunk_bytes` after the header (whose
    /// `total_bytes` is set to the data's size).
    pub async fn import_catalog(
        &mut self,
        mut header: ImportHeader,
        data: &[u8],
        chunk_bytes: usize,
    ) -> Result<ImportCatalogResponse, ClientError> {
        use pb::import_catalog_request::Part;
        header.total_bytes = data.len() as u64;
        let mut messages = vec![pb::ImportCatalogRequest {
            part: Some(Part::Header(header)),
        }];
        messages.extend(data.chunks(chunk_bytes.max(1)).map(|chunk| pb::ImportCatalogRequest {
            part: Some(Part::Chunk(chunk.to_vec())),
        }));
        let request = self.request(tonic::codegen::tokio_stream::iter(messages));
        Ok(self.catalogs.import_catalog(request).await?.into_inner())
    }

    /// Imports a catalog from a file, streaming it in chunks of `chunk_bytes` as it is read (the
    /// file is never held whole); `sent` hears the bytes sent so far and the file's size after
    /// each chunk. The server parses once everything has arrived.
    pub async fn import_catalog_file(
        &mut self,
        header: ImportHeader,
        path: &std::path::Path,
        chunk_bytes: usize,
        mut sent: impl FnMut(u64, u64) + Send + 'static,
    ) -> Result<ImportCatalogResponse, ClientError> {
        use pb::import_catalog_request::Part;
        use std::io::Read;
        let mut file = std::fs::File::open(path)
            .map_err(|e| ClientError::Input(format!("cannot read {}: {e}", path.display())))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let (parts, receiver) = tokio::sync::mpsc::channel(4);
        // The server refuses an upload that ends short of (or past) the size announced here, so
        // a reader that fails or finds the file changed can simply stop sending.
        let (failed, failure) = tokio::sync::oneshot::channel::<String>();
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        let mut header = header;
        header.total_bytes = if regular { size } else { 0 };
        let path = path.to_owned();
        std::thread::spawn(move || {
            let header = pb::ImportCatalogRequest {
                part: Some(Part::Header(header)),
            };
            if parts.blocking_send(header).is_err() {
                return;
            }
            let mut total = 0u64;
            loop {
                let mut chunk = vec![0; chunk_bytes.max(1)];
                let read = match read_full(&mut file, &mut chunk) {
                    Ok(0) if regular && total != size => {
                        let message = format!(
                            "{} changed while it was sent ({size} bytes when opened, {total} read); import it again once it is written",
                            path.display()
                        );
                        let _ = failed.send(message);
                        return;
                    }
                    Ok(0) => break,
                    Ok(read) => read,
                    Err(e) => {
                        let _ = failed.send(format!("cannot read {}: {e}", path.display()));
                        return;
                    }
                };
                chunk.truncate(read);
                total += read as u64;
                let message = pb::ImportCatalogRequest {
                    part: Some(Part::Chunk(chunk)),
                };
                if parts.blocking_send(message).is_err() {
                    break; // the call ended (refused or cut off)
                }
                sent(total, size);
            }
        });
        fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
            let mut filled = 0;
            while filled < buffer.len() {
                match file.read(&mut buffer[filled..])? {
                    0 => break,
                    read => filled += read,
                }
            }
            Ok(filled)
        }
        let request = self.request(tokio_stream::wrappers::ReceiverStream::new(receiver));
        let call = self.catalogs.import_catalog(request);
        let mut failure = failure;
        // A reader that finishes drops `failed` unsent; that branch then stays disabled. The
        // reader's own failure is the one to report, even if the server's refusal came first.
        tokio::select! {
            answer = call => match failure.try_recv() {
                Ok(failure) => Err(ClientError::Input(failure)),
                Err(_) => Ok(answer?.into_inner()),
            },
            Ok(failure) = &mut failure => Err(ClientError::Input(failure)),
        }
    }

    /// Every catalog (every page).
    pub async fn list_catalogs(&mut self) -> Result<Vec<CatalogInfo>, ClientError> {
        all_pages!(self, catalogs.list_catalogs, ListCatalogsRequest, catalogs)
    }

    /// One page of a catalog's items (`page_token` empty for the first).
    pub async fn list_catalog_items(
        &mut self,
        catalog_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListCatalogItemsResponse, ClientError> {
        let request = self.request(pb::ListCatalogItemsRequest {
            catalog_id: catalog_id.to_owned(),
            page_size,
            page_token: page_token.to_owned(),
        });
        Ok(self.catalogs.list_catalog_items(request).await?.into_inner())
    }

    /// One catalog: item count, price range, attribute schema.
    pub async fn get_catalog(&mut self, catalog_id: &str) -> Result<CatalogInfo, ClientError> {
        let request = self.request(pb::GetCatalogRequest {
            catalog_id: catalog_id.to_owned(),
        });
        present(
            self.catalogs.get_catalog(request).await?.into_inner().catalog,
            "catalog",
        )
    }

    /// Removes a catalog; returns what was removed.
    pub async fn remove_catalog(&mut self, catalog_id: &str) -> Result<CatalogInfo, ClientError> {
        let request = self.request(pb::RemoveCatalogRequest {
            catalog_id: catalog_id.to_owned(),
        });
        present(
            self.catalogs.remove_catalog(request).await?.into_inner().catalog,
            "catalog",
        )
    }

    /// Uploads a transaction log in chunks, fits a choice model on the server and returns it;
    /// `on_progress` sees every progress event (received, read, segments, iterations).
    pub async fn fit_choice_model(
        &mut self,
        header: FitHeader,
        data: &[u8],
        chunk_bytes: usize,
        mut on_progress: impl FnMut(&FitProgress),
    ) -> Result<ChoiceModelInfo, ClientError> {
        use pb::fit_choice_model_request::Part;
        use pb::fit_choice_model_response::Event;
        let mut messages = vec![pb::FitChoiceModelRequest {
            part: Some(Part::Header(header)),
        }];
        messages.extend(data.chunks(chunk_bytes.max(1)).map(|chunk| pb::FitChoiceModelRequest {
            part: Some(Part::Chunk(chunk.to_vec())),
        }));
        let request = self.request(tonic::codegen::tokio_stream::iter(messages));
        let mut events = self.models.fit_choice_model(request).await?.into_inner();
        while let Some(event) = events.message().await? {
            match event.event {
                Some(Event::Progress(progress)) => on_progress(&progress),
                Some(Event::Model(model)) => return Ok(model),
                None => {}
            }
        }
        Err(ClientError::Status(tonic::Status::unavailable(
            "the server ended the fit without sending the model; see the server's log",
        )))
    }

    /// One choice model (with its parameters as JSON when `include_parameters`).
    pub async fn get_choice_model(
        &mut self,
        model_id: &str,
        include_parameters: bool,
    ) -> Result<ChoiceModelInfo, ClientError> {
        let request = self.request(pb::GetChoiceModelRequest {
            model_id: model_id.to_owned(),
            include_parameters,
        });
        present(self.models.get_choice_model(request).await?.into_inner().model, "model")
    }

    /// Every choice model (every page).
    pub async fn list_choice_models(&mut self) -> Result<Vec<ChoiceModelInfo>, ClientError> {
        all_pages!(self, models.list_choice_models, ListChoiceModelsRequest, models)
    }

    /// Removes a choice model; returns what was removed.
    pub async fn remove_choice_model(&mut self, model_id: &str) -> Result<ChoiceModelInfo, ClientError> {
        let request = self.request(pb::RemoveChoiceModelRequest {
            model_id: model_id.to_owned(),
        });
        present(
            self.models.remove_choice_model(request).await?.into_inner().model,
            "model",
        )
    }

    /// The revenue-maximizing assortment of a catalog under a model and constraints (JSON).
    pub async fn optimize(&mut self, request: OptimizeRequest) -> Result<OptimizeResponse, ClientError> {
        let request = self.request(request);
        Ok(self.models.optimize(request).await?.into_inner())
    }

    /// Creates a browsing session (a generated id when `session_id` is empty).
    pub async fn create_session(
        &mut self,
        session_id: &str,
        catalog_id: &str,
        options: SessionOptions,
    ) -> Result<CreateSessionResponse, ClientError> {
        self.create_recommending_session(session_id, catalog_id, "", 0, options)
            .await
    }

    /// The session's events from `from_sequence` (replayed), then live ones; the stream ends after
    /// `session-ended`.
    pub async fn watch_session(&mut self, session_id: &str, from_sequence: u64) -> Result<EventStream, ClientError> {
        let request = self.session_request(
            session_id,
            pb::WatchSessionRequest {
                session_id: session_id.to_owned(),
                from_sequence,
                ..pb::WatchSessionRequest::default()
            },
        );
        Ok(EventStream {
            inner: self.sessions.watch_session(request).await?.into_inner(),
            resume_token: String::new(),
        })
    }

    /// Recommends now (pending frames summarised at once, or the planner again on the latest
    /// summary); returns the events it produced.
    pub async fn recommend_now(&mut self, session_id: &str) -> Result<Vec<SessionEvent>, ClientError> {
        let request = self.session_request(
            session_id,
            pb::RecommendNowRequest {
                session_id: session_id.to_owned(),
            },
        );
        Ok(self.sessions.recommend_now(request).await?.into_inner().events)
    }

    /// Creates a session that recommends with a fitted choice model: once its batches are
    /// summarised, the orchestrator validates the shopper's constraints and picks `capacity`
    /// products (0: the default) with the `validate` and `assortment` tools.
    pub async fn create_recommending_session(
        &mut self,
        session_id: &str,
        catalog_id: &str,
        choice_model_id: &str,
        capacity: u32,
        options: SessionOptions,
    ) -> Result<CreateSessionResponse, ClientError> {
        let request = self.request(pb::CreateSessionRequest {
            session_id: session_id.to_owned(),
            catalog_id: catalog_id.to_owned(),
            options: Some(options),
            choice_model_id: choice_model_id.to_owned(),
            capacity,
            ..pb::CreateSessionRequest::default()
        });
        let info = self.sessions.create_session(request).await?.into_inner();
        Ok(self.created(info))
    }

    /// Creates a session with every field of the request (planner, vision provider, validating
    /// tool as well).
    pub async fn create_session_with(
        &mut self,
        request: CreateSessionRequest,
    ) -> Result<CreateSessionResponse, ClientError> {
        let request = self.request(request);
        let info = self.sessions.create_session(request).await?.into_inner();
        Ok(self.created(info))
    }

    /// Opens the `Browse` stream of a session: frames sent into the returned sender go out in
    /// order; the returned stream yields acknowledgements, rejections and session events. Drop
    /// the sender to finish sending (events keep coming until the session ends or the stream is
    /// dropped).
    pub async fn browse(
        &mut self,
        session_id: &str,
    ) -> Result<(tokio::sync::mpsc::Sender<Frame>, tonic::Streaming<BrowseResponse>), ClientError> {
        use tonic::codegen::tokio_stream::StreamExt;
        let (sender, receiver) = tokio::sync::mpsc::channel::<Frame>(16);
        let open = pb::BrowseRequest {
            part: Some(pb::browse_request::Part::OpenSessionId(session_id.to_owned())),
        };
        let frames = tokio_stream::wrappers::ReceiverStream::new(receiver).map(|frame| pb::BrowseRequest {
            part: Some(pb::browse_request::Part::Frame(frame)),
        });
        let outgoing = tonic::codegen::tokio_stream::iter([open]).chain(frames);
        let request = self.session_request(session_id, outgoing);
        let responses = self.sessions.browse(request).await?.into_inner();
        Ok((sender, responses))
    }

    /// Sends one frame outside a stream.
    pub async fn upload_frame(&mut self, session_id: &str, frame: Frame) -> Result<FrameResult, ClientError> {
        let request = self.session_request(
            session_id,
            pb::UploadFrameRequest {
                session_id: session_id.to_owned(),
                frame: Some(frame),
            },
        );
        present(
            self.sessions.upload_frame(request).await?.into_inner().result,
            "frame result",
        )
    }

    /// One session.
    pub async fn get_session(&mut self, session_id: &str) -> Result<SessionInfo, ClientError> {
        let request = self.session_request(
            session_id,
            pb::GetSessionRequest {
                session_id: session_id.to_owned(),
            },
        );
        present(
            self.sessions.get_session(request).await?.into_inner().session,
            "session",
        )
    }

    /// Every session (every page).
    pub async fn list_sessions(&mut self) -> Result<Vec<SessionInfo>, ClientError> {
        all_pages!(self, sessions.list_sessions, ListSessionsRequest, sessions)
    }

    /// Ends a session (its pending frames form a last batch).
    pub async fn end_session(&mut self, session_id: &str) -> Result<SessionInfo, ClientError> {
        let request = self.session_request(
            session_id,
            pb::EndSessionRequest {
                session_id: session_id.to_owned(),
            },
        );
        present(
            self.sessions.end_session(request).await?.into_inner().session,
            "session",
        )
    }

    /// Removes a tool; returns what was removed.
    pub async fn remove_tool(&mut self, name: &str) -> Result<ToolInfo, ClientError> {
        let request = self.request(pb::RemoveToolRequest { name: name.to_owned() });
        present(self.tools.remove_tool(request).await?.into_inner().tool, "tool")
    }
}

/// Page size the client asks for when it reads a whole list.
const LIST_PAGE_SIZE: i32 = 1_000;

/// The message a response wraps; a server that sends none is at fault.
fn present<T>(message: Option<T>, what: &str) -> Result<T, ClientError> {
    message.ok_or_else(|| ClientError::Status(tonic::Status::internal(format!("the server's answer held no {what}"))))
}

/// A session's events as `WatchSession` sends them, with the token that resumes after the last
/// one read.
pub struct EventStream {
    inner: tonic::Streaming<pb::WatchSessionResponse>,
    resume_token: String,
}

impl EventStream {
    /// The next event; `None` when the stream ended (after `session-ended`).
    pub async fn message(&mut self) -> Result<Option<SessionEvent>, tonic::Status> {
        while let Some(answer) = self.inner.message().await? {
            self.resume_token = answer.next_page_token;
            if let Some(event) = answer.event {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// Resumes a watch right after the last event read (send as `page_token`).
    pub fn resume_token(&self) -> &str {
        &self.resume_token
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
