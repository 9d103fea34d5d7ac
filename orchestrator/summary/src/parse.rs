//! The lenient parser: find the one JSON object in a model's answer, repair what models get
//! wrong, and map its keys onto the eight categories.

use crate::price::{parse_price, parse_price_range};
use crate::{NOT_AVAILABLE, ParsedSummary, Summary};
use serde_json::Value;

/// Why an answer could not be read as a summary.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// No `{ … }` in the answer.
    #[error("the answer holds no JSON object (it starts with {0:?})")]
    NoObject(String),
    /// An object starts but never ends (a cut-off answer).
    #[error("the answer's JSON object is cut off (no closing brace); ask the model again with a higher token limit")]
    Unterminated,
    /// The object is not JSON even after the repairs.
    #[error("the answer's JSON object does not parse even after repairs: {0}")]
    Invalid(String),
    /// JSON, but none of the eight categories.
    #[error("the answer names none of the eight categories (its keys: {0})")]
    NoCategories(String),
}

/// Reads the JSON object in what a model wrote, the way models write it: smart quotes, prose or
/// code fences around it, trailing commas, escapes JSON does not have (`\$`, `\_`, `\'`, read
/// as the character), and key–value sequences whose braces were lost (`"Lowest Price": "$84",
/// "Brand Preference": …` with no `{`, nested keys included). Returns the object and the repairs
/// it needed.
pub fn parse_lenient_object(raw: &str) -> Result<(serde_json::Map<String, Value>, Vec<String>), ParseError> {
    let mut repairs = Vec::new();
    let straightened: String = raw
        .chars()
        .map(|c| match c {
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' => '"',
            '\u{2018}' | '\u{2019}' => '\'',
            other => other,
        })
        .collect();
    if straightened != raw {
        repairs.push("smart quotes straightened".to_owned());
    }
    let (escaped, fixed) = drop_invalid_escapes(&straightened);
    if fixed > 0 {
        repairs.push(format!("{fixed} escape(s) JSON does not have read as the character"));
    }
    // A key before the first brace means the outer braces were lost (the first `{` would be a
    // nested value's).
    let braces_lost = match (first_key(&escaped), escaped.find('{')) {
        (Some(key), Some(brace)) => key < brace,
        (Some(_), None) => true,
        _ => false,
    };
    if braces_lost && let Some(map) = key_value_sequence(&escaped) {
        repairs.push("key-value sequence without braces read as an object".to_owned());
        return Ok((map, repairs));
    }
    let object = extract_object(&escaped)?;
    if object.len() + 2 < escaped.trim().len() {
        repairs.push("text around the JSON object ignored".to_owned());
    }
    let (cleaned, removed) = drop_trailing_commas(object);
    if removed > 0 {
        repairs.push(format!("{removed} trailing comma(s) removed"));
    }
    let value: Value = serde_json::from_str(&cleaned).map_err(|e| ParseError::Invalid(e.to_string()))?;
    match value {
        Value::Object(map) => Ok((map, repairs)),
        _ => Err(ParseError::Invalid("the top level is not an object".into())),
    }
}

