//! Who may do what: the admin token, client API keys with scopes, and the loopback rule. The
//! decisions are made here from what a request presented (its bearer token, whether it came
//! from this machine); `grpc::auth` reads those from the request and turns a [`Denied`] into a
//! status. Session credentials are checked against the session's record (`grpc::auth`).
//!
//! | caller                         | admin calls | scoped calls (`sessions`, `tools:invoke`, `optimize`, `read`) |
//! |--------------------------------|-------------|------------------------------------------------|
//! | no admin token configured      | everyone (the server listens on loopback only) | everyone |
//! | the admin token                | yes         | yes                                            |
//! | an API key                     | no          | its scopes                                     |
//! | no token, API keys configured  | no          | no                                             |
//! | no token, no API keys          | no          | from loopback only                             |

use interarec_core::secret;
use serde::Deserialize;
use std::fmt;

/// What an API key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `CreateSession` (the session's own calls then need its credential).
    Sessions,
    /// `InvokeTool` (with a session id, that session's credential too).
    ToolsInvoke,
    /// `Optimize`.
    Optimize,
    /// Listing and describing tools, catalogs and choice models.
    Read,
}

impl Scope {
    /// Every scope, in the order the docs list them.
    pub const ALL: [Scope; 4] = [Scope::Sessions, Scope::ToolsInvoke, Scope::Optimize, Scope::Read];

    /// The name written in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Sessions => "sessions",
            Scope::ToolsInvoke => "tools:invoke",
            Scope::Optimize => "optimize",
            Scope::Read => "read",
        }
    }

    /// The scope named `name`, or a sentence listing the names there are.
    pub fn parse(name: &str) -> Result<Scope, String> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
                format!("`{name}` is not a scope; use one of: {}", names.join(", "))
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Scope, D::Error> {
        let name = String::deserialize(deserializer)?;
        Scope::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A client API key as the config file holds it: a name, the key's SHA-256 (never the key), and
/// its scopes. `interarec api-key new` makes one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// Shown in refusals and logs, so an operator knows which key was used.
    pub name: String,
    /// SHA-256 of the key, lowercase hex.
    pub sha256: String,
    /// What the key may be used for.
    pub scopes: Vec<Scope>,
}

/// What prefix a generated API key carries.
pub const API_KEY_PREFIX: &str = "irk-";

/// Who is calling, as far as their bearer token tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The admin token was sent, or none is configured.
    Admin,
    /// A configured API key was sent.
    Key {
        /// The key's name.
        name: String,
        /// Its scopes.
        scopes: Vec<Scope>,
    },
    /// No bearer token was sent.
    Anonymous,
}

/// Why a call is refused; the message says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// A bearer token matching nothing configured.
    #[error(
        "the bearer token sent is neither the admin token nor a configured API key; check INTERAREC_ADMIN_TOKEN or INTERAREC_API_KEY"
    )]
    UnknownToken,
    /// An admin call without the admin token.
    #[error(
        "{action} needs the admin token: send `authorization: Bearer <token>` (the CLI reads INTERAREC_ADMIN_TOKEN)"
    )]
    NeedsAdmin {
        /// What was attempted.
        action: String,
    },
    /// An admin call with an API key.
    #[error("{action} needs the admin token; API key `{key}` cannot do it")]
    KeyIsNotAdmin {
        /// What was attempted.
        action: String,
        /// The key's name.
        key: String,
    },
    /// A scoped call without a token where one is needed.
    #[error(
        "{action} needs an API key with the `{scope}` scope or the admin token{where_}: send `authorization: Bearer <key>` (the CLI reads INTERAREC_API_KEY)"
    )]
    NeedsKey {
        /// What was attempted.
        action: String,
        /// The scope it needs.
        scope: Scope,
        /// Why a token-less call is not enough here.
        where_: &'static str,
    },
    /// A key without the scope the call needs.
    #[error(
        "API key `{key}` does not have the `{scope}` scope that {action} needs; add `{scope}` to its scopes in the server's config"
    )]
    MissingScope {
        /// What was attempted.
        action: String,
        /// The key's name.
        key: String,
        /// The scope it needs.
        scope: Scope,
    },
}

impl Denied {
    /// Whether the caller is known but not allowed (PERMISSION_DENIED), rather than unknown
    /// (UNAUTHENTICATED).
    pub fn is_known_caller(&self) -> bool {
        matches!(self, Denied::KeyIsNotAdmin { .. } | Denied::MissingScope { .. })
    }
}

/// The server's access rules: its admin token and API keys.
#[derive(Debug, Clone, Default)]
pub struct Access {
    admin_fingerprint: Option<String>,
    api_keys: Vec<ApiKey>,
}

impl Access {
    /// Rules for an admin token (none: every caller is the admin) and API keys.
    pub fn new(admin_token: Option<&str>, api_keys: Vec<ApiKey>) -> Access {
        Access {
            admin_fingerprint: admin_token.map(secret::fingerprint),
            api_keys,
        }
    }

    /// Who a bearer token (the text after `Bearer `) names.
    pub fn identify(&self, bearer: Option<&str>) -> Result<Caller, Denied> {
        let Some(admin) = &self.admin_fingerprint else {
            return Ok(Caller::Admin);
        };
        let Some(token) = bearer else {
            return Ok(Caller::Anonymous);
        };
        if secret::matches(token, admin) {
            return Ok(Caller::Admin);
        }
        // Every key is compared, so the time taken does not tell which one (if any) matched.
        let mut found = None;
        for key in &self.api_keys {
            if secret::matches(token, &key.sha256) && found.is_none() {
                found = Some(key);
            }
        }
        found
            .map(|key| Caller::Key {
                name: key.name.clone(),
                scopes: key.scopes.clone(),
            })
            .ok_or(Denied::UnknownToken)
    }

