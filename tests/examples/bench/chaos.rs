//! `just bench-chaos`: the server under the worst a deployment meets.
//!
//! 1. Crashes: `interarec serve` (the real binary) is killed with SIGKILL at random moments
//!    while 8 clients stream recorded sessions into recommending sessions, and restarted each
//!    time (100 times by default, `--cycles N`). At the end: acknowledged frames the server
//!    does not have (goal 0), and batches that never got a summary and a turn (goal 0).
//! 2. Load: 100 sessions at 2 frames per second for 60 s (`--load-seconds S`) on loopback:
//!    p50/p99 acknowledgement latency (goal p99 at most 50 ms), frames refused, server RSS.
//! 3. Abuse, on a server in this process: 1,000 connect-and-drop Watch and Browse cycles,
//!    oversize fields, a 1M-entry `exclude`: live tasks and RSS before and after (goal flat),
//!    each refusal with its code.
//!
//! Prints a table, then one JSON object as the last line.

use interarec_client::{Frame, OptimizeRequest, SessionOptions, browse_response};
use interarec_demo_shop::catalog::Domain;
use interarec_server::config::ServerConfig;
use interarec_tests::chaos::{CrashPlan, Served, connect, crash_loop};
use interarec_tests::pipeline;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Sessions streaming during the crash loop.
const CRASH_SESSIONS: usize = 8;
/// Sessions in the load measurement.
const LOAD_SESSIONS: usize = 100;
/// Connect-and-drop cycles in the abuse measurement.
const ABUSE_CYCLES: usize = 1000;

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().skip(2).collect();
    let number = |flag: &str, default: u64| -> anyhow::Result<u64> {
        match arguments.iter().position(|a| a == flag) {
            Some(at) => arguments
                .get(at + 1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a number")),
            None => Ok(default),
        }
    };
    let cycles = number("--cycles", 100)?;
    let load_seconds = number("--load-seconds", 60)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let crashes = crash_loop(CrashPlan {
            cycles,
            sessions: CRASH_SESSIONS,
            frames_per_cycle: 20,
            kill_after_ms: 300,
            kill_jitter_ms: 1200,
        })
        .await?;
        let load = load(load_seconds).await?;
        let abuse = abuse().await?;
        println!();
        println!("| measurement | value | goal |");
        println!("|---|---:|---:|");
        println!("| crash loop: kills (SIGKILL) | {} | |", crashes.kills);
        println!("| crash loop: frames acknowledged | {} | |", crashes.acknowledged);
        println!("| crash loop: acknowledged frames lost | {} | 0 |", crashes.lost);
        println!("| crash loop: batches | {} | |", crashes.batches);
        println!(
            "| crash loop: batches without a summary and a turn | {} | 0 |",
            crashes.unfinished
        );
        println!(
            "| load: {LOAD_SESSIONS} sessions x 2 frames/s, {load_seconds} s: frames acknowledged | {} | |",
            load.acknowledged
        );
        println!("| load: frames refused | {} | |", load.refused);
        println!("| load: acknowledgement p50 (ms) | {:.1} | |", load.p50_ms);
        println!("| load: acknowledgement p99 (ms) | {:.1} | <= 50 |", load.p99_ms);
        println!(
            "| load: batches closed by the last acknowledgement / 30 s later / batches in the acknowledged frames | {} / {} / {} | |",
            load.batches, load.batches_after_30_s, load.batches_expected
        );
        println!("| load: server peak RSS (MiB) | {:.0} | |", load.peak_rss_mib);
        println!(
            "| abuse: live tasks before / after {ABUSE_CYCLES} drop cycles | {} / {} | flat |",
            abuse.tasks_before, abuse.tasks_after
        );
        println!(
            "| abuse: RSS before / after (MiB) | {:.0} / {:.0} | flat |",
            abuse.rss_before_mib, abuse.rss_after_mib
        );
        for (case, code) in &abuse.refusals {
            println!("| abuse: {case} | {code} | |");
        }
        let refusals: Vec<String> = abuse
            .refusals
            .iter()
            .map(|(case, code)| format!("{{\"case\":{},\"code\":\"{code}\"}}", Value::from(case.as_str())))
            .collect();
        println!();
        println!(
            "{{\"benchmark\":\"chaos\",\"crash\":{{\"kills\":{},\"acknowledged\":{},\"lost\":{},\"batches\":{},\"unfinished\":{},\"goal_lost\":0,\"goal_unfinished\":0}},\"load\":{{\"sessions\":{LOAD_SESSIONS},\"seconds\":{load_seconds},\"acknowledged\":{},\"refused\":{},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"goal_p99_ms\":50,\"batches\":{},\"batches_after_30_s\":{},\"batches_expected\":{},\"peak_rss_mib\":{:.1}}},\"abuse\":{{\"cycles\":{ABUSE_CYCLES},\"tasks_before\":{},\"tasks_after\":{},\"rss_before_mib\":{:.1},\"rss_after_mib\":{:.1},\"refusals\":[{}]}}}}",
            crashes.kills,
            crashes.acknowledged,
            crashes.lost,
            crashes.batches,
            crashes.unfinished,
            load.acknowledged,
            load.refused,
            load.p50_ms,
            load.p99_ms,
            load.batches,
            load.batches_after_30_s,
            load.batches_expected,
            load.peak_rss_mib,
            abuse.tasks_before,
            abuse.tasks_after,
            abuse.rss_before_mib,
            abuse.rss_after_mib,
            refusals.join(",")
        );
        anyhow::Ok(())
    })
}

