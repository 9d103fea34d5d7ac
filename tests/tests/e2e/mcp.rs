//! MCP driven by a real MCP client (the official Rust SDK's, `rmcp`) over both transports: over
//! stdio the test spawns `interarec mcp --server URL` (the built binary), over streamable HTTP it
//! connects to the server's own MCP address. On each it lists and calls a registered tool, gets a
//! failed call's detail and an unknown tool's protocol error, reads a catalog and a model as
//! resources, and creates and reads a session through the session tools. Beyond loopback, MCP
//! over HTTP needs a known token, and each caller has its token's rights.

use interarec_demo_shop::catalog::Domain;
use interarec_server::access::{ApiKey, Scope};
use interarec_tests::{TestServer, pipeline};
use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams, ResourceContents};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::net::SocketAddr;

type McpClient = RunningService<RoleClient, ()>;

fn call(name: &str, arguments: Value) -> CallToolRequestParams {
    let Value::Object(arguments) = arguments else {
        panic!("arguments are an object")
    };
    CallToolRequestParams::new(name.to_owned()).with_arguments(arguments)
}

fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|text| text.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Registers the echo tool with `grants` and imports the fashion shop with its fitted model.
async fn echo_and_fashion(client: &mut interarec_client::Client, grants: Vec<interarec_client::Grant>) {
    client
        .register_tool(
            interarec_tests::plugin("echo"),
            grants,
            interarec_tests::limits(5_000, 64),
            false,
        )
        .await
        .unwrap();
    pipeline::import_demo_shop(client, Domain::Fashion, true).await.unwrap();
}

/// An MCP client of the server's streamable HTTP endpoint, sending `bearer` if given.
async fn over_http(addr: SocketAddr, bearer: Option<&str>) -> McpClient {
    let mut config = StreamableHttpClientTransportConfig::with_uri(format!("http://127.0.0.1:{}/mcp", addr.port()));
    if let Some(bearer) = bearer {
        config = config.auth_header(bearer.to_owned());
    }
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("the MCP session starts over HTTP")
}

