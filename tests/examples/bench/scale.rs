//! `just bench-scale`: catalogs of retail size through the whole loop. For n = 10^3 … 10^6
//! items (the fashion demo shop's products, then more drawn the same way, so recorded sessions
//! still read against it) served by a real server: the import's time and the memory it took
//! (peak resident set above the level before it, the CSV sent from a file as the CLI sends it);
//! `GetCatalog` (`catalog show`); one `validate` call and one `assortment` call (the whole call
//! over gRPC, and for `assortment` the part spent in host calls and in the optimizer) and the
//! `Optimize` RPC against the native `recommend` on the same items and model; and, with OCR cached,
//! batch closed → recommendation event in recommending sessions replayed from the fashion
//! recordings. The plugins run with the default limits (256 MiB). The model goes straight into
//! the store (random intercepts, one price coefficient): this measures serving, not fitting.
//!
//! Usage: `bench scale [--max-n N] [--rounds R]` (defaults 1e6 and 2).

use super::recommendation_loop::replay;
use interarec_choice::model::ChoiceModel;
use interarec_choice::recommend::{Constraints, recommend};
use interarec_client::{CatalogFormat, Client, ConnectOptions, ImportHeader, OptimizeRequest};
use interarec_core::catalog::{CatalogFormat as CoreFormat, parse_catalog};
use interarec_demo_shop::catalog::{Domain, catalog_csv_pictured, scaled};
use interarec_llm::Provider;
use interarec_server::config::{ServerConfig, VisionConfig};
use interarec_tests::pipeline;
use interarec_vision::ocr::OcrChoice;
use serde_json::json;
use std::time::Instant;

