//! The tool's self-description: what it is called, what it takes, what it needs.

use crate::bindings::interarec::tool::types as wit;
use serde_json::Value;

/// A capability a tool asks the host for. The operator still has to grant it at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Session- and tool-scoped key-value state ([`crate::kv`]).
    Kv,
    /// Screenshot frames of the session ([`crate::frames`]).
    Frames,
    /// Chat completion with image parts ([`crate::models`]).
    Models,
    /// Catalogs and choice models ([`crate::catalog`]).
    Catalog,
    /// Outbound HTTP to allowlisted hosts ([`crate::http`]).
    Http,
}

impl Capability {
    /// The capability's name as it appears in grants (`kv`, `http`, ...).
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

/// Everything [`crate::Tool::describe`] returns. Build it with [`Description::new`] and the
/// builder methods.
#[derive(Debug, Clone)]
pub struct Description {
    name: String,
    version: String,
    description: String,
    arguments_schema: Value,
    capabilities: Vec<Capability>,
}

impl Description {
    /// A tool called `name` at semantic version `version`, taking any JSON object.
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Description {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            arguments_schema: serde_json::json!({ "type": "object" }),
            capabilities: Vec::new(),
        }
    }

    /// The JSON Schema the arguments must match; the host validates every call against it.
    pub fn arguments_schema(mut self, schema: Value) -> Self {
        self.arguments_schema = schema;
        self
    }

    /// Asks for a capability; repeat for several.
    pub fn capability(mut self, capability: Capability) -> Self {
        if !self.capabilities.contains(&capability) {
            self.capabilities.push(capability);
        }
        self
    }

    pub(crate) fn into_wit(self) -> wit::ToolDescription {
        wit::ToolDescription {
            name: self.name,
            version: self.version,
            description: self.description,
            arguments_schema: self.arguments_schema.to_string(),
            capabilities: self.capabilities.iter().map(|c| c.name().to_owned()).collect(),
        }
    }
}
