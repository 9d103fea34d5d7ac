//! Read access to catalogs and fitted choice models (capability `catalog`).
//!
//! Two ways in. Documents as JSON ([`describe`], [`items`], [`choice_model`]): simple, and every
//! call re-reads and re-parses. Columns ([`columns`], [`count`], [`rows`], [`positions`], WIT
//! 0.1.1): the host keeps each catalog decoded per version and answers a selection over it, so
//! a tool copies only the rows and columns it asked for; [`HostCatalog`] puts them behind
//! `interarec-choice`'s [`CatalogAccess`] (for [`recommend_via`](interarec_choice::access::recommend_via))
//! and [`CountAdmitted`] (for counting what constraints admit).
//!
//! Natively (a tool's own `cargo test`) every function answers from what the test served with
//! [`testing::serve_catalog`] and [`testing::serve_model`], through the same columnar code the
//! host runs.

use crate::{HostError, ToolError};
use interarec_choice::access::{CatalogAccess, CountAdmitted, RowItem};
use interarec_choice::columns::{Columns, ColumnsRequest, WeightsRequest};
use interarec_choice::recommend::{Constraints, RecommendError};
use serde_json::Value;

#[cfg(target_family = "wasm")]
use crate::bindings::interarec::tool::catalog as wit;

#[cfg(not(target_family = "wasm"))]
use testing as wit;

fn parse(text: String) -> Result<Value, HostError> {
    serde_json::from_str(&text).map_err(|error| HostError::Failed(format!("host sent invalid JSON: {error}")))
}

fn parse_as<T: serde::de::DeserializeOwned>(text: String) -> Result<T, HostError> {
    serde_json::from_str(&text).map_err(|error| HostError::Failed(format!("host sent unexpected JSON: {error}")))
}

/// The catalog's summary and attribute schema.
pub fn describe(catalog_id: &str) -> Result<Value, HostError> {
    parse(wit::describe(catalog_id).map_err(HostError::from)?)
}

/// A page of items.
pub fn items(catalog_id: &str, offset: u32, limit: u32) -> Result<Value, HostError> {
    parse(wit::items(catalog_id, offset, limit).map_err(HostError::from)?)
}

/// A fitted choice model.
pub fn choice_model(model_id: &str) -> Result<Value, HostError> {
    parse(wit::choice_model(model_id).map_err(HostError::from)?)
}

/// A page of items decoded straight into `T` (e.g. `Vec<interarec_choice::item::Item>`),
/// without an intermediate `Value`.
pub fn items_as<T: serde::de::DeserializeOwned>(catalog_id: &str, offset: u32, limit: u32) -> Result<T, HostError> {
    parse_as(wit::items(catalog_id, offset, limit).map_err(HostError::from)?)
}

/// Every item of the catalog, read page by page (1,000 per call, the host's largest page).
/// Costly on large catalogs: prefer [`columns`].
pub fn all_items_as<T: serde::de::DeserializeOwned>(catalog_id: &str) -> Result<Vec<T>, HostError> {
    const PAGE: u32 = 1_000;
    let mut items: Vec<T> = Vec::new();
    loop {
        let page: Vec<T> = items_as(catalog_id, items.len() as u32, PAGE)?;
        let full = page.len() as u32 == PAGE;
        items.extend(page);
        if !full {
            return Ok(items);
        }
    }
}

/// A fitted choice model decoded straight into `T` (e.g. `interarec_choice::model::ChoiceModel`).
pub fn choice_model_as<T: serde::de::DeserializeOwned>(model_id: &str) -> Result<T, HostError> {
    parse_as(wit::choice_model(model_id).map_err(HostError::from)?)
}

/// The rows a selection (price range, filters, exclusions of `request.selection`) admits, with
/// their prices, the weights, cap groups and attribute columns asked for.
pub fn columns(catalog_id: &str, request: &ColumnsRequest) -> Result<Columns, HostError> {
    convert::columns(catalog_id, request)
}

/// How many items a selection admits (price range, filters, exclusions); nothing is copied.
pub fn count(catalog_id: &str, selection: &Constraints) -> Result<usize, HostError> {
    convert::count(catalog_id, selection)
}

/// Items by row (at most 10,000), with their weights when `weights` names a model.
pub fn rows(catalog_id: &str, rows: &[u32], weights: Option<&WeightsRequest>) -> Result<Vec<RowItem>, HostError> {
    convert::rows(catalog_id, rows, weights)
}

/// The rows of item ids (at most 10,000), `None` for ids the catalog lacks.
pub fn positions(catalog_id: &str, ids: &[String]) -> Result<Vec<Option<u32>>, HostError> {
    convert::positions(catalog_id, ids)
}

/// A catalog reached through the host's columns. Errors are the tool's: what the host calls
/// invalid (an unknown catalog, model or attribute; bounds that cannot hold) is the caller's
/// mistake ([`ToolError::InvalidArguments`]).
#[derive(Debug, Clone, Copy)]
pub struct HostCatalog<'a> {
    /// The catalog's id.
    pub catalog_id: &'a str,
}

