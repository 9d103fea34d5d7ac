//! Holding a planner's call to the summary it was given. A small model may call the constraint
//! function with nothing (`{}`), with every value of every list (which constrains nothing), or
//! with a price range the summary never stated; before such a call is executed it is compared
//! field by field with what the summary supports, and each disagreement is a [`Gap`]:
//!
//! - `omitted`: a fact the summary states (its arguments as the offline planner fills them,
//!   validated) that the call leaves out;
//! - `contradicted`: such a fact the call states otherwise (a list with no value in common, a
//!   number more than [`NUMBER_TOLERANCE`] away);
//! - `broadened`: a list holding values besides the summary's that the summary never names;
//! - `unsupported`: a field the summary's arguments do not have, whose values (or number) the
//!   summary's text never names.
//!
//! The orchestrator points the gaps out once; a call that still has them is [`complete`]d: each
//! gap's field set to what the summary supports (or left out when it supports nothing).
//! A model can still add what the summary names and the offline filling missed. `capacity` is
//! the session's, not the summary's, and is never compared.

use serde::Serialize;
use serde_json::{Map, Value};

/// Relative difference above which two numbers disagree (prices within 10% agree).
pub const NUMBER_TOLERANCE: f64 = 0.10;

/// A difference between a call and what the summary supports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// The function's argument.
    pub field: String,
    /// What the summary supports (`null`: nothing; the field is left out on completion).
    pub summary: Value,
    /// What the call says (absent: left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<Value>,
    /// `omitted`, `contradicted`, `broadened` or `unsupported`.
    pub kind: &'static str,
}

fn lowercase(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(|s| s.trim().to_lowercase()))
            .collect(),
        Value::String(s) => vec![s.trim().to_lowercase()],
        _ => Vec::new(),
    }
}

/// Whether `needle` occurs in `text` (both lowercase) as whole words.
fn names(text: &str, needle: &str) -> bool {
    !needle.is_empty()
        && text.match_indices(needle).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + needle.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
}

/// A number as a summary writes it once thousands separators are gone: `3`, `1.5`, `1500000`.
fn number_words(number: f64) -> Vec<String> {
    let mut words = vec![format!("{number}")];
    if number.fract() == 0.0 {
        words.push(format!("{number:.0}"));
    }
    words
}

/// The text with the commas between digits removed (`1,500,000` → `1500000`).
fn without_digit_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !(**c == ','
                && i.checked_sub(1).is_some_and(|p| chars[p].is_ascii_digit())
                && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        })
        .map(|(_, c)| *c)
        .collect()
}

