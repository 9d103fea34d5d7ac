//! From a closed batch to a recommendation: the `summarize` tool reads the batch's kept frames
//! (with the previous summary as context) into the eight-category summary; a recommending
//! session then hands the summary to its planner for a turn ([`interarec_agent`]), and the
//! turn's events and merged constraints are recorded. `RecommendNow` runs the same hand-off on
//! demand. Each step commits by writing the session's record ([`BatchInFlight`] says which step
//! is next), so a batch interrupted anywhere is finished where it stopped.

use crate::batching::Closing;
use crate::faults::{self, Point};
use crate::log::Live;
use crate::{SUMMARIZE_TOOL, SessionError, Sessions};
use interarec_agent::{ASSORTMENT_TOOL, TurnInput, TurnOutput, VALIDATE_TOOL};
use interarec_core::event::{BatchSummary, PlannerSkipped};
use interarec_core::session::{BatchInFlight, BatchStage, SessionEvent, SessionRecord};
use interarec_core::telemetry;
use serde_json::{Map, Value, json};

impl Sessions {
    /// Finishes the session's batch in flight, if any, from the step after the last one that
    /// committed: its summary, then (when the session recommends) the planner's turn. The
    /// caller holds the session's batching lock.
    pub(crate) async fn finish_in_flight(&self, id: &str, live: &Live) -> Result<(), SessionError> {
        let Some(in_flight) = self.current(live).await?.in_flight else {
            return Ok(());
        };
        use tracing::Instrument;
        let span = tracing::info_span!("batch", session = %id, batch = in_flight.batch);
        async {
            let unreadable = match &in_flight.stage {
                BatchStage::Closed => match self.summary_step(id, live, &in_flight).await? {
                    Some(unreadable) => unreadable,
                    None => return Ok(()),
                },
                BatchStage::Summarized { unreadable } => unreadable.clone(),
            };
            self.turn_step(id, live, in_flight.batch, unreadable).await
        }
        .instrument(span)
        .await
    }

    /// Summarises the batch and commits the summary. Returns whether a turn follows (`None`:
    /// the batch is finished) and, if so, why the summary could not be read, if it could not.
    async fn summary_step(
        &self,
        id: &str,
        live: &Live,
        in_flight: &BatchInFlight,
    ) -> Result<Option<Option<String>>, SessionError> {
        let summary = self
            .summarize(id, in_flight.batch, &in_flight.kept, in_flight.previous_summary.clone())
            .await;
        faults::check(id, Point::AfterSummary)?;
        let mut record = self.record(live).await?;
        if record.in_flight.as_ref() != Some(in_flight) {
            // Another replica committed this step meanwhile (this one lost its claim).
            return Ok(None);
        }
        let Some(summary) = summary else {
            // Nothing to summarise (every frame dropped, or no `summarize` tool): done.
            record.in_flight = None;
            self.store.put_session(&record)?;
            drop(record);
            self.flush().await?;
            return Ok(None);
        };
        let typed = summary.summary().cloned();
        let unreadable = typed.is_none().then(|| {
            summary
                .error()
                .unwrap_or("the summarize tool returned no summary")
                .to_owned()
        });
        if let Some(typed) = typed {
            record.latest_summary = Some(typed);
        }
        let recommends = !record.model_id.is_empty();
        record.in_flight = recommends.then(|| BatchInFlight {
            stage: BatchStage::Summarized {
                unreadable: unreadable.clone(),
            },
            ..in_flight.clone()
        });
        let summary_event = crate::log::next_event(&mut record, summary.into());
        self.store.append_event(&summary_event)?;
        self.store.put_session(&record)?;
        drop(record);
        self.flush().await?;
        let _ = live.events.send(summary_event);
        faults::check(id, Point::AfterSummaryCommit)?;
        Ok(recommends.then_some(unreadable))
    }

