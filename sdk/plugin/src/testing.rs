//! Calling a tool as the host does, natively: a tool's own `cargo test` sends JSON arguments
//! through the same decoding and encoding as a real call ([`invoke`]) and reads the description
//! the host would see ([`description`], with the generated argument schema). The host's doubles
//! for each capability are in the capability's module (`catalog::testing`, `frames::testing`,
//! `models::testing`, `http::testing`; `kv` keeps an in-memory map per test thread).

use crate::{Description, Tool, ToolError};
use serde_json::Value;

/// What the host reads from `describe`: the tool's description with its argument schema
/// generated from [`Tool::Arguments`] (unless the description sets one).
pub fn description<T: Tool>() -> Description {
    let description = T::describe();
    if description.has_arguments_schema() {
        return description;
    }
    description.arguments_schema(crate::schema::arguments_schema::<T::Arguments>())
}

/// Calls the tool with JSON arguments and answers JSON, as a call through the host does (the
/// host also checks the arguments against the schema first; decoding refuses what the type
/// refuses, with the same message a caller would get).
pub fn invoke<T: Tool>(arguments: Value) -> Result<Value, ToolError> {
    let answer = invoke_json::<T>(&arguments.to_string())?;
    serde_json::from_str(&answer).map_err(|error| ToolError::Failed(format!("the answer is not JSON: {error}")))
}

/// The call as the component runs it: JSON text in, JSON text out.
pub(crate) fn invoke_json<T: Tool>(arguments: &str) -> Result<String, ToolError> {
    let arguments: T::Arguments = serde_json::from_str(arguments)
        .map_err(|error| ToolError::InvalidArguments(format!("the arguments do not fit the tool's schema: {error}")))?;
    let answer = T::invoke(arguments)?;
    serde_json::to_string(&answer)
        .map_err(|error| ToolError::Failed(format!("the answer cannot be written as JSON: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Value, json};

    struct Anything;

    impl Tool for Anything {
        type Arguments = Value;
        type Output = Value;

        fn describe() -> Description {
            Description::new("anything", "0.1.0", "Answers what it is given")
        }

        fn invoke(arguments: Value) -> Result<Value, ToolError> {
            Ok(arguments)
        }
    }

    #[test]
    fn a_tool_taking_any_json_takes_any_object_and_answers_through_json() {
        assert_eq!(description::<Anything>().schema()["type"], "object");
        assert_eq!(invoke::<Anything>(json!({ "a": [1] })), Ok(json!({ "a": [1] })));
    }
}
