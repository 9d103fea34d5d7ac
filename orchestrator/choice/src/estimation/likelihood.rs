//! The conditional logit's negative log-likelihood over choice sets in parameter slots, with its
//! gradient and Hessian (the reference item's intercept fixed at 0, `β` in the last slot).

pub(super) fn utility(slot: usize, price: f64, theta: &[f64], beta: usize) -> f64 {
    let intercept = if slot == usize::MAX { 0.0 } else { theta[slot] };
    intercept + theta[beta] * price
}

/// A choice set in parameter slots: `(slot, price)` per alternative (slot `usize::MAX` is the
/// reference item), times each was chosen, and their sum.
pub(super) struct ChoiceSet {
    pub(super) alternatives: Vec<(usize, f64)>,
    pub(super) counts: Vec<f64>,
    pub(super) total: f64,
}

pub(super) fn negative_log_likelihood(sets: &[ChoiceSet], theta: &[f64], beta: usize) -> f64 {
    sets.iter()
        .map(|set| {
            let utilities = set
                .alternatives
                .iter()
                .map(|&(slot, price)| utility(slot, price, theta, beta));
            let max = utilities.clone().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = max + utilities.clone().map(|u| (u - max).exp()).sum::<f64>().ln();
            utilities
                .zip(&set.counts)
                .map(|(u, count)| count * (log_sum - u))
                .sum::<f64>()
        })
        .sum()
}

pub(super) fn derivatives(sets: &[ChoiceSet], theta: &[f64], beta: usize, gradient: &mut [f64], hessian: &mut [f64]) {
    let d = gradient.len();
    gradient.fill(0.0);
    hessian.fill(0.0);
    let mut probabilities = Vec::new();
    for set in sets {
        let (alternatives, total) = (&set.alternatives, set.total);
        probabilities.clear();
        probabilities.extend(
            alternatives
                .iter()
                .map(|&(slot, price)| utility(slot, price, theta, beta)),
        );
        let max = probabilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for p in probabilities.iter_mut() {
            *p = (*p - max).exp();
            sum += *p;
        }
        for p in probabilities.iter_mut() {
            *p /= sum;
        }
        // With x_k = e_slot(k) (absent for the reference item) + price_k · e_β:
        // gradient = total · x̄ − Σ_k n_k x_k, Hessian = total · (Σ_k p_k x_k x_kᵀ − x̄ x̄ᵀ).
        let mean_price: f64 = alternatives
            .iter()
            .zip(&probabilities)
            .map(|(&(_, price), p)| p * price)
            .sum();
        gradient[beta] += total * mean_price;
        for ((&(slot, price), &p), &count) in alternatives.iter().zip(&probabilities).zip(&set.counts) {
            gradient[beta] -= count * price;
            if slot != usize::MAX {
                gradient[slot] += total * p - count;
                hessian[slot * d + slot] += total * p;
                hessian[slot * d + beta] += total * p * price;
                hessian[beta * d + slot] += total * p * price;
            }
            hessian[beta * d + beta] += total * p * price * price;
        }
        for (&(slot_a, _), &p_a) in alternatives.iter().zip(&probabilities) {
            if slot_a == usize::MAX {
                continue;
            }
            for (&(slot_b, _), &p_b) in alternatives.iter().zip(&probabilities) {
                if slot_b != usize::MAX {
                    hessian[slot_a * d + slot_b] -= total * p_a * p_b;
                }
            }
            hessian[slot_a * d + beta] -= total * p_a * mean_price;
            hessian[beta * d + slot_a] -= total * p_a * mean_price;
        }
        hessian[beta * d + beta] -= total * mean_price * mean_price;
    }
}
