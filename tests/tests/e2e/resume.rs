//! A batch stopped at any step finishes after a restart: with fault injection at every point
//! between a window being chosen and its turn being recorded, each session's batch ends, once
//! the server restarts, with the same kept frames as an undisturbed session's, one summary and
//! one recommendation, and an event log without gaps or repeats.

use interarec_client::{Client, SessionOptions};
use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::Domain;
use interarec_sessions::faults::{self, Point};
use interarec_tests::{TestServer, pipeline};
use serde_json::Value;
use std::time::Duration;

const FRAMES: usize = 6;

/// The session's committed log, read to its end (the session is ended first).
async fn log(client: &mut Client, session: &str) -> Vec<(EventKind, Value)> {
    let mut watch = client.watch_session(session, 1).await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(120), watch.message())
        .await
        .expect("the log within two minutes")
        .unwrap()
    {
        assert_eq!(event.event_sequence, events.len() as u64 + 1, "no gap, no repeat");
        let kind: EventKind = event.kind_name().parse().expect("a known kind");
        events.push((kind, event.payload_value()));
    }
    events
}

/// Waits until the session's first batch has a recommendation (or a skipped turn).
async fn recommended(client: &mut Client, session: &str) {
    let mut watch = client.watch_session(session, 1).await.unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(120), watch.message())
            .await
            .unwrap_or_else(|_| panic!("{session}: no recommendation within two minutes"))
            .unwrap()
            .expect("the session goes on");
        if event.kind_name() == EventKind::Recommendation.as_str() {
            return;
        }
    }
}

fn count(events: &[(EventKind, Value)], kind: EventKind) -> usize {
    events.iter().filter(|(k, _)| *k == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_stopped_at_any_step_finishes_after_a_restart() {
    let server = TestServer::start_with(interarec_tests::read_with_tesseract).await;
    let mut client = server.client().await;
    pipeline::prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS)
        .await
        .unwrap();
    let (_, _, frames) = pipeline::fixture_recording("fashion-green-dresses").unwrap();
    let options = SessionOptions {
        batch_size: FRAMES as u32,
        batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            3_600_000,
        ))),
        max_side: 256,
        static_threshold_bits: 4,
    };
    // One undisturbed session, then one per point, each stopped there.
    let mut sessions: Vec<(String, Option<Point>)> = vec![("undisturbed".into(), None)];
    sessions.extend(
        Point::ALL
            .into_iter()
            .map(|point| (format!("stopped-{}", format!("{point:?}").to_lowercase()), Some(point))),
    );
    for (session, point) in &sessions {
        client
            .create_recommending_session(session, "fashion", "fashion-mnl", 4, options)
            .await
            .unwrap();
        if let Some(point) = point {
            faults::arm(session, *point);
        }
        for frame in &frames[..FRAMES] {
            assert!(client.upload_frame(session, frame.clone()).await.unwrap().accepted);
        }
    }
    recommended(&mut client, "undisturbed").await;
    for (session, point) in &sessions[1..] {
        let point = point.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while faults::hits(session, point) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{session} never reached {point:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // The crash: the server stops with every stopped batch where it was, and comes back.
    let server = server.restart().await;
    for (session, point) in &sessions[1..] {
        faults::disarm(session, point.unwrap());
    }
    let mut client = server.client().await;
    let mut expected_kept = None;
    for (session, point) in &sessions {
        recommended(&mut client, session).await;
        client.end_session(session).await.unwrap();
        let events = log(&mut client, session).await;
        let what = format!("{session} ({point:?})");
        assert_eq!(count(&events, EventKind::Batch), 1, "{what}: one batch");
        assert_eq!(count(&events, EventKind::Summary), 1, "{what}: one summary");
        assert_eq!(
            count(&events, EventKind::Recommendation),
            1,
            "{what}: one recommendation"
        );
        let kept = events
            .iter()
            .find(|(kind, _)| *kind == EventKind::Batch)
            .map(|(_, batch)| batch["kept"].clone())
            .unwrap();
        assert!(kept.as_array().is_some_and(|k| !k.is_empty()), "{what}: {kept}");
        let expected = expected_kept.get_or_insert_with(|| kept.clone());
        assert_eq!(&kept, expected, "{what}: the same frames kept as undisturbed");
        let info = client.get_session(session).await.unwrap();
        assert_eq!((info.batches, info.frames_accepted), (1, FRAMES as u64), "{what}");
    }
}
