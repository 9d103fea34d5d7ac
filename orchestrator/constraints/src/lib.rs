//! The shopper's constraints as a function a planner model calls: generated from a catalog's
//! attribute schema (the paper's `get_user_recommendations(lowest_price, highest_price, color)`
//! for any domain), validated and repaired against the catalog ([`validate`]), filled from a
//! preference summary by the offline planner ([`fill`]), merged across batches ([`refine`]), and
//! relaxed when they leave too few items ([`feasible`]). A plain library, so the `validate` plugin and the orchestrator share it.
//!
//! The function's arguments are flat, as models fill them best: `lowest_price`,
//! `highest_price`, one list of values per categorical attribute (`colour: ["green"]`),
//! `<attribute>_min` / `<attribute>_max` per number attribute (`bedrooms_min: 3`), `capacity`.

pub mod consistency;
pub mod feasible;
pub mod fill;
pub mod refine;
pub mod validate;

pub use fill::from_summary;
pub use refine::{Change, changes, merge};
pub use validate::{Validation, Violation, validate};

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Name of the generated function.
pub const FUNCTION_NAME: &str = "get_user_recommendations";
/// Most items a recommendation may show.
pub const MAX_CAPACITY: u64 = 50;
/// Most values a categorical attribute may have to become an enum of the function.
const MAX_ENUM_VALUES: usize = 64;

/// What the function needs to know about a catalog: the fields of its stored record
/// (`interarec catalog show`, the `catalog` capability's `describe`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CatalogFacts {
    /// Catalog id.
    #[serde(default)]
    pub id: String,
    /// Lowest price.
    #[serde(default)]
    pub price_min: f64,
    /// Highest price.
    #[serde(default)]
    pub price_max: f64,
    /// Attribute schema.
    #[serde(default)]
    pub attributes: Vec<AttributeFacts>,
}

/// One attribute of the schema.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AttributeFacts {
    /// Name.
    pub name: String,
    /// `text`, `number` or `list`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Distinct values of a text or list attribute.
    #[serde(default)]
    pub vocabulary: Option<Vec<String>>,
    /// Range of a number attribute.
    #[serde(default)]
    pub min: Option<f64>,
    /// Range of a number attribute.
    #[serde(default)]
    pub max: Option<f64>,
    /// Items with a value.
    #[serde(default)]
    pub present: u64,
}

impl AttributeFacts {
    /// A text or list attribute whose values name categories (not titles or picture URLs).
    pub fn categorical(&self) -> Option<&[String]> {
        let values = self.vocabulary.as_deref()?;
        let limit = MAX_ENUM_VALUES.max((self.present / 4) as usize).min(MAX_ENUM_VALUES);
        (matches!(self.kind.as_str(), "text" | "list") && values.len() <= limit && self.name != "image")
            .then_some(values)
    }

    /// A number attribute with a known range.
    pub fn numeric(&self) -> Option<(f64, f64)> {
        (self.kind == "number").then_some((self.min?, self.max?))
    }
}

impl CatalogFacts {
    /// Reads the catalog record's JSON.
    pub fn from_json(text: &str) -> Result<CatalogFacts, String> {
        serde_json::from_str(text).map_err(|e| format!("the catalog description is not a catalog record: {e}"))
    }
}

/// The function definition (name, description, JSON Schema of its parameters) for a catalog,
/// in the shape of an OpenAI `tools` entry's `function`.
pub fn function_definition(catalog: &CatalogFacts) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "lowest_price".into(),
        json!({ "type": "number", "minimum": 0, "description": format!("Lowest price the shopper would pay (the catalog's prices run from {} to {})", catalog.price_min, catalog.price_max) }),
    );
    properties.insert(
        "highest_price".into(),
        json!({ "type": "number", "minimum": 0, "description": "Highest price the shopper would pay" }),
    );
    for attribute in &catalog.attributes {
        if let Some(values) = attribute.categorical() {
            properties.insert(
                attribute.name.clone(),
                json!({
                    "type": "array",
                    "items": { "type": "string", "enum": values },
                    "description": format!("Acceptable {} values (any of them)", attribute.name.replace('_', " ")),
                }),
            );
        } else if let Some((min, max)) = attribute.numeric() {
            for (suffix, word) in [("min", "Smallest"), ("max", "Largest")] {
                properties.insert(
                    format!("{}_{suffix}", attribute.name),
                    json!({
                        "type": "number",
                        "minimum": min,
                        "maximum": max,
                        "description": format!("{word} acceptable {} ({min} to {max} in the catalog)", attribute.name.replace('_', " ")),
                    }),
                );
            }
        }
    }
    properties.insert(
        "capacity".into(),
        json!({ "type": "integer", "minimum": 1, "maximum": MAX_CAPACITY, "default": interarec_choice::recommend::DEFAULT_CAPACITY, "description": "How many products to show" }),
    );
    json!({
        "name": FUNCTION_NAME,
        "description": format!("Recommends the revenue-maximizing products of catalog `{}` that satisfy the shopper's preferences. Leave out anything the shopper did not express.", catalog.id),
        "parameters": { "type": "object", "properties": properties, "additionalProperties": false },
    })
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
