//! The orchestrator's agent loop: after a batch is summarised, a planner chooses and calls tools
//! by function calling until it gives its final answer. The planner sees an instruction, the
//! session context (the latest summary, the current constraints, catalog facts) and the tool
//! definitions: the catalog's constraint function `get_user_recommendations` (generated from the
//! catalog's schema) plus every registered tool with its JSON Schema. The orchestrator runs each
//! call (several per step allowed) and returns the result; a tool's error, or arguments that
//! cannot be read, go back to the planner as data, never a crash. Per turn at most
//! [`AgentConfig::max_steps`] steps within [`AgentConfig::turn_timeout`] (configurable).
//!
//! `get_user_recommendations` is run by the orchestrator as: the session's validating tool
//! (`validate`, or a domain plugin named by the session; violations go back to the planner,
//! which is asked once to fix them; whatever stays invalid is dropped, and the validation event
//! says so), refinement with the session's current constraints (`interarec_constraints::refine`:
//! recent evidence wins field by field), then the `assortment` tool over the session's catalog
//! and choice model.
//!
//! Two planners behind one trait and one event stream: the embedded offline planner
//! ([`offline`], deterministic, the default) and the network planner ([`openai`], function
//! calling at an OpenAI-compatible endpoint). When the network planner fails mid-turn, the
//! offline planner finishes the turn and a `planner-error` event says so. Every planner step
//! (action, duration, tokens) and tool call (arguments, result or error, duration) is a session
//! event, so a session can be audited and replayed from the store.

pub mod offline;
pub mod openai;

use crate::config::Provider;
use crate::registry::Registry;
use interarec_constraints::{CatalogFacts, FUNCTION_NAME, function_definition};
use interarec_summary::Summary;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

pub use offline::OfflinePlanner;
pub use openai::OpenAiPlanner;

/// Default planner steps per turn.
pub const MAX_STEPS: usize = 8;
/// Most steps a configuration may allow.
pub const MAX_STEPS_LIMIT: usize = 32;
/// Default wall time of a turn.
pub const TURN_DEADLINE: Duration = Duration::from_secs(30);
/// Name of the default validating tool (`plugins/validate`, grant `catalog`).
pub const VALIDATE_TOOL: &str = "validate";
/// Name of the optimizing tool (`plugins/assortment`, grant `catalog`).
pub const ASSORTMENT_TOOL: &str = "assortment";

/// The instruction every planner gets.
pub const INSTRUCTION: &str = "You are the planner of InteraRec, a shopping assistant. A multimodal model has summarised the screenshots of what the shopper just looked at. Call get_user_recommendations with the preferences the summary supports (only values from the function's lists; leave out what the summary does not say), fix the arguments if the validation sends violations back, and once the recommendation is back answer the shopper in one or two sentences naming a few of the recommended products with their prices.";

/// Defaults and limits of the agent loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentConfig {
    /// Who plans turns for sessions that do not choose.
    pub planner: Provider,
    /// Planner steps per turn.
    pub max_steps: usize,
    /// Wall time of a turn (planner calls and tool calls together).
    pub turn_timeout: Duration,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            planner: Provider::Offline,
            max_steps: MAX_STEPS,
            turn_timeout: TURN_DEADLINE,
        }
    }
}

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
    /// The tool that validates the constraint function's arguments.
    pub validate_tool: String,
    /// Registered tools offered to the planner besides the constraint function and the
    /// validating tool (the session's domain tools; the pipeline's own tools only if named).
    pub planner_tools: Vec<String>,
}

/// A tool as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Name to call it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its arguments.
    pub parameters: Value,
}

/// Everything a planner is given for a turn.
#[derive(Debug, Clone)]
pub struct TurnContext {
    /// The turn's input.
    pub input: TurnInput,
    /// What the planner is asked to do.
    pub instruction: String,
    /// The tools it may call.
    pub tools: Vec<ToolSpec>,
}

