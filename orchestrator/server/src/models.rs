//! Choice models over the store: fit from an uploaded transaction log (on a blocking thread,
//! reporting progress), list, get, remove, and optimize a catalog's assortment. Knows nothing of
//! gRPC; `grpc::models` converts to and from wire types.
//!
//! Optimization reads the catalog and the model from memory ([`Decoded`], shared with the
//! `catalog` capability): catalogs as columns per version (a re-import is picked up by the next
//! call), models updated by this service's own fits and removals (it is their only writer), and
//! solves with `recommend_via`, the `assortment` tool's code path.

use crate::backends::Decoded;
use crate::backends::catalog::CatalogVersion;
use interarec_choice::access::{CatalogAccess, RowItem, recommend_via};
use interarec_choice::columns::{CatalogColumns, Columns, ColumnsRequest, Weights, WeightsRequest};
use interarec_choice::model::ChoiceModel;
use interarec_choice::recommend::{Constraints, RecommendError, Recommendation, SizeLimits};
use interarec_datasets::fitting::{FitModelError, FitSpec, Progress, fit_model};
use interarec_store::{Store, StoreError};
use std::sync::Arc;
use std::time::Instant;

/// Largest transaction log accepted, in bytes.
pub const MAX_FIT_BYTES: usize = 1 << 30;

