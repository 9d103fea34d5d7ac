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

use interarec_constraints::feasible::{GENERIC_ORDER, relax, stated_in};
use interarec_constraints::{CatalogFacts, Validation, validate};
use interarec_plugin::catalog::HostCatalog;
use interarec_plugin::{Capability, Description, Tool, ToolError, Value, catalog, export_tool, json};

/// The tool.
pub struct Validate;

impl Tool for Validate {
    fn describe() -> Description {
        Description::new(
            "validate",
            "0.1.0",
            "Validates the arguments of the catalog's constraint function get_user_recommendations against the catalog: price and number ranges (lowest <= highest, inside the catalog's range), values that exist (synonyms and near matches mapped to the catalog's words), units such as $1.35M or 3+; when nothing in the catalog matches, preferences are relaxed (brand first; never gender, category or city). Returns the violations, the repaired arguments, the optimizer constraints and how many items match.",
        )
        .arguments_schema(interarec_plugin::validating::arguments_schema("The catalog the constraints are for"))
        .capability(Capability::Catalog)
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        let catalog_id = arguments["catalog_id"].as_str().unwrap_or_default();
        let description = catalog::describe(catalog_id)?;
        let facts = CatalogFacts::from_json(&description.to_string()).map_err(ToolError::Failed)?;
        let mut validation = validate(&facts, &arguments["arguments"]);
        let relaxed = relax(
            &facts,
            &HostCatalog { catalog_id },
            &validation.arguments,
            1,
            &GENERIC_ORDER,
            &stated_in(&arguments),
        )?;
        if !relaxed.violations.is_empty() {
            validation = Validation {
                valid: false,
                violations: [validation.violations, relaxed.violations].concat(),
                ..validate(&facts, &relaxed.arguments)
            };
        }
        let mut answer = serde_json::to_value(&validation)
            .map_err(|e| ToolError::Failed(format!("cannot write the validation: {e}")))?;
        answer["matching_items"] = json!(relaxed.matching);
        Ok(answer)
    }
}

export_tool!(Validate);
