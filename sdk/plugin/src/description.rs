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
    /// Set only to claim a schema other than the arguments type's (test guests do).
    arguments_schema: Option<Value>,
    capabilities: Vec<Capability>,
}

impl Description {
    /// A tool called `name` at semantic version `version`; its argument schema is generated from
    /// [`Tool::Arguments`](crate::Tool::Arguments).
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Description {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            arguments_schema: None,
            capabilities: Vec::new(),
        }
    }

    /// Claims `schema` as the argument schema instead of the one generated from the arguments
    /// type. Rarely right: the two can then drift apart (the host validates calls against this
    /// one, the tool decodes with its type). Meant for tools whose arguments type is `Value`.
    pub fn arguments_schema(mut self, schema: Value) -> Self {
        self.arguments_schema = Some(schema);
        self
    }

    /// Whether [`Description::arguments_schema`] set a schema.
    pub(crate) fn has_arguments_schema(&self) -> bool {
        self.arguments_schema.is_some()
    }

    /// The name, as the host registers it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The argument schema the host will see: the claimed one, else an object of anything.
    /// Read it through [`crate::testing::description`], which fills in the generated one.
    pub fn schema(&self) -> Value {
        self.arguments_schema
            .clone()
            .unwrap_or_else(|| serde_json::json!({ "type": "object" }))
    }

    /// The capabilities asked for.
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    /// Asks for a capability; repeat for several.
    pub fn capability(mut self, capability: Capability) -> Self {
        if !self.capabilities.contains(&capability) {
            self.capabilities.push(capability);
        }
        self
    }

    pub(crate) fn into_wit(self) -> wit::ToolDescription {
        let arguments_schema = self.schema().to_string();
        wit::ToolDescription {
            name: self.name,
            version: self.version,
            description: self.description,
            arguments_schema,
            capabilities: self.capabilities.iter().map(|c| c.name().to_owned()).collect(),
        }
    }
}
