//! `just bench-recovery`: every recorded session replayed through a real server into a
//! recommending session (offline vision and planner), once per OCR engine (PP-OCR small, PP-OCR
//! tiny, Tesseract): intent facts held by the final merged constraints (category, brand, colour,
//! price bounds within 10%, domain specifications; [`interarec_tests::intent`]) and
//! recommendation precision (share of recommended items that satisfy the intent, checked against
//! the shop's own catalog), per layout family, tuned families apart from held-out ones. Beside
//! the final figure, the facts the planner's last constraint call held before validation (the
//! last batch's reading): what validation relaxed (a domain plugin keeps at least three
//! listings) or merging across batches changed shows as the difference.
//!
//! A recording's family is the first word of its name when that names a family (`storefront-…`),
//! else `classic`. Held-out families ([`HELD_OUT`]) are the ones no reader rule was written for;
//! they are reported on their own line. Prints a table, then one JSON object as the last line.
//!
//! Usage: `bench recovery [--sessions DIR] [--engines paddle,paddle-tiny,tesseract]`;
//! `BENCH_VERBOSE=1` prints each batch's summary and constraints.

use interarec_core::catalog::{CatalogFormat, Item, parse_catalog};
use interarec_core::event::EventKind;
use interarec_demo_shop::catalog::{Domain, catalog_csv, generate};
use interarec_llm::Provider;
use interarec_server::config::VisionConfig;
use interarec_tests::{TestServer, intent, pipeline};
use interarec_vision::ocr::OcrChoice;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layout families kept out of tuning: no reader rule was written while looking at them.
const HELD_OUT: [&str; 2] = ["catalogue", "mapview"];
/// Families a recording name can start with.
const FAMILIES: [&str; 4] = ["storefront", "market", "catalogue", "mapview"];

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let mut sessions_dir = PathBuf::from("fixtures/sessions");
    let mut engines = vec!["paddle".to_owned(), "paddle-tiny".to_owned(), "tesseract".to_owned()];
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sessions" => sessions_dir = PathBuf::from(args.next().unwrap_or_default()),
            "--engines" => engines = args.next().unwrap_or_default().split(',').map(str::to_owned).collect(),
            other => anyhow::bail!("unknown argument `{other}`; use --sessions DIR, --engines A,B"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(&sessions_dir, &engines))
}

/// The layout family of a recording, from its name.
fn family_of(name: &str) -> &'static str {
    FAMILIES
        .into_iter()
        .find(|family| name.starts_with(&format!("{family}-")))
        .unwrap_or("classic")
}

/// Figures of one (engine, family) cell.
#[derive(Default, Clone, Copy)]
struct Tally {
    facts_held: usize,
    facts: usize,
    /// Facts the planner's last call held, before validation relaxed anything: what was read.
    facts_read: usize,
    recommended_ok: usize,
    recommended: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.facts_held += other.facts_held;
        self.facts += other.facts;
        self.facts_read += other.facts_read;
        self.recommended_ok += other.recommended_ok;
        self.recommended += other.recommended;
    }

    fn fact_share(&self) -> f64 {
        self.facts_held as f64 / self.facts.max(1) as f64
    }

    fn precision(&self) -> f64 {
        self.recommended_ok as f64 / self.recommended.max(1) as f64
    }

    /// The table cells: final facts, facts read, precision.
    fn cells(&self) -> String {
        format!(
            "{}/{} ({:.0}%) | {}/{} | {}/{} ({:.0}%)",
            self.facts_held,
            self.facts,
            100.0 * self.fact_share(),
            self.facts_read,
            self.facts,
            self.recommended_ok,
            self.recommended,
            100.0 * self.precision()
        )
    }

    /// The figures in the JSON line.
    fn figures(&self) -> Value {
        json!({"facts": self.facts, "facts_held": self.facts_held, "facts_read": self.facts_read, "fact_share": self.fact_share(), "precision": self.precision()})
    }
}

