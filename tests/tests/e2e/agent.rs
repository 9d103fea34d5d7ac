//! The orchestrator's agent loop over gRPC: a recorded session replayed through Browse into a
//! session that recommends with a fitted choice model; each batch is summarised, the offline
//! planner calls the catalog's constraint function, `validate` checks it, `assortment` picks
//! the products, and the events say every step. Also: a session whose tools are missing says
//! what to register instead of failing. The network planner is driven against a local server
//! speaking the OpenAI wire format: parallel calls, repaired and malformed arguments, the
//! validator's violations sent back, the model's own answer, and the fallback when it fails.

use interarec_client::{CreateSessionRequest, SessionOptions};
use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::Domain;
use interarec_llm::openai::OpenAiConfig;
use interarec_tests::fake_openai::{FakeOpenAi, Reply};
use interarec_tests::{TestServer, pipeline};
use serde_json::Value;
use std::time::Duration;

async fn prepare(client: &mut interarec_client::Client, domain: Domain, tools: &[&str]) {
    pipeline::prepare(client, domain, tools).await.unwrap();
}

/// Replays a recording into a recommending session; returns every event (kind, payload).
async fn replay(server: &TestServer, recording: &str, domain: Domain, batch_size: u32) -> Vec<(EventKind, Value)> {
    replay_with(server, recording, domain, batch_size, "").await
}

/// [`replay`] with the session's planner named.
async fn replay_with(
    server: &TestServer,
    recording: &str,
    domain: Domain,
    batch_size: u32,
    planner: &str,
) -> Vec<(EventKind, Value)> {
    replay_session(server, recording, domain, batch_size, planner, "").await
}

/// [`replay`] with the session's planner and validating tool named.
async fn replay_session(
    server: &TestServer,
    recording: &str,
    domain: Domain,
    batch_size: u32,
    planner: &str,
    validate_tool: &str,
) -> Vec<(EventKind, Value)> {
    let mut client = server.client().await;
    let request = pipeline::recommending_session(recording, domain, batch_size, planner, validate_tool);
    pipeline::replay_into(&mut client, request, &pipeline::fixture_dir(recording))
        .await
        .unwrap()
}

fn server_with_tesseract() -> impl FnOnce(&mut interarec_server::config::ServerConfig) {
    interarec_tests::read_with_tesseract
}

/// Tesseract for the screenshots, and an OpenAI-compatible endpoint sessions may plan with.
fn server_with_endpoint(base_url: String) -> impl FnOnce(&mut interarec_server::config::ServerConfig) {
    move |config| {
        server_with_tesseract()(config);
        let mut openai = OpenAiConfig::new(base_url, "fake-planner-1");
        openai.max_retries = 0;
        config.openai = Some(openai);
    }
}

