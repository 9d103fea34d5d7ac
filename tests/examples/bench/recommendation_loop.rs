//! `just bench-loop`: how long a closed batch takes to become a recommendation, offline, with
//! OCR already cached: from the `batch` event (the batch closed and was de-duplicated) to the
//! `recommendation` event (summarised, planned, validated, optimised, answered), as the server
//! stamps them. Every recorded session is replayed once to warm the OCR cache (pages are cached
//! by frame content, so the same frames in a new session are not read again), then `--rounds`
//! more times into fresh sessions, which are measured. Prints a table, then one JSON object as
//! the last line.
//!
//! Usage: `bench loop [--rounds N] [--ocr tesseract|paddle] [--sessions DIR]`.

use interarec_client::{Client, SessionOptions};
use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::Domain;
use interarec_llm::Provider;
use interarec_server::config::VisionConfig;
use interarec_tests::{TestServer, pipeline};
use interarec_vision::ocr::OcrChoice;
use serde_json::json;
use std::path::PathBuf;

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let mut rounds = 5usize;
    let mut ocr = "tesseract".to_owned();
    let mut sessions_dir = PathBuf::from("fixtures/sessions");
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            "--ocr" => ocr = args.next().unwrap_or(ocr),
            "--sessions" => sessions_dir = PathBuf::from(args.next().unwrap_or_default()),
            other => anyhow::bail!("unknown argument `{other}`; use --rounds N, --ocr ENGINE, --sessions DIR"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(rounds, &ocr, &sessions_dir))
}

async fn run(rounds: usize, ocr: &str, sessions_dir: &std::path::Path) -> anyhow::Result<()> {
    let ocr_choice = OcrChoice::parse(ocr).map_err(anyhow::Error::msg)?;
    let server = TestServer::start_with(move |config| {
        config.vision = VisionConfig {
            provider: Provider::Offline,
            ocr: ocr_choice,
            ocr_on_arrival: true,
            ..VisionConfig::default()
        };
    })
    .await;
    let mut client = server.client().await;
    pipeline::register_tools(&mut client, pipeline::RECOMMENDING_TOOLS).await?;
    for domain in Domain::ALL {
        pipeline::import_demo_shop(&mut client, domain, true).await?;
    }
    let recordings = pipeline::recordings_in(sessions_dir)?;
    let mut latencies = Vec::new();
    for round in 0..=rounds {
        for recording in &recordings {
            let measured = replay(&mut client, recording, &round.to_string(), false).await?;
            if round > 0 {
                latencies.extend(measured);
            }
        }
        eprintln!(
            "round {round}/{rounds} done ({})",
            if round == 0 {
                "warm-up: OCR cache filled"
            } else {
                "measured"
            }
        );
    }
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let (p50, p99, max) = (quantile(0.5), quantile(0.99), *latencies.last().unwrap_or(&0.0));
    println!();
    println!(
        "| measurement ({} recommendations, OCR cached, {ocr}) | p50 | p99 | max | goal |",
        latencies.len()
    );
    println!("|---|---:|---:|---:|---|");
    println!("| batch closed → recommendation event | {p50:.0} ms | {p99:.0} ms | {max:.0} ms | ≤ 500 ms |");
    println!(
        "{}",
        json!({
            "recommendations": latencies.len(),
            "ocr": ocr,
            "batch_to_recommendation_ms_p50": p50,
            "batch_to_recommendation_ms_p99": p99,
            "batch_to_recommendation_ms_max": max,
            "goal_met_500_ms": p99 <= 500.0,
        })
    );
    Ok(())
}

/// Replays one recording into a fresh session (its id the recording's name and `tag`); returns
/// batch → recommendation latencies (ms), every event's offset from its batch on stderr when
/// `trace` is set. `just bench-scale` replays the same way.
pub(crate) async fn replay(
    client: &mut Client,
    dir: &std::path::Path,
    tag: &str,
    trace: bool,
) -> anyhow::Result<Vec<f64>> {
    let (manifest, domain, frames) = pipeline::recording(dir)?;
    let id = format!("{}-{tag}", manifest.name);
    let options = SessionOptions {
        batch_size: 10,
        batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            600_000,
        ))),
        max_side: 256,
        static_threshold_bits: 4,
    };
    client
        .create_recommending_session(&id, domain.slug(), &pipeline::demo_model_id(domain), 4, options)
        .await?;
    let (mut batch_at, mut latencies) = (None, Vec::new());
    for event in pipeline::replay(client, &id, frames).await? {
        if trace && let Some(at) = batch_at {
            eprintln!(
                "  {id}: +{} ms {}",
                event.at_unix_ms().saturating_sub(at),
                event.kind_name()
            );
        }
        match EventKind::parse(event.kind_name()) {
            Some(EventKind::Batch) => batch_at = Some(event.at_unix_ms()),
            Some(EventKind::Recommendation) => {
                if let Some(at) = batch_at.take() {
                    latencies.push(event.at_unix_ms().saturating_sub(at) as f64);
                }
            }
            _ => {}
        }
    }
    Ok(latencies)
}
