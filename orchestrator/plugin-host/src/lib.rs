//! The InteraRec plugin host: the only crate that knows wasmtime.
//!
//! It turns component bytes into a [`Prepared`] tool (checked, compiled once per sha256 with an
//! in-memory and an on-disk cache, pre-instantiated against the tool world), reads the tool's
//! description, and runs calls: each in a fresh store from the pooling allocator, bounded by a
//! deadline (epoch interruption plus an outer timeout), a memory limit and optional fuel, with
//! host imports behind the tool's grants. A call that misbehaves fails with a [`CallError`]
//! naming the tool, its version and the cause; nothing it does can take the host down.

mod bindings;
mod engine;
mod error;
mod imports;
mod inspect;
mod services;
mod state;

pub use error::{CallError, CallFailure, LoadError};
pub use imports_limits::*;
pub use services::{
    CatalogBackend, CatalogFailure, FrameDescription, FramesBackend, KvBackend, MAX_CATALOG_PAGE, MAX_CHAT_TEXT_BYTES,
    MAX_IMAGES_PER_CHAT, MAX_LISTED_ROWS, MemoryKv, ModelAnswer, ModelFailure, ModelFuture, ModelMessage, ModelPart,
    ModelRequest, ModelsBackend, Services,
};
pub use state::CallIdentity;

/// Documented limits of the host imports.
pub mod imports_limits {
    pub use crate::imports::http_limits::{MAX_REQUEST_BODY_BYTES, MAX_RESPONSE_BODY_BYTES};
    /// Largest JSON result a tool may return.
    pub const MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;
}

use bindings::{ToolWorld, ToolWorldPre};
use interarec_core::{Grants, LimitsConfig, SUPPORTED_TOOL_API_VERSIONS, ToolLimits, ToolManifest, telemetry};
use sha2::{Digest, Sha256};
use state::{CallState, DeadlineReached, MemoryLimitReached};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

/// Extra time the outer timeout allows beyond a tool's deadline, so that the epoch trap (which
/// says precisely what happened) normally fires first.
const OUTER_TIMEOUT_GRACE: Duration = Duration::from_millis(200);

/// Settings of the plugin host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Defaults and ceilings of per-tool limits.
    pub limits: LimitsConfig,
    /// Directory of the on-disk compilation cache (`None`: memory only).
    pub cache_dir: Option<PathBuf>,
}

/// A component checked, compiled and pre-instantiated; shared by every tool with these bytes.
pub struct Prepared {
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    /// The WIT version it was built against.
    pub wit_version: String,
    pre: ToolWorldPre<CallState>,
}

/// A registered tool as the host runs it.
#[derive(Clone)]
pub struct ToolHandle {
    /// The compiled component.
    pub prepared: Arc<Prepared>,
    /// Name and version from its description.
    pub name: String,
    /// Version from its description.
    pub version: String,
    /// What the operator granted.
    pub grants: Grants,
    /// Bounds of every call.
    pub limits: ToolLimits,
}

/// The plugin host. Cheap to clone.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<CallState>,
    config: HostConfig,
    services: Services,
    prepared: Mutex<HashMap<String, Arc<Prepared>>>,
    permits: tokio::sync::Semaphore,
    _ticker: engine::EpochTicker,
}

