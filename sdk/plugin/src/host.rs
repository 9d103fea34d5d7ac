//! Typed helpers over the host imports. Each module mirrors one WIT interface and one capability.
//!
//! Inside the component they call the host. Compiled natively (a tool's own `cargo test`) they
//! fall back to doubles so tool logic is unit-tested on the host, each holding what the test
//! put in, per test thread (every test runs on its own thread): logging prints to stderr, `kv`
//! is an in-memory map, `catalog` serves catalogs and models put in with
//! [`catalog::testing::serve_catalog`] and [`catalog::testing::serve_model`], `frames` serves
//! [`frames::testing::serve_frame`], `models` answers with the replies queued by
//! [`models::testing::reply`], and `http` with the responses put in by
//! [`http::testing::respond`]. Each double records what the tool sent, for the test to check.

/// Logging into the host's log, tagged with the tool's name. Always allowed.
pub mod log {
    use crate::bindings::interarec::tool::log::Level;

    #[cfg(target_family = "wasm")]
    use crate::bindings::interarec::tool::log::log;

    #[cfg(not(target_family = "wasm"))]
    fn log(level: Level, message: &str) {
        eprintln!("[{level:?}] {message}");
    }

    /// Logs at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }

    /// Logs at info level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }

    /// Logs at warn level.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }

    /// Logs at error level.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// Key-value state scoped to the current session and this tool (capability `kv`). Keys are at
/// most 256 bytes and values at most 1 MiB.
pub mod kv {
    use crate::HostError;
    use serde::{Serialize, de::DeserializeOwned};

    #[cfg(target_family = "wasm")]
    use crate::bindings::interarec::tool::kv as wit;

    /// Native stand-in: one in-memory map per thread (each test runs on its own thread).
    #[cfg(not(target_family = "wasm"))]
    mod wit {
        use crate::bindings::interarec::tool::types::HostError;
        use std::cell::RefCell;
        use std::collections::BTreeMap;

        thread_local! {
            static STATE: RefCell<BTreeMap<String, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
        }

        pub fn get(key: &str) -> Result<Option<Vec<u8>>, HostError> {
            Ok(STATE.with(|state| state.borrow().get(key).cloned()))
        }

        pub fn set(key: &str, value: &[u8]) -> Result<(), HostError> {
            STATE.with(|state| state.borrow_mut().insert(key.to_owned(), value.to_vec()));
            Ok(())
        }

        pub fn delete(key: &str) -> Result<(), HostError> {
            STATE.with(|state| state.borrow_mut().remove(key));
            Ok(())
        }

        pub fn list_keys(prefix: &str) -> Result<Vec<String>, HostError> {
            Ok(STATE.with(|state| {
                state
                    .borrow()
                    .keys()
                    .filter(|k| k.starts_with(prefix))
                    .cloned()
                    .collect()
            }))
        }
    }

    /// The value stored under `key`, if any.
    pub fn get(key: &str) -> Result<Option<Vec<u8>>, HostError> {
        wit::get(key).map_err(HostError::from)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn set(key: &str, value: &[u8]) -> Result<(), HostError> {
        wit::set(key, value).map_err(HostError::from)
    }

    /// Removes `key`; removing a missing key is not an error.
    pub fn delete(key: &str) -> Result<(), HostError> {
        wit::delete(key).map_err(HostError::from)
    }

    /// Keys starting with `prefix`, in byte order.
    pub fn list_keys(prefix: &str) -> Result<Vec<String>, HostError> {
        wit::list_keys(prefix).map_err(HostError::from)
    }

    /// Reads a JSON value stored with [`set_json`].
    pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, HostError> {
        match get(key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| HostError::Invalid(format!("value under `{key}` is not the expected JSON: {error}"))),
        }
    }

    /// Stores a value as JSON.
    pub fn set_json<T: Serialize>(key: &str, value: &T) -> Result<(), HostError> {
        let bytes = serde_json::to_vec(value)
            .map_err(|error| HostError::Invalid(format!("value is not serialisable: {error}")))?;
        set(key, &bytes)
    }
}

/// Outbound HTTP to the hosts the operator allowlisted for this tool (capability `http`).
pub mod http {
    use crate::HostError;
    use crate::bindings::interarec::tool::http as wit;

