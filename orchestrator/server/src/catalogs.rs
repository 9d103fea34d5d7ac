//! Catalog management over the store: import (parse, check the id rule, store), list, get,
//! remove. Knows nothing of gRPC; `grpc::catalogs` converts to and from wire types.

use crate::backends::Decoded;
use interarec_choice::columns::ColumnsBuilder;
use interarec_choice::item::Item;
use interarec_core::catalog::{
    AttributeOverride, CatalogError, CatalogFormat, CatalogRecord, ImportPhase, ImportSummary, RowError, import_catalog,
};
use interarec_store::{HeldLease, LeaseHolder, ReplacedItems, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Largest import accepted, in bytes (spooled to disk, never held in memory).
pub const MAX_IMPORT_BYTES: u64 = 4 << 30;

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
    /// Another server sharing the store is writing this catalog.
    #[error("{0}")]
    Busy(String),
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
    /// The data's size as the sender announced it (`None`: not announced).
    pub total_bytes: Option<u64>,
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
    spool: Option<std::path::PathBuf>,
    /// On a shared store: this server's name in leases, and how long one lasts.
    replica: Option<(LeaseHolder, std::time::Duration)>,
}

impl Catalogs {
    /// Catalogs over the store.
    pub fn new(store: Store) -> Catalogs {
        Catalogs {
            store,
            writes: Arc::default(),
            decoded: None,
            spool: None,
            replica: None,
        }
    }

    /// Hands every import's items to the tools' decoded catalogs as they are stored.
    pub fn with_decoded(mut self, decoded: Arc<Decoded>) -> Catalogs {
        self.decoded = Some(decoded);
        self
    }

    /// Checks what an import asks for before its data arrives (a bad id or overrides, or an id
    /// taken without `replace`, is refused before a gigabyte is uploaded), and opens the file
    /// its data is spooled to.
    pub fn begin_import(&self, spec: ImportSpec) -> Result<ImportUpload, CatalogServiceError> {
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
        if !spec.replace && self.store.get_catalog(&spec.id)?.is_some() {
            return Err(CatalogServiceError::Exists(spec.id));
        }
        let spool_dir = self.spool_dir();
        let spool_error = |e: std::io::Error| {
            CatalogServiceError::Worker(format!(
                "cannot spool the import to {}: {e}; check the data directory's space and permissions",
                spool_dir.display()
            ))
        };
        std::fs::create_dir_all(&spool_dir).map_err(spool_error)?;
        // Unnamed: the file goes with its handle, whatever ends the import.
        let file = tempfile::tempfile_in(&spool_dir).map_err(spool_error)?;
        Ok(ImportUpload {
            spec,
            overrides,
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            bytes: 0,
        })
    }

    /// Shares the store with other servers: a catalog is written by one of them at a time,
    /// under a lease named after it.
    pub fn with_replica(mut self, holder: LeaseHolder, lease: std::time::Duration) -> Catalogs {
        self.replica = Some((holder, lease));
        self
    }

    /// Takes catalog `id`'s write lease on a shared store (`None` on sled: the in-process lock
    /// is enough).
    fn lease_catalog(&self, id: &str) -> Result<Option<HeldLease>, CatalogServiceError> {
        let Some((holder, ttl)) = &self.replica else {
            return Ok(None);
        };
        match self.store.try_lease(&format!("catalog/{id}"), holder, *ttl)? {
            Some(lease) => Ok(Some(self.store.keep_lease(lease, holder, *ttl))),
            None => Err(CatalogServiceError::Busy(format!(
                "catalog `{id}` is being imported or removed on another server; try again when that finishes"
            ))),
        }
    }

    /// Parks uploads in `dir` while they are parsed (on disk: a temp dir may be memory).
    pub fn with_spool_dir(mut self, dir: std::path::PathBuf) -> Catalogs {
        self.spool = Some(dir);
        self
    }

    /// Where uploads wait to be parsed: the spool dir given, else beside the sled database.
    fn spool_dir(&self) -> std::path::PathBuf {
        match &self.spool {
            Some(dir) => dir.clone(),
            None => {
                let db = self.store.path();
                db.parent().unwrap_or(db).join("imports")
            }
        }
    }

    /// Parses an upload and stores its items as they are read (see [`import_catalog`]); the
    /// catalog changes only when the whole import is accepted.
    pub async fn import(&self, upload: ImportUpload) -> Result<Imported, CatalogServiceError> {
        let ImportUpload {
            spec,
            overrides,
            file,
            bytes,
        } = upload;
        if let Some(announced) = spec.total_bytes
            && announced != bytes
        {
            return Err(CatalogServiceError::BadRequest(format!(
                "the upload ended after {bytes} of the {announced} bytes its header announced, so the file was not sent whole; nothing was imported; send it again"
            )));
        }
        let file = file
            .into_inner()
            .map_err(|e| CatalogServiceError::Worker(format!("cannot finish spooling the import: {e}")))?;
        let _guard = self.writes.lock().await;
        let _lease = self.lease_catalog(&spec.id)?;
        let existing = self.store.get_catalog(&spec.id)?;
        if existing.is_some() && !spec.replace {
            return Err(CatalogServiceError::Exists(spec.id));
        }
        let store = self.store.clone();
        let decoded = self.decoded.clone();
        let worker = tokio::task::spawn_blocking(move || {
            import_spooled(&store, decoded.as_deref(), &spec, &overrides, &file, bytes)
        });
        let (record, summary, replaced) = worker
            .await
            .map_err(|e| CatalogServiceError::Worker(format!("the import worker failed: {e}; see the server log")))??;
        if let Some(replaced) = replaced {
            remove_replaced_later(self.store.clone(), record.id.clone(), replaced);
        }
        Ok(Imported {
            record,
            errors: summary.errors,
            error_count: summary.error_count,
            replaced: existing.is_some(),
        })
    }

