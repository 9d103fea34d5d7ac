//! Several `interarec serve` processes (replicas) on one PostgreSQL database: clients stream
//! recorded sessions to one replica and watch them on another, one replica may be killed with
//! SIGKILL mid-run (its clients go on at another one), and at the end the log of every session
//! is read back to count lost frames, batches summarised twice and batches left unfinished.
//! Used by the end-to-end replica test and `just bench-replicas`.

use crate::chaos::{Served, connect};
use interarec_client::{Frame, browse_response};
use interarec_core::event::EventKind;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a replica run does.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaPlan {
    /// Servers sharing the database.
    pub replicas: usize,
    /// Clients, each streaming a recorded session of its own.
    pub clients: usize,
    /// Frames each client sends.
    pub frames_per_client: u64,
    /// Frames per batch.
    pub batch_size: u32,
    /// Pause between a client's frames.
    pub frame_gap: Duration,
    /// When replica 0 is killed with SIGKILL (`None`: never).
    pub kill: Option<Kill>,
    /// `[replicas] lease_ms` of every server.
    pub lease_ms: u64,
}

/// When a replica run kills replica 0.
#[derive(Debug, Clone, Copy)]
pub enum Kill {
    /// This long after streaming starts.
    After(Duration),
    /// As soon as a batch of a session streamed to it has closed (its summary and turn then
    /// still to come): another replica must finish that batch.
    MidBatch,
}

/// What a replica run measured.
#[derive(Debug, Clone, Default)]
pub struct ReplicaFigures {
    /// Frames acknowledged (distinct, over all clients).
    pub acknowledged: u64,
    /// Acknowledged frames missing from the store at the end (goal 0).
    pub lost: u64,
    /// Acknowledged frames per second of streaming.
    pub frames_per_second: f64,
    /// Batches formed.
    pub batches: u64,
    /// Batches with more than one summary event (goal 0).
    pub summarised_twice: u64,
    /// Batches that kept frames but got no summary or no turn (goal 0).
    pub unfinished: u64,
    /// Recommendations seen live by watchers on a replica other than the one streamed to.
    pub watched_elsewhere: u64,
    /// Batch closed → its recommendation (or skipped turn), ms, sorted.
    pub batch_to_recommendation_ms: Vec<u64>,
    /// Replicas killed.
    pub killed: usize,
}

impl ReplicaFigures {
    /// The `q` quantile of batch → recommendation, ms (0 without any).
    pub fn latency_quantile(&self, q: f64) -> u64 {
        let samples = &self.batch_to_recommendation_ms;
        if samples.is_empty() {
            return 0;
        }
        let index = ((samples.len() - 1) as f64 * q).round() as usize;
        samples[index.min(samples.len() - 1)]
    }
}