impl PluginHost {
    /// Builds the engine, the linker (WASI 0.2 deny-by-default plus the tool world) and starts
    /// the epoch ticker.
    pub fn new(config: HostConfig, services: Services) -> anyhow::Result<PluginHost> {
        config.limits.validate().map_err(anyhow::Error::msg)?;
        let engine = engine::build_engine(&config.limits)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        ToolWorld::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |state| state)?;
        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create the component cache dir {}: {e}", dir.display()))?;
        }
        let ticker = engine::EpochTicker::start(engine.clone())
            .map_err(|e| anyhow::anyhow!("cannot start the epoch ticker thread: {e}"))?;
        let permits = tokio::sync::Semaphore::new(config.limits.max_concurrent_calls as usize);
        Ok(PluginHost {
            inner: Arc::new(Inner {
                engine,
                linker,
                config,
                services,
                prepared: Mutex::new(HashMap::new()),
                permits,
                _ticker: ticker,
            }),
        })
    }

    /// The limits configuration.
    pub fn limits(&self) -> &LimitsConfig {
        &self.inner.config.limits
    }

    /// Checks, compiles (or fetches from cache) and pre-instantiates a component. Compiling can
    /// take seconds: call it from a blocking thread.
    pub fn prepare(&self, bytes: &[u8]) -> Result<Arc<Prepared>, LoadError> {
        let limit = self.inner.config.limits.max_component_bytes;
        if bytes.len() as u64 > limit {
            return Err(LoadError::TooLarge {
                size: bytes.len() as u64,
                limit,
            });
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        if let Some(prepared) = self.lock_prepared().get(&sha256) {
            return Ok(prepared.clone());
        }
        let wit_version = inspect::api_version(bytes, &SUPPORTED_TOOL_API_VERSIONS)?;
        let component = self.compile_cached(&sha256, bytes)?;
        let instance_pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre = ToolWorldPre::new(instance_pre).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let prepared = Arc::new(Prepared {
            sha256: sha256.clone(),
            wit_version,
            pre,
        });
        self.lock_prepared().insert(sha256, prepared.clone());
        Ok(prepared)
    }

    /// Drops a component from the in-memory cache (the disk cache stays for a re-registration).
    pub fn forget(&self, sha256: &str) {
        self.lock_prepared().remove(sha256);
    }

    fn lock_prepared(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Prepared>>> {
        // A poisoned cache only means a panic elsewhere mid-insert; the map itself is intact.
        self.inner
            .prepared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn compile_cached(&self, sha256: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        let engine = &self.inner.engine;
        let cache_file = self
            .inner
            .config
            .cache_dir
            .as_ref()
            .map(|dir| dir.join(format!("{sha256}.cwasm")));
        if let Some(path) = &cache_file
            && let Ok(artifact) = std::fs::read(path)
        {
            // Read into memory rather than `deserialize_file`: a mapped file truncated by
            // someone else would crash the process with SIGBUS.
            // SAFETY: the file is written only by `Component::serialize` below into the server's
            // own data dir and named by the sha256 of its source; wasmtime checks engine and
            // version compatibility and refuses a mismatch, in which case we recompile.
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::info!(path = %path.display(), "recompiling component: cached artifact unusable: {error}")
                }
            }
        }
        let component = Component::new(engine, bytes).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        if let Some(path) = &cache_file {
            match component.serialize() {
                Ok(artifact) => {
                    let temp = path.with_extension("cwasm.tmp");
                    let written = std::fs::write(&temp, artifact).and_then(|()| std::fs::rename(&temp, path));
                    if let Err(error) = written {
                        tracing::warn!(path = %path.display(), "could not write the component cache: {error}");
                    }
                }
                Err(error) => tracing::warn!("could not serialise a compiled component: {error}"),
            }
        }
        Ok(component)
    }

    /// Runs the component's `describe` (bounded like a call, with no grants) and validates it.
    pub async fn describe(&self, prepared: &Arc<Prepared>) -> Result<ToolManifest, LoadError> {
        let limits = self
            .inner
            .config
            .limits
            .resolve(Default::default())
            .map_err(|e| LoadError::Describe(e.to_string()))?;
        let identity = Arc::new(CallIdentity {
            tool: "(unregistered)".into(),
            version: "?".into(),
            grants: Grants::none(),
            session: String::new(),
        });
        let description = self
            .run(prepared, identity, limits, |bindings, store| {
                Box::pin(async move { bindings.interarec_tool_tool().call_describe(store).await })
            })
            .await
            .map_err(|error| LoadError::Describe(error.to_string()))?;
        ToolManifest::from_description(
            description.name,
            description.version,
            description.description,
            &description.arguments_schema,
            &description.capabilities,
        )
        .map_err(|error| LoadError::Describe(error.to_string()))
    }

    /// Invokes a tool with JSON arguments (already validated against its schema) and returns
    /// its JSON result text.
    pub async fn invoke(&self, tool: &ToolHandle, session: &str, arguments_json: &str) -> Result<String, CallError> {
        use tracing::Instrument;
        let span = tracing::info_span!("tool_call", tool = %tool.name, version = %tool.version, session = %session);
        let started = Instant::now();
        let result = self.invoke_inner(tool, session, arguments_json).instrument(span).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => error.failure.outcome(),
        };
        let name = tool.name.clone();
        metrics::counter!(telemetry::TOOL_CALLS, "tool" => name.clone(), "outcome" => outcome).increment(1);
        metrics::histogram!(telemetry::TOOL_CALL_DURATION, "tool" => name).record(started.elapsed().as_secs_f64());
        result
    }

    /// Tool call slots in use now (a gauge at scrape time).
    pub fn slots_in_use(&self) -> usize {
        (self.inner.config.limits.max_concurrent_calls as usize).saturating_sub(self.inner.permits.available_permits())
    }

    async fn invoke_inner(&self, tool: &ToolHandle, session: &str, arguments_json: &str) -> Result<String, CallError> {
        let identity = Arc::new(CallIdentity {
            tool: tool.name.clone(),
            version: tool.version.clone(),
            grants: tool.grants.clone(),
            session: session.to_owned(),
        });
        let arguments = arguments_json.to_owned();
        let outcome = self
            .run(&tool.prepared, identity, tool.limits, move |bindings, store| {
                Box::pin(async move { bindings.interarec_tool_tool().call_invoke(store, &arguments).await })
            })
            .await?;
        let fail = |failure| CallError {
            tool: tool.name.clone(),
            version: tool.version.clone(),
            failure,
        };
        let text = outcome.map_err(|error| {
            fail(match error {
                bindings::ToolError::InvalidArguments(m) => CallFailure::InvalidArguments(m),
                bindings::ToolError::Failed(m) => CallFailure::Failed(m),
                bindings::ToolError::Denied(m) => CallFailure::Denied(m),
                bindings::ToolError::Unavailable(m) => CallFailure::Unavailable(m),
            })
        })?;
        if text.len() > MAX_RESULT_BYTES {
            return Err(fail(CallFailure::OutputTooLarge {
                size: text.len(),
                limit: MAX_RESULT_BYTES,
            }));
        }
        if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
            return Err(fail(CallFailure::MalformedOutput {
                detail: error.to_string(),
            }));
        }
        Ok(text)
    }

    /// Runs one export call in a fresh store under the tool's limits.
    async fn run<R: Send + 'static>(
        &self,
        prepared: &Arc<Prepared>,
        identity: Arc<CallIdentity>,
        limits: ToolLimits,
        call: impl for<'a> FnOnce(
            &'a ToolWorld,
            &'a mut Store<CallState>,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 'a>>
        + Send,
    ) -> Result<R, CallError> {
        let fail = |failure| CallError {
            tool: identity.tool.clone(),
            version: identity.version.clone(),
            failure,
        };
        let timeout = Duration::from_millis(limits.timeout_ms);
        // A call waits for a slot at most as long as it may run: a queue that never moves is
        // an answer the caller can act on, not a hang.
        let _permit = match tokio::time::timeout(timeout, self.inner.permits.acquire()).await {
            Ok(permit) => permit.map_err(|_| fail(CallFailure::Host("the plugin host is shutting down".into())))?,
            Err(_) => {
                return Err(fail(CallFailure::Busy {
                    slots: self.inner.config.limits.max_concurrent_calls,
                    waited_ms: limits.timeout_ms,
                }));
            }
        };
        let deadline = Instant::now() + timeout;
        let state = CallState::new(
            identity.clone(),
            self.inner.services.clone(),
            limits.memory_bytes,
            deadline,
        );
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|state| &mut state.memory);
        if self.inner.config.limits.fuel_enabled {
            store
                .set_fuel(limits.fuel.unwrap_or(u64::MAX))
                .map_err(|e| fail(CallFailure::Host(e.to_string())))?;
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Err(DeadlineReached.into())
            } else {
                // Yield to the async runtime every tick so one busy guest cannot starve others.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let work = async {
            let bindings = prepared.pre.instantiate_async(&mut store).await?;
            call(&bindings, &mut store).await
        };
        let result = match tokio::time::timeout(timeout + OUTER_TIMEOUT_GRACE, work).await {
            Ok(result) => result,
            Err(_elapsed) => {
                return Err(fail(CallFailure::Timeout {
                    timeout_ms: limits.timeout_ms,
                }));
            }
        };
        let value = result.map_err(|error| fail(classify(&error, &store, &limits)))?;
        if store.data().kv_written {
            let kv = self.inner.services.kv.clone();
            tokio::task::spawn_blocking(move || kv.flush())
                .await
                .map_err(|e| e.to_string())
                .and_then(|flushed| flushed)
                .map_err(|e| {
                    fail(CallFailure::Host(format!(
                        "its kv writes could not be made durable: {e}"
                    )))
                })?;
        }
        Ok(value)
    }
}

