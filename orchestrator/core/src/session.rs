//! Browsing sessions as stored: the session record with its options and counters, the metadata
//! of each accepted frame (keyed by session and sequence; the bytes live content-addressed), and
//! the session's append-only event log.

use crate::event::{EventKind, EventPayload};
use serde::{Deserialize, Serialize};

/// Frames per batch when not configured (the paper's batch size).
pub const DEFAULT_BATCH_SIZE: u32 = 10;
/// A batch also closes when its first frame is this old.
pub const DEFAULT_BATCH_INTERVAL_MS: u64 = 20_000;
/// Longest side frames are downscaled to before hashing.
pub const DEFAULT_MAX_SIDE: u32 = 512;
/// Hamming distance (of 64 bits) up to which a frame counts as static.
pub const DEFAULT_STATIC_THRESHOLD_BITS: u32 = 4;

/// How a session batches and de-duplicates its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOptions {
    /// Frames (arrived) per batch.
    pub batch_size: u32,
    /// A batch closes when its first frame is this old, full or not.
    pub batch_interval_ms: u64,
    /// Longest side for the perceptual hash.
    pub max_side: u32,
    /// Static-frame threshold in bits.
    pub static_threshold_bits: u32,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            batch_interval_ms: DEFAULT_BATCH_INTERVAL_MS,
            max_side: DEFAULT_MAX_SIDE,
            static_threshold_bits: DEFAULT_STATIC_THRESHOLD_BITS,
        }
    }
}

impl SessionOptions {
    /// Options with zeros replaced by defaults, refusing values outside their documented range.
    pub fn resolve(
        batch_size: u32,
        batch_interval_ms: u64,
        max_side: u32,
        static_threshold_bits: u32,
    ) -> Result<SessionOptions, String> {
        let defaults = SessionOptions::default();
        let pick = |value: u64, default: u64| if value == 0 { default } else { value };
        let options = SessionOptions {
            batch_size: pick(batch_size.into(), defaults.batch_size.into()) as u32,
            batch_interval_ms: pick(batch_interval_ms, defaults.batch_interval_ms),
            max_side: pick(max_side.into(), defaults.max_side.into()) as u32,
            static_threshold_bits: pick(static_threshold_bits.into(), defaults.static_threshold_bits.into()) as u32,
        };
        if options.batch_size > 100 {
            return Err(format!(
                "batch_size {} is over 100 frames; use at most 100",
                options.batch_size
            ));
        }
        if !(100..=3_600_000).contains(&options.batch_interval_ms) {
            return Err(format!(
                "batch_interval_ms {} is outside 100 ms to 1 hour",
                options.batch_interval_ms
            ));
        }
        if !(16..=4096).contains(&options.max_side) {
            return Err(format!("max_side {} is outside 16 to 4096 pixels", options.max_side));
        }
        if options.static_threshold_bits > 32 {
            return Err(format!(
                "static_threshold_bits {} is over 32 of 64 bits; such frames are not near-duplicates",
                options.static_threshold_bits
            ));
        }
        Ok(options)
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Session id.
    pub id: String,
    /// The catalog browsed (empty when not given).
    pub catalog_id: String,
    /// Batching options.
    pub options: SessionOptions,
    /// Creation time.
    pub created_at_unix_ms: u64,
    /// Whether `EndSession` closed it.
    pub ended: bool,
    /// Frames accepted.
    pub frames_accepted: u64,
    /// Frames rejected.
    pub frames_rejected: u64,
    /// Highest accepted sequence (0: none yet).
    pub last_sequence: u64,
    /// Every accepted frame up to this sequence is in a batch; later ones are pending.
    pub batched_through: u64,
    /// Batches formed.
    pub batches: u64,
    /// Events appended.
    pub events: u64,
    /// The latest batch summary (the `summarize` tool's typed summary), given to the next batch
    /// as context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_summary: Option<serde_json::Value>,
    /// The choice model recommendations use (empty: the session only summarises).
    #[serde(default)]
    pub model_id: String,
    /// Products to recommend (0: the default).
    #[serde(default)]
    pub capacity: u32,
    /// The constraint function's arguments so far, merged across batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<serde_json::Value>,
    /// Who plans the session's turns (`offline` or `openai`; empty in records written before
    /// sessions chose: the server's default).
    #[serde(default)]
    pub planner: String,
    /// Who answers the session's `models` calls (`offline` or `openai`; empty: the default).
    #[serde(default)]
    pub vision_provider: String,
    /// The tool that validates the constraint function's arguments (empty: `validate`); a
    /// domain plugin registered at run time can take its place for one session.
    #[serde(default)]
    pub validate_tool: String,
    /// Registered tools the session's planner is offered besides the constraint function and
    /// the validating tool (empty: none; the pipeline's own tools only when named here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planner_tools: Vec<String>,
    /// Planner turns run.
    #[serde(default)]
    pub planner_turns: u64,
    /// Turns the offline planner finished because the session's planner failed.
    #[serde(default)]
    pub fallback_turns: u64,
    /// The SHA-256 fingerprint of the session's credential ([`crate::secret`]); the credential
    /// itself is shown once, by `CreateSession`. Empty in records written before credentials:
    /// only the admin token opens those.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential_sha256: String,
    /// The batch between its closing and the end of its planner's turn, when there is one. Each
    /// step of a batch commits by writing this record, so a restart (or the next tick after a
    /// failed step) resumes the batch at the step that did not commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<BatchInFlight>,
}

/// A closed batch still on its way to a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchInFlight {
    /// Its number (1-based).
    pub batch: u64,
    /// The frames the `capture` tool kept.
    pub kept: Vec<String>,
    /// The summary before this batch, the context of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_summary: Option<serde_json::Value>,
    /// The last step that committed.
    pub stage: BatchStage,
    /// When it closed (0 in records written before this was kept).
    #[serde(default)]
    pub closed_at_unix_ms: u64,
}