/// One client's stream: the recording repeated with rising sequences.
struct Stream {
    session: String,
    frames: Vec<Frame>,
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

/// Starts `plan.replicas` servers on the database at `store_url` and runs the plan.
pub async fn run(plan: ReplicaPlan, store_url: &str) -> anyhow::Result<ReplicaFigures> {
    let config_dir = tempfile::tempdir()?;
    let config = config_dir.path().join("replica.toml");
    std::fs::write(
        &config,
        format!("[replicas]\nlease_ms = {}\npoll_ms = 100\n", plan.lease_ms),
    )?;
    let config_text = config.display().to_string();
    let mut dirs = Vec::new();
    let mut servers: Vec<Option<Served>> = Vec::new();
    for _ in 0..plan.replicas.max(1) {
        let dir = tempfile::tempdir()?;
        let flags = ["--store", store_url, "--ocr", "tesseract", "--config", &config_text];
        servers.push(Some(Served::start(dir.path(), &flags)?));
        dirs.push(dir);
    }
    let urls: Vec<String> = servers.iter().flatten().map(|s| s.url.clone()).collect();
    let replicas = urls.len();

    // Tools, catalogs and models go in through the first replica; the others read them from
    // the database.
    let mut admin = connect(&urls[0]).await?;
    let recordings = crate::pipeline::prepare_for_recordings(&mut admin).await?;
    anyhow::ensure!(!recordings.is_empty(), "no recorded sessions in fixtures/sessions");
    let mut streams = Vec::new();
    for index in 0..plan.clients {
        let (_, domain, frames) = crate::pipeline::recording(&recordings[index % recordings.len()])?;
        let session = format!("replica-{index}");
        // Created on the replica the client will watch on, streamed to another one.
        let mut creator = connect(&urls[(index + 1) % replicas]).await?;
        creator
            .create_session_with(crate::pipeline::recommending_session(
                &session,
                domain,
                plan.batch_size,
                "",
                crate::pipeline::validating_tool(domain),
            ))
            .await?;
        streams.push(Arc::new(Stream { session, frames }));
    }
    drop(admin);

    let alive: Arc<Mutex<Vec<bool>>> = Arc::new(Mutex::new(vec![true; replicas]));
    let started = Instant::now();
    let mut clients = Vec::new();
    let mut watchers = Vec::new();
    let first_batch = Arc::new(tokio::sync::Notify::new());
    for (index, stream) in streams.iter().enumerate() {
        let watch_url = urls[(index + 1) % replicas].clone();
        let session = stream.session.clone();
        // Sessions streamed to replica 0 tell the killer when their first batch closes.
        let batch_closed = (index % replicas == 0).then(|| first_batch.clone());
        watchers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let Ok(mut client) = connect(&watch_url).await else {
                return seen;
            };
            let Ok(mut watch) = client.watch_session(&session, 1).await else {
                return seen;
            };
            while let Ok(Some(event)) = watch.message().await {
                if let Ok(kind) = event.kind_name().parse::<EventKind>() {
                    if kind == EventKind::Batch
                        && let Some(batch_closed) = &batch_closed
                    {
                        batch_closed.notify_one();
                    }
                    seen.push(kind);
                }
            }
            seen
        }));
        let (stream, urls, alive, plan) = (stream.clone(), urls.clone(), alive.clone(), plan);
        clients.push(tokio::spawn(async move {
            stream_frames(&stream, index % urls.len(), &urls, &alive, plan).await
        }));
    }
    let mut killed = 0;
    if let Some(kill) = plan.kill {
        match kill {
            Kill::After(after) => tokio::time::sleep(after).await,
            Kill::MidBatch => first_batch.notified().await,
        }
        if let Some(victim) = servers[0].take() {
            alive.lock().expect("alive")[0] = false;
            victim.kill();
            killed = 1;
            eprintln!("replicas: replica 0 killed after {} ms", started.elapsed().as_millis());
        }
    }
    let mut acknowledged: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (stream, client) in streams.iter().zip(clients) {
        acknowledged.insert(stream.session.clone(), client.await??);
    }
    let streaming = started.elapsed();

    // End every session on a surviving replica (pending frames form a last batch), then read
    // every log to its end.
    let survivor = alive
        .lock()
        .expect("alive")
        .iter()
        .position(|alive| *alive)
        .expect("a replica survives");
    let mut reader = connect(&urls[survivor]).await?;
    let mut figures = ReplicaFigures {
        killed,
        ..ReplicaFigures::default()
    };
    for stream in &streams {
        let frames = &acknowledged[&stream.session];
        let info = reader.end_session(&stream.session).await?;
        figures.acknowledged += frames.len() as u64;
        figures.lost += (frames.len() as u64).saturating_sub(info.frames_accepted)
            + frames.iter().filter(|s| **s > info.last_sequence).count() as u64;
        let mut watch = reader.watch_session(&stream.session, 1).await?;
        let mut events: Vec<(EventKind, Value, u64)> = Vec::new();
        while let Some(event) = tokio::time::timeout(Duration::from_secs(600), watch.message()).await?? {
            events.push((
                event.kind_name().parse().map_err(anyhow::Error::msg)?,
                event.payload_value(),
                event.at_unix_ms(),
            ));
        }
        count_batches(&stream.session, &events, &mut figures);
    }
    for watcher in watchers {
        let seen = watcher.await?;
        figures.watched_elsewhere += seen.iter().filter(|kind| **kind == EventKind::Recommendation).count() as u64;
    }
    figures.frames_per_second = figures.acknowledged as f64 / streaming.as_secs_f64().max(1e-3);
    figures.batch_to_recommendation_ms.sort_unstable();
    drop(servers);
    Ok(figures)
}