/// Why a model operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelServiceError {
    /// The id breaks the naming rule.
    #[error(
        "model id `{0}` is invalid: use lowercase letters, digits and `-`, starting with a letter, at most 64 characters"
    )]
    InvalidId(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The data or options could not be fitted.
    #[error(transparent)]
    Fit(#[from] FitModelError),
    /// The constraints cannot be applied.
    #[error(transparent)]
    Recommend(#[from] RecommendError),
    /// The id is taken and `replace` was not asked for.
    #[error("choice model `{0}` already exists; pass replace (`--replace`) to overwrite it")]
    Exists(String),
    /// No model with that id.
    #[error("no choice model `{0}`; `interarec model list` shows the models")]
    NotFound(String),
    /// No catalog with that id.
    #[error("no catalog `{0}`; `interarec catalog list` shows the catalogs")]
    CatalogNotFound(String),
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A background worker failed (a fault of the server's, not the request's).
    #[error("{0}")]
    Worker(String),
    /// Over a limit of the server's (time, size).
    #[error("{0}")]
    Exhausted(String),
}

/// Largest `constraints_json` an `Optimize` call may send by default
/// (`serving.optimize_max_constraints_bytes`).
pub const MAX_CONSTRAINTS_JSON_BYTES: usize = 1024 * 1024;
/// Wall time one `Optimize` computation may take by default before the caller is told to
/// narrow it (`serving.optimize_timeout_ms`).
pub const OPTIMIZE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// `Optimize` computations at once by default (`serving.max_concurrent_optimize`); more wait.
pub const MAX_CONCURRENT_OPTIMIZE: usize = 4;

/// Bounds on `Optimize` calls (the server sets them from its `[serving]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptimizeLimits {
    /// Id and value list lengths, filter count.
    pub sizes: SizeLimits,
    /// Computations at once.
    pub max_concurrent: usize,
    /// Wall time of one computation.
    pub timeout: std::time::Duration,
    /// Largest `constraints_json`, in bytes.
    pub max_constraints_bytes: usize,
}

impl Default for OptimizeLimits {
    fn default() -> Self {
        OptimizeLimits {
            sizes: SizeLimits::default(),
            max_concurrent: MAX_CONCURRENT_OPTIMIZE,
            timeout: OPTIMIZE_TIMEOUT,
            max_constraints_bytes: MAX_CONSTRAINTS_JSON_BYTES,
        }
    }
}

/// A recommendation and the time the optimizer took.
#[derive(Debug, Clone)]
pub struct Optimized {
    /// The answer.
    pub recommendation: Recommendation,
    /// Milliseconds in `recommend` (filters, weights, optimizer), without loading.
    pub compute_ms: f64,
}

/// Model operations. Cheap to clone.
#[derive(Clone)]
pub struct Models {
    store: Store,
    writes: Arc<tokio::sync::Mutex<()>>,
    decoded: Arc<Decoded>,
    optimizing: Arc<tokio::sync::Semaphore>,
    limits: OptimizeLimits,
}

impl Models {
    /// Models over the store, sharing decoded models with the `catalog` capability.
    pub fn new(store: Store, decoded: Arc<Decoded>) -> Models {
        Models {
            store,
            writes: Arc::default(),
            decoded,
            optimizing: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_OPTIMIZE)),
            limits: OptimizeLimits::default(),
        }
    }

    /// Bounds `Optimize` calls by `limits`.
    pub fn with_optimize_limits(mut self, limits: OptimizeLimits) -> Models {
        self.optimizing = Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent.max(1)));
        self.limits = limits;
        self
    }

    /// Checks the id and that it is free (or may be replaced) before the upload is read.
    pub fn check_new(&self, id: &str, replace: bool) -> Result<(), ModelServiceError> {
        interarec_core::tool::validate_tool_name(id).map_err(|_| ModelServiceError::InvalidId(id.to_owned()))?;
        if !replace && self.store.choice_model_json(id)?.is_some() {
            return Err(ModelServiceError::Exists(id.to_owned()));
        }
        Ok(())
    }

    /// Fits `data` and stores the model, sending progress to `progress` as it goes.
    pub async fn fit(
        &self,
        spec: FitSpec,
        replace: bool,
        data: Vec<u8>,
        progress: impl FnMut(Progress) + Send + 'static,
    ) -> Result<ChoiceModel, ModelServiceError> {
        self.check_new(&spec.model_id, replace)?;
        if let Some(catalog) = &spec.catalog_id
            && self.store.get_catalog(catalog)?.is_none()
        {
            return Err(ModelServiceError::CatalogNotFound(catalog.clone()));
        }
        let mut progress = progress;
        let model =
            tokio::task::spawn_blocking(move || fit_model(&data, &spec, interarec_core::unix_millis(), &mut progress))
                .await
                .map_err(|e| {
                    ModelServiceError::Worker(format!("the fitting worker failed: {e}; see the server log"))
                })??;
        let _guard = self.writes.lock().await;
        // Checked again: another fit of the same id may have finished meanwhile.
        self.check_new(&model.id, replace)?;
        let store = self.store.clone();
        let stored = model.clone();
        tokio::task::spawn_blocking(move || store.put_choice_model(&stored))
            .await
            .map_err(|e| ModelServiceError::Worker(format!("the storing worker failed: {e}; see the server log")))??;
        self.decoded.put_model(Arc::new(model.clone()));
        Ok(model)
    }

    /// Every model, by id.
    pub fn list(&self) -> Result<Vec<ChoiceModel>, ModelServiceError> {
        Ok(self.store.list_choice_models()?)
    }

    /// One model.
    pub fn get(&self, id: &str) -> Result<ChoiceModel, ModelServiceError> {
        self.store
            .get_choice_model(id)?
            .ok_or_else(|| ModelServiceError::NotFound(id.to_owned()))
    }

    /// Removes a model.
    pub async fn remove(&self, id: &str) -> Result<ChoiceModel, ModelServiceError> {
        let _guard = self.writes.lock().await;
        self.decoded.forget_model(id);
        self.store
            .remove_choice_model(id)?
            .ok_or_else(|| ModelServiceError::NotFound(id.to_owned()))
    }

    /// The best assortment of `catalog_id` under `model_id` and the constraints (JSON).
    pub async fn optimize(
        &self,
        catalog_id: &str,
        model_id: &str,
        segment: Option<String>,
        constraints_json: &str,
    ) -> Result<Optimized, ModelServiceError> {
        let limit = self.limits.max_constraints_bytes;
        if constraints_json.len() > limit {
            return Err(ModelServiceError::BadRequest(format!(
                "constraints_json is {} bytes, over the {limit}-byte limit (serving.optimize_max_constraints_bytes); use filters rather than long id lists",
                constraints_json.len()
            )));
        }
        let constraints: Constraints = if constraints_json.trim().is_empty() {
            Constraints::default()
        } else {
            serde_json::from_str(constraints_json).map_err(|e| {
                ModelServiceError::BadRequest(format!(
                    "the constraints are not valid: {e}; write e.g. {{\"lowest_price\": 18, \"highest_price\": 144, \"filters\": [{{\"attribute\": \"colour\", \"one_of\": [\"green\"]}}], \"capacity\": 8}}"
                ))
            })?
        };
        constraints.check_sizes_within(&self.limits.sizes)?;
        let decoded = self.decoded.clone();
        let id = catalog_id.to_owned();
        let (version, columns) = tokio::task::spawn_blocking(move || decoded.catalog(&id))
            .await
            .map_err(|e| ModelServiceError::Worker(format!("the loading worker failed: {e}; see the server log")))?
            .map_err(|e| ModelServiceError::Worker(format!("cannot read catalog `{catalog_id}`: {e}")))?
            .ok_or_else(|| ModelServiceError::CatalogNotFound(catalog_id.to_owned()))?;
        let model = self.model(model_id)?;
        let _turn = self
            .optimizing
            .acquire()
            .await
            .map_err(|_| ModelServiceError::Exhausted("the optimizer is shutting down".into()))?;
        let decoded = self.decoded.clone();
        let catalog_id = catalog_id.to_owned();
        let computing = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let access = Served {
                decoded: &decoded,
                catalog_id: &catalog_id,
                version,
                columns: &columns,
                model,
            };
            let model_id = access.model.id.clone();
            let recommendation = recommend_via(&access, &model_id, segment.as_deref(), &constraints)?;
            Ok(Optimized {
                recommendation,
                compute_ms: started.elapsed().as_secs_f64() * 1e3,
            })
        });
        let timeout = self.limits.timeout;
        match tokio::time::timeout(timeout, computing).await {
            Ok(finished) => finished.map_err(|e| {
                ModelServiceError::Worker(format!("the optimizing worker failed: {e}; see the server log"))
            })?,
            Err(_) => Err(ModelServiceError::Exhausted(format!(
                "the optimization took over {} ms (serving.optimize_timeout_ms); narrow the constraints (fewer items, a lower capacity or no per-value cap)",
                timeout.as_millis()
            ))),
        }
    }

    /// On sled this service is the only writer of models (the store is locked to one process),
    /// so the cache is kept right by `fit` and `remove` and never re-reads a model it holds; on
    /// a shared store the server also empties it when another server changed models.
    fn model(&self, model_id: &str) -> Result<Arc<ChoiceModel>, ModelServiceError> {
        self.decoded
            .model(model_id)
            .map_err(|e| ModelServiceError::Worker(format!("cannot read model `{model_id}`: {e}")))?
            .ok_or_else(|| ModelServiceError::NotFound(model_id.to_owned()))
    }
}

