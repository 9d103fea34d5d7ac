//! MNL choice models as a plain library: no I/O and no dependencies beyond `thiserror` and
//! `serde`, so the same code runs in the server, in benchmarks and inside the `assortment`
//! plugin (wasm32).
//!
//! Under the multinomial logit model an assortment `S` with prices `p_i` and preference weights
//! `v_i > 0`, against a no-purchase weight `v_0 > 0`, earns the expected revenue
//! `R(S) = Σ_{i∈S} p_i v_i / (v_0 + Σ_{j∈S} v_j)`; see [`assortment`] for the exact optimizer and
//! [`estimation`] for fitting the weights `v_i = exp(α_i + β p_i)` from observed choices,
//! [`model`] for a fitted model as stored and [`recommend`] for constraints over catalog
//! [`item`]s.

pub mod access;
pub mod assortment;
pub mod columns;
pub mod estimation;
mod hash;
pub mod item;
pub mod model;
pub mod recommend;
pub mod simulation;

pub use assortment::{
    Assortment, AssortmentProblem, Capacity, Certificate, GroupCaps, OptimizeError, SelectedItem, optimize,
};
