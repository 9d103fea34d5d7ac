//! InteraRec domain types shared by every other crate: tool manifests, capabilities and grants,
//! per-call limits and argument schemas.
//!
//! This crate knows neither tonic nor wasmtime nor sled (ARCHITECTURE.md checks it): the server
//! converts wire types into these, the plugin host enforces them, the store persists them.

pub mod capability;
pub mod catalog;
pub mod limits;
pub mod schema;
pub mod session;
pub mod tool;

pub use capability::{Capability, Grant, GrantError, Grants};
pub use limits::{LimitError, LimitsConfig, RequestedLimits, ToolLimits};
pub use schema::{ArgumentSchema, SchemaError};
pub use tool::{ManifestError, ToolManifest, ToolRecord};

/// The version of the `interarec:tool` WIT package this build speaks.
pub const TOOL_API_VERSION: &str = "0.1.0";
