//! Who may do what, end to end: a session opens only with its credential (or the admin token),
//! a foreign session's credential or none is refused on every call, ListSessions is the admin's,
//! a tool cannot be invoked for someone else's session, and API keys carry exactly their scopes.

use image::{ImageFormat, Rgb, RgbImage};
use interarec_client::{Client, ClientError, Frame, OptimizeRequest, SessionOptions};
use interarec_core::secret;
use interarec_server::access::{ApiKey, Scope};
use interarec_tests::{TestServer, grant, limits, plugin};
use tonic::Code;

const ADMIN: &str = "admin-token-for-the-access-tests";

/// Every call that acts on one session.
#[derive(Debug, Clone, Copy)]
enum SessionCall {
    Get,
    Upload,
    Browse,
    Watch,
    RecommendNow,
    InvokeTool,
    End,
}

const SESSION_CALLS: [SessionCall; 7] = [
    SessionCall::Get,
    SessionCall::Upload,
    SessionCall::Browse,
    SessionCall::Watch,
    SessionCall::RecommendNow,
    SessionCall::InvokeTool,
    // Last: it ends the session.
    SessionCall::End,
];

fn png() -> Vec<u8> {
    let image = RgbImage::from_pixel(320, 240, Rgb([240, 240, 240]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn frame(sequence: u64) -> Frame {
    Frame {
        sequence,
        captured_at: Some(interarec_client::convert::timestamp(1_700_000_000_000 + sequence)),
        url: "http://127.0.0.1/shop".into(),
        viewport_width: 320,
        viewport_height: 240,
        image: png(),
        dom_text: String::new(),
    }
}

async fn attempt(client: &mut Client, call: SessionCall, id: &str, sequence: u64) -> Result<(), ClientError> {
    match call {
        SessionCall::Get => client.get_session(id).await.map(drop),
        SessionCall::Upload => client.upload_frame(id, frame(sequence)).await.map(drop),
        SessionCall::Browse => client.browse(id).await.map(drop),
        SessionCall::Watch => client.watch_session(id, 1).await.map(drop),
        SessionCall::RecommendNow => client.recommend_now(id).await.map(drop),
        SessionCall::InvokeTool => client.invoke_tool("probe", r#"{"use":"kv"}"#, id).await.map(drop),
        SessionCall::End => client.end_session(id).await.map(drop),
    }
}

fn refusal(outcome: Result<(), ClientError>) -> Option<(Code, String)> {
    match outcome {
        Err(ClientError::Status(status)) if matches!(status.code(), Code::Unauthenticated | Code::PermissionDenied) => {
            Some((status.code(), status.message().to_owned()))
        }
        _ => None,
    }
}

/// A server with an admin token and the `probe` guest registered with `kv`, and the admin's client.
async fn server_with_probe() -> (TestServer, Client) {
    let server = TestServer::start_with(|config| config.admin_token = Some(ADMIN.into())).await;
    let mut admin = server.client_with_token(Some(ADMIN)).await;
    admin
        .register_tool(plugin("guest_probe"), vec![grant("kv")], limits(0, 0), false)
        .await
        .unwrap();
    (server, admin)
}

#[tokio::test]
async fn a_session_opens_only_with_its_credential_or_the_admin_token() {
    let (server, mut admin) = server_with_probe().await;

    // The shopper's client creates a session without any token (loopback, no API keys).
    let mut shopper = server.client().await;
    let created = shopper.create_session("", "", SessionOptions::default()).await.unwrap();
    let id = created.session_id.clone();
    assert!(id.starts_with("s-") && id.len() == 28, "generated id {id}");
    assert!(
        created.credential.starts_with("isc-") && secret::is_fingerprint(&created.credential[4..]),
        "credential {}",
        created.credential
    );
    // Shown once: only CreateSession's answer has a credential field at all.

    let before = shopper.get_session(&id).await.unwrap();
    // A stranger holds no credential for it, then another session's credential.
    let mut stranger = server.client().await;
    let own = stranger
        .create_session("", "", SessionOptions::default())
        .await
        .unwrap();
    let holders: [(&str, Option<&str>, Code, &str); 2] = [
        ("no credential", None, Code::Unauthenticated, "needs its credential for"),
        (
            "another session's credential",
            Some(own.credential.as_str()),
            Code::PermissionDenied,
            "the session credential sent is not session",
        ),
    ];
    for (what, credential, code, fragment) in holders {
        let mut intruder = server.client().await;
        if let Some(credential) = credential {
            intruder.remember_session_credential(&id, credential);
        }
        for call in SESSION_CALLS {
            let refused = refusal(attempt(&mut intruder, call, &id, 1).await)
                .unwrap_or_else(|| panic!("{call:?} with {what} was not refused"));
            assert_eq!(refused.0, code, "{call:?} with {what}: {}", refused.1);
            assert!(refused.1.contains(fragment), "{call:?} with {what}: {}", refused.1);
        }
    }
    // Nothing the intruders tried reached the session.
    let untouched = shopper.get_session(&id).await.unwrap();
    assert_eq!(
        (untouched.frames_accepted, untouched.events, untouched.ended),
        (before.frames_accepted, before.events, false)
    );

    // Listing every session is the admin's.
    let listing = refusal(stranger.list_sessions().await.map(drop)).expect("listing refused");
    assert_eq!(listing.0, Code::Unauthenticated);
    assert!(
        listing.1.contains("listing every session needs the admin token"),
        "{}",
        listing.1
    );
    assert_eq!(admin.list_sessions().await.unwrap().len(), 2);

    // The credential survives a restart (only its fingerprint is stored).
    let credential = shopper.session_credential(&id).unwrap();
    let server = server.restart().await;
    let mut shopper = server.client().await;
    shopper.remember_session_credential(&id, &credential);
    let mut admin = server.client_with_token(Some(ADMIN)).await;
    for (who, client) in [("holder", &mut shopper), ("admin", &mut admin)] {
        for (sequence, call) in SESSION_CALLS.into_iter().enumerate() {
            if matches!(call, SessionCall::End) && who == "holder" {
                continue; // the admin ends it below
            }
            let outcome = attempt(client, call, &id, 10 * (who == "admin") as u64 + sequence as u64 + 1).await;
            assert!(refusal(outcome).is_none(), "{who}: {call:?} was refused");
        }
    }
    assert!(shopper.get_session(&id).await.unwrap().ended);
}

#[tokio::test]
async fn a_tool_invoked_for_an_unknown_session_is_refused_even_for_the_admin() {
    let (_server, mut admin) = server_with_probe().await;
    let missing = admin.invoke_tool("probe", r#"{"use":"kv"}"#, "no-such-session").await;
    assert!(missing.as_ref().unwrap_err().is_not_found(), "{missing:?}");
    // Without a session the tool runs in a scope of its own.
    let own = admin.invoke_tool("probe", r#"{"use":"kv"}"#, "").await.unwrap();
    assert!(own.result_json.contains("value"), "{}", own.result_json);
}

#[derive(Debug, Clone, Copy)]
enum ScopedCall {
    CreateSession,
    ListTools,
    InvokeTool,
    Optimize,
    ListSessions,
}

#[tokio::test]
async fn api_keys_carry_exactly_their_scopes() {
    const STOREFRONT: &str = "irk-storefront-test-key";
    const INVOKER: &str = "irk-invoker-test-key";
    let server = TestServer::start_with(|config| {
        config.admin_token = Some(ADMIN.into());
        config.api_keys = vec![
            ApiKey {
                name: "storefront".into(),
                sha256: secret::fingerprint(STOREFRONT),
                scopes: vec![Scope::Sessions, Scope::Read],
            },
            ApiKey {
                name: "invoker".into(),
                sha256: secret::fingerprint(INVOKER),
                scopes: vec![Scope::ToolsInvoke],
            },
        ];
    })
    .await;
    let mut admin = server.client_with_token(Some(ADMIN)).await;
    admin
        .register_tool(plugin("echo"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    type Expected = Option<(Code, &'static str)>;
    let cases: &[(Option<&str>, ScopedCall, Expected)] = &[
        (
            None,
            ScopedCall::CreateSession,
            Some((
                Code::Unauthenticated,
                "creating a session needs an API key with the `sessions` scope or the admin token (API keys are configured",
            )),
        ),
        (
            None,
            ScopedCall::ListTools,
            Some((
                Code::Unauthenticated,
                "listing tools needs an API key with the `read` scope",
            )),
        ),
        (
            Some("irk-not-a-key-at-all"),
            ScopedCall::ListTools,
            Some((
                Code::Unauthenticated,
                "the bearer token sent is neither the admin token nor a configured API key",
            )),
        ),
        (Some(STOREFRONT), ScopedCall::CreateSession, None),
        (Some(STOREFRONT), ScopedCall::ListTools, None),
        (
            Some(STOREFRONT),
            ScopedCall::InvokeTool,
            Some((
                Code::PermissionDenied,
                "API key `storefront` does not have the `tools:invoke` scope that invoking a tool needs",
            )),
        ),
        (
            Some(STOREFRONT),
            ScopedCall::Optimize,
            Some((Code::PermissionDenied, "does not have the `optimize` scope")),
        ),
        (
            Some(STOREFRONT),
            ScopedCall::ListSessions,
            Some((
                Code::PermissionDenied,
                "listing every session needs the admin token; API key `storefront` cannot do it",
            )),
        ),
        (Some(INVOKER), ScopedCall::InvokeTool, None),
        (
            Some(INVOKER),
            ScopedCall::CreateSession,
            Some((
                Code::PermissionDenied,
                "API key `invoker` does not have the `sessions` scope",
            )),
        ),
        (Some(ADMIN), ScopedCall::Optimize, None),
        (Some(ADMIN), ScopedCall::ListSessions, None),
    ];
    for (token, call, expected) in cases {
        let mut client = server.client_with_token(*token).await;
        let outcome = match call {
            ScopedCall::CreateSession => client
                .create_session("", "", SessionOptions::default())
                .await
                .map(|info| assert!(info.credential.starts_with("isc-"))),
            ScopedCall::ListTools => client.list_tools().await.map(drop),
            ScopedCall::InvokeTool => client.invoke_tool("echo", r#"{"message":"hi"}"#, "").await.map(drop),
            // Past the gate, an unknown catalog is NOT_FOUND: that is not a refusal.
            ScopedCall::Optimize => match client.optimize(OptimizeRequest::default()).await {
                Err(error) if !matches!(error.code(), Some(Code::Unauthenticated | Code::PermissionDenied)) => Ok(()),
                other => other.map(drop),
            },
            ScopedCall::ListSessions => client.list_sessions().await.map(drop),
        };
        match (expected, refusal(outcome)) {
            (None, None) => {}
            (Some((code, fragment)), Some((actual, message))) => {
                assert_eq!(*code, actual, "{token:?} {call:?}: {message}");
                assert!(message.contains(fragment), "{token:?} {call:?}: {message}");
            }
            (expected, actual) => panic!("{token:?} {call:?}: expected {expected:?}, got {actual:?}"),
        }
    }
}
