//! The tool registry: registered tools persisted in the store and loaded in the plugin host.
//! It knows nothing of gRPC; `grpc::tools` converts to and from wire types.
//!
//! Name rule: a name holds one tool. Registering identical bytes with the same grants and limits
//! again is a no-op. Otherwise an existing name needs `replace`, and different bytes also need a
//! strictly greater semantic version; anything else is a clash.

use interarec_core::{
    ArgumentSchema, Grant, GrantError, Grants, LimitError, ManifestError, RequestedLimits, SchemaError, ToolRecord,
};
use interarec_plugin_host::{CallError, LoadError, PluginHost, ToolHandle};
use interarec_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Why a registry operation failed. `grpc::status` maps each variant to one status code.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The component could not be loaded or described.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The description is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A grant is invalid or not requested.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// Requested limits are out of range.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// No tool of that name.
    #[error("no tool named `{0}` is registered; `interarec tools list` shows the registered tools")]
    NotFound(String),
    /// The name is taken under the name rule.
    #[error("{0}")]
    Clash(String),
    /// The arguments do not fit the tool's schema.
    #[error("tool `{tool}`@{version}: {error}")]
    Arguments {
        /// The tool.
        tool: String,
        /// Its version.
        version: String,
        /// What is wrong.
        error: SchemaError,
    },
    /// The call failed inside the sandbox.
    #[error(transparent)]
    Call(#[from] CallError),
    /// The tool's component could not be loaded at start-up.
    #[error("tool `{tool}` could not be loaded at start-up ({reason}); register it again with --replace or remove it")]
    Broken {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The outcome of a registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The tool as now registered.
    pub record: ToolRecord,
    /// Nothing changed: the same registration existed.
    pub unchanged: bool,
    /// An earlier registration of the name was replaced.
    pub replaced: bool,
}

/// The result of one invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// JSON text returned by the tool.
    pub result_json: String,
    /// The version that ran.
    pub tool_version: String,
    /// Time spent in the server, validation included.
    pub duration: Duration,
}

struct LoadedTool {
    record: ToolRecord,
    runtime: Result<(ToolHandle, ArgumentSchema), String>,
}

/// The registry. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    host: PluginHost,
    tools: Arc<RwLock<HashMap<String, Arc<LoadedTool>>>>,
    /// Serialises registrations and removals so the name rule is checked atomically.
    writes: Arc<tokio::sync::Mutex<()>>,
    /// One sync with the store at a time (a second caller then finds the tools loaded).
    syncing: Arc<tokio::sync::Mutex<()>>,
}

