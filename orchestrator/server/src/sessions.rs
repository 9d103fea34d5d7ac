//! Browsing sessions over the store: frames are validated (format sniffed from the bytes, size
//! and dimensions bounded, fully decoded), stored content-addressed, and acknowledged only once
//! durable; pending frames close into batches (N frames, or the first one T old, or the session's
//! end), which the `capture` tool de-duplicates; everything that happens is an event in the
//! session's log and on its live feed. Knows nothing of gRPC.
//!
//! Flush policy (group commit): the frames of one `accept` call (a Browse stream hands over every
//! frame already received, up to [`MAX_GROUP`]) are written, then the store is flushed once, then
//! all of them are acknowledged. An acknowledged frame is on disk; a frame not yet acknowledged
//! when the server dies may be lost and must be sent again (its sequence makes that safe).

use crate::config::Provider;
use crate::registry::Registry;
use interarec_core::session::{FrameMeta, SessionEvent, SessionOptions, SessionRecord};
use interarec_store::{Store, StoreError};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Largest frame accepted, in bytes.
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
/// Largest Browse or UploadFrame message read: an oversize frame up to this size is rejected
/// with a reason (the stream goes on); a larger message ends the stream with an error.
pub const MAX_MESSAGE_BYTES: usize = 2 * MAX_FRAME_BYTES + 1024 * 1024;
/// Largest width or height accepted.
pub const MAX_FRAME_SIDE: u32 = 4096;
/// Smallest width or height accepted.
pub const MIN_FRAME_SIDE: u32 = 16;
/// Most frames stored under one flush.
pub const MAX_GROUP: usize = 32;
/// Events kept for a slow live subscriber before it is told it lagged (the log keeps all).
pub const LIVE_EVENT_BUFFER: usize = 1024;
/// The tool that de-duplicates batches.
pub const CAPTURE_TOOL: &str = "capture";
/// Name under which the summarizing tool is registered (`plugins/summarize`); when present,
/// every batch is summarised after it closes.
pub const SUMMARIZE_TOOL: &str = "summarize";
/// Most tools a session may offer its planner besides the constraint function and validator.
pub const MAX_PLANNER_TOOLS: usize = 16;

/// Why a session operation failed (a single frame's problem is a rejection, not an error).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The id breaks the naming rule.
    #[error(
        "session id `{0}` is invalid: use lowercase letters, digits and `-`, starting with a letter, at most 64 characters"
    )]
    InvalidId(String),
    /// Bad options or request.
    #[error("{0}")]
    BadRequest(String),
    /// The id is taken.
    #[error("session `{0}` already exists; pick another id or leave it empty for a generated one")]
    Exists(String),
    /// No such session.
    #[error("no session `{0}`; `interarec session list` shows the sessions")]
    NotFound(String),
    /// The session was ended.
    #[error("session `{0}` has ended; create a new session to send more frames")]
    Ended(String),
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A frame as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct IncomingFrame {
    /// Per-session sequence, strictly increasing.
    pub sequence: u64,
    /// Capture time.
    pub captured_at_unix_ms: u64,
    /// Page URL.
    pub url: String,
    /// Viewport width.
    pub viewport_width: u32,
    /// Viewport height.
    pub viewport_height: u32,
    /// PNG or JPEG bytes.
    pub image: Vec<u8>,
    /// Visible DOM text (ground truth; stored, never read by the pipeline).
    pub dom_text: String,
}

/// The answer to one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameOutcome {
    /// The frame's sequence.
    pub sequence: u64,
    /// Stored and durable.
    pub accepted: bool,
    /// Content address (sha256 hex).
    pub frame_id: String,
    /// The bytes were already stored.
    pub deduplicated_bytes: bool,
    /// Decoded width.
    pub width: u32,
    /// Decoded height.
    pub height: u32,
    /// Sniffed type.
    pub mime: String,
    /// Why it was refused.
    pub reason: String,
}

/// What a valid image is.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFacts {
    /// `image/png` or `image/jpeg`.
    pub mime: &'static str,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Checks that `bytes` are a PNG or JPEG (by their signature, not a name) of bounded size and
