//! `just bench-summarize`: the offline vision engine on the recorded sessions.
//!
//! For each OCR engine (PP-OCRv6 small and tiny over tract, and Tesseract) and each recorded
//! session: OCR every new frame on one thread twice, timed, as a whole and against the frame
//! before it (`read_after`, what the server does with a stream); a frame repeating an earlier
//! one byte for byte is not read again (the server caches pages by content). Compare the words
//! with the DOM text saved beside the frame (recall and precision over word multisets),
//! summarise the session's frames (as read against their predecessors) as one batch with the
//! demo catalog's vocabulary, and check the summary against the intent facts in the session's
//! manifest (`expect`). Prints a table per category and per engine, then one JSON object as the
//! last line.
//!
//! Usage: `bench summarize [--engines paddle,paddle-tiny,tesseract] [--sessions DIR] [--reuse-ocr DIR]`;
//! `--reuse-ocr` keeps OCR pages in DIR and reuses them (for working on the reader: OCR timing
//! then covers only the frames read afresh).

use image::GrayImage;
use interarec_capture_driver::folder;
use interarec_core::catalog::{CatalogFormat, parse_catalog};
use interarec_demo_shop::catalog::{Domain, catalog_csv, generate};
use interarec_summary::{Summary, parse_summary};
use interarec_vision::ocr::{OcrChoice, OcrEngine, OcrPage, PreviousFrame, read_after};
use interarec_vision::{ItemIndex, SeenFrame, Vocabulary, summarize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A price bound is recovered when within this share of the stated one.
const PRICE_TOLERANCE: f64 = 0.10;

/// Runs the benchmark (arguments after the benchmark's name).
pub fn main() -> anyhow::Result<()> {
    let mut engines = vec!["paddle".to_owned(), "paddle-tiny".to_owned(), "tesseract".to_owned()];
    let mut sessions_dir = PathBuf::from("fixtures/sessions");
    let mut reuse: Option<PathBuf> = None;
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--engines" => engines = args.next().unwrap_or_default().split(',').map(str::to_owned).collect(),
            "--sessions" => sessions_dir = PathBuf::from(args.next().unwrap_or_default()),
            "--reuse-ocr" => reuse = args.next().map(PathBuf::from),
            other => anyhow::bail!(
                "unknown argument `{other}`; use --engines paddle,paddle-tiny,tesseract, --sessions DIR and --reuse-ocr DIR"
            ),
        }
    }
    let sessions = load_sessions(&sessions_dir)?;
    let vocabularies = vocabularies()?;
    let mut figures = serde_json::Map::new();
    let mut tables = Vec::new();
    for engine_name in &engines {
        let engine = match OcrChoice::parse(engine_name).map_err(anyhow::Error::msg)?.load() {
            Ok(engine) => engine,
            Err(e) => {
                eprintln!("skipping engine `{engine_name}`: {e}");
                figures.insert(engine_name.clone(), json!({ "skipped": e.to_string() }));
                continue;
            }
        };
        let (table, engine_figures) = run_engine(engine.as_ref(), &sessions, &vocabularies, reuse.as_deref())?;
        tables.push(table);
        figures.insert(engine.name().to_owned(), engine_figures);
    }
    println!();
    for table in tables {
        println!("{table}");
    }
    println!("{}", Value::Object(figures));
    Ok(())
}

struct Session {
    name: String,
    domain: Domain,
    expect: BTreeMap<String, Value>,
    frames: Vec<(Vec<u8>, String, String)>,
}

fn load_sessions(dir: &Path) -> anyhow::Result<Vec<Session>> {
    let mut sessions = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries.into_iter().filter(|p| p.join("manifest.json").is_file()) {
        let (manifest, recorded) = folder::read(&path).map_err(anyhow::Error::msg)?;
        let domain = Domain::ALL
            .into_iter()
            .find(|d| {
                manifest
                    .frames
                    .first()
                    .is_some_and(|f| f.url.contains(&format!("/{}", d.slug())))
            })
            .ok_or_else(|| anyhow::anyhow!("{}: no demo shop in its URLs", path.display()))?;
        let frames = recorded
            .into_iter()
            .zip(&manifest.frames)
            .map(|(frame, entry)| (frame.image, frame.dom_text.unwrap_or_default(), entry.url.clone()))
            .collect();
        sessions.push(Session {
            name: manifest.name.clone(),
            domain,
            expect: manifest.expect.clone(),
            frames,
        });
    }
    anyhow::ensure!(!sessions.is_empty(), "no recorded sessions under {}", dir.display());
    Ok(sessions)
}