/// What a turn produced: events in order, and the session's new constraint arguments.
#[derive(Debug, Clone, Default)]
pub struct TurnOutput {
    /// `(kind, payload)` of each event.
    pub events: Vec<(String, Value)>,
    /// The merged constraint arguments, when the function ran.
    pub constraints: Option<Value>,
    /// Why the offline planner finished the turn in place of the session's planner, when it did.
    pub fallback: Option<Value>,
    /// Whether a planner ran (false when the turn was skipped).
    pub ran_planner: bool,
}

/// A tool call a planner asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// Call id (results are matched to it).
    pub id: String,
    /// Tool or function name.
    pub name: String,
    /// Arguments (`null` when they could not be read).
    pub arguments: Value,
    /// The arguments as the planner wrote them (network planners).
    pub raw_arguments: Option<String>,
    /// Repairs needed to read them.
    pub repairs: Vec<String>,
    /// Why they could not be read (the call is not run; the reason goes back as its result).
    pub malformed: Option<String>,
}

impl ToolCall {
    /// A well-formed call.
    pub fn new(id: impl Into<String>, name: &str, arguments: Value) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.to_owned(),
            arguments,
            raw_arguments: None,
            repairs: Vec::new(),
            malformed: None,
        }
    }
}

/// A planner's step.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannerReply {
    /// Run these calls (several in one step are allowed).
    Calls(Vec<ToolCall>),
    /// The answer for the shopper (empty: the orchestrator's template answers).
    Final(String),
}

/// A step and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerStep {
    /// What the planner wants.
    pub reply: PlannerReply,
    /// The model that answered (empty offline).
    pub model: String,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Answer tokens.
    pub completion_tokens: u32,
    /// What the planner did to the request to make it fit (context budget), for the event.
    pub notes: Vec<String>,
}

impl Default for PlannerStep {
    fn default() -> Self {
        PlannerStep {
            reply: PlannerReply::Final(String::new()),
            model: String::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
            notes: Vec::new(),
        }
    }
}

/// Why a planner could not take its step.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerError {
    /// The likely cause in a word (`message-shape`, `context-length`, `unknown-model`,
    /// `unavailable`, `timeout`, ...), for events and counts.
    pub cause: String,
    /// What went wrong and what to do.
    pub message: String,
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
    /// What the orchestrator told the planner between steps (network planners see it as a user
    /// message), e.g. to call the constraint function before answering.
    Reminder(String),
}

/// A boxed planner step.
pub type PlannerFuture<'a> = Pin<Box<dyn Future<Output = Result<PlannerStep, PlannerError>> + Send + 'a>>;

/// Whatever decides the next step of a turn.
pub trait Planner: Send + Sync {
    /// Its name in events.
    fn name(&self) -> String;
    /// The next step, given the turn so far; an error ends this planner's part of the turn.
    fn next<'a>(&'a self, context: &'a TurnContext, transcript: &'a [Entry]) -> PlannerFuture<'a>;
}

/// The planner's view of the tools: the constraint function first, then the session's
/// validating tool and the tools it names, as registered. The pipeline's internal tools
/// (`capture`, `summarize`, `assortment`) are not offered unless a session names them: a model
/// that sees them calls them with made-up arguments.
fn tool_specs(registry: &Registry, input: &TurnInput) -> Vec<ToolSpec> {
    let function = function_definition(&input.catalog);
    let offered = |name: &str| name == input.validate_tool || input.planner_tools.iter().any(|t| t == name);
    std::iter::once(ToolSpec {
        name: FUNCTION_NAME.into(),
        description: function["description"].as_str().unwrap_or_default().to_owned(),
        parameters: function["parameters"].clone(),
    })
    .chain(
        registry
            .list()
            .into_iter()
            .filter(|tool| offered(&tool.manifest.name))
            .map(|tool| ToolSpec {
                name: tool.manifest.name,
                description: tool.manifest.description,
                parameters: tool.manifest.arguments_schema,
            }),
    )
    .collect()
}

