//! The session trees: session records, frame metadata by session and sequence with the bytes
//! stored once per content, OCR pages by engine and content, and each session's event log.

use crate::{Store, StoreError, decode, keys};
use interarec_core::session::{FrameMeta, SessionEvent, SessionRecord};

impl Store {
    /// Stores a session record (not flushed: callers flush once per group of writes).
    pub fn put_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let encoded = serde_json::to_vec(record).map_err(|e| self.io(e))?;
        self.sessions
            .insert(record.id.as_bytes(), encoded)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Stores a new session record unless one with its id exists; returns whether it did.
    pub fn create_session(&self, record: &SessionRecord) -> Result<bool, StoreError> {
        let encoded = serde_json::to_vec(record).map_err(|e| self.io(e))?;
        self.sessions
            .compare_and_swap(record.id.as_bytes(), None, Some(&encoded))
            .map_err(|e| self.io(e))
    }

    /// One session.
    pub fn get_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        match self.sessions.get(id.as_bytes()).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(bytes) => decode("sessions", id.as_bytes(), &bytes).map(Some),
        }
    }

    /// Every session, by id.
    pub fn list_sessions(&self) -> Result<Vec<SessionRecord>, StoreError> {
        self.sessions
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(|e| self.io(e))?;
                decode("sessions", &key, &value)
            })
            .collect()
    }

    /// Stores a frame's bytes (once per content) and its metadata, recording in
    /// `meta.shared_bytes` (and returning) whether the bytes were already stored. Not flushed:
    /// callers flush once per group of frames before they acknowledge any of them.
    pub fn put_frame(&self, session: &str, meta: &mut FrameMeta, image: &[u8]) -> Result<bool, StoreError> {
        let digest = hex::decode(&meta.frame_id).map_err(|e| self.io(format!("frame id is not hex: {e}")))?;
        let known = !self
            .frame_blobs
            .compare_and_swap(&digest, None, Some(image))
            .map_err(|e| self.io(e))?;
        meta.shared_bytes = known;
        let encoded = serde_json::to_vec(meta).map_err(|e| self.io(e))?;
        self.frames
            .insert(keys::sequenced(session, meta.sequence), encoded)
            .map_err(|e| self.io(e))?;
        Ok(known)
    }

    /// A frame's metadata.
    pub fn frame(&self, session: &str, sequence: u64) -> Result<Option<FrameMeta>, StoreError> {
        let key = keys::sequenced(session, sequence);
        match self.frames.get(&key).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(bytes) => decode("frames", &key, &bytes).map(Some),
        }
    }

    /// Frames of a session with sequence in `from..=to`, in order.
    pub fn frames(&self, session: &str, from: u64, to: u64) -> Result<Vec<FrameMeta>, StoreError> {
        if from > to {
            return Ok(Vec::new());
        }
        self.frames
            .range(keys::sequenced(session, from)..=keys::sequenced(session, to))
            .map(|entry| {
                let (key, value) = entry.map_err(|e| self.io(e))?;
                decode("frames", &key, &value)
            })
            .collect()
    }

    /// The bytes of a frame by its content address (sha256 hex).
    pub fn frame_bytes(&self, frame_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Ok(digest) = hex::decode(frame_id) else {
            return Ok(None);
        };
        Ok(self
            .frame_blobs
            .get(digest)
            .map_err(|e| self.io(e))?
            .map(|bytes| bytes.to_vec()))
    }

    /// A cached OCR page (`engine/sha256`).
    pub fn ocr_page(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.ocr_pages.get(key).map_err(|e| self.io(e))
    }

    /// Caches an OCR page (not flushed: a lost page is read again).
    pub fn put_ocr_page(&self, key: &str, page_json: &[u8]) -> Result<(), StoreError> {
        self.ocr_pages.insert(key, page_json).map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Appends an event (not flushed; see [`Store::put_frame`]).
    pub fn append_event(&self, event: &SessionEvent) -> Result<(), StoreError> {
        let encoded = serde_json::to_vec(event).map_err(|e| self.io(e))?;
        self.session_events
            .insert(keys::sequenced(&event.session_id, event.sequence), encoded)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Events of a session from `from` through `through`, in order, at most `limit` of them.
    pub fn events(
        &self,
        session: &str,
        from: u64,
        through: u64,
        limit: usize,
    ) -> Result<Vec<SessionEvent>, StoreError> {
        if from > through {
            return Ok(Vec::new());
        }
        self.session_events
            .range(keys::sequenced(session, from)..=keys::sequenced(session, through))
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(|e| self.io(e))?;
                decode("session_events", &key, &value)
            })
            .collect()
    }
}
