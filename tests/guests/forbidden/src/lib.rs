//! Hostile guest: uses host imports without being granted them; `which` picks the import.

use interarec_plugin::{Description, Tool, ToolError, Value, export_tool, http, json, kv};

/// The guest.
pub struct Forbidden;

impl Tool for Forbidden {
    type Arguments = Value;
    type Output = Value;

    fn describe() -> Description {
        Description::new("forbidden", "0.1.0", "Calls kv or http without a grant")
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        match arguments.get("which").and_then(Value::as_str).unwrap_or("kv") {
            "http" => {
                let url = arguments
                    .get("url")
                    .and_then(Value::as_str)
                    .unwrap_or("http://127.0.0.1:9/");
                let response = http::get(url)?;
                Ok(json!({ "status": response.status }))
            }
            _ => {
                kv::set("stolen", b"secret")?;
                Ok(json!({ "stored": true }))
            }
        }
    }
}

export_tool!(Forbidden);
