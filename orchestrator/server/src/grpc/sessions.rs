//! `interarec.v1.SessionService`: sessions, the bidirectional `Browse` stream and the unary
//! frame upload.
//!
//! Back-pressure on `Browse`: the server reads the next frames only after the previous group is
//! durable and its answers are queued, and the answer queue holds at most [`ANSWER_BUFFER`]
//! messages. A client that sends faster than frames are stored, or does not read its answers,
//! is held back by HTTP/2 flow control (its sends wait); the server never buffers more than one
//! group of frames ([`MAX_GROUP`] messages of at most `FrameLimits::max_message_bytes`) and the answer queue
//! per stream.

use super::auth::Gate;
use super::paging;
use super::status::{self, session_status};
use crate::access::Scope;
use interarec_core::event::EventKind;
use interarec_core::session::{SessionEvent, SessionOptions, SessionRecord};
use interarec_proto::convert;
use interarec_proto::v1 as pb;
use interarec_sessions::{FrameOutcome, IncomingFrame, MAX_GROUP, Sessions};
use pb::session_service_server::SessionService;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// Answers (acknowledgements, rejections, events) queued per Browse stream.
pub const ANSWER_BUFFER: usize = 64;

/// The service implementation.
pub struct SessionServiceImpl {
    sessions: Sessions,
    gate: Gate,
}

impl SessionServiceImpl {
    /// A service over `sessions`; `gate` lets only a session's credential holder (or the admin)
    /// act on it.
    pub fn new(sessions: Sessions, gate: Gate) -> Self {
        SessionServiceImpl { sessions, gate }
    }
}

fn session_info(record: &SessionRecord) -> pb::SessionInfo {
    pb::SessionInfo {
        session_id: record.id.clone(),
        catalog_id: record.catalog_id.clone(),
        options: Some(pb::SessionOptions {
            batch_size: record.options.batch_size,
            batch_interval: Some(convert::duration(std::time::Duration::from_millis(
                record.options.batch_interval_ms,
            ))),
            max_side: record.options.max_side,
            static_threshold_bits: record.options.static_threshold_bits,
        }),
        created_at: Some(convert::timestamp(record.created_at_unix_ms)),
        ended: record.ended,
        frames_accepted: record.frames_accepted,
        frames_rejected: record.frames_rejected,
        last_sequence: record.last_sequence,
        batches: record.batches,
        events: record.events,
        choice_model_id: record.model_id.clone(),
        capacity: record.capacity,
        planner: pb::Planner::from_name(&record.planner).unwrap_or(pb::Planner::Unspecified) as i32,
        vision_provider: pb::VisionProvider::from_name(&record.vision_provider)
            .unwrap_or(pb::VisionProvider::Unspecified) as i32,
        validate_tool: record.validate_tool.clone(),
        planner_tools: record.planner_tools.clone(),
        planner_turns: record.planner_turns,
        fallback_turns: record.fallback_turns,
    }
}

fn frame_result(outcome: FrameOutcome) -> pb::FrameResult {
    pb::FrameResult {
        sequence: outcome.sequence,
        accepted: outcome.accepted,
        frame_id: outcome.frame_id,
        deduplicated_bytes: outcome.deduplicated_bytes,
        width: outcome.width,
        height: outcome.height,
        mime: outcome.mime,
        reason: outcome.reason,
    }
}

/// The wire form of a session event.
pub fn session_event(event: &SessionEvent) -> pb::SessionEvent {
    pb::SessionEvent {
        session_id: event.session_id.clone(),
        event_sequence: event.sequence,
        at: Some(convert::timestamp(event.at_unix_ms)),
        kind: pb::EventKind::from_name(event.kind.as_str()).unwrap_or(pb::EventKind::Unspecified) as i32,
        payload: Some(convert::to_struct(&event.payload)),
    }
}

/// The list a session's watch tokens belong to.
fn watch_list(session_id: &str) -> String {
    format!("events of session {session_id}")
}