/// dimensions that decodes completely.
pub fn inspect_image(bytes: &[u8]) -> Result<ImageFacts, String> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(format!(
            "the frame is {} bytes, over the {MAX_FRAME_BYTES}-byte limit; send JPEG or a smaller viewport",
            bytes.len()
        ));
    }
    let (format, mime) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        (image::ImageFormat::Png, "image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        (image::ImageFormat::Jpeg, "image/jpeg")
    } else {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Err(format!(
            "the frame is not a PNG or JPEG image (it starts with {}); send PNG or JPEG bytes",
            if head.is_empty() {
                "nothing".to_owned()
            } else {
                head.join(" ")
            }
        ));
    };
    // The JPEG decoder fills a cut-off image with grey instead of failing; the end marker says
    // whether the whole picture arrived (encoders may pad a little after it).
    if format == image::ImageFormat::Jpeg {
        let tail = &bytes[bytes.len().saturating_sub(64)..];
        if !tail.windows(2).any(|pair| pair == [0xFF, 0xD9]) {
            return Err("the JPEG is cut off (it has no end-of-image marker); send the whole file".to_owned());
        }
    }
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| format!("the {mime} header cannot be read: {e}"))?;
    for (name, side) in [("width", width), ("height", height)] {
        if !(MIN_FRAME_SIDE..=MAX_FRAME_SIDE).contains(&side) {
            return Err(format!(
                "the frame's {name} is {side} pixels, outside {MIN_FRAME_SIDE} to {MAX_FRAME_SIDE}"
            ));
        }
    }
    image::load_from_memory_with_format(bytes, format).map_err(|e| format!("the {mime} image does not decode: {e}"))?;
    Ok(ImageFacts { mime, width, height })
}

struct Live {
    record: tokio::sync::Mutex<SessionRecord>,
    /// Serialises batch formation (the tool runs without holding `record`).
    batching: tokio::sync::Mutex<()>,
    events: broadcast::Sender<SessionEvent>,
}

/// What `CreateSession` asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewSession<'a> {
    /// Id (empty: generated).
    pub id: &'a str,
    /// Catalog browsed (optional until recommendations are asked for).
    pub catalog_id: &'a str,
    /// Batching options.
    pub options: SessionOptions,
    /// Choice model (empty: the session only summarises).
    pub model_id: &'a str,
    /// Products to recommend (0: the default).
    pub capacity: u32,
    /// `offline`, `openai`, or empty for the server's default.
    pub planner: &'a str,
    /// `offline`, `openai`, or empty for the server's default.
    pub vision_provider: &'a str,
    /// The validating tool (empty: `validate`).
    pub validate_tool: &'a str,
    /// Tools offered to the planner besides the constraint function and the validating tool.
    pub planner_tools: &'a [String],
}

/// The model-backed choices a server offers its sessions.
#[derive(Clone, Default)]
pub struct Orchestration {
    /// Default planner and per-turn limits.
    pub agent: crate::agent::AgentConfig,
    /// Default vision provider.
    pub vision: Provider,
    /// The network planner, when an OpenAI-compatible endpoint is configured.
    pub network_planner: Option<Arc<crate::agent::OpenAiPlanner>>,
}

/// Session operations. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    registry: Registry,
    live: Arc<Mutex<HashMap<String, Arc<Live>>>>,
    ocr: Option<Arc<crate::vision::OcrPages>>,
    orchestration: Orchestration,
}

impl Sessions {
    /// Sessions over the store; batches go through the registry's `capture` tool.
    pub fn new(store: Store, registry: Registry) -> Sessions {
        Sessions {
            store,
            registry,
            live: Arc::default(),
            ocr: None,
            orchestration: Orchestration::default(),
        }
    }

    /// The planners and providers sessions may choose, and the defaults.
    pub fn with_orchestration(mut self, orchestration: Orchestration) -> Sessions {
        self.orchestration = orchestration;
        self
    }

    /// A session's provider choice: its own, checked against what this server offers.
    fn resolve_provider(&self, asked: &str, default: Provider, role: &str) -> Result<Provider, SessionError> {
        let provider = if asked.trim().is_empty() {
            default
        } else {
            Provider::parse(asked).map_err(|e| SessionError::BadRequest(format!("{role}: {e}")))?
        };
        if provider == Provider::OpenAi && self.orchestration.network_planner.is_none() {
            return Err(SessionError::BadRequest(format!(
                "{role} `openai` needs an OpenAI-compatible endpoint, and this server has none: start it with --openai-base-url URL (key in INTERAREC_OPENAI_API_KEY), or choose `offline`"
            )));
        }
        Ok(provider)
    }

