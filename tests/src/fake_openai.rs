//! A local server that speaks the OpenAI chat completions wire format, for testing the network
//! providers: it records every request (headers and JSON body) and answers from a script of
//! replies (status, body, `Retry-After`, delay), then with a default completion.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body, sent as is.
    pub body: String,
    /// `Retry-After` header value.
    pub retry_after: Option<String>,
    /// Wait before answering.
    pub delay: Duration,
}

impl Reply {
    /// A successful completion whose message content is `content`.
    pub fn completion(content: &str, prompt_tokens: u32, completion_tokens: u32) -> Reply {
        Reply::json(
            200,
            json!({
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "fake-vision-1",
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": content },
                    "finish_reason": "stop"
                }],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens
                }
            }),
        )
    }

    /// A completion that asks for function calls `(id, name, arguments as written)`, in
    /// parallel, with no text.
    pub fn tool_calls(calls: &[(&str, &str, &str)], prompt_tokens: u32, completion_tokens: u32) -> Reply {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, arguments)| {
                json!({ "id": id, "type": "function", "function": { "name": name, "arguments": arguments } })
            })
            .collect();
        Reply::json(
            200,
            json!({
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "fake-planner-1",
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": null, "tool_calls": calls },
                    "finish_reason": "tool_calls"
                }],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens
                }
            }),
        )
    }

    /// An OpenAI error body (`{"error": {"message", "type", "code"}}`).
    pub fn error(status: u16, message: &str) -> Reply {
        Reply::json(
            status,
            json!({ "error": { "message": message, "type": "invalid_request_error", "code": null } }),
        )
    }

    /// Any JSON body.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::raw(status, &body.to_string())
    }

    /// Any text body.
    pub fn raw(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.to_owned(),
            retry_after: None,
            delay: Duration::ZERO,
        }
    }

    /// The same reply with a `Retry-After` header.
    pub fn retry_after(mut self, value: &str) -> Reply {
        self.retry_after = Some(value.to_owned());
        self
    }

    /// The same reply after a delay.
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The JSON body.
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
    default_reply: Mutex<Option<Reply>>,
}

/// The running fake server (stops when dropped).
pub struct FakeOpenAi {
    /// Base URL to configure, ending in `/v1`.
    pub base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOpenAi {
    /// Starts on 127.0.0.1:0 with a script of replies; after the script, `default_reply`.
    pub async fn start(script: Vec<Reply>, default_reply: Reply) -> FakeOpenAi {
        let shared = Arc::new(Shared::default());
        *shared.script.lock().unwrap() = script.into();
        *shared.default_reply.lock().unwrap() = Some(default_reply);
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeOpenAi {
            base_url: format!("http://{address}/v1"),
            shared,
            task,
        }
    }

    /// Requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}

async fn answer(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.received.lock().unwrap().push(Received {
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    });
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| shared.default_reply.lock().unwrap().clone())
        .expect("a default reply");
    tokio::time::sleep(reply.delay).await;
    let status = StatusCode::from_u16(reply.status).expect("a valid status");
    let mut response = (status, [("content-type", "application/json")], reply.body).into_response();
    if let Some(retry_after) = reply.retry_after {
        response
            .headers_mut()
            .insert("retry-after", retry_after.parse().expect("a header value"));
    }
    response
}
