//! `echo`: the smallest useful tool. It returns its arguments, optionally counting calls per
//! session in key-value state, and serves as the example plugin and the benchmark's trivial tool.

use interarec_plugin::{Capability, Description, Tool, ToolError, Value, export_tool, json, kv};

/// The echo tool.
pub struct Echo;

impl Tool for Echo {
    fn describe() -> Description {
        Description::new(
            "echo",
            "0.1.0",
            "Returns the given message unchanged; with `count: true` also counts calls in session state",
        )
        .arguments_schema(json!({
            "type": "object",
            "properties": {
                "message": { "description": "Anything; returned as is" },
                "count": { "type": "boolean", "description": "Count calls in kv state (needs the kv grant)" }
            },
            "required": ["message"],
            "additionalProperties": false
        }))
        .capability(Capability::Kv)
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        let message = arguments.get("message").cloned().unwrap_or(Value::Null);
        if arguments.get("count").and_then(Value::as_bool) != Some(true) {
            return Ok(json!({ "message": message }));
        }
        let calls = kv::get_json::<u64>("calls")?.unwrap_or(0) + 1;
        kv::set_json("calls", &calls)?;
        Ok(json!({ "message": message, "calls": calls }))
    }
}

export_tool!(Echo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_the_message_back() {
        let cases = [json!("hello"), json!(42), json!({ "nested": [1, 2, 3] }), Value::Null];
        for message in cases {
            let result = Echo::invoke(json!({ "message": message.clone() })).unwrap();
            assert_eq!(result, json!({ "message": message }));
        }
    }

    #[test]
    fn counts_calls_in_kv_state() {
        for expected in 1..=3 {
            let result = Echo::invoke(json!({ "message": "hi", "count": true })).unwrap();
            assert_eq!(result, json!({ "message": "hi", "calls": expected }));
        }
    }

    #[test]
    fn describes_itself_with_a_valid_name_and_version() {
        let description = format!("{:?}", Echo::describe());
        assert!(description.contains("\"echo\""), "{description}");
        assert!(description.contains("\"0.1.0\""), "{description}");
    }
}
