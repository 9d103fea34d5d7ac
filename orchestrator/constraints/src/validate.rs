//! Validation and repair of the constraint function's arguments against the catalog: numbers
//! read from text with units (`$1.35M`, `3+`, `2,000 sqft`), `lowest <= highest`, bounds inside
//! the catalog's ranges, values that exist (case, plurals, synonyms, a value named inside longer
//! words such as `teal green`, and near spellings mapped to the catalog's word), capacity within
//! 1..=50, unknown fields dropped. Every change is a [`Violation`] that says what was wrong and
//! what was done; the repaired arguments and the optimizer's constraints come back beside them.

use crate::{CatalogFacts, FUNCTION_NAME, MAX_CAPACITY};
use interarec_choice::recommend::{AttributeFilter, Constraints};
use interarec_summary::parse_price;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// One problem found, and what was done about it: the validating-tool contract's violation.
pub use interarec_capability::validating::Violation;

/// The outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    /// No violation at all.
    pub valid: bool,
    /// Problems found, by argument name, then the consistency checks.
    pub violations: Vec<Violation>,
    /// The repaired arguments (what the function is called with).
    pub arguments: Value,
    /// The repaired arguments as the optimizer's constraints.
    pub constraints: Constraints,
}

impl Validation {
    /// The validation as a validating tool's answer (`extra` holds the optimizer's constraints).
    pub fn into_answer(self) -> interarec_capability::validating::ValidatingAnswer {
        let mut extra = Map::new();
        extra.insert(
            "constraints".into(),
            serde_json::to_value(&self.constraints).unwrap_or(Value::Null),
        );
        interarec_capability::validating::ValidatingAnswer {
            valid: self.valid,
            violations: self.violations,
            arguments: match self.arguments {
                Value::Object(arguments) => arguments,
                _ => Map::new(),
            },
            extra,
        }
    }
}

/// Words shoppers and models use for catalog values, tried when a value is not in the
/// vocabulary; a synonym applies only when its target is.
const SYNONYMS: [(&str, &str); 22] = [
    ("sneakers", "lifestyle"),
    ("sneaker", "lifestyle"),
    ("casual", "lifestyle"),
    ("jogging", "running"),
    ("runners", "running"),
    ("hiking", "trail"),
    ("gym", "training"),
    ("trainers", "training"),
    ("gown", "dress"),
    ("frock", "dress"),
    ("blouse", "top"),
    ("shirt", "top"),
    ("t-shirt", "top"),
    ("apartment", "condo"),
    ("flat", "condo"),
    ("single-family", "house"),
    ("gray", "grey"),
    ("cream", "beige"),
    ("crimson", "red"),
    ("maroon", "red"),
    ("male", "men"),
    ("female", "women"),
];

/// A number from a JSON number or from text: `$1.35M`, `3+`, `2,000 sqft`, `under $100`.
pub fn number_in(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => {
            if let Some(price) = parse_price(text) {
                return Some(price);
            }
            let cleaned: String = text.replace(',', "");
            let start = cleaned.find(|c: char| c.is_ascii_digit())?;
            let digits: String = cleaned[start..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            digits.parse().ok()
        }
        _ => None,
    }
}

