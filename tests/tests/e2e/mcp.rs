//! MCP over stdio, driven by a real MCP client (the official Rust SDK's, `rmcp`): the test
//! spawns `interarec mcp --server URL` (the built binary) in front of a real server, lists and
//! calls a registered tool, gets a failed call's detail and an unknown tool's protocol error,
//! reads a catalog and a model as resources, and creates and reads a session through the
//! session tools.

use interarec_demo_shop::catalog::Domain;
use interarec_tests::{TestServer, pipeline};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams, ResourceContents};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_lists_calls_and_reads_through_interarec_mcp() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client
        .register_tool(
            interarec_tests::plugin("echo"),
            vec![interarec_tests::grant("kv")],
            interarec_tests::limits(5_000, 64),
            false,
        )
        .await
        .unwrap();
    pipeline::import_demo_shop(&mut client, Domain::Fashion, true)
        .await
        .unwrap();

    let binary = interarec_tests::chaos::server_binary().unwrap();
    let url = server.server.url();
    let transport = TokioChildProcess::new(tokio::process::Command::new(binary).configure(|command| {
        command
            .args(["mcp", "--server", &url])
            .env("INTERAREC_LOG", "error")
            .env_remove("INTERAREC_ADMIN_TOKEN")
            .env_remove("INTERAREC_API_KEY");
    }))
    .unwrap();
    let mcp = ().serve(transport).await.expect("the MCP session starts");

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
                "session_id": "from-mcp",
                "capacity": 3,
            }),
        ))
        .await
        .unwrap();
    let created = created.structured_content.expect("structured content");
    assert_eq!(created["session_id"], "from-mcp");
    assert!(created["credential"].as_str().unwrap().starts_with("isc-"));
    let latest = mcp
        .call_tool(call("session_latest", json!({ "session_id": "from-mcp" })))
        .await
        .unwrap();
    let latest = latest.structured_content.expect("structured content");
    assert_eq!(latest["frames_accepted"], 0);
    assert_eq!(latest["latest_recommendation"], Value::Null);
    let now = mcp
        .call_tool(call("session_recommend_now", json!({ "session_id": "from-mcp" })))
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
    mcp.cancel().await.unwrap();
    server.server.stop().await.unwrap();
}
