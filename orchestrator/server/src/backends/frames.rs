//! The `frames` capability's backend: a tool sees its own session's stored frames, by sequence.

use interarec_core::session::FrameMeta;
use interarec_store::Store;

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