/// Turns a wasmtime error into the precise cause of the failure.
fn classify(error: &wasmtime::Error, store: &Store<CallState>, limits: &ToolLimits) -> CallFailure {
    if error.chain().any(|cause| cause.is::<DeadlineReached>()) {
        return CallFailure::Timeout {
            timeout_ms: limits.timeout_ms,
        };
    }
    if let Some(reached) = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<MemoryLimitReached>())
    {
        return CallFailure::OutOfMemory {
            limit_bytes: limits.memory_bytes,
            requested_bytes: reached.requested,
        };
    }
    let output = store.data().captured_output();
    let trap = error.downcast_ref::<Trap>();
    match trap {
        Some(Trap::OutOfFuel) => {
            return CallFailure::OutOfFuel {
                fuel: limits.fuel.unwrap_or(0),
            };
        }
        Some(Trap::Interrupt) => {
            return CallFailure::Timeout {
                timeout_ms: limits.timeout_ms,
            };
        }
        _ => {}
    }
    // A Rust guest prints its panic message to stderr, then aborts with `unreachable`.
    if let Some(start) = output.find("panicked at") {
        let message = output[start..].trim().replace('\n', " ");
        return CallFailure::Panic {
            message: tail(&message, 1024),
        };
    }
    match trap {
        Some(trap) => CallFailure::Trap {
            message: trap.to_string(),
            stderr: tail(output.trim(), 1024),
        },
        // Not a trap: instantiation or the host failed (e.g. the instance pool is exhausted).
        None => CallFailure::Host(format!("{error:#}")),
    }
}

/// The last `max` bytes of `text`, on a character boundary.
fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}