    /// The planner's turn on the batch's summary (or, when it could not be read, an event
    /// saying so), committed with the batch finished.
    async fn turn_step(
        &self,
        id: &str,
        live: &Live,
        batch: u64,
        unreadable: Option<String>,
    ) -> Result<(), SessionError> {
        let (input, planner) = {
            let record = self.current(live).await?;
            let input = match unreadable {
                // The previous recommendation stands; the shopper is told why nothing changed.
                Some(why) => Some(Err(format!(
                    "the batch's summary could not be read ({why}); the previous recommendation stands"
                ))),
                None => record
                    .latest_summary
                    .clone()
                    .and_then(|summary| self.turn_input(&record, batch, summary)),
            };
            (input, record.planner.clone())
        };
        let turn = match input {
            Some(Ok(input)) => self.planners.run_turn(self.tools.as_ref(), &planner, input).await,
            Some(Err(reason)) => skipped(batch, reason),
            None => TurnOutput::default(),
        };
        faults::check(id, Point::AfterTurn)?;
        self.record_turn(live, turn, Some(batch)).await
    }

    /// `RecommendNow`: closes the pending frames into a batch now (summary, then the planner's
    /// turn), or, with none pending, runs the planner again on the latest summary. Returns the
    /// events this produced.
    pub async fn recommend_now(&self, id: &str) -> Result<Vec<SessionEvent>, SessionError> {
        let live = self.live(id)?;
        let (before, pending) = {
            let record = self.current(&live).await?;
            if record.ended {
                return Err(SessionError::Ended(id.to_owned()));
            }
            (record.events, record.last_sequence > record.batched_through)
        };
        if pending {
            self.close_batches(id, Closing::Now).await?;
        } else {
            let _batching = live.batching.lock().await;
            let _claim = self.claim_batches(id, true).await?;
            // A batch still in flight is finished instead: its turn is the recommendation.
            if self.current(&live).await?.in_flight.is_some() {
                self.finish_in_flight(id, &live).await?;
                return self.events(id, before + 1, usize::MAX).await;
            }
            let (input, batch, planner) = {
                let record = self.current(&live).await?;
                let batch = record.batches;
                let input = record
                    .latest_summary
                    .clone()
                    .and_then(|summary| self.turn_input(&record, batch, summary));
                (input, batch, record.planner.clone())
            };
            let turn = match input {
                Some(Ok(input)) => self.planners.run_turn(self.tools.as_ref(), &planner, input).await,
                Some(Err(reason)) => skipped(batch, reason),
                None => skipped(
                    batch,
                    "nothing to recommend from yet: no frames are pending and no batch has been summarised (or the session has no choice model)".into(),
                ),
            };
            self.record_turn(&live, turn, None).await?;
        }
        self.events(id, before + 1, usize::MAX).await
    }

    /// Appends a turn's events and its constraints to the session, finishing the batch in
    /// flight (`batch`, when the turn was that batch's) in the same record write, then
    /// broadcasts them.
    async fn record_turn(&self, live: &Live, turn: TurnOutput, batch: Option<u64>) -> Result<(), SessionError> {
        let mut record = self.record(live).await?;
        if let Some(batch) = batch
            && record.in_flight.as_ref().map(|f| f.batch) != Some(batch)
        {
            // Another replica finished this batch meanwhile (this one lost its claim).
            return Ok(());
        }
        let mut sent = Vec::with_capacity(turn.events.len());
        // Events are keyed by sequence: a turn that failed before its record was written is
        // written again over the same sequences, and reads stop at the record's count.
        for payload in turn.events {
            let turn_event = crate::log::next_event(&mut record, payload);
            self.store.append_event(&turn_event)?;
            sent.push(turn_event);
        }
        if let Err(fault) = faults::check(&record.id, Point::BeforeTurnCommit) {
            // As a crash here would: the record keeps its earlier count and the batch in flight.
            record.events -= sent.len() as u64;
            return Err(fault);
        }
        let finished = record.in_flight.take();
        if turn.constraints.is_some() {
            record.constraints = turn.constraints;
        }
        if turn.ran_planner {
            record.planner_turns += 1;
        }
        if turn.fallback.is_some() {
            record.fallback_turns += 1;
        }
        self.store.put_session(&record)?;
        self.flush().await?;
        drop(record);
        if let Some(batch) = finished.filter(|batch| batch.closed_at_unix_ms > 0) {
            let waited_ms = interarec_core::unix_millis().saturating_sub(batch.closed_at_unix_ms);
            metrics::histogram!(telemetry::BATCH_TO_RECOMMENDATION).record(waited_ms as f64 / 1000.0);
        }
        for turn_event in sent {
            let _ = live.events.send(turn_event);
        }
        Ok(())
    }

