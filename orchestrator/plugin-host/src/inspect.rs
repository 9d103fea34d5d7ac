//! Reads what a component claims before anything is compiled: that it is a component at all,
//! and which `interarec:tool` version it was built against.
//!
//! The SDK writes the version into the custom section `interarec:api-version` (as Zed does with
//! `zed:api-version`); components built without the SDK are recognised by the version in their
//! `interarec:tool/tool@X` export name.

use crate::error::LoadError;
use wasmparser::{Parser, Payload};

/// The custom section the guest SDK writes.
pub const API_VERSION_SECTION: &str = "interarec:api-version";

/// Checks the bytes and returns the tool API version the component was built against, one of
/// `supported`.
pub fn api_version(bytes: &[u8], supported: &[&str]) -> Result<String, LoadError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(LoadError::NotWasm);
    }
    if Parser::is_core_wasm(bytes) {
        return Err(LoadError::CoreModule);
    }
    if !Parser::is_component(bytes) {
        return Err(LoadError::NotWasm);
    }
    let mut from_section = None;
    let mut from_export = None;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|error| LoadError::Compile(format!("malformed component: {error}")))?;
        match payload {
            Payload::CustomSection(section) if section.name() == API_VERSION_SECTION => {
                let text = String::from_utf8_lossy(section.data())
                    .trim_matches(char::from(0))
                    .trim()
                    .to_owned();
                from_section.get_or_insert(text);
            }
            Payload::ComponentExportSection(exports) => {
                for export in exports.into_iter().flatten() {
                    if let Some(version) = export.name.0.strip_prefix("interarec:tool/tool@") {
                        from_export.get_or_insert(version.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let found = from_section.or(from_export).ok_or(LoadError::NotATool)?;
    if !supported.contains(&found.as_str()) {
        return Err(LoadError::VersionMismatch {
            found,
            expected: supported.join(" or "),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_components_are_told_apart() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "not a WebAssembly component"),
            (b"hello world", "not a WebAssembly component"),
            (b"\0asm\x01\0\0\0", "core WebAssembly module, not a component"),
            (
                b"\0asm\x0d\0\x01\0",
                "does not export the interarec:tool/tool interface",
            ),
        ];
        for (bytes, fragment) in cases {
            let error = api_version(bytes, &["0.1.0"]).unwrap_err().to_string();
            assert!(error.contains(fragment), "{bytes:?}: {error}");
        }
    }
}
