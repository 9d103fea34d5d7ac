//! Capture end to end with a real headless Chromium: the driver browses the demo shop (served
//! in-process), frames stream through Browse into a server with the real `capture` component,
//! and the acknowledgements, stored frames, de-duplication decisions and batches are checked,
//! also after a restart; a recorded fixture session replays the same way; a missing selector
//! and a page that does not load end the run with a clear error, keeping the frames taken.
//!
//! Needs Chromium (`apt-get install chromium`; `.ci/run` installs it). Without it these tests
//! fail with that instruction rather than skip.

use interarec_capture_driver::folder;
use interarec_capture_driver::{CaptureOptions, CapturedFrame, ImageFormat, capture, parse_script};
use interarec_client::{Client, Frame, SessionEvent, SessionOptions, browse_response};
use interarec_core::event::EventKind;
use interarec_tests::{TestServer, grant, limits, plugin};
use std::time::Duration;

async fn demo_shop() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(interarec_demo_shop::serve(listener, 42, std::future::pending()));
    format!("http://{address}")
}

fn options(base_url: String, interval_ms: u64) -> CaptureOptions {
    interarec_capture_driver::find_chromium(None)
        .expect("these tests drive a real Chromium: install it with `apt-get install chromium`");
    CaptureOptions {
        viewport: (1280, 800),
        interval_ms,
        format: ImageFormat::Jpeg,
        quality: 70,
        dom_text: true,
        base_url,
        step_timeout_ms: 3_000,
        ..CaptureOptions::default()
    }
}

fn wire(frame: &CapturedFrame) -> Frame {
    Frame {
        sequence: frame.sequence,
        captured_at: Some(interarec_client::convert::timestamp(frame.captured_at_unix_ms)),
        url: frame.url.clone(),
        viewport_width: frame.viewport_width,
        viewport_height: frame.viewport_height,
        image: frame.image.clone(),
        dom_text: frame.dom_text.clone().unwrap_or_default(),
    }
}

/// Streams frames into a session and returns (acknowledged sequences, events up to the end).
async fn stream(client: &mut Client, session: &str, frames: Vec<Frame>) -> (Vec<u64>, Vec<SessionEvent>) {
    let (sender, mut responses) = client.browse(session).await.unwrap();
    let count = frames.len();
    let feeder = tokio::spawn(async move {
        for frame in frames {
            sender.send(frame).await.unwrap();
        }
        sender
    });
    let mut acknowledged = Vec::new();
    let mut events = Vec::new();
    while acknowledged.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(30), responses.message())
            .await
            .expect("answers keep coming")
            .unwrap()
            .unwrap();
        match message.part.unwrap() {
            browse_response::Part::Frame(result) => {
                assert!(result.accepted, "frame {}: {}", result.sequence, result.reason);
                acknowledged.push(result.sequence);
            }
            browse_response::Part::Event(event) => events.push(event),
        }
    }
    let sender = feeder.await.unwrap();
    let ended = client.end_session(session).await.unwrap();
    assert!(ended.ended);
    while !events.iter().any(|e| e.kind_name() == EventKind::SessionEnded.as_str()) {
        let message = tokio::time::timeout(Duration::from_secs(30), responses.message())
            .await
            .expect("the end arrives")
            .unwrap()
            .unwrap();
        if let Some(browse_response::Part::Event(event)) = message.part {
            events.push(event);
        }
    }
    drop(sender);
    (acknowledged, events)
}

/// Every frame of every batch is either kept or dropped with a reason; returns the drops.
fn check_batches(events: &[SessionEvent], frames: usize) -> Vec<(String, String)> {
    let mut seen = 0;
    let mut dropped = Vec::new();
    for event in events.iter().filter(|e| e.kind_name() == EventKind::Batch.as_str()) {
        let payload: serde_json::Value = event.payload_value();
        assert_eq!(payload["deduplicated"], true, "{payload}");
        let window = payload["frames"].as_array().unwrap().len();
        let kept = payload["kept"].as_array().unwrap().len();
        let drops = payload["dropped"].as_array().unwrap();
        assert_eq!(kept + drops.len(), window, "{payload}");
        for drop in drops {
            let reason = drop["reason"].as_str().unwrap().to_owned();
            assert!(reason == "exact-duplicate" || reason == "static", "{reason}");
            dropped.push((drop["frame"].as_str().unwrap().to_owned(), reason));
        }
        seen += window;
    }
    assert_eq!(seen, frames, "every frame is in exactly one batch");
    dropped
}

