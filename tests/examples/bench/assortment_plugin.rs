//! Second half of `just bench-assortment`: the optimizer's core inside the sandbox against the
//! native run (the `guest-optimizer-bench` component on the native benchmark's instances,
//! n = 1e3 … 1e7), the `assortment` plugin against the same library code run natively on
//! catalogs of n = 1e3 … 1e5 items imported into a real server, and the choice model fit on the
//! real Ta-Feng log (every customer, then per age group).
//!
//! The compute compared is `recommend` (filters, weights, exact optimizer) on the same items and
//! model: natively here, and inside the sandbox as the plugin reports it (`timings.compute_ms`,
//! WASI monotonic clock, the optimizer without the host calls). The plugin's whole call also
//! asks the host for the admitted rows through the `catalog` capability's columns; that time is
//! shown beside it. `just bench-scale` measures the same against catalogs up to 1e6 items.
//!
//! Usage: `bench assortment-plugin [NATIVE_JSON]` — the native benchmark's JSON line (a file),
//! merged into the one JSON object printed last. `BENCH_PLUGIN_MAX_N` caps n (default 1e5).

use interarec_choice::model::ChoiceModel;
use interarec_choice::recommend::{Constraints, recommend};
use interarec_client::{CatalogFormat, ConnectOptions, ImportHeader};
use interarec_core::catalog::{CatalogFormat as CoreFormat, parse_catalog};
use interarec_datasets::fitting::{FitSpec, Progress, Source, fit_model};
use interarec_server::config::ServerConfig;
use interarec_tests::fixtures::{FixtureItem, catalog_csv, fashion_items};
use interarec_tests::{grant, limits, plugin};
use std::time::Instant;

/// The benchmark model: the fixture's true intercepts and one price coefficient.
fn model(items: &[FixtureItem]) -> ChoiceModel {
    // Scaled so the outside option keeps a fair share at any n.
    let shift = (items.len() as f64).ln();
    items
        .iter()
        .fold(
            ChoiceModel::builder("bench")
                .catalog("bench")
                .source("benchmark: the fixture's true parameters")
                .price_coefficient(-0.02, 0.0),
            |model, item| model.item(&item.id, item.intercept - shift, 0.0, "all"),
        )
        .build()
}

