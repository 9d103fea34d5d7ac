//! The whole pipeline set up the way the end-to-end tests and benchmarks need it: the pipeline's
//! tools registered with their grants, a demo shop's catalog imported with its choice model fitted
//! from simulated purchases, and a recorded session replayed through `Browse` until it ends.

use interarec_capture_driver::folder::{self, Manifest};
use interarec_client::{
    CatalogFormat, Client, FitHeader, Frame, ImportHeader, SessionEvent, TransactionFormat, browse_response,
};
use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::{Domain, catalog_csv_pictured, generate, transactions_csv};
use std::path::Path;
use std::time::Duration;

/// Registers pipeline tools by name with the grants each needs (`capture`: frames and kv;
/// `summarize`: models; `validate`, `assortment`: catalog), 60 s and 256 MiB per call.
pub async fn register_tools(client: &mut Client, tools: &[&str]) -> anyhow::Result<()> {
    for tool in tools {
        let grants = match *tool {
            "capture" => vec![crate::grant("frames"), crate::grant("kv")],
            "summarize" => vec![crate::grant("models")],
            _ => vec![crate::grant("catalog")],
        };
        client
            // Cargo names a library's artifact with `_` where its package has `-`.
            .register_tool(
                crate::plugin(&tool.replace('-', "_")),
                grants,
                crate::limits(60_000, 256),
                false,
            )
            .await?;
    }
    Ok(())
}

/// The tools a recommending session runs: de-duplication, summary, validation, assortment.
pub const RECOMMENDING_TOOLS: &[&str] = &["capture", "summarize", "validate", "assortment"];

/// Registers `tools` (as [`register_tools`]) and imports a demo shop with its fitted model.
pub async fn prepare(client: &mut Client, domain: Domain, tools: &[&str]) -> anyhow::Result<()> {
    register_tools(client, tools).await?;
    import_demo_shop(client, domain, true).await
}

/// The id of a demo shop's fitted model (see [`import_demo_shop`]).
pub fn demo_model_id(domain: Domain) -> String {
    format!("{}-mnl", domain.slug())
}

/// Imports a demo shop's catalog (seed 42) as catalog `<slug>` and, when `fit` is set, fits
/// [`demo_model_id`] from 4,000 simulated purchases.
pub async fn import_demo_shop(client: &mut Client, domain: Domain, fit: bool) -> anyhow::Result<()> {
    import_demo_shop_pictured(client, domain, fit, "").await
}

