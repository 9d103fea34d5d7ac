//! Catalogs: items with a price and typed attributes, imported from CSV or JSON Lines, with the
//! attribute schema (types, units, vocabularies) derived from the data and overridable.
//!
//! CSV: a header row; the columns `id`, `title` and `price` are required, `image` is optional,
//! every other column is an attribute. A column is a number when every non-empty value parses
//! as one, else text; a list column (declared with a type override, or whose values contain
//! `|`) splits its values on `|`. JSON Lines: one object per line with `id`, `title`, `price`,
//! optional `image`, and attributes either as other top-level keys or inside `attributes`;
//! strings are text, numbers are numbers, arrays of strings are lists.
//!
//! Bad rows (missing id or price, a price that is not a non-negative number, a value of the
//! wrong type for its column, a repeated id) are reported with their line numbers; the valid
//! rows are imported, unless the import is strict, in which case any bad row refuses the file.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Most distinct values a text or list attribute may have to get a vocabulary.
pub const MAX_VOCABULARY: usize = 1_000;
/// Most row errors reported in detail (all are counted).
pub const MAX_REPORTED_ROW_ERRORS: usize = 100;

pub use interarec_choice::item::{AttributeValue, Item};

/// The type of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    /// Text (categorical when it has a vocabulary).
    Text,
    /// Number.
    Number,
    /// List of strings.
    List,
}

/// What the catalog knows about one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeSchema {
    /// Attribute name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: AttributeType,
    /// Unit, when given by an override (e.g. `sqft`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Distinct values (text and list attributes with at most [`MAX_VOCABULARY`] of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<Vec<String>>,
    /// Range of a number attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Range of a number attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Items that have a value.
    pub present: u64,
}

/// An override of what the data says about an attribute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeOverride {
    /// Force this type.
    #[serde(default, rename = "type")]
    pub kind: Option<AttributeType>,
    /// Unit to record.
    #[serde(default)]
    pub unit: Option<String>,
    /// Vocabulary to use instead of the derived one.
    #[serde(default)]
    pub vocabulary: Option<Vec<String>>,
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatalogFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// One refused row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line number in the input (the CSV header is line 1).
    pub line: u64,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// The result of parsing an import.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCatalog {
    /// Valid items in input order.
    pub items: Vec<Item>,
    /// Derived (and overridden) schema, by attribute name.
    pub attributes: Vec<AttributeSchema>,
    /// The first [`MAX_REPORTED_ROW_ERRORS`] refused rows.
    pub errors: Vec<RowError>,
    /// All refused rows.
    pub error_count: u64,
}

/// Why a whole import was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The file cannot be read as the format at all.
    #[error("the {format} input cannot be read: {detail}")]
    Unreadable {
        /// `CSV` or `JSON Lines`.
        format: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A required column is missing from the CSV header.
    #[error("the CSV header has no `{0}` column; the columns id, title and price are required")]
    MissingColumn(String),
    /// Strict mode and at least one bad row.
    #[error("strict import refused: {count} bad row(s), the first at line {first_line}: {first_message}")]
    Strict {
        /// Bad rows.
        count: u64,
        /// Line of the first.
        first_line: u64,
        /// Its message.
        first_message: String,
    },
    /// Nothing valid to import.
    #[error("no valid item in the input ({0} bad row(s)); fix them and import again")]
    Empty(u64),
}

/// Parses an import; `overrides` set types, units and vocabularies by attribute name.
pub fn parse_catalog(
    format: CatalogFormat,
    input: &[u8],
    overrides: &BTreeMap<String, AttributeOverride>,
    strict: bool,
) -> Result<ParsedCatalog, CatalogError> {
    let mut rows = Rows::default();
    match format {
        CatalogFormat::Csv => parse_csv(input, overrides, &mut rows)?,
        CatalogFormat::Jsonl => parse_jsonl(input, overrides, &mut rows)?,
    }
    if strict && let Some(first) = rows.errors.first() {
        return Err(CatalogError::Strict {
            count: rows.error_count,
            first_line: first.line,
            first_message: first.message.clone(),
        });
    }
    if rows.items.is_empty() {
        return Err(CatalogError::Empty(rows.error_count));
    }
    let attributes = derive_schema(&rows.items, overrides);
    Ok(ParsedCatalog {
        items: rows.items,
        attributes,
        errors: rows.errors,
        error_count: rows.error_count,
    })
}

