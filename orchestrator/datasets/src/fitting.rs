//! One fit from uploaded bytes to a [`ChoiceModel`] with provenance, reporting progress as it
//! goes: read the log, build the choice sets per product group, fit intercepts per group with
//! one shared price coefficient (every customer first, then each segment), and normalise the
//! intercepts to the outside option's scale (see `interarec_choice::model`).

use crate::DatasetError;
use crate::transactions::{GroupChoices, Table};
use interarec_choice::estimation::{
    FitError, FitOptions, IterationReport, MAX_PARAMETERS, fit_shared_price_with_progress,
};
use interarec_choice::model::{ALL_CUSTOMERS, ChoiceModel, GroupData, Provenance, Segment};
use sha2::{Digest, Sha256};
use std::time::Instant;

/// The input format of a fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The Ta-Feng log (zip as published, or its CSV).
    TaFeng,
    /// The generic transactions CSV (see [`crate::transactions`]).
    TransactionsCsv,
}

impl Source {
    /// Name recorded in the provenance.
    pub fn name(self) -> &'static str {
        match self {
            Source::TaFeng => "ta-feng",
            Source::TransactionsCsv => "transactions-csv",
        }
    }
}

/// What to fit.
#[derive(Debug, Clone)]
pub struct FitSpec {
    /// Model id.
    pub model_id: String,
    /// Catalog whose item ids the data uses, if any.
    pub catalog_id: Option<String>,
    /// Input format.
    pub source: Source,
    /// Column of the customer segments (`None`: every customer together only).
    pub segment_by: Option<String>,
    /// Assumed probability of buying nothing, strictly between 0 and 1.
    pub no_purchase_share: f64,
    /// Newton options.
    pub options: FitOptions,
    /// Segments with fewer choices than this are not fitted (reported, not silent).
    pub min_segment_choices: f64,
}

/// Progress of a fit, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The log was read.
    Read {
        /// Data lines.
        lines: u64,
        /// Usable rows.
        rows: u64,
        /// Lines left out.
        skipped: u64,
    },
    /// A segment's fit starts.
    SegmentStarted {
        /// Segment name.
        segment: String,
        /// 1-based position.
        position: usize,
        /// Segments to fit.
        of: usize,
        /// Product groups.
        groups: usize,
        /// Choices.
        choices: f64,
    },
    /// One Newton iteration of the current segment.
    Iteration {
        /// Segment name.
        segment: String,
        /// The iteration.
        report: IterationReport,
    },
    /// A segment is fitted.
    SegmentDone {
        /// Segment name.
        segment: String,
        /// Final log-likelihood.
        log_likelihood: f64,
        /// Iterations.
        iterations: u32,
        /// Wall time.
        ms: f64,
    },
    /// A segment was left out, and why.
    SegmentSkipped {
        /// Segment name.
        segment: String,
        /// Why.
        reason: String,
    },
}

/// Why a fit failed.
#[derive(Debug, thiserror::Error)]
pub enum FitModelError {
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] DatasetError),
    /// The estimator refused (every customer together).
    #[error("the fit on every customer failed: {0}")]
    Fit(#[from] FitError),
    /// An option is out of range.
    #[error("{0}")]
    Options(String),
}

