//! Catalog management over the store: import (parse, check the id rule, store), list, get,
//! remove. Knows nothing of gRPC; `grpc::catalogs` converts to and from wire types.

use crate::backends::Decoded;
use interarec_core::catalog::{AttributeOverride, CatalogError, CatalogFormat, CatalogRecord, RowError, parse_catalog};
use interarec_store::{Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Largest import accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 1 << 30;

/// Why a catalog operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogServiceError {
    /// The id breaks the naming rule.
    #[error(
        "catalog id `{0}` is invalid: use lowercase letters, digits and `-`, starting with a letter, at most 64 characters"
    )]
    InvalidId(String),
    /// The request is malformed (missing header, bad overrides, too large).
    #[error("{0}")]
    BadRequest(String),
    /// The input was refused as a whole.
    #[error(transparent)]
    Parse(#[from] CatalogError),
    /// The id is taken and `replace` was not asked for.
    #[error("catalog `{0}` already exists; pass replace (`--replace`) to overwrite it")]
    Exists(String),
    /// No catalog with that id.
    #[error("no catalog `{0}`; `interarec catalog list` shows the catalogs")]
    NotFound(String),
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A background worker failed (a fault of the server's, not the request's).
    #[error("{0}")]
    Worker(String),
}

/// What an import asks for.
#[derive(Debug, Clone)]
pub struct ImportSpec {
    /// Catalog id.
    pub id: String,
    /// Display name (the id when empty).
    pub name: String,
    /// Input format.
    pub format: CatalogFormat,
    /// Refuse the file on any bad row.
    pub strict: bool,
    /// Overwrite an existing catalog.
    pub replace: bool,
    /// Attribute overrides as JSON (empty for none).
    pub overrides_json: String,
}

/// The outcome of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The stored catalog.
    pub record: CatalogRecord,
    /// The first refused rows.
    pub errors: Vec<RowError>,
    /// All refused rows.
    pub error_count: u64,
    /// An earlier catalog was replaced.
    pub replaced: bool,
}

/// Catalog operations. Cheap to clone.
#[derive(Clone)]
pub struct Catalogs {
    store: Store,
    writes: Arc<tokio::sync::Mutex<()>>,
    decoded: Option<Arc<Decoded>>,
}

impl Catalogs {
    /// Catalogs over the store.
    pub fn new(store: Store) -> Catalogs {
        Catalogs {
            store,
            writes: Arc::default(),
            decoded: None,
        }
    }

    /// Hands every import's items to the tools' decoded catalogs as they are stored.
    pub fn with_decoded(mut self, decoded: Arc<Decoded>) -> Catalogs {
        self.decoded = Some(decoded);
        self
    }

    /// Parses and stores an import.
    pub async fn import(&self, spec: ImportSpec, data: Vec<u8>) -> Result<Imported, CatalogServiceError> {
        interarec_core::tool::validate_tool_name(&spec.id)
            .map_err(|_| CatalogServiceError::InvalidId(spec.id.clone()))?;
        let overrides: BTreeMap<String, AttributeOverride> = if spec.overrides_json.trim().is_empty() {
            BTreeMap::new()
        } else {
            serde_json::from_str(&spec.overrides_json).map_err(|e| {
                CatalogServiceError::BadRequest(format!(
                    "attribute overrides are not valid: {e}; write {{\"name\": {{\"type\": \"number\", \"unit\": \"sqft\"}}}}"
                ))
            })?
        };
        let _guard = self.writes.lock().await;
        let existing = self.store.get_catalog(&spec.id)?;
        if existing.is_some() && !spec.replace {
            return Err(CatalogServiceError::Exists(spec.id));
        }
        let (format, strict) = (spec.format, spec.strict);
        let parsed = tokio::task::spawn_blocking(move || parse_catalog(format, &data, &overrides, strict))
            .await
            .map_err(|e| CatalogServiceError::Worker(format!("the import worker failed: {e}; see the server log")))??;
        let now_ms = interarec_core::unix_millis();
        let name = if spec.name.trim().is_empty() {
            spec.id.clone()
        } else {
            spec.name.clone()
        };
        let record = CatalogRecord::new(spec.id.clone(), name, &parsed, now_ms);
        let store = self.store.clone();
        let stored = record.clone();
        let decoded = self.decoded.clone();
        tokio::task::spawn_blocking(move || {
            store.put_catalog(&stored, &parsed.items)?;
            if let Some(decoded) = decoded
                && let Err(error) = decoded.imported(&stored.id, &parsed.items)
            {
                tracing::warn!(catalog = %stored.id, "the imported catalog will be decoded on first use: {error}");
            }
            Ok::<_, interarec_store::StoreError>(parsed)
        })
        .await
        .map_err(|e| CatalogServiceError::Worker(format!("the import worker failed: {e}; see the server log")))?
        .map(|parsed| Imported {
            record,
            errors: parsed.errors,
            error_count: parsed.error_count,
            replaced: existing.is_some(),
        })
        .map_err(CatalogServiceError::from)
    }

    /// Every catalog.
    pub fn list(&self) -> Result<Vec<CatalogRecord>, CatalogServiceError> {
        Ok(self.store.list_catalogs()?)
    }

    /// One catalog.
    pub fn get(&self, id: &str) -> Result<CatalogRecord, CatalogServiceError> {
        self.store
            .get_catalog(id)?
            .ok_or_else(|| CatalogServiceError::NotFound(id.to_owned()))
    }

    /// Removes a catalog and its items.
    pub async fn remove(&self, id: &str) -> Result<CatalogRecord, CatalogServiceError> {
        let _guard = self.writes.lock().await;
        let removed = self
            .store
            .remove_catalog(id)?
            .ok_or_else(|| CatalogServiceError::NotFound(id.to_owned()))?;
        if let Some(decoded) = &self.decoded {
            decoded.forget_catalog(id);
        }
        Ok(removed)
    }
}