/// Each demo shop's catalog words and items, as the server reads them for a session.
fn vocabularies() -> anyhow::Result<BTreeMap<&'static str, (Vocabulary, ItemIndex)>> {
    let mut out = BTreeMap::new();
    for domain in Domain::ALL {
        let csv = catalog_csv(domain, &generate(domain, 42));
        let parsed = parse_catalog(CatalogFormat::Csv, csv.as_bytes(), &BTreeMap::new(), true)?;
        let vocabulary = Vocabulary::from_schema(&parsed.attributes);
        let items = ItemIndex::new(&parsed.items, &vocabulary.attributes());
        out.insert(domain.slug(), (vocabulary, items));
    }
    Ok(out)
}

/// Lowercase words with surrounding punctuation removed. Separator glyphs (`·`, `|`) and a
/// currency sign split words too, on both sides of the comparison: `green·Zara` and
/// `$83.99$119.99` are two words each however the spaces around them were rendered or read.
fn words(text: &str) -> Vec<String> {
    text.replace(['·', '|', '•'], " ")
        .replace('$', " $")
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Matches of `found` in `truth` as multisets.
fn multiset_matches(found: &[String], truth: &[String]) -> usize {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for w in truth {
        *counts.entry(w).or_default() += 1;
    }
    found
        .iter()
        .filter(|w| match counts.get_mut(w.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count()
}

/// Facts recovered per category: (category, fact, recovered, detail).
fn check(expect: &BTreeMap<String, Value>, summary: &Summary) -> Vec<(&'static str, String, bool, String)> {
    let mut out = Vec::new();
    let specs = summary.product_specifications.clone().unwrap_or(Value::Null);
    let values_of = |attribute: &str| -> Vec<String> {
        let value = if attribute == "brand" {
            summary.brand_preference.clone().unwrap_or(Value::Null)
        } else {
            specs[attribute].clone()
        };
        match value {
            Value::String(s) => vec![s.to_lowercase()],
            Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_lowercase)).collect(),
            _ => Vec::new(),
        }
    };
    for (fact, expected) in expect {
        let (category, recovered, detail) = match fact.as_str() {
            "lowest_price" | "highest_price" => {
                let want = expected.as_f64().unwrap_or(f64::NAN);
                let got = if fact == "lowest_price" {
                    summary.lowest_price
                } else {
                    summary.highest_price
                };
                let ok = got.is_some_and(|g| (g - want).abs() <= PRICE_TOLERANCE * want);
                ("price range", ok, format!("{got:?} vs {want}"))
            }
            "bedrooms_min" | "bathrooms_min" => {
                let attribute = fact.trim_end_matches("_min");
                let want = expected.as_f64().unwrap_or(f64::NAN);
                let got = specs[attribute]["min"].as_f64();
                (
                    "domain specifications",
                    got.is_some_and(|g| g >= want),
                    format!("{got:?} vs ≥ {want}"),
                )
            }
            "on_sale" => {
                let promotions = summary
                    .promotions
                    .clone()
                    .unwrap_or(Value::Null)
                    .to_string()
                    .to_lowercase();
                (
                    "domain specifications",
                    promotions.contains("on sale") || promotions.contains("% off"),
                    "promotions".into(),
                )
            }
            attribute => {
                let mut want: Vec<String> = expected
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_lowercase)).collect())
                    .unwrap_or_default();
                want.sort();
                let mut got = values_of(attribute);
                got.sort();
                let category = match attribute {
                    "colour" => "colour",
                    "brand" => "brand",
                    "category" => "category",
                    _ => "domain specifications",
                };
                (category, got == want, format!("{got:?} vs {want:?}"))
            }
        };
        out.push((category, fact.clone(), recovered, detail));
    }
    out
}

