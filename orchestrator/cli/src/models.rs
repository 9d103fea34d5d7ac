//! `interarec fit`, `interarec model …` and `interarec optimize`: choice models through the Rust
//! client, with a progress bar while a fit runs.

use anyhow::Context;
use clap::{Args, Subcommand};
use interarec_client::{
    ChoiceModelInfo, FitHeader, FitProgress, IMPORT_CHUNK_BYTES, OptimizeRequest, TransactionFormat,
};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    server: super::ServerArgs,
    /// The transaction log: Ta-Feng (`.zip` as published, or its CSV) or a transactions CSV.
    file: PathBuf,
    /// Model id (lowercase letters, digits, `-`).
    #[arg(long)]
    id: String,
    /// The log's format (default: `ta-feng` for `.zip` files, else `csv`).
    #[arg(long, value_enum)]
    format: Option<LogFormatChoice>,
    /// The catalog whose item ids the log uses.
    #[arg(long, default_value = "")]
    catalog: String,
    /// Column of customer segments (Ta-Feng: AGE_GROUP or PIN_CODE).
    #[arg(long, default_value = "")]
    segment_by: String,
    /// Assumed probability of buying nothing (the outside option is not observed).
    #[arg(long, default_value_t = 0.5)]
    no_purchase_share: f64,
    /// Segments with fewer choices are not fitted.
    #[arg(long, default_value_t = 1_000)]
    min_segment_choices: u64,
    /// Replace an existing model of the same id.
    #[arg(long)]
    replace: bool,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(flatten)]
    server: super::ServerArgs,
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Lists the fitted models.
    List {
        /// Print JSON (an array of models) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Shows a model: provenance and per-segment statistics.
    Show {
        /// Model id.
        id: String,
        /// Print the whole model as JSON (intercepts per item and segment).
        #[arg(long)]
        parameters: bool,
        /// Print JSON (with `--parameters`, the parameters inline) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Removes a model.
    Remove {
        /// Model id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct OptimizeArgs {
    #[command(flatten)]
    server: super::ServerArgs,
    /// Catalog id.
    #[arg(long)]
    catalog: String,
    /// Model id.
    #[arg(long)]
    model: String,
    /// Customer segment (default: every customer).
    #[arg(long, default_value = "")]
    segment: String,
    /// Constraints as JSON, e.g. '{"highest_price": 144, "filters": [{"attribute": "colour", "one_of": ["green"]}]}',
    /// or `@FILE` to read them from a file, `-` from stdin.
    #[arg(long, default_value = "{}")]
    constraints: String,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

/// A transaction log's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormatChoice {
    /// The Ta-Feng log: the published zip or its CSV.
    TaFeng,
    /// A transactions CSV: header row; item_id and price required.
    Csv,
}

pub async fn fit(args: FitArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(LogFormatChoice::TaFeng) => TransactionFormat::TaFeng,
        Some(LogFormatChoice::Csv) => TransactionFormat::TransactionsCsv,
        None if args.file.extension().is_some_and(|e| e == "zip") => TransactionFormat::TaFeng,
        None => TransactionFormat::TransactionsCsv,
    };
    let data = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut client = args.server.connect().await?;
    eprintln!(
        "uploading {} ({:.1} MB) to fit model `{}`",
        args.file.display(),
        data.len() as f64 / 1e6,
        args.id
    );
    let header = FitHeader {
        model_id: args.id,
        catalog_id: args.catalog,
        format: format as i32,
        segment_by: args.segment_by,
        no_purchase_share: args.no_purchase_share,
        min_segment_choices: args.min_segment_choices,
        max_iterations: 0,
        replace: args.replace,
    };
    let mut bar = FitProgressView::new();
    let model = client
        .fit_choice_model(header, &data, IMPORT_CHUNK_BYTES, |p| bar.update(p))
        .await;
    bar.finish();
    print_model(&model?);
    Ok(())
}

pub async fn model(args: ModelArgs) -> anyhow::Result<()> {
    let mut client = args.server.connect().await?;
    match args.command {
        ModelCommand::List { json: true } => {
            let models = client.list_choice_models().await?;
            super::print_json(
                &models
                    .iter()
                    .map(interarec_client::convert::json::model)
                    .collect::<Vec<_>>(),
            )?;
        }
        ModelCommand::List { json: false } => {
            let models = client.list_choice_models().await?;
            if models.is_empty() {
                println!("no choice models; fit one with `interarec fit FILE --id ID`");
            }
            for model in models {
                let all = model.segments.first();
                println!(
                    "{:<24} {:<16} {:>2} segments  {:>6} items  β {:>9.5}  {}",
                    model.model_id,
                    model.provenance.as_ref().map_or("", |p| p.source.as_str()),
                    model.segments.len(),
                    all.map_or(0, |s| s.items),
                    all.map_or(f64::NAN, |s| s.price_coefficient),
                    if model.catalog_id.is_empty() {
                        "-"
                    } else {
                        &model.catalog_id
                    }
                );
            }
        }
        ModelCommand::Show { id, parameters, json } => {
            let model = client.get_choice_model(&id, parameters).await?;
            if json {
                super::print_json(&interarec_client::convert::json::model(&model))?;
            } else if parameters {
                println!("{}", model.model_json);
            } else {
                print_model(&model);
            }
        }
        ModelCommand::Remove { id } => {
            let removed = client.remove_choice_model(&id).await?;
            println!("{} removed ({} segments)", removed.model_id, removed.segments.len());
        }
    }
    Ok(())
}

pub async fn optimize(args: OptimizeArgs) -> anyhow::Result<()> {
    let mut client = args.server.connect().await?;
    let answer = client
        .optimize(OptimizeRequest {
            catalog_id: args.catalog,
            model_id: args.model,
            segment: args.segment,
            constraints_json: super::argument_text(&args.constraints, "--constraints")?,
        })
        .await?;
    if args.json {
        let items: Vec<serde_json::Value> = answer
            .items
            .iter()
            .map(|i| serde_json::json!({"id": i.id, "title": i.title, "price": i.price, "probability": i.probability}))
            .collect();
        let certificate = answer.certificate.unwrap_or_default();
        println!(
            "{}",
            serde_json::json!({
                "items": items,
                "expected_revenue": answer.expected_revenue,
                "no_purchase_probability": answer.no_purchase_probability,
                "certificate": {"lambda": certificate.lambda, "h_lambda": certificate.h_lambda, "v0_lambda": certificate.v0_lambda, "holds": certificate.holds},
                "iterations": answer.iterations,
                "empty_reason": answer.empty_reason,
                "segment": answer.segment,
                "catalog_items": answer.catalog_items,
                "eligible_items": answer.eligible_items,
                "without_estimate": answer.without_estimate,
                "compute_ms": interarec_client::convert::std_duration(answer.compute_duration.as_ref()).as_secs_f64() * 1e3,
            })
        );
        return Ok(());
    }
    if answer.items.is_empty() {
        println!("no assortment: {}", answer.empty_reason);
    } else {
        println!("{:<4} {:<20} {:>10} {:>11}  title", "#", "id", "price", "P(buy)");
        for (rank, item) in answer.items.iter().enumerate() {
            println!(
                "{:<4} {:<20} {:>10.2} {:>10.2}%  {}",
                rank + 1,
                item.id,
                item.price,
                item.probability * 100.0,
                item.title
            );
        }
    }
    let certificate = answer.certificate.unwrap_or_default();
    println!(
        "expected revenue {:.4} per shopper; no purchase {:.2}%; segment `{}`",
        answer.expected_revenue,
        answer.no_purchase_probability * 100.0,
        answer.segment
    );
    println!(
        "{} of {} items eligible ({} without an estimate); optimal: h(R) = {:.6} ≤ v0·R = {:.6} {}; {} iterations in {:.2} ms",
        answer.eligible_items,
        answer.catalog_items,
        answer.without_estimate,
        certificate.h_lambda,
        certificate.v0_lambda,
        if certificate.holds { "holds" } else { "DOES NOT HOLD" },
        answer.iterations,
        interarec_client::convert::std_duration(answer.compute_duration.as_ref()).as_secs_f64() * 1e3
    );
    Ok(())
}

fn print_model(model: &ChoiceModelInfo) {
    println!("model:        {}", model.model_id);
    if !model.catalog_id.is_empty() {
        println!("catalog:      {}", model.catalog_id);
    }
    if let Some(p) = &model.provenance {
        println!(
            "data:         {} upload, {} bytes, sha256 {}, {} lines",
            p.source, p.data_bytes, p.data_sha256, p.lines
        );
        for (reason, count) in &p.skipped {
            println!("  skipped {count} lines: {reason}");
        }
        println!("choice sets:  {}", p.choice_sets);
        println!("outside:      {}", p.outside_option);
        println!("method:       {}", p.method);
        println!(
            "segments by:  {}",
            if p.segment_by.is_empty() { "none" } else { &p.segment_by }
        );
        for note in &p.notes {
            println!("  note: {note}");
        }
        println!(
            "fit time:     {:.0} ms",
            interarec_client::convert::std_duration(p.fit_duration.as_ref()).as_secs_f64() * 1e3
        );
    }
    println!(
        "{:<12} {:>8} {:>9} {:>11} {:>10} {:>14} {:>14} {:>5} {:>9}",
        "segment", "items", "groups", "β", "se(β)", "log-lik", "null log-lik", "iter", "converged"
    );
    for s in &model.segments {
        println!(
            "{:<12} {:>8} {:>9} {:>11.6} {:>10.6} {:>14.1} {:>14.1} {:>5} {:>9}",
            s.name,
            s.items,
            s.groups,
            s.price_coefficient,
            s.price_standard_error,
            s.log_likelihood,
            s.null_log_likelihood,
            s.iterations,
            s.converged
        );
    }
}

/// The fit's progress: a bar over the segments on a terminal (the text follows the current
/// segment's iterations), one line per step otherwise.
struct FitProgressView {
    progress: Option<super::progress::Progress>,
}

impl FitProgressView {
    fn new() -> FitProgressView {
        FitProgressView { progress: None }
    }

    fn update(&mut self, step: &FitProgress) {
        if step.stage == "iteration" {
            let progress = self
                .progress
                .get_or_insert_with(|| super::progress::Progress::count(u64::from(step.of.max(1)), "segments"));
            progress.set_position(u64::from(step.position.saturating_sub(1)));
            progress.set_message(format!(
                "segment `{}` iteration {} log-lik {:.1} decrement {:.1e}",
                step.segment, step.iteration, step.log_likelihood, step.decrement
            ));
            return;
        }
        match &self.progress {
            Some(progress) => progress.println(&step.message),
            None => eprintln!("{}", step.message),
        }
    }

    fn finish(&mut self) {
        if let Some(progress) = &self.progress {
            progress.finish();
        }
    }
}
