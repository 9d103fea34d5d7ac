//! `just bench-capture`: how fast the capture driver takes screenshots with headless Chromium
//! (asked for every 100 ms while the page scrolls), and how fast a server on loopback
//! acknowledges frames as durable (validated, decoded, stored, flushed) from 1 and from 16
//! concurrent Browse streams, replaying the recorded fixture frames as fast as it takes them.
//! The `capture` tool is registered, so batches are de-duplicated meanwhile, as in real use.
//! Prints a table, then one JSON object as the last line.

use interarec_capture_driver::{CaptureOptions, ImageFormat, Script, Step, capture, folder};
use interarec_client::{ConnectOptions, Frame, SessionOptions, browse_response};
use interarec_server::config::ServerConfig;
use interarec_tests::{grant, limits, plugin};
use std::time::{Duration, Instant};

/// Frames each session sends in the ingest measurement.
const FRAMES_PER_SESSION: usize = 120;

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let capture_row = capture_rate().await?;
        let fixtures = fixture_frames()?;
        let mut ingest_rows = Vec::new();
        for sessions in [1usize, 16] {
            ingest_rows.push(ingest(&fixtures, sessions).await?);
        }
        println!();
        println!("| measurement | frames | seconds | frames/s | MB/s |");
        println!("|---|---:|---:|---:|---:|");
        let (frames, seconds, late, mean_bytes) = capture_row;
        println!(
            "| capture (Chromium, 1280x800 JPEG q70, asked every 100 ms; {late} ticks late), intervals between frames | {frames} | {seconds:.2} | {:.1} | {:.2} |",
            frames as f64 / seconds,
            frames as f64 * mean_bytes / seconds / 1e6
        );
        for (sessions, frames, seconds, bytes) in &ingest_rows {
            println!(
                "| ingest, {sessions} concurrent session(s), acknowledged durable | {frames} | {seconds:.2} | {:.1} | {:.2} |",
                *frames as f64 / seconds,
                *bytes as f64 / seconds / 1e6
            );
        }
        let ingest_json: Vec<String> = ingest_rows
            .iter()
            .map(|(sessions, frames, seconds, bytes)| {
                format!(
                    "{{\"sessions\":{sessions},\"frames\":{frames},\"seconds\":{seconds:.3},\"frames_per_second\":{:.1},\"mb_per_second\":{:.2}}}",
                    *frames as f64 / seconds,
                    *bytes as f64 / seconds / 1e6
                )
            })
            .collect();
        println!();
        println!(
            "{{\"benchmark\":\"capture\",\"capture\":{{\"frames\":{frames},\"seconds\":{seconds:.3},\"frames_per_second\":{:.1},\"late_ticks\":{late},\"goal_frames_per_second\":10}},\"ingest\":[{}]}}",
            frames as f64 / seconds,
            ingest_json.join(",")
        );
        anyhow::Ok(())
    })
}

/// Screenshots per second while a script scrolls the fashion shop for about five seconds.
async fn capture_rate() -> anyhow::Result<(u64, f64, u64, f64)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(interarec_demo_shop::serve(listener, 42, std::future::pending()));
    let mut steps = vec![Step::Visit("/fashion".into()), Step::Wait(300)];
    for _ in 0..25 {
        steps.push(Step::Scroll(120));
        steps.push(Step::Wait(180));
    }
    let script = Script {
        name: "bench".into(),
        intent: String::new(),
        expect: Default::default(),
        steps,
    };
    let options = CaptureOptions {
        interval_ms: 100,
        format: ImageFormat::Jpeg,
        quality: 70,
        base_url: base,
        ..CaptureOptions::default()
    };
    eprintln!("capture: Chromium scrolling the fashion shop, a screenshot asked for every 100 ms");
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<interarec_capture_driver::CapturedFrame>(1024);
    let collector = tokio::spawn(async move {
        let (mut count, mut bytes, mut first, mut last) = (0u64, 0u64, 0u64, 0u64);
        while let Some(frame) = receiver.recv().await {
            if count == 0 {
                first = frame.captured_at_unix_ms;
            }
            last = frame.captured_at_unix_ms;
            count += 1;
            bytes += frame.image.len() as u64;
        }
        (count, bytes, first, last)
    });
    let report = capture(&script, &options, sender).await?;
    let (count, bytes, first, last) = collector.await?;
    anyhow::ensure!(count >= 2, "only {count} frames were captured");
    // The rate over the capturing window: from the first screenshot to the last (the browser's
    // start and the first page load come before it).
    let window = (last - first) as f64 / 1e3;
    eprintln!(
        "capture: {count} frames, {:.1} s in all, {window:.2} s from first to last frame",
        report.elapsed.as_secs_f64()
    );
    Ok((count - 1, window, report.late, bytes as f64 / count as f64))
}

