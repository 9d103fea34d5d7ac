//! The network planner: chat completions with function calling at an OpenAI-compatible
//! endpoint. Each step sends the instruction, the session context, the tool definitions and the
//! turn so far (the model's calls and each call's result as a `tool` message); the model answers
//! with tool calls (several in one step allowed) or with its final text for the shopper.
//!
//! Arguments come back as text the model wrote. Strict JSON is used as is; otherwise the lenient
//! reader repairs what models typically get wrong (code fences, prose around the object, smart
//! quotes, trailing commas) and the repairs are recorded; what cannot be read is not run, and the
//! call's result tells the model what was wrong so it can ask again.

use super::{Entry, Planner, PlannerFuture, PlannerReply, PlannerStep, ToolCall, TurnContext};
use interarec_vision::chat::{ChatMessage, ChatProvider, ChatRequest, ToolCallRequest, ToolDefinition};
use serde_json::{Value, json};
use std::sync::Arc;

/// Longest answer of one planner step, in tokens.
const MAX_TOKENS: u32 = 1024;

/// The planner over a chat provider that speaks function calling.
#[derive(Clone)]
pub struct OpenAiPlanner {
    provider: Arc<dyn ChatProvider>,
}

impl OpenAiPlanner {
    /// A planner over the provider.
    pub fn new(provider: Arc<dyn ChatProvider>) -> OpenAiPlanner {
        OpenAiPlanner { provider }
    }

    /// The conversation for the next step.
    pub fn request(context: &TurnContext, transcript: &[Entry]) -> ChatRequest {
        let input = &context.input;
        let session = json!({
            "batch": input.batch,
            "summary": input.summary,
            "current_constraints": input.current,
            "catalog": input.catalog.id,
            "catalog_price_range": [input.catalog.price_min, input.catalog.price_max],
            "items_to_show": input.capacity,
        });
        let mut messages = vec![
            ChatMessage::text("system", context.instruction.clone()),
            ChatMessage::text("user", format!("The shopper's session so far, as JSON:\n{session}")),
        ];
        for entry in transcript {
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
            }
        }
        ChatRequest {
            messages,
            max_tokens: Some(MAX_TOKENS),
            temperature: Some(0.0),
            json_response: false,
            tools: context
                .tools
                .iter()
                .map(|tool| ToolDefinition {
                    name: tool.name.clone(),
                    description: tool.description.clone(),
                    parameters: tool.parameters.clone(),
                })
                .collect(),
        }
    }
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
            let answer = self
                .provider
                .chat(Self::request(context, transcript))
                .await
                .map_err(|e| e.to_string())?;
            let reply = if answer.tool_calls.is_empty() {
                PlannerReply::Final(answer.text.trim().to_owned())
            } else {
                PlannerReply::Calls(answer.tool_calls.iter().map(read_call).collect())
            };
            Ok(PlannerStep {
                reply,
                model: answer.model,
                prompt_tokens: answer.prompt_tokens,
                completion_tokens: answer.completion_tokens,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
