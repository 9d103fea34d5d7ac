//! Batching policy: pending frames close into a batch when the session's batch size is reached,
//! when the first pending frame is older than its interval, when the session ends, or when
//! `RecommendNow` asks. The `capture` tool de-duplicates the window; the `batch` event says what
//! it kept and dropped (or, when it could not run, that every frame was kept and why). Each
//! closed batch then goes to the summary and the planner ([`crate::handoff`]).
//!
//! A batch is recorded as in flight ([`BatchInFlight`]) in the same record write that commits
//! its `batch` event; each later step commits the same way. Before a session closes its next
//! window it finishes the batch in flight, so a crash or a failed step at any point ends, after
//! the restart or on the next tick, with the same kept frames, a summary and a turn.

use crate::faults::{self, Point};
use crate::{CAPTURE_TOOL, SessionError, Sessions};
use interarec_core::event::{BatchClosed, ClosedBy};
use interarec_core::session::{BatchInFlight, BatchStage, FrameMeta, SessionOptions, SessionRecord};
use interarec_core::telemetry;
use serde_json::{Value, json};

/// Which pending frames to close into batches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Closing {
    /// Only full windows.
    WhenFull,
    /// Full windows, and a partial one whose first frame is older than the interval.
    WhenDue,
    /// Everything pending (the session ends).
    Everything,
    /// Everything pending, now (`RecommendNow`); the session goes on.
    Now,
}

