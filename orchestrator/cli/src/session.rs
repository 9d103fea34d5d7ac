//! `interarec capture` (drive Chromium through a browsing script, streaming frames live to a
//! session and/or writing a session folder) and `interarec session …` (list, show, end, watch a
//! session's events, replay a recorded folder at recorded or accelerated speed, and replay a
//! stored session's log offline from the data dir for an audit).

use crate::Provider;
use crate::progress::Progress;
use anyhow::Context;
use clap::{Args, Subcommand};
use interarec_capture_driver::folder::{self, FolderWriter, Manifest};
use interarec_capture_driver::{CaptureOptions, CapturedFrame, ImageFormat, capture, parse_script};
use interarec_client::{Client, Frame, Planner, SessionInfo, SessionOptions, VisionProvider, browse_response};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    server: super::ServerArgs,
    /// The browsing script (JSON or YAML).
    script: PathBuf,
    /// Write the frames and a manifest into this (new) folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stream the frames live into this session (created if it does not exist).
    #[arg(long)]
    session: Option<String>,
    #[command(flatten)]
    new_session: NewSessionFlags,
    /// Milliseconds between screenshots (at least 100).
    #[arg(long, default_value_t = 2_000)]
    interval_ms: u64,
    /// `jpeg` or `png`.
    #[arg(long, default_value = "jpeg")]
    format: String,
    /// JPEG quality.
    #[arg(long, default_value_t = 80)]
    quality: u8,
    /// Viewport as WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x800")]
    viewport: String,
    /// Save the visible DOM text beside each frame (evaluation ground truth).
    #[arg(long)]
    dom_text: bool,
    /// Base of the script's relative URLs (where `interarec demo-shop` listens).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The browser (default: chromium on the PATH, or $INTERAREC_CHROMIUM).
    #[arg(long)]
    chromium: Option<PathBuf>,
}

/// How a session created from the command line is set up: everything `CreateSession` takes.
#[derive(Debug, Clone, Default, Args)]
pub struct NewSessionFlags {
    /// Catalog the shopper browses (needed to recommend).
    #[arg(long, default_value = "")]
    catalog: String,
    /// Fitted choice model to recommend with; with it, every summarised batch gets a
    /// recommendation (the `summarize`, validating and `assortment` tools must be registered).
    #[arg(long, default_value = "")]
    model: String,
    /// Products to recommend (0: the server's default, 8).
    #[arg(long, default_value_t = 0)]
    capacity: u32,
    /// Frames per batch (0: 10).
    #[arg(long, default_value_t = 0)]
    batch_size: u32,
    /// A batch also closes when its first frame is this old, in ms (0: 20000).
    #[arg(long, default_value_t = 0)]
    batch_interval_ms: u64,
    /// Who plans each turn (default: the server's).
    #[arg(long, value_enum)]
    planner: Option<Provider>,
    /// Who reads the screenshots (default: the server's).
    #[arg(long, value_enum)]
    vision: Option<Provider>,
    /// The tool that validates the constraint function's arguments (empty: `validate`), e.g.
    /// `real-estate`.
    #[arg(long, default_value = "")]
    validate_tool: String,
    /// A registered tool the network planner is offered besides the constraint function and
    /// the validating tool (repeat for several).
    #[arg(long = "planner-tool", value_name = "TOOL")]
    planner_tools: Vec<String>,
}

