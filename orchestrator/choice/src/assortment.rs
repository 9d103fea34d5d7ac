//! Exact MNL assortment optimization under cardinality, per-group caps, filters, and required or
//! excluded items.
//!
//! Method (parametric / Dinkelbach). For a threshold `λ` let
//! `h(λ) = max over feasible S of Σ_{i∈S} v_i (p_i − λ)`. The optimal revenue `R*` is the unique
//! root of `h(λ) = v_0 λ`, and `S` is optimal iff `h(R(S)) ≤ v_0 R(S)`. Starting from `λ = 0`,
//! each step solves the linear inner problem exactly and sets `λ` to the revenue of its answer,
//! until the revenue stops increasing; the final check is returned as the [`Certificate`].
//!
//! The inner problem is exact for every constraint family supported here: the feasible sets form
//! a laminar matroid (per-group caps under one total cap), contracted by the required items, so
//! the greedy choice by weight is optimal. Without groups it is a top-`k` selection in expected
//! `O(n)` (`select_nth_unstable_by`); with groups the candidates are examined in weight order,
//! sorting only as many as the greedy pass needs.

mod ranked;
mod validation;

use ranked::Ranked;
use validation::{all_valid, describe_invalid};

/// How many items may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// Any number.
    Unlimited,
    /// At most this many.
    AtMost(usize),
    /// Exactly this many (the form choice-learn solves); infeasible if too few items qualify.
    Exactly(usize),
}

/// Caps per group (for example at most 2 items per brand).
#[derive(Debug, Clone, Copy)]
pub struct GroupCaps<'a> {
    /// The group of each item (`group_of[i] < caps.len()`).
    pub group_of: &'a [u32],
    /// The most items of each group the assortment may hold.
    pub caps: &'a [usize],
}

/// One optimization problem. Arrays are indexed by item.
#[derive(Debug, Clone, Copy)]
pub struct AssortmentProblem<'a> {
    /// Price (revenue) of each item, finite and non-negative.
    pub prices: &'a [f64],
    /// MNL preference weight `v_i = exp(u_i)` of each item, finite and positive.
    pub weights: &'a [f64],
    /// Weight of the no-purchase option `v_0`, finite and positive.
    pub no_purchase_weight: f64,
    /// Cardinality constraint.
    pub capacity: Capacity,
    /// Optional per-group caps.
    pub groups: Option<GroupCaps<'a>>,
    /// Items that passed the shopper's filters (`None`: all of them).
    pub eligible: Option<&'a [bool]>,
    /// Items that must be shown (they must also be eligible).
    pub must_include: &'a [usize],
    /// Items that must not be shown.
    pub exclude: &'a [usize],
}

impl<'a> AssortmentProblem<'a> {
    /// A problem over all items with a capacity and nothing else.
    pub fn new(prices: &'a [f64], weights: &'a [f64], no_purchase_weight: f64, capacity: Capacity) -> Self {
        AssortmentProblem {
            prices,
            weights,
            no_purchase_weight,
            capacity,
            groups: None,
            eligible: None,
            must_include: &[],
            exclude: &[],
        }
    }
}

/// One item of the answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectedItem {
    /// Index into the problem's arrays.
    pub index: usize,
    /// Probability that the shopper buys this item when shown the assortment.
    pub probability: f64,
}

/// The optimality check `h(R) ≤ v_0 R` at the returned revenue `R`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Certificate {
    /// `λ = R(S)`, the revenue of the answer.
    pub lambda: f64,
    /// `h(λ)`, the best inner objective at `λ` over all feasible sets.
    pub h_lambda: f64,
    /// `v_0 λ`.
    pub v0_lambda: f64,
    /// Whether `h(λ) ≤ v_0 λ` holds (up to a relative 1e-9).
    pub holds: bool,
}

/// The optimal assortment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assortment {
    /// Items to show, in display order: highest purchase probability first (ties by index).
    pub items: Vec<SelectedItem>,
    /// `R(S)`.
    pub expected_revenue: f64,
    /// `v_0 / (v_0 + Σ v)`.
    pub no_purchase_probability: f64,
    /// Proof of optimality.
    pub certificate: Certificate,
    /// Dinkelbach iterations used.
    pub iterations: u32,
    /// When nothing could be shown, why (which constraint emptied the candidate set).
    pub empty_reason: Option<String>,
}

/// Why a problem could not be solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizeError {
    /// An input array or value is unusable; the message names it.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The constraints admit no assortment at all (e.g. required items over a cap).
    #[error("infeasible: {0}")]
    Infeasible(String),
}

