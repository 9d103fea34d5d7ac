//! The `catalog` capability: JSON documents (0.1.0) and columns (0.1.1). Columnar requests are
//! converted to `interarec-choice`'s types, answered by the server's backend over its decoded
//! catalogs, and converted back; lists a tool sends are bounded before anything is done.

use crate::bindings::HostError;
use crate::bindings::interarec::tool::catalog;
use crate::services::{CatalogFailure, ColumnsRequest, Constraints, MAX_LISTED_ROWS, WeightsRequest};
use crate::state::CallState;
use interarec_choice::recommend::{AttributeFilter, ValueCap};

fn unknown_catalog(catalog_id: &str) -> HostError {
    HostError::Invalid(format!(
        "there is no catalog `{catalog_id}`; the server's catalogs are listed by `interarec catalog list`"
    ))
}

fn failure(failure: CatalogFailure) -> HostError {
    match failure {
        CatalogFailure::Invalid(message) => HostError::Invalid(message),
        CatalogFailure::Failed(message) => HostError::Failed(message),
    }
}

fn bounded(what: &str, length: usize) -> Result<(), HostError> {
    if length > MAX_LISTED_ROWS {
        return Err(HostError::Invalid(format!(
            "{what} lists {length} entries, over the limit of {MAX_LISTED_ROWS}; ask in parts or select with filters"
        )));
    }
    Ok(())
}

fn selection(selection: catalog::Selection) -> Result<Constraints, HostError> {
    bounded("the selection's exclude", selection.exclude.len())?;
    Ok(Constraints {
        lowest_price: selection.lowest_price,
        highest_price: selection.highest_price,
        filters: selection
            .filters
            .into_iter()
            .map(|filter| AttributeFilter {
                attribute: filter.attribute,
                equals: filter.equals.map(serde_json::Value::String),
                one_of: filter.one_of,
                none_of: filter.none_of,
                min: filter.min,
                max: filter.max,
            })
            .collect(),
        exclude: selection.exclude,
        ..Constraints::default()
    })
}

fn weights(request: catalog::WeightsRequest) -> WeightsRequest {
    WeightsRequest {
        model_id: request.model_id,
        segment: request.segment,
    }
}

impl catalog::Host for CallState {
    async fn describe(&mut self, catalog_id: String) -> Result<String, HostError> {
        let backend = self.catalog_backend()?;
        backend
            .describe(&catalog_id)
            .map_err(HostError::Failed)?
            .ok_or_else(|| unknown_catalog(&catalog_id))
    }

    async fn items(&mut self, catalog_id: String, offset: u32, limit: u32) -> Result<String, HostError> {
        let backend = self.catalog_backend()?;
        let limit = limit.min(crate::services::MAX_CATALOG_PAGE);
        backend
            .items(&catalog_id, offset, limit)
            .map_err(HostError::Failed)?
            .ok_or_else(|| unknown_catalog(&catalog_id))
    }

    async fn choice_model(&mut self, model_id: String) -> Result<String, HostError> {
        let backend = self.catalog_backend()?;
        backend
            .choice_model(&model_id)
            .map_err(HostError::Failed)?
            .ok_or_else(|| {
                HostError::Invalid(format!(
                    "there is no choice model `{model_id}`; the server's models are listed by `interarec model list`"
                ))
            })
    }

    async fn columns(
        &mut self,
        catalog_id: String,
        request: catalog::ColumnsRequest,
    ) -> Result<catalog::SelectedColumns, HostError> {
        let backend = self.catalog_backend()?;
        let request = ColumnsRequest {
            selection: selection(request.selection)?,
            weights: request.weights.map(weights),
            cap: request.cap.map(|cap| ValueCap {
                attribute: cap.attribute,
                max: cap.max as usize,
            }),
            numbers: request.numbers,
            categories: request.categories,
        };
        let answer = backend
            .columns(&catalog_id, &request)
            .map_err(failure)?
            .ok_or_else(|| unknown_catalog(&catalog_id))?;
        Ok(catalog::SelectedColumns {
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
                .map(|column| catalog::NumberColumn {
                    attribute: column.attribute,
                    values: column.values,
                })
                .collect(),
            categories: answer
                .categories
                .into_iter()
                .map(|column| catalog::CategoryColumn {
                    attribute: column.attribute,
                    vocabulary: column.vocabulary,
                    starts: column.starts,
                    codes: column.codes,
                })
                .collect(),
        })
    }

    async fn count(&mut self, catalog_id: String, request: catalog::Selection) -> Result<u32, HostError> {
        let backend = self.catalog_backend()?;
        let selection = selection(request)?;
        let count = backend
            .count(&catalog_id, &selection)
            .map_err(failure)?
            .ok_or_else(|| unknown_catalog(&catalog_id))?;
        Ok(count as u32)
    }

    async fn rows(
        &mut self,
        catalog_id: String,
        rows: Vec<u32>,
        request: Option<catalog::WeightsRequest>,
    ) -> Result<Vec<catalog::RowItem>, HostError> {
        let backend = self.catalog_backend()?;
        bounded("rows", rows.len())?;
        let request = request.map(weights);
        let items = backend
            .rows(&catalog_id, &rows, request.as_ref())
            .map_err(failure)?
            .ok_or_else(|| unknown_catalog(&catalog_id))?;
        Ok(items
            .into_iter()
            .map(|item| catalog::RowItem {
                row: item.row,
                id: item.id,
                title: item.title,
                price: item.price,
                image: item.image,
                weight: item.weight,
            })
            .collect())
    }

    async fn positions(&mut self, catalog_id: String, ids: Vec<String>) -> Result<Vec<Option<u32>>, HostError> {
        let backend = self.catalog_backend()?;
        bounded("ids", ids.len())?;
        backend
            .positions(&catalog_id, &ids)
            .map_err(failure)?
            .ok_or_else(|| unknown_catalog(&catalog_id))
    }
}
