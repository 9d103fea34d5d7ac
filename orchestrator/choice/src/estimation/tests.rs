//! Estimation tests: parameter recovery from simulated purchases at the stated confidence
//! level, optimality of the fit, identification reporting, and bad input.

use super::*;

use crate::simulation::Rng;

/// Purchases simulated from a known MNL: random choice sets of 2..=items alternatives with
/// prices varying ±25 % around each item's base price.
fn simulate(rng: &mut Rng, intercepts: &[f64], beta: f64, base_prices: &[f64], choices: usize) -> Vec<Observation> {
    let items = intercepts.len();
    (0..choices)
        .map(|_| {
            let size = 2 + rng.below(items - 1);
            let mut pool: Vec<u32> = (0..items as u32).collect();
            for i in 0..size {
                let j = i + rng.below(items - i);
                pool.swap(i, j);
            }
            let alternatives: Vec<Alternative> = pool[..size]
                .iter()
                .map(|&item| Alternative {
                    item,
                    price: base_prices[item as usize] * (0.75 + 0.5 * rng.unit()),
                })
                .collect();
            let utilities: Vec<f64> = alternatives
                .iter()
                .map(|a| intercepts[a.item as usize] + beta * a.price)
                .collect();
            let total: f64 = utilities.iter().map(|u| u.exp()).sum();
            let mut draw = rng.unit() * total;
            let mut chosen = size - 1;
            for (k, u) in utilities.iter().enumerate() {
                draw -= u.exp();
                if draw <= 0.0 {
                    chosen = k;
                    break;
                }
            }
            Observation::single(alternatives, chosen)
        })
        .collect()
}

/// `count` choices of `alternatives[chosen]` (`count` may be 0 to test validation).
fn obs(alternatives: Vec<Alternative>, chosen: usize, count: f64) -> Observation {
    let mut chosen_counts = vec![0.0; alternatives.len()];
    if chosen < chosen_counts.len() {
        chosen_counts[chosen] = count;
    }
    Observation {
        alternatives,
        chosen_counts,
    }
}

#[test]
fn true_parameters_fall_inside_95_percent_intervals_at_the_stated_rate() {
    let mut rng = Rng(1_234);
    let items = 6;
    let (mut covered, mut intervals) = (0, 0);
    for _replication in 0..60 {
        let mut intercepts: Vec<f64> = (0..items).map(|_| rng.normal() * 0.7).collect();
        let beta = -0.08;
        let base_prices: Vec<f64> = (0..items).map(|_| 5.0 + rng.unit() * 20.0).collect();
        let observations = simulate(&mut rng, &intercepts, beta, &base_prices, 3_000);
        let fit = fit(
            items,
            &observations,
            &FitOptions {
                reference_item: Some(0),
                ..FitOptions::default()
            },
        )
        .unwrap();
        assert!(fit.converged, "{fit:?}");
        // Intercepts are identified relative to item 0.
        let anchor = intercepts[0];
        intercepts.iter_mut().for_each(|a| *a -= anchor);
        for j in 1..items {
            let (estimate, se) = (fit.intercepts[j].unwrap(), fit.intercept_standard_errors[j].unwrap());
            intervals += 1;
            covered += usize::from((estimate - intercepts[j]).abs() <= 1.96 * se);
        }
        intervals += 1;
        covered += usize::from((fit.price_coefficient - beta).abs() <= 1.96 * fit.price_standard_error);
    }
    let rate = covered as f64 / intervals as f64;
    // 360 intervals at 95 %: a binomial standard deviation is 1.1 points, so 90–99 % is a wide
    // but meaningful band; a wrong standard error (e.g. off by √2) falls outside it.
    assert!(
        (0.90..=0.99).contains(&rate),
        "coverage {rate} ({covered} of {intervals})"
    );
}

#[test]
fn the_fit_is_a_stationary_point_and_beats_nearby_parameters() {
    let mut rng = Rng(99);
    let intercepts = [0.0, 0.5, -0.3, 1.0, 0.2];
    let base_prices = [10.0, 12.0, 8.0, 20.0, 15.0];
    let observations = simulate(&mut rng, &intercepts, -0.1, &base_prices, 4_000);
    let fitted = fit(5, &observations, &FitOptions::default()).unwrap();
    assert!(fitted.log_likelihood > fitted.null_log_likelihood);
    assert!(
        fitted.iterations < 20,
        "Newton should converge fast: {}",
        fitted.iterations
    );
    // Perturbing any parameter lowers the likelihood.
    let reference = fitted.reference_item as usize;
    let log_likelihood = |shift_item: Option<usize>, shift_beta: f64| -> f64 {
        observations
            .iter()
            .map(|o| {
                let u = |a: &Alternative| {
                    let mut alpha = fitted.intercepts[a.item as usize].unwrap();
                    if shift_item == Some(a.item as usize) {
                        alpha += 1e-3;
                    }
                    alpha + (fitted.price_coefficient + shift_beta) * a.price
                };
                let total: f64 = o.alternatives.iter().map(|a| u(a).exp()).sum();
                let chosen = o.alternatives.iter().zip(&o.chosen_counts);
                chosen.map(|(a, n)| n * (u(a) - total.ln())).sum::<f64>()
            })
            .sum()
    };
    let at_optimum = log_likelihood(None, 0.0);
    assert!((at_optimum - fitted.log_likelihood).abs() < 1e-6 * at_optimum.abs());
    for item in (0..5).filter(|&j| j != reference) {
        assert!(log_likelihood(Some(item), 0.0) < at_optimum, "item {item}");
    }
    assert!(log_likelihood(None, 1e-4) < at_optimum && log_likelihood(None, -1e-4) < at_optimum);
}