    /// Runs a planner turn with the session's planner.
    async fn run_turn(&self, record_planner: &str, input: crate::agent::TurnInput) -> crate::agent::TurnOutput {
        let config = &self.orchestration.agent;
        let provider = Provider::parse(record_planner).unwrap_or(config.planner);
        match (provider, &self.orchestration.network_planner) {
            (Provider::OpenAi, Some(network)) => {
                let config = crate::agent::AgentConfig {
                    turn_timeout: network.settings().turn_timeout.unwrap_or(config.turn_timeout),
                    ..*config
                };
                crate::agent::run_turn(&self.registry, input, network.as_ref(), &config).await
            }
            (Provider::OpenAi, None) => {
                // The server was restarted without the endpoint this session chose: say so, and
                // still recommend.
                let mut output =
                    crate::agent::run_turn(&self.registry, input.clone(), &crate::agent::OfflinePlanner, config).await;
                let error = "this server has no OpenAI-compatible endpoint any more (start it with --openai-base-url)";
                output.events.insert(
                    0,
                    (
                        "planner-error".into(),
                        json!({ "batch": input.batch, "planner": "openai", "cause": "no-endpoint", "error": error, "fallback": "offline" }),
                    ),
                );
                let fallback = json!({ "from": "openai", "step": 0, "cause": "no-endpoint", "error": error });
                for (kind, payload) in &mut output.events {
                    if kind == "recommendation" {
                        payload["fallback"] = fallback.clone();
                    }
                }
                output.fallback = Some(fallback);
                output
            }
            (Provider::Offline, _) => {
                crate::agent::run_turn(&self.registry, input, &crate::agent::OfflinePlanner, config).await
            }
        }
    }

    /// Reads every accepted frame with OCR in the background, so summaries find it ready.
    pub fn with_ocr(mut self, pages: Option<Arc<crate::vision::OcrPages>>) -> Sessions {
        self.ocr = pages;
        self
    }

    fn live(&self, id: &str) -> Result<Arc<Live>, SessionError> {
        if let Some(live) = self.live.lock().expect("sessions").get(id) {
            return Ok(live.clone());
        }
        let record = self
            .store
            .get_session(id)?
            .ok_or_else(|| SessionError::NotFound(id.to_owned()))?;
        let (events, _) = broadcast::channel(LIVE_EVENT_BUFFER);
        let live = Arc::new(Live {
            record: tokio::sync::Mutex::new(record),
            batching: tokio::sync::Mutex::new(()),
            events,
        });
        Ok(self
            .live
            .lock()
            .expect("sessions")
            .entry(id.to_owned())
            .or_insert(live)
            .clone())
    }

    /// Creates a session (a generated id when `id` is empty).
    pub async fn create(&self, new: NewSession<'_>) -> Result<SessionRecord, SessionError> {
        let NewSession {
            id,
            catalog_id,
            options,
            model_id,
            capacity,
            ..
        } = new;
        let planner = self.resolve_provider(new.planner, self.orchestration.agent.planner, "planner")?;
        let vision_provider =
            self.resolve_provider(new.vision_provider, self.orchestration.vision, "vision provider")?;
        let validate_tool = if new.validate_tool.trim().is_empty() {
            crate::agent::VALIDATE_TOOL.to_owned()
        } else {
            interarec_core::tool::validate_tool_name(new.validate_tool).map_err(|e| {
                SessionError::BadRequest(format!("validate_tool `{}` is not a tool name: {e}", new.validate_tool))
            })?;
            new.validate_tool.to_owned()
        };
        if new.planner_tools.len() > MAX_PLANNER_TOOLS {
            return Err(SessionError::BadRequest(format!(
                "planner_tools names {} tools; at most {MAX_PLANNER_TOOLS} may be offered to a planner",
                new.planner_tools.len()
            )));
        }
        for tool in new.planner_tools {
            interarec_core::tool::validate_tool_name(tool)
                .map_err(|e| SessionError::BadRequest(format!("planner_tools: `{tool}` is not a tool name: {e}")))?;
        }
        let now = crate::unix_millis();
        let id = if id.is_empty() {
            format!("s-{now:x}-{:04x}", rand_suffix())
        } else {
            interarec_core::tool::validate_tool_name(id).map_err(|_| SessionError::InvalidId(id.to_owned()))?;
            id.to_owned()
        };
        if self.store.get_session(&id)?.is_some() {
            return Err(SessionError::Exists(id));
        }
        let record = SessionRecord {
            id: id.clone(),
            catalog_id: catalog_id.to_owned(),
            options,
            created_at_unix_ms: now,
            ended: false,
            frames_accepted: 0,
            frames_rejected: 0,
            last_sequence: 0,
            batched_through: 0,
            batches: 0,
            events: 0,
            latest_summary: None,
            model_id: model_id.to_owned(),
            capacity,
            constraints: None,
            planner: planner.name().to_owned(),
            vision_provider: vision_provider.name().to_owned(),
            validate_tool,
            planner_tools: new.planner_tools.to_vec(),
            planner_turns: 0,
            fallback_turns: 0,
        };
        self.store.put_session(&record)?;
        self.flush().await?;
        Ok(record)
    }

