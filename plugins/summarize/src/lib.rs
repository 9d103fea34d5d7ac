//! `summarize`: the step where a model looks at a batch of screenshots and writes what the
//! shopper seems to want. It sends the versioned prompt (the paper's instruction, in its eight
//! categories) with the batch's frames by id through the `models` capability (the image bytes
//! never enter the sandbox), parses the answer leniently, and returns the typed summary, the raw
//! text, the repairs the parser made, the prompt version and the token usage. The previous
//! batch's summary, when given, goes into the prompt as context.

use interarec_plugin::models::{ChatRequest, ContentPart, Message};
use interarec_plugin::{Capability, Description, JsonSchema, Tool, ToolError, Value, export_tool, json, models};
use interarec_summary::{CATEGORIES, NOT_AVAILABLE, parse_summary};
use serde::Deserialize;
use serde_json::Map;

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

/// A batch to read.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Arguments {
    /// Frame ids (sequence numbers) of the session, in order.
    #[schemars(length(min = 1, max = 16))]
    pub frames: Vec<String>,
    /// The summary of the previous batch, as context.
    #[serde(default)]
    pub previous_summary: Option<Map<String, Value>>,
    /// Longest answer (default 1024).
    #[serde(default)]
    #[schemars(range(min = 64, max = 8192))]
    pub max_tokens: Option<u32>,
}

impl Tool for Summarize {
    type Arguments = Arguments;
    type Output = Value;

    fn describe() -> Description {
        Description::new(
            "summarize",
            "0.1.0",
            "Reads a batch of screenshots of the current session (frame ids) with the configured vision model and returns the shopper's preferences in eight categories (product characteristics, lowest and highest price, brand preference, product specifications, user reviews, comparisons, promotions), typed, with the model's raw answer and the prompt version.",
        )
        .capability(Capability::Models)
    }

    fn invoke(arguments: Arguments) -> Result<Value, ToolError> {
        let frames = arguments.frames;
        let previous = arguments.previous_summary.map(Value::Object);
        let mut content = vec![ContentPart::Text(instruction(previous.as_ref()))];
        content.extend(frames.iter().cloned().map(ContentPart::Image));
        let request = ChatRequest {
            messages: vec![Message {
                role: "user".into(),
                content,
            }],
            max_tokens: Some(arguments.max_tokens.unwrap_or(1024)),
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

    #[test]
    fn the_frames_go_to_the_model_by_id_and_its_answer_comes_back_typed() {
        use interarec_plugin::models::testing;
        testing::reply_text(r#"{"brand_preference": ["Mango"], "highest_price": "$84.99"}"#);
        let answer =
            interarec_plugin::testing::invoke::<Summarize>(json!({"frames": ["3", "4"], "max_tokens": 256})).unwrap();
        assert_eq!(answer["summary"]["highest_price"], 84.99, "{answer:#}");
        assert_eq!(answer["frames"], json!(["3", "4"]));
        let sent = testing::requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].max_tokens, Some(256));
        let images: Vec<&str> = sent[0].messages[0]
            .content
            .iter()
            .filter_map(|part| match part {
                ContentPart::Image(id) => Some(id.as_str()),
                ContentPart::Text(_) => None,
            })
            .collect();
        assert_eq!(images, ["3", "4"]);
        // A provider that fails, and an answer that holds no summary, fail the call clearly.
        testing::reply(Err(interarec_plugin::HostError::Failed("provider down".into())));
        testing::reply_text("I cannot tell.");
        for fragment in ["provider down", "holds no summary"] {
            let error = interarec_plugin::testing::invoke::<Summarize>(json!({"frames": ["5"]})).unwrap_err();
            assert!(error.to_string().contains(fragment), "{error}");
        }
    }
}
