//! SessionService end to end: frames over the Browse stream are validated, stored durably and
//! acknowledged by sequence; bad frames are rejected with a reason while the stream goes on;
//! batches close by size, by age and at the end, de-duplicated by the real `capture` component;
//! everything survives a restart, and pending frames are batched after it.

use image::{ImageFormat, Rgb, RgbImage};
use interarec_client::{BrowseResponse, ClientError, Frame, SessionOptions, browse_response};
use interarec_core::event::EventKind;
use interarec_tests::{TestServer, grant, limits, plugin};
use std::time::Duration;
use tonic::Code;

/// A 640×400 "page": white, a dark product card at `x`, a grey stripe of shade `tone`.
fn page(x: u32, tone: u8, format: ImageFormat) -> Vec<u8> {
    let mut img = RgbImage::from_pixel(640, 400, Rgb([255, 255, 255]));
    for yy in 80..240 {
        for xx in x..(x + 120).min(640) {
            img.put_pixel(xx, yy, Rgb([20, 90, 40]));
        }
    }
    for yy in 300..340 {
        for xx in 0..640 {
            img.put_pixel(xx, yy, Rgb([tone, tone, tone]));
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn frame(sequence: u64, image: Vec<u8>) -> Frame {
    Frame {
        sequence,
        captured_at: Some(interarec_client::convert::timestamp(1_700_000_000_000 + sequence * 100)),
        // One page throughout: a frame of another URL is never a static duplicate.
        url: "http://127.0.0.1/shop".into(),
        viewport_width: 640,
        viewport_height: 400,
        image,
        dom_text: format!("Green dress {sequence}"),
    }
}

fn options(batch_size: u32, batch_interval_ms: u64) -> SessionOptions {
    SessionOptions {
        batch_size,
        batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            batch_interval_ms,
        ))),
        max_side: 256,
        static_threshold_bits: 4,
    }
}

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> (Code, String) {
    match result {
        Err(ClientError::Status(status)) => (status.code(), status.message().to_owned()),
        other => panic!("expected a status, got {other:?}"),
    }
}

/// Reads answers until `count` frame results and the events satisfying `done` have arrived.
async fn collect(
    responses: &mut tonic::Streaming<BrowseResponse>,
    count: usize,
    done: impl Fn(&[interarec_client::SessionEvent]) -> bool,
) -> (Vec<interarec_client::FrameResult>, Vec<interarec_client::SessionEvent>) {
    let mut frames = Vec::new();
    let mut events = Vec::new();
    while frames.len() < count || !done(&events) {
        let message = tokio::time::timeout(Duration::from_secs(30), responses.message())
            .await
            .expect("an answer within 30 s")
            .expect("the stream stays up")
            .expect("the stream is not over");
        match message.part.expect("a part") {
            browse_response::Part::Frame(result) => frames.push(result),
            browse_response::Part::Event(event) => events.push(event),
        }
    }
    (frames, events)
}

fn payload(event: &interarec_client::SessionEvent) -> serde_json::Value {
    event.payload_value()
}

