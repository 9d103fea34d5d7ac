//! Running one planner call. The constraint function `get_user_recommendations` runs as: the
//! consistency check against the summary (network planners only), the session's validating tool
//! (violations go back to the planner once), merging with the session's constraints so far
//! (`interarec_constraints::merge`, checked again by the validating tool when it changed), then
//! the `assortment` tool over the session's catalog and choice model. Any other name runs as a
//! registered tool. Every tool call is a `tool-call` event; errors come back as
//! `{"error": ...}` for the planner, never as a crash.

use crate::{ASSORTMENT_TOOL, Entry, ToolCall, TurnContext, TurnInput, TurnOutput};
use interarec_capability::validating::{ValidatingAnswer, ValidatingInput};
use interarec_constraints::FUNCTION_NAME;
use interarec_core::Tools;
use interarec_core::event::{self, AssortmentChosen, ConstraintsMerged, ToolCalled, Validation, ValidationStage};
use serde_json::{Value, json};
use std::time::Instant;

/// Runs one call; errors come back as `{"error": ...}`.
pub(crate) async fn execute(
    tools: &dyn Tools,
    context: &TurnContext,
    call: &ToolCall,
    transcript: &[Entry],
    check_consistency: bool,
    output: &mut TurnOutput,
) -> Value {
    let input = &context.input;
    if let Some(reason) = &call.malformed {
        return json!({ "error": format!("`{}` was not run: {reason}; call it again with one JSON object that matches its parameters", call.name) });
    }
    if !context.tools.iter().any(|tool| tool.name == call.name) {
        let offered: Vec<&str> = context.tools.iter().map(|tool| tool.name.as_str()).collect();
        return json!({ "error": format!("`{}` was not run: it is not one of this session's tools; call one of: {}", call.name, offered.join(", ")) });
    }
    if call.name != FUNCTION_NAME {
        return invoke(tools, input, &call.name, call.arguments.clone(), output).await;
    }
    // A network planner's call is held to the summary before the session's validating tool
    // sees it, so the validator (a domain plugin's relaxations included) has the last word.
    let arguments = if check_consistency {
        match hold_to_summary(input, &call.arguments, transcript, output) {
            // How many products to show is the session's choice, not the model's.
            Ok(mut held) => {
                if let Some(fields) = held.as_object_mut() {
                    fields.insert("capacity".into(), json!(input.capacity));
                }
                held
            }
            Err(sent_back) => return sent_back,
        }
    } else {
        call.arguments.clone()
    };
    let asked_before = transcript
        .iter()
        .filter(|e| matches!(e, Entry::Result { call, outcome } if call.name == FUNCTION_NAME && outcome["ok"]["status"] == "invalid"))
        .count();
    let validation = invoke(
        tools,
        input,
        &input.validate_tool,
        validating_input(tools, input, &arguments),
        output,
    )
    .await;
    let Some(validation) = validation.get("ok") else {
        return validation;
    };
    let validation = match ValidatingAnswer::from_json(&input.validate_tool, validation) {
        Ok(answer) => answer,
        Err(outside) => return json!({ "error": outside }),
    };
    let valid = validation.valid;
    let violations = serde_json::to_value(&validation.violations).unwrap_or_default();
    let repaired = Value::Object(validation.arguments);
    let final_attempt = valid || asked_before >= 1;
    output.events.push(
        Validation {
            batch: input.batch,
            attempt: Some(asked_before as u64 + 1),
            stage: ValidationStage::Arguments,
            tool: input.validate_tool.clone(),
            valid,
            violations: violations.clone(),
            repaired_arguments: repaired.clone(),
            outcome: if valid {
                "valid"
            } else if final_attempt {
                "invalid parts dropped: the repaired arguments are used"
            } else {
                "sent back to the planner once"
            }
            .into(),
        }
        .into(),
    );
    if !final_attempt {
        return json!({ "ok": { "status": "invalid", "violations": violations, "repaired_arguments": repaired } });
    }
    let current = input.current.clone().unwrap_or_else(|| json!({}));
    let viewed_only = input.summary.viewed_only_facts();
    let (mut merged, _) = interarec_constraints::merge(&current, &repaired, &viewed_only);
    if merged != repaired {
        // Together with what the session wanted before, the arguments may exclude every item:
        // the session's validating tool checks what will actually be used.
        let check = invoke(
            tools,
            input,
            &input.validate_tool,
            validating_input(tools, input, &merged),
            output,
        )
        .await;
        let checked = check
            .get("ok")
            .map(|answer| ValidatingAnswer::from_json(&input.validate_tool, answer));
        if let Some(checked) = checked {
            let checked = match checked {
                Ok(answer) => answer,
                Err(outside) => return json!({ "error": outside }),
            };
            let valid = checked.valid;
            let repaired = Value::Object(checked.arguments);
            output.events.push(
                Validation {
                    batch: input.batch,
                    attempt: None,
                    stage: ValidationStage::Merged,
                    tool: input.validate_tool.clone(),
                    valid,
                    violations: serde_json::to_value(&checked.violations).unwrap_or_default(),
                    repaired_arguments: repaired.clone(),
                    outcome: if valid {
                        "valid"
                    } else {
                        "repaired: the repaired arguments are used"
                    }
                    .into(),
                }
                .into(),
            );
            merged = repaired;
        }
    }
    // The merged arguments are valid parts of valid arguments; their constraints come from the
    // same validation rules (no tool call needed to convert).
    let changes = interarec_constraints::changes(&current, &merged);
    let constraints = interarec_constraints::validate(&input.catalog, &merged).constraints;
    output.events.push(
        ConstraintsMerged {
            batch: input.batch,
            arguments: merged.clone(),
            changes: serde_json::to_value(&changes).unwrap_or(Value::Null),
            policy: "recent evidence wins field by field; unstated fields are kept; bounds resting only on what was viewed do not move earlier bounds".into(),
            viewed_only: viewed_only.iter().cloned().collect(),
        }
        .into(),
    );
    output.constraints = Some(merged.clone());
    let mut constraints = serde_json::to_value(&constraints).unwrap_or_else(|_| json!({}));
    if let Some(fields) = constraints.as_object_mut() {
        fields.entry("capacity").or_insert(json!(input.capacity));
    }
    let arguments = json!({ "catalog_id": input.catalog.id, "model_id": input.model_id, "constraints": constraints });
    let assortment = invoke(tools, input, ASSORTMENT_TOOL, arguments, output).await;
    match assortment.get("ok") {
        Some(recommendation) => {
            output.events.push(
                AssortmentChosen {
                    batch: input.batch,
                    recommendation: recommendation.clone(),
                }
                .into(),
            );
            json!({ "ok": { "status": "recommended", "recommendation": recommendation, "arguments": merged } })
        }
        None => assortment,
    }
}

