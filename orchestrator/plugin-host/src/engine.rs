//! The wasmtime engine: pooling allocator sized from the limits, epoch interruption driven by a
//! ticker thread that really runs, optional fuel.

use interarec_core::LimitsConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A running guest checks its deadline (and yields to the async
/// runtime) at most this long after it passed.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Builds the engine. Pool sizes follow `max_concurrent_calls` plus headroom for registrations.
pub fn build_engine(limits: &LimitsConfig) -> anyhow::Result<Engine> {
    let instances = limits.max_concurrent_calls + 16;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        // A Rust wasip2 component holds its own module plus a few adapter shims.
        .total_core_instances(instances * 8)
        .total_memories(instances * 2)
        .total_tables(instances * 8)
        .total_stacks(instances)
        .max_memory_size(limits.max_memory_bytes as usize)
        // Reset only the pages a call dirtied (Linux PAGEMAP_SCAN, 6.7+) by memset instead of
        // madvise, so the next call in the slot takes no page faults and no TLB shootdown.
        // Without the ioctl the low megabyte is memset and the rest madvised.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(16 << 20)
        .table_keep_resident(1 << 20);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(limits.fuel_enabled)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(Engine::new(&config)?)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts the ticker thread.
    pub fn start(engine: Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("interarec-epoch".into())
            .spawn(move || {
                while !thread_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