#[tokio::test]
async fn frames_are_acknowledged_rejected_batched_and_kept_across_restarts() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client
        .register_tool(
            plugin("capture"),
            vec![grant("frames"), grant("kv")],
            limits(10_000, 128),
            false,
        )
        .await
        .unwrap();
    let session = client
        .create_session("shopper-1", "fashion", options(4, 60_000))
        .await
        .unwrap();
    assert_eq!((session.session_id.as_str(), session.frames_accepted), ("shopper-1", 0));

    let (sender, mut responses) = client.browse("shopper-1").await.unwrap();
    let card_left = page(40, 200, ImageFormat::Png);
    let mut oversize = page(40, 200, ImageFormat::Png);
    oversize.resize(9 * 1024 * 1024, 0);
    let mut truncated_jpeg = page(300, 120, ImageFormat::Jpeg);
    truncated_jpeg.truncate(truncated_jpeg.len() / 3);
    // (frame, accepted?, reason fragment when rejected)
    let cases: Vec<(Frame, bool, &str)> = vec![
        (frame(1, card_left.clone()), true, ""),
        (frame(2, card_left.clone()), true, ""),
        (frame(3, page(40, 200, ImageFormat::Jpeg)), true, ""),
        (
            frame(4, b"%PDF-1.4 not a picture".to_vec()),
            false,
            "not a PNG or JPEG image (it starts with 25 50 44 46",
        ),
        (frame(5, truncated_jpeg), false, "the JPEG is cut off"),
        (frame(6, oversize), false, "over the 8388608-byte limit"),
        (frame(7, Vec::new()), false, "it starts with nothing"),
        (frame(8, page(480, 60, ImageFormat::Png)), true, ""),
        (frame(8, page(480, 60, ImageFormat::Png)), true, ""),
        (
            frame(2, page(100, 10, ImageFormat::Png)),
            false,
            "sequence 2 is not after the last accepted frame (8)",
        ),
    ];
    for (frame, _, _) in &cases {
        sender.send(frame.clone()).await.unwrap();
    }
    let (results, events) = collect(&mut responses, cases.len(), |events| {
        events.iter().any(|e| e.kind_name() == EventKind::Batch.as_str())
    })
    .await;
    for ((frame, accepted, reason), result) in cases.iter().zip(&results) {
        assert_eq!(result.sequence, frame.sequence);
        assert_eq!(
            result.accepted, *accepted,
            "frame {}: {}",
            frame.sequence, result.reason
        );
        assert!(
            result.reason.contains(reason),
            "frame {}: {}",
            frame.sequence,
            result.reason
        );
        if *accepted {
            assert_eq!(result.frame_id.len(), 64);
            assert_eq!((result.width, result.height), (640, 400));
        }
    }
    assert!(
        results[1].deduplicated_bytes,
        "frame 2 repeats frame 1's bytes: stored once"
    );
    assert_eq!(results[2].mime, "image/jpeg", "sniffed, not assumed");
    assert_eq!(results[7], results[8], "a retried sequence gets its first answer");

    // Rejections are events too; the batch of the first four accepted frames (1, 2, 3, 8) came
    // through the capture component: 2 repeats 1's bytes, 3 is 1 re-encoded (static).
    let rejected: Vec<u64> = events
        .iter()
        .filter(|e| e.kind_name() == EventKind::FrameRejected.as_str())
        .map(|e| payload(e)["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, [4, 5, 6, 7]);
    let batch = payload(
        events
            .iter()
            .find(|e| e.kind_name() == EventKind::Batch.as_str())
            .unwrap(),
    );
    assert_eq!(batch["frames"], serde_json::json!([1, 2, 3, 8]));
    assert_eq!(batch["closed_by"], "size");
    assert_eq!(batch["deduplicated"], true, "{batch}");
    let kept: Vec<&str> = batch["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["frame"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["1", "8"]);
    let dropped: Vec<(&str, &str)> = batch["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["frame"].as_str().unwrap(), d["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(dropped, [("2", "exact-duplicate"), ("3", "static")]);

    // The unary upload, then the end: the pending frame forms a last batch.
    let uploaded = client
        .upload_frame("shopper-1", frame(9, page(200, 150, ImageFormat::Png)))
        .await
        .unwrap();
    assert!(uploaded.accepted, "{}", uploaded.reason);
    let ended = client.end_session("shopper-1").await.unwrap();
    assert!(ended.ended);
    assert_eq!((ended.frames_accepted, ended.frames_rejected, ended.batches), (5, 4, 2));
    let (_, events) = collect(&mut responses, 0, |events| {
        events.iter().any(|e| e.kind_name() == EventKind::SessionEnded.as_str())
    })
    .await;
    let last = events
        .iter()
        .find(|e| e.kind_name() == EventKind::Batch.as_str())
        .map(payload)
        .unwrap();
    assert_eq!(
        (last["frames"].clone(), last["closed_by"].clone()),
        (serde_json::json!([9]), serde_json::json!("end"))
    );
    drop(sender);

    // After a restart: the same counts, no more frames for an ended session.
    let server = server.restart().await;
    let mut client = server.client().await;
    let again = client.get_session("shopper-1").await.unwrap();
    assert_eq!(again, ended);
    let (code, message) = status(client.upload_frame("shopper-1", frame(10, card_left.clone())).await);
    assert_eq!(code, Code::FailedPrecondition, "{message}");
    assert!(message.contains("has ended"), "{message}");
    let (code, _) = status(client.get_session("nobody").await);
    assert_eq!(code, Code::NotFound);
    assert_eq!(client.list_sessions().await.unwrap().len(), 1);
}

#[tokio::test]
async fn pending_frames_are_batched_by_age_even_after_a_restart() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    // No capture tool registered: the batch still closes, saying it was not de-duplicated.
    client.create_session("slow", "", options(10, 400)).await.unwrap();
    for sequence in 1..=3 {
        let result = client
            .upload_frame(
                "slow",
                frame(sequence, page(40 * sequence as u32, 200, ImageFormat::Png)),
            )
            .await
            .unwrap();
        assert!(result.accepted);
    }
    // Stop before the interval passes; the acknowledged frames are pending on disk.
    let server = server.restart().await;
    let mut client = server.client().await;
    let mut batches = 0;
    for _ in 0..100 {
        batches = client.get_session("slow").await.unwrap().batches;
        if batches > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(batches, 1, "the pending frames close into a batch after the restart");
    let (sender, mut responses) = client.browse("slow").await.unwrap();
    sender.send(frame(4, page(500, 90, ImageFormat::Png))).await.unwrap();
    let (results, _) = collect(&mut responses, 1, |_| true).await;
    assert!(results[0].accepted, "the session goes on after the restart");
    let ended = client.end_session("slow").await.unwrap();
    assert_eq!((ended.frames_accepted, ended.batches), (4, 2));
}

#[tokio::test]
async fn refusals_name_the_problem() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let cases: Vec<(&str, SessionOptions, Code, &str)> = vec![
        (
            "Bad Id",
            options(0, 0),
            Code::InvalidArgument,
            "session id `Bad Id` is invalid",
        ),
        (
            "ok",
            options(500, 0),
            Code::InvalidArgument,
            "batch_size 500 is over 100",
        ),
        (
            "ok",
            options(0, 10),
            Code::InvalidArgument,
            "batch_interval_ms 10 is outside",
        ),
    ];
    for (id, options, code, text) in cases {
        let (got, message) = status(client.create_session(id, "", options).await);
        assert_eq!(got, code, "{message}");
        assert!(message.contains(text), "{message}");
    }
    let generated = client.create_session("", "", options(0, 0)).await.unwrap();
    assert!(generated.session_id.starts_with("s-"), "{}", generated.session_id);
    assert_eq!(generated.options.unwrap().batch_size, 10, "the paper's default");
    let (code, message) = status(client.create_session(&generated.session_id, "", options(0, 0)).await);
    assert_eq!(code, Code::AlreadyExists, "{message}");
    let (code, message) = status(client.browse("nobody").await);
    assert_eq!(code, Code::NotFound, "{message}");
}

/// gRPC's length-prefixed message framing.
fn grpc_message(payload: &[u8], declared: usize) -> Vec<u8> {
    let mut message = vec![0u8];
    message.extend_from_slice(&(declared as u32).to_be_bytes());
    message.extend_from_slice(payload);
    message
}

#[tokio::test]
async fn a_stream_cut_off_mid_frame_loses_only_that_frame() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client.create_session("cut", "", options(10, 60_000)).await.unwrap();
    let accepted = client
        .upload_frame("cut", frame(1, page(40, 200, ImageFormat::Png)))
        .await
        .unwrap();
    assert!(accepted.accepted);

    // A raw HTTP/2 client: open the session, then half a frame message, then hang up.
    let address = server.server.url().trim_start_matches("http://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(connection);
    let mut h2 = h2.ready().await.unwrap();
    let request = http::Request::post(format!("http://{address}/interarec.v1.SessionService/Browse"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (_response, mut body) = h2.send_request(request, false).unwrap();
    let mut open = vec![0x0A, 3];
    open.extend_from_slice(b"cut");
    body.send_data(bytes::Bytes::from(grpc_message(&open, open.len())), false)
        .unwrap();
    // A frame message declared as 100,000 bytes, of which 1,000 arrive.
    let partial = grpc_message(&[0x12; 1_000], 100_000);
    body.send_data(bytes::Bytes::from(partial), false).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(body);
    drop(h2);
    driver.abort();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The server is fine, the acknowledged frame is there, the session goes on.
    let info = client.get_session("cut").await.unwrap();
    assert_eq!(
        (info.frames_accepted, info.frames_rejected, info.last_sequence),
        (1, 0, 1)
    );
    let next = client
        .upload_frame("cut", frame(2, page(300, 100, ImageFormat::Png)))
        .await
        .unwrap();
    assert!(next.accepted, "{}", next.reason);
    let server = server.restart().await;
    let mut client = server.client().await;
    assert_eq!(client.get_session("cut").await.unwrap().frames_accepted, 2);
}

#[tokio::test]
async fn sessions_in_use_are_bounded_and_idle_ones_are_let_go() {
    let server = TestServer::start_with(|config| config.serving.max_live_sessions = 2).await;
    let mut client = server.client().await;
    for id in ["held-1", "held-2", "third"] {
        client.create_session(id, "", SessionOptions::default()).await.unwrap();
    }
    // Two watchers hold their sessions in memory; the third session cannot be taken up.
    let first = client.watch_session("held-1", 1).await.unwrap();
    let _second = client.watch_session("held-2", 1).await.unwrap();
    let (code, message) = status(client.get_session("third").await);
    assert_eq!(code, Code::ResourceExhausted, "{message}");
    assert!(message.contains("its limit (serving.max_live_sessions)"), "{message}");
    // Once a watcher goes away its session is idle and is let go (it stays stored).
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client.get_session("third").await {
            Ok(info) => {
                assert_eq!(info.session_id, "third");
                break;
            }
            Err(error) => {
                assert!(tokio::time::Instant::now() < deadline, "still refused: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert_eq!(client.get_session("held-1").await.unwrap().session_id, "held-1");
}
