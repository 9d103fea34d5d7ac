//! Catalog items as the optimizer sees them: an id, a title, a price and typed attributes. The
//! catalog service stores them and the `catalog` capability serves them in this JSON shape, so
//! the server and the `assortment` plugin read the same type.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A typed attribute value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
    /// A list of strings.
    List(Vec<String>),
}

/// One catalog item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Unique within the catalog.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Price, non-negative.
    pub price: f64,
    /// Optional image reference (URL or path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Typed attributes by name.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValue>,
}