    /// A response: status, headers and the whole body.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Response {
        /// HTTP status code.
        pub status: u16,
        /// Response headers in the order received.
        pub headers: Vec<(String, String)>,
        /// The body (the host caps it at 16 MiB).
        pub body: Vec<u8>,
    }

    /// Sends a request. `url` must be `http` or `https` with a host on the allowlist.
    pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Result<Response, HostError> {
        let request = wit::Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: headers
                .iter()
                .map(|(name, value)| wit::Header {
                    name: (*name).to_owned(),
                    value: (*value).to_owned(),
                })
                .collect(),
            body: body.map(<[u8]>::to_vec),
        };
        #[cfg(not(target_family = "wasm"))]
        return testing::send(request);
        #[cfg(target_family = "wasm")]
        {
            let response = wit::send(&request).map_err(HostError::from)?;
            Ok(Response {
                status: response.status,
                headers: response.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                body: response.body,
            })
        }
    }

    /// `GET url`.
    pub fn get(url: &str) -> Result<Response, HostError> {
        send("GET", url, &[], None)
    }

    /// The native double: canned responses by method and URL, and the requests sent.
    #[cfg(not(target_family = "wasm"))]
    pub mod testing {
        use super::{Response, wit};
        use crate::HostError;
        use std::cell::RefCell;
        use std::collections::BTreeMap;

        /// A request the tool sent: method, URL, headers and body.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct SentRequest {
            /// `GET`, `POST`, ...
            pub method: String,
            /// The whole URL.
            pub url: String,
            /// Headers in the order given.
            pub headers: Vec<(String, String)>,
            /// The body, if any.
            pub body: Option<Vec<u8>>,
        }

        thread_local! {
            static RESPONSES: RefCell<BTreeMap<(String, String), Response>> = const { RefCell::new(BTreeMap::new()) };
            static SENT: RefCell<Vec<SentRequest>> = const { RefCell::new(Vec::new()) };
        }

        /// Answers `method url` (exactly, method in upper case) with `response` from now on.
        pub fn respond(method: &str, url: &str, response: Response) {
            RESPONSES.with(|r| {
                r.borrow_mut()
                    .insert((method.to_ascii_uppercase(), url.to_owned()), response)
            });
        }

        /// The requests sent so far, oldest first.
        pub fn sent() -> Vec<SentRequest> {
            SENT.with(|s| s.borrow().clone())
        }

        pub(super) fn send(request: wit::Request) -> Result<Response, HostError> {
            let method = request.method.to_ascii_uppercase();
            SENT.with(|s| {
                s.borrow_mut().push(SentRequest {
                    method: method.clone(),
                    url: request.url.clone(),
                    headers: request
                        .headers
                        .iter()
                        .map(|h| (h.name.clone(), h.value.clone()))
                        .collect(),
                    body: request.body.clone(),
                })
            });
            RESPONSES
                .with(|r| r.borrow().get(&(method.clone(), request.url.clone())).cloned())
                .ok_or_else(|| {
                    HostError::Denied(format!(
                        "{method} {} has no canned response in this test (the host would refuse a host not on the allowlist); add one with http::testing::respond",
                        request.url
                    ))
                })
        }
    }
}

/// Screenshot frames of the current session (capability `frames`).
pub mod frames {
    use crate::HostError;
    use crate::bindings::interarec::tool::frames as wit;

    pub use wit::FrameInfo;

    /// Metadata of a frame.
    pub fn info(frame_id: &str) -> Result<FrameInfo, HostError> {
        #[cfg(target_family = "wasm")]
        return wit::info(frame_id).map_err(HostError::from);
        #[cfg(not(target_family = "wasm"))]
        return testing::frame(frame_id).map(|(info, _)| info);
    }

    /// The encoded image bytes (PNG or JPEG) of a frame.
    pub fn read(frame_id: &str) -> Result<Vec<u8>, HostError> {
        #[cfg(target_family = "wasm")]
        return wit::read(frame_id).map_err(HostError::from);
        #[cfg(not(target_family = "wasm"))]
        return testing::frame(frame_id).map(|(_, bytes)| bytes);
    }

    /// The native double: the frames of a pretend session.
    #[cfg(not(target_family = "wasm"))]
    pub mod testing {
        use super::FrameInfo;
        use crate::HostError;
        use std::cell::RefCell;
        use std::collections::BTreeMap;

