//! The live session console in a real headless Chromium: the page is opened on a recommending
//! session before any frame arrives, a recorded session is replayed into it, and without a
//! reload the batches' summaries and the recommended products appear, their pictures (served by
//! the demo shop, an absolute URL in the catalog) load; the last screenshot is saved to
//! `target/console-screenshot.png` for people to look at. Also: the console's API refuses a
//! request that does not name a loopback host, and beyond loopback asks for the admin token.

use interarec_capture_driver::{CaptureOptions, CapturedFrame, ImageFormat, Script, Step, capture};
use interarec_demo_shop::catalog::Domain;
use interarec_tests::{TestServer, pipeline};
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request to the console on loopback: the status code and the body.
async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", addr.port()))
        .await
        .unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let text = format!("{method} {path} HTTP/1.1\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    // Frames are binary; the checks read the status line and text bodies.
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (
        status,
        answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_session_appears_live_in_the_console_in_chromium() {
    interarec_capture_driver::find_chromium(None)
        .expect("this test drives a real Chromium: install it with `apt-get install chromium`");
    let shop = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shop_url = format!("http://{}", shop.local_addr().unwrap());
    tokio::spawn(interarec_demo_shop::serve(shop, 42, std::future::pending()));
    let server = TestServer::start_with(|config| {
        interarec_tests::read_with_tesseract(config);
        config.console_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let console = server.server.console_addr.expect("the console is bound");
    let mut client = server.client().await;
    pipeline::register_tools(&mut client, pipeline::RECOMMENDING_TOOLS)
        .await
        .unwrap();
    pipeline::import_demo_shop_pictured(&mut client, Domain::Fashion, true, &shop_url)
        .await
        .unwrap();
    let recording = "fashion-green-dresses";
    let session = "in-the-console";
    client
        .create_session_with(pipeline::recommending_session(session, Domain::Fashion, 8, "", ""))
        .await
        .unwrap();

    // The page opens on the empty session, then waits for a product whose picture loaded.
    let script = Script {
        name: "console".into(),
        intent: String::new(),
        expect: Default::default(),
        steps: vec![
            Step::Visit(format!("http://localhost:{}/#session/{session}", console.port())),
            Step::WaitFor(".live:not(.off)".into()),
            Step::WaitFor(".product.pictured".into()),
            Step::Wait(1_500),
        ],
    };
    let options = CaptureOptions {
        viewport: (1280, 1400),
        interval_ms: 500,
        format: ImageFormat::Png,
        dom_text: true,
        base_url: format!("http://localhost:{}", console.port()),
        step_timeout_ms: 120_000,
        ..CaptureOptions::default()
    };
    let (sender, mut frames) = tokio::sync::mpsc::channel::<CapturedFrame>(64);
    let browsing = tokio::spawn(async move { capture(&script, &options, sender).await });
    // The first screenshot is taken once the page is there: only then do frames arrive.
    let first = frames.recv().await.expect("the console page loads");
    assert!(
        first.dom_text.as_deref().unwrap_or_default().contains(session),
        "{:?}",
        first.dom_text
    );
    let (_, _, recorded) = pipeline::fixture_recording(recording).unwrap();
    let replaying = {
        let mut client = server.client().await;
        tokio::spawn(async move { pipeline::replay(&mut client, session, recorded).await })
    };
    let mut last = first;
    while let Some(frame) = frames.recv().await {
        last = frame;
    }
    let report = browsing.await.unwrap();
    let events = replaying.await.unwrap().unwrap();
    assert!(report.is_ok(), "the console showed no pictured product: {report:?}");
    assert!(
        events.iter().any(|event| event.kind_name() == "recommendation"),
        "the session recommends"
    );
    let text = last.dom_text.clone().unwrap_or_default();
    for expected in [
        "Recommended",
        "Expected revenue",
        "What the shopper looked at",
        "Batch ",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from the console:\n{text}"
        );
    }
    let saved = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshot.png");
    std::fs::write(&saved, &last.image).unwrap();
    println!("console screenshot: {}", saved.display());

    // The API behind the page: sessions, frames, pictures; a foreign Host is refused.
    let host = format!("Host: localhost:{}", console.port());
    let cases: &[(String, &str, u16, &str)] = &[
        ("/api/sessions".into(), host.as_str(), 200, session),
        (format!("/api/sessions/{session}/frames/1"), host.as_str(), 200, ""),
        ("/api/sessions/nobody".into(), host.as_str(), 404, "nobody"),
        ("/api/pictures/none/1".into(), host.as_str(), 404, "no catalog `none`"),
        ("/api/sessions".into(), "Host: rebound.example", 403, "DNS rebinding"),
    ];
    for (path, host, status, says) in cases {
        let (got, body) = request(console, "GET", path, &[host]).await;
        assert_eq!(got, *status, "{path} {host}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
    server.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_beyond_loopback_needs_the_admin_token() {
    const ADMIN: &str = "console-test-admin-token";
    let server = TestServer::start_with(|config| {
        config.admin_token = Some(ADMIN.into());
        config.console_listen = Some("0.0.0.0:0".parse().unwrap());
    })
    .await;
    let console = server.server.console_addr.unwrap();
    let bearer = format!("Authorization: Bearer {ADMIN}");
    let cookie = format!("Cookie: interarec_console={ADMIN}");
    let cases: &[(&str, &str, &str, u16, &str)] = &[
        // The page itself loads (it asks for the token); the API does not without it.
        ("GET", "/", "Host: console.example", 200, "Admin token"),
        (
            "GET",
            "/api/sessions",
            "Host: console.example",
            401,
            "needs the admin token",
        ),
        (
            "GET",
            "/api/sessions",
            "Authorization: Bearer wrong",
            401,
            "needs the admin token",
        ),
        ("GET", "/api/sessions", bearer.as_str(), 200, "[]"),
        ("GET", "/api/sessions", cookie.as_str(), 200, "[]"),
        (
            "POST",
            "/login",
            "Authorization: Bearer wrong",
            401,
            "needs the admin token",
        ),
        ("POST", "/login", bearer.as_str(), 204, ""),
    ];
    for (method, path, header, status, says) in cases {
        let (got, body) = request(console, method, path, &["Host: console.example", header]).await;
        assert_eq!(got, *status, "{method} {path} {header}: {body}");
        assert!(body.contains(says), "{method} {path}: {body}");
    }
    server.server.stop().await.unwrap();
}
