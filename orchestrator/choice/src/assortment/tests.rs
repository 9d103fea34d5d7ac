//! The optimizer against brute-force enumeration on random small instances, plus degenerate and
//! invalid inputs as data-driven cases.

use super::*;

use crate::simulation::Rng;

struct Instance {
    prices: Vec<f64>,
    weights: Vec<f64>,
    v0: f64,
    capacity: Capacity,
    group_of: Option<Vec<u32>>,
    caps: Vec<usize>,
    eligible: Option<Vec<bool>>,
    must_include: Vec<usize>,
    exclude: Vec<usize>,
}

impl Instance {
    fn random(rng: &mut Rng) -> Instance {
        let n = 1 + rng.below(10);
        // Prices from a small set so ties happen; weights over many orders of magnitude.
        let prices = (0..n)
            .map(|_| [1.0, 2.5, 2.5, 4.0, 7.0, 10.0, 0.0][rng.below(7)] + rng.below(3) as f64)
            .collect();
        let weights = (0..n).map(|_| 10f64.powf(rng.unit() * 8.0 - 4.0)).collect();
        let v0 = 10f64.powf(rng.unit() * 4.0 - 2.0);
        let capacity = match rng.below(4) {
            0 => Capacity::Unlimited,
            1 | 2 => Capacity::AtMost(rng.below(n + 2)),
            _ => Capacity::Exactly(rng.below(n + 1)),
        };
        let (group_of, caps) = if rng.below(2) == 0 {
            let groups = 1 + rng.below(3);
            (
                Some((0..n).map(|_| rng.below(groups) as u32).collect()),
                (0..groups).map(|_| rng.below(4)).collect(),
            )
        } else {
            (None, Vec::new())
        };
        let eligible = (rng.below(2) == 0).then(|| (0..n).map(|_| rng.below(5) != 0).collect());
        let must_include = (0..rng.below(3)).map(|_| rng.below(n)).collect();
        let exclude = (0..rng.below(3)).map(|_| rng.below(n)).collect();
        Instance {
            prices,
            weights,
            v0,
            capacity,
            group_of,
            caps,
            eligible,
            must_include,
            exclude,
        }
    }

    fn problem(&self) -> AssortmentProblem<'_> {
        AssortmentProblem {
            prices: &self.prices,
            weights: &self.weights,
            no_purchase_weight: self.v0,
            capacity: self.capacity,
            groups: self.group_of.as_ref().map(|group_of| GroupCaps {
                group_of,
                caps: &self.caps,
            }),
            eligible: self.eligible.as_deref(),
            must_include: &self.must_include,
            exclude: &self.exclude,
        }
    }

    fn feasible(&self, set: &[usize]) -> bool {
        let count_ok = match self.capacity {
            Capacity::Unlimited => true,
            Capacity::AtMost(c) => set.len() <= c,
            Capacity::Exactly(c) => set.len() == c,
        };
        let members_ok = set
            .iter()
            .all(|i| !self.exclude.contains(i) && self.eligible.as_ref().is_none_or(|mask| mask[*i]));
        let forced_ok = self.must_include.iter().all(|i| set.contains(i));
        let groups_ok = self.group_of.as_ref().is_none_or(|group_of| {
            (0..self.caps.len()).all(|g| set.iter().filter(|&&i| group_of[i] as usize == g).count() <= self.caps[g])
        });
        count_ok && members_ok && forced_ok && groups_ok
    }

    fn revenue(&self, set: &[usize]) -> f64 {
        let pv: f64 = set.iter().map(|&i| self.prices[i] * self.weights[i]).sum();
        let v: f64 = set.iter().map(|&i| self.weights[i]).sum();
        pv / (self.v0 + v)
    }

    fn brute_force(&self) -> Option<f64> {
        let n = self.prices.len();
        (0u32..1 << n)
            .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect::<Vec<_>>())
            .filter(|set| self.feasible(set))
            .map(|set| self.revenue(&set))
            .max_by(f64::total_cmp)
    }
}

