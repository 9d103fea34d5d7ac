//! The data of one call's store: WASI context (deny-by-default), the tool's identity and grants,
//! its memory guard and captured stderr.

use crate::services::Services;
use interarec_core::{Capability, Grants};
use std::sync::Arc;
use std::time::Instant;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// How much of the guest's stdout and stderr a call keeps (for panic messages).
const CAPTURED_OUTPUT_BYTES: usize = 64 * 1024;

/// Who is calling: fixed for the duration of one call.
#[derive(Debug, Clone)]
pub struct CallIdentity {
    /// Tool name.
    pub tool: String,
    /// Tool version.
    pub version: String,
    /// What the operator granted.
    pub grants: Grants,
    /// Session the call belongs to (empty for direct calls).
    pub session: String,
}

/// Marker error raised by the memory guard; recognised when classifying the trap.
#[derive(Debug)]
pub struct MemoryLimitReached {
    /// Bytes asked for.
    pub requested: u64,
}

impl std::fmt::Display for MemoryLimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "memory limit reached: asked for {} bytes", self.requested)
    }
}

impl std::error::Error for MemoryLimitReached {}

/// Marker error raised by the epoch callback when the deadline has passed.
#[derive(Debug)]
pub struct DeadlineReached;

impl std::fmt::Display for DeadlineReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline reached")
    }
}

impl std::error::Error for DeadlineReached {}

/// Caps linear memory and table growth of one call.
pub struct MemoryGuard {
    /// The tool's memory limit.
    pub limit_bytes: u64,
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit_bytes {
            // An error (not `Ok(false)`) so the guest traps at once instead of seeing a failed
            // `memory.grow` and aborting with a vaguer message.
            return Err(MemoryLimitReached {
                requested: desired as u64,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The store data of one call.
pub struct CallState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) identity: Arc<CallIdentity>,
    pub(crate) services: Services,
    pub(crate) memory: MemoryGuard,
    pub(crate) deadline: Instant,
    pub(crate) output: MemoryOutputPipe,
    pub(crate) log_lines: u32,
    /// Set by `kv` writes; the host flushes the backend before acknowledging the call.
    pub(crate) kv_written: bool,
}

impl CallState {
    pub(crate) fn new(
        identity: Arc<CallIdentity>,
        services: Services,
        memory_limit: u64,
        deadline: Instant,
    ) -> CallState {
        let output = MemoryOutputPipe::new(CAPTURED_OUTPUT_BYTES);
        // Deny by default: no environment, arguments, preopened directories or sockets. Only
        // clocks, randomness and the captured stdio remain from WASI.
        let wasi = WasiCtxBuilder::new()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        CallState {
            wasi,
            table: ResourceTable::new(),
            identity,
            services,
            memory: MemoryGuard {
                limit_bytes: memory_limit,
            },
            deadline,
            output,
            log_lines: 0,
            kv_written: false,
        }
    }

    /// What the guest wrote to stdout/stderr, lossily decoded.
    pub(crate) fn captured_output(&self) -> String {
        String::from_utf8_lossy(&self.output.contents()).into_owned()
    }

    /// `Ok` when `capability` is granted, otherwise the `denied` host error naming it.
    pub(crate) fn require(&self, capability: Capability) -> Result<(), crate::bindings::HostError> {
        if self.identity.grants.allows(capability) {
            Ok(())
        } else {
            Err(crate::bindings::HostError::Denied(format!(
                "capability `{capability}` is not granted to tool `{}`@{}; register it with `--grant {}`",
                self.identity.tool,
                self.identity.version,
                if capability == Capability::Http {
                    "http:HOST"
                } else {
                    capability.name()
                }
            )))
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
