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

use interarec_client::Client;
use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::Domain;
use interarec_tests::llm::{LlmServer, REFUSALS};
use interarec_tests::{TestServer, intent, pipeline};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

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
    let llm = LlmServer::from_env().map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(&sessions_dir, batch_size, llm))
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

fn read(events: &[(EventKind, Value)], expect: &std::collections::BTreeMap<String, Value>) -> Outcome {
    let mut outcome = Outcome::default();
    for (kind, payload) in events {
        match kind {
            EventKind::PlannerStep if payload["planner"].as_str().is_some_and(|p| p.starts_with("openai")) => {
                outcome.model_steps += 1
            }
            EventKind::PlannerError if REFUSALS.contains(&payload["cause"].as_str().unwrap_or_default()) => {
                outcome.refused += 1
            }
            EventKind::Recommendation => {
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
        .find(|(k, _)| *k == EventKind::Constraints)
        .map(|(_, p)| &p["arguments"]);
    let facts = intent::facts(expect, constraints);
    outcome.facts = facts.len();
    outcome.facts_held = facts.iter().filter(|f| f.held).count();
    outcome.missing = facts.into_iter().filter(|f| !f.held).map(|f| f.field).collect();
    outcome
}

async fn replay(client: &mut Client, dir: &Path, id: &str, planner: &str, batch_size: u32) -> anyhow::Result<Outcome> {
    let (manifest, domain, _) = pipeline::recording(dir)?;
    let validate_tool = pipeline::validating_tool(domain);
    let request = pipeline::recommending_session(id, domain, batch_size, planner, validate_tool);
    let events = pipeline::replay_into(client, request, dir).await?;
    Ok(read(&events, &manifest.expect))
}

async fn run(sessions_dir: &Path, batch_size: u32, llm: LlmServer) -> anyhow::Result<()> {
    let (model_name, context) = (llm.model.clone(), llm.context_tokens);
    let server = TestServer::start_with(move |config| llm.configure(config)).await;
    let mut client = server.client().await;
    pipeline::register_tools(
        &mut client,
        &["capture", "summarize", "validate", "assortment", "real-estate"],
    )
    .await?;
    for domain in Domain::ALL {
        pipeline::import_demo_shop(&mut client, domain, true).await?;
    }
    let recordings = pipeline::recordings_in(sessions_dir)?;
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
        let offline = replay(
            &mut client,
            recording,
            &format!("{name}-offline"),
            "offline",
            batch_size,
        )
        .await?;
        let network = replay(&mut client, recording, &format!("{name}-network"), "openai", batch_size).await?;
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
