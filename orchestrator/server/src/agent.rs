//! The orchestrator's agent loop: after a batch is summarised, a planner chooses and calls tools
//! by function calling until it gives its final answer. The planner sees an instruction, the
//! session context (the latest summary, the current constraints, catalog facts) and the tool
//! definitions: the catalog's constraint function `get_user_recommendations` (generated from the
//! catalog's schema) plus every registered tool. The orchestrator runs each call and returns the
//! result (a tool's error is returned as data, never a crash); at most [`MAX_STEPS`] steps and
//! [`TURN_DEADLINE`] per turn.
//!
//! `get_user_recommendations` is run by the orchestrator as: the `validate` tool (violations go
//! back to the planner, which is asked once to fix them; whatever stays invalid is dropped, and
//! the validation event says so), refinement with the session's current constraints
//! (`interarec_constraints::refine`: recent evidence wins field by field), then the
//! `assortment` tool over the session's catalog and choice model.
//!
//! The planner here is the embedded offline planner: deterministic, in the paper's order
//! (summary → constraint function → validate → assortment → answer), filling the function's
//! arguments from the summary, with a templated answer. Every planner step and tool call becomes
//! a session event (arguments, result, duration), so a session can be audited.

use crate::registry::Registry;
use interarec_constraints::{CatalogFacts, FUNCTION_NAME, function_definition};
use interarec_summary::Summary;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Planner steps per turn.
pub const MAX_STEPS: usize = 8;
/// Wall time of a turn.
pub const TURN_DEADLINE: Duration = Duration::from_secs(30);
/// Name of the validating tool (`plugins/validate`, grant `catalog`).
pub const VALIDATE_TOOL: &str = "validate";
/// Name of the optimizing tool (`plugins/assortment`, grant `catalog`).
pub const ASSORTMENT_TOOL: &str = "assortment";

/// What a turn works on.
#[derive(Debug, Clone)]
pub struct TurnInput {
    /// Session.
    pub session_id: String,
    /// Batch number.
    pub batch: u64,
    /// Catalog browsed.
    pub catalog: CatalogFacts,
    /// Choice model.
    pub model_id: String,
    /// Items to show.
    pub capacity: u64,
    /// The batch's summary.
    pub summary: Summary,
    /// The session's constraint arguments so far.
    pub current: Option<Value>,
}

/// What a turn produced: events in order, and the session's new constraint arguments.
#[derive(Debug, Clone, Default)]
pub struct TurnOutput {
    /// `(kind, payload)` of each event.
    pub events: Vec<(String, Value)>,
    /// The merged constraint arguments, when the function ran.
    pub constraints: Option<Value>,
}

/// A tool call a planner asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// Call id (results are matched to it).
    pub id: String,
    /// Tool or function name.
    pub name: String,
    /// Arguments.
    pub arguments: Value,
}

/// A planner's step.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannerReply {
    /// Run these calls (several in one step are allowed).
    Calls(Vec<ToolCall>),
    /// The answer for the shopper.
    Final(String),
}

/// One entry of a turn's transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// The planner asked for calls.
    Calls(Vec<ToolCall>),
    /// A call's result (or error, as data).
    Result {
        /// The call.
        call: ToolCall,
        /// `{"ok": ...}` or `{"error": ...}`.
        outcome: Value,
    },
}

/// The embedded offline planner.
#[derive(Debug, Default)]
pub struct OfflinePlanner;

