//! Filtering: how many catalog items a set of arguments admits, and relaxing the arguments one
//! step at a time, in a domain's order, until enough items remain; then every relaxation that
//! turns out not to be needed is tightened back (so bedrooms that exclude nothing more are kept
//! when it was the price that excluded everything). Constraints that exclude every
//! item give the shopper nothing; a shopper who prefers Nike but browses men's black lifestyle
//! sneakers would rather see another brand's than none. Each relaxation is a [`Violation`] that
//! says how many items matched before and after.
//!
//! The generic order ([`GENERIC_ORDER`], used by the `validate` tool): the brand (a preference
//! more than a requirement), then number bounds, then the price range widened by 10% twice, then
//! the colour, then other categorical values; never `gender`, `category` or `city` (who, what and
//! where the shopper is shopping for). Domain tools pass their own order.

use crate::refine::fact_of;
use crate::{CatalogFacts, Violation, validate};
use interarec_choice::access::CountAdmitted;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// One way to relax the arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Relaxation {
    /// Drop this argument.
    Drop(&'static str),
    /// Lower this minimum by one (dropping it below 1).
    LowerMinimum(&'static str),
    /// Drop the next `<attribute>_min` / `<attribute>_max` bound.
    DropBounds,
    /// Widen the price range by 10% on each side, at most this many times.
    WidenPrice(u32),
    /// Drop the next categorical argument whose name is not in the list.
    DropCategoricalExcept(&'static [&'static str]),
}

