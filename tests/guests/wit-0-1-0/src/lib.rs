//! Test guest: a component built against `interarec:tool@0.1.0`, as every tool was before 0.1.1
//! added columnar catalog access. Its bindings come straight from `sdk/wit/v0.1.0` (today's SDK
//! builds against 0.1.1), so its imports and export carry `@0.1.0` and the host must still link
//! and run it. It reads a catalog page by page and a model as JSON (the 0.1.0 `catalog`
//! interface) and counts its calls in `kv`.

wit_bindgen::generate!({
    path: "../../../sdk/wit/v0.1.0",
    world: "tool-world",
    generate_all,
});

use exports::interarec::tool::tool::Guest;
use interarec::tool::types::{HostError, ToolDescription, ToolError};
use interarec::tool::{catalog, kv};
use serde_json::{Value, json};

struct WitZeroOneZero;

fn host(error: HostError) -> ToolError {
    match error {
        HostError::Denied(message) => ToolError::Denied(message),
        HostError::Invalid(message) => ToolError::InvalidArguments(message),
        HostError::NotAvailable(message) | HostError::Failed(message) => ToolError::Failed(message),
    }
}

fn parse(text: &str) -> Result<Value, ToolError> {
    serde_json::from_str(text).map_err(|e| ToolError::Failed(format!("the host sent invalid JSON: {e}")))
}

impl Guest for WitZeroOneZero {
    fn describe() -> ToolDescription {
        ToolDescription {
            name: "wit-zero-one-zero".into(),
            version: "0.1.0".into(),
            description: "Counts a catalog's items and a model's segments through the 0.1.0 catalog interface".into(),
            arguments_schema: json!({
                "type": "object",
                "properties": {"catalog_id": {"type": "string"}, "model_id": {"type": "string"}},
                "required": ["catalog_id", "model_id"]
            })
            .to_string(),
            capabilities: vec!["catalog".into(), "kv".into()],
        }
    }

    fn invoke(arguments: String) -> Result<String, ToolError> {
        let arguments = parse(&arguments)?;
        let catalog_id = arguments["catalog_id"].as_str().unwrap_or_default();
        let model_id = arguments["model_id"].as_str().unwrap_or_default();
        let record = parse(&catalog::describe(catalog_id).map_err(host)?)?;
        let mut items = 0u32;
        let mut lowest = f64::INFINITY;
        loop {
            let page = parse(&catalog::items(catalog_id, items, 1_000).map_err(host)?)?;
            let page = page.as_array().cloned().unwrap_or_default();
            for item in &page {
                lowest = lowest.min(item["price"].as_f64().unwrap_or(f64::INFINITY));
            }
            items += page.len() as u32;
            if page.len() < 1_000 {
                break;
            }
        }
        let model = parse(&catalog::choice_model(model_id).map_err(host)?)?;
        let calls = kv::get("calls")
            .map_err(host)?
            .map_or(0, |bytes| bytes.first().copied().unwrap_or(0))
            + 1;
        kv::set("calls", &[calls]).map_err(host)?;
        Ok(json!({
            "items": items,
            "item_count": record["item_count"],
            "lowest_price": lowest,
            "segments": model["segments"].as_array().map_or(0, Vec::len),
            "calls": calls,
        })
        .to_string())
    }
}

export!(WitZeroOneZero);
