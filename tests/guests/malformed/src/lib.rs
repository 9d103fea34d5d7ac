//! Hostile guest: returns a result that is not JSON, bypassing the SDK's serialisation.

use interarec_plugin::bindings::exports::interarec::tool::tool::Guest;
use interarec_plugin::bindings::interarec::tool::types::{ToolDescription, ToolError};

/// The guest.
pub struct Malformed;

impl Guest for Malformed {
    fn describe() -> ToolDescription {
        ToolDescription {
            name: "malformed".into(),
            version: "0.1.0".into(),
            description: "Returns text that is not JSON".into(),
            arguments_schema: r#"{"type":"object"}"#.into(),
            capabilities: Vec::new(),
        }
    }

    fn invoke(_arguments: String) -> Result<String, ToolError> {
        Ok("{ this is not json".into())
    }
}

#[used]
#[unsafe(link_section = "interarec:api-version")]
static API_VERSION: [u8; 5] = *b"0.1.0";

interarec_plugin::bindings::__export_tool_world!(Malformed with_types_in interarec_plugin::bindings);
