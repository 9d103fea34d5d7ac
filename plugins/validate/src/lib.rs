//! `validate`: checks the arguments a planner gave the catalog's constraint function
//! (`get_user_recommendations`) against the catalog, through the `catalog` capability: numbers
//! read from text with units, ranges the right way round and inside the catalog's, values that
//! exist (case, plurals, synonyms, values named inside longer phrases, near spellings), capacity
//! bounds, unknown arguments dropped. Returns every violation with its repair, the repaired
//! arguments, and the optimizer's constraints for the `assortment` tool.

use interarec_constraints::{CatalogFacts, validate};
use interarec_plugin::{Capability, Description, Tool, ToolError, Value, catalog, export_tool, json};

/// The tool.
pub struct Validate;

impl Tool for Validate {
    fn describe() -> Description {
        Description::new(
            "validate",
            "0.1.0",
            "Validates the arguments of the catalog's constraint function get_user_recommendations against the catalog: price and number ranges (lowest <= highest, inside the catalog's range), values that exist (synonyms and near matches mapped to the catalog's words), units such as $1.35M or 3+. Returns the violations, the repaired arguments and the optimizer constraints.",
        )
        .arguments_schema(json!({
            "type": "object",
            "properties": {
                "catalog_id": { "type": "string", "minLength": 1, "description": "The catalog the constraints are for" },
                "arguments": { "description": "The arguments given to get_user_recommendations" }
            },
            "required": ["catalog_id", "arguments"],
            "additionalProperties": false
        }))
        .capability(Capability::Catalog)
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        let catalog_id = arguments["catalog_id"].as_str().unwrap_or_default();
        let description = catalog::describe(catalog_id)?;
        let facts = CatalogFacts::from_json(&description.to_string()).map_err(ToolError::Failed)?;
        let validation = validate(&facts, &arguments["arguments"]);
        serde_json::to_value(&validation).map_err(|e| ToolError::Failed(format!("cannot write the validation: {e}")))
    }
}

export_tool!(Validate);
