//! Seeing and summarizing at the boundaries: the OpenAI-compatible provider against a local
//! server speaking the real wire format (retries, `Retry-After`, error bodies, slow and
//! malformed answers, the key kept secret), both OCR engines on a recorded frame against its DOM
//! text, and sessions summarised batch by batch through the `summarize` plugin, by the offline
//! engine and by a network provider.

use interarec_capture_driver::folder;
use interarec_client::SessionOptions;
use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::Domain;
use interarec_llm::Provider;
use interarec_llm::chat::{ChatError, ChatMessage, ChatProvider, ChatRequest, Part};
use interarec_llm::openai::{OpenAiConfig, OpenAiProvider};
use interarec_server::config::VisionConfig;
use interarec_tests::fake_openai::{FakeOpenAi, Reply};
use interarec_tests::{TestServer, pipeline};
use interarec_vision::ocr::{OcrChoice, OcrPage, PreviousFrame, read_after};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const KEY: &str = "sk-test-secret-key-123";

fn config(base_url: &str, retries: u32, timeout_ms: u64) -> OpenAiConfig {
    OpenAiConfig {
        api_key: Some(KEY.into()),
        max_retries: retries,
        timeout: Duration::from_millis(timeout_ms),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..OpenAiConfig::new(base_url, "fake-vision-1")
    }
}

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![ChatMessage {
            role: "user".into(),
            parts: vec![
                Part::Text("Summarize".into()),
                Part::Image {
                    mime: "image/jpeg".into(),
                    bytes: vec![0xff, 0xd8, 0xff],
                },
            ],
            ..ChatMessage::default()
        }],
        max_tokens: Some(256),
        temperature: Some(0.0),
        json_response: true,
        tools: Vec::new(),
    }
}

