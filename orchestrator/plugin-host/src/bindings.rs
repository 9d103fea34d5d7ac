//! The one place that runs `bindgen!` over the tool world; every other module uses these types.
//!
//! The host implements the newest version, 0.1.1. Components built against 0.1.0 link against
//! it too: 0.1.1 only adds functions, and the component model matches `@0.1.0` imports and
//! exports with `@0.1.1` definitions by semver.

wasmtime::component::bindgen!({
    path: "../../sdk/wit/v0.1.1",
    world: "tool-world",
    imports: { default: async },
    exports: { default: async },
});

pub use exports::interarec::tool::tool::ToolError;
pub use interarec::tool::types::HostError;
