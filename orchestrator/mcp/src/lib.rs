//! InteraRec over the Model Context Protocol (MCP), for agents that speak it: a [`Bridge`] is an
//! MCP server (the official Rust SDK, `rmcp`) in front of an InteraRec server reached through
//! `interarec-client`, so every check (tokens, scopes, session credentials) is the gRPC API's.
//!
//! - `tools/list` and `tools/call`: every registered tool under its own name, description and
//!   argument schema, invoked with `InvokeTool`; beside them the session tools
//!   ([`SESSION_CREATE`], [`SESSION_RECOMMEND_NOW`], [`SESSION_LATEST`]), whose underscores no
//!   registered tool name can have.
//! - `resources/list` and `resources/read`: catalogs (`interarec://catalogs/ID`) and fitted
//!   choice models (`interarec://models/ID`), as JSON.
//!
//! A tool that fails answers a result with `isError` and the server's message (the status code's
//! name first), so the agent reads what to change; an unknown tool or resource is a protocol
//! error. `interarec mcp` serves a bridge over stdio; the server serves one per MCP session over
//! streamable HTTP ([`http`]), calling its own gRPC API with each caller's bearer token.

use interarec_client::{Client, ClientError, SessionEvent, SessionOptions, convert};
use interarec_core::event::EventKind;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use std::sync::Arc;

pub mod http;

/// Creates a recommending session.
pub const SESSION_CREATE: &str = "session_create";
/// Recommends now from a session's pending frames or latest summary.
pub const SESSION_RECOMMEND_NOW: &str = "session_recommend_now";
/// A session's state with its latest summary and recommendation.
pub const SESSION_LATEST: &str = "session_latest";

/// Events `session_latest` reads back from the end of a session's log.
pub const LATEST_EVENTS_READ: u64 = 256;

const CATALOG_URI: &str = "interarec://catalogs/";
const MODEL_URI: &str = "interarec://models/";

/// The MCP server over one connection to an InteraRec server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Bridge {
    upstream: Upstream,
}

/// How a bridge reaches the InteraRec server.
#[derive(Debug, Clone)]
enum Upstream {
    /// One client, with the token it was given (stdio: one MCP client per process).
    Fixed(Box<Client>),
    /// A client per bearer token the MCP caller sends with each HTTP request.
    PerCaller(Arc<http::Callers>),
}

impl Bridge {
    /// A bridge calling the server through `client` (with its token, if any).
    pub fn new(client: Client) -> Bridge {
        Bridge {
            upstream: Upstream::Fixed(Box::new(client)),
        }
    }

