//! One planner turn: the planner decides, the orchestrator runs its calls ([`crate::call`]), at
//! most [`AgentConfig::max_steps`] steps within [`AgentConfig::turn_timeout`]. A network planner
//! that fails, times out or keeps answering without calling the constraint function is replaced
//! by the offline planner for the rest of the turn, so the shopper still gets a recommendation.

use crate::call::execute;
use crate::offline::{self, OfflinePlanner};
use crate::{
    AgentConfig, Entry, INSTRUCTION, Planner, PlannerError, PlannerReply, ToolCall, ToolSpec, TurnContext, TurnInput,
    TurnOutput,
};
use interarec_constraints::{FUNCTION_NAME, function_definition};
use interarec_core::Tools;
use interarec_core::event::{self, CatalogBrief, EventPayload, Fallback, PlannerAction, PlannerStopped, TurnLimits};
use interarec_core::telemetry;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The planner's view of the tools: the constraint function first, then the session's
/// validating tool and the tools it names, as registered (by name). The pipeline's internal
/// tools (`capture`, `summarize`, `assortment`) are not offered unless a session names them: a
/// model that sees them calls them with made-up arguments.
fn tool_specs(tools: &dyn Tools, input: &TurnInput) -> Vec<ToolSpec> {
    let function = function_definition(&input.catalog);
    let mut offered: Vec<&str> = std::iter::once(input.validate_tool.as_str())
        .chain(input.planner_tools.iter().map(String::as_str))
        .collect();
    offered.sort_unstable();
    offered.dedup();
    std::iter::once(ToolSpec {
        name: FUNCTION_NAME.into(),
        description: function["description"].as_str().unwrap_or_default().to_owned(),
        parameters: function["parameters"].clone(),
    })
    .chain(
        offered
            .into_iter()
            .filter_map(|name| tools.manifest(name))
            .map(|manifest| ToolSpec {
                name: manifest.name,
                description: manifest.description,
                parameters: manifest.arguments_schema,
            }),
    )
    .collect()
}

/// Runs one turn: `planner` decides, the orchestrator runs the calls; at most
/// `config.max_steps` steps within `config.turn_timeout`.
pub async fn run_turn(tools: &dyn Tools, input: TurnInput, planner: &dyn Planner, config: &AgentConfig) -> TurnOutput {
    use tracing::Instrument;
    let span = tracing::info_span!("turn", batch = input.batch, planner = %planner.name());
    let planner_name = planner.name();
    let output = run_turn_steps(tools, input, planner, config).instrument(span).await;
    record_turn_metrics(&planner_name, &output);
    output
}

/// Counts the turn's steps (by the planner that took each) and its result.
fn record_turn_metrics(planner: &str, output: &TurnOutput) {
    let mut recommended = false;
    for payload in &output.events {
        match payload {
            EventPayload::PlannerStep(step) => {
                metrics::counter!(telemetry::PLANNER_STEPS, "planner" => step.planner.clone()).increment(1)
            }
            EventPayload::Recommendation(_) => recommended = true,
            _ => {}
        }
    }
    let result = match (recommended, output.fallback.is_some()) {
        (true, false) => "recommended",
        (true, true) => "fallback",
        (false, _) => "failed",
    };
    metrics::counter!(telemetry::PLANNER_TURNS, "planner" => planner.to_owned(), "result" => result).increment(1);
}