/// Runs one turn: `planner` decides, the orchestrator runs the calls; at most
/// `config.max_steps` steps within `config.turn_timeout`.
pub async fn run_turn(
    registry: &Registry,
    input: TurnInput,
    planner: &dyn Planner,
    config: &AgentConfig,
) -> TurnOutput {
    let started = Instant::now();
    let deadline = started + config.turn_timeout;
    // A planner other than the offline one must answer before the last fifth of the turn (at
    // most 2 s of it), which is kept for the offline planner to finish the turn if it does not.
    let reserve = (config.turn_timeout / 5).min(Duration::from_secs(2));
    let mut output = TurnOutput {
        ran_planner: true,
        ..TurnOutput::default()
    };
    let batch = input.batch;
    let context = TurnContext {
        tools: tool_specs(registry, &input),
        instruction: INSTRUCTION.into(),
        input,
    };
    let mut planner_name = planner.name();
    output.events.push((
        "planner-context".into(),
        json!({
            "batch": batch,
            "planner": planner_name,
            "instruction": context.instruction,
            "summary": context.input.summary,
            "current_constraints": context.input.current,
            "catalog": { "id": context.input.catalog.id, "price_min": context.input.catalog.price_min, "price_max": context.input.catalog.price_max },
            "tools": context.tools.iter().map(|t| json!({"name": t.name, "description": t.description, "parameters": t.parameters})).collect::<Vec<_>>(),
            "limits": { "max_steps": config.max_steps, "turn_timeout_ms": config.turn_timeout.as_millis() as u64 },
        }),
    ));
    let fallback = OfflinePlanner;
    let mut active: &dyn Planner = planner;
    let mut transcript: Vec<Entry> = Vec::new();
    let out_of_time = |output: &mut TurnOutput| {
        output.events.push((
            "planner-stopped".into(),
            json!({ "batch": batch, "reason": format!("the turn took longer than {} ms (agent.turn_timeout_ms)", config.turn_timeout.as_millis()) }),
        ));
    };
    let mut step = 0;
    while step < config.max_steps {
        step += 1;
        let step_started = Instant::now();
        let offline = planner_name == fallback.name();
        let step_deadline = if offline { deadline } else { deadline - reserve };
        let decided = match tokio::time::timeout_at(step_deadline.into(), active.next(&context, &transcript)).await {
            Ok(decided) => decided,
            Err(_) if !offline => Err(PlannerError {
                cause: "timeout".into(),
                message: format!(
                    "no answer within the turn's time ({} ms, agent.turn_timeout_ms or openai.turn_timeout_ms, less {} ms kept for the offline planner)",
                    config.turn_timeout.as_millis(),
                    reserve.as_millis()
                ),
            }),
            Err(_) => {
                out_of_time(&mut output);
                return output;
            }
        };
        let planned = match decided {
            Ok(planned) => planned,
            Err(error) => {
                // The shopper still gets a recommendation: the offline planner finishes the turn,
                // and the recommendation says so.
                tracing::warn!(batch, step, planner = %planner_name, cause = %error.cause, "planner failed; the offline planner finishes the turn: {}", error.message);
                output.events.push((
                    "planner-error".into(),
                    json!({ "batch": batch, "step": step, "planner": planner_name, "cause": error.cause, "error": error.message, "fallback": fallback.name() }),
                ));
                output.fallback =
                    Some(json!({ "from": planner_name, "step": step, "cause": error.cause, "error": error.message }));
                active = &fallback;
                planner_name = fallback.name();
                step -= 1;
                continue;
            }
        };
        let action = match &planned.reply {
            PlannerReply::Calls(calls) => json!({ "calls": calls.iter().map(describe_call).collect::<Vec<_>>() }),
            PlannerReply::Final(text) => json!({ "final": text }),
        };
        output.events.push((
            "planner-step".into(),
            json!({
                "batch": batch,
                "step": step,
                "planner": planner_name,
                "model": planned.model,
                "action": action,
                "millis": step_started.elapsed().as_secs_f64() * 1e3,
                "prompt_tokens": planned.prompt_tokens,
                "completion_tokens": planned.completion_tokens,
                "request_trimmed": planned.notes,
            }),
        ));
        match planned.reply {
            PlannerReply::Final(_) if !offline && last_recommendation(&transcript).is_none() => {
                // A model that answers before the constraint function ran leaves the shopper
                // with nothing: it is reminded once, then the offline planner finishes the turn.
                let reminded = transcript.iter().any(|e| matches!(e, Entry::Reminder(_)));
                if !reminded {
                    transcript.push(Entry::Reminder(format!(
                        "You answered without calling {FUNCTION_NAME}, so nothing was recommended. Call {FUNCTION_NAME} now with the preferences the summary states, then answer."
                    )));
                    continue;
                }
                let error = format!("the model answered twice without a successful {FUNCTION_NAME} call");
                tracing::warn!(batch, step, planner = %planner_name, "{error}; the offline planner finishes the turn");
                output.events.push((
                    "planner-error".into(),
                    json!({ "batch": batch, "step": step, "planner": planner_name, "cause": "no-call", "error": error, "fallback": fallback.name() }),
                ));
                output.fallback =
                    Some(json!({ "from": planner_name, "step": step, "cause": "no-call", "error": error }));
                active = &fallback;
                planner_name = fallback.name();
            }
            PlannerReply::Final(text) => {
                let last = last_recommendation(&transcript);
                let answer = if text.is_empty() {
                    last.map(offline::answer_text)
                        .unwrap_or_else(|| "Nothing to recommend yet.".into())
                } else {
                    text
                };
                let event = recommendation_event(batch, answer, last, &output, &planner_name, started);
                output.events.push(event);
                return output;
            }
            PlannerReply::Calls(calls) if !offline && repeats_a_recommended_call(&calls, &transcript) => {
                // Small models call the function again and again with the same arguments once
                // it has answered; running it again changes nothing, so the turn ends here.
                output.events.push((
                    "planner-stopped".into(),
                    json!({ "batch": batch, "step": step, "reason": format!("the model called {FUNCTION_NAME} again with the arguments of a call that already recommended; the turn ends with that recommendation") }),
                ));
                let last = last_recommendation(&transcript);
                let answer = last.map(offline::answer_text).unwrap_or_default();
                let event = recommendation_event(batch, answer, last, &output, &planner_name, started);
                output.events.push(event);
                return output;
            }
            PlannerReply::Calls(calls) => {
                transcript.push(Entry::Calls(calls.clone()));
                let check_consistency = !offline;
                for call in calls {
                    let run = execute(registry, &context, &call, &transcript, check_consistency, &mut output);
                    let Ok(outcome) = tokio::time::timeout_at(deadline.into(), run).await else {
                        out_of_time(&mut output);
                        return output;
                    };
                    transcript.push(Entry::Result { call, outcome });
                }
            }
        }
    }
    output.events.push((
        "planner-stopped".into(),
        json!({ "batch": batch, "reason": format!("no final answer within {} steps (agent.max_steps)", config.max_steps) }),
    ));
    // The products the last successful constraint call chose are still the best answer there is.
    if let Some(last) = last_recommendation(&transcript) {
        let event = recommendation_event(
            batch,
            offline::answer_text(last),
            Some(last),
            &output,
            &planner_name,
            started,
        );
        output.events.push(event);
    }
    output
}

