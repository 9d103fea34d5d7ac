//! Test guest: describes its arguments with a schema that is not valid JSON Schema, so
//! registration must refuse it and say why.

use interarec_plugin::{Description, Tool, ToolError, Value, export_tool, json};

/// The guest.
pub struct BadSchema;

impl Tool for BadSchema {
    type Arguments = Value;
    type Output = Value;

    fn describe() -> Description {
        Description::new("bad-schema", "0.1.0", "Has an invalid argument schema")
            .arguments_schema(json!({ "type": "banana" }))
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        Ok(arguments)
    }
}

export_tool!(BadSchema);