/// A wire enum's name (empty for unspecified), refusing a value the API does not have.
fn enum_name<E: TryFrom<i32>>(value: i32, field: &str, name: fn(E) -> &'static str) -> Result<&'static str, Status> {
    E::try_from(value)
        .map(name)
        .map_err(|_| status::bad_field(field, format!("{field} {value} is not one of the API's values")))
}

fn incoming(frame: pb::Frame) -> IncomingFrame {
    IncomingFrame {
        sequence: frame.sequence,
        captured_at_unix_ms: convert::unix_ms(frame.captured_at.as_ref()),
        url: frame.url,
        viewport_width: frame.viewport_width,
        viewport_height: frame.viewport_height,
        image: frame.image,
        dom_text: frame.dom_text,
    }
}

fn answer(part: pb::browse_response::Part) -> Result<pb::BrowseResponse, Status> {
    Ok(pb::BrowseResponse { part: Some(part) })
}

#[tonic::async_trait]
impl SessionService for SessionServiceImpl {
    type BrowseStream = ReceiverStream<Result<pb::BrowseResponse, Status>>;
    type WatchSessionStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchSessionResponse, Status>> + Send>>;

    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::CreateSessionResponse>, Status> {
        self.gate.scoped(&request, Scope::Sessions, "creating a session")?;
        let request = request.into_inner();
        let planner = enum_name(request.planner, "planner", pb::Planner::name)?;
        let vision_provider = enum_name(request.vision_provider, "vision_provider", pb::VisionProvider::name)?;
        let options = request.options.unwrap_or_default();
        let options = SessionOptions::resolve(
            options.batch_size,
            convert::std_duration(options.batch_interval.as_ref()).as_millis() as u64,
            options.max_side,
            options.static_threshold_bits,
        )
        .map_err(Status::invalid_argument)?;
        let created = self
            .sessions
            .create(interarec_sessions::NewSession {
                id: &request.session_id,
                catalog_id: &request.catalog_id,
                options,
                model_id: &request.choice_model_id,
                capacity: request.capacity,
                planner,
                vision_provider,
                validate_tool: &request.validate_tool,
                planner_tools: &request.planner_tools,
            })
            .await
            .map_err(session_status)?;
        Ok(Response::new(pb::CreateSessionResponse {
            session: Some(session_info(&created.record)),
            credential: created.credential,
        }))
    }

    async fn browse(
        &self,
        request: Request<Streaming<pb::BrowseRequest>>,
    ) -> Result<Response<Self::BrowseStream>, Status> {
        // The session is named by the first message; the credential is in the call's metadata.
        let (metadata, extensions, mut stream) = request.into_parts();
        let presented = Request::from_parts(metadata, extensions, ());
        let session_id = match stream.message().await? {
            Some(pb::BrowseRequest {
                part: Some(pb::browse_request::Part::OpenSessionId(id)),
            }) => id,
            _ => {
                return Err(status::bad_request(
                    "the first message of Browse must open a session (open_session_id); create one with CreateSession",
                ));
            }
        };
        self.gate
            .session(&presented, &self.sessions, &session_id, "browsing")
            .await?;
        let record = self.sessions.get(&session_id).await.map_err(session_status)?;
        if record.ended {
            return Err(session_status(interarec_sessions::SessionError::Ended(session_id)));
        }
        let mut events = self.sessions.subscribe(&session_id).map_err(session_status)?;
        let (sender, receiver) = mpsc::channel(ANSWER_BUFFER);
        let sessions = self.sessions.clone();
        tokio::spawn(async move {
            let mut incoming_open = true;
            loop {
                tokio::select! {
                    message = stream.message(), if incoming_open => {
                        let first = match message {
                            Ok(Some(first)) => first,
                            // The client finished sending; keep forwarding events until it goes.
                            Ok(None) => {
                                incoming_open = false;
                                continue;
                            }
                            // A broken stream (e.g. disconnected mid-frame, or a message over the
                            // size limit): what was acknowledged is durable; tell the client if it listens.
                            Err(status) => {
                                let _ = sender.send(Err(status)).await;
                                return;
                            }
                        };
                        // Group commit: take whatever else has already arrived, up to the group size.
                        let mut group = vec![first];
                        while group.len() < MAX_GROUP {
                            match futures_ready(&mut stream) {
                                Some(message) => group.push(message),
                                None => break,
                            }
                        }
                        let mut frames = Vec::with_capacity(group.len());
                        for message in group {
                            match message.part {
                                Some(pb::browse_request::Part::Frame(frame)) => frames.push(incoming(frame)),
                                _ => {
                                    let misuse = "only the first message of Browse may open a session; send frames after it";
                                    let _ = sender.send(Err(status::bad_request(misuse))).await;
                                    return;
                                }
                            }
                        }
                        match sessions.accept(&session_id, frames).await {
                            Ok(outcomes) => {
                                for outcome in outcomes {
                                    if sender.send(answer(pb::browse_response::Part::Frame(frame_result(outcome)))).await.is_err() {
                                        return;
                                    }
                                }
                            }
                            Err(error) => {
                                let _ = sender.send(Err(session_status(error))).await;
                                return;
                            }
                        }
                    }
                    // A client that went away ends the stream now, not at the next event.
                    () = sender.closed() => return,
                    event = events.recv() => match event {
                        Ok(event) => {
                            let ended = event.kind == EventKind::SessionEnded;
                            if sender.send(answer(pb::browse_response::Part::Event(session_event(&event)))).await.is_err() {
                                return;
                            }
                            if ended {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            let _ = sender
                                .send(Err(status::exhausted(format!(
                                    "this stream fell {missed} events behind its session; the session's log keeps them all, reconnect to continue"
                                ))))
                                .await;
                            return;
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn upload_frame(
        &self,
        request: Request<pb::UploadFrameRequest>,
    ) -> Result<Response<pb::UploadFrameResponse>, Status> {
        let session = &request.get_ref().session_id;
        self.gate
            .session(&request, &self.sessions, session, "uploading a frame")
            .await?;
        let request = request.into_inner();
        let frame = request
            .frame
            .ok_or_else(|| status::bad_request("UploadFrame needs a frame"))?;
        let outcome = self
            .sessions
            .accept(&request.session_id, vec![incoming(frame)])
            .await
            .map_err(session_status)?
            .pop()
            .ok_or_else(|| status::internal("no answer for the frame"))?;
        Ok(Response::new(pb::UploadFrameResponse {
            result: Some(frame_result(outcome)),
        }))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        let session = &request.get_ref().session_id;
        self.gate
            .session(&request, &self.sessions, session, "reading it")
            .await?;
        let record = self
            .sessions
            .get(&request.into_inner().session_id)
            .await
            .map_err(session_status)?;
        Ok(Response::new(pb::GetSessionResponse {
            session: Some(session_info(&record)),
        }))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        self.gate.admin(&request, "listing every session")?;
        let request = request.into_inner();
        let (records, next_page_token) = paging::page(
            "sessions",
            self.sessions.list().map_err(session_status)?,
            |record| record.id.as_str(),
            request.page_size,
            &request.page_token,
        )?;
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: records.iter().map(session_info).collect(),
            next_page_token,
        }))
    }

    async fn end_session(
        &self,
        request: Request<pb::EndSessionRequest>,
    ) -> Result<Response<pb::EndSessionResponse>, Status> {
        let session = &request.get_ref().session_id;
        self.gate
            .session(&request, &self.sessions, session, "ending it")
            .await?;
        let record = self
            .sessions
            .end(&request.into_inner().session_id)
            .await
            .map_err(session_status)?;
        Ok(Response::new(pb::EndSessionResponse {
            session: Some(session_info(&record)),
        }))
    }

    async fn watch_session(
        &self,
        request: Request<pb::WatchSessionRequest>,
    ) -> Result<Response<Self::WatchSessionStream>, Status> {
        let session = &request.get_ref().session_id;
        self.gate
            .session(&request, &self.sessions, session, "watching it")
            .await?;
        let request = request.into_inner();
        let list = watch_list(&request.session_id);
        let from = match paging::after(&list, &request.page_token)? {
            None => request.from_sequence,
            Some(last) => {
                last.parse::<u64>()
                    .map_err(|_| status::bad_field("page_token", "page_token is damaged; resume with from_sequence"))?
                    + 1
            }
        };
        // The catch-up's own default is the log's read size, not a list's page size.
        let page = match request.page_size {
            0 => interarec_sessions::WATCH_PAGE,
            size => paging::page_size(size)?,
        };
        let watch = self
            .sessions
            .watch_paged(&request.session_id, from, ANSWER_BUFFER, page)
            .await
            .map_err(session_status)?;
        let events = ReceiverStream::new(watch).map(move |event| match event {
            Ok(event) => Ok(pb::WatchSessionResponse {
                next_page_token: paging::token(&list, &event.sequence.to_string()),
                event: Some(session_event(&event)),
            }),
            Err(error) => Err(session_status(error)),
        });
        Ok(Response::new(Box::pin(events)))
    }

    async fn recommend_now(
        &self,
        request: Request<pb::RecommendNowRequest>,
    ) -> Result<Response<pb::RecommendNowResponse>, Status> {
        let session = &request.get_ref().session_id;
        self.gate
            .session(&request, &self.sessions, session, "asking for a recommendation")
            .await?;
        let events = self
            .sessions
            .recommend_now(&request.into_inner().session_id)
            .await
            .map_err(session_status)?;
        Ok(Response::new(pb::RecommendNowResponse {
            events: events.iter().map(session_event).collect(),
        }))
    }
}

/// The next message if one has already arrived (never waits).
fn futures_ready(stream: &mut Streaming<pb::BrowseRequest>) -> Option<pb::BrowseRequest> {
    use std::future::Future;
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    let mut next = std::pin::pin!(stream.message());
    match next.as_mut().poll(&mut context) {
        std::task::Poll::Ready(Ok(Some(message))) => Some(message),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_kind_has_its_wire_value() {
        for kind in EventKind::ALL {
            let wire = pb::EventKind::from_name(kind.as_str());
            assert!(
                wire.is_some(),
                "`{kind}` has no EventKind in sessions.proto and convert.rs"
            );
        }
    }
}
