//! Hostile guest: panics on every call.

use interarec_plugin::{Description, Tool, ToolError, Value, export_tool};

/// The guest.
pub struct Panic;

impl Tool for Panic {
    type Arguments = Value;
    type Output = Value;

    fn describe() -> Description {
        Description::new("panic", "0.1.0", "Panics")
    }

    fn invoke(_arguments: Value) -> Result<Value, ToolError> {
        panic!("the panic guest always panics");
    }
}

export_tool!(Panic);
