//! `assortment`: the exact MNL assortment optimizer as a sandboxed tool. It reads the catalog's
//! items and the fitted choice model through the `catalog` capability and runs the same library
//! code as the server's `Optimize` call (`interarec_choice::recommend`), so the planner and a
//! direct gRPC caller get the same answer.
//!
//! Each call is a fresh instance, so the catalog is read in pages of 1,000 items on every call:
//! the cost grows with the catalog (the answer reports load and compute time separately).

use interarec_choice::item::Item;
use interarec_choice::model::ChoiceModel;
use interarec_choice::recommend::{Constraints, RecommendError, Recommendation, recommend};
use interarec_plugin::{Capability, Description, HostError, Tool, ToolError, Value, catalog, export_tool, json};
use serde::Deserialize;
use std::time::Instant;

/// The tool's arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    catalog_id: String,
    model_id: String,
    #[serde(default)]
    segment: Option<String>,
    #[serde(default)]
    constraints: Constraints,
}

/// The assortment tool.
pub struct Assortment;

impl Tool for Assortment {
    fn describe() -> Description {
        Description::new(
            "assortment",
            "0.1.0",
            "Picks the items to show a shopper: the assortment of a catalog that maximises expected revenue under a fitted multinomial-logit choice model, subject to the shopper's constraints (price range, attribute filters, how many items, at most k per attribute value, items to include or exclude). Returns the items in display order with purchase probabilities, the expected revenue and an optimality certificate; an empty answer says which constraint removed the last items.",
        )
        .arguments_schema(arguments_schema())
        .capability(Capability::Catalog)
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        let arguments: Arguments = serde_json::from_value(arguments)
            .map_err(|e| ToolError::InvalidArguments(format!("the arguments are not valid: {e}")))?;
        let started = Instant::now();
        let items: Vec<Item> = catalog::all_items_as(&arguments.catalog_id).map_err(HostError::named_by_caller)?;
        let model: ChoiceModel = catalog::choice_model_as(&arguments.model_id).map_err(HostError::named_by_caller)?;
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let answer = run(&items, &model, &arguments)?;
        let compute_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut result = serde_json::to_value(answer).map_err(|e| ToolError::Failed(e.to_string()))?;
        result["timings"] = json!({ "load_ms": load_ms, "compute_ms": compute_ms });
        Ok(result)
    }
}

/// The optimization proper, separate from the host calls so it can be tested natively.
fn run(items: &[Item], model: &ChoiceModel, arguments: &Arguments) -> Result<Recommendation, ToolError> {
    recommend(items, model, arguments.segment.as_deref(), &arguments.constraints).map_err(|error| match error {
        RecommendError::InvalidConstraint(_) | RecommendError::Model(_) => {
            ToolError::InvalidArguments(error.to_string())
        }
        RecommendError::Optimize(_) => ToolError::Failed(error.to_string()),
    })
}

fn arguments_schema() -> Value {
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    json!({
        "type": "object",
        "properties": {
            "catalog_id": { "type": "string", "description": "The catalog to pick from" },
            "model_id": { "type": "string", "description": "The fitted choice model" },
            "segment": { "type": "string", "description": "Customer segment of the model (default: every customer)" },
            "constraints": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "lowest_price": { "type": "number", "minimum": 0 },
                    "highest_price": { "type": "number", "minimum": 0 },
                    "filters": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["attribute"],
                            "properties": {
                                "attribute": { "type": "string" },
                                "equals": { "type": ["string", "number"] },
                                "one_of": strings,
                                "none_of": strings,
                                "min": { "type": "number" },
                                "max": { "type": "number" }
                            }
                        }
                    },
                    "capacity": { "type": "integer", "minimum": 1, "description": "How many items to show (default 8)" },
                    "exactly": { "type": "boolean", "description": "Show exactly `capacity` items" },
                    "max_per_value": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["attribute", "max"],
                        "properties": { "attribute": { "type": "string" }, "max": { "type": "integer", "minimum": 1 } }
                    },
                    "must_include": strings,
                    "exclude": strings
                }
            }
        },
        "required": ["catalog_id", "model_id"],
        "additionalProperties": false
    })
}

export_tool!(Assortment);

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ChoiceModel {
        ChoiceModel::builder("m")
            .price_coefficient(-0.05, 0.01)
            .item("a", 1.0, 0.1, "g")
            .item("b", 0.5, 0.1, "g")
            .item("c", -0.2, 0.1, "g")
            .build()
    }

    fn items() -> Vec<Item> {
        serde_json::from_value(json!([
            {"id": "a", "title": "A", "price": 20.0, "attributes": {"colour": "green"}},
            {"id": "b", "title": "B", "price": 35.0, "attributes": {"colour": "red"}},
            {"id": "c", "title": "C", "price": 60.0, "attributes": {"colour": "green"}}
        ]))
        .unwrap()
    }

    fn arguments(value: Value) -> Arguments {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn arguments_and_errors_map_to_tool_errors() {
        // Ok: (the items allowed, how many to show at most).
        let cases: Vec<(Value, Result<(Vec<&str>, usize), &str>)> = vec![
            (
                json!({"catalog_id": "c", "model_id": "m"}),
                Ok((vec!["a", "b", "c"], 3)),
            ),
            (
                json!({"catalog_id": "c", "model_id": "m", "constraints": {"filters": [{"attribute": "colour", "equals": "green"}]}}),
                Ok((vec!["a", "c"], 2)),
            ),
            (
                json!({"catalog_id": "c", "model_id": "m", "constraints": {"capacity": 1, "exclude": ["c"]}}),
                Ok((vec!["a", "b"], 1)),
            ),
            (
                json!({"catalog_id": "c", "model_id": "m", "segment": "teens"}),
                Err("invalid arguments: model `m` has no segment `teens`"),
            ),
            (
                json!({"catalog_id": "c", "model_id": "m", "constraints": {"filters": [{"attribute": "size", "min": 1}]}}),
                Err("invalid arguments: invalid constraint: no item has the attribute `size`"),
            ),
        ];
        for (value, expected) in cases {
            let result = run(&items(), &model(), &arguments(value.clone()));
            match expected {
                Ok((allowed, most)) => {
                    let answer = result.unwrap_or_else(|e| panic!("{value}: {e}"));
                    let got: Vec<&str> = answer.items.iter().map(|i| i.id.as_str()).collect();
                    assert!(!got.is_empty() && got.len() <= most, "{value}: {got:?}");
                    assert!(got.iter().all(|id| allowed.contains(id)), "{value}: {got:?}");
                    assert_eq!(answer.eligible_items, allowed.len(), "{value}");
                    assert!(answer.certificate.holds && answer.expected_revenue > 0.0);
                }
                Err(text) => {
                    let error = result.err().unwrap().to_string();
                    assert!(error.starts_with(text), "{value}: {error}");
                }
            }
        }
    }

    #[test]
    fn the_schema_refuses_what_serde_refuses() {
        let unknown = serde_json::from_value::<Arguments>(json!({"catalog_id": "c", "model_id": "m", "colour": "x"}));
        assert!(unknown.unwrap_err().to_string().contains("unknown field `colour`"));
        let schema = arguments_schema();
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(schema["required"], json!(["catalog_id", "model_id"]));
    }
}
