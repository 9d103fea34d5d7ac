//! `just bench-tools`: per-call overhead of a trivial tool (echo), in process (pre-instantiated
//! component, fresh store, invoke) on one core, and the InvokeTool round trip over gRPC on
//! loopback. Prints a table, then one JSON object as the last line.

use interarec_core::{Grants, LimitsConfig};
use interarec_plugin_host::{HostConfig, MemoryKv, PluginHost, Services, ToolHandle};
use interarec_server::config::ServerConfig;
use interarec_tests::{limits, plugin};
use std::sync::Arc;
use std::time::{Duration, Instant};

const IN_PROCESS_CALLS: usize = 20_000;
const GRPC_CALLS: usize = 5_000;
const WARMUP_CALLS: usize = 500;

struct Summary {
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
    calls_per_second: f64,
}

fn summarize(mut samples: Vec<Duration>, wall: Duration) -> Summary {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e6;
    let mean_us = samples.iter().map(Duration::as_secs_f64).sum::<f64>() / samples.len() as f64 * 1e6;
    Summary {
        p50_us: pick(0.50),
        p99_us: pick(0.99),
        mean_us,
        calls_per_second: samples.len() as f64 / wall.as_secs_f64(),
    }
}

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    // One worker thread: the in-process figure is "on one core".
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let arguments = r#"{"message":"hello"}"#;

    eprintln!("in-process: preparing echo, {WARMUP_CALLS} warm-up calls, then {IN_PROCESS_CALLS} measured calls");
    let in_process = runtime.block_on(async {
        let host = PluginHost::new(
            HostConfig {
                limits: LimitsConfig::default(),
                cache_dir: None,
            },
            Services::new(Arc::new(MemoryKv::default()))?,
        )?;
        let prepared = host.prepare(&plugin("echo"))?;
        let tool = ToolHandle {
            prepared,
            name: "echo".into(),
            version: "0.1.0".into(),
            grants: Grants::none(),
            limits: LimitsConfig::default().resolve(Default::default())?,
        };
        for _ in 0..WARMUP_CALLS {
            host.invoke(&tool, "", arguments).await?;
        }
        let mut samples = Vec::with_capacity(IN_PROCESS_CALLS);
        let wall = Instant::now();
        for _ in 0..IN_PROCESS_CALLS {
            let started = Instant::now();
            host.invoke(&tool, "", arguments).await?;
            samples.push(started.elapsed());
        }
        anyhow::Ok(summarize(samples, wall.elapsed()))
    })?;

    eprintln!(
        "gRPC: server on 127.0.0.1:0, {WARMUP_CALLS} warm-up calls, then {GRPC_CALLS} measured InvokeTool round trips"
    );
    let grpc_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let grpc = grpc_runtime.block_on(async {
        let data_dir = tempfile::tempdir()?;
        let mut config = ServerConfig::local(data_dir.path());
        config.listen = "127.0.0.1:0".parse()?;
        let server = interarec_server::start(config).await?;
        let mut client = interarec_client::Client::connect(&server.url(), Default::default()).await?;
        client
            .register_tool(plugin("echo"), vec![], limits(0, 0), false)
            .await?;
        for _ in 0..WARMUP_CALLS {
            client.invoke_tool("echo", arguments, "").await?;
        }
        let mut samples = Vec::with_capacity(GRPC_CALLS);
        let wall = Instant::now();
        for _ in 0..GRPC_CALLS {
            let started = Instant::now();
            client.invoke_tool("echo", arguments, "").await?;
            samples.push(started.elapsed());
        }
        let summary = summarize(samples, wall.elapsed());
        server.stop().await?;
        anyhow::Ok(summary)
    })?;

    println!();
    println!("| measurement                         |   p50 µs |   p99 µs |  mean µs |  calls/s | goal p50 |");
    println!("|-------------------------------------|---------:|---------:|---------:|---------:|---------:|");
    println!(
        "| in-process invoke (fresh store)     | {:>8.1} | {:>8.1} | {:>8.1} | {:>8.0} | {:>8} |",
        in_process.p50_us, in_process.p99_us, in_process.mean_us, in_process.calls_per_second, "≤ 20"
    );
    println!(
        "| InvokeTool over gRPC on loopback    | {:>8.1} | {:>8.1} | {:>8.1} | {:>8.0} | {:>8} |",
        grpc.p50_us, grpc.p99_us, grpc.mean_us, grpc.calls_per_second, "≤ 300"
    );
    println!();
    let json = serde_json::json!({
        "benchmark": "tools",
        "in_process": {
            "calls": IN_PROCESS_CALLS, "p50_us": round(in_process.p50_us), "p99_us": round(in_process.p99_us),
            "mean_us": round(in_process.mean_us), "calls_per_second_one_core": in_process.calls_per_second.round(),
            "goal_p50_us": 20, "meets_goal": in_process.p50_us <= 20.0
        },
        "grpc": {
            "calls": GRPC_CALLS, "p50_us": round(grpc.p50_us), "p99_us": round(grpc.p99_us),
            "mean_us": round(grpc.mean_us), "calls_per_second": grpc.calls_per_second.round(),
            "goal_p50_us": 300, "meets_goal": grpc.p50_us <= 300.0
        }
    });
    println!("{json}");
    Ok(())
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
