//! The network planner against a real OpenAI-compatible server: llama.cpp's, through
//! llama-cpp-python, serving a small instruct model on this machine's CPU. `just test-llm`
//! starts that server and runs these tests with `--ignored`; `just test` leaves them out (they
//! need the server), and run without one they fail and say how to start it.
//!
//! What is checked: the server accepts every request (no refusal of the message shape, the
//! context length or the model), the model really plans (steps with its tokens), every batch
//! ends in a recommendation, and the session's final constraints hold at least the intent
//! facts the offline planner's hold on the same recording: whatever the small model does, the
//! consistency check keeps the summary's facts.

use interarec_core::event::EventKind;
use interarec_core::telemetry;
use interarec_demo_shop::catalog::Domain;
use interarec_tests::llm::{LlmServer, REFUSALS};
use interarec_tests::metrics::{sample, scrape};
use interarec_tests::{TestServer, intent, pipeline};
use serde_json::Value;

fn endpoint() -> LlmServer {
    LlmServer::from_env().unwrap_or_else(|e| panic!("{e}"))
}

async fn replay(
    server: &TestServer,
    id: &str,
    recording: &str,
    domain: Domain,
    planner: &str,
    validate_tool: &str,
) -> Vec<(EventKind, Value)> {
    let mut client = server.client().await;
    let request = pipeline::recommending_session(id, domain, 10, planner, validate_tool);
    pipeline::replay_into(&mut client, request, &pipeline::fixture_dir(recording))
        .await
        .unwrap()
}