#[tokio::test]
async fn the_provider_retries_busy_servers_honouring_retry_after_and_records_usage() {
    let fake = FakeOpenAi::start(
        vec![
            Reply::error(429, "Rate limit reached for requests").retry_after("0"),
            Reply::error(503, "The engine is currently overloaded"),
        ],
        Reply::completion("{\"Lowest Price\": \"$18\"}", 1200, 80),
    )
    .await;
    let provider = OpenAiProvider::new(config(&fake.base_url, 3, 5_000)).unwrap();
    let answer = provider.chat(request()).await.expect("the third attempt succeeds");
    assert_eq!(
        (
            answer.text.as_str(),
            answer.model.as_str(),
            answer.prompt_tokens,
            answer.completion_tokens
        ),
        ("{\"Lowest Price\": \"$18\"}", "fake-vision-1", 1200, 80)
    );
    let received = fake.received();
    assert_eq!(received.len(), 3);
    let last = &received[2];
    assert_eq!(last.authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(last.body["model"], "fake-vision-1");
    assert_eq!(last.body["response_format"]["type"], "json_object");
    assert_eq!(
        last.body["messages"][0]["content"][0],
        json!({"type": "text", "text": "Summarize"})
    );
    assert_eq!(
        last.body["messages"][0]["content"][1]["image_url"]["url"],
        "data:image/jpeg;base64,/9j/"
    );
    assert!(!provider.describe().contains(KEY));
}

#[tokio::test]
async fn provider_failures_say_what_went_wrong_and_never_show_the_key() {
    // (replies, retries, timeout, expected kind, text the message holds, requests made)
    let cases: Vec<(Vec<Reply>, u32, u64, &str, &str, usize)> = vec![
        (
            vec![Reply::error(401, "Incorrect API key provided")],
            3,
            5_000,
            "rejected",
            "Incorrect API key provided",
            1,
        ),
        (
            vec![Reply::error(404, "The model `x` does not exist")],
            3,
            5_000,
            "rejected",
            "check the base URL",
            1,
        ),
        (vec![Reply::raw(400, "")], 3, 5_000, "rejected", "(empty body)", 1),
        // llama-cpp-python answers a body its request schema refuses with HTTP 500: not retried.
        (
            vec![
                Reply::error(
                    500,
                    "[{'type': 'string_type', 'loc': ('body', 'messages', 0, 'content'), 'msg': 'Input should be a valid string'}]"
                );
                3
            ],
            3,
            5_000,
            "rejected",
            "likely cause: the server's request schema refuses the message shape",
            1,
        ),
        (
            vec![Reply::raw(200, "this is not json")],
            3,
            5_000,
            "malformed",
            "invalid JSON",
            1,
        ),
        (
            vec![Reply::json(200, json!({"choices": []}))],
            3,
            5_000,
            "malformed",
            "no choices[0].message.content",
            1,
        ),
        (
            vec![Reply::error(500, "boom"); 3],
            2,
            5_000,
            "unavailable",
            "failed 3 time(s), last with HTTP 500",
            3,
        ),
        // Retry-After beyond the backoff cap is capped, so this fails fast.
        (
            vec![Reply::error(429, "slow down").retry_after("3600"); 2],
            1,
            5_000,
            "unavailable",
            "HTTP 429",
            2,
        ),
        (
            vec![Reply::completion("late", 1, 1).delayed(Duration::from_millis(1_500)); 2],
            1,
            300,
            "unavailable",
            "no answer within the timeout",
            2,
        ),
    ];
    for (replies, retries, timeout_ms, kind, text, requests) in cases {
        let fake = FakeOpenAi::start(replies, Reply::error(500, "script exhausted")).await;
        let provider = OpenAiProvider::new(config(&fake.base_url, retries, timeout_ms)).unwrap();
        let started = std::time::Instant::now();
        let error = provider.chat(request()).await.expect_err("fails");
        let (got_kind, message) = match &error {
            ChatError::Rejected { message: m, .. } => ("rejected", m),
            ChatError::Malformed(m) => ("malformed", m),
            ChatError::Unavailable(m) => ("unavailable", m),
        };
        assert_eq!(got_kind, kind, "{message}");
        assert!(message.contains(text), "{message:?} should contain {text:?}");
        assert!(!message.contains(KEY), "the key leaked: {message}");
        assert_eq!(fake.received().len(), requests, "{message}");
        assert!(started.elapsed() < Duration::from_secs(5), "{message}");
    }
    let error = OpenAiProvider::new(OpenAiConfig::new("localhost:8080/v1", "m"))
        .err()
        .expect("refused");
    assert!(error.to_string().contains("must start with http"), "{error}");
}

fn words(text: &str) -> Vec<String> {
    text.replace(['·', '|'], " ")
        .replace('$', " $")
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Share of `truth`'s words (as a multiset) found in `text`.
fn recall(truth: &[String], text: &str) -> f64 {
    let mut found = words(text);
    let recalled = truth
        .iter()
        .filter(|w| match found.iter().position(|f| f == *w) {
            Some(i) => {
                found.swap_remove(i);
                true
            }
            None => false,
        })
        .count();
    recalled as f64 / truth.len().max(1) as f64
}

/// Every engine reads a recorded listing; most of its DOM words come back, prices included.
#[test]
fn every_ocr_engine_reads_a_recorded_listing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sessions/fashion-green-dresses");
    let (_, frames) = folder::read(&dir).unwrap();
    let frame = &frames[3];
    let truth = words(frame.dom_text.as_deref().unwrap());
    for (engine, minimum_recall) in [("paddle", 0.9), ("paddle-tiny", 0.85), ("tesseract", 0.8)] {
        let engine = OcrChoice::parse(engine)
            .unwrap()
            .load()
            .unwrap_or_else(|e| panic!("the {engine} OCR engine must be installed for the tests (`just models`, apt-get install tesseract-ocr): {e}"));
        let page = engine.read_bytes(&frame.image).unwrap();
        let recall = recall(&truth, &page.text());
        assert!(
            recall >= minimum_recall,
            "{}: recall {recall:.2}\n{}",
            engine.name(),
            page.text()
        );
        assert!(page.text().contains("Green"), "{}", page.text());
        assert!(page.lines.iter().all(|l| (0.0..=1.0).contains(&l.confidence)));
    }
}

/// A recorded session read frame by frame, each against the one before it, finds what whole
/// reads find: over the session, the DOM words recalled stay within three points of full reads'
/// (a reused line keeps what the engine read on the earlier frame, which Tesseract's page-level
/// layout analysis can split differently), and the frames that only partly changed reuse lines
/// instead of reading them again.
#[test]
fn reading_each_frame_against_the_previous_one_keeps_what_full_reads_find() {
    let engine = OcrChoice::Tesseract
        .load()
        .unwrap_or_else(|e| panic!("tesseract must be installed for the tests (apt-get install tesseract-ocr): {e}"));
    for recording in ["footwear-mens-black-nike", "homes-pacifica-san-jose"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/sessions")
            .join(recording);
        let (_, frames) = folder::read(&dir).unwrap();
        let mut previous: Option<(image::GrayImage, OcrPage)> = None;
        let (mut reused, mut truth_words, mut full_recalled, mut incremental_recalled) = (0, 0.0, 0.0, 0.0);
        for (index, frame) in frames.iter().enumerate() {
            // Byte-identical repeats never reach OCR (pages are cached by content).
            if index > 0 && frames[index - 1].image == frame.image {
                continue;
            }
            let image = image::load_from_memory(&frame.image).unwrap();
            let truth = words(frame.dom_text.as_deref().unwrap());
            let whole = engine.read(&image).unwrap();
            let page = read_after(
                engine.as_ref(),
                &image,
                previous
                    .as_ref()
                    .map(|(grey, page)| PreviousFrame { image: grey, page }),
            )
            .unwrap();
            truth_words += truth.len() as f64;
            full_recalled += recall(&truth, &whole.text()) * truth.len() as f64;
            incremental_recalled += recall(&truth, &page.text()) * truth.len() as f64;
            reused += page.reused_lines;
            previous = Some((image.to_luma8(), page));
        }
        let (full, incremental) = (full_recalled / truth_words, incremental_recalled / truth_words);
        assert!(
            incremental >= full - 0.03,
            "{recording}: recall {incremental:.3} against previous frames, {full:.3} from whole frames"
        );
        assert!(reused > 0, "{recording}: no line was reused from a previous frame");
    }
}

/// Replays a recorded session through Browse and returns the summary events.
async fn summaries_of(server: &TestServer, recording: &str, domain: Domain, batch_size: u32) -> Vec<Value> {
    summaries_with(server, recording, domain, batch_size, "").await
}

/// [`summaries_of`] with the session's vision provider named.
async fn summaries_with(
    server: &TestServer,
    recording: &str,
    domain: Domain,
    batch_size: u32,
    vision_provider: &str,
) -> Vec<Value> {
    let mut client = server.client().await;
    pipeline::register_tools(&mut client, &["capture", "summarize"])
        .await
        .unwrap();
    pipeline::import_demo_shop(&mut client, domain, false).await.unwrap();
    let options = SessionOptions {
        batch_size,
        batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            600_000,
        ))),
        max_side: 256,
        static_threshold_bits: 4,
    };
    client
        .create_session_with(interarec_client::CreateSessionRequest {
            session_id: recording.into(),
            catalog_id: domain.slug().into(),
            options: Some(options),
            vision_provider: interarec_client::VisionProvider::from_name(vision_provider).unwrap_or_default() as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let (_, _, frames) = pipeline::fixture_recording(recording).unwrap();
    pipeline::replay(&mut client, recording, frames)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.kind_name() == EventKind::Summary.as_str())
        .map(|event| event.payload_value())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_engine_summarises_each_batch_of_a_recorded_session() {
    let server = TestServer::start_with(interarec_tests::read_with_tesseract).await;
    let summaries = summaries_of(&server, "fashion-red-dresses-mango-zara", Domain::Fashion, 8).await;
    assert_eq!(summaries.len(), 2, "{summaries:#?}");
    for (index, summary) in summaries.iter().enumerate() {
        assert!(summary.get("error").is_none(), "{summary:#}");
        assert_eq!(summary["batch"], index as u64 + 1);
        assert_eq!(summary["prompt_version"], "interarec-summary-v1");
        let model = summary["model"].as_str().unwrap();
        assert!(
            model.starts_with("interarec-offline-vision/") && model.contains("tesseract"),
            "{model}"
        );
    }
    // The first batch holds the filtering: red dresses by Mango, then Zara.
    let first = &summaries[0]["summary"];
    assert_eq!(first["product_specifications"]["colour"], "red", "{first:#}");
    assert_eq!(first["product_specifications"]["category"], "dress", "{first:#}");
    assert_eq!(first["brand_preference"], json!(["Mango", "Zara"]), "{first:#}");
    assert!(
        first["lowest_price"].as_f64().is_some() && first["highest_price"].as_f64().is_some(),
        "{first:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_provider_summarises_through_the_plugin_with_images_by_frame() {
    let answer = "Here is the summary:\n```json\n{\"Product Characteristics\": \"green dresses\", \"Lowest Price\": \"$18.00\", \"Highest Price\": \"$144\", \"Brand Preference\": \"not available\", \"Product Specifications\": {\"colour\": \"green\"}, \"User Reviews and Testimonials\": \"not available\", \"Comparisons\": \"not available\", \"Promotions\": \"not available\",}\n```";
    let fake = FakeOpenAi::start(
        vec![Reply::error(429, "busy").retry_after("0")],
        Reply::completion(answer, 2048, 120),
    )
    .await;
    let base_url = fake.base_url.clone();
    let server = TestServer::start_with(move |config| {
        let mut openai = OpenAiConfig::new(base_url, "fake-vision-1");
        openai.api_key = Some(KEY.into());
        openai.initial_backoff = Duration::from_millis(10);
        // The server reads screenshots offline by default; this session chooses the endpoint.
        config.vision = VisionConfig {
            provider: Provider::Offline,
            ocr: OcrChoice::Tesseract,
            ocr_on_arrival: false,
            ..VisionConfig::default()
        };
        config.openai = Some(openai);
    })
    .await;
    let summaries = summaries_with(&server, "fashion-green-dresses", Domain::Fashion, 16, "openai").await;
    assert_eq!(summaries.len(), 1, "{summaries:#?}");
    let summary = &summaries[0];
    assert_eq!(summary["model"], "fake-vision-1");
    assert_eq!(
        summary["usage"],
        json!({"prompt_tokens": 2048, "completion_tokens": 120})
    );
    assert_eq!(summary["summary"]["lowest_price"], 18.0);
    assert_eq!(summary["summary"]["highest_price"], 144.0);
    assert!(
        summary["repairs"].as_array().is_some_and(|r| !r.is_empty()),
        "the trailing comma is repaired: {summary:#}"
    );
    let received = fake.received();
    assert_eq!(received.len(), 2, "one 429, then the answer");
    let content = received[1].body["messages"][0]["content"].as_array().unwrap().clone();
    let kept = summary["frames"].as_array().unwrap().len();
    assert_eq!(content.len(), 1 + kept, "the prompt, then one image per kept frame");
    assert!(content[0]["text"].as_str().unwrap().contains("Promotions"));
    assert!(
        content[1]["image_url"]["url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/jpeg;base64,/9j/")
    );
}
