//! `interarec demo`: InteraRec end to end on offline defaults. A throw-away server on a free
//! loopback port (temporary data dir, the offline vision engine), the pipeline's tools
//! registered (`capture`, `summarize`, `validate`, `assortment`), the three demo catalogs
//! imported with choice models fitted from simulated shopping, then every recorded session
//! replayed through `Browse` into a recommending session; per batch it prints the summary, the
//! constraints (and what changed), the validation, the recommended products with prices and
//! purchase probabilities, the expected revenue and the answer.

use anyhow::Context;
use clap::Args;
use interarec_client::{
    CatalogFormat, Client, ConnectOptions, CreateSessionRequest, FitHeader, Frame, ImportHeader, SessionOptions,
    ToolLimits, TransactionFormat, browse_response,
};
use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::{Domain, catalog_csv_pictured, generate, transactions_csv};
use interarec_llm::Provider;
use interarec_server::config::ServerConfig;
use interarec_server::config::VisionConfig;
use interarec_vision::ocr::OcrChoice;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Recorded sessions to replay (folders with a manifest.json).
    #[arg(long, default_value = "fixtures/sessions")]
    sessions: PathBuf,
    /// Folder of the built plugins (`just plugins`).
    #[arg(long, default_value = "target/wasm32-wasip2/plugin")]
    plugins: PathBuf,
    /// OCR engine: `tesseract` when it is installed (the fast one), else `paddle`.
    #[arg(long)]
    ocr: Option<String>,
    /// Frames per batch.
    #[arg(long, default_value_t = 10)]
    batch_size: u32,
    /// Products to recommend.
    #[arg(long, default_value_t = 4)]
    capacity: u32,
    /// Keep the server's data in this (new or empty) folder, to audit the sessions afterwards
    /// with `interarec session replay --from-store SESSION --data-dir DIR`; default: a temporary
    /// folder, removed at the end.
    #[arg(long)]
    keep_data: Option<PathBuf>,
    /// Serve the live session console while the sessions replay, and keep it (and the server)
    /// open afterwards until Ctrl-C; optionally on ADDR (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
    console: Option<SocketAddr>,
}

