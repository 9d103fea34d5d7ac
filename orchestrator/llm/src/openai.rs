//! The OpenAI-compatible chat completions provider: OpenAI, vLLM, Ollama and llama.cpp servers
//! all speak `POST {base}/chat/completions` with text and `image_url` parts (images as base64
//! data URLs). Retries 429 and 5xx answers and connection failures with exponential backoff,
//! honouring `Retry-After` (seconds) up to the backoff cap; records token usage. The API key
//! comes from configuration or the environment and is never logged or shown (`Debug` redacts it).

use crate::chat::{
    ChatError, ChatFuture, ChatProvider, ChatRequest, ChatResponse, Part, RefusalCause, ToolCallRequest,
};
use base64::Engine as _;
use interarec_core::telemetry;
use serde_json::{Value, json};
use std::time::Duration;

/// Settings of an OpenAI-compatible endpoint.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL up to and including the API version, e.g. `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1` (Ollama).
    pub base_url: String,
    /// Model name, e.g. `gpt-4o-mini` or `qwen2.5vl`.
    pub model: String,
    /// Bearer token; local servers usually need none.
    pub api_key: Option<String>,
    /// Longest one HTTP attempt may take.
    pub timeout: Duration,
    /// Attempts after the first on 429, 5xx, timeouts and connection failures.
    pub max_retries: u32,
    /// Wait before the first retry; doubles each time.
    pub initial_backoff: Duration,
    /// Longest wait between attempts, `Retry-After` included.
    pub max_backoff: Duration,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

impl OpenAiConfig {
    /// Defaults around a base URL and model: 120 s per attempt, 3 retries from 500 ms up to
    /// 30 s, the key from `INTERAREC_OPENAI_API_KEY` or `OPENAI_API_KEY` when set.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> OpenAiConfig {
        let api_key = std::env::var("INTERAREC_OPENAI_API_KEY")
            .or_else(|_| std::env::var("OPENAI_API_KEY"))
            .ok()
            .filter(|k| !k.is_empty());
        OpenAiConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key,
            timeout: Duration::from_secs(120),
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The provider.
pub struct OpenAiProvider {
    config: OpenAiConfig,
    client: reqwest::Client,
}

impl OpenAiProvider {
    /// A provider for the endpoint.
    pub fn new(config: OpenAiConfig) -> Result<OpenAiProvider, ChatError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(ChatError::rejected(format!(
                "the model provider's base URL `{}` must start with http:// or https:// (e.g. https://api.openai.com/v1)",
                config.base_url
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("interarec/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChatError::Unavailable(format!("cannot build the HTTP client: {e}")))?;
        Ok(OpenAiProvider { config, client })
    }

    fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.config.base_url.trim_end_matches('/'))
    }

    /// One completion (with its retries), counted and timed for the metrics.
    async fn complete(&self, request: ChatRequest) -> Result<ChatResponse, ChatError> {
        let started = std::time::Instant::now();
        let result = self.complete_with_retries(request).await;
        metrics::histogram!(telemetry::MODEL_CALL_DURATION).record(started.elapsed().as_secs_f64());
        let outcome = match &result {
            Ok(response) => {
                metrics::counter!(telemetry::MODEL_TOKENS, "kind" => "prompt")
                    .increment(u64::from(response.prompt_tokens));
                metrics::counter!(telemetry::MODEL_TOKENS, "kind" => "completion")
                    .increment(u64::from(response.completion_tokens));
                "ok"
            }
            Err(error) => error.cause(),
        };
        metrics::counter!(telemetry::MODEL_CALLS, "outcome" => outcome).increment(1);
        result
    }

    async fn complete_with_retries(&self, request: ChatRequest) -> Result<ChatResponse, ChatError> {
        let body = request_body(&self.config.model, &request);
        let endpoint = self.endpoint();
        let mut attempt = 0u32;
        loop {
            let mut http = self.client.post(&endpoint).json(&body);
            if let Some(key) = &self.config.api_key {
                http = http.bearer_auth(key);
            }
            let outcome = http.send().await;
            let backoff = self
                .config
                .initial_backoff
                .saturating_mul(2u32.saturating_pow(attempt))
                .min(self.config.max_backoff);
            let (retry_after, failure) = match outcome {
                Err(e) => (
                    None,
                    format!("cannot reach {endpoint}: {}", describe_transport_error(&e)),
                ),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .map(Duration::from_secs_f64);
                    let text = match read_bounded(response).await {
                        Ok(text) => text,
                        Err(TooLarge) => {
                            return Err(ChatError::Rejected {
                                cause: RefusalCause::Other,
                                message: format!(
                                    "the model provider at {endpoint} answered with more than {MAX_RESPONSE_BYTES} bytes; lower max_tokens or check the endpoint"
                                ),
                            });
                        }
                    };
                    if status.is_success() {
                        return parse_response(&text);
                    }
                    let message = error_message(&text);
                    // A 5xx can still be the request's fault: llama-cpp-python answers a body its
                    // schema refuses with HTTP 500. Those are not retried.
                    if let Some(cause) = RefusalCause::classify(status.as_u16(), &text) {
                        tracing::warn!(%endpoint, %status, cause = cause.name(), "model provider refused the request: {message}");
                        return Err(ChatError::Rejected {
                            cause,
                            message: format!(
                                "the model provider at {endpoint} refused the request (HTTP {status}): {message}{}",
                                cause.hint()
                            ),
                        });
                    }
                    (retry_after, format!("HTTP {status}: {message}"))
                }
            };
            if attempt >= self.config.max_retries {
                return Err(ChatError::Unavailable(format!(
                    "the model provider at {endpoint} failed {} time(s), last with {failure}; try again later or raise the retries",
                    attempt + 1
                )));
            }
            let wait = retry_after.unwrap_or(backoff).min(self.config.max_backoff);
            tracing::warn!(%endpoint, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, "model provider: {failure}; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

impl ChatProvider for OpenAiProvider {
    fn describe(&self) -> String {
        format!("openai-compatible {} at {}", self.config.model, self.config.base_url)
    }

    fn chat(&self, request: ChatRequest) -> ChatFuture<'_> {
        Box::pin(self.complete(request))
    }
}

/// Largest answer read from the model endpoint: far above any chat completion, so only a
/// misbehaving endpoint reaches it.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// An answer over [`MAX_RESPONSE_BYTES`].
struct TooLarge;

/// The response body as text, read chunk by chunk up to [`MAX_RESPONSE_BYTES`] (a broken body
/// reads as what arrived).
async fn read_bounded(mut response: reqwest::Response) -> Result<String, TooLarge> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "no answer within the timeout".into()
    } else if error.is_connect() {
        "connection failed".into()
    } else {
        error.to_string()
    }
}

/// The wire request. Text-only content goes as one plain string in every role (several
/// servers, llama-cpp-python's among them, accept content parts only where images are), an
/// assistant message that only calls tools carries `""` (not `null`), and content parts are sent
/// only in messages that carry an image.
pub fn request_body(model: &str, request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|message| {
            let has_image = message.parts.iter().any(|p| matches!(p, Part::Image { .. }));
            let content = if has_image {
                message
                    .parts
                    .iter()
                    .map(|part| match part {
                        Part::Text(text) => json!({ "type": "text", "text": text }),
                        Part::Image { mime, bytes } => json!({
                            "type": "image_url",
                            "image_url": {
                                "url": format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
                            }
                        }),
                    })
                    .collect()
            } else {
                let texts: Vec<&str> = message
                    .parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text(text) => Some(text.as_str()),
                        Part::Image { .. } => None,
                    })
                    .collect();
                json!(texts.join("\n\n"))
            };
            let mut wire = json!({ "role": message.role, "content": content });
            if !message.tool_calls.is_empty() {
                wire["tool_calls"] = message
                    .tool_calls
                    .iter()
                    .map(|call| json!({ "id": call.id, "type": "function", "function": { "name": call.name, "arguments": call.arguments } }))
                    .collect();
            }
            if let Some(id) = &message.tool_call_id {
                wire["tool_call_id"] = json!(id);
            }
            wire
        })
        .collect();
    let mut body = json!({ "model": model, "messages": messages });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| json!({ "type": "function", "function": { "name": tool.name, "description": tool.description, "parameters": tool.parameters } }))
            .collect();
        body["tool_choice"] = json!("auto");
    }
    if let Some(max_tokens) = request.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if request.json_response {
        body["response_format"] = json!({ "type": "json_object" });
    }
    body
}

