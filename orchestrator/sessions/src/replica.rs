//! Sessions on a store shared by several servers (replicas). Any replica serves any session, so
//! no replica may trust what it holds in memory:
//! - a session's record is changed only under the record's lease (`record/<id>`), read afresh
//!   from the store once the lease is taken, and written back before it is given up;
//! - a session's batches are worked on by the one replica holding its batch lease
//!   (`batch/<id>`), renewed while the work runs; a replica that dies leaves the lease to
//!   expire, and whichever replica's ticker comes next finishes the batch from the step that did
//!   not commit (the batch in flight in the record says which);
//! - live events are broadcast only on the replica that made them, so watches also read the
//!   log every poll interval.
//!
//! On sled (one process) none of this runs: the in-memory locks are the whole story.

use crate::log::Live;
use crate::{SessionError, Sessions};
use interarec_core::session::SessionRecord;
use interarec_store::{HeldLease, Lease, LeaseHolder, Store};
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// How long a batch claim lasts unless renewed, by default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// How often watches read the shared log, by default.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);

/// How long a call waits for a session's record held by another replica before it gives up.
const RECORD_WAIT: Duration = Duration::from_secs(30);

/// How this server cooperates with the others on a shared store.
#[derive(Debug, Clone)]
pub struct Replica {
    /// This server's name in leases.
    pub holder: LeaseHolder,
    /// How long a lease lasts unless renewed.
    pub lease: Duration,
    /// How often watches read the log for events made elsewhere.
    pub poll: Duration,
}

/// A session's record, locked for this call (and, on a shared store, leased from the others).
pub(crate) struct RecordGuard<'a> {
    record: tokio::sync::MutexGuard<'a, SessionRecord>,
    lease: Option<(Store, Lease)>,
}

impl Deref for RecordGuard<'_> {
    type Target = SessionRecord;

    fn deref(&self) -> &SessionRecord {
        &self.record
    }
}

impl DerefMut for RecordGuard<'_> {
    fn deref_mut(&mut self) -> &mut SessionRecord {
        &mut self.record
    }
}

impl Drop for RecordGuard<'_> {
    fn drop(&mut self) {
        if let Some((store, lease)) = self.lease.take()
            && let Err(error) = store.release_lease(lease)
        {
            // It expires on its own; until then other replicas wait for it.
            tracing::warn!(session = %self.record.id, %error, "giving back a session's lease failed");
        }
    }
}

/// A session's batch work claimed by this replica (on a shared store, a lease renewed on a
/// thread of its own until this is dropped).
pub(crate) struct BatchClaim {
    _held: Option<HeldLease>,
}

impl Sessions {
    /// Locks session `live`'s record for a change; on a shared store, also takes its lease
    /// (waiting for another replica to give it up) and reads the record afresh.
    pub(crate) async fn record<'a>(&self, live: &'a Live) -> Result<RecordGuard<'a>, SessionError> {
        let record = live.record.lock().await;
        let Some(replica) = &self.replica else {
            return Ok(RecordGuard { record, lease: None });
        };
        let name = format!("record/{}", record.id);
        let deadline = Instant::now() + RECORD_WAIT;
        let mut pause = Duration::from_millis(1);
        let lease = loop {
            if let Some(lease) = self.store.try_lease(&name, &replica.holder, replica.lease)? {
                break lease;
            }
            if Instant::now() >= deadline {
                return Err(SessionError::Busy(format!(
                    "session `{}` is held by another server for over {} s; try again",
                    record.id,
                    RECORD_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(25));
        };
        let mut guard = RecordGuard {
            lease: Some((self.store.clone(), lease)),
            record,
        };
        match self.store.get_session(&guard.record.id)? {
            Some(fresh) => *guard.record = fresh,
            None => return Err(SessionError::NotFound(guard.record.id.clone())),
        }
        Ok(guard)
    }

    /// The session's record as stored now (on a shared store), or as held here.
    pub(crate) async fn current(&self, live: &Live) -> Result<SessionRecord, SessionError> {
        let held = live.record.lock().await.clone();
        if self.replica.is_none() {
            return Ok(held);
        }
        self.store
            .get_session(&held.id)?
            .ok_or_else(|| SessionError::NotFound(held.id.clone()))
    }

    /// Claims session `id`'s batch work for this replica, waiting for it when `wait`. `None`:
    /// another live replica has it (it will do the work). Without a shared store the claim is only the in-memory lock the
    /// caller holds.
    pub(crate) async fn claim_batches(&self, id: &str, wait: bool) -> Result<Option<BatchClaim>, SessionError> {
        let Some(replica) = self.replica.clone() else {
            return Ok(Some(BatchClaim { _held: None }));
        };
        let name = format!("batch/{id}");
        // Waiting has no deadline of its own, as waiting for the in-process lock has none: a
        // holder that renews is working through the session's batches, and one that died lets
        // its lease expire. The caller's own deadline (a gRPC deadline) ends the wait.
        let lease = loop {
            if let Some(lease) = self.store.try_lease(&name, &replica.holder, replica.lease)? {
                break lease;
            }
            if !wait {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Ok(Some(BatchClaim {
            _held: Some(self.store.keep_lease(lease, &replica.holder, replica.lease)),
        }))
    }
}
