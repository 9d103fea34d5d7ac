//! Browsing sessions: frames arrive ([`intake`]: checked, stored content-addressed,
//! acknowledged once durable), pending frames close into batches ([`batching`]: size, interval,
//! end or `RecommendNow`; the `capture` tool de-duplicates them), each batch is summarised and,
//! when the session recommends, handed to its planner ([`handoff`]), and everything that happens
//! is an event in the session's log and on its live feed ([`log`]). The pipeline's tools are
//! reached through [`interarec_core::Tools`] and the planners through [`Planners`]; this crate
//! knows nothing of gRPC, the registry or the plugin host.

pub mod batching;
pub mod faults;
pub mod handoff;
pub mod intake;
pub mod log;
pub mod replica;

use interarec_agent::Planners;
use interarec_core::Tools;
use interarec_core::event::SessionEnded;
use interarec_core::session::{SessionOptions, SessionRecord};
use interarec_store::{Store, StoreError};
use log::Live;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use intake::{
    FrameLimits, FrameOutcome, ImageFacts, IncomingFrame, MAX_CONCURRENT_DECODES, MAX_DECODE_BYTES, MAX_DOM_TEXT_BYTES,
    MAX_FRAME_BYTES, MAX_GROUP, MAX_URL_BYTES, inspect_image, inspect_image_within,
};
pub use log::{LIVE_EVENT_BUFFER, WATCH_PAGE, Watch};
pub use replica::{DEFAULT_LEASE, DEFAULT_POLL, Replica};

pub use interarec_core::tools::pipeline::{CAPTURE_TOOL, SUMMARIZE_TOOL};
/// Sessions held in memory at once by default (`serving.max_live_sessions`); idle ones beyond it are
/// let go (they stay stored and come back when used).
pub const DEFAULT_MAX_LIVE_SESSIONS: usize = 10_000;

/// Batches (a window's capture, summary and turn) worked on at once; the others wait their
/// turn in order, a session with a backlog giving way between its batches. Without a bound,
/// every session's batch would share the CPU at once under load, each crawling (and timing out)
/// together instead of finishing one after another.
pub const MAX_CONCURRENT_BATCHES: usize = 4;

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
    /// A background worker (decoding, flushing) failed.
    #[error("{0}")]
    Worker(String),
    /// Over one of the server's limits (live sessions).
    #[error("{0}")]
    Exhausted(String),
    /// Another server sharing the store holds the session for longer than a call waits.
    #[error("{0}")]
    Busy(String),
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// What a session's credential starts with, so a reader of a log or a config knows what it opens.
pub const CREDENTIAL_PREFIX: &str = "isc-";

/// A new session and its credential (shown to the creator once, never stored in clear).
#[derive(Debug, Clone)]
pub struct CreatedSession {
    /// The stored record.
    pub record: SessionRecord,
    /// The secret every later call on the session presents (or the admin token instead).
    pub credential: String,
}

/// Reads accepted frames ahead of the summary (the server's background OCR), so a batch's
/// summary finds its pages ready.
pub trait FrameReader: Send + Sync {
    /// Starts reading the stored frame `frame_id` (content address), against the session's
    /// previous frame when there is one.
    fn prefetch(&self, frame_id: &str, previous: Option<&str>);
}

/// Session operations. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    tools: Arc<dyn Tools>,
    live: Arc<Mutex<HashMap<String, Arc<Live>>>>,
    reader: Option<Arc<dyn FrameReader>>,
    planners: Planners,
    pub(crate) decodes: Arc<tokio::sync::Semaphore>,
    pub(crate) frame_limits: FrameLimits,
    pub(crate) batch_slots: Arc<tokio::sync::Semaphore>,
    max_live: usize,
    /// Batch work started in the background (after frames are accepted), stopped at shutdown.
    background: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// Where background batch work runs (None: the caller's runtime).
    background_runtime: Option<tokio::runtime::Handle>,
    /// How this server shares the store with others (None: it is the store's only user).
    pub(crate) replica: Option<Replica>,
}

