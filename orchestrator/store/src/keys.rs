//! Key encodings. Segments are prefixed by their big-endian u16 length so that different scopes
//! never share a prefix and scans come back in byte order.

/// The kv namespace of one tool within one session (an empty session is the tool-wide scope
/// used by direct `InvokeTool` calls without a session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvScope {
    prefix: Vec<u8>,
}

impl KvScope {
    /// The scope of `tool` in `session`.
    pub fn new(session: &str, tool: &str) -> KvScope {
        let mut prefix = Vec::with_capacity(4 + session.len() + tool.len());
        push_segment(&mut prefix, session.as_bytes());
        push_segment(&mut prefix, tool.as_bytes());
        KvScope { prefix }
    }

    /// The full key of `key` in this scope.
    pub fn key(&self, key: &str) -> Vec<u8> {
        let mut full = self.prefix.clone();
        full.extend_from_slice(key.as_bytes());
        full
    }

    /// The tool segment of a full key, if the key is well formed.
    pub fn tool_of(full_key: &[u8]) -> Option<&[u8]> {
        let (_, rest) = read_segment(full_key)?;
        read_segment(rest).map(|(tool, _)| tool)
    }
}

/// Prefix of every item key of a catalog.
pub fn catalog_prefix(catalog: &str) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(2 + catalog.len());
    push_segment(&mut prefix, catalog.as_bytes());
    prefix
}

/// Prefix of every item key of one import (generation) of a catalog in `catalog_item_sets`.
pub fn item_set_prefix(catalog: &str, generation: u64) -> Vec<u8> {
    let mut prefix = catalog_prefix(catalog);
    prefix.extend_from_slice(&generation.to_be_bytes());
    prefix
}

/// Key of the item at `position` of one generation of a catalog: the catalog segment, the
/// big-endian generation, the big-endian position.
pub fn item_set_item(catalog: &str, generation: u64, position: u32) -> Vec<u8> {
    let mut key = item_set_prefix(catalog, generation);
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// The generation of an item-set key, if the key is well formed (the tests read what is left).
#[cfg(test)]
pub fn item_set_generation_of(key: &[u8]) -> Option<u64> {
    let (_, rest) = read_segment(key)?;
    Some(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?))
}

/// Key of entry `sequence` of a session's frames or events: the session segment, then the
/// big-endian sequence, so a range scan returns them in order.
pub fn sequenced(session: &str, sequence: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(10 + session.len());
    push_segment(&mut key, session.as_bytes());
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

fn push_segment(out: &mut Vec<u8>, segment: &[u8]) {
    // Session ids and tool names are far below 64 KiB; truncate defensively.
    let len = segment.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&segment[..len]);
}

fn read_segment(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]) as usize;
    let rest = bytes.get(2..)?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod properties {
    //! Property tests: keys of different scopes never collide, and no scope's prefix starts
    //! another scope's keys.
    use super::*;
    use proptest::prelude::*;

    /// Ids as the server allows them (and a little beyond), bytes of any kind.
    const ID: &str = "[a-z0-9\\-]{0,70}|.{0,12}";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn sequenced_keys_collide_only_for_the_same_entry(a in ID, b in ID, x in any::<u64>(), y in any::<u64>()) {
            prop_assert_eq!(sequenced(&a, x) == sequenced(&b, y), a == b && x == y);
            if a != b {
                let (ka, kb) = (sequenced(&a, x), sequenced(&b, y));
                prop_assert!(!ka.starts_with(&catalog_prefix(&b)) && !kb.starts_with(&catalog_prefix(&a)));
            }
        }

        #[test]
        fn kv_scopes_are_prefix_free(s1 in ID, t1 in ID, s2 in ID, t2 in ID, k1 in ".{0,20}", k2 in ".{0,20}") {
            let (first, second) = (KvScope::new(&s1, &t1), KvScope::new(&s2, &t2));
            if (s1.as_str(), t1.as_str()) != (s2.as_str(), t2.as_str()) {
                prop_assert!(!first.key(&k1).starts_with(&second.prefix));
                prop_assert!(!second.key(&k2).starts_with(&first.prefix));
                prop_assert_ne!(first.key(&k1), second.key(&k2));
            }
            let full = first.key(&k1);
            prop_assert_eq!(KvScope::tool_of(&full), Some(t1.as_bytes()));
        }
    }
}