const MAX_ITERATIONS: u32 = 200;
const RELATIVE_TOLERANCE: f64 = 1e-12;

/// Finds a revenue-maximizing assortment.
pub fn optimize(problem: &AssortmentProblem<'_>) -> Result<Assortment, OptimizeError> {
    let prepared = Prepared::new(problem)?;
    let forced_value: (f64, f64) = prepared.forced.iter().fold((0.0, 0.0), |(pv, v), &i| {
        (pv + problem.prices[i] * problem.weights[i], v + problem.weights[i])
    });
    let revenue_of = |set: &[usize]| {
        let (mut pv, mut v) = forced_value;
        for &i in set {
            pv += problem.prices[i] * problem.weights[i];
            v += problem.weights[i];
        }
        pv / (problem.no_purchase_weight + v)
    };

    let mut scratch = Scratch::default();
    let inner_value = |set: &[usize], lambda: f64| -> f64 {
        prepared
            .forced
            .iter()
            .chain(set.iter())
            .map(|&i| problem.weights[i] * (problem.prices[i] - lambda))
            .sum()
    };
    let mut best: Vec<usize> = prepared.inner(problem, 0.0, None, &mut scratch)?.to_vec();
    let mut best_revenue = revenue_of(&best);
    // h is non-increasing and h(R*) = v₀R*, so R* ≤ h(0) / v₀: every later λ lies below this.
    let upper = inner_value(&best, 0.0) / problem.no_purchase_weight;
    let mut iterations = 1;
    // Each step solves the inner problem at λ = the best revenue so far. When that no longer
    // improves the revenue, the same step's answer gives h(λ) for the certificate.
    let h_lambda = loop {
        let lambda = best_revenue;
        // The second step also narrows the candidates the later steps scan (see `Scratch`).
        let narrow = (iterations == 1 && problem.groups.is_none() && upper >= lambda).then_some(upper);
        let candidate = prepared.inner(problem, lambda, narrow, &mut scratch)?;
        iterations += 1;
        let revenue = revenue_of(candidate);
        if revenue > best_revenue * (1.0 + RELATIVE_TOLERANCE) && iterations < MAX_ITERATIONS {
            best = candidate.to_vec();
            best_revenue = revenue;
        } else {
            break inner_value(candidate, lambda).max(inner_value(&best, lambda));
        }
    };
    let lambda = best_revenue;
    let v0_lambda = problem.no_purchase_weight * lambda;
    let scale = v0_lambda.abs().max(h_lambda.abs()).max(f64::MIN_POSITIVE);
    let holds = h_lambda - v0_lambda <= 1e-9 * scale;

    let mut shown: Vec<usize> = prepared.forced.iter().copied().chain(best.iter().copied()).collect();
    let total_weight: f64 = problem.no_purchase_weight + shown.iter().map(|&i| problem.weights[i]).sum::<f64>();
    shown.sort_by(|&a, &b| problem.weights[b].total_cmp(&problem.weights[a]).then(a.cmp(&b)));
    let items: Vec<SelectedItem> = shown
        .iter()
        .map(|&index| SelectedItem {
            index,
            probability: problem.weights[index] / total_weight,
        })
        .collect();
    let empty_reason = if items.is_empty() {
        Some(prepared.empty_reason(problem))
    } else {
        None
    };
    Ok(Assortment {
        items,
        expected_revenue: best_revenue,
        no_purchase_probability: problem.no_purchase_weight / total_weight,
        certificate: Certificate {
            lambda,
            h_lambda,
            v0_lambda,
            holds,
        },
        iterations,
        empty_reason,
    })
}

/// Validated problem: candidates (eligible, not excluded, not forced), forced items, and the
/// capacities left once the forced items are placed.
struct Prepared {
    /// `None` when every item is a candidate (no filter, exclusion or required item), which
    /// spares a list of `n` indices.
    candidates: Option<Vec<u32>>,
    forced: Vec<usize>,
    /// Items still to choose: `AtMost` bound or `Exactly` count, after forced items.
    remaining: Remaining,
    /// Remaining cap per group after forced items (empty without groups).
    group_remaining: Vec<usize>,
    eligible_count: usize,
}

#[derive(Debug, Clone, Copy)]
enum Remaining {
    AtMost(usize),
    Exactly(usize),
}

