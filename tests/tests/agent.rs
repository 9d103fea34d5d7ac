//! The orchestrator's agent loop over gRPC: a recorded session replayed through Browse into a
//! session that recommends with a fitted choice model; each batch is summarised, the offline
//! planner calls the catalog's constraint function, `validate` checks it, `assortment` picks
//! the products, and the events say every step. Also: a session whose tools are missing says
//! what to register instead of failing.

use interarec_client::SessionOptions;
use interarec_demo_shop::catalog::Domain;
use interarec_server::vision::{ProviderChoice, VisionConfig};
use interarec_tests::{TestServer, pipeline};
use interarec_vision::ocr::OcrChoice;
use serde_json::Value;
use std::time::Duration;

async fn prepare(client: &mut interarec_client::Client, domain: Domain, tools: &[&str]) {
    pipeline::register_tools(client, tools).await.unwrap();
    pipeline::import_demo_shop(client, domain, true).await.unwrap();
}

/// Replays a recording into a recommending session; returns every event (kind, payload).
async fn replay(server: &TestServer, recording: &str, domain: Domain, batch_size: u32) -> Vec<(String, Value)> {
    let mut client = server.client().await;
    let options = SessionOptions {
        batch_size,
        batch_interval_ms: 600_000,
        max_side: 256,
        static_threshold_bits: 4,
    };
    client
        .create_recommending_session(recording, domain.slug(), &pipeline::demo_model_id(domain), 4, options)
        .await
        .unwrap();
    let (_, _, frames) = pipeline::fixture_recording(recording).unwrap();
    pipeline::replay(&mut client, recording, frames)
        .await
        .unwrap()
        .into_iter()
        .map(|event| (event.kind, serde_json::from_str(&event.payload_json).unwrap()))
        .collect()
}

fn server_with_tesseract() -> impl FnOnce(&mut interarec_server::config::ServerConfig) {
    |config| {
        config.vision = VisionConfig {
            provider: ProviderChoice::Offline,
            ocr: OcrChoice::Tesseract,
            ocr_on_arrival: true,
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_batch_ends_in_a_recommendation_that_honours_the_shoppers_constraints() {
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    prepare(
        &mut client,
        Domain::Fashion,
        &["capture", "summarize", "validate", "assortment"],
    )
    .await;
    let events = replay(&server, "fashion-green-dresses", Domain::Fashion, 16).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != "frame-rejected")
        .collect();
    assert_eq!(
        kinds,
        [
            "batch",
            "summary",
            "planner-context",
            "planner-step",
            "tool-call",
            "validation",
            "constraints",
            "tool-call",
            "assortment",
            "planner-step",
            "recommendation",
            "session-ended"
        ],
        "{events:#?}"
    );
    let find = |kind: &str| &events.iter().find(|(k, _)| k == kind).unwrap().1;
    let constraints = &find("constraints")["arguments"];
    assert_eq!(constraints["colour"], serde_json::json!(["green"]), "{constraints:#}");
    assert_eq!(constraints["category"], serde_json::json!(["dress"]), "{constraints:#}");
    let (low, high) = (
        constraints["lowest_price"].as_f64().unwrap(),
        constraints["highest_price"].as_f64().unwrap(),
    );
    let recommendation = find("recommendation");
    let items = recommendation["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 4, "{recommendation:#}");
    for item in items {
        let title = item["title"].as_str().unwrap();
        assert!(title.contains("Green") && title.contains("Dress"), "{title}");
        let price = item["price"].as_f64().unwrap();
        assert!((low..=high).contains(&price), "{price} outside {low}..{high}");
        assert!(item["probability"].as_f64().unwrap() > 0.0);
    }
    assert!(recommendation["expected_revenue"].as_f64().unwrap() > 0.0);
    let answer = recommendation["answer"].as_str().unwrap();
    assert!(
        answer.starts_with("Based on what you have been looking at, you might like"),
        "{answer}"
    );
    // Every tool call is recorded with its arguments, result and duration.
    for (kind, payload) in &events {
        if kind == "tool-call" {
            assert!(payload["error"].is_null(), "{payload:#}");
            assert!(
                payload["millis"].as_f64().is_some() && payload["arguments"].is_object(),
                "{payload:#}"
            );
        }
    }
    let info = client.get_session("fashion-green-dresses").await.unwrap();
    assert_eq!((info.choice_model_id.as_str(), info.capacity), ("fashion-mnl", 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_the_planners_tools_says_what_to_register() {
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    prepare(&mut client, Domain::Footwear, &["capture", "summarize"]).await;
    let events = replay(&server, "footwear-womens-running", Domain::Footwear, 16).await;
    let skipped = events
        .iter()
        .find(|(k, _)| k == "planner-skipped")
        .map(|(_, p)| p)
        .expect("a planner-skipped event");
    let reason = skipped["reason"].as_str().unwrap();
    assert!(
        reason.contains("no `validate` tool is registered") && reason.contains("--grant catalog"),
        "{reason}"
    );
    assert!(!events.iter().any(|(k, _)| k == "recommendation"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommend_now_and_watch_session_from_any_sequence() {
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    prepare(
        &mut client,
        Domain::Fashion,
        &["capture", "summarize", "validate", "assortment"],
    )
    .await;
    // Batches would close at 100 frames or after an hour: only RecommendNow closes this one.
    let options = SessionOptions {
        batch_size: 100,
        batch_interval_ms: 3_600_000,
        max_side: 256,
        static_threshold_bits: 4,
    };
    client
        .create_recommending_session("now", "fashion", "fashion-mnl", 3, options)
        .await
        .unwrap();
    let mut watch = client.watch_session("now", 1).await.unwrap();
    let (_, _, frames) = pipeline::fixture_recording("fashion-green-dresses").unwrap();
    for frame in frames.into_iter().take(6) {
        let result = client.upload_frame("now", frame).await.unwrap();
        assert!(result.accepted, "{}", result.reason);
    }
    let events = client.recommend_now("now").await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"batch"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"recommendation"), "{kinds:?}");
    let batch: Value = serde_json::from_str(&events[0].payload_json).unwrap();
    assert_eq!(batch["closed_by"], "recommend-now");
    // Again with nothing pending: the planner runs on the latest summary.
    let again = client.recommend_now("now").await.unwrap();
    let kinds: Vec<&str> = again.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"planner-context"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"recommendation"), "{kinds:?}");
    client.end_session("now").await.unwrap();
    let all = client.get_session("now").await.unwrap().events;

    // The live watcher saw every event, in order, and its stream ended with the session.
    let mut watched = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(30), watch.message())
        .await
        .unwrap()
        .unwrap()
    {
        watched.push(event.event_sequence);
    }
    assert_eq!(watched, (1..=all).collect::<Vec<_>>());
    // A watcher from the middle replays from there.
    let mut late = client.watch_session("now", all - 2).await.unwrap();
    let mut replayed = Vec::new();
    while let Some(event) = late.message().await.unwrap() {
        replayed.push((event.event_sequence, event.kind));
    }
    assert_eq!(replayed.len(), 3, "{replayed:?}");
    assert_eq!(replayed.last().map(|(_, k)| k.as_str()), Some("session-ended"));
}
