//! `interarec catalog …`: catalogs through the Rust client.

use anyhow::Context;
use clap::{Args, Subcommand};
use interarec_client::{CatalogFormat, CatalogInfo, IMPORT_CHUNK_BYTES, ImportHeader};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CatalogArgs {
    #[command(flatten)]
    server: super::ServerArgs,
    #[command(subcommand)]
    command: CatalogCommand,
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Imports a CSV or JSON Lines file; the admin token comes from INTERAREC_ADMIN_TOKEN.
    Import {
        /// The file (`.csv`, `.jsonl` or `.ndjson`).
        file: PathBuf,
        /// Catalog id (lowercase letters, digits, `-`).
        #[arg(long)]
        id: String,
        /// Display name (default: the id).
        #[arg(long, default_value = "")]
        name: String,
        /// The file's format (default: from the file extension).
        #[arg(long, value_enum)]
        format: Option<FormatChoice>,
        /// Refuse the whole file if any row is bad.
        #[arg(long)]
        strict: bool,
        /// Replace an existing catalog of the same id.
        #[arg(long)]
        replace: bool,
        /// Attribute overrides as JSON, e.g. '{"sqft":{"type":"number","unit":"sqft"}}', or
        /// `@FILE` to read them from a file.
        #[arg(long = "overrides", default_value = "")]
        overrides: String,
    },
    /// Lists the catalogs.
    List {
        /// Print JSON (an array of catalogs) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Shows one catalog: items, price range, attributes and vocabularies.
    Show {
        /// Catalog id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Lists a catalog's items, a page at a time from the server.
    Items {
        /// Catalog id.
        id: String,
        /// Print at most this many items (default: all).
        #[arg(long)]
        limit: Option<u64>,
        /// Print JSON Lines (one item per line) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Removes a catalog and its items.
    Remove {
        /// Catalog id.
        id: String,
    },
}

/// A catalog file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatChoice {
    /// Comma-separated values with a header row.
    Csv,
    /// JSON Lines: one item object per line.
    Jsonl,
}

pub async fn run(args: CatalogArgs) -> anyhow::Result<()> {
    let mut client = args.server.connect().await?;
    match args.command {
        CatalogCommand::Import {
            file,
            id,
            name,
            format,
            strict,
            replace,
            overrides,
        } => {
            let format = match (format, file.extension().and_then(|e| e.to_str())) {
                (Some(FormatChoice::Csv), _) | (None, Some("csv")) => CatalogFormat::Csv,
                (Some(FormatChoice::Jsonl), _) | (None, Some("jsonl" | "ndjson")) => CatalogFormat::Jsonl,
                (None, other) => anyhow::bail!(
                    "cannot tell the format of {} ({}); pass --format csv or --format jsonl",
                    file.display(),
                    other.unwrap_or("no extension")
                ),
            };
            let size = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            eprintln!("importing {} ({}) as catalog `{id}`", file.display(), mebibytes(size));
            let header = ImportHeader {
                catalog_id: id,
                name,
                format: format as i32,
                strict,
                replace,
                attribute_overrides_json: super::argument_text(&overrides, "--overrides")?,
                total_bytes: 0,
            };
            let started = std::time::Instant::now();
            let progress = super::progress::Progress::bytes(size);
            let response = client
                .import_catalog_file(header, &file, IMPORT_CHUNK_BYTES, upload_progress(progress.clone()))
                .await;
            progress.finish();
            let response = response?;
            eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
            let catalog = response.catalog.context("the server sent no catalog")?;
            println!(
                "{} {}: {} items imported, {} rows refused",
                catalog.catalog_id,
                if response.replaced { "replaced" } else { "imported" },
                catalog.item_count,
                response.row_error_count
            );
            for error in &response.row_errors {
                println!("  line {}: {}", error.line, error.message);
            }
            if response.row_error_count > response.row_errors.len() as u64 {
                println!(
                    "  … and {} more",
                    response.row_error_count - response.row_errors.len() as u64
                );
            }
        }
        CatalogCommand::List { json: true } => {
            let catalogs = client.list_catalogs().await?;
            super::print_json(
                &catalogs
                    .iter()
                    .map(interarec_client::convert::json::catalog)
                    .collect::<Vec<_>>(),
            )?;
        }
        CatalogCommand::List { json: false } => {
            let catalogs = client.list_catalogs().await?;
            if catalogs.is_empty() {
                println!("no catalogs; add one with `interarec catalog import FILE --id ID`");
            }
            for catalog in catalogs {
                println!(
                    "{:<24} {:>8} items  {:>10.2} – {:<10.2} {}",
                    catalog.catalog_id, catalog.item_count, catalog.price_min, catalog.price_max, catalog.name
                );
            }
        }
        CatalogCommand::Show { id, json: true } => super::print_json(&interarec_client::convert::json::catalog(
            &client.get_catalog(&id).await?,
        ))?,
        CatalogCommand::Show { id, json: false } => print_catalog(&client.get_catalog(&id).await?),
        CatalogCommand::Items { id, limit, json } => {
            let mut printed = 0u64;
            let mut page_token = String::new();
            let limit = limit.unwrap_or(u64::MAX);
            while printed < limit {
                let page = client.list_catalog_items(&id, 1_000, &page_token).await?;
                for item in page
                    .items
                    .iter()
                    .take((limit - printed).min(usize::MAX as u64) as usize)
                {
                    if json {
                        println!("{}", interarec_client::convert::json::item(item));
                    } else {
                        println!("{:<20} {:>10.2}  {}", item.id, item.price, item.title);
                    }
                    printed += 1;
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        CatalogCommand::Remove { id } => {
            let removed = client.remove_catalog(&id).await?;
            println!("{} removed ({} items)", removed.catalog_id, removed.item_count);
        }
    }
    Ok(())
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

/// The upload's progress (a bar on a terminal, a line per tenth otherwise), then a note that
/// the server is at work: it parses and stores once the file has arrived, and a million rows
/// take seconds.
fn upload_progress(progress: super::progress::Progress) -> impl FnMut(u64, u64) + Send + 'static {
    let mut noted = false;
    move |sent, size| {
        progress.set_position(sent);
        if sent >= size && !noted {
            noted = true;
            progress.set_message("the server is checking and storing the rows".into());
            progress.println("the server is checking and storing the rows (its log shows each 100,000)");
        }
    }
}

fn print_catalog(catalog: &CatalogInfo) {
    println!("catalog:     {} ({})", catalog.catalog_id, catalog.name);
    println!(
        "items:       {} ({} rows refused at import)",
        catalog.item_count, catalog.rejected_rows
    );
    println!("prices:      {} – {}", catalog.price_min, catalog.price_max);
    println!("attributes:");
    for attribute in &catalog.attributes {
        let unit = if attribute.unit.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attribute.unit)
        };
        let detail = match (attribute.min, attribute.max) {
            (Some(min), Some(max)) => format!("{min} – {max}"),
            _ if attribute.vocabulary.len() > 12 => {
                format!(
                    "{} … ({} values)",
                    attribute.vocabulary[..12].join(", "),
                    attribute.vocabulary.len()
                )
            }
            _ => attribute.vocabulary.join(", "),
        };
        println!(
            "  {:<16} {:<7}{unit} {} items: {detail}",
            attribute.name,
            attribute.r#type().name(),
            attribute.present
        );
    }
}
