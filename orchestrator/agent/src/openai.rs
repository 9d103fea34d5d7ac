//! The network planner: chat completions with function calling at an OpenAI-compatible
//! endpoint. Each step sends the instruction, the session context, the tool definitions and the
//! turn so far (the model's calls and each call's result as a `tool` message); the model answers
//! with tool calls (several in one step allowed) or with its final text for the shopper.
//!
//! Arguments come back as text the model wrote. Strict JSON is used as is; otherwise the lenient
//! reader repairs what models typically get wrong (code fences, prose around the object, smart
//! quotes, trailing commas) and the repairs are recorded; what cannot be read is not run, and the
//! call's result tells the model what was wrong so it can ask again.
//!
//! Context budget: with `openai.context_tokens` set, each request is estimated before it is sent
//! and trimmed until it fits, in this order: long enums of the tool schemas shortened to the
//! values the summary and the current constraints use (plus a few), older steps of the turn left
//! out, the summary's prose (reviews, comparisons, promotions) left out, enums cut to the
//! summary's values, tool descriptions shortened. A context-length refusal trims to the size
//! the server names (or to 60% of the estimate) and is retried once. What was trimmed is listed
//! in the step's event.

use crate::{Entry, Planner, PlannerError, PlannerFuture, PlannerReply, PlannerStep, ToolCall, TurnContext};
use interarec_llm::chat::{
    ChatError, ChatMessage, ChatProvider, ChatRequest, RefusalCause, ToolCallRequest, ToolDefinition,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Longest answer of one planner step, in tokens.
const MAX_TOKENS: u32 = 1024;
/// Enum values kept per attribute when long enums are shortened.
const SHORT_ENUM: usize = 12;
/// Bytes of request JSON per token in the estimate: JSON with many short words and quotes
/// tokenizes densely (about 3.5 bytes a token for Qwen and Llama tokenizers); 3 keeps a margin.
const BYTES_PER_TOKEN: usize = 3;
/// Tokens a chat template adds around each message and each tool.
const TEMPLATE_TOKENS: usize = 24;

/// How a network planner talks to its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NetworkPlannerSettings {
    /// The model's context window in tokens (`openai.context_tokens`); `None`: not trimmed
    /// before sending (a context-length refusal still trims and retries once).
    pub context_tokens: Option<u32>,
    /// Wall time of a turn planned at this endpoint (`openai.turn_timeout_ms`); `None`: the
    /// agent's turn timeout.
    pub turn_timeout: Option<Duration>,
}

/// The planner over a chat provider that speaks function calling.
#[derive(Clone)]
pub struct OpenAiPlanner {
    provider: Arc<dyn ChatProvider>,
    settings: NetworkPlannerSettings,
}

/// How hard a request is trimmed (each level includes the ones before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Trim {
    None,
    ShortEnums,
    OlderSteps,
    SummaryProse,
    SummaryEnums,
    Descriptions,
}

impl Trim {
    const ALL: [Trim; 6] = [
        Trim::None,
        Trim::ShortEnums,
        Trim::OlderSteps,
        Trim::SummaryProse,
        Trim::SummaryEnums,
        Trim::Descriptions,
    ];

    fn note(self) -> &'static str {
        match self {
            Trim::None => "",
            Trim::ShortEnums => "long enums shortened to the values in use",
            Trim::OlderSteps => "older steps of the turn left out",
            Trim::SummaryProse => "the summary's reviews, comparisons and promotions left out",
            Trim::SummaryEnums => "enums cut to the summary's values",
            Trim::Descriptions => "tool descriptions shortened",
        }
    }
}

impl OpenAiPlanner {
    /// A planner over the provider.
    pub fn new(provider: Arc<dyn ChatProvider>) -> OpenAiPlanner {
        OpenAiPlanner {
            provider,
            settings: NetworkPlannerSettings::default(),
        }
    }

    /// The same planner with a context budget and turn time.
    pub fn with_settings(mut self, settings: NetworkPlannerSettings) -> OpenAiPlanner {
        self.settings = settings;
        self
    }

    /// Its settings.
    pub fn settings(&self) -> NetworkPlannerSettings {
        self.settings
    }

    /// The conversation for the next step, untrimmed.
    pub fn request(context: &TurnContext, transcript: &[Entry]) -> ChatRequest {
        build(context, transcript, Trim::None)
    }

