//! The one error type both backends' operations report, as text; the store wraps it with
//! where it happened.

/// A backend failure, as text (the store wraps it with where it happened).
#[derive(Debug)]
pub struct BackendError(pub String);

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<sled::Error> for BackendError {
    fn from(error: sled::Error) -> Self {
        BackendError(error.to_string())
    }
}