/// Reads a chat completion answer.
pub fn parse_response(text: &str) -> Result<ChatResponse, ChatError> {
    let malformed = |what: &str| {
        let mut shown: String = text.chars().take(200).collect();
        if text.chars().count() > 200 {
            shown.push('…');
        }
        ChatError::Malformed(format!(
            "the model provider's answer is not a chat completion ({what}); it began: {shown:?}"
        ))
    };
    let value: Value = serde_json::from_str(text).map_err(|e| malformed(&format!("invalid JSON: {e}")))?;
    let message = &value["choices"][0]["message"];
    let content = match &message["content"] {
        Value::String(s) => s.clone(),
        // Some servers answer with content parts.
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        Value::Null if message.is_object() => String::new(),
        _ => return Err(malformed("no choices[0].message.content")),
    };
    let mut tool_calls = Vec::new();
    if let Some(calls) = message["tool_calls"].as_array() {
        for (index, call) in calls.iter().enumerate() {
            let name = call["function"]["name"]
                .as_str()
                .ok_or_else(|| malformed(&format!("tool call {index} has no function.name")))?;
            // The wire format says a JSON string; some servers send the object itself.
            let arguments = match &call["function"]["arguments"] {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            tool_calls.push(ToolCallRequest {
                id: call["id"]
                    .as_str()
                    .map_or_else(|| format!("call-{index}"), str::to_owned),
                name: name.to_owned(),
                arguments,
            });
        }
    }
    let usage = |key: &str| value["usage"][key].as_u64().unwrap_or(0).min(u64::from(u32::MAX)) as u32;
    Ok(ChatResponse {
        text: content,
        model: value["model"].as_str().unwrap_or_default().to_owned(),
        prompt_tokens: usage("prompt_tokens"),
        completion_tokens: usage("completion_tokens"),
        tool_calls,
    })
}

/// The `error.message` of an OpenAI error body, or the start of whatever came back.
fn error_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .or_else(|| v["message"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            let start: String = text.chars().take(200).collect();
            if start.trim().is_empty() {
                "(empty body)".into()
            } else {
                start
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ChatMessage;

    #[test]
    fn the_request_carries_text_and_data_url_images() {
        let request = ChatRequest {
            messages: vec![ChatMessage {
                role: "user".into(),
                parts: vec![
                    Part::Text("summarise".into()),
                    Part::Image {
                        mime: "image/png".into(),
                        bytes: vec![1, 2, 3],
                    },
                ],
                ..ChatMessage::default()
            }],
            max_tokens: Some(500),
            temperature: Some(0.0),
            json_response: true,
            tools: Vec::new(),
        };
        let body = request_body("gpt-4o-mini", &request);
        assert_eq!(body["model"], "gpt-4o-mini");
        assert_eq!(
            body["messages"][0]["content"][0],
            json!({"type": "text", "text": "summarise"})
        );
        assert_eq!(
            body["messages"][0]["content"][1]["image_url"]["url"],
            "data:image/png;base64,AQID"
        );
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["max_tokens"], 500);
    }

    #[test]
    fn function_calling_goes_out_and_comes_back_in_the_wire_format() {
        use crate::chat::ToolDefinition;
        let call = ToolCallRequest {
            id: "call_1".into(),
            name: "get_user_recommendations".into(),
            arguments: r#"{"colour": ["green"]}"#.into(),
        };
        let request = ChatRequest {
            messages: vec![
                ChatMessage::text("user", "recommend"),
                ChatMessage {
                    role: "assistant".into(),
                    tool_calls: vec![call.clone()],
                    ..ChatMessage::default()
                },
                ChatMessage {
                    tool_call_id: Some("call_1".into()),
                    ..ChatMessage::text("tool", r#"{"ok": true}"#)
                },
            ],
            tools: vec![ToolDefinition {
                name: "get_user_recommendations".into(),
                description: "d".into(),
                parameters: json!({"type": "object"}),
            }],
            ..ChatRequest::default()
        };
        let body = request_body("m", &request);
        assert_eq!(body["tools"][0]["type"], "function");
        assert_eq!(body["tools"][0]["function"]["name"], "get_user_recommendations");
        assert_eq!(body["tools"][0]["function"]["parameters"], json!({"type": "object"}));
        // Text-only content is a plain string in every role; a calls-only assistant turn is "".
        assert_eq!(body["messages"][0]["content"], "recommend");
        assert_eq!(body["messages"][1]["content"], "");
        assert_eq!(
            body["messages"][1]["tool_calls"][0],
            json!({"id": "call_1", "type": "function", "function": {"name": "get_user_recommendations", "arguments": "{\"colour\": [\"green\"]}"}})
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "tool", "content": "{\"ok\": true}", "tool_call_id": "call_1"})
        );
        // Parallel calls; one server sends arguments as an object instead of a string.
        let answer = r#"{"model":"m","choices":[{"message":{"role":"assistant","content":null,"tool_calls":[
            {"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
            {"id":"b","type":"function","function":{"name":"g","arguments":{"y":2}}}]}}]}"#;
        let response = parse_response(answer).expect("parses");
        let calls: Vec<(&str, &str, &str)> = response
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(calls, [("a", "f", r#"{"x":1}"#), ("b", "g", r#"{"y":2}"#)]);
        assert!(matches!(
            parse_response(r#"{"choices":[{"message":{"content":null,"tool_calls":[{"id":"a","function":{}}]}}]}"#),
            Err(ChatError::Malformed(_))
        ));
    }

    #[test]
    fn answers_and_errors_are_read_from_the_wire_format() {
        let ok = r#"{"id":"x","model":"m1","choices":[{"index":0,"message":{"role":"assistant","content":"{\"a\":1}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#;
        let response = parse_response(ok).expect("parses");
        assert_eq!(
            (
                response.text.as_str(),
                response.model.as_str(),
                response.prompt_tokens,
                response.completion_tokens
            ),
            ("{\"a\":1}", "m1", 12, 3)
        );
        let cases = ["not json", r#"{"choices": []}"#, r#"{"object": "list"}"#];
        for case in cases {
            assert!(matches!(parse_response(case), Err(ChatError::Malformed(_))), "{case}");
        }
        assert_eq!(
            error_message(r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#),
            "Rate limit reached"
        );
        assert_eq!(error_message(""), "(empty body)");
        let config = OpenAiConfig {
            api_key: Some("sk-secret".into()),
            ..OpenAiConfig::new("http://x/v1", "m")
        };
        assert!(!format!("{config:?}").contains("sk-secret"));
    }
}
