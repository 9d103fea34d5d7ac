//! What the tool world defines once for both sides. The capabilities: the host
//! (`interarec-core`: grants, manifests) and the guest SDK (`interarec-plugin`: a tool's
//! description) both use this enum, so a capability added to the WIT is added here and nowhere
//! else. The validating-tool contract ([`validating`]): the orchestrator and the tools that
//! validate a session's constraints read and write the same types. A leaf crate (serde and
//! schemars only) because tools compile it to WebAssembly.

pub mod validating;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A host capability of the tool world. Logging is always allowed and never needs a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Session- and tool-scoped key-value state.
    Kv,
    /// Screenshot frames of the calling session.
    Frames,
    /// Chat completion with text and image parts (the session's model provider).
    Models,
    /// Catalogs and choice models, read only.
    Catalog,
    /// Outbound HTTP to allowlisted hosts.
    Http,
}

impl Capability {
    /// Every capability, in a stable order.
    pub const ALL: [Capability; 5] = [
        Capability::Kv,
        Capability::Frames,
        Capability::Models,
        Capability::Catalog,
        Capability::Http,
    ];

    /// The capability's name as used in grants and in the WIT description (`kv`, `http`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Capability::Kv => "kv",
            Capability::Frames => "frames",
            Capability::Models => "models",
            Capability::Catalog => "catalog",
            Capability::Http => "http",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the tool world's capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCapability(pub String);

impl fmt::Display for UnknownCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Capability::ALL.iter().map(|c| c.name()).collect();
        write!(
            f,
            "unknown capability `{}`; known capabilities are {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownCapability {}

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|capability| capability.name() == name)
            .ok_or_else(|| UnknownCapability(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_names_list_the_known_ones() {
        for capability in Capability::ALL {
            assert_eq!(capability.name().parse(), Ok(capability));
        }
        let unknown = "files".parse::<Capability>().unwrap_err().to_string();
        assert_eq!(
            unknown,
            "unknown capability `files`; known capabilities are kv, frames, models, catalog, http"
        );
    }
}