        thread_local! {
            static FRAMES: RefCell<BTreeMap<String, (FrameInfo, Vec<u8>)>> = const { RefCell::new(BTreeMap::new()) };
        }

        /// Serves a frame under `info.id`: its metadata and encoded image bytes.
        pub fn serve_frame(info: FrameInfo, bytes: Vec<u8>) {
            FRAMES.with(|f| f.borrow_mut().insert(info.id.clone(), (info, bytes)));
        }

        pub(super) fn frame(frame_id: &str) -> Result<(FrameInfo, Vec<u8>), HostError> {
            FRAMES.with(|f| f.borrow().get(frame_id).cloned()).ok_or_else(|| {
                HostError::Invalid(format!(
                    "the session has no frame `{frame_id}` (serve it with frames::testing::serve_frame)"
                ))
            })
        }
    }
}

/// Chat completion with text and image parts (capability `models`).
pub mod models {
    use crate::HostError;
    use crate::bindings::interarec::tool::models as wit;

    pub use wit::{ChatRequest, ChatResponse, ContentPart, Message};

    /// Sends a chat request to the session's model provider.
    pub fn chat(request: &ChatRequest) -> Result<ChatResponse, HostError> {
        #[cfg(target_family = "wasm")]
        return wit::chat(request).map_err(HostError::from);
        #[cfg(not(target_family = "wasm"))]
        return testing::chat(request);
    }

    /// The native double: canned replies in order, and the requests they answered.
    #[cfg(not(target_family = "wasm"))]
    pub mod testing {
        use super::{ChatRequest, ChatResponse};
        use crate::HostError;
        use std::cell::RefCell;
        use std::collections::VecDeque;

        thread_local! {
            static REPLIES: RefCell<VecDeque<Result<ChatResponse, HostError>>> = const { RefCell::new(VecDeque::new()) };
            static REQUESTS: RefCell<Vec<ChatRequest>> = const { RefCell::new(Vec::new()) };
        }

        /// Queues the next reply: `Ok` with the model's answer, or the host's error (a provider
        /// that failed, say).
        pub fn reply(reply: Result<ChatResponse, HostError>) {
            REPLIES.with(|r| r.borrow_mut().push_back(reply));
        }

        /// Queues `text` as the next answer, from a model called `canned`.
        pub fn reply_text(text: &str) {
            reply(Ok(ChatResponse {
                text: text.to_owned(),
                model: "canned".into(),
                prompt_tokens: 0,
                completion_tokens: 0,
            }));
        }

        /// The requests sent so far, oldest first.
        pub fn requests() -> Vec<ChatRequest> {
            REQUESTS.with(|r| r.borrow().clone())
        }

        pub(super) fn chat(request: &ChatRequest) -> Result<ChatResponse, HostError> {
            REQUESTS.with(|r| r.borrow_mut().push(request.clone()));
            REPLIES.with(|r| r.borrow_mut().pop_front()).unwrap_or_else(|| {
                Err(HostError::NotAvailable(
                    "no canned reply left in this test (queue one with models::testing::reply_text)".into(),
                ))
            })
        }
    }
}

/// Read access to catalogs and fitted choice models (capability `catalog`).
pub mod catalog;

#[cfg(test)]
mod tests {
    use super::http::{self, Response};
    use crate::HostError;

    #[test]
    fn the_http_double_answers_what_the_test_put_in_and_records_what_was_sent() {
        let ok = Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"rate": 1.08}"#.to_vec(),
        };
        http::testing::respond("GET", "https://rates.example/eur", ok.clone());
        assert_eq!(http::get("https://rates.example/eur"), Ok(ok));
        let refused = http::send("POST", "https://rates.example/eur", &[("x-key", "k")], Some(b"{}")).unwrap_err();
        assert!(
            matches!(&refused, HostError::Denied(text) if text.contains("http::testing::respond")),
            "{refused:?}"
        );
        let sent: Vec<(String, String)> = http::testing::sent().into_iter().map(|r| (r.method, r.url)).collect();
        assert_eq!(
            sent,
            [
                ("GET".to_owned(), "https://rates.example/eur".to_owned()),
                ("POST".into(), "https://rates.example/eur".into())
            ]
        );
    }
}