    /// The client this request is answered with: the fixed one, or the one for the bearer
    /// token of the HTTP request it came in (kept for the MCP session, with the session
    /// credentials it collects).
    async fn client(&self, context: &RequestContext<RoleServer>) -> Result<Client, ErrorData> {
        match &self.upstream {
            Upstream::Fixed(client) => Ok(Client::clone(client)),
            Upstream::PerCaller(callers) => {
                let bearer = context
                    .extensions
                    .get::<::http::request::Parts>()
                    .and_then(|parts| parts.headers.get(::http::header::AUTHORIZATION))
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.strip_prefix("Bearer "))
                    .map(str::to_owned);
                callers.client(bearer).await.map_err(unavailable)
            }
        }
    }

    /// Serves MCP over stdin and stdout until the client closes them.
    pub async fn serve_stdio(self) -> Result<(), McpError> {
        use rmcp::ServiceExt;
        let running = self
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| McpError::Start(e.to_string()))?;
        running.waiting().await.map_err(|e| McpError::Stopped(e.to_string()))?;
        Ok(())
    }

    async fn registry_tools(mut client: Client) -> Result<Vec<Tool>, ErrorData> {
        let tools = client.list_tools().await.map_err(unavailable)?;
        Ok(tools
            .into_iter()
            .map(|tool| {
                let schema = match serde_json::from_str::<Value>(&tool.arguments_schema_json) {
                    Ok(Value::Object(schema)) => schema,
                    _ => object(json!({ "type": "object" })),
                };
                Tool::new(tool.name, tool.description, Arc::new(schema))
            })
            .collect())
    }

    async fn invoke(mut client: Client, name: &str, arguments: JsonObject) -> CallToolResult {
        let arguments = Value::Object(arguments).to_string();
        match client.invoke_tool(name, &arguments, "").await {
            Ok(response) => {
                let result = serde_json::from_str::<Value>(&response.result_json).unwrap_or(Value::Null);
                answer(result)
            }
            Err(error) => failed(&error),
        }
    }

    async fn session_tool(mut client: Client, name: &str, arguments: &JsonObject) -> Result<CallToolResult, ErrorData> {
        let text = |key: &str| {
            arguments
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        // A credential given back by the agent serves where this bridge did not create the
        // session (stateless HTTP, another MCP session, a session created over gRPC).
        let credential = text("credential");
        if !credential.is_empty() {
            client.remember_session_credential(&text("session_id"), &credential);
        }
        let outcome = match name {
            SESSION_CREATE => {
                let capacity = arguments.get("capacity").and_then(Value::as_u64).unwrap_or(0);
                let capacity =
                    u32::try_from(capacity).map_err(|_| ErrorData::invalid_params("capacity is too large", None))?;
                client
                    .create_recommending_session(
                        &text("session_id"),
                        &text("catalog_id"),
                        &text("choice_model_id"),
                        capacity,
                        SessionOptions::default(),
                    )
                    .await
                    .map(|info| {
                        json!({
                            "session_id": info.session_id,
                            "credential": info.credential,
                            "catalog_id": info.catalog_id,
                            "choice_model_id": info.choice_model_id,
                            "capacity": info.capacity,
                            "note": "stream screenshots into the session over gRPC (Browse or UploadFrame) with this credential; this MCP session keeps it for the session tools (pass it as `credential` from elsewhere)",
                        })
                    })
            }
            SESSION_RECOMMEND_NOW => {
                let session = text("session_id");
                client.recommend_now(&session).await.map(|events| {
                    let mut latest = Latest::default();
                    latest.read(&events);
                    json!({
                        "session_id": session,
                        "events": events.iter().map(|event| event.kind_name()).collect::<Vec<_>>(),
                        "recommendation": latest.recommendation,
                        "why_not": latest.why_not,
                    })
                })
            }
            SESSION_LATEST => {
                let session = text("session_id");
                latest(&mut client, &session).await
            }
            _ => return Err(unknown_tool(name)),
        };
        Ok(match outcome {
            Ok(value) => answer(value),
            Err(error) => failed(&error),
        })
    }

    async fn resources(mut client: Client) -> Result<Vec<Resource>, ErrorData> {
        let catalogs = client.list_catalogs().await.map_err(unavailable)?;
        let models = client.list_choice_models().await.map_err(unavailable)?;
        let catalogs = catalogs.into_iter().map(|catalog| {
            Resource::new(
                format!("{CATALOG_URI}{}", catalog.catalog_id),
                catalog.catalog_id.clone(),
            )
            .with_description(format!(
                "catalog `{}`: {} items, prices {} to {}",
                catalog.name, catalog.item_count, catalog.price_min, catalog.price_max
            ))
            .with_mime_type("application/json")
        });
        let models = models.into_iter().map(|model| {
            Resource::new(format!("{MODEL_URI}{}", model.model_id), model.model_id.clone())
                .with_description(format!(
                    "choice model of catalog `{}` ({} segments)",
                    model.catalog_id,
                    model.segments.len()
                ))
                .with_mime_type("application/json")
        });
        Ok(catalogs.chain(models).collect())
    }

    async fn read(mut client: Client, uri: &str) -> Result<Value, ErrorData> {
        let read = if let Some(id) = uri.strip_prefix(CATALOG_URI) {
            // The same JSON as `interarec catalog show --json`.
            client
                .get_catalog(id)
                .await
                .map(|catalog| convert::json::catalog(&catalog))
        } else if let Some(id) = uri.strip_prefix(MODEL_URI) {
            client
                .get_choice_model(id, false)
                .await
                .map(|model| convert::json::model(&model))
        } else {
            return Err(ErrorData::resource_not_found(
                format!("`{uri}` is not an InteraRec resource; resources are {CATALOG_URI}ID and {MODEL_URI}ID"),
                None,
            ));
        };
        read.map_err(|error| {
            if error.is_not_found() {
                ErrorData::resource_not_found(error.to_string(), None)
            } else {
                unavailable(error)
            }
        })
    }
}

