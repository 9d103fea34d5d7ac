//! The real Ta-Feng log (fetched by `just data`, which `just test` runs first): the file reads
//! whole, and the conditional logit fits on its largest subclass.

use interarec_choice::estimation::{FitOptions, Observation, fit, fit_shared_price};
use interarec_datasets::ta_feng;
use interarec_datasets::transactions::Table;
use std::path::PathBuf;

fn data_path() -> PathBuf {
    let path = std::env::var("INTERAREC_TA_FENG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/ta_feng.csv.zip"));
    assert!(path.exists(), "{} is missing; run `just data` first", path.display());
    path
}

#[test]
fn the_whole_log_reads_and_the_largest_subclass_fits() {
    let data = ta_feng::read(&data_path()).unwrap();
    assert_eq!(data.lines, 817_741);
    assert_eq!(
        data.purchases.len() as u64 + data.skipped.total(),
        data.lines,
        "every line is used or reported"
    );
    let products: std::collections::HashSet<&str> = data.purchases.iter().map(|p| p.product.as_str()).collect();
    assert_eq!(products.len(), 23_812);
    assert!(data.purchases.iter().all(|p| p.unit_price > 0.0 && p.amount > 0.0));

    let subclasses = Table::from_ta_feng(&data, None).unwrap().choice_sets(None);
    let total: f64 = subclasses.iter().map(|s| s.choices).sum();
    assert_eq!(
        total,
        data.purchases.len() as f64,
        "every purchase is a choice in some set"
    );
    let largest = &subclasses[0];
    let fitted = fit(largest.item_ids.len(), &largest.observations, &FitOptions::default()).unwrap();
    assert!(fitted.converged, "{} iterations", fitted.iterations);
    assert!(fitted.log_likelihood > fitted.null_log_likelihood);
    assert!(fitted.price_standard_error.is_finite() && fitted.price_standard_error > 0.0);

    // The whole catalog: an intercept per product of every subclass, one shared price coefficient.
    let groups: Vec<(usize, &[Observation])> = subclasses
        .iter()
        .map(|s| (s.item_ids.len(), s.observations.as_slice()))
        .collect();
    let whole = fit_shared_price(&groups, &FitOptions::default()).unwrap();
    assert!(whole.converged, "{} iterations", whole.iterations);
    assert!(whole.log_likelihood > whole.null_log_likelihood);
    assert!(whole.price_coefficient < 0.0 && whole.price_coefficient.abs() > 10.0 * whole.price_standard_error);
    let identified: usize = whole.groups.iter().map(|g| g.intercepts.iter().flatten().count()).sum();
    assert!(identified > 20_000, "{identified} identified intercepts");
    let accounted: f64 = whole
        .groups
        .iter()
        .map(|g| g.observations_used + g.observations_skipped)
        .sum();
    assert_eq!(
        accounted,
        data.purchases.len() as f64,
        "every purchase is used or reported as skipped"
    );
}

#[test]
fn the_whole_log_fits_per_age_group_through_the_upload_path() {
    use interarec_datasets::fitting::{FitSpec, Progress, Source, fit_model};
    let bytes = std::fs::read(data_path()).unwrap();
    let spec = FitSpec {
        model_id: "ta-feng".into(),
        catalog_id: None,
        source: Source::TaFeng,
        segment_by: Some("age_group".into()),
        no_purchase_share: 0.5,
        options: FitOptions::default(),
        min_segment_choices: 1_000.0,
    };
    let mut segments_started = 0;
    let model = fit_model(&bytes, &spec, 0, &mut |p| {
        if matches!(p, Progress::SegmentStarted { .. }) {
            segments_started += 1;
        }
    })
    .unwrap();
    assert_eq!(model.provenance.data_sha256, ta_feng::SHA256);
    assert_eq!(model.provenance.lines, 817_741);
    assert_eq!(model.provenance.segment_by.as_deref(), Some("AGE_GROUP"));
    let all = &model.segments[0];
    assert_eq!(all.name, "all");
    assert!(all.items.len() > 20_000, "{} items", all.items.len());
    assert!(all.converged && all.price_coefficient < 0.0);
    // Age groups are fitted separately (ten of them hold over 1,000 choices each).
    assert!(model.segments.len() >= 8, "{} segments", model.segments.len());
    assert_eq!(segments_started, model.segments.len());
    let summary: Vec<(String, bool, usize, f64)> = model
        .segments
        .iter()
        .map(|s| (s.name.clone(), s.converged, s.items.len(), s.choices_used))
        .collect();
    assert!(
        model.segments[1..].iter().all(|s| s.converged && s.items.len() > 1_000),
        "{summary:?} {:?}",
        model.provenance.notes
    );
}
