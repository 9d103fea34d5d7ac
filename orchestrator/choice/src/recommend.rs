//! From a shopper's constraints, a catalog and a fitted model to the revenue-maximizing
//! assortment: the one code path behind the gRPC `Optimize` call and the `assortment` plugin.
//!
//! Constraints (JSON, every field optional): a price range; attribute filters, each with any of
//! `equals`, `one_of`, `none_of` (text, list or number attributes; text compared without case)
//! and `min`/`max` (number attributes), all of which must hold; `capacity` (default
//! [`DEFAULT_CAPACITY`]) as "at most" or, with `exactly`, "exactly"; `max_per_value`, a cap per
//! value of one text or number attribute (e.g. at most 2 per brand); ids to include or exclude.
//! An item the model has no estimate for cannot be offered (its weight is unknown); the answer
//! counts such items. When nothing qualifies the answer is empty and names the constraint that
//! removed the last items.

use crate::assortment::{AssortmentProblem, Capacity, GroupCaps, OptimizeError, optimize};
use crate::hash::FxHasher;
use crate::item::{AttributeValue, Item};
use crate::model::{ChoiceModel, ModelError, NO_PURCHASE_WEIGHT, Segment};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Items shown when the constraints do not say.
pub const DEFAULT_CAPACITY: usize = 8;

/// What the shopper's constraints allow. Unset bounds are left out when written (schemas that
/// validate them take absent, not null).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// Lowest acceptable price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub lowest_price: Option<f64>,
    /// Highest acceptable price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub highest_price: Option<f64>,
    /// Attribute filters, all of which must hold.
    #[serde(default)]
    pub filters: Vec<AttributeFilter>,
    /// How many items to show (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub capacity: Option<usize>,
    /// Show exactly `capacity` items instead of at most.
    #[serde(default)]
    pub exactly: bool,
    /// At most this many items per value of one attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_value: Option<ValueCap>,
    /// Item ids that must be shown.
    #[serde(default)]
    pub must_include: Vec<String>,
    /// Item ids that must not be shown.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// Conditions on one attribute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeFilter {
    /// Attribute name.
    pub attribute: String,
    /// The value must equal this (a string or a number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<TextOrNumber>")]
    pub equals: Option<Value>,
    /// The value must be one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
    /// The value must be none of these (an item without the attribute passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none_of: Option<Vec<String>>,
    /// Smallest acceptable number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest acceptable number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// The schema of a filter's `equals`: the value is kept as JSON, which the schema narrows.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Number(f64),
}

/// A cap per attribute value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueCap {
    /// Attribute name (text or number).
    pub attribute: String,
    /// Most items per value.
    #[schemars(range(min = 1))]
    pub max: usize,
}

/// One item to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendedItem {
    /// Catalog id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Price.
    pub price: f64,
    /// Probability that the shopper buys it when shown this assortment.
    pub probability: f64,
}

/// The optimality check `h(λ) ≤ v₀·λ` at `λ` = the expected revenue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateReport {
    /// `λ`.
    pub lambda: f64,
    /// `h(λ)`.
    pub h_lambda: f64,
    /// `v₀·λ`.
    pub v0_lambda: f64,
    /// Whether it holds (to 1e-9 relative).
    pub holds: bool,
}