impl OfflinePlanner {
    /// Its next step, deterministic: call the function with the summary's arguments; if the
    /// validation sent violations back, call it once more with the repaired arguments; once a
    /// recommendation (or a failure) is back, answer.
    pub fn next(&self, input: &TurnInput, transcript: &[Entry]) -> PlannerReply {
        let results: Vec<(&ToolCall, &Value)> = transcript
            .iter()
            .filter_map(|e| match e {
                Entry::Result { call, outcome } => Some((call, outcome)),
                Entry::Calls(_) => None,
            })
            .collect();
        let call = |n: usize, arguments: Value| {
            PlannerReply::Calls(vec![ToolCall {
                id: format!("call-{n}"),
                name: FUNCTION_NAME.into(),
                arguments,
            }])
        };
        match results.last() {
            None => call(
                1,
                interarec_constraints::from_summary(&input.summary, &input.catalog, input.capacity),
            ),
            Some((_, outcome)) if outcome["ok"]["status"] == "invalid" && results.len() == 1 => {
                call(2, outcome["ok"]["repaired_arguments"].clone())
            }
            Some((_, outcome)) => PlannerReply::Final(answer_text(outcome)),
        }
    }
}

fn money(price: f64) -> String {
    if price >= 10_000.0 {
        let digits = format!("{price:.0}");
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("${out}")
    } else {
        format!("${price:.2}")
    }
}

