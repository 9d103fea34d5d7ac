//! The `catalog` capability's backend: catalogs, their items in pages and fitted choice models,
//! read from the store as JSON; and columns over catalogs and models kept decoded in memory
//! ([`Decoded`]), so a tool's selection is answered without re-reading the store.
//!
//! A catalog's columns are kept per version (its import time and item generation): a
//! re-import or a removal is noticed by the next request, which decodes again. Models are
//! kept until the model service replaces or removes them (it is their only writer), and the
//! weights of a (model, segment) over a catalog until either changes.

use interarec_choice::access::RowItem;
use interarec_choice::columns::{CatalogColumns, Columns, ColumnsBuilder, ColumnsRequest, Weights, WeightsRequest};
use interarec_choice::model::{ChoiceModel, ModelError};
use interarec_choice::recommend::Constraints;
use interarec_core::catalog::CatalogRecord;
use interarec_plugin_host::CatalogFailure;
use interarec_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What identifies one stored set of a catalog's items.
pub type CatalogVersion = (u64, u64);

type WeightsKey = (String, Option<String>, String);

/// Catalogs and models decoded once and shared by the `catalog` capability and `Optimize`.
pub struct Decoded {
    store: Store,
    catalogs: Mutex<HashMap<String, (CatalogVersion, Arc<CatalogColumns>)>>,
    models: Mutex<HashMap<String, Arc<ChoiceModel>>>,
    weights: Mutex<HashMap<WeightsKey, (CatalogVersion, Arc<ChoiceModel>, Arc<Weights>)>>,
    // One decode at a time: two calls arriving together for a new version decode it once.
    decoding: Mutex<()>,
}

impl Decoded {
    /// An empty cache over the store.
    pub fn new(store: Store) -> Decoded {
        Decoded {
            store,
            catalogs: Mutex::default(),
            models: Mutex::default(),
            weights: Mutex::default(),
            decoding: Mutex::default(),
        }
    }

    /// The catalog's columns at its current version, or `None` if there is no such catalog.
    pub fn catalog(&self, catalog_id: &str) -> Result<Option<(CatalogVersion, Arc<CatalogColumns>)>, String> {
        let Some(record) = self.store.get_catalog(catalog_id).map_err(|e| e.to_string())? else {
            self.catalogs.lock().expect("catalog cache").remove(catalog_id);
            return Ok(None);
        };
        let version = (record.imported_at_unix_ms, record.generation);
        let cached = || {
            self.catalogs
                .lock()
                .expect("catalog cache")
                .get(catalog_id)
                .filter(|(held, _)| *held == version)
                .map(|(_, columns)| columns.clone())
        };
        if let Some(columns) = cached() {
            return Ok(Some((version, columns)));
        }
        let _decoding = self.decoding.lock().expect("decoding lock");
        if let Some(columns) = cached() {
            return Ok(Some((version, columns)));
        }
        // Item by item from the store: the catalog is never held as items and columns at once.
        let mut builder = ColumnsBuilder::new();
        let read = self
            .store
            .for_each_catalog_item(catalog_id, |item| builder.push(&item))
            .map_err(|e| e.to_string())?;
        let Some(read) = read else {
            return Ok(None);
        };
        let version = (read.imported_at_unix_ms, read.generation);
        let columns = Arc::new(builder.finish());
        self.catalogs
            .lock()
            .expect("catalog cache")
            .insert(catalog_id.to_owned(), (version, columns.clone()));
        Ok(Some((version, columns)))
    }

    /// Holds the columns of a catalog just imported (built as its items were stored), so the
    /// first call after an import does not decode them again from the store (a million items
    /// take seconds, over a tool's deadline).
    pub fn imported(&self, record: &CatalogRecord, columns: CatalogColumns) {
        self.catalogs.lock().expect("catalog cache").insert(
            record.id.clone(),
            ((record.imported_at_unix_ms, record.generation), Arc::new(columns)),
        );
    }

    /// Forgets a removed catalog's columns and the weights over it.
    pub fn forget_catalog(&self, catalog_id: &str) {
        self.catalogs.lock().expect("catalog cache").remove(catalog_id);
        self.weights
            .lock()
            .expect("weights cache")
            .retain(|(_, _, catalog), _| catalog != catalog_id);
    }

    /// Decodes every stored catalog (at start, on a background thread, so the first calls find
    /// them decoded); a catalog that cannot be read is left to the call that needs it.
    pub fn warm(&self) {
        let Ok(catalogs) = self.store.list_catalogs() else {
            return;
        };
        for record in catalogs {
            let started = std::time::Instant::now();
            match self.catalog(&record.id) {
                Ok(_) => {
                    tracing::info!(catalog = %record.id, items = record.item_count, ms = started.elapsed().as_millis() as u64, "catalog decoded for the tools")
                }
                Err(error) => tracing::warn!(catalog = %record.id, "cannot decode the catalog ahead of use: {error}"),
            }
        }
    }

    /// The model, or `None` if there is no such model.
    pub fn model(&self, model_id: &str) -> Result<Option<Arc<ChoiceModel>>, String> {
        if let Some(model) = self.models.lock().expect("model cache").get(model_id) {
            return Ok(Some(model.clone()));
        }
        let Some(model) = self.store.get_choice_model(model_id).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let model = Arc::new(model);
        self.models
            .lock()
            .expect("model cache")
            .insert(model_id.to_owned(), model.clone());
        Ok(Some(model))
    }