struct LoadFigures {
    /// Batches closed (and de-duplicated) when the last acknowledgement arrived, and the
    /// batches the acknowledged frames make: background work gives way to acknowledgements, so
    /// the difference is the backlog it still had.
    batches: u64,
    batches_after_30_s: u64,
    batches_expected: u64,
    acknowledged: u64,
    refused: u64,
    p50_ms: f64,
    p99_ms: f64,
    peak_rss_mib: f64,
}

async fn load(seconds: u64) -> anyhow::Result<LoadFigures> {
    let data = tempfile::tempdir()?;
    let served = Served::start(data.path(), &[])?;
    let mut client = connect(&served.url).await?;
    pipeline::register_tools(&mut client, &["capture"]).await?;
    let recordings = pipeline::recordings_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sessions"))?;
    let mut recorded = Vec::new();
    for dir in &recordings {
        recorded.extend(pipeline::recording(dir)?.2);
    }
    eprintln!("load: {LOAD_SESSIONS} sessions at 2 frames per second for {seconds} s");
    let mut tasks = Vec::new();
    for index in 0..LOAD_SESSIONS {
        let session = format!("load-{index}");
        client.create_session(&session, "", SessionOptions::default()).await?;
        let url = served.url.clone();
        let frames: Vec<Frame> = (0..seconds * 2)
            .map(|i| Frame {
                sequence: i + 1,
                ..recorded[(index * 13 + i as usize) % recorded.len()].clone()
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut client = connect(&url).await?;
            let (sender, mut responses) = client.browse(&session).await?;
            let sent_at: std::sync::Arc<std::sync::Mutex<HashMap<u64, Instant>>> = Default::default();
            let stamps = sent_at.clone();
            let total = frames.len();
            let feeder = tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(500));
                for frame in frames {
                    tick.tick().await;
                    stamps.lock().expect("stamps").insert(frame.sequence, Instant::now());
                    if sender.send(frame).await.is_err() {
                        return;
                    }
                }
            });
            let (mut latencies, mut refused) = (Vec::with_capacity(total), 0u64);
            while latencies.len() + (refused as usize) < total {
                let Some(message) = responses.message().await? else {
                    break;
                };
                if let Some(browse_response::Part::Frame(result)) = message.part {
                    let sent = sent_at.lock().expect("stamps").remove(&result.sequence);
                    if result.accepted {
                        latencies.push(sent.map_or(0.0, |at| at.elapsed().as_secs_f64() * 1e3));
                    } else {
                        refused += 1;
                    }
                }
            }
            feeder.abort();
            anyhow::Ok((latencies, refused))
        }));
    }
    let (mut latencies, mut refused) = (Vec::new(), 0u64);
    for task in tasks {
        let (l, r) = task.await??;
        latencies.extend(l);
        refused += r;
    }
    // VmHWM: the process's peak resident memory over the whole run.
    let peak = served.rss_mib().1;
    let mut batches = 0;
    for index in 0..LOAD_SESSIONS {
        batches += client.get_session(&format!("load-{index}")).await?.batches;
    }
    let batch_size = u64::from(interarec_core::session::DEFAULT_BATCH_SIZE);
    // Then the backlog drains: the batches closed within 30 s more, without new frames.
    let drained_at = Instant::now() + Duration::from_secs(30);
    let mut drained = batches;
    while Instant::now() < drained_at && drained < latencies.len() as u64 / batch_size {
        tokio::time::sleep(Duration::from_secs(2)).await;
        drained = 0;
        for index in 0..LOAD_SESSIONS {
            drained += client.get_session(&format!("load-{index}")).await?.batches;
        }
    }
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        if latencies.is_empty() {
            0.0
        } else {
            latencies[((latencies.len() - 1) as f64 * q).round() as usize]
        }
    };
    Ok(LoadFigures {
        batches,
        batches_after_30_s: drained,
        batches_expected: latencies.len() as u64 / batch_size,
        acknowledged: latencies.len() as u64,
        refused,
        p50_ms: quantile(0.5),
        p99_ms: quantile(0.99),
        peak_rss_mib: peak,
    })
}