#[derive(Default)]
struct Scratch {
    weighted: Vec<Ranked>,
    chosen: Vec<usize>,
    group_used: Vec<usize>,
    /// The candidates still worth scanning after the second step. Every later `λ'` lies in
    /// `[λ, U]` (`U = h(0)/v₀`). An item's weight `v_i(p_i − λ')` is at most `v_i(p_i − λ)`, and
    /// the `k`-th largest `v_j(p_j − U)` (call it `L`) is a weight at least `k` items keep at
    /// every such `λ'`; so an item with `v_i(p_i − λ) < L` (or no positive weight, unless the
    /// count is exact) can never enter the top `k` again, and later steps skip it. Without
    /// group caps only, where the answer is exactly the top `k`.
    active: Option<Vec<u32>>,
}

impl Prepared {
    fn new(problem: &AssortmentProblem<'_>) -> Result<Prepared, OptimizeError> {
        let n = problem.prices.len();
        if problem.weights.len() != n {
            return Err(OptimizeError::InvalidInput(format!(
                "{} prices but {} weights; give one of each per item",
                n,
                problem.weights.len()
            )));
        }
        let v0 = problem.no_purchase_weight;
        if !(v0.is_finite() && v0 > 0.0) {
            return Err(OptimizeError::InvalidInput(format!(
                "the no-purchase weight is {v0}; it must be a finite positive number"
            )));
        }
        // A branch-free pass first (it vectorises and costs far less than checking inside the
        // selection loop); the per-item search only runs on failure to name the offending item.
        if !all_valid(problem) {
            describe_invalid(problem)?;
        }
        if let Some(eligible) = problem.eligible
            && eligible.len() != n
        {
            return Err(OptimizeError::InvalidInput(format!(
                "the eligibility mask has {} entries for {n} items",
                eligible.len()
            )));
        }
        let mut group_remaining = Vec::new();
        if let Some(groups) = &problem.groups {
            if groups.group_of.len() != n {
                return Err(OptimizeError::InvalidInput(format!(
                    "the group array has {} entries for {n} items",
                    groups.group_of.len()
                )));
            }
            if let Some((i, &g)) = groups
                .group_of
                .iter()
                .enumerate()
                .find(|(_, g)| **g as usize >= groups.caps.len())
            {
                return Err(OptimizeError::InvalidInput(format!(
                    "item {i} is in group {g}, but caps are given for {} groups",
                    groups.caps.len()
                )));
            }
            group_remaining = groups.caps.to_vec();
        }
        // Marks only when there is something to mark: the common case allocates nothing of size n.
        let mut excluded = vec![false; if problem.exclude.is_empty() { 0 } else { n }];
        for &i in problem.exclude {
            if i >= n {
                return Err(OptimizeError::InvalidInput(format!(
                    "excluded item {i} does not exist ({n} items)"
                )));
            }
            excluded[i] = true;
        }
        let is_eligible = |i: usize| problem.eligible.is_none_or(|mask| mask[i]);
        let mut forced_mark = vec![false; if problem.must_include.is_empty() { 0 } else { n }];
        let mut forced = Vec::new();
        for &i in problem.must_include {
            if i >= n {
                return Err(OptimizeError::InvalidInput(format!(
                    "required item {i} does not exist ({n} items)"
                )));
            }
            if excluded.get(i) == Some(&true) {
                return Err(OptimizeError::Infeasible(format!(
                    "item {i} is both required and excluded"
                )));
            }
            if !is_eligible(i) {
                return Err(OptimizeError::Infeasible(format!(
                    "item {i} is required but does not pass the filters"
                )));
            }
            if !forced_mark[i] {
                forced_mark[i] = true;
                forced.push(i);
            }
        }
        if let Some(groups) = &problem.groups {
            for &i in &forced {
                let g = groups.group_of[i] as usize;
                if group_remaining[g] == 0 {
                    return Err(OptimizeError::Infeasible(format!(
                        "the required items put more than {} item(s) into group {g}",
                        groups.caps[g]
                    )));
                }
                group_remaining[g] -= 1;
            }
        }
        let remaining = match problem.capacity {
            Capacity::Unlimited => Remaining::AtMost(usize::MAX),
            Capacity::AtMost(c) | Capacity::Exactly(c) if forced.len() > c => {
                return Err(OptimizeError::Infeasible(format!(
                    "{} items are required but at most {c} may be shown",
                    forced.len()
                )));
            }
            Capacity::AtMost(c) => Remaining::AtMost(c - forced.len()),
            Capacity::Exactly(c) => Remaining::Exactly(c - forced.len()),
        };
        let eligible_count = problem.eligible.map_or(n, |mask| mask.iter().filter(|&&e| e).count());
        if n > u32::MAX as usize {
            return Err(OptimizeError::InvalidInput(format!(
                "{n} items is more than the {} supported",
                u32::MAX
            )));
        }
        let unrestricted = problem.eligible.is_none() && problem.exclude.is_empty() && forced.is_empty();
        let candidates = (!unrestricted).then(|| {
            (0..n)
                .filter(|&i| is_eligible(i) && excluded.get(i) != Some(&true) && forced_mark.get(i) != Some(&true))
                .map(|i| i as u32)
                .collect::<Vec<u32>>()
        });
        let prepared = Prepared {
            candidates,
            forced,
            remaining,
            group_remaining,
            eligible_count,
        };
        if let Remaining::Exactly(k) = prepared.remaining {
            let available = prepared.max_selectable(problem);
            if available < k {
                return Err(OptimizeError::Infeasible(format!(
                    "exactly {} items must be shown but only {} can be under the filters, exclusions and caps",
                    k + prepared.forced.len(),
                    available + prepared.forced.len()
                )));
            }
        }
        Ok(prepared)
    }

