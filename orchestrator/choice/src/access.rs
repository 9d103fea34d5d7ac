//! The optimizer over a catalog it reaches only through a selection: [`recommend_via`] asks a
//! [`CatalogAccess`] for the rows the shopper's price range and filters admit (with their
//! weights and cap groups), solves on those alone, and fetches ids and titles for the items it
//! picked. The `assortment` tool runs it over the host's `catalog` capability, so a call copies
//! a few arrays instead of the catalog; [`Local`] runs it over [`CatalogColumns`] in process,
//! which is how the tests hold it to [`recommend`](crate::recommend::recommend)'s answers.

use crate::assortment::{AssortmentProblem, Capacity, GroupCaps, optimize};
pub use crate::columns::RowItem;
use crate::columns::{CatalogColumns, Columns, ColumnsRequest, Weights, WeightsRequest};
use crate::model::{ChoiceModel, NO_PURCHASE_WEIGHT};
use crate::recommend::{
    CertificateReport, Constraints, DEFAULT_CAPACITY, RecommendError, Recommendation, RecommendedItem,
};

/// Most rows or ids [`recommend_via`] sends in one `rows` or `positions` request (the host's
/// limit per call); longer lists go in parts.
pub const ACCESS_CHUNK: usize = 10_000;

/// How [`recommend_via`] reaches a catalog.
pub trait CatalogAccess {
    /// What a failed access returns; a bad constraint becomes one too.
    type Error: From<RecommendError>;
    /// The rows a selection admits and the columns asked for.
    fn columns(&self, request: &ColumnsRequest) -> Result<Columns, Self::Error>;
    /// Items by row, with their weights when `weights` is given.
    fn rows(&self, rows: &[u32], weights: Option<&WeightsRequest>) -> Result<Vec<RowItem>, Self::Error>;
    /// The rows of item ids (`None` for an id the catalog lacks).
    fn positions(&self, ids: &[String]) -> Result<Vec<Option<u32>>, Self::Error>;
}

/// The revenue-maximizing assortment under `constraints`, as
/// [`recommend`](crate::recommend::recommend) computes it over the whole catalog.
pub fn recommend_via<A: CatalogAccess>(
    access: &A,
    model_id: &str,
    segment: Option<&str>,
    constraints: &Constraints,
) -> Result<Recommendation, A::Error> {
    let weights = WeightsRequest {
        model_id: model_id.to_owned(),
        segment: segment.map(str::to_owned),
    };
    let columns = access.columns(&ColumnsRequest {
        selection: Constraints {
            lowest_price: constraints.lowest_price,
            highest_price: constraints.highest_price,
            filters: constraints.filters.clone(),
            ..Constraints::default()
        },
        weights: Some(weights.clone()),
        cap: constraints.max_per_value.clone(),
        ..ColumnsRequest::default()
    })?;
    let rows = &columns.rows;
    let eligible: Vec<bool> = columns.weights.iter().map(|w| !w.is_nan()).collect();
    // The optimizer needs a positive weight for every item; an unestimated one is never eligible.
    let optimizer_weights: Vec<f64> = columns
        .weights
        .iter()
        .map(|&w| if w > 0.0 && w.is_finite() { w } else { f64::MIN_POSITIVE })
        .collect();
    let listed: Vec<String> = constraints
        .exclude
        .iter()
        .chain(&constraints.must_include)
        .cloned()
        .collect();
    let mut positions = Vec::with_capacity(listed.len());
    for part in listed.chunks(ACCESS_CHUNK) {
        positions.extend(access.positions(part)?);
    }
    let mut excluded = Vec::new();
    let mut required = Vec::new();
    let mut listed_rows = Vec::with_capacity(listed.len());
    for (id, position) in listed.iter().zip(&positions) {
        let row = position
            .ok_or_else(|| RecommendError::InvalidConstraint(format!("there is no item `{id}` in the catalog")))?;
        listed_rows.push(row);
    }
    let (excluded_rows, required_rows) = listed_rows.split_at(constraints.exclude.len());
    excluded.extend(excluded_rows.iter().filter_map(|row| rows.binary_search(row).ok()));
    for (id, &row) in constraints.must_include.iter().zip(required_rows) {
        let local = rows.binary_search(&row).ok();
        if let Some(local) = local.filter(|&local| eligible[local]) {
            required.push(local);
            continue;
        }
        let has_estimate = match local {
            Some(_) => false,
            None => access
                .rows(&[row], Some(&weights))?
                .first()
                .is_some_and(|item| item.weight.is_some()),
        };
        return Err(RecommendError::InvalidConstraint(format!(
            "item `{id}` must be included but {}",
            if has_estimate {
                "it fails the other constraints"
            } else {
                "the model has no estimate for it"
            }
        ))
        .into());
    }
    let capacity = match (constraints.capacity.unwrap_or(DEFAULT_CAPACITY), constraints.exactly) {
        (0, _) => {
            return Err(RecommendError::InvalidConstraint(
                "capacity must be at least 1 (how many items to show)".to_owned(),
            )
            .into());
        }
        (count, false) => Capacity::AtMost(count),
        (count, true) => Capacity::Exactly(count),
    };
    if let Some(refused) = &columns.cap_refused {
        return Err(RecommendError::InvalidConstraint(
            refused
                .strip_prefix("invalid constraint: ")
                .unwrap_or(refused)
                .to_owned(),
        )
        .into());
    }
    let caps: Vec<usize> = constraints.max_per_value.as_ref().map_or_else(Vec::new, |cap| {
        std::iter::once((columns.catalog_items as usize).max(1))
            .chain(std::iter::repeat_n(
                cap.max,
                columns.group_count.saturating_sub(1) as usize,
            ))
            .collect()
    });
    let mut is_excluded = vec![false; rows.len()];
    for &local in &excluded {
        is_excluded[local] = true;
    }
    let eligible_items = eligible
        .iter()
        .zip(&is_excluded)
        .filter(|(eligible, excluded)| **eligible && !**excluded)
        .count();
    let problem = AssortmentProblem {
        prices: &columns.prices,
        weights: &optimizer_weights,
        no_purchase_weight: NO_PURCHASE_WEIGHT,
        capacity,
        groups: constraints.max_per_value.as_ref().map(|_| GroupCaps {
            group_of: &columns.groups,
            caps: &caps,
        }),
        eligible: Some(&eligible),
        must_include: &required,
        exclude: &excluded,
    };
    let assortment = optimize(&problem).map_err(RecommendError::from)?;
    let chosen: Vec<u32> = assortment.items.iter().map(|selected| rows[selected.index]).collect();
    let mut fetched = Vec::with_capacity(chosen.len());
    for part in chosen.chunks(ACCESS_CHUNK) {
        fetched.extend(access.rows(part, None)?);
    }
    let empty_reason = assortment
        .empty_reason
        .as_ref()
        .map(|reason| columns.empty_reason.clone().unwrap_or(reason.clone()));
    Ok(Recommendation {
        items: assortment
            .items
            .iter()
            .zip(fetched)
            .map(|(selected, item)| RecommendedItem {
                id: item.id,
                title: item.title,
                price: item.price,
                probability: selected.probability,
            })
            .collect(),
        expected_revenue: assortment.expected_revenue,
        no_purchase_probability: assortment.no_purchase_probability,
        certificate: CertificateReport::from(&assortment.certificate),
        iterations: assortment.iterations,
        empty_reason,
        segment: columns.segment.unwrap_or_default(),
        catalog_items: columns.catalog_items as usize,
        eligible_items,
        without_estimate: columns.without_estimate as usize,
    })
}