impl NewSessionFlags {
    fn request(&self, id: &str) -> interarec_client::CreateSessionRequest {
        interarec_client::CreateSessionRequest {
            session_id: id.to_owned(),
            catalog_id: self.catalog.clone(),
            options: Some(SessionOptions {
                batch_size: self.batch_size,
                batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
                    self.batch_interval_ms,
                ))),
                ..SessionOptions::default()
            }),
            choice_model_id: self.model.clone(),
            capacity: self.capacity,
            planner: self.planner.map_or(Planner::Unspecified, |p| match p {
                Provider::Offline => Planner::Offline,
                Provider::Openai => Planner::Openai,
            }) as i32,
            vision_provider: self.vision.map_or(VisionProvider::Unspecified, |v| match v {
                Provider::Offline => VisionProvider::Offline,
                Provider::Openai => VisionProvider::Openai,
            }) as i32,
            validate_tool: self.validate_tool.clone(),
            planner_tools: self.planner_tools.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    #[command(flatten)]
    server: super::ServerArgs,
    #[command(subcommand)]
    command: SessionCommand,
}

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// Creates a session (a recommending one with --model), and prints it.
    Create {
        /// Session id (lowercase letters, digits and `-`; empty: generated).
        #[arg(default_value = "")]
        id: String,
        #[command(flatten)]
        new_session: NewSessionFlags,
    },
    /// Lists the sessions.
    List {
        /// Print JSON (an array of sessions) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Shows a session's counters.
    Show {
        /// Session id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Ends a session (its pending frames form a last batch).
    End {
        /// Session id.
        id: String,
    },
    /// Prints a session's events from a sequence on (the log, then live ones) until it ends.
    Watch {
        /// Session id.
        id: String,
        /// First event to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// One JSON object per event instead of the readable view.
        #[arg(long)]
        json: bool,
    },
    /// Streams a recorded session folder into a session, at recorded or accelerated speed; or,
    /// with --from-store, prints a stored session's whole log (every batch, summary, planner step,
    /// tool call with arguments, result and duration, validation, constraints and
    /// recommendation) from the data dir, with no server (stop the server first: the database
    /// has one owner; `session watch` reads a running server's log), or from a shared store
    /// (--store postgres://…) while its servers run.
    Replay {
        /// The session folder (from `interarec capture --out`).
        #[arg(conflicts_with = "from_store")]
        dir: Option<PathBuf>,
        /// Replay this stored session's log instead.
        #[arg(long, value_name = "SESSION")]
        from_store: Option<String>,
        /// The server's data dir (with --from-store).
        #[arg(long, env = "INTERAREC_DATA_DIR", default_value = "./interarec-data")]
        data_dir: PathBuf,
        /// The servers' shared store, a `postgres://` URL (with --from-store; instead of the
        /// data dir).
        #[arg(long, env = "INTERAREC_STORE")]
        store: Option<String>,
        /// One JSON object per event (with --from-store).
        #[arg(long)]
        json: bool,
        /// Session to stream into (created if missing; default: the folder's name).
        #[arg(long)]
        session: Option<String>,
        #[command(flatten)]
        new_session: NewSessionFlags,
        /// Speed-up over the recorded timing; 0 sends as fast as the server takes them.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// End the session once every frame is acknowledged.
        #[arg(long)]
        end: bool,
    },
}

/// Streams frames into a session over Browse, printing acknowledgements, rejections and
/// events; `finish` waits until every frame sent has its answer.
struct Forwarder {
    sender: mpsc::Sender<Frame>,
    answers: tokio::task::JoinHandle<anyhow::Result<(u64, u64)>>,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Forwarder {
    async fn open(client: &mut Client, session: &str, progress: Progress) -> anyhow::Result<Forwarder> {
        let (sender, mut responses) = client.browse(session).await?;
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let expected = sent.clone();
        let answers = tokio::spawn(async move {
            let (mut accepted, mut rejected) = (0u64, 0u64);
            let mut waited = Duration::ZERO;
            loop {
                // The high bit of `expected` says sending is over; its other bits count frames.
                let marker = expected.load(std::sync::atomic::Ordering::SeqCst);
                let done_sending = marker & (1 << 63) != 0;
                if done_sending && accepted + rejected >= marker & !(1 << 63) {
                    break;
                }
                if done_sending && waited > Duration::from_secs(60) {
                    anyhow::bail!("the server did not answer every frame within 60 s of the last one");
                }
                let tick = Duration::from_millis(200);
                let Ok(next) = tokio::time::timeout(tick, responses.message()).await else {
                    if done_sending {
                        waited += tick;
                    }
                    continue;
                };
                let Some(message) = next? else { break };
                match message.part {
                    Some(browse_response::Part::Frame(result)) if result.accepted => {
                        accepted += 1;
                        progress.log(format!(
                            "  frame {} acknowledged ({}x{} {})",
                            result.sequence, result.width, result.height, result.mime
                        ));
                    }
                    Some(browse_response::Part::Frame(result)) => {
                        rejected += 1;
                        progress.println(format!("  frame {} rejected: {}", result.sequence, result.reason));
                    }
                    Some(browse_response::Part::Event(event)) => {
                        progress.log(format!(
                            "  event {} {}: {}",
                            event.event_sequence,
                            event.kind_name(),
                            event.payload_value()
                        ));
                    }
                    None => {}
                }
            }
            Ok((accepted, rejected))
        });
        Ok(Forwarder { sender, answers, sent })
    }

    async fn send(&self, frame: Frame) -> anyhow::Result<()> {
        self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.sender
            .send(frame)
            .await
            .map_err(|_| anyhow::anyhow!("the Browse stream closed; see the messages above"))
    }

    /// Waits for the answers to every frame sent; returns (accepted, rejected).
    async fn finish(self) -> anyhow::Result<(u64, u64)> {
        // The high bit marks "no more frames": the reader stops once it has every answer.
        self.sent.fetch_or(1 << 63, std::sync::atomic::Ordering::SeqCst);
        let outcome = tokio::time::timeout(Duration::from_secs(120), self.answers)
            .await
            .context("the server did not answer every frame within 2 minutes")?
            .context("the answer reader failed")??;
        drop(self.sender);
        Ok(outcome)
    }
}

fn wire_frame(frame: &CapturedFrame) -> Frame {
    Frame {
        sequence: frame.sequence,
        captured_at: Some(interarec_client::convert::timestamp(frame.captured_at_unix_ms)),
        url: frame.url.clone(),
        viewport_width: frame.viewport_width,
        viewport_height: frame.viewport_height,
        image: frame.image.clone(),
        dom_text: frame.dom_text.clone().unwrap_or_default(),
    }
}

/// Uses INTERAREC_SESSION_CREDENTIAL (when set) for the calls on session `id`.
pub(crate) fn use_credential(client: &Client, id: &str) {
    if let Some(credential) = std::env::var("INTERAREC_SESSION_CREDENTIAL")
        .ok()
        .filter(|c| !c.is_empty())
    {
        client.remember_session_credential(id, &credential);
    }
}

async fn ensure_session(client: &mut Client, id: &str, new_session: &NewSessionFlags) -> anyhow::Result<SessionInfo> {
    use_credential(client, id);
    // Without its credential a session cannot even be looked up, so an unknown one and one
    // held by someone else read alike until creating it tells them apart.
    match client.get_session(id).await {
        Ok(info) => Ok(info),
        Err(error) if error.is_not_found() || error.is_unauthenticated() => {
            eprintln!("creating session `{id}`");
            match client.create_session_with(new_session.request(id)).await {
                Ok(info) => {
                    eprintln!("its credential (for `session watch` and the like): {}", info.credential);
                    Ok(info.session.unwrap_or_default())
                }
                Err(created) if created.is_already_exists() => anyhow::bail!(
                    "session `{id}` exists, and streaming into it needs its credential: set INTERAREC_SESSION_CREDENTIAL (or INTERAREC_ADMIN_TOKEN), or choose another --session"
                ),
                Err(created) => Err(created.into()),
            }
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn capture_command(args: CaptureArgs) -> anyhow::Result<()> {
    if args.out.is_none() && args.session.is_none() {
        anyhow::bail!("say where the frames go: --out DIR (a session folder), --session ID (live), or both");
    }
    let text =
        std::fs::read_to_string(&args.script).with_context(|| format!("cannot read {}", args.script.display()))?;
    let script = parse_script(&text)?;
    let format = match args.format.as_str() {
        "jpeg" | "jpg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        other => anyhow::bail!("unknown format `{other}`; use jpeg or png"),
    };
    let viewport = args
        .viewport
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|(w, h): &(u32, u32)| (320..=3840).contains(w) && (240..=2160).contains(h))
        .with_context(|| {
            format!(
                "viewport `{}` is not WIDTHxHEIGHT within 320x240 to 3840x2160",
                args.viewport
            )
        })?;
    let options = CaptureOptions {
        chromium: args.chromium.clone(),
        viewport,
        interval_ms: args.interval_ms,
        format,
        quality: args.quality,
        dom_text: args.dom_text,
        base_url: args.base_url.clone(),
        ..CaptureOptions::default()
    };
    let mut writer = match &args.out {
        Some(dir) => Some(
            FolderWriter::create(
                dir,
                Manifest {
                    name: script.name.clone(),
                    intent: script.intent.clone(),
                    expect: script.expect.clone(),
                    viewport_width: viewport.0,
                    viewport_height: viewport.1,
                    interval_ms: args.interval_ms,
                    format,
                    frames: Vec::new(),
                    error: None,
                },
            )
            .with_context(|| format!("cannot write the session folder {}", dir.display()))?,
        ),
        None => None,
    };
    let progress = Progress::count(0, "frames");
    let forwarder = match &args.session {
        Some(id) => {
            let mut client = args.server.connect().await?;
            ensure_session(&mut client, id, &args.new_session).await?;
            Some(Forwarder::open(&mut client, id, progress.clone()).await?)
        }
        None => None,
    };
    eprintln!(
        "capturing `{}` every {} ms ({})",
        script.name, args.interval_ms, script.intent
    );
    let (sender, mut frames) = mpsc::channel::<CapturedFrame>(8);
    let run = tokio::spawn(async move { capture(&script, &options, sender).await });
    while let Some(frame) = frames.recv().await {
        progress.set_position(frame.sequence);
        progress.log(format!(
            "frame {} at {} ({} bytes)",
            frame.sequence,
            frame.url,
            frame.image.len()
        ));
        if let Some(writer) = writer.as_mut() {
            writer.add(&frame).context("cannot write the frame")?;
        }
        if let Some(forwarder) = &forwarder {
            forwarder.send(wire_frame(&frame)).await?;
        }
    }
    let outcome = run.await.context("the capture task failed")?;
    progress.finish();
    if let (Err(error), Some(writer)) = (&outcome, writer.as_mut()) {
        writer.fail(&error.to_string())?;
    }
    if let Some(forwarder) = forwarder {
        let (accepted, rejected) = forwarder.finish().await?;
        eprintln!("server: {accepted} frames acknowledged, {rejected} rejected");
    }
    match outcome {
        Ok(report) => {
            println!(
                "captured {} frames in {:.1} s ({} late){}",
                report.frames,
                report.elapsed.as_secs_f64(),
                report.late,
                args.out.map(|d| format!(" into {}", d.display())).unwrap_or_default()
            );
            Ok(())
        }
        Err(error) => {
            Err(anyhow::anyhow!(error).context("the capture stopped early; the frames taken so far were kept"))
        }
    }
}

pub async fn session_command(args: SessionArgs) -> anyhow::Result<()> {
    if let SessionCommand::Replay {
        from_store: Some(id),
        data_dir,
        store,
        json,
        ..
    } = &args.command
    {
        return replay_from_store(data_dir, store.as_deref(), id, *json);
    }
    if let SessionCommand::Replay { dir: None, .. } = &args.command {
        anyhow::bail!("say what to replay: a session folder (from `interarec capture --out`), or --from-store SESSION");
    }
    let mut client = args.server.connect().await?;
    match args.command {
        SessionCommand::List { json: true } => {
            let sessions = client.list_sessions().await?;
            super::print_json(
                &sessions
                    .iter()
                    .map(interarec_client::convert::json::session)
                    .collect::<Vec<_>>(),
            )?;
        }
        SessionCommand::List { json: false } => {
            let sessions = client.list_sessions().await?;
            if sessions.is_empty() {
                println!("no sessions; `interarec capture` or `interarec session replay` make one");
            }
            for s in sessions {
                println!(
                    "{:<28} {:>6} frames {:>4} rejected {:>4} batches {} {}",
                    s.session_id,
                    s.frames_accepted,
                    s.frames_rejected,
                    s.batches,
                    if s.ended { "ended" } else { "open" },
                    s.catalog_id
                );
            }
        }
        SessionCommand::Create { id, new_session } => {
            let info = client.create_session_with(new_session.request(&id)).await?;
            print_session(&info);
            println!("credential: {}", info.credential);
            eprintln!("(shown once: calls on this session need it; the CLI reads INTERAREC_SESSION_CREDENTIAL)");
        }
        SessionCommand::Show { id, json } => {
            use_credential(&client, &id);
            let session = client.get_session(&id).await?;
            if json {
                super::print_json(&interarec_client::convert::json::session(&session))?;
            } else {
                print_session(&session);
            }
        }
        SessionCommand::End { id } => {
            use_credential(&client, &id);
            print_session(&client.end_session(&id).await?)
        }
        SessionCommand::Watch { id, from, json } => {
            use_credential(&client, &id);
            let mut events = client.watch_session(&id, from).await?;
            while let Some(event) = events.message().await? {
                print_audited(event.event_sequence, event.kind_name(), &event.payload_value(), json);
            }
        }
        SessionCommand::Replay {
            dir,
            session,
            new_session,
            speed,
            end,
            ..
        } => {
            let dir = dir.context("say what to replay: a session folder, or --from-store SESSION")?;
            let (manifest, frames) = folder::read(&dir).map_err(|e| anyhow::anyhow!(e))?;
            let id = session.unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| {
                        n.to_string_lossy()
                            .to_lowercase()
                            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
                    })
                    .unwrap_or_else(|| "replay".into())
            });
            ensure_session(&mut client, &id, &new_session).await?;
            eprintln!(
                "replaying {} frames of `{}` ({}) into session `{id}` at {}",
                frames.len(),
                manifest.name,
                manifest.intent,
                if speed > 0.0 {
                    format!("{speed}x")
                } else {
                    "full speed".into()
                }
            );
            let progress = Progress::count(frames.len() as u64, "frames");
            let forwarder = Forwarder::open(&mut client, &id, progress.clone()).await?;
            let mut previous: Option<u64> = None;
            for (sent, frame) in frames.iter().enumerate() {
                if let Some(previous) = previous
                    && speed > 0.0
                {
                    let gap = frame.entry.captured_at_unix_ms.saturating_sub(previous) as f64 / speed;
                    tokio::time::sleep(Duration::from_millis(gap as u64)).await;
                }
                previous = Some(frame.entry.captured_at_unix_ms);
                forwarder
                    .send(Frame {
                        sequence: frame.entry.sequence,
                        captured_at: Some(interarec_client::convert::timestamp(frame.entry.captured_at_unix_ms)),
                        url: frame.entry.url.clone(),
                        viewport_width: manifest.viewport_width,
                        viewport_height: manifest.viewport_height,
                        image: frame.image.clone(),
                        dom_text: frame.dom_text.clone().unwrap_or_default(),
                    })
                    .await?;
                progress.set_position(sent as u64 + 1);
            }
            let (accepted, rejected) = forwarder.finish().await?;
            progress.finish();
            println!(
                "replayed {} frames into `{id}`: {accepted} acknowledged, {rejected} rejected",
                frames.len()
            );
            if end {
                print_session(&client.end_session(&id).await?);
            }
        }
    }
    Ok(())
}

/// One event of an audit: readable, or one JSON object per line.
fn print_audited(sequence: u64, kind: &str, payload: &serde_json::Value, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "sequence": sequence, "kind": kind, "payload": payload })
        );
    } else if let Some(kind) = interarec_core::event::EventKind::parse(kind) {
        super::events::print_event(kind, payload, true);
    } else {
        println!("   {kind}: {payload}");
    }
}

