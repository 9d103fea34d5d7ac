//! Conditional (multinomial) logit estimation from observed choices: item intercepts and one
//! price coefficient, `u_ij = α_j + β · price_ij`, by maximum likelihood.
//!
//! The negative log-likelihood is convex; it is minimised by Newton's method with a
//! backtracking (Armijo) line search. Convergence: the Newton decrement `gᵀH⁻¹g / 2` (the
//! predicted gain in log-likelihood) falls below `options.tolerance · max(1, |log-likelihood|)`
//! (default 1e-10: absolute for small data, relative for large data, where a sum of 10⁵ terms
//! cannot be resolved more finely), or `max_iterations` is reached (reported as not converged). Standard errors are the square roots of the diagonal of
//! the inverse Hessian (the observed information) at the optimum.
//!
//! Identification: intercepts are relative to a reference item (the most chosen one unless
//! given), whose intercept is 0. An item with no finite maximum-likelihood intercept (never chosen
//! where it competes with another item) or not linked to the reference through shared choice
//! sets is left out of the fit and listed in [`Fit::unidentified_items`], never dropped silently. The outside (no-purchase) option is not
//! observed in purchase logs: [`no_purchase_weight`] derives `v_0` from an assumed share.

mod likelihood;
mod linalg;
mod newton;

use likelihood::{ChoiceSet, derivatives, negative_log_likelihood};
use linalg::{cholesky, cholesky_solve, damped_cholesky, inverse_diagonal};
use newton::{newton_shared_price, newton_shared_price_refs};

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
    /// Stop when the Newton decrement is below this times max(1, |log-likelihood|).
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
    /// `α_j` per item; `None` for items not identified (see the module docs) or never offered.
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
    /// Items offered but not identified: never chosen where they compete (their intercept would
    /// be −∞), or not linked to the reference item through shared choice sets.
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

/// One group's data, validated and laid out: parameter slots of its identified non-reference
/// items (`usize::MAX` for the reference and unidentified ones) and its compact choice sets.
struct PreparedGroup {
    item_count: usize,
    slot: Vec<usize>,
    parameter_count: usize,
    reference_item: usize,
    sets: Vec<ChoiceSet>,
    used: f64,
    skipped: f64,
    unidentified_items: Vec<u32>,
    null_log_likelihood: f64,
}

fn prepare(item_count: usize, observations: &[Observation], reference: Option<u32>) -> Result<PreparedGroup, FitError> {
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
    // An intercept has a finite estimate only if the item is chosen in some set where it
    // competes with another candidate; dropping items that are not can leave others alone in
    // their sets, so repeat until nothing changes.
    let mut candidate: Vec<bool> = chosen_count.iter().map(|&c| c > 0.0).collect();
    loop {
        let mut competing_choices = vec![0.0f64; item_count];
        for observation in observations {
            let present = observation
                .alternatives
                .iter()
                .filter(|a| candidate[a.item as usize])
                .count();
            if present >= 2 {
                for (alternative, count) in observation.alternatives.iter().zip(&observation.chosen_counts) {
                    if candidate[alternative.item as usize] {
                        competing_choices[alternative.item as usize] += count;
                    }
                }
            }
        }
        let next: Vec<bool> = competing_choices.iter().map(|&c| c > 0.0).collect();
        if next == candidate {
            break;
        }
        candidate = next;
    }
    let reference_item = match reference {
        Some(item) if (item as usize) < item_count && candidate[item as usize] => item as usize,
        Some(item) => {
            return Err(FitError::Invalid(format!(
                "reference item {item} is never chosen against another item, so it cannot anchor the intercepts"
            )));
        }
        None => (0..item_count)
            .filter(|&j| candidate[j])
            .max_by(|&a, &b| chosen_count[a].total_cmp(&chosen_count[b]).then(b.cmp(&a)))
            .ok_or(FitError::NoInformation)?,
    };
    // Intercepts are only relative within items linked through shared choice sets: keep the
    // connected component of the reference item (union-find over co-offered candidates).
    let mut parent: Vec<usize> = (0..item_count).collect();
    fn root(parent: &mut [usize], mut item: usize) -> usize {
        while parent[item] != item {
            parent[item] = parent[parent[item]];
            item = parent[item];
        }
        item
    }
    for observation in observations {
        let mut members = observation
            .alternatives
            .iter()
            .map(|a| a.item as usize)
            .filter(|&j| candidate[j]);
        if let Some(first) = members.next() {
            for other in members {
                let (a, b) = (root(&mut parent, first), root(&mut parent, other));
                parent[a] = b;
            }
        }
    }
    let reference_root = root(&mut parent, reference_item);
    let connected: Vec<bool> = (0..item_count)
        .map(|j| candidate[j] && root(&mut parent, j) == reference_root)
        .collect();
    let unidentified_items: Vec<u32> = (0..item_count)
        .filter(|&j| offered[j] && !connected[j])
        .map(|j| j as u32)
        .collect();
    let identified = |j: usize| connected[j];
    let mut slot = vec![usize::MAX; item_count];
    let mut parameter_count = 0;
    for (j, item_slot) in slot.iter_mut().enumerate() {
        if identified(j) && j != reference_item {
            *item_slot = parameter_count;
            parameter_count += 1;
        }
    }
    // Compact the data: identified alternatives only, sets with at least two of them. Choices
    // of unidentified items only occur where they did not compete; those sets are skipped.
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
    let null_log_likelihood = sets
        .iter()
        .map(|set| -set.total * (set.alternatives.len() as f64).ln())
        .sum();
    Ok(PreparedGroup {
        item_count,
        slot,
        parameter_count,
        reference_item,
        sets,
        used,
        skipped,
        unidentified_items,
        null_log_likelihood,
    })
}