/// Edits (insert, delete, substitute, swap two neighbours) between two words: `Mnago` is one
/// swap from `Mango`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The catalog's value a given word means, and how it was found (`None` for an exact match).
fn match_value(word: &str, vocabulary: &[String]) -> Option<(String, Option<String>)> {
    let lower = word.trim().to_lowercase();
    if lower.is_empty() {
        return None;
    }
    if let Some(exact) = vocabulary.iter().find(|v| v.to_lowercase() == lower) {
        return Some((
            exact.clone(),
            (exact != word).then(|| format!("mapped to `{exact}` (case)")),
        ));
    }
    let singular = lower
        .strip_suffix("es")
        .filter(|s| vocabulary.iter().any(|v| v.to_lowercase() == *s))
        .or_else(|| lower.strip_suffix('s'));
    if let Some(singular) = singular
        && let Some(value) = vocabulary.iter().find(|v| v.to_lowercase() == singular)
    {
        return Some((value.clone(), Some(format!("mapped to `{value}` (plural)"))));
    }
    if let Some((_, target)) = SYNONYMS.iter().find(|(from, _)| *from == lower)
        && let Some(value) = vocabulary.iter().find(|v| v.to_lowercase() == *target)
    {
        return Some((value.clone(), Some(format!("mapped to `{value}` (synonym)"))));
    }
    // A catalog value named as a whole word inside a longer phrase: `teal green`, `Nike Air`.
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let mut inside: Vec<&String> = vocabulary
        .iter()
        .filter(|v| {
            let value_words: Vec<String> = v.to_lowercase().split_whitespace().map(str::to_owned).collect();
            !value_words.is_empty()
                && words
                    .windows(value_words.len())
                    .any(|w| w.iter().zip(&value_words).all(|(a, b)| a == b))
        })
        .collect();
    inside.sort_by_key(|v| std::cmp::Reverse(v.len()));
    if let Some(value) = inside.first() {
        return Some((
            (*value).clone(),
            Some(format!("mapped to `{value}` (named inside `{word}`)")),
        ));
    }
    // Near spellings: one edit for short words, two for long ones; only an unambiguous best.
    let allowed = if lower.chars().count() >= 7 {
        2
    } else if lower.chars().count() >= 4 {
        1
    } else {
        0
    };
    let mut scored: Vec<(usize, &String)> = vocabulary
        .iter()
        .map(|v| (edit_distance(&lower, &v.to_lowercase()), v))
        .filter(|(d, _)| *d <= allowed)
        .collect();
    scored.sort();
    match scored.as_slice() {
        [(best, value), rest @ ..] if rest.first().is_none_or(|(d, _)| d > best) => {
            Some(((*value).clone(), Some(format!("mapped to `{value}` (near spelling)"))))
        }
        _ => None,
    }
}

