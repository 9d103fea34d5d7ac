//! The validating-tool contract, defined once for both sides: the orchestrator sends a session's
//! validating tool a [`ValidatingInput`] for every `get_user_recommendations` call and reads back
//! a [`ValidatingAnswer`]; a domain plugin (`real-estate`, or one written outside this
//! repository) takes `ValidatingInput` as its arguments type and returns a `ValidatingAnswer`.
//!
//! `stated` was added after the first tools were written, so the orchestrator sends it only to
//! tools whose argument schema declares it; a tool taking `ValidatingInput` declares it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a validating tool is called with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatingInput {
    /// The catalog the constraints are for (read it through the `catalog` capability).
    #[schemars(length(min = 1))]
    pub catalog_id: String,
    /// The arguments the planner gave `get_user_recommendations`, as it gave them: any JSON,
    /// possibly with units in strings (`$1.35M`, `3+`) or fields the function does not have.
    pub arguments: Value,
    /// Facts the shopper stated outright (filters, chips, the page's URL), named as the
    /// arguments are without `_min`/`_max`: relax them only when nothing matches otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stated: Vec<String>,
}

/// What a validating tool answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidatingAnswer {
    /// Whether the arguments were valid exactly as given (no violation).
    pub valid: bool,
    /// Every problem found and what was done about it.
    #[serde(default)]
    pub violations: Vec<Violation>,
    /// The repaired (and possibly relaxed) arguments the session will use: an object of the
    /// function's arguments.
    pub arguments: Map<String, Value>,
    /// Anything else the tool reports (`constraints`, `matching_items`, `domain`, ...): shown in
    /// the session's events, not read by the orchestrator.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One problem found in the arguments, and its repair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Violation {
    /// The argument.
    pub field: String,
    /// What it held.
    #[serde(default)]
    pub value: Value,
    /// What is wrong.
    pub problem: String,
    /// What the repair did (`dropped`, `swapped`, `mapped to green`, ...).
    #[serde(default)]
    pub repair: String,
}

impl ValidatingAnswer {
    /// Reads a validating tool's answer, saying what the contract wants when it is not met.
    pub fn from_json(tool: &str, answer: &Value) -> Result<Self, String> {
        Self::deserialize(answer).map_err(|error| {
            format!(
                "validating tool `{tool}` answered outside the contract ({error}): a validating tool answers {{\"valid\": bool, \"violations\": [{{\"field\", \"value\", \"problem\", \"repair\"}}], \"arguments\": {{...}}}} (docs/plugins.md)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_read_with_their_extra_fields_or_refused_with_the_contract() {
        let answer = json!({
            "valid": false,
            "violations": [{"field": "colour", "value": "x", "problem": "unknown", "repair": "dropped"}],
            "arguments": {"capacity": 4},
            "matching_items": 3,
        });
        let read = ValidatingAnswer::from_json("v", &answer).unwrap();
        assert_eq!(read.violations[0].field, "colour");
        assert_eq!(read.extra["matching_items"], 3);
        assert_eq!(serde_json::to_value(&read).unwrap(), answer);
        // (answer, fragment of the refusal)
        let cases = [
            (json!({"valid": true}), "missing field `arguments`"),
            (json!({"valid": true, "arguments": [1]}), "invalid type"),
            (json!({"arguments": {}}), "missing field `valid`"),
            (
                json!({"valid": true, "arguments": {}, "violations": [{"field": "a"}]}),
                "missing field `problem`",
            ),
        ];
        for (answer, fragment) in cases {
            let error = ValidatingAnswer::from_json("v", &answer).unwrap_err();
            assert!(
                error.contains(fragment) && error.contains("docs/plugins.md"),
                "{answer}: {error}"
            );
        }
    }

    #[test]
    fn the_input_schema_declares_stated_and_requires_the_rest() {
        let schema = serde_json::to_value(schemars::schema_for!(ValidatingInput)).unwrap();
        assert!(schema["properties"].get("stated").is_some(), "{schema:#}");
        assert_eq!(schema["required"], json!(["catalog_id", "arguments"]), "{schema:#}");
        assert_eq!(schema["additionalProperties"], false, "{schema:#}");
    }
}
