//! The whole fit from uploaded bytes: purchases simulated from a known MNL into a transactions
//! CSV, fitted per segment, with progress, provenance and recovered parameters.

use interarec_choice::estimation::FitOptions;
use interarec_choice::simulation::Rng;
use interarec_datasets::fitting::{FitSpec, Progress, Source, fit_model};
use std::fmt::Write;

const INTERCEPTS: [[f64; 4]; 2] = [[0.0, 0.8, -0.5, 1.2], [0.0, -1.0, 0.4, 0.9]];

/// One choice set per shopper visit: the four items of a group at random prices; the chosen
/// row has quantity 1, the others 0. Segment `young` is more price-sensitive than `old`.
fn simulated_csv(visits: usize) -> String {
    let mut rng = Rng(7);
    let mut csv = String::from("choice_set,group,item_id,price,quantity,age\n");
    for visit in 0..visits {
        let group = visit % 2;
        let (age, beta) = if visit % 3 == 0 {
            ("young", -0.08)
        } else {
            ("old", -0.03)
        };
        let prices: Vec<f64> = (0..4).map(|_| (10.0 + 40.0 * rng.unit()).round()).collect();
        let utilities: Vec<f64> = (0..4)
            .map(|j| (INTERCEPTS[group][j] + beta * prices[j]).exp())
            .collect();
        let total: f64 = utilities.iter().sum();
        let mut draw = rng.unit() * total;
        let mut chosen = 3;
        for (j, u) in utilities.iter().enumerate() {
            if draw < *u {
                chosen = j;
                break;
            }
            draw -= u;
        }
        for j in 0..4 {
            let quantity = u8::from(j == chosen);
            writeln!(csv, "v{visit},g{group},g{group}-i{j},{},{quantity},{age}", prices[j]).unwrap();
        }
    }
    csv
}

fn spec(segment_by: Option<&str>) -> FitSpec {
    FitSpec {
        model_id: "simulated".into(),
        catalog_id: None,
        source: Source::TransactionsCsv,
        segment_by: segment_by.map(str::to_owned),
        no_purchase_share: 0.4,
        options: FitOptions::default(),
        min_segment_choices: 50.0,
    }
}

#[test]
fn segments_are_fitted_separately_and_recover_their_parameters() {
    let csv = simulated_csv(9_000);
    let mut events = Vec::new();
    let model = fit_model(csv.as_bytes(), &spec(Some("age")), 1, &mut |p| events.push(p)).unwrap();
    let names: Vec<&str> = model.segments.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["all", "old", "young"]);
    for (segment, truth) in [(&model.segments[1], -0.03), (&model.segments[2], -0.08)] {
        assert!(segment.converged);
        let z = (segment.price_coefficient - truth) / segment.price_standard_error;
        assert!(
            z.abs() < 4.0,
            "{}: β {} ± {} vs {truth}",
            segment.name,
            segment.price_coefficient,
            segment.price_standard_error
        );
        // Intercept differences within a group are what the simulation used.
        for group in 0..2 {
            for j in 1..4 {
                let item = &segment.items[&format!("g{group}-i{j}")];
                let base = &segment.items[&format!("g{group}-i0")];
                let difference = item.intercept - base.intercept;
                let truth = INTERCEPTS[group][j];
                assert!(
                    (difference - truth).abs() < 4.0 * item.standard_error.max(0.02),
                    "{}: {difference} vs {truth}",
                    segment.name
                );
            }
        }
    }
    // Progress: read, then per segment start, iterations, done — in that order.
    assert!(matches!(
        events[0],
        Progress::Read {
            lines: 36_000,
            rows: 36_000,
            skipped: 0
        }
    ));
    let started: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Progress::SegmentStarted { segment, .. } => Some(segment.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["all", "old", "young"]);
    let iterations = events
        .iter()
        .filter(|e| matches!(e, Progress::Iteration { .. }))
        .count();
    assert!(iterations >= 3 * 3, "{iterations} iteration reports");
    assert!(matches!(events.last(), Some(Progress::SegmentDone { segment, .. }) if segment == "young"));
    // Provenance says what the data was and what was assumed.
    let provenance = &model.provenance;
    assert_eq!(provenance.source, "transactions-csv");
    assert_eq!(provenance.data_bytes, csv.len() as u64);
    assert_eq!(provenance.data_sha256.len(), 64);
    assert_eq!(provenance.segment_by.as_deref(), Some("age"));
    assert!(provenance.choice_sets.starts_with("as recorded"));
    assert!(provenance.outside_option.contains("no-purchase share 0.4"));
}

#[test]
fn thin_segments_are_reported_and_bad_options_refused() {
    let csv = "choice_set,item_id,price,quantity,store\n\
               a,x,1,1,north\na,y,2,0,north\nb,x,1,0,north\nb,y,2,1,north\nc,x,1,1,north\nc,y,3,0,north\n\
               d,x,1,1,south\nd,y,2,0,south\n";
    let mut spec = spec(Some("store"));
    spec.min_segment_choices = 2.0;
    let model = fit_model(csv.as_bytes(), &spec, 1, &mut |_| {}).unwrap();
    assert_eq!(
        model.segments.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["all", "north"]
    );
    assert_eq!(
        model.provenance.notes,
        ["segment `south` not fitted: 1 choices, fewer than the minimum of 2"]
    );
    spec.no_purchase_share = 1.0;
    let error = fit_model(csv.as_bytes(), &spec, 1, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(error.contains("strictly between 0 and 1"), "{error}");
}