#[test]
fn unidentified_items_are_reported_not_dropped_silently() {
    let a = |item: u32, price: f64| Alternative { item, price };
    let counts = |alternatives: Vec<Alternative>, chosen_counts: Vec<f64>| Observation {
        alternatives,
        chosen_counts,
    };
    let observations = vec![
        counts(vec![a(0, 1.0), a(1, 2.0), a(2, 1.0)], vec![3.0, 0.0, 1.0]),
        counts(vec![a(0, 1.5), a(1, 1.0), a(2, 2.0)], vec![1.0, 2.0, 1.0]),
        counts(vec![a(0, 2.0), a(1, 1.5), a(2, 1.0)], vec![1.0, 1.0, 0.0]),
        // Item 3 competes only here and is never chosen: no finite intercept.
        counts(vec![a(2, 1.0), a(3, 1.0)], vec![1.0, 0.0]),
        // Items 4 and 5 only ever compete with each other: identified relative to each other
        // but not to the reference item 0.
        counts(vec![a(4, 1.0), a(5, 2.0)], vec![2.0, 1.0]),
        counts(vec![a(4, 1.5), a(5, 1.0)], vec![1.0, 1.0]),
        // Item 6 is only ever offered alone: it carries no information.
        counts(vec![a(6, 1.0)], vec![5.0]),
    ];
    let fitted = fit(8, &observations, &FitOptions::default()).unwrap();
    assert_eq!(fitted.unidentified_items, vec![3, 4, 5, 6]);
    assert!(fitted.intercepts[..3].iter().all(Option::is_some));
    assert!(
        fitted.intercepts[3..].iter().all(Option::is_none),
        "{:?}",
        fitted.intercepts
    );
    assert_eq!(fitted.reference_item, 0, "the most chosen item anchors the intercepts");
    // The sets {2, 3}, {4, 5} (twice) and {6} have fewer than two identified alternatives.
    assert_eq!(fitted.observations_skipped, 1.0 + 3.0 + 2.0 + 5.0);
    assert_eq!(fitted.observations_used, 4.0 + 4.0 + 2.0);
}

#[test]
fn bad_input_is_explained() {
    let a = |item: u32, price: f64| Alternative { item, price };
    let cases: Vec<(Vec<Observation>, &str)> = vec![
        (
            vec![obs(vec![a(0, 1.0)], 1, 1.0)],
            "invalid observations: observation 0: nothing was chosen",
        ),
        (vec![obs(vec![a(7, 1.0), a(0, 1.0)], 0, 1.0)], "item 7 is outside 0..3"),
        (
            vec![obs(vec![a(0, f64::NAN), a(1, 1.0)], 0, 1.0)],
            "item 0 has price NaN",
        ),
        (
            vec![obs(vec![a(0, 1.0), a(1, 1.0)], 0, 0.0)],
            "observation 0: nothing was chosen",
        ),
        (vec![], "no observation carries information"),
        (
            // Prices never vary and every item has its own intercept: β is not identified.
            vec![
                obs(vec![a(0, 1.0), a(1, 2.0)], 0, 1.0),
                obs(vec![a(0, 1.0), a(1, 2.0)], 1, 1.0),
            ],
            "the model is not identified",
        ),
    ];
    for (observations, message) in cases {
        let error = fit(3, &observations, &FitOptions::default()).unwrap_err().to_string();
        assert!(error.contains(message), "expected {message:?} in {error:?}");
    }
    assert!(no_purchase_weight(&[1.0], 1.0).is_err());
    assert!((no_purchase_weight(&[1.0, 3.0], 0.2).unwrap() - 1.0).abs() < 1e-15);
}