fn run_engine(
    engine: &dyn OcrEngine,
    sessions: &[Session],
    vocabularies: &BTreeMap<&'static str, (Vocabulary, ItemIndex)>,
    reuse: Option<&Path>,
) -> anyhow::Result<(String, Value)> {
    // Warm-up: the first call plans the networks.
    engine.read_bytes(&sessions[0].frames[0].0)?;
    let mut full = ReadFigures::default();
    let mut incremental = ReadFigures::default();
    let mut summary_millis = Vec::new();
    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    // A frame whose bytes were read before is not read again (the server keys its OCR cache by
    // content): only new frames are read and timed.
    let mut read_before: std::collections::HashMap<&[u8], (OcrPage, OcrPage)> = std::collections::HashMap::new();
    let mut repeats = 0;
    for session in sessions {
        let mut seen: Vec<SeenFrame> = Vec::new();
        let mut previous: Option<(GrayImage, OcrPage)> = None;
        for (index, (bytes, dom, url)) in session.frames.iter().enumerate() {
            let image = image::load_from_memory(bytes)?;
            let kept = |kind: &str| {
                reuse.map(|dir| {
                    use std::hash::{Hash, Hasher};
                    let mut hasher = std::collections::hash_map::DefaultHasher::new();
                    bytes.hash(&mut hasher);
                    if kind == "incremental" {
                        previous.as_ref().map(|(_, page)| page.text()).hash(&mut hasher);
                    }
                    dir.join(format!("{}-{kind}-{:016x}.json", engine.name(), hasher.finish()))
                })
            };
            // The whole frame read, then the frame read against the one before it (what the
            // server does with a stream): both timed, both compared with the DOM text.
            let (whole, page) = match read_before.get(bytes.as_slice()) {
                Some(pages) => {
                    repeats += 1;
                    full.last_seconds = 0.0;
                    incremental.last_seconds = 0.0;
                    pages.clone()
                }
                None => {
                    let whole = read_timed(kept("full"), &mut full, || engine.read(&image))?;
                    let page = read_timed(kept("incremental"), &mut incremental, || {
                        read_after(
                            engine,
                            &image,
                            previous
                                .as_ref()
                                .map(|(grey, page)| PreviousFrame { image: grey, page }),
                        )
                    })?;
                    read_before.insert(bytes, (whole.clone(), page.clone()));
                    (whole, page)
                }
            };
            eprintln!(
                "{}: {} frame {}/{}: {} lines; incremental {} lines ({} reused) in {:.2} s, full read {:.2} s",
                engine.name(),
                session.name,
                index + 1,
                session.frames.len(),
                whole.lines.len(),
                page.lines.len(),
                page.reused_lines,
                incremental.last_seconds,
                full.last_seconds,
            );
            if std::env::var_os("BENCH_VERBOSE").is_some() {
                let reading = interarec_vision::reading::read_page(&page, &vocabularies[session.domain.slug()].0);
                eprintln!(
                    "  product page: {}, promotions {:?}",
                    reading.product_page, reading.promotions
                );
                eprintln!("  signals {:?}", reading.signals);
                for card in &reading.cards {
                    eprintln!(
                        "  card {:?} {} {:?} {:?} {:?} related={}",
                        card.title, card.price, card.was_price, card.values, card.numbers, card.related
                    );
                }
            }
            let truth = words(dom);
            full.compare(&words(&whole.text()), &truth, false);
            incremental.compare(
                &words(&page.text()),
                &truth,
                std::env::var_os("BENCH_VERBOSE").is_some(),
            );
            incremental.reused_lines += page.reused_lines as usize;
            incremental.lines += page.lines.len();
            previous = Some((image.to_luma8(), page.clone()));
            seen.push(SeenFrame {
                page,
                image: Some(image.to_rgb8()),
                url: Some(url.clone()),
            });
        }
        let started = Instant::now();
        let (vocabulary, items) = &vocabularies[session.domain.slug()];
        let offline = summarize(&seen, vocabulary, items);
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            eprintln!(
                "{}: {} cards, {} recognised; evidence {:?}",
                session.name, offline.cards_seen, offline.cards_recognised, offline.evidence
            );
        }
        summary_millis.push(started.elapsed().as_secs_f64() * 1e3);
        let parsed = parse_summary(&offline.json.to_string())?;
        for (category, fact, recovered, detail) in check(&session.expect, &parsed.summary) {
            let entry = per_category.entry(category).or_default();
            entry.1 += 1;
            if recovered {
                entry.0 += 1;
            } else {
                misses.push(format!("{}: {fact}: {detail}", session.name));
            }
        }
    }
    let (recovered, total) = per_category.values().fold((0, 0), |(r, t), (a, b)| (r + a, t + b));
    let summary_ms = summary_millis.iter().sum::<f64>() / summary_millis.len().max(1) as f64;

    let mut table = format!(
        "### {} ({} sessions, {} frames of which {repeats} repeat an earlier one byte for byte, 1280x800, one thread)\n\n| category | facts recovered | share |\n|---|---:|---:|\n",
        engine.name(),
        sessions.len(),
        sessions.iter().map(|s| s.frames.len()).sum::<usize>()
    );
    for (category, (ok, n)) in &per_category {
        table += &format!("| {category} | {ok}/{n} | {:.0}% |\n", 100.0 * *ok as f64 / *n as f64);
    }
    let (f, i) = (full.figures(), incremental.figures());
    table += &format!(
        "| **all intent facts** | **{recovered}/{total}** | **{:.0}%** |\n\n| OCR | whole frame | against the previous frame | \n|---|---:|---:|\n| word recall vs DOM text | {:.1}% | {:.1}% |\n| word precision vs DOM text | {:.1}% | {:.1}% |\n| seconds per frame, p50 | {:.2} | {:.2} |\n| seconds per frame, mean | {:.2} | {:.2} |\n| seconds per frame, max | {:.2} | {:.2} |\n| lines reused from the previous frame | | {:.0}% |\n| summary per batch (after OCR), ms | {summary_ms:.1} | |\n",
        100.0 * recovered as f64 / total.max(1) as f64,
        100.0 * f["word_recall"].as_f64().unwrap_or(0.0),
        100.0 * i["word_recall"].as_f64().unwrap_or(0.0),
        100.0 * f["word_precision"].as_f64().unwrap_or(0.0),
        100.0 * i["word_precision"].as_f64().unwrap_or(0.0),
        f["seconds_p50"].as_f64().unwrap_or(0.0),
        i["seconds_p50"].as_f64().unwrap_or(0.0),
        f["seconds_mean"].as_f64().unwrap_or(0.0),
        i["seconds_mean"].as_f64().unwrap_or(0.0),
        f["seconds_max"].as_f64().unwrap_or(0.0),
        i["seconds_max"].as_f64().unwrap_or(0.0),
        100.0 * incremental.reused_lines as f64 / incremental.lines.max(1) as f64,
    );
    if !misses.is_empty() {
        table += "\nMissed facts:\n";
        for miss in &misses {
            table += &format!("- {miss}\n");
        }
    }
    let recall = i["word_recall"].as_f64().unwrap_or(0.0);
    let p50 = i["seconds_p50"].as_f64();
    let figures = json!({
        "frames": sessions.iter().map(|s| s.frames.len()).sum::<usize>(),
        "repeated_frames": repeats,
        "facts": total,
        "facts_recovered": recovered,
        "intent_recovery": recovered as f64 / total.max(1) as f64,
        "whole_frame": f,
        "against_previous_frame": i,
        "summary_ms_per_batch": summary_ms,
        "goals_met": {
            "intent_recovery_95": recovered as f64 >= 0.95 * total as f64,
            "ocr_recall_95": recall >= 0.95,
            // Only meaningful when frames were read afresh (not with --reuse-ocr).
            "ocr_0_3_s_per_frame": p50.map(|p50| p50 <= 0.3),
        },
    });
    Ok((table, figures))
}

