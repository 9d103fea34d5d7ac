//! The `catalog` capability's backend: catalogs, their items in pages and fitted choice models,
//! read from the store as JSON.

use interarec_store::Store;

/// The store's catalogs behind the `catalog` capability.
pub struct StoreCatalogs(pub Store);

impl interarec_plugin_host::CatalogBackend for StoreCatalogs {
    fn describe(&self, catalog_id: &str) -> Result<Option<String>, String> {
        let record = self.0.get_catalog(catalog_id).map_err(|e| e.to_string())?;
        record
            .map(|record| serde_json::to_string(&record).map_err(|e| e.to_string()))
            .transpose()
    }

    fn items(&self, catalog_id: &str, offset: u32, limit: u32) -> Result<Option<String>, String> {
        if self.0.get_catalog(catalog_id).map_err(|e| e.to_string())?.is_none() {
            return Ok(None);
        }
        let items = self
            .0
            .catalog_items(catalog_id, offset, limit)
            .map_err(|e| e.to_string())?;
        serde_json::to_string(&items).map(Some).map_err(|e| e.to_string())
    }

    fn choice_model(&self, model_id: &str) -> Result<Option<String>, String> {
        let json = self.0.choice_model_json(model_id).map_err(|e| e.to_string())?;
        json.map(|bytes| String::from_utf8(bytes).map_err(|e| format!("the stored model is not UTF-8: {e}")))
            .transpose()
    }
}
