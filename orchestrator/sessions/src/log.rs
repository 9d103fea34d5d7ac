//! The session's event log and its live broadcast: every event is appended to the store under
//! the session's next sequence before it is sent to live subscribers, so a watcher that catches
//! up from the store and then follows the broadcast misses nothing.

use crate::{SessionError, Sessions};
use interarec_core::event::EventPayload;
use interarec_core::session::{SessionEvent, SessionRecord};
use tokio::sync::broadcast;

/// Events kept for a slow live subscriber before it is told it lagged (the log keeps all).
pub const LIVE_EVENT_BUFFER: usize = 1024;

/// A session in memory: its record (written through to the store on every change), the lock
/// that serialises batch formation, and its live feed.
pub(crate) struct Live {
    pub(crate) record: tokio::sync::Mutex<SessionRecord>,
    /// Serialises batch formation (the tools run without holding `record`).
    pub(crate) batching: tokio::sync::Mutex<()>,
    pub(crate) events: broadcast::Sender<SessionEvent>,
}

impl Live {
    pub(crate) fn new(record: SessionRecord) -> Live {
        let (events, _) = broadcast::channel(LIVE_EVENT_BUFFER);
        Live {
            record: tokio::sync::Mutex::new(record),
            batching: tokio::sync::Mutex::new(()),
            events,
        }
    }
}

/// The session's next event: counted in its record, stamped now.
pub(crate) fn next_event(record: &mut SessionRecord, payload: EventPayload) -> SessionEvent {
    record.events += 1;
    SessionEvent::new(&record.id, record.events, interarec_core::unix_millis(), &payload)
}

impl Sessions {
    /// The session's live events from now on (the store keeps the whole log).
    pub fn subscribe(&self, id: &str) -> Result<broadcast::Receiver<SessionEvent>, SessionError> {
        Ok(self.live(id)?.events.subscribe())
    }

    /// Committed events from `from` on, at most `limit`: those the session's record counts (a
    /// step that failed before its record was written may have left later ones, which the
    /// step's retry writes over).
    pub async fn events(&self, id: &str, from: u64, limit: usize) -> Result<Vec<SessionEvent>, SessionError> {
        let committed = self.live(id)?.record.lock().await.events;
        Ok(self.store.events(id, from, committed, limit)?)
    }
}
