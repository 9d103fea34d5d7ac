//! `just bench-llm`: every recorded session through the network planner at a real
//! OpenAI-compatible server (llama.cpp's, through llama-cpp-python, serving a small instruct
//! model on this machine's CPU; `scripts/llm.sh with` starts it and sets
//! `INTERAREC_TEST_LLM_URL`), beside the offline planner on the same recordings: requests the
//! server refused (goal 0), model steps per turn, turns the offline planner finished, turn time
//! (p50/p99), and intent facts held by the final constraints (goal: never fewer than offline).
//! Screenshots are read by the offline engine with Tesseract, the same for both planners.
//! Prints a table, then one JSON object as the last line.
//!
//! Usage: `bench llm [--sessions DIR] [--batch-size N]`.

use interarec_client::{Client, CreateSessionRequest, SessionOptions};
use interarec_demo_shop::catalog::Domain;
use interarec_server::agent::openai::NetworkPlannerSettings;
use interarec_server::config::Provider;
use interarec_server::vision::VisionConfig;
use interarec_tests::{TestServer, intent, pipeline};
use interarec_vision::ocr::OcrChoice;
use interarec_vision::openai::OpenAiConfig;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Causes of a refused request.
const REFUSALS: [&str; 5] = [
    "message-shape",
    "context-length",
    "unknown-model",
    "authentication",
    "rejected",
];

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let mut sessions_dir = PathBuf::from("fixtures/sessions");
    let mut batch_size = 10u32;
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sessions" => sessions_dir = PathBuf::from(args.next().unwrap_or_default()),
            "--batch-size" => batch_size = args.next().and_then(|v| v.parse().ok()).unwrap_or(batch_size),
            other => anyhow::bail!("unknown argument `{other}`; use --sessions DIR, --batch-size N"),
        }
    }
    let url = std::env::var("INTERAREC_TEST_LLM_URL").map_err(|_| {
        anyhow::anyhow!(
            "INTERAREC_TEST_LLM_URL is not set: run `just bench-llm`, which starts a llama.cpp server and sets it"
        )
    })?;
    let model = std::env::var("INTERAREC_TEST_LLM_MODEL").unwrap_or_else(|_| "qwen2.5-coder-0.5b-instruct".into());
    let context: u32 = std::env::var("INTERAREC_TEST_LLM_CONTEXT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(&sessions_dir, batch_size, url, model, context))
}

/// What one replay produced.
#[derive(Default)]
struct Outcome {
    turns: usize,
    model_steps: usize,
    refused: usize,
    fallback_turns: usize,
    turn_ms: Vec<f64>,
    facts_held: usize,
    facts: usize,
    missing: Vec<String>,
}

fn read(events: &[(String, Value)], expect: &std::collections::BTreeMap<String, Value>) -> Outcome {
    let mut outcome = Outcome::default();
    for (kind, payload) in events {
        match kind.as_str() {
            "planner-step" if payload["planner"].as_str().is_some_and(|p| p.starts_with("openai")) => {
                outcome.model_steps += 1
            }
            "planner-error" if REFUSALS.contains(&payload["cause"].as_str().unwrap_or_default()) => {
                outcome.refused += 1
            }
            "recommendation" => {
                outcome.turns += 1;
                outcome.turn_ms.push(payload["millis"].as_f64().unwrap_or(0.0));
                if !payload["fallback"].is_null() {
                    outcome.fallback_turns += 1;
                }
            }
            _ => {}
        }
    }
    let constraints = events
        .iter()
        .rev()
        .find(|(k, _)| k == "constraints")
        .map(|(_, p)| &p["arguments"]);
    let facts = intent::facts(expect, constraints);
    outcome.facts = facts.len();
    outcome.facts_held = facts.iter().filter(|f| f.held).count();
    outcome.missing = facts.into_iter().filter(|f| !f.held).map(|f| f.field).collect();
    outcome
}

async fn replay(
    client: &mut Client,
    dir: &Path,
    id: &str,
    planner: &str,
    batch_size: u32,
) -> anyhow::Result<(Outcome, Domain)> {
    let (manifest, domain, frames) = pipeline::recording(dir)?;
    client
        .create_session_with(CreateSessionRequest {
            session_id: id.into(),
            catalog_id: domain.slug().into(),
            options: Some(SessionOptions {
                batch_size,
                batch_interval_ms: 600_000,
                max_side: 256,
                static_threshold_bits: 4,
            }),
            choice_model_id: pipeline::demo_model_id(domain),
            capacity: 4,
            planner: planner.into(),
            validate_tool: if domain == Domain::RealEstate {
                "real-estate"
            } else {
                "validate"
            }
            .into(),
            ..CreateSessionRequest::default()
        })
        .await?;
    let events: Vec<(String, Value)> = pipeline::replay(client, id, frames)
        .await?
        .into_iter()
        .map(|event| {
            (
                event.kind,
                serde_json::from_str(&event.payload_json).unwrap_or(Value::Null),
            )
        })
        .collect();
    Ok((read(&events, &manifest.expect), domain))
}

