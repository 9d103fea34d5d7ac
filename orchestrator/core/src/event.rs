//! The session event protocol: one [`EventKind`] per thing that happens in a session and one
//! payload struct per kind, gathered in [`EventPayload`]. Sessions and the agent build payloads,
//! the gRPC layer, the CLI and the tests read them; on the wire and in the store a payload is
//! the same JSON object it always was (`SessionEvent.payload`), so logs written before the types
//! existed still read.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Declares the kinds, their wire names and payload types in one table, so the enum, the
/// names and the conversions cannot disagree.
macro_rules! event_kinds {
    ($($variant:ident = $name:literal => $payload:ident,)*) => {
        /// What happened in a session (`SessionEvent.kind` on the wire).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventKind {
            $(
                #[doc = concat!("`", $name, "`: see [`", stringify!($payload), "`].")]
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl EventKind {
            /// Every kind, in the order of the protocol's table.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The wire name (`session-ended`, ...).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)*
                }
            }

            /// The kind with this wire name.
            pub fn parse(name: &str) -> Option<EventKind> {
                match name {
                    $($name => Some(EventKind::$variant),)*
                    _ => None,
                }
            }
        }

        /// A typed event payload.
        #[derive(Debug, Clone, PartialEq)]
        pub enum EventPayload {
            $(
                #[doc = concat!("`", $name, "`.")]
                $variant($payload),
            )*
        }

        impl EventPayload {
            /// Its kind.
            pub fn kind(&self) -> EventKind {
                match self {
                    $(EventPayload::$variant(_) => EventKind::$variant,)*
                }
            }

            /// The JSON object stored and sent for it.
            pub fn to_value(&self) -> Value {
                let value = match self {
                    $(EventPayload::$variant(payload) => serde_json::to_value(payload),)*
                };
                // Plain structs of JSON-friendly fields always serialise.
                value.unwrap_or(Value::Null)
            }

            /// Reads a stored or received payload of `kind`.
            pub fn from_value(kind: EventKind, payload: Value) -> Result<EventPayload, serde_json::Error> {
                Ok(match kind {
                    $(EventKind::$variant => EventPayload::$variant(serde_json::from_value(payload)?),)*
                })
            }
        }

        $(
            impl From<$payload> for EventPayload {
                fn from(payload: $payload) -> EventPayload {
                    EventPayload::$variant(payload)
                }
            }
        )*
    };
}

event_kinds! {
    FrameRejected = "frame-rejected" => FrameRejected,
    Batch = "batch" => BatchClosed,
    Summary = "summary" => BatchSummary,
    PlannerContext = "planner-context" => PlannerContext,
    PlannerStep = "planner-step" => PlannerStep,
    PlannerError = "planner-error" => PlannerError,
    PlannerStopped = "planner-stopped" => PlannerStopped,
    PlannerSkipped = "planner-skipped" => PlannerSkipped,
    ToolCall = "tool-call" => ToolCalled,
    Validation = "validation" => Validation,
    Consistency = "consistency" => Consistency,
    Constraints = "constraints" => ConstraintsMerged,
    Assortment = "assortment" => AssortmentChosen,
    Recommendation = "recommendation" => Recommendation,
    SessionEnded = "session-ended" => SessionEnded,
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;

    fn from_str(name: &str) -> Result<EventKind, String> {
        EventKind::parse(name).ok_or_else(|| {
            let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
            format!("unknown event kind `{name}`; the kinds are {}", known.join(", "))
        })
    }
}

/// A frame the session refused (the stream goes on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameRejected {
    /// The frame's sequence.
    pub sequence: u64,
    /// Why, and what to send instead.
    pub reason: String,
}

/// Why a batch closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClosedBy {
    /// It held the session's batch size.
    Size,
    /// Its first frame grew older than the session's interval.
    Interval,
    /// The session ended.
    End,
    /// `RecommendNow` asked for it.
    RecommendNow,
}