    /// Every catalog.
    pub fn list(&self) -> Result<Vec<CatalogRecord>, CatalogServiceError> {
        Ok(self.store.list_catalogs()?)
    }

    /// A catalog's items `offset..offset + limit`, in catalog order.
    pub fn items(&self, id: &str, offset: u32, limit: u32) -> Result<Vec<Item>, CatalogServiceError> {
        Ok(self.store.catalog_items(id, offset, limit)?)
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
        let _lease = self.lease_catalog(id)?;
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

/// An import's data arriving: spooled to an unnamed file in the data directory.
pub struct ImportUpload {
    spec: ImportSpec,
    overrides: BTreeMap<String, AttributeOverride>,
    file: std::io::BufWriter<std::fs::File>,
    bytes: u64,
}

impl ImportUpload {
    /// Appends the next part of the data.
    pub fn append(&mut self, part: &[u8]) -> Result<(), CatalogServiceError> {
        use std::io::Write;
        if self.bytes + part.len() as u64 > MAX_IMPORT_BYTES {
            return Err(CatalogServiceError::BadRequest(format!(
                "the import is over the {} GiB limit; split the catalog",
                MAX_IMPORT_BYTES >> 30
            )));
        }
        self.file.write_all(part).map_err(|e| {
            CatalogServiceError::Worker(format!(
                "cannot spool the import: {e}; check the data directory's free space"
            ))
        })?;
        self.bytes += part.len() as u64;
        Ok(())
    }
}

/// The blocking part of an import: both passes over the spooled file, items stored and decoded
/// for the tools as they are read, then the commit.
fn import_spooled(
    store: &Store,
    decoded: Option<&Decoded>,
    spec: &ImportSpec,
    overrides: &BTreeMap<String, AttributeOverride>,
    file: &std::fs::File,
    bytes: u64,
) -> Result<(CatalogRecord, ImportSummary, Option<ReplacedItems>), CatalogServiceError> {
    use std::io::{Seek, SeekFrom};
    let started = std::time::Instant::now();
    let mut writer = store.begin_catalog(&spec.id)?;
    let mut columns = decoded.map(|_| ColumnsBuilder::new());
    let mut open = || -> Result<&std::fs::File, Interrupted> {
        let mut reader = file;
        reader.seek(SeekFrom::Start(0))?;
        Ok(file)
    };
    let mut progress = |phase: ImportPhase, rows: u64| {
        let phase = match phase {
            ImportPhase::Typing => "typing the columns",
            ImportPhase::Importing => "storing the items",
        };
        tracing::info!(catalog = %spec.id, rows, bytes, seconds = started.elapsed().as_secs(), "import: {phase}");
    };
    let mut sink = |item: interarec_core::catalog::Item| {
        writer.put(&item)?;
        if let Some(columns) = columns.as_mut() {
            columns.push(&item);
        }
        Ok(())
    };
    let outcome = import_catalog(spec.format, &mut open, overrides, spec.strict, &mut progress, &mut sink);
    let summary = match outcome {
        Ok(Ok(summary)) => summary,
        Ok(Err(refused)) => {
            writer.abandon()?;
            return Err(refused.into());
        }
        Err(failed) => {
            if let Err(error) = writer.abandon() {
                tracing::warn!(catalog = %spec.id, "the items of a failed import are left for the next import to remove: {error}");
            }
            return Err(match failed {
                Interrupted::Store(error) => error.into(),
                Interrupted::Spool(error) => CatalogServiceError::Worker(format!(
                    "cannot read the spooled import back: {error}; check the data directory's disk"
                )),
            });
        }
    };
    let name = if spec.name.trim().is_empty() {
        spec.id.clone()
    } else {
        spec.name.clone()
    };
    let record = CatalogRecord::new(spec.id.clone(), name, &summary, interarec_core::unix_millis());
    let (stored, replaced) = writer.commit(&record)?;
    if let (Some(decoded), Some(columns)) = (decoded, columns) {
        decoded.imported(&stored, columns.finish());
    }
    tracing::info!(catalog = %spec.id, items = stored.item_count, refused = summary.error_count, seconds = started.elapsed().as_secs_f64(), "import done");
    Ok((stored, summary, replaced))
}

/// Removes a replaced import's items after the import has answered (nothing points at them;
/// a million take seconds). If this fails, the catalog's next import sweeps them.
fn remove_replaced_later(store: Store, catalog: String, replaced: ReplacedItems) {
    tokio::task::spawn_blocking(move || {
        let (started, items) = (std::time::Instant::now(), replaced.item_count());
        match store.remove_replaced(replaced) {
            Ok(()) => {
                tracing::debug!(%catalog, items, seconds = started.elapsed().as_secs_f64(), "replaced items removed")
            }
            Err(error) => {
                tracing::warn!(%catalog, "the replaced items stay until the next import of the catalog: {error}")
            }
        }
    });
}

/// What stops an import midway: the store or the spooled file failing.
enum Interrupted {
    Store(StoreError),
    Spool(std::io::Error),
}

impl From<std::io::Error> for Interrupted {
    fn from(error: std::io::Error) -> Self {
        Interrupted::Spool(error)
    }
}

impl From<StoreError> for Interrupted {
    fn from(error: StoreError) -> Self {
        Interrupted::Store(error)
    }
}
