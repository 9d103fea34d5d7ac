//! The offline planner's way of calling the constraint function: its arguments filled from a
//! preference summary. Prices from the summary's lowest and highest price; each categorical
//! attribute from the summary's specifications (or, for `brand`, its brand preference), or else
//! from the catalog's values named as whole words in its product characteristics; number
//! attributes become lower bounds (`bedrooms: {min: 2}` is `bedrooms_min: 2`, what "2+ bd"
//! means); capacity as the session asks. Nothing the summary does not say is filled in.

use crate::CatalogFacts;
use interarec_summary::Summary;
use serde_json::{Map, Value, json};

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

fn named_in(text: &str, value: &str) -> bool {
    let words: Vec<String> = text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let target: Vec<String> = value.to_lowercase().split_whitespace().map(str::to_owned).collect();
    !target.is_empty()
        && words.windows(target.len()).any(|window| {
            window.iter().zip(&target).enumerate().all(|(i, (word, wanted))| {
                word == wanted
                    || (i == target.len() - 1
                        && (word.strip_suffix('s') == Some(wanted) || word.strip_suffix("es") == Some(wanted)))
            })
        })
}

/// The function's arguments for a summary.
pub fn from_summary(summary: &Summary, catalog: &CatalogFacts, capacity: u64) -> Value {
    let mut arguments = Map::new();
    if let Some(low) = summary.lowest_price {
        arguments.insert("lowest_price".into(), json!(low));
    }
    if let Some(high) = summary.highest_price {
        arguments.insert("highest_price".into(), json!(high));
    }
    let specifications = summary.product_specifications.clone().unwrap_or(Value::Null);
    let characteristics = summary
        .product_characteristics
        .as_ref()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    for attribute in &catalog.attributes {
        if let Some(vocabulary) = attribute.categorical() {
            let stated = if attribute.name == "brand" {
                // "A variety of brands, no clear preference" names brands without preferring
                // one; names inside a negation ("not Nike") are not preferences either.
                summary
                    .brand_preference
                    .as_ref()
                    .map(strings)
                    .unwrap_or_default()
                    .iter()
                    .map(|text| interarec_summary::affirmed_text(text))
                    .filter(|text| !text.is_empty())
                    .collect()
            } else {
                strings(&specifications[attribute.name.as_str()])
            };
            let values: Vec<String> = if stated.is_empty() && attribute.name != "brand" {
                vocabulary
                    .iter()
                    .filter(|v| named_in(&characteristics, v))
                    .cloned()
                    .collect()
            } else {
                stated
            };
            if !values.is_empty() {
                arguments.insert(attribute.name.clone(), json!(values));
            }
        } else if attribute.numeric().is_some() {
            let spec = &specifications[attribute.name.as_str()];
            let minimum = spec["min"].as_f64().or_else(|| spec.as_f64());
            if let Some(minimum) = minimum {
                arguments.insert(format!("{}_min", attribute.name), json!(minimum));
            }
        }
    }
    arguments.insert("capacity".into(), json!(capacity));
    Value::Object(arguments)
}