    /// What the planner's turn needs, when the session recommends (`None`: it only summarises;
    /// `Some(Err)`: it should recommend but cannot, and the reason becomes an event).
    fn turn_input(&self, record: &SessionRecord, batch: u64, summary: Value) -> Option<Result<TurnInput, String>> {
        if record.model_id.is_empty() {
            return None;
        }
        let validate_tool = if record.validate_tool.is_empty() {
            VALIDATE_TOOL
        } else {
            record.validate_tool.as_str()
        };
        let input = (|| {
            for tool in [validate_tool, ASSORTMENT_TOOL] {
                if !self.tools.has(tool) {
                    return Err(if tool == VALIDATE_TOOL || tool == ASSORTMENT_TOOL {
                        format!(
                            "no `{tool}` tool is registered: register plugins/{tool} with --grant catalog to get recommendations"
                        )
                    } else {
                        format!(
                            "the session validates with `{tool}`, which is not registered: register that plugin with --grant catalog"
                        )
                    });
                }
            }
            let catalog = self
                .store
                .get_catalog(&record.catalog_id)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the session's catalog `{}` does not exist", record.catalog_id))?;
            let catalog = serde_json::to_string(&catalog)
                .map_err(|e| e.to_string())
                .and_then(|json| interarec_constraints::CatalogFacts::from_json(&json))?;
            let summary: interarec_summary::Summary =
                serde_json::from_value(summary).map_err(|e| format!("the summary does not read back: {e}"))?;
            Ok(TurnInput {
                session_id: record.id.clone(),
                batch,
                catalog,
                model_id: record.model_id.clone(),
                capacity: if record.capacity == 0 {
                    interarec_choice::recommend::DEFAULT_CAPACITY as u64
                } else {
                    u64::from(record.capacity)
                },
                summary,
                current: record.constraints.clone(),
                validate_tool: validate_tool.to_owned(),
                planner_tools: record.planner_tools.clone(),
            })
        })();
        Some(input)
    }

    /// Runs the `summarize` tool over a batch's kept frames (with the previous summary as
    /// context), when that tool is registered. The event holds its answer or its error.
    async fn summarize(
        &self,
        id: &str,
        batch: u64,
        frames: &[String],
        previous: Option<Value>,
    ) -> Option<BatchSummary> {
        if frames.is_empty() || !self.tools.has(SUMMARIZE_TOOL) {
            return None;
        }
        // At most the models capability's image limit per call: the latest frames.
        let frames = &frames[frames.len().saturating_sub(interarec_core::limits::MAX_IMAGES_PER_CHAT)..];
        let mut arguments = json!({ "frames": frames });
        if let Some(previous) = previous {
            arguments["previous_summary"] = previous;
        }
        let started = std::time::Instant::now();
        let answer = match self.tools.invoke(SUMMARIZE_TOOL, arguments.to_string(), id).await {
            Ok(result_json) => match serde_json::from_str::<Value>(&result_json) {
                Ok(Value::Object(answer)) => answer,
                Ok(other) => error_answer(format!("the summarize tool answered {other} instead of a JSON object")),
                Err(e) => error_answer(format!("the summarize tool answered bad JSON: {e}")),
            },
            Err(error) => error_answer(error),
        };
        let mut answer = answer;
        // The event's own fields win over the tool's keys of the same name.
        for key in ["batch", "frames", "millis"] {
            answer.remove(key);
        }
        Some(BatchSummary {
            batch,
            frames: frames.to_vec(),
            millis: started.elapsed().as_millis() as u64,
            answer,
        })
    }
}

fn error_answer(error: String) -> Map<String, Value> {
    Map::from_iter([("error".to_owned(), Value::String(error))])
}

fn skipped(batch: u64, reason: String) -> TurnOutput {
    TurnOutput {
        events: vec![PlannerSkipped { batch, reason }.into()],
        ..TurnOutput::default()
    }
}