#[test]
fn aggregated_counts_fit_exactly_like_the_individual_choices() {
    let mut rng = Rng(5);
    let intercepts = [0.0, 0.4, -0.2, 0.9];
    let base_prices = [10.0, 12.0, 8.0, 20.0];
    // 40 distinct sets, each seen 25 times: as 1,000 single choices and as 40 aggregated sets.
    let sets = simulate(&mut rng, &intercepts, -0.1, &base_prices, 40);
    let mut singles = Vec::new();
    let mut aggregated = Vec::new();
    for set in &sets {
        let mut counts = vec![0.0; set.alternatives.len()];
        for _ in 0..25 {
            let chosen = rng.below(set.alternatives.len());
            counts[chosen] += 1.0;
            singles.push(Observation::single(set.alternatives.clone(), chosen));
        }
        aggregated.push(Observation {
            alternatives: set.alternatives.clone(),
            chosen_counts: counts,
        });
    }
    let options = FitOptions {
        reference_item: Some(0),
        ..FitOptions::default()
    };
    let (a, b) = (
        fit(4, &singles, &options).unwrap(),
        fit(4, &aggregated, &options).unwrap(),
    );
    assert!((a.log_likelihood - b.log_likelihood).abs() < 1e-9 * a.log_likelihood.abs());
    assert!((a.price_coefficient - b.price_coefficient).abs() < 1e-9);
    for j in 0..4 {
        assert!(
            (a.intercepts[j].unwrap() - b.intercepts[j].unwrap()).abs() < 1e-9,
            "item {j}"
        );
    }
    assert_eq!(a.observations_used, 1_000.0);
    assert_eq!(b.observations_used, 1_000.0);
}

#[test]
fn groups_share_one_price_coefficient() {
    let mut rng = Rng(77);
    let beta = -0.07;
    let shoes = simulate(&mut rng, &[0.0, 0.6, -0.4, 0.3], beta, &[30.0, 45.0, 25.0, 60.0], 3_000);
    let socks = simulate(&mut rng, &[0.0, -0.5, 0.8], beta, &[5.0, 8.0, 12.0], 3_000);
    let lonely = vec![obs(vec![Alternative { item: 0, price: 1.0 }], 0, 4.0)];
    let groups: Vec<(usize, &[Observation])> = vec![(4, &shoes), (3, &socks), (1, &lonely)];
    let joint = fit_shared_price(&groups, &FitOptions::default()).unwrap();
    assert!(joint.converged);
    assert!(
        (joint.price_coefficient - beta).abs() < 3.0 * joint.price_standard_error,
        "{joint:?}"
    );
    // Pooling both groups estimates β more precisely than either group alone.
    let alone = fit(4, &shoes, &FitOptions::default()).unwrap();
    assert!(joint.price_standard_error < alone.price_standard_error);
    // The joint log-likelihood is the sum over groups at the joint optimum, and moving β off it
    // in either direction lowers it.
    let at = |beta_shift: f64| -> f64 {
        groups[..2]
            .iter()
            .zip(&joint.groups)
            .map(|((_, observations), group)| {
                observations
                    .iter()
                    .map(|o| {
                        let u = |a: &Alternative| {
                            group.intercepts[a.item as usize].unwrap()
                                + (joint.price_coefficient + beta_shift) * a.price
                        };
                        let total: f64 = o.alternatives.iter().map(|a| u(a).exp()).sum();
                        o.alternatives
                            .iter()
                            .zip(&o.chosen_counts)
                            .map(|(a, n)| n * (u(a) - total.ln()))
                            .sum::<f64>()
                    })
                    .sum::<f64>()
            })
            .sum()
    };
    assert!((at(0.0) - joint.log_likelihood).abs() < 1e-6 * joint.log_likelihood.abs());
    assert!(at(1e-4) < at(0.0) && at(-1e-4) < at(0.0));
    // The single-item group carries no information and is reported empty, not dropped.
    assert_eq!(joint.groups.len(), 3);
    assert_eq!(joint.groups[2].intercepts, vec![None]);
    assert_eq!(joint.groups[2].observations_skipped, 4.0);
    assert_eq!(
        (
            joint.groups[2].reference_item,
            joint.groups[2].unidentified_items.clone()
        ),
        (None, vec![0])
    );
}

#[test]
fn one_group_through_the_shared_fit_equals_the_plain_fit() {
    let mut rng = Rng(3);
    let observations = simulate(
        &mut rng,
        &[0.0, 0.2, -0.7, 0.5, 1.1],
        -0.05,
        &[10.0, 20.0, 15.0, 12.0, 30.0],
        2_000,
    );
    let plain = fit(5, &observations, &FitOptions::default()).unwrap();
    let shared = fit_shared_price(&[(5, &observations)], &FitOptions::default()).unwrap();
    assert!((plain.price_coefficient - shared.price_coefficient).abs() < 1e-9);
    assert!((plain.price_standard_error - shared.price_standard_error).abs() < 1e-9);
    assert_eq!(plain.intercepts, shared.groups[0].intercepts);
}
