//! [`Planners`]: the planners a server offers its sessions (the offline planner always, the
//! network planner when an OpenAI-compatible endpoint is configured), the defaults, and the turn
//! run with a session's choice.

use crate::{AgentConfig, OfflinePlanner, OpenAiPlanner, TurnInput, TurnOutput, run_turn};
use interarec_core::Tools;
use interarec_core::event::{self, EventPayload, Fallback};
use interarec_llm::Provider;
use std::sync::Arc;

/// The model-backed choices a server offers its sessions.
#[derive(Clone, Default)]
pub struct Planners {
    /// Default planner and per-turn limits.
    pub agent: AgentConfig,
    /// Default vision provider.
    pub vision: Provider,
    /// The network planner, when an OpenAI-compatible endpoint is configured.
    pub network: Option<Arc<OpenAiPlanner>>,
}

impl Planners {
    /// A session's provider choice for `role` (`planner`, `vision provider`): its own, or the
    /// default when empty, checked against what this server offers.
    pub fn resolve(&self, asked: &str, default: Provider, role: &str) -> Result<Provider, String> {
        let provider = if asked.trim().is_empty() {
            default
        } else {
            Provider::parse(asked).map_err(|e| format!("{role}: {e}"))?
        };
        if provider == Provider::OpenAi && self.network.is_none() {
            return Err(format!(
                "{role} `openai` needs an OpenAI-compatible endpoint, and this server has none: start it with --openai-base-url URL (key in INTERAREC_OPENAI_API_KEY), or choose `offline`"
            ));
        }
        Ok(provider)
    }

    /// Runs a turn with the planner a session recorded (`offline`, `openai`, or empty for the
    /// default). A session that chose `openai` on a server restarted without the endpoint is
    /// told so and still gets the offline planner's recommendation.
    pub async fn run_turn(&self, tools: &dyn Tools, session_planner: &str, input: TurnInput) -> TurnOutput {
        let config = &self.agent;
        let provider = Provider::parse(session_planner).unwrap_or(config.planner);
        match (provider, &self.network) {
            (Provider::OpenAi, Some(network)) => {
                let config = AgentConfig {
                    turn_timeout: network.settings().turn_timeout.unwrap_or(config.turn_timeout),
                    ..*config
                };
                run_turn(tools, input, network.as_ref(), &config).await
            }
            (Provider::OpenAi, None) => {
                let batch = input.batch;
                let mut output = run_turn(tools, input, &OfflinePlanner, config).await;
                let error = "this server has no OpenAI-compatible endpoint any more (start it with --openai-base-url)";
                output.events.insert(
                    0,
                    event::PlannerError {
                        batch,
                        step: None,
                        planner: "openai".into(),
                        cause: "no-endpoint".into(),
                        error: error.into(),
                        fallback: "offline".into(),
                    }
                    .into(),
                );
                let fallback = Fallback {
                    from: "openai".into(),
                    step: 0,
                    cause: "no-endpoint".into(),
                    error: error.into(),
                };
                for payload in &mut output.events {
                    if let EventPayload::Recommendation(recommendation) = payload {
                        recommendation.fallback = Some(fallback.clone());
                    }
                }
                output.fallback = Some(fallback);
                output
            }
            (Provider::Offline, _) => run_turn(tools, input, &OfflinePlanner, config).await,
        }
    }
}
