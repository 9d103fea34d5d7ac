//! The real Ta-Feng log (fetched by `just data`, which `just test` runs first): the file reads
//! whole, and the conditional logit fits on its largest subclass.

use interarec_choice::estimation::{FitOptions, Observation, fit, fit_shared_price};
use interarec_datasets::ta_feng;
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

    let subclasses = ta_feng::choice_sets_by_subclass(&data.purchases);
    let total: u64 = subclasses.iter().map(|s| s.purchases).sum();
    assert_eq!(
        total,
        data.purchases.len() as u64,
        "every purchase is a choice in some set"
    );
    let largest = &subclasses[0];
    let fitted = fit(largest.products.len(), &largest.observations, &FitOptions::default()).unwrap();
    assert!(fitted.converged, "{} iterations", fitted.iterations);
    assert!(fitted.log_likelihood > fitted.null_log_likelihood);
    assert!(fitted.price_standard_error.is_finite() && fitted.price_standard_error > 0.0);

    // The whole catalog: an intercept per product of every subclass, one shared price coefficient.
    let groups: Vec<(usize, &[Observation])> = subclasses
        .iter()
        .map(|s| (s.products.len(), s.observations.as_slice()))
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
