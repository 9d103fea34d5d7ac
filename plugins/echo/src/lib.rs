//! `echo`: the smallest useful tool. It returns its arguments, optionally counting calls per
//! session in key-value state, and serves as the example plugin and the benchmark's trivial tool.

use interarec_plugin::{Capability, Description, JsonSchema, Tool, ToolError, Value, export_tool, kv};
use serde::{Deserialize, Serialize};

/// The echo tool.
pub struct Echo;

/// What to echo.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Arguments {
    /// Anything; returned as is.
    pub message: Value,
    /// Count calls in kv state (needs the kv grant).
    #[serde(default)]
    pub count: bool,
}

/// The message, and the calls counted so far when asked to count.
#[derive(Debug, PartialEq, Serialize)]
pub struct Echoed {
    /// The message as given.
    pub message: Value,
    /// Calls in this session so far, this one included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<u64>,
}

impl Tool for Echo {
    type Arguments = Arguments;
    type Output = Echoed;

    fn describe() -> Description {
        Description::new(
            "echo",
            "0.1.0",
            "Returns the given message unchanged; with `count: true` also counts calls in session state",
        )
        .capability(Capability::Kv)
    }

    fn invoke(arguments: Arguments) -> Result<Echoed, ToolError> {
        let message = arguments.message;
        if !arguments.count {
            return Ok(Echoed { message, calls: None });
        }
        let calls = kv::get_json::<u64>("calls")?.unwrap_or(0) + 1;
        kv::set_json("calls", &calls)?;
        Ok(Echoed {
            message,
            calls: Some(calls),
        })
    }
}

export_tool!(Echo);

#[cfg(test)]
mod tests {
    use super::*;
    use interarec_plugin::json;
    use interarec_plugin::testing::invoke;

    #[test]
    fn echoes_the_message_back() {
        let cases = [json!("hello"), json!(42), json!({ "nested": [1, 2, 3] }), Value::Null];
        for message in cases {
            let result = invoke::<Echo>(json!({ "message": message.clone() })).unwrap();
            assert_eq!(result, json!({ "message": message }));
        }
    }

    #[test]
    fn counts_calls_in_kv_state() {
        for expected in 1..=3 {
            let result = invoke::<Echo>(json!({ "message": "hi", "count": true })).unwrap();
            assert_eq!(result, json!({ "message": "hi", "calls": expected }));
        }
    }

    #[test]
    fn the_schema_comes_from_the_arguments_type() {
        let description = interarec_plugin::testing::description::<Echo>();
        assert_eq!(description.name(), "echo");
        let schema = description.schema();
        assert_eq!(schema["required"], json!(["message"]), "{schema:#}");
        assert_eq!(schema["properties"]["count"]["type"], "boolean", "{schema:#}");
        assert_eq!(schema["additionalProperties"], false, "{schema:#}");
        let refused = invoke::<Echo>(json!({ "message": 1, "shout": true })).unwrap_err();
        assert!(refused.to_string().contains("unknown field `shout`"), "{refused}");
    }
}
