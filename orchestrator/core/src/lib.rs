//! InteraRec domain types shared by every other crate: tool manifests, capabilities and grants,
//! per-call limits and argument schemas, sessions and their typed event protocol.
//!
//! This crate knows neither tonic nor wasmtime nor sled (ARCHITECTURE.md checks it): the server
//! converts wire types into these, the plugin host enforces them, the store persists them.

pub mod capability;
pub mod catalog;
pub mod event;
pub mod limits;
pub mod money;
pub mod schema;
pub mod secret;
pub mod session;
pub mod telemetry;
pub mod tool;
pub mod tools;

pub use capability::{Capability, Grant, GrantError, Grants};
pub use limits::{LimitError, LimitsConfig, RequestedLimits, ToolLimits};
pub use schema::{ArgumentSchema, SchemaError};
pub use tool::{ManifestError, ToolManifest, ToolRecord};
pub use tools::{ToolFuture, Tools};

/// The version of the `interarec:tool` WIT package this build speaks and the SDK builds against.
pub const TOOL_API_VERSION: &str = "0.1.1";

/// Every `interarec:tool` version whose components this build runs: 0.1.1 only adds to 0.1.0,
/// so a 0.1.0 component links against the 0.1.1 host unchanged (semver matching of 0.1.x).
pub const SUPPORTED_TOOL_API_VERSIONS: [&str; 2] = ["0.1.0", "0.1.1"];

/// Milliseconds since the Unix epoch, for the time stamps of stored records (0 if the clock is
/// before 1970).
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
