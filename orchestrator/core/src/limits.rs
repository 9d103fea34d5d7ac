//! Per-call bounds of a tool (deadline, memory, optional fuel) and the server-wide defaults and
//! ceilings they are resolved against.

use serde::{Deserialize, Serialize};

const MIB: u64 = 1024 * 1024;

/// Most images one `models.chat` request may reference (the `summarize` step sends a batch's
/// latest frames up to this many).
pub const MAX_IMAGES_PER_CHAT: usize = 16;

/// The bounds every call of one tool runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolLimits {
    /// Wall-clock deadline of one call, in milliseconds, host imports included.
    pub timeout_ms: u64,
    /// Ceiling on the linear memory of the tool's instance, in bytes.
    pub memory_bytes: u64,
    /// Fuel (roughly, WebAssembly instructions) per call; `None` when fuel is off.
    pub fuel: Option<u64>,
}

/// Server-wide limit settings (the `[limits]` table of the config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deadline of a call when the tool's registration gives none (default 5000 ms).
    pub default_timeout_ms: u64,
    /// Largest deadline a registration may ask for (default 60000 ms).
    pub max_timeout_ms: u64,
    /// Memory of a call when the registration gives none (default 64 MiB).
    pub default_memory_bytes: u64,
    /// Largest memory a registration may ask for; also the size of each pooled memory slot
    /// (default 256 MiB).
    pub max_memory_bytes: u64,
    /// Turns on fuel metering for every tool (costs some speed; default off).
    pub fuel_enabled: bool,
    /// Fuel of a call when fuel is on and the registration gives none (default 1e9).
    pub default_fuel: u64,
    /// Largest component a registration may upload (default 50 MiB).
    pub max_component_bytes: u64,
    /// Calls running at once across all tools; further calls wait (default 64).
    pub max_concurrent_calls: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            default_timeout_ms: 5_000,
            max_timeout_ms: 60_000,
            default_memory_bytes: 64 * MIB,
            max_memory_bytes: 256 * MIB,
            fuel_enabled: false,
            default_fuel: 1_000_000_000,
            max_component_bytes: 50 * MIB,
            max_concurrent_calls: 64,
        }
    }
}

/// Limits asked for at registration; `None` takes the server default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestedLimits {
    /// Deadline in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Memory ceiling in bytes.
    pub memory_bytes: Option<u64>,
    /// Fuel per call.
    pub fuel: Option<u64>,
}

/// Why requested limits were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Deadline outside `1..=max`.
    #[error("timeout of {requested} ms is outside the allowed range 1..={max} ms (the server's limits.max_timeout_ms)")]
    Timeout {
        /// What was asked.
        requested: u64,
        /// The ceiling.
        max: u64,
    },
    /// Memory outside `1 MiB..=max`.
    #[error(
        "memory limit of {requested} bytes is outside the allowed range 1 MiB..={max} bytes (the server's limits.max_memory_bytes)"
    )]
    Memory {
        /// What was asked.
        requested: u64,
        /// The ceiling.
        max: u64,
    },
    /// Fuel asked for while the server has fuel metering off.
    #[error(
        "a fuel limit was given but fuel metering is off on this server; set limits.fuel_enabled = true or drop the fuel limit"
    )]
    FuelDisabled,
    /// Zero fuel.
    #[error("a fuel limit of 0 would stop every call at once; give a positive number")]
    ZeroFuel,
}

impl LimitsConfig {
    /// Checks that the configuration itself is coherent.
    pub fn validate(&self) -> Result<(), String> {
        if self.default_timeout_ms == 0 || self.default_timeout_ms > self.max_timeout_ms {
            return Err(format!(
                "limits.default_timeout_ms ({}) must be between 1 and limits.max_timeout_ms ({})",
                self.default_timeout_ms, self.max_timeout_ms
            ));
        }
        if self.default_memory_bytes < MIB || self.default_memory_bytes > self.max_memory_bytes {
            return Err(format!(
                "limits.default_memory_bytes ({}) must be between 1 MiB and limits.max_memory_bytes ({})",
                self.default_memory_bytes, self.max_memory_bytes
            ));
        }
        if self.max_memory_bytes > 4096 * MIB {
            return Err("limits.max_memory_bytes must be at most 4 GiB (32-bit linear memories)".to_owned());
        }
        if self.max_concurrent_calls == 0 {
            return Err("limits.max_concurrent_calls must be at least 1".to_owned());
        }
        Ok(())
    }

