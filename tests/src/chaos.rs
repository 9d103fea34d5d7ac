//! The real server binary under crashes: `interarec serve` started as a process, killed with
//! SIGKILL at random moments while clients stream recorded sessions, and restarted, then asked
//! what it kept. Used by the end-to-end crash test (a few kills) and `just bench-chaos` (100).

use interarec_client::{Client, ConnectOptions, Frame, browse_response};
use interarec_core::event::EventKind;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `target/debug/interarec` (built by `just build`), or `$INTERAREC_BIN`.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    let path = std::env::var("INTERAREC_BIN").map(PathBuf::from).unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        target.join("debug/interarec")
    });
    anyhow::ensure!(
        path.exists(),
        "{} is missing; build it with `just build`",
        path.display()
    );
    Ok(path)
}

/// An `interarec serve` process on a free loopback port.
pub struct Served {
    /// The process.
    pub child: Child,
    /// Its `http://` address.
    pub url: String,
}

impl Served {
    /// Starts `interarec serve` on `data_dir` with `extra` flags and waits for its address.
    pub fn start(data_dir: &Path, extra: &[&str]) -> anyhow::Result<Served> {
        let mut child = Command::new(server_binary()?)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            // INTERAREC_SERVED_LOG shows more of the server's log when a run needs explaining.
            .env(
                "INTERAREC_LOG",
                std::env::var("INTERAREC_SERVED_LOG").unwrap_or_else(|_| "error".to_owned()),
            )
            .env_remove("INTERAREC_ADMIN_TOKEN")
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
        // Log lines (at the level INTERAREC_SERVED_LOG asks for) may come before the address.
        let mut url = None;
        let mut seen = String::new();
        for _ in 0..200 {
            let mut line = String::new();
            if stderr.read_line(&mut line)? == 0 {
                break;
            }
            if let Some(found) = line
                .split_whitespace()
                .find(|word| word.starts_with("http://"))
                .filter(|_| line.contains("serving on"))
            {
                url = Some(found.to_owned());
                break;
            }
            seen.push_str(&line);
        }
        let url = url.ok_or_else(|| anyhow::anyhow!("the server did not start: {seen}"))?;
        let echo = std::env::var_os("INTERAREC_SERVED_LOG").is_some();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if echo {
                    eprintln!("server: {line}");
                }
            }
        });
        Ok(Served { child, url })
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// (resident, peak resident) MiB of the process.
    pub fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client without a token.
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    Ok(Client::connect(url, ConnectOptions::default()).await?)
}

/// What the crash loop found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashFigures {
    /// SIGKILLs.
    pub kills: u64,
    /// Distinct frames acknowledged over all cycles.
    pub acknowledged: u64,
    /// Acknowledged frames the server did not have at the end (goal 0).
    pub lost: u64,
    /// Batches formed.
    pub batches: u64,
    /// Batches that kept frames but got no summary or no turn (goal 0).
    pub unfinished: u64,
}

/// How a crash loop runs.
#[derive(Debug, Clone, Copy)]
pub struct CrashPlan {
    /// SIGKILLs (each followed by a restart).
    pub cycles: u64,
    /// Sessions streaming, each a recorded session of its own.
    pub sessions: usize,
    /// Frames each session sends per cycle (40 ms apart).
    pub frames_per_cycle: u64,
    /// A kill lands this long after the start, plus up to `kill_jitter_ms`.
    pub kill_after_ms: u64,
    /// Random extra delay before a kill.
    pub kill_jitter_ms: u64,
}

/// What one crash-loop session streams: its recording's frames, repeated with rising
/// sequence numbers.
struct Stream {
    session: String,
    frames: Vec<Frame>,
    acknowledged: BTreeSet<u64>,
}

impl Stream {
    fn frame(&self, sequence: u64) -> Frame {
        let recorded = &self.frames[(sequence as usize - 1) % self.frames.len()];
        Frame {
            sequence,
            ..recorded.clone()
        }
    }
}

