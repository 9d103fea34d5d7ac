//! Work nobody waits on runs below the calls clients wait on. Closing batches, the tool calls a
//! batch makes (`capture`, `summarize`, the planner's) and reading frames ahead (OCR) take seconds
//! of CPU each; acknowledging a frame takes a millisecond. On the same threads, a guest's busy
//! loop (it yields only every epoch tick) or an OCR pass would hold acknowledgements back behind
//! it. So background work runs on its own runtime whose threads have a lower scheduling priority
//! (nice 10 on Linux): it takes every idle cycle but gives way at once when a call arrives.

use std::sync::Mutex;

/// The scheduling priority (nice value) of background threads; 0 is the default, 19 the lowest.
pub const BACKGROUND_NICE: i32 = 10;

/// Threads of the background runtime.
pub const BACKGROUND_THREADS: usize = 2;

/// Lowers the calling thread's CPU priority to [`BACKGROUND_NICE`]. Processes it starts (an OCR
/// engine's) inherit it. Best effort: where it cannot be lowered, the thread runs as before.
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take and return plain integers; on Linux a nice value
        // belongs to a thread, so this changes the calling thread only.
        let changed = unsafe {
            let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, thread, BACKGROUND_NICE)
        };
        if changed != 0 {
            tracing::debug!(
                "cannot lower a background thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// A multi-threaded runtime for background work, its threads at [`BACKGROUND_NICE`]. Shut down
/// (without waiting) when dropped, so it may be dropped inside another runtime.
#[derive(Debug)]
pub struct BackgroundRuntime {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
}

impl BackgroundRuntime {
    /// Starts the runtime's threads.
    pub fn start() -> std::io::Result<BackgroundRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(BACKGROUND_THREADS)
            .thread_name("interarec-background")
            .on_thread_start(lower_this_thread)
            .enable_all()
            .build()?;
        Ok(BackgroundRuntime {
            handle: runtime.handle().clone(),
            runtime: Mutex::new(Some(runtime)),
        })
    }

    /// Where to spawn background work.
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }

    /// Stops the threads; tasks still running are dropped at their next await.
    pub fn shut_down(&self) {
        if let Some(runtime) = self.runtime.lock().expect("background runtime").take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        self.shut_down();
    }
}
