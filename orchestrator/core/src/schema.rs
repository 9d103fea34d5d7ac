//! JSON Schema of a tool's arguments: checked when the tool registers, applied to every call.

use serde_json::Value;

/// A compiled argument schema.
pub struct ArgumentSchema {
    source: Value,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for ArgumentSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgumentSchema")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Why a schema or an argument document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The schema text is not JSON.
    #[error("the arguments schema is not JSON: {0}")]
    NotJson(String),
    /// The schema is JSON but not a valid JSON Schema.
    #[error("the arguments schema is not a valid JSON Schema: {0}")]
    InvalidSchema(String),
    /// The arguments text is not JSON.
    #[error("arguments are not valid JSON: {0}")]
    ArgumentsNotJson(String),
    /// The arguments do not match the schema; each entry names a JSON pointer and the problem.
    #[error("arguments do not match the tool's schema: {}", .0.join("; "))]
    ArgumentsMismatch(Vec<String>),
}

/// How many schema violations one error message lists at most.
const MAX_REPORTED_VIOLATIONS: usize = 10;

impl ArgumentSchema {
    /// Parses and compiles a schema given as JSON text.
    pub fn parse(text: &str) -> Result<ArgumentSchema, SchemaError> {
        let source: Value = serde_json::from_str(text).map_err(|e| SchemaError::NotJson(e.to_string()))?;
        ArgumentSchema::compile(source)
    }

    /// Compiles a schema document, checking it against its meta-schema first.
    pub fn compile(source: Value) -> Result<ArgumentSchema, SchemaError> {
        if !(source.is_object() || source.is_boolean()) {
            return Err(SchemaError::InvalidSchema(
                "a schema must be a JSON object or a boolean".to_owned(),
            ));
        }
        jsonschema::meta::validate(&source).map_err(|e| SchemaError::InvalidSchema(e.to_string()))?;
        let validator = jsonschema::validator_for(&source).map_err(|e| SchemaError::InvalidSchema(e.to_string()))?;
        Ok(ArgumentSchema { source, validator })
    }

    /// The schema document.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Parses `text` and checks it against the schema.
    pub fn validate_text(&self, text: &str) -> Result<Value, SchemaError> {
        let arguments: Value = serde_json::from_str(text).map_err(|e| SchemaError::ArgumentsNotJson(e.to_string()))?;
        self.validate(&arguments)?;
        Ok(arguments)
    }

    /// Checks a parsed document against the schema.
    pub fn validate(&self, arguments: &Value) -> Result<(), SchemaError> {
        if self.validator.is_valid(arguments) {
            return Ok(());
        }
        let violations: Vec<String> = self
            .validator
            .iter_errors(arguments)
            .take(MAX_REPORTED_VIOLATIONS)
            .map(|error| {
                let path = error.instance_path.to_string();
                let path = if path.is_empty() { "/".to_owned() } else { path };
                format!("at {path}: {error}")
            })
            .collect();
        Err(SchemaError::ArgumentsMismatch(violations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_are_checked_when_compiled() {
        let cases: &[(&str, Result<(), &str>)] = &[
            (r#"{"type":"object"}"#, Ok(())),
            ("true", Ok(())),
            (
                r#"{"type":"object","properties":{"n":{"type":"integer","minimum":0}}}"#,
                Ok(()),
            ),
            ("{not json", Err("is not JSON")),
            ("42", Err("must be a JSON object or a boolean")),
            (r#"{"type":"banana"}"#, Err("not a valid JSON Schema")),
            (
                r#"{"properties":{"n":{"minimum":"zero"}}}"#,
                Err("not a valid JSON Schema"),
            ),
        ];
        for (text, expected) in cases {
            match (expected, ArgumentSchema::parse(text)) {
                (Ok(()), Ok(_)) => {}
                (Err(fragment), Err(error)) => assert!(error.to_string().contains(fragment), "{text}: {error}"),
                (expected, actual) => panic!("{text}: expected {expected:?}, got {actual:?}"),
            }
        }
    }

    #[test]
    fn arguments_are_checked_against_the_schema() {
        let schema = ArgumentSchema::compile(json!({
            "type": "object",
            "properties": { "message": { "type": "string" }, "count": { "type": "integer", "minimum": 1 } },
            "required": ["message"],
            "additionalProperties": false
        }))
        .unwrap();
        let cases: &[(&str, Result<(), &str>)] = &[
            (r#"{"message":"hi"}"#, Ok(())),
            (r#"{"message":"hi","count":3}"#, Ok(())),
            (r#"{}"#, Err("at /: \"message\" is a required property")),
            (r#"{"message":5}"#, Err("at /message: 5 is not of type \"string\"")),
            (
                r#"{"message":"a","count":0}"#,
                Err("at /count: 0 is less than the minimum of 1"),
            ),
            (
                r#"{"message":"a","extra":1}"#,
                Err("Additional properties are not allowed"),
            ),
            (r#"{"message":"#, Err("arguments are not valid JSON")),
        ];
        for (text, expected) in cases {
            match (expected, schema.validate_text(text)) {
                (Ok(()), Ok(_)) => {}
                (Err(fragment), Err(error)) => assert!(error.to_string().contains(fragment), "{text}: {error}"),
                (expected, actual) => panic!("{text}: expected {expected:?}, got {actual:?}"),
            }
        }
    }
}