async fn run_turn_steps(
    tools: &dyn Tools,
    input: TurnInput,
    planner: &dyn Planner,
    config: &AgentConfig,
) -> TurnOutput {
    let started = Instant::now();
    let deadline = started + config.turn_timeout;
    // A planner other than the offline one must answer before the last fifth of the turn (at
    // most 2 s of it), which is kept for the offline planner to finish the turn if it does not.
    let reserve = (config.turn_timeout / 5).min(Duration::from_secs(2));
    let mut output = TurnOutput {
        ran_planner: true,
        ..TurnOutput::default()
    };
    let batch = input.batch;
    let context = TurnContext {
        tools: tool_specs(tools, &input),
        instruction: INSTRUCTION.into(),
        input,
    };
    let mut planner_name = planner.name();
    output.events.push(
        event::PlannerContext {
            batch,
            planner: planner_name.clone(),
            instruction: context.instruction.clone(),
            summary: serde_json::to_value(&context.input.summary).unwrap_or(Value::Null),
            current_constraints: context.input.current.clone(),
            catalog: CatalogBrief {
                id: context.input.catalog.id.clone(),
                price_min: context.input.catalog.price_min,
                price_max: context.input.catalog.price_max,
            },
            tools: context.tools.clone(),
            limits: TurnLimits {
                max_steps: config.max_steps as u64,
                turn_timeout_ms: config.turn_timeout.as_millis() as u64,
            },
        }
        .into(),
    );
    let fallback = OfflinePlanner;
    let mut active: &dyn Planner = planner;
    let mut transcript: Vec<Entry> = Vec::new();
    let out_of_time = |output: &mut TurnOutput| {
        output.events.push(
            PlannerStopped {
                batch,
                step: None,
                reason: format!(
                    "the turn took longer than {} ms (agent.turn_timeout_ms)",
                    config.turn_timeout.as_millis()
                ),
            }
            .into(),
        );
    };
    // The offline planner takes over: an event says why, and the recommendation will too.
    let fall_back = |output: &mut TurnOutput, planner_name: &str, step: usize, cause: &str, error: &str| {
        output.events.push(
            event::PlannerError {
                batch,
                step: Some(step as u64),
                planner: planner_name.to_owned(),
                cause: cause.to_owned(),
                error: error.to_owned(),
                fallback: fallback.name(),
            }
            .into(),
        );
        output.fallback = Some(Fallback {
            from: planner_name.to_owned(),
            step: step as u64,
            cause: cause.to_owned(),
            error: error.to_owned(),
        });
    };
    let mut step = 0;
    while step < config.max_steps {
        step += 1;
        let step_started = Instant::now();
        let offline = planner_name == fallback.name();
        let step_deadline = if offline { deadline } else { deadline - reserve };
        let decided = match tokio::time::timeout_at(step_deadline.into(), active.next(&context, &transcript)).await {
            Ok(decided) => decided,
            Err(_) if !offline => Err(PlannerError {
                cause: "timeout".into(),
                message: format!(
                    "no answer within the turn's time ({} ms, agent.turn_timeout_ms or openai.turn_timeout_ms, less {} ms kept for the offline planner)",
                    config.turn_timeout.as_millis(),
                    reserve.as_millis()
                ),
            }),
            Err(_) => {
                out_of_time(&mut output);
                return output;
            }
        };
        let planned = match decided {
            Ok(planned) => planned,
            Err(error) => {
                // The shopper still gets a recommendation: the offline planner finishes the turn,
                // and the recommendation says so.
                tracing::warn!(batch, step, planner = %planner_name, cause = %error.cause, "planner failed; the offline planner finishes the turn: {}", error.message);
                fall_back(&mut output, &planner_name, step, &error.cause, &error.message);
                active = &fallback;
                planner_name = fallback.name();
                step -= 1;
                continue;
            }
        };
        let action = match &planned.reply {
            PlannerReply::Calls(calls) => PlannerAction::Calls(calls.iter().map(describe_call).collect()),
            PlannerReply::Final(text) => PlannerAction::Final(text.clone()),
        };
        output.events.push(
            event::PlannerStep {
                batch,
                step: step as u64,
                planner: planner_name.clone(),
                model: planned.model.clone(),
                action,
                millis: step_started.elapsed().as_secs_f64() * 1e3,
                prompt_tokens: planned.prompt_tokens,
                completion_tokens: planned.completion_tokens,
                request_trimmed: planned.notes.clone(),
            }
            .into(),
        );
        match planned.reply {
            PlannerReply::Final(_) if !offline && last_recommendation(&transcript).is_none() => {
                // A model that answers before the constraint function ran leaves the shopper
                // with nothing: it is reminded once, then the offline planner finishes the turn.
                let reminded = transcript.iter().any(|e| matches!(e, Entry::Reminder(_)));
                if !reminded {
                    transcript.push(Entry::Reminder(format!(
                        "You answered without calling {FUNCTION_NAME}, so nothing was recommended. Call {FUNCTION_NAME} now with the preferences the summary states, then answer."
                    )));
                    continue;
                }
                let error = format!("the model answered twice without a successful {FUNCTION_NAME} call");
                tracing::warn!(batch, step, planner = %planner_name, "{error}; the offline planner finishes the turn");
                fall_back(&mut output, &planner_name, step, "no-call", &error);
                active = &fallback;
                planner_name = fallback.name();
            }
            PlannerReply::Final(text) => {
                let last = last_recommendation(&transcript);
                let answer = if text.is_empty() {
                    last.map(offline::answer_text)
                        .unwrap_or_else(|| "Nothing to recommend yet.".into())
                } else {
                    text
                };
                let event = recommendation_event(batch, answer, last, &output, &planner_name, started);
                output.events.push(event);
                return output;
            }
            PlannerReply::Calls(calls) if !offline && repeats_a_recommended_call(&calls, &transcript) => {
                // Small models call the function again and again with the same arguments once
                // it has answered; running it again changes nothing, so the turn ends here.
                output.events.push(
                    PlannerStopped {
                        batch,
                        step: Some(step as u64),
                        reason: format!(
                            "the model called {FUNCTION_NAME} again with the arguments of a call that already recommended; the turn ends with that recommendation"
                        ),
                    }
                    .into(),
                );
                let last = last_recommendation(&transcript);
                let answer = last.map(offline::answer_text).unwrap_or_default();
                let event = recommendation_event(batch, answer, last, &output, &planner_name, started);
                output.events.push(event);
                return output;
            }
            PlannerReply::Calls(calls) => {
                transcript.push(Entry::Calls(calls.clone()));
                let check_consistency = !offline;
                for call in calls {
                    let run = execute(tools, &context, &call, &transcript, check_consistency, &mut output);
                    let Ok(outcome) = tokio::time::timeout_at(deadline.into(), run).await else {
                        out_of_time(&mut output);
                        return output;
                    };
                    transcript.push(Entry::Result { call, outcome });
                }
            }
        }
    }
    output.events.push(
        PlannerStopped {
            batch,
            step: None,
            reason: format!("no final answer within {} steps (agent.max_steps)", config.max_steps),
        }
        .into(),
    );
    // The products the last successful constraint call chose are still the best answer there is.
    if let Some(last) = last_recommendation(&transcript) {
        let event = recommendation_event(
            batch,
            offline::answer_text(last),
            Some(last),
            &output,
            &planner_name,
            started,
        );
        output.events.push(event);
    }
    output
}