/// Why serving MCP stopped.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The MCP session could not start (the client did not initialize it).
    #[error("the MCP session did not start: {0}")]
    Start(String),
    /// The MCP session ended with an error.
    #[error("the MCP session failed: {0}")]
    Stopped(String),
}

impl ServerHandler for Bridge {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("interarec", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "InteraRec turns what a shopper sees into what they are offered. Call the registered tools directly; create a recommending session with session_create, stream screenshots into it over gRPC, and read its latest summary and recommendation with session_latest (or session_recommend_now). Catalogs and choice models are resources.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut tools = Bridge::registry_tools(self.client(&context).await?).await?;
        tools.extend(session_tools());
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let mut client = self.client(&context).await?;
        let arguments = request.arguments.unwrap_or_default();
        let name = request.name.as_ref();
        if name.contains('_') {
            return Ok(Bridge::session_tool(client, name, &arguments).await?.into());
        }
        // An unknown tool is a protocol error, as MCP asks; the registry says so by NOT_FOUND.
        match client.describe_tool(name).await {
            Ok(_) => Ok(Bridge::invoke(client, name, arguments).await.into()),
            Err(error) if error.is_not_found() => Err(unknown_tool(name)),
            Err(error) => Ok(failed(&error).into()),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let client = self.client(&context).await?;
        Ok(ListResourcesResult::with_all_items(Bridge::resources(client).await?))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let value = Bridge::read(self.client(&context).await?, &request.uri).await?;
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, request.uri).with_mime_type("application/json"),
        ])
        .into())
    }
}

/// The session tools' descriptions and argument schemas.
fn session_tools() -> Vec<Tool> {
    let session_id = json!({ "type": "string", "description": "the session's id" });
    let credential = json!({
        "type": "string",
        "description": "the session's credential (session_create's answer); needed when this MCP connection did not create the session",
    });
    let only_session = object(json!({
        "type": "object",
        "properties": { "session_id": session_id, "credential": credential },
        "required": ["session_id"],
        "additionalProperties": false,
    }));
    vec![
        Tool::new(
            SESSION_CREATE,
            "Create a recommending session on a catalog with a fitted choice model. Returns its id and credential; screenshots are streamed into it over gRPC, and each batch ends in a recommendation.",
            Arc::new(object(json!({
                "type": "object",
                "properties": {
                    "catalog_id": { "type": "string", "description": "the catalog to recommend from" },
                    "choice_model_id": { "type": "string", "description": "a choice model fitted on that catalog" },
                    "capacity": { "type": "integer", "minimum": 0, "maximum": 100, "description": "products per recommendation (0: the server's default)" },
                    "session_id": { "type": "string", "description": "an id to use (default: an unguessable one)" },
                },
                "required": ["catalog_id", "choice_model_id"],
                "additionalProperties": false,
            }))),
        ),
        Tool::new(
            SESSION_RECOMMEND_NOW,
            "Recommend now: the session's pending screenshots are summarised at once (or the planner runs again on the latest summary). Returns the recommendation, or why there is none.",
            Arc::new(only_session.clone()),
        ),
        Tool::new(
            SESSION_LATEST,
            "A session's state with its latest summary (the shopper's preferences in eight categories) and latest recommendation (products, prices, purchase probabilities, expected revenue, the answer text).",
            Arc::new(only_session),
        ),
    ]
}

/// What the end of a session's log says.
#[derive(Debug, Default)]
struct Latest {
    summary: Option<Value>,
    recommendation: Option<Value>,
    why_not: Option<Value>,
}

