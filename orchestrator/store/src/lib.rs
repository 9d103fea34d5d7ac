//! InteraRec persistence on sled: typed trees, big-endian keys, a schema version checked at
//! start-up.
//!
//! Trees in schema version 1:
//! - `meta`: `schema_version` → u32 big-endian.
//! - `tools`: tool name → [`ToolRecord`] as JSON.
//! - `components`: sha256 (32 raw bytes) → component bytes, shared by every tool with that hash.
//! - `tool_kv`: (session, tool, key) → value, each key segment prefixed by its big-endian u16
//!   length so a prefix scan returns one scope in byte order.
//! - `catalogs`: catalog id → [`CatalogRecord`] as JSON.
//! - `catalog_items`: (catalog id, big-endian u32 position) → [`Item`] as JSON, for catalogs
//!   imported before item sets were versioned (generation 0); read, never written.
//! - `catalog_item_sets`: (catalog id, big-endian u64 generation, big-endian u32 position) →
//!   [`Item`] as JSON; a catalog's record names the generation that is its items.
//! - `choice_models`: model id → [`ChoiceModel`] as JSON.
//! - `sessions`: session id → [`SessionRecord`] as JSON.
//! - `frame_blobs`: sha256 (32 raw bytes) → image bytes, shared by every frame with those bytes.
//! - `frames`: (length-prefixed session id, big-endian u64 sequence) → [`FrameMeta`] as JSON.
//! - `session_events`: (length-prefixed session id, big-endian u64 event sequence) →
//!   [`SessionEvent`] as JSON.
//! - `ocr_pages`: `engine/sha256` → what that OCR engine read on that frame content (JSON owned
//!   by the vision crate), so each frame is read once per engine.
//!
//! Trees added within version 1 (models, sessions, frames, events, OCR pages, item sets) start
//! empty on an older database, which is all an older database can mean.
//!
//! No write uses sled's transactions or batches (they take a process-wide lock): content is
//! written first and the record that points at it last, so the record is the commit point. A
//! crash in between leaves content nothing points at: unreferenced components are swept when
//! the store opens, a catalog's unreferenced item sets when it is next imported.

mod failure;
mod keys;
mod leases;
pub mod postgres;
mod sessions;
mod tree;

use interarec_choice::model::ChoiceModel;
use interarec_core::ToolRecord;
use interarec_core::catalog::{CatalogRecord, Item};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub use keys::KvScope;
pub use leases::{HeldLease, Lease, LeaseHolder};

use tree::Tree;

/// The layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";

/// sled's page cache (its default is 1 GiB). What is read hot is held decoded elsewhere
/// (catalog columns, models, OCR pages), so a small cache keeps a million-item import or the
/// start-up decode from holding the catalog's pages twice.
pub const CACHE_BYTES: u64 = 128 << 20;

/// Largest kv key, in bytes.
pub const MAX_KV_KEY_BYTES: usize = 256;
/// Largest kv value, in bytes.
pub const MAX_KV_VALUE_BYTES: usize = 1024 * 1024;

