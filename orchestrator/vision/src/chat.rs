//! Chat completion with text and image parts, the one interface behind which both model
//! providers sit: the OpenAI-compatible network provider ([`crate::openai`]) and, in the server,
//! the offline vision engine. Function calling (tool definitions in, tool calls out, results
//! back as `tool` messages) is part of it: the orchestrator's network planner speaks it.

use std::future::Future;
use std::pin::Pin;

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text.
    Text(String),
    /// An encoded image (`image/png` or `image/jpeg`).
    Image {
        /// Its media type.
        mime: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

/// One message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Its parts, in order.
    pub parts: Vec<Part>,
    /// The calls an `assistant` message asked for.
    pub tool_calls: Vec<ToolCallRequest>,
    /// The call a `tool` message answers.
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A message of one text part.
    pub fn text(role: &str, text: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.to_owned(),
            parts: vec![Part::Text(text.into())],
            ..ChatMessage::default()
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    /// Its name (letters, digits, `_` and `-`).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments.
    pub parameters: serde_json::Value,
}

/// A call the model asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallRequest {
    /// The provider's id of the call (results refer to it).
    pub id: String,
    /// The function's name.
    pub name: String,
    /// Its arguments exactly as the model wrote them (JSON text, possibly malformed).
    pub arguments: String,
}

/// A completion request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Longest answer, in tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Ask for a JSON object answer.
    pub json_response: bool,
    /// Functions the model may call (none: a plain completion).
    pub tools: Vec<ToolDefinition>,
}

/// A completion.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatResponse {
    /// The answer's text.
    pub text: String,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// Tokens of the prompt.
    pub prompt_tokens: u32,
    /// Tokens of the answer.
    pub completion_tokens: u32,
    /// Calls the model asked for instead of (or besides) answering.
    pub tool_calls: Vec<ToolCallRequest>,
}

/// Why a completion failed. Every message says what went wrong and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChatError {
    /// The request itself is wrong (HTTP 400, 401, 403, 404, 422, or a bad request here).
    #[error("{0}")]
    Rejected(String),
    /// The provider stayed busy or failing after every retry.
    #[error("{0}")]
    Unavailable(String),
    /// The provider answered something that is not a chat completion.
    #[error("{0}")]
    Malformed(String),
}

/// A boxed future of a completion.
pub type ChatFuture<'a> = Pin<Box<dyn Future<Output = Result<ChatResponse, ChatError>> + Send + 'a>>;

/// A chat completion provider.
pub trait ChatProvider: Send + Sync {
    /// What configuration calls it, for logs and events (never a secret).
    fn describe(&self) -> String;
    /// Completes a conversation.
    fn chat(&self, request: ChatRequest) -> ChatFuture<'_>;
}
