//! [`Tools`]: how the session pipeline and the agent loop reach registered tools without knowing
//! the registry, the plugin host or gRPC. The server's registry implements it; tests may too.

use crate::ToolManifest;
use std::future::Future;
use std::pin::Pin;

/// A boxed tool call: the tool's JSON result, or the error a user sees.
pub type ToolFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Registered tools, by name.
pub trait Tools: Send + Sync {
    /// The manifest of the tool registered under `name`, if one is.
    fn manifest(&self, name: &str) -> Option<ToolManifest>;

    /// Invokes `name` with JSON arguments on behalf of `session_id` (whose frames, kv and models
    /// scope the call).
    fn invoke<'a>(&'a self, name: &'a str, arguments_json: String, session_id: &'a str) -> ToolFuture<'a>;

    /// Whether a tool is registered under `name`.
    fn has(&self, name: &str) -> bool {
        self.manifest(name).is_some()
    }
}

/// The pipeline's own tools, by the names they are registered under.
pub mod pipeline {
    /// De-duplicates a batch's frames (`plugins/capture`, grants `frames` and `kv`).
    pub const CAPTURE_TOOL: &str = "capture";
    /// Summarises a batch's kept frames (`plugins/summarize`, grants `frames` and `models`); when
    /// registered, every batch is summarised after it closes.
    pub const SUMMARIZE_TOOL: &str = "summarize";
    /// The default validating tool (`plugins/validate`, grant `catalog`).
    pub const VALIDATE_TOOL: &str = "validate";
    /// The optimizing tool (`plugins/assortment`, grant `catalog`).
    pub const ASSORTMENT_TOOL: &str = "assortment";
}