/// What went wrong in the store. Every message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database.
    #[error(
        "the data dir {path} is in use by another process (is another `interarec serve` running?); stop it or choose another --data-dir"
    )]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// The database files are damaged.
    #[error(
        "the database in {path} is corrupt ({detail}); restore it from a backup or move it aside and start with an empty --data-dir; it was not modified"
    )]
    Corrupt {
        /// The data directory.
        path: PathBuf,
        /// sled's description.
        detail: String,
    },
    /// Written by another version of InteraRec.
    #[error(
        "the database in {path} has schema version {found} but this build reads version {expected}; use the matching interarec release or start with an empty --data-dir"
    )]
    IncompatibleSchema {
        /// The data directory.
        path: PathBuf,
        /// Version on disk.
        found: u32,
        /// Version of this build.
        expected: u32,
    },
    /// A record that does not decode.
    #[error(
        "record `{key}` in tree `{tree}` does not decode ({detail}); the database is damaged or was written by an incompatible build"
    )]
    BadRecord {
        /// The tree.
        tree: &'static str,
        /// The key, printable.
        key: String,
        /// The decoder's complaint.
        detail: String,
    },
    /// A tool record points at a component blob that is missing.
    #[error("component {sha256} of tool `{tool}` is missing from the store; remove the tool and register it again")]
    MissingComponent {
        /// The tool.
        tool: String,
        /// The missing hash.
        sha256: String,
    },
    /// A kv request over a documented limit.
    #[error("{0}")]
    KvLimit(String),
    /// The shared database cannot be reached (or refused the connection).
    #[error("the store at {location} cannot be reached: {detail}")]
    Unreachable {
        /// The database URL, without its password.
        location: String,
        /// What failed, and what to check.
        detail: String,
    },
    /// Any other I/O failure.
    #[error("storage error in {path}: {detail}")]
    Io {
        /// The data directory.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
}

/// Where a store lives: a sled database in a data dir (one process), or a PostgreSQL-compatible
/// database any number of servers share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// sled in `<data dir>/db`.
    Sled(PathBuf),
    /// A `postgres://` (or `postgresql://`) URL.
    Postgres {
        /// The connection URL (libpq's URL form).
        url: String,
        /// Connections this process keeps open.
        pool_size: usize,
    },
}

impl StoreLocation {
    /// `store` as configured: a `postgres://`/`postgresql://` URL, or empty/`sled` for the sled
    /// database in `data_dir`.
    pub fn parse(store: &str, data_dir: &Path, pool_size: usize) -> Result<StoreLocation, String> {
        let store = store.trim();
        if store.is_empty() || store == "sled" {
            return Ok(StoreLocation::Sled(data_dir.to_owned()));
        }
        if store.starts_with("postgres://") || store.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres {
                url: store.to_owned(),
                pool_size: pool_size.max(1),
            });
        }
        Err(format!(
            "store `{}` is neither `sled` nor a `postgres://user@host:port/database` URL",
            postgres::redacted(store)
        ))
    }
}

#[derive(Clone)]
enum Backend {
    Sled(sled::Db),
    /// A PostgreSQL-compatible database (its connections live in the trees' handles).
    Postgres,
}

