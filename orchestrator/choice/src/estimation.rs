//! Conditional (multinomial) logit estimation from observed choices: item intercepts and one
//! price coefficient, `u_ij = α_j + β · price_ij`, by maximum likelihood.
//!
//! The negative log-likelihood is convex; it is minimised by Newton's method with a
//! backtracking (Armijo) line search. Convergence: the Newton decrement `gᵀH⁻¹g / 2` falls
//! below `options.tolerance` (default 1e-10, in log-likelihood units), or `max_iterations` is
//! reached (reported as not converged). Standard errors are the square roots of the diagonal of
//! the inverse Hessian (the observed information) at the optimum.
//!
//! Identification: intercepts are relative to a reference item (the most chosen one unless
//! given), whose intercept is 0. An item that appears in choice sets but is never chosen has no
//! finite maximum-likelihood intercept; such items are left out of the fit and listed in
//! [`Fit::unidentified_items`], never dropped silently. The outside (no-purchase) option is not
//! observed in purchase logs: [`no_purchase_weight`] derives `v_0` from an assumed share.

/// One alternative of a choice set: the item and its price at that time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alternative {
    /// Item index, `< item_count`.
    pub item: u32,
    /// Price when the choice was made.
    pub price: f64,
}

/// Choices made from one choice set: what was on offer and how often each alternative was
/// chosen. Purchase logs aggregate naturally this way (all purchases of a category in one
/// period share the set), which makes the fit cost proportional to sets, not purchases.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// What was on offer (at least two alternatives to carry information).
    pub alternatives: Vec<Alternative>,
    /// Times each alternative was chosen (same length as `alternatives`, at least one positive).
    pub chosen_counts: Vec<f64>,
}

impl Observation {
    /// One choice of `alternatives[chosen]`.
    pub fn single(alternatives: Vec<Alternative>, chosen: usize) -> Observation {
        let mut chosen_counts = vec![0.0; alternatives.len()];
        if let Some(count) = chosen_counts.get_mut(chosen) {
            *count = 1.0;
        }
        Observation {
            alternatives,
            chosen_counts,
        }
    }
}

/// Settings of the fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Newton iterations at most.
    pub max_iterations: u32,
    /// Stop when the Newton decrement is below this.
    pub tolerance: f64,
    /// The item whose intercept is fixed at 0 (default: the most chosen).
    pub reference_item: Option<u32>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            max_iterations: 100,
            tolerance: 1e-10,
            reference_item: None,
        }
    }
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// `α_j` per item; `None` for items not identified (never chosen, or never offered).
    pub intercepts: Vec<Option<f64>>,
    /// Standard error of each identified intercept (0 for the reference item).
    pub intercept_standard_errors: Vec<Option<f64>>,
    /// `β`.
    pub price_coefficient: f64,
    /// Standard error of `β`.
    pub price_standard_error: f64,
    /// The reference item.
    pub reference_item: u32,
    /// Log-likelihood at the optimum.
    pub log_likelihood: f64,
    /// Log-likelihood of equal choice probabilities (for a pseudo-R²).
    pub null_log_likelihood: f64,
    /// Newton iterations used.
    pub iterations: u32,
    /// Whether the tolerance was reached.
    pub converged: bool,
    /// Observations used (sum of counts) and how many were skipped because they had a single
    /// identified alternative.
    pub observations_used: f64,
    /// Observations without information (fewer than two identified alternatives).
    pub observations_skipped: f64,
    /// Items offered but never chosen (their intercept would be −∞).
    pub unidentified_items: Vec<u32>,
}

/// Why a fit could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Malformed observations; the message names the first bad one.
    #[error("invalid observations: {0}")]
    Invalid(String),
    /// Nothing to estimate from.
    #[error("no observation carries information: each needs at least two identified alternatives")]
    NoInformation,
    /// The Hessian is singular: typically prices never vary for the same item.
    #[error(
        "the model is not identified ({0}); prices must vary across observations of the same item for the price coefficient"
    )]
    NotIdentified(String),
}

/// Largest number of parameters the dense Newton method accepts (the Hessian is `d × d`).
pub const MAX_PARAMETERS: usize = 4_000;