/// Kills `interarec serve` with SIGKILL `plan.cycles` times while `plan.sessions` clients stream
/// recorded sessions into recommending sessions (Tesseract reads the frames), restarting it
/// each time; then ends every session on a last restart and checks what it holds.
pub async fn crash_loop(plan: CrashPlan) -> anyhow::Result<CrashFigures> {
    let CrashPlan {
        cycles,
        sessions,
        frames_per_cycle,
        kill_after_ms,
        kill_jitter_ms,
    } = plan;
    let data = tempfile::tempdir()?;
    let flags = ["--ocr", "tesseract"];
    let served = Served::start(data.path(), &flags)?;
    let mut client = connect(&served.url).await?;
    let recordings = crate::pipeline::prepare_for_recordings(&mut client).await?;
    let mut streams = Vec::new();
    for (index, dir) in recordings.iter().take(sessions).enumerate() {
        let (_, domain, frames) = crate::pipeline::recording(dir)?;
        let session = format!("chaos-{index}");
        client
            .create_session_with(crate::pipeline::recommending_session(
                &session,
                domain,
                5,
                "",
                crate::pipeline::validating_tool(domain),
            ))
            .await?;
        streams.push(Stream {
            session,
            frames,
            acknowledged: BTreeSet::new(),
        });
    }
    drop(client);
    served.kill();
    eprintln!("crash loop: {} sessions, {cycles} kills", streams.len());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next_random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    for cycle in 0..cycles {
        let served = Served::start(data.path(), &flags)?;
        let mut tasks = Vec::new();
        for (index, stream) in streams.iter().enumerate() {
            let url = served.url.clone();
            let session = stream.session.clone();
            let first = stream.acknowledged.last().copied().unwrap_or(0) + 1;
            let frames: Vec<Frame> = (first..first + frames_per_cycle).map(|s| stream.frame(s)).collect();
            tasks.push(tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let Ok(mut client) = connect(&url).await else {
                    return (index, acknowledged);
                };
                let Ok((sender, mut responses)) = client.browse(&session).await else {
                    return (index, acknowledged);
                };
                let feeder = tokio::spawn(async move {
                    for frame in frames {
                        if sender.send(frame).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(40)).await;
                    }
                });
                while let Ok(Some(message)) = responses.message().await {
                    if let Some(browse_response::Part::Frame(result)) = message.part
                        && result.accepted
                    {
                        acknowledged.push(result.sequence);
                    }
                }
                feeder.abort();
                (index, acknowledged)
            }));
        }
        tokio::time::sleep(Duration::from_millis(
            kill_after_ms + next_random(kill_jitter_ms.max(1)),
        ))
        .await;
        served.kill();
        for task in tasks {
            let (index, acknowledged) = task.await?;
            streams[index].acknowledged.extend(acknowledged);
        }
        if (cycle + 1) % 10 == 0 {
            let total: usize = streams.iter().map(|s| s.acknowledged.len()).sum();
            eprintln!("crash loop: {} kills, {total} frames acknowledged so far", cycle + 1);
        }
    }

    // The last restart: end every session (its pending frames form a last batch) and read
    // every log to its end.
    let served = Served::start(data.path(), &flags)?;
    let mut client = connect(&served.url).await?;
    let (mut acknowledged, mut lost, mut batches, mut unfinished) = (0u64, 0u64, 0u64, 0u64);
    for stream in &streams {
        let info = client.end_session(&stream.session).await?;
        acknowledged += stream.acknowledged.len() as u64;
        let max_acknowledged = stream.acknowledged.last().copied().unwrap_or(0);
        // Sequences are sent in order from the last acknowledged one, so the stored frames are
        // exactly 1..=last_sequence; an acknowledged frame is lost if it is past the last stored
        // one, or if fewer frames are stored than were acknowledged.
        lost += (stream.acknowledged.len() as u64).saturating_sub(info.frames_accepted)
            + stream.acknowledged.iter().filter(|s| **s > info.last_sequence).count() as u64;
        if info.last_sequence < max_acknowledged {
            eprintln!(
                "{}: acknowledged up to {max_acknowledged}, stored up to {}",
                stream.session, info.last_sequence
            );
        }
        let mut watch = client.watch_session(&stream.session, 1).await?;
        let mut events: Vec<(EventKind, Value)> = Vec::new();
        while let Some(event) = tokio::time::timeout(Duration::from_secs(600), watch.message()).await?? {
            events.push((
                event.kind_name().parse().map_err(anyhow::Error::msg)?,
                event.payload_value(),
            ));
        }
        let mut finished: HashMap<u64, (bool, bool)> = HashMap::new();
        for (kind, payload) in &events {
            let batch = payload["batch"].as_u64().unwrap_or(0);
            match kind {
                EventKind::Summary => finished.entry(batch).or_default().0 = true,
                EventKind::Recommendation | EventKind::PlannerSkipped => finished.entry(batch).or_default().1 = true,
                _ => {}
            }
        }
        let mut number = 0u64;
        for (kind, payload) in &events {
            if *kind != EventKind::Batch {
                continue;
            }
            number += 1;
            batches += 1;
            let kept_nothing = payload["kept"].as_array().is_some_and(Vec::is_empty);
            let (summary, turn) = finished.get(&number).copied().unwrap_or_default();
            let done = kept_nothing || (summary && turn);
            if !done {
                unfinished += 1;
                eprintln!("{}: batch {number} has summary={summary} turn={turn}", stream.session);
            }
        }
    }
    Ok(CrashFigures {
        kills: cycles,
        acknowledged,
        lost,
        batches,
        unfinished,
    })
}