    /// The conversation for the next step, trimmed to fit `budget` tokens of prompt (`None`:
    /// untrimmed), with what was trimmed. When even the hardest trim does not fit, that is sent
    /// and the server has the last word.
    pub fn fitted_request(
        context: &TurnContext,
        transcript: &[Entry],
        budget: Option<usize>,
    ) -> (ChatRequest, Vec<String>) {
        let Some(budget) = budget else {
            return (build(context, transcript, Trim::None), Vec::new());
        };
        let mut chosen = build(context, transcript, Trim::None);
        let mut level = Trim::None;
        for trim in Trim::ALL {
            chosen = build(context, transcript, trim);
            level = trim;
            if estimate_tokens(&chosen) <= budget {
                break;
            }
        }
        let notes = Trim::ALL
            .iter()
            .filter(|t| **t != Trim::None && **t <= level)
            .map(|t| t.note().to_owned())
            .collect();
        (chosen, notes)
    }
}

/// Tokens a request's prompt will take, estimated from its wire JSON (see [`BYTES_PER_TOKEN`]).
pub fn estimate_tokens(request: &ChatRequest) -> usize {
    let body = interarec_llm::openai::request_body("m", request);
    let bytes = body["messages"].to_string().len() + body.get("tools").map_or(0, |t| t.to_string().len());
    bytes / BYTES_PER_TOKEN + TEMPLATE_TOKENS * (request.messages.len() + request.tools.len())
}

/// The values the summary and the session's constraints use, per argument (kept in enums).
fn values_in_use(context: &TurnContext) -> Vec<String> {
    let input = &context.input;
    let stated = interarec_constraints::from_summary(&input.summary, &input.catalog, input.capacity);
    let mut used = Vec::new();
    for source in [Some(&stated), input.current.as_ref()].into_iter().flatten() {
        if let Some(fields) = source.as_object() {
            for value in fields.values() {
                match value {
                    Value::String(s) => used.push(s.to_lowercase()),
                    Value::Array(items) => used.extend(items.iter().filter_map(|v| v.as_str()).map(str::to_lowercase)),
                    _ => {}
                }
            }
        }
    }
    used
}

/// A tool schema with each enum longer than `keep_first` cut to the values in use plus the first
/// `keep_first` (0: only the values in use; an enum left empty is dropped, so any string goes).
fn shorten_enums(schema: &Value, used: &[String], keep_first: usize) -> Value {
    match schema {
        Value::Object(fields) => {
            let mut out = serde_json::Map::new();
            for (key, value) in fields {
                if key == "enum"
                    && let Some(values) = value.as_array()
                    && values.len() > keep_first.max(1)
                {
                    let kept: Vec<Value> = values
                        .iter()
                        .enumerate()
                        .filter(|(i, v)| {
                            *i < keep_first || v.as_str().is_some_and(|s| used.contains(&s.to_lowercase()))
                        })
                        .map(|(_, v)| v.clone())
                        .collect();
                    if !kept.is_empty() {
                        out.insert(key.clone(), Value::Array(kept));
                    }
                    continue;
                }
                out.insert(key.clone(), shorten_enums(value, used, keep_first));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| shorten_enums(v, used, keep_first)).collect()),
        other => other.clone(),
    }
}

/// Shortens every `description` of a schema to its first sentence.
fn shorten_descriptions(schema: &Value) -> Value {
    match schema {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("description", Value::String(text)) => {
                        let first = text.split(['.', '(']).next().unwrap_or(text).trim();
                        (key.clone(), json!(first))
                    }
                    _ => (key.clone(), shorten_descriptions(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shorten_descriptions).collect()),
        other => other.clone(),
    }
}

