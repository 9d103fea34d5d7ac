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
use std::collections::BTreeMap;

/// Most distinct values a text or list attribute may have to get a vocabulary.
pub const MAX_VOCABULARY: usize = 1_000;
/// Most row errors reported in detail (all are counted).
pub const MAX_REPORTED_ROW_ERRORS: usize = 100;

pub use interarec_choice::item::{AttributeValue, Item};
pub use parse::{ImportPhase, ImportSummary, PROGRESS_EVERY_ROWS, import_catalog};

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

/// Parses an import held in memory; `overrides` set types, units and vocabularies by attribute
/// name. Large imports go through [`import_catalog`], which never holds the items.
pub fn parse_catalog(
    format: CatalogFormat,
    input: &[u8],
    overrides: &BTreeMap<String, AttributeOverride>,
    strict: bool,
) -> Result<ParsedCatalog, CatalogError> {
    let mut items = Vec::new();
    let summary = import_catalog(
        format,
        &mut || Ok::<_, std::io::Error>(input),
        overrides,
        strict,
        &mut |_, _| {},
        &mut |item| {
            items.push(item);
            Ok(())
        },
    )
    // Reading from memory cannot fail and the sink never does.
    .map_err(|error| CatalogError::Unreadable {
        format: match format {
            CatalogFormat::Csv => "CSV",
            CatalogFormat::Jsonl => "JSON Lines",
        },
        detail: error.to_string(),
    })??;
    Ok(ParsedCatalog {
        items,
        attributes: summary.attributes,
        errors: summary.errors,
        error_count: summary.error_count,
    })
}

impl ParsedCatalog {
    /// What the import found, as [`import_catalog`] reports it.
    pub fn summary(&self) -> ImportSummary {
        let prices = self.items.iter().map(|item| item.price);
        ImportSummary {
            item_count: self.items.len() as u64,
            price_min: prices.clone().fold(f64::INFINITY, f64::min),
            price_max: prices.fold(f64::NEG_INFINITY, f64::max),
            attributes: self.attributes.clone(),
            errors: self.errors.clone(),
            error_count: self.error_count,
        }
    }
}

mod parse;
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
    /// The record of an import.
    pub fn new(id: String, name: String, summary: &ImportSummary, imported_at_unix_ms: u64) -> CatalogRecord {
        CatalogRecord {
            id,
            name,
            item_count: summary.item_count,
            price_min: summary.price_min,
            price_max: summary.price_max,
            attributes: summary.attributes.clone(),
            imported_at_unix_ms,
            rejected_rows: summary.error_count,
            generation: 0,
        }
    }
}