fn final_constraints(events: &[(EventKind, Value)]) -> Option<&Value> {
    events
        .iter()
        .rev()
        .find(|(k, _)| *k == EventKind::Constraints)
        .map(|(_, p)| &p["arguments"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a llama.cpp server: `just test-llm` starts one and runs this"]
async fn a_real_llama_cpp_server_plans_recommending_sessions() {
    let llm = endpoint();
    let server = TestServer::start_with(move |config| {
        llm.configure(config);
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let metrics = server.server.metrics_addr.expect("the metrics endpoint is bound");
    let mut model_steps = 0usize;
    let mut client = server.client().await;
    pipeline::register_tools(
        &mut client,
        &["capture", "summarize", "validate", "assortment", "real-estate"],
    )
    .await
    .unwrap();
    // (recording, domain, validating tool): a fashion listing, and a homes session whose
    // catalog's enums made a 4,096-token context overflow before requests were trimmed.
    let cases = [
        ("fashion-green-dresses", Domain::Fashion, "validate"),
        ("homes-oakland-condo", Domain::RealEstate, "real-estate"),
        ("homes-pacifica-san-jose", Domain::RealEstate, "real-estate"),
    ];
    for domain in [Domain::Fashion, Domain::RealEstate] {
        pipeline::import_demo_shop(&mut client, domain, true).await.unwrap();
    }
    for (recording, domain, validate_tool) in cases {
        let offline = replay(
            &server,
            &format!("{recording}-offline"),
            recording,
            domain,
            "offline",
            validate_tool,
        )
        .await;
        let events = replay(&server, recording, recording, domain, "openai", validate_tool).await;
        // What the model did, for whoever runs this: each step's calls or answer, and what the
        // orchestrator made of them.
        for (kind, payload) in &events {
            match kind {
                EventKind::PlannerStep => eprintln!(
                    "  step {}: {} {}",
                    payload["step"], payload["action"], payload["request_trimmed"]
                ),
                EventKind::Consistency | EventKind::PlannerError | EventKind::PlannerStopped => {
                    eprintln!("  {kind}: {payload}")
                }
                EventKind::Constraints => eprintln!("  constraints: {}", payload["arguments"]),
                EventKind::Summary => eprintln!("  summary: {}", payload["summary"]),
                _ => {}
            }
        }
        let refused: Vec<&Value> = events
            .iter()
            .filter(|(k, p)| {
                *k == EventKind::PlannerError && REFUSALS.contains(&p["cause"].as_str().unwrap_or_default())
            })
            .map(|(_, p)| p)
            .collect();
        assert!(
            refused.is_empty(),
            "{recording}: the server refused requests: {refused:#?}"
        );
        let steps: Vec<&Value> = events
            .iter()
            .filter(|(k, p)| {
                *k == EventKind::PlannerStep && p["planner"].as_str().unwrap_or_default().starts_with("openai")
            })
            .map(|(_, p)| p)
            .collect();
        assert!(
            steps.iter().any(|s| s["prompt_tokens"].as_u64().unwrap_or(0) > 0),
            "{recording}: the model never took a step: {events:#?}"
        );
        let batches = events.iter().filter(|(k, _)| *k == EventKind::Summary).count();
        let recommendations = events.iter().filter(|(k, _)| *k == EventKind::Recommendation).count();
        assert!(
            batches > 0 && recommendations == batches,
            "{recording}: {batches} summaries, {recommendations} recommendations"
        );
        let (manifest, _, _) = pipeline::fixture_recording(recording).unwrap();
        let held = |events: &[(EventKind, Value)]| -> Vec<String> {
            intent::facts(&manifest.expect, final_constraints(events))
                .into_iter()
                .filter(|f| f.held)
                .map(|f| f.field)
                .collect()
        };
        let (network, baseline) = (held(&events), held(&offline));
        for fact in &baseline {
            assert!(
                network.contains(fact),
                "{recording}: the network planner's final constraints lost `{fact}`, which the offline planner's hold: {:#} (offline: {:#})",
                final_constraints(&events).unwrap_or(&Value::Null),
                final_constraints(&offline).unwrap_or(&Value::Null)
            );
        }
        let info = client.get_session(recording).await.unwrap();
        eprintln!(
            "{recording}: {} model steps, {} turn(s), {} finished by the fallback; facts held {network:?} (offline {baseline:?})",
            steps.len(),
            info.planner_turns,
            info.fallback_turns
        );
        assert_eq!(info.planner_turns as usize, batches, "{recording}");
        model_steps += steps.len();
    }
    // The model server's answers are counted for operators: each step is one completed call,
    // with the tokens the server reported.
    let (status, body) = scrape(metrics, None).await;
    assert_eq!(status, 200);
    let tokens = |kind: &str| sample(&body, telemetry::MODEL_TOKENS, &[&format!("kind=\"{kind}\"")]);
    assert!(
        sample(&body, telemetry::MODEL_CALLS, &["outcome=\"ok\""]) >= model_steps as f64,
        "{model_steps} model steps:\n{body}"
    );
    assert!(tokens("prompt") > 0.0 && tokens("completion") > 0.0, "{body}");
    assert!(sample(&body, &format!("{}_count", telemetry::MODEL_CALL_DURATION), &[]) >= model_steps as f64);
}

/// The vision provider's request shape against the same server: a system message, a user
/// message with text and an image part, `response_format: json_object`. The text model stands
/// in for a vision model (it cannot see; the image is tiny so its data URL fits the context):
/// what is checked is that the server takes the request and answers a chat completion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a llama.cpp server: `just test-llm` starts one and runs this"]
async fn a_real_llama_cpp_server_accepts_the_vision_providers_requests() {
    use interarec_llm::chat::{ChatMessage, ChatProvider, ChatRequest, Part};
    let mut config = endpoint().openai_config();
    config.max_retries = 0;
    let provider = interarec_llm::openai::OpenAiProvider::new(config).unwrap();
    let mut png = Vec::new();
    image::RgbImage::from_pixel(2, 2, image::Rgb([40, 160, 60]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let answer = provider
        .chat(ChatRequest {
            messages: vec![
                ChatMessage::text(
                    "system",
                    "Summarise what the shopper sees as one JSON object with the key \"Product Characteristics\".",
                ),
                ChatMessage {
                    role: "user".into(),
                    parts: vec![
                        Part::Text("The screenshot shows green dresses from $84 to $123.".into()),
                        Part::Image {
                            mime: "image/png".into(),
                            bytes: png,
                        },
                    ],
                    ..ChatMessage::default()
                },
            ],
            max_tokens: Some(48),
            temperature: Some(0.0),
            json_response: true,
            tools: Vec::new(),
        })
        .await
        .unwrap_or_else(|e| panic!("the server refused the vision provider's request ({}): {e}", e.cause()));
    assert!(answer.prompt_tokens > 0 && !answer.text.is_empty(), "{answer:?}");
}
