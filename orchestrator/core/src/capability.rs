//! Capabilities a tool may ask for and the grants an operator gives, deny-by-default.
//!
//! A grant is written `kv`, `frames`, `models`, `catalog` or `http:HOST[,HOST...]` (the CLI's
//! `--grant` flag and the config use this form). HTTP hosts are matched case-insensitively and
//! exactly, optionally with a port (`api.example.com:8443`); `*.example.com` matches any
//! subdomain of example.com but not example.com itself.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use interarec_capability::{Capability, UnknownCapability};

/// Why a grant or a capability name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The name is not one of the tool world's capabilities.
    #[error(transparent)]
    UnknownCapability(#[from] UnknownCapability),
    /// An `http` grant without hosts.
    #[error("the http grant needs an allowlist of hosts: write `http:api.example.com[,other.host]`")]
    HttpWithoutHosts,
    /// A host entry that is not a plain host name (optionally with a port or a leading `*.`).
    #[error(
        "`{0}` is not a host name for the http allowlist; write a host such as `api.example.com`, `127.0.0.1:8080` or `*.example.com`"
    )]
    InvalidHost(String),
    /// Only `http` takes a value after a colon.
    #[error("capability `{0}` takes no value; only `http:HOSTS` does")]
    UnexpectedValue(String),
    /// A capability granted that the tool never asked for.
    #[error(
        "grant `{capability}` was not requested by the tool (it requests: {requested}); remove the grant or rebuild the tool to ask for it"
    )]
    NotRequested {
        /// The capability granted.
        capability: Capability,
        /// What the tool asks for, comma-separated (or `nothing`).
        requested: String,
    },
}

/// One capability granted to one tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The capability.
    pub capability: Capability,
    /// For `http`: the allowlisted hosts; empty for every other capability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

impl Grant {
    /// A grant of `capability` with a host list (hosts are only valid for `http`).
    pub fn new(capability: Capability, hosts: Vec<String>) -> Result<Grant, GrantError> {
        let hosts: Vec<String> = hosts.into_iter().map(|host| host.trim().to_ascii_lowercase()).collect();
        match capability {
            Capability::Http if hosts.is_empty() => return Err(GrantError::HttpWithoutHosts),
            Capability::Http => {
                for host in &hosts {
                    validate_host_pattern(host)?;
                }
            }
            other if !hosts.is_empty() => return Err(GrantError::UnexpectedValue(other.name().to_owned())),
            _ => {}
        }
        Ok(Grant { capability, hosts })
    }
}

impl FromStr for Grant {
    type Err = GrantError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, value) = match text.split_once(':') {
            Some((name, value)) => (name.trim(), Some(value)),
            None => (text.trim(), None),
        };
        let capability: Capability = name.parse()?;
        let hosts = match value {
            Some(value) => value
                .split(',')
                .map(str::to_owned)
                .filter(|h| !h.trim().is_empty())
                .collect(),
            None => Vec::new(),
        };
        if value.is_some() && capability != Capability::Http {
            return Err(GrantError::UnexpectedValue(name.to_owned()));
        }
        Grant::new(capability, hosts)
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hosts.is_empty() {
            write!(f, "{}", self.capability)
        } else {
            write!(f, "{}:{}", self.capability, self.hosts.join(","))
        }
    }
}

fn validate_host_pattern(pattern: &str) -> Result<(), GrantError> {
    let host = pattern.strip_prefix("*.").unwrap_or(pattern);
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.starts_with('.')
        && !name.ends_with('.');
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port > 0));
    if name_ok && port_ok {
        Ok(())
    } else {
        Err(GrantError::InvalidHost(pattern.to_owned()))
    }
}

/// The grants of one tool. Anything not in here is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    grants: Vec<Grant>,
}

impl Grants {
    /// Collects grants, merging repeated `http` grants into one allowlist, and checks that each
    /// was requested by the tool.
    pub fn new(grants: Vec<Grant>, requested: &[Capability]) -> Result<Grants, GrantError> {
        let mut merged: Vec<Grant> = Vec::new();
        for grant in grants {
            if !requested.contains(&grant.capability) {
                let requested = if requested.is_empty() {
                    "nothing".to_owned()
                } else {
                    requested.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
                };
                return Err(GrantError::NotRequested {
                    capability: grant.capability,
                    requested,
                });
            }
            match merged
                .iter_mut()
                .find(|existing| existing.capability == grant.capability)
            {
                Some(existing) => {
                    for host in grant.hosts {
                        if !existing.hosts.contains(&host) {
                            existing.hosts.push(host);
                        }
                    }
                }
                None => merged.push(grant),
            }
        }
        merged.sort_by_key(|grant| grant.capability);
        Ok(Grants { grants: merged })
    }

    /// No grants at all.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Every grant, sorted by capability.
    pub fn iter(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter()
    }

    /// Whether `capability` was granted.
    pub fn allows(&self, capability: Capability) -> bool {
        self.grants.iter().any(|grant| grant.capability == capability)
    }

