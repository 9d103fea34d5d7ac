//! The small dense linear algebra Newton's method needs: Cholesky factors (damped when the
//! Hessian is not positive definite), solves with them, and the diagonal of the inverse.

/// Lower-triangular Cholesky factor of a symmetric positive-definite matrix, or `None`.
pub(super) fn cholesky(matrix: &[f64], d: usize) -> Option<Vec<f64>> {
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

/// [`cholesky`] of `A + λI` with the smallest of λ = 0, 1e-10, 1e-8, … (relative to the largest
/// diagonal entry) that makes the factorisation succeed.
pub(super) fn damped_cholesky(matrix: &[f64], d: usize) -> Option<Vec<f64>> {
    if let Some(factor) = cholesky(matrix, d) {
        return Some(factor);
    }
    let scale = (0..d)
        .map(|i| matrix[i * d + i].abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut ridge = 1e-10 * scale;
    let mut shifted = matrix.to_vec();
    while ridge <= scale {
        for i in 0..d {
            shifted[i * d + i] = matrix[i * d + i] + ridge;
        }
        if let Some(factor) = cholesky(&shifted, d) {
            return Some(factor);
        }
        ridge *= 100.0;
    }
    None
}

/// Solves `L Lᵀ x = b` in place.
pub(super) fn cholesky_solve(factor: &[f64], d: usize, b: &mut [f64]) {
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
pub(super) fn inverse_diagonal(factor: &[f64], d: usize) -> Vec<f64> {
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