    /// Allows `caller` an admin call.
    pub fn admin(&self, caller: &Caller, action: &str) -> Result<(), Denied> {
        match caller {
            Caller::Admin => Ok(()),
            Caller::Key { name, .. } => Err(Denied::KeyIsNotAdmin {
                action: action.to_owned(),
                key: name.clone(),
            }),
            Caller::Anonymous => Err(Denied::NeedsAdmin {
                action: action.to_owned(),
            }),
        }
    }

    /// Allows `caller` a call needing `scope`; `from_loopback` says whether it came from this
    /// machine (unknown peers count as remote).
    pub fn scoped(&self, caller: &Caller, scope: Scope, from_loopback: bool, action: &str) -> Result<(), Denied> {
        match caller {
            Caller::Admin => Ok(()),
            Caller::Key { scopes, .. } if scopes.contains(&scope) => Ok(()),
            Caller::Key { name, .. } => Err(Denied::MissingScope {
                action: action.to_owned(),
                key: name.clone(),
                scope,
            }),
            Caller::Anonymous if self.api_keys.is_empty() && from_loopback => Ok(()),
            Caller::Anonymous => Err(Denied::NeedsKey {
                action: action.to_owned(),
                scope,
                where_: if self.api_keys.is_empty() {
                    " from beyond this machine"
                } else {
                    " (API keys are configured, so no call goes without one)"
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "admin-token-0123456789";
    const STOREFRONT: &str = "irk-storefront-key";
    const READER: &str = "irk-reader-key";

    fn access(keys: bool) -> Access {
        let api_keys = if keys {
            vec![
                ApiKey {
                    name: "storefront".into(),
                    sha256: secret::fingerprint(STOREFRONT),
                    scopes: vec![Scope::Sessions, Scope::Read],
                },
                ApiKey {
                    name: "reader".into(),
                    sha256: secret::fingerprint(READER),
                    scopes: vec![Scope::Read],
                },
            ]
        } else {
            Vec::new()
        };
        Access::new(Some(ADMIN), api_keys)
    }

    /// (API keys configured, bearer, from loopback, admin call outcome, `sessions` call outcome);
    /// an outcome is Ok or the start of the refusal's message.
    #[test]
    fn each_caller_gets_what_the_table_says() {
        let cases: &[(bool, Option<&str>, bool, Result<(), &str>, Result<(), &str>)] = &[
            (false, Some(ADMIN), false, Ok(()), Ok(())),
            (false, None, true, Err("x needs the admin token: send"), Ok(())),
            (
                false,
                None,
                false,
                Err("x needs the admin token"),
                Err("x needs an API key with the `sessions` scope or the admin token from beyond this machine"),
            ),
            (
                false,
                Some("guess-guess-guess"),
                true,
                Err("the bearer token sent is neither"),
                Err("the bearer token sent is neither"),
            ),
            (
                true,
                None,
                true,
                Err("x needs the admin token"),
                Err("x needs an API key with the `sessions` scope or the admin token (API keys are configured"),
            ),
            (
                true,
                Some(STOREFRONT),
                false,
                Err("x needs the admin token; API key `storefront` cannot"),
                Ok(()),
            ),
            (
                true,
                Some(READER),
                true,
                Err("x needs the admin token; API key `reader`"),
                Err("API key `reader` does not have the `sessions` scope"),
            ),
            (true, Some(ADMIN), false, Ok(()), Ok(())),
            (
                true,
                Some("irk-storefront-ke"),
                true,
                Err("the bearer token sent is neither"),
                Err("the bearer token sent is neither"),
            ),
        ];
        for (keys, bearer, loopback, admin_expected, scoped_expected) in cases {
            let access = access(*keys);
            let outcome = |decide: &dyn Fn(&Caller) -> Result<(), Denied>| -> Result<(), Denied> {
                access.identify(*bearer).and_then(|caller| decide(&caller))
            };
            let admin = outcome(&|caller| access.admin(caller, "x"));
            let scoped = outcome(&|caller| access.scoped(caller, Scope::Sessions, *loopback, "x"));
            for (what, actual, expected) in [("admin", admin, admin_expected), ("scoped", scoped, scoped_expected)] {
                match (expected, actual) {
                    (Ok(()), Ok(())) => {}
                    (Err(start), Err(denied)) => {
                        assert!(denied.to_string().starts_with(start), "{what} {bearer:?}: {denied}")
                    }
                    (expected, actual) => {
                        panic!("{what} keys={keys} {bearer:?}: expected {expected:?}, got {actual:?}")
                    }
                }
            }
        }
    }

    #[test]
    fn without_an_admin_token_everyone_is_the_admin() {
        let open = Access::new(None, Vec::new());
        for bearer in [None, Some("anything")] {
            assert_eq!(open.identify(bearer), Ok(Caller::Admin));
        }
    }

    #[test]
    fn refusals_say_whether_the_caller_was_known() {
        let access = access(true);
        let key = access.identify(Some(READER)).unwrap();
        assert!(
            access
                .scoped(&key, Scope::Optimize, true, "x")
                .unwrap_err()
                .is_known_caller()
        );
        assert!(!access.admin(&Caller::Anonymous, "x").unwrap_err().is_known_caller());
        assert!(!access.identify(Some("nope")).unwrap_err().is_known_caller());
    }

    #[test]
    fn scopes_parse_by_name_and_refuse_others() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.name()), Ok(scope));
        }
        let refused = Scope::parse("admin").unwrap_err();
        assert!(refused.contains("sessions, tools:invoke, optimize, read"), "{refused}");
    }
}
