//! Intent facts in a session's final constraints: a recording's `expect` (what the scripted
//! shopper wanted) checked against the constraint function's merged arguments, fact by fact.
//! Used by the real-server test, the storefront tests, `just bench-llm` and `just
//! bench-recovery`, so all count the same way; [`satisfies`] checks a recommended item.
//!
//! A price or number bound counts when the constraints hold it within 10%; a list of values
//! when the constraints name the same values (any case); an empty list ("no brand
//! preference") when the constraints leave that attribute open.

use interarec_core::catalog::{AttributeValue, Item};
use serde_json::Value;
use std::collections::BTreeMap;

/// One fact: its field, whether the constraints hold it, and what they say.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// The constraint field (`lowest_price`, `colour`, `bedrooms_min`, ...).
    pub field: String,
    /// Held by the constraints.
    pub held: bool,
    /// What the constraints say about it (`null`: nothing).
    pub found: Value,
}

fn lowercase_set(value: &Value) -> Vec<String> {
    let mut set: Vec<String> = value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_lowercase))
        .collect();
    set.sort();
    set.dedup();
    set
}

/// Each expected fact, checked against `constraints` (the function's merged arguments).
pub fn facts(expect: &BTreeMap<String, Value>, constraints: Option<&Value>) -> Vec<Fact> {
    let empty = Value::Null;
    expect
        .iter()
        .map(|(field, wanted)| {
            let found = constraints.and_then(|c| c.get(field)).unwrap_or(&empty).clone();
            let held = match wanted {
                Value::Number(n) => {
                    let wanted = n.as_f64().unwrap_or(0.0);
                    found
                        .as_f64()
                        .is_some_and(|f| (f - wanted).abs() <= 0.10 * wanted.abs().max(1.0))
                }
                Value::Array(values) if values.is_empty() => lowercase_set(&found).is_empty(),
                Value::Array(_) => !lowercase_set(&found).is_empty() && lowercase_set(&found) == lowercase_set(wanted),
                _ => false,
            };
            Fact {
                field: field.clone(),
                held,
                found,
            }
        })
        .collect()
}

/// Whether a recommended item satisfies the intent: each non-empty expected value list holds
/// the item's value (any case), the price lies within the bounds (10% slack, as facts are
/// counted), minimums (`bedrooms_min`) are met. Used for recommendation precision.
pub fn satisfies(item: &Item, expect: &BTreeMap<String, Value>) -> bool {
    expect.iter().all(|(field, wanted)| match (field.as_str(), wanted) {
        ("lowest_price", Value::Number(n)) => item.price >= n.as_f64().unwrap_or(0.0) * 0.9,
        ("highest_price", Value::Number(n)) => item.price <= n.as_f64().unwrap_or(f64::MAX) * 1.1,
        (field, Value::Number(n)) if field.ends_with("_min") => {
            let attribute = field.trim_end_matches("_min");
            matches!(item.attributes.get(attribute), Some(AttributeValue::Number(v)) if *v >= n.as_f64().unwrap_or(0.0))
        }
        (_, Value::Array(values)) if values.is_empty() => true,
        (field, Value::Array(values)) => match item.attributes.get(field) {
            Some(AttributeValue::Text(value)) => values
                .iter()
                .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(value))),
            _ => false,
        },
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_count_bounds_within_ten_percent_and_lists_as_sets() {
        let expect: BTreeMap<String, Value> = serde_json::from_value(
            json!({"lowest_price": 84, "highest_price": 123, "colour": ["green"], "category": ["dress"], "brand": []}),
        )
        .unwrap();
        // (constraints, fields held)
        let cases = [
            (
                json!({"lowest_price": 80, "highest_price": 130, "colour": ["Green"], "category": ["dress"]}),
                vec!["brand", "category", "colour", "highest_price", "lowest_price"],
            ),
            (
                json!({"lowest_price": 65, "highest_price": 1245, "colour": ["green", "gray"], "brand": ["Acme"]}),
                vec![],
            ),
            (json!({}), vec!["brand"]),
        ];
        for (constraints, held) in cases {
            let checked = facts(&expect, Some(&constraints));
            let got: Vec<&str> = checked.iter().filter(|f| f.held).map(|f| f.field.as_str()).collect();
            assert_eq!(got, held, "{constraints}");
        }
        assert_eq!(facts(&expect, None).iter().filter(|f| f.held).count(), 1);
    }
}