/// The database and its typed trees.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    backend: Backend,
    meta: Tree,
    leases: Tree,
    tools: Tree,
    components: Tree,
    tool_kv: Tree,
    catalogs: Tree,
    catalog_items: Tree,
    catalog_item_sets: Tree,
    choice_models: Tree,
    sessions: Tree,
    frame_blobs: Tree,
    ocr_pages: Tree,
    frames: Tree,
    session_events: Tree,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the sled database in `data_dir/db`, checking its schema version.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join("db");
        std::fs::create_dir_all(&path).map_err(|e| StoreError::Io {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|error| open_error(&path, error))?;
        let trees = db.clone();
        let open_path = path.clone();
        let store = Store::with_trees(path, Backend::Sled(db), move |name| {
            trees
                .open_tree(name)
                .map(Tree::Sled)
                .map_err(|error| open_error(&open_path, error))
        })?;
        store.sweep_components()?;
        Ok(store)
    }

    /// Connects to a PostgreSQL-compatible database at `url` with `pool_size` connections,
    /// creating or migrating its schema, and checks the schema version. Any number of servers
    /// may open the same database.
    pub fn open_postgres(url: &str, pool_size: usize) -> Result<Store, StoreError> {
        let shown = PathBuf::from(postgres::redacted(url));
        let db = postgres::Postgres::connect(url, pool_size).map_err(|error| StoreError::Unreachable {
            location: shown.display().to_string(),
            detail: error.to_string(),
        })?;
        let trees = db.clone();
        // Components are not swept here: another server may be between writing a component and
        // its record, and an unreferenced blob costs only space.
        Store::with_trees(shown, Backend::Postgres, move |name| {
            Ok(Tree::Postgres {
                db: trees.clone(),
                name,
            })
        })
    }

    /// Opens the store `location` names.
    pub fn open_at(location: &StoreLocation) -> Result<Store, StoreError> {
        match location {
            StoreLocation::Sled(data_dir) => Store::open(data_dir),
            StoreLocation::Postgres { url, pool_size } => Store::open_postgres(url, *pool_size),
        }
    }

    fn with_trees(
        path: PathBuf,
        backend: Backend,
        open_tree: impl Fn(&'static str) -> Result<Tree, StoreError>,
    ) -> Result<Store, StoreError> {
        let store = Store {
            meta: open_tree("meta")?,
            leases: open_tree("leases")?,
            tools: open_tree("tools")?,
            components: open_tree("components")?,
            tool_kv: open_tree("tool_kv")?,
            catalogs: open_tree("catalogs")?,
            catalog_items: open_tree("catalog_items")?,
            catalog_item_sets: open_tree("catalog_item_sets")?,
            choice_models: open_tree("choice_models")?,
            sessions: open_tree("sessions")?,
            frame_blobs: open_tree("frame_blobs")?,
            ocr_pages: open_tree("ocr_pages")?,
            frames: open_tree("frames")?,
            session_events: open_tree("session_events")?,
            path,
            backend,
        };
        let corrupt = |detail: String| StoreError::Corrupt {
            path: store.path.clone(),
            detail,
        };
        match store.meta.get(SCHEMA_VERSION_KEY).map_err(|e| store.io(e))? {
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_slice())
                    .map(u32::from_be_bytes)
                    .map_err(|_| corrupt("schema_version is not a u32".into()))?;
                if found != SCHEMA_VERSION {
                    return Err(StoreError::IncompatibleSchema {
                        path: store.path.clone(),
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                let data_trees = [
                    &store.tools,
                    &store.components,
                    &store.tool_kv,
                    &store.catalogs,
                    &store.catalog_items,
                    &store.catalog_item_sets,
                    &store.choice_models,
                    &store.sessions,
                    &store.frame_blobs,
                    &store.frames,
                    &store.session_events,
                ];
                for tree in data_trees {
                    if !tree.is_empty().map_err(|e| store.io(e))? {
                        return Err(corrupt("it holds data but no schema version".into()));
                    }
                }
                // Servers starting on an empty shared database at once all write the same value.
                let version = SCHEMA_VERSION.to_be_bytes();
                store
                    .meta
                    .compare_and_swap(SCHEMA_VERSION_KEY, None, Some(&version))
                    .map_err(|e| store.io(e))?;
                store.flush()?;
            }
        }
        Ok(store)
    }

    /// Removes component blobs no tool record points at (left by a crash between writing a
    /// component and its record, or between removing a record and its component).
    fn sweep_components(&self) -> Result<(), StoreError> {
        let referenced: std::collections::HashSet<Vec<u8>> = self
            .list_tools()?
            .iter()
            .filter_map(|tool| hex::decode(&tool.sha256).ok())
            .collect();
        for key in self.components.iter().keys() {
            let key = key.map_err(|e| self.io(e))?;
            if !referenced.contains(key.as_slice()) {
                self.components.remove(key).map_err(|e| self.io(e))?;
            }
        }
        Ok(())
    }

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, error: impl std::fmt::Display) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            detail: error.to_string(),
        }
    }

    /// Stores a tool and its component atomically, replacing a tool of the same name, and
    /// flushes to disk before returning. The previous component blob is dropped when no other
    /// tool uses it.
    pub fn put_tool(&self, record: &ToolRecord, component: &[u8]) -> Result<(), StoreError> {
        let hash = Sha256::digest(component);
        debug_assert_eq!(hex::encode(hash), record.sha256);
        let encoded = serde_json::to_vec(record).map_err(|e| self.io(e))?;
        let previous = self.get_tool(&record.manifest.name)?;
        let orphan = previous
            .filter(|old| old.sha256 != record.sha256)
            .map(|old| old.sha256)
            .filter(|sha| !self.component_shared(sha, &record.manifest.name));
        let orphan = orphan.and_then(|sha| hex::decode(sha).ok());
        // The component first, the record (the commit point) last, the old component after.
        self.components
            .insert(hash.as_slice(), component)
            .map_err(|e| self.io(e))?;
        self.tools
            .insert(record.manifest.name.as_bytes(), encoded.as_slice())
            .map_err(|e| self.io(e))?;
        if let Some(orphan) = &orphan {
            self.components.remove(orphan.as_slice()).map_err(|e| self.io(e))?;
        }
        self.note_change(Changed::Tools)?;
        self.flush()?;
        Ok(())
    }

    fn component_shared(&self, sha256: &str, except_tool: &str) -> bool {
        self.list_tools()
            .map(|tools| {
                tools
                    .iter()
                    .any(|t| t.sha256 == sha256 && t.manifest.name != except_tool)
            })
            .unwrap_or(true)
    }

    /// The tool registered under `name`.
    pub fn get_tool(&self, name: &str) -> Result<Option<ToolRecord>, StoreError> {
        match self.tools.get(name.as_bytes()).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(bytes) => decode_tool(name.as_bytes(), &bytes).map(Some),
        }
    }

    /// Every registered tool, by name.
    pub fn list_tools(&self) -> Result<Vec<ToolRecord>, StoreError> {
        self.tools
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(|e| self.io(e))?;
                decode_tool(&key, &value)
            })
            .collect()
    }

    /// The component bytes of a registered tool.
    pub fn component_of(&self, record: &ToolRecord) -> Result<Vec<u8>, StoreError> {
        let missing = || StoreError::MissingComponent {
            tool: record.manifest.name.clone(),
            sha256: record.sha256.clone(),
        };
        let key = hex::decode(&record.sha256).map_err(|_| missing())?;
        let bytes = self.components.get(key).map_err(|e| self.io(e))?.ok_or_else(missing)?;
        Ok(bytes.to_vec())
    }

    /// Removes a tool, its kv state and its component blob (when no other tool shares it).
    /// Returns the removed record.
    pub fn remove_tool(&self, name: &str) -> Result<Option<ToolRecord>, StoreError> {
        let Some(record) = self.get_tool(name)? else {
            return Ok(None);
        };
        let drop_component = !self.component_shared(&record.sha256, name);
        let sha = hex::decode(&record.sha256).unwrap_or_default();
        // The record first (the commit point), then what only it pointed at.
        self.tools.remove(name.as_bytes()).map_err(|e| self.io(e))?;
        if drop_component {
            self.components.remove(sha.as_slice()).map_err(|e| self.io(e))?;
        }
        for key in self.tool_kv.iter().keys() {
            let key = key.map_err(|e| self.io(e))?;
            if keys::KvScope::tool_of(&key) == Some(name.as_bytes()) {
                self.tool_kv.remove(key).map_err(|e| self.io(e))?;
            }
        }
        self.note_change(Changed::Tools)?;
        self.flush()?;
        Ok(Some(record))
    }

    /// The value of `key` in a kv scope.
    pub fn kv_get(&self, scope: &KvScope, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_kv_key(key)?;
        Ok(self
            .tool_kv
            .get(scope.key(key))
            .map_err(|e| self.io(e))?
            .map(|v| v.to_vec()))
    }

    /// Sets `key` in a kv scope. Durable after the next [`Store::flush`] (the plugin host
    /// flushes once after each call that wrote, before acknowledging it).
    pub fn kv_set(&self, scope: &KvScope, key: &str, value: &[u8]) -> Result<(), StoreError> {
        check_kv_key(key)?;
        if value.len() > MAX_KV_VALUE_BYTES {
            return Err(StoreError::KvLimit(format!(
                "kv value of {} bytes is over the {MAX_KV_VALUE_BYTES}-byte limit; store less or split it over several keys",
                value.len()
            )));
        }
        self.tool_kv.insert(scope.key(key), value).map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Deletes `key` from a kv scope.
    pub fn kv_delete(&self, scope: &KvScope, key: &str) -> Result<(), StoreError> {
        check_kv_key(key)?;
        self.tool_kv.remove(scope.key(key)).map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Keys of a kv scope starting with `prefix`, in byte order (at most 10,000).
    pub fn kv_list(&self, scope: &KvScope, prefix: &str) -> Result<Vec<String>, StoreError> {
        let scan = scope.key(prefix);
        let skip = scope.key("").len();
        self.tool_kv
            .scan_prefix(scan)
            .keys()
            .take(10_000)
            .map(|key| {
                let key = key.map_err(|e| self.io(e))?;
                String::from_utf8(key[skip..].to_vec()).map_err(|e| self.io(e))
            })
            .collect()
    }

    /// Stores a catalog and its items, replacing a catalog of the same id, and flushes (see
    /// [`Store::begin_catalog`]).
    pub fn put_catalog(&self, record: &CatalogRecord, items: &[Item]) -> Result<(), StoreError> {
        let mut writer = self.begin_catalog(&record.id)?;
        for item in items {
            writer.put(item)?;
        }
        match writer.commit(record)? {
            (_, Some(replaced)) => self.remove_replaced(replaced),
            (_, None) => Ok(()),
        }
    }

    /// Removes the items a commit replaced, and flushes.
    pub fn remove_replaced(&self, replaced: ReplacedItems) -> Result<(), StoreError> {
        self.remove_items_of(&replaced.record)?;
        self.flush()?;
        Ok(())
    }

    /// Starts storing a new set of items for catalog `id`, item by item, so an import never holds
    /// them all. The items go to a new generation and the record (the commit point) goes last,
    /// so readers and a crash in between see the old catalog whole (or none); the old
    /// generation's items are removed after. One writer per catalog at a time (the caller's
    /// lock); a writer dropped without [`CatalogWriter::commit`] leaves items that nothing points
    /// at, removed by [`CatalogWriter::abandon`] or else by the next import of that id.
    pub fn begin_catalog(&self, id: &str) -> Result<CatalogWriter<'_>, StoreError> {
        let previous = self.get_catalog(id)?;
        let live_generation = previous.as_ref().map(|old| old.generation);
        // Item sets nothing points at (an import or removal cut short) go first.
        self.remove_item_sets(id, live_generation)?;
        Ok(CatalogWriter {
            store: self,
            id: id.to_owned(),
            generation: live_generation.map_or(1, |g| g + 1),
            position: 0,
            previous,
            encoded: Vec::new(),
        })
    }

    /// Removes every item set of `catalog` except generation `keep`.
    fn remove_item_sets(&self, catalog: &str, keep: Option<u64>) -> Result<(), StoreError> {
        let prefix = keys::catalog_prefix(catalog);
        // Keys sort by generation, so the kept one is skipped by range, never read.
        let (before, after) = match keep {
            None => (self.catalog_item_sets.scan_prefix(&prefix), None),
            Some(generation) => (
                self.catalog_item_sets
                    .range(prefix.clone()..keys::item_set_prefix(catalog, generation)),
                generation
                    .checked_add(1)
                    .map(|next| self.catalog_item_sets.range(keys::item_set_prefix(catalog, next)..)),
            ),
        };
        for key in before.keys().chain(after.into_iter().flat_map(tree::Entries::keys)) {
            let key = key.map_err(|e| self.io(e))?;
            if !key.starts_with(&prefix) {
                break;
            }
            self.catalog_item_sets.remove(key).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Removes the items a catalog record points at.
    fn remove_items_of(&self, record: &CatalogRecord) -> Result<(), StoreError> {
        let (tree, prefix) = self.items_of(record);
        for key in tree.scan_prefix(prefix).keys() {
            tree.remove(key.map_err(|e| self.io(e))?).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// The tree and key prefix of a catalog record's items.
    fn items_of(&self, record: &CatalogRecord) -> (&Tree, Vec<u8>) {
        if record.generation == 0 {
            (&self.catalog_items, keys::catalog_prefix(&record.id))
        } else {
            (
                &self.catalog_item_sets,
                keys::item_set_prefix(&record.id, record.generation),
            )
        }
    }

    /// One catalog's record.
    pub fn get_catalog(&self, id: &str) -> Result<Option<CatalogRecord>, StoreError> {
        match self.catalogs.get(id.as_bytes()).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(bytes) => decode("catalogs", id.as_bytes(), &bytes).map(Some),
        }
    }

    /// Every catalog, by id.
    pub fn list_catalogs(&self) -> Result<Vec<CatalogRecord>, StoreError> {
        self.catalogs
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(|e| self.io(e))?;
                decode("catalogs", &key, &value)
            })
            .collect()
    }

    /// Items `offset..offset + limit` of a catalog, in import order (none for an unknown one).
    pub fn catalog_items(&self, id: &str, offset: u32, limit: u32) -> Result<Vec<Item>, StoreError> {
        let Some(record) = self.get_catalog(id)? else {
            return Ok(Vec::new());
        };
        let end = offset
            .saturating_add(limit)
            .min(u32::try_from(record.item_count).unwrap_or(u32::MAX));
        let (tree, prefix) = self.items_of(&record);
        let key = |position: u32| {
            let mut key = prefix.clone();
            key.extend_from_slice(&position.to_be_bytes());
            key
        };
        if offset >= end {
            return Ok(Vec::new());
        }
        tree.range(key(offset)..key(end))
            .map(|entry| {
                let (key, value) = entry.map_err(|e| self.io(e))?;
                decode("catalog_items", &key, &value)
            })
            .collect()
    }

    /// Removes a catalog and its items; returns its record. The record goes first (the commit
    /// point); items a crash leaves behind are removed by the next import of that id.
    pub fn remove_catalog(&self, id: &str) -> Result<Option<CatalogRecord>, StoreError> {
        let Some(record) = self.get_catalog(id)? else {
            return Ok(None);
        };
        self.catalogs.remove(id.as_bytes()).map_err(|e| self.io(e))?;
        self.remove_items_of(&record)?;
        self.note_change(Changed::Catalogs)?;
        self.flush()?;
        Ok(Some(record))
    }

    /// Calls `each` with every item of a catalog in import order, reading them in pages, and
    /// returns the record they belong to (`None`: no such catalog).
    pub fn for_each_catalog_item(
        &self,
        id: &str,
        mut each: impl FnMut(Item),
    ) -> Result<Option<CatalogRecord>, StoreError> {
        let Some(record) = self.get_catalog(id)? else {
            return Ok(None);
        };
        let (tree, prefix) = self.items_of(&record);
        let end = u32::try_from(record.item_count).unwrap_or(u32::MAX);
        let mut last = prefix.clone();
        last.extend_from_slice(&end.to_be_bytes());
        // Bounded by the record's count: items past it are a crash's leftovers.
        for entry in tree.range(prefix..last) {
            let (key, value) = entry.map_err(|e| self.io(e))?;
            each(decode("catalog_items", &key, &value)?);
        }
        Ok(Some(record))
    }

    /// Every item of a catalog, in import order.
    pub fn all_catalog_items(&self, id: &str) -> Result<Vec<Item>, StoreError> {
        self.catalog_items(id, 0, u32::MAX)
    }

    /// Stores a fitted model, replacing one of the same id, and flushes.
    pub fn put_choice_model(&self, model: &ChoiceModel) -> Result<(), StoreError> {
        let encoded = serde_json::to_vec(model).map_err(|e| self.io(e))?;
        self.choice_models
            .insert(model.id.as_bytes(), encoded)
            .map_err(|e| self.io(e))?;
        self.note_change(Changed::Models)?;
        self.flush()?;
        Ok(())
    }

    /// One model as stored (JSON), without decoding it.
    pub fn choice_model_json(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .choice_models
            .get(id.as_bytes())
            .map_err(|e| self.io(e))?
            .map(|bytes| bytes.to_vec()))
    }

    /// One model.
    pub fn get_choice_model(&self, id: &str) -> Result<Option<ChoiceModel>, StoreError> {
        match self.choice_models.get(id.as_bytes()).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(bytes) => decode("choice_models", id.as_bytes(), &bytes).map(Some),
        }
    }

    /// Every model, by id.
    pub fn list_choice_models(&self) -> Result<Vec<ChoiceModel>, StoreError> {
        self.choice_models
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(|e| self.io(e))?;
                decode("choice_models", &key, &value)
            })
            .collect()
    }

    /// Removes a model; returns it.
    pub fn remove_choice_model(&self, id: &str) -> Result<Option<ChoiceModel>, StoreError> {
        let Some(model) = self.get_choice_model(id)? else {
            return Ok(None);
        };
        self.choice_models.remove(id.as_bytes()).map_err(|e| self.io(e))?;
        self.note_change(Changed::Models)?;
        self.flush()?;
        Ok(Some(model))
    }

    /// Writes everything to disk.
    /// (PostgreSQL: a no-op, every statement commits durably when it returns.)
    pub fn flush(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sled(db) => db.flush().map(|_| ()).map_err(|e| self.io(e)),
            Backend::Postgres => Ok(()),
        }
    }

    /// How many times each kind of shared record (tools, catalogs, models) has changed, on a
    /// shared store; servers compare these to know when their caches must be read again
    /// (always zeros on sled, where this process is the only writer).
    pub fn changes(&self) -> Result<Changes, StoreError> {
        let read = |kind: Changed| -> Result<u64, StoreError> {
            Ok(self
                .meta
                .get(kind.key())
                .map_err(|e| self.io(e))?
                .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_slice()).ok())
                .map_or(0, u64::from_be_bytes))
        };
        Ok(Changes {
            tools: read(Changed::Tools)?,
            catalogs: read(Changed::Catalogs)?,
            models: read(Changed::Models)?,
        })
    }

    /// Counts a change of `kind` (shared stores only; see [`Store::changes`]).
    fn note_change(&self, kind: Changed) -> Result<(), StoreError> {
        if !self.is_shared() {
            return Ok(());
        }
        loop {
            let current = self.meta.get(kind.key()).map_err(|e| self.io(e))?;
            let count = current
                .as_deref()
                .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
                .map_or(0, u64::from_be_bytes);
            let next = (count + 1).to_be_bytes();
            if self
                .meta
                .compare_and_swap(kind.key(), current.as_deref(), Some(&next))
                .map_err(|e| self.io(e))?
            {
                return Ok(());
            }
        }
    }

    /// Whether other processes share this store (PostgreSQL): then sessions lease what they
    /// change, watches poll the log, and caches follow [`Store::changes`].
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres)
    }
}