#[derive(Default)]
struct Rows {
    items: Vec<Item>,
    ids: HashSet<String>,
    errors: Vec<RowError>,
    error_count: u64,
}

impl Rows {
    fn refuse(&mut self, line: u64, message: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_REPORTED_ROW_ERRORS {
            self.errors.push(RowError { line, message });
        }
    }

    fn accept(&mut self, line: u64, item: Item) {
        if !self.ids.insert(item.id.clone()) {
            self.refuse(
                line,
                format!("id `{}` appears on an earlier line; ids must be unique", item.id),
            );
            return;
        }
        self.items.push(item);
    }
}

fn check_price(raw: Option<f64>, text: &str) -> Result<f64, String> {
    match raw {
        None => Err(format!("price `{text}` is not a number")),
        Some(price) if !price.is_finite() => Err(format!("price `{text}` is not a finite number")),
        Some(price) if price < 0.0 => Err(format!("price {price} is negative")),
        Some(price) => Ok(price),
    }
}

fn parse_csv(
    input: &[u8],
    overrides: &BTreeMap<String, AttributeOverride>,
    rows: &mut Rows,
) -> Result<(), CatalogError> {
    let unreadable = |detail: String| CatalogError::Unreadable { format: "CSV", detail };
    let input = input.strip_prefix("\u{feff}".as_bytes()).unwrap_or(input);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let id_column = column("id").ok_or_else(|| CatalogError::MissingColumn("id".into()))?;
    let title_column = column("title").ok_or_else(|| CatalogError::MissingColumn("title".into()))?;
    let price_column = column("price").ok_or_else(|| CatalogError::MissingColumn("price".into()))?;
    let image_column = column("image");
    let attribute_columns: Vec<usize> = (0..header.len())
        .filter(|&c| c != id_column && c != title_column && c != price_column && Some(c) != image_column)
        .collect();
    let records: Vec<(u64, csv::StringRecord)> = reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| unreadable(e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            Ok((line, record))
        })
        .collect::<Result<_, CatalogError>>()?;
    // Column types: overrides first, then numbers when every non-empty value parses.
    let kinds: BTreeMap<usize, AttributeType> = attribute_columns
        .iter()
        .map(|&c| {
            let name = &header[c];
            let values = || {
                records
                    .iter()
                    .filter_map(|(_, r)| r.get(c))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
            };
            let kind = overrides.get(name).and_then(|o| o.kind).unwrap_or_else(|| {
                if values().clone().next().is_some() && values().all(|v| v.parse::<f64>().is_ok_and(f64::is_finite)) {
                    AttributeType::Number
                } else if values().any(|v| v.contains('|')) {
                    AttributeType::List
                } else {
                    AttributeType::Text
                }
            });
            (c, kind)
        })
        .collect();
    for (line, record) in records {
        if record.len() != header.len() {
            rows.refuse(
                line,
                format!("{} fields, but the header has {}", record.len(), header.len()),
            );
            continue;
        }
        let id = record.get(id_column).unwrap_or_default().trim();
        if id.is_empty() {
            rows.refuse(line, "missing id".into());
            continue;
        }
        let price_text = record.get(price_column).unwrap_or_default().trim();
        if price_text.is_empty() {
            rows.refuse(line, format!("item `{id}`: missing price"));
            continue;
        }
        let price = match check_price(price_text.parse().ok(), price_text) {
            Ok(price) => price,
            Err(message) => {
                rows.refuse(line, format!("item `{id}`: {message}"));
                continue;
            }
        };
        let mut attributes = BTreeMap::new();
        let mut bad = None;
        for (&c, &kind) in &kinds {
            let text = record.get(c).unwrap_or_default().trim();
            if text.is_empty() {
                continue;
            }
            let value = match kind {
                AttributeType::Text => AttributeValue::Text(text.to_owned()),
                AttributeType::List => AttributeValue::List(
                    text.split('|')
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .collect(),
                ),
                AttributeType::Number => match text.parse::<f64>() {
                    Ok(number) if number.is_finite() => AttributeValue::Number(number),
                    _ => {
                        bad = Some(format!(
                            "item `{id}`: `{}` is `{text}`, but the column holds numbers",
                            header[c]
                        ));
                        break;
                    }
                },
            };
            attributes.insert(header[c].clone(), value);
        }
        if let Some(message) = bad {
            rows.refuse(line, message);
            continue;
        }
        let image = image_column
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        let title = record.get(title_column).unwrap_or_default().trim().to_owned();
        rows.accept(
            line,
            Item {
                id: id.to_owned(),
                title,
                price,
                image,
                attributes,
            },
        );
    }
    Ok(())
}

