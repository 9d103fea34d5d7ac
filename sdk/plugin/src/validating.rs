//! The validating-tool contract: a session names the tool that checks its constraint function's
//! arguments (`validate` by default; a domain plugin such as `real-estate` in its place). The
//! orchestrator calls it with `{catalog_id, arguments, stated?}` and reads back
//! `{valid, violations, arguments, ...}`: whether the planner's arguments were valid as given,
//! what was wrong, and the repaired (and possibly relaxed) arguments it will use. `stated` (the
//! facts the shopper stated outright) is sent only to tools whose schema declares it, so a tool
//! written before it existed keeps working. [`arguments_schema`] is that input's schema.

use serde_json::{Value, json};

/// The argument schema of a validating tool; `catalog_description` says which catalogs it
/// validates for (shown to people and planners).
pub fn arguments_schema(catalog_description: &str) -> Value {
    json!({
        "type": "object",
        "properties": {
            "catalog_id": { "type": "string", "minLength": 1, "description": catalog_description },
            "arguments": { "description": "The arguments given to get_user_recommendations" },
            "stated": {
                "type": "array",
                "items": { "type": "string" },
                "description": "Facts the shopper stated outright (filters, chips, the page's URL), named as the arguments are without _min/_max: relaxed only when nothing matches otherwise"
            }
        },
        "required": ["catalog_id", "arguments"],
        "additionalProperties": false
    })
}
