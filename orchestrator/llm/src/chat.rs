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
    /// The request itself is wrong (HTTP 400, 401, 403, 404, 422, a 5xx whose body names the
    /// request schema, or a bad request here): retrying the same request cannot help.
    #[error("{message}")]
    Rejected {
        /// What the provider's answer points at.
        cause: RefusalCause,
        /// What went wrong and what to do.
        message: String,
    },
    /// The provider stayed busy or failing after every retry.
    #[error("{0}")]
    Unavailable(String),
    /// The provider answered something that is not a chat completion.
    #[error("{0}")]
    Malformed(String),
}

impl ChatError {
    /// A refusal whose cause is not known.
    pub fn rejected(message: impl Into<String>) -> ChatError {
        ChatError::Rejected {
            cause: RefusalCause::Other,
            message: message.into(),
        }
    }

    /// The likely cause, in a word for events and logs.
    pub fn cause(&self) -> &'static str {
        match self {
            ChatError::Rejected { cause, .. } => cause.name(),
            ChatError::Unavailable(_) => "unavailable",
            ChatError::Malformed(_) => "malformed-answer",
        }
    }
}

/// What a refused request most likely got wrong, read from the provider's status and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCause {
    /// The server's request schema refused the messages' shape (e.g. content parts where it
    /// wants a string, or `null` content).
    MessageShape,
    /// The prompt and the answer do not fit the model's context window.
    ContextLength,
    /// The server does not serve the model named.
    UnknownModel,
    /// The API key is missing or wrong.
    Authentication,
    /// Anything else the server refused.
    Other,
}

impl RefusalCause {
    /// Its name in events.
    pub fn name(self) -> &'static str {
        match self {
            RefusalCause::MessageShape => "message-shape",
            RefusalCause::ContextLength => "context-length",
            RefusalCause::UnknownModel => "unknown-model",
            RefusalCause::Authentication => "authentication",
            RefusalCause::Other => "rejected",
        }
    }

    /// Reads an error answer. `None`: nothing says the request itself is wrong (a 429 or a 5xx
    /// without such words is worth retrying).
    pub fn classify(status: u16, body: &str) -> Option<RefusalCause> {
        let text = body.to_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| text.contains(w));
        if any(&[
            "context length",
            "context window",
            "context_length",
            "maximum context",
            "too many tokens",
            "exceeds the context",
            "prompt is too long",
        ]) || (text.contains("requested tokens") && text.contains("exceed"))
        {
            return Some(RefusalCause::ContextLength);
        }
        // Pydantic / FastAPI (llama-cpp-python, vLLM) and serde (llama.cpp's own server) name
        // the offending field of the request body.
        if any(&[
            "'loc'",
            "\"loc\"",
            "validation error",
            "input should be",
            "field required",
            "extra inputs are not permitted",
            "unknown variant",
            "invalid type: null",
            "missing field",
        ]) {
            return Some(RefusalCause::MessageShape);
        }
        if (400..500).contains(&status)
            && text.contains("model")
            && any(&["not found", "does not exist", "unknown model", "no such model"])
        {
            return Some(RefusalCause::UnknownModel);
        }
        match status {
            401 | 403 => Some(RefusalCause::Authentication),
            404 => Some(RefusalCause::UnknownModel),
            429 => None,
            400..=499 => Some(RefusalCause::Other),
            _ => None,
        }
    }

    /// What to do about it, appended to the message.
    pub fn hint(self) -> &'static str {
        match self {
            RefusalCause::MessageShape => {
                " (likely cause: the server's request schema refuses the message shape; please report it with the server's name and version)"
            }
            RefusalCause::ContextLength => {
                " (likely cause: the request does not fit the model's context window; set openai.context_tokens to the server's context size, or start the server with a larger one)"
            }
            RefusalCause::UnknownModel => {
                " (likely cause: the server does not serve this model; check the base URL, which should end in /v1, and openai.model)"
            }
            RefusalCause::Authentication => {
                " (likely cause: the API key; set INTERAREC_OPENAI_API_KEY or OPENAI_API_KEY)"
            }
            RefusalCause::Other => "",
        }
    }
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

#[cfg(test)]
mod tests {
    use super::RefusalCause::{self, *};

    #[test]
    fn refusals_are_read_from_the_status_and_the_body() {
        // (status, body as real servers word it, cause; None = worth retrying)
        let cases: &[(u16, &str, Option<RefusalCause>)] = &[
            (
                500,
                r#"{"error":{"message":"[{'type': 'string_type', 'loc': ('body', 'messages', 0, 'ChatCompletionRequestSystemMessage', 'content'), 'msg': 'Input should be a valid string'}]","type":"internal_server_error"}}"#,
                Some(MessageShape),
            ),
            (
                422,
                r#"{"detail":[{"loc":["body","messages",2,"content"],"msg":"field required"}]}"#,
                Some(MessageShape),
            ),
            (
                400,
                r#"{"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested 5371 tokens","code":"context_length_exceeded"}}"#,
                Some(ContextLength),
            ),
            (
                500,
                r#"{"error":{"message":"Requested tokens (5371) exceed context window of 4096"}}"#,
                Some(ContextLength),
            ),
            (
                404,
                r#"{"error":{"message":"model \"qwen9\" not found, try pulling it first"}}"#,
                Some(UnknownModel),
            ),
            (
                400,
                r#"{"error":{"message":"The model `gpt-9` does not exist"}}"#,
                Some(UnknownModel),
            ),
            (
                401,
                r#"{"error":{"message":"Incorrect API key provided"}}"#,
                Some(Authentication),
            ),
            (
                400,
                r#"{"error":{"message":"temperature must be at most 2"}}"#,
                Some(Other),
            ),
            (429, r#"{"error":{"message":"Rate limit reached"}}"#, None),
            (503, r#"{"error":{"message":"the model is overloaded"}}"#, None),
            (500, "", None),
        ];
        for (status, body, cause) in cases {
            assert_eq!(RefusalCause::classify(*status, body), *cause, "{status} {body}");
        }
    }
}
