//! A fitted choice model as it is stored, served and used: per customer segment, one price
//! coefficient and an intercept per item id, with the provenance of the fit.
//!
//! Two things a purchase log cannot tell are settled by one stated assumption. The outside
//! (no-purchase) option is never observed, and intercepts fitted within a product group are only
//! relative to that group's reference item, so groups are not comparable. The assumption: in
//! every group, with all of its items on offer at their mean observed prices, the shopper buys
//! nothing with probability `no_purchase_share`. Each group's intercepts are shifted by
//! `−ln v₀(group)` (see [`crate::estimation::no_purchase_weight`]), after which `v₀ = 1` for
//! every group and items of any groups can share one assortment with weights
//! `v_j(p) = exp(α_j + β·p)`.

use crate::estimation::{FitError, Observation, SharedPriceFit, no_purchase_weight};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The no-purchase weight every stored model is normalised to.
pub const NO_PURCHASE_WEIGHT: f64 = 1.0;

/// Name of the segment fitted on every customer.
pub const ALL_CUSTOMERS: &str = "all";

/// A fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceModel {
    /// Model id (lowercase letters, digits and `-`).
    pub id: String,
    /// The catalog whose item ids the model uses, when one was named.
    #[serde(default)]
    pub catalog_id: Option<String>,
    /// When it was fitted.
    pub created_at_unix_ms: u64,
    /// Assumed probability of buying nothing (the outside option is not observed).
    pub no_purchase_share: f64,
    /// Where the data came from and how it was fitted.
    pub provenance: Provenance,
    /// One model per segment; [`ALL_CUSTOMERS`] first when fitted.
    pub segments: Vec<Segment>,
}

/// Data and method of a fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Input format: `ta-feng` or `transactions-csv`.
    pub source: String,
    /// sha256 of the uploaded bytes.
    pub data_sha256: String,
    /// Size of the upload.
    pub data_bytes: u64,
    /// Data lines read.
    pub lines: u64,
    /// Lines that could not be used, per reason.
    pub skipped: BTreeMap<String, u64>,
    /// How the choice sets were formed.
    pub choice_sets: String,
    /// The column the segments come from (`None`: one segment of all customers).
    #[serde(default)]
    pub segment_by: Option<String>,
    /// Estimator and its convergence rule.
    pub method: String,
    /// The outside-option assumption, in words.
    pub outside_option: String,
    /// Wall time of the whole fit.
    pub fit_ms: f64,
    /// What the fit left out beyond skipped lines (segments too thin to fit, and why).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The model of one customer segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Segment value (`all` for every customer).
    pub name: String,
    /// `β`, the utility of one unit of price.
    pub price_coefficient: f64,
    /// Standard error of `β` from the inverse Hessian.
    pub price_standard_error: f64,
    /// Log-likelihood at the optimum.
    pub log_likelihood: f64,
    /// Log-likelihood of equal choice probabilities.
    pub null_log_likelihood: f64,
    /// Newton iterations.
    pub iterations: u32,
    /// Whether the convergence rule was met.
    pub converged: bool,
    /// Choices that carried information.
    pub choices_used: f64,
    /// Product groups fitted.
    pub groups: u64,
    /// Items offered whose intercept the data cannot identify (left out of `items`).
    pub unidentified_items: u64,
    /// Item id → utility parameters, on the outside option's scale.
    pub items: BTreeMap<String, ItemUtility>,
}

/// A model written by hand rather than fitted (tests, fixtures, benchmarks): one segment of every
/// customer with a price coefficient and item intercepts; its provenance says it was not fitted.
#[derive(Debug, Clone)]
pub struct ModelBuilder {
    model: ChoiceModel,
}

impl ModelBuilder {
    /// The catalog whose item ids the model uses.
    pub fn catalog(mut self, catalog_id: &str) -> ModelBuilder {
        self.model.catalog_id = Some(catalog_id.to_owned());
        self
    }

    /// `β`, the utility of one unit of price (negative), with its standard error.
    pub fn price_coefficient(mut self, beta: f64, standard_error: f64) -> ModelBuilder {
        let segment = &mut self.model.segments[0];
        segment.price_coefficient = beta;
        segment.price_standard_error = standard_error;
        self
    }

    /// An item's intercept (on the scale where `v₀ = 1`), its standard error and its group.
    pub fn item(mut self, id: &str, intercept: f64, standard_error: f64, group: &str) -> ModelBuilder {
        self.model.segments[0].items.insert(
            id.to_owned(),
            ItemUtility {
                intercept,
                standard_error,
                group: group.to_owned(),
            },
        );
        self
    }

    /// Where the parameters came from, in words (the provenance's `source`).
    pub fn source(mut self, source: &str) -> ModelBuilder {
        self.model.provenance.source = source.to_owned();
        self
    }

    /// The model.
    pub fn build(self) -> ChoiceModel {
        self.model
    }
}

/// An item's intercept, on the scale where `v₀ = 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemUtility {
    /// `α_j`.
    pub intercept: f64,
    /// Its standard error within its group (the normalising shift is treated as fixed).
    pub standard_error: f64,
    /// The product group it was fitted in.
    pub group: String,
}

