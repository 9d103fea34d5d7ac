//! Configured `[serving]` limits, end to end: connections beyond `max_connections` are told so
//! and let in once one closes; frame fields and `Optimize` lists are held to the configured
//! sizes, each refusal naming the key that raises it.

use interarec_client::{ClientError, Frame, OptimizeRequest, SessionOptions};
use interarec_tests::TestServer;
use std::time::Duration;
use tonic::Code;

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> (Code, String) {
    match result {
        Err(ClientError::Status(status)) => (status.code(), status.message().to_owned()),
        other => panic!("expected a status, got {other:?}"),
    }
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused_with_the_key_and_let_in_when_one_closes() {
    let server = TestServer::start_with(|config| config.serving.max_connections = 2).await;
    let mut first = server.client().await;
    let mut second = server.client().await;
    for client in [&mut first, &mut second] {
        client.list_tools().await.expect("an admitted connection is served");
    }
    let mut third = server.client().await;
    let (code, message) = status(third.list_tools().await);
    assert_eq!(code, Code::ResourceExhausted, "{message}");
    assert!(
        message.contains("its 2 connections (serving.max_connections)"),
        "{message}"
    );
    // The refused connection is closed soon after; the admitted ones go on meanwhile.
    second.list_tools().await.expect("still served");
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut next = server.client().await;
        match next.list_tools().await {
            Ok(_) => break,
            Err(error) => {
                assert!(tokio::time::Instant::now() < deadline, "still refused: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test]
async fn frame_fields_and_optimize_lists_follow_the_configured_limits() {
    let server = TestServer::start_with(|config| {
        config.serving.max_url_bytes = 300;
        config.serving.max_dom_text_bytes = 100;
        config.serving.optimize_max_listed = 2;
        config.serving.optimize_max_filters = 1;
        config.serving.optimize_max_constraints_bytes = 1024;
    })
    .await;
    let mut client = server.client().await;
    client
        .create_session("bounded", "", SessionOptions::default())
        .await
        .unwrap();
    let image = interarec_tests::pipeline::fixture_recording("fashion-green-dresses")
        .unwrap()
        .2
        .remove(0)
        .image;
    let frame = |sequence: u64, url: String, dom_text: String| Frame {
        sequence,
        url,
        dom_text,
        image: image.clone(),
        viewport_width: 1280,
        viewport_height: 800,
        captured_at: Some(interarec_client::convert::timestamp(1_700_000_000_000 + sequence)),
    };
    // (frame, accepted?, reason fragment)
    let cases = [
        (frame(1, "u".repeat(300), "d".repeat(100)), true, ""),
        (
            frame(2, "u".repeat(301), String::new()),
            false,
            "url is 301 bytes, over the 300-byte limit (serving.max_url_bytes)",
        ),
        (
            frame(3, String::new(), "d".repeat(101)),
            false,
            "dom_text is 101 bytes, over the 100-byte limit (serving.max_dom_text_bytes)",
        ),
    ];
    for (frame, accepted, reason) in cases {
        let outcome = client.upload_frame("bounded", frame).await.unwrap();
        assert_eq!(outcome.accepted, accepted, "{}", outcome.reason);
        assert!(outcome.reason.contains(reason), "{}", outcome.reason);
    }

    let optimize = |constraints: serde_json::Value| OptimizeRequest {
        catalog_id: "fashion".into(),
        model_id: "fashion".into(),
        segment: String::new(),
        constraints_json: constraints.to_string(),
    };
    let cases = [
        (
            serde_json::json!({"exclude": ["a", "b", "c"]}),
            "exclude lists 3 entries, over the limit of 2",
        ),
        (
            serde_json::json!({"filters": [{"attribute": "colour", "one_of": ["red"]}, {"attribute": "brand", "one_of": ["x"]}]}),
            "filters lists 2 entries, over the limit of 1",
        ),
        (
            serde_json::json!({"highest_price": 100, "note": "x".repeat(1100)}),
            "over the 1024-byte limit (serving.optimize_max_constraints_bytes)",
        ),
    ];
    for (constraints, expected) in cases {
        let (code, message) = status(client.optimize(optimize(constraints)).await);
        assert_eq!(code, Code::InvalidArgument, "{message}");
        assert!(message.contains(expected), "{message}");
    }
    // Within the limits the request gets as far as the catalog.
    let (code, message) = status(
        client
            .optimize(optimize(serde_json::json!({"exclude": ["a", "b"]})))
            .await,
    );
    assert_eq!(code, Code::NotFound, "{message}");
}