/// The optimizer alone in the sandbox, on the rows the native benchmark measured.
async fn optimizer_core(native_json: &str) -> anyhow::Result<Vec<String>> {
    let native: serde_json::Value = serde_json::from_str(native_json)?;
    let Some(native_runs) = native["runs"].as_array() else {
        eprintln!(
            "optimizer in the sandbox: no native figures given; skipped (run it through `just bench-assortment`)"
        );
        return Ok(Vec::new());
    };
    let data_dir = tempfile::tempdir()?;
    let mut config = ServerConfig::local(data_dir.path());
    config.listen = "127.0.0.1:0".parse()?;
    // n = 1e7 holds 210 MB of arrays: give the one benchmark call room and time.
    config.limits.max_memory_bytes = 1024 * 1024 * 1024;
    config.limits.max_timeout_ms = 300_000;
    config.limits.max_concurrent_calls = 2;
    let server = interarec_server::start(config).await?;
    let mut client = interarec_client::Client::connect(&server.url(), ConnectOptions::default()).await?;
    client
        .register_tool(plugin("guest_optimizer_bench"), vec![], limits(300_000, 1024), false)
        .await?;
    println!();
    println!("| n | C | variant | native ms | in the sandbox ms | sandbox / native |");
    println!("|---:|---:|---|---:|---:|---:|");
    let mut rows = Vec::new();
    for run in native_runs {
        let (n, c) = (run["n"].as_u64().unwrap_or(0), run["c"].as_u64().unwrap_or(0));
        let variant = run["variant"].as_str().unwrap_or("plain");
        let native_ms = run["median_ms"].as_f64().unwrap_or(f64::NAN);
        let runs = if n >= 10_000_000 {
            3
        } else if n >= 1_000_000 {
            7
        } else {
            21
        };
        eprintln!("optimizer in the sandbox: n = {n}, C = {c}, {variant}");
        let arguments = format!(r#"{{"n":{n},"c":{c},"variant":"{variant}","runs":{runs}}}"#);
        let response = client.invoke_tool("optimizer-bench", &arguments, "").await?;
        let result: serde_json::Value = serde_json::from_str(&response.result_json)?;
        let sandbox_ms = result["median_ms"].as_f64().unwrap_or(f64::NAN);
        let ratio = sandbox_ms / native_ms;
        println!("| {n} | {c} | {variant} | {native_ms:.3} | {sandbox_ms:.3} | {ratio:.2} |");
        rows.push(format!(
            "{{\"n\":{n},\"c\":{c},\"variant\":\"{variant}\",\"native_ms\":{native_ms:.4},\"sandbox_ms\":{sandbox_ms:.4},\"ratio\":{ratio:.3}}}"
        ));
    }
    server.stop().await?;
    Ok(rows)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let native_json = std::env::args()
        .nth(2)
        .map(|path| -> anyhow::Result<String> {
            let text = std::fs::read_to_string(&path)?;
            let line = text
                .lines()
                .rev()
                .find(|l| l.starts_with('{'))
                .unwrap_or("null")
                .to_owned();
            Ok(line)
        })
        .transpose()?
        .unwrap_or_else(|| "null".to_owned());
    let max_n: usize = std::env::var("BENCH_PLUGIN_MAX_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let sizes: Vec<usize> = [1_000, 10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|&n| n <= max_n)
        .collect();
    let variants: [(&str, &str); 4] = [
        ("plain C=10", r#"{"capacity": 10}"#),
        ("plain C=100", r#"{"capacity": 100}"#),
        (
            "filtered C=100",
            r#"{"capacity": 100, "lowest_price": 20, "highest_price": 150, "filters": [{"attribute": "colour", "one_of": ["green", "red"]}]}"#,
        ),
        (
            "capped C=100",
            r#"{"capacity": 100, "max_per_value": {"attribute": "colour", "max": 20}}"#,
        ),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let core_rows = runtime.block_on(optimizer_core(&native_json))?;

    println!();
    println!("| n | variant | native ms | plugin compute ms | plugin / native | plugin call ms (with loading) |");
    println!("|---:|---|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for &n in &sizes {
        eprintln!("plugin: n = {n}: building the catalog and model, starting a server");
        let items = fashion_items(n, n as u64);
        let csv = catalog_csv(&items);
        let model = model(&items);
        let catalog_items = parse_catalog(CoreFormat::Csv, csv.as_bytes(), &Default::default(), true)?.items;
        let data_dir = tempfile::tempdir()?;
        // The model goes straight into the store: this measures the optimizer, not a fit.
        interarec_store::Store::open(data_dir.path())?.put_choice_model(&model)?;
        let mut config = ServerConfig::local(data_dir.path());
        config.listen = "127.0.0.1:0".parse()?;
        let measured = runtime.block_on(async {
            let server = interarec_server::start(config).await?;
            let mut client = interarec_client::Client::connect(&server.url(), ConnectOptions::default()).await?;
            let header = ImportHeader {
                catalog_id: "bench".into(),
                name: "bench".into(),
                format: CatalogFormat::Csv as i32,
                strict: true,
                replace: false,
                attribute_overrides_json: String::new(),
                total_bytes: 0,
            };
            client.import_catalog(header, csv.as_bytes(), 1 << 20).await?;
            client
                .register_tool(plugin("assortment"), vec![grant("catalog")], limits(60_000, 256), false)
                .await?;
            let mut measured = Vec::new();
            for (name, constraints_json) in variants {
                let constraints: Constraints = serde_json::from_str(constraints_json)?;
                let runs = if n >= 100_000 { 5 } else { 11 };
                let mut native = Vec::new();
                let mut expected = None;
                for _ in 0..runs {
                    let started = Instant::now();
                    let answer = recommend(&catalog_items, &model, None, &constraints)?;
                    native.push(started.elapsed().as_secs_f64() * 1e3);
                    expected = Some(answer);
                }
                let expected = expected.expect("runs > 0");
                let arguments =
                    format!(r#"{{"catalog_id":"bench","model_id":"bench","constraints":{constraints_json}}}"#);
                let (mut compute, mut call) = (Vec::new(), Vec::new());
                for _ in 0..runs {
                    let started = Instant::now();
                    let response = client.invoke_tool("assortment", &arguments, "").await?;
                    call.push(started.elapsed().as_secs_f64() * 1e3);
                    let result: serde_json::Value = serde_json::from_str(&response.result_json)?;
                    anyhow::ensure!(
                        result["expected_revenue"].as_f64() == Some(expected.expected_revenue),
                        "the plugin's answer differs from the native one for {name} at n = {n}"
                    );
                    compute.push(result["timings"]["compute_ms"].as_f64().unwrap_or(f64::NAN));
                }
                measured.push((name, median(native), median(compute), median(call)));
            }
            server.stop().await?;
            anyhow::Ok(measured)
        })?;
        for (name, native, compute, call) in measured {
            let ratio = compute / native;
            println!("| {n} | {name} | {native:.3} | {compute:.3} | {ratio:.2} | {call:.1} |");
            rows.push(format!(
                "{{\"n\":{n},\"variant\":\"{name}\",\"native_ms\":{native:.4},\"plugin_compute_ms\":{compute:.4},\"ratio\":{ratio:.3},\"plugin_call_ms\":{call:.2}}}"
            ));
        }
    }

    let ta_feng = std::path::Path::new("data/ta_feng.csv.zip");
    let fit_json = if ta_feng.exists() {
        eprintln!("Ta-Feng: fitting every customer, then each age group");
        let bytes = std::fs::read(ta_feng)?;
        let spec = FitSpec {
            model_id: "ta-feng".into(),
            catalog_id: None,
            source: Source::TaFeng,
            segment_by: Some("AGE_GROUP".into()),
            no_purchase_share: 0.5,
            options: Default::default(),
            min_segment_choices: 1_000.0,
        };
        let mut segment_ms = Vec::new();
        let started = Instant::now();
        let model = fit_model(&bytes, &spec, 0, &mut |progress| {
            if let Progress::SegmentDone { segment, ms, .. } = progress {
                eprintln!("  {segment}: {ms:.0} ms");
                segment_ms.push((segment, ms));
            }
        })?;
        let total_ms = started.elapsed().as_secs_f64() * 1e3;
        println!();
        println!("| Ta-Feng segment | items | β | se(β) | log-lik | null log-lik | iterations | converged | fit ms |");
        println!("|---|---:|---:|---:|---:|---:|---:|---|---:|");
        let mut segments = Vec::new();
        for (segment, (_, ms)) in model.segments.iter().zip(&segment_ms) {
            println!(
                "| {} | {} | {:.5} | {:.5} | {:.1} | {:.1} | {} | {} | {ms:.0} |",
                segment.name,
                segment.items.len(),
                segment.price_coefficient,
                segment.price_standard_error,
                segment.log_likelihood,
                segment.null_log_likelihood,
                segment.iterations,
                segment.converged,
            );
            segments.push(format!(
                "{{\"segment\":\"{}\",\"items\":{},\"price_coefficient\":{:.6},\"price_se\":{:.6},\"log_likelihood\":{:.3},\"iterations\":{},\"converged\":{},\"ms\":{ms:.0}}}",
                segment.name,
                segment.items.len(),
                segment.price_coefficient,
                segment.price_standard_error,
                segment.log_likelihood,
                segment.iterations,
                segment.converged
            ));
        }
        println!(
            "whole fit (read + 1 + {} segments): {total_ms:.0} ms",
            model.segments.len() - 1
        );
        format!(
            "{{\"lines\":{},\"total_ms\":{total_ms:.0},\"segments\":[{}]}}",
            model.provenance.lines,
            segments.join(",")
        )
    } else {
        eprintln!("Ta-Feng: data/ta_feng.csv.zip is missing (run `just data`); fit not measured");
        "null".to_owned()
    };
    println!();
    println!(
        "{{\"benchmark\":\"assortment\",\"native\":{native_json},\"optimizer_in_sandbox\":{{\"goal\":\"within 2x of native\",\"runs\":[{}]}},\"plugin\":{{\"goal\":\"plugin compute within 2x of native\",\"runs\":[{}]}},\"ta_feng_fit\":{fit_json}}}",
        core_rows.join(","),
        rows.join(",")
    );
    Ok(())
}
