//! `summarize`: the step where a model looks at a batch of screenshots and writes what the
//! shopper seems to want. It sends the versioned prompt (the paper's instruction, in its eight
//! categories) with the batch's frames by id through the `models` capability (the image bytes
//! never enter the sandbox), parses the answer leniently, and returns the typed summary, the raw
//! text, the repairs the parser made, the prompt version and the token usage. The previous
//! batch's summary, when given, goes into the prompt as context.

use interarec_plugin::models::{ChatRequest, ContentPart, Message};
use interarec_plugin::{Capability, Description, Tool, ToolError, Value, export_tool, json, models};
use interarec_summary::{CATEGORIES, NOT_AVAILABLE, parse_summary};

/// Version of [`instruction`]; recorded with every summary. Change it whenever the text changes.
pub const PROMPT_VERSION: &str = "interarec-summary-v1";

/// The prompt: the paper's instruction, its eight categories and the JSON answer format.
pub fn instruction(previous: Option<&Value>) -> String {
    let mut text = String::from(
        "You are given screenshots, in order, of what a shopper saw while browsing an online shop. \
         Summarize the shopper's preferences from these screenshots in the following categories: ",
    );
    text.push_str(&CATEGORIES.join(", "));
    text.push_str(&format!(
        ". Answer with one JSON object whose keys are exactly these category names. Give prices as \
         numbers or as text with the currency (for example \"$84.99\"), brands as a list, and \
         specifications as an object (for example colour, category, gender, city, bedrooms). \
         Write \"{NOT_AVAILABLE}\" for a category when nothing can be inferred."
    ));
    if let Some(previous) = previous {
        text.push_str(&format!(
            " The summary of the shopper's previous screenshots was: {previous}. Keep what the new \
             screenshots do not contradict and update what they do."
        ));
    }
    text
}

/// The tool.
pub struct Summarize;

impl Tool for Summarize {
    fn describe() -> Description {
        Description::new(
            "summarize",
            "0.1.0",
            "Reads a batch of screenshots of the current session (frame ids) with the configured vision model and returns the shopper's preferences in eight categories (product characteristics, lowest and highest price, brand preference, product specifications, user reviews, comparisons, promotions), typed, with the model's raw answer and the prompt version.",
        )
        .arguments_schema(json!({
            "type": "object",
            "properties": {
                "frames": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 16, "description": "Frame ids (sequence numbers) of the session, in order" },
                "previous_summary": { "type": "object", "description": "The summary of the previous batch, as context" },
                "max_tokens": { "type": "integer", "minimum": 64, "maximum": 8192, "description": "Longest answer (default 1024)" }
            },
            "required": ["frames"],
            "additionalProperties": false
        }))
        .capability(Capability::Models)
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        let frames: Vec<String> = serde_json::from_value(arguments["frames"].clone())
            .map_err(|e| ToolError::InvalidArguments(format!("frames must be a list of frame ids: {e}")))?;
        let previous = arguments.get("previous_summary").filter(|v| v.is_object());
        let mut content = vec![ContentPart::Text(instruction(previous))];
        content.extend(frames.iter().cloned().map(ContentPart::Image));
        let request = ChatRequest {
            messages: vec![Message {
                role: "user".into(),
                content,
            }],
            max_tokens: Some(arguments["max_tokens"].as_u64().unwrap_or(1024) as u32),
            temperature: Some(0.0),
            json_response: true,
        };
        let answer = models::chat(&request)?;
        let parsed = parse_summary(&answer.text).map_err(|e| {
            let mut start: String = answer.text.chars().take(300).collect();
            if answer.text.chars().count() > 300 {
                start.push('…');
            }
            ToolError::Failed(format!(
                "the model's answer holds no summary ({e}); model {}, answer began: {start:?}",
                answer.model
            ))
        })?;
        Ok(json!({
            "summary": parsed.summary,
            "raw": parsed.raw,
            "repairs": parsed.repairs,
            "prompt_version": PROMPT_VERSION,
            "model": answer.model,
            "usage": { "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens },
            "frames": frames,
        }))
    }
}

export_tool!(Summarize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_names_every_category_and_carries_the_previous_summary() {
        let first = instruction(None);
        for category in CATEGORIES {
            assert!(first.contains(category), "{category}");
        }
        assert!(first.contains(NOT_AVAILABLE));
        assert!(!first.contains("previous"));
        let next = instruction(Some(&json!({"lowest_price": 18.0})));
        assert!(next.contains("\"lowest_price\":18.0"), "{next}");
    }
}