fn fixture_frames() -> anyhow::Result<Vec<Vec<u8>>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sessions");
    let mut frames = Vec::new();
    for entry in std::fs::read_dir(&root)? {
        let (_, recorded) = folder::read(&entry?.path()).map_err(|e| anyhow::anyhow!(e))?;
        frames.extend(recorded.into_iter().map(|f| f.image));
    }
    anyhow::ensure!(!frames.is_empty(), "no recorded frames under {}", root.display());
    Ok(frames)
}

/// Sends `FRAMES_PER_SESSION` frames per session from `sessions` concurrent streams; returns
/// (sessions, frames acknowledged, seconds, bytes acknowledged).
async fn ingest(fixtures: &[Vec<u8>], sessions: usize) -> anyhow::Result<(usize, u64, f64, u64)> {
    eprintln!("ingest: {sessions} concurrent Browse stream(s) of {FRAMES_PER_SESSION} recorded frames each");
    let data_dir = tempfile::tempdir()?;
    let mut config = ServerConfig::local(data_dir.path());
    config.listen = "127.0.0.1:0".parse()?;
    let server = interarec_server::start(config).await?;
    let url = server.url();
    let mut client = interarec_client::Client::connect(&url, ConnectOptions::default()).await?;
    client
        .register_tool(
            plugin("capture"),
            vec![grant("frames"), grant("kv")],
            limits(30_000, 256),
            false,
        )
        .await?;
    for index in 0..sessions {
        client
            .create_session(&format!("bench-{index}"), "", SessionOptions::default())
            .await?;
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for index in 0..sessions {
        let url = url.clone();
        let frames: Vec<Vec<u8>> = (0..FRAMES_PER_SESSION)
            .map(|i| fixtures[(i + index * 7) % fixtures.len()].clone())
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut client = interarec_client::Client::connect(&url, ConnectOptions::default()).await?;
            let (sender, mut responses) = client.browse(&format!("bench-{index}")).await?;
            let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
            let feeder = tokio::spawn(async move {
                for (i, image) in frames.into_iter().enumerate() {
                    let frame = Frame {
                        sequence: i as u64 + 1,
                        captured_at: Some(interarec_client::convert::timestamp(i as u64)),
                        url: "http://bench".into(),
                        viewport_width: 1280,
                        viewport_height: 800,
                        image,
                        dom_text: String::new(),
                    };
                    if sender.send(frame).await.is_err() {
                        break;
                    }
                }
                sender
            });
            let mut acknowledged = 0u64;
            while acknowledged < FRAMES_PER_SESSION as u64 {
                let message = tokio::time::timeout(Duration::from_secs(120), responses.message())
                    .await
                    .map_err(|_| anyhow::anyhow!("no answer within 120 s"))??
                    .ok_or_else(|| anyhow::anyhow!("the stream ended early"))?;
                if let Some(browse_response::Part::Frame(result)) = message.part {
                    anyhow::ensure!(result.accepted, "frame {} rejected: {}", result.sequence, result.reason);
                    acknowledged += 1;
                }
            }
            drop(feeder.await?);
            anyhow::Ok((acknowledged, bytes))
        }));
    }
    let (mut frames, mut bytes) = (0u64, 0u64);
    for task in tasks {
        let (f, b) = task.await??;
        frames += f;
        bytes += b;
    }
    let seconds = started.elapsed().as_secs_f64();
    server.stop().await?;
    Ok((sessions, frames, seconds, bytes))
}
