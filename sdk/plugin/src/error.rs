//! Errors a tool returns and errors the host returns to a tool.

use crate::bindings::interarec::tool::types as wit;
use std::fmt;

/// Why a tool call failed, as the tool reports it to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// The arguments were acceptable JSON but wrong for this tool; say what to fix.
    InvalidArguments(String),
    /// The tool could not do its work.
    Failed(String),
    /// A capability the tool needed was refused.
    Denied(String),
    /// Something the tool depends on is not available right now.
    Unavailable(String),
}

impl ToolError {
    pub(crate) fn into_wit(self) -> wit::ToolError {
        match self {
            ToolError::InvalidArguments(message) => wit::ToolError::InvalidArguments(message),
            ToolError::Failed(message) => wit::ToolError::Failed(message),
            ToolError::Denied(message) => wit::ToolError::Denied(message),
            ToolError::Unavailable(message) => wit::ToolError::Unavailable(message),
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::InvalidArguments(message) => write!(f, "invalid arguments: {message}"),
            ToolError::Failed(message) => write!(f, "failed: {message}"),
            ToolError::Denied(message) => write!(f, "denied: {message}"),
            ToolError::Unavailable(message) => write!(f, "unavailable: {message}"),
        }
    }
}

impl std::error::Error for ToolError {}

/// Why a host import refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The capability is not granted to this tool; the message names it.
    Denied(String),
    /// The capability exists in the tool world but this host does not provide it yet.
    NotAvailable(String),
    /// The request was malformed or over a limit.
    Invalid(String),
    /// The host tried and failed.
    Failed(String),
}

impl From<wit::HostError> for HostError {
    fn from(error: wit::HostError) -> Self {
        match error {
            wit::HostError::Denied(message) => HostError::Denied(message),
            wit::HostError::NotAvailable(message) => HostError::NotAvailable(message),
            wit::HostError::Invalid(message) => HostError::Invalid(message),
            wit::HostError::Failed(message) => HostError::Failed(message),
        }
    }
}

impl HostError {
    /// The tool's error for a host call whose ids came from the caller: the host's "invalid"
    /// (no such catalog or model, a request over a limit) is then the caller's mistake
    /// ([`ToolError::InvalidArguments`]), not the tool's failure; the rest map as
    /// `From<HostError>` does.
    pub fn named_by_caller(self) -> ToolError {
        match self {
            HostError::Invalid(message) => ToolError::InvalidArguments(message),
            other => other.into(),
        }
    }
}

impl From<HostError> for ToolError {
    fn from(error: HostError) -> Self {
        match error {
            HostError::Denied(message) => ToolError::Denied(message),
            HostError::NotAvailable(message) => ToolError::Unavailable(message),
            HostError::Invalid(message) | HostError::Failed(message) => ToolError::Failed(message),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Denied(message) => write!(f, "denied: {message}"),
            HostError::NotAvailable(message) => write!(f, "not available: {message}"),
            HostError::Invalid(message) => write!(f, "invalid request: {message}"),
            HostError::Failed(message) => write!(f, "host failed: {message}"),
        }
    }
}

impl std::error::Error for HostError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_errors_become_tool_errors() {
        // (host error, as the tool's own failure, when the caller named what was missing)
        let cases = [
            (
                HostError::Denied("d".into()),
                ToolError::Denied("d".into()),
                ToolError::Denied("d".into()),
            ),
            (
                HostError::NotAvailable("n".into()),
                ToolError::Unavailable("n".into()),
                ToolError::Unavailable("n".into()),
            ),
            (
                HostError::Invalid("i".into()),
                ToolError::Failed("i".into()),
                ToolError::InvalidArguments("i".into()),
            ),
            (
                HostError::Failed("f".into()),
                ToolError::Failed("f".into()),
                ToolError::Failed("f".into()),
            ),
        ];
        for (host, own, by_caller) in cases {
            assert_eq!(ToolError::from(host.clone()), own, "{host:?}");
            assert_eq!(host.clone().named_by_caller(), by_caller, "{host:?}");
        }
    }
}