/// Fits the conditional logit on `item_count` items.
pub fn fit(item_count: usize, observations: &[Observation], options: &FitOptions) -> Result<Fit, FitError> {
    let group = prepare(item_count, observations, options.reference_item)?;
    if group.sets.is_empty() {
        return Err(FitError::NoInformation);
    }
    let dimension = group.parameter_count + 1;
    if dimension > MAX_PARAMETERS {
        return Err(FitError::Invalid(format!(
            "{dimension} parameters exceed the dense Newton limit of {MAX_PARAMETERS}; fit per subclass or with fit_shared_price"
        )));
    }
    let shared = newton_shared_price(std::slice::from_ref(&group), options)?;
    let (theta, variances) = (&shared.thetas[0], &shared.variances[0]);
    let (intercepts, intercept_standard_errors) = group.intercepts(theta, variances);
    Ok(Fit {
        intercepts,
        intercept_standard_errors,
        price_coefficient: shared.beta,
        price_standard_error: shared.beta_variance.sqrt(),
        reference_item: group.reference_item as u32,
        log_likelihood: -shared.nll,
        null_log_likelihood: group.null_log_likelihood,
        iterations: shared.iterations,
        converged: shared.converged,
        observations_used: group.used,
        observations_skipped: group.skipped,
        unidentified_items: group.unidentified_items,
    })
}

/// One group's part of a [`SharedPriceFit`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFit {
    /// `α_j` per item of the group, relative to the group's reference item.
    pub intercepts: Vec<Option<f64>>,
    /// Standard errors of the intercepts (accounting for the uncertainty of the shared `β`).
    pub intercept_standard_errors: Vec<Option<f64>>,
    /// The item whose intercept is 0 (`None` when the group carries no information).
    pub reference_item: Option<u32>,
    /// Items offered but not identified.
    pub unidentified_items: Vec<u32>,
    /// Choices used.
    pub observations_used: f64,
    /// Choices without information.
    pub observations_skipped: f64,
}

/// A joint fit over groups that never share a choice set (e.g. product subclasses): intercepts
/// per group, one price coefficient for all.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedPriceFit {
    /// Per group, in input order.
    pub groups: Vec<GroupFit>,
    /// The shared `β`.
    pub price_coefficient: f64,
    /// Its standard error.
    pub price_standard_error: f64,
    /// Total log-likelihood at the optimum.
    pub log_likelihood: f64,
    /// Total log-likelihood of equal probabilities.
    pub null_log_likelihood: f64,
    /// Newton iterations.
    pub iterations: u32,
    /// Whether the tolerance was reached.
    pub converged: bool,
}

/// Fits intercepts per group with one shared price coefficient. The Hessian is block diagonal
/// apart from the `β` row and column, so each Newton step factors the groups' blocks separately
/// and eliminates `β` through its Schur complement: the cost grows with the sum of the cubes of
/// the group sizes, not the cube of the catalog, and there is no limit on the total. Groups
/// whose data carry no information (fewer than two identified alternatives anywhere) are
/// reported with no intercepts. `options.reference_item` is ignored (each group uses its most
/// chosen item).
pub fn fit_shared_price(groups: &[(usize, &[Observation])], options: &FitOptions) -> Result<SharedPriceFit, FitError> {
    fit_shared_price_with_progress(groups, options, &mut |_| {})
}

