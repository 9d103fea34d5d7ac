//! `just bench-loop`: how long a closed batch takes to become a recommendation, offline, with
//! OCR already cached: from the `batch` event (the batch closed and was de-duplicated) to the
//! `recommendation` event (summarised, planned, validated, optimised, answered), as the server
//! stamps them. Every recorded session is replayed once to warm the OCR cache (pages are cached
//! by frame content, so the same frames in a new session are not read again), then `--rounds`
//! more times into fresh sessions, which are measured. Prints a table, then one JSON object as
//! the last line.
//!
//! Usage: `bench_loop [--rounds N] [--ocr tesseract|paddle] [--sessions DIR]`.

use interarec_capture_driver::folder;
use interarec_client::{
    CatalogFormat, Client, FitHeader, Frame, ImportHeader, SessionOptions, TransactionFormat, browse_response,
};
use interarec_demo_shop::catalog::{Domain, catalog_csv, generate, transactions_csv};
use interarec_server::vision::{ProviderChoice, VisionConfig};
use interarec_tests::{TestServer, grant, limits, plugin};
use interarec_vision::ocr::OcrChoice;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    let mut rounds = 5usize;
    let mut ocr = "tesseract".to_owned();
    let mut sessions_dir = PathBuf::from("fixtures/sessions");
    let mut args = std::env::args().skip(1);
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
            provider: ProviderChoice::Offline,
            ocr: ocr_choice,
            ocr_on_arrival: true,
        };
    })
    .await;
    let mut client = server.client().await;
    for (tool, grants) in [
        ("capture", vec![grant("frames"), grant("kv")]),
        ("summarize", vec![grant("models")]),
        ("validate", vec![grant("catalog")]),
        ("assortment", vec![grant("catalog")]),
    ] {
        client
            .register_tool(plugin(tool), grants, limits(60_000, 256), false)
            .await?;
    }
    for domain in Domain::ALL {
        let products = generate(domain, 42);
        client
            .import_catalog(
                ImportHeader {
                    catalog_id: domain.slug().into(),
                    name: domain.slug().into(),
                    format: CatalogFormat::Csv as i32,
                    strict: true,
                    replace: false,
                    attribute_overrides_json: String::new(),
                },
                catalog_csv(domain, &products).as_bytes(),
                64 * 1024,
            )
            .await?;
        client
            .fit_choice_model(
                FitHeader {
                    model_id: format!("{}-mnl", domain.slug()),
                    catalog_id: domain.slug().into(),
                    format: TransactionFormat::TransactionsCsv as i32,
                    min_segment_choices: 100,
                    ..FitHeader::default()
                },
                transactions_csv(domain, &products, 7, 4_000).as_bytes(),
                64 * 1024,
                |_| {},
            )
            .await?;
    }
    let mut recordings: Vec<PathBuf> = std::fs::read_dir(sessions_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    recordings.sort();
    let mut latencies = Vec::new();
    for round in 0..=rounds {
        for recording in &recordings {
            let measured = replay(&mut client, recording, round).await?;
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

/// Replays one recording into a fresh session; returns batch → recommendation latencies (ms).
async fn replay(client: &mut Client, dir: &std::path::Path, round: usize) -> anyhow::Result<Vec<f64>> {
    let (manifest, frames) = folder::read(dir).map_err(anyhow::Error::msg)?;
    let domain = Domain::ALL
        .into_iter()
        .find(|d| {
            manifest
                .frames
                .first()
                .is_some_and(|f| f.url.contains(&format!("/{}", d.slug())))
        })
        .ok_or_else(|| anyhow::anyhow!("{}: no demo shop in its URLs", dir.display()))?;
    let id = format!("{}-{round}", manifest.name);
    let options = SessionOptions {
        batch_size: 10,
        batch_interval_ms: 600_000,
        max_side: 256,
        static_threshold_bits: 4,
    };
    client
        .create_recommending_session(&id, domain.slug(), &format!("{}-mnl", domain.slug()), 4, options)
        .await?;
    let (sender, mut responses) = client.browse(&id).await?;
    for frame in &frames {
        sender
            .send(Frame {
                sequence: frame.entry.sequence,
                captured_at_unix_ms: frame.entry.captured_at_unix_ms,
                url: frame.entry.url.clone(),
                viewport_width: 1280,
                viewport_height: 800,
                image: frame.image.clone(),
                dom_text: String::new(),
            })
            .await?;
    }
    drop(sender);
    let (mut acknowledged, mut batch_at, mut latencies) = (0usize, None, Vec::new());
    loop {
        let message = tokio::time::timeout(Duration::from_secs(300), responses.message())
            .await??
            .ok_or_else(|| anyhow::anyhow!("the stream ended early"))?;
        match message.part {
            Some(browse_response::Part::Frame(_)) => {
                acknowledged += 1;
                if acknowledged == frames.len() {
                    client.end_session(&id).await?;
                }
            }
            Some(browse_response::Part::Event(event)) => match event.kind.as_str() {
                "batch" => batch_at = Some(event.at_unix_ms),
                "recommendation" => {
                    if let Some(at) = batch_at.take() {
                        latencies.push(event.at_unix_ms.saturating_sub(at) as f64);
                    }
                }
                "session-ended" => return Ok(latencies),
                _ => {}
            },
            None => {}
        }
    }
}
