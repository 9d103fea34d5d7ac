//! The session's event log and its live broadcast: every event is appended to the store under
//! the session's next sequence before it is sent to live subscribers, so a watcher that catches
//! up from the store and then follows the broadcast misses nothing.

use crate::{SessionError, Sessions};
use interarec_core::event::{EventKind, EventPayload};
use interarec_core::session::{SessionEvent, SessionRecord};
use tokio::sync::{broadcast, mpsc};

/// Events kept for a slow live subscriber before it is told it lagged (the log keeps all).
pub const LIVE_EVENT_BUFFER: usize = 1024;

/// Events a watch reads from the log at once.
pub const WATCH_PAGE: usize = 256;

/// A watch's events, in sequence order; an error ends it.
pub type Watch = mpsc::Receiver<Result<SessionEvent, SessionError>>;

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
        let committed = self.current(&*self.live(id)?).await?.events;
        Ok(self.store.events(id, from, committed, limit)?)
    }

    /// The session's log from `from` (1 for all of it), then its live events as they come: each
    /// once, in order, with no gap, ending after `session-ended` or when the receiver is dropped.
    /// At most `buffer` events wait for a slow reader (the live feed then lags, and the watch
    /// reads what it missed from the log, [`WATCH_PAGE`] events at a time).
    pub async fn watch(&self, id: &str, from: u64, buffer: usize) -> Result<Watch, SessionError> {
        self.watch_paged(id, from, buffer, WATCH_PAGE).await
    }

    /// [`Sessions::watch`], reading the log `page` events at a time.
    pub async fn watch_paged(&self, id: &str, from: u64, buffer: usize, page: usize) -> Result<Watch, SessionError> {
        let page = page.max(1);
        self.get(id).await?;
        // Subscribe before reading the log, so nothing falls between the two.
        let mut live = self.subscribe(id)?;
        let (sender, receiver) = mpsc::channel(buffer.max(1));
        let (sessions, id) = (self.clone(), id.to_owned());
        // On a shared store, events made on other replicas reach this one only through the log.
        let poll = self.replica.as_ref().map(|replica| replica.poll);
        tokio::spawn(async move {
            let mut last = from.max(1) - 1;
            let mut filled = sessions.send_from_log(&id, &mut last, u64::MAX, page, &sender).await;
            while let Ok(Some(())) = filled {
                let received = tokio::select! {
                    received = live.recv() => Some(received),
                    // A reader that went away ends the watch now, not at the next event.
                    () = sender.closed() => return,
                    () = pause(poll) => None,
                };
                let Some(received) = received else {
                    filled = sessions.send_from_log(&id, &mut last, u64::MAX, page, &sender).await;
                    continue;
                };
                filled = match received {
                    Ok(event) if event.sequence <= last => continue,
                    Ok(event) => {
                        // A step that wrote events before failing (they are committed when it is
                        // retried) leaves a gap in what was broadcast: fill it from the log.
                        match sessions
                            .send_from_log(&id, &mut last, event.sequence - 1, page, &sender)
                            .await
                        {
                            Ok(Some(())) => {
                                last = event.sequence;
                                let ended = event.kind == EventKind::SessionEnded;
                                match sender.send(Ok(event)).await.is_err() || ended {
                                    true => Ok(None),
                                    false => Ok(Some(())),
                                }
                            }
                            other => other,
                        }
                    }
                    // Fell behind the live feed: the log has everything it missed.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        sessions.send_from_log(&id, &mut last, u64::MAX, page, &sender).await
                    }
                    Err(broadcast::error::RecvError::Closed) => Ok(None),
                };
            }
            if let Err(error) = filled {
                let _ = sender.send(Err(error)).await;
            }
        });
        Ok(receiver)
    }

    /// Sends the committed events after `last` through `through` from the log, a page at a
    /// time, advancing `last`. `Ok(None)`: the watch is over (the reader went away, or the
    /// session ended).
    async fn send_from_log(
        &self,
        id: &str,
        last: &mut u64,
        through: u64,
        page_size: usize,
        sender: &mpsc::Sender<Result<SessionEvent, SessionError>>,
    ) -> Result<Option<()>, SessionError> {
        while *last < through {
            let page = self.events(id, *last + 1, page_size).await?;
            let full = page.len() == page_size;
            for event in page.into_iter().take_while(|e| e.sequence <= through) {
                *last = event.sequence;
                let ended = event.kind == EventKind::SessionEnded;
                if sender.send(Ok(event)).await.is_err() || ended {
                    return Ok(None);
                }
            }
            if !full {
                break;
            }
        }
        Ok(Some(()))
    }
}

/// Waits `poll` (`None`: for ever).
async fn pause(poll: Option<std::time::Duration>) {
    match poll {
        Some(poll) => tokio::time::sleep(poll).await,
        None => std::future::pending().await,
    }
}