/// The steps of a batch after it closed: summarised, then the planner's turn (which ends it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BatchStage {
    /// The batch event is in the log; the summary is next.
    Closed,
    /// The summary event is in the log; the planner's turn is next. `unreadable` holds why the
    /// summary could not be read, when it could not (the turn then says so instead of planning).
    Summarized {
        /// Why the summary could not be read, if it could not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unreadable: Option<String>,
    },
}

/// An accepted frame's metadata (its bytes are stored under `frame_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameMeta {
    /// Sequence within the session.
    pub sequence: u64,
    /// sha256 of the bytes, hex.
    pub frame_id: String,
    /// `image/png` or `image/jpeg`, sniffed.
    pub mime: String,
    /// Decoded width.
    pub width: u32,
    /// Decoded height.
    pub height: u32,
    /// Size of the bytes.
    pub bytes: u64,
    /// Client's capture time.
    pub captured_at_unix_ms: u64,
    /// Server's receive time.
    pub received_at_unix_ms: u64,
    /// Page URL.
    pub url: String,
    /// Viewport size as the client reported it.
    pub viewport_width: u32,
    /// Viewport height.
    pub viewport_height: u32,
    /// Visible DOM text (evaluation ground truth; never read by the pipeline).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dom_text: String,
    /// The same bytes were already stored when this frame arrived (stored once).
    #[serde(default)]
    pub shared_bytes: bool,
}

/// One entry of a session's event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// Session id.
    pub session_id: String,
    /// Position in the log, from 1.
    pub sequence: u64,
    /// When it happened.
    pub at_unix_ms: u64,
    /// What happened.
    pub kind: EventKind,
    /// Details, by kind (the JSON of an [`EventPayload`]).
    pub payload: serde_json::Value,
}

impl SessionEvent {
    /// The event recording `payload`.
    pub fn new(session_id: &str, sequence: u64, at_unix_ms: u64, payload: &EventPayload) -> SessionEvent {
        SessionEvent {
            session_id: session_id.to_owned(),
            sequence,
            at_unix_ms,
            kind: payload.kind(),
            payload: payload.to_value(),
        }
    }

    /// The payload, typed.
    pub fn typed(&self) -> Result<EventPayload, serde_json::Error> {
        EventPayload::from_value(self.kind, self.payload.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_zeros_and_refuse_out_of_range_values() {
        let cases: Vec<((u32, u64, u32, u32), Result<SessionOptions, &str>)> = vec![
            ((0, 0, 0, 0), Ok(SessionOptions::default())),
            (
                (5, 2_000, 256, 0),
                Ok(SessionOptions {
                    batch_size: 5,
                    batch_interval_ms: 2_000,
                    max_side: 256,
                    static_threshold_bits: DEFAULT_STATIC_THRESHOLD_BITS,
                }),
            ),
            ((101, 0, 0, 0), Err("batch_size 101 is over 100")),
            ((0, 50, 0, 0), Err("batch_interval_ms 50 is outside")),
            ((0, 0, 8, 0), Err("max_side 8 is outside")),
            ((0, 0, 0, 33), Err("static_threshold_bits 33 is over 32")),
        ];
        for ((size, interval, side, bits), expected) in cases {
            let got = SessionOptions::resolve(size, interval, side, bits);
            match expected {
                Ok(options) => assert_eq!(got, Ok(options)),
                Err(text) => assert!(got.unwrap_err().starts_with(text)),
            }
        }
    }
}