    /// How many candidates could be added at most, given the group caps.
    fn max_selectable(&self, problem: &AssortmentProblem<'_>) -> usize {
        match &problem.groups {
            None => self.candidate_count(problem),
            Some(groups) => {
                let mut per_group = vec![0usize; groups.caps.len()];
                self.for_each_candidate(problem, |i| per_group[groups.group_of[i] as usize] += 1);
                per_group
                    .iter()
                    .zip(&self.group_remaining)
                    .map(|(have, cap)| (*have).min(*cap))
                    .sum()
            }
        }
    }

    fn empty_reason(&self, problem: &AssortmentProblem<'_>) -> String {
        let n = problem.prices.len();
        if n == 0 {
            "the catalog has no items".to_owned()
        } else if self.eligible_count == 0 {
            format!("no item passes the filters (0 of {n})")
        } else if self.candidate_count(problem) == 0 {
            format!("all {} items that pass the filters are excluded", self.eligible_count)
        } else if matches!(self.remaining, Remaining::AtMost(0)) {
            "the capacity is 0".to_owned()
        } else if self.max_selectable(problem) == 0 {
            "the group caps allow no item".to_owned()
        } else {
            "no item is worth showing: every eligible item lowers the expected revenue (all prices are 0)".to_owned()
        }
    }