/// Validates and repairs the arguments of [`FUNCTION_NAME`] for a catalog.
pub fn validate(catalog: &CatalogFacts, arguments: &Value) -> Validation {
    let mut violations = Vec::new();
    let mut violation = |field: &str, value: &Value, problem: String, repair: &str| {
        violations.push(Violation {
            field: field.to_owned(),
            value: value.clone(),
            problem,
            repair: repair.to_owned(),
        });
    };
    let mut repaired = Map::new();
    let Some(given) = arguments.as_object() else {
        violation(
            "",
            arguments,
            format!("the arguments of {FUNCTION_NAME} must be a JSON object"),
            "ignored; no constraint applied",
        );
        return finish(catalog, Map::new(), violations);
    };

    for (field, value) in given {
        if value.is_null() {
            continue;
        }
        match field.as_str() {
            "lowest_price" | "highest_price" => match number_in(value) {
                Some(price) if price >= 0.0 => {
                    if !value.is_number() {
                        violation(
                            field,
                            value,
                            "a price must be a number".into(),
                            &format!("read as {price}"),
                        );
                    }
                    repaired.insert(field.clone(), json!(price));
                }
                _ => violation(field, value, "not a price".into(), "dropped"),
            },
            "capacity" => match number_in(value) {
                Some(n) if n >= 1.0 && n <= MAX_CAPACITY as f64 && n.fract() == 0.0 && value.is_number() => {
                    repaired.insert(field.clone(), json!(n as u64));
                }
                Some(n) => {
                    let clamped = (n.round() as i64).clamp(1, MAX_CAPACITY as i64);
                    violation(
                        field,
                        value,
                        format!("capacity must be a whole number from 1 to {MAX_CAPACITY}"),
                        &format!("set to {clamped}"),
                    );
                    repaired.insert(field.clone(), json!(clamped));
                }
                None => violation(field, value, "not a number".into(), "dropped (the default applies)"),
            },
            _ => {
                let categorical = catalog
                    .attributes
                    .iter()
                    .find(|a| a.name == *field)
                    .and_then(|a| a.categorical());
                let numeric = field
                    .strip_suffix("_min")
                    .or_else(|| field.strip_suffix("_max"))
                    .and_then(|name| catalog.attributes.iter().find(|a| a.name == name))
                    .and_then(|a| a.numeric().map(|range| (a.name.clone(), range)));
                if let Some(vocabulary) = categorical {
                    let words: Vec<Value> = match value {
                        Value::Array(items) => items.clone(),
                        other => vec![other.clone()],
                    };
                    let mut kept: Vec<String> = Vec::new();
                    for word in &words {
                        let Some(text) = word
                            .as_str()
                            .map(str::to_owned)
                            .or_else(|| word.as_f64().map(|n| n.to_string()))
                        else {
                            violation(field, word, "not a text value".into(), "dropped");
                            continue;
                        };
                        if text.trim().eq_ignore_ascii_case("not available") || text.trim().is_empty() {
                            continue;
                        }
                        match match_value(&text, vocabulary) {
                            Some((value, how)) => {
                                if let Some(how) = how {
                                    violation(
                                        field,
                                        word,
                                        format!("`{text}` is not one of the catalog's {field} values"),
                                        &how,
                                    );
                                }
                                if !kept.contains(&value) {
                                    kept.push(value);
                                }
                            }
                            None => violation(
                                field,
                                word,
                                format!(
                                    "`{text}` is not one of the catalog's {field} values ({})",
                                    vocabulary.join(", ")
                                ),
                                "dropped",
                            ),
                        }
                    }
                    if !kept.is_empty() {
                        repaired.insert(field.clone(), json!(kept));
                    }
                } else if let Some((_, (min, max))) = numeric {
                    match number_in(value) {
                        Some(n) => {
                            if !value.is_number() {
                                violation(field, value, "must be a number".into(), &format!("read as {n}"));
                            }
                            let is_min = field.ends_with("_min");
                            if (is_min && n <= min) || (!is_min && n >= max) {
                                violation(
                                    field,
                                    value,
                                    format!("{n} excludes nothing (the catalog runs from {min} to {max})"),
                                    "dropped",
                                );
                            } else if (is_min && n > max) || (!is_min && n < min) {
                                violation(
                                    field,
                                    value,
                                    format!("{n} excludes every item (the catalog runs from {min} to {max})"),
                                    "dropped",
                                );
                            } else {
                                repaired.insert(field.clone(), json!(n));
                            }
                        }
                        None => violation(field, value, "not a number".into(), "dropped"),
                    }
                } else {
                    violation(
                        field,
                        value,
                        format!("{FUNCTION_NAME} has no argument `{field}` for this catalog"),
                        "dropped",
                    );
                }
            }
        }
    }

    // Consistency: ranges the right way round, prices inside the catalog's range.
    let pairs: Vec<(String, String)> = std::iter::once(("lowest_price".to_owned(), "highest_price".to_owned()))
        .chain(
            catalog
                .attributes
                .iter()
                .filter(|a| a.numeric().is_some())
                .map(|a| (format!("{}_min", a.name), format!("{}_max", a.name))),
        )
        .collect();
    for (low_field, high_field) in pairs {
        if let (Some(low), Some(high)) = (
            repaired.get(&low_field).and_then(Value::as_f64),
            repaired.get(&high_field).and_then(Value::as_f64),
        ) && low > high
        {
            violation(
                &low_field,
                &json!(low),
                format!("{low_field} {low} is above {high_field} {high}"),
                "swapped",
            );
            repaired.insert(low_field.clone(), json!(high));
            repaired.insert(high_field.clone(), json!(low));
        }
    }
    if let Some(low) = repaired.get("lowest_price").and_then(Value::as_f64)
        && low > catalog.price_max
    {
        violation(
            "lowest_price",
            &json!(low),
            format!(
                "no item costs {low} or more (the highest price is {})",
                catalog.price_max
            ),
            "dropped",
        );
        repaired.remove("lowest_price");
    }
    if let Some(high) = repaired.get("highest_price").and_then(Value::as_f64)
        && high < catalog.price_min
    {
        violation(
            "highest_price",
            &json!(high),
            format!(
                "no item costs {high} or less (the lowest price is {})",
                catalog.price_min
            ),
            "dropped",
        );
        repaired.remove("highest_price");
    }
    finish(catalog, repaired, violations)
}

fn finish(catalog: &CatalogFacts, repaired: Map<String, Value>, violations: Vec<Violation>) -> Validation {
    let mut constraints = Constraints {
        lowest_price: repaired.get("lowest_price").and_then(Value::as_f64),
        highest_price: repaired.get("highest_price").and_then(Value::as_f64),
        capacity: repaired.get("capacity").and_then(Value::as_u64).map(|c| c as usize),
        ..Constraints::default()
    };
    for attribute in &catalog.attributes {
        if let Some(values) = repaired.get(&attribute.name).and_then(Value::as_array) {
            constraints.filters.push(AttributeFilter {
                attribute: attribute.name.clone(),
                one_of: Some(values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
                ..AttributeFilter::default()
            });
        }
        let min = repaired.get(&format!("{}_min", attribute.name)).and_then(Value::as_f64);
        let max = repaired.get(&format!("{}_max", attribute.name)).and_then(Value::as_f64);
        if min.is_some() || max.is_some() {
            constraints.filters.push(AttributeFilter {
                attribute: attribute.name.clone(),
                min,
                max,
                ..AttributeFilter::default()
            });
        }
    }
    Validation {
        valid: violations.is_empty(),
        violations,
        arguments: Value::Object(repaired),
        constraints,
    }
}