/// `session replay --from-store`: the stored log of a session, read from the data dir.
fn replay_from_store(data_dir: &std::path::Path, shared: Option<&str>, id: &str, json: bool) -> anyhow::Result<()> {
    let location = interarec_store::StoreLocation::parse(shared.unwrap_or(""), data_dir, 1)
        .map_err(|e| anyhow::anyhow!("--store: {e}"))?;
    if let interarec_store::StoreLocation::Postgres { url, .. } = &location {
        let store = interarec_store::Store::open_at(&location)?;
        return print_stored_log(&store, &interarec_store::postgres::redacted(url), id, json);
    }
    if !data_dir.join("db").exists() {
        anyhow::bail!(
            "{} holds no InteraRec database; pass the server's --data-dir (or set INTERAREC_DATA_DIR)",
            data_dir.display()
        );
    }
    let store = interarec_store::Store::open(data_dir).map_err(|e| {
        anyhow::anyhow!("{e}; to read a running server's log use `interarec session watch {id}` instead")
    })?;
    print_stored_log(&store, &data_dir.display().to_string(), id, json)
}

/// Prints session `id`'s stored record and log from `store` (found at `location`).
fn print_stored_log(store: &interarec_store::Store, location: &str, id: &str, json: bool) -> anyhow::Result<()> {
    let Some(record) = store.get_session(id)? else {
        let known: Vec<String> = store.list_sessions()?.into_iter().map(|s| s.id).collect();
        anyhow::bail!(
            "no session `{id}` in {location}; stored sessions: {}",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        );
    };
    let events = store.events(id, 1, u64::MAX, usize::MAX)?;
    if !json {
        println!(
            "session `{id}` ({}): catalog `{}`, model `{}`, planner {}, vision {}, validated by {}; {} frames, {} batches, {} events; {} planner turns, {} finished by the offline fallback",
            if record.ended { "ended" } else { "open" },
            record.catalog_id,
            record.model_id,
            or_default(&record.planner),
            or_default(&record.vision_provider),
            validating_tool(&record.validate_tool),
            record.frames_accepted,
            record.batches,
            events.len(),
            record.planner_turns,
            record.fallback_turns
        );
    }
    for event in &events {
        print_audited(event.sequence, event.kind.as_str(), &event.payload, json);
    }
    Ok(())
}