/// Constraints of the `assortment` measurements (the validate call asks for the second).
const VARIANTS: [(&str, &str); 2] = [
    ("plain C=10", r#"{"capacity": 10}"#),
    (
        "filtered C=10",
        r#"{"capacity": 10, "lowest_price": 20, "highest_price": 150, "filters": [{"attribute": "colour", "one_of": ["green", "black"]}]}"#,
    ),
];

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let (mut max_n, mut rounds) = (1_000_000usize, 2usize);
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-n" => {
                max_n = args
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .map_or(max_n, |v| v as usize)
            }
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            other => anyhow::bail!("unknown argument `{other}`; use --max-n N, --rounds R"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for n in [1_000usize, 10_000, 100_000, 1_000_000] {
        if n <= max_n {
            rows.push(runtime.block_on(measure(n, rounds))?);
        }
    }
    println!();
    println!(
        "| n | import s | import peak MiB | show ms | validate ms (first) | validate ms | native recommend ms | assortment call ms | in host calls ms | in optimizer ms | call / native | Optimize ms | batch → recommendation p50 / p99 ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---|---:|");
    for row in &rows {
        let per_variant = |key: &str, digits: usize| {
            row["assortment"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| format!("{:.*}", digits, v[key].as_f64().unwrap_or(f64::NAN)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        println!(
            "| {} | {:.1} | {:.0} | {:.2} | {:.1} | {:.2} | {} | {} | {} | {} | {} | {} | {:.0} / {:.0} |",
            row["n"],
            row["import_s"].as_f64().unwrap_or(f64::NAN),
            row["import_peak_mib"].as_f64().unwrap_or(f64::NAN),
            row["show_ms"].as_f64().unwrap_or(f64::NAN),
            row["validate_first_ms"].as_f64().unwrap_or(f64::NAN),
            row["validate_ms"].as_f64().unwrap_or(f64::NAN),
            per_variant("native_ms", 1),
            per_variant("call_ms", 1),
            per_variant("host_ms", 1),
            per_variant("compute_ms", 1),
            per_variant("call_over_native", 2),
            per_variant("optimize_ms", 1),
            row["batch_to_recommendation_ms_p50"].as_f64().unwrap_or(f64::NAN),
            row["batch_to_recommendation_ms_p99"].as_f64().unwrap_or(f64::NAN),
        );
    }
    println!("(two figures: {} and {})", VARIANTS[0].0, VARIANTS[1].0);
    let largest = rows.last().cloned().unwrap_or_default();
    let worst_ratio = largest["assortment"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|v| v["call_over_native"].as_f64())
                .fold(0.0, f64::max)
        })
        .unwrap_or(f64::NAN);
    println!(
        "{}",
        json!({
            "benchmark": "scale",
            "goals_at_largest_n": {
                "n": largest["n"],
                "assortment_call_over_native_max": worst_ratio,
                "assortment_goal_met_2x": worst_ratio <= 2.0,
                "validate_ms": largest["validate_ms"],
                "validate_goal_met_20_ms": largest["validate_ms"].as_f64().is_some_and(|v| v <= 20.0),
                "batch_to_recommendation_ms_p99": largest["batch_to_recommendation_ms_p99"],
                "batch_goal_met_500_ms": largest["batch_to_recommendation_ms_p99"].as_f64().is_some_and(|v| v <= 500.0),
            },
            "runs": rows,
        })
    );
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `VmRSS` and `VmHWM` of this process in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A model over every item: random intercepts scaled so the outside option keeps a fair share.
fn model(ids: &[String]) -> ChoiceModel {
    let shift = (ids.len() as f64).ln();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    ids.iter()
        .fold(
            ChoiceModel::builder(&pipeline::demo_model_id(Domain::Fashion))
                .catalog(Domain::Fashion.slug())
                .source("benchmark: random intercepts")
                .price_coefficient(-0.02, 0.0),
            |model, id| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
                model.item(id, 3.0 * unit - 1.0 - shift + 5.0, 0.0, "all")
            },
        )
        .build()
}

async fn measure(n: usize, rounds: usize) -> anyhow::Result<serde_json::Value> {
    eprintln!("n = {n}: generating the catalog and its model");
    let products = scaled(Domain::Fashion, 42, n);
    let csv = catalog_csv_pictured(Domain::Fashion, &products, "");
    drop(products);
    let items = parse_catalog(CoreFormat::Csv, csv.as_bytes(), &Default::default(), true)?.items;
    let ids: Vec<String> = items.iter().map(|item| item.id.clone()).collect();
    let model = model(&ids);
    drop(ids);
    let data_dir = tempfile::tempdir()?;
    interarec_store::Store::open(data_dir.path())?.put_choice_model(&model)?;
    let mut config = ServerConfig::local(data_dir.path());
    config.listen = "127.0.0.1:0".parse()?;
    config.vision = VisionConfig {
        provider: Provider::Offline,
        ocr: OcrChoice::parse("tesseract").map_err(anyhow::Error::msg)?,
        ocr_on_arrival: true,
        ..VisionConfig::default()
    };
    let server = interarec_server::start(config).await?;
    let mut client = Client::connect(&server.url(), ConnectOptions::default()).await?;

    eprintln!("n = {n}: importing {} MB of CSV", csv.len() / 1_000_000);
    // From a file, as `interarec catalog import` sends it: what the import holds is the server's.
    let csv_path = data_dir.path().join("catalog.csv");
    std::fs::write(&csv_path, &csv)?;
    drop(csv);
    // Peak resident memory is reset, so the import's peak is measured from here.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (before_mib, _) = memory_mib();
    let started = Instant::now();
    client
        .import_catalog_file(
            ImportHeader {
                catalog_id: Domain::Fashion.slug().into(),
                name: "fashion at scale".into(),
                format: CatalogFormat::Csv as i32,
                strict: true,
                replace: false,
                attribute_overrides_json: String::new(),
                total_bytes: 0,
            },
            &csv_path,
            1 << 20,
            |_, _| {},
        )
        .await?;
    let import_s = started.elapsed().as_secs_f64();
    let (_, peak_mib) = memory_mib();
    pipeline::register_tools(&mut client, pipeline::RECOMMENDING_TOOLS).await?;
    for tool in ["validate", "assortment"] {
        // Default limits: the plugins must fit the default 256 MiB.
        client.remove_tool(tool).await?;
        client
            .register_tool(
                interarec_tests::plugin(tool),
                vec![interarec_tests::grant("catalog")],
                interarec_tests::limits(0, 0),
                false,
            )
            .await?;
    }

    // `catalog show`: the record only, however large the catalog.
    let mut show = Vec::new();
    for _ in 0..11 {
        let started = Instant::now();
        client.get_catalog(Domain::Fashion.slug()).await?;
        show.push(started.elapsed().as_secs_f64() * 1e3);
    }

    eprintln!("n = {n}: validate");
    let validate_arguments = json!({
        "catalog_id": Domain::Fashion.slug(),
        "arguments": {"colour": ["green", "black"], "brand": ["Nonexistent"], "lowest_price": 20, "highest_price": 150, "capacity": 10},
    })
    .to_string();
    let started = Instant::now();
    client.invoke_tool("validate", &validate_arguments, "").await?;
    let validate_first_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut validate = Vec::new();
    for _ in 0..11 {
        let started = Instant::now();
        client.invoke_tool("validate", &validate_arguments, "").await?;
        validate.push(started.elapsed().as_secs_f64() * 1e3);
    }

    eprintln!("n = {n}: assortment against native recommend");
    let mut assortment = Vec::new();
    for (name, constraints_json) in VARIANTS {
        let constraints: Constraints = serde_json::from_str(constraints_json)?;
        let runs = if n >= 1_000_000 { 5 } else { 11 };
        let mut native = Vec::new();
        let mut expected = None;
        for _ in 0..runs {
            let started = Instant::now();
            let answer = recommend(&items, &model, None, &constraints)?;
            native.push(started.elapsed().as_secs_f64() * 1e3);
            expected = Some(answer);
        }
        let expected = expected.expect("runs > 0");
        let arguments = format!(
            r#"{{"catalog_id":"{}","model_id":"{}","constraints":{constraints_json}}}"#,
            Domain::Fashion.slug(),
            model.id
        );
        let (mut call, mut host, mut compute) = (Vec::new(), Vec::new(), Vec::new());
        // One call first, so the host's decoded catalog and weights are measured warm.
        client.invoke_tool("assortment", &arguments, "").await?;
        for _ in 0..runs {
            let started = Instant::now();
            let response = client.invoke_tool("assortment", &arguments, "").await?;
            call.push(started.elapsed().as_secs_f64() * 1e3);
            let result: serde_json::Value = serde_json::from_str(&response.result_json)?;
            anyhow::ensure!(
                result["expected_revenue"].as_f64() == Some(expected.expected_revenue),
                "the plugin's answer differs from the native one for {name} at n = {n}"
            );
            host.push(result["timings"]["host_ms"].as_f64().unwrap_or(f64::NAN));
            compute.push(result["timings"]["compute_ms"].as_f64().unwrap_or(f64::NAN));
        }
        // The same question through `Optimize` (the service's own answer, no sandbox).
        let mut optimize = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let response = client
                .optimize(OptimizeRequest {
                    catalog_id: Domain::Fashion.slug().into(),
                    model_id: model.id.clone(),
                    segment: String::new(),
                    constraints_json: constraints_json.to_owned(),
                })
                .await?;
            optimize.push(started.elapsed().as_secs_f64() * 1e3);
            anyhow::ensure!(
                (response.expected_revenue - expected.expected_revenue).abs()
                    <= 1e-9 * expected.expected_revenue.abs().max(1.0),
                "Optimize differs from the native answer for {name} at n = {n}"
            );
        }
        let (native, call) = (median(native), median(call));
        assortment.push(json!({
            "optimize_ms": median(optimize),
            "variant": name,
            "native_ms": native,
            "call_ms": call,
            "host_ms": median(host),
            "compute_ms": median(compute),
            "call_over_native": call / native,
        }));
    }
    drop(items);

    eprintln!("n = {n}: recommending sessions (1 warm-up round, {rounds} measured)");
    let recordings: Vec<_> = pipeline::recordings_in(std::path::Path::new("fixtures/sessions"))?
        .into_iter()
        .filter(|dir| pipeline::recording(dir).is_ok_and(|(_, domain, _)| domain == Domain::Fashion))
        .collect();
    let mut latencies = Vec::new();
    for round in 0..=rounds {
        for dir in &recordings {
            let trace = std::env::var_os("BENCH_SCALE_TRACE").is_some();
            let measured = replay(&mut client, dir, &format!("{n}-{round}"), trace).await?;
            if round > 0 {
                latencies.extend(measured);
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    server.stop().await?;
    Ok(json!({
        "n": n,
        "import_s": import_s,
        "import_peak_mib": peak_mib - before_mib,
        "show_ms": median(show),
        "validate_first_ms": validate_first_ms,
        "validate_ms": median(validate),
        "assortment": assortment,
        "recommendations": latencies.len(),
        "batch_to_recommendation_ms_p50": quantile(0.5),
        "batch_to_recommendation_ms_p99": quantile(0.99),
    }))
}
