//! The admin bearer token that guards registering, replacing and removing tools.

use super::status;
use tonic::{Request, Status};

/// Checks `authorization: Bearer <token>` when a token is configured.
pub fn require_admin<T>(request: &Request<T>, admin_token: Option<&str>, action: &str) -> Result<(), Status> {
    let Some(expected) = admin_token else { return Ok(()) };
    let presented = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match presented {
        None => Err(status::unauthenticated(format!(
            "{action} needs the admin token: send `authorization: Bearer <token>` (the CLI reads INTERAREC_ADMIN_TOKEN)"
        ))),
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(status::unauthenticated(format!(
            "{action} needs the admin token, and the token sent is not it; check INTERAREC_ADMIN_TOKEN"
        ))),
    }
}

/// Compares without an early exit so the time taken does not reveal the matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (index, byte) in a.iter().enumerate() {
        difference |= usize::from(byte ^ b.get(index % b.len().max(1)).copied().unwrap_or(0));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_checked_only_when_configured() {
        let with = |header: Option<&str>| {
            let mut request = Request::new(());
            if let Some(value) = header {
                request.metadata_mut().insert("authorization", value.parse().unwrap());
            }
            request
        };
        let cases: &[(Option<&str>, Option<&str>, Result<(), &str>)] = &[
            (None, None, Ok(())),
            (None, Some("Bearer anything"), Ok(())),
            (Some("s3cret"), Some("Bearer s3cret"), Ok(())),
            (Some("s3cret"), None, Err("needs the admin token: send")),
            (Some("s3cret"), Some("Bearer wrong"), Err("the token sent is not it")),
            (
                Some("s3cret"),
                Some("Bearer s3cret-and-more"),
                Err("the token sent is not it"),
            ),
            (Some("s3cret"), Some("s3cret"), Err("needs the admin token: send")),
        ];
        for (configured, header, expected) in cases {
            let outcome = require_admin(&with(*header), *configured, "registering a tool");
            match (expected, outcome) {
                (Ok(()), Ok(())) => {}
                (Err(fragment), Err(status)) => {
                    assert_eq!(status.code(), tonic::Code::Unauthenticated);
                    assert!(status.message().contains(fragment), "{header:?}: {}", status.message());
                }
                (expected, actual) => panic!("{configured:?}/{header:?}: expected {expected:?}, got {actual:?}"),
            }
        }
    }
}