impl CatalogAccess for HostCatalog<'_> {
    type Error = ToolError;

    fn columns(&self, request: &ColumnsRequest) -> Result<Columns, ToolError> {
        columns(self.catalog_id, request).map_err(HostError::named_by_caller)
    }

    fn rows(&self, wanted: &[u32], weights: Option<&WeightsRequest>) -> Result<Vec<RowItem>, ToolError> {
        rows(self.catalog_id, wanted, weights).map_err(HostError::named_by_caller)
    }

    fn positions(&self, ids: &[String]) -> Result<Vec<Option<u32>>, ToolError> {
        positions(self.catalog_id, ids).map_err(HostError::named_by_caller)
    }
}

impl CountAdmitted for HostCatalog<'_> {
    type Error = ToolError;

    fn count_admitted(&self, selection: &Constraints) -> Result<usize, ToolError> {
        count(self.catalog_id, selection).map_err(HostError::named_by_caller)
    }
}

impl From<RecommendError> for ToolError {
    fn from(error: RecommendError) -> Self {
        match error {
            RecommendError::InvalidConstraint(_) | RecommendError::Model(_) => {
                ToolError::InvalidArguments(error.to_string())
            }
            RecommendError::Optimize(_) => ToolError::Failed(error.to_string()),
        }
    }
}

/// Between `interarec-choice`'s types and the WIT records.
#[cfg(target_family = "wasm")]
mod convert {
    use super::wit;
    use crate::HostError;
    use interarec_choice::access::RowItem;
    use interarec_choice::columns::{CategoryColumn, Columns, ColumnsRequest, NumberColumn, WeightsRequest};
    use interarec_choice::recommend::Constraints;

    fn plain(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }

    fn selection(selection: &Constraints) -> wit::Selection {
        wit::Selection {
            lowest_price: selection.lowest_price,
            highest_price: selection.highest_price,
            filters: selection
                .filters
                .iter()
                .map(|filter| wit::AttributeFilter {
                    attribute: filter.attribute.clone(),
                    equals: filter.equals.as_ref().map(plain),
                    one_of: filter.one_of.clone(),
                    none_of: filter.none_of.clone(),
                    min: filter.min,
                    max: filter.max,
                })
                .collect(),
            exclude: selection.exclude.clone(),
        }
    }

    fn weights(request: &WeightsRequest) -> wit::WeightsRequest {
        wit::WeightsRequest {
            model_id: request.model_id.clone(),
            segment: request.segment.clone(),
        }
    }

    pub fn columns(catalog_id: &str, request: &ColumnsRequest) -> Result<Columns, HostError> {
        let request = wit::ColumnsRequest {
            selection: selection(&request.selection),
            weights: request.weights.as_ref().map(weights),
            cap: request.cap.as_ref().map(|cap| wit::ValueCap {
                attribute: cap.attribute.clone(),
                max: u32::try_from(cap.max).unwrap_or(u32::MAX),
            }),
            numbers: request.numbers.clone(),
            categories: request.categories.clone(),
        };
        let answer = wit::columns(catalog_id, &request)?;
        Ok(Columns {
            catalog_items: answer.catalog_items,
            rows: answer.rows,
            prices: answer.prices,
            weights: answer.weights,
            segment: answer.segment,
            without_estimate: answer.without_estimate,
            empty_reason: answer.empty_reason,
            groups: answer.groups,
            group_count: answer.group_count,
            cap_refused: answer.cap_refused,
            numbers: answer
                .numbers
                .into_iter()
                .map(|column| NumberColumn {
                    attribute: column.attribute,
                    values: column.values,
                })
                .collect(),
            categories: answer
                .categories
                .into_iter()
                .map(|column| CategoryColumn {
                    attribute: column.attribute,
                    vocabulary: column.vocabulary,
                    starts: column.starts,
                    codes: column.codes,
                })
                .collect(),
        })
    }

    pub fn count(catalog_id: &str, wanted: &Constraints) -> Result<usize, HostError> {
        Ok(wit::count(catalog_id, &selection(wanted))? as usize)
    }

    pub fn rows(catalog_id: &str, rows: &[u32], request: Option<&WeightsRequest>) -> Result<Vec<RowItem>, HostError> {
        let request = request.map(weights);
        Ok(wit::rows(catalog_id, rows, request.as_ref())?
            .into_iter()
            .map(|item| RowItem {
                row: item.row,
                id: item.id,
                title: item.title,
                price: item.price,
                image: item.image,
                weight: item.weight,
            })
            .collect())
    }

    pub fn positions(catalog_id: &str, ids: &[String]) -> Result<Vec<Option<u32>>, HostError> {
        Ok(wit::positions(catalog_id, ids)?)
    }
}

#[cfg(not(target_family = "wasm"))]
use testing as convert;

