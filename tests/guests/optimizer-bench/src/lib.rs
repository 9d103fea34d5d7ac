//! Benchmark guest: builds the native benchmark's instance (`BenchmarkInstance`) inside the
//! sandbox and times `optimize` on it with the WASI monotonic clock, so `just bench-assortment`
//! can compare the optimizer's compute in wasm with the same code natively at n up to 1e7
//! (where a served catalog would not fit the sandbox's memory).

use interarec_choice::optimize;
use interarec_choice::simulation::BenchmarkInstance;
use interarec_plugin::{Description, Tool, ToolError, Value, export_tool, json};
use std::time::Instant;

/// The guest.
pub struct OptimizerBench;

impl Tool for OptimizerBench {
    type Arguments = Value;
    type Output = Value;

    fn describe() -> Description {
        Description::new(
            "optimizer-bench",
            "0.1.0",
            "Times the exact assortment optimizer on the benchmark instance of size n",
        )
        .arguments_schema(json!({
            "type": "object",
            "properties": {
                "n": { "type": "integer", "minimum": 1 },
                "c": { "type": "integer", "minimum": 1 },
                "variant": { "enum": ["plain", "filtered", "capped"] },
                "runs": { "type": "integer", "minimum": 1, "maximum": 101 }
            },
            "required": ["n", "c", "variant", "runs"],
            "additionalProperties": false
        }))
    }

    fn invoke(arguments: Value) -> Result<Value, ToolError> {
        let field = |name: &str| arguments[name].as_u64().unwrap_or(0) as usize;
        let (n, c, runs) = (field("n"), field("c"), field("runs"));
        let variant = arguments["variant"].as_str().unwrap_or("plain");
        let instance = BenchmarkInstance::new(n);
        let problem = instance.problem(variant, c);
        let mut samples = Vec::with_capacity(runs);
        let mut answer = None;
        for _ in 0..runs {
            let started = Instant::now();
            let result = optimize(&problem).map_err(|e| ToolError::Failed(e.to_string()))?;
            samples.push(started.elapsed().as_secs_f64() * 1e3);
            answer = Some(result);
        }
        samples.sort_by(f64::total_cmp);
        let answer = answer.ok_or_else(|| ToolError::InvalidArguments("runs must be at least 1".into()))?;
        Ok(json!({
            "median_ms": samples[samples.len() / 2],
            "revenue": answer.expected_revenue,
            "iterations": answer.iterations,
        }))
    }
}

export_tool!(OptimizerBench);