#[test]
fn matches_brute_force_on_random_small_instances() {
    let mut rng = Rng(20_261_125);
    let (mut solved, mut infeasible) = (0, 0);
    for case in 0..3_000 {
        let instance = Instance::random(&mut rng);
        let expected = instance.brute_force();
        match (expected, optimize(&instance.problem())) {
            (Some(best), Ok(answer)) => {
                let shown: Vec<usize> = answer.items.iter().map(|item| item.index).collect();
                assert!(instance.feasible(&shown), "case {case}: infeasible answer {shown:?}");
                let revenue = instance.revenue(&shown);
                let tolerance = 1e-9 * best.abs().max(1e-300);
                assert!(
                    (revenue - best).abs() <= tolerance,
                    "case {case}: got {revenue}, best {best}"
                );
                assert!(
                    (answer.expected_revenue - revenue).abs() <= tolerance,
                    "case {case}: reported revenue"
                );
                assert!(
                    answer.certificate.holds,
                    "case {case}: certificate {:?}",
                    answer.certificate
                );
                let probabilities: f64 =
                    answer.items.iter().map(|i| i.probability).sum::<f64>() + answer.no_purchase_probability;
                assert!(
                    (probabilities - 1.0).abs() < 1e-9,
                    "case {case}: probabilities sum to {probabilities}"
                );
                assert!(
                    answer.items.windows(2).all(|w| w[0].probability >= w[1].probability),
                    "case {case}: display order"
                );
                assert_eq!(answer.items.is_empty(), answer.empty_reason.is_some(), "case {case}");
                solved += 1;
            }
            (None, Err(OptimizeError::Infeasible(_))) => infeasible += 1,
            (expected, actual) => panic!("case {case}: brute force {expected:?}, optimizer {actual:?}"),
        }
    }
    // The generator must exercise both outcomes, or the comparison proves little.
    assert!(
        solved > 1_500 && infeasible > 100,
        "solved {solved}, infeasible {infeasible}"
    );
}

#[test]
fn large_instances_agree_with_and_without_the_grouped_path() {
    // One group with an unreachable cap is the ungrouped problem solved by the grouped code.
    let mut rng = Rng(7);
    for n in [1_000usize, 20_000] {
        let prices: Vec<f64> = (0..n).map(|_| 1.0 + rng.unit() * 99.0).collect();
        let weights: Vec<f64> = (0..n).map(|_| (rng.unit() * 6.0 - 3.0).exp()).collect();
        for capacity in [
            Capacity::AtMost(10),
            Capacity::AtMost(100),
            Capacity::Exactly(50),
            Capacity::Unlimited,
        ] {
            let plain = optimize(&AssortmentProblem::new(&prices, &weights, 5.0, capacity)).unwrap();
            let group_of = vec![0u32; n];
            let caps = [n];
            let grouped = optimize(&AssortmentProblem {
                groups: Some(GroupCaps {
                    group_of: &group_of,
                    caps: &caps,
                }),
                ..AssortmentProblem::new(&prices, &weights, 5.0, capacity)
            })
            .unwrap();
            let relative = (plain.expected_revenue - grouped.expected_revenue).abs() / plain.expected_revenue;
            assert!(
                relative < 1e-12,
                "n {n} {capacity:?}: {} vs {}",
                plain.expected_revenue,
                grouped.expected_revenue
            );
            assert!(plain.certificate.holds && grouped.certificate.holds);
        }
    }
}

#[test]
fn degenerate_inputs() {
    let cases: Vec<(&str, Vec<f64>, Vec<f64>, f64, Capacity, f64, usize)> = vec![
        // (label, prices, weights, v0, capacity, expected revenue, items shown)
        ("empty catalog", vec![], vec![], 1.0, Capacity::AtMost(3), 0.0, 0),
        (
            "equal prices: show everything allowed",
            vec![5.0; 4],
            vec![1.0; 4],
            1.0,
            Capacity::AtMost(10),
            5.0 * 4.0 / 5.0,
            4,
        ),
        (
            "capacity above n",
            vec![3.0, 1.0],
            vec![1.0, 1.0],
            1.0,
            Capacity::AtMost(99),
            1.5,
            1,
        ),
        (
            "capacity zero",
            vec![3.0, 1.0],
            vec![1.0, 1.0],
            1.0,
            Capacity::AtMost(0),
            0.0,
            0,
        ),
        (
            "all prices zero",
            vec![0.0, 0.0],
            vec![1.0, 2.0],
            1.0,
            Capacity::Unlimited,
            0.0,
            0,
        ),
        (
            "exactly forces a low-price item",
            vec![10.0, 1.0],
            vec![1.0, 1.0],
            1.0,
            Capacity::Exactly(2),
            11.0 / 3.0,
            2,
        ),
        (
            "tiny weights",
            vec![2.0, 1.0],
            vec![1e-300, 1e-300],
            1.0,
            Capacity::AtMost(1),
            2e-300,
            1,
        ),
        (
            "huge weights",
            vec![2.0, 1.0],
            vec![1e300, 1e300],
            1.0,
            Capacity::AtMost(2),
            2.0,
            1,
        ),
    ];
    for (label, prices, weights, v0, capacity, revenue, shown) in cases {
        let answer = optimize(&AssortmentProblem::new(&prices, &weights, v0, capacity)).unwrap();
        let tolerance = 1e-12 * revenue.abs().max(f64::MIN_POSITIVE);
        assert!(
            (answer.expected_revenue - revenue).abs() <= tolerance,
            "{label}: {}",
            answer.expected_revenue
        );
        assert_eq!(answer.items.len(), shown, "{label}");
        assert!(answer.certificate.holds, "{label}");
    }
}

