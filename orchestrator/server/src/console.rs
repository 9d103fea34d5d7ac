//! The live session console: a web page on an address of its own (`console.listen`,
//! `--console-listen`) that lists sessions and shows one as it happens: frames, each batch's
//! summary, constraints and what changed, validation, the recommended products with pictures,
//! prices and purchase probabilities, expected revenue, the answer, and every planner step and
//! tool call. The page (HTML, CSS and a little JavaScript in `console/`, compiled into the
//! binary) reads a session's event log as server-sent events fed by `Sessions::watch`, the
//! same catch-up-then-live feed as `WatchSession`.
//!
//! Access: on loopback the console answers only requests addressed to a loopback name (so a web
//! page cannot reach it by DNS rebinding); beyond loopback it needs the admin token, which the
//! page asks for once and keeps in a cookie for the address.

use crate::AppState;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use interarec_core::secret;
use interarec_sessions::{SessionError, Sessions};
use interarec_store::Store;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

const INDEX_HTML: &str = include_str!("../console/index.html");
const CONSOLE_CSS: &str = include_str!("../console/console.css");
const CONSOLE_JS: &str = include_str!("../console/console.js");

/// The cookie the page keeps the admin token in (beyond loopback).
const TOKEN_COOKIE: &str = "interarec_console";

/// Events waiting for a slow page before the watch reads them from the log instead.
const EVENT_BUFFER: usize = 256;

/// A catalog's version: its item generation and import time (a catalog removed and imported
/// again starts its generations over).
type CatalogVersion = (u64, u64);

/// What the console's handlers share.
#[derive(Clone)]
struct Console {
    sessions: Sessions,
    store: Store,
    /// The admin token's fingerprint, when requests must present it (beyond loopback).
    required_token: Option<String>,
    /// Pictures by item id, per catalog and generation (read once per catalog version).
    pictures: Arc<Mutex<HashMap<String, (CatalogVersion, Arc<HashMap<String, String>>)>>>,
}

/// Serves the console on `listener` until `cancel` is cancelled.
pub async fn serve(
    listener: TcpListener,
    state: &AppState,
    admin_token: Option<&str>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let beyond_loopback = !listener.local_addr()?.ip().is_loopback();
    let console = Console {
        sessions: state.sessions.clone(),
        store: state.store.clone(),
        required_token: admin_token.filter(|_| beyond_loopback).map(secret::fingerprint),
        pictures: Arc::default(),
    };
    let api = axum::Router::new()
        .route("/api/sessions", get(list_sessions))
        .route("/api/sessions/{id}", get(session))
        .route("/api/sessions/{id}/events", get(events))
        .route("/api/sessions/{id}/frames/{sequence}", get(frame))
        .route("/api/pictures/{catalog}/{item}", get(picture))
        .route("/login", post(login))
        .route_layer(axum::middleware::from_fn_with_state(console.clone(), admitted));
    let router = axum::Router::new()
        .route("/", get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }))
        .route(
            "/console.css",
            get(|| async { page(CONSOLE_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/console.js",
            get(|| async { page(CONSOLE_JS, "text/javascript; charset=utf-8") }),
        )
        .merge(api)
        .layer(axum::middleware::from_fn_with_state(
            !beyond_loopback,
            loopback_names_only,
        ))
        .with_state(console);
    axum::serve(listener, router)
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await
        .map_err(|e| anyhow::anyhow!("the console failed: {e}"))
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// On loopback, a request must name a loopback host (`localhost`, `127.0.0.1`, `[::1]`).
async fn loopback_names_only(State(on_loopback): State<bool>, request: Request, next: Next) -> Response {
    if on_loopback && !names_loopback(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "the console on loopback answers only to http://localhost, 127.0.0.1 or [::1] (a guard against DNS rebinding); to reach it from elsewhere, serve it beyond loopback with an admin token\n",
        )
            .into_response();
    }
    next.run(request).await
}

fn names_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    matches!(name, "localhost" | "127.0.0.1" | "::1")
}

/// Beyond loopback, the API needs the admin token (bearer or the page's cookie).
async fn admitted(State(console): State<Console>, request: Request, next: Next) -> Response {
    let Some(required) = &console.required_token else {
        return next.run(request).await;
    };
    if presented_tokens(request.headers()).any(|token| secret::matches(&token, required)) {
        return next.run(request).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        "the console beyond loopback needs the admin token: enter it on the page (or send `Authorization: Bearer <admin token>`)\n",
    )
        .into_response()
}

fn presented_tokens(headers: &HeaderMap) -> impl Iterator<Item = String> + '_ {
    let bearer = crate::side::bearer(headers).map(str::to_owned);
    let cookies = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
        .map(str::to_owned);
    bearer.into_iter().chain(cookies)
}

