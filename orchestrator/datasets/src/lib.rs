//! Transaction logs turned into the choice sets the estimator in `interarec-choice` takes, and
//! fitted into stored choice models: the Ta-Feng log ([`ta_feng`]), the generic transactions CSV
//! and the common table ([`transactions`]), and the whole fit with progress ([`fitting`]).

pub mod fitting;
pub mod ta_feng;
pub mod transactions;

/// Why a data set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file is missing or unreadable.
    #[error("cannot read {path}: {detail}; run `just data` to fetch the data set")]
    Unreadable {
        /// The path given.
        path: String,
        /// Why.
        detail: String,
    },
    /// The options do not fit the data (e.g. an unknown segment column).
    #[error("{0}")]
    Options(String),
    /// The archive or its header is not what the format expects.
    #[error("{path} is not the expected data set: {detail}")]
    Format {
        /// The path given.
        path: String,
        /// What is wrong.
        detail: String,
    },
}