    /// The exact inner step: the feasible set maximizing `Σ v_i (p_i − λ)` over candidates.
    fn inner<'s>(
        &self,
        problem: &AssortmentProblem<'_>,
        lambda: f64,
        narrow: Option<f64>,
        scratch: &'s mut Scratch,
    ) -> Result<&'s [usize], OptimizeError> {
        let (limit, exact) = match self.remaining {
            Remaining::AtMost(k) => (k, false),
            Remaining::Exactly(k) => (k, true),
        };
        scratch.chosen.clear();
        // Without groups the best `limit` items are the answer; with groups the greedy pass may
        // skip items of full groups, so look at a wider prefix and widen it when that is not
        // enough (each widening rescans, but caps rarely skip more than a few times `limit`).
        let mut window = match problem.groups {
            None => limit,
            Some(_) => limit.saturating_mul(4).max(64),
        };
        let mut narrow = narrow;
        loop {
            let qualifying = self.top_by_weight(
                problem,
                lambda,
                exact,
                window,
                &mut scratch.weighted,
                &mut scratch.active,
                narrow.take(),
            );
            scratch.chosen.clear();
            match &problem.groups {
                None => scratch
                    .chosen
                    .extend(scratch.weighted.iter().take(limit).map(|entry| entry.index)),
                Some(groups) => {
                    scratch.group_used.clear();
                    scratch.group_used.extend_from_slice(&self.group_remaining);
                    for entry in &scratch.weighted {
                        if scratch.chosen.len() == limit {
                            break;
                        }
                        let g = groups.group_of[entry.index] as usize;
                        if scratch.group_used[g] > 0 {
                            scratch.group_used[g] -= 1;
                            scratch.chosen.push(entry.index);
                        }
                    }
                }
            }
            if scratch.chosen.len() == limit || qualifying <= window {
                break;
            }
            window = window.saturating_mul(4);
        }
        if exact && scratch.chosen.len() < limit {
            return Err(OptimizeError::Infeasible(format!(
                "exactly {} items must be shown but only {} can be",
                limit + self.forced.len(),
                scratch.chosen.len() + self.forced.len()
            )));
        }
        Ok(&scratch.chosen)
    }

    /// Fills `out` with the `window` best candidates by inner weight, best first (ties by
    /// index), counting only positive weights unless `exact`. Returns how many qualified in all.
    /// A bounded min-heap keeps this one pass with no allocation proportional to `n`; with
    /// `narrow = Some(U)` the pass also keeps the items that can still matter as the new
    /// `active` list (see [`Scratch::active`]).
    #[allow(clippy::too_many_arguments)]
    fn top_by_weight(
        &self,
        problem: &AssortmentProblem<'_>,
        lambda: f64,
        exact: bool,
        window: usize,
        out: &mut Vec<Ranked>,
        active: &mut Option<Vec<u32>>,
        narrow: Option<f64>,
    ) -> usize {
        out.clear();
        let mut survivors = Vec::new();
        if window == 0 {
            let mut count = 0;
            self.for_each_active(problem, active.as_deref(), |index| {
                if exact || problem.weights[index] * (problem.prices[index] - lambda) > 0.0 {
                    count += 1;
                }
            });
            return count;
        }
        let scanned = active.as_ref().map_or_else(|| self.candidate_count(problem), Vec::len);
        let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<Ranked>> =
            std::collections::BinaryHeap::with_capacity(window.min(scanned) + 1);
        let mut qualifying = 0;
        let mut threshold = f64::NEG_INFINITY;
        // The k-th largest weight at U seen so far: only grows, so pruning by it is safe early.
        let mut at_upper: std::collections::BinaryHeap<std::cmp::Reverse<Ranked>> =
            std::collections::BinaryHeap::with_capacity(if narrow.is_some() { window.min(scanned) + 1 } else { 0 });
        let mut floor = f64::NEG_INFINITY;
        self.for_each_active(problem, active.as_deref(), |index| {
            let weight = problem.weights[index] * (problem.prices[index] - lambda);
            if let Some(upper) = narrow {
                let low = problem.weights[index] * (problem.prices[index] - upper);
                if low > floor {
                    let entry = Ranked { weight: low, index };
                    if at_upper.len() < window {
                        at_upper.push(std::cmp::Reverse(entry));
                    } else if let Some(mut worst) = at_upper.peek_mut()
                        && entry > worst.0
                    {
                        *worst = std::cmp::Reverse(entry);
                    }
                    if at_upper.len() == window {
                        floor = at_upper.peek().map_or(f64::NEG_INFINITY, |worst| worst.0.weight);
                    }
                }
            }
            if !(exact || weight > 0.0) {
                return;
            }
            qualifying += 1;
            if narrow.is_some() && weight >= floor {
                survivors.push(index as u32);
            }
            // Fast path: once the heap is full, most items fall below its worst weight.
            if weight < threshold {
                return;
            }
            let entry = Ranked { weight, index };
            if heap.len() < window {
                heap.push(std::cmp::Reverse(entry));
            } else if let Some(mut worst) = heap.peek_mut()
                && entry > worst.0
            {
                *worst = std::cmp::Reverse(entry);
            }
            if heap.len() == window {
                threshold = heap.peek().map_or(f64::NEG_INFINITY, |worst| worst.0.weight);
            }
        });
        // Ascending order of `Reverse` is descending order of rank: best first.
        out.extend(heap.into_sorted_vec().into_iter().map(|entry| entry.0));
        if narrow.is_some() {
            // Drop what the final floor rules out (it only grew during the pass).
            survivors.retain(|&i| problem.weights[i as usize] * (problem.prices[i as usize] - lambda) >= floor);
            *active = Some(survivors);
        }
        qualifying
    }

    /// Visits the active candidates (all candidates until the first narrowing).
    fn for_each_active(&self, problem: &AssortmentProblem<'_>, active: Option<&[u32]>, visit: impl FnMut(usize)) {
        match active {
            Some(list) => list.iter().map(|&index| index as usize).for_each(visit),
            None => self.for_each_candidate(problem, visit),
        }
    }

    fn candidate_count(&self, problem: &AssortmentProblem<'_>) -> usize {
        self.candidates.as_ref().map_or(problem.prices.len(), Vec::len)
    }

    fn for_each_candidate(&self, problem: &AssortmentProblem<'_>, mut visit: impl FnMut(usize)) {
        match &self.candidates {
            None => (0..problem.prices.len()).for_each(visit),
            Some(list) => list.iter().for_each(|&index| visit(index as usize)),
        }
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