impl From<&crate::assortment::Certificate> for CertificateReport {
    fn from(certificate: &crate::assortment::Certificate) -> Self {
        CertificateReport {
            lambda: certificate.lambda,
            h_lambda: certificate.h_lambda,
            v0_lambda: certificate.v0_lambda,
            holds: certificate.holds,
        }
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Items in display order (most likely purchase first).
    pub items: Vec<RecommendedItem>,
    /// Expected revenue per shopper shown the assortment.
    pub expected_revenue: f64,
    /// Probability of buying nothing.
    pub no_purchase_probability: f64,
    /// Optimality certificate.
    pub certificate: CertificateReport,
    /// Optimizer iterations.
    pub iterations: u32,
    /// Why the assortment is empty, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_reason: Option<String>,
    /// Segment of the model used.
    pub segment: String,
    /// Items in the catalog.
    pub catalog_items: usize,
    /// Items that passed every filter and have an estimate.
    pub eligible_items: usize,
    /// Catalog items the model has no estimate for (never offered).
    pub without_estimate: usize,
}

/// Why no recommendation could be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecommendError {
    /// A constraint is malformed or names something the catalog lacks.
    #[error("invalid constraint: {0}")]
    InvalidConstraint(String),
    /// The model cannot answer.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The optimizer refused the problem.
    #[error(transparent)]
    Optimize(#[from] OptimizeError),
}

/// Picks the revenue-maximizing assortment of `items` under `constraints`.
pub fn recommend(
    items: &[Item],
    model: &ChoiceModel,
    segment: Option<&str>,
    constraints: &Constraints,
) -> Result<Recommendation, RecommendError> {
    let segment = model.segment(segment)?;
    check(items, constraints)?;
    let mut weights = Vec::with_capacity(items.len());
    let mut eligible = Vec::with_capacity(items.len());
    let mut without_estimate = 0;
    let mut prices = Vec::with_capacity(items.len());
    let intercepts = IdIndex::new(segment);
    for item in items {
        let weight = intercepts
            .intercept(&item.id)
            .map(|alpha| (alpha + segment.price_coefficient * item.price).exp());
        without_estimate += usize::from(weight.is_none());
        // The optimizer needs a positive weight for every item; an unestimated one is never eligible.
        weights.push(
            weight
                .filter(|w| *w > 0.0 && w.is_finite())
                .unwrap_or(f64::MIN_POSITIVE),
        );
        eligible.push(weight.is_some());
        prices.push(item.price);
    }
    // Apply each constraint in turn, remembering which one removed the last candidates.
    let mut empty_by: Option<String> = if items.is_empty() {
        Some("the catalog has no items".to_owned())
    } else if without_estimate == items.len() {
        Some(format!(
            "the model has no estimate for any of the catalog's {} items; fit it on this catalog's item ids",
            items.len()
        ))
    } else {
        None
    };
    let mut narrow = |description: String, keep: &dyn Fn(&Item) -> bool, eligible: &mut Vec<bool>| {
        let before = eligible.iter().filter(|e| **e).count();
        for (flag, item) in eligible.iter_mut().zip(items) {
            *flag = *flag && keep(item);
        }
        if before > 0 && eligible.iter().all(|e| !e) && empty_by.is_none() {
            empty_by = Some(format!(
                "no item left after {description} ({before} items qualified before it)"
            ));
        }
    };
    let (low, high) = (constraints.lowest_price, constraints.highest_price);
    if low.is_some() || high.is_some() {
        let description = format!("the price range {}–{}", show(low), show(high));
        narrow(
            description,
            &|item| low.is_none_or(|l| item.price >= l) && high.is_none_or(|h| item.price <= h),
            &mut eligible,
        );
    }
    for filter in &constraints.filters {
        narrow(describe(filter), &|item| filter.accepts(item), &mut eligible);
    }
    let excluded: Vec<usize> = indices(items, &constraints.exclude)?;
    let required: Vec<usize> = indices(items, &constraints.must_include)?;
    for (&index, id) in required.iter().zip(&constraints.must_include) {
        if !eligible[index] {
            return Err(RecommendError::InvalidConstraint(format!(
                "item `{id}` must be included but {}",
                if segment.items.contains_key(id) {
                    "it fails the other constraints"
                } else {
                    "the model has no estimate for it"
                }
            )));
        }
    }
    let capacity = match (constraints.capacity.unwrap_or(DEFAULT_CAPACITY), constraints.exactly) {
        (0, _) => {
            return Err(RecommendError::InvalidConstraint(
                "capacity must be at least 1 (how many items to show)".to_owned(),
            ));
        }
        (count, false) => Capacity::AtMost(count),
        (count, true) => Capacity::Exactly(count),
    };
    let (group_of, caps) = match &constraints.max_per_value {
        Some(cap) => value_groups(items, cap)?,
        None => (Vec::new(), Vec::new()),
    };
    // A mask, not a search per item: an exclusion list may be as long as the catalog.
    let mut is_excluded = vec![false; items.len()];
    for &index in &excluded {
        is_excluded[index] = true;
    }
    let eligible_items = eligible
        .iter()
        .zip(&is_excluded)
        .filter(|(eligible, excluded)| **eligible && !**excluded)
        .count();
    let problem = AssortmentProblem {
        prices: &prices,
        weights: &weights,
        no_purchase_weight: NO_PURCHASE_WEIGHT,
        capacity,
        groups: constraints.max_per_value.as_ref().map(|_| GroupCaps {
            group_of: &group_of,
            caps: &caps,
        }),
        eligible: Some(&eligible),
        must_include: &required,
        exclude: &excluded,
    };
    let assortment = optimize(&problem)?;
    let empty_reason = assortment
        .empty_reason
        .as_ref()
        .map(|reason| empty_by.clone().unwrap_or(reason.clone()));
    Ok(Recommendation {
        items: assortment
            .items
            .iter()
            .map(|selected| {
                let item = &items[selected.index];
                RecommendedItem {
                    id: item.id.clone(),
                    title: item.title.clone(),
                    price: item.price,
                    probability: selected.probability,
                }
            })
            .collect(),
        expected_revenue: assortment.expected_revenue,
        no_purchase_probability: assortment.no_purchase_probability,
        certificate: CertificateReport::from(&assortment.certificate),
        iterations: assortment.iterations,
        empty_reason,
        segment: segment.name.clone(),
        catalog_items: items.len(),
        eligible_items,
        without_estimate,
    })
}

pub(crate) fn show(bound: Option<f64>) -> String {
    bound.map_or_else(|| "any".to_owned(), |b| b.to_string())
}

pub(crate) fn describe(filter: &AttributeFilter) -> String {
    let mut parts = Vec::new();
    if let Some(value) = &filter.equals {
        parts.push(format!("= {}", plain(value)));
    }
    if let Some(values) = &filter.one_of {
        parts.push(format!("one of [{}]", values.join(", ")));
    }
    if let Some(values) = &filter.none_of {
        parts.push(format!("none of [{}]", values.join(", ")));
    }
    if let Some(min) = filter.min {
        parts.push(format!(">= {min}"));
    }
    if let Some(max) = filter.max {
        parts.push(format!("<= {max}"));
    }
    format!("the filter `{}` {}", filter.attribute, parts.join(" and "))
}

pub(crate) fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Whether an attribute value matches one wanted value (text without case; numbers by value).
fn matches(value: &AttributeValue, wanted: &str) -> bool {
    let wanted = wanted.trim();
    match value {
        AttributeValue::Text(text) => text.trim().eq_ignore_ascii_case(wanted),
        AttributeValue::List(values) => values.iter().any(|v| v.trim().eq_ignore_ascii_case(wanted)),
        AttributeValue::Number(number) => wanted.parse::<f64>().is_ok_and(|w| w == *number),
    }
}

/// Most ids in `must_include` or `exclude`, and most values in one filter's `one_of` or
/// `none_of`, by default.
pub const MAX_LISTED: usize = 10_000;
/// Most attribute filters by default.
pub const MAX_FILTERS: usize = 256;

/// How large one request's constraints may be (the server sets them from its config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimits {
    /// Most ids in an id list, and most values in one filter's value list.
    pub max_listed: usize,
    /// Most attribute filters.
    pub max_filters: usize,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            max_listed: MAX_LISTED,
            max_filters: MAX_FILTERS,
        }
    }
}

