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
//! says so), merging with the session's current constraints (`interarec_constraints::merge`:
//! recent evidence wins field by field), then the `assortment` tool over the session's catalog
//! and choice model.
//!
//! The turn loop is in [`turn`], one call's execution in `call`; [`Planners`] picks a session's
//! planner. The agent reaches tools only through [`interarec_core::Tools`]: it knows nothing of
//! gRPC, the registry or the plugin host.
//!
//! Two planners behind one trait and one event stream: the embedded offline planner
//! ([`offline`], deterministic, the default) and the network planner ([`openai`], function
//! calling at an OpenAI-compatible endpoint). When the network planner fails mid-turn, the
//! offline planner finishes the turn and a `planner-error` event says so. Every planner step
//! (action, duration, tokens) and tool call (arguments, result or error, duration) is a session
//! event, so a session can be audited and replayed from the store.

mod call;
pub mod offline;
pub mod openai;
mod planners;
mod turn;

use interarec_constraints::CatalogFacts;
use interarec_core::event::{EventPayload, Fallback};
use interarec_llm::Provider;
use interarec_summary::Summary;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use offline::OfflinePlanner;
pub use openai::{NetworkPlannerSettings, OpenAiPlanner};
pub use planners::Planners;
pub use turn::run_turn;

/// Default planner steps per turn.
pub const MAX_STEPS: usize = 8;
/// Most steps a configuration may allow.
pub const MAX_STEPS_LIMIT: usize = 32;
/// Default wall time of a turn.
pub const TURN_DEADLINE: Duration = Duration::from_secs(30);
pub use interarec_core::tools::pipeline::{ASSORTMENT_TOOL, VALIDATE_TOOL};

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

/// A tool as the planner sees it: the same shape the `planner-context` event records.
pub use interarec_core::event::OfferedTool as ToolSpec;

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
    /// Each event's payload, in order.
    pub events: Vec<EventPayload>,
    /// The merged constraint arguments, when the function ran.
    pub constraints: Option<Value>,
    /// Why the offline planner finished the turn in place of the session's planner, when it did.
    pub fallback: Option<Fallback>,
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