struct AbuseFigures {
    tasks_before: usize,
    tasks_after: usize,
    rss_before_mib: f64,
    rss_after_mib: f64,
    refusals: Vec<(String, String)>,
}

fn own_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

async fn abuse() -> anyhow::Result<AbuseFigures> {
    let data = tempfile::tempdir()?;
    let mut config = ServerConfig::local(data.path());
    config.listen = "127.0.0.1:0".parse()?;
    let server = interarec_server::start(config).await?;
    let url = server.url();
    let mut client = connect(&url).await?;
    pipeline::import_demo_shop(&mut client, Domain::Fashion, true).await?;
    client.create_session("abused", "", SessionOptions::default()).await?;
    let credential = client.session_credential("abused").unwrap_or_default();
    let metrics = tokio::runtime::Handle::current().metrics();
    // Let start-up settle, then measure.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (tasks_before, rss_before_mib) = (metrics.num_alive_tasks(), own_rss_mib());
    eprintln!("abuse: {ABUSE_CYCLES} connect-and-drop cycles of WatchSession and Browse");
    for cycle in 0..ABUSE_CYCLES {
        let mut dropper = connect(&url).await?;
        dropper.remember_session_credential("abused", &credential);
        if cycle % 2 == 0 {
            drop(dropper.watch_session("abused", 1).await?);
        } else {
            drop(dropper.browse("abused").await?);
        }
    }
    // Give the server a moment to notice the last clients went away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (tasks_after, rss_after_mib) = (metrics.num_alive_tasks(), own_rss_mib());

    let code = |outcome: Result<(), interarec_client::ClientError>| match outcome {
        Ok(()) => "OK".to_owned(),
        Err(error) => error
            .code()
            .map_or_else(|| error.to_string(), |code| format!("{code:?}")),
    };
    let mut refusals = Vec::new();
    let big_exclude: Vec<String> = (0..1_000_000).map(|i| format!("item-{i}")).collect();
    let optimize = client
        .optimize(OptimizeRequest {
            catalog_id: "fashion".into(),
            model_id: pipeline::demo_model_id(Domain::Fashion),
            constraints_json: serde_json::json!({ "exclude": big_exclude }).to_string(),
            ..OptimizeRequest::default()
        })
        .await
        .map(drop);
    refusals.push(("Optimize with a 1M-entry exclude".to_owned(), code(optimize)));
    let long_id = "s".repeat(10_000);
    refusals.push((
        "CreateSession with a 10,000-character id".to_owned(),
        code(
            client
                .create_session(&long_id, "", SessionOptions::default())
                .await
                .map(drop),
        ),
    ));
    let fixture = pipeline::fixture_recording("fashion-green-dresses")?.2.remove(0);
    for (case, frame) in [
        (
            "a frame with a 1 MiB url",
            Frame {
                sequence: 1,
                url: "u".repeat(1024 * 1024),
                ..fixture.clone()
            },
        ),
        (
            "a frame with 4 MiB of dom_text",
            Frame {
                sequence: 2,
                dom_text: "d".repeat(4 * 1024 * 1024),
                ..fixture.clone()
            },
        ),
    ] {
        let answer = client.upload_frame("abused", frame).await;
        let outcome = match answer {
            Ok(result) if !result.accepted => {
                format!("rejected: {}", result.reason.chars().take(60).collect::<String>())
            }
            Ok(_) => "accepted".to_owned(),
            Err(error) => code(Err(error)),
        };
        refusals.push((case.to_owned(), outcome));
    }
    server.stop().await?;
    Ok(AbuseFigures {
        tasks_before,
        tasks_after,
        rss_before_mib,
        rss_after_mib,
        refusals,
    })
}