fn parse_jsonl(
    input: &[u8],
    overrides: &BTreeMap<String, AttributeOverride>,
    rows: &mut Rows,
) -> Result<(), CatalogError> {
    let text = std::str::from_utf8(input).map_err(|e| CatalogError::Unreadable {
        format: "JSON Lines",
        detail: format!("not UTF-8: {e}"),
    })?;
    let mut seen_types: BTreeMap<String, AttributeType> = overrides
        .iter()
        .filter_map(|(name, o)| o.kind.map(|kind| (name.clone(), kind)))
        .collect();
    for (index, raw) in text.lines().enumerate() {
        let line = index as u64 + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(object)) => object,
            Ok(_) => {
                rows.refuse(line, "not a JSON object".into());
                continue;
            }
            Err(e) => {
                rows.refuse(line, format!("not valid JSON: {e}"));
                continue;
            }
        };
        let id = match object.get("id") {
            Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
            Some(Value::Number(id)) => id.to_string(),
            _ => {
                rows.refuse(line, "missing id".into());
                continue;
            }
        };
        let price = match object.get("price") {
            None | Some(Value::Null) => Err("missing price".to_owned()),
            Some(Value::Number(n)) => check_price(n.as_f64(), &n.to_string()),
            Some(other) => Err(format!("price `{other}` is not a number")),
        };
        let price = match price {
            Ok(price) => price,
            Err(message) => {
                rows.refuse(line, format!("item `{id}`: {message}"));
                continue;
            }
        };
        let title = object
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let image = object.get("image").and_then(Value::as_str).map(str::to_owned);
        let mut fields: Vec<(&String, &Value)> = object
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "id" | "title" | "price" | "image" | "attributes"))
            .collect();
        if let Some(Value::Object(nested)) = object.get("attributes") {
            fields.extend(nested.iter());
        }
        let mut attributes = BTreeMap::new();
        let mut bad = None;
        for (name, value) in fields {
            let converted = match value {
                Value::Null => continue,
                Value::Number(n) => n.as_f64().map(AttributeValue::Number),
                Value::String(s) => Some(AttributeValue::Text(s.clone())),
                Value::Array(values) => values
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .map(AttributeValue::List),
                Value::Bool(b) => Some(AttributeValue::Text(b.to_string())),
                Value::Object(_) => None,
            };
            let Some(converted) = converted else {
                bad = Some(format!(
                    "item `{id}`: `{name}` is {value}, but attributes are strings, numbers or lists of strings"
                ));
                break;
            };
            let kind = match &converted {
                AttributeValue::Number(_) => AttributeType::Number,
                AttributeValue::Text(_) => AttributeType::Text,
                AttributeValue::List(_) => AttributeType::List,
            };
            match seen_types.get(name.as_str()) {
                // A declared list accepts a single string as a one-element list.
                Some(AttributeType::List) if kind == AttributeType::Text => {
                    if let AttributeValue::Text(text) = converted {
                        attributes.insert(name.clone(), AttributeValue::List(vec![text]));
                    }
                    continue;
                }
                Some(expected) if *expected != kind => {
                    bad = Some(format!(
                        "item `{id}`: `{name}` is {value}, but earlier items (or the override) make it a {}",
                        type_name(*expected)
                    ));
                    break;
                }
                Some(_) => {}
                None => {
                    seen_types.insert(name.clone(), kind);
                }
            }
            attributes.insert(name.clone(), converted);
        }
        if let Some(message) = bad {
            rows.refuse(line, message);
            continue;
        }
        rows.accept(
            line,
            Item {
                id,
                title,
                price,
                image,
                attributes,
            },
        );
    }
    Ok(())
}