/// The `recommendation` event: the answer, the products of the constraint call's outcome, who
/// answered and, when the offline planner finished the turn, why.
fn recommendation_event(
    batch: u64,
    answer: String,
    outcome: Option<&Value>,
    output: &TurnOutput,
    planner: &str,
    started: Instant,
) -> (String, Value) {
    let recommendation = outcome
        .map(|o| o["ok"]["recommendation"].clone())
        .unwrap_or(Value::Null);
    (
        "recommendation".into(),
        json!({
            "batch": batch,
            "answer": answer,
            "items": recommendation["items"],
            "expected_revenue": recommendation["expected_revenue"],
            "no_purchase_probability": recommendation["no_purchase_probability"],
            "constraints": output.constraints,
            "planner": planner,
            "fallback": output.fallback,
            "millis": started.elapsed().as_secs_f64() * 1e3,
        }),
    )
}

fn describe_call(call: &ToolCall) -> Value {
    let mut described = json!({ "id": call.id, "name": call.name, "arguments": call.arguments });
    if !call.repairs.is_empty() {
        described["repairs"] = json!(call.repairs);
        described["raw_arguments"] = json!(call.raw_arguments);
    }
    if let Some(reason) = &call.malformed {
        described["malformed"] = json!(reason);
        described["raw_arguments"] = json!(call.raw_arguments);
    }
    described
}

