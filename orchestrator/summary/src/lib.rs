//! The preference summary of a batch of screenshots, in the paper's eight categories, and a
//! lenient parser for what real models answer: JSON wrapped in prose, behind a bare `json`
//! prefix or in code fences, with trailing commas and smart quotes, nested objects inside
//! categories, and prices written as text (`$799,888`, `18.00$`, `$1.35M`). The raw text is
//! always kept beside the typed summary. A plain library, so the `summarize` plugin and the
//! server share it.

mod negation;
mod parse;
mod price;

pub use negation::{affirmed_text, states_no_preference};
pub use parse::{ParseError, parse_lenient_object, parse_summary};
pub use price::{parse_price, parse_price_range};

use serde::{Deserialize, Serialize};

/// The paper's categories, in its order, as the model is asked to name them.
pub const CATEGORIES: [&str; 8] = [
    "Product Characteristics",
    "Lowest Price",
    "Highest Price",
    "Brand Preference",
    "Product Specifications",
    "User Reviews and Testimonials",
    "Comparisons",
    "Promotions",
];

/// What a category holds when nothing could be inferred.
pub const NOT_AVAILABLE: &str = "not available";

/// A parsed summary. Text categories keep the model's words (strings, lists or nested objects
/// as JSON); `None` means "not available" or absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Product Characteristics.
    pub product_characteristics: Option<serde_json::Value>,
    /// Lowest Price, normalised to a number.
    pub lowest_price: Option<f64>,
    /// Highest Price, normalised to a number.
    pub highest_price: Option<f64>,
    /// Brand Preference.
    pub brand_preference: Option<serde_json::Value>,
    /// Product Specifications (often nested: by gender, colour, "best for", bedrooms, ...).
    pub product_specifications: Option<serde_json::Value>,
    /// User Reviews and Testimonials.
    pub user_reviews: Option<serde_json::Value>,
    /// Comparisons.
    pub comparisons: Option<serde_json::Value>,
    /// Promotions.
    pub promotions: Option<serde_json::Value>,
    /// Why each fact was read and how sure the reader is, when the reader says so (the offline
    /// engine does; models are not asked to): `{fact: {value, sources, confidence, support}}`,
    /// the fact named as the constraint function names its field without `_min`/`_max`
    /// (`colour`, `bedrooms`, `lowest_price`). See [`Support`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
}

/// How a fact of a summary is supported (its evidence's `support`), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Support {
    /// Only what the shopper looked at: product pages opened, an unfiltered listing, items
    /// viewed across pages. Describes the items more than the shopper's wishes.
    Viewed,
    /// What a refined listing (filtered, searched, a category) showed.
    Listing,
    /// What the page says is in force: filters, chips, ticked facets, the URL's query.
    Stated,
}

impl Summary {
    /// The facts whose evidence gives them this support.
    pub fn facts_supported(&self, wanted: Support) -> std::collections::BTreeSet<String> {
        self.evidence
            .as_ref()
            .and_then(serde_json::Value::as_object)
            .map(|facts| {
                facts
                    .iter()
                    .filter(|(_, fact)| Support::deserialize(&fact["support"]).is_ok_and(|support| support == wanted))
                    .map(|(name, _)| name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The facts resting only on what was viewed ([`Support::Viewed`]): merging across batches
    /// does not let them move a bound an earlier batch set.
    pub fn viewed_only_facts(&self) -> std::collections::BTreeSet<String> {
        self.facts_supported(Support::Viewed)
    }

    /// The facts the pages stated outright ([`Support::Stated`]: filters, chips, the URL): a
    /// validating tool relaxes them only when nothing at all would match otherwise.
    pub fn stated_facts(&self) -> std::collections::BTreeSet<String> {
        self.facts_supported(Support::Stated)
    }
}

/// A summary with the text it was read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedSummary {
    /// The typed summary.
    pub summary: Summary,
    /// The model's answer as received.
    pub raw: String,
    /// Repairs the parser made to read it (for audit).
    pub repairs: Vec<String>,
}