    /// One session.
    pub async fn get(&self, id: &str) -> Result<SessionRecord, SessionError> {
        Ok(self.live(id)?.record.lock().await.clone())
    }

    /// Every session.
    pub fn list(&self) -> Result<Vec<SessionRecord>, SessionError> {
        // Every change to a live record is written to the store as it happens, so the store is
        // the whole answer.
        Ok(self.store.list_sessions()?)
    }

    /// The session's live events from now on (the store keeps the whole log).
    pub fn subscribe(&self, id: &str) -> Result<broadcast::Receiver<SessionEvent>, SessionError> {
        Ok(self.live(id)?.events.subscribe())
    }

    /// `RecommendNow`: closes the pending frames into a batch now (summary, then the planner's
    /// turn), or, with none pending, runs the planner again on the latest summary. Returns the
    /// events this produced.
    pub async fn recommend_now(&self, id: &str) -> Result<Vec<SessionEvent>, SessionError> {
        let live = self.live(id)?;
        let before = {
            let record = live.record.lock().await;
            if record.ended {
                return Err(SessionError::Ended(id.to_owned()));
            }
            record.events
        };
        let pending = {
            let record = live.record.lock().await;
            record.last_sequence > record.batched_through
        };
        if pending {
            self.close_batches(id, Closing::Now).await?;
        } else {
            let _batching = live.batching.lock().await;
            let (input, batch, planner) = {
                let record = live.record.lock().await;
                let batch = record.batches;
                let input = record
                    .latest_summary
                    .clone()
                    .and_then(|summary| self.turn_input(&record, batch, summary));
                (input, batch, record.planner.clone())
            };
            let turn = match input {
                Some(Ok(input)) => self.run_turn(&planner, input).await,
                Some(Err(reason)) => crate::agent::TurnOutput {
                    events: vec![("planner-skipped".into(), json!({ "batch": batch, "reason": reason }))],
                    ..crate::agent::TurnOutput::default()
                },
                None => crate::agent::TurnOutput {
                    events: vec![(
                        "planner-skipped".into(),
                        json!({ "batch": batch, "reason": "nothing to recommend from yet: no frames are pending and no batch has been summarised (or the session has no choice model)" }),
                    )],
                    ..crate::agent::TurnOutput::default()
                },
            };
            self.record_turn(id, &live, turn).await?;
        }
        Ok(self.store.events(id, before + 1)?)
    }

    /// Appends a turn's events and its constraints to the session, then broadcasts them.
    async fn record_turn(&self, id: &str, live: &Live, turn: crate::agent::TurnOutput) -> Result<(), SessionError> {
        let mut record = live.record.lock().await;
        let mut sent = Vec::with_capacity(turn.events.len());
        for (kind, payload) in turn.events {
            record.events += 1;
            let turn_event = event(id, record.events, &kind, payload);
            self.store.append_event(&turn_event)?;
            sent.push(turn_event);
        }
        if turn.constraints.is_some() {
            record.constraints = turn.constraints;
        }
        if turn.ran_planner {
            record.planner_turns += 1;
        }
        if turn.fallback.is_some() {
            record.fallback_turns += 1;
        }
        self.store.put_session(&record)?;
        self.flush().await?;
        drop(record);
        for turn_event in sent {
            let _ = live.events.send(turn_event);
        }
        Ok(())
    }

