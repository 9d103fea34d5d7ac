//! How session events read in a terminal: the demo's per-batch view, and the audit view with
//! every planner step and tool call.

use interarec_core::event::EventKind;
use serde_json::Value;

/// A JSON value as a person reads it.
pub fn short(value: &Value) -> String {
    match value {
        Value::Null => "not available".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints one session event; `detail` adds the planner's steps and every tool call (the audit
/// view of `session replay --from-store` and `session watch`).
pub fn print_event(kind: EventKind, payload: &Value, detail: bool) {
    match kind {
        EventKind::PlannerContext if detail => println!(
            "   planner {} with {} tool(s); current constraints: {}",
            short(&payload["planner"]),
            payload["tools"].as_array().map_or(0, Vec::len),
            short(&payload["current_constraints"])
        ),
        EventKind::PlannerStep if detail => {
            let action = &payload["action"];
            let tokens =
                payload["prompt_tokens"].as_u64().unwrap_or(0) + payload["completion_tokens"].as_u64().unwrap_or(0);
            let cost = format!("{:.0} ms, {tokens} tokens", payload["millis"].as_f64().unwrap_or(0.0));
            match action["calls"].as_array() {
                Some(calls) => {
                    for call in calls {
                        println!(
                            "   step {}: call {} {}{} ({cost})",
                            short(&payload["step"]),
                            short(&call["name"]),
                            call["arguments"],
                            call["malformed"]
                                .as_str()
                                .map(|m| format!(" [not run: {m}]"))
                                .unwrap_or_default()
                        );
                    }
                }
                None => println!("   step {}: answer ({cost})", short(&payload["step"])),
            }
        }
        EventKind::ToolCall if detail => println!(
            "     tool {} ({:.1} ms){}",
            short(&payload["tool"]),
            payload["millis"].as_f64().unwrap_or(0.0),
            payload["error"]
                .as_str()
                .map(|e| format!(": error: {e}"))
                .unwrap_or_default()
        ),
        EventKind::SessionEnded if detail => println!("== session ended: {payload}"),
        EventKind::Batch => {
            let kept = payload["kept"].as_array().map_or(0, Vec::len);
            println!(
                "-- batch: frames {} (kept {kept}, closed by {})",
                short(&payload["frames"]),
                short(&payload["closed_by"])
            );
            if kept == 0 {
                println!(
                    "   nothing new on screen since the last kept frame: no summary, the last recommendation stands"
                );
            }
        }
        EventKind::Summary => {
            if let Some(error) = payload["error"].as_str() {
                println!("   summary failed: {error}");
                return;
            }
            let summary = &payload["summary"];
            println!(
                "   summary ({}, {:.0} ms):",
                short(&payload["model"]),
                payload["millis"].as_f64().unwrap_or(0.0)
            );
            println!("     characteristics: {}", short(&summary["product_characteristics"]));
            println!(
                "     price: {} to {}",
                short(&summary["lowest_price"]),
                short(&summary["highest_price"])
            );
            println!(
                "     brands: {}; specifications: {}",
                short(&summary["brand_preference"]),
                short(&summary["product_specifications"])
            );
            println!("     promotions: {}", short(&summary["promotions"]));
        }
        EventKind::Validation => {
            let violations = payload["violations"].as_array().map_or(0, Vec::len);
            println!(
                "   validation by {}{}: {} ({violations} violation(s))",
                short(&payload["tool"]),
                if payload["stage"] == "merged" {
                    " (with the session's earlier constraints)"
                } else {
                    ""
                },
                short(&payload["outcome"])
            );
            for violation in payload["violations"].as_array().into_iter().flatten() {
                println!(
                    "     {}: {} -> {}",
                    short(&violation["field"]),
                    short(&violation["problem"]),
                    short(&violation["repair"])
                );
            }
        }
        EventKind::Constraints => {
            println!("   constraints: {}", payload["arguments"]);
            for change in payload["changes"].as_array().into_iter().flatten() {
                if !change["from"].is_null() {
                    println!(
                        "     {} {}: {} -> {}",
                        short(&change["field"]),
                        short(&change["kind"]),
                        change["from"],
                        change["to"]
                    );
                }
            }
        }
        EventKind::Recommendation => {
            println!(
                "   recommended (expected revenue per shopper {:.2}):",
                payload["expected_revenue"].as_f64().unwrap_or(0.0)
            );
            for item in payload["items"].as_array().into_iter().flatten() {
                println!(
                    "     {:<40} {:>12}  p = {:.3}",
                    short(&item["title"]),
                    short(&item["price"]),
                    item["probability"].as_f64().unwrap_or(0.0)
                );
            }
            println!("   answer: {}", short(&payload["answer"]));
            if !payload["fallback"].is_null() {
                println!(
                    "   (finished by the offline planner: {} failed, {})",
                    short(&payload["fallback"]["from"]),
                    short(&payload["fallback"]["cause"])
                );
            }
        }
        EventKind::Consistency => {
            let gaps: Vec<String> = payload["gaps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|gap| format!("{} {}", short(&gap["field"]), short(&gap["kind"])))
                .collect();
            println!(
                "   held to the summary: {}; {}",
                gaps.join(", "),
                short(&payload["outcome"])
            );
        }
        EventKind::PlannerSkipped | EventKind::PlannerStopped => println!("   planner: {}", short(&payload["reason"])),
        EventKind::PlannerError => println!(
            "   planner failed, likely cause {} ({}); {} planner finishes the turn",
            short(&payload["cause"]),
            short(&payload["error"]),
            short(&payload["fallback"])
        ),
        EventKind::FrameRejected => println!("   frame rejected: {}", payload),
        _ => {}
    }
}