/// A batch closed, and what the `capture` tool kept of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchClosed {
    /// The window's frame sequences.
    pub frames: Vec<u64>,
    /// Why it closed.
    pub closed_by: ClosedBy,
    /// Capture time of its first frame.
    pub first_captured_at_unix_ms: Option<u64>,
    /// Capture time of its last frame.
    pub last_captured_at_unix_ms: Option<u64>,
    /// Kept frames as the capture tool lists them (`[{"frame": "3", ...}]`).
    pub kept: Value,
    /// Dropped frames with the reason.
    pub dropped: Value,
    /// Whether the capture tool ran (otherwise every frame is kept).
    pub deduplicated: bool,
    /// Why the frames were not de-duplicated, when they were not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl BatchClosed {
    /// The kept frames' ids, in order.
    pub fn kept_frames(&self) -> Vec<String> {
        self.kept
            .as_array()
            .map(|kept| {
                kept.iter()
                    .filter_map(|k| k["frame"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The `summarize` tool's answer for a batch (or its error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSummary {
    /// The batch number.
    pub batch: u64,
    /// The frames summarised.
    pub frames: Vec<String>,
    /// How long the tool took.
    pub millis: u64,
    /// The tool's answer as it gave it (`summary`, `raw`, `provider`, ...) or `error`.
    #[serde(flatten)]
    pub answer: Map<String, Value>,
}

impl BatchSummary {
    /// The typed summary, when the tool produced one.
    pub fn summary(&self) -> Option<&Value> {
        self.answer.get("summary").filter(|summary| !summary.is_null())
    }

    /// The tool's error, when it failed.
    pub fn error(&self) -> Option<&str> {
        self.answer.get("error").and_then(Value::as_str)
    }
}

/// The catalog as a planner's context names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogBrief {
    /// Catalog id.
    pub id: String,
    /// Lowest price in it.
    pub price_min: f64,
    /// Highest price in it.
    pub price_max: f64,
}

/// A tool as offered to a planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferedTool {
    /// Name to call it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its arguments.
    pub parameters: Value,
}

/// A turn's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnLimits {
    /// Planner steps.
    pub max_steps: u64,
    /// Wall time.
    pub turn_timeout_ms: u64,
}

/// Everything a planner was given for a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerContext {
    /// Batch number.
    pub batch: u64,
    /// Who plans.
    pub planner: String,
    /// The instruction.
    pub instruction: String,
    /// The batch's summary.
    pub summary: Value,
    /// The session's constraint arguments so far.
    pub current_constraints: Option<Value>,
    /// The catalog browsed.
    pub catalog: CatalogBrief,
    /// The tools offered.
    pub tools: Vec<OfferedTool>,
    /// The turn's limits.
    pub limits: TurnLimits,
}

/// What a planner step asked for: `{"calls": [...]}` or `{"final": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlannerAction {
    /// Calls, each `{id, name, arguments, ...}`.
    Calls(Vec<Value>),
    /// The answer for the shopper.
    Final(String),
}

/// One planner step and its cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerStep {
    /// Batch number.
    pub batch: u64,
    /// Step within the turn, from 1.
    pub step: u64,
    /// Who planned it.
    pub planner: String,
    /// The model that answered (empty offline).
    pub model: String,
    /// What it asked for.
    pub action: PlannerAction,
    /// How long it took.
    pub millis: f64,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Answer tokens.
    pub completion_tokens: u32,
    /// What was trimmed from the request to fit the context.
    pub request_trimmed: Vec<String>,
}

/// The session's planner failed; the offline planner finishes the turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerError {
    /// Batch number.
    pub batch: u64,
    /// The step that failed (absent when no step ran: no endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// The planner that failed.
    pub planner: String,
    /// The cause in a word (`timeout`, `no-call`, `no-endpoint`, `message-shape`, ...).
    pub cause: String,
    /// What went wrong.
    pub error: String,
    /// Who finishes the turn.
    pub fallback: String,
}

/// A turn ended early.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerStopped {
    /// Batch number.
    pub batch: u64,
    /// The step it stopped at, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    /// Why.
    pub reason: String,
}

/// A recommending session's turn could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerSkipped {
    /// Batch number.
    pub batch: u64,
    /// Why, and what to do.
    pub reason: String,
}

/// A registered tool the turn invoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCalled {
    /// Batch number.
    pub batch: u64,
    /// The tool.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
    /// Its result (null when it failed).
    pub result: Option<Value>,
    /// Its error (null when it answered).
    pub error: Option<Value>,
    /// How long it took.
    pub millis: f64,
}

/// Which arguments a validation checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationStage {
    /// The planner's call.
    Arguments,
    /// The call merged with the session's constraints so far.
    Merged,
}

/// The session's validating tool's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// Batch number.
    pub batch: u64,
    /// Which try of the planner's (arguments stage only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u64>,
    /// What was checked.
    pub stage: ValidationStage,
    /// The validating tool.
    pub tool: String,
    /// Whether the arguments were valid as given.
    pub valid: bool,
    /// What was wrong.
    pub violations: Value,
    /// The arguments with the invalid parts repaired or dropped.
    pub repaired_arguments: Value,
    /// What happened next.
    pub outcome: String,
}

/// A network planner's call compared with the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consistency {
    /// Batch number.
    pub batch: u64,
    /// Omitted, contradicted, broadened or unsupported fields.
    pub gaps: Value,
    /// The fields completed from the summary (second time only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filled: Option<Vec<String>>,
    /// The completed arguments (second time only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// What was done.
    pub outcome: String,
}