impl Sessions {
    /// Finishes every batch in flight and closes the batches whose first frame is older than
    /// the session's interval, in every session that has either (called by the server's ticker;
    /// also resumes sessions after a restart). One session's failure does not hold back the
    /// others; the first error is returned after all were tried.
    pub async fn close_due_batches(&self) -> Result<(), SessionError> {
        // The stored record is written on every change, so it says which sessions have work
        // without waking the others.
        let mut first_error = None;
        for record in self.store.list_sessions()? {
            let pending = !record.ended && record.last_sequence > record.batched_through;
            if !pending && record.in_flight.is_none() {
                continue;
            }
            if self.replica.is_some() {
                // On a shared store a batch a dead replica left behind must not wait for this
                // loop to work through every other session's backlog: each session's due work
                // runs as a task of its own (bounded by the batch slots), unless this replica is
                // already at it.
                let idle = self.live(&record.id)?.batching.try_lock().is_ok();
                if idle {
                    let (sessions, id) = (self.clone(), record.id.clone());
                    self.spawn(async move {
                        if let Err(error) = sessions.close_batches(&id, Closing::WhenDue).await {
                            tracing::warn!(session = %id, %error, "closing due batches failed");
                        }
                    });
                }
                continue;
            }
            if let Err(error) = self.close_batches(&record.id, Closing::WhenDue).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Closes what `closing` asks for, one window at a time, each followed by its summary and
    /// planner turn.
    pub(crate) async fn close_batches(&self, id: &str, closing: Closing) -> Result<(), SessionError> {
        let live = self.live(id)?;
        let _batching = live.batching.lock().await;
        let has_work =
            |record: &SessionRecord| record.in_flight.is_some() || record.last_sequence > record.batched_through;
        if !has_work(&self.current(&live).await?) {
            return Ok(());
        }
        // On a shared store one replica works on a session's batches at a time; the ticker
        // and frame intake leave a session another live replica is working on to it (its loop,
        // or the next tick, closes what is due).
        let wait = matches!(closing, Closing::Everything | Closing::Now);
        let Some(_claim) = self.claim_batches(id, wait).await? else {
            return Ok(());
        };
        if !has_work(&self.current(&live).await?) {
            return Ok(());
        }
        loop {
            // A slot per window, not per session: a session with a long backlog gives way
            // between its batches, so a batch another replica left behind (or a quiet session's
            // first) does not wait for a whole backlog to drain.
            let _slot = self
                .batch_slots
                .acquire()
                .await
                .map_err(|_| SessionError::Worker("the batch workers were shut down".into()))?;
            // A batch that closed but did not finish (a crash, a failed step) comes first.
            self.finish_in_flight(id, &live).await?;
            let (options, from) = {
                let record = self.current(&live).await?;
                (record.options, record.batched_through + 1)
            };
            let pending = self.store.frames(id, from, u64::MAX)?;
            let Some(first) = pending.first() else {
                return Ok(());
            };
            let size = options.batch_size as usize;
            let due =
                interarec_core::unix_millis().saturating_sub(first.received_at_unix_ms) >= options.batch_interval_ms;
            let closed_by = if pending.len() >= size {
                ClosedBy::Size
            } else if matches!(closing, Closing::Everything) {
                ClosedBy::End
            } else if matches!(closing, Closing::Now) {
                ClosedBy::RecommendNow
            } else if due && !matches!(closing, Closing::WhenFull) {
                ClosedBy::Interval
            } else {
                return Ok(());
            };
            let window: Vec<FrameMeta> = pending.into_iter().take(size).collect();
            let closed = self.deduplicate(id, &window, &options, closed_by).await;
            faults::check(id, Point::AfterCapture)?;
            let kept = closed.kept_frames();
            let batch = {
                let mut record = self.record(&live).await?;
                if record.in_flight.is_some() || record.batched_through + 1 != from {
                    // Another replica closed this window meanwhile (this one lost its claim).
                    return Ok(());
                }
                record.batched_through = window.last().map_or(record.batched_through, |f| f.sequence);
                record.batches += 1;
                record.in_flight = Some(BatchInFlight {
                    batch: record.batches,
                    kept,
                    previous_summary: record.latest_summary.clone(),
                    stage: BatchStage::Closed,
                    closed_at_unix_ms: interarec_core::unix_millis(),
                });
                let batch = crate::log::next_event(&mut record, closed.into());
                self.store.append_event(&batch)?;
                self.store.put_session(&record)?;
                batch
            };
            faults::check(id, Point::BeforeBatchFlush)?;
            self.flush().await?;
            metrics::counter!(telemetry::BATCHES_CLOSED).increment(1);
            let _ = live.events.send(batch);
            faults::check(id, Point::AfterBatchCommit)?;
            // Its summary and turn in the same slot: a closed batch never waits in the queue.
            self.finish_in_flight(id, &live).await?;
        }
    }

    /// Runs the `capture` tool over a window of frames; the batch event says what it kept and
    /// dropped, or why it could not run (then every frame is kept, and the event says so).
    async fn deduplicate(
        &self,
        id: &str,
        window: &[FrameMeta],
        options: &SessionOptions,
        closed_by: ClosedBy,
    ) -> BatchClosed {
        let sequences: Vec<u64> = window.iter().map(|f| f.sequence).collect();
        let arguments = json!({
            "frames": sequences.iter().map(u64::to_string).collect::<Vec<_>>(),
            "max_side": options.max_side,
            "static_threshold_bits": options.static_threshold_bits,
        });
        let mut closed = BatchClosed {
            frames: sequences.clone(),
            closed_by,
            first_captured_at_unix_ms: window.first().map(|f| f.captured_at_unix_ms),
            last_captured_at_unix_ms: window.last().map(|f| f.captured_at_unix_ms),
            kept: Value::Null,
            dropped: Value::Null,
            deduplicated: false,
            note: None,
        };
        match self.tools.invoke(CAPTURE_TOOL, arguments.to_string(), id).await {
            Ok(result_json) => match serde_json::from_str::<Value>(&result_json) {
                Ok(result) => {
                    closed.kept = result["kept"].clone();
                    closed.dropped = result["dropped"].clone();
                    closed.deduplicated = true;
                }
                Err(error) => keep_all(&mut closed, &format!("the capture tool answered bad JSON: {error}")),
            },
            Err(error) => keep_all(&mut closed, &error),
        }
        closed
    }
}

fn keep_all(closed: &mut BatchClosed, why: &str) {
    closed.kept = closed.frames.iter().map(|s| json!({"frame": s.to_string()})).collect();
    closed.dropped = json!([]);
    closed.deduplicated = false;
    closed.note = Some(format!(
        "frames not de-duplicated: {why}; register plugins/capture as `{CAPTURE_TOOL}` with --grant frames --grant kv"
    ));
}
