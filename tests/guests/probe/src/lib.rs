//! Test guest: requests every capability and exercises the host import named by `use`, so tests
//! can check each grant, each denial and each "not available" answer.

use interarec_plugin::{
    Capability, Description, Tool, ToolError, Value, catalog, export_tool, frames, http, json, kv, models,
};

/// The guest.
pub struct Probe;

impl Tool for Probe {
    type Arguments = Value;
    type Output = Value;

    fn describe() -> Description {
        Description::new("probe", "0.1.0", "Uses the host import named in `use`")
            .arguments_schema(json!({
                "type": "object",
                "properties": {
                    "use": { "enum": ["kv", "http", "frames", "models", "catalog", "wasi"] },
                    "url": { "type": "string" },
                    "catalog": { "type": "string" }
                },
                "required": ["use"]
            }))
            .capability(Capability::Kv)
            .capability(Capability::Http)
            .capability(Capability::Frames)
            .capability(Capability::Models)
            .capability(Capability::Catalog)
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        match arguments["use"].as_str().unwrap_or_default() {
            "kv" => {
                kv::set("probe", b"value")?;
                let value = kv::get("probe")?.unwrap_or_default();
                Ok(json!({ "kv": String::from_utf8_lossy(&value) }))
            }
            "http" => {
                let response = http::get(arguments["url"].as_str().unwrap_or_default())?;
                Ok(json!({ "status": response.status, "body": String::from_utf8_lossy(&response.body) }))
            }
            "frames" => Ok(json!({ "bytes": frames::read("frame-1")?.len() })),
            "models" => {
                let request = models::ChatRequest {
                    messages: vec![models::Message {
                        role: "user".into(),
                        content: vec![models::ContentPart::Text("hello".into())],
                    }],
                    max_tokens: None,
                    temperature: None,
                    json_response: false,
                };
                Ok(json!({ "text": models::chat(&request)?.text }))
            }
            "catalog" => {
                let id = arguments["catalog"].as_str().unwrap_or("default");
                let description = catalog::describe(id)?;
                let items = catalog::items(id, 0, 2)?;
                Ok(json!({ "item_count": description["item_count"], "first_items": items }))
            }
            // What ambient authority WASI leaves the guest: no environment, files or sockets.
            "wasi" => Ok(json!({
                "env_vars": std::env::vars().count(),
                "root_readable": std::fs::read_dir("/").is_ok(),
                "tcp_connect": std::net::TcpStream::connect("127.0.0.1:9").is_ok(),
            })),
            other => Err(ToolError::InvalidArguments(format!("unknown import `{other}`"))),
        }
    }
}

export_tool!(Probe);