async fn run(sessions_dir: &Path, engines: &[String]) -> anyhow::Result<()> {
    let recordings = pipeline::recordings_in(sessions_dir)?;
    let mut catalogs: BTreeMap<&str, BTreeMap<String, Item>> = BTreeMap::new();
    for domain in Domain::ALL {
        let csv = catalog_csv(domain, &generate(domain, 42));
        let parsed = parse_catalog(CatalogFormat::Csv, csv.as_bytes(), &BTreeMap::new(), true)?;
        catalogs.insert(
            domain.slug(),
            parsed.items.into_iter().map(|item| (item.id.clone(), item)).collect(),
        );
    }
    println!(
        "| engine | family | sessions | intent facts (final constraints) | read (last planner call) | precision | missed in the final constraints |"
    );
    println!("|---|---|---:|---:|---:|---:|---|");
    let mut figures = serde_json::Map::new();
    for engine in engines {
        let choice = OcrChoice::parse(engine).map_err(anyhow::Error::msg)?;
        let server = TestServer::start_with(move |config| {
            config.vision = VisionConfig {
                provider: Provider::Offline,
                ocr: choice,
                ocr_on_arrival: true,
                ..VisionConfig::default()
            };
        })
        .await;
        let mut client = server.client().await;
        pipeline::register_tools(
            &mut client,
            &["capture", "summarize", "validate", "assortment", "real-estate"],
        )
        .await?;
        for domain in Domain::ALL {
            pipeline::import_demo_shop(&mut client, domain, true).await?;
        }
        let mut by_family: BTreeMap<&str, (usize, Tally, Vec<String>)> = BTreeMap::new();
        for (index, recording) in recordings.iter().enumerate() {
            let name = recording.file_name().unwrap_or_default().to_string_lossy().into_owned();
            eprintln!("[{engine} {}/{}] {name}", index + 1, recordings.len());
            let (manifest, domain, _) = pipeline::recording(recording)?;
            let validate_tool = pipeline::validating_tool(domain);
            let request =
                pipeline::recommending_session(&format!("{name}-{engine}"), domain, 10, "offline", validate_tool);
            let events = pipeline::replay_into(&mut client, request, recording).await?;
            if std::env::var_os("BENCH_VERBOSE").is_some() {
                for (kind, payload) in &events {
                    if matches!(kind.as_str(), "summary" | "constraints") {
                        eprintln!("  {kind}: {}", payload.get("summary").unwrap_or(&payload["arguments"]));
                    }
                }
            }
            let constraints = events
                .iter()
                .rev()
                .find(|(k, _)| *k == EventKind::Constraints)
                .map(|(_, p)| &p["arguments"]);
            let facts = intent::facts(&manifest.expect, constraints);
            // The planner's last call of the constraint function, as it made it.
            let read = events
                .iter()
                .rev()
                .filter(|(k, _)| *k == EventKind::PlannerStep)
                .flat_map(|(_, p)| p["action"]["calls"].as_array().into_iter().flatten().rev())
                .find(|call| call["name"] == interarec_constraints::FUNCTION_NAME)
                .map(|call| &call["arguments"]);
            let facts_read = intent::facts(&manifest.expect, read).iter().filter(|f| f.held).count();
            let items: Vec<String> = events
                .iter()
                .rev()
                .find(|(k, _)| *k == EventKind::Recommendation)
                .and_then(|(_, p)| p["items"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|item| item["id"].as_str().map(str::to_owned))
                .collect();
            let catalog = &catalogs[domain.slug()];
            let tally = Tally {
                facts_held: facts.iter().filter(|f| f.held).count(),
                facts: facts.len(),
                facts_read,
                recommended_ok: items
                    .iter()
                    .filter(|id| {
                        catalog
                            .get(*id)
                            .is_some_and(|item| intent::satisfies(item, &manifest.expect))
                    })
                    .count(),
                recommended: items.len(),
            };
            let entry = by_family.entry(family_of(&name)).or_default();
            entry.0 += 1;
            entry.1.add(tally);
            entry.2.extend(
                facts
                    .iter()
                    .filter(|f| !f.held)
                    .map(|f| format!("{name}: {} ({})", f.field, f.found)),
            );
        }
        let mut tuned = Tally::default();
        let mut held_out = Tally::default();
        let mut engine_figures = serde_json::Map::new();
        for (family, (sessions, tally, missed)) in &by_family {
            println!(
                "| {engine} | {family}{} | {sessions} | {} | {} |",
                if HELD_OUT.contains(family) { " (held out)" } else { "" },
                tally.cells(),
                missed.join("; ")
            );
            if HELD_OUT.contains(family) {
                held_out.add(*tally);
            } else {
                tuned.add(*tally);
            }
            let mut family_figures = tally.figures();
            family_figures["sessions"] = json!(sessions);
            engine_figures.insert((*family).to_owned(), family_figures);
        }
        for (label, tally) in [("tuned", tuned), ("held out", held_out)] {
            println!("| {engine} | **{label}** | | {} | |", tally.cells());
        }
        engine_figures.insert("tuned".into(), tuned.figures());
        let mut held_out_figures = held_out.figures();
        held_out_figures["recorded"] = json!(held_out.facts > 0);
        engine_figures.insert("held_out".into(), held_out_figures);
        figures.insert(engine.clone(), Value::Object(engine_figures));
        drop(client);
        drop(server);
    }
    println!(
        "{}",
        json!({ "sessions": recordings.len(), "held_out_families": HELD_OUT, "engines": figures })
    );
    Ok(())
}