    /// Whether an HTTP request to `host` (lowercase, without brackets) on `port` is allowed.
    pub fn allows_http(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let Some(grant) = self.grants.iter().find(|grant| grant.capability == Capability::Http) else {
            return false;
        };
        grant.hosts.iter().any(|pattern| {
            let (pattern_host, pattern_port) = match pattern.rsplit_once(':') {
                Some((name, port)) => (name, port.parse::<u16>().ok()),
                None => (pattern.as_str(), None),
            };
            let port_matches = pattern_port.is_none_or(|wanted| wanted == port);
            let host_matches = match pattern_host.strip_prefix("*.") {
                Some(domain) => host.len() > domain.len() && host.ends_with(&format!(".{domain}")),
                None => host == pattern_host,
            };
            host_matches && port_matches
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_as_written_on_the_command_line() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("kv", Ok("kv")),
            ("frames", Ok("frames")),
            (" models ", Ok("models")),
            ("http:api.example.com", Ok("http:api.example.com")),
            (
                "http:API.example.com,127.0.0.1:8080",
                Ok("http:api.example.com,127.0.0.1:8080"),
            ),
            ("http:*.example.com", Ok("http:*.example.com")),
            ("http", Err("needs an allowlist")),
            ("http:", Err("needs an allowlist")),
            ("http:exa mple.com", Err("is not a host name")),
            ("http:host:99999", Err("is not a host name")),
            ("http:host:0", Err("is not a host name")),
            ("kv:whatever", Err("takes no value")),
            ("network", Err("unknown capability `network`")),
        ];
        for (input, expected) in cases {
            let parsed = input.parse::<Grant>();
            match (expected, parsed) {
                (Ok(display), Ok(grant)) => assert_eq!(grant.to_string(), *display, "input {input:?}"),
                (Err(fragment), Err(error)) => {
                    assert!(error.to_string().contains(fragment), "input {input:?}: {error}")
                }
                (expected, actual) => panic!("input {input:?}: expected {expected:?}, got {actual:?}"),
            }
        }
    }

    #[test]
    fn only_requested_capabilities_can_be_granted() {
        let requested = [Capability::Kv];
        let error = Grants::new(vec!["http:a.com".parse().unwrap()], &requested).unwrap_err();
        assert_eq!(
            error.to_string(),
            "grant `http` was not requested by the tool (it requests: kv); remove the grant or rebuild the tool to ask for it"
        );
        let grants = Grants::new(vec!["kv".parse().unwrap()], &requested).unwrap();
        assert!(grants.allows(Capability::Kv));
        assert!(!grants.allows(Capability::Http));
        assert!(!Grants::none().allows(Capability::Kv));
    }

    #[test]
    fn http_allowlist_matches_hosts_ports_and_wildcards() {
        let grants = Grants::new(
            vec![
                "http:api.example.com".parse().unwrap(),
                "http:127.0.0.1:8080,*.shop.test".parse().unwrap(),
            ],
            &[Capability::Http],
        )
        .unwrap();
        let cases = [
            ("api.example.com", 443, true),
            ("API.EXAMPLE.COM", 80, true),
            ("evil-api.example.com", 443, false),
            ("example.com", 443, false),
            ("127.0.0.1", 8080, true),
            ("127.0.0.1", 8081, false),
            ("a.shop.test", 443, true),
            ("deep.a.shop.test", 443, true),
            ("shop.test", 443, false),
            ("xshop.test", 443, false),
        ];
        for (host, port, allowed) in cases {
            assert_eq!(grants.allows_http(host, port), allowed, "{host}:{port}");
        }
        assert_eq!(grants.iter().count(), 1, "http grants merge into one allowlist");
    }
}

#[cfg(test)]
mod properties {
    //! Property tests of the http allowlist: an exact entry allows that host only (any case, any
    //! port unless one is named), `*.domain` allows strict subdomains only, and names that merely
    //! end with the domain's letters, or contain it elsewhere, are refused.
    use super::*;
    use proptest::prelude::*;

    const LABEL: &str = "[a-z][a-z0-9]{0,8}";

    fn grants(pattern: &str) -> Grants {
        Grants::new(
            vec![Grant::new(Capability::Http, vec![pattern.to_owned()]).unwrap()],
            &[Capability::Http],
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn exact_hosts_and_wildcards_match_as_documented(
            name in LABEL, domain in LABEL, top in "(com|org|net)", other in LABEL, port in 1u16..65535, named in 1u16..65535,
        ) {
            let host = format!("{domain}.{top}");
            let (sub, longer, glued, inside) =
                (format!("{name}.{host}"), format!("{host}.{other}"), format!("{name}{host}"), format!("{name}.{host}.{other}"));
            let exact = grants(&host);
            prop_assert!(exact.allows_http(&host, port));
            prop_assert!(exact.allows_http(&host.to_uppercase(), port));
            prop_assert!(!exact.allows_http(&sub, port));
            prop_assert!(!exact.allows_http(&longer, port));

            let with_port = grants(&format!("{host}:{named}"));
            prop_assert_eq!(with_port.allows_http(&host, port), port == named);

            let wildcard = grants(&format!("*.{host}"));
            prop_assert!(wildcard.allows_http(&sub, port));
            prop_assert!(!wildcard.allows_http(&host, port));
            prop_assert!(!wildcard.allows_http(&glued, port));
            prop_assert!(!wildcard.allows_http(&inside, port));
            prop_assert!(!Grants::none().allows_http(&host, port));
        }
    }
}