#[tokio::test]
async fn a_real_browser_session_streams_into_batches_and_survives_a_restart() {
    let base = demo_shop().await;
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client
        .register_tool(
            plugin("capture"),
            vec![grant("frames"), grant("kv")],
            limits(20_000, 256),
            false,
        )
        .await
        .unwrap();
    let session = SessionOptions {
        batch_size: 5,
        batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            60_000,
        ))),
        max_side: 512,
        static_threshold_bits: 4,
    };
    client.create_session("chromium", "fashion", session).await.unwrap();
    let script = parse_script(
        "name: quick\nintent: green dresses\nsteps:\n  - visit: /fashion\n  - wait: 800\n  - click: \"a[data-filter='colour:green']\"\n  - wait: 800\n  - scroll: 500\n  - wait: 800\n",
    )
    .unwrap();
    let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
    let report = capture(&script, &options(base.clone(), 200), sender).await.unwrap();
    let mut frames = Vec::new();
    while let Ok(frame) = receiver.try_recv() {
        frames.push(frame);
    }
    assert_eq!(frames.len() as u64, report.frames);
    assert!(frames.len() >= 8, "{} frames in {:?}", frames.len(), report.elapsed);
    let first = &frames[0];
    assert!(first.image.starts_with(&[0xFF, 0xD8, 0xFF]), "JPEG");
    assert!(first.url.ends_with("/fashion"), "{}", first.url);
    assert!(
        first.dom_text.as_deref().unwrap().contains("Atelier Lane"),
        "visible text saved"
    );
    assert!(
        frames.iter().any(|f| f.url.contains("colour=green")),
        "the click navigated"
    );
    let sequences: Vec<u64> = frames.iter().map(|f| f.sequence).collect();
    assert_eq!(sequences, (1..=frames.len() as u64).collect::<Vec<_>>());

    let count = frames.len();
    let (acknowledged, events) = stream(&mut client, "chromium", frames.iter().map(wire).collect()).await;
    assert_eq!(acknowledged, sequences, "acknowledged in order");
    let dropped = check_batches(&events, count);
    // The waits leave the page still for several screenshots: those are duplicates.
    assert!(!dropped.is_empty(), "{events:?}");

    let before = client.get_session("chromium").await.unwrap();
    let server = server.restart().await;
    let mut client = server.client().await;
    assert_eq!(client.get_session("chromium").await.unwrap(), before);
    assert_eq!(before.frames_accepted, count as u64);
}

#[tokio::test]
async fn a_recorded_fixture_replays_into_a_session() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sessions/homes-pacifica-san-jose");
    let (manifest, recorded) = folder::read(&dir).unwrap();
    assert!(manifest.intent.contains("Pacifica or San Jose"), "{}", manifest.intent);
    assert!(
        recorded.iter().all(|f| f.dom_text.is_some()),
        "ground truth beside every frame"
    );
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client
        .register_tool(
            plugin("capture"),
            vec![grant("frames"), grant("kv")],
            limits(20_000, 256),
            false,
        )
        .await
        .unwrap();
    client
        .create_session("replay", "homes", SessionOptions::default())
        .await
        .unwrap();
    let frames: Vec<Frame> = recorded
        .iter()
        .map(|f| Frame {
            sequence: f.entry.sequence,
            captured_at: Some(interarec_client::convert::timestamp(f.entry.captured_at_unix_ms)),
            url: f.entry.url.clone(),
            viewport_width: manifest.viewport_width,
            viewport_height: manifest.viewport_height,
            image: f.image.clone(),
            dom_text: f.dom_text.clone().unwrap_or_default(),
        })
        .collect();
    let count = frames.len();
    let (acknowledged, events) = stream(&mut client, "replay", frames).await;
    assert_eq!(acknowledged.len(), count);
    check_batches(&events, count);
}

#[tokio::test]
async fn a_missing_selector_or_a_dead_page_ends_the_run_with_its_reason_and_keeps_the_frames() {
    let base = demo_shop().await;
    let cases = [
        (
            "name: x\nsteps:\n  - visit: /footwear\n  - wait: 600\n  - click: '#no-such-button'\n",
            "step 3 (click #no-such-button) failed: `#no-such-button` did not appear within 3000 ms",
            true,
        ),
        (
            "name: x\nsteps:\n  - visit: /no-such-shop\n",
            "step 1 (visit /no-such-shop) failed",
            false,
        ),
        (
            "name: x\nsteps:\n  - visit: http://127.0.0.1:9/\n",
            "step 1 (visit http://127.0.0.1:9/) failed: http://127.0.0.1:9/ did not load",
            false,
        ),
    ];
    for (text, expected, frames_before_failure) in cases {
        let script = parse_script(text).unwrap();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(64);
        let error = capture(&script, &options(base.clone(), 200), sender)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error}");
        let mut kept = 0;
        while receiver.try_recv().is_ok() {
            kept += 1;
        }
        assert_eq!(kept > 0, frames_before_failure, "{expected}: {kept} frames");
    }
}
