//! `assortment`: the exact MNL assortment optimizer as a sandboxed tool. It asks the host,
//! through the `catalog` capability's columns, for the rows the shopper's price range and
//! filters admit with their prices, model weights and cap groups, solves on those alone, and
//! fetches ids and titles for the items it picked (`interarec_choice::access::recommend_via`,
//! held to the same answers as the server's `Optimize`, `interarec_choice::recommend`).
//!
//! The host keeps catalogs and models decoded, so a call copies a few arrays of the admitted
//! rows instead of reading the catalog as JSON; the answer reports the time spent in host calls
//! and in the optimizer.

use interarec_choice::access::{CatalogAccess, RowItem, recommend_via};
use interarec_choice::columns::{Columns, ColumnsRequest, WeightsRequest};
use interarec_choice::recommend::Constraints;
use interarec_plugin::catalog::HostCatalog;
use interarec_plugin::{Capability, Description, JsonSchema, Tool, ToolError, Value, export_tool, json};
use serde::Deserialize;
use std::cell::Cell;
use std::time::Instant;

/// The tool's arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Arguments {
    /// The catalog to pick from.
    pub catalog_id: String,
    /// The fitted choice model.
    pub model_id: String,
    /// Customer segment of the model (default: every customer).
    #[serde(default)]
    pub segment: Option<String>,
    /// What the shopper's constraints allow (default: anything, 8 items).
    #[serde(default)]
    pub constraints: Constraints,
}

/// The assortment tool.
pub struct Assortment;

impl Tool for Assortment {
    type Arguments = Arguments;
    type Output = Value;

    fn describe() -> Description {
        Description::new(
            "assortment",
            "0.1.0",
            "Picks the items to show a shopper: the assortment of a catalog that maximises expected revenue under a fitted multinomial-logit choice model, subject to the shopper's constraints (price range, attribute filters, how many items, at most k per attribute value, items to include or exclude). Returns the items in display order with purchase probabilities, the expected revenue and an optimality certificate; an empty answer says which constraint removed the last items.",
        )
        .capability(Capability::Catalog)
    }

    fn invoke(arguments: Arguments) -> Result<Value, ToolError> {
        let started = Instant::now();
        let catalog = Timed {
            access: HostCatalog {
                catalog_id: &arguments.catalog_id,
            },
            spent_ms: Cell::new(0.0),
        };
        let answer = recommend_via(
            &catalog,
            &arguments.model_id,
            arguments.segment.as_deref(),
            &arguments.constraints,
        )?;
        let host_ms = catalog.spent_ms.get();
        let compute_ms = started.elapsed().as_secs_f64() * 1e3 - host_ms;
        let mut result = serde_json::to_value(answer).map_err(|e| ToolError::Failed(e.to_string()))?;
        result["timings"] = json!({ "host_ms": host_ms, "compute_ms": compute_ms });
        Ok(result)
    }
}

/// A catalog access that adds up the time its calls take (the host's selection and the copy
/// into the sandbox), so the answer can tell it from the optimizer's.
struct Timed<A> {
    access: A,
    spent_ms: Cell<f64>,
}

impl<A: CatalogAccess> Timed<A> {
    fn timed<T>(&self, call: impl FnOnce(&A) -> T) -> T {
        let started = Instant::now();
        let answer = call(&self.access);
        self.spent_ms
            .set(self.spent_ms.get() + started.elapsed().as_secs_f64() * 1e3);
        answer
    }
}

impl<A: CatalogAccess> CatalogAccess for Timed<A> {
    type Error = A::Error;

    fn columns(&self, request: &ColumnsRequest) -> Result<Columns, A::Error> {
        self.timed(|access| access.columns(request))
    }

    fn rows(&self, rows: &[u32], weights: Option<&WeightsRequest>) -> Result<Vec<RowItem>, A::Error> {
        self.timed(|access| access.rows(rows, weights))
    }

    fn positions(&self, ids: &[String]) -> Result<Vec<Option<u32>>, A::Error> {
        self.timed(|access| access.positions(ids))
    }
}

export_tool!(Assortment);

#[cfg(test)]
mod tests {
    use super::*;
    use interarec_choice::item::Item;
    use interarec_choice::model::ChoiceModel;
    use interarec_plugin::catalog::testing;

    fn serve() {
        let model = ChoiceModel::builder("m")
            .price_coefficient(-0.05, 0.01)
            .item("a", 1.0, 0.1, "g")
            .item("b", 0.5, 0.1, "g")
            .item("c", -0.2, 0.1, "g")
            .build();
        let items: Vec<Item> = serde_json::from_value(json!([
            {"id": "a", "title": "A", "price": 20.0, "attributes": {"colour": "green"}},
            {"id": "b", "title": "B", "price": 35.0, "attributes": {"colour": "red"}},
            {"id": "c", "title": "C", "price": 60.0, "attributes": {"colour": "green"}}
        ]))
        .unwrap();
        testing::serve_catalog("c", json!({"id": "c"}), items);
        testing::serve_model(model);
    }

    #[test]
    fn arguments_and_errors_map_to_tool_errors() {
        serve();
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
            (
                json!({"catalog_id": "c", "model_id": "m", "constraints": {"must_include": ["z"]}}),
                Err("invalid arguments: invalid constraint: there is no item `z` in the catalog"),
            ),
            (
                json!({"catalog_id": "nope", "model_id": "m"}),
                Err("invalid arguments: there is no catalog `nope`"),
            ),
            (
                json!({"catalog_id": "c", "model_id": "nope"}),
                Err("invalid arguments: there is no choice model `nope`"),
            ),
        ];
        for (value, expected) in cases {
            let result = interarec_plugin::testing::invoke::<Assortment>(value.clone());
            match expected {
                Ok((allowed, most)) => {
                    let answer = result.unwrap_or_else(|e| panic!("{value}: {e}"));
                    let got: Vec<&str> = answer["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i["id"].as_str().unwrap())
                        .collect();
                    assert!(!got.is_empty() && got.len() <= most, "{value}: {got:?}");
                    assert!(got.iter().all(|id| allowed.contains(id)), "{value}: {got:?}");
                    assert_eq!(answer["eligible_items"], allowed.len(), "{value}");
                    assert!(
                        answer["certificate"]["holds"] == true && answer["expected_revenue"].as_f64().unwrap() > 0.0
                    );
                    assert!(answer["timings"]["compute_ms"].as_f64().unwrap() >= 0.0);
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
        let schema = interarec_plugin::testing::description::<Assortment>().schema();
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(schema["required"], json!(["catalog_id", "model_id"]));
        let constraints = &schema["properties"]["constraints"];
        assert_eq!(constraints["additionalProperties"], json!(false), "{schema:#}");
        assert_eq!(constraints["properties"]["capacity"]["minimum"], json!(1), "{schema:#}");
        let equals = constraints["properties"]["filters"]["items"]["properties"]["equals"].to_string();
        assert!(
            equals.contains(r#""type":"string""#) && equals.contains(r#""type":"number""#),
            "{equals}"
        );
    }
}