/// Reads `bytes`, fits and returns the model.
pub fn fit_model(
    bytes: &[u8],
    spec: &FitSpec,
    created_at_unix_ms: u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<ChoiceModel, FitModelError> {
    if !(spec.no_purchase_share > 0.0 && spec.no_purchase_share < 1.0) {
        return Err(FitModelError::Options(format!(
            "the no-purchase share must be strictly between 0 and 1 (e.g. 0.5), not {}",
            spec.no_purchase_share
        )));
    }
    let started = Instant::now();
    let name = format!("the {} upload", spec.source.name());
    let table = match spec.source {
        Source::TaFeng => Table::from_ta_feng(&crate::ta_feng::read_bytes(bytes, &name)?, spec.segment_by.as_deref())?,
        Source::TransactionsCsv => Table::from_csv(bytes, &name, spec.segment_by.as_deref())?,
    };
    progress(Progress::Read {
        lines: table.lines,
        rows: table.rows.len() as u64,
        skipped: table.skipped.total(),
    });
    let mut wanted: Vec<Option<String>> = vec![None];
    if table.segment_by.is_some() {
        wanted.extend(table.segments().into_iter().map(|(name, _)| Some(name)));
    }
    let mut segments = Vec::new();
    let mut notes = Vec::new();
    let count = wanted.len();
    for (position, segment) in wanted.into_iter().enumerate() {
        let label = segment.clone().unwrap_or_else(|| ALL_CUSTOMERS.to_owned());
        let groups = table.choice_sets(segment.as_deref());
        let choices: f64 = groups.iter().map(|g| g.choices).sum();
        if segment.is_some() && choices < spec.min_segment_choices {
            let reason = format!(
                "{choices} choices, fewer than the minimum of {}",
                spec.min_segment_choices
            );
            notes.push(format!("segment `{label}` not fitted: {reason}"));
            progress(Progress::SegmentSkipped { segment: label, reason });
            continue;
        }
        progress(Progress::SegmentStarted {
            segment: label.clone(),
            position: position + 1,
            of: count,
            groups: groups.len(),
            choices,
        });
        let segment_started = Instant::now();
        match fit_segment(&label, &groups, spec, progress) {
            Ok(fitted) => {
                progress(Progress::SegmentDone {
                    segment: label,
                    log_likelihood: fitted.log_likelihood,
                    iterations: fitted.iterations,
                    ms: segment_started.elapsed().as_secs_f64() * 1e3,
                });
                segments.push(fitted);
            }
            // Every customer together must fit; a thin segment that cannot is reported and left out.
            Err(FitModelError::Fit(error)) if segment.is_some() => {
                let reason = error.to_string();
                notes.push(format!("segment `{label}` not fitted: {reason}"));
                progress(Progress::SegmentSkipped { segment: label, reason });
            }
            Err(error) => return Err(error),
        }
    }
    let skipped = table
        .skipped
        .reasons
        .iter()
        .map(|(reason, (count, _))| (reason.clone(), *count))
        .collect();
    Ok(ChoiceModel {
        id: spec.model_id.clone(),
        catalog_id: spec.catalog_id.clone(),
        created_at_unix_ms,
        no_purchase_share: spec.no_purchase_share,
        provenance: Provenance {
            source: spec.source.name().to_owned(),
            data_sha256: hex::encode(Sha256::digest(bytes)),
            data_bytes: bytes.len() as u64,
            lines: table.lines,
            skipped,
            choice_sets: if table.explicit_choice_sets {
                "as recorded: the rows of each choice_set were offered together".to_owned()
            } else {
                "purchases only: every item of the same group sold in the same period, at its quantity-weighted mean unit price; each row counts as one choice".to_owned()
            },
            segment_by: table.segment_by.clone(),
            method: format!(
                "conditional logit u = α_item + β·price, intercepts per group and one shared β, by Newton's method with Armijo line search; converged when the Newton decrement is below {:e} × max(1, |log-likelihood|) (at most {} iterations); standard errors from the inverse Hessian",
                spec.options.tolerance, spec.options.max_iterations
            ),
            outside_option: format!(
                "not observed in purchase logs: assumed no-purchase share {} in every group at mean prices (v0 = 1 after normalisation)",
                spec.no_purchase_share
            ),
            fit_ms: started.elapsed().as_secs_f64() * 1e3,
            notes,
        },
        segments,
    })
}

fn fit_segment(
    label: &str,
    groups: &[GroupChoices],
    spec: &FitSpec,
    progress: &mut dyn FnMut(Progress),
) -> Result<Segment, FitModelError> {
    if let Some(large) = groups.iter().find(|g| g.item_ids.len() >= MAX_PARAMETERS) {
        return Err(FitModelError::Options(format!(
            "group `{}` has {} items, over the per-group limit of {}; give the data a finer `group` column",
            large.name,
            large.item_ids.len(),
            MAX_PARAMETERS - 1
        )));
    }
    let inputs: Vec<(usize, &[interarec_choice::estimation::Observation])> = groups
        .iter()
        .map(|g| (g.item_ids.len(), g.observations.as_slice()))
        .collect();
    let fit = fit_shared_price_with_progress(&inputs, &spec.options, &mut |report| {
        progress(Progress::Iteration {
            segment: label.to_owned(),
            report,
        })
    })?;
    let data: Vec<GroupData<'_>> = groups
        .iter()
        .map(|g| GroupData {
            name: g.name.clone(),
            item_ids: &g.item_ids,
            observations: &g.observations,
        })
        .collect();
    Ok(Segment::from_fit(label, &fit, &data, spec.no_purchase_share)?)
}
