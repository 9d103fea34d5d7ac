//! What a registered tool is: its manifest (from the component's own description) and the
//! record the registry keeps (grants, limits, content hash).

use crate::capability::{Capability, Grants};
use crate::limits::ToolLimits;
use crate::schema::{ArgumentSchema, SchemaError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest tool name accepted.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// The tool's self-description, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolManifest {
    /// `[a-z][a-z0-9-]*`, at most 64 characters; also the function name the planner sees.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Free text for people and the planner.
    pub description: String,
    /// JSON Schema of the arguments.
    pub arguments_schema: Value,
    /// Capabilities the tool asks for, sorted, without repeats.
    pub capabilities: Vec<Capability>,
}

/// Why a tool's self-description was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// A name outside `[a-z][a-z0-9-]*` or too long.
    #[error(
        "tool name `{0}` is invalid: use lowercase letters, digits and `-`, starting with a letter, at most 64 characters"
    )]
    InvalidName(String),
    /// A version that is not semver.
    #[error("tool version `{version}` is not a semantic version (such as 1.2.0): {reason}")]
    InvalidVersion {
        /// What the tool said.
        version: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The arguments schema was refused.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A capability the tool world does not have.
    #[error("the tool asks for {0}")]
    UnknownCapability(crate::capability::UnknownCapability),
}

/// Checks a tool name against the naming rule.
pub fn validate_tool_name(name: &str) -> Result<(), ManifestError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if first_ok && rest_ok && name.len() <= MAX_TOOL_NAME_LEN {
        Ok(())
    } else {
        Err(ManifestError::InvalidName(name.to_owned()))
    }
}

impl ToolManifest {
    /// Validates the fields of a tool's `describe` answer.
    pub fn from_description(
        name: String,
        version: String,
        description: String,
        arguments_schema: &str,
        capabilities: &[String],
    ) -> Result<ToolManifest, ManifestError> {
        validate_tool_name(&name)?;
        semver::Version::parse(&version).map_err(|error| ManifestError::InvalidVersion {
            version: version.clone(),
            reason: error.to_string(),
        })?;
        let schema = ArgumentSchema::parse(arguments_schema)?;
        let mut parsed = Vec::new();
        for capability in capabilities {
            let capability: Capability = capability.parse().map_err(ManifestError::UnknownCapability)?;
            if !parsed.contains(&capability) {
                parsed.push(capability);
            }
        }
        parsed.sort();
        Ok(ToolManifest {
            name,
            version,
            description,
            arguments_schema: schema.source().clone(),
            capabilities: parsed,
        })
    }

    /// The parsed semantic version (validated at construction).
    pub fn semver(&self) -> semver::Version {
        semver::Version::parse(&self.version).unwrap_or(semver::Version::new(0, 0, 0))
    }
}

/// A registered tool as the registry stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRecord {
    /// The tool's own description.
    pub manifest: ToolManifest,
    /// What the operator granted.
    pub grants: Grants,
    /// Bounds of every call.
    pub limits: ToolLimits,
    /// Hex sha256 of the component bytes; the component blob's key.
    pub sha256: String,
    /// Size of the component in bytes.
    pub component_size: u64,
    /// The WIT version the component was built against.
    pub wit_version: String,
    /// When it was registered, milliseconds since the Unix epoch.
    pub registered_at_unix_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, version: &str, capabilities: &[&str]) -> Result<ToolManifest, ManifestError> {
        let capabilities: Vec<String> = capabilities.iter().map(|c| (*c).to_owned()).collect();
        ToolManifest::from_description(
            name.into(),
            version.into(),
            "d".into(),
            r#"{"type":"object"}"#,
            &capabilities,
        )
    }

    #[test]
    fn descriptions_are_validated() {
        let cases: &[(&str, &str, &[&str], Result<(), &str>)] = &[
            ("echo", "0.1.0", &[], Ok(())),
            ("real-estate-filter2", "1.0.0-beta.1", &["kv", "http", "kv"], Ok(())),
            ("Echo", "0.1.0", &[], Err("tool name `Echo` is invalid")),
            ("9lives", "0.1.0", &[], Err("tool name `9lives` is invalid")),
            ("", "0.1.0", &[], Err("tool name `` is invalid")),
            ("under_score", "0.1.0", &[], Err("is invalid")),
            ("echo", "1.0", &[], Err("tool version `1.0` is not a semantic version")),
            ("echo", "0.1.0", &["network"], Err("unknown capability `network`")),
        ];
        for (name, version, capabilities, expected) in cases {
            match (expected, manifest(name, version, capabilities)) {
                (Ok(()), Ok(_)) => {}
                (Err(fragment), Err(error)) => assert!(error.to_string().contains(fragment), "{name}: {error}"),
                (expected, actual) => panic!("{name}: expected {expected:?}, got {actual:?}"),
            }
        }
        let long = "a".repeat(MAX_TOOL_NAME_LEN + 1);
        assert!(manifest(&long, "0.1.0", &[]).is_err());
        assert_eq!(
            manifest("x", "0.1.0", &["kv", "http", "kv"]).unwrap().capabilities,
            vec![Capability::Kv, Capability::Http]
        );
    }
}
