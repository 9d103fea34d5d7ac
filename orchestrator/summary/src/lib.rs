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