/// A network planner's arguments held to the summary (before validation): facts the summary
/// states that the call omits, contradicts or broadens, and values the summary never names, are
/// sent back once (`Err`: the call's result), and completed from the summary field by field if
/// the next call still has them. Either way a `consistency` event says what was found and done.
fn hold_to_summary(
    input: &TurnInput,
    arguments: &Value,
    transcript: &[Entry],
    output: &mut TurnOutput,
) -> Result<Value, Value> {
    use interarec_constraints::consistency;
    let stated = interarec_constraints::from_summary(&input.summary, &input.catalog, input.capacity);
    // Only what the catalog can honour counts: the summary's facts in the catalog's spelling.
    let stated = interarec_constraints::validate(&input.catalog, &stated).arguments;
    // Evidence for values the offline filling did not take: the categories that state
    // preferences. Reviews, comparisons and promotions name every product on the page, and a
    // brand preference counts only where it is affirmed ("no clear preference" is not one).
    let summary = &input.summary;
    let brand = summary
        .brand_preference
        .as_ref()
        .map(|b| interarec_summary::affirmed_text(&b.to_string()))
        .unwrap_or_default();
    let summary_text = json!([summary.product_characteristics, summary.product_specifications, brand]).to_string();
    // Compared in the catalog's spelling (the call's own validation comes after).
    let normalized = interarec_constraints::validate(&input.catalog, arguments).arguments;
    let gaps = consistency::gaps(&stated, &summary_text, &normalized);
    if gaps.is_empty() {
        return Ok(arguments.clone());
    }
    let asked_before = transcript.iter().any(|entry| {
        matches!(entry, Entry::Result { call, outcome } if call.name == FUNCTION_NAME && outcome["ok"]["status"] == "inconsistent")
    });
    let gaps_json = serde_json::to_value(&gaps).unwrap_or(Value::Null);
    if !asked_before {
        output.events.push(
            event::Consistency {
                batch: input.batch,
                gaps: gaps_json,
                filled: None,
                arguments: None,
                outcome: "sent back to the planner once".into(),
            }
            .into(),
        );
        return Err(
            json!({ "ok": { "status": "inconsistent", "message": consistency::message(&gaps), "gaps": gaps, "summary_arguments": stated } }),
        );
    }
    let completed = consistency::complete(&normalized, &gaps);
    output.events.push(
        event::Consistency {
            batch: input.batch,
            gaps: gaps_json,
            filled: Some(gaps.iter().map(|g| g.field.clone()).collect()),
            arguments: Some(completed.clone()),
            outcome: "completed from the summary".into(),
        }
        .into(),
    );
    Ok(completed)
}

/// The validating tool's input: the catalog and the arguments, and the facts the summary says
/// were stated outright when the tool's schema takes them (`stated`; a tool written before it
/// existed gets the two fields its contract names).
fn validating_input(tools: &dyn Tools, input: &TurnInput, arguments: &Value) -> Value {
    let takes_stated = tools
        .manifest(&input.validate_tool)
        .is_some_and(|manifest| manifest.arguments_schema["properties"].get("stated").is_some());
    let call = ValidatingInput {
        catalog_id: input.catalog.id.clone(),
        arguments: arguments.clone(),
        stated: if takes_stated {
            input.summary.stated_facts().into_iter().collect()
        } else {
            Vec::new()
        },
    };
    serde_json::to_value(call).unwrap_or_default()
}

/// Invokes a registered tool, recording the call as a `tool-call` event.
async fn invoke(tools: &dyn Tools, input: &TurnInput, tool: &str, arguments: Value, output: &mut TurnOutput) -> Value {
    let started = Instant::now();
    let outcome = match tools.invoke(tool, arguments.to_string(), &input.session_id).await {
        Ok(result_json) => match serde_json::from_str::<Value>(&result_json) {
            Ok(result) => json!({ "ok": result }),
            Err(e) => json!({ "error": format!("tool `{tool}` answered bad JSON: {e}") }),
        },
        Err(error) => json!({ "error": error }),
    };
    output.events.push(
        ToolCalled {
            batch: input.batch,
            tool: tool.to_owned(),
            arguments,
            result: outcome.get("ok").cloned(),
            error: outcome.get("error").cloned(),
            millis: started.elapsed().as_secs_f64() * 1e3,
        }
        .into(),
    );
    outcome
}