#[test]
fn an_empty_answer_says_which_constraint_emptied_it() {
    let prices = [3.0, 4.0, 5.0];
    let weights = [1.0, 1.0, 1.0];
    let nothing = [false, false, false];
    let only_first = [true, false, false];
    let cases: Vec<(AssortmentProblem<'_>, &str)> = vec![
        (
            AssortmentProblem {
                eligible: Some(&nothing),
                ..AssortmentProblem::new(&prices, &weights, 1.0, Capacity::AtMost(2))
            },
            "no item passes the filters (0 of 3)",
        ),
        (
            AssortmentProblem {
                eligible: Some(&only_first),
                exclude: &[0],
                ..AssortmentProblem::new(&prices, &weights, 1.0, Capacity::AtMost(2))
            },
            "all 1 items that pass the filters are excluded",
        ),
        (
            AssortmentProblem::new(&prices, &weights, 1.0, Capacity::AtMost(0)),
            "the capacity is 0",
        ),
        (
            AssortmentProblem::new(&[], &[], 1.0, Capacity::AtMost(2)),
            "the catalog has no items",
        ),
    ];
    for (problem, reason) in cases {
        let answer = optimize(&problem).unwrap();
        assert!(answer.items.is_empty());
        assert_eq!(answer.empty_reason.as_deref(), Some(reason));
        assert_eq!(answer.no_purchase_probability, 1.0);
    }
}

#[test]
fn invalid_and_infeasible_inputs_are_explained() {
    let p = [3.0, 4.0];
    let w = [1.0, 1.0];
    let groups_of = [0u32, 0];
    let one_cap = [1usize];
    let cases: Vec<(AssortmentProblem<'_>, &str)> = vec![
        (
            AssortmentProblem::new(&[1.0, f64::NAN], &w, 1.0, Capacity::Unlimited),
            "invalid input: price of item 1 is NaN; it must be a finite number",
        ),
        (
            AssortmentProblem::new(&[1.0, -2.0], &w, 1.0, Capacity::Unlimited),
            "invalid input: price of item 1 is -2; prices must not be negative",
        ),
        (
            AssortmentProblem::new(&p, &[1.0, 0.0], 1.0, Capacity::Unlimited),
            "invalid input: weight of item 1 is 0; MNL weights must be positive",
        ),
        (
            AssortmentProblem::new(&p, &[1.0, f64::INFINITY], 1.0, Capacity::Unlimited),
            "invalid input: weight of item 1 is inf",
        ),
        (
            AssortmentProblem::new(&p, &w, 0.0, Capacity::Unlimited),
            "invalid input: the no-purchase weight is 0",
        ),
        (
            AssortmentProblem::new(&p, &[1.0], 1.0, Capacity::Unlimited),
            "invalid input: 2 prices but 1 weights",
        ),
        (
            AssortmentProblem {
                must_include: &[5],
                ..AssortmentProblem::new(&p, &w, 1.0, Capacity::Unlimited)
            },
            "invalid input: required item 5 does not exist",
        ),
        (
            AssortmentProblem {
                must_include: &[0],
                exclude: &[0],
                ..AssortmentProblem::new(&p, &w, 1.0, Capacity::Unlimited)
            },
            "infeasible: item 0 is both required and excluded",
        ),
        (
            AssortmentProblem {
                must_include: &[0, 1],
                ..AssortmentProblem::new(&p, &w, 1.0, Capacity::AtMost(1))
            },
            "infeasible: 2 items are required but at most 1 may be shown",
        ),
        (
            AssortmentProblem {
                must_include: &[0, 1],
                groups: Some(GroupCaps {
                    group_of: &groups_of,
                    caps: &one_cap,
                }),
                ..AssortmentProblem::new(&p, &w, 1.0, Capacity::Unlimited)
            },
            "infeasible: the required items put more than 1 item(s) into group 0",
        ),
        (
            AssortmentProblem::new(&p, &w, 1.0, Capacity::Exactly(3)),
            "infeasible: exactly 3 items must be shown but only 2 can be",
        ),
    ];
    for (problem, message) in cases {
        let error = optimize(&problem).unwrap_err().to_string();
        assert!(error.starts_with(message), "expected {message:?}, got {error:?}");
    }
}

