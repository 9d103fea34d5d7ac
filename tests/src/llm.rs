//! The real model server `scripts/llm.sh with` starts for `just test-llm` and `just bench-llm`
//! (llama.cpp's, through llama-cpp-python): where it is, and a test server configured to plan
//! with it.

use interarec_agent::NetworkPlannerSettings;
use interarec_llm::openai::OpenAiConfig;
use interarec_server::config::ServerConfig;
use std::time::Duration;

/// The `cause` of a `planner-error` event when the server refused the request (as opposed to
/// being slow or down): `interarec_llm::chat::RefusalCause` names.
pub const REFUSALS: [&str; 5] = [
    "message-shape",
    "context-length",
    "unknown-model",
    "authentication",
    "rejected",
];

/// The server, from `INTERAREC_TEST_LLM_URL`, `_MODEL` and `_CONTEXT`.
#[derive(Debug, Clone)]
pub struct LlmServer {
    /// Base URL up to `/v1`.
    pub url: String,
    /// The model's name there.
    pub model: String,
    /// Its context window, in tokens.
    pub context_tokens: u32,
}

impl LlmServer {
    /// The server `scripts/llm.sh with` started; the error says how to start one.
    pub fn from_env() -> Result<LlmServer, String> {
        let url = std::env::var("INTERAREC_TEST_LLM_URL").map_err(|_| {
            "INTERAREC_TEST_LLM_URL is not set: this needs a llama.cpp server; `just test-llm` and `just bench-llm` start one and set it".to_owned()
        })?;
        Ok(LlmServer {
            url,
            model: std::env::var("INTERAREC_TEST_LLM_MODEL").unwrap_or_else(|_| "qwen2.5-coder-0.5b-instruct".into()),
            context_tokens: std::env::var("INTERAREC_TEST_LLM_CONTEXT")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(4096),
        })
    }

    /// The endpoint as the providers take it: one retry, five minutes an attempt (a small model
    /// on CPU reads a long prompt slowly).
    pub fn openai_config(&self) -> OpenAiConfig {
        let mut openai = OpenAiConfig::new(self.url.clone(), self.model.clone());
        openai.max_retries = 1;
        openai.timeout = Duration::from_secs(300);
        openai
    }

    /// Sets a test server up to plan with this endpoint (context budget, five-minute turns) and
    /// to read screenshots offline with Tesseract as they arrive.
    pub fn configure(&self, config: &mut ServerConfig) {
        crate::read_with_tesseract(config);
        config.openai = Some(self.openai_config());
        config.network_planner = NetworkPlannerSettings {
            context_tokens: Some(self.context_tokens),
            turn_timeout: Some(Duration::from_secs(300)),
        };
    }
}
