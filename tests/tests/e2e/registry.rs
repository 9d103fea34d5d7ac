//! The ToolRegistry API end to end: a real server on 127.0.0.1:0, the real client, real
//! components, sled on a temp dir.

use interarec_client::{ClientError, ToolLimits};
use interarec_tests::{TestServer, grant, limits, plugin};
use tonic::Code;

fn assert_status(result: Result<impl std::fmt::Debug, ClientError>, code: Code, fragment: &str) {
    match result {
        Ok(value) => panic!("expected {code:?} containing {fragment:?}, got Ok({value:?})"),
        Err(ClientError::Status(status)) => {
            assert_eq!(status.code(), code, "message: {}", status.message());
            assert!(
                status.message().contains(fragment),
                "expected {fragment:?} in {:?}",
                status.message()
            );
        }
        Err(other) => panic!("expected a status, got {other}"),
    }
}

#[tokio::test]
async fn register_list_describe_invoke_remove_and_survive_restart() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    assert!(client.list_tools().await.unwrap().is_empty());

    let registered = client
        .register_tool(plugin("echo"), vec![grant("kv")], limits(2_000, 32), false)
        .await
        .unwrap();
    assert!(!registered.unchanged && !registered.replaced);
    let tool = registered.tool.unwrap();
    assert_eq!(
        (tool.name.as_str(), tool.version.as_str(), tool.wit_version.as_str()),
        ("echo", "0.1.0", "0.1.1")
    );
    assert_eq!(tool.sha256.len(), 64);

    let listed: Vec<String> = client.list_tools().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(listed, ["echo"]);

    let described = client.describe_tool("echo").await.unwrap();
    assert_eq!(
        described.requested_capabilities().collect::<Vec<_>>(),
        [interarec_client::Capability::Kv]
    );
    assert_eq!(described.grants.len(), 1);
    assert_eq!(
        described.limits,
        Some(ToolLimits {
            timeout: Some(interarec_client::convert::duration(std::time::Duration::from_secs(2))),
            memory_bytes: 32 << 20,
            fuel: 0
        })
    );
    let schema: serde_json::Value = serde_json::from_str(&described.arguments_schema_json).unwrap();
    assert_eq!(schema["required"], serde_json::json!(["message"]));
    // kv state is kept per session, so the sessions named must exist.
    for session in ["s1", "s2"] {
        client
            .create_session(session, "", interarec_client::SessionOptions::default())
            .await
            .unwrap();
    }

    let response = client
        .invoke_tool("echo", r#"{"message":{"a":[1,2]},"count":true}"#, "s1")
        .await
        .unwrap();
    assert_eq!(response.tool_version, "0.1.0");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&response.result_json).unwrap(),
        serde_json::json!({"message":{"a":[1,2]},"calls":1})
    );

    // Registered tools and their kv state come back after a restart.
    let server = server.restart().await;
    let mut client = server.client().await;
    assert_eq!(client.describe_tool("echo").await.unwrap().sha256, tool.sha256);
    let response = client
        .invoke_tool("echo", r#"{"message":"again","count":true}"#, "s1")
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&response.result_json).unwrap()["calls"],
        2
    );
    // kv is scoped per session.
    let response = client
        .invoke_tool("echo", r#"{"message":"other","count":true}"#, "s2")
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&response.result_json).unwrap()["calls"],
        1
    );

    let removed = client.remove_tool("echo").await.unwrap();
    assert_eq!(removed.name, "echo");
    assert!(client.list_tools().await.unwrap().is_empty());
    assert_status(
        client.invoke_tool("echo", r#"{"message":1}"#, "").await,
        Code::NotFound,
        "no tool named `echo` is registered",
    );
    assert_status(client.remove_tool("echo").await, Code::NotFound, "no tool named `echo`");

    let server = server.restart().await;
    assert!(
        server.client().await.list_tools().await.unwrap().is_empty(),
        "removal is durable"
    );
    server.server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_registrations_say_what_to_fix() {
    let server = TestServer::start_with(|config| config.limits.max_component_bytes = 4 * 1024 * 1024).await;
    let mut client = server.client().await;
    let mut core_module = b"\0asm\x01\0\0\0".to_vec();
    core_module.extend_from_slice(&[0; 4]);
    let cases: Vec<(&str, Vec<u8>, Vec<&str>, ToolLimits, Code, &str)> = vec![
        (
            "empty",
            vec![],
            vec![],
            limits(0, 0),
            Code::InvalidArgument,
            "no component bytes were sent",
        ),
        (
            "text",
            b"hello, not wasm".to_vec(),
            vec![],
            limits(0, 0),
            Code::InvalidArgument,
            "not a WebAssembly component",
        ),
        (
            "core module",
            core_module,
            vec![],
            limits(0, 0),
            Code::InvalidArgument,
            "core WebAssembly module, not a component",
        ),
        (
            "too large",
            vec![0; 4 * 1024 * 1024 + 1],
            vec![],
            limits(0, 0),
            Code::InvalidArgument,
            "over the 4194304-byte limit",
        ),
        (
            "wit mismatch",
            plugin("guest_wrong_version"),
            vec![],
            limits(0, 0),
            Code::FailedPrecondition,
            "built against interarec:tool@9.9.0, but this host speaks interarec:tool@0.1.0 or 0.1.1",
        ),
        (
            "invalid schema",
            plugin("guest_bad_schema"),
            vec![],
            limits(0, 0),
            Code::InvalidArgument,
            "the component's description was refused: the arguments schema is not a valid JSON Schema",
        ),
        (
            "unrequested grant",
            plugin("echo"),
            vec!["http:example.com"],
            limits(0, 0),
            Code::InvalidArgument,
            "grant `http` was not requested by the tool (it requests: kv)",
        ),
        (
            "timeout too long",
            plugin("echo"),
            vec![],
            limits(3_600_000, 0),
            Code::InvalidArgument,
            "timeout of 3600000 ms is outside the allowed range",
        ),
        (
            "memory too large",
            plugin("echo"),
            vec![],
            limits(0, 1024),
            Code::InvalidArgument,
            "memory limit of 1073741824 bytes is outside the allowed range",
        ),
    ];
    for (label, bytes, grants, limits, code, fragment) in cases {
        let grants = grants.into_iter().map(grant).collect();
        eprintln!("case: {label}");
        assert_status(client.register_tool(bytes, grants, limits, false).await, code, fragment);
    }
    let unknown = interarec_client::Grant {
        capability: 99,
        hosts: vec![],
    };
    assert_status(
        client
            .register_tool(plugin("echo"), vec![unknown], limits(0, 0), false)
            .await,
        Code::InvalidArgument,
        "grant capability 99 is not one of the tool world's",
    );
    let fuel = ToolLimits {
        fuel: 100,
        ..limits(0, 0)
    };
    assert_status(
        client.register_tool(plugin("echo"), vec![], fuel, false).await,
        Code::InvalidArgument,
        "fuel metering is off",
    );
    assert!(client.list_tools().await.unwrap().is_empty(), "nothing half-registered");
    server.server.stop().await.unwrap();
}

#[tokio::test]
async fn arguments_are_checked_against_the_schema_before_the_sandbox_runs() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client
        .register_tool(plugin("echo"), vec![grant("kv")], limits(0, 0), false)
        .await
        .unwrap();
    let cases = [
        (
            "{}",
            "tool `echo`@0.1.0: arguments do not match the tool's schema: at /: \"message\" is a required property",
        ),
        (
            r#"{"message":1,"count":"yes"}"#,
            "at /count: \"yes\" is not of type \"boolean\"",
        ),
        (
            r#"{"message":1,"colour":"green"}"#,
            "Additional properties are not allowed ('colour' was unexpected)",
        ),
        (r#"{"message":"#, "arguments are not valid JSON"),
    ];
    for (arguments, fragment) in cases {
        assert_status(
            client.invoke_tool("echo", arguments, "").await,
            Code::InvalidArgument,
            fragment,
        );
    }
    server.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_name_rule_decides_between_no_op_replace_and_clash() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let first = client
        .register_tool(plugin("echo"), vec![grant("kv")], limits(0, 0), false)
        .await
        .unwrap();
    // Identical registration: a no-op.
    let again = client
        .register_tool(plugin("echo"), vec![grant("kv")], limits(0, 0), false)
        .await
        .unwrap();
    assert!(again.unchanged);
    assert_eq!(
        interarec_client::convert::unix_ms(again.tool.unwrap().registered_at.as_ref()),
        interarec_client::convert::unix_ms(first.tool.unwrap().registered_at.as_ref())
    );
    // Same bytes, other grants: needs replace.
    assert_status(
        client.register_tool(plugin("echo"), vec![], limits(0, 0), false).await,
        Code::AlreadyExists,
        "tool `echo` is already registered (version 0.1.0",
    );
    let replaced = client
        .register_tool(plugin("echo"), vec![], limits(1_000, 0), true)
        .await
        .unwrap();
    assert!(replaced.replaced);
    assert!(replaced.tool.unwrap().grants.is_empty());
    // Without the kv grant, counting is denied but plain echo still works.
    assert_status(
        client.invoke_tool("echo", r#"{"message":1,"count":true}"#, "").await,
        Code::PermissionDenied,
        "capability `kv` is not granted to tool `echo`@0.1.0",
    );
    client.invoke_tool("echo", r#"{"message":1}"#, "").await.unwrap();
    server.server.stop().await.unwrap();
}

#[tokio::test]
async fn different_bytes_under_a_taken_name_need_a_greater_version() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client
        .register_tool(plugin("guest_panic"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    let other_bytes = {
        // The same component with an extra custom section: different sha256, same name/version.
        let mut bytes = plugin("guest_panic");
        bytes.extend_from_slice(&custom_section("padding", b"different bytes"));
        bytes
    };
    assert_status(
        client
            .register_tool(other_bytes.clone(), vec![], limits(0, 0), false)
            .await,
        Code::AlreadyExists,
        "pass replace (`--replace`) to update it with a strictly greater version",
    );
    assert_status(
        client.register_tool(other_bytes, vec![], limits(0, 0), true).await,
        Code::AlreadyExists,
        "tool `panic` 0.1.0 is registered; a replacement with different bytes must have a greater version, not 0.1.0",
    );
    server.server.stop().await.unwrap();
}

/// A component-level custom section (id 0): name length, name, payload.
fn custom_section(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    leb128(&mut body, name.len() as u64);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut section = vec![0u8];
    leb128(&mut section, body.len() as u64);
    section.extend_from_slice(&body);
    section
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[tokio::test]
async fn the_admin_token_guards_changes_but_not_reads() {
    let server = TestServer::start_with(|config| config.admin_token = Some("s3cret-admin-token-42".into())).await;
    let mut anonymous = server.client().await;
    let mut wrong = server.client_with_token(Some("guess")).await;
    let mut admin = server.client_with_token(Some("s3cret-admin-token-42")).await;
    assert_status(
        anonymous
            .register_tool(plugin("echo"), vec![], limits(0, 0), false)
            .await,
        Code::Unauthenticated,
        "registering a tool needs the admin token",
    );
    assert_status(
        wrong.register_tool(plugin("echo"), vec![], limits(0, 0), false).await,
        Code::Unauthenticated,
        "the bearer token sent is neither the admin token nor a configured API key",
    );
    admin
        .register_tool(plugin("echo"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    assert_eq!(anonymous.list_tools().await.unwrap().len(), 1);
    anonymous.invoke_tool("echo", r#"{"message":"hi"}"#, "").await.unwrap();
    assert_status(
        anonymous.remove_tool("echo").await,
        Code::Unauthenticated,
        "removing a tool needs the admin token",
    );
    admin.remove_tool("echo").await.unwrap();
    server.server.stop().await.unwrap();
}

#[tokio::test]
async fn health_and_reflection_serve_generic_clients() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

    let server = TestServer::start().await;
    let channel = tonic::transport::Endpoint::from_shared(server.server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    for service in ["", "interarec.v1.ToolService"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "service {service:?}");
    }

    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut reflection = ServerReflectionClient::new(channel.clone());
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = reflection
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let response = stream.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected {response:?}")
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(names.contains(&"interarec.v1.ToolService".to_owned()), "{names:?}");
        assert!(names.contains(&"grpc.health.v1.Health".to_owned()), "{names:?}");
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut reflection = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol("interarec.v1.ToolService".into())),
        };
        let mut stream = reflection
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let response = stream.message().await.unwrap().unwrap();
        let Some(MessageResponse::FileDescriptorResponse(files)) = response.message_response else {
            panic!("unexpected {response:?}")
        };
        assert!(!files.file_descriptor_proto.is_empty());
    }
    server.server.stop().await.unwrap();
}
