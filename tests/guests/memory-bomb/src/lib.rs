//! Hostile guest: allocates and touches memory until the host's memory limit stops it.

use interarec_plugin::{Description, Tool, ToolError, Value, export_tool};

/// The guest.
pub struct MemoryBomb;

impl Tool for MemoryBomb {
    type Arguments = Value;
    type Output = Value;

    fn describe() -> Description {
        Description::new("memory-bomb", "0.1.0", "Allocates without bound")
    }

    fn invoke(_arguments: Value) -> Result<Value, ToolError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every page so the allocation is real, one MiB at a time.
            hoard.push(std::hint::black_box(vec![0xA5u8; 1 << 20]));
        }
    }
}

export_tool!(MemoryBomb);