/// One Newton iteration, as reported to a progress callback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationReport {
    /// Iterations done so far (1-based).
    pub iteration: u32,
    /// Log-likelihood at the current parameters.
    pub log_likelihood: f64,
    /// Newton decrement of the step just computed (the convergence measure).
    pub decrement: f64,
}

/// [`fit_shared_price`] that reports every Newton iteration, for progress output on long fits.
pub fn fit_shared_price_with_progress(
    groups: &[(usize, &[Observation])],
    options: &FitOptions,
    on_iteration: &mut dyn FnMut(IterationReport),
) -> Result<SharedPriceFit, FitError> {
    let prepared = groups
        .iter()
        .enumerate()
        .map(|(index, (item_count, observations))| {
            prepare(*item_count, observations, None).map_err(|error| match error {
                FitError::Invalid(message) => FitError::Invalid(format!("group {index}: {message}")),
                other => other,
            })
        })
        .collect::<Vec<_>>();
    // A group without any chosen item has nothing to fit; keep it as an empty result.
    let prepared: Vec<Option<PreparedGroup>> = prepared
        .into_iter()
        .map(|group| match group {
            Ok(group) => Ok(Some(group)),
            Err(FitError::NoInformation) => Ok(None),
            Err(error) => Err(error),
        })
        .collect::<Result<_, _>>()?;
    let informative: Vec<&PreparedGroup> = prepared.iter().flatten().filter(|g| !g.sets.is_empty()).collect();
    if informative.is_empty() {
        return Err(FitError::NoInformation);
    }
    if let Some(large) = informative.iter().find(|g| g.parameter_count + 1 > MAX_PARAMETERS) {
        return Err(FitError::Invalid(format!(
            "a group has {} items, over the per-group limit of {MAX_PARAMETERS}",
            large.parameter_count + 1
        )));
    }
    let shared = newton_shared_price_refs(&informative, options, on_iteration)?;
    let mut fitted = Vec::with_capacity(groups.len());
    let mut next = 0;
    for (index, group) in prepared.iter().enumerate() {
        match group {
            Some(group) if !group.sets.is_empty() => {
                let (intercepts, intercept_standard_errors) =
                    group.intercepts(&shared.thetas[next], &shared.variances[next]);
                next += 1;
                fitted.push(GroupFit {
                    intercepts,
                    intercept_standard_errors,
                    reference_item: Some(group.reference_item as u32),
                    unidentified_items: group.unidentified_items.clone(),
                    observations_used: group.used,
                    observations_skipped: group.skipped,
                });
            }
            _ => {
                // Nothing in the group competes: every item it offers is unidentified.
                let (item_count, observations) = groups[index];
                let mut offered = vec![false; item_count];
                for alternative in observations.iter().flat_map(|o| o.alternatives.iter()) {
                    offered[alternative.item as usize] = true;
                }
                fitted.push(GroupFit {
                    intercepts: vec![None; item_count],
                    intercept_standard_errors: vec![None; item_count],
                    reference_item: None,
                    unidentified_items: (0..item_count as u32).filter(|&j| offered[j as usize]).collect(),
                    observations_used: 0.0,
                    observations_skipped: observations.iter().flat_map(|o| o.chosen_counts.iter()).sum(),
                });
            }
        }
    }
    Ok(SharedPriceFit {
        groups: fitted,
        price_coefficient: shared.beta,
        price_standard_error: shared.beta_variance.sqrt(),
        log_likelihood: -shared.nll,
        null_log_likelihood: prepared.iter().flatten().map(|g| g.null_log_likelihood).sum(),
        iterations: shared.iterations,
        converged: shared.converged,
    })
}

impl PreparedGroup {
    /// Intercepts and standard errors per item from the group's parameters and variances.
    fn intercepts(&self, theta: &[f64], variances: &[f64]) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
        let mut intercepts = vec![None; self.item_count];
        let mut errors = vec![None; self.item_count];
        intercepts[self.reference_item] = Some(0.0);
        errors[self.reference_item] = Some(0.0);
        for j in 0..self.item_count {
            if self.slot[j] != usize::MAX {
                intercepts[j] = Some(theta[self.slot[j]]);
                errors[j] = Some(variances[self.slot[j]].sqrt());
            }
        }
        (intercepts, errors)
    }
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

#[cfg(test)]
mod tests;