/// One product group's input to [`Segment::from_fit`].
pub struct GroupData<'a> {
    /// Group name (a product subclass, a category).
    pub name: String,
    /// Item ids, indexed like the observations' `item`.
    pub item_ids: &'a [String],
    /// The group's choice sets.
    pub observations: &'a [Observation],
}

/// Why a model cannot answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The segment asked for does not exist.
    #[error("model `{model}` has no segment `{segment}`; its segments are: {available}")]
    UnknownSegment {
        /// Model id.
        model: String,
        /// Segment asked for.
        segment: String,
        /// Segments it has.
        available: String,
    },
    /// The model has no segments at all.
    #[error("model `{0}` holds no fitted segment; fit it again with data that has purchases")]
    Empty(String),
}

impl ChoiceModel {
    /// A model written by hand: `id`, no purchase share 0.5, one segment of every customer with
    /// no items yet and `β = 0` ([`ModelBuilder`] sets the rest).
    pub fn builder(id: &str) -> ModelBuilder {
        ModelBuilder {
            model: ChoiceModel {
                id: id.to_owned(),
                catalog_id: None,
                created_at_unix_ms: 0,
                no_purchase_share: 0.5,
                provenance: Provenance {
                    source: "written by hand".into(),
                    data_sha256: String::new(),
                    data_bytes: 0,
                    lines: 0,
                    skipped: BTreeMap::new(),
                    choice_sets: "none: parameters written by hand".into(),
                    segment_by: None,
                    method: "none".into(),
                    outside_option: "v0 = 1".into(),
                    fit_ms: 0.0,
                    notes: Vec::new(),
                },
                segments: vec![Segment {
                    name: ALL_CUSTOMERS.into(),
                    price_coefficient: 0.0,
                    price_standard_error: 0.0,
                    log_likelihood: 0.0,
                    null_log_likelihood: 0.0,
                    iterations: 0,
                    converged: true,
                    choices_used: 0.0,
                    groups: 1,
                    unidentified_items: 0,
                    items: BTreeMap::new(),
                }],
            },
        }
    }