/// OCR figures of one way of reading: word matches against the DOM text and read times.
#[derive(Default)]
struct ReadFigures {
    seconds: Vec<f64>,
    last_seconds: f64,
    matched_truth: usize,
    truth_words: usize,
    matched_found: usize,
    found_words: usize,
    reused_lines: usize,
    lines: usize,
}

impl ReadFigures {
    fn compare(&mut self, found: &[String], truth: &[String], show_missed: bool) {
        if show_missed {
            let mut left: BTreeMap<&str, usize> = BTreeMap::new();
            for w in found {
                *left.entry(w).or_default() += 1;
            }
            let missed: Vec<&String> = truth
                .iter()
                .filter(|w| match left.get_mut(w.as_str()) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        false
                    }
                    _ => true,
                })
                .collect();
            eprintln!("  missed words: {missed:?}");
        }
        self.matched_truth += multiset_matches(truth, found);
        self.truth_words += truth.len();
        self.matched_found += multiset_matches(found, truth);
        self.found_words += found.len();
    }

    fn figures(&self) -> Value {
        let mut seconds = self.seconds.clone();
        seconds.sort_by(f64::total_cmp);
        let read_afresh = !seconds.is_empty();
        json!({
            "frames_read_afresh": seconds.len(),
            "word_recall": self.matched_truth as f64 / self.truth_words.max(1) as f64,
            "word_precision": self.matched_found as f64 / self.found_words.max(1) as f64,
            "dom_words": self.truth_words,
            "ocr_words": self.found_words,
            "seconds_p50": read_afresh.then(|| seconds[seconds.len() / 2]),
            "seconds_mean": read_afresh.then(|| seconds.iter().sum::<f64>() / seconds.len() as f64),
            "seconds_max": seconds.last(),
            "reused_line_share": (self.lines > 0).then(|| self.reused_lines as f64 / self.lines as f64),
        })
    }
}

/// Reads a page (timed into `figures`), or takes it from `kept` when a previous run left it.
fn read_timed(
    kept: Option<PathBuf>,
    figures: &mut ReadFigures,
    read: impl FnOnce() -> Result<OcrPage, interarec_vision::ocr::OcrError>,
) -> anyhow::Result<OcrPage> {
    if let Some(json) = kept.as_ref().and_then(|p| std::fs::read(p).ok()) {
        figures.last_seconds = 0.0;
        return Ok(serde_json::from_slice(&json)?);
    }
    let started = Instant::now();
    let page = read()?;
    figures.last_seconds = started.elapsed().as_secs_f64();
    figures.seconds.push(figures.last_seconds);
    if let Some(path) = &kept {
        std::fs::create_dir_all(path.parent().expect("has a folder"))?;
        std::fs::write(path, serde_json::to_vec(&page)?)?;
    }
    Ok(page)
}