/// The facts a validating tool's input names as stated (`"stated": ["colour", "highest_price"]`,
/// optional; what the server sends from the summary's evidence).
pub fn stated_in(input: &Value) -> BTreeSet<String> {
    input["stated"]
        .as_array()
        .map(|facts| facts.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The generic order.
pub const GENERIC_ORDER: [Relaxation; 5] = [
    Relaxation::Drop("brand"),
    Relaxation::DropBounds,
    Relaxation::WidenPrice(2),
    Relaxation::Drop("colour"),
    Relaxation::DropCategoricalExcept(&["gender", "category", "city"]),
];

/// Relaxed arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Relaxed {
    /// The arguments after relaxing.
    pub arguments: Value,
    /// One violation per relaxation.
    pub violations: Vec<Violation>,
    /// Items the arguments admit.
    pub matching: usize,
}

/// Items of `items` that `arguments` admit.
pub fn matching<C: CountAdmitted + ?Sized>(
    catalog: &CatalogFacts,
    items: &C,
    arguments: &Value,
) -> Result<usize, C::Error> {
    let constraints = validate(catalog, arguments).constraints;
    items.count_admitted(&constraints)
}

/// Relaxes `arguments` (already validated) in `order` until at least `wanted` items match or
/// nothing more may be relaxed, then tightens back every relaxation that turned out not to be
/// needed (latest first), so only what had to go goes; when no relaxation helps, the arguments
/// come back as they were.
///
/// `stated` names the facts the shopper set outright (filters, chips; the summary's
/// `stated_facts`, named as fields are without `_min`/`_max`): they are requirements, so they
/// are relaxed only when nothing at all matches otherwise; to reach `wanted` only what was
/// inferred is given up (one townhouse that is everything asked for beats three that are not).
pub fn relax<C: CountAdmitted + ?Sized>(
    catalog: &CatalogFacts,
    items: &C,
    arguments: &Value,
    wanted: usize,
    order: &[Relaxation],
    stated: &BTreeSet<String>,
) -> Result<Relaxed, C::Error> {
    let original: Map<String, Value> = arguments.as_object().cloned().unwrap_or_default();
    let count = |arguments: &Map<String, Value>| matching(catalog, items, &Value::Object(arguments.clone()));
    let before = count(&original)?;
    let mut arguments = original.clone();
    let mut widened = 0;
    // Each applied step: what it did, and the values of the fields it touched before it.
    let mut applied: Vec<((String, Value, String), Vec<(String, Option<Value>)>)> = Vec::new();
    let mut now = before;
    let mut stated_locked = true;
    // Stated facts, once given up because nothing matched, go only until something does.
    while now < wanted && (stated_locked || now == 0) {
        let snapshot = arguments.clone();
        let locked = |field: &str| stated_locked && stated.contains(fact_of(field));
        let Some(change) = order
            .iter()
            .find_map(|step| apply(*step, &mut arguments, &mut widened, &locked))
        else {
            if stated_locked && now == 0 {
                stated_locked = false;
                continue;
            }
            break;
        };
        let touched: Vec<(String, Option<Value>)> = snapshot
            .keys()
            .chain(arguments.keys())
            .filter(|k| snapshot.get(*k) != arguments.get(*k))
            .map(|k| (k.clone(), snapshot.get(k).cloned()))
            .collect();
        applied.push((change, touched));
        now = count(&arguments)?;
    }
    // Tighten back: undo each step whose undoing keeps enough items, or, when enough could not
    // be reached, loses none (a field a later kept step changed again stays as that step left
    // it).
    let mut kept: Vec<bool> = vec![true; applied.len()];
    let enough = wanted.min(now);
    {
        for index in (0..applied.len()).rev() {
            let touched = &applied[index].1;
            let later_kept = (index + 1..applied.len()).any(|later| {
                kept[later]
                    && applied[later]
                        .1
                        .iter()
                        .any(|(k, _)| touched.iter().any(|(t, _)| t == k))
            });
            if later_kept {
                continue;
            }
            let mut tried = arguments.clone();
            for (field, value) in touched {
                match value {
                    Some(value) => tried.insert(field.clone(), value.clone()),
                    None => tried.remove(field),
                };
            }
            let after = count(&tried)?;
            if after >= enough {
                arguments = tried;
                now = after;
                kept[index] = false;
            }
        }
    }
    let violations = applied
        .into_iter()
        .zip(kept)
        .filter(|(_, kept)| *kept)
        .map(|(((field, old, repair), _), _)| Violation {
            field,
            value: old,
            problem: format!(
                "only {before} item(s) match everything asked for; at least {wanted} are needed to recommend from"
            ),
            repair: format!("{repair} ({now} item(s) match after relaxing)"),
        })
        .collect();
    Ok(Relaxed {
        arguments: Value::Object(arguments),
        violations,
        matching: now,
    })
}

/// Applies one relaxation if it changes something and touches no `locked` field: `(field, old
/// value, what was done)`.
fn apply(
    step: Relaxation,
    arguments: &mut Map<String, Value>,
    widened: &mut u32,
    locked: &dyn Fn(&str) -> bool,
) -> Option<(String, Value, String)> {
    match step {
        Relaxation::Drop(field) if locked(field) => None,
        Relaxation::LowerMinimum(field) if locked(field) => None,
        Relaxation::Drop(field) => arguments
            .remove(field)
            .map(|old| (field.to_owned(), old, "dropped".to_owned())),
        Relaxation::LowerMinimum(field) => {
            let old = arguments.get(field)?.clone();
            let lower = old.as_f64().unwrap_or(0.0) - 1.0;
            if lower >= 1.0 {
                arguments.insert(field.to_owned(), json!(lower));
                Some((field.to_owned(), old, format!("lowered to {lower}")))
            } else {
                arguments.remove(field);
                Some((field.to_owned(), old, "dropped".to_owned()))
            }
        }
        Relaxation::DropBounds => {
            let field = arguments
                .keys()
                .find(|k| (k.ends_with("_min") || k.ends_with("_max")) && !locked(k))
                .cloned()?;
            let old = arguments.remove(&field)?;
            Some((field, old, "dropped".to_owned()))
        }
        Relaxation::WidenPrice(times) => {
            // A stated bound stays; the other side may still widen.
            let low = arguments
                .get("lowest_price")
                .and_then(Value::as_f64)
                .filter(|_| !locked("lowest_price"));
            let high = arguments
                .get("highest_price")
                .and_then(Value::as_f64)
                .filter(|_| !locked("highest_price"));
            if *widened >= times || (low.is_none() && high.is_none()) {
                return None;
            }
            *widened += 1;
            let old = json!({ "lowest_price": low, "highest_price": high });
            if let Some(low) = low {
                arguments.insert("lowest_price".into(), json!(round_money(low * 0.9)));
            }
            if let Some(high) = high {
                arguments.insert("highest_price".into(), json!(round_money(high * 1.1)));
            }
            Some(("price".to_owned(), old, "widened by 10%".to_owned()))
        }
        Relaxation::DropCategoricalExcept(kept) => {
            let field = arguments
                .iter()
                .find(|(k, v)| v.is_array() && !kept.contains(&k.as_str()) && !locked(k))
                .map(|(k, _)| k.clone())?;
            let old = arguments.remove(&field)?;
            Some((field, old, "dropped".to_owned()))
        }
    }
}

/// Cents below 1,000, whole units above (home prices do not need cents).
fn round_money(price: f64) -> f64 {
    if price < 1_000.0 {
        (price * 100.0).round() / 100.0
    } else {
        price.round()
    }
}
