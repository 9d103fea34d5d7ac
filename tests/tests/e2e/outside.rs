//! A tool written outside this repository: `interarec new-plugin` scaffolds a validating tool in
//! a temporary directory with no workspace above it, plain `cargo build --target wasm32-wasip2
//! --release` builds it against the SDK by path, and a real server registers it, invokes it
//! and runs a recommending session with it as the session's validating tool.

use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::Domain;
use interarec_tests::{TestServer, pipeline};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const TOOL: &str = "price-guard";

/// Runs a command to its end, failing the test with its output when it fails.
fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?} did not start: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Scaffolds and builds the tool; returns the component's bytes.
fn scaffold_and_build(outside: &Path) -> Vec<u8> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let interarec = interarec_tests::chaos::server_binary().unwrap();
    let crate_dir = outside.join(TOOL);
    let created = run(Command::new(&interarec)
        .args(["new-plugin", "--kind", "validating"])
        .arg(&crate_dir));
    assert!(
        created.contains("cargo build --target wasm32-wasip2 --release"),
        "{created}"
    );
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("[workspace]") && !manifest.contains(".workspace = true"),
        "{manifest}"
    );
    // The workspace's lock pins the same versions, so the build fetches nothing new; its own
    // target dir (kept under the workspace's) is reused by the next run.
    std::fs::copy(workspace.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| workspace.join("target"))
        .join("outside-plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "building the scaffolded tool in {} (a few minutes the first time)",
        crate_dir.display()
    );
    run(Command::new(cargo)
        .args(["build", "--quiet", "--target", "wasm32-wasip2", "--release"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        // Nothing of the test's own build may leak into the tool's.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET"));
    std::fs::read(target_dir.join("wasm32-wasip2/release/price_guard.wasm")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_scaffolded_outside_the_workspace_validates_a_recommending_session() {
    let outside = tempfile::tempdir().unwrap();
    let component = tokio::task::spawn_blocking({
        let outside = outside.path().to_owned();
        move || scaffold_and_build(&outside)
    })
    .await
    .unwrap();

    let server = TestServer::start_with(interarec_tests::read_with_tesseract).await;
    let mut client = server.client().await;
    pipeline::prepare(&mut client, Domain::Fashion, pipeline::RECOMMENDING_TOOLS)
        .await
        .unwrap();
    let registered = client
        .register_tool(
            component,
            vec![interarec_tests::grant("catalog")],
            interarec_tests::limits(60_000, 256),
            false,
        )
        .await
        .unwrap();
    assert_eq!(registered.tool.unwrap().name, TOOL);

    // Called directly: prices read from text, the range put the right way round, items counted.
    let answer = client
        .invoke_tool(
            TOOL,
            &json!({"catalog_id": "fashion", "arguments": {"lowest_price": "$90", "highest_price": 40}}).to_string(),
            "",
        )
        .await
        .unwrap();
    let answer: Value = serde_json::from_str(&answer.result_json).unwrap();
    assert_eq!(
        answer["arguments"],
        json!({"lowest_price": 40.0, "highest_price": 90.0}),
        "{answer:#}"
    );
    let fields: Vec<&str> = answer["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["lowest_price", "lowest_price"], "{answer:#}");
    assert!(answer["matching_items"].as_u64().unwrap() > 0, "{answer:#}");
    // The generated schema holds the contract: the host refuses what it does not allow.
    let refused = client
        .invoke_tool(TOOL, &json!({"catalog_id": "fashion"}).to_string(), "")
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("arguments"), "{refused}");

    // As a session's validating tool: every validation is its, and the session recommends.
    let recording = "market-fashion-red-dresses-50-100";
    let request = pipeline::recommending_session(recording, Domain::Fashion, 16, "", TOOL);
    let events = pipeline::replay_into(&mut client, request, &pipeline::fixture_dir(recording))
        .await
        .unwrap();
    let validations: Vec<&Value> = events
        .iter()
        .filter(|(kind, _)| *kind == EventKind::Validation)
        .map(|(_, payload)| payload)
        .collect();
    assert!(!validations.is_empty(), "{events:#?}");
    assert!(validations.iter().all(|v| v["tool"] == TOOL), "{validations:#?}");
    let answered = events.iter().any(|(kind, payload)| {
        *kind == EventKind::ToolCall && payload["tool"] == TOOL && payload["result"]["domain"] == TOOL
    });
    assert!(answered, "no answer of {TOOL} in {events:#?}");
    let recommendation = &events
        .iter()
        .rev()
        .find(|(kind, _)| *kind == EventKind::Recommendation)
        .expect("a recommendation")
        .1;
    assert!(
        !recommendation["items"].as_array().unwrap().is_empty(),
        "{recommendation:#}"
    );
}
