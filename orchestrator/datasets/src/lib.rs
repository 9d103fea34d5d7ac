//! Readers for public choice data sets, turned into the choice sets the estimator in
//! `interarec-choice` takes. One data set so far: Ta-Feng ([`ta_feng`]).

pub mod ta_feng;

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
    /// The archive or its header is not what the format expects.
    #[error("{path} is not the expected data set: {detail}")]
    Format {
        /// The path given.
        path: String,
        /// What is wrong.
        detail: String,
    },
}