/// The offline answer: a template over the recommendation.
fn answer_text(outcome: &Value) -> String {
    if let Some(error) = outcome["error"].as_str() {
        return format!("I could not pick products this time: {error}");
    }
    let recommendation = &outcome["ok"]["recommendation"];
    let items = recommendation["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        let reason = recommendation["empty_reason"]
            .as_str()
            .unwrap_or("nothing matches what you are looking for");
        return format!("Nothing to show yet: {reason}.");
    }
    let listed: Vec<String> = items
        .iter()
        .take(3)
        .map(|item| {
            format!(
                "{} ({})",
                item["title"].as_str().unwrap_or("?"),
                money(item["price"].as_f64().unwrap_or(0.0))
            )
        })
        .collect();
    let more = items.len().saturating_sub(3);
    format!(
        "Based on what you have been looking at, you might like {}{}.",
        listed.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// Runs one turn with the offline planner.
pub async fn run_turn(registry: &Registry, input: TurnInput) -> TurnOutput {
    let started = Instant::now();
    let planner = OfflinePlanner;
    let mut output = TurnOutput::default();
    let function = function_definition(&input.catalog);
    let tools: Vec<Value> = std::iter::once(function.clone())
        .chain(
            registry
                .list()
                .into_iter()
                .map(|tool| json!({ "name": tool.manifest.name, "description": tool.manifest.description })),
        )
        .collect();
    output.events.push((
        "planner-context".into(),
        json!({
            "batch": input.batch,
            "planner": "offline",
            "instruction": "Recommend products for the shopper from the batch's summary: call get_user_recommendations with the preferences the summary shows, then answer the shopper.",
            "summary": input.summary,
            "current_constraints": input.current,
            "catalog": { "id": input.catalog.id, "price_min": input.catalog.price_min, "price_max": input.catalog.price_max },
            "tools": tools,
        }),
    ));
    let mut transcript: Vec<Entry> = Vec::new();
    for step in 1..=MAX_STEPS {
        if started.elapsed() > TURN_DEADLINE {
            output.events.push(("planner-stopped".into(), json!({ "batch": input.batch, "reason": format!("the turn took longer than {} s", TURN_DEADLINE.as_secs()) })));
            return output;
        }
        let step_started = Instant::now();
        let reply = planner.next(&input, &transcript);
        let action = match &reply {
            PlannerReply::Calls(calls) => {
                json!({ "calls": calls.iter().map(|c| json!({"id": c.id, "name": c.name, "arguments": c.arguments})).collect::<Vec<_>>() })
            }
            PlannerReply::Final(text) => json!({ "final": text }),
        };
        output.events.push((
            "planner-step".into(),
            json!({ "batch": input.batch, "step": step, "planner": "offline", "action": action, "millis": step_started.elapsed().as_secs_f64() * 1e3, "tokens": 0 }),
        ));
        match reply {
            PlannerReply::Final(text) => {
                let last = transcript.iter().rev().find_map(|e| match e {
                    Entry::Result { outcome, .. } => Some(outcome.clone()),
                    Entry::Calls(_) => None,
                });
                let recommendation = last
                    .as_ref()
                    .map(|o| o["ok"]["recommendation"].clone())
                    .unwrap_or(Value::Null);
                output.events.push((
                    "recommendation".into(),
                    json!({
                        "batch": input.batch,
                        "answer": text,
                        "items": recommendation["items"],
                        "expected_revenue": recommendation["expected_revenue"],
                        "no_purchase_probability": recommendation["no_purchase_probability"],
                        "constraints": output.constraints,
                        "millis": started.elapsed().as_secs_f64() * 1e3,
                    }),
                ));
                return output;
            }
            PlannerReply::Calls(calls) => {
                transcript.push(Entry::Calls(calls.clone()));
                for call in calls {
                    let outcome = execute(registry, &input, &call, &transcript, &mut output).await;
                    transcript.push(Entry::Result { call, outcome });
                }
            }
        }
    }
    output.events.push((
        "planner-stopped".into(),
        json!({ "batch": input.batch, "reason": format!("no final answer within {MAX_STEPS} steps") }),
    ));
    output
}

/// Runs one call: the constraint function through validate, refine and assortment, any other
/// name as a registered tool. Errors come back as `{"error": ...}`.
async fn execute(
    registry: &Registry,
    input: &TurnInput,
    call: &ToolCall,
    transcript: &[Entry],
    output: &mut TurnOutput,
) -> Value {
    if call.name != FUNCTION_NAME {
        return invoke(registry, input, &call.name, call.arguments.clone(), output).await;
    }
    let asked_before = transcript
        .iter()
        .filter(|e| matches!(e, Entry::Result { call, .. } if call.name == FUNCTION_NAME))
        .count();
    let validation = invoke(
        registry,
        input,
        VALIDATE_TOOL,
        json!({ "catalog_id": input.catalog.id, "arguments": call.arguments }),
        output,
    )
    .await;
    let Some(validation) = validation.get("ok").cloned() else {
        return validation;
    };
    let valid = validation["valid"].as_bool().unwrap_or(false);
    let repaired = validation["arguments"].clone();
    let final_attempt = valid || asked_before >= 1;
    output.events.push((
        "validation".into(),
        json!({
            "batch": input.batch,
            "attempt": asked_before + 1,
            "valid": valid,
            "violations": validation["violations"],
            "repaired_arguments": repaired,
            "outcome": if valid { "valid" } else if final_attempt { "invalid parts dropped: the repaired arguments are used" } else { "sent back to the planner once" },
        }),
    ));
    if !final_attempt {
        return json!({ "ok": { "status": "invalid", "violations": validation["violations"], "repaired_arguments": repaired } });
    }
    let current = input.current.clone().unwrap_or_else(|| json!({}));
    let (merged, changes) = interarec_constraints::merge(&current, &repaired);
    // The merged arguments are valid parts of valid arguments; their constraints come from the
    // same validation rules (no tool call needed to convert).
    let constraints = interarec_constraints::validate(&input.catalog, &merged).constraints;
    output.events.push((
        "constraints".into(),
        json!({ "batch": input.batch, "arguments": merged, "changes": changes, "policy": "recent evidence wins field by field; unstated fields are kept" }),
    ));
    output.constraints = Some(merged.clone());
    // Unset fields are left out: the tool's schema takes absent, not null.
    let mut constraints = serde_json::to_value(&constraints).unwrap_or_else(|_| json!({}));
    if let Some(fields) = constraints.as_object_mut() {
        fields.retain(|_, value| !value.is_null());
        fields.entry("capacity").or_insert(json!(input.capacity));
    }
    let arguments = json!({ "catalog_id": input.catalog.id, "model_id": input.model_id, "constraints": constraints });
    let assortment = invoke(registry, input, ASSORTMENT_TOOL, arguments, output).await;
    match assortment.get("ok") {
        Some(recommendation) => {
            output.events.push((
                "assortment".into(),
                json!({ "batch": input.batch, "recommendation": recommendation }),
            ));
            json!({ "ok": { "status": "recommended", "recommendation": recommendation, "arguments": merged } })
        }
        None => assortment,
    }
}

/// Invokes a registered tool, recording the call as an event.
async fn invoke(
    registry: &Registry,
    input: &TurnInput,
    tool: &str,
    arguments: Value,
    output: &mut TurnOutput,
) -> Value {
    let started = Instant::now();
    let outcome = match registry.invoke(tool, &arguments.to_string(), &input.session_id).await {
        Ok(invocation) => match serde_json::from_str::<Value>(&invocation.result_json) {
            Ok(result) => json!({ "ok": result }),
            Err(e) => json!({ "error": format!("tool `{tool}` answered bad JSON: {e}") }),
        },
        Err(error) => json!({ "error": error.to_string() }),
    };
    output.events.push((
        "tool-call".into(),
        json!({
            "batch": input.batch,
            "tool": tool,
            "arguments": arguments,
            "result": outcome.get("ok"),
            "error": outcome.get("error"),
            "millis": started.elapsed().as_secs_f64() * 1e3,
        }),
    ));
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(summary: &str) -> TurnInput {
        TurnInput {
            session_id: "s".into(),
            batch: 1,
            catalog: CatalogFacts::from_json(
                r#"{"id": "fashion", "price_min": 10, "price_max": 200, "attributes": [{"name": "colour", "type": "text", "vocabulary": ["green", "red"], "present": 10}]}"#,
            )
            .unwrap(),
            model_id: "m".into(),
            capacity: 4,
            summary: interarec_summary::parse_summary(summary).unwrap().summary,
            current: None,
        }
    }

    #[test]
    fn the_offline_planner_follows_the_papers_order_and_re_asks_once() {
        let input = input(
            r#"{"Lowest Price": "$18", "Highest Price": "$144", "Product Specifications": {"colour": "teal green"}}"#,
        );
        let planner = OfflinePlanner;
        let PlannerReply::Calls(first) = planner.next(&input, &[]) else {
            panic!("calls first")
        };
        assert_eq!(first[0].name, FUNCTION_NAME);
        assert_eq!(
            first[0].arguments,
            json!({"lowest_price": 18.0, "highest_price": 144.0, "colour": ["teal green"], "capacity": 4})
        );
        let invalid = Entry::Result {
            call: first[0].clone(),
            outcome: json!({"ok": {"status": "invalid", "repaired_arguments": {"colour": ["green"]}}}),
        };
        let PlannerReply::Calls(second) = planner.next(&input, &[Entry::Calls(first.clone()), invalid.clone()]) else {
            panic!("re-asked once")
        };
        assert_eq!(second[0].arguments, json!({"colour": ["green"]}));
        let done = Entry::Result {
            call: second[0].clone(),
            outcome: json!({"ok": {"status": "recommended", "recommendation": {"items": [
                {"title": "Zara Green Midi Dress", "price": 83.99}, {"title": "Mango Green Wrap Dress", "price": 109.99},
                {"title": "A", "price": 1.0}, {"title": "B", "price": 2.0}
            ]}}}),
        };
        let reply = planner.next(&input, &[Entry::Calls(first), invalid, Entry::Calls(second), done]);
        assert_eq!(
            reply,
            PlannerReply::Final("Based on what you have been looking at, you might like Zara Green Midi Dress ($83.99), Mango Green Wrap Dress ($109.99), A ($1.00) and 1 more.".into())
        );
        assert_eq!(
            answer_text(&json!({"error": "tool `assortment` is not registered"})),
            "I could not pick products this time: tool `assortment` is not registered"
        );
        assert_eq!(money(1_350_000.0), "$1,350,000");
    }
}