/// The linear program of Davis, Gallego and Topaloglu (2013): with choice probabilities `x_i`,
/// `x_0` as variables, `max Σ p_i x_i` s.t. `x_0 + Σ x_i = 1`, `0 ≤ x_i / v_i ≤ x_0 / v_0`, and
/// each capacity constraint `Σ_{i∈G} x_i / v_i ≤ cap_G · x_0 / v_0` (equality for "exactly",
/// and `x_i / v_i = x_0 / v_0` for required items). Its constraint matrix is totally unimodular
/// for laminar caps, so its optimum is the optimal expected revenue.
fn dgt_linear_program(instance: &Instance) -> Option<f64> {
    use microlp::{ComparisonOp, OptimizationDirection, Problem};
    let n = instance.prices.len();
    let mut lp = Problem::new(OptimizationDirection::Maximize);
    let x0 = lp.add_var(0.0, (0.0, 1.0));
    let usable: Vec<usize> = (0..n)
        .filter(|i| !instance.exclude.contains(i) && instance.eligible.as_ref().is_none_or(|mask| mask[*i]))
        .collect();
    if instance.must_include.iter().any(|i| !usable.contains(i)) {
        return None; // a required item that may not be shown: no feasible assortment
    }
    let vars: Vec<_> = usable
        .iter()
        .map(|&i| (i, lp.add_var(instance.prices[i], (0.0, 1.0))))
        .collect();
    let mut total = vec![(x0, 1.0)];
    total.extend(vars.iter().map(|&(_, x)| (x, 1.0)));
    lp.add_constraint(total.as_slice(), ComparisonOp::Eq, 1.0);
    let v0 = instance.v0;
    for &(i, x) in &vars {
        let op = if instance.must_include.contains(&i) {
            ComparisonOp::Eq
        } else {
            ComparisonOp::Le
        };
        lp.add_constraint([(x, 1.0 / instance.weights[i]), (x0, -1.0 / v0)].as_slice(), op, 0.0);
    }
    let capacity_row = |members: &[(usize, microlp::Variable)], cap: usize| {
        let mut row: Vec<_> = members.iter().map(|&(i, x)| (x, 1.0 / instance.weights[i])).collect();
        row.push((x0, -(cap as f64) / v0));
        row
    };
    match instance.capacity {
        Capacity::Unlimited => {}
        Capacity::AtMost(c) => lp.add_constraint(capacity_row(&vars, c).as_slice(), ComparisonOp::Le, 0.0),
        Capacity::Exactly(c) => lp.add_constraint(capacity_row(&vars, c).as_slice(), ComparisonOp::Eq, 0.0),
    }
    if let Some(group_of) = &instance.group_of {
        for (g, &cap) in instance.caps.iter().enumerate() {
            let members: Vec<_> = vars
                .iter()
                .copied()
                .filter(|&(i, _)| group_of[i] as usize == g)
                .collect();
            lp.add_constraint(capacity_row(&members, cap).as_slice(), ComparisonOp::Le, 0.0);
        }
    }
    lp.solve().ok().map(|solution| solution.objective())
}

#[test]
fn matches_the_linear_program_on_medium_instances() {
    let mut rng = Rng(2013);
    let mut compared = 0;
    for case in 0..200 {
        let n = 30 + rng.below(170);
        let groups = 1 + rng.below(8);
        let instance = Instance {
            prices: (0..n).map(|_| (1.0 + rng.unit() * 99.0).round()).collect(),
            weights: (0..n).map(|_| 0.05 + rng.unit() * 5.0).collect(),
            v0: 0.5 + rng.unit() * 20.0,
            capacity: match rng.below(3) {
                0 => Capacity::AtMost(1 + rng.below(20)),
                1 => Capacity::Exactly(1 + rng.below(10)),
                _ => Capacity::Unlimited,
            },
            group_of: (rng.below(2) == 0).then(|| (0..n).map(|_| rng.below(groups) as u32).collect()),
            caps: (0..groups).map(|_| 1 + rng.below(4)).collect(),
            eligible: (rng.below(2) == 0).then(|| (0..n).map(|_| rng.below(4) != 0).collect()),
            must_include: (0..rng.below(2)).map(|_| rng.below(n)).collect(),
            exclude: (0..rng.below(5)).map(|_| rng.below(n)).collect(),
        };
        match (dgt_linear_program(&instance), optimize(&instance.problem())) {
            (Some(lp), Ok(answer)) => {
                let relative = (answer.expected_revenue - lp).abs() / lp.abs().max(1e-12);
                assert!(
                    relative <= 1e-9,
                    "case {case}: optimizer {} vs LP {lp}",
                    answer.expected_revenue
                );
                compared += 1;
            }
            (None, Err(OptimizeError::Infeasible(_))) => {}
            (lp, answer) => panic!("case {case}: LP {lp:?}, optimizer {answer:?}"),
        }
    }
    assert!(compared > 150, "only {compared} instances were feasible");
}
