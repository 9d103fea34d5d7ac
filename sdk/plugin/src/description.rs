//! The tool's self-description: what it is called, what it takes, what it needs.

use crate::bindings::interarec::tool::types as wit;
use serde_json::Value;

/// A capability a tool asks the host for (the operator still has to grant it at registration):
/// the tool world's one list, shared with the host.
pub use interarec_capability::Capability;

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
