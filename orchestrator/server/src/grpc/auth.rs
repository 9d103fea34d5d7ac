//! Reads what a request presents (`authorization: Bearer …`, `session-credential`, its peer
//! address) and asks [`crate::access`] whether it may proceed; refusals become
//! UNAUTHENTICATED (nothing or an unknown token sent) or PERMISSION_DENIED (a known caller that
//! may not do this).

use super::status::{self, session_status};
use crate::access::{Access, Caller, Denied, Scope};
use interarec_sessions::Sessions;
use tonic::{Request, Status};

/// The metadata key a session's credential travels in.
pub const SESSION_CREDENTIAL: &str = "session-credential";

/// The access rules, applied to requests. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    access: std::sync::Arc<Access>,
}

fn refused(denied: Denied) -> Status {
    if denied.is_known_caller() {
        status::permission_denied(denied.to_string())
    } else {
        status::unauthenticated(denied.to_string())
    }
}

fn metadata_text<'a, T>(request: &'a Request<T>, key: &str) -> Option<&'a str> {
    request.metadata().get(key).and_then(|value| value.to_str().ok())
}

impl Gate {
    /// A gate applying `access`.
    pub fn new(access: Access) -> Gate {
        Gate {
            access: std::sync::Arc::new(access),
        }
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let bearer = metadata_text(request, "authorization").and_then(|value| value.strip_prefix("Bearer "));
        self.access.identify(bearer).map_err(refused)
    }

    /// Allows only the admin.
    pub fn admin<T>(&self, request: &Request<T>, action: &str) -> Result<(), Status> {
        let caller = self.caller(request)?;
        self.access.admin(&caller, action).map_err(refused)
    }

    /// Allows a caller holding `scope` (or, with no API keys configured, one on this machine).
    pub fn scoped<T>(&self, request: &Request<T>, scope: Scope, action: &str) -> Result<(), Status> {
        let caller = self.caller(request)?;
        let from_loopback = request.remote_addr().is_some_and(|peer| peer.ip().is_loopback());
        self.access
            .scoped(&caller, scope, from_loopback, action)
            .map_err(refused)
    }

    /// Allows the admin, or a caller presenting session `id`'s credential; an unknown session is
    /// NOT_FOUND only for a caller that presented a credential or the admin token, so ids cannot
    /// be probed without one.
    pub async fn session<T>(
        &self,
        request: &Request<T>,
        sessions: &Sessions,
        id: &str,
        action: &str,
    ) -> Result<(), Status> {
        if self.caller(request)? == Caller::Admin {
            return Ok(());
        }
        let Some(credential) = metadata_text(request, SESSION_CREDENTIAL) else {
            return Err(status::unauthenticated(format!(
                "session `{id}` needs its credential for {action}: send `{SESSION_CREDENTIAL}: <credential>` metadata with the credential CreateSession returned (the CLI reads INTERAREC_SESSION_CREDENTIAL), or the admin token"
            )));
        };
        if sessions
            .credential_matches(id, credential)
            .await
            .map_err(session_status)?
        {
            Ok(())
        } else {
            Err(status::permission_denied(format!(
                "the session credential sent is not session `{id}`'s; send the credential CreateSession returned for it (sessions created before credentials open only with the admin token)"
            )))
        }
    }
}
