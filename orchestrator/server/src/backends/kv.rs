//! The `kv` capability's backend: each tool's key-value state per session, in the store.

use interarec_plugin_host::KvBackend;
use interarec_store::{KvScope, Store};

/// The store's kv trees behind the `kv` capability.
pub struct StoreKv(pub Store);

impl KvBackend for StoreKv {
    fn get(&self, session: &str, tool: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.0
            .kv_get(&KvScope::new(session, tool), key)
            .map_err(|e| e.to_string())
    }
    fn set(&self, session: &str, tool: &str, key: &str, value: &[u8]) -> Result<(), String> {
        self.0
            .kv_set(&KvScope::new(session, tool), key, value)
            .map_err(|e| e.to_string())
    }
    fn delete(&self, session: &str, tool: &str, key: &str) -> Result<(), String> {
        self.0
            .kv_delete(&KvScope::new(session, tool), key)
            .map_err(|e| e.to_string())
    }
    fn list(&self, session: &str, tool: &str, prefix: &str) -> Result<Vec<String>, String> {
        self.0
            .kv_list(&KvScope::new(session, tool), prefix)
            .map_err(|e| e.to_string())
    }
    fn flush(&self) -> Result<(), String> {
        self.0.flush().map_err(|e| e.to_string())
    }
}