impl Constraints {
    /// [`Constraints::check_sizes_within`] the default [`SizeLimits`].
    pub fn check_sizes(&self) -> Result<(), RecommendError> {
        self.check_sizes_within(&SizeLimits::default())
    }

    /// Refuses lists longer than `limits.max_listed` and more than `limits.max_filters`
    /// filters, naming the field, so one request cannot make the optimizer's input unbounded.
    pub fn check_sizes_within(&self, limits: &SizeLimits) -> Result<(), RecommendError> {
        let too_long = |field: &str, length: usize, limit: usize| {
            Err(RecommendError::InvalidConstraint(format!(
                "{field} lists {length} entries, over the limit of {limit}; narrow it (a filter selects many items at once)"
            )))
        };
        for (field, list) in [("must_include", &self.must_include), ("exclude", &self.exclude)] {
            if list.len() > limits.max_listed {
                return too_long(field, list.len(), limits.max_listed);
            }
        }
        if self.filters.len() > limits.max_filters {
            return too_long("filters", self.filters.len(), limits.max_filters);
        }
        for filter in &self.filters {
            for (name, values) in [("one_of", &filter.one_of), ("none_of", &filter.none_of)] {
                let length = values.as_ref().map_or(0, Vec::len);
                if length > limits.max_listed {
                    return too_long(
                        &format!("the `{}` filter's {name}", filter.attribute),
                        length,
                        limits.max_listed,
                    );
                }
            }
        }
        Ok(())
    }

