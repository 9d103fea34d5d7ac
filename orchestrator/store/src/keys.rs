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

/// Key of the item at `position` in a catalog: the catalog segment, then the big-endian
/// position, so a range scan returns items in import order.
pub fn catalog_item(catalog: &str, position: u32) -> Vec<u8> {
    let mut key = catalog_prefix(catalog);
    key.extend_from_slice(&position.to_be_bytes());
    key
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