/// Fits the conditional logit on `item_count` items.
pub fn fit(item_count: usize, observations: &[Observation], options: &FitOptions) -> Result<Fit, FitError> {
    let mut chosen_count = vec![0.0f64; item_count];
    let mut offered = vec![false; item_count];
    for (index, observation) in observations.iter().enumerate() {
        if observation.chosen_counts.len() != observation.alternatives.len() {
            return Err(FitError::Invalid(format!(
                "observation {index}: {} chosen counts for {} alternatives",
                observation.chosen_counts.len(),
                observation.alternatives.len()
            )));
        }
        if let Some(count) = observation
            .chosen_counts
            .iter()
            .find(|c| !(c.is_finite() && **c >= 0.0))
        {
            return Err(FitError::Invalid(format!(
                "observation {index}: count {count} is not a non-negative number"
            )));
        }
        if observation.chosen_counts.iter().sum::<f64>() <= 0.0 {
            return Err(FitError::Invalid(format!("observation {index}: nothing was chosen")));
        }
        for alternative in &observation.alternatives {
            if alternative.item as usize >= item_count {
                return Err(FitError::Invalid(format!(
                    "observation {index}: item {} is outside 0..{item_count}",
                    alternative.item
                )));
            }
            if !(alternative.price.is_finite() && alternative.price >= 0.0) {
                return Err(FitError::Invalid(format!(
                    "observation {index}: item {} has price {}",
                    alternative.item, alternative.price
                )));
            }
            offered[alternative.item as usize] = true;
        }
        for (alternative, count) in observation.alternatives.iter().zip(&observation.chosen_counts) {
            chosen_count[alternative.item as usize] += count;
        }
    }
    let unidentified_items: Vec<u32> = (0..item_count)
        .filter(|&j| offered[j] && chosen_count[j] == 0.0)
        .map(|j| j as u32)
        .collect();
    let identified = |j: usize| chosen_count[j] > 0.0;
    let reference_item = match options.reference_item {
        Some(item) if (item as usize) < item_count && identified(item as usize) => item as usize,
        Some(item) => {
            return Err(FitError::Invalid(format!(
                "reference item {item} is never chosen, so it cannot anchor the intercepts"
            )));
        }
        None => (0..item_count)
            .max_by(|&a, &b| chosen_count[a].total_cmp(&chosen_count[b]).then(b.cmp(&a)))
            .filter(|&j| identified(j))
            .ok_or(FitError::NoInformation)?,
    };
    // Parameter layout: one slot per identified non-reference item, then β last.
    let mut slot = vec![usize::MAX; item_count];
    let mut parameter_count = 0;
    for (j, item_slot) in slot.iter_mut().enumerate() {
        if identified(j) && j != reference_item {
            *item_slot = parameter_count;
            parameter_count += 1;
        }
    }
    let beta = parameter_count;
    let dimension = parameter_count + 1;
    if dimension > MAX_PARAMETERS {
        return Err(FitError::Invalid(format!(
            "{dimension} parameters exceed the dense Newton limit of {MAX_PARAMETERS}; fit per subclass"
        )));
    }

    // Compact the data: identified alternatives only, sets with at least two of them. Choices
    // of unidentified items cannot occur (they were never chosen).
    let mut sets: Vec<ChoiceSet> = Vec::with_capacity(observations.len());
    let (mut used, mut skipped) = (0.0, 0.0);
    for observation in observations {
        let total: f64 = observation.chosen_counts.iter().sum();
        let (alternatives, counts): (Vec<(usize, f64)>, Vec<f64>) = observation
            .alternatives
            .iter()
            .zip(&observation.chosen_counts)
            .filter(|(a, _)| identified(a.item as usize))
            .map(|(a, &count)| ((slot[a.item as usize], a.price), count))
            .unzip();
        if alternatives.len() < 2 {
            skipped += total;
            continue;
        }
        used += total;
        sets.push(ChoiceSet {
            alternatives,
            counts,
            total,
        });
    }
    if sets.is_empty() {
        return Err(FitError::NoInformation);
    }

    let null_log_likelihood: f64 = sets
        .iter()
        .map(|set| -set.total * (set.alternatives.len() as f64).ln())
        .sum();
    let mut theta = vec![0.0; dimension];
    let mut gradient = vec![0.0; dimension];
    let mut hessian = vec![0.0; dimension * dimension];
    let mut step = vec![0.0; dimension];
    let mut converged = false;
    let mut iterations = 0;
    let mut nll = negative_log_likelihood(&sets, &theta, beta);
    while iterations < options.max_iterations {
        iterations += 1;
        derivatives(&sets, &theta, beta, &mut gradient, &mut hessian);
        let factor = cholesky(&hessian, dimension)
            .ok_or_else(|| FitError::NotIdentified("the Hessian of the log-likelihood is singular".to_owned()))?;
        for (s, g) in step.iter_mut().zip(&gradient) {
            *s = -g;
        }
        cholesky_solve(&factor, dimension, &mut step);
        let decrement: f64 = -gradient.iter().zip(&step).map(|(g, s)| g * s).sum::<f64>() / 2.0;
        if decrement < options.tolerance {
            converged = true;
            break;
        }
        // Backtracking line search on the convex objective (Armijo condition).
        let slope: f64 = gradient.iter().zip(&step).map(|(g, s)| g * s).sum();
        let mut t = 1.0;
        loop {
            let trial: Vec<f64> = theta.iter().zip(&step).map(|(x, s)| x + t * s).collect();
            let trial_nll = negative_log_likelihood(&sets, &trial, beta);
            if trial_nll <= nll + 1e-4 * t * slope || t < 1e-12 {
                theta = trial;
                nll = trial_nll;
                break;
            }
            t *= 0.5;
        }
    }
    derivatives(&sets, &theta, beta, &mut gradient, &mut hessian);
    let factor = cholesky(&hessian, dimension)
        .ok_or_else(|| FitError::NotIdentified("the Hessian at the optimum is singular".to_owned()))?;
    let variances = inverse_diagonal(&factor, dimension);

    let mut intercepts = vec![None; item_count];
    let mut intercept_standard_errors = vec![None; item_count];
    intercepts[reference_item] = Some(0.0);
    intercept_standard_errors[reference_item] = Some(0.0);
    for j in 0..item_count {
        if slot[j] != usize::MAX {
            intercepts[j] = Some(theta[slot[j]]);
            intercept_standard_errors[j] = Some(variances[slot[j]].sqrt());
        }
    }
    Ok(Fit {
        intercepts,
        intercept_standard_errors,
        price_coefficient: theta[beta],
        price_standard_error: variances[beta].sqrt(),
        reference_item: reference_item as u32,
        log_likelihood: -nll,
        null_log_likelihood,
        iterations,
        converged,
        observations_used: used,
        observations_skipped: skipped,
        unidentified_items,
    })
}