async fn run(sessions_dir: &Path, batch_size: u32, url: String, model: String, context: u32) -> anyhow::Result<()> {
    let model_name = model.clone();
    let server = TestServer::start_with(move |config| {
        config.vision = VisionConfig {
            provider: Provider::Offline,
            ocr: OcrChoice::Tesseract,
            ocr_on_arrival: true,
            ..VisionConfig::default()
        };
        let mut openai = OpenAiConfig::new(url, model);
        openai.max_retries = 1;
        openai.timeout = Duration::from_secs(300);
        config.openai = Some(openai);
        config.network_planner = NetworkPlannerSettings {
            context_tokens: Some(context),
            turn_timeout: Some(Duration::from_secs(300)),
        };
    })
    .await;
    let mut client = server.client().await;
    pipeline::register_tools(
        &mut client,
        &["capture", "summarize", "validate", "assortment", "real-estate"],
    )
    .await?;
    for domain in Domain::ALL {
        pipeline::import_demo_shop(&mut client, domain, true).await?;
    }
    let mut recordings: Vec<PathBuf> = std::fs::read_dir(sessions_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    recordings.sort();
    println!(
        "| session | turns | model steps per turn | refused | finished by fallback | turn p50 | facts, network | facts, offline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let (mut all_turn_ms, mut totals, mut never_fewer) = (Vec::new(), [0usize; 7], true);
    for (index, recording) in recordings.iter().enumerate() {
        let name = recording.file_name().unwrap_or_default().to_string_lossy().into_owned();
        eprintln!(
            "[{}/{}] {name}: offline, then the network planner",
            index + 1,
            recordings.len()
        );
        let (offline, _) = replay(
            &mut client,
            recording,
            &format!("{name}-offline"),
            "offline",
            batch_size,
        )
        .await?;
        let (network, _) = replay(&mut client, recording, &format!("{name}-network"), "openai", batch_size).await?;
        let mut sorted = network.turn_ms.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "| {name} | {} | {:.1} | {} | {} | {:.1} s | {}/{}{} | {}/{} |",
            network.turns,
            network.model_steps as f64 / network.turns.max(1) as f64,
            network.refused,
            network.fallback_turns,
            sorted.get(sorted.len() / 2).copied().unwrap_or(0.0) / 1e3,
            network.facts_held,
            network.facts,
            if network.missing.is_empty() {
                String::new()
            } else {
                format!(" (missed {})", network.missing.join(", "))
            },
            offline.facts_held,
            offline.facts,
        );
        never_fewer &= network.facts_held >= offline.facts_held;
        all_turn_ms.extend(network.turn_ms.iter().copied());
        for (total, value) in totals.iter_mut().zip([
            network.turns,
            network.model_steps,
            network.refused,
            network.fallback_turns,
            network.facts_held,
            offline.facts_held,
            network.facts,
        ]) {
            *total += value;
        }
    }
    all_turn_ms.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        if all_turn_ms.is_empty() {
            0.0
        } else {
            all_turn_ms[((all_turn_ms.len() - 1) as f64 * q).round() as usize]
        }
    };
    let [turns, steps, refused, fallback, network_facts, offline_facts, facts] = totals;
    println!(
        "| **all ({model_name}, context {context})** | {turns} | {:.1} | {refused} | {fallback} | {:.1} s (p99 {:.1} s) | {network_facts}/{facts} | {offline_facts}/{facts} |",
        steps as f64 / turns.max(1) as f64,
        quantile(0.5) / 1e3,
        quantile(0.99) / 1e3
    );
    println!(
        "{}",
        json!({
            "model": model_name,
            "context_tokens": context,
            "sessions": recordings.len(),
            "turns": turns,
            "requests_refused": refused,
            "model_steps_per_turn": steps as f64 / turns.max(1) as f64,
            "turns_finished_by_fallback": fallback,
            "turn_ms_p50": quantile(0.5),
            "turn_ms_p99": quantile(0.99),
            "intent_facts": facts,
            "intent_facts_network": network_facts,
            "intent_facts_offline": offline_facts,
            "goal_no_refusals": refused == 0,
            "goal_never_fewer_facts": never_fewer,
        })
    );
    Ok(())
}