/// The summary's facts that `call` leaves out, contradicts, broadens or adds without support.
/// `summary_arguments` and `call` are the function's arguments after validation (catalog
/// spellings, numbers as numbers); `summary_text` is the summary itself, as text, where added
/// values are looked for.
pub fn gaps(summary_arguments: &Value, summary_text: &str, call: &Value) -> Vec<Gap> {
    let empty = Map::new();
    let expected = summary_arguments.as_object().unwrap_or(&empty);
    let given = call.as_object().unwrap_or(&empty);
    let text = without_digit_commas(&summary_text.to_lowercase());
    let mut found = Vec::new();
    let gap = |field: &str, summary: Value, call: Option<&Value>, kind| Gap {
        field: field.to_owned(),
        summary,
        call: call.cloned(),
        kind,
    };
    for (field, wanted) in expected
        .iter()
        .filter(|(f, v)| f.as_str() != "capacity" && !v.is_null())
    {
        let Some(stated) = given.get(field).filter(|v| !v.is_null()) else {
            found.push(gap(field, wanted.clone(), None, "omitted"));
            continue;
        };
        match wanted.as_f64() {
            Some(number) => {
                let agrees = stated
                    .as_f64()
                    .is_some_and(|s| (s - number).abs() <= NUMBER_TOLERANCE * number.abs().max(1.0));
                if !agrees {
                    found.push(gap(field, wanted.clone(), Some(stated), "contradicted"));
                }
            }
            None => {
                let summary_values = lowercase(wanted);
                let call_values = lowercase(stated);
                if !call_values.iter().any(|v| summary_values.contains(v)) {
                    found.push(gap(field, wanted.clone(), Some(stated), "contradicted"));
                } else if call_values
                    .iter()
                    .any(|v| !summary_values.contains(v) && !names(&text, v))
                {
                    found.push(gap(field, wanted.clone(), Some(stated), "broadened"));
                }
            }
        }
    }
    for (field, stated) in given.iter().filter(|(f, v)| f.as_str() != "capacity" && !v.is_null()) {
        if expected.contains_key(field) {
            continue;
        }
        let supported = match stated {
            Value::Number(n) => n
                .as_f64()
                .is_some_and(|n| number_words(n).iter().any(|w| names(&text, w))),
            Value::Array(_) | Value::String(_) => {
                let values = lowercase(stated);
                !values.is_empty() && values.iter().all(|v| names(&text, v))
            }
            _ => false,
        };
        if !supported {
            // The values the summary does name, if any, are what it supports.
            let named: Vec<Value> = match stated {
                Value::Array(items) => items
                    .iter()
                    .filter(|v| v.as_str().is_some_and(|s| names(&text, &s.to_lowercase())))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            let support = if named.is_empty() {
                Value::Null
            } else {
                Value::Array(named)
            };
            found.push(gap(field, support, Some(stated), "unsupported"));
        }
    }
    found
}

/// `call` with each gap's field set to what the summary supports (left out when nothing);
/// everything else as the call said.
pub fn complete(call: &Value, gaps: &[Gap]) -> Value {
    let mut completed = call.as_object().cloned().unwrap_or_default();
    for gap in gaps {
        if gap.summary.is_null() {
            completed.remove(&gap.field);
        } else {
            completed.insert(gap.field.clone(), gap.summary.clone());
        }
    }
    Value::Object(completed)
}

/// What the planner is told when its call has gaps.
pub fn message(gaps: &[Gap]) -> String {
    let listed: Vec<String> = gaps
        .iter()
        .map(|gap| match (gap.kind, &gap.call) {
            ("omitted", _) | (_, None) => format!("{} is missing (the summary supports {})", gap.field, gap.summary),
            ("unsupported", Some(said)) => format!("{} = {said} is not in the summary; leave it out", gap.field),
            (_, Some(said)) => format!("{} is {said} but the summary supports {}", gap.field, gap.summary),
        })
        .collect();
    format!(
        "not run: the call does not match what the summary states: {}. Call get_user_recommendations again with the summary's values (leave out what it does not say); a call that still differs is completed from the summary.",
        listed.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gaps_are_what_the_call_omits_contradicts_broadens_or_adds_and_completion_fixes_them() {
        let summary = json!({"category": ["dress"], "colour": ["green"], "lowest_price": 84.0, "highest_price": 123.0, "bedrooms_min": 3, "capacity": 4});
        let text = r#"{"product_characteristics": "Green wrap and shirt dresses by Mango; one skirt", "lowest_price": 84, "highest_price": 123, "product_specifications": {"bedrooms": "3+"}, "promotions": "20% off"}"#;
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
                // Within 10%, a value the summary names (skirt), an added brand it names, capacity.
                json!({"category": ["Dress", "skirt"], "colour": ["green"], "lowest_price": 80, "highest_price": 130, "bedrooms_min": 3, "brand": ["Mango"], "capacity": 8}),
                vec![],
                json!({"category": ["Dress", "skirt"], "colour": ["green"], "lowest_price": 80, "highest_price": 130, "bedrooms_min": 3, "brand": ["Mango"], "capacity": 8}),
            ),
            (
                // The wrong category, a wide price range, every colour, a brand never named.
                json!({"category": ["shoe"], "colour": ["green", "red", "blue"], "lowest_price": 65, "highest_price": 1245, "bedrooms_min": 3, "brand": ["Acme", "Mango"], "discount_min": 9}),
                vec![
                    ("category", "contradicted"),
                    ("colour", "broadened"),
                    ("highest_price", "contradicted"),
                    ("lowest_price", "contradicted"),
                    ("brand", "unsupported"),
                    ("discount_min", "unsupported"),
                ],
                json!({"category": ["dress"], "colour": ["green"], "lowest_price": 84.0, "highest_price": 123.0, "bedrooms_min": 3, "brand": ["Mango"]}),
            ),
            (
                json!({"category": ["dress"], "colour": null, "lowest_price": "cheap", "highest_price": 123, "bedrooms_min": 3, "discount_min": 20}),
                vec![("colour", "omitted"), ("lowest_price", "contradicted")],
                json!({"category": ["dress"], "colour": ["green"], "lowest_price": 84.0, "highest_price": 123, "bedrooms_min": 3, "discount_min": 20}),
            ),
        ];
        for (call, expected, completed) in cases {
            let found = gaps(&summary, text, &call);
            let described: Vec<(&str, &str)> = found.iter().map(|g| (g.field.as_str(), g.kind)).collect();
            assert_eq!(described, expected, "{call}");
            assert_eq!(complete(&call, &found), completed, "{call}");
        }
        assert!(
            gaps(&json!({}), "{}", &json!({})).is_empty(),
            "a summary without facts asks for nothing"
        );
        let priced = r#"{"product_characteristics": "condos from $1,500,000"}"#;
        assert!(
            gaps(&json!({}), priced, &json!({"highest_price": 1500000})).is_empty(),
            "1,500,000 names 1500000"
        );
        let told = message(&gaps(&summary, text, &json!({"lowest_price": 10, "size": ["XL"]})));
        assert!(
            told.contains("lowest_price is 10 but the summary supports 84.0"),
            "{told}"
        );
        assert!(
            told.contains("colour is missing (the summary supports [\"green\"])"),
            "{told}"
        );
        assert!(
            told.contains("size = [\"XL\"] is not in the summary; leave it out"),
            "{told}"
        );
    }
}
