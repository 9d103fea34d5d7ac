//! Errors of the plugin host: loading a component, and running one call of a tool.
//!
//! A [`CallError`] always names the tool and its version, then the cause; the server maps each
//! [`CallFailure`] to one gRPC status code.

use std::fmt;

/// Why a component could not be loaded (registration time).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Over the configured size limit.
    #[error(
        "component is {size} bytes, over the {limit}-byte limit (limits.max_component_bytes); shrink it (release build, strip debug info) or raise the limit"
    )]
    TooLarge {
        /// Bytes uploaded.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not WebAssembly at all.
    #[error(
        "the bytes are not a WebAssembly component (no `\\0asm` header); upload the .wasm file built for wasm32-wasip2"
    )]
    NotWasm,
    /// A core module rather than a component.
    #[error(
        "the bytes are a core WebAssembly module, not a component; build the tool for the wasm32-wasip2 target (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    /// Built against a WIT version this host does not speak.
    #[error(
        "the component was built against interarec:tool@{found}, but this host speaks interarec:tool@{expected}; rebuild the tool with the matching interarec-plugin SDK"
    )]
    VersionMismatch {
        /// What the component says.
        found: String,
        /// What the host speaks.
        expected: String,
    },
    /// Neither the version section nor an `interarec:tool` export.
    #[error(
        "the component does not export the interarec:tool/tool interface; implement `Tool` and call `export_tool!` from the interarec-plugin SDK"
    )]
    NotATool,
    /// wasmtime refused to compile it.
    #[error("the component does not compile: {0}")]
    Compile(String),
    /// It imports something the tool world does not offer.
    #[error(
        "the component cannot be linked against the interarec tool world: {0}; tools may import only the interarec:tool interfaces and WASI 0.2"
    )]
    Link(String),
    /// `describe` failed or returned an invalid description.
    #[error("the component's description was refused: {0}")]
    Describe(String),
}

/// One failed call of a tool: which tool, which version, and why.
#[derive(Debug)]
pub struct CallError {
    /// The tool's name.
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// What went wrong.
    pub failure: CallFailure,
}

/// The cause of a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// The deadline passed (in WebAssembly or in a host import); the instance was stopped.
    Timeout {
        /// The tool's deadline.
        timeout_ms: u64,
    },
    /// The instance tried to grow its memory past the tool's limit.
    OutOfMemory {
        /// The tool's memory limit.
        limit_bytes: u64,
        /// The size it asked for.
        requested_bytes: u64,
    },
    /// The call used up its fuel.
    OutOfFuel {
        /// The tool's fuel per call.
        fuel: u64,
    },
    /// The guest panicked (Rust panic message from its stderr).
    Panic {
        /// The panic message.
        message: String,
    },
    /// The guest trapped for another reason.
    Trap {
        /// wasmtime's description.
        message: String,
        /// The tail of what the guest wrote to stderr, if anything.
        stderr: String,
    },
    /// The result was not a JSON document.
    MalformedOutput {
        /// The parser's complaint.
        detail: String,
    },
    /// The result was larger than the host accepts.
    OutputTooLarge {
        /// Result size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The tool refused its arguments.
    InvalidArguments(String),
    /// The tool reported that it failed.
    Failed(String),
    /// The tool reported a denied capability.
    Denied(String),
    /// The tool reported something unavailable.
    Unavailable(String),
    /// The host failed to run the call (instantiation, pool exhaustion, an internal error).
    Host(String),
    /// Every call slot stayed busy for as long as the call's own deadline.
    Busy {
        /// Calls that may run at once (`limits.max_concurrent_calls`).
        slots: u32,
        /// How long the call waited for one.
        waited_ms: u64,
    },
}

impl CallFailure {
    /// A stable one-word name for the failure (the `outcome` label of the tool-call metric).
    pub fn outcome(&self) -> &'static str {
        match self {
            CallFailure::Timeout { .. } => "timeout",
            CallFailure::OutOfMemory { .. } => "out-of-memory",
            CallFailure::OutOfFuel { .. } => "out-of-fuel",
            CallFailure::Panic { .. } => "panic",
            CallFailure::Trap { .. } => "trap",
            CallFailure::MalformedOutput { .. } => "malformed-output",
            CallFailure::OutputTooLarge { .. } => "output-too-large",
            CallFailure::InvalidArguments(_) => "invalid-arguments",
            CallFailure::Failed(_) => "failed",
            CallFailure::Denied(_) => "denied",
            CallFailure::Unavailable(_) => "unavailable",
            CallFailure::Host(_) => "host-error",
            CallFailure::Busy { .. } => "busy",
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tool `{}`@{} ", self.tool, self.version)?;
        match &self.failure {
            CallFailure::Timeout { timeout_ms } => write!(
                f,
                "timed out after {timeout_ms} ms and was stopped; make the call cheaper or register the tool with a longer timeout"
            ),
            CallFailure::OutOfMemory {
                limit_bytes,
                requested_bytes,
            } => write!(
                f,
                "exceeded its memory limit of {} MiB (it asked for {} MiB) and was stopped; register it with a larger memory limit if it really needs more",
                limit_bytes / (1024 * 1024),
                requested_bytes.div_ceil(1024 * 1024)
            ),
            CallFailure::OutOfFuel { fuel } => {
                write!(
                    f,
                    "ran out of fuel ({fuel} units) and was stopped; register it with more fuel"
                )
            }
            CallFailure::Panic { message } => write!(f, "panicked: {message}"),
            CallFailure::Trap { message, stderr } if stderr.is_empty() => write!(f, "trapped: {message}"),
            CallFailure::Trap { message, stderr } => write!(f, "trapped: {message}; its stderr ended with: {stderr}"),
            CallFailure::MalformedOutput { detail } => {
                write!(
                    f,
                    "returned a result that is not a JSON document ({detail}); this is a bug in the tool"
                )
            }
            CallFailure::OutputTooLarge { size, limit } => {
                write!(f, "returned {size} bytes, over the {limit}-byte result limit")
            }
            CallFailure::InvalidArguments(message) => write!(f, "refused its arguments: {message}"),
            CallFailure::Failed(message) => write!(f, "failed: {message}"),
            CallFailure::Denied(message) => write!(f, "was denied: {message}"),
            CallFailure::Unavailable(message) => write!(f, "is unavailable: {message}"),
            CallFailure::Host(message) => write!(
                f,
                "could not be run by the host: {message}; retry, and report it if it persists"
            ),
            CallFailure::Busy { slots, waited_ms } => write!(
                f,
                "was not started: all {slots} call slots stayed busy for {waited_ms} ms (its deadline); retry later, or raise limits.max_concurrent_calls"
            ),
        }
    }
}

impl std::error::Error for CallError {}
