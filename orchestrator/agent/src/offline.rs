//! The embedded offline planner: deterministic, in the paper's order (summary → constraint
//! function → validate → assortment → answer). It fills the constraint function's arguments from
//! the summary, sends the validator's repaired arguments back once when they were invalid, and
//! answers with a template over the recommendation. It is also the fallback when a network
//! planner fails in the middle of a turn.

use crate::{Entry, Planner, PlannerFuture, PlannerReply, PlannerStep, ToolCall, TurnContext};
use interarec_constraints::FUNCTION_NAME;
use serde_json::Value;

/// The embedded offline planner.
#[derive(Debug, Default, Clone, Copy)]
pub struct OfflinePlanner;

impl OfflinePlanner {
    /// Its next step: call the function with the summary's arguments; if the validation sent
    /// violations back, call it once more with the repaired arguments; once a recommendation
    /// (or a failure) is back, answer.
    pub fn decide(&self, context: &TurnContext, transcript: &[Entry]) -> PlannerReply {
        let input = &context.input;
        let results: Vec<(&ToolCall, &Value)> = transcript
            .iter()
            .filter_map(|e| match e {
                Entry::Result { call, outcome } => Some((call, outcome)),
                Entry::Calls(_) | Entry::Reminder(_) => None,
            })
            .filter(|(call, _)| call.name == FUNCTION_NAME)
            .collect();
        let call = |n: usize, arguments: Value| {
            PlannerReply::Calls(vec![ToolCall::new(format!("call-{n}"), FUNCTION_NAME, arguments)])
        };
        match results.last() {
            None => call(
                1,
                interarec_constraints::from_summary(&input.summary, &input.catalog, input.capacity),
            ),
            Some((_, outcome)) if outcome["ok"]["status"] == "invalid" && results.len() == 1 => {
                call(2, outcome["ok"]["repaired_arguments"].clone())
            }
            // Taking over from a network planner whose call was sent back for leaving out what
            // the summary states: call with the summary's own arguments.
            Some((_, outcome)) if outcome["ok"]["status"] == "inconsistent" => call(
                results.len() + 1,
                interarec_constraints::from_summary(&input.summary, &input.catalog, input.capacity),
            ),
            Some((_, outcome)) => PlannerReply::Final(answer_text(outcome)),
        }
    }
}

impl Planner for OfflinePlanner {
    fn name(&self) -> String {
        "offline".into()
    }

    fn next<'a>(&'a self, context: &'a TurnContext, transcript: &'a [Entry]) -> PlannerFuture<'a> {
        let reply = self.decide(context, transcript);
        Box::pin(async move {
            Ok(PlannerStep {
                reply,
                ..PlannerStep::default()
            })
        })
    }
}

/// The offline answer: a template over the constraint function's outcome.
pub fn answer_text(outcome: &Value) -> String {
    if let Some(error) = outcome["error"].as_str() {
        return format!("I could not pick products this time: {error}");
    }
    let recommendation = &outcome["ok"]["recommendation"];
    let items = recommendation["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        let reason = recommendation["empty_reason"]
            .as_str()
            .unwrap_or("nothing matches what you are looking for");
        return format!("Nothing to show yet: {reason}.");
    }
    let listed: Vec<String> = items
        .iter()
        .take(3)
        .map(|item| {
            format!(
                "{} ({})",
                item["title"].as_str().unwrap_or("?"),
                interarec_core::money::dollars(item["price"].as_f64().unwrap_or(0.0))
            )
        })
        .collect();
    let more = items.len().saturating_sub(3);
    format!(
        "Based on what you have been looking at, you might like {}{}.",
        listed.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::context;
    use serde_json::json;

    #[test]
    fn the_offline_planner_follows_the_papers_order_and_re_asks_once() {
        let context = context(
            r#"{"Lowest Price": "$18", "Highest Price": "$144", "Product Specifications": {"colour": "teal green"}}"#,
        );
        let planner = OfflinePlanner;
        let PlannerReply::Calls(first) = planner.decide(&context, &[]) else {
            panic!("calls first")
        };
        assert_eq!(first[0].name, FUNCTION_NAME);
        assert_eq!(
            first[0].arguments,
            json!({"lowest_price": 18.0, "highest_price": 144.0, "colour": ["teal green"], "capacity": 4})
        );
        let invalid = Entry::Result {
            call: first[0].clone(),
            outcome: json!({"ok": {"status": "invalid", "repaired_arguments": {"colour": ["green"]}}}),
        };
        let PlannerReply::Calls(second) = planner.decide(&context, &[Entry::Calls(first.clone()), invalid.clone()])
        else {
            panic!("re-asked once")
        };
        assert_eq!(second[0].arguments, json!({"colour": ["green"]}));
        let done = Entry::Result {
            call: second[0].clone(),
            outcome: json!({"ok": {"status": "recommended", "recommendation": {"items": [
                {"title": "Zara Green Midi Dress", "price": 83.99}, {"title": "Mango Green Wrap Dress", "price": 109.99},
                {"title": "A", "price": 1.0}, {"title": "B", "price": 2.0}
            ]}}}),
        };
        let reply = planner.decide(&context, &[Entry::Calls(first), invalid, Entry::Calls(second), done]);
        assert_eq!(
            reply,
            PlannerReply::Final("Based on what you have been looking at, you might like Zara Green Midi Dress ($83.99), Mango Green Wrap Dress ($109.99), A ($1.00) and 1 more.".into())
        );
        assert_eq!(
            answer_text(&json!({"error": "tool `assortment` is not registered"})),
            "I could not pick products this time: tool `assortment` is not registered"
        );
        assert_eq!(interarec_core::money::dollars(1_350_000.0), "$1,350,000");
    }
}