/// The `recommendation` event: the answer, the products of the constraint call's outcome, who
/// answered and, when the offline planner finished the turn, why.
fn recommendation_event(
    batch: u64,
    answer: String,
    outcome: Option<&Value>,
    output: &TurnOutput,
    planner: &str,
    started: Instant,
) -> EventPayload {
    let recommendation = outcome
        .map(|o| o["ok"]["recommendation"].clone())
        .unwrap_or(Value::Null);
    event::Recommendation {
        batch,
        answer,
        items: recommendation["items"].clone(),
        expected_revenue: recommendation["expected_revenue"].clone(),
        no_purchase_probability: recommendation["no_purchase_probability"].clone(),
        constraints: output.constraints.clone(),
        planner: planner.to_owned(),
        fallback: output.fallback.clone(),
        millis: started.elapsed().as_secs_f64() * 1e3,
    }
    .into()
}

fn describe_call(call: &ToolCall) -> Value {
    let mut described = json!({ "id": call.id, "name": call.name, "arguments": call.arguments });
    if !call.repairs.is_empty() {
        described["repairs"] = json!(call.repairs);
        described["raw_arguments"] = json!(call.raw_arguments);
    }
    if let Some(reason) = &call.malformed {
        described["malformed"] = json!(reason);
        described["raw_arguments"] = json!(call.raw_arguments);
    }
    described
}

/// Whether every call of a step is the constraint function with the arguments of an earlier call
/// of the turn that already recommended.
fn repeats_a_recommended_call(calls: &[ToolCall], transcript: &[Entry]) -> bool {
    !calls.is_empty()
        && calls.iter().all(|asked| {
            asked.name == FUNCTION_NAME
                && transcript.iter().any(|entry| {
                    matches!(entry, Entry::Result { call, outcome }
                        if call.name == FUNCTION_NAME && call.arguments == asked.arguments && outcome["ok"]["status"] == "recommended")
                })
        })
}

/// The outcome of the turn's last successful constraint function call.
fn last_recommendation(transcript: &[Entry]) -> Option<&Value> {
    transcript.iter().rev().find_map(|entry| match entry {
        Entry::Result { call, outcome } if call.name == FUNCTION_NAME && outcome["ok"]["status"] == "recommended" => {
            Some(outcome)
        }
        _ => None,
    })
}
