//! Hostile guest: never returns, so only the host's deadline (epoch interruption) can stop it.

use interarec_plugin::{Description, Tool, ToolError, Value, export_tool};

/// The guest.
pub struct Spin;

impl Tool for Spin {
    type Arguments = Value;
    type Output = Value;

    fn describe() -> Description {
        Description::new("spin", "0.1.0", "Loops forever")
    }

    fn invoke(_arguments: Value) -> Result<Value, ToolError> {
        let mut counter: u64 = 0;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }
}

export_tool!(Spin);
