//! Implementations of the tool world's host imports. Every import except logging checks its
//! capability first and answers `denied` naming it. Catalog answers from the host's
//! `CatalogBackend` (catalogs and fitted choice models), frames from its `FramesBackend` (the
//! calling session's frames only), models from its `ModelsBackend` (the server's configured
//! provider; images by frame id of the calling session).

mod catalog;
pub(crate) mod http;
pub(crate) use http as http_limits;

use crate::bindings::HostError;
use crate::bindings::interarec::tool::{frames, kv, log, models, types};
use crate::state::CallState;
use interarec_core::Capability;

/// Log lines one call may write; later lines are dropped (one notice says so).
const MAX_LOG_LINES_PER_CALL: u32 = 1_000;
/// Longest log message kept, in bytes.
const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;

impl types::Host for CallState {}

impl log::Host for CallState {
    async fn log(&mut self, level: log::Level, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES_PER_CALL {
            if self.log_lines == MAX_LOG_LINES_PER_CALL + 1 {
                tracing::warn!(tool = %self.identity.tool, "tool wrote more than {MAX_LOG_LINES_PER_CALL} log lines in one call; dropping the rest");
            }
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_MESSAGE_BYTES {
            let mut cut = MAX_LOG_MESSAGE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let tool = &self.identity.tool;
        let session = &self.identity.session;
        match level {
            log::Level::Trace => tracing::trace!(target: "interarec::tool", %tool, %session, "{message}"),
            log::Level::Debug => tracing::debug!(target: "interarec::tool", %tool, %session, "{message}"),
            log::Level::Info => tracing::info!(target: "interarec::tool", %tool, %session, "{message}"),
            log::Level::Warn => tracing::warn!(target: "interarec::tool", %tool, %session, "{message}"),
            log::Level::Error => tracing::error!(target: "interarec::tool", %tool, %session, "{message}"),
        }
    }
}

impl kv::Host for CallState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, HostError> {
        self.require(Capability::Kv)?;
        let id = &self.identity;
        self.services
            .kv
            .get(&id.session, &id.tool, &key)
            .map_err(HostError::Failed)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), HostError> {
        self.require(Capability::Kv)?;
        self.kv_written = true;
        let id = &self.identity;
        self.services
            .kv
            .set(&id.session, &id.tool, &key, &value)
            .map_err(HostError::Invalid)
    }

    async fn delete(&mut self, key: String) -> Result<(), HostError> {
        self.require(Capability::Kv)?;
        self.kv_written = true;
        let id = &self.identity;
        self.services
            .kv
            .delete(&id.session, &id.tool, &key)
            .map_err(HostError::Invalid)
    }

    async fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, HostError> {
        self.require(Capability::Kv)?;
        let id = &self.identity;
        self.services
            .kv
            .list(&id.session, &id.tool, &prefix)
            .map_err(HostError::Failed)
    }
}

pub(crate) fn not_available(capability: Capability, arrives_with: &str) -> HostError {
    HostError::NotAvailable(format!(
        "the `{capability}` capability is granted but not available in this build of InteraRec (it arrives with {arrives_with})"
    ))
}

impl frames::Host for CallState {
    async fn info(&mut self, frame_id: String) -> Result<frames::FrameInfo, HostError> {
        let backend = self.frames_backend()?;
        let info = backend
            .info(&self.identity.session, &frame_id)
            .map_err(HostError::Failed)?
            .ok_or_else(|| self.unknown_frame(&frame_id))?;
        Ok(frames::FrameInfo {
            id: info.id,
            mime: info.mime,
            width: info.width,
            height: info.height,
            captured_at_ms: info.captured_at_ms,
            url: info.url,
        })
    }

    async fn read(&mut self, frame_id: String) -> Result<Vec<u8>, HostError> {
        let backend = self.frames_backend()?;
        backend
            .read(&self.identity.session, &frame_id)
            .map_err(HostError::Failed)?
            .ok_or_else(|| self.unknown_frame(&frame_id))
    }
}

impl models::Host for CallState {
    async fn chat(&mut self, request: models::ChatRequest) -> Result<models::ChatResponse, HostError> {
        use crate::services::{
            MAX_CHAT_TEXT_BYTES, MAX_IMAGES_PER_CHAT, ModelFailure, ModelMessage, ModelPart, ModelRequest,
        };
        self.require(Capability::Models)?;
        let backend = self
            .services
            .models
            .clone()
            .ok_or_else(|| not_available(Capability::Models, "a server with a model provider configured"))?;
        let (mut images, mut text_bytes) = (0usize, 0usize);
        let messages = request
            .messages
            .into_iter()
            .map(|message| ModelMessage {
                role: message.role,
                parts: message
                    .content
                    .into_iter()
                    .map(|part| match part {
                        models::ContentPart::Text(text) => {
                            text_bytes += text.len();
                            ModelPart::Text(text)
                        }
                        models::ContentPart::Image(frame) => {
                            images += 1;
                            ModelPart::Frame(frame)
                        }
                    })
                    .collect(),
            })
            .collect();
        if images > MAX_IMAGES_PER_CHAT {
            return Err(HostError::Invalid(format!(
                "a chat request may reference at most {MAX_IMAGES_PER_CHAT} images; this one has {images}: send fewer frames per call"
            )));
        }
        if text_bytes > MAX_CHAT_TEXT_BYTES {
            return Err(HostError::Invalid(format!(
                "a chat request may carry at most {MAX_CHAT_TEXT_BYTES} bytes of text; this one has {text_bytes}"
            )));
        }
        let request = ModelRequest {
            messages,
            max_tokens: request.max_tokens,
            temperature: request.temperature,
            json_response: request.json_response,
        };
        let answer = backend
            .chat(&self.identity.session, request)
            .await
            .map_err(|failure| match failure {
                ModelFailure::Invalid(message) => HostError::Invalid(message),
                ModelFailure::Failed(message) => HostError::Failed(message),
            })?;
        Ok(models::ChatResponse {
            text: answer.text,
            model: answer.model,
            prompt_tokens: answer.prompt_tokens,
            completion_tokens: answer.completion_tokens,
        })
    }
}

impl CallState {
    fn frames_backend(&self) -> Result<std::sync::Arc<dyn crate::services::FramesBackend>, HostError> {
        self.require(Capability::Frames)?;
        self.services
            .frames
            .clone()
            .ok_or_else(|| not_available(Capability::Frames, "a server that stores session frames"))
    }

    fn unknown_frame(&self, frame_id: &str) -> HostError {
        let session = &self.identity.session;
        if session.is_empty() {
            HostError::Invalid(format!(
                "frame `{frame_id}`: this call has no session; frames are read within the session they belong to"
            ))
        } else {
            HostError::Invalid(format!(
                "session `{session}` has no frame `{frame_id}` (frame ids are sequence numbers)"
            ))
        }
    }

    pub(crate) fn catalog_backend(&self) -> Result<std::sync::Arc<dyn crate::services::CatalogBackend>, HostError> {
        self.require(Capability::Catalog)?;
        self.services
            .catalog
            .clone()
            .ok_or_else(|| not_available(Capability::Catalog, "a server that stores catalogs"))
    }
}