/// Removes the backslash of escapes JSON does not have (`\$`, `\_`, `\'`, …) inside strings,
/// so `"18.00\$"` reads as `18.00$`; returns the text and how many were fixed.
fn drop_invalid_escapes(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut fixed) = (false, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !in_string {
            in_string = c == '"';
            out.push(c);
            continue;
        }
        match c {
            '\\' => match chars.peek() {
                Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u') => {
                    out.push(c);
                    out.extend(chars.next());
                }
                Some(_) => fixed += 1,
                None => out.push(c),
            },
            '"' => {
                in_string = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    (out, fixed)
}

/// Where the first `"key":` of the text starts (a JSON string followed by a colon).
fn first_key(text: &str) -> Option<usize> {
    let mut search = 0;
    while let Some(found) = text[search..].find('"') {
        let at = search + found;
        if let Some((_, end)) = json_string_at(text, at)
            && text[end..].trim_start().starts_with(':')
        {
            return Some(at);
        }
        search = at + 1;
    }
    None
}

/// The JSON string starting at `at` (a `"`), with the offset just after it.
fn json_string_at(text: &str, at: usize) -> Option<(String, usize)> {
    let mut stream = serde_json::Deserializer::from_str(&text[at..]).into_iter::<String>();
    match stream.next() {
        Some(Ok(string)) => Some((string, at + stream.byte_offset())),
        _ => None,
    }
}

/// One JSON value (string, number, object, array, literal) starting at `at`, with the offset
/// just after it.
fn json_value_at(text: &str, at: usize) -> Option<(Value, usize)> {
    let mut stream = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Value>();
    match stream.next() {
        Some(Ok(value)) => Some((value, at + stream.byte_offset())),
        _ => None,
    }
}

/// Reads `"A": "x", "B": "C": "y", "D": "z"` (braces lost, nested keys without braces) as an
/// object. A key followed directly by another key opens a nested object, which takes the
/// following pairs until a key that names one of the eight categories. `None` when fewer than
/// one pair can be read.
fn key_value_sequence(text: &str) -> Option<serde_json::Map<String, Value>> {
    let mut at = first_key(text)?;
    let mut map = serde_json::Map::new();
    let mut open: Option<(String, serde_json::Map<String, Value>)> = None;
    let close = |map: &mut serde_json::Map<String, Value>,
                 open: &mut Option<(String, serde_json::Map<String, Value>)>| {
        if let Some((key, nested)) = open.take() {
            map.insert(key, Value::Object(nested));
        }
    };
    while let Some((key, after_key)) = json_string_at(text, at) {
        let rest = text[after_key..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else { break };
        let value_at = text.len() - rest.trim_start().len();
        let Some((value, after_value)) = json_value_at(text, value_at) else {
            break;
        };
        let next = text[after_value..].trim_start();
        if value.is_string() && next.starts_with(':') {
            // `"A": "B": …`: A opens a nested object and B is its first key.
            close(&mut map, &mut open);
            open = Some((key, serde_json::Map::new()));
            at = value_at;
            continue;
        }
        match open.as_mut() {
            Some((_, nested)) if category_of(&key).is_none() => {
                nested.insert(key, value);
            }
            _ => {
                close(&mut map, &mut open);
                map.insert(key, value);
            }
        }
        let Some(rest) = next.strip_prefix(',') else { break };
        let Some(next_key) = rest.find('"') else { break };
        at = text.len() - rest.len() + next_key;
    }
    close(&mut map, &mut open);
    (!map.is_empty()).then_some(map)
}

/// Reads a model's answer as a summary.
pub fn parse_summary(raw: &str) -> Result<ParsedSummary, ParseError> {
    let (mut map, mut repairs) = parse_lenient_object(raw)?;
    // Some answers wrap the categories in one outer key ({"summary": {...}}).
    while map.len() == 1 && !map.keys().any(|k| category_of(k).is_some()) {
        let only = map.values().next().cloned();
        match only {
            Some(Value::Object(inner)) => {
                repairs.push("outer wrapper object unwrapped".to_owned());
                map = inner;
            }
            _ => break,
        }
    }
    let mut summary = Summary::default();
    let mut matched = 0;
    for (key, value) in &map {
        let Some(category) = category_of(key) else {
            // Not a category, but the offline engine's account of its reading.
            if key.eq_ignore_ascii_case("evidence") && value.is_object() {
                summary.evidence = available(value);
            }
            continue;
        };
        matched += 1;
        let value = available(value);
        match category {
            Category::ProductCharacteristics => summary.product_characteristics = value,
            Category::LowestPrice => summary.lowest_price = value.as_ref().and_then(price_in),
            Category::HighestPrice => summary.highest_price = value.as_ref().and_then(price_in),
            Category::PriceRange => {
                if let Some((low, high)) = value.as_ref().and_then(|v| v.as_str()).and_then(parse_price_range) {
                    summary.lowest_price.get_or_insert(low);
                    summary.highest_price.get_or_insert(high);
                }
            }
            Category::BrandPreference => summary.brand_preference = value,
            Category::ProductSpecifications => summary.product_specifications = value,
            Category::UserReviews => summary.user_reviews = value,
            Category::Comparisons => summary.comparisons = value,
            Category::Promotions => summary.promotions = value,
        }
    }
    if matched == 0 {
        return Err(ParseError::NoCategories(
            map.keys().cloned().collect::<Vec<_>>().join(", "),
        ));
    }
    if let (Some(low), Some(high)) = (summary.lowest_price, summary.highest_price)
        && low > high
    {
        repairs.push("lowest and highest price swapped".to_owned());
        summary.lowest_price = Some(high);
        summary.highest_price = Some(low);
    }
    Ok(ParsedSummary {
        summary,
        raw: raw.to_owned(),
        repairs,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Category {
    ProductCharacteristics,
    LowestPrice,
    HighestPrice,
    PriceRange,
    BrandPreference,
    ProductSpecifications,
    UserReviews,
    Comparisons,
    Promotions,
}

/// The category a key names, spelled any way (`Lowest Price`, `lowest_price`, `LowestPrice`).
fn category_of(key: &str) -> Option<Category> {
    let squashed: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    Some(match squashed.as_str() {
        "productcharacteristics" | "characteristics" | "products" => Category::ProductCharacteristics,
        "lowestprice" | "minprice" | "minimumprice" => Category::LowestPrice,
        "highestprice" | "maxprice" | "maximumprice" => Category::HighestPrice,
        "pricerange" | "price" => Category::PriceRange,
        "brandpreference" | "brandpreferences" | "brand" | "brands" => Category::BrandPreference,
        "productspecifications" | "specifications" | "specs" => Category::ProductSpecifications,
        "userreviewsandtestimonials" | "userreviews" | "reviews" | "testimonials" => Category::UserReviews,
        "comparisons" | "comparison" => Category::Comparisons,
        "promotions" | "promotion" | "deals" => Category::Promotions,
        _ => return None,
    })
}

/// `None` for "not available", empty strings, lists and objects.
fn available(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) if text.trim().trim_end_matches('.').eq_ignore_ascii_case(NOT_AVAILABLE) => None,
        Value::Array(items) if items.is_empty() => None,
        Value::Object(map) if map.is_empty() => None,
        other => Some(other.clone()),
    }
}

/// A price inside a value: a number, a price string, or the first price in a list or object.
fn price_in(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => parse_price(text),
        Value::Array(items) => items.iter().find_map(price_in),
        Value::Object(map) => map.values().find_map(price_in),
        _ => None,
    }
}

/// The first balanced `{ … }` of the text, honouring JSON strings.
fn extract_object(text: &str) -> Result<&str, ParseError> {
    let start = text
        .find('{')
        .ok_or_else(|| ParseError::NoObject(text.chars().take(40).collect()))?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, c) in text[start..].char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(&text[start..start + offset + 1]);
                }
            }
            _ => {}
        }
    }
    Err(ParseError::Unterminated)
}

/// Removes commas that stand right before `}` or `]` (outside strings).
fn drop_trailing_commas(json: &str) -> (String, usize) {
    let chars: Vec<char> = json.chars().collect();
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped, mut removed) = (false, false, 0);
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                removed += 1;
                continue;
            }
        }
        out.push(c);
    }
    (out, removed)
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