/// Whether every call of a step is the constraint function with the arguments of an earlier call
/// of the turn that already recommended.
fn repeats_a_recommended_call(calls: &[ToolCall], transcript: &[Entry]) -> bool {
    !calls.is_empty()
        && calls.iter().all(|asked| {
            asked.name == FUNCTION_NAME
                && transcript.iter().any(|entry| {
                    matches!(entry, Entry::Result { call, outcome }
                        if call.name == FUNCTION_NAME && call.arguments == asked.arguments && outcome["ok"]["status"] == "recommended")
                })
        })
}

/// The outcome of the turn's last successful constraint function call.
fn last_recommendation(transcript: &[Entry]) -> Option<&Value> {
    transcript.iter().rev().find_map(|entry| match entry {
        Entry::Result { call, outcome } if call.name == FUNCTION_NAME && outcome["ok"]["status"] == "recommended" => {
            Some(outcome)
        }
        _ => None,
    })
}

/// Runs one call: the constraint function through validate, refine and assortment, any other
/// name as a registered tool. Errors come back as `{"error": ...}`.
async fn execute(
    registry: &Registry,
    context: &TurnContext,
    call: &ToolCall,
    transcript: &[Entry],
    check_consistency: bool,
    output: &mut TurnOutput,
) -> Value {
    let input = &context.input;
    if let Some(reason) = &call.malformed {
        return json!({ "error": format!("`{}` was not run: {reason}; call it again with one JSON object that matches its parameters", call.name) });
    }
    if !context.tools.iter().any(|tool| tool.name == call.name) {
        let offered: Vec<&str> = context.tools.iter().map(|tool| tool.name.as_str()).collect();
        return json!({ "error": format!("`{}` was not run: it is not one of this session's tools; call one of: {}", call.name, offered.join(", ")) });
    }
    if call.name != FUNCTION_NAME {
        return invoke(registry, input, &call.name, call.arguments.clone(), output).await;
    }
    // A network planner's call is held to the summary before the session's validating tool
    // sees it, so the validator (a domain plugin's relaxations included) has the last word.
    let arguments = if check_consistency {
        match hold_to_summary(input, &call.arguments, transcript, output) {
            // How many products to show is the session's choice, not the model's.
            Ok(mut held) => {
                if let Some(fields) = held.as_object_mut() {
                    fields.insert("capacity".into(), json!(input.capacity));
                }
                held
            }
            Err(sent_back) => return sent_back,
        }
    } else {
        call.arguments.clone()
    };
    let asked_before = transcript
        .iter()
        .filter(|e| matches!(e, Entry::Result { call, outcome } if call.name == FUNCTION_NAME && outcome["ok"]["status"] == "invalid"))
        .count();
    let validation = invoke(
        registry,
        input,
        &input.validate_tool,
        validating_input(registry, input, &arguments),
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
            "stage": "arguments",
            "tool": input.validate_tool,
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
    let viewed_only = input.summary.viewed_only_facts();
    let (mut merged, _) = interarec_constraints::merge(&current, &repaired, &viewed_only);
    if merged != repaired {
        // Together with what the session wanted before, the arguments may exclude every item:
        // the session's validating tool checks what will actually be used.
        let check = invoke(
            registry,
            input,
            &input.validate_tool,
            validating_input(registry, input, &merged),
            output,
        )
        .await;
        if let Some(checked) = check.get("ok") {
            output.events.push((
                "validation".into(),
                json!({
                    "batch": input.batch,
                    "stage": "merged",
                    "tool": input.validate_tool,
                    "valid": checked["valid"],
                    "violations": checked["violations"],
                    "repaired_arguments": checked["arguments"],
                    "outcome": if checked["valid"] == true { "valid" } else { "repaired: the repaired arguments are used" },
                }),
            ));
            merged = checked["arguments"].clone();
        }
    }
    // The merged arguments are valid parts of valid arguments; their constraints come from the
    // same validation rules (no tool call needed to convert).
    let changes = interarec_constraints::changes(&current, &merged);
    let constraints = interarec_constraints::validate(&input.catalog, &merged).constraints;
    output.events.push((
        "constraints".into(),
        json!({ "batch": input.batch, "arguments": merged, "changes": changes, "policy": "recent evidence wins field by field; unstated fields are kept; bounds resting only on what was viewed do not move earlier bounds", "viewed_only": viewed_only }),
    ));
    output.constraints = Some(merged.clone());
    let mut constraints = serde_json::to_value(&constraints).unwrap_or_else(|_| json!({}));
    if let Some(fields) = constraints.as_object_mut() {
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

/// A network planner's arguments held to the summary (before validation): facts the summary states that
/// the call omits, contradicts or broadens, and values the summary never names, are sent back
/// once (`Err`: the call's result), and completed from the summary field by field if the next
/// call still has them. Either way a `consistency`
/// event says what was found and done.
fn hold_to_summary(
    input: &TurnInput,
    arguments: &Value,
    transcript: &[Entry],
    output: &mut TurnOutput,
) -> Result<Value, Value> {
    use interarec_constraints::consistency;
    let stated = interarec_constraints::from_summary(&input.summary, &input.catalog, input.capacity);
    // Only what the catalog can honour counts: the summary's facts in the catalog's spelling.
    let stated = interarec_constraints::validate(&input.catalog, &stated).arguments;
    // Evidence for values the offline filling did not take: the categories that state
    // preferences. Reviews, comparisons and promotions name every product on the page, and a
    // brand preference counts only where it is affirmed ("no clear preference" is not one).
    let summary = &input.summary;
    let brand = summary
        .brand_preference
        .as_ref()
        .map(|b| interarec_summary::affirmed_text(&b.to_string()))
        .unwrap_or_default();
    let summary_text = json!([summary.product_characteristics, summary.product_specifications, brand]).to_string();
    // Compared in the catalog's spelling (the call's own validation comes after).
    let normalized = interarec_constraints::validate(&input.catalog, arguments).arguments;
    let gaps = consistency::gaps(&stated, &summary_text, &normalized);
    if gaps.is_empty() {
        return Ok(arguments.clone());
    }
    let asked_before = transcript.iter().any(|entry| {
        matches!(entry, Entry::Result { call, outcome } if call.name == FUNCTION_NAME && outcome["ok"]["status"] == "inconsistent")
    });
    if !asked_before {
        output.events.push((
            "consistency".into(),
            json!({ "batch": input.batch, "gaps": gaps, "outcome": "sent back to the planner once" }),
        ));
        return Err(
            json!({ "ok": { "status": "inconsistent", "message": consistency::message(&gaps), "gaps": gaps, "summary_arguments": stated } }),
        );
    }
    let completed = consistency::complete(&normalized, &gaps);
    output.events.push((
        "consistency".into(),
        json!({ "batch": input.batch, "gaps": gaps, "filled": gaps.iter().map(|g| &g.field).collect::<Vec<_>>(), "arguments": completed, "outcome": "completed from the summary" }),
    ));
    Ok(completed)
}

/// Invokes a registered tool, recording the call as an event.
/// The validating tool's input: the catalog and the arguments, and the facts the summary says
/// were stated outright when the tool's schema takes them (`stated`; a tool written before it
/// existed gets the two fields its contract names).
fn validating_input(registry: &Registry, input: &TurnInput, arguments: &Value) -> Value {
    let mut call = json!({ "catalog_id": input.catalog.id, "arguments": arguments });
    let takes_stated = registry
        .describe(&input.validate_tool)
        .is_ok_and(|tool| tool.manifest.arguments_schema["properties"].get("stated").is_some());
    let stated = input.summary.stated_facts();
    if takes_stated && !stated.is_empty() {
        call["stated"] = json!(stated);
    }
    call
}

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
pub(crate) mod tests {
    use super::*;

    /// A turn's context over a small fashion catalog.
    pub(crate) fn context(summary: &str) -> TurnContext {
        TurnContext {
            input: TurnInput {
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
                validate_tool: VALIDATE_TOOL.into(),
                planner_tools: Vec::new(),
            },
            instruction: INSTRUCTION.into(),
            tools: Vec::new(),
        }
    }
}
