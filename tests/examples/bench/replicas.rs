//! `just bench-replicas`: 1, 2 and 3 `interarec serve` replicas on one PostgreSQL database on
//! this machine, 16 clients streaming recorded sessions (each to one replica, watched on
//! another), as fast as they are acknowledged, then the same with replica 0 killed with SIGKILL
//! as soon as a batch of a session streamed to it closes: acknowledged frames per
//! second, batch → recommendation p50/p99, acknowledged frames lost (goal 0), batches
//! summarised twice (goal 0) and batches left unfinished (goal 0). Needs the PostgreSQL server
//! `INTERAREC_TEST_POSTGRES` names (the recipe starts one). `--frames N` frames per client
//! (default 48).
//!
//! Prints a table, then one JSON object as the last line.

use interarec_tests::replicas::{Kill, ReplicaFigures, ReplicaPlan, run};
use serde_json::json;
use std::time::Duration;

/// Clients streaming at once.
const CLIENTS: usize = 16;

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(2).collect();
    let frames = match arguments.iter().position(|a| a == "--frames") {
        Some(at) => arguments
            .get(at + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("--frames needs a number"))?,
        None => 48,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut rows: Vec<(usize, bool, ReplicaFigures)> = Vec::new();
        for (replicas, kill) in [(1, false), (2, false), (3, false), (2, true), (3, true)] {
            eprintln!(
                "bench-replicas: {replicas} replica(s){}, {CLIENTS} clients x {frames} frames",
                if kill { ", one killed mid-run" } else { "" }
            );
            let url = interarec_tests::fresh_postgres_database();
            let figures = run(
                ReplicaPlan {
                    replicas,
                    clients: CLIENTS,
                    frames_per_client: frames,
                    batch_size: 4,
                    // As fast as acknowledgements come: frames/s is what the replicas take.
                    frame_gap: Duration::ZERO,
                    kill: kill.then_some(Kill::MidBatch),
                    lease_ms: 3_000,
                },
                &url,
            )
            .await?;
            eprintln!("bench-replicas: {figures:?}");
            rows.push((replicas, kill, figures));
        }
        println!();
        println!(
            "| replicas | killed | frames acknowledged | frames/s | batch -> recommendation p50 (ms) | p99 (ms) | lost (goal 0) | summarised twice (goal 0) | unfinished (goal 0) |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (replicas, _, f) in &rows {
            println!(
                "| {replicas} | {} | {} | {:.1} | {} | {} | {} | {} | {} |",
                f.killed,
                f.acknowledged,
                f.frames_per_second,
                f.latency_quantile(0.5),
                f.latency_quantile(0.99),
                f.lost,
                f.summarised_twice,
                f.unfinished
            );
        }
        let runs: Vec<_> = rows
            .iter()
            .map(|(replicas, _, f)| {
                json!({
                    "replicas": replicas,
                    "killed": f.killed,
                    "clients": CLIENTS,
                    "frames_acknowledged": f.acknowledged,
                    "frames_per_second": (f.frames_per_second * 10.0).round() / 10.0,
                    "batch_to_recommendation_p50_ms": f.latency_quantile(0.5),
                    "batch_to_recommendation_p99_ms": f.latency_quantile(0.99),
                    "lost_acknowledged_frames": f.lost,
                    "batches": f.batches,
                    "summarised_twice": f.summarised_twice,
                    "unfinished": f.unfinished,
                })
            })
            .collect();
        println!("{}", json!({"bench": "replicas", "frames_per_client": frames, "runs": runs}));
        Ok(())
    })
}