/// [`import_demo_shop`] with picture URLs on the demo shop served at `image_base`.
pub async fn import_demo_shop_pictured(
    client: &mut Client,
    domain: Domain,
    fit: bool,
    image_base: &str,
) -> anyhow::Result<()> {
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
                total_bytes: 0,
            },
            catalog_csv_pictured(domain, &products, image_base).as_bytes(),
            64 * 1024,
        )
        .await?;
    if fit {
        client
            .fit_choice_model(
                FitHeader {
                    model_id: demo_model_id(domain),
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
    Ok(())
}

/// A recorded session folder as frames to send (without the DOM text, which the pipeline
/// never reads), with its manifest and the demo shop its URLs belong to.
pub fn recording(dir: &Path) -> anyhow::Result<(Manifest, Domain, Vec<Frame>)> {
    let (manifest, recorded) = folder::read(dir).map_err(anyhow::Error::msg)?;
    let domain = Domain::ALL
        .into_iter()
        .find(|d| {
            manifest
                .frames
                .first()
                .is_some_and(|f| f.url.contains(&format!("/{}", d.slug())))
        })
        .ok_or_else(|| anyhow::anyhow!("{}: no demo shop in its URLs", dir.display()))?;
    let frames = recorded
        .into_iter()
        .map(|frame| Frame {
            sequence: frame.entry.sequence,
            captured_at: Some(interarec_client::convert::timestamp(frame.entry.captured_at_unix_ms)),
            url: frame.entry.url,
            viewport_width: manifest.viewport_width,
            viewport_height: manifest.viewport_height,
            image: frame.image,
            dom_text: String::new(),
        })
        .collect();
    Ok((manifest, domain, frames))
}

/// A committed recording (`fixtures/sessions/NAME`), as [`recording`] reads it.
pub fn fixture_recording(name: &str) -> anyhow::Result<(Manifest, Domain, Vec<Frame>)> {
    recording(&fixture_dir(name))
}

/// Sends `frames` into an existing session through `Browse`, ends the session once every frame
/// is acknowledged, and returns every event up to `session-ended`. A rejected frame is an error.
pub async fn replay(client: &mut Client, session: &str, frames: Vec<Frame>) -> anyhow::Result<Vec<SessionEvent>> {
    let total = frames.len();
    let (sender, mut responses) = client.browse(session).await?;
    for frame in frames {
        sender.send(frame).await?;
    }
    drop(sender);
    let (mut acknowledged, mut events) = (0usize, Vec::new());
    loop {
        let message = tokio::time::timeout(Duration::from_secs(300), responses.message())
            .await
            .map_err(|_| anyhow::anyhow!("no answer from the server within 5 minutes"))??
            .ok_or_else(|| anyhow::anyhow!("the stream ended before the session did"))?;
        match message.part {
            Some(browse_response::Part::Frame(result)) => {
                anyhow::ensure!(
                    result.accepted,
                    "frame {} was rejected: {}",
                    result.sequence,
                    result.reason
                );
                acknowledged += 1;
                if acknowledged == total {
                    client.end_session(session).await?;
                }
            }
            Some(browse_response::Part::Event(event)) => {
                let ended = event.kind_name() == EventKind::SessionEnded.as_str();
                events.push(event);
                if ended {
                    return Ok(events);
                }
            }
            None => {}
        }
    }
}

/// The tool that validates a demo shop's constraints: the `real-estate` domain plugin for
/// homes, the generic `validate` otherwise.
pub fn validating_tool(domain: Domain) -> &'static str {
    if domain == Domain::RealEstate {
        "real-estate"
    } else {
        "validate"
    }
}

/// A session that recommends from a demo shop the way the tests replay recordings: batches of
/// `batch_size` closed by size (the interval is 10 minutes), frames hashed at 256 px, four
/// products, the named planner and validating tool (empty: the server's defaults).
pub fn recommending_session(
    id: &str,
    domain: Domain,
    batch_size: u32,
    planner: &str,
    validate_tool: &str,
) -> interarec_client::CreateSessionRequest {
    interarec_client::CreateSessionRequest {
        session_id: id.into(),
        catalog_id: domain.slug().into(),
        options: Some(interarec_client::SessionOptions {
            batch_size,
            batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
                600_000,
            ))),
            max_side: 256,
            static_threshold_bits: 4,
        }),
        choice_model_id: demo_model_id(domain),
        capacity: 4,
        planner: interarec_client::Planner::from_name(planner).unwrap_or_default() as i32,
        validate_tool: validate_tool.into(),
        ..interarec_client::CreateSessionRequest::default()
    }
}

/// Creates the session `request` asks for, replays the recording in `dir` into it through
/// `Browse` to the end, and returns every event as (kind, payload).
pub async fn replay_into(
    client: &mut Client,
    request: interarec_client::CreateSessionRequest,
    dir: &Path,
) -> anyhow::Result<Vec<(EventKind, serde_json::Value)>> {
    let id = request.session_id.clone();
    client.create_session_with(request).await?;
    let (_, _, frames) = recording(dir)?;
    Ok(replay(client, &id, frames)
        .await?
        .into_iter()
        .map(|event| {
            let payload = event.payload_value();
            // Every kind the server sends is one of the protocol's.
            let kind = event.kind_name().parse::<EventKind>().unwrap_or_else(|e| panic!("{e}"));
            (kind, payload)
        })
        .collect())
}

/// The recorded session folders (those with a manifest) in `dir`, by name.
pub fn recordings_in(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// Where a committed recording (`fixtures/sessions/NAME`) lives.
pub fn fixture_dir(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/sessions")
        .join(name)
}

/// Readies a server for recorded recommending sessions (the crash loop, the replica runs): the
/// pipeline's tools and `real-estate` registered, every demo shop imported with its model
/// fitted; returns the recorded session folders under `fixtures/sessions`.
pub async fn prepare_for_recordings(client: &mut Client) -> anyhow::Result<Vec<std::path::PathBuf>> {
    register_tools(
        client,
        &["capture", "summarize", "validate", "assortment", "real-estate"],
    )
    .await?;
    for domain in Domain::ALL {
        import_demo_shop(client, domain, true).await?;
    }
    recordings_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sessions"))
}