fn build(context: &TurnContext, transcript: &[Entry], trim: Trim) -> ChatRequest {
    let input = &context.input;
    let mut summary = serde_json::to_value(&input.summary).unwrap_or(Value::Null);
    // The reader's evidence is for merging and audit; the facts themselves are the prompt.
    if let Some(fields) = summary.as_object_mut() {
        fields.remove("evidence");
    }
    if trim >= Trim::SummaryProse
        && let Some(fields) = summary.as_object_mut()
    {
        for prose in ["user_reviews", "comparisons", "promotions"] {
            fields.remove(prose);
        }
    }
    let session = json!({
        "batch": input.batch,
        "summary": summary,
        "current_constraints": input.current,
        "catalog": input.catalog.id,
        "catalog_price_range": [input.catalog.price_min, input.catalog.price_max],
        "items_to_show": input.capacity,
    });
    let mut messages = vec![
        ChatMessage::text("system", context.instruction.clone()),
        ChatMessage::text("user", format!("The shopper's session so far, as JSON:\n{session}")),
    ];
    // The turn so far; trimmed, only its latest step (the calls and their results).
    let latest_step = transcript
        .iter()
        .rposition(|e| matches!(e, Entry::Calls(_)))
        .unwrap_or(0);
    let kept = if trim >= Trim::OlderSteps {
        &transcript[latest_step..]
    } else {
        transcript
    };
    if kept.len() < transcript.len() {
        let left_out = transcript[..latest_step]
            .iter()
            .filter(|e| matches!(e, Entry::Calls(_)))
            .count();
        messages.push(ChatMessage::text(
            "user",
            format!("({left_out} earlier step(s) of this turn are left out to fit the model's context.)"),
        ));
    }
    for entry in kept {
        match entry {
            Entry::Calls(calls) => messages.push(ChatMessage {
                role: "assistant".into(),
                tool_calls: calls
                    .iter()
                    .map(|call| ToolCallRequest {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        arguments: call.raw_arguments.clone().unwrap_or_else(|| call.arguments.to_string()),
                    })
                    .collect(),
                ..ChatMessage::default()
            }),
            Entry::Result { call, outcome } => messages.push(ChatMessage {
                tool_call_id: Some(call.id.clone()),
                ..ChatMessage::text("tool", outcome.to_string())
            }),
            Entry::Reminder(text) => messages.push(ChatMessage::text("user", text.clone())),
        }
    }
    let used = if trim >= Trim::ShortEnums {
        values_in_use(context)
    } else {
        Vec::new()
    };
    let tools = context
        .tools
        .iter()
        .map(|tool| {
            let mut parameters = tool.parameters.clone();
            let mut description = tool.description.clone();
            if trim >= Trim::SummaryEnums {
                parameters = shorten_enums(&parameters, &used, 0);
            } else if trim >= Trim::ShortEnums {
                parameters = shorten_enums(&parameters, &used, SHORT_ENUM);
            }
            if trim >= Trim::Descriptions {
                parameters = shorten_descriptions(&parameters);
                description = description.split(". ").next().unwrap_or(&description).to_owned();
            }
            ToolDefinition {
                name: tool.name.clone(),
                description,
                parameters,
            }
        })
        .collect();
    ChatRequest {
        messages,
        max_tokens: Some(MAX_TOKENS),
        temperature: Some(0.0),
        json_response: false,
        tools,
    }
}

/// The context size a context-length refusal names ("context window of 4096", "maximum
/// context length is 4096 tokens"), if it names one.
fn named_context_size(message: &str) -> Option<usize> {
    let lower = message.to_lowercase();
    for marker in [
        "context window of",
        "maximum context length is",
        "context length of",
        "n_ctx",
    ] {
        if let Some(at) = lower.find(marker) {
            let digits: String = lower[at + marker.len()..]
                .trim_start_matches(|c: char| !c.is_ascii_digit())
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(size) = digits.parse::<usize>() {
                return Some(size);
            }
        }
    }
    None
}

/// Tool calls written into an answer's text, in the shapes models and chat templates use:
/// `functions.NAME:` followed by its JSON arguments (llama-cpp-python's
/// `chatml-function-calling`), `<tool_call>{"name": …, "arguments": …}</tool_call>` (Qwen,
/// Hermes), or a bare `{"name": …, "arguments" | "parameters": …}` object. Only the names in
/// `offered` count; arguments that are missing read as `{}`.
pub fn calls_in_text(text: &str, offered: &[&str]) -> Vec<ToolCallRequest> {
    let mut calls = Vec::new();
    let call = |index: usize, name: &str, arguments: String| ToolCallRequest {
        id: format!("text-call-{}", index + 1),
        name: name.to_owned(),
        arguments,
    };
    // `functions.NAME:` then everything up to the next such marker.
    let marked: Vec<(usize, &str)> = text
        .match_indices("functions.")
        .filter_map(|(at, _)| {
            let rest = &text[at + "functions.".len()..];
            let name = rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                .next()?;
            (offered.contains(&name) && rest[name.len()..].trim_start().starts_with(':')).then_some((at, name))
        })
        .collect();
    for (index, (at, name)) in marked.iter().enumerate() {
        let start = at + "functions.".len() + name.len();
        let end = marked.get(index + 1).map_or(text.len(), |(next, _)| *next);
        let body = text[start..end].trim_start().trim_start_matches(':').trim();
        calls.push(call(index, name, body.to_owned()));
    }
    if !calls.is_empty() {
        return calls;
    }
    // JSON objects naming a tool, inside <tool_call> tags or bare.
    let object_text = text.replace("<tool_call>", " ").replace("</tool_call>", " ");
    let mut rest = object_text.as_str();
    while let Some(open) = rest.find('{') {
        let candidate = &rest[open..];
        let mut stream = serde_json::Deserializer::from_str(candidate).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                let consumed = stream.byte_offset();
                let name = value["name"].as_str().or_else(|| value["function"].as_str());
                if let Some(name) = name.filter(|n| offered.contains(n)) {
                    let arguments = match value.get("arguments").or_else(|| value.get("parameters")) {
                        Some(Value::String(text)) => text.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    calls.push(call(calls.len(), name, arguments));
                }
                rest = &candidate[consumed.max(1)..];
            }
            _ => rest = &candidate[1..],
        }
    }
    calls
}