fn type_name(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::Text => "text attribute",
        AttributeType::Number => "number attribute",
        AttributeType::List => "list attribute",
    }
}

fn derive_schema(items: &[Item], overrides: &BTreeMap<String, AttributeOverride>) -> Vec<AttributeSchema> {
    let mut schemas: BTreeMap<String, (AttributeType, BTreeSet<String>, f64, f64, u64)> = BTreeMap::new();
    for item in items {
        for (name, value) in &item.attributes {
            let kind = match value {
                AttributeValue::Number(_) => AttributeType::Number,
                AttributeValue::Text(_) => AttributeType::Text,
                AttributeValue::List(_) => AttributeType::List,
            };
            let entry = schemas
                .entry(name.clone())
                .or_insert_with(|| (kind, BTreeSet::new(), f64::INFINITY, f64::NEG_INFINITY, 0));
            entry.4 += 1;
            match value {
                AttributeValue::Number(n) => {
                    entry.2 = entry.2.min(*n);
                    entry.3 = entry.3.max(*n);
                }
                AttributeValue::Text(text) if entry.1.len() <= MAX_VOCABULARY => {
                    entry.1.insert(text.clone());
                }
                AttributeValue::List(values) if entry.1.len() <= MAX_VOCABULARY => {
                    entry.1.extend(values.iter().cloned());
                }
                _ => {}
            }
        }
    }
    schemas
        .into_iter()
        .map(|(name, (kind, values, min, max, present))| {
            let override_ = overrides.get(&name).cloned().unwrap_or_default();
            let vocabulary = override_.vocabulary.or_else(|| {
                (kind != AttributeType::Number && values.len() <= MAX_VOCABULARY).then(|| values.into_iter().collect())
            });
            let numeric = kind == AttributeType::Number;
            AttributeSchema {
                name,
                kind,
                unit: override_.unit,
                vocabulary,
                min: numeric.then_some(min),
                max: numeric.then_some(max),
                present,
            }
        })
        .collect()
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

/// A stored catalog's description (its items are stored beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogRecord {
    /// Catalog id (the tool-name rule: `[a-z][a-z0-9-]*`, at most 64 characters).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Items stored.
    pub item_count: u64,
    /// Lowest price.
    pub price_min: f64,
    /// Highest price.
    pub price_max: f64,
    /// Attribute schema.
    pub attributes: Vec<AttributeSchema>,
    /// Import time, milliseconds since the Unix epoch.
    pub imported_at_unix_ms: u64,
    /// Rows refused at import.
    pub rejected_rows: u64,
    /// Which stored set of items is this record's (set by the store at each import; 0 in
    /// records written before item sets were versioned).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl CatalogRecord {
    /// The record of a parsed import.
    pub fn new(id: String, name: String, parsed: &ParsedCatalog, imported_at_unix_ms: u64) -> CatalogRecord {
        let prices = parsed.items.iter().map(|item| item.price);
        CatalogRecord {
            id,
            name,
            item_count: parsed.items.len() as u64,
            price_min: prices.clone().fold(f64::INFINITY, f64::min),
            price_max: prices.fold(f64::NEG_INFINITY, f64::max),
            attributes: parsed.attributes.clone(),
            imported_at_unix_ms,
            rejected_rows: parsed.error_count,
            generation: 0,
        }
    }
}