/// Change counts of the records every server caches (see [`Store::changes`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// Registrations and removals of tools.
    pub tools: u64,
    /// Imports and removals of catalogs.
    pub catalogs: u64,
    /// Fits and removals of choice models.
    pub models: u64,
}

#[derive(Debug, Clone, Copy)]
enum Changed {
    Tools,
    Catalogs,
    Models,
}

impl Changed {
    fn key(self) -> &'static [u8] {
        match self {
            Changed::Tools => b"changes/tools",
            Changed::Catalogs => b"changes/catalogs",
            Changed::Models => b"changes/models",
        }
    }
}

/// The items of a catalog's previous import, replaced by a commit.
#[derive(Debug)]
#[must_use = "replaced items stay on disk until removed"]
pub struct ReplacedItems {
    record: CatalogRecord,
}

impl ReplacedItems {
    /// Items in the replaced set.
    pub fn item_count(&self) -> u64 {
        self.record.item_count
    }
}

/// A catalog's new items being stored; see [`Store::begin_catalog`].
pub struct CatalogWriter<'s> {
    store: &'s Store,
    id: String,
    generation: u64,
    position: u32,
    previous: Option<CatalogRecord>,
    encoded: Vec<u8>,
}

impl CatalogWriter<'_> {
    /// Stores the next item.
    pub fn put(&mut self, item: &Item) -> Result<(), StoreError> {
        let store = self.store;
        let Some(next) = self.position.checked_add(1) else {
            return Err(store.io(format!(
                "catalog `{}` has more than {} items, the most a catalog may hold",
                self.id,
                u32::MAX
            )));
        };
        self.encoded.clear();
        serde_json::to_writer(&mut self.encoded, item).map_err(|e| store.io(e))?;
        store
            .catalog_item_sets
            .insert(
                keys::item_set_item(&self.id, self.generation, self.position),
                self.encoded.as_slice(),
            )
            .map_err(|e| store.io(e))?;
        self.position = next;
        Ok(())
    }

    /// Items stored so far.
    pub fn len(&self) -> u32 {
        self.position
    }

    /// Whether no item is stored yet.
    pub fn is_empty(&self) -> bool {
        self.position == 0
    }

    /// Makes the items stored the catalog's, with `record` (its generation set here), and
    /// flushes; returns the record as stored and the items it replaced, which nothing points at
    /// any more: [`Store::remove_replaced`] removes them when it suits (a million take seconds;
    /// the catalog's next import sweeps them otherwise).
    pub fn commit(self, record: &CatalogRecord) -> Result<(CatalogRecord, Option<ReplacedItems>), StoreError> {
        let store = self.store;
        let stored = CatalogRecord {
            generation: self.generation,
            ..record.clone()
        };
        let encoded = serde_json::to_vec(&stored).map_err(|e| store.io(e))?;
        store
            .catalogs
            .insert(self.id.as_bytes(), encoded)
            .map_err(|e| store.io(e))?;
        store.note_change(Changed::Catalogs)?;
        store.flush()?;
        Ok((stored, self.previous.map(|record| ReplacedItems { record })))
    }

    /// Removes the items stored so far; the catalog stays as it was.
    pub fn abandon(self) -> Result<(), StoreError> {
        let store = self.store;
        let prefix = keys::item_set_prefix(&self.id, self.generation);
        for key in store.catalog_item_sets.scan_prefix(prefix).keys() {
            store
                .catalog_item_sets
                .remove(key.map_err(|e| store.io(e))?)
                .map_err(|e| store.io(e))?;
        }
        Ok(())
    }
}