fn tesseract_installed() -> bool {
    std::process::Command::new("tesseract")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let ocr_name = args
        .ocr
        .clone()
        .unwrap_or_else(|| if tesseract_installed() { "tesseract" } else { "paddle" }.into());
    let ocr = OcrChoice::parse(&ocr_name).map_err(anyhow::Error::msg)?;
    ocr.load()
        .with_context(|| format!("the {ocr_name} OCR engine is not ready"))?;
    let mut recordings: Vec<PathBuf> = std::fs::read_dir(&args.sessions)
        .with_context(|| format!("cannot read the recorded sessions in {}", args.sessions.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    recordings.sort();
    anyhow::ensure!(
        !recordings.is_empty(),
        "no recorded sessions in {}",
        args.sessions.display()
    );

    let temporary = tempfile::tempdir().context("cannot create a temporary data dir")?;
    let data_dir = match &args.keep_data {
        Some(dir) => {
            if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
                anyhow::bail!("--keep-data {} is not an empty folder; name a new one", dir.display());
            }
            dir.clone()
        }
        None => temporary.path().to_owned(),
    };
    let mut config = ServerConfig::local(&data_dir);
    config.listen = "127.0.0.1:0".parse()?;
    // Tesseract keeps up with arriving frames on one thread. PP-OCR takes seconds per frame:
    // reading only the frames a batch keeps (the capture tool drops about half as duplicates),
    // on every core, when the batch is summarised, is what keeps the demo within two minutes.
    let ocr_on_arrival = matches!(ocr, OcrChoice::Tesseract);
    config.vision = VisionConfig {
        provider: Provider::Offline,
        ocr,
        ocr_on_arrival,
        ..VisionConfig::default()
    };
    println!(
        "[1/4] starting a server (offline vision engine, OCR: {ocr_name}) with data in {}",
        data_dir.display()
    );
    config.console_listen = args.console;
    // The console shows product pictures from the demo shop, served here for as long as it is.
    let pictures = match args.console {
        Some(_) => {
            let shop = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("cannot serve the demo shop's pictures")?;
            let base = format!("http://{}", shop.local_addr()?);
            tokio::spawn(interarec_demo_shop::serve(shop, 42, std::future::pending()));
            base
        }
        None => String::new(),
    };
    let server = interarec_server::start(config).await?;
    if let Some(console) = server.console_addr {
        println!(
            "      the console: http://localhost:{}/ (sessions appear as they replay)",
            console.port()
        );
    }
    let outcome = async {
        let mut client = Client::connect(&server.url(), ConnectOptions::default()).await?;
        println!("[2/4] registering the pipeline's tools");
        for (tool, grants) in [
            ("capture", &["frames", "kv"][..]),
            ("summarize", &["models"][..]),
            ("validate", &["catalog"][..]),
            ("assortment", &["catalog"][..]),
            // The real-estate domain plugin: registered like any tool, named by the homes
            // sessions as their validating tool.
            ("real-estate", &["catalog"][..]),
        ] {
            // Cargo names a library's artifact with `_` where its package has `-`.
            let path = args.plugins.join(format!("{}.wasm", tool.replace('-', "_")));
            let component = std::fs::read(&path)
                .with_context(|| format!("cannot read {} (build the plugins with `just plugins`)", path.display()))?;
            let grants = grants
                .iter()
                .map(|g| super::wire_grant(g))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let limits = ToolLimits {
                timeout: Some(interarec_client::convert::duration(std::time::Duration::from_secs(60))),
                memory_bytes: 256 << 20,
                fuel: 0,
            };
            client.register_tool(component, grants, limits, false).await?;
            println!("      {tool}");
        }
        println!("[3/4] importing the demo catalogs and fitting their choice models");
        for domain in Domain::ALL {
            let products = generate(domain, 42);
            let catalog = client
                .import_catalog(
                    ImportHeader {
                        catalog_id: domain.slug().into(),
                        name: domain.shop_name().into(),
                        format: CatalogFormat::Csv as i32,
                        strict: true,
                        replace: false,
                        attribute_overrides_json: String::new(),
                        total_bytes: 0,
                    },
                    catalog_csv_pictured(domain, &products, &pictures).as_bytes(),
                    64 * 1024,
                )
                .await?;
            let transactions = transactions_csv(domain, &products, 7, 4_000);
            let model = client
                .fit_choice_model(
                    FitHeader {
                        model_id: format!("{}-mnl", domain.slug()),
                        catalog_id: domain.slug().into(),
                        format: TransactionFormat::TransactionsCsv as i32,
                        min_segment_choices: 100,
                        ..FitHeader::default()
                    },
                    transactions.as_bytes(),
                    64 * 1024,
                    |_| {},
                )
                .await?;
            println!(
                "      {}: {} products; model {} fitted on 4,000 simulated purchases",
                domain.slug(),
                catalog.catalog.map(|c| c.item_count).unwrap_or(0),
                model.model_id
            );
        }
        println!("[4/4] replaying {} recorded sessions", recordings.len());
        for recording in &recordings {
            replay(&mut client, recording, &args).await?;
        }
        if let Some(console) = server.console_addr {
            println!(
                "the console stays open on the demo's sessions at http://localhost:{}/ ; press Ctrl-C to stop",
                console.port()
            );
            tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        }
        anyhow::Ok(())
    }
    .await;
    server.stop().await?;
    outcome?;
    println!("done in {:.0} s: server stopped", started.elapsed().as_secs_f64());
    if let Some(dir) = &args.keep_data {
        println!(
            "the data is kept in {0}; audit a session with `interarec session replay --from-store homes-oakland-condo --data-dir {0}`",
            dir.display()
        );
    }
    Ok(())
}

async fn replay(client: &mut Client, dir: &Path, args: &DemoArgs) -> anyhow::Result<()> {
    let (manifest, frames) = interarec_capture_driver::folder::read(dir).map_err(anyhow::Error::msg)?;
    let domain = Domain::ALL
        .into_iter()
        .find(|d| {
            manifest
                .frames
                .first()
                .is_some_and(|f| f.url.contains(&format!("/{}", d.slug())))
        })
        .with_context(|| format!("{}: its URLs name no demo shop", dir.display()))?;
    println!();
    println!(
        "== {} ({}): \"{}\", {} frames",
        manifest.name,
        domain.slug(),
        manifest.intent,
        frames.len()
    );
    let options = SessionOptions {
        batch_size: args.batch_size,
        batch_interval: Some(interarec_client::convert::duration(std::time::Duration::from_millis(
            600_000,
        ))),
        max_side: 256,
        static_threshold_bits: 4,
    };
    let validate_tool = match domain {
        Domain::RealEstate => "real-estate",
        Domain::Fashion | Domain::Footwear => "validate",
    };
    client
        .create_session_with(CreateSessionRequest {
            session_id: manifest.name.clone(),
            catalog_id: domain.slug().into(),
            options: Some(options),
            choice_model_id: format!("{}-mnl", domain.slug()),
            capacity: args.capacity,
            validate_tool: validate_tool.into(),
            ..CreateSessionRequest::default()
        })
        .await?;
    let (sender, mut responses) = client.browse(&manifest.name).await?;
    for frame in &frames {
        sender
            .send(Frame {
                sequence: frame.entry.sequence,
                captured_at: Some(interarec_client::convert::timestamp(frame.entry.captured_at_unix_ms)),
                url: frame.entry.url.clone(),
                viewport_width: manifest.viewport_width,
                viewport_height: manifest.viewport_height,
                image: frame.image.clone(),
                dom_text: String::new(),
            })
            .await
            .context("the server closed the stream")?;
    }
    drop(sender);
    let mut acknowledged = 0;
    let mut ended = false;
    while !ended {
        let message = tokio::time::timeout(Duration::from_secs(300), responses.message())
            .await
            .context("no answer from the server within 5 minutes")??
            .context("the stream ended early")?;
        match message.part {
            Some(browse_response::Part::Frame(_)) => {
                acknowledged += 1;
                if acknowledged == frames.len() {
                    println!("   {acknowledged} frames acknowledged; batches close as they fill, the last at the end");
                    client.end_session(&manifest.name).await?;
                }
            }
            Some(browse_response::Part::Event(event)) => {
                let payload: Value = event.payload_value();
                // A kind this build does not know (a newer server) is not printed.
                if let Some(kind) = EventKind::parse(event.kind_name()) {
                    ended = kind == EventKind::SessionEnded;
                    super::events::print_event(kind, &payload, false);
                }
            }
            None => {}
        }
    }
    Ok(())
}