    /// Resolves what a registration asked for against the defaults and ceilings.
    pub fn resolve(&self, requested: RequestedLimits) -> Result<ToolLimits, LimitError> {
        let timeout_ms = requested.timeout_ms.unwrap_or(self.default_timeout_ms);
        if timeout_ms == 0 || timeout_ms > self.max_timeout_ms {
            return Err(LimitError::Timeout {
                requested: timeout_ms,
                max: self.max_timeout_ms,
            });
        }
        let memory_bytes = requested.memory_bytes.unwrap_or(self.default_memory_bytes);
        if !(MIB..=self.max_memory_bytes).contains(&memory_bytes) {
            return Err(LimitError::Memory {
                requested: memory_bytes,
                max: self.max_memory_bytes,
            });
        }
        let fuel = match (self.fuel_enabled, requested.fuel) {
            (false, Some(_)) => return Err(LimitError::FuelDisabled),
            (false, None) => None,
            (true, Some(0)) => return Err(LimitError::ZeroFuel),
            (true, fuel) => Some(fuel.unwrap_or(self.default_fuel)),
        };
        Ok(ToolLimits {
            timeout_ms,
            memory_bytes,
            fuel,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requested(timeout_ms: Option<u64>, memory_bytes: Option<u64>, fuel: Option<u64>) -> RequestedLimits {
        RequestedLimits {
            timeout_ms,
            memory_bytes,
            fuel,
        }
    }

    #[test]
    fn requested_limits_resolve_against_defaults_and_ceilings() {
        let config = LimitsConfig::default();
        let cases: Vec<(RequestedLimits, Result<ToolLimits, &str>)> = vec![
            (
                requested(None, None, None),
                Ok(ToolLimits {
                    timeout_ms: 5_000,
                    memory_bytes: 64 * MIB,
                    fuel: None,
                }),
            ),
            (
                requested(Some(250), Some(8 * MIB), None),
                Ok(ToolLimits {
                    timeout_ms: 250,
                    memory_bytes: 8 * MIB,
                    fuel: None,
                }),
            ),
            (requested(Some(0), None, None), Err("timeout of 0 ms is outside")),
            (
                requested(Some(60_001), None, None),
                Err("timeout of 60001 ms is outside"),
            ),
            (
                requested(None, Some(1024), None),
                Err("memory limit of 1024 bytes is outside"),
            ),
            (
                requested(None, Some(257 * MIB), None),
                Err("is outside the allowed range 1 MiB..=268435456"),
            ),
            (requested(None, None, Some(10)), Err("fuel metering is off")),
        ];
        for (input, expected) in cases {
            match (expected, config.resolve(input)) {
                (Ok(limits), Ok(actual)) => assert_eq!(actual, limits, "{input:?}"),
                (Err(fragment), Err(error)) => assert!(error.to_string().contains(fragment), "{input:?}: {error}"),
                (expected, actual) => panic!("{input:?}: expected {expected:?}, got {actual:?}"),
            }
        }
    }

    #[test]
    fn fuel_applies_only_when_enabled() {
        let config = LimitsConfig {
            fuel_enabled: true,
            ..LimitsConfig::default()
        };
        assert_eq!(
            config.resolve(RequestedLimits::default()).unwrap().fuel,
            Some(1_000_000_000)
        );
        assert_eq!(config.resolve(requested(None, None, Some(5))).unwrap().fuel, Some(5));
        assert_eq!(
            config.resolve(requested(None, None, Some(0))),
            Err(LimitError::ZeroFuel)
        );
    }

    #[test]
    fn incoherent_configuration_is_refused() {
        let bad = LimitsConfig {
            default_timeout_ms: 90_000,
            ..LimitsConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("default_timeout_ms (90000)"));
        assert!(LimitsConfig::default().validate().is_ok());
    }
}
