//! The one place where errors become gRPC status codes, with google.rpc details in the
//! status (`grpc-status-details-bin`, through tonic-types): every error carries an `ErrorInfo`
//! whose `reason` is a stable name a program can branch on (domain [`DOMAIN`]); an error about
//! one field of the request carries a `BadRequest` naming it; an error that goes away on its
//! own carries a `RetryInfo` saying when to try again.

use crate::catalogs::CatalogServiceError;
use crate::models::ModelServiceError;
use crate::registry::RegistryError;
use interarec_choice::recommend::RecommendError;
use interarec_core::schema::SchemaError;
use interarec_datasets::fitting::FitModelError;
use interarec_plugin_host::{CallFailure, LoadError};
use interarec_sessions::SessionError;
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The `ErrorInfo` domain of every InteraRec error.
pub const DOMAIN: &str = "interarec.dev";

/// When a caller over a concurrency limit may try again.
const RETRY_BUSY: Duration = Duration::from_secs(1);

/// An error as the wire sees it: its code, reason, sentence and optional details.
struct Described {
    code: Code,
    reason: &'static str,
    message: String,
    fields: Vec<FieldViolation>,
    retry_after: Option<Duration>,
}

impl Described {
    fn new(code: Code, reason: &'static str, message: String) -> Self {
        Described {
            code,
            reason,
            message,
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// The error is about `field` of the request.
    fn field(mut self, field: &str) -> Self {
        self.fields.push(FieldViolation::new(field, self.message.clone()));
        self
    }

    fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    fn into_status(self) -> Status {
        let mut details = ErrorDetails::with_error_info(self.reason, DOMAIN, std::collections::HashMap::new());
        if !self.fields.is_empty() {
            details.set_bad_request(self.fields);
        }
        if let Some(after) = self.retry_after {
            details.set_retry_info(Some(after));
        }
        Status::with_error_details(self.code, self.message, details)
    }
}

impl From<RegistryError> for Status {
    fn from(error: RegistryError) -> Status {
        let message = error.to_string();
        let (code, reason) = match &error {
            RegistryError::Load(LoadError::TooLarge { .. }) => (Code::InvalidArgument, "COMPONENT_TOO_LARGE"),
            RegistryError::Load(LoadError::VersionMismatch { .. }) => {
                (Code::FailedPrecondition, "WIT_VERSION_MISMATCH")
            }
            RegistryError::Load(_) => (Code::InvalidArgument, "INVALID_COMPONENT"),
            RegistryError::Manifest(_) => (Code::InvalidArgument, "INVALID_DESCRIPTION"),
            RegistryError::Grant(_) => {
                return Described::new(Code::InvalidArgument, "INVALID_GRANT", message)
                    .field("grants")
                    .into_status();
            }
            RegistryError::Limit(_) => {
                return Described::new(Code::InvalidArgument, "INVALID_LIMIT", message)
                    .field("limits")
                    .into_status();
            }
            RegistryError::Arguments { error, .. } => {
                let mut described = Described::new(Code::InvalidArgument, "ARGUMENTS_DO_NOT_MATCH_SCHEMA", message);
                match error {
                    // Each violation names its place in the arguments ("at /count: ...").
                    SchemaError::ArgumentsMismatch(violations) => {
                        for violation in violations {
                            let (path, problem) = violation
                                .strip_prefix("at ")
                                .and_then(|rest| rest.split_once(": "))
                                .unwrap_or(("", violation));
                            let path = path.trim_start_matches('/');
                            let field = if path.is_empty() {
                                "arguments_json".to_owned()
                            } else {
                                format!("arguments_json.{}", path.replace('/', "."))
                            };
                            described.fields.push(FieldViolation::new(field, problem));
                        }
                    }
                    _ => described = described.field("arguments_json"),
                }
                return described.into_status();
            }
            RegistryError::NotFound(_) => (Code::NotFound, "TOOL_NOT_FOUND"),
            RegistryError::Clash(_) => (Code::AlreadyExists, "TOOL_NAME_TAKEN"),
            RegistryError::Broken { .. } => (Code::FailedPrecondition, "TOOL_BROKEN"),
            RegistryError::Store(_) => (Code::Internal, "STORE_FAILED"),
            RegistryError::Call(call) => match &call.failure {
                CallFailure::Timeout { .. } => (Code::DeadlineExceeded, "TOOL_TIMED_OUT"),
                CallFailure::OutOfMemory { .. } => (Code::ResourceExhausted, "TOOL_OUT_OF_MEMORY"),
                CallFailure::OutOfFuel { .. } => (Code::ResourceExhausted, "TOOL_OUT_OF_FUEL"),
                CallFailure::Busy { .. } => {
                    return Described::new(Code::ResourceExhausted, "TOOL_CALLS_BUSY", message)
                        .retry_after(RETRY_BUSY)
                        .into_status();
                }
                CallFailure::Denied(_) => (Code::PermissionDenied, "CAPABILITY_DENIED"),
                CallFailure::InvalidArguments(_) => {
                    return Described::new(Code::InvalidArgument, "TOOL_REFUSED_ARGUMENTS", message)
                        .field("arguments_json")
                        .into_status();
                }
                CallFailure::Unavailable(_) | CallFailure::Host(_) => {
                    return Described::new(Code::Unavailable, "TOOL_UNAVAILABLE", message)
                        .retry_after(RETRY_BUSY)
                        .into_status();
                }
                CallFailure::Failed(_) => (Code::Aborted, "TOOL_FAILED"),
                CallFailure::Panic { .. } => (Code::Internal, "TOOL_PANICKED"),
                CallFailure::Trap { .. } => (Code::Internal, "TOOL_TRAPPED"),
                CallFailure::MalformedOutput { .. } => (Code::Internal, "TOOL_MALFORMED_OUTPUT"),
                CallFailure::OutputTooLarge { .. } => (Code::Internal, "TOOL_OUTPUT_TOO_LARGE"),
            },
        };
        Described::new(code, reason, message).into_status()
    }
}

impl From<CatalogServiceError> for Status {
    fn from(error: CatalogServiceError) -> Status {
        let message = error.to_string();
        let described = match &error {
            CatalogServiceError::InvalidId(_) => {
                Described::new(Code::InvalidArgument, "INVALID_CATALOG_ID", message).field("catalog_id")
            }
            CatalogServiceError::BadRequest(_) => Described::new(Code::InvalidArgument, "BAD_CATALOG_REQUEST", message),
            CatalogServiceError::Parse(_) => Described::new(Code::InvalidArgument, "CATALOG_REFUSED", message),
            CatalogServiceError::Exists(_) => Described::new(Code::AlreadyExists, "CATALOG_EXISTS", message),
            CatalogServiceError::NotFound(_) => Described::new(Code::NotFound, "CATALOG_NOT_FOUND", message),
            CatalogServiceError::Store(_) => Described::new(Code::Internal, "STORE_FAILED", message),
            CatalogServiceError::Worker(_) => Described::new(Code::Internal, "WORKER_FAILED", message),
            CatalogServiceError::Busy(_) => {
                Described::new(Code::Unavailable, "CATALOG_HELD_ELSEWHERE", message).retry_after(RETRY_BUSY)
            }
        };
        described.into_status()
    }
}

impl From<ModelServiceError> for Status {
    fn from(error: ModelServiceError) -> Status {
        let message = error.to_string();
        let described = match &error {
            ModelServiceError::InvalidId(_) => {
                Described::new(Code::InvalidArgument, "INVALID_MODEL_ID", message).field("model_id")
            }
            ModelServiceError::BadRequest(_) => Described::new(Code::InvalidArgument, "BAD_MODEL_REQUEST", message),
            ModelServiceError::Fit(FitModelError::Data(_)) => {
                Described::new(Code::InvalidArgument, "TRANSACTIONS_REFUSED", message)
            }
            ModelServiceError::Fit(FitModelError::Options(_)) => {
                Described::new(Code::InvalidArgument, "BAD_FIT_OPTIONS", message).field("header")
            }
            // The data was readable but carries nothing the estimator can use.
            ModelServiceError::Fit(FitModelError::Fit(_)) => {
                Described::new(Code::FailedPrecondition, "NOTHING_TO_FIT", message)
            }
            ModelServiceError::Recommend(RecommendError::InvalidConstraint(_)) => {
                Described::new(Code::InvalidArgument, "INVALID_CONSTRAINT", message).field("constraints_json")
            }
            ModelServiceError::Recommend(RecommendError::Model(_)) => {
                Described::new(Code::NotFound, "MODEL_SEGMENT_NOT_FOUND", message).field("segment")
            }
            ModelServiceError::Recommend(RecommendError::Optimize(_)) => {
                Described::new(Code::InvalidArgument, "CONSTRAINTS_CANNOT_HOLD", message).field("constraints_json")
            }
            ModelServiceError::Exists(_) => Described::new(Code::AlreadyExists, "MODEL_EXISTS", message),
            ModelServiceError::NotFound(_) => Described::new(Code::NotFound, "MODEL_NOT_FOUND", message),
            ModelServiceError::CatalogNotFound(_) => Described::new(Code::NotFound, "CATALOG_NOT_FOUND", message),
            ModelServiceError::Store(_) => Described::new(Code::Internal, "STORE_FAILED", message),
            ModelServiceError::Worker(_) => Described::new(Code::Internal, "WORKER_FAILED", message),
            ModelServiceError::Exhausted(_) => {
                Described::new(Code::ResourceExhausted, "MODEL_WORK_BUSY", message).retry_after(RETRY_BUSY)
            }
        };
        described.into_status()
    }
}

/// A session operation's failure as a status (a function: neither type is this crate's).
pub fn session_status(error: SessionError) -> Status {
    let message = error.to_string();
    let described = match &error {
        SessionError::InvalidId(_) => {
            Described::new(Code::InvalidArgument, "INVALID_SESSION_ID", message).field("session_id")
        }
        SessionError::BadRequest(_) => Described::new(Code::InvalidArgument, "BAD_SESSION_REQUEST", message),
        SessionError::Exists(_) => Described::new(Code::AlreadyExists, "SESSION_EXISTS", message),
        SessionError::NotFound(_) => Described::new(Code::NotFound, "SESSION_NOT_FOUND", message),
        SessionError::Ended(_) => Described::new(Code::FailedPrecondition, "SESSION_ENDED", message),
        SessionError::Store(_) => Described::new(Code::Internal, "STORE_FAILED", message),
        SessionError::Worker(_) => Described::new(Code::Internal, "WORKER_FAILED", message),
        SessionError::Exhausted(_) => {
            Described::new(Code::ResourceExhausted, "SESSION_BUSY", message).retry_after(RETRY_BUSY)
        }
        SessionError::Busy(_) => {
            Described::new(Code::Unavailable, "SESSION_HELD_ELSEWHERE", message).retry_after(RETRY_BUSY)
        }
    };
    described.into_status()
}

/// A request the service refuses as malformed: what was wrong and what to send.
pub fn bad_request(message: impl Into<String>) -> Status {
    Described::new(Code::InvalidArgument, "BAD_REQUEST", message.into()).into_status()
}

/// A request whose `field` is wrong: what was wrong and what to send.
pub fn bad_field(field: &str, message: impl Into<String>) -> Status {
    Described::new(Code::InvalidArgument, "BAD_REQUEST", message.into())
        .field(field)
        .into_status()
}

/// A client over a limit (too many frames buffered, a reader too slow).
pub fn exhausted(message: impl Into<String>) -> Status {
    Described::new(Code::ResourceExhausted, "OVER_LIMIT", message.into()).into_status()
}

/// A fault of the server's own making (a worker gone, a value that would not encode).
pub fn internal(message: impl Into<String>) -> Status {
    Described::new(Code::Internal, "INTERNAL", message.into()).into_status()
}

/// A call without the credentials it needs, or with ones the server does not know.
pub fn unauthenticated(message: impl Into<String>) -> Status {
    Described::new(Code::Unauthenticated, "UNAUTHENTICATED", message.into()).into_status()
}

/// A known caller asking for what it may not do (another session, a scope its key lacks).
pub fn permission_denied(message: impl Into<String>) -> Status {
    Described::new(Code::PermissionDenied, "PERMISSION_DENIED", message.into()).into_status()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_carries_its_reason_and_the_field_or_retry_it_is_about() {
        let schema = RegistryError::Arguments {
            tool: "echo".into(),
            version: "0.1.0".into(),
            error: SchemaError::ArgumentsMismatch(vec!["at /count: \"x\" is not of type \"boolean\"".into()]),
        };
        // (status, code, reason, fields named, retry)
        let cases: Vec<(Status, Code, &str, Vec<&str>, bool)> = vec![
            (
                schema.into(),
                Code::InvalidArgument,
                "ARGUMENTS_DO_NOT_MATCH_SCHEMA",
                vec!["arguments_json.count"],
                false,
            ),
            (
                RegistryError::NotFound("x".into()).into(),
                Code::NotFound,
                "TOOL_NOT_FOUND",
                vec![],
                false,
            ),
            (
                session_status(SessionError::Exhausted("full".into())),
                Code::ResourceExhausted,
                "SESSION_BUSY",
                vec![],
                true,
            ),
            (
                bad_field("page_token", "not a token"),
                Code::InvalidArgument,
                "BAD_REQUEST",
                vec!["page_token"],
                false,
            ),
        ];
        for (status, code, reason, fields, retry) in cases {
            assert_eq!(status.code(), code, "{status:?}");
            let details = status.get_error_details();
            let info = details.error_info().expect("error info");
            assert_eq!((info.reason.as_str(), info.domain.as_str()), (reason, DOMAIN));
            let named: Vec<&str> = details
                .bad_request()
                .map(|b| b.field_violations.iter().map(|v| v.field.as_str()).collect())
                .unwrap_or_default();
            assert_eq!(named, fields, "{reason}");
            assert_eq!(details.retry_info().is_some(), retry, "{reason}");
        }
    }
}
