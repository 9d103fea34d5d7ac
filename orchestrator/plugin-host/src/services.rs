//! What the host imports reach outside the sandbox. The plugin host knows nothing about sled:
//! the server hands it a [`KvBackend`] over its store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Storage behind the `kv` capability. Errors are user-facing sentences.
pub trait KvBackend: Send + Sync + 'static {
    /// The value of `key` in the (session, tool) scope.
    fn get(&self, session: &str, tool: &str, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Sets `key`.
    fn set(&self, session: &str, tool: &str, key: &str, value: &[u8]) -> Result<(), String>;
    /// Deletes `key`.
    fn delete(&self, session: &str, tool: &str, key: &str) -> Result<(), String>;
    /// Keys starting with `prefix`, in byte order.
    fn list(&self, session: &str, tool: &str, prefix: &str) -> Result<Vec<String>, String>;
    /// Makes every write so far durable; called once after a call that wrote, before its result
    /// is returned, so an acknowledged call never loses its state.
    fn flush(&self) -> Result<(), String>;
}

/// Read access behind the `catalog` capability: JSON documents, and columns over a catalog the
/// backend keeps decoded per version. `None` means the catalog is unknown; errors are
/// user-facing sentences.
pub trait CatalogBackend: Send + Sync + 'static {
    /// The catalog's record (item count, price range, attribute schema), or `None` if unknown.
    fn describe(&self, catalog_id: &str) -> Result<Option<String>, String>;
    /// Items `offset..offset + limit` as a JSON array (`limit` already capped by the host).
    fn items(&self, catalog_id: &str, offset: u32, limit: u32) -> Result<Option<String>, String>;
    /// A fitted choice model as JSON (`interarec_choice::model::ChoiceModel`), or `None`.
    fn choice_model(&self, model_id: &str) -> Result<Option<String>, String>;
    /// The rows a selection admits and the columns asked for.
    fn columns(&self, catalog_id: &str, request: &ColumnsRequest) -> Result<Option<Columns>, CatalogFailure>;
    /// How many items a selection admits.
    fn count(&self, catalog_id: &str, selection: &Constraints) -> Result<Option<usize>, CatalogFailure>;
    /// Items by row, with weights when asked.
    fn rows(
        &self,
        catalog_id: &str,
        rows: &[u32],
        weights: Option<&WeightsRequest>,
    ) -> Result<Option<Vec<RowItem>>, CatalogFailure>;
    /// The rows of item ids.
    fn positions(&self, catalog_id: &str, ids: &[String]) -> Result<Option<Vec<Option<u32>>>, CatalogFailure>;
}

pub use interarec_choice::access::RowItem;
pub use interarec_choice::columns::{Columns, ColumnsRequest, WeightsRequest};
pub use interarec_choice::recommend::Constraints;

/// Why a columnar catalog request failed: the tool asked for something wrong, or the host failed.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogFailure {
    /// The request is wrong (unknown model or attribute, bounds that cannot hold); the text says
    /// what to fix.
    Invalid(String),
    /// Reading or decoding failed.
    Failed(String),
}

/// Most rows one `catalog.rows` call, ids one `catalog.positions` call, and exclusions one
/// selection may name.
pub const MAX_LISTED_ROWS: usize = 10_000;

/// A frame as the `frames` capability describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameDescription {
    /// The frame's id within its session (its sequence, in decimal).
    pub id: String,
    /// `image/png` or `image/jpeg`.
    pub mime: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Capture time.
    pub captured_at_ms: u64,
    /// Page URL.
    pub url: String,
}

/// Read access behind the `frames` capability, always scoped to the calling session: a tool
/// sees its own session's frames and no other's. Errors are user-facing sentences.
pub trait FramesBackend: Send + Sync + 'static {
    /// The frame's description, or `None` if the session has no such frame.
    fn info(&self, session: &str, frame_id: &str) -> Result<Option<FrameDescription>, String>;
    /// The frame's bytes, or `None` if the session has no such frame.
    fn read(&self, session: &str, frame_id: &str) -> Result<Option<Vec<u8>>, String>;
}

/// One part of a `models.chat` message as the host receives it: images stay frame ids.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelPart {
    /// Text.
    Text(String),
    /// A frame of the calling session, by id.
    Frame(String),
}

/// One message of a `models.chat` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Its parts.
    pub parts: Vec<ModelPart>,
}

/// A `models.chat` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// The conversation.
    pub messages: Vec<ModelMessage>,
    /// Longest answer in tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Ask for a JSON object.
    pub json_response: bool,
}