    /// Whether an item passes the price range, every filter and the exclusions (what makes it a
    /// candidate; capacity and caps are the optimizer's business).
    pub fn admits(&self, item: &Item) -> bool {
        self.admits_apart_from_exclusions(item) && !self.exclude.contains(&item.id)
    }

    /// How many of `items` [`Constraints::admits`], with the exclusions looked up in a set
    /// (an exclusion list may be as long as the catalog).
    pub fn admitted_count(&self, items: &[Item]) -> usize {
        let excluded: std::collections::HashSet<&str> = self.exclude.iter().map(String::as_str).collect();
        items
            .iter()
            .filter(|item| self.admits_apart_from_exclusions(item) && !excluded.contains(item.id.as_str()))
            .count()
    }

    fn admits_apart_from_exclusions(&self, item: &Item) -> bool {
        self.lowest_price.is_none_or(|low| item.price >= low)
            && self.highest_price.is_none_or(|high| item.price <= high)
            && self.filters.iter().all(|filter| filter.accepts(item))
    }
}

impl AttributeFilter {
    /// Whether an item's attribute satisfies the filter.
    pub fn accepts(&self, item: &Item) -> bool {
        let value = item.attributes.get(&self.attribute);
        if let Some(excluded) = &self.none_of
            && value.is_some_and(|v| excluded.iter().any(|x| matches(v, x)))
        {
            return false;
        }
        let needs_value = self.equals.is_some() || self.one_of.is_some() || self.min.is_some() || self.max.is_some();
        let Some(value) = value else {
            return !needs_value;
        };
        if let Some(wanted) = &self.equals
            && !matches(value, &plain(wanted))
        {
            return false;
        }
        if let Some(wanted) = &self.one_of
            && !wanted.iter().any(|w| matches(value, w))
        {
            return false;
        }
        if self.min.is_some() || self.max.is_some() {
            let AttributeValue::Number(number) = value else {
                return false;
            };
            if self.min.is_some_and(|m| *number < m) || self.max.is_some_and(|m| *number > m) {
                return false;
            }
        }
        true
    }
}