/// The session's constraint arguments after merging this turn's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintsMerged {
    /// Batch number.
    pub batch: u64,
    /// The merged arguments.
    pub arguments: Value,
    /// What changed, field by field.
    pub changes: Value,
    /// The merging policy in words.
    pub policy: String,
    /// Facts resting only on what was viewed.
    pub viewed_only: Vec<String>,
}

/// The `assortment` tool's choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssortmentChosen {
    /// Batch number.
    pub batch: u64,
    /// The tool's recommendation.
    pub recommendation: Value,
}

/// Why the offline planner finished a turn in place of the session's planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fallback {
    /// The planner that failed.
    pub from: String,
    /// The step it failed at (0: before any).
    pub step: u64,
    /// The cause in a word.
    pub cause: String,
    /// What went wrong.
    pub error: String,
}

/// The products shown and the answer for the shopper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Batch number.
    pub batch: u64,
    /// The answer text.
    pub answer: String,
    /// The products, with prices and purchase probabilities.
    pub items: Value,
    /// Expected revenue of the assortment.
    pub expected_revenue: Value,
    /// Probability of buying nothing.
    pub no_purchase_probability: Value,
    /// The constraint arguments used.
    pub constraints: Option<Value>,
    /// Who answered.
    pub planner: String,
    /// Why the offline planner finished the turn, when it did.
    pub fallback: Option<Fallback>,
    /// Turn time so far.
    pub millis: f64,
}

/// The session ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEnded {
    /// Frames accepted.
    pub frames_accepted: u64,
    /// Frames rejected.
    pub frames_rejected: u64,
    /// Batches formed.
    pub batches: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_round_trips_its_wire_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(*kind));
        }
        assert!(
            "frame-accepted"
                .parse::<EventKind>()
                .unwrap_err()
                .contains("session-ended")
        );
    }

    /// Payloads as the server wrote them before the types existed read, and write back the same.
    #[test]
    fn stored_payloads_read_and_write_back_unchanged() {
        let cases = [
            (EventKind::FrameRejected, json!({"sequence": 3, "reason": "too big"})),
            (
                EventKind::Batch,
                json!({"frames": [1, 2], "closed_by": "recommend-now", "first_captured_at_unix_ms": 5, "last_captured_at_unix_ms": null,
                       "kept": [{"frame": "1"}], "dropped": [], "deduplicated": false, "note": "frames not de-duplicated"}),
            ),
            (
                EventKind::Summary,
                json!({"batch": 1, "frames": ["1"], "millis": 12, "summary": {"brand": "Nike"}, "provider": "offline"}),
            ),
            (
                EventKind::PlannerStep,
                json!({"batch": 1, "step": 1, "planner": "offline", "model": "", "action": {"final": "ok"}, "millis": 0.5,
                       "prompt_tokens": 0, "completion_tokens": 0, "request_trimmed": []}),
            ),
            (
                EventKind::PlannerError,
                json!({"batch": 2, "planner": "openai", "cause": "no-endpoint", "error": "gone", "fallback": "offline"}),
            ),
            (
                EventKind::ToolCall,
                json!({"batch": 1, "tool": "validate", "arguments": {}, "result": null, "error": "boom", "millis": 1.0}),
            ),
            (
                EventKind::Recommendation,
                json!({"batch": 1, "answer": "a", "items": [], "expected_revenue": 1.5, "no_purchase_probability": 0.2,
                       "constraints": null, "planner": "offline", "fallback": {"from": "openai", "step": 0, "cause": "no-endpoint", "error": "e"}, "millis": 3.0}),
            ),
            (
                EventKind::SessionEnded,
                json!({"frames_accepted": 4, "frames_rejected": 1, "batches": 1}),
            ),
        ];
        for (kind, stored) in cases {
            let payload = EventPayload::from_value(kind, stored.clone()).unwrap();
            assert_eq!(payload.kind(), kind);
            assert_eq!(payload.to_value(), stored, "{kind}");
        }
    }

    #[test]
    fn kept_frames_and_summary_accessors_read_the_payload() {
        let batch: BatchClosed = serde_json::from_value(json!({"frames": [1, 2], "closed_by": "size", "first_captured_at_unix_ms": 1,
            "last_captured_at_unix_ms": 2, "kept": [{"frame": "1"}, {"frame": "2"}], "dropped": [], "deduplicated": true}))
        .unwrap();
        assert_eq!(batch.kept_frames(), ["1", "2"]);
        let failed: BatchSummary = serde_json::from_value(
            json!({"batch": 1, "frames": [], "millis": 0, "summary": null, "error": "no model"}),
        )
        .unwrap();
        assert_eq!((failed.summary(), failed.error()), (None, Some("no model")));
    }
}
