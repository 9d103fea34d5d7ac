//! Argument schemas generated from Rust types (`schemars`), shaped for both readers: the host
//! validates calls against them (JSON Schema 2020-12) and planner models read them as function
//! parameters, so subschemas are inlined (no `$ref` for a model to follow), the `$schema` key is
//! left out and doc comments wrapped over several lines read as one sentence.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The JSON Schema of `T` as a tool's argument schema. Arguments are always a JSON object, so a
/// type that says nothing of its own (`Value`: any JSON) takes any object.
pub fn arguments_schema<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    unwrap_descriptions(&mut schema);
    match &mut schema {
        Value::Object(fields) => {
            fields.entry("type").or_insert_with(|| "object".into());
        }
        _ => schema = serde_json::json!({ "type": "object" }),
    }
    schema
}

/// Joins the lines of wrapped doc comments (paragraph breaks stay).
fn unwrap_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(fields) => {
            for (key, value) in fields.iter_mut() {
                match value {
                    Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| paragraph.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(value),
                }
            }
        }
        Value::Array(values) => values.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    /// Arguments.
    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Args {
        /// A name written over
        /// two lines.
        name: String,
        #[serde(default)]
        nested: Option<Inner>,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct Inner {
        #[schemars(range(min = 1))]
        count: u32,
    }

    #[test]
    fn schemas_are_inlined_without_meta_schema_and_descriptions_read_as_one_line() {
        let schema = arguments_schema::<Args>();
        assert!(
            schema.get("$schema").is_none() && schema.get("$defs").is_none(),
            "{schema:#}"
        );
        assert_eq!(
            schema["properties"]["name"]["description"],
            "A name written over two lines."
        );
        assert_eq!(schema["required"], json!(["name"]));
        assert_eq!(schema["additionalProperties"], false);
        let nested = &schema["properties"]["nested"];
        assert!(nested.to_string().contains(r#""minimum":1"#), "{nested:#}");
        assert!(!schema.to_string().contains("$ref"), "{schema:#}");
    }
}