/// Refuses constraints that cannot mean anything for this catalog.
fn check(items: &[Item], constraints: &Constraints) -> Result<(), RecommendError> {
    let known = |attribute: &str| items.is_empty() || items.iter().any(|i| i.attributes.contains_key(attribute));
    let attribute_names = || {
        let mut names: Vec<&str> = items
            .iter()
            .flat_map(|i| i.attributes.keys().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names.join(", ")
    };
    check_against(constraints, &known, &attribute_names)
}

/// [`check`] against any catalog: `known` says whether some item has an attribute (or the
/// catalog is empty), `attribute_names` lists them all for the message.
pub(crate) fn check_against(
    constraints: &Constraints,
    known: &dyn Fn(&str) -> bool,
    attribute_names: &dyn Fn() -> String,
) -> Result<(), RecommendError> {
    let invalid = |message: String| Err(RecommendError::InvalidConstraint(message));
    for (name, bound) in [
        ("lowest_price", constraints.lowest_price),
        ("highest_price", constraints.highest_price),
    ] {
        if bound.is_some_and(|b| !b.is_finite() || b < 0.0) {
            return invalid(format!("{name} must be a non-negative number, not {}", show(bound)));
        }
    }
    if let (Some(low), Some(high)) = (constraints.lowest_price, constraints.highest_price)
        && low > high
    {
        return invalid(format!("lowest_price {low} is above highest_price {high}; swap them"));
    }
    for filter in &constraints.filters {
        if !known(&filter.attribute) {
            return invalid(format!(
                "no item has the attribute `{}`; the catalog's attributes are: {}",
                filter.attribute,
                attribute_names()
            ));
        }
        let empty = filter.equals.is_none()
            && filter.one_of.is_none()
            && filter.none_of.is_none()
            && filter.min.is_none()
            && filter.max.is_none();
        if empty {
            return invalid(format!(
                "the filter on `{}` has no condition; give equals, one_of, none_of, min or max",
                filter.attribute
            ));
        }
        if let Some(value) = &filter.equals
            && !(value.is_string() || value.is_number())
        {
            return invalid(format!("`{}` equals must be a string or a number", filter.attribute));
        }
        if [filter.min, filter.max].iter().flatten().any(|b| !b.is_finite()) {
            return invalid(format!("`{}` min and max must be finite numbers", filter.attribute));
        }
        if let (Some(min), Some(max)) = (filter.min, filter.max)
            && min > max
        {
            return invalid(format!("`{}` min {min} is above max {max}", filter.attribute));
        }
    }
    if let Some(cap) = &constraints.max_per_value {
        if !known(&cap.attribute) {
            return invalid(format!(
                "no item has the attribute `{}` to cap by; the catalog's attributes are: {}",
                cap.attribute,
                attribute_names()
            ));
        }
        if cap.max == 0 {
            return invalid(format!(
                "max_per_value on `{}` must be at least 1; use a none_of filter to leave values out",
                cap.attribute
            ));
        }
    }
    Ok(())
}

/// Catalog positions of ids, refusing unknown ones.
fn indices(items: &[Item], ids: &[String]) -> Result<Vec<usize>, RecommendError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let positions: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.as_str(), i))
        .collect();
    ids.iter()
        .map(|id| {
            positions
                .get(id.as_str())
                .copied()
                .ok_or_else(|| RecommendError::InvalidConstraint(format!("there is no item `{id}` in the catalog")))
        })
        .collect()
}

/// The model's intercepts by item id, hashed: a catalog of 10⁵ items is looked up in about a
/// millisecond, where the model's ordered map (kept for a stable stored form) takes tens.
struct IdIndex<'a> {
    by_id: HashMap<&'a str, f64, BuildHasherDefault<FxHasher>>,
}

impl<'a> IdIndex<'a> {
    fn new(segment: &'a Segment) -> IdIndex<'a> {
        let mut by_id = HashMap::with_capacity_and_hasher(segment.items.len(), BuildHasherDefault::default());
        by_id.extend(
            segment
                .items
                .iter()
                .map(|(id, utility)| (id.as_str(), utility.intercept)),
        );
        IdIndex { by_id }
    }

    fn intercept(&self, id: &str) -> Option<f64> {
        self.by_id.get(id).copied()
    }
}

/// One group per distinct value of the capped attribute; items without it share an uncapped group.
fn value_groups(items: &[Item], cap: &ValueCap) -> Result<(Vec<u32>, Vec<usize>), RecommendError> {
    // Values as written map to groups without allocating; only a new spelling is normalised.
    let mut by_spelling: HashMap<&str, u32> = HashMap::new();
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut caps = vec![items.len().max(1)];
    let mut group_of = Vec::with_capacity(items.len());
    for item in items {
        let key = match item.attributes.get(&cap.attribute) {
            None => {
                group_of.push(0);
                continue;
            }
            Some(AttributeValue::Text(text)) => {
                if let Some(&group) = by_spelling.get(text.as_str()) {
                    group_of.push(group);
                    continue;
                }
                let key = text.trim().to_lowercase();
                let next = caps.len() as u32;
                let group = *ids.entry(key).or_insert(next);
                if group == next {
                    caps.push(cap.max);
                }
                by_spelling.insert(text, group);
                group_of.push(group);
                continue;
            }
            Some(AttributeValue::Number(number)) => number.to_string(),
            Some(AttributeValue::List(_)) => {
                return Err(RecommendError::InvalidConstraint(format!(
                    "`{}` is a list attribute; caps work per value of a text or number attribute",
                    cap.attribute
                )));
            }
        };
        let next = caps.len() as u32;
        let group = *ids.entry(key).or_insert(next);
        if group == next {
            caps.push(cap.max);
        }
        group_of.push(group);
    }
    Ok((group_of, caps))
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