/// The page posts the token it was given as a bearer token (checked by [`admitted`]); the
/// answer keeps it in a cookie only this address's pages send.
async fn login(headers: HeaderMap) -> Response {
    let token = crate::side::bearer(&headers).unwrap_or_default();
    let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "the token cannot be kept in a cookie\n").into_response(),
    }
}

fn brief(record: &interarec_core::session::SessionRecord) -> Value {
    json!({
        "id": record.id,
        "catalog_id": record.catalog_id,
        "model_id": record.model_id,
        "capacity": record.capacity,
        "planner": record.planner,
        "vision_provider": record.vision_provider,
        "validate_tool": record.validate_tool,
        "created_at_unix_ms": record.created_at_unix_ms,
        "ended": record.ended,
        "frames_accepted": record.frames_accepted,
        "frames_rejected": record.frames_rejected,
        "batches": record.batches,
        "events": record.events,
    })
}

async fn list_sessions(State(console): State<Console>) -> Response {
    let sessions = console.sessions.clone();
    match tokio::task::spawn_blocking(move || sessions.list()).await {
        Ok(Ok(mut records)) => {
            records.sort_by_key(|record| std::cmp::Reverse(record.created_at_unix_ms));
            axum::Json(records.iter().map(brief).collect::<Vec<_>>()).into_response()
        }
        Ok(Err(error)) => failed(error),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "listing sessions failed\n").into_response(),
    }
}

async fn session(State(console): State<Console>, Path(id): Path<String>) -> Response {
    match console.sessions.get(&id).await {
        Ok(record) => axum::Json(brief(&record)).into_response(),
        Err(error) => failed(error),
    }
}

#[derive(Deserialize)]
struct From {
    from: Option<u64>,
}

