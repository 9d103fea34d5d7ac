//! Hostile and capability-probing guests through the real gRPC API: each misbehaving tool fails
//! its own call with its exact error while a concurrent well-behaved call succeeds, and the
//! server stays up.

use interarec_client::{Client, ClientError, ToolLimits};
use interarec_tests::{TestServer, grant, limits, plugin};
use tonic::Code;

fn status_of(result: Result<interarec_client::InvokeToolResponse, ClientError>) -> (Code, String) {
    match result {
        Ok(response) => panic!("expected an error, got {}", response.result_json),
        Err(ClientError::Status(status)) => (status.code(), status.message().to_owned()),
        Err(other) => panic!("expected a status, got {other}"),
    }
}

async fn echo_ok(client: &mut Client, message: &str) {
    let arguments = serde_json::json!({ "message": message }).to_string();
    let response = client
        .invoke_tool("echo", &arguments, "")
        .await
        .expect("the well-behaved tool answers");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&response.result_json).unwrap()["message"],
        message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hostile_guest_fails_with_its_exact_error_while_echo_keeps_working() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin
        .register_tool(plugin("echo"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    let registrations: [(&str, ToolLimits); 5] = [
        ("guest_spin", limits(300, 0)),
        ("guest_memory_bomb", limits(0, 16)),
        ("guest_forbidden", limits(0, 0)),
        ("guest_panic", limits(0, 0)),
        ("guest_malformed", limits(0, 0)),
    ];
    for (file, limits) in registrations {
        admin.register_tool(plugin(file), vec![], limits, false).await.unwrap();
    }

    let cases: &[(&str, &str, Code, &str)] = &[
        (
            "spin",
            "{}",
            Code::DeadlineExceeded,
            "tool `spin`@0.1.0 timed out after 300 ms and was stopped; make the call cheaper or register the tool with a longer timeout",
        ),
        (
            "memory-bomb",
            "{}",
            Code::ResourceExhausted,
            "tool `memory-bomb`@0.1.0 exceeded its memory limit of 16 MiB (it asked for 17 MiB) and was stopped",
        ),
        (
            "forbidden",
            r#"{"which":"kv"}"#,
            Code::PermissionDenied,
            "tool `forbidden`@0.1.0 was denied: capability `kv` is not granted to tool `forbidden`@0.1.0; register it with `--grant kv`",
        ),
        (
            "forbidden",
            r#"{"which":"http"}"#,
            Code::PermissionDenied,
            "tool `forbidden`@0.1.0 was denied: capability `http` is not granted to tool `forbidden`@0.1.0; register it with `--grant http:HOST`",
        ),
        (
            "panic",
            "{}",
            Code::Internal,
            "tool `panic`@0.1.0 panicked: panicked at tests/guests/panic/src/lib.rs",
        ),
        ("panic", "{}", Code::Internal, "the panic guest always panics"),
        (
            "malformed",
            "{}",
            Code::Internal,
            "tool `malformed`@0.1.0 returned a result that is not a JSON document (key must be a string at line 1 column 3); this is a bug in the tool",
        ),
    ];
    for (tool, arguments, code, fragment) in cases {
        let mut hostile_client = server.client().await;
        let mut echo_client = server.client().await;
        let hostile = tokio::spawn({
            let (tool, arguments) = (tool.to_string(), arguments.to_string());
            async move { hostile_client.invoke_tool(&tool, &arguments, "").await }
        });
        // While the hostile call runs, a well-behaved one completes.
        echo_ok(&mut echo_client, &format!("beside {tool}")).await;
        let (actual_code, message) = status_of(hostile.await.unwrap());
        assert_eq!(actual_code, *code, "{tool}: {message}");
        assert!(
            message.contains(fragment),
            "{tool}: expected {fragment:?} in {message:?}"
        );
    }

    // Every hostile tool can be called again (fresh store per call) and the server is healthy.
    let (code, _) = status_of(admin.invoke_tool("panic", "{}", "").await);
    assert_eq!(code, Code::Internal);
    echo_ok(&mut admin, "still here").await;
    server.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_calls_run_concurrently() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin
        .register_tool(plugin("echo"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    admin
        .register_tool(plugin("guest_spin"), vec![], limits(500, 0), false)
        .await
        .unwrap();
    // Four spinning calls occupy the sandbox for 500 ms each; they yield at every epoch tick,
    // so 32 echo calls issued meanwhile still finish, and the spinners all time out.
    let mut spinners = Vec::new();
    for _ in 0..4 {
        let mut client = admin.clone();
        spinners.push(tokio::spawn(async move { client.invoke_tool("spin", "{}", "").await }));
    }
    let mut echoes = Vec::new();
    for index in 0..32 {
        let mut client = admin.clone();
        echoes.push(tokio::spawn(async move {
            echo_ok(&mut client, &format!("call {index}")).await
        }));
    }
    for echo in echoes {
        echo.await.unwrap();
    }
    for spinner in spinners {
        assert_eq!(status_of(spinner.await.unwrap()).0, Code::DeadlineExceeded);
    }
    server.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_stops_a_runaway_guest_when_enabled() {
    let server = TestServer::start_with(|config| config.limits.fuel_enabled = true).await;
    let mut client = server.client().await;
    let fuel = ToolLimits {
        fuel: 5_000_000,
        ..limits(10_000, 0)
    };
    client
        .register_tool(plugin("guest_spin"), vec![], fuel, false)
        .await
        .unwrap();
    let (code, message) = status_of(client.invoke_tool("spin", "{}", "").await);
    assert_eq!(code, Code::ResourceExhausted, "{message}");
    assert!(
        message.contains("tool `spin`@0.1.0 ran out of fuel (5000000 units) and was stopped"),
        "{message}"
    );
    server.server.stop().await.unwrap();
}

/// A one-request-per-connection HTTP server on loopback answering `200 hello from <path>`.
async fn local_http_server() -> (u16, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let read = socket.read(&mut buffer).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buffer[..read]);
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let body = format!("hello from {path}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_are_granted_by_name_and_http_by_host() {
    let (port, http_server) = local_http_server().await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let (other_port, other_server) = local_http_server().await;
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client
        .register_tool(
            plugin("guest_probe"),
            vec![
                grant("kv"),
                grant(&format!(
                    "http:127.0.0.1:{port},127.0.0.1:{silent_port},localhost:{other_port}"
                )),
                grant("frames"),
            ],
            limits(1_000, 0),
            false,
        )
        .await
        .unwrap();

    let allowed = format!(r#"{{"use":"http","url":"http://127.0.0.1:{port}/catalog?q=green"}}"#);
    let other = format!(r#"{{"use":"http","url":"http://127.0.0.1:{other_port}/"}}"#);
    let cases: Vec<(String, Result<serde_json::Value, (Code, &str)>)> = vec![
        (r#"{"use":"kv"}"#.into(), Ok(serde_json::json!({"kv":"value"}))),
        (allowed, Ok(serde_json::json!({"status":200,"body":"hello from /catalog?q=green"}))),
        (other, Err((Code::PermissionDenied, &*Box::leak(format!("host `127.0.0.1:{other_port}` is not on the http allowlist of tool `probe`@0.1.0; grant it with `--grant http:127.0.0.1`").into_boxed_str())))),
        (r#"{"use":"http","url":"file:///etc/passwd"}"#.into(), Err((Code::Aborted, "only http and https URLs are allowed, not `file`"))),
        // A granted name that resolves to an internal address reaches it only if the grant
        // names the address too (this one names `localhost`, not 127.0.0.1 on that port).
        (
            format!(r#"{{"use":"http","url":"http://localhost:{other_port}/"}}"#),
            Err((Code::PermissionDenied, "a loopback address; tools reach such addresses only by a grant that names the address")),
        ),
        (
            format!(r#"{{"use":"http","url":"http://127.0.0.1:{silent_port}/never-answers"}}"#),
            // Time spent waiting inside a host import counts against the deadline too.
            Err((Code::DeadlineExceeded, "tool `probe`@0.1.0 timed out after 1000 ms")),
        ),
        (r#"{"use":"wasi"}"#.into(), Ok(serde_json::json!({"env_vars":0,"root_readable":false,"tcp_connect":false}))),
        // Granted and served, but frames belong to sessions and this call has none.
        (r#"{"use":"frames"}"#.into(), Err((Code::Aborted, "frame `frame-1`: this call has no session"))),
        (r#"{"use":"models"}"#.into(), Err((Code::PermissionDenied, "capability `models` is not granted to tool `probe`@0.1.0; register it with `--grant models`"))),
        (r#"{"use":"catalog"}"#.into(), Err((Code::PermissionDenied, "capability `catalog` is not granted to tool `probe`@0.1.0"))),
    ];
    for (arguments, expected) in cases {
        let outcome = client.invoke_tool("probe", &arguments, "").await;
        match expected {
            Ok(value) => {
                let response = outcome.unwrap_or_else(|e| panic!("{arguments}: {e}"));
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(&response.result_json).unwrap(),
                    value,
                    "{arguments}"
                );
            }
            Err((code, fragment)) => {
                let (actual, message) = status_of(outcome);
                assert_eq!(actual, code, "{arguments}: {message}");
                assert!(
                    message.contains(fragment),
                    "{arguments}: expected {fragment:?} in {message:?}"
                );
            }
        }
    }
    drop(silent);
    http_server.abort();
    other_server.abort();
    server.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_capability_reads_stored_catalogs() {
    use interarec_client::{CatalogFormat, ImportHeader};
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let header = ImportHeader {
        catalog_id: "shoes".into(),
        name: "Shoes".into(),
        format: CatalogFormat::Csv as i32,
        strict: false,
        replace: false,
        attribute_overrides_json: String::new(),
        total_bytes: 0,
    };
    let csv = "id,title,price,colour\ns1,Runner,120,black\ns2,Court,95,white\ns3,Trail,140,green\n";
    client.import_catalog(header, csv.as_bytes(), 1 << 20).await.unwrap();
    client
        .register_tool(plugin("guest_probe"), vec![grant("catalog")], limits(0, 0), false)
        .await
        .unwrap();

    let response = client
        .invoke_tool("probe", r#"{"use":"catalog","catalog":"shoes"}"#, "")
        .await
        .unwrap();
    let result: serde_json::Value = serde_json::from_str(&response.result_json).unwrap();
    assert_eq!(result["item_count"], 3);
    assert_eq!(result["first_items"][0]["id"], "s1");
    assert_eq!(result["first_items"][1]["attributes"]["colour"], "white");
    assert_eq!(result["first_items"].as_array().unwrap().len(), 2);

    let (code, message) = status_of(
        client
            .invoke_tool("probe", r#"{"use":"catalog","catalog":"nope"}"#, "")
            .await,
    );
    assert_eq!(code, Code::Aborted, "{message}");
    assert!(message.contains("there is no catalog `nope`"), "{message}");
    server.server.stop().await.unwrap();
}
