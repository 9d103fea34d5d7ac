//! Leases: named, expiring claims in the `leases` tree, taken and given back with
//! compare-and-swap, so that of several servers on one shared store exactly one works on a
//! session's record or a batch at a time, and a server that dies (kill -9, a lost machine)
//! loses its claims when they expire instead of holding them for ever.
//!
//! Expiry compares the holder's wall clock (unix ms in the lease) with the taker's, so servers
//! sharing a store need clocks in step well within a lease's time to live (NTP keeps them within
//! milliseconds; leases live seconds).

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Who takes leases: one per server process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder(Arc<str>);

impl LeaseHolder {
    /// A holder named `id` (unique among the servers sharing a store).
    pub fn new(id: &str) -> LeaseHolder {
        LeaseHolder(Arc::from(id))
    }

    /// Its name.
    pub fn id(&self) -> &str {
        &self.0
    }
}

/// A lease held (until it expires or is released).
#[derive(Debug, Clone)]
pub struct Lease {
    name: String,
    /// The stored value, compared on renewal and release so a lease taken over is left alone.
    stored: Vec<u8>,
    expires_at_unix_ms: u64,
}

impl Lease {
    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When it expires unless renewed.
    pub fn expires_at_unix_ms(&self) -> u64 {
        self.expires_at_unix_ms
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct LeaseValue {
    holder: String,
    expires_at_unix_ms: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Compare-and-swap rounds before a contended lease counts as taken by another holder.
const ROUNDS: usize = 8;

impl Store {
    /// Takes lease `name` for `holder` for `ttl` when it is free, expired or already
    /// `holder`'s (then it is extended). `None`: another holder has it.
    pub fn try_lease(&self, name: &str, holder: &LeaseHolder, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        for _ in 0..ROUNDS {
            let current = self.leases.get(name).map_err(|e| self.io(e))?;
            if let Some(bytes) = &current {
                let value: LeaseValue = crate::decode("leases", name.as_bytes(), bytes)?;
                if value.holder != holder.id() && value.expires_at_unix_ms > now_ms() {
                    return Ok(None);
                }
            }
            let lease = self.lease_value(name, holder, ttl)?;
            if self
                .leases
                .compare_and_swap(name, current.as_deref(), Some(&lease.stored))
                .map_err(|e| self.io(e))?
            {
                return Ok(Some(lease));
            }
        }
        Ok(None)
    }

    /// Extends a held lease by `ttl` from now. `false`: it expired and another holder took it
    /// (whatever it guarded must not be committed).
    pub fn renew_lease(&self, lease: &mut Lease, holder: &LeaseHolder, ttl: Duration) -> Result<bool, StoreError> {
        let renewed = self.lease_value(&lease.name, holder, ttl)?;
        let swapped = self
            .leases
            .compare_and_swap(lease.name.as_bytes(), Some(&lease.stored), Some(&renewed.stored))
            .map_err(|e| self.io(e))?;
        if swapped {
            *lease = renewed;
        }
        Ok(swapped)
    }

    /// Gives a lease back (left alone if another holder has taken it since).
    pub fn release_lease(&self, lease: Lease) -> Result<(), StoreError> {
        self.leases
            .compare_and_swap(lease.name.as_bytes(), Some(&lease.stored), None)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Who holds lease `name` and until when (`None`: nobody, or it expired).
    pub fn lease_holder(&self, name: &str) -> Result<Option<(String, u64)>, StoreError> {
        let Some(bytes) = self.leases.get(name).map_err(|e| self.io(e))? else {
            return Ok(None);
        };
        let value: LeaseValue = crate::decode("leases", name.as_bytes(), &bytes)?;
        Ok((value.expires_at_unix_ms > now_ms()).then_some((value.holder, value.expires_at_unix_ms)))
    }

    fn lease_value(&self, name: &str, holder: &LeaseHolder, ttl: Duration) -> Result<Lease, StoreError> {
        let expires_at_unix_ms = now_ms() + ttl.as_millis() as u64;
        let stored = serde_json::to_vec(&LeaseValue {
            holder: holder.id().to_owned(),
            expires_at_unix_ms,
        })
        .map_err(|e| self.io(e))?;
        Ok(Lease {
            name: name.to_owned(),
            stored,
            expires_at_unix_ms,
        })
    }
}

/// A lease kept by a thread of its own that renews it every third of its time to live, and
/// gives it back when this is dropped (or lets it expire, if the process dies).
#[derive(Debug)]
pub struct HeldLease {
    stop: Option<mpsc::Sender<()>>,
    lost: Arc<AtomicBool>,
}

impl HeldLease {
    /// Whether a renewal failed (another holder took the lease after this one stalled, or the
    /// store could not be reached): what it guards must not be committed any more.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        // The thread sees the channel close, gives the lease back and ends.
        self.stop.take();
    }
}

impl Store {
    /// Keeps `lease` (taken for `holder` with `ttl`) until the returned handle is dropped.
    pub fn keep_lease(&self, lease: Lease, holder: &LeaseHolder, ttl: Duration) -> HeldLease {
        let (stop, stopped) = mpsc::channel::<()>();
        let lost = Arc::new(AtomicBool::new(false));
        let (store, holder, flag) = (self.clone(), holder.clone(), lost.clone());
        let renew_every = ttl / 3;
        let spawned = std::thread::Builder::new()
            .name("interarec-lease".into())
            .spawn(move || {
                let mut lease = lease;
                loop {
                    match stopped.recv_timeout(renew_every) {
                        Err(mpsc::RecvTimeoutError::Timeout) => match store.renew_lease(&mut lease, &holder, ttl) {
                            Ok(true) => {}
                            _ => {
                                flag.store(true, Ordering::Relaxed);
                                return;
                            }
                        },
                        _ => {
                            let _ = store.release_lease(lease);
                            return;
                        }
                    }
                }
            });
        // Without a thread to renew it, the lease still lasts its time to live.
        drop(spawned);
        HeldLease { stop: Some(stop), lost }
    }
}