/// An MCP client of `interarec mcp --server URL`, spawned.
async fn over_stdio(url: &str) -> McpClient {
    let binary = interarec_tests::chaos::server_binary().unwrap();
    let transport = TokioChildProcess::new(tokio::process::Command::new(binary).configure(|command| {
        command
            .args(["mcp", "--server", url])
            .env("INTERAREC_LOG", "error")
            .env_remove("INTERAREC_ADMIN_TOKEN")
            .env_remove("INTERAREC_API_KEY");
    }))
    .unwrap();
    ().serve(transport).await.expect("the MCP session starts over stdio")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_lists_calls_and_reads_over_stdio_and_http() {
    let server = TestServer::start_with(|config| config.mcp_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let mut client = server.client().await;
    echo_and_fashion(&mut client, vec![interarec_tests::grant("kv")]).await;
    let transports = [
        ("stdio", over_stdio(&server.server.url()).await),
        ("http", over_http(server.server.mcp_addr.unwrap(), None).await),
    ];
    for (transport, mcp) in transports {
        exercise(&mcp, &format!("from-mcp-{transport}")).await;
        mcp.cancel().await.unwrap();
    }
    server.server.stop().await.unwrap();
}

/// Everything one MCP client does: tools, failures, resources, session tools.
async fn exercise(mcp: &McpClient, session_id: &str) {
    // tools/list: the registered tool with its own schema, and the session tools.
    let tools = mcp.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    for expected in ["echo", "session_create", "session_recommend_now", "session_latest"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let echo = tools.iter().find(|tool| tool.name == "echo").unwrap();
    assert_eq!(echo.input_schema["required"], json!(["message"]));
    assert!(
        echo.description
            .as_deref()
            .unwrap_or_default()
            .contains("message unchanged")
    );

    // tools/call: a result, a failure the agent can read, an unknown tool.
    let cases: &[(&str, Value, bool, &str)] = &[
        (
            "echo",
            json!({ "message": "hi from MCP" }),
            false,
            "\"message\":\"hi from MCP\"",
        ),
        (
            "echo",
            json!({ "count": 3 }),
            true,
            "arguments do not match the tool's schema",
        ),
        ("session_latest", json!({ "session_id": "nobody" }), true, "not found"),
    ];
    for (tool, arguments, is_error, says) in cases {
        let result = mcp.call_tool(call(tool, arguments.clone())).await.unwrap();
        assert_eq!(
            result.is_error.unwrap_or(false),
            *is_error,
            "{tool} {arguments}: {result:?}"
        );
        let text = text_of(&result);
        assert!(text.contains(says), "{tool} {arguments}: {text}");
    }
    let echoed = mcp.call_tool(call("echo", json!({ "message": [1, 2] }))).await.unwrap();
    assert_eq!(echoed.structured_content, Some(json!({ "message": [1, 2] })));
    let unknown = mcp.call_tool(call("no-such-tool", json!({}))).await.unwrap_err();
    assert!(
        unknown.to_string().contains("no tool named `no-such-tool`"),
        "{unknown}"
    );

    // resources: the catalog and its model.
    let resources = mcp.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    let model_uri = format!("interarec://models/{}", pipeline::demo_model_id(Domain::Fashion));
    for expected in ["interarec://catalogs/fashion", model_uri.as_str()] {
        assert!(uris.contains(&expected), "{expected} missing from {uris:?}");
    }
    let catalog = mcp
        .read_resource(ReadResourceRequestParams::new("interarec://catalogs/fashion"))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, .. } = &catalog.contents[0] else {
        panic!("a text resource")
    };
    let catalog: Value = serde_json::from_str(text).unwrap();
    assert!(catalog["item_count"].as_u64().unwrap() > 10, "{catalog}");
    assert!(
        mcp.read_resource(ReadResourceRequestParams::new("interarec://catalogs/none"))
            .await
            .is_err()
    );

    // The session tools: create a recommending session, then read it back.
    let created = mcp
        .call_tool(call(
            "session_create",
            json!({
                "catalog_id": "fashion",
                "choice_model_id": pipeline::demo_model_id(Domain::Fashion),
                "session_id": session_id,
                "capacity": 3,
            }),
        ))
        .await
        .unwrap();
    let created = created.structured_content.expect("structured content");
    assert_eq!(created["session_id"], session_id);
    assert!(created["credential"].as_str().unwrap().starts_with("isc-"));
    let latest = mcp
        .call_tool(call("session_latest", json!({ "session_id": session_id })))
        .await
        .unwrap();
    let latest = latest.structured_content.expect("structured content");
    assert_eq!(latest["frames_accepted"], 0);
    assert_eq!(latest["latest_recommendation"], Value::Null);
    let now = mcp
        .call_tool(call("session_recommend_now", json!({ "session_id": session_id })))
        .await
        .unwrap();
    let now = now.structured_content.expect("structured content");
    assert!(
        now["why_not"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("nothing to recommend from yet"),
        "{now}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_over_http_beyond_loopback_takes_the_callers_token_and_its_rights() {
    const ADMIN: &str = "mcp-test-admin-token";
    const STOREFRONT: &str = "irk-mcp-storefront-key";
    let server = TestServer::start_with(|config| {
        config.admin_token = Some(ADMIN.into());
        config.mcp_listen = Some("0.0.0.0:0".parse().unwrap());
        config.api_keys = vec![ApiKey {
            name: "storefront".into(),
            sha256: interarec_core::secret::fingerprint(STOREFRONT),
            scopes: vec![Scope::Sessions, Scope::Read],
        }];
    })
    .await;
    let mut admin = server.client_with_token(Some(ADMIN)).await;
    echo_and_fashion(&mut admin, vec![]).await;
    let addr = server.server.mcp_addr.unwrap();

    // Without a token, or with one the server does not know, nothing gets through.
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/mcp", addr.port());
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    for (bearer, says) in [
        (None, "needs a bearer token"),
        (Some("guess"), "neither the admin token nor"),
    ] {
        let mut request = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 401, "{bearer:?}");
        let body = answer.text().await.unwrap();
        assert!(body.contains(says), "{bearer:?}: {body}");
    }

    // The admin calls tools; the storefront key (sessions, read) lists them but cannot invoke.
    let as_admin = over_http(addr, Some(ADMIN)).await;
    let echoed = as_admin
        .call_tool(call("echo", json!({ "message": "admin" })))
        .await
        .unwrap();
    assert_eq!(echoed.is_error, Some(false), "{echoed:?}");
    let storefront = over_http(addr, Some(STOREFRONT)).await;
    let names: Vec<String> = storefront
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|tool| tool.name.to_string())
        .collect();
    assert!(names.contains(&"echo".to_owned()), "{names:?}");
    let refused = storefront
        .call_tool(call("echo", json!({ "message": "key" })))
        .await
        .unwrap();
    assert_eq!(refused.is_error, Some(true), "{refused:?}");
    assert!(
        text_of(&refused).contains("`tools:invoke` scope"),
        "{}",
        text_of(&refused)
    );

    // A session the key created is its MCP session's; another MCP session needs the credential.
    let created = storefront
        .call_tool(call(
            "session_create",
            json!({
                "catalog_id": "fashion",
                "choice_model_id": pipeline::demo_model_id(Domain::Fashion),
                "session_id": "key-session",
            }),
        ))
        .await
        .unwrap()
        .structured_content
        .expect("structured content");
    let credential = created["credential"].as_str().unwrap().to_owned();
    let read = |arguments: Value| call("session_latest", arguments);
    let same = storefront
        .call_tool(read(json!({ "session_id": "key-session" })))
        .await
        .unwrap();
    assert_eq!(same.is_error, Some(false), "{same:?}");
    let other = over_http(addr, Some(STOREFRONT)).await;
    let cases = [
        (json!({ "session_id": "key-session" }), true),
        (json!({ "session_id": "key-session", "credential": "isc-wrong" }), true),
        (json!({ "session_id": "key-session", "credential": credential }), false),
    ];
    for (arguments, is_error) in cases {
        let answer = other.call_tool(read(arguments.clone())).await.unwrap();
        assert_eq!(answer.is_error, Some(is_error), "{arguments}: {}", text_of(&answer));
    }
    for mcp in [as_admin, storefront, other] {
        mcp.cancel().await.unwrap();
    }
    server.server.stop().await.unwrap();
}
