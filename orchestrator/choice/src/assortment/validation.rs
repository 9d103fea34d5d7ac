//! Checking a problem before optimizing it: every price and weight finite and non-negative, and
//! when one is not, an error naming the offending item.

use super::*;

/// Whether one price and weight are usable (branch-free so loops over it vectorise).
pub(super) fn valid_item(price: f64, weight: f64) -> bool {
    price.is_finite() & (price >= 0.0) & weight.is_finite() & (weight > 0.0)
}

pub(super) fn all_valid(problem: &AssortmentProblem<'_>) -> bool {
    problem
        .prices
        .iter()
        .zip(problem.weights)
        .fold(true, |ok, (&p, &w)| ok & valid_item(p, w))
}

/// Names the first unusable price or weight (only called once something is known to be wrong).
pub(super) fn describe_invalid(problem: &AssortmentProblem<'_>) -> Result<(), OptimizeError> {
    for i in 0..problem.prices.len() {
        check_finite("price", i, problem.prices[i])?;
        check_finite("weight", i, problem.weights[i])?;
        if problem.prices[i] < 0.0 {
            return Err(OptimizeError::InvalidInput(format!(
                "price of item {i} is {}; prices must not be negative",
                problem.prices[i]
            )));
        }
        if problem.weights[i] <= 0.0 {
            return Err(OptimizeError::InvalidInput(format!(
                "weight of item {i} is {}; MNL weights must be positive",
                problem.weights[i]
            )));
        }
    }
    Ok(())
}

pub(super) fn check_finite(name: &str, index: usize, value: f64) -> Result<(), OptimizeError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(OptimizeError::InvalidInput(format!(
            "{name} of item {index} is {value}; it must be a finite number"
        )))
    }
}
