//! Test guest: records a WIT version the host does not speak, so registration must refuse it.

use interarec_plugin::{Description, Tool, ToolError, Value, export_tool};

/// The guest.
pub struct WrongVersion;

impl Tool for WrongVersion {
    type Arguments = Value;
    type Output = Value;

    fn describe() -> Description {
        Description::new("wrong-version", "0.1.0", "Claims interarec:tool@9.9.0")
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        Ok(arguments)
    }
}

export_tool!(WrongVersion, api_version = "9.9.0");