    /// Every stored event from `from` on.
    pub fn events(&self, id: &str, from: u64) -> Result<Vec<SessionEvent>, SessionError> {
        Ok(self.store.events(id, from)?)
    }

    /// Validates, stores and (after one flush) acknowledges a group of frames, then closes a
    /// batch if enough frames are pending.
    pub async fn accept(&self, id: &str, frames: Vec<IncomingFrame>) -> Result<Vec<FrameOutcome>, SessionError> {
        let live = self.live(id)?;
        // Decoding is CPU work: do it off the async threads, before taking the session's lock.
        let inspected = tokio::task::spawn_blocking(move || {
            frames
                .into_iter()
                .map(|frame| {
                    let facts = inspect_image(&frame.image);
                    (frame, facts)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| SessionError::BadRequest(format!("the frame worker failed: {e}")))?;
        let mut outcomes = Vec::with_capacity(inspected.len());
        let mut new_events = Vec::new();
        {
            let mut record = live.record.lock().await;
            if record.ended {
                return Err(SessionError::Ended(id.to_owned()));
            }
            for (frame, facts) in inspected {
                let sequence = frame.sequence;
                if sequence <= record.last_sequence {
                    // A retry of a stored frame (same sequence, same bytes) gets its first answer;
                    // anything else is out of order.
                    let stored = self.store.frame(id, sequence)?;
                    if let Some(meta) = stored.filter(|m| m.frame_id == hex::encode(Sha256::digest(&frame.image))) {
                        outcomes.push(accepted(&meta));
                    } else {
                        outcomes.push(rejected(
                            sequence,
                            format!(
                                "sequence {sequence} is not after the last accepted frame ({}); number frames in increasing order",
                                record.last_sequence
                            ),
                        ));
                    }
                    continue;
                }
                let facts = match facts {
                    Ok(facts) => facts,
                    Err(reason) => {
                        record.frames_rejected += 1;
                        record.events += 1;
                        new_events.push(event(
                            id,
                            record.events,
                            "frame-rejected",
                            json!({"sequence": sequence, "reason": reason}),
                        ));
                        outcomes.push(rejected(sequence, reason));
                        continue;
                    }
                };
                let mut meta = FrameMeta {
                    sequence,
                    frame_id: hex::encode(Sha256::digest(&frame.image)),
                    mime: facts.mime.to_owned(),
                    width: facts.width,
                    height: facts.height,
                    bytes: frame.image.len() as u64,
                    captured_at_unix_ms: frame.captured_at_unix_ms,
                    received_at_unix_ms: crate::unix_millis(),
                    url: frame.url,
                    viewport_width: frame.viewport_width,
                    viewport_height: frame.viewport_height,
                    dom_text: frame.dom_text,
                    shared_bytes: false,
                };
                self.store.put_frame(id, &mut meta, &frame.image)?;
                // Only the summarising tool reads pages, and only for sessions the offline engine
                // reads; otherwise reading would be wasted work.
                let offline =
                    Provider::parse(&record.vision_provider).unwrap_or(self.orchestration.vision) == Provider::Offline;
                if let Some(pages) = &self.ocr
                    && offline
                    && self.registry.describe(SUMMARIZE_TOOL).is_ok()
                {
                    let previous = self
                        .store
                        .frame(id, record.last_sequence)?
                        .map(|before| before.frame_id);
                    pages.prefetch(&meta.frame_id, previous.as_deref());
                }
                record.frames_accepted += 1;
                record.last_sequence = sequence;
                outcomes.push(accepted(&meta));
            }
            for event in &new_events {
                self.store.append_event(event)?;
            }
            self.store.put_session(&record)?;
            self.flush().await?;
        }
        for event in new_events {
            let _ = live.events.send(event);
        }
        let sessions = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            if let Err(error) = sessions.close_batches(&id, Closing::WhenFull).await {
                tracing::warn!(session = %id, %error, "closing a batch failed");
            }
        });
        Ok(outcomes)
    }

    /// Ends a session: its pending frames form a last batch; later frames are refused.
    pub async fn end(&self, id: &str) -> Result<SessionRecord, SessionError> {
        let live = self.live(id)?;
        self.close_batches(id, Closing::Everything).await?;
        let mut record = live.record.lock().await;
        if record.ended {
            return Ok(record.clone());
        }
        record.ended = true;
        record.events += 1;
        let ended = event(
            id,
            record.events,
            "session-ended",
            json!({"frames_accepted": record.frames_accepted, "frames_rejected": record.frames_rejected, "batches": record.batches}),
        );
        self.store.append_event(&ended)?;
        self.store.put_session(&record)?;
        self.flush().await?;
        let _ = live.events.send(ended);
        Ok(record.clone())
    }

    /// Closes the batches whose first frame is older than the session's interval, in every
    /// session with pending frames (called by the server's ticker; also resumes sessions after a
    /// restart).
    pub async fn close_due_batches(&self) -> Result<(), SessionError> {
        // The stored record is written on every change, so it says which sessions have pending
        // frames without waking the others.
        for record in self.store.list_sessions()? {
            if !record.ended && record.last_sequence > record.batched_through {
                self.close_batches(&record.id, Closing::WhenDue).await?;
            }
        }
        Ok(())
    }

    async fn close_batches(&self, id: &str, closing: Closing) -> Result<(), SessionError> {
        let live = self.live(id)?;
        let _batching = live.batching.lock().await;
        loop {
            let (options, from) = {
                let record = live.record.lock().await;
                (record.options, record.batched_through + 1)
            };
            let pending = self.store.frames(id, from, u64::MAX)?;
            let Some(first) = pending.first() else {
                return Ok(());
            };
            let size = options.batch_size as usize;
            let due = crate::unix_millis().saturating_sub(first.received_at_unix_ms) >= options.batch_interval_ms;
            let closed_by = if pending.len() >= size {
                "size"
            } else if matches!(closing, Closing::Everything) {
                "end"
            } else if matches!(closing, Closing::Now) {
                "recommend-now"
            } else if due && !matches!(closing, Closing::WhenFull) {
                "interval"
            } else {
                return Ok(());
            };
            let window: Vec<FrameMeta> = pending.into_iter().take(size).collect();
            let payload = self.deduplicate(id, &window, &options, closed_by).await;
            let mut record = live.record.lock().await;
            record.batched_through = window.last().map_or(record.batched_through, |f| f.sequence);
            record.batches += 1;
            record.events += 1;
            let kept: Vec<String> = payload["kept"]
                .as_array()
                .map(|kept| {
                    kept.iter()
                        .filter_map(|k| k["frame"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let batch_number = record.batches;
            let previous = record.latest_summary.clone();
            let batch = event(id, record.events, "batch", payload);
            self.store.append_event(&batch)?;
            self.store.put_session(&record)?;
            self.flush().await?;
            drop(record);
            let _ = live.events.send(batch);
            if let Some(summary) = self.summarize(id, batch_number, &kept, previous).await {
                let typed = summary.get("summary").filter(|s| !s.is_null()).cloned();
                let mut record = live.record.lock().await;
                record.events += 1;
                if let Some(typed) = &typed {
                    record.latest_summary = Some(typed.clone());
                }
                let summary_event = event(id, record.events, "summary", summary);
                self.store.append_event(&summary_event)?;
                self.store.put_session(&record)?;
                self.flush().await?;
                let unreadable = match &typed {
                    // A recommending session whose summary could not be read is told so; the
                    // previous recommendation stands.
                    None if !record.model_id.is_empty() => Some(format!(
                        "the batch's summary could not be read ({}); the previous recommendation stands",
                        summary_event.payload["error"]
                            .as_str()
                            .unwrap_or("the summarize tool returned no summary")
                    )),
                    _ => None,
                };
                let turn_input = match unreadable {
                    Some(reason) => Some(Err(reason)),
                    None => typed.and_then(|typed| self.turn_input(&record, batch_number, typed)),
                };
                let planner = record.planner.clone();
                drop(record);
                let _ = live.events.send(summary_event);
                if let Some(input) = turn_input {
                    let turn = match input {
                        Ok(input) => self.run_turn(&planner, input).await,
                        Err(reason) => crate::agent::TurnOutput {
                            events: vec![(
                                "planner-skipped".into(),
                                json!({ "batch": batch_number, "reason": reason }),
                            )],
                            ..crate::agent::TurnOutput::default()
                        },
                    };
                    self.record_turn(id, &live, turn).await?;
                }
            }
        }
    }

    /// What the planner's turn needs, when the session recommends (`None`: it only summarises;
    /// `Some(Err)`: it should recommend but cannot, and the reason becomes an event).
    fn turn_input(
        &self,
        record: &SessionRecord,
        batch: u64,
        summary: serde_json::Value,
    ) -> Option<Result<crate::agent::TurnInput, String>> {
        if record.model_id.is_empty() {
            return None;
        }
        let validate_tool = if record.validate_tool.is_empty() {
            crate::agent::VALIDATE_TOOL
        } else {
            record.validate_tool.as_str()
        };
        let input = (|| {
            for tool in [validate_tool, crate::agent::ASSORTMENT_TOOL] {
                if self.registry.describe(tool).is_err() {
                    return Err(
                        if tool == crate::agent::VALIDATE_TOOL || tool == crate::agent::ASSORTMENT_TOOL {
                            format!(
                                "no `{tool}` tool is registered: register plugins/{tool} with --grant catalog to get recommendations"
                            )
                        } else {
                            format!(
                                "the session validates with `{tool}`, which is not registered: register that plugin with --grant catalog"
                            )
                        },
                    );
                }
            }
            let catalog = self
                .store
                .get_catalog(&record.catalog_id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the session's catalog `{}` does not exist", record.catalog_id))?;
            let catalog = serde_json::to_string(&catalog)
                .map_err(|e| e.to_string())
                .and_then(|json| interarec_constraints::CatalogFacts::from_json(&json))?;
            let summary: interarec_summary::Summary =
                serde_json::from_value(summary).map_err(|e| format!("the summary does not read back: {e}"))?;
            Ok(crate::agent::TurnInput {
                session_id: record.id.clone(),
                batch,
                catalog,
                model_id: record.model_id.clone(),
                capacity: if record.capacity == 0 {
                    interarec_choice::recommend::DEFAULT_CAPACITY as u64
                } else {
                    u64::from(record.capacity)
                },
                summary,
                current: record.constraints.clone(),
                validate_tool: validate_tool.to_owned(),
                planner_tools: record.planner_tools.clone(),
            })
        })();
        Some(input)
    }

    /// Runs the `summarize` tool over a batch's kept frames (with the previous summary as
    /// context), when that tool is registered. The event holds its answer or its error.
    async fn summarize(
        &self,
        id: &str,
        batch: u64,
        frames: &[String],
        previous: Option<serde_json::Value>,
    ) -> Option<serde_json::Value> {
        if frames.is_empty() || self.registry.describe(SUMMARIZE_TOOL).is_err() {
            return None;
        }
        // At most the models capability's image limit per call: the latest frames.
        let frames = &frames[frames.len().saturating_sub(interarec_plugin_host::MAX_IMAGES_PER_CHAT)..];
        let mut arguments = json!({ "frames": frames });
        if let Some(previous) = previous {
            arguments["previous_summary"] = previous;
        }
        let started = std::time::Instant::now();
        let mut payload = match self.registry.invoke(SUMMARIZE_TOOL, &arguments.to_string(), id).await {
            Ok(invocation) => serde_json::from_str::<serde_json::Value>(&invocation.result_json)
                .unwrap_or_else(|e| json!({ "error": format!("the summarize tool answered bad JSON: {e}") })),
            Err(error) => json!({ "error": error.to_string() }),
        };
        payload["batch"] = json!(batch);
        payload["frames"] = json!(frames);
        payload["millis"] = json!(started.elapsed().as_millis() as u64);
        Some(payload)
    }

    /// Runs the `capture` tool over a window of frames; the batch event says what it kept and
    /// dropped, or why it could not run (then every frame is kept, and the event says so).
    async fn deduplicate(
        &self,
        id: &str,
        window: &[FrameMeta],
        options: &SessionOptions,
        closed_by: &str,
    ) -> serde_json::Value {
        let sequences: Vec<u64> = window.iter().map(|f| f.sequence).collect();
        let arguments = json!({
            "frames": sequences.iter().map(u64::to_string).collect::<Vec<_>>(),
            "max_side": options.max_side,
            "static_threshold_bits": options.static_threshold_bits,
        });
        let mut payload = json!({
            "frames": sequences,
            "closed_by": closed_by,
            "first_captured_at_unix_ms": window.first().map(|f| f.captured_at_unix_ms),
            "last_captured_at_unix_ms": window.last().map(|f| f.captured_at_unix_ms),
        });
        match self.registry.invoke(CAPTURE_TOOL, &arguments.to_string(), id).await {
            Ok(invocation) => match serde_json::from_str::<serde_json::Value>(&invocation.result_json) {
                Ok(result) => {
                    payload["kept"] = result["kept"].clone();
                    payload["dropped"] = result["dropped"].clone();
                    payload["deduplicated"] = json!(true);
                }
                Err(error) => keep_all(
                    &mut payload,
                    &sequences,
                    &format!("the capture tool answered bad JSON: {error}"),
                ),
            },
            Err(error) => keep_all(&mut payload, &sequences, &error.to_string()),
        }
        payload
    }

    async fn flush(&self) -> Result<(), SessionError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| SessionError::BadRequest(format!("the flushing worker failed: {e}")))??;
        Ok(())
    }
}

/// Which pending frames to close into batches.
#[derive(Debug, Clone, Copy)]
enum Closing {
    /// Only full windows.
    WhenFull,
    /// Full windows, and a partial one whose first frame is older than the interval.
    WhenDue,
    /// Everything pending (the session ends).
    Everything,
    /// Everything pending, now (`RecommendNow`); the session goes on.
    Now,
}

fn keep_all(payload: &mut serde_json::Value, sequences: &[u64], why: &str) {
    payload["kept"] = sequences.iter().map(|s| json!({"frame": s.to_string()})).collect();
    payload["dropped"] = json!([]);
    payload["deduplicated"] = json!(false);
    payload["note"] = json!(format!(
        "frames not de-duplicated: {why}; register plugins/capture as `{CAPTURE_TOOL}` with --grant frames --grant kv"
    ));
}

fn event(id: &str, sequence: u64, kind: &str, payload: serde_json::Value) -> SessionEvent {
    SessionEvent {
        session_id: id.to_owned(),
        sequence,
        at_unix_ms: crate::unix_millis(),
        kind: kind.to_owned(),
        payload,
    }
}

fn accepted(meta: &FrameMeta) -> FrameOutcome {
    FrameOutcome {
        sequence: meta.sequence,
        accepted: true,
        frame_id: meta.frame_id.clone(),
        deduplicated_bytes: meta.shared_bytes,
        width: meta.width,
        height: meta.height,
        mime: meta.mime.clone(),
        reason: String::new(),
    }
}

fn rejected(sequence: u64, reason: String) -> FrameOutcome {
    FrameOutcome {
        sequence,
        reason,
        ..FrameOutcome::default()
    }
}

/// A few random bits for generated ids (no `rand` dependency: the clock's nanoseconds and the
/// address of a fresh allocation are enough to keep two ids of the same millisecond apart).
fn rand_suffix() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let address = Box::new(0u8).as_ref() as *const u8 as usize;
    ((nanos as usize ^ address.rotate_left(7)) & 0xffff) as u16
}

/// The `frames` capability over the store: a tool sees its own session's frames, by sequence.
pub struct StoreFrames(pub Store);

impl interarec_plugin_host::FramesBackend for StoreFrames {
    fn info(&self, session: &str, frame_id: &str) -> Result<Option<interarec_plugin_host::FrameDescription>, String> {
        Ok(self
            .meta(session, frame_id)?
            .map(|meta| interarec_plugin_host::FrameDescription {
                id: meta.sequence.to_string(),
                mime: meta.mime,
                width: meta.width,
                height: meta.height,
                captured_at_ms: meta.captured_at_unix_ms,
                url: meta.url,
            }))
    }

    fn read(&self, session: &str, frame_id: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(meta) = self.meta(session, frame_id)? else {
            return Ok(None);
        };
        self.0.frame_bytes(&meta.frame_id).map_err(|e| e.to_string())
    }
}

impl StoreFrames {
    fn meta(&self, session: &str, frame_id: &str) -> Result<Option<FrameMeta>, String> {
        if session.is_empty() {
            return Ok(None);
        }
        let Ok(sequence) = frame_id.parse::<u64>() else {
            return Ok(None);
        };
        self.0.frame(session, sequence).map_err(|e| e.to_string())
    }
}