    /// Records a model just stored (fit with replace included), so no call sees the old one.
    pub fn put_model(&self, model: Arc<ChoiceModel>) {
        self.models.lock().expect("model cache").insert(model.id.clone(), model);
    }

    /// Forgets every model and its weights (another server sharing the store changed models).
    pub fn forget_models(&self) {
        self.models.lock().expect("model cache").clear();
        self.weights.lock().expect("weights cache").clear();
    }

    /// Forgets a removed model.
    pub fn forget_model(&self, model_id: &str) {
        self.models.lock().expect("model cache").remove(model_id);
        self.weights
            .lock()
            .expect("weights cache")
            .retain(|(model, _, _), _| model != model_id);
    }

    /// The weights of a model's segment over a catalog at a version, kept until either changes.
    fn weights(
        &self,
        catalog_id: &str,
        version: CatalogVersion,
        columns: &CatalogColumns,
        request: &WeightsRequest,
    ) -> Result<Arc<Weights>, CatalogFailure> {
        let model = self
            .model(&request.model_id)
            .map_err(CatalogFailure::Failed)?
            .ok_or_else(|| {
                CatalogFailure::Invalid(format!(
                    "there is no choice model `{}`; the server's models are listed by `interarec model list`",
                    request.model_id
                ))
            })?;
        self.weights_of(catalog_id, version, columns, model, request.segment.as_deref())
            .map_err(|e| CatalogFailure::Invalid(e.to_string()))
    }

    /// [`Decoded::weights`] of a model already read.
    pub fn weights_of(
        &self,
        catalog_id: &str,
        version: CatalogVersion,
        columns: &CatalogColumns,
        model: Arc<ChoiceModel>,
        segment: Option<&str>,
    ) -> Result<Arc<Weights>, ModelError> {
        let key = (model.id.clone(), segment.map(str::to_owned), catalog_id.to_owned());
        if let Some((held, held_model, weights)) = self.weights.lock().expect("weights cache").get(&key)
            && *held == version
            && Arc::ptr_eq(held_model, &model)
        {
            return Ok(weights.clone());
        }
        let weights = Arc::new(Weights::new(columns, &model, segment)?);
        self.weights
            .lock()
            .expect("weights cache")
            .insert(key, (version, model, weights.clone()));
        Ok(weights)
    }
}

/// The store's catalogs behind the `catalog` capability.
pub struct StoreCatalogs(pub Arc<Decoded>);

impl StoreCatalogs {
    fn store(&self) -> &Store {
        &self.0.store
    }

    fn decoded(&self, catalog_id: &str) -> Result<Option<(CatalogVersion, Arc<CatalogColumns>)>, CatalogFailure> {
        self.0.catalog(catalog_id).map_err(CatalogFailure::Failed)
    }
}

impl interarec_plugin_host::CatalogBackend for StoreCatalogs {
    fn describe(&self, catalog_id: &str) -> Result<Option<String>, String> {
        let record = self.store().get_catalog(catalog_id).map_err(|e| e.to_string())?;
        record
            .map(|record| serde_json::to_string(&record).map_err(|e| e.to_string()))
            .transpose()
    }

    fn items(&self, catalog_id: &str, offset: u32, limit: u32) -> Result<Option<String>, String> {
        if self
            .store()
            .get_catalog(catalog_id)
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Ok(None);
        }
        let items = self
            .store()
            .catalog_items(catalog_id, offset, limit)
            .map_err(|e| e.to_string())?;
        serde_json::to_string(&items).map(Some).map_err(|e| e.to_string())
    }

    fn choice_model(&self, model_id: &str) -> Result<Option<String>, String> {
        let json = self.store().choice_model_json(model_id).map_err(|e| e.to_string())?;
        json.map(|bytes| String::from_utf8(bytes).map_err(|e| format!("the stored model is not UTF-8: {e}")))
            .transpose()
    }

    fn columns(&self, catalog_id: &str, request: &ColumnsRequest) -> Result<Option<Columns>, CatalogFailure> {
        let Some((version, columns)) = self.decoded(catalog_id)? else {
            return Ok(None);
        };
        let weights = request
            .weights
            .as_ref()
            .map(|wanted| self.0.weights(catalog_id, version, &columns, wanted))
            .transpose()?;
        columns
            .columns(request, weights.as_deref())
            .map(Some)
            .map_err(|e| CatalogFailure::Invalid(e.to_string()))
    }

    fn count(&self, catalog_id: &str, selection: &Constraints) -> Result<Option<usize>, CatalogFailure> {
        Ok(self.decoded(catalog_id)?.map(|(_, columns)| columns.count(selection)))
    }

    fn rows(
        &self,
        catalog_id: &str,
        rows: &[u32],
        weights: Option<&WeightsRequest>,
    ) -> Result<Option<Vec<RowItem>>, CatalogFailure> {
        let Some((version, columns)) = self.decoded(catalog_id)? else {
            return Ok(None);
        };
        let weights = weights
            .map(|wanted| self.0.weights(catalog_id, version, &columns, wanted))
            .transpose()?;
        Ok(Some(columns.rows(rows, weights.as_deref())))
    }

    fn positions(&self, catalog_id: &str, ids: &[String]) -> Result<Option<Vec<Option<u32>>>, CatalogFailure> {
        Ok(self
            .decoded(catalog_id)?
            .map(|(_, columns)| ids.iter().map(|id| columns.position(id)).collect()))
    }
}