/// The no-purchase weight `v_0` such that, with every item of `weights` on offer, the shopper
/// buys nothing with probability `share`: `v_0 = share / (1 − share) · Σ v_j`.
pub fn no_purchase_weight(weights: &[f64], share: f64) -> Result<f64, FitError> {
    if !(share > 0.0 && share < 1.0) {
        return Err(FitError::Invalid(format!(
            "the no-purchase share must be strictly between 0 and 1, not {share}"
        )));
    }
    Ok(share / (1.0 - share) * weights.iter().sum::<f64>())
}

fn utility(slot: usize, price: f64, theta: &[f64], beta: usize) -> f64 {
    let intercept = if slot == usize::MAX { 0.0 } else { theta[slot] };
    intercept + theta[beta] * price
}

/// A choice set in parameter slots: `(slot, price)` per alternative (slot `usize::MAX` is the
/// reference item), times each was chosen, and their sum.
struct ChoiceSet {
    alternatives: Vec<(usize, f64)>,
    counts: Vec<f64>,
    total: f64,
}

fn negative_log_likelihood(sets: &[ChoiceSet], theta: &[f64], beta: usize) -> f64 {
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

fn derivatives(sets: &[ChoiceSet], theta: &[f64], beta: usize, gradient: &mut [f64], hessian: &mut [f64]) {
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

/// Lower-triangular Cholesky factor of a symmetric positive-definite matrix, or `None`.
fn cholesky(matrix: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut factor = vec![0.0; d * d];
    let scale = (0..d)
        .map(|i| matrix[i * d + i].abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    for i in 0..d {
        for j in 0..=i {
            let mut sum = matrix[i * d + j];
            for k in 0..j {
                sum -= factor[i * d + k] * factor[j * d + k];
            }
            if i == j {
                if sum <= 1e-13 * scale {
                    return None;
                }
                factor[i * d + i] = sum.sqrt();
            } else {
                factor[i * d + j] = sum / factor[j * d + j];
            }
        }
    }
    Some(factor)
}

/// Solves `L Lᵀ x = b` in place.
fn cholesky_solve(factor: &[f64], d: usize, b: &mut [f64]) {
    for i in 0..d {
        let mut sum = b[i];
        for k in 0..i {
            sum -= factor[i * d + k] * b[k];
        }
        b[i] = sum / factor[i * d + i];
    }
    for i in (0..d).rev() {
        let mut sum = b[i];
        for k in i + 1..d {
            sum -= factor[k * d + i] * b[k];
        }
        b[i] = sum / factor[i * d + i];
    }
}

/// Diagonal of `(L Lᵀ)⁻¹`: `Σ_k (L⁻¹)_{k i}²`.
fn inverse_diagonal(factor: &[f64], d: usize) -> Vec<f64> {
    let mut diagonal = vec![0.0; d];
    let mut column = vec![0.0; d];
    for i in 0..d {
        // Column i of L⁻¹ by forward substitution of e_i.
        column.fill(0.0);
        column[i] = 1.0 / factor[i * d + i];
        for r in i + 1..d {
            let mut sum = 0.0;
            for k in i..r {
                sum -= factor[r * d + k] * column[k];
            }
            column[r] = sum / factor[r * d + r];
        }
        diagonal[i] = column[i..].iter().map(|value| value * value).sum();
    }
    diagonal
}

#[cfg(test)]
mod tests;