    /// The named segment, or the first one (every customer) when `name` is `None` or empty.
    pub fn segment(&self, name: Option<&str>) -> Result<&Segment, ModelError> {
        let wanted = name.filter(|n| !n.is_empty());
        let found = match wanted {
            None => self.segments.first(),
            Some(wanted) => self.segments.iter().find(|s| s.name == wanted),
        };
        found.ok_or_else(|| match wanted {
            None => ModelError::Empty(self.id.clone()),
            Some(wanted) => ModelError::UnknownSegment {
                model: self.id.clone(),
                segment: wanted.to_owned(),
                available: self
                    .segments
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        })
    }
}

impl Segment {
    /// Builds a segment from a shared-price fit over `groups` (in the fit's order), moving each
    /// group's intercepts onto the outside option's scale as the module docs describe.
    pub fn from_fit(
        name: &str,
        fit: &SharedPriceFit,
        groups: &[GroupData<'_>],
        no_purchase_share: f64,
    ) -> Result<Segment, FitError> {
        let beta = fit.price_coefficient;
        let mut items = BTreeMap::new();
        let mut unidentified = 0u64;
        let mut choices_used = 0.0;
        for (group, fitted) in groups.iter().zip(&fit.groups) {
            unidentified += fitted.unidentified_items.len() as u64;
            choices_used += fitted.observations_used;
            let mean_prices = mean_prices(group.item_ids.len(), group.observations);
            let weights: Vec<f64> = fitted
                .intercepts
                .iter()
                .zip(&mean_prices)
                .filter_map(|(alpha, price)| Some((alpha.as_ref()? + beta * price.as_ref()?).exp()))
                .collect();
            if weights.is_empty() {
                continue;
            }
            let shift = no_purchase_weight(&weights, no_purchase_share)?.ln();
            for (j, (alpha, error)) in fitted
                .intercepts
                .iter()
                .zip(&fitted.intercept_standard_errors)
                .enumerate()
            {
                if let (Some(alpha), Some(error)) = (alpha, error) {
                    items.insert(
                        group.item_ids[j].clone(),
                        ItemUtility {
                            intercept: alpha - shift,
                            standard_error: *error,
                            group: group.name.clone(),
                        },
                    );
                }
            }
        }
        Ok(Segment {
            name: name.to_owned(),
            price_coefficient: beta,
            price_standard_error: fit.price_standard_error,
            log_likelihood: fit.log_likelihood,
            null_log_likelihood: fit.null_log_likelihood,
            iterations: fit.iterations,
            converged: fit.converged,
            choices_used,
            groups: groups.len() as u64,
            unidentified_items: unidentified,
            items,
        })
    }

    /// The MNL weight of an item at a price (`None` when the model has no estimate for it).
    pub fn weight(&self, item_id: &str, price: f64) -> Option<f64> {
        self.items
            .get(item_id)
            .map(|utility| (utility.intercept + self.price_coefficient * price).exp())
    }
}

/// Mean price of each item over the choice sets it appears in (`None` if it never appears).
fn mean_prices(item_count: usize, observations: &[Observation]) -> Vec<Option<f64>> {
    let mut sums = vec![(0.0, 0u64); item_count];
    for alternative in observations.iter().flat_map(|o| &o.alternatives) {
        let entry = &mut sums[alternative.item as usize];
        entry.0 += alternative.price;
        entry.1 += 1;
    }
    sums.into_iter()
        .map(|(sum, count)| (count > 0).then(|| sum / count as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimation::{Alternative, FitOptions, fit_shared_price};

    fn set(prices: &[(u32, f64)], chosen: usize, count: f64) -> Observation {
        let mut observation = Observation::single(
            prices
                .iter()
                .map(|&(item, price)| Alternative { item, price })
                .collect(),
            chosen,
        );
        observation.chosen_counts[chosen] = count;
        observation
    }

    /// Two groups with different purchase volumes: after normalisation each group, at its mean
    /// prices, leaves the stated share to the outside option.
    #[test]
    fn every_group_leaves_the_stated_share_to_the_outside_option() {
        let first = [
            set(&[(0, 2.0), (1, 3.0)], 0, 30.0),
            set(&[(0, 2.0), (1, 3.0)], 1, 10.0),
            set(&[(0, 4.0), (1, 3.0)], 1, 20.0),
            set(&[(0, 4.0), (1, 3.0)], 0, 12.0),
        ];
        let second = [
            set(&[(0, 10.0), (1, 12.0), (2, 9.0)], 2, 5.0),
            set(&[(0, 10.0), (1, 12.0), (2, 9.0)], 0, 3.0),
            set(&[(0, 11.0), (1, 12.0), (2, 9.0)], 1, 2.0),
            set(&[(0, 11.0), (1, 12.0), (2, 9.0)], 2, 4.0),
        ];
        let fit = fit_shared_price(&[(2, &first[..]), (3, &second[..])], &FitOptions::default()).unwrap();
        let ids_a = ["a0".to_owned(), "a1".to_owned()];
        let ids_b = ["b0".to_owned(), "b1".to_owned(), "b2".to_owned()];
        let groups = [
            GroupData {
                name: "A".into(),
                item_ids: &ids_a,
                observations: &first,
            },
            GroupData {
                name: "B".into(),
                item_ids: &ids_b,
                observations: &second,
            },
        ];
        for share in [0.1, 0.5, 0.9] {
            let segment = Segment::from_fit(ALL_CUSTOMERS, &fit, &groups, share).unwrap();
            assert_eq!(segment.items.len(), 5);
            for (ids, observations) in [(&ids_a[..], &first[..]), (&ids_b[..], &second[..])] {
                let means = mean_prices(ids.len(), observations);
                let total: f64 = ids
                    .iter()
                    .zip(&means)
                    .map(|(id, price)| segment.weight(id, price.unwrap()).unwrap())
                    .sum();
                let outside = NO_PURCHASE_WEIGHT / (NO_PURCHASE_WEIGHT + total);
                assert!((outside - share).abs() < 1e-12, "share {share}: outside {outside}");
            }
            // Within a group the intercept differences are the fitted ones.
            let fitted = &fit.groups[1].intercepts;
            let difference = segment.items["b2"].intercept - segment.items["b0"].intercept;
            assert!((difference - (fitted[2].unwrap() - fitted[0].unwrap())).abs() < 1e-12);
        }
    }

    #[test]
    fn segments_are_found_by_name_or_explained() {
        let segment = |name: &str| Segment {
            name: name.into(),
            price_coefficient: -1.0,
            price_standard_error: 0.1,
            log_likelihood: -1.0,
            null_log_likelihood: -2.0,
            iterations: 3,
            converged: true,
            choices_used: 10.0,
            groups: 1,
            unidentified_items: 0,
            items: BTreeMap::new(),
        };
        let mut model = ChoiceModel {
            id: "m".into(),
            catalog_id: None,
            created_at_unix_ms: 0,
            no_purchase_share: 0.5,
            provenance: Provenance {
                source: "transactions-csv".into(),
                data_sha256: String::new(),
                data_bytes: 0,
                lines: 0,
                skipped: BTreeMap::new(),
                choice_sets: String::new(),
                segment_by: Some("age".into()),
                method: String::new(),
                outside_option: String::new(),
                fit_ms: 0.0,
                notes: Vec::new(),
            },
            segments: vec![segment("all"), segment("25-29")],
        };
        assert_eq!(model.segment(None).unwrap().name, "all");
        assert_eq!(model.segment(Some("")).unwrap().name, "all");
        assert_eq!(model.segment(Some("25-29")).unwrap().name, "25-29");
        let error = model.segment(Some("90+")).unwrap_err().to_string();
        assert!(
            error.contains("no segment `90+`") && error.contains("all, 25-29"),
            "{error}"
        );
        model.segments.clear();
        assert!(
            model
                .segment(None)
                .unwrap_err()
                .to_string()
                .contains("no fitted segment")
        );
    }
}