fn or_default(name: &str) -> &str {
    if name.is_empty() { "(server default)" } else { name }
}

/// A session's validating tool as stored (empty: the default one).
fn validating_tool(name: &str) -> &str {
    if name.is_empty() {
        interarec_core::tools::pipeline::VALIDATE_TOOL
    } else {
        name
    }
}

fn print_session(s: &SessionInfo) {
    println!("session:   {}{}", s.session_id, if s.ended { " (ended)" } else { "" });
    if !s.catalog_id.is_empty() {
        println!("catalog:   {}", s.catalog_id);
    }
    println!(
        "frames:    {} accepted, {} rejected, last sequence {}",
        s.frames_accepted, s.frames_rejected, s.last_sequence
    );
    if let Some(o) = &s.options {
        println!(
            "batching:  {} frames or {} ms; hash at {} px, static within {} bits",
            o.batch_size,
            interarec_client::convert::std_duration(o.batch_interval.as_ref()).as_millis(),
            o.max_side,
            o.static_threshold_bits
        );
    }
    println!("batches:   {}; events: {}", s.batches, s.events);
    if !s.choice_model_id.is_empty() {
        println!(
            "planning:  {} planner, validated by {}; {} turn(s), {} finished by the offline fallback{}",
            or_default(s.planner().name()),
            validating_tool(&s.validate_tool),
            s.planner_turns,
            s.fallback_turns,
            if s.planner_tools.is_empty() {
                String::new()
            } else {
                format!("; tools offered: {}", s.planner_tools.join(", "))
            }
        );
    }
}
