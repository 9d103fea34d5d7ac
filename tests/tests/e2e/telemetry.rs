//! Metrics for operators, scraped over HTTP from a real server: after a recorded session is
//! replayed into a recommending session (its planner failing at a model endpoint, so the
//! offline planner finishes each turn), the counters of every stage moved; a made-up method is
//! counted as `unknown`; beyond loopback a scrape needs the admin token.

use interarec_core::telemetry;
use interarec_demo_shop::catalog::Domain;
use interarec_llm::openai::OpenAiConfig;
use interarec_tests::fake_openai::{FakeOpenAi, Reply};
use interarec_tests::metrics::{sample, scrape};
use interarec_tests::{TestServer, pipeline};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_after_a_replayed_session_shows_every_stage_counted() {
    // Every answer of the model endpoint is a refusal: each turn counts a failed model call and
    // falls back to the offline planner, which recommends.
    let fake = FakeOpenAi::start(Vec::new(), Reply::error(400, "the test model refuses everything")).await;
    let server = TestServer::start_with(|config| {
        interarec_tests::read_with_tesseract(config);
        let mut openai = OpenAiConfig::new(fake.base_url.clone(), "refusing-model");
        openai.max_retries = 0;
        config.openai = Some(openai);
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let metrics = server.server.metrics_addr.expect("the metrics endpoint is bound");
    let (status, before) = scrape(metrics, None).await;
    assert_eq!(status, 200, "{before}");

    let mut client = server.client().await;
    pipeline::prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS)
        .await
        .unwrap();
    let recording = "fashion-green-dresses";
    let (_, _, frames) = pipeline::fixture_recording(recording).unwrap();
    let sent = frames.len() as f64;
    let request = pipeline::recommending_session("metered", Domain::Fashion, 8, "openai", "");
    let events = pipeline::replay_into(&mut client, request, &pipeline::fixture_dir(recording))
        .await
        .unwrap();
    let batches = events
        .iter()
        .filter(|(kind, _)| *kind == interarec_core::event::EventKind::Batch)
        .count() as f64;
    assert!(batches >= 2.0, "the recording makes several batches");
    let recommendations = events
        .iter()
        .filter(|(kind, _)| *kind == interarec_core::event::EventKind::Recommendation)
        .count() as f64;
    assert!(recommendations >= 1.0, "the session recommends");

    let (status, after) = scrape(metrics, None).await;
    assert_eq!(status, 200);
    // Counters are process-wide (other tests in this binary move them too): each must have
    // moved by at least what this session did.
    let moved = |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    let histogram_count = |name: &str, labels: &[&str]| moved(&format!("{name}_count"), labels);
    let cases: &[(&str, f64, f64)] = &[
        ("frames acknowledged", moved(telemetry::FRAMES_ACKNOWLEDGED, &[]), sent),
        ("batches closed", moved(telemetry::BATCHES_CLOSED, &[]), batches),
        (
            "batch to recommendation",
            histogram_count(telemetry::BATCH_TO_RECOMMENDATION, &[]),
            recommendations,
        ),
        (
            "Browse calls that ended OK",
            moved(
                telemetry::RPC_REQUESTS,
                &["method=\"interarec.v1.SessionService/Browse\"", "code=\"OK\""],
            ),
            1.0,
        ),
        (
            "CreateSession call time",
            histogram_count(
                telemetry::RPC_DURATION,
                &["method=\"interarec.v1.SessionService/CreateSession\""],
            ),
            1.0,
        ),
        (
            "capture calls",
            moved(telemetry::TOOL_CALLS, &["tool=\"capture\"", "outcome=\"ok\""]),
            batches,
        ),
        (
            "assortment call time",
            histogram_count(telemetry::TOOL_CALL_DURATION, &["tool=\"assortment\""]),
            recommendations,
        ),
        (
            "frames read by OCR",
            histogram_count(telemetry::OCR_FRAME_DURATION, &["engine=\"tesseract-"]),
            1.0,
        ),
        (
            "turns finished by the offline planner",
            moved(telemetry::PLANNER_TURNS, &["result=\"fallback\""]),
            recommendations,
        ),
        (
            "offline planner steps",
            moved(telemetry::PLANNER_STEPS, &["planner=\"offline\""]),
            recommendations,
        ),
        (
            "refused model calls",
            moved(telemetry::MODEL_CALLS, &[]) - moved(telemetry::MODEL_CALLS, &["outcome=\"ok\""]),
            recommendations,
        ),
        (
            "model call time",
            histogram_count(telemetry::MODEL_CALL_DURATION, &[]),
            recommendations,
        ),
    ];
    for (what, value, at_least) in cases {
        assert!(
            value >= at_least,
            "{what}: moved by {value}, expected at least {at_least}\n{after}"
        );
    }
    for gauge in [telemetry::LIVE_SESSIONS, telemetry::PLUGIN_SLOTS_IN_USE] {
        assert!(after.contains(&format!("\n{gauge} ")), "{gauge} is missing:\n{after}");
    }
    assert_eq!(
        sample(&after, telemetry::PLUGIN_SLOTS, &[]),
        f64::from(server.config.limits.max_concurrent_calls)
    );
    // Every metric that has samples is described for Prometheus, with its unit's type.
    for spec in telemetry::METRICS {
        if after
            .lines()
            .any(|line| line.starts_with(spec.name) && !line.starts_with('#'))
        {
            assert!(
                after.contains(&format!("# HELP {} {}", spec.name, spec.help)),
                "{} has no HELP line:\n{after}",
                spec.name
            );
        }
    }

    // A path no service has is answered UNIMPLEMENTED and counted as `unknown`, not by its name.
    let channel = tonic::transport::Channel::from_shared(server.server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let made_up = grpc
        .unary(
            tonic::Request::new(tonic_health::pb::HealthCheckRequest::default()),
            tonic::codegen::http::uri::PathAndQuery::from_static("/made.up.Service/Nothing"),
            tonic_prost::ProstCodec::<tonic_health::pb::HealthCheckRequest, tonic_health::pb::HealthCheckResponse>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(made_up.code(), tonic::Code::Unimplemented);
    let (_, last) = scrape(metrics, None).await;
    assert!(
        sample(
            &last,
            telemetry::RPC_REQUESTS,
            &["method=\"grpc.health.v1.Health/Check\"", "code=\"OK\""]
        ) >= 1.0
    );
    assert!(
        sample(
            &last,
            telemetry::RPC_REQUESTS,
            &["method=\"unknown\"", "code=\"UNIMPLEMENTED\""]
        ) >= 1.0,
        "{last}"
    );
    assert!(!last.contains("made.up"), "{last}");
    server.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_beyond_loopback_need_the_admin_token() {
    let token = "metrics-test-admin-token";
    let server = TestServer::start_with(|config| {
        config.admin_token = Some(token.into());
        config.metrics_listen = Some("0.0.0.0:0".parse().unwrap());
    })
    .await;
    let metrics = server.server.metrics_addr.unwrap();
    let cases: &[(Option<&str>, u16, &str)] = &[
        (None, 401, "need the admin token"),
        (Some("not-the-admin-token"), 401, "Authorization: Bearer"),
        (Some(token), 200, "# TYPE interarec_"),
    ];
    for (bearer, status, says) in cases {
        let (got, body) = scrape(metrics, *bearer).await;
        assert_eq!(got, *status, "{bearer:?}: {body}");
        assert!(body.contains(says), "{bearer:?}: {body}");
    }
    server.server.stop().await.unwrap();
}
