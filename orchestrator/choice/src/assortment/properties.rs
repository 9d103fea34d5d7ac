//! Property tests: on random instances the optimizer's certificate holds and its revenue is the
//! best over every subset a brute force can list.

use super::*;
use proptest::prelude::*;

/// Best revenue over all subsets of at most `capacity` items.
fn brute_force(prices: &[f64], weights: &[f64], v0: f64, capacity: usize) -> f64 {
    let n = prices.len();
    (0u32..1 << n)
        .filter(|mask| mask.count_ones() as usize <= capacity)
        .map(|mask| {
            let chosen = (0..n).filter(|i| mask >> i & 1 == 1);
            let (numerator, denominator) = chosen.fold((0.0, v0), |(num, den), i| {
                (num + prices[i] * weights[i], den + weights[i])
            });
            numerator / denominator
        })
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_certificate_holds_and_matches_brute_force(
        items in proptest::collection::vec((1.0f64..200.0, 0.001f64..5.0), 1..9),
        v0 in 0.05f64..5.0,
        capacity in 1usize..9,
    ) {
        let prices: Vec<f64> = items.iter().map(|(p, _)| *p).collect();
        let weights: Vec<f64> = items.iter().map(|(_, w)| *w).collect();
        let problem = AssortmentProblem::new(&prices, &weights, v0, Capacity::AtMost(capacity));
        let answer = optimize(&problem).unwrap();
        prop_assert!(answer.certificate.holds, "{:?}", answer.certificate);
        let best = brute_force(&prices, &weights, v0, capacity);
        prop_assert!((answer.expected_revenue - best).abs() <= 1e-9 * best.max(1.0), "{} vs {}", answer.expected_revenue, best);
    }
}
