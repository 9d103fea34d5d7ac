//! The one place that runs `bindgen!` over the tool world; every other module uses these types.

wasmtime::component::bindgen!({
    path: "../../sdk/wit/v0.1.0",
    world: "tool-world",
    imports: { default: async },
    exports: { default: async },
});

pub use exports::interarec::tool::tool::ToolError;
pub use interarec::tool::types::HostError;
