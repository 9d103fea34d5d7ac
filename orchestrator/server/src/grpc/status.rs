//! The one place where errors become gRPC status codes.

use crate::catalogs::CatalogServiceError;
use crate::models::ModelServiceError;
use crate::registry::RegistryError;
use interarec_choice::recommend::RecommendError;
use interarec_datasets::fitting::FitModelError;
use interarec_plugin_host::{CallFailure, LoadError};
use interarec_sessions::SessionError;
use tonic::{Code, Status};

impl From<RegistryError> for Status {
    fn from(error: RegistryError) -> Status {
        let code = match &error {
            RegistryError::Load(LoadError::TooLarge { .. }) => Code::InvalidArgument,
            RegistryError::Load(LoadError::VersionMismatch { .. }) => Code::FailedPrecondition,
            RegistryError::Load(_) => Code::InvalidArgument,
            RegistryError::Manifest(_) | RegistryError::Grant(_) | RegistryError::Limit(_) => Code::InvalidArgument,
            RegistryError::Arguments { .. } => Code::InvalidArgument,
            RegistryError::NotFound(_) => Code::NotFound,
            RegistryError::Clash(_) => Code::AlreadyExists,
            RegistryError::Broken { .. } => Code::FailedPrecondition,
            RegistryError::Store(_) => Code::Internal,
            RegistryError::Call(call) => match &call.failure {
                CallFailure::Timeout { .. } => Code::DeadlineExceeded,
                CallFailure::OutOfMemory { .. } | CallFailure::OutOfFuel { .. } | CallFailure::Busy { .. } => {
                    Code::ResourceExhausted
                }
                CallFailure::Denied(_) => Code::PermissionDenied,
                CallFailure::InvalidArguments(_) => Code::InvalidArgument,
                CallFailure::Unavailable(_) | CallFailure::Host(_) => Code::Unavailable,
                CallFailure::Failed(_) => Code::Aborted,
                CallFailure::Panic { .. }
                | CallFailure::Trap { .. }
                | CallFailure::MalformedOutput { .. }
                | CallFailure::OutputTooLarge { .. } => Code::Internal,
            },
        };
        Status::new(code, error.to_string())
    }
}

impl From<CatalogServiceError> for Status {
    fn from(error: CatalogServiceError) -> Status {
        let code = match &error {
            CatalogServiceError::InvalidId(_) | CatalogServiceError::BadRequest(_) | CatalogServiceError::Parse(_) => {
                Code::InvalidArgument
            }
            CatalogServiceError::Exists(_) => Code::AlreadyExists,
            CatalogServiceError::NotFound(_) => Code::NotFound,
            CatalogServiceError::Store(_) | CatalogServiceError::Worker(_) => Code::Internal,
        };
        Status::new(code, error.to_string())
    }
}

impl From<ModelServiceError> for Status {
    fn from(error: ModelServiceError) -> Status {
        let code = match &error {
            ModelServiceError::InvalidId(_) | ModelServiceError::BadRequest(_) => Code::InvalidArgument,
            ModelServiceError::Fit(FitModelError::Data(_) | FitModelError::Options(_)) => Code::InvalidArgument,
            // The data was readable but carries nothing the estimator can use.
            ModelServiceError::Fit(FitModelError::Fit(_)) => Code::FailedPrecondition,
            ModelServiceError::Recommend(RecommendError::InvalidConstraint(_)) => Code::InvalidArgument,
            ModelServiceError::Recommend(RecommendError::Model(_)) => Code::NotFound,
            ModelServiceError::Recommend(RecommendError::Optimize(_)) => Code::InvalidArgument,
            ModelServiceError::Exists(_) => Code::AlreadyExists,
            ModelServiceError::NotFound(_) | ModelServiceError::CatalogNotFound(_) => Code::NotFound,
            ModelServiceError::Store(_) | ModelServiceError::Worker(_) => Code::Internal,
            ModelServiceError::Exhausted(_) => Code::ResourceExhausted,
        };
        Status::new(code, error.to_string())
    }
}

/// A session operation's failure as a status (a function: neither type is this crate's).
pub fn session_status(error: SessionError) -> Status {
    let code = match &error {
        SessionError::InvalidId(_) | SessionError::BadRequest(_) => Code::InvalidArgument,
        SessionError::Exists(_) => Code::AlreadyExists,
        SessionError::NotFound(_) => Code::NotFound,
        SessionError::Ended(_) => Code::FailedPrecondition,
        SessionError::Store(_) | SessionError::Worker(_) => Code::Internal,
        SessionError::Exhausted(_) => Code::ResourceExhausted,
    };
    Status::new(code, error.to_string())
}

/// A request the service refuses as malformed: what was wrong and what to send.
pub fn bad_request(message: impl Into<String>) -> Status {
    Status::invalid_argument(message)
}

/// A client over a limit (too many frames buffered, a reader too slow).
pub fn exhausted(message: impl Into<String>) -> Status {
    Status::resource_exhausted(message)
}

/// A fault of the server's own making (a worker gone, a value that would not encode).
pub fn internal(message: impl Into<String>) -> Status {
    Status::internal(message)
}

/// A call without the credentials it needs, or with ones the server does not know.
pub fn unauthenticated(message: impl Into<String>) -> Status {
    Status::unauthenticated(message)
}

/// A known caller asking for what it may not do (another session, a scope its key lacks).
pub fn permission_denied(message: impl Into<String>) -> Status {
    Status::permission_denied(message)
}