/// [`CatalogAccess`] over columns and a model in this process (the host's answers, without
/// the host).
pub struct Local<'a> {
    /// The catalog.
    pub catalog: &'a CatalogColumns,
    /// The model every weights request names.
    pub model: &'a ChoiceModel,
}

impl Local<'_> {
    fn weights(&self, request: &WeightsRequest) -> Result<Weights, RecommendError> {
        if request.model_id != self.model.id {
            return Err(RecommendError::InvalidConstraint(format!(
                "there is no model `{}`",
                request.model_id
            )));
        }
        Ok(Weights::new(self.catalog, self.model, request.segment.as_deref())?)
    }
}

impl CatalogAccess for Local<'_> {
    type Error = RecommendError;

    fn columns(&self, request: &ColumnsRequest) -> Result<Columns, RecommendError> {
        let weights = request.weights.as_ref().map(|w| self.weights(w)).transpose()?;
        self.catalog.columns(request, weights.as_ref())
    }

    fn rows(&self, rows: &[u32], weights: Option<&WeightsRequest>) -> Result<Vec<RowItem>, RecommendError> {
        let weights = weights.map(|w| self.weights(w)).transpose()?;
        Ok(self.catalog.rows(rows, weights.as_ref()))
    }

    fn positions(&self, ids: &[String]) -> Result<Vec<Option<u32>>, RecommendError> {
        Ok(ids.iter().map(|id| self.catalog.position(id)).collect())
    }
}

/// Counts the items a selection (price range, filters, exclusions) admits: what relaxing a
/// shopper's constraints asks again and again, answered over items, over columns, or by the
/// host without copying anything.
pub trait CountAdmitted {
    /// What a failed count returns.
    type Error;
    /// Items the selection admits.
    fn count_admitted(&self, selection: &Constraints) -> Result<usize, Self::Error>;
}

impl CountAdmitted for [crate::item::Item] {
    type Error = std::convert::Infallible;

    fn count_admitted(&self, selection: &Constraints) -> Result<usize, Self::Error> {
        Ok(selection.admitted_count(self))
    }
}

impl CountAdmitted for CatalogColumns {
    type Error = std::convert::Infallible;

    fn count_admitted(&self, selection: &Constraints) -> Result<usize, Self::Error> {
        Ok(self.count(selection))
    }
}

#[cfg(test)]
mod tests;
