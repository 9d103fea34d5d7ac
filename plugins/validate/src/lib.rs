//! `validate`: checks the arguments a planner gave the catalog's constraint function
//! (`get_user_recommendations`) against the catalog, through the `catalog` capability: numbers
//! read from text with units, ranges the right way round and inside the catalog's, values that
//! exist (case, plurals, synonyms, values named inside longer phrases, near spellings), capacity
//! bounds, unknown arguments dropped. Then filtering: when the arguments admit no item of the
//! catalog, preferences are relaxed in the generic order (brand, number bounds, price widened,
//! colour, other values; never gender, category or city; facts the input names as `stated`
//! only when nothing matches without relaxing them too; see `interarec_constraints::feasible`).
//! Returns every violation with its repair, the repaired
//! arguments, the optimizer's constraints for the `assortment` tool and how many items match.
//!
//! Counts what the arguments admit through the `catalog` capability's `count`: the host
//! answers over its decoded copy of the catalog, so no item enters the sandbox.

use interarec_constraints::feasible::{GENERIC_ORDER, relax};
use interarec_constraints::{CatalogFacts, Validation, validate};
use interarec_plugin::catalog::HostCatalog;
use interarec_plugin::validating::{ValidatingAnswer, ValidatingInput};
use interarec_plugin::{Capability, Description, Tool, ToolError, catalog, export_tool, json};

/// The tool.
pub struct Validate;

impl Tool for Validate {
    type Arguments = ValidatingInput;
    type Output = ValidatingAnswer;

    fn describe() -> Description {
        Description::new(
            "validate",
            "0.1.0",
            "Validates the arguments of the catalog's constraint function get_user_recommendations against the catalog: price and number ranges (lowest <= highest, inside the catalog's range), values that exist (synonyms and near matches mapped to the catalog's words), units such as $1.35M or 3+; when nothing in the catalog matches, preferences are relaxed (brand first; never gender, category or city). Returns the violations, the repaired arguments, the optimizer constraints and how many items match.",
        )
        .capability(Capability::Catalog)
    }

    fn invoke(input: ValidatingInput) -> Result<ValidatingAnswer, ToolError> {
        let catalog_id = input.catalog_id.as_str();
        let description = catalog::describe(catalog_id)?;
        let facts = CatalogFacts::from_json(&description.to_string()).map_err(ToolError::Failed)?;
        let mut validation = validate(&facts, &input.arguments);
        let relaxed = relax(
            &facts,
            &HostCatalog { catalog_id },
            &validation.arguments,
            1,
            &GENERIC_ORDER,
            &input.stated.iter().cloned().collect(),
        )?;
        if !relaxed.violations.is_empty() {
            validation = Validation {
                valid: false,
                violations: [validation.violations, relaxed.violations].concat(),
                ..validate(&facts, &relaxed.arguments)
            };
        }
        let mut answer = validation.into_answer();
        answer.extra.insert("matching_items".into(), json!(relaxed.matching));
        Ok(answer)
    }
}

export_tool!(Validate);

#[cfg(test)]
mod tests {
    use super::*;
    use interarec_choice::item::Item;
    use interarec_plugin::Value;
    use interarec_plugin::catalog::testing;

    fn serve() {
        let items: Vec<Item> = serde_json::from_value(json!([
            {"id": "a", "title": "Mango Green Dress", "price": 40.0, "attributes": {"brand": "Mango", "colour": "green"}},
            {"id": "b", "title": "Zara Green Dress", "price": 60.0, "attributes": {"brand": "Zara", "colour": "green"}},
            {"id": "c", "title": "Zara Red Dress", "price": 90.0, "attributes": {"brand": "Zara", "colour": "red"}}
        ]))
        .unwrap();
        let description = json!({"id": "shop", "item_count": 3, "price_min": 40.0, "price_max": 90.0, "attributes": [
            {"name": "brand", "type": "text", "vocabulary": ["Mango", "Zara"], "present": 3},
            {"name": "colour", "type": "text", "vocabulary": ["green", "red"], "present": 3}
        ]});
        testing::serve_catalog("shop", description, items);
    }

    #[test]
    fn the_host_counts_what_the_arguments_admit_and_relaxes_what_admits_nothing() {
        serve();
        // (arguments, items matching after validation, fields relaxed)
        let cases: [(Value, u64, &[&str]); 4] = [
            (json!({"colour": ["green"]}), 2, &[]),
            (json!({"colour": ["Green"], "highest_price": 50}), 1, &[]),
            (json!({"colour": ["red"], "brand": ["Mango"]}), 1, &["brand"]),
            (json!({"colour": ["green"], "lowest_price": 70}), 1, &["price", "price"]),
        ];
        for (arguments, matching, relaxed) in cases {
            let answer =
                interarec_plugin::testing::invoke::<Validate>(json!({"catalog_id": "shop", "arguments": arguments}))
                    .unwrap();
            assert_eq!(answer["matching_items"], matching, "{arguments}: {answer:#}");
            let fields: Vec<&str> = answer["violations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v["repair"].as_str().is_some_and(|r| r.contains("match after relaxing")))
                .map(|v| v["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, relaxed, "{arguments}: {answer:#}");
        }
        let error =
            interarec_plugin::testing::invoke::<Validate>(json!({"catalog_id": "nope", "arguments": {}})).unwrap_err();
        assert!(error.to_string().contains("there is no catalog `nope`"), "{error}");
    }
}