/// A `models.chat` answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelAnswer {
    /// The answer's text.
    pub text: String,
    /// Model that answered.
    pub model: String,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Answer tokens.
    pub completion_tokens: u32,
}

/// Why a `models.chat` call failed: the guest asked for something wrong, or the provider failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelFailure {
    /// The request is wrong (unknown frame, over a limit); the text says what to fix.
    Invalid(String),
    /// The provider failed; the text says what happened.
    Failed(String),
}

/// A boxed future of a `models.chat` answer.
pub type ModelFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<ModelAnswer, ModelFailure>> + Send>>;

/// The provider behind the `models` capability, scoped to the calling session (frame ids are
/// that session's). The server resolves frames and picks the configured provider.
pub trait ModelsBackend: Send + Sync + 'static {
    /// Completes a conversation for `session`.
    fn chat(&self, session: &str, request: ModelRequest) -> ModelFuture;
}

/// Most images one `models.chat` request may reference (defined in core, where the session
/// pipeline reads it too).
pub use interarec_core::limits::MAX_IMAGES_PER_CHAT;
/// Most text one `models.chat` request may carry, in bytes.
pub const MAX_CHAT_TEXT_BYTES: usize = 256 * 1024;

/// Largest page of items one `catalog.items` call returns.
pub const MAX_CATALOG_PAGE: u32 = 1_000;

/// How every client of the `http` capability is built: no redirects (each hop would need the
/// allowlist), the host's user agent.
pub(crate) fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("interarec-tool-host/", env!("CARGO_PKG_VERSION")))
}

/// Everything host imports may use.
#[derive(Clone)]
pub struct Services {
    /// Backend of the `kv` capability.
    pub kv: Arc<dyn KvBackend>,
    /// Client for the `http` capability: no redirects (each hop would need the allowlist).
    pub http: reqwest::Client,
    /// Backend of the `catalog` capability (`None`: not available in this host).
    pub catalog: Option<Arc<dyn CatalogBackend>>,
    /// Backend of the `frames` capability (`None`: not available in this host).
    pub frames: Option<Arc<dyn FramesBackend>>,
    /// Backend of the `models` capability (`None`: not available in this host).
    pub models: Option<Arc<dyn ModelsBackend>>,
}

impl Services {
    /// Adds the backend of the `catalog` capability.
    pub fn with_catalog(mut self, catalog: Arc<dyn CatalogBackend>) -> Services {
        self.catalog = Some(catalog);
        self
    }

    /// Adds the backend of the `frames` capability.
    pub fn with_frames(mut self, frames: Arc<dyn FramesBackend>) -> Services {
        self.frames = Some(frames);
        self
    }

    /// Adds the backend of the `models` capability.
    pub fn with_models(mut self, models: Arc<dyn ModelsBackend>) -> Services {
        self.models = Some(models);
        self
    }

    /// Services over the given kv backend, with a fresh HTTP client.
    pub fn new(kv: Arc<dyn KvBackend>) -> anyhow::Result<Services> {
        let http = http_client()
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client of the http capability: {e}"))?;
        Ok(Services {
            kv,
            http,
            catalog: None,
            frames: None,
            models: None,
        })
    }
}

/// An in-memory [`KvBackend`] for benchmarks and tests that need no persistence.
#[derive(Default)]
pub struct MemoryKv {
    entries: Mutex<BTreeMap<(String, String, String), Vec<u8>>>,
}

impl KvBackend for MemoryKv {
    fn get(&self, session: &str, tool: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        let entries = self.entries.lock().map_err(|e| e.to_string())?;
        Ok(entries
            .get(&(session.to_owned(), tool.to_owned(), key.to_owned()))
            .cloned())
    }

    fn set(&self, session: &str, tool: &str, key: &str, value: &[u8]) -> Result<(), String> {
        let mut entries = self.entries.lock().map_err(|e| e.to_string())?;
        entries.insert((session.to_owned(), tool.to_owned(), key.to_owned()), value.to_vec());
        Ok(())
    }

    fn delete(&self, session: &str, tool: &str, key: &str) -> Result<(), String> {
        let mut entries = self.entries.lock().map_err(|e| e.to_string())?;
        entries.remove(&(session.to_owned(), tool.to_owned(), key.to_owned()));
        Ok(())
    }

    fn list(&self, session: &str, tool: &str, prefix: &str) -> Result<Vec<String>, String> {
        let entries = self.entries.lock().map_err(|e| e.to_string())?;
        Ok(entries
            .keys()
            .filter(|(s, t, k)| s == session && t == tool && k.starts_with(prefix))
            .map(|(_, _, k)| k.clone())
            .collect())
    }

    fn flush(&self) -> Result<(), String> {
        Ok(())
    }
}
