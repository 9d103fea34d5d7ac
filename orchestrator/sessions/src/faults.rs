//! Fault injection at the steps of a batch, so tests can stop a batch wherever a crash could
//! and check that it resumes. A test arms a [`Point`] for one session; until disarmed, every
//! pass through that point fails the step with [`SessionError::Worker`] before anything after
//! it happens, as a crash there would. Points are compiled in only with debug assertions: in a
//! release build [`arm`] does nothing and no check costs anything.

use crate::SessionError;

/// Where a batch can be stopped: every await between its window being chosen and its turn
/// being recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// The `capture` tool answered; the batch is not recorded yet.
    AfterCapture,
    /// The batch event and the record are written, not yet flushed.
    BeforeBatchFlush,
    /// The batch is committed; the summary has not started.
    AfterBatchCommit,
    /// The `summarize` tool answered; the summary is not recorded yet.
    AfterSummary,
    /// The summary is committed; the planner's turn has not started.
    AfterSummaryCommit,
    /// The planner's turn ran; its events are not recorded yet.
    AfterTurn,
    /// The turn's events are written, the record not yet.
    BeforeTurnCommit,
}

impl Point {
    /// Every point, in the order a batch passes them.
    pub const ALL: [Point; 7] = [
        Point::AfterCapture,
        Point::BeforeBatchFlush,
        Point::AfterBatchCommit,
        Point::AfterSummary,
        Point::AfterSummaryCommit,
        Point::AfterTurn,
        Point::BeforeTurnCommit,
    ];
}

#[cfg(debug_assertions)]
mod armed {
    use super::Point;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Armed points per session, and how often each was hit.
    static ARMED: Mutex<Option<HashMap<(String, Point), u64>>> = Mutex::new(None);

    /// Runs `work` on the armed points.
    pub(super) fn with<R>(work: impl FnOnce(&mut HashMap<(String, Point), u64>) -> R) -> R {
        work(ARMED.lock().expect("faults").get_or_insert_default())
    }
}

/// Makes `point` fail for `session` until [`disarm`] (debug builds only).
pub fn arm(session: &str, point: Point) {
    #[cfg(debug_assertions)]
    armed::with(|armed| armed.insert((session.to_owned(), point), 0));
    #[cfg(not(debug_assertions))]
    let _ = (session, point);
}

/// Stops failing `point` for `session`; returns how often it was hit while armed.
pub fn disarm(session: &str, point: Point) -> u64 {
    #[cfg(debug_assertions)]
    return armed::with(|armed| armed.remove(&(session.to_owned(), point)).unwrap_or(0));
    #[cfg(not(debug_assertions))]
    {
        let _ = (session, point);
        0
    }
}

/// How often `point` was hit for `session` since it was armed (0 when not armed).
pub fn hits(session: &str, point: Point) -> u64 {
    #[cfg(debug_assertions)]
    return armed::with(|armed| armed.get(&(session.to_owned(), point)).copied().unwrap_or(0));
    #[cfg(not(debug_assertions))]
    {
        let _ = (session, point);
        0
    }
}

/// Fails when `point` is armed for `session`.
pub(crate) fn check(session: &str, point: Point) -> Result<(), SessionError> {
    #[cfg(debug_assertions)]
    {
        let armed = armed::with(|armed| {
            armed
                .get_mut(&(session.to_owned(), point))
                .map(|hits| *hits += 1)
                .is_some()
        });
        if armed {
            return Err(SessionError::Worker(format!(
                "fault injected at {point:?} in session `{session}`"
            )));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = (session, point);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_point_fails_only_its_session_until_disarmed() {
        arm("faults-a", Point::AfterSummary);
        assert!(check("faults-a", Point::AfterSummary).is_err());
        assert!(check("faults-a", Point::AfterSummary).is_err());
        assert!(check("faults-b", Point::AfterSummary).is_ok());
        assert!(check("faults-a", Point::AfterTurn).is_ok());
        assert_eq!(hits("faults-a", Point::AfterSummary), 2);
        assert_eq!(disarm("faults-a", Point::AfterSummary), 2);
        assert!(check("faults-a", Point::AfterSummary).is_ok());
    }
}