/// Streams a client's frames to replica `home`, moving to the next live replica when its
/// stream breaks, from the first frame not yet acknowledged. Returns the acknowledged
/// sequences.
async fn stream_frames(
    stream: &Stream,
    home: usize,
    urls: &[String],
    alive: &Mutex<Vec<bool>>,
    plan: ReplicaPlan,
) -> anyhow::Result<BTreeSet<u64>> {
    let mut acknowledged = BTreeSet::new();
    let mut target = home;
    let mut attempts = 0;
    while (acknowledged.len() as u64) < plan.frames_per_client {
        attempts += 1;
        anyhow::ensure!(attempts < 50, "{}: no replica takes the frames", stream.session);
        if !alive.lock().expect("alive")[target] {
            target = (target + 1) % urls.len();
            continue;
        }
        let first = acknowledged.last().copied().unwrap_or(0) + 1;
        let frames: Vec<Frame> = (first..=plan.frames_per_client).map(|s| stream.frame(s)).collect();
        let Ok(mut client) = connect(&urls[target]).await else {
            target = (target + 1) % urls.len();
            continue;
        };
        let Ok((sender, mut responses)) = client.browse(&stream.session).await else {
            target = (target + 1) % urls.len();
            continue;
        };
        let gap = plan.frame_gap;
        let feeder = tokio::spawn(async move {
            for frame in frames {
                if sender.send(frame).await.is_err() {
                    return;
                }
                tokio::time::sleep(gap).await;
            }
        });
        while let Ok(Some(message)) = responses.message().await {
            if let Some(browse_response::Part::Frame(result)) = message.part
                && result.accepted
            {
                acknowledged.insert(result.sequence);
                if acknowledged.len() as u64 >= plan.frames_per_client {
                    break;
                }
            }
        }
        feeder.abort();
        if (acknowledged.len() as u64) < plan.frames_per_client {
            // The stream broke (its replica died): go on at the next one.
            target = (target + 1) % urls.len();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(acknowledged)
}

/// Counts a session's batches: how many were summarised twice, how many were left unfinished,
/// and how long each waited from closing to its recommendation.
fn count_batches(session: &str, events: &[(EventKind, Value, u64)], figures: &mut ReplicaFigures) {
    let mut summaries: BTreeMap<u64, u64> = BTreeMap::new();
    let mut turns: BTreeMap<u64, u64> = BTreeMap::new();
    for (kind, payload, at) in events {
        let batch = payload["batch"].as_u64().unwrap_or(0);
        match kind {
            EventKind::Summary => *summaries.entry(batch).or_default() += 1,
            EventKind::Recommendation | EventKind::PlannerSkipped => {
                turns.entry(batch).or_insert(*at);
            }
            _ => {}
        }
    }
    let mut number = 0u64;
    for (kind, payload, at) in events {
        if *kind != EventKind::Batch {
            continue;
        }
        number += 1;
        figures.batches += 1;
        let summarised = summaries.get(&number).copied().unwrap_or(0);
        if summarised > 1 {
            figures.summarised_twice += 1;
            eprintln!("{session}: batch {number} has {summarised} summaries");
        }
        let kept_nothing = payload["kept"].as_array().is_some_and(Vec::is_empty);
        match turns.get(&number) {
            Some(turned_at) if summarised > 0 => {
                figures.batch_to_recommendation_ms.push(turned_at.saturating_sub(*at));
            }
            _ if kept_nothing => {}
            _ => {
                figures.unfinished += 1;
                eprintln!("{session}: batch {number} has {summarised} summaries and no turn");
            }
        }
    }
}