impl Registry {
    /// Loads every stored tool into the plugin host (compiled artifacts come from the disk
    /// cache). A tool that fails to load stays listed and answers its calls with the reason.
    pub async fn open(store: Store, host: PluginHost) -> Result<Registry, RegistryError> {
        let mut tools = HashMap::new();
        for record in store.list_tools()? {
            let runtime = match store.component_of(&record) {
                Ok(bytes) => load(&host, bytes, &record).await,
                Err(error) => Err(error.to_string()),
            };
            if let Err(reason) = &runtime {
                tracing::error!(tool = %record.manifest.name, "tool could not be loaded: {reason}");
            }
            tools.insert(record.manifest.name.clone(), Arc::new(LoadedTool { record, runtime }));
        }
        Ok(Registry {
            store,
            host,
            tools: Arc::new(RwLock::new(tools)),
            writes: Arc::default(),
            syncing: Arc::default(),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<LoadedTool>>> {
        self.tools.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<LoadedTool>>> {
        self.tools.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a component under the name it describes itself with.
    pub async fn register(
        &self,
        component: Vec<u8>,
        grants: Vec<Grant>,
        limits: RequestedLimits,
        replace: bool,
    ) -> Result<Registration, RegistryError> {
        let host = self.host.clone();
        let bytes = Arc::new(component);
        let compile_bytes = bytes.clone();
        let prepared = tokio::task::spawn_blocking(move || host.prepare(&compile_bytes))
            .await
            .map_err(|e| LoadError::Compile(format!("the compiler thread failed: {e}")))??;
        let manifest = self.host.describe(&prepared).await?;
        let grants = Grants::new(grants, &manifest.capabilities)?;
        let limits = self.host.limits().resolve(limits)?;
        let schema = ArgumentSchema::compile(manifest.arguments_schema.clone()).map_err(ManifestError::from)?;

        let _guard = self.writes.lock().await;
        // Another server sharing the store may have registered the name since the last sync.
        if self.store.is_shared() {
            self.sync().await?;
        }
        let existing = self.read().get(&manifest.name).cloned();
        let mut replaced = false;
        if let Some(existing) = &existing {
            let old = &existing.record;
            let same_bytes = old.sha256 == prepared.sha256;
            if same_bytes && old.grants == grants && old.limits == limits && existing.runtime.is_ok() {
                return Ok(Registration {
                    record: old.clone(),
                    unchanged: true,
                    replaced: false,
                });
            }
            if !replace {
                return Err(RegistryError::Clash(format!(
                    "tool `{}` is already registered (version {}, sha256 {}); pass replace (`--replace`) to update it{}",
                    manifest.name,
                    old.manifest.version,
                    &old.sha256[..12],
                    if same_bytes {
                        ""
                    } else {
                        " with a strictly greater version"
                    }
                )));
            }
            if !same_bytes && manifest.semver() <= old.manifest.semver() {
                return Err(RegistryError::Clash(format!(
                    "tool `{}` {} is registered; a replacement with different bytes must have a greater version, not {}",
                    manifest.name, old.manifest.version, manifest.version
                )));
            }
            replaced = true;
        }
        let now_ms = interarec_core::unix_millis();
        let record = ToolRecord {
            manifest: manifest.clone(),
            grants: grants.clone(),
            limits,
            sha256: prepared.sha256.clone(),
            component_size: bytes.len() as u64,
            wit_version: prepared.wit_version.clone(),
            registered_at_unix_ms: now_ms,
        };
        self.store.put_tool(&record, &bytes)?;
        let handle = ToolHandle {
            prepared,
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            grants,
            limits,
        };
        let entry = Arc::new(LoadedTool {
            record: record.clone(),
            runtime: Ok((handle, schema)),
        });
        let previous = self.write().insert(manifest.name.clone(), entry);
        if let Some(previous) = previous
            && previous.record.sha256 != record.sha256
            && !self.sha_in_use(&previous.record.sha256)
        {
            self.host.forget(&previous.record.sha256);
        }
        tracing::info!(tool = %record.manifest.name, version = %record.manifest.version, replaced, "tool registered");
        Ok(Registration {
            record,
            unchanged: false,
            replaced,
        })
    }

    /// Brings the loaded tools in line with the store: on a shared store other servers
    /// register, replace and remove tools (the server calls this when [`Store::changes`] says
    /// tools changed, and before a call to a name it does not know).
    pub async fn sync(&self) -> Result<(), RegistryError> {
        let _syncing = self.syncing.lock().await;
        let stored = self.store.list_tools()?;
        for record in &stored {
            let name = &record.manifest.name;
            if self.read().get(name).is_some_and(|loaded| &loaded.record == record) {
                continue;
            }
            let runtime = match self.store.component_of(record) {
                Ok(bytes) => load(&self.host, bytes, record).await,
                Err(error) => Err(error.to_string()),
            };
            tracing::info!(tool = %name, version = %record.manifest.version, "tool registered on another server loaded");
            let loaded = Arc::new(LoadedTool {
                record: record.clone(),
                runtime,
            });
            // Bound first: a guard in the condition would live through `sha_in_use`'s read.
            let previous = self.write().insert(name.clone(), loaded);
            if let Some(previous) = previous
                && previous.record.sha256 != record.sha256
                && !self.sha_in_use(&previous.record.sha256)
            {
                self.host.forget(&previous.record.sha256);
            }
        }
        let gone: Vec<String> = self
            .read()
            .keys()
            .filter(|name| !stored.iter().any(|record| &record.manifest.name == *name))
            .cloned()
            .collect();
        for name in gone {
            let removed = self.write().remove(&name);
            if let Some(removed) = removed
                && !self.sha_in_use(&removed.record.sha256)
            {
                self.host.forget(&removed.record.sha256);
            }
            tracing::info!(tool = %name, "tool removed on another server unloaded");
        }
        Ok(())
    }

    fn sha_in_use(&self, sha256: &str) -> bool {
        self.read().values().any(|tool| tool.record.sha256 == sha256)
    }

    /// The plugin host the tools run in (its slots are a metric).
    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    /// Every registered tool, by name.
    pub fn list(&self) -> Vec<ToolRecord> {
        let mut records: Vec<ToolRecord> = self.read().values().map(|tool| tool.record.clone()).collect();
        records.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
        records
    }

    /// One tool.
    pub fn describe(&self, name: &str) -> Result<ToolRecord, RegistryError> {
        self.read()
            .get(name)
            .map(|tool| tool.record.clone())
            .ok_or_else(|| RegistryError::NotFound(name.to_owned()))
    }

    /// Validates the arguments against the tool's schema and runs the tool.
    pub async fn invoke(&self, name: &str, arguments_json: &str, session: &str) -> Result<Invocation, RegistryError> {
        let started = Instant::now();
        let mut tool = self.read().get(name).cloned();
        if tool.is_none() && self.store.is_shared() {
            // Registered on another server moments ago, before this one's next sync.
            self.sync().await?;
            tool = self.read().get(name).cloned();
        }
        let tool = tool.ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
        let (handle, schema) = tool.runtime.as_ref().map_err(|reason| RegistryError::Broken {
            tool: name.to_owned(),
            reason: reason.clone(),
        })?;
        schema
            .validate_text(arguments_json)
            .map_err(|error| RegistryError::Arguments {
                tool: handle.name.clone(),
                version: handle.version.clone(),
                error,
            })?;
        let result_json = self.host.invoke(handle, session, arguments_json).await?;
        Ok(Invocation {
            result_json,
            tool_version: handle.version.clone(),
            duration: started.elapsed(),
        })
    }

    /// Removes a tool, its kv state and (when unshared) its component.
    pub async fn remove(&self, name: &str) -> Result<ToolRecord, RegistryError> {
        let _guard = self.writes.lock().await;
        let record = self
            .store
            .remove_tool(name)?
            .ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
        self.write().remove(name);
        if !self.sha_in_use(&record.sha256) {
            self.host.forget(&record.sha256);
        }
        tracing::info!(tool = %name, "tool removed");
        Ok(record)
    }

    /// Flushes the store (called at shutdown).
    pub fn flush(&self) -> Result<(), RegistryError> {
        Ok(self.store.flush()?)
    }
}

/// The pipeline and the agent loop reach tools through this.
impl interarec_core::Tools for Registry {
    fn manifest(&self, name: &str) -> Option<interarec_core::ToolManifest> {
        if let Some(tool) = self.read().get(name) {
            return Some(tool.record.manifest.clone());
        }
        // Registered on another server and not loaded here yet: it exists (a call loads it).
        self.store
            .is_shared()
            .then(|| self.store.get_tool(name).ok().flatten())
            .flatten()
            .map(|record| record.manifest)
    }

    fn invoke<'a>(
        &'a self,
        name: &'a str,
        arguments_json: String,
        session_id: &'a str,
    ) -> interarec_core::ToolFuture<'a> {
        Box::pin(async move {
            Registry::invoke(self, name, &arguments_json, session_id)
                .await
                .map(|invocation| invocation.result_json)
                .map_err(|error| error.to_string())
        })
    }
}

async fn load(host: &PluginHost, bytes: Vec<u8>, record: &ToolRecord) -> Result<(ToolHandle, ArgumentSchema), String> {
    let compile_host = host.clone();
    let prepared = tokio::task::spawn_blocking(move || compile_host.prepare(&bytes))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let schema = ArgumentSchema::compile(record.manifest.arguments_schema.clone()).map_err(|e| e.to_string())?;
    let handle = ToolHandle {
        prepared,
        name: record.manifest.name.clone(),
        version: record.manifest.version.clone(),
        grants: record.grants.clone(),
        limits: record.limits,
    };
    Ok((handle, schema))
}