/// The session's log from `from` (or after the browser's `Last-Event-ID` when it reconnects),
/// then live, one server-sent event per log entry (its `id` is the sequence).
async fn events(
    State(console): State<Console>,
    Path(id): Path<String>,
    Query(query): Query<From>,
    headers: HeaderMap,
) -> Response {
    let resumed = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .map(|last| last + 1);
    let from = resumed.or(query.from).unwrap_or(1);
    let watch = match console.sessions.watch(&id, from, EVENT_BUFFER).await {
        Ok(watch) => watch,
        Err(error) => return failed(error),
    };
    let stream = ReceiverStream::new(watch).map(|event| {
        Ok::<_, Infallible>(match event {
            Ok(event) => Event::default()
                .id(event.sequence.to_string())
                .event("session-event")
                .data(serde_json::to_string(&event).unwrap_or_default()),
            Err(error) => Event::default().event("watch-error").data(error.to_string()),
        })
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// A frame's image as it arrived.
async fn frame(State(console): State<Console>, Path((id, sequence)): Path<(String, u64)>) -> Response {
    let store = console.store.clone();
    let read = tokio::task::spawn_blocking(move || -> Result<Option<(String, Vec<u8>)>, String> {
        let Some(meta) = store.frame(&id, sequence).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let bytes = store.frame_bytes(&meta.frame_id).map_err(|e| e.to_string())?;
        Ok(bytes.map(|bytes| (meta.mime, bytes)))
    })
    .await;
    match read {
        Ok(Ok(Some((mime, bytes)))) => (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, "max-age=86400, immutable".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, "no such frame in this session\n").into_response(),
        Ok(Err(error)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "reading the frame failed\n").into_response(),
    }
}

/// A catalog item's picture: a redirect to its `image` URL when that is absolute (`http://` or
/// `https://`); a relative one names a page of a shop the console does not know.
async fn picture(State(console): State<Console>, Path((catalog, item)): Path<(String, String)>) -> Response {
    match console.pictures_of(&catalog).await {
        Ok(pictures) => match pictures.get(&item) {
            Some(url) => Redirect::temporary(url).into_response(),
            None => (
                StatusCode::NOT_FOUND,
                "the item has no absolute picture URL; import the catalog with absolute `image` URLs to see pictures\n",
            )
                .into_response(),
        },
        Err(error) => (StatusCode::NOT_FOUND, format!("{error}\n")).into_response(),
    }
}

impl Console {
    /// The catalog's absolute picture URLs by item id, read once per catalog version.
    async fn pictures_of(&self, catalog: &str) -> Result<Arc<HashMap<String, String>>, String> {
        let store = self.store.clone();
        let id = catalog.to_owned();
        let record = tokio::task::spawn_blocking(move || store.get_catalog(&id))
            .await
            .map_err(|_| "reading the catalog failed".to_owned())?
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no catalog `{catalog}`"))?;
        let version = (record.generation, record.imported_at_unix_ms);
        if let Some((known, pictures)) = self.pictures.lock().expect("pictures").get(catalog)
            && *known == version
        {
            return Ok(pictures.clone());
        }
        let store = self.store.clone();
        let id = catalog.to_owned();
        // Row by row, keeping only the pictures a page elsewhere can load.
        let pictures = tokio::task::spawn_blocking(move || {
            let mut pictures = HashMap::new();
            store
                .for_each_catalog_item(&id, |item| {
                    if let Some(image) = item.image
                        && (image.starts_with("http://") || image.starts_with("https://"))
                    {
                        pictures.insert(item.id, image);
                    }
                })
                .map(|_| pictures)
        })
        .await
        .map_err(|_| "reading the catalog failed".to_owned())?
        .map_err(|e| e.to_string())?;
        let pictures = Arc::new(pictures);
        self.pictures
            .lock()
            .expect("pictures")
            .insert(catalog.to_owned(), (version, pictures.clone()));
        Ok(pictures)
    }
}

fn failed(error: SessionError) -> Response {
    let status = match error {
        SessionError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, format!("{error}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_pass_on_loopback() {
        let cases = [
            (Some("localhost:8080"), true),
            (Some("127.0.0.1:8080"), true),
            (Some("[::1]:8080"), true),
            (Some("localhost"), true),
            (Some("evil.example:8080"), false),
            (Some("127.0.0.1.evil.example"), false),
            (Some("localhost.evil.example:80"), false),
            (None, false),
        ];
        for (host, passes) in cases {
            let mut headers = HeaderMap::new();
            if let Some(host) = host {
                headers.insert(header::HOST, HeaderValue::from_static(host));
            }
            assert_eq!(names_loopback(&headers), passes, "{host:?}");
        }
    }

    #[test]
    fn the_token_is_read_from_the_bearer_or_the_cookie() {
        let cases: [(&[(&str, &str)], Vec<&str>); 4] = [
            (&[("authorization", "Bearer abc")], vec!["abc"]),
            (&[("cookie", "a=1; interarec_console=tok; b=2")], vec!["tok"]),
            (&[("cookie", "interarec_consolex=no")], vec![]),
            (&[], vec![]),
        ];
        for (pairs, expected) in cases {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.append(*name, HeaderValue::from_static(value));
            }
            assert_eq!(presented_tokens(&headers).collect::<Vec<_>>(), expected, "{pairs:?}");
        }
    }
}
