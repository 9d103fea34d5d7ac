//! Guest SDK for InteraRec tools: implement [`Tool`], call [`export_tool!`], build for
//! `wasm32-wasip2`, and the result is a component the InteraRec plugin host can register.
//!
//! ```
//! use interarec_plugin::{export_tool, Description, JsonSchema, Tool, ToolError};
//! use serde::{Deserialize, Serialize};
//!
//! /// Whom to greet.
//! #[derive(Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct Args {
//!     /// The name to greet.
//!     #[schemars(length(min = 1))]
//!     name: String,
//! }
//!
//! #[derive(Serialize)]
//! struct Greeting {
//!     greeting: String,
//! }
//!
//! struct Greet;
//!
//! impl Tool for Greet {
//!     type Arguments = Args;
//!     type Output = Greeting;
//!
//!     fn describe() -> Description {
//!         Description::new("greet", "0.1.0", "Greets someone by name")
//!     }
//!
//!     fn invoke(arguments: Args) -> Result<Greeting, ToolError> {
//!         interarec_plugin::log::info(&format!("greeting {}", arguments.name));
//!         Ok(Greeting { greeting: format!("Hello, {}!", arguments.name) })
//!     }
//! }
//!
//! export_tool!(Greet);
//! ```
//!
//! The argument schema the host validates every call against (and shows planner models) is
//! generated from [`Tool::Arguments`] with `schemars`, so it cannot drift from the code that
//! reads the arguments: doc comments become descriptions, `#[schemars(...)]` adds bounds.
//!
//! Host imports are reached through the modules [`log`], [`kv`], [`http`], [`frames`],
//! [`models`] and [`catalog`]. Each (except logging) works only when the operator granted the
//! matching capability at registration and the tool listed it in its [`Description`]; otherwise
//! the helper returns [`HostError::Denied`], which `?` turns into [`ToolError::Denied`].
//! Compiled natively (a tool's own `cargo test`), each module has a `testing` double to serve
//! what the test needs, and [`testing::invoke`] calls a tool the way the host does, as JSON.
#![deny(missing_docs)]

mod description;
mod error;
pub mod host;
pub mod schema;
pub mod testing;
pub mod validating;

pub use description::{Capability, Description};
pub use error::{HostError, ToolError};
pub use host::{catalog, frames, http, kv, log, models};
/// Items, constraints, choice models and the optimizer the `catalog` capability speaks in.
pub use interarec_choice as choice;
pub use schemars::{self, JsonSchema};
pub use serde_json::{self, Value, json};

/// The version of the `interarec:tool` WIT package this SDK builds against. The
/// [`export_tool!`] macro writes it into the component's `interarec:api-version` custom section,
/// and the host refuses components built against a version it does not speak.
pub const API_VERSION: &str = "0.1.1";

/// The name of the custom section holding [`API_VERSION`].
pub const API_VERSION_SECTION: &str = "interarec:api-version";

/// What a tool implements. Both functions are associated functions because every call runs in
/// a fresh instance: there is no state to keep between calls except through [`kv`].
pub trait Tool {
    /// The arguments, decoded from the call's JSON. Their JSON Schema, generated from this type,
    /// is the tool's argument schema: the host checks every call against it before the tool
    /// runs. Use `#[serde(deny_unknown_fields)]` so the schema refuses unknown fields too.
    type Arguments: serde::de::DeserializeOwned + JsonSchema;

    /// The answer, sent back to the caller as JSON.
    type Output: serde::Serialize;

    /// Name, version, description and the capabilities the tool needs.
    fn describe() -> Description;

    /// Runs the tool on arguments the host has checked against the schema.
    fn invoke(arguments: Self::Arguments) -> Result<Self::Output, ToolError>;
}

/// The generated WIT bindings. Not a stable API: use the typed helpers instead.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.1.1",
        world: "tool-world",
        pub_export_macro: true,
        export_macro_name: "__export_tool_world",
        default_bindings_module: "::interarec_plugin::bindings",
        generate_all,
    });
}

#[doc(hidden)]
pub mod __private {
    //! Glue used by [`export_tool!`](crate::export_tool); not a stable API.
    use crate::bindings::interarec::tool::types as wit;
    use crate::{Tool, ToolError};

    /// Copies a version string into a fixed-size array for the custom section.
    pub const fn version_bytes<const N: usize>(version: &str) -> [u8; N] {
        let bytes = version.as_bytes();
        let mut out = [0u8; N];
        let mut index = 0;
        while index < N {
            out[index] = bytes[index];
            index += 1;
        }
        out
    }

    /// `describe`, converted to the WIT record, with the schema of the tool's arguments type.
    pub fn describe<T: Tool>() -> wit::ToolDescription {
        crate::testing::description::<T>().into_wit()
    }

    /// `invoke`, with JSON decoding and encoding around the typed trait method.
    pub fn invoke<T: Tool>(arguments: String) -> Result<String, wit::ToolError> {
        crate::testing::invoke_json::<T>(&arguments).map_err(ToolError::into_wit)
    }
}

/// Exports a [`Tool`] implementation as the component's `interarec:tool/tool` interface and
/// records the WIT version it was built against.
///
/// `export_tool!(MyTool)` is all a tool needs. The `api_version = "..."` form exists only so the
/// host's tests can build a guest that claims another version.
#[macro_export]
macro_rules! export_tool {
    ($tool:ty) => {
        $crate::export_tool!($tool, api_version = "0.1.1");
    };
    ($tool:ty, api_version = $version:literal) => {
        // Exports exist only in the component: natively (`cargo test`) the tool is plain Rust,
        // and export names such as `interarec:tool/tool@0.1.0#invoke` would not even link.
        #[cfg(target_family = "wasm")]
        #[doc(hidden)]
        #[used]
        #[unsafe(link_section = "interarec:api-version")]
        static __INTERAREC_API_VERSION: [u8; $version.len()] =
            $crate::__private::version_bytes::<{ $version.len() }>($version);

        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __InteraRecToolExport;

            impl $crate::bindings::exports::interarec::tool::tool::Guest for __InteraRecToolExport {
                fn describe() -> $crate::bindings::interarec::tool::types::ToolDescription {
                    $crate::__private::describe::<$tool>()
                }

                fn invoke(
                    arguments: ::std::string::String,
                ) -> ::std::result::Result<::std::string::String, $crate::bindings::interarec::tool::types::ToolError>
                {
                    $crate::__private::invoke::<$tool>(arguments)
                }
            }

            $crate::bindings::__export_tool_world!(
                __InteraRecToolExport with_types_in $crate::bindings
            );
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn sdk_version_matches_the_wit_package() {
        let wit = include_str!("../../wit/v0.1.1/tool.wit");
        assert!(wit.contains(&format!("package interarec:tool@{};", super::API_VERSION)));
    }

    #[test]
    fn version_bytes_copies_the_whole_string() {
        const BYTES: [u8; 5] = super::__private::version_bytes::<5>("0.1.1");
        assert_eq!(&BYTES, b"0.1.1");
    }
}
