//! Talking to language models: the chat interface with text and image parts and function calling
//! ([`chat`]), the OpenAI-compatible client behind it ([`openai`]: content shapes real servers
//! accept, retries for outages but never for refusals, usage, the key redacted), and
//! [`Provider`], the choice between the embedded offline engines and that endpoint. The vision
//! provider and the network planner both use it; it knows nothing of sessions, tools or gRPC.

pub mod chat;
pub mod openai;

/// Who answers a model-backed step (reading screenshots, planning a turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    /// Embedded, no network.
    #[default]
    Offline,
    /// The server's OpenAI-compatible endpoint.
    OpenAi,
}

impl Provider {
    /// `offline` or `openai`.
    pub fn parse(name: &str) -> Result<Provider, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "offline" => Ok(Provider::Offline),
            "openai" => Ok(Provider::OpenAi),
            other => Err(format!(
                "unknown provider `{other}`: choose `offline` (embedded, the default) or `openai` (the configured OpenAI-compatible endpoint)"
            )),
        }
    }

    /// Its name in configuration and session records.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Offline => "offline",
            Provider::OpenAi => "openai",
        }
    }
}