fn kinds(events: &[(EventKind, Value)]) -> Vec<EventKind> {
    events
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| *k != EventKind::FrameRejected)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_planner_calls_tools_in_parallel_and_is_told_what_to_fix() {
    let fake = FakeOpenAi::start(
        vec![
            // Step 1, two calls at once: arguments in a code fence with a trailing comma and
            // words the catalog spells differently (repaired, then validated), and a call whose
            // arguments are cut off (not run; the model is told why).
            Reply::tool_calls(
                &[
                    (
                        "call_a",
                        "get_user_recommendations",
                        "```json\n{\"colour\": [\"teal green\"], \"category\": [\"dresses\"], \"lowest_price\": \"$80\", \"highest_price\": 130,}\n```",
                    ),
                    ("call_b", "assortment", "{\"catalog_id\": \"fashion\""),
                ],
                900,
                60,
            ),
            // Step 2: the model fixes its arguments after the violations came back.
            Reply::tool_calls(
                &[(
                    "call_c",
                    "get_user_recommendations",
                    r#"{"colour": ["green"], "category": ["dress"], "lowest_price": 80, "highest_price": 130}"#,
                )],
                1400,
                40,
            ),
            // Step 3: its answer for the shopper.
            Reply::completion("These green dresses between $80 and $130 match what you browsed.", 2100, 18),
        ],
        Reply::error(400, "the test scripted no more answers"),
    )
    .await;
    let server = TestServer::start_with(server_with_endpoint(fake.base_url.clone())).await;
    let mut client = server.client().await;
    prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS).await;
    let events = replay_with(&server, "fashion-green-dresses", Domain::Fashion, 16, "openai").await;
    assert_eq!(
        kinds(&events),
        [
            EventKind::Batch,
            EventKind::Summary,
            EventKind::PlannerContext,
            EventKind::PlannerStep,
            EventKind::ToolCall,
            EventKind::Validation,
            EventKind::PlannerStep,
            EventKind::ToolCall,
            EventKind::Validation,
            EventKind::Constraints,
            EventKind::ToolCall,
            EventKind::Assortment,
            EventKind::PlannerStep,
            EventKind::Recommendation,
            EventKind::SessionEnded
        ],
        "{events:#?}"
    );
    let steps: Vec<&Value> = events
        .iter()
        .filter(|(k, _)| *k == EventKind::PlannerStep)
        .map(|(_, p)| p)
        .collect();
    let first = &steps[0]["action"]["calls"];
    assert_eq!(first[0]["arguments"]["colour"], serde_json::json!(["teal green"]));
    assert!(first[0]["repairs"].to_string().contains("trailing comma"), "{first:#}");
    assert!(
        first[1]["malformed"].as_str().unwrap().contains("not valid JSON"),
        "{first:#}"
    );
    assert_eq!(
        (steps[0]["prompt_tokens"].as_u64(), steps[0]["model"].as_str()),
        (Some(900), Some("fake-planner-1"))
    );
    let validations: Vec<&Value> = events
        .iter()
        .filter(|(k, _)| *k == EventKind::Validation)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(
        validations
            .iter()
            .map(|v| v["valid"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [false, true]
    );
    let recommendation = &events.iter().find(|(k, _)| *k == EventKind::Recommendation).unwrap().1;
    assert_eq!(
        recommendation["answer"],
        "These green dresses between $80 and $130 match what you browsed."
    );
    let items = recommendation["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{recommendation:#}");
    for item in items {
        let title = item["title"].as_str().unwrap();
        let price = item["price"].as_f64().unwrap();
        assert!(
            title.contains("Green") && title.contains("Dress") && (80.0..=130.0).contains(&price),
            "{item}"
        );
    }

    // What the model was sent: the tools with their schemas, then each call's result under its id.
    let received = fake.received();
    assert_eq!(received.len(), 3, "one request per planner step");
    let tools: Vec<&str> = received[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    // The constraint function and the session's validating tool; the pipeline's own tools
    // (`capture`, `summarize`, `assortment`) are not offered to the model.
    assert_eq!(tools, ["get_user_recommendations", "validate"]);
    let colours = &received[0].body["tools"][0]["function"]["parameters"]["properties"]["colour"]["items"]["enum"];
    assert!(
        colours.as_array().unwrap().contains(&serde_json::json!("green")),
        "{colours}"
    );
    let messages = received[1].body["messages"].as_array().unwrap();
    let answered: Vec<(&str, &str)> = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| (m["tool_call_id"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(answered.len(), 2, "{messages:#?}");
    assert_eq!(answered[0].0, "call_a");
    assert!(
        answered[0].1.contains("\"invalid\"") && answered[0].1.contains("violations"),
        "{}",
        answered[0].1
    );
    assert_eq!(answered[1].0, "call_b");
    assert!(answered[1].1.contains("was not run"), "{}", answered[1].1);
    let info = client.get_session("fashion-green-dresses").await.unwrap();
    assert_eq!(
        (info.planner().name(), info.vision_provider().name()),
        ("openai", "offline")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_stops_at_its_configured_steps_and_time() {
    let calls = [(
        "call_1",
        "get_user_recommendations",
        r#"{"colour": ["green"], "category": ["dress"]}"#,
    )];
    // The first planner call answers after the turn's time is up; every later one asks for the
    // constraint function again and never answers.
    let fake = FakeOpenAi::start(
        vec![Reply::tool_calls(&calls, 10, 10).delayed(Duration::from_secs(3))],
        Reply::tool_calls(&calls, 10, 10),
    )
    .await;
    let base_url = fake.base_url.clone();
    let server = TestServer::start_with(move |config| {
        server_with_endpoint(base_url)(config);
        config.agent.max_steps = 2;
        config.agent.turn_timeout = Duration::from_millis(1_500);
    })
    .await;
    let mut client = server.client().await;
    prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS).await;
    // (recording, the event that ends the network planner's part and its reason, planner steps
    // taken in all)
    let cases = [
        // Too slow: the offline planner finishes in the fifth of the turn kept for it (two steps).
        (
            "fashion-green-dresses",
            (EventKind::PlannerError, "error"),
            "no answer within the turn's time (1500 ms, agent.turn_timeout_ms or openai.turn_timeout_ms, less 300 ms kept for the offline planner)",
            2,
        ),
        // Never answers: stopped after two steps; the last call's products are recommended.
        (
            "fashion-red-dresses-mango-zara",
            (EventKind::PlannerStopped, "reason"),
            "no final answer within 2 steps (agent.max_steps)",
            2,
        ),
    ];
    for (recording, (kind, field), reason, steps) in cases {
        let events = replay_with(&server, recording, Domain::Fashion, 16, "openai").await;
        let ended = &events
            .iter()
            .find(|(k, _)| *k == kind)
            .unwrap_or_else(|| panic!("{recording}: no {kind} in {events:#?}"))
            .1;
        assert_eq!(ended[field], reason, "{recording}");
        assert_eq!(
            events.iter().filter(|(k, _)| *k == EventKind::PlannerStep).count(),
            steps,
            "{recording}"
        );
        let recommendation = &events
            .iter()
            .find(|(k, _)| *k == EventKind::Recommendation)
            .expect("a recommendation")
            .1;
        assert!(
            !recommendation["items"].as_array().unwrap().is_empty(),
            "{recording}: {recommendation:#}"
        );
        assert!(
            recommendation["answer"]
                .as_str()
                .unwrap()
                .starts_with("Based on what you have been looking at"),
            "{recording}"
        );
        assert_eq!(events.last().unwrap().0, EventKind::SessionEnded);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_network_planner_hands_the_turn_to_the_offline_planner() {
    let fake = FakeOpenAi::start(Vec::new(), Reply::error(503, "the model is overloaded")).await;
    let server = TestServer::start_with(server_with_endpoint(fake.base_url.clone())).await;
    let mut client = server.client().await;
    prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS).await;
    let events = replay_with(&server, "fashion-green-dresses", Domain::Fashion, 16, "openai").await;
    let error = &events
        .iter()
        .find(|(k, _)| *k == EventKind::PlannerError)
        .expect("a planner-error event")
        .1;
    assert!(
        error["error"].as_str().unwrap().contains("the model is overloaded") && error["fallback"] == "offline",
        "{error:#}"
    );
    let recommendation = &events.iter().find(|(k, _)| *k == EventKind::Recommendation).unwrap().1;
    assert!(
        !recommendation["items"].as_array().unwrap().is_empty(),
        "{recommendation:#}"
    );
    assert!(
        recommendation["answer"]
            .as_str()
            .unwrap()
            .starts_with("Based on what you have been looking at")
    );
}

/// How real model servers misbehave, and what the orchestrator makes of it (each case a fake
/// server scripted with answers in the shapes seen from llama.cpp servers and small models).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_model_still_ends_with_the_summarys_facts() {
    let schema_refusal = "1 validation error: {'type': 'string_type', 'loc': ('body', 'messages', 0, 'ChatCompletionRequestSystemMessage', 'content'), 'msg': 'Input should be a valid string'}";
    let text_call = Reply::completion("functions.get_user_recommendations:", 300, 6);
    let empty_call = Reply::tool_calls(&[("call_1", "get_user_recommendations", "{}")], 300, 4);
    // (what the fake answers in order, then by default; the event kinds that must appear in
    // order (others may come between); the fallback's cause in the recommendation, if any;
    // requests the fake must have received)
    let cases: Vec<(&str, Vec<Reply>, Reply, &[EventKind], Option<&str>, usize)> = vec![
        (
            // A call written as text with no arguments, twice, then the same again: read as
            // calls, sent back once, completed from the summary, and the repeat ends the turn.
            "text calls",
            vec![text_call.clone(), text_call.clone()],
            text_call,
            &[
                EventKind::PlannerStep,
                EventKind::Consistency,
                EventKind::PlannerStep,
                EventKind::Consistency,
                EventKind::Constraints,
                EventKind::Recommendation,
            ],
            None,
            3,
        ),
        (
            // An empty call, then the same empty call: completed, never an empty constraint set.
            "empty calls",
            vec![empty_call.clone(), empty_call.clone()],
            Reply::completion("Here are some green dresses.", 300, 8),
            &[
                EventKind::Consistency,
                EventKind::Consistency,
                EventKind::Constraints,
                EventKind::Recommendation,
            ],
            None,
            3,
        ),
        (
            // An answer before any call, twice: reminded once, then the offline planner.
            "answers without calling",
            Vec::new(),
            Reply::completion("You might like our dresses!", 300, 7),
            &[
                EventKind::PlannerStep,
                EventKind::PlannerStep,
                EventKind::PlannerError,
                EventKind::Constraints,
                EventKind::Recommendation,
            ],
            Some("no-call"),
            2,
        ),
        (
            // llama-cpp-python's HTTP 500 for a request its schema refuses: not retried.
            "schema refusal",
            Vec::new(),
            Reply::error(500, schema_refusal),
            &[
                EventKind::PlannerError,
                EventKind::Constraints,
                EventKind::Recommendation,
            ],
            Some("message-shape"),
            1,
        ),
        (
            // A context-length refusal: trimmed and retried once, then the model plans.
            "context refusal",
            vec![Reply::error(
                400,
                "Requested tokens (5371) exceed context window of 4096",
            )],
            Reply::tool_calls(
                &[(
                    "call_1",
                    "get_user_recommendations",
                    r#"{"colour": ["green"], "category": ["dress"], "lowest_price": 84, "highest_price": 123}"#,
                )],
                2000,
                30,
            ),
            &[
                EventKind::PlannerStep,
                EventKind::Constraints,
                EventKind::Recommendation,
            ],
            None,
            3,
        ),
    ];
    for (name, script, default_reply, expected, fallback, requests) in cases {
        let fake = FakeOpenAi::start(script, default_reply).await;
        let base_url = fake.base_url.clone();
        let server = TestServer::start_with(move |config| {
            server_with_endpoint(base_url)(config);
            config.agent.max_steps = 4;
            // Refusals must not be retried even when outages would be.
            if let Some(openai) = config.openai.as_mut() {
                openai.max_retries = 2;
            }
        })
        .await;
        let mut client = server.client().await;
        prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS).await;
        let events = replay_with(&server, "fashion-green-dresses", Domain::Fashion, 16, "openai").await;
        let kinds = kinds(&events);
        let mut rest = kinds.iter();
        for kind in expected {
            assert!(rest.any(|k| k == kind), "{name}: no {kind} in order in {kinds:?}");
        }
        let recommendation = &events.iter().find(|(k, _)| *k == EventKind::Recommendation).unwrap().1;
        assert_eq!(
            recommendation["fallback"]["cause"].as_str(),
            fallback,
            "{name}: {recommendation:#}"
        );
        let constraints = &recommendation["constraints"];
        // The summary's facts, whatever the model did: green dresses at about $84–$123.
        assert_eq!(
            (&constraints["colour"], &constraints["category"]),
            (&serde_json::json!(["green"]), &serde_json::json!(["dress"])),
            "{name}: {constraints:#}"
        );
        for (bound, wanted) in [("lowest_price", 84.0), ("highest_price", 123.0)] {
            let got = constraints[bound].as_f64().unwrap_or_default();
            assert!((got - wanted).abs() <= 0.1 * wanted, "{name}: {bound} {got}");
        }
        assert!(!recommendation["items"].as_array().unwrap().is_empty(), "{name}");
        let received = fake.received();
        assert_eq!(received.len(), requests, "{name}: {kinds:?}");
        // Every request in the shape every server takes: text-only content as strings, and a
        // calls-only assistant turn with "".
        for request in &received {
            for message in request.body["messages"].as_array().unwrap() {
                assert!(message["content"].is_string(), "{name}: {message}");
            }
        }
        if name == "context refusal" {
            let step = &events.iter().find(|(k, _)| *k == EventKind::PlannerStep).unwrap().1;
            assert!(
                step["request_trimmed"]
                    .to_string()
                    .contains("retried once after a context-length refusal"),
                "{step:#}"
            );
        }
        let info = client.get_session("fashion-green-dresses").await.unwrap();
        assert_eq!(
            (info.planner_turns, info.fallback_turns),
            (1, u64::from(fallback.is_some())),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_batch_ends_in_a_recommendation_that_honours_the_shoppers_constraints() {
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS).await;
    let events = replay(&server, "fashion-green-dresses", Domain::Fashion, 16).await;
    let kinds: Vec<EventKind> = events
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| *k != EventKind::FrameRejected)
        .collect();
    assert_eq!(
        kinds,
        [
            EventKind::Batch,
            EventKind::Summary,
            EventKind::PlannerContext,
            EventKind::PlannerStep,
            EventKind::ToolCall,
            EventKind::Validation,
            EventKind::Constraints,
            EventKind::ToolCall,
            EventKind::Assortment,
            EventKind::PlannerStep,
            EventKind::Recommendation,
            EventKind::SessionEnded
        ],
        "{events:#?}"
    );
    let find = |kind: EventKind| &events.iter().find(|(k, _)| *k == kind).unwrap().1;
    let constraints = &find(EventKind::Constraints)["arguments"];
    assert_eq!(constraints["colour"], serde_json::json!(["green"]), "{constraints:#}");
    assert_eq!(constraints["category"], serde_json::json!(["dress"]), "{constraints:#}");
    let (low, high) = (
        constraints["lowest_price"].as_f64().unwrap(),
        constraints["highest_price"].as_f64().unwrap(),
    );
    let recommendation = find(EventKind::Recommendation);
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
        if *kind == EventKind::ToolCall {
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

/// Checks every recommended item against the constraint arguments, on the demo shop's own data.
fn assert_items_honour(domain: Domain, constraints: &Value, items: &[Value]) {
    let products = interarec_demo_shop::catalog::generate(domain, 42);
    for shown in items {
        let id = shown["id"].as_str().unwrap();
        let item = &products.iter().find(|p| p.item.id == id).expect("a catalog item").item;
        for (field, wanted) in constraints.as_object().unwrap() {
            let attribute = |name: &str| item.attributes.get(name).map(|v| serde_json::to_value(v).unwrap());
            let ok = match field.as_str() {
                "capacity" => true,
                "lowest_price" => item.price >= wanted.as_f64().unwrap(),
                "highest_price" => item.price <= wanted.as_f64().unwrap(),
                bound if bound.ends_with("_min") || bound.ends_with("_max") => {
                    let name = &bound[..bound.len() - 4];
                    let value = attribute(name).and_then(|v| v.as_f64()).unwrap();
                    if bound.ends_with("_min") {
                        value >= wanted.as_f64().unwrap()
                    } else {
                        value <= wanted.as_f64().unwrap()
                    }
                }
                name => {
                    let value = attribute(name)
                        .map(|v| v.to_string().to_lowercase())
                        .unwrap_or_default();
                    wanted
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|w| value.contains(&w.as_str().unwrap().to_lowercase()))
                }
            };
            assert!(ok, "{} breaks {field} = {wanted}: {item:?}", item.title);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn footwear_and_real_estate_sessions_recommend_what_the_shopper_browsed() {
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    // The real-estate domain plugin is registered at run time like any tool; the homes session
    // names it as its validating tool, with no server change.
    pipeline::register_tools(
        &mut client,
        &["capture", "summarize", "validate", "assortment", "real-estate"],
    )
    .await
    .unwrap();
    // (recording, domain, validating tool, facts the constraints must hold (field and values),
    // fields the validation had to relax because nothing in the shop matched them all)
    let cases: [(&str, Domain, &str, &[(&str, &[&str])], &[&str]); 2] = [
        (
            // The shop has no men's black Nike lifestyle sneaker: the brand, a preference, goes.
            "footwear-mens-black-nike",
            Domain::Footwear,
            "validate",
            &[
                ("colour", &["black"]),
                ("gender", &["men"]),
                ("best_for", &["lifestyle"]),
            ],
            &["brand"],
        ),
        (
            "homes-oakland-condo",
            Domain::RealEstate,
            "real-estate",
            &[("property_type", &["condo"]), ("city", &["Oakland", "Fremont"])],
            &[],
        ),
    ];
    for (recording, domain, validate_tool, facts, relaxed) in cases {
        pipeline::import_demo_shop(&mut client, domain, true).await.unwrap();
        let events = replay_session(&server, recording, domain, 16, "", validate_tool).await;
        let validations: Vec<&Value> = events
            .iter()
            .filter(|(k, _)| *k == EventKind::Validation)
            .map(|(_, p)| p)
            .collect();
        assert!(!validations.is_empty(), "{recording}: {events:#?}");
        for validation in &validations {
            assert_eq!(validation["tool"], validate_tool, "{recording}");
        }
        for field in relaxed {
            assert!(
                validations
                    .iter()
                    .any(|v| v["violations"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|violation| violation["field"] == *field
                            && violation["problem"]
                                .as_str()
                                .unwrap()
                                .contains("match everything asked for"))),
                "{recording}: {field} not relaxed in {validations:#?}"
            );
        }
        let constraints = &events
            .iter()
            .rev()
            .find(|(k, _)| *k == EventKind::Constraints)
            .expect("constraints")
            .1["arguments"];
        for (field, values) in facts {
            let got: Vec<&str> = constraints[*field]
                .as_array()
                .unwrap_or_else(|| panic!("{recording}: no {field} in {constraints:#}"))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert!(
                !got.is_empty() && got.iter().all(|g| values.contains(g)),
                "{recording}: {field} = {got:?}, expected among {values:?}"
            );
        }
        let recommendation = &events
            .iter()
            .rev()
            .find(|(k, _)| *k == EventKind::Recommendation)
            .expect("a recommendation")
            .1;
        let items = recommendation["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{recording}: {recommendation:#}");
        assert_items_honour(domain, &recommendation["constraints"], items);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recommending_session_resumes_after_a_restart() {
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS).await;
    let options = SessionOptions {
        batch_size: 6,
        batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            3_600_000,
        ))),
        max_side: 256,
        static_threshold_bits: 4,
    };
    client
        .create_recommending_session("resumed", "fashion", "fashion-mnl", 4, options)
        .await
        .unwrap();
    let (_, _, frames) = pipeline::fixture_recording("fashion-green-dresses").unwrap();
    let (before, after) = frames.split_at(8);
    for frame in before {
        assert!(client.upload_frame("resumed", frame.clone()).await.unwrap().accepted);
    }
    // The first batch (6 frames) closes in the background; wait for its recommendation.
    let mut watch = client.watch_session("resumed", 1).await.unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(60), watch.message())
            .await
            .expect("a recommendation within a minute")
            .unwrap()
            .expect("the session goes on");
        if event.kind_name() == EventKind::Recommendation.as_str() {
            break;
        }
    }
    drop(watch);
    let first = client.get_session("resumed").await.unwrap();
    let server = server.restart().await;
    let mut client = server.client().await;
    let resumed = client.get_session("resumed").await.unwrap();
    assert_eq!(
        (resumed.events, resumed.last_sequence, resumed.batches),
        (first.events, first.last_sequence, first.batches)
    );
    // The rest of the frames, then the end: the next batch continues from the stored state.
    for frame in after {
        assert!(client.upload_frame("resumed", frame.clone()).await.unwrap().accepted);
    }
    client.end_session("resumed").await.unwrap();
    let mut log = client.watch_session("resumed", 1).await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = log.message().await.unwrap() {
        events.push(event);
    }
    let sequences: Vec<u64> = events.iter().map(|e| e.event_sequence).collect();
    assert_eq!(
        sequences,
        (1..=sequences.len() as u64).collect::<Vec<_>>(),
        "no event lost or repeated"
    );
    let batches: Vec<Value> = events
        .iter()
        .filter(|e| e.kind_name() == EventKind::Batch.as_str())
        .map(|e| e.payload_value())
        .collect();
    let framed: Vec<u64> = batches
        .iter()
        .flat_map(|b| b["frames"].as_array().unwrap().iter().map(|f| f.as_u64().unwrap()))
        .collect();
    assert_eq!(
        framed,
        (1..=frames.len() as u64).collect::<Vec<_>>(),
        "every acknowledged frame in one batch"
    );
    let contexts: Vec<Value> = events
        .iter()
        .filter(|e| e.kind_name() == EventKind::PlannerContext.as_str())
        .map(|e| e.payload_value())
        .collect();
    assert!(contexts.len() >= 2, "a turn before and after the restart");
    // The turn after the restart starts from the constraints recorded before it.
    let first_constraints: Value = events
        .iter()
        .find(|e| e.kind_name() == EventKind::Constraints.as_str())
        .map(|e| e.payload_value()["arguments"].clone())
        .expect("the first turn's constraints");
    assert!(contexts[0]["current_constraints"].is_null());
    assert_eq!(contexts[1]["current_constraints"], first_constraints);
    assert_eq!(events.last().unwrap().kind_name(), EventKind::SessionEnded.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_the_planners_tools_says_what_to_register() {
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    prepare(&mut client, Domain::Footwear, &["capture", "summarize"]).await;
    let events = replay(&server, "footwear-womens-running", Domain::Footwear, 16).await;
    let skipped = events
        .iter()
        .find(|(k, _)| *k == EventKind::PlannerSkipped)
        .map(|(_, p)| p)
        .expect("a planner-skipped event");
    let reason = skipped["reason"].as_str().unwrap();
    assert!(
        reason.contains("no `validate` tool is registered") && reason.contains("--grant catalog"),
        "{reason}"
    );
    // Sessions cannot pick a provider the server does not have.
    let refused = client
        .create_session_with(CreateSessionRequest {
            session_id: "wants-openai".into(),
            planner: interarec_client::Planner::Openai as i32,
            ..CreateSessionRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(tonic::Code::InvalidArgument));
    assert!(refused.to_string().contains("--openai-base-url"), "{refused}");
    assert!(!events.iter().any(|(k, _)| *k == EventKind::Recommendation));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recommend_now_and_watch_session_from_any_sequence() {
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS).await;
    // Batches would close at 100 frames or after an hour: only RecommendNow closes this one.
    let options = SessionOptions {
        batch_size: 100,
        batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            3_600_000,
        ))),
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
    let kinds: Vec<&str> = events.iter().map(|e| e.kind_name()).collect();
    assert_eq!(kinds.first(), Some(&"batch"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"recommendation"), "{kinds:?}");
    let batch: Value = events[0].payload_value();
    assert_eq!(batch["closed_by"], "recommend-now");
    // Again with nothing pending: the planner runs on the latest summary.
    let again = client.recommend_now("now").await.unwrap();
    let kinds: Vec<&str> = again.iter().map(|e| e.kind_name()).collect();
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
        replayed.push((event.event_sequence, event.kind_name()));
    }
    assert_eq!(replayed.len(), 3, "{replayed:?}");
    assert_eq!(replayed.last().map(|(_, k)| *k), Some("session-ended"));
}

/// Vision answers in the shapes real multimodal models print, fed through a fake endpoint into a
/// recommending session: each is read into constraints and a recommendation, and an answer that
/// cannot be read at all gets an event saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vision_answers_as_models_print_them_reach_the_recommendation() {
    // (case, the model's answer, constraints the recommendation must hold (field, value); or
    // the planner-skipped reason fragment when nothing can be read)
    let cases: [(&str, &str, &[(&str, Value)], Option<&str>); 4] = [
        (
            "escapes JSON lacks",
            r#"{"Product Characteristics": "green dresses", "Lowest Price": "18.00\$ for the slip dress", "Highest Price": "$144, as seen on the last card", "Brand Preference": "not available", "Product Specifications": {"colour": "green", "category": "dress"}, "Promotions": "code SPRING\_20"}"#,
            &[
                ("colour", serde_json::json!(["green"])),
                // Payloads cross the wire as a Struct: whole numbers read back as integers.
                ("lowest_price", serde_json::json!(18)),
            ],
            None,
        ),
        (
            "braces lost behind a bare json word",
            r#""json "Product Characteristics": "green dresses", "Lowest Price": "$18", "Highest Price": "$144", "Product Specifications": "colour": "green", "category": "dress", "Promotions": "not available""#,
            &[
                ("colour", serde_json::json!(["green"])),
                ("highest_price", serde_json::json!(144)),
            ],
            None,
        ),
        (
            "no single brand preferred",
            r#"Sure! {"Product Characteristics": "green dresses", "Lowest Price": "$18", "Highest Price": "$144", "Brand Preference": "Variety of brands shown, such as Mango, Zara, Monki, suggesting no clear preference for a single brand", "Product Specifications": {"colour": "green"}}"#,
            &[("colour", serde_json::json!(["green"])), ("brand", Value::Null)],
            None,
        ),
        (
            "unreadable",
            "I could not see any products in these screenshots.",
            &[],
            Some("could not be read"),
        ),
    ];
    for (name, answer, holds, skipped) in cases {
        let fake = FakeOpenAi::start(Vec::new(), Reply::completion(answer, 900, 80)).await;
        let base_url = fake.base_url.clone();
        let server = TestServer::start_with(move |config| server_with_endpoint(base_url)(config)).await;
        let mut client = server.client().await;
        prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS).await;
        let request = CreateSessionRequest {
            vision_provider: interarec_client::VisionProvider::Openai as i32,
            ..pipeline::recommending_session("answers", Domain::Fashion, 16, "", "")
        };
        let events = pipeline::replay_into(&mut client, request, &pipeline::fixture_dir("fashion-green-dresses"))
            .await
            .unwrap();
        match skipped {
            Some(reason) => {
                let skip = &events
                    .iter()
                    .find(|(k, _)| *k == EventKind::PlannerSkipped)
                    .unwrap_or_else(|| panic!("{name}: {events:#?}"))
                    .1;
                assert!(skip["reason"].as_str().unwrap().contains(reason), "{name}: {skip:#}");
                assert!(!events.iter().any(|(k, _)| *k == EventKind::Recommendation), "{name}");
            }
            None => {
                let recommendation = &events
                    .iter()
                    .find(|(k, _)| *k == EventKind::Recommendation)
                    .unwrap_or_else(|| panic!("{name}: no recommendation in {:?}", kinds(&events)))
                    .1;
                for (field, value) in holds {
                    assert_eq!(
                        &recommendation["constraints"][*field], value,
                        "{name}: {field} in {recommendation:#}"
                    );
                }
                assert!(!recommendation["items"].as_array().unwrap().is_empty(), "{name}");
            }
        }
    }
}

/// The storefront layout family (breadcrumb, checkbox facets, chips, colour only as swatches,
/// product pages without ratings, "You may also like" rows), one recording per domain: every
/// intent fact of the recording's manifest is held by the final merged constraints, and every
/// recommended product satisfies the intent (checked against the shop's own catalog).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storefront_sessions_recover_the_intent_in_every_domain() {
    use interarec_core::catalog::{CatalogFormat, parse_catalog};
    use interarec_demo_shop::catalog::{catalog_csv, generate};
    use interarec_tests::intent;
    let server = TestServer::start_with(server_with_tesseract()).await;
    let mut client = server.client().await;
    pipeline::register_tools(
        &mut client,
        &["capture", "summarize", "validate", "assortment", "real-estate"],
    )
    .await
    .unwrap();
    let cases = [
        "storefront-fashion-blue-dresses",
        "storefront-footwear-womens-trail",
        "storefront-homes-san-mateo-condo",
    ];
    for recording in cases {
        let (manifest, domain, _) = pipeline::fixture_recording(recording).unwrap();
        let validate_tool = pipeline::validating_tool(domain);
        pipeline::import_demo_shop(&mut client, domain, true).await.unwrap();
        let events = replay_session(&server, recording, domain, 10, "", validate_tool).await;
        let constraints = events
            .iter()
            .rev()
            .find(|(k, _)| *k == EventKind::Constraints)
            .map(|(_, p)| &p["arguments"]);
        let missed: Vec<intent::Fact> = intent::facts(&manifest.expect, constraints)
            .into_iter()
            .filter(|fact| !fact.held)
            .collect();
        assert!(missed.is_empty(), "{recording}: missed {missed:?} in {constraints:#?}");
        // Every fact of every summary carries its evidence: a known support and a confidence;
        // each expected fact was accounted for in some batch.
        let mut accounted: Vec<String> = Vec::new();
        for (_, payload) in events.iter().filter(|(k, _)| *k == EventKind::Summary) {
            let account = payload["summary"]["evidence"]
                .as_object()
                .unwrap_or_else(|| panic!("{recording}: a summary without evidence: {payload}"));
            for (fact, entry) in account {
                let confidence = entry["confidence"].as_f64().unwrap_or(-1.0);
                assert!(
                    ["stated", "listing", "viewed"].contains(&entry["support"].as_str().unwrap_or("")),
                    "{recording}: {fact}: {entry}"
                );
                assert!(confidence > 0.0 && confidence <= 1.0, "{recording}: {fact}: {entry}");
                accounted.push(fact.clone());
            }
        }
        // (`brand: []` is "no brand preference": nothing to account for.)
        for (fact, _) in manifest
            .expect
            .iter()
            .filter(|(_, v)| v.as_array().is_none_or(|a| !a.is_empty()))
        {
            let name = fact.trim_end_matches("_min").trim_end_matches("_max");
            assert!(
                accounted.iter().any(|a| a == name),
                "{recording}: no evidence for {fact}"
            );
        }
        assert!(
            events
                .iter()
                .filter(|(k, _)| *k == EventKind::Constraints)
                .all(|(_, p)| p["viewed_only"].is_array()),
            "{recording}: constraints events name the facts resting only on views"
        );
        let csv = catalog_csv(domain, &generate(domain, 42));
        let catalog = parse_catalog(CatalogFormat::Csv, csv.as_bytes(), &Default::default(), true).unwrap();
        let recommended: Vec<&str> = events
            .iter()
            .rev()
            .find(|(k, _)| *k == EventKind::Recommendation)
            .and_then(|(_, p)| p["items"].as_array())
            .unwrap_or_else(|| panic!("{recording}: no recommendation"))
            .iter()
            .filter_map(|item| item["id"].as_str())
            .collect();
        assert!(!recommended.is_empty(), "{recording}");
        for id in recommended {
            let item = catalog.items.iter().find(|item| item.id == id).expect("a catalog item");
            assert!(
                intent::satisfies(item, &manifest.expect),
                "{recording}: {} does not satisfy {:?}",
                item.title,
                manifest.expect
            );
        }
    }
}