/// A call as the model wrote it: arguments read strictly, else leniently (with the repairs
/// noted), else marked malformed with the reason.
pub fn read_call(call: &ToolCallRequest) -> ToolCall {
    let mut read = ToolCall::new(call.id.clone(), &call.name, Value::Null);
    read.raw_arguments = Some(call.arguments.clone());
    let text = call.arguments.trim();
    if text.is_empty() {
        // A function without parameters is often called with no text at all.
        read.arguments = json!({});
        return read;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => read.arguments = Value::Object(object),
        Ok(other) => {
            read.malformed = Some(format!(
                "the arguments must be one JSON object, not {}",
                match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                }
            ))
        }
        Err(strict) => match interarec_summary::parse_lenient_object(text) {
            Ok((object, repairs)) => {
                read.arguments = Value::Object(object);
                read.repairs = repairs;
            }
            Err(_) => read.malformed = Some(format!("the arguments are not valid JSON ({strict})")),
        },
    }
    read
}

impl Planner for OpenAiPlanner {
    fn name(&self) -> String {
        format!("openai ({})", self.provider.describe())
    }

    fn next<'a>(&'a self, context: &'a TurnContext, transcript: &'a [Entry]) -> PlannerFuture<'a> {
        Box::pin(async move {
            let budget = self
                .settings
                .context_tokens
                .map(|tokens| (tokens as usize).saturating_sub(MAX_TOKENS as usize));
            let (request, mut notes) = Self::fitted_request(context, transcript, budget);
            let answer = match self.provider.chat(request.clone()).await {
                Err(ChatError::Rejected {
                    cause: RefusalCause::ContextLength,
                    message,
                }) => {
                    // Trim to what the server says it holds, or well below what was sent, once.
                    let smaller = named_context_size(&message)
                        .map(|size| size.saturating_sub(MAX_TOKENS as usize))
                        .unwrap_or(usize::MAX)
                        .min(estimate_tokens(&request) * 3 / 5);
                    let (retry, retry_notes) = Self::fitted_request(context, transcript, Some(smaller));
                    tracing::warn!(
                        budget = smaller,
                        "the model's context was exceeded; trimming the request and retrying once: {message}"
                    );
                    notes = retry_notes;
                    notes.push(format!(
                        "retried once after a context-length refusal, within {smaller} tokens"
                    ));
                    self.provider.chat(retry).await
                }
                other => other,
            }
            .map_err(|e| PlannerError {
                cause: e.cause().to_owned(),
                message: e.to_string(),
            })?;
            let offered: Vec<&str> = context.tools.iter().map(|t| t.name.as_str()).collect();
            let reply = if !answer.tool_calls.is_empty() {
                PlannerReply::Calls(answer.tool_calls.iter().map(read_call).collect())
            } else {
                let in_text = calls_in_text(&answer.text, &offered);
                if in_text.is_empty() {
                    PlannerReply::Final(answer.text.trim().to_owned())
                } else {
                    // Small models (and servers without a tool-call parser) write the call
                    // into the answer's text; it is read as the call it is, and noted.
                    PlannerReply::Calls(
                        in_text
                            .iter()
                            .map(|call| {
                                let mut read = read_call(call);
                                read.repairs.insert(0, "call read from the answer's text".into());
                                read
                            })
                            .collect(),
                    )
                }
            };
            Ok(PlannerStep {
                reply,
                model: answer.model,
                prompt_tokens: answer.prompt_tokens,
                completion_tokens: answer.completion_tokens,
                notes,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_written_into_the_text_are_read_as_calls() {
        let offered = ["get_user_recommendations", "validate"];
        // (answer text, calls read as (name, arguments))
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                "functions.get_user_recommendations:",
                &[("get_user_recommendations", "")],
            ),
            (
                "functions.get_user_recommendations:\n{\"colour\": [\"green\"]}\nfunctions.validate:\n{}",
                &[
                    ("get_user_recommendations", "{\"colour\": [\"green\"]}"),
                    ("validate", "{}"),
                ],
            ),
            (
                "<tool_call>\n{\"name\": \"get_user_recommendations\", \"arguments\": {\"lowest_price\": 84}}\n</tool_call>",
                &[("get_user_recommendations", "{\"lowest_price\":84}")],
            ),
            (
                "Sure! {\"name\": \"get_user_recommendations\", \"parameters\": {\"colour\": [\"green\"]}} should do.",
                &[("get_user_recommendations", "{\"colour\":[\"green\"]}")],
            ),
            ("functions.summarize:\n{}", &[]),
            ("Here are green dresses from $84 to $123: {\"not\": \"a call\"}.", &[]),
            ("These dresses match what you browsed.", &[]),
        ];
        for (text, expected) in cases {
            let calls = calls_in_text(text, &offered);
            let got: Vec<(&str, &str)> = calls.iter().map(|c| (c.name.as_str(), c.arguments.as_str())).collect();
            assert_eq!(got, *expected, "{text}");
        }
    }

    #[test]
    fn arguments_are_read_strictly_then_leniently_else_sent_back() {
        // (arguments as written, arguments read, repairs, malformed reason fragment)
        let cases: &[(&str, Value, &[&str], Option<&str>)] = &[
            (r#"{"colour": ["green"]}"#, json!({"colour": ["green"]}), &[], None),
            ("", json!({}), &[], None),
            (
                "```json\n{\"colour\": [\"green\"],}\n```",
                json!({"colour": ["green"]}),
                &["text around the JSON object ignored", "1 trailing comma(s) removed"],
                None,
            ),
            (
                "{\u{201C}lowest_price\u{201D}: 80}",
                json!({"lowest_price": 80}),
                &["smart quotes straightened"],
                None,
            ),
            ("[1, 2]", Value::Null, &[], Some("one JSON object, not an array")),
            ("{\"colour\": [\"green\"", Value::Null, &[], Some("not valid JSON")),
            ("colour=green", Value::Null, &[], Some("not valid JSON")),
        ];
        for (written, arguments, repairs, malformed) in cases {
            let call = read_call(&ToolCallRequest {
                id: "c".into(),
                name: "f".into(),
                arguments: (*written).into(),
            });
            assert_eq!(&call.arguments, arguments, "{written}");
            assert_eq!(call.repairs, *repairs, "{written}");
            match malformed {
                Some(fragment) => assert!(
                    call.malformed.as_deref().is_some_and(|m| m.contains(fragment)),
                    "{written}: {:?}",
                    call.malformed
                ),
                None => assert_eq!(call.malformed, None, "{written}"),
            }
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;
    use crate::ToolSpec;
    use crate::tests::context;

    /// A turn over a catalog with a long colour enum, a summary with prose, and three steps.
    fn long_turn() -> (TurnContext, Vec<Entry>) {
        let mut context = context(
            r#"{"Product Characteristics": "green dresses", "Lowest Price": "$80", "Highest Price": "$130",
                "User Reviews and Testimonials": "Lovely fabric, runs small, would buy again. Many reviews praise the colour and the cut; a few say the zip is stiff.",
                "Comparisons": "The wrap dress is lighter than the shirt dress, which has pockets and a longer hem.",
                "Promotions": "20% off all dresses this week with code SPRING; free returns over $50."}"#,
        );
        let colours: Vec<String> = (0..60).map(|i| format!("shade-{i}")).chain(["green".into()]).collect();
        let parameters = json!({"type": "object", "properties": {
            "colour": {"type": "array", "items": {"type": "string", "enum": colours}, "description": "Acceptable colour values (any of them). Spelled as in the catalog."},
            "lowest_price": {"type": "number", "description": "Lowest price the shopper would pay (the catalog's prices run from 10 to 200)"}
        }});
        context.tools = vec![ToolSpec {
            name: "get_user_recommendations".into(),
            description: "Recommends products. Leave out anything the shopper did not express.".into(),
            parameters,
        }];
        let mut transcript = Vec::new();
        for step in 0..3 {
            let call = ToolCall::new(
                format!("call-{step}"),
                "get_user_recommendations",
                json!({"colour": ["green"]}),
            );
            transcript.push(Entry::Calls(vec![call.clone()]));
            transcript.push(Entry::Result {
                call,
                outcome: json!({"ok": {"status": "invalid", "violations": [{"field": "colour", "problem": "x".repeat(300)}]}}),
            });
        }
        (context, transcript)
    }

    #[test]
    fn requests_are_trimmed_in_order_until_they_fit_the_budget() {
        let (context, transcript) = long_turn();
        let full = estimate_tokens(&OpenAiPlanner::request(&context, &transcript));
        let mut previous = full + 1;
        // (share of the full estimate allowed, notes expected)
        // (full 1607 tokens; each level: 1431, 985, 875, 834, 790)
        let cases: &[(f64, usize)] = &[(2.0, 0), (0.95, 1), (0.75, 2), (0.58, 3), (0.53, 4), (0.5, 5), (0.3, 5)];
        for (share, notes) in cases {
            let budget = (full as f64 * share) as usize;
            let (request, trimmed) = OpenAiPlanner::fitted_request(&context, &transcript, Some(budget));
            let size = estimate_tokens(&request);
            assert_eq!(
                trimmed.len(),
                *notes,
                "budget {budget} of {full}: {trimmed:?} ({size} tokens)"
            );
            assert!(size <= previous, "each harder trim is smaller");
            if *share >= 0.5 {
                assert!(size <= budget, "budget {budget}: {size} tokens after {trimmed:?}");
            }
            previous = size;
            // The colour the summary states survives every trim; the calls and results stay paired.
            let colours = &request.tools[0].parameters["properties"]["colour"]["items"]["enum"];
            assert!(
                colours.as_array().is_some_and(|c| c.contains(&json!("green"))),
                "{colours}"
            );
            let calls = request.messages.iter().filter(|m| !m.tool_calls.is_empty()).count();
            let results = request.messages.iter().filter(|m| m.role == "tool").count();
            assert_eq!(calls, results, "{trimmed:?}");
        }
        let (hardest, trimmed) = OpenAiPlanner::fitted_request(&context, &transcript, Some(1));
        assert_eq!(trimmed.len(), 5, "the hardest trim is sent when nothing fits");
        let text = format!("{:?}", hardest.messages);
        assert!(
            !text.contains("SPRING") && !text.contains("zip is stiff"),
            "summary prose left out"
        );
        assert!(text.contains("2 earlier step(s) of this turn are left out"), "{text}");
        assert_eq!(
            OpenAiPlanner::fitted_request(&context, &transcript, None).1,
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_context_refusal_names_the_size_to_trim_to() {
        let cases = [
            ("Requested tokens (5371) exceed context window of 4096", Some(4096)),
            (
                "This model's maximum context length is 8192 tokens. However, you requested 9000",
                Some(8192),
            ),
            ("the prompt is too long", None),
        ];
        for (message, size) in cases {
            assert_eq!(named_context_size(message), size, "{message}");
        }
    }
}

#[cfg(test)]
mod properties {
    //! Property tests: no argument text makes `read_call` or `calls_in_text` panic, and
    //! arguments that are a JSON object read back unchanged.
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_is_read_or_refused_without_panic(text in any::<String>(), shaped in "[{}\\[\\]\":,a-z0-9 <>_/.\\\\-]{0,100}") {
            for arguments in [&text, &shaped] {
                let call = ToolCallRequest { id: "c".into(), name: "get_user_recommendations".into(), arguments: arguments.clone() };
                let read = read_call(&call);
                prop_assert!(read.malformed.is_some() || read.arguments.is_object());
                let _ = calls_in_text(arguments, &["get_user_recommendations", "validate"]);
            }
        }

        #[test]
        fn json_objects_read_back_unchanged(
            fields in proptest::collection::btree_map("[a-z_]{1,12}", prop_oneof![
                any::<i32>().prop_map(|n| json!(n)),
                "[a-zA-Z ]{0,12}".prop_map(|s| json!(s)),
                proptest::collection::vec("[a-z]{1,8}", 0..4).prop_map(|v| json!(v)),
            ], 0..6)
        ) {
            let object = Value::Object(fields.into_iter().collect());
            let call = ToolCallRequest { id: "c".into(), name: "get_user_recommendations".into(), arguments: object.to_string() };
            let read = read_call(&call);
            prop_assert_eq!(read.arguments, object);
            prop_assert!(read.repairs.is_empty());
        }
    }
}