fn check_kv_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KV_KEY_BYTES {
        return Err(StoreError::KvLimit(format!(
            "kv key of {} bytes is outside the allowed 1..={MAX_KV_KEY_BYTES} bytes",
            key.len()
        )));
    }
    Ok(())
}

fn decode_tool(key: &[u8], value: &[u8]) -> Result<ToolRecord, StoreError> {
    decode("tools", key, value)
}

fn decode<T: serde::de::DeserializeOwned>(tree: &'static str, key: &[u8], value: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|error| StoreError::BadRecord {
        tree,
        key: String::from_utf8_lossy(key).into_owned(),
        detail: error.to_string(),
    })
}

fn open_error(path: &Path, error: sled::Error) -> StoreError {
    match error {
        sled::Error::Corruption { .. } | sled::Error::Unsupported(_) | sled::Error::ReportableBug(_) => {
            StoreError::Corrupt {
                path: path.to_owned(),
                detail: error.to_string(),
            }
        }
        // sled reports the file lock as an `Other` error whose text carries the cause.
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock") =>
        {
            StoreError::Locked { path: path.to_owned() }
        }
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::InvalidData || io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            StoreError::Corrupt {
                path: path.to_owned(),
                detail: io.to_string(),
            }
        }
        other => StoreError::Io {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