impl Latest {
    fn read(&mut self, events: &[SessionEvent]) {
        for event in events {
            let payload = || event.payload_value();
            match event.kind_name().parse::<EventKind>() {
                Ok(EventKind::Summary) => self.summary = Some(payload()),
                Ok(EventKind::Recommendation) => {
                    self.recommendation = Some(payload());
                    self.why_not = None;
                }
                Ok(EventKind::PlannerSkipped | EventKind::PlannerStopped) => self.why_not = Some(payload()),
                _ => {}
            }
        }
    }
}

/// The session's record and what the last [`LATEST_EVENTS_READ`] events of its log say.
async fn latest(client: &mut Client, session: &str) -> Result<Value, ClientError> {
    let info = client.get_session(session).await?;
    let from = info.events.saturating_sub(LATEST_EVENTS_READ - 1).max(1);
    let mut events = Vec::new();
    if info.events > 0 {
        let mut stream = client.watch_session(session, from).await?;
        // The watch replays the log, then tails it: stop at the last event the record counted.
        while let Some(event) = stream.message().await? {
            let last = event.event_sequence >= info.events;
            events.push(event);
            if last {
                break;
            }
        }
    }
    let mut latest = Latest::default();
    latest.read(&events);
    Ok(json!({
        "session_id": info.session_id,
        "catalog_id": info.catalog_id,
        "choice_model_id": info.choice_model_id,
        "ended": info.ended,
        "frames_accepted": info.frames_accepted,
        "batches": info.batches,
        "events": info.events,
        "latest_summary": latest.summary,
        "latest_recommendation": latest.recommendation,
        "why_not": latest.why_not,
    }))
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// A successful result: the JSON as text (every client shows it) and as structured content.
fn answer(value: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
    if value.is_object() {
        result.structured_content = Some(value);
    }
    result
}

/// A failed call the agent should read: the server's message, its status code's name first.
fn failed(error: &ClientError) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(error.to_string())])
}

fn unknown_tool(name: &str) -> ErrorData {
    ErrorData::invalid_params(
        format!(
            "no tool named `{name}`; tools/list shows the registered tools and {SESSION_CREATE}, {SESSION_RECOMMEND_NOW}, {SESSION_LATEST}"
        ),
        None,
    )
}

fn unavailable(error: ClientError) -> ErrorData {
    ErrorData::internal_error(error.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sequence: u64, kind: EventKind, payload: Value) -> SessionEvent {
        SessionEvent {
            session_id: "s".into(),
            event_sequence: sequence,
            at: None,
            kind: interarec_client::EventKind::from_name(kind.as_str()).unwrap() as i32,
            payload: Some(convert::to_struct(&payload)),
        }
    }

    #[test]
    fn the_latest_summary_and_recommendation_win_and_a_later_skip_says_why_not() {
        let cases = [
            (
                vec![
                    event(1, EventKind::Summary, json!({"n": 1})),
                    event(2, EventKind::Recommendation, json!({"r": 1})),
                    event(3, EventKind::Summary, json!({"n": 2})),
                    event(4, EventKind::Recommendation, json!({"r": 2})),
                ],
                Some(json!({"n": 2})),
                Some(json!({"r": 2})),
                None,
            ),
            (
                vec![
                    event(1, EventKind::Recommendation, json!({"r": 1})),
                    event(2, EventKind::PlannerSkipped, json!({"reason": "no model"})),
                ],
                None,
                Some(json!({"r": 1})),
                Some(json!({"reason": "no model"})),
            ),
            (Vec::new(), None, None, None),
        ];
        for (events, summary, recommendation, why_not) in cases {
            let mut latest = Latest::default();
            latest.read(&events);
            assert_eq!(latest.summary, summary);
            assert_eq!(latest.recommendation, recommendation);
            assert_eq!(latest.why_not, why_not);
        }
    }

    #[test]
    fn session_tools_take_names_no_registered_tool_can_have() {
        for tool in session_tools() {
            assert!(tool.name.contains('_'), "{}", tool.name);
            assert_eq!(tool.input_schema["type"], "object");
        }
    }
}
