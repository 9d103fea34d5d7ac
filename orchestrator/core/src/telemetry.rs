//! The names, units and meanings of the metrics every crate records (through the `metrics`
//! facade; the server installs the Prometheus recorder and serves them). One table here, so the
//! README's list, the server's descriptions and the recording sites cannot drift apart.
//!
//! Labels take values from small fixed sets (a method path the router knows, a tool name the
//! registry holds, an outcome word): a client cannot grow the number of series.

/// How a metric aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up.
    Counter,
    /// A value at scrape time.
    Gauge,
    /// A distribution, rendered as a Prometheus histogram (seconds).
    Histogram,
}

/// One metric: its name, kind, labels and meaning.
#[derive(Debug, Clone, Copy)]
pub struct MetricSpec {
    /// Prometheus name (`interarec_…`; counters end in `_total`, durations in `_seconds`).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Its label names.
    pub labels: &'static [&'static str],
    /// What it counts or measures.
    pub help: &'static str,
}

/// gRPC calls finished, by method and status code.
pub const RPC_REQUESTS: &str = "interarec_rpc_requests_total";
/// gRPC call time, from the request's arrival to the end of its response (a stream's whole life).
pub const RPC_DURATION: &str = "interarec_rpc_duration_seconds";
/// Tool calls by tool and outcome.
pub const TOOL_CALLS: &str = "interarec_tool_calls_total";
/// Tool call time, including waiting for a slot.
pub const TOOL_CALL_DURATION: &str = "interarec_tool_call_duration_seconds";
/// Frames acknowledged (stored and flushed).
pub const FRAMES_ACKNOWLEDGED: &str = "interarec_frames_acknowledged_total";
/// Frames refused, by reason.
pub const FRAMES_REFUSED: &str = "interarec_frames_refused_total";
/// Batches closed.
pub const BATCHES_CLOSED: &str = "interarec_batches_closed_total";
/// From a batch's closing to its turn's events (the recommendation, or why there is none).
pub const BATCH_TO_RECOMMENDATION: &str = "interarec_batch_to_recommendation_seconds";
/// Reading one frame's text (OCR).
pub const OCR_FRAME_DURATION: &str = "interarec_ocr_frame_seconds";
/// Planner turns by planner and result.
pub const PLANNER_TURNS: &str = "interarec_planner_turns_total";
/// Planner steps (model answers or offline decisions), by planner.
pub const PLANNER_STEPS: &str = "interarec_planner_steps_total";
/// Calls to the model endpoint by outcome.
pub const MODEL_CALLS: &str = "interarec_model_calls_total";
/// Time of one call to the model endpoint (all its retries).
pub const MODEL_CALL_DURATION: &str = "interarec_model_call_duration_seconds";
/// Tokens the model endpoint reported, by kind (`prompt`, `completion`).
pub const MODEL_TOKENS: &str = "interarec_model_tokens_total";
/// Sessions held in memory.
pub const LIVE_SESSIONS: &str = "interarec_live_sessions";
/// Plugin call slots in use.
pub const PLUGIN_SLOTS_IN_USE: &str = "interarec_plugin_slots_in_use";
/// Plugin call slots in all (`limits.max_concurrent_calls`).
pub const PLUGIN_SLOTS: &str = "interarec_plugin_slots";

/// Every metric, in the order the README lists them.
pub const METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: RPC_REQUESTS,
        kind: MetricKind::Counter,
        labels: &["method", "code"],
        help: "gRPC calls finished, by method (`Service/Method`) and status code",
    },
    MetricSpec {
        name: RPC_DURATION,
        kind: MetricKind::Histogram,
        labels: &["method"],
        help: "gRPC call time in seconds, from arrival to the end of the response (a stream's whole life)",
    },
    MetricSpec {
        name: TOOL_CALLS,
        kind: MetricKind::Counter,
        labels: &["tool", "outcome"],
        help: "tool calls by tool and outcome (ok, or the failure's kind)",
    },
    MetricSpec {
        name: TOOL_CALL_DURATION,
        kind: MetricKind::Histogram,
        labels: &["tool"],
        help: "tool call time in seconds, including the wait for a slot",
    },
    MetricSpec {
        name: FRAMES_ACKNOWLEDGED,
        kind: MetricKind::Counter,
        labels: &[],
        help: "frames stored, flushed and acknowledged",
    },
    MetricSpec {
        name: FRAMES_REFUSED,
        kind: MetricKind::Counter,
        labels: &["reason"],
        help: "frames refused: `invalid` (a field or the image), `out-of-order` (a sequence already used)",
    },
    MetricSpec {
        name: BATCHES_CLOSED,
        kind: MetricKind::Counter,
        labels: &[],
        help: "batches closed",
    },
    MetricSpec {
        name: BATCH_TO_RECOMMENDATION,
        kind: MetricKind::Histogram,
        labels: &[],
        help: "seconds from a batch's closing to its turn's events (a recommendation, or why there is none)",
    },
    MetricSpec {
        name: OCR_FRAME_DURATION,
        kind: MetricKind::Histogram,
        labels: &["engine"],
        help: "seconds to read one frame's text",
    },
    MetricSpec {
        name: PLANNER_TURNS,
        kind: MetricKind::Counter,
        labels: &["planner", "result"],
        help: "planner turns by planner and result (`recommended`, `fallback`, `failed`)",
    },
    MetricSpec {
        name: PLANNER_STEPS,
        kind: MetricKind::Counter,
        labels: &["planner"],
        help: "planner steps (one model answer or offline decision each)",
    },
    MetricSpec {
        name: MODEL_CALLS,
        kind: MetricKind::Counter,
        labels: &["outcome"],
        help: "calls to the OpenAI-compatible endpoint by outcome (`ok` or the error's cause)",
    },
    MetricSpec {
        name: MODEL_CALL_DURATION,
        kind: MetricKind::Histogram,
        labels: &[],
        help: "seconds of one call to the model endpoint, retries included",
    },
    MetricSpec {
        name: MODEL_TOKENS,
        kind: MetricKind::Counter,
        labels: &["kind"],
        help: "tokens the model endpoint reported (`prompt`, `completion`)",
    },
    MetricSpec {
        name: LIVE_SESSIONS,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "sessions held in memory (a stream, a watcher or a batch in progress)",
    },
    MetricSpec {
        name: PLUGIN_SLOTS_IN_USE,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "tool call slots in use",
    },
    MetricSpec {
        name: PLUGIN_SLOTS,
        kind: MetricKind::Gauge,
        labels: &[],
        help: "tool call slots in all (limits.max_concurrent_calls)",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for spec in METRICS {
            assert!(seen.insert(spec.name), "{} is listed twice", spec.name);
            assert!(spec.name.starts_with("interarec_"), "{}", spec.name);
            assert!(
                spec.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                spec.name
            );
            match spec.kind {
                MetricKind::Counter => assert!(spec.name.ends_with("_total"), "{}", spec.name),
                MetricKind::Histogram => assert!(spec.name.ends_with("_seconds"), "{}", spec.name),
                MetricKind::Gauge => assert!(!spec.name.ends_with("_total"), "{}", spec.name),
            }
        }
    }
}
