//! Refinement across batches: each batch's validated arguments merge with the session's
//! current ones. Policy: recent evidence wins, field by field: a field the new batch states
//! replaces the current value (so a price range widens or narrows as the shopper's browsing
//! does, and a new colour replaces the old), and a field it does not state is kept from earlier
//! batches (a batch of product pages says nothing against the filters set before). One
//! exception: a price "range" of a single price (one product looked at) that lies inside the
//! current range is consistent with it and too thin to replace it, so the range is kept.
//!
//! Bounds resting only on what the shopper viewed (the summary's evidence says `viewed`: product
//! pages opened, an unfiltered listing) describe the items more than the shopper's wishes, so
//! they never move a bound an earlier batch set: a viewed price range that overlaps the current
//! one keeps the current one (a related row or an unfiltered page cannot widen it, one product
//! page cannot narrow it), a disjoint one replaces it (the shopper moved on); a viewed number
//! bound (`bedrooms_min` from the homes opened) keeps the current bound. Every difference is a
//! [`Change`], so an event can say what changed and why.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// One field's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The argument.
    pub field: String,
    /// Its value before (`null`: unset).
    pub from: Value,
    /// Its value now.
    pub to: Value,
    /// `added`, `replaced`, `widened`, `narrowed`, `raised`, `lowered`, `removed`.
    pub kind: String,
}

fn kind_of(field: &str, from: &Value, to: &Value) -> String {
    match (from.as_f64(), to.as_f64()) {
        (Some(a), Some(b)) => {
            let lower_bound = field == "lowest_price" || field.ends_with("_min");
            let upper_bound = field == "highest_price" || field.ends_with("_max");
            match (lower_bound, upper_bound, b < a) {
                (true, _, true) | (_, true, false) => "widened",
                (true, _, false) | (_, true, true) => "narrowed",
                (false, false, true) => "lowered",
                (false, false, false) => "raised",
            }
            .into()
        }
        _ if from.is_null() => "added".into(),
        _ => "replaced".into(),
    }
}

/// The fact a field states: `bedrooms_min` and `bedrooms_max` state `bedrooms`.
pub(crate) fn fact_of(field: &str) -> &str {
    field
        .strip_suffix("_min")
        .or_else(|| field.strip_suffix("_max"))
        .unwrap_or(field)
}

/// Merges `new` into `current`; returns the merged arguments and what changed. `viewed_only`
/// names the facts of `new` that rest only on what was viewed (see the module's policy).
pub fn merge(current: &Value, new: &Value, viewed_only: &BTreeSet<String>) -> (Value, Vec<Change>) {
    let mut merged: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    let mut changes = Vec::new();
    let price = |map: &Map<String, Value>, field: &str| map.get(field).and_then(Value::as_f64);
    let keep_current_prices = new.as_object().is_some_and(|new| {
        let (low, high) = (price(new, "lowest_price"), price(new, "highest_price"));
        let (current_low, current_high) = (price(&merged, "lowest_price"), price(&merged, "highest_price"));
        let viewed = viewed_only.contains("lowest_price") || viewed_only.contains("highest_price");
        match (low, high, current_low, current_high) {
            (Some(low), Some(high), Some(current_low), Some(current_high)) => {
                let single_inside = low == high && (current_low..=current_high).contains(&low);
                let overlapping = low <= current_high && high >= current_low;
                single_inside || (viewed && overlapping)
            }
            _ => false,
        }
    });
    if let Some(new) = new.as_object() {
        for (field, value) in new {
            if keep_current_prices && (field == "lowest_price" || field == "highest_price") {
                continue;
            }
            let bound = field.ends_with("_min") || field.ends_with("_max");
            if bound && viewed_only.contains(fact_of(field)) && merged.contains_key(field) {
                continue;
            }
            let before = merged.get(field).cloned().unwrap_or(Value::Null);
            if &before != value {
                changes.push(Change {
                    field: field.clone(),
                    kind: kind_of(field, &before, value),
                    from: before,
                    to: value.clone(),
                });
                merged.insert(field.clone(), value.clone());
            }
        }
    }
    (Value::Object(merged), changes)
}

/// What differs between two argument sets, field by field (`removed` for a field `after` no
/// longer has, as when filtering relaxed it away).
pub fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|field| {
            let from = before.get(field).cloned().unwrap_or(Value::Null);
            let to = after.get(field).cloned().unwrap_or(Value::Null);
            (from != to).then(|| Change {
                field: field.clone(),
                kind: if to.is_null() {
                    "removed".into()
                } else {
                    kind_of(field, &from, &to)
                },
                from,
                to,
            })
        })
        .collect()
}