/// The native stand-in: catalogs and models a test serves, answered by the host's own columnar
/// code. One set per test thread.
#[cfg(not(target_family = "wasm"))]
pub mod testing {
    use crate::HostError;
    use crate::bindings::interarec::tool::types::HostError as WitError;
    use interarec_choice::access::RowItem;
    use interarec_choice::columns::{CatalogColumns, Columns, ColumnsRequest, Weights, WeightsRequest};
    use interarec_choice::item::Item;
    use interarec_choice::model::ChoiceModel;
    use interarec_choice::recommend::Constraints;
    use serde_json::Value;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    struct Served {
        description: Value,
        items: Vec<Item>,
        columns: CatalogColumns,
    }

    thread_local! {
        static CATALOGS: RefCell<HashMap<String, Rc<Served>>> = RefCell::new(HashMap::new());
        static MODELS: RefCell<HashMap<String, Rc<ChoiceModel>>> = RefCell::new(HashMap::new());
    }

    /// Serves a catalog to this thread's calls: its description (the catalog record the host's
    /// `describe` returns: `item_count`, `price_min`, `price_max`, `attributes`, …) and items.
    pub fn serve_catalog(catalog_id: &str, description: Value, items: Vec<Item>) {
        let columns = CatalogColumns::from_items(&items);
        let served = Rc::new(Served {
            description,
            items,
            columns,
        });
        CATALOGS.with(|catalogs| catalogs.borrow_mut().insert(catalog_id.to_owned(), served));
    }

    /// Serves a fitted model to this thread's calls.
    pub fn serve_model(model: ChoiceModel) {
        MODELS.with(|models| models.borrow_mut().insert(model.id.clone(), Rc::new(model)));
    }

    fn catalog(catalog_id: &str) -> Result<Rc<Served>, HostError> {
        CATALOGS
            .with(|catalogs| catalogs.borrow().get(catalog_id).cloned())
            .ok_or_else(|| {
                HostError::Invalid(format!(
                    "there is no catalog `{catalog_id}` (serve it with catalog::testing::serve_catalog)"
                ))
            })
    }

    fn model(model_id: &str) -> Result<Rc<ChoiceModel>, HostError> {
        MODELS
            .with(|models| models.borrow().get(model_id).cloned())
            .ok_or_else(|| {
                HostError::Invalid(format!(
                    "there is no choice model `{model_id}` (serve it with catalog::testing::serve_model)"
                ))
            })
    }

    fn weights(served: &Served, request: &WeightsRequest) -> Result<Weights, HostError> {
        let model = model(&request.model_id)?;
        Weights::new(&served.columns, &model, request.segment.as_deref()).map_err(|e| HostError::Invalid(e.to_string()))
    }

    fn wit_error(error: HostError) -> WitError {
        match error {
            HostError::Denied(message) => WitError::Denied(message),
            HostError::NotAvailable(message) => WitError::NotAvailable(message),
            HostError::Invalid(message) => WitError::Invalid(message),
            HostError::Failed(message) => WitError::Failed(message),
        }
    }

    fn json<T: serde::Serialize>(value: &T) -> Result<String, WitError> {
        serde_json::to_string(value).map_err(|e| WitError::Failed(e.to_string()))
    }

    pub(super) fn describe(catalog_id: &str) -> Result<String, WitError> {
        json(&catalog(catalog_id).map_err(wit_error)?.description)
    }

    pub(super) fn items(catalog_id: &str, offset: u32, limit: u32) -> Result<String, WitError> {
        let served = catalog(catalog_id).map_err(wit_error)?;
        let page: Vec<&Item> = served
            .items
            .iter()
            .skip(offset as usize)
            .take(limit.min(1_000) as usize)
            .collect();
        json(&page)
    }

    pub(super) fn choice_model(model_id: &str) -> Result<String, WitError> {
        json(&*model(model_id).map_err(wit_error)?)
    }

    pub(super) fn columns(catalog_id: &str, request: &ColumnsRequest) -> Result<Columns, HostError> {
        let served = catalog(catalog_id)?;
        let weights = request.weights.as_ref().map(|w| weights(&served, w)).transpose()?;
        served
            .columns
            .columns(request, weights.as_ref())
            .map_err(|e| HostError::Invalid(e.to_string()))
    }

    pub(super) fn count(catalog_id: &str, selection: &Constraints) -> Result<usize, HostError> {
        Ok(catalog(catalog_id)?.columns.count(selection))
    }

    pub(super) fn rows(
        catalog_id: &str,
        rows: &[u32],
        request: Option<&WeightsRequest>,
    ) -> Result<Vec<RowItem>, HostError> {
        let served = catalog(catalog_id)?;
        let weights = request.map(|w| weights(&served, w)).transpose()?;
        Ok(served.columns.rows(rows, weights.as_ref()))
    }

    pub(super) fn positions(catalog_id: &str, ids: &[String]) -> Result<Vec<Option<u32>>, HostError> {
        let served = catalog(catalog_id)?;
        Ok(ids.iter().map(|id| served.columns.position(id)).collect())
    }
}
