//! Newton's method with an Armijo line search over groups that share the price coefficient:
//! per-group Cholesky blocks, `β` eliminated by its Schur complement, damping only while far from
//! the optimum; the variances of the intercepts and of `β` at the optimum.

use super::*;

/// The optimum of a shared-price Newton run.
pub(super) struct SharedOptimum {
    pub(super) thetas: Vec<Vec<f64>>,
    pub(super) variances: Vec<Vec<f64>>,
    pub(super) beta: f64,
    pub(super) beta_variance: f64,
    pub(super) nll: f64,
    pub(super) iterations: u32,
    pub(super) converged: bool,
}

pub(super) fn newton_shared_price(groups: &[PreparedGroup], options: &FitOptions) -> Result<SharedOptimum, FitError> {
    let references: Vec<&PreparedGroup> = groups.iter().collect();
    newton_shared_price_refs(&references, options, &mut |_| {})
}

/// Per group: its parameters with `β` appended (the layout `derivatives` expects).
pub(super) fn with_beta(theta: &[f64], beta: f64) -> Vec<f64> {
    let mut full = theta.to_vec();
    full.push(beta);
    full
}

pub(super) fn total_nll(groups: &[&PreparedGroup], thetas: &[Vec<f64>], beta: f64) -> f64 {
    groups
        .iter()
        .zip(thetas)
        .map(|(group, theta)| negative_log_likelihood(&group.sets, &with_beta(theta, beta), group.parameter_count))
        .sum()
}

/// Newton with line search on groups sharing `β` (one group is the ordinary dense fit).
pub(super) fn newton_shared_price_refs(
    groups: &[&PreparedGroup],
    options: &FitOptions,
    on_iteration: &mut dyn FnMut(IterationReport),
) -> Result<SharedOptimum, FitError> {
    let mut thetas: Vec<Vec<f64>> = groups.iter().map(|g| vec![0.0; g.parameter_count]).collect();
    let mut beta = 0.0;
    let mut nll = total_nll(groups, &thetas, beta);
    let mut iterations = 0;
    let mut converged = false;
    loop {
        let step = newton_step(groups, &thetas, beta, true)?;
        if iterations >= options.max_iterations {
            break;
        }
        iterations += 1;
        on_iteration(IterationReport {
            iteration: iterations,
            log_likelihood: -nll,
            decrement: step.decrement,
        });
        // Relative to the objective's size: on hundreds of thousands of choices the decrement
        // cannot fall below the rounding of a sum that large.
        if step.decrement < options.tolerance * nll.abs().max(1.0) {
            converged = true;
            break;
        }
        // Backtracking line search on the convex objective (Armijo condition).
        let mut t = 1.0;
        loop {
            let trial: Vec<Vec<f64>> = thetas
                .iter()
                .zip(&step.deltas)
                .map(|(theta, delta)| theta.iter().zip(delta).map(|(x, d)| x + t * d).collect())
                .collect();
            let trial_beta = beta + t * step.delta_beta;
            let trial_nll = total_nll(groups, &trial, trial_beta);
            if trial_nll <= nll + 1e-4 * t * step.slope || t < 1e-12 {
                thetas = trial;
                beta = trial_beta;
                nll = trial_nll;
                break;
            }
            t *= 0.5;
        }
    }
    let step = newton_step(groups, &thetas, beta, false)?;
    Ok(SharedOptimum {
        thetas,
        variances: step.variances,
        beta,
        beta_variance: 1.0 / step.schur,
        nll,
        iterations,
        converged,
    })
}

pub(super) struct NewtonStep {
    deltas: Vec<Vec<f64>>,
    delta_beta: f64,
    /// Directional derivative `g · Δ` (negative).
    slope: f64,
    decrement: f64,
    /// `c − Σ b·A⁻¹b`: the Schur complement of the intercept blocks, `1 / Var(β)`.
    schur: f64,
    /// Variances of each group's intercepts, `diag(A⁻¹) + (A⁻¹b)² / schur`.
    variances: Vec<Vec<f64>>,
}

/// One Newton step. Far from the optimum a group's block can be numerically singular (items
/// whose probabilities underflow at the current `β`); with `damped` such a block gets a small,
/// growing ridge so the step still descends. At the optimum (`damped == false`) the blocks must
/// be positive definite: that is the identification check behind the standard errors.
pub(super) fn newton_step(
    groups: &[&PreparedGroup],
    thetas: &[Vec<f64>],
    beta: f64,
    damped: bool,
) -> Result<NewtonStep, FitError> {
    let singular = || FitError::NotIdentified("the Hessian of the log-likelihood is singular".to_owned());
    let mut schur = 0.0;
    let mut curvature = 0.0;
    let mut rhs = 0.0;
    let mut parts = Vec::with_capacity(groups.len());
    for (group, theta) in groups.iter().zip(thetas) {
        let p = group.parameter_count;
        let d = p + 1;
        let mut gradient = vec![0.0; d];
        let mut hessian = vec![0.0; d * d];
        derivatives(&group.sets, &with_beta(theta, beta), p, &mut gradient, &mut hessian);
        // Split [[A, b], [bᵀ, c]] and [g; h].
        let a: Vec<f64> = (0..p).flat_map(|i| hessian[i * d..i * d + p].to_vec()).collect();
        let b: Vec<f64> = (0..p).map(|i| hessian[i * d + p]).collect();
        let c = hessian[p * d + p];
        let (g, h) = (gradient[..p].to_vec(), gradient[p]);
        let factor = if p == 0 {
            None
        } else if damped {
            Some(damped_cholesky(&a, p).ok_or_else(singular)?)
        } else {
            Some(cholesky(&a, p).ok_or_else(singular)?)
        };
        let (mut z, mut w) = (b.clone(), g.clone());
        if let Some(factor) = &factor {
            cholesky_solve(factor, p, &mut z);
            cholesky_solve(factor, p, &mut w);
        }
        schur += c - b.iter().zip(&z).map(|(x, y)| x * y).sum::<f64>();
        curvature += c;
        rhs += h - b.iter().zip(&w).map(|(x, y)| x * y).sum::<f64>();
        parts.push((factor, z, w, g, h));
    }
    // β is identified only if something is left of its curvature once the intercepts explain
    // what they can: a Schur complement that is zero up to rounding means they explain it all.
    if !schur.is_finite() || schur <= 1e-10 * curvature {
        return Err(singular());
    }
    let delta_beta = -rhs / schur;
    let mut deltas = Vec::with_capacity(groups.len());
    let mut variances = Vec::with_capacity(groups.len());
    let mut slope = 0.0;
    for (factor, z, w, g, h) in parts {
        let delta: Vec<f64> = w.iter().zip(&z).map(|(wi, zi)| -wi - zi * delta_beta).collect();
        slope += g.iter().zip(&delta).map(|(gi, di)| gi * di).sum::<f64>() + h * delta_beta;
        let diagonal = factor.map_or_else(Vec::new, |f| inverse_diagonal(&f, z.len()));
        variances.push(diagonal.iter().zip(&z).map(|(v, zi)| v + zi * zi / schur).collect());
        deltas.push(delta);
    }
    Ok(NewtonStep {
        deltas,
        delta_beta,
        slope,
        decrement: -slope / 2.0,
        schur,
        variances,
    })
}
