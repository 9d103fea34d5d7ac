//! Holding a planner's call to the summary it was given. A small model may call the constraint
//! function with nothing (`{}`), or with a price range the summary never stated; before such a
//! call is executed, every fact the summary supports (its arguments as the offline planner fills
//! them, validated) is compared field by field with the call: a field the call leaves out, or
//! contradicts, is a [`Gap`]. The orchestrator points the gaps out once; a call that still has
//! them is [`complete`]d from the summary, field by field.
//!
//! What counts as a contradiction: for a list of categorical values, no value in common; for a
//! number (prices, `_min` / `_max` bounds), a difference of more than [`NUMBER_TOLERANCE`] of
//! the summary's value. `capacity` is the session's, not the summary's, and is never compared.

use serde::Serialize;
use serde_json::{Map, Value};

/// Relative difference above which two numbers disagree (prices within 10% agree).
pub const NUMBER_TOLERANCE: f64 = 0.10;

/// A fact of the summary that a call leaves out or contradicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// The function's argument.
    pub field: String,
    /// What the summary supports.
    pub summary: Value,
    /// What the call says (absent: left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<Value>,
    /// `omitted` or `contradicted`.
    pub kind: &'static str,
}

fn lowercase_set(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(|s| s.trim().to_lowercase()))
            .collect(),
        Value::String(s) => vec![s.trim().to_lowercase()],
        _ => Vec::new(),
    }
}

fn agrees(summary: &Value, call: &Value) -> bool {
    match (summary.as_f64(), call.as_f64()) {
        (Some(expected), Some(given)) => (given - expected).abs() <= NUMBER_TOLERANCE * expected.abs().max(1.0),
        (Some(_), None) => false,
        _ => {
            let expected = lowercase_set(summary);
            let given = lowercase_set(call);
            expected.is_empty() || given.iter().any(|g| expected.contains(g))
        }
    }
}

/// The summary's facts that `call` leaves out or contradicts. Both are the function's
/// arguments after validation (catalog spellings, numbers as numbers).
pub fn gaps(summary_arguments: &Value, call: &Value) -> Vec<Gap> {
    let Some(expected) = summary_arguments.as_object() else {
        return Vec::new();
    };
    let given = call.as_object();
    expected
        .iter()
        .filter(|(field, value)| field.as_str() != "capacity" && !value.is_null())
        .filter_map(
            |(field, value)| match given.and_then(|g| g.get(field)).filter(|v| !v.is_null()) {
                None => Some(Gap {
                    field: field.clone(),
                    summary: value.clone(),
                    call: None,
                    kind: "omitted",
                }),
                Some(stated) if !agrees(value, stated) => Some(Gap {
                    field: field.clone(),
                    summary: value.clone(),
                    call: Some(stated.clone()),
                    kind: "contradicted",
                }),
                Some(_) => None,
            },
        )
        .collect()
}

/// `call` with each gap's field set to the summary's value; everything else as the call said.
pub fn complete(call: &Value, gaps: &[Gap]) -> Value {
    let mut completed = call.as_object().cloned().unwrap_or_else(Map::new);
    for gap in gaps {
        completed.insert(gap.field.clone(), gap.summary.clone());
    }
    Value::Object(completed)
}

/// What the planner is told when its call has gaps.
pub fn message(gaps: &[Gap]) -> String {
    let listed: Vec<String> = gaps
        .iter()
        .map(|gap| match &gap.call {
            None => format!("{} (the summary supports {})", gap.field, gap.summary),
            Some(said) => format!("{} is {said} but the summary supports {}", gap.field, gap.summary),
        })
        .collect();
    format!(
        "not run: the call leaves out or contradicts what the summary states: {}. Call get_user_recommendations again with these fields (or say why the summary is wrong in your answer); a call that still leaves them out is completed from the summary.",
        listed.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gaps_are_what_the_call_omits_or_contradicts_and_completion_fills_them() {
        let summary = json!({"category": ["dress"], "colour": ["green"], "lowest_price": 84.0, "highest_price": 123.0, "bedrooms_min": 3, "capacity": 4});
        // (the call, the gaps as (field, kind), the completed call)
        let cases: Vec<(Value, Vec<(&str, &str)>, Value)> = vec![
            (
                json!({}),
                vec![
                    ("bedrooms_min", "omitted"),
                    ("category", "omitted"),
                    ("colour", "omitted"),
                    ("highest_price", "omitted"),
                    ("lowest_price", "omitted"),
                ],
                json!({"category": ["dress"], "colour": ["green"], "lowest_price": 84.0, "highest_price": 123.0, "bedrooms_min": 3}),
            ),
            (
                json!({"category": ["Dress", "skirt"], "colour": ["green"], "lowest_price": 80, "highest_price": 130, "bedrooms_min": 3, "capacity": 8}),
                vec![],
                json!({"category": ["Dress", "skirt"], "colour": ["green"], "lowest_price": 80, "highest_price": 130, "bedrooms_min": 3, "capacity": 8}),
            ),
            (
                json!({"category": ["shoe"], "colour": ["green"], "lowest_price": 65, "highest_price": 1245, "bedrooms_min": 3, "brand": ["Acme"]}),
                vec![
                    ("category", "contradicted"),
                    ("highest_price", "contradicted"),
                    ("lowest_price", "contradicted"),
                ],
                json!({"category": ["dress"], "colour": ["green"], "lowest_price": 84.0, "highest_price": 123.0, "bedrooms_min": 3, "brand": ["Acme"]}),
            ),
            (
                json!({"category": ["dress"], "colour": null, "lowest_price": "cheap", "highest_price": 123, "bedrooms_min": 3}),
                vec![("colour", "omitted"), ("lowest_price", "contradicted")],
                json!({"category": ["dress"], "colour": ["green"], "lowest_price": 84.0, "highest_price": 123, "bedrooms_min": 3}),
            ),
        ];
        for (call, expected, completed) in cases {
            let found = gaps(&summary, &call);
            let described: Vec<(&str, &str)> = found.iter().map(|g| (g.field.as_str(), g.kind)).collect();
            assert_eq!(described, expected, "{call}");
            assert_eq!(complete(&call, &found), completed, "{call}");
        }
        assert!(
            gaps(&json!({}), &json!({})).is_empty(),
            "a summary without facts asks for nothing"
        );
        let told = message(&gaps(&summary, &json!({"lowest_price": 10})));
        assert!(
            told.contains("lowest_price is 10 but the summary supports 84.0"),
            "{told}"
        );
        assert!(told.contains("colour (the summary supports [\"green\"])"), "{told}");
    }
}