impl Sessions {
    /// Sessions over the store; batches go through `tools` (`capture`, `summarize`, then the
    /// planner's tools).
    pub fn new(store: Store, tools: Arc<dyn Tools>) -> Sessions {
        Sessions {
            store,
            tools,
            live: Arc::default(),
            reader: None,
            planners: Planners::default(),
            decodes: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_DECODES)),
            frame_limits: FrameLimits::default(),
            batch_slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_BATCHES)),
            max_live: DEFAULT_MAX_LIVE_SESSIONS,
            background: Arc::default(),
            background_runtime: None,
            replica: None,
        }
    }

    /// Shares the store with other servers (see [`replica`]): records and batches are
    /// leased, watches poll the log.
    pub fn with_replica(mut self, replica: Replica) -> Sessions {
        self.replica = Some(replica);
        self
    }

    /// Runs batch work started in the background on `runtime` (the server's lower-priority
    /// threads), so that it gives way to acknowledging frames.
    pub fn with_background_runtime(mut self, runtime: tokio::runtime::Handle) -> Sessions {
        self.background_runtime = Some(runtime);
        self
    }

    /// Runs batch work in the background, remembered so [`Sessions::shut_down`] can stop it.
    pub(crate) fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut background = self.background.lock().expect("background");
        background.retain(|task| !task.is_finished());
        background.push(match &self.background_runtime {
            Some(runtime) => runtime.spawn(work),
            None => tokio::spawn(work),
        });
    }

    /// Stops the background batch work and waits until it is gone. A batch stopped midway is
    /// finished by the next server on this store, from the step that did not commit.
    pub async fn shut_down(&self) {
        let tasks = std::mem::take(&mut *self.background.lock().expect("background"));
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }

    /// Holds at most `max_live` sessions in memory (at least 1).
    pub fn with_max_live(mut self, max_live: usize) -> Sessions {
        self.max_live = max_live.max(1);
        self
    }

    /// Bounds what one frame may be, and how many groups of frames are decoded at once.
    pub fn with_frame_limits(mut self, limits: FrameLimits) -> Sessions {
        self.decodes = Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent_decodes.max(1)));
        self.frame_limits = limits;
        self
    }

    /// The planners and providers sessions may choose, and the defaults.
    pub fn with_planners(mut self, planners: Planners) -> Sessions {
        self.planners = planners;
        self
    }

    /// Reads every accepted frame ahead (OCR in the background), so summaries find it ready.
    pub fn with_reader(mut self, reader: Option<Arc<dyn FrameReader>>) -> Sessions {
        self.reader = reader;
        self
    }

    /// Sessions held in memory now (idle ones are let go only when the limit is reached).
    pub fn live_count(&self) -> usize {
        self.live.lock().expect("sessions").len()
    }

    pub(crate) fn live(&self, id: &str) -> Result<Arc<Live>, SessionError> {
        if let Some(live) = self.live.lock().expect("sessions").get(id) {
            return Ok(live.clone());
        }
        let record = self
            .store
            .get_session(id)?
            .ok_or_else(|| SessionError::NotFound(id.to_owned()))?;
        let live = Arc::new(Live::new(record));
        let mut map = self.live.lock().expect("sessions");
        if let Some(existing) = map.get(id) {
            return Ok(existing.clone());
        }
        if map.len() >= self.max_live {
            // Every change is written through to the store, so a session nobody holds (no
            // stream, watcher, batch or call in progress) can be let go and read back later.
            map.retain(|_, held| Arc::strong_count(held) > 1 || held.events.receiver_count() > 0);
            if map.len() >= self.max_live {
                return Err(SessionError::Exhausted(format!(
                    "the server holds {} sessions in use, its limit (serving.max_live_sessions); end finished sessions or close their streams and watchers, or raise the limit",
                    map.len()
                )));
            }
        }
        map.insert(id.to_owned(), live.clone());
        Ok(live)
    }

    /// Creates a session (an unguessable generated id when `id` is empty) with a new credential,
    /// which is returned here once and stored only as its fingerprint.
    pub async fn create(&self, new: NewSession<'_>) -> Result<CreatedSession, SessionError> {
        let NewSession {
            id,
            catalog_id,
            options,
            model_id,
            capacity,
            ..
        } = new;
        let planner = self
            .planners
            .resolve(new.planner, self.planners.agent.planner, "planner")
            .map_err(SessionError::BadRequest)?;
        let vision_provider = self
            .planners
            .resolve(new.vision_provider, self.planners.vision, "vision provider")
            .map_err(SessionError::BadRequest)?;
        let validate_tool = if new.validate_tool.trim().is_empty() {
            interarec_agent::VALIDATE_TOOL.to_owned()
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
        let now = interarec_core::unix_millis();
        let random_failed = |e: interarec_core::secret::RandomError| SessionError::Worker(e.to_string());
        let id = if id.is_empty() {
            interarec_core::secret::random_id("s-").map_err(random_failed)?
        } else {
            interarec_core::tool::validate_tool_name(id).map_err(|_| SessionError::InvalidId(id.to_owned()))?;
            id.to_owned()
        };
        if self.store.get_session(&id)?.is_some() {
            return Err(SessionError::Exists(id));
        }
        let credential = interarec_core::secret::generate(CREDENTIAL_PREFIX).map_err(random_failed)?;
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
            credential_sha256: interarec_core::secret::fingerprint(&credential),
            in_flight: None,
        };
        // Created only if absent: two servers sharing the store may be asked for one id at once.
        if !self.store.create_session(&record)? {
            return Err(SessionError::Exists(id));
        }
        self.flush().await?;
        Ok(CreatedSession { record, credential })
    }

    /// Whether `credential` is session `id`'s (an unknown session is [`SessionError::NotFound`]).
    pub async fn credential_matches(&self, id: &str, credential: &str) -> Result<bool, SessionError> {
        let record = self.current(&*self.live(id)?).await?;
        Ok(interarec_core::secret::matches(credential, &record.credential_sha256))
    }

    /// One session.
    pub async fn get(&self, id: &str) -> Result<SessionRecord, SessionError> {
        self.current(&*self.live(id)?).await
    }

    /// Every session.
    pub fn list(&self) -> Result<Vec<SessionRecord>, SessionError> {
        // Every change to a live record is written to the store as it happens, so the store is
        // the whole answer.
        Ok(self.store.list_sessions()?)
    }

    /// Ends a session: its pending frames form a last batch; later frames are refused.
    pub async fn end(&self, id: &str) -> Result<SessionRecord, SessionError> {
        let live = self.live(id)?;
        self.close_batches(id, batching::Closing::Everything).await?;
        let mut record = self.record(&live).await?;
        if record.ended {
            return Ok(record.clone());
        }
        record.ended = true;
        let ended = SessionEnded {
            frames_accepted: record.frames_accepted,
            frames_rejected: record.frames_rejected,
            batches: record.batches,
        };
        let ended = log::next_event(&mut record, ended.into());
        self.store.append_event(&ended)?;
        self.store.put_session(&record)?;
        self.flush().await?;
        let _ = live.events.send(ended);
        Ok(record.clone())
    }

    pub(crate) async fn flush(&self) -> Result<(), SessionError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| SessionError::Worker(format!("the flushing worker failed: {e}")))??;
        Ok(())
    }
}