/// The optimizer's view of a decoded catalog: the same selection the `catalog` capability
/// answers tools with, so `Optimize` and the `assortment` tool share one code path and one copy
/// of the catalog in memory.
struct Served<'a> {
    decoded: &'a Decoded,
    catalog_id: &'a str,
    version: CatalogVersion,
    columns: &'a CatalogColumns,
    model: Arc<ChoiceModel>,
}

impl Served<'_> {
    fn weights(&self, request: &WeightsRequest) -> Result<Arc<Weights>, ModelServiceError> {
        Ok(self
            .decoded
            .weights_of(
                self.catalog_id,
                self.version,
                self.columns,
                self.model.clone(),
                request.segment.as_deref(),
            )
            .map_err(RecommendError::from)?)
    }
}

impl CatalogAccess for Served<'_> {
    type Error = ModelServiceError;

    fn columns(&self, request: &ColumnsRequest) -> Result<Columns, ModelServiceError> {
        let weights = request.weights.as_ref().map(|w| self.weights(w)).transpose()?;
        Ok(self.columns.columns(request, weights.as_deref())?)
    }

    fn rows(&self, rows: &[u32], weights: Option<&WeightsRequest>) -> Result<Vec<RowItem>, ModelServiceError> {
        let weights = weights.map(|w| self.weights(w)).transpose()?;
        Ok(self.columns.rows(rows, weights.as_deref()))
    }

    fn positions(&self, ids: &[String]) -> Result<Vec<Option<u32>>, ModelServiceError> {
        Ok(ids.iter().map(|id| self.columns.position(id)).collect())
    }
}
